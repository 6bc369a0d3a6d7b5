"""The agent's tools. Both planners call them through `Toolbox.call`, so they take the same path.

`langchain_tools()` exposes search and captioning as plain LangChain tools for anyone's agent.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from agent.query import QueryPlan, merge
from agent.session import Session
from tools.errors import PicseekError
from tools.retrieve import MAX_K, Hit, ImageQuery, Searcher


class SearchArgs(BaseModel):
    """Search the user's image gallery. Rewrite the WHOLE conversation so far into one caption-style
    description of the wanted images (e.g. "a red car parked on a street at night"). Put exclusions in
    `negatives`, never in the description. Use `like`/`unlike` with result positions (1-based) for
    "more like #2" / "not like the first". Use `filters` for dates, orientation, size, format, folder, camera."""

    mode: Literal["new", "refine"] = Field("refine", description="new: a new topic; refine: narrow/adjust the current")
    description: str = Field("", description="caption-style description of the wanted images, <= 60 words")
    negatives: list[str] = Field(default_factory=list, description="concepts to exclude, e.g. ['people']")
    like: list[int] = Field(default_factory=list, description="positions of results to find more like")
    unlike: list[int] = Field(default_factory=list, description="positions of results to move away from")
    filters: dict = Field(
        default_factory=dict,
        description="date_from/date_to (YYYY-MM-DD), orientation "
        "(landscape|portrait|square), min_width, min_height, formats (list), folder, camera",
    )
    k: int | None = Field(None, description="number of results, 1-50")
    threshold: float | None = Field(None, description="minimum score; leave empty unless asked")


class CaptionArgs(BaseModel):
    """Write (or fetch) captions for results, by 1-based position, to see what they show."""

    positions: list[int] = Field(..., description="result positions, e.g. [1, 2, 3]")


class DetailsArgs(BaseModel):
    """Metadata of one result (size, date, camera, path), by 1-based position."""

    position: int


class ClarifyArgs(BaseModel):
    """Ask the user one short question, only when the request is truly ambiguous."""

    question: str


TOOL_SCHEMAS = {
    "search_images": SearchArgs,
    "caption_images": CaptionArgs,
    "image_details": DetailsArgs,
    "ask_clarifying_question": ClarifyArgs,
}


def openai_tools() -> list[dict]:
    return [
        {
            "type": "function",
            "function": {"name": name, "description": (m.__doc__ or "").strip(), "parameters": m.model_json_schema()},
        }
        for name, m in TOOL_SCHEMAS.items()
    ]


class ToolError(PicseekError):
    """A tool call that could not run; the message goes back to the planner as an observation."""


class Toolbox:
    """Runs tools against one session (a working copy: committed only when the turn succeeds)."""

    def __init__(
        self,
        searcher: Searcher,
        session: Session,
        captioner=None,
        max_k: int = 50,
        default_k: int | None = None,
        default_threshold: float | None = None,
    ):
        self.searcher, self.session, self.captioner, self.max_k = searcher, session, captioner, max_k
        self.default_k, self.default_threshold = default_k, default_threshold
        self.hits: list[Hit] = []
        self.query: ImageQuery | None = session.query
        self.question: str | None = None
        self.notes: list[str] = []
        self.searched = False  # whether a search ran in this turn

    def call(self, name: str, args: dict) -> dict:
        schema = TOOL_SCHEMAS.get(name)
        if schema is None:
            raise ToolError(f"unknown tool {name!r}; available: {', '.join(TOOL_SCHEMAS)}")
        try:
            parsed = schema.model_validate(args or {})
        except ValidationError as e:
            raise ToolError(
                "invalid arguments: " + "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors()[:5])
            ) from None
        return getattr(self, name)(parsed)

    def search_images(self, a: SearchArgs) -> dict:
        k = a.k
        if k is not None and not 1 <= k <= self.max_k:
            self.notes.append(f"asked for {k} results; showing {max(1, min(self.max_k, k))}")
            k = max(1, min(self.max_k, k))
        plan = QueryPlan(
            mode=a.mode,
            description=a.description,
            negatives=a.negatives,
            like=a.like,
            unlike=a.unlike,
            filters=a.filters,
            k=k,
            threshold=a.threshold,
        )
        return self.run_plan(plan)

    def run_plan(self, plan: QueryPlan) -> dict:
        if plan.k is None and self.default_k:
            plan = plan.model_copy(update={"k": self.default_k})
        if plan.threshold is None and self.default_threshold is not None:
            plan = plan.model_copy(update={"threshold": self.default_threshold})
        try:
            q = merge(self.query, plan, self.session.resolve)
            hits = self.searcher.search(q)
        except (PicseekError, ValueError) as e:
            raise ToolError(str(e)) from None
        self.query, self.hits, self.searched = q, hits, True
        self.session.query = q
        self.session.set_results(hits)
        return {
            "query": q.model_dump(mode="json"),
            "count": len(hits),
            "results": [
                {"position": h.rank, "file": h.metadata.get("name", ""), "score": h.score, "caption": h.caption}
                for h in hits
            ],
        }

    def caption_images(self, a: CaptionArgs) -> dict:
        if self.captioner is None:
            raise ToolError("no captioner is configured; describe results from their scores instead")
        ids = [self.session.resolve(p) for p in a.positions if 1 <= p <= len(self.session.results)]
        if not ids:
            raise ToolError("no such positions in the last results")
        from tools.caption import caption_images

        caption_images(self.searcher.store, self.captioner, ids=ids, mode="stale", progress=False)
        got = self.searcher.store.get(ids)
        caps = dict(zip(got["ids"], got["documents"]))
        for h in self.hits:
            if h.id in caps and caps[h.id]:
                h.caption = caps[h.id]
        self.session.set_results(self.hits)
        return {
            "captions": [
                {"position": r.position, "caption": caps.get(r.id)} for r in self.session.results if r.id in caps
            ]
        }

    def image_details(self, a: DetailsArgs) -> dict:
        rid = self.session.resolve(a.position)
        got = self.searcher.store.get([rid])
        if not got["ids"]:
            raise ToolError(f"result #{a.position} is no longer in the index")
        meta = got["metadatas"][0]
        return {
            "position": a.position,
            "path": str(self.searcher.root / meta.get("path", "")),
            "caption": got["documents"][0],
            "metadata": meta,
        }

    def ask_clarifying_question(self, a: ClarifyArgs) -> dict:
        self.question = a.question
        return {"asked": True}


def langchain_tools(searcher: Searcher, captioner=None) -> list:
    """Plain LangChain tools over a picseek index, for use in any LangChain agent."""
    from langchain_core.tools import StructuredTool

    def search_images(
        description: str = "", negatives: list[str] | None = None, k: int = 10, filters: dict | None = None
    ) -> list[dict]:
        q = ImageQuery(text=description, negatives=negatives or [], k=max(1, min(MAX_K, k)), filters=filters or {})
        return [{"path": h.path, "score": h.score, "caption": h.caption} for h in searcher.search(q)]

    def caption_images(paths: list[str]) -> list[dict]:
        from tools.caption import caption_images as run

        ids = searcher.ref_ids([str(p) for p in paths])
        if captioner is not None:
            run(searcher.store, captioner, ids=ids, progress=False)
        got = searcher.store.get(ids)
        found = {i: (m, d) for i, m, d in zip(got["ids"], got["metadatas"], got["documents"])}
        return [{"path": str(searcher.root / found[i][0]["path"]), "caption": found[i][1]} for i in ids if i in found]

    return [
        StructuredTool.from_function(
            search_images,
            name="search_images",
            description="Search an indexed image folder by description; returns "
            "paths, scores and captions in rank order.",
        ),
        StructuredTool.from_function(
            caption_images, name="caption_images", description="Captions for images of the indexed folder, by path."
        ),
    ]
