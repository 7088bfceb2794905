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

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "bfc341aa65a0"}
# # 05 · 微调策略：句向量、任务头、学习率、预热与冻结
#
# 文章第 3.2 节为微调（fine-tuning）预训练（pretrained）模型给出了两条建议：
#
# 1. **让顶层适配任务。** 在编码器（encoder）之上放一个分类或回归头，例如接在 `BertModel` 的 `[CLS]` 向量 `outputs.last_hidden_state[:, 0, :]` 上。
# 2. **使用不同的学习率（learning rate）。** 预训练的主体学得慢（2e-5），新加的层学得快（1e-3），再用 `get_linear_schedule_with_warmup(optimizer, 100, 1000)` 这样的学习率调度（learning rate schedule）在训练中调整学习率。
#
# 本笔记本先把这两条建议写成可以逐行查看的代码，再对它们进行测量：
#
# | 节 | 你将看到 |
# |---|---|
# | 1 | 同一个 `BertModel` 给出的三种句向量：`[CLS]`、pooler 输出、考虑掩码的平均池化 |
# | 2 | 训练 / 验证 / 测试三部分，以及哪种冻结的向量知道新闻主题 |
# | 3 | 一个分类头和一个回归头，并与 `BertForSequenceClassification` 对照检查 |
# | 4 | AdamW 参数组：主体 2e-5，分类头 1e-3，偏置项和 LayerNorm 不做权重衰减 |
# | 5 | 分层学习率衰减 |
# | 6 | 预热调度，并把 `transformers` 的调度重写为 PyTorch 的 `LambdaLR` |
# | 7 | 冻结与 LoRA：可训练参数量，以及公平计时的训练步 |
# | 8 | 所有策略：现场运行（每个策略一次短训练）与一次记录运行（4 轮、扫描学习率、3 个随机种子） |
#
# 在 `quick` 配置档（profile）中，BERT 是 `sentence-transformers/all-MiniLM-L6-v2`：一个真实的 6 层 BERT（隐藏维度 384），它被训练成**通过平均池化（mean pooling）**产生句子嵌入（embedding）——在第 1、2、8 节中请记住这一点。

# %% [markdown] slideshow={"slide_type": "notes"} zh={"source_sha": "1d390a68450f"}
# 讲者备注。本课的主线：文章的每条建议先用几行代码写出来、与库的实现对照检查，然后再测量。第 8 节中的每个数字都来自**验证**部分；测试部分在这里从不读取（笔记本 06 只对它评分一次）。现场运行有意做得很短（受 CPU 预算限制），不能用来给策略排名；排名来自记录运行（recorded run），而且只通过它的标签（配置档、日期、硬件）来读。

# %% slideshow={"slide_type": "skip"} zh={"source_sha": "6f0c8793ca9c"}
# 先导入：nlpcourse.config 会压下 torchao 导入时的警告（transformers 会导入 torchao）
from nlpcourse.config import get_device, get_profile, seed_everything

# isort: split
import copy
import os
import time
from functools import partial

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch.optim.lr_scheduler import LambdaLR
from tqdm.auto import tqdm
from transformers import (
    AutoTokenizer,
    BertForSequenceClassification,
    BertModel,
    get_linear_schedule_with_warmup,
)
from transformers.utils import logging as hf_logging

from nlpcourse.data.checkpoints import load_pretrained
from nlpcourse.data.splits import ag_news_three_way, stratified_subset
from nlpcourse.evaluate.comparison import compare_variants
from nlpcourse.evaluate.efficiency import count_parameters
from nlpcourse.evaluate.records import load_record, record_label
from nlpcourse.evaluate.seed_stats import chance_passes, seed_comparison_table
from nlpcourse.evaluate.timing import compare_step_seconds
from nlpcourse.models.heads import EncoderClassifier
from nlpcourse.models.lora import merge_lora
from nlpcourse.models.pooling import capture_inputs, mean_pool, topic_cosines
from nlpcourse.plots.finetune import (
    plot_cosine_histograms,
    plot_layer_rates,
    plot_recorded_losses,
    plot_schedules,
)
from nlpcourse.plots.training import plot_runs
from nlpcourse.text.hf_batches import make_loader, tokenize_dataset
from nlpcourse.train.loop import predict, to_device
from nlpcourse.train.optim import (
    bert_freeze_prefixes,
    describe_groups,
    freeze,
    lr_curve,
    param_groups,
)
from nlpcourse.train.strategies import (
    NOTEBOOK,
    REFERENCE,
    STRATEGIES,
    build_model,
    equal_mean_scale,
    make_optimizer,
    train_strategy,
)

profile = get_profile()
seed_everything(profile.seed)
cfg = profile.finetune
device = get_device()
hf_logging.disable_progress_bar()
print(f"profile {profile.name!r} · checkpoint {profile.bert} · device {device}")
print(
    f"torch {torch.__version__} · {torch.get_num_threads()} CPU threads · "
    f"load average {os.getloadavg()[0]:.1f}"
)
notebook_start = time.perf_counter()

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "02d16b768f4d"}
# ## 1 · 同一个 `BertModel` 给出的三种句向量
#
# 文章中的代码片段，用今天的库来写：分词、运行编码器、取最后一个隐藏层的第 0 个位置。`BertModel` 返回 `last_hidden_state`（每个词元（token）一个向量）和 `pooler_output`（每段文本一个向量）。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "5cb523b37f7d"}
tokenizer = load_pretrained(AutoTokenizer, profile.bert)
encoder = load_pretrained(BertModel, profile.bert).to(device).eval()

inputs = tokenizer("Sample text", return_tensors="pt").to(device)  # input_ids (1, T)
with torch.no_grad():
    outputs = encoder(**inputs)
cls_output = outputs.last_hidden_state[:, 0, :]  # (1, H)：[CLS] 词元的向量

