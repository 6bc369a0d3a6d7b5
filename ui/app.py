"""The Gradio chat UI: chat on the left, results on the right; click a result to refine from it.

The UI only turns agent events into chat messages and gallery items. Each browser tab has its own Session
(gr.State). Only cached thumbnails of indexed images are served (`allowed_paths` is that one folder).
"""

from __future__ import annotations

import gradio as gr

from agent.agent import Agent, Event, TurnResult
from agent.safety import sanitize
from agent.session import Session
from agent.tools import DetailsArgs, Toolbox, ToolError
from tools.thumbs import thumbnail, thumbs_dir

CSS = "#results .caption-label {white-space: normal}"


def _gallery_items(agent: Agent, hits) -> list[tuple[str, str]]:
    items = []
    for h in hits:
        t = thumbnail(agent.searcher.root, h.metadata.get("path", ""), h.id, int(h.metadata.get("mtime_ns", 0)))
        if t is not None:
            label = f"#{h.rank} · {h.score:.2f}" + (f" · {sanitize(h.caption, 120)}" if h.caption else "")
            items.append((str(t), label))
    return items


def build(agent: Agent, model_label: str) -> gr.Blocks:
    planner = "LLM (" + getattr(agent.llm, "model", "") + ")" if agent.llm else "offline rules"

    def respond(message, history, session_json, k, threshold, examples=None):
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
        for item in agent.run(session, message, examples=examples, k=int(k), threshold=threshold or None):
            if isinstance(item, Event) and item.kind == "status":
                history[-1] = {"role": "assistant", "content": item.text}
            elif isinstance(item, Event) and item.kind == "results":
                gallery = _gallery_items(agent, item.hits)
            elif isinstance(item, Event) and item.kind == "reply":
                history[-1] = {"role": "assistant", "content": item.text}
            elif isinstance(item, TurnResult):
                session = item.session
                gallery = _gallery_items(agent, item.hits)
            yield history, gallery, session.save(), ""

    def refine(template, selected, history, session_json, k, threshold):
        """A click on a result becomes a turn in words: 'more like #3', '#3 is right', 'not #3'."""
        if selected is None:
            history = history + [{"role": "assistant", "content": "Click a result first."}]
            yield history, gr.skip(), session_json, ""
            return
        yield from respond(template.format(n=int(selected) + 1), history, session_json, k, threshold)

    def show_options(session_json):
        """The question the last reply asked, with its options as buttons (an answer is a turn like any other)."""
        q = Session.load(session_json).asked if session_json else None
        if q is None or not q.options:
            return gr.update(choices=[], value=None, visible=False)
        return gr.update(choices=list(q.options), value=None, visible=True, label=sanitize(q.text, 200))

    def details(selected, session_json):
        session = Session.load(session_json) if session_json else Session()
        if selected is None or selected >= len(session.results):
            return {}
        try:
            return Toolbox(agent.searcher, session).image_details(DetailsArgs(position=int(selected) + 1))
        except ToolError as e:
            return {"error": str(e)}

    def by_example(upload, history, session_json, k, threshold):
        if not upload:
            yield history + [{"role": "assistant", "content": "Upload an image first."}], gr.skip(), session_json, ""
            return
        yield from respond("", history, session_json, k, threshold, examples=[upload])

    with gr.Blocks(title="picseek") as app:
        gr.Markdown(f"### picseek — `{agent.searcher.root.name}` · model: **{model_label}** · planner: **{planner}**")
        session = gr.State("")
        selected = gr.State(None)
        with gr.Row():
            with gr.Column(scale=2):
                chat = gr.Chatbot(label="Conversation", height=480, elem_id="chat")
                box = gr.Textbox(
                    placeholder="Describe what you are looking for… then refine: 'only red ones', "
                    "'without people', 'more like #2'",
                    show_label=False,
                    elem_id="msg",
                )
                options = gr.Radio(choices=[], label="", visible=False, elem_id="options", interactive=True)
                with gr.Row():
                    send = gr.Button("Search", variant="primary", elem_id="send")
                    new = gr.Button("New search", elem_id="new")
                with gr.Accordion("Search by example", open=False):
                    upload = gr.Image(type="filepath", label="Example image", elem_id="upload", sources=["upload"])
                    find = gr.Button("Find similar", elem_id="find")
                with gr.Row():
                    k = gr.Slider(1, 50, value=12, step=1, label="Results (k)", elem_id="k")
                    threshold = gr.Slider(0, 1, value=0, step=0.01, label="Min score (0 = off)", elem_id="thr")
            with gr.Column(scale=3):
                gallery = gr.Gallery(
                    label="Results", columns=4, height=520, allow_preview=False, elem_id="results", object_fit="contain"
                )
                with gr.Row():
                    more = gr.Button("More like this", elem_id="more")
                    less = gr.Button("Less like this", elem_id="less")
                    good = gr.Button("👍 Right", elem_id="good")
                    bad = gr.Button("👎 Wrong", elem_id="bad")
                    info = gr.Button("Details", elem_id="details")
                detail = gr.JSON(label="Details", elem_id="detail")

        outs = [chat, gallery, session, box]
        ins = [box, chat, session, k, threshold]
        box.submit(respond, ins, outs, api_name="chat").then(show_options, session, options, api_visibility="private")
        send.click(respond, ins, outs, api_visibility="private").then(
            show_options, session, options, api_visibility="private"
        )
        options.input(respond, [options, chat, session, k, threshold], outs, api_name="answer").then(
            show_options, session, options, api_visibility="private"
        )
        new.click(
            lambda: ([], [], "", None, {}, gr.update(choices=[], value=None, visible=False)),
            None,
            [chat, gallery, session, selected, detail, options],
            api_name="reset",
        )
        gallery.select(_select, None, selected, api_visibility="private")
        for button, template in (
            (more, "more like #{n}"),
            (less, "not like #{n}"),
            (good, "#{n} is right"),
            (bad, "not #{n}"),
        ):
            button.click(
                _clicker(refine, template),
                [selected, chat, session, k, threshold],
                outs,
                api_visibility="private",
            ).then(show_options, session, options, api_visibility="private")
        info.click(details, [selected, session], detail, api_name="details")
        find.click(by_example, [upload, chat, session, k, threshold], outs, api_name="search_by_example")
    return app


def _clicker(refine, template: str):
    def go(selected, history, session_json, k, threshold):
        yield from refine(template, selected, history, session_json, k, threshold)

    return go


def _select(evt: gr.SelectData) -> int:
    """Remember which result was clicked (0-based gallery index)."""
    return evt.index


def launch(agent: Agent, model_label: str, port: int | None = None, host: str = "127.0.0.1", block: bool = True):
    """Start the app; only the thumbnail cache of this gallery is served."""
    app = build(agent, model_label)
    thumbs = thumbs_dir(agent.searcher.root)
    thumbs.mkdir(parents=True, exist_ok=True)
    app.queue(default_concurrency_limit=4)
    return app.launch(
        server_name=host,
        server_port=port,
        allowed_paths=[str(thumbs)],
        prevent_thread_lock=not block,
        show_error=False,
        quiet=not block,
        inbrowser=False,
    )
