"""The description in the user's own words, and how a turn edits it.

CLIP was trained on captions people wrote, so the best text it can get is the user's own sentence. The state keeps
the descriptive part of each message (`SearchState.phrases`: the first description, then each refinement), and a
turn edits those words where they stand instead of rebuilding a caption from slots:

- a new description (first message, new topic) becomes the only phrase, less framing ("show me", "photos of",
  "please"), filters and references, which `metadata` has already cut out;
- a thing recoloured, resized, counted or renamed is edited at the thing ("make the dog red": "a small dog" ->
  "a small red dog"; a colour already there is replaced);
- a thing excluded goes with the words attached to it ("holding a guitar in her lap", "near a frisbee",
  "while staring at his cat"), but where or when the scene is stays ("riding a horse on the beach" without the
  horse: "on the beach" stays); the main thing excluded takes only its noun phrase ("a boat on the water" ->
  "on the water"): the text never names what the negatives avoid; a setting value swapped replaces the old phrase,
  preposition kept when the user gave none ("make it a rainy day": "on a sunny day" -> "on a rainy day");
- anything new is appended as said ("with a dog at her feet"), a command's framing turned into "with"
  ("add a pigeon" -> "with a pigeon"; "make the cat red" with no cat yet -> "with a red cat").

The typed subjects and setting are the reader's view of the same messages: the edits are found by comparing the
view before and after the turn, and located in the text through its parse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from picseek.agent.english import language
from picseek.agent.english import lexicon as L
from picseek.agent.english.cues import LEADING_HEDGE, alternation
from picseek.agent.english.kinds import ends_listed_name, kinds_of, listed
from picseek.agent.english.plurals import name_of, same_thing, thing_key
from picseek.agent.english.reading import LEADS_WITH, PUT_IN_THING, WOULD_BE_NICE, clean, says_what_it_does
from picseek.agent.state import SearchState, Subject, plural, singular

# What frames a request rather than describing the picture, at the start or end of a phrase.
_LEAD = re.compile(
    r"^(?:(?:i'?m|i\s+am|we'?re)\s+(?:looking|searching)\s+for|looking\s+for|(?:i|we)\s+(?:want|need|would\s+like|'d\s+like)"
    r"(?:\s+to\s+see)?|i'd\s+like(?:\s+to\s+see)?|can\s+(?:i|we)\s+(?:see|get|have)|do\s+you\s+have|have\s+you\s+got|"
    r"got\s+any|any|let'?s\s+(?:see|look\s+for|find|try)|search\s+for|look\s+for|find|show(?:\s+me)?|give\s+me|"
    r"(?:some|all|a\s+few|the)?\s*(?:photos?|pictures?|pics?|images?|shots?|photographs?)\s+(?:of|with|showing)|"
    r"(?:a|an|some)\s+(?:photo|picture|pic|image|shot|photograph)\s+(?:of|with|showing)|of|me|us|now|so|ok(?:ay)?|"
    r"actually|maybe|and\s+now|now\s+show\s+me|but|stop|instead|then|something\s+(?:different|else)|(?:how|what)\s+about|"
    r"same(?:\s+(?:thing|one|scene|picture|photo))?(?=\s+but\b)|try(?=\s+(?:at|in|during|under|by|near|with)\b)|"
    r"try(?=\s+on\s+(?:an?|the)\s+(?:\w+\s+)?(?:" + "|".join(sorted(L.SCENE_NOUNS)) + r")\b)|"
    r"(?:make|turn|change|switch|set|move)\s+(?:it|them|this|that|the\s+(?:photo|picture|scene|image))(?:\s+(?:to|into))?|"
    r"(?:switch|change|go|move)\s+(?:over\s+)?to|"
    r"(?:can|could|would|should)\s+(?:it|they|this)\s+be|it\s+should\s+be|it\s+was\s+taken|taken|shot|"
    r"(?:it\s+)?(?:seems|looks)(?:\s+like)?|pretty\s+sure|rather|that(?=\s*[,.:])|no(?=\s*,)|nah|"
    r"(?:only|just)(?=\s+(?:at|in|on|during|under|by|near|with|from)\b)|"
    r"(?:the\s+|those\s+|these\s+)?ones?(?=\s+(?:with|without|that|which|where|in|on|at|by|near)\b))\b[\s,:.!-]*",
    re.I,
)
_TRAIL = re.compile(
    r"[\s,]*\b(?:instead|rather|now|please|pls|thanks|thank\s+you|too|as\s+well|then|again|i\s+think|i\s+believe|"
    r"would\s+be\s+(?:nice|good|great|cool|lovely|better|best|ideal|perfect)(?:\s+too)?|(?<=\w\s)in(?=\s*$)|"
    r"in\s+(?:it|there|the\s+(?:photo|picture|image))(?:\s+too)?)\s*[.!]*$",
    re.I,
)
# A command that adds a thing: "add a pigeon", "also a seal", "there should also be a dog watching".
_ADD = re.compile(
    r"^(?:(?:oh|and|so|ok|okay|hmm+|um+|maybe|also)[\s,]+)*(?:(?:please|pleas|pls|plz)\s+)?"
    r"(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?|let'?s\s+)?"
    r"(?:(?:and\s+)?also(?:\s+add)?|add(?:\s+in)?|plus|\+|include|put|throw\s+in|insert|bring\s+in|"
    # "throw a shark in there", "stick a flag in it": the thing, put in the picture
    r"(?:throw|stick|pop)(?=" + PUT_IN_THING + ")|"
    r"there\s+(?:should|could|must)\s+(?:also\s+)?be|(?:can|could)\s+there\s+(?:also\s+)?be|"
    r"make\s+sure\s+there\s+(?:is|are)|(?:and\s+)?maybe|"
    r"(?:i\s+)?(?:(?:kind|sort)\s+of\s+|kinda\s+|sorta\s+|really\s+|also\s+)?(?:(?:i'?d|i\s+would)\s+like|i\s+want|want)|"
    r"(?:it|they|he|she)\s+should\s+(?:also\s+)?have|give\s+it|(?:can|could)\s+(?:we|i)\s+(?:get|have|add)|"
    r"(?:and\s+)?there(?:'s|\s+is|\s+are)\s+(?:also\s+)?(?=(?:a|an|some|two|three|\d+)\s|(?!no\b|not\b)\w+s\b))"
    r"(?:\b|(?<=\+))[\s,:]*",
    re.I,
)


@lru_cache(maxsize=512)
def parse(text: str):
    """The parse of a description (the same texts come back turn after turn: the state's own words)."""
    return language.parse(text)


_FIRST_TRAIL = re.compile(r"[\s,]*\b(?:please|pls|thanks|thank\s+you)\s*[.!]*$", re.I)


_PICTURES_WITH = re.compile(
    r"^(?:(?:some|all|any|a\s+few)\s+)?(?:photos?|pictures?|pics?|images?|shots?|photographs?)\s+(?:with|showing)\b",
    re.I,
)


def strip_framing(text: str, first: bool = False) -> str:
    """The describing words of a phrase: request framing, filler and cue words at its ends removed. A `first`
    description keeps a last 'now', 'too' or 'again' (a caption may end "... don't look now")."""
    t = clean(text).strip(" ,.;:!?-")
    if _PICTURES_WITH.match(t):  # "photos with a boat in them": "in them" is the photos, not the boat
        t = re.sub(r"\s+in\s+(?:them|it)\s*[.!]*$", "", t, flags=re.I)
    trail = _FIRST_TRAIL if first else _TRAIL
    for _ in range(6):
        before = t
        t = _LEAD.sub("", t).strip(" ,.;:!?-")
        t = trail.sub("", t).strip(" ,.;:!?-")
        if t == before:
            break
    return " ".join(t.split())


_A_THING = re.compile(rf"^(?:an?|some|a\s+few|a\s+couple\s+of|\d+|{alternation(L.NUMBERS)})\s+\w", re.I)


def as_addition(text: str) -> str:
    """A phrase that adds, as it joins the description: 'add a pigeon' -> 'with a pigeon'; 'and a cat' stays."""
    t = " ".join(text.split())
    m = _ADD.match(t)
    if m:
        rest = strip_framing(t[m.end() :])
        rest = re.sub(r"\s+in\s+(?:there|here|it)$", "", rest)  # "can we get a bike in there": in the picture
        it = re.match(r"^(?:it|them|this|that)\s+(?=\w)", rest)
        if it:  # "i'd like it in the rain": the picture itself, so what follows is said about all of it
            return rest[it.end() :]
        if _PREP.match(rest) or _MULTI_PREP.match(rest):
            return rest  # "also in a field of flowers": where the picture is, no thing added
        if re.match(r"^with\s", rest, re.I):
            return rest  # "maybe with a cat": said with its own "with"
        return f"with {rest}" if rest else ""
    wish = WOULD_BE_NICE.search(t.lower()) is not None  # "some potted plants would be nice"
    t = strip_framing(t)
    joined = re.match(r"^(?:and|plus|\+|&)\s+", t, re.I)
    if joined and (_PREP.match(t[joined.end() :]) or _MULTI_PREP.match(t[joined.end() :])):
        return t[joined.end() :]  # "and in a field": said of the whole picture, no thing joined
    if not t or re.match(r"^(?:with|and|plus|without|\+|&)\b", t, re.I):
        return t
    thing = _A_THING.match(t) and not _DAY_PHRASE.match(t) and not any(w in L.PICTURE_WORDS for w in t.lower().split())
    if wish and not _PREP.match(t) or thing:
        return f"with {t}"  # "a dog behind the man": one more thing in the picture
    return t


@dataclass
class Said:
    """The phrases as one text with the offsets where each begins, edited by character span."""

    text: str
    starts: list[int]

    @classmethod
    def of(cls, phrases: list[str]) -> Said:
        starts, pos = [], 0
        for p in phrases:
            starts.append(pos)
            pos += len(p) + 1
        return cls(" ".join(phrases), starts)

    def replace(self, a: int, b: int, new: str) -> None:
        delta = len(new) - (b - a)
        self.text = self.text[:a] + new + self.text[b:]
        # a phrase starting where the edit starts keeps the edit ("cars" -> "red cars"); later ones move with it
        self.starts = [s if s <= a else (s + delta if s >= b else a) for s in self.starts]

    def phrases(self) -> list[str]:
        bounds = [*self.starts, len(self.text)]
        out = [" ".join(self.text[bounds[i] : bounds[i + 1]].split()) for i in range(len(self.starts))]
        # what a removal leaves between commas: "a desk , it is open" -> "a desk, it is open"; "street ," -> "street"
        out = [re.sub(r"^[\s,;]+|[\s,;]+$", "", re.sub(r"\s+([,;])", r"\1", re.sub(r",(\s*,)+", ",", p))) for p in out]
        return [_articles(p) for p in out if p.strip(" ,.;:")]

    def append(self, phrase: str) -> None:
        if phrase:
            self.starts.append(len(self.text) + 1 if self.text else 0)
            self.text = f"{self.text} {phrase}" if self.text else phrase


def _articles(phrase: str) -> str:
    """'a orange cat' -> 'an orange cat' only where an edit put the word there; the user's own 'a airplane' stays."""
    return phrase


def _fix_article(said: Said, at: int, word: str) -> None:
    """The article just before position `at`, agreeing with the word an edit put there."""
    m = re.search(r"\b(a|an)\s+$", said.text[:at], re.I)
    if m:
        want = "an" if word[:1].lower() in "aeiou" else "a"
        said.replace(m.start(1), m.end(1), want)


# --- locating things in the text -----------------------------------------------------------------------------


def _noun_token(doc, noun: str, said: str = ""):
    """The token that names this thing in the text: the head word of the noun, singular or plural. Of several, the
    one whose modifiers the message `said` repeats ('3 small pieces': the '2 small pieces', not 'a piece')."""
    nouns = _noun_tokens(doc, noun)
    if len(nouns) > 1 and said:
        message = set(re.findall(r"[a-z]+", said.lower()))

        def repeated(t) -> tuple[int, bool]:  # its modifiers said again ('two wine glasses'), then its own form
            mods = sum(c.lower_ in message for c in t.children if c.i < t.i and c.dep_ in ("amod", "compound"))
            return mods, t.lower_ in message  # "the glass is red": not the "glasses" before it

        return max(nouns, key=repeated)
    return (nouns or [None])[0]


def _noun_tokens(doc, noun: str) -> list:
    """Every token that names this thing: its head word, singular or plural (nouns before other words)."""
    words = noun.lower().split()
    want = singular(words[-1])
    found = [t for t in doc if singular(t.lower_) == want or t.lemma_.lower() == want]
    found = found or [t for t in doc if same_thing(singular(t.lower_), want)]  # "the bike": the "bicycle"
    if len(words) > 1:  # "the stop sign": the sign said with "stop" before it, not the "2 signs" before it
        found = [t for t in found if _named_by(doc, t, words)] or found
    else:  # "the dog", not the "hot dog" before it
        found = [t for t in found if not ends_listed_name(t)] or found
    return [t for t in found if t.pos_ in ("NOUN", "PROPN")] or found


def _named_by(doc, tok, words: list[str]) -> bool:
    """Whether the words before this token are the first words of the name ('stop' before the 'sign' of 'stop sign')."""
    return tok.i >= len(words) - 1 and [u.lower_ for u in doc[tok.i - len(words) + 1 : tok.i]] == words[:-1]


def _colour_span(doc, tok) -> tuple[int, int] | None:
    """Token range [a, b] of the colour words before the noun: 'brown and white', 'dark blue'."""
    idx = [t.i for t in doc[max(0, tok.i - 6) : tok.i] if t.lower_ in L.COLORS or t.lower_ in L.MANY_COLOURS]
    if not idx:
        return None
    a = b = idx[-1]
    while a - 1 >= 0 and (
        doc[a - 1].lower_ in L.COLORS
        or doc[a - 1].lower_ in L.SHADES
        or (doc[a - 1].lower_ in ("and", "-", ",") and a - 2 >= 0 and doc[a - 2].lower_ in L.COLORS)
        or (doc[a - 1].lower_ == "and" and a - 3 >= 0 and doc[a - 2].text == "," and doc[a - 3].lower_ in L.COLORS)
    ):
        a -= 1  # "orange, white, and black": the list's comma before "and" too
    if b + 1 < tok.i and doc[b + 1].lower_ in ("colored", "coloured", "colour", "color", "toned", "tone"):
        b += 1  # "the tan colored horse": the colour's own word goes with it
    # only colours that modify this noun: nothing but adjectives/compounds between them and it
    between = doc[b + 1 : tok.i]
    if any(t.pos_ in ("VERB", "ADP", "DET", "AUX", "CCONJ") or t.is_punct for t in between):
        return None  # "a red man and woman": the red is the man's
    return a, b


def _size_token(doc, tok):
    for t in doc[max(0, tok.i - 5) : tok.i]:
        if t.lower_ in L.SIZES and not any(u.pos_ in ("VERB", "ADP", "DET") for u in doc[t.i + 1 : tok.i]):
            return t
    return None


def _insert_before_compounds(doc, tok) -> int:
    """The token index a colour goes before: the noun, or the first of its compound words ('park bench') or of its
    listed name ('double decker bus'), and of the materials before them ('a wooden wall': 'a brown wooden wall')."""
    i = tok.i
    while (
        i - 1 >= 0
        and (
            doc[i - 1].head.i >= i - 1
            and (
                doc[i - 1].dep_ == "compound"
                and (doc[i - 1].pos_ in ("NOUN", "PROPN") or doc[i - 1].lower_.endswith("ing"))
                or doc[i - 1].dep_ == "amod"
                and (doc[i - 1].lower_ in L.ING_NAMES or doc[i - 1].lower_ in L.MATERIALS)
            )  # "park bench", "frying pan", "magnifying glass": a name, not a thing doing something ("a sleeping dog")
            # "double decker bus", "a fire hydrant": a listed name, however the parse hung its words
            or listed(" ".join(t.lower_ for t in doc[i - 1 : tok.i + 1]))
        )
    ):
        i -= 1
    if i - 1 >= 0 and i < tok.i and doc[i - 1].dep_ == "nummod" and doc[i - 1].head.i == i:
        i -= 1  # "a 4 poster bed": the number is part of the name
    return i


def _det_end(doc, tok) -> int:
    """The token index just after the noun phrase's determiner, number or possessive (where a size word goes)."""
    i = tok.i
    start = i
    while (
        start - 1 >= 0
        and doc[start - 1].head.i == tok.i
        or (
            start - 1 >= 0
            and doc[start - 1].dep_ in ("amod", "compound")
            and doc[start - 1].head.i in range(start, tok.i + 1)
        )
    ):
        start -= 1
    j = start
    while j < tok.i and doc[j].dep_ in ("det", "nummod", "poss", "predet"):
        j += 1
    return j


def _char(doc, i: int) -> int:
    return doc[i].idx if i < len(doc) else len(doc.text)


def _end(doc, i: int) -> int:
    return doc[i].idx + len(doc[i].text)


# --- the edits -------------------------------------------------------------------------------------------------


def _said_word(message: str, words: dict, value: str) -> str:
    """The word(s) of the message that say this value ('grey' for gray, 'dark blue'), else the value itself."""
    toks = message.lower().replace(",", " ").split()
    for k, t in enumerate(toks):
        if words.get(t) == value.split()[-1] or t == value:
            if k > 0 and toks[k - 1] in L.SHADES and " " in value:
                return f"{toks[k - 1]} {t}"
            return t
    return value


def _said_colour(message: str, value: str) -> str:
    toks = re.findall(r"[a-z]+", message.lower())
    found = [(k, t) for k, t in enumerate(toks) if t in L.COLORS]
    want = set(value.split(" and "))
    picked = [t for k, t in found if L.COLORS[t] in want or t in want]
    if not picked:
        return value
    k = toks.index(picked[0])
    out = " and ".join(dict.fromkeys(picked))
    if k > 0 and toks[k - 1] in L.SHADES:
        out = f"{toks[k - 1]} {out}"
    return out


def recolour(said: Said, noun: str, colour: str, message: str = "") -> bool:
    doc = parse(said.text)
    tok = _noun_token(doc, noun, message)
    if tok is None:
        return False
    span = _colour_span(doc, tok)
    if span is not None:
        a, b = _char(doc, span[0]), _end(doc, span[1])
        said.replace(a, b, colour)
        _fix_article(said, a, colour)
        return True
    i = _insert_before_compounds(doc, tok)
    named = set(re.findall(r"[a-z]+", message.lower()))
    if i == tok.i > 0 and doc[i - 1].dep_ == "amod" and doc[i - 1].lower_ in named - set(L.SIZES) - set(L.COLORS):
        i -= 1  # "the remote is black" on "two remote controls": the word the user names the thing by is its name
    at = _char(doc, i)
    said.replace(at, at, colour + " ")
    _fix_article(said, at, colour)
    return True


def resize(said: Said, noun: str, size: str) -> bool:
    doc = parse(said.text)
    tok = _noun_token(doc, noun)
    if tok is None:
        return False
    old = _size_token(doc, tok)
    if old is not None:
        said.replace(old.idx, old.idx + len(old.text), size)
        _fix_article(said, old.idx, size)
        return True
    at = _char(doc, _det_end(doc, tok))
    said.replace(at, at, size + " ")
    _fix_article(said, at, size)
    return True


# collectives that say how the things stand, kept when they are counted ("a line of seven surfboards")
_ARRANGEMENTS = frozenset("line lines row rows column columns queue circle ring".split())


def recount(said: Said, noun: str, number: str, many: bool, noun_said: str | None, message: str = "") -> bool:
    doc = parse(said.text)
    tok = _noun_token(doc, noun, message)
    if tok is None or many and not number and tok.tag_ == "NNS":
        return False  # "the boats are silver" on "many smaller boats": many already, however many they are
    if many and not number and tok.dep_ == "compound":
        return False  # "the sunflowers are yellow" on "sunflower artwork": a noun before a noun is never plural
    lead = tok  # the phrase's head: "fire" where the parse read "a fire hydrant" as a fire that is hydrant
    if tok.dep_ != "compound" and ends_listed_name(tok):
        lead = doc[tok.i - 1]
    start = lead.i
    # the determiner or number that counts the thing: the first det/nummod/quantity word of its phrase
    k = lead.i - 1
    while (
        k >= 0
        and (
            doc[k].head.i == lead.i
            or doc[k].dep_ in ("amod", "compound", "nummod", "det", "quantmod")
            or doc[k].head.dep_ == "amod"
            and doc[k].head.head.i == lead.i
        )  # "a white and blue train": the colours joined by "and" are the train's; "barely full", "octopus shaped"
        and (doc[k].pos_ not in ("VERB", "ADP", "AUX") or doc[k].dep_ == "amod")  # "a rusted hydrant"
    ):
        k -= 1
    first = k + 1
    colours = _colour_span(doc, tok)
    if colours is not None and colours[0] < first:  # "a red, white, and blue sign": the whole list is the sign's
        first = colours[0]
        if first > 0 and (doc[first - 1].lower_ in ("a", "an", "the", "some") or doc[first - 1].like_num):
            first -= 1  # its article or number, before the list
    # what counts: a number, "a", "some", "several"; "the" and "his" stay ("the two red buses")
    count_toks = [
        t
        for t in doc[first : lead.i]
        if t.dep_ in ("nummod", "quantmod")
        or t.dep_ == "det"
        and t.lower_ != "the"  # "a dog", "this dog", "each dog" -> "two dogs"
        or t.like_num
        or t.lower_ in L.NUMBERS
        or t.lower_ in L.QUANTIFIERS
    ]
    of = lead.i - 1
    while of > 0 and (doc[of].dep_ in ("amod", "compound") or of >= lead.left_edge.i) and doc[of].lower_ != "of":
        of -= 1  # "a group of young elephants", "a lot of white, black and brown sheep": the group's "of" first
    numbered = any(t.like_num or t.lower_ in L.NUMBERS for t in count_toks)  # "a row of 4 mugs": the 4 counts
    counted = all(w.isdigit() or w in L.NUMBERS for w in number.lower().split())  # "three", not "a few"
    arranged = counted and of >= 1 and doc[of - 1].lower_ in _ARRANGEMENTS  # "a row of three trees"
    if of >= 1 and doc[of].lower_ == "of" and doc[of - 1].lower_ in L.COLLECTIVES and not numbered and not arranged:
        # "a group of skiers" -> "2 skiers": the group's words are the count said before (read by their words: the
        # parse may take "a couple of zebra standing" for a couple of standings)
        group = doc[of - 1]
        a = group.i - 1 if group.i >= 1 and doc[group.i - 1].lower_ in ("a", "an", "the") else group.i
        count_toks = list(doc[a : of + 1])
    noun_text = noun_said or (plural(tok.text) if many else singular(tok.text))
    if not many and noun_said is None:
        noun_text = singular(tok.lower_)
    said.replace(tok.idx, tok.idx + len(tok.text), noun_text)
    if count_toks:
        a = count_toks[0].idx
        b = count_toks[-1].idx + len(count_toks[-1].text)
        said.replace(a, b, number)
    else:
        while first < start and (doc[first].dep_ in ("poss", "case", "predet") or doc[first].lower_ in ("the", "all")):
            first += 1  # "his dog" -> "his two dogs", "the buses" -> "the two buses": the count after them ("all the
            # customers" -> "all the 3 customers", not as English says it, "all 3 customers", but no word lost)
        at = _char(doc, first if first <= start else start)
        said.replace(at, at, number + " ")
    return True


def rename(said: Said, old: str, new_said: str, as_said: bool = False) -> bool:
    """The thing called by another noun, keeping its modifiers. A kind renamed in the plural is renamed wherever the
    text names it ('I meant buses' on 'a train is stopped ... next to another train': both trains are buses); 'i
    meant a woman' on 'a man walking past a man' renames the one. `as_said`: the user said both words ('not
    elephants, rhinos'), so each mention keeps its own modifiers ('2 adult rhinos') and where the text has the old
    word as they said it the new one goes in as they said it ('not vegetables, fruit')."""
    doc = parse(said.text)
    tok = _noun_token(doc, old)
    if tok is None:
        return False

    def name(t) -> list[str]:
        return [c.lower_ for c in t.children if c.dep_ == "compound" and c.i < t.i]

    kind = as_said or _says_many(new_said.split()[-1] if new_said.split() else "")
    others = [  # the same thing said again, by the same name ('a glass of wine' is not the 'wine glass' beside it)
        t
        for t in _noun_tokens(doc, old)
        if kind
        and t.i != tok.i
        and t.pos_ in ("NOUN", "PROPN")
        and t.dep_ != "compound"
        and set(name(t)) <= set(name(tok))
        and not ends_listed_name(t)  # "a hot dog" is no dog
    ]
    for t in sorted([tok, *others], key=lambda t: t.i, reverse=True):  # from the end: offsets before stay
        same = as_said and t.lower_ == old.lower()
        _rename_token(said, doc, t, old, new_said, whole=t.i == tok.i, as_said=same, keep_name=as_said)
    return True


def _rename_token(
    said: Said, doc, tok, old: str, new_said: str, whole: bool, as_said: bool = False, keep_name: bool = False
) -> None:
    """One token renamed; `whole`: the thing's own mention, whose compound name goes with it ('a stop sign' ->
    'a billboard') unless `keep_name` ('2 adult elephants' -> '2 adult rhinos'); another mention keeps its
    modifiers ('another train' -> 'another bus')."""
    a = tok.idx
    comp = [
        c for c in tok.children if c.dep_ in ("compound", "amod") and c.i < tok.i and c.pos_ in ("NOUN", "PROPN", "ADJ")
    ]
    comp = [c for c in comp if c.lower_ not in L.COLORS and c.lower_ not in L.SIZES and c.lower_ not in L.MATERIALS]
    if (
        whole
        and comp
        and (len(old.split()) > 1 or len(new_said.split()) == 1 and not keep_name)
        and comp[0].pos_ != "ADJ"
    ):
        a = comp[0].idx
    elif whole and " " not in new_said.strip() and ends_listed_name(tok):
        a = doc[tok.i - 1].idx  # "polar bears" + "i meant penguins": the whole name goes
    new_said = new_said if as_said else _in_number_of(tok, new_said, whole)
    said.replace(a, tok.idx + len(tok.text), new_said)
    _fix_article(said, a, new_said)


def _in_number_of(tok, new_said: str, whole: bool) -> str:
    """The new noun in the number the text gives the old one ('a', 'another', 'one' train: a bus)."""
    *lead, head = new_said.split() or [""]
    one = any(
        c.dep_ in ("det", "nummod") and c.lower_ in ("a", "an", "one", "1", "this", "that", "each", "every", "another")
        for c in tok.children
    )
    if one and head and singular(head) != head and not lead:
        return singular(head)  # "i meant buses" on "a train is stopped": a bus, as the text counts it
    if tok.tag_ == "NNS" and head and not lead and singular(head) == head != plural(head):
        return plural(head)  # "i meant a duck" on "three geese": ducks
    if not whole and lead and head:
        return plural(head) if tok.tag_ == "NNS" else singular(head)  # "another train" -> "another bus"
    return new_said


def _phrase_span(doc, tok) -> tuple[int, int]:
    """The thing's own noun phrase: determiner, modifiers and what follows it, without its conjuncts."""
    sub = [x for x in tok.subtree]
    a, b = sub[0].i, sub[-1].i
    for c in tok.children:
        if c.dep_ in ("conj", "cc") and c.i > tok.i:
            b = min(b, min(x.i for x in c.subtree) - 1)
    return a, b


def _removal_span(doc, tok) -> tuple[int, int]:
    """Token range of a thing with the words attached to it: its phrase, the preposition or participle clause that
    introduced it ('near a frisbee', 'holding a guitar in her lap', 'while staring at his cat', 'and a dog')."""
    tok = _partitive_head(tok)
    v = tok.head
    if (
        tok.dep_ == "dobj"
        and v.tag_ in ("VBN", "VBD")
        and v.dep_ == "conj"
        and tok.left_edge.i == v.i + 1
        and not any(c.dep_ in ("nsubj", "nsubjpass") for c in v.children)
    ):
        tok = v  # "cereal and sliced bananas": a participle the parse made a verb describes the list's item
    conjuncts = [c for c in tok.children if c.dep_ == "conj" and c.i > tok.i]
    if conjuncts:  # "sunglasses and a helmet" without the sunglasses: "a helmet" stays where it was
        a, b = _phrase_span(doc, tok)
        while b > a and doc[b].is_punct:
            b -= 1
        inner = [c for c in tok.children if c.text == "," and a <= c.i < tok.i and doc[c.i - 1].pos_ == "NOUN"]
        if inner and b + 1 < len(doc) and doc[b + 1].text == ",":
            # "a shower, bathrobe, and a toilet", which the parse made one phrase ("a shower" of the bathrobe): the
            # middle item goes with the comma before it
            return inner[-1].i, b + 1
        comma_before = a - 1 >= 0 and doc[a - 1].is_punct
        if tok.dep_ == "appos" and comma_before and doc[b + 1 : b + 2].text.lower() == "and":
            return a - 1, b  # "2 horses, a bird and man" without the bird: "2 horses and man"
        if tok.dep_ == "conj" and b + 1 < len(doc) and doc[b + 1].is_punct:
            # a middle item goes with its comma: "meat, broccoli, and carrots" -> "meat and carrots" when one
            # item is left after it, "meat, rice, and carrots" when more are
            last = not any(c.dep_ == "conj" for c in conjuncts[0].children)
            return (a - 1, b + 1) if last and comma_before else (a, b + 1)
        if tok.dep_ == "conj" and comma_before and b + 1 < len(doc) and doc[b + 1].dep_ == "cc":
            return a - 1, b  # "rice, beans and a lemon" -> "rice and a lemon"
        if tok.dep_ != "conj" and b + 1 < len(doc) and doc[b + 1].is_punct and doc[b + 1].head.i in (tok.i, b):
            return a, b + 1  # the first of "rice, beans and a lemon": "beans and a lemon"
        cc = [c for c in tok.children if c.dep_ == "cc" and c.i > tok.i]
        return a, (cc[0].i if cc else b)
    items = [  # "with cars, a parking meter, a mirror, and flowers": a list the parse made an apposition of, its
        # "and" still to come ("his dog, a golden retriever, playing" is the dog named again)
        c
        for c in tok.children
        if c.dep_ == "appos"
        and c.i > tok.i
        and doc[c.left_edge.i - 1].text == ","
        and any(x.dep_ == "cc" for x in c.subtree)
    ]
    if items and tok.dep_ != "conj":
        return min(x.i for x in tok.subtree if x.i <= tok.i), items[0].left_edge.i - 1
    if tok.dep_ == "conj":  # "a cat and a dog" without the dog: the conjunction before goes too
        a, b = _phrase_span(doc, tok)
        while a - 1 >= 0 and (doc[a - 1].dep_ == "cc" or doc[a - 1].is_punct):
            a -= 1
        if a - 2 >= 0 and [t.lower_ for t in doc[a - 2 : a + 1]] == ["as", "well", "as"]:
            a -= 2  # "... as well as trees in the background"
            while a - 1 >= 0 and doc[a - 1].is_punct:
                a -= 1
        # "2 eggs and a banana on a white countertop": what the last of a list stands on is where they all are
        scene = [
            c
            for c in tok.children
            if c.dep_ == "prep"
            and c.i > tok.i
            and c.lower_ in L.SCENE_PREPOSITIONS
            and not any(x.lower_ in L.PLACEHOLDERS for x in c.children)  # "trees in the background": theirs
            and not any(_region_alone(x) for x in c.children)  # "french fries on the side": theirs
        ]
        # "a bowl, a vase, and a painting sitting on a table": where the last of a list of three or more is, they
        # all are ("a bike loaded with bananas", "an umbrella and a coat hanging on a hook" are the last one's)
        first = _first_item(tok, ("conj",))  # "a keyboard, old smartphone and someone's pizza"
        three = any(x.text == "," for x in doc[first.left_edge.i : tok.i])  # "a bowl, a vase, and a painting"
        doing = [
            c
            for c in tok.children
            if three and c.dep_ == "acl" and c.i > tok.i and c.tag_ in ("VBG", "VBN") and c.lemma_ in L.PLACEMENT_VERBS
        ]
        return a, (min(c.left_edge.i for c in [*scene, *doing]) - 1 if scene or doing else b)
    top = tok
    v = tok.head
    if (
        tok.dep_ in ("nsubj", "nsubjpass")
        and v.dep_ == "ROOT"
        and v.i > tok.i
        and any(c.dep_ in ("nsubj", "nsubjpass") and c.i < tok.left_edge.i for c in v.children)
        and tok.left_edge.i > 0
        and doc[tok.left_edge.i - 1].pos_ in ("NOUN", "PROPN", "ADJ", "ADV", "NUM", "PRON")  # not "with a grey ..."
        and not any(t.tag_ == "VBP" for t in (v, *v.children) if t is v or t.dep_ in ("aux", "auxpass"))
        # "a sheep a goat are standing": two subjects of one plural verb are a list, not two sentences
    ):  # "a boy skis on the snow a netted fence is in the background": a second sentence run on without a stop,
        # which the parse made one clause with two subjects; the thing's sentence goes whole
        b = v.right_edge.i
        while b > tok.i and doc[b].is_punct:
            b -= 1
        return tok.left_edge.i, b
    there = next((c for c in v.children if c.dep_ == "expl" and c.i < v.i), None)
    if (
        tok.dep_ == "attr"
        and v.dep_ == "ROOT"
        and there is not None
        and there.i > 0
        and doc[there.i - 1].pos_ in ("NOUN", "PROPN", "ADJ", "ADV", "NUM", "VERB")
    ):  # "... the floor is tiled there is also a large fridge": the run-on sentence that says it is there
        return there.i, v.right_edge.i
    clause = _marked_clause(doc, tok)
    if clause is not None:  # "while holding an umbrella": the clause goes with its only object
        return clause
    absolute = tok.dep_ in ("nsubj", "nsubjpass") and tok.head.dep_ == "pcomp" and tok.head.head.pos_ == "ADP"
    if absolute:  # "with many people standing around in the background": the whole phrase is about the thing
        top = tok.head.head
    elif tok.dep_ in ("nsubj", "nsubjpass") and tok.head.dep_ in ("advcl", "relcl", "ccomp", "conj", "acl"):
        top = tok.head  # "as a dog watches him": the clause the thing is the subject of
    else:
        while True:
            h = top.head
            if h.i == top.i:
                break
            if top.dep_ in ("pobj", "pcomp") and h.pos_ == "ADP":
                top = h
                continue
            if (
                top.dep_ in ("prep", "agent")
                and h.pos_ == "VERB"
                and (
                    h.dep_ in ("acl", "advcl", "relcl", "xcomp", "pcomp")
                    # "nicely plated and set beside an espresso": the joined verb says nothing else
                    or h.dep_ == "conj"
                    and not any(c.dep_ in ("nsubj", "nsubjpass") for c in h.children)
                )
            ):
                if _only_child_of_content(h, top):
                    top = h
                    continue
            if (
                top.dep_ in ("dobj", "attr", "acomp")
                and h.pos_ in ("VERB", "AUX")
                and (
                    h.dep_ in ("acl", "advcl", "relcl", "xcomp", "pcomp")
                    # "... the counter top is a gray marble there is also a white microwave": a clause that only
                    # says the thing is there
                    or top.dep_ == "attr"
                    and h.dep_ in ("ccomp", "conj")
                    and any(c.dep_ == "expl" for c in h.children)
                )
            ):
                top = h
                continue
            if (
                top.dep_ == "prep"
                and h.pos_ == "ADJ"
                and h.dep_ == "acomp"
                and h.head.dep_ in ("acl", "advcl", "relcl")
                and [c.i for c in h.children] == [top.i]
            ):
                top = h  # "a door which is adjacent to a bathtub": the clause says nothing but where the thing is
                continue
            if (
                top.dep_ == "dobj"
                and h.pos_ == "VERB"
                and h.dep_ == "conj"
                and not any(c.dep_ in ("nsubj", "nsubjpass", "dobj") and c.i != top.i for c in h.children)
            ):
                top = h  # "wearing a red shirt and swinging a racquet": the verb joined by "and" goes with it
                continue
            break
    if top.dep_ == "conj" and top.pos_ == "VERB" and top.i != tok.i:
        a = top.left_edge.i
        while a - 1 >= 0 and (doc[a - 1].dep_ == "cc" or doc[a - 1].is_punct):
            a -= 1
        return a, _before_scene(doc, tok, top, top.right_edge.i)
    passive = _passive_by(top)
    if passive is not None:  # "a man is surrounded by people" without the people: "a man"
        return passive
    top = _multiword_preposition(top)
    sub = list(top.subtree)
    a, b = sub[0].i, sub[-1].i
    joined = [c for c in top.children if c.dep_ == "conj" and c.i > tok.i and c.pos_ == "VERB"]
    # "holding an ice cream and licking it": what points back at the thing goes with it
    joined = [c for c in joined if not any(x.lower_ in ("it", "them", "one") for x in c.subtree)]
    # "wearing a blue jacket and playing soccer" without the jacket: what else he does stays
    own = any(c.dep_ in ("nsubj", "nsubjpass", "mark") for c in top.children)  # "as she walks ...": a clause
    cut = joined[0].left_edge.i - 1 if top.pos_ == "VERB" and top.i != tok.i and joined and not own else len(doc)
    b = min(b, cut)
    for c in top.children:  # "... that has sprinkles on it while another woman watches her": a clause of its own
        if c.dep_ == "advcl" and c.i > tok.i and any(m.dep_ == "mark" for m in c.children):
            b = min(b, c.left_edge.i - 1)
    while b + 1 < len(doc) and (
        a <= doc[b + 1].head.i <= b or doc[b + 1].dep_ == "prt" and doc[b + 1].head.i in (top.i, tok.i)
    ):
        b = min(cut, max(x.i for x in doc[b + 1].subtree))  # what the parse hung after it: "standing around ..."
        if b == cut:
            break
    if (
        b + 1 < len(doc)
        and doc[b + 1].lower_ in L.PARTICLES
        and not list(doc[b + 1].children)
        and (b + 2 == len(doc) or doc[b + 2].is_punct or doc[b + 2].dep_ == "cc")
    ):
        b += 1  # "with a helmet on": a particle with nothing after it belongs to the phrase taken out
    a, b = _with_absolute(doc, tok, a, b)
    if singular(tok.lower_) in L.SCENE_NOUNS:  # "the woman is in the store taking a picture": the woman takes it
        doing = [c for c in tok.children if c.dep_ == "acl" and c.tag_ == "VBG" and c.i > tok.i]
        b = min([b] + [c.left_edge.i - 1 for c in doing])
    return a, (b if absolute else _before_scene(doc, tok, top, b))


def _region_alone(t) -> bool:
    """'the side', 'the middle' said of no place ('on the side', not 'on the side of the road')."""
    return t.dep_ == "pobj" and t.lower_ in _REGIONS and not any(c.lower_ == "of" for c in t.children)


def _with_absolute(doc, tok, a: int, b: int) -> tuple[int, int]:
    """'with boats in view offshore', 'with a grey umbrella opened up': a with-phrase says how the thing is in what
    ends it (an adverb, a participle and its particles), so that goes with it, whatever the parse hung it on."""
    if doc[a].lower_ != "with" and a - 1 >= 0 and doc[a - 1].lower_ == "with" and tok.i >= a:
        if not any(c.dep_ == "pobj" and not a <= c.i <= b for c in doc[a - 1].children):
            a -= 1  # "with" left without its object by a parse that made the thing a subject
    if doc[a].lower_ != "with":
        return a, b
    end = b
    while end + 1 < len(doc) and not doc[end + 1].is_punct:
        t = doc[end + 1]
        if t.pos_ == "ADV" and t.dep_ in ("advmod", "npadvmod") and not list(t.children):
            end += 1
        elif (
            t.tag_ in ("VBN", "VBD", "VBG")
            and end == b
            and all(c.dep_ in ("prt", "advmod") or c.i < t.i for c in t.children)
        ):
            end += 1
        elif t.dep_ == "prt" and end > b:
            end += 1
        else:
            return a, b
    return a, end


def _before_scene(doc, tok, top, b: int) -> int:
    """The end of a removal that climbed into a clause ('riding a horse on the beach'), less the prepositional
    phrases at its end that say where or when the scene is ('on the beach', 'at night'): they belong to the
    picture, not to the thing removed. A phrase that points back ('in her lap', 'behind him') goes with it."""
    verbs, t = [], tok
    while t.i != top.i and t.head.i != t.i:
        t = t.head
        if t.pos_ in ("VERB", "AUX"):
            verbs.append(t)
    # the clause of its own (not the sentence's main verb) the thing is the subject of
    subject_of = tok.head.i if tok.dep_ in ("nsubj", "nsubjpass") and tok.head.dep_ != "ROOT" else None
    kept = [
        c
        for v in verbs
        for c in v.children
        if c.dep_ == "prep"
        and c.i > tok.i
        and not any(x.i == tok.i or x.lower_ in L.POINTING_BACK for x in c.subtree)
        # "while a cat watches from afar", "a large building is in the background": where the thing of a clause
        # is, said of it alone, goes with it; a thing it is on or by ("two women are sitting on a bench") stays
        and not (v.i == subject_of and all(x.dep_ != "pobj" or x.lower_ in L.PLACEHOLDERS for x in c.children))
    ]
    # "reads a book in the park", "under an umbrella on the ground": a place or ground the parse hung on the
    # thing is still where the picture is
    kept += [c for c in tok.children if c.dep_ == "prep" and c.i > tok.i and _where_it_is(c, tok)]
    if not kept:
        return b
    start = min(c.left_edge.i for c in kept)
    spans = {x.i for c in kept for x in c.subtree}
    if start > tok.i and all(i in spans for i in range(start, b + 1)):
        return start - 1
    return b


def _where_it_is(prep, tok) -> bool:
    """Whether a phrase the parse hung on a thing says where the picture is: a kind of place ('reads a book in the
    park'), or the ground under a thing the picture is placed by ('under an umbrella on the ground'); not the ground
    a thing said 'with' lies on ('with surfboards on the sand near them'), nor 'in the background'."""
    if scene_object(prep) is not None:
        return True
    where = _where_noun(prep)
    return where is not None and tok.head.lower_ != "with" and where.lower_ not in L.PLACEHOLDERS


def _passive_by(top) -> tuple[int, int] | None:
    """'is surrounded by a group of people': a passive verb that says nothing but who does it goes with them."""
    verb = top.head
    if top.dep_ != "agent" or verb.pos_ != "VERB" or not any(c.dep_ == "auxpass" for c in verb.children):
        return None
    for c in verb.children:  # what it says after them stays ("... at night"); anything else, it says more
        if c.dep_ not in ("nsubjpass", "aux", "auxpass", "agent", "punct", "neg") and not (
            c.dep_ == "prep" and c.i > top.right_edge.i
        ):
            return None
    aux = [c.i for c in verb.children if c.dep_ in ("aux", "auxpass", "neg")]
    return min(aux), top.right_edge.i


def _only_child_of_content(verb, prep) -> bool:
    """Whether the verb says nothing but this phrase ('standing by a fence'; not 'tied up with 2 people')."""
    return not any(
        c.dep_ in ("dobj", "attr", "prep", "advmod", "npadvmod", "prt") and c.i != prep.i for c in verb.children
    )


def _partitive_head(tok):
    """'lettuce' in 'a lot of lettuce' -> 'lot': the phrase to take out is the measure's."""
    h = tok.head
    if any(c.dep_ == "conj" for c in tok.children):  # "a stack of books and papers": the papers stay stacked
        return tok
    if tok.dep_ == "pobj" and h.lower_ == "of" and h.head.lower_ in L.PARTITIVES and h.head.i < tok.i:
        return h.head
    return tok


def _multiword_preposition(top):
    """'to' of 'next to' -> 'next'; 'of' of 'in front of' -> 'in': the whole preposition goes with its object."""
    h = top.head
    if top.dep_ == "prep" and h.lower_ in L.PREPOSITION_LEADS and h.i == top.i - 1:
        if h.lower_ in ("front", "top") and h.dep_ == "pobj" and h.head.i >= h.i - 2 and h.head.pos_ == "ADP":
            return h.head  # "in front of", "on top of"
        if h.lower_ not in ("front", "top") and h.pos_ in ("ADV", "ADJ", "ADP"):
            return h
    return top


def _marked_clause(doc, tok) -> tuple[int, int] | None:
    """'while holding an umbrella', 'as he carries a bag': a clause whose verb has this thing as its only object."""
    if tok.dep_ != "dobj":
        return None
    verb = tok.head
    marks = [c for c in verb.children if c.dep_ == "mark" and c.i < verb.i]
    if not marks or marks[0].i == 0:
        return None
    content = [c for c in verb.children if c.dep_ not in ("mark", "aux", "neg", "advmod", "nsubj") and c.i != tok.i]
    if content:
        return None
    a = marks[0].i
    b = max(x.i for x in tok.subtree)
    if b + 1 < len(doc) and not doc[b + 1].is_punct:
        return None
    while a - 1 >= 0 and doc[a - 1].is_punct:
        a -= 1
    return a, b


_NP_MODS = frozenset({"det", "predet", "amod", "compound", "nummod", "quantmod", "poss", "nmod", "advmod"})


def remove(said: Said, noun: str) -> bool:
    doc = parse(said.text)
    tok = _noun_token(doc, noun)
    if tok is None:
        return False
    while tok.dep_ == "compound" and tok.head.lower_ in L.KIND_HEADS and tok.head.i > tok.i and len(noun.split()) == 1:
        tok = tok.head  # "no espresso" on "beside an espresso beverage": the beverage is the espresso (a coffee mug
        # is no coffee)
    subjects = [t for t in doc if t.dep_ in ("nsubj", "nsubjpass", "ROOT") and t.head.dep_ == "ROOT"]
    main = tok.i == 0 or (tok in subjects and tok.dep_ != "conj" and tok.i == min(t.i for t in subjects))
    if main and not any(c.dep_ == "conj" and c.i > tok.i for c in tok.children):
        # the main thing heads the description: only its own noun phrase goes, what is said after it stays ("a boat
        # on the water" -> "on the water"); CLIP is never asked for the thing it is told to avoid
        a = tok.i
        for c in sorted((c for c in tok.children if c.i < tok.i), key=lambda c: -c.i):
            listed = c.text == "," and doc[c.i - 1].dep_ == "amod"  # "a large, yellow sign": the list's comma
            if c.dep_ not in _NP_MODS and not listed or c.right_edge.i != a - 1:
                break  # "on the beach, a man ...": a phrase before the thing is the scene's
            a = c.left_edge.i
        b = tok.i
        if b + 2 < len(doc) and doc[b + 1].lower_ == "of" and doc[b + 1].head.i == tok.i:
            b += 1  # "a bowl of fruit on a table" without the bowl: "fruit on a table"
        elif a == 0 and b + 2 < len(doc) and doc[b + 1].lower_ == "with" and doc[b + 1].head.i == tok.i:
            b += 1  # "a man with a dog" without the man: "a dog", what he had is the picture now
        said.replace(_char(doc, a), _end(doc, b), "")
        return True
    verb = tok.head
    alone = not any(c.dep_ == "conj" for c in tok.children) and tok.dep_ != "conj"
    if tok.dep_ in ("nsubj", "nsubjpass") and verb.dep_ == "conj" and verb.i > tok.i and alone:
        # "... and the television is on" without the tv: the clause it is the subject of goes, with its "and"
        a = tok.left_edge.i
        if a > 0 and doc[a - 1].dep_ == "cc":
            a -= 1
        said.replace(_char(doc, a), _end(doc, verb.right_edge.i), "")
        return True
    a, b = _removal_span(doc, tok)
    words = noun.lower().split()
    if len(words) > 1 and _named_by(doc, tok, words):
        if tok.i - len(words) + 1 < a:  # "next to a fire hydrant" however the parse hung "fire": the phrase goes
            a = tok.i - len(words) + 1
            while a > 0 and doc[a - 1].pos_ == "DET":
                a -= 1
            m = _ENDS_WITH_MULTI_PREP.search(doc[:a].text) if a > 0 else None
            if m is not None:
                a = next(t.i for t in doc if t.idx >= m.start())
            elif a > 0 and doc[a - 1].lower_ in L.LOCATIVE:
                a -= 1
    if singular(tok.lower_) not in L.SCENE_NOUNS:  # a participle after a place is what the thing in it does
        a, b = _with_participle(doc, tok, a, b)
    says = next((k for k in range(b - 1, min(b + 3, len(doc))) if k > a and doc[k].lower_ in L.WRITING_VERBS), None)
    if says is not None and doc[says - 1].lower_ in ("that", "which") and says >= b:
        # "a caption that reads don't look now": what it says goes with it, however the parse hung the words
        b = next((t.i - 1 for t in doc[says + 1 :] if t.is_punct), len(doc) - 1)
    if doc[a].lower_ == "with":
        # the first of a list keeps the list's "with", the span ending at the list's "and" or comma: "with people
        # shopping and a bike" -> "with a bike", "with boats and a bridge crossing it" -> "with a bridge ...", "with
        # pots, a kettle, and plates" -> "with a kettle, and plates"
        seps = ((b + 1, lambda t: t.dep_ == "cc"), (b, lambda t: t.dep_ == "cc"), (b + 1, lambda t: t.text == ","))
        sep = next(
            (k for k, is_sep in seps if k + 1 < len(doc) and is_sep(doc[k]) and doc[k + 1].pos_ in ("DET", "NOUN")),
            None,
        )
        if sep is not None:
            a, b = a + 1, sep
    if a == 0 and b >= len(doc) - 1:
        return False
    if a > 0 and doc[a - 1].dep_ == "cc" and (b == len(doc) - 1 or doc[b + 1].is_punct):
        a -= 1  # "a wooden floor and stainless steel countertops" (misparsed apart): the "and" goes too
    if a > 1 and doc[a].lower_ in ("to", "of", "from") and doc[a - 1].lower_ in L.PREPOSITION_LEADS:
        if doc[a - 1].lower_ not in ("front", "top"):
            a -= 1  # "next to", "close to", "far from": one preposition
        elif doc[a - 2].lower_ in ("in", "on"):
            a -= 2  # "in front of", "on top of"; "the top of a kite" is a thing
    at_end = b == len(doc) - 1 or doc[b + 1].is_punct
    while (
        at_end
        and a > 1
        and (doc[a - 1].lemma_ == "be" and doc[a - 1].pos_ == "AUX" or doc[a - 1].lower_ in L.CLAUSE_OPENERS)
    ):
        a -= 1  # "2 dogs are in the kitchen", "... on a snowboard while on the mountain": no word left waiting
    for link in (["as", "well", "as"], ["along", "with"], ["together", "with"]):  # "..., as well as a stop sign"
        for end in (a, a + 1):  # the link's last word may be in the span already (the parse's "as" or "with")
            if end - len(link) >= 0 and [t.lower_ for t in doc[end - len(link) : end]] == link:
                a = end - len(link)
                break
    comma = _comma_before_last_left(doc, tok, a, b)
    said.replace(_char(doc, a), _end(doc, b), "")
    if comma is not None:  # "a lamp, an old radio and a kettle" without the kettle: "a lamp and an old radio"
        said.replace(_char(doc, comma), _end(doc, comma), " and")
    return True


def _first_item(tok, deps: tuple[str, ...]):
    """The first item of the list `tok` is in, following the parse's `deps` links back."""
    while tok.dep_ in deps and tok.head.i < tok.i:
        tok = tok.head
    return tok


def _comma_before_last_left(doc, tok, a: int, b: int) -> int | None:
    """The comma before the item a list ends with once the last item and its "and" (tokens a..b) are gone ("a lamp,
    an old radio and a kettle", "rice, beans, and a lemon"); None when no item of three or more is left alone."""
    if tok.dep_ != "conj" or not any(doc[k].dep_ == "cc" for k in range(a, b + 1)):
        return None
    first = _first_item(tok, ("conj", "appos"))  # "a man, a woman and a child": the middle one an apposition
    items = [first, *(t for t in first.subtree if t.dep_ in ("conj", "appos") and first.i < t.i < tok.i)]
    items.sort(key=lambda t: t.i)
    k = items[-1].left_edge.i - 1 if len(items) >= 2 else -1
    return k if k > first.i and doc[k].text == "," and k < a else None


def _with_participle(doc, tok, a: int, b: int) -> tuple[int, int]:
    """A participle right after the thing says what the thing does ('a skateboard resting on a rail', 'the tv
    turned on', 'artwork attached to them'), whatever the parse hung it on: it goes too when it ends the sentence."""
    if b + 1 >= len(doc):
        return a, b
    v = doc[b + 1]
    if v.pos_ != "VERB" or v.tag_ not in ("VBN", "VBG", "VBD") or not (v.head.i < a or v.i == tok.head.i):
        return a, b
    if tok.dep_ == "conj" and v.head.i == tok.head.i:
        return a, b  # "a man and woman sitting at a table": what both do stays with the man
    end = v.right_edge.i
    if end + 1 < len(doc) and not doc[end + 1].is_punct:
        return a, b
    if any(c.dep_ in ("nsubj", "nsubjpass") and c.i != tok.i and c.i > a for c in v.children):
        return a, b  # a clause with a subject of its own
    while a - 1 >= 0 and doc[a - 1].dep_ == "cc":
        a -= 1  # "and the tv turned on"
    return a, end


# --- setting phrases -------------------------------------------------------------------------------------------

_SETTING_WORDS = {"time": L.TIME_WORDS, "season": L.SEASONS, "weather": L.WEATHER}
_CANONICAL = {"time": L.TIME_PHRASE, "season": L.SEASON_PHRASE, "weather": L.WEATHER_PHRASE, "place": {}}
_PREPOSITION = (
    r"(?:at|in|on|during|under|by|near|beside|inside|outside|through|over|into|onto|around|across|along|from)\b"
)
_PREP = re.compile("^" + _PREPOSITION, re.I)
MULTI_PREPOSITION = r"(?:next\s+to|in\s+front\s+of|on\s+top\s+of|close\s+to|away\s+from|out\s+of|far\s+from)"
_MULTI_PREP = re.compile("^" + MULTI_PREPOSITION + r"\b", re.I)
_ENDS_WITH_MULTI_PREP = re.compile(MULTI_PREPOSITION + r"\s*$", re.I)


def _describes_a_thing(t) -> bool:
    """'winter gear', 'a snow covered path': a setting word that says what a thing is like, not when or how the
    picture was taken."""
    if t.dep_ == "npadvmod" and t.head.dep_ == "amod":
        return True  # "a snow covered path"
    return (
        t.dep_ in ("amod", "compound")
        and t.head.pos_ in ("NOUN", "PROPN")
        and t.head.lower_ not in L.SETTING_HEADS
        and t.lower_ in L.SEASONS
    )


def _setting_span(doc, slot: str, value: str | None, place: str | None) -> tuple[int, int] | None:
    """Token range of the phrase that says this setting value, with its preposition ('on a sunny day')."""
    if slot == "place" and place:
        low = [t.lower_ for t in doc]
        want = place.lower().split()
        for s in range(len(low) - len(want) + 1):
            if low[s : s + len(want)] == want:
                return s, s + len(want) - 1
        return None
    words = _SETTING_WORDS.get(slot, {})
    hits = [t for t in doc if words.get(t.lower_) == value and not _describes_a_thing(t)]
    if not hits:
        for phrase, v in words.items():  # multi-word times: "golden hour", "crack of dawn"
            parts = phrase.split()
            if len(parts) > 1 and v == value:
                low = [t.lower_ for t in doc]
                for s in range(len(low) - len(parts) + 1):
                    if low[s : s + len(parts)] == parts:
                        hits = [doc[s + len(parts) - 1]]
                        break
    if not hits:
        return None
    t = hits[0]
    top = t
    while (
        top.dep_ in ("amod", "compound", "nmod", "npadvmod")
        and top.head.i != top.i
        and top.head.pos_ in ("NOUN", "PROPN")
    ):
        top = top.head
    end = top.i  # the phrase ends at its noun: "on a sunny day under blue skies" keeps "under blue skies"
    nxt = doc[end + 1] if end + 1 < len(doc) else None
    if nxt is not None and nxt.lower_ in _WHERE_ADVERBS and not any(c.dep_ == "pobj" for c in nxt.children):
        end += 1  # "with clouds below", "with snow all around"
    if top.dep_ == "pobj" and top.head.pos_ == "ADP":
        top = top.head
    while (  # "in the middle of the day", "during the dusk part of the day": the part of the day is the phrase
        slot == "time"
        and top.lower_ == "of"
        and top.head.pos_ == "NOUN"
        and top.head.dep_ == "pobj"
        and top.head.head.pos_ == "ADP"
    ):
        top = top.head.head
    a = list(top.subtree)[0].i
    while a > 0 and doc[a - 1].lower_ in L.TIME_DEGREES:
        a -= 1  # "early in the morning", "late at night": the phrase goes whole
    return a, max(end, t.i)


_POINTING = frozenset({"it", "them", "him", "her", "us"})
_BEYOND = frozenset({"sky", "skies", "air", "distance", "background", "foreground", "horizon"})
_WHERE_ADVERBS = frozenset({"above", "below", "overhead", "beneath", "around", "behind", "nearby", "outside", "ahead"})


_REGIONS = frozenset(
    {"side", "edge", "middle", "front", "top", "bottom", "center", "centre", "corner", "shore", "banks"}
)


def _says_where(span) -> bool:
    """Whether a phrase the typed view took for the place says where the picture is ('on flat ground', 'in the
    middle of an abandoned building'), not where a thing is ('on a laptop', 'in outfits', 'next to a dish')."""
    nouns = [t for t in span if t.pos_ in ("NOUN", "PROPN")]
    areas = _REGIONS - {"top", "front", "bottom"}  # "on top of", "in front of" say where a thing is
    return any(singular(t.lower_) in L.SCENE_NOUNS | L.GROUND_NOUNS or t.lower_ in areas for t in nouns)


def scene_object(prep):
    """The kind of place a prepositional phrase names, or None: 'in the living room' -> room, 'by the side of a
    lake' -> lake, 'next to a fence' -> None."""
    obj = next((c for c in prep.children if c.dep_ == "pobj"), None)
    if obj is not None and obj.lower_ in _REGIONS:  # "on a busy street corner": the street's corner
        kind = next((c for c in obj.children if c.dep_ == "compound" and singular(c.lower_) in L.SCENE_NOUNS), None)
        if kind is not None:
            return kind
    while obj is not None and obj.lower_ in _REGIONS:
        of = next((c for c in obj.children if c.dep_ == "prep" and c.lower_ == "of"), None)
        obj = next((c for c in of.children if c.dep_ == "pobj"), None) if of is not None else None
    if obj is None or singular(obj.lower_) not in L.SCENE_NOUNS:
        return None
    return obj


def _scene_span(doc, prep_word: str | None) -> tuple[int, int] | None:
    """The phrase that says where the picture is ('on a pier', 'by the side of a lake'): the one with the same
    preposition as the new place if there is one, else the last."""
    found = []
    for t in doc:
        obj = scene_object(t) if t.pos_ == "ADP" and (t.lower_ in L.LOCATIVE or t.lower_ in ("down", "up")) else None
        if obj is not None:
            end = max([obj.i] + [c.i for c in obj.children if c.i > obj.i and c.dep_ in ("compound", "amod")])
            if obj.dep_ == "compound" and obj.head.lower_ in _REGIONS:
                end = max(end, obj.head.i)  # "on a busy street corner": to the corner
            found.append((t, end))
    if not found:
        return None
    same = [f for f in found if f[0].lower_ == prep_word]
    t, end = (same or found)[-1]
    return t.i, end


_HOLIDAY = re.compile(
    r"^(?:at|on|for|during|over|around)\s+(?:"
    + "|".join(re.escape(h) for h in sorted(L.HOLIDAYS, key=len, reverse=True))
    + r")(?:\s+(?:time|season|instead|rather))*[\s,.!?]*$",  # "at christmas time"; "on easter island" is a place
    re.I,
)


def swap_setting(said: Said, slot: str, old_value, old_place, new_phrase: str, instead: bool = False) -> bool:
    """The phrase that says the old setting value replaced by `new_phrase`; `instead`: the message said it replaces
    ('in a forest instead'), so a place goes where the old place phrase was even if that names no kind of place."""
    if slot == "place" and _HOLIDAY.search(new_phrase) and not _HOLIDAY.search(str(old_place or old_value)):
        return False  # "but at christmas" on "sitting in a restaurant": when, beside where
    doc = parse(said.text)
    span = _setting_span(doc, slot, old_value, old_place)
    if slot == "place" and new_phrase.lower() in L.PLACE_ADVERBS:  # "indoors rather" on "... outside"
        old = [t for t in doc if t.lower_ in L.PLACE_ADVERBS and not any(c.dep_ == "pobj" for c in t.children)]
        if old:
            said.replace(_char(doc, old[-1].i), _end(doc, old[-1].i), new_phrase.lower())
            return True
        if not instead or span is None:
            return False  # "outside" on "a boat on a lake": where it is said another way, beside the lake
        a, b = span
        while a > 0 and doc[a - 1].pos_ in ("ADP", "DET"):
            a -= 1  # "indoors instead" on "on a lake": the lake's phrase goes whole
        said.replace(_char(doc, a), _end(doc, b), new_phrase.lower())
        return True
    if slot == "place" and new_phrase:
        new_doc = parse(new_phrase)
        if new_doc[0].pos_ == "ADP" and not instead and any(t.lower_ in _BEYOND for t in new_doc):
            return False  # "under a cloudy sky", "in the background" on "in a field": both, not one for the other
        if new_doc[0].pos_ == "ADP" and scene_object(new_doc[0]) is not None:
            # a kind of place replaces where the picture is ('on a beach' for 'on a pier'), never a thing's phrase
            # ('on a leash'): with no place in the text it joins it
            scene = _scene_span(doc, new_doc[0].lower_)
            if scene is None and not (instead and span is not None and _says_where(doc[span[0] : span[1] + 1])):
                return False  # "in a cafe instead" on "working on a laptop": the laptop's phrase stays
            span = scene or span
        elif new_doc[0].pos_ == "ADP" and instead and (scene := _scene_span(doc, new_doc[0].lower_)) is not None:
            # "at a food truck rather" on "at a diner near the street": the kind of place said with the same
            # preposition, not the last phrase the typed view took for the place
            same = doc[scene[0]].lower_ == new_doc[0].lower_
            if same and (span is None or doc[span[0]].lower_ != new_doc[0].lower_):
                span = scene
    if span is None or not new_phrase:
        return False
    if slot == "place" and not instead and not _says_where(doc[span[0] : span[1] + 1]):
        return False  # "under the lights" on "in a game of baseball": a game is no place to replace
    old_scene = any(singular(t.lower_) in L.SCENE_NOUNS for t in doc[span[0] : span[1] + 1] if t.pos_ == "NOUN")
    if slot == "place" and not instead and old_scene and not _PREP.match(new_phrase):
        return False  # "next to a stop sign" on "on a street": where the man stands on the street, beside it
    a, b = span
    old = doc[a : b + 1].text
    degree = new_phrase.split()[0].lower() in L.TIME_DEGREES and _PREP.match(" ".join(new_phrase.split()[1:]))
    if not _PREP.match(new_phrase) and not _MULTI_PREP.match(new_phrase) and not degree:  # "late at night": whole
        m = _PREP.match(old)
        if m and slot == "time" and (timed := time_said(new_phrase)) and not _DAY_PHRASE.match(new_phrase):
            new_phrase = timed  # "at night" + "make it early morning": "in the early morning"
        elif m:  # "at night" + "make it a rainy day": "on a rainy day"; "on a cloudy day" + "early morning": "in"
            prep = "on" if _DAY_PHRASE.match(new_phrase) else m.group(0).lower()
            said_time = next((L.TIME_WORDS[w] for w in new_phrase.lower().split() if w in L.TIME_WORDS), None)
            if prep == "on" and slot == "time" and not _DAY_PHRASE.match(new_phrase) and said_time in L.TIME_PHRASE:
                prep = L.TIME_PHRASE[said_time].split()[0]
            new_phrase = f"{prep} {new_phrase}"
    elif not _PREP.match(old) and a > 0 and doc[a - 1].pos_ == "ADP":
        a -= 1  # "on a street" -> "next to a stop sign": the old preposition goes with the old place
    was, now = doc[a : b + 1].text.split(), new_phrase.split()
    if (
        min(len(was), len(now)) >= 3
        and [was[0].lower(), was[-1].lower()] == [now[0].lower(), now[-1].lower()]
        and now[1].lower() in ("a", "an", "the")
        and was[1].lower() in ("this", "that")
    ):
        new_phrase = " ".join([was[0], was[1], *now[2:]])  # "on this rainy morning" + "on a sunny morning": "this"
    said.replace(_char(doc, a), _end(doc, b), new_phrase)
    return True


def swap_adjective(said: Said, slot: str, old_value, word: str) -> bool:
    """A setting said as an adjective of a thing ('on this rainy morning', 'a snowy street corner') swapped for the
    message's own adjective of the same kind ('snowy instead'), where it stands."""
    if word not in _SETTING_WORDS.get(slot, {}):
        return False
    doc = parse(said.text)
    words = _SETTING_WORDS[slot]
    # old_value None: the text's own adjective of this kind, whatever it says ('a snowy street corner', which the
    # typed view reads as the corner's, for 'rainy instead')
    old = next((t for t in doc if t.lower_ in words and old_value in (None, words[t.lower_])), None)
    if old is None or old.dep_ != "amod" or old.head.pos_ not in ("NOUN", "PROPN") or old.head.lower_ in words:
        return False
    if parse(f"a {word} street")[1].pos_ != "ADJ":
        return False  # "snow instead": a noun, said as its own phrase
    said.replace(_char(doc, old.i), _end(doc, old.i), word)
    return True


def remove_setting(said: Said, slot: str, old_value, old_place) -> bool:
    doc = parse(said.text)
    span = _setting_span(doc, slot, old_value, old_place)
    if span is None or (span[0] == 0 and span[1] >= len(doc) - 1):
        return False
    b = span[1]
    if b + 2 < len(doc) and doc[b + 1].pos_ == "ADP" and doc[b + 2].lower_ in _POINTING:
        span = (span[0], b + 2)  # "with snow around it": what points back at the thing goes with the snow
    said.replace(_char(doc, span[0]), _end(doc, span[1]), "")
    return True


# a part of a day said with what it was like, with no preposition: "a rainy day", "this sunny morning"
_DAY_PHRASE = re.compile(r"^(?:a|an|the|this|one)\s+(?:\w+\s+){1,2}(?:day|morning|afternoon|evening|night)$", re.I)


_NEW_DAY = re.compile(
    r"^(?:(?:make|have)\s+(?:it|that|them)\s+(?:be\s+)?|(?:but\s+)?)(?:on\s+)?(?P<day>(?:a|an)\s+(?:[a-z-]+\s+){1,2}day)"
    r"(?P<instead>[\s,]+(?:instead|rather))?$",
    re.I,
)
_OLD_DAY = re.compile(r"\b(?:on|during)\s+(?:a|an|the|this)\s+(?:[a-z-]+,?\s+){1,3}day\b", re.I)


# what "with a ..." can name that is no thing in the picture: "with a different one", "with a few more"
_NO_THING = frozenset("one ones other another different more few kind sort version angle look style way".split())


def _thing_with(message: str) -> str | None:
    """The message as a with-phrase that names a thing ('with a remote next to him'), or None: a with-phrase is the
    user's words even when the reader found no thing in it (the tagger took "remote" for an adjective)."""
    addition = as_addition(message)
    m = re.match(r"^with\s+", addition, re.I)
    if m is None or not _A_THING.match(addition[m.end() :]):
        return None
    words = re.findall(r"[a-z]+", addition[m.end() :].lower())[1:3]  # the two words after the article
    if not words or any(w in _NO_THING or w in L.PICTURE_WORDS or w in L.PLACEHOLDERS for w in words):
        return None
    return addition


def _weather_day(phrase: str) -> bool:
    """Whether a day phrase says what the day is like ('a gloomy day', 'a sunny cloud free day'; not 'a school day')."""
    return any(w in L.WEATHER or w in L.DAY_WEATHER for w in re.findall(r"[a-z]+", phrase.lower()))


def _day_swapped(phrases: list[str], message: str) -> list[str] | None:
    """The phrases with their one day phrase replaced by the message's ('on a gloomy day instead', 'make it a windy
    day' on '... on a nice day'), or None: a day said in place of a day, whichever weather or light words each has."""
    said = strip_framing(message)
    m = _NEW_DAY.match(said)
    instead = m is not None and (m.group("instead") or re.search(r"\b(?:instead|rather)\b", message, re.I))
    if m is None or not (instead or re.match(r"^\W*(?:(?:ok|okay|and|now)\W+)?(?:make|have)\s", message, re.I)):
        return None
    old = [(i, x) for i, p in enumerate(phrases) for x in _OLD_DAY.finditer(p)]
    if len(old) != 1 or not (_weather_day(m.group("day")) and _weather_day(old[0][1].group(0))):
        return None  # "make it an autumn day" on "a rainy day" is the season, the rain stays
    i, x = old[0]
    day = m.group("day")
    out = list(phrases)
    out[i] = f"{phrases[i][: x.start()]}on {day}{phrases[i][x.end() :]}"
    return out


def _said_already(text: str, phrase: str) -> bool:
    """Whether the text says this setting phrase as a phrase of its own ('in winter' is not in 'in winter gear',
    where its last word modifies the noun after it)."""
    m = re.search(rf"(?<![\w']){re.escape(phrase.lower())}(?![\w'])", text.lower())
    if m is None:
        return False
    doc = parse(text)
    last = next((t for t in doc if t.idx < m.end() <= t.idx + len(t.text)), None)
    return not (last is not None and last.dep_ in ("compound", "amod", "nmod") and last.head.i > last.i)


def on_day(phrase: str) -> str:
    """'a rainy day' joins a description as 'on a rainy day'; anything else as said."""
    return f"on {phrase}" if _DAY_PHRASE.match(phrase) else phrase


def time_said(phrase: str) -> str | None:
    """A bare time of day with the preposition English gives it: 'noon' -> 'at noon', 'early morning' -> 'in the early
    morning', 'daytime' -> 'during the daytime'; None for anything else."""
    words = phrase.strip().split()
    degree = words[:1] if len(words) > 1 and words[0].lower() in L.TIME_DEGREES else []
    core = " ".join(words[len(degree) :]).lower()
    prep = L.TIME_PREPOSITION.get(core)
    return None if prep is None else " ".join([prep, *words] if prep else words)  # "after dark" needs none


def setting_phrase(message: str, slot: str, value, place: str | None, new_place: bool = False) -> str:
    """The phrase of the message that says the new setting value, as said ('at sunrise', 'a rainy day');
    `new_place`: the picture had no place, so 'outdoors, on a patio' is said whole."""
    text = strip_framing(message)
    if slot == "place" and place and place.lower() in text.lower():
        m = re.match(rf"^({alternation(L.PLACE_ADVERBS)})[\s,]+{re.escape(place)}", text, re.I) if new_place else None
        return f"{m.group(1)} {place}" if m else place
    text = re.sub(r"\s*\b(?:instead\s+of|rather\s+than)\b.*$", "", text).strip(" ,")  # "night instead of day"
    text = re.sub(r"^not\s+[^,;]+[,;]\s*", "", text)  # "not during the day, at night"
    text = re.sub(r"^to\s+", "", text)  # "switch to night"
    text = re.sub(r"^(?:(?:and|plus|&|\+)\s+)?(?:also\s+)?", "", text, flags=re.I)  # "and at night": nothing joined
    text = LEADING_HEDGE.sub("", text)  # "definitely at night", "probably night": how sure, not when
    if slot == "time" and (timed := time_said(re.sub(r"^the\s+", "", text.strip(), flags=re.I))):
        return timed  # "the middle of the night", "the crack of dawn": said whole
    doc = parse(text)
    span = _setting_span(doc, slot, value, place)
    phrase = text if span is None else doc[span[0] : span[1] + 1].text
    of = slot == "weather" and phrase.lower().startswith("of ")
    head = text[: text.lower().rfind(phrase.lower())] if of else ""
    head = _YES_LEAD.sub("", head).strip(" ,")
    if head and len(head.split()) <= 3 and not _PREP.match(head):  # "a lot of clouds": the clouds, as many as said
        return f"with {head} {phrase}"
    if slot == "weather":
        phrase = re.sub(r"^the\s+(?=\w+$)", "", phrase, flags=re.I)  # "how about the snow": snow, said as snow is
    if slot == "time" and not _PREP.match(phrase) and (timed := time_said(phrase)):
        return timed  # "make it noon": "at noon", never "during the noon"
    bare = _SETTING_WORDS.get(slot, {}).get(phrase.lower()) == value
    if bare and not _PREP.match(phrase):  # "make it night": a bare word, said the way the setting is said
        canonical = _CANONICAL[slot].get(str(value), phrase)
        if phrase.lower() != str(value) and re.search(rf"\b{re.escape(str(value))}\b", canonical):
            return re.sub(rf"\b{re.escape(str(value))}\b", phrase.lower(), canonical)  # "make it dusk": "at dusk"
        return canonical
    return phrase


# --- one turn --------------------------------------------------------------------------------------------------


_DETERMINER = r"(?:a|an|the|some|his|her|their|its|my)\s+"
_ARTICLE = re.compile("^" + _DETERMINER, re.I)


def replace_words(phrases: list[str], old: str, new: str) -> list[str] | None:
    """_replace_words, with the preposition before a new kind of place made to fit it ('not the beach, a studio' on
    'posing on a beach': 'posing in a studio')."""
    bare = _ARTICLE.sub("", new.strip(" ,.;:!")).strip()
    out = _rename_noun(phrases, _ARTICLE.sub("", old.strip(" ,.;:!")).strip(), bare)
    out = out if out is not None else _replace_words(phrases, old, new)
    head = singular(bare.split()[-1].lower()) if bare.split() else ""
    fit = "on" if head in L.ON_ONLY_SCENES else "in" if head in L.SCENE_NOUNS - L.ON_SCENES else None
    if out is None or fit is None or _PREP.match(new.strip()):
        return out
    said = Said.of(out)
    m = re.search(rf"\b(on|in)\s+(?:{_DETERMINER})?{re.escape(bare)}\b", said.text, re.I)
    if m and m.group(1).lower() != fit:
        said.replace(m.start(1), m.end(1), fit)
    return said.phrases()


def _rename_noun(phrases: list[str], old: str, new: str) -> list[str] | None:
    """One noun for another wherever the text names the thing, in its number there ('not elephants, rhinos' on '2
    adult elephants playing with a younger elephant'); None unless both are one word and the old one is a noun."""
    if len(old.split()) != 1 or len(new.split()) != 1 or _number_word(old) or _number_word(new):
        return None
    if _PREP.match(new) or old.lower() in L.COLORS or new.lower() in L.COLORS:
        return None
    said = Said.of(list(phrases))
    doc = parse(said.text)
    found = _noun_tokens(doc, old)
    if not found or any(t.pos_ not in ("NOUN", "PROPN") for t in found):
        return None
    rename(said, old, new, as_said=True)
    return said.phrases()


def _replace_words(phrases: list[str], old: str, new: str) -> list[str] | None:
    """The phrases with the words `old` replaced by `new` where they stand, keeping the description's own article
    ('the bagel' -> 'the croissant' for "a croissant, not a bagel") and taking its preposition when `new` brings one
    ('in a restaurant' -> 'in his kitchen'); None when the phrases do not have those words."""
    bare, fresh = _ARTICLE.sub("", old.strip(" ,.;:!")).strip(), new.strip(" ,.;:!")
    if _number_word(bare) and fresh and _number_word(fresh.split()[0]):
        fresh = fresh.split()[0]  # "3 instead of 2", "4 women instead of 2": the number where it stands
        n = L.NUMBERS.get(bare.lower()) if not bare.isdigit() else int(bare)
        forms = {bare, str(n), L.number_word(n)} if n is not None else {bare}
        either = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))  # "three instead of two": "2"
        m = re.search(rf"(?<![\w'.])(?:{either})(?![\w'.])", " ".join(phrases), re.I)
        if m is None:
            return None
        said = Said.of(list(phrases))
        said.replace(m.start(), m.end(), fresh)
        return said.phrases()
    if len(bare) < 2 or not fresh or bare.lower() == _ARTICLE.sub("", fresh).lower():
        return None
    prep = _PREP.match(fresh) is not None and _PREP.match(bare) is None
    pattern = re.compile(
        (r"(?<![\w'])(?P<prep>" + _PREPOSITION + r"\s+)?" if prep else r"(?<![\w'])")
        + r"(?P<art>"
        + _DETERMINER
        + r")?"
        + re.escape(bare)
        + r"(?![\w'])",
        re.I,
    )
    aligned = _replace_in_context(phrases, bare, fresh)
    if aligned is not None:
        return aligned
    if fresh.split()[0].lower() in L.LOCATIVE:
        pp = _replace_phrase_with(phrases, bare, fresh)
        said_in = re.match(rf"^{_PREPOSITION}\s+(?:{_DETERMINER})?(?P<what>.+)$", bare, re.I)
        if pp is None and said_in:  # "on a hillside rather than in a field" on "in a large field"
            pp = _replace_phrase_with(phrases, said_in.group("what"), fresh)
        if pp is not None:
            return pp
    for k, phrase in enumerate(phrases):
        m = pattern.search(phrase)
        if m is None:
            continue
        if prep and m.group("prep"):
            word = fresh  # "in his kitchen" for "in a restaurant"
        else:
            word = (m.group("art") or "") + _ARTICLE.sub("", fresh)
        said = Said.of(list(phrases))
        at = sum(len(p) + 1 for p in phrases[:k]) + m.start()
        said.replace(at, at + len(m.group(0)), word)
        if m.group("art") and not (prep and m.group("prep")):  # "an apple, not a banana": "an apple"
            art = re.match(r"(a|an)\s+", word, re.I)
            if art:
                want = "an" if word[art.end() : art.end() + 1].lower() in "aeiou" else "a"
                said.replace(at, at + len(art.group(1)), want)
        return said.phrases()
    return None


