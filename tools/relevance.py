"""Calibrated relevance: how far a score is above what chance gives, for this model on this gallery.

A raw cosine means little to a person (a nonsense word scores 0.58 where a real query scores 0.60 on the toy
model). What separates them is the *margin*: how far a result sits above the query's own typical score (its
median over the gallery). Nonsense texts lift nothing above the rest. So picseek measures, per model and gallery,
the margin that texts with no meaning reach (random letter strings: the chance level) and expresses every hit in
those units:

- `above` chance: the hit's margin over chance (nonsense tops out at about 1, the weakest real query in the toy
  evals at about 2);
- `drop`: how far it sits below the best hit, in the same units (relevance falls steeply past about 1).

`match` (0–100) combines the two into an estimated probability that the hit is what was asked for. Its two
logistic curves were fitted on the toy world's development dialogues and checked on a held-out gallery
(`python -m picseek.evals.bench.relevance`); the chance level itself is measured per model and gallery at run time, so
the scale moves with the model.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass

import numpy as np

NULL_TEXTS = 24  # random letter strings whose best margins define chance
SAMPLE = 2000  # gallery vectors used for a query's median score
# The logistic curves (centre, width), in chance units; see the module docstring and the relevance bench.
ABOVE_CENTRE, ABOVE_WIDTH = 1.1, 0.05
DROP_CENTRE, DROP_WIDTH = 0.75, 0.15
STRONG, FAIR, WEAK = 75, 40, 15  # match levels a person reads as words
# Below this many images a median and a chance level mean nothing: hits are graded only by their distance to the
# best one, in a typical chance unit of cosine, and never called "no better than chance".
MIN_IMAGES, UNMEASURED_CHANCE = 50, 0.05


def strength(match: int) -> str:
    """'strong' / 'fair' / 'weak' / 'no' — the word the UI and the reply show for a match value."""
    return "strong" if match >= STRONG else "fair" if match >= FAIR else "weak" if match >= WEAK else "no"


def null_texts(n: int = NULL_TEXTS, seed: int = 7) -> list[str]:
    """Strings with no meaning in any language a model was trained on (fixed, so runs compare)."""
    rng = random.Random(seed)
    return [
        " ".join("".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 8))) for _ in range(2))
        for _ in range(n)
    ]


def _logistic(x: np.ndarray, centre: float, width: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(x - centre) / width))


@dataclass(frozen=True)
class Calibration:
    """The gallery sample a query's median is taken over, and the chance margin of this model on it."""

    sample: np.ndarray  # (n, dim) gallery vectors
    chance: float  # the margin that meaningless texts reach (90th percentile of their best margins)
    count: int  # how many images the store held when this was measured
    measured: bool = True  # False for galleries too small to measure chance on

    @classmethod
    def measure(cls, sample: np.ndarray, null_vectors: np.ndarray, null_best: np.ndarray, count: int) -> Calibration:
        """`null_best`: each null text's best score over the whole gallery (from the store's own search)."""
        if len(sample) < MIN_IMAGES:
            return cls(sample=sample, chance=UNMEASURED_CHANCE, count=count, measured=False)
        medians = np.median(null_vectors @ sample.T, axis=1)
        margins = null_best - medians
        return cls(sample=sample, chance=max(float(np.percentile(margins, 90)), 1e-4), count=count)

    def units(self, query: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """Margins of `scores` over the query's median score, in chance units."""
        # einsum, not BLAS: a threaded matrix-vector product waits for a second core, many milliseconds on a busy one
        median = float(np.median(np.einsum("ij,j->i", self.sample, np.asarray(query, self.sample.dtype))))
        return (np.asarray(scores, np.float64) - median) / self.chance

    def match(self, query: np.ndarray, scores: np.ndarray, best: float | None = None) -> np.ndarray:
        """0–100 per score. `best`: the best score of the query overall (default: the best of `scores`)."""
        above = self.units(query, scores)
        top = above.max() if best is None else float(self.units(query, np.array([best]))[0])
        p = _logistic(top - above, DROP_CENTRE, -DROP_WIDTH)
        if self.measured:
            p = p * _logistic(above, ABOVE_CENTRE, ABOVE_WIDTH)
        return np.rint(100 * p).astype(int)
