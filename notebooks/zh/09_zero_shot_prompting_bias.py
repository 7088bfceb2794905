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

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "735d32a2f7c8"}
# # 09 · 零样本、少样本、提示与偏见
#
# 文章（§5）在高效模型之外还谈到两个趋势：一是**少样本（few-shot）学习**——GPT-3 表明，只凭一段提示（prompt），
# 不用或只用少量带标签的样例就能完成分类；二是**伦理与偏见（bias）**——模型会学到关于不同人群的关联，
# 去偏（debiasing）方法试图把它们去掉。本笔记本在 AG News 和课程自己的编码器（encoder）上把两者都测一遍：
#
# 1. **零样本（zero-shot）**——按与每个类别描述句的相似度分类：措辞在验证行上选定，再在测试行上只评一次；
#    另有一个完形填空式提示（cloze prompt）。
# 2. **少样本**——每类 $k = 4 \ldots 32$ 条带标签（label）的新闻，三种方法用同样的行：冻结嵌入（embedding）
#    上的线性探针（linear probe）、微调（fine-tuning）和 **SetFit**。
# 3. **像 GPT-3 那样提示**——为因果语言模型写出提示打分函数，并与程序包的批量版本对照。
# 4. **偏见**——在嵌入上做 WEAT 检验并测量其效应量的噪声；用投影去掉一个“性别方向”；
#    再对笔记本 06 的分类器（classifier）做反事实检验，按模板做整群自助法（bootstrap）。
#
# 所有选择都在验证行上做出；测试行只给每个最终方法评一次分。

# %% slideshow={"slide_type": "skip"} zh={"source_sha": "7ee360ffbc80"}
import copy
import math
import time

import datasets
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from IPython.display import display
from sklearn.linear_model import LogisticRegression
from tqdm.auto import tqdm
from transformers.utils import logging as hf_logging

from nlpcourse.config import get_device, get_profile, seed_everything
from nlpcourse.data.checkpoints import (
    checkpoint_available,
    load_pretrained,
    missing_checkpoint_message,
)
from nlpcourse.data.runs import saved_classifier
from nlpcourse.data.splits import ag_news_three_way, stratified_subset
from nlpcourse.evaluate import bias, counterfactual, fewshot, prompting, stats
from nlpcourse.evaluate.comparison import compare_variants, verdict
from nlpcourse.models.heads import EncoderClassifier
from nlpcourse.models.pooling import encode
from nlpcourse.text.hf_batches import make_loader, tokenize_dataset
from nlpcourse.train import optim
from nlpcourse.train.loop import fit, predict

with fewshot.quiet_setfit():  # transformers 的模型导入会加载 torchao，后者会报告 GPU 内核
    from transformers import (
        AutoConfig,
        AutoModel,
        AutoModelForMaskedLM,
        AutoModelForSequenceClassification,
        AutoTokenizer,
        GPT2Config,
        GPT2LMHeadModel,
        get_linear_schedule_with_warmup,
    )

hf_logging.set_verbosity_error()  # 不显示加载报告
hf_logging.disable_progress_bar()  # 不显示 “Loading weights” 进度条
datasets.disable_progress_bars()  # 不显示 “Map” 进度条

profile = get_profile()
seed_everything(profile.seed)
cfg = profile.zero_shot_bias
device = get_device()
notebook_start = time.perf_counter()
print(f"profile {profile.name!r} · encoder {profile.bert} · device {device}")

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "5b98a89f0a10"}
# ## 1 · 数据与编码器
#
# 用同一个辅助函数和同一个随机种子（seed）重建笔记本 06 的 AG News 三个部分：**验证**行做所有选择，
# **测试**行给每个最终方法只评一次分，带标签的训练行组成一个**样例池**，少样本样例从中抽取。

# %% keep_output=true slideshow={"slide_type": "-"} zh={"source_sha": "35642d582fe9"}
# NBVAL_CHECK_OUTPUT
agnews = profile.agnews
parts = ag_news_three_way(
    agnews.use_official_train, agnews.test_size, agnews.val_size, profile.seed
)
class_names = parts["train"].features["label"].names
val_set = stratified_subset(parts["validation"], cfg.eval_size, profile.seed)
test_set = parts["test"]
pool_set = stratified_subset(parts["train"], cfg.fewshot_pool_size, profile.seed)
val_labels, test_labels = np.array(val_set["label"]), np.array(test_set["label"])
pool_labels, pool_texts = np.array(pool_set["label"]), list(pool_set["text"])
for name, part in (("few-shot pool", pool_set), ("validation", val_set), ("test", test_set)):
    counts = np.bincount(part["label"], minlength=len(class_names)).tolist()
    print(f"{name:>14}: {len(part):>5,} rows · per class {counts}")
