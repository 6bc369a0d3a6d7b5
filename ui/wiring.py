"""How the commands build what they use: the store and embedder of a gallery, a captioner, the agent.

Heavy modules (torch, open_clip, chromadb) load inside these functions, never at import.
"""

from __future__ import annotations

from pathlib import Path


def open_store(
    gallery: Path,
    model: str,
    checkpoint: Path | None,
    store: Path | None,
    chroma_url: str | None,
    create: bool,
    precision: str = "auto",
    replace: bool = False,
):
    """The (embedder, store) pair for a gallery; shared by every command that touches an index."""
    from tools.embed import Embedder
    from tools.home import store_dir
    from tools.models import resolve
    from tools.store import Store

    spec = resolve(model, checkpoint)
    embedder = Embedder(spec, precision=precision)
    state = store or store_dir(gallery, spec.name if not checkpoint else f"{spec.name}-{spec.weights_id}")
    return embedder, Store.open(state, gallery, embedder, chroma_url=chroma_url, create=create, replace=replace)


def make_captioner(name: str | None, embedder):
    """A captioner by name (a CoCa model, or openai:MODEL); by default the search model if it can caption."""
    from tools.caption import CocaCaptioner, OpenAICaptioner
    from tools.models import DEFAULT_CAPTIONER, resolve

    if name and name.startswith("openai:"):
        import os

        return OpenAICaptioner(
            name.split(":", 1)[1], base_url=os.environ.get("OPENAI_BASE_URL"), api_key=os.environ.get("OPENAI_API_KEY")
        )
    if name is None:
        return CocaCaptioner(embedder.spec if embedder.spec.captions else resolve(DEFAULT_CAPTIONER))
    return CocaCaptioner(resolve(name))


def caption_pass(st, embedder, captioner_name: str | None, mode: str):
    from tools.caption import caption_images

    return caption_images(st, make_captioner(captioner_name, embedder), mode=mode)


def make_agent(
    folder: Path,
    model: str,
    checkpoint,
    store,
    chroma_url,
    llm_model,
    llm_base_url,
    offline: bool,
    captions: bool = True,
    ask: bool = True,
    log: bool = True,
):
    """The agent over an indexed gallery: LLM planner when configured (and not --offline), else the offline tracker."""
    import os

    from agent.agent import Agent
    from tools.retrieve import Searcher
    from tools.usage import UsageLog

    embedder, st = open_store(folder, model, checkpoint, store, chroma_url, create=False)
    llm = None
    if not offline and (llm_model or llm_base_url or os.environ.get("OPENAI_API_KEY")):
        from agent.llm import LLMPlanner

        llm = LLMPlanner(model=llm_model, base_url=llm_base_url)
    captioner = make_captioner(None, embedder) if captions and embedder.spec.captions else None
    usage = UsageLog(enabled=log)
    return Agent(Searcher(st, embedder), llm=llm, captioner=captioner, ask=ask, usage=usage)
