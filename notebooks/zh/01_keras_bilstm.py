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

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "4d7c830e0797"}
# # 01 · 文章中的 BiLSTM：LSTM 单元、Keras 模型、它的 PyTorch 孪生版本与基线
#
# 文章第 2.1 节开头用 `tf.keras` 写了一个四层的情感分类器（classifier）：把 10,000 个词的词表（vocabulary）嵌入（embedding）到 64 维，接一个每个方向 64 个单元的双向（bidirectional）LSTM，再接一个 64 个单元的 ReLU 层和一个 sigmoid 输出。本笔记本将：
#
# 1. 写出 LSTM 单元计算的内容，与 `nn.LSTM` 对照验证，并从公式推导出参数（parameter）量；
# 2. 用 **Keras 3** 搭建文章中的模型，在 SST-2 上做简短的训练，并只设置一个关键字参数就让它忽略填充（padding）；
# 3. 用 **PyTorch** 写出同一个网络和一个朴素的训练循环，再把这个循环换成课程中经过测试的 `fit()`；
# 4. 用多个随机种子（seed）与一个用 scikit-learn 写出的 TF-IDF 基线（baseline）比较，说明这次评估（evaluation）能检测出多大的差异，最后只在测试部分上评分一次。
#
# 末尾的“深入探索”（Going further）部分在相同的批次（batch）上比较 Keras 与 PyTorch 的速度，并把模型导出为计算图。
#
# **自文章发表以来的变化。** 文章导入的是 `tensorflow.keras`。Keras 3 是一个独立的包（`import keras`），可以运行在 TensorFlow、JAX 或 PyTorch 之上。本课程不安装 TensorFlow：在*首次*导入 Keras 之前设置 `KERAS_BACKEND=torch`，Keras 就会运行在 PyTorch 上。除了导入语句，模型代码本身没有任何改动。

# %% slideshow={"slide_type": "skip"} zh={"source_sha": "88702f9f0a17"}
import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # 必须在第一次 `import keras` 之前

import copy
import time
import warnings
from itertools import islice

import keras
import numpy as np
import torch
from safetensors.torch import load_file, save_file
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence
from torch.utils.data import DataLoader, TensorDataset

from nlpcourse.config import get_device, get_profile, seed_everything
from nlpcourse.data.runs import run_dir
from nlpcourse.data.splits import sst2_subset
from nlpcourse.evaluate.baselines import tfidf_logreg
from nlpcourse.evaluate.efficiency import count_parameters
from nlpcourse.evaluate.stats import (
    bootstrap_accuracy,
    detectable_difference,
    disagreement_rate,
    format_mean_sd,
    paired_bootstrap,
)
from nlpcourse.evaluate.timing import median_seconds
from nlpcourse.models.bilstm import BiLSTMClassifier, bilstm_parameter_count, lstm_parameter_count
from nlpcourse.plots.lstm import draw_lstm_cell, plot_gate_heatmaps
from nlpcourse.plots.training import plot_runs
from nlpcourse.text.batching import (
    EncodedDataset,
    numericalize,
    pad_sequences,
    sst2_loaders,
    text_loader,
)
from nlpcourse.text.tokenize import regex_tokenize
from nlpcourse.text.vocab import Vocabulary
from nlpcourse.train.loop import fit, predict, predicted_labels

notebook_start = time.perf_counter()
profile = get_profile()
seed_everything(profile.seed)
keras.utils.set_random_seed(profile.seed)
config = profile.bilstm
device = get_device()
# 只用一个线程，使本笔记本的计时不受第二个核上其他任务的影响
# （这里没有测量单线程与多线程的差别）。
torch.set_num_threads(1)
print(
    f"Keras {keras.__version__} on the {keras.backend.backend()} backend, torch {torch.__version__}"
)
print(f"profile {profile.name!r}, device {device}")

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "670ce6842153"}
# ## 数据：分成三部分的 SST-2
#
# 斯坦福情感树库（Stanford Sentiment Treebank，取自 GLUE 的二分类版本）是一个包含 67,349 条训练*短语*和 872 条带标签（label）验证*句子*的数据集（dataset）（其测试集的标签没有公开）。课程把这 872 个句子分层划分为两部分：**验证**部分，本笔记本中的每一个选择（早停（early stopping）、选哪个随机种子、选哪个模型）都在它上面做出；**测试**部分，只在最后评分一次。`sst2_subset` 负责选出这些行；`sst2_loaders` 负责分词、在训练文本上构建 10,000 个词的词表、把词元（token）转换成 id 并组成批次。它的训练批次把长度相近的短语放在一起（**分桶**，bucketing），并附带每一行的真实长度，使 LSTM 能跳过填充（**打包**，packing）：这两者在这里直接拿来用，到笔记本 02 再拆开并逐一测量。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "8cf20ef3a3e2"}
data = sst2_loaders(sst2_subset(profile), profile)
vocab = data.vocab
print(
    f"train {len(data.train_set):,} phrases · validation {len(data.val_set):,} sentences · "
    f"test {len(data.test_set):,} sentences (kept for the end)"
)
print(f"vocabulary: {len(vocab):,} ids, the first ones {vocab.itos[:8]}")
for text, label in zip(data.val_texts[:3], data.val_set.labels[:3].tolist(), strict=True):
    print(f"  [{('negative', 'positive')[label]}] {text}")

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "25a2f1b897ec"}
# id 0 和 1 是保留的：`<pad>` 把较短的序列（sequence）补齐到所在批次的长度，`<unk>` 代表保留下来的 10,000 个词之外的任何词。下面看一个固定的句子如何被转换成模型的输入：

# %% keep_output=true slideshow={"slide_type": "-"} zh={"source_sha": "0e9fc1637e61"}
# NBVAL_CHECK_OUTPUT
sentence = "A gripping, beautifully acted film - but the ending is flat."
tokens = regex_tokenize(sentence)
print(tokens)
print(vocab.encode(tokens))

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "371a86d7bdbb"}
# ## 1 · LSTM 单元计算什么
#
# 循环神经网络每次读入句子的一个词元，并把一份摘要向后传递。LSTM 传递两个各含 `h` 个数的向量：**输出** $h_t$ 和**单元状态**（cell state）$c_t$；后者是一份记忆，只会被逐元素的缩放和加法改变。在每一步，它查看当前输入 $x_t$（一个 `d` 维的嵌入）和上一步的输出 $h_{t-1}$，计算四个*门*（gate），每个门都是一个带有自己的权重 $W$（`h×d`）、$U$（`h×h`）和偏置项 $b$（`h`）的层：
#
# $$
# \begin{aligned}
# i_t &= \sigma(W_i x_t + U_i h_{t-1} + b_i) && \text{输入门：写入多少新内容}\\
# f_t &= \sigma(W_f x_t + U_f h_{t-1} + b_f) && \text{遗忘门：保留多少记忆}\\
# g_t &= \tanh(W_g x_t + U_g h_{t-1} + b_g) && \text{候选值：写入什么}\\
# o_t &= \sigma(W_o x_t + U_o h_{t-1} + b_o) && \text{输出门：展示多少记忆}\\
# c_t &= f_t \odot c_{t-1} + i_t \odot g_t, \qquad h_t = o_t \odot \tanh(c_t)
# \end{aligned}
# $$
#
# sigmoid 门的取值在 0 和 1 之间，所以它们像调光旋钮一样起作用；由于 $c_t$ 的更新方式是“保留一部分，再加上一部分”，信息（以及梯度（gradient））可以跨越许多步保存下来。下图中，四个门读取相同的输入，单元状态沿着顶部一路贯穿。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "2d88b0bba69d"}
cell_figure = draw_lstm_cell()

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "89e57fcb4afc"}
# 写成代码，一步只有四行：


