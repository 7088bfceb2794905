"""Fine-tune a BERT on AG News on one CPU, one GPU, several GPUs or several machines.

Notebook 06's recipe as one program that Accelerate launches; the code is the same for one
process or many, and the launcher's config decides which:

    python scripts/finetune_ag_news.py --output_dir runs/ag_news            # one process
    accelerate launch --config_file configs/accelerate/cpu_2proc.yaml \\
        scripts/finetune_ag_news.py --cpu --output_dir runs/ag_news_cpu2    # two CPU processes
    python scripts/finetune_ag_news.py --help                               # every knob

Read it top to bottom: the command line, the data, the model, then ``training_function``: the
Accelerator, ``prepare``, the schedule, resuming, the loop, checkpoints, evaluation gathered
from every process, and the saved model. Notebook 10 launches it, checks its loop against the
side-by-side snippet and its resume against an uninterrupted run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the course package, uninstalled

import torch
from accelerate import Accelerator, DataLoaderConfiguration
from accelerate.utils import set_seed
from datasets import DatasetDict
from torch.utils.data import DataLoader
from tqdm.auto import tqdm
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
)
from transformers.utils import logging as hf_logging

from nlpcourse.config import get_profile
from nlpcourse.data.splits import ag_news_three_way, stratified_subset
from nlpcourse.errors import CourseError
from nlpcourse.text.hf_batches import tokenize_dataset
from nlpcourse.train.optim import make_scheduler, param_groups, warmup_steps_for

STATE_FILE = "trainer_state.json"  # the step (and schedule length) a checkpoint was taken at
METRICS_FILE = "metrics.json"


# ---------------------------------------------------------------------------- the command line
def _size(text: str) -> int | float:
    """A row count ("500") or a fraction ("0.2") from the command line."""
    value = float(text)
    return int(value) if value >= 1 and value.is_integer() else value


def _rows(text: str) -> int | None:
    """A row count, or None for "all" / "none"."""
    return None if text.lower() in {"all", "none"} else int(text)


def build_parser() -> argparse.ArgumentParser:
    """The command line, with defaults from the profile that ``NLPCOURSE_PROFILE`` names."""
    profile = get_profile()
    ag, sc = profile.agnews, profile.scale
    parser = argparse.ArgumentParser(
        prog="finetune_ag_news.py",
        description=(
            "Fine-tune a BERT on AG News (notebook 06's recipe) on one CPU, one GPU, several "
            "GPUs or several machines: start it with `accelerate launch` and the Accelerate "
            "config decides the processes and the mixed precision. Defaults come from the "
            f"{profile.name!r} profile (NLPCOURSE_PROFILE)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add("--model", default=profile.bert, help="hub id or local folder of a BERT checkpoint")
    add("--output_dir", type=Path, required=True, help="metrics, checkpoints and the model go here")
    add("--seed", type=int, default=profile.seed, help="seeds the split, the shuffle and the head")
    add("--cpu", action="store_true", help="train on CPU (gloo) even where a GPU is present")
    add(
        "--mixed_precision",
        choices=("no", "fp16", "bf16"),
        default=None,
        help="override the Accelerate config's mixed precision (default: the config's)",
    )
    data = parser.add_argument_group(
        "data: the train / validation / test parts of notebooks 05, 06 and 08 (the same "
        "ag_news_three_way split, same seed and validation share); the --*_rows options score "
        "a class-balanced subset of each part"
    )
    data.add_argument(
        "--val_size",
        type=_size,
        default=ag.val_size,
        help="validation share (or row count) carved from the training part; every choice is "
        "made on it. The default is notebook 06's; another value gives other parts",
    )
    data.add_argument(
        "--train_rows", type=_rows, default=sc.train_rows, help="training rows used ('all')"
    )
    data.add_argument(
        "--val_rows", type=_rows, default=sc.val_rows, help="validation rows scored ('all')"
    )
    data.add_argument(
        "--test_rows",
        type=_rows,
        default=sc.test_rows,
        help="test rows scored by --score_test ('all')",
    )
    data.add_argument(
        "--score_test",
        action="store_true",
        help="also score the test part, once, after training (never to choose)",
    )
    data.add_argument("--max_len", type=int, default=ag.max_len, help="tokens kept per text")
    train = parser.add_argument_group("training")
    train.add_argument(
        "--per_device_batch_size",
        type=int,
        default=sc.per_device_batch_size,
        help="rows per process per forward pass",
    )
    train.add_argument(
        "--gradient_accumulation_steps",
        type=int,
        default=sc.gradient_accumulation_steps,
        help="micro-batches per optimizer step; effective batch = per-device "
        "batch x processes x accumulation",
    )
    train.add_argument(
        "--eval_batch_size",
        type=int,
        default=sc.eval_batch_size,
        help="rows per process per evaluation batch",
    )
    train.add_argument("--epochs", type=int, default=sc.epochs, help="passes over the data")
    train.add_argument(
        "--max_steps",
        type=_rows,
        default=sc.max_steps,
        help="stop after this many optimizer steps ('none' = all epochs); the schedule is "
        "sized to it, so keep it when you resume",
    )
    train.add_argument("--lr", type=float, default=sc.lr, help="learning rate of the body")
    train.add_argument(
        "--head_lr", type=float, default=ag.head_lr, help="learning rate of --head_modules"
    )
    train.add_argument(
        "--head_modules",
        nargs="+",
        default=list(ag.head_modules),
        help="parameter-name prefixes trained at --head_lr",
    )
    train.add_argument(
        "--weight_decay",
        type=float,
        default=ag.weight_decay,
        help="AdamW weight decay (none on biases and LayerNorm weights)",
    )
    train.add_argument(
        "--warmup_ratio",
        type=float,
        default=ag.warmup_ratio,
        help="share of the optimizer steps spent warming the rate up",
    )
    train.add_argument(
        "--max_grad_norm",
        type=float,
        default=sc.max_grad_norm,
        help="clip the averaged gradient to this norm (0 = no clipping)",
    )
    train.add_argument(
        "--freeze_word_embeddings",
        action=argparse.BooleanOptionalAction,
        default=ag.freeze_word_embeddings,
        help="no gradient for the word-embedding matrix (cheaper steps on CPU)",
    )
    ckpt = parser.add_argument_group("checkpoints and output")
    ckpt.add_argument(
        "--checkpoint_every",
        type=int,
        default=sc.checkpoint_every,
        help="save_state every N optimizer steps into output_dir/checkpoints (0 = never)",
    )
    ckpt.add_argument(
        "--resume_from",
        type=Path,
        default=None,
        help="a checkpoint folder (output_dir/checkpoints/step_NNNNNN) to continue, with the "
        "same arguments as the run that wrote it",
    )
    ckpt.add_argument(
        "--record_rows",
        action="store_true",
        help="write the training row ids each process saw (rows_rank<N>.json)",
    )
    ckpt.add_argument("--no_progress", action="store_true", help="no progress bar")
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The parsed command line (``argv`` defaults to ``sys.argv``)."""
    return build_parser().parse_args(argv)


