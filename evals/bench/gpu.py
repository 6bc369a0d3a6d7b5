"""GPU figures for the scale estimate: what one GPU node embeds and captions per second, and what its CPU cores
decode, measured on a CUDA machine (this project's development machine has no GPU).

On the GPU machine: `python -m picseek.evals.bench.gpu --measure gpu.json`; here:
`python -m picseek.evals.bench.gpu --write gpu.json` puts the figures in RESULTS.md and `evals.bench.ray_index`
reads them for its estimate.

- embed: the ViT-B-32 architecture (random weights; cost does not depend on them) through picseek's `Embedder` at its
  CUDA default precision (fp16), from fitted 224x224 uint8 pixels in host memory to unit vectors in host memory,
  per batch size; and the image tower alone on a batch already on the GPU.
- decode: one core's cost to decode a generated 6-megapixel JPEG as indexing does (draft mode), on that machine.
- caption: the KV-cached CoCa decoder (`tools.coca_decode`) on coca_ViT-B-32 (random weights, seeded caption head),
  in fp32 as `CocaCaptioner` runs it, 20 tokens, batches of 32.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from picseek.evals.bench.common import table, write_section

RESULTS_KEY = "gpu"


def _rate(fn, items: int, repeat: int = 5) -> float:
    """Items per second of `fn` (which must finish its GPU work before returning): the best of `repeat` runs."""
    fn()  # warm-up: kernels chosen, memory allocated
    best = min(_seconds(fn) for _ in range(repeat))
    return items / best


def _seconds(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def measure(images: int = 2048) -> dict:
    import torch
    from picseek.evals.bench.caption import fill_random_caption_head
    from picseek.evals.bench.common import decode_cost, photos
    from picseek.tools.caption import GenerationConfig
    from picseek.tools.coca_decode import CocaDecoder
    from picseek.tools.embed import Embedder
    from picseek.tools.models import DEFAULT_CAPTIONER, DEFAULT_MODEL, resolve

    device = "cuda" if torch.cuda.is_available() else "cpu"
    out: dict = {
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "torch": torch.__version__,
        "cores": os.cpu_count(),
    }
    emb = Embedder(resolve(DEFAULT_MODEL, random_init=True), device=device)
    rng = np.random.default_rng(0)
    size = emb.fit.size
    pixels = [rng.integers(0, 255, (size, size, 3), dtype=np.uint8) for _ in range(images)]
    out["precision"] = str(emb.loaded.dtype).replace("torch.", "")
    out["embed_per_s"] = {
        str(b): _rate(lambda b=b: emb.embed_pixels(pixels, batch_size=b), images, repeat=3) for b in (64, 256)
    }
    x = emb.pixels_to_tensor(pixels[:256])
    model = emb.loaded.model

    def tower() -> None:
        with torch.inference_mode():
            model.encode_image(x)
        if device == "cuda":
            torch.cuda.synchronize()

    out["image_tower_per_s"] = _rate(tower, len(x), repeat=10)
    print(out, flush=True)

    files = sorted(photos(24).glob("*.jpg"))
    _, per_image = decode_cost(files, emb.fit)
    out["decode_ms_per_core"] = per_image * 1000
    print(out, flush=True)

    cap = Embedder(resolve(DEFAULT_CAPTIONER, random_init=True), device=device, precision="fp32")  # as captioning
    fill_random_caption_head(cap.loaded.model)
    decoder = CocaDecoder(cap.loaded.model)
    batch = cap.pixels_to_tensor(pixels[:32])
    out["caption_per_s"] = {}
    for method in ("greedy", "beam_search"):
        gen = GenerationConfig(method=method, seq_len=20)

        def run(gen=gen) -> None:
            with torch.inference_mode():
                gen.decode(decoder, batch).tolist()  # to host memory: the GPU work is done

        out["caption_per_s"][method] = _rate(run, len(batch), repeat=3)
        print(out, flush=True)
    return out


def write(figures: dict) -> None:
    e, c = figures["embed_per_s"], figures["caption_per_s"]
    rows = [
        ("embed, picseek's `Embedder` (uint8 pixels in host memory -> unit vectors), batch 64", f"{e['64']:,.0f}"),
        ("embed, the same, batch 256", f"{e['256']:,.0f}"),
        ("embed, image tower alone on a batch of 256 already on the GPU", f"{figures['image_tower_per_s']:,.0f}"),
        ("caption, KV-cached CoCa greedy, fp32 (as captioning runs), 20 tokens, batch 32", f"{c['greedy']:,.0f}"),
        ("caption, the same, beam search (6 beams)", f"{c['beam_search']:,.0f}"),
        ("decode a 6-megapixel JPEG (draft mode), one core", f"{1000 / figures['decode_ms_per_core']:,.1f}"),
    ]
    cores_per_gpu = e["256"] * figures["decode_ms_per_core"] / 1000
    lines = [
        "Command: `python -m picseek.evals.bench.gpu --measure evals/bench/gpu.json` on a GPU machine "
        "(not part of `make bench`: this machine has no GPU), then `--write evals/bench/gpu.json` here.",
        "",
        f"### One GPU node: {figures['device']}, {figures['cores']} CPU cores, torch {figures['torch']}, "
        f"{figures['precision']}",
        "",
        *table(("stage", "images/s"), rows),
        "",
        *[
            "ViT-B-32 and coca_ViT-B-32 architectures with random weights (cost does not depend on the values). "
            f"To keep this GPU busy embedding, {cores_per_gpu:.0f} cores must decode 6-megapixel JPEGs for it "
            f"({e['256']:,.0f} images/s x {figures['decode_ms_per_core']:.0f} ms per image per core); this node "
            f"has {figures['cores']}, so on it decoding, not the GPU, sets the pace of `picseek index --ray`. "
            "picseek's path reaches a third of the image tower's rate (stacking the batch and copying it from "
            "pageable host memory): far above what the node's cores decode, so not worth pinned buffers yet.",
        ],
    ]
    write_section(RESULTS_KEY, "\n".join(lines))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--measure", type=Path, help="measure here and write the figures to this JSON file")
    ap.add_argument("--write", type=Path, help="put the figures of this JSON file in RESULTS.md")
    ap.add_argument("--images", type=int, default=2048)
    args = ap.parse_args(argv)
    if not (args.measure or args.write):
        ap.error("give --measure FILE (on a GPU machine) or --write FILE")
    if args.measure:
        args.measure.write_text(json.dumps(measure(args.images), indent=2) + "\n")
    if args.write:
        write(json.loads(args.write.read_text()))


if __name__ == "__main__":
    main()
