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

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "c2ffe2a1a010"}
# # 08 · 高效模型：ALBERT、知识蒸馏与 int8
#
# 原文在结尾（§5）用一句话各带过几个趋势。第一个是**高效架构**：ALBERT 通过共享参数（parameter）节省内存，DistilBERT 用知识蒸馏（distillation）压缩模型。（其余两个趋势——少样本（few-shot）提示和偏见（bias）——放在笔记本 09。）
#
# 一句话的趋势很容易变成口号。本笔记本把每一条都变成测量：
#
# 1. **ALBERT** —— 用配置类分别构建宽度、深度相同的 BERT 和 ALBERT，数一数共享省下了什么：参数、梯度（gradient）和 AdamW 的状态；以及没省下什么：计算量。
# 2. **按 DistilBERT 的方式蒸馏** —— 学生模型（student model）由一个 AG News 分类器（classifier，即笔记本 06 的任务和数据）每隔一层取一层构成，给它少量有标签（label）的行和大量只有教师模型（teacher model）能标注的无标签行，与只用有标签行训练的同一个学生对比，随机种子（seed）成对；全部有标签的情形作为对照。
# 3. **int8** —— 训练后对这个分类器做量化（quantization）：磁盘大小、同一批次（batch）上的 CPU 延迟、量化前后在每一条测试行上的准确率（accuracy）。
#
# 所有选择都在验证行上做出；测试行在所有选择之后，只给每个最终模型打一次分。下文每个数字都由测量它的那个单元格打印出来；正文只负责解释。

# %% slideshow={"slide_type": "skip"} zh={"source_sha": "91caa599b6dc"}
# 先导入：nlpcourse.config 会压下 torchao 导入时的警告（transformers 会导入 torchao）
from nlpcourse.config import get_device, get_profile, seed_everything

# isort: split
import copy
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from datasets import disable_progress_bars
from IPython.display import display
from tqdm.auto import tqdm
from transformers import (
    AlbertConfig,
    AlbertModel,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    BertConfig,
    BertModel,
)
from transformers.utils import logging as hf_logging

from nlpcourse.data.checkpoints import load_pretrained
from nlpcourse.data.runs import run_dir
from nlpcourse.data.splits import (
    UNLABELLED,
    ag_news_three_way,
    scarce_label_split,
    stratified_subset,
    with_hidden_labels,
)
from nlpcourse.evaluate import efficiency, stats
from nlpcourse.evaluate.comparison import compare_variants
from nlpcourse.evaluate.timing import compare_seconds
from nlpcourse.text.hf_batches import make_loader, tokenize_dataset
from nlpcourse.train import distill, optim
from nlpcourse.train.loop import fit, predict

disable_progress_bars()  # 不显示 datasets 的 "Map" 进度条
hf_logging.set_verbosity_error()  # no load reports: the new head's missing weights are expected
hf_logging.disable_progress_bar()  # no "Loading weights" or "Writing model shards" bars
profile = get_profile()
seed_everything(profile.seed)
cfg = profile.efficient
device = get_device()
notebook_start = time.perf_counter()
print(f"profile {profile.name!r} · encoder {profile.bert} · device {device}")
print(f"torch threads: {torch.get_num_threads()}")

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "89b2d2814faf"}
# ## 1 · ALBERT：同样的网络，参数少得多
#
# 一个宽度为 $H$（隐藏层大小）、深度为 $L$（层数）、前馈大小为 $I$、词表（vocabulary）含 $V$ 个 WordPiece 词元（token）的 BERT 编码器（encoder）包含：
#
# * 一张 $V \times H$ 的**词元嵌入（embedding）表**，外加位置嵌入（$P \times H$）、片段嵌入（$T \times H$）和一个 LayerNorm（$2H$）；
# * $L$ 个**层**，每层有注意力机制（attention）中的四个 $H\times H$ 投影（查询（query）、键（key）、值（value）、输出）及其偏置项（bias term），一个 $H \to I \to H$ 的前馈块，以及两个 LayerNorm：共 $4(H^2+H) + (2HI + I + H) + 4H$ 个参数；
# * 作用在 `[CLS]` 向量上的一个**池化层（pooler）**，$H\times H + H$。
#
# ALBERT（Lan et al., 2019）改了两处：
#
# 1. **嵌入分解。** 词元先嵌入到一个较小的 $E$ 维空间，再投影到 $H$：参数从 $V\times H$ 变成 $V\times E + E\times H$。词表那张表不再随模型宽度增长。
# 2. **跨层共享。** 同一层的权重被重复使用 $L$ 次。深度完全不再消耗参数。
#
# （ALBERT 在预训练（pretrained）阶段还用句序预测取代了下一句预测；那改变的是训练信号，不是模型大小，这里不做测量。）
#
# 我们用两者的配置类构建它们——随机权重，无需下载——尺寸取 BERT-base，并使用同一个词表，这样两者之间只有架构不同。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "30e550bfffbe"}
bert_config = BertConfig(
    vocab_size=cfg.compare_vocab_size,
    hidden_size=cfg.compare_hidden,
    num_hidden_layers=cfg.compare_layers,
    num_attention_heads=cfg.compare_heads,
    intermediate_size=cfg.compare_intermediate,
)
albert_config = AlbertConfig(
    vocab_size=cfg.compare_vocab_size,
    embedding_size=cfg.albert_embedding_size,
    hidden_size=cfg.compare_hidden,
    num_hidden_layers=cfg.compare_layers,
    num_attention_heads=cfg.compare_heads,
    intermediate_size=cfg.compare_intermediate,
    hidden_act=bert_config.hidden_act,  # ALBERT 默认用 tanh 近似的 GELU
)
bert_model, albert_model = BertModel(bert_config), AlbertModel(albert_config)
for name, c in (("BERT", bert_config), ("ALBERT", albert_config)):
    e_size = f"E={c.embedding_size} " if name == "ALBERT" else ""
    print(f"{name:<6} V={c.vocab_size:,} {e_size}H={c.hidden_size} L={c.num_hidden_layers}")

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "3bc74fe47e67"}
# 把上面的公式写成代码，结果必须与 PyTorch 在两个模块中数出的参数量一致（也要与程序包中经过测试的版本 `efficiency.bert_parameter_count` 和 `efficiency.albert_parameter_count` 一致）：


# %% slideshow={"slide_type": "-"} zh={"source_sha": "03bfda31821c"}
def layer_params(h, i):
    return 4 * (h * h + h) + (h * i + i + i * h + h) + 2 * 2 * h  # 注意力 + FFN + 2 个 LN


def bert_params(c):
    rows = c.vocab_size + c.max_position_embeddings + c.type_vocab_size  # 词元、位置、片段
    embeddings = rows * c.hidden_size + 2 * c.hidden_size  # 各表（宽 H）+ LayerNorm
    layers = c.num_hidden_layers * layer_params(c.hidden_size, c.intermediate_size)
    return embeddings + layers + c.hidden_size**2 + c.hidden_size  # + 池化层


def albert_params(c):
    rows = c.vocab_size + c.max_position_embeddings + c.type_vocab_size
    embeddings = rows * c.embedding_size + 2 * c.embedding_size  # 各表只有 E 宽
    projection = c.embedding_size * c.hidden_size + c.hidden_size  # E -> H
    layers = 1 * layer_params(c.hidden_size, c.intermediate_size)  # 无论 L 多大，只有一个共享层
    return embeddings + projection + layers + c.hidden_size**2 + c.hidden_size


n_bert = efficiency.count_parameters(bert_model)
n_albert = efficiency.count_parameters(albert_model)
assert bert_params(bert_config) == efficiency.bert_parameter_count(bert_config) == n_bert
assert albert_params(albert_config) == efficiency.albert_parameter_count(albert_config) == n_albert

