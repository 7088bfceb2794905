"""The CLIP (symmetric InfoNCE) loss, its multi-positive form, caption-distinct batches.

Row ``i`` of the image embeddings and row ``i`` of the text embeddings describe the same pair.
The loss scores every image against every caption in the batch (cosine similarity divided by
a temperature) and asks each image to pick its own caption, and each caption its own image.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterator, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Sampler


def _check_temperature(temperature: float | torch.Tensor) -> None:
    value = temperature.detach() if isinstance(temperature, torch.Tensor) else temperature
    if isinstance(value, torch.Tensor) and value.numel() != 1:
        raise ValueError(f"temperature must be one number, got a tensor of shape {value.shape}.")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(
            f"temperature must be a positive number (CLIP starts at 0.07), got {value}. "
            "If you hold CLIP's logit_scale, pass temperature=1 / logit_scale.exp()."
        )


def check_pair_batch(image_embeds: torch.Tensor, text_embeds: torch.Tensor) -> None:
    """Raise a clear ``ValueError`` unless both are (batch, dim) with the same non-zero shape."""
    for name, tensor in (("image_embeds", image_embeds), ("text_embeds", text_embeds)):
        if not isinstance(tensor, torch.Tensor) or tensor.ndim != 2:
            shape = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else type(tensor)
            raise ValueError(f"{name} must be a (batch, dim) tensor, got {shape}.")
    if image_embeds.shape[0] != text_embeds.shape[0]:
        raise ValueError(
            f"The batch has {image_embeds.shape[0]} images but {text_embeds.shape[0]} texts: "
            "row i of each must be the same image-caption pair."
        )
    if image_embeds.shape[0] == 0:
        raise ValueError("The batch is empty: the contrastive loss needs at least one pair.")
    if image_embeds.shape[1] != text_embeds.shape[1]:
        raise ValueError(
            f"Image embeddings are {image_embeds.shape[1]}-d but text embeddings are "
            f"{text_embeds.shape[1]}-d: project both into one shared space first."
        )


def similarity_logits(
    image_embeds: torch.Tensor,
    text_embeds: torch.Tensor,
    temperature: float | torch.Tensor = 0.07,
) -> torch.Tensor:
    """Cosine similarity of every image with every text, divided by ``temperature``: (N, N)."""
    check_pair_batch(image_embeds, text_embeds)
    _check_temperature(temperature)
    images = F.normalize(image_embeds, dim=-1)  # (N, D), unit rows
    texts = F.normalize(text_embeds, dim=-1)  # (N, D)
    return images @ texts.T / temperature  # (N, N): row = image, column = text


def clip_loss_from_logits(logits_per_image: torch.Tensor) -> torch.Tensor:
    """Symmetric cross-entropy of an (N, N) image-by-text logit matrix (pairs on the diagonal)."""
    if logits_per_image.ndim != 2 or logits_per_image.shape[0] != logits_per_image.shape[1]:
        raise ValueError(
            f"logits_per_image must be a square (N, N) matrix, got {tuple(logits_per_image.shape)}."
        )
    if logits_per_image.shape[0] == 0:
        raise ValueError("The batch is empty: the contrastive loss needs at least one pair.")
    targets = torch.arange(logits_per_image.shape[0], device=logits_per_image.device)  # (N,)
    image_to_text = F.cross_entropy(logits_per_image, targets)  # each image picks its caption
    text_to_image = F.cross_entropy(logits_per_image.T, targets)  # each caption picks its image
    return (image_to_text + text_to_image) / 2


def clip_loss(
    image_embeds: torch.Tensor,
    text_embeds: torch.Tensor,
    temperature: float | torch.Tensor = 0.07,
) -> torch.Tensor:
    """CLIP's loss: symmetric InfoNCE over the (N, N) cosine-similarity matrix / temperature."""
    return clip_loss_from_logits(similarity_logits(image_embeds, text_embeds, temperature))


