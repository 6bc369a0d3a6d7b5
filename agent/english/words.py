"""What each word of a parsed message is: a thing, a modifier of one, a place, a time; the parts `read` assembles.

A `Thing` is a noun phrase ("the red cars") or a reference to the thing in focus ("it", "the red ones"); a
`Value` is a colour, size, count or adjective attached to a thing, or a time, season, weather or place. Nouns are
whatever the parser says are nouns (with repairs where the small tagger is known to slip on fragments).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from picseek.agent.english import lexicon as L
from picseek.agent.english.cues import SCENE_CHANGE_ENDS
from picseek.agent.english.kinds import ends_listed_name
from picseek.agent.english.language import can_be_adjective, irregular_plurals, is_english, noun_lemma
from picseek.agent.english.plurals import plural_word, singular_word, thing_key
from picseek.agent.english.scope import CUE_VERBS

NOUN_POS = ("NOUN", "PROPN")

MULTI_PREPOSITIONS = {
    ("next", "to"),
    ("in", "front", "of"),
    ("on", "top", "of"),
    ("close", "to"),
    ("out", "of"),
    ("in", "the", "middle", "of"),
    ("at", "the", "top", "of"),
    ("at", "the", "bottom", "of"),
    ("on", "the", "side", "of"),
    ("at", "the", "edge", "of"),
    ("in", "the", "center", "of"),
    ("in", "the", "centre", "of"),
}


@dataclass
class Thing:
    """A noun phrase ('the red cars') or a reference to the thing in focus ('it', 'the red ones')."""

    i: int  # token index of the head
    noun: str = ""  # empty for a reference
    plural: bool = False
    negative: bool = False
    definite: bool = False

    @property
    def ref(self) -> bool:
        return not self.noun


@dataclass
class Value:
    """A modifier or a setting: slot is color|size|count|adjective|time|season|weather|place|word."""

    slot: str
    value: str | int
    i: int
    negative: bool = False
    target: int | None = None  # head token of the Thing it modifies, when the parse says so
    said: str | None = None  # the word as said, where it differs from the slot value ("snow" for snowy)


@dataclass
class Reading:
    things: list[Thing] = field(default_factory=list)
    values: list[Value] = field(default_factory=list)
    segment: list[int] = field(default_factory=list)  # clause number of each token
    add: bool = False  # "with a boat", "plus a bicycle", "put a dog in there too"
    correction: bool = False  # "sorry, I meant purple", "make that a cat"
    reallow: bool = False  # "people are ok again"
    question: bool = False  # "any blue ones?", "do you have ...", "is there one with a dog"
    linked: bool = False  # starts with a link to what came before: "and", "but", "at", "only", "also"...
    about_picture: bool = False  # speaks of the photo itself: "the photos should look grainy"
    doc: object = None
    known: frozenset[str] = frozenset()  # nouns (singular) the description's own words already name
    text: str = ""  # the message as read (the parse may have "find " before it)
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (old noun, new noun as said): corrections

    def is_known(self, noun: str) -> bool:
        """Whether the description already names this thing, as a subject or anywhere in its words."""
        return thing_key(noun) in self.known

    def thing_at(self, i: int | None) -> Thing | None:
        return next((t for t in self.things if t.i == i), None) if i is not None else None

    def owner(self, v: Value) -> int | None:
        """The thing a modifier belongs to: the one the parse attaches it to, else the closest one in its
        clause, before it first ('the tent has to be green'); None when the clause names no thing."""
        if self.thing_at(v.target) is not None:
            return v.target
        seg = self.segment[v.i] if v.i < len(self.segment) else None
        same = [t for t in self.things if self.segment[t.i] == seg]
        before = [t for t in same if t.i < v.i]
        after = [t for t in same if t.i > v.i]
        return before[-1].i if before else after[0].i if after else None


def _compound_noun(t) -> str:
    """'sports car', 'fire truck', 'bowl of fruit' -> noun text with the head lemmatised."""
    mods = [c for c in t.children if c.dep_ in ("compound", "amod", "nmod") and c.pos_ in NOUN_POS and c.i < t.i]
    mods = [m for m in mods if m.lower_ not in L.PLACEHOLDERS and m.lower_ not in L.TIME_WORDS]
    mods = [m for m in mods if m.lower_ not in L.WEATHER and m.lower_ not in L.COLORS]
    for m in list(mods):  # "street food stalls": the modifier's own compound stays in the noun too
        mods += [c for c in m.children if c.dep_ == "compound" and c.pos_ in NOUN_POS and c.i < m.i]
    head = t.lemma_.lower() if t.pos_ == "NOUN" else t.lower_
    if t.tag_ == "NNS" and head != t.lower_ and plural_word(head) != t.lower_:
        head = singular_word(t.lower_)  # the lemma is another noun ('ramen' -> 'raman'), not this one's singular
    if t.lower_ in ("people", "folks", "persons"):
        head = "person"
    return " ".join([*(m.lower_ for m in sorted(mods, key=lambda m: m.i)), head])


def _attach(t) -> int | None:
    """The head token of the thing an adjective-like token modifies, when the parse attaches it directly."""
    h = t
    while h.dep_ == "conj" and h.head is not h and h.head.pos_ in ("ADJ", "NUM", "ADV", "PROPN", "NOUN"):
        if h.head.lower_ in L.COLORS or h.head.lower_ in L.SIZES or h.head.pos_ == "ADJ":
            h = h.head
        else:
            break
    if h.dep_ in ("amod", "compound", "nmod", "nummod", "appos", "conj") and h.head is not h:
        head = h.head
        if head.pos_ in (*NOUN_POS, "PRON", "NUM") or head.lower_ in ("one", "ones"):
            return head.i
    return None


def _place_end(obj) -> int:
    """Last token index of a place phrase: the object and its modifiers, without clauses hanging off it."""
    end = obj.i
    for c in obj.children:
        if c.i > obj.i and c.dep_ in ("compound", "amod", "nummod", "poss", "case"):
            end = max(end, c.i)
    return end


def places(doc, r: Reading, neg: list[bool], consumed: set[int]) -> None:
    """'on the lake', 'by the water', 'next to a fence', 'indoors' -> place values."""
    for t in doc:
        low = t.lower_
        if low in L.PLACE_ADVERBS and t.pos_ != "VERB" and not [c for c in t.children if c.dep_ == "pobj"]:
            r.values.append(Value("place", low, t.i, neg[t.i]))
            consumed.add(t.i)
            continue
        if low not in L.LOCATIVE and low not in ("to", "of"):
            continue
        start = t.i
        for words in MULTI_PREPOSITIONS:
            k = len(words)
            if t.i - k + 1 >= 0 and tuple(x.lower_ for x in doc[t.i - k + 1 : t.i + 1]) == words:
                start = t.i - k + 1
        if low in ("to", "of") and start == t.i:
            continue
        obj = next((c for c in t.children if c.dep_ == "pobj"), None)
        if obj is None or start in consumed or obj.i in consumed:
            continue
        if obj.lower_ in ("front", "top", "middle", "side", "back", "edge", "bottom", "center", "centre") and any(
            c.lower_ == "of" for c in obj.children
        ):
            continue  # "in front of the shop": the phrase is read from "of"
        olow = obj.lower_
        if olow in L.PLACEHOLDERS or olow in L.PICTURE_WORDS or obj.lemma_.lower() in L.PLACEHOLDERS:
            continue  # "in a vintage style", "in the picture"
        if any(c.lower_ in L.TIME_WORDS or c.lower_ in L.SEASONS for c in obj.children):
            continue  # "in the winter time"
        if (
            olow in L.TIME_WORDS
            or olow in L.SEASONS
            or olow in L.WEATHER
            or olow in L.COLORS
            or olow in L.REFERENCES
            or olow in ("there", "here", "color", "colour", "focus", "frame", "shot", "picture", "photo", "image")
            or obj.pos_ in ("PRON", "NUM")
            or obj.like_num
        ):
            continue
        end = _place_end(obj)
        words = [x.text for x in doc[start : end + 1]]
        r.values.append(Value("place", " ".join(words).lower(), start, neg[start] or neg[obj.i]))
        for j in range(start, end + 1):
            if doc[j].lower_ in L.TIME_WORDS:  # "under the night sky": still night
                r.values.append(Value("time", L.TIME_WORDS[doc[j].lower_], j, neg[j]))
            consumed.add(j)


def multiword_times(doc, r: Reading, neg: list[bool], consumed: set[int]) -> None:
    lows = [t.lower_ for t in doc]
    for phrase, value in L.TIME_WORDS.items():
        parts = phrase.split()
        if len(parts) < 2:
            continue
        for s in range(len(lows) - len(parts) + 1):
            if lows[s : s + len(parts)] == parts and not consumed & set(range(s, s + len(parts))):
                r.values.append(Value("time", value, s, neg[s]))
                consumed.update(range(s, s + len(parts)))


def _nounlike(t) -> bool:
    """A noun the small tagger missed: 'a glacier' (tagged ADJ), 'geese' (ADJ), 'mountain cabins' (VERB)."""
    if t.pos_ in NOUN_POS:
        return True
    low = t.lower_
    if low in L.COLORS or low in L.SIZES or low in L.FILLER or low in L.NOT_DESCRIPTIVE or not t.is_alpha:
        return False
    if t.pos_ == "ADJ" and t.dep_ not in ("amod", "acomp", "conj", "advmod", "oprd"):
        return noun_lemma(low) is not None and not can_be_adjective(low)
    if t.pos_ not in ("VERB", "AUX", "PRON", "DET") and not t.is_stop and len(low) > 3 and low in irregular_plurals():
        return not can_be_adjective(low)  # "cacti", "geese", "leaves" however tagged
    if t.lemma_.lower() in ("be", "have", "do") or any(c.dep_ == "expl" for c in t.children):
        return False  # "there is no car": a verb with an expletive subject, never a plural noun ("is" <- "i")
    if t.pos_ == "VERB" and t.tag_ == "VBZ" and not any(c.dep_ in ("nsubj", "nsubjpass") for c in t.children):
        return noun_lemma(low) is not None  # "leaves on the ground": a verb has a subject, a plural noun has none
    if t.pos_ == "VERB" and t.tag_ in ("VBZ", "VBP", "VB", "VBD") and t.lemma_.lower() not in CUE_VERBS:
        nominal = any(c.dep_ in ("compound", "det", "amod", "nummod") for c in t.children)
        subject = any(c.dep_ in ("nsubj", "nsubjpass") and c.pos_ in ("PRON", *NOUN_POS) for c in t.children)
        return (nominal or not subject) and noun_lemma(low) is not None
    return False


def _named_before(t, r: Reading) -> bool:
    """A word the description already used as a noun is that noun again, however the small tagger reads it in a
    short follow-up ('make the surfboard yellow' tags 'surfboard' ADJ)."""
    low = t.lower_
    if singular_word(low) not in r.known:
        return False
    if low in L.COLORS:  # "no orange" after "... next to an orange": the fruit, when the parse makes it a noun
        return t.pos_ == "NOUN" and t.tag_ != "NNS" and t.dep_ in ("ROOT", "dobj", "pobj", "nsubj", "conj")
    # "drop the remote" tags 'remote' ADJ where only a noun can stand
    if t.pos_ == "ADV":  # "no surfboard" tags it an adverb, the head of the whole message
        return t.dep_ in ("ROOT", "dobj", "pobj") and not any(c.dep_ == "pobj" for c in t.children)
    return t.pos_ == "ADJ" and t.dep_ in ("amod", "dobj", "pobj", "nsubj", "nsubjpass", "ROOT", "conj")


def _adjective(t) -> bool:
    """A describing adjective: not 'same', 'only', 'second'; 'new' only when it modifies a thing ('a new bike')."""
    if t.lower_ not in L.NOT_DESCRIPTIVE:
        return True
    return (
        t.lower_ in L.SOFT_EVALUATIVE and t.dep_ == "amod" and _nounlike(t.head) and t.head.lower_ not in L.PLACEHOLDERS
    )


def _describes(t) -> bool:
    """'I'm allergic', 'autumn would be nicer': an adjective about the user, or a comparison, describes nothing."""
    if t.tag_ in ("JJR", "JJS") and t.dep_ != "amod":
        return False
    head = t.head
    subjects = [c for c in head.children if c.dep_ in ("nsubj", "nsubjpass")] if t.dep_ in ("acomp", "attr") else []
    return not any(c.lower_ in ("i", "we", "you", "u", "it", "that", "this") and c.lower_ != "it" for c in subjects)


