"""The eval and toy-world commands of `picseek` (registered on the main app by `ui.cli`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer
from picseek.tools.errors import PicseekError
from picseek.ui.options import AgentArgs, JsonOpt, llm_options
from picseek.ui.wiring import make_captioner


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_)
    app.command("toy-targets")(toy_targets_cmd)
    app.command("toy-dialogues")(toy_dialogues_cmd)
    app.command("toy-gallery")(toy_gallery)


@llm_options
def eval_(
    dataset: Annotated[
        Path, typer.Argument(help="dialogues (our JSONL, Karpathy caption JSON, VisDial JSON) or target lines")
    ],
    systems: Annotated[
        list[str],
        typer.Option(
            "--system",
            help="refinement: agent, agent-llm, concat, last; target: agent, agent-llm, volunteer, describe",
        ),
    ] = [],  # noqa: B006
    protocol: Annotated[
        Literal["refinement", "target"], typer.Option(help="refinement (per-turn relevance) or target (find one image)")
    ] = "refinement",
    answerer: Annotated[
        Literal["toy", "llm"], typer.Option(help="target protocol: toy (scenes.jsonl) or llm (reference captions)")
    ] = "toy",
    rounds: Annotated[int, typer.Option(help="target protocol: rounds after the first description")] = 5,
    answers: Annotated[
        Literal["own", "dev", "heldout"],
        typer.Option(help="target protocol, toy answerer: answer phrasings (blind templates dev/heldout, or own)"),
    ] = "dev",
    out: Annotated[Path, typer.Option("--out", help="output folder (resumable)")] = Path("eval-out"),
    limit: Annotated[int | None, typer.Option(help="only the first N dialogues")] = None,
    fmt: Annotated[str, typer.Option("--format", help="auto, jsonl, coco, visdial")] = "auto",
    split: Annotated[str, typer.Option(help="Karpathy split for COCO/Flickr files")] = "test",
    as_json: JsonOpt = False,
    server: Annotated[
        str | None,
        typer.Option("--server", help="refinement: the agent system's turns go to a running `picseek serve` at URL"),
    ] = None,
    *,
    opts: AgentArgs,
) -> None:
    """Scripted eval: per-turn P@10, R@10, Hits@k, MRR, nDCG, BRI and latency for each system."""
    if server and protocol == "target":
        raise PicseekError(
            "--server runs the refinement protocol only: the target protocol ranks near-duplicates apart, which a "
            "server's agent folds together."
        )
    g = opts.open()
    llm = (opts.llm_model, opts.llm_base_url)
    if protocol == "target":
        where = (opts.folder, g.searcher, g.embedder)
        captions = not opts.no_captions
        summary = _eval_target(
            dataset, *where, systems, answerer, rounds, out, limit, *llm, captions=captions, answers=answers
        )
    else:
        summary = _eval_refinement(
            dataset, g.searcher, systems, out, limit, fmt, split, *llm, captions=not opts.no_captions, server=server
        )
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        typer.echo((out / "report.md").read_text())
        typer.echo(f"wrote {out}/summary.json, results.jsonl, report.md and a plot")


def _eval_refinement(
    dataset, searcher, systems, out, limit, fmt, split, llm_model, llm_base_url, captions: bool = True, server=None
) -> dict:
    from picseek.agent.agent import Agent
    from picseek.evals.datasets import load
    from picseek.evals.runner import AgentSystem, TextBaseline, run

    kw = {"split": split} if fmt == "coco" else {}
    dialogues = load(dataset, fmt, **kw)[:limit] if limit else load(dataset, fmt, **kw)
    made = []
    for name in systems or ["agent", "concat", "last"]:
        if name == "agent" and server:  # the same turns, answered by the server's agent (its planner and index)
            from picseek.ui.serve_client import RemoteAgent, ServerClient

            made.append(AgentSystem(RemoteAgent(ServerClient(server)), "agent"))
        elif name == "agent":
            made.append(AgentSystem(Agent(searcher, ask=False, captions=captions), "agent"))
        elif name == "agent-llm":
            from picseek.agent.llm import LLMPlanner

            llm = LLMPlanner(model=llm_model, base_url=llm_base_url)
            made.append(AgentSystem(Agent(searcher, planner=llm, ask=False, captions=captions), "agent-llm"))
        elif name in ("concat", "last"):
            made.append(TextBaseline(searcher, name))
        else:
            raise PicseekError(f"unknown system {name!r}: choose from agent, agent-llm, concat, last.")
    return run(dialogues, made, out)


def _eval_target(
    dataset,
    folder,
    searcher,
    embedder,
    systems,
    answerer,
    rounds,
    out,
    limit,
    llm_model,
    llm_base_url,
    captions=True,
    answers="dev",
):
    from picseek.agent.agent import Agent
    from picseek.evals.target import load_targets, run_target

    targets = load_targets(dataset)[:limit] if limit else load_targets(dataset)
    if answerer == "toy":
        from picseek.evals.toy.user import ToyUser

        if not (folder / "scenes.jsonl").exists():
            raise PicseekError(f"--answerer toy needs a toy gallery with scenes.jsonl; {folder} has none.")
        user = ToyUser(folder, answers=answers)
    elif answerer == "llm":
        from picseek.evals.users import LLMUser

        user = LLMUser(model=llm_model, base_url=llm_base_url)
    else:
        raise PicseekError(f"unknown answerer {answerer!r}: choose toy or llm.")
    # --no-captions: no captioner, and the agents read no stored caption (facts from the image vectors only)
    captioner = make_captioner(None, embedder) if captions and embedder.spec.captions else None
    made = {}
    for name in systems or ["agent", "volunteer", "describe"]:
        if name in ("agent", "agent-llm"):
            llm = None
            if name == "agent-llm":
                from picseek.agent.llm import LLMPlanner

                llm = LLMPlanner(model=llm_model, base_url=llm_base_url)
            made[name] = Agent(searcher, planner=llm, captioner=captioner, keep_duplicates=True, captions=captions)
        elif name in ("volunteer", "describe"):
            made[name] = Agent(searcher, captioner=captioner, ask=False, keep_duplicates=True, captions=captions)
        else:
            raise PicseekError(f"unknown system {name!r}: choose from agent, agent-llm, volunteer, describe.")
    return run_target(targets, made, user, out, rounds=rounds)


def toy_targets_cmd(
    out: Annotated[Path, typer.Argument(help="JSONL file to write")],
    gallery: Annotated[Path, typer.Option("--gallery", help="a toy gallery (with scenes.jsonl)")],
    n: Annotated[int, typer.Option("--n", help="number of targets")] = 200,
    seed: Annotated[int, typer.Option("--seed", help="random seed")] = 0,
) -> None:
    """Write target-image eval lines for a toy gallery: each target first described by one object's noun."""
    from picseek.evals.target import save_targets, toy_targets

    targets = toy_targets(gallery, n, seed)
    save_targets(targets, out)
    typer.echo(f"wrote {len(targets)} targets to {out}")