def _number_word(word: str) -> bool:
    return word.isdigit() or word.lower() in L.NUMBERS


_MAX_CONTEXT = 8


def _replace_in_context(phrases: list[str], old: str, new: str) -> list[str] | None:
    """`new` said with the description's own words around the change ('with fall leaves around it' instead of
    'snow' in 'with snow around it'; 'paved road, not dirt' on 'a dirt road'): only the middle is replaced."""
    words = new.split()
    text = " ".join(phrases)
    if not re.search(r"(?<![\w'])" + re.escape(old) + r"(?![\w'])", text, re.I):
        return None
    # the most context first, up to what a message says around a change (every split of a long message is a
    # pattern of its own: cubic time)
    for size in range(min(len(words) - 1, _MAX_CONTEXT), 0, -1):
        for before in range(size, -1, -1):
            after = size - before
            pre, post = words[:before], words[len(words) - after :]
            middle = words[before : len(words) - after]
            if not middle:
                continue
            pattern = (
                r"(?<![\w'])"
                + "".join(re.escape(w) + r"\s+" for w in pre)
                + (
                    r"(?P<old>(?:" + _DETERMINER + r")?"
                    if _ARTICLE.match(middle[0] + " ")
                    else r"(?:" + _DETERMINER + r")?(?P<old>"
                )
                + re.escape(old)
                + r")"
                + "".join(r"\s+" + re.escape(w) for w in post)
                + r"(?![\w'])"
            )
            m = re.search(pattern, text, re.I)
            if m is not None:
                said = Said.of(list(phrases))
                said.replace(m.start("old"), m.end("old"), " ".join(middle))
                return said.phrases()
    return None