def _stands_for_thing(t, doc) -> bool:
    """'an orange one', 'the striped kind', 'those ones' point at a thing; 'one dog' is a count."""
    if t.lower_ != "one":
        return True
    j = t.i - 1
    while j >= 0 and (doc[j].pos_ == "ADJ" or doc[j].lower_ in L.COLORS or doc[j].lower_ in L.SIZES):
        j -= 1
    if j >= 0 and doc[j].lower_ in ("a", "an", "the", "this", "that", "which", "another", "each", "every"):
        return True
    head = t.head
    counts = t.dep_ == "nummod" and _nounlike(head) and head.lower_ not in L.ONE_WORDS
    return not counts or head.lower_ in L.PLACEHOLDERS


def _on_placeholder(t) -> bool:
    """'grainy photos of a street', 'aerial shots', 'something cinematic': a word about the picture itself."""
    h = t.head
    if h is t or h.lower_ in L.ONE_WORDS:
        return False
    return h.lower_ in L.PLACEHOLDERS or h.lemma_.lower() in L.PLACEHOLDERS


def _shade_as_noun(t) -> bool:
    """'the light is red', 'a traffic light': a shade word that names a thing (no colour follows it)."""
    nxt = t.doc[t.i + 1] if t.i + 1 < len(t.doc) else None
    return (
        t.pos_ == "NOUN"
        and not (nxt is not None and nxt.lower_ in L.COLORS)
        and (t.dep_ in ("nsubj", "nsubjpass", "dobj", "pobj", "ROOT") or any(c.dep_ == "compound" for c in t.children))
    )


