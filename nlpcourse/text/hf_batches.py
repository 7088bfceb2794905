"""Tokenise a text-classification dataset and batch it with dynamic padding (Hugging Face)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch
from datasets import Dataset
from torch.utils.data import DataLoader, Sampler
from transformers import DataCollatorWithPadding

from nlpcourse.config import default_num_workers
from nlpcourse.data.quiet import hf_quiet


def tokenize_dataset(dataset: Dataset, tokenizer: Any, max_len: int) -> Dataset:
    """Tokenise ``dataset['text']`` (truncated to ``max_len``, not padded); keep ``labels``."""
    if len(dataset) == 0:
        raise ValueError("Cannot tokenise an empty dataset: check the split and subset sizes.")
    if max_len < 2:
        raise ValueError(f"max_len must leave room for [CLS] and [SEP]; got {max_len}.")
    missing = {"text", "label"} - set(dataset.column_names)
    if missing:
        raise ValueError(f"The dataset needs 'text' and 'label' columns; missing {missing}.")

    def encode(batch: dict) -> dict:
        return tokenizer(batch["text"], truncation=True, max_length=max_len)

    with hf_quiet():  # no "Map:" bar in the notebooks
        encoded = dataset.map(encode, batched=True, remove_columns=["text"])
    return encoded.rename_column("label", "labels")


def make_loader(
    tokenized: Dataset,
    tokenizer: Any,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 42,
    sampler: Sampler | None = None,
) -> DataLoader:
    """A DataLoader that pads each batch only to its own longest sequence.

    ``sampler`` (instead of ``shuffle``) picks the rows, e.g. a ``RandomSampler`` that draws a
    fixed number of them.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    if sampler is not None and shuffle:
        raise ValueError("give either shuffle=True or a sampler, not both.")
    columns = ("input_ids", "attention_mask", "token_type_ids", "labels")
    tokenized = tokenized.with_format(columns=[c for c in columns if c in tokenized.column_names])
    return DataLoader(
        tokenized,
        batch_size=batch_size,
        shuffle=shuffle,
        sampler=sampler,
        collate_fn=DataCollatorWithPadding(tokenizer, return_tensors="pt"),
        generator=torch.Generator().manual_seed(seed) if shuffle else None,
        num_workers=default_num_workers(),
    )


def check_num_labels(model_num_labels: int, dataset: Dataset) -> None:
    """Raise a clear error when a model's head size does not match the dataset's classes."""
    names = dataset.features["label"].names if hasattr(dataset.features["label"], "names") else []
    n_classes = len(names) or len(set(dataset["label"]))
    if model_num_labels != n_classes:
        raise ValueError(
            f"The model has num_labels={model_num_labels} but the data has {n_classes} classes "
            f"({', '.join(names)}). Load it with num_labels={n_classes}."
        )


def tokenized_batches(
    texts: Sequence[str], tokenizer: Any, batch_size: int, max_len: int, device: torch.device
) -> Iterator[Any]:
    """Tokenise ``texts`` ``batch_size`` at a time (padded, truncated), each batch on ``device``."""
    for start in range(0, len(texts), batch_size):
        yield tokenizer(
            list(texts[start : start + batch_size]),
            padding=True,
            truncation=True,
            max_length=max_len,
            return_tensors="pt",
        ).to(device)
