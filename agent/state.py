"""The typed search state: the one thing both planners produce and everything downstream reads.

A state holds the things the pictures must (or must not) show, each with its modifiers, the setting (place, time
of day, season, weather), other excluded concepts, reference images, typed metadata filters, k and a minimum match.
It renders to the caption-style text CLIP reads ("a white house and two trees at night"), the negatives and the
filters of an `ImageQuery`.
"""

from __future__ import annotations

from typing import Literal

from picseek.agent.english.lexicon import SEASON_PHRASE, TIME_PHRASE, WEATHER_PHRASE, number_word
from picseek.agent.english.plurals import plural_word, same_thing, singular_word
from picseek.tools.retrieve import MAX_K, Filters, ImageQuery
from pydantic import BaseModel, Field, field_validator

MAX_DESCRIPTION_TOKENS = 77  # CLIP's context; longer descriptions are cut at a word boundary

TimeOfDay = Literal["sunrise", "morning", "day", "afternoon", "sunset", "evening", "night"]
Season = Literal["spring", "summer", "autumn", "winter"]
Weather = Literal["sunny", "cloudy", "rainy", "snowy", "foggy", "stormy"]
Slot = Literal["color", "size", "count", "time", "place", "season", "weather"]


def plural(noun: str) -> str:
    """'tree' -> 'trees', 'sports car' -> 'sports cars', 'person' -> 'people'; a plural stays as it is."""
    *head, last = noun.split(" ")
    return " ".join([*head, plural_word(last)])


def singular(noun: str) -> str:
    """'trees' -> 'tree', 'people' -> 'person'; singular nouns come back unchanged."""
    *head, last = noun.lower().split(" ")
    return " ".join([*head, singular_word(last)])


class Subject(BaseModel):
    """A thing the pictures show (or, when excluded, must not show), with its modifiers."""

    noun: str = Field(description="the thing, singular, with compound modifiers: 'dog', 'sports car'")
    color: str | None = Field(None, description="one colour, e.g. 'red', 'dark blue', 'red and white'")
    size: Literal["small", "large"] | None = None
    count: int | None = Field(None, ge=1, le=99, description="only when a number was said: 'two dogs' -> 2")
    adjectives: list[str] = Field(default_factory=list, description="other modifiers: 'fluffy', 'wooden'")
    plural: bool = Field(False, description="said in the plural ('dogs')")
    excluded: bool = Field(False, description="true: pictures must NOT show this")

    @field_validator("noun")
    @classmethod
    def _noun(cls, v: str) -> str:
        v = " ".join(v.lower().split())
        if not v:
            raise ValueError("a subject needs a noun")
        return v

    @field_validator("color")
    @classmethod
    def _color(cls, v: str | None) -> str | None:
        return " ".join(v.lower().split()) or None if v else None

    @field_validator("adjectives")
    @classmethod
    def _adjectives(cls, v: list[str]) -> list[str]:
        return [a for a in (" ".join(x.lower().split()) for x in v) if a]

    def phrase(self, article: bool = True) -> str:
        """'a small red car', 'two trees', 'fluffy dogs'; without article for negatives: 'red car'."""
        many = self.plural or (self.count is not None and self.count > 1)
        noun = plural(self.noun) if many else self.noun
        words = [self.size] if self.size else []
        words += self.adjectives
        if self.color:
            words.append(self.color)
        words.append(noun)
        if self.count is not None and (article or self.count > 1):
            return f"{number_word(self.count)} {' '.join(words)}"
        if many or not article:
            return " ".join(words)
        return f"{'an' if words[0][0] in 'aeiou' else 'a'} {' '.join(words)}"


class Setting(BaseModel):
    place: str | None = Field(None, description="location phrase as said: 'on the lake', 'at the beach', 'indoors'")
    time: TimeOfDay | None = None
    season: Season | None = None
    weather: Weather | None = None

    def phrases(self) -> list[str]:
        out = [self.place] if self.place else []
        if self.weather == "sunny" and self.time == "day":
            return [*out, WEATHER_PHRASE["sunny"]] + ([SEASON_PHRASE[self.season]] if self.season else [])
        if self.weather:
            out.append(WEATHER_PHRASE[self.weather])
        if self.season:
            out.append(SEASON_PHRASE[self.season])
        if self.time:
            out.append(TIME_PHRASE[self.time])
        return out


