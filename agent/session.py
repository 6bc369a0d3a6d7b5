"""Per-conversation state: messages, the typed search state, the last results with their positions, the question
picseek asked (so the next message can answer it) and the questions already asked (so none is asked twice).
"""

from __future__ import annotations

import re
from uuid import uuid4

from picseek.agent.state import Question, SearchState
from picseek.tools.errors import BadQuery
from picseek.tools.retrieve import Hit, ImageQuery
from picseek.tools.store import IMAGE_ID_LEN
from pydantic import BaseModel, Field

MAX_HISTORY = 20
IMAGE_ID = re.compile(rf"[0-9a-f]{{{IMAGE_ID_LEN}}}")  # an index id (tools.store.image_id): never a file path


class ResultRef(BaseModel):
    position: int  # 1-based, as shown to the user
    id: str
    path: str
    caption: str | None = None
    match: int = 0
    reason: str = ""
    duplicates: list[str] = Field(default_factory=list)  # near-copies folded into it (paths), kept for the tile


class Message(BaseModel):
    role: str  # "user" | "assistant"
    content: str


class Session(BaseModel):
    """JSON-serialisable, so a conversation can be saved and resumed (`picseek ask --session FILE`)."""

    id: str = Field(default_factory=lambda: uuid4().hex[:16], description="names the session in the usage log")
    messages: list[Message] = Field(default_factory=list)
    state: SearchState = Field(default_factory=SearchState)
    history: list[SearchState] = Field(default_factory=list, description="earlier states, newest last (undo)")
    query: ImageQuery | None = None  # the last query run, as rendered from the state
    results: list[ResultRef] = Field(default_factory=list)
    asked: Question | None = None  # the question the last reply asked, if any
    asked_before: list[str] = Field(default_factory=list, description="keys of questions already asked")

    def set_results(self, hits: list[Hit]) -> None:
        self.results = [
            ResultRef(
                position=h.rank,
                id=h.id,
                path=h.path,
                caption=h.caption,
                match=h.match,
                reason=h.reason,
                duplicates=h.duplicates,
            )
            for h in hits
        ]

    def resolve(self, ref: int | str) -> str:
        """ "#2" / 2 -> the id shown at position 2 (-1: the last shown); ids and paths pass through."""
        if isinstance(ref, str) and re.fullmatch(r"#?-?[0-9]{1,6}", ref.strip()):
            ref = int(ref.strip().lstrip("#"))
        if isinstance(ref, int):
            if ref == -1 and self.results:
                return self.results[-1].id
            for r in self.results:
                if r.position == ref:
                    return r.id
            shown = len(self.results)
            raise BadQuery(
                f"there is no result #{ref}"
                + (f"; the last search showed {shown}." if shown else "; there are no results yet.")
            )
        return ref

    def remember(self, state: SearchState) -> None:
        """Make `state` current, keeping the one before for undo."""
        if state != self.state and not self.state.is_empty():
            self.history = [*self.history, self.state][-MAX_HISTORY:]
        self.state = state

    def save(self) -> str:
        return self.model_dump_json()

    @classmethod
    def load(cls, text: str) -> Session:
        return cls.model_validate_json(text)

    @classmethod
    def from_client(cls, data: dict | str) -> Session:
        """A saved session sent back by a client (the API, the browser's copy): client data, possibly edited by hand.
        Only references to indexed images are kept (results, the state's and every earlier state's like/unlike hold
        index ids, never file paths the server would read), the last query is dropped (the next turn renders it
        again from the state) and it gets a new id, so it cannot take over another session. Raises ValueError (a
        pydantic ValidationError) when `data` is not a session."""
        s = cls.model_validate_json(data) if isinstance(data, (str, bytes)) else cls.model_validate(data)

        def ids_only(state: SearchState) -> SearchState:
            return state.model_copy(
                update={f: [r for r in getattr(state, f) if IMAGE_ID.fullmatch(r)] for f in ("like", "unlike")}
            )

        return s.model_copy(
            update={
                "id": uuid4().hex,
                "query": None,
                "state": ids_only(s.state),
                "history": [ids_only(h) for h in s.history],
                "results": [r for r in s.results if IMAGE_ID.fullmatch(r.id)],
            }
        )
