"""Captions made in the background, so that a turn never waits for one.

A long-running process (`picseek ui`, a server) starts one `CaptionWorker` beside its agent. Each turn hands it the
ids it would like captioned (the results shown first, then the candidates the question step reads) and goes on with
the captions that already exist; the worker captions those ids first and then, while nothing is asked of it, the
rest of the index. It runs on one thread at the lowest CPU priority the system grants a thread, with one torch
thread, so a turn keeps a whole core and the scheduler's preference (measured by evals/bench/realmodels.py).

    worker = CaptionWorker(store, captioner).start()
    worker.want(ids)        # never blocks: the captions land in the store as they are made
    worker.stop()

An existing caption stands (whoever wrote it: `picseek caption --captioner ...` is the batch path and its choice is
kept); only images without one are captioned here. Captions are untrusted text and go through the captioner's own
cleaning, as in `picseek caption`.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from picseek.tools.caption import (
    Captioner,
    CaptionReport,
    CocaCaptioner,
    GenerationConfig,
    _caption_batch,
    _CaptionSink,
)
from picseek.tools.errors import SkipImage, StoreLocked
from picseek.tools.images import DEFAULT_MAX_PIXELS, Decoded, decode

log = logging.getLogger(__name__)
NICE = 19  # the lowest priority a thread may give itself: a turn's threads always run first
BACKFILL_PAGE = 256  # records read at once while walking the index for images without a caption
LOCKED_RETRY_S = 5.0  # another process is writing the store (an index run): try its batch again after this


@dataclass
class WorkerStats:
    """What the worker did so far (for the bench, the log and tests)."""

    captioned: int = 0
    skipped: int = 0
    batches: int = 0
    seconds: float = 0.0  # time spent captioning, not waiting
    backfilled: bool = False  # the whole index was walked once
    error: str | None = None  # why the worker stopped early (a captioner that cannot load), else None


class CaptionWorker:
    """Captions a store's images on a low-priority daemon thread: wanted ids first, then the rest of the index."""

    def __init__(
        self,
        store,
        captioner: Captioner,
        batch_size: int = 8,
        threads: int = 1,
        nice: int = NICE,
        backfill: bool = True,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        process: bool = False,
    ):
        # 8 per batch: a wanted id waits for at most one batch in flight (a few seconds on a 2-core CPU)
        # process=True: a CoCa captioner runs in a child process at low priority and this thread only decodes and
        # saves. A low-priority thread of this process holds the interpreter lock in turns, and on a busy machine
        # the scheduler may leave it waiting while it holds the lock, and the turn behind it (measured: a 1.3 s turn
        # at 100k beside a thread worker on a loaded machine).
        self.process = process and isinstance(captioner, CocaCaptioner)
        self.store = store
        self.captioner: Captioner = ChildCaptioner(captioner, nice, threads) if self.process else captioner
        self.batch_size, self.threads, self.nice = batch_size, threads, nice
        self.backfill, self.max_pixels = backfill, max_pixels
        self.stats = WorkerStats()
        self._wanted: list[str] = []  # most recent request first
        self._tried: set[str] = set()  # captioned, already captioned, or failed: never tried twice
        self._busy = False
        self._rest: Iterator[str] | None = None  # the backfill walk over the index, made on the worker's thread
        self._cv = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- the caller's side -------------------------------------------------------------------------------

    def start(self) -> CaptionWorker:
        """Start the thread (once); returns the worker."""
        with self._cv:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="picseek-captions", daemon=True)
                self._thread.start()
                log.info("background captioning started (%s)", self.captioner.id)
        return self

    def want(self, ids: Sequence[str]) -> None:
        """Ask for captions of these images, ahead of anything asked before (in this order). Never blocks."""
        new = [i for i in dict.fromkeys(ids) if i not in self._tried]
        if not new:
            return
        with self._cv:
            keep = set(new)
            self._wanted = new + [i for i in self._wanted if i not in keep]
            self._cv.notify_all()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def pending(self) -> int:
        """Wanted ids not yet captioned."""
        with self._cv:
            return len(self._wanted)

    def wait(self, timeout: float | None = None, backfill: bool = False) -> bool:
        """Wait until every wanted id is done (with `backfill`, the whole index too); False on timeout. For tests,
        benches and batch callers: a turn never calls it."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            while self.running and (self._wanted or self._busy or (backfill and not self.stats.backfilled)):
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cv.wait(left if left is not None else 1.0)
            return not self._wanted

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the batch in flight (its captions are saved)."""
        self._stop.set()
        with self._cv:
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        self.stop_child()

    # --- the worker's thread -----------------------------------------------------------------------------

    def _run(self) -> None:
        self._polite()
        try:
            if isinstance(self.captioner, ChildCaptioner):
                self.captioner.load()  # the child loads its model: one that cannot load stops the worker now
            elif isinstance(getattr(type(self.captioner), "model", None), property):
                _ = self.captioner.model  # a CoCa model loads here, once: one that cannot load stops the worker now
            while not self._stop.is_set():
                batch = self._next_batch()
                if not batch:
                    with self._cv:
                        self._cv.notify_all()  # wake `wait`: nothing is left to do
                        if not self._wanted and not self._stop.is_set():
                            self._cv.wait(1.0)
                    continue
                try:
                    self._caption(batch)
                except StoreLocked:
                    log.info("store is being written by another process; captions wait %.0fs", LOCKED_RETRY_S)
                    self._tried.difference_update(batch)
                    self._stop.wait(LOCKED_RETRY_S)
                finally:
                    with self._cv:
                        self._busy = False
                        self._cv.notify_all()
        except Exception as e:  # a captioner that cannot load (weights offline) ends the worker, never the process
            log.exception("background captioning stopped")
            self.stats.error = f"{type(e).__name__}: {e}"
        finally:
            with self._cv:
                self._cv.notify_all()

    def stop_child(self) -> None:
        if isinstance(self.captioner, ChildCaptioner):
            self.captioner.close()

    def _polite(self) -> None:
        """This thread at the lowest priority and on `threads` torch threads (both apply to this thread alone); with
        a child process, the child is (this thread only decodes and saves, and keeps its priority)."""
        if self.process:
            return
        try:  # Linux: a thread id is a process id for setpriority; elsewhere this may fail and the worker runs as is
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self.nice)
        except (AttributeError, OSError) as e:
            log.info("could not lower the caption thread's priority: %r", e)
        import torch

        torch.set_num_threads(self.threads)

    def _next_batch(self) -> list[str]:
        """Up to `batch_size` ids: wanted ones first, else the next uncaptioned images of the index."""
        with self._cv:
            self._wanted = [i for i in self._wanted if i not in self._tried]
            batch, self._wanted = self._wanted[: self.batch_size], self._wanted[self.batch_size :]
            if batch:
                self._tried.update(batch)
                self._busy = True
                return batch
        if not self.backfill or self.stats.backfilled:
            return []
        if self._rest is None:
            # small pages: reading a page holds the interpreter (Chroma's call), and a turn must not wait behind it
            self._rest = (r.id for r in self.store.iter_metadata(page=BACKFILL_PAGE) if not r.caption)
        batch = []
        for i in self._rest:
            if i not in self._tried:
                batch.append(i)
                if len(batch) == self.batch_size:
                    break
        with self._cv:
            if len(batch) < self.batch_size:
                self.stats.backfilled = True
            self._tried.update(batch)
            self._busy = bool(batch)
        return batch

    def _caption(self, ids: list[str]) -> None:
        t0 = time.monotonic()
        todo = {r.id: r for r in self.store.get(ids) if not r.caption}  # an existing caption stands
        if not todo:
            return
        report = CaptionReport()
        sink = _CaptionSink(self.store, self.captioner.id, todo, report)
        got: list[tuple[str, Decoded]] = []
        for i, r in todo.items():
            try:  # the indexer's decoder, in this thread: these files were decoded safely once already
                got.append((i, decode(self.store.gallery / r.meta.path, self.captioner.fit, self.max_pixels)))
            except SkipImage as e:
                sink.skip(i, str(e))
        if got:
            texts = _caption_batch(self.captioner, [d.pixels for _, d in got])
            self._commit(sink, got, texts)
        self.stats.captioned += report.captioned
        self.stats.skipped += len(report.skipped)
        self.stats.batches += 1
        self.stats.seconds += time.monotonic() - t0
        for s in report.skipped:
            log.info("caption skipped for %s: %s", s["path"], s["reason"])

    def _commit(self, sink: _CaptionSink, got: list[tuple[str, Decoded]], texts) -> None:
        """Save a batch under the store's single-writer lock (unless this process holds it already)."""
        store = self.store
        held = getattr(store, "_lock", None) is not None
        if not held:
            store.lock()  # StoreLocked when another process writes: the batch is tried again later
        try:
            sink.commit([i for i, _ in got], [d for _, d in got], texts)
        finally:
            if not held:
                store.unlock()


