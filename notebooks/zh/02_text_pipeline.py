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

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "36eca16c7fd6"}
# # 02 · 从 CSV 到填充好的批次：逐个拆解文本处理流水线
#
# 笔记本 01 调用 `sst2_loaders` 就拿到了批次（batch）。本笔记本打开这个黑箱，把其中每一部分都公开写出来：词表（vocabulary）、整理函数（collate function）、按长度分桶（bucketing）的采样器。文章中的 PyTorch 示例用 **torchtext** 完成这些预处理：为文本列用 `tokenize='spacy', lower=True` 构建一个 `Field`，为标签（label）用 `sequential=False, use_vocab=False` 构建第二个 `Field`，再用 `TabularDataset(path=…, format='csv', fields=…)` 通过这些字段读取 CSV 文件。

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "ffa20c1336a9"}
# **有什么变化。** 这些类在 torchtext 0.9 中被移到了 `torchtext.legacy`，在 0.12（2022 年）中被删除；torchtext 在 2024 年停止了开发。过去由一个 `Field` 打包完成的各项工作，如今交给各自独立、更简单的工具，而且每一项的效果都可以测量：
#
# | torchtext（已不存在） | 作用 | 如今，在本笔记本中 |
# |---|---|---|
# | `TabularDataset(path, format='csv', fields=…)` | 读取 CSV | `datasets.load_dataset("csv", …)`，然后 `.map` |
# | `Field(tokenize='spacy', lower=True)` | 分词、转小写 | 一个正则表达式分词器（tokenizer）；一个用 `tokenizers` 训练的子词分词器 |
# | `TEXT.build_vocab(…, max_size, min_freq)` | 词元（token）→ id 的对照表 | 一个计数器加一次排序（§3） |
# | `Field(sequential=False, use_vocab=False)` | 标签保持原样 | 一个整数类型的 `ClassLabel` 列 |
# | `BucketIterator`, `include_lengths=True` | 填充（padding）批次、按长度分组、给出长度 | 一个 `collate_fn`（§4）、一个分桶采样器（§5）、`pack_padded_sequence`（§6） |
#
# 文章中的一个复制粘贴陷阱：它的 CSV 有表头行，而 `TabularDataset` 需要设置 `skip_header=True`，否则表头就成了一个训练样本。`load_dataset("csv")` 则把表头读作列名。

# %% slideshow={"slide_type": "skip"} zh={"source_sha": "cd97c651a7cb"}
from collections import Counter
from functools import partial
from itertools import islice

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from datasets import ClassLabel, disable_progress_bars, load_dataset
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from nlpcourse.config import get_device, get_profile, seed_everything
from nlpcourse.data.datasets import load_sst2
from nlpcourse.data.runs import run_dir
from nlpcourse.data.splits import sst2_subset
from nlpcourse.evaluate.stats import min_detectable_difference, paired_bootstrap
from nlpcourse.evaluate.timing import median_seconds
from nlpcourse.models.bilstm import BiLSTMClassifier
from nlpcourse.plots.batching import draw_padded_and_packed, plot_length_histograms
from nlpcourse.text.batching import (
    BucketBatchSampler,
    EncodedDataset,
    PadCollate,
    encode_tokens,
    text_loader,
)
from nlpcourse.text.tokenize import regex_tokenize, subword_tokenizer_fn, train_subword_tokenizer
from nlpcourse.text.vocab import Vocabulary
from nlpcourse.train.loop import fit, predict, predicted_labels

profile = get_profile()
seed_everything(profile.seed)
config = profile.bilstm
device = get_device()
torch.set_num_threads(1)  # 下面的所有计时都在一个 CPU 线程上运行
disable_progress_bars()  # 不显示 datasets 的 'Map: 0%' 进度条
print(f"profile {profile.name!r}, device {device}")

try:
    from torchtext.data import Field, TabularDataset  # noqa: F401 - 文章中的导入语句
except ImportError as error:
    print(f"the article's import fails today: {type(error).__name__}: {error}")

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "6e4d5ae32c6f"}
# ## 1 · 用 `datasets` 读取 CSV（担任 `TabularDataset` 的角色）
#
# 为了得到一个像文章中 `train.csv` 那样的 CSV，我们把当前配置档（profile）下 SST-2 数据集（dataset）的训练短语和验证句子写到 `runs/02_text_pipeline/`（被 git 忽略）。课程留出的**测试**句子不写出来：本笔记本中没有任何东西在它们上面评分。`load_dataset("csv", …)` 解析这些文件，把它们以 Arrow 表的形式存到磁盘上（内存映射，所以大文件不会占满内存），并返回一个 `DatasetDict`。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "c484f7f43b10"}
sst2 = sst2_subset(profile)  # 与笔记本 01 相同的行（来自本地目录或 hub）
folder = run_dir("02_text_pipeline")
files = {}
for split in ("train", "validation"):
    files[split] = str(folder / f"sst2_{split}.csv")
    part = sst2[split]
    pd.DataFrame({"text": part["text"], "label": part["label"]}).to_csv(files[split], index=False)
