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
# # 05 · Fine-tuning strategies: sentence vectors, task heads, learning rates, warmup, freezing
#
# Section 3.2 of the article gives two pieces of advice for fine-tuning a pretrained model:
#
# 1. **Adapt the top to the task.** Put a classification or regression head on the encoder,
#    for example on the `[CLS]` vector `outputs.last_hidden_state[:, 0, :]` of a `BertModel`.
# 2. **Use different learning rates.** The pretrained body learns slowly (2e-5), new layers
#    faster (1e-3), and a schedule such as `get_linear_schedule_with_warmup(optimizer, 100, 1000)`
#    adjusts the rate during training.
#
# This notebook turns both into code you can inspect and measure:
#
# | section | what you will see |
# |---|---|
# | 1 | three sentence vectors from one `BertModel` — `[CLS]`, the pooler output, mask-aware mean pooling — and which one to use when |
# | 2 | a classification head (cross-entropy) and a regression head (MSE) on the encoder, checked against `BertForSequenceClassification` |
# | 3 | AdamW parameter groups: 2e-5 for the body, 1e-3 for the head, no weight decay on biases and LayerNorm weights |
# | 4 | the article's warmup schedule plotted beside cosine and constant-with-warmup |
# | 5 | freezing the embeddings and lower layers: trainable parameters and step time |
# | 6 | layer-wise learning-rate decay |
# | 7 | one measured, seeded comparison of these strategies on AG News |
#
# In the `quick` profile the BERT is `sentence-transformers/all-MiniLM-L6-v2`, a real 6-layer
# BERT (hidden size 384) that was trained to produce sentence embeddings **by mean pooling** —
# keep that in mind in section 1.

# %%
import copy
import os
import time
from functools import partial

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn
from transformers import (
    AutoTokenizer,
    BertForSequenceClassification,
    BertModel,
    get_linear_schedule_with_warmup,
)
from transformers.utils import logging as hf_logging

from nlpcourse.config import get_device, get_profile, seed_everything
from nlpcourse.efficient import median_seconds
from nlpcourse.embeddings import mean_pool
from nlpcourse.hf_data import make_loader, tokenize_dataset
from nlpcourse.hub import load_pretrained
from nlpcourse.optim import (
    bert_freeze_prefixes,
    count_parameters,
    describe_groups,
    freeze,
    lr_curve,
    make_scheduler,
    param_groups,
    warmup_steps_for,
)
from nlpcourse.splits import ag_news_splits, stratified_subset
from nlpcourse.training import fit

profile = get_profile()
seed_everything(profile.seed)
cfg = profile.finetune
device = get_device()
hf_logging.disable_progress_bar()
print(f"profile {profile.name!r} · checkpoint {profile.bert} · device {device}")
print(
    f"torch {torch.__version__} · {torch.get_num_threads()} CPU threads · load average {os.getloadavg()[0]:.1f}"
)
notebook_start = time.perf_counter()

# %% [markdown]
# ## 1 · Three sentence vectors from one `BertModel`
#
# The article's snippet, on today's libraries: tokenize, run the encoder, take position 0 of
# the last hidden layer. `BertModel` returns `last_hidden_state`, one vector per token, and
# `pooler_output`, one vector per text.

# %%
tokenizer = load_pretrained(AutoTokenizer, profile.bert)
encoder = load_pretrained(BertModel, profile.bert).to(device).eval()

inputs = tokenizer("Sample text", return_tensors="pt").to(device)  # input_ids (1, T)
with torch.no_grad():
    outputs = encoder(**inputs)
cls_output = outputs.last_hidden_state[:, 0, :]  # (1, H): the [CLS] token's vector

# %% keep_output=true
# NBVAL_CHECK_OUTPUT
print("tokens:", tokenizer.convert_ids_to_tokens(inputs["input_ids"][0]))
print("last_hidden_state", tuple(outputs.last_hidden_state.shape))  # (batch, tokens, hidden)
print("cls_output       ", tuple(cls_output.shape))
print("pooler_output    ", tuple(outputs.pooler_output.shape))

