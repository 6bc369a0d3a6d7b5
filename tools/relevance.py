"""Calibrated relevance: how far a score is above what chance gives, for this model on this gallery.

A raw cosine means little to a person (a nonsense word scores 0.58 where a real query scores 0.60 on the toy
model). What separates them is the *margin*: how far a result sits above the query's own typical score (its
median over the gallery). Nonsense texts lift nothing above the rest. So picseek measures, per model and gallery,
the margins that texts with no meaning reach, and expresses every hit in those units:

- the null texts are of three kinds (tools/data/probes.json): random letters, word-like nonsense ("blorvat
  snoum") and caption-like nonsense ("a blorvat next to a snoum at trenk"), so a model that answers any fluent
  text is caught; the chance level is their margins' 90th percentile plus its own uncertainty (a bootstrap
  standard error), so it holds with the few dozen texts there are;
- `above` chance: the hit's margin over chance (chance itself is 1);
- `drop`: how far it sits below the best hit, in the same units (relevance falls steeply past about 1);
- whether the model knows anything at all: real texts ('something red') must lift images above the gallery more
  than nonsense of the same form ('something blorvat') does, clearly more often than chance. A model with random
  weights does not, and then nothing is called a match.

`match` (0–100) combines the two curves into an estimated probability that the hit is what was asked for. The
curves are smooth (a width of a fifth of the chance level, not a step) and were set on the toy world's
development dialogues and checked on a held-out gallery (`python -m picseek.evals.bench.relevance`).
"""

from __future__ import annotations

import functools
import json
import random
import string
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent / "data" / "probes.json"
NULL_TEXTS = 96  # a third random letters, a third word-like, a third caption-like nonsense
SAMPLE = 2000  # gallery vectors used for a query's median score
# The logistic curves (centre, width), in chance units; see the module docstring and the relevance bench.
ABOVE_CENTRE, ABOVE_WIDTH = 1.25, 0.15
DROP_CENTRE, DROP_WIDTH = 0.75, 0.2
STRONG, FAIR, WEAK = 75, 40, 15  # match levels a person reads as words
# Below this many images a median means little: hits are graded only by their distance to the best one, and never
# called "no better than chance".
MIN_IMAGES = 50
# From this many images on, whether the model knows anything is tested (a random-weight ViT-B-32 never passes the
# test; the weak toy model passes it from 20 images on, and fails a third of the time on 4).
KNOW_MIN_IMAGES = 20
# A model "knows" something when at least this many real texts (and clearly more than chance gives) lift images
# above all of their REFERENCE_NULLS nonsense look-alikes.
KNOW_MIN = 6
REFERENCE_NULLS = 5
BOOTSTRAP = 200
ROBUST_Z = 3.0  # chance: the null margins' median + 3 robust standard deviations


def strength(match: int) -> str:
    """'strong' / 'fair' / 'weak' / 'no' — the word the UI and the reply show for a match value."""
    return "strong" if match >= STRONG else "fair" if match >= FAIR else "weak" if match >= WEAK else "no"


@functools.cache
def data() -> dict:
    """The English prompt lists (tools/data/probes.json), read once."""
    return json.loads(DATA.read_text())


def _word(rng: random.Random, parts: dict) -> str:
    syllables = [rng.choice(parts["onsets"]) + rng.choice(parts["vowels"]) for _ in range(rng.randint(2, 3))]
    return "".join(syllables) + rng.choice(parts["codas"])


def null_texts(n: int = NULL_TEXTS, seed: int = 7) -> list[str]:
    """Strings with no meaning in any language a model was trained on (fixed, so runs compare): random letters,
    word-like nonsense and caption-like nonsense, in turn."""
    rng = random.Random(seed)
    parts = data()["nulls"]
    out = []
    for i in range(n):
        kind = i % 3
        if kind == 0:
            letters = ("".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 8))) for _ in range(2))
            out.append(" ".join(letters))
        elif kind == 1:
            out.append(" ".join(_word(rng, parts) for _ in range(rng.randint(1, 3))))
        else:
            words = {f"w{j}": _word(rng, parts) for j in (1, 2, 3)}
            out.append(rng.choice(parts["caption_templates"]).format(**words))
    return out


def reference_texts(per: int = REFERENCE_NULLS, seed: int = 11) -> list[str]:
    """Real texts that any model which knows anything tells apart on a photo gallery (colours, times of day,
    settings: what even the toy model was taught), then, for each, `per` nonsense texts of the same form
    ('something red', then 'something blorvat', ...): the real ones first, in order, then their matched nulls."""
    rng = random.Random(seed)
    parts = data()["nulls"]
    ref = {t: ws for t, ws in data()["reference"].items() if not t.startswith("_")}
    real = [(t, t.format(w=w)) for t, ws in ref.items() for w in ws]
    return [r for _, r in real] + [t.format(w=_word(rng, parts)) for t, _ in real for _ in range(per)]


