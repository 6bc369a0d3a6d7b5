"""Cached thumbnails: the UI shows these, never the originals, and serves nothing but this folder."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from picseek.tools.home import home
from picseek.tools.images import to_rgb
from PIL import Image, ImageOps

THUMB_SIDE = 384


def thumbs_dir(gallery: Path) -> Path:
    key = hashlib.sha1(os.fsencode(Path(gallery).resolve())).hexdigest()[:12]
    return home() / "thumbs" / key


def thumbnail(gallery: Path, rel: str, image_id: str, mtime_ns: int) -> Path | None:
    """The thumbnail of one indexed image (made once per file version); None if the file cannot be read."""
    root = Path(gallery).resolve()
    src = (root / rel).resolve()
    if root not in src.parents:  # only images inside the indexed gallery
        return None
    d = thumbs_dir(root)
    dest = d / f"{image_id}-{mtime_ns}.jpg"
    if dest.exists():
        return dest
    try:
        with Image.open(src) as im:
            im.draft("RGB", (THUMB_SIDE, THUMB_SIDE))
            im.seek(0)
            im = ImageOps.exif_transpose(to_rgb(im) if im.mode not in ("RGB", "L") else im)
            im = to_rgb(im)
            im.thumbnail((THUMB_SIDE, THUMB_SIDE))
            d.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_suffix(f".tmp{os.getpid()}")
            im.save(tmp, format="JPEG", quality=85)
            os.replace(tmp, dest)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return dest
