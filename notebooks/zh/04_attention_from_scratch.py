# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: keep_output,tags,jupyter,slideshow,zh,-all
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

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "4a6fd1c7edd1"}
# # 04 · 从零实现注意力机制：先与 PyTorch 对照验证，再看它如何学习
#
# 原文第 3.1 节说，Transformer 的核心思想是*自注意力*（self-attention）——每个词元（token）计算其他每个词元与自己的相关程度，并对它们加权混合——而*多头*注意力（multi-head attention）把这件事并行地做好几遍。随后原文给出了一个 PyTorch 的 `ScaledDotProductAttention` 模块。本笔记本从矩阵乘法出发一步步搭建注意力机制（attention），修正原文模块中的一个缩放错误，把每个部件都与 PyTorch 对照检查，然后训练一个微型模型，直到它的某个头明显地找到了它必须关注的位置：
#
# 1. 在一个真实句子上一步步演示缩放点积注意力，原文的缩放因子，以及缩放为何重要；
# 2. 掩码（mask）：填充（padding）掩码、因果掩码以及两者的组合，包括一行没有任何可注意对象的情形；
# 3. 亲手实现多头注意力（先看示意图，再看代码），并与 `torch.nn.MultiheadAttention` 对照；
# 4. 由各个部件搭建编码器（encoder）块——残差连接（residual connection）、层归一化（LayerNorm）、前馈网络（feed-forward network）、后置归一化（post-norm）与前置归一化（pre-norm）——以及正弦位置编码（positional encoding），并与 `nn.TransformerEncoderLayer` 对照；
# 5. 用这些块组装一个小型 Transformer，并与课程包中的版本对照；
# 6. **注意力的学习过程**：训练这个模型反转序列（sequence），观察它的注意力头的权重图。
#
# *进阶内容*（Going further，位于练习之后的末尾）：用真实预训练（pretrained）BERT 的权重重算它的第 0 层，并把它的注意力头与一个未经训练的 BERT 对比测量；为手写注意力与融合（fused）注意力计时；以及在 SST-2 上检验原文第 1 节的说法（TF-IDF、笔记本 01 的 BiLSTM 和这个小型 Transformer）。
#
# 课程代码中每一行张量运算都用注释标明形状：`B` 为批次（batch）大小，`L` 为序列长度（`L_q` 为查询数，`L_k` 为键数），`D` 为模型宽度，`H` 为头数，`d_k` 为键的宽度。笔记本自己的代码就是课程内容；经过测试的版本位于 `nlpcourse.models.attention`，笔记本会检查两者一致。

# %% slideshow={"slide_type": "skip"} zh={"source_sha": "78357a51ff45"}
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

notebook_start = time.perf_counter()  # 最后一个单元打印本笔记本的运行时间
profile = get_profile()
seed_everything(profile.seed)
cfg = profile.attention
device = get_device()
print(f"profile {profile.name!r}, device {device}, BERT role: {profile.bert}")

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "24e30d122f63"}
# ## 1 · 缩放点积注意力，一步一步来
#
# 取两个短句。每个词变成一个向量（这里用的是未经训练的嵌入（embedding），所以下面的数字目前还没有意义——第 6 节会展示一个训练好的头）。三个线性映射把每个向量分别变成一个**查询**（query，“我在找什么？”）、一个**键**（key，“我包含什么？”）和一个**值**（value，“我要传递什么？”）。查询 *i* 对键 *j* 的得分是二者的点积；对 *j* 做 softmax，把一个查询的各个得分变成和为 1 的权重；词 *i* 的输出就是各个值的加权平均：
#
# $$\text{Attention}(Q, K, V) = \operatorname{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}}\right)V$$
#
# 其中 $d_k$ 是参与点积的查询和键的宽度。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "beb6a2933b72"}
sentences = ["the cat sat on the mat", "a dull story"]
words = [sentence.split() for sentence in sentences]
itos = ["<pad>", *sorted({w for ws in words for w in ws})]  # id 0 用于填充较短的句子
L = max(len(ws) for ws in words)
ids = torch.tensor([[itos.index(w) for w in ws] + [0] * (L - len(ws)) for ws in words])  # (B, L)
torch.manual_seed(0)
B, D = ids.shape[0], 16  # 2 个句子，模型宽度 16
x = nn.Embedding(len(itos), D)(ids).detach()  # (B, L, D) 每个词一个向量
W_q, W_k, W_v = (torch.randn(D, D) / math.sqrt(D) for _ in range(3))  # 各为 (D, D)

q = x @ W_q  # (B, L, D) 查询
k = x @ W_k  # (B, L, D) 键
v = x @ W_v  # (B, L, D) 值
d_k = q.shape[-1]  # 做点积的向量的宽度
scores = q @ k.transpose(-2, -1)  # (B, L, L): scores[b, i, j] = q_i · k_j
scores = scores / math.sqrt(d_k)  # (B, L, L) 缩放后
weights = scores.softmax(dim=-1)  # (B, L, L) 每行之和为 1
out = weights @ v  # (B, L, D) 第 i 行 = Σ_j weights[i, j] · v_j

print(pd.DataFrame(weights[0].numpy(), index=words[0], columns=words[0]).round(2))
print("row sums:", weights.sum(-1)[0].tolist())

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "0e5a0b7e87f3"}
# 第 *i* 行表示词 *i*（查询）从每个词（键）那里取用多少。两行 `the` 完全相同：同一个词给出同一个查询，而目前还没有任何信息告诉模型一个词处在什么位置（第 4 节会加入位置信息）。下面把同样的计算写成一个函数；它同时返回权重——我们要画出来的正是这些权重，掩码要置零的也是它们。


# %% slideshow={"slide_type": "-"} zh={"source_sha": "2eab825af32b"}
def attention(q, k, v, mask=None):
    """softmax(q kᵀ / √d_k) v with an optional boolean mask (True = may attend)."""
    d_k = q.shape[-1]  # 实际参与相乘的宽度
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)  # (..., L_q, L_k)
    if mask is not None:
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)  # (..., L_q, L_k)
    weights = scores.softmax(dim=-1)  # (..., L_q, L_k)
    if mask is not None:
        weights = weights.masked_fill(~mask, 0.0)  # (..., L_q, L_k) 完全被遮住的行 → 0
    return weights @ v, weights  # (..., L_q, d_v), (..., L_q, L_k)


