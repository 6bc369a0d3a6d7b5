"""Replies grounded only in the search state and the tool results: what the search means now, what changed, why
the top hits fit, and the question (or a suggestion) that would narrow it."""

from __future__ import annotations

from agent.safety import quote, sanitize
from agent.state import Question, SearchState
from tools.retrieve import Filters, Hit, ImageQuery


def describe_filters(f: Filters) -> list[str]:
    parts = []
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
    return parts


def describe(state: SearchState) -> str:
    """'“white house and trees, at night, no boats”, landscape orientation'."""
    meaning = state.describe()
    parts = [quote(meaning, 200)] if meaning else []
    return ", ".join(parts + describe_filters(state.filters)) or "everything"


def _why(h: Hit) -> str:
    label = h.caption or h.metadata.get("name") or h.path.rsplit("/", 1)[-1]
    return f"#{h.rank} {quote(label, 90)} ({h.score:.2f})"


def explain(
    state: SearchState,
    query: ImageQuery | None,
    hits: list[Hit],
    planner: str,
    note: str = "",
    changed: list[str] | None = None,
    question: Question | None = None,
) -> str:
    head = sanitize(note, 300) + "\n" if note else ""
    what = describe(state)
    change = f" ({sanitize('; '.join(changed), 200)})" if changed else ""
    if not hits:
        strict = " (the score threshold may be too strict)" if query is not None and query.threshold else ""
        return f"{head}No images matched {what}{change}. Try a broader description or fewer filters{strict}."
    top = "; ".join(_why(h) for h in hits[:3])
    ask = f" {sanitize(question.text, 200)}" if question else ""
    return (
        f"{head}Found {len(hits)} image{'s' if len(hits) != 1 else ''} for {what}{change}. "
        f"Best matches: {top}.{ask} [planner: {planner}]"
    )


def explain_failure(reason: str) -> str:
    return f"I could not run that search: {reason}"
