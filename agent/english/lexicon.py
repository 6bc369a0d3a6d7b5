"""Closed classes of English the tracker needs on top of the parse: colours, sizes, times of day, seasons,
weather, numbers and the cue words of follow-ups. Nothing here names what a gallery holds: nouns come from the
parse, never from a list.
"""

from __future__ import annotations

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


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


COLORS = {
    **{
        c: c
        for c in (
            "red orange yellow green blue purple pink brown black white gray silver gold beige turquoise teal "
            "navy maroon cream tan magenta cyan lime olive ivory bronze crimson lavender khaki burgundy coral "
            "indigo"
        ).split()
    },
    "grey": "gray",
    "violet": "purple",
    "golden": "gold",
}
SHADES = frozenset("dark light bright pale deep pastel neon".split())
SIZES = {
    **dict.fromkeys("small little tiny smaller smallest mini miniature wee".split(), "small"),
    **dict.fromkeys("large big huge giant bigger larger biggest largest enormous massive gigantic".split(), "large"),
}
# Time of day: canonical value -> words that say it. Multi-word phrases are matched on lemmas.
TIMES = {
    "sunrise": (
        "sunrise",
        "dawn",
        "daybreak",
        "first light",
        "sun rise",
        "sun up",
        "sunup",
        "sun comes up",
        "sun rises",
        "sun is rising",
        "sun coming up",
        "crack of dawn",
    ),
    "morning": ("morning", "mornings", "am"),
    "day": ("day", "daytime", "daylight", "midday", "noon", "day time", "broad daylight", "days", "middle of the day"),
    "afternoon": ("afternoon", "afternoons"),
    "sunset": (
        "sunset",
        "dusk",
        "sundown",
        "twilight",
        "golden hour",
        "sun set",
        "sunsets",
        "sun goes down",
        "sun sets",
        "sun is setting",
        "sun going down",
    ),
    "evening": ("evening", "evenings"),
    "night": (
        "night",
        "nighttime",
        "midnight",
        "night time",
        "nightime",
        "nights",
        "after dark",
        "in the dark",
        "middle of the night",
    ),
}
TIME_WORDS = {w: t for t, ws in TIMES.items() for w in ws}
TIME_PHRASE = {
    "sunrise": "at sunrise",
    "morning": "in the morning",
    "day": "during the day",
    "afternoon": "in the afternoon",
    "sunset": "at sunset",
    "evening": "in the evening",
    "night": "at night",
}
SEASONS = {
    "spring": "spring",
    "springtime": "spring",
    "summer": "summer",
    "summertime": "summer",
    "summery": "summer",
    "autumn": "autumn",
    "fall": "autumn",
    "autumnal": "autumn",
    "winter": "winter",
    "wintertime": "winter",
    "wintry": "winter",
    "wintery": "winter",
}
SEASON_PHRASE = {s: f"in {s}" for s in ("spring", "summer", "autumn", "winter")}
WEATHER = {
    **dict.fromkeys("sunny sun sunshine sunlit sunlight".split(), "sunny"),
    **dict.fromkeys("cloudy cloud clouds overcast grey-sky".split(), "cloudy"),
    **dict.fromkeys("rainy rain raining rains rained rainfall drizzle drizzly downpour rainstorm".split(), "rainy"),
    **dict.fromkeys("snowy snow snowing snows snowed snowfall blizzard snowstorm".split(), "snowy"),
    **dict.fromkeys("foggy fog mist misty haze hazy".split(), "foggy"),
    **dict.fromkeys("stormy storm storms thunderstorm thunder lightning".split(), "stormy"),
}
WEATHER_PHRASE = {
    "sunny": "on a sunny day",
    "cloudy": "under a cloudy sky",
    "rainy": "in the rain",
    "snowy": "in the snow",
    "foggy": "in the fog",
    "stormy": "in a storm",
}
NUMBERS = {
    **{
        w: i
        for i, w in enumerate(
            "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
            "sixteen seventeen eighteen nineteen twenty".split()
        )
    },
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "hundred": 100,
    "single": 1,
    "dozen": 12,
}
PAIR_WORDS = frozenset({"couple", "pair"})  # "a couple of dogs" = 2