class Question(BaseModel):
    """A question picseek asked, kept so that the next message can answer it."""

    kind: Literal["attribute", "setting", "presence"]
    slot: Slot | None = None
    noun: str | None = None
    options: list[str] = Field(default_factory=list)
    text: str = ""


class SearchState(BaseModel):
    """What the user is looking for now, as understood from the whole conversation."""

    phrases: list[str] = Field(
        default_factory=list,
        description="the description in the user's own words: the first description, then each refinement, as "
        "said (edited in place by later turns); when empty the text is rendered from the typed fields",
    )
    subjects: list[Subject] = Field(default_factory=list, description="things shown (or excluded), in order named")
    setting: Setting = Field(default_factory=Setting)
    words: list[str] = Field(default_factory=list, description="description words with no slot, kept as said")
    negatives: list[str] = Field(default_factory=list, description="excluded concepts that are not things: 'sunny'")

    like: list[str] = Field(default_factory=list, description="reference images: more like these (image ids)")
    unlike: list[str] = Field(default_factory=list, description="images to move away from (image ids)")
    filters: Filters = Field(default_factory=Filters)
    k: int | None = Field(None, ge=1, le=MAX_K)
    min_match: int | None = Field(None, ge=0, le=100, description="hide results whose calibrated match is lower")
    focus: str | None = Field(None, description="noun of the subject 'it' / 'them' / 'one' refers to")

    @field_validator("words", "negatives")
    @classmethod
    def _phrases(cls, v: list[str]) -> list[str]:
        return [w for w in (" ".join(x.split()) for x in v) if w]

    @property
    def required(self) -> list[Subject]:
        return [s for s in self.subjects if not s.excluded]

    @property
    def excluded(self) -> list[Subject]:
        return [s for s in self.subjects if s.excluded]

    def find(self, noun: str, excluded: bool | None = False) -> Subject | None:
        """The subject with this noun (singular or plural; the last part of a compound also matches)."""
        want = singular(noun)
        for s in reversed(self.subjects):
            if excluded is not None and s.excluded != excluded:
                continue
            have = singular(s.noun)
            if have == want or have.split(" ")[-1] == want or want.split(" ")[-1] == have or same_thing(have, want):
                return s
        return None

    def focused(self) -> Subject | None:
        """The subject a pronoun points at: the focus if still required, else the last required one."""
        if self.focus:
            s = self.find(self.focus)
            if s is not None:
                return s
        req = self.required
        return req[-1] if req else None

    def text(self) -> str:
        """The description CLIP reads: the user's own phrases in order (refinements cut first when too long), or,
        for a state built from typed fields alone (the LLM planner's), things, kept words, then the setting."""
        if self.phrases:
            return " ".join(fit_phrases(self.phrases)[0])
        return clip_description(self.slot_text())

    def slot_text(self) -> str:
        """The typed fields as a caption: 'a white house and two trees at night'."""
        things = [s.phrase() for s in self.required]
        head = things[0] if len(things) == 1 else ", ".join(things[:-1]) + " and " + things[-1] if things else ""
        return " ".join(x for x in (head, " ".join(self.words), *self.setting.phrases()) if x)

    def cut_words(self) -> list[str]:
        """The words CLIP's 77-token context leaves out of the text, oldest refinements first ([] if none)."""
        return fit_phrases(self.phrases)[1] if self.phrases else []

    def negative_phrases(self) -> list[str]:
        out = []
        for n in [s.phrase(article=False) for s in self.excluded] + self.negatives:
            if n and n not in out:
                out.append(n)
        return out

    def is_empty(self) -> bool:
        return not (self.text() or self.like)

    def to_query(self, default_k: int = 10, default_min_match: int | None = None) -> ImageQuery:
        return ImageQuery(
            text=self.text(),
            negatives=self.negative_phrases(),
            like=list(self.like),
            unlike=list(self.unlike),
            filters=self.filters,
            k=max(1, min(MAX_K, self.k or default_k)),
            min_match=self.min_match if self.min_match is not None else default_min_match,
        )

    def describe(self) -> str:
        """What the search means now, in a few words: 'white house and trees, at night, no boats'."""
        parts = []
        things = [s.phrase(article=False) for s in self.required]
        if things or self.words:
            parts.append(" and ".join(things) + (" " if things and self.words else "") + " ".join(self.words))
        parts += self.setting.phrases()
        excl = self.negative_phrases()
        if excl:
            parts.append("no " + ", no ".join(excl))
        chosen = [x for x in self.like if not _is_file(x)]
        if chosen:
            parts.append(f"like {len(chosen)} chosen image{'s' if len(chosen) > 1 else ''}")
        if len(chosen) < len(self.like):
            parts.append("like your example image" + ("s" if len(self.like) - len(chosen) > 1 else ""))
        if self.unlike:
            parts.append(f"unlike {len(self.unlike)} image{'s' if len(self.unlike) > 1 else ''}")
        return ", ".join(p for p in parts if p)