out_fn, weights_fn = attention(q, k, v)
torch.testing.assert_close(out_fn, out)  # == 逐步计算的那个单元
torch.testing.assert_close(out_fn, course.scaled_dot_product_attention(q, k, v)[0])  # == 课程包
print("function == step by step == package:", tuple(out_fn.shape), tuple(weights_fn.shape))

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "a0b911ca9216"}
# ### 原文的模块及其缩放
#
# 原文的 `ScaledDotProductAttention(d_model)` 保存了 `d_k = d_model // 8`，并把得分除以 `sqrt(d_k)`，可它相乘的查询和键却是 `d_model` 宽的。缩放因子必须是**实际参与相乘**的宽度的平方根，即 `Q.size(-1)`。原文的数值只有在一个 8 头的层内部、`Q` 和 `K` 已经被拆分成宽度为 `d_model / 8` 的头时才正确；对全宽度的输入，或者头数不是 8 时，它除以了错误的数，悄无声息地让 softmax 变得更尖锐。下面保留这个缺陷把它重写出来，再试一试：


# %% slideshow={"slide_type": "-"} zh={"source_sha": "bd70dcab5397"}
class ArticleAttention(nn.Module):
    """The article's module, defect included: the scale comes from d_model // 8."""

    def __init__(self, d_model):
        super().__init__()
        self.d_k = d_model // 8  # 在此固定，不管 forward() 收到多宽的输入

    def forward(self, q, k, v):
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.d_k)  # (..., L_q, L_k)
        return scores.softmax(dim=-1) @ v  # (..., L_q, d_v)


d_model = 512
article = ArticleAttention(d_model)
torch.manual_seed(0)
for heads in (8, 4, 1):  # 每头宽度 d_model / heads；1 个头 = 全宽的 Q 和 K
    width = d_model // heads
    qa, ka, va = torch.randn(3, 1, heads, 10, width).unbind(0)  # 各为 (1, heads, 10, width)
    wrong = (article(qa, ka, va) - attention(qa, ka, va)[0]).abs().max().item()
    print(f"{heads} heads of width {width:>3}: max |article − correct| = {wrong:.2e}")
ratio = math.sqrt(d_model) / math.sqrt(d_model // 8)  # 它的全宽得分大了多少倍
same, _ = course.scaled_dot_product_attention(qa, ka, va, scale=ratio / math.sqrt(d_model))
torch.testing.assert_close(article(qa, ka, va), same)  # 正确的注意力，得分 × ratio
print(f"full width: the article's scores are {ratio:.2f}× too large")

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "19803dc33486"}
# 只有 8 个头的情形结果一致。**修正方法**：从 `q.size(-1)` 取缩放因子，就像我们的 `attention`，以及 `F.scaled_dot_product_attention` 默认所做的那样。
#
# ### 缩放为何重要
#
# 如果 `q` 和 `k` 的各个元素均值为 0、方差为 1，它们的点积就是 `d_k` 个这样的乘积之和，方差为 `d_k`。不缩放的得分随宽度增大而越来越分散，而对一组很分散的数做 softmax，几乎会把全部权重都放到一个键上：softmax *饱和*了，而饱和的 softmax 几乎传不回梯度（gradient）。除以 √d_k 能让方差在任何宽度下都回到 1。下面是在随机查询和键上测得的结果（每行 64 个键；若权重完全均匀，熵为 log 64 ≈ 4.16 nats）：


# %% slideshow={"slide_type": "-"} zh={"source_sha": "d406e404b9a7"}
def softmax_stats(d_k, scale_name, scores):
    """Variance of the scores, mean max weight, mean entropy and mean |∂ loss/∂ scores|."""
    scores = scores.clone().requires_grad_(True)  # (N, L_q, L_k)
    weights = scores.softmax(dim=-1)  # (N, L_q, L_k)
    (weights * torch.randn_like(weights)).sum().backward()  # 一个随机的下游损失
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
    qs, ks = torch.randn(2, 32, 64, width).unbind(0)  # (32, 64, width)：64 个查询，64 个键
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

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "4d3f2904bd70"}
# ## 2 · 掩码
#
# 掩码规定每个查询可以看哪些键。本课程沿用 PyTorch 的约定：掩码是一个**布尔张量，允许注意的位置为 True**，可以广播到得分的形状 `(..., L_q, L_k)`。
#
# * **填充掩码**遮住较短句子中的 `<pad>` 位置——上面的 "a dull story" 被填充到了 6 个词，它的查询从这些填充位置取走了一部分权重。它的形状是 `(B, 1, 1, L_k)`：对每个头、每个查询都相同。
# * **因果掩码**只让词元 *i* 看到词元 0…*i*，文本生成器必须如此（它不能偷看还没写出来的词）：一个下三角的 `(L_q, L_k)` 矩阵。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "a9e8d768ba9a"}
attention_mask = (ids != 0).long()  # (B, L) 词为 1，填充为 0，与分词器返回的一样
pad_mask = attention_mask.bool()[:, None, None, :]  # (B, 1, 1, L_k)
causal = torch.ones(L, L, dtype=torch.bool).tril()  # (L_q, L_k)
both = pad_mask & causal  # (B, 1, L_q, L_k) 广播：因果且非填充

