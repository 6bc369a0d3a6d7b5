"""Pretrained weights without a network: a local copy is used without asking the hub, and a missing one fails in
seconds with the one-line remedy instead of ~50 s of Hugging Face retry logs."""

from __future__ import annotations

import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, picseek_cli

pytestmark = pytest.mark.integration

COMMIT = "0123456789abcdef0123456789abcdef01234567"
HUB_REPO = "picseek/toy-hub"
# A pretrained tag for the toy architecture, published on a (fake) hub: its own normalization, as real tags have.
TAG_CFG = {
    "url": "",
    "hf_hub": f"{HUB_REPO}/",
    "mean": (0.5, 0.5, 0.5),
    "std": (0.5, 0.5, 0.5),
    "interpolation": "bicubic",
    "resize_mode": "shortest",
}


@pytest.fixture
def closed_port():
    """A loopback port that refuses connections: bound, never listening."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


@pytest.fixture
def one_image(tmp_path) -> Path:
    from PIL import Image

    folder = tmp_path / "photos"
    folder.mkdir()
    Image.new("RGB", (64, 64), "red").save(folder / "a.jpg")
    return folder


@pytest.fixture
def toy_checkpoint() -> Path:
    """The full (expanded) toy checkpoint: a real open_clip state dict that the loader accepts strictly."""
    from picseek.tools.models import TOY_WEIGHTS, expand_bundled

    return expand_bundled(TOY_WEIGHTS)


def _hf_cache_layout(hub_cache: Path, repo: str, filename: str, source: Path) -> Path:
    """Place a file as huggingface_hub's downloads leave it: refs/main names a snapshot holding the file."""
    root = hub_cache / f"models--{repo.replace('/', '--')}"
    (root / "refs").mkdir(parents=True)
    (root / "refs" / "main").write_text(COMMIT)
    target = root / "snapshots" / COMMIT / filename
    target.parent.mkdir(parents=True)
    shutil.copyfile(source, target)
    return target


def test_unreachable_hub_fails_within_seconds_with_only_the_remedy(one_image, tmp_path, closed_port):
    """Regression: the default model with no weights and no network waited ~50 s and printed ~23 retry lines."""
    env = {"HF_ENDPOINT": f"http://127.0.0.1:{closed_port}", "HF_HOME": str(tmp_path / "hf")}
    start = time.monotonic()
    imports = subprocess.run([sys.executable, "-c", "import open_clip, chromadb, ui.cli"], cwd=REPO, check=True)
    baseline = time.monotonic() - start
    start = time.monotonic()
    p = picseek_cli("index", str(one_image), "--model", "ViT-B-32", check=False, env=env)
    elapsed = time.monotonic() - start
    out = (p.stdout + p.stderr).strip()
    assert imports.returncode == 0 and p.returncode != 0, out
    assert elapsed < 15 and elapsed - baseline < 5, f"{elapsed:.1f} s (imports alone {baseline:.1f} s)"
    assert out.count("\n") == 0, out  # one line: no retry warnings, no traceback
    assert "--checkpoint" in out and "--model toy" in out and "ViT-B-32/laion2b_s34b_b79k" in out
    assert "Retrying" not in out and "Traceback" not in out


def test_default_tag_is_looked_up_in_picseek_models_then_the_hf_cache(tmp_path, monkeypatch):
    from huggingface_hub import constants
    from picseek.tools.home import models_dir
    from picseek.tools.models import cached_weights, resolve

    spec = resolve("ViT-B-32")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    assert cached_weights(spec) is None
    blob = tmp_path / "blob"
    blob.write_bytes(b"weights")
    # open_clip asks the hub for safetensors first, then the pickle: a cached pickle counts
    in_hf = _hf_cache_layout(
        tmp_path / "hub", "laion/CLIP-ViT-B-32-laion2B-s34B-b79K", "open_clip_pytorch_model.bin", blob
    )
    assert cached_weights(spec) == in_hf
    mine = models_dir() / "ViT-B-32" / "laion2b_s34b_b79k" / "open_clip_model.safetensors"
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"weights")
    assert cached_weights(spec) == mine


