"""Fine-tuning throughput, measured side by side in one run on one machine.

Same model (the profile's BERT with a fresh 4-class head, reset to the same weights before each
run), same AG News rows, same seed. Prints samples/s of

  (a) the course's ``nlpcourse.training.fit``,
  (b) a bare PyTorch loop (forward, ``loss.backward()``, ``optimizer.step()``),
  (c) the Hugging Face ``Trainer`` (needs ``accelerate``),

as ratios to (b); then fp32 vs bf16 ``torch.autocast`` as a ratio; then the achieved training
FLOP/s (matmul FLOPs counted by ``torch.utils.flop_counter``) as a fraction of a large fp32
matmul's FLOP/s measured here.

Every run is timed the same way: a hook on ``optimizer.step`` stamps the clock, and samples/s
is taken between the first and the last step (the first step, with its one-off costs, is
excluded); the three loops run in interleaved rounds and the best of each is kept. Defaults
take a couple of minutes on a quiet 2-core CPU:

    python benchmarks/bench_finetune.py                # defaults
    python benchmarks/bench_finetune.py --steps 30 --batch-size 32 --max-len 64 --amp-steps 10
"""

from __future__ import annotations

import argparse
import copy
import os
import tempfile
import time
import warnings

import torch

from nlpcourse.config import get_profile, seed_everything
from nlpcourse.hf_data import make_loader, tokenize_dataset
from nlpcourse.hub import load_pretrained
from nlpcourse.splits import ag_news_splits, stratified_subset
from nlpcourse.training import fit


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="optimizer steps per run")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved repeats (best kept)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-len", type=int, default=32, help="tokens per text (truncation)")
    parser.add_argument(
        "--amp-steps",
        type=int,
        default=3,
        help="steps of the fp32-vs-bf16 runs (bf16 is slow "
        "on CPUs without native bf16 instructions)",
    )
    parser.add_argument("--matmul-size", type=int, default=2048, help="n of the n x n matmul")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument("--lr", type=float, default=2e-5)
    return parser.parse_args()


class StepClock:
    """Stamps the time after every ``optimizer.step()``."""

    def __init__(self, optimizer: torch.optim.Optimizer) -> None:
        self.stamps: list[float] = []
        self.handle = optimizer.register_step_post_hook(
            lambda *_: self.stamps.append(time.perf_counter())
        )

    def samples_per_s(self, batch_size: int) -> float:
        self.handle.remove()
        if len(self.stamps) < 2:
            raise ValueError("need at least 2 optimizer steps to time (use --steps >= 2)")
        return (len(self.stamps) - 1) * batch_size / (self.stamps[-1] - self.stamps[0])


def bare_loop(model, batches, optimizer, amp_dtype=None) -> None:
    """The loop every PyTorch tutorial writes: no metrics, no accumulation, no clipping."""
    model.train()
    for batch in batches:
        with torch.autocast("cpu", dtype=amp_dtype or torch.bfloat16, enabled=bool(amp_dtype)):
            loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)


def run_bare(model, batches, lr, batch_size, amp_dtype=None) -> float:
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    clock = StepClock(optimizer)
    bare_loop(model, batches, optimizer, amp_dtype)
    return clock.samples_per_s(batch_size)


def run_fit(model, batches, lr, batch_size) -> float:
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    clock = StepClock(optimizer)
    fit(model, batches, epochs=1, optimizer=optimizer, progress=False)
    return clock.samples_per_s(batch_size)


def run_trainer(model, dataset, tokenizer, lr, batch_size, steps, seed) -> float:
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments
    from transformers.trainer_callback import PrinterCallback

    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    clock = StepClock(optimizer)
    with tempfile.TemporaryDirectory() as folder:
        arguments = TrainingArguments(
            output_dir=folder,
            per_device_train_batch_size=batch_size,
            max_steps=steps,
            learning_rate=lr,
            lr_scheduler_type="constant",
            max_grad_norm=0.0,  # no clipping: the same work as the bare loop
            logging_strategy="no",
            save_strategy="no",
            report_to="none",
            disable_tqdm=True,
            use_cpu=True,
            dataloader_num_workers=0,
            seed=seed,
        )
        trainer = Trainer(
            model=model,
            args=arguments,
            train_dataset=dataset,
            data_collator=DataCollatorWithPadding(tokenizer),
            optimizers=(optimizer, None),
        )
        trainer.remove_callback(PrinterCallback)  # it prints the final metrics dictionary
        trainer.train()
    return clock.samples_per_s(batch_size)