def replace_scene(phrases: list[str], new: str) -> list[str] | None:
    """A kind of place said alone ('kitchen instead', 'the bedroom instead') in place of the description's kind of
    place, wherever it stands ('in the living room', 'the bathroom is ...'), with the description's article when
    the message has none; None when the description names no kind of place."""
    words = new.split()
    if not words or singular(words[-1].lower()) not in L.SCENE_NOUNS or words[0].lower() in L.LOCATIVE:
        return None  # "at home instead" is a phrase with its preposition, for swap_setting
    doc = parse(" ".join(phrases))
    heads = [t for t in doc if t.pos_ in ("NOUN", "PROPN") and singular(t.lower_) in L.SCENE_NOUNS]
    heads = [t for t in heads if t.dep_ not in ("compound", "amod")]
    if not heads:
        return None
    # where the picture is ('in the park'), before a thing that a kind of place may name ('a bridge behind it')
    placed = {o.i for t in doc if t.pos_ == "ADP" and t.lower_ in L.LOCATIVE and (o := scene_object(t)) is not None}
    # with no such phrase, only the description's own head or subject is a place ('a kitchen with ...', 'the
    # bathroom is ...'), never an object ('a cow eating grass', 'a glass of water')
    heads = [t for t in heads if t.i in placed] or [
        t
        for t in heads
        if t.dep_ in ("ROOT", "nsubj", "nsubjpass") or t.dep_ == "dobj" and singular(t.lower_) not in _SURFACES
    ]  # "crossing a snow covered field" is where; "eating grass" is what
    if not heads:
        return None
    tok = heads[-1]
    if singular(tok.lower_) == singular(words[-1].lower()):
        return None  # "a big market instead" on "a small sidewalk market": the market's size, not a new place
    start = tok.i
    while start - 1 >= 0 and (
        doc[start - 1].head.i == tok.i
        and doc[start - 1].dep_ in ("det", "amod", "compound", "poss")
        or doc[start - 1].dep_ in ("npadvmod", "advmod")
        and doc[start - 1].head.head.i == tok.i  # "a snow covered"
        or doc[start - 1].dep_ in ("cc", "conj", "punct")
        and doc[start - 1].head.dep_ == "amod"
        and doc[start - 1].head.head.i == tok.i  # "a small and dirty kitchen": all its words
    ):
        start -= 1
    if doc[start].dep_ in ("det", "poss") and not _ARTICLE.match(new + " "):
        start += 1  # "in the living room" + "kitchen": "in the kitchen"
    head = singular(words[-1].lower())
    p = start - 1 if start > 0 and doc[start - 1].dep_ != "det" else start - 2  # "in the grassy field" + "beach"
    prep = doc[p] if p >= 0 and doc[p].lower_ in ("in", "on") else None
    fit = "on" if head in L.ON_ONLY_SCENES else "in" if head not in L.ON_SCENES else None
    if prep is not None and fit and fit != prep.lower_ and prep.head.i != tok.i:
        # "on the beach" + "a forest": "in a forest"; "in the grassy field" + "beach": "on the beach"
        new = f"{fit} {new}" if p == start - 1 else f"{fit} {doc[p + 1].text} {new}"
        start = prep.i
    said = Said.of(list(phrases))
    said.replace(_char(doc, start), _end(doc, tok.i), new)
    _fix_article(said, _char(doc, start), new)  # "in an office" + "home": "in a home"
    return said.phrases()


