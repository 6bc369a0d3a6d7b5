"""The cue phrases of follow-ups: adding, allowing again, correcting, switching topic, and the answers yes / no /
I don't know / none of these. The phrases are data (data/cues.json, like spaCy's lang/en word lists); matched as
whole words by `reading.find_phrase`, read through `agent.english.lexicon`."""

from __future__ import annotations

import json
import re
from pathlib import Path

_CUES = json.loads((Path(__file__).parent / "data" / "cues.json").read_text(encoding="utf-8"))


def alternation(phrases) -> str:
    """A regular-expression alternation of phrases (longest first; spaces match any whitespace)."""
    return "|".join(r"\s+".join(map(re.escape, p.split())) for p in sorted(phrases, key=len, reverse=True))


ADD_PHRASES: tuple[str, ...] = tuple(_CUES["add_phrases"])  # the message adds to the search: "with", "also"
REALLOW_PHRASES: tuple[str, ...] = tuple(_CUES["reallow_phrases"])  # allowed again: "is fine", "bring back"
CORRECTION_CUES: tuple[str, ...] = tuple(_CUES["correction_cues"])  # "sorry", "i meant", "make that"
# Words about the mistake itself, said before the correction ("wrong word, a tram not a bus"): not the picture's.
CORRECTION_DISCOURSE: tuple[str, ...] = tuple(_CUES["correction_discourse"])
SWITCH_CUES: tuple[str, ...] = tuple(_CUES["switch_cues"])  # a new search: "start over", "forget that"
# Words that may stand around a switch cue before the new description: "ok, let me try another one: ..."
SWITCH_LEAD_WORDS: frozenset[str] = frozenset(_CUES["switch_lead_words"])
# Cues that start anew only as such a lead ("Next: ...", "try this instead: ..."), never inside a description
SWITCH_LEAD_CUES: tuple[str, ...] = tuple(_CUES["switch_lead_cues"])
# Weak switches: a switch only when a new thing follows ("let's look at mountains now").
SOFT_SWITCH_CUES: tuple[str, ...] = tuple(_CUES["soft_switch_cues"])
# Words that soften an answer without changing it: "definitely not", "i think there is", "pretty sure, two"
HEDGES: tuple[str, ...] = tuple(_CUES["hedges"])
LEADING_HEDGE = re.compile(r"^(?:(?:" + alternation(HEDGES) + r")\b[\s,]*)+", re.I)  # "definitely", "i think"
WISHES: tuple[str, ...] = tuple(_CUES["wishes"])  # "a dog would be nice": what is wished for joins the picture
YES: tuple[str, ...] = tuple(_CUES["yes"])
NO: tuple[str, ...] = tuple(_CUES["no"])
UNKNOWN: tuple[str, ...] = tuple(_CUES["unknown"])  # "i don't know", "no idea": the answer changes nothing
NONE_OF_THESE: tuple[str, ...] = tuple(_CUES["none_of_these"])
# "i don't think there is", "doesn't look like it": a no said with nothing but a negation and words about seeing
NEGATIONS: frozenset[str] = frozenset(_CUES["negations"])
UNSEEN_WORDS: frozenset[str] = frozenset(_CUES["unseen_words"])
SEEING_WORDS: frozenset[str] = frozenset(_CUES["seeing_words"])  # "not that i could see": what such a no says
# "#3 is right", "the second one nailed it": what approves of a result
APPROVAL: tuple[str, ...] = tuple(_CUES["approval"])
APPROVAL_IDIOMS: tuple[str, ...] = tuple(_CUES["approval_idioms"])
# the end of a message that is addressed to someone, not said about the picture: "..., thanks dear", "cheers mate"
TERMS_OF_ADDRESS: tuple[str, ...] = tuple(_CUES["terms_of_address"])
SIGN_OFFS: tuple[str, ...] = tuple(_CUES["sign_offs"])
# Undo: a message made only of words about going back ("undo that change", "go back to the previous one",
# "scratch that last one", "put it back the way it was") with at least one cue among them.
UNDO_CUES: tuple[str, ...] = tuple(_CUES["undo_cues"])
UNDO_WORDS: frozenset[str] = frozenset(_CUES["undo_words"])
_SAID_AS = _CUES["said_as"]
_ANYWHERE = re.compile(
    r"(?<![\w/])(" + "|".join(map(re.escape, sorted(_SAID_AS["anywhere"], key=len, reverse=True))) + r")(?![\w/])",
    re.I,
)
# at the start of a follow-up, and only before a determiner: "nix the fence", never "nix" inside a description
_AT_START = re.compile(
    r"^(?:(?:actually|and|oh|ok|okay|please|sorry|also)[\s,]+)*("
    + "|".join(map(re.escape, _SAID_AS["at_start"]))
    + r")(?=\s+(?:the|those|these|all|any)\b)",
    re.I,
)


