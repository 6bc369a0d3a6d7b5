"""Search latency at scale: p50/p95 of `Searcher.search` over a 100k-vector Chroma store, with and without filters.

Vectors are random unit vectors of ViT-B-32's 512 dimensions with realistic metadata; the text encoder is the
real ViT-B-32 architecture with random weights. Cost does not depend on the values.

    python -m evals.bench.search [--n 100000] [--queries 200]
"""

from __future__ import annotations

import argparse
import time
from datetime import date

import numpy as np

from evals.bench.common import bench_dir, pct, section, write_section
from tools.models import DEFAULT_MODEL

WORDS = [
    "red car",
    "beach at sunset",
    "dog on grass",
    "city at night",
    "mountain lake",
    "birthday cake",
    "snowy street",
    "two people hiking",
    "a cat on a sofa",
    "fireworks",
]
CHUNK = 5000


def build(n: int, dim: int = 512):
    """A gallery of n random vectors under the default architecture with random weights (open_gallery loads real
    weights, so this one is put together by hand); filled once and reused."""
    from tools.embed import Embedder
    from tools.gallery import Gallery
    from tools.models import resolve
    from tools.store import Store

    emb = Embedder(resolve(DEFAULT_MODEL, random_init=True))
    folder = bench_dir() / f"vectors-{n}"
    folder.mkdir(exist_ok=True)
    # "-v2": stores of full `ImageMeta` records (an older bench store lacks fields the schema requires)
    store = Store.open(bench_dir() / f"store-{n}-v2", folder, emb, create=True)
    if store.count() < n:
        fill(store, n, dim)
    return Gallery(folder, emb, store)


def fill(store, n: int, dim: int) -> None:
    """Top the store up to n random unit vectors with realistic metadata, in chunks."""
    from tqdm import tqdm

    rng = np.random.default_rng(0)
    orient = ["landscape", "portrait", "square"]
    base = int(date(2015, 1, 1).strftime("%s"))
    for s in tqdm(range(store.count(), n, CHUNK), desc="filling store"):
        m = min(CHUNK, n - s)
        v = rng.normal(size=(m, dim)).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        metas = [_meta(s + i, orient[(s + i) % 3], rng, base) for i in range(m)]
        store.upsert([f"{s + i:024x}" for i in range(m)], v, metas)


def _meta(i: int, orientation: str, rng, base: int):
    """Metadata of the i-th made-up image: a JPEG in one of 50 folders, of random size and date."""
    from tools.records import ImageMeta

    width, height = int(rng.integers(640, 6000)), int(rng.integers(480, 4000))
    date_ts = base + int(rng.integers(0, 10 * 365 * 86400))
    name = f"img_{i:06d}.jpg"
    return ImageMeta(
        path=f"d{i % 50}/{name}",
        dir=f"d{i % 50}",
        name=name,
        bytes=2_000_000,
        mtime_ns=date_ts * 1_000_000_000,
        mtime=date_ts,
        width=width,
        height=height,
        format="JPEG",
        orientation=orientation,
        megapixels=round(width * height / 1e6, 3),
        date_ts=date_ts,
    )


def cases() -> dict:
    """The timed query kinds: query number i -> the ImageQuery to search."""
    from tools.retrieve import Filters, ImageQuery

    return {
        "text, no filter": lambda i: ImageQuery(text=WORDS[i % 10], k=10),
        "text + orientation filter": lambda i: ImageQuery(
            text=WORDS[i % 10], k=10, filters=Filters(orientation="portrait")
        ),
        "text + date range + min width": lambda i: ImageQuery(
            text=WORDS[i % 10],
            k=10,
            filters=Filters(date_from=date(2018, 1, 1), date_to=date(2019, 12, 31), min_width=2000),
        ),
        "text + negative": lambda i: ImageQuery(text=WORDS[i % 10], negatives=["people"], k=10),
    }


def latency_ms(searcher, make, queries: int) -> list[float]:
    """Milliseconds per search for queries 0..queries-1, after ten warm-up searches."""
    for i in range(10):
        searcher.search(make(i))
    lat = []
    for i in range(queries):
        t = time.perf_counter()
        hits = searcher.search(make(i))
        lat.append((time.perf_counter() - t) * 1000)
    assert len(hits) == 10
    return lat


def new_text_ms(embedder) -> float:
    """Milliseconds to embed a query text that is not in the text cache."""
    t = time.perf_counter()
    embedder.clear_text_cache()
    embedder.embed_texts(["an uncached query"])
    return (time.perf_counter() - t) * 1000


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args(argv)
    gallery = build(args.n)
    for w in [*WORDS, "people"]:
        gallery.embedder.embed_texts([w])  # text vectors are cached per session; measure the store + re-rank path
    rows = []
    for name, make in cases().items():
        lat = latency_ms(gallery.searcher, make, args.queries)
        rows.append((name, pct(lat, 50), pct(lat, 95)))
        print(f"{name}: p50 {rows[-1][1]:.1f} ms, p95 {rows[-1][2]:.1f} ms", flush=True)
    text_ms = new_text_ms(gallery.embedder)
    lines = section(
        f"python -m evals.bench.search --n {args.n} --queries {args.queries}",
        f"Search latency, {gallery.store.count():,} vectors (512-d), embedded Chroma, k=10",
        ("query", "p50 ms", "p95 ms"),
        [(n, f"{a:.1f}", f"{b:.1f}") for n, a, b in rows],
        notes=[
            f"Embedding a new query text ({DEFAULT_MODEL} text tower, CPU) adds about {text_ms:.0f} ms once; "
            "repeated texts are cached."
        ],
    )
    write_section("search", "\n".join(lines))


if __name__ == "__main__":
    main()
