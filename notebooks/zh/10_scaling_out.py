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

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "cb46fda761db"}
# # 10 · 横向扩展：用 Accelerate 在多个进程上运行案例研究
#
# 笔记本 06 在单个设备上训练了文章中的 AG News 分类器。该任务的 `full` 配置档（profile）——12 万行数据、BERT-base 训练三轮——正是单块 GPU 开始显得慢的规模，而一个班级能用上的下一台机器，往往是一台装有多块 GPU 的主机或一个小集群。本笔记本把同一套训练方案原样带过这一步，无需重写：
#
# 1. **数据并行（data parallelism）**：多个进程如何协同工作，画成图；并亲手验证它的核心等式（平均后的梯度 = 整个批次的梯度）；
# 2. **Accelerate**：它给 06 的训练循环添加的那几行代码，左右对照展示；再把这段代码与课程的脚本对照运行，逐步比较学习率、逐个比较权重；
# 3. **`Trainer`**：把同一方案写成高层 API，并与手写循环逐步对照检查；
# 4. **一个可启动的程序**：`scripts/finetune_ag_news.py`——它本身就是课程内容，请从头读到尾——在这里以两个 CPU 进程启动；读回它的指标、检查点和保存的模型，并从检查点恢复一次运行。
#
# 拓展内容（在末尾）：在本机上对比一个进程与两个进程的耗时。

# %% slideshow={"slide_type": "skip"} zh={"source_sha": "92ef1f321b0c"}
# 先导入：nlpcourse.config 会压下 torchao 导入时的警告（transformers 会导入 torchao）
from nlpcourse.config import get_device, get_profile, seed_everything

# isort: split
import copy
import math
import os
import shlex
import shutil
import time
from pathlib import Path

import torch
from accelerate import Accelerator, DataLoaderConfiguration
from accelerate.utils import set_seed
from datasets.utils.logging import disable_progress_bar
from torch.testing import assert_close
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    BertForSequenceClassification,
    DataCollatorWithPadding,
    PrinterCallback,
    Trainer,
    TrainingArguments,
    pipeline,
)
from transformers.utils import logging as hf_logging

from nlpcourse.data.checkpoints import load_pretrained
from nlpcourse.data.runs import run_dir
from nlpcourse.data.splits import ag_news_three_way
from nlpcourse.evaluate.stats import bootstrap_accuracy
from nlpcourse.text.hf_batches import make_loader, tokenize_dataset
from nlpcourse.train.launch import (
    launch_command,
    load_script,
    load_weights,
    read_metrics,
    run_launch,
)
from nlpcourse.train.loop import fit
from nlpcourse.train.optim import make_scheduler, param_groups, warmup_steps_for
from nlpcourse.train.parallel import (
    averaged_gradients,
    effective_batch_size,
    plot_data_parallel,
    plot_step_log,
    run_snippet,
    side_by_side,
)

profile = get_profile()
seed_everything(profile.seed)
ag, sc = profile.agnews, profile.scale
device = get_device()
hf_logging.set_verbosity_error()  # 笔记本中不显示加载报告和 Trainer 提示
hf_logging.disable_progress_bar()
disable_progress_bar()  # 也不显示 datasets 的 map 进度条
runs = run_dir("10_scaling_out")
print(f"profile {profile.name!r} · checkpoint {profile.bert} · device {device}")
print(f"{os.cpu_count()} CPU cores · load average {os.getloadavg()[0]:.1f}")
notebook_start = time.perf_counter()

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "dd7a2800f9ef"}
# ## 1 · 数据并行
#
# **数据并行**同时运行同一个训练程序的多个副本。每个副本是一个*进程*（在 GPU 上每块 GPU 一个进程；在这里每个 CPU 核一个），各自持有一份完整的模型**副本**（replica），初始权重完全相同。每一步中：
#
# - 每个进程取数据的一个不同**分片**（shard）：它自己的微批次，与其他进程的互不重叠；
# - 它只在自己的分片上做前向和反向传播（backpropagation），所以每个副本得到的梯度（gradient）各不相同；
# - 一次**全归约**（all-reduce）——一种集合通信操作：每个进程发出自己的梯度，并收到所有梯度的逐元素平均值——让每个副本都得到*同一个平均梯度*；
# - 每个副本用自己的优化器（optimizer）应用这个梯度，因此各副本的权重始终一致，而权重本身从不需要在网络上传输。
#
# 因此，一个优化器步骤看到的是**有效批次**（effective batch）= 每设备批大小（batch size）× 进程数 × 累积步数（一个进程在更新参数之前累加的微批次数，与笔记本 06 中的梯度累积（gradient accumulation）相同）。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "d14f272d8bd9"}
figure = plot_data_parallel(sc.processes, sc.gradient_accumulation_steps, sc.per_device_batch_size)

