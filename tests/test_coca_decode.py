"""KV-cached CoCa decoding gives open_clip's `generate` tokens: greedy and beam, batched, toy and coca_ViT-B-32.

The reference is open_clip's `generate` while transformers (which it needs) is installed; without it, the token
ids in tests/fixtures/coca_reference_tokens.json, which `python -m tests.test_coca_decode` wrote from open_clip's
`generate`. Each case there records a fingerprint of its inputs and weights, so a reference is only compared
where it applies; while transformers is installed the test also checks that the committed reference still agrees.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from picseek.tools.caption import GenerationConfig

FIXTURE = Path(__file__).parent / "fixtures" / "coca_reference_tokens.json"
TOY_NOUNS = ("car", "house", "tree", "ball", "boat")


@dataclass(frozen=True)
class Case:
    model: str  # "toy", a variant of it in VARIANTS, or "coca_ViT-B-32" (random weights)
    method: str  # "greedy" or "beam_search"
    seq_len: int

    @property
    def key(self) -> str:
        return f"{self.model}/{self.method}/{self.seq_len}"


# The toy with one more token that competes with "and" (537), which the toy writes as the 5th token: the pad id 0
# (also "!"), on which a greedy row ends and past which a beam goes on with that key hidden by the text tower's
# padding mask; or end-of-text, which open_clip's min_seq_len=5 allows there and not a step earlier.
VARIANTS = {"toy-pad": 0, "toy-eot": 49407}
TOY_CASES = [Case("toy", m, n) for m in ("greedy", "beam_search") for n in (30, 12)]
VARIANT_CASES = [Case(v, m, 30) for v in VARIANTS for m in ("greedy", "beam_search")]
COCA_CASES = [Case("coca_ViT-B-32", m, 20) for m in ("greedy", "beam_search")]


@cache
def _model(name: str):
    """The model and its preprocessed input batch for a case's model name."""
    import torch
    from picseek.evals.bench.caption import fill_random_caption_head
    from picseek.tools.embed import Embedder
    from picseek.tools.images import fit
    from picseek.tools.models import resolve
    from picseek.ui.demo.world import render, sample_scene

    real = "toy" if name.startswith("toy") else name
    emb = Embedder(resolve(real, random_init=real != "toy"), device="cpu", precision="fp32")
    model = emb.loaded.model
    if name in VARIANTS:
        model = copy.deepcopy(model)
        with torch.no_grad():
            head = model.text_decoder.text_projection
            head[:, VARIANTS[name]] = head[:, 537] * 1.05
    elif real != "toy":
        fill_random_caption_head(model)
    n = 6 if real == "toy" else 3
    pixels = np.stack([fit(render(sample_scene(7, i)), emb.fit) for i in range(n)])
    return model, emb.pixels_to_tensor(list(pixels)), _fingerprint(pixels.tobytes(), model)


def _fingerprint(pixels: bytes, model) -> str:
    """Inputs and weights, cheaply: the pixels and the first values of every parameter."""
    h = hashlib.sha256(pixels)
    for name, p in sorted(model.state_dict().items()):
        h.update(name.encode() + str(tuple(p.shape)).encode() + p.detach().flatten()[:16].float().numpy().tobytes())
    return h.hexdigest()[:16]


def _has_open_clip_generate() -> bool:
    from open_clip import coca_model

    return coca_model._has_transformers


def _open_clip_tokens(case: Case) -> list[list[int]]:
    import torch

    model, x, _ = _model(case.model)
    kw = GenerationConfig(method=case.method, seq_len=case.seq_len).generate_kwargs()
    with torch.inference_mode():
        return model.generate(x, **kw).tolist()


def _our_tokens(case: Case, images=None) -> list[list[int]]:
    from picseek.tools.coca_decode import CocaDecoder

    model, x, _ = _model(case.model)
    gen = GenerationConfig(method=case.method, seq_len=case.seq_len)
    return gen.decode(CocaDecoder(model), x if images is None else images).tolist()


