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

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "a235276d5838"}
# # 00 · 准备工作：这门课讲什么，你的机器准备好了吗
#
# 这门课逐节跟随一篇文章——《从基础到高阶:Python NLP深度学习实战指南》，从 Keras 双向（bidirectional）LSTM 一直讲到 BERT 微调（fine-tuning）和 CLIP。文章里的每一段代码都会出现在课程中，并改写成能在今天的库上运行的版本；凡是文章已经过时或写错的地方，笔记本都会说明改了什么、为什么改。

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "3ef071c56e70"}
# ## 在云端运行
#
# 自己的机器上没有 Python，或者没有 GPU？在托管的笔记本服务上（Google Colab、Kaggle 或魔搭 ModelScope Notebook）打开这本笔记本，先运行下一个单元格。它根据服务在环境中设置的变量（`COLAB_RELEASE_TAG`、`KAGGLE_KERNEL_RUN_TYPE`、`MODELSCOPE_ENVIRONMENT`）认出所在的服务，用 `git` 从 `NLPCOURSE_SOURCE` 给出的地址获取课程（请先设置它，例如 `%env NLPCOURSE_SOURCE=https://…/nlpcourse.git`；在 Kaggle 上还要打开笔记本的联网开关），然后运行课程中的 `nlpcourse/cloud.py`：它安装固定版本的依赖（和 `make lab` 一样先装 torch）以及课程本身，再运行 `nlpcourse doctor`。在你自己的机器上，这个单元格什么也不做。
#
# 为什么这段逻辑写在单元格里，而不是从包里导入？在一个全新的托管笔记本上，课程还没有安装，根本无从导入。所以这个单元格只用标准库写成，篇幅很短；等课程可以导入之后，它再用断言确认自己的识别结果与包中经过测试的对应实现 `nlpcourse.cloud.hosted_platform` 一致。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "45efbfd12b1b"}
import os
import subprocess
import sys
from pathlib import Path

HOSTS = {  # 每个托管笔记本服务设置的一个变量，以及服务的名字
    "COLAB_RELEASE_TAG": "Google Colab",
    "KAGGLE_KERNEL_RUN_TYPE": "Kaggle",
    "MODELSCOPE_ENVIRONMENT": "ModelScope",
}
host = next((name for variable, name in HOSTS.items() if os.environ.get(variable)), None)
if host is None:
    print("Not on a hosted notebook: nothing to install.")
else:  # 用 git 获取课程；nlpcourse/cloud.py 安装它并运行 doctor
    source = os.environ.get("NLPCOURSE_SOURCE") or sys.exit("Set NLPCOURSE_SOURCE to the git URL")
    checkout = Path(source) if Path(source).is_dir() else Path("nlpcourse-course").resolve()
    if not checkout.exists():
        subprocess.run(["git", "clone", "--depth=1", source, str(checkout)], check=True)
    subprocess.run([sys.executable, str(checkout / "nlpcourse" / "cloud.py")], check=True)
    sys.path.insert(0, str(checkout))  # 当前内核无需重启即可导入课程

from nlpcourse.cloud import HOSTS as TESTED_HOSTS
from nlpcourse.cloud import hosted_platform

