# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
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

# %% [markdown] slideshow={"slide_type": "slide"}
# # 10 · Scaling out: the case study on several processes with Accelerate
#
# Notebook 06 trained the article's AG News classifier on one device. The `full` profile of
# that job — 120,000 rows, three epochs of BERT-base — is where one GPU starts to feel slow,
# and the next machine a class gets is often a box with several GPUs or a small cluster. This
# notebook carries the same recipe across that step without rewriting it:
#
# 1. **data parallelism**: what several processes do together, drawn, and its core identity
#    (averaged gradients = the gradient of the whole batch) checked by hand;
# 2. **Accelerate**: the few lines it adds to 06's loop, side by side, and that snippet run
#    against the course's script, learning rate for learning rate and weight for weight;
# 3. **the `Trainer`**: the same recipe as a high-level API, checked step for step against a
#    hand-written loop;
# 4. **a launchable program**: `scripts/finetune_ag_news.py` — the lesson itself, to read top
#    to bottom — started here on two CPU processes; its metrics, checkpoint and saved model
#    read back, and a run resumed from its checkpoint.
#
# Going further (at the end): one process against two, timed on this machine.

# %% slideshow={"slide_type": "skip"}
# first: nlpcourse.config quiets torchao's import-time warnings (transformers imports torchao)
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
hf_logging.set_verbosity_error()  # no load reports or Trainer notices in the notebook
hf_logging.disable_progress_bar()
disable_progress_bar()  # nor the datasets' map bars
runs = run_dir("10_scaling_out")
print(f"profile {profile.name!r} · checkpoint {profile.bert} · device {device}")
print(f"{os.cpu_count()} CPU cores · load average {os.getloadavg()[0]:.1f}")
notebook_start = time.perf_counter()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1 · Data parallelism
#
# **Data parallelism** runs several copies of the same training program at once. Each copy is a
# *process* (on a GPU, one per GPU; here, one per CPU core) holding a full **replica** of the
# model with identical starting weights. On every step:
#
# - each process takes a different **shard** of the data: its own micro-batches, disjoint from
#   the others';
# - it runs forward and backward on its shard alone, so each replica ends up with a different
#   gradient;
# - an **all-reduce** — a collective operation in which every process sends its gradient and
#   receives the element-wise mean of all of them — leaves the *same averaged gradient* on
#   every replica;
# - every replica applies that gradient with its own optimizer, so the weights stay identical
#   without ever being sent over the wire.
#
# One optimizer step therefore sees the **effective batch** = per-device batch × processes ×
# accumulation steps (the micro-batches a process adds up before stepping, as in notebook 06).

# %% slideshow={"slide_type": "subslide"}
figure = plot_data_parallel(sc.processes, sc.gradient_accumulation_steps, sc.per_device_batch_size)

# %% [markdown] slideshow={"slide_type": "notes"}
# Point at the gold box: it is the only place the processes talk. Everything left of it is
# ordinary single-device training; everything right of it is identical on every replica.

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Why averaging is enough: the all-reduce by hand
#
# The loss of a batch is the *mean* of its rows' losses, and a gradient is linear, so the
# gradient of a batch's mean loss is the mean of the gradients of equal-sized pieces of it.
# We check that on the real model: one batch of `P × per-device` rows, then each "replica"'s
# shard on its own, then the average that the all-reduce would leave behind. Dropout is off
# (`model.eval()`), so that each forward pass is deterministic.

# %% slideshow={"slide_type": "skip"}
# notebook 06's parts: the same split, seed and validation share (the script uses them too)
parts = ag_news_three_way(ag.use_official_train, ag.test_size, ag.val_size, profile.seed)
class_names = parts["train"].features["label"].names
tokenizer = load_pretrained(AutoTokenizer, profile.bert)
seed_everything(profile.seed)
model = load_pretrained(
    BertForSequenceClassification,
    profile.bert,
    num_labels=len(class_names),
    hidden_dropout_prob=0.0,  # dropout off: the checks below compare runs step for step
    attention_probs_dropout_prob=0.0,
)
if ag.freeze_word_embeddings:  # as in notebook 06 and the script: half the weights, no gradient
    model.get_input_embeddings().weight.requires_grad_(False)
