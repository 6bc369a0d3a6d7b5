"""The real architectures (random weights: the same compute, no knowledge) beside the toy model: process start, first
turn, later turns, the question step and memory, with and without background captioning; and the precisions a CPU
without native bf16 would run (fp32, int8) beside bf16, with their cosine to fp32.

Stores of 1,000 images are the toy gallery's files with random vectors (the toy model's own vectors for the toy);
100,000 are evals/bench/search.py's store of synthetic vectors, its files linked to the same images. Every
configuration runs in a fresh process, so process start, first turn and memory are what a user's process pays.

    python -m picseek.evals.bench.realmodels [--sizes 1000 100000] [--turns 8] [--precision auto]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from picseek.evals.bench.common import bench_dir, pct, table, write_section

# name -> (search model, captioner)
CONFIGS = {
    "toy": ("toy", "toy"),
    "ViT-B-32 + coca_ViT-B-32": ("ViT-B-32", "coca_ViT-B-32"),
    "coca_ViT-B-32 for both": ("coca_ViT-B-32", "coca_ViT-B-32"),
}
# the pair is measured at every size; the others at 1,000 (each 100k store takes minutes to fill)
LARGE = ("ViT-B-32 + coca_ViT-B-32",)
TURNS = [
    "a red car",
    "at night",
    "not blue",
    "more like #2",
    "only landscape photos",
    "without people",
    "a dog on the beach",
    "in the snow",
]
CHUNK = 5000


def rss_mib() -> tuple[float, float]:
    """(resident, peak resident) MiB of this process, from /proc."""
    got = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            got[key] = int(value.split()[0]) / 1024
    return got.get("VmRSS", 0.0), got.get("VmHWM", 0.0)


# --- stores ------------------------------------------------------------------------------------------------


def toy_gallery(n: int = 1000) -> Path:
    from picseek.ui.demo.world import make_gallery

    folder = bench_dir() / f"toy-realmodels-{n}"
    if not (folder / "scenes.jsonl").exists():
        make_gallery(folder, n, seed=2626, progress=False)
    return folder


def spec_of(model: str):
    from picseek.tools.models import resolve

    return resolve(model, random_init=model != "toy")


def where(model: str, n: int) -> tuple[Path, Path]:
    """The store folder and the gallery folder of `model` with n images. ViT-B-32 beyond 1,000 images uses the
    search bench's store (evals/bench/search.py, filled once and reused), whose made-up files are linked to the toy
    gallery's images so that they can be captioned."""
    if model == "ViT-B-32" and n > 1000:
        return bench_dir() / f"store-{n}-v2", bench_dir() / f"vectors-{n}"
    return bench_dir() / f"realmodels-{model}-{n}", toy_gallery()


def link_images(folder: Path, store) -> None:
    """Point every path of the store's records that has no file at one of the toy gallery's images (symlinks)."""
    files = sorted(p for p in toy_gallery().iterdir() if p.suffix.lower() in (".jpg", ".png"))
    for i, r in enumerate(store.iter_metadata()):
        path = folder / r.meta.path
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.symlink_to(files[i % len(files)])


def build_store(model: str, n: int) -> None:
    """The store of `model` with n images (made once, reused): the toy indexes its gallery for real; the others get
    random unit vectors with the toy gallery's metadata, its files cycled."""
    from picseek.tools.embed import Embedder
    from picseek.tools.index import index_folder
    from picseek.tools.store import Store

    state, folder = where(model, n)
    if folder != toy_gallery():
        from picseek.evals.bench.search import build

        link_images(folder, build(n).store)
        return
    emb = Embedder(spec_of(model))
    store = Store.open(state, folder, emb, create=True)
    if model == "toy":
        if store.count() < n:
            index_folder(folder, emb, store, progress=False)
        return
    if store.count() >= n:
        return
    toy = Store.open(where("toy", 1000)[0], folder, Embedder(spec_of("toy")), create=False)
    metas = [r.meta for r in toy.iter_metadata()]
    rng = np.random.default_rng(0)
    dim = emb.dim
    for s in range(store.count(), n, CHUNK):
        m = min(CHUNK, n - s)
        v = rng.normal(size=(m, dim)).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        store.upsert([f"{s + i:024x}" for i in range(m)], v, [metas[(s + i) % len(metas)] for i in range(m)])
        print(f"  {model}: {s + m:,} of {n:,} vectors", flush=True)


# --- one configuration, in its own process ---------------------------------------------------------------


