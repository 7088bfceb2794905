# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
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

# %% [markdown]
# # 04 · Attention from scratch: checked against PyTorch and a real BERT
#
# Section 3.1 of the article says that the Transformer's key idea is *self-attention* — every
# token computes how relevant every other token is and takes a weighted mix of them — and that
# *multi-head* attention does this several times in parallel. It then gives a
# `ScaledDotProductAttention` module in PyTorch. This notebook builds attention up from the
# matrix products, fixes a scaling mistake in the article's module, and then proves that what
# we wrote is right:
#
# 1. scaled dot-product attention step by step, and why the scale matters;
# 2. masks (padding and causal), including the corner case of a row with nothing to attend to;
# 3. multi-head attention by hand;
# 4. checks against `torch.nn.functional.scaled_dot_product_attention`,
#    `torch.nn.MultiheadAttention` and **layer 0 of the real pretrained BERT**, recomputed
#    from its weights;
# 5. pictures: the real model's attention heads, the sinusoidal positional encoding, and how
#    much faster PyTorch's fused kernel is;
# 6. a small Transformer classifier built from these blocks, trained on SST-2 next to the
#    BiLSTM of notebook 01.
#
# Every tensor line of lesson code carries its shape as a comment: `B` batch, `L` sequence
# length (`L_q` queries, `L_k` keys), `D` model width, `H` heads, `d_k` key width.
#
# The notebook's own functions are the lesson; the tested versions live in
# `nlpcourse.attention`, and the notebook checks that both agree.

# %%
import math
from functools import partial

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

import nlpcourse.attention as course
from nlpcourse.attention_plots import (
    plot_attention_heads,
    plot_attention_timings,
    plot_positional_encoding,
)
from nlpcourse.config import get_device, get_profile, seed_everything
from nlpcourse.efficient import median_seconds

profile = get_profile()
seed_everything(profile.seed)
cfg = profile.attention
device = get_device()
print(f"profile {profile.name!r}, device {device}, BERT role: {profile.bert}")
print(cfg)

# %% [markdown]
# ## 1 · Scaled dot-product attention, one step at a time
#
# Each token starts as a vector. Three learned linear maps turn it into a **query** ("what am
# I looking for?"), a **key** ("what do I contain?") and a **value** ("what do I pass on?").
# The score of query *i* against key *j* is their dot product; a softmax over *j* turns the
# scores of one query into weights that sum to 1; the output for token *i* is the weighted
# average of the values:
#
# $$\text{Attention}(Q, K, V) = \operatorname{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}}\right)V$$
#
# Here it is on random data, one operation per line.

# %%
torch.manual_seed(0)
B, L, D = 2, 5, 16  # batch, tokens, model width
x = torch.randn(B, L, D)  # (B, L, D) token vectors
W_q, W_k, W_v = (torch.randn(D, D) / math.sqrt(D) for _ in range(3))  # (D, D) each

q = x @ W_q  # (B, L, D) queries
k = x @ W_k  # (B, L, D) keys
v = x @ W_v  # (B, L, D) values
d_k = q.shape[-1]  # the width of the vectors whose dot products we take
scores = q @ k.transpose(-2, -1)  # (B, L, L): scores[b, i, j] = q_i · k_j
scores = scores / math.sqrt(d_k)  # (B, L, L) scaled
weights = scores.softmax(dim=-1)  # (B, L, L) each row sums to 1
out = weights @ v  # (B, L, D) row i = Σ_j weights[i, j] · v_j

print(weights[0].round(decimals=2))
print("row sums:", weights.sum(-1)[0])

# %% [markdown]
# The same as a function. It returns the weights too — they are what we will plot, and what
# a mask must zero.