print("classes:", class_names)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "b4e52daa5ef7"}
# 在 `quick` 配置档（profile）中，`profile.bert` 是 `sentence-transformers/all-MiniLM-L6-v2`：它经过训练，
# 平均池化并归一化后的向量就是句子嵌入，内容相近的文本彼此靠近。（在 `full` 中它是 `bert-base-uncased`，
# 其平均池化向量从未为相似度训练过；在那里要看的零样本方法是完形填空提示。）每条文本只**嵌入一次**，
# 下面的所有内容都复用这三个矩阵。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "d9119988b68c"}
tokenizer = load_pretrained(AutoTokenizer, profile.bert)
encoder = load_pretrained(AutoModel, profile.bert).to(device).eval()
# 平均池化并归一化为单位长度，与模型训练时的用法一致
val_emb = encode(list(val_set["text"]), encoder, tokenizer, max_len=cfg.max_len)  # (n_val, H)
test_emb = encode(list(test_set["text"]), encoder, tokenizer, max_len=cfg.max_len)  # (n_test, H)
pool_emb = encode(pool_texts, encoder, tokenizer, max_len=cfg.max_len)  # (n_pool, H)
print(
    f"embeddings: validation {tuple(val_emb.shape)}, test {tuple(test_emb.shape)}, pool {tuple(pool_emb.shape)}"
)

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "596779112f83"}
# ## 2 · 按相似度做零样本分类：措辞本身就是一个选择
#
# 为每个类别嵌入一段文本，然后把每条新闻归到文本离它最近（余弦最高）的类别。同样四个类别有三种描述方式：
# 光秃秃的类别名、套在类别名外面的提示模板，以及每类一句说明这类新闻讲什么的句子。选哪一种是一个选择，
# 所以在验证行上做出。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "ea8eb41a7afa"}
descriptions = {
    "label names": class_names,
    "template": [
        f"This news is about {topic}."
        for topic in ("the world", "sports", "business", "science and technology")
    ],
    "descriptions": [
        "World news: politics, governments, elections, war and diplomacy around the world.",
        "Sports news: games, matches, teams, players, scores and championships.",
        "Business news: companies, markets, stocks, earnings, oil prices and the economy.",
        "Science and technology news: computers, software, the internet, space and research.",
    ],
}
label_emb = {how: encode(texts, encoder, tokenizer) for how, texts in descriptions.items()}
val_zero_shot = {
    how: fewshot.zero_shot_predict(val_emb, emb) for how, emb in label_emb.items()
}  # 每个 (n_val,)
wording_table = compare_variants(
    val_labels, val_zero_shot, against={"template": "label names", "descriptions": "label names"}
)
best_wording = wording_table["accuracy"].idxmax()  # 在验证集上做出的选择
print(f"{len(val_labels):,} validation rows (chance 0.25); chosen wording: {best_wording!r}")
wording_table.round(3)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "e35e0f67b2b7"}
# 在 600 条验证行上，类别描述句明显胜出：0.783，模板为 0.688，光秃秃的类别名为 0.600
# （相对类别名成对差 +0.183 [0.142, 0.223]）。选中的措辞现在去见测试行，只此一次；其他措辞都不在测试行上评分。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "fc0363c7d301"}
test_zero_shot = fewshot.zero_shot_predict(test_emb, label_emb[best_wording])  # (n_test,)
zero_shot_test = stats.bootstrap_accuracy(test_labels, test_zero_shot)
print(
    f"zero-shot ({best_wording}) on {len(test_labels):,} test rows: accuracy "
    f"{zero_shot_test.estimate:.3f} [{zero_shot_test.low:.3f}, {zero_shot_test.high:.3f}]"
)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "825928c8315d"}
# 在 1,520 条测试行上，描述句得到准确率（accuracy）0.788 [0.768, 0.809]，与其验证分数相符：
# 不用一条带标签的样例，大约每五条新闻就有四条分到了正确的类别。
#
# ### 用完形填空提示做零样本分类
#
# 让一个掩码语言模型（masked language model）填写 “This news is about [MASK].”，比较它在掩码（mask）
# 位置给 *world*、*sports*、*business*、*technology* 的分数（`fewshot.cloze_scores`，已在一个微型 BERT
# 上测试）。这需要一个带掩码语言模型头的检查点（checkpoint）（`profile.masked_lm`）；`quick` 没有设置，
# 所以这里单元格只打印一行说明没有运行，也不声称任何完形填空的数字。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "1cb14726b299"}
cloze_words = ["world", "sports", "business", "technology"]
if profile.masked_lm is None:
    print(
        f"Cloze prompt not run: profile {profile.name!r} sets no masked-LM checkpoint "
        f"({profile.bert} ships without its masked-LM head); NLPCOURSE_PROFILE=full runs it."
    )
elif not checkpoint_available(profile.masked_lm):
    print(f"Cloze prompt not run: {missing_checkpoint_message(profile.masked_lm)}")
else:
    mlm_tokenizer = load_pretrained(AutoTokenizer, profile.masked_lm)
    mlm = load_pretrained(AutoModelForMaskedLM, profile.masked_lm).to(device).eval()
    template = "{text} This news is about " + mlm_tokenizer.mask_token + "."
    scores = fewshot.cloze_scores(
        list(test_set["text"]), mlm, mlm_tokenizer, template, cloze_words, max_len=cfg.max_len + 12
    )  # (n_test, 4)：掩码语言模型在 [MASK] 处给每个标签词的 logit
    cloze = stats.bootstrap_accuracy(test_labels, scores.argmax(dim=1).numpy())
    print(f"cloze zero-shot with {profile.masked_lm}, {len(test_labels):,} test rows: {cloze}")
    del mlm

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "1db0129770a5"}
# ## 3 · 少样本：每类 4 到 32 条带标签样例，三种用法
#
# 现在允许每类有 $k$ 条带标签的新闻，用随机种子从样例池中抽取（`fewshot.sample_k_per_class` 每类恰好取 $k$ 条）。
# 对*同样的* $4k$ 条样例有三种用法：
#
# * **线性探针**——编码器保持冻结，在缓存的嵌入上拟合逻辑回归（梯度（gradient）不经过编码器）；
# * **微调**——在平均池化向量上训练编码器和一个线性头，固定优化器（optimizer）步数，主体用小学习率（learning rate），
#   头用大学习率；
# * **SetFit**（Tunstall 等，2022）——先在样例对上以*对比*方式微调句子编码器（同类：余弦拉向 1；不同类：拉向 0），
#   再在新的嵌入上拟合逻辑回归。成对使数据成倍增加：$4k$ 条样例构成 $\binom{4k}{2}$ 对。
#
# 所有大小和学习率都来自 `ZeroShotBiasConfig`，在任何运行之前就已固定；这些运行之间不做任何选择，
# 所以直接在测试行上评分，只评一次。

# %% keep_output=true slideshow={"slide_type": "-"} zh={"source_sha": "86faf8f78de1"}
# NBVAL_CHECK_OUTPUT
seeds = [profile.seed + s for s in range(cfg.few_shot_seeds)]
for k in cfg.shots:
    picked = fewshot.sample_k_per_class(pool_labels, k, seeds[0])
    per_class = np.bincount(pool_labels[picked]).tolist()
    print(
        f"k={k:>2}: {len(picked):>3} examples, per class {per_class}, {math.comb(len(picked), 2):>5,} pairs"
    )