def _where_noun(prep):
    """The noun a prepositional phrase puts the picture on or in, or None: 'through a tree covered field' -> field,
    'in a pile of snow' -> pile (a heap of something is where, when the something is: snow), 'on the ice' -> ice;
    never a time or a thing ('at night', 'next to a fence', 'with a parachute')."""
    obj = next((c for c in prep.children if c.dep_ == "pobj"), None)
    if obj is None and prep.dep_ == "prt" and prep.lower_ in L.PATH_PREPOSITIONS:  # "walking up a rocky path"
        obj = next((c for c in prep.head.children if c.dep_ == "dobj" and c.i > prep.i), None)
    if obj is None or obj.lower_ in L.TIME_WORDS or obj.lower_ in L.WEATHER and obj.lower_ != "snow":
        return None  # "in the rain" is the weather, whatever else it is; snow lies on the ground
    where = L.SCENE_NOUNS | L.GROUND_NOUNS  # "in the snow" says where, though "make it snow" is the weather
    if singular(obj.lower_) in where or scene_object(prep) is not None:
        return obj
    of = next((c for c in obj.children if c.dep_ == "prep" and c.lower_ == "of"), None)
    inner = next((c for c in of.children if c.dep_ == "pobj"), None) if of is not None else None
    return obj if inner is not None and singular(inner.lower_) in where else None


