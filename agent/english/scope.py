"""How far a negation reaches and where a clause ends: 'without people at night' excludes the people, not the
night; 'no boats, make it red' ends the exclusion at the comma."""

from __future__ import annotations

from picseek.agent.english import lexicon as L
from picseek.agent.english.plurals import singular_word

BOUNDARY_WORDS = L.BOUNDARY_WORDS
CUE_VERBS = L.WANT_VERBS | L.EXCLUDE_VERBS | L.ADD_CUES | L.CUE_VERBS_EXTRA


def negation(doc) -> list[bool]:
    """Which tokens are under a negation: 'without people', 'no trees', 'leave out the boats', 'not red'."""
    n = len(doc)
    neg = [False] * n
    for t in doc:
        trig = is_trigger(t, doc)
        if not trig:
            continue
        # copula with the thing before it: "people shouldn't be in it", "boats are not wanted"
        if t.dep_ == "neg" and t.head.lemma_ == "be":
            for c in t.head.children:
                if c.dep_ in ("nsubj", "nsubjpass") and c.i < t.i:
                    for s in c.subtree:
                        neg[s.i] = True
        for j in range(t.i + 1, n):
            u = doc[j]
            if u.is_punct and u.text not in ("'", '"', "-") or u.lower_ in BOUNDARY_WORDS:
                break
            if j > t.i + 1 and u.pos_ == "VERB" and u.lemma_ not in ("want", "see", "show", "have", "include", "need"):
                if u.lemma_ in CUE_VERBS or u.dep_ in ("conj", "ROOT"):
                    break
            if u.lower_ in ("with",) and doc[j - 1].lower_ in ("but", "and") and j - 1 > t.i:
                break
            neg[j] = True
        neg[t.i] = True
    return neg


def is_trigger(t, doc) -> bool:
    low = t.lower_
    if low in ("no", "without", "except", "excluding", "minus", "nor", "none", "nothing", "neither"):
        # "no" as an answer word or filler ("no, I meant red") is not a negation of what follows
        if low == "no" and _reported(t):
            return False  # "a sign that indicates there is no skateboarding": what the sign says
        return not (low == "no" and (t.i + 1 < len(doc) and doc[t.i + 1].is_punct or t.i + 1 == len(doc)))
    if low in ("not", "n't", "never") or t.dep_ == "neg":
        if _reported(t):
            return False  # "a sign telling people not to park", "a sign that says there is no parking": its words
        # "I don't mind people", "doesn't matter": a negated objection allows
        return t.head.lemma_.lower() not in ("mind", "care", "matter", "object", "bother")
    if low == "rid" and t.i > 0 and doc[t.i - 1].lemma_ == "get":
        return True
    if t.pos_ == "VERB" and t.lemma_ in L.EXCLUDE_VERBS and not _describing_verb(t, doc):
        if t.lemma_ in ("leave", "take", "cut", "filter", "strip", "keep"):
            return any(c.lower_ in ("out", "off", "away") for c in t.children) or (
                t.i + 1 < len(doc) and doc[t.i + 1].lower_ in ("out", "off", "away")
            )
        if t.lemma_ == "forget":
            obj = [c for c in t.children if c.dep_ == "dobj"]
            return bool(obj) and obj[0].lower_ not in ("it", "that", "this", "everything", "all")
        return True
    if low in L.ORDER_VERBS:  # "hold the carrots", said as an order: the first word, then "the"
        return t.i == 0 and t.i + 1 < len(doc) and doc[t.i + 1].lower_ == "the"
    return low == "free" and t.i + 1 < len(doc) and doc[t.i + 1].lower_ == "of"


_SAYING = frozenset({"say", "read", "indicate", "tell", "warn", "ask", "announce", "instruct", "spell"})
_USER = frozenset({"i", "you", "we", "u", "us", "'s", "me", "someone", "somebody", "anyone"})  # who asks, or is asked


