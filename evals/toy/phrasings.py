"""Ways people say each step of a toy dialogue, split once into a development half and a held-out half.

Toy dialogues (`evals.datasets.toy_dialogues`) draw each turn from these pools, so an eval can be run on
phrasings the tracker was never tuned on. The split is by a fixed seed within each pool.
"""

from __future__ import annotations

import random

SPLIT_SEED = 2121

OPENERS = [
    "{n}s",
    "a {n}",
    "show me {n}s",
    "pictures of a {n}",
    "i'm looking for a {n}",
    "do you have any {n}s?",
    "find me some {n}s",
    "{n} photos",
    "got any {n}s",
    "can you show me {n}s please",
    "i want to see a {n}",
    "photos with a {n} in them",
    "looking for {n}s",
    "a picture of a {n} please",
    "any {n}s?",
    "show {n}s",
]
COLOUR_TURNS = [
    "only {c} ones",
    "the {c} ones",
    "{c}",
    "i want them {c}",
    "make it {c}",
    "a {c} one",
    "preferably {c}",
    "the {n} should be {c}",
    "can they be {c}?",
    "only the {c} {n}s please",
    "how about {c} ones?",
    "{c} ones pls",
    "i'd like the {n} to be {c}",
    "{x} ones, sorry, i meant {c}",
    "what about a {c} one",
    "it has to be {c}",
    "in {c} please",
    "just the {c} {n}s",
    "not {x}, {c}",
    "the {n} is {c}",
]
TIME_TURNS = {
    "night": [
        "at night",
        "i want them at night",
        "what about at night?",
        "only ones taken at night",
        "make it nighttime",
        "after dark please",
        "the same ones at night",
        "switch it to night",
        "at nighttime",
        "and at night",
    ],
    "sunset": [
        "at sunset",
        "i'd like them at sunset",
        "what about at dusk?",
        "in the evening",
        "the same but at sunset",
        "make it sunset",
        "sunset ones only",
        "during sunset please",
        "at dusk",
        "and at sunset",
    ],
    "day": [
        "during the day",
        "in daylight",
        "i want them in the daytime",
        "what about during the day?",
        "daytime only",
        "on a sunny day",
        "switch it to daytime",
        "the same ones during the day",
        "make it day",
        "and in daylight",
    ],
}
GROUND_TURNS = {
    "grass": ["on the grass", "on a lawn", "i want it on grass", "standing on grass", "on grass please"],
    "water": ["on the water", "by the water", "on the lake", "i want it on water", "on water please"],
}
EXCLUDE_TURNS = [
    "without {x}s",
    "no {x}s",
    "leave out the {x}s",
    "skip anything with a {x}",
    "i don't want any {x}s",
    "get rid of the {x}s",
    "minus the {x}s",
    "but no {x}s please",
    "nothing with a {x} in it",
    "exclude {x}s",
]


def _halves(pool: list[str]) -> tuple[list[str], list[str]]:
    items = sorted(pool)
    random.Random(SPLIT_SEED).shuffle(items)
    half = (len(items) + 1) // 2
    return items[:half], items[half:]


def pools(which: str) -> dict:
    """The phrasing pools for 'dev', 'heldout' or 'all'."""
    if which not in ("dev", "heldout", "all"):
        raise ValueError(f"phrasings must be dev, heldout or all, not {which!r}")

    def pick(pool: list[str]) -> list[str]:
        if which == "all":
            return list(pool)
        dev, held = _halves(pool)
        return dev if which == "dev" else held

    return {
        "openers": pick(OPENERS),
        "colour": pick(COLOUR_TURNS),
        "time": {t: pick(p) for t, p in TIME_TURNS.items()},
        "ground": {g: pick(p) for g, p in GROUND_TURNS.items()},
        "exclude": pick(EXCLUDE_TURNS),
    }
