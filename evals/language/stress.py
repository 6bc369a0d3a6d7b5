"""Stress the reader with one phenomenon at a time over every development caption, judged by invariants.

    python -m picseek.evals.language.stress [--show-failures] [--seed N] [--captions dev|extra] [--only CHECK]

The blind sets say what one writer expects of a few captions; this says whether a pattern holds on all 279
development captions (`evals/language/real/descriptions-dev.jsonl`, never the held-out half). Each check is an
invariant rather than an expected text, so it needs no writer: a switch lead gives the new description as it reads
alone; a phrase that adds is appended as said; a time, weather or season phrase added to a caption is swapped where
it stands; a removal only deletes words, takes the thing out and leaves no dangling word; an answer to each kind of
question picseek asks, in every development writer's answer phrasings (`answers-dev*.json`), right after the
caption or after a follow-up, keeps the description whole and puts the fact where it belongs. What fails is a lead
to a rule to look at, not a score to tune (some failures are judgement calls the invariant cannot make).
`--captions extra` runs the same checks over 778 VisDial captions no eval set uses (`stress-captions.jsonl`).
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from picseek.agent.english.plurals import singular_word
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


EXTRA = Path(__file__).resolve().parent / "stress-captions.jsonl"


def captions(which: str = "dev") -> list[str]:
    """The development captions, or ('extra') the VisDial captions no eval set uses (`stress-captions.jsonl`)."""
    if which == "extra":
        return [json.loads(line)["caption"] for line in EXTRA.read_text().splitlines() if line.strip()]
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


def _things(doc, tags: tuple[str, ...] = ("NN", "NNS")) -> list:
    """The caption's nouns that name a thing the data lists ('bench', 'boats'), not a compound's first word."""
    from picseek.agent.english.kinds import listed

    return [t for t in doc if t.tag_ in tags and t.dep_ != "compound" and listed(t.lower_)]


def _removal(x: str, rng: random.Random, caps: list[str]) -> tuple[list[str], Callable] | None:
    from picseek.agent.english.said import parse

    doc = parse(x)
    # a thing ("the bench"), not a word about the photo ("the background", "the view")
    nouns = [t for t in _things(doc, ("NN",)) if t.pos_ == "NOUN" and t.i > 1]
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


# things a picture may have that a question offers, and the answers' values
OFFERED = ("tree", "dog", "car", "bag", "bench", "cup", "bird", "bottle", "lamp", "flag", "boat", "chair")
COLOURS = ("red", "blue", "white", "black", "green", "brown", "yellow", "silver")
TIMES = (("night", "at night"), ("sunset", "at sunset"), ("day", "during the day"))


@lru_cache(maxsize=1)
def _answer_forms() -> dict[str, list[str]]:
    """Every development answer template by kind (answers-dev*.json; never the held-out half)."""
    forms: dict[str, list[str]] = {}
    for path in sorted(REAL.glob("answers-dev*.json")):
        for kind, templates in json.loads(path.read_text()).items():
            forms.setdefault(kind, []).extend(templates)
    return forms


def _inserted(text: str, x: str, value: str, before: str) -> bool:
    """`text` is `x` with `value` said once more, before the word `before` (an article may turn a/an)."""
    words, plain = norm(text).split(), norm(x).split()
    if value not in words or before not in words or words.index(value) > words.index(before):
        return False
    rest = [w for i, w in enumerate(words) if i != words.index(value)]
    same = len(rest) == len(plain) and all(a == b or {a, b} == {"a", "an"} for a, b in zip(rest, plain))
    return same


def _answer(x: str, rng: random.Random, caps: list[str]) -> tuple[list[str], str, Callable] | None:
    """An answer to the kind of question picseek asks, in a development writer's words: the description stays whole
    and takes the fact where it belongs (a colour before its thing, a thing or a time appended, a thing ruled out)."""
    from picseek.agent.english import lexicon as L
    from picseek.agent.english.kinds import is_person
    from picseek.agent.english.said import parse

    forms = _answer_forms()
    words = set(norm(x).split())
    offered = [o for o in OFFERED if o not in words and o + "s" not in words]
    a, b, c = rng.sample(offered, 3)
    kind = rng.choice(
        ["presence_no", "presence_yes", "options_none", "options_one", "options_some", "dont_know", "colour", "time"]
        + ["count"]
    )
    whole = norm(x)
    if kind == "colour":
        doc = parse(x)
        nouns = [
            t
            for t in _things(doc, ("NN",))  # a thing picseek asks the colour of: no "colour of the background"
            if t.pos_ == "NOUN"
            and not any(w.lower_ in COLOURS or w.lower_ in L.COLORS for w in t.subtree)
            and sum(w.lower_ == t.lower_ for w in doc) == 1
            and not is_person(t.lower_)
            and t.lower_ not in ("water", "grass")
        ]
        if not nouns:
            return None
        thing = rng.choice(nouns).lower_
        value = rng.choice([v for v in COLOURS if v not in words])
        options = [v for v in COLOURS if v != value][:3]
        form = rng.choice(forms["attribute_value"] + forms["attribute_other"])
        question = f"What colour is the {thing} — {options[0]}, {options[1]} or {options[2]}?"
        return (
            [x, form.format(value=value, thing=thing)],
            question,
            lambda t, n: _inserted(t, x, value, thing) and not n,
        )
    if kind == "count":
        doc = parse(x)
        counted = [
            t
            for t in doc
            if t.tag_ == "NNS"
            and t.dep_ != "compound"
            and sum(w.lower_ == t.lower_ for w in doc) == 1
            and [w.lower_ for w in t.lefts if w.dep_ in ("det", "nummod", "amod")][:1]
            in (["some"], ["several"], ["the"])
        ]
        if not counted:
            return None
        thing = rng.choice(counted)
        det = next(w for w in thing.lefts if w.lower_ in ("some", "several", "the"))
        value = rng.choice(["2", "3", "4", "two", "three", "five"])
        form = rng.choice(forms["count_value"])
        # the number in place of "some" / "several"; after "the" or in its place ("the 2 trains", "2 trains")
        want = {norm(x[: det.idx] + value + x[det.idx + len(det.text) :])}
        want |= {norm(x[: det.idx] + "the " + value + x[det.idx + len(det.text) :])} if det.lower_ == "the" else set()
        question = f"How many {thing.lower_} are there?"
        return [x, form.format(value=value)], question, lambda t, n: norm(t) in want and not n
    if kind == "time":
        if run([x])[0].setting.time:
            return None
        value, phrase = rng.choice(TIMES)
        form = rng.choice(forms["setting_value"])
        said = rng.choice([value, phrase])
        question = "What time of day is it — day, night or sunset?"
        return [x, form.format(value=said)], question, lambda t, n: norm(t) == norm(f"{x} {phrase}") and not n
    if kind in ("presence_no", "presence_yes", "dont_know"):
        question = f"Is there a {a}?"
        form = rng.choice(forms[kind])
        message = form.format(thing=a)
        if kind == "presence_no":
            return [x, message], question, lambda t, n: norm(t) == whole and n == [a]
        if kind == "presence_yes":
            return [x, message], question, lambda t, n: norm(t) == norm(f"{x} with a {a}") and not n
        return [x, message], question, lambda t, n: norm(t) == whole and not n
    question = f"What else is in it — a {a}, a {b} or a {c}?"
    form = rng.choice(forms[kind])
    message = form.format(a=a, b=b)
    if kind == "options_none":
        return [x, message], question, lambda t, n: norm(t) == whole and sorted(n) == sorted([a, b, c])
    if kind == "options_one":
        return [x, message], question, lambda t, n: norm(t) == norm(f"{x} with a {a}") and set(n) <= {b, c}
    return [x, message], question, lambda t, n: norm(t) == norm(f"{x} with a {a} and a {b}") and set(n) <= {c}


RECOLOURS = ("the {x} is {c}", "make the {x} {c}", "a {c} {x}", "the {x} should be {c}", "{c} {x}")


def _recolour(x: str, rng: random.Random, caps: list[str]) -> tuple[list[str], Callable] | None:
    """A colour said of one thing of the caption ('the sheep is black'): the colour goes before that thing, where it
    stands, and nothing else changes."""
    from picseek.agent.english import lexicon as L
    from picseek.agent.english.said import parse

    doc = parse(x)
    nouns = [
        t
        for t in _things(doc)
        if not t.lower_.startswith(("some", "any", "every"))  # "someone" has no colour
        and sum(w.lower_ == t.lower_ for w in doc) == 1
        and not any(w.lower_ in L.COLORS or w.lower_ in ("colorful", "colourful") for w in t.subtree)
    ]
    if not nouns:
        return None
    tok = rng.choice(nouns)
    thing = tok.lower_
    words = set(norm(x).split())
    colour = rng.choice([c for c in COLOURS if c not in words])
    form = rng.choice(RECOLOURS)
    if tok.tag_ == "NNS":  # "the hats are black"
        form = form.replace(" is ", " are ").replace("a {c}", "{c}")
    message = form.format(x=thing, c=colour)
    return [x, message], lambda t, n: _inserted(t, x, colour, thing) and not n


RECOUNTS = ("make it {n} {x}", "{n} {x}", "only {n} {x}", "there should be {n} {x}", "{n} {x} instead")


def _recount(x: str, rng: random.Random, caps: list[str]) -> tuple[list[str], Callable] | None:
    """A number said of one thing of the caption ('make it 3 dogs'): the number takes the place of the article or
    number that counted it ('a dog' -> '3 dogs'; after 'the' or in its place), and nothing else changes."""
    from picseek.agent.english.plurals import plural_word
    from picseek.agent.english.said import parse

    doc = parse(x)
    counted = [
        t
        for t in _things(doc)
        if sum(singular_word(w.lower_) == singular_word(t.lower_) for w in doc if w.pos_ == "NOUN") == 1
        and [w.lower_ for w in t.lefts if w.dep_ in ("det", "nummod")][:1] in (["a"], ["an"], ["the"], ["2"], ["two"])
    ]
    if not counted:
        return None
    tok = rng.choice(counted)
    det = next(w for w in tok.lefts if w.dep_ in ("det", "nummod"))
    n = rng.choice(["3", "4", "three", "five"])
    many = plural_word(singular_word(tok.lower_))
    head = x[: det.idx]
    middle = x[det.idx + len(det.text) : tok.idx]
    tail = x[tok.idx + len(tok.text) :]
    want = {norm(f"{head}{n}{middle}{many}{tail}")}
    want |= {norm(f"{head}the {n}{middle}{many}{tail}")} if det.lower_ == "the" else set()
    message = rng.choice(RECOUNTS).format(n=n, x=many)
    return [x, message], lambda t, neg: norm(t) in want and not neg


BEFORE_ANSWERS = ("in winter", "on a sunny day", "with a red ball next to it", "in the snow instead", "the {x} is {c}")


def _answer_later(x: str, rng: random.Random, caps: list[str]) -> tuple[list[str], str, Callable] | None:
    """The same answers after a follow-up, as the writers' dialogues have them ("the sheep is black", then the
    answer): judged against the text the follow-up gave."""
    from picseek.agent.english.said import parse

    said = rng.choice(BEFORE_ANSWERS)
    if "{x}" in said:
        nouns = [t.lower_ for t in _things(parse(x), ("NN",))]
        if not nouns:
            return None
        said = said.format(x=rng.choice(nouns), c=rng.choice(COLOURS))
    base = run([x, said])[1]
    case = _answer(base, rng, caps)
    if case is None:
        return None
    (_, answer), *rest = case
    return [x, said, answer], *rest


CHECKS = {
    "switch": _switch,
    "addition": _addition,
    "swap": _swap,
    "removal": _removal,
    "recolour": _recolour,
    "recount": _recount,
    "answer": _answer,
    "answer after a follow-up": _answer_later,
}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1, help="which form each caption gets")
    ap.add_argument("--show-failures", action="store_true")
    ap.add_argument("--captions", choices=("dev", "extra"), default="dev", help="which captions (see `captions`)")
    ap.add_argument("--only", choices=tuple(CHECKS), action="append", help="run these checks only")
    args = ap.parse_args(argv)
    caps = captions(args.captions)
    for name, make in CHECKS.items():
        if args.only and name not in args.only:
            continue
        rng = random.Random(args.seed)
        held = total = 0
        for x in caps:
            case = make(x, rng, caps)
            if case is None:
                continue
            messages, *question, holds = case
            _, text, neg = run(messages, *question)
            total += 1
            if holds(text, neg):
                held += 1
            elif args.show_failures:
                print(f"- [{name}] {messages} {question}\n    got {text!r} no {neg}")
        print(f"{name}: {held}/{total} hold")


if __name__ == "__main__":
    main()
