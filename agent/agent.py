"""One agent loop for every face (terminal chat, `picseek ask`, the UI, evals).

A turn: planner (LLM, or the offline tracker) -> a new search state -> search -> captions for the top results
-> the question step -> a grounded explanation. The turn works on a copy of the session and only a successful
turn replaces it; failures become a sentence in the reply.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from agent.explain import explain, explain_failure, nothing_matches, reason
from agent.questions import Questioner, keys
from agent.safety import sanitize
from agent.session import Message, Session
from agent.state import Question, SearchState, changes
from agent.tools import CANDIDATES, Toolbox, ToolError
from agent.tracker import Tracker
from tools.errors import PicseekError
from tools.retrieve import Filters, Hit, ImageQuery, Searcher
from tools.usage import UsageLog

log = logging.getLogger(__name__)
MAX_MESSAGES = 200  # the conversation a session keeps (and a browser stores)


def shown_message(message: str, examples: list[str] | None = None, filters=None) -> str:
    """The user's side of a turn in the conversation, also when it was an upload or the filter controls."""
    return message or ("(search by example image)" if examples else "(filters changed)" if filters else "")


UNDO = ("undo", "undo that", "go back", "back", "previous search", "take that back")


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
    question: Question | None = None
    failed: bool = False  # the turn could not run: the reply says why, and the session is as it was

    def to_json(self) -> dict:
        return {
            "reply": self.reply,
            "planner": self.planner,
            "question": self.question.text if self.question else None,
            "options": list(self.question.options) if self.question else [],
            "nothing_matches": nothing_matches(self.hits),
            "state": self.session.state.model_dump(mode="json", exclude_defaults=True),
            "query": self.query.model_dump(mode="json") if self.query else None,
            "hits": [
                {
                    "rank": h.rank,
                    "id": h.id,
                    "path": h.path,
                    "score": h.score,
                    "match": h.match,
                    "strength": h.strength,
                    "reason": h.reason,
                    "caption": h.caption,
                    "duplicates": h.duplicates,
                    "metadata": h.metadata.model_dump(),
                }
                for h in self.hits
            ],
        }