def _pp_span(doc, prep, obj) -> tuple[int, int]:
    """The phrase from the preposition to the end of its place: its modifiers, 'of ...' and conjuncts ('over an
    lake and woods'), never a phrase or clause said after it about something else ('with a parachute')."""
    end = obj.i
    for c in obj.children:
        if c.i > obj.i and (c.dep_ in ("conj", "cc", "compound", "amod") or c.dep_ == "prep" and c.lower_ == "of"):
            end = max(end, max(x.i for x in c.subtree))
    return prep.i, end


def replace_place(phrases: list[str], new: str, bare: bool = False) -> list[str] | None:
    """A phrase that puts the picture somewhere else ('in the snow instead', 'what about on the ice', 'put them in a
    zoo instead'), in place of the description's phrase that says where it is: the one about the same kind of
    place ('in a pile of leaves' for 'in a pile of snow'), else one with the same preposition, else the last. None
    when the new phrase says no place or the description has no such phrase. `bare`: the user said the place
    without a preposition (`scene_phrase` gave it one), so a phrase about the same thing keeps its own."""
    if (multi := _MULTI_PREP.match(new.strip())) is not None:
        return _replace_beside(phrases, new.strip(), multi.group(0))
    new_doc = parse(new)
    if len(new_doc) > 1 and new_doc[0].pos_ in ("ADV", "ADP") and new_doc[1].lower_ in L.LOCATIVE:
        new_doc = new_doc[1:]  # "out in the wild": the phrase is "in the wild", said with "out" before it
    where_to = L.LOCATIVE | L.PATH_PREPOSITIONS  # "down a dirt path instead" on "going down the road"
    if not len(new_doc) or new_doc[0].pos_ != "ADP" or new_doc[0].lower_ not in where_to:
        return None
    new_obj = next((c for c in new_doc[0].children if c.dep_ == "pobj"), None)
    said = {" ".join(t.lower_ for t in new_doc[1:] if t.dep_ != "det"), new_doc.text.lower()}  # "in the dark"
    if new_obj is None or said & set(L.TIME_WORDS) or new_obj.lower_ in L.WEATHER and new_obj.lower_ != "snow":
        return None  # "at night instead", "in the dark", "in the rain instead": the slots' swap
    doc = parse(" ".join(phrases))
    if new_obj.lower_ in L.WEATHER and any(t.lower_ in L.WEATHER and t.dep_ == "pobj" for t in doc):
        return None  # "in the snow instead" on "... in the rain": the weather's swap, not a new ground
    found = [(t, o) for t in doc if t.pos_ == "ADP" and t.lower_ in where_to and (o := _where_noun(t)) is not None]
    last = phrases[-1].split()
    said_where = len(phrases) > 1 and last[0].lower() in where_to and _puts_it_somewhere(parse(phrases[-1])[0])
    if not found and said_where and _where_noun(new_doc[0]) is not None:
        # "on the couch" said on its own, then "out in the yard instead": the user's own phrase of where it is
        return None if " ".join(last).lower() == new.lower() else [*phrases[:-1], new]
    if not found:  # "at a bar instead" on "a man and woman sitting at a table": where they sit
        return _replace_posture(phrases, doc, new, new_doc[0].lower_, place=True)
    same_head = [f for f in found if singular(f[1].lower_) == singular(new_obj.lower_)]  # "under a clear sky"
    # "in the sky" is where a plane is, but beside a field the field is the place ("across a snow field on skies")
    found = [f for f in found if f[1].lower_ not in _BEYOND] or found
    if not same_head and _where_noun(new_doc[0]) is None:
        # "on a bench instead" on "a girl sitting on a dock playing on a cell phone": what a thing sits, stands or
        # lies on is where it is, whatever the noun; "on a leash instead" names no such place; a place the user
        # said last is the one a new one replaces
        return None if said_where else _replace_posture(phrases, doc, new, new_doc[0].lower_)
    same_prep = [f for f in found if f[0].lower_ == new_doc[0].lower_]
    # a kind of place before a place a thing makes ('in the grass' before 'in his mouth' for 'on a tree branch')
    places = [f for f in found if singular(f[1].lower_) in L.WHERE]
    pool = same_head or [f for f in same_prep if f in places] or same_prep or places or found
    near = new_doc[0].lower_ in L.NEARNESS_PREPOSITIONS  # "on the sidewalk by a busy street": on the sidewalk;
    pool = [f for f in pool if (f[0].lower_ in L.NEARNESS_PREPOSITIONS) == near] or pool  # "by the sea": by the river
    # of those, where the sentence's own verb is ('stand on a beach with surfboards on the sand near them'), the
    # last of a kind ('on a couch' then 'in a living room')
    prep, obj = min(reversed(pool), key=lambda f: len(list(f[0].ancestors)))
    if bare and same_head:  # "make it a clear sky" on "under a cloudy sky": the user said no preposition
        new = f"{prep.text} {new.split(None, 1)[1]}"
    a, b = _pp_span(doc, prep, obj)
    if doc[a : b + 1].text.lower() == new.lower():
        return None
    said = Said.of(list(phrases))
    said.replace(_char(doc, a), _end(doc, b), new)
    return said.phrases()


