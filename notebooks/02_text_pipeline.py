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
# # 02 · From CSV to padded batches: the text pipeline, piece by piece
#
# Notebook 01 called `sst2_loaders` and got batches. This notebook opens that box and
# writes each piece in the open: the vocabulary, the collate function, the length-bucketing
# sampler. The article's PyTorch example does this preprocessing with **torchtext**: a `Field`
# built with `tokenize='spacy', lower=True` for the text column, a second `Field` with
# `sequential=False, use_vocab=False` for the label, and `TabularDataset(path=…, format='csv',
# fields=…)` to read a CSV file through those fields.

# %% [markdown] slideshow={"slide_type": "subslide"}
# **What changed.** Those classes moved to `torchtext.legacy` in torchtext 0.9 and were
# deleted in 0.12 (2022); torchtext stopped being developed in 2024. The jobs one `Field` bundled
# are now done by separate, simpler tools, and each one's effect can be measured:
#
# | torchtext (gone) | job | today, in this notebook |
# |---|---|---|
# | `TabularDataset(path, format='csv', fields=…)` | read a CSV | `datasets.load_dataset("csv", …)`, then `.map` |
# | `Field(tokenize='spacy', lower=True)` | tokenise, lower-case | a regex tokenizer; a subword tokenizer trained with `tokenizers` |
# | `TEXT.build_vocab(…, max_size, min_freq)` | token → id table | a counter and a sort (§3) |
# | `Field(sequential=False, use_vocab=False)` | labels as they are | an integer `ClassLabel` column |
# | `BucketIterator`, `include_lengths=True` | pad batches, group by length, lengths | a `collate_fn` (§4), a bucketing sampler (§5), `pack_padded_sequence` (§6) |
#
# One copy-paste trap of the article: its CSV has a header row, and `TabularDataset` needed
# `skip_header=True` or the header became a training example. `load_dataset("csv")` reads the
# header as column names.

# %% slideshow={"slide_type": "skip"}
from collections import Counter
from functools import partial
from itertools import islice

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from datasets import ClassLabel, disable_progress_bars, load_dataset
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from nlpcourse.config import get_device, get_profile, seed_everything
from nlpcourse.data.datasets import load_sst2
from nlpcourse.data.runs import run_dir
from nlpcourse.data.splits import sst2_subset
from nlpcourse.evaluate.stats import min_detectable_difference, paired_bootstrap
from nlpcourse.evaluate.timing import median_seconds
from nlpcourse.models.bilstm import BiLSTMClassifier
from nlpcourse.plots.batching import draw_padded_and_packed, plot_length_histograms
from nlpcourse.text.batching import (
    BucketBatchSampler,
    EncodedDataset,
    PadCollate,
    encode_tokens,
    text_loader,
)
from nlpcourse.text.tokenize import regex_tokenize, subword_tokenizer_fn, train_subword_tokenizer
from nlpcourse.text.vocab import Vocabulary
from nlpcourse.train.loop import fit, predict, predicted_labels

profile = get_profile()
seed_everything(profile.seed)
config = profile.bilstm
device = get_device()
torch.set_num_threads(1)  # every timing below runs on one CPU thread
disable_progress_bars()  # no 'Map: 0%' bars from datasets
print(f"profile {profile.name!r}, device {device}")

try:
    from torchtext.data import Field, TabularDataset  # noqa: F401 - the article's import
