"""One way to open a gallery: its model, its store and a searcher over them, for every command, eval, bench and
test. Heavy modules (torch, open_clip, chromadb) load here, on call, never at import."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from picseek.tools.models import DEFAULT_MODEL

if TYPE_CHECKING:  # only for the annotations: torch and chromadb load when a gallery opens, not at import
    from picseek.tools.embed import Embedder
    from picseek.tools.retrieve import Searcher
    from picseek.tools.store import Store


@dataclass
class Gallery:
    """An image folder as picseek sees it: the embedder of its model and the store of its vectors."""

    folder: Path
    embedder: Embedder
    store: Store
    _searcher: Searcher | None = field(default=None, repr=False)

    @property
    def searcher(self) -> Searcher:
        """The searcher over this store (made once: it keeps the calibration of the gallery)."""
        if self._searcher is None:
            from picseek.tools.retrieve import Searcher

            self._searcher = Searcher(self.store, self.embedder)
        return self._searcher


def open_gallery(
    folder: Path,
    model: str = DEFAULT_MODEL,
    *,
    checkpoint: Path | None = None,
    store: Path | None = None,
    chroma_url: str | None = None,
    precision: str = "auto",
    create: bool = False,
    replace: bool = False,
) -> Gallery:
    """The gallery at `folder` under `model`. Its store lives in `store`, else under $PICSEEK_HOME (one per folder
    and model, or per checkpoint); `create` makes it when missing, `replace` drops vectors of other weights."""
    from picseek.tools.embed import Embedder
    from picseek.tools.home import store_dir
    from picseek.tools.models import resolve
    from picseek.tools.store import Store

    spec = resolve(model, checkpoint)
    embedder = Embedder(spec, precision=precision)
    state = store or store_dir(folder, spec.name if not checkpoint else f"{spec.name}-{spec.weights_id}")
    st = Store.open(state, folder, embedder, chroma_url=chroma_url, create=create, replace=replace)
    return Gallery(Path(folder), embedder, st)