_POSSESSIVES = frozenset("my your his her its our their".split())
# prepositions of a way through or along somewhere: what a verb goes through is where it is ("walking through an
# alley"); "on" or "in" after any verb may be a thing ("walking a dog on a leash", "holding a cup in a napkin")
_ROUTE = frozenset("through along across past over around into onto toward towards down up".split())


def _replace_posture(phrases: list[str], doc, new: str, prep: str, place: bool = False) -> list[str] | None:
    """The phrases with the one phrase of the new route preposition on a verb ('through a park'), else the one that
    says where a thing sits, stands, lies or is placed, replaced by `new`; None when there is not exactly one such
    phrase, or `new` says when ('in the fall', 'on a cold day') or names a part of someone ('in her lap'). `place`:
    `new` names a kind of place, which replaces only what a thing is at ('at a bar' for 'sitting at a table') or
    lies on ('on the grass' for 'lying on a bed'); what it rides stays ('a man sitting on a horse' + 'on a beach')."""
    words = re.findall(r"[a-z]+", new.lower())
    if any(w in L.WHEN or w in L.DAY_WEATHER or w in L.HOLIDAYS or w in ("day", "days") for w in words):
        return None
    if any(w in _POSSESSIVES for w in words):
        return None
    found = [
        (t, o)
        for t in doc
        if t.dep_ == "prep"
        and t.lower_ in L.LOCATIVE | L.PATH_PREPOSITIONS
        and t.head.pos_ == "VERB"
        and (o := next((c for c in t.children if c.dep_ == "pobj"), None)) is not None
        and o.pos_ in ("NOUN", "PROPN")
        and not any(c.dep_ == "poss" and c.pos_ == "PRON" for c in o.children)  # "a cup in his hand": no place
        # "on a dock playing": a participle the parse made the noun is no place
        and not (o.lower_.endswith("ing") and any(c.dep_ == "compound" for c in o.children))
    ]
    # the one phrase of the same route preposition on a verb ("through a park" for "walking through an alley way"),
    # else the one phrase of where a thing sits, stands or lies
    placed = [f for f in found if f[0].head.lemma_.lower() in L.PLACEMENT_VERBS]
    if prep in _ROUTE:
        found = [f for f in found if f[0].lower_ == prep]  # not "walking on a leash"
    elif place:  # what a thing is at, sits or lies on (furniture), or the edge of something is where it is
        found = [
            f
            for f in placed
            if f[0].lower_ == prep and (prep == "at" or f[1].lower_ in _REGIONS or "furniture" in kinds_of(f[1].lower_))
        ]
    else:
        found = [f for f in placed if f[0].lower_ == prep] or placed
    if len(found) != 1:
        return None
    a, b = _pp_span(doc, *found[0])
    said = Said.of(list(phrases))
    said.replace(_char(doc, a), _end(doc, b), new)
    return said.phrases()


def _puts_it_somewhere(prep) -> bool:
    """Whether a phrase of its own says where the picture's thing is: a kind of place or ground ('in the yard') or a
    piece of furniture it is on ('on the couch'); never what it wears or what is near it ('in a suit', 'near a dog')."""
    obj = next((c for c in prep.children if c.dep_ == "pobj"), None)
    return _where_noun(prep) is not None or obj is not None and "furniture" in kinds_of(obj.lower_)


def _replace_beside(phrases: list[str], new: str, prep: str) -> list[str] | None:
    """'in front of a school instead' on '... in front of a building': the phrase with the same preposition of
    several words, to the end of its object ('of' phrases and conjuncts with it); None if the text has none."""
    text = " ".join(phrases)
    pattern = r"\s+".join(map(re.escape, prep.lower().split()))
    said_at = list(re.finditer(rf"\b{pattern}\b", text, re.I))
    if not said_at:
        return None
    m = said_at[-1]  # the last one
    doc = parse(text)
    said_as = doc.char_span(m.start(), m.end(), alignment_mode="expand")
    last = said_as[-1] if said_as is not None and len(said_as) else None  # "of" of "in front of"
    obj = next((c for c in last.children if c.dep_ == "pobj"), None) if last is not None else None
    if obj is None:
        return None
    _, b = _pp_span(doc, last, obj)
    if text[m.start() : _end(doc, b)].lower() == new.lower():
        return None
    said = Said.of(list(phrases))
    said.replace(m.start(), _end(doc, b), new)
    return said.phrases()


