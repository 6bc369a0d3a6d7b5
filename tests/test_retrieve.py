"""Search with the toy model on real files: text, references, negatives, filters, duplicates, threshold."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from picseek.tools.errors import BadQuery
from picseek.tools.index import index_folder
from picseek.tools.retrieve import Filters, ImageQuery, Searcher
from picseek.ui.demo.world import load_scenes
from PIL import Image


@pytest.fixture
def searcher(toy_index, toy_embedder):
    gallery, store, _ = toy_index
    return Searcher(store, toy_embedder), {s.file: s for s in load_scenes(gallery)}


def names(hits):
    return [h.path.rsplit("/", 1)[-1] for h in hits]


def test_text_search_finds_the_concept(searcher):
    s, truth = searcher
    hits = s.search(ImageQuery(text="a boat", k=5))
    assert len(hits) == 5 and [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert all(any(o.noun == "boat" for o in truth[n].objects) for n in names(hits))
    assert hits[0].score >= hits[-1].score and hits[0].path.startswith("/")
    night = s.search(ImageQuery(text="at night", k=5))
    assert all(truth[n].time == "night" for n in names(night))


def test_negative_removes_the_excluded_concept(searcher):
    from collections import Counter

    from picseek.ui.demo.world import TIME_WORDS

    s, truth = searcher
    plain = s.search(ImageQuery(text="a car", k=10))
    time, seen = Counter(truth[n].time for n in names(plain)).most_common(1)[0]
    assert seen >= 2, "the fixture's top 10 should hold a time of day to exclude"
    hits = s.search(ImageQuery(text="a car", negatives=[TIME_WORDS[time][0]], k=10))
    assert not any(truth[n].time == time for n in names(hits))


def test_more_like_a_reference(searcher):
    s, truth = searcher
    ref = s.search(ImageQuery(text="a house", k=1))[0]
    hits = s.search(ImageQuery(like=[ref.id], k=4))
    assert hits[0].id == ref.id and hits[0].score > 0.99
    by_path = s.search(ImageQuery(like=[ref.path], k=1))
    assert by_path[0].id == ref.id


def test_unknown_reference_is_a_clear_error(searcher):
    s, _ = searcher
    with pytest.raises(BadQuery, match="not in the index"):
        s.search(ImageQuery(like=["nope/missing.jpg"]))


def test_metadata_filters(toy_gallery, toy_embedder):
    from tests.conftest import open_toy_store

    src = Image.open(toy_gallery / "scene_00005.jpg")
    (toy_gallery / "tall").mkdir()
    src.crop((40, 0, 140, 192)).save(toy_gallery / "tall" / "portrait.jpg")
    src.resize((400, 400)).save(toy_gallery / "big.png")
    exif = Image.Exif()
    exif.get_ifd(0x8769)[36867] = "2019:07:14 18:30:00"
    src.save(toy_gallery / "dated.jpg", exif=exif)
    store = open_toy_store(toy_gallery, toy_embedder)
    index_folder(toy_gallery, toy_embedder, store, progress=False)
    s = Searcher(store, toy_embedder)

    def only(**f):
        return names(s.search(ImageQuery(text="a scene", k=50, filters=Filters(**f))))

    assert only(orientation="portrait") == ["portrait.jpg"]
    assert only(folder="tall") == ["portrait.jpg"]
    assert only(formats=["png"]) == ["big.png"]
    assert only(min_width=300) == ["big.png"]
    from datetime import date

    assert only(date_from=date(2019, 7, 1), date_to=date(2019, 7, 31)) == ["dated.jpg"]


def test_duplicates_collapse_and_threshold(toy_gallery, toy_embedder):
    from tests.conftest import open_toy_store

    for i in range(3):
        shutil.copy(toy_gallery / "scene_00007.jpg", toy_gallery / f"dup{i}.jpg")
    store = open_toy_store(toy_gallery, toy_embedder)
    index_folder(toy_gallery, toy_embedder, store, progress=False)
    s = Searcher(store, toy_embedder)
    ref = str(toy_gallery / "scene_00007.jpg")
    collapsed = s.search(ImageQuery(like=[ref], k=3))
    assert sum(n.startswith(("dup", "scene_00007")) for n in names(collapsed)) == 1
    # Collapsed, not lost: the shown copy lists the other three, and nothing else does.
    copies = {"dup0.jpg", "dup1.jpg", "dup2.jpg", "scene_00007.jpg"}
    shown = next(h for h in collapsed if Path(h.path).name in copies)
    assert {Path(p).name for p in shown.duplicates} == copies - {Path(shown.path).name}
    assert not any(Path(p).name in copies for h in collapsed if h is not shown for p in h.duplicates)
    kept = s.search(ImageQuery(like=[ref], k=4, collapse_duplicates=False))
    assert sum(n.startswith(("dup", "scene_00007")) for n in names(kept)) == 4
    strict = s.search(ImageQuery(like=[ref], k=50, threshold=0.999, collapse_duplicates=False))
    assert sorted(names(strict)) == ["dup0.jpg", "dup1.jpg", "dup2.jpg", "scene_00007.jpg"]


def test_a_search_reads_further_when_near_duplicates_use_up_its_places(toy_gallery, toy_embedder):
    """Without a re-rank a search reads a little over k nearest images first; 30 copies of one picture fill all
    of those, fold into one result, and the search goes on to the k-1 after them."""
    from picseek.tools.retrieve import pool

    from tests.conftest import open_toy_store

    for i in range(30):
        shutil.copy(toy_gallery / "scene_00003.jpg", toy_gallery / f"copy{i:02d}.jpg")
    store = open_toy_store(toy_gallery, toy_embedder)
    index_folder(toy_gallery, toy_embedder, store, progress=False)
    s = Searcher(store, toy_embedder)
    q = ImageQuery(like=[str(toy_gallery / "scene_00003.jpg")], k=5)
    assert pool(q) < 31
    hits = s.search(q)
    assert len(hits) == 5 and len(hits[0].duplicates) == 30
    unfolded = s.search(q.model_copy(update={"k": 40, "collapse_duplicates": False}))
    copies = {f"copy{i:02d}.jpg" for i in range(30)} | {"scene_00003.jpg"}
    rest = [h.id for h in unfolded if Path(h.path).name not in copies]
    assert [h.id for h in hits[1:]] == rest[:4]  # the same next four as a search that folds nothing


def test_each_near_duplicate_is_listed_with_the_hit_it_copies(toy_gallery, toy_embedder):
    """Two pictures with three copies each: every copy goes to its own original, also copies ranked below the
    last hit shown; an agent that keeps duplicates (the target eval) shows them all."""
    from picseek.agent.agent import Agent
    from picseek.agent.session import Session

    from tests.conftest import open_toy_store

    originals = ("scene_00001.jpg", "scene_00002.jpg")
    for name in originals:
        for i in range(3):
            shutil.copy(toy_gallery / name, toy_gallery / f"{name[:-4]}_copy{i}.jpg")
    store = open_toy_store(toy_gallery, toy_embedder)
    index_folder(toy_gallery, toy_embedder, store, progress=False)
    s = Searcher(store, toy_embedder)
    refs = [str(toy_gallery / n) for n in originals]

    def group(h) -> str | None:
        return next((n[:-4] for n in originals if Path(h.path).name.startswith(n[:-4])), None)

    # The smallest k that shows both pictures: the last hit shown is one of them, with its copies ranked below it.
    k = next(
        k
        for k in range(2, 20)
        if {group(h) for h in s.search(ImageQuery(like=refs, k=k))} >= {"scene_00001", "scene_00002"}
    )
    hits = s.search(ImageQuery(like=refs, k=k))
    assert group(hits[-1]) is not None
    for h in hits:
        g = group(h)
        copies = {f"{g}.jpg", *(f"{g}_copy{i}.jpg" for i in range(3))} if g else set()
        assert {Path(p).name for p in h.duplicates} == copies - {Path(h.path).name}
    for keep, shown in ((False, 2), (True, 8)):
        hits = Agent(s, ask=False, keep_duplicates=keep).turn(Session(), "", examples=refs, k=k + 6).hits
        assert sum(group(h) is not None for h in hits) == shown
        assert keep or all(len(h.duplicates) == 3 for h in hits if group(h))


def test_search_by_an_outside_example_image(searcher, tmp_path):
    s, _ = searcher
    ref = s.search(ImageQuery(text="a tree", k=1))[0]
    outside = tmp_path / "upload.png"
    shutil.copy(ref.path, outside)
    assert s.search(ImageQuery(like=[str(outside)], k=1))[0].id == ref.id


@pytest.mark.unit
def test_query_validation():
    with pytest.raises(ValueError):
        ImageQuery(text="x", k=0)
    with pytest.raises(ValueError):
        ImageQuery(text="x", k=100000)


def test_calibrated_match_tells_nonsense_from_a_real_description(searcher):
    """A real description's best results are strong matches; a nonsense word's best result is no better than
    chance, though its raw cosine looks much the same (the reason for calibrating)."""
    s, truth = searcher
    boat = s.search(ImageQuery(text="a boat", k=5))
    junk = s.search(ImageQuery(text="asdkjh", k=5))
    assert all(h.strength == "strong" for h in boat), [h.match for h in boat]
    assert junk and all(h.strength == "no" for h in junk), [h.match for h in junk]
    assert abs(boat[0].score - junk[0].score) < 0.2 and boat[0].match - junk[0].match > 60


def test_min_match_hides_weak_results_and_calibration_follows_the_index(searcher, toy_index, toy_embedder):
    s, truth = searcher
    gallery, store, _ = toy_index
    assert s.search(ImageQuery(text="asdkjh", k=5, min_match=40)) == []
    kept = s.search(ImageQuery(text="a boat", k=50, min_match=90))
    assert kept and all(h.match >= 90 for h in kept)
    before = s.calibration()
    assert s.calibration() is before  # measured once per index state
    extra = gallery / "copy.jpg"
    shutil.copy(next(gallery.glob("*.jpg")), extra)
    index_folder(gallery, toy_embedder, store, progress=False)  # the index changes underneath
    assert s.calibration() is not before and s.calibration().count == before.count + 1


def test_hits_say_what_they_resemble_and_what_they_avoid(searcher):
    s, truth = searcher
    boat = s.search(ImageQuery(text="a boat at night", k=1))[0]
    ball = s.search(ImageQuery(text="a ball during the day", k=1))[0]
    hits = s.search(ImageQuery(text="a house", like=[boat.id, ball.id], negatives=["trees"], k=5))
    vectors = {r.id: r.vector for r in s.store.get([boat.id, ball.id, *(h.id for h in hits)], vectors=True)}
    for h in hits:  # each names the chosen image it is nearer to, and a chosen image names no other
        if h.id in (boat.id, ball.id):
            assert h.similar_to is None
            continue
        nearer = boat if vectors[h.id] @ vectors[boat.id] > vectors[h.id] @ vectors[ball.id] else ball
        assert h.similar_to == nearer.metadata.name
    assert len({h.similar_to for h in hits} - {None}) == 2  # both references are someone's nearest
    clear = [h for h in hits if h.avoided == ["trees"]]
    assert clear and all(not any(o.noun == "tree" for o in truth[h.path.rsplit("/", 1)[-1]].objects) for h in clear)


@pytest.mark.unit
def test_filters_name_only_image_meta_fields():
    """Every filter at once: each clause's key is a field the indexer writes (a renamed field breaks here)."""
    from datetime import date

    from picseek.tools.records import ImageMeta

    f = Filters(
        date_from=date(2019, 1, 1),
        date_to=date(2019, 12, 31),
        orientation="portrait",
        min_width=10,
        min_height=10,
        formats=["jpg"],
        folder="/trips/",
        camera="EOS",
    )
    clauses = f.where()["$and"]
    keys = {k for c in clauses for k in c if k != "$or"} | {k for c in clauses for o in c.get("$or", []) for k in o}
    assert keys <= set(ImageMeta.model_fields) and len(clauses) == 8
    assert {"format": {"$in": ["JPEG"]}} in clauses and {"dir": "trips"} in clauses
    assert Filters().where() is None and Filters(orientation="square").where() == {"orientation": "square"}


