"""The local usage log: one JSON line per search turn, click and feedback, and the figures read back from it.

Nothing leaves the machine. The log is size-rotated by the standard library's `RotatingFileHandler`
(`usage.jsonl`, `usage.jsonl.1` … `usage.jsonl.N`, where `.1` is the newest backup).
"""

from __future__ import annotations

import json
import logging
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterable
from logging.handlers import RotatingFileHandler
from pathlib import Path

from picseek.tools.home import home

log = logging.getLogger(__name__)

MAX_TEXT = 500  # characters of a message or question kept in the log
MAX_RANK = 10  # click-through is reported for ranks 1..MAX_RANK


def default_log_path() -> Path:
    """`$PICSEEK_HOME/usage/usage.jsonl`."""
    return home() / "usage" / "usage.jsonl"


class _Handler(RotatingFileHandler):
    """A rotating handler that remembers why a write failed instead of printing a traceback to stderr."""

    failure: BaseException | None = None

    def handleError(self, record: logging.LogRecord) -> None:
        self.failure = sys.exc_info()[1]


class UsageLog:
    """Appends usage events as JSON lines; thread-safe, and never raises into the caller.

    A write that fails with an OSError is logged once as a warning and turns the log off.
    `enabled=False` writes nothing and creates no file or folder. `clock` (seconds) is injectable for tests.
    """

    def __init__(
        self,
        path: Path | None = None,
        enabled: bool = True,
        max_bytes: int = 5_000_000,
        backups: int = 3,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path) if path is not None else default_log_path()
        self.enabled = enabled
        self._clock = clock
        self._lock = threading.Lock()
        self._handler: _Handler | None = None
        self._max_bytes, self._backups = max_bytes, backups
        # A Logger made directly (not through getLogger) is private to this instance: no shared handlers.
        self._logger = logging.Logger(f"picseek.usage:{self.path}", logging.INFO)
        self._logger.propagate = False

    def turn(
        self,
        session: str,
        turn: int,
        message: str,
        planner: str,
        new_search: bool,
        state: dict,
        results: list[str],
        nothing: bool,
        question: str | None,
        seconds: float,
        error: bool = False,
    ) -> None:
        """One search turn: what the user said, what the agent did and what it showed (result ids, best first)."""
        self._write(
            "turn",
            session,
            turn=turn,
            message=_clip(message),
            planner=planner,
            new_search=new_search,
            state=state,
            results=list(results),
            nothing=nothing,
            question=_clip(question),
            seconds=round(seconds, 4),
            error=error,
        )

    def click(self, session: str, rank: int, image_id: str) -> None:
        """The user opened or selected the result shown at `rank` (1-based)."""
        self._write("click", session, rank=rank, image_id=image_id)

    def feedback(self, session: str, rank: int, image_id: str, good: bool) -> None:
        """Thumbs up or down on the result at `rank` ("#3 is right" / "not #3")."""
        self._write("feedback", session, rank=rank, image_id=image_id, good=good)

    def close(self) -> None:
        """Close the file; a later event opens it again."""
        with self._lock:
            self._drop_handler()

    def _write(self, event: str, session: str, **fields) -> None:
        if not self.enabled:
            return
        try:
            line = json.dumps({"ts": self._clock(), "event": event, "session": session, **fields}, default=str)
        except (TypeError, ValueError) as e:
            log.warning("usage log: could not encode a %s event, skipped: %s", event, e)
            return
        with self._lock:
            if self.enabled:
                self._emit(line)

    def _emit(self, line: str) -> None:
        """Write one line under the lock; on an OSError, warn once and turn the log off."""
        try:
            if self._handler is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._handler = _Handler(self.path, maxBytes=self._max_bytes, backupCount=self._backups, delay=True)
                self._handler.setFormatter(logging.Formatter("%(message)s"))
                self._logger.addHandler(self._handler)
            self._logger.info(line)
            failure = self._handler.failure
        except OSError as e:
            failure = e
        if failure is not None:
            log.warning("usage log %s turned off after a failed write: %s", self.path, failure)
            self.enabled = False
            self._drop_handler()

    def _drop_handler(self) -> None:
        if self._handler is not None:
            self._logger.removeHandler(self._handler)
            self._handler.close()
            self._handler = None


def _clip(text: str | None) -> str | None:
    return text[:MAX_TEXT] if text is not None else None


class Events(list[dict]):
    """The events read from a log, oldest first; `skipped` counts corrupt lines (blank lines are not counted)."""

    skipped: int = 0


def log_files(path: Path) -> list[Path]:
    """The log and its rotated backups that exist, oldest first (`path.N` … `path.1`, then `path`)."""
    backups = [p for p in path.parent.glob(path.name + ".*") if p.suffix[1:].isdigit()]
    backups.sort(key=lambda p: int(p.suffix[1:]), reverse=True)
    return [p for p in [*backups, path] if p.is_file()]


def read_events(path: Path) -> Events:
    """Every event in the log and its backups, oldest file first; corrupt lines are skipped and counted."""
    events = Events()
    for file in log_files(Path(path)):
        try:
            text = file.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:  # rotated away between listing and reading
            continue
        for line in text.splitlines():
            if not line.strip():
                continue
            event = _parse(line)
            if event is None:
                events.skipped += 1
            else:
                events.append(event)
    return events


