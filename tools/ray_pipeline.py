"""The Ray runner: a pipeline `Job` carried out as Ray Data stages, on a Ray cluster or a local Ray runtime.

    (key, path) items ─ from_items ─▶ decode: CPU tasks, `decode_block` files each, through the guarded decode pool
      ─ map_batches ─▶ embed: an actor pool, one model per actor (a GPU each when the cluster has GPUs)
      ─ iter_batches ─▶ the driver commits each batch of `batch_size` and records each skip, as `run_batches` does

Planning and commits stay with the caller (the driver), so resume works as on one machine: what was committed
stays, what was in flight is decoded again next time. Workers read the images by the paths the driver walked, so
every node must see the gallery at the same path. Ray is imported on call; nothing else in picseek imports it.
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
from picseek.tools.decode_pool import DecodePool, Limits
from picseek.tools.errors import GalleryNotShared, PicseekError, RayClusterUnreachable, RayUnavailable, StoreNotShared
from picseek.tools.images import Decoded, Fit
from picseek.tools.pipeline import Job, Progress

log = logging.getLogger(__name__)

K = TypeVar("K")
R = TypeVar("R")

# The share of a CPU-only cluster's cores given to the embed actors; the rest decode. From the per-stage costs that
# evals/bench/ray_index.py measures (decoding a 6-megapixel JPEG costs somewhat more core time than embedding it
# with ViT-B-32 in bf16); small files shift the balance towards embedding.
EMBED_SHARE = 0.4
MAX_ACTOR_CPUS = 4  # torch's CPU threads scale poorly beyond this: more, smaller actors embed more per core
# What a decode task asks of a node's memory: its Ray worker and its decode process on a large photo. Asking for
# it also keeps Ray Data from fusing decoding into the embed actors (it fuses only stages that ask for the same
# resources), which would leave CPU-only nodes idle and make each actor decode and embed in turn.
DECODE_TASK_MEMORY = 512 * 2**20
_NO_PIXELS = np.zeros((0, 0, 3), np.uint8)  # a committed image's pixels stay on the worker that embedded them


def _ray():
    try:
        import ray
    except ImportError:
        raise RayUnavailable(
            "indexing with --ray needs Ray, which is not installed: pip install 'picseek[ray]'"
        ) from None
    return ray


_START = (
    "Start one (`ray start --head` on the head node, `ray start --address HEAD:6379` on the others) or check the "
    "address: `ray status` on a node of the cluster prints it."
)


def _reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail in seconds when nothing answers at a host:port address (Ray itself retries for minutes)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():  # "auto", or a form only Ray resolves
        return
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as e:
        raise RayClusterUnreachable(f"nothing answers at {address} ({e.strerror or e}). {_START}") from None


def check_store_reach(nodes: Iterable[Mapping], here: set[str], chroma_url: str | None) -> None:
    """Refuse the embedded store when the cluster has live nodes on other machines than this one.

    `nodes` as `ray.nodes()` lists them; `here` this machine's addresses. The embedded store is files on this
    machine's disk with a lock only this machine sees: a cluster's index belongs on a Chroma server that the
    driver, every later run (wherever it is started) and the search side can all reach."""
    if chroma_url:
        return
    others = sorted({n["NodeManagerAddress"] for n in nodes if n.get("Alive") and n["NodeManagerAddress"] not in here})
    if others:
        shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        raise StoreNotShared(
            f"the Ray cluster has nodes on other machines ({shown}), which do not share this machine's disk, where "
            f"the embedded store lives. Start a Chroma server (`chroma run --path DIR --host 0.0.0.0 --port 8000`) "
            f"and pass --chroma-url http://HOST:8000 (or set PICSEEK_CHROMA_URL); keep the images on storage every "
            f"node mounts at the same path."
        )


@dataclass(frozen=True)
class Sizing:
    """How many of each stage run at once, and what each holds."""

    actors: int  # embed actors, each with its own model
    actor_cpus: float
    actor_gpus: float
    decode_tasks: int | None  # at most this many decode tasks at once (None: as the free CPUs allow)


def size_stages(resources: Mapping[str, float], decode_tasks: int | None = None) -> Sizing:
    """One embed actor per GPU when the cluster has GPUs (decoding gets every CPU); on CPUs only, `EMBED_SHARE`
    of the cores embed, in actors of up to `MAX_ACTOR_CPUS` cores, and the rest decode."""
    cpus, gpus = int(resources.get("CPU", 1)), int(resources.get("GPU", 0))
    if gpus:
        return Sizing(gpus, 1, 1, decode_tasks)
    embed_cpus = max(1, min(cpus - 1, round(cpus * EMBED_SHARE)))
    actors = math.ceil(embed_cpus / MAX_ACTOR_CPUS)
    return Sizing(actors, embed_cpus / actors, 0, decode_tasks)


@dataclass
class RayRunner:
    """Runs a `Job` on Ray: decode tasks, an embed actor pool, commits on the driver (this process)."""

    address: str | None = None  # None: join RAY_ADDRESS or this machine's `ray start` cluster, else start one
    chroma_url: str | None = None  # the store's server; None means the embedded store, kept to this machine
    decode_tasks: int | None = None  # at most this many decode tasks at once
    decode_block: int = 64  # files per decode task: each starts one guarded decode process (~0.2 s)
    ray_init: dict = field(default_factory=dict)  # more ray.init arguments for a runtime this runner starts (tests)
    _owned: bool = field(default=False, init=False, repr=False)

    @property
    def joins_cluster(self) -> bool:
        """Whether `connect` joins a running cluster rather than starting a runtime on this machine."""
        return bool(self.address not in (None, "local") or os.environ.get("RAY_ADDRESS"))

    def check(self) -> None:
        """Fail early: without Ray installed, or (joining a cluster) with the embedded store on a multi-node
        cluster. A runtime started here is checked when it starts."""
        _ray()
        if self.joins_cluster and not self.chroma_url:
            self.connect()

    def connect(self):
        """Start or join Ray (once) and refuse a store the cluster cannot share; returns the `ray` module."""
        ray = _ray()
        if not ray.is_initialized():
            address = self.address or os.environ.get("RAY_ADDRESS")
            if self.joins_cluster:
                _reachable(address)
            try:
                ray.init(
                    address=self.address,
                    include_dashboard=False,
                    log_to_driver=False,  # workers' warnings stay in Ray's logs; failures come back as exceptions
                    logging_level=logging.WARNING,
                    **({} if self.joins_cluster else self.ray_init),
                )
            except ConnectionError as e:
                why = str(e).rstrip(".")
                raise RayClusterUnreachable(f"could not join the Ray cluster at {address}: {why}. {_START}") from e
            self._owned = True
        check_store_reach(ray.nodes(), {ray.util.get_node_ip_address()}, self.chroma_url)
        return ray

    def close(self) -> None:
        """Leave (or stop) the Ray runtime this runner started or joined."""
        if self._owned:
            _ray().shutdown()
            self._owned = False

    def __call__(self, items: Sequence[tuple[K, str]], job: Job[K, R], batch_size: int, progress: Progress) -> None:
        ray = self.connect()
        try:
            sizing = size_stages(ray.cluster_resources(), self.decode_tasks)
            log.info("ray: %d files, %s", len(items), sizing)
            bar = progress.bar(len(items))
            try:
                for batch in self._dataset(items, job, batch_size, sizing).iter_batches(
                    batch_size=batch_size, batch_format="numpy"
                ):
                    _apply(batch, job)
                    bar.update(len(batch["key"]))
            finally:
                bar.close()
        except Exception as e:
            cause = _user_error(e)
            if cause is not None:
                raise cause from e
            raise
        finally:
            self.close()

    def _dataset(self, items: Sequence[tuple[K, str]], job: Job[K, R], batch_size: int, sizing: Sizing):
        import ray.data

        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False  # the run has its own bar, as on one machine
        ctx.print_on_execution_start = False
        if logging.getLogger("ray.data").level < logging.WARNING:  # its notices (started, finished) stay in its log
            logging.getLogger("ray.data").setLevel(logging.WARNING)
        bars = logging.getLogger("ray.data._internal.progress")  # where Ray Data says its own bars are off
        if not any(isinstance(f, _NoBarNotice) for f in bars.filters):
            bars.addFilter(_NoBarNotice())
        blocks = max(1, math.ceil(len(items) / self.decode_block))
        ds = ray.data.from_items([{"key": k, "path": p} for k, p in items], override_num_blocks=blocks)
        ds = ds.map_batches(
            _decode_block,
            fn_kwargs={"fit": job.fit, "limits": job.limits},
            batch_size=self.decode_block,
            batch_format="numpy",
            compute=ray.data.TaskPoolStrategy(size=sizing.decode_tasks),
            num_cpus=1,
            memory=DECODE_TASK_MEMORY,
        )
        return ds.map_batches(
            _Embed,
            fn_constructor_kwargs={"work": job.work, "fit": job.fit},
            batch_size=batch_size,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=sizing.actors),
            num_cpus=sizing.actor_cpus,
            num_gpus=sizing.actor_gpus,
        )


class _NoBarNotice(logging.Filter):
    """Drops Ray Data's warning that its own progress bars are off: the run shows picseek's bar instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Progress bars disabled")


