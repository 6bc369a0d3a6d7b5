"""Eval datasets, metrics and the runner; the committed toy eval and its acceptance bars."""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from picseek.evals.datasets import coco_karpathy, load, load_jsonl, toy_dialogues, visdial
from picseek.evals.metrics import MRR, HitsAtK, NDCGAtK, PrecisionAtK, RecallAtK, TurnRanks, bri

FIX = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[1]


@pytest.mark.unit
def test_karpathy_loader():
    d = coco_karpathy(FIX / "karpathy_coco.json")
    assert [x.turns[0].user for x in d] == ["A red car parked at night.", "A car in the dark.", "Two trees on grass."]
    assert d[0].turns[0].relevant == ["val2014/COCO_val2014_000000000001.jpg"]
    assert len(load(FIX / "karpathy_coco.json")) == 3


@pytest.mark.unit
def test_visdial_loaders():
    (d,) = visdial(FIX / "visdial.json", image_dir="val2018")
    assert [t.user for t in d.turns] == ["a car parked on a street", "is it daytime? no", "what color is the car? red"]
    assert d.turns[-1].relevant == ["val2018/42.jpg"]
    (p,) = load(FIX / "plugir_queries.json")
    assert len(p.turns) == 3 and p.turns[0].relevant == ["val2014/COCO_val2014_000000000042.jpg"]


@pytest.mark.unit
def test_jsonl_loader_rejects_bad_lines(tmp_path):
    good = tmp_path / "d.jsonl"
    good.write_text(json.dumps({"id": "a", "turns": [{"user": "cars", "relevant": ["x.jpg"]}]}) + "\n")
    assert load_jsonl(good)[0].turns[0].relevant == ["x.jpg"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "turns": [{"text": "cars"}]}\n')
    with pytest.raises(ValueError, match="bad.jsonl:1"):
        load_jsonl(bad)


@pytest.mark.unit
def test_metrics_by_hand():
    t = TurnRanks(ranks=[2, 5, 30], n_relevant=4, best_so_far=1, depth=100)
    assert PrecisionAtK(10).score(t) == 2 / 4
    assert RecallAtK(10).score(t) == 2 / 4
    assert HitsAtK(1).score(t) == 1.0  # cumulative: an earlier turn had it first
    assert MRR().score(t) == 0.5
    assert math.isclose(
        NDCGAtK(10).score(t), (1 / math.log2(3) + 1 / math.log2(6)) / sum(1 / math.log2(i + 2) for i in range(4))
    )
    assert PrecisionAtK(10).score(TurnRanks([1, 2], 2, 1, 100)) == 1.0  # capped by the number relevant
    assert bri([1, 1, 1]) == 0.0
    assert math.isclose(bri([8, 4, 2]), ((math.log(8) + math.log(4)) / 2 + (math.log(4) + math.log(2)) / 2) / 2)


