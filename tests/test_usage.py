"""The local usage log: what is written, what survives rotation and failures, and the figures read back."""

from __future__ import annotations

import json
import logging
import threading

import pytest
import typer
from picseek.tools.usage import UsageLog, default_log_path, read_events, usage_stats
from picseek.ui.stats_command import stats
from typer.testing import CliRunner

pytestmark = pytest.mark.unit


class Clock:
    """A hand-set clock: each event is stamped with whatever `now` was set to."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _turn(ulog, clock, ts, session, n, new_search, results, seconds, nothing=False, error=False, message="m"):
    clock.now = ts
    ulog.turn(session, n, message, "offline", new_search, {"subject": "dog"}, results, nothing, None, seconds, error)


def _click(ulog, clock, ts, session, rank):
    clock.now = ts
    ulog.click(session, rank, f"img{rank}")


def _feedback(ulog, clock, ts, session, rank, good):
    clock.now = ts
    ulog.feedback(session, rank, f"img{rank}", good)


def _ids(n):
    return [f"img{i}" for i in range(1, n + 1)]


def write_script(path):
    """Four sessions, written interleaved: A refines then starts over, B refines and errs, C clicks deep, D finds
    nothing."""
    clock = Clock()
    ulog = UsageLog(path, clock=clock)
    _turn(ulog, clock, 1000, "A", 1, True, _ids(10), 0.5, message="x" * 2000)
    _turn(ulog, clock, 2000, "B", 1, True, _ids(3), 0.1)
    _click(ulog, clock, 1003, "A", 2)
    _click(ulog, clock, 1004, "A", 2)  # the same rank of the same turn again: counted once
    _turn(ulog, clock, 1010, "A", 2, False, _ids(5), 1.5)
    _click(ulog, clock, 1012, "A", 1)
    _feedback(ulog, clock, 1013, "A", 1, True)
    _turn(ulog, clock, 1020, "A", 3, True, [], 2.5, nothing=True)
    _click(ulog, clock, 1025, "A", 1)  # belongs to turn 3, which showed nothing: ignored
    _turn(ulog, clock, 2005, "B", 2, False, _ids(3), 3.0, error=True)
    _feedback(ulog, clock, 2006, "B", 3, False)
    _feedback(ulog, clock, 2007, "B", 2, False)
    _click(ulog, clock, 2030, "B", 3)
    _turn(ulog, clock, 3000, "C", 1, True, _ids(10), 0.2)
    _turn(ulog, clock, 3010, "C", 2, True, _ids(10), 0.4)
    _click(ulog, clock, 3012, "C", 7)
    _turn(ulog, clock, 4000, "D", 1, True, [], 0.3, nothing=True)
    ulog.close()


EXPECTED = {
    "sessions": 4,
    "turns": 8,
    "turns_per_session": {"mean": 2.0, "median": 2.0},
    "reformulation_rate": 0.143,  # A1 -> A2 of the 7 turns that did not fail (B2 failed: no refinement)
    "new_search_rate": 0.667,  # A3 and C2 of A2 A3 C2, the turns after a first one that did not fail
    "click_through_by_rank": {
        "1": 0.167,  # A2 of A1 A2 B1 B2 C1 C2
        "2": 0.167,  # A1 (twice, counted once)
        "3": 0.167,  # B2
        "4": 0.0,  # shown by A1 A2 C1 C2
        "5": 0.0,
        "6": 0.0,  # shown by A1 C1 C2
        "7": 0.333,  # C2
        "8": 0.0,
        "9": 0.0,
        "10": 0.0,
    },
    "time_to_first_click_s": {"median": 12.0, "mean": 15.0, "sessions": 3},  # A 3 s, B 30 s, C 12 s
    "nothing_matches_share": 0.25,
    "error_share": 0.125,
    "feedback": {"good": 1, "bad": 2, "balance": 0.333},
    "turn_seconds": {"p50": 0.45, "p95": 2.825},
}


def test_scripted_sessions_give_exact_figures(tmp_path):
    path = tmp_path / "usage.jsonl"
    write_script(path)
    events = read_events(path)
    assert len(events) == 17 and events.skipped == 0
    assert usage_stats(events) == EXPECTED
    assert json.loads(json.dumps(EXPECTED)) == EXPECTED


def test_each_line_is_one_event_with_ts_event_session_and_a_clipped_message(tmp_path):
    path = tmp_path / "usage.jsonl"
    write_script(path)
    first = json.loads(path.read_text().splitlines()[0])
    assert first["ts"] == 1000 and first["event"] == "turn" and first["session"] == "A"
    assert len(first["message"]) == 500
    assert first["state"] == {"subject": "dog"} and first["results"] == _ids(10)


def test_empty_input_gives_zeros_and_nulls():
    figures = usage_stats([])
    assert figures["sessions"] == 0 and figures["turns"] == 0
    assert figures["reformulation_rate"] is None and figures["feedback"] == {"good": 0, "bad": 0, "balance": None}
    assert set(figures["click_through_by_rank"].values()) == {None}
    assert figures["time_to_first_click_s"] == {"median": None, "mean": None, "sessions": 0}


def test_rotation_bounds_size_and_backups_read_back_in_order(tmp_path):
    path = tmp_path / "usage.jsonl"
    ulog = UsageLog(path, max_bytes=2000, backups=2)
    for i in range(300):
        ulog.click("s", i, "img-with-a-reasonably-long-name")
    ulog.close()
    files = sorted(tmp_path.iterdir())
    assert [f.name for f in files] == ["usage.jsonl", "usage.jsonl.1", "usage.jsonl.2"]
    assert all(f.stat().st_size <= 2000 for f in files)
    ranks = [e["rank"] for e in read_events(path)]
    assert 0 < len(ranks) < 300
    assert ranks == list(range(300 - len(ranks), 300))  # the newest events, oldest first, none missing between


def test_disabled_log_creates_nothing(tmp_path):
    path = tmp_path / "deep" / "usage.jsonl"
    ulog = UsageLog(path, enabled=False)
    ulog.turn("s", 1, "a dog", "offline", True, {}, ["a"], False, None, 0.1)
    ulog.click("s", 1, "a")
    ulog.feedback("s", 1, "a", True)
    assert not (tmp_path / "deep").exists()


def test_default_path_is_under_picseek_home(picseek_home):
    assert default_log_path() == picseek_home / "usage" / "usage.jsonl"


@pytest.mark.parametrize("where", ["folder is a file", "log is a folder"])
def test_write_failure_warns_once_turns_off_and_never_raises(tmp_path, caplog, capsys, where):
    blocker = tmp_path / "blocker"
    if where == "folder is a file":  # fails creating the folder
        blocker.write_text("")
        ulog = UsageLog(blocker / "usage.jsonl")
    else:  # fails inside the handler's write
        blocker.mkdir()
        ulog = UsageLog(blocker)
    with caplog.at_level(logging.WARNING, logger="picseek.tools.usage"):
        ulog.click("s", 1, "a")
        ulog.feedback("s", 1, "a", False)
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert not ulog.enabled
    assert "Logging error" not in capsys.readouterr().err  # no traceback from the logging machinery


def test_two_logs_on_different_paths_do_not_share_lines(tmp_path):
    one, two = UsageLog(tmp_path / "one.jsonl"), UsageLog(tmp_path / "two.jsonl")
    one.click("a", 1, "x")
    two.click("b", 2, "y")
    one.close(), two.close()
    assert [e["session"] for e in read_events(tmp_path / "one.jsonl")] == ["a"]
    assert [e["session"] for e in read_events(tmp_path / "two.jsonl")] == ["b"]


def test_corrupt_and_blank_lines_are_skipped_and_counted(tmp_path):
    path = tmp_path / "usage.jsonl"
    ulog = UsageLog(path)
    ulog.click("s", 1, "a")
    ulog.close()
    with path.open("a") as f:
        f.write('{"ts": 5, "event": "cli\n\n[1, 2]\nnot json\n')
    ulog = UsageLog(path)
    ulog.click("s", 2, "b")
    ulog.close()
    events = read_events(path)
    assert [e["rank"] for e in events] == [1, 2]
    assert events.skipped == 3


def test_concurrent_writers_leave_only_whole_lines(tmp_path):
    path = tmp_path / "usage.jsonl"
    ulog = UsageLog(path)

    def writer(t: int) -> None:
        for i in range(100):
            ulog.turn(f"t{t}", i, "y" * 400, "offline", i == 0, {"i": i}, _ids(10), False, None, 0.01)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ulog.close()
    lines = path.read_text().splitlines()
    assert len(lines) == 800
    seen = {(e["session"], e["turn"]) for e in map(json.loads, lines)}
    assert seen == {(f"t{t}", i) for t in range(8) for i in range(100)}


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("stats")(stats)
    return app


def test_stats_command_reports_the_figures_as_json(tmp_path):
    path = tmp_path / "usage.jsonl"
    write_script(path)
    result = CliRunner().invoke(_app(), ["--log", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == EXPECTED


def test_stats_command_prints_a_table(tmp_path):
    path = tmp_path / "usage.jsonl"
    write_script(path)
    result = CliRunner().invoke(_app(), ["--log", str(path)])
    assert result.exit_code == 0, result.output
    assert "reformulation rate" in result.stdout and "25.0%" in result.stdout
    assert "#7 33.3%" in result.stdout


def test_stats_command_without_a_log_exits_0_and_says_how_logging_is_enabled(tmp_path):
    path = tmp_path / "missing.jsonl"
    result = CliRunner().invoke(_app(), ["--log", str(path)])
    assert result.exit_code == 0
    assert str(path) in result.stdout and "--no-log" in result.stdout
    assert len(result.stdout.strip().splitlines()) == 1
    as_json = CliRunner().invoke(_app(), ["--log", str(path), "--json"])
    assert as_json.exit_code == 0
    figures = json.loads(as_json.stdout)
    assert figures["sessions"] == 0 and figures["turns"] == 0