initial_state = copy.deepcopy(model.state_dict())
print(parts)


# %% slideshow={"slide_type": "-"}
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
loss_of(model, batch).backward()  # the whole batch on one device
whole = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

replica_grads = []
share = len(batch["labels"]) // P
for rank in range(P):
    shard = {k: v[rank * share : (rank + 1) * share] for k, v in batch.items()}  # (b, T) each
    model.zero_grad()
    loss_of(model, shard).backward()  # replica `rank` sees only its shard
    replica_grads.append({n: model.get_parameter(n).grad.clone() for n in whole})
all_reduced = {n: sum(g[n] for g in replica_grads) / P for n in whole}  # the mean, on every rank

gap = max((all_reduced[n] - whole[n]).abs().max().item() for n in whole)
spread = max((replica_grads[0][n] - replica_grads[1][n]).abs().max().item() for n in whole)
print(f"replicas' gradients differ by up to {spread:.2e}; their mean vs the whole batch: {gap:.2e}")
assert_close(all_reduced, whole, rtol=1e-4, atol=1e-6)
assert_close(all_reduced, averaged_gradients(model, batch, P, loss_of))  # the package's twin
model.zero_grad(set_to_none=True)
del whole, replica_grads, all_reduced

# %% [markdown] slideshow={"slide_type": "fragment"}
# Two consequences. Shards must be **disjoint** (two replicas on the same rows would count those
# rows twice), and a run on `P` processes with per-device batch `b` takes the same steps as one
# process with batch `P × b` — so the learning rate and schedule of 06 carry over unchanged if
# the effective batch does. The tests of the script (`tests/train/test_scale.py`) check both on two
# real processes: disjoint shards, and the same weights as a single process with the same
# effective batch.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2 · What Accelerate adds to notebook 06's loop
#
# Hugging Face **Accelerate** runs one training script unchanged on a CPU, one GPU, several
# GPUs or several machines, with or without mixed precision: a launcher (`accelerate launch`)
# starts the processes and an `Accelerator` object inside the script does the rest. On the
# right, the lines it adds or changes (green):
#
# - `Accelerator(...)` reads how the run was launched (processes, device, mixed precision);
# - `prepare(...)` wraps the model in DistributedDataParallel (the all-reduce of section 1
#   happens inside `backward`), gives each process a disjoint shard of the loader, moves
#   batches to the device;
# - `accumulate(model)` counts micro-batches and skips the all-reduce until a window ends;
#   `sync_gradients` is true on the last micro-batch of a window, the one that really steps,
#   and only then may the schedule advance;
# - `accelerator.backward` applies the mixed-precision loss scaling when it is on;
# - `clip_grad_norm_` clips the *averaged* gradient; `gather_for_metrics` collects predictions
#   from every process and drops the rows repeated to even out the last batch;
# - only the main process writes the final model, after a barrier (`wait_for_everyone`).

# %% slideshow={"slide_type": "subslide"}
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

# %% [markdown] slideshow={"slide_type": "notes"}
# Three arguments of the `Accelerator` carry weight. `step_scheduler_with_optimizer=False`:
# by default Accelerate steps a prepared scheduler once *per process* on each optimizer step,
# which is right only for a schedule sized for a single-process run; the script sizes its
# schedule in this process's optimizer steps (after `prepare`) and steps it itself.
# `use_seedable_sampler=True`: the shuffle depends on (seed, epoch) only, so a resumed run
# sees the batches the uninterrupted run saw. The scheduler goes through `prepare` so that
# `save_state` saves it.

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Is the snippet right? Run it against the script
#
# A snippet students copy must be run, not just read. The cell below launches the script on
# one process for a few optimizer steps, then executes the snippet above (the very string
# displayed) on the same rows, the same starting weights and the same schedule, and records
# the learning rate of every optimizer step as the optimizer really steps. Then it does the
# same with a one-line change, the **trap**: `scheduler.step()` on every micro-batch, outside
# the `if accelerator.sync_gradients:`. Under `accumulate`, `optimizer.step()` does nothing
# until a window is complete, but the scheduler does not know that.