def test_weights_in_the_hf_cache_load_without_touching_the_network(tmp_path, monkeypatch, closed_port, toy_checkpoint):
    import open_clip
    from huggingface_hub import constants
    from picseek.tools import models

    def no_network(*a, **kw):
        raise AssertionError("the hub was probed although the weights are cached")

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{closed_port}")
    monkeypatch.setattr(models, "hub_reachable", no_network)
    monkeypatch.setattr(models, "_CACHE", {})
    models._open_clip()
    monkeypatch.setitem(open_clip.pretrained._PRETRAINED, "picseek-toy-coca", {"hubtest": TAG_CFG})
    _hf_cache_layout(tmp_path / "hub", HUB_REPO, "open_clip_pytorch_model.bin", toy_checkpoint)

    loaded = models.load(models.resolve("picseek-toy-coca/hubtest"), device="cpu")
    toy = models.load(models.resolve("toy"), device="cpu")
    a, b = loaded.model.state_dict(), toy.model.state_dict()
    assert all((a[k] == b[k]).all() for k in b)
    # the tag's own preprocessing is kept although open_clip was handed a file, not the tag
    assert tuple(loaded.preprocess["mean"]) == TAG_CFG["mean"] and tuple(toy.preprocess["mean"]) != TAG_CFG["mean"]


class _FakeHub(http.server.BaseHTTPRequestHandler):
    """Just enough of the hub's resolve endpoint for huggingface_hub: no safetensors, one pickled checkpoint."""

    body = b""
    requests: list[str] = []

    def _reply(self, send_body: bool) -> None:
        self.requests.append(f"{self.command} {self.path}")
        if self.path != f"/{HUB_REPO}/resolve/main/open_clip_pytorch_model.bin":
            self.send_response(404)
            self.send_header("X-Error-Code", "EntryNotFound")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("X-Repo-Commit", COMMIT)
        self.send_header("ETag", '"toy-etag"')
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        if send_body:
            self.wfile.write(self.body)

    def do_HEAD(self):
        self._reply(False)

    def do_GET(self):
        self._reply(True)

    def log_message(self, *args):
        pass


def test_a_hub_that_answers_still_gets_the_download(tmp_path, toy_checkpoint):
    """The short look at the hub must not cost users with a network their first download."""
    handler = type("Hub", (_FakeHub,), {"body": toy_checkpoint.read_bytes(), "requests": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    script = (
        "import open_clip, sys; from picseek.tools import models; models._open_clip(); "
        f"open_clip.pretrained._PRETRAINED['picseek-toy-coca'] = {{'hubtest': {TAG_CFG!r}}}; "
        "spec = models.resolve('picseek-toy-coca/hubtest'); models.load(spec, device='cpu'); "
        "print(models.cached_weights(spec))"
    )
    env = {"HF_ENDPOINT": f"http://127.0.0.1:{server.server_port}", "HF_HOME": str(tmp_path / "hf")}
    try:
        p = subprocess.run(
            [sys.executable, "-c", script],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
            env={**{k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}, **env},
        )
    finally:
        server.shutdown()
    assert p.returncode == 0, p.stderr
    cached = Path(p.stdout.strip().splitlines()[-1])
    assert cached.is_file() and cached.is_relative_to(tmp_path / "hf")
    assert f"GET /{HUB_REPO}/resolve/main/open_clip_pytorch_model.bin" in handler.requests


@pytest.mark.parametrize("answer", ["silence", "proxy refusal", "gateway error"])
def test_a_hub_that_hangs_or_a_proxy_that_refuses_counts_as_offline(monkeypatch, answer):
    """A resolver or server that never answers costs the probe's timeout, not minutes; a 407 or 5xx from a proxy in
    the way is not the hub."""
    from huggingface_hub import constants
    from picseek.tools.models import hub_reachable

    status = {"proxy refusal": 407, "gateway error": 502}.get(answer)

    class Refuse(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self):  # noqa: N802 (the http.server API)
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args):
            pass

    with socket.socket() as listener:
        if status is None:  # listening, never accepting: the request hangs
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            port = listener.getsockname()[1]
        else:
            server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            port = server.server_port
        monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{port}")
        t0 = time.monotonic()
        assert hub_reachable(timeout=1.0) is False
        assert time.monotonic() - t0 < 2.5
        if status is not None:
            server.shutdown()
