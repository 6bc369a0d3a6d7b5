"""Client/server mode: index and search through a real `chroma run` server on loopback."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import picseek_cli
from tests.test_ui import free_port

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent


@pytest.fixture
def chroma_url(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "chroma"), "run", "--path", str(tmp_path / "server-db"), "--host", "127.0.0.1", "--port", str(port)],
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


def test_index_and_search_through_a_chroma_server(chroma_url, toy_gallery, picseek_home):
    env = {"PICSEEK_CHROMA_URL": chroma_url}
    rep = json.loads(picseek_cli("index", str(toy_gallery), "--model", "toy", "--json", env=env).stdout)
    assert rep["indexed"] == 120 and rep["store"] == chroma_url
    assert not list(picseek_home.rglob("chroma.sqlite3"))  # nothing went to an embedded store
    again = json.loads(
        picseek_cli("index", str(toy_gallery), "--model", "toy", "--json", "--chroma-url", chroma_url).stdout
    )
    assert again["unchanged"] == 120 and again["indexed"] == 0
    hits = json.loads(
        picseek_cli(
            "search", "a boat", "--dir", str(toy_gallery), "--model", "toy", "--json", "--k", "5", env=env
        ).stdout
    )
    assert len(hits) == 5 and all(Path(h["path"]).exists() for h in hits)
