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

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "8b53a15defc0"}
# # 03 · 近看 Hugging Face Transformers：分词器、前向传播、保存与加载
#
# 原文第 2.2 节用五行代码介绍 `transformers` 库：从 `bert-base-uncased` 加载 `BertTokenizer` 和 `BertForSequenceClassification`，对 `"Hello world!"` 分词，把结果连同一个标签（label）送入模型，再读取 `outputs.loss`。使用预训练（pretrained）模型需要知道的大部分内容，都藏在这五行代码背后。本笔记本把它们逐一拆开：
#
# 1. **分词器（tokenizer）**——它的流水线（规范化 → 预分词 → WordPiece → id 与掩码），`input_ids`、`attention_mask` 和 `token_type_ids` 分别是什么，特殊词元（special token），填充（padding）与截断（truncation），未知词元，以及中文文本会遇到什么。
# 2. **从数据集（dataset）到批次（batch）**——把 `datasets.map` 和 `DataCollatorWithPadding` 做的事亲手写出来。
# 3. **前向传播（forward pass）**——`outputs.loss` 和 `outputs.logits` 是什么（我们手动重算损失（loss）），transformers 5 的*加载报告*（load report），以及参数（parameter）都在哪里。
# 4. **统一接口**——`Auto…` 系列类。
# 5. **保存模型**——一次简短的微调（fine-tuning），`save_pretrained` → `from_pretrained` 后 logits 完全一致，以及 `pipeline("text-classification")`。
#
# **进阶内容**（Going further，位于末尾）：从词元（token）的偏移量回到原文字符；以及在真实的 BERT 旁边离线构建的微型 GPT-2 和 T5——同样的保存与加载往返、因果掩码（causal mask）、`generate`，以及因果语言模型的损失。
#
# 检查点（checkpoint）由配置档（profile）决定：在 `quick` 中是 `sentence-transformers/all-MiniLM-L6-v2`，一个真实的 6 层预训练 BERT，它使用的 WordPiece 词表（vocabulary）与 `bert-base-uncased` 完全相同，因此下文中的每个词元 id 都与 `bert-base-uncased` 给出的一致；在 `full` 中则就是 `bert-base-uncased` 本身。

# %% slideshow={"slide_type": "skip"} zh={"source_sha": "c4d9e03d6f91"}
import logging
import tempfile
from pathlib import Path

for noisy in ("torchao", "torch.utils._pytree"):  # 导入 torchao 时的 GPU 内核提示
    logging.getLogger(noisy).setLevel(logging.ERROR)

import pandas as pd
import torch
import torch.nn.functional as F
import transformers
from datasets import disable_progress_bars
from transformers import BertForSequenceClassification, BertTokenizer, DataCollatorWithPadding

from nlpcourse.config import get_device, get_profile, seed_everything
from nlpcourse.data.checkpoints import require_checkpoint
from nlpcourse.data.runs import run_dir
from nlpcourse.data.splits import sst2_subset
from nlpcourse.evaluate.efficiency import count_parameters
from nlpcourse.evaluate.stats import bootstrap_accuracy
from nlpcourse.plots.tokenize import draw_tokenizer_pipeline
from nlpcourse.text.hf_batches import make_loader, tokenize_dataset
from nlpcourse.train.loop import fit, predict

profile = get_profile()
seed_everything(profile.seed)
device = get_device()
disable_progress_bars()  # 不显示 datasets 的 'Map: 0%' 进度条
transformers.utils.logging.disable_progress_bar()  # 不显示 'Loading weights' 进度条
print(f"transformers {transformers.__version__}, torch {torch.__version__}, device {device}")
print(f"profile {profile.name!r}: BERT role played by {profile.bert}")
_ = require_checkpoint(profile.bert)  # 若缺失：给出一条清楚的提示，说明该设置什么

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "d5275c996d68"}
# ## 1 · 分词器
#
# 原文的第一行代码依然可用：

# %% slideshow={"slide_type": "-"} zh={"source_sha": "8fd809a7c981"}
from transformers import BertTokenizerFast

tokenizer = BertTokenizer.from_pretrained(profile.bert)
print(type(tokenizer).__name__, "fast:", tokenizer.is_fast, "vocabulary:", len(tokenizer))
assert BertTokenizerFast is BertTokenizer and tokenizer.is_fast

# %% [markdown] slideshow={"slide_type": "fragment"} zh={"source_sha": "1cb6ccda2e5f"}
# **transformers 5 中的变化。** 过去有两个类：用 Python 编写的 `BertTokenizer`，以及基于 Rust 库 `tokenizers` 的 `BertTokenizerFast`。从 transformers 5 起只剩一个：`BertTokenizer` *就是*快速分词器（`BertTokenizerFast` 作为别名保留，如 `assert` 所示），所以以前只有快速版才有的功能——偏移量（offsets）、`word_ids()`——现在用原文中的类也能使用。

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "7460a9e792d8"}
# ### 原文中的句子
#
# 调用分词器会返回一个类似字典的 `BatchEncoding`，其中有三个等长的列表。模型看到的是 id；词元字符串只是给我们看的。

# %% keep_output=true slideshow={"slide_type": "-"} zh={"source_sha": "e154a9c9812b"}
# NBVAL_CHECK_OUTPUT
encoding = tokenizer("Hello world!")
print(encoding["input_ids"])
print(encoding.tokens())
print(encoding["attention_mask"])
print(encoding["token_type_ids"])

# %% [markdown] slideshow={"slide_type": "fragment"} zh={"source_sha": "c8ba3f4be6f8"}
# * `input_ids`——每个词元一个整数，即它在模型嵌入（embedding）表中的行号。分词器把文本转成了小写（这是一个 *uncased*，即不区分大小写的词表），并添加了两个特殊词元：开头的 `[CLS]`（BERT 的分类头读取这个位置上的向量）和每个片段末尾的 `[SEP]`。
# * `attention_mask`——真实词元为 1，填充为 0（目前还没有填充）。
# * `token_type_ids`——词元属于哪个片段（第一句为 0，第二句为 1）；用于句子对，见下文。

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "0d1d1c8dfc92"}
# ### 特殊词元及其 id