# "the wine glasses can go", "that dog has to go": the thing, then that it goes
_GOING = re.compile(
    r"^(?P<what>(?:the|that|this|those|these)\s+[^,.;!?]+?)\s+(?:" + alternation(_CUES["going_phrases"]) + r")"
    r"(?:\s+(?:away|too|as\s+well))?[\s.!]*$",
    re.I,
)


def said_as_known(message: str, follow_up: bool = True) -> str:
    """The message with cue words the parser does not know said the way it does ('w/o' -> 'without', in a
    follow-up 'nix the fence' -> 'remove the fence', 'the fence can go' -> 'remove the fence'); everything else as
    typed."""
    text = _ANYWHERE.sub(lambda m: _SAID_AS["anywhere"][m.group(1).lower()], " ".join(message.split()))
    m = _AT_START.match(text) if follow_up else None
    if m:
        text = text[: m.start(1)] + _SAID_AS["at_start"][m.group(1).lower()] + text[m.end(1) :]
    m = _GOING.match(text.strip()) if follow_up else None
    if m:
        text = f"remove {m.group('what')}"
    return text


_TIMES = {"twice": 2, "two": 2, "three": 3, "both": 2}
_UNDO_CUE = re.compile(rf"\b(?:{alternation(UNDO_CUES)})\b")


# "wait no, put the umbrella back", "i want the hot dog back": a thing just taken out, asked back (not "i want the
# dog looking back": what the thing does)
_THING_BACK = re.compile(
    r"^(?:(?:wait|no|oh|oops|undo|actually|hmm+|ok|okay|sorry)\s+)*(?:(?:please\s+)?(?:put|bring)|i\s+want|"
    r"(?:can|could)\s+(?:you|i|we)\s+(?:put|bring|have|get))\s+(?:the|my|that|those|these)\s+\w+(?:\s+(?!\w+ing\s)\w+)?\s+back"
    r"(?:\s+(?:in|please|again))?$"
)
_AGAIN = re.compile(r"^(?:and\s+)?(?:again|once\s+more|one\s+more(?:\s+time)?|(?:do\s+it|undo)\s+again)(?:\s+please)?$")


_SCENE_CHANGE = re.compile(
    rf"^(?:(?:actually|ok(?:ay)?|hmm+|oh|well|no|so|maybe|now|wait)[\s,]+)*(?:{alternation(_CUES['scene_change_leads'])})"
    rf"\s+(?:(?:to|into)\s+)?(?P<what>(?:(?:the|a|an|some)\s+)?(?:[a-z]+\s+){{0,2}}?[a-z]+)"
    rf"(?:[\s,]+(?:{alternation(_CUES['scene_change_ends'])}))*[\s.!]*$",
    re.I,
)


SCENE_CHANGE_ENDS = tuple(_CUES["scene_change_ends"])


def scene_change(text: str) -> str | None:
    """The kind of place a message asks the picture to be in, said with a steering lead and no preposition of its
    own ('make it a forest', 'change the setting to a park', 'same but a bathroom', 'move it to the bedroom'); None
    for anything else. Whether the words name a kind of place is the caller's to check."""
    m = _SCENE_CHANGE.match(text.strip())
    return m.group("what") if m else None


def undo_steps(message: str, after_undo: bool = False) -> int:
    """How many changes the message, as a whole, asks to take back: 0 when it is not an undo ("a dog's back", "go
    back to the beach photos", "it was back there"), 2 for "undo twice" / "go back 2 steps". `after_undo`: the
    user's last message was an undo, so "and again" is one more."""
    text = " ".join(re.sub(r"[^\w\s']", " ", message.lower().replace("\u2019", "'")).split())
    if after_undo and _AGAIN.match(text):
        return 1
    if _THING_BACK.match(text):
        return 1
    words = text.split()
    if not words or len(words) > 14 or any(w not in UNDO_WORDS and not _small_number(w) for w in words):
        return 0
    if text not in ("back", "cancel") and _UNDO_CUE.search(text) is None:
        return 0
    if words.count("undo") > 1:
        return words.count("undo")
    digits = [int(w) for w in words if _small_number(w)]
    return digits[0] if digits else next((n for w, n in _TIMES.items() if w in words), 1)


