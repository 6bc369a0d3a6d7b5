"""Score the CLIP text the offline reader gives real descriptions and follow-ups (issue 21; data in real/).

python -m picseek.evals.language.real [--split dev|dev2|...|dev12|devs|heldout|both|all] [--show-failures]
    [--out FILE]

Descriptions: content-word recall (nouns, proper nouns, verbs, adjectives, numbers of the expected text found in
the text CLIP embeds), the share with every content word kept, the share with their order kept, exact texts and
the filters read. Follow-ups: the share right (text equal to `expect_text` or one of `accept`, negatives equal up
to singular/plural, the reference named), overall and per phenomenon. Texts are compared lowercase, punctuation
stripped, whitespace collapsed (real/README.md). `--show-failures` prints the development half's failures only:
the held-out half is scored, never read.
"""

from __future__ import annotations

import argparse
import calendar
import json
import re
import time
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

REAL = Path(__file__).parent / "real"
OUT = Path(__file__).resolve().parents[1] / "results" / "real-language.json"
CONTENT_POS = ("NOUN", "PROPN", "VERB", "ADJ", "NUM")


def norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def question_from_text(text: str):
    """The `Question` picseek asked, from its wording (the forms the data sets use, and plain ones)."""
    from picseek.agent.state import Question

    t = text.strip().rstrip("?").strip()
    m = re.match(r"(?i)what else is in it\s*[—-]\s*(.+)$", t)
    if m:
        return Question(kind="presence", options=_options(m.group(1)), text=text)
    m = re.match(r"(?i)what time of day is it\s*[—-]\s*(.+)$", t)
    if m:
        return Question(kind="setting", slot="time", options=_options(m.group(1)), text=text)
    m = re.match(r"(?i)is it (\w+) or (\w+)$", t)
    if m:  # "Is it indoors or outdoors?"
        return Question(kind="setting", slot="place", options=[m.group(1), m.group(2)], text=text)
    m = re.match(r"(?i)(?:is|are) there (?:an? |any |some )?(.+)$", t)
    if m:
        return Question(kind="presence", noun=m.group(1).strip(), text=text)
    m = re.match(r"(?i)what colou?r (?:is|are) the (.+?)\s*[—-]\s*(.+)$", t)
    if m:
        return Question(kind="attribute", slot="color", noun=m.group(1), options=_options(m.group(2)), text=text)
    m = re.match(r"(?i)how many (.+?)(?: are there)?$", t)
    if m:
        return Question(kind="attribute", slot="count", noun=m.group(1), text=text)
    raise ValueError(f"unknown question wording: {text!r}")


def _options(text: str) -> list[str]:
    parts = re.split(r",\s*|\s+or\s+", text)
    return [re.sub(r"^(?:an?|the)\s+", "", p.strip()) for p in parts if p.strip()]


def run(messages: list[str], question: str | None = None, today: date | None = None):
    """The state after the messages, through the reader and the agent loop's undo; `question` was asked just
    before the last message. Returns (state, query text, negatives)."""
    from picseek.agent.english.cues import last_was_undo, undo_steps
    from picseek.agent.english.places import read_turn
    from picseek.agent.english.tracker import Tracker
    from picseek.agent.planner import apply_places
    from picseek.agent.state import SearchState

    tracker = Tracker(today=today)
    state, history = SearchState(), []
    for i, m in enumerate(messages):
        steps = undo_steps(m, after_undo=last_was_undo(messages[:i]))
        if steps:  # the loop's own undo, as agent.Agent runs it for every planner
            steps = min(steps, len(history))
            if steps:
                state, history = history[-steps], history[:-steps]
            continue
        asked = question_from_text(question) if question and i == len(messages) - 1 else None
        up, said = read_turn(tracker, state, m, asked=asked)  # as OfflinePlanner.plan reads it,
        new = up.state
        apply_places(said, new, None)  # a place named becomes a filter, so "in paris instead" replaces it
        if new != state and not state.is_empty():
            history.append(state)
        state = new
    q = state.to_query()
    return state, q.text, q.negatives


def _filters_right(got, want: dict | None) -> bool:
    from picseek.tools.retrieve import Filters

    want = want or {}
    exp: dict = {}
    if "year" in want:
        y, mo = want["year"], want.get("month")
        if mo:
            exp["date_from"], exp["date_to"] = date(y, mo, 1), date(y, mo, calendar.monthrange(y, mo)[1])
        else:
            exp["date_from"], exp["date_to"] = date(y, 1, 1), date(y, 12, 31)
    if "orientation" in want:
        exp["orientation"] = want["orientation"]
    # a place named and words written in the picture are picseek's own filters, which the set does not expect
    return got.model_copy(update={"place": None, "text_in_image": []}) == Filters(**exp)


def _content(docs) -> list[list[str]]:
    return [[t.lower_ for t in d if t.pos_ in CONTENT_POS and t.is_alpha or t.like_num] for d in docs]


def _subsequence(want: list[str], have: list[str]) -> bool:
    it = iter(have)
    return all(w in it for w in want)


