import pytest
import torch
from torch import nn

from nlpcourse.config import seed_everything
from nlpcourse.evaluate.efficiency import count_parameters
from nlpcourse.models.bilstm import BiLSTMClassifier, bilstm_parameter_count, lstm_parameter_count


def test_the_articles_model_has_714881_parameters_in_pytorch_and_714369_in_keras():
    model = BiLSTMClassifier(10_000, 64, 64, 64, 1)
    assert count_parameters(model) == bilstm_parameter_count(10_000) == 714_881
    assert bilstm_parameter_count(10_000, bias_vectors=1) == 714_369
    assert bilstm_parameter_count(10_000) - bilstm_parameter_count(10_000, bias_vectors=1) == (
        2 * 4 * 64  # one extra bias of 4 * hidden per direction
    )


@pytest.mark.parametrize(
    ("vocab", "embed", "hidden", "dense", "outputs"),
    [(50, 8, 16, 12, 1), (300, 32, 7, 5, 4), (2, 1, 1, 1, 2)],
)
def test_parameter_formula_matches_the_module(vocab, embed, hidden, dense, outputs):
    model = BiLSTMClassifier(vocab, embed, hidden, dense, outputs)
    assert count_parameters(model) == bilstm_parameter_count(vocab, embed, hidden, dense, outputs)
    lstm = nn.LSTM(embed, hidden)
    assert count_parameters(lstm) == lstm_parameter_count(embed, hidden)


def test_count_trainable_parameters():
    model = BiLSTMClassifier(100, 8, 8, 8)
    model.embedding.weight.requires_grad_(False)
    assert count_parameters(model, trainable_only=True) == count_parameters(model) - 800


def test_packed_and_unpacked_agree_on_unpadded_input():
    seed_everything(0)
    model = BiLSTMClassifier(50, 8, 6, 4, 2).eval()
    ids = torch.randint(1, 50, (3, 7))  # (batch, time), no padding
    lengths = torch.full((3,), 7)
    packed = model.encode(ids, lengths)
    model.packed = False
    unpacked = model.encode(ids, lengths)
    torch.testing.assert_close(packed, unpacked)
    torch.testing.assert_close(model.encode(ids), unpacked)


def test_packing_ignores_padding_and_unpacked_does_not():
    seed_everything(0)
    model = BiLSTMClassifier(50, 8, 6, 4, 1).eval()
    short = torch.tensor([[5, 9, 3]])  # (1, 3)
    padded = torch.tensor([[5, 9, 3, 0, 0, 0]])  # (1, 6)
    alone = model(short, torch.tensor([3]))
    torch.testing.assert_close(model(padded, torch.tensor([3])), alone)
    model.packed = False
    assert not torch.allclose(model(padded, torch.tensor([3])), alone)


def test_output_shape_and_gradients_flow():
    model = BiLSTMClassifier(30, 4, 5, 6, 3, dropout=0.1)
    ids = torch.randint(1, 30, (4, 9))
    lengths = torch.tensor([9, 3, 1, 5])
    logits = model(ids, lengths)
    assert logits.shape == (4, 3)
    logits.sum().backward()
    assert model.embedding.weight.grad[0].abs().sum() == 0  # the padding row never learns


def test_bad_arguments():
    with pytest.raises(ValueError, match="positive"):
        BiLSTMClassifier(0)
    with pytest.raises(ValueError, match="pad_id"):
        BiLSTMClassifier(10, pad_id=10)
    with pytest.raises(ValueError, match=r"\(batch, time\)"):
        BiLSTMClassifier(10)(torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="bias_vectors"):
        lstm_parameter_count(4, 4, bias_vectors=3)


def test_keras_weights_in_the_pytorch_module_give_kerass_outputs():
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
    import numpy as np

    keras.utils.set_random_seed(0)
    keras_model = keras.Sequential(
        [
            keras.Input(shape=(7,), dtype="int32"),
            keras.layers.Embedding(50, 8),
            keras.layers.Bidirectional(keras.layers.LSTM(6)),
            keras.layers.Dense(5, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    assert keras_model.count_params() == bilstm_parameter_count(50, 8, 6, 5, bias_vectors=1)
    rng = np.random.default_rng(0)
    keras_model.set_weights(
        [
            w + 0.3 * rng.standard_normal(w.shape).astype("float32")
            for w in keras_model.get_weights()
        ]
    )

    def tensor(array):
        return torch.from_numpy(np.asarray(array))

    (embedding,) = keras_model.layers[0].get_weights()
    lstm = keras_model.layers[1].get_weights()
    dense_kernel, dense_bias = keras_model.layers[2].get_weights()
    head_kernel, head_bias = keras_model.layers[3].get_weights()
    state = {"embedding.weight": tensor(embedding)}
    for suffix, (kernel, recurrent, bias) in (("l0", lstm[:3]), ("l0_reverse", lstm[3:])):
        state[f"lstm.weight_ih_{suffix}"] = tensor(kernel).T
        state[f"lstm.weight_hh_{suffix}"] = tensor(recurrent).T
        state[f"lstm.bias_ih_{suffix}"] = tensor(bias)
        state[f"lstm.bias_hh_{suffix}"] = torch.zeros(24)
    state["dense.weight"], state["dense.bias"] = tensor(dense_kernel).T, tensor(dense_bias)
    state["head.weight"], state["head.bias"] = tensor(head_kernel).T, tensor(head_bias)
    model = BiLSTMClassifier(50, 8, 6, 5, packed=False).eval()
    model.load_state_dict(state)
    ids = rng.integers(0, 50, (10, 7)).astype("int32")
    expected = tensor(keras_model.predict(ids, verbose=0))
    with torch.no_grad():
        actual = torch.sigmoid(model(torch.from_numpy(ids).long()))
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-4)


def test_bilstm_profile_sizes_for_notebook_01():
    from nlpcourse.config import get_profile

    quick, full = get_profile("quick").bilstm, get_profile("full").bilstm
    assert len(quick.seeds) >= 3 and len(set(quick.seeds)) == len(quick.seeds)
    assert len(full.seeds) >= len(quick.seeds)
    assert full.seed_train_size is None  # full: every training phrase
    assert quick.seed_train_size is None or quick.seed_train_size > 0
    assert quick.loop_steps >= 1 and quick.bench_batches >= 1 and quick.bench_repeats >= 1