print((folder / "sst2_validation.csv").read_text()[:160])

csv_data = load_dataset("csv", data_files=files, cache_dir=str(folder / "datasets-cache"))
csv_data = csv_data.cast_column("label", ClassLabel(names=["negative", "positive"]))
print(csv_data)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "40c455399e74"}
# `Dataset` 是一张表，而且始终是一张表：`.map` 对一批批的行运行一个函数，把新列存放在旧列旁边（缓存在磁盘上，所以第二次运行瞬间完成）。这就是 `Field` 的分词步骤，只不过它作为一列保留了下来，而不是藏在一个对象里。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "523d588d9a01"}
csv_data = csv_data.map(
    lambda rows: {"tokens": [regex_tokenize(text) for text in rows["text"]]}, batched=True
)
print(csv_data["train"].features)
print(csv_data["train"][0])

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "99acbb139c4b"}
# **从 hub 获取同样的数据。** 有网络连接时，一行代码就能从 Hugging Face hub 获取 SST-2：`load_dataset("stanfordnlp/sst2")`（列为 `idx`、`sentence`、`label`）。本课程经常离线运行，所以这个单元格会直接说明发生了什么；其他所有地方使用的 `nlpcourse.data.datasets.load_sst2()` 先尝试本地数据目录，再尝试 hub，并把列重命名为 `text` 和 `label`。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "9b8032254f3c"}
try:
    hub_data = load_dataset("stanfordnlp/sst2")
    print(hub_data)
except Exception as error:  # 这里处于离线状态：HF_HUB_OFFLINE=1 或没有网络
    print(f"the hub is not reachable from here ({type(error).__name__}):")
    print("   ", str(error).splitlines()[0])
local = load_sst2(["validation"])
print("load_sst2() found it anyway:", local)

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "f4dce307a99b"}
# ## 2 · 分词
#
# 文章让 spaCy 来分词。SST-2 的文本已经按照 spaCy 的方式切分好了（`"it 's"`、`"does n't"`，标点单独分开），所以在这里，一个把文本转为小写、并把词、缩写的各个部分和标点分开的正则表达式就能完成同样的工作，而不必安装 spaCy 及其英文模型。它对原始文本也按同样的方式切分，所以手工输入的评论得到的正是词表认识的词元：

# %% keep_output=true slideshow={"slide_type": "-"} zh={"source_sha": "257608416de3"}
# NBVAL_CHECK_OUTPUT
sentence = "It's not a great film, but the actors don't waste a minute."
print(regex_tokenize(sentence))
assert regex_tokenize(sentence) == regex_tokenize(
    "it 's not a great film , but the actors do n't waste a minute ."
)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "ef790f742bf9"}
# 词级词表有一个盲点：它从没见过的词会变成 `<unk>`。**子词**（subword）分词器让高频词保持完整，把其他词切成已知的片段（接在词中间的片段以 `##` 开头），这正是 BERT 的 WordPiece 背后的思路（笔记本 03）。`tokenizers` 库几秒钟就能在我们的训练文本上训练出一个：

# %% slideshow={"slide_type": "-"} zh={"source_sha": "463316a10d9d"}
wordpiece = train_subword_tokenizer(csv_data["train"]["text"], vocab_size=config.subword_vocab_size)
subword_tokenize = subword_tokenizer_fn(wordpiece)
print(f"WordPiece vocabulary of {wordpiece.get_vocab_size():,}")
print(subword_tokenize(sentence))
print(subword_tokenize("an unwatchably overlong rewatchability mess"))

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "0ea3cc060054"}
# 哪种分词器适合这份数据？在验证句子上看三个数：每种分词器的词表需要多少个条目，验证集中的词元有多大比例是未知的，以及序列（sequence）会变得多长（LSTM 的计算量随长度增长）。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "a7b053d37431"}
word_tokens = {split: list(part["tokens"]) for split, part in csv_data.items()}
piece_validation = [subword_tokenize(text) for text in csv_data["validation"]["text"]]
word_capped = Vocabulary.build(word_tokens["train"], max_size=config.vocab_size)
word_all = Vocabulary.build(word_tokens["train"])
piece_vocab = Vocabulary(
    [t for t, _ in sorted(wordpiece.get_vocab().items(), key=lambda item: item[1])][2:]
)  # WordPiece 的 id，与分词器中一样 <pad>=0、<unk>=1


def describe(name, vocab, token_lists):
    lengths = np.array([len(tokens) for tokens in token_lists])
    return name, len(vocab), vocab.unknown_rate(token_lists), lengths.mean()


rows = [
    describe(f"regex, {config.vocab_size:,} most frequent", word_capped, word_tokens["validation"]),
    describe("regex, every training word", word_all, word_tokens["validation"]),
    describe("WordPiece (subword)", piece_vocab, piece_validation),
]
print(f"{'tokenizer':<30} {'vocab':>7} {'unknown':>8} {'mean len':>9}")
for name, size, unknown, mean in rows:
    print(f"{name:<30} {size:>7,} {unknown:>8.2%} {mean:>9.1f}")