# %% keep_output=true slideshow={"slide_type": "-"} zh={"source_sha": "699b36fb4337"}
# NBVAL_CHECK_OUTPUT
bert_parts = efficiency.parameters_by_component(bert_model)
albert_parts = efficiency.parameters_by_component(albert_model)
print(f"{'component':<38}{'BERT':>13}{'ALBERT':>13}{'ALBERT/BERT':>13}")
for component in [*albert_parts, "total"]:
    b = sum(bert_parts.values()) if component == "total" else bert_parts.get(component, 0)
    a = sum(albert_parts.values()) if component == "total" else albert_parts[component]
    ratio = f"{a / b:.3f}" if b else "new"
    print(f"{component:<38}{b:>13,}{a:>13,}{ratio:>13}")

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "5577d4d5468c"}
# 从上往下读这张表。词元嵌入表缩小了 $H/E$ 倍，而把它补回来的投影只花 $E\times H + H$ 个参数。Transformer 层缩小了 $L$ 倍：ALBERT 只存一层，重复使用 $L$ 次。合起来，在宽度和深度完全相同的情况下，模型大约只有 BERT 的十分之一。
#
# 由于层是共享的，让 ALBERT 更深**不会**增加任何参数：

# %% keep_output=true slideshow={"slide_type": "-"} zh={"source_sha": "4dcd236b0dd6"}
# NBVAL_CHECK_OUTPUT
for depth in (1, 6, 12, 24):
    deeper_albert, deeper_bert = copy.deepcopy(albert_config), copy.deepcopy(bert_config)
    deeper_albert.num_hidden_layers = deeper_bert.num_hidden_layers = depth
    albert_count = efficiency.count_parameters(AlbertModel(deeper_albert))  # 真正构建并计数
    assert albert_count == efficiency.albert_parameter_count(deeper_albert)
    bert_count = efficiency.bert_parameter_count(deeper_bert)
    print(f"{depth:>2} layers: ALBERT {albert_count:>12,} parameters,  BERT {bert_count:>12,}")

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "9663f95b651c"}
# ### 共享在训练中省下了什么：梯度与 AdamW 的状态
#
# 存下来的权重只是训练时内存占用的一部分。每个可训练参数还有一份同样大小的梯度，AdamW 为每个参数保存两个滑动矩（`exp_avg`、`exp_avg_sq`），每个张量再加一个步数计数器——所以在计入任何激活值之前，用 AdamW 训练大约要占用权重的**四倍**内存。一个共享张量无论被用多少次都只是一个参数：只有一份梯度（12 次使用的贡献都累加进去）和一对矩。
#
# 仅仅为了计数就以 float32 构建 BERT-base，要花内存和时间；在 PyTorch 的 `meta` 设备上，模型只有形状和数据类型而没有存储，所以计数不花任何代价：

# %% keep_output=true slideshow={"slide_type": "-"} zh={"source_sha": "9a9f81d78a8a"}
# NBVAL_CHECK_OUTPUT
memory = {
    "BERT-base": efficiency.training_memory_bytes(efficiency.meta_model(BertModel, bert_config)),
    "ALBERT-base": efficiency.training_memory_bytes(
        efficiency.meta_model(AlbertModel, albert_config)
    ),
}
memory_table = pd.DataFrame(memory).T / 2**20  # MiB
print("MiB held by training with AdamW, activations not counted (float32):")
print(memory_table.round(1).to_string())
ratio = memory["ALBERT-base"]["total"] / memory["BERT-base"]["total"]
print(f"ALBERT/BERT: {ratio:.3f} of the memory, in every column alike")

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "c454c9e4448c"}
# 这个计数是对 PyTorch 实际分配的一个模型，所以要拿真实情况来核对：真正构建一个小 BERT 和一个小 ALBERT，走一步 AdamW，再测量每个梯度以及优化器（optimizer）状态中每个张量的字节数。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "b2e672d1a14d"}
small = dict(vocab_size=1_000, hidden_size=64, num_hidden_layers=4, num_attention_heads=4)
small_models = {
    "BERT": BertModel(BertConfig(intermediate_size=128, **small)),
    "ALBERT": AlbertModel(AlbertConfig(embedding_size=16, intermediate_size=128, **small)),
}
small_ids = torch.randint(0, 1_000, (2, 12), generator=torch.Generator().manual_seed(0))  # (2, 12)
for name, model in small_models.items():
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    out = model(input_ids=small_ids)
    loss = (
        out.last_hidden_state.mean() + out.pooler_output.mean()
    )  # 两个输出都进入损失，这样每个参数都得到梯度
    loss.backward()
    optimizer.step()
    measured_gradients = sum(p.grad.numel() * p.grad.element_size() for p in model.parameters())
    counted = efficiency.training_memory_bytes(model)
    assert measured_gradients == counted["gradients"]
    assert efficiency.optimizer_state_bytes(optimizer) == counted["adamw_state"]
    print(
        f"{name:<6} measured after one step: gradients {measured_gradients:,} B, "
        f"AdamW state {efficiency.optimizer_state_bytes(optimizer):,} B = the count"
    )
del small_models

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "0eedbc0ca669"}
# ### 共享没有省下什么：计算量
#
# 参数是你要存储和分发的东西；计算量是每个词元都要付出的代价。一个共享层被用 12 次，就要做 12 层的乘法，和 12 个不同的层完全一样。ALBERT 还多了一次：$E\to H$ 的投影。统计每个词元在权重矩阵上的乘加次数可以预测两者的比值；在相同的词元 id 上分别对两个模型计时一次前向传播，则是实测。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "c0f85d7b3587"}
shape = (cfg.timing_batch, cfg.timing_seq_len)
generator = torch.Generator().manual_seed(profile.seed)
timing_ids = torch.randint(1000, cfg.compare_vocab_size, shape, generator=generator)  # (B, T)
timing_inputs = {"input_ids": timing_ids, "attention_mask": torch.ones_like(timing_ids)}
timing_inputs = {key: value.to(device) for key, value in timing_inputs.items()}
seconds = efficiency.compare_forward_seconds(  # 两个模型轮流运行，共 `repeats` 轮
    {"BERT": bert_model.to(device), "ALBERT": albert_model.to(device)},
    timing_inputs,
    repeats=cfg.timing_repeats,
)


def layer_macs(h, i, layers):
    return layers * (4 * h * h + 2 * h * i)  # 每个词元在权重矩阵上的乘加次数


macs_bert = layer_macs(cfg.compare_hidden, cfg.compare_intermediate, cfg.compare_layers)
macs_albert = macs_bert + cfg.albert_embedding_size * cfg.compare_hidden  # + E -> H 投影
tokens = timing_ids.numel()
print(f"forward pass of {shape[0]} × {shape[1]} tokens (median of {cfg.timing_repeats} turns):")
for name in seconds:
    print(f"  {name:<6} {seconds[name] * 1000:8.1f} ms  ({tokens / seconds[name]:,.0f} tokens/s)")
print(
    f"ALBERT/BERT time: measured {seconds['ALBERT'] / seconds['BERT']:.2f}×, "
    f"predicted from multiply-adds {macs_albert / macs_bert:.3f}×; parameters {n_albert / n_bert:.3f}×"
)
# 用同样的计数方法算已发布的大模型
macs_bert_large = layer_macs(1024, 4096, 24)  # BERT-large
macs_albert_xxlarge = layer_macs(4096, 16384, 12) + 128 * 4096  # ALBERT-xxlarge
print(
    f"multiply-adds per token: BERT-large {macs_bert_large / 1e6:,.0f} M, "
    f"ALBERT-xxlarge {macs_albert_xxlarge / 1e6:,.0f} M ({macs_albert_xxlarge / macs_bert_large:.1f}×)"
)
del bert_model, albert_model

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "7a92e79aff80"}
# 预测的比值是 1.00：每个词元上 ALBERT 做的计算与 BERT 相同，只多一个小投影；实测比值用来检验这一点。所以原文说的“ALBERT 降低了内存占用”，对随参数量增长的部分成立——要存储和分发的权重、它们的梯度和 AdamW 的矩，在上面的表里都按同一比例缩小——但对计算量不成立，对前向传播保存的激活值也不成立，后者只取决于宽度、深度和序列（sequence）长度。为了赶上 BERT 的准确率，ALBERT 的作者加宽了共享层（ALBERT-xxlarge 的 $H=4096$），上面最后一行统计了与 BERT-large 相比每个词元要多付出多少。真正运行起来更便宜的模型需要更少或更窄的层——这正是蒸馏所提供的。


# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "355e71eebf39"}
# ## 2 · 知识蒸馏：大教师教出小学生
#
# DistilBERT（Sanh et al., 2019）保持 BERT 的宽度，**每隔一层保留一层**——学生一开始就是教师第 0、2、4、… 层的副本——然后训练学生去模仿教师。模仿什么？不仅是教师给出的最高答案，而是它的整个输出分布，并用温度（temperature）$T$ 使之变平滑（Hinton et al., 2015）：
#
# $$p_i^{(T)} = \frac{\exp(z_i/T)}{\sum_j \exp(z_j/T)}$$
#
# 在 $T=1$ 时，一个自信的教师几乎把全部概率都放在一个类别上；温度升高后，那些小概率——“这条体育新闻有点像财经新闻”——就显现出来了。类别之间的这些关系（Hinton 所说的*暗知识*）是独热标签所不具备的信号。训练损失（loss）把两者混合起来：
#
# $$\mathcal{L} = \alpha\, T^2\, \mathrm{KL}\!\left(p^{(T)}_{\text{teacher}} \,\|\, p^{(T)}_{\text{student}}\right) + (1-\alpha)\, \mathrm{CE}(z_\text{student}, y)$$
#
# 乘上 $T^2$ 是为了让软目标项的梯度不论温度如何都保持同一量级（平滑后 KL 的梯度按 $1/T^2$ 缩小）。软目标项根本不需要标签：教师可以给任何文本打标签。这正是蒸馏发挥价值的地方——DistilBERT 在整个预训练语料上蒸馏，文本量远超任何人能标注的规模。这里我们在任务本身 AG News 上、在同样的情形下蒸馏：**金标签很少，无标签行很多**，并以全部有标签的情形作为对照。
#
# ### 数据：06 的三个部分，以及教师从未见过的行
#
# 教师是一个在笔记本 06 训练部分的行上微调（fine-tuning）的 AG News 分类器。我们用同一个辅助函数和同一个随机种子重建 06 的训练 / 验证 / 测试三部分，并重复 06 自己挑选训练行的那次调用。学生从训练部分中教师从未训练过的行里学习（`splits.scarce_label_split`）：少量带金标签，更多的行学生永远看不到标签——在这些行上，它只能得到教师的软目标（soft targets）。（这些行的金标签留在数据里，只是为了测量教师在上面的表现。）教师在自己的训练行上会过度自信，输出接近独热标签，能传递的暗知识很少；下面我们测量我们的教师在两类行上分别有多自信。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "f6368a26627e"}
agnews = profile.agnews
parts = ag_news_three_way(
    agnews.use_official_train, agnews.test_size, agnews.val_size, profile.seed
)
class_names = parts["train"].features["label"].names
teacher_rows = stratified_subset(parts["train"], agnews.train_rows, profile.seed)  # 06 中的同一调用
student_rows = scarce_label_split(
    parts["train"], teacher_rows, cfg.distill_labelled_size, cfg.distill_train_size, profile.seed
)
labelled, unlabelled = student_rows["labelled"], student_rows["unlabelled"]
mixed_set = with_hidden_labels(labelled, unlabelled)  # 先是有标签行，然后是无标签行（标签为 -100）
val_set = stratified_subset(parts["validation"], cfg.eval_size, profile.seed)
test_set = parts["test"]
assert not set(labelled["text"]) & set(unlabelled["text"])  # 两部分互不相交
assert not set(mixed_set["text"]) & set(teacher_rows["text"])  # 教师也都没见过
val_labels, test_labels = np.array(val_set["label"]), np.array(test_set["label"])
gold = np.array([*labelled["label"], *unlabelled["label"]])  # 仅用于测量，从不用于训练
tokenizer = load_pretrained(AutoTokenizer, profile.bert)
tok_mixed = tokenize_dataset(mixed_set, tokenizer, cfg.max_len)  # 隐藏处标签为 -100
tok_val = tokenize_dataset(val_set, tokenizer, cfg.max_len)
tok_test = tokenize_dataset(test_set, tokenizer, cfg.max_len)
val_loader = make_loader(tok_val, tokenizer, batch_size=64)
test_loader = make_loader(tok_test, tokenizer, batch_size=64)

# %% keep_output=true slideshow={"slide_type": "-"} zh={"source_sha": "057b0448f609"}
# NBVAL_CHECK_OUTPUT
for name, part in (
    ("teacher's training rows (06)", teacher_rows),
    ("student: labelled", labelled),
    ("student: unlabelled", unlabelled),
    ("validation", val_set),
    ("test", test_set),
):
    counts = np.bincount(part["label"], minlength=len(class_names)).tolist()
    print(f"{name:>28}: {len(part):>6,} rows · per class {counts}")
print("classes:", class_names)
hidden = sum(y == UNLABELLED for y in mixed_set["label"])
print(f"the student's training set: {len(mixed_set) - hidden:,} gold labels, {hidden:,} hidden")
# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "da4b1e8e40c6"}
# ### 教师
#
# 教师在这里按笔记本 06 的做法微调，用的是 06 训练过的行，绝不使用学生的行：`profile.bert` 加一个新的四分类头，训练一轮；主体用 06 的学习率（`teacher_lr`，`quick` 下为 5e-5），新的分类头和池化层快 20 倍（`agnews.head_lr`，与 06 相同），再配上带预热的线性调度。和 06 的 `quick` 运行一样，这里冻结（freezing）了词嵌入表（`freeze_word_embeddings`）：它约占这个小模型一半的权重，保持预训练时的样子，每一步因此更省。这里不复用 06 保存的模型，这样本笔记本可以独立运行，无论之前是否运行过 06，打印的数字都相同。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "211b3621b09f"}
seed_everything(profile.seed)
teacher = load_pretrained(
    AutoModelForSequenceClassification, profile.bert, num_labels=len(class_names)
).to(device)
if cfg.freeze_word_embeddings:  # quick: the V×H table stays as pretrained (as in 06)
    teacher.base_model.embeddings.word_embeddings.weight.requires_grad_(False)
trained_rows = stratified_subset(teacher_rows, cfg.teacher_train_size, profile.seed)  # its rows
loader = make_loader(
    tokenize_dataset(trained_rows, tokenizer, cfg.max_len),
    tokenizer,
    cfg.batch_size,
    shuffle=True,
)
groups = optim.param_groups(  # 06 的做法：新的分类头比预训练的主体学得更快
    teacher,
    cfg.teacher_lr,
    agnews.head_lr,
    head=agnews.head_modules,
    weight_decay=agnews.weight_decay,
)
optimizer = torch.optim.AdamW(groups)
steps = cfg.teacher_epochs * len(loader)
scheduler = optim.make_scheduler(optimizer, "linear", int(0.1 * steps), steps)
fit(teacher, loader, epochs=cfg.teacher_epochs, optimizer=optimizer, scheduler=scheduler)
teacher_source = (
    f"fine-tuned here on {len(trained_rows):,} of 06's rows, {cfg.teacher_epochs} epoch(s)"
)
teacher.to(device).eval()
print(f"teacher: {profile.bert}, {teacher.config.num_hidden_layers} layers, {teacher_source}")

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "fbe212a52fe3"}
# ### 软目标：学生从中学习的东西
#
# 教师对学生各行给出的 logits 只计算**一次**，随批次一起传递（`distill.teacher_logits_loader`），所以无论跑多少次训练，教师都不必再运行。这些软目标有多好？无标签行的金标签（仅为此目的保留）能回答；再取一份教师训练过的行做样本，可以看出它在那里自信多少。然后看一条验证集新闻在逐渐升高的温度下的分布：排序始终不变；显现出来的是剩余概率如何分配给各个错误类别。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "2027a72357a5"}
mixed_logits = predict(teacher, make_loader(tok_mixed, tokenizer, batch_size=64))  # (n, 4)
seen_sample = stratified_subset(trained_rows, len(unlabelled), profile.seed)  # 它训练过的行
tok_seen = tokenize_dataset(seen_sample, tokenizer, cfg.max_len)
seen_logits = predict(teacher, make_loader(tok_seen, tokenizer, batch_size=64))  # (n, 4)
seen_labels = np.array(seen_sample["label"])
for name, logits, labels in (
    ("rows it trained on", seen_logits, seen_labels),
    ("student's rows (unseen)", mixed_logits, gold),
):
    p = F.softmax(logits, dim=-1)  # (n, 4)
    off_top = 1 - p.max(dim=-1).values  # (n,)：落在其余三个类别上的概率质量
    right = float((logits.argmax(dim=-1).numpy() == labels).mean())
    print(
        f"teacher on {name:<23}: accuracy {right:.3f}, mean top probability "
        f"{p.max(dim=-1).values.mean():.3f}, mass off the top class {off_top.mean():.4f}"
    )
