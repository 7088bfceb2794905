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
# # 08 · Efficient models and what comes next: ALBERT, distillation, int8, prompting, bias
#
# The article closes (§5) with three trends, one line each: **efficient architectures** —
# ALBERT shares parameters to save memory, DistilBERT compresses a model by knowledge
# distillation; **few-shot learning** — GPT-3 showed that a prompt can classify with zero or
# a handful of examples; and **ethics and bias** — models pick up gender and racial bias that
# debiasing methods try to reduce.
#
# One line per trend invites slogans. This notebook turns each slogan into a measurement:
#
# 1. **ALBERT** — build BERT and ALBERT of the same width and depth from their configs and
#    count what sharing saves: parameters, gradients and AdamW's state — and what it does not
#    save: compute.
# 2. **Distillation, as DistilBERT does it** — a student made of every other layer of
#    notebook 06's classifier, trained with and without the teacher's soft targets on rows
#    the teacher never saw, over several seeds, compared in pairs.
# 3. **int8** — quantize 06's classifier after training: size on disk, CPU latency on the same
#    batches, test accuracy before and after.
# 4. **Zero- and few-shot** — label descriptions, a cloze prompt, a linear probe against
#    fine-tuning with 4 to 32 examples per class, and GPT-3-style prompting of a causal LM
#    scored against the probe on the same rows.
# 5. **Bias** — a WEAT test on embeddings, a projection that removes a "gender direction",
#    and a counterfactual test of 06's classifier itself: swap only a name and its pronouns,
#    and count how often the prediction changes.
#
# Every choice is made on validation rows; the test rows score each final model once, after
# every choice. Every number below is printed by the cell that measures it; the prose only
# explains.

# %% slideshow={"slide_type": "skip"}
import copy
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from IPython.display import display
from sklearn.linear_model import LogisticRegression
from tqdm.auto import tqdm
from transformers import (
    AlbertConfig,
    AlbertModel,
    AutoConfig,
    AutoModel,
    AutoModelForMaskedLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    BertConfig,
    BertModel,
    GPT2Config,
    GPT2LMHeadModel,
    get_linear_schedule_with_warmup,
)

from nlpcourse.config import get_device, get_profile, seed_everything
from nlpcourse.data.checkpoints import (
    checkpoint_available,
    load_pretrained,
    missing_checkpoint_message,
)
from nlpcourse.data.runs import run_dir, saved_classifier
from nlpcourse.data.splits import ag_news_three_way, stratified_subset, unseen_rows
from nlpcourse.evaluate import bias, counterfactual, efficiency, fewshot, prompting, stats
from nlpcourse.evaluate.comparison import compare_variants, verdict
from nlpcourse.evaluate.timing import compare_seconds
from nlpcourse.models.heads import EncoderClassifier
from nlpcourse.models.pooling import encode
from nlpcourse.text.hf_batches import make_loader, tokenize_dataset
from nlpcourse.train import distill, optim
from nlpcourse.train.loop import evaluate, fit, predict

profile = get_profile()
seed_everything(profile.seed)
cfg = profile.future
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

# %% slideshow={"slide_type": "skip"}
del bert_model, albert_model

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
# gradient of the softened KL shrinks like $1/T^2$). DistilBERT distilled during
# *pretraining*, on the masked-LM outputs, with an extra cosine loss on hidden states; here
# we distil on the task itself, AG News — the same idea on a budget a CPU can pay.
#
# ### The data: 06's three parts, and a transfer set the teacher never saw
#
# The teacher is the classifier notebook 06 fine-tuned. We rebuild 06's train / validation /
# test parts with the same helper and seed, and repeat 06's own call that picked its training
# rows. The student learns on a **transfer set**: training-part rows the teacher never trained
# on. Its outputs on its own training rows are no fair sample of how it behaves on new text:
# a teacher that memorised them is over-confident there — close to the one-hot labels, with
# little dark knowledge to pass on. Below we measure how confident ours is on both kinds of row.

# %% slideshow={"slide_type": "subslide"}
agnews = profile.agnews
parts = ag_news_three_way(
    agnews.use_official_train, agnews.test_size, agnews.val_size, profile.seed
)
class_names = parts["train"].features["label"].names
teacher_rows = stratified_subset(parts["train"], agnews.train_rows, profile.seed)  # 06's call
transfer_set = stratified_subset(
    unseen_rows(parts["train"], teacher_rows), cfg.distill_train_size, profile.seed
)
val_set = stratified_subset(parts["validation"], cfg.eval_size, profile.seed)
test_set = parts["test"]
assert not set(transfer_set["text"]) & set(teacher_rows["text"])  # no row the teacher saw
val_labels, test_labels = np.array(val_set["label"]), np.array(test_set["label"])

# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
for name, part in (
    ("teacher's training rows (06)", teacher_rows),
    ("transfer set", transfer_set),
    ("validation", val_set),
    ("test", test_set),
):
    counts = np.bincount(part["label"], minlength=len(class_names)).tolist()
    print(f"{name:>28}: {len(part):>6,} rows · per class {counts}")
print("classes:", class_names)

# %% slideshow={"slide_type": "skip"}
tokenizer = load_pretrained(AutoTokenizer, profile.bert)
tok_transfer = tokenize_dataset(transfer_set, tokenizer, cfg.max_len)
tok_val = tokenize_dataset(val_set, tokenizer, cfg.max_len)
tok_test = tokenize_dataset(test_set, tokenizer, cfg.max_len)
val_loader = make_loader(tok_val, tokenizer, batch_size=64)
test_loader = make_loader(tok_test, tokenizer, batch_size=64)
print(f"max_len {cfg.max_len} tokens; first validation row:\n  {val_set[0]['text'][:120]}…")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### The teacher
#
# `saved_classifier` loads 06's model from `runs/06_ag_news_classifier` when it is the same
# kind of model as `profile.bert` with four classes. If notebook 06 has not run, we fine-tune
# a teacher here, briefly, on rows of 06's training rows — never on the transfer set.

# %% slideshow={"slide_type": "subslide"}
teacher, teacher_source = saved_classifier(
    "06_ag_news_classifier", load_pretrained(AutoConfig, profile.bert), len(class_names)
)
trained_rows = teacher_rows  # the rows the teacher learned from
if teacher is None:
    print(f"{teacher_source}: fine-tuning a teacher here.")
    seed_everything(profile.seed)
    teacher = load_pretrained(
        AutoModelForSequenceClassification, profile.bert, num_labels=len(class_names)
    ).to(device)
    trained_rows = stratified_subset(teacher_rows, cfg.teacher_train_size, profile.seed)
    loader = make_loader(
        tokenize_dataset(trained_rows, tokenizer, cfg.max_len),
        tokenizer,
        cfg.batch_size,
        shuffle=True,
    )
    optimizer = torch.optim.AdamW(teacher.parameters(), lr=cfg.teacher_lr)
    steps = cfg.teacher_epochs * len(loader)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(0.1 * steps), steps)
    fit(teacher, loader, epochs=cfg.teacher_epochs, optimizer=optimizer, scheduler=scheduler)
    teacher_source = (
        f"fine-tuned here on {len(trained_rows):,} of 06's rows, {cfg.teacher_epochs} epoch(s)"
    )
