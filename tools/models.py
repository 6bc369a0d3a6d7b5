"""The model registry, as data: a name maps to an open_clip architecture plus where its weights come from.

Weights come from an open_clip pretrained tag (downloaded by open_clip on first use, or found in the Hugging Face
cache), a local checkpoint file, or the bundled toy checkpoint. All of them load through
`open_clip.create_model_and_transforms`, the same factory, so the toy model exercises the real path.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from tools.errors import ModelWeightsUnavailable, UnknownModel
from tools.home import models_dir

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
CONFIG_DIR = PACKAGE_DIR / "model_configs"
TOY_WEIGHTS = PACKAGE_DIR / "weights" / "toy-coca.pt"


@dataclass(frozen=True)
class ModelSpec:
    name: str  # what users type: --model NAME
    arch: str  # open_clip architecture (a config in open_clip's registry or ours)
    pretrained: str | None = None  # open_clip pretrained tag, downloaded or found in the HF cache
    checkpoint: Path | None = None  # a local open_clip checkpoint file
    bundled: Path | None = None  # our compact checkpoint, expanded once into $PICSEEK_HOME/models
    random_init: bool = False  # real architecture, random weights: for benchmarks and plumbing tests only
    captions: bool = False  # a CoCa model that can also write captions
    description: str = ""

    @property
    def weights_id(self) -> str:
        """A short identity for the weights, recorded in every store so vectors of two models never mix."""
        if self.random_init:
            return "random-init"
        if self.checkpoint:
            return f"file:{self.checkpoint.name}:{self.checkpoint.stat().st_size}"
        if self.bundled:
            return f"bundled:{_digest(self.bundled)}"
        return self.pretrained or "none"

    @property
    def model_id(self) -> str:
        return f"{self.arch}/{self.weights_id}"


REGISTRY: dict[str, ModelSpec] = {
    "ViT-B-32": ModelSpec(
        "ViT-B-32",
        "ViT-B-32",
        pretrained="laion2b_s34b_b79k",
        description="OpenCLIP ViT-B/32 trained on LAION-2B: the default for real photo folders",
    ),
    "coca_ViT-B-32": ModelSpec(
        "coca_ViT-B-32",
        "coca_ViT-B-32",
        pretrained="mscoco_finetuned_laion2b_s13b_b90k",
        captions=True,
        description="OpenCLIP CoCa ViT-B/32 fine-tuned on COCO: captions",
    ),
    "toy": ModelSpec(
        "toy",
        "picseek-toy-coca",
        bundled=TOY_WEIGHTS,
        captions=True,
        description="bundled tiny CoCa trained on the toy scene world: offline demo and tests",
    ),
}
DEFAULT_MODEL = "ViT-B-32"
DEFAULT_CAPTIONER = "coca_ViT-B-32"


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:12]


def _open_clip():
    import open_clip

    if str(CONFIG_DIR) not in {str(p) for p in open_clip.factory._MODEL_CONFIG_PATHS}:
        open_clip.add_model_config(CONFIG_DIR)
    return open_clip


def resolve(name: str, checkpoint: str | os.PathLike | None = None, random_init: bool = False) -> ModelSpec:
    """Turn a --model NAME (registry name, open_clip ARCH, or ARCH/TAG) and an optional --checkpoint into a spec."""
    spec = REGISTRY.get(name)
    if spec is None:
        arch, _, tag = name.partition("/")
        open_clip = _open_clip()
        if arch not in open_clip.list_models():
            raise UnknownModel(
                f"unknown model {name!r}. Registered: {', '.join(REGISTRY)}; or any open_clip architecture "
                f"(ARCH or ARCH/TAG), e.g. ViT-B-16/laion2b_s34b_b88k. `picseek models` lists them."
            )
        spec = ModelSpec(name, arch, pretrained=tag or None, captions=arch.startswith("coca"))
    if checkpoint:
        path = Path(checkpoint).expanduser().resolve()
        if not path.is_file():
            raise ModelWeightsUnavailable(f"checkpoint {path} does not exist or is not a file.")
        spec = replace(spec, checkpoint=path, pretrained=None, bundled=None)
    if random_init:
        spec = replace(spec, random_init=True, pretrained=None, checkpoint=None, bundled=None)
    return spec


def expand_bundled(path: Path) -> Path:
    """Write the full open_clip checkpoint for a compact bundled one (once) and return its path.

    The compact file keeps the ~60 token-table rows and caption-head columns the toy captions use plus one shared
    row for all others; expanding restores the full 49,408-entry tables that open_clip's loader expects.
    """
    import torch

    target = models_dir() / f"{path.stem}-{_digest(path)}.pt"
    if target.exists():
        return target
    packed = torch.load(path, map_location="cpu", weights_only=True)
    if packed.get("format") != "picseek-tied-vocab-v1":
        raise ModelWeightsUnavailable(f"{path} is not a picseek bundled checkpoint (format {packed.get('format')!r}).")
    sd = dict(packed["state_dict"])
    ids, n = packed["vocab_ids"], int(packed["vocab_size"])
    emb = packed["token_default"].unsqueeze(0).repeat(n, 1)
    emb[ids] = packed["token_rows"]
    proj = packed["proj_default"].unsqueeze(1).repeat(1, n)
    proj[:, ids] = packed["proj_cols"]
    sd["text.token_embedding.weight"] = emb
    sd["text_decoder.text_projection"] = proj
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".tmp{os.getpid()}")
    torch.save(sd, tmp)
    os.replace(tmp, target)  # atomic: a crash never leaves a half-written checkpoint behind
    return target


@dataclass
class Loaded:
    """A model loaded once per process: the open_clip module, its tokenizer and preprocessing settings."""

    spec: ModelSpec
    model: object
    tokenizer: object
    preprocess: dict
    device: str
    dtype: object


_CACHE: dict[tuple, Loaded] = {}
_LOCK = threading.Lock()


def pick_device(device: str = "auto") -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def load(spec: ModelSpec, device: str = "auto", precision: str = "fp32") -> Loaded:
    """Load (or fetch from this process's cache) the model behind a spec."""
    import torch

    device = pick_device(device)
    key = (spec, device, precision)
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
        open_clip = _open_clip()
        if spec.random_init:
            pretrained = None
            torch.manual_seed(0)
        elif spec.checkpoint:
            pretrained = str(spec.checkpoint)
        elif spec.bundled:
            pretrained = str(expand_bundled(spec.bundled))
        else:
            pretrained = spec.pretrained
        try:
            model, _, _ = open_clip.create_model_and_transforms(spec.arch, pretrained=pretrained, device=device)
        except Exception as e:  # open_clip wraps download errors in RuntimeError; keep the detail in the log
            log.exception("loading %s failed", spec.model_id)
            raise ModelWeightsUnavailable(
                f"could not load weights for {spec.arch}/{spec.pretrained or pretrained} ({type(e).__name__}; "
                f"offline?). Pass --checkpoint PATH to a downloaded open_clip checkpoint, or use --model toy for "
                f"the bundled demo model."
            ) from e
        dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
        model = model.to(dtype=dtype).eval()
        loaded = Loaded(
            spec, model, open_clip.get_tokenizer(spec.arch), dict(model.visual.preprocess_cfg), device, dtype
        )
        _CACHE[key] = loaded
        return loaded


def list_models() -> list[dict]:
    """Registered models, for `picseek models` (and `--json`)."""
    return [
        {
            "name": s.name,
            "arch": s.arch,
            "weights": s.pretrained or (s.bundled and "bundled") or None,
            "captions": s.captions,
            "description": s.description,
        }
        for s in REGISTRY.values()
    ]