def test_runner_on_a_coco_format_fixture_with_the_toy_model(toy_index, toy_embedder, tmp_path):
    from picseek.agent.agent import Agent
    from picseek.evals.runner import AgentSystem, TextBaseline, run
    from picseek.tools.retrieve import Searcher

    gallery, store, _ = toy_index
    data = {
        "images": [
            {"filepath": "", "filename": f"scene_{i:05d}.jpg", "cocoid": i, "split": "test", "sentences": [{"raw": c}]}
            for i, c in enumerate(
                json.loads(line)["caption"] for line in (gallery / "scenes.jsonl").read_text().splitlines()[:8]
            )
        ]
    }
    (tmp_path / "coco.json").write_text(json.dumps(data))
    dialogues = load(tmp_path / "coco.json")
    s = Searcher(store, toy_embedder)
    systems = [AgentSystem(Agent(s)), TextBaseline(s, "concat"), TextBaseline(s, "last")]
    summary = run(dialogues[:5], systems, tmp_path / "out", progress=False)
    assert summary["dialogues"] == 5 and set(summary["systems"]) == {"agent", "concat", "last"}
    for name in ("summary.json", "report.md", "hits_by_turn.png", "results.jsonl"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    # resumable: a second run over more dialogues only runs the new ones
    lines = (tmp_path / "out" / "results.jsonl").read_text().splitlines()
    run(dialogues[:7], systems, tmp_path / "out", progress=False)
    assert len((tmp_path / "out" / "results.jsonl").read_text().splitlines()) == len(lines) + 6


def test_toy_dialogues_have_exact_ground_truth(toy_gallery_src):
    from picseek.ui.demo.world import load_scenes

    scenes = {s.file: s for s in load_scenes(toy_gallery_src)}
    for d in toy_dialogues(toy_gallery_src, 20, seed=3):
        assert len(d.turns) == 3 and all(t.relevant for t in d.turns)
        assert set(d.turns[1].relevant) <= set(d.turns[0].relevant)
        assert d.meta["target"] in d.turns[2].relevant
        assert all(f in scenes for f in d.turns[2].relevant)


@pytest.mark.e2e
def test_committed_toy_eval_agent_beats_the_baselines(tmp_path):
    """evals/data/toy-dialogues.jsonl on its gallery (toy seed 4040, 1000 scenes), run as `make eval-toy` does."""
    import os
    import subprocess
    import sys

    from picseek.ui.demo.world import make_gallery

    bin_ = Path(sys.executable).parent
    gallery = tmp_path / "toy-4040"
    make_gallery(gallery, 1000, seed=4040, progress=False)
    env = {**os.environ, "OPENAI_API_KEY": "", "OPENAI_BASE_URL": "", "PICSEEK_LLM_MODEL": ""}
    subprocess.run(
        [bin_ / "picseek", "index", str(gallery), "--model", "toy"], check=True, env=env, capture_output=True
    )
    out = tmp_path / "out"
    subprocess.run(
        [
            bin_ / "picseek",
            "eval",
            str(REPO / "evals" / "data" / "toy-dialogues.jsonl"),
            "--dir",
            str(gallery),
            "--model",
            "toy",
            "--system",
            "agent",
            "--system",
            "concat",
            "--system",
            "last",
            "--out",
            str(out),
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["dialogues"] >= 200
    p = {s: [t["P@10"] for t in v["turns"]] for s, v in summary["systems"].items()}
    assert all(len(v) == 3 for v in p.values())
    # The issues' bars (evals/results/toy/summary.json: agent 0.955, concat 0.679 at turn 3).
    assert p["agent"][2] >= p["concat"][2] + 0.10, p
    assert p["agent"][2] >= 0.85, p
    assert all(a >= b for a, b in zip(p["agent"], p["last"])), p
    shutil.rmtree(gallery, ignore_errors=True)


def _caption_from_truth(gallery, store) -> None:
    """Give every image its exact toy caption as the document, as a captioned index would have."""
    truth = {
        json.loads(x)["file"]: json.loads(x)["caption"] for x in (gallery / "scenes.jsonl").read_text().splitlines()
    }
    store.update_captions([replace(r, caption=truth[r.meta.path]) for r in store.iter_metadata()])


def test_target_protocol_with_the_toy_user(toy_index, toy_embedder, tmp_path):
    from picseek.agent.agent import Agent
    from picseek.evals.target import load_targets, run_target, save_targets, toy_targets
    from picseek.evals.toy.user import ToyUser
    from picseek.tools.retrieve import Searcher

    gallery, store, _ = toy_index
    _caption_from_truth(gallery, store)
    targets = toy_targets(gallery, 6, seed=3)
    save_targets(targets, tmp_path / "t.jsonl")
    assert [t.id for t in load_targets(tmp_path / "t.jsonl")] == [t.id for t in targets]
    assert all(len(t.description.split()) <= 6 for t in targets)  # the first description names one object
    s = Searcher(store, toy_embedder)
    systems = {name: Agent(s, ask=name == "agent", keep_duplicates=True) for name in ("agent", "volunteer", "describe")}
    summary = run_target(targets, systems, ToyUser(gallery), tmp_path / "out", rounds=3, progress=False)
    for name in ("summary.json", "report.md", "hits_by_round.png", "results.jsonl"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    rows = [json.loads(x) for x in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    agent_rows = [r for r in rows if r["system"] == "agent"]
    assert sum(r["asked"] for r in agent_rows) > 0 and all(len(r["ranks"]) == 4 for r in rows)
    assert all(len(set(r["ranks"])) == 1 for r in rows if r["system"] == "describe")
    for v in summary["systems"].values():  # cumulative hits never go down
        hits = [r["Hits@10"] for r in v["rounds"]]
        assert hits == sorted(hits)
    # every answer the agent got was about its own question, in plain words
    for r in agent_rows:
        for t in r["turns"]:
            assert t["user"] and "{" not in t["user"]


@pytest.mark.unit
def test_toy_user_answers_truthfully():
    from picseek.agent.state import Question
    from picseek.evals.target import Target
    from picseek.evals.toy.user import ToyUser
    from picseek.ui.demo import world

    scene = world.Scene(
        "x.jpg",
        "night",
        "grass",
        (world.Thing("car", "red", "small", "left"), world.Thing("tree", "green", "large", "right")),
    )
    user = ToyUser.from_scenes([scene])
    t = Target("t", "x.jpg", "a car")
    user.start(t)
    colour = Question(kind="attribute", slot="color", noun="car", options=["red", "blue"])
    assert "red" in user.answer(t, colour)
    assert "red" in user.answer(t, colour.model_copy(update={"options": ["blue", "white"]}))  # none true: it says so
    assert (
        user.answer(t, Question(kind="setting", slot="time", options=["at night", "during the day"])).find("night") >= 0
    )
    assert user.answer(t, Question(kind="presence", noun="boat", options=["yes", "no"])).startswith("n")
    assert user.answer(t, Question(kind="presence", options=["a tree", "a boat"])) == "a tree"  # one fact: the thing
    assert user.answer(t, Question(kind="presence", options=["a ball", "a boat"])) in (
        "nothing else",
        "no",
        "none of these",
    )
    assert user.answer(t, Question(kind="setting", slot="weather", options=["sunny", "rainy"])) in (
        "i don't know",
        "not sure",
        "no idea",
        "i can't tell",
    )
    facts = user.facts + [user.volunteer(t)]
    assert any("night" in f for f in facts if f)


def test_llm_user_answers_from_the_reference_captions():
    from picseek.agent.state import Question
    from picseek.evals.target import Target
    from picseek.evals.users import LLMUser

    from tests.fake_llm import FakeLLM

    fake = FakeLLM()
    try:
        fake.reply("red").reply("there is a tree")
        user = LLMUser(model="fake", base_url=fake.url, api_key="x")
        t = Target("t", "x.jpg", "a car", ["a red car next to a tree at night"])
        user.start(t)
        assert (
            user.answer(
                t, Question(kind="attribute", slot="color", noun="car", options=["red", "blue"], text="Which car?")
            )
            == "red"
        )
        assert user.volunteer(t) == "there is a tree"
        sent = json.dumps(fake.requests[0])
        assert "a red car next to a tree at night" in sent and "Which car?" in sent and "red, blue" in sent
        with pytest.raises(ValueError, match="reference captions"):
            user.answer(Target("u", "y.jpg", "a car"), Question(kind="presence", noun="tree"))
    finally:
        fake.close()
