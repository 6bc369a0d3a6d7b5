"""Score the offline tracker on the follow-up language suite: exact state match per case, by phenomenon.

python -m picseek.evals.language [--split dev|heldout|both] [--show-failures] [--out evals/results/language.json]

`--show-failures` prints the development half's failures only: the held-out half is scored, never read.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

from picseek.evals.language.cases import HERE, PHENOMENA, Case, load

ARTICLES = {"a", "an", "the", "some", "any"}


@lru_cache(maxsize=4096)
def _singular(word: str) -> str:
    from picseek.agent.state import singular

    return singular(word)


def noun_key(noun: str) -> str:
    *head, last = " ".join(noun.lower().replace("-", " ").split()).split(" ")
    return " ".join([*head, _singular(last)])


def place_key(place: str | None) -> tuple[str, ...] | None:
    if not place:
        return None
    from picseek.agent.english.lexicon import LOCATIVE

    skip = LOCATIVE | ARTICLES | {"to", "of", "front", "top", "next", "close", "my", "our", "their", "his", "her"}
    words = [w for w in re.findall(r"[a-z]+", place.lower()) if w not in skip]
    return tuple(sorted(_singular(w) for w in words)) or (place.lower(),)


def compact(state) -> dict:
    """The suite's view of a SearchState (see README.md): order-free, nouns singular."""
    subjects = sorted(
        json.dumps(
            {
                "noun": noun_key(s.noun),
                "color": s.color,
                "size": s.size,
                "count": s.count,
                "adjectives": sorted(set(s.adjectives)),
            },
            sort_keys=True,
        )
        for s in state.required
    )
    exclude = sorted({noun_key(p) for p in state.negative_phrases()})
    f = state.filters
    return {
        "subjects": subjects,
        "exclude": exclude,
        "place": place_key(state.setting.place),
        "time": state.setting.time,
        "season": state.setting.season,
        "weather": state.setting.weather,
        "like": [int(x) for x in state.like],
        "unlike": [int(x) for x in state.unlike],
        "filters": json.loads(f.model_dump_json()),
        "k": state.k,
    }


def expected(case: Case) -> dict:
    e = case.expect
    subjects = sorted(
        json.dumps(
            {
                "noun": noun_key(s.noun),
                "color": s.color.lower().replace("grey", "gray") if s.color else None,
                "size": s.size,
                "count": s.count,
                "adjectives": sorted({a.lower() for a in s.adjectives}),
            },
            sort_keys=True,
        )
        for s in e.subjects
    )
    from picseek.tools.retrieve import Filters

    return {
        "subjects": subjects,
        "exclude": sorted({noun_key(x) for x in e.exclude}),
        "place": place_key(e.place),
        "time": e.time,
        "season": e.season,
        "weather": e.weather,
        "like": e.like,
        "unlike": e.unlike,
        "filters": json.loads(Filters(**e.filters.model_dump()).model_dump_json()),
        "k": e.k,
    }


# A question picseek might have asked after every message, which the user then ignores: the agent asks after
# most searches, so the tracker must read a message the same way with a question pending.
IGNORED = {"kind": "presence", "options": ["a lamp", "a kite"], "text": "What else is in it — a lamp or a kite?"}


def run_case(case: Case, ignored_question: bool = False):
    """The state the tracker reaches after the case's context and utterance."""
    from picseek.agent.english.tracker import Tracker
    from picseek.agent.state import Question, SearchState

    tracker = Tracker(today=case.today)
    state = SearchState()
    pending = Question(**IGNORED) if ignored_question else None
    for m in case.context:
        state = tracker.update(state, m, asked=pending if state.required else None, resolve=str).state
    asked = Question(**case.asked.model_dump()) if case.asked is not None else pending if state.required else None
    return tracker.update(state, case.utterance, asked=asked, resolve=str).state


def score(cases: list[Case], ignored_question: bool = False) -> tuple[dict, list[tuple[Case, dict, dict]]]:
    by = defaultdict(lambda: [0, 0])
    fails = []
    for c in cases:
        if ignored_question and any(w in (c.utterance + " ".join(c.context)).lower() for w in ("lamp", "kite")):
            continue  # the pending question's own things would make the message an answer
        try:
            st = run_case(c, ignored_question)
            got = compact(st)
            ok = got == expected(c) and all(w.lower() in st.text().lower() for w in c.expect.text_has)
        except Exception as e:  # a crash is a failure of that case, reported with it
            got, ok = {"error": repr(e)}, False
        by[c.phenomenon][0] += ok
        by[c.phenomenon][1] += 1
        if not ok:
            fails.append((c, got, expected(c)))
    total = sum(v[0] for v in by.values()), sum(v[1] for v in by.values())
    return {
        "cases": total[1],
        "exact": round(total[0] / max(1, total[1]), 4),
        "by_phenomenon": {p: round(by[p][0] / by[p][1], 3) for p in PHENOMENA if by[p][1]},
    }, fails


def latency(cases: list[Case]) -> dict:
    """Per-message parse + merge time of the tracker (ms), over every message of the cases."""
    import numpy as np
    from picseek.agent.english.tracker import Tracker
    from picseek.agent.state import SearchState

    tracker, times = Tracker(), []
    tracker.update(SearchState(), "warm up the parser with a red car")
    for c in cases:
        st = SearchState()
        for m in [*c.context, c.utterance]:
            t0 = time.perf_counter()
            st = tracker.update(st, m, resolve=str).state
            times.append((time.perf_counter() - t0) * 1000)
    return {
        "messages": len(times),
        "p50_ms": round(float(np.median(times)), 2),
        "p95_ms": round(float(np.percentile(times, 95)), 2),
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", choices=("dev", "dev-extra", "dev-extra2", "heldout", "both"), default="both")
    ap.add_argument("--show-failures", action="store_true", help="print the development half's failures")
    ap.add_argument("--out", type=Path, help="write the scores as JSON here")
    args = ap.parse_args(argv)
    out = {}
    for name in ("dev", "dev-extra", "dev-extra2", "heldout") if args.split == "both" else (args.split,):
        summary, fails = score(load(HERE / f"{name}.jsonl"))
        out[name] = summary
        pending, _ = score(load(HERE / f"{name}.jsonl"), ignored_question=True)
        out[name]["exact_with_an_ignored_question_pending"] = pending["exact"]
        print(f"{name}, a question pending that the user ignores: {pending['exact']:.3f}")
        print(f"{name}: {summary['exact']:.3f} exact state match on {summary['cases']} cases")
        print("  " + ", ".join(f"{p} {v:.2f}" for p, v in summary["by_phenomenon"].items()))
        if args.show_failures and name != "heldout":
            for c, got, exp in fails:
                diff = {k: (got.get(k), exp.get(k)) for k in exp if got.get(k) != exp.get(k)}
                print(
                    f"- {c.id} [{c.phenomenon}] {c.context} -> {c.utterance!r}"
                    + (f" asked={c.asked.text!r}" if c.asked else "")
                )
                for k, (g, e) in diff.items():
                    print(f"    {k}: got {g} want {e}")
                if "error" in got:
                    print(f"    {got['error']}")
    out["latency"] = latency(load(HERE / "dev.jsonl"))
    print(f"latency per message: p50 {out['latency']['p50_ms']} ms, p95 {out['latency']['p95_ms']} ms")
    if args.out:
        args.out.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
