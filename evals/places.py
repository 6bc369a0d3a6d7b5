"""Places and text in photos, measured on a held-out toy gallery whose answers are known exactly.

The gallery is drawn with `--gps --text` (`ui.demo.world`): real cities' positions in EXIF (some photos with no GPS,
some with the (0, 0) of a camera without a fix) and a word on a sign in half of the scenes. It is indexed with the
toy model, its text read with the OCR engine, and then:

- place requests ("photos from Lisbon", "in Japan", "not in Paris") go through the offline reader
  (`agent.english.places`) and the search path; precision and recall against the cities written into EXIF, with k
  covering every photo; "not in X" must return none of X's photos; each hit's metadata must name its city;
- word requests ('a sign that says bakery', '"BAKERY"') go through the same reader and search: the share of words
  whose image is in the top 3; plus OCR word recall (the drawn word found in the image's text);
- OCR throughput beside its bound: decoding alone, OCR alone on decoded pixels, and the pipeline.

    python -m picseek.evals.places [--n 240] [--seed 4242] [--out evals/results/places.json]
    python -m picseek.evals.places --latency 100000 [--out evals/results/places.json]   # place filters at scale
    python -m picseek.evals.places --ingest 200 [--out ...]   # indexing with and without naming places
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from picseek.ui.demo import world


def heldout(folder: Path | None, n: int, seed: int) -> tuple[Path, list[world.Scene]]:
    from picseek.tools.home import home

    folder = folder or home() / "evals" / f"places-heldout-{seed}-{n}"
    if not (folder / "scenes.jsonl").exists():
        world.make_gallery(folder, n, seed, gps=True, text=True, progress=False)
    return folder, world.load_scenes(folder)


def _search(searcher, message: str, k: int):
    """A request read as the offline planner reads it (places and written words first), then searched."""
    from picseek.agent.english.places import read_places
    from picseek.tools.retrieve import Filters, ImageQuery

    said = read_places(message)
    filters = Filters(place=said.place, text_in_image=said.written)
    text = said.text or " ".join(said.written) or "a photo"
    return said, searcher.search(ImageQuery(text=text, filters=filters, k=k))


def _same_name(a: str | None, b: str | None) -> bool:
    """'Reykjavík' and 'Reykjavik' are one name; no name (no GPS, a (0, 0) fix) matches nothing."""
    import unicodedata

    def key(x: str) -> str:
        return "".join(c for c in unicodedata.normalize("NFKD", x) if not unicodedata.combining(c)).casefold()

    return bool(a) and bool(b) and key(a) == key(b)


def place_queries(searcher, scenes: list[world.Scene]) -> dict:
    """Precision, recall and metadata agreement for city, country and 'not in' requests."""
    from picseek.tools.retrieve import MAX_K

    k = MAX_K
    by_file = {s.file: s for s in scenes}
    countries = {name: country for name, country, _, _ in world.CITIES}
    rows = []

    def run(kind: str, message: str, wanted):
        said, hits = _search(searcher, message, k)
        got = {Path(h.path).name for h in hits}
        rel = {s.file for s in scenes if wanted(s)}
        tp = len(got & rel)
        row = {
            "kind": kind,
            "message": message,
            "read_as": said.place.model_dump(exclude_defaults=True) if said.place else None,
            "relevant": len(rel),
            "returned": len(got),
            "precision": round(tp / len(got), 4) if got else (1.0 if not rel else 0.0),
            "recall": round(tp / len(rel), 4) if rel else 1.0,
        }
        if kind == "city":  # each hit's label against the city its photo was really taken in (not the one the
            # request was read as, which the filter itself selected on); GeoNames spells it 'Reykjavík'
            row["metadata_names_city"] = all(
                _same_name(h.metadata.place_city, by_file[Path(h.path).name].city) for h in hits
            )
        if kind == "not":
            city = message.split("in ", 1)[1]
            row["returned_from_there"] = sum(by_file[f].city == city for f in got)
        rows.append(row)

    for city, *_ in world.CITIES:
        run("city", f"photos from {city}", lambda s, c=city: s.city == c)
    for country in sorted(set(countries.values())):
        run("country", f"photos taken in {country}", lambda s, c=country: bool(s.city) and countries[s.city] == c)
    for city in ("Paris", "Lisbon", "Kyoto"):
        run("not", f"photos not taken in {city}", lambda s, c=city: s.city != c)
    out: dict = {"queries": rows}
    for kind in ("city", "country", "not"):
        sub = [r for r in rows if r["kind"] == kind]
        out[kind] = {
            "queries": len(sub),
            "mean_precision": round(sum(r["precision"] for r in sub) / len(sub), 4),
            "mean_recall": round(sum(r["recall"] for r in sub) / len(sub), 4),
        }
    out["city"]["metadata_names_city"] = all(r["metadata_names_city"] for r in rows if r["kind"] == "city")
    out["not"]["photos_from_excluded_place"] = sum(r["returned_from_there"] for r in rows if r["kind"] == "not")
    return out


def word_queries(searcher, store, scenes: list[world.Scene]) -> dict:
    """Top-3 hit rate of drawn words, quoted and said ('that says'), and the OCR's word recall."""
    from picseek.tools.ocr import text_match

    by_file = {s.file: s for s in scenes}
    words = sorted({s.sign for s in scenes if s.sign})
    phrasings = {"says": "a sign that says {w}", "quoted": '"{w}"', "with_the_word": "a picture with the word {w}"}
    found = {p: 0 for p in phrasings}
    misses = []
    for w in words:
        for p, template in phrasings.items():
            _, hits = _search(searcher, template.format(w=w.lower() if p != "quoted" else w), 3)
            if any(by_file[Path(h.path).name].sign == w for h in hits[:3]):
                found[p] += 1
            else:
                misses.append(template.format(w=w))
    read = [r for r in store.iter_metadata() if by_file[r.meta.name].sign]
    recalled = sum(text_match([by_file[r.meta.name].sign], r.meta.ocr_text) >= 100 for r in read)
    fuzzy = sum(text_match([by_file[r.meta.name].sign], r.meta.ocr_text) > 0 for r in read)
    return {
        "words": len(words),
        "top3": {p: round(found[p] / len(words), 4) for p in phrasings},
        "misses": misses[:20],
        "signs": len(read),
        "ocr_word_recall_exact": round(recalled / len(read), 4),
        "ocr_word_recall_fuzzy": round(fuzzy / len(read), 4),
    }