teacher.to(device).eval()
print(f"teacher: {profile.bert}, {teacher.config.num_hidden_layers} layers, {teacher_source}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Soft targets: what the student learns from
#
# The teacher's logits for the transfer set are computed **once** and travel with the batches
# (`distill.teacher_logits_loader`), so the teacher never runs again, whatever the number of
# seeds. Here is one validation story's distribution at rising temperatures. The ranking never
# changes; what becomes visible is how the remaining mass is shared among the wrong classes.

# %% slideshow={"slide_type": "-"}
transfer_logits = predict(teacher, make_loader(tok_transfer, tokenizer, batch_size=64))  # (n, 4)
seen_sample = stratified_subset(trained_rows, len(transfer_set), profile.seed)  # rows it trained on
tok_seen = tokenize_dataset(seen_sample, tokenizer, cfg.max_len)
seen_logits = predict(teacher, make_loader(tok_seen, tokenizer, batch_size=64))  # (n, 4)
seen_labels, transfer_labels = np.array(seen_sample["label"]), np.array(transfer_set["label"])
for name, logits, labels in (
    ("rows it trained on", seen_logits, seen_labels),
    ("transfer set (unseen)", transfer_logits, transfer_labels),
):
    p = F.softmax(logits, dim=-1)  # (n, 4)
    off_top = 1 - p.max(dim=-1).values  # (n,): the mass on the three other classes
    right = float((logits.argmax(dim=-1).numpy() == labels).mean())
    print(
        f"teacher on {name:<22}: accuracy {right:.3f}, mean top probability "
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
zeros_fp32 = int((F.softmax(transfer_logits, dim=-1) == 0).sum())
zeros_fp16 = int((F.softmax(transfer_logits.half(), dim=-1) == 0).sum())
print("soft_loss equals distill.soft_target_loss, and the naive form wherever that is finite")
print(
    f"our teacher's transfer-set probabilities at T=1 that are exactly 0: "
    f"{zeros_fp32} in float32, {zeros_fp16} in float16 (of {transfer_logits.numel():,})"
)

# %% [markdown] slideshow={"slide_type": "subslide"}
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
# ### Student against student + KD, seed by seed
#
# Two copies of that student are trained per seed with the same budget: the same transfer
# rows in the same order, the same optimizer steps, the same schedule, the same dropout
# masks. Only the loss differs — $\alpha=0$ is plain cross-entropy on the labels. The
# temperature and $\alpha$ are Hinton's and DistilBERT's usual values from `FutureConfig`, set
# before looking at any result. Each pair is scored on the validation rows.


# %% slideshow={"slide_type": "subslide"}
def train_student_copy(alpha, seed):
    seed_everything(seed)
    student = copy.deepcopy(student_init).to(device)
    loader = distill.teacher_logits_loader(
        tok_transfer, tokenizer, transfer_logits, cfg.batch_size, shuffle=True, seed=seed
    )  # every batch carries the teacher's logits of its rows
    optimizer = torch.optim.AdamW(student.parameters(), lr=cfg.student_lr)
    steps = cfg.distill_epochs * len(loader)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(0.1 * steps), steps)
    distill.train_student(
        student,
        loader,
        optimizer,
        epochs=cfg.distill_epochs,
        temperature=cfg.temperature,
        alpha=alpha,
        scheduler=scheduler,
        progress=False,
    )
    return student


variants = {"student": 0.0, "student + KD": cfg.alpha}
seeds_kd = [profile.seed + s for s in range(cfg.distill_seeds)]
val_predictions = {name: [] for name in variants}  # per seed: (n_val,) predicted classes
students = {}
for seed in tqdm(seeds_kd, desc="seeds"):
    for name, alpha in variants.items():
        students[name] = train_student_copy(alpha, seed)
        val_predictions[name].append(predict(students[name], val_loader).argmax(dim=-1).numpy())
teacher_val = predict(teacher, val_loader).argmax(dim=-1).numpy()  # (n_val,)
print(
    f"T={cfg.temperature}, alpha={cfg.alpha}, {cfg.distill_epochs} epoch(s) on {len(transfer_set):,} rows"
)

# %% slideshow={"slide_type": "subslide"}
accuracy = {
    name: [float((p == val_labels).mean()) for p in predictions]
    for name, predictions in val_predictions.items()
}
teacher_val_accuracy = float((teacher_val == val_labels).mean())
for name, values in accuracy.items():
    print(f"{name:<13} validation accuracy {stats.format_mean_sd(values)}")
print(f"{'teacher':<13} validation accuracy {teacher_val_accuracy:.4f}")
mean_gain, sd_gain = stats.paired_seed_difference(accuracy["student + KD"], accuracy["student"])
print(
    f"KD minus plain, paired by seed: {mean_gain:+.4f} ± {sd_gain:.4f} over {len(seeds_kd)} seeds"
)
for i, seed in enumerate(seeds_kd):
    gain = stats.paired_bootstrap(
        val_labels, val_predictions["student + KD"][i], val_predictions["student"][i], seed=seed
    )
    print(f"  seed {seed}: {gain} over {len(val_labels):,} rows → {verdict(gain)}")
fig, ax = plt.subplots(figsize=(5.5, 3.4))
for i in range(len(seeds_kd)):
    ax.plot(
        [0, 1], [accuracy["student"][i], accuracy["student + KD"][i]], "o-", color="C0", alpha=0.7
    )
ax.axhline(
    teacher_val_accuracy,
    color="gray",
    ls="--",
    label=f"teacher ({teacher.config.num_hidden_layers} layers)",
)
ax.set(xticks=[0, 1], xticklabels=list(variants), xlim=(-0.3, 1.3), ylabel="validation accuracy")
ax.set_title(f"{len(seeds_kd)} seeds, each a pair trained on the same batches")
ax.legend(fontsize=8)
ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()

# %% [markdown] slideshow={"slide_type": "subslide"}
# Read the pairs, not the means: a seed changes the batch order and the dropout masks for
# *both* students, so each line is one controlled comparison. The per-seed intervals resample
# the validation rows; the mean ± sd over seeds shows how much training noise there is. If
# the intervals include zero, this budget cannot tell the two losses apart — which is itself
# the finding, not a failure. If KD comes out *lower*, look at the teacher's accuracy on the
# transfer set printed earlier: every row it gets wrong hands the student a confident wrong
# soft target, and with $\alpha = 0.5$ half of the loss pulls towards it, while the hard
# labels are right by construction. Soft targets help when the teacher is much better than
# the student can become from the labels alone, and when there is more text than labels:
# DistilBERT distilled over a whole pretraining corpus, where the teacher labels far more text
# than any annotator could.
#
# ### Test, once
#
# Validation picks the student to keep (the one with the higher mean); the test rows, unseen
# by every choice, then score it once beside its teacher. Speed is timed separately: the
# models take turns on the same batch of 64 test rows and the median counts.

# %% slideshow={"slide_type": "subslide"}
chosen = max(variants, key=lambda name: np.mean(accuracy[name]))
print(f"chosen on validation: {chosen!r}")
final = {"teacher": teacher, chosen: students[chosen]}
test_predictions = {
    name: predict(m, test_loader).argmax(dim=-1).numpy() for name, m in final.items()
}
timing_batch = {k: v.to(device) for k, v in next(iter(test_loader)).items() if k != "labels"}
batch_seconds = efficiency.compare_forward_seconds(final, timing_batch, cfg.timing_repeats)
table = compare_variants(test_labels, test_predictions, against={chosen: "teacher"})
table["layers"] = [m.config.num_hidden_layers for m in final.values()]
table["parameters"] = [efficiency.count_parameters(m) for m in final.values()]
table["speed-up"] = [batch_seconds["teacher"] / batch_seconds[name] for name in final]
print(f"{len(test_labels):,} test rows, scored once; teacher: {teacher_source}")
table.round(4)

# %% [markdown] slideshow={"slide_type": "subslide"}
# The table prices the trade: the speed-up comes from the depth (the layers do nearly all the
# work per token), the parameter saving is smaller (the embedding table stays), and the
# difference column, with its paired interval, is the accuracy the halving cost on rows no
# choice has seen. The `full` profile distils `bert-base-uncased` (12 layers → 6) on
# 40,000 transfer rows (`NLPCOURSE_PROFILE=full`).
#
# The distilled student is saved like every trained model in the course, and reloaded:

# %% slideshow={"slide_type": "subslide"}
student_dir = run_dir("08_efficient_and_future") / "student"
students[chosen].save_pretrained(student_dir)  # config.json + model.safetensors
tokenizer.save_pretrained(student_dir)
reloaded = AutoModelForSequenceClassification.from_pretrained(student_dir).to(device).eval()
with torch.no_grad():
    torch.testing.assert_close(
        reloaded(**timing_batch).logits, students[chosen].eval()(**timing_batch).logits
    )
print(f"saved to {student_dir.relative_to(student_dir.parents[2])}, reloaded: identical logits")
del reloaded, students

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3 · int8: the same classifier, stored in a quarter of the bytes
#
# Distillation trains a smaller model. **Post-training quantization** keeps the model and
# stores its numbers more coarsely: each weight matrix of a linear layer becomes 8-bit
# integers plus one float scale, $W \approx s\cdot W_{int8}$. *Dynamic* quantization
# (`torch.ao.quantization.quantize_dynamic`) quantizes the weights once and the activations
# on the fly at each call, so it needs no calibration data — one call on a trained model.
# It runs on the CPU, where deployed models often run, so this section measures on the CPU
# whatever device trained the model.
#
# The model is notebook 06's classifier, the teacher above, measured three ways: bytes on
# disk, latency on the same batches, and accuracy on the test rows before and after.

# %% slideshow={"slide_type": "-"}
float_model = copy.deepcopy(teacher).cpu().eval()
int8_model = efficiency.quantize_dynamic_int8(float_model)  # nn.Linear → int8 weights
print("linear layers before:", efficiency.count_linear_layers(float_model))
print("linear layers after: ", efficiency.count_linear_layers(int8_model))
size = {
    "float32": efficiency.saved_size_bytes(float_model),
    "int8": efficiency.saved_size_bytes(int8_model),
}
in_embeddings = (
    efficiency.parameters_by_component(float_model)["token embeddings"] * 4
)  # float32 bytes
print(
    f"on disk: float32 {size['float32'] / 2**20:.1f} MiB, int8 {size['int8'] / 2**20:.1f} MiB "
    f"({size['float32'] / size['int8']:.2f}× smaller); the token embeddings alone, still float32: "
    f"{in_embeddings / 2**20:.1f} MiB"
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# Only the linear layers shrink 4×; the embedding tables and LayerNorms stay in float32, so
# the whole file shrinks by less — the same large table we met twice already. Latency: both
# models run the same few test batches, in turns, and the median counts.

# %% slideshow={"slide_type": "-"}
quant_set = stratified_subset(test_set, cfg.quantize_eval_size, profile.seed)
quant_labels = np.array(quant_set["label"])
quant_loader = make_loader(
    tokenize_dataset(quant_set, tokenizer, cfg.max_len), tokenizer, batch_size=32
)
timing_batches = [{k: v for k, v in b.items() if k != "labels"} for b in list(quant_loader)[:4]]


def run_batches(model):
    def run():
        with torch.inference_mode():
            for batch in timing_batches:  # the same batches for both models
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
print(f"int8 speed-up on this CPU: {latency['float32'] / latency['int8']:.2f}×")

# %% slideshow={"slide_type": "subslide"}
quant_predictions = {
    "float32": predict(float_model, quant_loader).argmax(dim=-1).numpy(),
    "int8": predict(int8_model, quant_loader).argmax(dim=-1).numpy(),
}
agree = float((quant_predictions["float32"] == quant_predictions["int8"]).mean())
print(f"{len(quant_labels)} test rows; the two models agree on {agree:.1%} of them")
compare_variants(quant_labels, quant_predictions, against={"int8": "float32"}).round(4)

# %% [markdown] slideshow={"slide_type": "subslide"}
# The paired interval says whether the coarser weights cost accuracy measurably on these rows;
# the agreement rate says how many individual answers changed. Dynamic int8 is one line and no
# data, which makes it the first thing to try for CPU serving; the speed-up depends on the CPU's
# int8 instructions and on how much of the time the linear layers take. (PyTorch 2.13 marks
# `torch.ao.quantization` as deprecated in favour of the separate `torchao` package; the call
# above still works and the idea is the same.)

# %% slideshow={"slide_type": "skip"}
del float_model, int8_model

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4 · Zero- and few-shot classification
#
# GPT-3 (Brown et al., 2020) made "few-shot" famous: a large decoder classifies with no
# gradient step when the task is written into its input. Before prompting a decoder (at the
# end of this section), three cheaper ways to classify with no or few labels, all with the
# encoder `profile.bert`:
#
# * **similarity to label descriptions** — a sentence-embedding model maps a story and a
#   sentence describing each class into one space; the nearest description wins;
# * **a cloze prompt** — a masked language model fills in "This news is about [MASK]." and we
#   compare its scores for the words *world*, *sports*, *business*, *technology*;
# * **$k$ labelled examples per class** — a linear probe on frozen embeddings, or fine-tuning.
#
# In `quick`, `profile.bert` is `sentence-transformers/all-MiniLM-L6-v2`, trained precisely
# for the first: its mean-pooled, normalised vectors are sentence embeddings. (In `full` it is
# `bert-base-uncased`, whose mean-pooled vectors were never trained for similarity; the cloze
# classifier is the zero-shot method to watch there.)
#
# Every text is embedded **once**: the validation rows and a pool of labelled training rows
# that the few-shot samples are drawn from. Everything below reuses these two matrices.

# %% slideshow={"slide_type": "-"}
encoder = load_pretrained(AutoModel, profile.bert).to(device).eval()
pool_set = stratified_subset(parts["train"], cfg.fewshot_pool_size, profile.seed)
pool_labels = np.array(pool_set["label"])
start = time.perf_counter()
# mean-pooled and normalised to unit length, as the model was trained to be used
eval_emb = encode(list(val_set["text"]), encoder, tokenizer, max_len=cfg.max_len)  # (n_val, H)
pool_emb = encode(list(pool_set["text"]), encoder, tokenizer, max_len=cfg.max_len)  # (n_pool, H)
elapsed = time.perf_counter() - start
print(f"embedded {len(eval_emb) + len(pool_emb):,} texts in {elapsed:.1f} s")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Zero-shot by similarity: the wording of the label matters
#
# Three ways to describe the same four classes: the bare label names, a prompt template
# around them, and a sentence per class saying what such news is about.

# %% slideshow={"slide_type": "-"}
descriptions = {
    "label names": class_names,
    "template": [
        f"This news is about {topic}."
        for topic in ("the world", "sports", "business", "science and technology")
    ],
    "descriptions": [
        "World news: politics, governments, elections, war and diplomacy around the world.",
        "Sports news: games, matches, teams, players, scores and championships.",
        "Business news: companies, markets, stocks, earnings, oil prices and the economy.",
        "Science and technology news: computers, software, the internet, space and research.",
    ],
}
label_emb = {how: encode(texts, encoder, tokenizer) for how, texts in descriptions.items()}
zero_shot_predictions = {
    how: fewshot.zero_shot_predict(eval_emb, emb) for how, emb in label_emb.items()
}  # (n_val,) each
zero_shot = {how: float((p == val_labels).mean()) for how, p in zero_shot_predictions.items()}
print(f"zero-shot accuracy on {len(val_labels)} validation rows (chance: 0.25):")
for how, accuracy in zero_shot.items():
    print(f"  {how:<13} {accuracy:.3f}   e.g. {descriptions[how][1]!r}")
best_wording = max(zero_shot, key=zero_shot.get)  # a choice, so it is made on validation
print(f"chosen for what follows: {best_wording!r}")
against_names = {how: "label names" for how in descriptions if how != "label names"}
compare_variants(val_labels, zero_shot_predictions, against=against_names).round(3)

# %% [markdown] slideshow={"slide_type": "subslide"}
# The same model, the same rows, different accuracies: zero-shot classification is only
# as good as the prompt, which is why prompt wording became an engineering discipline of its
# own — and why a zero-shot number means little without the prompt that produced it.
#
# ### Zero-shot by a cloze prompt
#
# This needs a checkpoint with its masked-LM head (`profile.masked_lm`); the cell runs it when
# one is configured and reachable and says why not otherwise.

# %% slideshow={"slide_type": "-"}
cloze_words = ["world", "sports", "business", "technology"]
if profile.masked_lm is None:
    print(
        f"Cloze prompt skipped: profile {profile.name!r} sets no masked-LM checkpoint "
        f"(profile.masked_lm is None; {profile.bert} ships without its masked-LM head). "
        f"Run with NLPCOURSE_PROFILE=full to use bert-base-uncased."
    )
elif not checkpoint_available(profile.masked_lm):
    print(f"Cloze prompt skipped: {missing_checkpoint_message(profile.masked_lm)}")
else:
    mlm_tokenizer = load_pretrained(AutoTokenizer, profile.masked_lm)
    mlm = load_pretrained(AutoModelForMaskedLM, profile.masked_lm).to(device).eval()
    template = "{text} This news is about " + mlm_tokenizer.mask_token + "."
    texts = list(val_set["text"])
    scores = fewshot.cloze_scores(
        texts, mlm, mlm_tokenizer, template, cloze_words, max_len=cfg.max_len + 12
    )  # (n, 4): the masked-LM's logit of each label word at [MASK]
    zero_shot["cloze prompt"] = float((scores.argmax(dim=1).numpy() == val_labels).mean())
    print(f"cloze zero-shot accuracy with {profile.masked_lm}: {zero_shot['cloze prompt']:.3f}")
    print(f"template {template!r}, label words {cloze_words}")
    del mlm

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Few-shot: 4 to 32 labelled examples per class
#
# Now we allow a few labelled examples, $k$ per class, drawn from the pool with a seed
# (`fewshot.sample_k_per_class` takes exactly $k$ of each class). Two ways to use them:
#
# * **a linear probe** — keep the encoder frozen and fit a logistic regression on the cached
#   embeddings of the $4k$ examples (seconds, no gradient through the encoder);
# * **fine-tuning** — train the encoder and a linear head on mean-pooled vectors (the same
#   representation the probe sees) on the same $4k$ examples, for a fixed number of optimizer
#   steps, with the course's usual split of learning rates between body and head.
#
# `fewshot.learning_curve` draws the sample for each $(k, \text{seed})$ and hands the *same*
# indices to both methods. Both are scored on the same validation rows.

# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
seeds = [profile.seed + s for s in range(cfg.few_shot_seeds)]
for k in cfg.shots:
    picked = fewshot.sample_k_per_class(pool_labels, k, seeds[0])
    per_class = np.bincount(pool_labels[picked]).tolist()
    print(f"k={k:>2}: {len(picked):>3} examples, per class {per_class}")

# %% slideshow={"slide_type": "-"}
# the few-shot runs are scored on a stratified subset of the validation rows (its row numbers)
numbered = val_set.add_column("row", range(len(val_set)))
fs_eval_rows = np.sort(stratified_subset(numbered, cfg.fewshot_eval_size, profile.seed)["row"])
fs_eval_emb, fs_val_labels = eval_emb[fs_eval_rows], val_labels[fs_eval_rows]


def probe_run(indices, seed):
    x, y = pool_emb[indices], pool_labels[indices]  # (4k, H), (4k,)
    return fewshot.logistic_probe_accuracy(x, y, fs_eval_emb, fs_val_labels, seed=seed)


probe_rows = fewshot.learning_curve(pool_labels, cfg.shots, seeds, probe_run, desc="linear probe")

# %% slideshow={"slide_type": "-"}
tok_pool = tokenize_dataset(pool_set, tokenizer, cfg.max_len)
fs_eval_loader = make_loader(tok_val.select(fs_eval_rows), tokenizer, batch_size=64)


def finetune_run(indices, seed):
    seed_everything(seed)
    model = EncoderClassifier(copy.deepcopy(encoder), len(class_names), pooling="mean")
    groups = optim.param_groups(model, cfg.finetune_body_lr, cfg.finetune_head_lr, head=("head",))
    optimizer = torch.optim.AdamW(groups)
    examples = tok_pool.select(indices)
    loader = fewshot.fixed_steps_loader(
        examples, tokenizer, cfg.finetune_batch_size, cfg.finetune_steps, seed
    )
    fit(model, loader, epochs=1, optimizer=optimizer, progress=False)
    return evaluate(model, fs_eval_loader)["accuracy"]


finetune_rows = fewshot.learning_curve(
    pool_labels, cfg.shots, seeds, finetune_run, desc="fine-tuning"
)

# %% slideshow={"slide_type": "subslide"}
probe_curve = fewshot.summarize_curve(probe_rows)  # {k: (mean, std)}
finetune_curve = fewshot.summarize_curve(finetune_rows)
zero_shot_predictions = fewshot.zero_shot_predict(fs_eval_emb, label_emb[best_wording])
zero_shot_fs = float((zero_shot_predictions == fs_val_labels).mean())
fig, ax = plt.subplots(figsize=(6.5, 4))
methods = (
    (probe_rows, probe_curve, "linear probe on frozen embeddings", "C0"),
    (finetune_rows, finetune_curve, f"fine-tuning ({cfg.finetune_steps} steps)", "C1"),
)
for rows, curve, label, color in methods:
    ks = np.array(list(curve))
    mean, std = np.array([curve[k][0] for k in ks]), np.array([curve[k][1] for k in ks])
    ax.plot(ks, mean, "o-", color=color, label=label)
    ax.fill_between(ks, mean - std, mean + std, color=color, alpha=0.2)
    ax.scatter([r["k"] for r in rows], [r["accuracy"] for r in rows], color=color, s=10, alpha=0.5)
ax.axhline(zero_shot_fs, color="gray", ls="--", label=f"zero-shot ({best_wording})")
ax.axhline(0.25, color="gray", ls=":", label="chance")
ax.set_xscale("log", base=2)
ax.minorticks_off()
ax.set(
    xticks=list(cfg.shots),
    xticklabels=[str(k) for k in cfg.shots],
    ylim=(0.2, 1),
    xlabel="labelled examples per class (k)",
    ylabel="validation accuracy",
    title=f"AG News, {len(seeds)} seeds per point (band: ± 1 std)",
)
ax.legend(loc="lower right", fontsize=8)
ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()
summary = {}
for method, curve in (("probe", probe_curve), ("fine-tune", finetune_curve)):
    summary[f"{method} mean"] = {k: mean for k, (mean, _) in curve.items()}
    summary[f"{method} std"] = {k: std for k, (_, std) in curve.items()}
pd.DataFrame(summary).rename_axis("k").round(3)

# %% [markdown] slideshow={"slide_type": "subslide"}
# How to read the plot: the dashed line is what no labelled example at all achieves; each
# curve shows how many examples a method needs to beat it, and the band shows how much the
# answer depends on *which* examples were drawn — at small $k$ that spread is a large part of
# the story, and a single-seed few-shot number can mislead. The probe costs a logistic
# regression per point; each fine-tuning point costs gradient steps through the whole encoder
# and is sensitive to learning rates and step counts chosen in advance (here from
# `FutureConfig`, not tuned on these rows). What fine-tuning reaches with thousands of
# examples is notebook 06's subject.

# %% [markdown] slideshow={"slide_type": "slide"}
# ### Prompting, as GPT-3 does it
#
# A causal LM predicts the next token. To classify with it, write the task into the input —
# an instruction, optionally $k$ solved examples per class ("demonstrations"), then the query
# ending where the answer goes — and ask which label word the model finds most likely next.
# *Zero-shot* is the instruction alone; *few-shot* adds demonstrations; the weights never
# change (in-context learning). A label word may be several tokens: its score is the sum of
# the log-probabilities of its tokens, each given the prompt and the tokens before it.
#
# A prompt with one solved example per class, drawn from the labelled pool:

# %% slideshow={"slide_type": "-"}
label_words = ["World", "Sports", "Business", "Technology"]  # one word per class, in class order
instruction = "Classify each news story as World, Sports, Business or Technology."
pool_texts = list(pool_set["text"])
examples = prompting.demonstrations(pool_texts, pool_labels, label_words, k=1, seed=profile.seed)
example_prompt = prompting.build_prompt(
    val_set[0]["text"], examples, instruction, max_words=cfg.prompt_max_words
)
print(example_prompt)

# %% [markdown] slideshow={"slide_type": "subslide"}
# The scorer, written out for one prompt: append each label word's tokens to the prompt's,
# run the model once, and add up the log-probabilities the model gave those tokens — the token
# at position $t$ is predicted at position $t-1$.


# %% slideshow={"slide_type": "-"}
@torch.no_grad()
def label_log_likelihoods(prompt, words, model, tok):
    prompt_ids = tok(prompt)["input_ids"]  # the prompt as the model reads it
    scores = []
    for word in words:
        word_ids = tok(" " + word, add_special_tokens=False)["input_ids"]  # after "Answer:"
        ids = torch.tensor([prompt_ids + word_ids], device=model.device)  # (1, P + m)
        log_probs = F.log_softmax(model(input_ids=ids).logits[0].float(), dim=-1)  # (P + m, V)
        at = torch.arange(len(prompt_ids) - 1, len(prompt_ids) + len(word_ids) - 1)  # (m,)
        scores.append(log_probs[at, torch.tensor(word_ids)].sum())  # log p(word | prompt)
    return torch.stack(scores).cpu()  # (labels,)


# %% [markdown] slideshow={"slide_type": "subslide"}
# The package's `prompting.score_labels` does the same for many prompts at once: it left-pads
# a batch, runs each prompt once and feeds longer label words on top of the prompt's key-value
# cache. Whether a real checkpoint is at hand or not, the two must agree, so we check them
# first on a tiny GPT-2 built from a config (random weights: its scores mean nothing, only the
# equality does) with this notebook's tokenizer, on three prompts of different lengths:

# %% slideshow={"slide_type": "-"}
torch.manual_seed(profile.seed)
tiny_lm = GPT2LMHeadModel(
    GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=512,
        n_embd=32,
        n_layer=2,
        n_head=2,
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
    )
).eval()
queries = list(val_set["text"][:3])
batched = prompting.score_labels(
    queries,
    tiny_lm,
    tokenizer,
    label_words,
    instruction=instruction,
    examples=examples,
    max_words=cfg.prompt_max_words,
)  # (3, 4)
by_hand = torch.stack(
    [
        label_log_likelihoods(
            prompting.build_prompt(q, examples, instruction, max_words=cfg.prompt_max_words),
            label_words,
            tiny_lm,
            tokenizer,
        )
        for q in queries
    ]
)  # (3, 4)
torch.testing.assert_close(by_hand, batched, atol=1e-4, rtol=1e-4)
print("label_log_likelihoods equals prompting.score_labels on a tiny GPT-2:", tuple(batched.shape))

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### A real causal LM against the probe, on the same rows
#
# `profile.causal_lm` names a small instruct model in `quick` and a larger one in `full`
# (`python -m nlpcourse download` fetches it). Each prompt variant is scored on the same
# validation rows as its counterpart without a prompt: zero-shot against the label-description
# similarity, $k$-shot against the linear probe trained on the **same** $k$ examples per class
# (`prompting.demonstrations` and the probe draw them with the same seed).

# %% slideshow={"slide_type": "subslide"}
if not checkpoint_available(profile.causal_lm):
    print(
        f"Prompting skipped: checkpoint {profile.causal_lm!r} unreachable (offline, not in the hub cache)."
    )
else:
    lm, lm_tokenizer = prompting.load_causal_lm(profile.causal_lm)
    lm.to(device)
    numbered_val = val_set.add_column("row", range(len(val_set)))
    prompt_rows = np.sort(
        stratified_subset(numbered_val, cfg.prompt_eval_size, profile.seed)["row"]
    )
    prompt_texts, prompt_labels = (
        [val_set[int(i)]["text"] for i in prompt_rows],
        val_labels[prompt_rows],
    )
    settings = dict(
        instruction=instruction, max_words=cfg.prompt_max_words, batch_size=cfg.prompt_batch_size
    )
    one = prompting.build_prompt(
        prompt_texts[0], examples, instruction, max_words=cfg.prompt_max_words
    )
    torch.testing.assert_close(  # the hand-written scorer agrees on the real model too
        label_log_likelihoods(one, label_words, lm, lm_tokenizer),
        prompting.score_labels(
            prompt_texts[:1], lm, lm_tokenizer, label_words, examples=examples, **settings
        )[0],
        atol=1e-3,
        rtol=1e-3,
    )
    prompt_predictions, counterparts = {}, {}
    for k in cfg.prompt_shots:
        shots = (
            prompting.demonstrations(pool_texts, pool_labels, label_words, k, profile.seed)
            if k
            else []
        )
        scores = prompting.score_labels(
            prompt_texts, lm, lm_tokenizer, label_words, examples=shots, progress=True, **settings
        )
        prompt_predictions[f"prompt, k={k}"] = scores.argmax(dim=1).numpy()  # (n,)
        if k == 0:
            baseline = fewshot.zero_shot_predict(eval_emb[prompt_rows], label_emb[best_wording])
            name = f"similarity ({best_wording})"
        else:
            picked = fewshot.sample_k_per_class(pool_labels, k, profile.seed)  # the same examples
            probe = LogisticRegression(max_iter=1_000).fit(pool_emb[picked], pool_labels[picked])
            baseline, name = probe.predict(eval_emb[prompt_rows]), f"probe, k={k}"
        prompt_predictions[name] = baseline
        counterparts[f"prompt, k={k}"] = name
    print(
        f"{profile.causal_lm} on {len(prompt_rows)} validation rows; demonstrations drawn with seed {profile.seed}"
    )
    display(compare_variants(prompt_labels, prompt_predictions, against=counterparts).round(3))
    del lm

# %% [markdown] slideshow={"slide_type": "subslide"}
# What the comparison measures, when it runs: how much a decoder's in-context learning buys
# against an encoder's embeddings given the *same* labelled examples. Two cautions from the
# literature apply to any single run. Few-shot prompting is sensitive to which examples are
# shown and in what order (Zhao et al., 2021, "Calibrate before use"), so one draw of
# demonstrations is one sample; and a model small enough for a laptop is far from GPT-3's
# 175B parameters, where in-context learning was first reported.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5 · Bias: an association, a projection, and a counterfactual test of our classifier
#
# Embeddings learn from human text, and human text associates groups of people with roles.
# The **Word Embedding Association Test** (WEAT; Caliskan, Bryson & Narayanan, 2017) measures
# such an association the way the psychologists' Implicit Association Test measures reaction
# times. It takes two sets of **target** words $X$, $Y$ (here: common male and female first
# names) and two sets of **attribute** words $A$, $B$ (here: career and family words), the
# lists of the original paper's test 6:

# %% slideshow={"slide_type": "-"}
male_names = ["John", "Paul", "Mike", "Kevin", "Steve", "Greg", "Jeff", "Bill"]
female_names = ["Amy", "Joan", "Lisa", "Sarah", "Diana", "Kate", "Ann", "Donna"]
career = ["executive", "management", "professional", "corporation", "salary", "office"]
career += ["business", "career"]
family = ["home", "parents", "children", "family", "cousins", "marriage", "wedding", "relatives"]
word_lists = {"male names": male_names, "female names": female_names}
word_lists.update({"career": career, "family": family})
vec = {name: encode(words, encoder, tokenizer) for name, words in word_lists.items()}  # (8, H) each

# %% [markdown] slideshow={"slide_type": "subslide"}
# For each target word $w$, its association is the difference of its mean cosine similarity
# with the two attribute sets,
# $s(w,A,B) = \operatorname{mean}_{a\in A}\cos(w,a) - \operatorname{mean}_{b\in B}\cos(w,b)$.
# The **effect size** compares the targets: $d = \dfrac{\operatorname{mean}_{x\in X}s(x,A,B) - \operatorname{mean}_{y\in Y}s(y,A,B)}{\operatorname{std}_{w\in X\cup Y}s(w,A,B)}$,
# between −2 and 2, Cohen's-$d$-like. The **p-value** asks: if the labels "male" and "female"
# meant nothing here, how often would a random re-split of the 16 names into two groups of 8
# give a statistic $\sum_X s - \sum_Y s$ at least as large? Written out, then checked against
# `bias.weat_test`:


# %% slideshow={"slide_type": "-"}
def s_assoc(w, a, b):
    # the vectors have unit length, so w @ a.T holds cosines: (n, |A|) and (n, |B|)
    return (w @ a.T).mean(dim=1) - (w @ b.T).mean(dim=1)  # (n,)


s_x = s_assoc(vec["male names"], vec["career"], vec["family"])  # (8,)
s_y = s_assoc(vec["female names"], vec["career"], vec["family"])  # (8,)
effect = (s_x.mean() - s_y.mean()) / torch.cat([s_x, s_y]).std()
settings = {"n_permutations": cfg.weat_permutations, "seed": profile.seed}
weat = bias.weat_test(
    vec["male names"], vec["female names"], vec["career"], vec["family"], **settings
)
assert math.isclose(float(effect), weat.effect_size, rel_tol=1e-4)
print(f"mean s(w, career, family): male names {s_x.mean():+.4f}, female names {s_y.mean():+.4f}")
kind = "splits, exact" if weat.exact else "random re-splits"
print(
    f"WEAT effect size d = {weat.effect_size:+.3f}, one-sided permutation p = {weat.p_value:.4f} "
    f"({weat.permutations:,} {kind})"
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# A **control** shows what the test says when the groups differ in nothing we care about:
# split the male names alone into two halves. With 4 + 4 words there are only 70 distinct
# splits, so the test is exact and no p-value can go below 1/70.

# %% slideshow={"slide_type": "-"}
halves = vec["male names"][:4], vec["male names"][4:]  # (4, H) each
control = bias.weat_test(*halves, vec["career"], vec["family"], **settings)
print(f"control {male_names[:4]} vs {male_names[4:]}:")
print(
    f"  d = {control.effect_size:+.3f}, p = {control.p_value:.3f} "
    f"({control.permutations} splits, {'exact' if control.exact else 'sampled'})"
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Debiasing by projection
#
# Bolukbasi et al. (2016) estimate a **gender direction** from *definitional* pairs — words
# whose difference is gender and nothing else — and remove every embedding's component
# along it: $e \leftarrow e - (e\cdot g)\,g$, then renormalise. The names and the
# career/family words are not among the pairs, so the test above is not trivially zeroed.
#
# Two simplifications of their method are made here, and should be named whenever a number
# from it is quoted:
#
# 1. **The direction is the mean difference** of the normalised pairs; Bolukbasi et al. take
#    the first principal component of the pairs, each centred on its own midpoint. The cell
#    below computes both and prints how far apart they are.
# 2. **Nothing is neutralised selectively or equalised.** Their "hard debiasing" removes the
#    direction only from words that should be gender-neutral, and moves each definitional
#    pair to be equidistant from every neutral word; here every vector — names included — is
#    projected, and no pair is equalised.

# %% slideshow={"slide_type": "-"}
pairs = [("he", "she"), ("man", "woman"), ("boy", "girl"), ("father", "mother")]
pairs += [("son", "daughter"), ("brother", "sister"), ("husband", "wife"), ("king", "queen")]
pairs += [("male", "female"), ("his", "her")]
male_side = encode([m for m, _ in pairs], encoder, tokenizer)  # (10, H)
female_side = encode([f for _, f in pairs], encoder, tokenizer)  # (10, H)
g = bias.bias_direction(male_side, female_side)  # (H,), unit length
midpoints = (male_side + female_side) / 2  # (10, H)
centred = torch.cat([male_side - midpoints, female_side - midpoints])  # (20, H)
pc1 = torch.linalg.svd(centred, full_matrices=False).Vh[0]  # (H,): Bolukbasi's direction
print(f"|cos(mean-difference direction, first principal component)| = {abs(float(g @ pc1)):.3f}")
vec_debiased = {name: bias.project_out(v, g) for name, v in vec.items()}  # (8, H) each
assert float((vec_debiased["male names"] @ g).abs().max()) < 1e-5  # nothing left along g
debiased_lists = [vec_debiased[name] for name in ("male names", "female names", "career", "family")]
weat_after = bias.weat_test(*debiased_lists, **settings)
pd.DataFrame(
    {
        "effect size d": [weat.effect_size, weat_after.effect_size],
        "p-value": [weat.p_value, weat_after.p_value],
    },
    index=["original embeddings", "gender direction projected out"],
).round(4)

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### What the projection does not remove
#
# Gonen & Goldberg (2019) showed that after such a projection the gender of words is still
# recoverable from the rest of the geometry ("lipstick on a pig"). Check it on names: train a
# logistic regression to tell male from female names and score it on each name it did not
# see (leave-one-out), before and after the projection.

# %% slideshow={"slide_type": "-"}
more_male = ["David", "James", "Robert", "Daniel", "Thomas", "Mark", "Brian", "Eric"]
more_female = ["Mary", "Jennifer", "Linda", "Susan", "Karen", "Emily", "Laura", "Rachel"]
names = male_names + more_male + female_names + more_female
name_vec = encode(names, encoder, tokenizer)  # (32, H)
is_female = np.array([0] * 16 + [1] * 16)


def leave_one_out_predictions(x):
    predicted = []
    for held in range(len(x)):
        keep = np.arange(len(x)) != held
        probe = LogisticRegression(max_iter=1_000).fit(x[keep], is_female[keep])
        predicted.append(probe.predict(x[held : held + 1])[0])  # a name it did not see
    return np.array(predicted)  # (32,)


print(f"gender of a held-out name predicted from its embedding ({len(names)} names, chance 0.5):")
name_vec_debiased = bias.project_out(name_vec, g)  # (32, H)
for label, x in (("original embeddings", name_vec), ("after projecting out g", name_vec_debiased)):
    hit = stats.bootstrap_accuracy(is_female, leave_one_out_predictions(x.numpy()))
    print(f"  {label:<24} {hit.estimate:.3f} [{hit.low:.3f}, {hit.high:.3f}]")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### The cost to the task
#
# Debiasing changes every vector, so it can change what the vectors are good for. Apply the
# same projection to the news embeddings and the label descriptions, and re-run the zero-shot
# classifier and the $k=16$ linear probe on the same rows and seeds:

# %% slideshow={"slide_type": "-"}
eval_debiased, pool_debiased = bias.project_out(eval_emb, g), bias.project_out(pool_emb, g)
labels_debiased = bias.project_out(label_emb[best_wording], g)
k_cost = 16 if 16 in cfg.shots else cfg.shots[-1]


def probe_runs(pool_x, eval_x):
    """k_cost-shot probe accuracy per seed, on the same samples as the learning curve."""
    runs = []
    for seed in seeds:  # the same samples as in the learning curve
        i = fewshot.sample_k_per_class(pool_labels, k_cost, seed)
        train_x, test_x = pool_x[i], eval_x[fs_eval_rows]
        runs.append(
            fewshot.logistic_probe_accuracy(
                train_x, pool_labels[i], test_x, fs_val_labels, seed=seed
            )
        )
    return runs


zero_shot_debiased = fewshot.zero_shot_predict(eval_debiased, labels_debiased)  # (n_val,)
zero_shot_original = fewshot.zero_shot_predict(eval_emb, label_emb[best_wording])  # (n_val,)
zero_shot_cost = stats.paired_bootstrap(val_labels, zero_shot_debiased, zero_shot_original)
probe_original, probe_debiased = (
    probe_runs(pool_emb, eval_emb),
    probe_runs(pool_debiased, eval_debiased),
)
probe_cost = stats.paired_seed_difference(probe_debiased, probe_original)
print(f"mean |cos(news embedding, g)| = {(eval_emb @ g).abs().mean():.4f}")
print(
    f"zero-shot ({best_wording}), {len(val_labels)} rows: original {(zero_shot_original == val_labels).mean():.3f}, "
    f"debiased {(zero_shot_debiased == val_labels).mean():.3f}; difference {zero_shot_cost} → {verdict(zero_shot_cost)}"
)
print(
    f"probe, k={k_cost}, {len(seeds)} seeds: original {stats.format_mean_sd(probe_original, 3)}, "
    f"debiased {stats.format_mean_sd(probe_debiased, 3)}; paired difference {probe_cost[0]:+.4f} ± {probe_cost[1]:.4f}"
)
# %% [markdown] slideshow={"slide_type": "subslide"}
# ### A counterfactual test of the course's own classifier
#
# The tests above probe geometry. A **counterfactual test** probes decisions: take sentences
# that differ *only* in a name and its pronouns, give both versions to the classifier, and
# count how often the predicted class changes and how far the probabilities move. The model
# is notebook 06's news classifier; the sentences are short news-like templates covering the
# four topics, each filled with each of 8 pairs of names from the WEAT lists:

# %% slideshow={"slide_type": "-"}
templates = counterfactual.NEWS_TEMPLATES
male_texts, female_texts = counterfactual.counterfactual_pairs(templates, male_names, female_names)
print(f"{len(templates)} templates × {len(male_names)} name pairs = {len(male_texts)} pairs, e.g.")
print("  ", male_texts[len(male_names) * 4])
print("  ", female_texts[len(male_names) * 4])
classify = counterfactual.text_classifier(teacher, tokenizer, max_len=cfg.max_len)
gender_swap = counterfactual.counterfactual_test(classify, male_texts, female_texts)

# %% [markdown] slideshow={"slide_type": "subslide"}
# A flip rate means little alone: swapping *any* name changes the tokens, and some movement
# happens whatever the names' gender. The **control** swaps each male name for another male
# name (`more_male`, from the leave-one-out list) with the same pronouns. Both tests run on the
# same templates and name positions, so their per-pair shifts can be compared in pairs.

# %% slideshow={"slide_type": "-"}
control_a, control_b = counterfactual.counterfactual_pairs(
    templates,
    male_names,
    more_male[: len(male_names)],
    counterfactual.PRONOUNS["male"],
    counterfactual.PRONOUNS["male"],
)
name_swap = counterfactual.counterfactual_test(classify, control_a, control_b)
for label, result in (("male ↔ female", gender_swap), ("male ↔ male (control)", name_swap)):
    flips, shift = stats.bootstrap_mean(result.flips), stats.bootstrap_mean(result.shifts)
    print(
        f"{label:<22} flips {flips.estimate:.3f} [{flips.low:.3f}, {flips.high:.3f}]  "
        f"mean probability shift {shift.estimate:.4f} [{shift.low:.4f}, {shift.high:.4f}]  ({result.n} pairs)"
    )
excess = stats.bootstrap_mean(gender_swap.shifts - name_swap.shifts)  # paired by template and name
print(f"gender swap minus control, shift per pair: {excess} → {verdict(excess)}")
print("mean change of each class's probability, male → female:")
print(
    "  ", {c: round(float(v), 4) for c, v in zip(class_names, gender_swap.class_shift, strict=True)}
)
by_template = pd.DataFrame(
    {
        "male ↔ female": gender_swap.shifts.reshape(len(templates), -1).mean(axis=1),
        "male ↔ male": name_swap.shifts.reshape(len(templates), -1).mean(axis=1),
    },
    index=[t[:48] + "…" for t in templates],
)
ax = by_template.plot.barh(figsize=(7.5, 3.8))
ax.set(xlabel="mean probability shift (total variation) per template", ylabel="")
ax.invert_yaxis()
ax.grid(axis="x", alpha=0.3)
plt.tight_layout()
plt.show()
worst = int(gender_swap.shifts.argmax())
probabilities = classify([male_texts[worst], female_texts[worst]]).numpy()  # (2, 4)
pd.DataFrame(
    probabilities, index=[male_texts[worst], female_texts[worst]], columns=class_names
).round(3)

# %% [markdown] slideshow={"slide_type": "subslide"}
# Read the first two lines together: the gender swap matters only as far as it moves the
# classifier *more than swapping one male name for another*, and the paired line says whether
# it does on these sentences. The last table shows the pair that moved most — often a
# template whose topic is ambiguous, where a small push flips a close call. The test is as
# narrow as its inputs: 8 templates and 16 names are a sample chosen by hand, names stand in
# for gender only roughly, and "she/her" swaps are only one of the ways text marks gender.
# Widening the templates, the names (other languages, other communities) and the attributes is
# how such a test grows into an audit.

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### What such tests do and do not show
#
# * A WEAT measures an **association in the geometry** of one model, for the words someone
#   chose. A different list of names (say, names common in another community) or another
#   template around them can move the effect size a lot; report the lists with the number.
# * The p-value answers "could this split of *these* words arise by chance?" — not "is the
#   model biased in general". With 8 + 8 words the word lists themselves are the sample, and
#   they are tiny.
# * Sentence encoders are not word embeddings: May et al. (2019) found that WEAT-style tests
#   adapted to sentences (SEAT) give inconsistent results across encoders. Embedding a bare
#   name is not how the model meets names in use.
# * An association in embeddings is not a measured **harm**. What matters downstream — does a
#   résumé screener rank equal résumés differently by name? — needs a test of the system's
#   decisions with counterfactual inputs that change only the name, as above, against a
#   control that changes a name without changing the group.
# * Removing one linear direction targets one measurement. The leave-one-out probe above
#   shows how much of the information is left, and a debiased score on the very words used to
#   define the direction would prove nothing at all. Counterfactual data augmentation (train on
#   copies of the data with gendered words swapped) is the other common remedy; it needs a
#   training run and its effect must be measured the same way.

# %% slideshow={"slide_type": "skip"}
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
    check_exact_test,
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
# **3. A student by surgery.** Section 2 built the student from a renamed state dict. Build
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

# %% [markdown] slideshow={"slide_type": "subslide"}
# **4. How small can a p-value be?** An exact WEAT permutation test on 4 target words per
# side compares the observed split with every split of the 8 words into two groups of 4.
# How many splits are there, and what is the smallest p-value the test can report?

# %% slideshow={"slide_type": "-"}
n_splits, smallest_p = None, None  # your answer
check_exact_test(n_splits, smallest_p)

# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"]
n_splits = math.comb(8, 4)
smallest_p = 1 / n_splits  # only the observed split itself is at least as extreme
assert check_exact_test(n_splits, smallest_p)
