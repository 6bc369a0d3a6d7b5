"""The search tool: a typed `ImageQuery` in, ranked `Hit`s out.

The query vector is Rocchio-style: the text embedding, plus the mean of reference images, minus the mean of
images and concepts to move away from. Metadata filters become a Chroma `where`. Candidates are re-ranked:
images close to a negative concept are penalised, near-duplicates collapsed, then k and the threshold apply.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
from picseek.tools.embed import Embedder
from picseek.tools.errors import BadQuery
from picseek.tools.places import PlaceFilter
from picseek.tools.records import FIELDS, ImageMeta, Orientation
from picseek.tools.relevance import NULL_TEXTS, SAMPLE, Calibration, null_texts, reference_texts, strength
from picseek.tools.store import Store, image_id
from pydantic import BaseModel, Field, computed_field, field_validator

MAX_K = 200
EXAMPLE_MAX_PIXELS = 50_000_000  # an example photo needs no more; a decompression bomb is refused before decoding


class Filters(BaseModel):
    """Metadata constraints; every field is optional and they all must hold."""

    date_from: date | None = Field(None, description="capture date (EXIF, else file time) on or after this day")
    date_to: date | None = Field(None, description="capture date on or before this day")
    orientation: Orientation | None = None
    min_width: int | None = Field(None, ge=1)
    min_height: int | None = Field(None, ge=1)
    formats: list[str] = Field(default_factory=list, description="e.g. ['JPEG', 'PNG']")
    folder: str | None = Field(None, description="sub-folder of the gallery, relative to its root")
    camera: str | None = Field(None, description="camera make or model, exact as stored")
    place: PlaceFilter | None = Field(None, description="where the photos were taken (from their GPS)")
    text_in_image: list[str] = Field(
        default_factory=list,
        description="words written in the picture (a sign, a label), e.g. ['bakery']: images whose text, read by "
        "OCR, has them rank first",
    )

    def where(self) -> dict | None:
        """The Chroma `where` clause for these filters (None when there are none), on `ImageMeta`'s fields."""
        f = FIELDS
        c: list[dict] = []
        if self.date_from:
            c.append({f.date_ts: {"$gte": _ts(self.date_from)}})
        if self.date_to:
            c.append({f.date_ts: {"$lt": _ts(self.date_to) + 86400}})
        if self.orientation:
            c.append({f.orientation: self.orientation})
        if self.min_width:
            c.append({f.width: {"$gte": self.min_width}})
        if self.min_height:
            c.append({f.height: {"$gte": self.min_height}})
        if self.formats:
            c.append({f.format: {"$in": [x.upper().replace("JPG", "JPEG") for x in self.formats]}})
        if self.folder is not None:
            c.append({f.dir: self.folder.strip("/")})
        if self.camera:
            c.append({"$or": [{f.camera_make: self.camera}, {f.camera_model: self.camera}]})
        if self.place:
            c.append(self.place.resolve()[1])
        if not c:
            return None
        return c[0] if len(c) == 1 else {"$and": c}


