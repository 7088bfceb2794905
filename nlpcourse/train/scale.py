"""The AG News fine-tune as one program that Accelerate launches on 1 CPU, GPUs or nodes.

``scripts/finetune_ag_news.py`` calls :func:`main`. The recipe is notebook 06's: the three-way
split, differential learning rates, a warmup schedule, gradient accumulation, gradient clipping,
mixed precision (from the Accelerate config), then evaluation gathered from every process,
``save_state`` checkpoints that a later run resumes from, and a final ``save_pretrained``.
What launches it (``accelerate launch``, ``torchrun``) decides how many processes run; the code
is the same for one or many. One difference from 06's ``fit()``: Accelerate divides every
micro-batch's loss by ``--gradient_accumulation_steps``, also in a short last window of an
epoch (``fit()`` divides by the window's true size), so that window's step is a little smaller.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

STATE_FILE = "trainer_state.json"
METRICS_FILE = "metrics.json"


def _size(text: str) -> int | float:
    """A row count ("500") or a fraction ("0.1") from the command line."""
    value = float(text)
    return int(value) if value >= 1 and value.is_integer() else value


def _rows(text: str) -> int | None:
    """A row count, or None for "all"."""
    return None if text.lower() in {"all", "none"} else int(text)


def build_parser() -> argparse.ArgumentParser:
    """The command line, with defaults from the profile that ``NLPCOURSE_PROFILE`` names."""
    from nlpcourse.config import get_profile

    profile = get_profile()
    ag, sc = profile.agnews, profile.scale
    parser = argparse.ArgumentParser(
        prog="finetune_ag_news.py",
        description=(
            "Fine-tune a BERT on AG News (the course's notebook-06 recipe) on one CPU, one GPU, "
            "several GPUs or several machines: start it with `accelerate launch` and the "
            "Accelerate config decides the processes and the mixed precision. Defaults come "
            f"from the {profile.name!r} profile (NLPCOURSE_PROFILE)."
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
    data = parser.add_argument_group("data (the three-way split of notebooks 05, 06, 08)")
    data.add_argument(
        "--val_size",
        type=_size,
        default=sc.val_size,
        help="validation rows "
        "(or fraction) carved from the training part; every choice is made on it",
    )
    data.add_argument(
        "--train_rows",
        type=_rows,
        default=sc.train_rows,
        help="training rows used, class-balanced ('all' for every row)",
    )
    data.add_argument(
        "--val_rows",
        type=_rows,
        default=sc.val_rows,
        help="validation rows scored ('all' for every row)",
    )
    data.add_argument(
        "--test_rows",
        type=_rows,
        default=sc.test_rows,
        help="test rows scored by --score_test ('all' for every row)",
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
        help="stop after this many optimizer steps ('none' = all epochs)",
    )
    train.add_argument("--lr", type=float, default=sc.lr, help="learning rate of the body")
    train.add_argument(
        "--head_lr",
        type=float,
        default=ag.head_lr,
        help="learning rate of the new layers (--head_modules)",
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
    ckpt = parser.add_argument_group("checkpoints")
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
        help="a checkpoint folder (output_dir/checkpoints/step_NNNNNN) to continue",
    )
    ckpt.add_argument(
        "--record_rows",
        action="store_true",
        help="write the training row ids each process saw (rows_rank<N>.json)",
    )
    ckpt.add_argument("--no_progress", action="store_true", help="no progress bar")
    return parser


@dataclass
class StepLog:
    """One optimizer step: loss (mean over the effective batch), rates, gradient norm, time."""

    step: int
    epoch: float
    loss: float
    lr: list[float]
    grad_norm: float
    seconds: float


def load_parts(args: argparse.Namespace) -> Any:
    """The three parts, subsetted as asked, each with a ``row_id`` column (its row numbers)."""
    from datasets import DatasetDict

    from nlpcourse.config import get_profile
    from nlpcourse.data.splits import ag_news_three_way, stratified_subset

    ag = get_profile().agnews
    parts = ag_news_three_way(ag.use_official_train, ag.test_size, args.val_size, args.seed)
    sizes = {"train": args.train_rows, "validation": args.val_rows, "test": args.test_rows}
    chosen = {}
    for name, part in parts.items():
        subset = stratified_subset(part, sizes[name], args.seed)
        chosen[name] = subset.add_column("row_id", list(range(len(subset))))
    return DatasetDict(chosen)


def make_loader(tokenized: Any, tokenizer: Any, batch_size: int, shuffle: bool) -> Any:
    """A DataLoader with dynamic padding that also carries each row's ``row_id``."""
    from torch.utils.data import DataLoader
    from transformers import DataCollatorWithPadding

    columns = ["input_ids", "attention_mask", "token_type_ids", "labels", "row_id"]
    tokenized = tokenized.with_format(columns=[c for c in columns if c in tokenized.column_names])
    return DataLoader(
        tokenized,
        batch_size=batch_size,
        shuffle=shuffle,
        collate_fn=DataCollatorWithPadding(tokenizer, return_tensors="pt"),
    )


