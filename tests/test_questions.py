"""The question step: grounded in the candidates' captions, never about what is known, answered as a turn."""

from __future__ import annotations

import json

import pytest
from picseek.agent.english.tracker import Tracker
from picseek.agent.questions import Questioner, key
from picseek.agent.session import Session
from picseek.agent.state import Question, SearchState, Subject
from picseek.tools.retrieve import Hit

from tests.conftest import image_meta

CAPTIONS = [
    "a red car on grass at night",
    "a white car on water during the day",
    "an orange car and a tree at sunset",
    "a red car and a boat at night",
    "a white car on grass during the day",
    "an orange car on water at night",
    "a red car at sunset",
    "a white car and a ball during the day",
]


def hits(captions: list[str], scores: list[float] | None = None) -> list[Hit]:
    scores = scores or [0.6 - 0.001 * i for i in range(len(captions))]
    return [
        Hit(id=f"id{i}", path=f"/g/{i}.jpg", rank=i + 1, score=s, caption=c, metadata=image_meta(f"{i}.jpg"))
        for i, (c, s) in enumerate(zip(captions, scores))
    ]


def session(*subjects: Subject, time=None) -> Session:
    s = Session(state=SearchState(subjects=list(subjects)))
    s.state.setting.time = time
    return s


@pytest.mark.unit
def test_asks_what_splits_the_candidates_with_options_from_their_captions():
    q = Questioner().ask(session(Subject(noun="car", plural=True)), hits(CAPTIONS))
    assert q is not None and q.kind == "attribute" and q.noun == "car" and q.slot == "color"
    assert q.text == "Which car — red, white or orange?" and set(q.options) == {"red", "white", "orange"}
    words = " ".join(CAPTIONS)
    assert all(o in words for o in q.options)


@pytest.mark.unit
def test_never_asks_what_the_user_already_said_or_was_asked():
    s = session(Subject(noun="car", color="red"), time="night")
    asked = [c.question for c in Questioner().candidates(s.state, hits(CAPTIONS))]
    assert not any(q.slot == "color" and q.noun == "car" for q in asked)
    assert not any(q.slot == "time" for q in asked)
    assert not any(q.kind == "presence" and q.noun == "car" for q in asked)
    first = Questioner().ask(s, hits(CAPTIONS))
    assert first is not None
    s.asked_before.append(key(first))
    second = Questioner().ask(s, hits(CAPTIONS))
    assert second is not None and key(second) != key(first)


@pytest.mark.unit
def test_what_else_is_worth_the_combinations_the_user_can_name():
    """'What else — a tree, a boat or a ball?' is answered with every one in the picture, so candidates that
    differ in which of them they show are told apart: four equally likely combinations would be two bits, where
    counting the things one by one would make it less; the answer 'nothing else' (a quarter of them) names
    nothing the search can look for and counts as telling nothing: 1.5 bits."""
    import math

    combos = ["a car and a tree", "a car and a boat", "a car, a tree and a boat", "a car"]
    found = Questioner().candidates(session(Subject(noun="car")).state, hits(combos * 4, [0.5] * 16))
    what_else = next(c for c in found if c.question.kind == "presence" and not c.question.noun)
    assert set(what_else.question.options) == {"a tree", "a boat"}
    assert math.isclose(what_else.bits, 1.5, abs_tol=1e-6)
    assert what_else.bits > max(c.bits for c in found if c.question.noun)  # more than "is there a tree?"


@pytest.mark.unit
def test_a_question_whose_answers_all_name_something_comes_before_one_answered_by_a_denial():
    """Two ways of splitting the candidates in halves and quarters; the one whose likeliest answer is 'nothing
    else' tells the search less (it can only push things down) than the colour, which the user always names."""
    caps = ["a red car", "a red car", "a white car and a tree", "an orange car and a boat"] * 4
    found = Questioner().candidates(session(Subject(noun="car")).state, hits(caps, [0.5] * 16))
    colour = next(c for c in found if c.question.slot == "color")
    what_else = next(c for c in found if c.question.kind == "presence" and not c.question.noun)
    assert colour.bits > what_else.bits
    assert found[0].question.slot == "color"


@pytest.mark.unit
def test_a_homogeneous_result_set_gets_no_question():
    same = ["a red car on grass at night"] * 8
    assert Questioner().ask(session(Subject(noun="car")), hits(same)) is None
    assert Questioner().ask(session(Subject(noun="car")), hits([None] * 8)) is None  # no captions, nothing to ask