except ImportError as error:
    print(f"the article's import fails today: {type(error).__name__}: {error}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1 · Reading a CSV with `datasets` (the `TabularDataset` role)
#
# To have a CSV like the article's `train.csv`, we write the profile's SST-2 training phrases
# and the validation sentences to `runs/02_text_pipeline/` (ignored by git). The course's
# held-out **test** sentences are not written: nothing in this notebook is scored on them.
# `load_dataset("csv", …)` parses the files, stores them as Arrow tables on disk
# (memory-mapped, so large files do not fill the RAM) and returns a `DatasetDict`.

# %% slideshow={"slide_type": "subslide"}
sst2 = sst2_subset(profile)  # the same rows as notebook 01 (local folder or hub)
folder = run_dir("02_text_pipeline")
files = {}
for split in ("train", "validation"):
    files[split] = str(folder / f"sst2_{split}.csv")
    part = sst2[split]
    pd.DataFrame({"text": part["text"], "label": part["label"]}).to_csv(files[split], index=False)
print((folder / "sst2_validation.csv").read_text()[:160])

csv_data = load_dataset("csv", data_files=files, cache_dir=str(folder / "datasets-cache"))
csv_data = csv_data.cast_column("label", ClassLabel(names=["negative", "positive"]))
print(csv_data)

# %% [markdown] slideshow={"slide_type": "subslide"}
# A `Dataset` is a table, and it stays one: `.map` runs a function over batches of rows and
# stores the new columns beside the old ones (cached on disk, so a second run is instant).
# That is the `Field`'s tokenising step, kept as a column instead of hidden in an object.

# %% slideshow={"slide_type": "-"}
csv_data = csv_data.map(
    lambda rows: {"tokens": [regex_tokenize(text) for text in rows["text"]]}, batched=True
)
print(csv_data["train"].features)
print(csv_data["train"][0])

# %% [markdown] slideshow={"slide_type": "subslide"}
# **The same data from the hub.** With a connection, one line gets SST-2 from the Hugging
# Face hub: `load_dataset("stanfordnlp/sst2")` (columns `idx`, `sentence`, `label`). This
# course often runs offline, so the cell says plainly what happened;
# `nlpcourse.data.datasets.load_sst2()`, used everywhere else, tries the local data folder first and the
# hub second, and renames the columns to `text` and `label`.

# %% slideshow={"slide_type": "-"}
try:
    hub_data = load_dataset("stanfordnlp/sst2")
    print(hub_data)
except Exception as error:  # offline here: HF_HUB_OFFLINE=1 or no network
    print(f"the hub is not reachable from here ({type(error).__name__}):")
    print("   ", str(error).splitlines()[0])
local = load_sst2(["validation"])
print("load_sst2() found it anyway:", local)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2 · Tokenising
#
# The article asked spaCy to tokenise. SST-2's text is already split the way spaCy would split
# it (`"it 's"`, `"does n't"`, punctuation set apart), so a regular expression that lower-cases
# and separates words, contraction pieces and punctuation does the same job here, without
# installing spaCy and its English model. It splits raw text the same way, so a review typed
# by hand gets the tokens the vocabulary knows:

# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
sentence = "It's not a great film, but the actors don't waste a minute."
print(regex_tokenize(sentence))
assert regex_tokenize(sentence) == regex_tokenize(
    "it 's not a great film , but the actors do n't waste a minute ."
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# A word-level vocabulary has a blind spot: a word it never saw becomes `<unk>`. A **subword**
# tokenizer keeps frequent words whole and splits the others into known pieces (a piece that
# continues a word is written with `##`), the idea behind BERT's WordPiece (notebook 03). The
# `tokenizers` library trains one on our training text in seconds:

# %% slideshow={"slide_type": "-"}
wordpiece = train_subword_tokenizer(csv_data["train"]["text"], vocab_size=config.subword_vocab_size)
subword_tokenize = subword_tokenizer_fn(wordpiece)
print(f"WordPiece vocabulary of {wordpiece.get_vocab_size():,}")
print(subword_tokenize(sentence))
print(subword_tokenize("an unwatchably overlong rewatchability mess"))

# %% [markdown] slideshow={"slide_type": "subslide"}
# Which tokenizer suits this data? Three numbers on the validation sentences: how many entries
# each needs in its vocabulary, how often a validation token is unknown, and how long the
# sequences get (an LSTM's cost grows with length).

# %% slideshow={"slide_type": "-"}
word_tokens = {split: list(part["tokens"]) for split, part in csv_data.items()}
piece_validation = [subword_tokenize(text) for text in csv_data["validation"]["text"]]
word_capped = Vocabulary.build(word_tokens["train"], max_size=config.vocab_size)
word_all = Vocabulary.build(word_tokens["train"])
piece_vocab = Vocabulary(
    [t for t, _ in sorted(wordpiece.get_vocab().items(), key=lambda item: item[1])][2:]
)  # the WordPiece ids, with <pad>=0 and <unk>=1 as in the tokenizer


def describe(name, vocab, token_lists):
    lengths = np.array([len(tokens) for tokens in token_lists])
    return name, len(vocab), vocab.unknown_rate(token_lists), lengths.mean()


rows = [
    describe(f"regex, {config.vocab_size:,} most frequent", word_capped, word_tokens["validation"]),
    describe("regex, every training word", word_all, word_tokens["validation"]),
    describe("WordPiece (subword)", piece_vocab, piece_validation),
]
print(f"{'tokenizer':<30} {'vocab':>7} {'unknown':>8} {'mean len':>9}")
for name, size, unknown, mean in rows:
    print(f"{name:<30} {size:>7,} {unknown:>8.2%} {mean:>9.1f}")
(_, capped, capped_unk, word_len), (_, every, every_unk, _), (_, pieces, piece_unk, piece_len) = (
    rows
)
print(
    f"\n{capped:,} word ids leave {capped_unk:.1%} of validation tokens unknown; every training "
    f"word ({every:,} ids) still leaves {every_unk:.1%} (new sentences bring new words). "
    f"WordPiece's {pieces:,} ids leave {piece_unk:.1%}, and its sequences are "
    f"{piece_len / word_len:.2f}× as long."
)

# %% [markdown] slideshow={"slide_type": "fragment"}
# Fewer unknown tokens cost either a larger embedding table (every word) or longer sequences
# (subwords), and an LSTM's cost grows with length. The rest of this notebook keeps the regex
# tokenizer and the article's 10,000 ids, as notebook 01 does.

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### How long are the texts?
#
# Padding, bucketing and packing are all about lengths, so look at them first. SST-2's training
# rows are **phrases** cut from the parse trees of about 7,000 sentences (many are a word or
# two); its validation rows are whole **sentences**.

# %% slideshow={"slide_type": "subslide"}
train_lengths = [len(tokens) for tokens in word_tokens["train"]]
val_lengths_all = [len(tokens) for tokens in word_tokens["validation"]]
fig = plot_length_histograms(
    {"training phrases": train_lengths, "validation sentences": val_lengths_all},
    max_len=config.max_len,
)
fig.savefig(folder / "length_histograms.png", dpi=80)
for name, values in (("training phrases", train_lengths), ("validation", val_lengths_all)):
    print(
        f"{name:<17} median {np.median(values):>4.0f}  90th percentile "
        f"{np.percentile(values, 90):>4.0f}  longest {max(values)} tokens"
    )

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3 · The vocabulary
#
# A vocabulary is a list: position = id. Count the tokens of the training text, put the special
# tokens first (`<pad>` = 0, `<unk>` = 1), then the tokens from most to least frequent, ties in
# alphabetical order so the same text always gives the same ids. `min_freq` drops rare tokens,
# `max_size` caps the total (specials included, like Keras's `Embedding(10000, 64)`).


# %% slideshow={"slide_type": "subslide"}
def build_itos(token_lists, max_size=None, min_freq=1, specials=("<pad>", "<unk>")):
    """Id → token list: specials, then tokens by falling count (ties alphabetical)."""
    counts = Counter(token for tokens in token_lists for token in tokens)
    kept = [token for token, n in counts.items() if n >= min_freq and token not in specials]
    kept.sort(key=lambda token: (-counts[token], token))  # most frequent first
    if max_size is not None:
        kept = kept[: max_size - len(specials)]  # the specials count towards max_size
    return list(specials) + kept


itos = build_itos(word_tokens["train"], max_size=config.vocab_size)
stoi = {token: index for index, token in enumerate(itos)}  # token → id
print(len(itos), itos[:8])
print([stoi.get(token, 1) for token in regex_tokenize(sentence)])  # unknown → 1

# %% [markdown] slideshow={"slide_type": "fragment"}
# The package's `Vocabulary.build` does the same with input checks, `encode`/`decode` and
# saving; from here on the notebook uses it.

# %% slideshow={"slide_type": "-"}
vocab = Vocabulary.build(word_tokens["train"], max_size=config.vocab_size)
assert itos == vocab.itos and vocab == word_capped
for min_freq in (1, 2, 5):
    assert build_itos(word_tokens["train"], min_freq=min_freq) == (
        Vocabulary.build(word_tokens["train"], min_freq=min_freq).itos
    )
    print(
        f"min_freq={min_freq}: {len(build_itos(word_tokens['train'], min_freq=min_freq)):>6,} ids"
    )

# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
ids = vocab.encode(regex_tokenize(sentence))
print(ids)
print(vocab.decode(ids))

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Numericalising** is one more `.map`: a column of ids beside the tokens, cut to `max_len`
# (a text with no token at all gets one `<unk>`, since an empty sequence has no last LSTM
# state). The package's `encode_tokens` gives the same lists.

# %% slideshow={"slide_type": "-"}
csv_data = csv_data.map(
    lambda rows: {
        "ids": [
            vocab.encode(tokens)[: config.max_len] or [vocab.unk_id] for tokens in rows["tokens"]
        ]
    },
    batched=True,
)
for split in csv_data:
    assert list(csv_data[split]["ids"]) == encode_tokens(word_tokens[split], vocab, config.max_len)
train_set = EncodedDataset(csv_data["train"]["ids"], csv_data["train"]["label"])
val_set = EncodedDataset(csv_data["validation"]["ids"], csv_data["validation"]["label"])
print(csv_data["validation"][0]["tokens"], csv_data["validation"][0]["ids"])

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4 · Collating: dynamic padding and lengths
#
# Id lists have different lengths; a batch must be a rectangle. A `collate_fn` receives the
# list of examples a batch is made of and pads them to the **longest sequence in that batch**
# (dynamic padding), not to a global maximum. It also returns each row's real length, which the
# LSTM needs to skip the padding.


# %% slideshow={"slide_type": "subslide"}
def pad_collate(examples, pad_id=0):
    """[(ids, label), ...] → ids (batch, time), lengths (batch,), labels (batch,)."""
    lengths = torch.tensor([len(ids) for ids, _ in examples])  # (batch,)
    padded = torch.full((len(examples), int(lengths.max())), pad_id)  # (batch, time)
    for row, (ids, _) in enumerate(examples):
        padded[row, : len(ids)] = ids  # real tokens first, pads after
    labels = torch.stack([label for _, label in examples])  # (batch,)
    return padded, lengths, labels


examples = [val_set[i] for i in range(4)]  # 4 × (ids, label)
mine = pad_collate(examples, vocab.pad_id)
theirs = PadCollate(vocab.pad_id)(examples)  # the package's collate, used from here on
for a, b in zip(mine, theirs, strict=True):
    torch.testing.assert_close(a, b)
print(mine[0])

# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
dynamic_ids, dynamic_lengths, batch_labels = PadCollate(vocab.pad_id)(examples)
fixed_ids, fixed_lengths, _ = PadCollate(vocab.pad_id, fixed_len=config.max_len)(examples)
print("dynamic padding:", tuple(dynamic_ids.shape), "lengths", dynamic_lengths.tolist())
print("fixed padding:  ", tuple(fixed_ids.shape), "lengths", fixed_lengths.tolist())
print("labels", batch_labels.tolist())

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5 · Where the padding goes, and bucketing
#
# Three ways to batch the same training epoch:
#
# * **fixed** — every sequence padded to `max_len` (what Keras needed in notebook 01);
# * **dynamic** — shuffled batches, each padded to its own longest sequence;
# * **bucketing** — shuffle, cut the data into pools of 50 batches, sort each pool by length,
#   cut it into batches, shuffle the order of the batches. Every text still appears once per
#   epoch in a random batch, but its batch-mates have about its length.
#
# The bucketing sampler is a few lines. It yields lists of indices; `DataLoader(dataset,
# batch_sampler=…)` turns each list into a batch.


# %% slideshow={"slide_type": "subslide"}
def bucket_batches(lengths, batch_size, pool_batches=50, seed=0):
    """One epoch of batches of indices: shuffled, sorted by length inside each pool."""
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.as_tensor(lengths)  # (n,)
    order = torch.randperm(len(lengths), generator=generator)  # (n,) shuffled indices
    pool = batch_size * pool_batches
    batches = []
    for start in range(0, len(order), pool):
        chunk = order[start : start + pool]  # (≤ pool,) one pool of indices
        chunk = chunk[torch.argsort(lengths[chunk], stable=True)]  # shortest first
        batches += [chunk[i : i + batch_size].tolist() for i in range(0, len(chunk), batch_size)]
    shuffled = torch.randperm(len(batches), generator=generator)  # (batches,) random order
    return [batches[i] for i in shuffled]


my_batches = bucket_batches(train_set.lengths, config.batch_size, seed=profile.seed)
sampler = BucketBatchSampler(train_set.lengths, config.batch_size, seed=profile.seed)
assert my_batches == list(sampler)  # the package's sampler: the same first epoch
assert sorted(i for batch in my_batches for i in batch) == list(range(len(train_set)))
for batch in my_batches[:3]:
    batch_lengths = [train_set.lengths[i] for i in batch]
    print(f"{len(batch)} texts of lengths {min(batch_lengths)}..{max(batch_lengths)}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# Now the padding each way adds in one epoch, counted exactly (no training needed):

# %% slideshow={"slide_type": "-"}
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
padding, widths = {}, {}
for name, loader in loaders.items():
    total = real = 0
    widths[name] = []
    for ids, lengths, _ in loader:  # ids: (batch, time)
        total += ids.numel()
        real += int(lengths.sum())
        widths[name].append(ids.shape[1])
    padding[name] = (real, total - real)
print(
    f"{'batching':<10} {'real tokens':>12} {'pad tokens':>11} {'pad share':>10} {'median width':>13}"
)
for name, (real, pads) in padding.items():
    print(
        f"{name:<10} {real:>12,} {pads:>11,} {pads / (real + pads):>10.0%} "
        f"{np.median(widths[name]):>13.0f}"
    )

# %% slideshow={"slide_type": "subslide"}
fig, ax = plt.subplots(figsize=(6, 2.4))
names = list(padding)
ax.barh(names, [padding[n][0] for n in names], label="real tokens")
ax.barh(
    names,
    [padding[n][1] for n in names],
    left=[padding[n][0] for n in names],
    label="padding",
    color="lightgray",
)
ax.set(xlabel="tokens in one training epoch")
ax.legend(loc="lower right")
ax.invert_yaxis()
fig.tight_layout()
fig.savefig(folder / "padding_per_epoch.png", dpi=80)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Reading the table.** A batch is as wide as its longest text. The training phrases are mostly
# short, but their lengths have a long tail (the histogram above), so a random batch of
# `config.batch_size` phrases nearly always holds one long phrase from that tail: compare the
# median widths of fixed and dynamic padding with `max_len`. Bucketing attacks the cause:
# batch-mates of similar length, so each batch is only as wide as its own texts. The sentence
# below is computed from the table:

# %% slideshow={"slide_type": "-"}
share = {name: pads / (real + pads) for name, (real, pads) in padding.items()}
print(
    f"padding share: fixed {share['fixed']:.0%}, dynamic {share['dynamic']:.0%}, "
    f"bucketing {share['bucketing']:.0%}; dynamic padding removes "
    f"{1 - padding['dynamic'][1] / padding['fixed'][1]:.0%} of fixed padding's pads, "
    f"bucketing {1 - padding['bucketing'][1] / padding['fixed'][1]:.0%}."
)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6 · Packed sequences: stop the pads from leaking in
#
# An LSTM's last hidden state is meant to summarise the text. In a padded batch the forward
# direction keeps running through the pads after the last word, and the backward direction
# *starts* on the pads: both final states carry padding. `pack_padded_sequence` stores the batch
# without the pads: rows sorted longest first, then time step by time step only the rows still
# running, with `batch_sizes` saying how many. Each row's LSTM stops at its own last token.

# %% slideshow={"slide_type": "subslide"}
first_of_length = {n: i for i, n in reversed(list(enumerate(val_set.lengths)))}
picture = [val_set[first_of_length[n]] for n in (6, 9, 4, 5)]  # four short validation sentences
picture_ids, picture_lengths, _ = PadCollate(vocab.pad_id)(picture)  # (4, time), (4,)
fig = draw_padded_and_packed(
    picture_lengths.tolist(), [vocab.decode(ids.tolist()) for ids, _ in picture]
)
fig.savefig(folder / "packed_batch.png", dpi=80)

# %% [markdown] slideshow={"slide_type": "subslide"}
# The same in code, on random vectors:

# %% slideshow={"slide_type": "-"}
embedded = torch.randn(3, 5, 4)  # (batch, time, features): 3 rows of lengths 5, 2, 3
lengths = torch.tensor([5, 2, 3])  # (batch,)
packed = pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)
print("packed data", tuple(packed.data.shape), "= 10 real time steps of 4 features")
print("rows still running at each time step:", packed.batch_sizes.tolist())
unpacked, unpacked_lengths = pad_packed_sequence(packed, batch_first=True)  # (3, 5, 4)
assert torch.equal(unpacked_lengths, lengths)

# %% [markdown] slideshow={"slide_type": "subslide"}
# The effect on a model: the same sentence, alone and with ten pads after it. With packing,
# the output cannot change; without it, it does.

# %% slideshow={"slide_type": "-"}
seed_everything(profile.seed)
probe = BiLSTMClassifier(len(vocab), config.embed_dim, config.hidden_size, config.dense_dim).eval()
alone = torch.tensor([vocab.encode(regex_tokenize("a charming film ."))])  # (1, 4)
padded = torch.cat([alone, torch.zeros(1, 10, dtype=torch.long)], dim=1)  # (1, 14)
with torch.no_grad():
    for packed in (True, False):
        probe.packed = packed
        a, b = probe(alone, torch.tensor([4])), probe(padded, torch.tensor([4]))  # (1, 1) each
        print(f"packed={packed!s:<5}  alone {a.item():+.5f}   with 10 pads {b.item():+.5f}")
        assert torch.allclose(a, b) == packed

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 7 · Is less padding faster? Timed on the same batches
#
# We time training steps of the same model on each loader's batches, once reading the whole
# padded rectangle and once packed. Fair timing: each loader's first `config.timing_batches`
# batches are taken **once** (`list(islice(loader, n))`), every variant trains on exactly those,
# after one warm-up pass, and the median of `config.timing_repeats` passes is reported as real
# tokens (and texts) per second. Beside the speeds, the table counts the work each variant asks
# for: the **time steps** the LSTM loops over (the batches' widths, the same packed or not) and
# the **row-steps**, one row advanced by one time step.

# %% slideshow={"slide_type": "subslide"}
timed_batches = {
    name: list(islice(loader, config.timing_batches)) for name, loader in loaders.items()
}


def train_steps(model, optimizer, batches):
    """One optimizer step per batch (the timed work)."""
    loss_fn = torch.nn.BCEWithLogitsLoss()
    for ids, lengths, targets in batches:
        loss = loss_fn(model(ids, lengths).squeeze(1), targets.float())  # logits: (batch,)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


timing, work = {}, {}
for name, batches in timed_batches.items():
    real_tokens = sum(int(lengths.sum()) for _, lengths, _ in batches)
    texts = sum(len(lengths) for _, lengths, _ in batches)
    work[name] = {
        "time steps": sum(ids.shape[1] for ids, _, _ in batches),  # the widths
        "pads": sum(ids.numel() for ids, _, _ in batches),  # every row at every step
        "packed": real_tokens,  # Σ over steps of the rows still running = the real tokens
    }
    for packed in (False, True):
        seed_everything(profile.seed)
        model = BiLSTMClassifier(
            len(vocab), config.embed_dim, config.hidden_size, config.dense_dim, packed=packed
        )
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        seconds = median_seconds(
            partial(train_steps, model, optimizer, batches), repeats=config.timing_repeats
        )
        timing[name, packed] = (real_tokens / seconds, texts / seconds)
base = timing["fixed", False][0]
print(
    f"{'batching':<10} {'time':>6} {'row-steps':>10} {'row-steps':>10} "
    f"{'real tokens/s':>14} {'real tokens/s':>14} {'packed ÷':>9}"
)
print(
    f"{'':<10} {'steps':>6} {'pads read':>10} {'packed':>10} {'pads read':>14} {'packed':>14} {'pads':>9}"
)
for name, count in work.items():
    pads_s, packed_s = timing[name, False][0], timing[name, True][0]
    print(
        f"{name:<10} {count['time steps']:>6,} {count['pads']:>10,} {count['packed']:>10,} "
        f"{pads_s:>14,.0f} {packed_s:>14,.0f} {packed_s / pads_s:>8.2f}×"
    )

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Why packing helps in one row and hurts in another.** An LSTM is a loop over time steps; each
# step multiplies the rows it is given by the same weight matrices. Reading the pads, every step
# advances every row of the batch, so a batch costs rows × width row-steps. Packed, step *t*
# advances only `batch_sizes[t]` rows, the rows still running, so a packed batch costs the
# **sum over time steps of the rows still running**, which is its number of real tokens. Packing
# also adds work of its own: sorting the rows, packing and unpacking, and one smaller matrix
# product per step, which a CPU runs less efficiently than one large one. So packing can pay
# where it skips many row-steps, and costs where there are few to skip. The numbers above, side
# by side (timings on a busy machine move; the row-step counts do not):

# %% slideshow={"slide_type": "-"}
for name in ("fixed", "bucketing"):
    skipped = 1 - work[name]["packed"] / work[name]["pads"]
    ratio = timing[name, True][0] / timing[name, False][0]
    print(
        f"{name:<9}: packing skips {skipped:.0%} of the row-steps and trains at {ratio:.2f}× "
        f"the speed of reading the pads ({'faster' if ratio > 1 else 'slower'})."
    )
fastest = max(timing, key=lambda key: timing[key][0])
print(
    f"fastest of the six: {fastest[0]} batching, LSTM "
    f"{'packed' if fastest[1] else 'reading the pads'}, at {timing[fastest][0] / base:.1f}× "
    f"the real tokens/s of fixed padding reading the pads; bucketing needs "
    f"{work['bucketing']['time steps'] / work['fixed']['time steps']:.0%} of fixed padding's "
    f"time steps."
)

# %% [markdown] slideshow={"slide_type": "fragment"}
# Read the ratios, not the absolute speeds (those depend on the machine and on what else it
# runs). Bucketing removes the pads before the LSTM sees them, and with them most of the time
# steps; packing removes pads inside the LSTM, at a price. What packing is *for* is the next
# section: correct answers, whatever the padding.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 8 · Does packing matter after training?
#
# Two identical models, the same seed, the same dynamically padded training batches
# (`config.packing_epochs` epoch(s)); one packs, the other reads the pads. Each is scored on the
# **validation** sentences batched three ways: dynamically padded in training-size batches,
# padded to the fixed `max_len`, and one sentence at a time (no padding at all). One training run
# per model is what this budget allows, so the uncertainty is a paired bootstrap over the
# validation sentences; it ignores seed-to-seed variation.

# %% slideshow={"slide_type": "-"}
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
        answers[name, packed] = predicted_labels(predict(models[packed], loader))  # (rows,)

# %% slideshow={"slide_type": "subslide"}
truth = val_set.labels
print(f"{'validation batches':<28} {'packed':>8} {'pads read':>10}   packed − pads read [95% CI]")
for name in val_loaders:
    packed_acc, pads_acc = ((answers[name, p] == truth).float().mean() for p in (True, False))
    gap = paired_bootstrap(truth, answers[name, True], answers[name, False], seed=profile.seed)
    print(f"{name:<28} {packed_acc:>8.4f} {pads_acc:>10.4f}   {gap}")

fixed_name, alone_name = f"fixed, {config.max_len} tokens", "one at a time, no padding"
changed = {p: int((answers[fixed_name, p] != answers[alone_name, p]).sum()) for p in (True, False)}
print(
    f"validation answers that change between fixed padding and no padding: packed "
    f"{changed[True]}, pads read {changed[False]} (of {len(val_set)})"
)
gap = paired_bootstrap(
    truth, answers[alone_name, True], answers[alone_name, False], seed=profile.seed
)
row_gaps = (answers[alone_name, True] == truth).float() - (
    answers[alone_name, False] == truth
).float()
smallest = min_detectable_difference(len(truth), row_sd=row_gaps.std().item())
print(
    "one sentence at a time: packing",
    "measurably helps"
    if gap.low > 0
    else "measurably hurts"
    if gap.high < 0
    else "makes no difference measurable at this budget",
    f"(interval {gap.low:+.3f}..{gap.high:+.3f}); these {len(truth)} sentences detect a true "
    f"difference of about ±{smallest:.3f} (95% test, 80% power).",
)

# %% [markdown] slideshow={"slide_type": "fragment"}
# Read the table by columns and by rows, and only as far as the intervals allow. The packed
# model's answers do not depend on how the sentences are batched (0 of 436 answers change between
# fixed padding and no padding). The model that reads the pads was trained with them: every pad
# step feeds the LSTM the same input (the pad's embedding row, kept at zero), so training can
# tune its weights to make such a step disturb the state little. It cannot make it nothing: a
# zero input still passes through the gates' biases and the recurrent weights, so every pad step
# still changes the state (in §6, ten pads moved an untrained model's output from −0.13737 to
# −0.11737), and 7 of this trained model's 436 answers change between fixed padding and no
# padding. Its accuracy need not differ measurably from the packed model's (every interval in the
# table contains zero), but its answer for a sentence depends on how much padding its batch-mates
# bring. A model whose prediction changes with the company it is batched with has a bug, whatever
# its average; and a gap smaller than the detectable difference printed above (about ±0.046)
# could not be seen here even if it were real.
#
# Bucketing and packing go together: bucketing removes most of the padding (and the time), and
# packing makes the rest harmless. `sst2_loaders` (notebook 01) uses both.

# %% [markdown] slideshow={"slide_type": "notes"}
# Speaker notes: before running §5's table, ask the room to guess the padding share of dynamic
# padding and write the guesses down; then compare them with the printed share (75 %). The
# histogram's long tail is the explanation. In §7, ask why packing can be slower once bucketing
# has run: there are few pads left to skip.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
#
# **1. Batches under a token budget.** Instead of a fixed number of texts per batch, many
# pipelines fill each batch up to a budget of padded positions: rows × the batch's longest
# length ≤ `max_tokens`, so a batch of short texts holds many rows and a batch of long ones few.
# Write `make_batches(lengths, max_tokens)` returning a list of batches (lists of indices):
# every index exactly once, each batch within the budget (a single text longer than the
# budget may sit alone), little padding, no needlessly small batches. The check runs your
# function on lengths of its own.

# %% slideshow={"slide_type": "-"}
from nlpcourse.exercises.ch02 import (
    check_mask_collate,
    check_packed_batch_sizes,
    check_token_budget_batches,
)


def make_batches(lengths, max_tokens):
    """Your code: return a list of batches, each a list of indices into ``lengths``."""
    ...


_ = check_token_budget_batches(make_batches)  # prints its verdict


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"]
def solution_batches(lengths, max_tokens, pool_size=1_000, seed=0):
    """Shuffle, then sort within pools (as the bucketing sampler does) and fill to the budget."""
    order = torch.randperm(len(lengths), generator=torch.Generator().manual_seed(seed)).tolist()
    batches = []
    for start in range(0, len(order), pool_size):
        pool = sorted(order[start : start + pool_size], key=lambda i: lengths[i])  # shortest first
        batch = []
        for index in pool:
            if batch and lengths[index] * (len(batch) + 1) > max_tokens:  # the newest is longest
                batches.append(batch)
                batch = []
            batch.append(index)
        batches.append(batch)  # a pool is never empty, so neither is its last batch
    return batches


assert check_token_budget_batches(solution_batches)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **2. A collate that also returns the mask.** Attention layers (notebook 04) need a mask instead
# of lengths. Write `collate(examples, pad_id)` that turns a list of `(ids, label)` examples into
# `(ids, lengths, mask, labels)`: `ids` `(batch, time)` padded with `pad_id` to the longest row,
# `lengths` and `labels` `(batch,)`, and `mask` a `(batch, time)` boolean tensor, True at real
# tokens, built with tensor operations (no loop). The check compares it with the package's
# collate on batches of its own.


# %% slideshow={"slide_type": "-"}
def collate(examples, pad_id):
    """Your code: return ids, lengths, mask, labels."""
    ...


_ = check_mask_collate(collate)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"]
def solution_collate(examples, pad_id):
    ids, lengths, labels = pad_collate(examples, pad_id)  # (batch, time), (batch,), (batch,)
    mask = torch.arange(ids.shape[1])[None, :] < lengths[:, None]  # (batch, time)
    return ids, lengths, mask, labels


assert check_mask_collate(solution_collate)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **3. Packing's bookkeeping by hand.** Write `batch_sizes(lengths)` returning, for each time step
# of the longest row, how many rows are still running: what `pack_padded_sequence` stores in
# `batch_sizes`, and what a packed LSTM pays for at each step. The check compares it with
# PyTorch's on lengths of its own.


# %% slideshow={"slide_type": "-"}
def batch_sizes(lengths):
    """Your code: one count per time step."""
    ...


_ = check_packed_batch_sizes(batch_sizes)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"]
def solution_batch_sizes(lengths):
    lengths = torch.as_tensor(lengths)  # (batch,)
    steps = torch.arange(int(lengths.max()))  # (time,)
    return (lengths[None, :] > steps[:, None]).sum(dim=1).tolist()  # (time,) rows running


assert check_packed_batch_sizes(solution_batch_sizes)