def throughput(folder: Path, scenes: list[world.Scene], n: int = 24) -> dict:
    """OCR images/s on this machine beside its bound: decoding alone (the pipeline's workers), OCR alone on decoded
    pixels (this process), and the two together as `ocr_images` runs them."""
    from picseek.tools.decode_pool import DecodePool
    from picseek.tools.ocr import OcrEngine

    engine = OcrEngine()
    items = [(s.file, str(folder / s.file)) for s in scenes[:n]]
    t = time.perf_counter()
    decoded = dict(DecodePool(engine.fit).imap(items))
    decode_s = time.perf_counter() - t
    pixels = [d.pixels for d in decoded.values() if not isinstance(d, str)]
    engine.read(pixels[:1])  # load the models outside the timing
    t = time.perf_counter()
    engine.read(pixels)
    ocr_s = time.perf_counter() - t
    decode_rate, ocr_rate = len(items) / decode_s, len(pixels) / ocr_s
    return {
        "images": len(items),
        "decode_per_s": round(decode_rate, 2),
        "ocr_per_s": round(ocr_rate, 2),
        "bound_per_s": round(min(decode_rate, ocr_rate), 2),
    }


def filter_latency(n: int, queries: int = 60) -> dict:
    """p50 of the store's nearest-25 query over n random 512-d vectors, without a filter and with place filters
    (10 cities, a tenth of the images each; a fifth with no place), as `Searcher.search` asks it. The store is
    made once under the bench folder and reused."""
    import numpy as np
    from picseek.evals.bench.common import bench_dir
    from picseek.evals.bench.search import _meta
    from picseek.tools.places import PlaceFilter, gazetteer, place_meta
    from picseek.tools.store import Store

    folder = bench_dir() / f"places-vectors-{n}"
    folder.mkdir(parents=True, exist_ok=True)
    store = Store(bench_dir() / f"places-store-{n}", folder, "bench/places", create=True, dim=512)
    g = gazetteer()
    labels = [place_meta(lat, lon) for _, _, lat, lon in world.CITIES]
    rng = np.random.default_rng(0)
    base = 1_420_070_400
    chunk = 2000
    for s in range(store.count(), n, chunk):
        m = min(chunk, n - s)
        v = rng.normal(size=(m, 512)).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        metas = []
        for i in range(s, s + m):
            meta = _meta(i, ("landscape", "portrait", "square")[i % 3], rng, base)
            if i % 10 < 8:  # 80% placed, spread over the ten cities
                metas.append(meta.model_copy(update=labels[(i // 10) % len(labels)]))
            else:
                metas.append(meta)
        store.upsert([f"{i:024x}" for i in range(s, s + m)], v, metas)
    assert g.lookup("Lisbon") is not None
    cases = {
        "no filter": None,
        "city (8% pass)": PlaceFilter(city="Lisbon").resolve()[1],
        "country (16% pass)": PlaceFilter(country="Portugal").resolve()[1],
        "not in a city (92% pass)": PlaceFilter(city="Paris", exclude=True).resolve()[1],
        "near a place, 25 km (8% pass)": PlaceFilter(near="Kyoto").resolve()[1],
    }
    out = {}
    for name, where in cases.items():
        times = []
        for _ in range(queries):
            q = rng.normal(size=512).astype(np.float32)
            t = time.perf_counter()
            store.query(q / np.linalg.norm(q), 25, where)
            times.append(time.perf_counter() - t)
        out[name] = round(float(np.median(times)) * 1000, 2)
        print(f"  {name:32s} p50 {out[name]:7.2f} ms", flush=True)
    return {"images": store.count(), "store_query_ms_p50": out}


def ingest_cost(n: int, rounds: int = 2) -> dict:
    """Indexing without --ocr, with and without naming places, on a gallery where every photo has GPS (the worst
    case): the default architecture with random weights, the same files, alternated in one process. The difference
    is what naming places costs an index run."""
    import shutil
    import tempfile

    import picseek.tools.index as index
    from picseek.tools.embed import Embedder
    from picseek.tools.models import DEFAULT_MODEL, resolve
    from picseek.tools.places import gazetteer
    from picseek.tools.store import Store

    folder = Path(tempfile.mkdtemp(prefix="places-ingest-")) / "g"
    scenes = world.make_gallery(folder, n, seed=99, size=384, gps=True, progress=False)
    emb = Embedder(resolve(DEFAULT_MODEL, random_init=True))
    _ = emb.loaded
    gazetteer().reverse(1.0, 1.0)  # the data loads once per process (~1.5 s), outside the timing
    labelled = index.place_meta
    times: dict[str, list[float]] = {"with places": [], "without places (as before)": []}
    try:
        for _ in range(rounds):
            for name in times:
                index.place_meta = labelled if name == "with places" else (lambda lat, lon: {})
                state = Path(tempfile.mkdtemp(prefix="places-ingest-store-"))
                store = Store.open(state, folder, emb, create=True)
                t = time.perf_counter()
                index.index_folder(folder, emb, store, workers=2, batch_size=32, progress=False)
                times[name].append(time.perf_counter() - t)
                shutil.rmtree(state, ignore_errors=True)
    finally:
        index.place_meta = labelled
        shutil.rmtree(folder.parent, ignore_errors=True)
    out = {k: round(n / min(v), 2) for k, v in times.items()}
    print(f"  images/s (best of {rounds}, {sum(bool(s.gps) for s in scenes)} of {n} with GPS): {out}", flush=True)
    return {"images": n, "model": f"{DEFAULT_MODEL} (random weights)", "images_per_s": out}


def main(argv=None) -> dict:
    from picseek.tools.gallery import open_gallery
    from picseek.tools.index import index_folder
    from picseek.tools.ocr import OcrEngine, ocr_images

    args = parse_args(argv)
    if args.latency or args.ingest:
        result = {}
        if args.latency:
            result["filter_latency"] = filter_latency(args.latency)
        if args.ingest:
            result["ingest"] = ingest_cost(args.ingest)
        if args.out:
            old = json.loads(args.out.read_text()) if args.out.exists() else {}
            args.out.write_text(json.dumps({**old, **result}, indent=2) + "\n")
        return result
    folder, scenes = heldout(args.gallery, args.n, args.seed)
    gallery = open_gallery(folder, "toy", create=True, replace=True)
    t = time.perf_counter()
    index_folder(folder, gallery.embedder, gallery.store)
    index_s = time.perf_counter() - t
    t = time.perf_counter()
    rep = ocr_images(gallery.store, OcrEngine(), progress=False)
    ocr_s = time.perf_counter() - t
    cpu = next((ln.split(":", 1)[1].strip() for ln in _lscpu() if ln.startswith("Model name")), platform.processor())
    result = {
        "gallery": {"n": len(scenes), "seed": args.seed, "with_city": sum(bool(s.city) for s in scenes)},
        "machine": {"cpu": cpu, "cores": os.cpu_count(), "note": "shared with other jobs while measured"},
        "index_seconds": round(index_s, 2),
        "ocr": {"read": rep.read, "with_text": rep.with_text, "seconds": round(ocr_s, 2)},
        "places": place_queries(gallery.searcher, scenes),
        "text": word_queries(gallery.searcher, gallery.store, scenes),
    }
    result["ocr"]["pipeline_per_s"] = round(rep.read / max(ocr_s, 1e-9), 2)
    result["ocr"].update(throughput(folder, scenes))
    print(json.dumps({k: v for k, v in result.items() if k != "places"}, indent=2))
    print(json.dumps({k: v for k, v in result["places"].items() if k != "queries"}, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        old = json.loads(args.out.read_text()) if args.out.exists() else {}
        kept = {k: old[k] for k in ("filter_latency", "ingest") if k in old}  # measured by their own runs
        args.out.write_text(json.dumps({**result, **kept}, indent=2) + "\n")
    return result


def _lscpu() -> list[str]:
    import subprocess

    try:
        return subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return []


def parse_args(argv) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=240)
    ap.add_argument("--seed", type=int, default=4242)
    ap.add_argument("--gallery", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--latency", type=int, default=0, help="only time place filters on a store of this many images")
    ap.add_argument("--ingest", type=int, default=0, help="only time indexing this many images with/without places")
    return ap.parse_args(argv)


if __name__ == "__main__":
    main()