# %% slideshow={"slide_type": "-"} zh={"source_sha": "45aaeb01ebbc"}
def lstm_cell(x, h, c, weight_ih, weight_hh, bias):
    """One LSTM step: the four gates from x and h, then the new cell state and output."""
    gates = x @ weight_ih.T + h @ weight_hh.T + bias  # (batch, 4h)：i、f、g、o 并排
    i, f, g, o = gates.chunk(4, dim=-1)  # 各为 (batch, h)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)  # (batch, h) 新的记忆
    h = torch.sigmoid(o) * torch.tanh(c)  # (batch, h) 新的输出
    return h, c


def lstm_forward(x, weight_ih, weight_hh, bias):
    """Run the cell over x (batch, time, d) from zero states; return all outputs and the last."""
    h = c = x.new_zeros(x.shape[0], weight_hh.shape[1])  # 各为 (batch, h)
    outputs = []
    for t in range(x.shape[1]):
        h, c = lstm_cell(x[:, t], h, c, weight_ih, weight_hh, bias)  # 各为 (batch, h)
        outputs.append(h)
    return torch.stack(outputs, dim=1), h  # (batch, time, h), (batch, h)


# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "1a7db7ad08bd"}
# **双向**是指两个权重相互独立的 LSTM：一个从左往右读句子，另一个从右往左读。每个位置的输出是两个方向输出的拼接（`2h` 个数）。要给整句打标签，分类器读取两个**最终状态**：前向 LSTM 读完最后一个词之后的状态，以及后向 LSTM 读完第一个词之后的状态——它们各自都是唯一见过全部词的向量，是任意长度句子的一份固定大小的摘要。
#
# PyTorch 的 `nn.LSTM` 保存两个方向的权重（后向的带 `…_reverse` 后缀），并且每个方向有两个偏置向量，二者之和起到 $b$ 的作用。我们的单元必须与它一致；而课程中的 `nlpcourse.models.bilstm.BiLSTMClassifier.encode`（由词元 id 得到句子向量：最终前向状态、最终后向状态）在没有填充的批次上必须与我们的单元一致：

# %% slideshow={"slide_type": "-"} zh={"source_sha": "0947f0aaa890"}
seed_everything(profile.seed)
small_lstm = nn.LSTM(8, 5, batch_first=True, bidirectional=True)
x = torch.randn(3, 7, 8)  # (batch, time, d) 批次、时间步、嵌入维度
p = dict(small_lstm.named_parameters())
out_fw, last_fw = lstm_forward(
    x, p["weight_ih_l0"], p["weight_hh_l0"], p["bias_ih_l0"] + p["bias_hh_l0"]
)
out_bw, last_bw = lstm_forward(  # 后向 LSTM 读取翻转后的句子
    x.flip(1),
    p["weight_ih_l0_reverse"],
    p["weight_hh_l0_reverse"],
    p["bias_ih_l0_reverse"] + p["bias_hh_l0_reverse"],
)  # out_bw: (3, 7, 5)，按翻转后句子的阅读顺序
outputs, (h_n, _) = small_lstm(x)  # outputs: (3, 7, 10), h_n: (2, 3, 5)
with torch.no_grad():
    torch.testing.assert_close(torch.cat([out_fw, out_bw.flip(1)], dim=-1), outputs)
    torch.testing.assert_close(
        torch.cat([last_fw, last_bw], dim=-1), torch.cat([h_n[0], h_n[1]], -1)
    )
print("the written-out cell matches nn.LSTM in both directions, outputs and final states")

twin_check = BiLSTMClassifier(50, 8, 5, 4).eval()
ids = torch.randint(1, 50, (3, 7))  # (batch, time)，没有填充
p = dict(twin_check.lstm.named_parameters())
with torch.no_grad():
    embedded = twin_check.embedding(ids)  # (3, 7, 8)
    _, fw = lstm_forward(
        embedded, p["weight_ih_l0"], p["weight_hh_l0"], p["bias_ih_l0"] + p["bias_hh_l0"]
    )
    _, bw = lstm_forward(
        embedded.flip(1),
        p["weight_ih_l0_reverse"],
        p["weight_hh_l0_reverse"],
        p["bias_ih_l0_reverse"] + p["bias_hh_l0_reverse"],
    )
    torch.testing.assert_close(torch.cat([fw, bw], dim=-1), twin_check.encode(ids))  # (3, 10)
print("lstm_forward in both directions == BiLSTMClassifier.encode")

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "e07a919f9916"}
# **从公式数出参数量。** 4 个门各有 $W$（`h·d`）、$U$（`h·h`）和 $b$（`h`），所以每个门只有一个偏置时（Keras），一个方向有 $4\,(h(h+d) + h)$ 个参数；PyTorch 有两个偏置，再多 $4h$ 个。双向层再翻一倍。代入文章中的 `d = h = 64`：

# %% keep_output=true slideshow={"slide_type": "-"} zh={"source_sha": "1a57932f8106"}
# NBVAL_CHECK_OUTPUT
d, h = config.embed_dim, config.hidden_size
per_direction = 4 * (h * (h + d) + h)  # 4 个门 × (W: h×d, U: h×h, b: h)
assert per_direction == lstm_parameter_count(d, h, bias_vectors=1)
assert count_parameters(nn.LSTM(d, h)) == per_direction + 4 * h  # PyTorch 的第二个偏置
assert count_parameters(nn.LSTM(d, h, bidirectional=True)) == 2 * (per_direction + 4 * h)
print(f"one direction, one bias: {per_direction:,}; bidirectional: {2 * per_direction:,}")

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "44b407c3d12c"}
# ## 2 · 用 Keras 3 实现文章中的模型
#
# Keras 要求每个输入的长度相同，所以每个序列都被截断或填充到 `config.max_len` 个词元。`keras.utils.pad_sequences` 默认在*前面*填充（`padding="pre"`），这样前向 LSTM 最后读到的是真实的词。它默认的 `truncating="pre"` 会截掉长评论的*开头*；`"post"` 则保留开头。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "e691dab4ec65"}
keras_rows = config.keras_train_size or len(data.train_set)
rows = np.random.default_rng(profile.seed).permutation(len(data.train_set))[:keras_rows]
train_ids = [data.train_set[i][0].tolist() for i in rows]  # 行的一个随机样本
val_ids = [data.val_set[i][0].tolist() for i in range(len(data.val_set))]
x_train = keras.utils.pad_sequences(
    train_ids, maxlen=config.max_len, padding="pre", truncating="post"
)  # (keras_rows, max_len)
y_train = data.train_set.labels[rows].numpy().astype("float32")  # (keras_rows,)
x_val = keras.utils.pad_sequences(
    val_ids, maxlen=config.max_len, padding="pre", truncating="post"
)  # (验证行数, max_len)
y_val = data.val_set.labels.numpy()  # (验证行数,)
print("x_train", x_train.shape, "x_val", x_val.shape)
print("first training row:", x_train[0][-12:], "(the last 12 of its ids)")


# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "022a768477cd"}
# 模型与文章中的逐层相同。`keras.Input` 预先固定输入的类型（任意长度：`None`），这样模型立即就能构建，`summary()` 也能统计它的参数量。


# %% slideshow={"slide_type": "-"} zh={"source_sha": "fa69fedc5a7e"}
def articles_model(mask_zero=False):
    """The article's Sequential model; ``mask_zero=True`` makes id 0 a mask."""
    return keras.Sequential(
        [
            keras.Input(shape=(None,), dtype="int32"),  # (batch, time) 词元 id
            keras.layers.Embedding(config.vocab_size, config.embed_dim, mask_zero=mask_zero),
            keras.layers.Bidirectional(keras.layers.LSTM(config.hidden_size)),  # (batch, 128)
            keras.layers.Dense(config.dense_dim, activation="relu"),  # (batch, 64)
            keras.layers.Dense(1, activation="sigmoid"),  # (batch, 1) 正面的概率
        ]
    )


