"""The toy world and the bundled toy model: deterministic, schema-true, loaded through the real factory."""

from __future__ import annotations

import json

import numpy as np
from picseek.ui.demo import world
from picseek.ui.demo.world import make_gallery


def test_gallery_schema_and_determinism(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    make_gallery(a, 20, seed=3, progress=False)
    make_gallery(b, 20, seed=3, progress=False)
    make_gallery(c, 20, seed=4, progress=False)
    lines = [json.loads(x) for x in (a / "scenes.jsonl").read_text().splitlines()]
    assert len(lines) == 20
    for d in lines:
        assert set(d) == {"file", "time", "ground", "objects", "caption"}
        assert d["time"] in ("day", "night", "sunset") and d["ground"] in ("grass", "water", "none")
        assert 1 <= len(d["objects"]) <= 3 and d["caption"]
        for o in d["objects"]:
            assert set(o) == {"noun", "color", "size", "pos"}
            assert o["noun"] in world.NOUNS and o["color"] in world.COLORS
        from PIL import Image

        with Image.open(a / d["file"]) as im:
            assert min(im.size) >= 128
    assert (a / "scenes.jsonl").read_bytes() == (b / "scenes.jsonl").read_bytes()
    assert (a / "scene_00003.jpg").read_bytes() == (b / "scene_00003.jpg").read_bytes()
    assert (a / "scenes.jsonl").read_bytes() != (c / "scenes.jsonl").read_bytes()


def test_toy_model_loads_through_the_open_clip_factory(toy_embedder):
    import open_clip

    lo = toy_embedder.loaded
    assert isinstance(lo.model, open_clip.CoCa)
    assert toy_embedder.spec.arch in open_clip.list_models()
    assert toy_embedder.model_id.startswith("picseek-toy-coca/bundled:")


def test_embeddings_are_normalized_and_deterministic(toy_embedder, toy_gallery_src):
    from PIL import Image

    # Same call, same vectors, bit for bit. (Under bf16 a vector may differ ~1e-4 with its batch neighbours,
    # so both calls start from an empty text cache and embed the same batch.)
    toy_embedder.clear_text_cache()
    t1 = toy_embedder.embed_texts(["a red car at night", "a boat"])
    toy_embedder.clear_text_cache()
    t2 = toy_embedder.embed_texts(["a red car at night", "a boat"])
    assert t1.dtype == np.float32 and np.allclose(np.linalg.norm(t1, axis=1), 1, atol=1e-5)
    assert np.array_equal(t1, t2)
    ims = [Image.open(toy_gallery_src / "scene_00000.jpg")] * 2
    v = toy_embedder.embed_images(ims)
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5) and np.array_equal(v[0], v[1])
    assert np.array_equal(v, toy_embedder.embed_images(ims))


def test_texts_embed_without_the_image_tower_until_an_image_needs_it(toy_spec, toy_gallery_src, monkeypatch):
    """A search process (and the chat UI until an upload) holds no image tower; the first image loads the whole
    model, which then serves texts too, with the same vectors."""
    from picseek.tools import models
    from picseek.tools.embed import Embedder
    from PIL import Image

    monkeypatch.setattr(models, "_CACHE", {})  # this process may have loaded the toy model already
    e = Embedder(toy_spec, device="cpu", precision="fp32")
    texts = ["a red car at night", "a boat"]
    t = e.embed_texts(texts)
    assert e.text_loaded.model.visual is None and e._loaded is None
    v = e.embed_images([Image.open(toy_gallery_src / "scene_00000.jpg")])
    assert v.shape == (1, t.shape[1]) and e.text_loaded is e.loaded and e.loaded.model.visual is not None
    assert list(models._CACHE) == [(toy_spec, "cpu", "fp32")]  # the text-only model was let go
    e.clear_text_cache()
    assert np.allclose(t, e.embed_texts(texts), atol=1e-6)  # the same weights, up to float rounding


def test_training_twins_change_one_binding_and_keep_the_picture():
    """Hard negatives for training: same layout, time and ground; a different set of (colour, object) pairs."""
    import random

    for i in range(200):
        sc = world.sample_scene(1, i)
        tw = world.twin(sc, random.Random(i))
        assert (tw.file, tw.time, tw.ground) == (sc.file, sc.time, sc.ground)
        assert [(o.size, o.pos) for o in tw.objects] == [(o.size, o.pos) for o in sc.objects]
        assert {(o.color, o.noun) for o in tw.objects} != {(o.color, o.noun) for o in sc.objects}
        assert tw.caption == world.canonical_caption(tw)
        changed = np.asarray(world.render(tw), np.int16) - np.asarray(world.render(sc), np.int16)
        assert np.abs(changed).max() > 0  # the picture shows the change


def test_training_texts_know_which_scenes_they_describe():
    """A text is a positive for every scene it is true of, so partial texts are not pushed off other matches."""
    import random

    rng = random.Random(0)
    scenes = [world.sample_scene(2, i) for i in range(300)]
    for sc in scenes:
        for partial in (False, True):
            text, said = world.describe(sc, rng, partial)
            assert said.true_of(sc), text
    red_car = world.Said((("car", "red", None),), time="night")
    truth = [world.relevant(s, noun="car", color="red", time="night") for s in scenes]
    assert [red_car.true_of(s) for s in scenes] == truth and any(truth)


def test_toy_training_is_reproducible_from_its_seed(tmp_path):
    """`make toy-model` twice gives the same weights: a few steps of the real script, run twice, compared."""
    import torch
    from picseek.ui.demo import train

    args = ["--steps", "3", "--batch", "16", "--train-scenes", "64", "--probe-scenes", "40", "--seed", "3"]
    train.main([*args, "--out", str(tmp_path / "a.pt")])
    train.main([*args, "--out", str(tmp_path / "b.pt")])
    a, b = torch.load(tmp_path / "a.pt", weights_only=False), torch.load(tmp_path / "b.pt", weights_only=False)
    assert a["state_dict"].keys() == b["state_dict"].keys()
    for k in a["state_dict"]:
        assert torch.equal(a["state_dict"][k], b["state_dict"][k]), k
    assert torch.equal(a["token_rows"], b["token_rows"]) and torch.equal(a["proj_cols"], b["proj_cols"])
    init = train._model_and_transform()[0].state_dict()  # and it did train: weights moved from a fresh init
    assert not torch.equal(a["state_dict"]["visual.conv1.weight"], init["visual.conv1.weight"].half())


def test_text_vectors_cut_after_the_last_end_of_text_equal_open_clips():
    """The CLIP text tower runs only up to the batch's last end-of-text token: same vectors as open_clip's full
    run, for texts of different lengths in one batch."""
    import torch
    from picseek.tools.embed import Embedder, encode_text
    from picseek.tools.models import resolve

    texts = ["a dog", "two people hiking up a snowy mountain with a red tent at sunset", "x, y"]
    lo = Embedder(resolve("ViT-B-32", random_init=True), precision="fp32").loaded
    tokens = lo.tokenizer(texts)
    assert int(tokens.argmax(dim=-1).max()) + 1 < tokens.shape[1]  # the cut happens
    with torch.inference_mode():
        full, cut = lo.model.encode_text(tokens).float(), encode_text(lo.model, tokens).float()
    assert full.shape == cut.shape
    assert torch.allclose(full, cut, atol=1e-5), (full - cut).abs().max()
