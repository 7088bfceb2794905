"""Fine-tuning throughput, measured side by side in one run on one machine.

Same model (the profile's BERT with a fresh 4-class head, reset to the same weights before each
run), same AG News training rows, same seed, and the SAME pre-built batches for every loop
(the ``Trainer`` included: it is handed a DataLoader over those batches). Prints samples/s of

  (a) the course's ``nlpcourse.train.loop.fit``,
  (b) a bare PyTorch loop (forward, ``loss.backward()``, ``optimizer.step()``),
  (c) the Hugging Face ``Trainer`` (needs ``accelerate``),

as ratios to (b); then fp32 vs bf16 autocast vs fp16 autocast with a ``GradScaler`` (bare
loop) as ratios to fp32; then the achieved training FLOP/s (matmul FLOPs counted by
``torch.utils.flop_counter``) as a fraction of a large fp32 matmul's FLOP/s measured here.

Fair timing: every variant gets one untimed warm-up run, then ``--rounds`` interleaved rounds
(each variant once per round, so drifts in machine load hit all alike) and the MEDIAN of the
same count is reported. Within a run a hook on ``optimizer.step`` stamps the clock (after a
CUDA synchronise on a GPU), and samples/s is taken between the first and the last step.
``--device`` picks the device (default: CUDA when available, CPU otherwise):

    python benchmarks/bench_finetune.py                # defaults
    python benchmarks/bench_finetune.py --steps 30 --batch-size 32 --max-len 64 --device cuda
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import os
import statistics
import tempfile
import time
import warnings

import torch
from torch.utils.data import DataLoader

from nlpcourse.config import get_profile, seed_everything
from nlpcourse.data.checkpoints import load_pretrained
from nlpcourse.data.splits import ag_news_three_way, stratified_subset
from nlpcourse.modelcard import hardware_summary
from nlpcourse.text.hf_batches import make_loader, tokenize_dataset
from nlpcourse.train.loop import fit, to_device


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="optimizer steps per run")
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved timed runs per variant (median kept)"
    )
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-len", type=int, default=32, help="tokens per text (truncation)")
    parser.add_argument(
        "--amp-steps",
        type=int,
        default=3,
        help="steps of the fp32 / bf16 / fp16 runs (16-bit is slow "
        "on CPUs without native 16-bit instructions)",
    )
    parser.add_argument(
        "--device",
        default="cuda" if torch.cuda.is_available() else "cpu",
        help="cuda or cpu (default: cuda when available)",
    )
    parser.add_argument("--matmul-size", type=int, default=2048, help="n of the n x n matmul")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument("--lr", type=float, default=2e-5)
    return parser.parse_args()


class StepClock:
    """Stamps the time after every ``optimizer.step()`` (after a CUDA synchronise on a GPU)."""

    def __init__(self, optimizer: torch.optim.Optimizer, device: torch.device) -> None:
        self.stamps: list[float] = []
        sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

        def stamp(*_) -> None:
            sync()
            self.stamps.append(time.perf_counter())

        self.handle = optimizer.register_step_post_hook(stamp)

    def samples_per_s(self, batch_size: int) -> float:
        self.handle.remove()
        if len(self.stamps) < 2:
            raise ValueError("need at least 2 optimizer steps to time (use --steps >= 2)")
        return (len(self.stamps) - 1) * batch_size / (self.stamps[-1] - self.stamps[0])


def bare_loop(model, batches, optimizer, device, amp_dtype=None) -> None:
    """The loop every PyTorch tutorial writes: no metrics, no accumulation, no clipping.

    fp16 uses a ``torch.amp.GradScaler`` (on any device); bf16 and fp32 need none.
    """
    model.train()
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)
    for batch in batches:
        batch = to_device(batch, device)
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            loss = model(**batch).loss
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)


def run_bare(model, batches, lr, batch_size, device, amp_dtype=None) -> float:
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    clock = StepClock(optimizer, device)
    bare_loop(model, batches, optimizer, device, amp_dtype)
    return clock.samples_per_s(batch_size)


def run_fit(model, batches, lr, batch_size, device) -> float:
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    clock = StepClock(optimizer, device)
    fit(model, batches, epochs=1, optimizer=optimizer, device=device, progress=False)
    return clock.samples_per_s(batch_size)


def run_trainer(model, batches, lr, batch_size, seed, device) -> float:
    """The Trainer, handed a DataLoader that yields the same pre-built batches, in order."""
    from transformers import Trainer, TrainingArguments
    from transformers.trainer_callback import PrinterCallback

    class SameBatchesTrainer(Trainer):
        def get_train_dataloader(self) -> DataLoader:
            # batch_size=None: each item of the list is already a batch, yielded as it is
            return DataLoader(batches, batch_size=None, shuffle=False)

    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    clock = StepClock(optimizer, device)
    with tempfile.TemporaryDirectory() as folder:
        arguments = TrainingArguments(
            output_dir=folder,
            per_device_train_batch_size=batch_size,
            max_steps=len(batches),
            learning_rate=lr,
            lr_scheduler_type="constant",
            max_grad_norm=0.0,  # no clipping: the same work as the bare loop
            logging_strategy="no",
            save_strategy="no",
            report_to="none",
            disable_tqdm=True,
            use_cpu=device.type == "cpu",
            dataloader_num_workers=0,
            seed=seed,
        )
        trainer = SameBatchesTrainer(model=model, args=arguments, optimizers=(optimizer, None))
        trainer.remove_callback(PrinterCallback)  # it prints the final metrics dictionary
        trainer.train()
    return clock.samples_per_s(batch_size)


def interleaved_medians(runners: dict, rounds: int) -> dict[str, float]:
    """One untimed warm-up run per variant, then ``rounds`` interleaved runs; the medians."""
    for runner in runners.values():
        runner()  # warm-up: lazy initialisation, allocator growth, kernel selection
    results: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(rounds):
        for name, runner in runners.items():
            results[name].append(runner())
    return {name: statistics.median(values) for name, values in results.items()}


def training_flops(model, batch) -> int:
    """Matmul FLOPs of one forward + backward pass on ``batch`` (counted, not estimated)."""
    from torch.utils.flop_counter import FlopCounterMode

    model.train()
    with FlopCounterMode(display=False) as counter:
        model(**batch).loss.backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def matmul_flops_per_s(n: int, device: torch.device, min_seconds: float = 1.0) -> float:
    """FLOP/s of an n x n fp32 matmul, repeated for at least ``min_seconds``."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    a @ b  # warm-up
    sync()
    calls, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < min_seconds or calls < 3:
        a @ b
        calls += 1
        sync()
    return 2 * n**3 * calls / elapsed


