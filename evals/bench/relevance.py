"""How well the calibrated match (tools.relevance) reads: does "nothing matches" fire on nonsense and stay quiet on
real searches, and does a match of 80 mean about 80% of such results are right?

python -m picseek.evals.bench.relevance [--split dev|heldout|both]

- dev: the seed-4040 toy gallery with the committed classic dialogues, and the dev off-world queries
  (`evals/data/off-world.json`): the curves in tools/relevance.py were set on this split;
- heldout: the seed-6161 gallery with the held-out phrasings' dialogues, and the held-out off-world queries,
  never tuned on.

Every dialogue turn is read by the tracker and searched as the agent would; the top 20 hits are compared with
the turn's ground truth.
"""

from __future__ import annotations

import argparse
import json
from functools import partial
from pathlib import Path

import numpy as np
from picseek.evals.bench.common import header, write_section

HERE = Path(__file__).resolve().parents[1]
SPLITS = {
    "dev": (4040, HERE / "data" / "toy-dialogues.jsonl"),
    "heldout": (6161, HERE / "data" / "toy-dialogues-varied-heldout.jsonl"),
}
TOP = 20
BUCKETS = ((0, 15), (15, 40), (40, 75), (75, 90), (90, 101))


def _searcher(seed: int):
    from picseek.tools.gallery import open_gallery
    from picseek.tools.index import index_folder
    from picseek.ui.demo.world import make_gallery

    folder = Path.home() / ".cache" / "picseek-eval" / f"toy-{seed}"
    if not (folder / "scenes.jsonl").exists():
        make_gallery(folder, 1000, seed=seed)
    gallery = open_gallery(folder, "toy", create=True)
    index_folder(folder, gallery.embedder, gallery.store, progress=False)
    return gallery.searcher


def measure(split: str) -> dict:
    from picseek.agent.state import SearchState
    from picseek.agent.english.tracker import Tracker
    from picseek.tools.relevance import WEAK

    seed, dialogues = SPLITS[split]
    searcher, tracker = _searcher(seed), Tracker()
    pairs, top_real = [], []
    for line in dialogues.read_text().splitlines():
        d, state, hits = json.loads(line), SearchState(), []
        for t in d["turns"]:
            resolve = partial(_shown, [h.id for h in hits])
            state = tracker.update(state, t["user"], resolve=resolve).state
            hits = searcher.search(state.to_query(TOP))
            relevant = set(t["relevant"])
            top_real.append(hits[0].match if hits else 0)
            pairs += [(h.match, h.metadata.path in relevant) for h in hits]
    off = json.loads((HERE / "data" / "off-world.json").read_text())[split]
    top_off = [(searcher.search(SearchState(words=[q]).to_query(TOP)) or [None])[0] for q in off]
    m = np.array(pairs, dtype=float)
    table = []
    for lo, hi in BUCKETS:
        sel = (m[:, 0] >= lo) & (m[:, 0] < hi)
        table.append((lo, hi, int(sel.sum()), float(m[sel, 1].mean()) if sel.any() else None, _mean(m[sel, 0])))
    gap = np.abs(m[:, 0] / 100 - m[:, 1])
    return {
        "split": split,
        "turns": len(top_real),
        "real_flagged": float(np.mean(np.array(top_real) < WEAK)),
        "off_world": len(off),
        "off_flagged": float(np.mean([h is None or h.match < WEAK for h in top_off])),
        "off_missed": [q for q, h in zip(off, top_off) if h is not None and h.match >= WEAK],
        "ece": float(gap.mean()),
        "table": table,
    }


def _shown(ids: list[str], ref: int | str) -> str:
    """'#2' in a turn means the second result the previous turn showed."""
    n = int(str(ref).lstrip("#"))
    return ids[n - 1 if n > 0 else n]


def _mean(x: np.ndarray) -> float | None:
    return float(x.mean()) if len(x) else None


def report(results: list[dict]) -> list[str]:
    lines = header("python -m picseek.evals.bench.relevance --split both")
    lines += [
        "",
        "### Calibrated match (toy model): 'nothing matches' and reliability",
        "",
        "| split | turns | real searches told 'nothing matches' | off-world queries | told 'nothing matches' | "
        "mean abs(match/100 − right) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['split']} | {r['turns']} | {r['real_flagged']:.3f} | {r['off_world']} | {r['off_flagged']:.3f} | "
            f"{r['ece']:.3f} |"
        )
    for r in results:
        lines += ["", f"Reliability, {r['split']} (top {TOP} hits of every turn):", ""]
        lines += ["| match | hits | share right | mean match |", "|---|---:|---:|---:|"]
        for lo, hi, n, right, mean in r["table"]:
            shown = "–" if right is None else f"{right:.3f}"
            lines.append(f"| {lo}–{min(hi, 100)} | {n} | {shown} | {'–' if mean is None else f'{mean:.1f}'} |")
        if r["off_missed"]:
            lines.append(f"\nOff-world queries that still got a match: {', '.join(r['off_missed'])}")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", choices=["dev", "heldout", "both"], default="both")
    args = ap.parse_args()
    splits = ["dev", "heldout"] if args.split == "both" else [args.split]
    results = [measure(s) for s in splits]
    lines = report(results)
    print("\n".join(lines))
    if args.split == "both":
        write_section("relevance", "\n".join(lines))


if __name__ == "__main__":
    main()