# %% [markdown]
# What the three candidates are:
#
# * **`[CLS]`** — `last_hidden_state[:, 0]`. The `[CLS]` token carries no word of its own;
#   through twelve (here six) rounds of attention it can gather information from the whole
#   text. In the original BERT it was trained, through the pooler, to predict whether two
#   sentences follow each other (next-sentence prediction). It is a good *classification*
#   input **after fine-tuning**, when the head's gradients teach it what to gather.
# * **`pooler_output`** — `tanh(W · h_[CLS] + b)`, a dense layer on top of `[CLS]` that was
#   trained only for next-sentence prediction. `BertForSequenceClassification` classifies from
#   it. This checkpoint's pooler came with its base model and took **no** part in the
#   sentence-embedding training: nothing taught it to give similar texts similar vectors.
# * **mean pooling** — the average of the token vectors, *counting real tokens only*: in a
#   padded batch, the padding positions must be masked out. This is what this checkpoint was
#   trained to produce (its `1_Pooling/config.json` says `pooling_mode_mean_tokens: true`), and
#   the usual choice when the encoder stays **frozen** (search, clustering, similarity).
#
# Mean pooling by hand, then checked against the package's `mean_pool`. A short text padded in
# a batch must get exactly the vector it gets alone; the naive `.mean(dim=1)` averages in the
# padding and does not.

# %%
pair = [
    "Stocks fell.",
    "Shares of the largest chipmakers fell sharply on Friday after a weak forecast.",
]
batch = tokenizer(pair, padding=True, return_tensors="pt").to(device)  # (2, T) padded to the longer
with torch.no_grad():
    hidden = encoder(**batch).last_hidden_state  # (2, T, H)
mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (2, T, 1): 1 real, 0 padding
mean_by_hand = (hidden * mask).sum(dim=1) / mask.sum(dim=1)  # (2, H)
torch.testing.assert_close(mean_by_hand, mean_pool(hidden, batch["attention_mask"]))

alone = tokenizer(pair[:1], return_tensors="pt").to(device)  # (1, T_short), no padding
with torch.no_grad():
    hidden_alone = encoder(**alone).last_hidden_state  # (1, T_short, H)
reference = hidden_alone.mean(dim=1)[0]  # (H,)
print("padding positions in the short text:", int((batch["attention_mask"][0] == 0).sum()))
print(f"masked mean vs alone: max diff {(mean_by_hand[0] - reference).abs().max():.1e}")
print(f"naive mean vs alone:  max diff {(hidden[0].mean(dim=0) - reference).abs().max():.1e}")
torch.testing.assert_close(mean_by_hand[0], reference, atol=1e-4, rtol=1e-4)

# %% [markdown]
# ### Which vector knows the topic? Two measurements
#
# We take AG News rows (the same seeded, stratified split notebook 06 uses) and embed them with
# the **frozen** encoder, all three ways from one forward pass. First, cosine similarity: how
# much more similar are two stories of the same topic than two of different topics? Then a
# linear probe: a logistic regression trained on each kind of vector, scored on held-out rows.

# %%
ag = ag_news_splits(profile.agnews.use_official_train, profile.agnews.test_size, profile.seed)
class_names = ag["train"].features["label"].names
train_rows = stratified_subset(ag["train"], cfg.train_size, profile.seed)
val_rows = stratified_subset(ag["test"], cfg.val_size, profile.seed)
print(
    f"{len(train_rows):,} training rows and {len(val_rows):,} held-out rows · classes {class_names}"
)


@torch.no_grad()
def three_vectors(texts, batch_size=64):
    """[CLS], pooler and mean-pooled vectors of ``texts`` from the frozen encoder."""
    found = {"[CLS]": [], "pooler": [], "mean": []}
    for start in range(0, len(texts), batch_size):
        batch = tokenizer(
            texts[start : start + batch_size],
            padding=True,
            truncation=True,
            max_length=cfg.max_len,
            return_tensors="pt",
        ).to(device)  # (B, T)
        out = encoder(**batch)
        found["[CLS]"].append(out.last_hidden_state[:, 0].cpu())  # (B, H)
        found["pooler"].append(out.pooler_output.cpu())  # (B, H)
        found["mean"].append(
            mean_pool(out.last_hidden_state, batch["attention_mask"]).cpu()
        )  # (B, H)
    return {name: torch.cat(parts) for name, parts in found.items()}  # (N, H) each


