"""English noun number without a dictionary engine: the plural and singular of a noun from suffix rules and the
irregular nouns listed in data/plurals.json. It replaces `inflect`, whose import alone cost ~3.9 s (typeguard
instruments the module at import) for the two words a turn needs; nothing here imports more than `json`.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).parent / "data"


@lru_cache(maxsize=1)
def _raw() -> dict:
    return json.loads((DATA / "plurals.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, str], dict[str, str], frozenset[str]]:
    raw = _raw()
    many = {k: v for k, v in raw["irregular"].items()}
    one = {v: k for k, v in many.items() if v != k}
    for first in raw["man_compounds"]:  # "firemen" <-> "fireman"
        many.setdefault(first + "man", first + "men")
        one.setdefault(first + "men", first + "man")
    return many, one, frozenset(raw["invariant"])


def _ending(w: str) -> str | None:
    """The singular of a compound that ends in an irregular plural ('grandchildren' -> 'grandchild')."""
    for plural, one in _raw()["irregular_endings"].items():
        if w.endswith(plural) and len(w) > len(plural) + 2:
            return w[: -len(plural)] + one
    return None


_SIBILANT = ("s", "x", "z", "ch", "sh")
_VOWELS = "aeiou"


def plural_word(word: str) -> str:
    """'tree' -> 'trees', 'bench' -> 'benches', 'puppy' -> 'puppies', 'person' -> 'people'; plurals unchanged."""
    w = word.lower()
    many, one, same = _tables()
    if w in same or w in one or not w.isalpha():
        return word
    if w in many:
        return many[w]
    for plural, one_ in _raw()["irregular_endings"].items():  # "grandchild" -> "grandchildren"
        if w.endswith(one_) and len(w) > len(one_) + 2:
            return w[: -len(one_)] + plural
    if singular_word(w) != w and not w.endswith(("ss", "us", "is")):
        return word  # already plural: 'dogs', 'benches'
    if w.endswith(_SIBILANT):
        return w + "es"
    if w.endswith("y") and len(w) > 1 and w[-2] not in _VOWELS:
        return w[:-1] + "ies"
    return w + "s"


def singular_word(word: str) -> str:
    """'trees' -> 'tree', 'benches' -> 'bench', 'puppies' -> 'puppy', 'people' -> 'person'; singulars unchanged."""
    w = word.lower()
    many, one, same = _tables()
    if w in one:
        return one[w]
    if w in same or w in many or len(w) < 3 or not w.isalpha():
        return w
    if ending := _ending(w):
        return ending
    if w.endswith(("ss", "us", "is", "ous")):
        return w
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith("es") and w[:-2].endswith(_SIBILANT) and not w[:-2].endswith(("se", "ze")):
        return w[:-2]
    if w.endswith("s") and not w.endswith("ss"):
        return w[:-1]
    return w


@lru_cache(maxsize=1)
def _synonyms() -> dict[str, str]:
    groups = json.loads((DATA / "synonyms.json").read_text(encoding="utf-8"))["groups"]
    return {w: g[0] for g in groups for w in g}


def name_of(noun: str) -> str:
    """The name of the group a singular noun belongs to ('bike' -> 'bicycle'), or the noun itself."""
    return _synonyms().get(noun.lower(), noun.lower())


def same_thing(a: str, b: str) -> bool:
    """Whether two singular nouns name the same thing: equal, or words people use for the same thing ('bike' and
    'bicycle', 'plane' and 'airplane'; data/synonyms.json)."""
    return name_of(a) == name_of(b)


def thing_key(noun: str) -> str:
    """What a thing is called, whatever the form said: the group name of its head word, singular ('the bikes' ->
    'bicycle', 'sports car' -> 'car'). Two things with the same key are the same thing."""
    return name_of(singular_word(noun.split()[-1])) if noun.strip() else ""
