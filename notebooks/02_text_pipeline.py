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
# # 02 · From CSV to padded batches: the text pipeline, piece by piece
#
# Notebook 01 called `sst2_loaders(profile)` and got batches. This notebook opens that box.
# The article's PyTorch example does its preprocessing with **torchtext**: a `Field` built with
# `tokenize='spacy', lower=True` for the text column, a second `Field` with
# `sequential=False, use_vocab=False` for the label, and `TabularDataset(path=…, format='csv',
# fields=…)` to read a CSV file through those fields.
#
# One `Field` object did a lot at once: it tokenised (with spaCy), lower-cased, built a
# vocabulary (`TEXT.build_vocab(train_data, max_size=…, min_freq=…)`), turned tokens into ids
# and padded batches (with `BucketIterator` grouping sentences of similar length).
# `TabularDataset` read rows into `Example` objects according to the fields.
#
# **What changed.** Those classes were moved to `torchtext.legacy` in torchtext 0.9 and
# deleted in 0.12 (2022); torchtext itself stopped being developed in 2024 and is not part of
# current PyTorch installs. The jobs it bundled are now done by separate, simpler tools, and
# each one's effect can be measured:
#
# | torchtext (gone) | job | today, in this notebook |
# |---|---|---|
# | `TabularDataset(path, format='csv', fields=…)` | read a CSV | `datasets.load_dataset("csv", data_files=…)` |
# | `Field(tokenize='spacy', lower=True)` | tokenise, lower-case | a regex tokenizer; a subword tokenizer trained with `tokenizers` |
# | `TEXT.build_vocab(…, max_size, min_freq)` | token → id table | `nlpcourse.vocab.Vocabulary` |
# | `Field(sequential=False, use_vocab=False)` | labels as they are | an integer `ClassLabel` column |
# | `BucketIterator`, `include_lengths=True` | pad batches, group by length, lengths | a `collate_fn`, a bucketing batch sampler, `pack_padded_sequence` |

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from datasets import ClassLabel, load_dataset
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from nlpcourse.batching import (
    BucketBatchSampler,
    EncodedDataset,
    PadCollate,
    encode_tokens,
    padding_mask,
    sst2_subset,
    text_loader,
)
from nlpcourse.bilstm import BiLSTMClassifier
from nlpcourse.config import get_device, get_profile, seed_everything
from nlpcourse.data import load_sst2
from nlpcourse.paths import run_dir
from nlpcourse.tokenize import (
    regex_tokenize,
    subword_tokenizer_fn,
    tokenize_all,
    train_subword_tokenizer,
)
from nlpcourse.training import fit, predict, predicted_labels
from nlpcourse.vocab import Vocabulary

profile = get_profile()
seed_everything(profile.seed)
config = profile.bilstm
device = get_device()
torch.set_num_threads(1)  # small recurrent models: one thread is fastest on a shared CPU
print(f"profile {profile.name!r}, device {device}")

try:
    from torchtext.data import Field, TabularDataset  # noqa: F401 - the article's import
except ImportError as error:
    print(f"the article's import fails today: {type(error).__name__}: {error}")

# %% [markdown]
# ## 1 · Reading a CSV with `datasets` (the `TabularDataset` role)
#
# To have a CSV like the article's `train.csv`, we write the profile's SST-2 training rows and its
# validation split to `runs/02_text_pipeline/` (ignored by git), then read them back the
# modern way. `load_dataset("csv", …)` parses the file with pandas, stores it as an Arrow
# table on disk (memory-mapped, so even large files do not fill the RAM) and returns a
# `DatasetDict`.

# %%
sst2 = sst2_subset(profile)  # the same rows as notebook 01 (local folder or hub)
folder = run_dir("02_text_pipeline")
files = {}
for split, part in sst2.items():
    files[split] = str(folder / f"sst2_{split}.csv")
    pd.DataFrame({"text": part["text"], "label": part["label"]}).to_csv(files[split], index=False)
print((folder / "sst2_validation.csv").read_text()[:160])

# %%
csv_data = load_dataset("csv", data_files=files, cache_dir=str(folder / "datasets-cache"))
csv_data = csv_data.cast_column("label", ClassLabel(names=["negative", "positive"]))
print(csv_data)
print(csv_data["train"].features)

