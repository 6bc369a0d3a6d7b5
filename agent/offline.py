"""The offline planner: deterministic rules over plain English, no network.

It recognises refinement operators ("only …", "without …", "no …", "but at night", "more like #2", "not like the
first", "bigger ones", dates, orientation, resolution, formats, result counts) and passes everything else through
as description text for CLIP. It knows common English words for colours, sizes and times of day; it knows
nothing about any particular gallery.
"""

from __future__ import annotations

import re
from datetime import date

from agent.query import QueryPlan
from agent.session import Session

ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "1st": 1,
    "2nd": 2,
    "3rd": 3,
    "4th": 4,
    "5th": 5,
    "6th": 6,
    "7th": 7,
    "8th": 8,
    "9th": 9,
    "10th": 10,
    "last": -1,
}
NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twenty": 20,
    "fifty": 50,
}
COLORS = (
    "red",
    "green",
    "blue",
    "yellow",
    "purple",
    "violet",
    "white",
    "black",
    "orange",
    "pink",
    "brown",
    "gray",
    "grey",
    "gold",
    "silver",
    "beige",
    "turquoise",
    "teal",
)
SIZES = {
    "bigger": "large",
    "larger": "large",
    "big": "large",
    "large": "large",
    "huge": "large",
    "smaller": "small",
    "small": "small",
    "little": "small",
    "tiny": "small",
}
SIZE_WORDS = ("small", "little", "tiny", "large", "big", "huge", "bigger", "smaller", "larger")
TIMES = {
    r"at night|at nighttime|nighttime|night time|after dark|by night|in the dark": "at night",
    r"at sunset|at dusk|during sunset|sunset|dusk|in the evening|evening": "at sunset",
    r"at sunrise|at dawn|sunrise|dawn|in the morning|morning": "at sunrise",
    r"during the day|in daylight|daytime|by day|in the daytime|daylight|sunny day|on a sunny day": "during the day",
}
_TIME_RE = re.compile(r"\b(?:" + "|".join(TIMES) + r")\b")
_REF = (
    r"(?:#\s*(?P<hash>\d+)|(?:image|picture|photo|result|number|no\.?)\s*(?P<num>\d+)|"
    r"(?:the\s+)?(?P<ord>" + "|".join(ORDINALS) + r")(?:\s+(?:one|image|picture|photo|result))?|"
    r"(?:that|this)(?:\s+(?:last\s+)?(?:one|image|picture|photo))?)"
)
_LIKE = re.compile(r"\b(?:more\s+like|similar\s+to|like|same\s+as|closer\s+to)\s+" + _REF)
_UNLIKE = re.compile(r"\b(?:not\s+like|less\s+like|unlike|different\s+from|nothing\s+like|away\s+from)\s+" + _REF)
_NEG = re.compile(
    r"\b(?:without|with\s+no|no|not|exclude|excluding|except|minus|but\s+no)\s+"
    r"(?:any\s+|the\s+|a\s+|an\s+)?(?P<what>[a-z][a-z\s'-]*?)"
    r"(?=$|[,.;!?]|\s+(?:and|but|please|from|taken|at|during|in|on|by|with)\b)"
)
_NEW = re.compile(
    r"^(?:new\s+search|start\s+over|forget\s+(?:that|it)|instead|search\s+for|find\s+me|"
    r"show\s+me\s+(?:some\s+)?(?!only|just|the|more|fewer|less))"
)
_REFINE_CUE = re.compile(
    r"^(?:only|just|but|and|also|now|with|without|no|not|except|exclude|more|less|fewer|"
    r"bigger|smaller|larger|at|in|on|from|during|taken|same|make\s+(?:it|them)|the\s+ones|"
    r"ones|those|these|same|what\s+about|how\s+about|show\s+(?:me\s+)?(?:only|just|more))\b"
)
_FILLER = re.compile(
    r"\b(?:please|show\s+me|show|find\s+me|find|give\s+me|i\s+want|i'd\s+like|can\s+you|"
    r"search\s+for|look\s+for|pictures?\s+of|photos?\s+of|images?\s+of|only|just|the\s+ones|"
    r"ones|ones\s+that\s+are|those|these|but|also|now|instead|new\s+search|start\s+over|"
    r"what\s+about|how\s+about|make\s+(?:it|them)|same)\b"
)


def _ref_value(m: re.Match) -> int:
    if m.group("hash"):
        return int(m.group("hash"))
    if m.group("num"):
        return int(m.group("num"))
    if m.group("ord"):
        return ORDINALS[m.group("ord")]
    return -1 if "last" in m.group(0) else 1


