"""Per-conversation state: messages, the current query and the last results with their 1-based positions."""

from __future__ import annotations

from pydantic import BaseModel, Field

from tools.errors import BadQuery
from tools.retrieve import Hit, ImageQuery


class ResultRef(BaseModel):
    position: int  # 1-based, as shown to the user
    id: str
    path: str
    caption: str | None = None


class Message(BaseModel):
    role: str  # "user" | "assistant"
    content: str


class Session(BaseModel):
    """JSON-serialisable, so a conversation can be saved and resumed."""

    messages: list[Message] = Field(default_factory=list)
    query: ImageQuery | None = None
    results: list[ResultRef] = Field(default_factory=list)

    def set_results(self, hits: list[Hit]) -> None:
        self.results = [ResultRef(position=h.rank, id=h.id, path=h.path, caption=h.caption) for h in hits]

    def resolve(self, ref: int | str) -> str:
        """ "#2" / 2 -> the id shown at position 2; ids and paths pass through."""
        if isinstance(ref, str) and ref.lstrip("#").isdigit():
            ref = int(ref.lstrip("#"))
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

    def save(self) -> str:
        return self.model_dump_json()

    @classmethod
    def load(cls, text: str) -> Session:
        return cls.model_validate_json(text)