# %% [markdown]
# **The same data from the hub.** With a connection, one line gets SST-2 from the Hugging
# Face hub: `load_dataset("stanfordnlp/sst2")` (its columns are `idx`, `sentence`, `label`).
# This course often runs offline, so the cell below says plainly what happened;
# `nlpcourse.data.load_sst2()`, used everywhere else, tries the local data folder first and the
# hub second, and renames the columns to `text` and `label`.

# %%
try:
    hub_data = load_dataset("stanfordnlp/sst2")
    print(hub_data)
except Exception as error:  # offline here: HF_HUB_OFFLINE=1 or no network
    print(f"the hub is not reachable from here ({type(error).__name__}):")
    print("   ", str(error).splitlines()[0])
local = load_sst2(["validation"])
assert list(local["validation"]["text"]) == list(csv_data["validation"]["text"])
print("load_sst2() found it anyway:", local)

# %% [markdown]
# ## 2 · Tokenising
#
# The article asked spaCy to tokenise. SST-2's text is already split the way spaCy would
# split it (`"it 's"`, `"does n't"`, punctuation set apart), so a regular expression that
# lower-cases and separates words, contraction pieces and punctuation does the same job here,
# without installing spaCy and its English model. It splits raw text the same way, so a new
# review typed by hand gets the tokens the vocabulary knows:

# %% keep_output=true
# NBVAL_CHECK_OUTPUT
sentence = "It's not a great film, but the actors don't waste a minute."
print(regex_tokenize(sentence))
assert regex_tokenize(sentence) == regex_tokenize(
    "it 's not a great film , but the actors do n't waste a minute ."
)

# %% [markdown]
# A word-level vocabulary has a blind spot: a word it never saw becomes `<unk>`. A **subword**
# tokenizer keeps frequent words whole and splits the others into known pieces (a piece that
# continues a word is written with `##`), the idea behind BERT's WordPiece (notebook 03). The
# `tokenizers` library trains one on our training text in a few seconds:

# %%
texts = {split: list(part["text"]) for split, part in csv_data.items()}
labels = {split: list(part["label"]) for split, part in csv_data.items()}
start = time.perf_counter()
wordpiece = train_subword_tokenizer(texts["train"], vocab_size=config.subword_vocab_size)
print(
    f"trained a WordPiece vocabulary of {wordpiece.get_vocab_size():,} in "
    f"{time.perf_counter() - start:.1f} s"
)
subword_tokenize = subword_tokenizer_fn(wordpiece)
print(subword_tokenize(sentence))
print(subword_tokenize("an unwatchably overlong rewatchability mess"))

# %% [markdown]
# Which tokenizer suits this data? Three numbers on the validation split: how many words each
# needs in its vocabulary, how often a validation token is unknown, and how long the
# sequences get (the LSTM's cost grows with length).

# %%
word_tokens = {split: tokenize_all(texts[split]) for split in texts}
piece_tokens = {split: tokenize_all(texts[split], subword_tokenize) for split in texts}
word_capped = Vocabulary.build(word_tokens["train"], max_size=config.vocab_size)
word_all = Vocabulary.build(word_tokens["train"])
piece_vocab = Vocabulary(
    [t for t, _ in sorted(wordpiece.get_vocab().items(), key=lambda item: item[1])][2:]
)  # the WordPiece ids, with <pad>=0 and <unk>=1 as in the tokenizer


def describe(name, vocab, token_lists):
    lengths = np.array([len(tokens) for tokens in token_lists])
    return (
        name,
        len(vocab),
        vocab.unknown_rate(token_lists),
        lengths.mean(),
        np.percentile(lengths, 95),
    )


rows = [
    describe(f"regex, {config.vocab_size:,} most frequent", word_capped, word_tokens["validation"]),
    describe("regex, every training word", word_all, word_tokens["validation"]),
    describe("WordPiece (subword)", piece_vocab, piece_tokens["validation"]),
]
print(f"{'tokenizer':<30} {'vocab':>7} {'unknown':>8} {'mean len':>9} {'95% len':>8}")
for name, size, unknown, mean, p95 in rows:
    print(f"{name:<30} {size:>7,} {unknown:>8.2%} {mean:>9.1f} {p95:>8.0f}")