(_, capped, capped_unk, word_len), (_, every, every_unk, _), (_, pieces, piece_unk, piece_len) = (
    rows
)
print(
    f"\n{capped:,} word ids leave {capped_unk:.1%} of validation tokens unknown; every training "
    f"word ({every:,} ids) still leaves {every_unk:.1%} (new sentences bring new words). "
    f"WordPiece's {pieces:,} ids leave {piece_unk:.1%}, and its sequences are "
    f"{piece_len / word_len:.2f}× as long."
)

# %% [markdown] slideshow={"slide_type": "fragment"} zh={"source_sha": "7d7ce60a88f0"}
# 要减少未知词元，代价要么是更大的嵌入（embedding）表（收录每一个训练词），要么是更长的序列（子词），而 LSTM 的计算量随长度增长。本笔记本余下的部分沿用正则表达式分词器和文章中的 10,000 个 id，与笔记本 01 相同。

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "fd5cc99f3d81"}
# ### 文本有多长？
#
# 填充、分桶和打包都与长度有关，所以先看看长度。SST-2 的训练行是从大约 7,000 个句子的句法分析树中截取出的**短语**（很多只有一两个词）；它的验证行则是完整的**句子**。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "e14e9fe0a7e8"}
train_lengths = [len(tokens) for tokens in word_tokens["train"]]
val_lengths_all = [len(tokens) for tokens in word_tokens["validation"]]
fig = plot_length_histograms(
    {"training phrases": train_lengths, "validation sentences": val_lengths_all},
    max_len=config.max_len,
)
fig.savefig(folder / "length_histograms.png", dpi=80)
for name, values in (("training phrases", train_lengths), ("validation", val_lengths_all)):
    print(
        f"{name:<17} median {np.median(values):>4.0f}  90th percentile "
        f"{np.percentile(values, 90):>4.0f}  longest {max(values)} tokens"
    )

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "1d003ec3d221"}
# ## 3 · 词表
#
# 词表就是一个列表：位置 = id。统计训练文本中的词元，把特殊词元（special token）放在最前面（`<pad>` = 0，`<unk>` = 1），然后按出现次数从多到少排列其余词元，次数相同时按字母顺序排列，这样同样的文本总会得到同样的 id。`min_freq` 去掉罕见的词元，`max_size` 限制总数（包括特殊词元，就像 Keras 的 `Embedding(10000, 64)`）。


# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "191eadc82b27"}
def build_itos(token_lists, max_size=None, min_freq=1, specials=("<pad>", "<unk>")):
    """Id → token list: specials, then tokens by falling count (ties alphabetical)."""
    counts = Counter(token for tokens in token_lists for token in tokens)
    kept = [token for token, n in counts.items() if n >= min_freq and token not in specials]
    kept.sort(key=lambda token: (-counts[token], token))  # 出现次数最多的排在最前
    if max_size is not None:
        kept = kept[: max_size - len(specials)]  # 特殊词元也计入 max_size
    return list(specials) + kept


itos = build_itos(word_tokens["train"], max_size=config.vocab_size)
stoi = {token: index for index, token in enumerate(itos)}  # 词元 → id
print(len(itos), itos[:8])
print([stoi.get(token, 1) for token in regex_tokenize(sentence)])  # 未知词 → 1

# %% [markdown] slideshow={"slide_type": "fragment"} zh={"source_sha": "0ad181c07e0b"}
# 课程包中的 `Vocabulary.build` 做的是同样的事，另外还提供输入检查、`encode`/`decode` 和保存功能；从这里开始，笔记本改用它。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "500ae45cd6fe"}
vocab = Vocabulary.build(word_tokens["train"], max_size=config.vocab_size)
assert itos == vocab.itos and vocab == word_capped
for min_freq in (1, 2, 5):
    assert build_itos(word_tokens["train"], min_freq=min_freq) == (
        Vocabulary.build(word_tokens["train"], min_freq=min_freq).itos
    )
    print(
        f"min_freq={min_freq}: {len(build_itos(word_tokens['train'], min_freq=min_freq)):>6,} ids"
    )

# %% keep_output=true slideshow={"slide_type": "-"} zh={"source_sha": "b16970d9d48c"}
# NBVAL_CHECK_OUTPUT
ids = vocab.encode(regex_tokenize(sentence))
print(ids)
print(vocab.decode(ids))

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "63552ea00743"}
# **数值化**（numericalising）只是再做一次 `.map`：在词元旁边加一列 id，并截断到 `max_len`（一个没有任何词元的文本会得到一个 `<unk>`，因为空序列没有最后一个 LSTM 状态）。课程包中的 `encode_tokens` 给出相同的列表。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "b352da609475"}
csv_data = csv_data.map(
    lambda rows: {
        "ids": [
            vocab.encode(tokens)[: config.max_len] or [vocab.unk_id] for tokens in rows["tokens"]
        ]
    },
    batched=True,
)
for split in csv_data:
    assert list(csv_data[split]["ids"]) == encode_tokens(word_tokens[split], vocab, config.max_len)
