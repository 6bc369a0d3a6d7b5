"""What one message says, read from its spaCy parse: things, their modifiers, the setting, negation, cues.

`read(text)` turns a message into a `Reading`: a list of `Thing`s (noun phrases and references such as "it" or
"the red ones"), `Value`s (a colour, size, count or adjective attached to a thing, or a time, season, weather or
place), kept words, and flags for the cues that decide how the reading applies (adding, correcting,
re-allowing, switching topic). It knows English, not any gallery: nouns are whatever the parser says are nouns.
"""

from __future__ import annotations

import re
from functools import lru_cache

from picseek.agent.english import lexicon as L
from picseek.agent.english.cues import (
    CORRECTION_DISCOURSE,
    HEDGES,
    NO,
    SIGN_OFFS,
    TERMS_OF_ADDRESS,
    WISHES,
    YES,
    alternation,
)
from picseek.agent.english.language import parse
from picseek.agent.english.plurals import thing_key
from picseek.agent.english.scope import CUE_VERBS, directly_negated, negation, segments
from picseek.agent.english.words import NOUN_POS, Reading, Thing, Value, classify

__all__ = ["Reading", "Thing", "Value", "clean", "read"]

_SPLIT_DASH = re.compile(r"\s+[-–—]+\s+|[–—]+")


def find_phrase(text: str, phrases) -> re.Match | None:
    """The first of these phrases (longest first) found as whole words, with the punctuation after it."""
    for p in sorted(phrases, key=len, reverse=True):
        m = re.search(r"(?:^|\b)" + re.escape(p) + r"(?:\b|$)[\s:,.!-]*", text)
        if m:
            return m
    return None


_CLAUSE_START = frozenset(
    "i i'd i'm im we you u it it's its they he she let's lets is are was were do does did can could would will "
    "should has have what which how where who why when please pls hey hi ok okay oh so yes no yeah nope sorry "
    "actually oops there any not never without".split()
)


def _fragment(doc) -> bool:
    """A message with no clause of its own: a noun or prepositional phrase ('kayaks on a river', 'at night')."""
    if not len(doc) or doc[0].lower_ in _CLAUSE_START:
        return False
    if doc[0].lemma_.lower() in CUE_VERBS | L.ORDER_VERBS and doc[0].tag_ == "VB":  # "leave out the people"
        return False
    return not any(
        t.pos_ in ("VERB", "AUX")
        and any(c.dep_ in ("nsubj", "nsubjpass", "expl") and c.pos_ in ("PRON", *NOUN_POS) for c in t.children)
        for t in doc
    )


_CHAT = re.compile(
    r"\b(?:please|pls|plz|thx|thanks(?:\s+(?:a\s+lot|so\s+much|a\s+bunch))?|thank\s+you(?:\s+so\s+much)?|ty|tbh|lol|haha|btw|imo|rn|omg|ooh+|err+|erm|um+|uh+|hmm+|"
    r"my\s+bad|my\s+mistake)\b[!.]*",
    re.I,
)

_LEAD = re.compile(
    r"^(?:(?:ok(?:ay)?|oh|ah|nah|so|well|hey|hi|hello|right|alright|yeah|cool|great|nice|lovely|perfect|awesome|wonderful|"
    r"brilliant|hm+|good\s+(?:morning|afternoon|evening|day)|dear\s+\w+)\b[\s,!.:-]*)+",
    re.I,
)

# a sign-off, or the person addressed, at the end: "..., kind regards", "thank you dear" (thanks go with _CHAT)
_TAIL = re.compile(
    r"[\s,.!]*\b(?:(?:" + alternation(SIGN_OFFS) + r")(?:\s+(?:" + alternation(TERMS_OF_ADDRESS) + r"))?|"
    r"(?:" + alternation(TERMS_OF_ADDRESS) + r"))[\s.!]*$",
    re.I,
)

_ASK = re.compile(
    r"^(?:(?:can|could|would|will)\s+(?:you|u)\s+)?(?:please\s+)?(?:show|find|fetch|pull\s+up|search\s+for|search|"
    r"look\s+for|looking\s+for|give|get(?!\s+rid)|try(?=\s+(?:at|in|during|under|by|near)\b)|"
    r"try(?=\s+on\s+(?:an?|the)\s+(?:\w+\s+)?(?:" + "|".join(sorted(L.SCENE_NOUNS)) + r")\b)|"
    r"same(?:\s+(?:thing|one|scene|picture|photo))?\s+but)(?:\s+(?:me|us))?(?:\s+(?:some|all|a\s+few))?\b\s*(?=\S)",
    re.I,
)