# %% keep_output=true slideshow={"slide_type": "-"} zh={"source_sha": "4a54fefa0ad7"}
# NBVAL_CHECK_OUTPUT
print("tokens:", tokenizer.convert_ids_to_tokens(inputs["input_ids"][0]))
print("last_hidden_state", tuple(outputs.last_hidden_state.shape))  # (批次, 词元, 隐藏维度)
print("cls_output       ", tuple(cls_output.shape))
print("pooler_output    ", tuple(outputs.pooler_output.shape))

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "dadb0471aca2"}
# 三个候选向量分别是什么：
#
# * **`[CLS]`**：`last_hidden_state[:, 0]`。`[CLS]` 词元本身不对应任何单词；经过十二轮（这里是六轮）注意力机制（attention）的计算，它可以汇集整段文本的信息。在原始 BERT 中，它通过 pooler 被训练来预测两个句子是否前后相接（下一句预测）。**经过微调之后**，分类头的梯度会教会它该汇集什么，它才成为一个好的*分类*输入。
# * **`pooler_output`**：`tanh(W · h_[CLS] + b)`，即 `[CLS]` 之上的一个全连接层，只为下一句预测训练过。`BertForSequenceClassification` 就是用它来分类的。这个检查点（checkpoint）的 pooler 来自它的基础模型，**没有**参与句子嵌入的训练。
# * **平均池化**：词元向量的平均值，*只计算真实的词元*：在经过填充（padding）的批次中，填充位置必须用掩码排除。这正是这个检查点被训练产生的向量（它的 `1_Pooling/config.json` 写着 `pooling_mode_mean_tokens: true`），也是编码器保持**冻结**时（检索、聚类、相似度）的常用选择。

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "4a2d9f37d224"}
# 先亲手实现平均池化，再与课程包中的 `mean_pool` 对照检查。一段短文本在批次中被填充后，得到的向量必须与它单独编码时完全相同；朴素的 `.mean(dim=1)` 会把填充也算进平均值，因此做不到这一点。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "35888268b804"}
pair = [
    "Stocks fell.",
    "Shares of the largest chipmakers fell sharply on Friday after a weak forecast.",
]
batch = tokenizer(pair, padding=True, return_tensors="pt").to(device)  # (2, T) 已填充
with torch.no_grad():
    hidden = encoder(**batch).last_hidden_state  # (2, T, H)
mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (2, T, 1)：1 为真实词元，0 为填充
mean_by_hand = (hidden * mask).sum(dim=1) / mask.sum(dim=1)  # (2, H)
torch.testing.assert_close(mean_by_hand, mean_pool(hidden, batch["attention_mask"]))

alone = tokenizer(pair[:1], return_tensors="pt").to(device)  # (1, T_short)，无填充
with torch.no_grad():
    hidden_alone = encoder(**alone).last_hidden_state  # (1, T_short, H)
reference_vector = hidden_alone.mean(dim=1)[0]  # (H,)
naive_diff = (hidden[0].mean(dim=0) - reference_vector).abs().max()  # ()
print("padding positions in the short text:", int((batch["attention_mask"][0] == 0).sum()))
print(f"masked mean vs alone: max diff {(mean_by_hand[0] - reference_vector).abs().max():.1e}")
print(f"naive mean vs alone:  max diff {naive_diff:.1e}")
torch.testing.assert_close(mean_by_hand[0], reference_vector, atol=1e-4, rtol=1e-4)

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "8a1cbdf430d2"}
# ## 2 · 数据的三部分，以及哪种冻结的向量知道主题
#
# 本笔记本中的每一次比较都是一次*选择*（用哪种池化、哪种调度），而选择必须在最终评分从未见过的数据上做出。AG News 由 `ag_news_three_way` 一次性切成三部分，笔记本 06、08 和 10 调用的是同一个函数：
#
# * **训练**：模型学习用的行，即训练集（training set）；
# * **验证**：从训练部分中切出（分层、固定随机种子）的验证集（validation set）；下面的每个数字都在这里测量；
# * **测试**：留出不用的测试集（test set）。本笔记本不读它就丢弃；笔记本 06 在最后对它评分一次。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "608c4c0a1ddb"}
ag = ag_news_three_way(
    use_official_train=profile.agnews.use_official_train,
    test_size=profile.agnews.test_size,
    val_size=profile.agnews.val_size,
    seed=profile.seed,
)
print({part: len(rows) for part, rows in ag.items()})
ag.pop("test")  # 本笔记本从不读取
class_names = ag["train"].features["label"].names
train_rows = stratified_subset(ag["train"], cfg.train_size, profile.seed)
val_rows = stratified_subset(ag["validation"], cfg.val_size, profile.seed)
y_val = np.array(val_rows["label"])
print(
    f"used here: {len(train_rows):,} training rows, {len(val_rows):,} validation rows "
    f"({len(val_rows) / len(ag['validation']):.0%} of validation) · classes {class_names}"
)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "38c4c1bad23d"}
# 我们用**冻结**的编码器对这些行做嵌入，一次前向传播同时得到三种向量，并提出两个问题。*余弦相似度（cosine similarity）*：同一主题的两篇报道是否比不同主题的两篇更接近？*线性探针（linear probe）*：在训练行的向量上训练一个逻辑回归，它能否从验证行的向量中读出主题？每个探针的分数都附带自助法（bootstrap）区间，并在相同的行上与平均池化的探针作比较。


# %% slideshow={"slide_type": "-"} zh={"source_sha": "c03189e98d76"}
@torch.no_grad()
def three_vectors(texts, batch_size=cfg.eval_batch_size):
    """[CLS], pooler and mean-pooled vectors of ``texts`` from the frozen encoder."""
    found = {"[CLS]": [], "pooler": [], "mean": []}
    for start in range(0, len(texts), batch_size):
        batch = tokenizer(
            texts[start : start + batch_size],
            padding=True,
            truncation=True,
            max_length=cfg.max_len,
            return_tensors="pt",
        ).to(device)  # (B, T)
        out = encoder(**batch)
        found["[CLS]"].append(out.last_hidden_state[:, 0].cpu())  # (B, H)
        found["pooler"].append(out.pooler_output.cpu())  # (B, H)
        pooled = mean_pool(out.last_hidden_state, batch["attention_mask"])  # (B, H)
        found["mean"].append(pooled.cpu())
    return {name: torch.cat(parts) for name, parts in found.items()}  # 每个 (N, H)


train_vectors = three_vectors(list(train_rows["text"]))
val_vectors = three_vectors(list(val_rows["text"]))
frozen_cosines, probe_predictions = {}, {}
for name in ("[CLS]", "pooler", "mean"):
    frozen_cosines[name] = topic_cosines(val_vectors[name], y_val)  # （同主题，不同主题）的样本对
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2_000))
    probe.fit(train_vectors[name].numpy(), np.array(train_rows["label"]))
    probe_predictions[name] = probe.predict(val_vectors[name].numpy())