def number_word(n: int) -> str:
    """2 -> 'two' (up to twenty), else the digits."""
    return next((w for w, v in NUMBERS.items() if v == n and w != "single"), str(n)) if n <= 20 else str(n)


ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "1st": 1,
    "2nd": 2,
    "3rd": 3,
    "4th": 4,
    "5th": 5,
    "6th": 6,
    "7th": 7,
    "8th": 8,
    "9th": 9,
    "10th": 10,
    "last": -1,
}
# Words that stand for "the thing already named".
REFERENCES = frozenset("it them they those these one ones that this same its their theirs themselves".split())
# Nouns that name the picture or a slot, never a thing in it.
PLACEHOLDERS = _words(
    """
    something anything everything nothing stuff thing things picture pictures photo photos image images pic pics
    shot shots snap snaps photograph photographs one ones kind type sort version option result results way bit
    look looks style feel vibe vibes mood aesthetic scene scenes view views background foreground setting
    example examples variety color colour colors colours size time weather season place location somewhere
    anywhere someone anyone everyone somebody anybody everybody search please thanks thank idea instead lol ok
    okay yes no yeah yep nope hmm hm um uh sorry oops bunch number plan topic mind moment second minute while
    none typo mistake error tho tbh lol btw imo haha pls plz thx ty rn idk omg err erm ooh oh ah aha whoops meh
    ugh wait correction wrong problem problems worries issue issues nobody kind sort type variety
    """
)
QUANTITY_NOUNS = frozenset("lot lots plenty bunch number handful dozen dozens loads load ton tons heap heaps".split())
# Evaluative words that describe a thing when they modify it ("a new bicycle", "a nice house"), else steer.
SOFT_EVALUATIVE = frozenset("new nice good great real perfect best cool old lovely wonderful beautiful".split())
# Nouns about the picture rather than a thing in it: kept as description words with their modifiers.
PICTURE_WORDS = _words(
    """
    exposure focus lighting angle closeup close-up perspective composition depth bokeh filter tone tones
    contrast saturation grain effect atmosphere mood resolution quality crop frame lens zoom texture palette
    silhouette portrait panorama vibe vibes aesthetic style look feel
    """
)
# "a bigger one", "the striped kind": words that stand for the thing in focus, like "one".
ONE_WORDS = frozenset("one ones kind kinds sort sorts type types version versions variety".split())
# Adjectives that evaluate or steer, never describe.
NOT_DESCRIPTIVE = _words(
    """
    same other different more less fewer only just similar new sure sorry right wrong okay ok fine cool great
    good nice best better perfect exact exactly certain particular specific whole entire own real actual
    possible next previous last main such many much several few various enough more most least else further
    another additional extra again also too either neither free welcome allowed acceptable alright visible able
    glad interested instead rid first second third fourth fifth sixth last dear lovely wonderful awesome amazing
    brilliant regards kindly possible
    """
)
LOCATIVE = _words(
    """
    on in at by near under beneath beside behind inside outside across along over above below around among
    amongst through into onto against atop underneath alongside within upon off from beyond towards toward
    between past
    """
)
PLACE_ADVERBS = frozenset(
    "indoors outdoors inside outside underwater upstairs downstairs outdoor indoor offshore overseas abroad".split()
)
NEGATORS = frozenset("no not without except excluding minus nor never none nothing neither".split())
EXCLUDE_VERBS = _words(
    """
    exclude remove skip omit drop ditch hide lose avoid filter ban eliminate delete cut forget leave take strip
    erase ignore
    """
)
WANT_VERBS = frozenset("want need like see show find get give have love prefer".split())
ADD_CUES = frozenset("add plus put include also too with throw bring insert".split())
REALLOW_WORDS = frozenset(
    "again ok okay fine allowed acceptable alright welcome permitted back whatever".split()
)  # "people are ok again", "bring back the boats"
FILLER = frozenset(
    (
        "please pls plz thanks thank cheers thx ty kindly could would can will you u me i i'd id i'm im let us we "
        "just maybe perhaps um uh hmm ok okay so well now hey hi hello oh ah alright right great cool nice "
        "also really actually tho though tbh lol btw imo haha rn omg"
    ).split()
)