def evaluate(accelerator: Any, model: Any, loader: Any) -> dict[str, Any]:
    """Accuracy over every row of ``loader``, each counted once across all processes."""
    model.eval()
    rows, labels, preds = [], [], []
    with torch.no_grad():
        for batch in loader:
            row_id = batch.pop("row_id")  # (B,)
            logits = model(**batch).logits  # (B, classes)
            # gather from every process; the rows repeated to even out the last batch are dropped
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


def save_checkpoint(accelerator: Any, output_dir: Path, step: int, epoch: int) -> Path:
    """``save_state`` (model, optimizer, scheduler, RNG of every process) plus the step count."""
    folder = output_dir / "checkpoints" / f"step_{step:06d}"
    accelerator.save_state(str(folder))  # every process takes part; files come from rank 0
    if accelerator.is_main_process:
        (folder / STATE_FILE).write_text(json.dumps({"step": step, "epoch": epoch}))
    accelerator.wait_for_everyone()
    return folder


def train(args: argparse.Namespace) -> dict[str, Any]:
    """Run the fine-tune described by ``args``; return (and write) the metrics."""
    import transformers
    from accelerate import Accelerator, DataLoaderConfiguration
    from accelerate.utils import set_seed
    from tqdm.auto import tqdm
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from nlpcourse.text.hf_batches import tokenize_dataset
    from nlpcourse.train.optim import make_scheduler, param_groups, warmup_steps_for

    accelerator = Accelerator(
        cpu=args.cpu,
        mixed_precision=args.mixed_precision,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        step_scheduler_with_optimizer=False,  # the schedule counts optimizer steps; we step it
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True),
    )
    if not accelerator.is_main_process:
        transformers.logging.set_verbosity_error()
    set_seed(args.seed)
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)

    parts = load_parts(args)
    class_names = parts["train"].features["label"].names
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    with accelerator.main_process_first():
        tokenized = {
            name: tokenize_dataset(p, tokenizer, args.max_len) for name, p in parts.items()
        }
    model = AutoModelForSequenceClassification.from_pretrained(
        args.model,
        num_labels=len(class_names),
        id2label=dict(enumerate(class_names)),
        label2id={name: i for i, name in enumerate(class_names)},
    )
    if args.freeze_word_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    optimizer = torch.optim.AdamW(
        param_groups(model, args.lr, args.head_lr, args.head_modules, args.weight_decay)
    )
    train_loader = make_loader(tokenized["train"], tokenizer, args.per_device_batch_size, True)
    val_loader = make_loader(tokenized["validation"], tokenizer, args.eval_batch_size, False)
    test_loader = make_loader(tokenized["test"], tokenizer, args.eval_batch_size, False)
    model, optimizer, train_loader, val_loader, test_loader = accelerator.prepare(
        model, optimizer, train_loader, val_loader, test_loader
    )
    # after prepare, len(train_loader) is this process's share of the micro-batches
    steps_per_epoch = math.ceil(len(train_loader) / args.gradient_accumulation_steps)
    total_steps = args.epochs * steps_per_epoch
    total_steps = min(total_steps, args.max_steps) if args.max_steps else total_steps
    scheduler = make_scheduler(
        optimizer, "linear", warmup_steps_for(total_steps, args.warmup_ratio), total_steps
    )
    scheduler = accelerator.prepare(scheduler)

    step, start_epoch, skip = 0, 0, 0
    if args.resume_from is not None:
        accelerator.load_state(str(args.resume_from))
        state = json.loads((Path(args.resume_from) / STATE_FILE).read_text())
        step = state["step"]
        start_epoch = step // steps_per_epoch
        skip = (step % steps_per_epoch) * args.gradient_accumulation_steps

    seen: list[int] = []
    logs: list[StepLog] = []
    bar = tqdm(
        total=total_steps,
        initial=step,
        desc=f"train ×{accelerator.num_processes}",
        disable=args.no_progress or not accelerator.is_main_process,
    )
    model.train()
    clock = time.perf_counter()
    window_loss = torch.zeros((), device=accelerator.device)
    for epoch in range(start_epoch, args.epochs):
        if step >= total_steps:
            break
        train_loader.set_epoch(epoch)  # the shuffle depends on (seed, epoch) only
        batches = train_loader
        if skip:  # resuming mid-epoch: pass over the micro-batches already trained on
            batches = accelerator.skip_first_batches(train_loader, skip)
            skip = 0
        for batch in batches:
            seen.extend(batch.pop("row_id").tolist())
            with accelerator.accumulate(model):
                loss = model(**batch).loss  # () mean over this process's micro-batch
                accelerator.backward(loss)  # divided by the accumulation steps; all-reduced
                grad_norm = torch.zeros(())
                if accelerator.sync_gradients:
                    rates = [group["lr"] for group in optimizer.param_groups]  # for this step
                    if args.max_grad_norm > 0:
                        grad_norm = accelerator.clip_grad_norm_(
                            model.parameters(), args.max_grad_norm
                        )
                optimizer.step()  # a no-op until the window is complete
                if accelerator.sync_gradients:
                    scheduler.step()
                optimizer.zero_grad()
            window_loss += loss.detach() / args.gradient_accumulation_steps
            if not accelerator.sync_gradients:
                continue
            step += 1
            mean_loss = accelerator.reduce(window_loss, "mean").item()
            window_loss.zero_()
            now = time.perf_counter()
            logs.append(
                StepLog(
                    step=step,
                    epoch=step / steps_per_epoch,
                    loss=mean_loss,
                    lr=rates,
                    grad_norm=float(grad_norm),
                    seconds=now - clock,
                )
            )
            clock = now
            bar.update(1)
            bar.set_postfix(loss=f"{mean_loss:.4f}", refresh=False)
            if args.checkpoint_every and step % args.checkpoint_every == 0:
                save_checkpoint(accelerator, output_dir, step, epoch)
            if step >= total_steps:
                break
    bar.close()

    if args.record_rows:
        record = output_dir / f"rows_rank{accelerator.process_index}.json"
        record.write_text(json.dumps(seen))
    results = {"validation": evaluate(accelerator, model, val_loader)}
    if args.score_test:
        results["test"] = evaluate(accelerator, model, test_loader)

    accelerator.wait_for_everyone()
    unwrapped = accelerator.unwrap_model(model)
    if accelerator.is_main_process:  # one writer: every process holds the same weights
        unwrapped.save_pretrained(output_dir / "model")  # model.safetensors + config.json
        tokenizer.save_pretrained(output_dir / "model")
    timed = [log.seconds for log in logs[1:]]  # the first step is the warm-up
    effective = (
        args.per_device_batch_size * accelerator.num_processes * args.gradient_accumulation_steps
    )
    metrics = {
        "num_processes": accelerator.num_processes,
        "distributed_type": str(accelerator.distributed_type).split(".")[-1],
        "device": str(accelerator.device),
        "mixed_precision": accelerator.mixed_precision,
        "threads_per_process": torch.get_num_threads(),
        "model": args.model,
        "per_device_batch_size": args.per_device_batch_size,
        "gradient_accumulation_steps": args.gradient_accumulation_steps,
        "effective_batch_size": effective,
        "steps": step,
        "total_steps": total_steps,
        "resumed_from": str(args.resume_from) if args.resume_from else None,
        "rows": {name: len(part) for name, part in parts.items()},
        "median_step_seconds": sorted(timed)[len(timed) // 2] if timed else None,
        "log": [asdict(log) for log in logs],
        **results,
    }
    if accelerator.is_main_process:
        (output_dir / METRICS_FILE).write_text(json.dumps(metrics, indent=1))
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return metrics


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, train, and print one summary line on the main process."""
    from nlpcourse.errors import CourseError

    args = build_parser().parse_args(argv)
    try:
        metrics = train(args)
    except (CourseError, OSError, ValueError) as error:
        print(f"finetune_ag_news: {error}")
        return 1
    if metrics is not None and _is_main():
        val = metrics["validation"]
        print(
            f"{metrics['steps']} steps on {metrics['num_processes']} process(es) · validation "
            f"accuracy {val['accuracy']:.4f} on {val['rows']} rows · saved to {args.output_dir}"
        )
    return 0


def _is_main() -> bool:
    import os

    return os.environ.get("RANK", "0") == "0"