print(
    f"fine-tuning: {cfg.finetune_steps} steps of {cfg.finetune_batch_size} examples; "
    f"SetFit: {cfg.setfit_steps} steps of {cfg.setfit_batch_size} pairs, then its head"
)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "e0ad18b160f2"}
# 三个函数，每种方法一个；每个函数接收 $4k$ 条样例的索引和一个随机种子，返回它对同一批测试行的预测。
# SetFit 通过程序包里的薄封装运行（`fewshot.train_setfit`：复制唯一加载的编码器，无进度条，不在磁盘上写检查点），
# 与另外两种方法用同一个检查点。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "68444ac638cf"}
numbered_test = test_set.add_column("row", range(len(test_set)))
fs_rows = np.sort(stratified_subset(numbered_test, cfg.fewshot_test_size, profile.seed)["row"])
fs_labels, fs_texts = test_labels[fs_rows], [test_set[int(i)]["text"] for i in fs_rows]
fs_loader = make_loader(
    tokenize_dataset(test_set.select(fs_rows), tokenizer, cfg.max_len), tokenizer, batch_size=64
)
tok_pool = tokenize_dataset(pool_set, tokenizer, cfg.max_len)
# 同一个检查点，按 SetFit 的方式加载
setfit_body = fewshot.sentence_body(profile.bert, cfg.max_len)


def probe_predictions(indices, seed):
    probe = LogisticRegression(max_iter=1_000, random_state=seed)
    probe.fit(pool_emb[indices], pool_labels[indices])  # (4k, H) 冻结的嵌入
    return probe.predict(test_emb[fs_rows])  # (n_fs,)


def finetune_predictions(indices, seed):
    seed_everything(seed)
    model = EncoderClassifier(copy.deepcopy(encoder), len(class_names), pooling="mean")
    groups = optim.param_groups(model, cfg.finetune_body_lr, cfg.finetune_head_lr, head=("head",))
    loader = fewshot.fixed_steps_loader(
        tok_pool.select(indices), tokenizer, cfg.finetune_batch_size, cfg.finetune_steps, seed
    )
    fit(model, loader, epochs=1, optimizer=torch.optim.AdamW(groups), progress=False)
    return predict(model, fs_loader).argmax(dim=-1).numpy()  # (n_fs,)


def setfit_predictions(indices, seed):
    model = fewshot.train_setfit(
        setfit_body,
        [pool_texts[i] for i in indices],
        pool_labels[indices],
        steps=cfg.setfit_steps,
        batch_size=cfg.setfit_batch_size,
        body_lr=cfg.setfit_body_lr,
        seed=seed,
    )
    return fewshot.setfit_predict(model, fs_texts)  # (n_fs,)


methods = {
    "probe": probe_predictions,
    "fine-tuning": finetune_predictions,
    "SetFit": setfit_predictions,
}
few_shot = {}  # (方法, k, 种子) -> (n_fs,) 预测类别
for k, seed in tqdm([(k, s) for k in cfg.shots for s in seeds], desc="k × seed"):
    picked = fewshot.sample_k_per_class(pool_labels, k, seed)  # 三种方法用同样的 4k 行
    for method, run in methods.items():
        few_shot[method, k, seed] = run(picked, seed)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "5ce9dec2939d"}
# 先看学习曲线：测试准确率随 $k$ 的变化，取各随机种子的均值 ± 标准差（每个种子抽取不同的样例），
# 并在同样的行上画出第 2 节的零样本水平线。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "032ffc688919"}
accuracy = {
    key: float((predicted == fs_labels).mean()) for key, predicted in few_shot.items()
}  # (方法, k, 种子) -> 准确率
zero_shot_fs = float((test_zero_shot[fs_rows] == fs_labels).mean())
fig, ax = plt.subplots(figsize=(6.5, 4))
curve = {}
for color, method in zip(("C0", "C1", "C2"), methods, strict=True):
    per_k = [[accuracy[method, k, s] for s in seeds] for k in cfg.shots]
    mean, sd = np.array([np.mean(v) for v in per_k]), np.array([np.std(v, ddof=1) for v in per_k])
    curve[method] = [stats.format_mean_sd(v, 3) for v in per_k]
    ax.plot(cfg.shots, mean, "o-", color=color, label=method)
    ax.fill_between(cfg.shots, mean - sd, mean + sd, color=color, alpha=0.2)
ax.axhline(zero_shot_fs, color="gray", ls="--", label=f"zero-shot ({best_wording})")
ax.axhline(0.25, color="gray", ls=":", label="chance")
ax.set_xscale("log", base=2)
ax.minorticks_off()
ax.set(xticks=list(cfg.shots), xticklabels=[str(k) for k in cfg.shots], ylim=(0.2, 1))
ax.set(xlabel="labelled examples per class (k)", ylabel=f"accuracy, {len(fs_rows)} test rows")
ax.set_title(f"{len(seeds)} seeds per point (band: ± 1 sd)")
ax.legend(loc="lower right", fontsize=8)
ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()
print(f"zero-shot on the same {len(fs_rows)} rows: {zero_shot_fs:.3f}")
pd.DataFrame(curve, index=pd.Index(cfg.shots, name="k"))

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "9e0959d82ebd"}
# 再做成对比较。对每种方法、每个 $k$ 和每个随机种子，预测覆盖同样的测试行，因此每一行都有一个
# 对各种子取平均的“是否正确”；与 SetFit 的差值在行上做自助法（`stats.bootstrap_mean`）。该区间涵盖的是
# 抽到了哪些测试行，而不是抽到了哪些样例或种子（那部分波动就是上图的色带）。区间包含零时，
# 最后一列给出这么多行能够发现的最小差值。


# %% slideshow={"slide_type": "-"} zh={"source_sha": "fbdf127e8e49"}
def seed_mean_correct(method, k):
    return np.mean([few_shot[method, k, s] == fs_labels for s in seeds], axis=0)  # (n_fs,)


rows = []
for k in cfg.shots:
    for method in ("probe", "fine-tuning"):
        diff = stats.bootstrap_mean(seed_mean_correct(method, k) - seed_mean_correct("SetFit", k))
        rows.append(
            {
                "k": k,
                "method − SetFit": method,
                "difference": diff.estimate,
                "low": diff.low,
                "high": diff.high,
                "verdict": verdict(diff),
                "detectable": stats.interval_min_detectable_difference(diff)
                if not diff.excludes_zero()
                else np.nan,
            }
        )