_ENDS = frozenset(w for e in SCENE_CHANGE_ENDS for w in e.split())  # "make it spring instead"


_MAKING = frozenset({"make", "turn", "change", "switch", "set"})  # "let it fall" is no season


def _season_asked(t) -> bool:
    """'make it fall', 'switch it to spring': a season word the parser reads as a verb, said as what a steering verb
    makes the picture ('a vase about to fall' is no season)."""
    nxt = t.doc[t.i + 1] if t.i + 1 < len(t.doc) else None
    if t.pos_ == "VERB" and t.lower_ == "spring" and nxt is not None and nxt.is_alpha and nxt.lower_ not in _ENDS:
        return False  # "the cat springs up", "spring into action"; "make it spring instead" is the season
    before = [x.lower_ for x in t.doc[max(0, t.i - 3) : t.i]]
    return (
        bool(before)
        and before[-1] in ("it", "to", "into")
        and any(x.lemma_.lower() in _MAKING for x in t.doc[max(0, t.i - 3) : t.i])
    )


def _setting_word(t, r: Reading, neg: list[bool]) -> bool:
    """A time of day, season or weather word ('at dusk', 'in fall', 'raining'); 'snowy mountains' describes."""
    low = t.lower_
    if low in L.TIME_WORDS and not (low == "am" and t.pos_ == "AUX"):
        r.values.append(Value("time", L.TIME_WORDS[low], t.i, neg[t.i]))
    elif low in L.SEASONS and (low not in ("fall", "spring") or t.pos_ in NOUN_POS or _season_asked(t)):
        head = t.head
        if t.dep_ in ("amod", "compound") and head.pos_ in NOUN_POS and head.lower_ not in L.SETTING_HEADS:
            r.values.append(Value("adjective", low, t.i, neg[t.i], head.i))  # "winter gear", "summer dress"
        else:
            r.values.append(Value("season", L.SEASONS[low], t.i, neg[t.i]))
    elif low in L.WEATHER or low == "pouring":
        head = t.head
        thing_head = head.pos_ in NOUN_POS and head.lower_ not in L.PLACEHOLDERS | set(L.TIME_WORDS) | set(L.WEATHER)
        if t.dep_ in ("amod", "compound") and thing_head and t.pos_ != "VERB":
            r.values.append(Value("adjective", low, t.i, neg[t.i], head.i))
        else:
            said = noun_lemma(low) if t.pos_ in NOUN_POS else None  # "skip anything with snow" excludes snow
            r.values.append(Value("weather", L.WEATHER.get(low, "rainy"), t.i, neg[t.i], said=said))
    else:
        return False
    return True


