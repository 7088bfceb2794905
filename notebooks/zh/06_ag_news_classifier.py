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

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "c812056da65a"}
# # 06 · 用 BERT 为 AG News 新闻分类：完整流程
#
# 文章第 4 节用四段简短的代码搭起它的案例研究：用 `train_test_split(texts, labels, test_size=0.2)` 划分 AG News，加载 `BertForSequenceClassification(num_labels=4)` 并配一个学习率为 2e-5 的 `AdamW`，训练 3 轮（epoch），再用梯度累积（gradient accumulation，4 步）和混合精度（mixed precision，`torch.cuda.amp`）来提速。本笔记本把这项研究真正跑一遍，而且按我们愿意署名的实验标准来做：
#
# | 文章的做法 | 我们在这里的做法及理由 |
# |---|---|
# | `train_test_split(texts, labels, test_size=0.2)` | 同样的 80/20 划分，分层抽样并固定随机种子（seed），再从那 80 % 中切出一份**验证**数据：所有选择都依据它来做，测试部分只在最后评分**一次** |
# | `from transformers import AdamW` | 改用 `torch.optim.AdamW`：transformers 在 4.x 中弃用了自带的那份实现，并在 **4.50.0**（2025 年 3 月）中将其删除，所以这条导入如今会失败 |
# | lr 2e-5 | 文章的 2e-5 和一个更大的学习率（learning rate）都训练一遍，由验证结果挑选其一 |
# | 训练循环 | 完整写出（累积、缩放器、裁剪），与课程中经过测试的 `fit()` 对照，并给出逐步曲线 |
# | 梯度累积 | 先修好（那段代码既没有构造 `inputs`，也没有把梯度清零），再真正*用起来*：与相同有效批大小（batch size）的一次真实运行对比，断言两者最终权重相同，并给出峰值内存和每个样本的耗时 |
# | `torch.cuda.amp` | 改用 `torch.autocast` + `torch.amp.GradScaler`，在 CPU 上以 fp16 运行；演示缩放器为什么必不可少；在这台 CPU 上用相同的批次（batch）为 fp32 / bf16 / fp16 计时（这里没有测量任何 GPU 上的对比） |
# | — | 在模型旁边放一个 TF-IDF + 逻辑回归基线（baseline），两者之间做配对自助法（bootstrap）比较，并随检查点（checkpoint）一起保存一份模型卡（model card） |
#
# 在 `quick` 配置档（profile）下，一切都在 CPU 上几分钟内跑完：BERT 的角色由该配置档中一个小而真实的 BERT 扮演（`sentence-transformers/all-MiniLM-L6-v2`：6 层，隐藏层大小 384）；又因为离线时只能用到 AG News 官方的*测试*划分（7,600 行），文章的 80/20 划分就在它内部进行。`full` 配置档则是文章在 GPU 上的设置。

# %% [markdown] slideshow={"slide_type": "notes"} zh={"source_sha": "951146e6d7e2"}
# 讲者备注：这一课的主线是“把文章的配方老老实实地跑一遍”。一开始（第 1 节）就强调三份数据的划分，等到最后终于给测试部分评分时（第 8 节）再回到这一点。第 6、7 节是文章的两个提速技巧：先测量，再相信。

# %% slideshow={"slide_type": "skip"} zh={"source_sha": "5b84d63c25cc"}
# 先导入：nlpcourse.config 会压下 torchao 导入时的警告（transformers 会导入 torchao）
from nlpcourse.config import get_device, get_profile, seed_everything

# isort: split
import copy
import math
import os
import time
import warnings

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from IPython.display import Markdown, display
from sklearn.model_selection import train_test_split
from transformers import (
    AutoTokenizer,
    BertConfig,
    BertForSequenceClassification,
    get_linear_schedule_with_warmup,
    pipeline,
)
from transformers.utils import logging as hf_logging

from nlpcourse.data.checkpoints import load_pretrained
from nlpcourse.data.datasets import load_ag_news
from nlpcourse.data.runs import run_dir
from nlpcourse.data.splits import ag_news_three_way, stratified_subset
from nlpcourse.evaluate.baselines import tfidf_logreg
from nlpcourse.evaluate.efficiency import bert_parameter_count, count_parameters
from nlpcourse.evaluate.memory import peak_memory
from nlpcourse.evaluate.metrics import classification_summary, confusion, per_class_report
from nlpcourse.evaluate.stats import bootstrap_accuracy, paired_bootstrap
from nlpcourse.evaluate.timing import compare_seconds
from nlpcourse.modelcard import ModelCard, hardware_summary, write_model_card
from nlpcourse.plots.metrics import plot_confusion_matrix
from nlpcourse.plots.training import plot_runs
from nlpcourse.text.hf_batches import check_num_labels, make_loader, tokenize_dataset
from nlpcourse.train.loop import fit, predict
from nlpcourse.train.optim import describe_groups, param_groups, warmup_steps_for

profile = get_profile()
seed_everything(profile.seed)
cfg = profile.agnews
device = get_device()
hf_logging.disable_progress_bar()  # 不让加载进度条出现在笔记本里
print(f"profile {profile.name!r} · checkpoint {profile.bert} · device {device}")
print(hardware_summary(device), f"· load average {os.getloadavg()[0]:.1f}")
notebook_start = time.perf_counter()

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "2bc8af3b0ac0"}
# ## 1 · 三份数据：训练、验证、测试
#
# 一个模型是否可信，要看它在那些*没有*用来调参的数据上表现如何。我们用一个经过测试的辅助函数（笔记本 05 也用它）把 AG News 一次性切成三份：
#
# * **训练集**（training set）：模型的权重从中学习；
# * **验证集**（validation set）：每一个选择（学习率、轮数）都看它来做；
# * **测试集**（test set）：在最后、所有选择都固定之后，只评分**一次**。如果在做选择时偷看了它，它给出的分数就会美化我们的结果。
#
# 在 `quick` 下，测试部分取 7,600 行官方测试数据中文章所说的 20 %（`test_size`），划分时使用 `stratify`（每个类别保持原有的占比）和随机种子（使划分可以复现）；验证部分是剩余数据中的 `val_size`。在 `full` 下，测试部分就是官方的测试划分。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "882bf484560a"}
parts = ag_news_three_way(cfg.use_official_train, cfg.test_size, cfg.val_size, profile.seed)
class_names = parts["train"].features["label"].names
if not cfg.use_official_train:  # 文章的调用（改进后）切出相同的测试行
    official = load_ag_news(["test"])["test"]
    _, article_test = train_test_split(
        list(official["text"]),
        test_size=cfg.test_size,
        stratify=list(official["label"]),
        random_state=profile.seed,
    )
    assert article_test == list(parts["test"]["text"])