def test_a_tiny_gallery_still_grades_its_hits(tmp_path, toy_gallery_src, toy_embedder):
    """Too few images to measure chance on: hits are graded by distance to the best, never all 'no match'."""
    from tests.conftest import open_toy_store

    tiny = tmp_path / "tiny"
    tiny.mkdir()
    for p in sorted(toy_gallery_src.glob("*.jpg"))[:3]:
        shutil.copy(p, tiny / p.name)
    store = open_toy_store(tiny, toy_embedder)
    index_folder(tiny, toy_embedder, store, progress=False)
    s = Searcher(store, toy_embedder)
    assert not s.calibration().measured
    hits = s.search(ImageQuery(like=[str(tiny / "scene_00000.jpg")], k=3))
    assert hits[0].match >= 75 and hits[0].path.endswith("scene_00000.jpg")


def test_a_model_that_knows_nothing_calls_nothing_a_match_on_a_small_gallery(tmp_path, toy_gallery_src, toy_embedder):
    """Between KNOW_MIN_IMAGES and MIN_IMAGES there are too few images to measure chance, but enough to tell whether
    the model knows anything: random weights on 30 images called their best hits strong matches."""
    from picseek.agent.agent import Agent
    from picseek.agent.session import Session
    from picseek.tools.embed import Embedder
    from picseek.tools.models import resolve
    from picseek.tools.relevance import KNOW_MIN_IMAGES, MIN_IMAGES
    from picseek.tools.store import Store

    small = tmp_path / "small"
    small.mkdir()
    for p in sorted(toy_gallery_src.glob("*.jpg"))[:30]:
        shutil.copy(p, small / p.name)
    assert KNOW_MIN_IMAGES <= 30 < MIN_IMAGES
    trained = Searcher(Store.open(tmp_path / "trained", small, toy_embedder, create=True), toy_embedder)
    index_folder(small, toy_embedder, trained.store, workers=1, progress=False)
    assert trained.calibration().knows and not trained.calibration().measured
    random = Embedder(resolve("toy", random_init=True))
    searcher = Searcher(Store.open(tmp_path / "random", small, random, create=True), random)
    index_folder(small, random, searcher.store, workers=1, progress=False)
    assert not searcher.calibration().knows
    turn = Agent(searcher, captions=False).turn(Session(), "a red car at night")
    assert turn.hits and all(h.strength == "no" for h in turn.hits)
