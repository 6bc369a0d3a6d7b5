"""`picseek search`: one query against an index, with every filter as an option (registered by `ui.cli`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from picseek.ui.options import GalleryArgs, JsonOpt, PrecisionOpt, gallery_options
from picseek.ui.terminal import echo_hit


@gallery_options
def search(
    text: Annotated[str, typer.Argument(help="what to look for, e.g. 'red car at night'")] = "",
    negatives: Annotated[list[str], typer.Option("--not", help="concept to exclude (repeatable)")] = [],  # noqa: B006
    like: Annotated[list[str], typer.Option("--like", help="reference image: more like this (repeatable)")] = [],  # noqa: B006
    unlike: Annotated[list[str], typer.Option("--unlike", help="image to move away from (repeatable)")] = [],  # noqa: B006
    k: Annotated[int, typer.Option("--k", "-k", help="number of results")] = 10,
    min_match: Annotated[
        int | None, typer.Option("--min-match", help="hide results with a calibrated match (0-100) below this")
    ] = None,
    threshold: Annotated[float | None, typer.Option(help="hide results whose raw cosine is below this")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="taken on or after YYYY-MM-DD")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="taken on or before YYYY-MM-DD")] = None,
    orientation: Annotated[str | None, typer.Option(help="landscape, portrait or square")] = None,
    min_width: Annotated[int | None, typer.Option(help="minimum width in pixels")] = None,
    min_height: Annotated[int | None, typer.Option(help="minimum height in pixels")] = None,
    formats: Annotated[list[str], typer.Option("--format", help="file format, e.g. JPEG (repeatable)")] = [],  # noqa: B006
    subfolder: Annotated[str | None, typer.Option("--folder", help="only this sub-folder of the gallery")] = None,
    camera: Annotated[str | None, typer.Option(help="camera make or model")] = None,
    no_collapse: Annotated[bool, typer.Option("--keep-duplicates", help="do not collapse near-duplicates")] = False,
    precision: PrecisionOpt = "auto",
    as_json: JsonOpt = False,
    *,
    opts: GalleryArgs,
) -> None:
    """Search an indexed folder by description and/or example images."""
    from picseek.tools.retrieve import parse_day

    filters = {"date_from": parse_day(date_from), "date_to": parse_day(date_to), "orientation": orientation}
    filters |= {"min_width": min_width, "min_height": min_height, "formats": formats}
    filters |= {"folder": subfolder, "camera": camera}
    q = _query(
        text=text,
        negatives=negatives,
        like=_resolved(like),
        unlike=_resolved(unlike),
        k=k,
        threshold=threshold,
        min_match=min_match,
        collapse_duplicates=not no_collapse,
        filters=filters,
    )
    _show(opts.open(precision=precision).searcher.search(q), as_json)


def _resolved(paths: list[str]) -> list[str]:
    """Reference images given as existing files become absolute paths; ids and gallery paths pass as given."""
    return [str(Path(p).resolve()) if Path(p).exists() else p for p in paths]


def _query(**fields):
    """The ImageQuery these options make; a bad value is a one-line error naming the option's field."""
    from picseek.tools.errors import BadQuery
    from picseek.tools.retrieve import ImageQuery
    from pydantic import ValidationError

    try:
        return ImageQuery(**fields)
    except ValidationError as e:
        raise BadQuery("; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())) from None


def _show(hits, as_json: bool) -> None:
    from picseek.agent.explain import nothing_matches

    if as_json:
        typer.echo(json.dumps([h.model_dump(mode="json") for h in hits], indent=2, default=str))
        return
    if not hits:
        typer.echo("no matches")
    elif nothing_matches(hits):
        typer.echo("nothing matches well; the closest:")
    for h in hits:
        echo_hit(h)
