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
# # 08 · Efficient models: ALBERT, distillation, int8
#
# The article closes (§5) with trends, one line each. The first is **efficient
# architectures**: ALBERT shares parameters to save memory, DistilBERT compresses a model by
# knowledge distillation. (Its other trends — few-shot prompting, and bias — are notebook 09.)
#
# One line per trend invites slogans. This notebook turns each into a measurement:
#
# 1. **ALBERT** — build BERT and ALBERT of the same width and depth from their configs and
#    count what sharing saves: parameters, gradients and AdamW's state — and what it does not
#    save: compute.
# 2. **Distillation, as DistilBERT does it** — a student made of every other layer of an
#    AG News classifier (notebook 06's task and data), given few labelled rows and many
#    unlabelled ones that only the teacher labels, against the same student on the labelled
#    rows alone, over paired seeds; with the all-labelled case as the control.
# 3. **int8** — quantize that classifier after training: size on disk, CPU latency on the same
#    batches, accuracy on every test row before and after.
#
# Every choice is made on validation rows; the test rows score each final model once, after
# every choice. Every number below is printed by the cell that measures it; the prose only
# explains.

# %% slideshow={"slide_type": "skip"}
# first: nlpcourse.config quiets torchao's import-time warnings (transformers imports torchao)
from nlpcourse.config import get_device, get_profile, seed_everything

# isort: split
import copy
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from datasets import disable_progress_bars
from IPython.display import display
from tqdm.auto import tqdm
from transformers import (
    AlbertConfig,
    AlbertModel,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    BertConfig,
    BertModel,
)
from transformers.utils import logging as hf_logging

from nlpcourse.data.checkpoints import load_pretrained
from nlpcourse.data.runs import run_dir
from nlpcourse.data.splits import (
    UNLABELLED,
    ag_news_three_way,
    scarce_label_split,
    stratified_subset,
    with_hidden_labels,
)
from nlpcourse.evaluate import efficiency, stats
from nlpcourse.evaluate.comparison import compare_variants
from nlpcourse.evaluate.timing import compare_seconds
from nlpcourse.text.hf_batches import make_loader, tokenize_dataset
from nlpcourse.train import distill, optim
from nlpcourse.train.loop import fit, predict