probe_table = compare_variants(
    y_val,
    probe_predictions,
    against={"[CLS]": "mean", "pooler": "mean"},
    n_boot=cfg.n_boot,
    seed=profile.seed,
)
probe_table.insert(
    0, "cosine gap", [float(s.mean() - d.mean()) for s, d in frozen_cosines.values()]
)
probe_table.round(3)

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "2176891b5c91"}
fig = plot_cosine_histograms(
    {name: frozen_cosines[name] for name in ("[CLS]", "mean")},
    title="frozen encoder: cosine of validation pairs",
)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "9cf447204fb2"}
# 先看直方图。两个分布分得越开，仅靠余弦相似度就越能区分主题，这正是检索和聚类所需要的；如果两者重叠并挤在 1 附近，那么每段文本看起来都和其他文本差不多。表中的 *cosine gap* 是两个均值之间的距离。**线性探针**问的是一个更弱的问题：能否用*某个*线性函数从向量中读出主题？它可以缩放和旋转，所以一个不适合余弦相似度的向量，仍可能在探针上表现良好；`verdict` 列说明该探针与平均池化探针的差异是否超出了对验证行重采样所能解释的范围。
#
# * **冻结编码器**（特征提取、检索、聚类）：使用检查点训练时所用的池化方式：sentence-transformers 模型用平均池化，对普通 BERT 来说平均池化也是更稳妥的默认选择；
# * **微调**：分类头的梯度会重塑编码器，因此 `[CLS]` 可以变成一个好的向量；第 8 节测量训练之后池化方式是否仍然重要。

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "5a128979de6b"}
# ## 3 · 编码器上的任务头
#
# 任务头是一个新的小网络，把句向量映射到任务的输出：分类任务输出 `num_labels` 个 logits，配合**交叉熵（cross-entropy）**；回归任务（评分、相似度分数）输出**一个**数，配合**均方误差**。一个模块就能兼顾两者；它用 `pooling` 参数选择句向量。


# %% slideshow={"slide_type": "-"} zh={"source_sha": "292d131f3793"}
class EncoderWithHead(nn.Module):
    """A BERT encoder, a pooling of its last layer, dropout and a linear head."""

    def __init__(self, bert, num_outputs, pooling="mean"):
        super().__init__()
        self.bert, self.pooling = bert, pooling
        self.dropout = nn.Dropout(bert.config.hidden_dropout_prob)
        self.head = nn.Linear(bert.config.hidden_size, num_outputs)

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        out = self.bert(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        )
        if self.pooling == "cls":
            pooled = out.last_hidden_state[:, 0]  # (B, H)
        elif self.pooling == "pooler":
            pooled = out.pooler_output  # (B, H)
        else:
            pooled = mean_pool(out.last_hidden_state, attention_mask)  # (B, H)
        return self.head(self.dropout(pooled))  # (B, num_outputs)


seed_everything(profile.seed)
demo = tokenizer(["Team wins the cup", "Oil prices rise"], padding=True, return_tensors="pt")
demo = demo.to(device)  # (2, T)
classifier = EncoderWithHead(copy.deepcopy(encoder), num_outputs=len(class_names)).eval()
regressor = EncoderWithHead(copy.deepcopy(encoder), num_outputs=1).eval()
with torch.no_grad():
    logits = classifier(**demo)  # (2, 4)
    scores = regressor(**demo).squeeze(-1)  # (2,)
ce = F.cross_entropy(logits, torch.tensor([1, 2], device=device))  # ()：以类别 id 为目标
mse = F.mse_loss(scores, torch.tensor([0.9, 0.2], device=device))  # ()：以实数值为目标
print(
    f"classification logits {tuple(logits.shape)}, cross-entropy {ce:.3f} "
    f"(ln 4 = {np.log(4):.3f} for a uniform guess)"
)
print(f"regression outputs {tuple(scores.shape)}, MSE {mse:.3f}")

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "71b78be4da57"}
# 两项检查。`BertForSequenceClassification` 就是 `pooling="pooler"` 时的同一思路；当 `num_labels=1` 时它是一个回归模型，其 `outputs.loss` 就是 MSE：把它的头复制到我们的模块中再比较。另外，本笔记本后面训练用的课程包 `EncoderClassifier`，在每种池化方式下都给出与我们的模块相同的 logits。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "c1ec405c565c"}
seed_everything(profile.seed)
hf_regressor = load_pretrained(BertForSequenceClassification, profile.bert, num_labels=1)
hf_regressor = hf_regressor.to(device).eval()
ours = EncoderWithHead(hf_regressor.bert, num_outputs=1, pooling="pooler").to(device).eval()
ours.head.load_state_dict(hf_regressor.classifier.state_dict())
targets = torch.tensor([0.9, 0.2], device=device)  # (2,) 浮点目标：回归
with torch.no_grad():
    hf_out = hf_regressor(**demo, labels=targets)
    our_scores = ours(**demo).squeeze(-1)  # (2,)
torch.testing.assert_close(our_scores, hf_out.logits.squeeze(-1))
torch.testing.assert_close(F.mse_loss(our_scores, targets), hf_out.loss)
print(f"problem_type={hf_regressor.config.problem_type!r}: outputs.loss = MSE = {hf_out.loss:.4f}")

for pooling in ("cls", "mean", "pooler"):
    ours = EncoderWithHead(classifier.bert, len(class_names), pooling).eval()
    twin = EncoderClassifier(classifier.bert, len(class_names), pooling).eval()
    twin.head.load_state_dict(ours.head.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(ours(**demo), twin(**demo))  # 两者都是 (2, 4)
print("EncoderWithHead == nlpcourse.models.heads.EncoderClassifier for cls, mean and pooler")
del hf_regressor, ours, twin, regressor, classifier

# %% [markdown] slideshow={"slide_type": "-"} zh={"source_sha": "dae8993a8e46"}
# （课程的 `fit()` 把单输出模型当作*二分类*，使用 `binary_cross_entropy_with_logits`；做回归时请传入 `loss_fn=F.mse_loss` 和浮点型标签（label）。）

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "1d539bcc8c86"}
# ## 4 · 用 AdamW 参数组实现差异学习率
#
# 一个优化器（optimizer）可以持有多个**参数组**，每组有自己的学习率和权重衰减（weight decay）。我们建立四组：主体和分类头，各自再分成做权重衰减和不做权重衰减的参数。按照惯例（BERT 的原始方案），偏置项（bias term）和 LayerNorm 的权重不做衰减：把 LayerNorm 的增益或偏置项往零衰减，起不到有用的正则化作用，反而可能有害。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "a31abf45b0f5"}
body = copy.deepcopy(encoder)  # 本笔记本其余部分使用的预训练编码器
body.pooler = None  # [CLS] 和平均池化都不用 pooler：去掉它的参数
model = EncoderClassifier(copy.deepcopy(body), num_outputs=len(class_names)).to(device)