train_set = stratified_subset(parts["train"], cfg.train_rows, profile.seed)
val_set = stratified_subset(parts["validation"], cfg.val_rows, profile.seed)
test_set = parts["test"]

# %% keep_output=true slideshow={"slide_type": "-"} zh={"source_sha": "a23d4bcd722f"}
# NBVAL_CHECK_OUTPUT
for name, part in (("train", train_set), ("validation", val_set), ("test", test_set)):
    counts = np.bincount(part["label"], minlength=len(class_names))
    print(f"{name:>10}: {len(part):>6,} rows · per class {counts.tolist()}")
print("classes:", class_names)

# %% [markdown] slideshow={"slide_type": "notes"} zh={"source_sha": "f3f33b1fe148"}
# 在 `quick` 下，训练部分是切出验证部分之后、剩余数据中按类别均衡抽取的一个子集（`train_rows`），验证则在验证部分中按类别均衡抽取的子集（`val_rows`）上评分，这样两个学习率的训练才能都装进本笔记本的 CPU 预算；测试部分则整份使用。在 `full` 下，模型只用训练部分的一半来训练（96,000 行中的 48,000 行），留下这个分类器（classifier）从未见过的数据，供笔记本 08 在上面蒸馏（distillation）一个学生模型。

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "991b8058ed3e"}
# ## 2 · 分词与动态填充
#
# 分词器（tokenizer）把每段文本截断到 `max_len` 个词元（token），但此时还不做任何填充（padding）；`make_loader` 内部的整理函数（collator）只把每个批次填充到*该批次自己*最长文本的长度（“动态填充”，dynamic padding）。训练批次只构建**一次**，下面的每次运行都复用它们，这样每一组比较看到的都是顺序相同的同一批数据。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "69643d824f79"}
tokenizer = load_pretrained(AutoTokenizer, profile.bert)
train_tok = tokenize_dataset(train_set, tokenizer, cfg.max_len)
val_loader = make_loader(
    tokenize_dataset(val_set, tokenizer, cfg.max_len), tokenizer, cfg.eval_batch_size
)
test_loader = make_loader(
    tokenize_dataset(test_set, tokenizer, cfg.max_len), tokenizer, cfg.eval_batch_size
)
train_batches = list(
    make_loader(train_tok, tokenizer, cfg.batch_size, shuffle=True, seed=profile.seed)
)
for key, value in train_batches[0].items():
    print(f"{key:>15}: {tuple(value.shape)} {value.dtype}")  # (B, T) 词元 id 与掩码，(B,) 标签
lengths = np.array([len(ids) for ids in train_tok["input_ids"]])
print(
    f"{len(train_batches)} training batches · tokens per text: mean {lengths.mean():.1f}, "
    f"{(lengths == cfg.max_len).mean():.0%} cut at max_len={cfg.max_len}"
)

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "8ae3cfaba360"}
# ## 3 · 模型与优化器
#
# `BertForSequenceClassification` 就是 `BertModel` 加上一个*池化层*（pooler：对 `[CLS]` 向量做一次全连接再接 tanh），以及一个新初始化的线性分类器（classifier）。类别名称写进 `id2label`，这样保存下来的模型回答的是“Sports”，而不是“LABEL_1”。模型只加载一次；下面的每次运行都从这同一份权重的副本开始。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "f010becdae55"}
id2label = dict(enumerate(class_names))
seed_everything(profile.seed)  # 新分类头的初始权重可以复现
base_model = load_pretrained(
    BertForSequenceClassification,
    profile.bert,
    num_labels=len(class_names),
    id2label=id2label,
    label2id={name: i for i, name in id2label.items()},
)
check_num_labels(base_model.config.num_labels, train_set)
if cfg.freeze_word_embeddings:  # quick：该模型一半的权重保持预训练值
    base_model.bert.embeddings.word_embeddings.weight.requires_grad_(False)


def fresh_model():
    """A copy of the starting weights, on the device."""
    return copy.deepcopy(base_model).to(device)


def make_optimizer(model, lr):
    """AdamW with the course's parameter groups: the body at ``lr``, the new layers faster."""
    groups = param_groups(
        model, lr, cfg.head_lr, head=cfg.head_modules, weight_decay=cfg.weight_decay
    )
    return torch.optim.AdamW(groups)


# %% keep_output=true slideshow={"slide_type": "-"} zh={"source_sha": "ea96b0031dce"}
# NBVAL_CHECK_OUTPUT
print(base_model.config.num_labels, base_model.config.id2label)
print(
    f"parameters {count_parameters(base_model):,} · trainable {count_parameters(base_model, trainable_only=True):,}"
)
bert_base = bert_parameter_count(BertConfig())  # BertConfig() 的默认值就是 BERT-base 的尺寸
print(
    f"BERT-base's encoder: {bert_base:,} parameters ({count_parameters(base_model) / bert_base:.2f}×)"
)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "6ab94741cbf5"}
# **优化器（optimizer）。** 文章写的是 `from transformers import AdamW`。transformers 在 4.x 中弃用了这个类（多年来一直警告“use torch.optim.AdamW”），并在 **4.50.0** 版本中将其删除（pull request #36177，2025 年 3 月），所以这条导入如今会失败。PyTorch 的 `torch.optim.AdamW` 是同一个算法（权重衰减解耦的 Adam）。与笔记本 05 一样，预训练（pretrained）的主体以较小的学习率学习，新加的层（`quick` 中为池化层和分类器）使用 `head_lr`；偏置项（bias term）和 LayerNorm 的权重不做权重衰减（weight decay）。一个线性调度在前 10 % 的步数里对学习率做预热（warmup），之后把它线性衰减到零。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "b51f0c966445"}
print(describe_groups(make_optimizer(base_model, cfg.lr_candidates[0])).to_string())

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "442a80afedfe"}
# ## 4 · 把训练循环完整写出来
#
# 这是本课的核心，所以不把它藏在库里。批次以**窗口**为单位来取，每个窗口包含 `accumulation_steps` 个微批次（micro-batch）；一个窗口做一次优化器更新。
#
# * 每个微批次的损失（loss）是它各行的*平均值*。按它**在窗口总行数中所占的比例**加权，整个窗口累加起来的梯度（gradient）就正好是窗口内所有样本的平均梯度，即使最后一个微批次较短也是如此（如果除以微批次的个数，短微批次里的每一行就会占过大的分量）。
# * 在 fp16 下，`backward()` 之前先把损失乘以 `GradScaler` 的缩放因子；`scaler.unscale_` 在梯度裁剪（gradient clipping）**之前**把梯度除回去（对缩放过的梯度做裁剪，用的范数就不对了）；如果某个梯度溢出，`scaler.step` 会跳过这次更新。
# * **每次更新之后都把梯度清零**，调度器每个窗口前进一步。


# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "34e1e0d837fc"}
def train_windows(
    model,
    batches,
    optimizer,
    scheduler=None,
    accumulation_steps=1,
    amp_dtype=None,
    scaler=None,
    grad_clip=None,
):
    """Train on a list of batches, one optimizer step per window; return one log row per step."""
    model.train()
    log = []
    optimizer.zero_grad(set_to_none=True)
    for start in range(0, len(batches), accumulation_steps):
        window = batches[start : start + accumulation_steps]  # 最后一个窗口可能较短
        window_rows = sum(len(batch["labels"]) for batch in window)
        window_loss = 0.0
        for batch in window:
            inputs = {
                key: value.to(device) for key, value in batch.items()
            }  # 各为 (B, T)，labels 为 (B,)
            labels = inputs.pop("labels")  # (B,)
            with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                logits = model(**inputs).logits  # (B, 4)
            loss = F.cross_entropy(logits.float(), labels)  # () B 行的平均值
            share = len(labels) / window_rows  # 本微批次占窗口总行数的比例
            (scaler.scale(loss * share) if scaler else loss * share).backward()
            window_loss += loss.item() * share
        if scaler:
            scaler.unscale_(optimizer)  # 裁剪之前先还原真实梯度
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip or math.inf)  # ()
        row = {
            "loss": window_loss,
            "lr": optimizer.param_groups[0]["lr"],
            "grad_norm": grad_norm.item(),
        }
        if scaler:
            row["scale"] = scaler.get_scale()
            scaler.step(optimizer)  # 若有梯度为 inf 或 NaN 则跳过
            scaler.update()  # 跳过后缩放因子减半，连续干净一段后增大
            row["skipped"] = scaler.get_scale() < row["scale"]
        else:
            optimizer.step()
        optimizer.zero_grad(set_to_none=True)  # 文章的代码漏掉了这一步
        if scheduler is not None:
            scheduler.step()
        log.append(row)
    return log


# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "d6684440feac"}
# **与 `fit()` 对照。** `nlpcourse.train.loop.fit` 是同一个循环，只不过是一个经过测试的库函数。从相同的权重出发，使用相同的随机种子和相同的 `fit_check_steps` 个微批次（最后一个被截短），以每 3 个为一个窗口；相同的随机种子让随机失活（dropout）抽到相同的掩码（mask）。两者必须记录下相同的损失，并以相同的权重结束。从这里开始，本笔记本用 `fit()` 来训练。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "bb6b331f2571"}
check_rows = train_tok.select(range(cfg.fit_check_steps * cfg.micro_batch_size))
check_batches = [dict(b) for b in make_loader(check_rows, tokenizer, cfg.micro_batch_size)]
half = len(check_batches[-1]["labels"]) // 2
check_batches[-1] = {key: value[:half] for key, value in check_batches[-1].items()}  # 截短
print("micro-batch rows:", [len(b["labels"]) for b in check_batches])
twins, logs = [], []
for use_fit in (False, True):
    twin = fresh_model()
    optimizer = make_optimizer(twin, cfg.lr_candidates[0])
    seed_everything(profile.seed)
    if use_fit:
        history = fit(
            twin,
            check_batches,
            epochs=1,
            optimizer=optimizer,
            accumulation_steps=3,
            grad_clip=cfg.grad_clip,
            progress=False,
        )
        logs.append([row["loss"] for row in history.steps])
    else:
        log = train_windows(
            twin, check_batches, optimizer, accumulation_steps=3, grad_clip=cfg.grad_clip
        )
        logs.append([row["loss"] for row in log])
    twins.append(twin)
gap = max(
    (a - b).abs().max().item()
    for a, b in zip(twins[0].parameters(), twins[1].parameters(), strict=True)
)
moved = max(
    (a - b).abs().max().item()
    for a, b in zip(twins[0].parameters(), base_model.parameters(), strict=True)
)
print(
    f"step losses: notebook {np.round(logs[0], 5).tolist()} · fit() {np.round(logs[1], 5).tolist()}"
)
print(f"largest weight change {moved:.1e} · largest difference between the two {gap:.1e}")
np.testing.assert_allclose(logs[0], logs[1], atol=1e-5)
assert gap < 1e-6 < moved
del twins, twin

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "c6d79207e878"}
# ## 5 · 在验证集上选择学习率
#
# 文章以 2e-5 的学习率做微调（fine-tuning）。模型更小、训练步数更少时，可能需要更大的学习率，所以我们对 `lr_candidates` 中的每个候选值各训练一次（相同的起始权重、相同的批次、相同的随机种子），由**验证**准确率（accuracy）来选择；测试部分始终不碰。`fit()` 在每轮结束后查看验证结果，并保留最佳那一轮的权重（`patience`），因此轮数也是在验证集上选出的（像 `quick` 那样只训练一轮时，就没有什么可选的）。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "fe99366df7ca"}
runs, val_preds, sweep_rows = {}, {}, []
val_true = np.array(val_set["label"])
for lr in cfg.lr_candidates:
    model = fresh_model()
    optimizer = make_optimizer(model, lr)
    total_steps = cfg.epochs * len(train_batches)
    scheduler = get_linear_schedule_with_warmup(
        optimizer, warmup_steps_for(total_steps, cfg.warmup_ratio), total_steps
    )
    seed_everything(profile.seed)
    history = fit(
        model,
        train_batches,
        val_loader,
        epochs=cfg.epochs,
        optimizer=optimizer,
        scheduler=scheduler,
        grad_clip=cfg.grad_clip,
        patience=cfg.patience,
        device=device,
    )
    val_preds[lr] = predict(model, val_loader, device).argmax(dim=-1).numpy()  # (N_val,)
    interval = bootstrap_accuracy(val_true, val_preds[lr], cfg.n_boot, seed=profile.seed)
    runs[lr] = {"model": model, "history": history}
    sweep_rows.append(
        {
            "body lr": lr,
            "validation accuracy [95% CI]": f"{interval.estimate:.4f} [{interval.low:.4f}, {interval.high:.4f}]",
            "best epoch": history.best_epoch + 1,
            "training s": round(sum(history.history["epoch_time"]), 1),
        }
    )
chosen_lr = max(cfg.lr_candidates, key=lambda lr: (val_preds[lr] == val_true).mean())
model, history = runs[chosen_lr]["model"], runs[chosen_lr]["history"]
train_seconds = sum(history.history["epoch_time"][: history.best_epoch + 1])
pd.DataFrame(sweep_rows).set_index("body lr")

# %% slideshow={"slide_type": "-"} zh={"source_sha": "4e272966d8d5"}
others = [lr for lr in cfg.lr_candidates if lr != chosen_lr]
print(f"chosen on validation: body lr {chosen_lr:g}")
for lr in others:
    diff = paired_bootstrap(
        val_true, val_preds[chosen_lr], val_preds[lr], cfg.n_boot, seed=profile.seed
    )
    verdict = (
        "a measurable difference"
        if diff.excludes_zero()
        else "no difference measurable at this budget"
    )
    print(f"lr {chosen_lr:g} minus lr {lr:g} on validation: {diff} → {verdict}")
    print(f"  smallest difference these rows could detect: about ±{(diff.high - diff.low) / 2:.4f}")
