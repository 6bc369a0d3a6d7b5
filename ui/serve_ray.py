"""`picseek serve --ray-serve`: the same API as a Ray Serve deployment, on the Ray cluster `picseek index --ray` uses.

Each replica builds its own agent (model, English pipeline, calibration), runs the warm-up turn, then serves the app
of `serve_app`. What replicas share lives outside them:
- the index on a Chroma server (`--chroma-url`): an embedded store is files on one machine, with one writer;
- sessions in one folder every replica reaches (`--sessions`, a shared filesystem on a multi-node cluster). A
  session is a small JSON document read and replaced whole once per turn; a folder gives that with an atomic rename
  and a lock file per session, and keeps sessions the very files `picseek ask --session` reads. Chroma would hold
  them only as documents beside dummy vectors, with no lock for two turns of one session landing on two replicas.
Any replica can therefore take any turn of any session: Ray Serve's router may send consecutive turns to different
replicas and they continue the same saved session.
"""

from __future__ import annotations

import dataclasses
import logging
import signal
import threading

from picseek.tools.errors import PicseekError
from picseek.ui.options import AgentArgs
from picseek.ui.serve import ServeConfig

log = logging.getLogger(__name__)
APP_NAME = "picseek"


def _deployment():
    """The deployment class (made on call, so `ray` is imported only by `serve --ray-serve`)."""
    from ray import serve

    @serve.deployment(name="picseek", max_ongoing_requests=16, health_check_period_s=10)
    @serve.ingress()
    class Picseek:
        def __init__(self, opts: dict, cfg: dict):
            from picseek.ui.serve import warm
            from picseek.ui.wiring import make_agent

            self.cfg = ServeConfig(**cfg)
            # each replica captions in the background what its turns show (the store is shared, so is the work)
            self.agent = make_agent(AgentArgs(**opts), background=True)
            self.warm_s = warm(self.agent, self.cfg.warm_up)  # a replica takes traffic only once it answers quickly

        def __serve_build_asgi_app__(self):
            from picseek.ui.serve_app import create_app

            return create_app(self.agent, self.cfg, warmed=True)

    return Picseek


def check(opts: AgentArgs, cfg: ServeConfig) -> str:
    """What every replica must reach: the index on a Chroma server and a sessions folder. Returns the Chroma URL."""
    from picseek.tools.settings import settings

    url = opts.chroma_url or settings().chroma_url
    if not url:
        raise PicseekError(
            "--ray-serve needs the index on a Chroma server that every replica reaches: pass --chroma-url URL "
            "(index it with `picseek index DIR --chroma-url URL`)."
        )
    if cfg.sessions is None:
        raise PicseekError(
            "--ray-serve needs --sessions DIR, a folder every replica reaches (on a cluster, a shared filesystem)."
        )
    return url


def deploy(
    opts: AgentArgs,
    cfg: ServeConfig,
    address: str | None = None,
    replicas: int = 2,
    min_replicas: int | None = None,
    max_replicas: int | None = None,
    replica_cpus: float = 1.0,
    block: bool = True,
    ray_init: dict | None = None,
) -> str:
    """Deploy on Ray Serve (joining `address`, RAY_ADDRESS or a local runtime) and return the URL; with `block`,
    serve until interrupted, then take the deployment down."""
    from picseek.tools.ray_pipeline import _ray

    opts = dataclasses.replace(opts, chroma_url=check(opts, cfg))
    if replicas < 1 or (min_replicas or 1) < 0 or (max_replicas is not None and max_replicas < replicas):
        raise PicseekError("replica counts must be at least 1, with --max-replicas no fewer than --replicas.")
    ray = _ray()
    from ray import serve

    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False, **(ray_init or {}))
    serve.start(http_options={"host": cfg.host, "port": cfg.port}, logging_config={"log_level": "WARNING"})
    if min_replicas is None and max_replicas is None:
        scale = {"num_replicas": replicas}
    else:
        bounds = {"min_replicas": min_replicas or 1, "max_replicas": max_replicas or replicas}
        scale = {"autoscaling_config": {**bounds, "initial_replicas": replicas}}
    app = _deployment().options(ray_actor_options={"num_cpus": replica_cpus}, **scale)
    cfg_dict = dataclasses.asdict(cfg)
    serve.run(app.bind(dataclasses.asdict(opts), cfg_dict), name=APP_NAME, route_prefix="/")
    host = f"[{cfg.host}]" if ":" in cfg.host else cfg.host
    url = f"http://{host}:{cfg.port}"
    if not block:
        return url
    print(f"picseek serve (Ray Serve, {replicas} replicas): {url} (API docs: {url}/docs; Ctrl-C stops it)", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        serve.shutdown()
        ray.shutdown()
    return url
