import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers import BertConfig, BertForMaskedLM, BertModel, BertTokenizer

from nlpcourse.evaluate.fewshot import (
    cloze_scores,
    fixed_steps_loader,
    label_word_ids,
    learning_curve,
    logistic_probe_accuracy,
    sample_k_per_class,
    summarize_curve,
    zero_shot_predict,
)
from nlpcourse.models.heads import EncoderClassifier

LABELS = np.repeat([0, 1, 2, 3], [10, 7, 12, 5])


@settings(max_examples=40, deadline=None)
@given(k=st.integers(1, 5), seed=st.integers(0, 10_000))
def test_exactly_k_per_class_and_seeded(k, seed):
    picked = sample_k_per_class(LABELS, k, seed)
    assert len(picked) == len(set(picked.tolist())) == 4 * k
    assert np.bincount(LABELS[picked]).tolist() == [k] * 4
    assert np.array_equal(picked, sample_k_per_class(LABELS, k, seed))


def test_different_seeds_draw_different_examples():
    draws = {tuple(sample_k_per_class(LABELS, 4, seed)) for seed in range(5)}
    assert len(draws) > 1


def test_sampling_errors():
    with pytest.raises(ValueError, match="class 3 has only 5 rows"):
        sample_k_per_class(LABELS, 6, 0)
    with pytest.raises(ValueError, match="at least 1"):
        sample_k_per_class(LABELS, 0, 0)
    with pytest.raises(ValueError, match="non-empty"):
        sample_k_per_class([], 1, 0)


def test_zero_shot_picks_the_most_similar_description():
    labels = torch.eye(3)
    texts = torch.tensor([[0.1, 2.0, 0.0], [5.0, 1.0, 0.0], [0.0, 0.2, 0.3]])
    assert zero_shot_predict(texts, labels).tolist() == [1, 0, 2]
    with pytest.raises(ValueError, match="same dim"):
        zero_shot_predict(texts, torch.eye(4))


def test_logistic_probe_on_separable_embeddings():
    rng = np.random.default_rng(0)
    centres = np.eye(4) * 5
    train_y, test_y = np.repeat(np.arange(4), 4), np.repeat(np.arange(4), 10)
    train_x = centres[train_y] + rng.normal(size=(16, 4))
    test_x = centres[test_y] + rng.normal(size=(40, 4))
    assert logistic_probe_accuracy(train_x, train_y, test_x, test_y) == 1.0
    with pytest.raises(ValueError, match="two classes"):
        logistic_probe_accuracy(train_x[:4], np.zeros(4), test_x, test_y)
    with pytest.raises(ValueError, match="one label per row"):
        logistic_probe_accuracy(train_x, train_y[:3], test_x, test_y)


def test_learning_curve_gives_every_method_the_same_examples():
    seen = {}

    def record(name):
        def run(indices, seed):
            seen.setdefault(name, []).append(indices.tolist())
            return len(indices) / 100

        return run

    rows = learning_curve(LABELS, [2, 4], [0, 1, 2], record("a"), progress=False)
    learning_curve(LABELS, [2, 4], [0, 1, 2], record("b"), progress=False)
    assert seen["a"] == seen["b"]
    assert [(r["k"], r["seed"]) for r in rows] == [(k, s) for k in (2, 4) for s in (0, 1, 2)]
    summary = summarize_curve(rows)
    assert summary == {2: (0.08, 0.0), 4: (0.16, 0.0)}
    with pytest.raises(ValueError, match="at least one"):
        learning_curve(LABELS, [], [0], record("c"))
    with pytest.raises(ValueError, match="no runs"):
        summarize_curve([])


def tiny_bert_config():
    return BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=16,
        max_position_embeddings=32,
    )


VOCAB = "[PAD] [UNK] [CLS] [SEP] [MASK] this news is about . the team won sports world business ##s"
VOCAB = VOCAB.split()


def tiny_tokenizer():
    return BertTokenizer(vocab={token: i for i, token in enumerate(VOCAB)})


def test_the_few_shot_head_ignores_padding():
    torch.manual_seed(0)  # 08 fine-tunes heads.EncoderClassifier with mean pooling
    model = EncoderClassifier(BertModel(tiny_bert_config()), num_outputs=3, pooling="mean").eval()
    ids = torch.tensor([[2, 10, 11, 3]])
    padded = torch.tensor([[2, 10, 11, 3, 0, 0]])
    short = model(ids, torch.ones_like(ids))
    long = model(padded, torch.tensor([[1, 1, 1, 1, 0, 0]]))
    assert short.shape == (1, 3)
    torch.testing.assert_close(short, long, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="num_outputs"):
        EncoderClassifier(BertModel(tiny_bert_config()), num_outputs=0)


def test_cloze_scores_read_the_mask_position():
    torch.manual_seed(0)
    tokenizer, model = tiny_tokenizer(), BertForMaskedLM(tiny_bert_config()).eval()
    words = ["sports", "world", "business"]
    template = "{text} this news is about [MASK] ."
    scores = cloze_scores(["the team won", "the news"], model, tokenizer, template, words)
    assert scores.shape == (2, 3)
    batch = tokenizer(["the team won this news is about [MASK] ."], return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).logits[0]
    position = batch["input_ids"][0].tolist().index(tokenizer.mask_token_id)
    expected = logits[position, label_word_ids(tokenizer, words)]
    torch.testing.assert_close(scores[0], expected, atol=1e-5, rtol=1e-5)


def test_cloze_bad_inputs():
    tokenizer, model = tiny_tokenizer(), BertForMaskedLM(tiny_bert_config())
    with pytest.raises(ValueError, match="one vocabulary token"):
        label_word_ids(tokenizer, ["newss"])
    with pytest.raises(ValueError, match="exactly one"):
        cloze_scores(["the team"], model, tokenizer, "{text} about it .", ["sports"])
    with pytest.raises(ValueError, match="at least one text"):
        cloze_scores([], model, tokenizer, "{text} [MASK]", ["sports"])
    with pytest.raises(ValueError, match="no room"):
        cloze_scores(
            ["the team"],
            model,
            tokenizer,
            "{text} this news is about [MASK] .",
            ["sports"],
            max_len=4,
        )


def test_fixed_steps_loader_cycles_small_sets():
    from datasets import Dataset

    tokenizer = tiny_tokenizer()
    data = Dataset.from_dict(
        {"text": ["the team won", "the news", "world business"], "labels": [0, 1, 2]}
    )
    tokenized = data.map(lambda b: tokenizer(b["text"]), batched=True, remove_columns=["text"])
    loader = fixed_steps_loader(tokenized, tokenizer, batch_size=2, steps=5, seed=0)
    batches = list(loader)
    assert len(batches) == 5 and all(len(b["labels"]) == 2 for b in batches)
    seen = torch.cat([b["labels"] for b in batches]).tolist()
    assert sorted(set(seen)) == [0, 1, 2]
    assert [b["labels"].tolist() for b in fixed_steps_loader(tokenized, tokenizer, 2, 5, 0)] == [
        b["labels"].tolist() for b in batches
    ]
    assert len(list(fixed_steps_loader(tokenized, tokenizer, batch_size=8, steps=2, seed=0))) == 2
    with pytest.raises(ValueError, match="steps"):
        fixed_steps_loader(tokenized, tokenizer, batch_size=2, steps=0, seed=0)
