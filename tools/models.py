"""The model registry, as data: a name maps to an open_clip architecture plus where its weights come from.

Weights come from an open_clip pretrained tag (found in $PICSEEK_HOME/models/ARCH/TAG/ or the Hugging Face cache,
else downloaded by open_clip once the hub answers), a local checkpoint file, or the bundled toy checkpoint. All of
them load through `open_clip.create_model_and_transforms`, the same factory, so the toy model exercises the real path.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from picseek.tools.errors import ModelWeightsUnavailable, UnknownModel
from picseek.tools.home import models_dir

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
CONFIG_DIR = PACKAGE_DIR / "model_configs"
TOY_WEIGHTS = PACKAGE_DIR / "weights" / "toy-coca.pt"
# One look at the hub before a download: offline, the remedy comes in seconds instead of after ~50 s of retries.
HUB_PROBE_TIMEOUT_S = 3.0
REMEDY = "Pass --checkpoint PATH to a downloaded open_clip checkpoint, or use --model toy for the bundled demo model."


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


def _hub_files(arch: str, tag: str) -> tuple[str, list[str]] | None:
    """The Hugging Face repo and file names open_clip would download for ARCH/TAG, safetensors first."""
    from open_clip.constants import HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME

    hub = _open_clip().get_pretrained_cfg(arch, tag).get("hf_hub")
    if not hub:
        return None
    repo, name = os.path.split(hub)
    name = name or HF_WEIGHTS_NAME
    if name == HF_WEIGHTS_NAME:
        return repo, [HF_SAFE_WEIGHTS_NAME, name]
    stem, ext = os.path.splitext(name)
    return repo, [stem + ".safetensors", name] if ext in (".bin", ".pth") else [name]


def cached_weights(spec: ModelSpec) -> Path | None:
    """A local copy of a pretrained tag's weights, found without the network: in $PICSEEK_HOME/models/ARCH/TAG/
    (a file named as on the hub), else in the Hugging Face cache where open_clip's downloads land."""
    from huggingface_hub import try_to_load_from_cache

    files = spec.pretrained and _hub_files(spec.arch, spec.pretrained)
    if not files:
        return None
    repo, names = files
    for name in names:
        if (mine := models_dir() / spec.arch / spec.pretrained / name).is_file():
            return mine
    for name in names:
        if isinstance(hit := try_to_load_from_cache(repo, name), str):  # not None, not the "known missing" marker
            return Path(hit)
    return None


def hub_reachable(timeout: float = HUB_PROBE_TIMEOUT_S) -> bool:
    """Whether the hub ($HF_ENDPOINT honoured, proxies too) answers one request within `timeout` seconds; a 407
    or a 5xx (a proxy refusing, a failing gateway) does not count.

    The request runs in a thread so that a resolver that hangs cannot stretch the wait; HF_HUB_OFFLINE means no.
    """
    from huggingface_hub import constants
    from huggingface_hub.utils import get_session

    if constants.HF_HUB_OFFLINE:
        return False
    answered = threading.Event()

    def probe() -> None:
        try:
            status = get_session().head(constants.ENDPOINT, timeout=timeout).status_code
            if status != 407 and status < 500:  # a proxy refusing us, or a failing gateway, is no hub
                answered.set()
            else:
                log.info("hub %s answered %s", constants.ENDPOINT, status)
        except Exception as e:  # refused, unresolvable, timed out: all mean "not now"
            log.info("hub %s did not answer: %r", constants.ENDPOINT, e)

    thread = threading.Thread(target=probe, name="picseek-hub-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    return answered.is_set()


@contextmanager
def _hub_warnings_to_log():
    """Keep the hub's retry warnings in picseek's log and off the terminal (the hub prints them to stderr itself)."""
    handlers = [
        h
        for h in logging.getLogger("huggingface_hub").handlers
        if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)
    ]
    levels = [h.level for h in handlers]
    for h in handlers:
        h.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for h, level in zip(handlers, levels):
            h.setLevel(level)