# %% slideshow={"slide_type": "subslide"}
script = load_script()  # scripts/finetune_ag_news.py imported: its functions, not its main()
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
    set_seed(args.seed)  # as the script does: the same head and the same dropout draws
    _, loaders = script.get_dataloaders(args, tokenizer)
    model = script.get_model(args, class_names)
    optimizer = torch.optim.AdamW(
        param_groups(model, args.lr, args.head_lr, args.head_modules, args.weight_decay))  # fmt: skip
    steps = math.ceil(len(loaders["train"]) / args.gradient_accumulation_steps)  # one process
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

# %% [markdown] slideshow={"slide_type": "fragment"}
# The script and the snippet give the same rate at every optimizer step — the linear decay
# printed above, over the run's 4 steps (at this length the warmup rounds to 0 steps) — and
# end with the same weights (largest difference 0). The trap's rate has already moved when the
# first optimizer step is taken and reaches 0 at step 3 of 4: with 2 micro-batches per step
# its schedule runs twice as fast, and the second half of the run trains at a learning rate
# of zero. Nothing fails; the only sign is PyTorch's warning above, which is about the order
# of two calls, not about the speed. A log of the rates per step is what shows it.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3 · The same recipe with the `Trainer`
#
# `transformers.Trainer` wraps that whole loop (it runs on Accelerate itself). Each knob of 06's
# recipe is a field of `TrainingArguments`: `per_device_train_batch_size`,
# `gradient_accumulation_steps`, `max_grad_norm`, `warmup_steps` with
# `lr_scheduler_type="linear"`, and `bf16`/`fp16` for mixed precision (off here: the check
# below compares float32 runs). The differential learning rates come from handing it our own
# optimizer. To see what it does for us, we run a few optimizer steps three ways from the same
# weights on the same batches (in order, dropout off): a loop written out below, the course's
# tested `fit()`, and the `Trainer`. They must end with the same weights.

# %% slideshow={"slide_type": "skip"}
check_rows = sc.trainer_check_steps * sc.trainer_check_accumulation * sc.trainer_check_batch_size
check_set = tokenize_dataset(parts["train"].select(range(check_rows)), tokenizer, ag.max_len)
check_loader = make_loader(check_set, tokenizer, sc.trainer_check_batch_size)  # in order
warmup = 1  # one warmup step out of the check's few
print(f"{check_rows} rows · {sc.trainer_check_steps} optimizer steps of "
      f"{sc.trainer_check_accumulation} micro-batches of {sc.trainer_check_batch_size}")  # fmt: skip


def fresh_model_and_optimizer():
    """The same starting weights and AdamW groups for every run of the comparison."""
    twin = copy.deepcopy(model).train()
    twin.load_state_dict(initial_state)
    groups = param_groups(twin, sc.lr, ag.head_lr, ag.head_modules, ag.weight_decay)
    return twin.to(device), torch.optim.AdamW(groups)


# %% slideshow={"slide_type": "subslide"}
def hand_loop(model, loader, optimizer, scheduler, accumulation, max_norm):
    """Notebook 06's loop with clipping; returns each optimizer step's loss and gradient norm."""
    losses, norms, window = [], [], 0.0
    for i, batch in enumerate(loader):
        batch = {k: v.to(device) for k, v in batch.items()}  # (b, T) ids and masks, (b,) labels
        loss = model(**batch).loss / accumulation  # () this micro-batch's share of the mean
        loss.backward()
        window += loss.item()
        if (i + 1) % accumulation == 0:
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)  # before clipping
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
    bf16=False,  # bf16=True (or fp16=True on older GPUs) turns on mixed precision
    fp16=False,
    train_sampling_strategy="sequential",  # the same batches as the loops above
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
    twin.accepts_loss_kwargs = loss_kwargs  # see the text below
    trainer = Trainer(
        model=twin,
        args=arguments,
        train_dataset=check_set,
        data_collator=DataCollatorWithPadding(tokenizer),
        optimizers=(optimizer, None),  # our AdamW groups; the Trainer builds the warmup schedule
    )
    trainer.remove_callback(PrinterCallback)  # keep its per-step log dictionaries out of view
    trainer.train()
    return twin, [log["grad_norm"] for log in trainer.state.log_history if "grad_norm" in log]