# %%
def attention(q, k, v, mask=None):
    """softmax(q kᵀ / √d_k) v with an optional boolean mask (True = may attend)."""
    d_k = q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)  # (..., L_q, L_k)
    if mask is not None:
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)  # (..., L_q, L_k)
    weights = scores.softmax(dim=-1)  # (..., L_q, L_k)
    if mask is not None:
        weights = weights.masked_fill(~mask, 0.0)  # (..., L_q, L_k) a fully masked row → 0
    return weights @ v, weights  # (..., L_q, d_v), (..., L_q, L_k)


out_fn, weights_fn = attention(q, k, v)
torch.testing.assert_close(out_fn, out)
print("function == step by step:", out_fn.shape, weights_fn.shape)

# %% [markdown]
# ### The article's module, and its scale
#
# The article's `ScaledDotProductAttention(d_model)` stores `d_k = d_model // 8` (its comment:
# "usually d_k = d_model / num_heads") and divides the scores by `sqrt(d_k)`. But its
# `forward` multiplies the full `d_model`-wide `Q` and `K`: nothing splits them into 8 heads
# of width `d_model / 8`. So it divides by √(d_model/8) while the dot products are sums of
# `d_model` terms — the scores come out √8 ≈ 2.83 times larger than intended. Rewritten with
# the mistake kept:


# %%
class ArticleAttention(nn.Module):
    """The article's module, scale included: it divides by √(d_model // 8)."""

    def __init__(self, d_model):
        super().__init__()
        self.d_k = d_model // 8  # right only for one of 8 heads, and there are no heads here

    def forward(self, q, k, v):
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.d_k)  # (B, L_q, L_k) but q, k are D wide
        return scores.softmax(dim=-1) @ v  # (B, L_q, d_v)


d_model = 512
q512, k512, v512 = torch.randn(3, 1, 10, d_model).unbind(0)  # (1, 10, 512) each
article_out = ArticleAttention(d_model)(q512, k512, v512)  # (1, 10, 512)
correct_out, _ = attention(q512, k512, v512)  # scale 1/√512
print("largest difference:", (article_out - correct_out).abs().max().item())
# the article's result equals correct attention at a temperature of 1/√8:
same, _ = course.scaled_dot_product_attention(q512, k512, v512, scale=1 / math.sqrt(d_model // 8))
torch.testing.assert_close(article_out, same)

# %% [markdown]
# **The fix:** scale by the width actually multiplied, `q.shape[-1]` — as our `attention` does,
# and as PyTorch's `F.scaled_dot_product_attention` does by default. (With real heads, each of
# width `d_model / num_heads`, that width *is* `d_model / num_heads`; section 3 builds them.)
#
# ### Why the scale matters
#
# If the entries of `q` and `k` have mean 0 and variance 1, their dot product is a sum of
# `d_k` such products and has variance `d_k`. Unscaled scores therefore spread wider as the
# width grows, and a softmax of widely spread numbers puts almost all the weight on one key:
# it *saturates*. A saturated softmax has nearly zero gradient, so the model stops learning
# which keys to look at. Dividing by √d_k brings the variance back to 1 at every width. We
# measure the spread of the scores, the average largest weight in a row, the entropy of the
# rows (log 64 ≈ 4.16 nats would be perfectly even over 64 keys) and the size of the gradient
# that reaches the scores:


# %%
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
print(pd.DataFrame(rows).to_string(index=False, float_format=lambda value: f"{value:.3g}"))

# %% [markdown]
# Read the table down the unscaled rows: the variance grows like `d_k`, the largest weight
# heads for 1 and the entropy for 0 — each query looks at a single key — and the gradient
# fades. With 1/√d_k every width behaves the same. The article's 512-wide case sits between:
# its scores have a variance near 8 instead of 1, noticeably sharper than intended at
# initialisation.

# %% [markdown]
# ## 2 · Masks
#
# A mask says which keys each query may look at. The course's convention is PyTorch's: a
# **boolean tensor, True where attention is allowed**, broadcastable to the scores'
# shape `(..., L_q, L_k)`.
#
# * A **padding mask** hides the `[PAD]` positions of shorter sentences in a batch. It comes
#   straight from the tokenizer's `attention_mask` and has shape `(B, 1, 1, L_k)`: the same
#   for every head and every query.
# * A **causal mask** lets token *i* see only tokens 0…*i*, as a text generator must (it
#   cannot look at words it has not written yet): a lower-triangular `(L_q, L_k)` matrix.

# %%
attention_mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])  # (B, L) from a tokenizer
pad_mask = attention_mask.bool()[:, None, None, :]  # (B, 1, 1, L_k)
causal = torch.ones(L, L, dtype=torch.bool).tril()  # (L_q, L_k)
both = pad_mask & causal  # (B, 1, L_q, L_k) broadcast: causal AND not padding

