"""The store: stable ids, model identity enforced, one writer at a time, clear errors."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from picseek.tools.errors import StoreLocked, StoreMismatch, StoreNotFound
from picseek.tools.store import SCHEMA_VERSION, Store, image_id

from tests.conftest import image_meta


def make(tmp_path, model="arch/w1", dim=4, create=True, replace=False):
    gallery = tmp_path / "g"
    gallery.mkdir(exist_ok=True)
    return Store(tmp_path / "state", gallery, model, create=create, dim=dim, replace=replace)


@pytest.mark.unit
def test_ids_are_stable_and_path_derived():
    assert image_id("a/b.jpg") == image_id("a/b.jpg") != image_id("a/c.jpg")
    assert len(image_id("x.png")) == 24


def test_upsert_query_roundtrip_in_batches(tmp_path):
    st = make(tmp_path)
    st.max_batch = 7  # force several batches
    vecs = np.eye(20, 4, dtype=np.float32) + 0.01
    ids = [f"id{i}" for i in range(20)]
    st.upsert(ids, vecs, [image_meta(f"{i}.jpg") for i in range(20)])
    assert st.count() == 20
    found = st.query(np.array([1, 0, 0, 0], np.float32), 3)
    assert [r.id for r in found][:1] == ["id0"] and found[0].meta == image_meta("0.jpg")
    assert [r.distance for r in found] == sorted(r.distance for r in found)  # best first
    assert np.allclose(found[0].vector, vecs[0], atol=1e-6) and found[0].vector.dtype == np.float32
    st.delete(ids[:15])
    assert st.count() == 5


def test_get_keeps_the_order_asked_and_leaves_out_missing_ids(tmp_path):
    st = make(tmp_path)
    st.max_batch = 2
    st.upsert(["a", "b", "c"], np.eye(3, 4, dtype=np.float32), [image_meta(f"{i}.jpg") for i in "abc"])
    got = st.get(["c", "gone", "a", "c", "b"])
    assert [r.id for r in got] == ["c", "a", "b"] and [r.meta.name for r in got] == ["c.jpg", "a.jpg", "b.jpg"]
    assert all(r.vector is None for r in got) and all(r.vector is not None for r in st.get(["a"], vectors=True))
    assert sorted(r.id for r in st.iter_metadata(page=2)) == ["a", "b", "c"]


def test_captions_keep_vectors_and_absent_fields_stay_absent(tmp_path):
    st = make(tmp_path)
    st.upsert(["a", "b"], np.eye(2, 4, dtype=np.float32), [image_meta("a.jpg"), image_meta("b.jpg", frames=3)])
    a, b = st.get(["a", "b"])
    st.delete(["b"])  # deleted while being captioned: not added again
    st.update_captions(
        [replace(r, caption="a cat", meta=r.meta.model_copy(update={"caption_by": "x"})) for r in (a, b)]
    )
    (got,) = st.get(["a", "b"], vectors=True)
    assert (got.caption, got.meta.caption_by, got.meta.frames) == ("a cat", "x", None)
    assert np.allclose(got.vector, [1, 0, 0, 0])
    raw = st.col.get(ids=["a"], include=["metadatas"])["metadatas"][0]
    assert "frames" not in raw and "taken" not in raw  # Chroma metadata holds no None


def test_stored_metadata_reads_as_image_meta_with_unknown_keys_kept(tmp_path):
    """A store written before the typed records (or by a newer picseek) holds plain dicts; they still read."""
    st = make(tmp_path)
    raw = {**image_meta("d/x.jpg", taken="2019-07-14T10:00:00", taken_ts=1563098400).model_dump(), "rating": 5}
    st.col.upsert(ids=["x"], embeddings=np.ones((1, 4), np.float32), metadatas=[raw], documents=["a dog"])
    (r,) = st.get(["x"])
    assert (r.meta.dir, r.meta.taken_ts, r.caption, r.meta.model_extra) == ("d", 1563098400, "a dog", {"rating": 5})
    assert r.meta.model_dump() == raw


def test_unreadable_stored_metadata_says_how_to_rebuild(tmp_path):
    st = make(tmp_path)
    st.col.upsert(ids=["x"], embeddings=np.ones((1, 4), np.float32), metadatas=[{"path": "x.jpg"}])
    with pytest.raises(StoreMismatch, match="--reindex"):
        st.get(["x"])


def test_other_model_is_refused(tmp_path):
    make(tmp_path, "arch/w1")
    with pytest.raises(StoreMismatch, match="cannot be mixed"):
        make(tmp_path, "arch/w2", create=False)


def test_other_weights_are_replaced_only_when_asked(tmp_path):
    old = make(tmp_path, "arch/w1")
    old.upsert(["a"], np.ones((1, 4), np.float32), [image_meta("a.jpg")])
    with pytest.raises(StoreMismatch, match="--reindex"):
        make(tmp_path, "arch/w2")
    new = make(tmp_path, "arch/w2", replace=True)
    assert (new.count(), new.info.weights) == (0, "w2")
    with pytest.raises(StoreLocked):  # the drop happened under the writer lock, which the new store holds
        make(tmp_path, "arch/w2").lock()
    new.upsert(["b"], np.ones((1, 4), np.float32), [image_meta("b.jpg")])
    new.unlock()
    assert make(tmp_path, "arch/w2", replace=True).count() == 1  # the same weights' vectors are kept
    with pytest.raises(StoreMismatch, match="cannot be mixed"):
        make(tmp_path, "arch/w1")


def test_newer_schema_is_refused(tmp_path):
    st = make(tmp_path)
    st.col.modify(metadata={**st.col.metadata, "picseek_schema": SCHEMA_VERSION + 1})
    with pytest.raises(StoreMismatch, match="newer picseek"):
        make(tmp_path, create=False)


def test_missing_store_says_how_to_create_it(tmp_path):
    with pytest.raises(StoreNotFound, match="picseek index"):
        make(tmp_path, create=False)


def test_second_writer_is_refused(tmp_path):
    a = make(tmp_path).lock()
    with pytest.raises(StoreLocked, match="another picseek process"):
        make(tmp_path).lock()
    a.unlock()
    make(tmp_path).lock().unlock()