_, w_pad = attention(q[:, None], k[:, None], v[:, None], pad_mask)  # (B, 1, L, L)
print("no mask, 'a dull story':\n", weights[1, :3].round(decimals=2))
print("padding mask, 'a dull story':\n", w_pad[1, 0, :3].round(decimals=2))
assert torch.equal(pad_mask, course.padding_mask(attention_mask))
assert torch.equal(causal, course.causal_mask(L))

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "d08891c7fe56"}
# 下面把 "a dull story" 的三种掩码画成图（白色 = 可以注意）。组合掩码是两者的逻辑与（AND）：只有当一个键既不在未来、*又*不是填充时，查询才能看到它。它的第 3–5 行是填充位置上的*查询*；它们仍然能看到真实的键，而模型会忽略它们的输出。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "1cf2f88f7052"}
figure = plot_masks(
    {
        "padding ('a dull story')": pad_mask[1, 0].expand(L, L),  # (L_q, L_k)
        "causal": causal,  # (L_q, L_k)
        "causal AND padding": both[1, 0],  # (L_q, L_k)
    }
)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "0d8ec50812be"}
# ### 没有任何可注意对象的一行
#
# 教科书式的掩码做法是在 softmax 之前把被遮住的得分设为 `-inf`。当一行中*所有*键都被遮住时，这种做法就会出问题：softmax 要计算 `0 / 0`，这一行变成 **NaN**，并扩散到它接触到的一切，包括梯度。本课程的做法是：用最小的*有限*负数来填充（这一行的 softmax 保持有限），然后把被遮住的权重置零，于是完全被遮住的一行得到**全零的权重和全零的输出**。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "3b795dfd39d2"}
row_mask = torch.tensor([[True, True, False], [False, False, False]])  # (L_q=2, L_k=3)
qm, km, vm = torch.randn(2, 4), torch.randn(3, 4), torch.randn(3, 4)  # (2, 4), (3, 4), (3, 4)
naive = (qm @ km.T / 2).masked_fill(~row_mask, float("-inf")).softmax(-1)  # (2, 3)
print("with -inf:\n", naive)
ours_out, ours_w = attention(qm, km, vm, row_mask)
print("ours:\n", ours_w, "\noutput row 1:", ours_out[1])

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "f2b9748fad52"}
# ### 与 PyTorch 的融合内核对照
#
# 在相同的输入上比较我们的函数、课程包中的 `scaled_dot_product_attention` 和 `F.scaled_dot_product_attention`：不加掩码、每一种掩码，以及一个含有完全被遮住的行的掩码，一次同时处理 4 个头：

# %% keep_output=true slideshow={"slide_type": "-"} zh={"source_sha": "a9c75c731885"}
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
masks["random, some rows empty"][:, :, 2] = False  # 查询 2 哪里都不能看
for name, mask in masks.items():
    ours, _ = attention(qh, kh, vh, mask)
    package, _ = course.scaled_dot_product_attention(qh, kh, vh, mask)
    fused = F.scaled_dot_product_attention(qh, kh, vh, attn_mask=mask)
    assert (ours - fused).abs().max() < 1e-5 and (package - fused).abs().max() < 1e-5
    print(f"{name:<24} shape {tuple(fused.shape)}: notebook == package == fused (< 1e-5)")

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "a0b9dfeab88c"}
# ## 3 · 多头注意力
#
# 一次注意力只算出词元的一种加权方式。**多头**注意力在更窄的向量上并排运行 `H` 个注意力，让不同的头可以追踪不同的关系，然后把它们的结果混合起来。下图以 4 个词元、`D = 6` 和 2 个头为例：
#
# 1. 用三个 `D × D` 线性映射把输入投影成查询、键和值；
# 2. 把它们各自**拆分**成 `H` 个宽度为 `d_head = D / H` 的头——即图中彩色的列块；
# 3. 每个头在自己的列上做注意力（缩放因子为 1/√d_head：一个头实际相乘的宽度）；
# 4. 把各个头并排**合并**回来，得到 `(L, D)`；
# 5. 用输出投影 `W_o`（又一个 `D × D` 映射）把它们混合起来。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "e578a3b5a07e"}
figure = plot_multihead_diagram(tokens=4, d_model=6, num_heads=2)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "5e59d8be5ff1"}
# 在代码中，拆分就是先 `view` 成 `(B, L, H, d_head)`，再转置成 `(B, H, L, d_head)`，这样批次维和头维在 `attention` 中只是跟着一起计算；合并则把这两步反过来。原文的 `d_model // 8` 应该用在这里：在一个 8 头层的单个头内部。


# %% slideshow={"slide_type": "-"} zh={"source_sha": "23156222325c"}
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
        context = x if context is None else context  # 除非另行指定，否则为自注意力
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
            mask = mask[None, None]  # (1, 1, L_q, L_k) 所有批次和头共用一个掩码
        heads, weights = attention(q, k, v, mask)  # (B, H, L_q, d_head), (B, H, L_q, L_k)
        merged = heads.transpose(1, 2).reshape(B, L_q, D)  # (B, L_q, D) 各头并排
        return self.out_proj(merged), weights  # (B, L_q, D), (B, H, L_q, L_k)


# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "b83b7cab4bb7"}
# **对照检查**：与 `torch.nn.MultiheadAttention` 以及课程包中的 `MultiHeadAttention` 比较。PyTorch 把三个输入投影叠放在一个 `(3D, D)` 的矩阵 `in_proj_weight` 中；我们把它的三等份分别复制到自己的层里。注意 PyTorch 的 `key_padding_mask` 采用相反的掩码约定：True 表示*填充*。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "f85ea3e07599"}
torch.manual_seed(0)
D, H = cfg.d_model, cfg.num_heads
x = torch.randn(3, 6, D)  # (B, L, D)
key_is_real = torch.tensor([[1] * 6, [1] * 4 + [0] * 2, [1] * 2 + [0] * 4])  # (B, L) 注意力掩码
reference = nn.MultiheadAttention(D, H, batch_first=True).eval()
mine = MultiHead(D, H).eval()
package = course.MultiHeadAttention(D, H).eval().load_from_torch(reference)
mine.load_state_dict(package.state_dict())  # 参数名与课程包的相同

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

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "a8d1aa721270"}
# 无论有多少个头，一个多头层都有 `4 · (D² + D)` 个参数（parameter）：拆分成多个头只是改变了投影的形状，并不增加权重。