# ---------------------------------------------------------------------------------- the data
def load_parts(args: argparse.Namespace) -> DatasetDict:
    """Notebook 06's three parts, subsetted as asked, each row numbered in a ``row_id`` column."""
    ag = get_profile().agnews
    parts = ag_news_three_way(ag.use_official_train, ag.test_size, args.val_size, args.seed)
    sizes = {"train": args.train_rows, "validation": args.val_rows, "test": args.test_rows}
    chosen = {}
    for name, part in parts.items():
        subset = stratified_subset(part, sizes[name], args.seed)
        chosen[name] = subset.add_column("row_id", list(range(len(subset))))
    return DatasetDict(chosen)


def get_dataloaders(
    args: argparse.Namespace, tokenizer: Any, accelerator: Accelerator | None = None
) -> tuple[DatasetDict, dict[str, DataLoader]]:
    """The parts and their loaders (dynamic padding; each batch carries its rows' ``row_id``)."""
    parts = load_parts(args)
    columns = ["input_ids", "attention_mask", "token_type_ids", "labels", "row_id"]
    loaders = {}
    for name, part in parts.items():
        if accelerator is None:
            tokenized = tokenize_dataset(part, tokenizer, args.max_len)
        else:
            with accelerator.main_process_first():  # one process fills the cache, then the rest
                tokenized = tokenize_dataset(part, tokenizer, args.max_len)
        tokenized = tokenized.with_format(
            columns=[c for c in columns if c in tokenized.column_names]
        )
        train = name == "train"
        loaders[name] = DataLoader(
            tokenized,
            batch_size=args.per_device_batch_size if train else args.eval_batch_size,
            shuffle=train,  # prepare() swaps in a sampler seeded by (seed, epoch)
            collate_fn=DataCollatorWithPadding(tokenizer, return_tensors="pt"),
            # its own generator: starting an epoch (or a resumed one) draws nothing from the
            # global generator, so dropout after a resume draws what the uninterrupted run drew
            generator=torch.Generator().manual_seed(args.seed),
        )
    return parts, loaders


# --------------------------------------------------------------------------------- the model
def get_model(args: argparse.Namespace, class_names: list[str]) -> Any:
    """The pretrained body with a new classification head (drawn from the seeded generator)."""
    model = AutoModelForSequenceClassification.from_pretrained(
        args.model,
        num_labels=len(class_names),
        id2label=dict(enumerate(class_names)),
        label2id={name: i for i, name in enumerate(class_names)},
    )
    if args.freeze_word_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    return model


