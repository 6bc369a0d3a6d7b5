"""One planner interface: a message, the session and the tools in; the new search state, notes and a question out.

Both built-in planners (the offline English reader and the LLM) implement `Planner`; the agent loop knows only
this protocol. A planner from another package registers a factory under the `picseek.planners` entry-point group
(the way simonw/llm takes plug-ins) and is then chosen by name like the built-in ones:

    [project.entry-points."picseek.planners"]
    rules = "my_package.planner:make"      # make(**options) -> Planner
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from picseek.agent.errors import UnknownPlanner
from picseek.agent.state import Question, SearchState

if TYPE_CHECKING:
    from picseek.agent.session import Session
    from picseek.agent.tools import Toolbox

GROUP = "picseek.planners"


@dataclass
class Plan:
    """What a planner decided for one turn."""

    state: SearchState  # the new search state; the agent searches it unless the planner's own search already did
    notes: list[str] = field(default_factory=list)  # sentences that lead the reply (what was not understood, …)
    question: Question | None = None  # a question the planner wants to ask (checked like any other)
    summary: str = ""  # the planner's own closing words, if it has any (the LLM's)


@runtime_checkable
class Planner(Protocol):
    """Reads a user message into a new search state. `tools` is the turn's toolbox: a planner may search, caption
    or look at details through `tools.call(name, args)`; the state it returns is what the turn shows."""

    name: str

    def plan(self, message: str, session: Session, tools: Toolbox) -> Plan: ...


class OfflinePlanner:
    """The offline planner: the English reader (`Tracker`) applied to the current state; no network."""

    name = "offline"

    def __init__(self, tracker=None):
        from picseek.agent.english.tracker import Tracker

        self.tracker = tracker or Tracker()

    def plan(self, message: str, session: Session, tools: Toolbox) -> Plan:
        from picseek.agent.english.places import read_turn

        # places and written words first, so the reader never takes them for things
        up, said = read_turn(self.tracker, session.state, message, asked=session.asked, resolve=session.resolve)
        notes = []
        if up.unknown:
            words = ", ".join(f"“{w[:30]}”" for w in up.unknown[:3])
            notes.append(f"I don't know the word{'s' if len(up.unknown) > 1 else ''} {words}.")
        notes += apply_places(said, up.state, tools)
        cut = up.state.cut_words()
        if cut:  # CLIP reads 77 tokens: the oldest refinements were left out, never the first description
            shown = " ".join(cut[:12]) + (" …" if len(cut) > 12 else "")
            notes.append(f"The description is longer than the image model reads; left out: “{shown}”.")
        return Plan(up.state, notes)


def apply_places(said, state: SearchState, tools: Toolbox | None) -> list[str]:
    """Put what the message said about places and written words into the state's filters; the sentences the reply
    leads with: a place name that names nothing, a place with no photos (and the closest that have some)."""
    notes = [f"I don't know a place called “{name[:40]}”." for name in said.unknown_places[:2]]
    update = {}
    if said.place is not None:
        update["place"] = said.place
        store = getattr(getattr(tools, "searcher", None), "store", None)
        if store is not None:
            from picseek.tools.places import nothing_from

            none = nothing_from(store, said.place)
            if none:
                notes.append(none)
    if said.written:
        update["text_in_image"] = said.written
    if update:
        state.filters = state.filters.model_copy(update=update)
        if state.is_empty():  # "photos from Lisbon", '"OPEN"': the place or the words are the whole request
            state.words = list(said.written) or ["photo"]
    return notes


def _builtin() -> dict[str, Callable[..., Planner]]:
    def llm(**options) -> Planner:
        from picseek.agent.llm import LLMPlanner

        return LLMPlanner(**options)

    return {"offline": lambda **options: OfflinePlanner(**options), "llm": llm}


def available() -> list[str]:
    """The names a planner can be chosen by: the built-in ones, then those registered by other packages."""
    return [*_builtin(), *sorted(ep.name for ep in entry_points(group=GROUP) if ep.name not in _builtin())]


def get_planner(name: str, **options) -> Planner:
    """The planner registered under `name`, made with `options`; a short error lists the valid choices."""
    made = _builtin().get(name)
    if made is None:
        found = [ep for ep in entry_points(group=GROUP) if ep.name == name]
        if not found:
            raise UnknownPlanner(f"unknown planner {name!r}: choose from {', '.join(available())}.")
        made = found[0].load()
    planner = made(**options)
    if not isinstance(planner, Planner):
        raise UnknownPlanner(f"planner {name!r} does not implement plan(message, session, tools).")
    return planner
