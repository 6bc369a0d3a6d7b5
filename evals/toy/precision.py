"""Toy-model retrieval quality on a fresh held-out gallery, through the same search path as `picseek search`.

Four query classes (single noun, colour + noun, noun + time of day, colour + noun + time), precision@10 capped
by the number of relevant images; plus the share of generated captions that name exactly the scene's objects.

    python -m picseek.evals.toy.precision [--n 1500] [--seed 777] [--captions 300]
        [--out evals/results/toy-precision.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from picseek.tools.records import ImageRecord
from picseek.ui.demo import world


def queries(scenes: list[world.Scene]) -> dict[str, list[tuple[str, list[bool]]]]:
    out: dict[str, list] = {"noun": [], "color_noun": [], "noun_time": [], "color_noun_time": []}

    def add(cls, text, **attrs):
        rel = [world.relevant(s, **attrs) for s in scenes]
        if any(rel):
            out[cls].append((text, rel))

    for n in world.NOUNS:
        add("noun", f"a {n}", noun=n)
        for t in world.TIMES:
            add("noun_time", f"a {n} {world.TIME_WORDS[t][0]}", noun=n, time=t)
        for c in world.COLORS:
            add("color_noun", f"a {c} {n}", noun=n, color=c)
            for t in world.TIMES:
                add("color_noun_time", f"a {c} {n} {world.TIME_WORDS[t][0]}", noun=n, color=c, time=t)
    return out


def precision_at(hit_files: list[str], rel: dict[str, bool], k: int = 10) -> float:
    n_rel = sum(rel.values())
    return sum(rel.get(f, False) for f in hit_files[:k]) / min(k, n_rel)


def main(argv=None) -> dict:
    from picseek.tools.caption import CocaCaptioner, GenerationConfig
    from picseek.tools.gallery import open_gallery
    from picseek.tools.index import index_folder
    from picseek.tools.models import resolve

    args = parse_args(argv)
    folder, scenes = heldout_gallery(args.gallery, args.n, args.seed)
    gallery = open_gallery(folder, "toy", create=True, replace=True)
    index_folder(folder, gallery.embedder, gallery.store)
    qs_by_class = queries(scenes)
    result: dict = {"gallery": {"n": len(scenes), "seed": args.seed}, "model": gallery.embedder.model_id}
    result.update(measure(gallery.searcher, scenes, qs_by_class, 0.0))
    cap = CocaCaptioner(resolve("toy"), gen=GenerationConfig(method=args.method))
    if args.caption_weights:
        result["gallery_captioning"] = caption_gallery(gallery.store, cap)
        result["hybrid"] = {str(w): measure(gallery.searcher, scenes, qs_by_class, w) for w in args.caption_weights}
    if args.captions:
        result["captions"] = caption_check(gallery.store, cap, scenes, args.captions)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return result


def parse_args(argv) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=777)
    ap.add_argument("--captions", type=int, default=300, help="scenes to caption for the caption check (0: none)")
    ap.add_argument("--gallery", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument(
        "--caption-weights",
        type=float,
        nargs="*",
        default=[],
        help="also caption the whole gallery and measure search with these caption blends",
    )
    ap.add_argument("--method", default="greedy", help="caption decoding: greedy or beam_search")
    return ap.parse_args(argv)


def heldout_gallery(folder: Path | None, n: int, seed: int) -> tuple[Path, list[world.Scene]]:
    """The held-out toy gallery (made on first use under $PICSEEK_HOME/evals) and its scenes."""
    from picseek.tools.home import home

    folder = folder or home() / "evals" / f"toy-heldout-{seed}-{n}"
    if not (folder / "scenes.jsonl").exists():
        world.make_gallery(folder, n, seed)
    return folder, world.load_scenes(folder)


def measure(searcher, scenes: list[world.Scene], qs_by_class: dict, weight: float) -> dict:
    """P@10 per query class and search latency, with captions blended in at `weight`."""
    from picseek.tools.retrieve import ImageQuery

    res: dict = {"classes": {}}
    lat = []
    for cls, qs in qs_by_class.items():
        precs = []
        for text, rel in qs:
            t = time.perf_counter()
            hits = searcher.search(ImageQuery(text=text, k=10, caption_weight=weight))
            lat.append(time.perf_counter() - t)
            relmap = {s.file: r for s, r in zip(scenes, rel)}
            precs.append(precision_at([Path(h.path).name for h in hits], relmap))
        res["classes"][cls] = {"queries": len(qs), "p_at_10": round(float(np.mean(precs)), 4)}
        print(f"  [caption weight {weight}] {cls:16s} {len(qs):4d} queries  P@10 {np.mean(precs):.3f}", flush=True)
    res["mean_p_at_10"] = round(float(np.mean([c["p_at_10"] for c in res["classes"].values()])), 4)
    res["search_ms_p50"] = round(float(np.median(lat)) * 1000, 2)
    print(f"  mean P@10 over the four classes: {res['mean_p_at_10']:.3f}", flush=True)
    return res


def caption_gallery(store, cap) -> dict:
    """Caption every image not yet captioned by `cap`, so hybrid search has captions to blend."""
    from picseek.tools.caption import caption_images

    t = time.perf_counter()
    rep = caption_images(store, cap, mode="stale")
    return {"captioner": cap.id, "seconds": round(time.perf_counter() - t, 1), "captioned": rep.captioned}


def caption_check(store, cap, scenes: list[world.Scene], n_images: int) -> dict:
    """Caption the first `n_images` again and score each caption against its scene."""
    from picseek.tools.caption import caption_images

    ids = [r.id for r in store.iter_metadata()][:n_images]
    t = time.perf_counter()
    rep = caption_images(store, cap, ids=ids, mode="all")
    secs = time.perf_counter() - t
    got = store.get(ids)
    ok_nouns, ok_objects, ok_colours = caption_scores(got, scenes)
    n = len(got)
    print(
        f"captions: {ok_nouns / n:.3f} name exactly the scene's objects; "
        f"{ok_objects / n:.3f} name exactly the scene's (colour, object) pairs; "
        f"{ok_colours / n:.3f} name every colour; {rep.captioned / secs:.1f} captions/s"
    )
    return {
        "n": n,
        "names_right_objects": round(ok_nouns / n, 4),
        "names_exact_colour_object_pairs": round(ok_objects / n, 4),
        "all_colours_named": round(ok_colours / n, 4),
        "captioner": cap.id,
        "captions_per_s": round(rep.captioned / secs, 2),
    }


def caption_scores(records: list[ImageRecord], scenes: list[world.Scene]) -> tuple[int, int, int]:
    """How many captions name exactly the scene's nouns, its (colour, noun) pairs, and every colour in it."""
    from picseek.ui.demo.train import caption_names_objects

    by_file = {s.file: s for s in scenes}
    ok_nouns = ok_objects = ok_colours = 0
    for r in records:
        sc, doc = by_file[r.meta.path], r.caption
        ok_objects += caption_names_objects(doc or "", sc)
        words = (doc or "").lower().replace(",", " ").split()
        said = {n for n, syns in world.NOUN_WORDS.items() if any(w in syns for w in words)}
        ok_nouns += said == {o.noun for o in sc.objects}
        ok_colours += all(o.color in words for o in sc.objects)
    return ok_nouns, ok_objects, ok_colours


if __name__ == "__main__":
    main()
