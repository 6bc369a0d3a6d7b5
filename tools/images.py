"""Safe image decoding and metadata. Imports only Pillow, NumPy and `tools.errors`: it runs inside decode worker
processes.

Every failure becomes a `SkipImage` with a short reason; nothing here may crash the indexer.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

import numpy as np
from picseek.tools.errors import SkipImage
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

DEFAULT_MAX_PIXELS = 100_000_000  # ~10k x 10k; above this a file is refused before it is decoded
TEXT_LIMIT = 64  # EXIF strings are untrusted: bounded and stripped of control characters

ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file is reported, not silently half-indexed


@dataclass(frozen=True)
class Fit:
    """How the model wants its pixels: open_clip's preprocess settings (size, resize mode, interpolation)."""

    size: int = 224
    # open_clip's modes: shortest (resize + center crop), longest (pad), squash; `fit` reads anything else as shortest
    resize_mode: Literal["shortest", "longest", "squash"] = "shortest"
    interpolation: Literal["bicubic", "bilinear", "nearest", "lanczos"] = "bicubic"  # anything else: bicubic
    fill: int = 0


def image_extensions() -> frozenset[str]:
    """Lower-case extensions Pillow can open (not just save)."""
    Image.init()
    return frozenset(ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN)


def clean_text(value: object, limit: int = TEXT_LIMIT) -> str:
    """Untrusted text (EXIF, file names) made safe to store and show: printable, single-line, bounded."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = re.sub(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]", " ", str(value))
    text = re.sub(r"\s+", " ", text).strip()
    return text[:limit]


def _exif_meta(exif: Image.Exif) -> dict:
    meta: dict = {}
    ifd = exif.get_ifd(0x8769) if exif else {}
    raw = ifd.get(36867) or ifd.get(36868) or exif.get(306)
    if raw:
        try:
            taken = datetime.strptime(clean_text(raw)[:19], "%Y:%m:%d %H:%M:%S").replace(tzinfo=timezone.utc)
            meta["taken"] = taken.strftime("%Y-%m-%dT%H:%M:%S")
            meta["taken_ts"] = int(taken.timestamp())
        except ValueError:
            pass
    for tag, key in ((271, "camera_make"), (272, "camera_model")):
        if exif.get(tag):
            text = clean_text(exif.get(tag))
            if text:
                meta[key] = text
    gps = exif.get_ifd(0x8825) if exif else {}
    try:
        if gps and 2 in gps and 4 in gps:
            lat = _dms(gps[2]) * (-1 if clean_text(gps.get(1, "N")).upper().startswith("S") else 1)
            lon = _dms(gps[4]) * (-1 if clean_text(gps.get(3, "E")).upper().startswith("W") else 1)
            if -90 <= lat <= 90 and -180 <= lon <= 180:
                meta["gps_lat"], meta["gps_lon"] = round(lat, 6), round(lon, 6)
    except (TypeError, ValueError, ZeroDivisionError, IndexError):
        pass
    return meta


def _dms(v) -> float:
    d, m, s = (float(x) for x in v)
    if any(math.isnan(x) for x in (d, m, s)):
        raise ValueError("nan in GPS")
    return d + m / 60 + s / 3600


def to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB: transparency goes onto white, 16-bit and float are rescaled, CMYK converted."""
    if im.mode == "RGB":
        return im
    if im.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        a = np.asarray(im, dtype=np.float64)
        lo, hi = float(np.nanmin(a)), float(np.nanmax(a))
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        return Image.fromarray(np.nan_to_num((a - lo) * scale).clip(0, 255).astype(np.uint8), "L").convert("RGB")
    if im.mode == "P" and "transparency" in im.info or im.mode in ("PA", "LA", "La", "RGBa"):
        im = im.convert("RGBA")
    if im.mode == "RGBA":
        bg = Image.new("RGB", im.size, (255, 255, 255))
        bg.paste(im, mask=im.getchannel("A"))
        return bg
    return im.convert("RGB")


_RESAMPLE = {
    "bicubic": Image.Resampling.BICUBIC,
    "bilinear": Image.Resampling.BILINEAR,
    "nearest": Image.Resampling.NEAREST,
    "lanczos": Image.Resampling.LANCZOS,
}


