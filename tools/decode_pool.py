"""Decode images in worker processes with a per-file time limit and a per-worker memory cap.

A worker stuck on a hostile file is killed and replaced; the file is skipped with reason "timeout". A worker that
dies (segfault, out of memory) costs only the file it was on. Results arrive in completion order.

Each worker answers on a pipe of its own: a worker killed while it was sending can never hold a lock the others
need (a shared result queue deadlocks that way), and a file's time limit is judged only when no result is
waiting to be read, so a caller that is busy embedding never makes a finished worker look stuck.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from picseek.tools.errors import DecodeWorkersFailed
from picseek.tools.images import DEFAULT_MAX_PIXELS, Decoded, Fit, SkipImage, decode


@dataclass(frozen=True)
class Limits:
    timeout_s: float = 10.0  # per file
    memory_mb: int = 3072  # address-space cap per worker; a file that needs more is skipped
    max_pixels: int = DEFAULT_MAX_PIXELS


def _worker(index: int, tasks, results, fit: Fit, limits: Limits) -> None:
    """Decode files from `tasks`; `results` is this worker's own pipe end (`send`)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)  # libtiff & co. print to C stderr; the reason travels back in the result instead
    try:
        import resource

        cap = limits.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    except (ImportError, ValueError, OSError):
        pass
    results.send((_READY, index, None, None, None))  # start-up time never counts against a file's time limit
    while True:
        item = tasks.get()
        if item is None:
            return
        key, path = item
        try:
            d = decode(path, fit, limits.max_pixels)
            results.send((key, d.pixels.tobytes(), d.pixels.shape, d.meta, None))
        except SkipImage as e:
            results.send((key, None, None, None, str(e)))
        except MemoryError:
            results.send((key, None, None, None, f"needs more than {limits.memory_mb} MB to decode"))
        except Exception as e:  # the pool's promise: one bad file never stops the run
            results.send((key, None, None, None, f"cannot decode: {type(e).__name__}"))


_READY = "__ready__"


