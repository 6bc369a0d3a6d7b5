"""Train the bundled toy CoCa model on the toy scene world (`make toy-model`).

The model is a plain open_clip CoCa (config `tools/model_configs/picseek-toy-coca.json`); the product loads the
result through the same open_clip factory as published weights.

Only ~150 of the tokenizer's 49,408 ids occur in toy captions. Every unused row of the token table and every
unused column of the caption head is tied to one shared vector, which makes the checkpoint small. Training is
exact for that tied model: the caption softmax runs over the used ids plus one "other" logit that carries
+log(number of unused ids), which equals the full 49,408-way softmax when the unused columns are tied.

Usage: python -m picseek.ui.demo.train --out tools/weights/toy-coca.pt [--steps N] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import random
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from picseek.tools.models import CONFIG_DIR
from picseek.ui.demo import world
from PIL import Image
from tqdm import tqdm

ARCH = "picseek-toy-coca"


def _model_and_transform():
    import open_clip

    open_clip.add_model_config(CONFIG_DIR)
    model, _, preprocess = open_clip.create_model_and_transforms(ARCH)
    # open_clip 3.x never initialises the CoCa decoder's output projection (MultimodalTransformer leaves it as
    # torch.empty and its init_parameters is never called), so it holds whatever memory it got: zeros in a fresh
    # process, stale values otherwise, which made training irreproducible. Zeros, explicitly: the caption head
    # starts from uniform logits, as the bundled checkpoint was trained.
    with torch.no_grad():
        model.text_decoder.text_projection.zero_()
    return model, preprocess, open_clip.get_tokenizer(ARCH)


def _jpeg(img: Image.Image, quality: int = 92) -> Image.Image:
    # The galleries are JPEGs: train on what the product will decode.
    buf = BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def scene_at(seed: int, i: int, twin: bool = False) -> world.Scene:
    """Training scene `i`, or its hard-negative twin (the same picture with one binding changed)."""
    scene = world.sample_scene(seed, i)
    return world.twin(scene, random.Random(f"twin-{seed}-{i}")) if twin else scene


def _render_chunk(args: tuple[int, int, int, bool]) -> np.ndarray:
    seed, start, stop, twin = args
    _, preprocess, _ = _model_and_transform()
    out = []
    for i in range(start, stop):
        img = _jpeg(world.render(scene_at(seed, i, twin)))
        out.append(preprocess(img).to(torch.float16).numpy())
    return np.stack(out)


def render_set(seed: int, n: int, twin: bool = False, workers: int = 2, chunk: int = 500) -> torch.Tensor:
    jobs = [(seed, s, min(n, s + chunk), twin) for s in range(0, n, chunk)]
    desc = f"rendering {n} {'twin ' if twin else ''}scenes"
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        parts = list(tqdm(pool.map(_render_chunk, jobs), total=len(jobs), desc=desc, unit="chunk"))
    return torch.from_numpy(np.concatenate(parts))


def caption_vocab(tokenizer, seed: int) -> list[int]:
    """Every token id any toy caption can produce (found by tokenizing many samples of each phrasing)."""
    rng = random.Random(seed)
    ids: set[int] = {0}
    texts = []
    for i in range(4000):
        sc = world.sample_scene(seed + 7, i)
        texts += [sc.caption, world.paraphrase(sc, rng), world.paraphrase(sc, rng, partial=True)]
    for words in (world.NOUN_WORDS, world.COLOR_WORDS, world.SIZE_WORDS, world.TIME_WORDS, world.GROUND_WORDS):
        texts += [w for ws in words.values() for w in ws]
    for t in tokenizer(texts).flatten().tolist():
        ids.add(t)
    return sorted(ids)


class Trainer:
    def __init__(self, model, tokenizer, used: list[int]):
        self.m = model
        self.tok = tokenizer
        self.used = torch.tensor(used)
        self.remap = torch.full((49408,), -100, dtype=torch.long)
        self.remap[self.used] = torch.arange(len(used))
        self.remap[0] = -100  # pad is never a caption target
        dec = model.text_decoder
        self.other = torch.nn.Parameter(dec.text_projection.detach()[:, :].mean(1).clone())
        self.log_unused = math.log(49408 - len(used))

    def params(self):
        decay, no_decay = [], []
        for n, p in self.m.named_parameters():
            (no_decay if p.ndim < 2 or "embedding" in n or "logit_scale" in n else decay).append(p)
        return [{"params": decay, "weight_decay": 0.05}, {"params": no_decay + [self.other], "weight_decay": 0.0}]

    def decoder_hidden(self, image_embs, token_embs):
        dec = self.m.text_decoder
        x = token_embs
        n = x.shape[1]
        for block, cross in zip(dec.resblocks, dec.cross_attn):
            x = block(x, attn_mask=dec.attn_mask[:n, :n])
            x = cross(x, k_x=image_embs, v_x=image_embs)
        return dec.ln_final(x)

    def losses(self, images, contrast_text, positives, caption_text):
        """Contrastive loss with every true (image, text) pair in the batch as a positive, plus caption loss.

        `positives[i, j]` says text j is true of image i. A partial text ("a car") is true of many images, and
        a hard-negative twin shares most of its anchor's facts: treating those as negatives would teach the model
        to ignore the very words it must bind.
        """
        img_lat, img_embs = self.m._encode_image(images)
        txt_lat, _ = self.m._encode_text(contrast_text)
        scale = self.m.logit_scale.exp().clamp(max=100)
        logits = (scale * img_lat @ txt_lat.T).float()
        pos = positives.float()
        i2t = -(pos / pos.sum(1, keepdim=True) * logits.log_softmax(1)).sum(1).mean()
        t2i = -(pos / pos.sum(0, keepdim=True) * logits.log_softmax(0)).sum(0).mean()
        clip = (i2t + t2i) / 2
        _, tok = self.m._encode_text(caption_text)
        h = self.decoder_hidden(img_embs, tok[:, :-1])
        proj = self.m.text_decoder.text_projection
        sub = h @ proj[:, self.used]
        other = (h @ self.other).unsqueeze(-1) + self.log_unused
        cap_logits = torch.cat([sub, other], dim=-1).float()
        labels = self.remap[caption_text[:, 1:]]
        cap = F.cross_entropy(cap_logits.reshape(-1, cap_logits.shape[-1]), labels.reshape(-1), ignore_index=-100)
        return clip, cap

    def compact_state(self) -> dict:
        """The small checkpoint: the model with the two vocabulary tables stored as used rows + one shared row."""
        sd = {k: v.detach().to(torch.float16) for k, v in self.m.state_dict().items()}
        emb = sd.pop("text.token_embedding.weight")
        proj = sd.pop("text_decoder.text_projection")
        return {
            "format": "picseek-tied-vocab-v1",
            "arch": ARCH,
            "state_dict": sd,
            "vocab_ids": self.used.clone(),
            "token_rows": emb[self.used].clone(),
            "token_default": torch.zeros(emb.shape[1], dtype=torch.float16),
            "proj_cols": proj[:, self.used].clone(),
            "proj_default": self.other.detach().to(torch.float16).clone(),
            "vocab_size": emb.shape[0],
        }


def batch_texts(tokenizer, scenes, rng, partial_rate: float):
    """Contrastive texts, the matrix of which texts are true of which scenes, and caption targets."""
    described = [world.describe(s, rng, partial=rng.random() < partial_rate) for s in scenes]
    positives = torch.tensor([[said.true_of(s) for _, said in described] for s in scenes])
    return tokenizer([t for t, _ in described]), positives, tokenizer([s.caption for s in scenes])


@torch.inference_mode()
def evaluate(model, tokenizer, images: torch.Tensor, scenes, n_caption: int = 200) -> dict:
    """Held-out P@10 for the four query classes, and caption object accuracy."""
    model.eval()
    feats = torch.cat([model.encode_image(images[i : i + 256].float()) for i in range(0, len(images), 256)])
    feats = F.normalize(feats, dim=-1)
    queries = probe_queries(scenes)
    res = {}
    for cls, qs in queries.items():
        precs = []
        for text, rel in qs:
            q = F.normalize(model.encode_text(tokenizer([text])), dim=-1)
            top = (feats @ q.T).squeeze(1).topk(10).indices.tolist()
            precs.append(sum(rel[i] for i in top) / min(10, sum(rel)))
        res[cls] = float(np.mean(precs))
    res["mean_p10"] = float(np.mean([res[c] for c in queries]))
    n_caption = min(n_caption, len(images))
    import open_clip
    from picseek.tools.coca_decode import CocaDecoder

    gen = CocaDecoder(model).greedy(images[:n_caption].float(), seq_len=30)  # open_clip's greedy generate's tokens

    ok = 0
    for g, sc in zip(gen, scenes[:n_caption]):
        text = open_clip.decode(g).replace("<start_of_text>", "").split("<end_of_text>")[0]
        ok += caption_names_objects(text, sc)
    res["caption_objects_ok"] = ok / n_caption
    model.train()
    return res


def caption_names_objects(text: str, scene: world.Scene) -> bool:
    """True when the caption names exactly the scene's set of (colour, noun) pairs."""
    words = text.lower().replace(",", " ").split()
    found = set()
    for i, w in enumerate(words):
        for noun, syns in world.NOUN_WORDS.items():
            if w in syns:
                color = next(
                    (c for c, cw in world.COLOR_WORDS.items() for j in range(max(0, i - 3), i) if words[j] in cw), None
                )
                found.add((color, noun))
    return found == {(o.color, o.noun) for o in scene.objects}