# %% [markdown] slideshow={"slide_type": "notes"} zh={"source_sha": "3d8d4f97e1ec"}
# 请指向金色方框：那是各进程之间唯一通信的地方。它左边的一切都是普通的单设备训练；它右边的一切在每个副本上完全相同。

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "95f22a51fbf2"}
# ### 为什么取平均就够了：亲手做一次全归约
#
# 一个批次（batch）的损失（loss）是其各行损失的*平均值*，而梯度是线性的，所以批次平均损失的梯度，等于把它切成等大小的几块后各块梯度的平均值。我们在真实模型上验证这一点：先用一个 `P × 每设备批大小` 行的批次算一次，再让每个“副本”只在自己的分片上算，最后求出全归约会留下的平均值。随机失活（dropout）已关闭（`model.eval()`），使每次前向传播都是确定的。

# %% slideshow={"slide_type": "skip"} zh={"source_sha": "f3520874903f"}
# 笔记本 06 的数据划分：同样的划分、随机种子和验证比例（脚本也用它们）
parts = ag_news_three_way(ag.use_official_train, ag.test_size, ag.val_size, profile.seed)
class_names = parts["train"].features["label"].names
tokenizer = load_pretrained(AutoTokenizer, profile.bert)
seed_everything(profile.seed)
model = load_pretrained(
    BertForSequenceClassification,
    profile.bert,
    num_labels=len(class_names),
    hidden_dropout_prob=0.0,  # 关闭 dropout：下面的检查逐步比较各次运行
    attention_probs_dropout_prob=0.0,
)
if ag.freeze_word_embeddings:  # 与笔记本 06 和脚本相同：一半的权重不求梯度
    model.get_input_embeddings().weight.requires_grad_(False)
initial_state = copy.deepcopy(model.state_dict())
print(parts)


# %% slideshow={"slide_type": "-"} zh={"source_sha": "67a1c54b6113"}
def loss_of(model, batch):
    """Mean cross-entropy of a batch (what every replica computes on its shard)."""
    return model(**batch).loss  # ()


P = sc.processes
rows = parts["train"].select(range(P * sc.per_device_batch_size))
batch = dict(tokenizer(list(rows["text"]), padding=True, truncation=True, max_length=ag.max_len,
                       return_tensors="pt"))  # fmt: skip
batch["labels"] = torch.tensor(list(rows["label"]))  # (P·b,)
model.eval()

model.zero_grad()
loss_of(model, batch).backward()  # 整个批次在一个设备上
whole = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

replica_grads = []
share = len(batch["labels"]) // P
for rank in range(P):
    shard = {k: v[rank * share : (rank + 1) * share] for k, v in batch.items()}  # 每个 (b, T)
    model.zero_grad()
    loss_of(model, shard).backward()  # 副本 `rank` 只看到自己的分片
    replica_grads.append({n: model.get_parameter(n).grad.clone() for n in whole})
all_reduced = {n: sum(g[n] for g in replica_grads) / P for n in whole}  # 平均值，每个进程上都一样

gap = max((all_reduced[n] - whole[n]).abs().max().item() for n in whole)
spread = max((replica_grads[0][n] - replica_grads[1][n]).abs().max().item() for n in whole)
print(f"replicas' gradients differ by up to {spread:.2e}; their mean vs the whole batch: {gap:.2e}")
assert_close(all_reduced, whole, rtol=1e-4, atol=1e-6)
assert_close(all_reduced, averaged_gradients(model, batch, P, loss_of))  # 课程包中对应的函数
model.zero_grad(set_to_none=True)
del whole, replica_grads, all_reduced