# %% keep_output=true slideshow={"slide_type": "-"} zh={"source_sha": "f144545c7501"}
# NBVAL_CHECK_OUTPUT
for name in ("cls_token", "sep_token", "pad_token", "unk_token", "mask_token"):
    token = getattr(tokenizer, name)
    print(f"{name:<10} {token:<7} id {tokenizer.convert_tokens_to_ids(token)}")
print("longest input:", tokenizer.model_max_length, "tokens")

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "6369db156a70"}
# ### WordPiece：`##` 标记词的内部
#
# 一个约 30,000 项的词表装不下所有英文单词，所以 WordPiece 把常见词保留为整体，把罕见词切成它认识的若干片段。接续一个词的片段以 `##` 开头；把各片段拼起来并去掉 `##`，就得到原来的词。

# %% keep_output=true slideshow={"slide_type": "-"} zh={"source_sha": "bea4dd10d5d8"}
# NBVAL_CHECK_OUTPUT
for word in ["movie", "tokenizers", "unbelievably", "strawberries", "huggingface"]:
    print(f"{word:<14} → {tokenizer.tokenize(word)}")

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "1f19470f7f28"}
# ### 流水线，逐级来看
#
# 在切分之前，分词器先做两个较简单的步骤：**规范化器**（normalizer：转小写、去掉重音符号、清理控制字符、在汉字两侧加空格）和**预分词器**（pre-tokenizer：按空白和标点切分）。接着，**WordPiece 模型**把每个词切成片段，**后处理器**（post-processor）加上 `[CLS]` 和 `[SEP]`，对一个批次做填充时再加上 `[PAD]`。id 是各片段在词表中的行号；注意力掩码（attention mask）标出真实词元。图中每一行是某一阶段对同一段文本的输出，由分词器自身的组件（`tokenizer.backend_tokenizer`，即 Rust 分词器）计算得到：

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "f3c78cef417c"}
example = "CAFÉ tokenizers!"
backend = tokenizer.backend_tokenizer  # 规范化器 → 预分词器 → WordPiece 模型
normalized = backend.normalizer.normalize_str(example)
words = [word for word, _span in backend.pre_tokenizer.pre_tokenize_str(normalized)]
width = len(tokenizer.tokenize(example)) + 4  # 2 个特殊词元加 2 个填充，如同在更宽的批次中
padded = tokenizer(example, padding="max_length", max_length=width)
fig = draw_tokenizer_pipeline(
    [
        ("text", "as typed", [example]),
        ("normalise", "lower-case, strip accents", [normalized]),
        ("pre-tokenise", "split at spaces, punctuation", words),
        ("WordPiece", "longest known piece first", tokenizer.tokenize(example)),
        ("specials, pads", "[CLS] text [SEP], then [PAD]", padded.tokens()),
        ("input_ids", "rows of the embedding table", [str(i) for i in padded["input_ids"]]),
        ("attention_mask", "1 real token, 0 padding", [str(m) for m in padded["attention_mask"]]),
    ]
)
fig.savefig(run_dir("03_transformers_quickstart") / "tokenizer_pipeline.png", dpi=80)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "7989f871a5a1"}
# WordPiece 模型用贪心法切分每个词：先取词表中存在的最长前缀，再取能接续它的最长 `##` 片段，依此类推；只要有一部分无法匹配，整个词就变成 `[UNK]`。这个算法很短，可以直接写出来，并在真实句子上与库的结果对照：

# %% slideshow={"slide_type": "-"} zh={"source_sha": "25d3bd404495"}
vocab = tokenizer.get_vocab()  # 片段 → id


def wordpiece(word: str, vocab: dict[str, int], unk: str = "[UNK]") -> list[str]:
    """Greedy longest-match-first WordPiece for one pre-tokenised word."""
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:  # 缩短候选片段，直到词表中有它
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
            end -= 1
        else:
            return [unk]  # 没有片段能匹配：整个词都是未知的
        pieces.append(piece)
        start = end
    return pieces


def tokenize_by_hand(text: str) -> list[str]:
    """Normalise, split into words, then WordPiece each word."""
    normalized = backend.normalizer.normalize_str(text)
    words = [word for word, _span in backend.pre_tokenizer.pre_tokenize_str(normalized)]
    return [piece for word in words for piece in wordpiece(word, vocab)]


sst2 = sst2_subset(profile)  # 训练 / 验证 / 测试，与笔记本 01、02 和 04 相同
sentences = sst2["validation"]["text"][:300]
mismatches = [s for s in sentences if tokenize_by_hand(s) != tokenizer.tokenize(s)]
print(
    f"hand-written WordPiece agrees with the library on {len(sentences) - len(mismatches)}"
    f"/{len(sentences)} SST-2 validation sentences"
)
assert not mismatches
print(backend.normalizer.normalize_str("Naïve CAFÉ"), "|", tokenize_by_hand("Naïve CAFÉ"))

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "629cd5f6c150"}
# ### 未知词元
#
# 任何英文单词都可以用单个字母拼出来（`a`…`z` 和 `##a`…`##z` 都在词表中），所以 `[UNK]` 在英文文本中应当很少见（下面第一行统计了它在 300 个 SST-2 句子中出现的次数）。它出现在词表从未见过的字符上：大多数 emoji、许多符号和文字。重音符号会被不区分大小写的规范化器去掉，而不会变成 `[UNK]`。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "b8f64271efde"}
sst2_pieces = [piece for s in sentences for piece in tokenizer.tokenize(s)]
print(
    f"[UNK] in {len(sentences)} SST-2 sentences: {sst2_pieces.count('[UNK]')} of {len(sst2_pieces):,} pieces"
)
for text in ["I ❤️ this café", "The 🤗 library", "Temperature: 21℃"]:
    print(f"{text!r:<22} → {tokenizer.tokenize(text)}")