row = int(np.flatnonzero(val_labels == class_names.index("Business"))[0])  # 第一条财经新闻
example = tokenizer(
    val_set[row]["text"], truncation=True, max_length=cfg.max_len, return_tensors="pt"
)
with torch.no_grad():
    example_logits = teacher(**example.to(device)).logits[0].cpu()  # (4,)
print(val_set[row]["text"][:100], "…  label:", class_names[val_labels[row]])
distill.plot_soft_targets(example_logits, class_names, temperatures=(1, 2, 5, 10))
plt.show()

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "c89e11ee51a0"}
# 教师在学生的行上（它从未见过这些行）有 0.868 的准确率（在它训练过的行上为 0.896），而且很有把握：它平均给最高类别 0.892 的概率，另外三个类别上只有 0.108 的概率质量（在它自己的训练行上为 0.094）。这百分之几的概率就是暗知识；在 $T=2$ 或 $4$ 时，柱状图把它们显现出来。这样的教师值得模仿，因为它既答得对又有把握；末尾的“延伸阅读”部分会把它的概率压平、答案保持不变，并测量这样做的代价。
#
# ### 损失函数，以及它可能藏着的 NaN
#
# 按最直接的写法——教师用 `softmax`，再取 `.log()`——KL 项里有个陷阱。非常自信的教师（或很低的温度，或半精度）会给出**下溢为恰好 0** 的概率；`log(0) = -inf`，而 KL 中的 `0 · -inf` 就是 `NaN`。一个批次里出现一个 NaN，下一步就会污染所有权重。


# %% slideshow={"slide_type": "-"} zh={"source_sha": "a0e43b1a08f3"}
def soft_loss_naive(student_logits, teacher_logits, temperature):
    p_teacher = F.softmax(teacher_logits / temperature, dim=-1)  # (B, C)：可能含有恰好为 0 的值
    log_p_student = F.log_softmax(student_logits / temperature, dim=-1)  # (B, C)
    kl = (p_teacher * (p_teacher.log() - log_p_student)).sum(dim=-1).mean()  # ()
    return temperature**2 * kl


peaked = torch.tensor([[0.0, 110.0, 5.0, -3.0]])  # (1, 4)：一个非常确定的教师
student_row = torch.tensor([[0.5, 2.0, 0.1, -1.0]])  # (1, 4)
print("teacher probabilities at T=1:", F.softmax(peaked, dim=-1)[0].tolist())
print("naive soft loss:", soft_loss_naive(student_row, peaked, 1.0).item())

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "7ee422cc96a6"}
# 安全的写法始终不离开对数空间：两边都用 `log_softmax`，再用带 `log_target=True` 的 `kl_div`，它计算 $\sum_i e^{\log p_i}(\log p_i - \log q_i)$——下溢的类别贡献 $0 \cdot (\text{有限值})= 0$。下面把它与程序包中经过测试的 `distill.soft_target_loss` 核对，并像 `distill.distillation_loss` 那样与硬标签混合：


# %% slideshow={"slide_type": "-"} zh={"source_sha": "3f780a9b7f6f"}
def soft_loss(student_logits, teacher_logits, temperature):
    log_p_student = F.log_softmax(student_logits / temperature, dim=-1)  # (B, C)
    log_p_teacher = F.log_softmax(teacher_logits.detach() / temperature, dim=-1)  # (B, C)
    kl = F.kl_div(log_p_student, log_p_teacher, reduction="batchmean", log_target=True)  # ()
    return temperature**2 * kl  # T²：T 变化时梯度保持量级


def kd_loss(student_logits, teacher_logits, labels, temperature, alpha):
    hard = F.cross_entropy(student_logits, labels)  # ()
    return alpha * soft_loss(student_logits, teacher_logits, temperature) + (1 - alpha) * hard


print("safe soft loss on the peaked teacher:", soft_loss(student_row, peaked, 1.0).item())
generator = torch.Generator().manual_seed(profile.seed)
s_logits = torch.randn(8, 4, generator=generator)  # (8, 4)
t_logits = torch.randn(8, 4, generator=generator) * 3  # (8, 4)：一个更自信的教师
y = torch.randint(0, 4, (8,), generator=generator)  # (8,)
for temperature in (1.0, 2.0, 5.0):
    torch.testing.assert_close(
        soft_loss(s_logits, t_logits, temperature),
        distill.soft_target_loss(s_logits, t_logits, temperature),
    )
    torch.testing.assert_close(
        soft_loss(s_logits, t_logits, temperature), soft_loss_naive(s_logits, t_logits, temperature)
    )
    for alpha in (0.0, 0.5, 1.0):
        torch.testing.assert_close(
            kd_loss(s_logits, t_logits, y, temperature, alpha),
            distill.distillation_loss(s_logits, t_logits, y, temperature, alpha),
        )
assert torch.isfinite(distill.soft_target_loss(student_row, peaked, 1.0))
zeros_fp32 = int((F.softmax(mixed_logits, dim=-1) == 0).sum())
zeros_fp16 = int((F.softmax(mixed_logits.half(), dim=-1) == 0).sum())
print("soft_loss equals distill.soft_target_loss, and the naive form wherever that is finite")
print(
    f"our teacher's probabilities on the student's rows at T=1 that are exactly 0: "
    f"{zeros_fp32} in float32, {zeros_fp16} in float16 (of {mixed_logits.numel():,})"
)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "4448af9dae30"}
# 我们的教师有把握，但还没有到触发这个陷阱的程度：它在学生各行上的概率没有一个恰好为 0，无论 float32 还是 float16（见上面的输出）；那个尖锐的例子展示了更有把握的教师会带来什么。
#
# ### 学生：教师每隔一层取一层，亲手写出来
#
# BERT 的权重命名为 `bert.encoder.layer.<i>.…`。学生与教师同类、同配置，但层数减半；它的第 $j$ 层从教师的第 $2j$ 层加载，其余部分——嵌入、池化层、分类器——原样复制。然后把结果与程序包中经过测试的 `distill.make_student` 逐个权重、逐个输出地核对。


# %% slideshow={"slide_type": "-"} zh={"source_sha": "39fce6a6fca5"}
def every_other_layer_student(teacher):
    keep = list(range(0, teacher.config.num_hidden_layers, 2))  # DistilBERT：第 0、2、4、… 层
    config = copy.deepcopy(teacher.config)
    config.num_hidden_layers = len(keep)
    student = type(teacher)(config)  # 同一个类，层数更少，暂时是随机权重
    new_number = {old: new for new, old in enumerate(keep)}
    state = {}
    for name, weight in teacher.state_dict().items():
        parts_of_name = name.split(".")
        if "layer" in parts_of_name:  # bert.encoder.layer.<i>.…
            at = parts_of_name.index("layer") + 1
            old = int(parts_of_name[at])
            if old not in new_number:
                continue  # 学生丢弃的层
            parts_of_name[at] = str(new_number[old])
        state[".".join(parts_of_name)] = weight.clone()
    student.load_state_dict(state)  # 严格模式：学生的每个权重都来自教师
    return student, keep