# %% [markdown] slideshow={"slide_type": "fragment"} zh={"source_sha": "043e0ee655e8"}
# 由此得出两个推论。分片必须**互不重叠**（两个副本若处理同样的行，这些行就被计算了两次）；并且，在 `P` 个进程上、每设备批大小为 `b` 的运行，与单个进程、批大小为 `P × b` 的运行走的是相同的步——所以只要有效批次不变，06 的学习率（learning rate）和调度就可以原样沿用。脚本的测试（`tests/train/test_scale.py`）在两个真实进程上检查了这两点：分片互不重叠，并且与有效批次相同的单进程运行得到相同的权重。

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "4f1f12a45053"}
# ## 2 · Accelerate 给笔记本 06 的循环添加了什么
#
# Hugging Face 的 **Accelerate** 让同一个训练脚本无需修改即可在 CPU、单块 GPU、多块 GPU 或多台机器上运行，混合精度（mixed precision）可开可关：启动器（`accelerate launch`）负责启动进程，脚本里的 `Accelerator` 对象负责其余的事情。右侧是它添加或修改的代码行（绿色）：
#
# - `Accelerator(...)` 读取本次运行的启动方式（进程数、设备、混合精度）；
# - `prepare(...)` 把模型包进 DistributedDataParallel（第 1 节的全归约在 `backward` 内部发生），给每个进程分配数据加载器中互不重叠的分片，并把批次移到设备上；
# - `accumulate(model)` 统计微批次，在一个累积窗口结束前跳过全归约；`sync_gradients` 只在窗口的最后一个微批次上为真——那是真正执行参数更新的一步——只有这时学习率调度才可以前进；
# - `accelerator.backward` 在开启混合精度时施加损失缩放；
# - `clip_grad_norm_` 裁剪的是*平均后*的梯度；`gather_for_metrics` 收集所有进程的预测，并丢掉为补齐最后一个批次而重复的行；
# - 只有主进程在同步屏障（`wait_for_everyone`）之后写出最终模型。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "35e27b97b3ca"}
loop_06 = """
model.to(device)




model.train()
for step, batch in enumerate(loader):
    batch = {k: v.to(device) for k, v in batch.items()}
    loss = model(**batch).loss / accumulation_steps

    loss.backward()
    if (step + 1) % accumulation_steps == 0:
        clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()

        scheduler.step()
        optimizer.zero_grad()

preds = [model(**b).logits.argmax(-1) for b in eval_loader]


model.save_pretrained(out)
"""
loop_accelerate = """
accelerator = Accelerator(gradient_accumulation_steps=accumulation_steps,
                          step_scheduler_with_optimizer=False,
                          dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True))
model, optimizer, loader, eval_loader, scheduler = accelerator.prepare(
    model, optimizer, loader, eval_loader, scheduler)
model.train()
for batch in loader:
  with accelerator.accumulate(model):
    loss = model(**batch).loss

    accelerator.backward(loss)
    if accelerator.sync_gradients:
        accelerator.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    if accelerator.sync_gradients:
        scheduler.step()
    optimizer.zero_grad()

preds = [accelerator.gather_for_metrics(model(**b).logits.argmax(-1))
         for b in eval_loader]
accelerator.wait_for_everyone()
if accelerator.is_main_process:
    accelerator.unwrap_model(model).save_pretrained(out)
"""
side_by_side(loop_06, loop_accelerate, ("notebook 06: one device", "Accelerate: any launch"))

# %% [markdown] slideshow={"slide_type": "notes"} zh={"source_sha": "8e090d58f2c3"}
# `Accelerator` 的三个参数很关键。`step_scheduler_with_optimizer=False`：默认情况下，Accelerate 在每个优化器步骤中让已 prepare 的调度器*按进程数*前进，这只适用于按单进程运行设计长度的调度；而脚本按本进程的优化器步数（在 `prepare` 之后）确定调度长度，并自己推进调度器。`use_seedable_sampler=True`：打乱顺序只取决于（随机种子（seed），轮次），因此恢复的运行看到的批次与未中断的运行相同。调度器也经过 `prepare`，这样 `save_state` 才会保存它。

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "2a4ee899da38"}
# ### 这段代码对吗？与脚本对照运行
#
# 一段要给学生复制的代码必须实际运行，而不能只是读一读。下面的单元格先让脚本在一个进程上跑几个优化器步骤，再在同样的行、同样的初始权重和同样的调度下执行上面那段代码（就是显示出来的那个字符串），并在优化器真正更新参数时记录每一步的学习率。然后对只改了一行的版本做同样的事，这就是**陷阱**：把 `scheduler.step()` 放在 `if accelerator.sync_gradients:` 之外，每个微批次都调用。在 `accumulate` 之下，`optimizer.step()` 在窗口凑满之前什么也不做，但调度器并不知道这一点。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "daaa95b4c12f"}
script = load_script()  # 导入 scripts/finetune_ag_news.py：用它的函数，不运行它的 main()
check_argv = ["--train_rows", str(sc.snippet_rows), "--val_rows", str(sc.snippet_rows),
              "--max_steps", "none", "--checkpoint_every", "0", "--no_progress",
              *(["--cpu"] if sc.cpu else [])]  # fmt: skip
snippet_dir = runs / "snippet_check"
shutil.rmtree(snippet_dir, ignore_errors=True)
run_launch(launch_command([*check_argv, "--output_dir", str(snippet_dir / "script")]))
script_rates = [log["lr"][0] for log in read_metrics(snippet_dir / "script")["log"]]


def run_the_snippet(code, out):
    """The script's rows, model and schedule; the loop of ``code``; each step's body rate."""
    args = script.parse_args([*check_argv, "--output_dir", str(out)])
    set_seed(args.seed)  # 与脚本一样：相同的分类头和相同的 dropout 随机抽样
    _, loaders = script.get_dataloaders(args, tokenizer)
    model = script.get_model(args, class_names)
    optimizer = torch.optim.AdamW(
        param_groups(model, args.lr, args.head_lr, args.head_modules, args.weight_decay))  # fmt: skip
    steps = math.ceil(len(loaders["train"]) / args.gradient_accumulation_steps)  # 单进程
    scheduler = make_scheduler(optimizer, "linear", warmup_steps_for(steps, args.warmup_ratio),
                               steps)  # fmt: skip
    _, rates = run_snippet(code, optimizer, Accelerator=Accelerator, model=model,
                           DataLoaderConfiguration=DataLoaderConfiguration, scheduler=scheduler,
                           loader=loaders["train"], eval_loader=loaders["validation"],
                           accumulation_steps=args.gradient_accumulation_steps,
                           max_norm=args.max_grad_norm, out=out)  # fmt: skip
    return [step[0] for step in rates]