by_group = {"body/decay": [], "body/no_decay": [], "head/decay": [], "head/no_decay": []}
for name, param in model.named_parameters():
    part = "head" if name.startswith("head.") else "body"
    decay = "no_decay" if name.endswith("bias") or "LayerNorm" in name else "decay"
    by_group[f"{part}/{decay}"].append(param)
rates = {"body": cfg.body_lr, "head": cfg.head_lr}
optimizer = torch.optim.AdamW(
    [
        {
            "name": key,
            "params": params,
            "lr": rates[key.split("/")[0]],
            "weight_decay": 0.0 if key.endswith("no_decay") else cfg.weight_decay,
        }
        for key, params in by_group.items()
    ]
)


def group_summary(groups):
    """Name, parameter ids, rate and weight decay of each group, for comparing two builds."""
    return {g["name"]: ({id(p) for p in g["params"]}, g["lr"], g["weight_decay"]) for g in groups}


# 课程包中经过测试的函数建立相同的参数组
package_groups = param_groups(
    model, cfg.body_lr, cfg.head_lr, head=("head",), weight_decay=cfg.weight_decay
)
assert group_summary(package_groups) == group_summary(optimizer.param_groups)

# %% keep_output=true slideshow={"slide_type": "-"} zh={"source_sha": "aaa7d95e4671"}
# NBVAL_CHECK_OUTPUT
print(describe_groups(optimizer).to_string())

# %% [markdown] slideshow={"slide_type": "-"} zh={"source_sha": "f042274b0992"}
# 几乎所有参数都在主体中，学习率为 2e-5；分类头只是一个线性层，学习率为 1e-3，快五十倍。原因是：主体已经很好地编码了语言，大步长会覆盖掉这些知识（有时称为灾难性遗忘）；而分类头从随机数开始，用 2e-5 需要很多步才能变得有用。

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "7ee5ac7c739a"}
# ## 5 · 分层学习率衰减
#
# 在“所有参数用同一个学习率”和“冻结第 k 层以下”之间，还有一种平滑的做法：每一层的学习率比它上面一层小 `decay` 倍，这样编码器顶部（离任务最近）适应得最多，嵌入层适应得最少。对于 `L` 层的模型，第 `i` 层（从 0 开始）的学习率为 `body_lr · decay^(L - i)`，嵌入层为 `body_lr · decay^(L + 1)`；分类头保持自己的学习率。（这就是 ULMFiT 中的“判别式微调”，ELECTRA 和许多微调方案都采用它。）每个深度一个衰减组和一个不衰减组，亲手实现如下：

# %% slideshow={"slide_type": "-"} zh={"source_sha": "3b291fb77f85"}
num_layers = model.bert.config.num_hidden_layers
llrd_by_hand = {}
for name, param in model.named_parameters():
    decay = "no_decay" if name.endswith("bias") or "LayerNorm" in name else "decay"
    if name.startswith("head."):
        key, lr = f"head/{decay}", cfg.head_lr
    elif ".embeddings." in name:  # 深度 0：离分类头最远
        key, lr = f"embeddings/{decay}", cfg.body_lr * cfg.layer_decay ** (num_layers + 1)
    else:  # bert.encoder.layer.<i>.…：深度 i + 1
        layer = int(name.split("encoder.layer.")[1].split(".")[0])
        key = f"layer_{layer:02d}/{decay}"
        lr = cfg.body_lr * cfg.layer_decay ** (num_layers - layer)
    group = llrd_by_hand.setdefault(
        key,
        {
            "name": key,
            "params": [],
            "lr": lr,
            "weight_decay": 0.0 if decay == "no_decay" else cfg.weight_decay,
        },
    )
    group["params"].append(param)

llrd_groups = param_groups(
    model,
    cfg.body_lr,
    cfg.head_lr,
    head=("head",),
    layer_decay=cfg.layer_decay,
    weight_decay=cfg.weight_decay,
)
assert group_summary(llrd_groups) == group_summary(llrd_by_hand.values())
llrd_table = describe_groups(llrd_groups)

# %% keep_output=true slideshow={"slide_type": "-"} zh={"source_sha": "21477481d66d"}
# NBVAL_CHECK_OUTPUT
print(f"layer_decay={cfg.layer_decay}, {num_layers} layers")
print(llrd_table.assign(lr=llrd_table["lr"].map(lambda lr: f"{lr:.3g}")).to_string())

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "d7838a40c338"}
fig = plot_layer_rates(
    llrd_table, title=f"layer-wise decay {cfg.layer_decay}: lower layers learn slower"
)

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "0bb10b077f33"}
# ## 6 · 预热调度，以及 `get_linear_schedule_with_warmup` 出自哪里
#
# 文章中有一处笔误：它把 `get_linear_schedule_with_warmup` 说成 PyTorch 的函数。其实它来自 **transformers**（`from transformers import get_linear_schedule_with_warmup`）；PyTorch 中没有这个名字的函数。PyTorch 提供的是通用的 `LambdaLR`：它把每个参数组的基础学习率乘以你写的因子 `f(step)`，而 transformers 的这个函数恰好就是这样一个 `LambdaLR`。
#
# 文章中的 `get_linear_schedule_with_warmup(optimizer, 100, 1000)` 在前 100 步从 0 线性升到 1，然后线性下降，到第 1,000 步降为 0。**预热（warmup）**在训练开始时有帮助：这时 Adam 对梯度尺度的滑动估计只来自少数几个批次，而随机初始化的分类头会向预训练主体传入又大又嘈杂的梯度；**衰减**则让训练在结束时稳定下来。写成 PyTorch 的 `LambdaLR`，再逐步对照检查：


# %% slideshow={"slide_type": "-"} zh={"source_sha": "6795998adde5"}
def linear_with_warmup(warmup_steps, total_steps):
    """The factor LambdaLR multiplies the base rate by: up from 0 to 1, then down to 0."""

    def factor(step):
        if step < warmup_steps:
            return step / max(1, warmup_steps)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return factor


def rates_of(scheduler, optimizer, steps):
    """The first group's rate at steps 0..steps, stepping ``scheduler`` as training would."""
    seen = []
    for _ in range(steps + 1):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()  # 没有梯度：什么都不变，但调度器要求先调用 step
        scheduler.step()
    return seen