# %% [markdown] slideshow={"slide_type": "fragment"} zh={"source_sha": "2c395a97e659"}
# 最后一个例子中，整个词 `21℃` 连同其中的数字一起变成了一个 `[UNK]`：只要词中有一部分无法匹配，WordPiece 就会放弃整个词。

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "a9f89018edc0"}
# ### 中文文本与英文词表
#
# 规范化器会在每个 CJK 字符两侧加上空格，所以中文总是被切成单个汉字——然后每个汉字都要到一个只收录了几百个汉字的英文词表里去查：

# %% keep_output=true slideshow={"slide_type": "-"} zh={"source_sha": "9aa0499884fd"}
# NBVAL_CHECK_OUTPUT
chinese = "我喜欢自然语言处理。这部电影很好看!"  # 两个短句：一句说喜欢 NLP，一句夸电影
cjk_in_vocab = sum(1 for piece in vocab if len(piece) == 1 and "\u4e00" <= piece <= "\u9fff")
pieces = tokenizer.tokenize(chinese)
print(pieces)
print(
    f"{cjk_in_vocab} CJK characters in the vocabulary; "
    f"{pieces.count('[UNK]')} of {len(pieces)} pieces are [UNK]"
)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "e624dac48a95"}
# 句子的大部分内容都丢失了：模型几乎在每个汉字处看到的都是 `[UNK]`。`bert-base-chinese` 这样的中文检查点沿用同样的分词*算法*（同样按字切分），但附带一个 21,128 项、覆盖常用汉字的词表，于是这个句子会变成每个汉字一个已知词元。这里无法下载那个检查点，但我们可以用自己的一个小词表构建同类分词器，看看效果。这也揭示了 transformers 5 的一个陷阱：
#
# * `BertTokenizer(vocab_file="vocab.txt")` 是从文件构建分词器的老办法，在 transformers 5 中它会**悄无声息地忽略这个文件**，得到的分词器只认识它的五个特殊词元；
# * 应当用 `vocab=` 直接传入词表本身（一个“片段 → id”的字典），或者对存放 `vocab.txt` 的文件夹调用 `from_pretrained`。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "519c7a584258"}
specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
chinese_vocab = {piece: i for i, piece in enumerate(specials + sorted(set(chinese)))}

vocab_path = run_dir("03_transformers_quickstart") / "toy_chinese_vocab.txt"
vocab_path.write_text("\n".join(chinese_vocab) + "\n", encoding="utf-8")
ignored = BertTokenizer(vocab_file=str(vocab_path))
print("vocab_file=:", len(ignored), "entries →", ignored.tokenize(chinese)[:6], "…")

toy_chinese = BertTokenizer(vocab=chinese_vocab)
print("vocab=     :", len(toy_chinese), "entries →", toy_chinese.tokenize(chinese))
assert len(ignored) == len(specials) and "[UNK]" not in toy_chinese.tokenize(chinese)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "2af877fb4e4d"}
# ### 句子对与 `token_type_ids`
#
# 文本蕴含、问答之类的任务会同时输入两段文本。分词器把它们拼成 `[CLS] A [SEP] B [SEP]`，并把第二个片段的每个词元（包括其末尾的 `[SEP]`）的类型 id 标为 1；模型会在每个位置加上一个学习得到的“片段 A”或“片段 B”向量。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "794172cad97b"}
pair = tokenizer("The plot was thin.", "The actors saved it.")
print(
    pd.DataFrame(
        {"token": pair.tokens(), "id": pair["input_ids"], "type": pair["token_type_ids"]}
    ).T.to_string(header=False)
)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "00b14643876b"}
# ### 批次、填充与截断
#
# 一个批次必须是规整的矩形。`padding=True` 用 `[PAD]`（id 为 0）把每个序列（sequence）填充到批次中最长序列的长度，`attention_mask` 用 0 标出填充位置，让注意力机制（attention）忽略它们（笔记本 04 会展示如何做到）。`truncation=True, max_length=n` 截掉超出的部分。`return_tensors="pt"` 返回 PyTorch 张量而不是列表。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "084154955130"}
texts = [
    "A gripping, beautifully shot film.",
    "Dull.",
    "I wanted to like it, but the second half drags on forever.",
]
batch = tokenizer(texts, padding=True, truncation=True, max_length=12, return_tensors="pt")
print({name: tuple(tensor.shape) for name, tensor in batch.items()})  # 均为 (3, 12)
for i in range(len(texts)):
    print(" ".join(batch.tokens(i)))
print(batch["attention_mask"])

# %% [markdown] slideshow={"slide_type": "fragment"} zh={"source_sha": "8575ec750c1b"}
# 第三句被截成了 12 个词元，而它的最后一个词元仍然是 `[SEP]`：截断删掉的是词，而不是特殊词元。其他选项还有：`padding="max_length"` 把所有序列都填充到 `max_length`（笔记本 02 统计过这种填充的代价；像上面那样按批次做动态填充（dynamic padding）才是常规选择，第 2 节会亲手实现它），以及 `padding_side="left"`，用于生成文本的解码器（decoder）模型。

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "086d7c95efbf"}
# ## 2 · 从数据集到填充好的批次
#
# 训练要读取成千上万条文本，所以分词只做一次：对整个 `Dataset` 调用 `.map`——分词器按批处理各行，其输出成为新的列。这时还不填充——每一行保持各自的长度。填充留到之后按批次进行，发生在 `DataLoader` 的 `collate_fn` 中：`DataCollatorWithPadding` 把一组行填充到该批次中最长一行的长度，再堆叠成张量（动态填充，与笔记本 02 相同）。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "31fdd310eb86"}
rows = sst2["train"].select(range(8))  # 一个含 text、label 两列的 Dataset


def encode(batch):
    """Tokenise a batch of rows: lists of ids of different lengths, no padding."""
    return tokenizer(batch["text"], truncation=True, max_length=profile.max_len)