_, w_pad = attention(q[:, None], k[:, None], v[:, None], pad_mask)  # (B, 1, L, L)
_, w_causal = attention(q, k, v, causal)  # (B, L, L)
print("padding mask, sentence 2 (keys 3 and 4 are padding):\n", w_pad[1, 0].round(decimals=2))
print("causal mask, sentence 1:\n", w_causal[0].round(decimals=2))
assert torch.equal(pad_mask, course.padding_mask(attention_mask))
assert torch.equal(causal, course.causal_mask(L))

# %% [markdown]
# ### A row with nothing to attend to
#
# The textbook way to mask is to set masked scores to `-inf` before the softmax. That breaks
# when *every* key of a row is masked — a padding query under a causal mask, or an empty
# sequence: the softmax then computes `0 / 0` and the row is **NaN**, which then spreads
# into everything that touches it, gradients included.

# %%
row_mask = torch.tensor(
    [[True, True, False], [False, False, False]]
)  # (L_q=2, L_k=3): row 1 sees nothing
qm, km, vm = torch.randn(2, 4), torch.randn(3, 4), torch.randn(3, 4)  # (2, 4), (3, 4), (3, 4)
naive = (qm @ km.T / 2).masked_fill(~row_mask, float("-inf")).softmax(-1)  # (2, 3)
print("with -inf:\n", naive)
ours_out, ours_w = attention(qm, km, vm, row_mask)
print("ours:\n", ours_w, "\noutput row 1:", ours_out[1])

# %% [markdown]
# **The course's choice:** a fully masked row gets **zero weights and a zero output** (and zero
# gradients). Filling masked scores with the most negative *finite* number keeps the softmax
# finite (a fully masked row becomes uniform instead of NaN), and zeroing the masked weights
# afterwards turns that row into zeros. PyTorch's fused kernel gives the same zeros; the
# package's tests check both this and the gradients.
#
# ### Checked against PyTorch's fused kernel
#
# Our function, the package's `nlpcourse.attention.scaled_dot_product_attention` and
# `F.scaled_dot_product_attention` on the same inputs, with no mask, each kind of mask, and a
# mask with fully masked rows, on 4 heads at once:

# %% keep_output=true
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

# %% [markdown]
# ## 3 · Multi-head attention by hand
#
# One attention computes one weighting of the tokens. **Multi-head** attention runs `H` of them
# side by side on narrower vectors, so that different heads can follow different relations
# (the next word, the subject of a verb, the matching bracket…), then mixes their results:
#
# 1. project the input to queries, keys and values with three `D × D` linear layers;
# 2. **split** each into `H` heads of width `d_head = D / H`: `(B, L, D)` → `(B, H, L, d_head)`;
# 3. attend in every head at once (the batch and head dimensions simply ride along);
# 4. **merge** the heads back: `(B, H, L, d_head)` → `(B, L, D)`;
# 5. mix them with an output projection, another `D × D` layer.
#
# Each head's scores are sums of `d_head` products, so the scale is 1/√d_head: this is where
# the article's `d_model // 8` belongs — inside a head of an 8-head layer.


