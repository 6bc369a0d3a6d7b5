"""The agent layer's errors (the tools layer's are in tools/errors.py)."""

from __future__ import annotations

from picseek.tools.errors import PicseekError


class ToolError(PicseekError):
    """A tool call that could not run; the message goes back to the planner as an observation."""


class EnglishModelMissing(PicseekError):
    """No English spaCy pipeline is installed, so the offline planner cannot parse messages."""


class LLMUnavailable(Exception):
    """The LLM endpoint failed (timeout, rate limit, server error) after bounded retries."""


class LLMModelUnknown(PicseekError):
    """No model was named for an endpoint, and its /v1/models lists none or several to choose from."""


class UnknownPlanner(PicseekError):
    """No planner is registered under the name asked for."""