pd.DataFrame(rows).set_index(["k", "method − SetFit"]).round(3)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "e274128c7d1c"}
# 如何读这两个输出。虚线是同样 200 条测试行上的零样本结果，为 0.765。$k = 4$ 时每种方法都低于它
# （探针 0.640，SetFit 0.677，微调 0.718）；从 $k = 16$ 起每种方法都达到或超过它（0.785 到 0.802），
# $k = 32$ 时三者彼此相差不到 0.010（0.810 到 0.820）。与 SetFit 成对比较：$k = 4$ 时微调高
# 0.040 [0.008, 0.075]，探针低 0.038 [0.020, 0.058]；$k = 8$ 时探针仍低 0.018 [0.002, 0.035]，
# 而微调与 SetFit 之间没有可测的差异；从 $k = 16$ 起完全没有可测的差异，“detectable” 一列给出差异至少要多大
# 才能被发现：相对探针约 0.01，相对微调约 0.05。SetFit 始终与探针接近——如果它的 4 步对比训练几乎没有
# 移动编码器，这正是预期的结果；本笔记本没有测量它们把编码器移动了多少。
#
# `quick` 的规模能说明什么、不能说明什么。每个点两个随机种子、200 条测试行、8 步微调和 4 步 SetFit
# （这些规模让笔记本保持在 CPU 预算之内）能显示 $k = 4$ 时各方法的先后顺序，以及到 $k = 16$ 时差距已经收拢；
# 它们无法显示小于 detectable 一列的差异（SetFit 与微调之间约 0.05），两个种子给出的标准差（上表中 0.007 到 0.060）
# 只能说明样例的抽取有影响，说不清影响多大。它们也不代表论文中的 SetFit——那里每条样例训练的样例对要多得多；
# `full` 运行 5 个种子、2,000 条测试行和 15 步 SetFit。两种需要训练的方法获得同样次数的编码器前向计算
# （SetFit 的每个样例对含两段文本），且都没有在这些行上调参。

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "f5b34f12bd9b"}
# ## 4 · 像 GPT-3 那样提示
#
# 因果语言模型预测下一个词元（token）。要用它来分类，就把任务写进输入：一条指令，可选地加上每类 $k$ 个
# 已解答的样例（“示范”，demonstrations），然后是待分类的文本，结尾停在答案该出现的位置；再看模型认为
# 接下来最可能是哪个标签词。*零样本*只有指令；*少样本*加上示范；权重始终不变（上下文学习，in-context learning）。
# 一个标签词可能由多个词元组成：它的分数是各词元对数概率之和，每个词元都以提示和它前面的词元为条件。
#
# 下面是一段每类带一个已解答样例的提示，样例取自带标签的样例池：

# %% slideshow={"slide_type": "-"} zh={"source_sha": "c089f1779347"}
label_words = ["World", "Sports", "Business", "Technology"]  # 每类一个词，按类别顺序
instruction = "Classify each news story as World, Sports, Business or Technology."
examples = prompting.demonstrations(pool_texts, pool_labels, label_words, k=1, seed=profile.seed)
print(
    prompting.build_prompt(
        val_set[0]["text"], examples, instruction, max_words=cfg.prompt_max_words
    )
)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "06858f80c946"}
# 写出来的单个提示打分函数：把每个标签词的词元接在提示的词元之后，运行一次模型，再把模型给这些词元的
# 对数概率加起来——位置 $t$ 上的词元由位置 $t-1$ 预测。


# %% slideshow={"slide_type": "-"} zh={"source_sha": "03e2263a1743"}
@torch.no_grad()
def label_log_likelihoods(prompt, words, model, tok):
    prompt_ids = tok(prompt)["input_ids"]  # 模型读到的提示
    scores = []
    for word in words:
        word_ids = tok(" " + word, add_special_tokens=False)["input_ids"]  # 接在 “Answer:” 之后
        ids = torch.tensor([prompt_ids + word_ids], device=model.device)  # (1, P + m)
        log_probs = F.log_softmax(model(input_ids=ids).logits[0].float(), dim=-1)  # (P + m, V)
        at = torch.arange(len(prompt_ids) - 1, len(prompt_ids) + len(word_ids) - 1)  # (m,)
        scores.append(log_probs[at, torch.tensor(word_ids)].sum())  # log p(词 | 提示)
    return torch.stack(scores).cpu()  # (labels,)


# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "1f5a206ff865"}
# 程序包的 `prompting.score_labels` 对许多提示一次性做同样的事：它对一个批次（batch）做左填充，
# 每个提示只运行一次，并在提示的键值缓存之上喂入较长的标签词。无论手头有没有真实检查点，两者都必须一致，
# 所以我们在一个由配置构建的微型 GPT-2 上检查它们（随机权重：分数本身毫无意义，只有相等才有意义），
# 使用本笔记本的分词器（tokenizer），取三段长度不同的提示：

# %% slideshow={"slide_type": "-"} zh={"source_sha": "c50616ce5ba2"}
torch.manual_seed(profile.seed)
tiny_lm = GPT2LMHeadModel(
    GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=512,
        n_embd=32,
        n_layer=2,
        n_head=2,
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
    )
).eval()
queries = list(val_set["text"][:3])
prompt_settings = dict(instruction=instruction, max_words=cfg.prompt_max_words)
batched = prompting.score_labels(
    queries, tiny_lm, tokenizer, label_words, examples=examples, **prompt_settings
)  # (3, 4)
by_hand = torch.stack(
    [
        label_log_likelihoods(
            prompting.build_prompt(q, examples, **prompt_settings), label_words, tiny_lm, tokenizer
        )
        for q in queries
    ]
)  # (3, 4)
torch.testing.assert_close(by_hand, batched, atol=1e-4, rtol=1e-4)
print("label_log_likelihoods equals prompting.score_labels on a tiny GPT-2:", tuple(batched.shape))

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "fa046c4b7dd1"}
# ### 真实的因果语言模型对比编码器，在同样的测试行上
#
# `profile.causal_lm` 在 `quick` 中指定一个小的指令模型，在 `full` 中指定一个更大的（`python -m nlpcourse download`
# 会下载它）。提示之间不做选择，所以直接在测试行上评分：零样本对比第 2 节所选措辞的相似度分类器，
# $k$ 样本对比在**同样的**每类 $k$ 条样例上训练的线性探针（`prompting.demonstrations` 和探针用同一个随机种子抽取样例）。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "3ea3d39b740a"}
if not checkpoint_available(profile.causal_lm):
    print(
        f"Prompting not run: {profile.causal_lm!r} is not reachable (offline, not in the hub cache)."
    )
