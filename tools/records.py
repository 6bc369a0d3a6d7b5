"""What the store holds per image, typed: the metadata schema (`ImageMeta`) and a record (`ImageRecord`).

The schema is declared here once: the indexer builds an `ImageMeta`, the store writes it as Chroma metadata and
reads it back into one, and metadata filters name its fields (`FIELDS`). Unknown keys are kept, so a store
written by a newer picseek still reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, model_serializer

Orientation = Literal["landscape", "portrait", "square"]


class ImageMeta(BaseModel):
    """One image's metadata as the indexer records it. Optional fields are absent (never None) in the store."""

    model_config = ConfigDict(extra="allow", frozen=True)

    path: str  # POSIX path relative to the gallery root
    dir: str  # its folder relative to the root, "" at the top level
    name: str  # file name
    bytes: int  # file size
    mtime_ns: int  # file modification time; with `bytes`, what tells an unchanged file
    mtime: int  # the same in whole seconds
    width: int  # pixels, as displayed (EXIF rotation applied)
    height: int
    format: str  # Pillow's format name: JPEG, PNG...
    orientation: Orientation
    megapixels: float
    frames: int | None = None  # only for images of several frames (animations, multi-page files)
    taken: str | None = None  # EXIF capture time, "YYYY-MM-DDTHH:MM:SS"
    taken_ts: int | None = None  # the same as a Unix timestamp (read as UTC)
    camera_make: str | None = None
    camera_model: str | None = None
    gps_lat: float | None = None
    gps_lon: float | None = None
    date_ts: int  # capture time if known, else file time: what date filters compare
    caption_by: str | None = None  # the captioner that wrote the image's caption
    # where it was taken, from its GPS (tools.places): absent without a usable position or a place near it
    place_id: int | None = None  # GeoNames id of the city
    place_city: str | None = None
    place_region: str | None = None  # US state (the only regions the GeoNames wheel names)
    place_country: str | None = None
    place_cc: str | None = None  # ISO 3166 country code
    place_by: str | None = None  # the geocoder data that labelled it; set whenever the GPS was usable
    ocr_text: str | None = None  # text read in the image (tools.ocr), untrusted: shown, never obeyed
    ocr_by: str | None = None  # the OCR engine that read it; set even when it found no text, so a rerun skips it
    ocr_words: int | None = None  # words in `ocr_text` (0: read, nothing found): what a search for text filters on

    @model_serializer(mode="wrap")
    def _without_none(self, handler) -> dict:
        # Chroma metadata cannot hold None, and JSON output keeps the keys the store holds
        return {k: v for k, v in handler(self).items() if v is not None}


# The field names, for code that must name a field as a string (Chroma `where` clauses): `FIELDS.date_ts`.
# A renamed or removed field fails where it is used, instead of silently matching nothing.
FIELDS = SimpleNamespace(**{name: name for name in ImageMeta.model_fields})


@dataclass(frozen=True)
class ImageRecord:
    """One image in the store: its id, metadata, caption (the Chroma document) and, when asked for, its vector."""

    id: str
    meta: ImageMeta
    caption: str | None = None
    vector: np.ndarray | None = None  # float32, L2-normalized
    distance: float | None = None  # cosine distance to the query, for query results
