"""A login before the network: `picseek ui` off loopback refuses to start without one, and with one every route
that carries the gallery (the page's config, its API, uploads, thumbnails, the queue) refuses an anonymous
request."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
from picseek.agent.agent import Agent
from picseek.tools.retrieve import Searcher
from picseek.tools.thumbs import thumbs_dir
from picseek.ui.auth import LoginRequired, login_for

from tests.test_ui import free_port

LOGIN = ("ann", "s3cret:with colon")


@pytest.mark.unit
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_needs_no_login(host, monkeypatch):
    monkeypatch.delenv("PICSEEK_UI_AUTH", raising=False)
    assert login_for(host) is None


@pytest.mark.unit
@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "my-laptop.local", ""])
def test_any_other_address_needs_one(host, monkeypatch):
    monkeypatch.delenv("PICSEEK_UI_AUTH", raising=False)
    with pytest.raises(LoginRequired, match="without a login.*--auth USER:PASSWORD"):
        login_for(host)


@pytest.mark.unit
def test_where_a_login_comes_from(monkeypatch, tmp_path):
    monkeypatch.delenv("PICSEEK_UI_AUTH", raising=False)
    assert login_for("0.0.0.0", "ann:pw:with:colons") == ("ann", "pw:with:colons")
    f = tmp_path / "login"
    f.write_text("\n  bob:pw2\n")
    assert login_for("0.0.0.0", auth_file=f) == ("bob", "pw2")
    monkeypatch.setenv("PICSEEK_UI_AUTH", "cy:pw3")
    assert login_for("0.0.0.0") == ("cy", "pw3")
    assert login_for("0.0.0.0", "ann:pw") == ("ann", "pw")  # the option wins over the environment
    for bad in ("ann", "ann:", ":pw"):
        with pytest.raises(LoginRequired, match="USER:PASSWORD"):
            login_for("0.0.0.0", bad)
    with pytest.raises(LoginRequired, match="cannot read --auth-file"):
        login_for("0.0.0.0", auth_file=tmp_path / "missing")


@pytest.mark.e2e
def test_ui_on_every_interface_without_a_login_exits_2(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PICSEEK_HOME": str(tmp_path)}
    p = subprocess.run(
        [sys.executable, "-m", "picseek.ui.cli", "ui", "--host", "0.0.0.0", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "PYTHONPATH": ":".join(sys.path)},
    )
    assert p.returncode == 2, p.stderr
    assert "refusing to serve your pictures on 0.0.0.0 without a login" in p.stderr and "Traceback" not in p.stderr


@pytest.fixture
def locked_app(toy_index, toy_embedder):
    from picseek.ui.server import launch

    gallery, store, *_ = toy_index
    thumbs = thumbs_dir(gallery)
    thumbs.mkdir(parents=True, exist_ok=True)
    thumb = thumbs / "t.jpg"
    thumb.write_bytes((gallery / "scene_00000.jpg").read_bytes())
    port = free_port()
    launch(Agent(Searcher(store, toy_embedder)), "toy", port=port, block=False, auth=LOGIN)
    yield f"http://127.0.0.1:{port}", gallery, thumb
    import gradio as gr

    gr.close_all()


def test_every_route_refuses_an_anonymous_request(locked_app):
    url, gallery, thumb = locked_app
    routes = [
        ("GET", "/config"),
        ("GET", "/gradio_api/info"),
        ("GET", "/gradio_api/info?all_endpoints=true"),
        ("GET", "/gradio_api/openapi.json"),
        ("POST", "/gradio_api/queue/join"),
        ("GET", "/gradio_api/queue/data?session_hash=abc"),
        ("GET", "/gradio_api/queue/status"),
        ("POST", "/gradio_api/call/respond"),
        ("POST", "/gradio_api/run/predict"),
        ("POST", "/gradio_api/upload"),
        ("GET", "/gradio_api/upload_progress?upload_id=abc"),
        ("GET", f"/gradio_api/file={thumb}"),
        ("GET", f"/gradio_api/file={gallery / 'scene_00000.jpg'}"),
        ("GET", "/monitoring"),
    ]
    for method, route in routes:
        with httpx.stream(method, url + route, timeout=10, follow_redirects=False) as r:
            assert r.status_code in (401, 403) or (300 <= r.status_code < 400), (route, r.status_code)
    # the page itself is Gradio's login form: no configuration, no file names, no components of the app
    page = httpx.get(url + "/", timeout=10).text
    assert "auth_required" in page and "scene_" not in page and "Search by example" not in page
    # with the login, the same routes answer
    with httpx.Client(base_url=url, timeout=10) as c:
        assert c.post("/login", data={"username": LOGIN[0], "password": "wrong"}).status_code == 400
        assert c.get("/config").status_code == 401
        assert c.post("/login", data={"username": LOGIN[0], "password": LOGIN[1]}).json() == {"success": True}
        assert c.get("/config").status_code == 200 and c.get("/gradio_api/info").status_code == 200
        got = c.get(f"/gradio_api/file={thumb}")
        assert got.status_code == 200 and got.content == thumb.read_bytes()


def test_a_logged_in_client_searches(locked_app):
    from gradio_client import Client

    url, *_ = locked_app
    with pytest.raises(ValueError, match="(?i)auth|login|credentials"):
        Client(url + "/", verbose=False)
    client = Client(url + "/", auth=LOGIN, verbose=False)
    history = client.predict("a boat", [], 6, 0, api_name="/chat")[0]
    assert "boat" in str(history[-1]["content"]).lower()


def test_the_queue_is_bounded(toy_index, toy_embedder):
    """Past `queue_size` waiting turns a client is told the queue is full instead of waiting without end."""
    from concurrent.futures import ThreadPoolExecutor

    import gradio as gr
    from gradio_client import Client
    from picseek.ui.server import launch

    _, store, _ = toy_index
    port = free_port()
    launch(Agent(Searcher(store, toy_embedder)), "toy", port=port, block=False, queue_size=1)
    url = f"http://127.0.0.1:{port}/"

    clients = [Client(url, verbose=False) for _ in range(8)]  # connected first: only the turns are concurrent

    def one(i: int) -> str:
        try:
            clients[i].predict(f"a boat number {i}", [], 5, 0, api_name="/chat")
            return "ok"
        except Exception as e:  # gradio_client raises with the server's reason
            return str(e)

    try:
        with ThreadPoolExecutor(8) as pool:
            outcomes = list(pool.map(one, range(8)))
    finally:
        gr.close_all()
    refused = [o for o in outcomes if o != "ok"]
    assert "ok" in outcomes and refused, outcomes
    assert all("queue is full" in o.lower() for o in refused), refused