def retrieval_accuracy(logits_per_image: torch.Tensor) -> tuple[float, float]:
    """In-batch top-1 accuracy (image→text, text→image) of an (N, N) logit matrix."""
    if logits_per_image.ndim != 2 or logits_per_image.shape[0] != logits_per_image.shape[1]:
        raise ValueError(
            f"logits_per_image must be a square (N, N) matrix, got {tuple(logits_per_image.shape)}."
        )
    if logits_per_image.shape[0] == 0:
        raise ValueError("The batch is empty.")
    targets = torch.arange(logits_per_image.shape[0], device=logits_per_image.device)
    image_to_text = (logits_per_image.argmax(dim=1) == targets).float().mean().item()
    text_to_image = (logits_per_image.argmax(dim=0) == targets).float().mean().item()
    return image_to_text, text_to_image


# --- In-batch false negatives: rows that share a caption --------------------------------------


def positive_mask(captions: Sequence[Hashable]) -> torch.Tensor:
    """(N, N) bool: entry (i, j) is True when rows i and j carry the same caption."""
    if len(captions) == 0:
        raise ValueError("The batch is empty: give at least one caption.")
    ids: dict[Hashable, int] = {}
    codes = torch.tensor([ids.setdefault(caption, len(ids)) for caption in captions])  # (N,)
    return codes.unsqueeze(0) == codes.unsqueeze(1)  # (N, N), diagonal always True


def false_negative_share(captions: Sequence[Hashable]) -> float:
    """Share of the batch's rows whose caption another row shares (their false negatives)."""
    mask = positive_mask(captions)  # (N, N)
    return (mask.sum(dim=1) > 1).float().mean().item()


def false_negative_pair_share(captions: Sequence[Hashable]) -> float:
    """Share of the N·(N-1) off-diagonal "negatives" that in fact pair matching captions."""
    n = len(captions)
    if n < 2:
        return 0.0
    mask = positive_mask(captions)  # (N, N)
    return ((mask.sum() - n) / (n * (n - 1))).item()


def clip_loss_floor(captions: Sequence[Hashable]) -> float:
    """The lowest CLIP loss a batch can reach when each caption has one embedding: mean ln m.

    A caption shared by ``m`` rows gives ``m`` identical columns (and rows) of logits, so the
    right one can get at most probability ``1/m``, whatever the model; distinct captions give 0.
    """
    counts = positive_mask(captions).sum(dim=1).double()  # (N,) rows with the same caption
    return counts.log().mean().item()


def multi_positive_loss_from_logits(
    logits_per_image: torch.Tensor, captions: Sequence[Hashable]
) -> torch.Tensor:
    """Symmetric InfoNCE in which every row with the same caption counts as a positive.

    Each image's loss is ``-log`` of the softmax mass on *all* captions equal to its own
    (MIL-NCE, Miech et al. 2020), and likewise for each caption over the images; with distinct
    captions this is :func:`clip_loss_from_logits` exactly, and its floor is 0 either way.
    """
    if logits_per_image.ndim != 2 or logits_per_image.shape[0] != logits_per_image.shape[1]:
        raise ValueError(
            f"logits_per_image must be a square (N, N) matrix, got {tuple(logits_per_image.shape)}."
        )
    if len(captions) != logits_per_image.shape[0]:
        raise ValueError(
            f"{len(captions)} captions for a {logits_per_image.shape[0]}-row batch: "
            "give one caption per row."
        )
    positives = positive_mask(captions).to(logits_per_image.device)  # (N, N)
    masked = logits_per_image.masked_fill(~positives, float("-inf"))  # (N, N) positives only
    image_to_text = logits_per_image.logsumexp(dim=1) - masked.logsumexp(dim=1)  # (N,)
    text_to_image = logits_per_image.logsumexp(dim=0) - masked.logsumexp(dim=0)  # (N,)
    return (image_to_text.mean() + text_to_image.mean()) / 2


def multi_positive_clip_loss(
    image_embeds: torch.Tensor,
    text_embeds: torch.Tensor,
    captions: Sequence[Hashable],
    temperature: float | torch.Tensor = 0.07,
) -> torch.Tensor:
    """:func:`multi_positive_loss_from_logits` on cosine similarities / ``temperature``."""
    logits = similarity_logits(image_embeds, text_embeds, temperature)  # (N, N)
    return multi_positive_loss_from_logits(logits, captions)