torch_optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=cfg.body_lr)
torch_schedule = LambdaLR(torch_optimizer, linear_with_warmup(cfg.warmup_steps, cfg.total_steps))
hf_optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=cfg.body_lr)
hf_schedule = get_linear_schedule_with_warmup(hf_optimizer, cfg.warmup_steps, cfg.total_steps)
torch_rates = rates_of(torch_schedule, torch_optimizer, cfg.total_steps)
hf_rates = rates_of(hf_schedule, hf_optimizer, cfg.total_steps)
np.testing.assert_allclose(torch_rates, hf_rates, rtol=1e-12, atol=0)
print(f"LambdaLR and transformers agree at all {len(torch_rates)} steps")

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "1f594317bacc"}
# 第 8 节比较的几种调度，画在文章的 100 + 900 步上：先预热再线性衰减（文章的方案）、先预热再保持恒定（**仅预热**）、从第一步起线性衰减（**仅衰减**），以及许多方案用来代替线性衰减的余弦衰减。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "47821d7041a9"}
schedule_curves = {
    "warmup + linear decay (article)": lr_curve(
        "linear", cfg.warmup_steps, cfg.total_steps, cfg.body_lr
    ),
    "warmup only": lr_curve("constant", cfg.warmup_steps, cfg.total_steps, cfg.body_lr),
    "linear decay only": lr_curve("linear", 0, cfg.total_steps, cfg.body_lr),
    "warmup + cosine decay": lr_curve("cosine", cfg.warmup_steps, cfg.total_steps, cfg.body_lr),
}
np.testing.assert_allclose(schedule_curves["warmup + linear decay (article)"], torch_rates)
fig = plot_schedules(
    schedule_curves,
    cfg.warmup_steps,
    title=f"body learning rate ({cfg.warmup_steps} warmup steps of {cfg.total_steps:,})",
)

# %% keep_output=true slideshow={"slide_type": "-"} zh={"source_sha": "b27d77029d6d"}
# NBVAL_CHECK_OUTPUT
for kind, curve in schedule_curves.items():
    values = "  ".join(f"{s}: {curve[s]:.3g}" for s in (0, 100, 550, 1000))
    print(f"{kind:>32}: {values}")

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "8a1f5d682f87"}
# ## 7 · 冻结与 LoRA：更少的可训练参数，更快的训练步
#
# 冻结（freezing）就是设置 `requires_grad=False`：没有梯度、没有优化器状态、不做更新。冻结嵌入层（由于 30,522 个词的词表（vocabulary），它占 BERT-base 参数的五分之一，在这个小模型中占一半）可以省去优化器在这个大矩阵上的工作；再冻结较低的几层，还能省下它们的反向传播，因为自动求导在仍需要梯度的最低一层就停止了。
#
# **LoRA**（低秩适配，使用 `peft` 库）是如今大多数人微调大模型的方式：整个主体被冻结，在选定的权重矩阵 `W`（这里是注意力的查询（query）和值（value）投影）旁边加上一个秩为 `r` 的可训练乘积 `B @ A`，其中 `B` 从零开始，因此训练恰好从预训练模型出发。只有 `A`、`B` 和分类头在学习；训练结束后，`W + (alpha / r) · B @ A` 可以合并回一个矩阵。这里的 `A` 和 `B` 就是适配器（adapter）。
#
# 公平的计时：先**一次性**取出几个训练批次，每种设置都在完全相同的这些批次上训练；每种设置先走一步不计时的热身；然后各设置按批次轮流进行，轮数相同，这样机器负载的变化会同等地影响它们；报告的是训练步的**中位数**，换算为每秒样本数。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "eea8c614a175"}
train_tok = tokenize_dataset(train_rows, tokenizer, cfg.max_len)
val_tok = tokenize_dataset(val_rows, tokenizer, cfg.max_len)
shuffled = make_loader(train_tok, tokenizer, cfg.batch_size, shuffle=True, seed=profile.seed)
train_batches = list(shuffled)  # 只取一次：下面的每次运行都按此顺序看到这些批次
timing_batches = [to_device(b, device) for b in train_batches[: cfg.timing_batches]]
settings = {
    "nothing frozen": [],
    "embeddings": bert_freeze_prefixes("bert", embeddings=True),
    f"embeddings + layers 0-{cfg.freeze_layers - 1}": bert_freeze_prefixes(
        "bert", layers=cfg.freeze_layers
    ),
    "whole encoder (linear probe)": ["bert"],
}
lora_setting = f"LoRA r={cfg.lora_rank} on query, value"


def training_step(model, optimizer, batch):
    """One forward, backward and update on ``batch``."""
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    loss = F.cross_entropy(model(**inputs), batch["labels"])  # ()
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


steps, trainable = {}, {}
for setting, prefixes in [*settings.items(), (lora_setting, None)]:
    if prefixes is None:  # 由课程包构建记录运行所训练的 LoRA 模型
        candidate = build_model(body, len(class_names), STRATEGIES["LoRA"], cfg, profile.seed)
        optimizer = make_optimizer(candidate, STRATEGIES["LoRA"], cfg.lora_lr, cfg)
    else:
        candidate = EncoderClassifier(copy.deepcopy(body), len(class_names))
        freeze(candidate, prefixes)
        optimizer = torch.optim.AdamW(param_groups(candidate, cfg.body_lr, cfg.head_lr, ("head",)))
    steps[setting] = partial(training_step, candidate.to(device).train(), optimizer)
    trainable[setting] = count_parameters(candidate, trainable_only=True)
step_seconds = compare_step_seconds(
    steps, timing_batches, rounds=cfg.timing_rounds, warmup=1
)  # 每步秒数的中位数
del steps, candidate
freezing_table = pd.DataFrame(
    {
        "trainable parameters": trainable,
        "median step (s)": step_seconds,
        "samples/s": {k: cfg.batch_size / s for k, s in step_seconds.items()},
        "x as fast as nothing frozen": {
            k: step_seconds["nothing frozen"] / s for k, s in step_seconds.items()
        },
    }
)
print(
    f"{len(timing_batches)} batches of {cfg.batch_size} x {cfg.timing_rounds} rounds per "
    f"setting, after one warm-up step · load average {os.getloadavg()[0]:.1f}"
)
freezing_table.round(3)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "90747ae5a143"}
# 亲手计算 LoRA 的可训练参数：每个被适配的 `d_in → d_out` 矩阵，在每一层都增加形状为 `(r, d_in)` 的 `A` 和形状为 `(d_out, r)` 的 `B`，再加上分类头。

