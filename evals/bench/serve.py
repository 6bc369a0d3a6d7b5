"""`picseek serve` under load and faults, on loopback only, every loop bounded.

1. One turn through `POST /v1/sessions/{id}/turns` against the same turn through `picseek ask --session FILE` (a
   fresh process per call, as scripts use it today), in one run on one gallery.
2. 50 sessions x 5 turns: each session alone first (its expected results), then all at once; p50/p95 per turn,
   throughput, errors, and sessions whose results differ from their run alone (another session's results).
3. While all sessions talk, the server is killed with SIGKILL and started again: every turn a client saw answered
   must be in its saved session, and every session goes on.
4. Slow clients (a body trickled a byte a second) and oversized bodies sent beside the sessions: the sessions'
   latency is compared with the run without them; no session may fail.
With `--ray`, steps 2-3 run again on a Ray Serve deployment of 2 replicas (local Ray runtime, the index on a
`chroma run` server, sessions in one folder).

    python -m picseek.evals.bench.serve [--sessions 50] [--scenes 300] [--ray]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from picseek.evals.bench.common import bench_dir, header, pct, table, write_section
from picseek.evals.bench.load import DIALOGUES, free_port, wait_http

BIN = Path(sys.executable).parent
FOLLOW_UPS = ["more like #1", "only at night"]  # turns 4 and 5 after a committed 3-turn toy dialogue
RAY_ENV = {"RAY_DEFAULT_OBJECT_STORE_MAX_MEMORY_BYTES": str(300 * 2**20)}


def post(url: str, body: dict, timeout: float = 300) -> tuple[dict, str]:
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read() or b"null"), r.headers.get("X-Picseek-Replica", "")


def get(url: str, timeout: float = 60) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


@dataclass
class Talk:
    """One session's run: the seconds and the result ids of each turn, and the first error if any."""

    sid: str = ""
    seconds: list[float] = field(default_factory=list)
    results: list[list[str]] = field(default_factory=list)
    replicas: set[str] = field(default_factory=set)
    error: str | None = None


def talk(url: str, turns: list[str], stop: threading.Event | None = None, answered: list | None = None) -> Talk:
    """A session's turns one after another; `answered` (shared) gets an item for each answered turn."""
    out = Talk()
    try:
        out.sid = post(url + "/v1/sessions", {})[0]["id"]
        for m in turns:
            if stop is not None and stop.is_set():
                break
            t = time.perf_counter()
            r, replica = post(f"{url}/v1/sessions/{out.sid}/turns", {"message": m})
            out.seconds.append(time.perf_counter() - t)
            out.results.append([h["id"] for h in r["hits"]])
            out.replicas.add(replica)
            if answered is not None:
                answered.append(1)
    except Exception as e:  # counted, never the end of the bench
        out.error = f"{type(e).__name__}: {e}"
    return out


def dialogues(n: int) -> list[list[str]]:
    lines = DIALOGUES.read_text().splitlines()
    picked = [[t["user"] for t in json.loads(x)["turns"]][:3] + FOLLOW_UPS for x in lines[:n]]
    if len(picked) < n:
        raise SystemExit(f"{DIALOGUES} has only {len(picked)} dialogues")
    return picked


def gallery(scenes: int, home: Path, chroma_url: str | None = None) -> Path:
    """A toy gallery indexed with captions (made once), so that no turn waits for a caption."""
    from picseek.ui.demo.world import make_gallery

    folder = bench_dir() / f"toy-serve-{scenes}"
    if not (folder / "scenes.jsonl").exists():
        make_gallery(folder, scenes, 4646, progress=False)
    cmd = [str(BIN / "picseek"), "index", str(folder), "--model", "toy", "--captions"]
    cmd += ["--chroma-url", chroma_url] if chroma_url else []
    subprocess.run(cmd, env={**os.environ, "PICSEEK_HOME": str(home)}, check=True, stdout=subprocess.DEVNULL)
    return folder


