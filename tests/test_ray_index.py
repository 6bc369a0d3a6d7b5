"""Indexing on Ray: a local Ray runtime into a real `chroma run` server, killed midway and resumed, gives what the
in-process path gives (same ids, vectors, metadata, skip reasons); and the checks that guard the Ray path."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import CORPUS, PICSEEK, picseek_cli

# Broken on purpose, each for its own reason (bad header, bomb, decoder error, truncation, oversized text chunk)
BROKEN = (
    "broken.png",
    "decompression_bomb.gif",
    "crash-0c7e0e8e11ce787078f00b5b0ca409a167f070e0.tif",
    "truncated_image.png",
    "png_decompression_dos.png",
)
# Keeps each local Ray runtime small: its shared-memory object store (Ray's default is 30% of RAM)
RAY_ENV = {"RAY_DEFAULT_OBJECT_STORE_MAX_MEMORY_BYTES": str(300 * 2**20)}


def _gallery(toy_gallery: Path) -> Path:
    """240 images (the toy gallery and a copy of it in a subfolder) and the broken corpus files."""
    shutil.copytree(toy_gallery, toy_gallery / "copy", ignore=shutil.ignore_patterns("*.jsonl"))
    for name in BROKEN:
        shutil.copy(CORPUS / name, toy_gallery / name)
    return toy_gallery


def _server_count(url: str) -> int:
    import chromadb
    from chromadb.config import Settings

    port = int(url.rsplit(":", 1)[1])
    client = chromadb.HttpClient(host="127.0.0.1", port=port, settings=Settings(anonymized_telemetry=False))
    return sum(c.count() for c in client.list_collections())


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL what is left of the process group this test started (the Ray runtime the killed driver had
    started outlives it in part)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.mark.e2e
def test_killed_ray_run_resumes_to_what_the_in_process_path_makes(chroma_url, toy_gallery, tmp_path):
    if not CORPUS.is_dir():
        pytest.skip("shared robustness corpus not present")
    pytest.importorskip("ray")
    from picseek.tools.gallery import open_gallery
    from picseek.tools.index import index_folder

    gallery = _gallery(toy_gallery)
    n = 240
    ref = open_gallery(gallery, "toy", store=tmp_path / "in-process", create=True)  # its own skip log too
    ref_report = index_folder(gallery, ref.embedder, ref.store, workers=2, progress=False)
    assert (ref_report.indexed, len(ref_report.skipped)) == (n, len(BROKEN))
    skipped = {(s.path, s.reason) for s in ref_report.skipped}

    cmd = [PICSEEK, "index", str(gallery), "--model", "toy", "--ray", "--chroma-url", chroma_url, "--json"]
    cmd += ["--batch-size", "8"]
    env = {**os.environ, **RAY_ENV}
    # The job, killed with SIGKILL once the server holds some of the images: no clean-up of any kind runs.
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if _server_count(chroma_url) > 0:
                    break
            except Exception:  # the collection is not there yet
                pass
            time.sleep(0.05)
        assert proc.poll() is None, f"the run ended before it could be killed:\n{proc.stderr.read().decode()[-3000:]}"
        proc.kill()
        proc.wait(timeout=30)
    finally:
        _kill_group(proc)
    time.sleep(1)  # a commit the server was receiving as the driver died lands now, or never
    committed = _server_count(chroma_url)
    assert 0 < committed < n, committed

    resumed = json.loads(picseek_cli(*cmd[1:], env=RAY_ENV).stdout)
    assert (resumed["indexed"], resumed["unchanged"]) == (n - committed, committed)
    assert (resumed["removed"], resumed["total"], resumed["store"]) == (0, n, chroma_url)
    assert {(s["path"], s["reason"]) for s in resumed["skipped"]} == skipped  # decoded on Ray, same reasons

    served = open_gallery(gallery, "toy", chroma_url=chroma_url).store
    assert served.count() == n
    mine = {r.id: r for r in ref.store.get([r.id for r in ref.store.iter_metadata()], vectors=True)}
    theirs = {r.id: r for r in served.get(list(mine), vectors=True)}
    assert set(theirs) == set(mine) and len(mine) == n  # every file there, exactly once
    cos = np.array([float(mine[i].vector @ theirs[i].vector) for i in mine])
    assert cos.min() >= 0.9999, cos.min()
    assert all(theirs[i].meta == mine[i].meta for i in mine)

    again = json.loads(picseek_cli(*cmd[1:], env=RAY_ENV).stdout)
    assert (again["indexed"], again["unchanged"], again["removed"], again["total"]) == (0, n, 0, n)
    assert {(s["path"], s["reason"]) for s in again["skipped"]} == skipped  # from the skip log, not decoded again


NODE = {"Alive": True, "NodeManagerAddress": "10.0.0.1"}


@pytest.mark.unit
def test_embedded_store_is_refused_on_a_cluster_with_other_machines():
    from picseek.tools.errors import StoreNotShared
    from picseek.tools.ray_pipeline import check_store_reach

    here = {"10.0.0.1"}
    other = {"Alive": True, "NodeManagerAddress": "10.0.0.2"}
    with pytest.raises(StoreNotShared, match="10.0.0.2") as e:
        check_store_reach([NODE, other], here, None)
    assert "chroma run" in str(e.value) and "--chroma-url" in str(e.value) and "same path" in str(e.value)
    check_store_reach([NODE, other], here, "http://10.0.0.1:8000")  # a server every node reaches: fine
    check_store_reach([NODE, {**NODE}], here, None)  # a cluster all on this machine: fine
    check_store_reach([NODE, {**other, "Alive": False}], here, None)  # a node that left does not count


@pytest.mark.unit
def test_ray_missing_says_how_to_install_it(tmp_path, monkeypatch, picseek_home):
    import sys

    from picseek.tools.errors import RayUnavailable
    from picseek.ui.cli import app

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if Ray were not installed
    with pytest.raises(RayUnavailable, match=r"pip install 'picseek\[ray\]'"):
        app(["index", str(tmp_path), "--model", "toy", "--ray"], standalone_mode=False)
    assert not list(picseek_home.glob("stores/*"))  # refused before any store was made


@pytest.mark.unit
def test_stage_sizes_follow_the_cluster():
    from picseek.tools.ray_pipeline import size_stages

    assert size_stages({"CPU": 32, "GPU": 4}) == size_stages({"CPU": 32, "GPU": 4.0})
    gpu = size_stages({"CPU": 32, "GPU": 4})
    assert (gpu.actors, gpu.actor_gpus, gpu.actor_cpus) == (4, 1, 1)  # a model per GPU; the CPUs decode
    two = size_stages({"CPU": 2})
    assert (two.actors, two.actor_cpus, two.actor_gpus) == (1, 1, 0)  # this machine: one core each way
    big = size_stages({"CPU": 160})
    assert big.actors * big.actor_cpus == 64 and big.actor_cpus == 4
    for cores in (8, 16, 64):  # the embed share the README states, whatever the actor size
        s = size_stages({"CPU": cores})
        assert s.actors * s.actor_cpus == pytest.approx(round(cores * 0.4)) and s.actor_cpus <= 4, (cores, s)


def test_the_model_step_travels_as_a_recipe(toy_embedder, tmp_path):
    """A Ray actor receives the step pickled: the spec and precision, never the loaded weights, and a node whose
    weights differ from the driver's is refused (the store records the driver's model)."""
    from dataclasses import replace

    from picseek.tools.errors import ModelWeightsUnavailable, StoreMismatch
    from picseek.tools.index import EmbedStep, _remote_embed_step

    _ = toy_embedder.loaded
    step = EmbedStep(toy_embedder, 8)
    blob = pickle.dumps(step)
    assert len(blob) < 10_000
    copy = pickle.loads(blob)
    assert copy.embedder is not toy_embedder and copy.embedder.model_id == toy_embedder.model_id
    size = toy_embedder.fit.size
    pixels = [np.full((size, size, 3), 90, np.uint8)]
    assert float(copy(pixels)[0] @ step(pixels)[0]) > 0.9999
    with pytest.raises(StoreMismatch, match="same picseek"):
        _remote_embed_step(toy_embedder.spec, "auto", "picseek-toy-coca/bundled:other", 8)
    elsewhere = replace(toy_embedder.spec, checkpoint=tmp_path / "only-on-the-driver.pt", bundled=None)
    with pytest.raises(ModelWeightsUnavailable, match="only-on-the-driver.pt.*every node"):
        _remote_embed_step(elsewhere, "auto", toy_embedder.model_id, 8)


@pytest.mark.unit
def test_a_workers_picseek_error_comes_out_of_rays_wrappers():
    from picseek.tools.errors import StoreMismatch
    from picseek.tools.ray_pipeline import _user_error

    inner = StoreMismatch("weights differ")
    wrapped = RuntimeError("ray task failed, traceback...")
    wrapped.cause = inner  # as RayTaskError carries it
    outer = RuntimeError("dataset failed")
    outer.__cause__ = wrapped
    assert _user_error(outer) is inner
    assert _user_error(RuntimeError("nothing of ours")) is None


@pytest.mark.unit
def test_a_cluster_address_nothing_answers_at_fails_in_seconds():
    """Ray itself retries an unreachable address for minutes; the user gets the remedy instead."""
    pytest.importorskip("ray")
    from picseek.tools.errors import RayClusterUnreachable
    from picseek.tools.ray_pipeline import RayRunner

    t = time.monotonic()
    with pytest.raises(RayClusterUnreachable, match="ray start --head"):
        RayRunner("ray://127.0.0.1:1").check()
    assert time.monotonic() - t < 10


def test_a_node_without_the_gallery_stops_the_run_instead_of_skipping_its_images(tmp_path):
    """A decode task on a node that lacks the gallery's mount must not record readable images as broken (the skip
    log would keep them out of every later run); a file that went away from a folder that is there is a skip."""
    import numpy as np
    from picseek.tools.decode_pool import Limits
    from picseek.tools.errors import GalleryNotShared
    from picseek.tools.images import Fit
    from picseek.tools.ray_pipeline import _decode_block

    fit = Fit(size=32, resize_mode="shortest")
    gone = {"key": np.array(["a"]), "path": np.array([str(tmp_path / "not-mounted" / "a.jpg")])}
    with pytest.raises(GalleryNotShared, match="same path"):
        _decode_block(gone, fit, Limits())
    missing = {"key": np.array(["b"]), "path": np.array([str(tmp_path / "b.jpg")])}
    out = _decode_block(missing, fit, Limits())
    assert out["reason"][0]  # skipped, with its reason