train_vectors = three_vectors(list(train_rows["text"]))
val_vectors = three_vectors(list(val_rows["text"]))
y_train_probe, y_val_probe = np.array(train_rows["label"]), np.array(val_rows["label"])

rows = []
same_topic = torch.tensor(y_val_probe[:, None] == y_val_probe[None, :])  # (N, N)
off_diagonal = ~torch.eye(len(y_val_probe), dtype=torch.bool)  # (N, N)
for name in ("[CLS]", "pooler", "mean"):
    unit = F.normalize(val_vectors[name], dim=-1)  # (N, H)
    cosine = unit @ unit.T  # (N, N)
    same = cosine[same_topic & off_diagonal].mean().item()
    different = cosine[~same_topic].mean().item()
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2_000))
    probe.fit(train_vectors[name].numpy(), y_train_probe)  # standardised: scale is irrelevant
    rows.append(
        {
            "vector": name,
            "cosine, same topic": round(same, 3),
            "cosine, different topic": round(different, 3),
            "gap": round(same - different, 3),
            "linear-probe accuracy": round(probe.score(val_vectors[name].numpy(), y_val_probe), 3),
        }
    )
probe_table = pd.DataFrame(rows).set_index("vector")
print(
    f"largest cosine gap: {probe_table['gap'].idxmax()} · "
    f"best linear probe: {probe_table['linear-probe accuracy'].idxmax()}"
)
probe_table

# %% [markdown]
# The two columns answer different questions. **Cosine similarity** asks whether texts on the
# same topic *point the same way*, which is what search and clustering need. Mean pooling is
# the vector this checkpoint was trained to produce, with a cosine objective; `[CLS]` and pooler
# vectors were not, and tend to point roughly the same way for *any* two texts (a high cosine
# even across topics), which leaves little room for a gap. A **linear probe** asks a weaker
# question: can *some* linear function read the topic out of the vector? It can rescale and
# rotate, so a vector that is poor for cosine similarity may still probe well — compare the two
# columns above. Rules of thumb:
#
# * **frozen encoder** (features, search, clustering): use the pooling the checkpoint was
#   trained with — mean pooling for sentence-transformers models, and mean pooling is the safer
#   default for plain BERT too;
# * **fine-tuning**: any of them works, because the head's gradients reshape the encoder;
#   `[CLS]` (via the pooler) is BERT's convention and what `BertForSequenceClassification`
#   uses, mean pooling often converges faster on a checkpoint trained for it.

# %% [markdown]
# ## 2 · Task heads on the encoder
#
# A head is a small new network from the sentence vector to the task's output: `num_labels`
# logits with **cross-entropy** for classification; **one** number with **mean squared error**
# for regression (a rating, a similarity score). One module does both; it picks its sentence
# vector with `pooling`.


# %%
class EncoderWithHead(nn.Module):
    """A BERT encoder, a pooling of its last layer, dropout and a linear head."""

    def __init__(self, bert, num_outputs, pooling="mean"):
        super().__init__()
        self.bert, self.pooling = bert, pooling
        self.dropout = nn.Dropout(bert.config.hidden_dropout_prob)
        self.head = nn.Linear(bert.config.hidden_size, num_outputs)

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        out = self.bert(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        )
        if self.pooling == "cls":
            pooled = out.last_hidden_state[:, 0]  # (B, H)
        elif self.pooling == "pooler":
            pooled = out.pooler_output  # (B, H)
        else:
            pooled = mean_pool(out.last_hidden_state, attention_mask)  # (B, H)
        return self.head(self.dropout(pooled))  # (B, num_outputs)


seed_everything(profile.seed)
demo = tokenizer(["Team wins the cup", "Oil prices rise"], padding=True, return_tensors="pt").to(
    device
)
classifier = EncoderWithHead(copy.deepcopy(encoder), num_outputs=len(class_names)).to(device).eval()
regressor = EncoderWithHead(copy.deepcopy(encoder), num_outputs=1).to(device).eval()
with torch.no_grad():
    logits = classifier(**demo)  # (2, 4)
    scores = regressor(**demo).squeeze(-1)  # (2,)
