"""Caption decoding for open_clip CoCa models with a KV cache: the same tokens as open_clip's `generate`, faster.

open_clip's `CoCa.generate` runs the whole text and multimodal decoder over every position at every step, and
projects the image tokens to cross-attention keys/values again each time (and, for beam search, encodes each
image once per beam). Here the image is encoded once and its tokens normalised once; each step runs only the
newest position, against cached self-attention keys/values and, in cross-attention, against those normalised
tokens directly (`_CrossAttention` folds each layer's key/value projections into its query and output sides).

The decoding rules are open_clip's (3.x), which it takes from Hugging Face transformers 4.x; they are written
out here so that captioning needs no transformers:

- greedy is `generate(generation_type="top_k", top_k=1)`: the end-of-text token is banned while the sequence
  (start token included) is shorter than `min_seq_len`; a row ends at end-of-text *or* at the pad id (0, which
  is also the "!" token); the last position is forced to end-of-text; finished rows are padded with the pad id.
- beam search is `_generate_beamsearch`: `BeamSearchScorer` with `num_beam_groups` groups, length penalty 1.0,
  no early stopping, scores that are sums of raw logits (open_clip applies no log-softmax), and the top
  2 x group-size candidates per image. open_clip passes no diversity penalty, so every group sees the same
  logits and makes the same choices: the groups are copies of one beam search of `num_beams // num_beam_groups`
  beams, and their best hypothesis is that search's best. One copy is run.
- the text tower appends CoCa's class token after the text, where causal attention hides it from the text
  positions, so it is left out; its padding mask is kept (open_clip's legacy CoCa mask hides key j when token
  j - 1 is the pad id, the corrected one when token j is).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from picseek.tools.errors import PicseekError

SOT, EOT = 49406, 49407  # open_clip's tokenizer: <start_of_text>, <end_of_text>


class UnsupportedCocaModel(PicseekError):
    """A CoCa variant whose layers this decoder does not reproduce (custom blocks, a Hugging Face text tower)."""


@dataclass
class _Cache:
    """Decoding state of `rows` sequences, `per_image` consecutive rows per image, all at position `t`."""

    image: torch.Tensor  # [images, image tokens, width]: the image tokens, layer-normalised without affine
    text_k: torch.Tensor  # [text layers, rows, heads, max positions, head dim]
    text_v: torch.Tensor
    dec_k: torch.Tensor  # [decoder layers, rows, heads, max positions, head dim]
    dec_v: torch.Tensor
    key_ok: torch.Tensor  # [rows, max positions + 1] bool: the text tower's padding mask, by key position
    per_image: int
    t: int = 0

    def reorder(self, rows: torch.Tensor) -> None:
        """Row i continues the sequence of row rows[i] (beam search), within each image's rows."""
        t = self.t
        for c in (self.text_k, self.text_v, self.dec_k, self.dec_v):
            c[:, :, :, :t] = c[:, rows, :, :t]
        self.key_ok = self.key_ok[rows]

    def keep(self, images: torch.Tensor) -> None:
        """Drop the images (and their rows) not listed: finished sequences cost nothing more."""
        rows = (images[:, None] * self.per_image + torch.arange(self.per_image, device=images.device)).flatten()
        self.image = self.image[images]
        self.text_k, self.text_v = self.text_k[:, rows], self.text_v[:, rows]
        self.dec_k, self.dec_v = self.dec_k[:, rows], self.dec_v[:, rows]
        self.key_ok = self.key_ok[rows]