def training_flops(model, batch) -> int:
    """Matmul FLOPs of one forward + backward pass on ``batch`` (counted, not estimated)."""
    from torch.utils.flop_counter import FlopCounterMode

    model.train()
    with FlopCounterMode(display=False) as counter:
        model(**batch).loss.backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def matmul_flops_per_s(n: int, min_seconds: float = 1.0) -> float:
    """FLOP/s of an n x n fp32 matmul, repeated for at least ``min_seconds``."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm-up
    calls, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < min_seconds or calls < 3:
        a @ b
        calls += 1
    return 2 * n**3 * calls / elapsed


def main() -> None:
    args = parse_args()
    if args.steps < 2 or args.amp_steps < 2 or args.rounds < 1:
        raise SystemExit("--steps and --amp-steps must be >= 2 (the first step is not timed)")
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    import datasets

    datasets.disable_progress_bars()

    profile = get_profile()
    seed_everything(profile.seed)
    rows = args.steps * args.batch_size
    train = ag_news_splits(
        profile.agnews.use_official_train, profile.agnews.test_size, profile.seed
    )["train"]
    train = stratified_subset(train, rows, profile.seed)
    tokenizer = load_pretrained(AutoTokenizer, profile.bert)
    tokenized = tokenize_dataset(train, tokenizer, args.max_len)
    batches = list(make_loader(tokenized, tokenizer, args.batch_size))
    shapes = sorted({tuple(b["input_ids"].shape) for b in batches})
    initial = load_pretrained(
        AutoModelForSequenceClassification,
        profile.bert,
        num_labels=len(train.features["label"].names),
    )

    def fresh():
        seed_everything(profile.seed)
        return copy.deepcopy(initial)  # initial itself is never trained

    load = os.getloadavg()[0]
    print(
        f"model {profile.bert} · {args.steps} steps of {args.batch_size} rows · max_len "
        f"{args.max_len} · batch shapes {shapes} · torch {torch.__version__} · "
        f"{torch.get_num_threads()} threads · CPU {torch.backends.cpu.get_cpu_capability()} · "
        f"load average {load:.1f}"
    )

    runners = {
        "(b) bare PyTorch loop": lambda: run_bare(fresh(), batches, args.lr, args.batch_size),
        "(a) nlpcourse fit()": lambda: run_fit(fresh(), batches, args.lr, args.batch_size),
        "(c) HF Trainer": lambda: run_trainer(
            fresh(), tokenized, tokenizer, args.lr, args.batch_size, args.steps, profile.seed
        ),
    }
    runners["matmul"] = lambda: matmul_flops_per_s(args.matmul_size)
    results = {name: 0.0 for name in runners}
    for _ in range(args.rounds):  # interleaved rounds, best of each: load drifts affect all
        for name, runner in runners.items():
            results[name] = max(results[name], runner())
    base = results["(b) bare PyTorch loop"]
    print(f"\ntraining loop (best of {args.rounds})  samples/s   ratio to (b)")
    for name in ("(a) nlpcourse fit()", "(b) bare PyTorch loop", "(c) HF Trainer"):
        print(f"{name:<26} {results[name]:>9.1f}   {results[name] / base:>6.2f}")

    amp_batches = batches[: args.amp_steps]
    fp32_before = run_bare(fresh(), amp_batches, args.lr, args.batch_size)
    bf16 = run_bare(fresh(), amp_batches, args.lr, args.batch_size, amp_dtype=torch.bfloat16)
    fp32 = max(fp32_before, run_bare(fresh(), amp_batches, args.lr, args.batch_size))
    print(
        f"\nbare loop, {args.amp_steps} steps: fp32 {fp32:.1f} samples/s (best of the runs before "
        f"and after bf16) · bf16 autocast "
        f"{bf16:.1f} samples/s · bf16 / fp32 = {bf16 / fp32:.2f}"
    )

    model = fresh()
    flops_by_shape = {}
    for batch in batches:
        shape = tuple(batch["input_ids"].shape)
        if shape not in flops_by_shape:
            flops_by_shape[shape] = training_flops(model, batch)
    timed = batches[1:]  # the clock starts after the first step
    step_flops = sum(flops_by_shape[tuple(b["input_ids"].shape)] for b in timed) / len(timed)
    achieved = step_flops * base / args.batch_size  # FLOP per step x steps per second
    peak = results["matmul"]
    print(f"\ntraining FLOPs per step {step_flops / 1e9:.1f} GFLOP (matmuls, forward + backward)")
    print(
        f"achieved by (b) {achieved / 1e9:.1f} GFLOP/s · {args.matmul_size}x{args.matmul_size} "
        f"fp32 matmul {peak / 1e9:.1f} GFLOP/s (best of {args.rounds}) · fraction "
        f"{achieved / peak:.2f}"
    )
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
