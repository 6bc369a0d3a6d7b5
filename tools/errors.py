"""Errors a user can act on. Each message says what happened and what to do; the CLI prints it without a traceback.

`SkipImage` and `CaptionFailed` are per-image reasons rather than failures of a command: the run goes on and
reports them with the file they belong to.
"""

from __future__ import annotations

from collections.abc import Iterable


class PicseekError(Exception):
    """Base class: a problem the user can fix, reported as one clear sentence."""


class ModelWeightsUnavailable(PicseekError):
    """The weights for a model could not be downloaded or read."""


class UnknownModel(PicseekError):
    """A model name that is neither registered nor an open_clip architecture."""


class StoreMismatch(PicseekError):
    """A store holds vectors from another model or a newer schema than this picseek understands."""


class StoreLocked(PicseekError):
    """Another process is writing to the same store."""


class StoreNotFound(PicseekError):
    """No index exists yet for the gallery (or store) that was asked for."""


class BadQuery(PicseekError):
    """A search request that cannot be run as given (unknown reference image, bad filter value...)."""


class BadChoice(PicseekError):
    """A setting given a value outside its closed set of choices; the message lists the valid ones."""


class GalleryNotFound(PicseekError):
    """The folder to index does not exist or is not a directory."""


class DecodeWorkersFailed(PicseekError):
    """The image decoding worker processes could not start, so no file was judged."""


class RayUnavailable(PicseekError):
    """`--ray` was asked for, but Ray is not installed."""


class RayClusterUnreachable(PicseekError):
    """No Ray cluster answers at the address given."""


class StoreNotShared(PicseekError):
    """The embedded store was asked for with a Ray cluster that has nodes on other machines."""


class GalleryNotShared(PicseekError):
    """A Ray node does not see the gallery at the path the driver walked."""


class SkipImage(Exception):
    """An image that cannot be indexed; the message is the short reason shown to the user."""


class CaptionFailed(Exception):
    """A backend could not caption an image; the message is the skip reason."""


def check_choice(setting: str, value: object, choices: Iterable[object]) -> None:
    """Raise `BadChoice` naming the valid values unless `value` is one of `choices`."""
    choices = tuple(choices)
    if value not in choices:
        valid = ", ".join(repr(c) for c in choices)
        raise BadChoice(f"{setting} must be one of {valid}, not {value!r}.")