print("(a paired bootstrap over the validation rows: it ignores seed-to-seed variation)")
for lr in others:
    del runs[lr]["model"]

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "72c1fb480705"}
# 各次运行的训练损失（逐步记录；运行较长时画的是滑动平均，原始值以淡色显示）以及主体的学习率，都取自 `fit()` 的逐步日志：从中可以看到预热、线性衰减，以及每个学习率让损失下降得有多快。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "2a7304d96bd4"}
figure = plot_runs(
    {f"body lr {lr:g}": runs[lr]["history"] for lr in cfg.lr_candidates},
    keys=("loss", "lr"),
    smooth=max(1, len(train_batches) // 50),  # 只在步数多时做滑动平均
)

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "cf2a39a78d77"}
# ## 6 · 梯度累积：用起来，并加以测量
#
# 把文章那段代码改写成能运行的版本，就是上面的 `train_windows(..., accumulation_steps=4)`。原代码有两个错误：`outputs = model(**inputs)` 用到的 `inputs` 在循环中从未构造；`optimizer.zero_grad()` 只在循环之前调用了一次，此后每次更新都没有再调用，于是每个窗口都把自己的梯度*累加*到之前所有窗口的梯度上。
#
# 为什么梯度累积是对的？一个批次的损失是平均值，而梯度可以相加：各微批次按所占行数的比例加权后相加，就等于一个大批次的梯度。下面在真实模型上验证：关闭 dropout，窗口中**最后一个微批次较短**；然后看那个被遗忘的 `zero_grad()`：不清零，把同一个窗口再跑一遍，优化器在第二次更新时要用的梯度就是两个窗口之和（最后一行输出）。


# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "8052c2fe34a6"}
def gradient_vector(model):
    """All parameter gradients, flattened into one vector."""
    return torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])  # (P,)


probe = fresh_model().eval()  # 关闭 dropout：每次前向传播计算同一个函数
rows = train_tok.select(
    range(cfg.micro_batch_size * (cfg.accumulation_steps - 1) + cfg.micro_batch_size // 2)
)
big_batch = next(iter(make_loader(rows, tokenizer, len(rows))))
micro = [
    {k: v.to(device) for k, v in b.items()}
    for b in make_loader(rows, tokenizer, cfg.micro_batch_size)
]
print("one batch of", len(rows), "rows vs micro-batches of", [len(b["labels"]) for b in micro])
probe(**{k: v.to(device) for k, v in big_batch.items()}).loss.backward()
grad_big = gradient_vector(probe)  # (P,)
grads = {}
for weighting in ("1 / number of micro-batches", "share of rows"):  # 正确的加权放在最后
    probe.zero_grad(set_to_none=True)
    for batch in micro:
        loss = probe(**batch).loss  # () 本微批次的平均值
        weight = (
            len(batch["labels"]) / len(rows) if weighting == "share of rows" else 1 / len(micro)
        )
        (loss * weight).backward()
    grads[weighting] = gradient_vector(probe)  # (P,)
    print(
        f"weighted by {weighting:<28} max |difference from one batch| = {(grads[weighting] - grad_big).abs().max().item():.2e}"
    )
print(f"(largest gradient entry {grad_big.abs().max().item():.2e})")
assert torch.allclose(grads["share of rows"], grad_big, atol=1e-5)
assert not torch.allclose(grads["1 / number of micro-batches"], grad_big, atol=1e-5)
# 再看被遗忘的 zero_grad()：同一个窗口再跑一遍，中间不清零
for batch in micro:  # 第二个窗口，中间不调用 optimizer.zero_grad()
    (probe(**batch).loss * len(batch["labels"]) / len(rows)).backward()
ratio = (gradient_vector(probe).norm() / grads["share of rows"].norm()).item()
print(f"gradient norm after the second window / after the first = {ratio:.3f}")
assert abs(ratio - 2) < 1e-3
del probe

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "483dc20d6cbc"}
# **用起来。** 梯度累积的用处，是在有限的内存里放下一个大的*有效*批次。下面做两次真实运行：使用相同的 `accumulation_run_steps × batch_size` 行数据、相同的顺序、相同的起始权重、选定的学习率，并且**关闭 dropout**（每个 `nn.Dropout` 都设为 p = 0，让两次运行计算的是同一个函数）：一次每步用一个 32 行的批次，另一次每步用 4 个 8 行的微批次。如果梯度累积写对了，两次运行会走出相同的优化器更新，**最终权重也相同**，不论走了多少步。`peak_memory` 报告运行期间内存上涨了多少（在 GPU 上是 CUDA 对张量的精确统计；在 CPU 上是进程的峰值常驻内存，其中还包括分配器缓存和优化器状态，因此更粗略）；在 `optimizer.step` 上挂一个计时器，得到每步耗时的中位数，第一步（热身）不计入。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "58b2bd699a48"}
assert cfg.micro_batch_size * cfg.accumulation_steps == cfg.batch_size
acc_rows = train_tok.select(range(cfg.accumulation_run_steps * cfg.batch_size))


def accumulation_run(micro_size, steps):
    """One real run on ``acc_rows``, dropout off: the model, peak memory, median s per step."""
    batches = list(make_loader(acc_rows, tokenizer, micro_size))  # 相同的行，相同的顺序
    run_model = fresh_model()
    for module in run_model.modules():  # 关闭 dropout：没有随机掩码让两次运行产生差别
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    optimizer = make_optimizer(run_model, chosen_lr)
    stamps = []
    optimizer.register_step_post_hook(lambda *_: stamps.append(time.perf_counter()))
    measured = peak_memory(
        lambda: fit(
            run_model,
            batches,
            epochs=1,
            optimizer=optimizer,
            accumulation_steps=steps,
            grad_clip=cfg.grad_clip,
            device=device,
            progress=False,
        ),
        device,
    )
    return run_model, measured, float(np.median(np.diff(stamps)))  # 第一步不计时


acc_models, acc_rows_table = {}, []
for name, size, steps in (
    ("one batch of 32", cfg.batch_size, 1),
    ("4 micro-batches of 8", cfg.micro_batch_size, cfg.accumulation_steps),
):
    acc_models[name], measured, step_seconds = accumulation_run(size, steps)
    acc_rows_table.append(
        {
            "run": name,
            "optimizer steps": len(measured.result.steps),
            "peak memory MiB": round(measured.peak_mib, 1),
            "ms per sample": round(1000 * step_seconds / cfg.batch_size, 2),
        }
    )
