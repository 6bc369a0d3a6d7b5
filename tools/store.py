"""The Chroma store: one collection per (gallery, model), embedded by default or on a Chroma server.

The collection's metadata records the model, weights, dimension and schema version; opening it with another
model, or a schema newer than this code, fails with a clear message. One writer at a time (a file lock).
Images go in and come out as typed records (`tools.records`); Chroma's dicts stay inside this module.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
from picseek.tools.errors import StoreLocked, StoreMismatch, StoreNotFound
from picseek.tools.records import ImageMeta, ImageRecord
from picseek.tools.settings import settings
from pydantic import ValidationError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
IMAGE_ID_LEN = 24
# A filtered query asks for the nearest images unfiltered and tests their metadata itself (see `Store.query`). With a
# clause never seen before it assumes this share of images passes; past this many candidates Chroma's own filtered
# query is the cheaper one (both measured by evals/bench/search.py).
FIRST_PASS_RATE = 0.25
OVERSAMPLE_MAX = 800

WhereTest = Callable[[Mapping], bool]


def image_id(relpath: str) -> str:
    """Stable id of an image: derived from its path relative to the gallery root (POSIX separators)."""
    return hashlib.sha1(relpath.encode("utf-8")).hexdigest()[:IMAGE_ID_LEN]


def _collection_name(gallery: Path, model_id: str) -> str:
    # Keyed by architecture, not weights: the same architecture with other weights must hit the identity check
    # (and be refused), never silently open a second, empty collection.
    arch = model_id.split("/", 1)[0]
    digest = hashlib.sha1(f"{gallery.resolve()}|{arch}".encode()).hexdigest()[:16]
    slug = re.sub(r"[^A-Za-z0-9]+", "-", gallery.resolve().name).strip("-")[:30] or "gallery"
    return f"picseek-{slug}-{digest}"


@dataclass(frozen=True)
class StoreInfo:
    model: str
    weights: str
    dim: int
    schema: int
    gallery: str


class Store:
    """Vectors, metadata and captions of one gallery under one model."""

    def __init__(
        self,
        state_dir: Path,
        gallery: Path,
        model_id: str,
        chroma_url: str | None = None,
        create: bool = False,
        dim: int | None = None,
        replace: bool = False,
    ):
        self.state_dir = Path(state_dir)
        self.gallery = Path(gallery).resolve()
        self.model_id = model_id
        self.chroma_url = chroma_url or settings().chroma_url or None
        self._lock = None
        import chromadb
        from chromadb.config import Settings

        chroma_settings = Settings(anonymized_telemetry=False)
        if self.chroma_url:
            u = urlparse(self.chroma_url if "://" in self.chroma_url else f"http://{self.chroma_url}")
            self.client = chromadb.HttpClient(
                host=u.hostname or "localhost", port=u.port or 8000, ssl=u.scheme == "https", settings=chroma_settings
            )
        else:
            db = self.state_dir / "chroma"
            if not create and not db.exists():
                raise StoreNotFound(
                    f"no index for {self.gallery} with model {model_id.split('/')[0]} "
                    f"(looked in {self.state_dir}). Run `picseek index {self.gallery}` first."
                )
            db.mkdir(parents=True, exist_ok=True)
            self.client = chromadb.PersistentClient(path=str(db), settings=chroma_settings)
        name = _collection_name(self.gallery, model_id)
        arch, _, weights = model_id.partition("/")
        if create:
            self.col = self._create(dim)
        else:
            try:
                self.col = self.client.get_collection(name, embedding_function=None)
            except Exception as e:  # chroma raises NotFoundError / ValueError depending on version and mode
                raise StoreNotFound(
                    f"no index for {self.gallery} with model {arch} in "
                    f"{self.chroma_url or self.state_dir}. Run `picseek index {self.gallery}` "
                    f"first."
                ) from e
        self._check_identity(dim, replace=replace and create)
        self.max_batch = self.client.get_max_batch_size()
        self.oversample_max = OVERSAMPLE_MAX
        self._rates_lock = threading.Lock()
        self._pass_rates: dict[str, float] = {}  # share of candidates that passed each `where`, last time

    @classmethod
    def open(
        cls,
        state_dir: Path,
        gallery: Path,
        embedder,
        chroma_url: str | None = None,
        create: bool = False,
        replace: bool = False,
    ) -> Store:
        """Open the store for an embedder's model; with create, make it if missing (only then load the model).

        With `replace`, vectors of other weights of the same architecture are dropped (under the writer lock,
        which the returned store then holds) instead of refused.
        """
        try:
            return cls(state_dir, gallery, embedder.model_id, chroma_url=chroma_url)
        except StoreNotFound:
            if not create:
                raise
        except StoreMismatch:
            if not replace:
                raise
        return cls(
            state_dir, gallery, embedder.model_id, chroma_url=chroma_url, create=True, dim=embedder.dim, replace=replace
        )

    def _create(self, dim: int | None):
        arch, _, weights = self.model_id.partition("/")
        return self.client.get_or_create_collection(
            _collection_name(self.gallery, self.model_id),
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=None,
            metadata={
                "picseek_schema": SCHEMA_VERSION,
                "model": arch,
                "weights": weights,
                "dim": int(dim or 0),
                "gallery": str(self.gallery),
            },
        )

    def _check_identity(self, dim: int | None, replace: bool = False) -> None:
        meta = self.col.metadata or {}
        schema = int(meta.get("picseek_schema", 0))
        if schema > SCHEMA_VERSION:
            raise StoreMismatch(
                f"the index was written by a newer picseek (schema {schema} > {SCHEMA_VERSION}). "
                f"Upgrade picseek, or index into a new --store."
            )
        model = f"{meta.get('model')}/{meta.get('weights')}"
        if model != self.model_id:
            if not replace:
                raise StoreMismatch(
                    f"the index of {self.gallery} holds vectors of {model}, not {self.model_id} (other weights of "
                    f"the same architecture): vectors of two models cannot be mixed. Run `picseek index "
                    f"{self.gallery} --reindex` to replace them with this model's (your images are never touched), "
                    f"pass the --checkpoint that made them, or use another --store."
                )
            # The same architecture with other weights (e.g. a retrained bundled model): its vectors are useless
            # to this model. Drop them under the writer lock and start a fresh collection, which matches.
            self.lock()
            self.client.delete_collection(self.col.name)
            self.col = self._create(dim)
            return
        if dim and meta.get("dim") and int(meta["dim"]) != dim:
            raise StoreMismatch(f"the index holds {meta['dim']}-d vectors, the model makes {dim}-d ones.")

    @property
    def info(self) -> StoreInfo:
        m = self.col.metadata or {}
        return StoreInfo(
            m.get("model", ""),
            m.get("weights", ""),
            int(m.get("dim", 0)),
            int(m.get("picseek_schema", 0)),
            m.get("gallery", ""),
        )

    # --- writing -------------------------------------------------------------------------------------

    def lock(self) -> Store:
        """Take the single-writer lock (released on exit, and by the OS if the process dies)."""
        from filelock import FileLock, Timeout

        if self._lock is not None:
            return self
        self.state_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.state_dir / "write.lock"))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise StoreLocked(
                f"another picseek process is writing to {self.state_dir}; wait for it to finish "
                f"(or stop it) and run again."
            ) from None
        self._lock = lock
        return self

    def unlock(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def upsert(self, ids: Sequence[str], vectors: np.ndarray, metas: Sequence[ImageMeta]) -> None:
        """Add or replace images: their vectors and metadata (captions are set by `update_captions`)."""
        for s in range(0, len(ids), self.max_batch):
            e = slice(s, s + self.max_batch)
            self.col.upsert(
                ids=list(ids[e]),
                embeddings=np.asarray(vectors[e], np.float32),
                metadatas=[m.model_dump(exclude_none=True) for m in metas[e]],
            )

    def update_captions(self, records: Sequence[ImageRecord]) -> None:
        """Set each record's caption and metadata, keeping the image's vector as it is."""
        for s in range(0, len(records), self.max_batch):
            batch = records[s : s + self.max_batch]
            vec = {r.id: r.vector for r in self.get([r.id for r in batch], vectors=True)}
            keep = [r for r in batch if r.id in vec]  # an image deleted meanwhile is not re-added
            if keep:
                self.col.update(
                    ids=[r.id for r in keep],
                    embeddings=np.asarray([vec[r.id] for r in keep], np.float32),
                    documents=[r.caption for r in keep],
                    metadatas=[r.meta.model_dump(exclude_none=True) for r in keep],
                )

    def update_metadata(self, updates: Mapping[str, Mapping]) -> None:
        """Set these metadata keys of these images (image id -> {key: value}), keeping everything else they hold;
        ids not in the store are left out (an image deleted meanwhile is not re-added)."""
        items = [(i, dict(u)) for i, u in updates.items() if u]
        for s in range(0, len(items), self.max_batch):
            batch = items[s : s + self.max_batch]
            there = set(self.col.get(ids=[i for i, _ in batch], include=[])["ids"])
            keep = [(i, u) for i, u in batch if i in there]
            if keep:  # Chroma's update merges the keys it is given into the stored metadata
                self.col.update(ids=[i for i, _ in keep], metadatas=[u for _, u in keep])

    def any_where(self, where: dict) -> bool:
        """Whether any image's metadata passes a Chroma `where` clause."""
        return bool(self.col.get(where=where, limit=1, include=[])["ids"])

    def records_where(self, where: dict, page: int = 5000) -> list[ImageRecord]:
        """The records (without vectors) whose metadata passes a Chroma `where` clause."""
        out: list[ImageRecord] = []
        offset = 0
        while True:
            r = self.col.get(where=where, include=["metadatas", "documents"], limit=page, offset=offset)
            out += self._records(r["ids"], r["metadatas"], r["documents"])
            if len(r["ids"]) < page:
                return out
            offset += page

    def delete(self, ids: Sequence[str]) -> None:
        for s in range(0, len(ids), self.max_batch):
            self.col.delete(ids=list(ids[s : s + self.max_batch]))

    # --- reading -------------------------------------------------------------------------------------

    def count(self) -> int:
        return self.col.count()

    def iter_metadata(self, page: int = 5000) -> Iterator[ImageRecord]:
        """Every image's record (without its vector), paged so memory stays flat on large stores."""
        for r in self._pages(["metadatas", "documents"], page):
            yield from self._records(r["ids"], r["metadatas"], r["documents"])

    def stamps(self, page: int = 5000) -> dict[str, tuple[int, int] | None]:
        """Each image's (bytes, mtime_ns), which tell an unchanged file; None where the stored metadata does not
        fit the schema, so the indexer embeds that file again (and `--reindex` can repair such a store)."""
        out: dict[str, tuple[int, int] | None] = {}
        for r in self._pages(["metadatas"], page):
            for i, m in zip(r["ids"], r["metadatas"]):
                try:
                    meta = ImageMeta.model_validate(m or {})
                    out[i] = (meta.bytes, meta.mtime_ns)
                except ValidationError:
                    out[i] = None
        return out

    def _pages(self, include: list[str], page: int) -> Iterator[dict]:
        offset = 0
        while True:
            r = self.col.get(include=include, limit=page, offset=offset)
            yield r
            if len(r["ids"]) < page:
                return
            offset += page

    def get(self, ids: Sequence[str], vectors: bool = False) -> list[ImageRecord]:
        """The records of these images, in the order of `ids` (each once); ids not in the store are left out."""
        wanted = list(dict.fromkeys(ids))
        include = ["metadatas", "documents"] + (["embeddings"] if vectors else [])
        found: dict[str, ImageRecord] = {}
        for s in range(0, len(wanted), self.max_batch):
            r = self.col.get(ids=wanted[s : s + self.max_batch], include=include)
            got = self._records(r["ids"], r["metadatas"], r["documents"], r["embeddings"] if vectors else None)
            found.update((rec.id, rec) for rec in got)
        return [found[i] for i in wanted if i in found]

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """Vectors of up to `n` images drawn at random (all of them when the store holds no more)."""
        import random

        ids = self.col.get(include=[])["ids"]
        if len(ids) > n:
            ids = random.Random(seed).sample(ids, n)
        vecs = []
        for s in range(0, len(ids), self.max_batch):
            vecs += list(self.col.get(ids=ids[s : s + self.max_batch], include=["embeddings"])["embeddings"])
        return np.asarray(vecs, np.float32).reshape(len(vecs), -1)

    def best_scores(self, vectors: np.ndarray) -> np.ndarray:
        """Each vector's best cosine over the whole store (one batched nearest-neighbour query)."""
        r = self.col.query(query_embeddings=np.asarray(vectors, np.float32), n_results=1, include=["distances"])
        return np.array([1.0 - (d[0] if d else 1.0) for d in r["distances"]], np.float64)

    def query(self, vector: np.ndarray, n: int, where: dict | None = None) -> list[ImageRecord]:
        """The n nearest images by cosine distance that satisfy `where` (a Chroma clause), best first, with metadata,
        captions and vectors (for re-ranking).

        Chroma evaluates a `where` in SQLite over the whole collection before its vector search, which costs far
        more than the search itself on a large store (evals/bench/search.py). So a clause this module can evaluate
        (`where_test`) is applied to the metadata of the nearest images asked for unfiltered, a few times more than
        wanted; only when too few of those pass does the clause go to Chroma. Both read the store as it is now.
        """
        n = max(1, n)
        test = where_test(where) if where else None
        if test is not None:
            found = self._query_oversampled(vector, n, json.dumps(where, sort_keys=True), test)
            if found is not None:
                return found
        r = self.col.query(
            query_embeddings=[np.asarray(vector, np.float32)],
            n_results=n,
            where=where or None,
            include=["distances", "metadatas", "documents", "embeddings"],
        )
        keep = [j for j, m in enumerate(r["metadatas"][0]) if m is not None]  # None: deleted underneath
        return self._records(
            *([r[f][0][j] for j in keep] for f in ("ids", "metadatas", "documents", "embeddings", "distances"))
        )

    def candidates(self, where: dict, n: int) -> int | None:
        """How many nearest images a query for the n nearest that pass `where` looks at first; None when it goes
        straight to Chroma's filtered query (a clause not mirrored here, or one too few images passed last time)."""
        if where_test(where) is None:
            return None
        want = _candidates(n, self._pass_rates.get(json.dumps(where, sort_keys=True), FIRST_PASS_RATE))
        return want if want <= self.oversample_max else None

    def _query_oversampled(self, vector: np.ndarray, n: int, key: str, test: WhereTest) -> list[ImageRecord] | None:
        """The n nearest images that pass `test`, found among the nearest images unfiltered; None when too few pass
        among as many as `oversample_max` (the caller then asks Chroma). How many to look at follows the share of
        candidates that passed this clause (`key`) last time, so a query usually needs one round."""
        rate = self._pass_rates.get(key, FIRST_PASS_RATE)
        for _ in range(2):
            want = _candidates(n, rate)
            if want > self.oversample_max:
                break
            r = self.col.query(query_embeddings=[np.asarray(vector, np.float32)], n_results=want, include=["metadatas"])
            ids, metas = r["ids"][0], r["metadatas"][0]
            passed = [i for i, m in zip(ids, metas) if m is not None and test(m)]
            rate = max(len(passed), 0.5) / max(len(ids), 1)
            if len(passed) >= n or len(ids) < want:  # enough, or every image in the store was looked at
                self._remember_rate(key, rate)
                return self._nearest(vector, passed[:n], test)
        self._remember_rate(key, rate)
        return None

    def _remember_rate(self, key: str, rate: float) -> None:
        with self._rates_lock:  # the UI searches from several threads through one store
            self._pass_rates.pop(key, None)  # the most recent last, so the oldest go first
            self._pass_rates[key] = rate
            while len(self._pass_rates) > 256:
                self._pass_rates.pop(next(iter(self._pass_rates)))

    def _nearest(self, vector: np.ndarray, ids: list[str], test: WhereTest) -> list[ImageRecord]:
        """These images' records, nearest first, read afresh: one changed meanwhile is tested again, and its distance
        comes from the vector it has now."""
        found = []
        for s in range(0, len(ids), self.max_batch):
            r = self.col.get(ids=ids[s : s + self.max_batch], include=["metadatas", "documents", "embeddings"])
            keep = [j for j, m in enumerate(r["metadatas"]) if m is not None and test(m)]
            found += self._records(*([r[f][j] for j in keep] for f in ("ids", "metadatas", "documents", "embeddings")))
        if not found:
            return []
        q = np.asarray(vector, np.float32)
        embs = np.stack([rec.vector for rec in found])
        cos = embs @ q / np.maximum(np.linalg.norm(embs, axis=1) * np.linalg.norm(q), 1e-12)
        order = np.argsort(-cos, kind="stable")
        return [replace(found[j], distance=float(1.0 - cos[j])) for j in order]

    def _records(self, ids, metas, docs, vectors=None, distances=None) -> list[ImageRecord]:
        """Chroma's parallel result lists as records; stored metadata that does not fit the schema is an error that
        says how to rebuild the index."""
        out = []
        for j, i in enumerate(ids):
            try:
                meta = ImageMeta.model_validate(metas[j] or {})
            except ValidationError as e:
                first = e.errors()[0]
                raise StoreMismatch(
                    f"image {i} in the index of {self.gallery} has metadata this picseek cannot read "
                    f"({'.'.join(map(str, first['loc']))}: {first['msg']}). "
                    f"Run `picseek index {self.gallery} --reindex` to rebuild it (your images are never touched)."
                ) from None
            out.append(
                ImageRecord(
                    id=i,
                    meta=meta,
                    caption=docs[j],
                    vector=None if vectors is None else np.asarray(vectors[j], np.float32),
                    distance=None if distances is None else float(distances[j]),
                )
            )
        return out