def probe_queries(scenes, per_class: int = 12, seed: int = 5):
    rng = random.Random(seed)
    out = {"noun": [], "color_noun": [], "noun_time": [], "color_noun_time": []}
    for noun in world.NOUNS:
        out["noun"].append((f"a {noun}", [world.relevant(s, noun=noun) for s in scenes]))
    while len(out["color_noun"]) < per_class:
        c, n = rng.choice(world.COLORS), rng.choice(world.NOUNS)
        rel = [world.relevant(s, noun=n, color=c) for s in scenes]
        if sum(rel):
            out["color_noun"].append((f"a {c} {n}", rel))
    for n in world.NOUNS:
        for t in world.TIMES:
            out["noun_time"].append(
                (f"a {n} {world.TIME_WORDS[t][0]}", [world.relevant(s, noun=n, time=t) for s in scenes])
            )
    while len(out["color_noun_time"]) < per_class:
        c, n, t = rng.choice(world.COLORS), rng.choice(world.NOUNS), rng.choice(world.TIMES)
        rel = [world.relevant(s, noun=n, color=c, time=t) for s in scenes]
        if sum(rel):
            out["color_noun_time"].append((f"a {c} {n} {world.TIME_WORDS[t][0]}", rel))
    return out


def main(argv=None) -> None:
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    t_start = time.time()
    model, _, tokenizer = _model_and_transform()
    data = render_data(args)
    used = caption_vocab(tokenizer, args.seed)
    print(f"{len(used)} token ids used by toy captions; data ready in {time.time() - t_start:.0f}s", flush=True)
    train(Trainer(model, tokenizer, used), data, rng, args, t_start)
    print(f"saved {args.out} ({args.out.stat().st_size / 1e6:.1f} MB) after {(time.time() - t_start) / 60:.1f} min")