loop_trap = loop_accelerate.replace(
    "    if accelerator.sync_gradients:\n        scheduler.step()", "    scheduler.step()")  # fmt: skip
assert loop_trap != loop_accelerate
snippet_rates = run_the_snippet(loop_accelerate, snippet_dir / "snippet")
trap_rates = run_the_snippet(loop_trap, snippet_dir / "trap")
for name, rates in (("script", script_rates), ("snippet", snippet_rates), ("trap", trap_rates)):
    print(f"{name:>8}: body learning rate per optimizer step", [f"{r:.2e}" for r in rates])
snippet_weights = load_weights(snippet_dir / "snippet")
script_weights = load_weights(snippet_dir / "script" / "model")
gap = max((snippet_weights[k] - script_weights[k]).abs().max().item() for k in script_weights)
print(f"snippet vs script after {len(script_rates)} steps: largest weight difference {gap:.1e}")
assert snippet_rates == script_rates and trap_rates != script_rates
assert_close(snippet_weights, script_weights, rtol=0, atol=1e-7)

# %% [markdown] slideshow={"slide_type": "fragment"} zh={"source_sha": "4457f79749fc"}
# 脚本与这段代码在每个优化器步骤上给出相同的学习率——即上面打印的线性衰减，覆盖本次运行的 4 步（在这个长度下，预热（warmup）四舍五入为 0 步）——并且最终权重相同（最大差异为 0）。陷阱版本的学习率在第一个优化器步骤执行时就已经移动，并在 4 步中的第 3 步降到 0：每步有 2 个微批次，它的调度就快了一倍，运行的后一半是在学习率为零的情况下训练的。没有任何报错；唯一的迹象是上面 PyTorch 的警告，而它说的是两个调用的先后顺序，而不是调度的快慢。能揭示问题的，是每一步的学习率日志。

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "32551d389f3f"}
# ## 3 · 用 `Trainer` 实现同一方案
#
# `transformers.Trainer` 封装了整个循环（它自己也运行在 Accelerate 之上）。06 方案的每个调节项都是 `TrainingArguments` 的一个字段：`per_device_train_batch_size`、`gradient_accumulation_steps`、`max_grad_norm`、配合 `lr_scheduler_type="linear"` 的 `warmup_steps`，以及用于混合精度的 `bf16`/`fp16`（这里关闭：下面的检查比较的是 float32 运行）。分层的差异学习率则通过把我们自己的优化器交给它来实现。为了看清它替我们做了什么，我们从相同的权重出发、在相同的批次上（按顺序，关闭 dropout），用三种方式运行几个优化器步骤：下面手写的循环、课程中经过测试的 `fit()`，以及 `Trainer`。三者最终的权重必须相同。

# %% slideshow={"slide_type": "skip"} zh={"source_sha": "479c755fd750"}
check_rows = sc.trainer_check_steps * sc.trainer_check_accumulation * sc.trainer_check_batch_size
check_set = tokenize_dataset(parts["train"].select(range(check_rows)), tokenizer, ag.max_len)
check_loader = make_loader(check_set, tokenizer, sc.trainer_check_batch_size)  # 按顺序
warmup = 1  # 检查的几步中有一步预热
print(f"{check_rows} rows · {sc.trainer_check_steps} optimizer steps of "
      f"{sc.trainer_check_accumulation} micro-batches of {sc.trainer_check_batch_size}")  # fmt: skip


def fresh_model_and_optimizer():
    """The same starting weights and AdamW groups for every run of the comparison."""
    twin = copy.deepcopy(model).train()
    twin.load_state_dict(initial_state)
    groups = param_groups(twin, sc.lr, ag.head_lr, ag.head_modules, ag.weight_decay)
    return twin.to(device), torch.optim.AdamW(groups)


# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "ae111168427d"}
def hand_loop(model, loader, optimizer, scheduler, accumulation, max_norm):
    """Notebook 06's loop with clipping; returns each optimizer step's loss and gradient norm."""
    losses, norms, window = [], [], 0.0
    for i, batch in enumerate(loader):
        batch = {k: v.to(device) for k, v in batch.items()}  # (b, T) 的 id 和掩码，(b,) 的标签
        loss = model(**batch).loss / accumulation  # () 本微批次在平均值中所占的份额
        loss.backward()
        window += loss.item()
        if (i + 1) % accumulation == 0:
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)  # 裁剪之前
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            losses.append(window)
            norms.append(norm.item())
            window = 0.0
    return losses, norms


seed_everything(profile.seed)
by_hand, optimizer = fresh_model_and_optimizer()
scheduler = make_scheduler(optimizer, "linear", warmup, sc.trainer_check_steps)
hand_losses, hand_norms = hand_loop(by_hand, check_loader, optimizer, scheduler,
                        sc.trainer_check_accumulation, sc.max_grad_norm)  # fmt: skip