def child(cfg: dict) -> dict:
    """Run one configuration's dialogue in this (fresh) process and return its figures."""
    t0 = time.perf_counter()
    import torch  # noqa: F401  (what any turn needs, imported before the clock says 'imports done')
    from picseek.agent.agent import Agent
    from picseek.agent.session import Session
    from picseek.tools.caption import CocaCaptioner
    from picseek.tools.caption_worker import CaptionWorker
    from picseek.tools.embed import Embedder
    from picseek.tools.retrieve import Searcher
    from picseek.tools.store import Store
    from picseek.tools.usage import UsageLog
    from picseek.ui.wiring import warm_up

    imports = time.perf_counter() - t0
    print("IMPORTED", flush=True)  # the parent's clock: the interpreter is up and everything a turn needs imported
    model, captioner, n = cfg["model"], cfg["captioner"], cfg["n"]
    emb = Embedder(spec_of(model), precision=cfg["precision"])
    store = Store.open(*where(model, n), emb, create=False)
    worker = None
    if cfg["captions"]:
        worker = CaptionWorker(store, CocaCaptioner(spec_of(captioner)), process=True).start()  # as picseek ui
    log_path = Path(cfg["usage"])
    agent = Agent(Searcher(store, emb), usage=UsageLog(path=log_path), caption_worker=worker)
    question_ms: list[float] = []
    ask = agent._question

    def timed_question(box):
        t = time.perf_counter()
        try:
            return ask(box)
        finally:
            question_ms.append((time.perf_counter() - t) * 1000)

    agent._question = timed_question
    first = warm_up(agent)  # as `picseek ui` does before it prints its URL: the first turn of the process
    deadline = time.monotonic() + 300
    while worker is not None and not worker.stats.batches and worker.running and time.monotonic() < deadline:
        time.sleep(0.5)  # the turns below are timed while captions are being made, not while the captioner loads
    del question_ms[:]
    session = Session()
    for message in TURNS[: cfg["turns"]]:
        session = agent.turn(session, message).session
    turns = [json.loads(line) for line in log_path.read_text().splitlines()]
    seconds = [r["seconds"] for r in turns if r.get("event") == "turn" and r.get("session") == session.id]
    rss, peak = rss_mib()
    out = {
        "imports_s": imports,
        "first_turn_s": first,
        "later_s": seconds,
        "question_ms": question_ms,
        "rss_mib": rss,
        "peak_mib": peak,
        "precision": emb._device_precision()[1],
    }
    if worker is not None:
        worker.stop()
        out["captioned"] = worker.stats.captioned
        out["caption_s"] = worker.stats.seconds
        out["caption_error"] = worker.stats.error
    return out


def run_child(cfg: dict) -> dict:
    """One configuration in a fresh interpreter; 'start_s' is from launching it to its first line (imports done)."""
    cmd = [sys.executable, "-m", "picseek.evals.bench.realmodels", "--child", json.dumps(cfg)]
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None
    ready = p.stdout.readline()
    start = time.perf_counter() - t
    rest = p.stdout.read()
    if p.wait() != 0 or not ready.startswith("IMPORTED"):
        raise RuntimeError(f"{cfg}: the child failed ({p.returncode}); see its stderr above")
    out = json.loads(rest.strip().splitlines()[-1])
    out["start_s"] = start
    return out


# --- precisions --------------------------------------------------------------------------------------------


def precisions(models=("ViT-B-32", "coca_ViT-B-32"), reps: int = 20) -> list[tuple[str, ...]]:
    """Per model and precision: one new query text on one thread (p50 ms), images on the process's threads
    (ms per image, batches of 8), and the cosine of each to fp32 (the lowest of 8 texts / 8 images)."""
    import torch
    from picseek.tools.embed import Embedder

    texts = [f"{w} {i}" for i, w in enumerate(TURNS)]
    rng = np.random.default_rng(0)
    rows = []
    for model in models:
        ref_t = ref_i = None
        for precision in ("fp32", "bf16", "int8"):
            emb = Embedder(spec_of(model), device="cpu", precision=precision)
            if precision == "fp32":  # the same images for every precision of this model
                size = emb.fit.size
                pixels = [rng.integers(0, 255, (size, size, 3), dtype=np.uint8) for _ in range(8)]
            vt = emb.embed_texts(texts)
            emb.embed_pixels(pixels[:2])
            t = time.perf_counter()
            vi = emb.embed_pixels(pixels, batch_size=8)
            img_ms = (time.perf_counter() - t) * 1000 / len(pixels)
            ms = []
            for i in range(reps):
                emb.clear_text_cache()
                t = time.perf_counter()
                emb.embed_texts([texts[i % len(texts)]])
                ms.append((time.perf_counter() - t) * 1000)
            if precision == "fp32":
                ref_t, ref_i = vt, vi
            cos_t = float((vt * ref_t).sum(1).min())
            cos_i = float((vi * ref_i).sum(1).min())
            rows.append((model, precision, f"{pct(ms, 50):.1f}", f"{img_ms:.0f}", f"{cos_t:.4f}", f"{cos_i:.4f}"))
            print(" | ".join(rows[-1]), flush=True)
            del emb
    torch.set_num_threads(os.cpu_count() or 1)
    return rows


# --- the table ---------------------------------------------------------------------------------------------