keras_model = articles_model()
keras_model.summary()

# %% keep_output=true slideshow={"slide_type": "-"} zh={"source_sha": "c7cf7cfc3fa1"}
# NBVAL_CHECK_OUTPUT
keras_params = keras_model.count_params()
assert keras_params == 714_369 == bilstm_parameter_count(config.vocab_size, bias_vectors=1)
for layer in keras_model.layers:
    print(f"{layer.name:<16} {layer.count_params():>8,}")
print(f"{'total':<16} {keras_params:>8,}")

# %% [markdown] slideshow={"slide_type": "notes"} zh={"source_sha": "f8a972777c4f"}
# 模型九成的参数都在嵌入表里（10,000 × 64）。LSTM 那一行正是上面推导出的公式乘以二；两个全连接层是权重加偏置。

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "3ab81c6da9a0"}
# **文章中的两个复制粘贴陷阱。** 文章页面上显示的 `activation=’relu’` 和 `activation=’sigmoid’` 用的是排版引号；粘贴进 Python 后，它们根本不是字符串的引号，这一行连语法解析都通不过。另外，文章中的 torchtext 代码片段用 `TabularDataset` 读取 `train.csv`，却没有写 `skip_header=True`，所以带表头行的 CSV 会把表头当作一个训练样本喂给模型（笔记本 02 用 `datasets` 读取 CSV，它把表头当作列名）。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "f033f5355dec"}
pasted = "keras.layers.Dense(64, activation=’relu’)"  # 文章页面上显示的样子
try:
    compile(pasted, "<pasted from the article>", "eval")
except SyntaxError as error:
    print(f"SyntaxError: {error.msg}")

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "5800f9fdfae0"}
# 现在用文章中的二元交叉熵（cross-entropy）对它做简短的训练，只在部分行的一个样本上训练 1 轮（epoch）：在 PyTorch 后端的 CPU 路径上，Keras 的 LSTM 用 Python 逐个时间步地循环（cuDNN 的融合内核只在 GPU 上使用）。末尾的“深入探索”部分会在相同的批次上把它与 PyTorch 计时比较。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "e547a126371f"}
keras_model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
keras_model.fit(
    x_train, y_train, batch_size=config.batch_size, epochs=config.keras_epochs, verbose=2
)
keras_val_pred = (keras_model.predict(x_val, verbose=0)[:, 0] > 0.5).astype(int)  # (行数,)
print(f"Keras validation accuracy {bootstrap_accuracy(y_val, keras_val_pred)}")

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "5dc0daa068de"}
# **模型读进了自己的填充。** 没有掩码（mask）时，填充符会像词一样被送进两个 LSTM：后向 LSTM 甚至*结束*在它们上面，所以它的最终状态取决于填充了多少个。`Embedding(..., mask_zero=True)` 把 id 0 标记为填充；LSTM 随后跳过这些步（把状态原样带过去）。掩码不增加参数，所以带掩码的模型可以原封不动地沿用训练好的权重。同一个句子，以不同方式填充：

# %% slideshow={"slide_type": "-"} zh={"source_sha": "19d44835e595"}
masked_model = articles_model(mask_zero=True)
masked_model.set_weights(keras_model.get_weights())
assert masked_model.count_params() == 714_369
review = vocab.encode(regex_tokenize("a gripping , beautifully acted film ."))
paddings = {
    "no padding": np.array([review]),
    "5 pads in front": keras.utils.pad_sequences([review], len(review) + 5, padding="pre"),
    "20 pads in front": keras.utils.pad_sequences([review], len(review) + 20, padding="pre"),
    "10 pads behind": keras.utils.pad_sequences([review], len(review) + 10, padding="post"),
}  # 各为 (1, length)
probabilities = {"without mask": [], "mask_zero=True": []}
for ids_row in paddings.values():
    probabilities["without mask"].append(float(keras_model.predict(ids_row, verbose=0)[0, 0]))
    probabilities["mask_zero=True"].append(float(masked_model.predict(ids_row, verbose=0)[0, 0]))
print(f"{'':<18}" + "".join(f"{name:>18}" for name in paddings))
for model_name, values in probabilities.items():
    print(f"{model_name:<18}" + "".join(f"{p:>18.6f}" for p in values))
assert np.ptp(probabilities["mask_zero=True"]) < 1e-5, "the mask should make padding irrelevant"
assert np.ptp(probabilities["without mask"]) > 1e-4, "without a mask the padding should show"

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "a2a8e300aed3"}
# ## 3 · 用 PyTorch 实现同一个网络
#
# PyTorch 版本把每一步都明确写出来。与 Keras 相比有两点不同：
#
# * **sigmoid 挪进了损失（loss）。** 模块返回一个 *logit*，训练时使用 `binary_cross_entropy_with_logits`，它在损失内部以数值稳定的方式施加 sigmoid；`sigmoid(logit)` 就是 Keras 输出的概率。
# * **长度是已知的。** 给定每个序列的真实长度，`pack_padded_sequence` 让 LSTM 跳过填充——这就是 PyTorch 中与 Keras 掩码相对应的做法。


# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "e44c11b32a4f"}
class BiLSTMTwin(nn.Module):
    """Embedding → BiLSTM → Dense(relu) → Dense, the article's model in PyTorch."""

    def __init__(self, vocab_size=10_000, embed_dim=64, hidden_size=64, dense_dim=64):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.lstm = nn.LSTM(embed_dim, hidden_size, batch_first=True, bidirectional=True)
        self.dense = nn.Linear(2 * hidden_size, dense_dim)
        self.head = nn.Linear(dense_dim, 1)

    def forward(self, ids, lengths=None):
        x = self.embedding(ids)  # (batch, time, 64)
        if lengths is not None:  # 只读取每行的真实词元
            x = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, (h_n, _) = self.lstm(x)  # h_n: (2, batch, 64)，每个方向的最后状态
        sentence = torch.cat([h_n[0], h_n[1]], dim=-1)  # (batch, 128)
        hidden = torch.relu(self.dense(sentence))  # (batch, 64)
        return self.head(hidden)  # (batch, 1) logits


# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "dd44d8fafbb6"}
# PyTorch 每个方向保存两个偏置向量 `bias_ih` 和 `bias_hh`（为了与 cuDNN 兼容；只有二者之和起作用），所以按上面的公式，它比 Keras 多出 2 个方向 × 4 个门 × 64 个单元 = 512 个参数：

# %% keep_output=true slideshow={"slide_type": "-"} zh={"source_sha": "7de30590738c"}
# NBVAL_CHECK_OUTPUT
twin = BiLSTMTwin(config.vocab_size, config.embed_dim, config.hidden_size, config.dense_dim)
torch_params = count_parameters(twin)
assert torch_params == 714_881 == bilstm_parameter_count(config.vocab_size)
assert torch_params - keras_params == 2 * 4 * config.hidden_size == 512
print(f"Keras {keras_params:,}  PyTorch {torch_params:,}  difference {torch_params - keras_params}")

# %% [markdown] slideshow={"slide_type": "fragment"} zh={"source_sha": "36592a6428a4"}
# 课程中的 `BiLSTMClassifier` 是同一个网络（外加可选的随机失活（dropout），它不增加参数）。它的参数名称相同，所以可以加载孪生模型的权重，并且必须给出相同的输出；从这里开始，笔记本改用它。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "d74e8cdd2bae"}
packaged = BiLSTMClassifier(
    config.vocab_size, config.embed_dim, config.hidden_size, config.dense_dim
).eval()
packaged.load_state_dict(twin.state_dict())
ids, lengths, _ = next(iter(data.val_loader))  # ids: (batch, time), lengths: (batch,)
with torch.no_grad():
    torch.testing.assert_close(packaged(ids, lengths), twin.eval()(ids, lengths))