seed_everything(profile.seed)
by_fit, optimizer = fresh_model_and_optimizer()
scheduler = make_scheduler(optimizer, "linear", warmup, sc.trainer_check_steps)
fit(by_fit, check_loader, epochs=1, optimizer=optimizer, scheduler=scheduler, device=device,
    grad_clip=sc.max_grad_norm, accumulation_steps=sc.trainer_check_accumulation,
    progress=False)  # fmt: skip

arguments = TrainingArguments(
    output_dir=str(runs / "trainer_check"),
    per_device_train_batch_size=sc.trainer_check_batch_size,
    gradient_accumulation_steps=sc.trainer_check_accumulation,
    max_steps=sc.trainer_check_steps,
    max_grad_norm=sc.max_grad_norm,
    lr_scheduler_type="linear",
    warmup_steps=warmup,
    bf16=False,  # bf16=True（较老的 GPU 上用 fp16=True）开启混合精度
    fp16=False,
    train_sampling_strategy="sequential",  # 与上面的循环相同的批次
    seed=profile.seed,
    logging_steps=1,
    save_strategy="no",
    report_to="none",
    disable_tqdm=True,
    dataloader_pin_memory=False,
)


def run_trainer(loss_kwargs):
    """The Trainer on the check's batches; returns the model and the logged gradient norms."""
    twin, optimizer = fresh_model_and_optimizer()
    twin.accepts_loss_kwargs = loss_kwargs  # 见下文
    trainer = Trainer(
        model=twin,
        args=arguments,
        train_dataset=check_set,
        data_collator=DataCollatorWithPadding(tokenizer),
        optimizers=(optimizer, None),  # 我们的 AdamW 参数组；预热调度由 Trainer 构建
    )
    trainer.remove_callback(PrinterCallback)  # 不显示它每一步的日志字典
    trainer.train()
    return twin, [log["grad_norm"] for log in trainer.state.log_history if "grad_norm" in log]


by_default, default_norms = run_trainer(loss_kwargs=True)  # Trainer 对 BERT 的默认假设
by_trainer, trainer_norms = run_trainer(loss_kwargs=False)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "7b98c7292047"}
# 首先看每个优化器步骤的梯度范数（裁剪之前），分别由手写循环和两次 `Trainer` 运行测得：

# %% slideshow={"slide_type": "-"} zh={"source_sha": "b10b9b605cac"}
print("hand-written loop        :", [f"{x:.3f}" for x in hand_norms])
print("Trainer, as it comes     :", [f"{x:.3f}" for x in default_norms])
print("Trainer, loss kwargs off :", [f"{x:.3f}" for x in trainer_norms])
ratio = torch.tensor(default_norms) / torch.tensor(hand_norms)
print(f"as it comes / by hand: {ratio.mean():.3f} (accumulation steps: "
      f"{sc.trainer_check_accumulation})")  # fmt: skip
assert_close(ratio, torch.full_like(ratio, float(sc.trainer_check_accumulation)), rtol=1e-3,
             atol=0)  # fmt: skip

# %% [markdown] slideshow={"slide_type": "fragment"} zh={"source_sha": "4223bc54bd17"}
# 开箱即用的 `Trainer` 显示的梯度大了累积步数那么多倍。原因是：`BertForSequenceClassification.forward` 接受额外的关键字参数，于是 `Trainer`（这个 transformers 版本）假定模型会用它传入的词元（token）数（`num_items_in_batch`）来归一化损失，因而不再除以累积步数——但这个模型的损失只是普通的平均值，并不理会这个数。于是一个窗口内的梯度被*相加*而不是取平均：AdamW 基本上掩盖了尺度差异，但梯度裁剪（gradient clipping）的阈值（`max_grad_norm`）会在不同的位置生效，于是几次运行就分道扬镳了。把模型的 `accepts_loss_kwargs` 设为 `False`，`Trainer` 就会像 06 的循环那样做除法。这样一来，三次运行最终的权重必须相同：

# %% slideshow={"slide_type": "-"} zh={"source_sha": "ad9e2c573765"}
moved = max((p.detach().cpu() - initial_state[n]).abs().max().item()
            for n, p in by_hand.named_parameters())  # fmt: skip
for name, twin in (("fit()", by_fit), ("Trainer", by_trainer)):
    gap = max((a - b).abs().max().item()
              for a, b in zip(by_hand.parameters(), twin.parameters(), strict=True))  # fmt: skip
    print(f"hand-written loop vs {name:<8}: largest weight difference {gap:.1e}")
    assert_close(dict(twin.named_parameters()), dict(by_hand.named_parameters()),
                 rtol=1e-4, atol=1e-5)  # fmt: skip
print(f"(the weights themselves moved by up to {moved:.1e})")
print("training loss per optimizer step (by hand):", [f"{x:.4f}" for x in hand_losses])
assert moved > 1e-4
del by_hand, by_fit, by_default, by_trainer, optimizer, scheduler

