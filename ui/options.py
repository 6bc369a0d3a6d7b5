"""The command-line options several `picseek` commands share, declared once."""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import typer
from picseek.tools.models import DEFAULT_MODEL

ModelOpt = Annotated[str, typer.Option("--model", "-m", help="model name (see `picseek models`), or ARCH/TAG")]
CheckpointOpt = Annotated[Path | None, typer.Option("--checkpoint", help="local open_clip checkpoint file")]
StoreOpt = Annotated[Path | None, typer.Option("--store", help="store folder (default: under $PICSEEK_HOME)")]
ChromaOpt = Annotated[
    str | None,
    typer.Option("--chroma-url", help="use a Chroma server, e.g. http://127.0.0.1:8000 (or PICSEEK_CHROMA_URL)"),
]
CaptionerOpt = Annotated[
    str | None,
    typer.Option(
        "--captioner",
        help="CoCa model name, or openai:MODEL for an OpenAI-compatible vision model "
        "(OPENAI_BASE_URL, OPENAI_API_KEY); default: the search model if it can caption, "
        "else coca_ViT-B-32",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print machine-readable JSON")]
# Two options, because typer has no option whose value may be left out (`--ray [ADDRESS]`): `--ray` alone is the
# common case, and an address names a cluster the way Ray's own tools do (`ray job submit --address`).
RayOpt = Annotated[
    bool,
    typer.Option(
        "--ray",
        # (the backslash keeps typer's rich help from reading [ray] as markup)
        help="decode and embed on Ray (pip install 'picseek\\[ray]'): join RAY_ADDRESS or this machine's "
        "`ray start` cluster, else start a local Ray runtime",
    ),
]
RayAddressOpt = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        metavar="ADDRESS",
        help="join this Ray cluster, e.g. ray://HEAD:10001, or auto on a cluster node (implies --ray)",
    ),
]
PrecisionOpt = Annotated[
    Literal["auto", "fp32", "bf16", "int8"],
    typer.Option(
        "--precision", help="auto (bf16 where the CPU computes it natively, else int8 on x86), fp32, bf16, int8"
    ),
]
LlmModelOpt = Annotated[
    str | None,
    typer.Option("--llm-model", help="use the LLM planner with this chat model (or PICSEEK_LLM_MODEL)"),
]
LlmUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--llm-base-url",
        help="use the LLM planner at this OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp...); without "
        "--llm-model it asks the server's /v1/models. OPENAI_BASE_URL alone does not choose the LLM",
    ),
]
NoLogOpt = Annotated[
    bool,
    typer.Option("--no-log", help="keep no usage log (by default turns go to $PICSEEK_HOME/usage, never elsewhere)"),
]
OfflineOpt = Annotated[bool, typer.Option("--offline", help="use the offline planner even if an LLM is set")]
LlmTimeoutOpt = Annotated[float, typer.Option("--llm-timeout", help="seconds to wait for each LLM answer")]
LlmRetriesOpt = Annotated[int, typer.Option("--llm-retries", help="tries again after a failed LLM request")]
LlmShareOpt = Annotated[
    bool,
    typer.Option(
        "--llm-share-metadata",
        help="let a remote LLM see paths and all metadata (GPS, camera, EXIF) of results it asks about; "
        "by default it gets positions, file names and captions only (an endpoint on this machine gets all)",
    ),
]
PlannerOpt = Annotated[
    str | None,
    typer.Option(
        "--planner",
        help="the planner by name: offline, llm, or one another package registers (entry point picseek.planners)",
    ),
]
DirOpt = Annotated[Path, typer.Option("--dir", "-d", help="the indexed gallery folder")]
NoCaptionsOpt = Annotated[
    bool,
    typer.Option("--no-captions", help="ask and explain from the image vectors alone: read no caption, make none"),
]


@dataclass
class GalleryArgs:
    """Where a command finds its index: the folder, the model, and where the vectors are kept."""

    folder: Path = Path(".")
    model: str = DEFAULT_MODEL
    checkpoint: Path | None = None
    store: Path | None = None
    chroma_url: str | None = None

    def open(self, **kw):
        from picseek.tools.gallery import open_gallery

        where = {"checkpoint": self.checkpoint, "store": self.store, "chroma_url": self.chroma_url}
        return open_gallery(self.folder, self.model, **where, **kw)


@dataclass
class AgentArgs(GalleryArgs):
    """A gallery plus how the agent plans (LLM or offline) and whether it keeps a usage log."""

    llm_model: str | None = None
    llm_base_url: str | None = None
    offline: bool = False
    no_log: bool = False
    planner: str | None = None
    llm_timeout: float = 30.0
    llm_retries: int = 2
    llm_share_metadata: bool = False  # paths, GPS, camera and EXIF text may go to a remote LLM
    no_captions: bool = False  # questions and reasons from the image vectors alone


_WHERE = {"model": (ModelOpt, DEFAULT_MODEL), "checkpoint": (CheckpointOpt, None), "store": (StoreOpt, None)}
_WHERE |= {"chroma_url": (ChromaOpt, None)}
_GALLERY = {"folder": (DirOpt, Path("."))} | _WHERE
_LLM = _GALLERY | {"llm_model": (LlmModelOpt, None), "llm_base_url": (LlmUrlOpt, None)}
_LLM |= {"no_captions": (NoCaptionsOpt, False)}
_AGENT = _LLM | {"offline": (OfflineOpt, False), "no_log": (NoLogOpt, False), "planner": (PlannerOpt, None)}
_AGENT |= {"llm_timeout": (LlmTimeoutOpt, 30.0), "llm_retries": (LlmRetriesOpt, 2)}
_AGENT |= {"llm_share_metadata": (LlmShareOpt, False)}


def _shared(options: dict, make: type):
    """A decorator: the command gets these options (declared once, here) and receives them as one `opts` object."""

    def wrap(fn):
        own = [p for p in inspect.signature(fn, eval_str=True).parameters.values() if p.name != "opts"]
        extra = [
            inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=a, default=d)
            for n, (a, d) in options.items()
        ]

        @functools.wraps(fn)
        def command(**kw):
            return fn(opts=make(**{n: kw.pop(n) for n in options}), **kw)

        command.__signature__ = inspect.Signature([*own, *extra])
        del command.__wrapped__  # typer must read the signature above, not the function's own
        return command

    return wrap


store_options = _shared(_WHERE, GalleryArgs)  # the folder is the command's own argument (index)
gallery_options = _shared(_GALLERY, GalleryArgs)
llm_options = _shared(_LLM, AgentArgs)  # evals: a gallery and an LLM, no usage log
agent_options = _shared(_AGENT, AgentArgs)