print(
    "the twin and nlpcourse.models.bilstm.BiLSTMClassifier agree on a batch of shape",
    tuple(ids.shape),
)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "3db243ee011e"}
# **不只是形状相同，而是同一个函数。** 把训练好的 Keras 权重复制进孪生模型，它就必须给出与 Keras 相同的答案。Keras 把核（kernel）存成 `(inputs, outputs)`，PyTorch 存成 `(outputs, inputs)`，因此需要转置；两者的门都按 i、f、g、o 的顺序排列。Keras 唯一的偏置放进 `bias_ih`，`bias_hh` 置为零。


# %% slideshow={"slide_type": "-"} zh={"source_sha": "1be9922ddbfc"}
def as_tensor(array):
    return torch.from_numpy(np.asarray(array))


(embedding,) = keras_model.layers[0].get_weights()  # (10000, 64)
lstm_weights = keras_model.layers[1].get_weights()  # 先前向后后向：kernel、recurrent、bias
dense_kernel, dense_bias = keras_model.layers[2].get_weights()  # (128, 64), (64,)
head_kernel, head_bias = keras_model.layers[3].get_weights()  # (64, 1), (1,)
state = {"embedding.weight": as_tensor(embedding)}
for suffix, (kernel, recurrent, bias) in (
    ("l0", lstm_weights[:3]),
    ("l0_reverse", lstm_weights[3:]),
):
    state[f"lstm.weight_ih_{suffix}"] = as_tensor(kernel).T  # (256, 64)
    state[f"lstm.weight_hh_{suffix}"] = as_tensor(recurrent).T  # (256, 64)
    state[f"lstm.bias_ih_{suffix}"] = as_tensor(bias)  # (256,)
    state[f"lstm.bias_hh_{suffix}"] = torch.zeros(4 * config.hidden_size)  # (256,) 不使用
state.update(
    {
        "dense.weight": as_tensor(dense_kernel).T,  # (64, 128)
        "dense.bias": as_tensor(dense_bias),
        "head.weight": as_tensor(head_kernel).T,  # (1, 64)
        "head.bias": as_tensor(head_bias),
    }
)
ported = BiLSTMTwin(config.vocab_size, config.embed_dim, config.hidden_size, config.dense_dim)
ported.load_state_dict(state)
keras_probabilities = as_tensor(keras_model.predict(x_val, verbose=0))  # (行数, 1)
with torch.no_grad():  # 不给长度：与不带掩码的 Keras 一样，读取整行（含前置填充）
    torch_probabilities = torch.sigmoid(ported.eval()(torch.from_numpy(x_val).long()))  # (行数, 1)
torch.testing.assert_close(torch_probabilities, keras_probabilities, atol=1e-5, rtol=1e-4)
print(f"Keras and the twin with Keras's weights agree on all {len(x_val)} validation sentences")

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "254cf12baf74"}
# ## 4 · 手写一个训练循环
#
# PyTorch 把训练循环留给你自己写。一步只有五行：**前向**（forward，得到 logits）、**损失**（loss）、**反向**（backward，填好每个参数的 `.grad`）、**更新**（step，优化器（optimizer）移动权重）以及 **zero_grad**（梯度在多次 `backward` 调用之间会累加，除非清零）。随后的**验证**（validation pass）在不计算梯度、关闭随机失活（`model.eval()`）的情况下运行模型。下面在从训练加载器中一次性取出的几个批次上跑几步：

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "1de619539dc3"}
batches = list(islice(data.train_loader, config.loop_steps))  # 两次运行使用相同的批次
seed_everything(profile.seed)
by_hand = BiLSTMClassifier(len(vocab), config.embed_dim, config.hidden_size, config.dense_dim)
start_state = copy.deepcopy(by_hand.state_dict())  # 让 fit() 从相同的权重出发
by_hand.to(device)
optimizer = torch.optim.Adam(by_hand.parameters(), lr=config.lr)
for ids, lengths, labels in batches:  # ids (batch, time), lengths (batch,), labels (batch,)
    by_hand.train()
    logits = by_hand(ids.to(device), lengths)  # (batch, 1) 前向
    loss = nn.functional.binary_cross_entropy_with_logits(
        logits.squeeze(1), labels.to(device).float()
    )  # () 批次的平均损失
    loss.backward()  # 填好每个参数的 .grad
    optimizer.step()  # Adam 让每个参数沿梯度的反方向移动
    optimizer.zero_grad()  # 为下一个批次清零梯度

by_hand.eval()  # 验证：关闭随机失活，不计算梯度
correct = 0
with torch.no_grad():
    for ids, lengths, labels in data.val_loader:
        logits = by_hand(ids.to(device), lengths)  # (batch, 1)
        correct += ((logits.squeeze(1) > 0).long().cpu() == labels).sum().item()
hand_accuracy = correct / len(data.val_set)
print(f"after {len(batches)} steps by hand: validation accuracy {hand_accuracy:.4f}")

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "53eda07f07d1"}
# `nlpcourse.train.loop.fit` 就是把这个循环写一次并加以测试的版本。从相同的权重出发、在相同的批次上训练（这里的模型没有随机失活，所以不剩任何随机性），它必须得到相同的权重和相同的验证准确率（accuracy）：

# %% slideshow={"slide_type": "-"} zh={"source_sha": "327a38793581"}
tidy = BiLSTMClassifier(len(vocab), config.embed_dim, config.hidden_size, config.dense_dim)
tidy.load_state_dict(start_state)
check = fit(
    tidy,
    batches,
    data.val_loader,
    epochs=1,
    optimizer=torch.optim.Adam(tidy.parameters(), lr=config.lr),
    device=device,
    progress=False,
)
for name, weight in by_hand.state_dict().items():
    torch.testing.assert_close(tidy.state_dict()[name], weight)
assert check.last("val_accuracy") == hand_accuracy
print(f"fit() reaches the same weights after {len(check.steps)} steps, and the same accuracy")

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "6fc91b8742e2"}
# ## 5 · 整洁版的 `fit()`，用多个随机种子
#
# 在这个循环之上，`fit()` 加上了真正训练时需要的东西：一个 `tqdm` 进度条；梯度裁剪（gradient clipping，`grad_clip`：限制梯度的范数，使一个异常的批次无法把权重甩得太远）；每一次优化器更新的日志（`history.steps`：损失、学习率（learning rate）、梯度范数）；以及**在验证部分上早停**：每轮结束后它在验证句子上评分，一旦连续 `patience` 轮没有提升就停止，并恢复最佳一轮的权重。模型加上了随机失活；加载器把长度相近的短语组成批次并打包（分桶与打包：见笔记本 02）。设置 `eval_every` 后，`fit()` 还会在每轮中对验证句子评分八次，这样验证损失就可以和训练损失画在同一坐标轴上。
#
# 一次运行只是一次抽样：它的准确率取决于随机种子（初始权重、批次顺序、随机失活）。因此，同一套做法在相同的训练行上对每个随机种子各训练一次，结果报告为各随机种子上的均值 ± 标准差。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "5bef4ddd7d15"}
seed_rows = config.seed_train_size or len(data.train_set)
order = torch.randperm(len(data.train_set), generator=torch.Generator().manual_seed(profile.seed))
train_rows = order[:seed_rows].tolist()  # 每个随机种子使用相同的训练行
seed_train = EncodedDataset(
    [data.train_set[i][0].tolist() for i in train_rows], data.train_set.labels[train_rows].tolist()
)
runs, val_accuracy, val_predictions, models = {}, {}, {}, {}
for seed in config.seeds:
    seed_everything(seed)
    model = BiLSTMClassifier(
        len(vocab), config.embed_dim, config.hidden_size, config.dense_dim, dropout=config.dropout
    )
    loader = text_loader(seed_train, config.batch_size, "bucket", shuffle=True, seed=seed)
    runs[f"seed {seed}"] = fit(
        model,
        loader,
        data.val_loader,
        epochs=config.epochs,
        optimizer=torch.optim.Adam(model.parameters(), lr=config.lr),
        grad_clip=config.grad_clip,
        patience=config.patience,
        monitor="val_accuracy",
        device=device,
        eval_every=max(1, len(loader) // 8),  # 每轮验证 8 次，用于画曲线
    )
    val_predictions[seed] = predicted_labels(predict(model, data.val_loader)).numpy()  # (行数,)
    val_accuracy[seed] = float((val_predictions[seed] == y_val).mean())
    models[seed] = model
print(
    f"BiLSTM on {seed_rows:,} training rows, validation accuracy {format_mean_sd(list(val_accuracy.values()))}"
)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "99de3ce46d5e"}
# 下图是每个随机种子逐步记录的曲线（20 步的滑动平均，原始值以淡色画在后面）：验证损失（虚线，每轮八个点）与训练损失画在同一坐标轴上，另一幅是裁剪前的梯度范数，并标出 `grad_clip`。该单元格把曲线所显示的内容打印出来：每次运行中几个位置上的训练损失、每轮结束时的验证损失，以及 `grad_clip` 实际裁剪了多少步。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "1e58144616f8"}
figure = plot_runs(runs, keys=("loss", "grad_norm"), smooth=20)
figure.axes[1].axhline(config.grad_clip, color="grey", linestyle=":", label="grad_clip")
legend = figure.axes[1].legend(fontsize=8)
marks = (0.25, 0.5, 1.0, 1.5, 2.0)  # 运行中的位置，以轮为单位
print("training loss, mean of the 20 steps before epoch " + " · ".join(f"{m:g}" for m in marks))
for name, run in runs.items():
    _, losses = run.step_values("loss")
    per_epoch = len(losses) // run.epochs
    means = [np.mean(losses[int(m * per_epoch) - 20 : int(m * per_epoch)]) for m in marks]
    print(f"  {name}: " + " · ".join(f"{value:.3f}" for value in means))
