"""Eval datasets: multi-turn dialogues with the gallery images that are relevant after each turn.

JSONL, one dialogue a line: {"id": str, "turns": [{"user": str, "relevant": [paths relative to the gallery]}]},
optionally with "gallery". Loaders turn the toy world, COCO/Flickr30k Karpathy captions and VisDial-style
dialogues into that shape.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Turn:
    user: str
    relevant: list[str]


@dataclass
class Dialogue:
    id: str
    turns: list[Turn]
    gallery: str | None = None
    meta: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        d = asdict(self)
        if not d["meta"]:
            d.pop("meta")
        if d["gallery"] is None:
            d.pop("gallery")
        return d


def load_jsonl(path: Path) -> list[Dialogue]:
    out = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                turns = [Turn(str(t["user"]), [str(r) for r in t["relevant"]]) for t in d["turns"]]
                out.append(Dialogue(str(d["id"]), turns, d.get("gallery"), d.get("meta", {})))
            except (KeyError, TypeError, ValueError) as e:
                raise ValueError(
                    f"{path}:{n}: not a dialogue ({e}); expected "
                    '{"id": str, "turns": [{"user": str, "relevant": [str]}]}'
                ) from None
    return out


def save_jsonl(dialogues: list[Dialogue], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        for d in dialogues:
            f.write(json.dumps(d.to_json()) + "\n")


def toy_dialogues(gallery: Path, n: int = 200, seed: int = 0, phrasings: str = "classic") -> list[Dialogue]:
    """Three-turn toy dialogues with exact ground truth: object -> + colour -> + time of day, ground or an exclusion.

    `phrasings`: "classic" (the few templates of the committed toy eval), or "dev" / "heldout" / "all" halves of
    the many phrasings in `evals.toy.phrasings`.
    """
    from evals.toy import world

    if phrasings == "classic":
        return _classic_toy_dialogues(gallery, n, seed)
    from evals.toy.phrasings import pools

    p = pools(phrasings)
    scenes = world.load_scenes(gallery)
    rng = random.Random(seed)
    out: list[Dialogue] = []
    tries = 0
    while len(out) < n and tries < n * 50:
        tries += 1
        target = rng.choice(scenes)
        o = rng.choice(target.objects)
        other_colour = rng.choice([c for c in world.COLORS if c != o.color])
        t1 = rng.choice(p["openers"]).format(n=o.noun)
        t2 = rng.choice(p["colour"]).format(c=o.color, n=o.noun, x=other_colour)
        kind = rng.choices(("time", "ground", "exclude"), (0.5, 0.2, 0.3))[0]
        rel3 = dict(noun=o.noun, color=o.color)
        if kind == "time":
            t3 = rng.choice(p["time"][target.time])
            rel3["time"] = target.time
        elif kind == "ground" and target.ground in p["ground"]:
            t3 = rng.choice(p["ground"][target.ground])
            rel3["ground"] = target.ground
        else:
            others = [x for x in world.NOUNS if x != o.noun and all(q.noun != x for q in target.objects)]
            if not others:
                continue
            ex = rng.choice(others)
            t3 = rng.choice(p["exclude"]).format(x=ex)
            rel3["exclude_noun"] = ex
        rels = [dict(noun=o.noun), dict(noun=o.noun, color=o.color), rel3]
        turns = [Turn(u, [s.file for s in scenes if world.relevant(s, **r)]) for u, r in zip((t1, t2, t3), rels)]
        if any(not t.relevant for t in turns):
            continue
        out.append(Dialogue(f"toy-{phrasings}-{seed}-{len(out):04d}", turns, meta={"target": target.file}))
    return out


def _classic_toy_dialogues(gallery: Path, n: int, seed: int) -> list[Dialogue]:
    """The committed toy eval's dialogues: object -> + colour -> + time of day, or + an exclusion."""
    from evals.toy import world

    scenes = world.load_scenes(gallery)
    rng = random.Random(seed)
    openers = ["{n}s", "a {n}", "show me {n}s", "pictures of a {n}"]
    colour_turns = ["only {c} ones", "the {c} ones", "only the {c} ones please", "{c}"]
    time_turns = ["at night", "but at night", "only at night", "at sunset", "but at sunset", "during the day"]
    times = {
        "at night": "night",
        "but at night": "night",
        "only at night": "night",
        "at sunset": "sunset",
        "but at sunset": "sunset",
        "during the day": "day",
    }
    out: list[Dialogue] = []
    tries = 0
    while len(out) < n and tries < n * 50:
        tries += 1
        target = rng.choice(scenes)
        o = rng.choice(target.objects)
        t1 = rng.choice(openers).format(n=o.noun)
        t2 = rng.choice(colour_turns).format(c=o.color)
        if rng.random() < 0.75:
            t3 = rng.choice([t for t in time_turns if times[t] == target.time])
            rel3 = dict(noun=o.noun, color=o.color, time=target.time)
        else:
            others = [x for x in world.NOUNS if x != o.noun and all(p.noun != x for p in target.objects)]
            if not others:
                continue
            ex = rng.choice(others)
            t3 = rng.choice(["without {x}s", "no {x}s", "but no {x}s"]).format(x=ex)
            rel3 = dict(noun=o.noun, color=o.color, exclude_noun=ex)
        rels = [dict(noun=o.noun), dict(noun=o.noun, color=o.color), rel3]
        turns = [Turn(u, [s.file for s in scenes if world.relevant(s, **r)]) for u, r in zip((t1, t2, t3), rels)]
        if any(not t.relevant for t in turns):
            continue
        out.append(Dialogue(f"toy-{seed}-{len(out):04d}", turns, meta={"target": target.file}))
    return out


