"""Captions: made by the toy CoCa (KV-cached, tests/test_coca_decode.py), stored as documents, cached, cleaned."""

from __future__ import annotations

import json

import numpy as np
import pytest
from picseek.tools.caption import CaptionFailed, CocaCaptioner, caption_images, clean_caption
from picseek.tools.embed import Embedder
from picseek.tools.retrieve import ImageQuery, Searcher
from picseek.ui.demo.world import load_scenes

from tests.conftest import picseek_cli


@pytest.mark.unit
def test_clean_caption():
    assert clean_caption("<start_of_text>a red car <end_of_text>") == "a red car"
    assert clean_caption("a red car , a blue ball and a tree .") == "a red car, a blue ball and a tree"
    assert "<" not in clean_caption("a <script>alert(1)</script> car\x00\n") and len(clean_caption("x " * 500)) <= 300


class CountingCaptioner:
    """The real toy captioner, counting images, failing on request for one of them."""

    def __init__(self, inner, fail_on: int | None = None):
        self.inner, self.id, self.fit, self.images, self.fail_on = inner, inner.id, inner.fit, 0, fail_on

    def caption(self, pixels):
        out = self.inner.caption(pixels)
        self.images += len(pixels)
        if self.fail_on is not None and self.images >= self.fail_on:
            out[0] = CaptionFailed("scripted failure")
            self.fail_on = None
        return out


def test_captions_are_stored_cached_and_searchable(toy_index, toy_spec):
    gallery, store, _ = toy_index
    cap = CountingCaptioner(CocaCaptioner(toy_spec), fail_on=1)
    rep = caption_images(store, cap, progress=False)
    assert rep.captioned == 119 and len(rep.skipped) == 1 and rep.skipped[0]["reason"] == "scripted failure"
    again = caption_images(store, cap, progress=False)
    assert (again.captioned, again.unchanged, cap.images) == (1, 119, 121)  # only the failed one is retried
    rows = list(store.iter_metadata())
    assert all(r.caption and r.meta.caption_by == cap.id for r in rows)
    truth = {s.file: s for s in load_scenes(gallery)}
    nouns = [any(o.noun in (r.caption or "") for o in truth[r.meta.path].objects) for r in rows]
    assert np.mean(nouns) > 0.5  # the toy captioner names the scene's objects (quality is measured in evals)
    hits = Searcher(store, Embedder(toy_spec)).search(ImageQuery(text="a boat", k=3))
    assert all(h.caption for h in hits)


class WordlessCaptioner(CountingCaptioner):
    """The real toy captioner whose first caption is what a model that knows nothing writes: '!'."""

    def caption(self, pixels):
        out = super().caption(pixels)
        if self.images == len(pixels):
            out[0] = "!"
        return out


def test_a_caption_with_no_words_is_skipped_not_stored(toy_index, toy_spec):
    _, store, _ = toy_index
    first = next(iter(store.iter_metadata()))
    rep = caption_images(store, WordlessCaptioner(CocaCaptioner(toy_spec)), ids=[first.id], mode="all", progress=False)
    assert rep.captioned == 0 and rep.skipped == [
        {"path": first.meta.path, "reason": "the caption model wrote no words"}
    ]
    assert not store.get([first.id])[0].caption  # the reply names it by its file, never as "!"


@pytest.mark.e2e
def test_index_with_captions_cli(toy_gallery):
    args = ("index", str(toy_gallery), "--model", "toy", "--captions", "--json")
    first = json.loads(picseek_cli(*args).stdout)
    assert first["captions"]["captioned"] == 120
    second = json.loads(picseek_cli(*args).stdout)
    assert second["captions"] == {"captioned": 0, "unchanged": 120, "skipped": []}
    out = picseek_cli("caption", "--dir", str(toy_gallery), "--model", "toy", "--only-missing", "--json").stdout
    assert json.loads(out)["captioned"] == 0


