"""The real `picseek` command, run as a user would (subprocess), on real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from picseek.tools.home import home

from tests.conftest import picseek_cli

pytestmark = pytest.mark.e2e


def test_help_does_not_import_torch():
    code = (
        "import sys\nsys.argv=['picseek','--help']\nfrom picseek.ui.cli import main\ntry:\n    main()\n"
        "except SystemExit:\n    pass\nprint('TORCH' if 'torch' in sys.modules else 'NO-TORCH')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert "index" in out and out.strip().endswith("NO-TORCH")


def test_index_and_search_json(toy_gallery):
    (toy_gallery / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    report = json.loads(picseek_cli("index", str(toy_gallery), "--model", "toy", "--json").stdout)
    assert report["indexed"] == 120 and report["unchanged"] == 0 and report["removed"] == 0
    [skip] = report["skipped"]
    assert set(skip) == {"path", "reason"} and skip["path"] == str(toy_gallery / "broken.png")
    # picseek's wording for a file Pillow opened but could not read, then Pillow's: the PNG stops after its signature
    assert skip["reason"].startswith("cannot decode: ") and "truncated" in skip["reason"].lower(), skip["reason"]
    again = json.loads(picseek_cli("index", str(toy_gallery), "--model", "toy", "--json").stdout)
    assert (again["indexed"], again["unchanged"]) == (0, 120)
    forced = json.loads(picseek_cli("index", str(toy_gallery), "--model", "toy", "--reindex", "--json").stdout)
    assert (forced["indexed"], forced["unchanged"]) == (120, 0)

    ref = toy_gallery / "scene_00001.jpg"
    hits = json.loads(
        picseek_cli(
            "search",
            "a boat",
            "--dir",
            str(toy_gallery),
            "--model",
            "toy",
            "--not",
            "at night",
            "--like",
            str(ref),
            "--k",
            "7",
            "--json",
        ).stdout
    )
    assert len(hits) == 7
    for h in hits:
        assert Path(h["path"]).is_absolute() and Path(h["path"]).exists()
        assert isinstance(h["score"], float) and h["caption"] is None
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


def test_user_errors_are_one_line_without_traceback(tmp_path, toy_gallery):
    p = picseek_cli("search", "cats", "--dir", str(tmp_path), "--model", "toy", check=False)
    assert p.returncode == 2 and "picseek index" in p.stderr and "Traceback" not in p.stderr
    p = picseek_cli("index", str(tmp_path / "nope"), "--model", "toy", check=False)
    assert p.returncode == 2 and "not a folder" in p.stderr and "Traceback" not in p.stderr
    p = picseek_cli("search", "x", "--dir", str(toy_gallery), "--model", "no-such-model", check=False)
    assert p.returncode == 2 and "unknown model" in p.stderr and "ViT-B-32" in p.stderr
    picseek_cli("index", str(toy_gallery), "--model", "toy")
    p = picseek_cli("search", "x", "--dir", str(toy_gallery), "--model", "toy", "--from", "last tuesday", check=False)
    assert p.returncode == 2 and "YYYY-MM-DD" in p.stderr


def test_offline_real_model_names_the_remedies(toy_gallery, tmp_path):
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    p = picseek_cli("index", str(toy_gallery), "--model", "ViT-B-32", check=False, env=env)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "--checkpoint" in p.stderr and "--model toy" in p.stderr


def test_models_json():
    rows = json.loads(picseek_cli("models", "--json").stdout)
    assert {"ViT-B-32", "coca_ViT-B-32", "toy"} <= {r["name"] for r in rows}


@pytest.mark.e2e
@pytest.mark.parametrize(
    "args,says",
    [(("serch", "x"), "No such command 'serch'"), (("ask", "--k", "10", "x"), "No such option: --k")],
)
def test_usage_mistakes_print_the_usage_and_exit_2(args, says):
    p = picseek_cli(*args, check=False)
    assert p.returncode == 2 and says in p.stderr and "Usage: picseek" in p.stderr and "Traceback" not in p.stderr


def test_an_example_image_bomb_is_refused_with_a_sentence(toy_index, tmp_path):
    from tests.conftest import png_bomb

    gallery, _, _ = toy_index
    for side in (12_000, 60_000):
        bomb = png_bomb(tmp_path / f"bomb{side}.png", side)
        p = picseek_cli("search", "--like", str(bomb), "--dir", str(gallery), "--model", "toy", check=False)
        assert p.returncode == 2 and "cannot use example image" in p.stderr and "Traceback" not in p.stderr


def test_stats_report_a_scripted_session_from_the_usage_log(toy_index, tmp_path):
    """Two scripted conversations through `picseek ask`, then `picseek stats --json` reads what a search team
    watches from the local log; `--no-log` keeps nothing."""
    gallery, _, _ = toy_index
    args = ("ask", "--dir", str(gallery), "--model", "toy", "--json", "--no-questions")
    session = tmp_path / "s.json"
    picseek_cli(*args, "--session", str(session), "a boat", "#2 is right", "not #3")
    picseek_cli(*args, "--session", str(session), "at night")  # the same session, continued in a second call
    picseek_cli(*args, "asdkjh", "a house")  # another session: a nonsense query, then a new search
    stats = json.loads(picseek_cli("stats", "--json").stdout)
    assert (stats["sessions"], stats["turns"]) == (2, 6)
    assert stats["feedback"] == {"good": 1, "bad": 1, "balance": 0.5}
    assert stats["nothing_matches_share"] == round(1 / 6, 3) and stats["error_share"] == 0
    assert stats["turns_per_session"] == {"mean": 3.0, "median": 3.0}
    # refinements: 'a boat' -> '#2 is right' -> 'not #3' -> 'at night' (3 turns followed by one), none after asdkjh
    assert stats["reformulation_rate"] == 0.5 and stats["new_search_rate"] == 0.25
    log = home() / "usage" / "usage.jsonl"
    lines = log.read_text().splitlines()
    picseek_cli(*args, "--no-log", "a car")
    assert log.read_text().splitlines() == lines
