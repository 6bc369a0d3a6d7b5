"""The Gradio chat UI: chat on the left, results on the right; click a result to refine from it.

The UI only turns agent events into chat messages and gallery items. Each browser tab has its own Session
(gr.State). Only cached thumbnails of indexed images are served (`allowed_paths` is that one folder).
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import gradio as gr
from starlette.middleware import Middleware

from agent.agent import Agent, Event, TurnResult
from agent.safety import sanitize
from agent.session import Session
from agent.tools import DetailsArgs, Toolbox, ToolError
from tools.thumbs import thumbnail, thumbs_dir

MAX_UPLOAD = "25mb"  # an example photo needs no more; larger uploads are refused by the server
CSS = "#results .caption-label {white-space: normal}"


def _gallery_items(agent: Agent, hits) -> list[tuple[str, str]]:
    items = []
    for h in hits:
        t = thumbnail(agent.searcher.root, h.metadata.get("path", ""), h.id, int(h.metadata.get("mtime_ns", 0)))
        if t is not None:
            label = f"#{h.rank} · {h.score:.2f}" + (f" · {sanitize(h.caption, 120)}" if h.caption else "")
            items.append((str(t), label))
    return items


class Handlers:
    """What the UI's events do; each turns a click or a message into an agent turn and renders its events."""

    def __init__(self, agent: Agent):
        self.agent = agent

    def respond(self, message, history, session_json, k, threshold, examples=None):
        """Run one agent turn, streaming status, results and the reply into the chat and the gallery."""
        session = Session.load(session_json) if session_json else Session()
        message = (message or "").strip()
        if not message and not examples:
            yield history, gr.skip(), session_json, ""
            return
        shown = message or "(search by example image)"
        history = history + [
            {"role": "user", "content": sanitize(shown, 500)},
            {"role": "assistant", "content": "searching…"},
        ]
        yield history, gr.skip(), session_json, ""
        gallery = gr.skip()
        for item in self.agent.run(session, message, examples=examples, k=int(k), threshold=threshold or None):
            if isinstance(item, Event) and item.kind in ("status", "reply"):
                history[-1] = {"role": "assistant", "content": item.text}
            elif isinstance(item, Event) and item.kind == "results":
                gallery = _gallery_items(self.agent, item.hits)
            elif isinstance(item, TurnResult):
                session = item.session
                gallery = _gallery_items(self.agent, item.hits)
            yield history, gallery, session.save(), ""

    def refine(self, template, selected, history, session_json, k, threshold):
        """A click on a result becomes a turn in words: 'more like #3', '#3 is right', 'not #3'."""
        if selected is None:
            history = history + [{"role": "assistant", "content": "Click a result first."}]
            yield history, gr.skip(), session_json, ""
            return
        yield from self.respond(template.format(n=int(selected) + 1), history, session_json, k, threshold)

    @staticmethod
    def show_options(session_json):
        """The question the last reply asked, with its options as buttons (an answer is a turn like any other)."""
        q = Session.load(session_json).asked if session_json else None
        if q is None or not q.options:
            return gr.update(choices=[], value=None, visible=False)
        return gr.update(choices=list(q.options), value=None, visible=True, label=sanitize(q.text, 200))

    def details(self, selected, session_json):
        session = Session.load(session_json) if session_json else Session()
        if selected is None or selected >= len(session.results):
            return {}
        try:
            return Toolbox(self.agent.searcher, session).image_details(DetailsArgs(position=int(selected) + 1))
        except ToolError as e:
            return {"error": str(e)}

    def by_example(self, upload, history, session_json, k, threshold):
        if not upload:
            yield history + [{"role": "assistant", "content": "Upload an image first."}], gr.skip(), session_json, ""
            return
        yield from self.respond("", history, session_json, k, threshold, examples=[upload])


def build(agent: Agent, model_label: str) -> gr.Blocks:
    planner = "LLM (" + getattr(agent.llm, "model", "") + ")" if agent.llm else "offline rules"
    with gr.Blocks(title="picseek") as app:
        gr.Markdown(f"### picseek — `{agent.searcher.root.name}` · model: **{model_label}** · planner: **{planner}**")
        _wire(_layout(), Handlers(agent))
    return app