def _token(t, doc, r: Reading, neg: list[bool], consumed: set[int]) -> None:
    low = t.lower_
    if low in L.ORDER_VERBS and neg[t.i]:
        pass  # "hold the carrots": the order's verb, not a thing or a word of the picture
    elif _setting_word(t, r, neg):
        pass
    elif low in ("nobody", "noone") or (low == "one" and t.i > 0 and doc[t.i - 1].lower_ == "no"):
        r.things.append(Thing(t.i, "person", True, True))  # "with nobody in it", "no one around"
    elif low in L.PICTURE_WORDS and t.pos_ in NOUN_POS:
        mods = [c for c in t.children if c.dep_ in ("amod", "compound") and c.i < t.i]
        j = t.i - 1  # "a retro feel": the parser may leave the modifier unattached
        while j >= 0 and doc[j].pos_ in ("ADJ", "NOUN") and doc[j] not in mods and doc[j].lower_ not in L.PLACEHOLDERS:
            mods.append(doc[j])
            j -= 1
        mods.sort(key=lambda c: c.i)
        consumed.update(c.i for c in mods)
        r.values.append(Value("word", " ".join([*(c.lower_ for c in mods), low]), t.i, neg[t.i]))
    elif (
        low in L.COLORS
        and not (t.pos_ == "NOUN" and t.tag_ == "NNS")
        and not _named_before(t, r)
        and not (t.dep_ == "pobj" and t.head.lower_ == "of")
    ):
        value = L.COLORS[low]
        prev = doc[t.i - 1] if t.i > 0 else None
        if prev is not None and prev.lower_ in L.SHADES and prev.i not in consumed:
            value = f"{prev.lower_} {value}"
        r.values.append(Value("color", value, t.i, neg[t.i], _attach(t)))
    elif low in L.SIZES:
        r.values.append(Value("size", L.SIZES[low], t.i, neg[t.i], _attach(t)))
    elif low in L.ONE_WORDS and _stands_for_thing(t, doc):
        r.things.append(Thing(t.i, negative=neg[t.i], definite=True))
    elif (t.like_num or low in L.NUMBERS) and not (low == "second"):
        _number(t, doc, r, neg)
    elif low in L.PAIR_WORDS and t.i + 1 < len(doc) and doc[t.i + 1].lower_ == "of":
        obj = next((c for c in doc[t.i + 1].children if c.dep_ == "pobj"), None)
        r.values.append(Value("count", 2, t.i, neg[t.i], obj.i if obj is not None else None))
    elif (
        low in L.REFERENCES
        and t.pos_ in ("PRON", "DET", "NOUN", "ADJ")
        and t.dep_ != "det"
        and not (t.tag_ == "WDT" or t.head.dep_ == "relcl" and low in ("that", "which"))
    ):  # "a television that is sitting above a fireplace": a relative "that" points at the television, not back
        r.things.append(Thing(t.i, negative=neg[t.i], definite=True))
    elif (_nounlike(t) or _named_before(t, r)) and (low not in L.SHADES or _shade_as_noun(t)):
        _noun(t, r, neg)
    elif t.pos_ == "ADJ" and _adjective(t) and low not in L.FILLER and low not in L.SHADES and _describes(t):
        slot = "word" if _on_placeholder(t) else "adjective"
        r.values.append(Value(slot, low, t.i, neg[t.i], _attach(t)))
    elif (
        t.pos_ == "VERB"
        and t.lemma_.lower() not in CUE_VERBS
        and low not in L.FILLER
        and low not in L.NOT_DESCRIPTIVE
        and t.i > 0
        and t.is_alpha
        and len(low) > 2
    ):
        # "the guy selling them" under a negation: the verb says which guy; only the guy is excluded
        if not (neg[t.i] and t.dep_ in ("acl", "relcl") and t.head.pos_ in NOUN_POS and neg[t.head.i]):
            r.values.append(Value("word", low, t.i, neg[t.i]))
    elif t.pos_ in ("X", "INTJ", "PROPN") and t.is_alpha and low not in L.FILLER and len(low) > 2:
        if not is_english(low):
            r.values.append(Value("word", low, t.i, neg[t.i]))


