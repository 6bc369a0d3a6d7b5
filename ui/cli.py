"""The `picseek` command line. Heavy modules (torch, open_clip, chromadb) load inside commands, never at import."""

from __future__ import annotations

import json
import logging
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from tools.errors import PicseekError
from ui.options import (
    CaptionerOpt,
    CheckpointOpt,
    ChromaOpt,
    JsonOpt,
    LlmModelOpt,
    LlmUrlOpt,
    ModelOpt,
    NoLogOpt,
    OfflineOpt,
    PrecisionOpt,
    StoreOpt,
)
from ui.wiring import caption_pass, make_agent, open_store

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="picseek: find images in a folder by describing them.",
)
log = logging.getLogger("picseek")


def _setup_logging() -> None:
    from tools.home import logs_dir

    try:
        logs_dir().mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(logs_dir() / "picseek.log")
    except OSError:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)


@app.command()
def index(
    folder: Annotated[Path, typer.Argument(help="folder of images to index (never written to)")],
    model: ModelOpt = "ViT-B-32",
    checkpoint: CheckpointOpt = None,
    store: StoreOpt = None,
    chroma_url: ChromaOpt = None,
    workers: Annotated[int | None, typer.Option(help="decode processes (default: CPU count, max 4)")] = None,
    batch_size: Annotated[int, typer.Option(help="images per embedding batch and commit")] = 64,
    max_pixels: Annotated[int, typer.Option(help="refuse images larger than this many pixels")] = 100_000_000,
    timeout: Annotated[float, typer.Option(help="seconds allowed to decode one file")] = 10.0,
    reindex: Annotated[
        bool,
        typer.Option(help="embed every file again, even unchanged ones, replacing vectors of other weights"),
    ] = False,
    captions: Annotated[bool, typer.Option("--captions", help="also caption images (stored, searchable)")] = False,
    captioner: CaptionerOpt = None,
    precision: PrecisionOpt = "auto",
    as_json: JsonOpt = False,
) -> None:
    """Index (or update the index of) a folder of images."""
    from tools.decode_pool import Limits
    from tools.errors import GalleryNotFound
    from tools.index import index_folder

    if not folder.is_dir():
        raise GalleryNotFound(f"{folder} is not a folder. Pass the folder of images to index.")
    embedder, st = open_store(
        folder, model, checkpoint, store, chroma_url, create=True, precision=precision, replace=reindex
    )
    st.lock()
    try:
        report = index_folder(
            folder,
            embedder,
            st,
            workers=workers,
            batch_size=batch_size,
            limits=Limits(timeout_s=timeout, max_pixels=max_pixels),
            reindex=reindex,
        )
        cap = caption_pass(st, embedder, captioner, "stale") if captions else None
    finally:
        st.unlock()
    if as_json:
        out = report.to_json()
        if cap is not None:
            out["captions"] = {"captioned": cap.captioned, "unchanged": cap.unchanged, "skipped": cap.skipped}
        typer.echo(json.dumps(out, indent=2))
        return
    typer.echo(report.summary())
    if cap is not None:
        typer.echo(cap.summary())
    for s in report.skipped[:50]:
        typer.echo(f"  skipped {s.path}: {s.reason}")
    if len(report.skipped) > 50:
        typer.echo(f"  ... and {len(report.skipped) - 50} more (use --json for the full list)")


