"""The background caption worker: wanted images first, then the rest; a turn never waits; polite to the turn."""

from __future__ import annotations

import os
import threading
from dataclasses import replace

import pytest
from picseek.agent.agent import Agent
from picseek.agent.session import Session
from picseek.tools.caption_worker import NICE, CaptionWorker
from picseek.tools.errors import ModelWeightsUnavailable
from picseek.tools.retrieve import Searcher


class NumberingCaptioner:
    """A fake captioner: caption n is "a fake caption n", so the order images were captioned in can be read back.
    `gate`, when given, holds every batch until it is set (a slow captioner that a turn must not wait for)."""

    id = "fake:numbering"

    def __init__(self, fit, gate: threading.Event | None = None):
        self.fit, self.gate, self.n = fit, gate, 0
        self.seen: list[tuple[int, int]] = []  # (thread nice, torch threads) in each call

    def caption(self, pixels):
        import torch

        if self.gate is not None:
            assert self.gate.wait(60), "the test never opened the gate"
        self.seen.append((os.getpriority(os.PRIO_PROCESS, threading.get_native_id()), torch.get_num_threads()))
        out = [f"a fake caption {self.n + i}" for i in range(len(pixels))]
        self.n += len(pixels)
        return out


def order(store, ids) -> list[int]:
    return [int(r.caption.rsplit(" ", 1)[1]) for r in store.get(ids)]


@pytest.fixture
def indexed(toy_index, toy_embedder):
    gallery, store, _ = toy_index
    ids = [r.id for r in store.iter_metadata()]
    return store, ids, toy_embedder


def test_wanted_images_are_captioned_first_then_the_whole_index(indexed):
    store, ids, emb = indexed
    cap = NumberingCaptioner(emb.fit)
    wanted = [ids[-1], ids[50], ids[-3]]  # the backfill walks in store order: these would come late
    worker = CaptionWorker(store, cap, batch_size=4)
    worker.want(wanted)
    worker.start()
    try:
        assert worker.wait(timeout=120, backfill=True)
    finally:
        worker.stop()
    assert order(store, wanted) == [0, 1, 2]
    records = list(store.iter_metadata())
    assert all(r.caption and r.meta.caption_by == cap.id for r in records)
    assert sorted(order(store, ids)) == list(range(len(ids)))  # each image once
    assert worker.stats.captioned == len(ids) and worker.stats.backfilled


def test_a_request_during_the_backfill_goes_ahead_of_it(indexed):
    store, ids, emb = indexed
    gate = threading.Event()
    cap = NumberingCaptioner(emb.fit, gate)
    worker = CaptionWorker(store, cap, batch_size=4).start()
    try:
        late = ids[-4:]
        worker.want(late)  # asked while the first backfill batch waits at the gate
        gate.set()
        assert worker.wait(timeout=120)
    finally:
        worker.stop()
    assert max(order(store, late)) < 12  # within the batch in flight and the next, not at the end of the walk


def test_an_existing_caption_stands_and_a_broken_file_is_skipped_once(indexed):
    store, ids, emb = indexed
    mine = store.get([ids[0]])[0]
    store.update_captions(
        [replace(mine, caption="written by the user", meta=mine.meta.model_copy(update={"caption_by": "openai:x"}))]
    )
    broken = store.get([ids[1]])[0]
    (store.gallery / broken.meta.path).write_bytes(b"not an image any more")
    cap = NumberingCaptioner(emb.fit)
    worker = CaptionWorker(store, cap, batch_size=8).start()
    try:
        worker.want([ids[0], ids[1]])
        assert worker.wait(timeout=120, backfill=True)
        worker.want([ids[1]])  # tried once already: not again
        assert worker.wait(timeout=5)
    finally:
        worker.stop()
    assert store.get([ids[0]])[0].caption == "written by the user"
    assert store.get([ids[1]])[0].caption is None
    assert worker.stats.skipped == 1 and worker.stats.captioned == len(ids) - 2


def test_the_worker_thread_is_niced_and_on_one_torch_thread_alone(indexed):
    import torch

    store, ids, emb = indexed
    before = (os.getpriority(os.PRIO_PROCESS, 0), torch.get_num_threads())
    cap = NumberingCaptioner(emb.fit)
    worker = CaptionWorker(store, cap, batch_size=4, backfill=False).start()
    try:
        worker.want(ids[:4])
        assert worker.wait(timeout=60)
    finally:
        worker.stop()
    assert cap.seen and all(s == (NICE, 1) for s in cap.seen)
    assert (os.getpriority(os.PRIO_PROCESS, 0), torch.get_num_threads()) == before  # the turn's thread untouched


def test_a_turn_never_waits_for_captions_and_the_next_turn_has_them(indexed):
    store, ids, emb = indexed
    gate = threading.Event()
    worker = CaptionWorker(store, NumberingCaptioner(emb.fit, gate), batch_size=8, backfill=False).start()
    agent = Agent(Searcher(store, emb), caption_worker=worker)
    try:
        first = agent.turn(Session(), "a red car")  # the captioner is blocked: this returns only if nothing waits
        assert first.hits and not any(h.caption for h in first.hits)
        assert worker.pending + 8 >= len(first.hits)  # the shown results were handed over
        gate.set()
        assert worker.wait(timeout=120)
        again = agent.turn(first.session, "a red car")
    finally:
        gate.set()
        worker.stop()
    shown = {h.id for h in first.hits}
    assert all(h.caption and h.caption.startswith("a fake caption") for h in again.hits if h.id in shown)
    assert order(store, [h.id for h in first.hits]) == sorted(order(store, [h.id for h in first.hits]))


class Unloadable(NumberingCaptioner):
    @property
    def model(self):
        raise ModelWeightsUnavailable("could not download weights for coca_ViT-B-32 (offline?).")


def test_a_captioner_that_cannot_load_stops_the_worker_not_the_agent(indexed):
    store, ids, emb = indexed
    worker = CaptionWorker(store, Unloadable(emb.fit)).start()
    worker._thread.join(30)
    assert not worker.running and "offline" in worker.stats.error
    worker.want(ids[:3])  # still harmless
    r = Agent(Searcher(store, emb), caption_worker=worker).turn(Session(), "a red car")
    assert r.hits and not r.failed


def test_a_coca_captioner_can_run_in_a_low_priority_child_process(indexed, toy_spec):
    from picseek.tools.caption import CocaCaptioner
    from picseek.tools.caption_worker import ChildCaptioner

    store, ids, emb = indexed
    worker = CaptionWorker(store, CocaCaptioner(toy_spec), batch_size=4, backfill=False, process=True)
    assert isinstance(worker.captioner, ChildCaptioner)
    worker.start()
    try:
        worker.want(ids[:4])
        assert worker.wait(timeout=180)
        child = worker.captioner._proc
        assert child is not None and child.pid != os.getpid()
        assert os.getpriority(os.PRIO_PROCESS, child.pid) == NICE
    finally:
        worker.stop()
    got = store.get(ids[:4])
    assert all(r.caption and r.meta.caption_by.startswith("coca:") for r in got), [r.caption for r in got]
    assert worker.captioner._proc is None  # stopped with the worker