class Server:
    """`picseek serve` (or its Ray Serve deployment) in its own process group, on loopback."""

    def __init__(self, folder: Path, home: Path, sessions: Path, chroma_url: str | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cmd = [str(BIN / "picseek"), "serve", "--dir", str(folder), "--model", "toy", "--offline", "--no-log"]
        self.cmd += ["--host", "127.0.0.1", "--port", str(self.port), "--sessions", str(sessions)]
        if chroma_url:
            self.cmd += ["--ray-serve", "--replicas", "2", "--replica-cpus", "0.5", "--chroma-url", chroma_url]
        self.env = {**os.environ, **RAY_ENV, "PICSEEK_HOME": str(home)}
        self.proc: subprocess.Popen | None = None

    def start(self) -> float:
        t = time.perf_counter()
        self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            try:
                if get(self.url + "/readyz", timeout=5).get("ready"):
                    return time.perf_counter() - t
            except (OSError, ValueError):
                if self.proc.poll() is not None:
                    raise RuntimeError(f"picseek serve exited with {self.proc.returncode}") from None
            time.sleep(0.5)
        raise RuntimeError("picseek serve did not become ready in 600 s")

    def kill(self) -> None:
        """SIGKILL to the whole process group: no clean-up of any kind runs (a Ray runtime it started included)."""
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
            self.proc = None

    def kill_replica(self) -> int:
        """SIGKILL one Ray Serve replica (a process this server started, found among its descendants); its pid."""
        children: dict[int, list[int]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                pid, rest = stat.read_text().split(" (", 1)
                children.setdefault(int(rest.rsplit(") ", 1)[1].split()[1]), []).append(int(pid))
            except (OSError, IndexError, ValueError):
                continue
        todo, mine = [self.proc.pid], []
        while todo:
            pid = todo.pop()
            mine.append(pid)
            todo += children.get(pid, [])
        for pid in mine:
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if cmd.startswith(b"ray::ServeReplica:picseek"):
                os.kill(pid, signal.SIGKILL)
                return pid
        raise RuntimeError("no Ray Serve replica among the server's processes")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pass
        self.kill()


def beside_ask(server: Server, folder: Path, home: Path, convs: list[list[str]]) -> dict:
    """Conversations through the server, then the first through `ask --session` (one process per turn)."""
    api = [talk(server.url, c) for c in convs]
    turns = convs[0]
    f = home / "ask-session.json"
    f.unlink(missing_ok=True)
    cli = []
    env = {**os.environ, "PICSEEK_HOME": str(home)}
    for m in turns:
        cmd = [str(BIN / "picseek"), "ask", m, "--session", str(f), "--dir", str(folder), "--model", "toy"]
        t = time.perf_counter()
        subprocess.run([*cmd, "--offline", "--no-log", "--json"], env=env, check=True, stdout=subprocess.DEVNULL)
        cli.append(time.perf_counter() - t)
    return {"api": [s for t in api for s in t.seconds], "cli": cli, "errors": [t.error for t in api if t.error]}


def load(url: str, convs: list[list[str]]) -> dict:
    """Each session alone, then all at once."""
    t = time.perf_counter()
    alone = [talk(url, c) for c in convs]
    alone_s = time.perf_counter() - t
    t = time.perf_counter()
    with ThreadPoolExecutor(len(convs)) as pool:
        together = list(pool.map(lambda c: talk(url, c), convs))
    together_s = time.perf_counter() - t
    return {
        "alone": [s for x in alone for s in x.seconds],
        "together": [s for x in together for s in x.seconds],
        "alone_s": alone_s,
        "together_s": together_s,
        "errors": [x.error for x in alone + together if x.error],
        "mixed": sum(a.results != b.results for a, b in zip(alone, together) if not (a.error or b.error)),
        "replicas": len(set().union(*(x.replicas for x in together))),
        "spread": sum(len(x.replicas) > 1 for x in together),
    }


def killed(server: Server, sessions: Path, convs: list[list[str]], replica: bool = False) -> dict:
    """SIGKILL while every session talks; after a restart, each session holds every turn its client saw answered.
    `replica`: one Ray Serve replica is killed instead of the server, and Ray Serve starts another."""
    from picseek.agent.session import Session

    stop, answered = threading.Event(), []
    with ThreadPoolExecutor(len(convs)) as pool:
        futures = [pool.submit(talk, server.url, c * 4, stop, answered) for c in convs]  # long enough to be cut
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and len(answered) < 3 * len(convs):  # mid-load: turns finishing all round
            time.sleep(0.05)
        if replica:
            server.kill_replica()
            t = time.perf_counter()
        else:
            server.kill()
        stop.set()
        talks = [f.result() for f in futures]
    answered = sum(len(t.seconds) for t in talks)
    if replica:  # until two replicas answer again: the survivor and the one Ray Serve started in place of the dead
        seen: set[str] = set()
        while len(seen) < 2 and time.perf_counter() - t < 300:
            try:
                seen.add(urllib.request.urlopen(server.url + "/readyz", timeout=10).headers["X-Picseek-Replica"])
            except OSError:
                time.sleep(0.5)
        restart_s = time.perf_counter() - t
    else:
        restart_s = server.start()
    lost, broken = 0, 0
    for t in talks:
        if not t.sid:
            continue
        try:
            saved = Session.load(json.dumps(get(f"{server.url}/v1/sessions/{t.sid}")))
        except (OSError, ValueError):
            broken += 1
            continue
        lost += max(0, len(t.seconds) - len(saved.messages) // 2)
        try:
            post(f"{server.url}/v1/sessions/{t.sid}/turns", {"message": "a tree"})
        except OSError:
            broken += 1
    return {"answered": answered, "lost": lost, "broken": broken, "restart_s": restart_s}


def slow_clients(url: str, convs: list[list[str]], slow: int = 20, big: int = 5) -> dict:
    """Sessions run while `slow` clients trickle a body a byte a second and `big` clients announce 100 MB."""
    host, port = "127.0.0.1", int(url.rsplit(":", 1)[1])
    socks, refused = [], 0
    stop = threading.Event()

    def trickle(s: socket.socket):
        while not stop.is_set():
            try:
                s.sendall(b"{")
            except OSError:
                return
            stop.wait(1.0)

    for i in range(slow + big):
        s = socket.create_connection((host, port), timeout=10)
        length = 10**8 if i >= slow else 10**6
        path = "/v1/search"
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n".encode())
        s.sendall(f"Content-Length: {length}\r\n\r\n".encode())
        socks.append(s)
    threads = [threading.Thread(target=trickle, args=(s,), daemon=True) for s in socks[:slow]]
    for t in threads:
        t.start()
    for s in socks[slow:]:
        try:
            refused += b" 413 " in s.recv(200)
        except OSError:
            pass
    with ThreadPoolExecutor(len(convs)) as pool:
        together = list(pool.map(lambda c: talk(url, c), convs))
    stop.set()
    for s in socks:
        s.close()
    return {
        "seconds": [s for x in together for s in x.seconds],
        "errors": [x.error for x in together if x.error],
        "refused": refused,
        "slow": slow,
        "big": big,
    }


def chroma_server(path: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    cmd = [str(BIN / "chroma"), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/api/v2/heartbeat", proc, timeout=60)
    return proc, url


def run(args, chroma_url: str | None = None) -> dict:
    import shutil

    home = bench_dir() / ("serve-home-ray" if chroma_url else "serve-home")
    sessions = home / "sessions"
    shutil.rmtree(sessions, ignore_errors=True)
    folder = gallery(args.scenes, home, chroma_url)
    convs = dialogues(args.sessions)
    server = Server(folder, home, sessions, chroma_url)
    out: dict = {"ready_s": server.start()}
    try:
        out["load"] = load(server.url, convs)
        print("load:", {k: v for k, v in out["load"].items() if k not in ("alone", "together")}, flush=True)
        if not chroma_url:
            out["beside"] = beside_ask(server, folder, home, convs[:3])
        if not chroma_url:
            out["slow"] = slow_clients(server.url, convs)
        out["killed"] = killed(server, sessions, convs[: min(len(convs), 20)], replica=bool(chroma_url))
        print("kill -9:", out["killed"], flush=True)
    finally:
        server.stop()
    return out


def lines(name: str, r: dict, n: int) -> list[str]:
    ld, k = r["load"], r["killed"]
    rows = [("each session alone", ld["alone"], ld["alone_s"]), (f"{n} at once", ld["together"], ld["together_s"])]
    if "slow" in r:
        s = r["slow"]
        rows.append((f"{n} at once + {s['slow']} slow, {s['big']} oversized clients", s["seconds"], None))
    out = [
        f"### {name}",
        "",
        *table(
            ("sessions", "turns", "p50 turn ms", "p95 turn ms", "turns/s"),
            [
                (what, str(len(lat)), f"{pct(lat, 50) * 1000:.0f}", f"{pct(lat, 95) * 1000:.0f}")
                + ((f"{len(lat) / t:.1f}",) if t else ("",))
                for what, lat, t in rows
            ],
        ),
        "",
        f"- ready after {r['ready_s']:.1f} s (warm-up turns included); errors: {len(ld['errors'])}; sessions with "
        f"results other than their run alone: {ld['mixed']} of {n}",
        f"- kill -9 {'of one replica' if ld['replicas'] > 1 else 'of the server'} while 20 sessions talked: "
        f"{k['answered']} turns answered before it, {k['lost']} of them missing after "
        f"{'Ray Serve replaced the replica' if ld['replicas'] > 1 else 'the restart'} ({k['restart_s']:.1f} s), "
        f"{k['broken']} sessions that could not go on",
    ]
    if ld["replicas"] > 1:
        out.append(f"- replicas that answered: {ld['replicas']}; sessions whose turns landed on both: {ld['spread']}")
    if "slow" in r:
        s = r["slow"]
        out.append(
            f"- slow and oversized clients: {len(s['errors'])} session errors; {s['refused']} of {s['big']} "
            "oversized bodies refused (413) from their Content-Length before any byte of the body"
        )
    if "beside" in r:
        b = r["beside"]
        out.append(
            f"- side by side, after the load: p50 {pct(b['api'], 50) * 1000:.0f} ms a turn through "
            f"`POST /v1/sessions/{{id}}/turns` ({len(b['api'])} turns, 3 sessions), {pct(b['cli'], 50):.1f} s a turn "
            f"through `picseek ask --session FILE` (a process per turn, {len(b['cli'])} turns)"
        )
    return [*out, ""]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sessions", type=int, default=50)
    ap.add_argument("--scenes", type=int, default=300)
    ap.add_argument("--ray", action="store_true", help="also on Ray Serve with 2 replicas (a local Ray runtime)")
    ap.add_argument("--ray-only", action="store_true", help="only the Ray Serve part")
    args = ap.parse_args(argv)
    cmd = "python -m picseek.evals.bench.serve " + " ".join(argv if argv is not None else sys.argv[1:])
    cpu = next((x.split(":", 1)[1].strip() for x in _lscpu() if x.startswith("Model name")), "unknown CPU")
    head = header(cmd) + [f"CPU: {cpu}. The machine was shared with other work while this ran.", ""]
    failed = False
    if not args.ray_only:
        one = run(args)
        title = f"picseek serve, one process: {args.sessions} sessions x 5 turns, toy gallery of {args.scenes}"
        text = head + lines(title, one, args.sessions)
        failed |= bool(one["load"]["errors"] or one["load"]["mixed"] or one["killed"]["lost"])
        failed |= bool(one["killed"]["broken"] or one["slow"]["errors"] or one["beside"]["errors"])
        write_section("serve", "\n".join(text))
        print("\n".join(text), flush=True)
    if args.ray or args.ray_only:
        proc, url = chroma_server(bench_dir() / "serve-chroma")
        try:
            two = run(args, url)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        title = f"picseek serve --ray-serve, 2 replicas (0.5 CPU each), {args.sessions} sessions x 5 turns"
        text = head + lines(title, two, args.sessions)
        failed |= bool(two["load"]["errors"] or two["load"]["mixed"] or two["killed"]["lost"])
        failed |= bool(two["killed"]["broken"])
        write_section("serve-ray", "\n".join(text))
        print("\n".join(text), flush=True)
    if failed:
        raise SystemExit("errors, mixed sessions or lost turns: see above")


def _lscpu() -> list[str]:
    try:
        return subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout.splitlines()
    except OSError:
        return []


if __name__ == "__main__":
    main()
