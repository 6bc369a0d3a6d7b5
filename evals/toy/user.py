"""A simulated user who knows the target toy scene exactly (from scenes.jsonl; evals only).

It answers the agent's questions in varied plain English (the true option when one is offered, "none of these,
it's blue" when none is true, "I don't know" to what the scene cannot answer), and, for the `volunteer`
baseline, offers one true fact of its own choosing per round, in random order.

With `answers="dev"` or `"heldout"` its phrasing is drawn at random from the blind answer templates of
evals/language/real (every answers-dev*.json / answers-heldout.json, written without reading the tracker: "no, there
is no car", "not that I can see", "yes, a red one", ...): development runs use the dev half, reported runs the
held-out half. `answers="own"` keeps the phrasings below (picseek's own, close to what the tracker reads).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from picseek.ui.demo import world

NOUN_OF = {w: n for n, ws in world.NOUN_WORDS.items() for w in ws}
TIME_OF = {"day": "day", "night": "night", "sunset": "sunset", "evening": "sunset", "afternoon": "day"}
TIME_SAY = {"day": "during the day", "night": "at night", "sunset": "at sunset"}
GROUND_SAY = {"grass": "on the grass", "water": "on the water"}
DONT_KNOW = ("i don't know", "not sure", "no idea", "i can't tell")
TEMPLATES = Path(__file__).resolve().parents[1] / "language" / "real"
ANSWER_SETS = ("own", "dev", "heldout")


def load_templates(which: str) -> dict[str, list[str]] | None:
    """The blind answer templates of one half ({situation: [template, ...]}), or None for picseek's own."""
    if which == "own":
        return None
    if which not in ANSWER_SETS:
        raise ValueError(f"unknown answer phrasings {which!r}: choose from {', '.join(ANSWER_SETS)}.")
    if which == "heldout":
        return json.loads((TEMPLATES / "answers-heldout.json").read_text(encoding="utf-8"))
    merged: dict[str, list[str]] = {}  # every development half ("answers-dev.json", "answers-dev2.json", ...)
    for path in sorted(TEMPLATES.glob("answers-dev*.json")):
        for situation, templates in json.loads(path.read_text(encoding="utf-8")).items():
            merged.setdefault(situation, []).extend(templates)
    return merged


def _noun(word: str | None) -> str | None:
    if not word:
        return None
    w = word.lower().split()[-1]
    return NOUN_OF.get(w) or NOUN_OF.get(w.rstrip("s")) or NOUN_OF.get(w[:-2] if w.endswith("es") else w)


def _described(description: str) -> str | None:
    """The toy noun a first description names ("photos with a boat in them" -> boat)."""
    return next((n for n in (_noun(w) for w in description.replace("?", " ").split()) if n), None)


def _time_of(text: str) -> str | None:
    from picseek.agent.english.lexicon import TIME_WORDS

    for w, t in sorted(TIME_WORDS.items(), key=lambda x: -len(x[0])):
        if w in text.lower():
            return TIME_OF.get(t)
    return None


def _ground_of(text: str) -> str | None:
    t = text.lower()
    if any(w in t for w in ("grass", "lawn", "field", "meadow")):
        return "grass"
    if any(w in t for w in ("water", "lake", "sea", "river", "pond", "ocean")):
        return "water"
    return None


