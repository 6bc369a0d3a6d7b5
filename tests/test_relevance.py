"""The calibrated match (tools.relevance): nonsense says nothing matches, real searches do not, the curves are not
steps, a model that knows nothing calls nothing a match, and the replies never say 'no mention' of a strong match."""

from __future__ import annotations

import numpy as np
import pytest
from picseek.tools.relevance import STRONG, WEAK, Calibration, chance_level, knows, null_texts, strength

from tests.conftest import image_meta


@pytest.mark.unit
def test_null_texts_mix_letters_word_like_and_caption_like_nonsense():
    texts = null_texts()
    assert len(texts) == len(set(texts)) >= 90
    assert sum(t.startswith(("a ", "the ", "some ", "an ")) for t in texts) >= 20  # caption-like
    assert null_texts() == texts  # fixed, so runs compare


@pytest.mark.unit
def test_chance_level_carries_its_uncertainty_and_ignores_a_few_half_read_nulls():
    rng = np.random.default_rng(0)
    margins = rng.normal(0.1, 0.01, 96)
    level, se = chance_level(margins)
    assert 0.12 < level < 0.14 and 0 < se < 0.01
    spiked = margins.copy()
    spiked[:6] = 0.5  # nonsense whose pieces a small vocabulary reads as words
    assert chance_level(spiked)[0] < 0.16


@pytest.mark.unit
def test_a_model_that_knows_nothing_calls_nothing_a_match():
    rng = np.random.default_rng(1)
    real, nulls = rng.normal(0.1, 0.01, 28), rng.normal(0.1, 0.01, (28, 5))
    assert not knows(real, nulls)  # real words no better than their nonsense look-alikes
    assert knows(np.concatenate([real[:14], rng.normal(0.3, 0.02, 14)]), nulls)  # half of them clearly better
    sample = rng.normal(size=(200, 8)).astype(np.float32)
    cal = Calibration(sample=sample, chance=0.01, count=200, knows=False)
    assert cal.match(np.ones(8, np.float32), np.array([0.9, 0.8])).tolist() == [0, 0]


@pytest.mark.unit
def test_the_match_curve_is_not_a_step():
    sample = np.zeros((100, 4), np.float32)  # every image scores 0: the median is 0
    cal = Calibration(sample=sample, chance=0.1, count=100)
    q = np.array([1, 0, 0, 0], np.float32)
    above = np.linspace(0.5, 1.6, 23)  # margins from half to 1.6 times the chance level
    m = [int(cal.match(q, np.array([a * 0.1]))[0]) for a in above]
    assert m == sorted(m) and m[0] < WEAK and m[-1] >= STRONG
    assert len(set(m)) >= 10  # graded: many levels between nothing and strong
    assert sum(WEAK <= x < STRONG for x in m) >= 4  # weak and fair are reachable, not skipped


@pytest.mark.unit
def test_no_mention_of_a_word_is_never_said_beside_a_strong_match():
    from picseek.agent.explain import reason
    from picseek.agent.state import SearchState, Subject
    from picseek.tools.retrieve import Hit

    state = SearchState(subjects=[Subject(noun="car", color="red")], words=["shiny"])
    base = dict(id="a", path="/g/a.jpg", rank=1, score=0.5, caption="a red car", metadata=image_meta("a.jpg"))
    strong = Hit(**base, match=STRONG + 5)
    weak = Hit(**base, match=WEAK + 5)
    assert "no mention" not in reason(strong, state) and strength(strong.match) == "strong"
    assert "no mention of shiny" in reason(weak, state)
    assert "caption" not in reason(strong, state, captions=False)


def test_nonsense_says_nothing_matches_and_real_searches_do_not(toy_index):
    from picseek.agent.explain import nothing_matches
    from picseek.tools.gallery import open_gallery
    from picseek.tools.retrieve import ImageQuery

    gallery, _, _ = toy_index
    searcher = open_gallery(gallery, "toy").searcher
    for text in ("qwzxvbnm", "asdkjh", "florbing snaddle", "a photo of a glimbat"):
        assert nothing_matches(searcher.search(ImageQuery(text=text))), text
    for text in ("a red car", "a house at night", "a boat on the water"):
        hits = searcher.search(ImageQuery(text=text))
        assert not nothing_matches(hits) and hits[0].strength in ("fair", "strong"), text


def test_an_unknown_word_is_kept_once():
    from picseek.agent.english.tracker import Tracker
    from picseek.agent.state import SearchState

    state = Tracker().update(SearchState(), "qwzxvbnm").state
    assert state.words == ["qwzxvbnm"]
    assert state.to_query(10).text == "qwzxvbnm"