assert (HOSTS, host) == (TESTED_HOSTS, hosted_platform())

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "240df94489f6"}
# ## 文章第一节说了什么
#
# 它的引言提出了一个历史判断和一个实践判断。历史上，语言处理靠手写规则，以及对词和 n-gram 计数所做的统计；如今，从原始文本一路训练到答案的端到端神经网络，已经接管了分类、翻译和情感分析（sentiment analysis）等任务。实践上，这些工作都在 Python 中完成，这要归功于 TensorFlow、PyTorch 和 Hugging Face Transformers。
#
# 对第一个判断，本课程不会照单全收：笔记本 01 会在同一份数据上，把一个统计基线（baseline）（TF-IDF 特征加逻辑回归）和文章中的神经网络放在一起训练，并连同各自的不确定性一起报告。

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "8de561fd623b"}
# ## 课程地图
#
# | 笔记本 | 文章章节 | 你将构建什么 |
# |---|---|---|
# | `00_setup` | §1 | 本节的检查：配置档、设备、数据，以及每本笔记本的耗时 |
# | `01_keras_bilstm` | §2.1 | LSTM 单元、文章中的 Keras BiLSTM、由手写循环和 `fit()` 分别训练的 PyTorch 版本，并与 TF-IDF 基线比较 |
# | `02_text_pipeline` | §2.1 | torchtext 当年做的事，今天的做法：`datasets`、分词器（tokenizer）、词表（vocabulary）、填充（padding）、分桶（bucketing）、打包（packing） |
# | `03_transformers_quickstart` | §2.2 | 近距离看分词器、文章中的 BERT 前向计算、`Auto…` 类、保存与加载 |
# | `04_attention_from_scratch` | §3.1 | 手写缩放点积注意力和多头注意力（multi-head attention）、一个编码器（encoder）块、一个小型 Transformer |
# | `05_finetuning_strategies` | §3.2 | `[CLS]` 与平均池化（mean pooling）、任务头、分层学习率（learning rate）、预热（warmup）、冻结（freezing） |
# | `06_ag_news_classifier` | §4 | 文章中的 AG News 案例全流程，正确地做梯度累积（gradient accumulation）和混合精度（mixed precision） |
# | `07_clip_image_text` | §3.3 | 手写图文对比学习（contrastive learning），再用预训练（pretrained）的 CLIP |
# | `08_efficient_models` | §5 | ALBERT、少标签场景下的知识蒸馏（distillation）、int8 量化——每个论断都经过测量 |
# | `09_zero_shot_prompting_bias` | §5 | 零样本（zero-shot）/少样本（few-shot）（线性探针、微调、SetFit）、提示、偏见——每个论断都经过测量 |
# | `10_scaling_out` | §4 及之后 | 数据并行（data parallelism）、`Trainer` 和 Accelerate，与手写循环对照 |
#
# 每本笔记本都从 `nlpcourse` 包（用 `pip install -e .` 安装）中导入小工具。包负责“管道”；而本身就是课程内容的代码——训练循环、注意力机制（attention）、对比损失——都完整写在笔记本里，再用一个 `assert` 与包中经过测试的版本对照。

# %% slideshow={"slide_type": "skip"} zh={"source_sha": "887f1801ae97"}
import torch

import nlpcourse
from nlpcourse.config import PROFILES, get_device, get_profile, seed_everything
from nlpcourse.notebook_times import (
    format_notebook_times,
    measured_times_path,
    read_notebook_times,
)

seed_everything(42)
profile = get_profile()
print(f"nlpcourse {nlpcourse.__version__}, profile {profile.name!r}, torch {torch.__version__}")

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "b12ad0b6fd7c"}
# ## 配置档：一个变量决定所有规模
#
# *配置档*（profile）规定了笔记本用到的每个规模（多少行数据、多少轮、序列长度、批大小），以及它加载的每个检查点（checkpoint）。其中两个用于学习本课程：
#
# * `quick`（默认）——CPU 笔记本电脑和 CI：小而真实的预训练检查点（由 6 层的 BERT `sentence-transformers/all-MiniLM-L6-v2` 扮演 BERT 的角色）、数据的子集，在两个核心上每本笔记本只需几分钟。
# * `full`——文章本身的设置，用于 GPU：`bert-base-uncased`、`openai/clip-vit-base-patch32`、完整的数据集和文章中的训练轮数。
#
# 第三个配置档 `standard` 沿用 `quick` 的检查点和规模，但把部分实验做得更大：它用于记录运行（recorded run）（`python -m nlpcourse record NN`，见 README）。
#
# 在启动 Jupyter 之前切换：`NLPCOURSE_PROFILE=full make lab`（Windows PowerShell：`$env:NLPCOURSE_PROFILE="full"; jupyter lab`）。笔记本通过 `get_profile()` 读取配置，从不按配置档的名字分支，所以同样的单元格在各个配置档下都能运行。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "d67a8226a439"}
for name, candidate in PROFILES.items():
    print(f"{name:>5}: BERT role = {candidate.bert:<40} {candidate.description}")

# %% keep_output=true slideshow={"slide_type": "-"} zh={"source_sha": "fae57fd83436"}
# NBVAL_CHECK_OUTPUT
quick = get_profile("quick")
print(quick.bert, quick.bilstm.vocab_size, quick.agnews.test_size)

