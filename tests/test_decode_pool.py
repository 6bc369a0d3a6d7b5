"""The decode pool: one hostile file costs only itself (time limit, crash), results all come back."""

from __future__ import annotations

import pytest
from picseek.tools.decode_pool import DecodePool, Limits
from picseek.tools.images import Decoded, Fit
from PIL import Image


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
    assert got[str(slow)] == "timeout: decoding took longer than 0.1 s"
    assert all(isinstance(got[p], Decoded) and got[p].pixels.shape == (16, 16, 3) for p in small)


@pytest.mark.unit
def test_memory_cap_turns_into_a_skip(tmp_path):
    big = tmp_path / "big.png"
    Image.new("RGB", (8000, 8000)).save(big, compress_level=1)  # 192 MB of pixels, over what 300 MB leaves free
    got = dict(DecodePool(Fit(16), workers=1, limits=Limits(memory_mb=300)).imap([(str(big), str(big))]))
    # reported as memory, whether Pillow or the worker caught the MemoryError; not a crash, timeout or bad file
    assert got[str(big)] in ("needs more memory to decode than a worker may use", "needs more than 300 MB to decode")


@pytest.mark.unit
def test_each_kind_of_bad_file_gets_its_own_reason(tmp_path):
    """Broken, not an image, too many pixels: each skip says which, and the good file still decodes."""
    ok, broken, text, huge = (tmp_path / n for n in ("ok.png", "broken.png", "text.png", "huge.png"))
    Image.new("RGB", (40, 30)).save(ok)
    broken.write_bytes(b"\x89PNG\r\n\x1a\n garbage")  # a PNG signature, then nothing a PNG needs
    text.write_bytes(b"hello, I am not an image")
    Image.new("L", (100, 100)).save(huge)  # 10,000 pixels against a limit of 2,000
    items = [(str(p), str(p)) for p in (ok, broken, text, huge)]
    got = dict(DecodePool(Fit(16), workers=2, limits=Limits(max_pixels=2000)).imap(items))
    assert isinstance(got[str(ok)], Decoded)
    assert got[str(broken)].startswith("cannot decode: ")
    assert got[str(text)] == "not a recognised image format"
    assert got[str(huge)].startswith("too large: ") and "2,000" in got[str(huge)]


@pytest.mark.unit
def test_workers_that_cannot_start_fail_loudly_instead_of_skipping_files(tmp_path):
    """A script piped to python cannot be re-imported by spawned workers: no file may be blamed for that."""
    import subprocess
    import sys

    p = tmp_path / "ok.png"
    Image.new("RGB", (8, 8)).save(p)
    script = (
        "from picseek.tools.decode_pool import DecodePool\nfrom picseek.tools.errors import DecodeWorkersFailed\n"
        "from picseek.tools.images import Fit\ntry:\n"
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