def fit(im: Image.Image, fit: Fit) -> np.ndarray:
    """Resize/crop like open_clip's eval transform (torchvision on PIL) and return HxWx3 uint8."""
    resample = _RESAMPLE.get(fit.interpolation, Image.Resampling.BICUBIC)
    w, h = im.size
    s = fit.size
    if fit.resize_mode == "squash":
        im = im.resize((s, s), resample)
    elif fit.resize_mode == "longest":
        scale = s / max(w, h)
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        canvas = Image.new("RGB", (s, s), (fit.fill,) * 3)
        canvas.paste(im.resize((nw, nh), resample), ((s - nw) // 2, (s - nh) // 2))
        im = canvas
    else:  # shortest side to s (torchvision Resize(int)), then CenterCrop(s)
        if w <= h:
            nw, nh = s, int(s * h / w)
        else:
            nw, nh = int(s * w / h), s
        if (nw, nh) != (w, h):
            im = im.resize((nw, nh), resample)
        left, top = int(round((nw - s) / 2.0)), int(round((nh - s) / 2.0))
        im = im.crop((left, top, left + s, top + s))
    return np.asarray(im, dtype=np.uint8).copy()


@dataclass
class Decoded:
    pixels: np.ndarray  # HxWx3 uint8, already fitted to the model's input
    meta: dict  # the ImageMeta fields decoding reads (width, height, format, orientation, EXIF...), as a dict:
    # this module runs in decode workers and imports no pydantic; the indexer adds the rest and validates


def decode(path: str | Path, fit_cfg: Fit, max_pixels: int = DEFAULT_MAX_PIXELS) -> Decoded:
    """Open one image safely and return model-ready pixels plus metadata, or raise SkipImage(reason)."""
    Image.MAX_IMAGE_PIXELS = max_pixels
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        warnings.simplefilter("ignore", UserWarning)  # e.g. "Corrupt EXIF data": not fatal for us
        try:
            return _decode(Path(path), fit_cfg, max_pixels)
        except SkipImage:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise SkipImage(
                f"too large: refused as a possible decompression bomb (limit {max_pixels:,} pixels; see --max-pixels)"
            ) from None
        except UnidentifiedImageError:
            raise SkipImage("not a recognised image format") from None
        except MemoryError:
            raise SkipImage("needs more memory to decode than a worker may use") from None
        except (
            OSError,
            SyntaxError,
            ValueError,
            EOFError,
            IndexError,
            KeyError,
            TypeError,
            ZeroDivisionError,
            struct_error(),
            RuntimeError,
            NotImplementedError,
            AttributeError,
        ) as e:
            raise SkipImage(f"cannot decode: {clean_text(e, 120) or type(e).__name__}") from None


def struct_error():
    import struct

    return struct.error


def _decode(path: Path, fit_cfg: Fit, max_pixels: int) -> Decoded:
    with Image.open(path) as im:
        w, h = im.size
        if w <= 0 or h <= 0:
            raise SkipImage(f"invalid size {w}x{h}")
        if w * h > max_pixels:
            raise SkipImage(f"too large: {w}x{h} pixels exceeds the limit of {max_pixels:,} (see --max-pixels)")
        fmt = im.format or path.suffix.lstrip(".").upper()
        n_frames = getattr(im, "n_frames", 1)
        try:
            exif = im.getexif()
        except Exception:  # corrupt EXIF must not lose the picture
            exif = Image.Exif()
        orientation = exif.get(0x0112, 1) if exif else 1
        if fmt == "JPEG" and fit_cfg.resize_mode == "shortest":
            short = min(w, h)
            # draft mode: decode at 1/2, 1/4 or 1/8 scale when the result still covers the model's input
            im.draft("RGB", (math.ceil(w * fit_cfg.size / short), math.ceil(h * fit_cfg.size / short)))
        if n_frames > 1:
            im.seek(0)
        im.load()
        try:
            im = ImageOps.exif_transpose(im)
        except Exception:
            pass
        rgb = to_rgb(im)
        pixels = fit(rgb, fit_cfg)
    if orientation in (5, 6, 7, 8):
        w, h = h, w
    meta = {
        "width": int(w),
        "height": int(h),
        "format": clean_text(fmt, 16),
        "orientation": "square" if abs(w - h) <= 0.02 * max(w, h) else ("landscape" if w > h else "portrait"),
        "megapixels": round(w * h / 1e6, 3),
    }
    if n_frames > 1:
        meta["frames"] = int(n_frames)
    meta.update(_exif_meta(exif) if exif else {})
    return Decoded(pixels, meta)