def parse_day(text: str | None) -> date | None:
    """'2019-07-14' -> a date (None for empty); anything else is a BadQuery that shows the format."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadQuery(f"bad date {text!r}: use YYYY-MM-DD, e.g. 2019-07-14") from None


def _ts(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=timezone.utc).timestamp())


class ImageQuery(BaseModel):
    """What to look for. `like`/`unlike` take image ids or paths (absolute or relative to the gallery)."""

    text: str = Field("", description="a caption-style description of the wanted images")
    negatives: list[str] = Field(default_factory=list, description="concepts to exclude, e.g. ['people']")
    like: list[str] = Field(default_factory=list, description="reference images: more like these")
    unlike: list[str] = Field(default_factory=list, description="images to move away from")
    filters: Filters = Field(default_factory=Filters)
    k: int = Field(10, ge=1, le=MAX_K)
    threshold: float | None = Field(None, ge=-1, le=1, description="drop hits whose raw cosine is below this")
    min_match: int | None = Field(None, ge=0, le=100, description="drop hits whose calibrated match is below this")
    collapse_duplicates: bool = True
    caption_weight: float = Field(0.0, ge=0, le=1, description="blend in how many query words the caption has")

    @field_validator("text")
    @classmethod
    def _strip(cls, v: str) -> str:
        return " ".join(v.split())


class Hit(BaseModel):
    id: str
    path: str  # absolute
    rank: int
    score: float  # the ranking score (cosine, after the re-rank)
    match: int = 0  # calibrated 0–100: how likely this is what was asked for (tools.relevance)
    caption: str | None = None
    metadata: ImageMeta  # the file's metadata from the index
    similar_to: str | None = None  # file name of the reference image it is closest to, when there are references
    avoided: list[str] = Field(default_factory=list, description="excluded concepts this hit stays clear of")
    reason: str = ""  # why it is here, in words (filled by the agent, which knows the description)
    duplicates: list[str] = Field(
        default_factory=list, description="near-duplicates folded into this hit (paths), among the images read"
    )

    @property
    def folded(self) -> str:
        """'+2 near-duplicates' ('' when none were folded into this hit), as the UI and the CLI say it."""
        n = len(self.duplicates)
        return f"+{n} near-duplicate{'s' if n > 1 else ''}" if n else ""

    @computed_field
    @property
    def strength(self) -> str:
        """'strong' / 'fair' / 'weak' / 'no' match, the words the replies and the UI use."""
        return strength(self.match)


# Weights of the query parts. Negatives are pushed away in the vector and, for candidates that sit unusually
# close to a negative concept, penalised again in the re-rank.
W_TEXT, W_LIKE, W_UNLIKE, W_NEG = 1.0, 1.0, 0.5, 0.35
NEG_PENALTY = 1.0
CAPTION_NEG_PENALTY = 0.05  # an excluded thing the image's caption names: below its peers, not out of the list
DUPLICATE_COS = 0.985
MAX_POOL = MAX_K * 5
SEARCH_EF = 100  # Chroma's default `hnsw:search_ef`: its HNSW search keeps max(ef, n) candidates for n results


def pool(q: ImageQuery) -> int:
    """How many nearest images a search reads first. A re-rank (negatives, the caption blend) reorders them, so it
    needs a wide pool; otherwise the order is the store's and only folded near-duplicates use up places, so a
    little over k is enough (the search reads further when they take too many): half the reading of a wide pool,
    and far fewer candidates to test for a filter. A pool wider than SEARCH_EF also widens HNSW's search, which
    finds more of the true nearest images, so a large k keeps the wide pool (recall as before)."""
    wide = min(MAX_POOL, max(q.k * 5, 50))
    if q.negatives or q.caption_weight or wide > SEARCH_EF:
        return wide
    return min(wide, 2 * q.k + 5)


# How long a search trusts the store's image count (which only decides when the calibration is measured again):
# counting costs 5 ms of a 30 ms search at 100k images, and a calibration a second old is as good as a new one.
COUNT_SECONDS = 1.0


@dataclass
class _Refs:
    """Reference images: their vectors (indexed images first, in `ids` order, then outside example files)."""

    vectors: np.ndarray
    ids: list[str] = field(default_factory=list)  # ids of the indexed references
    names: dict[str, str] = field(default_factory=dict)  # their file names, by id


class Searcher:
    """Runs ImageQuery against one store with one embedder."""

    def __init__(self, store: Store, embedder: Embedder):
        self.store, self.embedder = store, embedder
        self.root = store.gallery
        self._calibration: Calibration | None = None
        self._nulls: np.ndarray | None = None
        self._reference: np.ndarray | None = None  # real texts: whether the model knows anything
        self._counted: tuple[float, int] = (-1e9, 0)  # (when, how many images) the store held

    def count(self) -> int:
        """The store's image count, read again when the last reading is older than COUNT_SECONDS or was zero."""
        at, n = self._counted
        if n == 0 or time.monotonic() - at > COUNT_SECONDS:
            n = self.store.count()
            self._counted = (time.monotonic(), n)
        return n

    def calibration(self, count: int | None = None) -> Calibration:
        """This model's chance level on this gallery; measured again when the number of images changes (another
        process may be indexing underneath). `count`: the store's count, when the caller has just read it."""
        count = self.store.count() if count is None else count
        cal = self._calibration
        if cal is None or cal.count != count:
            if self._nulls is None:
                from picseek.tools.probes import TextBank

                # embedded once per model and kept beside the store, so a new process skips the text tower
                bank = TextBank(self.embedder, getattr(self.store, "state_dir", None))
                self._nulls = bank.vectors(null_texts(NULL_TEXTS))
                self._reference = bank.vectors(reference_texts())
            sample = self.store.sample(SAMPLE)
            best = self.store.best_scores(self._nulls)
            cal = Calibration.measure(sample, self._nulls, best, count, reference=self._reference)
            self._calibration = cal
        return cal

    def ref_ids(self, refs: list[str]) -> list[str]:
        """Image ids for references given as ids or gallery paths (absolute or relative to the root)."""
        ids = []
        for r in refs:
            p = Path(r)
            if len(r) == 24 and all(ch in "0123456789abcdef" for ch in r):
                ids.append(r)
                continue
            try:
                rel = (p.resolve().relative_to(self.root) if p.is_absolute() else p).as_posix()
            except ValueError:
                rel = None
            if rel is None:
                raise BadQuery(
                    f"reference image {r} is not in the gallery {self.root}; use an image of the "
                    f"gallery, or search by an outside image with --like-file."
                )
            ids.append(image_id(rel))
        return ids

    def _refs(self, refs: list[str]) -> _Refs:
        """Reference images as vectors: indexed ones from the store (with their ids and names), then outside
        example files, decoded here."""
        if not refs:
            return _Refs(np.zeros((0, 0), np.float32))
        outside = self._outside(refs)
        inside = [r for r in refs if r not in outside]
        vecs, ids, names = [], [], {}
        if inside:
            ids = self.ref_ids(inside)
            records = {r.id: r for r in self.store.get(ids, vectors=True)}
            missing = [r for r, i in zip(inside, ids) if i not in records]
            if missing:
                raise BadQuery(
                    f"reference image(s) not in the index: {', '.join(missing[:3])}. Index the "
                    f"gallery again if they are new."
                )
            vecs += [records[i].vector for i in ids]
            names = {i: r.meta.name or r.meta.path for i, r in records.items()}
        if outside:
            vecs += list(self.embedder.embed_pixels(self._decode_examples(outside)))
        return _Refs(np.stack(vecs), ids, names)

    def _decode_examples(self, paths: list[str]) -> list[np.ndarray]:
        """Example images are hostile input (a UI visitor may send one): decoded like indexing decodes, in a worker
        with the pixel limit, a time limit and a memory cap; a refused file is a clear error, not a crash."""
        from picseek.tools.decode_pool import DecodePool, Limits

        limits = Limits(timeout_s=10.0, memory_mb=1024, max_pixels=EXAMPLE_MAX_PIXELS)
        out = dict(DecodePool(self.embedder.fit, workers=1, limits=limits).imap([(p, p) for p in paths]))
        pixels = []
        for p in paths:
            if isinstance(out.get(p), str) or p not in out:
                raise BadQuery(f"cannot use example image {Path(p).name}: {out.get(p, 'not decoded')}.")
            pixels.append(out[p].pixels)
        return pixels

    def _vector(self, q: ImageQuery, like: np.ndarray, extra_like: np.ndarray | None) -> np.ndarray:
        parts = []
        if q.text:
            parts.append(W_TEXT * self.embedder.embed_texts([q.text])[0])
        if extra_like is not None and len(extra_like):
            like = np.concatenate([like, extra_like]) if like.size else extra_like
        if like.size:
            parts.append(W_LIKE * like.mean(0))
        if not parts:
            raise BadQuery("nothing to search for: give a description or a reference image.")
        v = np.sum(parts, axis=0)
        unlike = self._refs(q.unlike).vectors
        if unlike.size:
            v = v - W_UNLIKE * unlike.mean(0)
        if q.negatives:
            v = v - W_NEG * self.embedder.embed_texts(q.negatives).mean(0)
        return v / max(np.linalg.norm(v), 1e-12)

    def search(self, q: ImageQuery, example_vectors: np.ndarray | None = None) -> list[Hit]:
        """Run a query; `example_vectors` are embeddings of uploaded example images (search by example)."""
        count = self.count()
        if count == 0:
            return []
        refs = self._refs(q.like)
        v = self._vector(q, refs.vectors, example_vectors)
        n = pool(q)
        while True:
            found = self.store.query(v, n, q.filters.where())
            hits, short = self._hits(q, found, v, refs, example_vectors, count)
            # Too few left after folding near-duplicates, and the store has more: look further.
            if not short or len(found) < n or n >= MAX_POOL:
                return self._written_first(q, hits, v, refs, example_vectors, count)
            n = min(MAX_POOL, n * 4)

    def _hits(self, q: ImageQuery, found: list, v: np.ndarray, refs: _Refs, example_vectors, count: int):
        """The hits among these candidates, best first; and whether they ran out before k (not cut by a threshold)."""
        if not found:
            return [], False
        like, like_ids = refs.vectors, refs.ids
        embs = np.stack([r.vector for r in found])
        scores, clear = self._rerank(q, embs, [r.caption for r in found], v)
        match = self.calibration(count).match(v, scores, best=_best_beside(scores, embs, like, example_vectors))
        hits: list[Hit] = []
        kept: list[np.ndarray] = []
        order = np.argsort(-scores, kind="stable")
        for at, j in enumerate(order):
            if (q.threshold is not None and scores[j] < q.threshold) or (q.min_match and match[j] < q.min_match):
                return hits, False
            if q.collapse_duplicates and kept and self._fold(hits, np.stack(kept) @ embs[j], found[j]):
                continue
            kept.append(embs[j])
            r = found[j]
            near = int(np.argmax(like[: len(like_ids)] @ embs[j])) if like_ids else None
            hits.append(
                Hit(
                    id=r.id,
                    path=str(self.root / r.meta.path),
                    rank=len(hits) + 1,
                    score=round(float(scores[j]), 4),
                    match=int(match[j]),
                    caption=r.caption,
                    metadata=r.meta,
                    similar_to=refs.names.get(like_ids[near]) if near is not None and like_ids[near] != r.id else None,
                    avoided=[n for n, ok in zip(q.negatives, clear[j]) if ok] if clear.size else [],
                )
            )
            if len(hits) >= q.k:
                if q.collapse_duplicates:  # near-copies of the hits further down the candidates are theirs too
                    rest = order[at + 1 :]
                    for i, sims in zip(rest, embs[rest] @ np.stack(kept).T):
                        self._fold(hits, sims, found[i])
                return hits, False
        return hits, True

    def _written_first(self, q: ImageQuery, hits: list[Hit], v: np.ndarray, refs: _Refs, example_vectors, count):
        """With `filters.text_in_image`: the images whose text (read by OCR) has those words come first, the best
        written match first (then by the search's score), then the other hits; k in all."""
        terms = q.filters.text_in_image
        if not terms:
            return hits
        from picseek.tools.ocr import text_match

        has_text = {FIELDS.ocr_words: {"$gte": 1}}
        where = q.filters.where()
        written = {}
        for r in self.store.records_where(has_text if where is None else {"$and": [where, has_text]}):
            score = text_match(terms, r.meta.ocr_text)
            if score > 0:
                written[r.id] = score
        if not written:
            return hits
        best = sorted(written, key=written.get, reverse=True)[:MAX_POOL]
        found = self.store.get(best, vectors=True)
        plain = q.model_copy(
            update={"k": min(MAX_K, len(found)), "threshold": None, "min_match": None, "collapse_duplicates": False}
        )
        first, _ = self._hits(plain, found, v, refs, example_vectors, count)
        first.sort(key=lambda h: -written[h.id])  # stable: equal text matches keep the search's order
        out = first + [h for h in hits if h.id not in written]
        for rank, h in enumerate(out[: q.k], 1):
            h.rank = rank
        return out[: q.k]

    def _fold(self, hits: list[Hit], near: np.ndarray, record) -> bool:
        """Whether a candidate is a near-copy of a hit (`near`: its cosine to each hit); if so it is listed with
        that hit instead of shown."""
        if near.max() <= DUPLICATE_COS:
            return False
        hits[int(near.argmax())].duplicates.append(str(self.root / record.meta.path))
        return True

    def _rerank(self, q: ImageQuery, embs: np.ndarray, docs: list, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Candidate scores after the negative penalty and the caption blend; and, per candidate and negative,
        whether it stays clear of that concept (scores lower on it than most candidates)."""
        scores = embs @ v
        clear = np.zeros((len(embs), 0), bool)
        if q.negatives:
            neg = embs @ self.embedder.embed_texts(q.negatives).T  # (n, negatives)
            worst = neg.max(1)
            # Penalise only what is close to an excluded concept relative to this candidate set.
            cut = float(np.median(worst) + 0.5 * worst.std())
            scores = scores - NEG_PENALTY * np.maximum(0.0, worst - cut)
            clear = neg < np.median(neg, axis=0)
        if q.negatives and any(docs):
            # what the image's own caption names is in it: an excluded thing named there sends the image down
            named = np.array([_names_any(d, q.negatives) for d in docs], dtype=np.float64)
            scores = scores - CAPTION_NEG_PENALTY * named
        if q.caption_weight and q.text:
            scores = scores + q.caption_weight * np.array([caption_match(q.text, d) for d in docs])
        return scores, clear

    def _outside(self, refs: list[str]) -> list[str]:
        return [r for r in refs if Path(r).is_absolute() and not _inside(Path(r), self.root)]


STOP_WORDS = frozenset(
    "a an the of and with on in at by to is are some one two three photo picture image only ones show me".split()
)


def content_words(text: str | None) -> set[str]:
    """Lower-case words of a text minus stop words, plural 's' dropped: what a caption and a query share."""
    return {w.rstrip("s") for w in re.findall(r"[a-z]+", (text or "").lower()) if w not in STOP_WORDS}


def _forms(word: str) -> set[str]:
    """The word and what it may be the plural of ('buses': bus, 'houses': house, 'berries': berry)."""
    out = {word}
    if word.endswith("s") and not word.endswith("ss"):
        out |= {word[:-1], word[:-2] if word.endswith("es") else word[:-1]}
    if word.endswith("ies"):
        out.add(word[:-3] + "y")
    return out


_ABSENT = frozenset({"no", "without", "not", "nor", "none"})


def caption_names(caption: str | None, thing: str) -> bool:
    """Whether a caption names this thing: every content word of it ('hot dogs' needs 'hot' and 'dog'), its last one
    not said as absent ('an empty street with no cars' names no car)."""
    return _names_any(caption, [thing])


def _names_any(caption: str | None, things: list[str]) -> bool:
    """caption_names for any of the things, the caption's words read once."""
    words = re.findall(r"[a-z]+", (caption or "").lower())
    forms = [_forms(w) for w in words]
    for thing in things:
        want = [w for w in re.findall(r"[a-z]+", thing.lower()) if w not in STOP_WORDS]
        if not want or not all(any(_forms(w) & f for f in forms) for w in want):
            continue
        head = _forms(want[-1])
        if any(f & head and not _ABSENT & set(words[max(0, i - 3) : i]) for i, f in enumerate(forms)):
            return True
    return False


def caption_match(query: str, caption: str | None) -> float:
    """Share of the query's content words that the caption contains (0 when there is no caption)."""
    if not caption:
        return 0.0
    want = content_words(query)
    return len(want & content_words(caption)) / len(want) if want else 0.0


def _best_beside(scores: np.ndarray, embs: np.ndarray, *refs: np.ndarray | None) -> float | None:
    """The best score among candidates that are not the reference images themselves: an example found in the
    gallery scores ~1 against itself, and every other result would look weak beside it."""
    refs = [r for r in refs if r is not None and len(r) and r.size]
    if not refs:
        return None
    own = (embs @ np.concatenate(refs).T).max(1) > DUPLICATE_COS
    return float(scores[~own].max()) if (~own).any() else None


def _inside(p: Path, root: Path) -> bool:
    try:
        p.resolve().relative_to(root)
        return True
    except ValueError:
        return False