def _year_range(y: int) -> tuple[date, date]:
    return date(y, 1, 1), date(y, 12, 31)


def parse_filters(text: str, today: date) -> tuple[dict, str]:
    """Dates, orientation, resolution and format phrases -> filter fields; returns the text without them."""
    f: dict = {}

    def cut(pattern: str, fn) -> None:
        nonlocal text
        m = re.search(pattern, text)
        if m:
            fn(m)
            text = (text[: m.start()] + " " + text[m.end() :]).strip()

    cut(
        r"\b(?:taken\s+)?(?:from|in|during)\s+(?:the\s+year\s+)?((?:19|20)\d{2})\b",
        lambda m: f.update(zip(("date_from", "date_to"), _year_range(int(m.group(1))))),
    )
    cut(
        r"\b(?:taken\s+)?(?:before)\s+((?:19|20)\d{2})\b", lambda m: f.update(date_to=date(int(m.group(1)) - 1, 12, 31))
    )
    cut(r"\b(?:taken\s+)?(?:after)\s+((?:19|20)\d{2})\b", lambda m: f.update(date_from=date(int(m.group(1)) + 1, 1, 1)))
    cut(r"\b(?:taken\s+)?since\s+((?:19|20)\d{2})\b", lambda m: f.update(date_from=date(int(m.group(1)), 1, 1)))
    cut(
        r"\b(?:taken\s+|from\s+)?last\s+year\b",
        lambda m: f.update(zip(("date_from", "date_to"), _year_range(today.year - 1))),
    )
    cut(
        r"\b(?:taken\s+|from\s+)?this\s+year\b",
        lambda m: f.update(zip(("date_from", "date_to"), _year_range(today.year))),
    )
    cut(
        r"\b(?:in\s+)?(?:portrait\s+(?:orientation|format|mode|ones|images|photos|pictures)|vertical(?:\s+ones)?|"
        r"(?:only\s+)?portrait$|in\s+portrait)\b",
        lambda m: f.update(orientation="portrait"),
    )
    cut(
        r"\b(?:in\s+)?(?:landscape\s+(?:orientation|format|mode|ones)|horizontal(?:\s+ones)?|in\s+landscape|"
        r"(?:only\s+)?landscape$)\b",
        lambda m: f.update(orientation="landscape"),
    )
    cut(r"\bsquare\s+(?:ones|images|photos|pictures|format)\b", lambda m: f.update(orientation="square"))
    cut(
        r"\b(?:high[\s-]?res(?:olution)?|hi[\s-]?res|large\s+(?:images|files|photos)|higher\s+resolution|"
        r"bigger\s+(?:images|files|photos|pictures))\b",
        lambda m: f.update(min_width=1920),
    )
    cut(r"\b4k\b", lambda m: f.update(min_width=3840))
    cut(r"\bat\s+least\s+(\d{3,5})\s*(?:px|pixels)?\s+wide\b", lambda m: f.update(min_width=int(m.group(1))))
    cut(r"\bat\s+least\s+(\d{3,5})\s*(?:px|pixels)?\s+(?:tall|high)\b", lambda m: f.update(min_height=int(m.group(1))))
    cut(
        r"\b(?:only\s+)?(pngs?|jpe?gs?|gifs?|webps?|tiffs?|heics?)(?:\s+(?:files|only))?\b",
        lambda m: f.update(formats=[m.group(1).rstrip("s").upper().replace("JPG", "JPEG").replace("TIFF", "TIFF")]),
    )
    cut(r"\b(?:in|from)\s+(?:the\s+)?folder\s+([\w./-]+)", lambda m: f.update(folder=m.group(1)))
    return f, text


def _set_size(desc: str, size: str) -> str:
    words = [w for w in desc.split() if w.lower() not in SIZE_WORDS]
    return _insert_modifier(" ".join(words), size)


def _insert_modifier(desc: str, word: str) -> str:
    """Put an adjective before the description's head: 'a car at night' + red -> 'a red car at night'."""
    if not desc:
        return word
    parts = desc.split(" ", 1)
    if parts[0].lower() in ("a", "an", "the", "some") and len(parts) > 1:
        art = "an" if word[0] in "aeiou" and parts[0].lower() in ("a", "an") else parts[0]
        if parts[0].lower() in ("a", "an") and word[0] not in "aeiou":
            art = "a"
        return f"{art} {word} {parts[1]}"
    return f"{word} {desc}"


def _set_time(desc: str, phrase: str) -> str:
    desc = _TIME_RE.sub(" ", desc)
    return " ".join(f"{desc} {phrase}".split())


