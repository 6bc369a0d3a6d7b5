"""Caption throughput: open_clip's `generate` against picseek's KV-cached decoder (tools/coca_decode.py), greedy and
beam search, on the real coca_ViT-B-32 architecture (random weights) and the toy CoCa, fp32 on the CPU.

python -m picseek.evals.bench.caption [--images 32] [--batch 32] [--seq-len 20] [--repeat 1]

Both decode the same preprocessed batches; the bench also checks that they give the same tokens. open_clip's
`generate` needs transformers; without it only the cached decoder is measured.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass

from picseek.evals.bench.common import bench_dir, section, write_section


def fill_random_caption_head(model, seed: int = 0) -> None:
    """Give a random-weight CoCa a random caption head, as open_clip's (uncalled) init would.

    open_clip leaves `text_decoder.text_projection` as `torch.empty` (zeros or leftover memory): every logit ties,
    greedy decoding writes nothing, and a comparison with open_clip's sampling among ties means nothing.
    """
    import torch

    head = model.text_decoder.text_projection
    with torch.no_grad():
        g = torch.Generator().manual_seed(seed)
        head.copy_(torch.randn(head.shape, generator=g) * head.shape[0] ** -0.5)


@dataclass
class Run:
    seconds: float
    tokens: list  # token ids per image


def _timed(decode: Callable, batches: list, repeat: int) -> Run:
    """The best of `repeat` runs over all batches: the least disturbed by other work on the machine."""
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        tokens = [row for x in batches for row in decode(x).tolist()]
        runs.append(Run(time.perf_counter() - t, tokens))
    return min(runs, key=lambda r: r.seconds)


def _generated(tokens: list[list[int]]) -> float:
    """Mean tokens written per caption (start token excluded, the end-of-text included)."""
    lengths = [next((i for i, t in enumerate(row) if i and t in (0, 49407)), len(row) - 1) for row in tokens]
    return sum(lengths) / len(lengths)


def bench_model(name: str, random_init: bool, files: list, args) -> list[tuple]:
    """Rows (model, method, tokens/caption, open_clip captions/s or None, cached captions/s, same tokens or None)."""
    from open_clip import coca_model
    from picseek.tools.caption import GenerationConfig
    from picseek.tools.coca_decode import CocaDecoder
    from picseek.tools.decode_pool import DecodePool
    from picseek.tools.embed import Embedder
    from picseek.tools.models import resolve

    emb = Embedder(resolve(name, random_init=random_init), precision="fp32")
    model = emb.loaded.model
    if random_init:
        fill_random_caption_head(model)
    decoder = CocaDecoder(model)
    pix = [d.pixels for _, d in DecodePool(emb.fit, 2).imap((str(f), str(f)) for f in files)]
    batches = [emb.pixels_to_tensor(pix[i : i + args.batch]) for i in range(0, len(pix), args.batch)]
    label = name + (" (random weights)" if random_init else "")
    rows = []
    for method in ("greedy", "beam_search"):
        gen = GenerationConfig(method=method, seq_len=args.seq_len)
        gen.decode(decoder, batches[0][:1])  # warm up
        ours = _timed(lambda x, gen=gen: gen.decode(decoder, x), batches, args.repeat)
        theirs = None
        if coca_model._has_transformers:
            model.generate(batches[0][:1], **gen.generate_kwargs())
            theirs = _timed(lambda x, gen=gen: model.generate(x, **gen.generate_kwargs()), batches, args.repeat)
        rows.append(
            (
                label,
                method,
                _generated(ours.tokens),
                theirs and len(pix) / theirs.seconds,
                len(pix) / ours.seconds,
                theirs and theirs.tokens == ours.tokens,
            )
        )
        print(rows[-1], flush=True)
    return rows


def main(argv=None) -> None:
    import torch
    from open_clip import coca_model
    from picseek.tools.models import DEFAULT_CAPTIONER
    from picseek.ui.demo.world import make_gallery

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=32)
    ap.add_argument("--batch", type=int, default=32, help="images decoded together (CocaCaptioner's default)")
    ap.add_argument("--seq-len", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=1, help="each figure is the best of this many runs")
    args = ap.parse_args(argv)
    src = bench_dir() / "toy-caption"
    if not (src / "scenes.jsonl").exists():
        make_gallery(src, 64, seed=12, progress=False)
    files = sorted(src.glob("*.jpg"))[: args.images]
    with torch.inference_mode():
        rows = bench_model(DEFAULT_CAPTIONER, True, files, args) + bench_model("toy", False, files, args)
    write_results(rows, args, compared=coca_model._has_transformers)


def write_results(rows: list[tuple], args, compared: bool) -> None:
    """The caption section of RESULTS.md, from `bench_model` rows."""
    notes = [
        "beam_search: 6 beams in 3 groups (open_clip's default). open_clip's `generate` runs every position through "
        "the text and multimodal decoders at each step, projects the image tokens to cross-attention keys/values "
        "at each step and, for beam search, encodes each image once per beam. The cached decoder encodes an image "
        "once, normalises its tokens once for every layer's cross-attention, and runs only the newest position; "
        "open_clip's groups see the same logits (it passes no diversity penalty), so one group's beams are run.",
        "",
        "Random weights: the caption head is filled with seeded random values (open_clip leaves it empty); greedy "
        "output is then gibberish that rarely ends early, so captions run to the full length.",
        "",
        "Measure on an otherwise idle machine: the cached decoder runs many small operations per step, and when "
        "other processes hold the cores torch's threads wait on each other at every one of them.",
    ]
    if not compared:
        notes += [
            "",
            "open_clip's `generate` could not run here (it needs transformers, which picseek no longer installs): "
            "only the KV-cached decoder is measured. Its tokens equal open_clip's on the cases in "
            "tests/test_coca_decode.py.",
        ]
    lines = section(
        f"python -m picseek.evals.bench.caption --images {args.images} --batch {args.batch} --seq-len {args.seq_len} "
        f"--repeat {args.repeat}",
        f"Captions per second, {args.images} images in batches of {args.batch}, up to {args.seq_len} tokens, fp32 CPU"
        + (f" (best of {args.repeat} runs)" if args.repeat > 1 else ""),
        ("model", "decoding", "tokens/caption", "open_clip generate", "KV-cached", "speed-up", "same tokens"),
        [
            (
                n,
                m,
                f"{g:.1f}",
                "n/a" if theirs is None else f"{theirs:.2f}",
                f"{ours:.2f}",
                "n/a" if theirs is None else f"{ours / theirs:.1f}x",
                "n/a" if same is None else ("yes" if same else "NO"),
            )
            for n, m, g, theirs, ours, same in rows
        ],
        left=2,
        notes=notes,
    )
    write_section("caption", "\n".join(lines))


if __name__ == "__main__":
    main()