# %% keep_output=true slideshow={"slide_type": "-"} zh={"source_sha": "585204b7b585"}
# NBVAL_CHECK_OUTPUT
hidden_size, layers = body.config.hidden_size, body.config.num_hidden_layers
lora_by_hand = layers * 2 * cfg.lora_rank * (hidden_size + hidden_size)  # 查询和值
head_size = hidden_size * len(class_names) + len(class_names)
assert trainable[lora_setting] == lora_by_hand + head_size
print(f"all parameters {count_parameters(model):,}")
for setting, count in trainable.items():
    print(f"{setting:>30}: {count:>10,} trainable")

# %% [markdown] slideshow={"slide_type": "-"} zh={"source_sha": "10429340da68"}
# 请看计时表的最后一列：冻结更多参数能让训练步快多少，取决于机器（在 GPU 上，优化器在一步中所占的比例不同，而这里没有测量 GPU）。LoRA 的可训练参数仅多于线性探针，但它的反向传播仍要穿过每一层（每层都有适配器），所以它的训练步并不是最便宜的：在 CPU 上、对这么小的模型，它的收益在内存（主体没有梯度，也没有 AdamW 状态），而不在时间。冻结后和加适配器后的模型是否仍然同样*准确*，在第 8 节中测量。

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "9a2bef064f7b"}
# ## 8 · 所有策略，在验证集上测量
#
# 每个策略都从相同的预训练权重出发，以相同的顺序看到相同的训练批次（在上面一次性取出），并在相同的验证行上评分。各个变体**每次只改变一件事**，这样文章的调度中捆绑在一起的预热和衰减就能区分开。同一个函数——`nlpcourse/train/strategies.py` 中的 `train_strategy`——训练每一个策略，无论是这里还是下面的记录运行。
#
# | 策略 | 对照 | 它单独考察的是 |
# |---|---|---|
# | single LR | differential LR | 所有参数（包括分类头）用同一个恒定的学习率 |
# | differential LR | | 分类头 1e-3，主体用自己的学习率，恒定 |
# | warmup only | differential LR | 在前 10 % 的步数内线性预热，之后恒定 |
# | decay only | differential LR | 从第一步起线性衰减到 0，没有预热 |
# | warmup + decay | differential LR | 两者兼有：按本次运行缩放的文章调度（**参照**） |
# | layer-wise decay | warmup + decay | 学习率每向下一层乘以 0.8，再缩放到**相同的平均学习率** |
# | [CLS] pooling | warmup + decay | 分类头读取 `[CLS]` 而不是平均值 |
# | freezing | warmup + decay | 冻结嵌入层和最低的几层 |
# | LoRA | warmup + decay | 冻结主体，在查询和值上加秩为 8 的适配器 |
#
# 单独使用 0.8 的分层衰减还会降低*每一个*主体学习率（最顶层得到 0.8×，嵌入层得到 0.8⁷×），这样它的结论就会把“下层学得更慢”和“整体学得更少”混在一起；因此该策略把它的学习率乘以下面打印的因子，使主体各深度的平均学习率等于参照策略的学习率。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "59c03b8f156e"}
val_loader = make_loader(val_tok, tokenizer, cfg.eval_batch_size)
against = {name: s.against for name, s in STRATEGIES.items() if s.against}
histories, predictions, head_inputs, trainable_counts = {}, {}, {}, {}
for name, strategy in tqdm(STRATEGIES.items(), desc="strategies"):
    trained, histories[name] = train_strategy(
        body,
        strategy,
        train_batches,
        num_labels=len(class_names),
        lr=cfg.lora_lr if strategy.lora else cfg.body_lr,  # 文章中主体的 2e-5
        cfg=cfg,
        seed=profile.seed,
        epochs=cfg.epochs,
        device=device,
    )
    with capture_inputs(trained.head) as pooled:  # 分类头读取的句向量
        logits = predict(trained, val_loader, device=device)  # (N, 4)
    predictions[name] = logits.argmax(dim=-1).numpy()  # (N,)
    head_inputs[name] = torch.cat(pooled)  # (N, H)
    trainable_counts[name] = count_parameters(trained, trainable_only=True)
    if strategy.lora:
        lora_model = trained
print(
    f"{len(train_rows):,} training rows: {len(histories[REFERENCE].steps)} steps of "
    f"{cfg.batch_size}, one seed per strategy · {len(val_rows):,} validation rows · "
    f"layer-wise decay rates x{equal_mean_scale(cfg.layer_decay, layers):.2f} for an equal mean"
)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "565bb7d533ff"}
# 每次运行的动态，来自 `fit()` 保存的逐步日志：训练损失（loss，平滑后）和分类头的学习率。学习率面板显示每种调度做了什么；损失面板显示每个策略离开均匀猜测的损失 ln 4 ≈ 1.39 有多快，以及运行结束时它是否已经不再下降。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "6acfcb707d2b"}
fig = plot_runs(histories, keys=("loss", "lr"))  # 原始的逐步数值：学习率是精确的

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "5cff82ad2766"}
# 现场结果表：验证准确率（accuracy）及其在验证行上的 95 % 自助法区间，以及每个策略与其对照之间的差值，附带**配对**自助法区间（两个模型在相同的重采样行上评分）。这些区间涵盖的是验证行的选择，**而不是**随机种子（seed）的影响。（表中没有吞吐量：一个接一个、不经热身地运行、按整轮计时的时钟，不是公平的计时；第 7 节的表才是。）

# %% slideshow={"slide_type": "-"} zh={"source_sha": "a694d1efe1e7"}
live = compare_variants(y_val, predictions, against, n_boot=cfg.n_boot, seed=profile.seed)
live["trainable parameters"] = pd.Series(trainable_counts)
expected, any_pass = chance_passes(len(against))
print(
    f"{len(against)} verdicts at 95 %: if no strategy differed at all, about {expected:.1f} would "
    f"still be called by chance (at least one with probability {any_pass:.0%})"
)
live.round(3)

