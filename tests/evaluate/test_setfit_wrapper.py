"""The thin SetFit wrapper, on a tiny sentence-transformer built from a config (no download)."""

import numpy as np
import pytest
import torch

from nlpcourse.evaluate.fewshot import setfit_predict, train_setfit
from tests.tiny_bert import WORDS, tiny_tokenizer

TEXTS = ["the team won the game", "the stock market fell", "the team won", "market rose"] * 3
LABELS = [0, 1, 0, 1] * 3


@pytest.fixture(scope="module")
def tiny_body(tmp_path_factory):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer import modules
    from transformers import BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny_st")
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=5 + len(WORDS.split()),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
    )
    BertModel(config).save_pretrained(folder)
    tiny_tokenizer().save_pretrained(folder)
    transformer = modules.Transformer(str(folder), max_seq_length=16)
    pooling = modules.Pooling(transformer.get_embedding_dimension(), "mean")
    return SentenceTransformer(modules=[transformer, pooling], device="cpu")


def test_train_setfit_is_quiet_seeded_and_leaves_the_body_alone(tiny_body, capsys):
    before = {k: v.clone() for k, v in tiny_body.state_dict().items()}
    model = train_setfit(tiny_body, TEXTS, LABELS, steps=3, batch_size=4, body_lr=1e-3, seed=1)
    predicted = setfit_predict(model, TEXTS[:4])
    assert predicted.shape == (4,) and predicted.dtype.kind == "i"
    assert set(predicted.tolist()) <= {0, 1}
    assert all(torch.equal(before[k], v) for k, v in tiny_body.state_dict().items())
    trained = model.model_body.state_dict()
    assert any(not torch.equal(before[k], trained[k]) for k in before)  # the copy was trained
    again = train_setfit(tiny_body, TEXTS, LABELS, steps=3, batch_size=4, body_lr=1e-3, seed=1)
    first = model.model_body.encode(TEXTS, convert_to_numpy=True, show_progress_bar=False)
    second = again.model_body.encode(TEXTS, convert_to_numpy=True, show_progress_bar=False)
    np.testing.assert_allclose(first, second, atol=1e-6)
    captured = capsys.readouterr()
    assert captured.out == "" and "it/s" not in captured.err


def test_train_setfit_bad_inputs(tiny_body):
    with pytest.raises(ValueError, match="one label per text"):
        train_setfit(tiny_body, TEXTS, LABELS[:3], steps=1)
    with pytest.raises(ValueError, match="two classes"):
        train_setfit(tiny_body, TEXTS[:2], [0, 0], steps=1)
    with pytest.raises(ValueError, match="at least 1"):
        train_setfit(tiny_body, TEXTS, LABELS, steps=0)
    with pytest.raises(ValueError, match="at least one text"):
        setfit_predict(object(), [])
