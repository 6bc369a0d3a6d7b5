"""`picseek serve`: one long-running process (or a Ray Serve deployment) answers search and conversation turns over
JSON, so a script, an eval or another program pays for models, the English pipeline and the calibration once.

This module holds what every replica shares: who may call (API keys, per-key limits), where sessions live (JSON
files, one per session, the same text `picseek ask --session` writes) and how a server starts. The routes are in
`serve_app`, the Ray Serve deployment in `serve_ray`, the client (`ask --server`, evals) in `serve_client`.
"""

from __future__ import annotations

import hmac
import os
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer
from picseek.tools.errors import PicseekError
from picseek.tools.network import is_loopback  # the one rule, shared with the UI's login
from picseek.ui.options import AgentArgs, agent_options

SESSION_ID = re.compile(r"[0-9a-f]{16,32}")  # what the store names files by: nothing a path could be built from
DEFAULT_PORT = 8765
MAX_BODY = 36 * 2**20  # a 25 MB upload, base64-encoded, and its JSON around it
MAX_UPLOAD = 25 * 2**20  # the UI's limit for an example image


class AccessDenied(PicseekError):
    """A server that would listen beyond this machine without API keys."""


def read_keys(key_file: Path | None, env: str | None = None) -> list[str]:
    """API keys from a file (one per line, '#' comments) and PICSEEK_API_KEYS (comma-separated)."""
    keys = [k.strip() for k in (env if env is not None else os.environ.get("PICSEEK_API_KEYS", "")).split(",")]
    if key_file is not None:
        try:
            text = key_file.read_text()
        except OSError as e:
            raise PicseekError(f"cannot read the API key file {key_file}: {e.strerror or e}.") from None
        keys += [line.split("#", 1)[0].strip() for line in text.splitlines()]
    keys = [k for k in keys if k]
    short = [k for k in keys if len(k) < 16]
    if short:
        raise PicseekError(f"{len(short)} API key(s) are shorter than 16 characters; use long random keys.")
    return list(dict.fromkeys(keys))


@dataclass
class Access:
    """Who may call: anyone on loopback without keys; otherwise a key from `keys`, each limited to `per_minute`
    requests (a token bucket, so a burst of up to a minute's worth passes)."""

    keys: list[str] = field(default_factory=list)
    per_minute: int = 600
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def for_host(cls, host: str, keys: list[str], per_minute: int = 600) -> Access:
        if not keys and not is_loopback(host):
            raise AccessDenied(
                f"{host} is reachable from other machines, so picseek serve needs API keys there: pass "
                "--api-key-file FILE or set PICSEEK_API_KEYS (or listen on 127.0.0.1)."
            )
        if per_minute < 1:
            raise PicseekError("--rate-limit must be at least 1 request a minute.")
        return cls(keys, per_minute)

    @property
    def open(self) -> bool:
        return not self.keys

    def key_for(self, presented: str | None) -> str | None:
        """The configured key `presented` matches, compared in constant time against every key (no early exit, so
        the time taken says nothing about which key or how much of one matched)."""
        if not presented:
            return None
        found = None
        given = presented.encode()
        for k in self.keys:
            if hmac.compare_digest(given, k.encode()):
                found = k
        return found

    def wait(self, key: str) -> float:
        """0 when `key` may make a request now (and takes one), else the seconds until it may."""
        rate = self.per_minute / 60.0
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(key, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - at) * rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / rate


class SessionStore:
    """Sessions as JSON files in one folder, saved after every turn by an atomic replace (a server killed mid-write
    leaves the previous turn's file). Every replica of a Ray Serve deployment opens the same folder; a file lock
    per session serialises two turns of one session that land at once, in one process or on two replicas."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def path(self, sid: str) -> Path:
        if not SESSION_ID.fullmatch(sid):
            raise KeyError(sid)
        return self.folder / f"{sid}.json"

    @contextmanager
    def locked(self, sid: str):
        """Hold the session's lock; KeyError for a malformed id or one with no saved session, so no lock file is ever
        made for an id that names no session."""
        from filelock import FileLock

        p = self.path(sid)  # refuses a malformed id before any file is named after it
        if not p.exists():
            raise KeyError(sid)
        lock = self.folder / f".{sid}.lock"
        with FileLock(str(lock), timeout=120):
            if not p.exists():  # deleted while this one waited: nothing to lock, and no lock file left behind
                lock.unlink(missing_ok=True)
                raise KeyError(sid)
            yield

    def load(self, sid: str):
        """The saved session, or None when there is none by that id."""
        from picseek.agent.session import Session

        try:
            text = self.path(sid).read_text()
        except (KeyError, FileNotFoundError):
            return None
        return Session.load(text)

    def save(self, session) -> None:
        p = self.path(session.id)
        tmp = p.with_name(f".{p.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        with open(tmp, "w") as f:
            f.write(session.save())
            f.flush()
            os.fsync(f.fileno())  # on disk before it replaces the last turn's file: kill -9 loses no finished turn
        os.replace(tmp, p)

    def delete(self, sid: str) -> bool:
        try:
            self.path(sid).unlink()
        except (KeyError, FileNotFoundError):
            return False
        (self.folder / f".{sid}.lock").unlink(missing_ok=True)
        return True

    def count(self) -> int:
        return sum(1 for p in self.folder.glob("*.json") if SESSION_ID.fullmatch(p.stem))


def default_sessions_dir(gallery: Path) -> Path:
    """Sessions of a gallery's server, under $PICSEEK_HOME beside its store."""
    from picseek.tools.home import home, store_dir

    return home() / "sessions" / store_dir(gallery, "x").parent.name