# %% [markdown] slideshow={"slide_type": "-"} zh={"source_sha": "3cc67553ac30"}
# 这次现场运行能说明的是：每个策略都能运行，每种调度如何塑造学习率，以及在文章的学习率（主体 2e-5）下，每个策略在上面打印的步数内能走多远。它不能说明哪个策略更好：只有一个随机种子，最后一步时损失仍在下降（见曲线），学习率没有调过，而且同时读了好几个结论。这里的差距只是关于这个短预算的陈述。
#
# 把 LoRA 运行学到的适配器合并回去：先对一层亲手计算 `W + (alpha / r) · B @ A`，再用 `merge_lora`（peft 的 `merge_and_unload`）合并所有层；合并后的普通模型必须给出与适配器模型相同的 logits。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "7098756a58e3"}
query = lora_model.base_model.model.bert.encoder.layer[0].attention.self.query  # 一个 LoRA 层
A, B = query.lora_A["default"].weight, query.lora_B["default"].weight  # (r, H), (H, r)
merged_by_hand = query.base_layer.weight + query.scaling["default"] * B @ A  # (H, H)
batch = next(iter(val_loader))
inputs = {k: v.to(device) for k, v in batch.items() if k != "labels"}
with torch.no_grad():
    adapter_logits = lora_model.eval()(**inputs)  # (B, 4)
    merged = merge_lora(copy.deepcopy(lora_model)).eval()
    merged_query = merged.bert.encoder.layer[0].attention.self.query.weight  # (H, H)
    torch.testing.assert_close(merged_query, merged_by_hand)
    torch.testing.assert_close(merged(**inputs), adapter_logits, atol=1e-5, rtol=1e-5)
print(
    f"|B @ A| of layer 0's query after training: {float((B @ A).detach().abs().max()):.2e} (not zero) · "
    f"merged model: {count_parameters(merged):,} parameters, logits equal to the adapter model's"
)

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "0eb4c2ffb503"}
# ### 记录运行：多轮训练、扫描学习率、三个随机种子
#
# 给策略排名需要现场预算所缺少的东西，所以同一个 `train_strategy` 通过 `python -m nlpcourse record 05`（`make record NB=05`）在 `standard` 配置档下以更大的规模运行了一次。对每个策略，它在一个小网格上扫描学习率（主体的学习率，或 LoRA 适配器的学习率），选出训练结束后在验证行中*调参*那一份上损失最低的学习率，然后用这个学习率训练三个随机种子、每个都训练多轮（每个种子有自己的批次顺序，所有策略共用），并在*另一份*验证行上评分。它在 `records/` 中的记录写明了配置档、规模、日期、硬件、库版本、提交和代码的哈希；下一个单元格会拒绝读取代码已改变或被手工编辑过的记录。下面每一句关于记录效果的话，读的都是带有这份出处标签的表格和图。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "29125b2447bd"}
record = load_record(NOTEBOOK, "standard")
label = record_label(record)
recorded_runs = record["figures"]["strategies"]
recorded = seed_comparison_table(
    {name: recorded_runs[name]["accuracy_by_seed"] for name in STRATEGIES}, against
)
recorded.insert(0, "rate", [f"{recorded_runs[name]['rate']:g}" for name in recorded.index])
recorded.insert(1, "trainable", [recorded_runs[n]["trainable_parameters"] for n in recorded.index])
recorded["tuning loss per rate"] = [
    ", ".join(f"{rate}: {v['val_loss']:.3f}" for rate, v in recorded_runs[name]["sweep"].items())
    for name in recorded.index
]
recorded["tuning loss by epoch"] = [
    " → ".join(f"{loss:.3f}" for loss in recorded_runs[name]["tuning_loss_by_epoch"])
    for name in recorded.index
]
recorded["last epoch: tuning loss change"] = [
    np.diff(recorded_runs[name]["tuning_loss_by_epoch"])[-1] for name in recorded.index
]
rows, sizes = record["figures"]["rows"], record["sizes"]["finetune"]
print(label)
print(
    f"{rows['train']} training rows, {sizes['epochs']} epochs = "
    f"{record['figures']['steps_per_run']} steps of {sizes['batch_size']} per run · rates "
    f"{sizes['lr_grid']} (LoRA {sizes['lora_lr_grid']}) picked on {rows['tune']} rows · "
    f"{len(record['figures']['seeds'])} seeds scored on {rows['score']} rows"
)
recorded.round(4)

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "2601614cb50f"}
fig = plot_recorded_losses(
    {name: run["train_loss_by_step"] for name, run in recorded_runs.items()},
    {name: run["tuning_loss_by_epoch"] for name, run in recorded_runs.items()},
    title=f"{label} · first seed at the chosen rate",
)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "13da1b032f75"}
# 记录表中的差值列按随机种子配对（各种子差值的均值和标准差）；区间是在种子上的 t 区间，它把评分行视为固定不变。同一张表中读出了八个结论，所以结论使用 **Holm 校正**后的 p 值：八个结论中任何一个是误判的概率保持在 5 %。下一个单元格写出记录表允许我们说的话：

# %% slideshow={"slide_type": "-"} zh={"source_sha": "c6ed6e6f220c"}
print(label)
for name, row in recorded.dropna(subset=["difference"]).iterrows():
    interval = f"{row['difference']:+.3f} ± {row['diff sd']:.3f} (t interval "
    interval += f"[{row['diff low']:+.3f}, {row['diff high']:+.3f}], Holm p {row['Holm p']:.2f})"
    said = row["verdict"]
    if said.startswith("no"):  # 这份记录能判定的最小差异
        said += f" (detectable: ±{(row['diff high'] - row['diff low']) / 2:.3f})"
    print(f"- {name} vs {row['against']}: {said}, {interval}")