ce = F.cross_entropy(logits, torch.tensor([1, 2], device=device))  # (): class ids as targets
mse = F.mse_loss(scores, torch.tensor([0.9, 0.2], device=device))  # (): real-valued targets
print(
    f"classification logits {tuple(logits.shape)}, cross-entropy {ce:.3f} (ln 4 = {np.log(4):.3f} for a uniform guess)"
)
print(f"regression outputs {tuple(scores.shape)}, MSE {mse:.3f}")

# %% [markdown]
# `BertForSequenceClassification` is the same idea with `pooling="pooler"`, and with
# `num_labels=1` it becomes a regression model whose `outputs.loss` is the MSE. Check: copy its
# head into ours and compare outputs and loss.

# %%
seed_everything(profile.seed)
hf_regressor = (
    load_pretrained(BertForSequenceClassification, profile.bert, num_labels=1).to(device).eval()
)
ours = EncoderWithHead(hf_regressor.bert, num_outputs=1, pooling="pooler").to(device).eval()
ours.head.load_state_dict(hf_regressor.classifier.state_dict())
targets = torch.tensor([0.9, 0.2], device=device)  # (2,) float targets: regression
with torch.no_grad():
    hf_out = hf_regressor(**demo, labels=targets)
    our_scores = ours(**demo).squeeze(-1)  # (2,)
torch.testing.assert_close(our_scores, hf_out.logits.squeeze(-1))
torch.testing.assert_close(F.mse_loss(our_scores, targets), hf_out.loss)
print(f"problem_type={hf_regressor.config.problem_type!r}: outputs.loss = MSE = {hf_out.loss:.4f}")
del hf_regressor, ours, regressor

# %% [markdown]
# (The course's `fit()` treats a one-output model as *binary classification* with
# `binary_cross_entropy_with_logits`; for regression pass `loss_fn=F.mse_loss` and float labels.)
#
# ## 3 · Differential learning rates with AdamW parameter groups
#
# An optimizer can hold several **parameter groups**, each with its own learning rate and
# weight decay. We make four: body and head, each split into parameters that get weight decay
# and those that do not. Biases and LayerNorm weights are excluded from decay by convention
# (BERT's original recipe): decaying a LayerNorm's gain towards zero, or a bias, regularises
# nothing useful and can hurt.

# %%
body = copy.deepcopy(encoder)  # the pretrained encoder for the rest of the notebook
body.pooler = None  # a mean-pooling head never uses the pooler: drop its parameters
model = EncoderWithHead(copy.deepcopy(body), num_outputs=len(class_names)).to(device)

by_group = {"body/decay": [], "body/no_decay": [], "head/decay": [], "head/no_decay": []}
for name, param in model.named_parameters():
    part = "head" if name.startswith("head.") else "body"
    decay = "no_decay" if name.endswith("bias") or "LayerNorm" in name else "decay"
    by_group[f"{part}/{decay}"].append(param)
rates = {"body": cfg.body_lr, "head": cfg.head_lr}
optimizer = torch.optim.AdamW(
    [
        {
            "name": key,
            "params": params,
            "lr": rates[key.split("/")[0]],
            "weight_decay": 0.0 if key.endswith("no_decay") else cfg.weight_decay,
        }
        for key, params in by_group.items()
    ]
)

# the package's tested helper builds the same groups
package_groups = param_groups(
    model, cfg.body_lr, cfg.head_lr, head=("head",), weight_decay=cfg.weight_decay
)
assert {g["name"]: {id(p) for p in g["params"]} for g in package_groups} == {
    g["name"]: {id(p) for p in g["params"]} for g in optimizer.param_groups
}

# %% keep_output=true
# NBVAL_CHECK_OUTPUT
print(describe_groups(optimizer).to_string())

# %% [markdown]
# Almost all parameters sit in the body at 2e-5; the head is a single linear layer at 1e-3,
# fifty times faster. Why: the body already encodes language well, and large steps would
# overwrite that (sometimes called catastrophic forgetting); the head starts from random
# numbers and at 2e-5 would need many more steps to become useful.
#
# ## 4 · Warmup schedules
#
# The article's schedule, `get_linear_schedule_with_warmup(optimizer, 100, 1000)`, multiplies
# every group's rate by a factor that rises linearly from 0 to 1 over the first 100 steps, then
# falls linearly to 0 at step 1,000. Warmup helps at the start, when Adam's running estimates
# of the gradient's scale come from only a few batches and the random head sends large, noisy
# gradients into the pretrained body; the decay lets training settle at the end. Below, the
# article's schedule read off by stepping it, beside two common alternatives.

