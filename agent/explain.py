"""Replies grounded only in tool results: counts, the query as run, why the top hits fit, one suggestion."""

from __future__ import annotations

from collections import Counter

from agent.safety import quote, sanitize
from tools.retrieve import Hit, ImageQuery, content_words


def describe_query(q: ImageQuery) -> str:
    parts = []
    if q.text:
        parts.append(quote(q.text, 200))
    if q.like:
        parts.append(f"like {len(q.like)} reference image{'s' if len(q.like) > 1 else ''}")
    if q.unlike:
        parts.append(f"unlike {len(q.unlike)} image{'s' if len(q.unlike) > 1 else ''}")
    if q.negatives:
        parts.append("excluding " + ", ".join(quote(n, 40) for n in q.negatives))
    f = q.filters
    if f.date_from or f.date_to:
        parts.append(f"taken {f.date_from or '…'} to {f.date_to or '…'}")
    if f.orientation:
        parts.append(f"{f.orientation} orientation")
    if f.min_width or f.min_height:
        parts.append(f"at least {f.min_width or '?'}x{f.min_height or '?'} px")
    if f.formats:
        parts.append("format " + "/".join(f.formats))
    if f.folder:
        parts.append(f"in folder {quote(f.folder, 60)}")
    if f.camera:
        parts.append(f"camera {quote(f.camera, 40)}")
    return ", ".join(parts) or "everything"


def _why(h: Hit) -> str:
    label = h.caption or h.metadata.get("name") or h.path.rsplit("/", 1)[-1]
    return f"#{h.rank} {quote(label, 90)} (score {h.score:.2f})"


def suggestion(q: ImageQuery, hits: list[Hit]) -> str:
    """One refinement idea drawn from the captions of the hits (never invented), else a generic hint."""
    words = Counter()
    used = content_words(q.text) | {w for n in q.negatives for w in content_words(n)}
    for h in hits:
        words.update(w for w in content_words(h.caption) if w.isalpha() and w not in used and len(w) > 2)
    common = [w for w, c in words.most_common() if 1 < c < len(hits)]
    if common:
        w = common[0]
        return f"Try “only with {w}” or “without {w}”, or “more like #1” to follow an image."
    if q.negatives:
        return "Say “more like #2” to follow one image, or add another “without …”."
    return "Say “without …” to exclude something, “more like #2” to follow an image, or add a place or time."


def explain(q: ImageQuery, hits: list[Hit], planner: str, note: str = "") -> str:
    head = sanitize(note, 300) + "\n" if note else ""
    if not hits:
        return (
            f"{head}No images matched {describe_query(q)}. Try a broader description or fewer filters"
            f"{' (the score threshold may be too strict)' if q.threshold is not None else ''}."
        )
    top = "; ".join(_why(h) for h in hits[:3])
    return (
        f"{head}Found {len(hits)} image{'s' if len(hits) != 1 else ''} for {describe_query(q)}. "
        f"Best matches: {top}. {suggestion(q, hits)} [planner: {planner}]"
    )
