"""The question step: after a search, ask the one question whose answer would tell the top candidates apart.

Each candidate's facts come from its stored vector (tools.probes: zero-shot probes, calibrated on the gallery, no
captions needed) and, where it has a caption, from the caption read with the same English reader as the user's
messages (a caption's word wins over the vector's on the same question): which things it shows, their colour /
size / count, and the time, place, season and weather. A question (the colour of a thing,
the time of day, the place, whether a thing is in the picture) splits the candidates by their answers; its value
is the information its answer is expected to give about which candidate the user wants (the entropy of the answer
under the candidates' calibrated match), counting only candidates whose facts answer it, and only answers
that name something to look for (a 'no' or 'nothing else' counts as telling nothing). The best question that is
not already answered by the search state, and was not asked before, is asked with 2-4 options taken from the
facts, and only when the candidates really differ (the next best is tried when the best leaves too many
candidates unanswered).
"""

from __future__ import annotations

import logging
import math
import re
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from picseek.agent.english.lexicon import SEASON_PHRASE, TIME_PHRASE, WEATHER_PHRASE, number_word
from picseek.agent.safety import sanitize
from picseek.agent.state import Question, SearchState, plural, singular
from picseek.tools.probes import ImageFacts, Probes
from picseek.tools.retrieve import Hit

log = logging.getLogger(__name__)
MIN_BITS = 0.5  # a question must be worth at least this much information (a 1-in-8 split of equal candidates: 0.54)
MIN_COVER = 0.35  # ...and its answer must be known for at least this share of the candidates' weight
MAX_OPTIONS = 4
FLOOR = 0.25  # a candidate with no match may still be the one wanted (a target far down the list)
NOTHING = "nothing else"
DENIALS = frozenset({NOTHING, "no"})  # answers that name nothing to look for


@dataclass(frozen=True)
class Facts:
    """What one caption says."""

    things: frozenset[str] = frozenset()  # singular nouns
    attrs: tuple[tuple[str, str, str], ...] = ()  # (noun, slot, value)
    setting: tuple[tuple[str, str], ...] = ()  # (slot, value)
    places: tuple[str, ...] = ()  # place phrases as written


@dataclass
class Candidate:
    """A possible question with its options and the information its answer would give."""

    question: Question
    bits: float
    cover: float


_cache: dict[str, Facts] = {}
_WORD = re.compile(r"[a-z][a-z' -]{0,40}")


def clear_cache() -> None:
    """Forget the captions read so far (benches time the question step cold)."""
    _cache.clear()


def read_captions(captions: list[str | None]) -> list[Facts]:
    """Facts of many captions, parsing the new ones in one batch (a caption is a noun phrase: one parse each)."""
    from picseek.agent.english.language import parse_many
    from picseek.agent.english.reading import clean

    new = sorted({c for c in captions if c and c not in _cache})
    for c, doc in zip(new, parse_many(["find " + clean(c.lower()) for c in new])):
        facts(c, doc)
    return [facts(c) for c in captions]


def facts(caption: str | None, doc=None) -> Facts:
    """Read a caption into facts (cached: captions repeat across turns)."""
    if not caption:
        return Facts()
    if caption in _cache:
        return _cache[caption]
    from picseek.agent.english.reading import read

    r = read(caption.lower(), doc)
    things, attrs, setting, places = set(), [], [], []
    for t in r.things:
        if not t.ref and not t.negative:
            things.add(singular(t.noun))
    for v in r.values:
        if v.negative:
            continue
        if v.slot in ("color", "size", "count"):
            t = r.thing_at(r.owner(v))
            if t is not None and not t.ref:
                attrs.append((singular(t.noun), v.slot, str(v.value)))
        elif v.slot == "place":
            places.append(str(v.value))
            setting.append(("place", _place_key(str(v.value))))
        elif v.slot in ("time", "season", "weather"):
            setting.append((v.slot, str(v.value)))
    # Captions are untrusted text: only plain words become facts (and so questions and options).
    things = {t for t in things if _WORD.fullmatch(t)}
    attrs = [a for a in attrs if _WORD.fullmatch(a[0]) and _WORD.fullmatch(a[2])]
    places = [p for p in places if _WORD.fullmatch(p)]
    setting = [(s, v) for s, v in setting if _WORD.fullmatch(v)]
    out = Facts(frozenset(things), tuple(attrs), tuple(setting), tuple(places))
    if len(_cache) > 20000:
        _cache.clear()
    _cache[caption] = out
    return out