def distinct_caption_batches(
    captions: Sequence[Hashable],
    batch_size: int,
    generator: torch.Generator | None = None,
    drop_last: bool = True,
) -> list[torch.Tensor]:
    """One epoch of shuffled index batches in which no caption appears twice.

    Rows are visited in a random order and each goes into the first open batch that lacks its
    caption; full batches are kept, in a shuffled order. With ``drop_last`` the incomplete
    batches left at the end are dropped (a few rows per epoch, different rows each epoch).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    if len(captions) == 0:
        raise ValueError("No captions: the dataset is empty.")
    distinct = len(set(captions))
    if distinct < batch_size:
        raise ValueError(
            f"Only {distinct} distinct captions: a batch of {batch_size} cannot avoid repeats. "
            "Lower batch_size."
        )
    order = torch.randperm(len(captions), generator=generator).tolist()
    open_batches: list[tuple[list[int], set[Hashable]]] = []
    full: list[list[int]] = []
    for index in order:
        caption = captions[index]
        for rows, seen in open_batches:
            if caption not in seen:
                rows.append(index)
                seen.add(caption)
                break
        else:
            open_batches.append(([index], {caption}))
            rows = open_batches[-1][0]
        if len(rows) == batch_size:
            full.append(rows)
            open_batches = [batch for batch in open_batches if batch[0] is not rows]
    if not drop_last:
        full.extend(rows for rows, _ in open_batches)
    shuffle = torch.randperm(len(full), generator=generator).tolist()
    return [torch.tensor(full[i]) for i in shuffle]


class DistinctCaptionBatchSampler(Sampler[list[int]]):
    """A ``batch_sampler`` for ``DataLoader`` whose batches never repeat a caption.

    Every pass (epoch) draws a new order from the seeded generator; see
    :func:`distinct_caption_batches`.
    """

    def __init__(
        self, captions: Sequence[Hashable], batch_size: int, seed: int = 0, drop_last: bool = True
    ):
        self.captions = list(captions)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.generator = torch.Generator().manual_seed(seed)
        self._next = distinct_caption_batches(self.captions, batch_size, self.generator, drop_last)

    def __iter__(self) -> Iterator[list[int]]:
        batches, self._next = (
            self._next,
            distinct_caption_batches(
                self.captions, self.batch_size, self.generator, self.drop_last
            ),
        )
        return iter([batch.tolist() for batch in batches])

    def __len__(self) -> int:
        return len(self._next)


# --- AdamW for a CLIP: no weight decay on the temperature, norms, biases ----------------------


def clip_param_groups(model: nn.Module, lr: float, weight_decay: float) -> list[dict[str, Any]]:
    """Two AdamW groups: weight matrices decay; ``logit_scale``, norms, biases and vectors don't.

    Decaying ``logit_scale`` would pull the learned temperature towards τ = 1; decaying
    LayerNorm gains and biases pulls them towards 0 for no benefit (notebook 05). Any other
    parameter with fewer than two dimensions (CLIP's ``class_embedding``) is left undecayed too,
    as in OpenCLIP. Frozen parameters are left out. Groups are named for ``describe_groups``.
    """
    from nlpcourse.train.optim import no_decay_names

    if lr <= 0 or weight_decay < 0:
        raise ValueError(f"need lr > 0 and weight_decay >= 0, got {lr} and {weight_decay}.")
    skip = no_decay_names(model)
    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        undecayed = name in skip or parameter.ndim < 2 or name.endswith("logit_scale")
        (no_decay if undecayed else decay).append(parameter)
    if not decay and not no_decay:
        raise ValueError("The model has no trainable parameters (all are frozen).")
    return [
        {"name": "decay", "params": decay, "lr": lr, "weight_decay": weight_decay},
        {"name": "no_decay", "params": no_decay, "lr": lr, "weight_decay": 0.0},
    ]