else:
    lm, lm_tokenizer = prompting.load_causal_lm(profile.causal_lm)
    lm.to(device)
    prompt_rows = np.sort(
        stratified_subset(numbered_test, cfg.prompt_eval_size, profile.seed)["row"]
    )
    prompt_texts, prompt_labels = (
        [test_set[int(i)]["text"] for i in prompt_rows],
        test_labels[prompt_rows],
    )
    one = prompting.build_prompt(prompt_texts[0], examples, **prompt_settings)
    torch.testing.assert_close(  # 手写的打分函数在真实模型上也一致
        label_log_likelihoods(one, label_words, lm, lm_tokenizer),
        prompting.score_labels(
            prompt_texts[:1], lm, lm_tokenizer, label_words, examples=examples, **prompt_settings
        )[0],
        atol=1e-3,
        rtol=1e-3,
    )
    prompt_predictions, counterparts = {}, {}
    for k in cfg.prompt_shots:
        shots = (
            prompting.demonstrations(pool_texts, pool_labels, label_words, k, profile.seed)
            if k
            else []
        )
        scores = prompting.score_labels(
            prompt_texts,
            lm,
            lm_tokenizer,
            label_words,
            examples=shots,
            progress=True,
            batch_size=cfg.prompt_batch_size,
            **prompt_settings,
        )
        prompt_predictions[f"prompt, k={k}"] = scores.argmax(dim=1).numpy()  # (n,)
        if k == 0:
            baseline, name = test_zero_shot[prompt_rows], f"similarity ({best_wording})"
        else:
            picked = fewshot.sample_k_per_class(pool_labels, k, profile.seed)  # 同样的样例
            probe = LogisticRegression(max_iter=1_000).fit(pool_emb[picked], pool_labels[picked])
            baseline, name = probe.predict(test_emb[prompt_rows]), f"probe, k={k}"
        prompt_predictions[name] = baseline
        counterparts[f"prompt, k={k}"] = name
    print(
        f"{profile.causal_lm} on {len(prompt_rows)} test rows; demonstrations drawn with seed {profile.seed}"
    )
    display(compare_variants(prompt_labels, prompt_predictions, against=counterparts).round(3))
    del lm

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "934fa5b39960"}
# 这项比较在能运行的地方测量的是：给定*同样的*带标签样例，解码器（decoder）的上下文学习相对于编码器的嵌入
# 能带来多少。这里上面的单元格没有测量它，并说明了原因。任何单次运行都有文献中的两点需要注意：
# 少样本提示对展示哪些样例、以什么顺序展示很敏感（Zhao 等，2021，“Calibrate before use”），所以一次示范抽取
# 只是一个样本；而小到能在笔记本电脑上运行的模型，与最早报告上下文学习的 GPT-3 的 1750 亿参数（parameter）相去甚远。

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "f75f581c2ecb"}
# ## 5 · 偏见：一种关联，以及它有多嘈杂
#
# 嵌入从人类文本中学习，而人类文本把人群与角色联系在一起。**词嵌入关联检验**（Word Embedding Association Test，
# WEAT；Caliskan、Bryson 与 Narayanan，2017）取两组**目标**词 $X$、$Y$（这里是常见的男性名和女性名）和两组
# **属性**词 $A$、$B$（这里是职业词和家庭词），即原论文检验 6 的词表：

# %% slideshow={"slide_type": "-"} zh={"source_sha": "6ec9ac79f18c"}
male_names = ["John", "Paul", "Mike", "Kevin", "Steve", "Greg", "Jeff", "Bill"]
female_names = ["Amy", "Joan", "Lisa", "Sarah", "Diana", "Kate", "Ann", "Donna"]
more_male = ["David", "James", "Robert", "Daniel", "Thomas", "Mark", "Brian", "Eric"]
career = ["executive", "management", "professional", "corporation", "salary", "office"]
career += ["business", "career"]
family = ["home", "parents", "children", "family", "cousins", "marriage", "wedding", "relatives"]
word_lists = {"male names": male_names, "female names": female_names, "more male names": more_male}
word_lists.update({"career": career, "family": family})
vec = {name: encode(words, encoder, tokenizer) for name, words in word_lists.items()}  # 每个 (8, H)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "2cd922e459c8"}
# 对每个目标词 $w$，它的关联度是它与两组属性词的平均余弦相似度（cosine similarity）之差，
# $s(w,A,B) = \operatorname{mean}_{a\in A}\cos(w,a) - \operatorname{mean}_{b\in B}\cos(w,b)$。
# **效应量**比较两组目标词：$d = \dfrac{\operatorname{mean}_{x\in X}s(x,A,B) - \operatorname{mean}_{y\in Y}s(y,A,B)}{\operatorname{std}_{w\in X\cup Y}s(w,A,B)}$，
# 取值在 −2 到 2 之间，类似 Cohen 的 $d$。**p 值**问的是：把这 16 个名字随机重新分成两组各 8 个，
# 统计量 $\sum_X s - \sum_Y s$ 至少这么大的情形有多常见。先把效应量写出来，再与 `bias.weat_test` 对照：


# %% slideshow={"slide_type": "-"} zh={"source_sha": "652b8c40e06e"}
def s_assoc(w, a, b):
    # 向量是单位长度，所以 w @ a.T 就是余弦：(n, |A|) 和 (n, |B|)
    return (w @ a.T).mean(dim=1) - (w @ b.T).mean(dim=1)  # (n,)


