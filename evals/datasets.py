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


def read_jsonl(path: Path, make, expected: str) -> list:
    """One object per non-empty line, made by `make(dict)`; a bad line is a ValueError naming file, line and shape."""
    out = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                out.append(make(json.loads(line)))
            except (KeyError, TypeError, ValueError) as e:
                raise ValueError(f"{path}:{n}: not a valid line ({e}); expected {expected}") from None
    return out


def load_jsonl(path: Path) -> list[Dialogue]:
    def make(d: dict) -> Dialogue:
        turns = [Turn(str(t["user"]), [str(r) for r in t["relevant"]]) for t in d["turns"]]
        return Dialogue(str(d["id"]), turns, d.get("gallery"), d.get("meta", {}))

    return read_jsonl(path, make, '{"id": str, "turns": [{"user": str, "relevant": [str]}]}')


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
    from picseek.ui.demo import world

    if phrasings == "classic":
        draw, prefix = _classic_turns, f"toy-{seed}"
    else:
        from picseek.evals.toy.phrasings import pools

        p = pools(phrasings)
        draw, prefix = (lambda rng, target, o: _varied_turns(p, rng, target, o)), f"toy-{phrasings}-{seed}"
    scenes = world.load_scenes(gallery)
    rng = random.Random(seed)
    out: list[Dialogue] = []
    tries = 0
    while len(out) < n and tries < n * 50:
        tries += 1
        target = rng.choice(scenes)
        o = rng.choice(target.objects)
        drawn = draw(rng, target, o)
        if drawn is None:
            continue
        texts, rel3 = drawn
        rels = [dict(noun=o.noun), dict(noun=o.noun, color=o.color), dict(noun=o.noun, color=o.color, **rel3)]
        turns = [Turn(u, [s.file for s in scenes if world.relevant(s, **r)]) for u, r in zip(texts, rels)]
        if any(not t.relevant for t in turns):
            continue
        out.append(Dialogue(f"{prefix}-{len(out):04d}", turns, meta={"target": target.file}))
    return out


def _other_noun(rng, target, o) -> str | None:
    from picseek.ui.demo import world

    others = [x for x in world.NOUNS if x != o.noun and all(q.noun != x for q in target.objects)]
    return rng.choice(others) if others else None


def _varied_turns(p: dict, rng, target, o):
    from picseek.ui.demo import world

    other_colour = rng.choice([c for c in world.COLORS if c != o.color])
    t1 = rng.choice(p["openers"]).format(n=o.noun)
    t2 = rng.choice(p["colour"]).format(c=o.color, n=o.noun, x=other_colour)
    kind = rng.choices(("time", "ground", "exclude"), (0.5, 0.2, 0.3))[0]
    if kind == "time":
        return (t1, t2, rng.choice(p["time"][target.time])), {"time": target.time}
    if kind == "ground" and target.ground in p["ground"]:
        return (t1, t2, rng.choice(p["ground"][target.ground])), {"ground": target.ground}
    ex = _other_noun(rng, target, o)
    return None if ex is None else ((t1, t2, rng.choice(p["exclude"]).format(x=ex)), {"exclude_noun": ex})


CLASSIC_TIMES = {
    "at night": "night",
    "but at night": "night",
    "only at night": "night",
    "at sunset": "sunset",
    "but at sunset": "sunset",
    "during the day": "day",
}


def _classic_turns(rng, target, o):
    """The committed toy eval's templates (same random draws as when evals/data/toy-dialogues.jsonl was made)."""
    t1 = rng.choice(["{n}s", "a {n}", "show me {n}s", "pictures of a {n}"]).format(n=o.noun)
    t2 = rng.choice(["only {c} ones", "the {c} ones", "only the {c} ones please", "{c}"]).format(c=o.color)
    if rng.random() < 0.75:
        t3 = rng.choice([t for t, v in CLASSIC_TIMES.items() if v == target.time])
        return (t1, t2, t3), {"time": target.time}
    ex = _other_noun(rng, target, o)
    return (
        None
        if ex is None
        else ((t1, t2, rng.choice(["without {x}s", "no {x}s", "but no {x}s"]).format(x=ex)), {"exclude_noun": ex})
    )


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