# %% [markdown] slideshow={"slide_type": "fragment"} zh={"source_sha": "4ac7b0496dc5"}
# 未知的配置档名会报错，并列出有效的名字：

# %% slideshow={"slide_type": "-"} zh={"source_sha": "bba072f01c8b"}
try:
    get_profile("turbo")
except ValueError as error:
    print(error)

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "7a299c5d285c"}
# ## 设备真的能计算吗？
#
# `get_device()` 依次选择 CUDA GPU、Apple 的 MPS，最后是 CPU。找到设备并不等于能用它（驱动可能装了却是坏的），所以我们在选中的设备上把两个随机矩阵相乘，把乘积取回来，再与 CPU 的结果比较。在 GPU 上两者会在最后几位小数上不同（求和顺序不同，较新的显卡还会用 TF32），因此比较时留有容差；在没有 GPU 的机器上，设备*就是* CPU，这个检查自然完全一致。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "41146a6cb3e3"}
device = get_device()
generator = torch.Generator().manual_seed(0)
a = torch.randn(256, 128, generator=generator)  # (256, 128)，在 CPU 上生成
b = torch.randn(128, 64, generator=generator)  # (128, 64)
on_device = (a.to(device) @ b.to(device)).cpu()  # (256, 64)：在 `device` 上计算，再复制回来
on_cpu = a @ b  # (256, 64)
torch.testing.assert_close(on_device, on_cpu, atol=1e-3, rtol=1e-3)
difference = (on_device - on_cpu).abs().max().item()
print(f"device {device}: a (256×128) @ b (128×64) agrees with the CPU, max |Δ| = {difference:.1e}")

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "b1cd2d7a6378"}
# ## 所需的一切都能找到吗？
#
# `nlpcourse doctor`（在终端里也可以用 `python -m nlpcourse doctor`）打印你的库版本和设备，然后逐一查找配置档需要的每个数据集（dataset）和检查点：先在 `NLPCOURSE_DATA_DIR` 指定的文件夹里找，再到 Hugging Face Hub 缓存里找，最后到 Hub 本身（或 `HF_ENDPOINT` 指定的镜像）上找。缺了什么，它就打印补救的办法。
#
# 课程在三种情况下都走同一条代码路径：
#
# 1. **在线**——数据集和检查点来自 Hub（如果你所在的地方访问不了 Hub，把 `HF_ENDPOINT` 设为镜像，例如 `https://hf-mirror.com`）；
# 2. **使用事先准备好的镜像**——教师在能联网的机器上运行 `python -m nlpcourse download --to DIR`，把 `DIR` 复制到教室，学生设置 `NLPCOURSE_DATA_DIR=DIR/data HF_HUB_CACHE=DIR/hf-cache/hub HF_HUB_OFFLINE=1`；
# 3. **完全离线**，使用 `quick` 配置档那些小而真实的资源，目录结构相同。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "8d6f9109958d"}
from nlpcourse.cli import doctor

status = doctor()
assert status == 0, "Something the profile needs is missing: apply the fix printed above."

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "29ca82a810c6"}
# ## 每本笔记本的耗时
#
# 每次对笔记本的测试运行（`make test`，或 `pytest --nbval-lax notebooks/`）都会累加每本笔记本各单元格的耗时，写入 `build/notebook_times.csv`，并附上日期和一行机器描述。课程提交了一份这样的文件，来自一次 `quick` 运行，即 `data/notebook_times.csv`；下表就是从它读出的，旁边是每本笔记本的预算（`quick` 配置档下、两个 CPU 核心上 5 分钟）。在你的机器上运行测试，再和你自己的 `build/notebook_times.csv` 比较。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "4a8ea667960a"}
times_file = measured_times_path()
measured = read_notebook_times(times_file)
if measured is None:
    print(f"No measured run yet: {times_file.name} is missing (run `make test` to make one).")
else:
    print(format_notebook_times(measured))
    runs = sorted({(row.date, row.machine) for row in measured})
    for date, machine in runs:
        print(f"\nmeasured on {date} under nbval in the quick profile, on {machine}")