# %%
scheduler = get_linear_schedule_with_warmup(
    optimizer, num_warmup_steps=cfg.warmup_steps, num_training_steps=cfg.total_steps
)
linear_body = []
for _ in range(cfg.total_steps + 1):
    linear_body.append(optimizer.param_groups[0]["lr"])  # the body's rate at this step
    optimizer.step()  # no gradients yet: nothing changes, but the scheduler expects a step first
    scheduler.step()
curves = {
    kind: lr_curve(kind, cfg.warmup_steps, cfg.total_steps, cfg.body_lr)
    for kind in ("linear", "cosine", "constant")
}
np.testing.assert_allclose(linear_body, curves["linear"])

fig, ax = plt.subplots(figsize=(7, 3.2))
for kind, curve in curves.items():
    ax.plot(curve, label=f"{kind} with warmup")
ax.axvline(cfg.warmup_steps, color="grey", linestyle=":", label="end of warmup")
ax.set(
    xlabel="optimizer step",
    ylabel="body learning rate",
    title="learning-rate schedules (100 warmup steps of 1,000)",
)
ax.legend()
fig.tight_layout()

# %% keep_output=true
# NBVAL_CHECK_OUTPUT
for kind, curve in curves.items():
    print(f"{kind:>8}: " + "  ".join(f"step {s}: {curve[s]:.3g}" for s in (0, 50, 100, 550, 1000)))

# %% [markdown]
# ## 5 · Freezing: fewer trainable parameters, faster steps
#
# Freezing sets `requires_grad=False`: no gradient, no optimizer state, no update. Freezing the
# embeddings (a fifth of BERT-base's parameters and half of this small model's, because of
# the 30,522-word vocabulary) saves the optimizer's work on that big matrix; freezing the lower layers too saves
# their backward pass as well, since autograd stops at the lowest layer that still needs a
# gradient. Below: trainable parameters and the measured time of one training step (the median
# of a few steps on the same batch) for each setting.

# %%
train_tok = tokenize_dataset(train_rows, tokenizer, cfg.max_len)
val_tok = tokenize_dataset(val_rows, tokenizer, cfg.max_len)
timing_batch = {
    k: v.to(device)
    for k, v in next(iter(make_loader(train_tok, tokenizer, cfg.batch_size))).items()
}
num_layers = encoder.config.num_hidden_layers
settings = {
    "nothing frozen": [],
    "embeddings": bert_freeze_prefixes("bert", embeddings=True),
    f"embeddings + layers 0-{cfg.freeze_layers - 1}": bert_freeze_prefixes(
        "bert", layers=cfg.freeze_layers
    ),
    "whole encoder (linear probe)": ["bert"],
}


def training_step(model, optimizer):
    """One forward, backward and update on the timing batch."""
    inputs = {k: v for k, v in timing_batch.items() if k != "labels"}
    loss = F.cross_entropy(model(**inputs), timing_batch["labels"])  # ()
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


rows, trainable = [], {}
for setting, prefixes in settings.items():
    candidate = EncoderWithHead(copy.deepcopy(body), len(class_names)).to(device).train()
    if prefixes:
        freeze(candidate, prefixes)
    step_optimizer = torch.optim.AdamW(
        param_groups(candidate, cfg.body_lr, cfg.head_lr, head=("head",))
    )
    # the first step pays one-off costs (warmup, not timed); the timer waits for a GPU
    step = partial(training_step, candidate, step_optimizer)
    step_seconds = median_seconds(step, repeats=cfg.timing_steps, warmup=1)
    trainable[setting] = count_parameters(candidate, trainable_only=True)
    rows.append(
        {
            "frozen": setting,
            "trainable parameters": trainable[setting],
            "step time (s)": round(step_seconds, 3),
        }
    )
del candidate, step_optimizer
pd.DataFrame(rows).set_index("frozen")

# %% keep_output=true
# NBVAL_CHECK_OUTPUT
print(f"all parameters {count_parameters(model):,}")
for setting, count in trainable.items():
    print(f"{setting:>30}: {count:>10,} trainable")