def _candidates(n: int, rate: float) -> int:
    """How many nearest images to test so that n of them pass, when this share passes: the expected count plus
    three standard deviations, so a second round is rare."""
    return math.ceil((n + 3 * math.sqrt(n) + 2) / max(rate, 1e-9))


def where_test(where: Mapping) -> WhereTest | None:
    """A test of one image's metadata that agrees with Chroma's `where` on it, or None for a clause it does not
    mirror (a float operand, an order on strings, several keys in one dict): such a clause goes to Chroma.

    Chroma's rules, kept here: a missing key fails every test but `$ne`/`$nin`; values of another kind (bool, number,
    string) never compare equal, an int and a float do; `$ne`/`$nin` are the negations of `$eq`/`$in`.
    """
    if not isinstance(where, Mapping) or len(where) != 1:
        return None
    ((key, cond),) = where.items()
    if key in ("$and", "$or"):
        parts = [where_test(c) for c in cond] if isinstance(cond, list) and cond else [None]
        if any(p is None for p in parts):
            return None
        join = all if key == "$and" else any
        return lambda m: join(p(m) for p in parts)
    if key.startswith("$"):
        return None
    op, arg = next(iter(cond.items())) if isinstance(cond, Mapping) and len(cond) == 1 else ("$eq", cond)
    args = arg if op in ("$in", "$nin") and isinstance(arg, list) else [arg]
    if not args or not all(_kind(a) and not isinstance(a, float) for a in args):
        return None
    if op in ("$eq", "$in"):
        return lambda m: any(_same(m.get(key), a) for a in args)
    if op in ("$ne", "$nin"):
        return lambda m: not any(_same(m.get(key), a) for a in args)
    if op in _ORDER and _kind(arg) == "number":
        cmp = _ORDER[op]
        return lambda m: _kind(m.get(key)) == "number" and cmp(m[key], arg)
    return None


_ORDER = {
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
}


def _kind(v) -> str | None:
    """Chroma's kind of a metadata value: 'bool', 'number' or 'string' (None for anything else)."""
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    return "string" if isinstance(v, str) else None


def _same(v, arg) -> bool:
    return v is not None and _kind(v) == _kind(arg) and v == arg


class SkipLog:
    """Files that could not be indexed, with size+mtime, so an unchanged broken file is not decoded again."""

    def __init__(self, state_dir: Path):
        self.path = Path(state_dir) / "skipped.json"
        try:
            self.entries: dict[str, dict] = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self.entries = {}

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(self.entries, indent=0, sort_keys=True))
        os.replace(tmp, self.path)
