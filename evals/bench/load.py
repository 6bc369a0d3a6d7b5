"""Load and memory: the resident memory of a search process and of `picseek ui` with 100k and 1M vectors indexed,
and many chat sessions at once against `picseek ui` through `gradio_client`.

Memory is measured in a fresh process per case (`--probe`), on the search bench's store of random 512-d vectors
with the real ViT-B-32 architecture (random weights). Sessions run the committed toy dialogues against a real
`picseek ui` server on a toy gallery: first one at a time (the expected results), then all at once; every session
must see its own results, turn for turn, and no error.

    python -m picseek.evals.bench.load [--sizes 100000 1000000] [--sessions 20] [--skip-memory] [--skip-sessions]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from picseek.evals.bench.common import bench_dir, header, pct, table, write_section

BIN = Path(sys.executable).parent
DIALOGUES = Path(__file__).resolve().parents[1] / "data" / "toy-dialogues.jsonl"
SESSION_GALLERY = (1000, 4545)  # scenes, seed of the toy gallery the sessions search


def memory_mb(pid: int | str = "self") -> dict[str, float]:
    """A process's memory in MiB, from /proc (Linux): resident ("rss"), its peak ("peak"), and the part of the
    resident memory that is mapped files, mostly shared libraries ("files": torch's CUDA build alone maps ~0.5 GB
    here, which the kernel can drop and other processes share)."""
    names = {"VmRSS": "rss", "VmHWM": "peak", "RssFile": "files"}
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in names:
            out[names[key]] = int(value.split()[0]) / 1024
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen | None = None, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"the server exited with {proc.returncode}") from None
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer in {timeout:.0f} s")


# --- memory: one fresh process per case ------------------------------------------------------------------------


def probe(kind: str, n: int) -> dict:
    """Open the n-vector bench store, serve it (kind "ui": the chat UI, and one three-turn chat through
    gradio_client from another process) or search it (kind "search": 100 searches of every timed kind), and
    report memory."""
    from picseek.evals.bench.search import WORDS, build, cases

    t = time.perf_counter()
    gallery = build(n)
    if gallery.store.count() < n:
        raise SystemExit(
            f"the {n:,}-vector bench store is not full; run `python -m picseek.evals.bench.search --n {n}`"
        )
    out = {"kind": kind, "n": gallery.store.count()}
    if kind == "search":
        for w in [*WORDS, "people"]:
            gallery.embedder.embed_texts([w])
        out["ready_s"] = time.perf_counter() - t
        for make in cases().values():
            for i in range(100):
                gallery.searcher.search(make(i))
    else:
        from picseek.agent.agent import Agent
        from picseek.tools.usage import UsageLog
        from picseek.ui.server import launch

        agent = Agent(gallery.searcher, usage=UsageLog(enabled=False))
        port = free_port()
        launch(agent, "ViT-B-32 (random weights)", port=port, block=False)
        url = f"http://127.0.0.1:{port}/"
        wait_http(url)
        out["ready_s"] = time.perf_counter() - t
        # The chat runs in another process, as a browser would: this process's memory is the server's alone.
        chat = f"chat({url!r}, ['red car', 'only at night', 'more like #2'])"
        talk = f"from picseek.evals.bench.load import chat; c = {chat}"
        r = subprocess.run([sys.executable, "-c", talk + "; assert not c.error, c.error"], capture_output=True)
        if r.returncode:
            raise RuntimeError(f"the chat against the UI failed:\n{r.stderr.decode()[-2000:]}")
    return out | memory_mb()


def memory_rows(sizes: list[int]) -> list[dict]:
    rows = []
    for n in sizes:
        for kind in ("search", "ui"):
            cmd = [sys.executable, "-m", "picseek.evals.bench.load", "--probe", kind, "--n", str(n)]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode:
                raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stderr[-3000:]}")
            rows.append(json.loads(r.stdout.strip().splitlines()[-1]))
            print(rows[-1], flush=True)
    return rows


# --- sessions: many chats at once against one server -----------------------------------------------------------


@dataclass
class Chat:
    """One session's turns: the ids of the results each turn showed, and how long each turn took."""

    results: list[list[str]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    error: str = ""


def chat(url: str, turns: list[str], k: int = 10) -> Chat:
    """Run a conversation through the UI's public `/chat` endpoint, as a browser tab would (its own session)."""
    from gradio_client import Client

    out = Chat()
    try:
        client = Client(url, verbose=False, download_files=False)
        history: list = []
        for text in turns:
            t = time.perf_counter()
            r = client.predict(text, history, k, 0, api_name="/chat")
            out.seconds.append(time.perf_counter() - t)
            history = r[0]
            # a result tile is a thumbnail named after the image id: "<24 hex>-<hash>.jpg"
            out.results.append([Path(_file(tile)).name[:24] for tile in r[1] or []])
    except Exception as e:  # the bench counts errors; it must not stop at the first
        out.error = f"{type(e).__name__}: {e}"
    return out


def _file(tile: dict) -> str:
    image = tile["image"]
    return image if isinstance(image, str) else image.get("path") or image.get("url", "")


def dialogues(n: int) -> list[list[str]]:
    lines = DIALOGUES.read_text().splitlines()
    picked = [[t["user"] for t in json.loads(x)["turns"]] for x in lines[:n]]
    if len(picked) < n:
        raise SystemExit(f"{DIALOGUES} has only {len(picked)} dialogues")
    return picked


def serve_toy_gallery(home: Path) -> tuple[subprocess.Popen, str]:
    """A toy gallery indexed with captions, served by `picseek ui` (offline planner, no usage log)."""
    from picseek.ui.demo.world import make_gallery

    n, seed = SESSION_GALLERY
    folder = bench_dir() / f"toy-load-{seed}"
    if not (folder / "scenes.jsonl").exists():
        make_gallery(folder, n, seed, progress=False)
    env = {**os.environ, "PICSEEK_HOME": str(home)}
    subprocess.run([str(BIN / "picseek"), "index", str(folder), "--model", "toy", "--captions"], env=env, check=True)
    port = free_port()
    cmd = [str(BIN / "picseek"), "ui", "--dir", str(folder), "--model", "toy", "--offline", "--no-log"]
    proc = subprocess.Popen([*cmd, "--port", str(port)], env=env, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    wait_http(url, proc)
    return proc, url


def sessions(count: int) -> dict:
    """Each dialogue alone, then all at once; latencies, errors and sessions whose results differ."""
    convs = dialogues(count)
    proc, url = serve_toy_gallery(bench_dir() / "load-home")
    try:
        chat(url, convs[0])  # warm-up: the first turn of a process loads the English parser
        t = time.perf_counter()
        alone = [chat(url, c) for c in convs]
        alone_s = time.perf_counter() - t
        t = time.perf_counter()
        with ThreadPoolExecutor(count) as pool:
            together = list(pool.map(lambda c: chat(url, c), convs))
        together_s = time.perf_counter() - t
        server = memory_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    turns = sum(len(c) for c in convs)
    errors = [c.error for c in alone + together if c.error]
    return {
        "sessions": count,
        "turns": turns,
        "alone": [s for c in alone for s in c.seconds],
        "together": [s for c in together for s in c.seconds],
        "alone_s": alone_s,
        "together_s": together_s,
        "errors": errors,
        "mixed": sum(a.results != b.results for a, b in zip(alone, together) if not (a.error or b.error)),
        "server": server,
    }


# --- report -----------------------------------------------------------------------------------------------------


def memory_lines(rows: list[dict]) -> list[str]:
    return [
        "### Resident memory, ViT-B-32 architecture (random weights), 512-d vectors in embedded Chroma",
        "",
        *table(
            ("process", "vectors", "ready in s", "RSS MiB", "of which mapped files MiB", "peak RSS MiB"),
            [
                (
                    "search (100 searches of each kind)"
                    if r["kind"] == "search"
                    else "picseek ui (one 3-turn chat, from another process)",
                    f"{r['n']:,}",
                    f"{r['ready_s']:.1f}",
                    f"{r['rss']:.0f}",
                    f"{r['files']:.0f}",
                    f"{r['peak']:.0f}",
                )
                for r in rows
            ],
        ),
        "",
        "Ready: from process start to the first search (search), or to the UI answering HTTP (ui), after imports.",
        "",
        "Both processes hold the model without its image tower (texts are all they embed; an uploaded example "
        "image loads the whole model, about 170 MiB more for ViT-B-32). The rest is torch's and open_clip's imports "
        "(torch's CUDA build maps its CUDA libraries even on a CPU), Chroma's vector index (about 3 KiB per "
        "512-d vector), and in the UI Gradio and the English parser.",
    ]


def session_lines(s: dict) -> list[str]:
    n = s["sessions"]
    rows = [
        ("one at a time", s["alone"], s["alone_s"]),
        (f"{n} at once", s["together"], s["together_s"]),
    ]
    return [
        "",
        f"### {n} chat sessions against `picseek ui` through gradio_client (toy gallery of "
        f"{SESSION_GALLERY[0]:,}, offline planner, k=10)",
        "",
        *table(
            ("sessions", "turns", "p50 turn s", "p95 turn s", "turns/s"),
            [
                (name, str(len(lat)), f"{pct(lat, 50):.2f}", f"{pct(lat, 95):.2f}", f"{len(lat) / t:.1f}")
                for name, lat, t in rows
            ],
        ),
        "",
        f"- errors: {len(s['errors'])}; sessions whose results differ from the same dialogue run alone: "
        f"{s['mixed']} of {n}",
        f"- server memory after the run: {s['server']['rss']:.0f} MiB resident ({s['server']['files']:.0f} MiB of it "
        f"mapped files), {s['server']['peak']:.0f} MiB peak",
        "- each session is its own `gradio_client.Client` (its own Gradio session and state), three turns of a "
        "committed toy dialogue; the server runs up to 4 turns at once (`default_concurrency_limit`), the rest wait "
        "in Gradio's queue.",
    ]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--skip-sessions", action="store_true")
    ap.add_argument("--probe", choices=["search", "ui"], help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, default=100_000, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.probe:
        print(json.dumps(probe(args.probe, args.n)), flush=True)
        return
    lines = header("python -m picseek.evals.bench.load " + " ".join(argv if argv is not None else sys.argv[1:]))
    if not args.skip_memory:
        lines += memory_lines(memory_rows(args.sizes))
    if not args.skip_sessions:
        s = sessions(args.sessions)
        print({k: v for k, v in s.items() if k not in ("alone", "together")}, flush=True)
        lines += session_lines(s)
        if s["errors"] or s["mixed"]:
            write_section("load", "\n".join(lines))
            raise SystemExit(f"{len(s['errors'])} errors, {s['mixed']} sessions with another session's results")
    write_section("load", "\n".join(lines))


if __name__ == "__main__":
    main()
