# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · The article's BiLSTM: in Keras, then the same network in PyTorch
#
# Section 2.1 of the article opens with a four-layer sentiment classifier written with
# `tf.keras`: an embedding of a 10,000-word vocabulary into 64 dimensions, a bidirectional LSTM
# with 64 units per direction, a 64-unit ReLU layer and one sigmoid output. This notebook
#
# 1. builds exactly that model in **Keras 3** and trains it briefly on SST-2 (movie-review
#    sentences labelled negative/positive);
# 2. writes the same network as a **PyTorch** module, counts its parameters, and explains why
#    PyTorch has 512 more;
# 3. trains the PyTorch twin with the course's Keras-style `fit()`, saves it, and reloads it;
# 4. puts the two frameworks side by side: parameters, training speed, validation accuracy.
#
# **What changed since the article.** The article imports `tensorflow.keras`. Keras 3 is a
# separate package (`import keras`) that runs on several backends — TensorFlow, JAX or
# PyTorch. This course installs no TensorFlow: the environment variable `KERAS_BACKEND=torch`
# makes Keras run on PyTorch, and it must be set *before* Keras is first imported. The model
# code itself is unchanged apart from the import.

# %%
import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # before the first `import keras`

import time

import keras
import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence
from torch.utils.data import DataLoader, TensorDataset

from nlpcourse.batching import numericalize, pad_sequences, sst2_loaders
from nlpcourse.bilstm import BiLSTMClassifier, bilstm_parameter_count, count_parameters
from nlpcourse.config import get_device, get_profile, seed_everything
from nlpcourse.paths import run_dir
from nlpcourse.tokenize import regex_tokenize
from nlpcourse.training import evaluate, fit, plot_history, predict
from nlpcourse.vocab import Vocabulary

profile = get_profile()
seed_everything(profile.seed)
keras.utils.set_random_seed(profile.seed)
config = profile.bilstm
device = get_device()
# A small recurrent network gains little from several CPU threads, and threads that wait for
# a busy core slow it down badly: one thread is the fastest choice on a shared CPU.
torch.set_num_threads(1)
print(
    f"Keras {keras.__version__} on the {keras.backend.backend()} backend, torch {torch.__version__}"
)
print(f"profile {profile.name!r}, device {device}")

# %% [markdown]
# ## The data: SST-2
#
# The Stanford Sentiment Treebank (binary version, from the GLUE benchmark) has 67,349
# training phrases and 872 validation sentences; `load_sst2()` reads them from the course's
# data folder or the Hugging Face hub. `sst2_loaders(profile)` does the whole text pipeline in
# one call — tokenise, build the 10,000-word vocabulary on the training text, turn tokens into
# ids, and batch them. Notebook 02 takes that pipeline apart piece by piece; here we use it.
# (The same call gives notebook 04 the same data for its Transformer.)

# %%
data = sst2_loaders(profile)
vocab = data.vocab
print(f"training texts: {len(data.train_set):,}   validation texts: {len(data.val_set):,}")
print(f"vocabulary: {len(vocab):,} ids, the first ones {vocab.itos[:8]}")
for text, label in zip(data.val_texts[:3], data.val_set.labels[:3].tolist(), strict=True):
    print(f"  [{('negative', 'positive')[label]}] {text}")

# %% [markdown]
# Ids 0 and 1 are reserved: `<pad>` fills short sequences up to the length of their batch and
# `<unk>` stands for any word outside the 10,000 kept. Here is one fixed sentence on its way to the network:

# %% keep_output=true
# NBVAL_CHECK_OUTPUT
sentence = "A gripping, beautifully acted film - but the ending is flat."
tokens = regex_tokenize(sentence)
print(tokens)
print(vocab.encode(tokens))

# %% [markdown]
# ## 1 · The article's model in Keras 3
#
# Keras wants every input the same length, so each sequence is cut or padded to
# `config.max_len` tokens. `keras.utils.pad_sequences` pads at the *front* by default
# (`padding="pre"`): the forward LSTM then reads the real words last, right before its final
# state is taken. Without a mask the pads are still processed as if they were words. Its
# default `truncating="pre"` would cut a long review's *beginning*; `"post"` keeps it.