class Agent:
    def __init__(
        self,
        searcher: Searcher,
        llm=None,
        captioner=None,
        caption_top: int = 3,
        ask: bool = True,
        tracker: Tracker | None = None,
        usage: UsageLog | None = None,
        keep_duplicates: bool = False,
    ):
        self.searcher, self.llm, self.captioner, self.caption_top = searcher, llm, captioner, caption_top
        self.usage = usage
        self.tracker = tracker or Tracker()
        self.questioner = Questioner() if ask else None
        self.keep_duplicates = keep_duplicates  # near-duplicates are collapsed into one result unless kept

    def run(
        self,
        session: Session,
        message: str,
        examples: list[str] | None = None,
        k: int | None = None,
        min_match: int | None = None,
        filters: Filters | None = None,
    ) -> Iterator[Event | TurnResult]:
        """Stream a turn's events; the last item is the TurnResult (with the new session).

        `k`/`min_match` are the UI's settings: they apply unless the user's words ask otherwise ("show me 20").
        `examples` are image files to search by (e.g. an upload); such a turn is planned offline, since the
        language model cannot see the image. `filters` (the UI's filter controls) replace the state's filters
        before the message is read; an empty message with filters runs the current search with them.
        """
        t0 = time.monotonic()
        message = message.strip()[:2000]
        said = shown_message(message, examples, filters)
        before = session.state
        yield Event("status", "searching…")
        try:
            box, planner, lead = yield from self._plan(session, message, examples, k, min_match, filters)
        except (ToolError, PicseekError) as e:
            reply = explain_failure(sanitize(str(e), 300))
            return (yield from self._finish(session, None, said, reply, "offline", [], t0))
        except Exception as e:  # a bug must cost one turn, never the conversation: a sentence, the log has the rest
            log.exception("turn failed")
            reply = explain_failure(f"something went wrong on my side ({type(e).__name__}); nothing was changed.")
            return (yield from self._finish(session, None, said, reply, "offline", [], t0))
        hits = box.hits
        yield Event("results", hits=hits)
        self._caption(box)
        for h in hits:
            h.reason = reason(h, box.session.state)
        box.session.set_results(hits)
        if nothing_matches(hits):
            box.question = None  # not even a question the LLM asked: the reply does not show one
        elif box.question is None:  # the LLM's own question, checked by the ask tool, comes first
            box.question = self._question(box)
        if box.question is not None:
            box.session.asked_before = [*box.session.asked_before, *keys(box.question)]
        box.session.asked = box.question
        reply = explain(
            box.session.state, box.query, hits, planner, lead, changes(before, box.session.state), box.question
        )
        return (yield from self._finish(session, box, said, reply, planner, hits, t0))

    def _plan(self, session: Session, message: str, examples, k, min_match, filters=None):
        """Run a planner; returns (toolbox with results, planner name, lead text for the reply)."""
        work = self._working_copy(session, min_match)
        box = self._toolbox(work, k, min_match)
        note = ""
        if self.llm is not None and not examples and message:
            try:
                text = self.llm.run(session, message, box)
                if box.searched:
                    return box, self.llm.name, " ".join([*box.notes, sanitize(text, 400)]).strip()
                note = "The language model did not search; the offline planner answered."
            except Exception as e:  # any LLM failure falls back to the offline planner, never a crashed turn
                log.warning("LLM planner failed: %r", e)
                note = f"The language model could not be used ({type(e).__name__}); the offline planner answered."
            work = self._working_copy(session, min_match)
            box = self._toolbox(work, k, min_match)
        yield Event("status", "reading your message…")
        state, unknown = self._offline_state(work, message, examples, filters)
        box.run_state(state)
        words = ", ".join(f"“{sanitize(w, 30)}”" for w in unknown[:3])
        unknown_note = f"I don't know the word{'s' if len(unknown) > 1 else ''} {words}." if unknown else ""
        return box, self.tracker.name, " ".join(x for x in (note, *box.notes, unknown_note) if x)

    def _toolbox(self, work: Session, k: int | None, min_match: int | None) -> Toolbox:
        return Toolbox(self.searcher, work, self.captioner, k, min_match, self.questioner, self.keep_duplicates)

    @staticmethod
    def _working_copy(session: Session, min_match: int | None) -> Session:
        """The copy a turn works on, with the UI's minimum match (its k is only the default: see Toolbox)."""
        work = session.model_copy(deep=True)
        if min_match is not None:  # 0 switches the minimum off
            work.state = work.state.model_copy(update={"min_match": min_match or None})
        return work

    def _offline_state(self, work: Session, message: str, examples, filters=None) -> tuple[SearchState, list[str]]:
        if message.lower().strip(" .!") in UNDO:
            if not work.history:
                raise ToolError("there is nothing to undo yet.")
            state = work.history[-1]
            work.history = work.history[:-1]
            work.state = state
            return state, []
        base = work.state if filters is None else work.state.model_copy(update={"filters": filters})
        if not message and not examples:  # the filter controls changed: the same search, filtered anew
            return base, []
        if not message:
            return SearchState(k=work.state.k, like=list(examples)), []
        up = self.tracker.update(base, message, asked=work.asked, resolve=work.resolve)
        if examples:
            up.state.like = [*up.state.like, *examples]
        return up.state, up.unknown

    def _caption(self, box: Toolbox) -> None:
        """Captions missing from the index, made in one pass: the top results shown, and the candidates the
        question step reads (which include them)."""
        wanted = box.candidates[:CANDIDATES] if self.questioner is not None else box.hits[: self.caption_top]
        if self.captioner is None or not wanted:
            return
        try:  # captions are a nicety: a failure never loses the results
            box.caption_hits(wanted)
        except Exception as e:
            log.warning("captioning failed: %r", e)

    def _question(self, box: Toolbox) -> Question | None:
        """The offline question step: what would split the top candidates most."""
        if self.questioner is None or len(box.candidates) < 5:
            return None
        try:
            return self.questioner.ask(box.session, box.candidates[:CANDIDATES])
        except Exception as e:  # a question is a nicety too
            log.warning("question step failed: %r", e)
            return None

    def _finish(self, old: Session, box: Toolbox | None, message: str, reply: str, planner: str, hits, t0):
        new = box.session if box is not None else old.model_copy(deep=True)
        said = [Message(role="user", content=message), Message(role="assistant", content=reply)]
        new.messages = (old.messages + said)[-MAX_MESSAGES:]
        yield Event("reply", text=reply)
        question = box.question if box is not None else None
        seconds = round(time.monotonic() - t0, 4)
        query = box.query if box else old.query
        result = TurnResult(reply, planner, query, hits, new, seconds, question, failed=box is None)
        if self.usage is not None:
            self._log(old, result, message)
        yield result
        return result

    def _log(self, old: Session, r: TurnResult, message: str) -> None:
        """The turn, and the feedback it carried ('#3 is right', 'not #3', thumbs), to the local usage log."""
        new = r.session
        changed = changes(old.state, new.state)
        shown = {x.id: x.position for x in old.results}
        for ids, good in ((new.state.like, True), (new.state.unlike, False)):
            for i in ids:
                if i in shown and i not in (old.state.like if good else old.state.unlike):
                    self.usage.feedback(new.id, shown[i], i, good)
        self.usage.turn(
            new.id,
            turn=len(new.messages) // 2,
            message=message,
            planner=r.planner,
            new_search=old.state.is_empty() or bool(changed and changed[0].startswith("new search")),
            state=new.state.model_dump(mode="json", exclude_defaults=True),
            results=[h.id for h in r.hits],
            nothing=nothing_matches(r.hits),
            question=r.question.text if r.question else None,
            seconds=r.seconds,
            error=r.failed,
        )

    def turn(self, session: Session, message: str, examples: list[str] | None = None, **settings) -> TurnResult:
        """Run a turn to completion and return its result (`settings`: k, min_match, filters as for `run`)."""
        out = None
        for item in self.run(session, message, examples, **settings):
            if isinstance(item, TurnResult):
                out = item
        assert out is not None
        return out
