"""`picseek eval`: run dialogues through systems, turn by turn, and write per-turn metrics and reports.

Systems: `agent` (offline planner), `agent-llm` (when an LLM is configured), `last` (the last user message
alone) and `concat` (all user messages so far, joined). All search the same index with the same model.
Output: results.jsonl (one line per dialogue and system, resumable), summary.json, report.md, hits_by_turn.png.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from picseek.evals.datasets import Dialogue
from picseek.evals.metrics import TURN_METRICS, TurnRanks, bri

DEPTH = 100  # ranks below this count as DEPTH + 1


def _ranks(paths: list[str], relevant: set[str]) -> list[int]:
    return sorted(i + 1 for i, p in enumerate(paths) if p in relevant)


class System:
    name = "base"

    def reset(self) -> None:
        """Start a new dialogue."""

    def turn(self, message: str) -> list[str]:
        """Ranked gallery-relative paths (up to DEPTH) after this user message."""
        raise NotImplementedError


class TextBaseline(System):
    def __init__(self, searcher, mode: str):
        self.searcher, self.name, self.mode, self.history = searcher, mode, mode, []

    def reset(self) -> None:
        self.history = []

    def turn(self, message: str) -> list[str]:
        from picseek.tools.retrieve import ImageQuery

        self.history.append(message)
        text = message if self.mode == "last" else ", ".join(self.history)
        from picseek.agent.state import clip_description

        hits = self.searcher.search(ImageQuery(text=clip_description(text), k=DEPTH, collapse_duplicates=False))
        return [h.metadata.path for h in hits]


class AgentSystem(System):
    def __init__(self, agent, name: str = "agent"):
        self.agent, self.name = agent, name
        self.reset()

    def reset(self) -> None:
        from picseek.agent.session import Session

        self.session = Session()

    def turn(self, message: str) -> list[str]:
        r = self.agent.turn(self.session, message, k=DEPTH)
        self.session = r.session
        return [h.metadata.path for h in r.hits]


def resumable(path: Path, pairs: list, run_one, key_field: str, desc: str, progress: bool | None, keep=None) -> list:
    """Rows for (item, item id, system, system name) pairs, run one by one and appended to the JSONL at `path`;
    pairs already there (and accepted by `keep`) are read back, not run again. Rows come back in `pairs` order."""
    from tqdm import tqdm

    done: dict[tuple[str, str], dict] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                if keep is None or keep(r):
                    done[(r[key_field], r["system"])] = r
    todo = [p for p in pairs if (p[1], p[3]) not in done]
    with open(path, "a") as f:
        for item, item_id, system, name in tqdm(
            todo, desc=desc, unit="dialogue", disable=None if progress is None else not progress
        ):
            row = run_one(item, system)
            f.write(json.dumps(row) + "\n")
            f.flush()
            done[(item_id, name)] = row
    return [done[(p[1], p[3])] for p in pairs]


def run(dialogues: list[Dialogue], systems: list[System], out: Path, progress: bool | None = None) -> dict:
    """Evaluate; resumes from out/results.jsonl (dialogue x system pairs already there are not run again)."""
    out.mkdir(parents=True, exist_ok=True)
    pairs = [(d, d.id, s, s.name) for d in dialogues for s in systems]
    rows = resumable(out / "results.jsonl", pairs, _run_dialogue, "dialogue", "evaluating", progress)
    summary = summarize(rows, [s.name for s in systems])
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "report.md").write_text(report(summary))
    plot(summary, out / "hits_by_turn.png")
    return summary


def _run_dialogue(d: Dialogue, s: System) -> dict:
    s.reset()
    turns, best = [], DEPTH + 1
    for t in d.turns:
        t0 = time.perf_counter()
        paths = s.turn(t.user)
        latency = time.perf_counter() - t0
        ranks = _ranks(paths, set(t.relevant))
        best = min(best, ranks[0] if ranks else DEPTH + 1)
        tr = TurnRanks(ranks, len(t.relevant), best, DEPTH)
        turns.append(
            {
                "user": t.user,
                "ranks": ranks[:20],
                "n_relevant": len(t.relevant),
                "best_so_far": best,
                "latency_ms": round(latency * 1000, 2),
                **{m.name: round(m.score(tr), 4) for m in TURN_METRICS},
            }
        )
    return {"dialogue": d.id, "system": s.name, "turns": turns, "BRI": round(bri([t["best_so_far"] for t in turns]), 4)}


def summarize(rows: list[dict], systems: list[str]) -> dict:
    by = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    bris = defaultdict(list)
    for r in rows:
        bris[r["system"]].append(r["BRI"])
        for i, t in enumerate(r["turns"]):
            for m in [*(m.name for m in TURN_METRICS), "latency_ms"]:
                by[r["system"]][i][m].append(t[m])
    out = {"dialogues": len({r["dialogue"] for r in rows}), "systems": {}}
    for s in systems:
        turns = []
        for i in sorted(by[s]):
            d = {m: round(float(np.mean(v)), 4) for m, v in by[s][i].items() if m != "latency_ms"}
            lat = by[s][i]["latency_ms"]
            d["latency_ms_p50"] = round(float(np.median(lat)), 2)
            d["latency_ms_p95"] = round(float(np.percentile(lat, 95)), 2)
            d["n"] = len(lat)
            turns.append(d)
        out["systems"][s] = {"turns": turns, "BRI": round(float(np.mean(bris[s])), 4) if bris[s] else None}
    return out


def report(summary: dict) -> str:
    names = [m.name for m in TURN_METRICS]
    lines = [
        "# Eval report",
        "",
        f"{summary['dialogues']} dialogues. Ranks are 1-based; P@10 is capped by the "
        f"number of relevant images; Hits@k is cumulative over turns (ChatIR); BRI as in PlugIR (lower is "
        f"better).",
        "",
    ]
    for s, v in summary["systems"].items():
        lines += [
            f"## {s}  (BRI {v['BRI']})",
            "",
            "| turn | " + " | ".join(names) + " | p50 ms | p95 ms |",
            "|---|" + "---:|" * (len(names) + 2),
        ]
        for i, t in enumerate(v["turns"], 1):
            lines.append(
                f"| {i} | "
                + " | ".join(f"{t[m]:.3f}" for m in names)
                + f" | {t['latency_ms_p50']:.1f} | {t['latency_ms_p95']:.1f} |"
            )
        lines.append("")
    last = {s: v["turns"][-1]["P@10"] for s, v in summary["systems"].items() if v["turns"]}
    if last:
        lines += ["## Final turn, P@10", "", "| system | P@10 |", "|---|---:|"]
        lines += [f"| {s} | {p:.3f} |" for s, p in sorted(last.items(), key=lambda x: -x[1])]
    return "\n".join(lines) + "\n"


def plot(summary: dict, path: Path) -> None:
    panels = []
    for metric, title in (("Hits@10", "Hits@10 (cumulative)"), ("P@10", "P@10")):
        series = {s: [t[metric] for t in v["turns"]] for s, v in summary["systems"].items()}
        panels.append((title, "turn", series, 1))
    line_panels(panels, path)


def line_panels(panels: list[tuple[str, str, dict[str, list[float]], int]], path: Path) -> None:
    """One chart per panel (title, x label, {system: values}, first x), systems as lines, y in [0, 1]."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    for a, (title, xlabel, series, first) in zip(axes[0], panels):
        for name, ys in series.items():
            a.plot(range(first, first + len(ys)), ys, marker="o", label=name)
        a.set_xlabel(xlabel)
        a.set_title(title)
        a.set_ylim(0, 1.02)
        a.grid(alpha=0.3)
        a.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