flat = recorded["last epoch: tuning loss change"]
print(f"tuning loss change over the last epoch: {flat.min():+.3f} to {flat.max():+.3f}")

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "459254b3f4b8"}
# 解读记录运行（引用的每个数字都出现在上面的表格、图或打印行中，它们都带有标签“recorded run: standard profile, 2026-12-06, 2 CPU cores, 1 thread(s), 39 min at mean load 9”；96 个训练行，每次运行 24 步、每步 16 行）：
#
# * **收敛**（最后两列）。每个被选中的运行，其调参行损失从第一轮后的 0.76–1.29 降到第四轮后的 0.45–0.57。在最后一轮中，学习率衰减的运行变化最多 0.038；三个恒定学习率的运行（single LR、differential LR、warmup only）在第 3 轮后达到最低的调参损失，并在第 4 轮上升了 0.052 到 0.077：在 96 行数据上它们已经开始过拟合（overfitting），所以再多训练几轮也帮不了它们。停止时，没有哪个运行每轮还在下降超过 0.038。
# * **学习率。** 每个策略只有两个学习率可选，扫描为八个使用主体学习率的策略中的六个选了较低的 1e-4，为 `[CLS]` 池化和冻结选了 3e-4；LoRA 得到 5e-3，即它的网格的上端。一个两点的网格只能说明两者中哪个在调参行上更好，而不能说明最佳学习率在哪里。
# * **结论。** 评分准确率从 0.805（LoRA）到 0.841（分层衰减）不等，八个差值在 Holm 校正后没有一个通过；最小的原始 p 值为 0.100（LoRA，Holm p 0.80）。预热 + 衰减相对恒定学习率的差值为 +0.015 ± 0.018（区间从 −0.030 到 +0.060）：符号与“预热和衰减有害”相反，但这份记录无法作出判定。“detectable”宽度（±0.012 到 ±0.046）说明了差异需要多大才能被判定。
# * **分层衰减**在各深度上的平均学习率与参照策略相同；在这个学习率下，它没有可测量的差异（+0.005 ± 0.008，可检测宽度 ±0.020）。
# * **`[CLS]` 池化**（−0.007 ± 0.005，可检测宽度 ±0.012）是在一个为**平均**池化训练的检查点上评判的：它对普通 BERT 上的 `[CLS]` 说明不了什么。
# * **冻结**（22,566,916 个参数中有 7,099,396 个可训练，约三分之一）的差值为 −0.008 ± 0.008，没有可测量的差异；它的速度见第 7 节的公平计时，而不是这张表。
# * **LoRA** 训练 75,268 个参数，差值为 −0.031 ± 0.018（区间从 −0.077 到 +0.015），在这个规模下没有可测量的差异；它的学习率位于网格上端，更大的学习率没有尝试过。
#
# 这份记录不能说明的是：小于可检测宽度的效应、训练行更多时的表现，以及任何关于 GPU 或 `full` 配置档的情况——这两者在这里都没有运行过。

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "48a46f9e4a8f"}
# ## 拓展：微调对句向量做了什么
#
# 与第 2 节相同的直方图，现在画的是现场运行中两个训练好的分类头所读取的向量（参照策略，即平均池化；以及 `[CLS]` 运行），在验证行上计算。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "f8cd56239f3c"}
fine_tuned_cosines = {
    "[CLS]": topic_cosines(head_inputs["[CLS] pooling"], y_val),  # （同主题，不同主题）的样本对
    "mean": topic_cosines(head_inputs[REFERENCE], y_val),
}
fig = plot_cosine_histograms(
    {f"{name}, fine-tuned": pairs for name, pairs in fine_tuned_cosines.items()},
    title=f"after {len(histories[REFERENCE].steps)} fine-tuning steps: cosine of validation pairs",
)
for name, (same, different) in fine_tuned_cosines.items():
    frozen_same, frozen_different = frozen_cosines[name]
    print(
        f"{name:>5}: mean same-topic minus different-topic cosine "
        f"{float(frozen_same.mean() - frozen_different.mean()):.3f} frozen, "
        f"{float(same.mean() - different.mean()):.3f} fine-tuned"
    )
print(f"whole notebook so far: {(time.perf_counter() - notebook_start) / 60:.1f} min")

# %% [markdown] slideshow={"slide_type": "-"} zh={"source_sha": "668b124dc7b4"}
# 与第 2 节冻结时的直方图比较（上面打印了两种差距）：一次用分类损失进行的短训练就已经改变了句向量的几何结构；直方图和打印的差距显示了是哪种池化、朝哪个方向改变。

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "f0b1190efe22"}
# ## 练习
#
# **1.** 平均池化是忽略填充的一种方式。编写 `max_pool(last_hidden_state, attention_mask)`，对每个隐藏维度，*只*在真实词元上取最大值。形状：输入 `(B, T, H)` 和 `(B, T)`，输出 `(B, H)`。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "ff86e87c0d18"}
from nlpcourse.exercises.ch05 import check_cosine_lambda, check_linear_lrs, check_max_pool

max_pool = None  # 你的答案：def max_pool(last_hidden_state, attention_mask): ...
check_max_pool(max_pool)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"] zh={"source_sha": "4c4dc31bf24a"}
def max_pool(last_hidden_state, attention_mask):
    """Max over the real tokens of each sequence: padding is set to -inf first."""
    padding = attention_mask.unsqueeze(-1) == 0  # (B, T, 1)
    filled = last_hidden_state.masked_fill(padding, float("-inf"))  # (B, T, H)
    return filled.max(dim=1).values  # (B, H)


assert check_max_pool(max_pool)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "61c2a7833713"}
# **2.** 使用文章中的 `get_linear_schedule_with_warmup(optimizer, 100, 1000)`，基础学习率为 2e-5，第 50 步和第 775 步的学习率各是多少？请从调度的形状推算出来。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "2fcbe2aa6e5b"}
lr_at_50, lr_at_775 = None, None  # 你的答案
check_linear_lrs(lr_at_50, lr_at_775)

# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"] zh={"source_sha": "51a4fc3339ba"}
lr_at_50 = 2e-5 * 50 / 100  # 预热进行到一半
lr_at_775 = 2e-5 * (1000 - 775) / (1000 - 100)  # 衰减还剩四分之一
assert check_linear_lrs(lr_at_50, lr_at_775)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "0bd983cce24a"}
# **3.** 第 6 节把线性调度重写成了 PyTorch 的 `LambdaLR`。对带预热的余弦调度（`transformers.get_cosine_schedule_with_warmup`，第 6 节画过）做同样的事：编写 `make_lambda(warmup_steps, total_steps)`，返回 `LambdaLR` 所需的函数 `step -> factor`。预热期间，因子从 0 线性升到 1；之后沿半个余弦波，从预热结束时的 1 降到 `total_steps` 时的 0。检查函数会在几种长度下，把你的 `LambdaLR` 与 transformers 的调度并排逐步比较。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "6069f0c42140"}
make_lambda = None  # 你的答案：def make_lambda(warmup_steps, total_steps): ...
check_cosine_lambda(make_lambda)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"] zh={"source_sha": "eb4a42160b5e"}
def make_lambda(warmup_steps, total_steps):
    """Cosine decay after a linear warmup, as a LambdaLR factor."""

    def factor(step):
        if step < warmup_steps:
            return step / max(1, warmup_steps)
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return max(0.0, 0.5 * (1 + np.cos(np.pi * progress)))

    return factor


assert check_cosine_lambda(make_lambda)