# --------------------------------------------------------------------------------- evaluation
def evaluate(accelerator: Accelerator, model: Any, loader: DataLoader) -> dict[str, Any]:
    """Accuracy over every row of ``loader``, each row counted once across all processes."""
    model.eval()
    rows, labels, preds = [], [], []
    with torch.no_grad():
        for batch in loader:
            row_id = batch.pop("row_id")  # (B,)
            logits = model(**batch).logits  # (B, classes)
            # from every process; rows repeated to even out the last round of batches are dropped
            found = accelerator.gather_for_metrics((row_id, batch["labels"], logits.argmax(-1)))
            for store, values in zip((rows, labels, preds), found, strict=True):
                store.extend(values.tolist())
    model.train()
    correct = sum(int(a == b) for a, b in zip(labels, preds, strict=True))
    return {
        "rows": len(rows),
        "accuracy": correct / max(len(rows), 1),
        "row_ids": rows,
        "labels": labels,
        "predictions": preds,
    }


# -------------------------------------------------------------------------------- checkpoints
def save_checkpoint(accelerator: Accelerator, output_dir: Path, step: int, total: int) -> Path:
    """``save_state`` (weights, optimizer, schedule, every process's RNG) plus the step reached."""
    folder = output_dir / "checkpoints" / f"step_{step:06d}"
    accelerator.save_state(str(folder))  # every process takes part; rank 0 writes the weights
    if accelerator.is_main_process:
        (folder / STATE_FILE).write_text(json.dumps({"step": step, "total_steps": total}))
    accelerator.wait_for_everyone()
    return folder


def resume(accelerator: Accelerator, folder: Path, total_steps: int) -> int:
    """Load a checkpoint into the prepared objects; return the optimizer step it reached."""
    accelerator.load_state(str(folder))
    state = json.loads((Path(folder) / STATE_FILE).read_text())
    if state.get("total_steps", total_steps) != total_steps and accelerator.is_main_process:
        print(
            f"warning: the checkpoint's schedule ran over {state['total_steps']} steps, this run's "
            f"over {total_steps}: from step {state['step']} on, the learning rates differ from "
            "those of the uninterrupted run (resume with the same --max_steps and --epochs)."
        )
    return int(state["step"])