# %%
keras_rows = config.keras_train_size or len(data.train_set)
rows = np.random.default_rng(profile.seed).permutation(len(data.train_set))[:keras_rows]
train_ids = [data.train_set[i][0].tolist() for i in rows]  # a random sample of the rows
val_ids = [data.val_set[i][0].tolist() for i in range(len(data.val_set))]
x_train = keras.utils.pad_sequences(
    train_ids, maxlen=config.max_len, padding="pre", truncating="post"
)  # (keras_rows, max_len)
y_train = data.train_set.labels[rows].numpy().astype("float32")  # (keras_rows,)
x_val = keras.utils.pad_sequences(
    val_ids, maxlen=config.max_len, padding="pre", truncating="post"
)  # (872, max_len)
y_val = data.val_set.labels.numpy().astype("float32")  # (872,)
print("x_train", x_train.shape, "x_val", x_val.shape)
print("first training row:", x_train[0][-12:], "(the last 12 of its ids)")

# %% [markdown]
# The model, layer for layer as in the article. `keras.Input` fixes the input shape up front so
# the model is built at once and `summary()` can count its parameters (the article's version
# builds lazily on the first batch).

# %%
keras_model = keras.Sequential(
    [
        keras.Input(shape=(config.max_len,), dtype="int32"),  # (batch, max_len) token ids
        keras.layers.Embedding(config.vocab_size, config.embed_dim),  # (batch, max_len, 64)
        keras.layers.Bidirectional(keras.layers.LSTM(config.hidden_size)),  # (batch, 128)
        keras.layers.Dense(config.dense_dim, activation="relu"),  # (batch, 64)
        keras.layers.Dense(1, activation="sigmoid"),  # (batch, 1) probability of positive
    ]
)
keras_model.summary()

# %% keep_output=true
# NBVAL_CHECK_OUTPUT
keras_params = keras_model.count_params()
assert keras_params == 714_369
for layer in keras_model.layers:
    print(f"{layer.name:<16} {layer.count_params():>8,}")
print(f"{'total':<16} {keras_params:>8,}")

# %% [markdown]
# Where the 714,369 parameters live:
#
# | layer | parameters | why |
# |---|---:|---|
# | `Embedding(10000, 64)` | 640,000 | one 64-dim vector per vocabulary id |
# | `Bidirectional(LSTM(64))` | 66,048 | per direction 4 gates × 64 units × (64 inputs + 64 recurrent + 1 bias) = 33,024 |
# | `Dense(64, relu)` | 8,256 | 128 × 64 weights + 64 biases |
# | `Dense(1, sigmoid)` | 65 | 64 weights + 1 bias |
#
# Nine tenths of the model is the embedding table. Now train it with the article's binary
# cross-entropy, briefly: the Keras LSTM runs a Python loop over time steps on the PyTorch
# backend's CPU path, so it is slow (cuDNN's fused kernel is only used on a GPU).

# %%
keras_model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
start = time.perf_counter()
keras_model.fit(
    x_train, y_train, batch_size=config.batch_size, epochs=config.keras_epochs, verbose=2
)
keras_seconds = time.perf_counter() - start
keras_speed = config.keras_epochs * keras_rows / keras_seconds
keras_loss, keras_accuracy = keras_model.evaluate(x_val, y_val, batch_size=256, verbose=0)
print(f"Keras: {keras_speed:,.0f} training samples/s, validation accuracy {keras_accuracy:.4f}")

# %% [markdown]
# ## 2 · The same network in PyTorch
#
# Written out, the PyTorch version makes each step explicit. Two differences from Keras matter:
#
# * **The sigmoid moves into the loss.** The module returns a *logit* (any real number) and
#   training uses `binary_cross_entropy_with_logits`, which applies the sigmoid inside the loss
#   in a numerically stable way. `sigmoid(logit)` is the same probability Keras outputs.
# * **Lengths are known.** Given each sequence's real length, `pack_padded_sequence` lets the
#   LSTM skip the padding, so the final state of each direction is the one after the
#   sentence's own last (or, backwards, first) word. Notebook 02 measures what this buys.


