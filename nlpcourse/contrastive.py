"""The CLIP (symmetric InfoNCE) loss over a batch of image and text embeddings.

Row ``i`` of the image embeddings and row ``i`` of the text embeddings describe the same pair.
The loss scores every image against every caption in the batch (cosine similarity divided by
a temperature) and asks each image to pick its own caption, and each caption its own image.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


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