train_set = EncodedDataset(csv_data["train"]["ids"], csv_data["train"]["label"])
val_set = EncodedDataset(csv_data["validation"]["ids"], csv_data["validation"]["label"])
print(csv_data["validation"][0]["tokens"], csv_data["validation"][0]["ids"])

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "770c31934cd3"}
# ## 4 · 整理批次：动态填充与长度
#
# id 列表的长度各不相同，而一个批次必须是一个矩形。`collate_fn` 接收组成一个批次的样本列表，把它们填充到**该批次中最长序列**的长度（动态填充，dynamic padding），而不是填充到一个全局的最大长度。它还返回每一行的真实长度，LSTM 需要用它来跳过填充。


# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "739062196a86"}
def pad_collate(examples, pad_id=0):
    """[(ids, label), ...] → ids (batch, time), lengths (batch,), labels (batch,)."""
    lengths = torch.tensor([len(ids) for ids, _ in examples])  # (batch,)
    padded = torch.full((len(examples), int(lengths.max())), pad_id)  # (batch, time)
    for row, (ids, _) in enumerate(examples):
        padded[row, : len(ids)] = ids  # 真实词元在前，填充在后
    labels = torch.stack([label for _, label in examples])  # (batch,)
    return padded, lengths, labels


examples = [val_set[i] for i in range(4)]  # 4 × (ids, label)
mine = pad_collate(examples, vocab.pad_id)
theirs = PadCollate(vocab.pad_id)(examples)  # 课程包中的整理函数，从这里开始使用它
for a, b in zip(mine, theirs, strict=True):
    torch.testing.assert_close(a, b)
print(mine[0])

# %% keep_output=true slideshow={"slide_type": "-"} zh={"source_sha": "c9a7f07acf8e"}
# NBVAL_CHECK_OUTPUT
dynamic_ids, dynamic_lengths, batch_labels = PadCollate(vocab.pad_id)(examples)
fixed_ids, fixed_lengths, _ = PadCollate(vocab.pad_id, fixed_len=config.max_len)(examples)
print("dynamic padding:", tuple(dynamic_ids.shape), "lengths", dynamic_lengths.tolist())
print("fixed padding:  ", tuple(fixed_ids.shape), "lengths", fixed_lengths.tolist())
print("labels", batch_labels.tolist())

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "e8549608ddec"}
# ## 5 · 填充去了哪里，以及分桶
#
# 把同一轮（epoch）训练数据组成批次的三种方式：
#
# * **fixed**（固定填充）——每个序列都填充到 `max_len`（笔记本 01 中 Keras 所要求的）；
# * **dynamic**（动态填充）——打乱后组成批次，每个批次填充到它自己的最长序列；
# * **bucketing**（分桶）——先打乱，把数据切成每个含 50 个批次的池，把每个池按长度排序，再切成批次，最后打乱批次的顺序。每个文本在每一轮中仍然只出现一次，所在的批次也仍是随机的，但同批的文本与它长度相近。
#
# 分桶采样器只有几行。它产出索引列表；`DataLoader(dataset, batch_sampler=…)` 把每个列表变成一个批次。


# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "c0d9a78bf968"}
def bucket_batches(lengths, batch_size, pool_batches=50, seed=0):
    """One epoch of batches of indices: shuffled, sorted by length inside each pool."""
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.as_tensor(lengths)  # (n,)
    order = torch.randperm(len(lengths), generator=generator)  # (n,) 打乱后的索引
    pool = batch_size * pool_batches
    batches = []
    for start in range(0, len(order), pool):
        chunk = order[start : start + pool]  # (≤ pool,) 一个池的索引
        chunk = chunk[torch.argsort(lengths[chunk], stable=True)]  # 最短的排在最前
        batches += [chunk[i : i + batch_size].tolist() for i in range(0, len(chunk), batch_size)]
    shuffled = torch.randperm(len(batches), generator=generator)  # (批次数,) 随机顺序
    return [batches[i] for i in shuffled]


my_batches = bucket_batches(train_set.lengths, config.batch_size, seed=profile.seed)
sampler = BucketBatchSampler(train_set.lengths, config.batch_size, seed=profile.seed)
assert my_batches == list(sampler)  # 课程包中的采样器：第一轮完全相同
assert sorted(i for batch in my_batches for i in batch) == list(range(len(train_set)))
for batch in my_batches[:3]:
    batch_lengths = [train_set.lengths[i] for i in batch]
    print(f"{len(batch)} texts of lengths {min(batch_lengths)}..{max(batch_lengths)}")

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "7efe307eb456"}
# 现在精确地数一数每种方式在一轮中添加的填充（不需要训练）：