# %%
class BiLSTMTwin(nn.Module):
    """Embedding → BiLSTM → Dense(relu) → Dense, the article's model in PyTorch."""

    def __init__(self, vocab_size=10_000, embed_dim=64, hidden_size=64, dense_dim=64):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.lstm = nn.LSTM(embed_dim, hidden_size, batch_first=True, bidirectional=True)
        self.dense = nn.Linear(2 * hidden_size, dense_dim)
        self.head = nn.Linear(dense_dim, 1)

    def forward(self, ids, lengths=None):
        x = self.embedding(ids)  # (batch, time, 64)
        if lengths is not None:  # read only the real tokens of each row
            x = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, (h_n, _) = self.lstm(x)  # h_n: (2, batch, 64), the last state of each direction
        sentence = torch.cat([h_n[0], h_n[1]], dim=-1)  # (batch, 128)
        hidden = torch.relu(self.dense(sentence))  # (batch, 64)
        return self.head(hidden)  # (batch, 1) logits


twin = BiLSTMTwin(config.vocab_size, config.embed_dim, config.hidden_size, config.dense_dim)
for name, parameter in twin.named_parameters():
    print(f"{name:<24} {tuple(parameter.shape)}")

# %% [markdown]
# The LSTM holds, per direction, `weight_ih` (4 gates × 64 units, by 64 inputs), `weight_hh`
# (4 × 64, by 64 recurrent inputs) and **two** bias vectors, `bias_ih` and `bias_hh`, of 4 × 64
# each. Keras keeps a single bias per gate set. Two biases add nothing a single one cannot
# express (only their sum enters the gates); PyTorch keeps both for compatibility with
# cuDNN's LSTM, which has both. The difference: 2 directions × 4 gates × 64 units = **512
# parameters**, so PyTorch counts 714,369 + 512 = 714,881.

# %% keep_output=true
# NBVAL_CHECK_OUTPUT
torch_params = count_parameters(twin)
assert torch_params == 714_881 == bilstm_parameter_count(config.vocab_size)
assert torch_params - keras_params == 2 * 4 * config.hidden_size == 512
assert bilstm_parameter_count(config.vocab_size, bias_vectors=1) == keras_params
print(f"Keras {keras_params:,}  PyTorch {torch_params:,}  difference {torch_params - keras_params}")

# %% [markdown]
# The course package has the same network as `nlpcourse.bilstm.BiLSTMClassifier` (with
# optional dropout, which adds no parameters, and a switch to turn packing off). Its parameters
# have the same names, so it accepts the twin's weights and must give the same outputs:

# %%
packaged = BiLSTMClassifier(
    config.vocab_size, config.embed_dim, config.hidden_size, config.dense_dim
).eval()
packaged.load_state_dict(twin.state_dict())
ids, lengths, _ = next(iter(data.val_loader))  # ids: (batch, time), lengths: (batch,)
with torch.no_grad():
    torch.testing.assert_close(packaged(ids, lengths), twin.eval()(ids, lengths))
print("the twin and nlpcourse.bilstm.BiLSTMClassifier agree on a batch of shape", tuple(ids.shape))

# %% [markdown]
# **The same function, not just the same shape.** Copy the trained Keras weights into the twin
# and it must give Keras's answers. Keras stores a kernel as `(inputs, outputs)`, PyTorch as
# `(outputs, inputs)`, hence the transposes; both order the four gates the same way (input,
# forget, cell, output). Keras's single LSTM bias goes into `bias_ih` and PyTorch's second
# bias, `bias_hh`, is set to zero: the 512 extra parameters add nothing the model needs.


# %%
def as_tensor(array):
    return torch.from_numpy(np.asarray(array))


