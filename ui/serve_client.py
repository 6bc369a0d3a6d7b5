"""A client of `picseek serve`: `picseek ask --server URL` and `picseek eval --server URL` send their turns to a
running server instead of loading everything per call. Standard library only (urllib): a client installs nothing."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from picseek.agent.agent import TurnResult
from picseek.tools.errors import PicseekError


class ServerError(PicseekError):
    """The server refused a request (its sentence is the message) or could not be reached."""


class ServerClient:
    def __init__(self, url: str, api_key: str | None = None, timeout: float = 120.0):
        self.url = url.rstrip("/")
        self.key = api_key if api_key is not None else os.environ.get("PICSEEK_API_KEY")
        self.timeout = timeout

    def call(self, method: str, path: str, body=None, raw: bool = False):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if self.key:
            req.add_header("Authorization", f"Bearer {self.key}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                text = r.read().decode()
        except urllib.error.HTTPError as e:
            try:
                why = json.loads(e.read().decode()).get("error", "")
            except (ValueError, AttributeError):
                why = ""
            raise ServerError(f"the server at {self.url} answered {e.code}: {why or e.reason}") from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise ServerError(
                f"cannot reach a picseek server at {self.url} ({reason}); start one with `picseek serve`."
            ) from None
        if raw:
            return text
        return json.loads(text) if text else None

    def new_session(self, saved: str | None = None) -> str:
        """A new server session (continuing `saved`, a session's JSON, when given); returns its id."""
        return self.call("POST", "/v1/sessions", {"session": json.loads(saved)} if saved else {})["id"]

    def turn(self, sid: str, message: str, k: int | None = None, min_match: int | None = None) -> dict:
        body = {"message": message, "k": k, "min_match": min_match}
        return self.call("POST", f"/v1/sessions/{sid}/turns", {n: v for n, v in body.items() if v is not None})

    def session_json(self, sid: str) -> str:
        return self.call("GET", f"/v1/sessions/{sid}", raw=True)

    def delete(self, sid: str) -> None:
        self.call("DELETE", f"/v1/sessions/{sid}")

    def has_session(self, sid: str) -> bool:
        try:
            self.call("GET", f"/v1/sessions/{sid}", raw=True)
        except ServerError as e:
            if " 404:" in str(e):
                return False
            raise
        return True


class RemoteAgent:
    """Duck-types `Agent.turn` for the evals: each local session gets a server session, and a turn comes back as a
    TurnResult whose session is the one the server saved (so the next turn continues it there)."""

    def __init__(self, client: ServerClient):
        self.client = client
        self.name = f"server {client.url}"
        self._remote: set[str] = set()  # ids of sessions the server made (the sessions this agent returned)

    def _exists(self, sid: str) -> bool:
        """Whether the server holds a session by this id (a session file `ask --server --session` saved)."""
        return len(sid) == 32 and self.client.has_session(sid)

    def turn(self, session, message: str, examples=None, k: int | None = None, min_match: int | None = None):
        from picseek.agent.session import Session
        from picseek.tools.records import ImageMeta
        from picseek.tools.retrieve import Hit, ImageQuery

        if examples:
            raise ServerError("search by example image is not sent to a server by the evals.")
        sid = session.id if session.id in self._remote or self._exists(session.id) else None
        sid = sid or self.client.new_session(session.save())  # the server's copy, if it still has one, wins
        self._remote.add(sid)
        out = self.client.turn(sid, message, k=k, min_match=min_match)
        saved = Session.load(self.client.session_json(sid))
        hits = [
            Hit(
                **{f: h[f] for f in ("id", "path", "rank", "score", "match", "caption", "reason", "duplicates")},
                metadata=ImageMeta(**h["metadata"]),
            )
            for h in out["hits"]
        ]
        query = ImageQuery.model_validate(out["query"]) if out["query"] else None
        return RemoteTurn(out["reply"], out["planner"], query, hits, saved, question=saved.asked, raw=out)


@dataclass
class RemoteTurn(TurnResult):
    """A turn a server ran: its JSON is the server's, as received (nothing is rebuilt on this side)."""

    raw: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return self.raw
