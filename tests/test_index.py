"""Indexing with the bundled toy model and a real Chroma: incremental, resumable, nothing lost."""

from __future__ import annotations

import os
import shutil

import pytest
from picseek.tools.index import index_folder

from tests.conftest import open_toy_store


class CountingEmbedder:
    """Wraps the real embedder and counts images it embeds (to prove unchanged files cost no model work)."""

    def __init__(self, inner):
        self.inner, self.images = inner, 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def embed_pixels(self, pixels, batch_size=64):
        self.images += len(pixels)
        return self.inner.embed_pixels(pixels, batch_size)


def test_index_then_unchanged_rerun_does_no_model_work(toy_index, toy_embedder):
    gallery, store, report = toy_index
    assert (report.indexed, report.skipped, report.total) == (120, [], 120)
    counting = CountingEmbedder(toy_embedder)
    again = index_folder(gallery, counting, store, progress=False)
    assert (again.indexed, again.unchanged, again.removed) == (0, 120, 0)
    assert counting.images == 0


def test_changes_deletions_and_broken_files(toy_index, toy_embedder):
    gallery, store, _ = toy_index
    (gallery / "scene_00000.jpg").unlink()
    shutil.copy(gallery / "scene_00002.jpg", gallery / "scene_00001.jpg")
    os.utime(gallery / "scene_00001.jpg", ns=(1, 1))
    (gallery / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (gallery / ".hidden.jpg").write_bytes((gallery / "scene_00003.jpg").read_bytes())
    (gallery / "sub").mkdir()
    shutil.copy(gallery / "scene_00004.jpg", gallery / "sub" / "copy.jpg")
    os.symlink(gallery, gallery / "sub" / "loop")  # a symlink loop must not hang the walk
    counting = CountingEmbedder(toy_embedder)
    r = index_folder(gallery, counting, store, progress=False)
    assert (r.indexed, r.removed, r.unchanged) == (2, 1, 118)
    assert [s.path for s in r.skipped] == [str(gallery / "broken.jpg")]
    assert r.skipped[0].reason
    assert counting.images == 2
    # the broken file is remembered: an unchanged broken file is reported again without being decoded
    r2 = index_folder(gallery, counting, store, progress=False)
    assert (r2.indexed, len(r2.skipped), counting.images) == (0, 1, 2)
    paths = {r.meta.path for r in store.iter_metadata()}
    assert "sub/copy.jpg" in paths and ".hidden.jpg" not in paths and "scene_00000.jpg" not in paths


def test_metadata_recorded(toy_index):
    gallery, store, _ = toy_index
    r = next(store.iter_metadata())
    assert r.meta.format == "JPEG" and r.meta.orientation == "square" and r.caption is None
    assert r.meta.date_ts == r.meta.mtime and r.meta.taken is None  # no EXIF time: the file's time
    assert r.meta.path == r.meta.name and r.meta.dir == ""  # the toy gallery is one flat folder
    raw = store.col.get(ids=[r.id], include=["metadatas"])["metadatas"][0]
    assert raw == r.meta.model_dump() and None not in raw.values()  # absent optional fields are not stored


def test_user_folder_is_never_written(toy_gallery, toy_embedder):
    before = sorted((p.name, p.stat().st_mtime_ns) for p in toy_gallery.iterdir())
    index_folder(toy_gallery, toy_embedder, open_toy_store(toy_gallery, toy_embedder), progress=False)
    assert sorted((p.name, p.stat().st_mtime_ns) for p in toy_gallery.iterdir()) == before


def test_a_file_that_turns_unreadable_leaves_the_index(toy_index, toy_embedder):
    gallery, store, _ = toy_index
    (gallery / "scene_00009.jpg").write_bytes(b"\xff\xd8\xff garbage now")
    r = index_folder(gallery, toy_embedder, store, progress=False)
    assert [s.path for s in r.skipped] == [str(gallery / "scene_00009.jpg")] and r.total == 119
    assert "scene_00009.jpg" not in {r.meta.path for r in store.iter_metadata()}


def test_unreadable_stored_metadata_is_an_error_that_indexing_repairs(toy_index, toy_embedder):
    from picseek.tools.errors import StoreMismatch
    from picseek.tools.retrieve import ImageQuery, Searcher

    gallery, store, _ = toy_index
    r = next(store.iter_metadata())
    vec = store.get([r.id], vectors=True)[0].vector
    store.col.delete(ids=[r.id])  # (an upsert would merge into the stored metadata)
    store.col.add(ids=[r.id], embeddings=[vec], metadatas=[{"path": r.meta.path}])  # lacks fields the schema needs
    with pytest.raises(StoreMismatch, match="--reindex"):
        Searcher(store, toy_embedder).search(ImageQuery(like=[r.id], k=1))
    again = index_folder(gallery, toy_embedder, store, progress=False)
    assert (again.indexed, again.unchanged) == (1, 119) and store.get([r.id])[0].meta == r.meta


def test_a_changed_file_loses_its_old_caption_and_metadata(toy_index, toy_embedder):
    """Chroma's upsert merges into the stored record: a file replaced by another picture must not keep the old
    picture's caption (nor its capture date, GPS or frame count)."""
    from dataclasses import replace

    from picseek.tools.store import image_id

    gallery, store, _ = toy_index
    rid = image_id("scene_00001.jpg")
    old = store.get([rid])[0]
    store.update_captions(
        [
            replace(
                old,
                caption="a caption of the old picture",
                meta=old.meta.model_copy(update={"taken": "2001-01-01T00:00:00", "caption_by": "toy"}),
            )
        ]
    )
    shutil.copy(gallery / "scene_00002.jpg", gallery / "scene_00001.jpg")
    os.utime(gallery / "scene_00001.jpg", ns=(1, 1))
    unchanged = image_id("scene_00003.jpg")
    store.update_captions([replace(store.get([unchanged])[0], caption="still right")])
    index_folder(gallery, toy_embedder, store, progress=False)
    new = store.get([rid])[0]
    assert new.caption is None and new.meta.taken is None and new.meta.caption_by is None
    assert store.get([unchanged])[0].caption == "still right"  # an unchanged file keeps its caption


@pytest.mark.unit
def test_folder_filter_offers_the_folders_that_hold_images(tmp_path):
    from picseek.tools.index import image_folders, walk

    root = tmp_path / "g"
    for rel in [
        "g/top.jpg",
        "g/2019/a.jpg",
        "g/2019/summer/b.PNG",
        "g/notes/readme.txt",
        "g/.cache/c.jpg",
        "elsewhere/d.jpg",
    ]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    assert image_folders(root) == ["2019", "2019/summer"]
    assert len(image_folders(root, limit=1)) == 1
    (root / "trip").symlink_to(tmp_path / "elsewhere")  # indexed through the link, so offered
    (root / "2019" / "summer" / "back").symlink_to(root)  # a loop is cut
    bad = os.fsencode(root) + b"/caf\xe9"  # not UTF-8: its images are skipped, so it is not offered
    os.mkdir(bad)
    open(bad + b"/x.jpg", "wb").close()
    assert image_folders(root) == ["2019", "2019/summer", "trip"]
    indexed = {f.rel.rpartition("/")[0] for f in walk(root) if hasattr(f, "rel")} - {""}
    assert indexed == set(image_folders(root))  # the same folders the indexer takes images from