# %% keep_output=true slideshow={"slide_type": "-"} zh={"source_sha": "9548f256e33b"}
# NBVAL_CHECK_OUTPUT
for heads in (1, 2, H, 16):
    n = sum(p.numel() for p in MultiHead(D, heads).parameters())
    print(f"D={D}, {heads:>2} heads: {n:,} parameters")
assert n == 4 * (D * D + D)

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "0eb81d097916"}
# ## 4 · 由各个部件搭建编码器块
#
# 一个编码器层在多头注意力外面再加上四个想法，每个只需一行代码：
#
# * **残差连接**把子层的输入加到它的输出上，即 `x + f(x)`，这样信号（以及梯度）可以原封不动地穿过一层，每一层只需学习一个修正量；
# * **LayerNorm** 在每个词元向量的 `D` 个特征上把它重新缩放到均值 0、方差 1，再施加学习得到的缩放 γ 和平移 β——它让残差累加出来的和保持在合理范围内；
# * **逐位置前馈**层是一个两层 MLP，独立地作用于每个词元：先加宽 `D → ff_dim`，经过 **GELU** 非线性（一种平滑的 ReLU，`x·Φ(x)`），再变回 `D`；
# * **随机失活**（dropout）只在训练时把子层输出中随机的一部分置零。
#
# 先手写 LayerNorm：

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "c098eb5fa500"}
torch.manual_seed(0)
x_ln = torch.randn(2, 5, 16)  # (B, L, D)
norm = nn.LayerNorm(16)
with torch.no_grad():
    norm.weight.uniform_(0.5, 1.5), norm.bias.uniform_(-0.5, 0.5)  # 非平凡的 γ 和 β
mean = x_ln.mean(-1, keepdim=True)  # (B, L, 1) 每个词元，在其特征上
var = x_ln.var(-1, unbiased=False, keepdim=True)  # (B, L, 1)
by_hand = (x_ln - mean) / torch.sqrt(var + norm.eps) * norm.weight + norm.bias  # (B, L, D)
torch.testing.assert_close(by_hand, norm(x_ln))
print("LayerNorm by hand == nn.LayerNorm")

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "ec557cff3a22"}
# ### 后置归一化与前置归一化
#
# LayerNorm 放在哪里有专门的名称，而且对训练有影响：
#
# * **后置归一化**（post-norm，原始 Transformer 和 BERT 采用）：`x = LayerNorm(x + sublayer(x))`——每个残差和都被归一化，因此从输入到输出的路径在每一层都要经过一次归一化；
# * **前置归一化**（pre-norm，GPT-2 以及如今大多数从零训练的模型采用）：`x = x + sublayer(LayerNorm(x))`——子层读取的是归一化后的副本，其结果被加到一条**未经改动**的残差流上。梯度沿着这条流原封不动地到达前面的层，这就是前置归一化在从零训练时更容易、不需要预热（warm-up）的原因；由于残差流本身从未被归一化，前置归一化的模型最后还要加一个 LayerNorm。
#
# 下面这个块同时支持两种布局，其中的注意力子层就是第 3 节的 `MultiHead`：


# %% slideshow={"slide_type": "-"} zh={"source_sha": "064ba7d15210"}
class Block(nn.Module):
    """Encoder layer: attention and feed-forward, each with a residual and a LayerNorm."""

    def __init__(self, d_model, num_heads, ff_dim, dropout=0.1, norm_first=False, eps=1e-5):
        super().__init__()
        self.norm_first = norm_first
        self.attention = MultiHead(d_model, num_heads)
        self.norm1 = nn.LayerNorm(d_model, eps=eps)
        self.feed_forward = nn.Sequential(
            nn.Linear(d_model, ff_dim), nn.GELU(), nn.Linear(ff_dim, d_model)
        )  # (B, L, D) → (B, L, ff_dim) → (B, L, D)，每个词元各自计算
        self.norm2 = nn.LayerNorm(d_model, eps=eps)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, mask=None):
        if self.norm_first:  # 前置归一化：x + sublayer(norm(x))；残差流 x 从不归一化
            attended, weights = self.attention(self.norm1(x), mask=mask)  # (B, L, D), (B, H, L, L)
            x = x + self.dropout(attended)  # (B, L, D)
            x = x + self.dropout(self.feed_forward(self.norm2(x)))  # (B, L, D)
        else:  # 后置归一化：norm(x + sublayer(x))
            attended, weights = self.attention(x, mask=mask)  # (B, L, D), (B, H, L, L)
            x = self.norm1(x + self.dropout(attended))  # (B, L, D)
            x = self.norm2(x + self.dropout(self.feed_forward(x)))  # (B, L, D)
        return x, weights


# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "d928a355abac"}
# **在两种布局下都做检查。** PyTorch 的 `nn.TransformerEncoderLayer`（GELU、batch-first，`norm_first` 为 False 或 True）使用随机权重；课程包的 `EncoderBlock` 复制这些权重，我们的 `Block` 再加载课程包中这个块的状态（参数名相同）。相同的输入和填充 → 每个真实词元上的输出都相同。（PyTorch 的层接收 `src_key_padding_mask`，True 表示*填充*；它的快速推理（inference）路径不定义填充位置上的输出，所以只比较真实词元。）

# %% slideshow={"slide_type": "-"} zh={"source_sha": "c3b155d1ccf9"}
keep = key_is_real.bool()  # (B, L) 真实词元处为 True
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

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "1189a900df84"}
# ### 每个词元在哪里？正弦位置编码
#
# 注意力本身不考虑顺序：把词元打乱，输出也会跟着同样打乱（下面会检查）——这就是第 1 节中两行 `the` 相同的原因。原始的 Transformer 给每个词元向量加上一个取决于其位置 *p* 的固定模式：对特征对 (2i, 2i+1)，
#
# $$PE[p, 2i] = \sin\!\big(p / 10000^{2i/D}\big), \qquad PE[p, 2i+1] = \cos\!\big(p / 10000^{2i/D}\big).$$
#
# 在各个特征上，波长从 2π 到 10000·2π 按几何级数增长：低位特征随位置变化很快，高位特征变化很慢，因此每个位置都得到一个不同的编码，而且平移 *k* 个位置对每一对特征而言都相当于一个固定的旋转。（BERT 则为每个位置*学习*一个向量。）

