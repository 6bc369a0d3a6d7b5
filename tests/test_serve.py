"""`picseek serve`: the JSON API gives the agent's turns and saves them, refuses bad input in one sentence, keeps
keys and limits, and a server killed with SIGKILL loses no finished turn; `ask --server` prints what `ask` prints."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.conftest import PICSEEK, picseek_cli
from tests.test_ui import free_port

KEY = "k" * 8 + "-serve-test-key-1"


def _client(agent, tmp_path, **cfg):
    from fastapi.testclient import TestClient
    from picseek.ui.serve import ServeConfig
    from picseek.ui.serve_app import create_app

    app = create_app(agent, ServeConfig(sessions=tmp_path / "sessions", **cfg))
    return TestClient(app)


def _ready(c, timeout=180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if c.get("/readyz").status_code == 200:
            return
        time.sleep(0.2)
    pytest.fail("the server never became ready")


@pytest.fixture
def agent(toy_index, toy_embedder):
    """The agent over the captioned toy index (a turn that captions its candidates itself returns them with the
    metadata read before, so an uncaptioned index would make two runs of one conversation differ)."""
    from picseek.ui.options import AgentArgs
    from picseek.ui.wiring import caption_pass, make_agent

    gallery, store, _ = toy_index
    caption_pass(store, toy_embedder, None, "stale")
    return make_agent(AgentArgs(gallery, "toy", offline=True, no_log=True))


def test_turns_through_the_api_are_the_agents_turns_and_each_is_saved(agent, tmp_path):
    from picseek.agent.session import Session

    messages = ["a red car", "only at night", "without boats"]
    with _client(agent, tmp_path) as c:
        _ready(c)
        sid = c.post("/v1/sessions").json()["id"]
        local = Session()
        for m in messages:
            r = c.post(f"/v1/sessions/{sid}/turns", json={"message": m})
            assert r.status_code == 200, r.text
            want = agent.turn(local, m)
            local = want.session
            assert r.json() == json.loads(json.dumps(want.to_json(), default=str))
            saved = Session.load((tmp_path / "sessions" / f"{sid}.json").read_text())
            assert [x.content for x in saved.messages][-2] == m  # on disk once the answer is out
            assert c.get(f"/v1/sessions/{sid}").json() == json.loads(saved.save())
        first = r.json()["hits"][0]["id"]
        fb = c.post(f"/v1/sessions/{sid}/feedback", json={"result": 1, "verdict": "right"})
        assert fb.status_code == 200 and first in fb.json()["state"]["like"]  # '#1 is right', as the UI's button
        thumb = c.get(f"/v1/images/{first}/thumbnail")
        assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"
        metrics = c.get("/metrics").text
        assert "picseek_turn_seconds_count 4.0" in metrics and "picseek_sessions 1.0" in metrics
        assert "picseek_index_images 120.0" in metrics
        assert c.delete(f"/v1/sessions/{sid}").status_code == 204
        assert c.get(f"/v1/sessions/{sid}").status_code == 404


def test_bad_input_gets_one_sentence_and_reads_no_file_outside_the_index(agent, tmp_path, toy_index):
    gallery = toy_index[0]
    with _client(agent, tmp_path, max_body=2**20) as c:
        _ready(c)
        sid = c.post("/v1/sessions").json()["id"]

        def error(r, status):
            assert r.status_code == status, r.text
            text = r.json()["error"]
            assert text.endswith(".") and "\n" not in text and "Traceback" not in text
            return text

        assert "no session" in error(c.post("/v1/sessions/0123456789abcdef/turns", json={"message": "x"}), 404)
        assert "no such" in error(c.get("/v1/sessions/..%2F..%2Fetc%2Fpasswd"), 404)
        assert "message" in error(c.post(f"/v1/sessions/{sid}/turns", json={"message": ""}), 422)
        bad = c.post("/v1/search", json={"text": "car", "filters": {"orientation": "diagonal"}})
        assert "orientation" in error(bad, 422)
        assert "not an image id" in error(c.post("/v1/search", json={"like": ["/etc/passwd"]}), 422)
        junk = base64.b64encode(b"not an image at all").decode()
        assert "cannot use example image" in error(c.post("/v1/search", json={"upload": junk}), 400)
        assert "not base64" in error(c.post("/v1/search", json={"upload": "@@@"}), 422)
        huge = {"text": "car", "upload": "A" * (2**20 + 10)}
        assert "larger than" in error(c.post("/v1/search", json=huge), 413)
        assert "no indexed image" in error(c.get("/v1/images/0123456789abcdef01234567/thumbnail"), 404)
        assert "no indexed image" in error(c.get("/v1/images/scene_00001.jpg/thumbnail"), 404)
        # a saved session sent back by a client keeps index ids only, never a file path the server would read
        outside = str(gallery / "scene_00001.jpg")
        ok_id = c.post("/v1/search", json={"text": "a car", "k": 1}).json()[0]["id"]
        restored = c.post("/v1/sessions", json={"session": {"state": {"like": [outside, ok_id]}}})
        assert restored.status_code == 201
        state = c.get(f"/v1/sessions/{restored.json()['id']}").json()["state"]
        assert state["like"] == [ok_id]
        # the same upload, as a real image, is decoded and searched by
        img = base64.b64encode((gallery / "scene_00001.jpg").read_bytes()).decode()
        hits = c.post("/v1/search", json={"upload": img, "k": 3})
        assert hits.status_code == 200 and hits.json()[0]["path"].endswith("scene_00001.jpg")


class _FakeStore:
    def count(self):
        return 3

    def iter_metadata(self, page=5000):
        return iter(())


class _FakeAgent:
    """Enough of an agent for the routes that do not search: access is decided before any route runs."""

    def __init__(self, root: Path):
        self.usage, self.captioner = None, None
        self.searcher = SimpleNamespace(root=root, store=_FakeStore(), count=lambda: 3)

    def turn(self, session, message, examples=None, **settings):
        from picseek.agent.agent import TurnResult

        return TurnResult("ok", "fake", None, [], session)


@pytest.mark.unit
def test_keys_limits_and_the_loopback_rule(tmp_path):
    from picseek.ui.serve import Access, AccessDenied, is_loopback, read_keys

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("::") and not is_loopback("10.1.2.3")
    with pytest.raises(AccessDenied, match="API keys"):
        Access.for_host("0.0.0.0", [])
    assert Access.for_host("127.0.0.1", []).open
    (tmp_path / "keys").write_text(f"# team keys\n{KEY}\n\n")
    assert read_keys(tmp_path / "keys", env="") == [KEY]
    with pytest.raises(Exception, match="shorter than 16"):
        read_keys(None, env="short")

    with _client(_FakeAgent(tmp_path), tmp_path, keys=[KEY], per_minute=3) as c:
        assert c.get("/healthz").status_code == 200  # the one open route
        for route in ("/readyz", "/metrics", "/docs", "/openapi.json", "/v1/sessions/0123456789abcdef"):
            r = c.get(route)
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", route
        assert c.get("/readyz", headers={"Authorization": "Bearer " + KEY[:-1] + "2"}).status_code == 401
        auth = {"Authorization": f"Bearer {KEY}"}
        assert [c.get("/metrics", headers=auth).status_code for _ in range(3)] == [200, 200, 200]
        over = c.get("/metrics", headers={"X-API-Key": KEY})
        assert over.status_code == 429 and int(over.headers["retry-after"]) >= 1
        assert "limit" in over.json()["error"]


@pytest.mark.e2e
def test_a_server_beyond_loopback_without_keys_refuses_to_start():
    p = picseek_cli("serve", "--host", "0.0.0.0", "--dir", ".", "--model", "toy", check=False)
    assert p.returncode == 2 and "needs API keys" in p.stderr and "Traceback" not in p.stderr


def _post(url: str, body: dict, timeout=120) -> dict:
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read() or b"null")


def _start(gallery: Path, sessions: Path, port: int) -> subprocess.Popen:
    cmd = [PICSEEK, "serve", "--dir", str(gallery), "--model", "toy", "--offline", "--no-log"]
    cmd += ["--port", str(port), "--sessions", str(sessions)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5):
                return proc
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"picseek serve exited: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    pytest.fail("picseek serve did not become ready")


@pytest.mark.e2e
def test_ask_server_prints_what_ask_prints_and_kill_9_loses_no_finished_turn(toy_index, toy_embedder, tmp_path):
    from picseek.agent.session import Session
    from picseek.ui.wiring import caption_pass

    gallery, store, _ = toy_index
    # captioned up front: the server's background caption worker would otherwise change captions between the two
    caption_pass(store, toy_embedder, None, "stale")
    port, sessions = free_port(), tmp_path / "sessions"
    proc = _start(gallery, sessions, port)
    url = f"http://127.0.0.1:{port}"
    try:
        turns = ["a red car", "only at night"]
        local = picseek_cli("ask", *turns, "--dir", str(gallery), "--model", "toy", "--offline", "--json")
        remote = picseek_cli("ask", *turns, "--server", url, "--json", "--session", str(tmp_path / "s.json"))
        assert json.loads(remote.stdout) == json.loads(local.stdout)
        assert len(Session.load((tmp_path / "s.json").read_text()).messages) == 4
        picseek_cli("ask", "without boats", "--server", url, "--session", str(tmp_path / "s.json"))
        again = Session.load((tmp_path / "s.json").read_text())
        assert len(again.messages) == 6 and len(list(sessions.glob("*.json"))) == 1  # the same server session

        # the evals' --server: the agent system's turns, answered by the server, rank what the agent ranks here
        from picseek.evals.runner import AgentSystem
        from picseek.ui.options import AgentArgs
        from picseek.ui.serve_client import RemoteAgent, ServerClient
        from picseek.ui.wiring import make_agent

        here = AgentSystem(make_agent(AgentArgs(gallery, "toy", offline=True, no_log=True)))
        there = AgentSystem(RemoteAgent(ServerClient(url)))
        for m in ["a boat", "only red ones", "more like #2"]:
            # the top 20 of the 100 the eval ranks: below that, a rank among near-equal scores has differed once
            # between two processes (rank 36 of 100 on a 120-image gallery), which this test does not pin down
            assert there.turn(m)[:20] == here.turn(m)[:20]
        there.reset()
        assert there.turn("a tree")  # a new dialogue is a new server session

        # turns keep coming from 4 clients while the server is killed: every answered turn must be on disk after
        done: dict[str, int] = {}
        ids = [_post(url + "/v1/sessions", {})["id"] for _ in range(4)]
        stop = threading.Event()

        def talk(sid):
            for i in range(50):
                if stop.is_set():
                    return
                try:
                    _post(f"{url}/v1/sessions/{sid}/turns", {"message": ["a boat", "only red ones"][i % 2]})
                except OSError:
                    return
                done[sid] = i + 1

        threads = [threading.Thread(target=talk, args=(s,)) for s in ids]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while sum(done.values()) < 8 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        stop.set()
        for t in threads:
            t.join(timeout=130)
        assert sum(done.values()) >= 8
        proc = _start(gallery, sessions, port)
        for sid in ids:
            with urllib.request.urlopen(f"{url}/v1/sessions/{sid}", timeout=30) as r:
                saved = Session.load(r.read().decode())
            assert len(saved.messages) // 2 >= done.get(sid, 0)  # every turn a client saw answered is there
            assert _post(f"{url}/v1/sessions/{sid}/turns", {"message": "a tree"})["hits"]  # and it goes on
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.mark.unit
def test_from_client_keeps_index_ids_only():
    from picseek.agent.session import IMAGE_ID, Session
    from picseek.tools.store import image_id

    good, outside = image_id("scene_00001.jpg"), "/etc/hostname"
    assert IMAGE_ID.fullmatch(good) and not IMAGE_ID.fullmatch(outside) and not IMAGE_ID.fullmatch(good + "0")
    sent = {
        "id": "0123456789abcdef",
        "messages": [{"role": "user", "content": "a car"}],
        "state": {"like": [outside, good], "unlike": ["../x.jpg", good]},
        "history": [{"like": [outside]}, {"unlike": [good, "C:\\x.jpg"]}],
        "query": {"text": "a car", "like": [outside]},
        "results": [
            {"position": 1, "id": outside, "path": "x"},
            {"position": 2, "id": good, "path": "scene_00001.jpg"},
        ],
    }
    for data in (sent, json.dumps(sent)):
        s = Session.from_client(data)
        assert s.state.like == [good] and s.state.unlike == [good]
        assert [h.like for h in s.history] == [[], []] and [h.unlike for h in s.history] == [[], [good]]
        assert [r.id for r in s.results] == [good] and s.query is None
        assert s.id != sent["id"] and [m.content for m in s.messages] == ["a car"]
        assert s.resolve("#2") == good
        with pytest.raises(Exception, match="no result #1"):
            s.resolve("#1")
    with pytest.raises(ValueError):
        Session.from_client({"results": "not a list"})


def test_a_saved_session_cannot_make_a_turn_read_a_file_outside_the_gallery(agent, tmp_path, toy_index, monkeypatch):
    gallery = toy_index[0]
    outside = tmp_path / "elsewhere" / "secret.jpg"  # a real, decodable image the server must never read
    outside.parent.mkdir()
    outside.write_bytes((gallery / "scene_00001.jpg").read_bytes())

    def never(paths):
        raise AssertionError(f"the server decoded a client's file: {paths}")

    monkeypatch.setattr(agent.searcher, "_decode_examples", never)
    with _client(agent, tmp_path) as c:
        _ready(c)
        ok_id = c.post("/v1/search", json={"text": "a car", "k": 1}).json()[0]["id"]
        saved = {
            "state": {"phrases": ["a car"], "like": [str(outside)]},
            "history": [{"phrases": ["a boat"], "like": [str(outside), ok_id]}],
            "query": {"text": "a car", "like": [str(outside)]},
            "results": [
                {"position": 1, "id": str(outside), "path": "x"},
                {"position": 2, "id": ok_id, "path": "scene.jpg"},
            ],
        }
        r = c.post("/v1/sessions", json={"session": saved})
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        kept = c.get(f"/v1/sessions/{sid}").json()
        assert str(outside) not in json.dumps(kept) and kept["query"] is None
        assert [x["id"] for x in kept["results"]] == [ok_id] and kept["history"][0]["like"] == [ok_id]
        for how in (
            lambda: c.post(f"/v1/sessions/{sid}/turns", json={"message": "more like #1"}),
            lambda: c.post(f"/v1/sessions/{sid}/feedback", json={"result": 1, "verdict": "right"}),
            lambda: c.post(f"/v1/sessions/{sid}/turns", json={"message": "undo"}),
            lambda: c.post(f"/v1/sessions/{sid}/turns", json={"message": "more like these"}),
        ):
            r = how()
            assert r.status_code in (200, 400), r.text
            assert "Traceback" not in r.text and "AssertionError" not in r.text and str(outside) not in r.text
            if r.status_code == 200:
                assert str(outside) not in json.dumps(r.json()["state"])
                assert not r.json().get("error") or "decoded a client" not in str(r.json()["error"])
        assert str(outside) not in c.get(f"/v1/sessions/{sid}").text


@pytest.mark.unit
def test_no_lock_file_for_an_unknown_session_and_delete_waits_for_a_turn(tmp_path):
    from picseek.ui.serve import SessionStore

    with _client(_FakeAgent(tmp_path), tmp_path) as c:
        _ready(c)
        for i in range(3):
            unknown = f"{i:032x}"
            assert c.post(f"/v1/sessions/{unknown}/turns", json={"message": "x"}).status_code == 404
            assert c.post(f"/v1/sessions/{unknown}/feedback", json={"result": 1, "verdict": "right"}).status_code == 404
            assert c.delete(f"/v1/sessions/{unknown}").status_code == 404
        folder = tmp_path / "sessions"
        assert not list(folder.glob(".*.lock"))

        sid = c.post("/v1/sessions").json()["id"]
        done = {}
        with SessionStore(folder).locked(sid):  # a turn in flight holds the session's lock
            t = threading.Thread(target=lambda: done.setdefault("status", c.delete(f"/v1/sessions/{sid}").status_code))
            t.start()
            t.join(0.5)
            assert t.is_alive() and (folder / f"{sid}.json").exists()  # the delete waits for the turn to save
        t.join(30)
        assert done["status"] == 204 and not (folder / f"{sid}.json").exists()
        assert c.post(f"/v1/sessions/{sid}/turns", json={"message": "x"}).status_code == 404
        assert not list(folder.glob("*"))


@pytest.mark.unit
def test_v1_answers_503_until_the_warm_up_is_done_and_the_agent_keeps_its_fields(tmp_path):
    from picseek.ui.serve_app import LOADING

    release, seen = threading.Event(), []

    class Slow(_FakeAgent):
        def turn(self, session, message, examples=None, **settings):
            seen.append((self.usage, self.caption_worker))
            release.wait(30)
            return super().turn(session, message, examples, **settings)

    agent = Slow(tmp_path)
    agent.usage, agent.caption_worker = usage, worker = object(), object()
    with _client(agent, tmp_path) as c:
        deadline = time.monotonic() + 30
        while not seen and time.monotonic() < deadline:
            time.sleep(0.02)
        assert seen == [(None, None)]  # the warm-up turn logs nothing and captions nothing ...
        assert agent.usage is usage and agent.caption_worker is worker  # ... without blanking the shared agent's
        assert c.get("/healthz").status_code == 200 and c.get("/readyz").status_code == 503
        for r in (c.post("/v1/sessions"), c.post("/v1/search", json={"text": "a car"})):
            assert r.status_code == 503 and r.json() == {"error": LOADING} and r.headers["retry-after"]
        release.set()
        _ready(c, timeout=30)
        assert c.post("/v1/sessions").status_code == 201