# %% [markdown] slideshow={"slide_type": "notes"} zh={"source_sha": "4d9dfee676f2"}
# 这个文件记录的是最近一次提交的实测运行结果；如果某一行在 “within” 一栏写着 `NO`，说明那本笔记本在那台机器上超出了预算。核心更多的笔记本电脑通常更快；一本笔记本第一次运行时，还要付出从磁盘加载库和检查点的时间。这里没有给出 `full` 配置档（GPU）的耗时：只有真实运行得出过某个 `full` 数字，笔记本才会报告它。

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "6e04c7732588"}
# ## 笔记本是怎样构建的
#
# * 设定随机种子（seed）：每本笔记本开头的 `seed_everything(42)` 为 Python、NumPy 和 PyTorch 设定种子，所以“重启并全部运行”会复现同样的数字。
# * 每个实验都分三部分：在训练部分上训练，在验证部分上做出所有选择，最后只对测试部分评分一次。比较都附带不确定性（多个随机种子，或自助法（bootstrap）区间）。
# * 训练好的模型以 safetensors 格式保存在 `runs/<notebook>/` 下（git 会忽略它），之后从那里重新加载。
# * 每本笔记本以练习（exercise）结尾。其中至少两道要求你编写代码，由一个 `check_…` 函数运行并验证；在你作答之前，检查什么也不打印。参考答案在它下方的折叠单元格里（点击单元格左侧的竖条即可展开）。

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "b563f0cfa37d"}
# ## 练习
#
# **1.** 课程中的数据加载器给出的批次（batch）很少是单个张量：它可能是元组 `(ids, lengths, labels)`（词元 id、长度和标签），也可能是 Hugging Face 分词器给出的张量字典，有时旁边还带着普通的值（名字、计数）。编写 `to_device(batch, device)`：它返回同样的结构（字典仍是有相同键的字典，列表仍是列表，元组仍是元组），其中每个张量都移到 `device` 上，其余的一切在任何嵌套深度上都保持原样。检查会用 CPU、`get_device()` 和 PyTorch 的 `"meta"` 设备（每个 PyTorch 安装都有它，所以即使没有 GPU 也能看出张量是否移动了）在一个嵌套的批次上运行它。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "c0922f80026d"}
from nlpcourse.exercises.ch00 import check_split_sizes, check_to_device

to_device = None  # 你的函数
check_to_device(to_device)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"] zh={"source_sha": "05ab01638134"}
def to_device(batch, device):
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, dict):
        return {key: to_device(value, device) for key, value in batch.items()}
    if isinstance(batch, list | tuple):
        return type(batch)(to_device(value, device) for value in batch)
    return batch


assert check_to_device(to_device)
print("solution 1 passes")

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "32084ee9355f"}
# **2.** 课程中的每个实验都分三部分。笔记本 06 用 scikit-learn 的 `train_test_split` 分两刀从 AG News 中切出它们：先切出**测试**部分，占全部行的比例为 `test_size`；再从剩下的行中切出**验证**部分，比例为 `val_size`；余下的用于**训练**，其中最多使用 `train_rows` 行（`None` 表示全部）。`train_test_split` 会把切下的那一侧*向上*取整到整行。编写 `split_sizes(n_rows, test_size, val_size, train_rows=None)`，返回 `(train, validation, test)` 三部分的行数；检查会在几组规模上把它与 `train_test_split` 比较。然后用它打印笔记本 06 在 `quick` 配置档下训练、选择和评分所用的三部分：它的行是 AG News 官方测试划分的 7,600 行，比例和 `train_rows` 在 `get_profile("quick").agnews` 中。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "8f456f394346"}
split_sizes = None  # 你的函数
check_split_sizes(split_sizes)

# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"] zh={"source_sha": "bbaafae4b7b1"}
import math


def split_sizes(n_rows, test_size, val_size, train_rows=None):
    test = math.ceil(n_rows * test_size)
    validation = math.ceil((n_rows - test) * val_size)
    train = n_rows - test - validation
    return (train if train_rows is None else min(train, train_rows)), validation, test


assert check_split_sizes(split_sizes)
agnews = get_profile("quick").agnews
parts = split_sizes(7_600, agnews.test_size, agnews.val_size, agnews.train_rows)
assert parts == (2_400, 1_216, 1_520)
print("solution 2 passes")
