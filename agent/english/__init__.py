"""The English reader: one message, the current search state and the question picseek asked -> the new state.

`read_message` is the one entry point; `Tracker` (tracker.py) is the reader behind it. The modules here know
English, not any gallery: closed word classes and cue phrases (lexicon.py, cues.py), the parse (language.py),
what each word is (words.py, reading.py, scope.py), question-answer turns (answers.py), phrases about files and
results (metadata.py). Nothing heavy is imported until a message is read: spaCy loads on the first parse.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from picseek.agent.english.answers import Update
    from picseek.agent.state import Question, SearchState

__all__ = ["read_message"]


def read_message(
    message: str,
    state: SearchState,
    asked: Question | None = None,
    resolve: Callable[[int], str] = str,
    today: date | None = None,
    written: dict[str, str] | None = None,
) -> Update:
    """Apply one user message to `state` (never changed; the update holds a new one). `asked`: the question the
    last reply asked, which the message may answer; `resolve` maps a result position ("#2") to an image id;
    `written`: the masked words of `places.read_places` (written words, named places), given back to CLIP."""
    from picseek.agent.english.tracker import Tracker

    return Tracker(today).update(state, message, asked=asked, resolve=resolve, written=written)
