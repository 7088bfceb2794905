# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: keep_output,tags,jupyter,slideshow,-all
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown] slideshow={"slide_type": "slide"}
# # 04 · Attention from scratch: checked against PyTorch, then watched as it learns
#
# Section 3.1 of the article says that the Transformer's key idea is *self-attention* — every
# token computes how relevant every other token is and takes a weighted mix of them — and that
# *multi-head* attention does this several times in parallel. It then gives a
# `ScaledDotProductAttention` module in PyTorch. This notebook builds attention up from the
# matrix products, fixes a scaling mistake in the article's module, checks every piece against
# PyTorch, and then trains a tiny model until one of its heads visibly finds what it must look at:
#
# 1. scaled dot-product attention step by step on a real sentence, the article's scale, and
#    why the scale matters;
# 2. masks (padding, causal, both), including a row with nothing to attend to;
# 3. multi-head attention by hand (a diagram, then the code), checked against
#    `torch.nn.MultiheadAttention`;
# 4. the encoder block from its parts — residuals, LayerNorm, feed-forward, post-norm and
#    pre-norm — and the sinusoidal positions, checked against `nn.TransformerEncoderLayer`;
# 5. a small Transformer assembled from those blocks, checked against the package's;
# 6. **attention learning**: that model trained to reverse sequences, and its head's map.
#
# *Going further* (at the end, after the exercises): layer 0 of a real pretrained BERT
# recomputed from its weights and its heads measured against an untrained BERT; hand-built vs
# fused attention timed; and the article's §1 tested on SST-2 (TF-IDF, the BiLSTM of 01 and the
# small Transformer).
#
# Every tensor line of lesson code carries its shape as a comment: `B` batch, `L` sequence
# length (`L_q` queries, `L_k` keys), `D` model width, `H` heads, `d_k` key width. The
# notebook's own code is the lesson; the tested versions live in `nlpcourse.models.attention`,
# and the notebook checks that both agree.

# %% slideshow={"slide_type": "skip"}
import dataclasses
import math
import time

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

import nlpcourse.models.attention as course
from nlpcourse.config import get_device, get_profile, seed_everything
from nlpcourse.data.sequence_tasks import sequence_task, source_positions, weight_on_source
from nlpcourse.plots.attention import (
    plot_attention_heads,
    plot_masks,
    plot_multihead_diagram,
    plot_positional_encoding,
)

notebook_start = time.perf_counter()  # the closing cell prints how long the notebook took
profile = get_profile()
seed_everything(profile.seed)
cfg = profile.attention
device = get_device()
print(f"profile {profile.name!r}, device {device}, BERT role: {profile.bert}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1 · Scaled dot-product attention, one step at a time
#
# Take two short sentences. Each word becomes a vector (here an untrained embedding, so the
# numbers below carry no meaning yet — section 6 shows a trained head). Three linear maps turn
# each vector into a **query** ("what am I looking for?"), a **key** ("what do I contain?") and
# a **value** ("what do I pass on?"). The score of query *i* against key *j* is their dot
# product; a softmax over *j* turns one query's scores into weights that sum to 1; the output
# for word *i* is the weighted average of the values:
#
# $$\text{Attention}(Q, K, V) = \operatorname{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}}\right)V$$
#
# where $d_k$ is the width of the queries and keys whose dot products are taken.

# %% slideshow={"slide_type": "subslide"}
sentences = ["the cat sat on the mat", "a dull story"]
words = [sentence.split() for sentence in sentences]
itos = ["<pad>", *sorted({w for ws in words for w in ws})]  # id 0 pads the shorter sentence
L = max(len(ws) for ws in words)
ids = torch.tensor([[itos.index(w) for w in ws] + [0] * (L - len(ws)) for ws in words])  # (B, L)
torch.manual_seed(0)
B, D = ids.shape[0], 16  # 2 sentences, model width 16
x = nn.Embedding(len(itos), D)(ids).detach()  # (B, L, D) one vector per word
W_q, W_k, W_v = (torch.randn(D, D) / math.sqrt(D) for _ in range(3))  # (D, D) each

q = x @ W_q  # (B, L, D) queries
k = x @ W_k  # (B, L, D) keys
v = x @ W_v  # (B, L, D) values
d_k = q.shape[-1]  # the width of the vectors whose dot products we take
scores = q @ k.transpose(-2, -1)  # (B, L, L): scores[b, i, j] = q_i · k_j
scores = scores / math.sqrt(d_k)  # (B, L, L) scaled
weights = scores.softmax(dim=-1)  # (B, L, L) each row sums to 1
out = weights @ v  # (B, L, D) row i = Σ_j weights[i, j] · v_j

print(pd.DataFrame(weights[0].numpy(), index=words[0], columns=words[0]).round(2))
print("row sums:", weights.sum(-1)[0].tolist())

# %% [markdown] slideshow={"slide_type": "subslide"}
# Row *i* says how much word *i* (the query) takes from each word (the keys). The two `the`
# rows are equal: the same word gives the same query, and nothing yet tells the model where a
# word stands (section 4 adds positions). The same computation as a function; it returns the
# weights too — they are what we will plot, and what a mask must zero.


# %% slideshow={"slide_type": "-"}
def attention(q, k, v, mask=None):
    """softmax(q kᵀ / √d_k) v with an optional boolean mask (True = may attend)."""
    d_k = q.shape[-1]  # the width actually multiplied
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)  # (..., L_q, L_k)
    if mask is not None:
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)  # (..., L_q, L_k)
    weights = scores.softmax(dim=-1)  # (..., L_q, L_k)
    if mask is not None:
        weights = weights.masked_fill(~mask, 0.0)  # (..., L_q, L_k) a fully masked row → 0
    return weights @ v, weights  # (..., L_q, d_v), (..., L_q, L_k)


out_fn, weights_fn = attention(q, k, v)
torch.testing.assert_close(out_fn, out)  # == the step-by-step cell
torch.testing.assert_close(out_fn, course.scaled_dot_product_attention(q, k, v)[0])  # == package
print("function == step by step == package:", tuple(out_fn.shape), tuple(weights_fn.shape))

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### The article's module, and its scale
#
# The article's `ScaledDotProductAttention(d_model)` stores `d_k = d_model // 8` and divides
# the scores by `sqrt(d_k)`, while the queries and keys it multiplies are `d_model` wide. The
# scale must be the square root of the width **actually multiplied**, `Q.size(-1)`. The
# article's number is right only inside an 8-head layer that has already split `Q` and `K` into
# heads of width `d_model / 8`; on full-width inputs, or with any other number of heads, it
# divides by the wrong number and silently sharpens the softmax. Rewritten with the defect
# kept, then tried:


# %% slideshow={"slide_type": "-"}
class ArticleAttention(nn.Module):
    """The article's module, defect included: the scale comes from d_model // 8."""

    def __init__(self, d_model):
        super().__init__()
        self.d_k = d_model // 8  # fixed here, whatever width forward() is given

    def forward(self, q, k, v):
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.d_k)  # (..., L_q, L_k)
        return scores.softmax(dim=-1) @ v  # (..., L_q, d_v)


d_model = 512
article = ArticleAttention(d_model)
torch.manual_seed(0)
for heads in (8, 4, 1):  # per-head width d_model / heads; 1 head = full-width Q and K
    width = d_model // heads
    qa, ka, va = torch.randn(3, 1, heads, 10, width).unbind(0)  # (1, heads, 10, width) each
    wrong = (article(qa, ka, va) - attention(qa, ka, va)[0]).abs().max().item()
    print(f"{heads} heads of width {width:>3}: max |article − correct| = {wrong:.2e}")
