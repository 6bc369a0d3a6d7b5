"""The Gradio chat UI: chat on the left, results on the right; click a result to refine from it.

The UI only turns agent events into chat messages and gallery items. The session lives on the server (gr.State)
and a copy in the browser (gr.BrowserState, shared by the tabs of one browser) restores it after a reload; that
copy is client data and is checked before use. Only cached thumbnails of indexed images are served.
"""

from __future__ import annotations

import html
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
from picseek.agent.agent import Agent, Event, TurnResult, shown_message
from picseek.agent.safety import sanitize
from picseek.agent.session import ResultRef, Session
from picseek.agent.tools import Toolbox, ToolError
from picseek.tools.errors import BadQuery
from picseek.tools.records import ImageRecord
from picseek.tools.relevance import strength
from picseek.tools.retrieve import Filters, Hit, parse_day
from picseek.tools.thumbs import thumbnail, thumbs_dir
from pydantic import ValidationError

MAX_UPLOAD = "25mb"  # an example photo needs no more; larger uploads are refused by the server
CSS = "#results .caption-label {white-space: normal; overflow: visible; text-overflow: clip}"
ORIENTATIONS = ["any", "landscape", "portrait", "square"]
TYPE_SOMETHING = (
    "Type what you are looking for (e.g. 'a red car at night'), or upload an example under Search by example."
)


def _gallery_items(agent: Agent, hits) -> list[tuple[str, str]]:
    """Thumbnails labelled with rank, calibrated match and the whole caption (the CSS wraps it). A file that can no
    longer be read gets a blank tile, so tile i is still result i+1 for every button that acts on a selection."""
    items = []
    for h in hits:
        t = h and thumbnail(agent.searcher.root, h.metadata.path, h.id, h.metadata.mtime_ns)
        if t:
            label = f"#{h.rank} · {h.strength} match {h.match}"
            if h.duplicates:  # folded into this tile; `picseek search --keep-duplicates` lists them apart
                label += f" · {h.folded}"
            items.append((str(t), label + (f" · {sanitize(h.caption, 300)}" if h.caption else "")))
        else:
            items.append((str(_blank(agent.searcher.root)), f"#{len(items) + 1} · file unavailable"))
    return items


def _blank(root) -> Path:
    path = thumbs_dir(root) / "unavailable.png"
    if not path.exists():
        from PIL import Image

        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (64, 64), (220, 220, 220)).save(path)
    return path


def _results_changed(gallery) -> dict:
    """What goes stale when the results change: the selection, the details, the uploaded example."""
    return {"gallery": gallery, "selected": None, "detail": "", "upload": None}


