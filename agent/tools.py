"""The agent's tools. Both planners and `langchain_tools()` call them through `Toolbox.call`, so every caller takes
the same path with the same limits, and a bad call becomes a `ToolError` the caller can act on.

The search tool's schema is generated from `SearchState`: the language model fills the same typed state the
offline tracker builds.
"""

from __future__ import annotations

from types import UnionType
from typing import Literal, Union, get_args, get_origin

from picseek.agent.errors import ToolError
from picseek.agent.session import Session
from picseek.agent.state import Question, SearchState, Setting, Slot, Subject
from picseek.tools.errors import PicseekError
from picseek.tools.records import ImageRecord
from picseek.tools.retrieve import Filters, Hit, ImageQuery, Searcher
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

MAX_TOOL_K = 50
CANDIDATES = 40  # how many top results the question step (and the LLM's look at candidates) considers


# Short descriptions for the model: the schema goes out with every request, and small local models read a short,
# flat schema better than the long documented one (`SearchState` keeps the long descriptions for people).
_SAY = {  # by field name, or Model.field where two models share a name
    "noun": "singular: 'dog', 'sports car'",
    "color": "e.g. 'dark blue'",
    "count": "only if said",
    "excluded": "true: must NOT show",
    "Setting.place": "as said: 'on a lake'",
    "Filters.place": "where taken (GPS)",
    "words": "other description words",
    "negatives": "unwanted concepts, not things",
    "like": "result positions to look like",
    "unlike": "result positions to move away from",
    "k": "results wanted, if asked",
}
_CLOSED = ConfigDict(extra="forbid")  # an unknown key, at any level, is an error the model is told about


def _closed(model: type[BaseModel], name: str, skip: tuple[str, ...] = (), **extra) -> type[BaseModel]:
    """`model`'s fields (types and defaults; short descriptions) as a closed argument model: the typed state stays
    the one source, and its own validators run when the arguments become a `SearchState`."""
    fields = {}
    for n, f in model.model_fields.items():
        if n in skip:
            continue
        default = {"default_factory": f.default_factory} if f.default_factory else {"default": f.default}
        say = _SAY.get(f"{model.__name__}.{n}", _SAY.get(n))
        fields[n] = (_closed_type(f.annotation), Field(**default, description=say))
    return create_model(name, __config__=_CLOSED, **fields, **extra)


def _closed_type(annotation):
    """The annotation with every model in it (`M`, `M | None`, `list[M]`) closed as well: unknown keys are refused
    at every level, also in models other parts of picseek add to the state (a place filter, ...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _closed(annotation, annotation.__name__)
    args = get_args(annotation)
    if not args:
        return annotation
    closed = tuple(_closed_type(a) for a in args)
    if closed == args:
        return annotation
    if get_origin(annotation) in (Union, UnionType):
        return Union[closed]  # noqa: UP007  (built from a tuple)
    return get_origin(annotation)[closed if len(closed) > 1 else closed[0]]


SubjectArgs = _closed(Subject, "Subject")
SettingArgs = _closed(Setting, "Setting")
FilterArgs = _closed(Filters, "Filters")


def _search_args() -> type[BaseModel]:
    refs = list[int | str]
    return _closed(
        SearchState,
        "search_images",
        # phrases are the offline reader's record of the user's words; the model's state renders from its slots
        skip=("phrases", "subjects", "setting", "filters", "like", "unlike", "k", "min_match", "focus"),
        __doc__="The WHOLE search now: current state plus this message. Unwanted things: excluded=true.",
        subjects=(list[SubjectArgs], Field(default_factory=list)),
        setting=(SettingArgs, Field(default_factory=SettingArgs)),
        filters=(FilterArgs, Field(default_factory=FilterArgs)),
        like=(refs, Field(default_factory=list, description=_SAY["like"])),
        unlike=(refs, Field(default_factory=list, description=_SAY["unlike"])),
        k=(int | None, Field(None, description=_SAY["k"])),
    )


SearchArgs = _search_args()


class CaptionArgs(BaseModel):
    """Captions of results, by position."""

    model_config = _CLOSED
    positions: list[int]


class DetailsArgs(BaseModel):
    """Size, date and format of a result, by position."""

    model_config = _CLOSED
    position: int


class CandidatesArgs(BaseModel):
    """Top candidates' captions and what is known, before asking."""

    model_config = _CLOSED
    n: int = Field(CANDIDATES, ge=5, le=60, description="5-60")