class CocaDecoder:
    """Greedy, beam and sampled captions from an open_clip `CoCa` model, with cached keys/values.

    Every method takes a batch of preprocessed images and returns token ids shaped as open_clip's `generate`
    returns them (start token first, end-of-text, then pad ids to the batch's longest sequence).
    """

    def __init__(self, model, sot: int = SOT, eot: int = EOT):
        _check_supported(model)
        text, dec = model.text, model.text_decoder
        self.model, self.sot, self.eot, self.pad = model, sot, eot, model.pad_id
        self.text, self.dec = text, dec
        self.text_blocks = list(text.transformer.resblocks)
        self.dec_blocks, self.cross_blocks = list(dec.resblocks), list(dec.cross_attn)
        self.cross = [_CrossAttention.of(blk) for blk in self.cross_blocks]
        # longest text the towers take: open_clip's text tower needs a position for the class token after it
        self.max_len = min(text.num_pos - (text.cls_emb is not None), dec.context_length)
        self.legacy_mask = text.cls_emb is not None and not text.correct_cls_mask
        self.masked = text.cls_emb is not None  # the text tower masks pad keys only when it has a class token

    @torch.inference_mode()
    def greedy(self, images: torch.Tensor, seq_len: int = 30, min_seq_len: int = 5) -> torch.Tensor:
        """open_clip's `generate(generation_type="top_k", top_k=1)`, token for token.

        Where logits tie exactly, the lowest token id wins; open_clip draws among the tied ones at random.
        """
        return self._left_to_right(images, seq_len, min_seq_len, _argmax)

    @torch.inference_mode()
    def sample(
        self,
        images: torch.Tensor,
        seq_len: int = 30,
        min_seq_len: int = 5,
        top_k: int | None = None,
        top_p: float | None = None,
        temperature: float = 1.0,
        seed: int = 0,
    ) -> torch.Tensor:
        """Sampled captions (top-k or nucleus), with open_clip's length and ending rules and a seeded generator.

        The filters are transformers' TopKLogitsWarper / TopPLogitsWarper; the draws are our own, so the tokens
        are not open_clip's for the same seed.
        """
        if (top_k is None) == (top_p is None):
            raise ValueError("pass exactly one of top_k and top_p")
        gen = torch.Generator(device=images.device).manual_seed(seed)

        def pick(logits: torch.Tensor) -> torch.Tensor:
            logits = _top_k(logits, top_k) if top_k is not None else _top_p(logits, top_p)
            probs = F.softmax(logits / temperature, dim=-1)
            return torch.multinomial(probs, 1, generator=gen).squeeze(1)

        return self._left_to_right(images, seq_len, min_seq_len, pick)

    @torch.inference_mode()
    def beam_search(
        self,
        images: torch.Tensor,
        seq_len: int = 30,
        num_beams: int = 6,
        num_beam_groups: int = 3,
        min_seq_len: int = 5,
    ) -> torch.Tensor:
        """open_clip's `generate(generation_type="beam_search")` (its `_generate_beamsearch`), token for token."""
        if num_beams <= 1 or num_beam_groups > num_beams or num_beams % num_beam_groups:
            raise ValueError(
                f"num_beams must be > 1 and a multiple of num_beam_groups (got {num_beams}, {num_beam_groups})"
            )
        self._check_len(seq_len, min_seq_len)
        k = num_beams // num_beam_groups  # beams per group; the groups are identical (see the module docstring)
        n = images.shape[0]
        cache = self._start(images, k, seq_len)
        seqs = torch.full((n * k, 1), self.sot, dtype=torch.long, device=images.device)
        scores = torch.full((n, k), -1e9, dtype=torch.float, device=images.device)
        scores[:, 0] = 0  # only the first beam is live at the start, so the beams do not all pick the same token
        scores = scores.view(-1)
        hyps = [_Hypotheses(k) for _ in range(n)]
        alive = list(range(n))  # images still decoding, in cache order
        while True:
            logits = self._step(cache, seqs[:, -1])
            cur_len = seqs.shape[1]
            if cur_len < min_seq_len:
                logits[:, self.eot] = -math.inf
            vocab = logits.shape[-1]
            cand = (logits + scores[:, None]).view(len(alive), k * vocab)
            top_scores, top = torch.topk(cand, 2 * k, dim=1, largest=True, sorted=True)
            src_beam, tokens = torch.div(top, vocab, rounding_mode="floor"), top % vocab
            next_scores, next_tokens, next_rows, finished = [], [], [], []
            for a, (row_scores, row_tokens, row_src) in enumerate(
                zip(top_scores.tolist(), tokens.tolist(), src_beam.tolist())
            ):
                h = hyps[alive[a]]
                picked = 0
                for rank, (s, tok, src) in enumerate(zip(row_scores, row_tokens, row_src)):
                    if tok == self.eot:
                        if rank < k:  # an ending outside the top group-size candidates is not a hypothesis
                            h.add(seqs[a * k + src].clone(), s, cur_len + 1)
                    else:
                        next_scores.append(s)
                        next_tokens.append(tok)
                        next_rows.append(a * k + src)
                        picked += 1
                    if picked == k:
                        break
                if h.is_done(max(row_scores), cur_len + 1):
                    finished.append(a)
            rows = torch.tensor(next_rows, device=seqs.device)
            seqs = torch.cat([seqs[rows], torch.tensor(next_tokens, device=seqs.device)[:, None]], dim=1)
            scores = torch.tensor(next_scores, dtype=torch.float, device=seqs.device)
            cache.reorder(rows)
            for a in finished:
                hyps[alive[a]].done = True
            if len(finished) == len(alive) or seqs.shape[1] >= seq_len:
                break
            if finished:
                keep = [a for a in range(len(alive)) if a not in finished]
                keep_t = torch.tensor(keep, device=seqs.device)
                cache.keep(keep_t)
                rows = (keep_t[:, None] * k + torch.arange(k, device=seqs.device)).flatten()
                seqs, scores = seqs[rows], scores[rows]
                alive = [alive[a] for a in keep]
        for a, i in enumerate(alive):
            if not hyps[i].done:
                for j in range(k):
                    hyps[i].add(seqs[a * k + j], scores[a * k + j].item(), seqs.shape[1])
        best = [h.best() for h in hyps]
        width = min(max(len(b) for b in best) + 1, seq_len)
        out = torch.full((n, width), self.pad, dtype=torch.long, device=images.device)
        for i, b in enumerate(best):
            out[i, : len(b)] = b
            if len(b) < width:
                out[i, len(b)] = self.eot
        return out

    def _check_len(self, seq_len: int, min_seq_len: int) -> None:
        if not min_seq_len < seq_len <= self.max_len + 1:
            raise ValueError(f"seq_len must be above min_seq_len ({min_seq_len}) and at most {self.max_len + 1}")

    def _left_to_right(
        self, images: torch.Tensor, seq_len: int, min_seq_len: int, pick: Callable[[torch.Tensor], torch.Tensor]
    ) -> torch.Tensor:
        """One token per row per step until every row has ended (end-of-text or pad id) or reached `seq_len`."""
        self._check_len(seq_len, min_seq_len)
        n = images.shape[0]
        cache = self._start(images, 1, seq_len)
        out = torch.full((n, seq_len), self.pad, dtype=torch.long, device=images.device)
        out[:, 0] = self.sot
        alive = torch.arange(n, device=images.device)
        last = out[:, 0]
        length = 1
        while True:
            logits = self._step(cache, last)
            if length + 1 == seq_len:
                nxt = torch.full_like(last, self.eot)
            else:
                if length < min_seq_len:
                    logits[:, self.eot] = -math.inf
                nxt = pick(logits)
            out[alive, length] = nxt
            length += 1
            ended = (nxt == self.eot) | (nxt == self.pad)
            if length >= seq_len or bool(ended.all()):
                break
            if bool(ended.any()):
                going = (~ended).nonzero().squeeze(1)
                cache.keep(going)
                alive, nxt = alive[going], nxt[going]
            last = nxt
        return out[:, :length]

    def _start(self, images: torch.Tensor, per_image: int, seq_len: int) -> _Cache:
        """Encode the images once, and normalise their tokens once for every decoder layer's cross-attention."""
        embs = self.model._encode_image(images)[1]  # [images, image tokens, width]
        ln = self.cross_blocks[0].ln_1_kv
        image = F.layer_norm(embs, ln.normalized_shape, None, None, ln.eps)
        rows = images.shape[0] * per_image
        positions = seq_len - 1  # the last token is never fed back
        dtype, device = embs.dtype, embs.device

        def cache(blocks) -> torch.Tensor:
            heads = blocks[0].attn.num_heads
            width = blocks[0].attn.embed_dim
            return torch.empty(len(blocks), rows, heads, positions, width // heads, dtype=dtype, device=device)

        key_ok = torch.ones(rows, positions + 1, dtype=torch.bool, device=device)
        return _Cache(
            image,
            cache(self.text_blocks),
            cache(self.text_blocks),
            cache(self.dec_blocks),
            cache(self.dec_blocks),
            key_ok,
            per_image,
        )

    def _step(self, cache: _Cache, tokens: torch.Tensor) -> torch.Tensor:
        """Feed one token per row at position `cache.t`; returns the next-token logits [rows, vocab]."""
        t = cache.t
        text = self.text
        x = text.token_embedding(tokens) + text.positional_embedding[t]
        mask = None
        if self.masked:
            ok = tokens != self.text.pad_id
            if self.legacy_mask:  # key t + 1 is hidden when token t is the pad id
                cache.key_ok[:, t + 1] = ok
            else:
                cache.key_ok[:, t] = ok
            seen = cache.key_ok[:, : t + 1]
            if not bool(seen.all()):
                mask = seen[:, None, None, :]
        for i, blk in enumerate(self.text_blocks):
            x = _self_block(blk, x, cache.text_k[i], cache.text_v[i], t, mask)
        for i, (blk, cross) in enumerate(zip(self.dec_blocks, self.cross_blocks)):
            x = _self_block(blk, x, cache.dec_k[i], cache.dec_v[i], t, None)
            x = _cross_block(cross, self.cross[i], x, cache.image, cache.per_image)
        cache.t = t + 1
        x = self.dec.ln_final(x)
        return x @ self.dec.text_projection


def _check_supported(model) -> None:
    from open_clip.transformer import ResidualAttentionBlock, TextTransformer

    text, dec = getattr(model, "text", None), getattr(model, "text_decoder", None)
    if not isinstance(text, TextTransformer) or dec is None:
        raise UnsupportedCocaModel(
            "captions need an open_clip CoCa with its own text transformer (e.g. coca_ViT-B-32, coca_ViT-L-14, toy)"
        )
    blocks = [*text.transformer.resblocks, *dec.resblocks, *dec.cross_attn]
    kv_norms = {(type(b.ln_1_kv), tuple(b.ln_1_kv.normalized_shape), b.ln_1_kv.eps) for b in dec.cross_attn}
    if not all(isinstance(b, ResidualAttentionBlock) and b.attn.batch_first for b in blocks) or len(kv_norms) > 1:
        raise UnsupportedCocaModel(
            "captions support CoCa models built from open_clip's default attention blocks (e.g. coca_ViT-B-32, toy)"
        )
    if text.attn_mask is None or text.use_pad_mask or dec.text_projection is None:
        raise UnsupportedCocaModel("captions need a CoCa with a causal text tower and a caption head, as coca_ViT-B-32")


def _in_proj(attn) -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor | None, ...]]:
    w = attn.in_proj_weight.chunk(3)
    b = attn.in_proj_bias.chunk(3) if attn.in_proj_bias is not None else (None, None, None)
    return w, b


