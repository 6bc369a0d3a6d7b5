"""Facts about images read from their stored vectors: zero-shot probes, no decoding, no captions needed.

A probe is a question the gallery can answer — the time of day, the season, the weather, the setting, the kind of
photo, how many people, the colour and size of a named thing, whether a thing is in it — with English prompts per answer
(tools/data/probes.json). Each answer's prompts are embedded once per model (kept in memory and on disk beside the
store) and averaged into one text vector. An answer is calibrated on the gallery the way the match is
(tools.relevance): its score on an image counts only as its margin over the answer's own median score on the
gallery, in units of what meaningless texts reach (their top-decile margins' chance level, tools.relevance). An answer
whose best tenth of the gallery sits no further above its median than nonsense does does not separate the
gallery and says nothing; a model with random weights therefore gives no facts at all.

An image has an answer when it sits clearly above the gallery on it, and (for one-of questions: time, place...)
clearly above the runner-up answer; otherwise it is silent on that question.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from picseek.tools.relevance import chance_level, data, null_texts

log = logging.getLogger(__name__)

# An image has an answer when its margin on it is at least ON chance units and, for a one-of question, at least GAP
# units above the runner-up; an answer separates the gallery when its top decile reaches SEPARATES units.
# Set on the dev toy gallery (seed 4040, 60 target dialogues with --no-captions): 1.0 / 0.25 lifted Hits@10 after
# 2 rounds from 0.45 (1.5 / 0.5) to 0.52; colour answers stay 94-97% right at this gap.
ON, GAP, SEPARATES = 1.0, 0.25, 1.25
PEOPLE_COUNT = {"one person": "1", "two people": "2", "a group of people": "3"}


@dataclass(frozen=True)
class ImageFacts:
    """What the vectors say about one image (the same shape as a caption's facts in agent.questions)."""

    things: frozenset[str] = frozenset()  # things it shows
    attrs: tuple[tuple[str, str, str], ...] = ()  # (noun, slot, value): ('car', 'color', 'red')
    setting: tuple[tuple[str, str], ...] = ()  # (slot, value): ('time', 'night'), ('place', 'on grass')
    kind: str | None = None  # the kind of photo: 'a portrait', 'a screenshot'...
    people: str | None = None  # 'no people', 'one person', 'two people', 'a group of people'

    def words(self) -> list[str]:
        """The facts as short phrases, for a reason ('red car', 'at night')."""
        out = [f"{v} {n}" if s in ("color", "size") else f"{n}: {v}" for n, s, v in self.attrs]
        out += [v for _, v in self.setting]
        return out + ([self.kind] if self.kind else [])


_banks: dict[str, dict[str, np.ndarray]] = {}  # per model: text -> unit vector (shared by every searcher)
_banks_lock = threading.Lock()


class TextBank:
    """Text vectors of one model, embedded once: in memory for the process, and on disk under the store's folder so
    the next process reads them instead of running the text tower."""

    def __init__(self, embedder, folder: Path | None = None):
        self.embedder = embedder
        key = embedder.model_id
        self.file = (
            Path(folder) / "probes" / f"texts-{hashlib.sha1(key.encode()).hexdigest()[:12]}.npz" if folder else None
        )
        with _banks_lock:
            self.vecs = _banks.setdefault(key, {})
        self._loaded = False

    def _load(self) -> None:
        self._loaded = True
        if self.file is None or not self.file.exists():
            return
        try:
            with np.load(self.file, allow_pickle=False) as z:
                for t, v in zip(z["texts"].tolist(), z["vectors"]):
                    self.vecs.setdefault(str(t), v.astype(np.float32))
        except (OSError, ValueError, KeyError) as e:  # a damaged cache is only a cache: embed again
            log.warning("ignoring the text cache %s: %r", self.file, e)

    def vectors(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dim) unit vectors, each text embedded at most once per model."""
        if not self._loaded:
            self._load()
        new = [t for t in dict.fromkeys(texts) if t not in self.vecs]
        if new:
            for t, v in zip(new, self.embedder.embed_texts(new)):
                self.vecs[t] = np.asarray(v, np.float32)
            self._save()
        return np.stack([self.vecs[t] for t in texts]) if texts else np.zeros((0, 0), np.float32)

    def _save(self) -> None:
        if self.file is None:
            return
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.file.with_suffix(".tmp.npz")
            texts = list(self.vecs)
            np.savez(tmp, texts=np.array(texts), vectors=np.stack([self.vecs[t] for t in texts]))
            tmp.replace(self.file)
        except OSError as e:  # a read-only store still answers, it just embeds again next time
            log.warning("could not keep the text cache %s: %r", self.file, e)


def _prompts_of(values: dict[str, list[str]]) -> dict[str, list[str]]:
    return {v: list(p) for v, p in values.items()}


@dataclass
class _Scale:
    """One answer on this gallery: its averaged text vector, median score, and whether it separates the gallery."""

    vector: np.ndarray
    median: float
    separates: bool


@dataclass
class Probes:
    """Zero-shot probes over a searcher's store; calibrated on the gallery again when its size changes."""

    searcher: object
    _unit: float = 0.0
    _count: int = -1
    _knows: bool = False
    _scales: dict[tuple[str, ...], _Scale] = field(default_factory=dict)
    _bank: TextBank | None = None

    def __post_init__(self):
        self._lock = threading.Lock()

    @property
    def bank(self) -> TextBank:
        if self._bank is None:
            self._bank = TextBank(self.searcher.embedder, getattr(self.searcher.store, "state_dir", None))
        return self._bank

    def _calibrate(self) -> None:
        count = self.searcher.count()
        if count == self._count:
            return
        cal = self.searcher.calibration(count)
        self._scales, self._count, self._sample = {}, count, cal.sample
        self._knows = cal.measured and cal.knows
        if not self._knows:
            return
        nulls = self.bank.vectors(null_texts()) @ cal.sample.T
        tails = np.percentile(nulls, 90, axis=1) - np.median(nulls, axis=1)
        p90, se = chance_level(tails)
        self._unit = max(p90 + se, 1e-6)

    def _scale(self, prompts: tuple[str, ...]) -> _Scale:
        s = self._scales.get(prompts)
        if s is None:
            v = self.bank.vectors(list(prompts)).mean(0)
            v = v / max(float(np.linalg.norm(v)), 1e-12)
            g = self._sample @ v
            med = float(np.median(g))
            s = _Scale(v, med, (float(np.percentile(g, 90)) - med) / self._unit >= SEPARATES)
            self._scales[prompts] = s
        return s

    def units(self, vectors: np.ndarray, answers: dict[str, list[str]]) -> dict[str, np.ndarray]:
        """Each separating answer's margin on each image, in chance units (answers that do not separate left out)."""
        out = {}
        for value, prompts in answers.items():
            s = self._scale(tuple(prompts))
            if s.separates:
                out[value] = (vectors @ s.vector - s.median) / self._unit
        return out

    def facts(self, ids: list[str], subjects: list[str] = (), words: list[str] = ()) -> list[ImageFacts]:
        """Facts of these images (in order). `subjects`: the named things whose colour to probe; `words`: more things
        to look for (the user's words, the captions' things)."""
        with self._lock:
            self._calibrate()
            if not self._knows or not ids:
                return [ImageFacts() for _ in ids]
            records = {r.id: r for r in self.searcher.store.get(ids, vectors=True)}
            dim = self._sample.shape[1]
            vecs = np.stack([np.asarray(records[i].vector, np.float32) if i in records else np.zeros(dim) for i in ids])
            return self._read(vecs, list(dict.fromkeys(subjects)), list(dict.fromkeys(words)))

    def _read(self, vecs: np.ndarray, subjects: list[str], words: list[str]) -> list[ImageFacts]:
        d = data()
        n = len(vecs)
        setting: list[list[tuple[str, str]]] = [[] for _ in range(n)]
        attrs: list[list[tuple[str, str, str]]] = [[] for _ in range(n)]
        for slot, values in d["slots"].items():
            for i, v in _one_of(self.units(vecs, _prompts_of(values))).items():
                setting[i].append((slot, v))
        kinds = _one_of(self.units(vecs, _prompts_of(d["kinds"])))
        people = _one_of(self.units(vecs, _prompts_of(d["people"])))
        for noun in subjects:
            answers = {c: [p.format(color=c, thing=noun) for p in d["color_prompts"]] for c in d["colors"]}
            for i, c in _one_of(self.units(vecs, answers)).items():
                attrs[i].append((noun, "color", c))
            sizes = {z: [p.format(size=z, thing=noun) for p in d["size_prompts"]] for z in d["sizes"]}
            for i, z in _one_of(self.units(vecs, sizes)).items():
                attrs[i].append((noun, "size", z))
            if noun in ("person", "people") or noun == "man" or noun == "woman":
                for i, p in people.items():
                    if p in PEOPLE_COUNT:
                        attrs[i].append((noun, "count", PEOPLE_COUNT[p]))
        vocab = list(dict.fromkeys([*d["things"], *words]))
        things = self.units(vecs, {t: [p.format(thing=t) for p in d["thing_prompts"]] for t in vocab})
        shown = [{t for t, u in things.items() if u[i] >= ON} for i in range(n)]
        for i, p in people.items():
            if p != "no people":
                shown[i].add("person")
        return [
            ImageFacts(frozenset(shown[i]), tuple(attrs[i]), tuple(setting[i]), kinds.get(i), people.get(i))
            for i in range(n)
        ]


def _one_of(units: dict[str, np.ndarray]) -> dict[int, str]:
    """For a one-of question: each image's answer, where it is clearly above the gallery and the runner-up."""
    if len(units) < 2:
        return {}
    values = list(units)
    u = np.stack([units[v] for v in values], axis=1)  # (images, answers)
    order = np.argsort(-u, axis=1)
    best, second = u[np.arange(len(u)), order[:, 0]], u[np.arange(len(u)), order[:, 1]]
    return {i: values[order[i, 0]] for i in range(len(u)) if best[i] >= ON and best[i] - second[i] >= GAP}