def score_descriptions(cases: list[dict]) -> tuple[dict, list]:
    from picseek.agent.english.language import parse_many

    wanted = _content(parse_many([norm(c["expect_text"]) for c in cases]))
    found = total = all_kept = order = exact = filters_right = 0
    fails = []
    for c, want in zip(cases, wanted):
        try:
            state, text, _ = run([c["text"]])
        except Exception as e:  # a crash fails that case, reported with it
            state, text = None, f"<error {e!r}>"
        have = norm(text).split()
        bag = Counter(have)
        hit = sum(min(n, bag[w]) for w, n in Counter(want).items())
        found, total = found + hit, total + len(want)
        kept = hit == len(want)
        all_kept += kept
        order += kept and _subsequence(want, have)
        same = norm(text) == norm(c["expect_text"])
        exact += same
        f_ok = state is not None and _filters_right(state.filters, c.get("filters"))
        filters_right += f_ok
        if not (same and f_ok):
            fails.append((c, text, None if state is None else state.filters))
    n = max(1, len(cases))
    return {
        "descriptions": len(cases),
        "content_word_recall": round(found / max(1, total), 4),
        "all_content_words_kept": round(all_kept / n, 4),
        "order_kept": round(order / n, 4),
        "exact_text": round(exact / n, 4),
        "filters_right": round(filters_right / n, 4),
    }, fails


def _neg_key(words: list[str]) -> list[str]:
    from picseek.agent.state import singular

    return sorted({singular(norm(w).replace("people", "person")) for w in words})


def followup_right(c: dict, state, text: str, negatives: list[str]) -> bool:
    texts = {norm(c["expect_text"]), *(norm(a) for a in c.get("accept") or [])}
    ok = norm(text) in texts and _neg_key(negatives) == _neg_key(c.get("negatives") or [])
    if "reference" in c:
        ok = ok and str(c["reference"]) in state.like
    return ok


def score_followups(cases: list[dict]) -> tuple[dict, list]:
    by = defaultdict(lambda: [0, 0])
    fails = []
    for c in cases:
        try:
            state, text, negatives = run(c["messages"], c.get("question"))
            ok = followup_right(c, state, text, negatives)
        except Exception as e:
            text, negatives, ok = f"<error {e!r}>", [], False
        by[c["phenomenon"]][0] += ok
        by[c["phenomenon"]][1] += 1
        if not ok:
            fails.append((c, text, negatives))
    right = sum(v[0] for v in by.values())
    return {
        "followups": len(cases),
        "right": round(right / max(1, len(cases)), 4),
        "by_phenomenon": {p: round(v[0] / v[1], 3) for p, v in sorted(by.items())},
    }, fails


def _cpu() -> str:
    try:
        line = next(x for x in Path("/proc/cpuinfo").read_text().splitlines() if x.startswith("model name"))
        return line.split(":", 1)[1].strip()
    except (OSError, StopIteration):
        import platform

        return platform.processor() or "unknown CPU"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--split",
        choices=("dev", *(f"dev{i}" for i in range(2, 13)), "devs", "heldout", "both", "all"),
        default="both",
        help="devs: every development set, no held-out; all: every set",
    )
    ap.add_argument("--show-failures", action="store_true", help="print the development sets' failures")
    ap.add_argument("--out", type=Path, default=OUT, help=f"write the scores as JSON here (default {OUT})")
    args = ap.parse_args(argv)
    out: dict = {}
    devs = ("dev", *(f"dev{i}" for i in range(2, 13)))
    splits = {"both": ("dev", "heldout"), "devs": devs, "all": (*devs, "heldout")}.get(args.split, (args.split,))
    for split in splits:
        t0 = time.perf_counter()
        # the second to fourth development sets (written later, blind) have follow-ups on the development captions only
        described = (REAL / f"descriptions-{split}.jsonl").exists()
        d, dfails = score_descriptions(load(REAL / f"descriptions-{split}.jsonl")) if described else ({}, [])
        f, ffails = score_followups(load(REAL / f"followups-{split}.jsonl"))
        out[split] = {**d, **f, "seconds": round(time.perf_counter() - t0, 1)}
        print(
            f"{split}: "
            + (
                f"{d['descriptions']} descriptions: content-word recall {d['content_word_recall']:.3f}, "
                f"all kept {d['all_content_words_kept']:.3f}, order kept {d['order_kept']:.3f}, exact "
                f"{d['exact_text']:.3f}, filters {d['filters_right']:.3f}; "
                if d
                else ""
            )
            + f"{f['followups']} follow-ups right {f['right']:.3f}"
        )
        print("  " + ", ".join(f"{p} {v:.2f}" for p, v in f["by_phenomenon"].items()))
        if args.show_failures and split != "heldout":
            for c, text, filters in dfails:
                print(f"- {c['id']} {c['text']!r}\n    got  {text!r}\n    want {c['expect_text']!r}")
                if c.get("filters"):
                    print(f"    filters got {filters} want {c['filters']}")
            for c, text, negatives in ffails:
                print(
                    f"- {c['id']} [{c['phenomenon']}] {c['messages']}"
                    + (f" asked {c['question']!r}" if c.get("question") else "")
                )
                print(f"    got  {text!r} no {negatives}\n    want {c['expect_text']!r} no {c.get('negatives')}")
    if args.out:
        out["machine"] = _cpu() + " (shared with other jobs: the seconds are indicative)"
        args.out.parent.mkdir(parents=True, exist_ok=True)
        old = json.loads(args.out.read_text()) if args.out.exists() else {}
        args.out.write_text(json.dumps({**old, **out}, indent=2) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
