"""Text in images, read offline: an OCR engine as a step of the indexing pipeline, its text stored per image.

The engine is RapidOCR on onnxruntime (Apache-2.0): PaddleOCR's PP-OCRv4 detection and recognition models (Chinese
and English) ship inside its wheel, so reading needs no download and sends nothing anywhere. A run goes through the
same pipeline as embedding (`tools.pipeline`: decode workers with the decoder's limits, in process or on Ray), and
commits each batch as it is read; an image is read again only when its file changed or the engine did.

The text is untrusted (a sign in a photo can say anything): it is bounded, cleaned like EXIF text, and only ever
matched and shown, never followed.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from importlib.metadata import PackageNotFoundError, version

import numpy as np
from picseek.tools.decode_pool import Limits
from picseek.tools.errors import PicseekError
from picseek.tools.images import Decoded, Fit, clean_text
from picseek.tools.pipeline import InProcess, Job, Progress, Runner

log = logging.getLogger(__name__)

# The longest side the engine reads: a sign a few percent of the photo's width stays legible; text smaller than
# about 1/40 of the longest side is not read. Reading costs 1-3 s a photo on one shared CPU (README).
OCR_SIDE = 640
TEXT_LIMIT = 500  # characters of text kept per image
MIN_SCORE = 0.6  # the recogniser's confidence below which a line is noise
MATCH_SCORE = 80  # rapidfuzz partial ratio (0-100) at which a wanted word counts as written in the image


class OcrUnavailable(PicseekError):
    """The OCR engine is not installed."""


class OcrEngine:
    """RapidOCR on onnxruntime, loaded on first use. Pickles as its recipe, so a Ray actor loads its own."""

    fit = Fit(size=OCR_SIDE, resize_mode="longest", fill=255)

    def __init__(self, threads: int | None = None):
        self.threads = threads  # onnxruntime's threads per session (None: its default, all cores)
        try:
            # the reading size is part of what the engine reads: another one reads the store again
            self.id = f"rapidocr-onnxruntime@{version('rapidocr_onnxruntime')}/{OCR_SIDE}"
        except PackageNotFoundError:
            raise OcrUnavailable(
                "reading text in images needs RapidOCR, which is not installed: pip install rapidocr_onnxruntime"
            ) from None
        try:  # installed is not enough: a broken onnxruntime would fail every batch of a run that then reads nothing
            import rapidocr_onnxruntime  # noqa: F401
        except Exception as e:
            raise OcrUnavailable(
                f"RapidOCR is installed but cannot load ({type(e).__name__}: {str(e)[:120]}); reinstall it and "
                "onnxruntime: pip install --force-reinstall rapidocr_onnxruntime onnxruntime"
            ) from None

    @cached_property
    def engine(self):
        from rapidocr_onnxruntime import RapidOCR

        kw = {} if self.threads is None else {"intra_op_num_threads": self.threads, "inter_op_num_threads": 1}
        # detection at the size decoding delivers: the engine's default scales every image up to a 736-pixel short
        # side, which on the toy signs costs twice the time and reads no word more
        return RapidOCR(det_limit_side_len=OCR_SIDE, det_limit_type="max", **kw)

    def read(self, pixels: Sequence[np.ndarray]) -> list[str]:
        """The text in each image (RGB HxWx3 uint8), its lines in reading order joined by ' | ' ('' for none)."""
        out = []
        for p in pixels:
            result, _ = self.engine(np.ascontiguousarray(p[..., ::-1]))  # the engine reads OpenCV's BGR order
            out.append(_text(result or []))
        return out

    def __reduce__(self):
        return OcrEngine, (self.threads,)


def _text(result: list) -> str:
    """The engine's lines ([box, text, score]) as one bounded string: confident lines with at least two letters or
    digits (noise in textures reads as single glyphs), top to bottom, then left to right."""
    lines = []
    for _box, text, score in sorted(result, key=lambda r: (round(r[0][0][1] / 16), r[0][0][0])):
        text = clean_text(text, TEXT_LIMIT)
        if float(score) >= MIN_SCORE and len(re.findall(r"\w", text)) >= 2:
            lines.append(text)
    return clean_text(" | ".join(lines), TEXT_LIMIT)


class OcrStep:
    """The pipeline's model step: a batch of pixels in, one fixed-width string per image out (an array, as a remote
    runner carries results per image)."""

    def __init__(self, engine: OcrEngine):
        self.engine = engine

    def __call__(self, pixels: list[np.ndarray]) -> np.ndarray:
        try:
            texts = self.engine.read(pixels)
        except OcrUnavailable:
            raise
        except Exception:  # a failing batch costs only its images, which are read again next run
            log.exception("reading text failed for a batch of %d images", len(pixels))
            texts = [_FAILED] * len(pixels)
        return np.array(texts, dtype=f"<U{TEXT_LIMIT}")


_FAILED = "\x00failed"  # a result no image text can be (control characters are cleaned out of real text)


@dataclass
class OcrReport:
    read: int = 0  # images read
    with_text: int = 0  # of those, images where text was found
    unchanged: int = 0  # images already read by this engine
    skipped: list = field(default_factory=list)  # [{"path", "reason"}]
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"read text in {self.read} images ({self.with_text} with text), already read {self.unchanged}, "
            f"skipped {len(self.skipped)} in {self.seconds:.1f}s"
        )

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in ("read", "with_text", "unchanged", "skipped", "seconds")}


def ocr_images(
    store,
    engine: OcrEngine | None = None,
    ids: Sequence[str] | None = None,
    redo: bool = False,
    batch_size: int = 8,
    progress: bool | None = None,
    runner: Runner | None = None,
    workers: int | None = None,
    limits: Limits = Limits(),
) -> OcrReport:
    """Read the text in the store's images that this engine has not read yet (all of them with `redo`; only `ids`
    when given) and store it per image (`ImageMeta.ocr_text`, `ocr_by`). Resumable: each batch is stored as it is
    read. `runner` carries the pipeline (default: `InProcess(workers)`)."""
    engine = engine or OcrEngine()
    t0 = time.monotonic()
    report = OcrReport()
    if ids is not None:
        records = store.get(list(ids))
    elif redo:
        records = list(store.iter_metadata())
    else:
        records = store.records_where({"ocr_by": {"$ne": engine.id}})
        report.unchanged = store.count() - len(records)
    todo = {}
    for r in records:
        if not redo and r.meta.ocr_by == engine.id:
            report.unchanged += 1
        else:
            todo[r.id] = r
    if todo:
        runner = runner or InProcess(workers)
        if isinstance(runner, InProcess):
            _ = engine.engine  # load the models before the bar starts
        sink = _OcrSink(store, engine.id, todo, report)
        job = Job(engine.fit, limits, OcrStep(engine), sink.commit, sink.skip)
        runner(
            [(i, str(store.gallery / r.meta.path)) for i, r in todo.items()], job, batch_size, Progress("ocr", progress)
        )
    report.seconds = round(time.monotonic() - t0, 3)
    return report


@dataclass
class _OcrSink:
    """Where a reading run's results go: text to the store, failures and counts to the report."""

    store: object  # tools.store.Store
    engine_id: str
    todo: dict  # id -> ImageRecord being read
    report: OcrReport

    def commit(self, ids: list[str], decoded: list[Decoded], texts) -> None:
        updates = {}
        for i, text in zip(ids, texts):
            text = str(text)
            if text == _FAILED:
                self.skip(i, "reading text failed (see the log)")
                continue
            # the engine's stamp goes with an empty text too, so an image without text is not read again
            updates[i] = {"ocr_text": text, "ocr_by": self.engine_id, "ocr_words": len(re.findall(r"\w+", text))}
            self.report.with_text += bool(text)
        self.store.update_metadata(updates)
        self.report.read += len(updates)

    def skip(self, i: str, reason: str) -> None:
        self.report.skipped.append({"path": self.todo[i].meta.path, "reason": reason})


def _norm(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def text_match(terms: Sequence[str], ocr_text: str | None) -> float:
    """How well the wanted words are written in an image's text, 0-100, case and punctuation ignored: the mean over
    the terms of their best similarity (rapidfuzz) to a word of the text (a phrase: to a span of as many words),
    each below MATCH_SCORE counting 0. Whole words, so 'bar' does not match 'barber'."""
    if not terms or not ocr_text:
        return 0.0
    from rapidfuzz import fuzz

    have = _norm(ocr_text).split()
    scores = []
    for t in terms:
        want = _norm(t).split()
        n = len(want)
        spans = [" ".join(have[i : i + n]) for i in range(max(1, len(have) - n + 1))] if want else []
        s = max((fuzz.ratio(" ".join(want), sp) for sp in spans), default=0.0)
        scores.append(s if s >= MATCH_SCORE else 0.0)
    return sum(scores) / len(scores)


def shown(ocr_text: str | None, limit: int = 60) -> str:
    """'text in image: BAKERY' for replies and Details ('' when there is none)."""
    text = clean_text(ocr_text or "", limit)
    return f"text in image: {text}" if text else ""
