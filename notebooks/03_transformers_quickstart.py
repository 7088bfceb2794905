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
# # 03 · Hugging Face Transformers up close: tokenizers, the forward pass, saving and loading
#
# Section 2.2 of the article introduces the `transformers` library with five lines: load
# `BertTokenizer` and `BertForSequenceClassification` from `bert-base-uncased`, tokenise
# `"Hello world!"`, pass the result with a label through the model, and read `outputs.loss`.
# Those five lines hide most of what there is to know about using a pretrained model. This
# notebook opens each of them:
#
# 1. **The tokenizer** — its pipeline (normalise → pre-tokenise → WordPiece → ids and masks),
#    what `input_ids`, `attention_mask` and `token_type_ids` are, special tokens, padding and
#    truncation, unknown tokens, and what happens to Chinese text.
# 2. **From a dataset to batches** — `datasets.map` and `DataCollatorWithPadding`, written out.
# 3. **The forward pass** — what `outputs.loss` and `outputs.logits` are (we recompute the
#    loss by hand), transformers 5's *load report*, and where the parameters live.
# 4. **One interface** — the `Auto…` classes.
# 5. **Keeping a model** — a short fine-tune, `save_pretrained` → `from_pretrained` with
#    identical logits, and `pipeline("text-classification")`.
#
# **Going further** (at the end): offsets back to the characters, and a tiny GPT-2 and T5 built
# offline beside the real BERT — the same round trip, the causal mask, `generate`, and a causal
# language model's loss.
#
# The checkpoint comes from the profile: in `quick` it is
# `sentence-transformers/all-MiniLM-L6-v2`, a real pretrained 6-layer BERT that uses the very
# same WordPiece vocabulary as `bert-base-uncased` (so every token id below is the one
# `bert-base-uncased` would give); in `full` it is `bert-base-uncased` itself.

# %% slideshow={"slide_type": "skip"}
import logging
import tempfile
from pathlib import Path

for noisy in ("torchao", "torch.utils._pytree"):  # transformers imports torchao: GPU-kernel notes
    logging.getLogger(noisy).setLevel(logging.ERROR)

import pandas as pd
import torch
import torch.nn.functional as F
import transformers
from datasets import disable_progress_bars
from transformers import BertForSequenceClassification, BertTokenizer, DataCollatorWithPadding

from nlpcourse.config import get_device, get_profile, seed_everything
from nlpcourse.data.checkpoints import require_checkpoint
from nlpcourse.data.runs import run_dir
from nlpcourse.data.splits import sst2_subset
from nlpcourse.evaluate.efficiency import count_parameters
from nlpcourse.evaluate.stats import bootstrap_accuracy
from nlpcourse.plots.tokenize import draw_tokenizer_pipeline
from nlpcourse.text.hf_batches import make_loader, tokenize_dataset
from nlpcourse.train.loop import fit, predict

profile = get_profile()
seed_everything(profile.seed)
device = get_device()
disable_progress_bars()  # no 'Map: 0%' bars from datasets
transformers.utils.logging.disable_progress_bar()  # no 'Loading weights' bars
print(f"transformers {transformers.__version__}, torch {torch.__version__}, device {device}")
print(f"profile {profile.name!r}: BERT role played by {profile.bert}")
_ = require_checkpoint(profile.bert)  # if it is missing: one clear message saying what to set

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1 · The tokenizer
#
# The article's first line still works:

# %% slideshow={"slide_type": "-"}
from transformers import BertTokenizerFast

tokenizer = BertTokenizer.from_pretrained(profile.bert)
print(type(tokenizer).__name__, "fast:", tokenizer.is_fast, "vocabulary:", len(tokenizer))
assert BertTokenizerFast is BertTokenizer and tokenizer.is_fast

# %% [markdown] slideshow={"slide_type": "fragment"}
# **What changed in transformers 5.** There used to be two classes: `BertTokenizer`, written
# in Python, and `BertTokenizerFast`, backed by the Rust `tokenizers` library. Since
# transformers 5 there is one: `BertTokenizer` *is* the fast tokenizer (`BertTokenizerFast` is
# kept as an alias, as the `assert` shows), so features that were fast-only — offsets,
# `word_ids()` — now work with the article's class.

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### The article's sentence
#
# Calling the tokenizer returns a dictionary-like `BatchEncoding` with three lists of the same
# length. The ids are what the model sees; the token strings are only for us.

# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
encoding = tokenizer("Hello world!")
print(encoding["input_ids"])
print(encoding.tokens())
print(encoding["attention_mask"])
print(encoding["token_type_ids"])

# %% [markdown] slideshow={"slide_type": "fragment"}
# * `input_ids` — one integer per token, its row in the model's embedding table. The
#   tokenizer lower-cased the text (this is an *uncased* vocabulary) and added two special
#   tokens: `[CLS]` in front (BERT's classification head reads the vector at this position)
#   and `[SEP]` at the end of each segment.
# * `attention_mask` — 1 for a real token, 0 for padding (there is none yet).
# * `token_type_ids` — which segment a token belongs to (0 for the first sentence, 1 for the
#   second); used for sentence pairs, below.

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Special tokens and their ids

# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
for name in ("cls_token", "sep_token", "pad_token", "unk_token", "mask_token"):
    token = getattr(tokenizer, name)
    print(f"{name:<10} {token:<7} id {tokenizer.convert_tokens_to_ids(token)}")