# %% [markdown]
# ## 6 · Layer-wise learning-rate decay
#
# Between "everything at one rate" and "frozen below layer k" lies a smooth version: each layer
# gets a rate `decay` times smaller than the layer above it, so the top of the encoder (closest
# to the task) adapts most and the embeddings least. With `L` layers, layer `i` (0-based) gets
# `body_lr · decay^(L - i)` and the embeddings `body_lr · decay^(L + 1)`; the head keeps its own
# rate. (This is "discriminative fine-tuning" from ULMFiT, used by ELECTRA and many fine-tuning
# recipes.) `param_groups(..., layer_decay=...)` builds one decay and one no-decay group per
# layer:

# %%
llrd_groups = param_groups(
    model,
    cfg.body_lr,
    cfg.head_lr,
    head=("head",),
    layer_decay=cfg.layer_decay,
    weight_decay=cfg.weight_decay,
)
llrd_table = describe_groups(llrd_groups)

# %% keep_output=true
# NBVAL_CHECK_OUTPUT
print(f"layer_decay={cfg.layer_decay}, {num_layers} layers")
print(llrd_table.assign(lr=llrd_table["lr"].map(lambda lr: f"{lr:.3g}")).to_string())

# %%
per_depth = llrd_table[llrd_table.index.str.endswith("/decay")]
fig, ax = plt.subplots(figsize=(7, 3))
ax.bar([name.split("/")[0] for name in per_depth.index], per_depth["lr"])
ax.set(
    yscale="log",
    ylabel="learning rate (log scale)",
    title=f"layer-wise decay {cfg.layer_decay}: lower layers learn slower",
)
ax.tick_params(axis="x", labelrotation=30)
fig.tight_layout()

# %% [markdown]
# ## 7 · One measured comparison on AG News
#
# Now the strategies side by side, all from the same pretrained weights, the same seed, the same
# batches and the same number of steps: a mean-pooling head on the encoder, trained on the
# training rows above with the course's `fit()` and scored on the held-out rows.
#
# 1. **single LR** — the article's 2e-5 for every parameter, the head included;
# 2. **differential LR** — 2e-5 for the body, 1e-3 for the head;
# 3. **+ warmup** — the same with a linear warmup over the first 10% of the steps, then linear
#    decay to zero (the article's schedule, scaled to this run's length);
# 4. **+ freezing** — the same with the embeddings and the lowest layers frozen.

# %%
train_loader = make_loader(train_tok, tokenizer, cfg.batch_size, shuffle=True, seed=profile.seed)
val_loader = make_loader(val_tok, tokenizer, 64)
total = cfg.epochs * len(train_loader)
warmup = warmup_steps_for(total, cfg.warmup_ratio)
strategies = {
    "single LR": dict(head_lr=cfg.body_lr, schedule=False, frozen=[]),
    "differential LR": dict(head_lr=cfg.head_lr, schedule=False, frozen=[]),
    "+ warmup": dict(head_lr=cfg.head_lr, schedule=True, frozen=[]),
    "+ freezing": dict(
        head_lr=cfg.head_lr,
        schedule=True,
        frozen=bert_freeze_prefixes("bert", layers=cfg.freeze_layers),
    ),
}
results = []
for name, strategy in strategies.items():
    seed_everything(profile.seed)
    candidate = EncoderWithHead(copy.deepcopy(body), len(class_names)).to(device)
    if strategy["frozen"]:
        freeze(candidate, strategy["frozen"])
    run_optimizer = torch.optim.AdamW(
        param_groups(
            candidate,
            cfg.body_lr,
            strategy["head_lr"],
            head=("head",),
            weight_decay=cfg.weight_decay,
        )
    )
    run_scheduler = (
        make_scheduler(run_optimizer, "linear", warmup, total) if strategy["schedule"] else None
    )
    print(f"— {name}")
    history = fit(
        candidate,
        train_loader,
        val_loader,
        epochs=cfg.epochs,
        optimizer=run_optimizer,
        scheduler=run_scheduler,
        device=device,
    )
    results.append(
        {
            "strategy": name,
            "trainable parameters": count_parameters(candidate, trainable_only=True),
            "held-out accuracy": round(history.last("val_accuracy"), 4),
            "training time (s)": round(sum(history.history["epoch_time"]), 1),
        }
    )
