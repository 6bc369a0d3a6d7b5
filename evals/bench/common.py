"""Shared benchmark helpers: generated inputs (cached under $PICSEEK_HOME/bench) and RESULTS.md sections."""

from __future__ import annotations

import os
import platform
import re
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def bench_dir() -> Path:
    from picseek.tools.home import home

    d = home() / "bench"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _photo(args: tuple[Path, int, int, int]) -> None:
    from PIL import Image, ImageFilter

    path, w, h, seed = args
    rng = np.random.default_rng(seed)
    low = Image.fromarray(rng.integers(0, 255, (h // 100, w // 100, 3), dtype=np.uint8)).resize((w, h), Image.BICUBIC)
    a = np.asarray(low.filter(ImageFilter.GaussianBlur(8)), dtype=np.int16)
    a = a + rng.normal(0, 12, a.shape).astype(np.int16)  # sensor-like noise keeps JPEGs photo-sized
    Image.fromarray(a.clip(0, 255).astype(np.uint8)).save(path, quality=90)


def photos(n: int = 300, w: int = 3000, h: int = 2000) -> Path:
    """n generated photo-sized JPEGs (w x h, ~1-2 MB each), made once and reused."""
    d = bench_dir() / f"photos-{n}-{w}x{h}"
    todo = [(d / f"photo_{i:04d}.jpg", w, h, i) for i in range(n) if not (d / f"photo_{i:04d}.jpg").exists()]
    if todo:
        d.mkdir(parents=True, exist_ok=True)
        from tqdm import tqdm

        with ProcessPoolExecutor(os.cpu_count(), mp_context=get_context("spawn")) as pool:
            list(tqdm(pool.map(_photo, todo, chunksize=4), total=len(todo), desc="generating photos"))
    return d


def decode_cost(files: Sequence[Path], fit) -> tuple[list[np.ndarray], float]:
    """Decode `files` in this process, one after another (`tools.images.decode`, JPEG draft mode as indexing
    does; the worker processes around it left out): their pixels, and the seconds one image costs one core."""
    import time

    from picseek.tools.images import decode

    decode(files[0], fit)  # warm-up
    t = time.perf_counter()
    pixels = [decode(f, fit).pixels for f in files]
    return pixels, (time.perf_counter() - t) / len(files)


def embed_cost(embedder, pixels: Sequence[np.ndarray], batch: int = 32) -> float:
    """Wall seconds per image to embed `pixels` on torch's current threads, after a warm-up (model only)."""
    import time

    embedder.embed_pixels(pixels[:8], batch_size=8)
    t = time.perf_counter()
    embedder.embed_pixels(pixels, batch_size=batch)
    return (time.perf_counter() - t) / len(pixels)


def machine() -> str:
    import torch

    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
        f"{sys.version.split()[0]}, torch {torch.__version__} ({torch.get_num_threads()} threads)"
    )


def header(command: str) -> list[str]:
    """The first lines of every RESULTS.md section: the machine and the command that made the figures."""
    return [f"Machine: {machine()}.", "", f"Command: `{command}` (part of `make bench`).", ""]


def table(columns: Sequence[str], rows: Iterable[Sequence[str]], left: int = 1) -> list[str]:
    """A markdown table of formatted cells; the first `left` columns align left, the rest (figures) right."""
    rule = "|" + "|".join(["---"] * left + ["---:"] * (len(columns) - left)) + "|"
    return [_row(columns), rule, *map(_row, rows)]


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def section(
    command: str,
    title: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[str]],
    left: int = 1,
    notes: Sequence[str] = (),
) -> list[str]:
    """The lines of a one-table RESULTS.md section: header, `### title`, the table, then notes after a blank line."""
    lines = [*header(command), f"### {title}", "", *table(columns, rows, left)]
    return lines + ["", *notes] if notes else lines


def write_section(name: str, body: str) -> None:
    """Replace (or append) the `<!-- name -->` section of RESULTS.md."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\nMade by `make bench`.\n"
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    block = f"{start}\n{body.strip()}\n{end}"
    if start in text:
        text = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(text)


def pct(xs, q) -> float:
    return float(np.percentile(np.asarray(xs), q))
