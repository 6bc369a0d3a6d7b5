"""The command-line options several `picseek` commands share, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ModelOpt = Annotated[str, typer.Option("--model", "-m", help="model name (see `picseek models`), or ARCH/TAG")]
CheckpointOpt = Annotated[Path | None, typer.Option("--checkpoint", help="local open_clip checkpoint file")]
StoreOpt = Annotated[Path | None, typer.Option("--store", help="store folder (default: under $PICSEEK_HOME)")]
ChromaOpt = Annotated[
    str | None,
    typer.Option("--chroma-url", envvar="PICSEEK_CHROMA_URL", help="use a Chroma server, e.g. http://127.0.0.1:8000"),
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
PrecisionOpt = Annotated[str, typer.Option("--precision", help="auto, fp32 or bf16")]
LlmModelOpt = Annotated[
    str | None, typer.Option("--llm-model", envvar="PICSEEK_LLM_MODEL", help="chat model for the LLM planner")
]
LlmUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--llm-base-url", envvar="OPENAI_BASE_URL", help="OpenAI-compatible endpoint (OpenAI, vLLM, Ollama...)"
    ),
]
NoLogOpt = Annotated[
    bool,
    typer.Option("--no-log", help="keep no usage log (by default turns go to $PICSEEK_HOME/usage, never elsewhere)"),
]
OfflineOpt = Annotated[bool, typer.Option("--offline", help="use the offline planner even if an LLM is set")]