def _decode_block(batch: dict[str, np.ndarray], fit: Fit, limits: Limits) -> dict[str, np.ndarray]:
    """A decode task: the block's files through a one-process guarded pool (the same time, memory and pixel limits
    and the same skip reasons as on one machine). A file that cannot be decoded keeps its row, with its reason."""
    keys = [str(k) for k in batch["key"]]
    for path in {os.path.dirname(str(p)) for p in batch["path"]}:
        if not os.path.isdir(path):  # not a file that went away: the gallery is not mounted here
            raise GalleryNotShared(
                f"the folder {path} is not there on the Ray node {socket.gethostname()}: every node must see the "
                f"gallery at the same path as the machine running picseek (mount it there), then run again. "
                f"Nothing was recorded as unreadable."
            )
    with _spawn_without_main():
        got = dict(DecodePool(fit, 1, limits).imap(zip(keys, (str(p) for p in batch["path"]))))
    pixels = np.zeros((len(keys), fit.size, fit.size, 3), np.uint8)
    metas, reasons = [], []
    for i, k in enumerate(keys):
        res = got[k]
        if isinstance(res, str):
            metas.append("{}")
            reasons.append(res)
        else:
            pixels[i] = res.pixels
            metas.append(json.dumps(res.meta))
            reasons.append("")
    return {"key": np.array(keys), "pixels": pixels, "meta": np.array(metas), "reason": np.array(reasons)}