def _tag_source(spec: ModelSpec) -> tuple[str, dict]:
    """What to pass open_clip for a pretrained tag: a cached file with the tag's preprocessing, else the tag itself.

    A file path makes open_clip skip the tag's mean/std/resize settings, so they are passed explicitly. Without a
    cached file the hub gets one short look first, so that offline the user gets the remedy, not minutes of retries.
    """
    cfg = _open_clip().get_pretrained_cfg(spec.arch, spec.pretrained)
    cached = cached_weights(spec)
    if cached:
        log.info("weights for %s found at %s", spec.model_id, cached)
        keys = ("mean", "std", "interpolation", "resize_mode")
        return str(cached), {f"image_{k}": cfg[k] for k in keys if k in cfg}
    if cfg.get("hf_hub") and not hub_reachable():
        from huggingface_hub import constants

        raise ModelWeightsUnavailable(
            f"could not download weights for {spec.arch}/{spec.pretrained} ({constants.ENDPOINT} did not answer; "
            f"offline?). {REMEDY}"
        )
    return spec.pretrained, {}


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


def load(spec: ModelSpec, device: str = "auto", precision: str = "fp32", vision: bool = True) -> Loaded:
    """Load (or fetch from this process's cache) the model behind a spec. `vision=False`: a process that only
    embeds texts (a search, the chat UI until an upload) gets the model without its image tower, which is more
    than half of a ViT-B-32's memory; the whole model serves too when it is loaded already."""
    import torch

    device = pick_device(device)
    key = (spec, device, precision)
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
        if not vision and (*key, "text") in _CACHE:
            return _CACHE[(*key, "text")]
        _CACHE.pop((*key, "text"), None)  # the whole model replaces a text-only one
        open_clip = _open_clip()
        preprocess: dict = {}
        if spec.random_init:
            pretrained = None
            torch.manual_seed(0)
        elif spec.checkpoint:
            pretrained = str(spec.checkpoint)
        elif spec.bundled:
            pretrained = str(expand_bundled(spec.bundled))
        elif spec.pretrained:
            pretrained, preprocess = _tag_source(spec)
        else:
            pretrained = None
        try:
            with _hub_warnings_to_log():
                model, _, _ = open_clip.create_model_and_transforms(
                    spec.arch, pretrained=pretrained, device=device, **preprocess
                )
        except Exception as e:  # open_clip wraps download errors in RuntimeError; keep the detail in the log
            log.exception("loading %s failed", spec.model_id)
            raise ModelWeightsUnavailable(
                f"could not load weights for {spec.arch}/{spec.pretrained or pretrained} ({type(e).__name__}; "
                f"offline?). {REMEDY}"
            ) from e
        dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16, "int8": torch.float32}[precision]
        model = model.to(dtype=dtype).eval()
        preprocess = dict(model.visual.preprocess_cfg)
        if not vision:
            model.visual = None  # open_clip's text path never reads it
        if precision == "int8":
            quantize_int8(model)
        loaded = Loaded(spec, model, open_clip.get_tokenizer(spec.arch), preprocess, device, dtype)
        _CACHE[key if vision else (*key, "text")] = loaded
        _release_freed_memory()
        return loaded


BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})  # x86 flags of CPUs that compute bf16 matrix products natively


def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags as Linux lists them (empty where /proc/cpuinfo has no x86 `flags` line)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()


def auto_precision(device: str, flags: frozenset[str] | None = None) -> str:
    """The precision "auto" means on `device`: fp16 on CUDA; on a CPU, bf16 where it computes bf16 natively, int8
    (dynamic quantisation of the Linear layers) on other x86 CPUs, fp32 elsewhere.

    bf16 emulated is slower than fp32 (an AVX2 CPU indexed at 1.1 images/s in bf16 against 6.4 in fp32), so the
    choice reads the CPU's flags, not oneDNN's "bf16 supported", which is also true where it is only emulated. int8
    cuts the fp32 towers' time by 1.5-4x at a cosine of 0.9998 to fp32 (evals/bench/realmodels.py).
    `flags` overrides the CPU's own (tests fake an AVX2-only or an AMX CPU)."""
    if device != "cpu":
        return "fp16" if device == "cuda" else "fp32"
    flags = cpu_flags() if flags is None else flags
    if not flags:  # no flags to read (not Linux, or not x86): leave int8 to the CPUs it was measured on
        import platform

        if platform.machine().lower() in ("x86_64", "amd64", "i386", "i686", "x86"):
            return "fp32"  # an x86 CPU we cannot read: oneDNN's answer is also yes where bf16 is only emulated
        return "bf16" if _mkldnn_bf16() else "fp32"  # ARM: oneDNN says yes only where the CPU has bf16
    if flags & BF16_FLAGS:
        return "bf16"
    return "int8" if "avx2" in flags and _int8_engine() else "fp32"


