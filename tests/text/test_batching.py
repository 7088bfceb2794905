import dataclasses

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nlpcourse.config import get_profile
from nlpcourse.data.splits import sst2_subset
from nlpcourse.text.batching import (
    BucketBatchSampler,
    EncodedDataset,
    PadCollate,
    numericalize,
    pad_sequences,
    padding_mask,
    sst2_loaders,
    text_loader,
)
from nlpcourse.text.vocab import Vocabulary
from tests.conftest import needs_real_data

TEXTS = ["a good film", "a bad film", "good", "a very very bad and long film"]


@pytest.fixture
def vocab():
    return Vocabulary.build([text.split() for text in TEXTS])


def test_numericalize_truncates_and_maps_unknowns(vocab):
    ids = numericalize(["A good zebra film", "", "bad"], vocab, max_len=3)
    assert ids[0] == [vocab["a"], vocab["good"], vocab.unk_id]
    assert ids[1] == [vocab.unk_id]  # an empty text still has one token
    assert ids[2] == [vocab["bad"]]
    with pytest.raises(ValueError, match="empty"):
        numericalize([], vocab)
    with pytest.raises(ValueError, match="max_len"):
        numericalize(TEXTS, vocab, max_len=0)


def test_pad_sequences_dynamic_and_fixed():
    ids, lengths = pad_sequences([[5, 6, 7], [8]], pad_id=0)
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0]]
    assert lengths.tolist() == [3, 1]
    ids, lengths = pad_sequences([[5, 6, 7], [8]], pad_id=0, fixed_len=2)
    assert ids.tolist() == [[5, 6], [8, 0]]
    assert lengths.tolist() == [2, 1]
    ids, _ = pad_sequences([[5], [8]], pad_id=9, fixed_len=4)
    assert ids.tolist() == [[5, 9, 9, 9], [8, 9, 9, 9]]
    with pytest.raises(ValueError, match="empty batch"):
        pad_sequences([])


def test_collate_returns_ids_lengths_labels_and_mask_matches_padding(vocab):
    data = EncodedDataset(numericalize(TEXTS, vocab), [1, 0, 1, 0])
    ids, lengths, labels = PadCollate(vocab.pad_id)([data[i] for i in range(4)])
    assert ids.shape == (4, 7)
    assert lengths.tolist() == [3, 3, 1, 7]
    assert labels.tolist() == [1, 0, 1, 0]
    mask = padding_mask(lengths)
    assert mask.shape == ids.shape
    assert torch.equal(mask, ids != vocab.pad_id)
    assert mask.sum(dim=1).tolist() == lengths.tolist()
    assert padding_mask(torch.tensor([1, 2]), max_len=4).tolist() == [
        [True, False, False, False],
        [True, True, False, False],
    ]


def test_dataset_rejects_bad_labels_and_empty_inputs(vocab):
    ids = numericalize(TEXTS, vocab)
    with pytest.raises(ValueError, match=r"Labels must lie in 0\.\.1"):
        EncodedDataset(ids, [0, 1, 2, 0])
    with pytest.raises(ValueError, match="outside"):
        EncodedDataset(ids, [0, -1, 1, 0])
    with pytest.raises(ValueError, match="integers"):
        EncodedDataset(ids, [0, 0.5, 1, 0])
    with pytest.raises(ValueError, match="must pair up"):
        EncodedDataset(ids, [0, 1])
    with pytest.raises(ValueError, match="empty"):
        EncodedDataset([], [])
    assert len(EncodedDataset(ids, [0, 1, 2, 3], num_classes=4)) == 4


@settings(max_examples=40, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 60), min_size=1, max_size=300),
    batch_size=st.integers(1, 17),
    pool_batches=st.integers(1, 5),
    shuffle=st.booleans(),
)
def test_bucket_sampler_yields_every_index_once_per_epoch(
    lengths, batch_size, pool_batches, shuffle
):
    sampler = BucketBatchSampler(lengths, batch_size, shuffle=shuffle, pool_batches=pool_batches)
    for _ in range(2):  # two epochs
        batches = list(sampler)
        assert len(batches) == len(sampler)
        assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
        assert all(1 <= len(batch) <= batch_size for batch in batches)


