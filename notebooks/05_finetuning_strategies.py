# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: keep_output,tags,jupyter,slideshow,-all
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext
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
# This notebook turns both into code you can inspect, then measures them:
#
# | section | what you will see |
# |---|---|
# | 1 | three sentence vectors from one `BertModel`: `[CLS]`, the pooler output, mask-aware mean pooling |
# | 2 | the train / validation / test parts, and which frozen vector knows the topic |
# | 3 | a classification head and a regression head, checked against `BertForSequenceClassification` |
# | 4 | AdamW parameter groups: 2e-5 for the body, 1e-3 for the head, no decay on biases and LayerNorm |
# | 5 | layer-wise learning-rate decay |
# | 6 | warmup schedules, with `transformers`' schedule rebuilt as a PyTorch `LambdaLR` |
# | 7 | freezing and LoRA: trainable parameters and a fairly timed training step |
# | 8 | every strategy, live (one short run each) and from a recorded run (4 epochs, rates swept, 3 seeds) |
#
# In the `quick` profile the BERT is `sentence-transformers/all-MiniLM-L6-v2`, a real 6-layer
# BERT (hidden size 384) that was trained to produce sentence embeddings **by mean pooling**:
# keep that in mind in sections 1, 2 and 8.

# %% [markdown] slideshow={"slide_type": "notes"}
# Speaker notes. The thread of the lesson: each piece of advice in the article is first written
# out in a few lines and checked against the library, then measured. Every number in section 8
# is on the **validation** part; the test part is never read here (notebook 06 scores it once).
# The live runs are short on purpose (CPU budget) and can rank nothing; the ranking comes from
# the recorded run, read only through its label (profile, date, hardware).

# %% slideshow={"slide_type": "skip"}
# first: nlpcourse.config quiets torchao's import-time warnings (transformers imports torchao)
from nlpcourse.config import get_device, get_profile, seed_everything

# isort: split
import copy
import os
import time
from functools import partial

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch.optim.lr_scheduler import LambdaLR
from tqdm.auto import tqdm
from transformers import (
    AutoTokenizer,
    BertForSequenceClassification,
    BertModel,
    get_linear_schedule_with_warmup,
)
from transformers.utils import logging as hf_logging

from nlpcourse.data.checkpoints import load_pretrained
from nlpcourse.data.splits import ag_news_three_way, stratified_subset
from nlpcourse.evaluate.comparison import compare_variants
from nlpcourse.evaluate.efficiency import count_parameters
from nlpcourse.evaluate.records import load_record, record_label
from nlpcourse.evaluate.seed_stats import chance_passes, seed_comparison_table
from nlpcourse.evaluate.timing import compare_step_seconds
from nlpcourse.models.heads import EncoderClassifier
from nlpcourse.models.lora import merge_lora
from nlpcourse.models.pooling import capture_inputs, mean_pool, topic_cosines
from nlpcourse.plots.finetune import (
    plot_cosine_histograms,
    plot_layer_rates,
    plot_recorded_losses,
    plot_schedules,
)
from nlpcourse.plots.training import plot_runs
from nlpcourse.text.hf_batches import make_loader, tokenize_dataset
from nlpcourse.train.loop import predict, to_device
from nlpcourse.train.optim import (
    bert_freeze_prefixes,
    describe_groups,
    freeze,
    lr_curve,
    param_groups,
)
from nlpcourse.train.strategies import (
    NOTEBOOK,
    REFERENCE,
    STRATEGIES,
    build_model,
    equal_mean_scale,
    make_optimizer,
    train_strategy,
)

profile = get_profile()
seed_everything(profile.seed)
cfg = profile.finetune
device = get_device()
hf_logging.disable_progress_bar()
print(f"profile {profile.name!r} · checkpoint {profile.bert} · device {device}")
print(
    f"torch {torch.__version__} · {torch.get_num_threads()} CPU threads · "
    f"load average {os.getloadavg()[0]:.1f}"
)
notebook_start = time.perf_counter()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1 · Three sentence vectors from one `BertModel`
#
# The article's snippet, on today's libraries: tokenize, run the encoder, take position 0 of
# the last hidden layer. `BertModel` returns `last_hidden_state`, one vector per token, and
# `pooler_output`, one vector per text.

# %% slideshow={"slide_type": "-"}
tokenizer = load_pretrained(AutoTokenizer, profile.bert)
encoder = load_pretrained(BertModel, profile.bert).to(device).eval()

inputs = tokenizer("Sample text", return_tensors="pt").to(device)  # input_ids (1, T)
with torch.no_grad():
    outputs = encoder(**inputs)
cls_output = outputs.last_hidden_state[:, 0, :]  # (1, H): the [CLS] token's vector

# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
print("tokens:", tokenizer.convert_ids_to_tokens(inputs["input_ids"][0]))
print("last_hidden_state", tuple(outputs.last_hidden_state.shape))  # (batch, tokens, hidden)
print("cls_output       ", tuple(cls_output.shape))
print("pooler_output    ", tuple(outputs.pooler_output.shape))