# %% slideshow={"slide_type": "-"} zh={"source_sha": "cad78eae2fc9"}
loaders = {
    "fixed": text_loader(
        train_set,
        config.batch_size,
        "fixed",
        shuffle=True,
        seed=profile.seed,
        fixed_len=config.max_len,
    ),
    "dynamic": text_loader(
        train_set, config.batch_size, "dynamic", shuffle=True, seed=profile.seed
    ),
    "bucketing": text_loader(
        train_set, config.batch_size, "bucket", shuffle=True, seed=profile.seed
    ),
}
padding, widths = {}, {}
for name, loader in loaders.items():
    total = real = 0
    widths[name] = []
    for ids, lengths, _ in loader:  # ids: (batch, time)
        total += ids.numel()
        real += int(lengths.sum())
        widths[name].append(ids.shape[1])
    padding[name] = (real, total - real)
print(
    f"{'batching':<10} {'real tokens':>12} {'pad tokens':>11} {'pad share':>10} {'median width':>13}"
)
for name, (real, pads) in padding.items():
    print(
        f"{name:<10} {real:>12,} {pads:>11,} {pads / (real + pads):>10.0%} "
        f"{np.median(widths[name]):>13.0f}"
    )

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "3bc7e714d971"}
fig, ax = plt.subplots(figsize=(6, 2.4))
names = list(padding)
ax.barh(names, [padding[n][0] for n in names], label="real tokens")
ax.barh(
    names,
    [padding[n][1] for n in names],
    left=[padding[n][0] for n in names],
    label="padding",
    color="lightgray",
)
ax.set(xlabel="tokens in one training epoch")
ax.legend(loc="lower right")
ax.invert_yaxis()
fig.tight_layout()
fig.savefig(folder / "padding_per_epoch.png", dpi=80)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "bd16e9cea0bb"}
# **解读这张表。** 一个批次的宽度等于其中最长文本的长度。训练短语大多很短，但它们的长度有一条长尾（见上面的直方图），所以一个由 `config.batch_size` 条随机短语组成的批次几乎总会包含一条来自长尾的长短语：把固定填充和动态填充的宽度中位数与 `max_len` 比较一下就知道了。分桶直击问题的根源：同批的文本长度相近，所以每个批次只和它自己的文本一样宽。下面这句话是根据表格计算出来的：

# %% slideshow={"slide_type": "-"} zh={"source_sha": "15f24b2b4a01"}
share = {name: pads / (real + pads) for name, (real, pads) in padding.items()}
print(
    f"padding share: fixed {share['fixed']:.0%}, dynamic {share['dynamic']:.0%}, "
    f"bucketing {share['bucketing']:.0%}; dynamic padding removes "
    f"{1 - padding['dynamic'][1] / padding['fixed'][1]:.0%} of fixed padding's pads, "
    f"bucketing {1 - padding['bucketing'][1] / padding['fixed'][1]:.0%}."
)

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "fead48c037c4"}
# ## 6 · 打包序列：别让填充渗进来
#
# LSTM 的最后一个隐藏状态（hidden state）本应概括整段文本。在填充过的批次中，前向方向在最后一个词之后还会继续跑过填充，而后向方向则*从*填充开始：两个最终状态都带上了填充。`pack_padded_sequence` 以打包序列（packed sequence）的形式存储不含填充的批次：各行按从长到短排序，然后逐个时间步只存放还在运行的行，由 `batch_sizes` 记录有多少行。每一行的 LSTM 都在它自己的最后一个词元处停下。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "04a22bfd58d7"}
first_of_length = {n: i for i, n in reversed(list(enumerate(val_set.lengths)))}
picture = [val_set[first_of_length[n]] for n in (6, 9, 4, 5)]  # 四个较短的验证句子
picture_ids, picture_lengths, _ = PadCollate(vocab.pad_id)(picture)  # (4, time), (4,)
fig = draw_padded_and_packed(
    picture_lengths.tolist(), [vocab.decode(ids.tolist()) for ids, _ in picture]
)
fig.savefig(folder / "packed_batch.png", dpi=80)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "261094054e24"}
# 同样的事情用代码来做，作用在随机向量上：