def _mkldnn_bf16() -> bool:
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def _int8_engine() -> bool:
    import torch

    return "fbgemm" in torch.backends.quantized.supported_engines or "x86" in torch.backends.quantized.supported_engines


def quantize_int8(model) -> None:
    """Quantise the model's Linear layers to int8 in place (weights int8, activations quantised per batch), for CPUs
    without native bf16. The towers' self-attention is first rebuilt on two Linear layers, since torch's
    `MultiheadAttention` keeps its fused input projection (a third of a block's weights) out of quantisation."""
    import warnings

    import torch

    for tower in _towers(model):
        for block in getattr(tower, "resblocks", []):
            if isinstance(getattr(block, "attn", None), torch.nn.MultiheadAttention) and not hasattr(block, "ln_1_kv"):
                block.attn = _self_attention()(block.attn)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's notice that eager quantisation moves to torchao one day
        torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
    for module in model.modules():
        # open_clip reads a block's compute dtype from its MLP's weight, which a quantised layer has as a method
        if hasattr(module, "get_weight_dtype"):
            module.get_weight_dtype = lambda: torch.float32


def _towers(model) -> list:
    """The transformers of a model's text and image towers (CLIP keeps its text tower's at the top, CoCa under
    `text`); a CoCa caption decoder is no tower and keeps its attention as it is."""
    text = getattr(model, "transformer", None) or getattr(getattr(model, "text", None), "transformer", None)
    return [t for t in (text, getattr(getattr(model, "visual", None), "transformer", None)) if t is not None]


@functools.cache
def _self_attention():
    """The class of a self-attention module that replaces a `MultiheadAttention` (same weights, same results) with
    its projections as plain Linear layers that int8 quantisation can reach (torch is imported on first use)."""
    import torch
    import torch.nn.functional as F

    class SelfAttention(torch.nn.Module):
        def __init__(self, mha: torch.nn.MultiheadAttention):
            super().__init__()
            d = mha.embed_dim
            self.heads, self.batch_first = mha.num_heads, mha.batch_first
            self.qkv = torch.nn.Linear(d, 3 * d, bias=mha.in_proj_bias is not None)
            self.qkv.weight = mha.in_proj_weight
            if mha.in_proj_bias is not None:
                self.qkv.bias = mha.in_proj_bias
            self.out = torch.nn.Linear(d, d, bias=mha.out_proj.bias is not None)
            self.out.weight = mha.out_proj.weight
            if mha.out_proj.bias is not None:
                self.out.bias = mha.out_proj.bias

        def forward(self, q, k=None, v=None, need_weights=False, attn_mask=None):
            if (k is not None and k is not q) or (v is not None and v is not q):
                raise ValueError("this attention serves self-attention only")
            x = q if self.batch_first else q.transpose(0, 1)
            b, n, d = x.shape
            qkv = self.qkv(x).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
            if attn_mask is not None and attn_mask.dtype == torch.bool:  # MultiheadAttention: True means masked
                attn_mask = torch.zeros(attn_mask.shape, dtype=x.dtype).masked_fill(attn_mask, float("-inf"))
            if attn_mask is not None and attn_mask.dim() == 3:  # (batch * heads, n, n) as MultiheadAttention takes it
                attn_mask = attn_mask.view(b, self.heads, n, n)
            y = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=attn_mask)
            y = self.out(y.transpose(1, 2).reshape(b, n, d))
            return (y if self.batch_first else y.transpose(0, 1)), None

    return SelfAttention


def _release_freed_memory() -> None:
    """Give the heap freed by loading back to the system: the model is built in fp32 and then cast, and glibc keeps
    the freed fp32 tensors' pages in the process (about 70 MB for ViT-B-32) unless asked to trim."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim this way
        pass


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