def row(name: str, n: int, captions: bool, r: dict) -> tuple[str, ...]:
    later, q = r["later_s"], r["question_ms"]
    caps = ""
    if captions:
        caps = f"{r['captioned']} ({r['captioned'] / r['caption_s']:.2f}/s)" if r.get("caption_s") else "0"
        if r.get("caption_error"):
            caps = "failed: " + r["caption_error"][:40]
    return (
        name,
        f"{n:,}",
        "on" if captions else "off",
        r["precision"],
        f"{r['start_s']:.1f}",
        f"{r['first_turn_s']:.1f}",
        f"{pct(later, 50):.2f}" if later else "",
        f"{max(later):.2f}" if later else "",
        f"{pct(q, 50):.0f}" if q else "",
        f"{r['rss_mib']:.0f}",
        caps,
    )


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    ap.add_argument("--turns", type=int, default=len(TURNS))
    ap.add_argument("--precision", default="auto", help="the search model's precision (auto, fp32, bf16, int8)")
    ap.add_argument("--configs", nargs="+", default=list(CONFIGS), help="which of: " + ", ".join(CONFIGS))
    ap.add_argument("--no-precisions", action="store_true", help="skip the per-precision table")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))), flush=True)
        return
    load_before = os.getloadavg()
    toy_gallery()
    plan = [(c, n) for c in args.configs for n in args.sizes if n <= 1000 or c in LARGE]
    for name, n in plan:
        for model in dict.fromkeys(CONFIGS[name][:1]):
            build_store("toy", 1000)
            build_store(model, n)
    rows = []
    for name, n in plan:
        model, captioner = CONFIGS[name]
        for captions in (False, True):
            usage = bench_dir() / f"realmodels-usage-{os.getpid()}-{len(rows)}.jsonl"
            cfg = dict(model=model, captioner=captioner, n=n, captions=captions, turns=args.turns)
            r = run_child({**cfg, "precision": args.precision, "usage": str(usage)})
            rows.append(row(name, n, captions, r))
            print(" | ".join(rows[-1]), "| turns:", " ".join(f"{x:.2f}" for x in r["later_s"]), flush=True)
    prec = [] if args.no_precisions else precisions()
    import torch
    from picseek.evals.bench.common import machine

    cpu = _cpu_name()
    said = ", ".join(repr(t) for t in TURNS[: args.turns])
    load = f"load average {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after"
    command = "python -m picseek.evals.bench.realmodels " + " ".join(argv if argv is not None else sys.argv[1:])
    lines = [
        f"Machine: {machine()}; CPU {cpu}; SHARED with other engineers' jobs during the run ({load}).",
        "",
        f"Command: `{command.strip()}` (part of `make bench`).",
        "",
        "### Real architectures (random weights) beside the toy: start, turns, question step, memory",
        "",
        *table(
            (
                "models (search + captions)",
                "images",
                "background captions",
                "precision",
                "process start s",
                "first turn s",
                "later turns p50 s",
                "later max s",
                "question step p50 ms",
                "RSS MiB",
                "captioned meanwhile",
            ),
            rows,
            3,
        ),
        "",
        "*process start*: from launching the interpreter to its first line, torch, open_clip, Chroma and the agent "
        "imported; *first turn*: the warm-up turns `picseek ui` runs before it prints its URL (`ui.wiring.warm_up`: "
        "the model, the English pipeline, the place names and the gallery's calibration load in them); *later turns*: "
        f"the seconds the usage log recorded for the {args.turns} turns of one dialogue after it ({said}); "
        "*question step*: "
        "`Agent._question` alone, same turns. *background captions on*: a `CaptionWorker` (nice 19, one torch thread) "
        "captions the shown results and candidates each turn hands it, then the rest, while the turns run; its "
        "CoCa runs in a child process at nice 19 (as in picseek ui) and loads there. RSS after the last turn: "
        "this process's, the child's (about 1 GiB more) not included.",
    ]
    body = "\n".join(lines)
    print(body)
    if rows:
        write_section("realmodels", body)
    if prec:
        lines = [
            f"Machine: {machine()}; CPU {cpu}; SHARED with other engineers' jobs during the run ({load}).",
            "",
            f"Command: `{command.strip()}` (part of `make bench`).",
            "",
            "### Precisions: what a CPU without native bf16 runs (fp32, int8) beside bf16",
            "",
            *table(
                (
                    "model",
                    "precision",
                    "new query text p50 ms (1 thread)",
                    "image ms each (batch 8)",
                    "text cos",
                    "img cos",
                ),
                prec,
                2,
            ),
            "",
            f"This CPU has native bf16 (avx512_bf16/AMX), so `auto` picks bf16 here; int8 (dynamic quantisation of "
            f"both towers' Linear layers, self-attention rebuilt on Linear layers) is what `auto` picks on an x86 CPU "
            f"without it, measured here by forcing it. The AVX2-only figures themselves are NOT measured (no such CPU "
            f"here; int8 here may use VNNI/AMX kernels an AVX2 CPU lacks). Cosines: the lowest of 8 texts / 8 random "
            f"images against fp32, random weights. torch {torch.__version__}.",
        ]
        body = "\n".join(lines)
        print(body)
        write_section("realmodels-precisions", body)


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    main()