best_seed = max(val_accuracy, key=val_accuracy.get)  # 在验证部分上选出
bilstm = models[best_seed]
for name, run in runs.items():
    _, norms = run.step_values("grad_norm")
    clipped = sum(norm > config.grad_clip for norm in norms)
    train_loss, val_loss = run.history["loss"], run.history["val_loss"]
    trend = (
        "rising while the training loss falls: it has begun to overfit"
        if val_loss[-1] > val_loss[0] and train_loss[-1] < train_loss[0]
        else "still falling"
    )
    print(
        f"{name}: {clipped}/{len(norms)} steps clipped; validation loss at the end of each "
        f"epoch {' → '.join(f'{v:.3f}' for v in val_loss)} ({trend}); kept epoch "
        f"{run.best_epoch + 1}, validation accuracy {run.history['val_accuracy'][run.best_epoch]:.4f}"
    )
assert min(val_accuracy.values()) >= 0.70, "a BiLSTM run is far below the expected accuracy"

# %% [markdown] slideshow={"slide_type": "fragment"} zh={"source_sha": "1fc986ca61b7"}
# 对照打印的数字来读：每个随机种子的训练损失在第一轮中稳步下降（种子 0：四分之一处为 0.654，第一轮结束时为 0.389），然后趋于平缓（第二轮一半处为 0.307，结束时为 0.288）。验证损失只在第一轮中跟着下降，到第一轮结束时降到 0.5 左右（0.511、0.502、0.536），之后便停在那里，而训练损失还在继续下降：模型在第二轮学到的东西主要与训练短语本身有关，迁移不到新句子上。这就是过拟合（overfitting）的开端；对于种子 1，验证损失甚至上升了，0.502 → 0.514。在每次运行中，裁剪都只作用于 626 步中的 1 步。

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "05d67329c574"}
# **训练好的单元如何处理一个句子。** 取选中模型的前向 LSTM，按上面的公式在开头那个句子上逐个词元地运行：对它 64 个单元中的每一个（行，按平均遗忘门值排序）和每个词元（列），画出遗忘门 $f_t$、写入记忆的内容（$i_t \odot g_t$）以及单元状态 $c_t$。它们下方是整个模型对句子每个前缀（第一个词、前两个词……）给出“正面”的概率。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "227713c95c63"}
words = regex_tokenize(sentence)
ids = torch.tensor([vocab.encode(words)])  # (1, time)
p = dict(bilstm.lstm.named_parameters())
bias = p["bias_ih_l0"] + p["bias_hh_l0"]  # (256,)
forget, written, memory = [], [], []
with torch.no_grad():
    embedded = bilstm.embedding(ids.to(device))  # (1, time, 64)
    h_t = c_t = embedded.new_zeros(1, config.hidden_size)  # 各为 (1, 64)
    for t in range(ids.shape[1]):
        gates = embedded[:, t] @ p["weight_ih_l0"].T + h_t @ p["weight_hh_l0"].T + bias
        i_t, f_t, g_t, _ = gates.chunk(4, dim=-1)  # 各为 (1, 64)，尚未经过激活函数
        forget.append(torch.sigmoid(f_t)[0])  # (64,)
        written.append((torch.sigmoid(i_t) * torch.tanh(g_t))[0])  # (64,) 加进记忆的内容
        h_t, c_t = lstm_cell(embedded[:, t], h_t, c_t, p["weight_ih_l0"], p["weight_hh_l0"], bias)
        memory.append(c_t[0])  # (64,)
    prefixes = ids.repeat(ids.shape[1], 1)  # (time, time)：第 k 行是前 k + 1 个词元
    prefix_lengths = torch.arange(1, ids.shape[1] + 1)  # (time,)
    prefixes[torch.arange(ids.shape[1])[None, :] >= prefix_lengths[:, None]] = vocab.pad_id
    prefix_probability = (
        torch.sigmoid(bilstm.eval()(prefixes.to(device), prefix_lengths)).squeeze(1).cpu()
    )  # (time,)
forget, written, memory = (torch.stack(x, dim=1).cpu() for x in (forget, written, memory))
order = forget.mean(dim=1).argsort(descending=True)  # (64,) 保留最多的单元排在最上面
gate_figure = plot_gate_heatmaps(
    {
        "forget $f_t$": forget[order],
        "written $i_t g_t$": written[order],
        "cell $c_t$": memory[order],
    },
    words,
    probability=prefix_probability.tolist(),
)
keepers = int((forget.min(dim=1).values > 0.9).sum())
forgetters = int((forget.min(dim=1).values < 0.5).sum())
jump = int(prefix_probability.diff().abs().argmax()) + 1  # 使 P 变化最大的词元
print(f"units whose forget gate stays above 0.9 on every token: {keepers} of {config.hidden_size}")
print(
    f"units whose forget gate drops below 0.5 at some token: {forgetters} of {config.hidden_size}"
)
print(
    f"the largest change of P(positive | prefix) comes with {words[jump]!r}: "
    f"{prefix_probability[jump - 1]:.2f} → {prefix_probability[jump]:.2f}"
)
unit_means = forget.mean(dim=1)  # (64,) 每个单元的遗忘门在整句上的平均值
swing = forget.max(dim=1).values - forget.min(dim=1).values  # (64,) 每个单元在各词元间的变化幅度
grew = memory.abs().diff(dim=1) > 0  # (64, time - 1) |c_t| 比前一个词元时更大
same_sign = memory[:, 1:].sign() == memory[:, :-1].sign()  # (64, time - 1)
growing = grew & same_sign  # (64, time - 1)
run = longest = torch.zeros(config.hidden_size)  # 各为 (64,)
for step in growing.T:  # (64,) 每个词元：|c_t| 是否在保持符号的同时增大？
    run = (run + 1) * step  # (64,) 每个单元当前连续增长的长度
    longest = torch.maximum(longest, run)  # (64,)
