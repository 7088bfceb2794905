"""From texts to padded batches: numericalise, collate with dynamic padding, bucket by length.

A batch is a tuple ``(ids, lengths, labels)``: ``ids`` is ``(batch, time)`` padded with
``pad_id``, ``lengths`` holds each row's real length (on the CPU, as ``pack_padded_sequence``
wants), ``labels`` the class ids. :func:`nlpcourse.train.loop.fit` calls ``model(ids, lengths)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from nlpcourse.config import default_num_workers, get_profile
from nlpcourse.text.tokenize import regex_tokenize, tokenize_all
from nlpcourse.text.vocab import Vocabulary

if TYPE_CHECKING:
    from datasets import DatasetDict

    from nlpcourse.config import Profile

PADDINGS = ("fixed", "dynamic", "bucket")


def numericalize(
    texts: Sequence[str],
    vocab: Vocabulary,
    tokenize: Callable[[str], list[str]] = regex_tokenize,
    max_len: int | None = None,
) -> list[list[int]]:
    """Token ids of every text, truncated to ``max_len``; a text with no token becomes ``[<unk>]``.

    (An empty sequence has no last hidden state, and ``pack_padded_sequence`` rejects length 0.)
    """
    return encode_tokens(tokenize_all(texts, tokenize), vocab, max_len)


def encode_tokens(
    token_lists: Sequence[Sequence[str]], vocab: Vocabulary, max_len: int | None = None
) -> list[list[int]]:
    """Like :func:`numericalize`, for texts that are already tokenised."""
    if max_len is not None and max_len < 1:
        raise ValueError(f"max_len must be at least 1 (or None), got {max_len}.")
    return [vocab.encode(tokens)[:max_len] or [vocab.unk_id] for tokens in token_lists]


class EncodedDataset(Dataset):
    """Token-id sequences with their labels; ``dataset[i]`` is ``(ids, label)``."""

    def __init__(self, ids: Sequence[Sequence[int]], labels: Sequence[int], num_classes: int = 2):
        if len(ids) == 0:
            raise ValueError("The dataset is empty: there are no sequences to batch.")
        if len(ids) != len(labels):
            raise ValueError(f"{len(ids)} sequences but {len(labels)} labels: they must pair up.")
        if num_classes < 1:
            raise ValueError(f"num_classes must be at least 1, got {num_classes}.")
        label_tensor = torch.as_tensor(list(labels))
        if torch.is_floating_point(label_tensor) and not torch.equal(
            label_tensor, label_tensor.round()
        ):
            raise ValueError("Labels must be class ids (integers), got fractional values.")
        label_tensor = label_tensor.long()
        bad = (label_tensor < 0) | (label_tensor >= num_classes)
        if bad.any():
            first = int(bad.nonzero()[0])
            raise ValueError(
                f"Labels must lie in 0..{num_classes - 1} for {num_classes} classes; "
                f"{int(bad.sum())} are outside (first at row {first}: {int(label_tensor[first])}). "
                f"Map the labels to 0-based class ids or set num_classes."
            )
        # one flat tensor and offsets: fast to build for tens of thousands of short texts
        sizes = torch.tensor([len(seq) for seq in ids], dtype=torch.long)
        if (sizes == 0).any():
            raise ValueError("Every sequence needs at least one token (numericalize ensures it).")
        self.flat = torch.tensor(list(chain.from_iterable(ids)), dtype=torch.long)
        self.offsets = torch.cat([torch.zeros(1, dtype=torch.long), sizes.cumsum(0)]).tolist()
        self._lengths: list[int] = sizes.tolist()
        self.labels = label_tensor
        self.num_classes = num_classes

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        start, end = self.offsets[index], self.offsets[index + 1]
        return self.flat[start:end], self.labels[index]

    @property
    def lengths(self) -> list[int]:
        """The length of every sequence, in dataset order."""
        return self._lengths


def pad_sequences(
    sequences: Sequence[Sequence[int] | torch.Tensor],
    pad_id: int = 0,
    fixed_len: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad (after the tokens) to the longest sequence, or cut/pad to ``fixed_len``.

    Returns ``ids`` of shape ``(batch, time)`` and ``lengths`` of shape ``(batch,)``.
    """
    if len(sequences) == 0:
        raise ValueError("Cannot pad an empty batch.")
    if fixed_len is not None and fixed_len < 1:
        raise ValueError(f"fixed_len must be at least 1 (or None), got {fixed_len}.")
    tensors = [torch.as_tensor(seq, dtype=torch.long)[:fixed_len] for seq in sequences]
    lengths = torch.tensor([len(t) for t in tensors], dtype=torch.long)  # (batch,)
    width = fixed_len if fixed_len is not None else int(lengths.max())
    ids = torch.full((len(tensors), width), pad_id, dtype=torch.long)  # (batch, time)
    for row, tensor in enumerate(tensors):
        ids[row, : len(tensor)] = tensor
    return ids, lengths