student_init, layer_ids = every_other_layer_student(teacher)
assert distill.layers_match(student_init, teacher, layer_ids)
with torch.no_grad():
    batch = {k: v.to(device) for k, v in next(iter(val_loader)).items() if k != "labels"}
    torch.testing.assert_close(
        student_init.to(device).eval()(**batch).logits,
        distill.make_student(teacher).to(device).eval()(**batch).logits,
    )

# %% keep_output=true slideshow={"slide_type": "-"} zh={"source_sha": "f61c15df5723"}
# NBVAL_CHECK_OUTPUT
print("student layer ← teacher layer:", {new: old for new, old in enumerate(layer_ids)})
for name, model in (("teacher", teacher), ("student", student_init)):
    in_table = efficiency.parameters_by_component(model)["token embeddings"]
    total = efficiency.count_parameters(model)
    print(
        f"{name}: {model.config.num_hidden_layers} layers, {total:,} parameters "
        f"({in_table:,} of them in the token embeddings)"
    )

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "5a6595fe035b"}
# 深度减半，各层的计算量也减半，但参数量并没有减半：未被触动的 $V\times H$ 词元嵌入表在小模型中占了很大比例——正是 ALBERT 所分解的那张表。
#
# ### 训练循环，亲手写出来
#
# 下面的每一次训练都用同一个循环。一个 $B$ 行的批次带着硬标签（标签被隐藏的行为 -100）和教师的 logits。损失是 $B$ 行上 $\alpha T^2 \mathrm{KL}$ 的均值，再加上有标签行的 $(1-\alpha)\,\mathrm{CE}$：带 `ignore_index=-100` 的 `cross_entropy` 对其他行不计任何损失，所以无标签行只通过软目标项起作用，而 $\alpha = 0$ 就是有标签行上普通的交叉熵（cross-entropy）。`start_run` 为每次训练提供学生的一个新副本（`quick` 下它的词嵌入表和教师的一样被冻结）、按该次训练的随机种子打乱的批次、AdamW，以及带预热（warmup）的线性学习率调度。这个循环与程序包的 `distill.train_student` 核对：同样的批次之后得到同样的权重。


# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "bb3595e052f6"}
def train_student_by_hand(student, loader, optimizer, scheduler, epochs, temperature, alpha):
    for _ in range(epochs):
        student.train()
        for batch in loader:
            batch = {key: value.to(device) for key, value in batch.items()}
            labels = batch.pop("labels")  # (B,)：金标签被隐藏处为 -100
            teacher_logits = batch.pop("teacher_logits")  # (B, C)：事先只算一次
            logits = student(**batch).logits  # (B, C)
            log_q = F.log_softmax(logits / temperature, dim=-1)  # (B, C) 学生
            log_p = F.log_softmax(teacher_logits / temperature, dim=-1)  # (B, C) 教师
            kl = F.kl_div(log_q, log_p, reduction="batchmean", log_target=True)  # ()
            ce = F.cross_entropy(logits, labels, ignore_index=UNLABELLED, reduction="sum")  # ()
            loss = alpha * (temperature**2 * kl) + (1 - alpha) * (ce / len(labels))  # ()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
    return student


def start_run(tokenized, logits, seed, epochs):
    """A fresh copy of the student, its batches (shuffled by `seed`), AdamW and a schedule."""
    seed_everything(seed)  # 同一随机种子的每次训练用相同的随机失活掩码
    student = copy.deepcopy(student_init).to(device)
    if cfg.freeze_word_embeddings:  # quick: the V×H table stays as the teacher's
        student.base_model.embeddings.word_embeddings.weight.requires_grad_(False)
    loader = distill.teacher_logits_loader(
        tokenized, tokenizer, logits, cfg.batch_size, shuffle=True, seed=seed
    )
    optimizer = torch.optim.AdamW(student.parameters(), lr=cfg.student_lr)
    steps = epochs * len(loader)
    scheduler = optim.make_scheduler(optimizer, "linear", int(0.1 * steps), steps)
    return student, loader, optimizer, scheduler


check_rows = range(cfg.distill_labelled_size - 32, cfg.distill_labelled_size + 96)  # 两类行都有
tok_check, logits_check = tok_mixed.select(check_rows), mixed_logits[list(check_rows)]
by_hand = train_student_by_hand(*start_run(tok_check, logits_check, 0, 1), 1, 2.0, 0.5)
packaged, loader, optimizer, scheduler = start_run(tok_check, logits_check, 0, 1)
distill.train_student(
    packaged,
    loader,
    optimizer,
    epochs=1,
    temperature=2.0,
    alpha=0.5,
    scheduler=scheduler,
    progress=False,
)
torch.testing.assert_close(by_hand.state_dict(), packaged.state_dict())
print(f"{len(loader)} steps on {len(tok_check)} rows: the same weights as distill.train_student")
del by_hand, packaged

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "a640bf9163ae"}
# ### 在验证集上选择 $T$ 和 $\alpha$
#
# 常用取值（$T=2$、$\alpha=0.5$）来自别的任务。我们在一个随机种子上尝试小网格（`EfficientConfig.temperatures` × `EfficientConfig.alphas`）中的每一对取值，在验证行上给每个学生打分，保留最好的一对。随后的对比使用新的随机种子，这样这对取值碰上的好运种子不会让它显得更好。每次训练的优化器步数相同：在有标签和无标签行合在一起的数据上训练一轮（epoch）。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "5628c6b23639"}
tok_labelled = tok_mixed.select(range(len(labelled)))  # 只有有标签行
labelled_logits = mixed_logits[: len(labelled)]
steps_kd = math.ceil(len(mixed_set) / cfg.batch_size) * cfg.distill_epochs
labels_only_epochs = math.ceil(steps_kd / math.ceil(len(labelled) / cfg.batch_size))


def train_copy(tokenized, logits, temperature, alpha, seed, epochs):
    student, loader, optimizer, scheduler = start_run(tokenized, logits, seed, epochs)
    distill.train_student(
        student,
        loader,
        optimizer,
        epochs=epochs,
        temperature=temperature,
        alpha=alpha,
        scheduler=scheduler,
        progress=False,
    )
    return student


def accuracy_on(model, loader, labels):
    return float((predict(model, loader).argmax(dim=-1).numpy() == labels).mean())


grid = [(t, a) for t in cfg.temperatures for a in cfg.alphas]
grid_accuracy = {}
for t, a in tqdm(grid, desc="T, alpha"):
    student = train_copy(tok_mixed, mixed_logits, t, a, profile.seed, cfg.distill_epochs)
    grid_accuracy[t, a] = accuracy_on(student, val_loader, val_labels)
temperature, alpha = max(grid_accuracy, key=grid_accuracy.get)
print(pd.Series(grid_accuracy, name="validation accuracy").rename_axis(["T", "alpha"]).unstack())
print(f"chosen on validation: T={temperature:g}, alpha={alpha:g}; every run {steps_kd} steps")

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "976ab43d2ae0"}
# ### 少量标签 + 软目标，对比只用这些标签的同一个学生
#
# 对每个随机种子，训练学生的两个副本，优化器步数、学习率调度（learning rate schedule）和随机失活（dropout）掩码都相同：
#
# * **labels only（仅标签）** —— 只在有标签行上用交叉熵训练，循环多轮，直到步数与另一方相同；
# * **labels + KD（标签 + 蒸馏）** —— 有标签行使用选出的 $T$ 和 $\alpha$，再加上无标签行，后者只有教师的软目标。
#
# 还有**对照**，即如今常见的全部有标签设定：完全相同的行，每条金标签都给出，普通交叉熵对比同一个蒸馏损失。它回答的是：当标签已经齐全时，软目标还能否带来增益。每次训练都在验证行上打分；少标签情形的两个学生还会在测试行上打分——只在所有选择都做完之后才读取。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "4057b2451268"}
runs = {  # 名称: (行, 教师 logits, alpha, 轮数)
    "labels only": (tok_labelled, labelled_logits, 0.0, labels_only_epochs),
    "labels + KD": (tok_mixed, mixed_logits, alpha, cfg.distill_epochs),
}
seeds_kd = [profile.seed + 1 + s for s in range(cfg.distill_seeds)]  # 不是调参用的随机种子
val_acc = {name: [] for name in runs}
test_predictions = {name: [] for name in runs}  # 每个随机种子一个 (n_test,)，在所有选择之后才读取
for seed in tqdm(seeds_kd, desc="few labels: seeds"):
    for name, (rows, logits, a, epochs) in runs.items():
        student = train_copy(rows, logits, temperature, a, seed, epochs)
        val_acc[name].append(accuracy_on(student, val_loader, val_labels))
        test_predictions[name].append(predict(student, test_loader).argmax(dim=-1).numpy())
        if name == "labels + KD" and seed == seeds_kd[0]:
            kept_student = student  # 下面保存

