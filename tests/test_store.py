"""The store: stable ids, model identity enforced, one writer at a time, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from tools.errors import StoreLocked, StoreMismatch, StoreNotFound
from tools.store import SCHEMA_VERSION, Store, image_id


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
    st.upsert(ids, vecs, [{"path": f"{i}.jpg", "n": i} for i in range(20)])
    assert st.count() == 20
    r = st.query(np.array([1, 0, 0, 0], np.float32), 3)
    assert r["ids"][0][0] == "id0"
    st.delete(ids[:15])
    assert st.count() == 5


def test_other_model_is_refused(tmp_path):
    make(tmp_path, "arch/w1")
    with pytest.raises(StoreMismatch, match="cannot be mixed"):
        make(tmp_path, "arch/w2", create=False)


def test_other_weights_are_replaced_only_when_asked(tmp_path):
    old = make(tmp_path, "arch/w1")
    old.upsert(["a"], np.ones((1, 4), np.float32), [{"path": "a.jpg"}])
    with pytest.raises(StoreMismatch, match="--reindex"):
        make(tmp_path, "arch/w2")
    new = make(tmp_path, "arch/w2", replace=True)
    assert (new.count(), new.info.weights) == (0, "w2")
    with pytest.raises(StoreLocked):  # the drop happened under the writer lock, which the new store holds
        make(tmp_path, "arch/w2").lock()
    new.upsert(["b"], np.ones((1, 4), np.float32), [{"path": "b.jpg"}])
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