big_run, accumulated_run = acc_models.values()
pairs_ = list(zip(big_run.parameters(), accumulated_run.parameters(), strict=True))
for big_p, acc_p in pairs_:  # 所有参数，训练的和冻结的都算
    torch.testing.assert_close(acc_p, big_p)
acc_gap = max((a - b).abs().max().item() for b, a in pairs_)
acc_moved = max(
    (b - p).abs().max().item()
    for b, p in zip(big_run.parameters(), base_model.parameters(), strict=True)
)
print(
    f"after {len(measured.result.steps)} optimizer steps: largest weight change {acc_moved:.1e}, "
    f"largest difference between the two runs {acc_gap:.1e} (assert_close passed)"
)
acc_table = pd.DataFrame(acc_rows_table).set_index("run")
memory_ratio = acc_table["peak memory MiB"].iloc[1] / max(
    acc_table["peak memory MiB"].iloc[0], 1e-9
)
time_ratio = acc_table["ms per sample"].iloc[1] / acc_table["ms per sample"].iloc[0]
print(
    f"{measured.method} · accumulated / one batch: memory {memory_ratio:.2f}x, time per sample {time_ratio:.2f}x"
)
del acc_models, big_run, accumulated_run, pairs_
acc_table

# %% [markdown] slideshow={"slide_type": "-"} zh={"source_sha": "dba5711af86d"}
# 两次运行的权重在 float32 舍入误差以内一致（上面打印的差异，对照旁边打印的权重变化量）：梯度累积改变的是一步的梯度*如何*计算，而不是走哪一步。代价要看表格：两个比值说明较小的微批次省下了多少内存，以及它们让这台机器上每个样本的耗时发生了什么变化。每个数字都来自共享机器上的一次运行，没有区间，所以接近 1 的比值应读作“没有看到差异”，而不是测得的加速或减速。（像真实训练那样开启 dropout 时，每个微批次会抽取自己的掩码，两次运行会稍有偏离。）

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "f2d49df7f647"}
# ## 7 · 正确地使用混合精度
#
# 文章中的 `torch.cuda.amp.autocast()` / `GradScaler()` 已被弃用；如今的写法要指明设备：`torch.autocast(device_type, dtype=...)` 和 `torch.amp.GradScaler(device_type)`。在自动混合精度上下文（autocast）内部，矩阵乘法以低精度的 dtype 运行；权重、优化器状态以及损失这类归约运算仍保持 float32。两种 16 位格式：
#
# * **float16**：有 10 位尾数，但表示范围很窄：小于约 6e-8 的数都保留不下来；
# * **bfloat16**：与 float32 的范围相同，但只有 7 位尾数。
#
# 缩放器为什么必不可少：看一个 1e-8 的梯度反向穿过一个 fp16 激活值时会发生什么。


# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "861d41a8473b"}
def tiny_gradient(dtype, scaler=None):
    """The gradient reaching a weight through an activation of ``dtype`` when it is 1e-8."""
    weight = torch.nn.Parameter(torch.ones(()))
    loss = weight.to(dtype).float() * 1e-8  # () 梯度反向流经 ``dtype``
    (scaler.scale(loss) if scaler else loss).backward()
    if scaler:
        scaler.unscale_(torch.optim.SGD([weight], lr=1.0))
    return weight.grad.item()


print(f"float16:                {tiny_gradient(torch.float16):.3e}  (underflow: lost)")
print(f"bfloat16:               {tiny_gradient(torch.bfloat16):.3e}  (float32's range: survives)")
print(
    f"float16 + GradScaler:   {tiny_gradient(torch.float16, torch.amp.GradScaler('cpu')):.3e}  (scaled by 2^16 in the backward pass, unscaled after)"
)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "c49421d1891d"}
# **缩放器在工作。** 用本笔记本的循环，以 fp16 配合 `GradScaler`（在 torch 2.13 中它能在 CPU 上运行）训练 `scaler_trace_steps` 步。缩放因子从 2^16 开始；当缩放后的梯度溢出为 `inf` 时，`scaler.step` 跳过这次更新，`scaler.update` 把缩放因子减半。梯度裁剪在 `scaler.unscale_` 之后进行，作用于真实的梯度。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "6c22990ce3ce"}
fp16_batches = list(
    make_loader(
        train_tok.select(range(cfg.scaler_trace_steps * cfg.compare_batch_size)),
        tokenizer,
        cfg.compare_batch_size,
    )
)
fp16_models = []
for use_fit in (False, True):
    run_model = fresh_model()
    optimizer = make_optimizer(run_model, chosen_lr)
    seed_everything(profile.seed)
    if use_fit:  # 包中的孪生实现：fit() 在任何设备上做 fp16 都用缩放器
        fit(
            run_model,
            fp16_batches,
            epochs=1,
            optimizer=optimizer,
            amp_dtype=torch.float16,
            grad_clip=cfg.grad_clip,
            device=device,
            progress=False,
        )
    else:
        trace = train_windows(
            run_model,
            fp16_batches,
            optimizer,
            amp_dtype=torch.float16,
            scaler=torch.amp.GradScaler(device.type),
            grad_clip=cfg.grad_clip,
        )
    fp16_models.append(run_model)
fp16_gap = max(
    (a - b).abs().max().item() for a, b in zip(*(m.parameters() for m in fp16_models), strict=True)
)
print(
    f"{sum(row['skipped'] for row in trace)} of {len(trace)} steps skipped · notebook loop vs fit(): largest weight difference {fp16_gap:.1e}"
)
assert fp16_gap < 1e-6
del fp16_models, run_model

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "b73524fd1b8c"}
# 为了看清缩放器如何反应，我们故意把它的初值设得过高，设为 2^22，并像真实训练那样给这次运行配上学习率调度（learning rate schedule，在这几步内线性衰减）。下面的记录表列出哪些步被跳过、当时的缩放因子是多少，再用文字把它解读出来。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "d00d65e39796"}
run_model = fresh_model()
optimizer = make_optimizer(run_model, chosen_lr)
scheduler = get_linear_schedule_with_warmup(optimizer, 0, len(fp16_batches))
high_scaler = torch.amp.GradScaler(device.type, init_scale=2.0**22)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    high_trace = train_windows(
        run_model,
        fp16_batches,
        optimizer,
        scheduler,
        amp_dtype=torch.float16,
        scaler=high_scaler,
        grad_clip=cfg.grad_clip,
    )