# %% slideshow={"slide_type": "-"} zh={"source_sha": "fd82c3173fa6"}
tok_all = tok_mixed.remove_columns("labels").add_column("labels", gold.tolist())  # 每条标签都给出
control_runs = {  # 同样的行，每条金标签都给出
    "control: all labelled": (tok_all, mixed_logits, 0.0, cfg.distill_epochs),
    "control: all labelled + KD": (tok_all, mixed_logits, alpha, cfg.distill_epochs),
}
val_acc |= {name: [] for name in control_runs}
for seed in tqdm(seeds_kd, desc="control: seeds"):
    for name, (rows, logits, a, epochs) in control_runs.items():
        student = train_copy(rows, logits, temperature, a, seed, epochs)
        val_acc[name].append(accuracy_on(student, val_loader, val_labels))
teacher_val_accuracy = accuracy_on(teacher, val_loader, val_labels)

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "6130a82132f3"}
rows_table = {}
for regime, plain, kd in (
    ("few labels", "labels only", "labels + KD"),
    ("control", "control: all labelled", "control: all labelled + KD"),
):
    gain, sd = stats.paired_seed_difference(val_acc[kd], val_acc[plain])
    rows_table[regime] = {
        "without KD": stats.format_mean_sd(val_acc[plain]),
        "with KD": stats.format_mean_sd(val_acc[kd]),
        "KD minus without, paired by seed": f"{gain:+.4f} ± {sd:.4f}",
        "detectable (95 %, power 0.8)": (
            f"{stats.min_detectable_difference(len(seeds_kd), row_sd=sd):.4f}"
        ),
    }
print(f"validation accuracy, {len(val_labels):,} rows, mean ± sd over {len(seeds_kd)} seeds")
display(pd.DataFrame(rows_table).T)
print(f"teacher ({teacher.config.num_hidden_layers} layers): {teacher_val_accuracy:.4f}")
fig, ax = plt.subplots(figsize=(6.5, 3.4))
for x, (plain, kd) in enumerate(
    (("labels only", "labels + KD"), ("control: all labelled", "control: all labelled + KD"))
):
    for i in range(len(seeds_kd)):
        ax.plot([2 * x, 2 * x + 1], [val_acc[plain][i], val_acc[kd][i]], "o-", color=f"C{x}")
ax.axhline(teacher_val_accuracy, color="gray", ls="--", label="teacher")
ax.set(xticks=range(4), xticklabels=["few labels", "+ KD", "all labelled", "+ KD"])
ax.set(ylabel="validation accuracy", title=f"{len(seeds_kd)} seeds, each line a pair")
ax.legend(fontsize=8)
ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()
# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "adf7a86d1f04"}
# 要看成对的结果，而不是均值：一个随机种子同时改变一对学生的批次顺序和随机失活掩码，所以每条线都是一次受控的比较，成对差值的标准差就是训练噪声。每个差值旁边给出在该标准差下 3 对随机种子能检测到的最小差值（正态近似；只有 3 个种子时，基于 t 分布的数值会更大）。
#
# * **少量标签：蒸馏有帮助。** 加入只有教师标注的 384 行后，验证准确率从 0.8043 升到 0.8465：+0.0422 ± 0.0180，超过这些种子能检测到的 0.0292。只用 32 条标签训练的学生（每条看了 13 遍）停在 0.80 附近；在没有标签的行上，软目标把它往教师的 0.8947 推进了大约一半。
# * **对照：全部有标签。** 同样的 416 行、每条金标签都给出时，软目标仍有增益，但小得多：+0.0060 ± 0.0025，刚刚超过可检测的 0.0041。标签齐全时，教师的分布已没有多少可补充的；标签缺失时，它就是学生唯一的老师。
#
# 网格中的六对 $(T, \alpha)$ 在那一个调参种子上的得分介于 0.824 和 0.840 之间：这个差距小于种子之间成对差值的标准差 0.018，所以在这些行上 $T$ 和 $\alpha$ 的选择几乎无关紧要，网格选中了 $T=1$、$\alpha=0.9$。`full` 配置档（profile）蒸馏的是在 48,000 行上训练了三轮的教师，它没有在这里运行过。
#
# ### 测试，只做一次
#
# 验证集选定了 $T$ 和 $\alpha$；测试行没有参与任何选择，现在逐个随机种子地给少标签情形的两个学生打分，并与它们的教师并列。速度单独计时：几个模型在同一个 64 行的测试批次上轮流运行，取中位数。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "b2a7cd3f4e28"}
test_acc = {
    name: [float((p == test_labels).mean()) for p in predictions]
    for name, predictions in test_predictions.items()
}
teacher_test = predict(teacher, test_loader).argmax(dim=-1).numpy()
timing_batch = {k: v.to(device) for k, v in next(iter(test_loader)).items() if k != "labels"}
batch_seconds = efficiency.compare_forward_seconds(
    {"teacher": teacher, "student": kept_student}, timing_batch, cfg.timing_repeats
)
gain, sd = stats.paired_seed_difference(test_acc["labels + KD"], test_acc["labels only"])
table = pd.DataFrame(
    {
        "test accuracy": [
            f"{(teacher_test == test_labels).mean():.4f}",
            *(stats.format_mean_sd(test_acc[name]) for name in test_acc),
        ],
        "layers": [teacher.config.num_hidden_layers, *[kept_student.config.num_hidden_layers] * 2],
        "parameters": [efficiency.count_parameters(teacher)]
        + [efficiency.count_parameters(kept_student)] * 2,
        "speed-up": [1.0, *[batch_seconds["teacher"] / batch_seconds["student"]] * 2],
    },
    index=["teacher", *test_acc],
)
print(f"{len(test_labels):,} test rows, scored once; teacher: {teacher_source}")
detectable_kd = stats.min_detectable_difference(len(seeds_kd), row_sd=sd)
print(f"labels + KD minus labels only, paired by seed: {gain:+.4f} ± {sd:.4f}")
print(f"smallest difference {len(seeds_kd)} paired seeds would detect: {detectable_kd:.4f}")
table.round(2)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "d5d46edf5b68"}
# 只打一次分的测试行给出一致的结论：标签 + 蒸馏减去仅标签为 +0.0285 ± 0.0050（3 个随机种子，0.8026 → 0.8311），超过这些种子能检测到的 0.0081；教师得分 0.8875。学生的层数是教师的一半，在本次构建中，同一批次上快了约一倍（speed-up 一列）：每个词元几乎所有的计算都在层里。它的参数量下降得少得多，从 22.7 M 降到 17.4 M，因为嵌入表的 11.7 M 参数保留着。`full` 配置档用 1,000 行有标签和 40,000 行无标签数据蒸馏 `bert-base-uncased`（12 层 → 6 层）（`NLPCOURSE_PROFILE=full`）；它没有在这里运行过。
#
# 蒸馏得到的学生像课程中每个训练好的模型一样被保存，然后重新加载：

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "4cd679e28803"}
student_dir = run_dir("08_efficient_models") / "student"
kept_student.save_pretrained(student_dir)  # config.json + model.safetensors
tokenizer.save_pretrained(student_dir)
reloaded = AutoModelForSequenceClassification.from_pretrained(student_dir).to(device).eval()
with torch.no_grad():
    torch.testing.assert_close(
        reloaded(**timing_batch).logits, kept_student.eval()(**timing_batch).logits
    )