# %%
class MultiHead(nn.Module):
    """Multi-head self-/cross-attention written out: project, split, attend, merge, project."""

    def __init__(self, d_model, num_heads):
        super().__init__()
        assert d_model % num_heads == 0, "every head gets d_model / num_heads features"
        self.h, self.d_head = num_heads, d_model // num_heads
        self.W_q, self.W_k, self.W_v, self.W_o = (nn.Linear(d_model, d_model) for _ in range(4))

    def forward(self, x_q, x_kv, mask=None):
        B, L_q, D = x_q.shape
        L_k = x_kv.shape[1]
        q = self.W_q(x_q).view(B, L_q, self.h, self.d_head).transpose(1, 2)  # (B, H, L_q, d_head)
        k = self.W_k(x_kv).view(B, L_k, self.h, self.d_head).transpose(1, 2)  # (B, H, L_k, d_head)
        v = self.W_v(x_kv).view(B, L_k, self.h, self.d_head).transpose(1, 2)  # (B, H, L_k, d_head)
        heads, weights = attention(q, k, v, mask)  # (B, H, L_q, d_head), (B, H, L_q, L_k)
        merged = heads.transpose(1, 2).reshape(B, L_q, D)  # (B, L_q, D) heads side by side
        return self.W_o(merged), weights  # (B, L_q, D), (B, H, L_q, L_k)


torch.manual_seed(0)
D, H = cfg.d_model, cfg.num_heads
mine = MultiHead(D, H).eval()
x = torch.randn(3, 6, D)  # (B, L, D)
key_is_real = torch.tensor([[1] * 6, [1] * 4 + [0] * 2, [1] * 2 + [0] * 4])  # (B, L) attention mask
out_mine, w_mine = mine(x, x, course.padding_mask(key_is_real))
print("output", tuple(out_mine.shape), "weights", tuple(w_mine.shape))

# %% [markdown]
# **Checked against `torch.nn.MultiheadAttention`.** PyTorch keeps the three input projections
# stacked in one `(3D, D)` matrix `in_proj_weight`; we copy its thirds into our layers. Note
# PyTorch's opposite mask convention for `key_padding_mask`: True means *padding*.

# %%
reference = nn.MultiheadAttention(D, H, batch_first=True).eval()
with torch.no_grad():
    for layer, weight, bias in zip(
        (mine.W_q, mine.W_k, mine.W_v),
        reference.in_proj_weight.chunk(3),  # 3 × (D, D)
        reference.in_proj_bias.chunk(3),  # 3 × (D,)
        strict=True,
    ):
        layer.weight.copy_(weight)
        layer.bias.copy_(bias)
    mine.W_o.load_state_dict(reference.out_proj.state_dict())

out_mine, w_mine = mine(x, x, course.padding_mask(key_is_real))
out_ref, w_ref = reference(x, x, x, key_padding_mask=key_is_real == 0, average_attn_weights=False)
package = course.MultiHeadAttention(D, H).eval().load_from_torch(reference)
out_pkg, w_pkg = package(x, mask=course.padding_mask(key_is_real))
print(
    f"notebook vs nn.MultiheadAttention: {(out_mine - out_ref).abs().max().item():.2e} (output), "
    f"{(w_mine - w_ref).abs().max().item():.2e} (weights)"
)
assert (out_mine - out_ref).abs().max() < 1e-5 and (w_mine - w_ref).abs().max() < 1e-5
assert (out_pkg - out_ref).abs().max() < 1e-5 and (w_pkg - w_ref).abs().max() < 1e-5

# %% [markdown]
# A multi-head layer has `4 · (D² + D)` parameters whatever the number of heads: splitting into
# heads reshapes the projections, it does not add weights.

# %% keep_output=true
# NBVAL_CHECK_OUTPUT
for heads in (1, 2, H, 16):
    n = sum(p.numel() for p in course.MultiHeadAttention(D, heads).parameters())
    print(f"D={D}, {heads:>2} heads: {n:,} parameters")