print(
    f"forget gate: mean over all units and tokens {forget.mean():.2f}; per-unit means from "
    f"{unit_means.min():.2f} to {unit_means.max():.2f} (sd {unit_means.std():.2f}); "
    f"median swing of one unit over the sentence {swing.median():.2f}"
)
print(
    f"units whose cell value |c_t| grows (keeping its sign) at >= 3 consecutive tokens: "
    f"{int((longest >= 3).sum())} of {config.hidden_size}; longest streak {int(longest.max())} tokens"
)

# %% [markdown] slideshow={"slide_type": "fragment"} zh={"source_sha": "bf6503d79d1c"}
# 这些调光旋钮并不是统一停在 0.5 附近的同一个设定，尽管它们在所有单元和词元上的平均值是 0.52：每个单元在整个句子上的平均遗忘门值分布在 0.27 到 0.75 之间（各单元之间的标准差为 0.12），而在一个单元内部，遗忘门从最低的词元到最高的词元要摆动 0.75（取中位数的那个单元）。64 个单元中没有一个在整个句子上保持遗忘门高于 0.9，而全部 64 个单元都会在某个词元处降到 0.5 以下（见打印的计数），所以没有哪个单元能把记忆原封不动地从第一个词带到最后一个词：单元状态的每一行都是一份持续变化的混合，每个词元都会对它重新缩放并往里添加内容。有些行会在若干个词上逐步积累出一个值：64 行中有 23 行的 $|c_t|$ 在连续 3 个或更多词元上（保持符号不变地）增大，最长连续 6 个词元。整个模型的判断在 "flat" 处变化最大（P(positive) 从 1.00 变为 0.79）。

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "054f0cd1075f"}
# ## 6 · 神经网络能胜过数词吗？
#
# 文章开头断言，基于神经网络的端到端模型已经取代了统计方法。最经典的统计文本分类器是 **TF-IDF + 逻辑回归**：每段文本变成一个稀疏向量，每个词和每个词对各占一个权重（当该 n-gram 在这段文本中频繁、而在所有文本中罕见时，权重就高），线性模型为每个 n-gram 学习一个系数。在 scikit-learn 中它只需三行；这里它在与 BiLSTM 相同的行上训练，并且课程包中的 `tfidf_logreg`（后面的笔记本会用到）必须预测出相同的标签。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "3b030be586c2"}
train_texts = [data.train_texts[i] for i in train_rows]  # BiLSTM 各随机种子的训练行
train_labels = data.train_set.labels[train_rows].tolist()
vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
classifier = LogisticRegression(max_iter=1_000, random_state=profile.seed)
classifier.fit(vectorizer.fit_transform(train_texts), train_labels)  # (行数, n-gram 数) 稀疏矩阵
baseline_val = classifier.predict(vectorizer.transform(data.val_texts))  # (验证行数,)

baseline = tfidf_logreg(train_texts, train_labels, seed=profile.seed)  # 课程包中的孪生实现
assert (baseline.predict(data.val_texts) == baseline_val).all()
assert baseline.parameters == classifier.coef_.size + classifier.intercept_.size
print(f"TF-IDF + logistic regression: {baseline.parameters:,} weights")
print(f"validation accuracy {bootstrap_accuracy(y_val, baseline_val)} (95% bootstrap)")

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "6fd37deb6cd8"}
# **436 个句子能检测出什么。** 在相同句子上比较的两个分类器，只在意见不一致的地方有差别：在每个这样的句子上，一个对、另一个错。如果它们在 $n$ 个句子中比例为 $d$ 的那部分上意见不一致，那么它们准确率之差的标准误约为 $\sqrt{d/n}$，因此 95% 区间会向测得差值的两侧各延伸约 $1.96\sqrt{d/n}$：这就是它的半宽，也就是下面单元格打印的 ±（`nlpcourse.evaluate.stats.detectable_difference`）。比这个半宽更小的真实差异，通常会被读成“没有可测量的差异”。下面的**配对自助法**（paired bootstrap）对验证句子重采样，并在每次重采样上给两个模型评分；每个 BiLSTM 随机种子都有自己的区间（基线是确定性的，BiLSTM 则不是）。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "8bce4aa85a5e"}
typical = detectable_difference(len(y_val), 0.2)
print(
    f"{len(y_val)} sentences, two models disagreeing on 20 % of them: "
    f"a difference is detectable from about ±{typical:.1%}"
)
print(
    f"\n{'BiLSTM minus TF-IDF':<20} {'[95% paired bootstrap]':>31} {'disagree':>9} {'detectable':>11}"
)
differences, detectable = {}, {}
for seed in config.seeds:
    differences[seed] = paired_bootstrap(y_val, val_predictions[seed], baseline_val)
    disagree = disagreement_rate(val_predictions[seed], baseline_val)
    detectable[seed] = detectable_difference(len(y_val), disagree)
    print(
        f"{f'seed {seed}':<20} {differences[seed]!s:>31} {disagree:>9.1%} {detectable[seed]:>10.1%}"
    )
above = all(interval.low > 0 for interval in differences.values())
below = all(interval.high < 0 for interval in differences.values())
print(
    "Every seed's interval lies above zero: the BiLSTM is measurably better at this budget."
    if above
    else "Every seed's interval lies below zero: the baseline is measurably better at this budget."
    if below
    else "The intervals do not all exclude zero: no difference measurable at this budget "
    f"(this evaluation detects differences of about ±{max(detectable.values()):.1%} or more)."
)

# %% [markdown] slideshow={"slide_type": "notes"} zh={"source_sha": "2abf8fd11226"}
# SST-2 的训练集（training set）由短语组成，其中许多只有几个词长，而验证部分只有几百个完整的句子，因此区间有好几个百分点宽。文章的论断针对的是大规模数据和更难的任务；在这个预算下，打印出的结论就是数据所能支持的结论。`full` 配置档（profile）在每一条训练短语上训练，但它的验证部分仍是同样的 436 个句子，所以检测不出更小的差异。

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "f6ff4064945b"}
# ## 7 · 测试部分，只评一次
#
# 到目前为止，每一个选择都是在验证部分上做出的：轮数（早停）、随机种子，以及现在的模型类别——选中的 BiLSTM 和 TF-IDF 基线中，谁在验证部分上得分更高就选谁。只有这个模型在测试句子上评分，并且只评一次。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "cb069f0dec2c"}
baseline_accuracy = float((baseline_val == y_val).mean())
y_test = data.test_set.labels.numpy()
if val_accuracy[best_seed] >= baseline_accuracy:
    chosen = f"BiLSTM (seed {best_seed})"
    test_pred = predicted_labels(predict(bilstm, data.test_loader)).numpy()  # (测试行数,)
else:
    chosen = "TF-IDF + logistic regression"
    test_pred = baseline.predict(data.test_texts)  # (测试行数,)
print(f"chosen on validation: {chosen}")
print(
    f"test accuracy (scored once): {bootstrap_accuracy(y_test, test_pred)} over {len(y_test)} sentences"
)

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "82cdf7233373"}
# ## 8 · 保存、重新加载、预测
#
# 一个训练好的模型是两个文件：以 **safetensors** 格式保存的权重（一种普通的张量文件，与 pickle 不同，加载时不会执行代码），以及以 JSON 保存的词表（没有词表，权重就毫无用处：一个 id 离开了它对应的词就没有意义）。它们保存在 `runs/01_keras_bilstm/` 中，这个目录被 git 忽略；后面的笔记本会从那里重新加载它们。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "4d4f4a21736d"}
folder = run_dir("01_keras_bilstm")
save_file(bilstm.state_dict(), folder / "bilstm.safetensors")
vocab.save(folder / "vocab.json")
reloaded_vocab = Vocabulary.load(folder / "vocab.json")
reloaded = BiLSTMClassifier(
    len(reloaded_vocab), config.embed_dim, config.hidden_size, config.dense_dim
)
reloaded.load_state_dict(load_file(folder / "bilstm.safetensors"))
reloaded.eval()
reviews = [
    "a gripping , beautifully acted film .",
    "the plot is thin and the jokes fall flat .",
    "not as good as the first one , but still fun .",
]
ids, lengths = pad_sequences(numericalize(reviews, reloaded_vocab), reloaded_vocab.pad_id)
with torch.no_grad():
    probabilities = torch.sigmoid(reloaded(ids, lengths)).squeeze(1)  # (3,)
    torch.testing.assert_close(
        probabilities, torch.sigmoid(bilstm.cpu().eval()(ids, lengths)).squeeze(1)
    )
