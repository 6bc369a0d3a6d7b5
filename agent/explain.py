"""Replies grounded only in the search state and the tool results: what the search means now, what changed, why
the top hits fit, and the question (or a suggestion) that would narrow it."""

from __future__ import annotations

from collections import Counter

from picseek.agent.english.lexicon import SEASON_PHRASE, TIME_PHRASE, WEATHER_PHRASE
from picseek.agent.safety import quote, sanitize
from picseek.agent.state import Question, SearchState
from picseek.tools.probes import ImageFacts
from picseek.tools.relevance import STRONG, WEAK
from picseek.tools.retrieve import Filters, Hit, ImageQuery, content_words


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


def _words(text: str | None) -> dict[str, str]:
    """Content words of a text by their comparable form ('cars' and 'car' meet), each as first written."""
    out: dict[str, str] = {}
    for w in (text or "").lower().split():
        w = w.strip(".,;:!?\"'()")
        for key in content_words(w):
            out.setdefault(key, w)
    return out


def reason(h: Hit, state: SearchState, facts: ImageFacts | None = None, captions: bool = True) -> str:
    """Why a result is here, in words: what its caption shares with the description (and lacks), what its vector
    shows of it (tools.probes), the chosen image it resembles, the excluded concepts it stays clear of.

    `facts`: what the image's vector says; `captions`: False reads no caption (--no-captions). "No mention of X"
    is never said beside a strong match: a caption is short, and a strong match already says the image has it."""
    parts = []
    want = _words(state.text())
    have = _words(h.caption) if captions and h.caption else {}
    if facts is not None:
        shown = _words(" ".join([*facts.words(), *sorted(facts.things)]))
        seen = [w for k, w in want.items() if k in shown and k not in have]
        if seen and h.match >= WEAK:  # what a "no match" shows is not said: it would contradict the verdict
            parts.append("shows " + ", ".join(seen))
    if have and want:
        got = [w for k, w in want.items() if k in have]
        miss = [w for k, w in want.items() if k not in have]
        if got:
            parts.insert(0, "caption has " + ", ".join(got))
        if miss and h.match < STRONG and not (facts and all(k in _words(" ".join(facts.words())) for k in miss)):
            parts.append("no mention of " + ", ".join(miss))
    if facts is not None:
        parts += _contradictions(state, facts)
    if h.similar_to:
        parts.append(f"looks like {h.similar_to}, which you chose")
    if h.avoided:
        parts.append("scores low on " + ", ".join(h.avoided) + " (excluded)")
    if state.filters.text_in_image and h.metadata.ocr_text:
        from picseek.tools.ocr import shown as text_shown  # lazily: the agent loads no OCR module otherwise

        # the words read in the image come first: they are why it ranks where it does. OCR text is untrusted: it is
        # stripped of markup and links (whole, before it is cut, so no half link slips through), then bounded
        said = text_shown(sanitize(h.metadata.ocr_text, 500))
        if said:
            parts.insert(0, said)
    return "; ".join(parts)


def _contradictions(state: SearchState, facts: ImageFacts) -> list[str]:
    """Where the image's vector disagrees with the description: 'looks taken during the day, not at night'."""
    out = []
    said = {"time": state.setting.time, "season": state.setting.season, "weather": state.setting.weather}
    phrase = {"time": TIME_PHRASE, "season": SEASON_PHRASE, "weather": WEATHER_PHRASE}
    for slot, value in facts.setting:
        want = said.get(slot)
        if want and value != want and value in phrase[slot]:
            out.append(f"looks {phrase[slot][value]}, not {phrase[slot].get(want, want)}")
    return out


def _why(h: Hit) -> str:
    label = h.caption or h.metadata.name or h.path.rsplit("/", 1)[-1]
    why = f": {sanitize(h.reason, 120)}" if h.reason else ""
    return f"#{h.rank} {quote(label, 90)} ({h.strength} match {h.match}/100{why})"


def _tally(hits: list[Hit]) -> str:
    counts = Counter(h.strength for h in hits)
    return ", ".join(f"{counts[s]} {s}" for s in ("strong", "fair", "weak", "no") if counts[s])


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
        strict = " (the minimum match may be too strict)" if query is not None and query.min_match else ""
        return f"{head}No images matched {what}{change}. Try a broader description or fewer filters{strict}."
    top = "; ".join(_why(h) for h in hits[:3])
    ask = f" {sanitize(question.text, 200)}" if question else ""
    if nothing_matches(hits):
        return (
            f"{head}Nothing in this folder matches {what} well{change}. The closest {len(hits)} are below, "
            f"none better than chance: {top}. Try other words, or describe what is in the picture. [planner: {planner}]"
        )
    return (
        f"{head}Found {len(hits)} image{'s' if len(hits) != 1 else ''} for {what}{change}: {_tally(hits)} "
        f"match{'es' if len(hits) != 1 else ''}. Best: {top}.{ask} [planner: {planner}]"
    )


def nothing_matches(hits: list[Hit]) -> bool:
    """True when even the best result is no better than chance (so the reply says so, and the log counts it)."""
    return bool(hits) and hits[0].match < WEAK


def explain_failure(reason: str) -> str:
    return f"I could not run that search: {reason}"