def main() -> None:
    args = parse_args()
    if args.steps < 2 or args.amp_steps < 2 or args.rounds < 1:
        raise SystemExit("--steps and --amp-steps must be >= 2 (the first step is not timed)")
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda was asked for, but no CUDA GPU is visible.")
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
    cfg = profile.agnews
    seed_everything(profile.seed)
    rows = args.steps * args.batch_size
    train = ag_news_three_way(cfg.use_official_train, cfg.test_size, cfg.val_size, profile.seed)
    train = stratified_subset(train["train"], rows, profile.seed)
    tokenizer = load_pretrained(AutoTokenizer, profile.bert)
    tokenized = tokenize_dataset(train, tokenizer, args.max_len)
    batches = list(make_loader(tokenized, tokenizer, args.batch_size))  # built once, reused
    shapes = sorted({tuple(b["input_ids"].shape) for b in batches})
    initial = load_pretrained(
        AutoModelForSequenceClassification,
        profile.bert,
        num_labels=len(train.features["label"].names),
    )

    def fresh():
        seed_everything(profile.seed)
        return copy.deepcopy(initial).to(device)  # initial itself is never trained

    print(f"date {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC · {hardware_summary(device)}")
    print(
        f"device {device} · model {profile.bert} · {args.steps} steps of {args.batch_size} rows"
        f" · max_len {args.max_len} · batch shapes {shapes} · CPU "
        f"{torch.backends.cpu.get_cpu_capability()} · load average {os.getloadavg()[0]:.1f}"
    )

    bs, lr = args.batch_size, args.lr
    loops = interleaved_medians(
        {
            "(b) bare PyTorch loop": lambda: run_bare(fresh(), batches, lr, bs, device),
            "(a) nlpcourse fit()": lambda: run_fit(fresh(), batches, lr, bs, device),
            "(c) HF Trainer": lambda: run_trainer(fresh(), batches, lr, bs, profile.seed, device),
        },
        args.rounds,
    )
    base = loops["(b) bare PyTorch loop"]
    print(f"\ntraining loop (warm-up + median of {args.rounds})  samples/s   ratio to (b)")
    for name in ("(a) nlpcourse fit()", "(b) bare PyTorch loop", "(c) HF Trainer"):
        print(f"{name:<33} {loops[name]:>9.1f}   {loops[name] / base:>6.2f}")

    amp_batches = batches[: args.amp_steps]
    precisions = interleaved_medians(
        {
            label: (lambda d=dtype: run_bare(fresh(), amp_batches, lr, bs, device, amp_dtype=d))
            for label, dtype in (
                ("fp32", None),
                ("bf16 autocast", torch.bfloat16),
                ("fp16 autocast + GradScaler", torch.float16),
            )
        },
        args.rounds,
    )
    print(f"\nbare loop, {args.amp_steps} steps (warm-up + median of {args.rounds})  samples/s")
    for name, value in precisions.items():
        print(f"{name:<33} {value:>9.1f}   {value / precisions['fp32']:>6.2f}")

    model = fresh()
    flops_by_shape = {}
    for batch in batches:
        shape = tuple(batch["input_ids"].shape)
        if shape not in flops_by_shape:
            flops_by_shape[shape] = training_flops(model, to_device(batch, device))
    timed = batches[1:]  # the clock starts after the first step
    step_flops = sum(flops_by_shape[tuple(b["input_ids"].shape)] for b in timed) / len(timed)
    achieved = step_flops * base / args.batch_size  # FLOP per step x steps per second
    peak = statistics.median(
        matmul_flops_per_s(args.matmul_size, device) for _ in range(args.rounds)
    )
    print(f"\ntraining FLOPs per step {step_flops / 1e9:.1f} GFLOP (matmuls, forward + backward)")
    print(
        f"achieved by (b) {achieved / 1e9:.1f} GFLOP/s · {args.matmul_size}x{args.matmul_size} "
        f"fp32 matmul {peak / 1e9:.1f} GFLOP/s (median of {args.rounds}) · fraction "
        f"{achieved / peak:.2f}"
    )
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
