"""Retrieval metrics as small declared objects: a name and a per-turn score over ranks of relevant images.

Ranks are 1-based; an image not retrieved within the system's depth gets rank `depth + 1`. Turn-level inputs:
`ranks` (sorted 1-based ranks of the relevant images), `n_relevant`, and for dialogue-level metrics the best
rank seen so far.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class TurnRanks:
    ranks: list[int]  # 1-based ranks of relevant images that were retrieved (sorted)
    n_relevant: int
    best_so_far: int  # best rank of any relevant image over this and earlier turns (cumulative, ChatIR-style)
    depth: int  # how deep the system's list goes

    @property
    def best(self) -> int:
        return self.ranks[0] if self.ranks else self.depth + 1


@dataclass(frozen=True)
class AtK:
    """A metric over the top k; its name is its label and k ('P@10')."""

    k: int = 10
    label = ""

    @property
    def name(self) -> str:
        return f"{self.label}@{self.k}"


class PrecisionAtK(AtK):
    label = "P"

    def score(self, t: TurnRanks) -> float:
        """Relevant images in the top k, over min(k, number relevant)."""
        return sum(r <= self.k for r in t.ranks) / max(1, min(self.k, t.n_relevant))


class RecallAtK(AtK):
    label = "R"

    def score(self, t: TurnRanks) -> float:
        return sum(r <= self.k for r in t.ranks) / max(1, t.n_relevant)


class HitsAtK(AtK):
    """ChatIR's cumulative Hits@k: a relevant image has appeared in the top k at this turn or an earlier one."""

    label = "Hits"

    def score(self, t: TurnRanks) -> float:
        return float(t.best_so_far <= self.k)


@dataclass(frozen=True)
class MRR:
    name: str = "MRR"

    def score(self, t: TurnRanks) -> float:
        return 1.0 / t.best if t.ranks else 0.0


class NDCGAtK(AtK):
    label = "nDCG"

    def score(self, t: TurnRanks) -> float:
        dcg = sum(1 / math.log2(r + 1) for r in t.ranks if r <= self.k)
        ideal = sum(1 / math.log2(i + 2) for i in range(min(self.k, t.n_relevant)))
        return dcg / ideal if ideal else 0.0


def bri(best_so_far: list[int]) -> float:
    """PlugIR's Best log Rank Integral for one dialogue: trapezoid integral over turns of log(best 1-based rank
    so far), divided by the number of intervals. Lower is better; 0 means the target was first from turn one."""
    logs = [math.log(max(1, r)) for r in best_so_far]
    if len(logs) == 1:
        return logs[0]
    return sum((a + b) / 2 for a, b in zip(logs, logs[1:])) / (len(logs) - 1)


TURN_METRICS = [PrecisionAtK(10), RecallAtK(10), HitsAtK(10), HitsAtK(1), MRR(), NDCGAtK(10)]