@app.command()
def caption(
    folder: Annotated[Path, typer.Option("--dir", "-d", help="the indexed gallery folder")] = Path("."),
    only_missing: Annotated[bool, typer.Option("--only-missing", help="only images with no caption at all")] = False,
    force: Annotated[bool, typer.Option("--all", help="caption every image again")] = False,
    captioner: CaptionerOpt = None,
    model: ModelOpt = "ViT-B-32",
    checkpoint: CheckpointOpt = None,
    store: StoreOpt = None,
    chroma_url: ChromaOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Caption the images of an existing index (captions are stored and searchable)."""
    embedder, st = open_store(folder, model, checkpoint, store, chroma_url, create=False)
    st.lock()
    try:
        rep = caption_pass(st, embedder, captioner, "all" if force else "missing" if only_missing else "stale")
    finally:
        st.unlock()
    if as_json:
        typer.echo(json.dumps({"captioned": rep.captioned, "unchanged": rep.unchanged, "skipped": rep.skipped}))
    else:
        typer.echo(rep.summary())
        for sk in rep.skipped[:50]:
            typer.echo(f"  skipped {sk['path']}: {sk['reason']}")


@app.command()
def search(
    text: Annotated[str, typer.Argument(help="what to look for, e.g. 'red car at night'")] = "",
    folder: Annotated[Path, typer.Option("--dir", "-d", help="the indexed gallery folder")] = Path("."),
    negatives: Annotated[list[str], typer.Option("--not", help="concept to exclude (repeatable)")] = [],  # noqa: B006
    like: Annotated[list[str], typer.Option("--like", help="reference image: more like this (repeatable)")] = [],  # noqa: B006
    unlike: Annotated[list[str], typer.Option("--unlike", help="image to move away from (repeatable)")] = [],  # noqa: B006
    k: Annotated[int, typer.Option("--k", "-k", help="number of results")] = 10,
    min_match: Annotated[
        int | None, typer.Option("--min-match", help="hide results with a calibrated match (0-100) below this")
    ] = None,
    threshold: Annotated[float | None, typer.Option(help="hide results whose raw cosine is below this")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="taken on or after YYYY-MM-DD")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="taken on or before YYYY-MM-DD")] = None,
    orientation: Annotated[str | None, typer.Option(help="landscape, portrait or square")] = None,
    min_width: Annotated[int | None, typer.Option(help="minimum width in pixels")] = None,
    min_height: Annotated[int | None, typer.Option(help="minimum height in pixels")] = None,
    formats: Annotated[list[str], typer.Option("--format", help="file format, e.g. JPEG (repeatable)")] = [],  # noqa: B006
    subfolder: Annotated[str | None, typer.Option("--folder", help="only this sub-folder of the gallery")] = None,
    camera: Annotated[str | None, typer.Option(help="camera make or model")] = None,
    no_collapse: Annotated[bool, typer.Option("--keep-duplicates", help="do not collapse near-duplicates")] = False,
    model: ModelOpt = "ViT-B-32",
    checkpoint: CheckpointOpt = None,
    store: StoreOpt = None,
    chroma_url: ChromaOpt = None,
    precision: PrecisionOpt = "auto",
    as_json: JsonOpt = False,
) -> None:
    """Search an indexed folder by description and/or example images."""
    from pydantic import ValidationError

    from agent.explain import nothing_matches
    from tools.errors import BadQuery
    from tools.retrieve import Filters, ImageQuery, Searcher

    like = [str(Path(p).resolve()) if Path(p).exists() else p for p in like]
    unlike = [str(Path(p).resolve()) if Path(p).exists() else p for p in unlike]
    try:
        q = ImageQuery(
            text=text,
            negatives=negatives,
            like=like,
            unlike=unlike,
            k=k,
            threshold=threshold,
            min_match=min_match,
            collapse_duplicates=not no_collapse,
            filters=Filters(
                date_from=_day(date_from),
                date_to=_day(date_to),
                orientation=orientation,
                min_width=min_width,
                min_height=min_height,
                formats=formats,
                folder=subfolder,
                camera=camera,
            ),
        )
    except ValidationError as e:
        raise BadQuery("; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())) from None
    embedder, st = open_store(folder, model, checkpoint, store, chroma_url, create=False, precision=precision)
    hits = Searcher(st, embedder).search(q)
    if as_json:
        typer.echo(json.dumps([h.model_dump() for h in hits], indent=2, default=str))
        return
    if not hits:
        typer.echo("no matches")
    elif nothing_matches(hits):
        typer.echo("nothing matches well; the closest:")
    for h in hits:
        _echo_hit(h)


def _echo_hit(h, indent: str = "") -> None:
    typer.echo(
        f"{indent}{h.rank:3d}. {h.strength:6s} {h.match:3d}  {h.path}" + (f"  — {h.caption}" if h.caption else "")
    )


def _day(s: str | None) -> date | None:
    from tools.errors import BadQuery

    if not s:
        return None
    try:
        return date.fromisoformat(s)
    except ValueError:
        raise BadQuery(f"bad date {s!r}: use YYYY-MM-DD, e.g. 2019-07-14") from None


@app.command()
def ask(
    messages: Annotated[list[str], typer.Argument(help="successive user turns of one conversation")],
    folder: Annotated[Path, typer.Option("--dir", "-d", help="the indexed gallery folder")] = Path("."),
    model: ModelOpt = "ViT-B-32",
    checkpoint: CheckpointOpt = None,
    store: StoreOpt = None,
    chroma_url: ChromaOpt = None,
    llm_model: LlmModelOpt = None,
    llm_base_url: LlmUrlOpt = None,
    offline: OfflineOpt = False,
    session_file: Annotated[
        Path | None,
        typer.Option("--session", help="continue the conversation saved in FILE (if it exists) and save it after"),
    ] = None,
    no_questions: Annotated[bool, typer.Option("--no-questions", help="never ask a narrowing question")] = False,
    no_log: NoLogOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Run messages as turns of one conversation; --json prints one object per turn."""

    agent = make_agent(
        folder,
        model,
        checkpoint,
        store,
        chroma_url,
        llm_model,
        llm_base_url,
        offline,
        ask=not no_questions,
        log=not no_log,
    )
    session = _load_session(session_file)
    out = []
    for m in messages:
        r = agent.turn(session, m)
        session = r.session
        if session_file is not None:  # saved before anything is printed: a closed pipe loses no turn
            _save_session(session_file, session)
        out.append(r.to_json())
        if not as_json:
            typer.echo(f"> {m}\n{r.reply}")
            _echo_options(r.question)
            for h in r.hits:
                _echo_hit(h, "  ")
    if as_json:
        typer.echo(json.dumps(out, indent=2, default=str))


def _load_session(path: Path | None):
    from pydantic import ValidationError

    from agent.session import Session

    if path is None or not path.exists():
        return Session()
    try:
        return Session.load(path.read_text())
    except (ValidationError, ValueError, OSError) as e:
        raise PicseekError(
            f"cannot read the session file {path}: {str(e).splitlines()[0]}. Pass another --session FILE."
        ) from None


def _save_session(path: Path, session) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(session.save())
    tmp.replace(path)


def _echo_options(question) -> None:
    if question is not None and question.options:
        typer.echo("  " + "   ".join(f"[{i}] {o}" for i, o in enumerate(question.options, 1)))


@app.command()
def chat(
    folder: Annotated[Path, typer.Option("--dir", "-d", help="the indexed gallery folder")] = Path("."),
    model: ModelOpt = "ViT-B-32",
    checkpoint: CheckpointOpt = None,
    store: StoreOpt = None,
    chroma_url: ChromaOpt = None,
    llm_model: LlmModelOpt = None,
    llm_base_url: LlmUrlOpt = None,
    offline: OfflineOpt = False,
    no_log: NoLogOpt = False,
) -> None:
    """Chat in the terminal: describe, refine ("only red ones", "without people", "more like #2")."""
    agent = make_agent(folder, model, checkpoint, store, chroma_url, llm_model, llm_base_url, offline, log=not no_log)
    chat_loop(agent)


def chat_loop(agent, lines=None) -> None:
    from agent.agent import Event, TurnResult
    from agent.session import Session

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
                _echo_options(item.question)
                for h in item.hits:
                    _echo_hit(h, "  ")
            elif isinstance(item, Event) and item.kind == "reply":
                typer.echo(item.text)


@app.command()
def ui(
    folder: Annotated[Path, typer.Option("--dir", "-d", help="the indexed gallery folder")] = Path("."),
    port: Annotated[int | None, typer.Option(help="port (default: first free from 7860)")] = None,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    model: ModelOpt = "ViT-B-32",
    checkpoint: CheckpointOpt = None,
    store: StoreOpt = None,
    chroma_url: ChromaOpt = None,
    llm_model: LlmModelOpt = None,
    llm_base_url: LlmUrlOpt = None,
    offline: OfflineOpt = False,
    no_log: NoLogOpt = False,
) -> None:
    """Start the chat UI in the browser (prints the URL)."""
    from ui.app import launch

    agent = make_agent(folder, model, checkpoint, store, chroma_url, llm_model, llm_base_url, offline, log=not no_log)
    launch(agent, model, port=port, host=host)


@app.command()
def models(as_json: JsonOpt = False) -> None:
    """List the registered models."""
    from tools.models import list_models

    rows = list_models()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        typer.echo(f"{r['name']:15s} {r['arch']:20s} {r['weights'] or '':36s} {r['description']}")


@app.command()
def demo(
    n: Annotated[int, typer.Option("--n", help="scenes in the demo gallery")] = 1500,
    seed: Annotated[int, typer.Option(help="gallery seed")] = 7,
    query: Annotated[list[str], typer.Option("--query", "-q", help="run these chat turns and exit")] = [],  # noqa: B006
    terminal: Annotated[
        bool, typer.Option("--terminal", help="chat in the terminal instead of the browser UI")
    ] = False,
    port: Annotated[int | None, typer.Option(help="UI port (default: first free from 7860)")] = None,
    no_log: NoLogOpt = False,
) -> None:
    """Offline demo: build a toy gallery under $PICSEEK_HOME, index it with the toy model, open the chat UI."""
    from evals.toy.world import make_gallery
    from tools.home import home
    from tools.index import index_folder

    gallery = home() / "demo" / f"toy-{seed}-{n}"
    if not (gallery / "scenes.jsonl").exists():
        make_gallery(gallery, n, seed)
    # The demo's index is picseek's own: after an upgrade that retrained the bundled model, rebuild it.
    embedder, st = open_store(gallery, "toy", None, None, None, create=True, replace=True)
    st.lock()
    try:
        typer.echo(index_folder(gallery, embedder, st).summary())
    finally:
        st.unlock()
    typer.echo(f"gallery: {gallery} (try 'a red car', then 'only at night', then 'more like #2')")
    agent = make_agent(gallery, "toy", None, None, None, None, None, offline=True, log=not no_log)
    if terminal or query:
        chat_loop(agent, query or None)
        return
    from ui.app import launch

    launch(agent, "toy", port=port)


from ui import eval_commands  # noqa: E402  (the eval and toy-world commands join the same app)
from ui.stats_command import stats  # noqa: E402

eval_commands.register(app)
app.command("stats")(stats)


def main() -> None:
    """Entry point: user mistakes print as one line (exit 2); the traceback goes to the log."""
    import click

    # typer >= 0.20 carries its own copy of click: its usage errors are not click's classes
    usage_errors = tuple({click.ClickException, *(c for c in (getattr(typer, "TyperException", None),) if c)})
    aborts = tuple({click.exceptions.Abort, getattr(typer, "Abort", click.exceptions.Abort)})
    _setup_logging()
    try:
        rv = app(standalone_mode=False)
    except PicseekError as e:
        log.exception("picseek error")
        typer.echo(f"error: {e}", err=True)
        sys.exit(2)
    except (KeyboardInterrupt, *aborts):
        typer.echo("interrupted: everything indexed so far is saved; run the same command again to resume.", err=True)
        sys.exit(130)
    except usage_errors as e:  # a usage mistake: the usage line and the error, exit 2, no traceback
        if hasattr(e, "show"):
            e.show()
        else:
            typer.echo(f"error: {e}", err=True)
        sys.exit(getattr(e, "exit_code", 2))
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":
    main()
