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

# %% [markdown] slideshow={"slide_type": "slide"}
# # 01 · The article's BiLSTM: the cell, the Keras model, its PyTorch twin, and a baseline
#
# Section 2.1 of the article opens with a four-layer sentiment classifier written with
# `tf.keras`: an embedding of a 10,000-word vocabulary into 64 dimensions, a bidirectional LSTM
# with 64 units per direction, a 64-unit ReLU layer and one sigmoid output. This notebook
#
# 1. writes out what an LSTM cell computes, checks it against `nn.LSTM`, and derives the
#    parameter count from the equations;
# 2. builds the article's model in **Keras 3**, trains it briefly on SST-2, and makes it ignore
#    padding with one argument;
# 3. writes the same network and a plain training loop in **PyTorch**, then replaces the loop
#    by the course's tested `fit()`;
# 4. measures several seeds against a TF-IDF baseline written out in scikit-learn, says what
#    the evaluation can detect, and scores the test part once, at the end.
#
# A "Going further" part at the end races Keras against PyTorch on the same batches and
# exports the model as a graph.
#
# **What changed since the article.** The article imports `tensorflow.keras`. Keras 3 is a
# separate package (`import keras`) that runs on TensorFlow, JAX or PyTorch. This course
# installs no TensorFlow: `KERAS_BACKEND=torch`, set *before* Keras is first imported, makes
# Keras run on PyTorch. The model code itself is unchanged apart from the import.

# %% slideshow={"slide_type": "skip"}
import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # before the first `import keras`

import copy
import time
import warnings
from itertools import islice

import keras
import numpy as np
import torch
from safetensors.torch import load_file, save_file
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence
from torch.utils.data import DataLoader, TensorDataset

from nlpcourse.config import get_device, get_profile, seed_everything
from nlpcourse.data.runs import run_dir
from nlpcourse.data.splits import sst2_subset
from nlpcourse.evaluate.baselines import tfidf_logreg
from nlpcourse.evaluate.efficiency import count_parameters
from nlpcourse.evaluate.stats import (
    bootstrap_accuracy,
    detectable_difference,
    disagreement_rate,
    format_mean_sd,
    paired_bootstrap,
)
from nlpcourse.evaluate.timing import median_seconds
from nlpcourse.models.bilstm import BiLSTMClassifier, bilstm_parameter_count, lstm_parameter_count
from nlpcourse.plots.lstm import draw_lstm_cell, plot_gate_heatmaps
from nlpcourse.plots.training import plot_runs
from nlpcourse.text.batching import (
    EncodedDataset,
    numericalize,
    pad_sequences,
    sst2_loaders,
    text_loader,
)
from nlpcourse.text.tokenize import regex_tokenize
from nlpcourse.text.vocab import Vocabulary
from nlpcourse.train.loop import fit, predict, predicted_labels

