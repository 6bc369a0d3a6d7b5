"""What kind of thing a noun names (data/kinds.json): a pony is a horse, a horse an animal; a man is a person.

It lets a correction rename the thing it is about ('i meant a pony' on '... leads the horse' renames the horse, not
the girl who leads it) and 'no people' take every person the description names ('and 1 man selling them').
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from picseek.agent.english.plurals import singular_word

_TOP = "thing"  # every kind's last parent: sharing only this says nothing


@lru_cache(maxsize=1)
def _data() -> tuple[dict[str, frozenset[str]], dict[str, str]]:
    raw = json.loads((Path(__file__).parent / "data" / "kinds.json").read_text(encoding="utf-8"))
    of: dict[str, set[str]] = {}
    for kind, nouns in raw["kinds"].items():
        for noun in nouns:
            of.setdefault(noun, set()).add(kind)
    return {n: frozenset(k) for n, k in of.items()}, raw["parents"]


def kinds_of(noun: str) -> frozenset[str]:
    """The kinds a noun names, with every kind above them ('cardinal' -> bird, animal); empty when unknown.
    A compound is its head's ('sports car' -> vehicle) unless the whole is listed ('polar bear')."""
    of, parents = _data()
    low = noun.lower().strip()
    found = of.get(low) or of.get(singular_word(low)) or of.get(singular_word(low.split()[-1])) if low else None
    out: set[str] = set()
    for kind in found or ():
        while kind and kind not in out:
            out.add(kind)
            kind = parents.get(kind)
    return frozenset(out - {_TOP})


def same_kind(a: str, b: str) -> bool:
    """Whether two nouns name things of one kind more specific than 'thing' ('pony' and 'horse', 'kite' and
    'balloon', 'motorcycle' and 'bicycle'); unknown nouns share no kind."""
    return bool(kinds_of(a) & kinds_of(b))


def kinship(a: str, b: str) -> int:
    """How many kinds two nouns share: 2 for 'pony' and 'horse' (horse, animal), 1 for 'pony' and 'goat'."""
    return len(kinds_of(a) & kinds_of(b))


def is_person(noun: str) -> bool:
    """Whether the noun names a person ('man', 'skier', 'bartender')."""
    return "person" in kinds_of(noun)


def listed(noun: str) -> bool:
    """Whether the words are one noun the data names ('polar bear', 'hot dog', 'teddy bear')."""
    words = noun.lower().split()
    return bool(words) and " ".join([*words[:-1], singular_word(words[-1])]) in _data()[0]


def ends_listed_name(tok) -> bool:
    """Whether a parsed word and the word before it are one listed noun ('dog' in 'a hot dog', 'hydrants' in 'fire
    hydrants'), however the parse tagged them."""
    return tok.i > 0 and listed(f"{tok.doc[tok.i - 1].lower_} {tok.lower_}")


def of_kind(kind_word: str, noun: str) -> bool:
    """Whether `noun` is a thing of the kind the word names ('bird', 'cardinal'; 'animal', 'zebra'); a noun is no
    kind of itself."""
    kind = singular_word(kind_word.lower().strip())
    return kind in _data()[1] and kind != singular_word(noun.lower()) and kind in kinds_of(noun)
