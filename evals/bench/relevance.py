"""How well the calibrated match (tools.relevance) reads: does "nothing matches" fire on nonsense and stay quiet on
real searches, and does a match of 80 mean about 80% of such results are right?

python -m picseek.evals.bench.relevance [--split dev|heldout|both] [--random N]

- dev: the seed-4040 toy gallery with the committed classic dialogues, and the dev off-world queries
  (`evals/data/off-world.json`): the curves in tools/relevance.py were set on this split;
- heldout: the seed-6161 gallery with the held-out phrasings' dialogues, and the held-out off-world queries,
  never tuned on.

Every dialogue turn is read by the tracker and searched as the agent would; the top 20 hits are compared with
the turn's ground truth. The hand-written requests (`evals/data/requests-match.json`: letter, word-like and
caption-like nonsense beside real toy-world requests, split by seed) are searched too: nonsense must say "nothing
matches" and real requests must not. With `--random N`, the same requests run on N toy images indexed by
`ViT-B-32` with random weights (the published architecture knowing nothing): no hit may be called strong or fair.
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


def _random_searcher(seed: int, n: int, arch: str = "ViT-B-32"):
    """A store of the first n images of the seed's toy gallery, indexed by `arch` with random weights."""
    from picseek.tools.embed import Embedder
    from picseek.tools.index import index_folder
    from picseek.tools.models import resolve
    from picseek.tools.retrieve import Searcher
    from picseek.tools.store import Store

    _searcher(seed)  # makes the gallery when missing
    src = Path.home() / ".cache" / "picseek-eval" / f"toy-{seed}"
    folder = Path.home() / ".cache" / "picseek-eval" / f"toy-{seed}-first{n}"
    folder.mkdir(parents=True, exist_ok=True)
    for f in sorted(src.glob("scene_*.jpg"))[:n]:
        if not (folder / f.name).exists():
            (folder / f.name).write_bytes(f.read_bytes())
    emb = Embedder(resolve(arch, random_init=True))
    store = Store.open(folder.parent / f"{folder.name}-{arch}-random", folder, emb, create=True)
    index_folder(folder, emb, store, progress=True)
    return Searcher(store, emb)


def requests(split: str, searcher) -> dict:
    """Nonsense and real requests of one split: the share told 'nothing matches', and every hit's strength."""
    from picseek.agent.explain import nothing_matches
    from picseek.tools.retrieve import ImageQuery

    asked = json.loads((HERE / "data" / "requests-match.json").read_text())[split]
    out = {"split": split, "knows": searcher.calibration().knows}
    strengths: dict[str, int] = {}
    for kind in ("nonsense", "real"):
        said = {q: searcher.search(ImageQuery(text=q, k=TOP)) for q in asked[kind]}
        for hits in said.values():
            for h in hits:
                strengths[h.strength] = strengths.get(h.strength, 0) + 1
        flagged = [q for q, hits in said.items() if nothing_matches(hits)]
        out[kind] = {"n": len(said), "nothing_matches": len(flagged) / max(len(said), 1)}
        # a model that knows nothing is right to say nothing matches a real request too
        right = kind == "nonsense" or not out["knows"]
        out[kind]["wrong"] = [q for q in said if (q in flagged) != right]
    out["strengths"] = strengths
    return out


def measure(split: str) -> dict:
    from picseek.agent.english.tracker import Tracker
    from picseek.agent.state import SearchState
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
        "requests": requests(split, searcher),
    }


def _shown(ids: list[str], ref: int | str) -> str:
    """'#2' in a turn means the second result the previous turn showed."""
    n = int(str(ref).lstrip("#"))
    return ids[n - 1 if n > 0 else n]


def _mean(x: np.ndarray) -> float | None:
    return float(x.mean()) if len(x) else None


def report(results: list[dict], extra: list[dict] = ()) -> list[str]:
    lines = header("python -m picseek.evals.bench.relevance --split both --random 300")
    lines += ["(Run on a machine shared with other jobs: the figures here are counts and shares, not timings.)", ""]
    extra = list(extra)
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
    lines += ["", "Hand-written requests (evals/data/requests-match.json), top 20 hits each:", ""]
    lines += [
        "| model | split | knows | nonsense told 'nothing matches' | real told 'nothing matches' | strong / fair |",
        "|---|---|---|---:|---:|---:|",
    ]
    for r in results + extra:
        q = r.get("requests", r)
        st = q["strengths"]
        lines.append(
            f"| {r.get('model', 'toy')} | {q['split']} | {q['knows']} | {q['nonsense']['nothing_matches']:.3f} "
            f"({q['nonsense']['n']}) | {q['real']['nothing_matches']:.3f} ({q['real']['n']}) | "
            f"{st.get('strong', 0)} / {st.get('fair', 0)} |"
        )
        wrong = q["nonsense"]["wrong"] + q["real"]["wrong"]
        if wrong:
            lines.append(f"| | wrong: {', '.join(wrong)} | | | | |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", choices=["dev", "heldout", "both"], default="both")
    ap.add_argument("--random", type=int, default=0, help="also run the requests on N images with random ViT-B-32")
    args = ap.parse_args()
    splits = ["dev", "heldout"] if args.split == "both" else [args.split]
    results = [measure(s) for s in splits]
    extra = []
    if args.random:
        searcher = _random_searcher(SPLITS["heldout"][0], args.random)
        extra = [{"model": "ViT-B-32 (random)", **requests(s, searcher)} for s in splits]
    lines = report(results, extra)
    print("\n".join(lines))
    if args.split == "both":
        write_section("relevance", "\n".join(lines))


if __name__ == "__main__":
    main()