del run_model
trace_table = pd.DataFrame(high_trace).rename_axis("step")
trace_table["scale"] = [f"2^{math.log2(v):.0f}" for v in trace_table["scale"]]
display(trace_table.round({"loss": 4, "grad_norm": 2, "lr": 7}))
skipped_steps = [i for i, row in enumerate(high_trace) if row["skipped"]]
clean_steps = [i for i, row in enumerate(high_trace) if not row["skipped"]]
print(f"skipped: steps {skipped_steps} ({len(skipped_steps)} of {len(high_trace)})")
print(
    f"clean:   steps {clean_steps}; final scale 2^{math.log2(high_scaler.get_scale()):.0f}; "
    f"the scale grows again only after {high_scaler.get_growth_interval()} clean steps in a row"
)
regressed = [i for i in skipped_steps if any(c < i for c in clean_steps)]
print(f"skipped after an earlier clean step: {regressed or 'none'}")
lr_moved = sum(
    high_trace[i + 1]["lr"] < high_trace[i]["lr"] for i in skipped_steps if i + 1 < len(high_trace)
)
print(f"the learning rate still moved on after {lr_moved} of the skipped steps")
for warning in caught:
    print(f"PyTorch warned ({warning.category.__name__}): {str(warning.message).split('. ')[0]}.")

# %% [markdown] slideshow={"slide_type": "-"} zh={"source_sha": "87ca6e2e5b94"}
# 这份记录说明了什么（具体数字见上一个单元格）：
#
# * **一次干净的更新，并不意味着缩放因子从此合适了。** 缩放因子只在溢出时下调，要连续 `growth_interval` 步都干净才会再次上调；每个批次都有自己的梯度，所以在上一个批次能容下的缩放因子下，梯度更大的批次仍可能溢出，这一步同样会被跳过（即“skipped after an earlier clean step”那一行）。缩放器会不断降低缩放因子，直到大多数批次的梯度都能容下为止。
# * **调度器并不知道某一步被跳过了。** `scheduler.step()` 在每个窗口之后都会运行，所以学习率照样往前走，就好像更新已经发生过一样；当第一次 `optimizer.step()` 就被跳过时，PyTorch 会发出警告（如果第一步溢出了，上面就打印了这条警告）。`fit()` 和 `train_windows` 的做法相同：不论是否跳过，它都在每个窗口之后调用 `scheduler.step()`（见 `nlpcourse/train/loop.py`），所以每跳过一次更新，就白白耗掉调度中的一个位置。在默认的 2^16 缩放因子下，上面的对照运行跳过的步数就是它打印出的那个数，因此在一个几千步的训练中，调度最多偏移几步；如果一个循环连这几步也不能丢，就要比较 `scaler.update()` 前后的缩放因子（`train_windows` 正是这样得到 `skipped` 一列的），只在真正发生更新之后才推进调度器。

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "509b57fb8e70"}
# **速度。** fp32、bf16 autocast 以及带缩放器的 fp16 autocast，各自使用一份独立的权重副本，喂入相同的 `compare_steps` 个批次；每种先做一次不计时的热身调用，然后交替进行 `compare_repeats` 轮：取中位数，并给出各轮比值的范围。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "7e07894c77e4"}
speed_batches = list(
    make_loader(
        train_tok.select(range(cfg.compare_steps * cfg.compare_batch_size)),
        tokenizer,
        cfg.compare_batch_size,
    )
)
variants = {}
for label, dtype in (
    ("float32", None),
    ("bfloat16 autocast", torch.bfloat16),
    ("float16 autocast + scaler", torch.float16),
):
    run_model = fresh_model()
    run_optimizer = make_optimizer(run_model, chosen_lr)
    run_scaler = torch.amp.GradScaler(device.type) if dtype == torch.float16 else None
    variants[label] = lambda m=run_model, o=run_optimizer, d=dtype, s=run_scaler: train_windows(
        m, speed_batches, o, amp_dtype=d, scaler=s, grad_clip=cfg.grad_clip
    )
rounds = [  # 每轮每个变体轮流计时一次；第一轮先为各变体热身
    compare_seconds(variants, repeats=1, warmup=int(r == 0)) for r in range(cfg.compare_repeats)
]
rows_timed = sum(len(b["labels"]) for b in speed_batches)
speed = pd.DataFrame(
    {"samples/s": {k: rows_timed / np.median([r[k] for r in rounds]) for k in variants}}
)
ratios = {k: [r["float32"] / r[k] for r in rounds] for k in variants}  # 逐轮计算，负载相同
speed["ratio to float32"] = [np.median(ratios[k]) for k in speed.index]
speed["ratio range over rounds"] = [
    f"[{min(ratios[k]):.2f}, {max(ratios[k]):.2f}]" for k in speed.index
]
print(
    f"{device} · CPU capability {torch.backends.cpu.get_cpu_capability()} · {cfg.compare_steps} steps of {cfg.compare_batch_size} rows, median of {cfg.compare_repeats}"
)
print(
    f"accuracy by precision: not measured ({cfg.compare_steps} steps are far too few for accuracy to mean anything)"
)
print(
    "GPU comparison (samples/s, peak CUDA memory, validation accuracy after an epoch for "
    "fp32/bf16/fp16): not measured here, no GPU in this run"
)
for label in list(variants)[1:]:
    low, high = min(ratios[label]), max(ratios[label])
    word = "faster" if low > 1 else "slower" if high < 1 else "no clear difference"
    print(f"{label}: {np.median(ratios[label]):.2f}x float32's speed → {word} on this CPU")
del variants, run_model, run_optimizer
speed.round(2)

# %% [markdown] slideshow={"slide_type": "-"} zh={"source_sha": "936ee71c1c19"}
# 解读这些比值时要考虑硬件：只有当芯片具备快速的 16 位运算能力时，低精度才会更快（GPU 上的张量核心；较新服务器 CPU 上的 AMX 或 AVX-512-FP16/BF16）。否则 PyTorch 会模拟 16 位乘法，速度可能比 float32 慢好几倍；上面的表格连同其上方打印出的 CPU 能力，说明了这台机器属于哪种情况（比值大于 1 表示加速，小于 1 表示减速；每个比值是 `compare_repeats` 轮的一个中位数，没有区间）。而在 GPU 上（混合精度本应在那里发挥作用），本笔记本什么也没有测量：三种精度下的 samples/s、峰值内存以及训练一轮之后的准确率都没有在这里测量，也不声称任何 GPU 上的数字。

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "e0c22805423a"}
# ## 8 · 先看基线，再为测试部分评分（仅此一次）
#
# 微调值得吗？TF-IDF 特征（单词和相邻词对的权重）加上逻辑回归，在相同的训练数据上几秒钟就能训练完。它的设置是包中事先固定的默认值：没有在任何一份数据上为它做过选择。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "f49d6f83f26f"}
baseline = tfidf_logreg(train_set["text"], train_set["label"], seed=profile.seed)
print(
    f"TF-IDF + logistic regression: {baseline.parameters:,} weights, fitted in {baseline.fit_seconds:.1f} s"
)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "060a7985ed6f"}
# 现在所有选择都已固定：学习率和轮数（依据验证集），基线的设置（事先固定）。**这是唯一一个为测试部分评分的单元格**；两个模型在相同的行上评分，并在这些行上用配对自助法进行比较。读分数时，请对照打印在其下方的、模型只读到一部分内容的测试文本所占的比例：在 `quick` 下，模型只读每段文本的前 `max_len` = 32 个词元，而 TF-IDF 基线读的是每一个单词。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "9e165ddbba03"}
y_true = np.array(test_set["label"])  # (N_test,)
y_prob = predict(model, test_loader, device).softmax(dim=-1).numpy()  # (N_test, 4)
y_pred = y_prob.argmax(axis=1)  # (N_test,)
base_pred = baseline.predict(test_set["text"])  # (N_test,)
results = []
for name, pred, seconds_, params in (
    (
        f"fine-tuned ({profile.bert.split('/')[-1]}, lr {chosen_lr:g})",
        y_pred,
        train_seconds,
        count_parameters(model),
    ),
    ("TF-IDF + logistic regression", base_pred, baseline.fit_seconds, baseline.parameters),
):
    summary_ = classification_summary(y_true, pred, class_names)
    ci = bootstrap_accuracy(y_true, pred, cfg.n_boot, seed=profile.seed)
    results.append(
        {
            "model": name,
            "test accuracy [95% CI]": f"{ci.estimate:.4f} [{ci.low:.4f}, {ci.high:.4f}]",
            "macro-F1": round(summary_["macro_f1"], 4),
            "training s": round(seconds_, 1),
            "parameters": f"{params:,}",
        }
    )