def start(store, captioner: Captioner, **options) -> CaptionWorker:
    """A started worker over `store`, a CoCa captioner in a child process unless `process=False` (for a server that
    wires its own agent: set `agent.caption_worker` to it, or a turn still captions in the turn;
    `ui.wiring.make_agent(opts, background=True)` does both)."""
    return CaptionWorker(store, captioner, **{"process": True, **options}).start()


class ChildCaptioner:
    """A CoCa captioner in a child process at low priority, on `threads` torch threads: this process sends it the
    decoded pixels of a batch and waits (without the interpreter lock) for the captions. The child loads its own
    copy of the model; it is started on first use and again after it died."""

    def __init__(self, captioner: CocaCaptioner, nice: int = NICE, threads: int = 1):
        self.spec, self.gen, self.batch_size = captioner.spec, captioner.gen, captioner.batch_size
        self.id, self.fit = captioner.id, captioner.fit
        self.nice, self.threads = nice, threads
        self._proc = self._conn = None

    def load(self) -> None:
        """Start the child and wait until its model is loaded; its failure (no weights) is raised here."""
        if self._proc is not None and self._proc.is_alive():
            return
        ctx = mp.get_context("spawn")  # never fork a process that holds torch threads
        parent, child = ctx.Pipe()
        args = (child, self.spec, self.gen, self.batch_size, self.nice, self.threads)
        self._proc = ctx.Process(target=_child_main, args=args, name="picseek-captions", daemon=True)
        self._proc.start()
        child.close()
        self._conn = parent
        ready = self._receive()
        if isinstance(ready, Exception):
            self.close()
            raise ready

    def caption(self, pixels) -> list:
        self.load()
        self._conn.send([np.ascontiguousarray(p) for p in pixels])
        return self._receive()

    def _receive(self):
        try:
            return self._conn.recv()
        except (EOFError, OSError):
            self.close()
            raise RuntimeError("the captioning process ended unexpectedly") from None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._proc is not None:
            self._proc.join(timeout=5)
            if self._proc.is_alive():
                self._proc.kill()
        self._proc = self._conn = None


def _child_main(conn, spec, gen: GenerationConfig, batch_size: int, nice: int, threads: int) -> None:
    """The child: lowest priority, `threads` torch threads, the model loaded once; then batches until the pipe ends."""
    try:
        os.nice(nice)
    except OSError:
        pass
    import torch

    torch.set_num_threads(threads)
    try:
        captioner = CocaCaptioner(spec, gen=gen, batch_size=batch_size)
        _ = captioner.model
    except Exception as e:  # sent back: the parent raises it as the worker's reason to stop
        conn.send(e)
        return
    conn.send("ready")
    while True:
        try:
            pixels = conn.recv()
        except (EOFError, OSError):
            return
        conn.send(_caption_batch(captioner, pixels))
