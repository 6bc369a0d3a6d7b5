"""Offline agent turn latency on a 2,000-image toy index: p50/p95 per turn over scripted three-turn dialogues.

python -m picseek.evals.bench.agent [--n 2000] [--dialogues 60]
"""

from __future__ import annotations

import argparse
import time

from picseek.evals.bench.common import bench_dir, pct, section, write_section


def main(argv=None) -> None:
    from picseek.agent.agent import Agent
    from picseek.agent.session import Session
    from picseek.evals.datasets import toy_dialogues
    from picseek.tools.gallery import open_gallery
    from picseek.tools.index import index_folder
    from picseek.ui.demo.world import make_gallery

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--dialogues", type=int, default=60)
    args = ap.parse_args(argv)
    folder = bench_dir() / f"toy-agent-{args.n}"
    if not (folder / "scenes.jsonl").exists():
        make_gallery(folder, args.n, seed=8080)
    gallery = open_gallery(folder, "toy", create=True, replace=True)
    index_folder(folder, gallery.embedder, gallery.store)
    agent = Agent(gallery.searcher)
    dialogues = toy_dialogues(folder, args.dialogues, seed=9)
    agent.turn(Session(), "warm up")
    per_turn: dict[int, list[float]] = {}
    for d in dialogues:
        s = Session()
        for i, t in enumerate(d.turns):
            t0 = time.perf_counter()
            s = agent.turn(s, t.user).session
            per_turn.setdefault(i, []).append((time.perf_counter() - t0) * 1000)
    all_ms = [x for v in per_turn.values() for x in v]
    rows = [(str(i + 1), f"{pct(v, 50):.1f}", f"{pct(v, 95):.1f}") for i, v in sorted(per_turn.items())]
    lines = section(
        f"python -m picseek.evals.bench.agent --n {args.n} --dialogues {args.dialogues}",
        f"Offline agent turn latency, {gallery.store.count():,}-image toy index, k=10, no captioner",
        ("turn", "p50 ms", "p95 ms"),
        [*rows, ("all", f"{pct(all_ms, 50):.1f}", f"{pct(all_ms, 95):.1f}")],
    )
    print("\n".join(lines[-5:]))
    write_section("agent", "\n".join(lines))


if __name__ == "__main__":
    main()