print("longest input:", tokenizer.model_max_length, "tokens")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### WordPiece: `##` marks the inside of a word
#
# A vocabulary of about 30,000 entries cannot hold every English word, so WordPiece keeps
# frequent words whole and cuts rare ones into pieces it does know. A piece that continues a
# word starts with `##`; joining the pieces and dropping the `##` gives the word back.

# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
for word in ["movie", "tokenizers", "unbelievably", "strawberries", "huggingface"]:
    print(f"{word:<14} → {tokenizer.tokenize(word)}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### The pipeline, stage by stage
#
# Before any cutting, the tokenizer runs two simpler steps: a **normalizer** (lower-casing,
# stripping accents, cleaning control characters, putting spaces around Chinese characters)
# and a **pre-tokenizer** (splitting on whitespace and punctuation). Then the **WordPiece
# model** cuts each word into pieces, the **post-processor** adds `[CLS]` and `[SEP]`, and
# padding a batch adds `[PAD]`. The ids are the pieces' rows in the vocabulary; the attention
# mask marks the real tokens. Each row of the figure is what one stage gives for one text,
# computed by the tokenizer's own parts (`tokenizer.backend_tokenizer`, the Rust tokenizer):

# %% slideshow={"slide_type": "subslide"}
example = "CAFÉ tokenizers!"
backend = tokenizer.backend_tokenizer  # normalizer → pre-tokenizer → WordPiece model
normalized = backend.normalizer.normalize_str(example)
words = [word for word, _span in backend.pre_tokenizer.pre_tokenize_str(normalized)]
width = len(tokenizer.tokenize(example)) + 4  # 2 specials and 2 pads, as in a wider batch
padded = tokenizer(example, padding="max_length", max_length=width)
fig = draw_tokenizer_pipeline(
    [
        ("text", "as typed", [example]),
        ("normalise", "lower-case, strip accents", [normalized]),
        ("pre-tokenise", "split at spaces, punctuation", words),
        ("WordPiece", "longest known piece first", tokenizer.tokenize(example)),
        ("specials, pads", "[CLS] text [SEP], then [PAD]", padded.tokens()),
        ("input_ids", "rows of the embedding table", [str(i) for i in padded["input_ids"]]),
        ("attention_mask", "1 real token, 0 padding", [str(m) for m in padded["attention_mask"]]),
    ]
)
fig.savefig(run_dir("03_transformers_quickstart") / "tokenizer_pipeline.png", dpi=80)

# %% [markdown] slideshow={"slide_type": "subslide"}
# The WordPiece model cuts each word greedily: take the longest prefix that is in the
# vocabulary, then the longest `##`-piece that continues it, and so on; if some part cannot be
# matched, the whole word becomes `[UNK]`. The algorithm is short enough to write out and check
# against the library on real sentences:

# %% slideshow={"slide_type": "-"}
vocab = tokenizer.get_vocab()  # piece → id


def wordpiece(word: str, vocab: dict[str, int], unk: str = "[UNK]") -> list[str]:
    """Greedy longest-match-first WordPiece for one pre-tokenised word."""
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:  # shrink the candidate until the vocabulary knows it
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
            end -= 1
        else:
            return [unk]  # no piece fits: the whole word is unknown
        pieces.append(piece)
        start = end
    return pieces


def tokenize_by_hand(text: str) -> list[str]:
    """Normalise, split into words, then WordPiece each word."""
    normalized = backend.normalizer.normalize_str(text)
    words = [word for word, _span in backend.pre_tokenizer.pre_tokenize_str(normalized)]
    return [piece for word in words for piece in wordpiece(word, vocab)]


sst2 = sst2_subset(profile)  # train / validation / test, as in notebooks 01, 02 and 04
sentences = sst2["validation"]["text"][:300]
mismatches = [s for s in sentences if tokenize_by_hand(s) != tokenizer.tokenize(s)]
print(
    f"hand-written WordPiece agrees with the library on {len(sentences) - len(mismatches)}"
    f"/{len(sentences)} SST-2 validation sentences"
)
assert not mismatches
print(backend.normalizer.normalize_str("Naïve CAFÉ"), "|", tokenize_by_hand("Naïve CAFÉ"))

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Unknown tokens
#
# Because any English word can be spelled out of single letters (which are all in the
# vocabulary as `a`…`z` and `##a`…`##z`), `[UNK]` should be rare in English text (the first line
# below counts it in the 300 SST-2 sentences). It appears for characters the vocabulary never
# saw: most emoji, many symbols and scripts. Accents are stripped by the uncased normalizer
# rather than becoming `[UNK]`.

# %% slideshow={"slide_type": "-"}
sst2_pieces = [piece for s in sentences for piece in tokenizer.tokenize(s)]
print(
    f"[UNK] in {len(sentences)} SST-2 sentences: {sst2_pieces.count('[UNK]')} of {len(sst2_pieces):,} pieces"
)
for text in ["I ❤️ this café", "The 🤗 library", "Temperature: 21℃"]:
    print(f"{text!r:<22} → {tokenizer.tokenize(text)}")

# %% [markdown] slideshow={"slide_type": "fragment"}
# In the last example the whole word `21℃` became one `[UNK]`, digits included: WordPiece
# gives up on a word as soon as one part of it cannot be matched.

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Chinese text and an English vocabulary
#
# The normalizer puts a space around every CJK character, so Chinese is always split into
# single characters — and then each character is looked up in an English vocabulary that
# holds only a few hundred of them:

# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
chinese = "我喜欢自然语言处理。这部电影很好看!"  # "I like NLP. This film is very good!"
cjk_in_vocab = sum(1 for piece in vocab if len(piece) == 1 and "\u4e00" <= piece <= "\u9fff")
pieces = tokenizer.tokenize(chinese)
print(pieces)
print(
    f"{cjk_in_vocab} CJK characters in the vocabulary; "
    f"{pieces.count('[UNK]')} of {len(pieces)} pieces are [UNK]"
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# Most of the sentence is lost: the model would see `[UNK]` for nearly every character. A
# Chinese checkpoint such as `bert-base-chinese` keeps the same tokenizer *algorithm* (the
# same character splitting) but ships a vocabulary of 21,128 entries that covers the common
# Chinese characters, so the sentence becomes one known token per character. We cannot
# download that checkpoint here, but we can build the same kind of tokenizer from a tiny
# vocabulary of our own to see the effect. This also shows a transformers 5 trap:
#
# * `BertTokenizer(vocab_file="vocab.txt")`, the old way to build a tokenizer from a file,
#   **silently ignores the file** in transformers 5 and gives a tokenizer that knows only its
#   five special tokens;
# * pass the vocabulary itself with `vocab=` (a dict piece → id, or use `from_pretrained`
#   on a folder holding `vocab.txt`).

# %% slideshow={"slide_type": "-"}
specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
chinese_vocab = {piece: i for i, piece in enumerate(specials + sorted(set(chinese)))}

vocab_path = run_dir("03_transformers_quickstart") / "toy_chinese_vocab.txt"
vocab_path.write_text("\n".join(chinese_vocab) + "\n", encoding="utf-8")
ignored = BertTokenizer(vocab_file=str(vocab_path))
print("vocab_file=:", len(ignored), "entries →", ignored.tokenize(chinese)[:6], "…")

toy_chinese = BertTokenizer(vocab=chinese_vocab)
print("vocab=     :", len(toy_chinese), "entries →", toy_chinese.tokenize(chinese))
assert len(ignored) == len(specials) and "[UNK]" not in toy_chinese.tokenize(chinese)

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Sentence pairs and `token_type_ids`
#
# Tasks such as entailment or question answering feed two texts at once. The tokenizer joins
# them as `[CLS] A [SEP] B [SEP]` and marks every token of the second segment (including its
# closing `[SEP]`) with type id 1; the model adds a learned "segment A" or "segment B" vector to
# each position.

# %% slideshow={"slide_type": "-"}
pair = tokenizer("The plot was thin.", "The actors saved it.")
print(
    pd.DataFrame(
        {"token": pair.tokens(), "id": pair["input_ids"], "type": pair["token_type_ids"]}
    ).T.to_string(header=False)
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Batches, padding and truncation
#
# A batch must be a rectangle. `padding=True` pads every sequence with `[PAD]` (id 0) to the
# longest one in the batch, and `attention_mask` marks the padding with 0 so that attention
# ignores it (notebook 04 shows how). `truncation=True, max_length=n` cuts anything longer.
# `return_tensors="pt"` gives PyTorch tensors instead of lists.

# %% slideshow={"slide_type": "-"}
texts = [
    "A gripping, beautifully shot film.",
    "Dull.",
    "I wanted to like it, but the second half drags on forever.",
]
batch = tokenizer(texts, padding=True, truncation=True, max_length=12, return_tensors="pt")
print({name: tuple(tensor.shape) for name, tensor in batch.items()})  # all (3, 12)
for i in range(len(texts)):
    print(" ".join(batch.tokens(i)))
print(batch["attention_mask"])

# %% [markdown] slideshow={"slide_type": "fragment"}
# The third sentence was cut to 12 tokens, and its last token is still `[SEP]`: truncation
# removes words, not the special tokens. Other options: `padding="max_length"` pads everything
# to `max_length` (notebook 02 counted what such padding costs; dynamic padding per batch, as
# above, is the usual choice, and §2 builds it), and `padding_side="left"` for decoder models that generate text.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2 · From a dataset to padded batches
#
# Training reads thousands of texts, so tokenising happens once, over the whole `Dataset`, with
# `.map`: the tokenizer runs on batches of rows and its outputs become new columns. No padding
# yet — each row keeps its own length. Padding happens later, per batch, in the `DataLoader`'s
# `collate_fn`: `DataCollatorWithPadding` pads a list of rows to the longest one in the batch
# and stacks them into tensors (dynamic padding, as in notebook 02).

# %% slideshow={"slide_type": "subslide"}
rows = sst2["train"].select(range(8))  # a Dataset with columns text, label


def encode(batch):
    """Tokenise a batch of rows: lists of ids of different lengths, no padding."""
    return tokenizer(batch["text"], truncation=True, max_length=profile.max_len)


tokenized = rows.map(encode, batched=True, remove_columns=["text"])
tokenized = tokenized.rename_column("label", "labels")  # the name the models' forward expects
print(tokenized)
features = [tokenized[i] for i in range(4)]  # 4 dicts of lists, lengths differ
print("lengths", [len(f["input_ids"]) for f in features])

# %% [markdown] slideshow={"slide_type": "subslide"}
# The collator, written out: find the longest row of the batch, extend every list to that
# length (`[PAD]`'s id for `input_ids`, 0 for the attention mask, so padding is masked, and 0 for
# the type ids), stack the lists into tensors, and keep the labels as they are.


# %% slideshow={"slide_type": "-"}
def pad_batch(features, pad_id):
    """[{input_ids, token_type_ids, attention_mask, labels}, ...] → dict of stacked tensors."""
    longest = max(len(f["input_ids"]) for f in features)
    batch = {}
    for name in features[0]:
        if name == "labels":
            batch[name] = torch.tensor([f[name] for f in features])  # (batch,)
            continue
        fill = pad_id if name == "input_ids" else 0  # masks and type ids pad with 0
        padded = [f[name] + [fill] * (longest - len(f[name])) for f in features]
        batch[name] = torch.tensor(padded)  # (batch, longest)
    return batch


open_batch = pad_batch(features, tokenizer.pad_token_id)
library_batch = DataCollatorWithPadding(tokenizer, return_tensors="pt")(features)
assert open_batch.keys() == library_batch.keys()
for name in open_batch:
    torch.testing.assert_close(open_batch[name], library_batch[name])
print({name: tuple(tensor.shape) for name, tensor in open_batch.items()})
print(open_batch["attention_mask"])

# %% [markdown] slideshow={"slide_type": "fragment"}
# `DataCollatorWithPadding` gives the same tensors (the `assert`), and also pads to a multiple of
# a number on request. `nlpcourse.text.hf_batches` wraps the two steps: `tokenize_dataset` (the
# `.map`, with checks) and `make_loader` (a `DataLoader` with the library's collator). Same rows
# in, same batch out; the notebook uses the helpers from here on.

# %% slideshow={"slide_type": "-"}
helper_set = tokenize_dataset(rows, tokenizer, profile.max_len)
assert helper_set[:] == tokenized[:]
helper_batch = next(iter(make_loader(helper_set, tokenizer, batch_size=4)))
assert helper_batch.keys() == open_batch.keys()
for name in open_batch:
    torch.testing.assert_close(helper_batch[name], open_batch[name])
print("tokenize_dataset + make_loader give the same batch")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3 · The article's forward pass
#
# The article loads `BertForSequenceClassification` with `num_labels=2`. That class is a
# `BertModel` (embeddings + encoder layers + a pooler) with a new classification head on top:
# dropout and one `Linear(hidden, num_labels)` applied to the pooled `[CLS]` vector. The
# **pooler** is a dense layer and a tanh on `[CLS]`'s last hidden state. In `bert-base-uncased`
# it was trained during pretraining (next-sentence prediction); the quick checkpoint's pooler was
# not trained for classification: sentence-transformers trained `all-MiniLM-L6-v2` through the
# *mean* of its token vectors, so the pooler's weights in the file took no part in that
# training. Notebook 06's configuration treats it accordingly (in `quick` the pooler learns at the
# new head's rate), and notebook 05 compares `[CLS]` with mean pooling. Naming the labels
# (`id2label`) costs nothing and makes every later output readable.
#
# Watch the **load report** printed below: it replaced the old "Some weights of
# BertForSequenceClassification were not initialized…" warning in transformers 5.

# %% slideshow={"slide_type": "-"}
label_names = sst2["train"].features["label"].names  # ['negative', 'positive']
id2label = dict(enumerate(label_names))
model, loading_info = BertForSequenceClassification.from_pretrained(
    profile.bert,
    num_labels=2,
    id2label=id2label,
    label2id={name: i for i, name in id2label.items()},
    output_loading_info=True,
)
print({key: sorted(value) for key, value in loading_info.items() if key != "error_msgs"})

# %% [markdown] slideshow={"slide_type": "subslide"}
# The report lists `classifier.weight` and `classifier.bias` as **MISSING**: the checkpoint
# holds a pretrained BERT body but no sentiment head, so those two tensors were created with
# random values. This is expected whenever a task head is put on a pretrained body — and it is
# the reason the model must be fine-tuned before its predictions mean anything. (Keys listed as
# UNEXPECTED would be the opposite: weights in the file that the class has no place for, such
# as a pretraining head.) The report is also returned as `loading_info`, so code can check it:

# %% slideshow={"slide_type": "-"}
assert set(loading_info["missing_keys"]) == {"classifier.weight", "classifier.bias"}
assert not loading_info["unexpected_keys"] and not loading_info["mismatched_keys"]
print("in eval mode after loading:", not model.training)  # dropout is off until model.train()
transformers.logging.set_verbosity_error()  # the load report was the lesson: quiet from here on

# %% [markdown] slideshow={"slide_type": "subslide"}
# Now the article's call. One fix: the article builds the label with
# `torch.tensor([1]).unsqueeze(0)`, shape `(1, 1)`. For single-label classification the labels
# are one class id per example, shape `(batch,)`; the model flattens the labels, so both run,
# but `(batch,)` is the shape every loss function expects.

# %% slideshow={"slide_type": "-"}
inputs = tokenizer("Hello world!", return_tensors="pt")
labels = torch.tensor([1])  # (batch,) — one class id per sentence
outputs = model(**inputs, labels=labels)
print(type(outputs).__name__, list(outputs.keys()))
print("loss  ", outputs.loss)
print("logits", outputs.logits, tuple(outputs.logits.shape))  # (batch, num_labels)

# %% [markdown] slideshow={"slide_type": "subslide"}
# * `outputs.logits` — one unnormalised score per class, shape `(batch, num_labels)`;
#   `softmax` turns them into probabilities.
# * `outputs.loss` — because we passed `labels`, the model also computed the mean
#   cross-entropy between the logits and the labels: a scalar with a gradient, ready for
#   `.backward()`.
#
# Cross-entropy is `−log softmax(logits)[true class]`, averaged over the batch. Recomputed by
# hand, on a batch of three this time:

# %% slideshow={"slide_type": "-"}
batch_labels = torch.tensor([1, 0, 0])  # (3,)
outputs = model(**batch, labels=batch_labels)
log_probs = outputs.logits - outputs.logits.logsumexp(dim=-1, keepdim=True)  # (3, 2) log-softmax
by_hand = -log_probs[torch.arange(3), batch_labels].mean()  # pick the true class, average
print(
    f"model: {outputs.loss.item():.6f}   by hand: {by_hand.item():.6f}   "
    f"F.cross_entropy: {F.cross_entropy(outputs.logits, batch_labels).item():.6f}"
)
torch.testing.assert_close(outputs.loss, by_hand)
torch.testing.assert_close(outputs.loss, F.cross_entropy(outputs.logits, batch_labels))

# %% [markdown] slideshow={"slide_type": "fragment"}
# With an untrained head the loss sits near `ln 2 ≈ 0.693`, the loss of a coin flip. Which
# loss the model uses is decided by `num_labels` and the labels' **dtype**: integer labels
# with `num_labels > 1` give cross-entropy; `num_labels=1` gives mean squared error
# (regression); float labels give binary cross-entropy per class (multi-label). The choice is
# stored in `model.config.problem_type` at the first call:

# %% slideshow={"slide_type": "-"}
print(model.config.problem_type)

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Where the parameters are
#
# Almost all of BERT's parameters are in two places: the **embedding tables** (one row of
# `hidden` numbers per vocabulary entry, per position and per segment type) and the stack of
# **encoder layers** (attention and feed-forward weights). The classification head is tiny:
# `hidden × num_labels + num_labels`.


# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
config = model.config
hidden = config.hidden_size
parts = {
    "embeddings": model.bert.embeddings,
    **{f"encoder layer {i}": layer for i, layer in enumerate(model.bert.encoder.layer)},
    "pooler": model.bert.pooler,
    "classifier head": model.classifier,
}
for name, module in parts.items():
    print(f"{name:<16} {count_parameters(module):>12,}")
print(f"{'total':<16} {count_parameters(model):>12,}")
assert count_parameters(model) == sum(count_parameters(m) for m in parts.values())
assert count_parameters(model.classifier) == hidden * 2 + 2
embeddings = model.bert.embeddings
assert count_parameters(embeddings) == (
    (config.vocab_size + config.max_position_embeddings + config.type_vocab_size) * hidden
    + 2 * hidden  # LayerNorm scale and shift
)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4 · One interface: the `Auto…` classes
#
# The article says the library puts BERT, GPT and T5 behind one interface. That interface is
# the `Auto…` classes: `AutoConfig`, `AutoTokenizer` and `AutoModel…` read a checkpoint's
# `config.json` (its `model_type`) and pick the right classes, so the same code loads BERT,
# RoBERTa, GPT-2 or T5. The suffix names the **task head**: `AutoModel` (the bare body),
# `…ForSequenceClassification`, `…ForCausalLM` (next-token prediction, GPT), `…ForSeq2SeqLM`
# (an encoder reads, a decoder writes, T5). The article's classes, found automatically (a tiny
# GPT-2 and T5 built from configurations go through the same calls in *Going further*):

# %% slideshow={"slide_type": "-"}
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForCausalLM,
    AutoModelForSeq2SeqLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
)

auto_tokenizer = AutoTokenizer.from_pretrained(profile.bert)
auto_model = AutoModelForSequenceClassification.from_pretrained(profile.bert, num_labels=2)
print(
    f"model_type={config.model_type!r} → {type(auto_tokenizer).__name__}, {type(auto_model).__name__}"
)
assert type(auto_tokenizer) is BertTokenizer and type(auto_model) is BertForSequenceClassification
assert auto_tokenizer("Hello world!")["input_ids"] == encoding["input_ids"]
del auto_model

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5 · Training the head a little, saving and loading
#
# The loss exists to be minimised. The article's case study (notebook 06) and notebook 05 do
# fine-tuning properly; here a short run on a small SST-2 subset is enough to give the head
# some meaning before we save the model and put it in a pipeline. `loss.backward()` and an
# optimizer step are what `nlpcourse.train.loop.fit` does for every batch. (The article's
# `from transformers import AdamW` no longer exists; PyTorch's `torch.optim.AdamW` is the
# replacement.) The score is taken on the **validation** sentences, with a bootstrap interval
# over them; the course's test sentences are not used here.

# %% slideshow={"slide_type": "-"}
cfg = profile.attention
train_rows = sst2["train"].shuffle(seed=profile.seed).select(range(cfg.quickstart_train_size))
train_loader = make_loader(
    tokenize_dataset(train_rows, tokenizer, profile.max_len),
    tokenizer,
    batch_size=cfg.quickstart_batch_size,
    shuffle=True,
    seed=profile.seed,
)
val_loader = make_loader(
    tokenize_dataset(sst2["validation"], tokenizer, profile.max_len), tokenizer, batch_size=64
)
model.to(device)
history = fit(
    model,
    train_loader,
    epochs=1,
    optimizer=torch.optim.AdamW(model.parameters(), lr=cfg.quickstart_lr),
)
val_predictions = predict(model, val_loader).argmax(dim=-1)  # (rows,)
accuracy = bootstrap_accuracy(sst2["validation"]["label"], val_predictions, seed=profile.seed)
print(
    f"validation accuracy after one epoch on {cfg.quickstart_train_size:,} sentences: "
    f"{accuracy.estimate:.3f} (95% bootstrap interval {accuracy.low:.3f}..{accuracy.high:.3f})"
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### `save_pretrained` → `from_pretrained`
#
# `save_pretrained` writes a folder that `from_pretrained` can read: the weights as
# **safetensors** (a plain tensor file that, unlike a pickle, cannot run code when loaded),
# `config.json` (architecture and label names) and, if you save it too, the tokenizer.
# The folder then works exactly like a hub id.

# %% slideshow={"slide_type": "-"}
save_dir = run_dir("03_transformers_quickstart") / "minibert-sst2"
model.save_pretrained(save_dir)
tokenizer.save_pretrained(save_dir)
print(sorted(path.name for path in save_dir.iterdir()))
assert (save_dir / "model.safetensors").is_file()

reloaded, reload_info = BertForSequenceClassification.from_pretrained(
    save_dir, output_loading_info=True
)
reloaded_tokenizer = BertTokenizer.from_pretrained(save_dir)
assert not reload_info["missing_keys"], "the saved folder holds the head too"

model.eval()
probe = tokenizer(texts, padding=True, return_tensors="pt").to(device)
with torch.no_grad():
    before = model(**probe).logits
    reloaded.to(device)
    after = reloaded(
        **reloaded_tokenizer(texts, padding=True, return_tensors="pt").to(device)
    ).logits
print(after)
assert torch.equal(before, after), "reloaded model must give identical logits"
print("identical logits after the round trip; label names:", reloaded.config.id2label)

# %% [markdown] slideshow={"slide_type": "subslide"}
# This time `reload_info` lists no missing key (the `assert` above): the head was saved with the
# rest.
#
# ### `pipeline`: tokenise, run, post-process in one call
#
# `pipeline("text-classification", ...)` wraps the three steps we did by hand (tokenizer →
# model → softmax and `id2label`). Give it the model and tokenizer objects (or the saved
# folder); `top_k=None` returns the score of every label.

# %% slideshow={"slide_type": "-"}
from transformers import pipeline

classifier = pipeline(
    "text-classification", model=reloaded, tokenizer=reloaded_tokenizer, device=device
)
reviews = ["An instant classic, funny and moving.", "A tedious, overlong mess.", "It is a film."]
for review, result in zip(reviews, classifier(reviews), strict=True):
    print(f"{result['label']:>8} {result['score']:.3f}  {review}")
print(classifier(reviews[0], top_k=None))

# %% [markdown] slideshow={"slide_type": "fragment"}
# The labels are readable because we set `id2label` when loading; without it they would be
# `LABEL_0` and `LABEL_1`. The scores come from a head trained for a single short epoch:
# notebooks 05 and 06 show how far proper fine-tuning takes them.

# %% [markdown] slideshow={"slide_type": "notes"}
# Speaker notes: in *Going further*, ask which of the three models could fill in a blank in the middle of a
# sentence (BERT: it sees both sides) and which could write a continuation (GPT-2, T5's
# decoder). The causal-mask test is the slide to linger on.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
#
# **1. Where the separators are.** Write `find_seps(first, second)`: encode the two texts as one
# pair with `tokenizer` and return the positions (indices into `input_ids`) of every `[SEP]`
# token. The check runs it on pairs of its own.

# %% slideshow={"slide_type": "-"}
from nlpcourse.exercises.ch03 import check_cls_head, check_sep_positions, check_toy_wordpiece


def find_seps(first, second):
    """Your code: the positions of [SEP] in tokenizer(first, second)["input_ids"]."""
    ...


_ = check_sep_positions(find_seps)  # prints its verdict


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"]
def solution_seps(first, second):
    ids = tokenizer(first, second)["input_ids"]
    return [i for i, token in enumerate(ids) if token == tokenizer.sep_token_id]


assert check_sep_positions(solution_seps)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **2. The article's head, by hand.** `BertForSequenceClassification` is a `BertModel` with a
# head on top (§3). Write a module `ClsClassifier(body, num_labels)` that keeps the `BertModel`
# it is given as `self.body` and a new `torch.nn.Linear` as `self.classifier`, and whose
# `forward(input_ids, attention_mask, token_type_ids)` returns the logits
# `(batch, num_labels)`. The check builds a small random `BertForSequenceClassification`, hands
# your class its body, copies its head's weights into your `classifier`, and compares the
# logits on a padded batch.


# %% slideshow={"slide_type": "-"}
class ClsClassifier(torch.nn.Module):
    """Your code: BertModel → the pooled [CLS] vector → dropout → Linear."""

    def __init__(self, body, num_labels):
        super().__init__()
        ...

    def forward(self, input_ids, attention_mask=None, token_type_ids=None): ...


_ = check_cls_head(ClsClassifier)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"]
class SolutionClassifier(torch.nn.Module):
    def __init__(self, body, num_labels):
        super().__init__()
        self.body = body
        self.dropout = torch.nn.Dropout(body.config.hidden_dropout_prob)
        self.classifier = torch.nn.Linear(body.config.hidden_size, num_labels)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        out = self.body(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        )
        return self.classifier(self.dropout(out.pooler_output))  # (batch, num_labels)


assert check_cls_head(SolutionClassifier)
mine = SolutionClassifier(model.bert, model.config.num_labels).eval()  # the trained model's body
mine.classifier.load_state_dict(model.classifier.state_dict())  # and a copy of its head
with torch.no_grad():
    torch.testing.assert_close(mine(**probe), model(**probe).logits)  # the real checkpoint too

# %% [markdown] slideshow={"slide_type": "subslide"}
# **3. WordPiece on a toy vocabulary.** Build a vocabulary, a dict piece → id starting with the
# five special tokens `[PAD]`, `[UNK]`, `[CLS]`, `[SEP]`, `[MASK]`, with as few entries as you
# can, such that `BertTokenizer(vocab=your_vocab)` cuts these words exactly so:
#
# | word | pieces |
# |---|---|
# | playing | `play` `##ing` |
# | played | `play` `##ed` |
# | player | `play` `##er` |
# | replay | `re` `##play` |
# | replayed | `re` `##play` `##ed` |

# %% slideshow={"slide_type": "-"}
toy_vocab = None  # your answer: {"[PAD]": 0, "[UNK]": 1, ...}
_ = check_toy_wordpiece(toy_vocab)

# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"]
pieces = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "play", "re", "##play", "##ing", "##ed"]
toy_vocab = {piece: i for i, piece in enumerate([*pieces, "##er"])}  # no whole "replay"
assert check_toy_wordpiece(toy_vocab)
# %% [markdown] slideshow={"slide_type": "slide"}
# ## Going further
#
# Two side topics, run like the rest: offsets from tokens back to the characters, and the other
# model families behind the same `Auto…` interface.

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Offsets: from tokens back to characters
#
# With `return_offsets_mapping=True` every token comes with the `(start, end)` characters it
# came from (special tokens get `(0, 0)`), and `word_ids()` says which word each token belongs
# to. That is how a token-level prediction (a named entity, an answer span) is turned back into
# a piece of the original text.

# %% slideshow={"slide_type": "-"}
text = "Tokenizers handle unbelievably rare words."
enc = tokenizer(text, return_offsets_mapping=True)
rows = [
    {
        "token": token,
        "word": "-" if word is None else word,
        "span": (start, end),
        "text": text[start:end],
    }
    for token, word, (start, end) in zip(
        enc.tokens(), enc.word_ids(), enc["offset_mapping"], strict=True
    )
]
print(pd.DataFrame(rows).to_string(index=False))
start, end = enc.word_to_chars(2)  # the third word
print(
    "word 2 is",
    repr(text[start:end]),
    "made of",
    [t for t, w in zip(enc.tokens(), enc.word_ids(), strict=True) if w == 2],
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### BERT, GPT, T5 under one interface
#
# No pretrained GPT or T5 can be downloaded here, so we **build tiny ones from configurations**
# (random weights, `from_config`), sized by the profile. They need a tokenizer: instead of
# training one, both reuse BERT's WordPiece tokenizer (its vocabulary size, and its `[PAD]`,
# `[CLS]` and `[SEP]` as padding, start and end tokens). Real GPT-2 and T5 ship their own
# tokenizers (byte-level BPE and SentencePiece); the interface is the same.

# %% slideshow={"slide_type": "-"}
tiny = profile.attention
special_ids = {
    "pad_token_id": tokenizer.pad_token_id,
    "bos_token_id": tokenizer.cls_token_id,
    "eos_token_id": tokenizer.sep_token_id,
}
gpt_config = AutoConfig.for_model(
    "gpt2",
    vocab_size=len(tokenizer),
    n_embd=tiny.tiny_hidden,
    n_layer=tiny.tiny_layers,
    n_head=tiny.tiny_heads,
    n_positions=profile.max_len,
    **special_ids,
)
t5_config = AutoConfig.for_model(
    "t5",
    vocab_size=len(tokenizer),
    d_model=tiny.tiny_hidden,
    d_kv=tiny.tiny_hidden // tiny.tiny_heads,
    d_ff=2 * tiny.tiny_hidden,
    num_layers=tiny.tiny_layers,
    num_heads=tiny.tiny_heads,
    decoder_start_token_id=tokenizer.pad_token_id,  # T5 starts decoding from its pad token
    **special_ids,
)
seed_everything(profile.seed)
families = {  # name → (Auto class, model)
    "BERT": (AutoModel, AutoModel.from_pretrained(profile.bert)),  # pretrained, encoder only
    "GPT-2": (AutoModelForCausalLM, AutoModelForCausalLM.from_config(gpt_config)),
    "T5": (AutoModelForSeq2SeqLM, AutoModelForSeq2SeqLM.from_config(t5_config)),
}

# %% [markdown] slideshow={"slide_type": "subslide"}
# **The same API.** Each model goes through the same round trip: `save_pretrained` to a folder
# (weights as safetensors, `config.json`) with the tokenizer beside it, `from_pretrained` back
# through its `Auto…` class, the tokenizer with `AutoTokenizer`, then a forward pass on the same
# sentence. (T5's forward also needs the decoder's input; here the sentence itself.)

# %% slideshow={"slide_type": "-"}
sentence = "one interface for three families of models"
table = []
with tempfile.TemporaryDirectory() as tmp:
    for name, (auto_class, net) in families.items():
        folder = Path(tmp) / name
        net.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        back = auto_class.from_pretrained(folder).eval()
        back_tokenizer = AutoTokenizer.from_pretrained(folder)
        inputs = back_tokenizer(sentence, return_tensors="pt", return_token_type_ids=False)
        if back.config.is_encoder_decoder:
            inputs["decoder_input_ids"] = inputs["input_ids"]  # (1, time)
        net.eval()
        with torch.no_grad():
            before, after = net(**inputs)[0], back(**inputs)[0]  # first output of each
        assert torch.equal(before, after), f"{name}: the round trip changed the outputs"
        assert (folder / "model.safetensors").is_file()
        table.append(
            {
                "family": name,
                "Auto class": auto_class.__name__,
                "class found": type(back).__name__,
                "parameters": f"{count_parameters(back):,}",
                "first output": f"{type(back(**inputs)).__name__}: {tuple(after.shape)}",
                "decoder": back.config.is_encoder_decoder,
                "can generate": back.can_generate(),
            }
        )
print(pd.DataFrame(table).to_string(index=False))

# %% [markdown] slideshow={"slide_type": "fragment"}
# BERT's first output is a hidden state per token, `(batch, time, hidden)`; GPT-2's and T5's
# are **logits over the vocabulary** per position, `(batch, time, vocab)`: their heads predict
# tokens. Most of the tiny models' parameters are their embedding tables (30,522 rows each).

# %% [markdown] slideshow={"slide_type": "subslide"}
# **What differs (1): the causal mask.** BERT's attention sees the whole sentence in both
# directions; GPT-2's sees only earlier positions, so it can be trained to predict the next
# token without seeing it. A test: two sentences that differ only in their last word. BERT's
# vectors at the *earlier* positions change; GPT-2's cannot.

# %% slideshow={"slide_type": "-"}
bert, gpt, t5 = (net.eval() for _, net in families.values())
a = tokenizer("the film was good", return_tensors="pt", return_token_type_ids=False)
b = tokenizer("the film was bad", return_tensors="pt", return_token_type_ids=False)
last = a["input_ids"].shape[1] - 2  # position of the last word ([SEP] follows it)
assert (a["input_ids"] != b["input_ids"]).nonzero()[:, 1].tolist() == [last]
with torch.no_grad():
    bert_a, bert_b = bert(**a).last_hidden_state, bert(**b).last_hidden_state  # (1, 6, hidden)
    gpt_a, gpt_b = gpt(**a).logits, gpt(**b).logits  # (1, 6, vocab)
bert_shift = (bert_a[0, :last] - bert_b[0, :last]).abs().max().item()
gpt_shift = (gpt_a[0, :last] - gpt_b[0, :last]).abs().max().item()
print(f"largest change before the last word: BERT {bert_shift:.4f}, GPT-2 {gpt_shift:.1e}")
assert bert_shift > 1e-3
torch.testing.assert_close(gpt_a[0, :last], gpt_b[0, :last])

# %% [markdown] slideshow={"slide_type": "subslide"}
# **What differs (2): the decoder, and (3) `generate`.** T5 is an encoder–decoder: the encoder
# reads the input (bidirectionally, like BERT), the decoder writes the output one token at a
# time (causally, like GPT-2) while attending to the encoder. Models that write text have
# `generate`, which loops: predict the next token, append it, predict again. Our random models
# write random tokens; the point is the call, which is the same for both.

# %% slideshow={"slide_type": "-"}
prompt = tokenizer("the film was", return_tensors="pt", return_token_type_ids=False)
prompt["input_ids"] = prompt["input_ids"][:, :-1]  # drop [SEP]: GPT-2 continues the text
prompt["attention_mask"] = prompt["attention_mask"][:, :-1]
with torch.no_grad():
    gpt_out = gpt.generate(**prompt, max_new_tokens=4, do_sample=False)  # (1, prompt + 4)
    t5_out = t5.generate(**a, max_new_tokens=4, do_sample=False)  # (1, start + ≤ 4)
print("GPT-2 continues the prompt:", tokenizer.decode(gpt_out[0]))
print("T5 writes a new sequence:  ", tokenizer.decode(t5_out[0]))
print("BERT can generate:", bert.can_generate())
assert gpt_out.shape[1] == prompt["input_ids"].shape[1] + 4

# %% [markdown] slideshow={"slide_type": "subslide"}
# **A causal LM trains like any other model.** Its labels are the input ids themselves: the
# model shifts them by one inside, so position *t* is scored on predicting token *t + 1*. The
# loss is the cross-entropy of those predictions (checked by hand below), and a few AdamW steps
# on one sentence bring it down, as for the classifier of §5.

# %% slideshow={"slide_type": "-"}
text_ids = tokenizer(
    "a causal language model learns to predict the next token",
    return_tensors="pt",
    return_token_type_ids=False,
)
with torch.no_grad():
    out = gpt(**text_ids, labels=text_ids["input_ids"])
    logits, ids = out.logits, text_ids["input_ids"]  # (1, time, vocab), (1, time)
    by_hand = F.cross_entropy(logits[0, :-1], ids[0, 1:])  # position t predicts token t + 1
torch.testing.assert_close(out.loss, by_hand)

optimizer = torch.optim.AdamW(gpt.parameters(), lr=tiny.tiny_lm_lr)
gpt.train()
losses = []
for _step in range(tiny.tiny_lm_steps):
    loss = gpt(**text_ids, labels=text_ids["input_ids"]).loss  # scalar
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
print("loss per step:", " → ".join(f"{value:.3f}" for value in losses))
assert losses[-1] < losses[0]
with torch.no_grad():  # T5 too: labels go to the decoder, shifted right inside
    t5_loss = t5(**a, labels=b["input_ids"]).loss
print(f"T5 with labels: loss {t5_loss.item():.3f} (a scalar, like every model here)")
del families, bert, gpt, t5