def _place_key(place: str) -> str:
    from picseek.agent.english.lexicon import LOCATIVE

    words = [w for w in place.lower().split() if w not in LOCATIVE and w not in ("a", "an", "the", "to", "of")]
    return " ".join(singular(w) for w in words) or place


def _entropy(weights) -> float:
    total = float(sum(weights))
    return -sum(w / total * math.log2(w / total) for w in weights if w > 0) if total > 0 else 0.0


def _gain(w: np.ndarray, by: dict[int, set[str]], values: list[str]) -> float:
    """Expected information (bits) the answer gives about which candidate is wanted, counting only answers that
    name something the search can look for.

    A candidate whose caption states the answer gives it for sure (split evenly when it states several: two
    trees of two colours); one whose caption is silent could give any answer. A denial ("no", "nothing else")
    tells the candidates apart just as well, but the search can only push the denied things down, and the
    wanted image is often not among the candidates yet (a description of one noun leaves it far down the
    list): such an answer is counted as telling nothing, so questions whose every answer names a value (the
    user names the true one when no option fits) come first.
    """
    prior = _entropy(w)
    expected = 0.0
    for a in values:
        like = np.array(
            [(1.0 / len(by[i]) if a in by[i] else 0.0) if i in by else 1.0 / len(values) for i in range(len(w))]
        )
        post = w * like
        pa = float(post.sum())
        if pa > 0:
            expected += pa * (prior if a in DENIALS else _entropy(post))
    return prior - expected


def keys(q: Question) -> list[str]:
    """The keys a question uses up: 'what else — a car or a boat?' also settles 'is there a car?'."""
    if q.kind == "presence" and not q.noun:
        return [key(q), *(f"presence::{singular(o.split()[-1])}" for o in q.options)]
    return [key(q)]


def key(q: Question) -> str:
    """What a question is about, so it is never asked twice ('what else' is asked again once more is known)."""
    if q.kind == "presence" and not q.noun:
        return "presence:::" + ",".join(sorted(q.options))
    return f"{q.kind}:{q.slot or ''}:{singular(q.noun) if q.noun else ''}"


def weights(hits: list[Hit]) -> np.ndarray:
    """How likely each candidate is the wanted one: its calibrated match (tools.relevance), which already says how
    far it sits above chance and below the best; a floor of 1 keeps every candidate in play (the target is often
    not yet among the strong ones). Raw cosines are never compared: a spread of 0.001 is noise on one model and
    meaning on another."""
    m = np.array([max(int(h.match), 0) for h in hits], dtype=np.float64) / 100 + FLOOR
    return m / m.sum() if len(m) else m


def merge(caption: Facts, vector: ImageFacts) -> Facts:
    """A candidate's facts: its caption's, plus what its vector says on the questions the caption is silent on."""
    said = {s for s, _ in caption.setting}
    setting = [*caption.setting]
    places = [*caption.places]
    for slot, value in vector.setting:
        if slot in said:
            continue
        if slot == "place":
            places.append(value)
            value = _place_key(value)
        setting.append((slot, value))
    stated = {(n, s) for n, s, _ in caption.attrs}
    attrs = [*caption.attrs, *(a for a in vector.attrs if (a[0], a[1]) not in stated)]
    return Facts(caption.things | vector.things, tuple(attrs), tuple(setting), tuple(places))