class DecodePool:
    """`for key, result in pool.imap(items)`: result is a `Decoded` or a skip reason (str).

    Each worker holds up to `prefetch` queued files, so decoding continues while the caller embeds a batch.
    A file's clock starts when the worker reaches it (the previous result arrived), not when it was queued.
    """

    def __init__(self, fit: Fit, workers: int | None = None, limits: Limits = Limits(), prefetch: int = 8):
        self.fit, self.limits, self.prefetch = fit, limits, prefetch
        self.n = max(1, workers or min(4, os.cpu_count() or 1))
        self.ctx = mp.get_context("spawn")  # never fork a process that holds torch threads
        self.pipes: list = [None] * self.n  # each worker's result pipe (read end)
        self.procs: list = [None] * self.n
        self.inboxes: list = [None] * self.n
        self.queued: list[deque] = [deque() for _ in range(self.n)]  # keys sent to each worker, oldest first
        self.started: list[float] = [0.0] * self.n  # when the head of each queue began decoding
        self.owner: dict = {}  # key -> worker index
        self.reaped: set = set()  # keys already reported as timeout/crash: a late result for them is dropped
        self.ready: list[bool] = [False] * self.n

    def _start(self, i: int) -> None:
        inbox = self.ctx.Queue()
        reader, writer = self.ctx.Pipe(duplex=False)
        env_threads = os.environ.get("OMP_NUM_THREADS")
        os.environ["OMP_NUM_THREADS"] = "1"  # keep NumPy/OpenBLAS in workers single-threaded and small
        try:
            p = self.ctx.Process(target=_worker, args=(i, inbox, writer, self.fit, self.limits), daemon=True)
            p.start()
        finally:
            writer.close()  # the worker holds its own copy; a dead worker then reads as end of file
            if env_threads is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = env_threads
        self.procs[i], self.inboxes[i], self.pipes[i] = p, inbox, reader
        self.ready[i] = False

    def _kill(self, i: int) -> None:
        p = self.procs[i]
        if p is not None and p.is_alive():
            p.kill()
        if p is not None:
            p.join(timeout=5)
        if self.pipes[i] is not None:
            self.pipes[i].close()
        self.procs[i] = self.pipes[i] = None

    def _send(self, i: int, item) -> None:
        if not self.queued[i] and self.ready[i]:
            self.started[i] = time.monotonic()
        self.queued[i].append(item)
        self.owner[item[0]] = i
        self.inboxes[i].put(item)

    def imap(self, items: Iterable[tuple[object, str]]) -> Iterator[tuple[object, Decoded | str]]:
        it = iter(items)
        pending = True
        for i in range(self.n):
            self._start(i)
        try:
            while True:
                while pending:  # keep every worker's queue topped up, least loaded first
                    i = min(range(self.n), key=lambda j: len(self.queued[j]))
                    if len(self.queued[i]) >= self.prefetch:
                        break
                    nxt = next(it, None)
                    if nxt is None:
                        pending = False
                        break
                    self._send(i, nxt)
                if not pending and not any(self.queued):
                    return
                message = self._receive()
                if message is None:  # nothing to read: only now can a worker be judged stuck
                    yield from self._reap()
                    continue
                key, data, shape, meta, err = message
                if key == _READY:
                    self.ready[data] = True
                    self.started[data] = time.monotonic()
                    continue
                if key in self.reaped:
                    continue
                i = self.owner.pop(key)
                q = self.queued[i]
                while q and q[0][0] != key:  # cannot happen (a worker is FIFO) unless a result was lost
                    q.popleft()
                if q:
                    q.popleft()
                self.started[i] = time.monotonic()
                if err is not None:
                    yield key, err
                else:
                    import numpy as np

                    yield key, Decoded(np.frombuffer(data, dtype=np.uint8).reshape(shape), meta)
        finally:
            self.close()

    def _receive(self):
        """One result from whichever worker has one (None after a short wait with none); a worker's pipe that
        ends (it died) is left for `_reap` to judge."""
        from multiprocessing.connection import wait

        live = [c for c in self.pipes if c is not None]
        for conn in wait(live, timeout=0.05) if live else []:
            try:
                return conn.recv()
            except (EOFError, OSError):
                i = self.pipes.index(conn)
                conn.close()
                self.pipes[i] = None
        return None

    def _reap(self) -> Iterator[tuple[object, str]]:
        now = time.monotonic()
        for i, q in enumerate(self.queued):
            if not q:
                continue
            p = self.procs[i]
            alive = p is not None and p.is_alive()  # asked once: a worker dying between two asks was misjudged
            if p is not None and not alive and not self.ready[i]:
                # Died before it could take any file: the pool is broken, the files are not. Failing loudly keeps
                # innocent files out of the skip list, which would otherwise remember them as unreadable.
                raise DecodeWorkersFailed(
                    f"image decoding workers could not start (exit code {p.exitcode}); see the log. In your own "
                    f"script, start picseek under `if __name__ == '__main__':` (worker processes are spawned)."
                )
            if p is not None and not alive:
                reason = f"decoder crashed (exit code {p.exitcode})"
            elif self.ready[i] and now - self.started[i] > self.limits.timeout_s:
                reason = f"timeout: decoding took longer than {self.limits.timeout_s:g} s"
            else:
                continue
            self._kill(i)
            self._start(i)
            key, _ = q.popleft()
            self.owner.pop(key, None)
            self.reaped.add(key)
            rest = list(q)
            q.clear()
            for item in rest:  # the files queued behind it go to the fresh worker
                self._send(i, item)
            self.started[i] = time.monotonic()
            yield key, reason

    def close(self) -> None:
        for i, p in enumerate(self.procs):
            if p is None:
                continue
            try:
                if not self.queued[i] and p.is_alive():
                    self.inboxes[i].put(None)
                    p.join(timeout=1)
            except (OSError, ValueError):
                pass
            self._kill(i)