class ToyUser:
    def __init__(self, gallery: Path, seed: int = 0, answers: str = "own"):
        self._init(world.load_scenes(gallery), seed, answers)

    @classmethod
    def from_scenes(cls, scenes: list[world.Scene], seed: int = 0, answers: str = "own") -> ToyUser:
        """A user who knows these scenes (no gallery folder needed)."""
        user = cls.__new__(cls)
        user._init(scenes, seed, answers)
        return user

    def _init(self, scenes: list[world.Scene], seed: int, answers: str = "own") -> None:
        self.scenes = {s.file: s for s in scenes}
        self.templates = load_templates(answers)
        self.seed = seed
        self.rng = random.Random(seed)
        self.facts: list[str] = []
        self.named: set[str] = set()

    def start(self, target) -> None:
        """A new dialogue: the facts it may volunteer, in its own random order."""
        self.rng = random.Random(f"{self.seed}-{target.id}")
        self.facts = self._facts(self.scenes[target.target], target.description)
        self.rng.shuffle(self.facts)
        said = _described(target.description)
        self.named = {said} if said else set()  # things this user has mentioned

    def volunteer(self, target) -> str | None:
        return self.facts.pop(0) if self.facts else None

    def _facts(self, s: world.Scene, description: str) -> list[str]:
        """One true fact each (time, ground, and each thing's presence, colour and size), for `volunteer`."""
        said = _described(description)
        out = [self.rng.choice(("it's {t}", "taken {t}", "{t}", "it was {t}")).format(t=TIME_SAY[s.time])]
        if s.ground in GROUND_SAY:
            out.append(self.rng.choice(("it's {g}", "{g}", "everything is {g}")).format(g=GROUND_SAY[s.ground]))
        for o in s.objects:
            if o.noun == said:
                said = None  # the first matching thing is the one described
            else:
                out.append(self.rng.choice(("there's also a {n}", "with a {n}", "plus a {n}")).format(n=o.noun))
            out.append(self.rng.choice(("the {n} is {c}", "it's a {c} {n}")).format(n=o.noun, c=o.color))
            out.append(self.rng.choice(("the {n} is {z}", "a {z} {n}")).format(n=o.noun, z=o.size))
        return out

    def _say(self, situation: str, own: str, **values) -> str:
        """The answer in a phrasing drawn from the templates of this situation, or `own` without templates."""
        if self.templates is None or not self.templates.get(situation):
            return own
        return self.rng.choice(self.templates[situation]).format(**values).lower()

    def answer(self, target, q) -> str:
        s = self.scenes[target.target]
        if q.kind == "presence" and not q.noun:
            return self._what_else(s, q.options)
        if q.kind == "presence":
            return self._presence(s, _noun(q.noun))
        if q.kind == "attribute":
            return self._attribute(s, _noun(q.noun), q.slot, q.options)
        if q.slot == "time":
            return self._pick(q.options, s.time, _time_of, TIME_SAY[s.time])
        if q.slot == "place" and s.ground in GROUND_SAY:
            return self._pick(q.options, s.ground, _ground_of, GROUND_SAY[s.ground])
        if q.slot == "place":
            return self._say("options_none", self.rng.choice(("neither", "none of these")))
        return self._say("dont_know", self.rng.choice(DONT_KNOW))

    def _what_else(self, s: world.Scene, options: list[str]) -> str:
        """'What else is in it — a car, a boat or a house?': the true ones among the options, and nothing more."""
        offered = {_noun(o) for o in options}
        new = [o for o in s.objects if o.noun not in self.named]
        hits = list(dict.fromkeys(o.noun for o in new if o.noun in offered))
        self.named |= set(hits)
        if len(hits) == 1:
            return self._say("options_one", f"a {hits[0]}", a=hits[0])
        if hits:
            own = " and ".join(f"a {n}" for n in hits)
            return self._say("options_some", own, a=hits[0], b=" and a ".join(hits[1:]))
        if new:
            return self._say("options_none", self.rng.choice(("none of these", "none of those")))
        return self._say("options_none", self.rng.choice(("nothing else", "no", "none of these")))

    def _presence(self, s: world.Scene, noun: str | None) -> str:
        if noun is None:
            return self._say("dont_know", self.rng.choice(DONT_KNOW))
        if any(o.noun == noun for o in s.objects):
            return self._say("presence_yes", self.rng.choice(("yes", "yeah", "yes, there is", "yep")), thing=noun)
        return self._say("presence_no", self.rng.choice(("no", "nope", f"no {noun}s", "no, there isn't")), thing=noun)

    def _attribute(self, s: world.Scene, noun: str | None, slot: str | None, options: list[str]) -> str:
        objs = [o for o in s.objects if o.noun == noun]
        if not objs:
            if noun:
                return self._say("presence_no", self.rng.choice((f"there's no {noun}", *DONT_KNOW)), thing=noun)
            return self._say("dont_know", self.rng.choice(DONT_KNOW))
        if slot == "color":
            true = [o.color for o in objs]
            hit = next((o for o in options if o.lower() in true or o.lower() == "violet" and "purple" in true), None)
            if hit:
                own = self.rng.choice(("{o}", "the {o} one", "it's {o}", "{o} i think")).format(o=hit)
                return self._say("attribute_value", own, value=hit, thing=noun)
            own = self.rng.choice(("none of these, it's {c}", "neither, it's {c}", "no, it's {c}")).format(c=true[0])
            return self._say("attribute_other", own, value=true[0], thing=noun)
        if slot == "size":
            true = [o.size for o in objs]
            words = {w: z for z, ws in world.SIZE_WORDS.items() for w in ws}
            hit = next((o for o in options if words.get(o.lower()) in true), None)
            own = self.rng.choice(("{o}", "the {o} one")).format(o=hit) if hit else f"it's {true[0]}"
            return self._say("size_value", own, value=hit or true[0], thing=noun)
        if slot == "count":
            return self._say("count_value", str(len(objs)), value=str(len(objs)), thing=noun)
        return self._say("dont_know", self.rng.choice(DONT_KNOW))

    def _pick(self, options: list[str], true: str, read, say: str) -> str:
        hit = next((o for o in options if read(o) == true), None)
        if hit:
            own = self.rng.choice(("{o}", "{o} i think", "it's {o}")).format(o=hit)
            return self._say("setting_value", own, value=hit)
        own = self.rng.choice(("none of these, it's {t}", "neither, {t}")).format(t=say)
        return self._say("setting_value", own, value=say)