def toy_dialogues_cmd(
    out: Annotated[Path, typer.Argument(help="JSONL file to write")],
    gallery: Annotated[Path, typer.Option("--gallery", help="a toy gallery (with scenes.jsonl)")],
    n: Annotated[int, typer.Option("--n", help="number of dialogues")] = 200,
    seed: Annotated[int, typer.Option("--seed", help="random seed")] = 0,
    phrasings: Annotated[
        str, typer.Option(help="classic (the committed eval's templates), dev, heldout or all phrasings")
    ] = "classic",
) -> None:
    """Write toy-world eval dialogues (3 turns, exact ground truth) for a toy gallery."""
    from picseek.evals.datasets import save_jsonl, toy_dialogues

    if phrasings not in ("classic", "dev", "heldout", "all"):
        raise PicseekError(f"--phrasings must be classic, dev, heldout or all, not {phrasings!r}.")
    dialogues = toy_dialogues(gallery, n, seed, phrasings)
    save_jsonl(dialogues, out)
    typer.echo(f"wrote {len(dialogues)} dialogues to {out}")


def toy_gallery(
    out: Annotated[Path, typer.Argument(help="folder to write the scenes into")],
    n: Annotated[int, typer.Option("--n", help="number of scenes")] = 1500,
    seed: Annotated[int, typer.Option("--seed", help="random seed; same seed, same gallery")] = 0,
    size: Annotated[int, typer.Option("--size", help="image side in pixels (>= 128)")] = 192,
    gps: Annotated[bool, typer.Option("--gps", help="write real cities' GPS positions into EXIF")] = False,
    text: Annotated[bool, typer.Option("--text", help="draw a word on a sign in half of the scenes")] = False,
) -> None:
    """Render a toy scene gallery with exact ground truth (scenes.jsonl)."""
    from picseek.ui.demo.world import make_gallery

    if size < 128:
        raise PicseekError("--size must be at least 128 pixels.")
    make_gallery(out, n, seed, size, gps=gps, text=text)
    typer.echo(f"wrote {n} scenes to {out} (ground truth: {out / 'scenes.jsonl'})")