def _layout() -> SimpleNamespace:
    c = SimpleNamespace(session=gr.State(""), selected=gr.State(None))
    with gr.Row():
        with gr.Column(scale=2):
            c.chat = gr.Chatbot(label="Conversation", height=480, elem_id="chat")
            c.box = gr.Textbox(
                placeholder="Describe what you are looking for… then refine: 'only red ones', "
                "'without people', 'more like #2'",
                show_label=False,
                elem_id="msg",
            )
            c.options = gr.Radio(choices=[], label="", visible=False, elem_id="options", interactive=True)
            with gr.Row():
                c.send = gr.Button("Search", variant="primary", elem_id="send")
                c.new = gr.Button("New search", elem_id="new")
            with gr.Accordion("Search by example", open=False):
                # a file, not gr.Image: Gradio would decode an upload itself, outside the guarded decoder
                c.upload = gr.File(label="Example image", elem_id="upload", file_types=["image"], type="filepath")
                c.find = gr.Button("Find similar", elem_id="find")
            with gr.Row():
                c.k = gr.Slider(1, 50, value=12, step=1, label="Results (k)", elem_id="k")
                c.threshold = gr.Slider(0, 1, value=0, step=0.01, label="Min score (0 = off)", elem_id="thr")
        with gr.Column(scale=3):
            c.gallery = gr.Gallery(
                label="Results", columns=4, height=520, allow_preview=False, elem_id="results", object_fit="contain"
            )
            with gr.Row():
                c.more = gr.Button("More like this", elem_id="more")
                c.less = gr.Button("Less like this", elem_id="less")
                c.good = gr.Button("Right one", elem_id="good")  # words, not emoji: offline pages may lack the font
                c.bad = gr.Button("Wrong one", elem_id="bad")
                c.info = gr.Button("Details", elem_id="details")
            c.detail = gr.JSON(label="Details", elem_id="detail")
    return c


def _wire(c: SimpleNamespace, h: Handlers) -> None:
    outs = [c.chat, c.gallery, c.session, c.box]
    ins = [c.box, c.chat, c.session, c.k, c.threshold]

    def then_options(event) -> None:
        event.then(h.show_options, c.session, c.options, api_visibility="private")

    then_options(c.box.submit(h.respond, ins, outs, api_name="chat"))
    then_options(c.send.click(h.respond, ins, outs, api_visibility="private"))
    then_options(
        c.options.input(h.respond, [c.options, c.chat, c.session, c.k, c.threshold], outs, api_visibility="private")
    )
    c.new.click(
        lambda: ([], [], "", None, {}, gr.update(choices=[], value=None, visible=False)),
        None,
        [c.chat, c.gallery, c.session, c.selected, c.detail, c.options],
        api_name="reset",
    )
    c.gallery.select(_select, None, c.selected, api_visibility="private")
    clicks = ((c.more, "more like #{n}"), (c.less, "not like #{n}"), (c.good, "#{n} is right"), (c.bad, "not #{n}"))
    for button, template in clicks:
        then_options(
            button.click(
                _clicker(h.refine, template),
                [c.selected, c.chat, c.session, c.k, c.threshold],
                outs,
                api_visibility="private",
            )
        )
    c.info.click(h.details, [c.selected, c.session], c.detail, api_name="details")
    then_options(
        c.find.click(h.by_example, [c.upload, c.chat, c.session, c.k, c.threshold], outs, api_name="search_by_example")
    )


def _clicker(refine, template: str):
    def go(selected, history, session_json, k, threshold):
        yield from refine(template, selected, history, session_json, k, threshold)

    return go


def _select(evt: gr.SelectData) -> int:
    """Remember which result was clicked (0-based gallery index)."""
    return evt.index


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


def launch(agent: Agent, model_label: str, port: int | None = None, host: str = "127.0.0.1", block: bool = True):
    """Start the app; only the thumbnail cache of this gallery is served."""
    import warnings

    # Gradio's own use of a renamed Starlette constant warns on every event; that one warning, nothing else
    warnings.filterwarnings("ignore", message=".*HTTP_422_UNPROCESSABLE_ENTITY.*")
    app = build(agent, model_label)
    thumbs = thumbs_dir(agent.searcher.root)
    thumbs.mkdir(parents=True, exist_ok=True)
    app.queue(default_concurrency_limit=4)
    out = app.launch(
        server_name=host,
        server_port=port,
        allowed_paths=[str(thumbs)],
        prevent_thread_lock=True,
        max_file_size=MAX_UPLOAD,
        show_error=False,
        quiet=True,  # no share hint: picseek is local; the URL is printed below
        inbrowser=False,
        app_kwargs={"middleware": [Middleware(OfflinePage)]},
        # system fonts: an offline page must not ask the internet for webfonts
        theme=gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"]),
    )
    if block:
        print(f"picseek UI: {app.local_url} (Ctrl-C stops it)", flush=True)
        app.block_thread()
    return out
