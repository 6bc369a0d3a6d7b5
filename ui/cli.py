"""The `picseek` command line. Heavy modules (torch, open_clip, chromadb) load inside commands, never at import."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from picseek.tools.errors import PicseekError
from picseek.ui.options import (
    AgentArgs,
    CaptionerOpt,
    GalleryArgs,
    JsonOpt,
    NoLogOpt,
    PrecisionOpt,
    RayAddressOpt,
    RayOpt,
    agent_options,
    gallery_options,
    store_options,
)
from picseek.ui.search_command import search
from picseek.ui.terminal import chat_loop, echo_hit, echo_options, load_session, save_session
from picseek.ui.wiring import caption_pass, make_agent

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="picseek: find images in a folder by describing them.",
)
log = logging.getLogger("picseek")


def _setup_logging() -> None:
    from picseek.tools.home import logs_dir

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
@store_options
def index(
    folder: Annotated[Path, typer.Argument(help="folder of images to index (never written to)")],
    workers: Annotated[
        int | None, typer.Option(help="decode processes (default: CPU count, max 4); with --ray, decode tasks at once")
    ] = None,
    batch_size: Annotated[int, typer.Option(help="images per embedding batch and commit")] = 64,
    max_pixels: Annotated[int, typer.Option(help="refuse images larger than this many pixels")] = 100_000_000,
    timeout: Annotated[float, typer.Option(help="seconds allowed to decode one file")] = 10.0,
    reindex: Annotated[
        bool,
        typer.Option(help="embed every file again, even unchanged ones, replacing vectors of other weights"),
    ] = False,
    captions: Annotated[bool, typer.Option("--captions", help="also caption images (stored, searchable)")] = False,
    captioner: CaptionerOpt = None,
    ocr: Annotated[bool, typer.Option("--ocr", help="also read the text in images (offline OCR)")] = False,
    precision: PrecisionOpt = "auto",
    ray: RayOpt = False,
    ray_address: RayAddressOpt = None,
    as_json: JsonOpt = False,
    *,
    opts: GalleryArgs,
) -> None:
    """Index (or update the index of) a folder of images."""
    from picseek.tools.decode_pool import Limits
    from picseek.tools.errors import GalleryNotFound
    from picseek.tools.index import index_folder

    if not folder.is_dir():
        raise GalleryNotFound(f"{folder} is not a folder. Pass the folder of images to index.")
    engine = None
    if ocr:  # before any work: a missing engine is one sentence, not a failure after embedding
        from picseek.tools.ocr import OcrEngine

        engine = OcrEngine()
    runner = None
    if ray or ray_address:
        from picseek.tools.ray_pipeline import RayRunner
        from picseek.tools.settings import settings

        runner = RayRunner(ray_address, opts.chroma_url or settings().chroma_url, decode_tasks=workers)
        runner.check()  # before the store is opened: no Ray, or a cluster that cannot share an embedded store
    opts.folder = folder
    g = opts.open(precision=precision, create=True, replace=reindex)
    embedder, st = g.embedder, g.store
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
            runner=runner,
        )
        cap = caption_pass(st, embedder, captioner, "stale") if captions else None
        text = None
        if engine is not None:
            from picseek.tools.ocr import ocr_images

            limits = Limits(timeout_s=timeout, max_pixels=max_pixels)
            text = ocr_images(st, engine, runner=runner, workers=workers, limits=limits)
    finally:
        st.unlock()
        if runner is not None:
            runner.close()
    if as_json:
        out = report.to_json()
        if cap is not None:
            out["captions"] = {"captioned": cap.captioned, "unchanged": cap.unchanged, "skipped": cap.skipped}
        if text is not None:
            out["ocr"] = text.to_json()
        typer.echo(json.dumps(out, indent=2))
        return
    typer.echo(report.summary())
    if report.placed:
        typer.echo(f"named the place of {report.placed} unchanged images from their GPS")
    if cap is not None:
        typer.echo(cap.summary())
    if text is not None:
        typer.echo(text.summary())
    for s in report.skipped[:50]:
        typer.echo(f"  skipped {s.path}: {s.reason}")
    if len(report.skipped) > 50:
        typer.echo(f"  ... and {len(report.skipped) - 50} more (use --json for the full list)")


@app.command()
@gallery_options
def ocr(
    redo: Annotated[bool, typer.Option("--all", help="read every image again")] = False,
    batch_size: Annotated[int, typer.Option(help="images per batch and commit")] = 8,
    workers: Annotated[int | None, typer.Option(help="decode processes (default: CPU count, max 4)")] = None,
    ray: RayOpt = False,
    ray_address: RayAddressOpt = None,
    as_json: JsonOpt = False,
    *,
    opts: GalleryArgs,
) -> None:
    """Read the text in the images of an existing index (offline OCR; stored per image, searchable)."""
    from picseek.tools.ocr import OcrEngine, ocr_images

    engine = OcrEngine()
    runner = None
    if ray or ray_address:
        from picseek.tools.ray_pipeline import RayRunner
        from picseek.tools.settings import settings

        runner = RayRunner(ray_address, opts.chroma_url or settings().chroma_url, decode_tasks=workers)
        runner.check()
    g = opts.open()
    st = g.store
    st.lock()
    try:
        rep = ocr_images(st, engine, redo=redo, batch_size=batch_size, runner=runner, workers=workers)
    finally:
        st.unlock()
        if runner is not None:
            runner.close()
    if as_json:
        typer.echo(json.dumps(rep.to_json()))
    else:
        typer.echo(rep.summary())
        for sk in rep.skipped[:50]:
            typer.echo(f"  skipped {sk['path']}: {sk['reason']}")


@app.command()
@gallery_options
def caption(
    only_missing: Annotated[bool, typer.Option("--only-missing", help="only images with no caption at all")] = False,
    force: Annotated[bool, typer.Option("--all", help="caption every image again")] = False,
    captioner: CaptionerOpt = None,
    as_json: JsonOpt = False,
    *,
    opts: GalleryArgs,
) -> None:
    """Caption the images of an existing index (captions are stored and searchable)."""
    g = opts.open()
    st = g.store
    st.lock()
    try:
        rep = caption_pass(st, g.embedder, captioner, "all" if force else "missing" if only_missing else "stale")
    finally:
        st.unlock()
    if as_json:
        typer.echo(json.dumps({"captioned": rep.captioned, "unchanged": rep.unchanged, "skipped": rep.skipped}))
    else:
        typer.echo(rep.summary())
        for sk in rep.skipped[:50]:
            typer.echo(f"  skipped {sk['path']}: {sk['reason']}")


app.command()(search)


@app.command()
@agent_options
def ask(
    messages: Annotated[list[str] | None, typer.Argument(help="successive user turns of one conversation")] = None,
    session_file: Annotated[
        Path | None,
        typer.Option("--session", help="continue the conversation saved in FILE (if it exists) and save it after"),
    ] = None,
    no_questions: Annotated[bool, typer.Option("--no-questions", help="never ask a narrowing question")] = False,
    as_json: JsonOpt = False,
    server: Annotated[
        str | None,
        typer.Option("--server", help="send the turns to a running `picseek serve` at URL (key: PICSEEK_API_KEY)"),
    ] = None,
    batch: Annotated[
        Path | None,
        typer.Option(
            "--batch",
            help='run many conversations: FILE has one JSON object a line, {"id": str, "messages": [str, ...]}; '
            'prints one line per conversation, {"id", "turns": [turn objects]}',
        ),
    ] = None,
    *,
    opts: AgentArgs,
) -> None:
    """Run messages as turns of one conversation; --json prints one object per turn."""
    if batch is not None:
        if messages or session_file is not None or server:
            raise PicseekError("--batch runs the conversations in FILE: leave out messages, --session and --server.")
        return ask_batch(batch, make_agent(opts, ask=not no_questions))
    if not messages:
        raise PicseekError("give the messages of a conversation, or --batch FILE.")
    if server and no_questions:
        raise PicseekError("--no-questions is the server's setting; leave it out with --server.")
    if server:  # the server holds the gallery, the model and the planner: only the turns travel
        from picseek.ui.serve_client import RemoteAgent, ServerClient

        agent = RemoteAgent(ServerClient(server))
    else:
        agent = make_agent(opts, ask=not no_questions)
    session = load_session(session_file)
    out = []
    for m in messages:
        r = agent.turn(session, m)
        session = r.session
        if session_file is not None:  # saved before anything is printed: a closed pipe loses no turn
            save_session(session_file, session)
        out.append(r.to_json())
        if not as_json:
            typer.echo(f"> {m}\n{r.reply}")
            echo_options(r.question)
            for h in r.hits:
                echo_hit(h, "  ")
    if as_json:
        typer.echo(json.dumps(out, indent=2, default=str))


def ask_batch(path: Path, agent) -> None:
    """One process, many conversations: each line of FILE runs in a fresh session and prints one JSON line. A bad
    line is reported on stderr with its number (and as an {"id", "error"} line) and the other lines still run."""
    from picseek.agent.session import Session

    try:
        lines = path.read_bytes().splitlines()
    except OSError as e:
        raise PicseekError(f"cannot read the batch file {path}: {e.strerror or e}.") from None
    bad = 0
    for n, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8")  # a UnicodeDecodeError is a ValueError too: that line alone is bad
            item = json.loads(line)
            if not isinstance(item, dict) or not isinstance(item.get("messages"), list):
                raise ValueError('it is not an object with a "messages" list')
            if not all(isinstance(m, str) for m in item["messages"]):
                raise ValueError('"messages" must hold strings')
            cid = str(item.get("id", n))
        except ValueError as e:  # json.JSONDecodeError is a ValueError
            bad += 1
            why = f"line {n} of {path.name} is not a conversation: {str(e)[:120]}."
            typer.echo(why, err=True)
            typer.echo(json.dumps({"id": None, "line": n, "error": why}))
            continue
        session, turns = Session(), []
        for m in item["messages"]:
            r = agent.turn(session, m)
            session = r.session
            turns.append(r.to_json())
        typer.echo(json.dumps({"id": cid, "turns": turns}, default=str))
    if bad:
        raise typer.Exit(1)


@app.command()
@agent_options
def chat(*, opts: AgentArgs) -> None:
    """Chat in the terminal: describe, refine ("only red ones", "without people", "more like #2")."""
    chat_loop(make_agent(opts))


@app.command()
@agent_options
def ui(
    port: Annotated[int | None, typer.Option(help="port (default: first free from 7860)")] = None,
    host: Annotated[
        str, typer.Option(help="address to listen on; any but loopback needs --auth (0.0.0.0: every interface)")
    ] = "127.0.0.1",
    auth: Annotated[
        str | None,
        typer.Option("--auth", help="USER:PASSWORD to log in with (or --auth-file, or PICSEEK_UI_AUTH)"),
    ] = None,
    auth_file: Annotated[
        Path | None, typer.Option("--auth-file", help="a file whose first line is USER:PASSWORD")
    ] = None,
    *,
    opts: AgentArgs,
) -> None:
    """Start the chat UI in the browser (prints the URL). Off loopback only with a login."""
    from picseek.ui.auth import login_for

    login = login_for(host, auth, auth_file)  # before anything loads: no login off loopback stops here
    from picseek.ui.server import launch

    # captions come from a background worker: a turn never waits for one
    launch(make_agent(opts, background=True), opts.model, port=port, host=host, auth=login)


@app.command()
def models(as_json: JsonOpt = False) -> None:
    """List the registered models."""
    from picseek.tools.models import list_models

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
    from picseek.tools.home import home
    from picseek.tools.index import index_folder
    from picseek.ui.demo.world import make_gallery

    gallery = home() / "demo" / f"toy-{seed}-{n}"
    if not (gallery / "scenes.jsonl").exists():
        make_gallery(gallery, n, seed)
    # The demo's index is picseek's own: after an upgrade that retrained the bundled model, rebuild it.
    g = GalleryArgs(gallery, "toy").open(create=True, replace=True)
    embedder, st = g.embedder, g.store
    st.lock()
    try:
        typer.echo(index_folder(gallery, embedder, st).summary())
    finally:
        st.unlock()
    typer.echo(f"gallery: {gallery} (try 'a red car', then 'only at night', then 'more like #2')")
    agent = make_agent(AgentArgs(gallery, "toy", offline=True, no_log=no_log))
    if terminal or query:
        chat_loop(agent, query or None)
        return
    from picseek.ui.server import launch

    launch(agent, "toy", port=port)


from picseek.ui import eval_commands  # noqa: E402  (the eval and toy-world commands join the same app)
from picseek.ui.serve import serve_command  # noqa: E402
from picseek.ui.stats_command import stats  # noqa: E402

eval_commands.register(app)
app.command("stats")(stats)
app.command("serve")(serve_command)


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