tokenized = rows.map(encode, batched=True, remove_columns=["text"])
tokenized = tokenized.rename_column("label", "labels")  # 模型的 forward 期望的参数名
print(tokenized)
features = [tokenized[i] for i in range(4)]  # 4 个由列表组成的字典，长度各不相同
print("lengths", [len(f["input_ids"]) for f in features])

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "5026753843a7"}
# 亲手写出的整理函数（collator）：找出批次中最长的一行，把每个列表延长到这个长度（`input_ids` 用 `[PAD]` 的 id 填充；注意力掩码用 0 填充，于是填充位置被遮住；类型 id 也用 0），把列表堆叠成张量，标签保持不变。


# %% slideshow={"slide_type": "-"} zh={"source_sha": "e99d3630b717"}
def pad_batch(features, pad_id):
    """[{input_ids, token_type_ids, attention_mask, labels}, ...] → dict of stacked tensors."""
    longest = max(len(f["input_ids"]) for f in features)
    batch = {}
    for name in features[0]:
        if name == "labels":
            batch[name] = torch.tensor([f[name] for f in features])  # (batch,)
            continue
        fill = pad_id if name == "input_ids" else 0  # 掩码和类型 id 用 0 填充
        padded = [f[name] + [fill] * (longest - len(f[name])) for f in features]
        batch[name] = torch.tensor(padded)  # (batch, longest)
    return batch


open_batch = pad_batch(features, tokenizer.pad_token_id)
library_batch = DataCollatorWithPadding(tokenizer, return_tensors="pt")(features)
assert open_batch.keys() == library_batch.keys()
for name in open_batch:
    torch.testing.assert_close(open_batch[name], library_batch[name])
print({name: tuple(tensor.shape) for name, tensor in open_batch.items()})
print(open_batch["attention_mask"])

# %% [markdown] slideshow={"slide_type": "fragment"} zh={"source_sha": "8eda00409765"}
# `DataCollatorWithPadding` 给出相同的张量（见 `assert`），还能按需把长度填充到某个数的整数倍。`nlpcourse.text.hf_batches` 把这两步封装了起来：`tokenize_dataset`（即 `.map`，附带检查）和 `make_loader`（使用库中整理函数的 `DataLoader`）。输入相同的行，得到相同的批次；从这里开始，笔记本改用这两个辅助函数。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "ea250d5a31b1"}
helper_set = tokenize_dataset(rows, tokenizer, profile.max_len)
assert helper_set[:] == tokenized[:]
helper_batch = next(iter(make_loader(helper_set, tokenizer, batch_size=4)))
assert helper_batch.keys() == open_batch.keys()
for name in open_batch:
    torch.testing.assert_close(helper_batch[name], open_batch[name])
print("tokenize_dataset + make_loader give the same batch")

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "da4e0c2248ba"}
# ## 3 · 原文中的前向传播
#
# 原文以 `num_labels=2` 加载 `BertForSequenceClassification`。这个类就是一个 `BertModel`（嵌入层 + 编码器（encoder）层 + 池化层（pooler）），上面再加一个新的分类头：对池化后的 `[CLS]` 向量依次施加随机失活（dropout）和一个 `Linear(hidden, num_labels)`。**池化层**是作用在 `[CLS]` 最后一层隐藏状态（hidden state）上的一个全连接层加 tanh。在 `bert-base-uncased` 中，它在预训练阶段（下一句预测）训练过；quick 检查点的池化层则没有为分类训练过：sentence-transformers 训练 `all-MiniLM-L6-v2` 时用的是词元向量的*平均值*，文件中池化层的权重没有参与那次训练。笔记本 06 的配置对此做了相应处理（在 `quick` 中，池化层按新分类头的学习率（learning rate）学习），笔记本 05 则比较了 `[CLS]` 与平均池化（mean pooling）。给标签命名（`id2label`）不费任何代价，还能让之后的每个输出都一目了然。
#
# 请留意下面打印的**加载报告**：在 transformers 5 中，它取代了旧的“Some weights of BertForSequenceClassification were not initialized…”警告。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "0c75988f76fd"}
label_names = sst2["train"].features["label"].names  # ['negative', 'positive']
id2label = dict(enumerate(label_names))
model, loading_info = BertForSequenceClassification.from_pretrained(
    profile.bert,
    num_labels=2,
    id2label=id2label,
    label2id={name: i for i, name in id2label.items()},
    output_loading_info=True,
)
print({key: sorted(value) for key, value in loading_info.items() if key != "error_msgs"})

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "44f60e84ff07"}
# 报告把 `classifier.weight` 和 `classifier.bias` 列为 **MISSING**（缺失）：检查点里有预训练好的 BERT 主体，却没有情感分类头，所以这两个张量是用随机值新建的。只要在预训练主体上加一个任务头，就会出现这种情况——这也正是模型必须先微调、其预测才有意义的原因。（列为 UNEXPECTED 的键则相反：文件中有、类里却没有位置安放的权重，例如预训练用的头。）报告也以 `loading_info` 的形式返回，因此代码可以检查它：

# %% slideshow={"slide_type": "-"} zh={"source_sha": "64c176d094cb"}
assert set(loading_info["missing_keys"]) == {"classifier.weight", "classifier.bias"}
assert not loading_info["unexpected_keys"] and not loading_info["mismatched_keys"]
print("in eval mode after loading:", not model.training)  # model.train() 之前 dropout 关闭
transformers.logging.set_verbosity_error()  # 加载报告已经讲过：此后不再显示

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "dce4fdc999cd"}
# 现在运行原文中的调用。有一处需要修正：原文用 `torch.tensor([1]).unsqueeze(0)` 构造标签，形状为 `(1, 1)`。对单标签分类来说，标签是每个样本一个类别 id，形状为 `(batch,)`；模型会把标签展平，所以两种写法都能运行，但 `(batch,)` 才是所有损失函数期望的形状。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "65f1fbb9fc28"}
inputs = tokenizer("Hello world!", return_tensors="pt")
labels = torch.tensor([1])  # (batch,)，每个句子一个类别 id
outputs = model(**inputs, labels=labels)
print(type(outputs).__name__, list(outputs.keys()))
print("loss  ", outputs.loss)
print("logits", outputs.logits, tuple(outputs.logits.shape))  # (batch, num_labels)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "72ebd6be7eb3"}
# * `outputs.logits`——每个类别一个未归一化的得分，形状为 `(batch, num_labels)`；`softmax` 把它们变成概率。
# * `outputs.loss`——因为我们传入了 `labels`，模型还计算了 logits 与标签之间的平均交叉熵（cross-entropy）：一个带梯度（gradient）的标量，可以直接调用 `.backward()`。
#
# 交叉熵就是 `−log softmax(logits)[true class]`（取真实类别那一项），再对批次取平均。下面手动重算一遍，这次用一个含三个句子的批次：

