"""What a planner decides for one turn, and how a refinement merges into the current search."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from tools.retrieve import MAX_K, Filters, ImageQuery

MAX_DESCRIPTION_TOKENS = 77  # CLIP's context; longer descriptions are cut at a word boundary


class QueryPlan(BaseModel):
    """One turn's decision: a new search, or a refinement of the current one.

    `like`/`unlike` hold 1-based positions in the last results ("#2") or image ids. On refine, `description`
    replaces the current one when given; negatives, references and filters add to what is there.
    """

    mode: Literal["new", "refine"] = "new"
    description: str = ""
    negatives: list[str] = Field(default_factory=list)
    remove_negatives: list[str] = Field(default_factory=list)
    like: list[int | str] = Field(default_factory=list)
    unlike: list[int | str] = Field(default_factory=list)
    filters: dict = Field(default_factory=dict)
    k: int | None = None
    threshold: float | None = None


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


def merge(current: ImageQuery | None, plan: QueryPlan, resolve_ref) -> ImageQuery:
    """Apply a plan to the current query. `resolve_ref(pos_or_id) -> image id` maps "#2" to an id."""
    base = current if (plan.mode == "refine" and current is not None) else ImageQuery()
    like = [] if plan.mode == "new" else list(base.like)
    unlike = [] if plan.mode == "new" else list(base.unlike)
    for refs, into, out_of in ((plan.like, like, unlike), (plan.unlike, unlike, like)):
        for ref in refs:  # an image is either liked or unliked: the newest word wins
            rid = resolve_ref(ref)
            if rid not in into:
                into.append(rid)
            if rid in out_of:
                out_of.remove(rid)
    negatives = [n for n in base.negatives if n not in plan.remove_negatives] if plan.mode == "refine" else []
    negatives += [n for n in plan.negatives if n and n not in negatives]
    filters = base.filters.model_dump() if plan.mode == "refine" else {}
    filters.update({k: v for k, v in plan.filters.items() if v is not None})
    text = clip_description(plan.description) if plan.description else base.text
    return ImageQuery(
        text=text,
        negatives=negatives,
        like=like,
        unlike=unlike,
        filters=Filters(**filters),
        k=max(1, min(MAX_K, plan.k or base.k)),
        threshold=plan.threshold if plan.threshold is not None else base.threshold,
    )