def _logistic(x: np.ndarray, centre: float, width: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(x - centre) / width))


def robust_top(x: np.ndarray) -> np.ndarray:
    """Median + ROBUST_Z robust standard deviations (1.4826 MAD) along the last axis: where the bulk of a
    distribution ends, unmoved by the few null texts that a model half-reads (a nonsense word whose pieces are real
    tokens of a small vocabulary)."""
    med = np.median(x, axis=-1)
    mad = np.median(np.abs(x - med[..., None]), axis=-1)
    return med + ROBUST_Z * 1.4826 * mad


def chance_level(margins: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """(the chance level of these null margins, its bootstrap standard error)."""
    margins = np.asarray(margins, np.float64)
    rng = np.random.default_rng(seed)
    boot = robust_top(rng.choice(margins, size=(BOOTSTRAP, len(margins))))
    return float(robust_top(margins)), float(boot.std())


def knows(real_margins: np.ndarray, null_margins: np.ndarray) -> bool:
    """Whether real texts lift images above the gallery more than nonsense of the same form does. `null_margins`:
    (real texts, REFERENCE_NULLS) margins of each real text's matched nulls. A model that knows nothing (random
    weights) puts a real text above all its matched nulls one time in REFERENCE_NULLS + 1; knowing means beating
    that count by three binomial standard deviations (and at least KNOW_MIN texts)."""
    real, nulls = np.asarray(real_margins), np.asarray(null_margins).reshape(len(real_margins), -1)
    if not len(real):
        return True
    n, p = len(real), 1.0 / (nulls.shape[1] + 1)
    above = int((real > nulls.max(1)).sum())
    return above >= max(KNOW_MIN, n * p + 3 * (n * p * (1 - p)) ** 0.5)


@dataclass(frozen=True)
class Calibration:
    """The gallery sample a query's median is taken over, and the chance margin of this model on it."""

    sample: np.ndarray  # (n, dim) gallery vectors
    chance: float  # the margin meaningless texts reach (median + 3 robust sd of their best margins) + its uncertainty
    count: int  # how many images the store held when this was measured
    measured: bool = True  # False for galleries too small to measure chance on
    uncertainty: float = 0.0  # the bootstrap standard error of the chance level (cosine)
    knows: bool = True  # False when real words separate the gallery no better than nonsense (random weights)

    @classmethod
    def measure(
        cls,
        sample: np.ndarray,
        null_vectors: np.ndarray,
        null_best: np.ndarray,
        count: int,
        reference: np.ndarray | None = None,
    ) -> Calibration:
        """`null_best`: each null text's best score over the whole gallery (from the store's own search);
        `reference`: vectors of `reference_texts()` (real texts and their look-alike nulls), to tell whether the model
        knows anything."""
        scores = null_vectors @ sample.T  # (nulls, n)
        margins = null_best - np.median(scores, axis=1)
        known = True
        if reference is not None and len(reference) and len(sample) >= KNOW_MIN_IMAGES:
            ref = reference @ sample.T  # the real texts, then their matched nulls (reference_texts' layout)
            m = ref.max(1) - np.median(ref, axis=1)
            n = len(m) // (REFERENCE_NULLS + 1)
            known = knows(m[:n], m[n:].reshape(n, REFERENCE_NULLS))
        if len(sample) < MIN_IMAGES:
            # Too few images for a median to mean much; the null texts' own spread is still this model's scale.
            spread = float(scores.std()) if scores.size > 1 else 0.0
            chance = max(float(np.percentile(margins, 90)), spread, 1e-4)
            return cls(sample=sample, chance=chance, count=count, measured=False, knows=known)
        level, se = chance_level(margins)
        return cls(sample=sample, chance=max(level + se, 1e-4), count=count, uncertainty=se, knows=known)

    def units(self, query: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """Margins of `scores` over the query's median score, in chance units."""
        # einsum, not BLAS: a threaded matrix-vector product waits for a second core, many milliseconds on a busy one
        median = float(np.median(np.einsum("ij,j->i", self.sample, np.asarray(query, self.sample.dtype))))
        return (np.asarray(scores, np.float64) - median) / self.chance

    def match(self, query: np.ndarray, scores: np.ndarray, best: float | None = None) -> np.ndarray:
        """0–100 per score. `best`: the best score of the query overall (default: the best of `scores`)."""
        scores = np.asarray(scores, np.float64)
        if not self.knows:
            return np.zeros(len(scores), int)
        above = self.units(query, scores)
        if not len(above):
            return np.zeros(0, int)
        top = above.max() if best is None else float(self.units(query, np.array([best]))[0])
        p = _logistic(top - above, DROP_CENTRE, -DROP_WIDTH)
        if self.measured:
            p = p * _logistic(above, ABOVE_CENTRE, ABOVE_WIDTH)
        return np.rint(100 * p).astype(int)