def _number(t, doc, r: Reading, neg: list[bool]) -> None:
    low = t.lower_
    try:
        n = int(low) if low.isascii() and low.isdecimal() else L.NUMBERS[low]
    except (KeyError, ValueError):
        return
    if n > 99:
        return
    target = t.head.i if t.dep_ == "nummod" and t.head.pos_ in NOUN_POS else None
    if target is None and t.i + 2 < len(doc) and doc[t.i + 1].lower_ == "of":
        obj = next((c for c in doc[t.i + 1].children if c.dep_ == "pobj"), None)
        if obj is not None and obj.lower_ not in L.REFERENCES:
            target = obj.i
    r.values.append(Value("count", n, t.i, neg[t.i], target))


def _noun(t, r: Reading, neg: list[bool]) -> None:
    low, lem = t.lower_, t.lemma_.lower()
    if low in L.PLACEHOLDERS or lem in L.PLACEHOLDERS or low in L.FILLER:
        return
    if lem in L.QUANTITY_NOUNS and not any(c.dep_ in ("amod", "compound") for c in t.children):
        return  # "lots of taxis", "a bunch of flowers", "a lot": a quantity, not a thing in the picture
    head = t.head
    head_is_placeholder = head.lower_ in L.PLACEHOLDERS or head.lemma_.lower() in L.PLACEHOLDERS
    head_is_placeholder = head_is_placeholder or head.lower_ in L.PLACE_ADVERBS or head.lower_ in L.PICTURE_WORDS
    if t.dep_ in ("compound", "amod", "nmod") and t.i < head.i and _nounlike(head) and not head_is_placeholder:
        if head.lower_ not in L.PICTURE_WORDS and t.pos_ in NOUN_POS and head.lower_ not in L.COLORS:
            return  # part of the head's noun: "sports car", "living room"; not "make the laptop silver"
    if t.dep_ in ("compound", "amod") and head_is_placeholder and any(c.lower_ == "of" for c in head.children):
        r.values.append(Value("word", low, t.i, neg[t.i]))  # "retro photos of a diner": about the picture
        return
    definite = any(
        c.dep_ in ("det", "poss") and c.lower_ in ("the", "that", "those", "these", "this") for c in t.children
    )
    plural = t.tag_ in ("NNS", "NNPS") or low in ("people", "folks")
    noun = _compound_noun(t)
    if t.pos_ not in NOUN_POS:
        lemma = noun_lemma(low) or low
        plural = lemma != low
        noun = noun.rsplit(" ", 1)[0] + " " + lemma if " " in noun else lemma
    if t.dep_ == "pobj" and head.lower_ == "of" and head.head.lower_ in L.COLLECTIVES:
        plural = True  # "a herd of sheep", "a flock of geese": a collective's things are many, whatever their form
    r.things.append(Thing(t.i, noun, plural, neg[t.i], definite))