# %% [markdown] slideshow={"slide_type": "subslide"}
# What the three candidates are:
#
# * **`[CLS]`**: `last_hidden_state[:, 0]`. The `[CLS]` token carries no word of its own;
#   through twelve (here six) rounds of attention it can gather information from the whole
#   text. In the original BERT it was trained, through the pooler, to predict whether two
#   sentences follow each other (next-sentence prediction). It is a good *classification*
#   input **after fine-tuning**, when the head's gradients teach it what to gather.
# * **`pooler_output`**: `tanh(W · h_[CLS] + b)`, a dense layer on top of `[CLS]` that was
#   trained only for next-sentence prediction. `BertForSequenceClassification` classifies from
#   it. This checkpoint's pooler came with its base model and took **no** part in the
#   sentence-embedding training.
# * **mean pooling**: the average of the token vectors, *counting real tokens only*: in a
#   padded batch the padding positions must be masked out. This is what this checkpoint was
#   trained to produce (its `1_Pooling/config.json` says `pooling_mode_mean_tokens: true`), and
#   the usual choice when the encoder stays **frozen** (search, clustering, similarity).

# %% [markdown] slideshow={"slide_type": "subslide"}
# Mean pooling by hand, then checked against the package's `mean_pool`. A short text padded in
# a batch must get exactly the vector it gets alone; the naive `.mean(dim=1)` averages in the
# padding and does not.

# %% slideshow={"slide_type": "-"}
pair = [
    "Stocks fell.",
    "Shares of the largest chipmakers fell sharply on Friday after a weak forecast.",
]
batch = tokenizer(pair, padding=True, return_tensors="pt").to(device)  # (2, T) padded
with torch.no_grad():
    hidden = encoder(**batch).last_hidden_state  # (2, T, H)
mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (2, T, 1): 1 real, 0 padding
mean_by_hand = (hidden * mask).sum(dim=1) / mask.sum(dim=1)  # (2, H)
torch.testing.assert_close(mean_by_hand, mean_pool(hidden, batch["attention_mask"]))

alone = tokenizer(pair[:1], return_tensors="pt").to(device)  # (1, T_short), no padding
with torch.no_grad():
    hidden_alone = encoder(**alone).last_hidden_state  # (1, T_short, H)
reference_vector = hidden_alone.mean(dim=1)[0]  # (H,)
naive_diff = (hidden[0].mean(dim=0) - reference_vector).abs().max()  # ()
print("padding positions in the short text:", int((batch["attention_mask"][0] == 0).sum()))
print(f"masked mean vs alone: max diff {(mean_by_hand[0] - reference_vector).abs().max():.1e}")
print(f"naive mean vs alone:  max diff {naive_diff:.1e}")
torch.testing.assert_close(mean_by_hand[0], reference_vector, atol=1e-4, rtol=1e-4)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2 · Three parts, and which frozen vector knows the topic
#
# Every comparison in this notebook is a *choice* (which pooling, which schedule), and choices
# are made on data the final score never sees. AG News is cut once into three parts by
# `ag_news_three_way`, the same call notebooks 06, 08 and 10 make:
#
# * **train**: the rows the models learn from;
# * **validation**: carved from the training part (stratified, seeded); every number below is
#   measured here;
# * **test**: held out. This notebook drops it unread; notebook 06 scores it once, at the end.

# %% slideshow={"slide_type": "-"}
ag = ag_news_three_way(
    use_official_train=profile.agnews.use_official_train,
    test_size=profile.agnews.test_size,
    val_size=profile.agnews.val_size,
    seed=profile.seed,
)
print({part: len(rows) for part, rows in ag.items()})
ag.pop("test")  # never read in this notebook
class_names = ag["train"].features["label"].names
train_rows = stratified_subset(ag["train"], cfg.train_size, profile.seed)
val_rows = stratified_subset(ag["validation"], cfg.val_size, profile.seed)
y_val = np.array(val_rows["label"])
print(
    f"used here: {len(train_rows):,} training rows, {len(val_rows):,} validation rows "
    f"({len(val_rows) / len(ag['validation']):.0%} of validation) · classes {class_names}"
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# We embed those rows with the **frozen** encoder, all three ways from one forward pass, and ask
# two questions. *Cosine similarity*: are two stories on the same topic closer than two on
# different topics? *Linear probe*: can a logistic regression, trained on the training rows'
# vectors, read the topic off the validation rows' vectors? Each probe is scored with a
# bootstrap interval, and compared with the mean-pooling probe on the same rows.


# %% slideshow={"slide_type": "-"}
@torch.no_grad()
def three_vectors(texts, batch_size=cfg.eval_batch_size):
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
        pooled = mean_pool(out.last_hidden_state, batch["attention_mask"])  # (B, H)
        found["mean"].append(pooled.cpu())
    return {name: torch.cat(parts) for name, parts in found.items()}  # (N, H) each


train_vectors = three_vectors(list(train_rows["text"]))
val_vectors = three_vectors(list(val_rows["text"]))
frozen_cosines, probe_predictions = {}, {}
for name in ("[CLS]", "pooler", "mean"):
    frozen_cosines[name] = topic_cosines(val_vectors[name], y_val)  # (same, different) pairs
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2_000))
    probe.fit(train_vectors[name].numpy(), np.array(train_rows["label"]))
    probe_predictions[name] = probe.predict(val_vectors[name].numpy())
probe_table = compare_variants(
    y_val,
    probe_predictions,
    against={"[CLS]": "mean", "pooler": "mean"},
    n_boot=cfg.n_boot,
    seed=profile.seed,
)
probe_table.insert(
    0, "cosine gap", [float(s.mean() - d.mean()) for s, d in frozen_cosines.values()]
)
probe_table.round(3)

