"""Where picseek keeps its state. `$PICSEEK_HOME` moves all of it; the user's image folders are never written to."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from picseek.tools.settings import settings
from platformdirs import user_data_dir


def home() -> Path:
    """The root of all picseek state: `$PICSEEK_HOME`, else the platform's user data dir."""
    env = settings().home
    return env.expanduser().resolve() if env else Path(user_data_dir("picseek", appauthor=False))


def models_dir() -> Path:
    return home() / "models"


def logs_dir() -> Path:
    return home() / "logs"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:40] or "x"


def store_dir(gallery: Path, model_name: str) -> Path:
    """One store per (gallery folder, model): `stores/<folder>-<hash of its absolute path>/<model>/`."""
    root = Path(gallery).expanduser().resolve()
    digest = hashlib.sha1(os.fsencode(root)).hexdigest()[:10]
    return home() / "stores" / f"{_slug(root.name)}-{digest}" / _slug(model_name)