summary = classification_summary(y_true, y_pred, class_names)
difference = paired_bootstrap(y_true, y_pred, base_pred, cfg.n_boot, seed=profile.seed)
print(
    f"fine-tuned minus baseline, test accuracy: {difference} (paired bootstrap over {len(y_true):,} test rows; ignores seed variance)"
)
print(
    "→ "
    + (
        "the fine-tuned model is measurably " + ("better" if difference.estimate > 0 else "worse")
        if difference.excludes_zero()
        else "no difference measurable at this budget"
    )
    + f" (smallest detectable: about ±{(difference.high - difference.low) / 2:.4f})"
)
assert summary["accuracy"] >= cfg.target_accuracy, (
    f"test accuracy {summary['accuracy']:.4f} is below this profile's floor {cfg.target_accuracy}"
)
test_lengths = np.array([len(ids) for ids in tokenizer(list(test_set["text"]))["input_ids"]])
full_len = get_profile("full").agnews.max_len  # 文章的设置会读每段文本的更多内容
print(
    f"the model read at most {cfg.max_len} tokens per text: {(test_lengths > cfg.max_len).mean():.0%} "
    f"of these test texts were cut (the full profile's max_len={full_len} would cut "
    f"{(test_lengths > full_len).mean():.0%}; counted with this profile's tokenizer)"
)
results_table = pd.DataFrame(results).set_index("model")
results_table

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "9b2769293069"}
# 准确率掩盖了哪些类别吃了亏。精确率（precision）：我们判为 *Business* 的新闻中，有多少确实是；召回率（recall）：真正的 *Business* 新闻中，有多少被我们找了出来。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "76eff485ee99"}
print(per_class_report(y_true, y_pred, class_names))

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "fa2317cf9a1b"}
figure = plot_confusion_matrix(y_true, y_pred, class_names, title="AG News, test part (fine-tuned)")

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "6e62f4cbae2d"}
# 用文字解读这个混淆矩阵（confusion matrix）。下面的文字由矩阵的计数打印出来，因此每次运行都成立：

# %% slideshow={"slide_type": "-"} zh={"source_sha": "d1a12e05ca69"}
counts = confusion(y_true, y_pred, len(class_names))  # (4, 4) 行为真实类别，列为预测类别
for c, name in enumerate(class_names):
    misses = counts[c].sum() - counts[c, c]
    off = counts[c].copy()
    off[c] = -1
    where = class_names[int(off.argmax())]
    print(
        f"{name:>9}: {counts[c, c] / counts[c].sum():.0%} found; of its {misses} misses, {off.max()} were read as {where}"
    )
worst = np.unravel_index(
    np.where(np.eye(len(class_names), dtype=bool), -1, counts).argmax(), counts.shape
)
print(f"the most frequent confusion: {class_names[worst[0]]} read as {class_names[worst[1]]}")

# %% [markdown] slideshow={"slide_type": "notes"} zh={"source_sha": "7c893ad0b258"}
# 这个成绩算好吗？已发表的结果显示，用全部 120,000 行训练数据微调的 BERT-base 在 AG News 上的测试准确率约为 94.5–95 %（Sun et al., 2019）。`quick` 运行所用的模型只有 BERT-base 的五分之一大小，训练数据只有几千行（`train_rows`），只读 32 个词元（多数文本被截断，见测试结果表下方的输出），并且只训练一轮，所以得分更低（见上面的表格）。`full` 配置档的成绩在本次发布中尚未测量（还没有在 GPU 上运行过）。

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "f62f6f33d13f"}
# ## 9 · 保存（附模型卡），再重新加载
#
# `save_pretrained` 写出 `model.safetensors`（一个纯粹的张量文件，加载时不会执行任何代码）和 `config.json`（含我们的 `id2label`）；分词器也保存在一起。它们旁边还有一份简短的**模型卡**，说明模型在什么数据上训练、在测试部分上得分多少，以及它不应被用于什么场合。文件夹 `runs/06_ag_news_classifier/` 已被 git 忽略。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "539d81352bd0"}
save_dir = run_dir("06_ag_news_classifier")
model.save_pretrained(save_dir)  # 默认保存为 safetensors
tokenizer.save_pretrained(save_dir)
card = ModelCard(
    title="AG News topic classifier (nlpcourse notebook 06)",
    base_model=profile.bert,
    data="AG News (4 topics: "
    + ", ".join(class_names)
    + f"), English news titles and descriptions, cut to {cfg.max_len} tokens",
    splits={"train": len(train_set), "validation": len(val_set), "test": len(test_set)},
    metrics={
        "accuracy [95% bootstrap CI]": results_table.iloc[0, 0],
        "macro-F1": f"{summary['macro_f1']:.4f}",
        "TF-IDF + logistic regression baseline, accuracy": results_table.iloc[1, 0],
        "fine-tuned minus baseline (paired bootstrap)": str(difference),
    },
    training={
        "profile": profile.name,
        "body learning rate (chosen on validation)": f"{chosen_lr:g} of {list(cfg.lr_candidates)}",
        "epochs": str(cfg.epochs),
        "batch": str(cfg.batch_size),
    },
    limits=[
        "English news from the 2000s only; other domains and later events are untested.",
        "Four topics only: every text is forced into one of them.",
        "The intervals cover the test sample, not seed-to-seed variation of training.",
        "AG News labels are noisy; some 'errors' are label mistakes.",
    ],
    hardware=hardware_summary(device),
)
card_path = write_model_card(save_dir, card)
print(sorted(p.name for p in save_dir.iterdir()))
display(Markdown(card_path.read_text()))

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "3dfcaa0f467c"}
reloaded = BertForSequenceClassification.from_pretrained(save_dir).to(device).eval()
probe_batch = {k: v.to(device) for k, v in next(iter(test_loader)).items() if k != "labels"}
with torch.no_grad():
    same = torch.equal(
        model.eval()(**probe_batch).logits, reloaded(**probe_batch).logits
    )  # 各为 (B, 4)
