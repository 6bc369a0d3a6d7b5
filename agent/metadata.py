"""Phrases about the files rather than the picture: dates, orientation, resolution, format, folder, camera, result
counts, and references to shown results ("more like #2", "not the first one").

Each `take_*` finds its phrases in a message, returns what they say and the message without them, so the
tracker never reads "2019" or "#2" as a description word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from agent.lexicon import NUMBERS, ORDINALS

_ORD = "|".join(sorted(ORDINALS, key=len, reverse=True))
_ONE = (
    r"(?:#\s*(?P<hash>\d+)|(?:image|picture|photo|result|pic|number|no\.?|nr\.?)\s*#?\s*(?P<num>\d+)|"
    r"(?:the\s+)?(?P<ord>" + _ORD + r")(?:\s+(?:ones?|images?|pictures?|photos?|results?|pics?|shots?))?|"
    r"(?P<that>(?:that|this|those|these|them)(?:\s+(?:last\s+)?(?:ones?|images?|pictures?|photos?|pics?|shots?))?)|"
    r"(?P<bare>\d{1,2})(?=\s*$|\s*[,.!?]|\s+(?:and|or|&|are|is|were|was|look|looks|seem|seems)\b))"
)
_ONE_RE = re.compile(_ONE, re.I)
_REF = _ONE.replace("?P<hash>", "").replace("?P<num>", "").replace("?P<ord>", "").replace("?P<that>", "")
_REF = _REF.replace("?P<bare>", "")
_REFS = r"(?:" + _REF + r")(?:\s*(?:,|and|&|or|plus)\s*(?:" + _REF + r"))*"
_LIKE = re.compile(
    r"\b(?:(?:i\s+)?(?:love|really\s+like|prefer|pick|choose|want)\s+(?=#|number\s+\d)|more\s+of|more\s+like|(?:looks?\s+|something\s+|stuff\s+|ones?\s+|images?\s+|pictures?\s+)?like|similar\s+to|"
    r"same\s+as|closer\s+to|along\s+the\s+lines\s+of|in\s+the\s+style\s+of)\s*(?P<refs>" + _REFS + ")",
    re.I,
)
_UNLIKE = re.compile(
    r"\b(?:(?:no\s+more|not|less|nothing)\s+like|unlike|different\s+from|away\s+from|not\s+similar\s+to|"
    r"not\s+(?=#|(?:image|picture|photo|result|number)\s*#?\s*\d|the\s+(?:" + _ORD + r")\b))\s*(?P<refs>" + _REFS + ")",
    re.I,
)
# "#3 is right", "the second one is good", "the 2nd and 4th look right"
_GOOD = re.compile(
    r"(?:^|\b)(?P<refs>" + _REFS + r")\s+(?:(?:is|are|was|were|looks?|seems?)\s+(?:it|right|good|great|perfect|close|"
    r"closest|correct|the\s+ones?|what\s+i\s+want|spot\s+on|nice|lovely|ideal)|nailed\s+it|wins|rocks)\b",
    re.I,
)
_BAD = re.compile(
    r"(?:^|\b)(?P<refs>" + _REFS + r")\s+(?:is|are|was|were|looks?|seems?)\s+(?:wrong|bad|off|not\s+it|not\s+right|"
    r"not\s+what\s+i\s+want|way\s+off)\b",
    re.I,
)
_RESULTS = r"(?:results|images|pictures|photos|pics|hits|shots|matches)"
_K = re.compile(
    r"\b(?:(?:show(?:\s+me)?|top|give\s+me)(?=\s+\S+\s+of\b)|show(?:\s+me)?|top|give\s+me|first|see|(?:just|only)(?=\s+\S+\s*(?:$|[,.!?]|"
    + _RESULTS
    + r")))\s+"
    r"(\d{1,3}|"
    + "|".join(NUMBERS)
    + r")\b(?=\s*(?:$|[,.!?]|"
    + _RESULTS
    + r"|more\b|please|pls|thanks|of\s+(?!them|those|these)))",
    re.I,
)
_K2 = re.compile(
    r"\b(\d{1,3}|" + "|".join(NUMBERS) + r")\s+(?:more\s+)?(?:\w+\s+)?" + _RESULTS + r"\b",
    re.I,
)
_MORE = re.compile(
    r"\b(?:more\s+results|show\s+(?:me\s+)?more(?!\s+(?:like|of\s+the))|more\s+of\s+them|see\s+more)\b", re.I
)


def _ref_values(span: str, last: list[int]) -> list[int]:
    out = []
    for m in _ONE_RE.finditer(span):
        if m.group("hash") or m.group("num") or m.group("bare"):
            out.append(int(m.group("hash") or m.group("num") or m.group("bare")))
        elif m.group("ord"):
            out.append(ORDINALS[m.group("ord").lower()])
        elif m.group("that"):  # "that one" / "those": the ones just named in this message, else the first
            if "last" in m.group(0).lower():
                out.append(-1)
            elif m.group("that").lower().split()[0] in ("those", "these", "them"):
                out += last or [1]
            else:
                out.append(out[-1] if out else (last[-1] if last else 1))
    return list(dict.fromkeys(out))


def _cut(text: str, m: re.Match) -> str:
    return " ".join((text[: m.start()] + " " + text[m.end() :]).split())


@dataclass
class Metadata:
    like: list[int] = field(default_factory=list)
    unlike: list[int] = field(default_factory=list)
    k: int | None = None
    more: bool = False
    filters: dict = field(default_factory=dict)


def take_references(text: str, md: Metadata) -> str:
    """'more like #2 and #5' -> like [2, 5]; 'not like the first one' -> unlike [1]; '#3 is right' -> like [3]."""
    last: list[int] = []
    patterns = ((_UNLIKE, md.unlike), (_BAD, md.unlike), (_LIKE, md.like), (_GOOD, md.like))
    while True:  # in the order they were said, so "that" can point at the one named just before
        found = [(m, into) for p, into in patterns if (m := p.search(text))]
        if not found:
            return text
        m, into = min(found, key=lambda f: (f[0].start(), -len(f[0].group(0))))
        values = _ref_values(m.group("refs"), last)
        for v in values:
            if v not in into:
                into.append(v)
        last = values or last
        text = _cut(text, m)


def take_count(text: str, md: Metadata) -> str:
    m = _K.search(text) or _K2.search(text)
    if m:
        v = m.group(1)
        md.k = int(v) if v.isdigit() else NUMBERS[v]
        text = _cut(text, m)
    if m := _MORE.search(text):
        md.more = True
        text = _cut(text, m)
    return text


def _year_range(y: int) -> tuple[date, date]:
    return date(y, 1, 1), date(y, 12, 31)


def take_filters(text: str, md: Metadata, today: date) -> str:
    """Dates, orientation, resolution, format, folder and camera phrases -> filter fields."""
    f = md.filters

    def cut(pattern: str, fn) -> None:
        nonlocal text
        m = re.search(pattern, text, re.I)
        if m:
            fn(m)
            text = _cut(text, m)

    y = r"((?:19|20)\d{2})"
    cut(
        r"\b(?:taken\s+|shot\s+)?(?:from|in|during)\s+(?:the\s+year\s+)?" + y + r"\b(?!\s*(?:px|pixels))",
        lambda m: f.update(zip(("date_from", "date_to"), _year_range(int(m.group(1))))),
    )
    cut(r"\b(?:taken\s+|shot\s+)?before\s+" + y + r"\b", lambda m: f.update(date_to=date(int(m.group(1)) - 1, 12, 31)))
    cut(r"\b(?:taken\s+|shot\s+)?after\s+" + y + r"\b", lambda m: f.update(date_from=date(int(m.group(1)) + 1, 1, 1)))
    cut(r"\b(?:taken\s+|shot\s+)?since\s+" + y + r"\b", lambda m: f.update(date_from=date(int(m.group(1)), 1, 1)))
    cut(r"\b(?:taken\s+|shot\s+)?until\s+" + y + r"\b", lambda m: f.update(date_to=date(int(m.group(1)), 12, 31)))
    cut(
        r"\b(?:taken\s+|shot\s+|from\s+)?last\s+year(?:'s)?\b",
        lambda m: f.update(zip(("date_from", "date_to"), _year_range(today.year - 1))),
    )
    cut(
        r"\b(?:taken\s+|shot\s+|from\s+)?this\s+year(?:'s)?\b",
        lambda m: f.update(zip(("date_from", "date_to"), _year_range(today.year))),
    )
    cut(
        r"\b" + y + r"(?:'s)?\s+(?=photos|pictures|images|shots|pics|ones)",
        lambda m: f.update(zip(("date_from", "date_to"), _year_range(int(m.group(1))))),
    )
    cut(
        r"\b(?:in\s+)?(?:portrait\s+(?:orientation|format|mode|ones|images|photos|pictures|shots|pics)|"
        r"vertical(?:\s+(?:ones|images|photos|pictures|shots|pics))?|(?:only\s+)?portraits?$|in\s+portrait|"
        r"portrait\s+only|tall\s+(?:images|photos|pictures|ones))\b",
        lambda m: f.update(orientation="portrait"),
    )
    cut(
        r"\b(?:in\s+)?(?:landscape\s+(?:orientation|format|mode|ones|images|photos|pictures|shots|pics)|"
        r"horizontal(?:\s+(?:ones|images|photos|pictures|shots|pics))?|in\s+landscape|landscape\s+only|"
        r"wide\s+(?:images|photos|pictures|ones|shots)|(?:only\s+)?landscape$)\b",
        lambda m: f.update(orientation="landscape"),
    )
    cut(
        r"\bsquare\s+(?:ones|images|photos|pictures|format|shots|pics|crops?)\b|\bsquare\s+only\b|^(?:only\s+)?square$",
        lambda m: f.update(orientation="square"),
    )
    cut(
        r"\b(?:high[\s-]?res(?:olution)?|hi[\s-]?res|large\s+(?:images|files|photos)|higher\s+resolution|"
        r"bigger\s+(?:images|files|photos|pictures)|full\s+hd|1080p)\b",
        lambda m: f.update(min_width=1920),
    )
    cut(r"\b(?:4k|uhd|ultra\s+hd)\b", lambda m: f.update(min_width=3840))
    cut(r"\bat\s+least\s+(\d{3,5})\s*(?:px|pixels)?\s+wide\b", lambda m: f.update(min_width=int(m.group(1))))
    cut(r"\bat\s+least\s+(\d{3,5})\s*(?:px|pixels)?\s+(?:tall|high)\b", lambda m: f.update(min_height=int(m.group(1))))
    cut(
        r"\b(?:wider|width)\s+(?:than|of\s+at\s+least|over|above)\s+(\d{3,5})\s*(?:px|pixels)?\b",
        lambda m: f.update(min_width=int(m.group(1))),
    )
    cut(
        r"\b(?:taller|height)\s+(?:than|of\s+at\s+least|over|above)\s+(\d{3,5})\s*(?:px|pixels)?\b",
        lambda m: f.update(min_height=int(m.group(1))),
    )
    fmt = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "gif": "GIF", "webp": "WEBP", "tif": "TIFF"}
    fmt |= {"tiff": "TIFF", "heic": "HEIC", "bmp": "BMP"}
    cut(
        r"\b(?:only\s+)?(?:\.)?(pngs?|jpe?gs?|gifs?|webps?|tiffs?|tifs?|heics?|bmps?)(?:\s+(?:files|only|format))?\b",
        lambda m: f.update(formats=[fmt[m.group(1).rstrip("s")]]),
    )
    cut(
        r"\b(?:in|from|inside)\s+(?:the\s+|my\s+)?(?:folder|directory|dir|subfolder)\s+[\"']?([\w./-]+)[\"']?",
        lambda m: f.update(folder=m.group(1).strip("/")),
    )
    cut(r"\b([\w./-]+)\s+folder\b", lambda m: f.update(folder=m.group(1).strip("/")))
    cut(
        r"\b(?:taken|shot)\s+(?:with|on|by)\s+(?:a|an|my|the)?\s*([A-Za-z][\w-]*(?:\s+[A-Za-z0-9][\w-]*)?)",
        lambda m: f.update(camera=m.group(1)),
    )
    return text