def classify(doc, r: Reading, neg: list[bool]) -> None:
    """Fill a reading with the things and values of a parse; `neg` says which tokens are negated."""
    consumed: set[int] = set()
    multiword_times(doc, r, neg, consumed)
    places(doc, r, neg, consumed)
    for t in doc:  # a picture word first takes its modifiers: "soft focus", "long exposure"
        if t.lower_ in L.PICTURE_WORDS and t.pos_ in NOUN_POS and t.i not in consumed:
            _token(t, doc, r, neg, consumed)
            consumed.add(t.i)
    for t in doc:  # "a fire hydrant on a street": a listed name whose last word the tagger took for an adjective
        n = doc[t.i + 1] if t.i + 1 < len(doc) else None
        after = doc[t.i + 2] if t.i + 2 < len(doc) else None
        if (
            n is not None
            and t.pos_ == "NOUN"
            and n.pos_ in ("ADJ", "ADV")
            and {t.i, n.i}.isdisjoint(consumed)
            and (after is None or after.pos_ not in NOUN_POS)  # "on the street light snow falling": not a name
            and ends_listed_name(n)
        ):
            last = singular_word(n.lower_)
            definite = any(c.dep_ in ("det", "poss") and c.lower_ in ("the", "that", "this") for c in t.children)
            r.things.append(Thing(t.i, f"{t.lower_} {last}", last != n.lower_, neg[t.i], definite))
            consumed |= {t.i, n.i}
    for t in doc:
        if t.i not in consumed and not t.is_punct and not t.is_space:
            _token(t, doc, r, neg, consumed)