_MISTAKE = re.compile(r"^(?:(?:" + alternation(CORRECTION_DISCOURSE) + r")\b[\s,!.:;\u2013\u2014-]*)+", re.I)
# Words put in place of others (`swapped_words`): "replace the bus with a tram", "a tram rather than a bus",
# "kite, not parachute", "not a bus but a tram"
_DET = r"(?:a|an|the|some|that|this|those|these|his|her|its|their|my)\s+"
_PREPOSITION = r"(?:" + "|".join(sorted(L.LOCATIVE, key=len, reverse=True)) + r")"
_NP = r"(?:" + _DET + r")?\w+(?:\s+\w+)?"
# "replace the bus with a tram", "swap the bus for a tram": a determiner before the old words
_REPLACE = re.compile(
    r"^(?:(?:can|could|would)\s+you\s+)?(?:please\s+)?(?:replace|swap|exchange)\s+(?P<old>" + _DET + r".+?)\s+"
    r"(?:with|for|by)\s+(?P<new>.+)$",
    re.I,
)
_RATHER = re.compile(
    r"^(?P<new>.+?)\s+(?:rather\s+than|instead\s+of)\s+(?P<old>.+)$|"
    # "a croissant, not a bagel", "kite, not parachute": two short noun phrases, the second denied
    r"^(?P<new2>(?:" + _PREPOSITION + r"\s+)?" + _NP + r"),?\s+not\s+(?P<old2>" + _NP + r")$|"
    # "not a bus but a tram", "not a bus, a tram"
    r"^not\s+(?P<old3>" + _NP + r")\s*(?:,\s*|\s+but\s+)(?P<new3>" + _NP + r")$",
    re.I,
)
# a colour or size is read as said ('red, not blue'); a time, season or weather word is swapped where it stands
_VALUES = (*L.COLORS, *L.SIZES)
NOT_A_THING = frozenset(HEDGES) | frozenset(YES) | frozenset(NO)
_COLOURISH = re.compile(r"^(?:an?\s+|the\s+)?(?:" + "|".join(map(re.escape, _VALUES)) + r")$", re.I)


def clean(text: str) -> str:
    """The message without chat filler, greetings, sign-offs, words about a mistake and a leading request ('show
    me'); dashes as clause breaks. What is left is what the user describes."""
    text = _TAIL.sub("", _LEAD.sub("", _CHAT.sub(" ", text))).strip(" ,.;:!")
    text = _ASK.sub("", _MISTAKE.sub("", text))
    return _SPLIT_DASH.sub(" , ", text)


_TYPED_BUT_MEANT = re.compile(
    r"^(?:i\s+)?(?:typed|wrote|said|put)\s+(?P<old>.+?)\s*,?\s+but\s+(?:i\s+)?meant\s+(?P<new>.+)$", re.I
)
_MEANT = re.compile(
    r"^(?:(?:oops|sorry|no|wait|oh|whoops|typo|my\s+bad|my\s+mistake)[\s,.:!]+)*(?:i\s+)?meant\s+(?P<new>.+)$|"
    r"^(?P<new2>.+?)[\s,]+i\s+meant$|"
    r"^(?P<new3>[\w' -]+?)\s*\*$",
    re.I,
)


def corrected_words(text: str) -> tuple[str, str | None] | None:
    """(new words, old words or None) of a correction of what was typed: 'i typed bicycle but meant motorcycle',
    'i meant a badminton court', 'on a bmx bike i meant', 'desserts*' (the old words are for the caller to find)."""
    said = " ".join(text.strip().split())
    m = _TYPED_BUT_MEANT.match(said)
    if m:
        return m.group("new").strip(" .!"), m.group("old").strip(" .!")
    m = _MEANT.match(said)
    if m:
        new = next(g for g in (m.group("new"), m.group("new2"), m.group("new3")) if g)
        swap = swapped_words(new)  # "i meant a surfboard, not a wind sail": the old words are named too
        return swap if swap is not None else (new.strip(" .!"), None)
    return None


