"""The routes of `picseek serve` (FastAPI): search, sessions and their turns, thumbnails, health and metrics.

A turn's answer is the object `picseek ask --json` prints for it, serialised the same way, so a client can switch
between the two. Everything a client sends is data: image references are index ids, uploads are decoded by the
guarded decoder from a file the server wrote, and a thumbnail is only ever made of an indexed image.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import secrets
import tempfile
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from picseek.agent.session import IMAGE_ID
from picseek.tools.errors import PicseekError
from picseek.ui.serve import MAX_UPLOAD, Access, ServeConfig, SessionStore, default_sessions_dir, warm
from pydantic import BaseModel, Field, field_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)
OPEN_ROUTES = ("/healthz",)  # the only route that answers without a key
LOADING = "picseek is still loading; try again in a few seconds."  # what /v1/* answers until the warm-up is done
FEEDBACK = {"right": "#{n} is right", "wrong": "not #{n}"}  # the UI's buttons, as words: feedback is a turn


def _image_ids(v: list[str]) -> list[str]:
    bad = [x for x in v if not IMAGE_ID.fullmatch(x)]
    if bad:
        raise ValueError(f"{bad[0][:40]!r} is not an image id (24 hex digits, as results list them)")
    return v


class SearchBody(BaseModel):
    text: str = Field("", max_length=2000, description="what to look for, e.g. 'a red car at night'")
    negatives: list[str] = Field(default_factory=list, max_length=20, description="concepts to exclude")
    like: list[str] = Field(default_factory=list, max_length=20, description="image ids: more like these")
    unlike: list[str] = Field(default_factory=list, max_length=20, description="image ids: less like these")
    upload: str | None = Field(None, description="an example image, base64-encoded (at most 25 MB)")
    filters: dict = Field(default_factory=dict, description="date_from, date_to, orientation, min_width, ...")
    k: int = Field(10, ge=1, le=100)
    min_match: int | None = Field(None, ge=0, le=100)
    keep_duplicates: bool = False

    _ids = field_validator("like", "unlike")(_image_ids)


class TurnBody(BaseModel):
    message: str = Field(..., min_length=1, max_length=2000, description="the user's next message")
    k: int | None = Field(None, ge=1, le=100, description="results to show unless the message asks otherwise")
    min_match: int | None = Field(None, ge=0, le=100)


class FeedbackBody(BaseModel):
    result: int = Field(..., ge=1, description="the result's position as the last turn showed it (1-based)")
    verdict: Literal["right", "wrong"]


class NewSession(BaseModel):
    session: dict | None = Field(None, description="a saved session (the JSON of `ask --session FILE`) to continue")


class Failure(Exception):
    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def _sentence(text: str) -> str:
    text = " ".join(str(text).split())[:400]
    return text if text.endswith((".", "?", "!")) else text + "."


class Metrics:
    """Prometheus series of one app (its own registry, so several apps in one process keep theirs apart)."""

    def __init__(self, sessions: SessionStore, searcher):
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = r = CollectorRegistry()
        self.requests = Counter("picseek_requests", "HTTP requests", ["route", "method", "status"], registry=r)
        self.errors = Counter("picseek_errors", "requests answered 5xx, or turns that failed", ["kind"], registry=r)
        buckets = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
        self.turn = Histogram("picseek_turn_seconds", "one conversation turn", buckets=buckets, registry=r)
        self.search = Histogram("picseek_search_seconds", "one /v1/search", buckets=buckets, registry=r)
        g = Gauge("picseek_sessions", "sessions saved in the session store", registry=r)
        g.set_function(sessions.count)
        n = Gauge("picseek_index_images", "images in the index", registry=r)
        n.set_function(searcher.count)


def create_app(agent, cfg: ServeConfig, warmed: bool = False) -> FastAPI:
    """The API over `agent`. Unless `warmed`, one warm-up turn runs in the background and /readyz answers 503 until
    it has finished."""
    sessions = SessionStore(cfg.sessions or default_sessions_dir(agent.searcher.root))
    access = Access(cfg.keys, cfg.per_minute)
    metrics = Metrics(sessions, agent.searcher)
    uploads = Path(tempfile.mkdtemp(prefix="picseek-uploads-"))
    ready = threading.Event()
    if warmed:  # set now, not at startup: a host that runs no lifespan events must not answer 503 for ever
        ready.set()

    def _warm():
        try:
            log.info("warm-up turn took %.1f s", warm(agent, cfg.warm_up))
        except Exception:
            log.exception("warm-up failed")  # readiness stays false: /readyz tells probes to keep waiting
        else:
            ready.set()

    @asynccontextmanager
    async def lifespan(app):
        if not warmed:  # in the background: /healthz answers while the model and the English pipeline load
            threading.Thread(target=_warm, daemon=True, name="picseek-warm-up").start()
        yield

    app = FastAPI(
        title="picseek",
        version="1",
        description="Find images in an indexed folder by describing them, in one call or a conversation.",
        lifespan=lifespan,
    )

    @app.exception_handler(Failure)
    async def _failure(request: Request, e: Failure):
        return JSONResponse({"error": e.message}, status_code=e.status, headers=e.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, e: RequestValidationError):
        first = e.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ()) if x != "body") or "body"
        msg = first.get("msg", "invalid").removeprefix("Value error, ")
        return JSONResponse({"error": _sentence(f"{where}: {msg}")}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, e: StarletteHTTPException):
        text = "there is no such route; the routes are listed at /docs." if e.status_code == 404 else str(e.detail)
        return JSONResponse({"error": _sentence(text)}, status_code=e.status_code, headers=e.headers)

    @app.exception_handler(PicseekError)
    async def _picseek(request: Request, e: PicseekError):
        return JSONResponse({"error": _sentence(str(e))}, status_code=400)

    @app.middleware("http")  # inside the guard: keys and limits are checked first
    async def _loading(request: Request, call_next):
        if request.url.path.startswith("/v1/") and not ready.is_set():
            return JSONResponse({"error": LOADING}, 503, headers={"Retry-After": "5"})
        return await call_next(request)

    app.middleware("http")(_guard(access, metrics))
    app.add_middleware(BodyLimit, limit=cfg.max_body)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict:
        """The process answers (no key needed)."""
        return {"ok": True}

    @app.get("/readyz", tags=["health"])
    def readyz():
        """Ready for turns: the warm-up turn ran (model and English pipeline loaded) and the store answers."""
        try:
            n = agent.searcher.store.count()
        except Exception as e:
            return JSONResponse({"ready": False, "error": _sentence(f"the store does not answer: {e}")}, 503)
        if not ready.is_set():
            return JSONResponse({"ready": False, "error": "still loading the model and the English pipeline."}, 503)
        return {"ready": True, "images": n}

    @app.get("/metrics", tags=["health"])
    def prometheus() -> Response:
        """Requests, errors, turn and search latency, sessions and index size, in Prometheus' text format."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.post("/v1/search", tags=["search"])
    def search(body: SearchBody) -> Response:
        """One search: text, excluded concepts, example images (ids or an upload), filters; hits as `search --json`."""
        from picseek.tools.retrieve import Filters, ImageQuery
        from pydantic import ValidationError

        t0 = time.monotonic()
        example = _save_upload(body.upload, uploads) if body.upload else None
        try:
            try:
                filters = Filters.model_validate(body.filters)
            except ValidationError as e:
                x = e.errors()[0]
                raise Failure(422, _sentence(f"filters.{'.'.join(map(str, x['loc']))}: {x['msg']}")) from None
            q = ImageQuery(
                text=body.text,
                negatives=body.negatives,
                like=[*body.like, *([str(example)] if example else [])],
                unlike=body.unlike,
                filters=filters,
                k=body.k,
                min_match=body.min_match,
                collapse_duplicates=not body.keep_duplicates,
            )
            hits = agent.searcher.search(q)
        finally:
            if example is not None:
                example.unlink(missing_ok=True)
        metrics.search.observe(time.monotonic() - t0)
        return _json([h.model_dump(mode="json") for h in hits])

    @app.post("/v1/sessions", status_code=201, tags=["sessions"])
    def new_session(body: NewSession | None = None) -> Response:
        """A new conversation, or one continued from a saved session; returns its id."""
        from picseek.agent.session import Session

        session = Session(id=_new_id())
        if body is not None and body.session is not None:
            session = _restored(body.session)
        sessions.save(session)
        return _json({"id": session.id}, 201)

    @app.get("/v1/sessions/{sid}", tags=["sessions"])
    def get_session(sid: str) -> Response:
        """The session as saved after its last turn (the JSON of `ask --session FILE`)."""
        return Response(_load(sessions, sid).save(), media_type="application/json")

    @app.delete("/v1/sessions/{sid}", status_code=204, tags=["sessions"])
    def delete_session(sid: str) -> Response:
        try:
            with sessions.locked(sid):  # after a turn in flight has saved, so none saves the session again after this
                gone = sessions.delete(sid)
        except KeyError:
            raise _unknown(sid) from None
        if not gone:
            raise _unknown(sid)
        return Response(status_code=204)

    @app.post("/v1/sessions/{sid}/turns", tags=["sessions"])
    def turn(sid: str, body: TurnBody) -> Response:
        """The next message of a conversation; answers with the turn object of `ask --json`."""
        return _turn(sid, body.message, body.k, body.min_match)

    @app.post("/v1/sessions/{sid}/feedback", tags=["sessions"])
    def feedback(sid: str, body: FeedbackBody) -> Response:
        """'right' or 'wrong' on a result of the last turn: a turn like the UI's buttons make."""
        return _turn(sid, FEEDBACK[body.verdict].format(n=body.result), None, None)

    def _turn(sid: str, message: str, k, min_match) -> Response:
        t0 = time.monotonic()
        try:
            with sessions.locked(sid):
                session = _load(sessions, sid)
                settings = {"k": k} if k is not None else {}
                r = agent.turn(session, message, **settings, min_match=min_match)
                sessions.save(r.session)  # before the answer leaves: a client that saw a turn finds it saved
        except KeyError:
            raise _unknown(sid) from None
        if r.failed:
            metrics.errors.labels("turn").inc()
        metrics.turn.observe(time.monotonic() - t0)
        return _json(r.to_json())

    @app.get("/v1/images/{image_id}/thumbnail", tags=["images"])
    def thumbnail(image_id: str) -> Response:
        """The cached thumbnail of an indexed image (never the original, never a file outside the gallery)."""
        from picseek.tools.thumbs import thumbnail as make

        if not IMAGE_ID.fullmatch(image_id):
            raise Failure(404, "no indexed image has that id.")
        records = agent.searcher.store.get([image_id])
        if not records:
            raise Failure(404, "no indexed image has that id.")
        m = records[0].meta
        path = make(agent.searcher.root, m.path, image_id, m.mtime_ns)
        if path is None:
            raise Failure(404, "that image's file can no longer be read.")
        return FileResponse(path, media_type="image/jpeg")

    return app