def padding_mask(lengths: torch.Tensor, max_len: int | None = None) -> torch.Tensor:
    """Boolean ``(batch, time)`` mask: True at real tokens, False at padding."""
    lengths = torch.as_tensor(lengths)
    width = int(lengths.max()) if max_len is None else max_len
    positions = torch.arange(width, device=lengths.device)  # (time,)
    return positions[None, :] < lengths[:, None]  # (batch, time)


class PadCollate:
    """``collate_fn`` turning ``[(ids, label), ...]`` into ``(ids, lengths, labels)``.

    With ``fixed_len`` every batch is cut/padded to that width (Keras-style fixed padding);
    without it each batch is padded only to its own longest sequence (dynamic padding).
    """

    def __init__(self, pad_id: int = 0, fixed_len: int | None = None):
        self.pad_id = pad_id
        self.fixed_len = fixed_len

    def __call__(self, batch: Sequence[tuple[torch.Tensor, torch.Tensor]]):
        """Pad one batch."""
        sequences = [item[0] for item in batch]
        ids, lengths = pad_sequences(sequences, self.pad_id, self.fixed_len)
        labels = torch.stack([torch.as_tensor(item[1]) for item in batch])  # (batch,)
        return ids, lengths, labels


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of indices whose sequences have similar lengths (less padding per batch).

    Each epoch: shuffle the indices, cut them into pools of ``batch_size * pool_batches``,
    sort each pool by length, cut it into batches, then shuffle the order of all batches.
    Every index appears exactly once per epoch. Without ``shuffle`` the whole dataset is sorted
    by length (useful for fast inference; note that the output order then differs from the
    dataset order).
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        shuffle: bool = True,
        seed: int = 42,
        pool_batches: int = 50,
        drop_last: bool = False,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        if pool_batches < 1:
            raise ValueError(f"pool_batches must be at least 1, got {pool_batches}.")
        if len(lengths) == 0:
            raise ValueError("Cannot bucket an empty dataset.")
        self.lengths = torch.as_tensor(list(lengths), dtype=torch.long)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.pool_batches = pool_batches
        self.drop_last = drop_last
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose shuffle the next iteration uses."""
        self.epoch = epoch

    def _batches(self) -> list[list[int]]:
        n = len(self.lengths)
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        if self.shuffle:
            order = torch.randperm(n, generator=generator)
            pool = self.batch_size * self.pool_batches
        else:
            order, pool = torch.arange(n), n
        batches = []
        for start in range(0, n, pool):
            chunk = order[start : start + pool]
            chunk = chunk[torch.argsort(self.lengths[chunk], stable=True)]
            batches += [
                chunk[i : i + self.batch_size] for i in range(0, len(chunk), self.batch_size)
            ]
        if self.drop_last:
            batches = [batch for batch in batches if len(batch) == self.batch_size]
        if self.shuffle:
            batches = [batches[i] for i in torch.randperm(len(batches), generator=generator)]
        return [batch.tolist() for batch in batches]

    def __iter__(self) -> Iterator[list[int]]:
        batches = self._batches()
        self.epoch += 1  # the next epoch gets a different (still seeded) shuffle
        return iter(batches)

    def __len__(self) -> int:
        n = len(self.lengths)
        pool = self.batch_size * self.pool_batches if self.shuffle else n
        full, rest = divmod(n, pool)
        return full * self._batches_in(pool) + self._batches_in(rest)

    def _batches_in(self, size: int) -> int:
        if self.drop_last:
            return size // self.batch_size
        return -(-size // self.batch_size)


def text_loader(
    dataset: EncodedDataset,
    batch_size: int,
    padding: str = "dynamic",
    shuffle: bool = False,
    seed: int = 42,
    pad_id: int = 0,
    fixed_len: int | None = None,
) -> DataLoader:
    """A DataLoader of ``(ids, lengths, labels)``; ``padding`` is fixed, dynamic or bucket."""
    if padding not in PADDINGS:
        raise ValueError(f"padding must be one of {PADDINGS}, got {padding!r}.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    if padding == "fixed" and fixed_len is None:
        raise ValueError("Fixed-length padding needs fixed_len (e.g. the profile's max_len).")
    collate = PadCollate(pad_id, fixed_len if padding == "fixed" else None)
    workers = default_num_workers()
    if padding == "bucket":
        sampler = BucketBatchSampler(dataset.lengths, batch_size, shuffle=shuffle, seed=seed)
        return DataLoader(dataset, batch_sampler=sampler, collate_fn=collate, num_workers=workers)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        collate_fn=collate,
        generator=torch.Generator().manual_seed(seed) if shuffle else None,
        num_workers=workers,
    )


@dataclass
class TextLoaders:
    """What :func:`sst2_loaders` builds: the vocabulary, datasets and loaders."""

    vocab: Vocabulary
    train_loader: DataLoader
    val_loader: DataLoader
    test_loader: DataLoader
    train_set: EncodedDataset
    val_set: EncodedDataset
    test_set: EncodedDataset
    train_texts: list[str]
    val_texts: list[str]
    test_texts: list[str]


def sst2_loaders(
    data: DatasetDict,
    profile: Profile | None = None,
    *,
    batch_size: int | None = None,
    padding: str = "bucket",
    tokenize: Callable[[str], list[str]] = regex_tokenize,
    vocab: Vocabulary | None = None,
    seed: int | None = None,
) -> TextLoaders:
    """``data`` (``sst2_subset``'s three parts) as loaders of ``(ids, lengths, labels)``.

    Sizes come from ``profile.bilstm`` (train subset, vocabulary size, ``max_len``, batch size).
    The vocabulary is built on the training subset unless one is given. The training loader
    shuffles with ``padding`` (``bucket`` by default); the validation and test loaders (see
    ``sst2_subset``) keep their order (so ``predict`` lines up with the labels) with dynamic
    padding, or fixed padding when ``padding="fixed"``.
    """
    if set(data) != {"train", "validation", "test"}:
        raise ValueError(
            f"sst2_loaders needs train / validation / test parts (sst2_subset), got {sorted(data)}."
        )
    profile = profile or get_profile()
    config = profile.bilstm
    seed = profile.seed if seed is None else seed
    batch_size = batch_size or config.batch_size
    train = data["train"][:]  # columns as lists (fast)
    train_tokens = tokenize_all(train["text"], tokenize)
    if vocab is None:
        vocab = Vocabulary.build(train_tokens, max_size=config.vocab_size, min_freq=1)
    num_classes = data["train"].features["label"].num_classes
    train_ids = encode_tokens(train_tokens, vocab, config.max_len)
    train_set = EncodedDataset(train_ids, train["label"], num_classes)
    fixed = config.max_len if padding == "fixed" else None
    train_loader = text_loader(
        train_set,
        batch_size,
        padding,
        shuffle=True,
        seed=seed,
        pad_id=vocab.pad_id,
        fixed_len=fixed,
    )
    held_out = {}  # validation and test keep their order, so predict() lines up with labels
    for part in ("validation", "test"):
        rows = data[part][:]
        ids = numericalize(rows["text"], vocab, tokenize, config.max_len)
        encoded = EncodedDataset(ids, rows["label"], num_classes)
        loader = text_loader(
            encoded,
            batch_size,
            "fixed" if padding == "fixed" else "dynamic",
            pad_id=vocab.pad_id,
            fixed_len=fixed,
        )
        held_out[part] = (loader, encoded, rows["text"])
    (val_loader, val_set, val_texts), (test_loader, test_set, test_texts) = held_out.values()
    return TextLoaders(
        vocab,
        train_loader,
        val_loader,
        test_loader,
        train_set,
        val_set,
        test_set,
        train["text"],
        val_texts,
        test_texts,
    )
