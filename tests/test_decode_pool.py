"""The decode pool: one hostile file costs only itself (time limit, crash), results all come back."""

from __future__ import annotations

from PIL import Image

from tools.decode_pool import DecodePool, Limits
from tools.images import Decoded, Fit


def test_all_files_come_back_and_slow_one_times_out(tmp_path):
    small = []
    for i in range(12):
        p = tmp_path / f"s{i}.png"
        Image.new("RGB", (32, 32), (i * 20, 0, 0)).save(p)
        small.append(str(p))
    slow = tmp_path / "slow.png"
    Image.effect_noise((8000, 8000), 80).save(slow, compress_level=1)  # 64 MP of noise: far over 0.1 s to decode
    items = [(p, p) for p in small[:6]] + [(str(slow), str(slow))] + [(p, p) for p in small[6:]]
    got = dict(DecodePool(Fit(16), workers=2, limits=Limits(timeout_s=0.1)).imap(items))
    assert set(got) == {k for k, _ in items}
    assert got[str(slow)].startswith("timeout")
    assert all(isinstance(got[p], Decoded) and got[p].pixels.shape == (16, 16, 3) for p in small)


def test_memory_cap_turns_into_a_skip(tmp_path):
    big = tmp_path / "big.png"
    Image.new("RGB", (8000, 8000)).save(big, compress_level=1)
    got = dict(DecodePool(Fit(16), workers=1, limits=Limits(memory_mb=300)).imap([(str(big), str(big))]))
    assert isinstance(got[str(big)], str) and got[str(big)]


def test_workers_that_cannot_start_fail_loudly_instead_of_skipping_files(tmp_path):
    """A script piped to python cannot be re-imported by spawned workers: no file may be blamed for that."""
    import subprocess
    import sys

    p = tmp_path / "ok.png"
    Image.new("RGB", (8, 8)).save(p)
    script = (
        "from tools.decode_pool import DecodePool\nfrom tools.errors import DecodeWorkersFailed\n"
        "from tools.images import Fit\ntry:\n"
        f"    print(list(DecodePool(Fit(8), workers=1).imap([('k', {str(p)!r})])))\n"
        "except DecodeWorkersFailed as e:\n    print('FAILED-LOUDLY', e)\n"
    )
    out = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True, timeout=120)
    assert "FAILED-LOUDLY" in out.stdout and "could not start" in out.stdout, out.stdout + out.stderr


def test_a_busy_caller_never_makes_finished_workers_look_stuck(tmp_path):
    """Regression: a caller that spent longer than the time limit embedding a batch saw every worker whose result
    was still unread as 'timed out', killed it mid-send and deadlocked the pool's shared result queue."""
    import time

    items = []
    for i in range(16):
        p = tmp_path / f"b{i}.png"
        Image.effect_noise((400, 400), 40 + i).save(p)
        items.append((str(p), str(p)))
    got = {}
    for key, res in DecodePool(Fit(16), workers=2, limits=Limits(timeout_s=0.5), prefetch=4).imap(items):
        got[key] = res
        if len(got) % 5 == 1:
            time.sleep(1.5)  # the caller is busy (a model batch) for three time limits
    assert set(got) == {k for k, _ in items}
    assert all(isinstance(r, Decoded) for r in got.values()), [r for r in got.values() if isinstance(r, str)]