by_default, default_norms = run_trainer(loss_kwargs=True)  # what the Trainer assumes for BERT
by_trainer, trainer_norms = run_trainer(loss_kwargs=False)

# %% [markdown] slideshow={"slide_type": "subslide"}
# First, the gradient norm of each optimizer step (before clipping), as the hand-written loop
# and the two `Trainer` runs measured it:

# %% slideshow={"slide_type": "-"}
print("hand-written loop        :", [f"{x:.3f}" for x in hand_norms])
print("Trainer, as it comes     :", [f"{x:.3f}" for x in default_norms])
print("Trainer, loss kwargs off :", [f"{x:.3f}" for x in trainer_norms])
ratio = torch.tensor(default_norms) / torch.tensor(hand_norms)
print(f"as it comes / by hand: {ratio.mean():.3f} (accumulation steps: "
      f"{sc.trainer_check_accumulation})")  # fmt: skip
assert_close(ratio, torch.full_like(ratio, float(sc.trainer_check_accumulation)), rtol=1e-3,
             atol=0)  # fmt: skip

# %% [markdown] slideshow={"slide_type": "fragment"}
# The `Trainer` as it comes shows gradients larger by the number of accumulation steps. The
# reason: `BertForSequenceClassification.forward` accepts extra keyword arguments, so the
# `Trainer` (this transformers version) assumes the model normalises its loss by the token
# count it passes in (`num_items_in_batch`) and stops dividing by the accumulation steps — but
# this model's loss is a plain mean and ignores that count. The window's gradients are then
# *summed* instead of averaged: AdamW mostly hides the scale, but the clipping threshold
# (`max_grad_norm`) bites at a different point, so the runs diverge. Setting the model's
# `accepts_loss_kwargs = False` makes the `Trainer` divide as 06's loop does. With that, the
# three runs must end with the same weights:

# %% slideshow={"slide_type": "-"}
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

# %% [markdown] slideshow={"slide_type": "fragment"}
# So the `Trainer` is exactly this loop — accumulation, clipping, warmup — plus logging,
# checkpointing, evaluation and the multi-process plumbing of section 2. It is the right tool
# when the recipe fits its arguments; the loop by hand is the right tool when it does not
# (a custom loss, two optimizers, something to measure inside the step).

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4 · A launchable program: `scripts/finetune_ag_news.py`
#
# The script is notebook 06's recipe as one program, and it is written to be read top to
# bottom (open it beside this notebook): the command line (`build_parser`, defaults from the
# profile, `--help` lists every knob); the data (`get_dataloaders`: 06's train / validation /
# test parts — the same split, seed and validation share — each row numbered); the model
# (`get_model`); then `training_function`: the `Accelerator`, `prepare`, the schedule sized in
# this process's optimizer steps, resuming, the loop of section 2 with a per-step log,
# `save_state` checkpoints, evaluation gathered from all processes, and `save_pretrained`
# (safetensors) on the main process. The same command with another config file (see
# `configs/accelerate/` and the README) runs it on GPUs or several machines.
#
# On a CPU-only machine `accelerate launch --cpu --num_processes 2` quietly starts *one*
# process; the config below uses the multi-process launcher and the script's `--cpu` flag
# instead, so two processes really run, talking over gloo (PyTorch's CPU backend).