assert n == 4 * (D * D + D)

# %% [markdown]
# ## 4 · Recomputing a real BERT layer
#
# The strongest check is a real model. We load the profile's pretrained BERT and run one
# sentence pair through it, asking for every layer's hidden states and attention weights.
# In transformers 5 BERT computes attention with PyTorch's fused kernel (`sdpa`) by default,
# which never forms the weight matrix; `attn_implementation="eager"` selects the plain
# implementation that can return it.

# %%
from transformers import AutoTokenizer, BertModel

from nlpcourse.hub import require_checkpoint

require_checkpoint(profile.bert)  # if it is missing: one clear message saying what to set
tokenizer = AutoTokenizer.from_pretrained(profile.bert)
bert = BertModel.from_pretrained(profile.bert, attn_implementation="eager").eval()
config = bert.config
print(
    f"{config.num_hidden_layers} layers, hidden {config.hidden_size}, {config.num_attention_heads} heads, "
    f"feed-forward {config.intermediate_size}, activation {config.hidden_act}, LayerNorm eps {config.layer_norm_eps}"
)

sentences = ["The film is not good, but the actors are brilliant.", "A dull story."]
batch = tokenizer(sentences, padding=True, return_tensors="pt")  # padded: the mask matters
with torch.no_grad():
    result = bert(**batch, output_attentions=True, output_hidden_states=True)
print(
    len(result.hidden_states),
    "hidden states",
    tuple(result.hidden_states[0].shape),
    "|",
    len(result.attentions),
    "attention maps",
    tuple(result.attentions[0].shape),
)

# %% [markdown]
# `hidden_states[0]` is the output of the embeddings (token + position + segment, then
# LayerNorm); `hidden_states[1]` is the output of layer 0. A BERT layer is a **post-norm**
# encoder block:
#
# ```
# a = LayerNorm(x + W_o · MultiHead(x))          # attention sublayer
# y = LayerNorm(a + W_2 · gelu(W_1 · a))         # feed-forward sublayer
# ```
#
# Our `MultiHead` with BERT's query/key/value/output weights copied in gives the attention
# sublayer; the package's `EncoderBlock` (post-norm, GELU) gives the whole layer.

# %%
layer0 = bert.encoder.layer[0]
x0 = result.hidden_states[0]  # (B, L, hidden) input of layer 0
mask0 = course.padding_mask(batch["attention_mask"])  # (B, 1, 1, L)

bert_heads = MultiHead(config.hidden_size, config.num_attention_heads).eval()
with torch.no_grad():
    bert_heads.W_q.load_state_dict(layer0.attention.self.query.state_dict())
    bert_heads.W_k.load_state_dict(layer0.attention.self.key.state_dict())
    bert_heads.W_v.load_state_dict(layer0.attention.self.value.state_dict())
    bert_heads.W_o.load_state_dict(layer0.attention.output.dense.state_dict())
    attended, weights0 = bert_heads(x0, x0, mask0)  # (B, L, hidden), (B, heads, L, L)
    sublayer = layer0.attention.output.LayerNorm(x0 + attended)  # (B, L, hidden) residual + norm
    # the library's layer takes an *additive* mask: 0 at tokens, a huge negative number at padding
    additive = (1.0 - batch["attention_mask"][:, None, None, :]) * torch.finfo(x0.dtype).min
    library_sublayer = layer0.attention(x0, additive)[0]  # (B, L, hidden)

print(f"attention weights vs BERT's: {(weights0 - result.attentions[0]).abs().max().item():.2e}")
print(f"attention sublayer vs BERT's: {(sublayer - library_sublayer).abs().max().item():.2e}")
assert (weights0 - result.attentions[0]).abs().max() < 1e-4
assert (sublayer - library_sublayer).abs().max() < 1e-4

