"""The Gradio app: its API through gradio_client, per-tab isolation under concurrency, and what it serves."""

from __future__ import annotations

import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from picseek.agent.agent import Agent
from picseek.tools.home import home
from picseek.tools.retrieve import Searcher

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def app_url(toy_index, toy_embedder):
    from picseek.ui.server import launch

    gallery, store, *_ = toy_index
    (gallery / ".secret.jpg").write_bytes((gallery / "scene_00000.jpg").read_bytes())
    from tests.test_eval import _caption_from_truth

    _caption_from_truth(gallery, store)  # a captioned index, so the agent can ask
    agent = Agent(Searcher(store, toy_embedder))
    port = free_port()
    launch(agent, "toy", port=port, block=False)
    yield f"http://127.0.0.1:{port}/", gallery
    import gradio as gr

    gr.close_all()


def reply_text(history) -> str:
    content = history[-1]["content"]
    return content if isinstance(content, str) else " ".join(c.get("text", "") for c in content)


def test_chat_api_streams_results_into_the_gallery(app_url):
    from gradio_client import Client

    url, _ = app_url
    c = Client(url, verbose=False)
    history, gallery, *_ = c.predict("a boat", [], 6, 0, api_name="/chat")
    assert "Found 6 images" in reply_text(history) and len(gallery) == 6
    assert gallery[0]["caption"].startswith("#1 ·")
    history, gallery, *_ = c.predict("at night", history, 6, 0, api_name="/chat")
    assert "boat, at night" in reply_text(history)  # the tab's session carried the first turn


def test_twenty_concurrent_sessions_do_not_cross_talk(app_url):
    from gradio_client import Client

    url, _ = app_url
    subjects = ["a boat", "a house", "a tree", "a car", "a ball"]

    def one(i: int) -> tuple[str, str]:
        c = Client(url, verbose=False)
        subject = subjects[i % 5]
        h, _, *_ = c.predict(subject, [], 5, 0, api_name="/chat")
        h, _, *_ = c.predict("only red ones", h, 5, 0, api_name="/chat")
        return subject, reply_text(h)

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(one, range(20)))
    for subject, text in results:
        noun = subject.split()[-1]
        assert f"“red {noun}”" in text, (subject, text)
        others = [s.split()[-1] for s in subjects if s != subject]
        assert not any(f"red {o}”" in text for o in others)


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_only_thumbnails_are_served(app_url, picseek_home):
    from gradio_client import Client

    url, gallery = app_url
    _, shown, *_ = Client(url, verbose=False).predict("a boat", [], 3, 0, api_name="/chat")
    assert shown
    db = next(home().rglob("chroma.sqlite3"))
    (home() / "logs").mkdir(exist_ok=True)
    (home() / "logs" / "picseek.log").write_text("secret")
    refused = [
        gallery / "scene_00000.jpg",
        gallery / ".secret.jpg",
        db,
        home() / "logs" / "picseek.log",
        "/etc/passwd",
        f"{gallery}/../gallery/scene_00000.jpg",
        "../../../../etc/passwd",
        home() / "stores",
    ]
    for p in refused:
        code = get(url + "gradio_api/file=" + urllib.parse.quote(str(p)))
        assert code in (403, 404), (p, code)
    thumbs = [p for p in (home() / "thumbs").rglob("*.jpg")]
    assert thumbs and get(url + "gradio_api/file=" + urllib.parse.quote(str(thumbs[0]))) == 200


def test_search_by_example_api(app_url, tmp_path):
    import shutil

    from gradio_client import Client, handle_file

    url, gallery = app_url
    example = tmp_path / "upload.jpg"
    shutil.copy(gallery / "scene_00003.jpg", example)
    history, shown, *_ = Client(url, verbose=False).predict(
        handle_file(str(example)), [], 4, 0, api_name="/search_by_example"
    )
    assert "like your example image" in reply_text(history) and len(shown) == 4
    assert shown[0]["caption"].startswith("#1 · strong match")  # the same picture comes first


def test_a_question_is_answered_by_the_next_message(app_url):
    """Through the API an answer is simply the next message (in the page, a click on an option sends it)."""
    from gradio_client import Client

    url, _ = app_url
    c = Client(url, verbose=False)
    history, _, *_ = c.predict("a car", [], 6, 0, api_name="/chat")
    asked = reply_text(history)
    offered = re.search(r" — ([^?]+)\?", asked)  # "Which car — red, blue or green?", "What else is in it — a tree, …"
    assert offered, asked  # a captioned index whose candidates differ: a question with options
    option = re.split(r", | or ", offered.group(1))[0].strip()
    history, _, *_ = c.predict(option, history, 6, 0, api_name="/chat")
    searched = re.search(r"for “([^”]+)”", reply_text(history))
    assert searched and option.split()[-1] in searched.group(1) and "car" in searched.group(1), reply_text(history)


def test_an_uploaded_bomb_is_a_sentence_in_the_chat(app_url, tmp_path):
    from gradio_client import Client, handle_file

    from tests.conftest import png_bomb

    url, _ = app_url
    bomb = png_bomb(tmp_path / "bomb.png", 60_000)
    history, _, *_ = Client(url, verbose=False).predict(handle_file(str(bomb)), [], 4, 0, api_name="/search_by_example")
    assert "cannot use example image" in reply_text(history) and "Traceback" not in reply_text(history)


def test_details_table_reads_the_typed_record():
    from picseek.agent.session import ResultRef
    from picseek.tools.records import ImageRecord
    from picseek.ui.app import details_table

    from tests.conftest import image_meta

    meta = image_meta("trips/a.jpg", taken="2019-07-14T18:30:00", date_ts=1563129000, camera_model="<EOS>")
    ref = ResultRef(position=3, id="x", path="/g/trips/a.jpg", match=80, reason="caption has boat")
    page = details_table(ImageRecord("x", meta, caption="a boat"), ref, 3, "/g/trips/a.jpg")
    for cell in ("#3", "strong match, 80/100", "a boat", "2019-07-14 18:30", "640 × 480 px, landscape", "trips"):
        assert f"<td>{cell}</td>" in page, cell
    assert "&lt;EOS&gt;" in page and "(file time)" not in page
    plain = details_table(ImageRecord("y", image_meta("b.jpg")), ref, 1, "/g/b.jpg")
    assert "(file time)" in plain and "<td>(top level)</td>" in plain and "<td>—</td>" in plain
