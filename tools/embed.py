"""CLIP encoders. Every vector leaves this module as L2-normalized float32 (`FeatureVector` rows)."""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Literal, get_args

import numpy as np
from picseek.tools.errors import check_choice
from picseek.tools.images import Fit, fit, to_rgb
from picseek.tools.models import Loaded, ModelSpec, load

FeatureVector = np.ndarray  # shape (dim,), float32, unit length
# "auto": fp16 on CUDA, bf16 on CPUs that compute it natively, int8 on other x86 CPUs (`models.auto_precision`)
Precision = Literal["auto", "fp32", "bf16", "int8"]


def _normalize(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float32, copy=False)
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(n, 1e-12)


@functools.cache
def _auto_precision(device: str) -> str:
    from picseek.tools.models import auto_precision

    return auto_precision(device)


FEW_TEXTS = 4  # a query's texts (description, negatives) embed on one thread


@contextmanager
def _threads(n: int | None) -> Iterator[None]:
    """torch's intra-op threads set to `n` for a block (None: as they are). A query text is a few dozen small matrix
    products: on one thread they take tens of milliseconds, while spread over two threads they wait on each other at
    every product whenever another process holds a core (measured 10x slower with an indexing run beside it)."""
    import torch

    before = torch.get_num_threads()
    if n is None or n == before:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def encode_text(model, tokens):
    """The model's text features for a batch of token ids (as open_clip's `encode_text`, unnormalized).

    open_clip's CLIP text tower is causal and pooled at the end-of-text token (the highest id of each row), so the
    positions after the batch's last end-of-text token cannot change the result: they are cut off before the
    transformer runs, and a short query costs a dozen positions instead of the whole context. Other towers run as
    open_clip runs them."""
    import torch
    from open_clip.model import CLIP
    from open_clip.transformer import text_global_pool

    mask = getattr(model, "attn_mask", None)
    if type(model) is not CLIP or model.text_pool_type != "argmax" or mask is None:
        return model.encode_text(tokens)
    n = int(tokens.argmax(dim=-1).max()) + 1
    tokens = tokens[:, :n]
    cast = model.transformer.get_cast_dtype()
    x = model.token_embedding(tokens).to(cast) + model.positional_embedding[:n].to(cast)
    x = model.ln_final(model.transformer(x, attn_mask=mask[:n, :n]))
    x = text_global_pool(x, tokens, "argmax")
    proj = model.text_projection
    if proj is None:
        return x
    return proj(x) if isinstance(proj, torch.nn.Linear) else x @ proj