# %% slideshow={"slide_type": "subslide"}
fig = plot_cosine_histograms(
    {name: frozen_cosines[name] for name in ("[CLS]", "mean")},
    title="frozen encoder: cosine of validation pairs",
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# Read the histograms first. Where the two distributions sit apart, cosine similarity alone
# separates topics, which is what search and clustering need; where they overlap and crowd
# near 1, every text looks like every other. The table's *cosine gap* is the distance between
# the two means. A **linear probe** asks a weaker question: can *some* linear function read the
# topic out of the vector? It can rescale and rotate, so a vector that is poor for cosine
# similarity may still probe well; its `verdict` column says whether the probe differs from
# the mean-pooling probe beyond what resampling the validation rows allows.
#
# * **frozen encoder** (features, search, clustering): use the pooling the checkpoint was
#   trained with: mean pooling for sentence-transformers models, and mean pooling is the safer
#   default for plain BERT too;
# * **fine-tuning**: the head's gradients reshape the encoder, so `[CLS]` can become a good
#   vector; section 8 measures whether the pooling still matters after training.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3 · Task heads on the encoder
#
# A head is a small new network from the sentence vector to the task's output: `num_labels`
# logits with **cross-entropy** for classification; **one** number with **mean squared error**
# for regression (a rating, a similarity score). One module does both; it picks its sentence
# vector with `pooling`.


# %% slideshow={"slide_type": "-"}
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
demo = tokenizer(["Team wins the cup", "Oil prices rise"], padding=True, return_tensors="pt")
demo = demo.to(device)  # (2, T)
classifier = EncoderWithHead(copy.deepcopy(encoder), num_outputs=len(class_names)).eval()
regressor = EncoderWithHead(copy.deepcopy(encoder), num_outputs=1).eval()
with torch.no_grad():
    logits = classifier(**demo)  # (2, 4)
    scores = regressor(**demo).squeeze(-1)  # (2,)
ce = F.cross_entropy(logits, torch.tensor([1, 2], device=device))  # (): class ids as targets
mse = F.mse_loss(scores, torch.tensor([0.9, 0.2], device=device))  # (): real-valued targets
print(
    f"classification logits {tuple(logits.shape)}, cross-entropy {ce:.3f} "
    f"(ln 4 = {np.log(4):.3f} for a uniform guess)"
)
print(f"regression outputs {tuple(scores.shape)}, MSE {mse:.3f}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# Two checks. `BertForSequenceClassification` is the same idea with `pooling="pooler"`, and
# with `num_labels=1` it is a regression model whose `outputs.loss` is the MSE: copy its head
# into ours and compare. And the package's `EncoderClassifier`, which the rest of the notebook
# trains, gives the same logits as ours for every pooling.

# %% slideshow={"slide_type": "-"}
seed_everything(profile.seed)
hf_regressor = load_pretrained(BertForSequenceClassification, profile.bert, num_labels=1)
hf_regressor = hf_regressor.to(device).eval()
ours = EncoderWithHead(hf_regressor.bert, num_outputs=1, pooling="pooler").to(device).eval()
ours.head.load_state_dict(hf_regressor.classifier.state_dict())
targets = torch.tensor([0.9, 0.2], device=device)  # (2,) float targets: regression
with torch.no_grad():
    hf_out = hf_regressor(**demo, labels=targets)
    our_scores = ours(**demo).squeeze(-1)  # (2,)
torch.testing.assert_close(our_scores, hf_out.logits.squeeze(-1))
torch.testing.assert_close(F.mse_loss(our_scores, targets), hf_out.loss)
print(f"problem_type={hf_regressor.config.problem_type!r}: outputs.loss = MSE = {hf_out.loss:.4f}")

for pooling in ("cls", "mean", "pooler"):
    ours = EncoderWithHead(classifier.bert, len(class_names), pooling).eval()
    twin = EncoderClassifier(classifier.bert, len(class_names), pooling).eval()
    twin.head.load_state_dict(ours.head.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(ours(**demo), twin(**demo))  # (2, 4) both
print("EncoderWithHead == nlpcourse.models.heads.EncoderClassifier for cls, mean and pooler")
del hf_regressor, ours, twin, regressor, classifier

# %% [markdown] slideshow={"slide_type": "-"}
# (The course's `fit()` treats a one-output model as *binary classification* with
# `binary_cross_entropy_with_logits`; for regression pass `loss_fn=F.mse_loss` and float labels.)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4 · Differential learning rates with AdamW parameter groups
#
# An optimizer can hold several **parameter groups**, each with its own learning rate and
# weight decay. We make four: body and head, each split into parameters that get weight decay
# and those that do not. Biases and LayerNorm weights are excluded from decay by convention
# (BERT's original recipe): decaying a LayerNorm's gain towards zero, or a bias, regularises
# nothing useful and can hurt.

# %% slideshow={"slide_type": "-"}
body = copy.deepcopy(encoder)  # the pretrained encoder for the rest of the notebook
body.pooler = None  # [CLS] and mean pooling never use the pooler: drop its parameters
model = EncoderClassifier(copy.deepcopy(body), num_outputs=len(class_names)).to(device)

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


def group_summary(groups):
    """Name, parameter ids, rate and weight decay of each group, for comparing two builds."""
    return {g["name"]: ({id(p) for p in g["params"]}, g["lr"], g["weight_decay"]) for g in groups}


# the package's tested helper builds the same groups
package_groups = param_groups(
    model, cfg.body_lr, cfg.head_lr, head=("head",), weight_decay=cfg.weight_decay
)
assert group_summary(package_groups) == group_summary(optimizer.param_groups)

# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
print(describe_groups(optimizer).to_string())

# %% [markdown] slideshow={"slide_type": "-"}
# Almost all parameters sit in the body at 2e-5; the head is a single linear layer at 1e-3,
# fifty times faster. Why: the body already encodes language well, and large steps would
# overwrite that (sometimes called catastrophic forgetting); the head starts from random
# numbers and at 2e-5 needs many steps to become useful.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5 · Layer-wise learning-rate decay
#
# Between "everything at one rate" and "frozen below layer k" lies a smooth version: each layer
# gets a rate `decay` times smaller than the layer above it, so the top of the encoder (closest
# to the task) adapts most and the embeddings least. With `L` layers, layer `i` (0-based) gets
# `body_lr · decay^(L - i)` and the embeddings `body_lr · decay^(L + 1)`; the head keeps its own
# rate. (This is "discriminative fine-tuning" from ULMFiT, used by ELECTRA and many fine-tuning
# recipes.) One decay and one no-decay group per depth, by hand:

# %% slideshow={"slide_type": "-"}
num_layers = model.bert.config.num_hidden_layers
llrd_by_hand = {}
for name, param in model.named_parameters():
    decay = "no_decay" if name.endswith("bias") or "LayerNorm" in name else "decay"
    if name.startswith("head."):
        key, lr = f"head/{decay}", cfg.head_lr
    elif ".embeddings." in name:  # depth 0: the furthest from the head
        key, lr = f"embeddings/{decay}", cfg.body_lr * cfg.layer_decay ** (num_layers + 1)
    else:  # bert.encoder.layer.<i>.…: depth i + 1
        layer = int(name.split("encoder.layer.")[1].split(".")[0])
        key = f"layer_{layer:02d}/{decay}"
        lr = cfg.body_lr * cfg.layer_decay ** (num_layers - layer)
    group = llrd_by_hand.setdefault(
        key,
        {
            "name": key,
            "params": [],
            "lr": lr,
            "weight_decay": 0.0 if decay == "no_decay" else cfg.weight_decay,
        },
    )
    group["params"].append(param)

llrd_groups = param_groups(
    model,
    cfg.body_lr,
    cfg.head_lr,
    head=("head",),
    layer_decay=cfg.layer_decay,
    weight_decay=cfg.weight_decay,
)
assert group_summary(llrd_groups) == group_summary(llrd_by_hand.values())
llrd_table = describe_groups(llrd_groups)

# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
print(f"layer_decay={cfg.layer_decay}, {num_layers} layers")
print(llrd_table.assign(lr=llrd_table["lr"].map(lambda lr: f"{lr:.3g}")).to_string())

# %% slideshow={"slide_type": "subslide"}
fig = plot_layer_rates(
    llrd_table, title=f"layer-wise decay {cfg.layer_decay}: lower layers learn slower"
)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6 · Warmup schedules, and where `get_linear_schedule_with_warmup` lives
#
# A slip in the article: it presents `get_linear_schedule_with_warmup` as a PyTorch function.
# It comes from **transformers** (`from transformers import get_linear_schedule_with_warmup`);
# PyTorch has no function of that name. What PyTorch has is the general `LambdaLR`, which
# multiplies every group's base rate by a factor `f(step)` you write, and the transformers
# function is exactly such a `LambdaLR`.
#
# The article's `get_linear_schedule_with_warmup(optimizer, 100, 1000)` rises linearly from 0 to
# 1 over the first 100 steps, then falls linearly to 0 at step 1,000. **Warmup** helps at the
# start, when Adam's running estimates of the gradient's scale come from only a few batches
# and the random head sends large, noisy gradients into the pretrained body; **decay** lets
# training settle at the end. Written as a PyTorch `LambdaLR`, then checked step by step:


# %% slideshow={"slide_type": "-"}
def linear_with_warmup(warmup_steps, total_steps):
    """The factor LambdaLR multiplies the base rate by: up from 0 to 1, then down to 0."""

    def factor(step):
        if step < warmup_steps:
            return step / max(1, warmup_steps)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return factor


def rates_of(scheduler, optimizer, steps):
    """The first group's rate at steps 0..steps, stepping ``scheduler`` as training would."""
    seen = []
    for _ in range(steps + 1):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()  # no gradients: nothing changes, but a scheduler expects a step first
        scheduler.step()
    return seen


torch_optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=cfg.body_lr)
torch_schedule = LambdaLR(torch_optimizer, linear_with_warmup(cfg.warmup_steps, cfg.total_steps))
hf_optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=cfg.body_lr)
hf_schedule = get_linear_schedule_with_warmup(hf_optimizer, cfg.warmup_steps, cfg.total_steps)
torch_rates = rates_of(torch_schedule, torch_optimizer, cfg.total_steps)
hf_rates = rates_of(hf_schedule, hf_optimizer, cfg.total_steps)
np.testing.assert_allclose(torch_rates, hf_rates, rtol=1e-12, atol=0)
print(f"LambdaLR and transformers agree at all {len(torch_rates)} steps")

# %% [markdown] slideshow={"slide_type": "subslide"}
# The schedules section 8 compares, on the article's 100 + 900 steps: warmup then linear decay
# (the article's), warmup then a constant rate (**warmup only**), linear decay from the first
# step (**decay only**), and the cosine decay many recipes use instead of the linear one.

# %% slideshow={"slide_type": "-"}
schedule_curves = {
    "warmup + linear decay (article)": lr_curve(
        "linear", cfg.warmup_steps, cfg.total_steps, cfg.body_lr
    ),
    "warmup only": lr_curve("constant", cfg.warmup_steps, cfg.total_steps, cfg.body_lr),
    "linear decay only": lr_curve("linear", 0, cfg.total_steps, cfg.body_lr),
    "warmup + cosine decay": lr_curve("cosine", cfg.warmup_steps, cfg.total_steps, cfg.body_lr),
}
np.testing.assert_allclose(schedule_curves["warmup + linear decay (article)"], torch_rates)
fig = plot_schedules(
    schedule_curves,
    cfg.warmup_steps,
    title=f"body learning rate ({cfg.warmup_steps} warmup steps of {cfg.total_steps:,})",
)

# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
for kind, curve in schedule_curves.items():
    values = "  ".join(f"{s}: {curve[s]:.3g}" for s in (0, 100, 550, 1000))
    print(f"{kind:>32}: {values}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 7 · Freezing and LoRA: fewer trainable parameters, faster steps
#
# Freezing sets `requires_grad=False`: no gradient, no optimizer state, no update. Freezing the
# embeddings (a fifth of BERT-base's parameters and half of this small model's, because of
# the 30,522-word vocabulary) saves the optimizer's work on that big matrix; freezing the lower
# layers too saves their backward pass as well, since autograd stops at the lowest layer that
# still needs a gradient.
#
# **LoRA** (low-rank adaptation, with the `peft` library) is how most people fine-tune large
# models today: the whole body is frozen, and next to chosen weight matrices `W` (here the
# attention's query and value projections) sits a trainable product `B @ A` of rank `r`, with
# `B` starting at zero, so training starts from the pretrained model exactly. Only `A`, `B` and
# the head learn; after training, `W + (alpha / r) · B @ A` folds back into one matrix.
#
# A fair timing: a few training batches are taken **once** and every setting steps on exactly
# those; each setting gets an untimed warm-up step; then the settings take turns, batch by
# batch, for the same number of rounds, so a change in machine load hits all of them alike; the
# **median** step is reported, as samples per second.

# %% slideshow={"slide_type": "-"}
train_tok = tokenize_dataset(train_rows, tokenizer, cfg.max_len)
val_tok = tokenize_dataset(val_rows, tokenizer, cfg.max_len)
shuffled = make_loader(train_tok, tokenizer, cfg.batch_size, shuffle=True, seed=profile.seed)
train_batches = list(shuffled)  # taken once: every run below sees these batches in this order
timing_batches = [to_device(b, device) for b in train_batches[: cfg.timing_batches]]
settings = {
    "nothing frozen": [],
    "embeddings": bert_freeze_prefixes("bert", embeddings=True),
    f"embeddings + layers 0-{cfg.freeze_layers - 1}": bert_freeze_prefixes(
        "bert", layers=cfg.freeze_layers
    ),
    "whole encoder (linear probe)": ["bert"],
}
lora_setting = f"LoRA r={cfg.lora_rank} on query, value"


def training_step(model, optimizer, batch):
    """One forward, backward and update on ``batch``."""
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    loss = F.cross_entropy(model(**inputs), batch["labels"])  # ()
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


steps, trainable = {}, {}
for setting, prefixes in [*settings.items(), (lora_setting, None)]:
    if prefixes is None:  # the package builds the LoRA model the recorded run trains
        candidate = build_model(body, len(class_names), STRATEGIES["LoRA"], cfg, profile.seed)
        optimizer = make_optimizer(candidate, STRATEGIES["LoRA"], cfg.lora_lr, cfg)
    else:
        candidate = EncoderClassifier(copy.deepcopy(body), len(class_names))
        freeze(candidate, prefixes)
        optimizer = torch.optim.AdamW(param_groups(candidate, cfg.body_lr, cfg.head_lr, ("head",)))
    steps[setting] = partial(training_step, candidate.to(device).train(), optimizer)
    trainable[setting] = count_parameters(candidate, trainable_only=True)
step_seconds = compare_step_seconds(
    steps, timing_batches, rounds=cfg.timing_rounds, warmup=1
)  # median seconds per step
del steps, candidate
freezing_table = pd.DataFrame(
    {
        "trainable parameters": trainable,
        "median step (s)": step_seconds,
        "samples/s": {k: cfg.batch_size / s for k, s in step_seconds.items()},
        "x as fast as nothing frozen": {
            k: step_seconds["nothing frozen"] / s for k, s in step_seconds.items()
        },
    }
)
print(
    f"{len(timing_batches)} batches of {cfg.batch_size} x {cfg.timing_rounds} rounds per "
    f"setting, after one warm-up step · load average {os.getloadavg()[0]:.1f}"
)
freezing_table.round(3)

# %% [markdown] slideshow={"slide_type": "subslide"}
# LoRA's trainable parameters by hand: each adapted `d_in → d_out` matrix gains `A` of shape
# `(r, d_in)` and `B` of shape `(d_out, r)`, in every layer, plus the head.

# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
hidden_size, layers = body.config.hidden_size, body.config.num_hidden_layers
lora_by_hand = layers * 2 * cfg.lora_rank * (hidden_size + hidden_size)  # query and value
head_size = hidden_size * len(class_names) + len(class_names)
assert trainable[lora_setting] == lora_by_hand + head_size
print(f"all parameters {count_parameters(model):,}")
for setting, count in trainable.items():
    print(f"{setting:>30}: {count:>10,} trainable")

# %% [markdown] slideshow={"slide_type": "-"}
# Read the last column of the timing table: how much faster freezing more makes a step depends
# on the machine (on a GPU the optimizer's share of a step is different, and it was not measured
# here). LoRA trains the fewest parameters after the linear probe, but its backward pass still
# runs through every layer (the adapters sit in all of them), so its step is not the cheapest:
# on a CPU and a model this small its gain is memory (no gradients or AdamW state for the body),
# not time. Whether the frozen and adapted models are still as *accurate* is measured in section
# 8.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 8 · Every strategy, measured on validation
#
# Each strategy starts from the same pretrained weights, sees the same training batches in the
# same order (taken once above) and is scored on the same validation rows. The variants change
# **one thing at a time**, so that warmup and decay, which the article's schedule bundles, can be
# told apart. One function, `train_strategy` in `nlpcourse/train/strategies.py`, trains every
# strategy, here and in the recorded run below.
#
# | strategy | compared with | what it isolates |
# |---|---|---|
# | single LR | differential LR | one rate for every parameter, the head included, constant |
# | differential LR | | the head at 1e-3, the body at its own rate, constant |
# | warmup only | differential LR | a linear warmup over the first 10 % of steps, then constant |
# | decay only | differential LR | linear decay to 0 from the first step, no warmup |
# | warmup + decay | differential LR | both: the article's schedule, scaled to the run (the **reference**) |
# | layer-wise decay | warmup + decay | rates falling 0.8× per layer downwards, rescaled to the **same mean rate** |
# | [CLS] pooling | warmup + decay | the head reads `[CLS]` instead of the mean |
# | freezing | warmup + decay | embeddings and the lowest layers frozen |
# | LoRA | warmup + decay | body frozen, rank-8 adapters on query and value |
#
# Layer-wise decay at 0.8 alone would also lower *every* body rate (the top layer gets 0.8×,
# the embeddings 0.8⁷×), so its verdict would mix "lower layers slower" with "less learning
# overall"; the strategy multiplies its rates by the factor printed below, so that the mean rate
# over the body's depths equals the reference's.

# %% slideshow={"slide_type": "subslide"}
val_loader = make_loader(val_tok, tokenizer, cfg.eval_batch_size)
against = {name: s.against for name, s in STRATEGIES.items() if s.against}
histories, predictions, head_inputs, trainable_counts = {}, {}, {}, {}
for name, strategy in tqdm(STRATEGIES.items(), desc="strategies"):
    trained, histories[name] = train_strategy(
        body,
        strategy,
        train_batches,
        num_labels=len(class_names),
        lr=cfg.lora_lr if strategy.lora else cfg.body_lr,  # the article's 2e-5 for the body
        cfg=cfg,
        seed=profile.seed,
        epochs=cfg.epochs,
        device=device,
    )
    with capture_inputs(trained.head) as pooled:  # the sentence vectors the head reads
        logits = predict(trained, val_loader, device=device)  # (N, 4)
    predictions[name] = logits.argmax(dim=-1).numpy()  # (N,)
    head_inputs[name] = torch.cat(pooled)  # (N, H)
    trainable_counts[name] = count_parameters(trained, trainable_only=True)
    if strategy.lora:
        lora_model = trained
print(
    f"{len(train_rows):,} training rows: {len(histories[REFERENCE].steps)} steps of "
    f"{cfg.batch_size}, one seed per strategy · {len(val_rows):,} validation rows · "
    f"layer-wise decay rates x{equal_mean_scale(cfg.layer_decay, layers):.2f} for an equal mean"
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# The dynamics of every run, from the per-step log `fit()` keeps: training loss (smoothed) and
# the head's learning rate. The rate panel shows what each schedule did; the loss panel shows
# how fast each strategy left the uniform-guess loss ln 4 ≈ 1.39, and whether it had stopped
# falling when the run ended.

# %% slideshow={"slide_type": "subslide"}
fig = plot_runs(histories, keys=("loss", "lr"))  # raw per-step values: the rates are exact

# %% [markdown] slideshow={"slide_type": "subslide"}
# The live table: validation accuracy with a 95 % bootstrap interval over the validation rows,
# and each strategy's difference to its counterpart with a **paired** bootstrap interval (both
# models scored on the same resampled rows). These intervals cover the choice of validation
# rows, **not** the seed. (Throughput is not in this table: whole-epoch clocks, run one after
# the other without a warm-up, are not a fair timing; section 7's table is.)

# %% slideshow={"slide_type": "-"}
live = compare_variants(y_val, predictions, against, n_boot=cfg.n_boot, seed=profile.seed)
live["trainable parameters"] = pd.Series(trainable_counts)
expected, any_pass = chance_passes(len(against))
print(
    f"{len(against)} verdicts at 95 %: if no strategy differed at all, about {expected:.1f} would "
    f"still be called by chance (at least one with probability {any_pass:.0%})"
)
live.round(3)

# %% [markdown] slideshow={"slide_type": "-"}
# What this live run can show: that every strategy runs, how each schedule shapes the rate, and
# how far each gets in the steps printed above with the article's rates (2e-5 for the body). What
# it cannot show is which strategy is better: one seed, the loss still falling at the last step
# (see the curves), rates nobody tuned, and several verdicts read at once. A gap here is a
# statement about this short budget only.
#
# The adapters the LoRA run learned, merged back: `W + (alpha / r) · B @ A` by hand for one
# layer, then `merge_lora` (peft's `merge_and_unload`) for all of them; the merged plain model
# must give the adapter model's logits.

# %% slideshow={"slide_type": "-"}
query = lora_model.base_model.model.bert.encoder.layer[0].attention.self.query  # a LoRA layer
A, B = query.lora_A["default"].weight, query.lora_B["default"].weight  # (r, H), (H, r)
merged_by_hand = query.base_layer.weight + query.scaling["default"] * B @ A  # (H, H)
batch = next(iter(val_loader))
inputs = {k: v.to(device) for k, v in batch.items() if k != "labels"}
with torch.no_grad():
    adapter_logits = lora_model.eval()(**inputs)  # (B, 4)
    merged = merge_lora(copy.deepcopy(lora_model)).eval()
    merged_query = merged.bert.encoder.layer[0].attention.self.query.weight  # (H, H)
    torch.testing.assert_close(merged_query, merged_by_hand)
    torch.testing.assert_close(merged(**inputs), adapter_logits, atol=1e-5, rtol=1e-5)
print(
    f"|B @ A| of layer 0's query after training: {float((B @ A).detach().abs().max()):.2e} (not zero) · "
    f"merged model: {count_parameters(merged):,} parameters, logits equal to the adapter model's"
)

# %% [markdown] slideshow={"slide_type": "slide"}
# ### The recorded run: several epochs, rates swept, three seeds
#
# Ranking strategies needs what the live budget lacks, so the same `train_strategy` ran larger
# from `python -m nlpcourse record 05` (`make record NB=05`) in the `standard` profile. For every
# strategy it swept the rate (body, or LoRA's adapters) over a small grid, picked the rate with
# the lowest loss on a *tuning* share of the validation rows after training, then trained three
# seeds at that rate for several epochs (each seed its own batch order, shared by all strategies)
# and scored them on the *other* validation rows. Its record in `records/` states the profile,
# sizes, date, hardware, versions, commit and a hash of the code; the next cell refuses a record
# whose code changed since or that was edited by hand. Every sentence below about the recorded
# effect reads the table and figure labelled with that provenance.

# %% slideshow={"slide_type": "subslide"}
record = load_record(NOTEBOOK, "standard")
label = record_label(record)
recorded_runs = record["figures"]["strategies"]
recorded = seed_comparison_table(
    {name: recorded_runs[name]["accuracy_by_seed"] for name in STRATEGIES}, against
)
recorded.insert(0, "rate", [f"{recorded_runs[name]['rate']:g}" for name in recorded.index])
recorded.insert(1, "trainable", [recorded_runs[n]["trainable_parameters"] for n in recorded.index])
recorded["tuning loss per rate"] = [
    ", ".join(f"{rate}: {v['val_loss']:.3f}" for rate, v in recorded_runs[name]["sweep"].items())
    for name in recorded.index
]
recorded["tuning loss by epoch"] = [
    " → ".join(f"{loss:.3f}" for loss in recorded_runs[name]["tuning_loss_by_epoch"])
    for name in recorded.index
]
recorded["last epoch: tuning loss change"] = [
    np.diff(recorded_runs[name]["tuning_loss_by_epoch"])[-1] for name in recorded.index
]
rows, sizes = record["figures"]["rows"], record["sizes"]["finetune"]
print(label)
print(
    f"{rows['train']} training rows, {sizes['epochs']} epochs = "
    f"{record['figures']['steps_per_run']} steps of {sizes['batch_size']} per run · rates "
    f"{sizes['lr_grid']} (LoRA {sizes['lora_lr_grid']}) picked on {rows['tune']} rows · "
    f"{len(record['figures']['seeds'])} seeds scored on {rows['score']} rows"
)
recorded.round(4)

# %% slideshow={"slide_type": "subslide"}
fig = plot_recorded_losses(
    {name: run["train_loss_by_step"] for name, run in recorded_runs.items()},
    {name: run["tuning_loss_by_epoch"] for name, run in recorded_runs.items()},
    title=f"{label} · first seed at the chosen rate",
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# The recorded table's difference column is paired by seed (mean and sd of the per-seed
# differences); the interval is a t interval over the seeds, which treats the scoring rows as
# fixed. Eight verdicts are read from one table, so the verdict uses **Holm-adjusted** p-values:
# the chance that any of the eight is a false call stays at 5 %. The next cell writes out what
# the recorded table allows:

# %% slideshow={"slide_type": "-"}
print(label)
for name, row in recorded.dropna(subset=["difference"]).iterrows():
    interval = f"{row['difference']:+.3f} ± {row['diff sd']:.3f} (t interval "
    interval += f"[{row['diff low']:+.3f}, {row['diff high']:+.3f}], Holm p {row['Holm p']:.2f})"
    said = row["verdict"]
    if said.startswith("no"):  # the smallest difference this record could have called
        said += f" (detectable: ±{(row['diff high'] - row['diff low']) / 2:.3f})"
    print(f"- {name} vs {row['against']}: {said}, {interval}")
flat = recorded["last epoch: tuning loss change"]
print(f"tuning loss change over the last epoch: {flat.min():+.3f} to {flat.max():+.3f}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# Reading the recorded run (every number quoted is in the table, figure or lines above, all
# labelled "recorded run: standard profile, 2026-12-06, 2 CPU cores, 1 thread(s), 39 min at mean
# load 9"; 96 training rows, 24 steps of 16 per run):
#
# * **Convergence** (last two columns). Every chosen run's tuning loss fell from 0.76–1.29 after
#   the first epoch to 0.45–0.57 after the fourth. In the last epoch the runs with a decaying
#   rate moved by at most 0.038; the three constant-rate runs (single LR, differential LR, warmup
#   only) had their lowest tuning loss after epoch 3 and rose by 0.052 to 0.077 in epoch 4: on 96
#   rows they had begun to overfit, so more epochs would not have helped them. No run was still
#   falling by more than 0.038 per epoch when it stopped.
# * **Rates.** With two rates per strategy, the sweep picked the lower body rate, 1e-4, for six
#   of the eight body-rate strategies and 3e-4 for `[CLS]` pooling and freezing; LoRA got 5e-3,
#   the top of its grid. A two-point grid says which of the two did better on the tuning rows,
#   not where the best rate lies.
# * **Verdicts.** Scoring accuracies run from 0.805 (LoRA) to 0.841 (layer-wise decay), and none
#   of the eight differences passes after Holm's correction; the smallest raw p is 0.100
#   (LoRA, Holm p 0.80). Warmup + decay against the constant rate measures +0.015 ± 0.018
#   (interval from −0.030 to +0.060): the sign is the opposite of "warmup and decay hurt", but
#   this record cannot call it. The "detectable" widths (±0.012 to ±0.046) say how large a
#   difference would have had to be.
# * **Layer-wise decay** ran at the reference's mean rate over the depths; at that rate it
#   makes no measurable difference (+0.005 ± 0.008, detectable ±0.020).
# * **`[CLS]` pooling** (−0.007 ± 0.005, detectable ±0.012) is judged on a checkpoint that was
#   trained for **mean** pooling: it says nothing about `[CLS]` on a plain BERT.
# * **Freezing** (7,099,396 of 22,566,916 parameters trainable, about a third) measures
#   −0.008 ± 0.008, no measurable difference; its speed is section 7's fair timing, not this
#   table.
# * **LoRA** trains 75,268 parameters and measures −0.031 ± 0.018 (interval from −0.077 to
#   +0.015), no measurable difference at this size; its rate sits at the top of its grid, and a
#   larger one was not tried.
#
# What this record cannot say: effects smaller than the detectable widths, behaviour with more
# training rows, and anything about a GPU or the `full` profile, neither of which ran here.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Going further: what fine-tuning did to the sentence vectors
#
# The same histograms as in section 2, now of the vectors the two trained heads of the live run
# read (the reference, mean pooling, and the `[CLS]` run), on the validation rows.

# %% slideshow={"slide_type": "subslide"}
fine_tuned_cosines = {
    "[CLS]": topic_cosines(head_inputs["[CLS] pooling"], y_val),  # (same, different) pairs
    "mean": topic_cosines(head_inputs[REFERENCE], y_val),
}
fig = plot_cosine_histograms(
    {f"{name}, fine-tuned": pairs for name, pairs in fine_tuned_cosines.items()},
    title=f"after {len(histories[REFERENCE].steps)} fine-tuning steps: cosine of validation pairs",
)
for name, (same, different) in fine_tuned_cosines.items():
    frozen_same, frozen_different = frozen_cosines[name]
    print(
        f"{name:>5}: mean same-topic minus different-topic cosine "
        f"{float(frozen_same.mean() - frozen_different.mean()):.3f} frozen, "
        f"{float(same.mean() - different.mean()):.3f} fine-tuned"
    )
print(f"whole notebook so far: {(time.perf_counter() - notebook_start) / 60:.1f} min")

# %% [markdown] slideshow={"slide_type": "-"}
# Compare with the frozen histograms of section 2 (both gaps are printed above): a short run
# of a classification loss already moves the geometry of the sentence vectors; the histograms
# and the printed gaps show for which pooling, and in which direction.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
#
# **1.** Mean pooling is one way to ignore padding. Write `max_pool(last_hidden_state,
# attention_mask)` that takes, for every hidden dimension, the maximum over the *real* tokens
# only. Shapes: `(B, T, H)` and `(B, T)` in, `(B, H)` out.

# %% slideshow={"slide_type": "-"}
from nlpcourse.exercises.ch05 import check_cosine_lambda, check_linear_lrs, check_max_pool

max_pool = None  # your answer: def max_pool(last_hidden_state, attention_mask): ...
check_max_pool(max_pool)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"]
def max_pool(last_hidden_state, attention_mask):
    """Max over the real tokens of each sequence: padding is set to -inf first."""
    padding = attention_mask.unsqueeze(-1) == 0  # (B, T, 1)
    filled = last_hidden_state.masked_fill(padding, float("-inf"))  # (B, T, H)
    return filled.max(dim=1).values  # (B, H)


assert check_max_pool(max_pool)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **2.** With the article's `get_linear_schedule_with_warmup(optimizer, 100, 1000)` and a base
# rate of 2e-5, what is the learning rate at step 50 and at step 775? Work it out from the
# shape of the schedule.

# %% slideshow={"slide_type": "-"}
lr_at_50, lr_at_775 = None, None  # your answers
check_linear_lrs(lr_at_50, lr_at_775)

# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"]
lr_at_50 = 2e-5 * 50 / 100  # halfway up the warmup
lr_at_775 = 2e-5 * (1000 - 775) / (1000 - 100)  # a quarter of the decay left
assert check_linear_lrs(lr_at_50, lr_at_775)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **3.** Section 6 rebuilt the linear schedule as a PyTorch `LambdaLR`. Do the same for the
# cosine schedule with warmup (`transformers.get_cosine_schedule_with_warmup`, drawn in
# section 6): write `make_lambda(warmup_steps, total_steps)` returning the function
# `step -> factor` that `LambdaLR` needs. During warmup the factor rises linearly from 0 to 1;
# afterwards it follows half a cosine wave from 1 at the end of warmup to 0 at `total_steps`.
# The check steps your `LambdaLR` beside transformers' schedule for several lengths.

# %% slideshow={"slide_type": "-"}
make_lambda = None  # your answer: def make_lambda(warmup_steps, total_steps): ...
check_cosine_lambda(make_lambda)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"]
def make_lambda(warmup_steps, total_steps):
    """Cosine decay after a linear warmup, as a LambdaLR factor."""

    def factor(step):
        if step < warmup_steps:
            return step / max(1, warmup_steps)
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return max(0.0, 0.5 * (1 + np.cos(np.pi * progress)))

    return factor


assert check_cosine_lambda(make_lambda)