@pytest.mark.slow
def test_real_coca_architecture_runs_end_to_end(toy_index, tmp_path):
    """coca_ViT-B-32 with random weights: gibberish captions, but loading, batching, generation and storage run."""
    from picseek.evals.bench.caption import fill_random_caption_head
    from picseek.tools.models import resolve

    gallery, store, _ = toy_index
    cap = CocaCaptioner(resolve("coca_ViT-B-32", random_init=True), batch_size=2)
    fill_random_caption_head(cap.model)  # open_clip leaves it empty: every logit would tie
    ids = [r.id for r in store.iter_metadata()][:3]
    rep = caption_images(store, cap, ids=ids, progress=False)
    assert (rep.captioned, rep.skipped) == (3, [])  # a captioner that fails on every image must fail this test
    stored = [r for r in store.iter_metadata() if r.id in ids]
    assert len(stored) == 3
    for r in stored:  # random weights write gibberish, but real, cleaned text under its captioner
        assert r.caption and r.caption == clean_caption(r.caption) and r.meta.caption_by == cap.id, r
    assert cap.fit.size == 224


@pytest.mark.unit
def test_openai_compatible_captioner_against_a_scripted_server():
    from picseek.tools.caption import OpenAICaptioner

    from tests.fake_llm import FakeLLM

    fake = FakeLLM()
    try:
        fake.reply("A red car parked at night, ![x](http://evil.example/a.png) <b>bold</b>").error(500)
        cap = OpenAICaptioner("vision-model", base_url=fake.url, api_key="x", timeout=5, max_retries=0)
        pix = [np.full((40, 60, 3), 200, np.uint8), np.zeros((40, 60, 3), np.uint8)]
        first, second = cap.caption(pix)
        assert isinstance(first, str) and first.startswith("A red car") and "<" not in first
        assert isinstance(second, CaptionFailed) and "InternalServerError" in str(second)
        content = fake.requests[0]["messages"][0]["content"]
        url = next(c["image_url"]["url"] for c in content if c["type"] == "image_url")
        assert url.startswith("data:image/jpeg;base64,") and len(url) < 200_000  # bounded-size data URL
    finally:
        fake.close()


def test_an_excluded_thing_the_caption_names_sends_the_image_down(toy_index, toy_embedder):
    """ "no trees": besides the vectors' penalty, an image whose own caption names a tree goes below an image just as
    close whose caption does not; an image without a caption is judged by its vector alone."""
    from picseek.tools.retrieve import CAPTION_NEG_PENALTY

    _, store, _ = toy_index
    s = Searcher(store, toy_embedder)
    v = toy_embedder.embed_texts(["a house"])[0]
    embs = np.stack([v, v, v])  # three images alike to the vectors
    docs = ["a small red house and a large green tree", "a small red house on grass", None]
    scores, _ = s._rerank(ImageQuery(text="a house", negatives=["trees"]), embs, docs, v)
    assert scores[0] < scores[1] and scores[0] == pytest.approx(scores[1] - CAPTION_NEG_PENALTY)
    assert scores[1] == pytest.approx(scores[2])
    plain, _ = s._rerank(ImageQuery(text="a house"), embs, docs, v)
    assert plain[0] == pytest.approx(plain[1])


@pytest.mark.unit
@pytest.mark.parametrize(
    "caption,thing,named",
    [
        ("a red bus on a street", "buses", True),  # the plural of a noun ending in s
        ("two houses by a lake", "house", True),
        ("berries in a bowl", "berry", True),
        ("a red car on a street", "red car", True),
        ("a blue car on a street", "red car", False),  # every word of the thing, not one of them
        ("a dog lying on a blanket at a picnic", "hot dogs", False),
        ("heavy traffic on a city street", "traffic lights", False),
        ("an empty street at night with no cars", "cars", False),  # said as absent
        (None, "cars", False),
    ],
)
def test_a_caption_names_a_thing_by_all_its_words_and_not_as_absent(caption, thing, named):
    from picseek.tools.retrieve import caption_names

    assert caption_names(caption, thing) is named