# %% slideshow={"slide_type": "-"} zh={"source_sha": "8eb4c1e6177c"}
embedded = torch.randn(3, 5, 4)  # (batch, time, features)：3 行，长度分别为 5、2、3
lengths = torch.tensor([5, 2, 3])  # (batch,)
packed = pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)
print("packed data", tuple(packed.data.shape), "= 10 real time steps of 4 features")
print("rows still running at each time step:", packed.batch_sizes.tolist())
unpacked, unpacked_lengths = pad_packed_sequence(packed, batch_first=True)  # (3, 5, 4)
assert torch.equal(unpacked_lengths, lengths)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "593fae183593"}
# 对模型的影响：同一个句子，单独输入，以及后面跟着十个填充符输入。打包时，输出不可能改变；不打包时，输出会变。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "605a01b20ef1"}
seed_everything(profile.seed)
probe = BiLSTMClassifier(len(vocab), config.embed_dim, config.hidden_size, config.dense_dim).eval()
alone = torch.tensor([vocab.encode(regex_tokenize("a charming film ."))])  # (1, 4)
padded = torch.cat([alone, torch.zeros(1, 10, dtype=torch.long)], dim=1)  # (1, 14)
with torch.no_grad():
    for packed in (True, False):
        probe.packed = packed
        a, b = probe(alone, torch.tensor([4])), probe(padded, torch.tensor([4]))  # 各为 (1, 1)
        print(f"packed={packed!s:<5}  alone {a.item():+.5f}   with 10 pads {b.item():+.5f}")
        assert torch.allclose(a, b) == packed

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "5f96c35e7a26"}
# ## 7 · 填充更少就更快吗？在相同的批次上计时
#
# 我们在每个加载器的批次上为同一个模型的训练步计时，一次读入整个填充后的矩形，一次打包。公平计时的做法：每个加载器的前 `config.timing_batches` 个批次**只取一次**（`list(islice(loader, n))`），每个变体都恰好在这些批次上训练，先预热一遍，然后报告 `config.timing_repeats` 次运行的中位数，单位是每秒真实词元数（以及每秒文本数）。除了速度，表中还统计了每个变体要求的工作量：LSTM 要循环的**时间步**（各批次宽度之和，打包与否都一样），以及**行步**（row-step），即一行前进一个时间步。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "612d8728ea8a"}
timed_batches = {
    name: list(islice(loader, config.timing_batches)) for name, loader in loaders.items()
}


def train_steps(model, optimizer, batches):
    """One optimizer step per batch (the timed work)."""
    loss_fn = torch.nn.BCEWithLogitsLoss()
    for ids, lengths, targets in batches:
        loss = loss_fn(model(ids, lengths).squeeze(1), targets.float())  # logits: (batch,)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


timing, work = {}, {}
for name, batches in timed_batches.items():
    real_tokens = sum(int(lengths.sum()) for _, lengths, _ in batches)
    texts = sum(len(lengths) for _, lengths, _ in batches)
    work[name] = {
        "time steps": sum(ids.shape[1] for ids, _, _ in batches),  # 各批次的宽度
        "pads": sum(ids.numel() for ids, _, _ in batches),  # 每一行在每一步
        "packed": real_tokens,  # 各步仍在运行的行数之和 = 真实词元数
    }
    for packed in (False, True):
        seed_everything(profile.seed)
        model = BiLSTMClassifier(
            len(vocab), config.embed_dim, config.hidden_size, config.dense_dim, packed=packed
        )
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        seconds = median_seconds(
            partial(train_steps, model, optimizer, batches), repeats=config.timing_repeats
        )
        timing[name, packed] = (real_tokens / seconds, texts / seconds)
base = timing["fixed", False][0]
print(
    f"{'batching':<10} {'time':>6} {'row-steps':>10} {'row-steps':>10} "
    f"{'real tokens/s':>14} {'real tokens/s':>14} {'packed ÷':>9}"
)
print(
    f"{'':<10} {'steps':>6} {'pads read':>10} {'packed':>10} {'pads read':>14} {'packed':>14} {'pads':>9}"
)
for name, count in work.items():
    pads_s, packed_s = timing[name, False][0], timing[name, True][0]
    print(
        f"{name:<10} {count['time steps']:>6,} {count['pads']:>10,} {count['packed']:>10,} "
        f"{pads_s:>14,.0f} {packed_s:>14,.0f} {packed_s / pads_s:>8.2f}×"
    )

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "1158ca8041d1"}
# **为什么打包在一行中有帮助，在另一行中却有害。** LSTM 是一个沿时间步的循环；每一步都用同样的权重矩阵去乘送进来的各行。读入填充时，每一步都推进批次中的每一行，所以一个批次的代价是 行数 × 宽度 个行步。打包后，第 *t* 步只推进 `batch_sizes[t]` 行，也就是还在运行的那些行，所以一个打包批次的代价是**各时间步上仍在运行的行数之和**，恰好等于它的真实词元数。打包本身也带来额外的工作：给各行排序、打包和解包，以及每一步做一次较小的矩阵乘法，而 CPU 执行小矩阵乘法的效率不如执行一次大的。所以，在能跳过大量行步的地方，打包可能划算；在可跳过的行步很少的地方，它反而带来开销。把上面的数字并排放在一起（在繁忙的机器上计时会波动；行步的计数则不会）：

# %% slideshow={"slide_type": "-"} zh={"source_sha": "eba1f908e337"}
for name in ("fixed", "bucketing"):
    skipped = 1 - work[name]["packed"] / work[name]["pads"]
    ratio = timing[name, True][0] / timing[name, False][0]
    print(
        f"{name:<9}: packing skips {skipped:.0%} of the row-steps and trains at {ratio:.2f}× "
        f"the speed of reading the pads ({'faster' if ratio > 1 else 'slower'})."
    )
fastest = max(timing, key=lambda key: timing[key][0])
print(
    f"fastest of the six: {fastest[0]} batching, LSTM "
    f"{'packed' if fastest[1] else 'reading the pads'}, at {timing[fastest][0] / base:.1f}× "
    f"the real tokens/s of fixed padding reading the pads; bucketing needs "
    f"{work['bucketing']['time steps'] / work['fixed']['time steps']:.0%} of fixed padding's "
    f"time steps."
)

