"""Notebook 05's fine-tuning strategies, trained by one function for the live run and its record.

The notebook trains each strategy once at the article's rates (``quick``); ``python -m nlpcourse
record 05`` calls :func:`run_experiment` with the ``standard`` sizes: a rate swept per strategy
on validation rows, several seeds, every run for several epochs. Its record's code hash covers
this module (and the LoRA helpers), so a change here makes the committed record stale.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from nlpcourse.config import FinetuneConfig, Profile, get_device, seed_everything
from nlpcourse.models.heads import EncoderClassifier
from nlpcourse.models.lora import add_lora, lora_parameters
from nlpcourse.train.loop import History, fit, predict
from nlpcourse.train.optim import bert_freeze_prefixes, freeze, make_scheduler, param_groups

NOTEBOOK = "05_finetuning_strategies"
CODE_MODULES = ("nlpcourse.train.strategies", "nlpcourse.models.lora")
REFERENCE = "warmup + decay"


@dataclass(frozen=True)
class Strategy:
    """One fine-tuning recipe: what it changes, and the run it is compared with."""

    against: str | None = None  # the counterpart that differs from it in one thing
    warmup: bool = False  # linear warmup over cfg.warmup_ratio of the steps
    decay: bool = False  # linear decay to 0 at the last step
    same_rate: bool = False  # the head learns at the body's rate (one rate for everything)
    layer_decay: bool = False  # cfg.layer_decay per layer, rescaled to the same mean rate
    pooling: str = "mean"
    freeze: bool = False  # embeddings and the lowest cfg.freeze_layers layers frozen
    lora: bool = False  # body frozen, LoRA adapters on query and value, head trainable


STRATEGIES: dict[str, Strategy] = {
    "single LR": Strategy(against="differential LR", same_rate=True),
    "differential LR": Strategy(),
    "warmup only": Strategy(against="differential LR", warmup=True),
    "decay only": Strategy(against="differential LR", decay=True),
    REFERENCE: Strategy(against="differential LR", warmup=True, decay=True),
    "layer-wise decay": Strategy(against=REFERENCE, warmup=True, decay=True, layer_decay=True),
    "[CLS] pooling": Strategy(against=REFERENCE, warmup=True, decay=True, pooling="cls"),
    "freezing": Strategy(against=REFERENCE, warmup=True, decay=True, freeze=True),
    "LoRA": Strategy(against=REFERENCE, warmup=True, decay=True, lora=True),
}


def equal_mean_scale(layer_decay: float, num_layers: int) -> float:
    """Factor on ``body_lr`` that keeps the mean rate over the body's depths at ``body_lr``.

    With layer-wise decay the ``num_layers + 1`` depths (embeddings and layers) get
    ``body_lr · layer_decay^k`` for k = 1 … num_layers + 1, so their mean is below ``body_lr``.
    """
    depths = range(1, num_layers + 2)
    return (num_layers + 1) / sum(layer_decay**k for k in depths)


def build_model(
    body: nn.Module, num_labels: int, strategy: Strategy, cfg: FinetuneConfig, seed: int
) -> nn.Module:
    """A fresh classifier on a copy of ``body``, frozen or wrapped in LoRA as ``strategy`` says."""
    seed_everything(seed)  # head initialisation, LoRA's A matrices, dropout
    model = EncoderClassifier(copy.deepcopy(body), num_labels, pooling=strategy.pooling)
    if strategy.freeze:
        freeze(model, bert_freeze_prefixes("bert", layers=cfg.freeze_layers))
    if strategy.lora:
        model = add_lora(model, rank=cfg.lora_rank, alpha=cfg.lora_alpha)
    return model


def make_optimizer(
    model: nn.Module, strategy: Strategy, lr: float, cfg: FinetuneConfig
) -> torch.optim.AdamW:
    """AdamW with the strategy's groups; ``lr`` is the body's (mean) rate, or LoRA's rate."""
    if strategy.lora:
        head = list(model.get_base_model().head.parameters())
        groups = [
            {"name": "head", "params": head, "lr": cfg.head_lr, "weight_decay": 0.0},
            {"name": "lora", "params": lora_parameters(model), "lr": lr, "weight_decay": 0.0},
        ]
        return torch.optim.AdamW(groups)
    body_lr = lr
    if strategy.layer_decay:
        body_lr = lr * equal_mean_scale(cfg.layer_decay, model.bert.config.num_hidden_layers)
    groups = param_groups(
        model,
        body_lr,
        lr if strategy.same_rate else cfg.head_lr,
        head=("head",),
        weight_decay=cfg.weight_decay,
        layer_decay=cfg.layer_decay if strategy.layer_decay else None,
    )
    groups.sort(key=lambda g: not g["name"].startswith("head"))  # head first: its rate is drawn
    return torch.optim.AdamW(groups)