# %% slideshow={"slide_type": "-"} zh={"source_sha": "bd8fb35a2823"}
batch_labels = torch.tensor([1, 0, 0])  # (3,)
outputs = model(**batch, labels=batch_labels)
log_probs = outputs.logits - outputs.logits.logsumexp(dim=-1, keepdim=True)  # (3, 2) log-softmax
by_hand = -log_probs[torch.arange(3), batch_labels].mean()  # 取出真实类别那一项，再取平均
print(
    f"model: {outputs.loss.item():.6f}   by hand: {by_hand.item():.6f}   "
    f"F.cross_entropy: {F.cross_entropy(outputs.logits, batch_labels).item():.6f}"
)
torch.testing.assert_close(outputs.loss, by_hand)
torch.testing.assert_close(outputs.loss, F.cross_entropy(outputs.logits, batch_labels))

# %% [markdown] slideshow={"slide_type": "fragment"} zh={"source_sha": "2b487260a380"}
# 分类头未经训练时，损失在 `ln 2 ≈ 0.693` 附近，也就是随机抛硬币的损失。模型使用哪种损失，由 `num_labels` 和标签的 **dtype** 决定：整数标签且 `num_labels > 1` 时用交叉熵；`num_labels=1` 时用均方误差（回归）；浮点标签则对每个类别用二元交叉熵（多标签）。这一选择会在第一次调用时记录在 `model.config.problem_type` 中：

# %% slideshow={"slide_type": "-"} zh={"source_sha": "c998a7b4fd3d"}
print(model.config.problem_type)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "2c41bab28173"}
# ### 参数在哪里
#
# BERT 的参数几乎全部集中在两处：**嵌入表**（每个词表项、每个位置、每种片段类型各占一行，每行 `hidden` 个数）和一摞**编码器层**（注意力与前馈网络（feed-forward network）的权重）。分类头非常小：`hidden × num_labels + num_labels`。


# %% keep_output=true slideshow={"slide_type": "-"} zh={"source_sha": "de124de0ab39"}
# NBVAL_CHECK_OUTPUT
config = model.config
hidden = config.hidden_size
parts = {
    "embeddings": model.bert.embeddings,
    **{f"encoder layer {i}": layer for i, layer in enumerate(model.bert.encoder.layer)},
    "pooler": model.bert.pooler,
    "classifier head": model.classifier,
}
for name, module in parts.items():
    print(f"{name:<16} {count_parameters(module):>12,}")
print(f"{'total':<16} {count_parameters(model):>12,}")
assert count_parameters(model) == sum(count_parameters(m) for m in parts.values())
assert count_parameters(model.classifier) == hidden * 2 + 2
embeddings = model.bert.embeddings
assert count_parameters(embeddings) == (
    (config.vocab_size + config.max_position_embeddings + config.type_vocab_size) * hidden
    + 2 * hidden  # LayerNorm 的缩放与平移
)

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "e4d31f0f6456"}
# ## 4 · 统一接口：`Auto…` 系列类
#
# 原文说，这个库把 BERT、GPT 和 T5 放在同一个接口之后。这个接口就是 `Auto…` 系列类：`AutoConfig`、`AutoTokenizer` 和 `AutoModel…` 读取检查点的 `config.json`（其中的 `model_type`），选出正确的类，因此同一段代码可以加载 BERT、RoBERTa、GPT-2 或 T5。后缀表示**任务头**：`AutoModel`（只有主体）、`…ForSequenceClassification`、`…ForCausalLM`（预测下一个词元，如 GPT）、`…ForSeq2SeqLM`（编码器读、解码器写，如 T5）。下面自动找到的正是原文用的那两个类（在*进阶内容*中，由配置构建的微型 GPT-2 和 T5 也走同样的调用）：

# %% slideshow={"slide_type": "-"} zh={"source_sha": "5a22bbdad714"}
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForCausalLM,
    AutoModelForSeq2SeqLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
)

auto_tokenizer = AutoTokenizer.from_pretrained(profile.bert)
auto_model = AutoModelForSequenceClassification.from_pretrained(profile.bert, num_labels=2)
print(
    f"model_type={config.model_type!r} → {type(auto_tokenizer).__name__}, {type(auto_model).__name__}"
)
assert type(auto_tokenizer) is BertTokenizer and type(auto_model) is BertForSequenceClassification
assert auto_tokenizer("Hello world!")["input_ids"] == encoding["input_ids"]
del auto_model

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "75132b5dc045"}
# ## 5 · 把分类头稍微训练一下，然后保存和加载
#
# 损失就是用来最小化的。原文的案例研究（笔记本 06）和笔记本 05 会认真地做微调；这里只需在一个小的 SST-2 子集上简短训练一下，让分类头先有点意义，再保存模型并把它放进 pipeline。`loss.backward()` 加上一步优化器（optimizer）更新，正是 `nlpcourse.train.loop.fit` 对每个批次所做的事。（原文中的 `from transformers import AdamW` 已不存在；替代品是 PyTorch 的 `torch.optim.AdamW`。）得分在**验证集**（validation set）的句子上计算，并附带在这些句子上用自助法（bootstrap）得到的区间；这里不使用课程的测试句子。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "84277f966197"}
cfg = profile.attention
train_rows = sst2["train"].shuffle(seed=profile.seed).select(range(cfg.quickstart_train_size))
train_loader = make_loader(
    tokenize_dataset(train_rows, tokenizer, profile.max_len),
    tokenizer,
    batch_size=cfg.quickstart_batch_size,
    shuffle=True,
    seed=profile.seed,
)
val_loader = make_loader(
    tokenize_dataset(sst2["validation"], tokenizer, profile.max_len), tokenizer, batch_size=64
)
model.to(device)
history = fit(
    model,
    train_loader,
    epochs=1,
    optimizer=torch.optim.AdamW(model.parameters(), lr=cfg.quickstart_lr),
)
val_predictions = predict(model, val_loader).argmax(dim=-1)  # (rows,)
accuracy = bootstrap_accuracy(sst2["validation"]["label"], val_predictions, seed=profile.seed)
print(
    f"validation accuracy after one epoch on {cfg.quickstart_train_size:,} sentences: "
    f"{accuracy.estimate:.3f} (95% bootstrap interval {accuracy.low:.3f}..{accuracy.high:.3f})"
)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "19b973696724"}
# ### `save_pretrained` → `from_pretrained`
#
# `save_pretrained` 写出一个 `from_pretrained` 能读取的文件夹：以 **safetensors** 格式保存的权重（一种纯张量文件，与 pickle 不同，加载时不会执行任何代码）、`config.json`（模型结构与标签名称），以及——如果你也保存了的话——分词器。此后，这个文件夹的用法与 hub 上的模型 id 完全一样。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "eaee5611a500"}
save_dir = run_dir("03_transformers_quickstart") / "minibert-sst2"
model.save_pretrained(save_dir)
tokenizer.save_pretrained(save_dir)
print(sorted(path.name for path in save_dir.iterdir()))
assert (save_dir / "model.safetensors").is_file()

