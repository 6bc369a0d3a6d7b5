"""How the commands build what they use: a captioner and the agent over a gallery.

Heavy modules (torch, open_clip, chromadb) load inside these functions, never at import.
"""

from __future__ import annotations

from picseek.ui.options import AgentArgs


def make_captioner(name: str | None, embedder):
    """A captioner by name (a CoCa model, or openai:MODEL); by default the search model if it can caption."""
    from picseek.tools.caption import CocaCaptioner, OpenAICaptioner
    from picseek.tools.models import DEFAULT_CAPTIONER, resolve
    from picseek.tools.settings import settings

    if name and name.startswith("openai:"):
        env = settings()
        return OpenAICaptioner(name.split(":", 1)[1], base_url=env.openai_base_url, api_key=env.openai_api_key)
    if name is None:
        return CocaCaptioner(embedder.spec if embedder.spec.captions else resolve(DEFAULT_CAPTIONER))
    return CocaCaptioner(resolve(name))


def caption_pass(st, embedder, captioner_name: str | None, mode: str):
    from picseek.tools.caption import caption_images

    return caption_images(st, make_captioner(captioner_name, embedder), mode=mode)


def make_planner(opts: AgentArgs, announce: bool = True):
    """The planner a session uses, said once on stderr. The LLM only when asked for (--llm-model, --llm-base-url,
    PICSEEK_LLM_MODEL or --planner llm): OPENAI_API_KEY / OPENAI_BASE_URL alone only say how to reach it."""
    import sys

    from picseek.agent.pipeline_check import check_english_pipeline
    from picseek.agent.planner import get_planner
    from picseek.tools.settings import settings

    check_english_pipeline()  # the offline planner (and every LLM fallback) loads it: a changed upload stops here
    name = opts.planner or "offline"
    if opts.planner is None and (opts.llm_model or opts.llm_base_url or settings().llm_configured()):
        name = "llm"
    name = "offline" if opts.offline else name
    options = {}
    if name == "llm":
        options = {"model": opts.llm_model, "base_url": opts.llm_base_url, "timeout": opts.llm_timeout}
        options |= {"max_retries": opts.llm_retries, "share_metadata": opts.llm_share_metadata}
    planner = get_planner(name, **options)
    if announce:
        said = planner.describe() if hasattr(planner, "describe") else f"planner: {planner.name}"
        if planner.name == "offline":
            said = "planner: offline (nothing leaves this machine)"
        print(said, file=sys.stderr, flush=True)
    return planner


def make_agent(opts: AgentArgs, captions: bool = True, ask: bool = True, background: bool = False):
    """The agent over an indexed gallery: LLM planner when configured (and not --offline), else the offline tracker.

    `background` (a long-running process: the UI, a server): captions are made by a low-priority `CaptionWorker`,
    by the search model when it can caption, else by the default captioner, and a turn never waits for them."""
    from picseek.agent.agent import Agent
    from picseek.tools.usage import UsageLog

    g = opts.open()
    planner = make_planner(opts)
    captions = captions and not opts.no_captions
    captioner = make_captioner(None, g.embedder) if captions and g.embedder.spec.captions else None
    usage = UsageLog(enabled=not opts.no_log)
    worker = None
    if background and captions:
        from picseek.tools.caption_worker import CaptionWorker

        # a CoCa captioner runs in a child process at low priority: turns never share the interpreter with it
        worker = CaptionWorker(g.store, captioner or make_captioner(None, g.embedder), process=True).start()
    return Agent(
        g.searcher,
        planner=planner,
        captioner=captioner,
        ask=ask,
        usage=usage,
        captions=captions,
        caption_worker=worker,
    )


WARM_UP = "a photo of a red car on a street"


def warm_up(agent, message: str = WARM_UP, example: bool = False) -> float:
    """Run throwaway turns, unlogged, so that the model, the English pipeline and the gallery's calibration are
    loaded before a long-running process says it is ready (no user's turn pays for them). Returns their seconds.

    A plain search (the calibration), then a refinement (readers that load on first use, the place names, load
    here); with `example`, a search by an indexed image too, which always has results, so the image tower, the
    captioner and the question step load (a message may match nothing and skip them)."""
    import copy
    import time

    from picseek.agent.session import Session

    # not a user's turn: nothing logged, nothing to caption for it. A shallow copy shares the models, the searcher
    # and the English pipeline (so they load for the real agent too) but never blanks the shared agent's fields
    quiet = copy.copy(agent)
    quiet.usage = quiet.caption_worker = None
    t0 = time.monotonic()
    first = quiet.turn(Session(), message).session
    quiet.turn(first, "at night in Paris, not blue, only landscape photos")
    if example:
        indexed = next(iter(agent.searcher.store.iter_metadata(page=1)), None)
        if indexed is not None:
            quiet.turn(Session(), "", examples=[indexed.id])
    return time.monotonic() - t0