def make_schedule(
    optimizer: torch.optim.Optimizer, strategy: Strategy, total_steps: int, cfg: FinetuneConfig
) -> Any | None:
    """Warmup and/or linear decay over ``total_steps``, or None for a constant rate."""
    warmup = max(1, round(total_steps * cfg.warmup_ratio)) if strategy.warmup else 0
    if strategy.warmup and strategy.decay:
        return make_scheduler(optimizer, "linear", warmup, total_steps)
    if strategy.warmup:
        return make_scheduler(optimizer, "constant", warmup, total_steps)
    if strategy.decay:
        return make_scheduler(optimizer, "linear", 0, total_steps)
    return None


def train_strategy(
    body: nn.Module,
    strategy: Strategy,
    train_batches: Iterable,
    *,
    num_labels: int,
    lr: float,
    cfg: FinetuneConfig,
    seed: int,
    epochs: int,
    val_loader: Iterable | None = None,
    device: torch.device | None = None,
) -> tuple[nn.Module, History]:
    """Train one strategy from the pretrained ``body`` on ``train_batches``; model and history."""
    model = build_model(body, num_labels, strategy, cfg, seed).to(device or get_device())
    optimizer = make_optimizer(model, strategy, lr, cfg)
    total = epochs * len(train_batches)  # type: ignore[arg-type]
    scheduler = make_schedule(optimizer, strategy, total, cfg)
    history = fit(
        model,
        train_batches,
        val_loader,
        epochs=epochs,
        optimizer=optimizer,
        scheduler=scheduler,
        device=device,
        progress=False,
    )
    return model, history


def trainable_parameters(model: nn.Module) -> int:
    """How many parameters receive gradients."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def rate_grid(strategy: Strategy, cfg: FinetuneConfig) -> tuple[float, ...]:
    """The rates a strategy is swept over (LoRA has its own grid), or its one default rate."""
    if strategy.lora:
        return cfg.lora_lr_grid or (cfg.lora_lr,)
    return cfg.lr_grid or (cfg.body_lr,)


def sizes(profile: Profile) -> dict[str, Any]:
    """What the record states about its size: checkpoint, seed and notebook 05's config."""
    return {"checkpoint": profile.bert, "seed": profile.seed, "finetune": asdict(profile.finetune)}