def _modifier_words(rest: str) -> list[str]:
    """Words of a leftover phrase without determiners: 'the red' -> ['red'] ("the red ones")."""
    return [w for w in rest.split() if w not in ("the", "a", "an", "some", "any")]


def _clean_phrase(s: str) -> str:
    s = _FILLER.sub(" ", s)
    s = re.sub(r"\b(?:and|with|a|an|the|some|any|of|that|are|is|which)\s*$", "", s.strip())
    s = re.sub(r"^(?:and|with|of|that|are|is|which)\b", "", s.strip())
    return " ".join(re.sub(r"[^\w\s'#-]", " ", s).split())


class OfflinePlanner:
    name = "offline"

    def __init__(self, today: date | None = None):
        self.today = today or date.today()

    def plan(self, message: str, session: Session) -> QueryPlan:
        text = " ".join(message.lower().split())
        current = session.query
        wants_new = bool(_NEW.search(text)) or current is None
        plan = QueryPlan(mode="new" if wants_new else "refine")

        for m in list(_UNLIKE.finditer(text)):
            plan.unlike.append(_ref_value(m))
        text = _UNLIKE.sub(" ", text)
        for m in list(_LIKE.finditer(text)):
            plan.like.append(_ref_value(m))
        text = _LIKE.sub(" ", text)

        m = re.search(
            r"\b(?:show(?:\s+me)?|top|give\s+me|first)\s+(\d{1,3}|" + "|".join(NUMBERS) + r")\b"
            r"(?!\s*(?:px|pixels))",
            text,
        )
        m = m or re.search(r"\b(\d{1,3})\s+(?:results|images|pictures|photos)\b", text)
        if m:
            v = m.group(1)
            plan.k = int(v) if v.isdigit() else NUMBERS[v]
            text = (text[: m.start()] + " " + text[m.end() :]).strip()
        if re.search(r"\b(?:more\s+results|show\s+more|more\s+of\s+them)\b", text) and current:
            plan.k = min(200, current.k * 2)
            text = re.sub(r"\b(?:more\s+results|show\s+more|more\s+of\s+them)\b", " ", text)

        filters, text = parse_filters(text, self.today)
        plan.filters = filters

        for m in list(_NEG.finditer(text)):
            what = _clean_phrase(m.group("what"))
            what = re.sub(r"\b(?:ones?|images?|pictures?|photos?|shots?)\b", "", what).strip()
            if what:
                plan.negatives.append(what)
        text = _NEG.sub(" ", text)
        if re.search(r"\b(?:allow|include|with)\s+(.+?)\s+again\b", text) and current:
            back = _clean_phrase(re.search(r"\b(?:allow|include|with)\s+(.+?)\s+again\b", text).group(1))
            plan.remove_negatives.append(back)
            text = re.sub(r"\b(?:allow|include|with)\s+(.+?)\s+again\b", " ", text)

        time_phrase = None
        tm = _TIME_RE.search(text)
        if tm:
            time_phrase = next(v for k, v in TIMES.items() if re.fullmatch(k, tm.group(0)))
        size = next((SIZES[w] for w in re.findall(r"\b(bigger|smaller|larger)\b", text)), None)
        rest = _clean_phrase(_TIME_RE.sub(" ", re.sub(r"\b(?:bigger|smaller|larger)\b", " ", text)))

        if plan.mode == "refine" and not _REFINE_CUE.search(" ".join(message.lower().split())) and rest:
            words = _modifier_words(rest)
            modifier_only = bool(words) and all(w in COLORS or w in SIZES for w in words)
            if not modifier_only and not (plan.like or plan.unlike or plan.negatives or plan.filters):
                plan.mode = "new"  # a fresh description with no refinement cue starts a new search

        if plan.mode == "new":
            desc = rest
            if time_phrase:
                desc = _set_time(desc, time_phrase)
            if size:
                desc = _set_size(desc, size)
            plan.description = desc.strip()
            return plan

        desc = current.text if current else ""
        words = _modifier_words(rest)
        if words and all(w in COLORS for w in words):
            for c in COLORS:
                desc = re.sub(rf"\b{c}\b\s*", "", desc).strip()
            desc = _insert_modifier(desc, " ".join(words))
        elif words and all(w in COLORS or w in SIZES for w in words):
            for w in words:
                desc = _set_size(desc, SIZES[w]) if w in SIZES else _insert_modifier(desc, w)
        elif rest:
            desc = f"{desc} {rest}".strip()
        if time_phrase:
            desc = _set_time(desc, time_phrase)
        if size:
            desc = _set_size(desc, size)
        plan.description = desc if desc != (current.text if current else "") else ""
        return plan