class Handlers:
    """What the UI's events do; each turns a click or a message into an agent turn and renders its events."""

    def __init__(self, agent: Agent, c: SimpleNamespace):
        self.agent, self.c = agent, c

    def _out(self, **values) -> dict:
        out = {}
        for name, value in values.items():
            out[getattr(self.c, name)] = value
        return out

    def respond(self, message, history, session_json, k, min_match, examples=None, filters=None):
        """Run one agent turn, streaming status, results and the reply into the chat and the gallery."""
        session = Session.load(session_json) if session_json else Session()
        message = (message or "").strip()
        if not message and not examples and filters is None:
            yield self._out(chat=history + [{"role": "assistant", "content": TYPE_SOMETHING}])
            return
        shown = shown_message(message, examples, filters)
        history = history + [
            {"role": "user", "content": sanitize(shown, 500)},
            {"role": "assistant", "content": "searching…"},
        ]
        yield self._out(chat=history, box="")
        run = self.agent.run(
            session, message, examples=examples, k=int(k), min_match=int(min_match or 0), filters=filters
        )
        for item in run:
            if isinstance(item, Event) and item.kind in ("status", "reply"):
                history[-1] = {"role": "assistant", "content": item.text}
                yield self._out(chat=history)
            elif isinstance(item, Event) and item.kind == "results":
                yield self._out(chat=history, **_results_changed(_gallery_items(self.agent, item.hits)))
            elif isinstance(item, TurnResult) and item.failed:  # nothing changed: the results shown stay
                yield self._out(chat=history, session=item.session.save(), saved=item.session.save())
            elif isinstance(item, TurnResult):
                yield self._out(chat=history, **self._synced(item.session, _gallery_items(self.agent, item.hits)))

    def refine(self, template, selected, history, session_json, k, min_match):
        """A click on a result becomes a turn in words: 'more like #3', '#3 is right', 'not #3'."""
        if selected is None:
            yield self._out(chat=history + [{"role": "assistant", "content": "Click a result first."}])
            return
        yield from self.respond(template.format(n=int(selected) + 1), history, session_json, k, min_match)

    def apply_filters(
        self, date_from, date_to, orientation, min_width, min_height, folder, history, session_json, k, m, place=None
    ):
        """The filter controls edit the same search state the chat edits; applying them runs the search again.
        `place`: the place field's text ('Lisbon, Portugal', 'near Porto'; None: the control is not there)."""
        from picseek.tools.places import PlaceFilter

        current = Session.load(session_json).state.filters if session_json else Filters()
        try:  # only the fields the controls show; formats and camera said in the chat stay
            if place is not None:
                current = current.model_copy(update={"place": PlaceFilter.parse(place)})
            filters = current.model_copy(
                update=dict(
                    date_from=parse_day(date_from),
                    date_to=parse_day(date_to),
                    orientation=None if orientation in (None, "", "any") else orientation,
                    min_width=int(min_width) if min_width else None,
                    min_height=int(min_height) if min_height else None,
                    folder=(folder or "").strip("/") or None,
                )
            )
            filters = Filters.model_validate(filters.model_dump())
        except (BadQuery, ValidationError) as e:
            reason = e.errors()[0]["msg"] if isinstance(e, ValidationError) else str(e)
            yield self._out(chat=history + [{"role": "assistant", "content": f"Bad filter: {sanitize(reason, 200)}."}])
            return
        yield from self.respond("", history, session_json, k, m, filters=filters)

    @staticmethod
    def _synced(session: Session, gallery) -> dict:
        """A turn's end, in one update: the results (nothing stale beside them), the question's options as buttons,
        the filter controls as the state has them, and the copy of the session a reload restores."""
        saved = session.save()
        return {
            **_results_changed(gallery),
            "session": saved,
            "saved": saved,
            "options": _options(session),
            **_filter_values(session.state.filters),
        }

    def after_turn(self):
        """No tile drawn selected that the selection state does not hold (an update the API need not see)."""
        return gr.update(selected_index=None)

    def restore(self, saved):
        """On page load: the conversation the browser kept, with its results, question and filters."""
        session = _trusted(saved)
        if session is None:
            return self._out(session="")
        saved = session.save()
        chat = [{"role": m.role, "content": sanitize(m.content, 4000)} for m in session.messages]
        gallery = _gallery_items(self.agent, self._hits(session))
        return self._out(
            chat=chat,
            gallery=gallery,
            session=saved,
            options=_options(session),
            **_filter_values(session.state.filters),
        )

    def _hits(self, session: Session) -> list[Hit | None]:
        """The session's shown results as hits again, their metadata from the index; None for one that has left the
        index since (a blank tile keeps the others in their places)."""
        if not session.results:
            return []
        meta = {r.id: r.meta for r in self.agent.searcher.store.get([r.id for r in session.results])}
        return [
            Hit(rank=r.position, score=0.0, metadata=meta[r.id], **r.model_dump(exclude={"position"}))
            if r.id in meta
            else None
            for r in session.results
        ]

    def new_search(self):
        """Everything back to a blank page: conversation, results, selection, details, upload, question, filters."""
        blank = Session()
        return self._out(
            chat=[],
            session="",
            saved=blank.save(),  # a blank session, not "": an empty value would leave the old one stored
            box="",
            options=_options(blank),
            **_results_changed(gr.update(value=[], selected_index=None)),
            **_filter_values(Filters()),
        )

    def select(self, session_json, evt: gr.SelectData):
        """Remember which result was clicked (0-based), show its details, and log the click."""
        session = Session.load(session_json) if session_json else None
        if session is not None and self.agent.usage is not None and evt.index < len(session.results):
            r = session.results[evt.index]
            self.agent.usage.click(session.id, r.position, r.id)
        return self._out(selected=evt.index, detail=self.details(evt.index, session_json))

    def details(self, selected, session_json):
        session = Session.load(session_json) if session_json else Session()
        if selected is None or selected >= len(session.results):
            return "<p>Click a result first.</p>"
        try:
            record = Toolbox(self.agent.searcher, session).record(int(selected) + 1)
        except ToolError as e:
            return f"<p>{html.escape(str(e))}</p>"
        path = str(self.agent.searcher.root / record.meta.path)
        return details_table(record, session.results[int(selected)], int(selected) + 1, path)

    def by_example(self, upload, history, session_json, k, min_match):
        if not upload:
            yield self._out(chat=history + [{"role": "assistant", "content": "Upload an image first."}])
            return
        yield from self.respond("", history, session_json, k, min_match, examples=[upload])


