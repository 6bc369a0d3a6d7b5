"""Errors a user can act on. Each message says what happened and what to do; the CLI prints it without a traceback."""


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


class GalleryNotFound(PicseekError):
    """The folder to index does not exist or is not a directory."""


class DecodeWorkersFailed(PicseekError):
    """The image decoding worker processes could not start, so no file was judged."""