# %% [markdown]
# The word vocabulary capped at the article's 10,000 ids misses a noticeable share of the
# validation tokens; keeping every training word helps only partly (new sentences bring new
# words), at the cost of a larger embedding table. The subword tokenizer has almost no unknown
# tokens with the same 10,000 ids, paying with somewhat longer sequences. The rest of this
# notebook stays with the regex tokenizer and the article's 10,000 ids, as notebook 01 does.
#
# ## 3 · The vocabulary
#
# `Vocabulary.build` counts tokens and assigns ids: the special tokens first (`<pad>` = 0,
# `<unk>` = 1), then the tokens from most to least frequent, ties in alphabetical order — so
# the same text always gives the same ids. `min_freq` drops rare tokens and `max_size` caps
# the total (specials included).

# %%
for min_freq in (1, 2, 3, 5):
    size = len(Vocabulary.build(word_tokens["train"], min_freq=min_freq))
    print(f"min_freq={min_freq}: {size:>6,} ids")
vocab = word_capped
print(vocab)
print("least frequent kept:", vocab.itos[-3:], [vocab.counts[t] for t in vocab.itos[-3:]])

# %% keep_output=true
# NBVAL_CHECK_OUTPUT
ids = vocab.encode(regex_tokenize(sentence))
print(ids)
print(vocab.decode(ids))

# %% [markdown]
# ## 4 · Numericalising and collating with dynamic padding
#
# Ids per sentence have different lengths; a batch must be a rectangle. A `collate_fn` pads
# each batch, and it should pad only to the **longest sequence in that batch** (dynamic
# padding), not to a global maximum. It also returns each row's real length, which the LSTM
# needs to skip the padding, and from which a mask follows.

# %%
train_set = EncodedDataset(
    encode_tokens(word_tokens["train"], vocab, config.max_len), labels["train"]
)
val_set = EncodedDataset(
    encode_tokens(word_tokens["validation"], vocab, config.max_len), labels["validation"]
)
examples = [val_set[i] for i in range(4)]  # 4 × (ids, label)
dynamic_ids, dynamic_lengths, batch_labels = PadCollate(vocab.pad_id)(examples)
fixed_ids, fixed_lengths, _ = PadCollate(vocab.pad_id, fixed_len=config.max_len)(examples)
print(dynamic_ids)
print(padding_mask(dynamic_lengths).int())  # (4, time): 1 at real tokens

# %% keep_output=true
# NBVAL_CHECK_OUTPUT
print("dynamic padding:", tuple(dynamic_ids.shape), "lengths", dynamic_lengths.tolist())
print("fixed padding:  ", tuple(fixed_ids.shape), "lengths", fixed_lengths.tolist())
print("labels", batch_labels.tolist())

# %% [markdown]
# ## 5 · Fixed padding, dynamic padding, bucketing: what each costs
#
# Three ways to batch the same training epoch:
#
# * **fixed** — every sequence padded to `max_len` (what Keras needed in notebook 01);
# * **dynamic** — shuffled batches, each padded to its own longest sequence;
# * **bucketing** — `BucketBatchSampler` shuffles, cuts the data into pools of 50 batches,
#   sorts each pool by length and cuts it into batches, then shuffles the batch order: every
#   sentence still appears once per epoch in a random batch, but its batch-mates have about
#   its length, so there is little left to pad.
#
# The sampler yields lists of indices; the lengths inside a batch are close:

# %%
sampler = BucketBatchSampler(train_set.lengths, config.batch_size, seed=profile.seed)
for batch in list(sampler)[:3]:
    batch_lengths = [train_set.lengths[i] for i in batch]
    print(f"{len(batch)} sentences of lengths {min(batch_lengths)}..{max(batch_lengths)}")

# %% [markdown]
# Now the padding each way processes in one epoch (counted exactly, no training needed):

# %%
loaders = {
    "fixed": text_loader(
        train_set,
        config.batch_size,
        "fixed",
        shuffle=True,
        seed=profile.seed,
        fixed_len=config.max_len,
    ),
    "dynamic": text_loader(
        train_set, config.batch_size, "dynamic", shuffle=True, seed=profile.seed
    ),
    "bucketing": text_loader(
        train_set, config.batch_size, "bucket", shuffle=True, seed=profile.seed
    ),
}
padding = {}
for name, loader in loaders.items():
    total = real = 0
    for ids, lengths, _ in loader:  # ids: (batch, time)
        total += ids.numel()
        real += int(lengths.sum())
    padding[name] = (real, total - real)
    print(f"{name:<10} {total - real:>10,} padding tokens for {real:,} real ones")