notebook_start = time.perf_counter()
profile = get_profile()
seed_everything(profile.seed)
keras.utils.set_random_seed(profile.seed)
config = profile.bilstm
device = get_device()
# One thread, so that this notebook's timings do not depend on what else uses the second core
# (one thread against several was not measured here).
torch.set_num_threads(1)
print(
    f"Keras {keras.__version__} on the {keras.backend.backend()} backend, torch {torch.__version__}"
)
print(f"profile {profile.name!r}, device {device}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The data: SST-2 in three parts
#
# The Stanford Sentiment Treebank (binary version, from GLUE) has 67,349 training *phrases*
# and 872 labelled validation *sentences* (its test labels are not public). The course splits
# those 872 sentences, stratified, into a **validation** part, on which every choice in this
# notebook is made (early stopping, which seed, which model), and a **test** part, scored once
# at the very end. `sst2_subset` picks those rows; `sst2_loaders` tokenises, builds the
# 10,000-word vocabulary on the training text, turns tokens into ids and batches them. Its
# training batches group phrases of similar length (**bucketing**) and carry each row's real
# length so that the LSTM can skip the padding (**packing**): used here, both are taken apart
# and measured in notebook 02.

# %% slideshow={"slide_type": "-"}
data = sst2_loaders(sst2_subset(profile), profile)
vocab = data.vocab
print(
    f"train {len(data.train_set):,} phrases · validation {len(data.val_set):,} sentences · "
    f"test {len(data.test_set):,} sentences (kept for the end)"
)
print(f"vocabulary: {len(vocab):,} ids, the first ones {vocab.itos[:8]}")
for text, label in zip(data.val_texts[:3], data.val_set.labels[:3].tolist(), strict=True):
    print(f"  [{('negative', 'positive')[label]}] {text}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# Ids 0 and 1 are reserved: `<pad>` fills short sequences up to the length of their batch and
# `<unk>` stands for any word outside the 10,000 kept. One fixed sentence on its way in:

# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
sentence = "A gripping, beautifully acted film - but the ending is flat."
tokens = regex_tokenize(sentence)
print(tokens)
print(vocab.encode(tokens))

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1 · What an LSTM cell computes
#
# A recurrent network reads a sentence one token at a time and carries a summary forward. An
# LSTM carries two vectors of `h` numbers: the **output** $h_t$ and the **cell state** $c_t$, a
# memory that is changed only by elementwise scaling and adding. At each step it looks at the
# current input $x_t$ (a `d`-dim embedding) and its previous output $h_{t-1}$ and computes four
# *gates*, each a layer with its own weights $W$ (`h×d`), $U$ (`h×h`) and bias $b$ (`h`):
#
# $$
# \begin{aligned}
# i_t &= \sigma(W_i x_t + U_i h_{t-1} + b_i) && \text{input gate: how much new to write}\\
# f_t &= \sigma(W_f x_t + U_f h_{t-1} + b_f) && \text{forget gate: how much memory to keep}\\
# g_t &= \tanh(W_g x_t + U_g h_{t-1} + b_g) && \text{candidate: what to write}\\
# o_t &= \sigma(W_o x_t + U_o h_{t-1} + b_o) && \text{output gate: how much memory to show}\\
# c_t &= f_t \odot c_{t-1} + i_t \odot g_t, \qquad h_t = o_t \odot \tanh(c_t)
# \end{aligned}
# $$
#
# The sigmoid gates lie between 0 and 1, so they act as dimmers; because $c_t$ is updated by
# "keep some, add some", information (and gradient) can survive many steps. The picture: the
# four gates read the same input, the cell state runs along the top.

# %% slideshow={"slide_type": "subslide"}
cell_figure = draw_lstm_cell()

# %% [markdown] slideshow={"slide_type": "subslide"}
# Written out, one step is four lines:


# %% slideshow={"slide_type": "-"}
def lstm_cell(x, h, c, weight_ih, weight_hh, bias):
    """One LSTM step: the four gates from x and h, then the new cell state and output."""
    gates = x @ weight_ih.T + h @ weight_hh.T + bias  # (batch, 4h): i, f, g, o side by side
    i, f, g, o = gates.chunk(4, dim=-1)  # each (batch, h)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)  # (batch, h) the new memory
    h = torch.sigmoid(o) * torch.tanh(c)  # (batch, h) the new output
    return h, c


def lstm_forward(x, weight_ih, weight_hh, bias):
    """Run the cell over x (batch, time, d) from zero states; return all outputs and the last."""
    h = c = x.new_zeros(x.shape[0], weight_hh.shape[1])  # (batch, h) each
    outputs = []
    for t in range(x.shape[1]):
        h, c = lstm_cell(x[:, t], h, c, weight_ih, weight_hh, bias)  # (batch, h) each
        outputs.append(h)
    return torch.stack(outputs, dim=1), h  # (batch, time, h), (batch, h)


# %% [markdown] slideshow={"slide_type": "subslide"}
# **Bidirectional** means two LSTMs with separate weights: one reads the sentence left to
# right, the other right to left. Each position's output is the two outputs concatenated
# (`2h` numbers). For a whole-sentence label the classifier reads the two **final states**:
# the forward one after the last word and the backward one after the first word — each is the
# only vector that has seen every word, a fixed-size summary of a sentence of any length.
#
# PyTorch's `nn.LSTM` keeps both directions' weights (`…_reverse` for the backward one) and
# two bias vectors per direction, whose sum plays the role of $b$. Our cell must match it; and
# the course's `nlpcourse.models.bilstm.BiLSTMClassifier.encode`, the sentence vector (final
# forward state, final backward state) for token ids, must match our cell on an unpadded batch:

# %% slideshow={"slide_type": "-"}
seed_everything(profile.seed)
small_lstm = nn.LSTM(8, 5, batch_first=True, bidirectional=True)
x = torch.randn(3, 7, 8)  # (batch, time, d)
p = dict(small_lstm.named_parameters())
out_fw, last_fw = lstm_forward(
    x, p["weight_ih_l0"], p["weight_hh_l0"], p["bias_ih_l0"] + p["bias_hh_l0"]
)
out_bw, last_bw = lstm_forward(  # the backward LSTM reads the flipped sentence
    x.flip(1),
    p["weight_ih_l0_reverse"],
    p["weight_hh_l0_reverse"],
    p["bias_ih_l0_reverse"] + p["bias_hh_l0_reverse"],
)  # out_bw: (3, 7, 5) in reading order of the flipped sentence
outputs, (h_n, _) = small_lstm(x)  # outputs: (3, 7, 10), h_n: (2, 3, 5)
with torch.no_grad():
    torch.testing.assert_close(torch.cat([out_fw, out_bw.flip(1)], dim=-1), outputs)
    torch.testing.assert_close(
        torch.cat([last_fw, last_bw], dim=-1), torch.cat([h_n[0], h_n[1]], -1)
    )
print("the written-out cell matches nn.LSTM in both directions, outputs and final states")

twin_check = BiLSTMClassifier(50, 8, 5, 4).eval()
ids = torch.randint(1, 50, (3, 7))  # (batch, time), no padding
p = dict(twin_check.lstm.named_parameters())
with torch.no_grad():
    embedded = twin_check.embedding(ids)  # (3, 7, 8)
    _, fw = lstm_forward(
        embedded, p["weight_ih_l0"], p["weight_hh_l0"], p["bias_ih_l0"] + p["bias_hh_l0"]
    )
    _, bw = lstm_forward(
        embedded.flip(1),
        p["weight_ih_l0_reverse"],
        p["weight_hh_l0_reverse"],
        p["bias_ih_l0_reverse"] + p["bias_hh_l0_reverse"],
    )
    torch.testing.assert_close(torch.cat([fw, bw], dim=-1), twin_check.encode(ids))  # (3, 10)
print("lstm_forward in both directions == BiLSTMClassifier.encode")

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Counting the parameters from the equations.** Each of the 4 gates has $W$ (`h·d`), $U$
# (`h·h`) and $b$ (`h`), so one direction holds $4\,(h(h+d) + h)$ parameters with one bias per
# gate (Keras) and $4h$ more with PyTorch's two. A bidirectional layer doubles it. With the
# article's `d = h = 64`:

# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
d, h = config.embed_dim, config.hidden_size
per_direction = 4 * (h * (h + d) + h)  # 4 gates × (W: h×d, U: h×h, b: h)
assert per_direction == lstm_parameter_count(d, h, bias_vectors=1)
assert count_parameters(nn.LSTM(d, h)) == per_direction + 4 * h  # PyTorch's second bias
assert count_parameters(nn.LSTM(d, h, bidirectional=True)) == 2 * (per_direction + 4 * h)
print(f"one direction, one bias: {per_direction:,}; bidirectional: {2 * per_direction:,}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2 · The article's model in Keras 3
#
# Keras wants every input the same length, so each sequence is cut or padded to
# `config.max_len` tokens. `keras.utils.pad_sequences` pads at the *front* by default
# (`padding="pre"`), so the forward LSTM reads the real words last. Its default
# `truncating="pre"` would cut a long review's *beginning*; `"post"` keeps it.

# %% slideshow={"slide_type": "-"}
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
)  # (validation rows, max_len)
y_val = data.val_set.labels.numpy()  # (validation rows,)
print("x_train", x_train.shape, "x_val", x_val.shape)
print("first training row:", x_train[0][-12:], "(the last 12 of its ids)")


# %% [markdown] slideshow={"slide_type": "subslide"}
# The model, layer for layer as in the article. `keras.Input` fixes the input type up front (any
# length: `None`) so the model is built at once and `summary()` can count its parameters.


# %% slideshow={"slide_type": "-"}
def articles_model(mask_zero=False):
    """The article's Sequential model; ``mask_zero=True`` makes id 0 a mask."""
    return keras.Sequential(
        [
            keras.Input(shape=(None,), dtype="int32"),  # (batch, time) token ids
            keras.layers.Embedding(config.vocab_size, config.embed_dim, mask_zero=mask_zero),
            keras.layers.Bidirectional(keras.layers.LSTM(config.hidden_size)),  # (batch, 128)
            keras.layers.Dense(config.dense_dim, activation="relu"),  # (batch, 64)
            keras.layers.Dense(1, activation="sigmoid"),  # (batch, 1) probability of positive
        ]
    )


keras_model = articles_model()
keras_model.summary()

# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
keras_params = keras_model.count_params()
assert keras_params == 714_369 == bilstm_parameter_count(config.vocab_size, bias_vectors=1)
for layer in keras_model.layers:
    print(f"{layer.name:<16} {layer.count_params():>8,}")
print(f"{'total':<16} {keras_params:>8,}")

# %% [markdown] slideshow={"slide_type": "notes"}
# Nine tenths of the model is the embedding table (10,000 × 64). The LSTM row is the formula
# derived above, twice; the two dense layers are weights plus biases.

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Two copy-paste traps in the article.** Its page shows typographic quotes in
# `activation=’relu’` and `activation=’sigmoid’`; pasted into Python they are not string
# quotes at all, so the line does not even parse. And its torchtext snippet reads `train.csv`
# with `TabularDataset` but no `skip_header=True`, so a CSV with a header row would have fed
# the header to the model as a training example (notebook 02 reads CSVs with `datasets`,
# which takes the header as column names).

# %% slideshow={"slide_type": "-"}
pasted = "keras.layers.Dense(64, activation=’relu’)"  # as the article's page shows it
try:
    compile(pasted, "<pasted from the article>", "eval")
except SyntaxError as error:
    print(f"SyntaxError: {error.msg}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# Now train it with the article's binary cross-entropy, briefly (one epoch on a sample of the
# rows): on the PyTorch backend's CPU path the Keras LSTM steps through time in Python (cuDNN's
# fused kernel is only used on a GPU). "Going further" at the end times it against PyTorch on
# the same batches.

# %% slideshow={"slide_type": "-"}
keras_model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
keras_model.fit(
    x_train, y_train, batch_size=config.batch_size, epochs=config.keras_epochs, verbose=2
)
keras_val_pred = (keras_model.predict(x_val, verbose=0)[:, 0] > 0.5).astype(int)  # (rows,)
print(f"Keras validation accuracy {bootstrap_accuracy(y_val, keras_val_pred)}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# **The model reads its padding.** Without a mask, the pads are fed to both LSTMs like
# words: the backward LSTM even *ends* on them, so its final state depends on how many there
# were. `Embedding(..., mask_zero=True)` marks id 0 as padding; the LSTM then skips those steps
# (it carries its state over them). The mask adds no parameters, so the masked model takes the
# trained weights as they are. The same sentence, padded in different ways:

# %% slideshow={"slide_type": "-"}
masked_model = articles_model(mask_zero=True)
masked_model.set_weights(keras_model.get_weights())
assert masked_model.count_params() == 714_369
review = vocab.encode(regex_tokenize("a gripping , beautifully acted film ."))
paddings = {
    "no padding": np.array([review]),
    "5 pads in front": keras.utils.pad_sequences([review], len(review) + 5, padding="pre"),
    "20 pads in front": keras.utils.pad_sequences([review], len(review) + 20, padding="pre"),
    "10 pads behind": keras.utils.pad_sequences([review], len(review) + 10, padding="post"),
}  # each (1, length)
probabilities = {"without mask": [], "mask_zero=True": []}
for ids_row in paddings.values():
    probabilities["without mask"].append(float(keras_model.predict(ids_row, verbose=0)[0, 0]))
    probabilities["mask_zero=True"].append(float(masked_model.predict(ids_row, verbose=0)[0, 0]))
print(f"{'':<18}" + "".join(f"{name:>18}" for name in paddings))
for model_name, values in probabilities.items():
    print(f"{model_name:<18}" + "".join(f"{p:>18.6f}" for p in values))
assert np.ptp(probabilities["mask_zero=True"]) < 1e-5, "the mask should make padding irrelevant"
assert np.ptp(probabilities["without mask"]) > 1e-4, "without a mask the padding should show"

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3 · The same network in PyTorch
#
# Written out, the PyTorch version makes each step explicit. Two differences from Keras:
#
# * **The sigmoid moves into the loss.** The module returns a *logit* and training uses
#   `binary_cross_entropy_with_logits`, which applies the sigmoid inside the loss in a
#   numerically stable way; `sigmoid(logit)` is the probability Keras outputs.
# * **Lengths are known.** Given each sequence's real length, `pack_padded_sequence` lets the
#   LSTM skip the padding — the PyTorch counterpart of Keras's mask.


# %% slideshow={"slide_type": "subslide"}
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


# %% [markdown] slideshow={"slide_type": "subslide"}
# PyTorch keeps the two bias vectors `bias_ih` and `bias_hh` per direction (for compatibility
# with cuDNN; only their sum matters), so by the formula above it holds 2 directions × 4
# gates × 64 units = 512 parameters more than Keras:

# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
twin = BiLSTMTwin(config.vocab_size, config.embed_dim, config.hidden_size, config.dense_dim)
torch_params = count_parameters(twin)
assert torch_params == 714_881 == bilstm_parameter_count(config.vocab_size)
assert torch_params - keras_params == 2 * 4 * config.hidden_size == 512
print(f"Keras {keras_params:,}  PyTorch {torch_params:,}  difference {torch_params - keras_params}")

# %% [markdown] slideshow={"slide_type": "fragment"}
# The course's `BiLSTMClassifier` is the same network (plus optional dropout, which adds no
# parameters). Its parameters have the same names, so it takes the twin's weights and must
# give the same outputs; from here on the notebook uses it.

# %% slideshow={"slide_type": "-"}
packaged = BiLSTMClassifier(
    config.vocab_size, config.embed_dim, config.hidden_size, config.dense_dim
).eval()
packaged.load_state_dict(twin.state_dict())
ids, lengths, _ = next(iter(data.val_loader))  # ids: (batch, time), lengths: (batch,)
with torch.no_grad():
    torch.testing.assert_close(packaged(ids, lengths), twin.eval()(ids, lengths))
print(
    "the twin and nlpcourse.models.bilstm.BiLSTMClassifier agree on a batch of shape",
    tuple(ids.shape),
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **The same function, not just the same shape.** Copy the trained Keras weights into the twin
# and it must give Keras's answers. Keras stores a kernel as `(inputs, outputs)`, PyTorch as
# `(outputs, inputs)`, hence the transposes; both order the gates i, f, g, o. Keras's single
# bias goes into `bias_ih` and `bias_hh` is set to zero.


# %% slideshow={"slide_type": "-"}
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
keras_probabilities = as_tensor(keras_model.predict(x_val, verbose=0))  # (rows, 1)
with torch.no_grad():  # no lengths: like Keras without a mask, read the whole pre-padded row
    torch_probabilities = torch.sigmoid(ported.eval()(torch.from_numpy(x_val).long()))  # (rows, 1)
torch.testing.assert_close(torch_probabilities, keras_probabilities, atol=1e-5, rtol=1e-4)
print(f"Keras and the twin with Keras's weights agree on all {len(x_val)} validation sentences")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4 · A training loop, written out
#
# PyTorch leaves the training loop to you. One step is five lines: **forward** (logits),
# **loss**, **backward** (every parameter's `.grad`), **step** (the optimizer moves the
# weights) and **zero_grad** (gradients add up across `backward` calls unless cleared). A
# **validation pass** then runs the model without gradients and with dropout off
# (`model.eval()`). Here are a few steps on batches taken once from the training loader:

# %% slideshow={"slide_type": "subslide"}
batches = list(islice(data.train_loader, config.loop_steps))  # the same batches for both runs
seed_everything(profile.seed)
by_hand = BiLSTMClassifier(len(vocab), config.embed_dim, config.hidden_size, config.dense_dim)
start_state = copy.deepcopy(by_hand.state_dict())  # to start fit() from the same weights
by_hand.to(device)
optimizer = torch.optim.Adam(by_hand.parameters(), lr=config.lr)
for ids, lengths, labels in batches:  # ids (batch, time), lengths (batch,), labels (batch,)
    by_hand.train()
    logits = by_hand(ids.to(device), lengths)  # (batch, 1) forward
    loss = nn.functional.binary_cross_entropy_with_logits(
        logits.squeeze(1), labels.to(device).float()
    )  # () the mean loss of the batch
    loss.backward()  # fills .grad of every parameter
    optimizer.step()  # Adam moves each parameter against its gradient
    optimizer.zero_grad()  # clear the gradients for the next batch

by_hand.eval()  # validation pass: dropout off, no gradients
correct = 0
with torch.no_grad():
    for ids, lengths, labels in data.val_loader:
        logits = by_hand(ids.to(device), lengths)  # (batch, 1)
        correct += ((logits.squeeze(1) > 0).long().cpu() == labels).sum().item()
hand_accuracy = correct / len(data.val_set)
print(f"after {len(batches)} steps by hand: validation accuracy {hand_accuracy:.4f}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# `nlpcourse.train.loop.fit` is this loop written once and tested. Started from the same
# weights on the same batches (the model has no dropout here, so no randomness remains), it
# must end at the same weights and the same validation accuracy:

# %% slideshow={"slide_type": "-"}
tidy = BiLSTMClassifier(len(vocab), config.embed_dim, config.hidden_size, config.dense_dim)
tidy.load_state_dict(start_state)
check = fit(
    tidy,
    batches,
    data.val_loader,
    epochs=1,
    optimizer=torch.optim.Adam(tidy.parameters(), lr=config.lr),
    device=device,
    progress=False,
)
for name, weight in by_hand.state_dict().items():
    torch.testing.assert_close(tidy.state_dict()[name], weight)
assert check.last("val_accuracy") == hand_accuracy
print(f"fit() reaches the same weights after {len(check.steps)} steps, and the same accuracy")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5 · `fit()`, the tidy version, over several seeds
#
# On top of the loop, `fit()` adds what a real run needs: a `tqdm` progress bar, gradient
# clipping (`grad_clip`: the gradient's norm is capped, so one odd batch cannot throw the
# weights far), a log of every optimizer step (`history.steps`: loss, learning rate,
# gradient norm), and **early stopping on the validation part**: after each epoch it scores
# the validation sentences, stops once `patience` epochs bring no improvement and restores
# the best epoch's weights. The model adds dropout; the loader batches phrases of similar
# lengths and packs them (bucketing and packing: notebook 02). With `eval_every`, `fit()` also
# scores the validation sentences eight times per epoch, so that validation loss can be drawn
# on the same axes as the training loss.
#
# One run is one draw: its accuracy depends on the seed (initial weights, batch order,
# dropout). So the same recipe is trained once per seed on the same training rows, and the
# result is reported as mean ± standard deviation over the seeds.

# %% slideshow={"slide_type": "subslide"}
seed_rows = config.seed_train_size or len(data.train_set)
order = torch.randperm(len(data.train_set), generator=torch.Generator().manual_seed(profile.seed))
train_rows = order[:seed_rows].tolist()  # the same training rows for every seed
seed_train = EncodedDataset(
    [data.train_set[i][0].tolist() for i in train_rows], data.train_set.labels[train_rows].tolist()
)
runs, val_accuracy, val_predictions, models = {}, {}, {}, {}
for seed in config.seeds:
    seed_everything(seed)
    model = BiLSTMClassifier(
        len(vocab), config.embed_dim, config.hidden_size, config.dense_dim, dropout=config.dropout
    )
    loader = text_loader(seed_train, config.batch_size, "bucket", shuffle=True, seed=seed)
    runs[f"seed {seed}"] = fit(
        model,
        loader,
        data.val_loader,
        epochs=config.epochs,
        optimizer=torch.optim.Adam(model.parameters(), lr=config.lr),
        grad_clip=config.grad_clip,
        patience=config.patience,
        monitor="val_accuracy",
        device=device,
        eval_every=max(1, len(loader) // 8),  # validation 8 times per epoch, for the curves
    )
    val_predictions[seed] = predicted_labels(predict(model, data.val_loader)).numpy()  # (rows,)
    val_accuracy[seed] = float((val_predictions[seed] == y_val).mean())
    models[seed] = model
print(
    f"BiLSTM on {seed_rows:,} training rows, validation accuracy {format_mean_sd(list(val_accuracy.values()))}"
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# The per-step curves of every seed (a running mean over 20 steps, the raw values faint
# behind), with the validation loss (dashed, eight points per epoch) on the same axes as the
# training loss, and the gradient norm before clipping against `grad_clip`. The cell prints
# what the curves show: the training loss at a few points of each run, the validation loss at
# the end of each epoch, and how many steps `grad_clip` actually clipped.

# %% slideshow={"slide_type": "-"}
figure = plot_runs(runs, keys=("loss", "grad_norm"), smooth=20)
figure.axes[1].axhline(config.grad_clip, color="grey", linestyle=":", label="grad_clip")
legend = figure.axes[1].legend(fontsize=8)
marks = (0.25, 0.5, 1.0, 1.5, 2.0)  # points of the run, in epochs
print("training loss, mean of the 20 steps before epoch " + " · ".join(f"{m:g}" for m in marks))
for name, run in runs.items():
    _, losses = run.step_values("loss")
    per_epoch = len(losses) // run.epochs
    means = [np.mean(losses[int(m * per_epoch) - 20 : int(m * per_epoch)]) for m in marks]
    print(f"  {name}: " + " · ".join(f"{value:.3f}" for value in means))
best_seed = max(val_accuracy, key=val_accuracy.get)  # chosen on validation
bilstm = models[best_seed]
for name, run in runs.items():
    _, norms = run.step_values("grad_norm")
    clipped = sum(norm > config.grad_clip for norm in norms)
    train_loss, val_loss = run.history["loss"], run.history["val_loss"]
    trend = (
        "rising while the training loss falls: it has begun to overfit"
        if val_loss[-1] > val_loss[0] and train_loss[-1] < train_loss[0]
        else "still falling"
    )
    print(
        f"{name}: {clipped}/{len(norms)} steps clipped; validation loss at the end of each "
        f"epoch {' → '.join(f'{v:.3f}' for v in val_loss)} ({trend}); kept epoch "
        f"{run.best_epoch + 1}, validation accuracy {run.history['val_accuracy'][run.best_epoch]:.4f}"
    )
assert min(val_accuracy.values()) >= 0.70, "a BiLSTM run is far below the expected accuracy"

# %% [markdown] slideshow={"slide_type": "fragment"}
# Read with the printed numbers: each seed's training loss falls steadily through the first
# epoch (seed 0: 0.654 a quarter in, 0.389 at its end) and then flattens (0.307 halfway
# through the second, 0.288 at the end). The validation loss follows it down only during the
# first epoch, to about 0.5 (0.511, 0.502, 0.536 at its end), and then stays there while the
# training loss keeps falling: what the model learns in the second epoch is mostly about the
# training phrases and does not carry over to new sentences. That is the start of
# overfitting; for seed 1 the validation loss even rises, 0.502 → 0.514. Clipping acted on 1
# step of 626 in each run.

# %% [markdown] slideshow={"slide_type": "subslide"}
# **What the trained cell does with a sentence.** The chosen model's forward LSTM, run with
# the equations above token by token on the sentence from the start: for each of its 64 units
# (rows, sorted by their mean forget gate) and each token (columns), the forget gate $f_t$,
# what is written into the memory ($i_t \odot g_t$) and the cell state $c_t$. Below them, the
# whole model's probability of "positive" for each prefix of the sentence (the first word, the
# first two, …).

# %% slideshow={"slide_type": "-"}
words = regex_tokenize(sentence)
ids = torch.tensor([vocab.encode(words)])  # (1, time)
p = dict(bilstm.lstm.named_parameters())
bias = p["bias_ih_l0"] + p["bias_hh_l0"]  # (256,)
forget, written, memory = [], [], []
with torch.no_grad():
    embedded = bilstm.embedding(ids.to(device))  # (1, time, 64)
    h_t = c_t = embedded.new_zeros(1, config.hidden_size)  # (1, 64) each
    for t in range(ids.shape[1]):
        gates = embedded[:, t] @ p["weight_ih_l0"].T + h_t @ p["weight_hh_l0"].T + bias
        i_t, f_t, g_t, _ = gates.chunk(4, dim=-1)  # (1, 64) each, before their activations
        forget.append(torch.sigmoid(f_t)[0])  # (64,)
        written.append((torch.sigmoid(i_t) * torch.tanh(g_t))[0])  # (64,) added to the memory
        h_t, c_t = lstm_cell(embedded[:, t], h_t, c_t, p["weight_ih_l0"], p["weight_hh_l0"], bias)
        memory.append(c_t[0])  # (64,)
    prefixes = ids.repeat(ids.shape[1], 1)  # (time, time): row k holds the first k + 1 tokens
    prefix_lengths = torch.arange(1, ids.shape[1] + 1)  # (time,)
    prefixes[torch.arange(ids.shape[1])[None, :] >= prefix_lengths[:, None]] = vocab.pad_id
    prefix_probability = (
        torch.sigmoid(bilstm.eval()(prefixes.to(device), prefix_lengths)).squeeze(1).cpu()
    )  # (time,)
forget, written, memory = (torch.stack(x, dim=1).cpu() for x in (forget, written, memory))
order = forget.mean(dim=1).argsort(descending=True)  # (64,) units that keep most on top
gate_figure = plot_gate_heatmaps(
    {
        "forget $f_t$": forget[order],
        "written $i_t g_t$": written[order],
        "cell $c_t$": memory[order],
    },
    words,
    probability=prefix_probability.tolist(),
)
keepers = int((forget.min(dim=1).values > 0.9).sum())
forgetters = int((forget.min(dim=1).values < 0.5).sum())
jump = int(prefix_probability.diff().abs().argmax()) + 1  # the token that moves P the most
print(f"units whose forget gate stays above 0.9 on every token: {keepers} of {config.hidden_size}")
print(
    f"units whose forget gate drops below 0.5 at some token: {forgetters} of {config.hidden_size}"
)
print(
    f"the largest change of P(positive | prefix) comes with {words[jump]!r}: "
    f"{prefix_probability[jump - 1]:.2f} → {prefix_probability[jump]:.2f}"
)
unit_means = forget.mean(dim=1)  # (64,) each unit's forget gate, averaged over the sentence
swing = forget.max(dim=1).values - forget.min(dim=1).values  # (64,) each unit's range over tokens
grew = memory.abs().diff(dim=1) > 0  # (64, time - 1) |c_t| larger than the token before
same_sign = memory[:, 1:].sign() == memory[:, :-1].sign()  # (64, time - 1)
growing = grew & same_sign  # (64, time - 1)
run = longest = torch.zeros(config.hidden_size)  # (64,) each
for step in growing.T:  # (64,) per token: does |c_t| grow, keeping its sign?
    run = (run + 1) * step  # (64,) length of each unit's current growing streak
    longest = torch.maximum(longest, run)  # (64,)
print(
    f"forget gate: mean over all units and tokens {forget.mean():.2f}; per-unit means from "
    f"{unit_means.min():.2f} to {unit_means.max():.2f} (sd {unit_means.std():.2f}); "
    f"median swing of one unit over the sentence {swing.median():.2f}"
)
print(
    f"units whose cell value |c_t| grows (keeping its sign) at >= 3 consecutive tokens: "
    f"{int((longest >= 3).sum())} of {config.hidden_size}; longest streak {int(longest.max())} tokens"
)

# %% [markdown] slideshow={"slide_type": "fragment"}
# The dimmers are not one shared setting near 0.5, although their average over all units and
# tokens is 0.52: each unit's mean forget gate over the sentence lies somewhere between 0.27
# and 0.75 (sd 0.12 across the units), and within one unit the gate swings by 0.75 (the median
# unit) between its lowest and its highest token. None of the 64 units keeps its forget gate
# above 0.9 over the whole sentence and all 64 drop below 0.5 at some token (the printed
# counts), so no unit carries its memory untouched from the first word to the last: each cell
# state row is a running mix that every token rescales and adds to. Some rows build up a value
# over several words: in 23 of the 64, $|c_t|$ grows (keeping its sign) at 3 or more
# consecutive tokens, for up to 6 tokens in a row. The whole model's verdict moves most at
# "flat" (P(positive) 1.00 → 0.79).

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6 · Does the neural network beat counting words?
#
# The article's introduction says neural end-to-end models displaced statistical methods.
# The classic statistical text classifier is **TF-IDF + logistic regression**: each text
# becomes a sparse vector with one weight per word and word pair (high when the n-gram is
# frequent in this text and rare across texts), and a linear model learns one coefficient per
# n-gram. In scikit-learn it is three lines; it trains here on the same rows as the BiLSTM,
# and the package's `tfidf_logreg` (used by later notebooks) must predict the same labels.

# %% slideshow={"slide_type": "subslide"}
train_texts = [data.train_texts[i] for i in train_rows]  # the BiLSTM seeds' training rows
train_labels = data.train_set.labels[train_rows].tolist()
vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
classifier = LogisticRegression(max_iter=1_000, random_state=profile.seed)
classifier.fit(vectorizer.fit_transform(train_texts), train_labels)  # (rows, n-grams) sparse
baseline_val = classifier.predict(vectorizer.transform(data.val_texts))  # (validation rows,)

baseline = tfidf_logreg(train_texts, train_labels, seed=profile.seed)  # the package's twin
assert (baseline.predict(data.val_texts) == baseline_val).all()
assert baseline.parameters == classifier.coef_.size + classifier.intercept_.size
print(f"TF-IDF + logistic regression: {baseline.parameters:,} weights")
print(f"validation accuracy {bootstrap_accuracy(y_val, baseline_val)} (95% bootstrap)")

# %% [markdown] slideshow={"slide_type": "subslide"}
# **What 436 sentences can detect.** Two classifiers compared on the same sentences differ
# only where they disagree: on each such sentence one is right and the other wrong. If they
# disagree on a share $d$ of $n$ sentences, the difference of their accuracies has a standard
# error of about $\sqrt{d/n}$, so a 95 % interval reaches about $1.96\sqrt{d/n}$ either side
# of the measured difference: that is its half-width, the ± the cell below prints
# (`nlpcourse.evaluate.stats.detectable_difference`). A true difference smaller than that
# half-width usually reads as "no difference measurable". The **paired bootstrap** below
# resamples the validation sentences and scores both models on each resample; every BiLSTM seed
# gets its own interval (the baseline is deterministic, the BiLSTM is not).

# %% slideshow={"slide_type": "-"}
typical = detectable_difference(len(y_val), 0.2)
print(
    f"{len(y_val)} sentences, two models disagreeing on 20 % of them: "
    f"a difference is detectable from about ±{typical:.1%}"
)
print(
    f"\n{'BiLSTM minus TF-IDF':<20} {'[95% paired bootstrap]':>31} {'disagree':>9} {'detectable':>11}"
)
differences, detectable = {}, {}
for seed in config.seeds:
    differences[seed] = paired_bootstrap(y_val, val_predictions[seed], baseline_val)
    disagree = disagreement_rate(val_predictions[seed], baseline_val)
    detectable[seed] = detectable_difference(len(y_val), disagree)
    print(
        f"{f'seed {seed}':<20} {differences[seed]!s:>31} {disagree:>9.1%} {detectable[seed]:>10.1%}"
    )
above = all(interval.low > 0 for interval in differences.values())
below = all(interval.high < 0 for interval in differences.values())
print(
    "Every seed's interval lies above zero: the BiLSTM is measurably better at this budget."
    if above
    else "Every seed's interval lies below zero: the baseline is measurably better at this budget."
    if below
    else "The intervals do not all exclude zero: no difference measurable at this budget "
    f"(this evaluation detects differences of about ±{max(detectable.values()):.1%} or more)."
)

# %% [markdown] slideshow={"slide_type": "notes"}
# SST-2's training set is phrases, many of them a few words long, and the validation part is
# a few hundred full sentences, hence intervals several points wide. The article's claim is
# about large data and harder tasks; at this budget the printed verdict is what the data
# allows. The `full` profile trains on every training phrase, but its validation part is the
# same 436 sentences, so it can detect no smaller difference.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 7 · The test part, once
#
# Every choice so far was made on the validation part: the epoch (early stopping), the seed,
# and now the model family — whichever of the chosen BiLSTM and the TF-IDF baseline scored
# higher on validation. Only that model is scored on the test sentences, once.

# %% slideshow={"slide_type": "-"}
baseline_accuracy = float((baseline_val == y_val).mean())
y_test = data.test_set.labels.numpy()
if val_accuracy[best_seed] >= baseline_accuracy:
    chosen = f"BiLSTM (seed {best_seed})"
    test_pred = predicted_labels(predict(bilstm, data.test_loader)).numpy()  # (test rows,)
else:
    chosen = "TF-IDF + logistic regression"
    test_pred = baseline.predict(data.test_texts)  # (test rows,)
print(f"chosen on validation: {chosen}")
print(
    f"test accuracy (scored once): {bootstrap_accuracy(y_test, test_pred)} over {len(y_test)} sentences"
)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 8 · Save, reload, predict
#
# A trained model is two files: the weights as **safetensors** (a plain tensor file that,
# unlike a pickle, cannot run code when loaded) and the vocabulary as JSON (without it the
# weights are useless: an id means nothing without its word). They go to
# `runs/01_keras_bilstm/`, which git ignores; later notebooks reload them from there.

# %% slideshow={"slide_type": "-"}
folder = run_dir("01_keras_bilstm")
save_file(bilstm.state_dict(), folder / "bilstm.safetensors")
vocab.save(folder / "vocab.json")
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
    torch.testing.assert_close(
        probabilities, torch.sigmoid(bilstm.cpu().eval()(ids, lengths)).squeeze(1)
    )
for review, p in zip(reviews, probabilities.tolist(), strict=True):
    print(f"{p:5.2f}  {'positive' if p > 0.5 else 'negative'}  {review}")

# %% [markdown] slideshow={"slide_type": "notes"}
# **The `full` profile.** With `NLPCOURSE_PROFILE=full` the same cells train Keras on all the
# training data for three epochs and five BiLSTM seeds on every training phrase for up to five
# epochs (on a GPU both frameworks use cuDNN's LSTM). That run has not been made for this
# release, so no figure for it is given here.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
#
# **1.** Replace `LSTM(64)` by `LSTM(32)` (still on 64-dimensional embeddings). How many
# parameters does the `Bidirectional` layer then hold in Keras, and how many does the
# bidirectional `nn.LSTM` hold in PyTorch? Work it out from the formula, then check it with code.

# %% slideshow={"slide_type": "-"}
from nlpcourse.exercises.ch01 import (
    check_frozen_trainable,
    check_gru_cell,
    check_lstm_parameters,
    check_padding_invariant,
)

keras_count, torch_count = None, None  # your answer
check_lstm_parameters(keras_count, torch_count)

# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"]
small = keras.layers.Bidirectional(keras.layers.LSTM(32))
small.build((None, config.max_len, 64))
keras_count = small.count_params()
torch_count = count_parameters(nn.LSTM(64, 32, bidirectional=True))
assert check_lstm_parameters(keras_count, torch_count)
print("solution 1 passes")

# %% [markdown] slideshow={"slide_type": "subslide"}
# **2.** A common trick with little data is to freeze the embedding (train everything else).
# Build a fresh `BiLSTMClassifier` with the notebook's sizes, freeze its embedding, and count
# the parameters that still train.

# %% slideshow={"slide_type": "-"}
trainable = None  # your answer
check_frozen_trainable(trainable)

# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"]
frozen = BiLSTMClassifier(len(vocab), config.embed_dim, config.hidden_size, config.dense_dim)
frozen.embedding.weight.requires_grad_(False)
trainable = count_parameters(frozen, trainable_only=True)
assert check_frozen_trainable(trainable)
print("solution 2 passes")

# %% [markdown] slideshow={"slide_type": "subslide"}
# **3.** Packing and Keras's mask both need to know where the padding is. Write a small
# PyTorch classifier that is padding-invariant *on its own*: `model(ids)` gets only the
# `(batch, time)` ids, with 0 as padding in front or behind, and returns one logit per row.
# Suggestion: embed the tokens, average the embeddings of the real tokens only, then a linear
# layer. The check pads random sentences in several ways and compares the outputs.

# %% slideshow={"slide_type": "-"}
my_model = None  # an instance of your nn.Module, e.g. MyClassifier(vocab_size=100)
check_padding_invariant(my_model, vocab_size=100)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"]
class MaskedMean(nn.Module):
    def __init__(self, vocab_size, embed_dim=16):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.head = nn.Linear(embed_dim, 1)

    def forward(self, ids):
        real = (ids != 0).unsqueeze(-1).float()  # (batch, time, 1): 1 for tokens, 0 for pads
        summed = (self.embedding(ids) * real).sum(dim=1)  # (batch, embed_dim)
        return self.head(summed / real.sum(dim=1).clamp(min=1))  # (batch, 1)


assert check_padding_invariant(MaskedMean(100), vocab_size=100)
print("solution 3 passes")


# %% [markdown] slideshow={"slide_type": "subslide"}
# **4.** The GRU is the LSTM's lighter cousin: no separate cell state, and two gates instead of
# three. PyTorch's `nn.GRUCell` stacks its weights in the order reset $r$, update $z$, new $n$,
# and computes
#
# $$
# \begin{aligned}
# r &= \sigma(W_r x + b_{ir} + U_r h + b_{hr}), \qquad z = \sigma(W_z x + b_{iz} + U_z h + b_{hz})\\
# n &= \tanh\big(W_n x + b_{in} + r \odot (U_n h + b_{hn})\big), \qquad h' = (1 - z) \odot n + z \odot h
# \end{aligned}
# $$
#
# Write `gru_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh)` for `x` of shape
# `(batch, input)` and `h` of shape `(batch, hidden)`, with the four tensors as `nn.GRUCell`
# stores them (`weight_ih`: `(3·hidden, input)`, …). The check compares it with `nn.GRUCell`.

# %% slideshow={"slide_type": "-"}
gru_cell = None  # your function
check_gru_cell(gru_cell)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"]
def gru_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    r_x, z_x, n_x = (x @ weight_ih.T + bias_ih).chunk(3, dim=-1)  # (batch, hidden) each
    r_h, z_h, n_h = (h @ weight_hh.T + bias_hh).chunk(3, dim=-1)  # (batch, hidden) each
    r, z = torch.sigmoid(r_x + r_h), torch.sigmoid(z_x + z_h)  # (batch, hidden) each
    return (1 - z) * torch.tanh(n_x + r * n_h) + z * h  # (batch, hidden)


assert check_gru_cell(gru_cell)
print("solution 4 passes")

# %% [markdown] slideshow={"slide_type": "slide"}
# # Going further
#
# Two side topics, not needed for the notebooks that follow: the article's two frameworks
# raced on the same batches, and the article's "static graphs" in today's PyTorch.
#
# ## A · Keras and PyTorch side by side
#
# A fair race needs the same inputs: the twin trains on **exactly Keras's rows**, padded to
# the same fixed length without packing, with the same batch size, epochs and Adam learning
# rate, and with its weights drawn the way Keras draws them (uniform embedding, Glorot input
# kernels, orthogonal recurrent kernels, zero biases except 1 for the forget gate).


# %% slideshow={"slide_type": "subslide"}
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
seed_everything(profile.seed)
same_inputs = init_like_keras(
    BiLSTMTwin(config.vocab_size, config.embed_dim, config.hidden_size, config.dense_dim)
)
same_inputs_history = fit(
    same_inputs,
    fixed_train,
    fixed_val,
    epochs=config.keras_epochs,
    optimizer=torch.optim.Adam(same_inputs.parameters()),  # Keras's default: lr 1e-3
    device=device,
)
same_inputs_val = predicted_labels(predict(same_inputs, fixed_val)).numpy()  # (rows,)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Speed on the same batches.** A few fixed-length training batches are taken once; each
# framework trains on them (on a copy of its model, so the models above are untouched) after
# a warm-up pass, the same number of times, and the median is reported.

# %% slideshow={"slide_type": "-"}
bench = list(islice(fixed_train, config.bench_batches))  # [(ids (batch, max_len), labels (batch,))]
keras_copy = articles_model()
keras_copy.set_weights(keras_model.get_weights())
keras_copy.compile(optimizer="adam", loss="binary_crossentropy")
bench_numpy = [(ids.numpy(), labels.numpy().astype("float32")) for ids, labels in bench]
torch_copy = copy.deepcopy(same_inputs).to(device).train()
torch_optimizer = torch.optim.Adam(torch_copy.parameters())


def keras_pass():
    for ids, labels in bench_numpy:
        keras_copy.train_on_batch(ids, labels)


def torch_pass():
    for ids, labels in bench:
        loss = nn.functional.binary_cross_entropy_with_logits(
            torch_copy(ids.to(device)).squeeze(1), labels.to(device).float()
        )  # ()
        loss.backward()
        torch_optimizer.step()
        torch_optimizer.zero_grad()


bench_samples = sum(len(labels) for _, labels in bench)
keras_speed = bench_samples / median_seconds(keras_pass, repeats=config.bench_repeats)
torch_speed = bench_samples / median_seconds(torch_pass, repeats=config.bench_repeats)
print(f"training samples/s on the same {len(bench)} batches of length {config.max_len}:")
print(
    f"  Keras 3 (torch backend) {keras_speed:,.0f} · PyTorch {torch_speed:,.0f} · ratio {torch_speed / keras_speed:.1f}×"
)

# %% slideshow={"slide_type": "subslide"}
table = [
    ("Keras 3, the article's model", keras_params, keras_speed, keras_val_pred),
    (
        "PyTorch twin, same inputs and init",
        count_parameters(same_inputs),
        torch_speed,
        same_inputs_val,
    ),
]
print(f"{'model':<38} {'parameters':>10} {'train samples/s':>16}  validation accuracy [95% CI]")
for name, params, speed, predictions in table:
    print(f"{name:<38} {params:>10,} {speed:>16,.0f}  {bootstrap_accuracy(y_val, predictions)}")
framework_gap = paired_bootstrap(y_val, same_inputs_val, keras_val_pred)
framework_detectable = detectable_difference(
    len(y_val), disagreement_rate(same_inputs_val, keras_val_pred)
)
print(f"\nPyTorch twin minus Keras, same inputs: {framework_gap} (95% paired bootstrap)")
print(
    "The frameworks differ measurably in accuracy here."
    if framework_gap.excludes_zero()
    else "No accuracy difference between the frameworks is measurable at this budget "
    f"(detectable from about ±{framework_detectable:.1%})."
)

# %% [markdown] slideshow={"slide_type": "notes"}
# The table's two rows see identical inputs, so the printed speed ratio is the frameworks' on
# this CPU (the Keras LSTM steps through time in Python on the torch backend, `nn.LSTM` runs
# one fused kernel). Their accuracy difference, −0.0138 after one epoch on a sample, mixes
# framework with the luck of one seed, and its paired interval [−0.0459, +0.0183] contains
# zero: no difference is measurable at this budget (detectable from about ±3.3 %). The
# course's own recipe (§5) adds the seed runs' training data, dropout, packing and early
# stopping.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## B · Static and eager graphs
#
# The article praises TensorFlow 2 for offering both *eager* execution (run each operation as
# Python reaches it: easy to debug) and *static graphs* (the whole computation captured
# ahead of time: it can be optimised, saved and served without Python — "industrial
# deployment"). PyTorch is eager by default and offers two capture tools:
#
# * `torch.compile(model)` traces the model on its first call and generates fused code for
#   it (C++ on a CPU, Triton on a GPU): for **speed** inside a Python program. The first call
#   pays for the compilation, which on two CPU cores takes a large share of this notebook's
#   budget, so it is not run here.
# * `torch.export.export(model, example_inputs)` captures one graph of ATen operations ahead of
#   time, with no Python left: for **deployment** (saved with `torch.export.save`, loaded in a
#   server or compiled further by AOTInductor or ExecuTorch). Capturing is cheap, and making
#   the Python program faster is not its purpose: the cell below measures what it costs.
#
# Keras has the same switch: `model.compile(..., jit_compile=True)`. On the torch backend it
# means `torch.compile` of the training step; the default `"auto"` stays eager there.
#
# Export needs fixed-shape inputs here, so the model reads fixed-length padded validation
# batches without packing (lengths are data-dependent control flow).

# %% slideshow={"slide_type": "subslide"}
eager = BiLSTMClassifier(
    len(vocab), config.embed_dim, config.hidden_size, config.dense_dim, packed=False
)
eager.load_state_dict(bilstm.state_dict())
eager.to(device).eval()
infer = [b.to(device) for b in torch.from_numpy(x_val).long().split(config.batch_size)]
infer = [b for b in infer if len(b) == config.batch_size][
    : config.bench_batches
]  # (batch, max_len) each
start = time.perf_counter()
with warnings.catch_warnings():  # nn.LSTM's flat-weight cache is not the lesson here
    warnings.filterwarnings("ignore", message="The tensor attributes", category=UserWarning)
    exported = torch.export.export(eager, (infer[0],))
export_seconds = time.perf_counter() - start
program = exported.module()
with torch.inference_mode():
    for ids in infer:
        torch.testing.assert_close(program(ids), eager(ids))  # (batch, 1) the same logits


@torch.inference_mode()
def run_all(model):
    for ids in infer:
        model(ids)


infer_samples = sum(len(ids) for ids in infer)
eager_speed = infer_samples / median_seconds(lambda: run_all(eager), repeats=config.bench_repeats)
export_speed = infer_samples / median_seconds(
    lambda: run_all(program), repeats=config.bench_repeats
)
print(f"export took {export_seconds:.1f} s; the exported program gives the same logits")
print(
    f"inference samples/s on the same {len(infer)} batches: eager {eager_speed:,.0f} · exported {export_speed:,.0f} · ratio {export_speed / eager_speed:.2f}×"
)
print(exported.graph_signature.user_inputs, "→", len(exported.graph.nodes), "graph nodes")

# %% slideshow={"slide_type": "skip"}
print(f"this notebook ran for {time.perf_counter() - notebook_start:.0f} s up to here")