# %% slideshow={"slide_type": "subslide"}
main_run = runs / "launch"
shutil.rmtree(main_run, ignore_errors=True)  # a fresh run each time
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

# %% [markdown] slideshow={"slide_type": "subslide"}
# The script wrote `metrics.json` (the main process only). First, that the run was what we
# asked for: the number of processes and the effective batch of section 1. Then its per-step
# log: the loss (the mean over the effective batch, averaged across processes) and the rates.

# %% slideshow={"slide_type": "-"}
metrics = read_metrics(main_run)
assert metrics["num_processes"] == sc.processes
expected_batch = effective_batch_size(
    sc.per_device_batch_size, sc.processes, sc.gradient_accumulation_steps
)
assert metrics["effective_batch_size"] == expected_batch
for key in ("num_processes", "distributed_type", "mixed_precision", "effective_batch_size",
            "steps", "rows"):  # fmt: skip
    print(f"{key:>22}: {metrics[key]}")

# %% slideshow={"slide_type": "subslide"}
figure = plot_step_log(metrics["log"], title="the launched run, per optimizer step")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Evaluation, gathered once per row
#
# Each process scored its own share of the validation rows; `gather_for_metrics` put them
# together and dropped the duplicates that pad the last batch. Every validation row must be
# there exactly once. The interval is a bootstrap over the validation rows (it ignores
# seed-to-seed variance). This short run is a demonstration of the machinery, not a tuned
# model: notebook 06 trains on every row.

# %% slideshow={"slide_type": "-"}
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

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### The checkpoint and the saved model
#
# `save_state` wrote everything a run needs to continue — weights, optimizer moments, the
# schedule's position, each process's random-number state — and the script added the step it
# had reached and the length of its schedule. The final model is a plain `save_pretrained`
# folder: reload it and predict.

# %% slideshow={"slide_type": "-"}
for folder in sorted((main_run / "checkpoints").iterdir()):
    files = {p.name: f"{p.stat().st_size / 2**20:.1f} MiB" for p in sorted(folder.iterdir())}
    print(folder.name, files)
saved = main_run / "model"
print("final model:", sorted(p.name for p in saved.iterdir()))

reloaded = AutoModelForSequenceClassification.from_pretrained(saved)
weights = load_weights(saved)  # safetensors: tensors only, no code runs
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

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Resuming: stop at a checkpoint, continue, end with the same weights
#
# A long run on shared machines gets interrupted. All an interrupted run leaves behind is its
# last checkpoint, so we take the one the run above wrote at step 10, launch the same command
# with `--resume_from` on it, and let it continue to the end. `load_state` restores the
# weights, AdamW's moments, the schedule's position and every process's random state; the
# seeded sampler and `skip_first_batches` pass over the micro-batches already trained on. The
# resumed run must log the steps after 10 with the uninterrupted run's learning rates and
# losses, and end with its weights.

# %% slideshow={"slide_type": "subslide"}
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

# %% [markdown] slideshow={"slide_type": "fragment"}
# **Resume with the same arguments.** The schedule's length is computed from `--epochs` and
# `--max_steps` when the run starts, not saved: resumed with another `--max_steps`, the same
# step 11 would get another learning rate, and the run would no longer be the one that was
# interrupted. The script compares the length stored in the checkpoint with the new one and
# prints a warning when they differ (exercise 3 triggers it).
# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
#
# **1.** A launch is described by its Accelerate config (a dict with `num_machines` and
# `num_processes`, as in the files under `configs/accelerate/`) and the script's arguments (a
# dict with `per_device_batch_size` and `gradient_accumulation_steps`). Write
# `effective_batch(config, script_args)` returning the number of rows behind one optimizer
# step. Read `configs/accelerate/multinode_2x4.yaml` before you answer.

# %% slideshow={"slide_type": "-"}
from nlpcourse.exercises.ch10 import check_effective_batch, check_steps_per_epoch


def effective_batch(config, script_args):
    """Rows behind one optimizer step of this launch."""
    return None  # your code