@pytest.mark.unit
def test_a_proposed_question_is_checked_like_our_own():
    s, h, qr = session(Subject(noun="car")), hits(CAPTIONS), Questioner()
    colour = Question(kind="attribute", slot="color", noun="car", options=["red", "white"], text="<b>Which</b>?")
    problem, grounded = qr.check(s, colour, h)
    # accepted, in our own words with the proposed options as the captions say them
    assert problem is None and grounded.text == "Which car — red or white?" and grounded.options == ["red", "white"]
    s.asked_before.append(key(colour))
    assert "asked before" in qr.check(s, colour, h)[0]
    known = Question(kind="presence", noun="car", options=["yes", "no"])
    assert "already said" in qr.check(s, known, h)[0]
    weather = Question(kind="setting", slot="weather", options=["sunny", "rainy"])
    assert "do not differ" in qr.check(s, weather, h)[0]
    stray = Question(kind="setting", slot="time", options=["at night", "in winter"])
    assert "come from the candidates" in qr.check(s, stray, h)[0]


@pytest.mark.unit
def test_options_taken_from_captions_are_safe_to_show():
    evil = [
        "a \x1b[31mboat on water",
        "a boat next to http://evil.example/x on grass",
        "a boat <script>alert(1)</script> at night",
    ] + ["a boat on sand during the day"] * 3
    for c in Questioner().candidates(SearchState(subjects=[Subject(noun="boat")]), hits(evil)):
        for text in [c.question.text, *c.question.options]:
            assert "\x1b" not in text and "http" not in text and "<" not in text, text


def answer(state: SearchState, asked: Question, text: str) -> SearchState:
    return Tracker().update(state, text, asked=asked).state


@pytest.mark.unit
@pytest.mark.parametrize("reply", ["white", "the white one", "it's white", "none of these, it's white", "2"])
def test_an_answer_by_option_or_words_sets_the_attribute(reply):
    asked = Question(kind="attribute", slot="color", noun="car", options=["red", "white", "orange"], text="Which car?")
    st = answer(SearchState(subjects=[Subject(noun="car", plural=True)]), asked, reply)
    assert [(s.noun, s.color) for s in st.required] == [("car", "white")] and not st.excluded


@pytest.mark.unit
@pytest.mark.parametrize("reply", ["none of these", "I don't know", "not sure", "no idea tbh"])
def test_none_of_these_and_i_dont_know_change_nothing(reply):
    before = SearchState(subjects=[Subject(noun="car", plural=True)])
    asked = Question(kind="attribute", slot="color", noun="car", options=["red", "white"], text="Which car?")
    assert answer(before, asked, reply) == before


@pytest.mark.unit
def test_a_message_that_is_not_an_answer_is_still_understood():
    """picseek asks after most searches: a new topic, a refinement or a VisDial turn must read the same."""
    asked = Question(kind="attribute", slot="color", noun="car", options=["red", "white"], text="Which car?")
    cars = SearchState(subjects=[Subject(noun="car", plural=True)])
    st = answer(cars, asked, "a boat on a lake")
    assert [s.noun for s in st.required] == ["boat"] and st.setting.place == "on a lake"
    assert [s.noun for s in answer(cars, asked, "let's look at mountains now").required] == ["mountain"]
    st = answer(cars, asked, "is there a dog? no")
    assert [s.noun for s in st.required] == ["car"] and st.negative_phrases() == ["dog"]
    st = answer(cars, asked, "at night")
    assert st.setting.time == "night" and st.required[0].color is None
    assert answer(cars, asked, "4").required[0].color is None  # not one of the two options: no answer


@pytest.mark.unit
def test_presence_and_setting_answers():
    base = SearchState(subjects=[Subject(noun="house")])
    tree = Question(kind="presence", noun="tree", options=["yes", "no"], text="Is there a tree in it?")
    assert [s.noun for s in answer(base, tree, "yes").required] == ["house", "tree"]
    assert answer(base, tree, "no trees").negative_phrases() == ["trees"]
    assert answer(base, tree, "nope").negative_phrases() == ["tree"]
    when = Question(kind="setting", slot="time", options=["at night", "during the day"], text="At night or by day?")
    assert answer(base, when, "at night").setting.time == "night"
    assert answer(base, when, "during the day i think").setting.time == "day"
    other = Question(kind="presence", options=["a car", "a boat"], text="What else is in it — a car or a boat?")
    st = answer(base, other, "a red boat")
    assert [(s.noun, s.color) for s in st.required] == [("house", None), ("boat", "red")]
    assert set(answer(base, other, "nothing else").negative_phrases()) == {"car", "boat"}
    assert set(answer(base, other, "none of these").negative_phrases()) == {"car", "boat"}
    none_but = answer(base, other, "none that are red")  # not "none of these": a statement about the thing
    assert not {"car", "boat"} & set(none_but.negative_phrases())