del candidate, run_optimizer
comparison = pd.DataFrame(results).set_index("strategy")
print(
    f"{len(train_rows):,} training rows, {total} steps of {cfg.batch_size}; {len(val_rows):,} held-out rows; "
    f"load average {os.getloadavg()[0]:.1f}"
)
comparison

# %%
best = comparison["held-out accuracy"].idxmax()
gain = (
    comparison.loc["differential LR", "held-out accuracy"]
    - comparison.loc["single LR", "held-out accuracy"]
)
speed = (
    comparison.loc["+ warmup", "training time (s)"]
    / comparison.loc["+ freezing", "training time (s)"]
)
print(f"best held-out accuracy: {best}")
print(f"differential LR minus single LR: {gain:+.3f} accuracy")
print(f"freezing made training {speed:.2f}x as fast as the same run without it")
print(f"whole notebook: {(time.perf_counter() - notebook_start) / 60:.1f} min")

# %% [markdown]
# What to take from the table (your numbers are printed above; they depend on the seed and,
# for the times, on your machine):
#
# * At 2e-5 the randomly initialised head moves slowly, and a short run ends before it has
#   caught up; at 1e-3 it catches up within the run while the body still moves gently.
#   Compare the first two rows.
# * Warmup protects the pretrained weights from the first noisy updates. Its benefit shows in
#   long runs with high rates; in a run this short it also lowers the average rate, so it may
#   cost a little accuracy here.
# * Freezing the bottom of the network trades a little adaptability for speed and memory;
#   for a small dataset it often costs nothing.
#
# In the `full` profile (bert-base-uncased, 20,000 training rows, two epochs) the same table
# is produced by `NLPCOURSE_PROFILE=full`; it has not been run for this release (no GPU).

# %% [markdown]
# ## Exercises
#
# **1.** Mean pooling is one way to ignore padding. Write `max_pool(last_hidden_state,
# attention_mask)` that takes, for every hidden dimension, the maximum over the *real* tokens
# only. Shapes: `(B, T, H)` and `(B, T)` in, `(B, H)` out.

# %%
from nlpcourse.exercises.ch05 import check_linear_lrs, check_llrd_rate, check_max_pool

max_pool = None  # your answer: def max_pool(last_hidden_state, attention_mask): ...
check_max_pool(max_pool)


# %% jupyter={"source_hidden": true} tags=["solution"]
def max_pool(last_hidden_state, attention_mask):
    """Max over the real tokens of each sequence: padding is set to -inf first."""
    padding = attention_mask.unsqueeze(-1) == 0  # (B, T, 1)
    filled = last_hidden_state.masked_fill(padding, float("-inf"))  # (B, T, H)
    return filled.max(dim=1).values  # (B, H)


assert check_max_pool(max_pool)

# %% [markdown]
# **2.** With the article's `get_linear_schedule_with_warmup(optimizer, 100, 1000)` and a base
# rate of 2e-5, what is the learning rate at step 50 and at step 775? Work it out from the
# shape of the schedule, then confirm with `lr_curve`.

# %%
lr_at_50, lr_at_775 = None, None  # your answers
check_linear_lrs(lr_at_50, lr_at_775)

# %% jupyter={"source_hidden": true} tags=["solution"]
lr_at_50 = 2e-5 * 50 / 100  # halfway up the warmup
lr_at_775 = 2e-5 * (1000 - 775) / (1000 - 100)  # a quarter of the decay left
assert np.isclose(lr_at_775, lr_curve("linear", 100, 1000, 2e-5)[775])
assert check_linear_lrs(lr_at_50, lr_at_775)

# %% [markdown]
# **3.** In the layer-wise decay table of section 6, what learning rate do the embeddings get?
# Compute it from `cfg.body_lr`, `cfg.layer_decay` and the number of layers rather than reading
# it off.

# %%
embeddings_lr = None  # your answer
check_llrd_rate(embeddings_lr, cfg.body_lr, cfg.layer_decay, num_layers)

# %% jupyter={"source_hidden": true} tags=["solution"]
embeddings_lr = cfg.body_lr * cfg.layer_decay ** (num_layers + 1)
assert np.isclose(embeddings_lr, llrd_table.loc["embeddings/decay", "lr"])
assert check_llrd_rate(embeddings_lr, cfg.body_lr, cfg.layer_decay, num_layers)
