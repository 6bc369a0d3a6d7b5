"""Stress the reader with one phenomenon at a time over every development caption, judged by invariants.

    python -m picseek.evals.language.stress [--show-failures] [--seed N]

The blind sets say what one writer expects of a few captions; this says whether a pattern holds on all 279
development captions (`evals/language/real/descriptions-dev.jsonl`, never the held-out half). Each check is an
invariant rather than an expected text, so it needs no writer: a switch lead gives the new description as it reads
alone; a phrase that adds is appended as said; a time, weather or season phrase added to a caption is swapped where
it stands; a removal only deletes words, takes the thing out and leaves no dangling word. What fails is a lead to a
rule to look at, not a score to tune (some failures are judgement calls the invariant cannot make).
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Callable
from pathlib import Path

from picseek.evals.language.realtext import norm, run

REAL = Path(__file__).resolve().parent / "real"

# the first writer's forms (followups-dev.jsonl), with the new description or phrase in {x}
SWITCH_LEADS = (
    "forget that, {x}",
    "actually, something different: {x}",
    "new search: {x}",
    "let's look for something else. {x}",
    "start over: {x}",
    "now something else: {x}",
    "never mind that, find {x}",
    "forget it. show me {x}",
    "stop, i want {x} now",
    "scrap that, {x}",
    "change of plan: {x}",
)
ADDITIONS = (
    "with birds flying overhead",
    "and a dog sleeping nearby",
    "with a red ball next to it",
    "with people watching",
    "with snow on the ground",
    "with clouds in the sky",
    "and a man holding an umbrella",
    "with 2 children",
)
# (phrase added to the caption, the swap said, the phrase expected in its place)
SWAPS = (
    ("on a sunny day", "on a cloudy day", "on a cloudy day"),
    ("on a sunny day", "make it a rainy day", "on a rainy day"),
    ("at night", "during the day instead", "during the day"),
    ("during the day", "make it at night", "at night"),
    ("in the morning", "in the evening instead", "in the evening"),
    ("on this rainy morning", "on a sunny morning", "on this sunny morning"),
    ("in winter", "in summer instead", "in summer"),
    ("in the snow", "in the rain instead", "in the rain"),
    ("under a cloudy sky", "under a clear sky instead", "under a clear sky"),
    ("on a foggy day", "on a clear day instead", "on a clear day"),
    ("early in the morning", "late at night instead", "late at night"),
    ("on a snowy day", "a sunny day instead", "on a sunny day"),
)
REMOVALS = ("without the {x}", "no {x}", "take out the {x}", "the {x} shouldn't be there", "get rid of the {x}")
DANGLING = frozenset("with and a an the of on in at by to near next while as or is are his her their its".split())


def captions() -> list[str]:
    rows = [json.loads(line) for line in (REAL / "descriptions-dev.jsonl").read_text().splitlines() if line.strip()]
    return [r["expect_text"] for r in rows if "filters" not in r]


def _switch(x: str, rng: random.Random, caps: list[str]) -> tuple[list[str], Callable]:
    before = rng.choice([c for c in caps if c != x])
    alone = norm(run([x])[1])
    return [before, rng.choice(SWITCH_LEADS).format(x=x)], lambda text, neg: norm(text) == alone and not neg


def _addition(x: str, rng: random.Random, caps: list[str]) -> tuple[list[str], Callable]:
    phrase = rng.choice(ADDITIONS)
    return [x, phrase], lambda text, neg: norm(text) == norm(f"{x} {phrase}") and not neg


def _swap(x: str, rng: random.Random, caps: list[str]) -> tuple[list[str], Callable] | None:
    setting = run([x])[0].setting
    if setting.time or setting.weather or setting.season:
        return None  # the caption has a setting of its own: which one the swap means is a judgement call
    old, said, new = rng.choice(SWAPS)
    return [f"{x} {old}", said], lambda text, neg: norm(text) == norm(f"{x} {new}") and not neg


def _removal(x: str, rng: random.Random, caps: list[str]) -> tuple[list[str], Callable] | None:
    from picseek.agent.english.said import parse

    doc = parse(x)
    nouns = [t for t in doc if t.pos_ == "NOUN" and t.i > 1 and t.dep_ != "compound" and t.tag_ == "NN"]
    if not nouns:
        return None
    thing = rng.choice(nouns).lower_

    def holds(text: str, neg: list[str]) -> bool:
        words, it = norm(text).split(), iter(norm(x).split())
        only_deleted = all(w in it for w in words)
        return (
            only_deleted
            and thing not in words
            and [n.rstrip("s") for n in neg] == [thing.rstrip("s")]
            and len(words) > 1
            and words[-1] not in DANGLING
        )

    return [x, rng.choice(REMOVALS).format(x=thing)], holds


CHECKS = {"switch": _switch, "addition": _addition, "swap": _swap, "removal": _removal}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1, help="which form each caption gets")
    ap.add_argument("--show-failures", action="store_true")
    args = ap.parse_args(argv)
    caps = captions()
    for name, make in CHECKS.items():
        rng = random.Random(args.seed)
        held = total = 0
        for x in caps:
            case = make(x, rng, caps)
            if case is None:
                continue
            messages, holds = case
            _, text, neg = run(messages)
            total += 1
            if holds(text, neg):
                held += 1
            elif args.show_failures:
                print(f"- [{name}] {messages}\n    got {text!r} no {neg}")
        print(f"{name}: {held}/{total} hold")


if __name__ == "__main__":
    main()