def _trusted(saved) -> Session | None:
    """The browser's copy of a session, as data from the client: it may be stale, corrupt or edited by hand.
    `Session.from_client` keeps only references to indexed images (ids), never file paths (an edited copy must not
    make the server read a file), and gives it a new id: another tab of the same browser restores the same copy."""
    if not isinstance(saved, str) or not saved:
        return None
    try:
        return Session.from_client(saved)
    except ValueError:
        return None


def _options(session: Session):
    q = session.asked
    if q is None or not q.options:
        return gr.update(choices=[], value=None, visible=False)
    return gr.update(choices=list(q.options), value=None, visible=True, label=sanitize(q.text, 200))


def _filter_values(f: Filters) -> dict:
    return {
        "f_from": f.date_from.isoformat() if f.date_from else "",
        "f_to": f.date_to.isoformat() if f.date_to else "",
        "f_orientation": f.orientation or "any",
        "f_width": f.min_width or 0,
        "f_height": f.min_height or 0,
        "f_folder": f.folder or "",
        "f_place": f.place.text if f.place else "",
    }


def details_table(record: ImageRecord, ref: ResultRef, position: int, path: str) -> str:
    """One result as a readable table: the match and its reason, the caption, when and with what it was taken."""
    m = record.meta
    when = datetime.fromtimestamp(m.date_ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M") if m.date_ts else ""
    camera = " ".join(x for x in (m.camera_make, m.camera_model) if x)
    rows = [
        ("Result", f"#{position}"),
        ("Match", f"{strength(ref.match)} match, {ref.match}/100"),
        ("Why", ref.reason or "—"),
        ("Caption", record.caption or "—"),
        ("Taken", (when + (" (file time)" if not m.taken else "")) if when else "unknown"),
        ("Size", f"{m.width} × {m.height} px, {m.orientation}" if m.width else ""),
        ("Format", m.format),
        ("Camera", camera or "—"),
        ("Place", ", ".join(x for x in (m.place_city, m.place_region, m.place_country) if x) or "—"),
        *([("Text in image", m.ocr_text)] if m.ocr_text else []),
        ("Folder", m.dir or "(top level)"),
        ("File", m.name or m.path),
        ("Path", path),
    ]
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return f"<table class='picseek-details'>{body}</table>"


def build(agent: Agent, model_label: str) -> gr.Blocks:
    model = getattr(agent.planner, "model", "")
    planner = agent.planner.name + (f" ({model})" if model else "")
    with gr.Blocks(title="picseek") as app:
        gr.Markdown(f"### picseek — `{agent.searcher.root.name}` · model: **{model_label}** · planner: **{planner}**")
        c = _layout(_folders(agent), _places(agent))
        h = Handlers(agent, c)
        _wire(c, h)
        app.load(
            h.restore, c.saved, _outputs(c, "chat", "gallery", "session", "options", *FILTERS), api_visibility="private"
        )
    return app


FILTERS = ("f_from", "f_to", "f_orientation", "f_width", "f_height", "f_folder", "f_place")


def _outputs(c: SimpleNamespace, *names: str) -> list:
    return [getattr(c, n) for n in names]


def _folders(agent: Agent) -> list[str]:
    """The gallery's sub-folders with images, for the folder filter (read from disk: reading every record of a
    million-image index to find them held the UI's start for minutes)."""
    from picseek.tools.index import image_folders

    return image_folders(agent.searcher.root)


def _places(agent: Agent, most: int = 200_000) -> list[str]:
    """The places the index has photos from, for the place filter; none listed for an index so large that reading
    its records would hold up the start (a place can still be typed)."""
    from picseek.tools.places import index_places

    store = agent.searcher.store
    return list(index_places(store)) if store.count() <= most else []


def _layout(folders: list[str], places: list[str] = ()) -> SimpleNamespace:
    c = SimpleNamespace(session=gr.State(""), selected=gr.State(None), saved=gr.BrowserState(""))
    with gr.Row():
        with gr.Column(scale=2):
            c.chat = gr.Chatbot(label="Conversation", height=480, elem_id="chat", group_consecutive_messages=False)
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
            with gr.Accordion("Filters", open=False, elem_id="filters"):
                with gr.Row():
                    c.f_from = gr.Textbox(label="Taken from (YYYY-MM-DD)", elem_id="f-from")
                    c.f_to = gr.Textbox(label="Taken to", elem_id="f-to")
                with gr.Row():
                    c.f_orientation = gr.Dropdown(
                        ORIENTATIONS, value="any", label="Orientation", elem_id="f-orientation"
                    )
                    c.f_folder = gr.Dropdown(
                        [""] + folders, value="", label="Folder", allow_custom_value=True, elem_id="f-folder"
                    )
                with gr.Row():
                    c.f_width = gr.Number(0, label="Min width (px)", precision=0, minimum=0, elem_id="f-width")
                    c.f_height = gr.Number(0, label="Min height (px)", precision=0, minimum=0, elem_id="f-height")
                c.f_place = gr.Dropdown(
                    [""] + list(places),
                    value="",
                    label="Place (from GPS): 'Lisbon, Portugal', 'Japan', 'near Porto', 'not in Paris'",
                    allow_custom_value=True,
                    elem_id="f-place",
                )
                c.apply = gr.Button("Apply filters", elem_id="apply")
            with gr.Accordion("Search by example", open=False):
                # a file, not gr.Image: Gradio would decode an upload itself, outside the guarded decoder
                c.upload = gr.File(label="Example image", elem_id="upload", file_types=["image"], type="filepath")
                c.find = gr.Button("Find similar", elem_id="find")
            with gr.Row():
                c.k = gr.Slider(1, 50, value=12, step=1, label="Results (k)", elem_id="k")
                c.min_match = gr.Slider(
                    0, 100, value=0, step=5, label="Min match, 0–100 (0 = off)", elem_id="min-match"
                )
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
            c.detail = gr.HTML("", elem_id="detail")
    return c


def _wire(c: SimpleNamespace, h: Handlers) -> None:
    outs = _outputs(
        c, "chat", "gallery", "box", "detail", "upload", "options", "saved", *FILTERS, "session", "selected"
    )
    ins = [c.box, c.chat, c.session, c.k, c.min_match]
    private = {"api_visibility": "private"}

    def turn(event, fn, inputs, **kw) -> None:
        """A turn; then no tile stays drawn selected."""
        event(fn, inputs, outs, **kw).then(h.after_turn, None, c.gallery, **private)

    # a message sent while a turn runs is run after it, never dropped (what Gradio does to a repeated trigger)
    turn(c.box.submit, h.respond, ins, api_name="chat", trigger_mode="always_last")
    turn(c.send.click, h.respond, ins, trigger_mode="always_last", **private)
    turn(c.options.input, h.respond, [c.options, *ins[1:]], **private)
    # the place goes last: apply_filters takes it as its newest, optional, argument
    inputs = [*_outputs(c, *FILTERS[:-1]), *ins[1:], c.f_place]
    turn(c.apply.click, h.apply_filters, inputs, api_name="filters")
    c.new.click(h.new_search, None, outs, api_name="reset")
    c.gallery.select(h.select, c.session, [c.selected, c.detail], **private)
    clicks = ((c.more, "more like #{n}"), (c.less, "not like #{n}"), (c.good, "#{n} is right"), (c.bad, "not #{n}"))
    for button, template in clicks:
        turn(button.click, _clicker(h.refine, template), [c.selected, *ins[1:]], **private)
    turn(c.find.click, h.by_example, [c.upload, *ins[1:]], api_name="search_by_example")
    c.info.click(h.details, [c.selected, c.session], c.detail, api_name="details")


def _clicker(refine, template: str):
    def go(selected, history, session_json, k, min_match):
        yield from refine(template, selected, history, session_json, k, min_match)

    return go