reloaded, reload_info = BertForSequenceClassification.from_pretrained(
    save_dir, output_loading_info=True
)
reloaded_tokenizer = BertTokenizer.from_pretrained(save_dir)
assert not reload_info["missing_keys"], "the saved folder holds the head too"

model.eval()
probe = tokenizer(texts, padding=True, return_tensors="pt").to(device)
with torch.no_grad():
    before = model(**probe).logits
    reloaded.to(device)
    after = reloaded(
        **reloaded_tokenizer(texts, padding=True, return_tensors="pt").to(device)
    ).logits
print(after)
assert torch.equal(before, after), "reloaded model must give identical logits"
print("identical logits after the round trip; label names:", reloaded.config.id2label)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "a65d3947ddf5"}
# 这一次 `reload_info` 中没有缺失的键（见上面的 `assert`）：分类头和其余部分一起保存了下来。
#
# ### `pipeline`：一次调用完成分词、运行和后处理
#
# `pipeline("text-classification", ...)` 封装了我们手动完成的三个步骤（分词器 → 模型 → softmax 与 `id2label`）。把模型和分词器对象（或保存好的文件夹）交给它即可；`top_k=None` 会返回每个标签的得分。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "416106e9435a"}
from transformers import pipeline

classifier = pipeline(
    "text-classification", model=reloaded, tokenizer=reloaded_tokenizer, device=device
)
reviews = ["An instant classic, funny and moving.", "A tedious, overlong mess.", "It is a film."]
for review, result in zip(reviews, classifier(reviews), strict=True):
    print(f"{result['label']:>8} {result['score']:.3f}  {review}")
print(classifier(reviews[0], top_k=None))

# %% [markdown] slideshow={"slide_type": "fragment"} zh={"source_sha": "1f79da0caa52"}
# 标签之所以可读，是因为我们在加载时设置了 `id2label`；否则它们会是 `LABEL_0` 和 `LABEL_1`。这些得分来自一个只训练了短短一轮（epoch）的分类头：笔记本 05 和 06 会展示正规的微调能把它们提升到什么程度。

# %% [markdown] slideshow={"slide_type": "notes"} zh={"source_sha": "6d7b75b4e74d"}
# 讲者备注：讲到*进阶内容*时，请学生想一想，三个模型中哪一个能填补句子中间的空缺（BERT：它能看到两侧），哪一个能续写文本（GPT-2，以及 T5 的解码器）。因果掩码的测试那一页值得多停留一会儿。

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "5896466dbeff"}
# ## 练习
#
# **1. 分隔符在哪里。** 编写 `find_seps(first, second)`：用 `tokenizer` 把两段文本编码为一个句子对，返回每个 `[SEP]` 词元的位置（即在 `input_ids` 中的下标）。检查函数会用它自己准备的句子对来运行你的函数。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "d16ac67ec0ba"}
from nlpcourse.exercises.ch03 import check_cls_head, check_sep_positions, check_toy_wordpiece


def find_seps(first, second):
    """Your code: the positions of [SEP] in tokenizer(first, second)["input_ids"]."""
    ...


_ = check_sep_positions(find_seps)  # 打印检查结果


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"] zh={"source_sha": "a39c11401c4a"}
def solution_seps(first, second):
    ids = tokenizer(first, second)["input_ids"]
    return [i for i, token in enumerate(ids) if token == tokenizer.sep_token_id]


assert check_sep_positions(solution_seps)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "316fff3cc8af"}
# **2. 亲手实现原文中的分类头。** `BertForSequenceClassification` 就是一个 `BertModel` 加上一个头（§3）。编写一个模块 `ClsClassifier(body, num_labels)`：把传入的 `BertModel` 保存为 `self.body`，新建一个 `torch.nn.Linear` 作为 `self.classifier`，其 `forward(input_ids, attention_mask, token_type_ids)` 返回形状为 `(batch, num_labels)` 的 logits。检查函数会构建一个随机初始化的小型 `BertForSequenceClassification`，把它的主体交给你的类，把它分类头的权重复制到你的 `classifier` 中，然后在一个带填充的批次上比较两者的 logits。


# %% slideshow={"slide_type": "-"} zh={"source_sha": "d9f8532e0aeb"}
class ClsClassifier(torch.nn.Module):
    """Your code: BertModel → the pooled [CLS] vector → dropout → Linear."""

    def __init__(self, body, num_labels):
        super().__init__()
        ...

    def forward(self, input_ids, attention_mask=None, token_type_ids=None): ...