(embedding,) = keras_model.layers[0].get_weights()  # (10000, 64)
lstm_weights = keras_model.layers[1].get_weights()  # forward then backward: kernel, recurrent, bias
dense_kernel, dense_bias = keras_model.layers[2].get_weights()  # (128, 64), (64,)
head_kernel, head_bias = keras_model.layers[3].get_weights()  # (64, 1), (1,)
state = {"embedding.weight": as_tensor(embedding)}
for suffix, (kernel, recurrent, bias) in (
    ("l0", lstm_weights[:3]),
    ("l0_reverse", lstm_weights[3:]),
):
    state[f"lstm.weight_ih_{suffix}"] = as_tensor(kernel).T  # (256, 64)
    state[f"lstm.weight_hh_{suffix}"] = as_tensor(recurrent).T  # (256, 64)
    state[f"lstm.bias_ih_{suffix}"] = as_tensor(bias)  # (256,)
    state[f"lstm.bias_hh_{suffix}"] = torch.zeros(4 * config.hidden_size)  # (256,) unused
state.update(
    {
        "dense.weight": as_tensor(dense_kernel).T,  # (64, 128)
        "dense.bias": as_tensor(dense_bias),
        "head.weight": as_tensor(head_kernel).T,  # (1, 64)
        "head.bias": as_tensor(head_bias),
    }
)
ported = BiLSTMTwin(config.vocab_size, config.embed_dim, config.hidden_size, config.dense_dim)
ported.load_state_dict(state)
keras_probabilities = as_tensor(keras_model.predict(x_val, verbose=0))  # (872, 1)
with torch.no_grad():  # no lengths: like Keras, read the whole pre-padded row
    torch_probabilities = torch.sigmoid(ported.eval()(torch.from_numpy(x_val).long()))  # (872, 1)
torch.testing.assert_close(torch_probabilities, keras_probabilities, atol=1e-5, rtol=1e-4)
print("Keras and the PyTorch twin with Keras's weights agree on all 872 validation sentences")

# %% [markdown]
# ## 3 · Training with a Keras-style `fit()`
#
# PyTorch leaves the training loop to you. The course's `nlpcourse.training.fit` is that loop
# written once and tested, with Keras's shape: `fit(model, train_loader, val_loader, epochs=…,
# optimizer=…)` returns a `History` of loss and accuracy per epoch (training and validation),
# shows a `tqdm` progress bar, clips gradients, and can stop early on a validation metric and
# restore the best epoch's weights. `evaluate()` and `predict()` sit beside it.
#
# First, a fair race: the twin trains on **exactly Keras's inputs** (the same rows, padded to
# the same fixed length, no packing, the same batch size, epochs and Adam learning rate).
#
# One more thing differs between the frameworks: how fresh weights are drawn.
#
# | weights | Keras default | PyTorch default |
# |---|---|---|
# | embedding | uniform in ±0.05 | normal, standard deviation 1 |
# | LSTM input kernel | Glorot uniform | uniform in ±1/√hidden |
# | LSTM recurrent kernel | orthogonal | uniform in ±1/√hidden |
# | LSTM biases | 0, except 1 for the forget gate | uniform in ±1/√hidden (both sets) |
# | dense layers | Glorot uniform, bias 0 | uniform in ±1/√inputs (weights and bias) |
#
# The race is run twice: with PyTorch's defaults, and with Keras's initialisation written out
# below, so the difference between initialisations shows apart from the difference between
# frameworks.


# %%
def init_like_keras(model):
    """Draw the twin's weights the way Keras's layers draw theirs."""
    hidden = model.lstm.hidden_size
    with torch.no_grad():
        nn.init.uniform_(model.embedding.weight, -0.05, 0.05)  # (vocab, 64)
        for name, weight in model.lstm.named_parameters():
            if name.startswith("weight_ih"):
                nn.init.xavier_uniform_(weight)  # (4 * hidden, 64), Glorot
            elif name.startswith("weight_hh"):
                nn.init.orthogonal_(weight)  # (4 * hidden, hidden)
            else:
                weight.zero_()  # (4 * hidden,)
                if name.startswith("bias_ih"):
                    weight[hidden : 2 * hidden] = 1.0  # the forget gate's slice (i, f, g, o)
        for layer in (model.dense, model.head):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
    return model


