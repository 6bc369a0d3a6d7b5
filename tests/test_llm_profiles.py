"""One scripted three-turn dialogue against servers that behave like the ones people run (tests/fake_llm.py
PROFILES): each turn is planned by the model or falls back to the offline planner with its reason, and no turn
loses the results it shows. A wrong nested key comes back as a tool error the model corrects.

`PICSEEK_PROFILES_OUT=evals/results/llm-profiles.json pytest tests/test_llm_profiles.py` also writes, per profile,
the turns the model completed, the fallbacks and their reasons, and the tool-call errors it corrected.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path

import pytest
from picseek.agent.agent import Agent
from picseek.agent.llm import LLMPlanner
from picseek.agent.session import Session
from picseek.tools.retrieve import Searcher

from tests.fake_llm import PROFILES, FakeLLM

RED_CARS = {"subjects": [{"noun": "car", "color": "red", "plural": True}]}
NIGHT = {**RED_CARS, "setting": {"time": "night"}}
WRONG_KEY = {"subjects": [{"noun": "car", "colour": "red", "plural": True}], "setting": {"time": "night"}}
TURNS = ("red cars", "at night", "more like #2")
REPORT: dict[str, dict] = {}


def script(fake: FakeLLM, turn: int) -> None:
    """What the model does in each turn, the same for every profile (each renders it its own way)."""
    fake.script.clear()  # what a turn that ended early did not use
    if turn == 0:
        if fake.profile == "openai":  # parallel tool calls: a search and a look at the candidates at once
            fake.calls(("search_images", RED_CARS, "s1"), ("look_at_candidates", {"n": 10}, "l1"))
        else:
            if fake.profile == "ollama":  # tool_choice ignored: the model talks before it searches
                fake.reply("Sure, I can look for red cars.")
            fake.call("search_images", RED_CARS, "s1")
        fake.reply("Here are red cars.")
    elif turn == 1:  # a wrong nested key first: the tool error names it, and the model sends it again corrected
        fake.call("search_images", WRONG_KEY, "s2").call("search_images", NIGHT, "s3").reply("Red cars at night.")
    else:
        fake.call("search_images", {**NIGHT, "like": [2]}, "s4").call("look_at_candidates", {"n": 10}, "l2")
        fake.reply("More like the second one.")


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    out = os.environ.get("PICSEEK_PROFILES_OUT")
    if out and REPORT:
        cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        name = next((x.split(":", 1)[1].strip() for x in cpu.splitlines() if x.startswith("Model name")), "?")
        meta = {
            "what": "tests/test_llm_profiles.py: three turns per server profile (tests/fake_llm.py), toy index",
            "cpu": name,
            "python": platform.python_version(),
            "turns": list(TURNS),
            "command": "PICSEEK_PROFILES_OUT=evals/results/llm-profiles.json pytest tests/test_llm_profiles.py",
            "note": "counts, not timings: they do not depend on the machine's load (it was shared when measured)",
        }
        Path(out).write_text(json.dumps({"meta": meta, "profiles": REPORT}, indent=2) + "\n")


@pytest.mark.parametrize("profile", PROFILES)
def test_a_dialogue_with_each_server(profile, toy_index, toy_embedder):
    _, store, _ = toy_index
    fake = FakeLLM(profile)
    try:
        planner = LLMPlanner(
            model="fake", base_url=fake.url, api_key="x", timeout=1, max_retries=0, max_steps=5,
            strict=profile == "openai",
        )  # fmt: skip
        agent = Agent(Searcher(store, toy_embedder), planner=planner)
        session, results = Session(), []
        for i, message in enumerate(TURNS):
            script(fake, i)
            r = agent.turn(session, message)
            assert not r.failed and r.hits, (profile, message, r.reply)
            # the shown results are the session's: a fallback or a failed step lost none of them
            assert [x.id for x in r.session.results] == [h.id for h in r.hits]
            session = r.session
            results.append(r)
    finally:
        fake.close()

    fallbacks = [r.planner_fallback for r in results if r.planner_fallback]
    REPORT[profile] = {
        "turns": len(results),
        "turns_planned_by_llm": sum(r.planner == "llm" for r in results),
        "fallbacks": len(fallbacks),
        "fallback_reasons": sorted(set(fallbacks)),
        "tool_errors": planner.stats["tool_errors"],
        "tool_errors_corrected": planner.stats["corrected"],
        "tool_calls_read_from_text": planner.stats["text_calls"],
        "asked_again_to_search": planner.stats["nudges"],
        "requests": len(fake.requests),
        "results_shown_every_turn": all(r.hits for r in results),
    }
    final = results[-1]
    assert final.session.state.setting.time == "night" and final.session.state.required[0].noun == "car"
    assert len(final.session.state.like) == 1  # "more like #2" became a reference image
    if profile == "timeout":
        assert fallbacks == ["the endpoint did not answer within 1 s"] * 3
        assert all("offline planner answered" in r.reply for r in results)
        assert all(r.to_json()["planner_fallback"] == fallbacks[0] for r in results)
        return
    assert [r.planner for r in results] == ["llm"] * 3 and not fallbacks, [r.reply for r in results]
    # the wrong nested key was named in the error, and the next call corrected it
    errors = [a for a in fake.tool_answers() if "error" in a[:40]]
    assert any("subjects.0.colour" in e and "Extra inputs are not permitted" in e for e in errors), errors
    assert planner.stats["corrected"] >= 1
    first = fake.requests[0]
    assert first["tool_choice"] == {"type": "function", "function": {"name": "search_images"}}
    assert all(m["role"] in ("system", "user") for m in first["messages"])  # no invented assistant turn
    if profile == "openai":
        assert all(t["function"].get("strict") is True for t in first["tools"])
    else:
        assert all("strict" not in t["function"] for t in first["tools"])
    assert planner.stats["nudges"] == (1 if profile == "ollama" else 0)
    if profile == "llamacpp":
        assert planner.stats["text_calls"] >= 4
    if profile == "vllm":  # never asked for "auto", which a server without a tool parser refuses
        assert all(req.get("tool_choice") != "auto" for req in fake.requests)


@pytest.mark.unit
def test_a_call_quoted_inside_prose_never_runs_a_tool():
    """A message that is a tool call runs it (llama.cpp writes calls as text); the same JSON quoted in prose, e.g.
    from a caption or image text the model repeats, is data."""
    from picseek.agent.llm import calls_in_text

    call = '{"name": "search_images", "arguments": {"description": "a red boat"}}'
    want = [{"name": "search_images", "args": {"description": "a red boat"}}]
    assert calls_in_text(call) == want
    assert calls_in_text(f"<tool_call>\n{call}\n</tool_call>") == want
    assert calls_in_text(f"```json\n{call}\n```") == want
    assert calls_in_text(f"The caption of #2 reads {call}, which is odd.") == []
    assert calls_in_text(f"Found it. <tool_call>{call}</tool_call>") == []
    assert calls_in_text('{"name": "rm_rf", "arguments": {}}') == []