for review, p in zip(reviews, probabilities.tolist(), strict=True):
    print(f"{p:5.2f}  {'positive' if p > 0.5 else 'negative'}  {review}")

# %% [markdown] slideshow={"slide_type": "notes"} zh={"source_sha": "d64cd5d0abc6"}
# **`full` 配置档。** 设置 `NLPCOURSE_PROFILE=full` 后，同样的单元格会让 Keras 在全部训练数据上训练三轮，并让 BiLSTM 用五个随机种子在每一条训练短语上训练最多五轮（在 GPU 上，两个框架都使用 cuDNN 的 LSTM）。本版本还没有做过这次运行，所以这里不给出它的任何数字。

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "a4f3bf71fbff"}
# ## 练习
#
# **1.** 把 `LSTM(64)` 换成 `LSTM(32)`（嵌入仍然是 64 维）。这时 Keras 中的 `Bidirectional` 层有多少个参数？PyTorch 中双向的 `nn.LSTM` 又有多少个？先用公式算出来，再用代码检验。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "734bbf617bd0"}
from nlpcourse.exercises.ch01 import (
    check_frozen_trainable,
    check_gru_cell,
    check_lstm_parameters,
    check_padding_invariant,
)

keras_count, torch_count = None, None  # 你的答案
check_lstm_parameters(keras_count, torch_count)

# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"] zh={"source_sha": "146f0a10882e"}
small = keras.layers.Bidirectional(keras.layers.LSTM(32))
small.build((None, config.max_len, 64))
keras_count = small.count_params()
torch_count = count_parameters(nn.LSTM(64, 32, bidirectional=True))
assert check_lstm_parameters(keras_count, torch_count)
print("solution 1 passes")

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "7a6165cf219e"}
# **2.** 数据很少时，一个常用的技巧是冻结嵌入层（只训练其余部分）。用本笔记本中的尺寸新建一个 `BiLSTMClassifier`，冻结（freeze）它的嵌入层，然后数一数仍然参与训练的参数有多少个。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "6b333bcafed1"}
trainable = None  # 你的答案
check_frozen_trainable(trainable)

# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"] zh={"source_sha": "31f20cb3cb98"}
frozen = BiLSTMClassifier(len(vocab), config.embed_dim, config.hidden_size, config.dense_dim)
frozen.embedding.weight.requires_grad_(False)
trainable = count_parameters(frozen, trainable_only=True)
assert check_frozen_trainable(trainable)
print("solution 2 passes")

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "bd950fbb6bbb"}
# **3.** 打包和 Keras 的掩码都需要知道填充在哪里。写一个*自身*就不受填充影响的小型 PyTorch 分类器：`model(ids)` 只接收 `(batch, time)` 形状的 id，其中 0 表示填充，可能在前面也可能在后面，每行返回一个 logit。提示：先嵌入词元，只对真实词元的嵌入求平均，再接一个线性层。检查函数会用几种方式填充随机句子，并比较输出。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "0904f9fa96c2"}
my_model = None  # 你的 nn.Module 的一个实例，例如 MyClassifier(vocab_size=100)
check_padding_invariant(my_model, vocab_size=100)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"] zh={"source_sha": "ecf943d4a6f5"}
class MaskedMean(nn.Module):
    def __init__(self, vocab_size, embed_dim=16):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.head = nn.Linear(embed_dim, 1)

    def forward(self, ids):
        real = (ids != 0).unsqueeze(-1).float()  # (batch, time, 1)：词元为 1，填充为 0
        summed = (self.embedding(ids) * real).sum(dim=1)  # (batch, embed_dim)
        return self.head(summed / real.sum(dim=1).clamp(min=1))  # (batch, 1)


assert check_padding_invariant(MaskedMean(100), vocab_size=100)
print("solution 3 passes")


# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "d09e89cdedcb"}
# **4.** GRU 是 LSTM 更轻量的近亲：没有单独的单元状态，门也从三个减为两个。PyTorch 的 `nn.GRUCell` 按重置门 $r$、更新门 $z$、新内容 $n$ 的顺序堆叠权重，计算
#
# $$
# \begin{aligned}
# r &= \sigma(W_r x + b_{ir} + U_r h + b_{hr}), \qquad z = \sigma(W_z x + b_{iz} + U_z h + b_{hz})\\
# n &= \tanh\big(W_n x + b_{in} + r \odot (U_n h + b_{hn})\big), \qquad h' = (1 - z) \odot n + z \odot h
# \end{aligned}
# $$
#
# 为形状为 `(batch, input)` 的 `x` 和形状为 `(batch, hidden)` 的 `h` 写出 `gru_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh)`，四个张量按 `nn.GRUCell` 的存储方式给出（`weight_ih`：`(3·hidden, input)`，……）。检查函数会把它与 `nn.GRUCell` 比较。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "ee6ac7f522a6"}
gru_cell = None  # 你的函数
check_gru_cell(gru_cell)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"] zh={"source_sha": "37115a882e47"}
def gru_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    r_x, z_x, n_x = (x @ weight_ih.T + bias_ih).chunk(3, dim=-1)  # 各为 (batch, hidden)
    r_h, z_h, n_h = (h @ weight_hh.T + bias_hh).chunk(3, dim=-1)  # 各为 (batch, hidden)
    r, z = torch.sigmoid(r_x + r_h), torch.sigmoid(z_x + z_h)  # 各为 (batch, hidden)
    return (1 - z) * torch.tanh(n_x + r * n_h) + z * h  # (batch, hidden)


assert check_gru_cell(gru_cell)
print("solution 4 passes")

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "f25d9eea72e5"}
# # 深入探索
#
# 两个旁支话题，后面的笔记本用不到：让文章中的两个框架在相同批次上比一比，以及文章所说的“静态图”在今天的 PyTorch 中是什么样子。
#
# ## A · Keras 与 PyTorch 并排比较
#
# 公平的比赛需要相同的输入：孪生模型**正好在 Keras 用过的那些行上**训练，填充到相同的固定长度、不打包，批大小（batch size）、轮数和 Adam 学习率都相同，权重的初始化方式也与 Keras 一致（嵌入取均匀分布，输入核用 Glorot 初始化，循环核用正交初始化，偏置全部为零，只有遗忘门的偏置为 1）。


# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "9a25212a7137"}
def init_like_keras(model):
    """Draw the twin's weights the way Keras's layers draw theirs."""
    hidden = model.lstm.hidden_size
    with torch.no_grad():
        nn.init.uniform_(model.embedding.weight, -0.05, 0.05)  # (vocab, 64)
        for name, weight in model.lstm.named_parameters():
            if name.startswith("weight_ih"):
                nn.init.xavier_uniform_(weight)  # (4 * hidden, 64)，Glorot
            elif name.startswith("weight_hh"):
                nn.init.orthogonal_(weight)  # (4 * hidden, hidden)
            else:
                weight.zero_()  # (4 * hidden,)
                if name.startswith("bias_ih"):
                    weight[hidden : 2 * hidden] = 1.0  # 遗忘门对应的切片（顺序为 i, f, g, o）
        for layer in (model.dense, model.head):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
    return model


