"""`picseek stats`: search figures from the local usage log (registered on the main app by `ui.cli`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from picseek.tools.usage import default_log_path, log_files, read_events, usage_stats
from picseek.ui.options import JsonOpt

LogOpt = Annotated[Path | None, typer.Option("--log", help="usage log file (default: $PICSEEK_HOME/usage/usage.jsonl)")]


def stats(log: LogOpt = None, as_json: JsonOpt = False) -> None:
    """Usage figures from the local log: reformulation, click-through by rank, time to first click, feedback."""
    path = log or default_log_path()
    if not log_files(path):
        message = f"no usage log at {path}: `picseek ui`, `chat` and `ask` keep one by default (--no-log turns it off)."
        if as_json:
            typer.echo(message, err=True)
            typer.echo(json.dumps(usage_stats([]), indent=2))
        else:
            typer.echo(message)
        return
    events = read_events(path)
    figures = usage_stats(events)
    if as_json:
        typer.echo(json.dumps(figures, indent=2))
        return
    skipped = f", {events.skipped} corrupt lines skipped" if events.skipped else ""
    typer.echo(f"usage log {path} ({len(events)} events{skipped})")
    for label, value in _rows(figures):
        typer.echo(f"  {label:<24} {value}")


def _rows(f: dict) -> list[tuple[str, str]]:
    """The figures as (label, text) rows of the readable table."""
    per, first, fb, secs = f["turns_per_session"], f["time_to_first_click_s"], f["feedback"], f["turn_seconds"]
    ctr = "  ".join(f"#{r} {_pct(v)}" for r, v in f["click_through_by_rank"].items() if v is not None)
    return [
        ("sessions", str(f["sessions"])),
        ("turns", f"{f['turns']} (per session: mean {_num(per['mean'])}, median {_num(per['median'])})"),
        ("reformulation rate", _pct(f["reformulation_rate"])),
        ("new-search rate", _pct(f["new_search_rate"])),
        ("nothing-matches share", _pct(f["nothing_matches_share"])),
        ("error share", _pct(f["error_share"])),
        ("click-through by rank", ctr or "-"),
        (
            "time to first click",
            f"median {_num(first['median'])} s, mean {_num(first['mean'])} s ({first['sessions']} sessions)",
        ),
        ("feedback", f"{fb['good']} good, {fb['bad']} bad ({_pct(fb['balance'])} good)"),
        ("turn time", f"p50 {_num(secs['p50'])} s, p95 {_num(secs['p95'])} s"),
    ]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"
