"""The precision chosen at run time: bf16 where the CPU computes it natively, int8 on other x86 CPUs; int8 stays
close to fp32 for both towers."""

from __future__ import annotations

import numpy as np
import pytest
from picseek.tools import embed, models
from picseek.tools.models import auto_precision, cpu_flags, resolve

AVX2_ONLY = frozenset({"sse4_2", "avx", "avx2", "fma", "f16c"})
AVX512_NO_BF16 = AVX2_ONLY | {"avx512f", "avx512bw", "avx512_vnni"}  # oneDNN emulates bf16 here: slower than fp32


@pytest.mark.unit
@pytest.mark.parametrize(
    ("flags", "device", "want"),
    [
        (AVX2_ONLY, "cpu", "int8"),
        (AVX512_NO_BF16, "cpu", "int8"),
        (AVX512_NO_BF16 | {"avx512_bf16"}, "cpu", "bf16"),
        (AVX2_ONLY | {"amx_bf16", "amx_tile"}, "cpu", "bf16"),
        (frozenset({"sse2", "sse4_2"}), "cpu", "fp32"),  # no AVX2: no fast int8 kernels measured
        (AVX2_ONLY, "cuda", "fp16"),
    ],
)
def test_the_precision_follows_the_cpu_flags(flags, device, want):
    assert auto_precision(device, flags) == want


@pytest.mark.unit
def test_this_machine_reads_its_own_flags():
    flags = cpu_flags()
    if not flags:
        pytest.skip("no x86 flags in /proc/cpuinfo here")
    assert {"fpu", "sse2"} <= flags  # the flags line was read, not a fragment of it
    assert auto_precision("cpu") == auto_precision("cpu", flags)


@pytest.mark.unit
def test_an_x86_cpu_whose_flags_cannot_be_read_stays_on_fp32(monkeypatch):
    """macOS or Windows on Intel: no /proc/cpuinfo, and oneDNN says bf16 also where it is only emulated (6x slower)."""
    import platform

    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(models, "_mkldnn_bf16", lambda: True)
    assert auto_precision("cpu", frozenset()) == "fp32"
    monkeypatch.setattr(platform, "machine", lambda: "arm64")
    assert auto_precision("cpu", frozenset()) == "bf16"


def test_an_embedder_on_auto_picks_int8_on_an_avx2_only_cpu(monkeypatch, toy_spec):
    monkeypatch.setattr(models, "cpu_flags", lambda: AVX2_ONLY)
    embed._auto_precision.cache_clear()
    try:
        e = embed.Embedder(toy_spec, device="cpu")
        assert e._device_precision() == ("cpu", "int8")
        assert embed.Embedder(toy_spec, device="cpu", precision="fp32")._device_precision() == ("cpu", "fp32")
    finally:
        embed._auto_precision.cache_clear()


@pytest.mark.unit
def test_the_rebuilt_self_attention_is_multihead_attention():
    import torch

    torch.manual_seed(0)
    for batch_first in (True, False):
        mha = torch.nn.MultiheadAttention(64, 4, batch_first=batch_first).eval()
        mine = models._self_attention()(mha)
        x = torch.randn(2, 7, 64) if batch_first else torch.randn(7, 2, 64)
        causal = torch.full((7, 7), float("-inf")).triu(1)
        with torch.inference_mode():
            per_head = causal.expand(2 * 4, 7, 7)  # a padding mask per sequence and head, as CoCa's text tower has
            for mask in (None, causal, causal.isinf(), per_head):
                want = mha(x, x, x, need_weights=False, attn_mask=mask)[0]
                got = mine(x, x, x, need_weights=False, attn_mask=mask)[0]
                assert torch.allclose(want, got, atol=1e-5), (batch_first, mask)
        with pytest.raises(ValueError):
            mine(x, x.clone(), x)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1)  # both unit vectors


@pytest.mark.parametrize("name", ["toy", "ViT-B-32"])
def test_int8_vectors_stay_close_to_fp32_for_both_towers(name):
    spec = resolve(name, random_init=name != "toy")
    f32 = embed.Embedder(spec, device="cpu", precision="fp32")
    q8 = embed.Embedder(spec, device="cpu", precision="int8")
    texts = ["a red car on a beach", "two dogs in the snow at night", "a screenshot of a document"]
    assert cosines(f32.embed_texts(texts), q8.embed_texts(texts)).min() > 0.995
    rng = np.random.default_rng(0)
    size = f32.fit.size
    pixels = [rng.integers(0, 255, (size, size, 3), dtype=np.uint8) for _ in range(3)]
    assert cosines(f32.embed_pixels(pixels), q8.embed_pixels(pixels)).min() > 0.995
    import torch

    quantized = [m for m in q8.loaded.model.modules() if type(m).__module__.startswith("torch.ao.nn.quantized")]
    assert quantized, "int8 asked for, but no layer was quantised"
    towers = models._towers(q8.loaded.model)
    assert len(towers) == 2
    assert not any(isinstance(m, torch.nn.MultiheadAttention) for t in towers for m in t.modules())