# %% [markdown] slideshow={"slide_type": "fragment"} zh={"source_sha": "aed406710c91"}
# 要看比值，不要看绝对速度（后者取决于机器，以及机器上同时运行的其他任务）。分桶在 LSTM 看到填充之前就把它们去掉了，大部分时间步也随之消失；打包则在 LSTM 内部去掉填充，但要付出代价。打包真正*用来*做什么，是下一节的内容：无论怎样填充，答案都正确。

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "67e464f56d36"}
# ## 8 · 训练之后，打包还重要吗？
#
# 两个完全相同的模型，相同的随机种子（seed），相同的动态填充训练批次（训练 `config.packing_epochs` 轮）；一个打包，另一个读入填充。每个模型都在按三种方式组批的**验证**句子上评分：按训练时的批大小动态填充、填充到固定的 `max_len`，以及每次一个句子（完全没有填充）。这个预算只允许每个模型训练一次，所以不确定性用验证句子上的配对自助法（bootstrap）来估计；它没有考虑随机种子之间的差异。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "7497d7169dc9"}
val_loaders = {
    f"dynamic, batches of {config.batch_size}": text_loader(val_set, config.batch_size, "dynamic"),
    f"fixed, {config.max_len} tokens": text_loader(
        val_set, config.batch_size, "fixed", fixed_len=config.max_len
    ),
    "one at a time, no padding": text_loader(val_set, 1, "dynamic"),
}
models, answers = {}, {}
for packed in (True, False):
    seed_everything(profile.seed)
    models[packed] = BiLSTMClassifier(
        len(vocab),
        config.embed_dim,
        config.hidden_size,
        config.dense_dim,
        dropout=config.dropout,
        packed=packed,
    )
    train_loader = text_loader(
        train_set, config.batch_size, "dynamic", shuffle=True, seed=profile.seed
    )
    fit(
        models[packed],
        train_loader,
        epochs=config.packing_epochs,
        grad_clip=config.grad_clip,
        optimizer=torch.optim.Adam(models[packed].parameters(), lr=config.lr),
        device=device,
    )
    for name, loader in val_loaders.items():  # 加载器保持句子的原有顺序
        answers[name, packed] = predicted_labels(predict(models[packed], loader))  # (行数,)

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "125386881ed6"}
truth = val_set.labels
print(f"{'validation batches':<28} {'packed':>8} {'pads read':>10}   packed − pads read [95% CI]")
for name in val_loaders:
    packed_acc, pads_acc = ((answers[name, p] == truth).float().mean() for p in (True, False))
    gap = paired_bootstrap(truth, answers[name, True], answers[name, False], seed=profile.seed)
    print(f"{name:<28} {packed_acc:>8.4f} {pads_acc:>10.4f}   {gap}")

fixed_name, alone_name = f"fixed, {config.max_len} tokens", "one at a time, no padding"
changed = {p: int((answers[fixed_name, p] != answers[alone_name, p]).sum()) for p in (True, False)}
print(
    f"validation answers that change between fixed padding and no padding: packed "
    f"{changed[True]}, pads read {changed[False]} (of {len(val_set)})"
)
gap = paired_bootstrap(
    truth, answers[alone_name, True], answers[alone_name, False], seed=profile.seed
)
row_gaps = (answers[alone_name, True] == truth).float() - (
    answers[alone_name, False] == truth
).float()
smallest = min_detectable_difference(len(truth), row_sd=row_gaps.std().item())
print(
    "one sentence at a time: packing",
    "measurably helps"
    if gap.low > 0
    else "measurably hurts"
    if gap.high < 0
    else "makes no difference measurable at this budget",
    f"(interval {gap.low:+.3f}..{gap.high:+.3f}); these {len(truth)} sentences detect a true "
    f"difference of about ±{smallest:.3f} (95% test, 80% power).",
)

# %% [markdown] slideshow={"slide_type": "fragment"} zh={"source_sha": "1ff77358c5d5"}
# 按列、按行来读这张表，并且只读到区间所允许的程度。打包模型的答案不依赖于句子如何组批（在固定填充与不填充之间，436 个答案中有 0 个改变）。读入填充的模型是带着填充训练出来的：每个填充步喂给 LSTM 的都是同一个输入（填充词元的嵌入行，始终保持为零），所以训练可以调整权重，让这样的一步对状态的扰动很小。但无法让它完全没有扰动：零输入仍然要经过各个门的偏置项（bias term）和循环权重，所以每个填充步仍会改变状态（在 §6 中，十个填充把一个未训练模型的输出从 −0.13737 变成了 −0.11737）；而这个训练过的模型在固定填充与不填充之间，436 个答案中有 7 个改变。它的准确率（accuracy）与打包模型相比不一定有可测量的差别（表中每个区间都包含零），但它对一个句子的回答，取决于同批的其他句子带来了多少填充。一个模型的预测如果会随着与它同批的“同伴”而改变，那它就有 bug，不管平均表现如何；而一个小于上面打印的可检测差异（约 ±0.046）的差距，即使真实存在，在这里也看不出来。
#
# 分桶和打包相辅相成：分桶去掉大部分填充（以及时间），打包让剩下的填充变得无害。`sst2_loaders`（笔记本 01）两者都用了。