class Questioner:
    """Chooses, phrases and checks questions; used by the offline agent and to filter the LLM's questions."""

    def __init__(
        self, min_bits: float = MIN_BITS, min_cover: float = MIN_COVER, probes: Probes | None = None, captions=True
    ):
        """`probes`: facts from the candidates' vectors (none: captions only); `captions`: False reads no caption
        (--no-captions: vector facts only)."""
        self.min_bits, self.min_cover = min_bits, min_cover
        self.probes, self.captions = probes, captions

    def vector_facts(self, state: SearchState, hits: list[Hit], words: list[str] = ()) -> list[ImageFacts]:
        """What the candidates' vectors say (nothing without probes, or when the probes fail: a nicety)."""
        if self.probes is None or not hits:
            return [ImageFacts() for _ in hits]
        subjects = [singular(s.noun) for s in state.required]
        wanted = [*(singular(w) for w in state.words if _WORD.fullmatch(w)), *words]
        try:
            return self.probes.facts([h.id for h in hits], subjects, wanted)
        except Exception as e:
            log.warning("vector facts failed: %r", e)
            return [ImageFacts() for _ in hits]

    def facts_of(self, state: SearchState, hits: list[Hit]) -> list[Facts]:
        """Each candidate's facts: the caption's (unless captions are off) merged with the vector's."""
        fs = read_captions([h.caption if self.captions else None for h in hits])
        if self.probes is None:
            return fs
        vs = self.vector_facts(state, hits, sorted({t for f in fs for t in f.things}))
        return [merge(f, v) for f, v in zip(fs, vs)]

    def candidates(self, state: SearchState, hits: list[Hit], asked: tuple[str, ...] = ()) -> list[Candidate]:
        """Every open question the facts could answer, with its expected information, best first."""
        w = weights(hits)
        fs = self.facts_of(state, hits)
        answers: dict[tuple, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
        for i, f in enumerate(fs):
            for noun, slot, value in f.attrs:
                answers[("attribute", slot, noun)][i].add(_option_text(slot, value))
            for slot, value in f.setting:
                text = value if slot != "place" else next((p for p in f.places if _place_key(p) == value), value)
                answers[("setting", slot, None)][i].add(_option_text(slot, text))
        known_nouns = {singular(n) for s in state.subjects for n in (s.noun, s.noun.split()[-1])}
        known_nouns |= {k.split(":")[-1] for k in asked if k.startswith("presence::")}  # offered before
        captioned = [i for i, f in enumerate(fs) if f.things]
        for noun in {n for f in fs for n in f.things}:
            for i in captioned:
                answers[("presence", None, noun)][i].add("yes" if noun in fs[i].things else "no")
        for i in captioned:  # "What else is in it — a car, a boat or a house?"
            others = {n for n in fs[i].things if n not in known_nouns}
            answers[("presence", None, None)][i] |= {_with_article(n) for n in others} or {NOTHING}
        out = []
        for (kind, slot, noun), by in answers.items():
            if not self._open(state, kind, slot, noun):
                continue
            mass = defaultdict(float)
            for i, values in by.items():
                for v in values:
                    mass[v] += w[i] / len(values)
            if len(mass) < 2:
                continue
            ranked = sorted(mass, key=lambda v: -mass[v])
            if kind == "presence" and noun:
                shown = ["yes", "no"]
            else:
                shown = [v for v in ranked if v != NOTHING][:MAX_OPTIONS]
                if len(shown) < 2 and not (noun is None and kind == "presence" and shown):
                    continue
            safe = {x: sanitize(x, 60).replace("\n", " ") for x in shown}  # as the user will see them
            shown = [x for x in shown if safe[x] and "[link removed]" not in safe[x]]
            if len(shown) < (1 if kind == "presence" and not noun else 2):
                continue
            q = Question(kind=kind, slot=slot, noun=noun, options=[safe[x] for x in shown])
            q.text = phrase(q)
            cover = sum(w[i] for i in by) / max(float(w.sum()), 1e-9)
            if kind == "presence" and not noun:
                # "What else — a car, a boat or a house?" is answered with every option that is in the picture
                # ("a boat and a house"): the answer is the set, one value per combination the captions show.
                by = {i: {" + ".join(sorted(v & set(shown))) or NOTHING} for i, v in by.items()}
            out.append(Candidate(q, _gain(w, by, sorted({v for vs in by.values() for v in vs})), cover))
        return sorted(out, key=lambda c: -c.bits)

    def _open(self, state: SearchState, kind: str, slot: str | None, noun: str | None) -> bool:
        """Whether the state leaves this question open (nothing the user said answers it already)."""
        if kind == "presence":
            return noun is None or (state.find(noun, excluded=None) is None and noun not in state.negatives)
        if kind == "attribute":
            s = state.find(noun)
            return s is not None and getattr(s, slot) is None
        return getattr(state.setting, slot) is None

    def ask(self, session, hits: list[Hit]) -> Question | None:
        """The question to ask now, or None when the candidates do not really differ."""
        for c in self.candidates(session.state, hits, tuple(session.asked_before)):
            if key(c.question) in session.asked_before:
                continue
            if c.bits < self.min_bits:
                return None  # best first: none further on is worth asking either
            if c.cover >= self.min_cover:
                return c.question
            # the best answers too few candidates: the next may split the rest as well
        return None

    def splits(self, session, hits: list[Hit]) -> list[dict]:
        """What tells the candidates apart, for the language model's look at them."""
        return [
            {"question": c.question.text, "options": c.question.options, "bits": round(c.bits, 2)}
            for c in self.candidates(session.state, hits)[:6]
            if key(c.question) not in session.asked_before
        ]

    def check(self, session, q: Question, hits: list[Hit]) -> tuple[str | None, Question | None]:
        """(why a proposed question must not be asked, None), or (None, the same question grounded in the
        captions: our wording and options). Refused: repeats, what is known, what does not split the candidates,
        options no caption says."""
        if q.kind == "attribute" and not q.noun:
            return "say which thing the question is about (noun)", None
        if q.kind in ("attribute", "setting") and not q.slot:
            return "say which slot the question is about", None
        if q.kind == "presence" and not q.noun:
            return "ask about one thing (noun); picseek asks 'what else is in it' itself", None
        if key(q) in session.asked_before:
            return "that was asked before", None
        if not self._open(session.state, q.kind, q.slot, q.noun):
            return "the user already said that", None
        if q.kind != "presence" and not 2 <= len(q.options) <= MAX_OPTIONS:
            return "give 2 to 4 options", None
        known = {key(c.question): c for c in self.candidates(session.state, hits, tuple(session.asked_before))}
        c = known.get(key(q))
        if c is None or c.bits < self.min_bits / 2:
            return "the candidates' captions do not differ on that; ask about something that splits them", None
        offered = {_value(q.slot, o): o for o in c.question.options}
        strays = [o for o in q.options if q.kind != "presence" and _value(q.slot, o) not in offered]
        if strays:
            return f"options must come from the candidates' captions; none of them says {', '.join(strays[:3])}", None
        grounded = c.question.model_copy(deep=True)
        if q.kind != "presence":  # keep the model's choice of options, in the captions' words
            grounded.options = list(dict.fromkeys(offered[_value(q.slot, o)] for o in q.options))
            grounded.text = phrase(grounded)
        return None, grounded


def _with_article(noun: str) -> str:
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def _value(slot: str | None, option: str) -> str:
    """What an option says for the slot: 'at dusk' -> 'sunset', 'the red one' -> 'red', 'on grass' -> 'grass'."""
    f = facts(f"a thing {option}" if slot in ("time", "place", "season", "weather") else f"{option} thing")
    for s, v in f.setting:
        if s == slot:
            return v
    for _, s, v in f.attrs:
        if s == slot:
            return v
    return option.lower().strip()


def _option_text(slot: str, value: str) -> str:
    if slot == "time":
        return TIME_PHRASE.get(value, value)
    if slot == "season":
        return SEASON_PHRASE.get(value, value)
    if slot == "weather":
        return WEATHER_PHRASE.get(value, value)
    if slot == "count":
        return number_word(int(value))
    return value


def _or(options: list[str]) -> str:
    return options[0] if len(options) == 1 else ", ".join(options[:-1]) + " or " + options[-1]


def phrase(q: Question) -> str:
    """'Which car — red, white or orange?', 'At night or during the day?', 'Is there a tree in it?'."""
    if q.kind == "presence" and not q.noun:
        return f"What else is in it — {_or(q.options)}?"
    if q.kind == "presence":
        return f"Is there {_with_article(q.noun)} in it?"
    if q.kind == "attribute":
        if q.slot == "count":
            return f"How many {plural(q.noun)} — {_or(q.options)}?"
        return f"Which {q.noun} — {_or(q.options)}?"
    if q.slot == "place":
        return f"Where — {_or(q.options)}?"
    text = _or(q.options)
    return text[0].upper() + text[1:] + "?"