# %% [markdown] slideshow={"slide_type": "fragment"} zh={"source_sha": "226b567f5144"}
# 所以，`Trainer` 正是这个循环——累积、裁剪、预热——再加上日志、检查点、评估（evaluation）以及第 2 节的多进程管线。当方案能用它的参数表达时，它是合适的工具；当方案超出这些参数时（自定义损失、两个优化器、需要在一步之内测量某些东西），手写循环才是合适的工具。

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "226792dd317c"}
# ## 4 · 一个可启动的程序：`scripts/finetune_ag_news.py`
#
# 这个脚本把笔记本 06 的方案写成了一个程序，而且是为从头读到尾而写的（请在本笔记本旁边打开它）：命令行（`build_parser`，默认值取自配置档，`--help` 列出所有调节项）；数据（`get_dataloaders`：06 的训练 / 验证 / 测试三部分——同样的划分、随机种子和验证比例——每一行都有编号）；模型（`get_model`）；然后是 `training_function`：`Accelerator`、`prepare`、按本进程优化器步数确定长度的调度、恢复运行、第 2 节那个带逐步日志的循环、`save_state` 检查点（checkpoint）、从所有进程汇总的评估，以及在主进程上执行的 `save_pretrained`（safetensors 格式）。换一个配置文件（见 `configs/accelerate/` 和 README），同一条命令就能在 GPU 或多台机器上运行。
#
# 在只有 CPU 的机器上，`accelerate launch --cpu --num_processes 2` 会悄悄地只启动*一个*进程；因此下面的配置改用多进程启动器加上脚本自己的 `--cpu` 参数，这样两个进程才会真正运行，并通过 gloo（PyTorch 的 CPU 通信后端）互相通信。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "43e18c24c121"}
main_run = runs / "launch"
shutil.rmtree(main_run, ignore_errors=True)  # 每次都是全新的运行
device_args = ["--cpu"] if sc.cpu else []
command = launch_command(
    ["--output_dir", str(main_run), "--score_test", "--no_progress", *device_args],
    config=sc.launch_config,
    num_processes=sc.processes,
)
print(shlex.join(Path(part).name if "/" in part else part for part in command))
launch_start = time.perf_counter()
output = run_launch(command)
launch_seconds = time.perf_counter() - launch_start
print(output.strip().splitlines()[-1])
print(f"the launch took {launch_seconds:.0f} s, start-up included")

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "bb2ad782239d"}
# 脚本写出了 `metrics.json`（只由主进程写）。首先确认这次运行正是我们要求的：进程数和第 1 节的有效批次。然后看它的逐步日志：损失（有效批次上的平均值，再在各进程间取平均）和学习率。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "1e41d2862505"}
metrics = read_metrics(main_run)
assert metrics["num_processes"] == sc.processes
expected_batch = effective_batch_size(
    sc.per_device_batch_size, sc.processes, sc.gradient_accumulation_steps
)
assert metrics["effective_batch_size"] == expected_batch
for key in ("num_processes", "distributed_type", "mixed_precision", "effective_batch_size",
            "steps", "rows"):  # fmt: skip
    print(f"{key:>22}: {metrics[key]}")

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "e6f746b389f3"}
figure = plot_step_log(metrics["log"], title="the launched run, per optimizer step")

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "34d1793660c3"}
# ### 评估：每一行只汇总一次
#
# 每个进程为自己那一份验证行打分；`gather_for_metrics` 把它们合在一起，并丢掉为补齐最后一个批次而重复的行。每个验证行必须恰好出现一次。区间是对验证行做自助法（bootstrap）得到的（它不考虑随机种子之间的差异）。这次短运行只是演示这套机制，并不是调好的模型：笔记本 06 在全部行上训练。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "7b380da45f02"}
val = metrics["validation"]
assert sorted(val["row_ids"]) == list(range(metrics["rows"]["validation"]))


def accuracy_with_interval(part):
    """Accuracy and its 95% bootstrap interval over the rows, as text."""
    iv = bootstrap_accuracy(part["labels"], part["predictions"])
    return f"accuracy {iv.estimate:.3f} (95% bootstrap interval {iv.low:.3f}–{iv.high:.3f})"


print(f"validation: {val['rows']} rows, each counted once · {accuracy_with_interval(val)}")
test = metrics["test"]
assert sorted(test["row_ids"]) == list(range(metrics["rows"]["test"]))
print(f"test, scored once after training (no choice depends on it): {test['rows']} rows · "
      f"{accuracy_with_interval(test)}")  # fmt: skip

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "2ca770644621"}
# ### 检查点与保存的模型
#
# `save_state` 写下了继续一次运行所需的一切——权重、优化器的动量、调度所处的位置、每个进程的随机数状态——脚本还加上了已到达的步数和调度的长度。最终模型是一个普通的 `save_pretrained` 文件夹：重新加载它并做预测。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "399f5e4d2d5c"}
for folder in sorted((main_run / "checkpoints").iterdir()):
    files = {p.name: f"{p.stat().st_size / 2**20:.1f} MiB" for p in sorted(folder.iterdir())}
    print(folder.name, files)