def coco_karpathy(path: Path, split: str = "test", limit: int | None = None) -> list[Dialogue]:
    """Single-turn text->image queries from a Karpathy-split caption file (dataset_coco.json / flickr30k).

    Each caption is one dialogue whose one relevant image is its own; paths are `filepath/filename`.
    """
    data = json.loads(Path(path).read_text())
    out = []
    for img in data["images"]:
        if img.get("split") != split:
            continue
        rel = "/".join(p for p in (img.get("filepath", ""), img["filename"]) if p)
        for j, s in enumerate(img.get("sentences", [])):
            text = s.get("raw") or " ".join(s.get("tokens", []))
            out.append(Dialogue(f"{img.get('cocoid', img.get('imgid', img['filename']))}-{j}", [Turn(text, [rel])]))
            if limit and len(out) >= limit:
                return out
    return out


def visdial(path: Path, image_dir: str = "", rounds: int = 10, limit: int | None = None) -> list[Dialogue]:
    """VisDial-style dialogues (as used by ChatIR/PlugIR): the caption, then one "question? answer" per round.

    Accepts the VisDial v1.0 JSON ({"data": {"dialogs", "questions", "answers"}}) or a ChatIR/PlugIR query list
    ([{"img": path, "dialog": [caption, "q, a", ...]}]). The target image is relevant at every turn.
    """
    data = json.loads(Path(path).read_text())
    out = []
    if isinstance(data, list):
        for i, q in enumerate(data):
            rel = [q["img"]]
            out.append(Dialogue(f"visdial-{i}", [Turn(t, rel) for t in q["dialog"][: rounds + 1]]))
            if limit and len(out) >= limit:
                break
        return out
    d = data["data"]
    for dlg in d["dialogs"]:
        img = dlg.get("image_path") or f"{image_dir.rstrip('/') + '/' if image_dir else ''}{dlg['image_id']}.jpg"
        turns = [Turn(dlg["caption"], [img])]
        for r in dlg["dialog"][:rounds]:
            q, a = d["questions"][r["question"]], d["answers"][r["answer"]] if "answer" in r else ""
            turns.append(Turn(f"{q}? {a}".strip(), [img]))
        out.append(Dialogue(f"visdial-{dlg['image_id']}", turns))
        if limit and len(out) >= limit:
            break
    return out


def load(path: Path, fmt: str = "auto", **kw) -> list[Dialogue]:
    """Load a dataset file in any supported format (auto: .jsonl is ours; JSON is sniffed)."""
    path = Path(path)
    if fmt == "auto":
        if path.suffix == ".jsonl":
            fmt = "jsonl"
        else:
            head = json.loads(path.read_text())
            fmt = "coco" if isinstance(head, dict) and "images" in head else "visdial"
    return {"jsonl": load_jsonl, "coco": coco_karpathy, "visdial": visdial}[fmt](path, **kw)