# %%
block = course.EncoderBlock(
    config.hidden_size,
    config.num_attention_heads,
    config.intermediate_size,
    dropout=0.0,
    norm_first=False,
    activation="gelu",
    layer_norm_eps=config.layer_norm_eps,
).eval()
with torch.no_grad():
    attn = block.attention
    for ours_layer, theirs in (
        (attn.q_proj, layer0.attention.self.query),
        (attn.k_proj, layer0.attention.self.key),
        (attn.v_proj, layer0.attention.self.value),
        (attn.out_proj, layer0.attention.output.dense),
        (block.norm1, layer0.attention.output.LayerNorm),
        (block.feed_forward[0], layer0.intermediate.dense),
        (block.feed_forward[2], layer0.output.dense),
        (block.norm2, layer0.output.LayerNorm),
    ):
        ours_layer.load_state_dict(theirs.state_dict())
    y0, block_weights = block(x0, mask0)  # (B, L, hidden), (B, heads, L, L)
difference = (y0 - result.hidden_states[1]).abs().max().item()
print(f"package EncoderBlock vs BERT layer 0 output: max |difference| = {difference:.2e}")
assert difference < 1e-4 and (block_weights - result.attentions[0]).abs().max() < 1e-4

# %% [markdown]
# Every number of BERT's first layer is reproduced by the code above, on a padded batch.
#
# ## 5 · Pictures
#
# ### What the real heads look at
#
# Each panel is one head of one layer (the layer is chosen in the profile): row = the token
# that looks (query), column = the token looked at (key), brightness = the weight. Many heads
# of trained BERTs follow simple patterns — attend to the previous or next token, to the token
# itself, to `[SEP]` or `[CLS]` (often a "nowhere else to look" default) — and a few follow
# relations between words.

# %%
n_real = int(batch["attention_mask"][0].sum())
tokens = tokenizer.convert_ids_to_tokens(batch["input_ids"][0, :n_real])
layer_maps = result.attentions[cfg.heatmap_layer][0, :, :n_real, :n_real]  # (heads, L, L)
figure = plot_attention_heads(
    layer_maps, tokens, ncols=4, title=f"{profile.bert}, layer {cfg.heatmap_layer}"
)

# %% [markdown]
# ### Where is each token? Sinusoidal positional encoding
#
# Attention itself ignores order: permute the tokens and the outputs permute along, nothing
# else changes. The original Transformer adds to each token vector a fixed pattern that depends
# on its position: sines and cosines whose wavelengths grow geometrically across the
# dimensions, from 2π to 10000·2π. Low dimensions change quickly from one position to the next,
# high ones slowly, so every position gets a distinct code, and a shift by *k* positions acts on
# it as a fixed rotation. (BERT instead *learns* one vector per position, 512 of them; our small
# classifier below uses the sinusoids, which need no parameters.)

# %%
pe = course.sinusoidal_positional_encoding(128, cfg.d_model)  # (128, D)
figure = plot_positional_encoding(pe)
similarity = pe @ pe[10]  # (128,) dot product of every position with position 10
print("closest positions to 10:", similarity.argsort(descending=True)[:5].tolist())

# %%
x_perm = torch.randn(1, 6, D)  # (1, L, D)
perm = torch.tensor([3, 0, 5, 1, 4, 2])
out_a, _ = mine(x_perm, x_perm)  # (1, L, D)
out_b, _ = mine(x_perm[:, perm], x_perm[:, perm])  # (1, L, D) permuted input
torch.testing.assert_close(out_b, out_a[:, perm])  # permuted output: attention has no order
print("attention without positions is permutation-equivariant")

# %% [markdown]
# ### Hand-built vs fused: time
#
# `F.scaled_dot_product_attention` fuses the scaling, masking, softmax and weighted sum into one
# kernel that never keeps the full `L × L` weight matrix around (FlashAttention-style on GPUs,
# a blocked kernel on CPUs). Our version materialises scores and weights, so it moves much more
# memory as `L` grows. Timed here on this machine, median of several calls:


