"""Places and written words in a request: "photos from Lisbon", "not in Paris", "near Porto", "a sign that says
bakery", '"OPEN"'.

`take_places` finds where the photos should (or should not) be from and returns a `PlaceFilter`; `take_text_query`
finds words that should be written in the picture (read by OCR). Each returns the message without the phrase, so
the rest of the reader never sees "Lisbon" or "bakery" as a thing to look for. Names are looked up in GeoNames
(`tools.places`); a capitalised name after "in" / "near" / "at" that names no place is returned as unknown, so the
reply can say so instead of ignoring it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import dropwhile

from picseek.tools.places import MIN_LOWERCASE_POPULATION, PlaceFilter, checked_radius, gazetteer

_NAME_WORD = r"[A-Za-z\u00c0-\u024f][\w'\u00c0-\u024f.-]*"
_NAME = rf"{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,3}}(?:\s*,\s*{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,2}})?"
_PLACE = re.compile(
    r"(?P<neg>\b(?:not|never|nothing|none)\s+(?:(?:taken|shot|photographed)\s+)?)?"
    r"(?:\b(?:taken|shot|photographed)\s+)?"
    r"(?P<prep>\bfrom|\bin|\bat|\bnear|\baround|\bclose\s+to|\bwithin\s+(?P<km>\d+(?:\.\d+)?)\s*(?:km|kilometres|"
    r"kilometers)\s+of|\boutside(?:\s+of)?)"
    r"\s+(?:the\s+)?(?P<name>" + _NAME + ")",
    re.I,
)
# Capitalised words after "from" that are times, not places ("photos from Christmas", "from May")
_NOT_PLACES = frozenset(
    "i me my we our you your january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday christmas easter halloween thanksgiving new year "
    "summer winter spring autumn fall today yesterday last this that these those it them "
    # file formats and picture words, which a request capitalises too ("in JPEG", "in RAW", "in HD")
    "jpeg jpg png gif heic heif tiff tif raw webp bmp dng hd 4k portrait landscape square colour color focus".split()
)
# English words that are also the names of big towns: read as places only when capitalised
_COMMON_WORDS = frozenset("nice reading mobile bath split orange sale victoria of mango gold van rome".split())
_STOP = frozenset(
    "at in on from near during with and but or taken shot not no without by for of under over behind beside "
    "before after while when where which that who".split()
)
BIG_CITY = 500_000


@dataclass
class PlaceWords:
    """What `take_places` read: the filter, and capitalised place names it could not find."""

    place: PlaceFilter | None = None
    unknown: list[str] = field(default_factory=list)


def _resolve(words: list[str], capitalised: bool) -> tuple[PlaceFilter | None, int]:
    """The longest leading run of `words` that names a place, as a filter, and how many words it took."""
    g = gazetteer()
    for n in range(len(words), 0, -1):
        name = " ".join(words[:n]).strip(" ,.")
        key = name.lower()
        if key in _NOT_PLACES or (not capitalised and key in _COMMON_WORDS):
            continue
        if "," in name:
            city, _, country = (p.strip() for p in name.partition(","))
            cc = g.country_code(country)
            if cc and g.cities(city, cc):
                return PlaceFilter(city=city, country=cc), n
            # a US state qualifies the city: 'Paris, Texas', 'Portland, OR' (a code only in capitals: 'or' is a word)
            state = g.region(country, codes=country.isupper())
            if state and g.cities_of(city, None, state):
                return PlaceFilter(city=city, region=state), n
            continue
        cc = g.country_code(name)
        if cc and (capitalised or len(name) > 3):
            return PlaceFilter(country=g.country(cc).country), n
        found = g.cities(name)
        state = g.region(name)
        # "New York", "Washington": the big city rather than the state of that name
        if state and not (found and found[0].population >= BIG_CITY):
            return PlaceFilter(region=state), n
        if found and (capitalised or found[0].population >= MIN_LOWERCASE_POPULATION):
            return PlaceFilter(city=found[0].city, country=found[0].cc), n
    return None, 0


def take_places(
    text: str, keep: Callable[[str], str] | None = None, follow_up: bool = False
) -> tuple[str, PlaceFilter | None, list[str]]:
    """'taken in Kyoto at night' -> ('at night', PlaceFilter(city='Kyoto', country='JP'), []).
    'photos from Atlantis' -> ('photos from Atlantis', None, []) ('from' is often a time or a person; only 'in',
    'at', 'near' report an unknown name): 'beach in Atlantis' -> ('beach', None, ['Atlantis']).
    The first place said wins; a second one is left in the text. `keep` (read_places): a place said of a described
    scene ('a red bus in London', or any 'in'/'at' place when `follow_up`) is replaced by what `keep` returns (a
    mask the CLIP text gets back) instead of cut; an exclusion is always cut."""
    for m in _PLACE.finditer(text):
        raw = m.group("name")
        words = re.findall(r"[^\s,]+|,", raw)
        words = _join_commas(words)
        capitalised = raw[:1].isupper()
        found, n = _resolve(words, capitalised)
        the = words[0].lower() == "the" or re.search(r"\bthe\s+$", text[: m.start("name")], re.I) is not None
        if found is not None and not capitalised and the and (found.city or found.region):
            named = (found.city or found.region or "").lower()
            if not named.startswith("the "):  # "across from the white house" is no Casablanca; "the hague" is
                found = None
        prep = m.group("prep").lower()
        if found is None:
            first = words[0].strip(".,")
            if capitalised and prep not in ("from",) and first.lower() not in _NOT_PLACES | _STOP:
                name = " ".join(w for w in _capitalised_run(words))
                cut = _cut(text, m.start("neg") if m.group("neg") else m.start("prep"), m.start("name") + len(name))
                return cut, None, [name]
            continue
        if prep.startswith(("near", "around", "close", "within")):
            target = found.city or found.region or found.country
            km = checked_radius(float(m.group("km"))) if m.group("km") is not None else None
            found = PlaceFilter(
                near=target,
                region=found.region if found.city else None,
                country=found.country if found.city else None,
                **({"radius_km": km} if km is not None else {}),
            )
        if m.group("neg") or prep.startswith("outside"):
            found = found.model_copy(update={"exclude": True})
        end = _end_of(raw, words, n, m.start("name"))
        start = m.start("neg") if m.group("neg") else m.start("prep")
        described = follow_up or _describes(text[:start])  # "in london" after "a red bus" is said of it too
        if keep is not None and not found.exclude and prep in ("in", "at") and described:
            # "a red double decker bus in london": the words stay for CLIP (which knows London) beside the filter
            return _tidy(text[:start] + keep(text[start:end]) + text[end:]), found, []
        start = _back_over_taken(text, start)
        return _cut(text, start, end), found, []
    return text, None, []


_FRAMING = re.compile(
    r"\b(?:show|find|get|give|me|us|some|any|all|the|my|our|photos?|pictures?|pics?|images?|shots?|snaps?|of|from|"
    r"taken|i|want|need|looking|for|please|can|could|you|a|an)\b|[^\w\s]",
    re.I,
)


def _describes(text: str) -> bool:
    """Whether the words before a place describe a picture ('a red bus'), not only frame the request ('photos')."""
    return bool(_FRAMING.sub(" ", text).strip())


def _join_commas(words: list[str]) -> list[str]:
    """['Lisbon', ',', 'Portugal'] -> ['Lisbon,', 'Portugal'] so a 'city, country' run stays one candidate."""
    out: list[str] = []
    for w in words:
        if w == "," and out:
            out[-1] += ","
        elif w != ",":
            out.append(w)
    return out


def _capitalised_run(words: list[str]) -> list[str]:
    run = []
    for w in words:
        w = w.strip(",.")
        if not w[:1].isupper():
            break
        run.append(w)
    return run or words[:1]


def _end_of(raw: str, words: list[str], n: int, offset: int) -> int:
    """Where the first `n` name words end in the message."""
    pos = 0
    for w in words[:n]:
        pos = raw.find(w.rstrip(","), pos) + len(w.rstrip(","))
    return offset + pos


def _back_over_taken(text: str, start: int) -> int:
    m = re.search(r"\b(?:taken|shot|photographed)\s+$", text[:start], re.I)
    return m.start() if m else start


def _cut(text: str, start: int, end: int) -> str:
    return _tidy(text[:start] + " " + text[end:])


def _tidy(text: str) -> str:
    return re.sub(r"\s+([,.;:!?])", r"\1", " ".join(text.split())).strip(" ,")


_QUOTED = re.compile(r"\"([^\"]{1,60})\"|(?<![\w])'([^']{1,60})'(?![\w])")
_SAYS = re.compile(
    r"\b(?:(?:that|which|it)\s+)?(?:says|said|reads|saying|spelling|spells)\s+|"
    r"\bwith\s+(?:the\s+)?(?:words?|text|writing|lettering)\s+(?:of\s+|saying\s+|that\s+says\s+)?",
    re.I,
)


# "reads" / "says" without "that" or "which" are words in the picture only after a thing that carries writing
_READER = re.compile(r"(?i)(?:says|said|reads|spells)\s")
_BEARER = re.compile(
    r"(?i)\b(?:signs?|banners?|captions?|shirts?|t-shirts?|posters?|labels?|boards?|billboards?|screens?|notes?|"
    r"plates?|graffiti|messages?|texts?|logos?|menus?|stickers?|cards?|covers?|displays?|tags?|headlines?|titles?|"
    r"flags?|placards?|marquees?|letters?|writing|words?|lettering)\s*$"
)
# a sign named by its words: "do not disturb sign" anywhere, "no parking sign" after its article ("a no parking sign";
# "no flashing signs", "there is no parking sign", "a street, no stop sign" ask for none)
_SIGN_TEXT = re.compile(
    r"\b(?:a|an|the|one)\s+(no\s+[a-z]+)(?=\s+signs?\b)|\b((?:do\s+not|don't|dont)\s+[a-z]+)(?=\s+signs?\b)", re.I
)
_THERE_IS = frozenset({"there", "is", "are", "there's"})  # said before a sign's words: "there is no swimming"
_REPORTED = _THERE_IS | {"do"}  # words before a sign's "no": "there is no ...", "do not enter"
_SPEAKER = re.compile(r"\b(?:i|you|we|he|she|they|someone|somebody)\s*(?:just\s+|already\s+)?$", re.I)


# A span of written words, masked while the rest of the message is read: lowercase letters only, so that no step
# of the reader (dates, references, counts, typos, places) takes it for anything
_MASK = re.compile(r"\bzzqw[a-z]{1,2}zz\b")


def _key(n: int) -> str:
    """The n-th mask word: one the parser reads as a plain unknown word, never English."""
    return "zzqw" + (chr(97 + n) if n < 26 else chr(97 + n // 26 % 26) + chr(97 + n % 26)) + "zz"


def mask_text_query(text: str) -> tuple[str, list[str], dict[str, str]]:
    """Words asked to be written in the picture: quoted ones ('"OPEN"', "'fresh bread'"), and those after 'that
    says / saying / reads / with the word / with the text'. -> (the message with each such phrase replaced by a
    mask, the words, {mask: the phrase as typed}). The reader reads the message without them; CLIP gets them back."""
    spans: dict[str, str] = {}
    terms: list[str] = []

    def mask(phrase: str) -> str:
        key = _key(len(spans))
        spans[key] = phrase
        return f" {key} "

    def quoted(m: re.Match) -> str:
        terms.append((m.group(1) or m.group(2)).strip())
        return mask(m.group(0))

    text = _QUOTED.sub(quoted, text)

    def sign(m: re.Match) -> str:
        k = 1 if m.group(1) else 2
        terms.append(m.group(k))
        return m.group(0)[: m.start(k) - m.start(0)] + mask(m.group(k))  # "a " stays the sign's article

    text = _SIGN_TEXT.sub(sign, text)  # "a do not disturb sign", "a no parking sign": what the sign says
    at = 0
    while m := _SAYS.search(text, at):
        rest = text[m.end() :]
        if _SPEAKER.search(text[: m.start()]):  # "I said a bicycle": a person speaking, not words in the picture
            at = m.end()
            continue
        if _READER.match(m.group(0)) and not _BEARER.search(text[: m.start()]):
            at = m.end()  # "a man reads a book", "a parking reader says expired": no sign, no words in the picture
            continue
        said = []
        for w in rest.split():
            bare = w.strip(",.;:!?")
            # a sign's own "no" or "not" opens its words ("no parking", "do not enter", "there is no swimming")
            opens = bare.lower() in ("no", "not") and all(x.lower() in _REPORTED for x in said)
            if not bare or bare.lower() in _STOP and not opens or len(said) == 4 or _MASK.fullmatch(bare):
                break
            said.append(bare)
            if bare != w:  # punctuation ends the words
                break
        consumed = rest.find(said[-1]) + len(said[-1]) if said else 0
        written = list(dropwhile(lambda w: w.lower() in _THERE_IS, said))
        if written:
            terms.append(" ".join(written))  # "there is no swimming": the sign says "no swimming"
        # "a sign that says bakery": the phrase is masked whole; 'that says "OPEN"' masks its verb beside the quote
        phrase = text[m.start() : m.end() + consumed].rstrip()
        key = mask(phrase)
        text = text[: m.start()] + key + text[m.start() + len(phrase) :]
        at = m.start() + len(key)
    return text, [t for t in dict.fromkeys(terms) if t], spans


def unmask(text: str, spans: dict[str, str]) -> str:
    """The text with the written words back where they were ('a sign that says bakery'); without `spans`, with
    them left out ('a sign')."""
    return _tidy(_MASK.sub(lambda m: spans.get(m.group(0), ""), text))


def take_text_query(text: str) -> tuple[str, list[str]]:
    """(the message without the words asked to be written in the picture, the words): see mask_text_query."""
    masked, terms, _ = mask_text_query(text)
    text = unmask(masked, {})
    # "a sign that says" with its words taken: the sign stays a thing to look for, the dangling verb goes
    text = re.sub(r"\b(?:that|which)\s*$", "", text).strip(" ,")
    return text, terms


@dataclass
class Said:
    """What a message says about places and written words, and the message without those phrases."""

    text: str  # the message without the places that only filter; written words and places said of a scene masked
    place: PlaceFilter | None = None
    unknown_places: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)  # words to find written in the picture
    masked: dict[str, str] = field(default_factory=dict)  # mask -> the words as typed, for the CLIP text


def read_places(message: str, follow_up: bool = False) -> Said:
    """Both readings in one pass: written words first (a quoted "Paris" is a word on a sign, not a place); a place
    said of the scene is masked like written words (`follow_up`: the message refines a description)."""
    text = message.replace("\u201c", '"').replace("\u201d", '"').replace("\u2018", "'").replace("\u2019", "'")
    text, written, masked = mask_text_query(text)

    def keep(phrase: str) -> str:  # the place's words, masked like written words: CLIP gets them back
        key = _key(len(masked))
        masked[key] = phrase.strip()
        return f" {key} "

    text, place, unknown = take_places(text, keep=keep, follow_up=follow_up)
    return Said(text, place, unknown, written, masked)


def drop_place_words(phrases: list[str], place: PlaceFilter) -> list[str]:
    """The phrases without the words that named this place ('a red bus in london' -> 'a red bus'): a later turn that
    names or excludes a place replaces the old one in the words as in the filter."""
    names = [n for n in (place.city, place.region, place.country, place.near) if n]
    if not names:
        return list(phrases)
    said = r"(?:\s*,)?\s*\b(?:in|at)\s+(?:the\s+)?(?:" + "|".join(re.escape(n) for n in names) + r")\b"
    out = [_tidy(re.sub(said, "", p, flags=re.I)) for p in phrases]
    return [p for p in out if p]


def read_turn(tracker, state, message: str, asked=None, resolve=str):
    """One message read the way the offline planner reads it: places and written words first (`read_places`), a
    place said now replacing the old one in the words as in the filter, then the tracker. -> (its Update, Said)."""
    said = read_places(message, follow_up=not state.is_empty())
    if said.place is not None and state.filters.place is not None:  # "in paris instead", "not in london"
        state = state.model_copy(update={"phrases": drop_place_words(state.phrases, state.filters.place)})
    return tracker.update(state, said.text, asked=asked, resolve=resolve, written=said.masked), said
