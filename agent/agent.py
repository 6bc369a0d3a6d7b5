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

from picseek.agent.english.cues import last_was_undo, undo_steps
from picseek.agent.errors import LLMUnavailable
from picseek.agent.explain import explain, explain_failure, nothing_matches, reason
from picseek.agent.planner import OfflinePlanner, Plan, Planner
from picseek.agent.questions import Questioner, keys
from picseek.agent.safety import sanitize
from picseek.agent.session import Message, Session
from picseek.agent.state import Question, SearchState, changes
from picseek.agent.tools import CANDIDATES, Toolbox, ToolError
from picseek.tools.errors import PicseekError
from picseek.tools.probes import Probes
from picseek.tools.retrieve import Filters, Hit, ImageQuery, Searcher
from picseek.tools.usage import UsageLog

log = logging.getLogger(__name__)
MAX_MESSAGES = 200  # the conversation a session keeps (and a browser stores)


def shown_message(message: str, examples: list[str] | None = None, filters=None) -> str:
    """The user's side of a turn in the conversation, also when it was an upload or the filter controls."""
    return message or ("(search by example image)" if examples else "(filters changed)" if filters else "")


def is_undo(message: str) -> bool:
    """Whether the message, as a whole, asks to undo the last change (for every planner: the loop's own step); a
    longer message that merely contains "back" is a description ("a dog's back")."""
    return undo_steps(message) > 0


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
    planner_fallback: str | None = None  # why the chosen planner did not plan this turn (the offline one did)

    def to_json(self) -> dict:
        return {
            "reply": self.reply,
            "planner": self.planner,
            "planner_fallback": self.planner_fallback,
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
        planner: Planner | None = None,
        captioner=None,
        caption_top: int = 3,
        ask: bool = True,
        usage: UsageLog | None = None,
        keep_duplicates: bool = False,
        fallback: Planner | None = None,
        captions: bool = True,
        caption_worker=None,
    ):
        """`planner` reads each message (the offline one when None); `fallback` takes a turn the planner cannot
        (a failing service, a model that did not search) and every search by example image: it needs no network.
        `captions`: False asks and explains from the image vectors alone (--no-captions)."""
        self.searcher, self.captioner, self.caption_top = searcher, captioner, caption_top
        self.fallback = fallback or (planner if isinstance(planner, OfflinePlanner) else OfflinePlanner())
        self.planner = planner or self.fallback
        self.usage = usage
        self.captions = captions
        # facts from the stored image vectors: questions and reasons need no captioning model
        self._reader = Questioner(probes=Probes(searcher), captions=captions)
        self.questioner = self._reader if ask else None
        self.keep_duplicates = keep_duplicates  # near-duplicates are collapsed into one result unless kept
        # a `tools.caption_worker.CaptionWorker`: when set, a turn hands it the ids to caption and never waits
        self.caption_worker = caption_worker

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
        seen = self._facts(box.session.state, hits)
        for h, f in zip(hits, seen):
            h.reason = reason(h, box.session.state, f, captions=self.captions)
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
        """Run the planner (the fallback when it cannot); returns (toolbox with results, planner name, lead text)."""
        work = self._working_copy(session, min_match, filters)
        box = self._toolbox(work, k, min_match)
        said = [m.content for m in session.messages if m.role == "user"]
        steps = undo_steps(message, after_undo=last_was_undo(said))
        if steps:  # the same for every planner: the state before the last change (or the last few)
            if not work.history:
                raise ToolError("there is nothing to undo yet.")
            steps = min(steps, len(work.history))
            work.state, work.history = work.history[-steps], work.history[:-steps]
            box.run_state(work.state)
            return box, self.planner.name, " ".join(box.notes)
        if not message:  # an upload, or the filter controls changed: the same search, by example or filtered anew
            state = SearchState(k=work.state.k, like=list(examples)) if examples else work.state
            box.run_state(state)
            return box, self.fallback.name, " ".join(box.notes)
        note, why = "", None
        if self.planner is not self.fallback and not examples:
            try:
                plan = self.planner.plan(message, work, box)
                if box.searched or plan.state != work.state:
                    return self._searched(box, plan), self.planner.name, self._lead(box, plan)
                why = "the model did not call search_images"
                note = f"The {self.planner.name} planner did not search; the offline planner answered."
            except Exception as e:  # any planner failure falls back to the offline planner, never a crashed turn
                log.warning("planner %s failed: %r", self.planner.name, e)
                why = sanitize(str(e), 200) if isinstance(e, LLMUnavailable) and str(e) else type(e).__name__
                note = f"The {self.planner.name} planner could not be used ({why}); the offline planner answered."
            work = self._working_copy(session, min_match, filters)
            box = self._toolbox(work, k, min_match)
            box.fallback = why
        yield Event("status", "reading your message…")
        plan = self.fallback.plan(message, work, box)
        if examples:
            plan.state.like = [*plan.state.like, *examples]
        self._searched(box, plan)
        return box, self.fallback.name, " ".join(x for x in (note, *box.notes, *plan.notes) if x)

    @staticmethod
    def _searched(box: Toolbox, plan: Plan) -> Toolbox:
        """The toolbox after the plan's state was searched (once: a planner that searched that state is done)."""
        if not box.searched or plan.state != box.session.state:
            box.run_state(plan.state)
        if plan.question is not None and box.question is None:
            box.question = plan.question
        return box

    @staticmethod
    def _lead(box: Toolbox, plan: Plan) -> str:
        return " ".join(x for x in (*box.notes, *plan.notes, sanitize(plan.summary, 400)) if x).strip()

    def _toolbox(self, work: Session, k: int | None, min_match: int | None) -> Toolbox:
        return Toolbox(self.searcher, work, self.captioner, k, min_match, self.questioner, self.keep_duplicates)

    @staticmethod
    def _working_copy(session: Session, min_match: int | None, filters: Filters | None = None) -> Session:
        """The copy a turn works on, with the UI's minimum match (its k is only the default: see Toolbox) and the
        UI's filter controls, which replace the state's filters before the message is read."""
        work = session.model_copy(deep=True)
        if min_match is not None:  # 0 switches the minimum off
            work.state = work.state.model_copy(update={"min_match": min_match or None})
        if filters is not None:
            work.state = work.state.model_copy(update={"filters": filters})
        return work

    def _caption(self, box: Toolbox) -> None:
        """Captions missing from the index, made in one pass: the top results shown, and the candidates the
        question step reads (which include them)."""
        wanted = box.candidates[:CANDIDATES] if self.questioner is not None else box.hits[: self.caption_top]
        if self.caption_worker is not None:  # the results shown first; the turn goes on with the captions there are
            self.caption_worker.want([h.id for h in [*box.hits, *wanted] if not h.caption])
            return
        if self.captioner is None or not wanted:
            return
        try:  # captions are a nicety: a failure never loses the results
            box.caption_hits(wanted)
        except Exception as e:
            log.warning("captioning failed: %r", e)

    def _facts(self, state: SearchState, hits: list[Hit]) -> list:
        """What the shown results' vectors say, for their reasons."""
        return self._reader.vector_facts(state, hits)

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
        result.planner_fallback = getattr(box, "fallback", None)
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