@contextmanager
def _spawn_without_main() -> Iterator[None]:
    """Decode processes are spawned, and spawn re-runs the parent's __main__ script when it has a file: in a Ray
    worker that is Ray's own worker script, whose imports cost each decode task ~0.3 s for nothing."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is None:
        yield
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path


class _Embed:
    """An embed actor: the job's model step, warmed up on one blank image when the actor starts, so the model loads
    while the first files decode (and the shape of one image's result is known before any real batch)."""

    def __init__(self, work, fit: Fit):
        self.work = work
        blank = np.asarray(work([np.zeros((fit.size, fit.size, 3), np.uint8)]))
        self.row: tuple[tuple[int, ...], np.dtype] = (blank.shape[1:], blank.dtype)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        ok = batch["reason"] == ""
        out = np.zeros((len(ok), *self.row[0]), self.row[1])
        if ok.any():
            out[ok] = np.asarray(self.work(list(batch["pixels"][ok])))
        return {"key": batch["key"], "meta": batch["meta"], "reason": batch["reason"], "out": out}


def _apply(batch: dict[str, np.ndarray], job: Job) -> None:
    """One finished batch on the driver: its skips recorded, its images committed."""
    ok = batch["reason"] == ""
    for key, reason in zip(batch["key"][~ok], batch["reason"][~ok]):
        job.skip(str(key), str(reason))
    if ok.any():
        decoded = [Decoded(_NO_PIXELS, json.loads(m)) for m in batch["meta"][ok]]
        job.commit([str(k) for k in batch["key"][ok]], decoded, batch["out"][ok])


def _user_error(e: BaseException) -> PicseekError | None:
    """The picseek error a worker raised, out of Ray's wrappers (which carry the remote traceback in the message)."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [e]
    while todo:
        x = todo.pop()
        if x is None or id(x) in seen:
            continue
        seen.add(id(x))
        if isinstance(x, PicseekError) and type(x).__module__.startswith("picseek.tools."):
            return x
        todo += [getattr(x, "cause", None), x.__cause__, x.__context__]
    return None