ratio = math.sqrt(d_model) / math.sqrt(d_model // 8)  # how much larger its full-width scores are
same, _ = course.scaled_dot_product_attention(qa, ka, va, scale=ratio / math.sqrt(d_model))
torch.testing.assert_close(article(qa, ka, va), same)  # correct attention, scores × ratio
print(f"full width: the article's scores are {ratio:.2f}× too large")

# %% [markdown] slideshow={"slide_type": "subslide"}
# Only the 8-head case agrees. **The fix:** take the scale from `q.size(-1)`, as our
# `attention` does and as `F.scaled_dot_product_attention` does by default.
#
# ### Why the scale matters
#
# If the entries of `q` and `k` have mean 0 and variance 1, their dot product is a sum of
# `d_k` such products and has variance `d_k`. Unscaled scores spread wider as the width grows,
# and a softmax of widely spread numbers puts almost all the weight on one key: it
# *saturates*, and a saturated softmax passes back almost no gradient. Dividing by √d_k brings
# the variance back to 1 at every width. Measured on random queries and keys (64 keys per
# row; log 64 ≈ 4.16 nats would be perfectly even):


# %% slideshow={"slide_type": "-"}
def softmax_stats(d_k, scale_name, scores):
    """Variance of the scores, mean max weight, mean entropy and mean |∂ loss/∂ scores|."""
    scores = scores.clone().requires_grad_(True)  # (N, L_q, L_k)
    weights = scores.softmax(dim=-1)  # (N, L_q, L_k)
    (weights * torch.randn_like(weights)).sum().backward()  # a random downstream loss
    entropy = -(weights * weights.clamp_min(1e-12).log()).sum(-1)  # (N, L_q)
    return {
        "d_k": d_k,
        "scale": scale_name,
        "score variance": scores.var().item(),
        "max weight": weights.max(-1).values.mean().item(),
        "entropy (nats)": entropy.mean().item(),
        "mean |grad|": scores.grad.abs().mean().item(),
    }


torch.manual_seed(0)
rows = []
for width in (16, 64, 256, 1024):
    qs, ks = torch.randn(2, 32, 64, width).unbind(0)  # (32, 64, width): 64 queries, 64 keys
    raw = qs @ ks.transpose(-2, -1)  # (32, 64, 64)
    rows.append(softmax_stats(width, "none", raw))
    rows.append(softmax_stats(width, "1/√d_k", raw / math.sqrt(width)))
qs, ks = torch.randn(2, 32, 64, d_model).unbind(0)  # (32, 64, 512)
raw = qs @ ks.transpose(-2, -1)  # (32, 64, 64)
rows.append(softmax_stats(d_model, "article: 1/√(512/8)", raw / math.sqrt(d_model // 8)))
rows.append(softmax_stats(d_model, "correct: 1/√512", raw / math.sqrt(d_model)))
scale_table = pd.DataFrame(rows)
print(scale_table.to_string(index=False, float_format=lambda value: f"{value:.3g}"))
unscaled = scale_table[scale_table["scale"] == "none"]
print(
    f"unscaled, d_k 16 → 1024: max weight {unscaled['max weight'].iloc[0]:.2f} → "
    f"{unscaled['max weight'].iloc[-1]:.2f}, mean |grad| {unscaled['mean |grad|'].iloc[0]:.2g} → "
    f"{unscaled['mean |grad|'].iloc[-1]:.2g}; scaled rows keep a score variance near 1"
)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2 · Masks
#
# A mask says which keys each query may look at. The course's convention is PyTorch's: a
# **boolean tensor, True where attention is allowed**, broadcastable to the scores' shape
# `(..., L_q, L_k)`.
#
# * A **padding mask** hides the `<pad>` positions of shorter sentences — our "a dull story"
#   was padded to 6 words above, and its queries took some of their weight from the pads. It
#   has shape `(B, 1, 1, L_k)`: the same for every head and every query.
# * A **causal mask** lets token *i* see only tokens 0…*i*, as a text generator must (it
#   cannot look at words it has not written yet): a lower-triangular `(L_q, L_k)` matrix.

# %% slideshow={"slide_type": "-"}
attention_mask = (ids != 0).long()  # (B, L) 1 at words, 0 at padding, as a tokenizer returns
pad_mask = attention_mask.bool()[:, None, None, :]  # (B, 1, 1, L_k)
causal = torch.ones(L, L, dtype=torch.bool).tril()  # (L_q, L_k)
both = pad_mask & causal  # (B, 1, L_q, L_k) broadcast: causal AND not padding

_, w_pad = attention(q[:, None], k[:, None], v[:, None], pad_mask)  # (B, 1, L, L)
print("no mask, 'a dull story':\n", weights[1, :3].round(decimals=2))
print("padding mask, 'a dull story':\n", w_pad[1, 0, :3].round(decimals=2))
assert torch.equal(pad_mask, course.padding_mask(attention_mask))
assert torch.equal(causal, course.causal_mask(L))

# %% [markdown] slideshow={"slide_type": "subslide"}
# The three masks of "a dull story" as pictures (white = may attend). The combined mask is the
# logical AND: a query sees a key only if it is not in the future *and* not padding. Its rows
# 3–5 are padding *queries*; they still see real keys, and the model ignores their outputs.

# %% slideshow={"slide_type": "-"}
figure = plot_masks(
    {
        "padding ('a dull story')": pad_mask[1, 0].expand(L, L),  # (L_q, L_k)
        "causal": causal,  # (L_q, L_k)
        "causal AND padding": both[1, 0],  # (L_q, L_k)
    }
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### A row with nothing to attend to
#
# The textbook way to mask is to set masked scores to `-inf` before the softmax. That breaks
# when *every* key of a row is masked: the softmax computes `0 / 0` and the row is **NaN**,
# which spreads into everything it touches, gradients included. The course's choice: fill
# with the most negative *finite* number (the row's softmax stays finite), then zero the
# masked weights, so a fully masked row gets **zero weights and a zero output**.

# %% slideshow={"slide_type": "-"}
row_mask = torch.tensor([[True, True, False], [False, False, False]])  # (L_q=2, L_k=3)
qm, km, vm = torch.randn(2, 4), torch.randn(3, 4), torch.randn(3, 4)  # (2, 4), (3, 4), (3, 4)
naive = (qm @ km.T / 2).masked_fill(~row_mask, float("-inf")).softmax(-1)  # (2, 3)
print("with -inf:\n", naive)
ours_out, ours_w = attention(qm, km, vm, row_mask)
print("ours:\n", ours_w, "\noutput row 1:", ours_out[1])

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Checked against PyTorch's fused kernel
#
# Our function, the package's `scaled_dot_product_attention` and
# `F.scaled_dot_product_attention` on the same inputs, with no mask, each kind of mask, and a
# mask with fully masked rows, on 4 heads at once:

# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
torch.manual_seed(1)
qh, kh = torch.randn(2, 4, 7, 8), torch.randn(2, 4, 9, 8)  # (B, H, L_q, d_k), (B, H, L_k, d_k)
vh = torch.randn(2, 4, 9, 6)  # (B, H, L_k, d_v)
masks = {
    "none": None,
    "padding": course.padding_mask(torch.tensor([[1] * 9, [1] * 5 + [0] * 4])),  # (B, 1, 1, L_k)
    "causal": course.causal_mask(7, 9),  # (L_q, L_k)
    "random, some rows empty": torch.rand(2, 1, 7, 9) > 0.6,  # (B, 1, L_q, L_k)
}
masks["random, some rows empty"][:, :, 2] = False  # query 2 may look nowhere
for name, mask in masks.items():
    ours, _ = attention(qh, kh, vh, mask)
    package, _ = course.scaled_dot_product_attention(qh, kh, vh, mask)
    fused = F.scaled_dot_product_attention(qh, kh, vh, attn_mask=mask)
    assert (ours - fused).abs().max() < 1e-5 and (package - fused).abs().max() < 1e-5
    print(f"{name:<24} shape {tuple(fused.shape)}: notebook == package == fused (< 1e-5)")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3 · Multi-head attention
#
# One attention computes one weighting of the tokens. **Multi-head** attention runs `H` of them
# side by side on narrower vectors, so that different heads can follow different relations,
# then mixes their results. The picture, for 4 tokens, `D = 6` and 2 heads:
#
# 1. project the input to queries, keys and values with three `D × D` linear maps;
# 2. **split** each into `H` heads of width `d_head = D / H` — the coloured column blocks;
# 3. attend in every head on its own columns (scale 1/√d_head: the width a head multiplies);
# 4. **merge** the heads back side by side, `(L, D)`;
# 5. mix them with an output projection `W_o`, another `D × D` map.

# %% slideshow={"slide_type": "-"}
figure = plot_multihead_diagram(tokens=4, d_model=6, num_heads=2)

# %% [markdown] slideshow={"slide_type": "subslide"}
# In code, a split is a `view` to `(B, L, H, d_head)` and a transpose to `(B, H, L, d_head)`,
# so that the batch and head dimensions ride along in `attention`; a merge undoes both. This
# is where the article's `d_model // 8` belongs: inside a head of an 8-head layer.


# %% slideshow={"slide_type": "-"}
class MultiHead(nn.Module):
    """Multi-head attention written out: project, split, attend, merge, project."""

    def __init__(self, d_model, num_heads):
        super().__init__()
        assert d_model % num_heads == 0, "every head gets d_model / num_heads features"
        self.h, self.d_head = num_heads, d_model // num_heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (
            nn.Linear(d_model, d_model) for _ in range(4)
        )

    def forward(self, x, context=None, mask=None):
        context = x if context is None else context  # self-attention unless told otherwise
        B, L_q, D = x.shape
        L_k = context.shape[1]
        q = self.q_proj(x).view(B, L_q, self.h, self.d_head).transpose(1, 2)  # (B, H, L_q, d_head)
        k = (
            self.k_proj(context).view(B, L_k, self.h, self.d_head).transpose(1, 2)
        )  # (B, H, L_k, d_head)
        v = (
            self.v_proj(context).view(B, L_k, self.h, self.d_head).transpose(1, 2)
        )  # (B, H, L_k, d_head)
        if mask is not None and mask.ndim == 2:
            mask = mask[None, None]  # (1, 1, L_q, L_k) one mask for every batch and head
        heads, weights = attention(q, k, v, mask)  # (B, H, L_q, d_head), (B, H, L_q, L_k)
        merged = heads.transpose(1, 2).reshape(B, L_q, D)  # (B, L_q, D) heads side by side
        return self.out_proj(merged), weights  # (B, L_q, D), (B, H, L_q, L_k)


# %% [markdown] slideshow={"slide_type": "subslide"}
# **Checked against `torch.nn.MultiheadAttention`** and the package's `MultiHeadAttention`.
# PyTorch keeps the three input projections stacked in one `(3D, D)` matrix `in_proj_weight`;
# we copy its thirds into our layers. Note PyTorch's opposite mask convention for
# `key_padding_mask`: True means *padding*.

# %% slideshow={"slide_type": "-"}
torch.manual_seed(0)
D, H = cfg.d_model, cfg.num_heads
x = torch.randn(3, 6, D)  # (B, L, D)
key_is_real = torch.tensor([[1] * 6, [1] * 4 + [0] * 2, [1] * 2 + [0] * 4])  # (B, L) attention mask
reference = nn.MultiheadAttention(D, H, batch_first=True).eval()
mine = MultiHead(D, H).eval()
package = course.MultiHeadAttention(D, H).eval().load_from_torch(reference)
mine.load_state_dict(package.state_dict())  # the same parameter names as the package's

out_mine, w_mine = mine(x, mask=course.padding_mask(key_is_real))
out_ref, w_ref = reference(x, x, x, key_padding_mask=key_is_real == 0, average_attn_weights=False)
out_pkg, w_pkg = package(x, mask=course.padding_mask(key_is_real))
print(f"output {tuple(out_mine.shape)}, weights {tuple(w_mine.shape)}")
print(
    f"notebook vs nn.MultiheadAttention: {(out_mine - out_ref).abs().max().item():.2e} (output), "
    f"{(w_mine - w_ref).abs().max().item():.2e} (weights)"
)
assert (out_mine - out_ref).abs().max() < 1e-5 and (w_mine - w_ref).abs().max() < 1e-5
torch.testing.assert_close(out_mine, out_pkg)

# %% [markdown] slideshow={"slide_type": "subslide"}
# A multi-head layer has `4 · (D² + D)` parameters whatever the number of heads: splitting into
# heads reshapes the projections, it does not add weights.

# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
for heads in (1, 2, H, 16):
    n = sum(p.numel() for p in MultiHead(D, heads).parameters())
    print(f"D={D}, {heads:>2} heads: {n:,} parameters")
assert n == 4 * (D * D + D)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4 · The encoder block, from its parts
#
# An encoder layer wraps multi-head attention with four more ideas, each one line of code:
#
# * a **residual connection** adds a sublayer's input to its output, `x + f(x)`, so the
#   signal (and the gradient) can pass a layer unchanged and each layer learns a correction;
# * **LayerNorm** rescales each token vector to mean 0 and variance 1 over its `D` features,
#   then applies a learned scale γ and shift β — it keeps the sums from the residuals in range;
# * the **position-wise feed-forward** layer is a two-layer MLP applied to every token on its
#   own: widen `D → ff_dim`, a **GELU** nonlinearity (a smooth ReLU, `x·Φ(x)`), back to `D`;
# * **dropout** zeroes a random fraction of a sublayer's output during training only.
#
# First LayerNorm by hand:

# %% slideshow={"slide_type": "subslide"}
torch.manual_seed(0)
x_ln = torch.randn(2, 5, 16)  # (B, L, D)
norm = nn.LayerNorm(16)
with torch.no_grad():
    norm.weight.uniform_(0.5, 1.5), norm.bias.uniform_(-0.5, 0.5)  # a non-trivial γ and β
mean = x_ln.mean(-1, keepdim=True)  # (B, L, 1) per token, over its features
var = x_ln.var(-1, unbiased=False, keepdim=True)  # (B, L, 1)
by_hand = (x_ln - mean) / torch.sqrt(var + norm.eps) * norm.weight + norm.bias  # (B, L, D)
torch.testing.assert_close(by_hand, norm(x_ln))
print("LayerNorm by hand == nn.LayerNorm")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Post-norm and pre-norm
#
# Where the LayerNorm goes has a name, and it matters for training:
#
# * **post-norm** (the original Transformer, BERT): `x = LayerNorm(x + sublayer(x))` — every
#   residual sum is normalised, so the path from input to output passes through a norm at
#   every layer;
# * **pre-norm** (GPT-2 and most models trained from scratch today): `x = x + sublayer(LayerNorm(x))`
#   — the sublayer reads a normalised copy and its result is added to an **untouched**
#   residual stream. Gradients reach the early layers along that stream unchanged, which is why
#   pre-norm trains more easily from scratch, without a warm-up; since the stream itself is
#   never normalised, a pre-norm model ends with one final LayerNorm.
#
# One block with both layouts, the attention sublayer being section 3's `MultiHead`:


# %% slideshow={"slide_type": "-"}
class Block(nn.Module):
    """Encoder layer: attention and feed-forward, each with a residual and a LayerNorm."""

    def __init__(self, d_model, num_heads, ff_dim, dropout=0.1, norm_first=False, eps=1e-5):
        super().__init__()
        self.norm_first = norm_first
        self.attention = MultiHead(d_model, num_heads)
        self.norm1 = nn.LayerNorm(d_model, eps=eps)
        self.feed_forward = nn.Sequential(
            nn.Linear(d_model, ff_dim), nn.GELU(), nn.Linear(ff_dim, d_model)
        )  # (B, L, D) → (B, L, ff_dim) → (B, L, D), every token on its own
        self.norm2 = nn.LayerNorm(d_model, eps=eps)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, mask=None):
        if self.norm_first:  # pre-norm: x + sublayer(norm(x)); the stream x is never normalised
            attended, weights = self.attention(self.norm1(x), mask=mask)  # (B, L, D), (B, H, L, L)
            x = x + self.dropout(attended)  # (B, L, D)
            x = x + self.dropout(self.feed_forward(self.norm2(x)))  # (B, L, D)
        else:  # post-norm: norm(x + sublayer(x))
            attended, weights = self.attention(x, mask=mask)  # (B, L, D), (B, H, L, L)
            x = self.norm1(x + self.dropout(attended))  # (B, L, D)
            x = self.norm2(x + self.dropout(self.feed_forward(x)))  # (B, L, D)
        return x, weights


# %% [markdown] slideshow={"slide_type": "subslide"}
# **Checked in both layouts.** PyTorch's `nn.TransformerEncoderLayer` (GELU, batch-first,
# `norm_first` False or True) gets random weights; the package's `EncoderBlock` copies them,
# and our `Block` loads the package block's state (the parameter names are the same). Same
# input and padding → same output at every real token. (PyTorch's layer takes
# `src_key_padding_mask`, True at *padding*; its fast inference path leaves padded positions
# undefined, so only real tokens are compared.)

# %% slideshow={"slide_type": "-"}
keep = key_is_real.bool()  # (B, L) True at real tokens
for norm_first in (False, True):
    torch.manual_seed(0)
    torch_layer = nn.TransformerEncoderLayer(
        D, H, cfg.ff_dim, dropout=0.0, activation="gelu", batch_first=True, norm_first=norm_first
    ).eval()
    package_block = course.EncoderBlock(D, H, cfg.ff_dim, dropout=0.0, norm_first=norm_first)
    package_block.load_from_torch(torch_layer).eval()
    hand_block = Block(D, H, cfg.ff_dim, dropout=0.0, norm_first=norm_first).eval()
    hand_block.load_state_dict(package_block.state_dict())
    with torch.no_grad():
        y_hand, _ = hand_block(x, course.padding_mask(keep))  # (B, L, D)
        y_package, _ = package_block(x, course.padding_mask(keep))  # (B, L, D)
        y_torch = torch_layer(x, src_key_padding_mask=~keep)  # (B, L, D)
    torch.testing.assert_close(y_hand, y_package)
    torch.testing.assert_close(y_hand[keep], y_torch[keep], atol=1e-5, rtol=1e-5)
    layout = "pre-norm " if norm_first else "post-norm"
    print(f"{layout}: notebook Block == package EncoderBlock == nn.TransformerEncoderLayer")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Where is each token? Sinusoidal positional encoding
#
# Attention itself ignores order: permute the tokens and the outputs permute along (checked
# below) — that is why the two `the` rows of section 1 were equal. The original Transformer
# adds to each token vector a fixed pattern that depends on its position *p*: for the feature
# pair (2i, 2i+1),
#
# $$PE[p, 2i] = \sin\!\big(p / 10000^{2i/D}\big), \qquad PE[p, 2i+1] = \cos\!\big(p / 10000^{2i/D}\big).$$
#
# The wavelengths grow geometrically from 2π to 10000·2π across the features: low features
# change quickly from one position to the next, high ones slowly, so every position gets a
# distinct code, and a shift by *k* positions acts on each pair as a fixed rotation. (BERT
# instead *learns* one vector per position.)

# %% slideshow={"slide_type": "-"}
max_len = 128
p = torch.arange(max_len, dtype=torch.float32)[:, None]  # (P, 1) positions
two_i = torch.arange(0, D, 2, dtype=torch.float32)  # (D/2,) even feature indices
angles = p / 10_000 ** (two_i / D)  # (P, D/2) one angle per position and pair
table = torch.zeros(max_len, D)  # (P, D)
table[:, 0::2] = torch.sin(angles)  # (P, D/2) even features
table[:, 1::2] = torch.cos(angles)  # (P, D/2) odd features
torch.testing.assert_close(table, course.sinusoidal_positional_encoding(max_len, D))
similarity = table @ table[10]  # (P,) dot product of every position with position 10
print("notebook table == package table", tuple(table.shape))
print("positions closest to 10:", similarity.argsort(descending=True)[:5].tolist())
figure = plot_positional_encoding(table)

# %% slideshow={"slide_type": "subslide"}
x_perm = torch.randn(1, 6, D)  # (1, L, D)
perm = torch.tensor([3, 0, 5, 1, 4, 2])
out_a, _ = mine(x_perm)  # (1, L, D)
out_b, _ = mine(x_perm[:, perm])  # (1, L, D) permuted input
torch.testing.assert_close(out_b, out_a[:, perm])  # permuted output: attention has no order
print("attention without positions is permutation-equivariant")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5 · A small Transformer from these blocks
#
# Token embeddings (scaled by √D, so that they match the positions' scale) plus the sinusoids,
# then pre-norm `Block`s, the final LayerNorm that pre-norm needs, and a linear head. For a
# sentence label the head reads the **masked mean** of the real token vectors (padding left
# out); for a per-token task it reads every token.


# %% slideshow={"slide_type": "-"}
class SmallTransformer(nn.Module):
    """Embeddings + sinusoids → pre-norm Blocks → LayerNorm → masked mean (or every token) → head."""

    def __init__(
        self,
        vocab_size,
        num_outputs,
        d_model,
        num_heads,
        num_layers,
        ff_dim,
        max_len=512,
        dropout=0.1,
        pad_id=0,
        per_token=False,
    ):
        super().__init__()
        self.d_model, self.pad_id, self.per_token = d_model, pad_id, per_token
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=pad_id)
        nn.init.normal_(self.embedding.weight, std=d_model**-0.5)  # × √D below → unit scale
        table = course.sinusoidal_positional_encoding(max_len, d_model)  # (max_len, D) fixed
        self.register_buffer("positions", table, persistent=False)
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            Block(d_model, num_heads, ff_dim, dropout, norm_first=True) for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, num_outputs)

    def forward(self, ids, lengths=None):
        L = ids.shape[1]
        positions = torch.arange(L, device=ids.device)  # (L,)
        keep = ids != self.pad_id if lengths is None else positions < lengths[:, None]  # (B, L)
        x = self.embedding(ids) * math.sqrt(self.d_model) + self.positions[:L]  # (B, L, D)
        x, self.maps = self.dropout(x), []  # the maps are kept for plotting
        for block in self.blocks:
            x, weights = block(x, course.padding_mask(keep))  # (B, L, D), (B, H, L, L)
            self.maps.append(weights.detach())
        x = self.norm(x)  # (B, L, D)
        if self.per_token:
            return self.head(x)  # (B, L, outputs) one prediction per token
        pooled = (x * keep[..., None]).sum(1) / keep.sum(1, keepdim=True)  # (B, D) real tokens
        return self.head(pooled)  # (B, outputs)


# %% [markdown] slideshow={"slide_type": "subslide"}
# **Checked against the package's `TransformerClassifier`:** the same weights give the same
# logits on a padded batch, read either from the padding ids or from the lengths.

# %% slideshow={"slide_type": "-"}
torch.manual_seed(0)
package_model = course.TransformerClassifier(
    50, 1, d_model=D, num_heads=H, num_layers=2, ff_dim=cfg.ff_dim, max_len=32
).eval()
ours_model = SmallTransformer(50, 1, D, H, num_layers=2, ff_dim=cfg.ff_dim, max_len=32).eval()
ours_model.load_state_dict(package_model.state_dict())
ids_check = torch.randint(1, 50, (3, 9))  # (B, L)
lengths_check = torch.tensor([9, 5, 2])  # (B,)
ids_check[torch.arange(9) >= lengths_check[:, None]] = 0  # (B, L) padding after each length
with torch.no_grad():
    torch.testing.assert_close(ours_model(ids_check), package_model(ids_check))
    torch.testing.assert_close(
        ours_model(ids_check, lengths_check), package_model(ids_check, lengths_check)
    )
print(
    f"SmallTransformer == course.TransformerClassifier: logits {tuple(ours_model(ids_check).shape)}"
)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6 · Watching attention learn: reversing a sequence
#
# A task whose solution *is* an alignment: given a sequence of random tokens, output it
# reversed. To write the token at position *i*, the model must fetch the one at position
# *L − 1 − i* — nothing else in the sequence helps. If attention learns anything, a head's map
# must turn into the anti-diagonal. The data come from `nlpcourse.data.sequence_tasks` (random
# ids, fresh for every batch; `source_positions` says which input position each output copies,
# `weight_on_source` averages the weight a head puts there — 1/L for a head that looks
# everywhere evenly).

# %% slideshow={"slide_type": "-"}
n_len, n_vocab = cfg.task_length, cfg.task_vocab
test_inputs, test_targets = sequence_task(cfg.task_kind, 512, n_len, n_vocab, seed=10_000)
test_source = source_positions(cfg.task_kind, test_inputs)  # (512, L) where each output looks
print("input :", test_inputs[0].tolist(), "\ntarget:", test_targets[0].tolist())

torch.manual_seed(profile.seed)
reverser = SmallTransformer(
    n_vocab,
    n_vocab,
    cfg.task_d_model,
    cfg.task_heads,
    num_layers=1,
    ff_dim=2 * cfg.task_d_model,
    max_len=n_len,
    dropout=0.0,
    per_token=True,
)
optimizer = torch.optim.AdamW(reverser.parameters(), lr=cfg.task_lr)


def task_scores(model):
    """Token accuracy on the test sequences and each head's mean weight on the right source."""
    with torch.no_grad():
        logits = model(test_inputs)  # (N, L, vocab)
    accuracy = (logits.argmax(-1) == test_targets).float().mean().item()
    return accuracy, weight_on_source(model.maps[0], test_source)  # float, (H,)


accuracy, on_source = task_scores(reverser)
print(
    f"untrained: token accuracy {accuracy:.3f} (chance {1 / (n_vocab - 1):.3f}); weight on the "
    f"source per head {[round(w, 3) for w in on_source.tolist()]} (uniform: {1 / n_len:.3f})"
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# The training loop, written out: a fresh batch of random sequences per step, the cross-entropy
# of every output token.

# %% slideshow={"slide_type": "-"}
log = []
for step in range(1, cfg.task_steps + 1):
    inputs, targets = sequence_task(cfg.task_kind, cfg.task_batch, n_len, n_vocab, seed=step)
    logits = reverser(inputs)  # (B, L, vocab)
    loss = F.cross_entropy(logits.reshape(-1, n_vocab), targets.reshape(-1))  # every token
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % (cfg.task_steps // 4) == 0:
        accuracy, on_source = task_scores(reverser)
        log.append({"step": step, "loss": loss.item(), "test token accuracy": accuracy})
        log[-1].update({f"head {h} on source": w for h, w in enumerate(on_source.tolist())})
print(pd.DataFrame(log).to_string(index=False, float_format=lambda value: f"{value:.3f}"))

# %% [markdown] slideshow={"slide_type": "subslide"}
# The two heads of the trained layer on one test sequence (row = output position asking,
# column = input position looked at):

# %% slideshow={"slide_type": "-"}
best_head = int(on_source.argmax())
figure = plot_attention_heads(
    reverser.maps[0][0],  # (H, L, L) the first test sequence
    [str(t) for t in test_inputs[0].tolist()],
    ncols=cfg.task_heads,
    title=f"trained to {cfg.task_kind}: 1 layer, {cfg.task_heads} heads",
    cell_size=3.6,
)
print(
    f"after {cfg.task_steps} steps: token accuracy {accuracy:.3f}; head {best_head} puts "
    f"{on_source[best_head]:.2f} of its weight on the source position "
    f"({on_source[best_head] * n_len:.1f}× the uniform 1/{n_len})"
)

# %% [markdown] slideshow={"slide_type": "-"}
# The table and the maps printed above are the lesson: before training every head spreads its
# weight about evenly (the untrained row), and within the logged steps the weight on the one
# position that matters grows while the accuracy climbs. Attention is not told where to look;
# the gradient of the loss moves the query and key projections until the scores single out
# the source position — here an anti-diagonal that the sinusoids make easy to express, since
# position *L − 1 − i*'s code is a fixed linear function of position *i*'s.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
#
# **1.** Local (sliding-window) attention lets each token see only its neighbours. Build the
# boolean `(6, 6)` mask in which query *i* may attend to key *j* exactly when |i − j| ≤ 1.

# %% slideshow={"slide_type": "-"}
from nlpcourse.exercises.ch04 import check_attention_distance, check_fused_mha, check_local_mask

local_mask = None  # your answer: a (6, 6) boolean tensor
if local_mask is not None:
    check_local_mask(local_mask)

# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"]
positions = torch.arange(6)
local_mask = (positions[:, None] - positions[None, :]).abs() <= 1  # (6, 6)
assert check_local_mask(local_mask)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **2.** Real implementations compute queries, keys and values with **one** fused projection
# `D → 3·D` (one large matrix product instead of three), as `nn.MultiheadAttention` stores
# them in `in_proj_weight`. Write a class `FusedMultiHead(d_model, num_heads)` with attributes
# `qkv = nn.Linear(D, 3 * D)` and `out = nn.Linear(D, D)` whose `forward(x)` returns the
# `(B, L, D)` self-attention output. The check copies an `nn.MultiheadAttention`'s weights
# into `qkv` and `out` and compares the outputs at two sizes.

# %% slideshow={"slide_type": "-"}
FusedMultiHead = None  # your answer: the class
if FusedMultiHead is not None:
    check_fused_mha(FusedMultiHead)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"]
class FusedMultiHead(nn.Module):
    """Self-attention with one fused query/key/value projection."""

    def __init__(self, d_model, num_heads):
        super().__init__()
        self.h = num_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)

    def forward(self, x):
        q, k, v = self.qkv(x).chunk(3, dim=-1)  # 3 × (B, L, D)
        q, k, v = (course.split_heads(t, self.h) for t in (q, k, v))  # 3 × (B, H, L, d_head)
        heads = F.scaled_dot_product_attention(q, k, v)  # (B, H, L, d_head)
        return self.out(course.merge_heads(heads))  # (B, L, D)


assert check_fused_mha(FusedMultiHead)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **3.** How far does a head look? Write `attention_distance(weights)`: for one layer's
# self-attention weights of shape `(H, L, L)`, return a `(H,)` tensor holding, for each head,
# the **mean over the queries *i*** of Σ_j w_ij·|i − j| — the average number of positions
# between a query and the keys it attends to. (A head that attends only to itself scores 0.)
# The check compares your function with the package's head statistics on random maps and on
# two maps whose answer you can work out by hand.

# %% slideshow={"slide_type": "-"}
attention_distance = None  # your answer: a function (H, L, L) weights -> (H,) distances
if attention_distance is not None:
    check_attention_distance(attention_distance)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"]
def attention_distance(weights):
    """Per head, the mean over queries of Σ_j w_ij·|i − j|."""
    positions = torch.arange(weights.shape[-1])  # (L,)
    offsets = (positions[:, None] - positions[None, :]).abs()  # (L, L) |i − j|
    return (weights * offsets).sum(-1).mean(-1)  # (H, L) per query → (H,) per head


assert check_attention_distance(attention_distance)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Going further
#
# The core of the lesson ends here. The three parts below run in CI like the rest and use
# what was built above: a real pretrained BERT layer recomputed and its heads measured,
# hand-built vs fused attention timed, and the article's §1 claim tested on SST-2.
#
# ### G1 · Recomputing a real BERT layer
#
# We load the profile's pretrained BERT and run two sentences through it, asking for every
# layer's hidden states and attention weights. In transformers 5 BERT computes attention with
# PyTorch's fused kernel (`sdpa`) by default, which never forms the weight matrix;
# `attn_implementation="eager"` selects the plain implementation that can return it.

# %% slideshow={"slide_type": "subslide"}
import logging

for noisy in ("torchao", "torch.utils._pytree"):  # import-time notices of optional libraries
    logging.getLogger(noisy).setLevel(logging.ERROR)

from transformers import AutoTokenizer, BertModel
from transformers.utils import logging as hf_logging

from nlpcourse.data.checkpoints import load_pretrained

hf_logging.set_verbosity_error()  # no load reports in the notebook
hf_logging.disable_progress_bar()
tokenizer = load_pretrained(AutoTokenizer, profile.bert)
bert = load_pretrained(BertModel, profile.bert, attn_implementation="eager").eval()
config = bert.config
print(
    f"{config.num_hidden_layers} layers, hidden {config.hidden_size}, "
    f"{config.num_attention_heads} heads, feed-forward {config.intermediate_size}, "
    f"activation {config.hidden_act}, LayerNorm eps {config.layer_norm_eps}"
)
bert_sentences = ["The film is not good, but the actors are brilliant.", "A dull story."]
batch = tokenizer(bert_sentences, padding=True, return_tensors="pt")  # padded: the mask matters
with torch.no_grad():
    result = bert(**batch, output_attentions=True, output_hidden_states=True)
print(
    f"{len(result.hidden_states)} hidden states {tuple(result.hidden_states[0].shape)}, "
    f"{len(result.attentions)} attention maps {tuple(result.attentions[0].shape)}"
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# `hidden_states[0]` is the output of the embeddings; `hidden_states[1]` is the output of
# layer 0. A BERT layer is exactly the **post-norm** `Block` of section 4 with BERT's
# LayerNorm epsilon, so our `Block` holding layer 0's weights must reproduce it — the
# attention weights and the layer's output, on a padded batch.

# %% slideshow={"slide_type": "-"}
layer0 = bert.encoder.layer[0]
x0 = result.hidden_states[0]  # (B, L, hidden) input of layer 0
mask0 = course.padding_mask(batch["attention_mask"])  # (B, 1, 1, L)
bert_block = Block(
    config.hidden_size,
    config.num_attention_heads,
    config.intermediate_size,
    dropout=0.0,
    eps=config.layer_norm_eps,
).eval()
with torch.no_grad():
    attn = bert_block.attention
    for ours_layer, theirs in (
        (attn.q_proj, layer0.attention.self.query),
        (attn.k_proj, layer0.attention.self.key),
        (attn.v_proj, layer0.attention.self.value),
        (attn.out_proj, layer0.attention.output.dense),
        (bert_block.norm1, layer0.attention.output.LayerNorm),
        (bert_block.feed_forward[0], layer0.intermediate.dense),
        (bert_block.feed_forward[2], layer0.output.dense),
        (bert_block.norm2, layer0.output.LayerNorm),
    ):
        ours_layer.load_state_dict(theirs.state_dict())
    y0, block_weights = bert_block(x0, mask0)  # (B, L, hidden), (B, heads, L, L)
real = batch["attention_mask"].bool()  # (B, L) compare real tokens
weight_gap = (block_weights - result.attentions[0]).abs().max().item()
output_gap = (y0[real] - result.hidden_states[1][real]).abs().max().item()
print(f"our Block vs BERT layer 0: weights {weight_gap:.2e}, output {output_gap:.2e} (max |diff|)")
assert weight_gap < 1e-4 and output_gap < 1e-4

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### What the real heads look at
#
# Each panel is one head of one layer (the layer is set in the profile): row = the token that
# looks (query), column = the token looked at (key), brightness = the weight.

# %% slideshow={"slide_type": "-"}
n_real = int(batch["attention_mask"][0].sum())
bert_tokens = tokenizer.convert_ids_to_tokens(batch["input_ids"][0, :n_real])
assert n_real <= cfg.heatmap_max_tokens, "a heatmap is read token by token: keep it short"
layer_maps = result.attentions[cfg.heatmap_layer][0, :, :n_real, :n_real]  # (heads, L, L)
figure = plot_attention_heads(
    layer_maps, bert_tokens, ncols=4, title=f"{profile.bert}, layer {cfg.heatmap_layer}"
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Do heads differ in spread and distance? Measured, with a control
#
# On SST-2 validation sentences, for every head and sentence, averaged over the real query
# tokens: the **entropy** of a query's attention row (0 when it looks at one token, log n when
# it spreads evenly over n) and the **mean attention distance** Σ_j w_ij·|i − j| (exercise 3).
# If the heads of a layer were interchangeable, the spread of their averages would be about as
# small as the uncertainty of one head's average (its standard error over sentences). The
# **control** is the same architecture with random weights (a BERT never trained): whatever
# spread it shows comes from the architecture and the sentences, not from learning.

# %% slideshow={"slide_type": "-"}
from nlpcourse.data.splits import sst2_subset
from nlpcourse.evaluate.attention_stats import layer_head_statistics, spread_across_heads
from nlpcourse.plots.attention import plot_head_statistics

sst2 = sst2_subset(profile)
stats_texts = sst2["validation"]["text"][: cfg.head_stats_sentences]
stats_batch = tokenizer(stats_texts, padding=True, truncation=True, return_tensors="pt")
torch.manual_seed(profile.seed)
untrained_bert = BertModel(config).eval()  # same shape, random weights: the control
spread = {}
for name, model in (("pretrained", bert), ("untrained", untrained_bert)):
    with torch.no_grad():
        maps = model(**stats_batch, output_attentions=True).attentions  # layers × (N, H, L, L)
    stats = layer_head_statistics(maps, stats_batch["attention_mask"])  # (N, layers, H) each
    for key in ("entropy", "distance"):
        measured = spread_across_heads(stats[key])
        ratios = measured["between_heads_sd"] / measured["standard_error"]  # (layers,)
        spread[name, key] = measured["head_means"]  # (layers, H)
        print(
            f"{name:>10} {key:>8}: head averages {measured['head_means'].min():.2f}–"
            f"{measured['head_means'].max():.2f}; between-head sd / standard error per layer: "
            + ", ".join(f"{r:.1f}" for r in ratios.tolist())
        )

# %% slideshow={"slide_type": "subslide"}
figure = plot_head_statistics(
    spread["pretrained", "entropy"],
    spread["pretrained", "distance"],
    title=f"{profile.bert}: one dot per head",
)
figure = plot_head_statistics(
    spread["untrained", "entropy"],
    spread["untrained", "distance"],
    title="the same architecture, untrained: one dot per head",
)

# %% [markdown] slideshow={"slide_type": "-"}
# A ratio well above 1 means the heads of a layer differ by more than sampling noise; compare
# the pretrained rows with the untrained control printed beside them — the plots show the same
# numbers per head. What separates the two is training: the untrained model's heads are built
# the same way and read the same sentences.

# %% [markdown] slideshow={"slide_type": "slide"}
# ### G2 · Hand-built vs fused: time
#
# `F.scaled_dot_product_attention` fuses the scaling, masking, softmax and weighted sum into
# one kernel that need not keep the full `L × L` weight matrix. Our version materialises
# scores and weights. Timed fairly: the same tensors for both, one warm-up call each, the same
# number of repeats taken in turns, the median. Only CPU times were measured for this release.

# %% slideshow={"slide_type": "-"}
from nlpcourse.evaluate.timing import compare_seconds
from nlpcourse.plots.attention import plot_attention_timings

timings = {"hand-built": [], "F.scaled_dot_product_attention": []}
d_head = D // H
with torch.no_grad():
    for length in cfg.timing_lengths:
        qt, kt, vt = torch.randn(3, cfg.timing_batch, H, length, d_head, device=device).unbind(0)
        seconds = compare_seconds(
            {
                "hand-built": lambda: attention(qt, kt, vt),  # noqa: B023 - timed at once
                "fused": lambda: F.scaled_dot_product_attention(qt, kt, vt),  # noqa: B023
            },
            repeats=cfg.timing_repeats,
        )
        timings["hand-built"].append(seconds["hand-built"] * 1e3)  # ms
        timings["F.scaled_dot_product_attention"].append(seconds["fused"] * 1e3)
for length, hand, fused in zip(cfg.timing_lengths, *timings.values(), strict=True):
    print(
        f"L={length:>4}: hand-built {hand:7.2f} ms, fused {fused:7.2f} ms, "
        f"hand-built takes {hand / fused:4.1f}× as long"
    )
figure = plot_attention_timings(cfg.timing_lengths, timings)

# %% [markdown] slideshow={"slide_type": "slide"}
# ### G3 · §1 tested: a statistical baseline, the BiLSTM and the small Transformer
#
# The article's §1 says neural end-to-end models displaced statistical methods. On our budget
# we can test a small version of that claim: three classifiers on **the same SST-2 parts**
# (train / validation / test of notebook 01, the same vocabulary):
#
# * **TF-IDF + logistic regression** (scikit-learn): word and word-pair counts, reweighted,
#   and a linear model — the statistical method;
# * the **BiLSTM** of notebook 01, with its recipe;
# * the **`SmallTransformer`** of section 5, one logit per sentence.
#
# Every choice is made on **validation** (the logistic regression's C; the epoch kept by early
# stopping); each neural model is trained with several seeds (initialisation and dropout
# change; **every run gets the same batches in the same order**, from a loader built afresh
# with the same shuffling seed); the **test** part is scored once, at the end. To fit a CPU
# budget the runs train on a subset of the training phrases set in the profile
# (`attention.compare_train_size`; `None` in `full` means all 67,349).

# %% slideshow={"slide_type": "subslide"}
from nlpcourse.evaluate.baselines import tfidf_logreg
from nlpcourse.evaluate.efficiency import count_parameters
from nlpcourse.evaluate.stats import (
    detectable_difference,
    format_mean_sd,
    paired_bootstrap,
)
from nlpcourse.models.bilstm import BiLSTMClassifier
from nlpcourse.plots.training import plot_runs
from nlpcourse.text.batching import sst2_loaders, text_loader
from nlpcourse.train.loop import fit, predict, predicted_labels

table_profile = dataclasses.replace(
    profile, bilstm=dataclasses.replace(profile.bilstm, train_size=cfg.compare_train_size)
)
data = sst2_loaders(sst2_subset(table_profile), table_profile)
vocab = data.vocab
val_labels, test_labels = data.val_set.labels.numpy(), data.test_set.labels.numpy()


def train_batches():
    """A fresh bucketing loader with the profile's seed: every run sees the same batches."""
    return text_loader(
        data.train_set,
        profile.bilstm.batch_size,
        "bucket",
        shuffle=True,
        seed=profile.seed,
        pad_id=vocab.pad_id,
    )


first, again = next(iter(train_batches())), next(iter(train_batches()))
assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
print(
    f"{len(data.train_set):,} training phrases, {len(data.val_set)} validation and "
    f"{len(data.test_set)} test sentences, vocabulary {len(vocab):,}; two fresh loaders "
    "start with the same batch"
)

baselines = {
    c: tfidf_logreg(data.train_texts, data.train_set.labels.tolist(), c=c) for c in cfg.tfidf_c_grid
}
val_scores = {c: (run.predict(data.val_texts) == val_labels).mean() for c, run in baselines.items()}
best_c = max(val_scores, key=val_scores.get)
tfidf = baselines[best_c]
print(
    "TF-IDF validation accuracy by C: "
    + ", ".join(f"C={c}: {score:.4f}" for c, score in val_scores.items())
    + f" → C={best_c} kept"
)

# %% slideshow={"slide_type": "subslide"}
b = profile.bilstm
recipes = {
    "Transformer": (
        lambda: SmallTransformer(
            len(vocab),
            1,
            D,
            H,
            cfg.num_layers,
            cfg.ff_dim,
            cfg.max_positions,
            cfg.dropout,
            pad_id=vocab.pad_id,
        ),
        lambda m: torch.optim.AdamW(m.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay),
    ),
    "BiLSTM": (
        lambda: BiLSTMClassifier(
            len(vocab),
            b.embed_dim,
            b.hidden_size,
            b.dense_dim,
            pad_id=vocab.pad_id,
            dropout=b.dropout,
        ),
        lambda m: torch.optim.Adam(m.parameters(), lr=b.lr),
    ),
}
runs = {name: [] for name in recipes}  # name → [(model, history)] one per seed
for seed in range(cfg.compare_seeds):
    for name, (build, optimizer_for) in recipes.items():
        seed_everything(profile.seed + seed)
        model = build()
        history = fit(
            model,
            train_batches(),  # the same batches for every run
            data.val_loader,
            epochs=cfg.compare_epochs,
            optimizer=optimizer_for(model),
            grad_clip=b.grad_clip,  # the same clipping and early stopping for both
            patience=b.patience,
            device=device,
            progress=False,
        )
        runs[name].append((model, history))
        best = history.history["val_accuracy"][history.best_epoch]
        print(
            f"{name:<11} seed {seed}: {history.epochs} of {cfg.compare_epochs} epochs run, "
            f"kept epoch {history.best_epoch + 1}, val accuracy {best:.4f}"
        )
for name, seed_runs in runs.items():
    stopped = sum(h.stopped_early for _, h in seed_runs)
    print(
        f"{name}: early stopping triggered in {stopped} of {len(seed_runs)} runs; "
        f"the others ran to the {cfg.compare_epochs}-epoch cap"
    )
assert count_parameters(runs["Transformer"][0][0]) == course.classifier_parameter_count(
    len(vocab), 1, D, cfg.num_layers, cfg.ff_dim
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# Learning curves of the first seed of each model, from the per-step log (loss and gradient
# norm at every optimizer step, a running mean drawn over the raw values):

# %% slideshow={"slide_type": "-"}
figure = plot_runs(
    {name: seed_runs[0][1] for name, seed_runs in runs.items()},
    keys=("loss", "grad_norm"),
    smooth=10,
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### The table, and the test part scored once
#
# Everything above was chosen on validation. Now, once, every kept model predicts the test
# part. One kind of interval in the table: **mean ± sd over seeds**. TF-IDF + logistic
# regression is deterministic — one fit, no seed spread to show. Training time is the measured
# time of the epochs run.

# %% slideshow={"slide_type": "-"}
tfidf_test = tfidf.predict(data.test_texts)
test_predictions = {
    name: [predicted_labels(predict(model, data.test_loader)).numpy() for model, _ in seed_runs]
    for name, seed_runs in runs.items()
}
rows = [
    {
        "model": f"TF-IDF + logistic regression (C={best_c})",
        "val accuracy": f"{val_scores[best_c]:.4f} (one fit)",
        "test accuracy": f"{(tfidf_test == test_labels).mean():.4f} (one fit)",
        "train seconds": f"{tfidf.fit_seconds:.1f}",
        "parameters": f"{tfidf.parameters:,}",
    }
]
for name, seed_runs in runs.items():
    rows.append(
        {
            "model": name,
            "val accuracy": format_mean_sd(
                [h.history["val_accuracy"][h.best_epoch] for _, h in seed_runs]
            ),
            "test accuracy": format_mean_sd(
                [(p == test_labels).mean() for p in test_predictions[name]]
            ),
            "train seconds": format_mean_sd(
                [sum(h.history["epoch_time"]) for _, h in seed_runs], 1
            ),
            "parameters": f"{count_parameters(seed_runs[0][0]):,}",
        }
    )
print(pd.DataFrame(rows).set_index("model").to_string())

# %% [markdown] slideshow={"slide_type": "subslide"}
# What may we conclude? For each pair, each seed's model is compared with the other on the
# same test sentences by a paired bootstrap (95 % interval of the accuracy difference); a
# difference is called measurable only if the intervals of **all** seeds exclude zero on the
# same side. Beside a "not measurable" the cell prints the smallest difference these test
# sentences could have detected for that pair (from how often the two models disagree).


# %% slideshow={"slide_type": "-"}
def verdict_on(name_a, preds_a, name_b, preds_b):
    """One sentence: is A vs B measurable on the test part, for every seed pair?"""
    intervals = [
        paired_bootstrap(test_labels, a, b, seed=i)
        for i, (a, b) in enumerate(zip(preds_a, preds_b, strict=True))
    ]
    shown = "; ".join(str(interval) for interval in intervals)
    if all(interval.low > 0 for interval in intervals):
        finding = f"{name_a} is more accurate than {name_b}"
    elif all(interval.high < 0 for interval in intervals):
        finding = f"{name_b} is more accurate than {name_a}"
    else:
        disagree = max((a != b).mean() for a, b in zip(preds_a, preds_b, strict=True))
        smallest = detectable_difference(len(test_labels), disagree)
        finding = (
            f"no difference between {name_a} and {name_b} measurable at this budget (these "
            f"{len(test_labels)} sentences detect about ±{smallest * 100:.1f} points)"
        )
    return f"{finding}; accuracy difference per seed: {shown}."


seeds = range(cfg.compare_seeds)
for name in runs:
    print(verdict_on(name, test_predictions[name], "TF-IDF", [tfidf_test for _ in seeds]))
print(
    verdict_on(
        "the Transformer", test_predictions["Transformer"], "the BiLSTM", test_predictions["BiLSTM"]
    )
)

# %% [markdown] slideshow={"slide_type": "-"}
# The verdicts above are printed from the intervals, so they always match the numbers. The
# article's claim is about the field at scale — large data and pretrained models — which is
# why the rest of the course starts from *pretrained* Transformers (notebooks 05–06). Note what
# the Transformer has to learn here: word order only through the positional code, while an
# LSTM reads order for free. The `full` profile (all training phrases, a wider and deeper
# Transformer, more epochs and seeds, on a GPU) has not been run for this release, so no
# figure is given for it; `NLPCOURSE_PROFILE=full make nb NB=04` produces one.
#
# ### What the trained small Transformer's heads look at
#
# The model of seed 0 on a short validation sentence (the shortest-to-read: at most
# `heatmap_max_tokens` tokens and the fewest `<unk>`), and its heads measured as BERT's were.

# %% slideshow={"slide_type": "subslide"}
small = runs["Transformer"][0][0].eval()
val_ids = [data.val_set[i][0] for i in range(len(data.val_set))]
readable = [
    i for i, s in enumerate(val_ids) if 8 <= len(s) <= cfg.heatmap_max_tokens
]  # short enough to read
pick = min(readable, key=lambda i: (int((val_ids[i] == vocab.unk_id).sum()), -len(val_ids[i])))
sentence = val_ids[pick]  # (L,)
with torch.no_grad():
    small(sentence[None].to(device))
small_tokens = [vocab.itos[i] for i in sentence.tolist()]
figure = plot_attention_heads(
    small.maps[-1][0],  # (H, L, L) last layer
    small_tokens,
    ncols=H,
    title="small Transformer trained on SST-2, last layer",
    cell_size=3.4,
)
ids, lengths, _ = next(iter(data.val_loader))  # (B, L), (B,), (B,)
with torch.no_grad():
    small(ids.to(device), lengths.to(device))
keep_small = torch.arange(ids.shape[1])[None, :] < lengths[:, None]  # (B, L) real tokens
small_stats = layer_head_statistics(small.maps, keep_small)  # (B, layers, H) each
for key in ("entropy", "distance"):
    measured = spread_across_heads(small_stats[key])
    ratios = measured["between_heads_sd"] / measured["standard_error"]  # (layers,)
    print(
        f"small Transformer {key:>8}: head averages {measured['head_means'].min():.2f}–"
        f"{measured['head_means'].max():.2f}; between-head sd / standard error per layer: "
        + ", ".join(f"{r:.1f}" for r in ratios.tolist())
    )
print(
    f"uniform attention over these sentences would have entropy {torch.log(lengths.float()).mean():.2f}"
)

# %% [markdown] slideshow={"slide_type": "notes"}
# Closing note for the instructor: the cell below prints what this run took on this machine.

# %% slideshow={"slide_type": "skip"}
print(f"notebook 04 ran in {time.perf_counter() - notebook_start:.0f} s on {device}")