fixed_train = DataLoader(
    TensorDataset(torch.from_numpy(x_train).long(), torch.from_numpy(y_train).long()),
    batch_size=config.batch_size,
    shuffle=True,
    generator=torch.Generator().manual_seed(profile.seed),
)  # batches (ids (batch, max_len), labels (batch,))
fixed_val = DataLoader(
    TensorDataset(torch.from_numpy(x_val).long(), torch.from_numpy(y_val).long()), batch_size=256
)
fair = {}
for init in ("PyTorch", "Keras"):
    seed_everything(profile.seed)
    twin_model = BiLSTMTwin(
        config.vocab_size, config.embed_dim, config.hidden_size, config.dense_dim
    )
    if init == "Keras":
        init_like_keras(twin_model)
    fixed_train.generator.manual_seed(profile.seed)  # the same batch order for both runs
    fair[init] = fit(
        twin_model,
        fixed_train,
        fixed_val,
        epochs=config.keras_epochs,
        optimizer=torch.optim.Adam(twin_model.parameters()),  # Keras's default: lr 1e-3
        device=device,
    )

# %% [markdown]
# Now the course's way: all the training data, dropout, a higher learning rate, gradient
# clipping, early stopping, and batches of similar lengths fed through packed sequences (the
# `bucket` loader from `sst2_loaders`). This is the model we keep.

# %%
seed_everything(profile.seed)
model = BiLSTMClassifier(
    len(vocab), config.embed_dim, config.hidden_size, config.dense_dim, dropout=config.dropout
)
history = fit(
    model,
    data.train_loader,
    data.val_loader,
    epochs=config.epochs,
    optimizer=torch.optim.Adam(model.parameters(), lr=config.lr),
    grad_clip=config.grad_clip,
    patience=config.patience,
    monitor="val_accuracy",
    device=device,
)
val_accuracy = evaluate(model, data.val_loader)["accuracy"]
print(f"kept epoch {history.best_epoch + 1}: validation accuracy {val_accuracy:.4f}")

# %%
figure = plot_history(history)

# %% [markdown]
# Read the two panels together: while both accuracies rise, the model is still learning what
# carries over to new sentences; once the training accuracy keeps climbing and the validation
# accuracy stalls or drops, the network (most of it a 640,000-weight embedding table) is
# memorising training phrases. Early stopping watches the validation accuracy and keeps the
# best epoch's weights.
#
# The quality bar of the `quick` profile: at least 0.80 validation accuracy.

# %%
assert val_accuracy >= 0.80, f"validation accuracy {val_accuracy:.4f} is below the 0.80 bar"

# %% [markdown]
# ## 4 · Side by side
#
# Measured above, on the same validation split. The first three rows see identical inputs, so
# their speed ratio is the frameworks' (the Keras LSTM steps through time in Python on a CPU,
# PyTorch's `nn.LSTM` runs one fused kernel), and the second and third rows differ only in the
# initial weights. The last row adds everything the course does.

# %%
pytorch_speed = float(np.mean(history.history["samples_per_s"]))
table = [("Keras 3 (torch backend), fixed padding", keras_params, keras_speed, keras_accuracy)]
for init, run in fair.items():
    speed = float(np.mean(run.history["samples_per_s"]))
    name = f"PyTorch twin, same inputs, {init} init"
    table.append((name, torch_params, speed, run.last("val_accuracy")))
table.append(
    ("PyTorch, bucketing + packing + dropout", count_parameters(model), pytorch_speed, val_accuracy)
)
print(f"{'model':<42} {'parameters':>10} {'train samples/s':>16} {'val accuracy':>13}")
for name, params, speed, accuracy in table:
    print(f"{name:<42} {params:>10,} {speed:>16,.0f} {accuracy:>13.4f}")
print(
    f"\nThe first three rows: {config.keras_epochs} epoch(s) on {keras_rows:,} rows. "
    f"The last: {history.epochs} epoch(s) on {len(data.train_set):,} rows."
)

# %% [markdown]
# **The `full` profile.** With `NLPCOURSE_PROFILE=full` the same cells train Keras on all the
# training data for three epochs and the PyTorch model for up to five (on a GPU, where both
# frameworks use cuDNN's LSTM kernel). That run has not been made for this release: no figure
# for it is given here. To produce one, run `NLPCOURSE_PROFILE=full make nb NB=01` on a machine
# with a GPU and record the accuracy with the date and the hardware.

