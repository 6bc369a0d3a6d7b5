"""The target-image protocol (ChatIR / PlugIR): find the one image the user has in mind.

Each dialogue has a target image and a first description. A simulated user then answers the agent's questions
about the target for R rounds (`agent`), or volunteers one true fact of its own choosing each round, unasked
(`volunteer`), or says nothing more (`describe`). Per round: Hits@1/5/10 of the target (cumulative, as ChatIR),
its rank, and BRI over the dialogue (PlugIR). Output: results.jsonl (resumable), summary.json, report.md and
hits_by_round.png.

Dataset lines: {"id", "target": path relative to the gallery, "description", "captions": [optional reference
captions, for the LLM answerer]}.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from picseek.evals.metrics import bri

DEPTH = 100
KS = (1, 5, 10)


@dataclass
class Target:
    id: str
    target: str
    description: str
    captions: list[str] = field(default_factory=list)


def load_targets(path: Path) -> list[Target]:
    from picseek.evals.datasets import read_jsonl

    return read_jsonl(
        path,
        lambda d: Target(str(d["id"]), str(d["target"]), str(d["description"]), list(d.get("captions", []))),
        '{"id", "target", "description", "captions"?}',
    )


def save_targets(targets: list[Target], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        for t in targets:
            f.write(json.dumps({k: v for k, v in asdict(t).items() if v != []}) + "\n")


def toy_targets(gallery: Path, n: int = 200, seed: int = 0) -> list[Target]:
    """Targets from a toy gallery, each first described by one of its objects' noun only ("a boat")."""
    from picseek.evals.toy.phrasings import OPENERS
    from picseek.ui.demo import world

    scenes = world.load_scenes(gallery)
    rng = random.Random(seed)
    chosen = rng.sample(scenes, min(n, len(scenes)))
    return [
        Target(f"target-{seed}-{i:04d}", s.file, rng.choice(OPENERS).format(n=rng.choice(s.objects).noun), [s.caption])
        for i, s in enumerate(chosen)
    ]


class Dialogue:
    """One simulated conversation between a user who knows the target and a system."""

    def __init__(self, agent, target: Target, user, system: str):
        from picseek.agent.session import Session

        self.agent, self.target, self.user, self.system = agent, target, user, system
        self.session, self.result = Session(), None

    def rank(self) -> int:
        paths = [h.metadata.path for h in self.result.hits] if self.result else []
        return paths.index(self.target.target) + 1 if self.target.target in paths else DEPTH + 1

    def say(self, message: str | None) -> None:
        if message:
            self.result = self.agent.turn(self.session, message, k=DEPTH)
            self.session = self.result.session

    def next_message(self) -> tuple[str | None, str | None]:
        """(the user's next message, the question it answers)."""
        if self.system == "describe":
            return None, None
        q = self.result.question if self.result is not None else None
        if self.system == "agent" and q is not None:
            return self.user.answer(self.target, q), q.text
        return self.user.volunteer(self.target), None


def run_target(
    targets: list[Target], systems: dict, user, out: Path, rounds: int = 5, progress: bool | None = None
) -> dict:
    """Evaluate `systems` ({name: Agent}) on targets; resumes from out/results.jsonl."""
    from picseek.evals.runner import resumable

    out.mkdir(parents=True, exist_ok=True)
    pairs = [(t, t.id, name, name) for t in targets for name in systems]
    rows = resumable(
        out / "results.jsonl",
        pairs,
        lambda t, name: _dialogue(systems[name], t, user, name, rounds),
        "target",
        "target dialogues",
        progress,
        keep=lambda r: len(r["ranks"]) == rounds + 1,  # rows of a run with other --rounds are run again, not mixed
    )
    summary = summarize(rows, list(systems), rounds)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "report.md").write_text(report(summary))
    plot(summary, out / "hits_by_round.png")
    return summary


def _dialogue(agent, t: Target, user, system: str, rounds: int) -> dict:
    user.start(t)
    d = Dialogue(agent, t, user, system)
    t0 = time.perf_counter()
    d.say(t.description)
    ranks, turns = [d.rank()], []
    for _ in range(rounds):
        message, question = d.next_message()
        d.say(message)
        ranks.append(d.rank())
        turns.append({"question": question, "user": message})
    best = list(np.minimum.accumulate(ranks))
    return {
        "target": t.id,
        "system": system,
        "ranks": ranks,
        "best": [int(b) for b in best],
        "turns": turns,
        "asked": sum(1 for x in turns if x["question"]),
        "BRI": round(bri(best), 4),
        "seconds": round(time.perf_counter() - t0, 3),
    }


def summarize(rows: list[dict], systems: list[str], rounds: int) -> dict:
    out = {"targets": len({r["target"] for r in rows}), "rounds": rounds, "systems": {}}
    for s in systems:
        mine = [r for r in rows if r["system"] == s]
        if not mine:
            continue
        best = np.array([r["best"] for r in mine])
        now = np.array([r["ranks"] for r in mine])
        per_round = []
        for i in range(best.shape[1]):
            d = {f"Hits@{k}": round(float((best[:, i] <= k).mean()), 4) for k in KS}
            d["in_top10_now"] = round(float((now[:, i] <= 10).mean()), 4)
            d["median_rank"] = float(np.median(now[:, i]))
            per_round.append(d)
        out["systems"][s] = {
            "rounds": per_round,
            "BRI": round(float(np.mean([r["BRI"] for r in mine])), 4),
            "questions_asked_per_dialogue": round(float(np.mean([r["asked"] for r in mine])), 2),
            "seconds_per_dialogue": round(float(np.mean([r["seconds"] for r in mine])), 2),
        }
    return out


def report(summary: dict) -> str:
    lines = [
        "# Target-image eval",
        "",
        f"{summary['targets']} targets, {summary['rounds']} rounds after the first description. Hits@k is "
        "cumulative (the target was in the top k at this round or an earlier one, as ChatIR); 'top 10 now' is "
        "this round only; BRI as in PlugIR (lower is better). Round 0 is the first description alone. In a "
        "round where the agent asks nothing, its simulated user volunteers one fact instead (as in `volunteer`). "
        "Every image is ranked: near-duplicates are not folded into one result here (the product folds them and "
        "lists them with the result they copy), since the target may be one of them.",
        "",
    ]
    for s, v in summary["systems"].items():
        lines += [
            f"## {s}  (BRI {v['BRI']}, questions asked per dialogue {v['questions_asked_per_dialogue']})",
            "",
            "| round | Hits@1 | Hits@5 | Hits@10 | top 10 now | median rank |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for i, r in enumerate(v["rounds"]):
            lines.append(
                f"| {i} | {r['Hits@1']:.3f} | {r['Hits@5']:.3f} | {r['Hits@10']:.3f} | {r['in_top10_now']:.3f} "
                f"| {r['median_rank']:.0f} |"
            )
        lines.append("")
    return "\n".join(lines) + "\n"


def plot(summary: dict, path: Path) -> None:
    from picseek.evals.runner import line_panels

    series = {s: [r["Hits@10"] for r in v["rounds"]] for s, v in summary["systems"].items()}
    line_panels([("Hits@10 of the target (cumulative)", "round (0 = first description)", series, 0)], path)