class AskArgs(BaseModel):
    """Ask ONE short question that splits the candidates, 2-4 options from their captions; nothing known or asked
    before."""

    model_config = _CLOSED
    question: str = Field(..., max_length=300)
    kind: Literal["attribute", "setting", "presence"] = Field(
        ..., description="attribute: color/size/count; setting: time/place/season/weather"
    )
    slot: Slot | None = None
    noun: str | None = None
    options: list[str] = Field(default_factory=list, max_length=4)

    @model_validator(mode="after")
    def _slot_fits_kind(self):
        allowed = {"attribute": ("color", "size", "count"), "setting": ("time", "place", "season", "weather")}
        if self.kind in allowed and self.slot not in allowed[self.kind]:
            raise ValueError(f"a {self.kind} question needs slot one of {', '.join(allowed[self.kind])}")
        return self


TOOL_SCHEMAS: dict[str, type[BaseModel]] = {
    "search_images": SearchArgs,
    "caption_images": CaptionArgs,
    "image_details": DetailsArgs,
    "look_at_candidates": CandidatesArgs,
    "ask_user": AskArgs,
}
# Checked by our own validation (a tool error the model can correct), so not sent: fewer keywords for small
# servers to trip on, and a shorter schema in every request.
_UNSENT = ("default", "minimum", "maximum", "maxLength", "maxItems", "minItems", "title")


def _compact(schema):
    """OpenAI's nullable form (`"type": ["string", "null"]`, which strict mode documents) instead of pydantic's
    `anyOf` with null, and no keywords our validation checks anyway."""
    if isinstance(schema, list):
        return [_compact(x) for x in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _compact(v) for k, v in schema.items() if k not in _UNSENT or k == "properties"}
    if "properties" in schema:
        out["properties"] = {k: _compact(v) for k, v in schema["properties"].items()}
    variants = out.get("anyOf")
    if variants and all(set(v) <= {"type", "enum", "format", "items", "description"} for v in variants):
        types = [v["type"] for v in variants]
        merged = {k: v for x in variants for k, v in x.items() if k != "type"}
        if (
            all(isinstance(t, str) for t in types)
            and len(types) == len(set(types))
            and not ("items" in merged and types.count("array") != 1)
        ):
            out.pop("anyOf")
            if "enum" in merged and "null" in types:
                merged["enum"] = [*merged["enum"], None]
            out = {**merged, **out, "type": types}
    return out


def tool_schema(name: str, strict: bool = True) -> dict:
    """One tool in OpenAI's format, made by LangChain's own conversion (nested models inlined, every object closed),
    then compacted. `strict`: OpenAI's strict form, every field listed as required (nullable where optional); else
    only the fields without a default are required, so a small model need not write out every null."""
    from langchain_core.utils.function_calling import convert_to_openai_tool

    tool = convert_to_openai_tool(TOOL_SCHEMAS[name], strict=strict)
    fn = tool["function"]
    fn["name"] = name
    fn["description"] = " ".join((TOOL_SCHEMAS[name].__doc__ or "").split())
    fn["parameters"] = _compact(fn["parameters"])
    if not strict:
        fn.pop("strict", None)  # not sent at all to servers that may not know the field
    return tool


def openai_tools(strict: bool = False) -> list[dict]:
    """Every tool's schema: for OpenAI's strict mode, or (default) the same closed schema with only the fields
    without a default required, for servers that do not know the flag."""
    return [tool_schema(name, strict) for name in TOOL_SCHEMAS]


def _errors(e: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, x['loc'])) or 'arguments'}: {x['msg']}" for x in e.errors()[:6])


