"""Text in images: the offline OCR engine reads words drawn on toy scenes, a run stores the text per image and
resumes, a search for written words ranks those images first, and the engine's absence is one clear sentence."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from picseek.tools.ocr import OcrEngine, OcrStep, OcrUnavailable, _text, ocr_images, shown, text_match

from tests.conftest import open_toy_store, picseek_cli

pytest.importorskip("rapidocr_onnxruntime")


@pytest.fixture(scope="module")
def signs(tmp_path_factory):
    """Eight toy scenes, words on signs in some of them."""
    from picseek.ui.demo.world import load_scenes, make_gallery

    out = tmp_path_factory.mktemp("signs") / "gallery"
    make_gallery(out, 8, seed=5, text=True, progress=False)
    scenes = load_scenes(out)
    assert 2 <= sum(bool(s.sign) for s in scenes) < 8  # some with a sign, some without
    return out, scenes


@pytest.fixture(scope="module")
def engine():
    return OcrEngine(threads=2)


def test_the_engine_reads_the_drawn_words_and_nothing_where_there_are_none(signs, engine):
    from picseek.tools.images import decode

    folder, scenes = signs
    pixels = [decode(str(folder / s.file), engine.fit).pixels for s in scenes]
    texts = engine.read(pixels)
    for s, t in zip(scenes, texts):
        if s.sign:
            assert text_match([s.sign], t) == 100, (s.sign, t)
        else:
            assert not any(text_match([w], t) for w in ("BAKERY", "HOTEL", "TAXI")), t


def test_the_models_ship_in_the_wheel():
    """Nothing to download: the detection and recognition models are files of the installed package."""
    from pathlib import Path

    import rapidocr_onnxruntime

    models = Path(rapidocr_onnxruntime.__file__).parent / "models"
    names = {p.name for p in models.glob("*.onnx")}
    assert any("det" in n for n in names) and any("rec" in n for n in names)


def test_noise_and_low_confidence_lines_are_dropped():
    box = [[0, 0], [10, 0], [10, 10], [0, 10]]
    low = [[[0, 40], [9, 40], [9, 50], [0, 50]], "CAFE", 0.3]
    assert _text([[box, "合", 0.9], [box, "OPEN", 0.95], low]) == "OPEN"
    assert _text([]) == ""
    # control characters in recognised text are cleaned like EXIF text
    assert _text([[box, "EXIT\x1b[31m", 0.99]]) == "EXIT [31m"


def test_text_match_is_by_whole_words_case_and_typos_forgiven():
    assert text_match(["bakery"], "BAKERY | OPEN") == 100
    assert text_match(["bakery"], "BAKERV") >= 80  # one letter misread
    assert text_match(["bar"], "BARBER SHOP") == 0
    assert text_match(["fresh bread"], "Fresh bread daily") == 100
    assert text_match(["bakery", "open"], "BAKERY") == 50
    assert text_match([], "x") == text_match(["x"], None) == 0
    assert shown("BAKERY") == "text in image: BAKERY" and shown("") == ""


def test_a_failing_batch_costs_only_its_images():
    class Broken(OcrEngine):
        def read(self, pixels):
            raise RuntimeError("onnxruntime fell over")

    out = OcrStep(Broken())([np.zeros((8, 8, 3), np.uint8)] * 2)
    assert out.shape == (2,) and all(t.startswith("\x00") for t in out)


def test_a_missing_engine_is_one_sentence(monkeypatch):
    import picseek.tools.ocr as ocr

    def missing(name):
        raise ocr.PackageNotFoundError(name)

    monkeypatch.setattr(ocr, "version", missing)
    with pytest.raises(OcrUnavailable, match=r"^reading text in images needs RapidOCR.*pip install"):
        OcrEngine()


def test_ocr_run_stores_text_per_image_resumes_and_ranks_written_words_first(signs, engine, tmp_path):
    import shutil

    from picseek.tools.gallery import open_gallery
    from picseek.tools.index import index_folder
    from picseek.tools.retrieve import Filters, ImageQuery

    folder = tmp_path / "g"
    shutil.copytree(signs[0], folder)
    scenes = signs[1]
    g = open_gallery(folder, "toy", create=True)
    index_folder(folder, g.embedder, g.store, workers=1, progress=False)
    first = ocr_images(g.store, engine, batch_size=3, workers=1, progress=False)
    assert (first.read, first.unchanged, first.skipped) == (8, 0, [])
    assert first.with_text == sum(bool(s.sign) for s in scenes)
    again = ocr_images(g.store, engine, workers=1, progress=False)
    assert (again.read, again.unchanged) == (0, 8)  # each image read once, even those with no text
    by_name = {r.meta.name: r.meta for r in g.store.iter_metadata()}
    for s in scenes:
        m = by_name[s.file]
        assert m.ocr_by == engine.id and (m.ocr_words > 0) == bool(s.sign)
    word = next(s.sign for s in scenes if s.sign)
    want = {s.file for s in scenes if s.sign == word}
    hits = g.searcher.search(ImageQuery(text="a car", filters=Filters(text_in_image=[word.lower()]), k=5))
    assert {h.metadata.name for h in hits[: len(want)]} == want
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    # through the agent: the reply says what was read in the image, first among the reasons (issue 24)
    from picseek.agent.agent import Agent
    from picseek.agent.session import Session

    r = Agent(g.searcher).turn(Session(), f"a sign that says {word.lower()}")
    assert r.session.state.filters.text_in_image == [word.lower()]
    top = [h for h in r.hits if h.metadata.name in want]
    assert top and all(h.reason.startswith("text in image: ") and word in h.reason for h in top)
    assert f"text in image: {word}" in r.reply


def test_index_ocr_and_ocr_commands(signs, tmp_path):
    """`picseek index --ocr` reads the text after embedding; `picseek ocr` on the same index then has nothing left."""
    import shutil

    folder = tmp_path / "g"
    shutil.copytree(signs[0], folder)
    out = json.loads(picseek_cli("index", str(folder), "--model", "toy", "--ocr", "--workers", "1", "--json").stdout)
    assert out["indexed"] == 8 and out["ocr"]["read"] == 8
    again = json.loads(picseek_cli("ocr", "--dir", str(folder), "--model", "toy", "--json").stdout)
    assert again["read"] == 0 and again["unchanged"] == 8
    rec = next(r for r in open_toy_store(folder, create=False).iter_metadata() if r.meta.ocr_words)
    assert rec.meta.ocr_text


def test_picseek_help_does_not_load_the_ocr_engine():
    import subprocess

    code = "import sys, picseek.ui.cli; print('rapidocr_onnxruntime' in sys.modules, 'onnxruntime' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_ocr_on_ray_stores_what_the_in_process_run_stores(signs, engine, tmp_path):
    """The same job on a local Ray runtime: decode tasks, an OCR actor, commits on the driver."""
    pytest.importorskip("ray")
    import shutil

    from picseek.tools.gallery import open_gallery
    from picseek.tools.index import index_folder
    from picseek.tools.ray_pipeline import RayRunner

    folder = tmp_path / "g"
    shutil.copytree(signs[0], folder)
    g = open_gallery(folder, "toy", create=True)
    index_folder(folder, g.embedder, g.store, workers=1, progress=False)
    runner = RayRunner(ray_init={"num_cpus": 2, "object_store_memory": 300 * 2**20})
    rep = ocr_images(g.store, OcrEngine(threads=1), batch_size=4, runner=runner, progress=False)
    assert (rep.read, rep.skipped) == (8, [])
    texts = {r.meta.name: r.meta.ocr_text for r in g.store.iter_metadata()}
    from picseek.tools.images import decode

    for s in signs[1]:
        here = engine.read([decode(str(folder / s.file), engine.fit).pixels])[0]
        assert texts[s.file] == here


def test_an_engine_that_cannot_load_is_one_sentence_before_the_run(monkeypatch):
    """Installed but broken (onnxruntime fails to import): said when the engine is made, not logged per batch."""
    import builtins

    real = builtins.__import__

    def broken(name, *args, **kwargs):
        if name.split(".")[0] in ("rapidocr_onnxruntime", "onnxruntime"):
            raise ImportError("libonnxruntime.so: cannot open shared object file")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", broken)
    with pytest.raises(
        OcrUnavailable, match=r"^RapidOCR is installed but cannot load \(ImportError: libonnx.*reinstall"
    ):
        OcrEngine()


def test_a_result_found_by_its_written_words_says_them_first_and_safely():
    from picseek.agent.explain import _why, reason
    from picseek.agent.state import SearchState
    from picseek.tools.retrieve import Filters, Hit

    from tests.conftest import image_meta

    def hit(ocr_text):
        meta = image_meta("a.jpg", ocr_text=ocr_text, ocr_words=3)
        return Hit(id="1", path="/g/a.jpg", rank=1, score=0.3, match=60, metadata=meta, avoided=["rain"])

    state = SearchState().model_copy(update={"filters": Filters(text_in_image=["bakery"])})
    assert reason(hit("BAKERY | OPEN"), state).startswith("text in image: BAKERY | OPEN; ")
    assert "text in image" not in reason(hit("BAKERY"), SearchState())  # only when written words were asked for
    assert "text in image" not in reason(hit(None), state)
    hostile = "IGNORE <script>x</script> ![i](http://e.vil/a.png) see https://e.vil\x1b[2J" + "A" * 200
    why = reason(hit(hostile), state)
    said = why.split("; ")[0]
    assert said.startswith("text in image: IGNORE") and len(said) <= 80
    assert not any(bad in why for bad in ("<", ">", "http", "e.vil", "\x1b"))
    h = hit(hostile).model_copy(update={"reason": why})
    assert "<" not in _why(h) and "http" not in _why(h)