def _reference(case: Case) -> list[list[int]]:
    """open_clip's tokens for the case: live when it can generate, else the committed ones for the same inputs."""
    _, _, fingerprint = _model(case.model)
    stored = json.loads(FIXTURE.read_text())["cases"].get(case.key) if FIXTURE.exists() else None
    if stored and stored["fingerprint"] != fingerprint:
        stored = None  # made for other pixels or weights (a new renderer, torch's init changed)
    if _has_open_clip_generate():
        live = _open_clip_tokens(case)
        if stored:
            assert stored["tokens"] == live, f"{FIXTURE.name} is stale for {case.key}: python -m tests.test_coca_decode"
        return live
    if not stored:
        pytest.skip(f"no open_clip generate (transformers) and no reference tokens for {case.key} with these inputs")
    return stored["tokens"]


@pytest.mark.parametrize("case", TOY_CASES + VARIANT_CASES, ids=lambda c: c.key)
def test_toy_decoding_equals_open_clip_generate(case):
    assert _our_tokens(case) == _reference(case)


def test_toy_captions_are_real_and_varied():
    """The equality above means something: the toy writes different, real captions that end at different lengths."""
    import open_clip
    import torch

    tokens = _our_tokens(Case("toy", "greedy", 30))
    texts = [open_clip.decode(torch.tensor(t)).split("<end_of_text>")[0] for t in tokens]
    assert len(set(texts)) == len(texts) and all(any(n in t for n in TOY_NOUNS) for t in texts), texts
    ends = {next(i for i, t in enumerate(row) if t in (0, 49407)) for row in tokens}
    assert len(ends) >= 3, ends
    beams = _our_tokens(Case("toy-pad", "beam_search", 30))
    assert any(0 in row and any(row[row.index(0) :]) for row in beams)  # a beam wrote on after the pad id


@pytest.mark.parametrize("method", ["greedy", "beam_search"])
def test_a_batch_decodes_each_image_as_if_alone(method):
    """Rows that end early (and leave the batch) change nothing for the others; padding follows each row's end."""
    case = Case("toy", method, 12)
    batch = _our_tokens(case)
    _, x, _ = _model(case.model)
    for i, row in enumerate(batch):
        alone = _our_tokens(case, x[i : i + 1])[0]
        assert row[: len(alone)] == alone and set(row[len(alone) :]) <= {0}


def test_sampling_is_seeded_and_keeps_open_clips_rules():
    from picseek.tools.coca_decode import CocaDecoder

    model, x, _ = _model("toy")
    dec = CocaDecoder(model)
    greedy = dec.greedy(x, 20).tolist()
    assert dec.sample(x, 20, top_k=1).tolist() == greedy and dec.sample(x, 20, top_p=1e-6).tolist() == greedy
    a, b = (dec.sample(x, 20, top_k=50, temperature=3.0, seed=1).tolist() for _ in range(2))
    assert a == b and a != dec.sample(x, 20, top_k=50, temperature=3.0, seed=2).tolist()
    for row in dec.sample(x, 20, top_p=0.95, seed=3).tolist():
        end = next(i for i, t in enumerate(row) if t in (0, 49407))
        assert row[0] == 49406 and end >= 4 and set(row[end + 1 :]) <= {0}  # no end-of-text before 5 tokens


def test_refuses_lengths_the_model_has_no_positions_for():
    from picseek.tools.coca_decode import CocaDecoder

    model, x, _ = _model("toy")
    with pytest.raises(ValueError, match="seq_len"):
        CocaDecoder(model).greedy(x, 64)


@pytest.mark.slow
@pytest.mark.parametrize("case", COCA_CASES, ids=lambda c: c.key)
def test_coca_vit_b_32_random_weights_equals_open_clip_generate(case):
    assert _our_tokens(case) == _reference(case)


def write_fixture() -> None:
    """Record open_clip's tokens for every case (needs transformers, which open_clip's generate imports)."""
    import open_clip
    import torch
    import transformers

    assert _has_open_clip_generate(), "open_clip's generate needs transformers<4.57"
    cases = {}
    for case in TOY_CASES + VARIANT_CASES + COCA_CASES:
        cases[case.key] = {"fingerprint": _model(case.model)[2], "tokens": _open_clip_tokens(case)}
        print(case.key, flush=True)
    made = {"open_clip": open_clip.__version__, "torch": torch.__version__, "transformers": transformers.__version__}
    doc = {"made_by": "python -m tests.test_coca_decode (open_clip's CoCa.generate)", "made_with": made}
    FIXTURE.write_text(json.dumps({**doc, "cases": cases}, indent=None, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    write_fixture()
