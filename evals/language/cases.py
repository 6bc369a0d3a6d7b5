"""The follow-up language suite's case format (see README.md), its loader and the one fixed split.

`python -m picseek.evals.language.cases FILE...` checks that files follow the format.
"""

from __future__ import annotations

import json
import random
import sys
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

HERE = Path(__file__).parent
SPLIT_SEED = 1111
PHENOMENA = (
    "add modify reference exclude reallow correct switch number plural adjectives time place season_weather "
    "multi_clause typo filler question qa_turn answer results filters keep_words"
).split()
TIMES = ("sunrise", "morning", "day", "afternoon", "sunset", "evening", "night")
SEASONS = ("spring", "summer", "autumn", "winter")
WEATHERS = ("sunny", "cloudy", "rainy", "snowy", "foggy", "stormy")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExpectSubject(Strict):
    noun: str
    color: str | None = None
    size: Literal["small", "large"] | None = None
    count: int | None = None
    adjectives: list[str] = Field(default_factory=list)


class ExpectFilters(Strict):
    date_from: date | None = None
    date_to: date | None = None
    orientation: Literal["landscape", "portrait", "square"] | None = None
    min_width: int | None = None
    min_height: int | None = None
    formats: list[str] = Field(default_factory=list)
    folder: str | None = None
    camera: str | None = None


class Expect(Strict):
    subjects: list[ExpectSubject] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    place: str | None = None
    time: Literal[TIMES] | None = None  # type: ignore[valid-type]
    season: Literal[SEASONS] | None = None  # type: ignore[valid-type]
    weather: Literal[WEATHERS] | None = None  # type: ignore[valid-type]
    like: list[int] = Field(default_factory=list)
    unlike: list[int] = Field(default_factory=list)
    filters: ExpectFilters = Field(default_factory=ExpectFilters)
    k: int | None = None
    text_has: list[str] = Field(default_factory=list)


class Asked(Strict):
    kind: Literal["attribute", "setting", "presence"]
    slot: Literal["color", "size", "count", "time", "place", "season", "weather"] | None = None
    noun: str | None = None
    options: list[str] = Field(default_factory=list)
    text: str = ""


class Case(Strict):
    id: str
    phenomenon: Literal[tuple(PHENOMENA)]  # type: ignore[valid-type]
    context: list[str] = Field(default_factory=list, max_length=6)
    utterance: str
    asked: Asked | None = None
    today: date = date(2026, 6, 15)
    expect: Expect


def load(path: Path) -> list[Case]:
    out = []
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(Case.model_validate_json(line))
        except ValidationError as e:
            raise ValueError(f"{path}:{n}: {e}") from None
    return out


def split(cases: list[Case], seed: int = SPLIT_SEED) -> tuple[list[Case], list[Case]]:
    """The one fixed split: half of each phenomenon to development, half to held-out."""
    rng = random.Random(seed)
    dev, held = [], []
    for ph in PHENOMENA:
        group = sorted((c for c in cases if c.phenomenon == ph), key=lambda c: c.id)
        rng.shuffle(group)
        half = len(group) // 2
        dev += group[:half]
        held += group[half:]
    return dev, held


def write(cases: list[Case], path: Path) -> None:
    with open(path, "w") as f:
        for c in cases:
            f.write(json.dumps(c.model_dump(mode="json", exclude_defaults=True)) + "\n")


if __name__ == "__main__":
    bad = 0
    for p in sys.argv[1:]:
        try:
            cases = load(Path(p))
        except ValueError as e:
            print(e)
            bad += 1
            continue
        ids = [c.id for c in cases]
        dupes = {i for i in ids if ids.count(i) > 1}
        by = {ph: sum(c.phenomenon == ph for c in cases) for ph in PHENOMENA}
        print(f"{p}: {len(cases)} cases; duplicate ids: {sorted(dupes) or 'none'}; per phenomenon: {by}")
        bad += bool(dupes)
    sys.exit(1 if bad else 0)