def scene_phrase(new: str) -> str:
    """A kind of place said alone, as the phrase that puts the picture there ('a forest': 'in a forest', 'a party':
    'at a party')."""
    head = singular(new.split()[-1].lower())
    on = head in L.ON_ONLY_SCENES or head in L.SURFACE_NOUNS  # "on the floor", "on the ground"
    return f"{'on' if on else 'at' if head in L.AT_SCENES else 'in'} {new}"


def replace_closest(phrases: list[str], new: str, starred: bool) -> list[str] | None:
    """A correction whose old words the user did not say, found by what they share with the new: the same head
    with other words before it ('i meant a badminton court' on 'the tennis court', 'clock tower*' on 'block
    tower'), or for a starred word ('desserts*') the description's word closest in spelling."""
    words = _ARTICLE.sub("", new.strip()).split()
    if not words:
        return None
    text = " ".join(phrases)
    doc = parse(text)
    head = singular(words[-1].lower())
    if (words[0].lower() in L.LOCATIVE or words[0].lower() == "during") and len(words) > 1:  # "on a bmx bike i meant"
        found = []
        for t in doc:
            obj = next((c for c in t.children if c.dep_ == "pobj"), None) if t.lower_ == words[0].lower() else None
            if obj is not None and singular(obj.lower_) != head:
                found.append((t, obj))
        # of several ('in a red shirt in the park'), a kind of place for a kind of place ('oh in the garden'), a
        # thing's phrase for a thing ('on a bmx bike i meant' on 'on a skateboard at a park')
        scene = head in L.SCENE_NOUNS
        found = [f for f in found if (scene_object(f[0]) is not None) == scene] or found
        if not found:
            return None
        t, obj = found[0]
        said = Said.of(list(phrases))
        said.replace(_char(doc, t.i), _end(doc, obj.i), new.strip())
        return said.phrases()
    if len(words) > 1:
        for t in doc:
            if singular(t.lower_) != head or t.i < len(words) - 1:
                continue
            start = t.i - len(words) + 1
            window = doc[start : t.i + 1]
            if any(x.pos_ in ("DET", "ADP", "VERB", "AUX", "PUNCT") for x in window[:-1]):
                continue
            if [x.lower_ for x in window] == [w.lower() for w in words]:
                return None  # already so
            said = Said.of(list(phrases))
            said.replace(_char(doc, start), _end(doc, t.i), " ".join(words))
            return said.phrases()
        return None
    from difflib import SequenceMatcher

    word = words[0].lower()
    scored = [(SequenceMatcher(None, t.lower_, word).ratio(), t) for t in doc if t.is_alpha and t.lower_ != word]
    if not starred:
        # "i meant snowboarding" on "... on skateboarding": an activity for the activity said most like it; never a
        # thing ("i meant a building": it has its article) or a time ("i meant evening")
        activity = (
            word.endswith("ing")
            and not _ARTICLE.match(new.strip() + " ")
            and word not in L.TIME_WORDS
            and word not in L.SEASONS
            and word not in L.PLACEHOLDERS
            and parse(f"they are {word}")[2].tag_ == "VBG"
        )
        if not activity:
            return None
        scored = [(r, t) for r, t in scored if t.tag_ == "VBG" or t.lower_.endswith("ing")]
    best = max(scored, key=lambda x: x[0], default=(0.0, None))
    if best[1] is None or best[0] < (0.8 if starred else 0.6 if len(scored) > 1 else 0.0):
        return None  # the only activity said is the one meant ('i meant sledding' on 'a man skiing down a slope')
    said = Said.of(list(phrases))
    said.replace(_char(doc, best[1].i), _end(doc, best[1].i), words[0])
    return said.phrases()


def _replace_phrase_with(phrases: list[str], old: str, new: str) -> list[str] | None:
    """A new prepositional phrase in place of the one whose object is `old`, wherever the object's words stand in
    it ('on a hillside rather than a field' on 'in the grassy field', 'by a river, not a lake' on 'by the side of a
    lake', 'toward a city instead of mountains' on 'toward a mountain area')."""
    text = " ".join(phrases)
    doc = parse(text)
    want = [singular(w) for w in old.lower().split()]
    for t in doc:
        if [singular(x.lower_) for x in doc[t.i : t.i + len(want)]] != want:
            continue
        tok = doc[t.i + len(want) - 1]
        while tok.dep_ in ("compound", "amod") and tok.head.i > tok.i:
            tok = tok.head
        prep = tok.head if tok.dep_ == "pobj" else None
        while prep is not None and prep.head.lower_ in _REGIONS and prep.head.dep_ == "pobj" and prep.lower_ == "of":
            prep = prep.head.head  # "by the side of a lake": the phrase is the side's
        if prep is None or prep.pos_ != "ADP" or prep.i > t.i:
            continue
        said = Said.of(list(phrases))
        said.replace(_char(doc, prep.i), _end(doc, tok.i), new)
        return said.phrases()
    return None


def named_in(phrases: list[str]) -> frozenset[str]:
    """The things (singular nouns) the description's words name, wherever they stand."""
    if not phrases:
        return frozenset()
    doc = parse(" ".join(phrases))
    setting = set(L.TIME_WORDS) | set(L.SEASONS) | set(L.WEATHER) | L.PLACEHOLDERS | L.PICTURE_WORDS
    nouns = [
        t.lower_
        for t in doc
        if t.pos_ in ("NOUN", "PROPN") or t.lower_ == "people" or _mistagged_noun(t) or name_of(t.lower_) != t.lower_
    ]  # "someone" is a pronoun the description may name a person by
    words = {singular(w) for w in nouns if w not in setting or name_of(w) != w}  # "night" is when, not a thing
    return frozenset(words | {name_of(w) for w in words})  # "the bike" is the description's "bicycle"


def held_in(phrases: list[str]) -> frozenset[str]:
    """The things the description's words are the object of an order's verb ('a woman holding a baby': baby)."""
    if not phrases:
        return frozenset()
    doc = parse(" ".join(phrases))
    return frozenset(thing_key(t.lower_) for t in doc if t.dep_ == "dobj" and t.head.lemma_.lower() in L.ORDER_VERBS)


def _mistagged_noun(t) -> bool:
    """A word the tagger calls an adjective or verb where only a noun can stand: 'near a rusted hydrant'."""
    if t.pos_ not in ("ADJ", "VERB", "ADV") or t.tag_ == "VBG":
        return False
    if t.dep_ in ("pobj", "dobj", "nsubj", "nsubjpass") and t.pos_ != "ADV":
        return True
    if t.dep_ == "conj" and t.head.pos_ in ("NOUN", "PROPN") and t.tag_ in ("VB", "VBP", "JJ"):
        return True  # "broccoli and cauliflower": joined to a noun, a noun
    # "pass a yellow fire hydrant": the last word after a noun, which the parse made an adverb
    doc = t.doc
    return t.i > 0 and doc[t.i - 1].pos_ == "NOUN" and (t.i == len(doc) - 1 or doc[t.i + 1].is_punct)


# one more of a thing the description has: "another bird", "a baby giraffe", "two more dogs"
# a command that adds, said before the thing ("with" is LEADS_WITH's)
_ADDS = re.compile(r"^(?:also|plus|add|include|throw\s+in)\s")
_ANOTHER = re.compile(r"\b(?:another|one\s+more|a\s+second|an?\s+extra|(?:two|three|\d)\s+more|baby|babies)\b", re.I)


def _same(a: Subject, b: Subject) -> bool:
    return thing_key(a.noun) == thing_key(b.noun)


def _head_left_out(text: str, s: Subject, old: list[Subject]) -> Subject | None:
    """The thing `s` names by the word before its noun, when the text has that word nowhere else: 'remote' for
    'remote controls' (English leaves the head out once it is known)."""
    word = s.noun.split()[-1]
    if len(s.noun.split()) > 1 or re.search(rf"\b{re.escape(plural(word))}\b", text, re.I):
        return None  # said as a thing of its own somewhere ("remotes")
    said = [t for t in parse(text) if t.lower_ == word]
    if len(said) != 1 or said[0].pos_ != "ADJ" or said[0].dep_ != "amod":
        return None  # "remote controls": the parse reads the noun as the head's adjective ("dog house" names a dog)
    head = singular(said[0].head.lower_)
    found = [x for x in old if x.noun != s.noun and " " not in x.noun and x.noun == head]
    return found[0] if len(found) == 1 else None


_SLOTS = ("place", "time", "season", "weather")


def edit(
    old: SearchState,
    new: SearchState,
    message: str,
    reset: bool,
    described: str | None,
    answered: bool,
    renamed: list[tuple[str, str]] = (),
) -> list[str]:
    """The phrases after this turn: `old`'s edited the way the reader changed the typed view, or the message's own
    description when it starts anew. `described`: the message's describing words when a switch cue led them;
    `renamed`: corrections the reader made ((old noun, new noun as said))."""
    had = old.phrases or old.required or old.words or any(getattr(old.setting, x) for x in _SLOTS)
    if reset or not had:
        # a description keeps every word, its exclusions too ("a street corner with no people or cars"): they
        # are the user's words, and the excluded things are negatives besides
        first = strip_framing(message, first=True) if described is None else strip_framing(described)
        return Said.of([first] if first else []).phrases()
    requantified = not re.search(r"\d", message) and any(
        _noun_form(message, x) is not None and _said_quantity(message, x) for x in new.required
    )
    leads = strip_framing(message).lower()
    leads_with = bool(LEADS_WITH.match(leads))  # "with people watching", "try with a cat"
    adds_more = leads_with or bool(_ADDS.match(leads))  # ... "also some cars", "add a third person"
    adds = adds_more or bool(re.match(r"^and\s", leads))  # ... "and a zebra"
    another = _ANOTHER.search(message)
    calf = re.search(r"\bbab(?:y|ies)\s+([a-z]+)", message, re.I)
    if calf and re.search(rf"\bbab(?:y|ies)\s+{re.escape(singular(calf.group(1).lower()))}", old.text(), re.I):
        another = None  # "two baby elephants" on "... and a baby elephant": the calf the text has, counted
    if old.phrases and not answered and (another or adds and _view(old) == _view(new)):
        # "with a baby giraffe", "add a third person", "and a zebra" on "2 zebras": one more of a thing it has
        addition = as_addition(message)
        if not re.match(r"^(?:with|and)\s", addition) and re.search(r"\b(?:too|also|as\s+well)\b", message, re.I):
            addition = f"with {addition}"  # "a baby elephant too"
        if re.match(r"^(?:with|and)\s", addition) and named_in([addition]) & named_in(old.phrases):
            return [*old.phrases, addition]  # "with a baby giraffe" on "a giraffe ...": one more of a thing it has
    if old.phrases and not answered and (day := _day_swapped(old.phrases, message)) is not None:
        return day  # "on a gloomy day instead" on "... on a sunny day": whatever slots the two days fill
    kept_with = _thing_with(message) if old.phrases and leads_with and not answered else None
    if _view(old) == _view(new) and not requantified:
        # nothing said about the picture ("none of these", "#2 is right"), or a thing the reader did not find
        return [*old.phrases, kept_with] if kept_with else list(old.phrases)
    said = Said.of(old.phrases or [old.slot_text()])
    in_text = named_in(said.phrases())
    done: set[str] = set()
    for o, n in renamed:
        if rename(said, o, n):
            done |= {thing_key(n), thing_key(o)}
    old_req, new_req = old.required, new.required
    added, edited = [], False
    adjective_instead = bool(re.search(r"\b(?:instead|rather)\b", message, re.I))  # "snowy field instead"
    with_more = not answered and adds_more and not adjective_instead  # "with a clear sky instead" swaps
    for s in new_req:
        key = thing_key(s.noun)
        o = next((x for x in old_req if x.noun == s.noun), None) or next((x for x in old_req if _same(x, s)), None)
        if o is None and not adds and s not in old_req and (x := _head_left_out(said.text, s, old_req)) is not None:
            o, s = x, s.model_copy(update={"noun": x.noun})  # "just one remote" on "3 remote controls"
            key = thing_key(s.noun)
        if o is None and key in done:
            continue
        if (
            with_more
            and o is not None
            and (_noun_form(message, s) is not None or s.plural != o.plural)
            # "with a black dog" on "a dog": the dog is black ("add a red umbrella" is one more)
            and (s.plural != o.plural or len(leads.split()) > 4 or not leads_with)
        ):
            # "with people watching" on "a person on a bike", "with a red ball next to it" on "... hit the ball": a
            # phrase that adds names one more thing, never an edit of the one the text has
            added.append(s)
            continue
        if o is None and key not in in_text:
            added.append(s)
            continue
        # named in the words, not yet a subject: "the bench should be green"; "some weeds" are many already
        o = o or Subject(noun=s.noun, plural=bool(re.search(rf"\b{re.escape(plural(s.noun))}\b", said.text, re.I)))
        if s.color and s.color != o.color:
            edited |= recolour(said, s.noun, _said_colour(message, s.color), message)
        if s.size and s.size != o.size:
            edited |= resize(said, s.noun, _said_word(message, L.SIZES, s.size))
        form = _noun_form(message, s)
        quantity = _said_quantity(message, s) if form is not None and not re.search(r"\d", message) else ""
        if (
            s.count
            and s.count != o.count
            and not (s.count == 1 and not o.plural and not o.count and _said_count(message, 1) in ("one", "1"))
        ):  # "just the one" about "a wine glass" changes nothing; "more than one surfer" does
            edited |= recount(said, s.noun, _said_count(message, s.count), s.count > 1, form, message)
        elif quantity or (s.plural and not o.plural and not s.count and form is not None and _says_many(form)):
            # "several hydrants", "a few eggs" (for "2 eggs"), "hydrants": many, counted the way the message says
            edited |= recount(said, s.noun, quantity, True, form, message)
        for adj in s.adjectives:
            if form is not None and adj not in o.adjectives and adj not in said.text.lower().split():
                edited |= _insert_adjective(said, s.noun, adj, adjective_instead)
    appended = False
    new_setting, dropped = [], []
    for slot in _SLOTS:
        a, b = getattr(old.setting, slot), getattr(new.setting, slot)
        if a == b:
            continue
        if with_more and b:
            new_setting.append(slot)  # "with snow on the ground" on "... on a cloudy day": said besides, as said
            continue
        if slot == "place" and (added or edited):
            continue  # "with a dog at her feet": the place is part of what is added, not a new place
        if (
            slot == "place"
            and b
            and re.match(r"^(?:with|and)\s+\w", strip_framing(message), re.I)
            and not _PREP.match(strip_framing(message)[5:])
        ):
            new_setting.append(slot)  # "with snow on the peaks": where the added snow is, said with it
            continue
        if slot == "place" and b and not a and _names_a_thing(b, in_text):
            continue  # "no sprinkles on the cake": where the excluded thing is, the cake the text already has
        if a and b:
            # "rainy instead", not "on a rainy day" or "a sunny day instead" (a day phrase, in place of the day phrase)
            said_as = re.sub(r"[\s,]*\b(?:instead|rather)\b.*$", "", strip_framing(message))
            bare = slot != "place" and not _PREP.match(said_as) and not _DAY_PHRASE.match(said_as)
            if bare and swap_adjective(said, slot, a, _said_word(message, _SETTING_WORDS[slot], str(b))):
                continue  # "rainy instead" on "a snowy street corner": "a rainy street corner"
            phrase = setting_phrase(message, slot, b, new.setting.place)
            # "not in a library but at home", "no, in the rain": said in place of the old one
            instead = bool(
                re.search(
                    r"\b(?:instead|rather|not|would\s+be\s+better)\b|^\s*(?:no|oh|wait|actually|same|try)\b",
                    message,
                    re.I,
                )
            )
            if slot == "weather" and not instead and not _weather_adjective(said, a) and not _said_after(said, a):
                new_setting.append(slot)  # "on a foggy day" on "stands on the snow": fog, and the snow on the ground
            elif _said_already(said.text, phrase):
                pass  # the phrase a swap of another slot just put in ("on a foggy day" says the time too)
            elif not swap_setting(said, slot, a, old.setting.place, phrase, instead):
                new_setting.append(slot)
        elif b and slot == "place" and _swaps_scene(said, setting_phrase(message, slot, b, b)):
            pass  # "by a river rather" where the typed view had no place: the kind of place the text says
        elif (
            b
            and slot in ("weather", "season")
            and re.search(r"\b(?:instead|rather)\b", message, re.I)
            and not _PREP.match(strip_framing(message))
            and swap_adjective(said, slot, None, _said_word(message, _SETTING_WORDS[slot], str(b)))
        ):
            pass  # "rainy instead" on "a snowy street corner": the adjective where it stands
        elif (
            b
            and slot == "weather"
            and adjective_instead
            and _ground_swapped(said, setting_phrase(message, slot, b, None))
        ):
            pass  # "in the snow instead" on "sitting in the grass": the ground it is on
        elif (
            b
            and slot == "place"
            and adjective_instead
            and _weather_ground_swapped(said, setting_phrase(message, slot, b, b))
        ):
            pass  # "on the ice instead" on "standing in the snow": the ground it is on
        elif b:
            new_setting.append(slot)
        elif a:
            dropped.append((slot, a))
    new_words = [w for w in new.words if w not in old.words and w not in said.text.lower().split()]
    if (added or new_setting or (new_words and not edited)) and not appended:
        if added and _MODIFY.match(described if described is not None else message):
            # "make the cat red" about a cat the description does not have: the thing joins it as "with a red cat",
            # never the command's own words
            said.append("with " + listed_as_english([_thing_said(message, s) for s in added]))
            for slot in new_setting:
                said.append(on_day(setting_phrase(message, slot, getattr(new.setting, slot), new.setting.place)))
        elif answered and added and not new_setting:
            # "yes, a big one"; "yes, sleeping under the bench": what it does or where, after the thing
            said.append(_with_what_it_does(message, added))
        elif (
            new_setting
            and not added
            and len(new_setting) == 1
            and not says_what_it_does(parse(strip_framing(message)))
            and not leads_with  # "with snow on the ground": as said
        ):
            slot = new_setting[0]
            phrase = setting_phrase(message, slot, getattr(new.setting, slot), new.setting.place, new_place=True)
            if not _said_already(said.text, phrase):
                said.append(on_day(phrase))
        else:
            said.append(on_day(as_addition(described if described is not None else message)))
    # exclusions last, so that what was just appended loses them too ("without people at night" adds "at night")
    for o in old_req:  # things excluded or dropped this turn go with their attached words
        if not any(_same(o, s) for s in new_req) and thing_key(o.noun) not in done:
            remove(said, o.noun)
    for x in new.excluded:
        if not any(_same(x, y) for y in old.excluded) and thing_key(x.noun) in named_in(said.phrases()):
            if _described_as(said, x):  # "no red cars" keeps the cars that are not red; "no hot dog" is the hot dog
                remove(said, x.noun)
    for n in new.negatives:
        if n not in old.negatives:
            _drop_word(said, n)
    for slot, a in dropped:  # after the things: "while staring at his cat" goes whole, not just "at his cat"
        remove_setting(said, slot, a, old.setting.place)
    if kept_with and said.phrases() == list(old.phrases):
        said.append(kept_with)
    return said.phrases()