def _self_block(blk, x: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor, t: int, mask) -> torch.Tensor:
    """A causal `ResidualAttentionBlock` for the newest position: its key/value go into the cache at `t`."""
    attn = blk.attn
    rows, width = x.shape
    heads = attn.num_heads
    qkv = F.linear(blk.ln_1(x), attn.in_proj_weight, attn.in_proj_bias).view(rows, 3, heads, width // heads)
    q, k, v = qkv.unbind(1)
    k_cache[:, :, t] = k
    v_cache[:, :, t] = v
    o = F.scaled_dot_product_attention(q[:, :, None], k_cache[:, :, : t + 1], v_cache[:, :, : t + 1], mask)
    x = x + blk.ls_1(attn.out_proj(o.reshape(rows, width)))
    return x + blk.ls_2(blk.mlp(blk.ln_2(x)))


@dataclass
class _CrossAttention:
    """A cross-attention layer with its key and value projections folded into the query and output sides.

    Keys are W_k (g * n + b) + c for the normalised image tokens n and the layer norm's scale g and shift b, so
    q . key_j = (q W_k diag(g)) . n_j plus a term the same for every j, which softmax ignores; and the attention
    output sum_j a_j value_j is W_v diag(g) (sum_j a_j n_j) + W_v b + c_v, since the a_j sum to 1. So every layer
    reads the same normalised tokens n, and the image's keys and values are never made.
    """

    q_w: torch.Tensor  # [width, width]
    q_b: torch.Tensor | None
    k: torch.Tensor  # [heads, head dim, width]: W_k diag(g) per head, with softmax's 1/sqrt(head dim)
    v: torch.Tensor  # [heads, head dim, width]: W_v diag(g) per head
    v_b: torch.Tensor  # [heads, head dim]: W_v b + c_v

    @classmethod
    def of(cls, blk) -> _CrossAttention:
        attn, ln = blk.attn, blk.ln_1_kv
        w, b = _in_proj(attn)
        heads, width = attn.num_heads, attn.embed_dim
        g = ln.weight if ln.weight is not None else torch.ones_like(w[0][0])
        shift = ln.bias if ln.bias is not None else torch.zeros_like(w[0][0])
        with torch.no_grad():
            k = (w[1] * g).view(heads, width // heads, width) / math.sqrt(width // heads)
            v_b = w[2] @ shift + (b[2] if b[2] is not None else 0)
            return cls(w[0], b[0], k, (w[2] * g).view(heads, width // heads, width), v_b.view(heads, width // heads))


def _cross_block(blk, ca: _CrossAttention, x: torch.Tensor, image: torch.Tensor, per_image: int) -> torch.Tensor:
    """A cross-attention `ResidualAttentionBlock`: each image's rows attend to that image's tokens."""
    rows, width = x.shape
    heads, head_dim, _ = ca.k.shape
    q = F.linear(blk.ln_1(x), ca.q_w, ca.q_b).view(rows, heads, head_dim)
    q = torch.einsum("rhd,hdw->rhw", q, ca.k).reshape(rows // per_image, per_image * heads, width)
    a = torch.bmm(q, image.transpose(1, 2)).softmax(dim=-1)  # [images, rows of the image x heads, image tokens]
    u = torch.bmm(a, image).view(rows, heads, width)
    o = (torch.einsum("rhw,hdw->rhd", u, ca.v) + ca.v_b).reshape(rows, width)
    x = x + blk.ls_1(blk.attn.out_proj(o))
    return x + blk.ls_2(blk.mlp(blk.ln_2(x)))


def _argmax(logits: torch.Tensor) -> torch.Tensor:
    return logits.argmax(dim=-1)


def _top_k(logits: torch.Tensor, k: int) -> torch.Tensor:
    """transformers' TopKLogitsWarper: keep the k largest (and any tied with the k-th)."""
    kth = torch.topk(logits, min(max(k, 1), logits.shape[-1]))[0][..., -1, None]
    return logits.masked_fill(logits < kth, -math.inf)


def _top_p(logits: torch.Tensor, p: float) -> torch.Tensor:
    """transformers' TopPLogitsWarper: drop the least likely tokens whose total probability is at most 1 - p."""
    sorted_logits, order = torch.sort(logits, descending=False)
    drop = sorted_logits.softmax(dim=-1).cumsum(dim=-1) <= (1 - p)
    drop[..., -1:] = False  # keep at least one token
    return logits.masked_fill(drop.scatter(1, order, drop), -math.inf)


class _Hypotheses:
    """transformers' BeamHypotheses (length penalty 1.0, early_stopping=False): the n best finished sequences."""

    def __init__(self, n: int):
        self.n, self.beams, self.worst, self.done = n, [], 1e9, False

    def add(self, seq: torch.Tensor, sum_logits: float, generated_len: int) -> None:
        score = sum_logits / generated_len
        if len(self.beams) < self.n or score > self.worst:
            self.beams.append((score, seq))
            if len(self.beams) > self.n:
                ranked = sorted((s, i) for i, (s, _) in enumerate(self.beams))
                del self.beams[ranked[0][1]]
                self.worst = ranked[1][0]
            else:
                self.worst = min(score, self.worst)

    def is_done(self, best_sum_logits: float, cur_len: int) -> bool:
        """No running beam can beat the worst kept hypothesis (transformers' heuristic: judged at `cur_len`)."""
        return len(self.beams) >= self.n and self.worst >= best_sum_logits / cur_len

    def best(self) -> torch.Tensor:
        return sorted(self.beams, key=lambda b: b[0])[-1][1]
