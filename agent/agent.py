"""One agent loop for every face (terminal chat, `picseek ask`, the UI, evals).

A turn: planner (LLM, or offline rules) -> tool calls (search, captions) -> grounded explanation. The turn works
on a copy of the session and only a successful turn replaces it; failures become a sentence in the reply.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from agent.explain import explain
from agent.offline import OfflinePlanner
from agent.query import QueryPlan
from agent.safety import sanitize
from agent.session import Message, Session
from agent.tools import CaptionArgs, Toolbox, ToolError
from tools.retrieve import Hit, ImageQuery, Searcher

log = logging.getLogger(__name__)


@dataclass
class Event:
    kind: str  # "status" | "results" | "reply"
    text: str = ""
    hits: list[Hit] = field(default_factory=list)


@dataclass
class TurnResult:
    reply: str
    planner: str
    query: ImageQuery | None
    hits: list[Hit]
    session: Session
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {
            "reply": self.reply,
            "planner": self.planner,
            "query": self.query.model_dump(mode="json") if self.query else None,
            "hits": [
                {
                    "rank": h.rank,
                    "id": h.id,
                    "path": h.path,
                    "score": h.score,
                    "caption": h.caption,
                    "metadata": h.metadata,
                }
                for h in self.hits
            ],
        }


class Agent:
    def __init__(self, searcher: Searcher, llm=None, captioner=None, caption_top: int = 3):
        self.searcher, self.llm, self.captioner, self.caption_top = searcher, llm, captioner, caption_top
        self.offline = OfflinePlanner()

    def run(
        self,
        session: Session,
        message: str,
        examples: list[str] | None = None,
        k: int | None = None,
        threshold: float | None = None,
    ) -> Iterator[Event | TurnResult]:
        """Stream a turn's events; the last item is the TurnResult (with the new session).

        `k`/`threshold` are the UI's settings: they apply unless the user's words ask otherwise ("show me 20").

        `examples` are image files to search by (e.g. an upload); such a turn is planned offline, since the
        language model cannot see the image.
        """
        t0 = time.monotonic()
        message = message.strip()[:2000]
        work = session.model_copy(deep=True)
        if work.query is not None and (k or threshold is not None):
            work.query = work.query.model_copy(update={"k": k or work.query.k, "threshold": threshold})
        box = Toolbox(self.searcher, work, self.captioner, default_k=k, default_threshold=threshold)
        planner, note, llm_text = self.offline.name, "", ""
        yield Event("status", "searching…")
        if self.llm is not None and not examples:
            try:
                llm_text = self.llm.run(session, message, box)
                planner = self.llm.name
            except Exception as e:  # any LLM failure falls back to the offline planner, never a crashed turn
                log.warning("LLM planner failed: %r", e)
                note = f"The language model could not be used ({type(e).__name__}); the offline planner answered."
                work = session.model_copy(deep=True)
                box = Toolbox(self.searcher, work, self.captioner, default_k=k, default_threshold=threshold)
            if planner == "llm" and box.question:
                return (
                    yield from self._finish(session, work, message, sanitize(box.question, 500), planner, None, [], t0)
                )
            if planner == "llm" and not box.searched:
                note = "The language model did not search; the offline planner answered."
                planner, llm_text = self.offline.name, ""
        if planner == self.offline.name:
            try:
                plan = self.offline.plan(message, work) if message else QueryPlan(mode="new")
                if examples:
                    plan.like += examples
                    plan.mode = "new" if not message else plan.mode
                box.run_plan(plan)
            except ToolError as e:
                return (
                    yield from self._finish(
                        session,
                        session.model_copy(deep=True),
                        message,
                        f"I could not run that search: {sanitize(str(e), 300)}",
                        planner,
                        session.query,
                        [],
                        t0,
                        keep_state=True,
                    )
                )
        hits = box.hits
        yield Event("results", hits=hits)
        if self.captioner is not None and hits:
            missing = [h.rank for h in hits[: self.caption_top] if not h.caption]
            if missing:
                yield Event("status", "captioning the top results…")
                try:
                    box.caption_images(CaptionArgs(positions=missing))
                except Exception as e:  # captions are a nicety: a failure never loses the results
                    log.warning("captioning failed: %r", e)
        notes = " ".join(box.notes)
        lead = " ".join(x for x in (note, notes, sanitize(llm_text, 400) if llm_text else "") if x)
        reply = explain(box.query or ImageQuery(), hits, planner, lead)
        return (yield from self._finish(session, work, message, reply, planner, box.query, hits, t0))

    def _finish(
        self,
        old: Session,
        work: Session,
        message: str,
        reply: str,
        planner: str,
        query: ImageQuery | None,
        hits: list[Hit],
        t0: float,
        keep_state: bool = False,
    ):
        new = old.model_copy(deep=True) if keep_state else work
        new.messages = old.messages + [Message(role="user", content=message), Message(role="assistant", content=reply)]
        yield Event("reply", text=reply)
        result = TurnResult(reply, planner, query, hits, new, round(time.monotonic() - t0, 4))
        yield result
        return result

    def turn(
        self,
        session: Session,
        message: str,
        examples: list[str] | None = None,
        k: int | None = None,
        threshold: float | None = None,
    ) -> TurnResult:
        """Run a turn to completion and return its result."""
        out = None
        for item in self.run(session, message, examples, k=k, threshold=threshold):
            if isinstance(item, TurnResult):
                out = item
        assert out is not None
        return out