fixed_train = DataLoader(
    TensorDataset(torch.from_numpy(x_train).long(), torch.from_numpy(y_train).long()),
    batch_size=config.batch_size,
    shuffle=True,
    generator=torch.Generator().manual_seed(profile.seed),
)  # 批次 (ids (batch, max_len), labels (batch,))
fixed_val = DataLoader(
    TensorDataset(torch.from_numpy(x_val).long(), torch.from_numpy(y_val).long()), batch_size=256
)
seed_everything(profile.seed)
same_inputs = init_like_keras(
    BiLSTMTwin(config.vocab_size, config.embed_dim, config.hidden_size, config.dense_dim)
)
same_inputs_history = fit(
    same_inputs,
    fixed_train,
    fixed_val,
    epochs=config.keras_epochs,
    optimizer=torch.optim.Adam(same_inputs.parameters()),  # Keras 的默认值：lr 1e-3
    device=device,
)
same_inputs_val = predicted_labels(predict(same_inputs, fixed_val)).numpy()  # (行数,)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "e72bf05d925f"}
# **相同批次上的速度。** 先一次性取出几个固定长度的训练批次；每个框架先预热一遍，然后在这些批次上训练相同的次数（用的是模型的副本，上面的模型保持不变），报告中位数。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "48a8242114d0"}
bench = list(islice(fixed_train, config.bench_batches))  # [(ids (batch, max_len), labels (batch,))]
keras_copy = articles_model()
keras_copy.set_weights(keras_model.get_weights())
keras_copy.compile(optimizer="adam", loss="binary_crossentropy")
bench_numpy = [(ids.numpy(), labels.numpy().astype("float32")) for ids, labels in bench]
torch_copy = copy.deepcopy(same_inputs).to(device).train()
torch_optimizer = torch.optim.Adam(torch_copy.parameters())


def keras_pass():
    for ids, labels in bench_numpy:
        keras_copy.train_on_batch(ids, labels)


def torch_pass():
    for ids, labels in bench:
        loss = nn.functional.binary_cross_entropy_with_logits(
            torch_copy(ids.to(device)).squeeze(1), labels.to(device).float()
        )  # ()
        loss.backward()
        torch_optimizer.step()
        torch_optimizer.zero_grad()


bench_samples = sum(len(labels) for _, labels in bench)
keras_speed = bench_samples / median_seconds(keras_pass, repeats=config.bench_repeats)
torch_speed = bench_samples / median_seconds(torch_pass, repeats=config.bench_repeats)
print(f"training samples/s on the same {len(bench)} batches of length {config.max_len}:")
print(
    f"  Keras 3 (torch backend) {keras_speed:,.0f} · PyTorch {torch_speed:,.0f} · ratio {torch_speed / keras_speed:.1f}×"
)

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "f1c0ab431421"}
table = [
    ("Keras 3, the article's model", keras_params, keras_speed, keras_val_pred),
    (
        "PyTorch twin, same inputs and init",
        count_parameters(same_inputs),
        torch_speed,
        same_inputs_val,
    ),
]
print(f"{'model':<38} {'parameters':>10} {'train samples/s':>16}  validation accuracy [95% CI]")
for name, params, speed, predictions in table:
    print(f"{name:<38} {params:>10,} {speed:>16,.0f}  {bootstrap_accuracy(y_val, predictions)}")
framework_gap = paired_bootstrap(y_val, same_inputs_val, keras_val_pred)
framework_detectable = detectable_difference(
    len(y_val), disagreement_rate(same_inputs_val, keras_val_pred)
)
print(f"\nPyTorch twin minus Keras, same inputs: {framework_gap} (95% paired bootstrap)")
print(
    "The frameworks differ measurably in accuracy here."
    if framework_gap.excludes_zero()
    else "No accuracy difference between the frameworks is measurable at this budget "
    f"(detectable from about ±{framework_detectable:.1%})."
)

# %% [markdown] slideshow={"slide_type": "notes"} zh={"source_sha": "24e38632dc6f"}
# 表中的两行看到的输入完全相同，所以打印出的速度之比就是两个框架在这颗 CPU 上的速度之比（在 torch 后端上，Keras 的 LSTM 用 Python 逐个时间步地循环，而 `nn.LSTM` 运行一个融合内核）。它们准确率的差异是在一个样本上训练一轮之后得到的 −0.0138，混杂了框架的影响和单个随机种子的运气，而它的配对区间 [−0.0459, +0.0183] 包含零：在这个预算下测不出差异（约 ±3.3 % 以上的差异才能检测出来）。课程自己的做法（§5）还加上了多随机种子运行所用的训练数据、随机失活、打包和早停。

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "c5f246917319"}
# ## B · 静态图与即时执行
#
# 文章称赞 TensorFlow 2 两种方式都提供：*即时*执行（eager execution：Python 执行到哪个操作就运行哪个，便于调试）和*静态图*（static graph：预先捕获整个计算，可以被优化、保存，并在没有 Python 的环境中提供服务——也就是文章所说的适合工业场景的部署）。PyTorch 默认即时执行，并提供两种捕获工具：
#
# * `torch.compile(model)` 在模型第一次被调用时追踪它，并为它生成融合的代码（在 CPU 上是 C++，在 GPU 上是 Triton）：用于在 Python 程序内部**提速**。第一次调用要付出编译的代价，在两个 CPU 核上这会占去本笔记本时间预算的很大一部分，所以这里不运行它。
# * `torch.export.export(model, example_inputs)` 预先捕获一张由 ATen 操作组成的图，其中不再有 Python：用于**部署**（用 `torch.export.save` 保存，在服务器中加载，或者由 AOTInductor 或 ExecuTorch 进一步编译）。捕获的开销很小，而让 Python 程序变快并不是它的目的：下面的单元格测量它要付出什么。
#
# Keras 也有同样的开关：`model.compile(..., jit_compile=True)`。在 torch 后端上，它意味着对训练步骤做 `torch.compile`；默认值 `"auto"` 在那里保持即时执行。
#
# 这里导出需要固定形状的输入，所以模型读取的是填充到固定长度、不打包的验证批次（长度会带来依赖于数据的控制流）。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "72c077b96d2c"}
eager = BiLSTMClassifier(
    len(vocab), config.embed_dim, config.hidden_size, config.dense_dim, packed=False
)
eager.load_state_dict(bilstm.state_dict())
eager.to(device).eval()
infer = [b.to(device) for b in torch.from_numpy(x_val).long().split(config.batch_size)]
infer = [b for b in infer if len(b) == config.batch_size][
    : config.bench_batches
]  # 各为 (batch, max_len)
start = time.perf_counter()
with warnings.catch_warnings():  # nn.LSTM 的扁平权重缓存不是这里要讲的内容
    warnings.filterwarnings("ignore", message="The tensor attributes", category=UserWarning)
    exported = torch.export.export(eager, (infer[0],))
export_seconds = time.perf_counter() - start
program = exported.module()
with torch.inference_mode():
    for ids in infer:
        torch.testing.assert_close(program(ids), eager(ids))  # (batch, 1) 相同的 logits


@torch.inference_mode()
def run_all(model):
    for ids in infer:
        model(ids)


infer_samples = sum(len(ids) for ids in infer)
eager_speed = infer_samples / median_seconds(lambda: run_all(eager), repeats=config.bench_repeats)
export_speed = infer_samples / median_seconds(
    lambda: run_all(program), repeats=config.bench_repeats
)
print(f"export took {export_seconds:.1f} s; the exported program gives the same logits")
print(
    f"inference samples/s on the same {len(infer)} batches: eager {eager_speed:,.0f} · exported {export_speed:,.0f} · ratio {export_speed / eager_speed:.2f}×"
)
print(exported.graph_signature.user_inputs, "→", len(exported.graph.nodes), "graph nodes")

# %% slideshow={"slide_type": "skip"} zh={"source_sha": "791d122c1d72"}
print(f"this notebook ran for {time.perf_counter() - notebook_start:.0f} s up to here")