# %% [markdown]
# ## 5 · Save, reload, predict
#
# A trained model is two files: the weights as **safetensors** (a plain tensor file that,
# unlike a pickle, cannot run code when loaded) and the vocabulary as JSON (without it the
# weights are useless: id 2417 means nothing without the word it stands for). They go to
# `runs/01_keras_bilstm/`, which git ignores; later notebooks and scripts reload them from there.

# %%
folder = run_dir("01_keras_bilstm")
save_file(model.state_dict(), folder / "bilstm.safetensors")
vocab.save(folder / "vocab.json")
print(sorted(path.name for path in folder.iterdir()))

# %%
reloaded_vocab = Vocabulary.load(folder / "vocab.json")
reloaded = BiLSTMClassifier(
    len(reloaded_vocab), config.embed_dim, config.hidden_size, config.dense_dim
)
reloaded.load_state_dict(load_file(folder / "bilstm.safetensors"))
reloaded.eval()

reviews = [
    "a gripping , beautifully acted film .",
    "the plot is thin and the jokes fall flat .",
    "not as good as the first one , but still fun .",
]
ids, lengths = pad_sequences(numericalize(reviews, reloaded_vocab), reloaded_vocab.pad_id)
with torch.no_grad():
    probabilities = torch.sigmoid(reloaded(ids, lengths)).squeeze(1)  # (3,)
    torch.testing.assert_close(probabilities, torch.sigmoid(model.eval()(ids, lengths)).squeeze(1))
for review, p in zip(reviews, probabilities.tolist(), strict=True):
    print(f"{p:5.2f}  {'positive' if p > 0.5 else 'negative'}  {review}")
assert probabilities[0] > 0.5 > probabilities[1], "the clear-cut reviews should go each their way"

# %% [markdown]
# ## Exercises
#
# **1.** Replace `LSTM(64)` by `LSTM(32)` (still on 64-dimensional embeddings). How many
# parameters does the `Bidirectional` layer then hold in Keras, and how many does the
# bidirectional `nn.LSTM` hold in PyTorch? Work it out by hand, then check it with code.

# %%
from nlpcourse.exercises.ch01 import (
    check_accuracy_from_logits,
    check_frozen_trainable,
    check_lstm_parameters,
)

keras_count, torch_count = None, None  # your answer
check_lstm_parameters(keras_count, torch_count)

# %% jupyter={"source_hidden": true} tags=["solution"]
small = keras.layers.Bidirectional(keras.layers.LSTM(32))
small.build((None, config.max_len, 64))
keras_count = small.count_params()
torch_count = count_parameters(nn.LSTM(64, 32, bidirectional=True))
assert check_lstm_parameters(keras_count, torch_count)

# %% [markdown]
# **2.** A common trick with little data is to freeze the embedding (train everything else).
# Build a fresh `BiLSTMClassifier` with the notebook's sizes, freeze its embedding, and count
# the parameters that still train.

# %%
trainable = None  # your answer
check_frozen_trainable(trainable)

# %% jupyter={"source_hidden": true} tags=["solution"]
frozen = BiLSTMClassifier(len(vocab), config.embed_dim, config.hidden_size, config.dense_dim)
frozen.embedding.weight.requires_grad_(False)
trainable = count_parameters(frozen, trainable_only=True)
assert check_frozen_trainable(trainable)

# %% [markdown]
# **3.** `evaluate()` gave the validation accuracy. Compute it yourself from the logits that
# `predict(model, data.val_loader)` returns and the labels in `data.val_set.labels` (the
# validation loader keeps the split's order).

# %%
val_logits = predict(model, data.val_loader)  # (872, 1)
my_accuracy = None  # your answer
check_accuracy_from_logits(my_accuracy, val_logits, data.val_set.labels)

# %% jupyter={"source_hidden": true} tags=["solution"]
my_accuracy = ((val_logits[:, 0] > 0).long() == data.val_set.labels).float().mean().item()
assert check_accuracy_from_logits(my_accuracy, val_logits, data.val_set.labels)