# %%
# median_seconds waits for the device before and after each call (a GPU queues its kernels
# and returns at once, so an unsynchronised timer would time the launch, not the work)
timings = {"hand-built": [], "F.scaled_dot_product_attention": []}
d_head = cfg.d_model // cfg.num_heads
with torch.no_grad():
    for length in cfg.timing_lengths:
        qt, kt, vt = torch.randn(
            3, cfg.timing_batch, cfg.num_heads, length, d_head, device=device
        ).unbind(0)  # (B, H, L, d_head)
        hand = partial(attention, qt, kt, vt)
        fused = partial(F.scaled_dot_product_attention, qt, kt, vt)
        timings["hand-built"].append(median_seconds(hand, cfg.timing_repeats) * 1e3)  # ms
        fused_ms = median_seconds(fused, cfg.timing_repeats) * 1e3
        timings["F.scaled_dot_product_attention"].append(fused_ms)
for length, hand, fused in zip(cfg.timing_lengths, *timings.values(), strict=True):
    print(
        f"L={length:>5}: hand-built {hand:8.2f} ms, fused {fused:8.2f} ms, ratio {hand / fused:5.1f}x"
    )
figure = plot_attention_timings(cfg.timing_lengths, timings)

# %% [markdown]
# ## 6 · A small Transformer classifier vs the BiLSTM
#
# The package's `TransformerClassifier` stacks exactly the pieces above:
# token embeddings (scaled by √D) + sinusoidal positions → `num_layers` encoder blocks (the
# **pre-norm** layout, `x + sublayer(LayerNorm(x))`, which trains more easily from scratch
# than BERT's post-norm) → a final LayerNorm → the mean of the non-padding token vectors → a
# linear layer with one logit, like the article's `Dense(1, sigmoid)`. Padding is masked in
# every attention and skipped by the mean.
#
# We train it on **the same SST-2 data and loaders as notebook 01** (`sst2_loaders`: the same
# training rows, vocabulary and length-bucketed batches) with the course's `fit`, and train the
# BiLSTM of notebook 01 with its own recipe on the very same loaders, so that both rows of the
# table are measured in one run on this machine.

# %%
from nlpcourse.batching import sst2_loaders
from nlpcourse.bilstm import BiLSTMClassifier
from nlpcourse.training import evaluate, fit, plot_history

data = sst2_loaders(profile)
vocab = data.vocab
print(
    f"{len(data.train_set):,} training sentences, {len(data.val_set):,} validation, "
    f"vocabulary {len(vocab):,}, batches of {data.train_loader.batch_sampler.batch_size}"
)

seed_everything(profile.seed)
transformer = course.TransformerClassifier(
    len(vocab),
    num_classes=1,
    d_model=cfg.d_model,
    num_heads=cfg.num_heads,
    num_layers=cfg.num_layers,
    ff_dim=cfg.ff_dim,
    max_len=cfg.max_positions,
    dropout=cfg.dropout,
    pad_id=vocab.pad_id,
)
transformer_params = sum(p.numel() for p in transformer.parameters())
assert transformer_params == course.classifier_parameter_count(
    len(vocab), 1, cfg.d_model, cfg.num_layers, cfg.ff_dim
)
transformer_history = fit(
    transformer,
    data.train_loader,
    data.val_loader,
    epochs=cfg.epochs,
    optimizer=torch.optim.AdamW(transformer.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay),
    grad_clip=profile.bilstm.grad_clip,  # the same clipping and early stopping as the BiLSTM
    patience=profile.bilstm.patience,
    device=device,
)