def parse_args(argv) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("tools/weights/toy-coca.pt"))
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=160)
    ap.add_argument("--train-scenes", type=int, default=40000)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--probe-scenes", type=int, default=1000, help="held-out scenes for the in-training probe")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--twins", type=float, default=0.5, help="share of each batch that is hard-negative twins of the rest"
    )
    ap.add_argument(
        "--bf16", action=argparse.BooleanOptionalAction, default=True, help="bf16 autocast (fp32 master weights)"
    )
    return ap.parse_args(argv)


@dataclass
class Data:
    """Rendered training scenes (and their hard-negative twins) and the held-out probe scenes."""

    images: torch.Tensor
    scenes: list[world.Scene]
    twin_images: torch.Tensor | None
    twin_scenes: list[world.Scene]
    eval_images: torch.Tensor
    eval_scenes: list[world.Scene]

    def batch(self, size: int, twins: float) -> tuple[torch.Tensor, list[world.Scene]]:
        """A random batch of training scenes whose last `twins` share is the twins of the first ones."""
        n_twins = round(size * twins)
        idx = torch.randint(0, len(self.images), (size - n_twins,))
        scenes = [self.scenes[i] for i in idx.tolist()] + [self.twin_scenes[i] for i in idx[:n_twins].tolist()]
        images = torch.cat([self.images[idx], self.twin_images[idx[:n_twins]]]) if n_twins else self.images[idx]
        return images, scenes


def render_data(args) -> Data:
    train_seed, eval_seed = 10_000 + args.seed, 20_000 + args.seed
    n = args.train_scenes
    return Data(
        images=render_set(train_seed, n),
        scenes=[scene_at(train_seed, i) for i in range(n)],
        twin_images=render_set(train_seed, n, twin=True) if args.twins else None,
        twin_scenes=[scene_at(train_seed, i, twin=True) for i in range(n)] if args.twins else [],
        eval_images=render_set(eval_seed, args.probe_scenes),
        eval_scenes=[world.sample_scene(eval_seed, i) for i in range(args.probe_scenes)],
    )


def train(tr: Trainer, data: Data, rng: random.Random, args, t_start: float) -> None:
    """AdamW with linear warm-up and cosine decay; probe and save the checkpoint every --eval-every steps."""
    opt = torch.optim.AdamW(tr.params(), lr=args.lr, betas=(0.9, 0.98), eps=1e-6)
    warm = max(1, args.steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / args.steps)))
    )
    tr.m.train()
    history = []
    bar = tqdm(range(1, args.steps + 1), desc="training", unit="step")
    for step in bar:
        images, scenes = data.batch(args.batch, args.twins)
        contrast, positives, caption = batch_texts(tr.tok, scenes, rng, partial_rate=0.35)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            clip, cap = tr.losses(images.float(), contrast, positives, caption)
        loss = clip + cap
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(tr.m.parameters(), 1.0)
        opt.step()
        sched.step()
        bar.set_postfix(clip=f"{clip.item():.3f}", cap=f"{cap.item():.3f}")
        if step % args.eval_every == 0 or step == args.steps:
            res = evaluate(tr.m, tr.tok, data.eval_images, data.eval_scenes)
            res.update(step=step, minutes=round((time.time() - t_start) / 60, 1))
            history.append(res)
            tqdm.write(json.dumps(res))
            save(tr, history, args)


def save(tr: Trainer, history: list[dict], args) -> None:
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        tr.compact_state() | {"train_history": history, "train_args": vars(args) | {"out": str(args.out)}},
        args.out,
    )


if __name__ == "__main__":
    main()
