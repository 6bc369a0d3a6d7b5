"""Cost of understanding a message and of asking a question, on this machine.

python -m picseek.evals.bench.dialogue [--candidates 40]

- tracker: parse + merge per message, over every message of the language suite (context and utterances);
- question step: `Questioner.ask` over the top candidates of real toy searches whose captions are in the index,
  with the caption reading cache cold (first time these captions are seen) and warm (a later turn).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

from picseek.evals.bench.common import bench_dir, pct, section, write_section


def tracker_ms() -> list[float]:
    from picseek.agent.english.tracker import Tracker
    from picseek.agent.state import SearchState
    from picseek.evals.language.cases import HERE, load

    tracker, out = Tracker(), []
    tracker.update(SearchState(), "warm up the parser with a red car")
    for name in ("dev", "heldout"):
        for c in load(HERE / f"{name}.jsonl"):
            st = SearchState()
            for m in [*c.context, c.utterance]:
                t0 = time.perf_counter()
                st = tracker.update(st, m, resolve=str).state
                out.append((time.perf_counter() - t0) * 1000)
    return out


def question_ms(n_candidates: int) -> tuple[list[float], list[float]]:
    from picseek.agent.questions import Questioner, clear_cache
    from picseek.agent.session import Session
    from picseek.agent.state import SearchState, Subject
    from picseek.tools.gallery import open_gallery
    from picseek.tools.index import index_folder
    from picseek.tools.retrieve import ImageQuery
    from picseek.ui.demo import world
    from picseek.ui.demo.world import make_gallery

    folder = bench_dir() / "toy-dialogue-1500"
    if not (folder / "scenes.jsonl").exists():
        make_gallery(folder, 1500, seed=8181)
    gallery = open_gallery(folder, "toy", create=True, replace=True)
    store = gallery.store
    index_folder(folder, gallery.embedder, store)
    # captions as a captioned index holds them (the toy scenes' own), so the bench times the question, not CoCa
    truth = {s.file: s.caption for s in world.load_scenes(folder)}
    store.update_captions([replace(r, caption=truth[r.meta.path]) for r in store.iter_metadata()])
    searcher, q = gallery.searcher, Questioner()
    cold, warm = [], []
    for noun in world.NOUNS:
        for colour in world.COLORS:
            session = Session(state=SearchState(subjects=[Subject(noun=noun)]))
            hits = searcher.search(ImageQuery(text=f"a {colour} {noun}", k=n_candidates))
            clear_cache()
            t0 = time.perf_counter()
            q.ask(session, hits)
            cold.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            q.ask(session, hits)
            warm.append((time.perf_counter() - t0) * 1000)
    return cold, warm


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--candidates", type=int, default=40)
    args = ap.parse_args(argv)
    tr = tracker_ms()
    cold, warm = question_ms(args.candidates)
    k = args.candidates
    lines = section(
        f"python -m picseek.evals.bench.dialogue --candidates {k}",
        "Understanding a message and asking a question (offline, 2 CPU cores)",
        ("step", "runs", "p50 ms", "p95 ms"),
        [
            _timings("tracker: parse + merge one message (language suite)", tr),
            _timings(f"question step, {k} candidates, captions read for the first time", cold),
            _timings(f"question step, {k} candidates, captions read before (a later turn)", warm),
        ],
        notes=[
            "The question step's captions come from the index (made at index time or on demand by the agent, then "
            "stored); what is timed is reading them into facts and choosing the question."
        ],
    )
    print("\n".join(lines))
    write_section("dialogue", "\n".join(lines))


def _timings(step: str, ms: list[float]) -> tuple[str, ...]:
    return step, str(len(ms)), f"{pct(ms, 50):.1f}", f"{pct(ms, 95):.1f}"


if __name__ == "__main__":
    main()