def _reported(t) -> bool:
    """Whether a negation is inside what a thing in the picture says ('a sign that indicates there is no
    skateboarding', 'telling people not to park'): words of the picture, never the user's own ('i said no people')."""
    for v in t.ancestors:
        if v.lemma_.lower() in _SAYING and v.pos_ == "VERB":
            who = [c for c in v.children if c.dep_ in ("nsubj", "nsubjpass")]
            return not any(c.lower_ in _USER for c in who)
    return False


def _describing_verb(t, doc) -> bool:
    """Whether a verb of taking away is said of the picture, not asked of the results: a thing in it is its subject
    ('aircraft are taking off', 'a man takes off his hat'; 'can you take out the cars', "let's remove the umbrellas"
    ask), or it is said as a modifier ('a slice of take out pizza', 'a pizza with 3 slices removed')."""
    who = [c for c in t.children if c.dep_ in ("nsubj", "nsubjpass")]
    if any(c.pos_ in ("NOUN", "PROPN") and c.lower_ not in _USER for c in who):
        return True
    if t.i > 0 and doc[t.i - 1].pos_ in ("ADP", "DET"):
        return True
    return t.tag_ == "VBN" and t.dep_ in ("acl", "amod") and t.head.pos_ in ("NOUN", "PROPN") and t.head.i < t.i


def segments(doc) -> list[int]:
    seg, out = 0, []
    for t in doc:
        if (t.is_punct and t.text not in ("'", '"')) or t.lower_ in BOUNDARY_WORDS:
            seg += 1
        out.append(seg)
    return out


_BETWEEN = frozenset("at in on during by under the a an any some of with more".split())  # "no more snow"


def directly_negated(doc, i: int) -> bool:
    j = i - 1
    while (
        j >= 0
        and not is_trigger(doc[j], doc)
        and (  # "no" is a placeholder too ("no photos at night")
            doc[j].lower_ in _BETWEEN
            or doc[j].lower_ in L.PLACEHOLDERS
            or doc[j].lower_ in ("that", "which", "are", "is", "taken", "shot")
        )
    ):
        j -= 1
    return j >= 0 and is_trigger(doc[j], doc)


def describes(doc, i: int) -> bool:
    """Whether the negation over token i says what the word before it is like rather than asking for results
    without something: 'a street corner with no people or cars', 'a bathroom without towels' describe the corner
    and the bathroom; 'red cars, no people', 'at night and without people' and 'a red one at night without people'
    ask for results without people."""
    j = i - 1
    while j >= 0 and not is_trigger(doc[j], doc):
        j -= 1
    if j < 0:
        return False
    if j > 0 and doc[j - 1].dep_ == "cc" and doc[j].lower_ in ("no", "without"):
        return describes(doc, j - 1)  # "with no cars and no people": the second negation is the first one's
    if doc[j].lower_ == "without":
        w = j - 1
    elif doc[j].lower_ == "no" and j > 0 and doc[j - 1].lower_ == "with":
        w = j - 2
    else:
        return False
    # a time, season or weather before it describes nothing ("at night without people" asks), except a scene's
    # time said with "with no" after the scene ("a city street at sunset with no cars")
    setting = doc[w].lower_ in L.TIME_WORDS or doc[w].lower_ in L.SEASONS or doc[w].lower_ in L.WEATHER
    scene_time = setting and doc[j].lower_ == "no" and any(singular_word(t.lower_) in L.SCENE_NOUNS for t in doc[:w])
    return (
        w >= 0
        # "a kitchen ... is very clean with no dishes": an adjective said of the scene ("something peaceful with no
        # people" asks)
        and (doc[w].pos_ in ("NOUN", "PROPN", "VERB") or doc[w].pos_ == "ADJ" and doc[w].dep_ == "acomp")
        and (not setting or scene_time)
        and doc[w].lower_ not in L.PLACEHOLDERS
        and not is_trigger(doc[w], doc)
    )