# ------------------------------------------------------------------------------ the training
def training_function(args: argparse.Namespace) -> dict[str, Any]:
    """Train as ``args`` say; write metrics, checkpoints and the model; return the metrics."""
    # The Accelerator reads how the run was launched: processes, device, mixed precision.
    accelerator = Accelerator(
        cpu=args.cpu,
        mixed_precision=args.mixed_precision,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        step_scheduler_with_optimizer=False,  # the schedule counts optimizer steps; we step it
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True),  # shuffle = f(seed,
        # epoch) only, so a resumed run sees the batches the uninterrupted one saw
    )
    if not accelerator.is_main_process:
        hf_logging.set_verbosity_error()  # one process reports
    set_seed(args.seed)
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)

    tokenizer = AutoTokenizer.from_pretrained(args.model)
    parts, loaders = get_dataloaders(args, tokenizer, accelerator)
    model = get_model(args, parts["train"].features["label"].names)
    optimizer = torch.optim.AdamW(
        param_groups(model, args.lr, args.head_lr, args.head_modules, args.weight_decay)
    )
    # DDP around the model, a disjoint shard of each loader per process, batches on the device
    model, optimizer, train_loader, val_loader, test_loader = accelerator.prepare(
        model, optimizer, loaders["train"], loaders["validation"], loaders["test"]
    )
    # after prepare, len(train_loader) is THIS process's share of the micro-batches
    steps_per_epoch = math.ceil(len(train_loader) / args.gradient_accumulation_steps)
    total_steps = args.epochs * steps_per_epoch
    total_steps = min(total_steps, args.max_steps) if args.max_steps else total_steps
    scheduler = make_scheduler(
        optimizer, "linear", warmup_steps_for(total_steps, args.warmup_ratio), total_steps
    )
    scheduler = accelerator.prepare(scheduler)  # so that save_state / load_state include it

    step = 0
    if args.resume_from is not None:
        step = resume(accelerator, args.resume_from, total_steps)
    seen: list[int] = []  # training row ids this process saw (--record_rows)
    logs: list[dict[str, Any]] = []  # one entry per optimizer step
    bar = tqdm(
        total=total_steps,
        initial=step,
        desc=f"train ×{accelerator.num_processes}",
        disable=args.no_progress or not accelerator.is_main_process,
    )
    model.train()
    clock = time.perf_counter()
    window_loss = torch.zeros((), device=accelerator.device)
    for epoch in range(step // steps_per_epoch, args.epochs):
        if step >= total_steps:
            break
        train_loader.set_epoch(epoch)  # the shuffle depends on (seed, epoch) only
        batches = train_loader
        done_here = (step % steps_per_epoch) * args.gradient_accumulation_steps
        if done_here:  # resuming mid-epoch: pass over the micro-batches already trained on
            batches = accelerator.skip_first_batches(train_loader, done_here)
        for batch in batches:
            seen.extend(batch.pop("row_id").tolist())
            with accelerator.accumulate(model):  # no all-reduce until the window is complete
                loss = model(**batch).loss  # () mean over this process's micro-batch
                accelerator.backward(loss)  # divided by the accumulation steps; all-reduced
                grad_norm = torch.zeros(())
                if accelerator.sync_gradients:  # the last micro-batch of a window
                    rates = [group["lr"] for group in optimizer.param_groups]  # this step's
                    if args.max_grad_norm > 0:
                        grad_norm = accelerator.clip_grad_norm_(
                            model.parameters(), args.max_grad_norm
                        )  # of the averaged gradient, before clipping
                optimizer.step()  # a no-op until the window is complete
                if accelerator.sync_gradients:
                    scheduler.step()  # once per optimizer step, never per micro-batch
                optimizer.zero_grad()
            window_loss += loss.detach() / args.gradient_accumulation_steps
            if not accelerator.sync_gradients:
                continue
            step += 1
            mean_loss = accelerator.reduce(window_loss, "mean").item()  # over the processes
            window_loss.zero_()
            now = time.perf_counter()
            logs.append(
                {
                    "step": step,
                    "epoch": step / steps_per_epoch,
                    "loss": mean_loss,
                    "lr": rates,
                    "grad_norm": float(grad_norm),
                    "seconds": now - clock,
                }
            )
            clock = now
            bar.update(1)
            bar.set_postfix(loss=f"{mean_loss:.4f}", refresh=False)
            if args.checkpoint_every and step % args.checkpoint_every == 0:
                save_checkpoint(accelerator, output_dir, step, total_steps)
            if step >= total_steps:
                break
    bar.close()
    if args.record_rows:
        (output_dir / f"rows_rank{accelerator.process_index}.json").write_text(json.dumps(seen))

    # Evaluation: every process scores its shard; the results are gathered.
    results = {"validation": evaluate(accelerator, model, val_loader)}
    if args.score_test:  # once, after training; nothing is chosen on it
        results["test"] = evaluate(accelerator, model, test_loader)

    # The saved model: every process holds the same weights, one writes them, after a barrier.
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        unwrapped = accelerator.unwrap_model(model)
        unwrapped.save_pretrained(output_dir / "model")  # model.safetensors + config.json
        tokenizer.save_pretrained(output_dir / "model")
    timed = [log["seconds"] for log in logs[1:]]  # the first step is the warm-up
    metrics = {
        "num_processes": accelerator.num_processes,
        "distributed_type": str(accelerator.distributed_type).split(".")[-1],
        "device": str(accelerator.device),
        "mixed_precision": accelerator.mixed_precision,
        "threads_per_process": torch.get_num_threads(),
        "model": args.model,
        "per_device_batch_size": args.per_device_batch_size,
        "gradient_accumulation_steps": args.gradient_accumulation_steps,
        "effective_batch_size": (
            args.per_device_batch_size
            * accelerator.num_processes
            * args.gradient_accumulation_steps
        ),
        "steps_per_epoch": steps_per_epoch,
        "steps": step,
        "total_steps": total_steps,
        "resumed_from": str(args.resume_from) if args.resume_from else None,
        "rows": {name: len(part) for name, part in parts.items()},
        "median_step_seconds": sorted(timed)[len(timed) // 2] if timed else None,
        "log": logs,
        **results,
    }
    if accelerator.is_main_process:
        (output_dir / METRICS_FILE).write_text(json.dumps(metrics, indent=1))
    accelerator.wait_for_everyone()
    accelerator.end_training()  # leaves the process group
    return metrics


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, train, and print one summary line on the main process."""
    args = parse_args(argv)
    try:
        metrics = training_function(args)
    except (CourseError, OSError, ValueError) as error:
        print(f"finetune_ag_news: {error}")
        return 1
    if os.environ.get("RANK", "0") == "0":
        val = metrics["validation"]
        print(
            f"{metrics['steps']} steps on {metrics['num_processes']} process(es) · validation "
            f"accuracy {val['accuracy']:.4f} on {val['rows']} rows · saved to {args.output_dir}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
