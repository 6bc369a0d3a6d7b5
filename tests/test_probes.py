"""Facts from the stored image vectors (tools.probes): right on the toy gallery, silent for a model that knows nothing,
and enough for the question step without a single caption."""

from __future__ import annotations

import json

import numpy as np
import pytest
from picseek.tools.probes import Probes, TextBank


def _scenes(gallery):
    return {d["file"]: d for d in map(json.loads, (gallery / "scenes.jsonl").read_text().splitlines())}


@pytest.fixture
def toy_searcher(toy_index):
    from picseek.tools.gallery import open_gallery

    gallery, _, _ = toy_index
    return gallery, open_gallery(gallery, "toy").searcher


def test_toy_model_knows_time_of_day_and_colours_from_vectors_alone(toy_searcher):
    gallery, searcher = toy_searcher
    scenes = _scenes(gallery)
    records = list(searcher.store.iter_metadata())
    facts = Probes(searcher).facts([r.id for r in records], subjects=["car"])
    times = [(dict(f.setting).get("time"), scenes[r.meta.path]["time"]) for r, f in zip(records, facts)]
    said = [(got, true) for got, true in times if got]
    assert len(said) >= 0.6 * len(records)  # most images answer the time of day...
    assert np.mean([got == true for got, true in said]) >= 0.9  # ...and rightly
    colours = []
    for r, f in zip(records, facts):
        cars = {o["color"] for o in scenes[r.meta.path]["objects"] if o["noun"] == "car"}
        colours += [v in cars for n, slot, v in f.attrs if n == "car" and slot == "color" and cars]
    assert len(colours) >= 10 and np.mean(colours) >= 0.85


def test_a_model_with_random_weights_gives_no_facts_and_asks_nothing(toy_gallery):
    from picseek.agent.agent import Agent
    from picseek.agent.session import Session
    from picseek.tools.embed import Embedder
    from picseek.tools.index import index_folder
    from picseek.tools.models import resolve
    from picseek.tools.retrieve import Searcher
    from picseek.tools.store import Store

    emb = Embedder(resolve("toy", random_init=True))  # the toy architecture, knowing nothing
    store = Store.open(toy_gallery.parent / "random-store", toy_gallery, emb, create=True)
    index_folder(toy_gallery, emb, store, workers=1, progress=False)
    searcher = Searcher(store, emb)
    assert not searcher.calibration().knows
    ids = [r.id for r in store.iter_metadata()][:40]
    facts = Probes(searcher).facts(ids, subjects=["car"])
    assert all(not f.things and not f.attrs and not f.setting for f in facts)
    turn = Agent(searcher, captions=False).turn(Session(), "a red car at night")
    assert turn.question is None and all(h.strength == "no" for h in turn.hits)


def test_questions_are_asked_without_any_caption(toy_searcher):
    from picseek.agent.agent import Agent
    from picseek.agent.session import Session

    _, searcher = toy_searcher
    assert all(r.caption is None for r in searcher.store.iter_metadata())  # indexed without captions
    agent = Agent(searcher, captions=False)
    turn = agent.turn(Session(), "a car")
    assert turn.question is not None and len(turn.question.options) >= 1
    assert all(o.strip() for o in turn.question.options)
    assert any(h.reason for h in turn.hits)  # reasons from the vectors too


def test_text_vectors_are_kept_on_disk_per_model(toy_searcher, monkeypatch):
    _, searcher = toy_searcher
    folder = searcher.store.state_dir
    TextBank(searcher.embedder, folder).vectors(["a probe text never seen"])
    files = list((folder / "probes").glob("texts-*.npz"))
    assert len(files) == 1
    # a new process: nothing in memory, and the text tower must not run again for a kept text
    from picseek.tools import probes

    monkeypatch.setattr(probes, "_banks", {})
    monkeypatch.setattr(searcher.embedder, "embed_texts", lambda texts: pytest.fail(f"embedded again: {texts}"))
    assert TextBank(searcher.embedder, folder).vectors(["a probe text never seen"]).shape[0] == 1


@pytest.mark.unit
def test_ask_tries_the_next_question_when_the_best_answers_too_few_candidates(monkeypatch):
    from picseek.agent.questions import Candidate, Questioner
    from picseek.agent.session import Session
    from picseek.agent.state import Question

    narrow = Question(kind="setting", slot="time", options=["at night", "at sunset"], text="At night or at sunset?")
    wide = Question(kind="setting", slot="place", options=["on grass", "on the water"], text="Where?")
    weak = Question(kind="presence", noun="tree", options=["yes", "no"], text="Is there a tree in it?")
    found = [Candidate(narrow, 1.5, 0.1), Candidate(wide, 1.0, 0.9), Candidate(weak, 0.1, 1.0)]
    monkeypatch.setattr(Questioner, "candidates", lambda self, state, hits, asked=(): found)
    assert Questioner().ask(Session(), []) is wide
    found[1] = Candidate(wide, 0.2, 0.9)  # nothing after the narrow one is worth asking
    assert Questioner().ask(Session(), []) is None


@pytest.mark.unit
def test_question_weights_come_from_the_calibrated_match_not_raw_cosines():
    from picseek.agent.questions import weights
    from picseek.tools.retrieve import Hit

    from tests.conftest import image_meta

    def hit(i, score, match):
        return Hit(id=f"{i}", path=f"/g/{i}.jpg", rank=i + 1, score=score, match=match, metadata=image_meta(f"{i}.jpg"))

    # a cosine spread of 0.001 is noise: equal matches weigh the same, however the raw scores differ
    flat = weights([hit(0, 0.301, 90), hit(1, 0.300, 90), hit(2, 0.299, 90)])
    assert np.allclose(flat, 1 / 3)
    graded = weights([hit(0, 0.30, 95), hit(1, 0.30, 40), hit(2, 0.30, 0)])
    assert graded[0] > graded[1] > graded[2] > 0