def _parse(line: str) -> dict | None:
    try:
        event = json.loads(line)
    except json.JSONDecodeError:
        return None
    ok = isinstance(event, dict) and isinstance(event.get("event"), str) and isinstance(event.get("ts"), int | float)
    return event if ok else None


def usage_stats(events: Iterable[dict]) -> dict:
    """Search-quality figures over sessions; rates are null where nothing was there to measure.

    `click_through_by_rank` has string keys "1".."10" so the dict survives a JSON round trip unchanged.
    """
    sessions = _by_session(events)
    turns = [e for evs in sessions.values() for e in evs if e["event"] == "turn"]
    per_session = [n for n in (sum(e["event"] == "turn" for e in evs) for evs in sessions.values()) if n]
    feedback = [bool(e.get("good")) for evs in sessions.values() for e in evs if e["event"] == "feedback"]
    good, bad = sum(feedback), len(feedback) - sum(feedback)
    seconds = sorted(float(e.get("seconds") or 0.0) for e in turns)
    firsts = [t for t in (_time_to_first_click(evs) for evs in sessions.values()) if t is not None]
    return {
        "sessions": len(per_session),
        "turns": len(turns),
        "turns_per_session": {"mean": _mean(per_session), "median": _median(per_session)},
        "reformulation_rate": _rate(*_reformulations(sessions.values())),
        "new_search_rate": _rate(*_new_searches(sessions.values())),
        "click_through_by_rank": _click_through(sessions.values()),
        "time_to_first_click_s": {"median": _median(firsts), "mean": _mean(firsts), "sessions": len(firsts)},
        "nothing_matches_share": _rate(sum(bool(e.get("nothing")) for e in turns), len(turns)),
        "error_share": _rate(sum(bool(e.get("error")) for e in turns), len(turns)),
        "feedback": {"good": good, "bad": bad, "balance": _rate(good, good + bad)},
        "turn_seconds": {"p50": _percentile(seconds, 0.50), "p95": _percentile(seconds, 0.95)},
    }


def _by_session(events: Iterable[dict]) -> dict[str, list[dict]]:
    """Events grouped by session, each group in time order (ties keep the order they were written in)."""
    sessions: dict[str, list[dict]] = {}
    for e in events:
        sessions.setdefault(str(e.get("session")), []).append(e)
    return {s: sorted(evs, key=lambda e: e.get("ts") or 0.0) for s, evs in sessions.items()}


def _reformulations(sessions: Iterable[list[dict]]) -> tuple[int, int]:
    """(turns followed in their session by a turn that refines the same search, all turns); a failed turn changed
    nothing, so it is neither a refinement nor a search of its own."""
    hits = total = 0
    for evs in sessions:
        turns = _searches(evs)
        hits += sum(not nxt.get("new_search") for nxt in turns[1:])
        total += len(turns)
    return hits, total


def _searches(events: list[dict]) -> list[dict]:
    return [e for e in events if e["event"] == "turn" and not e.get("error")]


def _new_searches(sessions: Iterable[list[dict]]) -> tuple[int, int]:
    """(turns after a session's first that start a new search, turns after a session's first)."""
    later = [e for evs in sessions for e in _searches(evs)[1:]]
    return sum(bool(e.get("new_search")) for e in later), len(later)


def _click_through(sessions: Iterable[list[dict]]) -> dict[str, float | None]:
    """Per rank: turns whose results were clicked at that rank / turns that showed that rank.

    A click belongs to the latest turn before it in its session; several clicks on one rank of one turn count
    once, and a click on a rank that turn did not show (or with no turn before it) is ignored.
    """
    shown = [0] * (MAX_RANK + 1)
    clicked = [0] * (MAX_RANK + 1)
    for evs in sessions:
        current, ranks = None, set()
        for e in evs:
            if e["event"] == "turn":
                _count_turn(current, ranks, shown, clicked)
                current, ranks = e, set()
            elif e["event"] == "click" and current is not None and isinstance(e.get("rank"), int):
                ranks.add(e["rank"])
        _count_turn(current, ranks, shown, clicked)
    return {str(r): _rate(clicked[r], shown[r]) for r in range(1, MAX_RANK + 1)}


def _count_turn(turn: dict | None, ranks: set[int], shown: list[int], clicked: list[int]) -> None:
    if turn is None:
        return
    n = min(len(turn.get("results") or []), MAX_RANK)
    for r in range(1, n + 1):
        shown[r] += 1
        clicked[r] += r in ranks


def _time_to_first_click(evs: list[dict]) -> float | None:
    """Seconds from the session's first turn to its first click after it, or None without one."""
    first_turn = next((e["ts"] for e in evs if e["event"] == "turn"), None)
    if first_turn is None:
        return None
    return next((e["ts"] - first_turn for e in evs if e["event"] == "click" and e["ts"] >= first_turn), None)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 3) if values else None


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def _percentile(ordered: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default) over already sorted values."""
    if not ordered:
        return None
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return round(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo), 3)
