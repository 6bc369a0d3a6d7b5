"""Shared fixtures: every test gets its own $PICSEEK_HOME; toy galleries and indexes are real files on disk."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = next(
    (
        p
        for p in (
            REPO.parent / "shared" / "corpus" / "pillow-test-images",
            Path("/work/shared/corpus/pillow-test-images"),
        )
        if p.is_dir()
    ),
    REPO.parent / "shared" / "corpus" / "pillow-test-images",
)


PICSEEK = str(Path(sys.executable).parent / "picseek")


def picseek_cli(*args, check=True, env=None) -> subprocess.CompletedProcess:
    """Run the real `picseek` command as a user would; `env` adds to (or overrides) the current environment."""
    p = subprocess.run([PICSEEK, *args], capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})})
    if check and p.returncode != 0:
        raise AssertionError(f"picseek {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


def pytest_collection_modifyitems(items):
    """Tiers: a test marked neither unit, e2e nor slow is an integration test (toy model, real Chroma)."""
    for item in items:
        if not any(item.get_closest_marker(m) for m in ("unit", "e2e", "slow")):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def picseek_home(tmp_path_factory, monkeypatch):
    """All user state goes to a fresh folder; the expanded toy checkpoint is shared to save time."""
    home = tmp_path_factory.mktemp("home")
    models = tmp_path_factory.getbasetemp() / "shared-models"
    models.mkdir(exist_ok=True)
    (home / "models").symlink_to(models)
    monkeypatch.setenv("PICSEEK_HOME", str(home))
    monkeypatch.delenv("PICSEEK_CHROMA_URL", raising=False)
    return home


@pytest.fixture
def chroma_url(tmp_path):
    """A real `chroma run` server on loopback, with its data in tmp_path; yields its URL."""
    from tests.test_ui import free_port

    port = free_port()
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "chroma"),
            "run",
            "--path",
            str(tmp_path / "server-db"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/api/v2/heartbeat", timeout=2):
                break
        except OSError:
            if proc.poll() is not None:
                pytest.fail("chroma run exited")
            time.sleep(0.3)
    else:
        pytest.fail("chroma server did not start in 60 s")
    yield url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="session")
def toy_gallery_src(tmp_path_factory) -> Path:
    from picseek.ui.demo.world import make_gallery

    out = tmp_path_factory.mktemp("toy") / "gallery"
    make_gallery(out, 120, seed=4242, progress=False)
    return out


@pytest.fixture
def toy_gallery(toy_gallery_src, tmp_path) -> Path:
    """A private copy, so tests may add, change and delete files."""
    dst = tmp_path / "gallery"
    shutil.copytree(toy_gallery_src, dst)
    return dst


@pytest.fixture(scope="session")
def toy_spec():
    from picseek.tools.models import resolve

    return resolve("toy")


@pytest.fixture(scope="session")
def toy_embedder(toy_spec):
    from picseek.tools.embed import Embedder

    return Embedder(toy_spec)


def image_meta(path: str, **fields):
    """The metadata the indexer would record for a 640x480 JPEG at `path` (relative to the gallery); `fields`
    override it."""
    from picseek.tools.records import ImageMeta

    rel = Path(path)
    folder = "" if rel.parent == Path(".") else rel.parent.as_posix()
    base = dict(path=path, dir=folder, name=rel.name, bytes=1000, mtime_ns=10**18)
    base |= dict(mtime=10**9, width=640, height=480, format="JPEG", orientation="landscape", megapixels=0.307)
    return ImageMeta(**{**base, "date_ts": 10**9, **fields})


def open_toy_store(gallery: Path, embedder=None, create=True):
    """The toy model's store for `gallery`, found where the CLI finds it. `embedder` is not needed (the gallery
    makes its own; the loaded model is cached per process) and stays only so callers need not change."""
    from picseek.tools.gallery import open_gallery

    return open_gallery(gallery, "toy", create=create).store


@pytest.fixture
def toy_index(toy_gallery, toy_embedder):
    from picseek.tools.index import index_folder

    store = open_toy_store(toy_gallery, toy_embedder)
    report = index_folder(toy_gallery, toy_embedder, store, workers=2, progress=False)
    return toy_gallery, store, report


def png_bomb(path: Path, side: int) -> Path:
    """A few KB on disk, side x side pixels when decoded: a decompression bomb."""
    import struct
    import zlib

    rows = zlib.compress(b"".join(b"\x00" + b"\x00" * (side // 8) for _ in range(side)), 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b""))
    return path