@dataclass
class ServeConfig:
    """How a server (or each replica) runs; plain data, so Ray can ship it to replicas."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    sessions: Path | None = None
    keys: list[str] = field(default_factory=list)
    per_minute: int = 600
    max_body: int = MAX_BODY
    warm_up: str = "a photo"  # one turn before /readyz says ready: models, English pipeline and calibration load


def warm(agent, message: str) -> float:
    """The UI's warm-up (`wiring.warm_up`), with a search by an indexed image too: a server's clients search by
    example, so the image tower loads before it says it is ready. Returns the turns' seconds."""
    from picseek.ui.wiring import warm_up

    return warm_up(agent, message, example=True)


def serve(agent, cfg: ServeConfig, ready=None) -> None:
    """Run the API in this process until interrupted (uvicorn); `ready(url)` is called once it answers."""
    import uvicorn
    from picseek.ui.serve_app import create_app

    app = create_app(agent, cfg)
    config = uvicorn.Config(
        app,
        host=cfg.host,
        port=cfg.port,
        log_level="warning",
        timeout_keep_alive=5,  # an idle (or stalled) client's connection is closed, never held
        access_log=False,
    )
    server = uvicorn.Server(config)
    if ready is not None:
        threading.Thread(target=_announce, args=(server, cfg, ready), daemon=True).start()
    server.run()


def _announce(server, cfg: ServeConfig, ready) -> None:
    while not server.started and not server.should_exit:
        time.sleep(0.05)
    if server.started:
        host = f"[{cfg.host}]" if ":" in cfg.host else cfg.host
        ready(f"http://{host}:{cfg.port}")


@agent_options
def serve_command(
    host: Annotated[str, typer.Option(help="address to listen on; beyond loopback an API key is required")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="port to listen on")] = DEFAULT_PORT,
    sessions: Annotated[
        Path | None,
        typer.Option(help="folder of saved sessions (default: under $PICSEEK_HOME); with --ray-serve, one all reach"),
    ] = None,
    api_key_file: Annotated[
        Path | None, typer.Option("--api-key-file", help="API keys, one a line (also PICSEEK_API_KEYS=k1,k2)")
    ] = None,
    rate_limit: Annotated[int, typer.Option("--rate-limit", help="requests a minute per API key")] = 600,
    ray_serve: Annotated[
        bool, typer.Option("--ray-serve", help="run as a Ray Serve deployment (pip install 'picseek\\[ray]')")
    ] = False,
    ray_address: Annotated[
        str | None, typer.Option("--ray-address", help="the Ray cluster to deploy on (default: RAY_ADDRESS or local)")
    ] = None,
    replicas: Annotated[int, typer.Option(help="--ray-serve: replicas (the autoscaling start)")] = 2,
    min_replicas: Annotated[int | None, typer.Option(help="--ray-serve: autoscale down to this many")] = None,
    max_replicas: Annotated[int | None, typer.Option(help="--ray-serve: autoscale up to this many")] = None,
    replica_cpus: Annotated[float, typer.Option(help="--ray-serve: CPUs reserved per replica")] = 1.0,
    *,
    opts: AgentArgs,
) -> None:
    """Serve search and conversations as a JSON API (OpenAPI page at /docs)."""
    keys = read_keys(api_key_file)
    Access.for_host(host, keys, rate_limit)  # refuses to start before anything loads
    cfg = ServeConfig(host=host, port=port, sessions=sessions, keys=keys, per_minute=rate_limit)
    if ray_serve or ray_address:
        from picseek.ui.serve_ray import deploy

        deploy(opts, cfg, ray_address, replicas, min_replicas, max_replicas, replica_cpus)
        return
    from picseek.ui.wiring import make_agent

    # background: captions come from a low-priority worker (tools.caption_worker), so no turn waits for one
    agent = make_agent(opts, background=True)
    cfg.sessions = cfg.sessions or default_sessions_dir(opts.folder)
    serve(
        agent, cfg, ready=lambda url: print(f"picseek serve: {url} (API docs: {url}/docs; Ctrl-C stops it)", flush=True)
    )