s_x = s_assoc(vec["male names"], vec["career"], vec["family"])  # (8,)
s_y = s_assoc(vec["female names"], vec["career"], vec["family"])  # (8,)
effect = (s_x.mean() - s_y.mean()) / torch.cat([s_x, s_y]).std()  # ()
settings = {"n_permutations": cfg.weat_permutations, "seed": profile.seed}
weat = bias.weat_test(
    vec["male names"], vec["female names"], vec["career"], vec["family"], **settings
)
assert math.isclose(float(effect), weat.effect_size, rel_tol=1e-4)
print(f"mean s(w, career, family): male names {s_x.mean():+.4f}, female names {s_y.mean():+.4f}")
print(f"WEAT male vs female names: d = {weat.effect_size:+.3f}, one-sided p = {weat.p_value:.4f}")

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "817ccb5367a1"}
# ### 每组 8 个词时，$d$ 有多嘈杂？
#
# **对照**在两组毫无我们关心的差别的词上做同样的检验：男性名对其他男性名。既有把男性名单对半分（4 + 4），
# 也有男性名单对另外 8 个男性名。然后，为了看清这类对照仅凭偶然会有多大的波动，把 16 个男性名随机分成两组
# 各 8 个，重复多次，对每次划分计算 $d$：合并标准差对每次划分都相同，所以只有两个均值在变。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "7639bc4b25c2"}
halves = bias.weat_test(
    vec["male names"][:4], vec["male names"][4:], vec["career"], vec["family"], **settings
)
male_male = bias.weat_test(
    vec["male names"], vec["more male names"], vec["career"], vec["family"], **settings
)
s_male = bias.association(
    torch.cat([vec["male names"], vec["more male names"]]), vec["career"], vec["family"]
).numpy()  # (16,)
rng = np.random.default_rng(profile.seed)
splits = np.argsort(rng.random((cfg.weat_null_splits, 16)), axis=1)  # (S, 16)：随机排列
null_d = (s_male[splits[:, :8]].mean(axis=1) - s_male[splits[:, 8:]].mean(axis=1)) / s_male.std(
    ddof=1
)  # (S,)
spread = np.percentile(np.abs(null_d), 95)
print(
    f"male vs male, halves {male_names[:4]} vs {male_names[4:]}: d = {halves.effect_size:+.2f}, p = {halves.p_value:.3f}"
)
print(f"male vs 8 more male names: d = {male_male.effect_size:+.2f}, p = {male_male.p_value:.3f}")
print(
    f"{cfg.weat_null_splits:,} random 8 + 8 splits of the 16 male names: 95 % of |d| below {spread:.2f}"
)
print(
    f"male vs female: d = {weat.effect_size:+.2f}, {'outside' if abs(weat.effect_size) > spread else 'inside'} that range"
)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "c2720ff83630"}
# 比较打印出的数字。男性名对女性名得到 $d = +1.02$（单侧 $p = 0.015$）。但把男性名单对半分——两组毫无我们关心的
# 差别——就已经得到 $d = +0.61$（$p = 0.214$），男性名单对另外 8 个男性名得到 $-0.01$，而 2,000 次把 16 个男性名
# 随机分成 8 + 8 的划分中，95 % 的 $|d|$ 低于 0.96。每组 8 个词时，仅凭选词，$d$ 就能变动约 1；
# 男对女的数值刚好落在这个范围之外，并没有远远超出。
#
# ### 用投影去偏
#
# Bolukbasi 等（2016）用*定义性*词对——两词之差只在性别、别无其他——估计一个**性别方向**，再去掉每个嵌入
# 在该方向上的分量：$e \leftarrow e - (e\cdot g)\,g$，然后重新归一化。名字和职业/家庭词都不在词对之中，
# 所以检验不会被平凡地清零。这里对他们的方法做了两处简化：方向取归一化词对的平均差（他们用的是中心化词对的
# 第一主成分；单元格打印出两者相距多远），并且对所有向量都做投影，不对任何词对做均衡化。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "a15192978ad5"}
pairs = [("he", "she"), ("man", "woman"), ("boy", "girl"), ("father", "mother")]
pairs += [("son", "daughter"), ("brother", "sister"), ("husband", "wife"), ("king", "queen")]
pairs += [("male", "female"), ("his", "her")]
male_side = encode([m for m, _ in pairs], encoder, tokenizer)  # (10, H)
female_side = encode([f for _, f in pairs], encoder, tokenizer)  # (10, H)
g = bias.bias_direction(male_side, female_side)  # (H,)，单位长度
midpoints = (male_side + female_side) / 2  # (10, H)
centred = torch.cat([male_side - midpoints, female_side - midpoints])  # (20, H)
pc1 = torch.linalg.svd(centred, full_matrices=False).Vh[0]  # (H,)：Bolukbasi 的方向
print(f"|cos(mean-difference direction, first principal component)| = {abs(float(g @ pc1)):.3f}")
vec_debiased = {name: bias.project_out(v, g) for name, v in vec.items()}  # 每个 (8, H)
assert float((vec_debiased["male names"] @ g).abs().max()) < 1e-5  # 沿 g 方向已无分量
debiased = [vec_debiased[name] for name in ("male names", "female names", "career", "family")]
weat_after = bias.weat_test(*debiased, **settings)
pd.DataFrame(
    {
        "effect size d": [weat.effect_size, weat_after.effect_size],
        "p-value": [weat.p_value, weat_after.p_value],
    },
    index=["original embeddings", "gender direction projected out"],
).round(3)

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "5c9bd88f3636"}
# ## 6 · 对课程自己的分类器做反事实检验
#
# 上面的检验考察的是几何结构。**反事实检验**考察的是决策：取*只*在一个名字及其代词上不同的句子，把两个版本
# 都交给分类器，数一数预测类别改变了多少次、概率移动了多远。被测模型是笔记本 06 的新闻分类器：
# 当它与 `profile.bert` 是同一类模型且有四个类别时，`saved_classifier` 从 `runs/06_ag_news_classifier` 加载它。
# 如果笔记本 06 还没有运行，就在这里用 06 训练部分的一些行简短地微调一个替身，单元格会说明这一点。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "2a452520d780"}
classifier, classifier_source = saved_classifier(
    "06_ag_news_classifier", load_pretrained(AutoConfig, profile.bert), len(class_names)
)
if classifier is None:
    print(f"{classifier_source}: fine-tuning a stand-in here.")
    seed_everything(profile.seed)
    classifier = load_pretrained(
        AutoModelForSequenceClassification, profile.bert, num_labels=len(class_names)
    ).to(device)
    rows_06 = stratified_subset(parts["train"], agnews.train_rows, profile.seed)  # 与 06 的调用相同
    trained_rows = stratified_subset(rows_06, cfg.teacher_train_size, profile.seed)
    loader = make_loader(
        tokenize_dataset(trained_rows, tokenizer, cfg.max_len),
        tokenizer,
        cfg.batch_size,
        shuffle=True,
    )
    optimizer = torch.optim.AdamW(classifier.parameters(), lr=cfg.teacher_lr)
    steps = cfg.teacher_epochs * len(loader)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(0.1 * steps), steps)
    fit(classifier, loader, epochs=cfg.teacher_epochs, optimizer=optimizer, scheduler=scheduler)
    classifier_source = (
        f"fine-tuned here on {len(trained_rows):,} of 06's rows, {cfg.teacher_epochs} epoch(s)"
    )
