"""Index a folder: walk, decode in workers, embed in batches, upsert into the store, remove what is gone.

The planning (walk, compare with the store, delete what is gone, the skip log) always runs here, on the driver;
decoding and embedding run wherever the runner puts them (`tools.pipeline`: this machine, or a Ray cluster).
Each batch is committed as soon as it is embedded, so an interrupted run (Ctrl-C, kill -9) loses at most the
batches in flight and the next run resumes: files already in the store with the same size and mtime are skipped
without any model work.
"""

from __future__ import annotations

import logging
import os
import socket
import stat
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from picseek.tools.decode_pool import Limits
from picseek.tools.embed import Embedder, Precision
from picseek.tools.errors import GalleryNotFound, ModelWeightsUnavailable, StoreMismatch
from picseek.tools.images import Decoded, image_extensions
from picseek.tools.pipeline import InProcess, Job, Progress, Runner
from picseek.tools.places import geocoder_id, place_meta
from picseek.tools.records import ImageMeta
from picseek.tools.store import SkipLog, Store, image_id

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileEntry:
    rel: str  # POSIX path relative to the gallery root
    path: str  # absolute path
    size: int
    mtime_ns: int

    @property
    def id(self) -> str:
        return image_id(self.rel)


@dataclass
class Skipped:
    path: str
    reason: str