# %%
bilstm_cfg = profile.bilstm
seed_everything(profile.seed)
bilstm = BiLSTMClassifier(
    len(vocab),
    bilstm_cfg.embed_dim,
    bilstm_cfg.hidden_size,
    bilstm_cfg.dense_dim,
    pad_id=vocab.pad_id,
    dropout=bilstm_cfg.dropout,
)
bilstm_history = fit(
    bilstm,
    data.train_loader,
    data.val_loader,
    epochs=bilstm_cfg.epochs,
    optimizer=torch.optim.Adam(bilstm.parameters(), lr=bilstm_cfg.lr),
    grad_clip=bilstm_cfg.grad_clip,
    patience=bilstm_cfg.patience,
    device=device,
)

# %%
rows = []
for name, model, history in (
    ("Transformer encoder (hand-built blocks)", transformer, transformer_history),
    ("BiLSTM (notebook 01)", bilstm, bilstm_history),
):
    rows.append(
        {
            "model": name,
            "parameters": sum(p.numel() for p in model.parameters()),
            "of which embeddings": model.embedding.weight.numel(),
            "train samples/s": sum(history.history["samples_per_s"]) / history.epochs,
            "epochs": history.epochs,
            "val accuracy": evaluate(model, data.val_loader)["accuracy"],
        }
    )
comparison = pd.DataFrame(rows).set_index("model")
print(
    comparison.to_string(
        formatters={
            "parameters": "{:,}".format,
            "of which embeddings": "{:,}".format,
            "train samples/s": "{:,.0f}".format,
            "val accuracy": "{:.4f}".format,
        }
    )
)
figure = plot_history(transformer_history)

# %% [markdown]
# Both models spend most of their parameters on the embedding table (vocabulary × width), so
# they are close in size. Do not expect the Transformer to win on this task: attention shines
# when there is a lot of data to learn from, and here the order of the words must be learned
# through the positional code, while an LSTM reads order for free. That is why the rest of the
# course starts from *pretrained* Transformers (notebooks 05–06). Both models were selected on
# the validation accuracy by early stopping, as in notebook 01, so the accuracies are slightly
# optimistic for both alike. (Notebook 01 also saved its BiLSTM under `runs/01_keras_bilstm/`;
# it is retrained here so that both rows are measured in the same run on the same machine.)
#
# The `full` profile (a wider, deeper Transformer and more epochs, on a GPU) has not been run
# for this release, so no figure is given for it; `NLPCOURSE_PROFILE=full make nb NB=04`
# produces one.

# %% [markdown]
# ## Exercises
#
# **1.** Local (sliding-window) attention lets each token see only its neighbours. Build the
# boolean `(6, 6)` mask in which query *i* may attend to key *j* exactly when |i − j| ≤ 1.

# %%
from nlpcourse.exercises.ch04 import (
    check_article_scale_factor,
    check_local_mask,
    check_mha_parameters,
)

local_mask = None  # your answer: a (6, 6) boolean tensor
check_local_mask(local_mask)

# %% jupyter={"source_hidden": true} tags=["solution"]
positions = torch.arange(6)
local_mask = (positions[:, None] - positions[None, :]).abs() <= 1  # (6, 6)
assert check_local_mask(local_mask)

# %% [markdown]
# **2.** How many parameters does a multi-head attention layer with `D = cfg.d_model` and
# `cfg.num_heads` heads have (biases included)? Compute it from the formula, not by counting
# a module's parameters.

# %%
mha_parameters = None  # your answer
check_mha_parameters(mha_parameters)

# %% jupyter={"source_hidden": true} tags=["solution"]
mha_parameters = 4 * (cfg.d_model * cfg.d_model + cfg.d_model)  # Q, K, V, output: D×D + D each
assert check_mha_parameters(mha_parameters)

# %% [markdown]
# **3.** With `d_model = 512`, by what factor are the article's attention scores larger than
# correctly scaled ones (1/√512)?

# %%
scale_factor = None  # your answer: a float
check_article_scale_factor(scale_factor)

# %% jupyter={"source_hidden": true} tags=["solution"]
scale_factor = math.sqrt(512) / math.sqrt(512 // 8)  # it divides by √64 instead of √512
assert check_article_scale_factor(scale_factor)