classifier.to(device).eval()
print(f"classifier: {profile.bert}, {classifier_source}")

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "ffad504c5fb5"}
# 这些句子是覆盖四个主题的简短新闻式模板，每个模板分别填入 8 对 WEAT 名字。**对照**把每个男性名换成另一个
# 代词相同的男性名，模板和名字位置都不变，因此两个检验可以逐对比较。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "88aa37cd9e95"}
templates = counterfactual.NEWS_TEMPLATES
male_texts, female_texts = counterfactual.counterfactual_pairs(templates, male_names, female_names)
control_a, control_b = counterfactual.counterfactual_pairs(
    templates,
    male_names,
    more_male,
    counterfactual.PRONOUNS["male"],
    counterfactual.PRONOUNS["male"],
)
classify = counterfactual.text_classifier(classifier, tokenizer, max_len=cfg.max_len)
gender_swap = counterfactual.counterfactual_test(classify, male_texts, female_texts)
name_swap = counterfactual.counterfactual_test(classify, control_a, control_b)
template_of = np.repeat(np.arange(len(templates)), len(male_names))  # (64,)：每对所属的模板
print(f"{len(templates)} templates × {len(male_names)} name pairs = {gender_swap.n} pairs, e.g.")
print("  ", male_texts[len(male_names) * 4], "\n  ", female_texts[len(male_names) * 4])

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "01e972661d42"}
# 这 64 对并不是 64 个独立观测：同一模板的 8 对共享它的措辞，会一起变动。因此区间按整个**模板**重采样
# （`stats.cluster_bootstrap_mean`）；最后一行给出把各对当作独立时朴素自助法会得出的结论。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "c68f9780e6d6"}
for label, result in (("male ↔ female", gender_swap), ("male ↔ male (control)", name_swap)):
    flips = stats.cluster_bootstrap_mean(result.flips, template_of)
    shift = stats.cluster_bootstrap_mean(result.shifts, template_of)
    print(
        f"{label:<22} flips {flips.estimate:.3f} [{flips.low:.3f}, {flips.high:.3f}]  "
        f"mean probability shift {shift.estimate:.4f} [{shift.low:.4f}, {shift.high:.4f}]"
    )
excess = stats.cluster_bootstrap_mean(gender_swap.shifts - name_swap.shifts, template_of)
detectable = (
    f"; smallest detectable {stats.interval_min_detectable_difference(excess):.4f}"
    if not excess.excludes_zero()
    else ""
)
print(
    f"gender swap minus control, shift per pair, by template: {excess} → {verdict(excess)}{detectable}"
)
naive = stats.bootstrap_mean(gender_swap.shifts - name_swap.shifts)
print(f"the same, pairs treated as independent (wrong here): {naive}")
by_template = pd.DataFrame(
    {
        "male ↔ female": gender_swap.shifts.reshape(len(templates), -1).mean(axis=1),
        "male ↔ male": name_swap.shifts.reshape(len(templates), -1).mean(axis=1),
    },
    index=[t[:48] + "…" for t in templates],
)
ax = by_template.plot.barh(figsize=(7.5, 3.8))
ax.set(xlabel="mean probability shift (total variation) per template", ylabel="")
ax.invert_yaxis()
ax.grid(axis="x", alpha=0.3)
plt.tight_layout()
plt.show()

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "f2af1ad7aee1"}
# 把这几行放在一起读：性别互换只有在比*把一个男性名换成另一个男性名*更能改变分类器时才有意义。笔记本 06 的分类器在 64 个性别互换句对上没有一次改变预测，在对照句对上也没有（两者都是 0.000）。互换性别时，它的概率平均移动 0.0098，对照为 0.0062；超出的部分 +0.0036 按模板得到的区间为 [+0.0002, +0.0087]，刚好不含零。若把 64 对当作相互独立，会得到更窄的 [+0.0013, +0.0061]：同一模板的 8 对会一起变动，只有按整个模板重采样才把这一点算进去。只有 8 个模板时，整群区间本身也只是粗略的。无论哪种，超出量都只有千分之几的概率：在这些句子上可以测出来，却远不足以改变决策——翻转率说明的正是这一点。
#
# 被测的是哪个分类器很重要：上面的单元格打印出，它是笔记本 06 保存的那个模型。如果 06 还没有运行，这里会测试一个只经过短暂训练的替身（单元格会打印它的训练损失和准确率），上面的数字并不描述它。检验的范围就是它的输入那么窄：8 个模板、16 个手挑的名字，而名字只是粗略地代表性别。
#
# ### 这类检验能说明什么、不能说明什么
#
# * WEAT 测量的是一个模型**几何结构中的关联**，针对的是某人选定的词；第 5 节测量了 $d$ 在毫无差别的两组之间
#   能变动多少，换一份名单也能让它变动这么多。报告数字时要连同词表一起报告。投影把 $d$ 从 1.021 降到 0.487
#   （$p$ 从 0.015 升到 0.169），落入同组划分仅凭偶然就能达到的范围；它可用的两个方向彼此非常一致
#   （|cos| = 0.992）。
# * 句子编码器不是词嵌入：May 等（2019）发现，改编到句子上的 WEAT 式检验（SEAT）在不同编码器上结果不一致。
#   单独嵌入一个名字，并不是模型在实际使用中遇到名字的方式。
# * 嵌入中的关联并不是测量到的**伤害**。下游真正重要的问题——简历筛选器会不会因名字不同而给同样的简历排出不同
#   名次？——需要用反事实输入、对照组来检验系统的决策，就像第 6 节那样。
# * 去掉一个线性方向针对的是一种测量；下面的“进一步探索”测量投影留下了多少性别信息，以及它让任务付出了什么代价。
#   反事实数据增强（在性别词互换后的数据副本上训练）是另一种常见补救方法；它需要一次训练运行，其效果也必须用
#   同样的方式测量。

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "c9edab2981ee"}
# ## 进一步探索
#
# ### 投影没有去掉的东西
#
# Gonen 与 Goldberg（2019）表明，经过这样的投影之后，词的性别仍然能从几何结构的其余部分中恢复出来
# （“lipstick on a pig”）。在名字上检验这一点：训练一个逻辑回归来区分男性名和女性名，并在它没见过的每个名字上
# 评分（留一法），投影前后各做一次。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "0dde9bef5cf5"}
more_female = ["Mary", "Jennifer", "Linda", "Susan", "Karen", "Emily", "Laura", "Rachel"]
names = male_names + more_male + female_names + more_female
name_vec = encode(names, encoder, tokenizer)  # (32, H)
is_female = np.array([0] * 16 + [1] * 16)


