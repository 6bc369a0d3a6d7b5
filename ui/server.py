"""Serving the chat UI: an offline page (no request leaves the machine), quiet start-up, only thumbnails served."""

from __future__ import annotations

import logging
import re

import gradio as gr
from picseek.agent.agent import Agent
from picseek.tools.thumbs import thumbs_dir
from picseek.ui.app import CSS, MAX_UPLOAD, build
from picseek.ui.auth import QUEUE_SIZE, login_for
from starlette.middleware import Middleware


class OfflinePage:
    """ASGI middleware: drop the script Gradio's page loads from a CDN (iframe resizing, of no use here), so a
    page served offline asks no host but its own."""

    CDN = re.compile(rb'<script[^>]*src="https://cdnjs\.cloudflare\.com/[^"]*"[^>]*>\s*</script>')

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "GET" or scope.get("path", "/") not in ("/", ""):
            return await self.app(scope, receive, send)  # only the page itself; streams pass untouched
        start, chunks = {}, []

        async def capture(message):
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    await self._send(send, start, b"".join(chunks))

        await self.app(scope, receive, capture)

    async def _send(self, send, start, body: bytes) -> None:
        headers = dict(start.get("headers", []))
        if headers.get(b"content-type", b"").startswith(b"text/html") and b"cdnjs" in body:
            body = self.CDN.sub(b"", body)
            headers[b"content-length"] = str(len(body)).encode()
            start = {**start, "headers": list(headers.items())}
        await send(start)
        await send({"type": "http.response.body", "body": body})


def launch(
    agent: Agent,
    model_label: str,
    port: int | None = None,
    host: str = "127.0.0.1",
    block: bool = True,
    warm: bool = True,
    auth: tuple[str, str] | None = None,
    queue_size: int = QUEUE_SIZE,
):
    """Start the app; only the thumbnail cache of this gallery is served. `warm`: load the model, the English
    pipeline and the calibration (one throwaway turn) before the app listens, so no user's turn waits for them."""
    import warnings

    # off this machine only with a login (Gradio's): the page, its API, uploads and thumbnails all need it
    auth = auth or login_for(host)
    if warm:
        from picseek.ui.wiring import warm_up

        if block:
            print("picseek UI: loading the model…", flush=True)
        seconds = warm_up(agent)
        logging.getLogger(__name__).info("warm-up turn took %.1fs", seconds)

    # Gradio's own warnings, nothing else: a renamed Starlette constant (on every event) and, in 6.31's queue
    # statistics, a pandas keyword pandas 3 deprecated
    warnings.filterwarnings("ignore", message=".*HTTP_422_UNPROCESSABLE_ENTITY.*")
    warnings.filterwarnings("ignore", message=".*copy keyword is deprecated.*", module="gradio.queueing")
    app = build(agent, model_label)
    thumbs = thumbs_dir(agent.searcher.root)
    thumbs.mkdir(parents=True, exist_ok=True)
    # a bounded queue: past `queue_size` waiting turns a client is told the queue is full, so one client cannot
    # keep every other waiting (Gradio's max_size counts all clients together)
    app.queue(default_concurrency_limit=4, max_size=queue_size)
    out = app.launch(
        server_name=host,
        server_port=port,
        allowed_paths=[str(thumbs)],
        prevent_thread_lock=True,
        auth=auth,
        auth_message="picseek: log in to see this gallery",
        max_file_size=MAX_UPLOAD,
        show_error=False,
        quiet=True,  # no share hint: picseek is local; the URL is printed below
        inbrowser=False,
        app_kwargs={"middleware": [Middleware(OfflinePage)]},
        css=CSS,
        # system fonts: an offline page must not ask the internet for webfonts
        theme=gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"]),
    )
    if block:
        login = f"login required as {auth[0]}; " if auth else ""
        print(f"picseek UI: {app.local_url} ({login}at most {queue_size} turns wait; Ctrl-C stops it)", flush=True)
        app.block_thread()
    return out
