"""Phrases about the files rather than the picture: dates, orientation, resolution, format, folder, camera, result
counts, and references to shown results ("more like #2", "not the first one").

Each `take_*` finds its phrases in a message, returns what they say and the message without them, so the
tracker never reads "2019" or "#2" as a description word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from picseek.agent.english.cues import APPROVAL, APPROVAL_IDIOMS, alternation
from picseek.agent.english.lexicon import NUMBERS, ORDINALS

_ORD = "|".join(sorted(ORDINALS, key=len, reverse=True))
_SHOWN = r"(?:ones?|images?|pictures?|photos?|results?|pics?|shots?)"  # what a shown result is called
_ONE = (
    r"(?:#\s*(?P<hash>\d+)|(?:image|picture|photo|result|pic|number|no\.?|nr\.?)\s*#?\s*(?P<num>\d+)|"
    r"(?:the\s+)?(?P<ord>" + _ORD + r")(?:\s+" + _SHOWN + r")?|"
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
    r"(?:^|\b)(?P<refs>" + _REFS + r")\s+(?:(?:is|are|was|were|looks?|seems?)\s+"
    r"(?:(?:almost|nearly|pretty\s+much|basically|quite|very|really|so|closest\s+to)\s+)?(?:"
    + alternation(APPROVAL)
    + r")|"
    + alternation(APPROVAL_IDIOMS)
    + r")\b",
    re.I,
)
# A result named first, then what to change: "the third pic but with strawberries", "image 4, more like that"
_NAMED = (
    r"(?:#\s*\d+|(?:image|picture|photo|result|pic)\s*#?\s*\d+|"
    r"the\s+(?:" + _ORD + r")(?:\s+" + _SHOWN + r")?|(?:" + _ORD + r")\s+" + _SHOWN + r")"  # not "first, dogs."
)
_LEADING = re.compile(r"^(?:(?:ok|okay|so|hmm|yes|yeah)[\s,]+)?(?P<refs>" + _NAMED + r")(?=\s*(?:,|\bbut\b|$))", re.I)
_BAD = re.compile(
    r"(?:^|\b)(?P<refs>" + _REFS + r")\s+(?:is|are|was|were|looks?|seems?)\s+(?:wrong|bad|off|not\s+it|not\s+right|"
    r"not\s+what\s+i\s+want|way\s+off)\b",
    re.I,
)
_RESULTS = r"(?:results|images|pictures|photos|pics|hits|shots|matches)"
_NUM = r"(\d{1,3}|" + "|".join(NUMBERS) + r")"
_K = re.compile(
    r"\b(?:top\s+" + _NUM + r"\b"  # "top 10 sunset photos": always a count of results
    r"|(?:show(?:\s+me)?|give\s+me|first|see|just|only)\s+"
    + _NUM  # "show me 20", "just 5 please"
    + r"\b(?=\s*(?:$|[,.!?]|"
    + _RESULTS
    + r"|more\b|please|pls|thanks|of\s+(?!them|those|these))))",
    re.I,
)
_K2 = re.compile(r"\b" + _NUM + r"\s+(?:more\s+)?" + _RESULTS + r"\b", re.I)  # "20 results"
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


# "the one on the left": a place in the grid of results, which the reader cannot map to a result; it is taken out
# so that "on the left" is not read as a place in the picture
_GRID = re.compile(
    r"\b(?:the\s+)?(?:one|image|picture|photo|pic|shot|result)\s+(?:on|at|in)\s+the\s+(?:far\s+|top\s+|bottom\s+)?"
    r"(?:left|right|top|bottom|middle|centre|center)\b",
    re.I,
)


def take_references(text: str, md: Metadata, pointing: bool = True) -> str:
    """'more like #2 and #5' -> like [2, 5]; 'not like the first one' -> unlike [1]; '#3 is right' -> like [3].
    `pointing=False` (picseek asked a question): a bare 'that' / 'it' is about the question ("nothing like that"
    answers "what else is in it?"), not a result."""
    text = _GRID.sub(" ", text).strip()
    last: list[int] = []
    patterns = ((_UNLIKE, md.unlike), (_BAD, md.unlike), (_LIKE, md.like), (_GOOD, md.like), (_LEADING, md.like))
    start = 0
    while True:  # in the order they were said, so "that" can point at the one named just before
        found = [(m, into) for p, into in patterns if (m := p.search(text, start))]
        if not found:
            return text
        m, into = min(found, key=lambda f: (f[0].start(), -len(f[0].group(0))))
        if not pointing and not last and all(x.group("that") for x in _ONE_RE.finditer(m.group("refs"))):
            start = m.end()  # "nothing like that": an answer, left to be read as one
            continue
        values = _ref_values(m.group("refs"), last)
        for v in values:
            if v not in into:
                into.append(v)
        last = values or last
        text = _cut(text, m)


def take_count(text: str, md: Metadata) -> str:
    m = _K.search(text) or _K2.search(text)
    if m:
        v = next(g for g in m.groups() if g)
        md.k = int(v) if v.isdecimal() else NUMBERS[v.lower()]
        text = _cut(text, m)
    if m := _MORE.search(text):
        md.more = True
        text = _cut(text, m)
    return text


CAMERA_MAKES = (
    r"(?:canon|nikon|sony|fujifilm|fuji|olympus|panasonic|lumix|leica|pentax|ricoh|sigma|hasselblad|kodak|"
    r"iphone|pixel|samsung|galaxy|huawei|xiaomi|oneplus|motorola|gopro|dji|insta360)"
)


def _year_range(y: int) -> tuple[date, date]:
    return date(y, 1, 1), date(y, 12, 31)


_Y = r"((?:19|20)\d{2})"
_PIC_WORDS = "ones|images|photos|pictures|shots|pics"
_PICS = f"(?:{_PIC_WORDS})"
# "vertical" alone names the format only where nothing follows it: "a vertical wall" is a wall
_ALONE = r"(?=\s*(?:$|[,.;!?]|please|only|ones?\b|format|orientation))"
_FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "gif": "GIF", "webp": "WEBP", "tif": "TIFF", "tiff": "TIFF"}
_FORMATS |= {"heic": "HEIC", "bmp": "BMP"}


def _year(m: re.Match, today: date) -> dict:
    return dict(zip(("date_from", "date_to"), _year_range(int(m.group(1)))))


def _relative_year(offset: int):
    return lambda m, today: dict(zip(("date_from", "date_to"), _year_range(today.year + offset)))


# (pattern, what it says): tried in this order, each at most once per message
_MONTHS = {
    m: i
    for i, m in enumerate(
        "january february march april may june july august september october november december".split(), 1
    )
}
_MONTHS |= {m[:3]: i for m, i in list(_MONTHS.items())} | {"sept": 9}
_MONTH = r"(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"


def _month(m: re.Match, today: date) -> dict:
    import calendar

    y, mo = int(m.group(2)), _MONTHS[m.group(1).lower()]
    return {"date_from": date(y, mo, 1), "date_to": date(y, mo, calendar.monthrange(y, mo)[1])}


FILTER_PHRASES = [
    (r"\b(?:taken\s+|shot\s+)?(?:from|in|during)\s+" + _MONTH + r",?\s+" + _Y + r"\b", _month),
    (r"\b(?:taken\s+|shot\s+)?(?:from|in|during)\s+(?:the\s+year\s+)?" + _Y + r"\b(?!\s*(?:px|pixels))", _year),
    (r"\b(?:taken\s+|shot\s+)?before\s+" + _Y + r"\b", lambda m, t: {"date_to": date(int(m.group(1)) - 1, 12, 31)}),
    (r"\b(?:taken\s+|shot\s+)?after\s+" + _Y + r"\b", lambda m, t: {"date_from": date(int(m.group(1)) + 1, 1, 1)}),
    (r"\b(?:taken\s+|shot\s+)?since\s+" + _Y + r"\b", lambda m, t: {"date_from": date(int(m.group(1)), 1, 1)}),
    (r"\b(?:taken\s+|shot\s+)?until\s+" + _Y + r"\b", lambda m, t: {"date_to": date(int(m.group(1)), 12, 31)}),
    (r"\b(?:taken\s+|shot\s+|from\s+)?last\s+year(?:'s)?\b", _relative_year(-1)),
    (r"\b(?:taken\s+|shot\s+|from\s+)?this\s+year(?:'s)?\b", _relative_year(0)),
    (r"\b" + _Y + r"(?:'s)?\s+(?=photos|pictures|images|shots|pics|ones)", _year),
    (
        r"\b(?:in\s+)?(?:portrait\s+(?:orientation|format|mode|"
        + _PIC_WORDS
        + r")|vertical(?:\s+"
        + _PICS
        + r"|"
        + _ALONE
        + r")|"
        r"(?:^|(?<=,)\s*|only\s+)portraits?$|in\s+portrait|portrait\s+only|tall\s+(?:images|photos|pictures|ones))\b",
        lambda m, t: {"orientation": "portrait"},
    ),
    (
        r"\b(?:in\s+)?(?:landscape\s+(?:orientation|format|mode|"
        + _PIC_WORDS
        + r")|horizontal(?:\s+"
        + _PICS
        + r"|"
        + _ALONE
        + r")|"
        r"in\s+landscape|landscape\s+only|wide\s+(?:images|photos|pictures|ones|shots)|(?:^|(?<=,)\s*|only\s+)landscape$)\b",
        lambda m, t: {"orientation": "landscape"},
    ),
    (
        r"\bsquare\s+(?:ones|images|photos|pictures|format|shots|pics|crops?)\b|\bsquare\s+only\b|^(?:only\s+)?square$",
        lambda m, t: {"orientation": "square"},
    ),
    (
        r"\b(?:high[\s-]?res(?:olution)?|hi[\s-]?res|large\s+(?:images|files|photos)|higher\s+resolution|"
        r"bigger\s+(?:images|files|photos|pictures)|full\s+hd|1080p)\b",
        lambda m, t: {"min_width": 1920},
    ),
    (r"\b(?:4k|uhd|ultra\s+hd)\b", lambda m, t: {"min_width": 3840}),
    (r"\bat\s+least\s+(\d{3,5})\s*(?:px|pixels)?\s+wide\b", lambda m, t: {"min_width": int(m.group(1))}),
    (r"\bat\s+least\s+(\d{3,5})\s*(?:px|pixels)?\s+(?:tall|high)\b", lambda m, t: {"min_height": int(m.group(1))}),
    (
        r"\b(?:wider|width)\s+(?:than|of\s+at\s+least|over|above)\s+(\d{3,5})\s*(?:px|pixels)?\b",
        lambda m, t: {"min_width": int(m.group(1))},
    ),
    (
        r"\b(?:taller|height)\s+(?:than|of\s+at\s+least|over|above)\s+(\d{3,5})\s*(?:px|pixels)?\b",
        lambda m, t: {"min_height": int(m.group(1))},
    ),
    (
        r"\b(?:only\s+)?(?:\.)?(pngs?|jpe?gs?|gifs?|webps?|tiffs?|tifs?|heics?|bmps?)(?:\s+(?:files|only|format))?\b",
        lambda m, t: {"formats": [_FORMATS[m.group(1).lower().rstrip("s")]]},
    ),
    (
        r"\b(?:in|from|inside)\s+(?:the\s+|my\s+)?(?:folder|directory|dir|subfolder)\s+[\"']?([\w./-]+)[\"']?",
        lambda m, t: {"folder": m.group(1).strip("/")},
    ),
    (r"\b([\w./-]+)\s+folder\b", lambda m, t: {"folder": m.group(1).strip("/")}),
    (  # only a camera: a known make, or a model name with a digit ("taken with my Canon", "shot on a D750")
        r"\b(?:taken|shot)\s+(?:with|on|using)\s+(?:a|an|my|the)?\s*(" + CAMERA_MAKES + r"|[A-Za-z]*\d[\w-]*)"
        r"(?:\s+([A-Za-z]*\d[\w-]*))?\b",
        lambda m, t: {"camera": " ".join(g for g in m.groups() if g)},
    ),
]
_FILTER_PHRASES = [(re.compile(p, re.I), fn) for p, fn in FILTER_PHRASES]


def take_filters(text: str, md: Metadata, today: date) -> str:
    """Dates, orientation, resolution, format, folder and camera phrases -> filter fields."""
    for pattern, says in _FILTER_PHRASES:
        m = pattern.search(text)
        if m:
            md.filters.update(says(m, today))
            text = _cut(text, m)
    return text
