"""Search latency at scale: p50/p95 of `Searcher.search` over a 100k-vector store, embedded and on a Chroma server,
without and with metadata filters, with the query text's vector cached and embedded afresh.

Vectors are random unit vectors of ViT-B-32's 512 dimensions with realistic metadata; the text encoder is the real
ViT-B-32 architecture with random weights. Cost does not depend on the values. Each filtered query is also run the
way picseek ran it before (Chroma's own filtered query), interleaved with the others, so the ratio is read on the same
load.

    python -m picseek.evals.bench.search [--n 100000] [--queries 200] [--baseline-queries 30] [--no-server]
        [--precision auto|fp32|bf16|int8]

`--precision int8` (or fp32) times the path of a CPU without native bf16 on a CPU that has it; its figures go to
their own section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
from picseek.evals.bench.common import bench_dir, pct, section, table, write_section
from picseek.tools.models import DEFAULT_MODEL

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
AIMS = {"text, no filter": 30, "text + orientation filter": 60, "text + date range + min width": 60}


def build(n: int, dim: int = 512, chroma_url: str | None = None, precision: str = "auto"):
    """A gallery of n random vectors under the default architecture with random weights (open_gallery loads real
    weights, so this one is put together by hand); filled once and reused (on a server: in its data folder)."""
    from picseek.tools.embed import Embedder
    from picseek.tools.gallery import Gallery
    from picseek.tools.models import resolve
    from picseek.tools.store import Store

    emb = Embedder(resolve(DEFAULT_MODEL, random_init=True), precision=precision)
    folder = bench_dir() / f"vectors-{n}"
    folder.mkdir(exist_ok=True)
    # "-v2": stores of full `ImageMeta` records (an older bench store lacks fields the schema requires)
    store = Store.open(bench_dir() / f"store-{n}-v2", folder, emb, chroma_url=chroma_url, create=True)
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
    from picseek.tools.records import ImageMeta

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


@contextmanager
def chroma_server(path: Path) -> Iterator[str]:
    """A `chroma run` server on a free loopback port with its data in `path`; yields its URL, stops it after."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    chroma = Path(sys.executable).parent / "chroma"
    cmd = [str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(url + "/api/v2/heartbeat", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"`{' '.join(cmd)}` did not start") from None
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def cases() -> dict[str, Callable]:
    """The timed query kinds: query number i -> the ImageQuery to search."""
    from picseek.tools.retrieve import Filters, ImageQuery

    def text(**kw):
        return lambda i: ImageQuery(text=WORDS[i % 10], k=10, **kw)

    return {
        "text, no filter": text(),
        "text + orientation filter": text(filters=Filters(orientation="portrait")),
        "text + date range + min width": text(
            filters=Filters(date_from=date(2018, 1, 1), date_to=date(2019, 12, 31), min_width=2000)
        ),
        "text + folder (2% pass)": text(filters=Filters(folder="d7")),
        "text + camera (none pass)": text(filters=Filters(camera="Canon EOS R5")),
        "text + negative": text(negatives=["people"]),
    }


@dataclass
class Cell:
    """One timed variant of one query kind: what is done before each search (untimed), the search, and the
    milliseconds of each search."""

    store: str
    query: str
    variant: str
    prepare: Callable[[int], object]
    run: Callable[[int], object]
    queries: int
    ms: list[float] = field(default_factory=list)


def variants(store_name: str, gallery, queries: int, baseline_queries: int) -> list[Cell]:
    """Per query kind: picseek's search with the query text's vector cached, with it embedded afresh, and (filtered
    kinds) the same search with the filter left to Chroma (how picseek searched before)."""
    s, emb, store = gallery.searcher, gallery.embedder, gallery.store

    def search(make):
        return lambda i: s.search(make(i))

    def cache_text(make):
        return lambda i: emb.embed_texts([make(i).text, *make(i).negatives])

    def chroma_filter(make):
        def run(i):
            limit, store.oversample_max = store.oversample_max, 0
            try:
                return s.search(make(i))
            finally:
                store.oversample_max = limit

        return run

    cells = []
    for name, make in cases().items():
        cells.append(Cell(store_name, name, "cached text", cache_text(make), search(make), queries))
        # the search embeds the query text (and any negative) again
        cells.append(Cell(store_name, name, "text included", lambda i: emb.clear_text_cache(), search(make), queries))
        if make(0).filters.where() and "none pass" not in name:
            cells.append(
                Cell(store_name, name, "Chroma's filter", cache_text(make), chroma_filter(make), baseline_queries)
            )
    return cells


def time_cells(cells: list[Cell]) -> None:
    """Run every cell's searches round-robin (query i of each cell, then i+1), after warm-up, so a change in the
    machine's load falls on all variants alike."""
    for c in cells:
        for i in range(3):
            c.prepare(i)
            c.run(i)
    for i in range(max(c.queries for c in cells)):
        for c in cells:
            if i < c.queries:
                c.prepare(i)
                t = time.perf_counter()
                hits = c.run(i)
                c.ms.append((time.perf_counter() - t) * 1000)
                assert len(hits) == (0 if "none pass" in c.query else 10), (c.query, len(hits))


def text_tower_ms(reps: int = 30) -> dict[str, float]:
    """p50 milliseconds to embed one new query text, per text-tower precision (on one thread, as `Embedder` embeds a
    query's few texts)."""
    from picseek.tools.embed import Embedder
    from picseek.tools.models import resolve

    out = {}
    for precision in ("fp32", "bf16", "int8"):
        emb = Embedder(resolve(DEFAULT_MODEL, random_init=True), precision=precision)
        emb.embed_texts(["warm up"])
        ms = []
        for i in range(reps):
            t = time.perf_counter()
            emb.embed_texts([f"{WORDS[i % 10]} {i}"])
            ms.append((time.perf_counter() - t) * 1000)
        out[precision] = pct(ms, 50)
    return out


def breakdown(store_name: str, gallery, reps: int = 20) -> list[tuple[str, ...]]:
    """p50 milliseconds of the steps a search is made of, one at a time, on this store."""
    from picseek.tools.retrieve import ImageQuery, pool

    store, col, s = gallery.store, gallery.store.col, gallery.searcher
    vecs = [gallery.embedder.embed_texts([w])[0] for w in WORDS]
    n, wide = pool(ImageQuery(text="x")), pool(ImageQuery(text="x", negatives=["y"]))  # k=10
    ids = col.query(query_embeddings=[vecs[0]], n_results=n, include=[])["ids"][0]

    def p50(fn) -> str:
        ms = []
        for i in range(reps):
            t = time.perf_counter()
            fn(vecs[i % len(vecs)])
            ms.append((time.perf_counter() - t) * 1000)
        return f"{pct(ms, 50):.1f}"

    count = store.count()
    out = [
        ("count the images (read at most once a second by a search)", p50(lambda v: store.count())),
        (f"nearest {n}, unfiltered, with vectors, metadata, captions", p50(lambda v: store.query(v, n))),
        (f"nearest {wide} of them (a search with a negative)", p50(lambda v: store.query(v, wide))),
        (f"read {n} images' vectors, metadata, captions by id", p50(lambda v: col.get(ids=ids, include=_ALL))),
        (f"calibrated match of {n} scores", p50(lambda v: s.calibration(count).match(v, np.zeros(n, np.float32)))),
    ]
    for name, make in cases().items():
        where = make(0).filters.where()
        if not where or "none pass" in name:
            continue
        alone = p50(lambda v, w=where: col.get(where=w, include=[]))
        out.append((f"{name}: Chroma's `where` alone (the ids that pass)", alone))
        m = store.candidates(where, n)
        if m:
            nearest = p50(lambda v, m=m: col.query(query_embeddings=[v], n_results=m, include=["metadatas"]))
            out.append((f"{name}: nearest {m} unfiltered, with metadata", nearest))
    return [(store_name, step, ms) for step, ms in out]


_ALL = ["metadatas", "documents", "embeddings"]


def rows(cells: list[Cell]) -> list[tuple[str, ...]]:
    """One row per store and query kind: p50/p95 of each variant side by side, and the aim."""
    by = {(c.store, c.query, c.variant): c.ms for c in cells}
    out = []
    for store, query in dict.fromkeys((c.store, c.query) for c in cells):
        row = [store, query]
        for variant in ("cached text", "text included", "Chroma's filter"):
            ms = by.get((store, query, variant))
            row += [f"{pct(ms, 50):.1f}", f"{pct(ms, 95):.1f}"] if ms else ["", ""]
        aim = AIMS.get(query)
        row.append(f"≤ {aim}" if aim else "")
        out.append(tuple(row))
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--baseline-queries", type=int, default=30, help="searches per cell with Chroma's filter")
    ap.add_argument("--no-server", action="store_true", help="time the embedded store only")
    ap.add_argument("--precision", default="auto", help="the query text tower's precision: auto, fp32, bf16, int8")
    args = ap.parse_args(argv)
    load_before = os.getloadavg()
    gallery = build(args.n, precision=args.precision)
    for w in [*WORDS, "people"]:
        gallery.embedder.embed_texts([w])
    cells = variants("embedded", gallery, args.queries, args.baseline_queries)
    with chroma_server(bench_dir() / f"chroma-server-{args.n}") if not args.no_server else _nothing() as url:
        if url:
            served = build(args.n, chroma_url=url, precision=args.precision)
            cells += variants("server", served, args.queries, args.baseline_queries)
        time_cells(cells)
        steps = breakdown("embedded", gallery) + (breakdown("server", served) if url else [])
    table_rows = rows(cells)
    for r in table_rows + steps:
        print(" | ".join(r), flush=True)
    text_ms = text_tower_ms()
    load = f"load average {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after"
    command = f"python -m picseek.evals.bench.search --n {args.n} --queries {args.queries}"
    command += f" --baseline-queries {args.baseline_queries}" + (" --no-server" if args.no_server else "")
    precision = gallery.embedder._device_precision()[1]
    if args.precision != "auto":
        command += f" --precision {args.precision}"
    lines = section(
        command,
        f"Search latency, {gallery.store.count():,} vectors (512-d), k=10, p50 / p95 ms"
        + ("" if args.precision == "auto" else f", query text tower forced to {precision}"),
        ("store", "query", "cached text p50", "p95", "text included p50", "p95", "Chroma's filter p50", "p95", "aim"),
        table_rows,
        left=2,
        notes=[
            f"Machine {load} (2 cores; over 2 means other jobs shared it). Each column is {args.queries} searches "
            f"({args.baseline_queries} for "
            "Chroma's filter), the cells interleaved query by query.",
            "",
            "*cached text*: the query text's vector is in the embedder's cache (a repeated text); *text included*: "
            f"the text (and the negative) is embedded afresh by the {DEFAULT_MODEL} text tower in {precision} "
            "(`auto`: bf16 where the CPU computes it natively, as here, int8 on other x86 CPUs), on one thread as "
            "picseek embeds a query's few texts. "
            "One new text alone, p50: " + ", ".join(f"{k} {v:.0f} ms" for k, v in text_ms.items()) + ".",
            "*Chroma's filter*: the same search with the filter handed to Chroma, as picseek did before: Chroma "
            "evaluates the `where` in SQLite over every image's metadata, then searches the vectors of those that "
            "pass. picseek now asks for the nearest images unfiltered, a few times more than it needs (how many "
            "follows the share that passed the same filter last time), tests the filter on the metadata that comes "
            "with them, and reads the vectors of the first 25 that pass (2k+5: a search without a negative reads a "
            "little over k, and further when folded near-duplicates use up places; one with a negative, or with k "
            "over 20, reads 5k, at least 50); a "
            "filter that too few pass goes to Chroma (the folder and camera rows).",
        ],
    )
    lines += ["", "### Where the time goes (p50 ms of each step alone)", "", *table(("store", "step", "ms"), steps, 2)]
    write_section("search" if args.precision == "auto" else f"search-{args.precision}", "\n".join(lines))


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


if __name__ == "__main__":
    main()