# %% slideshow={"slide_type": "-"} zh={"source_sha": "3405ee28340d"}
max_len = 128
p = torch.arange(max_len, dtype=torch.float32)[:, None]  # (P, 1) 位置
two_i = torch.arange(0, D, 2, dtype=torch.float32)  # (D/2,) 偶数特征下标
angles = p / 10_000 ** (two_i / D)  # (P, D/2) 每个位置、每对特征一个角度
table = torch.zeros(max_len, D)  # (P, D)
table[:, 0::2] = torch.sin(angles)  # (P, D/2) 偶数特征
table[:, 1::2] = torch.cos(angles)  # (P, D/2) 奇数特征
torch.testing.assert_close(table, course.sinusoidal_positional_encoding(max_len, D))
similarity = table @ table[10]  # (P,) 每个位置与位置 10 的点积
print("notebook table == package table", tuple(table.shape))
print("positions closest to 10:", similarity.argsort(descending=True)[:5].tolist())
figure = plot_positional_encoding(table)

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "724c354a294e"}
x_perm = torch.randn(1, 6, D)  # (1, L, D)
perm = torch.tensor([3, 0, 5, 1, 4, 2])
out_a, _ = mine(x_perm)  # (1, L, D)
out_b, _ = mine(x_perm[:, perm])  # (1, L, D) 打乱后的输入
torch.testing.assert_close(out_b, out_a[:, perm])  # 输出随之打乱：注意力没有顺序
print("attention without positions is permutation-equivariant")

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "4ebad73d8ccf"}
# ## 5 · 用这些块搭建小型 Transformer
#
# 词元嵌入（乘以 √D，使其与位置编码的尺度相当）加上正弦编码，然后是若干前置归一化的 `Block`、前置归一化所需的最后一个 LayerNorm，以及一个线性头。对于句子级的标签（label），头读取真实词元向量的**掩码平均**（不计填充）；对于逐词元的任务，头读取每一个词元。


# %% slideshow={"slide_type": "-"} zh={"source_sha": "e93f08a63226"}
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
        nn.init.normal_(self.embedding.weight, std=d_model**-0.5)  # 下面再 × √D → 单位尺度
        table = course.sinusoidal_positional_encoding(max_len, d_model)  # (max_len, D) 固定不变
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
        x, self.maps = self.dropout(x), []  # 保存权重图，供绘图使用
        for block in self.blocks:
            x, weights = block(x, course.padding_mask(keep))  # (B, L, D), (B, H, L, L)
            self.maps.append(weights.detach())
        x = self.norm(x)  # (B, L, D)
        if self.per_token:
            return self.head(x)  # (B, L, outputs) 每个词元一个预测
        pooled = (x * keep[..., None]).sum(1) / keep.sum(1, keepdim=True)  # (B, D) 只计真实词元
        return self.head(pooled)  # (B, outputs)


# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "bad4add4118e"}
# **与课程包的 `TransformerClassifier` 对照**：相同的权重在一个带填充的批次上给出相同的 logits，无论填充位置是从填充 id 还是从长度得出的。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "f898ff8a1ade"}
torch.manual_seed(0)
package_model = course.TransformerClassifier(
    50, 1, d_model=D, num_heads=H, num_layers=2, ff_dim=cfg.ff_dim, max_len=32
).eval()
ours_model = SmallTransformer(50, 1, D, H, num_layers=2, ff_dim=cfg.ff_dim, max_len=32).eval()
ours_model.load_state_dict(package_model.state_dict())
ids_check = torch.randint(1, 50, (3, 9))  # (B, L)
lengths_check = torch.tensor([9, 5, 2])  # (B,)
ids_check[torch.arange(9) >= lengths_check[:, None]] = 0  # (B, L) 各自长度之后为填充
with torch.no_grad():
    torch.testing.assert_close(ours_model(ids_check), package_model(ids_check))
    torch.testing.assert_close(
        ours_model(ids_check, lengths_check), package_model(ids_check, lengths_check)
    )
print(
    f"SmallTransformer == course.TransformerClassifier: logits {tuple(ours_model(ids_check).shape)}"
)

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "284764f9bf79"}
# ## 6 · 观察注意力如何学习：反转序列
#
# 这是一个答案本身*就是*一种对齐的任务：给定一串随机词元，输出它的逆序。要写出位置 *i* 上的词元，模型必须取来位置 *L − 1 − i* 上的那个——序列中的其他内容都帮不上忙。如果注意力学到了什么，某个头的权重图就必然会变成反对角线。数据来自 `nlpcourse.data.sequence_tasks`（随机 id，每个批次都重新生成；`source_positions` 给出每个输出复制的是哪个输入位置，`weight_on_source` 计算一个头放在该位置上的平均权重——对一个均匀地看向各处的头来说是 1/L）。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "d73ddbc6424a"}
n_len, n_vocab = cfg.task_length, cfg.task_vocab
test_inputs, test_targets = sequence_task(cfg.task_kind, 512, n_len, n_vocab, seed=10_000)
test_source = source_positions(cfg.task_kind, test_inputs)  # (512, L) 每个输出应看的位置
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

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "d78c50014978"}
# 亲手写出的训练循环：每一步用一个新的随机序列批次，对每个输出词元计算交叉熵（cross-entropy）。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "91f094d1dd80"}
log = []
for step in range(1, cfg.task_steps + 1):
    inputs, targets = sequence_task(cfg.task_kind, cfg.task_batch, n_len, n_vocab, seed=step)
    logits = reverser(inputs)  # (B, L, vocab)
    loss = F.cross_entropy(logits.reshape(-1, n_vocab), targets.reshape(-1))  # 每个词元
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % (cfg.task_steps // 4) == 0:
        accuracy, on_source = task_scores(reverser)
        log.append({"step": step, "loss": loss.item(), "test token accuracy": accuracy})
        log[-1].update({f"head {h} on source": w for h, w in enumerate(on_source.tolist())})
print(pd.DataFrame(log).to_string(index=False, float_format=lambda value: f"{value:.3f}"))

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "3556deea2cc4"}
# 训练好的这一层的两个头在一条测试序列上的权重图（行 = 发出询问的输出位置，列 = 被查看的输入位置）：