def run_experiment(profile: Profile, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Every strategy, its rate swept on tuning rows, ``cfg.seeds`` seeds scored on the rest.

    Returns the record's figures: per strategy the chosen rate, the sweep's tuning-row loss
    and accuracy per rate (final, and the loss per epoch), the chosen run's per-epoch
    tuning-row loss, the scoring rows' accuracy and predictions per seed, its per-step
    training loss (seed 0) and trainable parameters; plus the scoring labels.
    """
    from transformers import AutoTokenizer, BertModel
    from transformers.utils import logging as hf_logging

    from nlpcourse.data.checkpoints import load_pretrained
    from nlpcourse.data.splits import ag_news_three_way, stratified_split, stratified_subset
    from nlpcourse.text.hf_batches import make_loader, tokenize_dataset

    hf_logging.disable_progress_bar()
    cfg, device = profile.finetune, get_device()
    ag = ag_news_three_way(
        use_official_train=profile.agnews.use_official_train,
        test_size=profile.agnews.test_size,
        val_size=profile.agnews.val_size,
        seed=profile.seed,
    )
    train_rows = stratified_subset(ag["train"], cfg.train_size, profile.seed)
    val_rows = stratified_subset(ag["validation"], cfg.val_size, profile.seed)
    halves = stratified_split(val_rows, cfg.tune_size / len(val_rows), profile.seed)
    tune_rows, score_rows = halves["test"], halves["train"]
    num_labels = ag["train"].features["label"].num_classes
    tokenizer = load_pretrained(AutoTokenizer, profile.bert)
    body = load_pretrained(BertModel, profile.bert)
    body.pooler = None  # [CLS] and mean pooling never read it
    train_tok = tokenize_dataset(train_rows, tokenizer, cfg.max_len)
    tune_loader = make_loader(tokenize_dataset(tune_rows, tokenizer, cfg.max_len), tokenizer, 128)
    score_loader = make_loader(
        tokenize_dataset(score_rows, tokenizer, cfg.max_len), tokenizer, cfg.eval_batch_size
    )
    seeds = [profile.seed + i for i in range(cfg.seeds)]

    def batches(seed: int) -> Iterable:
        """The seed's batch order, the same for every strategy (a fresh shuffle each epoch)."""
        return make_loader(train_tok, tokenizer, cfg.batch_size, shuffle=True, seed=seed)

    def score(model: nn.Module) -> str:
        return "".join(map(str, predict(model, score_loader, device=device).argmax(-1).tolist()))

    runs_total = sum(len(rate_grid(s, cfg)) + cfg.seeds - 1 for s in STRATEGIES.values())
    runs_done, start = 0, time.perf_counter()

    def progress(what: str) -> None:
        nonlocal runs_done
        runs_done += 1
        elapsed = time.perf_counter() - start
        eta = elapsed / runs_done * (runs_total - runs_done)
        log(
            f"[{runs_done}/{runs_total}] {what} · {elapsed / 60:.1f} min elapsed, "
            f"about {eta / 60:.0f} min left · load {os.getloadavg()[0]:.1f}"
        )

    results: dict[str, Any] = {}
    for name, strategy in STRATEGIES.items():
        run_start = time.perf_counter()
        sweep, best = {}, None
        for lr in rate_grid(strategy, cfg):
            model, history = train_strategy(
                body,
                strategy,
                batches(seeds[0]),
                num_labels=num_labels,
                lr=lr,
                cfg=cfg,
                seed=seeds[0],
                epochs=cfg.epochs,
                val_loader=tune_loader,
                device=device,
            )
            curve = list(history.history["val_loss"])
            sweep[f"{lr:g}"] = {
                "val_loss": curve[-1],
                "val_accuracy": history.last("val_accuracy"),
                "val_loss_by_epoch": curve,
            }
            if best is None or curve[-1] < best[2][-1]:
                best = (lr, model, curve, [round(row["loss"], 4) for row in history.steps])
            progress(f"{name} at rate {lr:g}: tuning loss {curve[-1]:.3f}")
        chosen, model, curve, step_losses = best
        predictions = [score(model)]
        parameters = trainable_parameters(model)
        del model
        for seed in seeds[1:]:
            model, _ = train_strategy(
                body,
                strategy,
                batches(seed),
                num_labels=num_labels,
                lr=chosen,
                cfg=cfg,
                seed=seed,
                epochs=cfg.epochs,
                device=device,
            )
            predictions.append(score(model))
            del model
            progress(f"{name}, seed {seed}")
        labels = score_rows["label"]
        results[name] = {
            "strategy": asdict(strategy),
            "rate": chosen,
            "sweep": sweep,
            "tuning_loss_by_epoch": curve,
            "train_loss_by_step": step_losses,
            "trainable_parameters": parameters,
            "accuracy_by_seed": [
                sum(int(p) == y for p, y in zip(pred, labels, strict=True)) / len(labels)
                for pred in predictions
            ],
            "predictions_by_seed": predictions,
            "minutes": (time.perf_counter() - run_start) / 60,
        }
    return {
        "seeds": seeds,
        "reference": REFERENCE,
        "rows": {"train": len(train_rows), "tune": len(tune_rows), "score": len(score_rows)},
        "steps_per_run": cfg.epochs * len(batches(seeds[0])),
        "score_labels": "".join(map(str, score_rows["label"])),
        "strategies": results,
    }
