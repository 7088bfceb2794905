"""Training a small ``CLIPModel`` on pre-encoded pairs, with per-step logs (notebook 07).

The loop is notebook 07's, made a function so that two variants — random batches with the
standard loss, or batches with distinct captions, or the multi-positive loss — can be trained
on the same data and budget and compared. Each step logs the loss, learning rates, gradient
norm, the learned scale ``1/τ`` and the batch's share of in-batch false negatives.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from tqdm.auto import tqdm

from nlpcourse.train import contrastive
from nlpcourse.train.loop import History

PAIR_KEYS = ("input_ids", "attention_mask", "pixel_values")


def epoch_batches(
    captions: Sequence[str], batch_size: int, generator: torch.Generator, distinct: bool
) -> list[torch.Tensor]:
    """One epoch of index batches: a shuffled split (last partial batch dropped) or distinct."""
    if distinct:
        return contrastive.distinct_caption_batches(captions, batch_size, generator)
    order = torch.randperm(len(captions), generator=generator)  # (n,)
    return [order[s : s + batch_size] for s in range(0, len(captions) - batch_size + 1, batch_size)]


def train_clip(
    model: Any,
    inputs: Mapping[str, torch.Tensor],
    captions: Sequence[str],
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int,
    batch_size: int,
    scheduler: Any | None = None,
    multi_positive: bool = False,
    distinct_batches: bool = False,
    max_logit_scale: float = 100.0,
    seed: int = 0,
    threads: int | None = 1,
    progress: bool = True,
) -> History:
    """Train ``model`` (a ``CLIPModel``) on the encoded pairs; return per-step and epoch logs.

    ``inputs`` holds ``input_ids``, ``attention_mask`` and ``pixel_values`` for every pair and
    ``captions`` the caption strings (to find rows sharing one). The loss is CLIP's symmetric
    InfoNCE at the model's own ``logit_scale``, or the multi-positive form; CLIP's clamp keeps
    ``1/τ <= max_logit_scale``. An epoch has at most ``len(captions) // batch_size`` steps (a
    scheduler sized for that many is never overrun). ``threads=1`` suits tiny models on a busy
    CPU; the previous setting is restored.
    """
    missing = [key for key in PAIR_KEYS if key not in inputs]
    if missing:
        raise ValueError(f"inputs lack {missing}: encode the pairs with the CLIPProcessor.")
    if len(inputs["input_ids"]) != len(captions):
        raise ValueError(f"{len(inputs['input_ids'])} encoded pairs but {len(captions)} captions.")
    if epochs < 1 or batch_size < 2:
        raise ValueError(f"need epochs >= 1 and batch_size >= 2, got {epochs}, {batch_size}.")
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    per_epoch = len(captions) // batch_size
    history = History()
    previous_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        model.train()
        bar = tqdm(total=epochs * per_epoch, desc="training", disable=not progress)
        for epoch in range(epochs):
            start, total, seen = time.perf_counter(), 0.0, 0
            batches = epoch_batches(captions, batch_size, generator, distinct_batches)[:per_epoch]
            for number, index in enumerate(batches):
                batch_captions = [captions[i] for i in index.tolist()]
                outputs = model(**{key: inputs[key][index].to(device) for key in PAIR_KEYS})
                scale = model.logit_scale.exp()  # () 1/τ
                logits = scale * outputs.image_embeds @ outputs.text_embeds.T  # (B, B)
                if multi_positive:
                    loss = contrastive.multi_positive_loss_from_logits(logits, batch_captions)
                else:
                    loss = contrastive.clip_loss_from_logits(logits)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), math.inf)
                rates = [group["lr"] for group in optimizer.param_groups]
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                with torch.no_grad():  # CLIP's clamp: the scale 1/τ never exceeds the maximum
                    model.logit_scale.clamp_(max=math.log(max_logit_scale))
                history.steps.append(
                    {
                        "step": len(history.steps) + 1,
                        "epoch": epoch + (number + 1) / len(batches),
                        "loss": loss.item(),
                        "lr": rates,
                        "grad_norm": float(grad_norm),
                        "logit_scale": model.logit_scale.exp().item(),
                        "false_negatives": contrastive.false_negative_share(batch_captions),
                        "loss_floor": contrastive.clip_loss_floor(batch_captions),
                    }
                )
                total += loss.item() * len(index)
                seen += len(index)
                bar.update()
                bar.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.3f}", refresh=False)
            elapsed = time.perf_counter() - start
            history.log(loss=total / seen, epoch_time=elapsed, samples_per_s=seen / elapsed)
        bar.close()
    finally:
        torch.set_num_threads(previous_threads)
        model.eval()
    history.best_epoch = history.epochs - 1
    return history
