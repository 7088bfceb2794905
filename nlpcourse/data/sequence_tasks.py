"""Synthetic sequence tasks whose solution is an alignment attention must find (notebook 04).

Each task maps a sequence of random tokens to a target sequence of the same length; output
position ``i`` is a copy of input position ``source[i]``, so a head that has learned the task
puts its weight on that position. Token 0 is never drawn (it stays free for padding).
"""

from __future__ import annotations

import torch

TASKS = ("copy", "reverse", "sort")


def _check(kind: str, n: int, length: int, vocab_size: int) -> None:
    if kind not in TASKS:
        raise ValueError(f"kind must be one of {TASKS}, got {kind!r}.")
    if n < 1 or length < 1:
        raise ValueError(f"n and length must be positive, got n={n}, length={length}.")
    if vocab_size < 2:
        raise ValueError(f"vocab_size must be at least 2 (id 0 is padding), got {vocab_size}.")


def source_positions(kind: str, inputs: torch.Tensor) -> torch.Tensor:
    """(n, L) input ids → (n, L): the input position each output position copies."""
    if kind not in TASKS:
        raise ValueError(f"kind must be one of {TASKS}, got {kind!r}.")
    if inputs.ndim != 2:
        raise ValueError(f"inputs must be (n, length), got {tuple(inputs.shape)}.")
    n, length = inputs.shape
    positions = torch.arange(length).expand(n, length)  # (n, L)
    if kind == "copy":
        return positions.clone()
    if kind == "reverse":
        return positions.flip(-1)
    return torch.argsort(inputs, dim=-1, stable=True)  # sort: output i is the i-th smallest


def sequence_task(
    kind: str, n: int, length: int, vocab_size: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` random sequences of ids 1..vocab_size-1 and their targets under ``kind``.

    ``copy`` repeats the input, ``reverse`` flips it, ``sort`` sorts it; both come back as
    (n, length) long tensors, the same for the same seed.
    """
    _check(kind, n, length, vocab_size)
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randint(1, vocab_size, (n, length), generator=generator)  # (n, L)
    targets = inputs.gather(1, source_positions(kind, inputs))  # (n, L)
    return inputs, targets


def weight_on_source(weights: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
    """Per head, the mean attention weight a query puts on the position it must copy.

    ``weights`` is (n, heads, L, L) self-attention, ``source`` (n, L) from
    :func:`source_positions`; returns (heads,). Uniform attention gives 1 / L.
    """
    if (
        weights.ndim != 4
        or weights.shape[0] != source.shape[0]
        or weights.shape[-1] != source.shape[-1]
    ):
        raise ValueError(
            f"weights must be (n, heads, L, L) and source (n, L); got {tuple(weights.shape)} "
            f"and {tuple(source.shape)}."
        )
    index = source[:, None, :, None].expand(-1, weights.shape[1], -1, 1)  # (n, H, L, 1)
    return weights.gather(-1, index.to(weights.device)).squeeze(-1).mean((0, 2))  # (H,)