def leave_one_out_predictions(x):
    predicted = []
    for held in range(len(x)):
        keep = np.arange(len(x)) != held
        probe = LogisticRegression(max_iter=1_000).fit(x[keep], is_female[keep])
        predicted.append(probe.predict(x[held : held + 1])[0])  # 一个它没见过的名字
    return np.array(predicted)  # (32,)


print(f"gender of a held-out name predicted from its embedding ({len(names)} names, chance 0.5):")
for label, x in (
    ("original embeddings", name_vec),
    ("after projecting out g", bias.project_out(name_vec, g)),
):
    hit = stats.bootstrap_accuracy(is_female, leave_one_out_predictions(x.numpy()))
    print(f"  {label:<24} {hit.estimate:.3f} [{hit.low:.3f}, {hit.high:.3f}]")

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "7447c02db923"}
# ### 对任务的代价
#
# 去偏会改变每一个向量，因此可能改变这些向量的用处。对新闻嵌入和类别描述做同样的投影，在验证行上重新运行零样本
# 分类器（这是一次测量，不是一次选择：测试行保持不动）。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "74635f9f2585"}
val_debiased = bias.project_out(val_emb, g)  # (n_val, H)
labels_debiased = bias.project_out(label_emb[best_wording], g)  # (4, H)
cost = compare_variants(
    val_labels,
    {
        "original": val_zero_shot[best_wording],
        "debiased": fewshot.zero_shot_predict(val_debiased, labels_debiased),
    },
    against={"debiased": "original"},
)
print(f"mean |cos(news embedding, g)| = {(val_emb @ g).abs().mean():.4f}")
cost.round(4)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "86e5ab12a297"}
# 两项测量，两种解读。探针能从原始嵌入中说出每个留出名字的性别（1.000），投影后仍能说对 0.875 [0.750, 0.969]，
# 远高于随机水平（0.5）：去掉一个方向后，大部分性别信息仍然留在原处。而投影没有让零样本分类器付出任何可测的代价：
# 600 条验证预测一条都没有改变（差值 0.0，区间 [0.0, 0.0]）；新闻嵌入与 $g$ 的平均 |余弦| 为 0.0502，
# 本来就只有很少一部分落在那个方向上。

# %% slideshow={"slide_type": "skip"} zh={"source_sha": "0a3484704c1c"}
print(f"notebook wall time so far: {time.perf_counter() - notebook_start:.0f} s")

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "3ea0dde8ea69"}
# ## 练习
#
# **1. p 值最小能有多小？** 每侧 4 个目标词的精确 WEAT 置换检验，把观测到的划分与把 8 个词分成两组各 4 个的
# 每一种划分相比较。一共有多少种划分？这个检验能报告的最小 p 值是多少？

# %% slideshow={"slide_type": "-"} zh={"source_sha": "ebeb14b3ff7a"}
from nlpcourse.exercises.ch09 import (
    check_exact_p_value,
    check_exact_splits,
    check_weat_effect_size,
)

n_splits, smallest_p = None, None  # 你的答案
check_exact_splits(n_splits, smallest_p)

# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"] zh={"source_sha": "a97c563628df"}
n_splits = math.comb(8, 4)
smallest_p = 1 / n_splits  # 只有观测到的划分本身至少一样极端
assert check_exact_splits(n_splits, smallest_p)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "9ffff8aa6547"}
# **2. 适用于任意向量的 WEAT 效应量。** 第 5 节依赖于嵌入是单位长度。为形状为 (n, dim)、行可以是任意长度的
# 张量写出 `my_effect_size(x, y, a, b)`：先由余弦得到 $s(w, A, B)$，再用 $X \cup Y$ 上的样本标准差得到 $d$。
# 检查函数会在随机向量上把它与 `bias.weat_effect_size` 对比。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "0bbfa002c441"}
my_effect_size = None  # 你的函数 (x, y, a, b) -> d
check_weat_effect_size(my_effect_size)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"] zh={"source_sha": "e896bf4e52c8"}
def my_effect_size(x, y, a, b):
    x, y, a, b = (F.normalize(t, dim=1) for t in (x, y, a, b))  # 各行归一化为单位长度
    s_x = (x @ a.T).mean(dim=1) - (x @ b.T).mean(dim=1)  # (nx,)
    s_y = (y @ a.T).mean(dim=1) - (y @ b.T).mean(dim=1)  # (ny,)
    return (s_x.mean() - s_y.mean()) / torch.cat([s_x, s_y]).std()


assert check_weat_effect_size(my_effect_size)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "1c595bc99988"}
# **3. 精确置换检验。** 写出 `my_exact_p(s_x, s_y)`：给定 $X$ 和 $Y$ 中各词的关联度 $s$（一维张量），
# 枚举从合并后的词中选出 $|X|$ 个作为新 $X$ 的每一种方式，对每种计算 $\sum_{X'} s - \sum_{\text{rest}} s$，
# 返回至少与观测值一样大的划分所占的比例。检查函数会在随机词组上把它与 `bias.weat_test` 对比。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "6aac325c919d"}
my_exact_p = None  # 你的函数 (s_x, s_y) -> p 值
check_exact_p_value(my_exact_p)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"] zh={"source_sha": "6a4b8840ca67"}
def my_exact_p(s_x, s_y):
    import itertools

    scores = torch.cat([s_x, s_y])  # (n,)
    observed = float(s_x.sum() - s_y.sum())
    splits = list(itertools.combinations(range(len(scores)), len(s_x)))
    stats_per_split = [float(2 * scores[list(x)].sum() - scores.sum()) for x in splits]
    return sum(value >= observed - 1e-12 for value in stats_per_split) / len(splits)


assert check_exact_p_value(my_exact_p)