_ = check_cls_head(ClsClassifier)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"] zh={"source_sha": "57e5f5054616"}
class SolutionClassifier(torch.nn.Module):
    def __init__(self, body, num_labels):
        super().__init__()
        self.body = body
        self.dropout = torch.nn.Dropout(body.config.hidden_dropout_prob)
        self.classifier = torch.nn.Linear(body.config.hidden_size, num_labels)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        out = self.body(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        )
        return self.classifier(self.dropout(out.pooler_output))  # (batch, num_labels)


assert check_cls_head(SolutionClassifier)
mine = SolutionClassifier(model.bert, model.config.num_labels).eval()  # 训练过的模型的主体
mine.classifier.load_state_dict(model.classifier.state_dict())  # 以及它的分类头的副本
with torch.no_grad():
    torch.testing.assert_close(mine(**probe), model(**probe).logits)  # 在真实检查点上也一致

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "49a43192b30d"}
# **3. 在玩具词表上做 WordPiece。** 构建一个词表，即一个“片段 → id”的字典，以五个特殊词元 `[PAD]`、`[UNK]`、`[CLS]`、`[SEP]`、`[MASK]` 开头，项数尽可能少，使得 `BertTokenizer(vocab=your_vocab)` 恰好把下列单词切成这样：
#
# | 单词 | 片段 |
# |---|---|
# | playing | `play` `##ing` |
# | played | `play` `##ed` |
# | player | `play` `##er` |
# | replay | `re` `##play` |
# | replayed | `re` `##play` `##ed` |

# %% slideshow={"slide_type": "-"} zh={"source_sha": "75a8adadf281"}
toy_vocab = None  # 你的答案：{"[PAD]": 0, "[UNK]": 1, ...}
_ = check_toy_wordpiece(toy_vocab)

# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"] zh={"source_sha": "5826825b0fab"}
pieces = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "play", "re", "##play", "##ing", "##ed"]
toy_vocab = {piece: i for i, piece in enumerate([*pieces, "##er"])}  # 不需要完整的 "replay"
assert check_toy_wordpiece(toy_vocab)
# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "a2f975283888"}
# ## 进阶内容
#
# 两个旁支话题，和其余部分一样会被执行：从词元的偏移量回到原文字符，以及同一 `Auto…` 接口背后的其他模型家族。

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "51f6c1223edd"}
# ### 偏移量：从词元回到字符
#
# 设置 `return_offsets_mapping=True` 后，每个词元都附带它所来自的字符区间 `(start, end)`（特殊词元为 `(0, 0)`），`word_ids()` 则给出每个词元属于哪个词。词元级的预测（命名实体、答案片段）正是这样映射回原文中的一段文字的。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "363d26cacf60"}
text = "Tokenizers handle unbelievably rare words."
enc = tokenizer(text, return_offsets_mapping=True)
rows = [
    {
        "token": token,
        "word": "-" if word is None else word,
        "span": (start, end),
        "text": text[start:end],
    }
    for token, word, (start, end) in zip(
        enc.tokens(), enc.word_ids(), enc["offset_mapping"], strict=True
    )
]
print(pd.DataFrame(rows).to_string(index=False))
start, end = enc.word_to_chars(2)  # 第三个词
print(
    "word 2 is",
    repr(text[start:end]),
    "made of",
    [t for t, w in zip(enc.tokens(), enc.word_ids(), strict=True) if w == 2],
)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "d553a9ae7f1d"}
# ### 同一接口下的 BERT、GPT 与 T5
#
# 这里无法下载预训练的 GPT 或 T5，所以我们**根据配置构建微型模型**（随机权重，`from_config`），其大小由配置档决定。它们需要分词器：我们不另行训练，而是让两者都复用 BERT 的 WordPiece 分词器（用它的词表大小，并把它的 `[PAD]`、`[CLS]` 和 `[SEP]` 分别用作填充、起始和结束词元）。真实的 GPT-2 和 T5 各自带有自己的分词器（字节级 BPE 和 SentencePiece）；接口是一样的。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "22a909013b2a"}
tiny = profile.attention
special_ids = {
    "pad_token_id": tokenizer.pad_token_id,
    "bos_token_id": tokenizer.cls_token_id,
    "eos_token_id": tokenizer.sep_token_id,
}
gpt_config = AutoConfig.for_model(
    "gpt2",
    vocab_size=len(tokenizer),
    n_embd=tiny.tiny_hidden,
    n_layer=tiny.tiny_layers,
    n_head=tiny.tiny_heads,
    n_positions=profile.max_len,
    **special_ids,
)
t5_config = AutoConfig.for_model(
    "t5",
    vocab_size=len(tokenizer),
    d_model=tiny.tiny_hidden,
    d_kv=tiny.tiny_hidden // tiny.tiny_heads,
    d_ff=2 * tiny.tiny_hidden,
    num_layers=tiny.tiny_layers,
    num_heads=tiny.tiny_heads,
    decoder_start_token_id=tokenizer.pad_token_id,  # T5 从它的填充词元开始解码
    **special_ids,
)
seed_everything(profile.seed)
families = {  # 名称 → (Auto 类, 模型)
    "BERT": (AutoModel, AutoModel.from_pretrained(profile.bert)),  # 预训练模型，只有编码器
    "GPT-2": (AutoModelForCausalLM, AutoModelForCausalLM.from_config(gpt_config)),
    "T5": (AutoModelForSeq2SeqLM, AutoModelForSeq2SeqLM.from_config(t5_config)),
}

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "987bd0daeb48"}
# **相同的 API。** 每个模型都走同样的往返：用 `save_pretrained` 保存到一个文件夹（权重为 safetensors，外加 `config.json`），并把分词器保存在旁边；再通过对应的 `Auto…` 类用 `from_pretrained` 加载回来，分词器则用 `AutoTokenizer` 加载；然后对同一个句子做一次前向传播。（T5 的前向传播还需要解码器的输入；这里就用句子本身。）

