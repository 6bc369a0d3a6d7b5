"""Closed classes of English the reader needs on top of the parse: colours, sizes, times of day, seasons,
weather, numbers and the cue words of follow-ups. The words are data (data/lexicon.json and data/cues.json, the
way spaCy keeps lang/en); this module gives them their types. Nothing here names what a gallery holds: nouns come
from the parse, never from a list.
"""

from __future__ import annotations

import json
from pathlib import Path

# The cue phrases live in their own module; the tracker reads them here, with the other closed classes.
from picseek.agent.english.cues import (  # noqa: F401
    ADD_PHRASES,
    CORRECTION_CUES,
    NO,
    NONE_OF_THESE,
    REALLOW_PHRASES,
    SOFT_SWITCH_CUES,
    SWITCH_CUES,
    UNKNOWN,
    YES,
)

_LEX = json.loads((Path(__file__).parent / "data" / "lexicon.json").read_text(encoding="utf-8"))


def _set(name: str) -> frozenset[str]:
    return frozenset(_LEX[name])


COLORS: dict[str, str] = _LEX["colors"]  # word -> canonical colour ("grey" -> "gray")
SHADES = _set("shades")
MANY_COLOURS = _set("many_colours")  # "a multicolored umbrella": a colour phrase a new colour replaces
SIZES: dict[str, str] = _LEX["sizes"]  # word -> small | large
TIMES: dict[str, list[str]] = _LEX["times"]  # time of day -> words and phrases that say it
TIME_WORDS = {w: t for t, ws in TIMES.items() for w in ws}
TIME_PHRASE: dict[str, str] = _LEX["time_phrase"]
# the preposition a bare time word takes: "at noon", "in the morning", "during the day"
TIME_PREPOSITION = {w: prep for prep, ws in _LEX["time_prepositions"].items() for w in ws}
SEASONS: dict[str, str] = _LEX["seasons"]
SEASON_PHRASE: dict[str, str] = _LEX["season_phrase"]
WEATHER: dict[str, str] = _LEX["weather"]
WEATHER_PHRASE: dict[str, str] = _LEX["weather_phrase"]
NUMBERS: dict[str, int] = _LEX["numbers"]
PAIR_WORDS = _set("pair_words")  # "a couple of dogs" = 2


def number_word(n: int) -> str:
    """2 -> 'two' (up to twenty), else the digits."""
    return next((w for w, v in NUMBERS.items() if v == n and w != "single"), str(n)) if n <= 20 else str(n)


ORDINALS: dict[str, int] = _LEX["ordinals"]
REFERENCES = _set("references")  # words that stand for the thing already named
PLACEHOLDERS = _set("placeholders")  # nouns that name the picture or a slot, never a thing in it
QUANTITY_NOUNS = _set("quantity_nouns")  # "lots of", "a bunch of": they quantify, they are no thing
SOFT_EVALUATIVE = _set("soft_evaluative")  # describe a thing they modify ("a new bicycle"), else steer
PICTURE_WORDS = _set("picture_words")  # about the picture, not a thing in it ("soft focus", "grain")
ONE_WORDS = _set("one_words")  # "a bigger one", "the striped kind": the thing in focus
NOT_DESCRIPTIVE = _set("not_descriptive")  # adjectives that evaluate or steer, never describe
LOCATIVE = _set("locative")
PATH_PREPOSITIONS = _set("path_prepositions")  # "down a dirt path", "up a hill": where the picture is, along it
NEARNESS_PREPOSITIONS = _set("nearness_prepositions")  # "by a busy street": what is near, not where
PLACEMENT_VERBS = _set("placement_verbs")  # "sitting on a table", "parked": where things are, not what one does
MATERIALS = _set("materials")  # a colour goes before them: "a brown wooden wall"
KIND_HEADS = _set("kind_heads")  # "an espresso beverage", "a pasta dish": the word before says what it is
PLACE_ADVERBS = _set("place_adverbs")
NEGATORS = _set("negators")
EXCLUDE_VERBS = _set("exclude_verbs")
ORDER_VERBS = _set("order_verbs")  # "hold the carrots": an order's exclusion, said first with "the"
WANT_VERBS = _set("want_verbs")
ADD_CUES = _set("add_cues")
REALLOW_WORDS = _set("reallow_words")  # "people are ok again", "bring back the boats"
FILLER = _set("filler")
CUE_VERBS_EXTRA = _set("cue_verbs_extra")  # verbs that steer the search ("make", "switch"), with the sets above
# removing a thing: what measures it ("a lot of"), counts it ("several"), groups it ("a group of"), the first word
# of a preposition of several ("next to"), the prepositions that say where a scene is, particles that end a phrase
# ("with a helmet on"), and the words that point back into the sentence ("in her lap")
PARTITIVES = _set("partitives")
QUANTIFIERS = _set("quantifiers")
QUANTITY_PHRASES = _set("quantity_phrases")  # "a few", "lots of": how many, said without a number
COLLECTIVES = _set("collectives")
PREPOSITION_LEADS = _set("preposition_leads")
SCENE_PREPOSITIONS = _set("scene_prepositions")
ING_NAMES = _set("ing_names")  # an -ing word that is part of a thing's name: "a magnifying glass", "a frying pan"
SURFACE_NOUNS = _set("surface_nouns")  # what a picture is on, not in: "on the floor", "on the ground"
TIME_DEGREES = _set("time_degrees")  # said before a time phrase, part of it: "early in the morning", "late at night"
SCENE_NOUNS = _set("scene_nouns")  # where a photo is taken: "a kitchen", "the beach" (singular)
ON_SCENES = _set("on_scenes")  # kinds of place said with "on" ("on the street"), some also with "in"
ON_ONLY_SCENES = _set("on_only_scenes")  # said with "on" only ("on the beach", never "in the beach")
AT_SCENES = _set("at_scenes")  # events and stops said with "at" ("at a party", "at the zoo")
WHEN = frozenset(TIME_WORDS) | frozenset(SEASONS) | frozenset(WEATHER)  # the words of a time, season, weather
DAY_WEATHER = _set("day_weather")  # what a day is like besides its weather words: "a nice day", "a gloomy day"
HOLIDAYS = _set("holidays")  # when, never where: "at christmas", "on halloween"
GROUND_NOUNS = _set("ground_nouns")  # where, without being a kind of place: "on flat ground", "in the air"
PARTICLES = _set("particles")
POINTING_BACK = _set("pointing_back")
WRITING_VERBS = _set("writing_verbs")  # "a sign that says ...": the words written on a thing
BOUNDARY_WORDS = _set("boundary_words")  # a negation does not reach past these ("but", "though")
CLAUSE_OPENERS = _set("clause_openers")  # "while", "who": a clause that waits for what a removal took
KNOWN_DETERMINERS = _set("known_determiners")  # "the man", "his bed": a thing already known

# where a picture may be: a kind of place or a ground ("a garden", "the floor"), never the weather ("make it snow")
WHERE = SCENE_NOUNS | (GROUND_NOUNS - frozenset(WEATHER))
# nouns a season or weather word before them makes a time of year or a sky ("a winter day", "a snowy landscape"),
# not a kind of thing ("winter gear")
SETTING_HEADS = frozenset(TIME_WORDS) | PLACEHOLDERS | SCENE_NOUNS | _set("setting_heads")