def last_was_undo(messages: list[str]) -> bool:
    """Whether the last of the user's messages undid something, each read after the one before it ('undo', 'and
    again', 'and again' are three undos)."""
    undone = False
    for m in messages:
        undone = undo_steps(m, after_undo=undone) > 0
    return undone


def _small_number(word: str) -> bool:
    return word.isdigit() and 1 <= int(word) <= 9


_SEPARATOR = re.compile(r"\s*(?:[:;,.!\u2014\u2013]|\s-+\s|\band\s+(?=(?:show|find|get|give|search)\b))\s*")
_SWITCH_CUE = re.compile(rf"(?:^|\b)(?:{alternation(SWITCH_CUES)})(?:\b|$)")
_LEAD_CUE = re.compile(rf"(?:^|\b)(?:{alternation(SWITCH_LEAD_CUES)})(?:\s+(?:now|instead|please|then))*$")
_EDIT_START = re.compile(r"^(?:add|make|remove|with|without|and|no|not|but|also|plus|change|turn|put)\b", re.I)


# "ok forget goats. pictures of a lighthouse": a thing given up, then a request framed the way a search starts
_GIVE_UP = re.compile(
    r"^(?:(?:ok(?:ay)?|so|well|actually|hmm+|right|alright|oh)\s+)*(?:forget|never\s*mind|nvm|scratch|drop|ignore)"
    r"(?:\s+about)?(?:\s+(?:the|those|these))?(?:\s+\w+){1,3}$"
)
# what follows a thing given up and is a description of its own: "a pizza coming out of a wood oven" (not "just
# waves", "add a dog", "the cat should be black": those go on from what is left)
_GOES_ON = re.compile(r"^(?:just|only|instead|but|the|that|this|those|these|his|her|its|their|it|they)\b")
_REQUEST = re.compile(
    r"^(?:(?:now|then|ok(?:ay)?)\s+)?(?:show\s+me|find(?:\s+me)?|search\s+for|look\s+for|give\s+me|"
    r"(?:i\s+want|i'?d\s+like)(?:\s+to\s+see)?|let'?s\s+(?:see|find|look\s+for)|"
    r"(?:some\s+|a\s+few\s+)?(?:photos?|pictures?|pics?|images?|shots?)\s+of)\b"
)


def switch_lead(text: str) -> str | None:
    """The new description after a lead that says the search starts anew, or None: "change of plan, find me a
    street corner", "ok different search - some sailboats", "let me try another one: a man ...", "Next: photos
    of a lighthouse". The lead is a switch cue with only lead words around it, ended by punctuation or "and show";
    a lead-only cue ("next", "try this") must end the lead, and what follows must not be an edit ("next, add a
    ball"; "next to it, a cat" is no lead at all)."""
    for m in _SEPARATOR.finditer(text):
        lead, rest = text[: m.start()], text[m.end() :].strip()
        if not rest or len(lead.split()) > 12:
            return None
        low = " ".join(re.sub(r"[^\w\s']", " ", lead.lower()).split())
        if _GIVE_UP.match(low) and (
            _REQUEST.match(rest.lower())
            or len(rest.split()) >= 4
            and not _EDIT_START.match(rest)
            and not _GOES_ON.match(rest.lower())
        ):
            return rest
        cue = _SWITCH_CUE.search(low) or _LEAD_CUE.search(low)
        if cue is None:
            continue  # "ok, ..." : a separator before the cue
        around = (low[: cue.start()] + " " + low[cue.end() :]).split()
        lead_only = _SWITCH_CUE.search(low) is None  # "stop, that's wrong" goes on from the search; "stop, i want ..."
        if (
            all(w in SWITCH_LEAD_WORDS for w in around)
            and not _EDIT_START.match(rest)
            and not (lead_only and _GOES_ON.match(rest.lower()))
        ):
            return switch_lead(rest) or rest  # "actually nvm, new search: a bartender ...": the last lead
        return None
    return None