class Toolbox:
    """Runs tools against one session (a working copy: committed only when the turn succeeds)."""

    def __init__(
        self,
        searcher: Searcher,
        session: Session,
        captioner=None,
        default_k: int | None = None,
        default_min_match: int | None = None,
        questioner=None,
        keep_duplicates: bool = False,
    ):
        self.searcher, self.session, self.captioner = searcher, session, captioner
        self.keep_duplicates = keep_duplicates  # rank every image, near-duplicates too (the target protocol)
        self.default_k, self.default_min_match = default_k or 10, default_min_match
        self.questioner = questioner
        self.hits: list[Hit] = []
        self.candidates: list[Hit] = []
        self.query: ImageQuery | None = session.query
        self.question: Question | None = None
        self.notes: list[str] = []
        self.searched = False  # whether a search ran in this turn
        # What image_details may tell its caller: paths and every metadata field only when the user allowed it
        # (--llm-share-metadata) or the planner's model runs on this machine; set by the planner.
        self.share_metadata = False
        self.fallback: str | None = None  # why the chosen planner did not plan this turn, when it did not

    def call(self, name: str, args: dict) -> dict:
        schema = TOOL_SCHEMAS.get(name)
        if schema is None:
            raise ToolError(f"unknown tool {name!r}; available: {', '.join(TOOL_SCHEMAS)}")
        try:
            parsed = schema.model_validate(args or {})
        except ValidationError as e:
            raise ToolError(f"invalid arguments: {_errors(e)}. Call {name} again with corrected arguments.") from None
        return getattr(self, name)(parsed)

    def search_images(self, a: BaseModel) -> dict:
        data = a.model_dump()
        k = data.pop("k")
        if k is not None and not 1 <= k <= MAX_TOOL_K:
            self.notes.append(f"asked for {k} results; showing {max(1, min(MAX_TOOL_K, k))}")
            k = max(1, min(MAX_TOOL_K, k))
        try:
            data["like"] = [self._reference(r) for r in data["like"]]
            data["unlike"] = [self._reference(r) for r in data["unlike"]]
            state = SearchState.model_validate({**data, "k": k or self.session.state.k})
        except (PicseekError, ValidationError) as e:
            raise ToolError(str(e) if isinstance(e, PicseekError) else _errors(e)) from None
        return self.run_state(state)

    def _reference(self, ref: int | str) -> str:
        """A result position or an image id the session has shown, or one kept in the state; never a path."""
        rid = self.session.resolve(ref)
        known = {r.id for r in self.session.results} | set(self.session.state.like) | set(self.session.state.unlike)
        if rid not in known and not (isinstance(ref, int) or str(ref).lstrip("#-").isdecimal()):
            raise ToolError(f"{str(ref)[:40]!r} is not a shown result: like/unlike take result positions (1-based).")
        return rid

    def run_state(self, state: SearchState) -> dict:
        """Search with a state, and make it the session's current state."""
        if state.is_empty():
            raise ToolError("nothing to search for: describe something, or point at a result ('more like #2').")
        q = state.to_query(self.default_k, self.default_min_match)
        try:
            wide = self.searcher.search(
                q.model_copy(update={"k": max(q.k, CANDIDATES), "collapse_duplicates": not self.keep_duplicates})
            )
        except (PicseekError, ValueError) as e:
            raise ToolError(str(e)) from None
        self.candidates, self.hits = wide, wide[: q.k]  # the same Hit objects: a caption fills both
        self.query, self.searched = q, True
        self.session.remember(state)
        self.session.query = q
        self.session.set_results(self.hits)
        return {
            "search": state.describe(),
            "text": q.text,
            "count": len(self.hits),
            "results": [
                {
                    "position": h.rank,
                    "file": h.metadata.name,
                    "match": f"{h.strength} ({h.match}/100)",
                    "caption": h.caption,
                }
                for h in self.hits
            ],
        }

    def caption_images(self, a: CaptionArgs) -> dict:
        if self.captioner is None:
            raise ToolError("no captioner is configured; describe results from their scores instead")
        if not self.hits:
            raise ToolError("search first: captions are for the results of this turn's search")
        wanted = [p for p in a.positions if 1 <= p <= len(self.hits)]
        if not wanted:
            raise ToolError(f"no such positions; this search showed {len(self.hits)} results")
        self.caption_hits([self.hits[p - 1] for p in wanted])
        self.session.set_results(self.hits)
        return {"captions": [{"position": h.rank, "caption": h.caption} for h in self.hits if h.rank in wanted]}

    def caption_hits(self, hits: list[Hit]) -> None:
        """Captions for these hits, made now where the index has none (and stored, so made once)."""
        missing = [h.id for h in hits if not h.caption]
        if not missing or self.captioner is None:
            return
        from picseek.tools.caption import caption_images

        caption_images(self.searcher.store, self.captioner, ids=missing, mode="stale", progress=False)
        caps = {r.id: r.caption for r in self.searcher.store.get(missing)}
        for h in self.candidates:  # the hits are its first k
            if not h.caption and caps.get(h.id):
                h.caption = caps[h.id]

    def record(self, position: int) -> ImageRecord:
        """The index's record of a shown result, by 1-based position."""
        rid = self.session.resolve(position)
        got = self.searcher.store.get([rid])
        if not got:
            raise ToolError(f"result #{position} is no longer in the index")
        return got[0]

    def image_details(self, a: DetailsArgs) -> dict:
        """A result's details. Unless sharing was allowed, only what a remote model needs to answer about the
        picture: never the path, GPS, the camera or any other EXIF text."""
        r = self.record(a.position)
        if self.share_metadata:
            return {
                "position": a.position,
                "path": str(self.searcher.root / r.meta.path),
                "caption": r.caption,
                "metadata": r.meta.model_dump(),
            }
        m = r.meta
        return {
            "position": a.position,
            "file": m.name,
            "caption": r.caption,
            "metadata": {
                "width": m.width,
                "height": m.height,
                "format": m.format,
                "taken": (m.taken or "")[:10] or None,
            },
        }

    def look_at_candidates(self, a: CandidatesArgs) -> dict:
        """PlugIR's retrieval context: what is known, and what the top candidates' captions say."""
        if not self.candidates:
            raise ToolError("search first: there are no candidates yet")
        top = self.candidates[: a.n]
        self.caption_hits(top)
        out = {
            "known": self.session.state.describe(),
            "already_asked": self.session.asked_before,
            "candidates": [{"rank": h.rank, "score": h.score, "caption": h.caption} for h in top],
        }
        if self.questioner is not None:
            out["splits"] = self.questioner.splits(self.session, top)
        return out

    def ask_user(self, a: AskArgs) -> dict:
        q = Question(kind=a.kind, slot=a.slot, noun=a.noun, options=a.options, text=a.question)
        if self.questioner is None:
            raise ToolError("asking questions is switched off")
        problem, grounded = self.questioner.check(self.session, q, self.candidates)
        if problem:
            raise ToolError(f"not asked: {problem}")
        # What the model chose to ask, in our words and with options taken from the captions (never its text).
        self.question = grounded
        return {"asked": grounded.text, "options": grounded.options}


def langchain_tools(searcher: Searcher, captioner=None) -> list:
    """The agent's search and caption tools as LangChain tools, for use in any LangChain agent.

    They run through `Toolbox.call`, so they validate and bound exactly as the agent does. They share one session
    for their lifetime: `like=[2]` means the second result of their last search.
    """
    from langchain_core.tools import StructuredTool, ToolException

    box = Toolbox(searcher, Session(), captioner)

    def run(name: str, args: dict) -> dict:
        try:
            return box.call(name, args)
        except ToolError as e:  # the calling agent sees the sentence and can correct its arguments
            raise ToolException(str(e)) from None

    def search_images(**kwargs) -> dict:
        return run("search_images", kwargs)

    def caption_images(positions: list[int]) -> dict:
        return run("caption_images", {"positions": positions})

    tools = ((search_images, SearchArgs), (caption_images, CaptionArgs))
    return [
        StructuredTool.from_function(
            fn, name=fn.__name__, description=(schema.__doc__ or "").strip(), args_schema=schema, handle_tool_error=True
        )
        for fn, schema in tools
    ]