saved = main_run / "model"
print("final model:", sorted(p.name for p in saved.iterdir()))

reloaded = AutoModelForSequenceClassification.from_pretrained(saved)
weights = load_weights(saved)  # safetensors：只有张量，不执行任何代码
assert_close(reloaded.state_dict()["classifier.weight"], weights["classifier.weight"])
classify = pipeline("text-classification", model=reloaded, tokenizer=str(saved), device=-1)
headlines = [
    "Central bank raises interest rates as inflation climbs",
    "Striker scores twice as the home side wins the cup final",
    "New chip promises faster phones and longer battery life",
    "Ceasefire talks resume between the two governments",
]
for headline, guess in zip(headlines, classify(headlines), strict=True):
    print(f"{guess['label']:>9} ({guess['score']:.2f})  {headline}")

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "d833097c4652"}
# ### 恢复运行：在检查点处停下，继续，得到相同的权重
#
# 在共享机器上的长时间运行难免被中断。被中断的运行留下的只有它最后一个检查点，所以我们取上面那次运行在第 10 步写下的检查点，用 `--resume_from` 指向它，启动同一条命令，让它一直跑到结束。`load_state` 恢复权重、AdamW 的动量、调度的位置以及每个进程的随机状态；带种子的采样器和 `skip_first_batches` 会跳过已经训练过的微批次。恢复后的运行必须以未中断运行的学习率和损失记录第 10 步之后的各步，并以相同的权重结束。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "620079344cf3"}
checkpoint = main_run / "checkpoints" / f"step_{sc.checkpoint_every:06d}"
resumed_run = runs / "resumed"
shutil.rmtree(resumed_run, ignore_errors=True)
run_launch(launch_command(
    ["--output_dir", str(resumed_run), "--resume_from", str(checkpoint), "--no_progress",
     *device_args], config=sc.launch_config, num_processes=sc.processes))  # fmt: skip
resumed = read_metrics(resumed_run)
uninterrupted = [log for log in metrics["log"] if log["step"] > sc.checkpoint_every]
print("resumed run logged steps", [log["step"] for log in resumed["log"]])
for a, b in zip(resumed["log"], uninterrupted, strict=True):
    assert a["step"] == b["step"] and a["lr"] == b["lr"]
    assert abs(a["loss"] - b["loss"]) < 1e-6
resumed_weights = load_weights(resumed_run / "model")
gap = max((resumed_weights[k] - weights[k]).abs().max().item() for k in weights)
print(f"resumed vs uninterrupted: same rates and losses; largest weight difference {gap:.1e}")
assert_close(resumed_weights, weights, rtol=0, atol=1e-6)

# %% [markdown] slideshow={"slide_type": "fragment"} zh={"source_sha": "c6a1d8a5ae9c"}
# **恢复时请使用相同的参数。** 调度的长度是在运行开始时由 `--epochs` 和 `--max_steps` 计算出来的，并不保存：如果恢复时换了一个 `--max_steps`，同样的第 11 步就会得到另一个学习率，这次运行也就不再是当初被中断的那一次了。脚本会把检查点中保存的长度与新计算的长度比较，二者不同时打印警告（练习 3 会触发它）。
# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "83c0d0ca080a"}
# ## 练习
#
# **1.** 一次启动由它的 Accelerate 配置（一个包含 `num_machines` 和 `num_processes` 的 dict，与 `configs/accelerate/` 下的文件相同）和脚本参数（一个包含 `per_device_batch_size` 和 `gradient_accumulation_steps` 的 dict）描述。编写 `effective_batch(config, script_args)`，返回一个优化器步骤背后的行数。回答之前请先读一读 `configs/accelerate/multinode_2x4.yaml`。

# %% slideshow={"slide_type": "-"} zh={"source_sha": "411a925bd98d"}
from nlpcourse.exercises.ch10 import check_effective_batch, check_steps_per_epoch


def effective_batch(config, script_args):
    """Rows behind one optimizer step of this launch."""
    return None  # 你的代码


check_effective_batch(effective_batch)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"] zh={"source_sha": "d07c8facc34f"}
def effective_batch(config, script_args):
    """Rows behind one optimizer step of this launch."""
    # num_processes 已经计入了每台机器上的进程
    return effective_batch_size(
        script_args["per_device_batch_size"],
        config["num_processes"],
        script_args["gradient_accumulation_steps"],
    )