def _json(value, status: int = 200) -> Response:
    # the same serialisation as `picseek ask --json`, so a client sees byte-for-byte the values ask prints
    return Response(json.dumps(value, default=str), status_code=status, media_type="application/json")


def _new_id() -> str:
    from uuid import uuid4

    return uuid4().hex  # 128 random bits: an id is as hard to guess as a key


def _unknown(sid: str) -> Failure:
    return Failure(404, "there is no session with that id; create one with POST /v1/sessions.")


def _load(sessions: SessionStore, sid: str):
    try:
        s = sessions.load(sid)
    except ValueError:
        raise Failure(500, "that session's saved file cannot be read.") from None
    if s is None:
        raise _unknown(sid)
    return s


def _restored(saved: dict):
    """A saved session a client sends is client data: `Session.from_client` gives it a new id (it must not take over
    another's) and keeps its images only as index ids, never as file paths the server would read."""
    from picseek.agent.session import Session
    from pydantic import ValidationError

    try:
        return Session.from_client(saved)
    except ValidationError as e:
        x = e.errors()[0]
        raise Failure(422, _sentence(f"session.{'.'.join(map(str, x['loc']))}: {x['msg']}")) from None


def _save_upload(data: str, folder: Path) -> Path:
    """An uploaded example to a file of the server's own; its pixels are decoded later by the guarded decoder."""
    if len(data) > MAX_UPLOAD * 4 // 3 + 4:
        raise Failure(413, "the upload is larger than 25 MB.")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise Failure(422, "upload: not base64-encoded image data.") from None
    if not raw:
        raise Failure(422, "upload: the image is empty.")
    f = tempfile.NamedTemporaryFile(dir=folder, suffix=".img", delete=False)
    with f:
        f.write(raw)
    return Path(f.name)