def test_bucket_sampler_drop_last_and_epochs_differ():
    lengths = list(range(1, 101))
    sampler = BucketBatchSampler(lengths, 8, pool_batches=3, drop_last=True)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 12  # 100 = 4 pools of 24 (3 batches) + 4 left over
    assert all(len(batch) == 8 for batch in batches)
    assert list(sampler) != batches  # the next epoch reshuffles
    sampler.set_epoch(0)
    assert list(sampler) == batches  # ... deterministically


def test_bucket_batches_have_similar_lengths():
    generator = torch.Generator().manual_seed(0)
    lengths = torch.randint(1, 60, (2_000,), generator=generator).tolist()
    sampler = BucketBatchSampler(lengths, 32, seed=0)

    def mean_spread(batches):
        spreads = [max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches]
        return sum(spreads) / len(spreads)

    random_batches = torch.randperm(2_000, generator=generator).split(32)
    assert mean_spread(list(sampler)) < 0.1 * mean_spread([b.tolist() for b in random_batches])
    ordered = list(BucketBatchSampler(lengths, 32, shuffle=False))
    assert [lengths[b[0]] for b in ordered] == sorted(lengths[b[0]] for b in ordered)


def test_bucket_sampler_bad_arguments():
    with pytest.raises(ValueError, match="batch_size"):
        BucketBatchSampler([1, 2], 0)
    with pytest.raises(ValueError, match="empty"):
        BucketBatchSampler([], 4)


@pytest.mark.parametrize("padding", ["fixed", "dynamic", "bucket"])
def test_text_loader_paddings(vocab, padding):
    data = EncodedDataset(numericalize(TEXTS * 5, vocab), [0, 1, 1, 0] * 5)
    loader = text_loader(data, 4, padding, shuffle=True, fixed_len=5)
    seen = 0
    for ids, lengths, labels in loader:
        assert ids.shape[0] == lengths.shape[0] == labels.shape[0]
        assert ids.shape[1] == (5 if padding == "fixed" else int(lengths.max()))
        seen += len(labels)
    assert seen == 20
    assert len(loader) == 5


def test_text_loader_bad_arguments(vocab):
    data = EncodedDataset(numericalize(TEXTS, vocab), [0, 1, 1, 0])
    with pytest.raises(ValueError, match="padding must be one of"):
        text_loader(data, 2, "ragged")
    with pytest.raises(ValueError, match="fixed_len"):
        text_loader(data, 2, "fixed")


def test_sst2_loaders_on_the_fixture_data(data_dir):
    profile = get_profile("quick")
    profile = dataclasses.replace(
        profile, bilstm=dataclasses.replace(profile.bilstm, train_size=2, batch_size=2)
    )
    data = sst2_loaders(sst2_subset(profile), profile)
    assert data.vocab.itos[:2] == ["<pad>", "<unk>"]
    assert (len(data.train_set), len(data.val_set), len(data.test_set)) == (2, 2, 2)
    ids, lengths, labels = next(iter(data.val_loader))
    assert ids.shape == (2, 1) and lengths.tolist() == [1, 1] and sorted(labels.tolist()) == [0, 1]
    assert not set(data.val_texts) & set(data.test_texts)  # validation and test are disjoint
    again = sst2_loaders(sst2_subset(profile), profile)
    assert again.train_texts == data.train_texts  # the same seeded subset every time
    assert again.test_texts == data.test_texts


@needs_real_data
def test_sst2_loaders_real_subset_sizes():
    profile = get_profile("quick")
    data = sst2_loaders(sst2_subset(profile), profile)
    assert (len(data.val_set), len(data.test_set)) == (436, 436)
    assert len(data.train_set) == (profile.bilstm.train_size or 67_349)
    assert len(data.vocab) == profile.bilstm.vocab_size


def test_sst2_loaders_refuse_data_without_three_parts(data_dir):
    from datasets import DatasetDict

    parts = sst2_subset(get_profile("quick"))
    with pytest.raises(ValueError, match="train / validation / test"):
        sst2_loaders(DatasetDict({"train": parts["train"]}))
