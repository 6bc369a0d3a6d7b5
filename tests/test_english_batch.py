"""`picseek ask --json --batch FILE` (issue 21): many conversations in one process, one JSON line each, the text
CLIP embeds in each turn's query, and a bad line named by its number while the other lines still run."""

from __future__ import annotations

import json

from tests.conftest import picseek_cli


def test_batch_runs_every_good_line_and_names_the_bad_ones(toy_index, tmp_path):
    gallery, _, _ = toy_index
    lines = [
        {"id": "one", "messages": ["a red car", "at night"]},
        "not json at all",
        {"id": "two", "messages": ["show me a boat on the water please", "make the boat green"]},
        {"id": "three", "messages": "a house"},
    ]
    batch = tmp_path / "talks.jsonl"
    text = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n"
    batch.write_bytes(text.encode() + b'{"id": "latin-1", "messages": ["caf\xe9"]}\n')  # not UTF-8: line 5
    p = picseek_cli(
        "ask", "--dir", str(gallery), "--model", "toy", "--json", "--no-questions", "--batch", str(batch), check=False
    )
    assert p.returncode == 1  # some lines were bad
    assert all(f"line {n} of talks.jsonl" in p.stderr for n in (2, 4, 5)), p.stderr
    out = [json.loads(x) for x in p.stdout.splitlines()]
    good = {o["id"]: o for o in out if o.get("id")}
    assert [o["line"] for o in out if "error" in o] == [2, 4, 5]
    texts = [t["query"]["text"] for t in good["one"]["turns"]]
    assert texts == ["a red car", "a red car at night"]
    assert [t["query"]["text"] for t in good["two"]["turns"]] == ["a boat on the water", "a green boat on the water"]
    assert all(t["query"]["negatives"] == [] for t in good["two"]["turns"])
    assert len(good["one"]["turns"][0]["hits"]) > 0
