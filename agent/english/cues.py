"""The cue phrases of follow-ups: adding, allowing again, correcting, switching topic, and the answers yes / no /
I don't know / none of these. The phrases are data (data/cues.json, like spaCy's lang/en word lists); matched as
whole words by `reading.find_phrase`, read through `agent.english.lexicon`."""

from __future__ import annotations

import json
import re
from pathlib import Path

_CUES = json.loads((Path(__file__).parent / "data" / "cues.json").read_text(encoding="utf-8"))

ADD_PHRASES: tuple[str, ...] = tuple(_CUES["add_phrases"])  # the message adds to the search: "with", "also"
REALLOW_PHRASES: tuple[str, ...] = tuple(_CUES["reallow_phrases"])  # allowed again: "is fine", "bring back"
CORRECTION_CUES: tuple[str, ...] = tuple(_CUES["correction_cues"])  # "sorry", "i meant", "make that"
SWITCH_CUES: tuple[str, ...] = tuple(_CUES["switch_cues"])  # a new search: "start over", "forget that"
# Weak switches: a switch only when a new thing follows ("let's look at mountains now").
SOFT_SWITCH_CUES: tuple[str, ...] = tuple(_CUES["soft_switch_cues"])
YES: tuple[str, ...] = tuple(_CUES["yes"])
NO: tuple[str, ...] = tuple(_CUES["no"])
UNKNOWN: tuple[str, ...] = tuple(_CUES["unknown"])  # "i don't know", "no idea": the answer changes nothing
NONE_OF_THESE: tuple[str, ...] = tuple(_CUES["none_of_these"])
# "#3 is right", "the second one nailed it": what approves of a result
APPROVAL: tuple[str, ...] = tuple(_CUES["approval"])
APPROVAL_IDIOMS: tuple[str, ...] = tuple(_CUES["approval_idioms"])
# the end of a message that is addressed to someone, not said about the picture: "..., thanks dear", "cheers mate"
TERMS_OF_ADDRESS: tuple[str, ...] = tuple(_CUES["terms_of_address"])
SIGN_OFFS: tuple[str, ...] = tuple(_CUES["sign_offs"])


def alternation(phrases) -> str:
    """A regular-expression alternation of phrases (longest first; spaces match any whitespace)."""
    return "|".join(r"\s+".join(map(re.escape, p.split())) for p in sorted(phrases, key=len, reverse=True))
