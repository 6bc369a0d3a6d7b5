"""The one loop behind indexing and captioning: decode files, run the model on batches, commit each batch.

Three stages, each a plain callable, so a stage can move elsewhere (worker processes today, a Ray actor pool
later) while the driver keeps the resume logic: every batch is committed before the next one starts, so an
interrupted run loses at most the batch in flight and the next run picks up from what was committed.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

import numpy as np

from tools.images import Decoded

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
class Progress:
    """The tqdm bar of a run. `show=None` shows it only on a terminal.

    `count` says when a decoded image counts as done: when it is "decoded" suits a fast model step (the bar
    moves smoothly), when its batch is "committed" suits a slow one (the bar does not run ahead of the work).
    A file that cannot be decoded counts at once either way.
    """

    desc: str
    show: bool | None = None
    count: Literal["decoded", "committed"] = "committed"


def run_batches(items: Sequence[tuple[K, str]], stages: Stages[K, R], batch_size: int, progress: Progress) -> None:
    """Decode `items` ((key, path) pairs), run `stages.work` on batches of `batch_size`, commit each batch."""
    from tqdm import tqdm

    bar = tqdm(
        total=len(items), desc=progress.desc, unit="img", disable=None if progress.show is None else not progress.show
    )
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