# %%
fig, ax = plt.subplots(figsize=(6, 2.6))
names = list(padding)
ax.barh(names, [padding[n][0] for n in names], label="real tokens")
ax.barh(
    names,
    [padding[n][1] for n in names],
    left=[padding[n][0] for n in names],
    label="padding",
    color="lightgray",
)
ax.set(xlabel="tokens processed in one training epoch")
ax.legend(loc="lower right")
ax.invert_yaxis()
fig.tight_layout()
fig.savefig(folder / "padding_per_epoch.png", dpi=80)

# %% [markdown]
# Padding is work: an LSTM reading a padded batch steps through every position. Next, the
# training speed of the same model on each loader, timed over the first
# `config.timing_batches` batches of an epoch — once with the LSTM reading the whole padded
# rectangle, once with packed sequences (below), which skip the padding but cost a little
# bookkeeping.


# %%
def samples_per_second(loader, packed, batches):
    seed_everything(profile.seed)
    model = BiLSTMClassifier(
        len(vocab), config.embed_dim, config.hidden_size, config.dense_dim, packed=packed
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    seen, start = 0, time.perf_counter()
    for step, (ids, lengths, targets) in enumerate(loader):
        if step == batches:
            break
        loss = loss_fn(model(ids, lengths).squeeze(1), targets.float())  # logits: (batch,)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        seen += len(targets)
    return seen / (time.perf_counter() - start)


speed = {
    (name, packed): samples_per_second(loader, packed, config.timing_batches)
    for name, loader in loaders.items()
    for packed in (False, True)
}
print(
    f"{'batching':<10} {'padding/epoch':>14} {'pad share':>10} "
    f"{'samples/s (pads read)':>22} {'samples/s (packed)':>19}"
)
for name in loaders:
    real, pads = padding[name]
    print(
        f"{name:<10} {pads:>14,} {pads / (real + pads):>10.0%} "
        f"{speed[name, False]:>22,.0f} {speed[name, True]:>19,.0f}"
    )

# %% [markdown]
# ## 6 · Packed sequences: stop the pads from leaking in
#
# An LSTM's last hidden state is meant to summarise the sentence. Without help, in a padded
# batch the forward direction keeps running through the pads after the last word, and the
# backward direction *starts* on the pads: both final states carry padding. `pack_padded_sequence`
# stores the batch without the pads, together with the lengths, so each row's LSTM stops at
# its own last token:

# %%
embedded = torch.randn(3, 5, 4)  # (batch, time, features): 3 rows of lengths 5, 2, 3
lengths = torch.tensor([5, 2, 3])
packed = pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)
print("packed data", tuple(packed.data.shape), "= 10 real time steps of 4 features")
print("rows still running at each time step:", packed.batch_sizes.tolist())
unpacked, unpacked_lengths = pad_packed_sequence(packed, batch_first=True)  # back to (3, 5, 4)
assert torch.equal(unpacked_lengths, lengths)

# %% [markdown]
# The effect on a model: the same sentence, alone and with ten pads after it. With packing,
# the output cannot change; without it, it does.

# %%
seed_everything(profile.seed)
probe = BiLSTMClassifier(len(vocab), config.embed_dim, config.hidden_size, config.dense_dim).eval()
alone = torch.tensor([vocab.encode(regex_tokenize("a charming film ."))])  # (1, 4)
padded = torch.cat([alone, torch.zeros(1, 10, dtype=torch.long)], dim=1)  # (1, 14)
with torch.no_grad():
    for packed in (True, False):
        probe.packed = packed
        a, b = probe(alone, torch.tensor([4])), probe(padded, torch.tensor([4]))
        print(f"packed={packed!s:<5}  alone {a.item():+.5f}   with 10 pads {b.item():+.5f}")
        assert torch.allclose(a, b) == packed

# %% [markdown]
# Does it matter after training? Two identical models, the same seed, the same dynamically
# padded training batches; one packs, the other reads the pads. Then each is scored on the
# validation split batched three ways: padded dynamically in training-size batches, padded to the
# fixed `max_len`, and one sentence at a time (no padding at all).