def swapped_words(text: str) -> tuple[str, str] | None:
    """(new words, old words) of a message that puts words in place of others: 'replace the bus with a tram',
    'a tram rather than a bus', 'kite, not parachute', 'not a bus but a tram', 'at night instead of during the
    parade'; None otherwise, and for values ('red, not blue' is read as it is). Whether the old words are in the
    description is for the caller to check: only then is it a swap ('kite not balloon' on a kite excludes)."""
    text = re.sub(r"(?<=\w)\*(?=\s|$)", "", clean(text))  # "hamburger* not hot dog": the star marks the fix
    m = _REPLACE.match(text) or _RATHER.match(text)
    if m is None:
        return None
    new, old = next((m.group(f"new{k}"), m.group(f"old{k}")) for k in ("", "2", "3") if m.group(f"new{k}"))
    if _COLOURISH.match(new) or _COLOURISH.match(old):
        return None
    if len(new.split()) > 6 or re.search(r"[,;]|\b(?:no|not|without|none)\b", new):
        return None  # "a tram, no people": more than words to put in place
    if new.lower() in NOT_A_THING:
        return None  # "definitely not a puppy": a hedge, not a new thing
    return new, old


_QUESTION = re.compile(
    r"^(?:any|got any|do you have|have you got|is there|are there|can i see|can you show|could you show)\b"
)
_LINKED = re.compile(
    r"^(?:and|but|also|only|just|plus|with|without|no|not|at|in|on|during|by|near|under|from|more|less|"
    r"next\s+to|close\s+to|beside|behind|in\s+front\s+of|on\s+top\s+of|"
    r"same|make|now\s+(?:with|without|at|in|only)|except|then|maybe|preferably|ideally|what about|how about)\b"
)
PICTURE_LEMMAS = ("photo", "picture", "image", "shot", "pic", "photograph")


def read(
    text: str,
    doc=None,
    known: frozenset[str] = frozenset(),
    held: frozenset[str] = frozenset(),
    described: str = "",
) -> Reading:
    """Read one message (already stripped of file-metadata phrases and references to results).

    `doc`: the parse of `"find " + clean(text)`, when the caller parsed many phrases at once (captions); `known`:
    the things the description names; `held`: those it says are held ("holding a baby": "hold the baby" is no
    order to leave the baby out); `described`: the description's words, whose two-word names ("stop sign", "fire
    hydrant") a message naming them means whole, however the parser tags a short message."""
    said, text = text, clean(text)
    if doc is None:
        doc = parse(text)
        if _fragment(doc):
            # The small tagger reads "kayaks on a river" as a verb phrase; inside "find ..." it is a noun phrase.
            doc = parse("find " + text)
    r = Reading(doc=doc, segment=segments(doc), known=known, text=text)
    _cues(r, text.lower().strip(), said.lower())
    r.about_picture = any(t.lower_ in L.PICTURE_WORDS or t.lemma_.lower() in PICTURE_LEMMAS for t in doc)
    neg = negation(doc)
    order = next((t for t in doc[:2] if t.lower_ in L.ORDER_VERBS and neg[t.i]), None)
    objects = [c.lower_ for c in order.children if c.dep_ == "dobj"] if order is not None else []
    if order is not None and not any(r.is_known(o) and thing_key(o) not in held for o in objects):
        neg = [False] * len(doc)  # "hold the baby" on "a woman": an order only takes out what the picture has
    classify(doc, r, neg)
    for v in r.values:  # "without people at night": the negation is of the people, not of the night
        if v.negative and v.slot in ("time", "season", "weather", "place") and not directly_negated(doc, v.i):
            v.negative = False
    if described:
        _join_said_names(r, described.lower())
    return r


def _join_said_names(r: Reading, described: str) -> None:
    """A thing named by two words the description says together ('without the stop sign', 'leave out the fire
    hydrant' on '... as well as a stop sign'): one thing, whatever the parser made of the second word (a verb,
    an adverb, a thing of its own)."""
    doc = r.doc
    for t in list(r.things):
        if t.ref or " " in t.noun or t.i + 1 >= len(doc):
            continue
        first, second = doc[t.i], doc[t.i + 1]
        if not (second.is_alpha and first.is_alpha) or second.pos_ in ("ADP", "DET", "CCONJ", "PRON", "AUX"):
            continue
        if not _named_together(described, first.lower_, second.lower_):
            continue
        r.things = [x for x in r.things if x.i != second.i]
        r.values = [v for v in r.values if v.i != second.i]
        t.noun, t.i = f"{first.lower_} {thing_key(second.lower_)}", second.i
        t.plural = t.plural or second.lower_ != thing_key(second.lower_)


_NOT_A_NAME = frozenset({"VERB", "AUX", "ADP", "DET", "CCONJ", "SCONJ", "PRON", "PART", "PUNCT", "NUM"})