# A command that modifies a thing: "make the cat red", "could you turn the dogs brown", "change the car to blue".
_MODIFY = re.compile(
    r"^(?:please\s+|(?:can|could|would|will)\s+you\s+|(?:and\s+|but\s+)?(?:now|also|then)\s+)*"
    r"(?:make|turn|change|paint|colou?r|recolou?r|switch)\s+(?:the|that|this|these|those|his|her|its|their|my)\s+",
    re.I,
)


def _thing_said(message: str, s: Subject) -> str:
    """A thing a command modified, as a phrase in the message's words: 'make the cat grey' -> 'a grey cat'."""
    words = [_said_word(message, L.SIZES, s.size)] if s.size else []
    words += s.adjectives
    if s.color:
        words.append(_said_colour(message, s.color))
    many = s.plural or (s.count is not None and s.count > 1)
    form = _noun_form(message, s)
    made = re.search(r"\b(?:an?|the|some)\s+(?:[a-z]+\s+)?([a-z]+)\s+ones?\b", message.lower())
    if form is None and made and made[1] in L.MATERIALS and made[1] not in words + s.noun.split():
        words.append(made[1])  # "yes, a leather one": what the first one said is made of, before the word for it
    *compound, _ = s.noun.split()
    if form and compound and not any(w in words for w in compound):
        form = " ".join([*compound, form])  # "traffic lights", "ski lift": the whole noun, not 'lights'
    elif form and not compound:
        form = " ".join([*_compound_said(message, form), form])  # "yes, a lot of pine trees" to "a tree?"
    words.append(form or (plural(s.noun) if many else s.noun))
    if s.count is not None:
        return f"{_said_count(message, s.count)} {' '.join(words)}"
    quantity = _said_quantity(message, s)  # "a lot of birds", "several sheep", "a lot of grass": as much as said
    if quantity or many:
        return " ".join([quantity, *words] if quantity else words)
    return f"{'an' if words[0][:1].lower() in 'aeiou' else 'a'} {' '.join(words)}"


def _compound_said(message: str, form: str) -> list[str]:
    """The nouns the message says before a thing's noun as part of its name ('pine' of 'pine trees')."""
    doc = parse(message)
    tok = next((t for t in doc if t.lower_ == form.lower()), None)
    if tok is None:
        return []
    return [c.lower_ for c in tok.children if c.dep_ == "compound" and c.i < tok.i and c.pos_ == "NOUN"]


_YES_LEAD = re.compile(
    r"^(?:(?:yes|yeah|yep|yup|sure|there\s+is|there'?s|there\s+are)\b[\s,]*)+(?:it(?:'s|\s+is)|they(?:'re|\s+are))?",
    re.I,
)
_WHERE_IT_IS = re.compile(
    r"^(?:with|" + MULTI_PREPOSITION + r"|" + _PREPOSITION + r"|behind|above|below|beneath|underneath|against|among|"
    r"between|toward|towards|atop|alongside)\b",
    re.I,
)
_IN_THE_PICTURE = re.compile(r"^(?:in|on)\s+(?:it|there|here|the\s+(?:picture|photo|image|shot))$", re.I)


def listed_as_english(items: list[str]) -> str:
    """'a dog', 'a dog and a boat', 'a dog, a boat and a tree'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _with_what_it_does(message: str, added: list[Subject]) -> str:
    """The things an answer adds, as 'with ...': a yes that goes on to say what the thing does or where it is keeps
    those words after it ('yes, sleeping under the bench' -> 'with a dog sleeping under the bench'; 'a dog chasing
    a ball' -> 'with a dog chasing a ball'; 'a cup of coffee' is one thing); otherwise each thing as said ('with a
    small dog and a ball')."""
    things = listed_as_english([_thing_said(message, s) for s in added])
    text = strip_framing(message)
    first = added[0]
    m = re.search(rf"\b(?:{re.escape(_noun_form(text, first) or first.noun)}|one)\b", text, re.I)
    rest = _YES_LEAD.sub("", text[m.end() :] if m else text.strip(" ,")).strip(" ,.!")
    if not rest or _IN_THE_PICTURE.match(rest) or re.match(r"^at\s+least\b", rest, re.I):
        return f"with {things}"
    if not (_WHERE_IT_IS.match(rest) or rest.lower().startswith("of ") or says_what_it_does(parse(rest))):
        return f"with {things}"
    others = named_in([rest])
    if not all(thing_key(s.noun) in others for s in added[1:]):
        return f"with {things}"
    return f"with {_thing_said(message, first)} {rest}"


def _names_a_thing(place: str, in_text: frozenset[str]) -> bool:
    words = re.findall(r"[a-z]+", place.lower())
    return bool(words) and thing_key(words[-1]) in in_text


def _view(st: SearchState) -> tuple:
    return (st.subjects, st.setting, st.words, st.negatives)


def _drop_word(said: Said, word: str) -> None:
    for slot, words in _SETTING_WORDS.items():
        if word.lower() in words:
            remove_setting(said, slot, words[word.lower()], None)
            return


def _described_as(said: Said, x: Subject) -> bool:
    """Whether the text's own words for the thing have every word the exclusion qualified it by (none: always)."""
    quals = [w for w in (x.color, x.size, *x.adjectives) if w]
    if not quals:
        return True
    doc = parse(said.text)
    tok = _noun_token(doc, x.noun)
    if tok is None:
        return False
    own = {t.lower_ for t in doc[tok.left_edge.i : tok.i]}
    return all(any(w in own for w in q.lower().split()) for q in quals)


def _swaps_scene(said: Said, phrase: str) -> bool:
    """A new kind of place ('by a river') in place of the one the text names ('by the side of a lake')."""
    new = parse(phrase)
    if not len(new) or new[0].pos_ != "ADP" or scene_object(new[0]) is None:
        return False
    doc = parse(said.text)
    span = _scene_span(doc, new[0].lower_)
    if span is None:
        return False
    said.replace(_char(doc, span[0]), _end(doc, span[1]), phrase)
    return True


_SURFACES = frozenset({"grass", "water", "ice", "pavement", "sand", "snow"})  # what is eaten, drunk, crossed
_GROUNDS = L.GROUND_NOUNS | L.SURFACE_NOUNS | {"water", "field", "beach"}


def _ground_swapped(said: Said, phrase: str) -> bool:
    """A weather said as what the ground is ('in the snow instead') in place of the text's ground or kind of place
    said with the same preposition ('in the grass'); False when there is none."""
    m = _PREP.match(phrase)
    if not m:
        return False
    doc = parse(said.text)
    span = _scene_span(doc, m.group(0).lower())
    if span is None or doc[span[0]].lower_ != m.group(0).lower():
        return False
    obj = doc[span[1]]
    if singular(obj.lower_) not in _GROUNDS:
        return False  # "in the snow instead" on "in a kitchen" is no ground to swap
    said.replace(_char(doc, span[0]), _end(doc, span[1]), phrase)
    return True


def _weather_ground_swapped(said: Said, phrase: str) -> bool:
    """A kind of ground or place said instead of the weather the thing stands in ('on the ice instead' on 'in the
    snow'): the weather's phrase replaced; False when the text says no weather as a noun after a preposition."""
    if not _PREP.match(phrase) or not any(singular(w) in _GROUNDS for w in re.findall(r"[a-z]+", phrase.lower())):
        return False  # "in a park instead" on "a kid in the rain": the rain may stay
    doc = parse(said.text)
    for t in doc:
        if t.pos_ == "ADP" and (obj := next((c for c in t.children if c.dep_ == "pobj"), None)) is not None:
            if obj.pos_ == "NOUN" and obj.lower_ in L.WEATHER and not any(c.dep_ == "prep" for c in obj.children):
                said.replace(_char(doc, t.i), _end(doc, obj.i), phrase)
                return True
    return False


def _said_after(said: Said, value) -> bool:
    """Whether this weather was said by a refinement of its own ('in the snow' after the description), which a new
    weather replaces; the description's own 'on the snow' may be the ground, and stays."""
    return any(
        len(p.split()) <= 5 and any(L.WEATHER.get(w) == value for w in re.findall(r"[a-z]+", p.lower()))
        for p in said.phrases()[1:]
    )


def _weather_adjective(said: Said, value) -> bool:
    """Whether the description says this weather with an adjective ('on a rainy day', 'a snowy street'), which a
    new weather replaces, rather than as a thing on the ground ('on the snow', 'in the rain')."""
    doc = parse(said.text)
    return any(L.WEATHER.get(t.lower_) == value and t.pos_ == "ADJ" for t in doc)


def _insert_adjective(said: Said, noun: str, adj: str, instead: bool = False) -> bool:
    """The adjective before the thing; in place of one of the same kind it has ('a clear sky' for 'a cloudy sky'),
    or, said with 'instead', of its only other describing word ('snowy field instead' on 'the grassy field')."""
    doc = parse(said.text)
    tok = _noun_token(doc, noun)
    if tok is None:
        return False
    kind = next((w for w in _SETTING_WORDS.values() if adj.lower() in w), None)
    mods = [
        c
        for c in tok.children
        if c.dep_ == "amod" and c.i < tok.i and c.lower_ not in L.COLORS and c.lower_ not in L.SIZES
    ]
    same = [c for c in mods if kind is not None and c.lower_ in kind]
    if same or (instead and len(mods) == 1):
        old = (same or mods)[0]
        said.replace(_char(doc, old.i), _end(doc, old.i), adj)
        return True
    at = _char(doc, _det_end(doc, tok))
    said.replace(at, at, adj + " ")
    _fix_article(said, at, adj)
    return True


def _noun_form(message: str, s: Subject) -> str | None:
    """The noun as the message says it ('dogs', 'people'), if it does."""
    want = singular(s.noun.split()[-1])
    words = re.findall(r"[a-z]+", message.lower())
    for w in words:
        if singular(w) == want or (want == "person" and w in ("people", "persons")):
            return w
    # "three kids" about "a child": the user's own word for the same thing
    return next((w for w in words if w not in L.PLACEHOLDERS and same_thing(singular(w), want)), None)


_QUANTITY = "|".join(re.escape(q) for q in sorted(L.QUANTITY_PHRASES | L.QUANTIFIERS, key=len, reverse=True))


def _says_many(form: str) -> bool:
    """Whether a noun as said is plural by its form: 'hydrants' is, 'the sheep' may be one sheep."""
    last = form.split()[-1].lower()
    return singular(last) != last


def _said_quantity(message: str, s: Subject) -> str:
    """The words before the thing that say how many, without a number: 'several', 'a few', 'lots of' ('' if none)."""
    form = re.escape(_noun_form(message, s) or s.noun)
    m = re.search(rf"\b({_QUANTITY})\s+(?:[a-z]+\s+)?{form}\b", message.lower())
    return m.group(1) if m else ""


def _said_count(message: str, n: int) -> str:
    dozen = re.search(r"\b(?:half\s+a\s+dozen|a\s+dozen)\b", message.lower())
    if dozen and n in (6, 12):
        return dozen.group(0)  # "half a dozen eggs"
    pair = re.search(r"\ba\s+(?:couple|pair)\s+of\b", message.lower())
    if pair and n == 2:
        return pair.group(0)  # "a couple of bowls"
    toks = re.findall(r"[a-z0-9]+", message.lower())
    for k, t in enumerate(toks):
        if (t.isdigit() and int(t) == n) or L.NUMBERS.get(t) == n:
            if t == "single" and k > 0 and toks[k - 1] in ("a", "one"):
                return f"{toks[k - 1]} single"
            if k > 1 and toks[k - 2 : k] in (["more", "than"], ["less", "than"], ["at", "least"]):
                return f"{toks[k - 2]} {toks[k - 1]} {t}"  # "more than one surfer"
            return t
    return L.number_word(n)