# %%
val_loaders = {
    f"dynamic, batches of {config.batch_size}": text_loader(val_set, config.batch_size, "dynamic"),
    f"fixed, {config.max_len} tokens": text_loader(
        val_set, config.batch_size, "fixed", fixed_len=config.max_len
    ),
    "one at a time, no padding": text_loader(val_set, 1, "dynamic"),
}
models, answers = {}, {}
for packed in (True, False):
    seed_everything(profile.seed)
    models[packed] = BiLSTMClassifier(
        len(vocab),
        config.embed_dim,
        config.hidden_size,
        config.dense_dim,
        dropout=config.dropout,
        packed=packed,
    )
    train_loader = text_loader(
        train_set, config.batch_size, "dynamic", shuffle=True, seed=profile.seed
    )
    fit(
        models[packed],
        train_loader,
        epochs=config.packing_epochs,
        grad_clip=config.grad_clip,
        optimizer=torch.optim.Adam(models[packed].parameters(), lr=config.lr),
        device=device,
    )
    for name, loader in val_loaders.items():  # the loaders keep the sentences' order
        answers[name, packed] = predicted_labels(predict(models[packed], loader))  # (872,)

print(f"{'validation batches':<28} {'packed':>8} {'pads read':>10}")
for name in val_loaders:
    packed_acc, pads_acc = (
        (answers[name, p] == val_set.labels).float().mean() for p in (True, False)
    )
    print(f"{name:<28} {packed_acc:>8.4f} {pads_acc:>10.4f}")

# %%
changed = {}
for packed in models:
    fixed_pred = answers[f"fixed, {config.max_len} tokens", packed]
    alone_pred = answers["one at a time, no padding", packed]
    changed[packed] = int((fixed_pred != alone_pred).sum())
print(
    f"validation answers that change with the padding: packed {changed[True]}, "
    f"pads read {changed[False]} (of {len(val_set)})"
)

# %% [markdown]
# Read the table by rows and by columns. The packed model's answers do not depend on how the
# sentences are batched (at most a borderline case flips from rounding). The model that reads
# the pads was trained with them, and an LSTM can partly learn to carry its state across pad
# steps (here the pad embedding is a zero vector), so on padding like its training batches it
# may score close to the packed model; but its answer for a sentence depends on how much
# padding its batch-mates bring — a model whose prediction changes with the company it is
# batched with is a bug, whatever its average accuracy.
#
# Bucketing and packing go together: bucketing removes most of the padding, so there is
# little left to leak, and packing makes the rest harmless. `sst2_loaders` (notebook 01) uses
# both.
#
# ## Exercises
#
# **1.** Build a vocabulary from the training tokens (`word_tokens["train"]`) that keeps only
# tokens seen at least twice, with at most 5,000 ids in all.

# %%
from nlpcourse.exercises.ch02 import check_fixed_padding, check_padding_mask, check_vocab

my_vocab = None  # your answer
check_vocab(my_vocab, word_tokens["train"], min_freq=2, max_size=5_000)

# %% jupyter={"source_hidden": true} tags=["solution"]
my_vocab = Vocabulary.build(word_tokens["train"], min_freq=2, max_size=5_000)
assert check_vocab(my_vocab, word_tokens["train"], min_freq=2, max_size=5_000)

# %% [markdown]
# **2.** Attention layers (notebook 04) need a mask instead of lengths. For the batch of
# lengths below, build the `(batch, time)` boolean mask that is True at real tokens, using
# only tensor operations (no loop).

# %%
lengths = torch.tensor([5, 2, 7, 1])
my_mask = None  # your answer
check_padding_mask(my_mask, lengths)

# %% jupyter={"source_hidden": true} tags=["solution"]
my_mask = torch.arange(int(lengths.max()))[None, :] < lengths[:, None]  # (4, 7)
assert check_padding_mask(my_mask, lengths)

# %% [markdown]
# **3.** How many padding tokens does fixed-length padding to `config.max_len` add to the
# validation split? Use the untruncated lengths, `[len(t) for t in word_tokens["validation"]]`
# — careful with sentences longer than `max_len`.

# %%
val_lengths = [len(tokens) for tokens in word_tokens["validation"]]
my_pads = None  # your answer
check_fixed_padding(my_pads, val_lengths, config.max_len)

# %% jupyter={"source_hidden": true} tags=["solution"]
my_pads = sum(max(0, config.max_len - length) for length in val_lengths)
assert check_fixed_padding(my_pads, val_lengths, config.max_len)