@lru_cache(maxsize=256)
def _names(described: str) -> frozenset[tuple[str, str]]:
    """The two-word names of the description: a noun and the word after it that its parse does not take for a verb
    or a function word ('stop sign', 'fire hydrant'; not 'dog sits', 'cat sleeping'), as (first word, head)."""
    doc = parse(described)
    return frozenset(
        (a.lower_, thing_key(b.lower_))
        for a, b in zip(doc, doc[1:])
        if a.pos_ in ("NOUN", "PROPN") and b.pos_ not in _NOT_A_NAME and b.is_alpha
    )


def _named_together(described: str, first: str, second: str) -> bool:
    """Whether the description says these two words as one name ('stop sign'), not a thing and its verb ('dog
    sits')."""
    return (first, thing_key(second)) in _names(described)


def says_what_it_does(doc) -> bool:
    """A message that opens with a participle says what the thing in focus does or how it is: 'sitting on a sofa',
    'wearing a red helmet', 'covered in snow' (the 'find' a fragment was parsed after is skipped)."""
    words = [t for t in doc if not t.is_punct][:3]
    if words and words[0].lower_ == "find":
        words = words[1:]
    if not words or not words[0].lower_.isalpha():
        return False
    first = words[0]
    if first.tag_ == "VBG":
        return True
    return first.tag_ == "VBN" and len(words) > 1 and words[1].pos_ == "ADP"


# a wish said after the thing: "some potted plants would be nice" ("a park would be better" is said instead)
WOULD_BE_NICE = re.compile(rf"\b(?:would|could)\s+be\s+(?:{alternation(WISHES)})\b")
# "with" adds when it leads, after framing at most ("with candles pls", "try with a cat", "could he be with a dog")
LEADS_WITH = re.compile(
    r"^(?:(?:and|maybe|try|same\s+but|(?:could|can|would|should)\s+(?:he|she|it|they|there)\s+be)\s+)?with\b"
)
_LEADS_AND = re.compile(r"^(?:and\b|&|\+)")
_THERE_BE = re.compile(
    r"^(?:(?:and|also|maybe)\s+)?(?:(?:there\s+(?:should|could|must|might)|(?:can|could)\s+there)\s+(?:also\s+)?be|"
    r"make\s+sure\s+there\s+(?:is|are)|(?:he|she|it|they)\s+should\s+(?:also\s+)?have|"
    r"(?:(?:can|could|would)\s+you\s+|let'?s\s+)(?:add|put|include|throw\s+in)|"
    r"(?:can|could)\s+(?:we|i)\s+(?:get|have|add))\b"
)


# "throw a shark in there", "stick a flag in it": a thing put in the picture (said.as_addition reads it too)
PUT_IN_THING = r"\s+(?:an?|some|two|three|\d+)\s.*\bin\s+(?:there|here|it)\b"
_PUT_IN = re.compile(r"^(?:throw|stick|pop|put|place)" + PUT_IN_THING)


def _cues(r: Reading, low: str, said: str) -> None:
    """The words that decide how a reading applies: adding, correcting, re-allowing, asking, linking back. `said`:
    the message before cleaning, whose "my bad," / "wrong word," say it corrects."""
    # "with" adds when it leads ("with candles pls"); inside a phrase it is part of what is described ("show me a
    # stack of pancakes with syrup")
    r.add = find_phrase(low, [p for p in L.ADD_PHRASES if p != "with"]) is not None or bool(
        _LEADS_AND.match(low) or LEADS_WITH.match(low)
    )
    r.add = r.add or bool(_THERE_BE.match(low))  # "there should be a pony following", "can there be a dog"
    r.add = r.add or bool(WOULD_BE_NICE.search(low))  # "some potted plants would be nice"
    r.add = r.add or bool(_PUT_IN.match(low))  # "throw a shark in there", "stick a flag in it"
    r.correction = any(find_phrase(x, L.CORRECTION_CUES) is not None for x in (said, low))
    r.correction = r.correction or bool(re.match(r"^no+[,!.]?\s+\w", said))
    r.correction = r.correction and not _THERE_BE.match(low)  # "there should be" adds; "it should be" corrects
    r.reallow = find_phrase(low, L.REALLOW_PHRASES) is not None
    r.question = low.rstrip().endswith("?") or bool(_QUESTION.match(low))
    r.linked = bool(_LINKED.match(low))