class Embedder:
    """Image and text embeddings for one model. The model loads lazily, once per process."""

    def __init__(self, spec: ModelSpec, device: str = "auto", precision: Precision = "auto", text_cache: int = 4096):
        check_choice("precision", precision, get_args(Precision))  # here, not after minutes of loading weights
        self.spec = spec
        self.device = device
        self.precision = precision
        self._loaded: Loaded | None = None  # the whole model, once an image needed it
        self._text_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._text_cache_size = text_cache
        self._lock = threading.RLock()  # the UI serves several sessions from threads; one model call at a time

    @property
    def loaded(self) -> Loaded:
        """The whole model (loaded on first use)."""
        if self._loaded is None:
            self._loaded = load(self.spec, *self._device_precision())
        return self._loaded

    @property
    def text_loaded(self) -> Loaded:
        """A model that embeds texts: the whole one once loaded, else one without the image tower (a search process
        and the chat UI embed texts only, unless the user uploads an example image)."""
        if self._loaded is not None:
            return self._loaded
        # Not kept here: the process's cache hands out the whole model once anything loaded it, and lets go of
        # the text-only one then.
        return load(self.spec, *self._device_precision(), vision=False)

    def _device_precision(self) -> tuple[str, str]:
        from picseek.tools.models import pick_device

        device = pick_device(self.device)
        # bf16 is the CPU default where the CPU computes it natively, int8 on other x86 CPUs: both keep embeddings
        # practically equal to fp32 at a fraction of the time (evals/bench/ingest.py and realmodels.py measure them).
        precision = self.precision
        if precision == "auto":
            precision = _auto_precision(device)
        return device, precision

    @property
    def model_id(self) -> str:
        return self.spec.model_id

    @property
    def open_clip(self):
        """The open_clip module, with picseek's model configs registered (imported on first use)."""
        from picseek.tools.models import _open_clip

        return _open_clip()

    @property
    def fit(self) -> Fit:
        """The pixel layout the model wants, known without loading the weights (decode workers need it first)."""
        cfg = self.open_clip.get_model_config(self.spec.arch) or {}
        size = cfg.get("vision_cfg", {}).get("image_size", 224)
        size = size[0] if isinstance(size, (list, tuple)) else size
        pp = cfg.get("preprocess_cfg", {})
        return Fit(
            size=int(size),
            resize_mode=pp.get("resize_mode", "shortest"),
            interpolation=pp.get("interpolation", "bicubic"),
        )

    @property
    def dim(self) -> int:
        """The vector length, from the model's config when it says (no model load), else from one text."""
        cfg = self.open_clip.get_model_config(self.spec.arch) or {}
        return int(cfg["embed_dim"]) if "embed_dim" in cfg else int(self.embed_texts(["a photo"]).shape[1])

    def pixels_to_tensor(self, pixels: Sequence[np.ndarray]):
        """Fitted pixels (HxWx3 uint8) as the model's normalized input batch, on its device and in its dtype."""
        import torch

        lo = self.loaded
        pp = lo.preprocess
        # uint8 goes to the device (a quarter of float32's bytes) and is normalized there: on a GPU the host's
        # arithmetic would otherwise cap the embedding rate.
        batch = torch.from_numpy(np.stack(pixels)).to(lo.device).permute(0, 3, 1, 2).float().div_(255.0)
        mean = torch.tensor(pp["mean"], device=lo.device).view(1, 3, 1, 1)
        std = torch.tensor(pp["std"], device=lo.device).view(1, 3, 1, 1)
        return ((batch - mean) / std).to(lo.dtype)

    def embed_pixels(self, pixels: Sequence[np.ndarray], batch_size: int = 64) -> np.ndarray:
        """Embed images already fitted by `tools.images.fit` (HxWx3 uint8). Returns (N, dim) unit vectors."""
        import torch

        out = []
        with self._lock, torch.inference_mode():
            for i in range(0, len(pixels), batch_size):
                feats = self.loaded.model.encode_image(self.pixels_to_tensor(pixels[i : i + batch_size]))
                out.append(feats.float().cpu().numpy())
        return _normalize(np.concatenate(out)) if out else np.zeros((0, 0), np.float32)

    def embed_images(self, images: Sequence, batch_size: int = 64) -> np.ndarray:
        """Embed PIL images (any mode) in memory, e.g. an uploaded example image."""
        f = self.fit
        return self.embed_pixels([fit(to_rgb(im), f) for im in images], batch_size)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts (cached per text). Returns (N, dim) unit vectors."""
        with self._lock:
            return self._embed_texts(texts)

    def clear_text_cache(self) -> None:
        """Forget cached text embeddings, so the next `embed_texts` runs the model (tests and benchmarks)."""
        with self._lock:
            self._text_cache.clear()

    def _embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        missing = [t for t in dict.fromkeys(texts) if t not in self._text_cache]
        if missing:
            lo = self.text_loaded
            with torch.inference_mode(), _threads(1 if len(missing) <= FEW_TEXTS else None):
                tokens = lo.tokenizer(missing).to(lo.device)
                feats = _normalize(encode_text(lo.model, tokens).float().cpu().numpy())
            for t, v in zip(missing, feats):
                self._text_cache[t] = v
                while len(self._text_cache) > self._text_cache_size:
                    self._text_cache.popitem(last=False)
        for t in texts:
            self._text_cache.move_to_end(t)
        return np.stack([self._text_cache[t] for t in texts])