# %% slideshow={"slide_type": "-"} zh={"source_sha": "83d09f71cc59"}
best_head = int(on_source.argmax())
figure = plot_attention_heads(
    reverser.maps[0][0],  # (H, L, L) 第一条测试序列
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

# %% [markdown] slideshow={"slide_type": "-"} zh={"source_sha": "b5255b8edb3c"}
# 上面打印的表格和画出的权重图就是本节的要点：训练之前，每个头都大致均匀地分配权重（未训练的那一行），而在记录的各个步骤中，放在唯一重要的那个位置上的权重不断增长，准确率（accuracy）也随之上升。没有人告诉注意力该看哪里；损失（loss）的梯度不断调整查询和键的投影，直到得分把源位置挑出来——这里就是一条反对角线，而正弦编码让它很容易表达，因为位置 *L − 1 − i* 的编码是位置 *i* 编码的一个固定线性函数。

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "8d28b4f33e58"}
# ## 练习
#
# **1.** 局部（滑动窗口）注意力只让每个词元看到它的邻居。构建一个布尔型 `(6, 6)` 掩码，使查询 *i* 恰好在 |i − j| ≤ 1 时可以注意键 *j*。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "85f03d548541"}
from nlpcourse.exercises.ch04 import check_attention_distance, check_fused_mha, check_local_mask

local_mask = None  # 你的答案：一个 (6, 6) 布尔张量
if local_mask is not None:
    check_local_mask(local_mask)

# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"] zh={"source_sha": "4ce055f19768"}
positions = torch.arange(6)
local_mask = (positions[:, None] - positions[None, :]).abs() <= 1  # (6, 6)
assert check_local_mask(local_mask)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "f5e8edd4747f"}
# **2.** 实际的实现用**一个**融合投影 `D → 3·D` 计算查询、键和值（用一次大的矩阵乘法代替三次），`nn.MultiheadAttention` 就把它们存放在 `in_proj_weight` 中。编写一个类 `FusedMultiHead(d_model, num_heads)`，它带有属性 `qkv = nn.Linear(D, 3 * D)` 和 `out = nn.Linear(D, D)`，其 `forward(x)` 返回形状为 `(B, L, D)` 的自注意力输出。检查函数会把一个 `nn.MultiheadAttention` 的权重复制到 `qkv` 和 `out` 中，并在两种尺寸下比较输出。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "29810f41fffd"}
FusedMultiHead = None  # 你的答案：这个类
if FusedMultiHead is not None:
    check_fused_mha(FusedMultiHead)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"] zh={"source_sha": "5e0fc7899d63"}
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

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "ff41e7d93b04"}
# **3.** 一个头看得有多远？编写 `attention_distance(weights)`：给定某一层形状为 `(H, L, L)` 的自注意力权重，返回一个 `(H,)` 张量，其中每个头的值是 Σ_j w_ij·|i − j| **在所有查询 *i* 上的平均**——即一个查询与它所注意的键之间平均相隔的位置数。（只注意自己的头得分为 0。）检查函数会在随机权重图上，以及在两个你可以手算出答案的权重图上，把你的函数与课程包的头统计量进行比较。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "96becb543742"}
attention_distance = None  # 你的答案：一个函数，(H, L, L) 权重 -> (H,) 距离
if attention_distance is not None:
    check_attention_distance(attention_distance)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"] zh={"source_sha": "c4a48745ec5f"}
def attention_distance(weights):
    """Per head, the mean over queries of Σ_j w_ij·|i − j|."""
    positions = torch.arange(weights.shape[-1])  # (L,)
    offsets = (positions[:, None] - positions[None, :]).abs()  # (L, L) |i − j|
    return (weights * offsets).sum(-1).mean(-1)  # (H, L) 每个查询 → (H,) 每个头


assert check_attention_distance(attention_distance)

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "82936fe57cd4"}
# ## 进阶内容
#
# 课程的核心部分到此结束。下面三部分和其余内容一样在 CI 中运行，并用到上面搭建的东西：重算一个真实预训练 BERT 的层并测量它的头，为手写注意力与融合注意力计时，以及在 SST-2 上检验原文第 1 节的说法。
#
# ### G1 · 重算真实 BERT 的一层
#
# 我们加载配置档（profile）中的预训练 BERT，把两个句子送进去，并要求它返回每一层的隐藏状态（hidden state）和注意力权重。在 transformers 5 中，BERT 默认用 PyTorch 的融合内核（`sdpa`）计算注意力，这个内核从不构造权重矩阵；`attn_implementation="eager"` 则选用能返回权重矩阵的普通实现。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "7a9a1737b828"}
import logging

for noisy in ("torchao", "torch.utils._pytree"):  # 可选库在导入时的提示
    logging.getLogger(noisy).setLevel(logging.ERROR)

from transformers import AutoTokenizer, BertModel
from transformers.utils import logging as hf_logging

from nlpcourse.data.checkpoints import load_pretrained

hf_logging.set_verbosity_error()  # 笔记本中不显示加载报告
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
batch = tokenizer(bert_sentences, padding=True, return_tensors="pt")  # 有填充：掩码起作用
with torch.no_grad():
    result = bert(**batch, output_attentions=True, output_hidden_states=True)