# %% slideshow={"slide_type": "-"} zh={"source_sha": "0e1bf354b6be"}
sentence = "one interface for three families of models"
table = []
with tempfile.TemporaryDirectory() as tmp:
    for name, (auto_class, net) in families.items():
        folder = Path(tmp) / name
        net.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        back = auto_class.from_pretrained(folder).eval()
        back_tokenizer = AutoTokenizer.from_pretrained(folder)
        inputs = back_tokenizer(sentence, return_tensors="pt", return_token_type_ids=False)
        if back.config.is_encoder_decoder:
            inputs["decoder_input_ids"] = inputs["input_ids"]  # (1, time)
        net.eval()
        with torch.no_grad():
            before, after = net(**inputs)[0], back(**inputs)[0]  # 各自的第一个输出
        assert torch.equal(before, after), f"{name}: the round trip changed the outputs"
        assert (folder / "model.safetensors").is_file()
        table.append(
            {
                "family": name,
                "Auto class": auto_class.__name__,
                "class found": type(back).__name__,
                "parameters": f"{count_parameters(back):,}",
                "first output": f"{type(back(**inputs)).__name__}: {tuple(after.shape)}",
                "decoder": back.config.is_encoder_decoder,
                "can generate": back.can_generate(),
            }
        )
print(pd.DataFrame(table).to_string(index=False))

# %% [markdown] slideshow={"slide_type": "fragment"} zh={"source_sha": "d22def49ee84"}
# BERT 的第一个输出是每个词元的隐藏状态，形状为 `(batch, time, hidden)`；GPT-2 和 T5 的第一个输出则是每个位置上**对整个词表的 logits**，形状为 `(batch, time, vocab)`：它们的头用来预测词元。这些微型模型的参数大部分都在嵌入表里（每个模型的嵌入表都有 30,522 行）。

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "99438160c2e4"}
# **差异 (1)：因果掩码。** BERT 的注意力能双向（bidirectional）看到整个句子；GPT-2 只能看到更早的位置，所以可以训练它在看不到下一个词元的情况下预测它。做个测试：两个句子只有最后一个词不同。BERT 在*更早*位置上的向量会改变；GPT-2 的则不可能改变。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "0b34c89a5a6e"}
bert, gpt, t5 = (net.eval() for _, net in families.values())
a = tokenizer("the film was good", return_tensors="pt", return_token_type_ids=False)
b = tokenizer("the film was bad", return_tensors="pt", return_token_type_ids=False)
last = a["input_ids"].shape[1] - 2  # 最后一个词的位置（其后是 [SEP]）
assert (a["input_ids"] != b["input_ids"]).nonzero()[:, 1].tolist() == [last]
with torch.no_grad():
    bert_a, bert_b = bert(**a).last_hidden_state, bert(**b).last_hidden_state  # (1, 6, hidden)
    gpt_a, gpt_b = gpt(**a).logits, gpt(**b).logits  # (1, 6, vocab)
bert_shift = (bert_a[0, :last] - bert_b[0, :last]).abs().max().item()
gpt_shift = (gpt_a[0, :last] - gpt_b[0, :last]).abs().max().item()
print(f"largest change before the last word: BERT {bert_shift:.4f}, GPT-2 {gpt_shift:.1e}")
assert bert_shift > 1e-3
torch.testing.assert_close(gpt_a[0, :last], gpt_b[0, :last])

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "daaffdb5140f"}
# **差异 (2)：解码器；差异 (3)：`generate`。** T5 是编码器–解码器结构：编码器读取输入（像 BERT 一样是双向的），解码器一次写出一个输出词元（像 GPT-2 一样是因果的），同时关注编码器的输出。能写文本的模型都有 `generate`，它循环执行：预测下一个词元，追加上去，再预测。我们的随机模型写出的是随机词元；重点在于调用方式，两者完全相同。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "e42664601ae8"}
prompt = tokenizer("the film was", return_tensors="pt", return_token_type_ids=False)
prompt["input_ids"] = prompt["input_ids"][:, :-1]  # 去掉 [SEP]：让 GPT-2 接着往下写
prompt["attention_mask"] = prompt["attention_mask"][:, :-1]
with torch.no_grad():
    gpt_out = gpt.generate(**prompt, max_new_tokens=4, do_sample=False)  # (1, prompt + 4)
    t5_out = t5.generate(**a, max_new_tokens=4, do_sample=False)  # (1, 起始词元 + ≤ 4)
print("GPT-2 continues the prompt:", tokenizer.decode(gpt_out[0]))
print("T5 writes a new sequence:  ", tokenizer.decode(t5_out[0]))
print("BERT can generate:", bert.can_generate())
assert gpt_out.shape[1] == prompt["input_ids"].shape[1] + 4

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "79f43f1551a6"}
# **因果语言模型的训练方式与其他模型无异。** 它的标签就是输入 id 本身：模型在内部把它们错开一位，因此位置 *t* 的预测目标是词元 *t + 1*。损失是这些预测的交叉熵（下面手动核对），在同一个句子上做几步 AdamW 更新就能把它降下来，就像第 5 节的分类器（classifier）一样。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "65f4c91eebcf"}
text_ids = tokenizer(
    "a causal language model learns to predict the next token",
    return_tensors="pt",
    return_token_type_ids=False,
)
with torch.no_grad():
    out = gpt(**text_ids, labels=text_ids["input_ids"])
    logits, ids = out.logits, text_ids["input_ids"]  # (1, time, vocab), (1, time)
    by_hand = F.cross_entropy(logits[0, :-1], ids[0, 1:])  # 位置 t 预测词元 t + 1
torch.testing.assert_close(out.loss, by_hand)

optimizer = torch.optim.AdamW(gpt.parameters(), lr=tiny.tiny_lm_lr)
gpt.train()
losses = []
for _step in range(tiny.tiny_lm_steps):
    loss = gpt(**text_ids, labels=text_ids["input_ids"]).loss  # 标量
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
print("loss per step:", " → ".join(f"{value:.3f}" for value in losses))
assert losses[-1] < losses[0]
with torch.no_grad():  # T5 也一样：标签送入解码器，在内部右移一位
    t5_loss = t5(**a, labels=b["input_ids"]).loss
print(f"T5 with labels: loss {t5_loss.item():.3f} (a scalar, like every model here)")
del families, bert, gpt, t5
