"""Client/server mode: index and search through a real `chroma run` server on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import picseek_cli

pytestmark = pytest.mark.e2e


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
