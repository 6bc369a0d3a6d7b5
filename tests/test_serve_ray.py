"""`picseek serve --ray-serve` on a local Ray runtime with 2 replicas, the index on a real `chroma run` server and
sessions in one folder: a session's turns land on either replica and give what one process gives."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.request

import pytest

from tests.conftest import PICSEEK
from tests.test_ray_index import RAY_ENV
from tests.test_ui import free_port

pytestmark = pytest.mark.e2e


def _call(url: str, body: dict | None = None, timeout=120):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read()), r.headers.get("X-Picseek-Replica")


def _same(got: dict, want: dict, message: str) -> None:
    """The same turn, up to float rounding: a replica runs torch on the threads Ray gives it (0.5 CPU: one), and a
    different split of a sum moves a cosine in its fourth decimal (seen: 0.5446 against 0.5444), and with it a
    calibrated match by a point and the reply that quotes it."""
    digits = re.compile(r"[0-9]+")
    for key in ("planner", "question", "options", "state", "query", "nothing_matches"):
        assert got[key] == want[key], (message, key)
    assert [h["id"] for h in got["hits"]] == [h["id"] for h in want["hits"]], message
    for g, w in zip(got["hits"], want["hits"]):
        assert abs(g["score"] - w["score"]) < 2e-3 and abs(g["match"] - w["match"]) <= 1, message
        assert {k: v for k, v in g.items() if k not in ("score", "match", "strength", "reason")} == {
            k: v for k, v in w.items() if k not in ("score", "match", "strength", "reason")
        }, message
    assert digits.sub("#", got["reply"]) == digits.sub("#", want["reply"]) or got["reply"] == want["reply"], message


def test_two_ray_serve_replicas_continue_each_others_sessions(chroma_url, toy_gallery, tmp_path):
    pytest.importorskip("ray.serve")
    from picseek.agent.session import Session
    from picseek.tools.gallery import open_gallery
    from picseek.tools.index import index_folder
    from picseek.ui.options import AgentArgs
    from picseek.ui.wiring import caption_pass, make_agent

    g = open_gallery(toy_gallery, "toy", chroma_url=chroma_url, create=True)
    assert index_folder(toy_gallery, g.embedder, g.store, workers=2, progress=False).indexed == 120
    # captioned up front: a turn that captions its candidates itself returns them with the metadata read before
    caption_pass(g.store, g.embedder, None, "stale")

    port, sessions = free_port(), tmp_path / "sessions"
    cmd = [PICSEEK, "serve", "--ray-serve", "--replicas", "2", "--replica-cpus", "0.5", "--port", str(port)]
    cmd += ["--dir", str(toy_gallery), "--model", "toy", "--offline", "--no-log", "--chroma-url", chroma_url]
    cmd += ["--sessions", str(sessions)]
    env = {**os.environ, **RAY_ENV, "RAY_SERVE_PROXY_READY_CHECK_TIMEOUT_S": "60"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 420
        while time.monotonic() < deadline:
            try:
                ready, _ = _call(url + "/readyz", timeout=5)
                if ready.get("ready"):
                    break
            except OSError:
                pass
            if proc.poll() is not None:
                pytest.fail(f"picseek serve --ray-serve exited: {proc.stderr.read().decode()[-3000:]}")
            time.sleep(1)
        else:
            pytest.fail("the Ray Serve deployment did not become ready")

        one = make_agent(AgentArgs(toy_gallery, "toy", chroma_url=chroma_url, offline=True, no_log=True))
        talks = [["a red car", "only at night", "without boats"], ["a green tree", "more like #2", "not #1"]] * 3
        replicas_of: list[set[str]] = []
        for talk in talks:
            (made, _) = _call(url + "/v1/sessions", {})
            sid, local, seen = made["id"], Session(), set()
            for m in talk:
                got, replica = _call(f"{url}/v1/sessions/{sid}/turns", {"message": m})
                seen.add(replica)
                want = one.turn(local, m)
                local = want.session
                _same(got, json.loads(json.dumps(want.to_json(), default=str)), m)
            replicas_of.append(seen)
            saved = Session.load((sessions / f"{sid}.json").read_text())
            assert [x.content for x in saved.messages if x.role == "user"] == talk
        assert len(set().union(*replicas_of)) == 2, "both replicas answered"
        assert any(len(s) == 2 for s in replicas_of), "some session's turns landed on both replicas"
    finally:
        proc.send_signal(signal.SIGTERM)  # the command takes its deployment and the Ray runtime it started down
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