@dataclass
class IndexReport:
    indexed: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0
    total: int = 0  # images in the store after the run
    placed: int = 0  # unchanged images whose place was (re)labelled from their GPS, without model work
    model: str = ""
    store: str = ""

    def to_json(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        return (
            f"indexed {self.indexed}, unchanged {self.unchanged}, removed {self.removed}, skipped "
            f"{len(self.skipped)} in {self.seconds:.1f}s; {self.total} images in the index"
        )


def _folders(root: Path) -> Iterator[tuple[Path, list[os.DirEntry]] | Skipped]:
    """Each folder under root (root first, depth first, by name) with its entries that are not folders; hidden
    entries skipped, folder links followed once (loops cut); a folder that cannot be listed is a `Skipped`."""
    seen: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        d = stack.pop()
        try:
            st = d.stat()
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in seen:
            continue
        seen.add((st.st_dev, st.st_ino))
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError as e:
            yield Skipped(str(d), f"cannot list folder: {e.strerror or e}")
            continue
        subdirs, others = [], []
        for e in entries:
            if e.name.startswith("."):
                continue
            try:
                is_dir = e.is_dir(follow_symlinks=True)
            except OSError:
                is_dir = False  # unreadable: the caller's stat says why
            (subdirs if is_dir else others).append(e)
        yield d, others
        stack.extend(reversed([Path(e.path) for e in subdirs]))


def walk(root: Path) -> Iterator[FileEntry | Skipped]:
    """Image files under root: hidden entries skipped, directory symlinks followed once (loops cut)."""
    exts = image_extensions()
    root = root.resolve()
    for item in _folders(root):
        if isinstance(item, Skipped):
            yield item
            continue
        for e in item[1]:
            if Path(e.name).suffix.lower() not in exts:
                continue
            try:
                est = e.stat(follow_symlinks=True)
            except OSError as err:
                yield Skipped(e.path, f"cannot read: {err.strerror or err}")
                continue
            if not stat.S_ISREG(est.st_mode):
                continue
            rel = Path(e.path).relative_to(root).as_posix()
            try:
                rel.encode("utf-8")
            except UnicodeEncodeError:
                yield Skipped(e.path, "file name is not valid UTF-8; rename it to index it")
                continue
            yield FileEntry(rel, e.path, est.st_size, est.st_mtime_ns)


def image_folders(root: Path, limit: int = 2000) -> list[str]:
    """The sub-folders of `root` (relative, POSIX) that hold image files directly, by `walk`'s rules (hidden entries
    skipped, folder links followed once, names that are not UTF-8 left out), at most `limit`: what a folder filter
    can offer without reading every record of the index. Files are not opened or stat'ed."""
    exts = image_extensions()
    root = Path(root).resolve()
    out: list[str] = []
    for item in _folders(root):
        if isinstance(item, Skipped):
            continue
        d, files = item
        rel = d.relative_to(root).as_posix()
        try:
            rel.encode("utf-8")
        except UnicodeEncodeError:
            continue
        if rel != "." and any(Path(e.name).suffix.lower() in exts for e in files):
            out.append(rel)
            if len(out) >= limit:
                break
    return sorted(out)


def _meta(f: FileEntry, decoded: dict) -> ImageMeta:
    """The record of one file: where it is and what it is (from the walk), plus what decoding read (size, EXIF)."""
    rel = Path(f.rel)
    mtime = int(f.mtime_ns // 1_000_000_000)
    return ImageMeta(
        path=f.rel,
        dir=rel.parent.as_posix() if rel.parent.as_posix() != "." else "",
        name=rel.name,
        bytes=f.size,
        mtime_ns=f.mtime_ns,
        mtime=mtime,
        **decoded,
        **place_meta(decoded.get("gps_lat"), decoded.get("gps_lon")),
        date_ts=int(decoded.get("taken_ts", mtime)),  # capture time, else file time
    )


def index_folder(
    gallery: Path,
    embedder: Embedder,
    store: Store,
    *,
    workers: int | None = None,
    batch_size: int = 64,
    limits: Limits = Limits(),
    progress: bool | None = None,
    reindex: bool = False,
    runner: Runner | None = None,
) -> IndexReport:
    """Bring the store up to date with the folder. Returns what happened; never raises for a bad image.

    `runner` decodes and embeds (default: `InProcess(workers)`); planning and commits stay in this process."""
    gallery = Path(gallery)
    if not gallery.is_dir():
        raise GalleryNotFound(f"{gallery} is not a folder. Pass the folder of images to index.")
    t0 = time.monotonic()
    report = IndexReport(model=embedder.model_id, store=str(store.chroma_url or store.state_dir))
    skiplog = SkipLog(store.state_dir)
    todo, existing, changed = _plan(gallery, store, skiplog, report, reindex)
    report.placed = label_places(store, exclude={f.id for f in todo})
    if todo:
        runner = runner or InProcess(workers)
        if isinstance(runner, InProcess):
            _ = embedder.loaded  # load the model before the bar starts, so the bar measures indexing
        sink = _Sink(store, skiplog, report, {f.id: f for f in todo}, existing, changed)
        job = Job(embedder.fit, limits, EmbedStep(embedder, batch_size), sink.commit, sink.skip)
        try:
            # embedding is fast next to decoding, so the bar counts decoded files and moves smoothly
            runner([(f.id, f.path) for f in todo], job, batch_size, Progress("indexing", progress, "decoded"))
        finally:
            skiplog.save()
    else:
        skiplog.save()
    report.total = store.count()
    report.seconds = round(time.monotonic() - t0, 3)
    return report


def label_places(store: Store, exclude: set[str] = frozenset()) -> int:
    """Name the place of stored images that have GPS but were not labelled by this geocoder (records from before
    places, or from older GeoNames data): metadata only, so a plain re-index brings an old store up to date.
    `exclude`: ids about to be indexed anyway. Returns how many records were labelled."""
    stale = store.records_where({"$and": [{"gps_lat": {"$gte": -90.0}}, {"place_by": {"$ne": geocoder_id()}}]})
    updates = {r.id: place_meta(r.meta.gps_lat, r.meta.gps_lon) for r in stale if r.id not in exclude}
    store.update_metadata(updates)
    return len(updates)


class EmbedStep:
    """The indexer's model step: embed a batch of fitted pixels with `embedder`.

    Pickles as its recipe (model spec, precision, the model's identity), never as the loaded model: a Ray actor that
    receives it builds its own embedder, which loads the model once, on that node's device and in the precision
    `Embedder` picks there (fp16 on a GPU, bf16 on CPUs that compute it natively)."""

    def __init__(self, embedder: Embedder, batch_size: int):
        self.embedder, self.batch_size = embedder, batch_size

    def __call__(self, pixels: list[np.ndarray]) -> np.ndarray:
        return self.embedder.embed_pixels(pixels, batch_size=self.batch_size)

    def __reduce__(self):
        e = self.embedder
        return _remote_embed_step, (e.spec, e.precision, e.model_id, self.batch_size)


def _remote_embed_step(spec, precision: Precision, model_id: str, batch_size: int) -> EmbedStep:
    """An `EmbedStep` rebuilt where it was sent; refuses weights that differ from the driver's (the store records the
    driver's model, and vectors of two models must never mix)."""
    embedder = Embedder(spec, precision=precision)
    try:
        here = embedder.model_id
    except OSError as e:  # a --checkpoint file the node does not have
        raise ModelWeightsUnavailable(
            f"the model file {spec.checkpoint} is not readable on the Ray node {socket.gethostname()} "
            f"({e.strerror or e}): put it at the same path on every node."
        ) from None
    if here != model_id:
        raise StoreMismatch(
            f"this node's weights ({here}) are not the driver's ({model_id}): install the same picseek "
            f"and model files on every node."
        )
    return EmbedStep(embedder, batch_size)


def _plan(
    gallery: Path, store: Store, skiplog: SkipLog, report: IndexReport, reindex: bool
) -> tuple[list[FileEntry], set[str], set[str]]:
    """The files to (re)embed, the ids the store held before the run, and those whose file changed since. Deletes
    vectors of files that are gone; counts unchanged files and files known to be broken without opening them."""
    files: dict[str, FileEntry] = {}
    for item in walk(gallery):
        if isinstance(item, Skipped):
            report.skipped.append(item)
        else:
            files[item.id] = item
    existing = store.stamps()

    gone = [i for i in existing if i not in files]
    if gone:
        store.delete(gone)
    report.removed = len(gone)
    todo: list[FileEntry] = []
    for i, f in files.items():
        if not reindex and existing.get(i) == (f.size, f.mtime_ns):
            report.unchanged += 1
            continue
        prior = skiplog.entries.get(f.rel)
        if not reindex and prior and (prior["size"], prior["mtime_ns"]) == (f.size, f.mtime_ns):
            report.skipped.append(Skipped(f.path, prior["reason"]))  # same broken file: don't decode again
            continue
        todo.append(f)
    skiplog.entries = {k: v for k, v in skiplog.entries.items() if image_id(k) in files}  # forget deleted files
    changed = {i for i, f in files.items() if i in existing and existing[i] != (f.size, f.mtime_ns)}
    return todo, set(existing), changed


@dataclass
class _Sink:
    """Where an indexing run's results go: vectors to the store, failures to the skip log, counts to the report."""

    store: Store
    skiplog: SkipLog
    report: IndexReport
    files: dict[str, FileEntry]  # the files being indexed, by id
    existing: set[str]  # ids the store held before the run
    changed: set[str]  # of those, the ones whose file changed: their old caption and metadata describe another image

    def commit(self, ids: list[str], decoded: list[Decoded], vecs: np.ndarray) -> None:
        files = [self.files[i] for i in ids]
        stale = [i for i in ids if i in self.changed]
        if stale:  # an upsert would merge into the old record (Chroma keeps keys and caption it is not given)
            self.store.delete(stale)
        self.store.upsert(ids, vecs, [_meta(f, d.meta) for f, d in zip(files, decoded)])
        for f in files:
            self.skiplog.entries.pop(f.rel, None)
        self.report.indexed += len(ids)

    def skip(self, i: str, reason: str) -> None:
        f = self.files[i]
        self.report.skipped.append(Skipped(f.path, reason))
        self.skiplog.entries[f.rel] = {"size": f.size, "mtime_ns": f.mtime_ns, "reason": reason}
        if i in self.existing:  # it changed into something unreadable: its old vector must not linger
            self.store.delete([i])