assert check_effective_batch(effective_batch)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "71340cdd2a0a"}
# **2.** 在一次长时间启动之前，你想知道一轮（epoch）需要多少个优化器步骤，以便选择 `--max_steps`、`--checkpoint_every` 和预热长度。编写 `steps_per_epoch(rows, per_device, processes, accumulation)`。关于启动器有两个事实：每个进程拿到自己的微批次；当数据行填不满最后一轮分配时，Accelerate 会重复几行，使每个进程得到与其他进程一样多的微批次；最后一个不满的累积窗口仍然会执行一次优化器步骤。检查函数会尝试几种启动方式，然后是第 4 节的双进程启动——那个脚本在 `metrics.json` 中记录了它自己每轮的步数。


# %% slideshow={"slide_type": "-"} zh={"source_sha": "01fe598693a7"}
def steps_per_epoch(rows, per_device, processes, accumulation):
    """Optimizer steps in one epoch of a launch."""
    return None  # 你的代码


check_steps_per_epoch(steps_per_epoch, launched=metrics)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"] zh={"source_sha": "bcb9d8dada7c"}
def steps_per_epoch(rows, per_device, processes, accumulation):
    """Optimizer steps in one epoch of a launch."""
    micro_batches = math.ceil(rows / (per_device * processes))  # 每进程的微批次，末轮补齐
    return math.ceil(micro_batches / accumulation)  # 最后一个不满的窗口仍然会更新一次


assert check_steps_per_epoch(steps_per_epoch, launched=metrics)

# %% [markdown] slideshow={"slide_type": "subslide"} zh={"source_sha": "91dc7b52304a"}
# **3.** （开放题。）用 `--max_steps 20` 从第 4 节那次运行的第 10 步检查点恢复：读一读脚本的警告，并把它为第 11–15 步记录的学习率与未中断运行的学习率作比较。然后用 `--per_device_batch_size 8 --gradient_accumulation_steps 4` 在一个进程上运行脚本：它的有效批次与双进程运行相同吗？它的损失曲线和最终权重一致吗？

# %% [markdown] slideshow={"slide_type": "slide"} zh={"source_sha": "3026ca51dc8d"}
# ## 拓展 · 一个进程还是两个：本机上每个样本的耗时
#
# 一个公平的比较：相同的行、相同的优化器步数、相同的有效批次——一个进程处理整个批次，或两个进程各处理一半——在脚本内部按优化器步骤计时，去掉第一步作为预热，报告中位数。两次运行都能用上本机的全部核心：单进程以同样多的线程使用它们，两个进程则各分得相等的一份。

# %% slideshow={"slide_type": "subslide"} zh={"source_sha": "87be9240d32c"}
timing = {}
for processes in (1, sc.processes):
    out = runs / f"timing_{processes}"
    shutil.rmtree(out, ignore_errors=True)
    args = ["--output_dir", str(out), "--no_progress", "--checkpoint_every", "0",
            "--per_device_batch_size", str(sc.timing_batch_size // processes),
            "--gradient_accumulation_steps", "1", "--max_steps", str(sc.timing_steps),
            "--val_rows", str(sc.timing_batch_size), *device_args]  # fmt: skip
    config = sc.launch_config if processes > 1 else None
    threads = {"OMP_NUM_THREADS": str(max(1, os.cpu_count() // processes))}  # 核心平均分配
    run_launch(launch_command(args, config=config, num_processes=processes), env=threads)
    timing[processes] = read_metrics(out)

for processes, m in timing.items():
    per_sample = m["median_step_seconds"] / m["effective_batch_size"]
    print(f"{processes} process(es) × {m['threads_per_process']} thread(s): "
          f"{m['median_step_seconds']:.3f} s per step of {m['effective_batch_size']} rows · "
          f"{1e3 * per_sample:.1f} ms per sample · {1 / per_sample:.0f} samples/s")  # fmt: skip
one, two = (timing[p]["median_step_seconds"] for p in (1, sc.processes))
print(f"{sc.processes} processes took {two / one:.2f}× the time per step of 1 process "
      f"({os.cpu_count()} cores, {timing[1]['device']}).")  # fmt: skip

# %% [markdown] slideshow={"slide_type": "fragment"} zh={"source_sha": "897173ffda37"}
# 请看上面的比值。在 CPU 上，两个进程共享的是*同样*的核心，而单进程本来就已经通过多线程用上了它们，所以并没有新的算力可得：每个进程在一半的核心上计算一半的批次，然后两者都要等待每个梯度的全归约（通过 gloo 传输数十兆字节）。在其他方面空闲的机器上，这个比值应接近 1 或高于 1；比值明显低于 1 说明有其他任务在争用核心，这对一个多线程进程（其线程要互相等待）的伤害比对几个单线程进程更大。使用 GPU 时，每个进程带来自己的设备，算力本身被分摊开，而全归约在反向传播进行的同时通过 NVLink 或 PCIe 传输；这就是数据并行在那里能带来收益的原因。本笔记本只测量了 CPU 的情况：GPU 的数据只有来自 GPU 上的实际运行才应写在这里。

# %% slideshow={"slide_type": "skip"} zh={"source_sha": "ab54a9a115c8"}
print(f"notebook run time: {(time.perf_counter() - notebook_start) / 60:.1f} min")
