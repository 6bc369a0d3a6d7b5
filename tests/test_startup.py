"""Start-up: help and listing commands import no model library; `picseek ui` is ready only once warm."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.conftest import PICSEEK

HEAVY = ("torch", "open_clip", "chromadb", "spacy", "gradio", "inflect")
PROBE = """
import atexit, json, sys
seen = lambda: sorted(m for m in {heavy!r} if m in sys.modules)
atexit.register(lambda: print("MODULES=" + json.dumps(seen()), file=sys.stderr))
sys.argv = ["picseek", *{args!r}]
from picseek.ui.cli import main
main()
"""


def heavy_imports(*args: str) -> list[str]:
    """The heavy modules a `picseek ARGS` process imported by the time it exited."""
    p = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY, args=list(args))], capture_output=True, text=True, timeout=120
    )
    line = [x for x in p.stderr.splitlines() if x.startswith("MODULES=")]
    assert line, p.stderr[-2000:]
    return json.loads(line[-1].split("=", 1)[1])


@pytest.mark.parametrize(
    "args",
    [("--help",), ("ask", "--help"), ("ui", "--help"), ("index", "--help"), ("search", "--help"), ("models", "--json")],
)
def test_help_and_listing_import_no_model_library(args):
    assert heavy_imports(*args) == []


def test_a_command_that_searches_does_import_them(toy_index):
    """The probe above can see an import: a search loads torch and Chroma (so an empty list above means something)."""
    gallery, *_ = toy_index
    got = heavy_imports("search", "a red car", "--dir", str(gallery), "--model", "toy", "--json")
    assert {"torch", "open_clip", "chromadb"} <= set(got)


@pytest.mark.e2e
def test_ui_is_warm_before_it_prints_its_url(toy_index, picseek_home):
    """The model, the English pipeline and the calibration load in a warm-up turn before the URL is printed, and
    background captioning has started: the first user's turn pays for none of it."""
    from tests.test_ui import free_port

    gallery, *_ = toy_index
    cmd = [PICSEEK, "ui", "--dir", str(gallery), "--model", "toy", "--offline", "--no-log", "--port", str(free_port())]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "picseek UI: http" in line:
                break
        assert any("picseek UI: http" in x for x in lines), "".join(lines)
        log = (picseek_home / "logs" / "picseek.log").read_text()
        assert "warm-up turn took" in log and "background captioning started (coca:" in log
        said = [x.split(":", 2)[1].strip() for x in lines if x.startswith("picseek UI:")]
        assert said[0].startswith("loading") and said[-1].startswith("http")
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