print(f"saved to {student_dir.relative_to(student_dir.parents[2])}, reloaded: identical logits")
del reloaded
# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "a5b32594198c"}
# ## 3 · int8：同一个分类器，线性层只占四分之一的字节
#
# 蒸馏是训练一个更小的模型。**训练后量化**保留原模型，只是把数字存得更粗：线性层的每个权重矩阵变成 8 位整数，再加上每个输出行一个浮点缩放因子，$W \approx s\cdot W_{int8}$。*动态*量化把权重量化一次，激活值则在每次调用时即时量化，所以不需要校准数据——对训练好的模型调用一次即可。它在 CPU 上运行，而部署的模型常常就跑在 CPU 上，所以无论模型是在什么设备上训练的，本节都在 CPU 上测量。
#
# 用哪个调用？PyTorch 2.13 把 `torch.ao.quantization.quantize_dynamic` 标为已弃用，改推独立的 `torchao` 包。它的 `quantize_(model,
# Int8DynamicActivationInt8WeightConfig())` 是同一方案仍在维护的写法，而且能在这台 CPU 上运行，所以本课使用它（`efficiency.quantize_int8_torchao` 在模型的副本上包装了这次调用）。被量化的模型是那个 AG News 分类器，也就是上面的教师，从三个方面测量：磁盘上的字节数、同一批次上的延迟，以及量化前后在每一条测试行上的准确率。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "84a73f9506ba"}
float_model = copy.deepcopy(teacher).cpu().eval()
int8_model = efficiency.quantize_int8_torchao(float_model)  # 每个 nn.Linear：int8 权重
print("weight type of a linear layer:", type(int8_model.classifier.weight).__name__)
print("linear layers before:", efficiency.count_linear_layers(float_model))
print("linear layers after: ", efficiency.count_linear_layers(int8_model))
size = {
    "float32": efficiency.saved_size_bytes(float_model),
    "int8": efficiency.saved_size_bytes(int8_model),
}
in_embeddings = efficiency.parameters_by_component(float_model)["token embeddings"] * 4  # 字节
print(
    f"on disk: float32 {size['float32'] / 2**20:.1f} MiB, int8 {size['int8'] / 2**20:.1f} MiB "
    f"({size['float32'] / size['int8']:.2f}× smaller); the token embeddings alone, still float32: "
    f"{in_embeddings / 2**20:.1f} MiB"
)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "f08211bd8ce7"}
# 只有线性层缩小到四分之一；嵌入表和 LayerNorm 仍是 float32，所以整个文件缩小得没那么多——又是我们已经遇到两次的那张大表。
#
# 准确率：两个模型给所有测试行打标签，在这些行上做成对自助法（bootstrap）得到差值的置信区间（confidence interval）。旁边给出这些行能检测到的最小差值（95 %、检验力 0.8），由每行正确与否之差的标准差算出。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "a5cd2db0dae4"}
cpu_test_loader = make_loader(tok_test, tokenizer, batch_size=32)
quant_predictions = {
    "float32": predict(float_model, cpu_test_loader).argmax(dim=-1).numpy(),
    "int8": predict(int8_model, cpu_test_loader).argmax(dim=-1).numpy(),
}
agree = float((quant_predictions["float32"] == quant_predictions["int8"]).mean())
row_diff = (quant_predictions["int8"] == test_labels).astype(float) - (
    quant_predictions["float32"] == test_labels
)  # (n_test,)：每行为 +1、0 或 -1
detectable = stats.min_detectable_difference(len(test_labels), row_sd=float(row_diff.std(ddof=1)))
print(f"all {len(test_labels):,} test rows; the two models agree on {agree:.1%} of them")
print(f"smallest difference these rows would detect (95 %, power 0.8): {detectable:.4f}")
compare_variants(test_labels, quant_predictions, against={"int8": "float32"}).round(4)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "1ffadd8c3e37"}
# 两个模型在 1,520 条测试行中的 99.5 % 上给出相同答案。准确率从 0.8875 变为 0.8849：差值为 −0.0026，成对 95 % 区间为 [−0.0066, 0.0007]——没有可测量的差异，而 0.0052 大小的差异有 80 % 的概率会被发现。在这些行上，int8 没有给这个分类器带来测试集能看出的任何损失。
#
# 延迟：float32 模型和 int8 模型在同样的四个测试批次上轮流运行，取各轮的中位数。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "c0472356939b"}
timing_batches = [{k: v for k, v in b.items() if k != "labels"} for b in list(cpu_test_loader)[:4]]


def run_batches(model):
    def run():
        with torch.inference_mode():
            for batch in timing_batches:  # 每个模型用同样的批次
                model(**batch)

    return run


latency = compare_seconds(
    {n: run_batches(m) for n, m in (("float32", float_model), ("int8", int8_model))},
    repeats=cfg.timing_repeats,
)
rows_timed = sum(len(b["input_ids"]) for b in timing_batches)
for name, seconds in latency.items():
    print(
        f"{name:<8} {seconds * 1000:7.1f} ms for {rows_timed} rows ({rows_timed / seconds:,.0f} rows/s)"
    )
print(f"int8 / float32 time on this CPU: {latency['int8'] / latency['float32']:.2f}×")

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "3083be15475b"}
# 在这些共享核心上，我们各次运行中 torchao 的 int8 在同样批次上用时是 float32 的 0.6 到 0.8 倍（本次运行的比值见上面的输出）：更快，但快得不及线性层字节数缩小的 4 倍——每次调用还要量化激活值，而注意力中的矩阵乘积、softmax 和 LayerNorm 仍是 float32。动态 int8 只需一次调用、不需要数据，因此是 CPU 部署时首先值得尝试的办法；它能省多少取决于 CPU 的 int8 指令以及线性层在总时间中所占的比例，所以要在实际提供服务的机器上测量。

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "4bf5fa6b9abf"}
# ## 延伸阅读
#
# ### 已弃用的 `torch.ao` 调用，与 torchao 并排计时
#
# `torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)` 把每个线性层换成一个带有自己 CPU 内核的量化模块（`efficiency.quantize_dynamic_int8`，其弃用警告已被屏蔽）。方案相同，内核不同：三个模型在与上面相同的批次上轮流运行。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "9bd6546cf77e"}
old_int8 = efficiency.quantize_dynamic_int8(float_model)  # nn.Linear → torch.ao 的动态量化 Linear
print("linear layers:", efficiency.count_linear_layers(old_int8))
with torch.inference_mode():
    old_classes = torch.cat([old_int8(**b).logits.argmax(-1) for b in timing_batches])  # (128,)
    new_classes = torch.cat([int8_model(**b).logits.argmax(-1) for b in timing_batches])  # (128,)