@pytest.mark.unit
def test_naming_some_options_of_what_else_does_not_rule_out_the_others():
    """'only a boat' to 'What else is in it — a car, a boat or a tree?' adds the boat and negates nothing (rule 12 of
    evals/language/real: blind writers did not read naming some options as ruling out the rest; reading it so lifted
    the toy target eval by under a point, on a simulated user who always names every option in the picture)."""
    from picseek.agent.planner import OfflinePlanner

    s = Session(state=SearchState(subjects=[Subject(noun="house")]))
    s.asked = Question(kind="presence", options=["a car", "a boat", "a tree"], text="What else is in it?")
    plan = OfflinePlanner().plan("only a boat", s, None)
    assert [x.noun for x in plan.state.required] == ["house", "boat"] and plan.state.negative_phrases() == []


@pytest.fixture
def captioned_agent(toy_index, toy_embedder):
    from picseek.agent.agent import Agent
    from picseek.tools.caption import CocaCaptioner
    from picseek.tools.retrieve import Searcher

    _, store, _ = toy_index
    return Agent(Searcher(store, toy_embedder), captioner=CocaCaptioner(toy_embedder.spec))


def test_the_agent_asks_from_captions_made_on_demand_and_an_option_answers_it(captioned_agent):
    r = captioned_agent.turn(Session(), "a car")
    q = r.question
    assert q is not None and q.options and r.session.asked == q and q.text in r.reply
    captions = " ".join(h.caption or "" for h in r.hits)
    assert any(o.split()[-1] in captions for o in q.options if o not in ("yes", "no"))
    before = r.session.state
    r2 = captioned_agent.turn(r.session, q.options[0])  # a click on the first option is a turn like any other
    assert r2.session.state != before and r2.session.asked != q
    assert r2.question is None or r2.question.text != q.text  # never the same question twice


def test_ask_continues_a_saved_session_and_answers_the_question(toy_index, tmp_path):
    from tests.conftest import picseek_cli

    gallery, _, _ = toy_index
    path = tmp_path / "s.json"
    first = json.loads(
        picseek_cli("ask", "--dir", str(gallery), "--model", "toy", "--json", "--session", str(path), "a car").stdout
    )
    assert path.exists() and set(first[0]) >= {"question", "options", "state", "hits"}
    saved = Session.load(path.read_text())
    assert saved.state.required[0].noun == "car" and len(saved.messages) == 2
    second = json.loads(
        picseek_cli(
            "ask", "--dir", str(gallery), "--model", "toy", "--json", "--session", str(path), "only red ones"
        ).stdout
    )
    assert second[0]["state"]["subjects"][0] == {"noun": "car", "color": "red"}
    assert len(Session.load(path.read_text()).messages) == 4
    path.write_text("{not json")
    bad = picseek_cli("ask", "--dir", str(gallery), "--model", "toy", "--session", str(path), "cars", check=False)
    assert bad.returncode == 2 and "cannot read the session file" in bad.stderr


def test_the_terminal_chat_numbers_the_options_and_takes_a_number(toy_index, toy_embedder, capsys):
    from picseek.agent.agent import Agent
    from picseek.tools.retrieve import Searcher
    from picseek.ui.cli import chat_loop

    from tests.test_eval import _caption_from_truth

    gallery, store, _ = toy_index
    _caption_from_truth(gallery, store)
    chat_loop(Agent(Searcher(store, toy_embedder)), ["a car", "1"])
    out = capsys.readouterr().out
    first = out.split("> 1")[0]
    assert "[1] " in first and "[2] " in first
    option = first.split("[1] ")[1].split("   ")[0].strip()
    assert "> 1\n" in out and option in out.split("> 1")[1].split("Best matches")[0]  # the reply reads option 1