check_effective_batch(effective_batch)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"]
def effective_batch(config, script_args):
    """Rows behind one optimizer step of this launch."""
    # num_processes already counts the processes on every machine
    return effective_batch_size(
        script_args["per_device_batch_size"],
        config["num_processes"],
        script_args["gradient_accumulation_steps"],
    )


assert check_effective_batch(effective_batch)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **2.** Before a long launch you want to know how many optimizer steps one epoch will take,
# to choose `--max_steps`, `--checkpoint_every` and the warmup. Write
# `steps_per_epoch(rows, per_device, processes, accumulation)`. Two facts about the
# launcher: each process receives its own micro-batches, and when the rows do not fill the
# last round, Accelerate repeats a few rows so that every process gets as many micro-batches
# as the others; a last accumulation window that is short still makes an optimizer step. The
# check tries several launches, then the two-process launch of section 4, whose script
# counted its own steps per epoch in `metrics.json`.


# %% slideshow={"slide_type": "-"}
def steps_per_epoch(rows, per_device, processes, accumulation):
    """Optimizer steps in one epoch of a launch."""
    return None  # your code


check_steps_per_epoch(steps_per_epoch, launched=metrics)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"]
def steps_per_epoch(rows, per_device, processes, accumulation):
    """Optimizer steps in one epoch of a launch."""
    micro_batches = math.ceil(rows / (per_device * processes))  # per process, last round padded
    return math.ceil(micro_batches / accumulation)  # a short last window still steps


assert check_steps_per_epoch(steps_per_epoch, launched=metrics)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **3.** (Open.) Resume the run of section 4 from its step-10 checkpoint with
# `--max_steps 20`: read the script's warning, and compare the learning rates it logs for
# steps 11–15 with the uninterrupted run's. Then run the script on one process with
# `--per_device_batch_size 8 --gradient_accumulation_steps 4`: is its effective batch the
# two-process run's, and do its loss curve and final weights match?

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Going further · One process or two: time per sample on this machine
#
# A fair comparison: the same rows, the same number of optimizer steps and the same effective
# batch — one process with the whole batch, or two processes with half each — timed per
# optimizer step inside the script, the first step dropped as warm-up, the median reported.
# Both runs get all the machine's cores: the single process as that many threads, each of the
# processes an equal share.

# %% slideshow={"slide_type": "subslide"}
timing = {}
for processes in (1, sc.processes):
    out = runs / f"timing_{processes}"
    shutil.rmtree(out, ignore_errors=True)
    args = ["--output_dir", str(out), "--no_progress", "--checkpoint_every", "0",
            "--per_device_batch_size", str(sc.timing_batch_size // processes),
            "--gradient_accumulation_steps", "1", "--max_steps", str(sc.timing_steps),
            "--val_rows", str(sc.timing_batch_size), *device_args]  # fmt: skip
    config = sc.launch_config if processes > 1 else None
    threads = {"OMP_NUM_THREADS": str(max(1, os.cpu_count() // processes))}  # cores shared out
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

# %% [markdown] slideshow={"slide_type": "fragment"}
# Read the ratio above. On a CPU the two processes share the *same* cores that the single
# process already used through its threads, so there is no new arithmetic to gain: each
# process computes half the batch on half the cores, then both wait for the all-reduce of
# every gradient (tens of megabytes through gloo). On an otherwise idle machine expect a ratio
# near 1 or above it; a ratio well below 1 means other work was competing for the cores, which
# hurts one many-threaded process (its threads wait for each other) more than single-threaded
# ones. With GPUs each process brings its own device, so the arithmetic itself is divided, and
# the all-reduce runs over NVLink or PCIe while the backward pass goes on; that is why data
# parallelism pays off there. This notebook has measured only the CPU case: a GPU figure
# belongs here only from a GPU run.

# %% slideshow={"slide_type": "skip"}
print(f"notebook run time: {(time.perf_counter() - notebook_start) / 60:.1f} min")
