"""The LLM planner against a scripted OpenAI-compatible server, through the real openai + LangChain clients."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from picseek.agent.agent import Agent
from picseek.agent.llm import LLMPlanner
from picseek.agent.session import Session
from picseek.tools.retrieve import Searcher

from tests.fake_llm import FakeLLM


@pytest.fixture
def fake():
    f = FakeLLM()
    yield f
    f.close()


@pytest.fixture
def searcher(toy_index, toy_embedder):
    _, store, _ = toy_index
    return Searcher(store, toy_embedder)


def agent(fake, searcher, **kw):
    kw = {"timeout": 5, "max_retries": 0, **kw}
    return Agent(searcher, planner=LLMPlanner(model="fake", base_url=fake.url, api_key="x", **kw))


def tool_messages(req: dict) -> list[dict]:
    return [m for m in req["messages"] if m["role"] == "tool"]


RED_CAR_AT_NIGHT = {
    "subjects": [{"noun": "car", "color": "red"}, {"noun": "boat", "excluded": True}],
    "setting": {"time": "night"},
}


def test_tool_call_then_grounded_reply(fake, searcher):
    fake.call("search_images", RED_CAR_AT_NIGHT)
    fake.reply("Here are red cars at night.")
    r = agent(fake, searcher).turn(Session(), "red cars at night, no boats")
    assert r.planner == "llm" and r.query.text == "a red car at night" and r.query.negatives == ["boat"]
    assert len(r.hits) == 10 and "Found 10 images" in r.reply and "red car, at night, no boat" in r.reply
    assert len(fake.requests) == 2
    tools = {t["function"]["name"]: t["function"] for t in fake.requests[0]["tools"]}
    assert set(tools) == {"search_images", "caption_images", "image_details", "look_at_candidates", "ask_user"}
    # the LLM fills the same typed state the offline tracker builds: its schema is generated from SearchState
    params = tools["search_images"]["parameters"]
    assert {"subjects", "setting", "negatives", "filters", "like", "unlike"} <= set(params["properties"])
    assert r.session.state.required[0].color == "red" and r.session.state.setting.time == "night"
    (answer,) = tool_messages(fake.requests[1])
    assert answer["tool_call_id"] == "call_1" and answer["content"].startswith("<<<TOOL_DATA")
    assert r.session.query.text == "a red car at night" and len(r.session.results) == 10


def test_rate_limit_is_retried(fake, searcher):
    fake.error(429).call("search_images", {"subjects": [{"noun": "boat"}]}).reply("Boats.")
    r = agent(fake, searcher, max_retries=1).turn(Session(), "boats")
    assert r.planner == "llm" and r.query.text == "a boat" and len(fake.requests) == 3


@pytest.mark.parametrize("fault", ["500", "timeout", "429-forever"])
def test_unreachable_llm_falls_back_to_offline(fake, searcher, fault):
    if fault == "500":
        fake.default = ("error", 500)
    elif fault == "429-forever":
        fake.default = ("error", 429)
    else:
        fake.slow(3)
    r = agent(fake, searcher, timeout=1).turn(Session(), "a boat")
    assert r.planner == "offline" and r.hits and "offline planner answered" in r.reply
    assert "Traceback" not in r.reply


def test_malformed_arguments_get_an_answer_and_a_retry(fake, searcher):
    fake.call("search_images", "{not json", call_id="bad_1")
    fake.call("search_images", {"subjects": [{"noun": "house"}]}, call_id="good_2").reply("Houses.")
    r = agent(fake, searcher).turn(Session(), "houses")
    assert r.planner == "llm" and r.query.text == "a house"
    answers = tool_messages(fake.requests[1])
    assert [a["tool_call_id"] for a in answers] == ["bad_1"] and "not valid JSON" in answers[0]["content"]
    # every tool call id in the final transcript has exactly one answer: nothing dangling
    final = fake.requests[-1]["messages"]
    asked = [c["id"] for m in final if m["role"] == "assistant" for c in (m.get("tool_calls") or [])]
    answered = [m["tool_call_id"] for m in final if m["role"] == "tool"]
    assert sorted(asked) == sorted(answered)


def test_unknown_tool_and_absurd_k(fake, searcher):
    fake.call("delete_all_images", {}, call_id="x1")
    fake.call("search_images", {"subjects": [{"noun": "tree"}], "k": 100000}, call_id="x2").reply("Trees.")
    r = agent(fake, searcher).turn(Session(), "trees")
    assert "unknown tool" in tool_messages(fake.requests[1])[0]["content"]
    assert len(r.hits) == 50 and "asked for 100000 results" in r.reply


def test_steps_are_bounded(fake, searcher):
    fake.default = (
        "json",
        json.loads(
            json.dumps(
                __import__("tests.fake_llm", fromlist=["completion"]).completion(
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "loop",
                                "type": "function",
                                "function": {
                                    "name": "search_images",
                                    "arguments": json.dumps({"subjects": [{"noun": "ball"}]}),
                                },
                            }
                        ],
                    },
                    "tool_calls",
                )
            )
        ),
    )
    r = agent(fake, searcher, max_steps=3).turn(Session(), "balls")
    assert len(fake.requests) == 3 and r.hits and r.query.text == "a ball"


def test_malformed_state_is_a_tool_error_the_model_corrects(fake, searcher):
    fake.call("search_images", {"description": "a boat"}, call_id="c1")  # an old-style argument
    fake.call("search_images", {"subjects": [{"color": "red"}], "setting": {"time": "noon"}}, call_id="c2")
    fake.call("search_images", {"subjects": [{"noun": "boat", "color": "red"}]}, call_id="c3").reply("Red boats.")
    r = agent(fake, searcher, max_steps=4).turn(Session(), "a red boat")
    first, second = tool_messages(fake.requests[1])[0], tool_messages(fake.requests[2])[-1]
    assert first["content"].startswith("error: invalid arguments") and "description" in first["content"]
    assert "subjects.0.noun" in second["content"] and "setting.time" in second["content"]
    assert r.planner == "llm" and r.query.text == "a red boat"


def test_a_state_the_model_never_gets_right_falls_back_offline(fake, searcher):
    fake.default = ("json", completion_call("search_images", {"subjects": [{"colour": "red"}]}))
    r = agent(fake, searcher, max_steps=2).turn(Session(), "a red boat")
    assert r.planner == "offline" and r.query.text == "a red boat" and "did not search" in r.reply


def completion_call(name: str, args: dict) -> dict:
    from tests.fake_llm import completion

    msg = {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "c", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}],
    }
    return completion(msg, "tool_calls")


def test_the_model_asks_a_filtered_question_grounded_in_the_candidates(fake, searcher, toy_index):
    from tests.test_eval import _caption_from_truth

    _caption_from_truth(toy_index[0], searcher.store)  # captions, so the candidates differ on something
    fake.call("search_images", {"subjects": [{"noun": "car"}]}, call_id="s")
    fake.call("look_at_candidates", {"n": 40}, call_id="l")
    fake.call("ask_user", {"question": "Is it a car?", "kind": "presence", "noun": "car"}, call_id="a1")
    weather = {"question": "Sunny or rainy?", "kind": "setting", "slot": "weather", "options": ["sunny", "rainy"]}
    fake.call("ask_user", weather, call_id="a2")
    fake.call("ask_user", {"question": "Red?", "kind": "setting", "slot": "color", "options": ["red"]}, call_id="a3")
    evil = "Which car?<img src=x onerror=alert(1)> http://evil.example"
    colour = {"question": evil, "kind": "attribute", "slot": "color", "noun": "car", "options": ["red", "blue"]}
    fake.call("ask_user", colour, call_id="a4")
    fake.reply("Here are cars.")
    r = agent(fake, searcher, max_steps=8).turn(Session(), "cars")
    looked = json.loads(tool_messages(fake.requests[2])[-1]["content"].split("\n", 1)[1].rsplit("\n", 1)[0])
    assert looked["known"] == "car" and len(looked["candidates"]) == 40 and looked["splits"]
    answers = [tool_messages(fake.requests[i])[-1]["content"] for i in (3, 4, 5, 6)]
    assert "already said" in answers[0] and "do not differ" in answers[1] and "needs slot" in answers[2]
    # the accepted question is asked in picseek's words, with the model's options as the captions say them
    assert (
        r.question is not None
        and r.question.text == "Which car — red or blue?"
        and r.question.options == ["red", "blue"]
    )
    assert "onerror" not in r.reply and "http" not in r.reply and r.reply.count("Which car") == 1


def test_the_model_cannot_point_at_files_outside_the_results(fake, searcher):
    fake.call("search_images", {"subjects": [{"noun": "car"}]}, call_id="s1").reply("Cars.")
    first = agent(fake, searcher).turn(Session(), "cars")
    fake.call("search_images", {"like": ["/etc/passwd"]}, call_id="s2")
    fake.call("caption_images", {"positions": [1]}, call_id="c")
    fake.call("search_images", {"like": [2]}, call_id="s3").reply("Like #2.")
    r = agent(fake, searcher).turn(first.session, "more like the second")
    refused = tool_messages(fake.requests[-3])[-1]["content"]
    assert "not a shown result" in refused and "passwd" not in r.reply
    assert r.query.like == [first.hits[1].id]  # captioning before a search did not wipe the shown results


def test_failed_turn_leaves_session_unchanged(fake, searcher):
    fake.default = ("error", 500)
    s = Session()
    r = agent(fake, searcher).turn(s, "more like #7")
    assert "no result #7" in r.reply and r.session.query is None and r.session.results == []
    assert [m.role for m in r.session.messages] == ["user", "assistant"]


def test_llm_that_answers_without_searching_falls_back(fake, searcher):
    fake.call("search_images", {"subjects": [{"noun": "boat", "plural": True}]}).reply("Boats.")
    first = agent(fake, searcher).turn(Session(), "boats")
    fake.reply("Sure, here you go!").reply("Here they are.")  # no tool call, even when asked again
    r = agent(fake, searcher).turn(first.session, "only white ones")
    assert "Call search_images now" in fake.requests[-1]["messages"][-1]["content"]  # asked once more, then not
    assert r.planner_fallback == "the model did not call search_images"
    assert r.planner == "offline" and "did not search" in r.reply and r.query.text == "white boats" and r.hits
    assert "Sure, here you go" not in r.reply


def test_langchain_tools_take_the_agents_path(searcher):
    from picseek.agent.tools import langchain_tools

    search, caption = langchain_tools(searcher)
    out = search.invoke({"subjects": [{"noun": "car", "color": "red"}], "setting": {"time": "night"}, "k": 5})
    assert out["text"] == "a red car at night" and out["count"] == 5 and out["results"][0]["position"] == 1
    big = search.invoke({"subjects": [{"noun": "car"}], "k": 1000})
    assert big["count"] == 50  # bounded exactly as the agent's own calls are
    assert "nothing to search for" in search.invoke({"subjects": []})  # a tool error is an answer, not a crash
    assert "no captioner" in caption.invoke({"positions": [1]})


# -- issue 23: the loop with the servers people run, and what leaves the machine ----------------------------------


def test_first_call_forces_the_search_and_earlier_turns_go_back_as_the_state(fake, searcher):
    fake.call("search_images", {"subjects": [{"noun": "car", "plural": True}]}, call_id="s1").reply("Cars.")
    first = agent(fake, searcher).turn(Session(), "cars")
    fake.requests.clear()
    fake.call("search_images", {"subjects": [{"noun": "car", "color": "red", "plural": True}]}, call_id="s2")
    fake.reply("Red cars.")
    r = agent(fake, searcher).turn(first.session, "only red ones")
    assert r.planner == "llm" and r.query.text == "red cars"
    forced, after = fake.requests
    assert forced["tool_choice"] == {"type": "function", "function": {"name": "search_images"}}
    assert "tool_choice" not in after  # once the search ran, the model chooses
    # no invented assistant message: the earlier turn is the state, the results and the user's own words
    assert [m["role"] for m in forced["messages"]] == ["system", "user"]
    said = forced["messages"][1]["content"]
    assert "- cars" in said and '"current_search_state"' in said and "(searched)" not in json.dumps(forced)


def test_a_server_that_refuses_tool_choice_is_asked_without_it(fake, searcher):
    fake.error(400).call("search_images", {"subjects": [{"noun": "boat"}]}).reply("Boats.")
    llm = LLMPlanner(model="fake", base_url=fake.url, api_key="x", timeout=5, max_retries=0)
    r = Agent(searcher, planner=llm).turn(Session(), "boats")
    assert r.planner == "llm" and r.query.text == "a boat" and r.planner_fallback is None
    assert "tool_choice" in fake.requests[0] and all("tool_choice" not in q for q in fake.requests[1:])
    assert llm.tool_choice is False  # remembered for the session: no second refused request per turn


def test_undo_works_with_the_llm_planner(fake, searcher):
    fake.call("search_images", {"subjects": [{"noun": "boat", "plural": True}]}).reply("Boats.")
    a = agent(fake, searcher)
    one = a.turn(Session(), "boats")
    fake.call("search_images", {"subjects": [{"noun": "boat", "color": "red", "plural": True}]}).reply("Red.")
    two = a.turn(one.session, "red ones")
    sent = len(fake.requests)
    back = a.turn(two.session, "undo")
    assert len(fake.requests) == sent  # undo is the loop's own: the model is not asked
    assert back.planner == "llm" and back.query.text == "boats" and back.hits and back.planner_fallback is None


@pytest.mark.parametrize(
    ("fault", "reason"),
    [("500", "the endpoint answered 500"), ("timeout", "the endpoint did not answer within 1 s")],
)
def test_a_fallback_says_why_in_the_reply_and_the_json(fake, searcher, fault, reason):
    if fault == "500":
        fake.default = ("error", 500)
    else:
        fake.slow(3)
    r = agent(fake, searcher, timeout=1).turn(Session(), "a boat")
    out = r.to_json()
    assert out["planner"] == "offline" and out["planner_fallback"] == reason and r.hits
    assert f"could not be used ({reason})" in r.reply


def test_a_base_url_without_a_model_asks_the_server(monkeypatch):
    from picseek.agent.errors import LLMModelUnknown

    monkeypatch.delenv("PICSEEK_LLM_MODEL", raising=False)
    for models, expect in ((["qwen2.5:7b"], "qwen2.5:7b"), (["a", "b"], "several models (a, b)"), ([], "no models")):
        f = FakeLLM(models=models)
        try:
            if len(models) == 1:
                assert LLMPlanner(base_url=f.url, api_key="x").model == expect
            else:
                with pytest.raises(LLMModelUnknown, match=re.escape(expect)):
                    LLMPlanner(base_url=f.url, api_key="x")
            assert f.models_asked == 1 and f.requests == []
        finally:
            f.close()


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ({"subjects": [{"noun": "boat", "colour": "red"}]}, "subjects.0.colour"),
        ({"subjects": [{"noun": "boat"}], "setting": {"time_of_day": "night"}}, "setting.time_of_day"),
        ({"subjects": [{"noun": "boat"}], "filters": {"date": "2019"}}, "filters.date"),
    ],
)
def test_a_wrong_nested_key_is_a_tool_error_the_model_corrects(fake, searcher, args, named):
    fake.call("search_images", args, call_id="bad").call("search_images", {"subjects": [{"noun": "boat"}]}, "ok")
    fake.reply("Boats.")
    a = agent(fake, searcher)
    r = a.turn(Session(), "a boat")
    error = tool_messages(fake.requests[1])[0]["content"]
    assert error.startswith("error: invalid arguments") and named in error and "Extra inputs are not permitted" in error
    assert r.planner == "llm" and r.query.text == "a boat"
    assert a.planner.stats == {"tool_errors": 1, "corrected": 1, "text_calls": 0, "nudges": 0}


def test_tool_schemas_are_closed_inlined_strict_and_small():
    from openai.lib._pydantic import _ensure_strict_json_schema
    from picseek.agent.tools import TOOL_SCHEMAS, openai_tools

    def objects(schema):
        if isinstance(schema, dict):
            if schema.get("type") == "object":
                yield schema
            for v in schema.values():
                yield from objects(v)
        elif isinstance(schema, list):
            for v in schema:
                yield from objects(v)

    sizes = {}
    for strict in (True, False):
        for tool in openai_tools(strict=strict):
            fn, params = tool["function"], tool["function"]["parameters"]
            text = json.dumps(params)
            assert "$ref" not in text and "$defs" not in text and fn.get("strict", False) is strict
            # an anyOf is only ever "this object or null" (a filter left out)
            assert all(len(x["anyOf"]) == 2 and {"type": "null"} in x["anyOf"] for x in _with(params, "anyOf"))
            assert all(o.get("additionalProperties") is False for o in objects(params))  # closed at every level
            if strict:  # OpenAI's own strict-mode helper finds nothing to change: every property required
                assert _ensure_strict_json_schema(json.loads(text), path=(), root=json.loads(text)) == params
            sizes[(fn["name"], strict)] = len(json.dumps(tool, separators=(",", ":")))
    # and what the schema says is what is checked: the models refuse unknown keys at every level
    assert all(m.model_config.get("extra") == "forbid" for m in TOOL_SCHEMAS.values())
    lax = sum(n for (_, strict), n in sizes.items() if not strict)
    print("schema characters per tool (compact JSON):", sizes, "all, as sent to servers without strict mode:", lax)
    # ~9,000 characters when the schemas were written by hand; fields added to the state since cost ~550
    assert lax <= 4200 and sum(n for (_, strict), n in sizes.items() if strict) <= 4700


def _with(schema, key: str) -> list[dict]:
    """Every sub-schema that has `key`."""
    if isinstance(schema, list):
        return [x for v in schema for x in _with(v, key)]
    if not isinstance(schema, dict):
        return []
    return ([schema] if key in schema else []) + [x for v in schema.values() for x in _with(v, key)]


def test_only_a_key_and_a_base_url_send_nothing(toy_index, tmp_path):
    """Done-when of issue 23: with only OPENAI_API_KEY and OPENAI_BASE_URL set, `ask` sends the server nothing."""
    gallery, _, _ = toy_index
    f = FakeLLM()
    try:
        env = {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": f.url}
        p = run_cli("ask", "--dir", str(gallery), "--model", "toy", "--json", "a red car", env=env)
        assert json.loads(p.stdout)[0]["planner"] == "offline" and "planner: offline" in p.stderr
        assert f.requests == [] and f.models_asked == 0
    finally:
        f.close()


@pytest.mark.parametrize("share", [False, True])
def test_a_remote_endpoint_gets_no_path_and_no_coordinate(toy_index, share):
    """Done-when of issue 23: with --llm-model and a remote endpoint, what the server captures holds no absolute
    path, no GPS coordinate and no camera; --llm-share-metadata lets them through (so the check can fail)."""
    from tests.conftest import open_toy_store
    from tests.fake_llm import lan_address

    if lan_address() is None:
        pytest.skip("no network address besides loopback to serve a 'remote' endpoint on")
    gallery, _, _ = toy_index
    store = open_toy_store(gallery, create=False)
    ids = store.col.get(include=[])["ids"]
    secret = {"gps_lat": 48.858370, "gps_lon": 2.294481, "camera_make": "SecretCam", "camera_model": "SN-77123"}
    store.col.update(ids=ids, metadatas=[secret] * len(ids))
    f = FakeLLM(host=lan_address())
    try:
        f.call("search_images", {"subjects": [{"noun": "car", "color": "red"}]}, call_id="s")
        f.call("image_details", {"position": 1}, call_id="d").reply("A red car.")
        args = ["ask", "--dir", str(gallery), "--model", "toy", "--json", "--llm-model", "m", "--llm-base-url", f.url]
        p = run_cli(*args, *(["--llm-share-metadata"] if share else []), "a red car", env={})
        out = json.loads(p.stdout)[0]
        assert out["planner"] == "llm" and out["planner_fallback"] is None, out["reply"]
        assert "planner: llm (m at http://" in p.stderr and ("remote" in p.stderr)
        sent = json.dumps(f.requests)
        leaks = [x for x in (str(gallery), "48.858", "2.2944", "SecretCam", "SN-77123") if x in sent]
        assert len(f.requests) == 3 and "scene_" in sent  # base names and captions do go
        assert leaks == ([str(gallery), "48.858", "2.2944", "SecretCam", "SN-77123"] if share else []), leaks
    finally:
        f.close()


def run_cli(*args, env: dict) -> subprocess.CompletedProcess:
    """The real command in a subprocess, with only the variables given among the LLM ones."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "PICSEEK_LLM"))}
    base["PYTHONPATH"] = os.pathsep.join(sys.path)
    cmd = [sys.executable, "-m", "picseek.ui.cli", *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env={**base, **env})
    assert p.returncode == 0, p.stderr
    return p


def test_the_session_says_once_which_planner_it_uses(monkeypatch, capsys):
    from picseek.ui.options import AgentArgs
    from picseek.ui.wiring import make_planner

    for name in ("PICSEEK_LLM_MODEL", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    f = FakeLLM(models=["llama3.2:3b"])
    try:
        monkeypatch.setenv("OPENAI_BASE_URL", f.url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
        assert make_planner(AgentArgs()).name == "offline"  # the connection alone chooses nothing
        assert capsys.readouterr().err == "planner: offline (nothing leaves this machine)\n"
        p = make_planner(AgentArgs(planner="llm", llm_timeout=7, llm_retries=0))  # asked for by name
        assert (p.name, p.model, p.timeout, p.max_retries, p.share_metadata) == ("llm", "llama3.2:3b", 7, 0, True)
        assert capsys.readouterr().err.startswith(f"planner: llm (llama3.2:3b at {f.url}; on this machine")
        monkeypatch.setenv("PICSEEK_LLM_MODEL", "m")
        assert make_planner(AgentArgs(offline=True)).name == "offline"
        assert make_planner(AgentArgs()).model == "m" and f.requests == []
    finally:
        f.close()
