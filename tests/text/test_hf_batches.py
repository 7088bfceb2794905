import pytest
import torch
from datasets import ClassLabel, Dataset, Features, Value

from nlpcourse.models.pooling import cls_pool, encode, mean_pool
from nlpcourse.text.hf_batches import check_num_labels, make_loader, tokenize_dataset
from tests.conftest import needs_hub_cache
from tests.tiny_bert import tiny_tokenizer

MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def tiny_dataset(texts=("a short one", "a much longer sentence with many more words in it")):
    features = Features({"text": Value("string"), "label": ClassLabel(names=["a", "b", "c"])})
    return Dataset.from_dict({"text": list(texts), "label": [0, 2]}, features=features)


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(MINILM)


def test_mean_pool_ignores_padding():
    hidden = torch.tensor([[[1.0, 1.0], [3.0, 3.0], [100.0, 100.0]]])  # (1, 3, 2)
    mask = torch.tensor([[1, 1, 0]])
    assert torch.equal(mean_pool(hidden, mask), torch.tensor([[2.0, 2.0]]))
    assert torch.equal(cls_pool(hidden), torch.tensor([[1.0, 1.0]]))


def test_mean_pool_all_padding_row_is_zero_not_nan():
    pooled = mean_pool(torch.ones(1, 2, 3), torch.zeros(1, 2, dtype=torch.long))
    assert torch.equal(pooled, torch.zeros(1, 3))


def test_mean_pool_shape_errors():
    with pytest.raises(ValueError, match="does not match"):
        mean_pool(torch.ones(2, 3, 4), torch.ones(2, 4))
    with pytest.raises(ValueError, match="expected"):
        mean_pool(torch.ones(3, 4), torch.ones(3, 4))


def test_check_num_labels():
    check_num_labels(3, tiny_dataset())
    with pytest.raises(ValueError, match="num_labels=2 but the data has 3 classes"):
        check_num_labels(2, tiny_dataset())


@needs_hub_cache
def test_tokenize_truncates_and_loader_pads_dynamically(tokenizer):
    tokenized = tokenize_dataset(tiny_dataset(), tokenizer, max_len=8)
    assert "labels" in tokenized.column_names and "text" not in tokenized.column_names
    lengths = [len(ids) for ids in tokenized["input_ids"]]
    assert lengths[1] == 8 and lengths[0] < 8  # truncated, not padded
    batch = next(iter(make_loader(tokenized, tokenizer, batch_size=2)))
    assert batch["input_ids"].shape == (2, 8)  # padded to the longest in the batch
    assert batch["attention_mask"][0].sum().item() == lengths[0]
    assert batch["labels"].tolist() == [0, 2]
    short = next(iter(make_loader(tokenized.select([0]), tokenizer, batch_size=1)))
    assert short["input_ids"].shape == (1, lengths[0])


@needs_hub_cache
def test_bad_tokenize_inputs(tokenizer):
    with pytest.raises(ValueError, match="empty dataset"):
        tokenize_dataset(tiny_dataset().select([]), tokenizer, 8)
    with pytest.raises(ValueError, match="max_len"):
        tokenize_dataset(tiny_dataset(), tokenizer, 1)
    with pytest.raises(ValueError, match="batch_size"):
        make_loader(tokenize_dataset(tiny_dataset(), tokenizer, 8), tokenizer, 0)


@needs_hub_cache
def test_encode_matches_manual_mean_pooling(tokenizer):
    from transformers import AutoModel

    model = AutoModel.from_pretrained(MINILM)
    texts = ["the cat sat", "stock markets fell sharply on friday"]
    embeddings = encode(texts, model, tokenizer, batch_size=1, normalize=False)
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    expected = mean_pool(hidden, batch["attention_mask"])
    assert embeddings.shape == (2, 384)
    assert torch.allclose(embeddings, expected, atol=1e-5)  # padding does not change the mean
    with pytest.raises(ValueError, match="at least one text"):
        encode([], model, tokenizer)


def test_tokenized_batches_pads_each_batch_to_its_longest_text():
    from nlpcourse.text.hf_batches import tokenized_batches

    texts = ["the cat", "the cat sat on the mat", "a dog", "new chip", "the team won"]
    batches = list(tokenized_batches(texts, tiny_tokenizer(), 2, 6, torch.device("cpu")))
    assert [b["input_ids"].shape for b in batches] == [(2, 6), (2, 4), (1, 5)]
    assert int(batches[0]["attention_mask"][0].sum()) == 4  # [CLS] the cat [SEP]
