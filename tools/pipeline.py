"""The one loop behind indexing and captioning: decode files, run the model on batches, commit each batch.

A run is described once (`Job`: how to decode, the model step, where results go) and carried out by a runner the
caller picks: `InProcess` (decode workers on this machine, the model in this process, `run_batches`) or
`tools.ray_pipeline.RayRunner` (the same stages as Ray Data tasks and actors on a cluster). Either way the driver
keeps the resume logic: every batch is committed as it comes back, so an interrupted run loses at most the batches
in flight and the next run picks up from what was committed.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, Protocol, TypeVar

import numpy as np
from picseek.tools.decode_pool import DecodePool, Limits
from picseek.tools.images import Decoded, Fit

K = TypeVar("K", bound=Hashable)  # what a file is known by: an image id
R = TypeVar("R")  # what the model step returns for a batch: vectors, captions...


@dataclass(frozen=True)
class Stages(Generic[K, R]):
    """The stages of a run. Only `work` touches the model; only `commit` and `skip` touch the store."""

    # (key, path) pairs in, (key, Decoded or skip reason) out in any order: `DecodePool.imap`
    decode: Callable[[Iterable[tuple[K, str]]], Iterator[tuple[K, Decoded | str]]]
    # the pixels of one batch in, the model's output for that batch out
    work: Callable[[list[np.ndarray]], R]
    # save one batch: its keys, its decoded images and the model's output for them
    commit: Callable[[list[K], list[Decoded], R], None]
    # record a file that could not be decoded, with the reason
    skip: Callable[[K, str], None]


@dataclass(frozen=True)
class Job(Generic[K, R]):
    """A run described so that any runner can carry it out: decoding as data (the model's pixel layout and the
    decoder's limits), the model step, and the driver-side sinks.

    `work` must pickle as a recipe, not as a loaded model (see `tools.index.EmbedStep`): a remote runner sends it to
    each of its workers, which loads the model once on first use. Its output for a batch must have one row per image
    (an array, or a list), so a remote runner can carry results per image.
    """

    fit: Fit
    limits: Limits
    work: Callable[[list[np.ndarray]], R]
    commit: Callable[[list[K], list[Decoded], R], None]
    skip: Callable[[K, str], None]

    def stages(self, workers: int | None = None) -> Stages[K, R]:
        """The in-process stages: decoding in `workers` processes of this machine."""
        return Stages(DecodePool(self.fit, workers, self.limits).imap, self.work, self.commit, self.skip)


@dataclass(frozen=True)
class Progress:
    """The tqdm bar of a run. `show=None` shows it only on a terminal.

    `count` says when a decoded image counts as done: when it is "decoded" suits a fast model step (the bar
    moves smoothly), when its batch is "committed" suits a slow one (the bar does not run ahead of the work).
    A file that cannot be decoded counts at once either way. (A remote runner sees images only once their batch
    is done, so it counts them then.)
    """

    desc: str
    show: bool | None = None
    count: Literal["decoded", "committed"] = "committed"

    def bar(self, total: int):
        from tqdm import tqdm

        return tqdm(total=total, desc=self.desc, unit="img", disable=None if self.show is None else not self.show)


class Runner(Protocol):
    """Carries out a `Job` on (key, path) items, committing batches of `batch_size` as they are done."""

    def __call__(self, items: Sequence[tuple[K, str]], job: Job[K, R], batch_size: int, progress: Progress) -> None:
        """Run `job` on `items`; returns once every item was committed or skipped."""


@dataclass(frozen=True)
class InProcess:
    """The runner on one machine: decode in `workers` processes, run the model in this process."""

    workers: int | None = None  # decode processes (default: CPU count, at most 4)

    def __call__(self, items: Sequence[tuple[K, str]], job: Job[K, R], batch_size: int, progress: Progress) -> None:
        run_batches(items, job.stages(self.workers), batch_size, progress)


def run_batches(items: Sequence[tuple[K, str]], stages: Stages[K, R], batch_size: int, progress: Progress) -> None:
    """Decode `items` ((key, path) pairs), run `stages.work` on batches of `batch_size`, commit each batch."""
    bar = progress.bar(len(items))
    batch: list[tuple[K, Decoded]] = []

    def flush() -> None:
        if not batch:
            return
        keys, decoded = [k for k, _ in batch], [d for _, d in batch]
        stages.commit(keys, decoded, stages.work([d.pixels for d in decoded]))
        if progress.count == "committed":
            bar.update(len(batch))
        batch.clear()

    try:
        for key, res in stages.decode(items):
            if isinstance(res, str):
                stages.skip(key, res)
                bar.update(1)
                continue
            batch.append((key, res))
            if len(batch) >= batch_size:
                flush()
            if progress.count == "decoded":
                bar.update(1)
        flush()
    finally:
        bar.close()