print(
    f"{len(result.hidden_states)} hidden states {tuple(result.hidden_states[0].shape)}, "
    f"{len(result.attentions)} attention maps {tuple(result.attentions[0].shape)}"
)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "7edf4cecbc3f"}
# `hidden_states[0]` 是嵌入层的输出；`hidden_states[1]` 是第 0 层的输出。一个 BERT 层恰好就是第 4 节的**后置归一化** `Block`，只是用了 BERT 的 LayerNorm epsilon，因此装上第 0 层权重的 `Block` 必须在一个带填充的批次上重现它——包括注意力权重和这一层的输出。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "b3cd6a5e3de3"}
layer0 = bert.encoder.layer[0]
x0 = result.hidden_states[0]  # (B, L, hidden) 第 0 层的输入
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
real = batch["attention_mask"].bool()  # (B, L) 比较真实词元
weight_gap = (block_weights - result.attentions[0]).abs().max().item()
output_gap = (y0[real] - result.hidden_states[1][real]).abs().max().item()
print(f"our Block vs BERT layer 0: weights {weight_gap:.2e}, output {output_gap:.2e} (max |diff|)")
assert weight_gap < 1e-4 and output_gap < 1e-4

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "1aa3ee82c2ef"}
# ### 真实的头在看什么
#
# 每个面板是某一层（层号在配置档中设定）的一个头：行 = 发出查看的词元（查询），列 = 被查看的词元（键），亮度 = 权重。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "6231859c8008"}
n_real = int(batch["attention_mask"][0].sum())
bert_tokens = tokenizer.convert_ids_to_tokens(batch["input_ids"][0, :n_real])
assert n_real <= cfg.heatmap_max_tokens, "a heatmap is read token by token: keep it short"
layer_maps = result.attentions[cfg.heatmap_layer][0, :, :n_real, :n_real]  # (heads, L, L)
figure = plot_attention_heads(
    layer_maps, bert_tokens, ncols=4, title=f"{profile.bert}, layer {cfg.heatmap_layer}"
)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "9426ddf2b83b"}
# ### 各个头在分散程度和距离上有差异吗？带对照组的测量
#
# 在 SST-2 验证集句子上，对每个头和每个句子，在真实查询词元上取平均：查询注意力行的**熵**（只看一个词元时为 0，均匀分布在 n 个词元上时为 log n），以及**平均注意力距离** Σ_j w_ij·|i − j|（练习 3）。如果一层中的各个头可以互换，它们的平均值之间的离散程度大约会和单个头平均值的不确定度（它在各个句子上的标准误）一样小。**对照组**是结构相同、但权重随机的模型（一个从未训练过的 BERT）：它表现出的任何离散都来自模型结构和句子本身，而不是来自学习。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "e4b60b96b8aa"}
from nlpcourse.data.splits import sst2_subset
from nlpcourse.evaluate.attention_stats import layer_head_statistics, spread_across_heads
from nlpcourse.plots.attention import plot_head_statistics

sst2 = sst2_subset(profile)
stats_texts = sst2["validation"]["text"][: cfg.head_stats_sentences]
stats_batch = tokenizer(stats_texts, padding=True, truncation=True, return_tensors="pt")
torch.manual_seed(profile.seed)
untrained_bert = BertModel(config).eval()  # 形状相同、权重随机：对照组
spread = {}
for name, model in (("pretrained", bert), ("untrained", untrained_bert)):
    with torch.no_grad():
        maps = model(**stats_batch, output_attentions=True).attentions  # 层数 × (N, H, L, L)
    stats = layer_head_statistics(maps, stats_batch["attention_mask"])  # 各为 (N, layers, H)
    for key in ("entropy", "distance"):
        measured = spread_across_heads(stats[key])
        ratios = measured["between_heads_sd"] / measured["standard_error"]  # (layers,)
        spread[name, key] = measured["head_means"]  # (layers, H)
        print(
            f"{name:>10} {key:>8}: head averages {measured['head_means'].min():.2f}–"
            f"{measured['head_means'].max():.2f}; between-head sd / standard error per layer: "
            + ", ".join(f"{r:.1f}" for r in ratios.tolist())
        )

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "c9e36ae77640"}
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

# %% [markdown] slideshow={"slide_type": "-"} zh={"source_sha": "e38009ed949d"}
# 比值远大于 1，说明一层中各个头之间的差异超过了抽样噪声；请把预训练模型的各行与打印在旁边的未训练对照组比较——图中画的是每个头的同样这些数字。两者的区别只在于训练：未训练模型的头构造方式相同，读的也是同样的句子。

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "57bf410707eb"}
# ### G2 · 手写与融合：计时
#
# `F.scaled_dot_product_attention` 把缩放、掩码、softmax 和加权求和融合进一个内核，不必保存完整的 `L × L` 权重矩阵。我们的版本则把得分和权重都实际算出来存着。公平计时：两者使用相同的张量，各先做一次预热调用，轮流执行相同的重复次数，取中位数。本版本只测量了 CPU 上的时间。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "19f842fef81f"}
from nlpcourse.evaluate.timing import compare_seconds
from nlpcourse.plots.attention import plot_attention_timings

timings = {"hand-built": [], "F.scaled_dot_product_attention": []}
d_head = D // H
with torch.no_grad():
    for length in cfg.timing_lengths:
        qt, kt, vt = torch.randn(3, cfg.timing_batch, H, length, d_head, device=device).unbind(0)
        seconds = compare_seconds(
            {
                "hand-built": lambda: attention(qt, kt, vt),  # noqa: B023 - 在本轮循环中立即计时
                "fused": lambda: F.scaled_dot_product_attention(qt, kt, vt),  # noqa: B023
            },
            repeats=cfg.timing_repeats,
        )
        timings["hand-built"].append(seconds["hand-built"] * 1e3)  # 毫秒
        timings["F.scaled_dot_product_attention"].append(seconds["fused"] * 1e3)
for length, hand, fused in zip(cfg.timing_lengths, *timings.values(), strict=True):
    print(
        f"L={length:>4}: hand-built {hand:7.2f} ms, fused {fused:7.2f} ms, "
        f"hand-built takes {hand / fused:4.1f}× as long"
    )
