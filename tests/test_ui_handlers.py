"""The UI's handlers without a browser: what a tampered reload, the filter controls, the min-match slider, a failed
turn, a click on a result and a missing file do to the state the page shows."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from picseek.agent.agent import Agent
from picseek.agent.session import Session
from picseek.tools.retrieve import Searcher
from picseek.tools.usage import UsageLog, read_events

NAMES = "chat gallery box detail upload options saved session selected".split()
NAMES += "f_from f_to f_orientation f_width f_height f_folder f_place".split()


@pytest.fixture
def ui(toy_index, toy_embedder, tmp_path):
    from picseek.ui.app import Handlers

    _, store, _ = toy_index
    agent = Agent(Searcher(store, toy_embedder), usage=UsageLog(tmp_path / "usage.jsonl"))
    return Handlers(agent, SimpleNamespace(**{n: n for n in NAMES})), tmp_path / "usage.jsonl"


def last(gen) -> dict:
    out = {}
    for step in gen:
        out.update(step)
    return out


def test_a_tampered_browser_copy_cannot_point_the_server_at_a_file(ui):
    h, _ = ui
    s = Session()
    s.state.like = ["/etc/hostname", "0123456789abcdef01234567"]
    restored = h.restore(s.save())
    session = Session.load(restored["session"])
    assert session.state.like == ["0123456789abcdef01234567"] and session.id != s.id
    for junk in ("null", "[]", "{", "42", None, 42):
        assert h.restore(junk) == {"session": ""}


def test_filter_controls_keep_what_the_chat_said_and_the_slider_turns_off(ui):
    h, _ = ui
    out = last(h.respond("a boat in jpg files", [], "", 12, 0))
    session = Session.load(out["session"])
    assert session.state.filters.formats == ["JPEG"]
    out = last(h.apply_filters("", "", "square", 0, 0, "", out["chat"], out["session"], 12, 0))
    f = Session.load(out["session"]).state.filters
    assert f.orientation == "square" and f.formats == ["JPEG"] and out["f_orientation"] == "square"
    strict = last(h.respond("at night", out["chat"], out["session"], 12, 95))
    assert Session.load(strict["session"]).state.min_match == 95
    off = last(h.respond("at night", strict["chat"], strict["session"], 12, 0))
    assert Session.load(off["session"]).state.min_match is None and len(off["gallery"]) == 12


def test_a_failed_turn_leaves_the_results_on_screen(ui):
    h, _ = ui
    out = last(h.respond("a boat", [], "", 6, 0))
    failed = last(h.respond("#99 is right", out["chat"], out["session"], 6, 0))
    assert "no result #99" in failed["chat"][-1]["content"]
    assert "gallery" not in failed and Session.load(failed["session"]).results == Session.load(out["session"]).results


def test_a_click_shows_details_logs_its_rank_and_a_missing_file_keeps_its_tile(ui, toy_index):
    h, log = ui
    gallery, _, _ = toy_index
    out = last(h.respond("a boat", [], "", 6, 0))
    session = Session.load(out["session"])
    (gallery / session.results[0].path.rsplit("/", 1)[-1]).unlink()  # the first result's file is gone
    import shutil

    from picseek.tools.home import home

    shutil.rmtree(home() / "thumbs", ignore_errors=True)
    again = last(h.respond("a boat", out["chat"], out["session"], 6, 0))
    assert len(again["gallery"]) == 6 and again["gallery"][0][1] == "#1 · file unavailable"
    picked = h.select(again["session"], SimpleNamespace(index=2))
    assert picked["selected"] == 2 and "#3" in picked["detail"]
    clicks = [e for e in read_events(log) if e["event"] == "click"]
    assert clicks[-1]["rank"] == 3 and clicks[-1]["image_id"] == Session.load(again["session"]).results[2].id


def test_a_reload_keeps_every_tile_in_its_place_when_a_result_left_the_index(ui, toy_index):
    h, _ = ui
    _, store, _ = toy_index
    out = last(h.respond("a boat", [], "", 6, 0))
    store.delete([Session.load(out["session"]).results[1].id])  # the second result was removed meanwhile
    restored = h.restore(out["saved"])
    labels = [label for _, label in restored["gallery"]]
    assert len(labels) == 6 and labels[1] == "#2 · file unavailable" and labels[2].startswith("#3 · ")


@pytest.mark.unit
def test_details_escape_what_the_file_says():
    from picseek.agent.session import ResultRef
    from picseek.tools.records import ImageRecord
    from picseek.ui.app import details_table

    from tests.conftest import image_meta

    meta = image_meta("sub/<script>x</script>.jpg", camera_make="<b>Evil</b>")
    ref = ResultRef(position=1, id="a" * 24, path="/g/x.jpg", caption="<img src=x>", match=80, reason="<i>")
    html = details_table(ImageRecord("a" * 24, meta, "<img src=x onerror=alert(1)>", None), ref, 1, "/g/<x>.jpg")
    assert "<script>" not in html and "<img" not in html and "<b>" not in html and "&lt;script&gt;" in html


def test_a_tampered_browser_copy_keeps_no_path_in_results_history_or_query(ui, tmp_path):
    from picseek.agent.session import ResultRef
    from picseek.agent.state import SearchState
    from picseek.tools.retrieve import ImageQuery

    h, _ = ui
    outside, good = str(tmp_path / "secret.jpg"), "0123456789abcdef01234567"
    s = Session()
    s.state.like = [outside]
    s.history = [SearchState(like=[outside, good], unlike=[outside])]
    s.query = ImageQuery(text="a car", like=[outside])
    s.results = [ResultRef(position=1, id=outside, path="x"), ResultRef(position=2, id=good, path="y")]
    session = Session.load(h.restore(s.save())["session"])
    assert outside not in session.save() and session.query is None
    assert session.history[0].like == [good] and [r.id for r in session.results] == [good]
    assert h.restore("{not json")["session"] == ""
