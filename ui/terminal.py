"""The terminal face of the agent: the chat loop, result lines, numbered options, and session files that let
`picseek ask --session FILE` continue a conversation in a later call."""

from __future__ import annotations

from pathlib import Path

import typer
from picseek.tools.errors import PicseekError


def load_session(path: Path | None):
    from picseek.agent.session import Session
    from pydantic import ValidationError

    if path is None or not path.exists():
        return Session()
    try:
        return Session.load(path.read_text())
    except (ValidationError, ValueError, OSError) as e:
        raise PicseekError(
            f"cannot read the session file {path}: {str(e).splitlines()[0]}. Pass another --session FILE."
        ) from None


def save_session(path: Path, session) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(session.save())
    tmp.replace(path)


def echo_options(question) -> None:
    if question is not None and question.options:
        typer.echo("  " + "   ".join(f"[{i}] {o}" for i, o in enumerate(question.options, 1)))


def chat_loop(agent, lines=None) -> None:
    from picseek.agent.agent import Event, TurnResult
    from picseek.agent.session import Session

    session = Session()
    typer.echo(
        "Describe what you are looking for, then refine in your own words ('only red ones', 'without people', "
        "'more like #2'); answer a question with its number or in words. Empty line or Ctrl-D quits."
    )
    feed = iter(lines) if lines is not None else None
    while True:
        if feed is not None:
            text = next(feed, "")
            if text:
                typer.echo(f"> {text}")
        else:
            try:
                text = input("> ").strip()
            except EOFError:
                text = ""
        if not text:
            return
        if text.isascii() and text.isdecimal() and session.asked and 1 <= int(text) <= len(session.asked.options):
            text = session.asked.options[int(text) - 1]  # a numbered option, as the terminal shows them
        for item in agent.run(session, text):
            if isinstance(item, TurnResult):
                session = item.session
                echo_options(item.question)
                for h in item.hits:
                    echo_hit(h, "  ")
            elif isinstance(item, Event) and item.kind == "reply":
                typer.echo(item.text)


def echo_hit(h, indent: str = "") -> None:
    typer.echo(
        f"{indent}{h.rank:3d}. {h.strength:6s} {h.match:3d}  {h.path}" + (f"  — {h.caption}" if h.caption else "")
    )
    if h.duplicates:
        typer.echo(f"{indent}     {h.folded}: " + ", ".join(h.duplicates))