figure = plot_attention_timings(cfg.timing_lengths, timings)

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "177513d36094"}
# ### G3 · 检验第 1 节：统计基线、BiLSTM 与小型 Transformer
#
# 原文第 1 节说，端到端的神经模型取代了统计方法。以我们的预算，可以检验这一说法的一个缩小版：在**相同的 SST-2 划分**（笔记本 01 的训练 / 验证 / 测试集，相同的词表（vocabulary））上比较三个分类器（classifier）：
#
# * **TF-IDF + 逻辑回归**（scikit-learn）：词和词对的计数，经过重新加权，再接一个线性模型——即统计方法，作为基线（baseline）；
# * 笔记本 01 的 **BiLSTM**，沿用它的训练方案；
# * 第 5 节的 **`SmallTransformer`**，每个句子输出一个 logit。
#
# 所有选择都在**验证集**（validation set）上做出（逻辑回归的 C；早停（early stopping）保留的那一轮（epoch））；每个神经模型都用多个随机种子（seed）训练（初始化和 dropout 随之改变；**每次运行都以相同的顺序得到相同的批次**，它们来自一个用相同打乱种子重新构建的数据加载器）；**测试**集只在最后评分一次。为了控制在 CPU 预算之内，这些运行只在训练短语的一个子集上训练，子集大小由配置档设定（`attention.compare_train_size`；在 `full` 中为 `None`，表示全部 67,349 条）。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "371a2d3160a9"}
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

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "d27d403456eb"}
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
runs = {name: [] for name in recipes}  # 名称 → [(model, history)]，每个种子一个
for seed in range(cfg.compare_seeds):
    for name, (build, optimizer_for) in recipes.items():
        seed_everything(profile.seed + seed)
        model = build()
        history = fit(
            model,
            train_batches(),  # 每次运行用相同的批次
            data.val_loader,
            epochs=cfg.compare_epochs,
            optimizer=optimizer_for(model),
            grad_clip=b.grad_clip,  # 两者用相同的梯度裁剪和早停
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

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "d0e9de8be02e"}
# 每个模型第一个随机种子的学习曲线，来自逐步日志（每个优化器（optimizer）步骤的损失和梯度范数，在原始值上叠画一条滑动平均线）：

# %% slideshow={"slide_type": "-"} zh={"source_sha": "fc9a53b4c42e"}
figure = plot_runs(
    {name: seed_runs[0][1] for name, seed_runs in runs.items()},
    keys=("loss", "grad_norm"),
    smooth=10,
)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "0aa56d7ca678"}
# ### 结果表，以及只评分一次的测试集
#
# 上面的一切都是在验证集上选定的。现在，每个保留下来的模型在测试集上做一次预测，仅此一次。表中只用一种区间：**各随机种子的均值 ± 标准差**。TF-IDF + 逻辑回归是确定性的——只拟合一次，没有种子间的波动可以展示。训练时间是实际运行的各轮所测得的时间。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "64f583200a4c"}
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

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "29ec2efbb411"}
# 我们能得出什么结论？对每一对模型，把每个种子的模型与另一个模型在相同的测试句子上用配对自助法（paired bootstrap）比较（准确率之差的 95 % 区间）；只有当**所有**种子的区间都在同一侧排除零时，才称差异是可测量的。在“不可测量”的结论旁边，该单元会打印这些测试句子对这一对模型所能检测到的最小差异（由两个模型预测不一致的频率算出）。


# %% slideshow={"slide_type": "-"} zh={"source_sha": "d7deb00ad278"}
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

# %% [markdown] slideshow={"slide_type": "-"} zh={"source_sha": "7f66473a5a4d"}
# 上面的结论是根据区间打印出来的，所以总是与数字一致。原文的说法针对的是大规模条件下的整个领域——大量数据和预训练模型——这也是课程接下来从*预训练*的 Transformer 开始（笔记本 05–06）的原因。注意 Transformer 在这里要学的东西：它只能通过位置编码得知词序，而 LSTM 天然就按顺序读取。`full` 配置档（全部训练短语、更宽更深的 Transformer、更多的轮数和随机种子，在 GPU 上运行）在本版本中没有运行过，因此这里不给出它的数字；`NLPCOURSE_PROFILE=full make nb NB=04` 可以生成这些数字。
#
# ### 训练好的小型 Transformer 的头在看什么
#
# 种子 0 的模型在一个较短的验证句子上的权重图（挑选最便于阅读的句子：最多 `heatmap_max_tokens` 个词元，且 `<unk>` 最少），并像测量 BERT 那样测量它的头。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "4d29435f57eb"}
small = runs["Transformer"][0][0].eval()
val_ids = [data.val_set[i][0] for i in range(len(data.val_set))]
readable = [
    i for i, s in enumerate(val_ids) if 8 <= len(s) <= cfg.heatmap_max_tokens
]  # 短到便于阅读
pick = min(readable, key=lambda i: (int((val_ids[i] == vocab.unk_id).sum()), -len(val_ids[i])))
sentence = val_ids[pick]  # (L,)
with torch.no_grad():
    small(sentence[None].to(device))
small_tokens = [vocab.itos[i] for i in sentence.tolist()]
figure = plot_attention_heads(
    small.maps[-1][0],  # (H, L, L) 最后一层
    small_tokens,
    ncols=H,
    title="small Transformer trained on SST-2, last layer",
    cell_size=3.4,
)
ids, lengths, _ = next(iter(data.val_loader))  # (B, L), (B,), (B,)
with torch.no_grad():
    small(ids.to(device), lengths.to(device))
keep_small = torch.arange(ids.shape[1])[None, :] < lengths[:, None]  # (B, L) 真实词元
small_stats = layer_head_statistics(small.maps, keep_small)  # 各为 (B, layers, H)
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

# %% [markdown] slideshow={"slide_type": "notes"} zh={"source_sha": "4eb6e3bc31c8"}
# 给讲师的结尾备注：下面的单元会打印本次运行在这台机器上花费的时间。

# %% slideshow={"slide_type": "skip"} zh={"source_sha": "fc990699fa8a"}
print(f"notebook 04 ran in {time.perf_counter() - notebook_start:.0f} s on {device}")
