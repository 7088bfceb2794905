"""A real (tiny) BERT and tokenizer built offline, for fast fine-tuning tests."""

from __future__ import annotations

from datasets import ClassLabel, Dataset, Features, Value

WORDS = "the a cat dog sat ran on mat park stock market fell rose team won game match new chip"
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def tiny_tokenizer():
    from transformers import BertTokenizer

    vocab = {word: i for i, word in enumerate(SPECIAL + WORDS.split())}
    return BertTokenizer(vocab=vocab)


def tiny_bert(num_labels: int = 3, seed: int = 0, **overrides):
    """A 2-layer BERT for sequence classification with dropout off."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    settings = dict(
        vocab_size=len(SPECIAL) + len(WORDS.split()),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        classifier_dropout=0.0,
        num_labels=num_labels,
    )
    settings.update(overrides)
    torch.manual_seed(seed)
    return BertForSequenceClassification(BertConfig(**settings)).eval()


def tiny_teacher(layers: int = 4, seed: int = 0):
    """A ``layers``-layer BERT classifier (3 labels, hidden 8, dropout on) to distil from."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=40,
        hidden_size=8,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=16,
        max_position_embeddings=16,
        num_labels=3,
    )
    return BertForSequenceClassification(config)


def tiny_news(n: int = 40, num_classes: int = 3, seed: int = 0) -> Dataset:
    """``n`` short texts of varied lengths with balanced labels."""
    import random

    rng = random.Random(seed)
    words = WORDS.split()
    texts = [" ".join(rng.choices(words, k=rng.randint(2, 12))) for _ in range(n)]
    labels = [i % num_classes for i in range(n)]
    names = [f"class_{i}" for i in range(num_classes)]
    features = Features({"text": Value("string"), "label": ClassLabel(names=names)})
    return Dataset.from_dict({"text": texts, "label": labels}, features=features)