def _guard(access: Access, metrics: Metrics):
    """Keys (unless the server is open on loopback), per-key limits, and a request counter by route."""

    async def guard(request: Request, call_next):
        path = request.url.path
        if not access.open and path not in OPEN_ROUTES:
            key = access.key_for(_presented(request))
            if key is None:
                return _count(
                    metrics,
                    request,
                    JSONResponse(
                        {"error": "an API key is required: send it as 'Authorization: Bearer KEY'."},
                        401,
                        headers={"WWW-Authenticate": "Bearer"},
                    ),
                )
            wait = access.wait(key)
            if wait > 0:
                retry = str(max(1, int(wait + 0.999)))
                body = {"error": f"this key is over its limit of {access.per_minute} requests a minute; retry later."}
                return _count(metrics, request, JSONResponse(body, 429, headers={"Retry-After": retry}))
        try:
            response = await call_next(request)
        except Exception:
            log.exception("request failed")
            metrics.errors.labels("http").inc()
            response = JSONResponse({"error": "something went wrong on the server; nothing was changed."}, 500)
        if response.status_code == 500:
            metrics.errors.labels("http").inc()
        return _count(metrics, request, response)

    return guard


def _presented(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-api-key")


REPLICA = secrets.token_hex(4)  # names this process in X-Picseek-Replica (no host or pid given away)


def _count(metrics: Metrics, request: Request, response: Response) -> Response:
    response.headers["X-Picseek-Replica"] = REPLICA
    route = request.scope.get("route")
    name = getattr(route, "path", None) or "unmatched"  # the route's template: ids never become label values
    metrics.requests.labels(name, request.method, str(response.status_code)).inc()
    return response


class BodyLimit:
    """ASGI middleware: a body over `limit` bytes is refused with 413 as soon as it is seen (by Content-Length, or
    while a chunked body streams in), so an oversized upload never fills memory or holds a worker thread."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None:  # the server never passes on more than the length it announced
            if not length.isdigit() or int(length) > self.limit:
                return await _too_large(send, self.limit)
            return await self.app(scope, receive, send)
        if scope.get("method") in ("GET", "HEAD", "DELETE", "OPTIONS"):
            return await self.app(scope, receive, send)
        chunks, seen = [], 0  # a chunked body: read up to the limit here, then hand it on whole
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            seen += len(message.get("body", b""))
            if seen > self.limit:
                return await _too_large(send, self.limit)
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _too_large(send, limit: int) -> None:
    body = json.dumps({"error": f"the request body is larger than {limit // 2**20} MB."}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