def _is_file(ref: str) -> bool:
    """A reference given as a file (an uploaded example), not as the id of an indexed image."""
    return "/" in ref or "\\" in ref


def clip_description(text: str, limit: int = MAX_DESCRIPTION_TOKENS) -> str:
    """Bound a description to what CLIP reads (~1 token per word plus punctuation, conservatively)."""
    words = " ".join(text.split()).split(" ")
    out, budget = [], limit - 2  # start and end tokens
    for w in words:
        cost = max(1, len(w) // 6 + 1)
        if cost > budget:
            break
        out.append(w)
        budget -= cost
    return " ".join(out)


def _cost(word: str) -> int:
    return max(1, len(word) // 6 + 1)  # ~1 BPE token per short word, more for long ones (conservative)


def fit_phrases(phrases: list[str], limit: int = MAX_DESCRIPTION_TOKENS) -> tuple[list[str], list[str]]:
    """The phrases cut to CLIP's context, and the words cut. Refinements go first, oldest first, from their end;
    the first description is never cut for them (only when it alone is too long, from its end)."""
    words = [p.split() for p in phrases]
    budget = limit - 2  # start and end tokens
    total = sum(_cost(w) for ws in words for w in ws)
    cut: list[str] = []
    for ws in [*words[1:], words[0] if words else []]:  # refinements oldest first, the first description last
        gone: list[str] = []
        while ws and total > budget:
            total -= _cost(ws[-1])
            gone.insert(0, ws.pop())
        cut += gone
    return [" ".join(ws) for ws in words if ws], cut


def changes(old: SearchState | None, new: SearchState) -> list[str]:
    """What a turn changed, in short phrases for the reply ('added a dog', 'now at night', 'no boats')."""
    if old is None or not (old.required or old.excluded or old.words or old.like):
        return []
    out: list[str] = []
    if not new.required and new.like and not (set(new.like) & set(old.like)):
        return ["new search by example"]
    old_req = {s.noun: s for s in old.required}
    new_req = {s.noun: s for s in new.required}
    if old_req and new_req and not set(old_req) & set(new_req) and not (set(old.words) & set(new.words)):
        return ["new search"]
    for n, s in new_req.items():
        if n not in old_req:
            out.append(f"added {s.phrase()}")
        elif old_req[n] != s:
            out.append(f"now {s.phrase(article=False)}")
    for n in old_req:
        if n not in new_req and not new.find(n, excluded=True):
            out.append(f"dropped {n}")
    old_neg, new_neg = set(old.negative_phrases()), new.negative_phrases()
    out += [f"no {n}" for n in new_neg if n not in old_neg]
    out += [f"{n} allowed again" for n in old_neg if n not in new_neg]
    for slot in ("place", "time", "season", "weather"):
        a, b = getattr(old.setting, slot), getattr(new.setting, slot)
        if a != b:
            out.append(f"no {slot} given" if b is None else "now " + (Setting(**{slot: b}).phrases() or [b])[0])
    if new.filters != old.filters:
        out.append("filters changed")
    return out