# %% [markdown] slideshow={"slide_type": "notes"} zh={"source_sha": "a688e9d5f26e"}
# 讲者备注：在运行 §5 的表格之前，先请听众猜一猜动态填充的填充占比，并把猜测记下来；然后与打印出的占比（75 %）对照。直方图的长尾解释了原因。讲到 §7 时，问一问为什么在分桶之后打包反而可能更慢：剩下可跳过的填充已经不多了。

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "a656c9a56a1f"}
# ## 练习
#
# **1. 在词元预算下组批。** 许多流水线不是每个批次放固定数量的文本，而是按填充后位置数的预算来装满每个批次：行数 × 该批次的最大长度 ≤ `max_tokens`，这样短文本的批次能容纳很多行，长文本的批次只容纳少数几行。写出 `make_batches(lengths, max_tokens)`，返回一个批次列表（每个批次是一个索引列表）：每个索引恰好出现一次，每个批次都不超出预算（单个比预算还长的文本可以独占一个批次），填充要少，不要出现不必要的小批次。检查函数会用它自己的长度数据运行你的函数。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "a0372077f249"}
from nlpcourse.exercises.ch02 import (
    check_mask_collate,
    check_packed_batch_sizes,
    check_token_budget_batches,
)


def make_batches(lengths, max_tokens):
    """Your code: return a list of batches, each a list of indices into ``lengths``."""
    ...


_ = check_token_budget_batches(make_batches)  # 打印检查结论


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"] zh={"source_sha": "3e8ce2ecb7c9"}
def solution_batches(lengths, max_tokens, pool_size=1_000, seed=0):
    """Shuffle, then sort within pools (as the bucketing sampler does) and fill to the budget."""
    order = torch.randperm(len(lengths), generator=torch.Generator().manual_seed(seed)).tolist()
    batches = []
    for start in range(0, len(order), pool_size):
        pool = sorted(order[start : start + pool_size], key=lambda i: lengths[i])  # 最短的排在最前
        batch = []
        for index in pool:
            if batch and lengths[index] * (len(batch) + 1) > max_tokens:  # 新加入的最长
                batches.append(batch)
                batch = []
            batch.append(index)
        batches.append(batch)  # 池永远不为空，所以它的最后一个批次也不为空
    return batches


assert check_token_budget_batches(solution_batches)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "b0bf39205524"}
# **2. 同时返回掩码的整理函数。** 注意力机制（attention）的各层（笔记本 04）需要的是掩码（mask），而不是长度。写出 `collate(examples, pad_id)`，把由 `(ids, label)` 样本组成的列表变成 `(ids, lengths, mask, labels)`：`ids` 的形状为 `(batch, time)`，用 `pad_id` 填充到最长的一行；`lengths` 和 `labels` 的形状为 `(batch,)`；`mask` 是一个 `(batch, time)` 的布尔张量，在真实词元处为 True，要用张量运算构建（不用循环）。检查函数会在它自己的批次上把它与课程包中的整理函数比较。


# %% slideshow={"slide_type": "-"} zh={"source_sha": "7a2edd48dbb5"}
def collate(examples, pad_id):
    """Your code: return ids, lengths, mask, labels."""
    ...


_ = check_mask_collate(collate)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"] zh={"source_sha": "7cf2703e02a0"}
def solution_collate(examples, pad_id):
    ids, lengths, labels = pad_collate(examples, pad_id)  # (batch, time), (batch,), (batch,)
    mask = torch.arange(ids.shape[1])[None, :] < lengths[:, None]  # (batch, time)
    return ids, lengths, mask, labels


assert check_mask_collate(solution_collate)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "416ca09971fa"}
# **3. 手算打包的簿记。** 写出 `batch_sizes(lengths)`，对最长一行的每个时间步，返回还在运行的行数：这正是 `pack_padded_sequence` 存放在 `batch_sizes` 中的内容，也是打包后的 LSTM 在每一步要付出的代价。检查函数会用它自己的长度数据，把它与 PyTorch 的结果比较。


# %% slideshow={"slide_type": "-"} zh={"source_sha": "126d92873a31"}
def batch_sizes(lengths):
    """Your code: one count per time step."""
    ...


_ = check_packed_batch_sizes(batch_sizes)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"] zh={"source_sha": "ff2b2b2edeea"}
def solution_batch_sizes(lengths):
    lengths = torch.as_tensor(lengths)  # (batch,)
    steps = torch.arange(int(lengths.max()))  # (time,)
    return (lengths[None, :] > steps[:, None]).sum(dim=1).tolist()  # (time,) 仍在运行的行数


assert check_packed_batch_sizes(solution_batch_sizes)