print("reloaded model gives identical logits:", same)
assert same and (save_dir / "model.safetensors").is_file()

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "71b1b4df30b9"}
# ## 进一步探索
#
# 从保存好的分类器出发的两条支线：阅读它最有把握的那些错误，以及通过 `pipeline` 对外提供服务。

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "e415665af453"}
# **标签噪声。** 模型在测试部分上*最有把握*却犯下的错误（测试部分已经评过分；这里不会据此做任何选择）。在责怪模型之前先读一读：在 AG News 中，这类“错误”往往是标签（label）有争议甚至标错了的新闻。按置信度对错误排序，是在任何数据集（dataset）中发现标签噪声的廉价办法。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "5e8bc1900a24"}
wrong = np.flatnonzero(y_true != y_pred)
for i in wrong[np.argsort(-y_prob[wrong].max(axis=1))][:5]:
    print(
        f"labelled {class_names[y_true[i]]:<8} predicted {class_names[y_pred[i]]:<8} ({y_prob[i].max():.2f}): {test_set[int(i)]['text'][:140]}…"
    )

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "d24d5e3e15bf"}
# `pipeline("text-classification")` 把分词器、模型和后处理打包在一起；因为配置中带有 `id2label`，它会用类别名称作答。下面是几条新的标题，并非来自 AG News：

# %% slideshow={"slide_type": "-"} zh={"source_sha": "bb8ed5592c3a"}
classifier = pipeline("text-classification", model=str(save_dir), device=device)
headlines = [
    "Striker scores twice as United win the derby in stoppage time",
    "Central bank raises interest rates to cool inflation",
    "New smartphone chip promises twice the battery life",
    "Ceasefire talks resume as envoys arrive in the capital",
]
for headline, answer in zip(
    headlines, classifier(headlines, truncation=True, max_length=cfg.max_len), strict=True
):
    print(f"{answer['label']:>9} ({answer['score']:.2f})  {headline}")
print(
    f"\nwhole notebook: {(time.perf_counter() - notebook_start) / 60:.1f} min, load average {os.getloadavg()[0]:.1f}"
)

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "a0ad4cf06755"}
# ## 练习
#
# **1.** 你用上面的 `train_windows` 在 6,080 行数据上训练，微批次大小为 12，`accumulation_steps=4`。一轮会做多少次优化器更新？（注意最后一个微批次和最后一个窗口。）

# %% slideshow={"slide_type": "-"} zh={"source_sha": "5fff6b21b08f"}
from nlpcourse.exercises.ch06 import (
    check_macro_f1_from_confusion,
    check_optimizer_steps,
    check_training_loop,
)

optimizer_steps = None  # 你的答案
check_optimizer_steps(optimizer_steps)

# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"] zh={"source_sha": "6ec0591cf494"}
micro_count = -(-6_080 // 12)  # 向上取整：最后一个微批次更小
optimizer_steps = -(-micro_count // 4)  # 向上取整：最后一个窗口不满，但仍会更新一次
assert check_optimizer_steps(optimizer_steps)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "8ef53cc09b2e"}
# **2.** 编写 `macro_f1_from_confusion(counts)`，只用 NumPy，从一个混淆矩阵（行：真实类别，列：预测类别）计算宏平均 F1（macro-F1）。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "8e0dddfae405"}
macro_f1_from_confusion = None  # 你的答案，请写成 def macro_f1_from_confusion(counts): ...
check_macro_f1_from_confusion(macro_f1_from_confusion)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"] zh={"source_sha": "573626b54360"}
def macro_f1_from_confusion(counts):
    """Macro-F1 from a confusion matrix: the mean over classes of 2PR / (P + R)."""
    hits = np.diag(counts).astype(float)  # (C,)
    precision = hits / np.maximum(counts.sum(axis=0), 1)  # (C,)
    recall = hits / np.maximum(counts.sum(axis=1), 1)  # (C,)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(both), where=both > 0)  # (C,)
    return float(f1.mean())


assert check_macro_f1_from_confusion(macro_f1_from_confusion)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "14b6353eaca7"}
# **3.** 从零写出第 4、6、7 节拆开讲解的整个训练轮：`train_loop(model, batches, optimizer, accumulation_steps, grad_clip)`，其中 `batches` 是由大小不一的 `(x, y)` 对组成的列表，`model(x)` 返回 logits。它必须在 CPU 上以 float16 autocast 运行前向传播，并使用它自己的 `torch.amp.GradScaler("cpu")`；每次优化器更新累积 `accumulation_steps` 个微批次（每一行的分量相同，最后一个窗口可以不满）；在*真实*梯度上把全局梯度范数裁剪到 `grad_clip`；并按缩放器的判断跳过梯度溢出的那些更新。检查函数会用你的循环和 `fit(..., amp_dtype=torch.float16)`，从相同的权重出发训练一个小分类器，所用批次的第一个窗口会溢出，然后比较两者的权重。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "f0698da47f28"}
train_loop = None  # 你的答案，请写成 def train_loop(model, batches, optimizer, accumulation_steps, grad_clip): ...
check_training_loop(train_loop)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"] zh={"source_sha": "5b86fd412fda"}
def train_loop(model, batches, optimizer, accumulation_steps, grad_clip):
    """One epoch: fp16 autocast, a GradScaler, accumulation by rows' share, clipping."""
    scaler = torch.amp.GradScaler("cpu")
    model.train()
    optimizer.zero_grad(set_to_none=True)
    for start in range(0, len(batches), accumulation_steps):
        window = batches[start : start + accumulation_steps]  # 最后一个可能较短
        rows = sum(len(y) for _, y in window)
        for x, y in window:
            with torch.autocast("cpu", dtype=torch.float16):
                logits = model(x)  # (B, C)，float16
            loss = F.cross_entropy(logits.float(), y)  # () B 行的平均值
            scaler.scale(loss * len(y) / rows).backward()
        scaler.unscale_(optimizer)  # 裁剪之前先还原真实梯度
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        scaler.step(optimizer)  # 若有梯度溢出则跳过
        scaler.update()
        optimizer.zero_grad(set_to_none=True)


assert check_training_loop(train_loop)