disable_progress_bars()  # no "Map" bars from datasets
hf_logging.set_verbosity_error()  # no load reports: the new head's missing weights are expected
hf_logging.disable_progress_bar()  # no "Loading weights" or "Writing model shards" bars
profile = get_profile()
seed_everything(profile.seed)
cfg = profile.efficient
device = get_device()
notebook_start = time.perf_counter()
print(f"profile {profile.name!r} · encoder {profile.bert} · device {device}")
print(f"torch threads: {torch.get_num_threads()}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1 · ALBERT: the same network with far fewer parameters
#
# A BERT encoder of width $H$ (hidden size), depth $L$ (layers), feed-forward size $I$ and a
# vocabulary of $V$ WordPiece tokens holds
#
# * a **token-embedding table** $V \times H$, plus position ($P \times H$) and segment
#   ($T \times H$) embeddings and a LayerNorm ($2H$);
# * $L$ **layers**, each with four $H\times H$ attention projections (query, key, value,
#   output) and their biases, a feed-forward block $H \to I \to H$, and two LayerNorms:
#   $4(H^2+H) + (2HI + I + H) + 4H$ parameters;
# * a **pooler** $H\times H + H$ on the `[CLS]` vector.
#
# ALBERT (Lan et al., 2019) changes two things:
#
# 1. **Factorised embeddings.** Tokens are embedded in a small space $E$ and projected up to
#    $H$: $V\times E + E\times H$ instead of $V\times H$. The vocabulary table no longer grows
#    with the width of the model.
# 2. **Cross-layer sharing.** One layer's weights are applied $L$ times. Depth stops costing
#    parameters at all.
#
# (ALBERT also replaced next-sentence prediction with sentence-order prediction during
# pretraining; that changes the training signal, not the size, and is not measured here.)
#
# We build both from their configuration classes — random weights, no download — at
# BERT-base's sizes, with the same vocabulary so that only the architecture differs.

# %% slideshow={"slide_type": "-"}
bert_config = BertConfig(
    vocab_size=cfg.compare_vocab_size,
    hidden_size=cfg.compare_hidden,
    num_hidden_layers=cfg.compare_layers,
    num_attention_heads=cfg.compare_heads,
    intermediate_size=cfg.compare_intermediate,
)
albert_config = AlbertConfig(
    vocab_size=cfg.compare_vocab_size,
    embedding_size=cfg.albert_embedding_size,
    hidden_size=cfg.compare_hidden,
    num_hidden_layers=cfg.compare_layers,
    num_attention_heads=cfg.compare_heads,
    intermediate_size=cfg.compare_intermediate,
    hidden_act=bert_config.hidden_act,  # ALBERT's default is the tanh-approximated GELU
)
bert_model, albert_model = BertModel(bert_config), AlbertModel(albert_config)
for name, c in (("BERT", bert_config), ("ALBERT", albert_config)):
    e_size = f"E={c.embedding_size} " if name == "ALBERT" else ""
    print(f"{name:<6} V={c.vocab_size:,} {e_size}H={c.hidden_size} L={c.num_hidden_layers}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# The formulas above, written out, must agree with what PyTorch counts in the two modules
# (and with the package's tested versions, `efficiency.bert_parameter_count` and
# `efficiency.albert_parameter_count`):


# %% slideshow={"slide_type": "-"}
def layer_params(h, i):
    return 4 * (h * h + h) + (h * i + i + i * h + h) + 2 * 2 * h  # attention + FFN + 2 LayerNorms


def bert_params(c):
    rows = c.vocab_size + c.max_position_embeddings + c.type_vocab_size  # token, position, segment
    embeddings = rows * c.hidden_size + 2 * c.hidden_size  # tables (H wide) + LayerNorm
    layers = c.num_hidden_layers * layer_params(c.hidden_size, c.intermediate_size)
    return embeddings + layers + c.hidden_size**2 + c.hidden_size  # + pooler


def albert_params(c):
    rows = c.vocab_size + c.max_position_embeddings + c.type_vocab_size
    embeddings = rows * c.embedding_size + 2 * c.embedding_size  # tables only E wide
    projection = c.embedding_size * c.hidden_size + c.hidden_size  # E -> H
    layers = 1 * layer_params(c.hidden_size, c.intermediate_size)  # one shared layer, whatever L is
    return embeddings + projection + layers + c.hidden_size**2 + c.hidden_size


n_bert = efficiency.count_parameters(bert_model)
n_albert = efficiency.count_parameters(albert_model)
assert bert_params(bert_config) == efficiency.bert_parameter_count(bert_config) == n_bert
assert albert_params(albert_config) == efficiency.albert_parameter_count(albert_config) == n_albert

# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
bert_parts = efficiency.parameters_by_component(bert_model)
albert_parts = efficiency.parameters_by_component(albert_model)
print(f"{'component':<38}{'BERT':>13}{'ALBERT':>13}{'ALBERT/BERT':>13}")
for component in [*albert_parts, "total"]:
    b = sum(bert_parts.values()) if component == "total" else bert_parts.get(component, 0)
    a = sum(albert_parts.values()) if component == "total" else albert_parts[component]
    ratio = f"{a / b:.3f}" if b else "new"
    print(f"{component:<38}{b:>13,}{a:>13,}{ratio:>13}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# Read the table top to bottom. The token-embedding table shrinks by the factor $H/E$, and
# the projection that buys this back costs only $E\times H + H$. The transformer layers shrink
# by the factor $L$: ALBERT stores one layer and applies it $L$ times. Together the model is
# about a tenth of BERT's size — at identical width and depth.
#
# Because the layers are shared, making ALBERT deeper adds **no** parameters at all:

# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
for depth in (1, 6, 12, 24):
    deeper_albert, deeper_bert = copy.deepcopy(albert_config), copy.deepcopy(bert_config)
    deeper_albert.num_hidden_layers = deeper_bert.num_hidden_layers = depth
    albert_count = efficiency.count_parameters(AlbertModel(deeper_albert))  # built and counted
    assert albert_count == efficiency.albert_parameter_count(deeper_albert)
    bert_count = efficiency.bert_parameter_count(deeper_bert)
    print(f"{depth:>2} layers: ALBERT {albert_count:>12,} parameters,  BERT {bert_count:>12,}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### What sharing saves in training: gradients and AdamW's state
#
# Stored weights are only part of what training holds in memory. Every trainable parameter
# also gets a gradient of its own size, and AdamW keeps two running moments per parameter
# (`exp_avg`, `exp_avg_sq`) plus a step counter per tensor — so, before any activation,
# training with AdamW holds about **four times** the weights. A shared tensor is one
# parameter however often it is applied: one gradient (the contributions of all 12 uses are
# summed into it) and one pair of moments.
#
# Building BERT-base in float32 just to count would cost memory and seconds; on PyTorch's
# `meta` device a model has shapes and dtypes but no storage, so the count is free:

# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
memory = {
    "BERT-base": efficiency.training_memory_bytes(efficiency.meta_model(BertModel, bert_config)),
    "ALBERT-base": efficiency.training_memory_bytes(
        efficiency.meta_model(AlbertModel, albert_config)
    ),
}
memory_table = pd.DataFrame(memory).T / 2**20  # MiB
print("MiB held by training with AdamW, activations not counted (float32):")
print(memory_table.round(1).to_string())
ratio = memory["ALBERT-base"]["total"] / memory["BERT-base"]["total"]
print(f"ALBERT/BERT: {ratio:.3f} of the memory, in every column alike")

# %% [markdown] slideshow={"slide_type": "subslide"}
# The count is a model of what PyTorch allocates, so check it against the real thing: build a
# small BERT and a small ALBERT for real, take one AdamW step, and measure the bytes of every
# gradient and of every tensor in the optimizer's state.

# %% slideshow={"slide_type": "-"}
small = dict(vocab_size=1_000, hidden_size=64, num_hidden_layers=4, num_attention_heads=4)
small_models = {
    "BERT": BertModel(BertConfig(intermediate_size=128, **small)),
    "ALBERT": AlbertModel(AlbertConfig(embedding_size=16, intermediate_size=128, **small)),
}
small_ids = torch.randint(0, 1_000, (2, 12), generator=torch.Generator().manual_seed(0))  # (2, 12)
for name, model in small_models.items():
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    out = model(input_ids=small_ids)
    loss = (
        out.last_hidden_state.mean() + out.pooler_output.mean()
    )  # every parameter gets a gradient
    loss.backward()
    optimizer.step()
    measured_gradients = sum(p.grad.numel() * p.grad.element_size() for p in model.parameters())
    counted = efficiency.training_memory_bytes(model)
    assert measured_gradients == counted["gradients"]
    assert efficiency.optimizer_state_bytes(optimizer) == counted["adamw_state"]
    print(
        f"{name:<6} measured after one step: gradients {measured_gradients:,} B, "
        f"AdamW state {efficiency.optimizer_state_bytes(optimizer):,} B = the count"
    )
del small_models

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### What sharing does not save: compute
#
# Parameters are what you store and ship; compute is what every token pays. A shared layer
# applied 12 times does 12 layers' worth of multiplications, exactly like 12 distinct layers.
# ALBERT even adds one: the $E\to H$ projection. Counting the multiply-adds per token of the
# weight matrices predicts the ratio; a timed forward pass of each model on the same token
# ids measures it.

# %% slideshow={"slide_type": "-"}
shape = (cfg.timing_batch, cfg.timing_seq_len)
generator = torch.Generator().manual_seed(profile.seed)
timing_ids = torch.randint(1000, cfg.compare_vocab_size, shape, generator=generator)  # (B, T)
timing_inputs = {"input_ids": timing_ids, "attention_mask": torch.ones_like(timing_ids)}
timing_inputs = {key: value.to(device) for key, value in timing_inputs.items()}
seconds = efficiency.compare_forward_seconds(  # the two models take turns, `repeats` times
    {"BERT": bert_model.to(device), "ALBERT": albert_model.to(device)},
    timing_inputs,
    repeats=cfg.timing_repeats,
)


def layer_macs(h, i, layers):
    return layers * (4 * h * h + 2 * h * i)  # multiply-adds per token in the weight matrices


macs_bert = layer_macs(cfg.compare_hidden, cfg.compare_intermediate, cfg.compare_layers)
macs_albert = macs_bert + cfg.albert_embedding_size * cfg.compare_hidden  # + the E -> H projection
tokens = timing_ids.numel()
print(f"forward pass of {shape[0]} × {shape[1]} tokens (median of {cfg.timing_repeats} turns):")
for name in seconds:
    print(f"  {name:<6} {seconds[name] * 1000:8.1f} ms  ({tokens / seconds[name]:,.0f} tokens/s)")
print(
    f"ALBERT/BERT time: measured {seconds['ALBERT'] / seconds['BERT']:.2f}×, "
    f"predicted from multiply-adds {macs_albert / macs_bert:.3f}×; parameters {n_albert / n_bert:.3f}×"
)
# the published large models, by the same count
macs_bert_large = layer_macs(1024, 4096, 24)  # BERT-large
macs_albert_xxlarge = layer_macs(4096, 16384, 12) + 128 * 4096  # ALBERT-xxlarge
print(
    f"multiply-adds per token: BERT-large {macs_bert_large / 1e6:,.0f} M, "
    f"ALBERT-xxlarge {macs_albert_xxlarge / 1e6:,.0f} M ({macs_albert_xxlarge / macs_bert_large:.1f}×)"
)
del bert_model, albert_model

# %% [markdown] slideshow={"slide_type": "subslide"}
# The prediction is a ratio of 1.00: per token ALBERT does the same work as BERT, plus a
# small projection; the measured ratio is the check. So the article's "ALBERT reduces memory
# use" holds for what scales with the parameters — the weights you store and ship, their
# gradients and AdamW's moments, all shrunk by the same factor in the tables above — but not
# for compute, nor for the activations a forward pass keeps, which depend on width, depth and
# sequence length only. To match BERT's accuracy, ALBERT's authors widened the shared layer
# (ALBERT-xxlarge has $H=4096$), and the last line above counts what that costs per token
# against BERT-large. A model that is actually cheaper to run needs fewer or narrower layers —
# which is what distillation gives.


# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2 · Knowledge distillation: a small student taught by a large teacher
#
# DistilBERT (Sanh et al., 2019) keeps BERT's width, keeps **every other layer** — the
# student starts as a copy of the teacher's layers 0, 2, 4, … — and trains the student to
# imitate the teacher. Imitate what? Not only the teacher's top answer but its whole output
# distribution, softened by a temperature $T$ (Hinton et al., 2015):
#
# $$p_i^{(T)} = \frac{\exp(z_i/T)}{\sum_j \exp(z_j/T)}$$
#
# At $T=1$ a confident teacher puts almost all its mass on one class; at higher $T$ the small
# probabilities — "this sports story looks a bit like business" — become visible. Those
# relations between classes (Hinton's *dark knowledge*) are signal that a one-hot label does
# not carry. The training loss mixes both:
#
# $$\mathcal{L} = \alpha\, T^2\, \mathrm{KL}\!\left(p^{(T)}_{\text{teacher}} \,\|\, p^{(T)}_{\text{student}}\right) + (1-\alpha)\, \mathrm{CE}(z_\text{student}, y)$$
#
# The $T^2$ keeps the soft term's gradients on the same scale whatever the temperature (the
# gradient of the softened KL shrinks like $1/T^2$). The soft term needs no label at all:
# the teacher can label any text. That is where distillation earns its keep — DistilBERT
# distilled over a whole pretraining corpus, far more text than anyone could annotate. Here
# we distil on the task itself, AG News, in that regime: **few gold labels, many unlabelled
# rows**, with the all-labelled case as the control.
#
# ### The data: 06's three parts, and rows the teacher never saw
#
# The teacher is an AG News classifier trained on rows of notebook 06's training part. We
# rebuild 06's train / validation / test parts with the same helper and seed, and repeat 06's
# own call that picked its training rows. The student learns from training-part rows the
# teacher never trained on (`splits.scarce_label_split`): a few with gold labels, and many
# more whose labels the student never sees — on those, the teacher's soft targets are all it
# gets. (Their gold labels stay in the data only so that we can measure the teacher on them.)
# A teacher can be over-confident on its own training rows, close to the one-hot labels, with
# little dark knowledge to pass on; below we measure how confident ours is on both kinds of
# row.

# %% slideshow={"slide_type": "subslide"}
agnews = profile.agnews
parts = ag_news_three_way(
    agnews.use_official_train, agnews.test_size, agnews.val_size, profile.seed
)
class_names = parts["train"].features["label"].names
teacher_rows = stratified_subset(parts["train"], agnews.train_rows, profile.seed)  # 06's call
student_rows = scarce_label_split(
    parts["train"], teacher_rows, cfg.distill_labelled_size, cfg.distill_train_size, profile.seed
)
labelled, unlabelled = student_rows["labelled"], student_rows["unlabelled"]
mixed_set = with_hidden_labels(labelled, unlabelled)  # labelled rows, then unlabelled (label -100)
val_set = stratified_subset(parts["validation"], cfg.eval_size, profile.seed)
test_set = parts["test"]
assert not set(labelled["text"]) & set(unlabelled["text"])  # the two parts are disjoint
assert not set(mixed_set["text"]) & set(teacher_rows["text"])  # and the teacher saw neither
val_labels, test_labels = np.array(val_set["label"]), np.array(test_set["label"])
gold = np.array([*labelled["label"], *unlabelled["label"]])  # for measuring only, never trained on
tokenizer = load_pretrained(AutoTokenizer, profile.bert)
tok_mixed = tokenize_dataset(mixed_set, tokenizer, cfg.max_len)  # labels -100 where hidden
tok_val = tokenize_dataset(val_set, tokenizer, cfg.max_len)
tok_test = tokenize_dataset(test_set, tokenizer, cfg.max_len)
val_loader = make_loader(tok_val, tokenizer, batch_size=64)
test_loader = make_loader(tok_test, tokenizer, batch_size=64)

# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
for name, part in (
    ("teacher's training rows (06)", teacher_rows),
    ("student: labelled", labelled),
    ("student: unlabelled", unlabelled),
    ("validation", val_set),
    ("test", test_set),
):
    counts = np.bincount(part["label"], minlength=len(class_names)).tolist()
    print(f"{name:>28}: {len(part):>6,} rows · per class {counts}")
print("classes:", class_names)
hidden = sum(y == UNLABELLED for y in mixed_set["label"])
print(f"the student's training set: {len(mixed_set) - hidden:,} gold labels, {hidden:,} hidden")
# %% [markdown] slideshow={"slide_type": "subslide"}
# ### The teacher
#
# The teacher is fine-tuned here with notebook 06's recipe, on the rows 06 trained on and
# never on the student's: `profile.bert` with a fresh four-class head, one epoch, the body at
# 06's rate (`teacher_lr`, 5e-5 in `quick`) and the new head and pooler 20 times faster
# (`agnews.head_lr`, as 06 does), a linear schedule with warmup. As in 06's `quick` run, the
# word-embedding table is frozen (`freeze_word_embeddings`): about half of this small model's
# weights, left as pretrained, which makes every step cheaper. 06's saved model is not
# reused, so that this notebook runs on its own and prints the same numbers whether or not 06
# ran before it.

# %% slideshow={"slide_type": "subslide"}
seed_everything(profile.seed)
teacher = load_pretrained(
    AutoModelForSequenceClassification, profile.bert, num_labels=len(class_names)
).to(device)
if cfg.freeze_word_embeddings:  # quick: the V×H table stays as pretrained (as in 06)
    teacher.base_model.embeddings.word_embeddings.weight.requires_grad_(False)
trained_rows = stratified_subset(teacher_rows, cfg.teacher_train_size, profile.seed)  # its rows
loader = make_loader(
    tokenize_dataset(trained_rows, tokenizer, cfg.max_len),
    tokenizer,
    cfg.batch_size,
    shuffle=True,
)
groups = optim.param_groups(  # 06's recipe: the new head learns faster than the pretrained body
    teacher,
    cfg.teacher_lr,
    agnews.head_lr,
    head=agnews.head_modules,
    weight_decay=agnews.weight_decay,
)
optimizer = torch.optim.AdamW(groups)
steps = cfg.teacher_epochs * len(loader)
scheduler = optim.make_scheduler(optimizer, "linear", int(0.1 * steps), steps)
fit(teacher, loader, epochs=cfg.teacher_epochs, optimizer=optimizer, scheduler=scheduler)
teacher_source = (
    f"fine-tuned here on {len(trained_rows):,} of 06's rows, {cfg.teacher_epochs} epoch(s)"
)
teacher.to(device).eval()
print(f"teacher: {profile.bert}, {teacher.config.num_hidden_layers} layers, {teacher_source}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Soft targets: what the student learns from
#
# The teacher's logits for the student's rows are computed **once** and travel with the
# batches (`distill.teacher_logits_loader`), so the teacher never runs again, whatever the
# number of runs. How good are these soft targets? The gold labels of the unlabelled rows,
# kept for this purpose only, tell; and a sample of the rows the teacher trained on shows
# how much more confident it is there. Then one validation story's distribution at rising
# temperatures: the ranking never changes; what becomes visible is how the remaining mass is
# shared among the wrong classes.

# %% slideshow={"slide_type": "-"}
mixed_logits = predict(teacher, make_loader(tok_mixed, tokenizer, batch_size=64))  # (n, 4)
seen_sample = stratified_subset(trained_rows, len(unlabelled), profile.seed)  # rows it trained on
tok_seen = tokenize_dataset(seen_sample, tokenizer, cfg.max_len)
seen_logits = predict(teacher, make_loader(tok_seen, tokenizer, batch_size=64))  # (n, 4)
seen_labels = np.array(seen_sample["label"])
for name, logits, labels in (
    ("rows it trained on", seen_logits, seen_labels),
    ("student's rows (unseen)", mixed_logits, gold),
):
    p = F.softmax(logits, dim=-1)  # (n, 4)
    off_top = 1 - p.max(dim=-1).values  # (n,): the mass on the three other classes
    right = float((logits.argmax(dim=-1).numpy() == labels).mean())
    print(
        f"teacher on {name:<23}: accuracy {right:.3f}, mean top probability "
        f"{p.max(dim=-1).values.mean():.3f}, mass off the top class {off_top.mean():.4f}"
    )
row = int(np.flatnonzero(val_labels == class_names.index("Business"))[0])  # first business story
example = tokenizer(
    val_set[row]["text"], truncation=True, max_length=cfg.max_len, return_tensors="pt"
)
with torch.no_grad():
    example_logits = teacher(**example.to(device)).logits[0].cpu()  # (4,)
print(val_set[row]["text"][:100], "…  label:", class_names[val_labels[row]])
distill.plot_soft_targets(example_logits, class_names, temperatures=(1, 2, 5, 10))
plt.show()

# %% [markdown] slideshow={"slide_type": "subslide"}
# The teacher is right on 0.868 of the student's rows, which it never saw (0.896 on rows it
# trained on), and sure of itself: its top class gets 0.892 of the probability on average,
# and 0.108 of the mass lies on the three other classes (0.094 on its own training rows).
# Those few hundredths are the dark knowledge; at $T=2$ or $4$ the bars show them. Such a
# teacher is worth imitating because it is both right and confident; "Going further" at the
# end flattens its probabilities, leaving its answers as they are, and measures the cost.
#
# ### The loss, and the NaN it can hide
#
# Written the obvious way — `softmax` for the teacher, then `.log()` — the KL term has a trap.
# A very confident teacher (or a low temperature, or half precision) gives probabilities that
# **underflow to exactly 0**; `log(0) = -inf`, and the KL's `0 · -inf` is `NaN`. One NaN in
# one batch poisons every weight at the next step.


# %% slideshow={"slide_type": "-"}
def soft_loss_naive(student_logits, teacher_logits, temperature):
    p_teacher = F.softmax(teacher_logits / temperature, dim=-1)  # (B, C): may hold exact zeros
    log_p_student = F.log_softmax(student_logits / temperature, dim=-1)  # (B, C)
    kl = (p_teacher * (p_teacher.log() - log_p_student)).sum(dim=-1).mean()  # ()
    return temperature**2 * kl


peaked = torch.tensor([[0.0, 110.0, 5.0, -3.0]])  # (1, 4): a very sure teacher
student_row = torch.tensor([[0.5, 2.0, 0.1, -1.0]])  # (1, 4)
print("teacher probabilities at T=1:", F.softmax(peaked, dim=-1)[0].tolist())
print("naive soft loss:", soft_loss_naive(student_row, peaked, 1.0).item())

# %% [markdown] slideshow={"slide_type": "subslide"}
# The safe form never leaves log space: `log_softmax` for both sides, and `kl_div` with
# `log_target=True`, which computes $\sum_i e^{\log p_i}(\log p_i - \log q_i)$ — an
# underflowing class contributes $0 \cdot (\text{finite})= 0$. Checked against the package's
# tested `distill.soft_target_loss`, and mixed with the hard labels as
# `distill.distillation_loss` does:


# %% slideshow={"slide_type": "-"}
def soft_loss(student_logits, teacher_logits, temperature):
    log_p_student = F.log_softmax(student_logits / temperature, dim=-1)  # (B, C)
    log_p_teacher = F.log_softmax(teacher_logits.detach() / temperature, dim=-1)  # (B, C)
    kl = F.kl_div(log_p_student, log_p_teacher, reduction="batchmean", log_target=True)  # ()
    return temperature**2 * kl  # T²: the gradients keep their scale as T changes


def kd_loss(student_logits, teacher_logits, labels, temperature, alpha):
    hard = F.cross_entropy(student_logits, labels)  # ()
    return alpha * soft_loss(student_logits, teacher_logits, temperature) + (1 - alpha) * hard


print("safe soft loss on the peaked teacher:", soft_loss(student_row, peaked, 1.0).item())
generator = torch.Generator().manual_seed(profile.seed)
s_logits = torch.randn(8, 4, generator=generator)  # (8, 4)
t_logits = torch.randn(8, 4, generator=generator) * 3  # (8, 4): a more confident teacher
y = torch.randint(0, 4, (8,), generator=generator)  # (8,)
for temperature in (1.0, 2.0, 5.0):
    torch.testing.assert_close(
        soft_loss(s_logits, t_logits, temperature),
        distill.soft_target_loss(s_logits, t_logits, temperature),
    )
    torch.testing.assert_close(
        soft_loss(s_logits, t_logits, temperature), soft_loss_naive(s_logits, t_logits, temperature)
    )
    for alpha in (0.0, 0.5, 1.0):
        torch.testing.assert_close(
            kd_loss(s_logits, t_logits, y, temperature, alpha),
            distill.distillation_loss(s_logits, t_logits, y, temperature, alpha),
        )
assert torch.isfinite(distill.soft_target_loss(student_row, peaked, 1.0))
zeros_fp32 = int((F.softmax(mixed_logits, dim=-1) == 0).sum())
zeros_fp16 = int((F.softmax(mixed_logits.half(), dim=-1) == 0).sum())
print("soft_loss equals distill.soft_target_loss, and the naive form wherever that is finite")
print(
    f"our teacher's probabilities on the student's rows at T=1 that are exactly 0: "
    f"{zeros_fp32} in float32, {zeros_fp16} in float16 (of {mixed_logits.numel():,})"
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# Our teacher is sure, but not sure enough to spring the trap: none of its probabilities on
# the student's rows is exactly 0, in float32 or float16 (printed above); the peaked example
# shows what a surer one would do.
#
# ### The student: every other layer of the teacher, written out
#
# A BERT's weights are named `bert.encoder.layer.<i>.…`. The student has the teacher's class
# and config with half the layers; its layer $j$ is loaded from the teacher's layer $2j$, and
# everything else — embeddings, pooler, classifier — is copied as it is. Then we check the
# result against the package's tested `distill.make_student`, weight by weight and output by
# output.


# %% slideshow={"slide_type": "-"}
def every_other_layer_student(teacher):
    keep = list(range(0, teacher.config.num_hidden_layers, 2))  # DistilBERT: layers 0, 2, 4, …
    config = copy.deepcopy(teacher.config)
    config.num_hidden_layers = len(keep)
    student = type(teacher)(config)  # the same class with fewer layers, random weights for now
    new_number = {old: new for new, old in enumerate(keep)}
    state = {}
    for name, weight in teacher.state_dict().items():
        parts_of_name = name.split(".")
        if "layer" in parts_of_name:  # bert.encoder.layer.<i>.…
            at = parts_of_name.index("layer") + 1
            old = int(parts_of_name[at])
            if old not in new_number:
                continue  # a layer the student drops
            parts_of_name[at] = str(new_number[old])
        state[".".join(parts_of_name)] = weight.clone()
    student.load_state_dict(state)  # strict: every student weight comes from the teacher
    return student, keep


student_init, layer_ids = every_other_layer_student(teacher)
assert distill.layers_match(student_init, teacher, layer_ids)
with torch.no_grad():
    batch = {k: v.to(device) for k, v in next(iter(val_loader)).items() if k != "labels"}
    torch.testing.assert_close(
        student_init.to(device).eval()(**batch).logits,
        distill.make_student(teacher).to(device).eval()(**batch).logits,
    )

# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
print("student layer ← teacher layer:", {new: old for new, old in enumerate(layer_ids)})
for name, model in (("teacher", teacher), ("student", student_init)):
    in_table = efficiency.parameters_by_component(model)["token embeddings"]
    total = efficiency.count_parameters(model)
    print(
        f"{name}: {model.config.num_hidden_layers} layers, {total:,} parameters "
        f"({in_table:,} of them in the token embeddings)"
    )

# %% [markdown] slideshow={"slide_type": "subslide"}
# Halving the depth halves the compute of the layers, but not the parameter count: the
# $V\times H$ token-embedding table, untouched, is a large share of a small model — the very
# table ALBERT factorises.
#
# ### The training loop, written out
#
# One loop serves every run below. A batch of $B$ rows carries the hard labels (-100 on a row
# whose label is hidden) and the teacher's logits. The loss is the mean over the $B$ rows of
# $\alpha T^2 \mathrm{KL}$ plus $(1-\alpha)\,\mathrm{CE}$ where the row has a label:
# `cross_entropy` with `ignore_index=-100` adds nothing for the others, so an unlabelled row
# teaches through the soft term alone, and $\alpha = 0$ is plain cross-entropy on the
# labelled rows. The loop is checked against the package's `distill.train_student`: the same
# weights after the same batches.


# %% slideshow={"slide_type": "subslide"}
def train_student_by_hand(student, loader, optimizer, scheduler, epochs, temperature, alpha):
    for _ in range(epochs):
        student.train()
        for batch in loader:
            batch = {key: value.to(device) for key, value in batch.items()}
            labels = batch.pop("labels")  # (B,): -100 where the gold label is hidden
            teacher_logits = batch.pop("teacher_logits")  # (B, C): computed once, before
            logits = student(**batch).logits  # (B, C)
            log_q = F.log_softmax(logits / temperature, dim=-1)  # (B, C) student
            log_p = F.log_softmax(teacher_logits / temperature, dim=-1)  # (B, C) teacher
            kl = F.kl_div(log_q, log_p, reduction="batchmean", log_target=True)  # ()
            ce = F.cross_entropy(logits, labels, ignore_index=UNLABELLED, reduction="sum")  # ()
            loss = alpha * (temperature**2 * kl) + (1 - alpha) * (ce / len(labels))  # ()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
    return student


def start_run(tokenized, logits, seed, epochs):
    """A fresh copy of the student, its batches (shuffled by `seed`), AdamW and a schedule."""
    seed_everything(seed)  # the same dropout masks for every run with this seed
    student = copy.deepcopy(student_init).to(device)
    if cfg.freeze_word_embeddings:  # quick: the V×H table stays as the teacher's
        student.base_model.embeddings.word_embeddings.weight.requires_grad_(False)
    loader = distill.teacher_logits_loader(
        tokenized, tokenizer, logits, cfg.batch_size, shuffle=True, seed=seed
    )
    optimizer = torch.optim.AdamW(student.parameters(), lr=cfg.student_lr)
    steps = epochs * len(loader)
    scheduler = optim.make_scheduler(optimizer, "linear", int(0.1 * steps), steps)
    return student, loader, optimizer, scheduler


check_rows = range(cfg.distill_labelled_size - 32, cfg.distill_labelled_size + 96)  # both kinds
tok_check, logits_check = tok_mixed.select(check_rows), mixed_logits[list(check_rows)]
by_hand = train_student_by_hand(*start_run(tok_check, logits_check, 0, 1), 1, 2.0, 0.5)
packaged, loader, optimizer, scheduler = start_run(tok_check, logits_check, 0, 1)
distill.train_student(
    packaged,
    loader,
    optimizer,
    epochs=1,
    temperature=2.0,
    alpha=0.5,
    scheduler=scheduler,
    progress=False,
)
torch.testing.assert_close(by_hand.state_dict(), packaged.state_dict())
print(f"{len(loader)} steps on {len(tok_check)} rows: the same weights as distill.train_student")
del by_hand, packaged

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### $T$ and $\alpha$, chosen on validation
#
# The usual values ($T=2$, $\alpha=0.5$) come from other tasks. We try each pair of a small
# grid (`EfficientConfig.temperatures` × `EfficientConfig.alphas`) on one seed, score each student
# on the validation rows, and keep the best pair. The comparison that follows then uses fresh
# seeds, so the pair's lucky seed does not flatter it. Every run has the same number of
# optimizer steps: one epoch over the labelled and unlabelled rows together.

# %% slideshow={"slide_type": "-"}
tok_labelled = tok_mixed.select(range(len(labelled)))  # the labelled rows alone
labelled_logits = mixed_logits[: len(labelled)]
steps_kd = math.ceil(len(mixed_set) / cfg.batch_size) * cfg.distill_epochs
labels_only_epochs = math.ceil(steps_kd / math.ceil(len(labelled) / cfg.batch_size))


def train_copy(tokenized, logits, temperature, alpha, seed, epochs):
    student, loader, optimizer, scheduler = start_run(tokenized, logits, seed, epochs)
    distill.train_student(
        student,
        loader,
        optimizer,
        epochs=epochs,
        temperature=temperature,
        alpha=alpha,
        scheduler=scheduler,
        progress=False,
    )
    return student


def accuracy_on(model, loader, labels):
    return float((predict(model, loader).argmax(dim=-1).numpy() == labels).mean())


grid = [(t, a) for t in cfg.temperatures for a in cfg.alphas]
grid_accuracy = {}
for t, a in tqdm(grid, desc="T, alpha"):
    student = train_copy(tok_mixed, mixed_logits, t, a, profile.seed, cfg.distill_epochs)
    grid_accuracy[t, a] = accuracy_on(student, val_loader, val_labels)
temperature, alpha = max(grid_accuracy, key=grid_accuracy.get)
print(pd.Series(grid_accuracy, name="validation accuracy").rename_axis(["T", "alpha"]).unstack())
print(f"chosen on validation: T={temperature:g}, alpha={alpha:g}; every run {steps_kd} steps")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Few labels + soft targets, against the same student on the labels alone
#
# For each seed, two copies of the student are trained with the same number of optimizer
# steps, the same schedule and the same dropout masks:
#
# * **labels only** — cross-entropy on the labelled rows alone, cycled for as many epochs as
#   it takes to match the steps of the other;
# * **labels + KD** — the labelled rows with the chosen $T$ and $\alpha$, plus the unlabelled
#   rows with the teacher's soft targets and nothing else.
#
# And the **control**, today's all-labelled setting: the very same rows with every gold label
# shown, plain cross-entropy against the same KD loss. It tells whether the soft targets add
# anything once the labels are all there. Each run is scored on the validation rows, and the
# two students of the few-label regime on the test rows too — read only after every choice.

# %% slideshow={"slide_type": "subslide"}
runs = {  # name: (rows, teacher logits, alpha, epochs)
    "labels only": (tok_labelled, labelled_logits, 0.0, labels_only_epochs),
    "labels + KD": (tok_mixed, mixed_logits, alpha, cfg.distill_epochs),
}
seeds_kd = [profile.seed + 1 + s for s in range(cfg.distill_seeds)]  # not the tuning seed
val_acc = {name: [] for name in runs}
test_predictions = {name: [] for name in runs}  # (n_test,) per seed, read after every choice
for seed in tqdm(seeds_kd, desc="few labels: seeds"):
    for name, (rows, logits, a, epochs) in runs.items():
        student = train_copy(rows, logits, temperature, a, seed, epochs)
        val_acc[name].append(accuracy_on(student, val_loader, val_labels))
        test_predictions[name].append(predict(student, test_loader).argmax(dim=-1).numpy())
        if name == "labels + KD" and seed == seeds_kd[0]:
            kept_student = student  # saved below

# %% slideshow={"slide_type": "-"}
tok_all = tok_mixed.remove_columns("labels").add_column("labels", gold.tolist())  # every label
control_runs = {  # the same rows, every gold label shown
    "control: all labelled": (tok_all, mixed_logits, 0.0, cfg.distill_epochs),
    "control: all labelled + KD": (tok_all, mixed_logits, alpha, cfg.distill_epochs),
}
val_acc |= {name: [] for name in control_runs}
for seed in tqdm(seeds_kd, desc="control: seeds"):
    for name, (rows, logits, a, epochs) in control_runs.items():
        student = train_copy(rows, logits, temperature, a, seed, epochs)
        val_acc[name].append(accuracy_on(student, val_loader, val_labels))
teacher_val_accuracy = accuracy_on(teacher, val_loader, val_labels)

# %% slideshow={"slide_type": "subslide"}
rows_table = {}
for regime, plain, kd in (
    ("few labels", "labels only", "labels + KD"),
    ("control", "control: all labelled", "control: all labelled + KD"),
):
    gain, sd = stats.paired_seed_difference(val_acc[kd], val_acc[plain])
    rows_table[regime] = {
        "without KD": stats.format_mean_sd(val_acc[plain]),
        "with KD": stats.format_mean_sd(val_acc[kd]),
        "KD minus without, paired by seed": f"{gain:+.4f} ± {sd:.4f}",
        "detectable (95 %, power 0.8)": (
            f"{stats.min_detectable_difference(len(seeds_kd), row_sd=sd):.4f}"
        ),
    }
print(f"validation accuracy, {len(val_labels):,} rows, mean ± sd over {len(seeds_kd)} seeds")
display(pd.DataFrame(rows_table).T)
print(f"teacher ({teacher.config.num_hidden_layers} layers): {teacher_val_accuracy:.4f}")
fig, ax = plt.subplots(figsize=(6.5, 3.4))
for x, (plain, kd) in enumerate(
    (("labels only", "labels + KD"), ("control: all labelled", "control: all labelled + KD"))
):
    for i in range(len(seeds_kd)):
        ax.plot([2 * x, 2 * x + 1], [val_acc[plain][i], val_acc[kd][i]], "o-", color=f"C{x}")
ax.axhline(teacher_val_accuracy, color="gray", ls="--", label="teacher")
ax.set(xticks=range(4), xticklabels=["few labels", "+ KD", "all labelled", "+ KD"])
ax.set(ylabel="validation accuracy", title=f"{len(seeds_kd)} seeds, each line a pair")
ax.legend(fontsize=8)
ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()
# %% [markdown] slideshow={"slide_type": "subslide"}
# Read the pairs, not the means: a seed changes the batch order and the dropout masks for
# *both* students of a pair, so each line is one controlled comparison, and the sd of the
# paired differences is the training noise. Beside each difference, the smallest one that
# 3 paired seeds with that sd would detect (a normal approximation; with 3 seeds a
# t-based figure would be larger).
#
# * **Few labels: distillation helps.** Adding the 384 rows that only the teacher labels
#   raised validation accuracy from 0.8043 to 0.8465: +0.0422 ± 0.0180, beyond the 0.0292
#   these seeds would detect. The student trained on the 32 labels alone (each seen 13
#   times) ends near 0.80; the soft targets on rows it has no labels for carry it about
#   halfway to the teacher's 0.8947.
# * **Control: all labelled.** With every gold label of the same 416 rows shown, the soft
#   targets still add, but far less: +0.0060 ± 0.0025, just beyond the 0.0041 detectable.
#   Where the labels are all there, the teacher's distribution has little left to tell;
#   where they are missing, it is the only teacher the student has.
#
# The grid's six $(T, \alpha)$ pairs scored between 0.824 and 0.840 on the one tuning seed:
# a spread smaller than the paired sd of 0.018 between seeds, so on these rows the choice of
# $T$ and $\alpha$ hardly matters, and the grid picked $T=1$, $\alpha=0.9$. The `full`
# profile, which distils a teacher trained three epochs on 48,000 rows, has not been run
# here.
#
# ### Test, once
#
# Validation picked $T$ and $\alpha$; the test rows, unseen by every choice, now score the
# two students of the few-label regime, seed by seed, beside their teacher. Speed is timed
# separately: the models take turns on the same batch of 64 test rows and the median counts.

# %% slideshow={"slide_type": "subslide"}
test_acc = {
    name: [float((p == test_labels).mean()) for p in predictions]
    for name, predictions in test_predictions.items()
}
teacher_test = predict(teacher, test_loader).argmax(dim=-1).numpy()
timing_batch = {k: v.to(device) for k, v in next(iter(test_loader)).items() if k != "labels"}
batch_seconds = efficiency.compare_forward_seconds(
    {"teacher": teacher, "student": kept_student}, timing_batch, cfg.timing_repeats
)
gain, sd = stats.paired_seed_difference(test_acc["labels + KD"], test_acc["labels only"])
table = pd.DataFrame(
    {
        "test accuracy": [
            f"{(teacher_test == test_labels).mean():.4f}",
            *(stats.format_mean_sd(test_acc[name]) for name in test_acc),
        ],
        "layers": [teacher.config.num_hidden_layers, *[kept_student.config.num_hidden_layers] * 2],
        "parameters": [efficiency.count_parameters(teacher)]
        + [efficiency.count_parameters(kept_student)] * 2,
        "speed-up": [1.0, *[batch_seconds["teacher"] / batch_seconds["student"]] * 2],
    },
    index=["teacher", *test_acc],
)
print(f"{len(test_labels):,} test rows, scored once; teacher: {teacher_source}")
detectable_kd = stats.min_detectable_difference(len(seeds_kd), row_sd=sd)
print(f"labels + KD minus labels only, paired by seed: {gain:+.4f} ± {sd:.4f}")
print(f"smallest difference {len(seeds_kd)} paired seeds would detect: {detectable_kd:.4f}")
table.round(2)

# %% [markdown] slideshow={"slide_type": "subslide"}
# The test rows, scored once, agree: labels + KD minus labels only is +0.0285 ± 0.0050 over
# the 3 seeds (0.8026 → 0.8311), beyond the 0.0081 these seeds would detect; the teacher
# scores 0.8875. The student has half the teacher's layers and ran about twice as fast on the
# same batch in this build (the speed-up column): the layers do nearly all the work per
# token. Its parameter count fell far less, from 22.7 M to 17.4 M, because the embedding
# table's 11.7 M parameters stay. The `full` profile distils `bert-base-uncased` (12
# layers → 6) with 1,000 labelled and 40,000 unlabelled rows (`NLPCOURSE_PROFILE=full`); it
# has not been run here.
#
# The distilled student is saved like every trained model in the course, and reloaded:

# %% slideshow={"slide_type": "subslide"}
student_dir = run_dir("08_efficient_models") / "student"
kept_student.save_pretrained(student_dir)  # config.json + model.safetensors
tokenizer.save_pretrained(student_dir)
reloaded = AutoModelForSequenceClassification.from_pretrained(student_dir).to(device).eval()
with torch.no_grad():
    torch.testing.assert_close(
        reloaded(**timing_batch).logits, kept_student.eval()(**timing_batch).logits
    )
print(f"saved to {student_dir.relative_to(student_dir.parents[2])}, reloaded: identical logits")
del reloaded
# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3 · int8: the same classifier, its linear layers in a quarter of the bytes
#
# Distillation trains a smaller model. **Post-training quantization** keeps the model and
# stores its numbers more coarsely: each weight matrix of a linear layer becomes 8-bit
# integers plus a float scale per output row, $W \approx s\cdot W_{int8}$. *Dynamic*
# quantization quantizes the weights once and the activations on the fly at each call, so it
# needs no calibration data — one call on a trained model. It runs on the CPU, where deployed
# models often run, so this section measures on the CPU whatever device trained the model.
#
# Which call? PyTorch 2.13 marks `torch.ao.quantization.quantize_dynamic` as deprecated in
# favour of the separate `torchao` package. Its `quantize_(model,
# Int8DynamicActivationInt8WeightConfig())` is the maintained form of the same scheme, and it
# runs on this CPU, so the lesson uses it (`efficiency.quantize_int8_torchao` wraps the call
# on a copy of the model). The model is the AG News classifier, the teacher above, measured
# three ways: bytes on disk, latency on the same batches, and accuracy on every test
# row before and after.

# %% slideshow={"slide_type": "-"}
float_model = copy.deepcopy(teacher).cpu().eval()
int8_model = efficiency.quantize_int8_torchao(float_model)  # each nn.Linear: int8 weights
print("weight type of a linear layer:", type(int8_model.classifier.weight).__name__)
print("linear layers before:", efficiency.count_linear_layers(float_model))
print("linear layers after: ", efficiency.count_linear_layers(int8_model))
size = {
    "float32": efficiency.saved_size_bytes(float_model),
    "int8": efficiency.saved_size_bytes(int8_model),
}
in_embeddings = efficiency.parameters_by_component(float_model)["token embeddings"] * 4  # bytes
print(
    f"on disk: float32 {size['float32'] / 2**20:.1f} MiB, int8 {size['int8'] / 2**20:.1f} MiB "
    f"({size['float32'] / size['int8']:.2f}× smaller); the token embeddings alone, still float32: "
    f"{in_embeddings / 2**20:.1f} MiB"
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# Only the linear layers shrink 4×; the embedding tables and LayerNorms stay in float32, so
# the whole file shrinks by less — the same large table we met twice already.
#
# Accuracy: both models label all the test rows, and the paired bootstrap over those rows
# gives the interval of the difference. Beside it, the smallest difference these rows would
# detect (95 %, power 0.8), from the sd of the per-row differences in correctness.

# %% slideshow={"slide_type": "-"}
cpu_test_loader = make_loader(tok_test, tokenizer, batch_size=32)
quant_predictions = {
    "float32": predict(float_model, cpu_test_loader).argmax(dim=-1).numpy(),
    "int8": predict(int8_model, cpu_test_loader).argmax(dim=-1).numpy(),
}
agree = float((quant_predictions["float32"] == quant_predictions["int8"]).mean())
row_diff = (quant_predictions["int8"] == test_labels).astype(float) - (
    quant_predictions["float32"] == test_labels
)  # (n_test,): +1, 0 or -1 per row
detectable = stats.min_detectable_difference(len(test_labels), row_sd=float(row_diff.std(ddof=1)))
print(f"all {len(test_labels):,} test rows; the two models agree on {agree:.1%} of them")
print(f"smallest difference these rows would detect (95 %, power 0.8): {detectable:.4f}")
compare_variants(test_labels, quant_predictions, against={"int8": "float32"}).round(4)

# %% [markdown] slideshow={"slide_type": "subslide"}
# The two models agree on 99.5 % of the 1,520 test rows. Accuracy moved from 0.8875 to
# 0.8849: a difference of −0.0026, with a paired 95 % interval of [−0.0066, 0.0007] — no
# measurable difference, where one of 0.0052 would have been found 80 % of the time. On
# these rows int8 costs this classifier nothing that the test set can see.
#
# Latency: the float32 model and the int8 model run the same four test batches, taking
# turns, and the median of the turns counts.

# %% slideshow={"slide_type": "-"}
timing_batches = [{k: v for k, v in b.items() if k != "labels"} for b in list(cpu_test_loader)[:4]]


def run_batches(model):
    def run():
        with torch.inference_mode():
            for batch in timing_batches:  # the same batches for every model
                model(**batch)

    return run


latency = compare_seconds(
    {n: run_batches(m) for n, m in (("float32", float_model), ("int8", int8_model))},
    repeats=cfg.timing_repeats,
)
rows_timed = sum(len(b["input_ids"]) for b in timing_batches)
for name, seconds in latency.items():
    print(
        f"{name:<8} {seconds * 1000:7.1f} ms for {rows_timed} rows ({rows_timed / seconds:,.0f} rows/s)"
    )
print(f"int8 / float32 time on this CPU: {latency['int8'] / latency['float32']:.2f}×")

# %% [markdown] slideshow={"slide_type": "subslide"}
# torchao's int8 took between 0.6× and 0.8× of float32's time on the same batches in our runs
# on these shared cores (this run's ratio is printed above): faster, by less than the linear
# layers' 4× fewer bytes — each call also quantizes the activations, and the attention's
# products, the softmax and the LayerNorms stay in float32. Dynamic int8
# is one call and no data, which makes it the first thing to try for CPU serving; how much
# it saves depends on the CPU's int8 instructions and on the share of the time the linear
# layers take, so measure it on the machine that will serve.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Going further
#
# ### The deprecated `torch.ao` call, timed beside torchao
#
# `torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)` swaps each
# linear layer for a quantized module with its own CPU kernels (`efficiency.quantize_dynamic_int8`,
# its deprecation warning silenced). Same scheme, other kernels: the three models take turns
# on the same batches as above.

# %% slideshow={"slide_type": "-"}
old_int8 = efficiency.quantize_dynamic_int8(float_model)  # nn.Linear → torch.ao's dynamic Linear
print("linear layers:", efficiency.count_linear_layers(old_int8))
with torch.inference_mode():
    old_classes = torch.cat([old_int8(**b).logits.argmax(-1) for b in timing_batches])  # (128,)
    new_classes = torch.cat([int8_model(**b).logits.argmax(-1) for b in timing_batches])  # (128,)
same = int((old_classes == new_classes).sum())
print(f"torch.ao and torchao int8 give the same class on {same} of {rows_timed} rows")
latency_all = compare_seconds(
    {
        "float32": run_batches(float_model),
        "int8, torchao": run_batches(int8_model),
        "int8, torch.ao (deprecated)": run_batches(old_int8),
    },
    repeats=cfg.timing_repeats,
)
for name, seconds in latency_all.items():
    print(f"{name:<28} {seconds * 1000:7.1f} ms  ({seconds / latency_all['float32']:.2f}× float32)")

# %% [markdown] slideshow={"slide_type": "subslide"}
# In every run so far the deprecated call's kernels were the faster int8 path — about 0.4× of
# float32's time, against 0.6–0.75× for torchao (this run's ratios are printed above) — and the
# two int8 models chose the same class on 118 of the 128 timed rows: they round differently.
# The lesson keeps torchao for what section 3 measured — the maintained call, the same bytes
# saved, no measurable accuracy cost — and notes that on this CPU, run eagerly, the
# deprecated kernels were faster. torchao's CPU
# speed under `torch.compile` was not measured here.

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### The same teacher, less sure of itself
#
# Section 2 says a teacher is worth imitating when it is both right and confident. This
# test separates the two: the teacher's logits on the student's rows are divided by
# `flat_teacher_divisor` before distilling. Each row keeps the teacher's ranking of the
# classes, so its answers and its accuracy do not change; only its probabilities flatten.
# The student is then trained exactly as "labels + KD" was — the same $T$ and $\alpha$,
# seeds, batches and steps — and compared, seed by seed, with both students of section 2.

# %% slideshow={"slide_type": "-"}
flat_logits = mixed_logits / cfg.flat_teacher_divisor  # (n, 4): same argmax, flatter softmax
assert torch.equal(flat_logits.argmax(dim=-1), mixed_logits.argmax(dim=-1))
for name, logits in (("teacher", mixed_logits), ("teacher, flattened", flat_logits)):
    top = F.softmax(logits, dim=-1).max(dim=-1).values.mean()  # mean top probability, T=1
    right = (logits.argmax(dim=-1).numpy() == gold).mean()
    print(f"{name:<18}: right on {right:.3f} of the student's rows, mean top probability {top:.3f}")
val_acc["labels + flat KD"] = [
    accuracy_on(
        train_copy(tok_mixed, flat_logits, temperature, alpha, seed, cfg.distill_epochs),
        val_loader,
        val_labels,
    )
    for seed in tqdm(seeds_kd, desc="flattened teacher: seeds")
]
print(f"labels + flat KD: {stats.format_mean_sd(val_acc['labels + flat KD'])} on validation")
for other in ("labels + KD", "labels only"):
    gain, sd = stats.paired_seed_difference(val_acc["labels + flat KD"], val_acc[other])
    detectable = stats.min_detectable_difference(len(seeds_kd), row_sd=sd)
    print(f"  minus {other:<11}: {gain:+.4f} ± {sd:.4f} (detectable {detectable:.4f})")

# %% [markdown] slideshow={"slide_type": "subslide"}
# Divided by 6, the teacher's logits keep every answer — right on 0.868 of the student's rows
# either way — while its mean top probability falls from 0.892 to 0.431. The student that
# imitates the flattened teacher scores 0.7719 ± 0.0468 on validation: 0.0746 ± 0.0361 below
# the student of the same teacher unflattened, beyond the 0.0584 these seeds would detect,
# and no measurable distance from the labels-only student (−0.0323 ± 0.0477, where 0.0772
# would be detectable). Its seeds also spread three times as far (sd 0.047 against 0.015).
# Same answers, less confidence, and the gain of distillation is gone: a teacher can be
# right and still teach badly. One reading: the soft term's gradient on each logit is the
# student's probability minus the teacher's (over $T$), and flat targets separate the right
# class from the others by little, so the same 13 steps move the student less towards it;
# this notebook does not test that reading further.

# %% slideshow={"slide_type": "skip"}
del float_model, int8_model, old_int8
print(f"notebook wall time so far: {time.perf_counter() - notebook_start:.0f} s")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
#
# **1. Factorised embeddings.** ALBERT-xxlarge has hidden size $H=4096$, embedding size
# $E=128$ and a SentencePiece vocabulary of $V=30{,}000$. How many parameters does the
# factorisation save in the token embeddings, compared with a $V\times H$ table? (Count the
# weights of the tables and the projection; ignore biases.)

# %% slideshow={"slide_type": "skip"}
from nlpcourse.exercises.ch08 import (
    check_embedding_savings,
    check_hidden_label_loss,
    check_make_student,
    check_safe_kd,
)

saved_parameters = None  # your answer: an integer
check_embedding_savings(saved_parameters)

# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"]
V, H, E = 30_000, 4_096, 128
saved_parameters = V * H - (V * E + E * H)
assert check_embedding_savings(saved_parameters)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **2. Safe soft targets without `kl_div`.** Write `my_soft_loss(student_logits,
# teacher_logits, T)` returning $T^2\,\mathrm{KL}(p_T^{teacher}\,\|\,p_T^{student})$, summed
# over classes and averaged over rows, using only `F.log_softmax`, `.exp()` and sums — no
# `F.kl_div`, no `F.softmax`. The check runs it on a teacher whose softmax underflows, where
# the naive form above gives NaN.

# %% slideshow={"slide_type": "-"}
my_soft_loss = None  # your function (student_logits, teacher_logits, T) -> loss
check_safe_kd(my_soft_loss)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"]
def my_soft_loss(student_logits, teacher_logits, T):
    log_q = F.log_softmax(student_logits / T, dim=-1)  # (B, C)
    log_p = F.log_softmax(teacher_logits / T, dim=-1)  # (B, C), finite even where p underflows
    return T**2 * (log_p.exp() * (log_p - log_q)).sum(dim=-1).mean()


assert check_safe_kd(my_soft_loss)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **3. The loss when most labels are hidden.** Write `my_kd_loss(student_logits,
# teacher_logits, labels, T, alpha)` for a batch of $B$ rows in which a label of -100 means
# "hidden": the mean over all $B$ rows of $\alpha T^2 \mathrm{KL}$, plus $(1-\alpha)$ times
# the cross-entropy summed over the labelled rows only and divided by $B$ — the loss that
# section 2's loop computes. The check gives it a batch with one gold label and two hidden.

# %% slideshow={"slide_type": "-"}
my_kd_loss = None  # your function (student_logits, teacher_logits, labels, T, alpha) -> loss
check_hidden_label_loss(my_kd_loss)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"]
def my_kd_loss(student_logits, teacher_logits, labels, T, alpha):
    log_q = F.log_softmax(student_logits / T, dim=-1)  # (B, C)
    log_p = F.log_softmax(teacher_logits / T, dim=-1)  # (B, C)
    kl = F.kl_div(log_q, log_p, reduction="batchmean", log_target=True)  # (): mean over B rows
    ce = F.cross_entropy(student_logits, labels, ignore_index=-100, reduction="sum")  # ()
    return alpha * T**2 * kl + (1 - alpha) * ce / len(labels)


assert check_hidden_label_loss(my_kd_loss)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **4. A student by surgery.** Section 2 built the student from a renamed state dict. Build
# the same student another way: `my_make_student(teacher)` deep-copies the teacher, keeps
# every other layer of `model.bert.encoder.layer` (an `nn.ModuleList`) and updates the config
# so that the student says how many layers it has. The teacher must not change.

# %% slideshow={"slide_type": "-"}
my_make_student = None  # your function teacher -> student
check_make_student(my_make_student)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"]
def my_make_student(teacher):
    student = copy.deepcopy(teacher)
    layers = student.bert.encoder.layer
    student.bert.encoder.layer = torch.nn.ModuleList(layers[i] for i in range(0, len(layers), 2))
    student.config.num_hidden_layers = len(student.bert.encoder.layer)
    return student


assert check_make_student(my_make_student)