same = int((old_classes == new_classes).sum())
print(f"torch.ao and torchao int8 give the same class on {same} of {rows_timed} rows")
latency_all = compare_seconds(
    {
        "float32": run_batches(float_model),
        "int8, torchao": run_batches(int8_model),
        "int8, torch.ao (deprecated)": run_batches(old_int8),
    },
    repeats=cfg.timing_repeats,
)
for name, seconds in latency_all.items():
    print(f"{name:<28} {seconds * 1000:7.1f} ms  ({seconds / latency_all['float32']:.2f}× float32)")

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "2d11d9cccf0e"}
# 迄今每次运行中，已弃用调用的内核都是更快的 int8 路径——用时约为 float32 的 0.4 倍，torchao 则为 0.6–0.75 倍（本次运行的比值见上面的输出）——而两个 int8 模型在计时的 128 行中有 118 行给出相同类别：它们的舍入方式不同。本课保留 torchao，是因为第 3 节测得的结果——仍在维护的调用、同样省下的字节、没有可测量的准确率损失；同时指出，在这台 CPU 上以 eager 方式运行时，已弃用的内核更快。torchao 在 `torch.compile` 下的 CPU 速度没有在这里测量。

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "f3cdcb484a16"}
# ### 同一个教师，没那么有把握
#
# 第 2 节说，教师值得模仿，是因为它既答得对又有把握。这个测试把两者分开：在蒸馏之前，把教师在学生各行上的 logits 除以 `flat_teacher_divisor`。每一行都保留教师对各类别的排序，所以它的答案和准确率都不变，变平的只是概率。然后完全按照“标签 + 蒸馏”的方式训练学生——同样的 $T$ 和 $\alpha$、随机种子、批次和步数——并逐个种子地与第 2 节的两个学生比较。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "af0a0a10dbd3"}
flat_logits = mixed_logits / cfg.flat_teacher_divisor  # (n, 4)：argmax 不变，softmax 更平
assert torch.equal(flat_logits.argmax(dim=-1), mixed_logits.argmax(dim=-1))
for name, logits in (("teacher", mixed_logits), ("teacher, flattened", flat_logits)):
    top = F.softmax(logits, dim=-1).max(dim=-1).values.mean()  # 平均最高概率，T=1
    right = (logits.argmax(dim=-1).numpy() == gold).mean()
    print(f"{name:<18}: right on {right:.3f} of the student's rows, mean top probability {top:.3f}")
val_acc["labels + flat KD"] = [
    accuracy_on(
        train_copy(tok_mixed, flat_logits, temperature, alpha, seed, cfg.distill_epochs),
        val_loader,
        val_labels,
    )
    for seed in tqdm(seeds_kd, desc="flattened teacher: seeds")
]
print(f"labels + flat KD: {stats.format_mean_sd(val_acc['labels + flat KD'])} on validation")
for other in ("labels + KD", "labels only"):
    gain, sd = stats.paired_seed_difference(val_acc["labels + flat KD"], val_acc[other])
    detectable = stats.min_detectable_difference(len(seeds_kd), row_sd=sd)
    print(f"  minus {other:<11}: {gain:+.4f} ± {sd:.4f} (detectable {detectable:.4f})")

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "825354d73c07"}
# 除以 6 之后，教师的 logits 保留了每一个答案——无论压平与否，它在学生的行上都有 0.868 的准确率——而平均最高概率从 0.892 降到 0.431。模仿压平后教师的学生在验证集上得分 0.7719 ± 0.0468：比模仿未压平的同一教师的学生低 0.0746 ± 0.0361，超过这些种子能检测到的 0.0584；与仅标签学生之间则没有可测量的差距（−0.0323 ± 0.0477，可检测的差值为 0.0772）。它的各个种子也分散得多，标准差是后者的三倍（0.047 对 0.015）。答案相同、把握变小，蒸馏的增益就没有了：教师可以答得对，却依然教得不好。一种解读：软项对每个 logit 的梯度是学生的概率减去教师的概率（再除以 $T$），平坦的目标让正确类别与其他类别之间只差一点点，所以同样的 13 步把学生往正确答案推得更少；本笔记本没有进一步检验这个解读。

# %% slideshow={"slide_type": "skip"} zh={"source_sha": "65789209467c"}
del float_model, int8_model, old_int8
print(f"notebook wall time so far: {time.perf_counter() - notebook_start:.0f} s")

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "7afacf99a0ae"}
# ## 练习
#
# **1. 嵌入分解。** ALBERT-xxlarge 的隐藏层大小 $H=4096$，嵌入大小 $E=128$，SentencePiece 词表大小 $V=30{,}000$。与一张 $V\times H$ 的表相比，分解在词元嵌入上省下了多少参数？（计入各表和投影的权重；忽略偏置项。）

# %% slideshow={"slide_type": "skip"} zh={"source_sha": "bd7917b3190e"}
from nlpcourse.exercises.ch08 import (
    check_embedding_savings,
    check_hidden_label_loss,
    check_make_student,
    check_safe_kd,
)

saved_parameters = None  # 你的答案：一个整数
check_embedding_savings(saved_parameters)

# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"] zh={"source_sha": "4180a36a5cfd"}
V, H, E = 30_000, 4_096, 128
saved_parameters = V * H - (V * E + E * H)
assert check_embedding_savings(saved_parameters)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "4186c41590b4"}
# **2. 不用 `kl_div` 的安全软目标。** 编写 `my_soft_loss(student_logits,
# teacher_logits, T)`，返回 $T^2\,\mathrm{KL}(p_T^{teacher}\,\|\,p_T^{student})$，对类别求和、对行取均值，只能用 `F.log_softmax`、`.exp()` 和求和——不能用 `F.kl_div`，也不能用 `F.softmax`。检查函数会在一个 softmax 下溢的教师上运行它，上面那种朴素写法在那里会得到 NaN。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "37722a8aa538"}
my_soft_loss = None  # 你的函数 (student_logits, teacher_logits, T) -> loss
check_safe_kd(my_soft_loss)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"] zh={"source_sha": "8cc18a33120d"}
def my_soft_loss(student_logits, teacher_logits, T):
    log_q = F.log_softmax(student_logits / T, dim=-1)  # (B, C)
    log_p = F.log_softmax(teacher_logits / T, dim=-1)  # (B, C)，即使 p 下溢也是有限值
    return T**2 * (log_p.exp() * (log_p - log_q)).sum(dim=-1).mean()


assert check_safe_kd(my_soft_loss)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "f124dc8d2ec0"}
# **3. 大部分标签被隐藏时的损失。** 为一个 $B$ 行的批次编写 `my_kd_loss(student_logits,
# teacher_logits, labels, T, alpha)`，其中标签 -100 表示“隐藏”：所有 $B$ 行上 $\alpha T^2 \mathrm{KL}$ 的均值，加上 $(1-\alpha)$ 乘以只在有标签行上求和、再除以 $B$ 的交叉熵——也就是第 2 节循环所计算的损失。检查函数给它一个含一条金标签和两条隐藏标签的批次。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "d5b8db1a60a4"}
my_kd_loss = None  # 你的函数 (student_logits, teacher_logits, labels, T, alpha) -> loss
check_hidden_label_loss(my_kd_loss)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"] zh={"source_sha": "9e61551f20ef"}
def my_kd_loss(student_logits, teacher_logits, labels, T, alpha):
    log_q = F.log_softmax(student_logits / T, dim=-1)  # (B, C)
    log_p = F.log_softmax(teacher_logits / T, dim=-1)  # (B, C)
    kl = F.kl_div(log_q, log_p, reduction="batchmean", log_target=True)  # ()：对 B 行取均值
    ce = F.cross_entropy(student_logits, labels, ignore_index=-100, reduction="sum")  # ()
    return alpha * T**2 * kl + (1 - alpha) * ce / len(labels)


assert check_hidden_label_loss(my_kd_loss)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "027f5e8b74a1"}
# **4. 动手术造学生。** 第 2 节用重命名后的 state dict 构建了学生。换一种方式构建同一个学生：`my_make_student(teacher)` 深拷贝教师，保留 `model.bert.encoder.layer`（一个 `nn.ModuleList`）中每隔一层的一层，并更新配置，让学生知道自己有几层。教师本身不能被改动。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "7c1a068ecd9a"}
my_make_student = None  # 你的函数 teacher -> student
check_make_student(my_make_student)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"] zh={"source_sha": "df800bb1d0ac"}
def my_make_student(teacher):
    student = copy.deepcopy(teacher)
    layers = student.bert.encoder.layer
    student.bert.encoder.layer = torch.nn.ModuleList(layers[i] for i in range(0, len(layers), 2))
    student.config.num_hidden_layers = len(student.bert.encoder.layer)
    return student


assert check_make_student(my_make_student)
