"""Caption throughput: the real coca_ViT-B-32 architecture (random weights) and the toy CoCa, on 2 cores.

python -m evals.bench.caption [--images 8] [--batch 4] [--seq-len 20]
"""

from __future__ import annotations

import argparse
import time

from evals.bench.common import bench_dir, section, write_section


def main(argv=None) -> None:
    from evals.toy.world import make_gallery
    from tools.caption import CocaCaptioner, GenerationConfig
    from tools.decode_pool import DecodePool
    from tools.models import DEFAULT_CAPTIONER, resolve

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq-len", type=int, default=20)
    args = ap.parse_args(argv)
    src = bench_dir() / "toy-caption"
    if not (src / "scenes.jsonl").exists():
        make_gallery(src, 64, seed=12, progress=False)
    files = sorted(src.glob("*.jpg"))[: args.images]
    rows = []
    for name, random_init in ((DEFAULT_CAPTIONER, True), ("toy", False)):
        for method in ("beam_search", "greedy"):
            cap = CocaCaptioner(
                resolve(name, random_init=random_init),
                batch_size=args.batch,
                gen=GenerationConfig(method=method, seq_len=args.seq_len),
            )
            pix = [d.pixels for _, d in DecodePool(cap.fit, 2).imap((str(f), str(f)) for f in files)]
            cap.caption(pix[:1])  # load + warm up
            t = time.perf_counter()
            out = cap.caption(pix)
            dt = time.perf_counter() - t
            rows.append((name + (" (random weights)" if random_init else ""), method, len(out) / dt))
            print(rows[-1], out[0][:60], flush=True)
    lines = section(
        f"python -m evals.bench.caption --images {args.images} --batch {args.batch} --seq-len {args.seq_len}",
        f"Captions per second, batch {args.batch}, up to {args.seq_len} tokens, fp32 CPU",
        ("model", "decoding", "captions/s"),
        [(n, m, f"{r:.2f}") for n, m, r in rows],
        left=2,
        notes=[
            "beam_search: 6 beams in 3 groups (open_clip's default). open_clip's `generate` recomputes the "
            "full-vocabulary logits of every position at each step (no KV cache), so cost grows with the square "
            "of the caption length."
        ],
    )
    write_section("caption", "\n".join(lines))


if __name__ == "__main__":
    main()
