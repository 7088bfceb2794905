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
# # 08 · Efficient models and what comes next: ALBERT, distillation, zero/few-shot, bias
#
# The article closes (§5) with three trends, one line each: **efficient architectures** —
# ALBERT shares parameters to save memory, DistilBERT compresses a model by knowledge
# distillation; **few-shot learning** — GPT-3 showed that a prompt can classify with zero or
# a handful of examples; and **ethics and bias** — models pick up gender and racial bias that
# debiasing methods try to reduce.
#
# One line per trend invites slogans. This notebook turns each slogan into a measurement:
#
# 1. **ALBERT** — build BERT and ALBERT of the same width and depth from their configs,
#    count where the parameters are, and time a forward pass: what does sharing save, and what
#    does it not?
# 2. **Distillation** — cut a 3-layer student out of a fine-tuned 6-layer teacher, train it
#    with and without the teacher's soft targets on the same budget, and compare accuracy,
#    size and speed.
# 3. **Zero- and few-shot** — classify AG News with no labelled example (by similarity to a
#    label description, and by a cloze prompt when a masked-LM checkpoint is at hand), then
#    with 4 to 32 examples per class: a logistic regression on frozen embeddings against
#    fine-tuning on the very same examples.
# 4. **Bias** — measure a gender association in the embeddings with a WEAT test, remove a
#    "gender direction", measure again, and count what the removal costs the news classifier.
#
# Every number below is printed by the cell that measures it; the prose only explains.

# %% slideshow={"slide_type": "skip"}
import copy
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression
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
    get_linear_schedule_with_warmup,
)

from nlpcourse import bias, distill, efficient, fewshot, optim
from nlpcourse.config import get_device, get_profile, seed_everything
from nlpcourse.embeddings import encode
from nlpcourse.hf_data import make_loader, tokenize_dataset
from nlpcourse.hub import checkpoint_available, load_pretrained, missing_checkpoint_message
from nlpcourse.paths import run_dir
from nlpcourse.splits import ag_news_splits, stratified_subset
from nlpcourse.training import evaluate, fit, predict

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
# (and with the package's tested versions, `efficient.bert_parameter_count` and
# `efficient.albert_parameter_count`):


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


n_bert = efficient.count_parameters(bert_model)
n_albert = efficient.count_parameters(albert_model)
assert bert_params(bert_config) == efficient.bert_parameter_count(bert_config) == n_bert
assert albert_params(albert_config) == efficient.albert_parameter_count(albert_config) == n_albert

# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
bert_parts = efficient.parameters_by_component(bert_model)
albert_parts = efficient.parameters_by_component(albert_model)
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
    albert_count = efficient.count_parameters(AlbertModel(deeper_albert))  # built and counted
    assert albert_count == efficient.albert_parameter_count(deeper_albert)
    bert_count = efficient.bert_parameter_count(deeper_bert)
    print(f"{depth:>2} layers: ALBERT {albert_count:>12,} parameters,  BERT {bert_count:>12,}")

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
seconds = efficient.compare_forward_seconds(  # the two models take turns, `repeats` times
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
# small projection. The measured ratio is the check (on a busy, shared CPU allow some percent
# of noise around it). So the article's "ALBERT reduces memory use" holds for the *weights* —
# what you store, load and ship — but not for compute, nor for the activations a forward pass
# keeps, which depend on width, depth and sequence length only. To match BERT's accuracy,
# ALBERT's authors widened the shared layer (ALBERT-xxlarge has $H=4096$), and the last line
# above counts what that costs per token against BERT-large. A model that is actually cheaper
# to run needs fewer or narrower layers — which is what distillation gives.

# %% slideshow={"slide_type": "skip"}
del bert_model, albert_model

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2 · Knowledge distillation: a small student taught by a large teacher
#
# DistilBERT (Sanh et al., 2019) keeps BERT's width, keeps **every other layer** — the
# student is initialised by copying them from the teacher — and trains the student to imitate
# the teacher. Imitate what? Not only the teacher's top answer but its whole output
# distribution, softened by a temperature $T$ (Hinton et al., 2015):
#
# $$p_i^{(T)} = \frac{\exp(z_i/T)}{\sum_j \exp(z_j/T)}$$
#
# At $T=1$ a confident teacher puts almost all its mass on one class; at higher $T$ the small
# probabilities — "this sports story looks a bit like business" — become visible. Those
# relations between classes (Hinton's *dark knowledge*) are extra signal per example that a
# one-hot label does not carry. The training loss mixes both:
#
# $$\mathcal{L} = \alpha\, T^2\, \mathrm{KL}\!\left(p^{(T)}_{\text{teacher}} \,\|\, p^{(T)}_{\text{student}}\right) + (1-\alpha)\, \mathrm{CE}(z_\text{student}, y)$$
#
# The $T^2$ keeps the soft term's gradients at the same scale whatever the temperature (the
# gradient of the softened KL shrinks like $1/T^2$). DistilBERT distilled during
# *pretraining*, on the masked-LM outputs, with an extra cosine loss on hidden states; here
# we distil on the task itself, AG News, which is the same idea on a budget a CPU can pay.
#
# ### The data: the same split as notebook 06
#
# The teacher may be the model notebook 06 fine-tuned, so our evaluation rows must be rows it
# never saw: we repeat 06's seeded, stratified 80/20 split (in `full`, 06 trains on the
# official train split and we evaluate on the test split), then draw the small subsets this
# notebook needs from each side.

# %% slideshow={"slide_type": "skip"}
ag = ag_news_splits(profile.agnews.use_official_train, profile.agnews.test_size, profile.seed)
train_part, heldout_part = ag["train"], ag["test"]  # quick: 06's 80/20 split of the test split
class_names = train_part.features["label"].names
eval_set = stratified_subset(heldout_part, cfg.eval_size, profile.seed)
distill_set = stratified_subset(train_part, cfg.distill_train_size, profile.seed)
eval_labels = np.array(eval_set["label"])
print(f"training part {len(train_part):,} rows, held-out part {len(heldout_part):,} rows")
print(f"distillation training rows {len(distill_set):,}, evaluation rows {len(eval_set):,}")
print("classes:", class_names)

# %% slideshow={"slide_type": "skip"}
tokenizer = load_pretrained(AutoTokenizer, profile.bert)
tok_eval = tokenize_dataset(eval_set, tokenizer, cfg.max_len)
tok_distill = tokenize_dataset(distill_set, tokenizer, cfg.max_len)
eval_loader = make_loader(tok_eval, tokenizer, batch_size=64)
print(f"max_len {cfg.max_len} tokens; first evaluation row:\n  {eval_set[0]['text'][:120]}…")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### The teacher
#
# If notebook 06 has run, its fine-tuned classifier is waiting in `runs/06_ag_news_classifier`
# and we use it (checking that it is the same kind of model as `profile.bert`, with four
# classes). Otherwise we fine-tune a teacher here, briefly, on rows of the training part.

# %% slideshow={"slide_type": "subslide"}
saved_06 = run_dir("06_ag_news_classifier", create=False)
teacher, teacher_source = None, None
if (saved_06 / "config.json").is_file():
    saved_config = AutoConfig.from_pretrained(saved_06)
    base_config = AutoConfig.from_pretrained(profile.bert)
    compatible = (
        saved_config.num_labels == len(class_names)
        and saved_config.hidden_size == base_config.hidden_size
        and saved_config.vocab_size == base_config.vocab_size
        and any("ForSequenceClassification" in a for a in (saved_config.architectures or []))
    )
    if compatible:
        teacher = AutoModelForSequenceClassification.from_pretrained(saved_06)
        teacher_source = f"notebook 06's model ({saved_06.name})"
    else:
        print(f"{saved_06} holds a different model (another profile?): fine-tuning a teacher here.")
if teacher is None:
    teacher_set = stratified_subset(train_part, cfg.teacher_train_size, profile.seed)
    teacher = load_pretrained(
        AutoModelForSequenceClassification, profile.bert, num_labels=len(class_names)
    ).to(device)
    tok_teacher = tokenize_dataset(teacher_set, tokenizer, cfg.max_len)
    loader = make_loader(tok_teacher, tokenizer, cfg.batch_size, shuffle=True, seed=profile.seed)
    optimizer = torch.optim.AdamW(teacher.parameters(), lr=cfg.teacher_lr)
    steps = cfg.teacher_epochs * len(loader)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(0.1 * steps), steps)
    fit(teacher, loader, epochs=cfg.teacher_epochs, optimizer=optimizer, scheduler=scheduler)
    teacher_source = f"fine-tuned here on {len(teacher_set):,} rows, {cfg.teacher_epochs} epoch(s)"
teacher.to(device).eval()
print(f"teacher: {profile.bert}, {teacher.config.num_hidden_layers} layers, {teacher_source}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Soft targets: what the student learns from
#
# The teacher's distribution over the four classes for one held-out story, at rising
# temperatures. The ranking never changes; what becomes visible is how the remaining mass is
# shared among the wrong classes.

# %% slideshow={"slide_type": "-"}
row = int(np.flatnonzero(eval_labels == class_names.index("Business"))[0])  # first business story
text = eval_set[row]["text"]
with torch.no_grad():
    example = tokenizer(text, truncation=True, max_length=cfg.max_len, return_tensors="pt")
    example_logits = teacher(**example.to(device)).logits[0].cpu()  # (4,)
print(text[:110], "…  label:", class_names[eval_labels[row]])
softened = {f"T={t}": F.softmax(example_logits / t, dim=-1).numpy() for t in (1, 2, 5, 10)}
pd.DataFrame(softened, index=class_names).round(3)

# %% [markdown] slideshow={"slide_type": "subslide"}
# The loss, written out — and checked against the package's tested `distill.distillation_loss`
# on random logits, at several temperatures and weights:


# %% slideshow={"slide_type": "-"}
def kd_loss(student_logits, teacher_logits, labels, temperature, alpha):
    log_p_student = F.log_softmax(student_logits / temperature, dim=-1)  # (B, C)
    p_teacher = F.softmax(teacher_logits.detach() / temperature, dim=-1)  # (B, C), no gradient
    # KL(teacher || student): summed over classes, averaged over the batch
    kl = (p_teacher * (p_teacher.log() - log_p_student)).sum(dim=-1).mean()  # ()
    hard = F.cross_entropy(student_logits, labels)  # ()
    return alpha * temperature**2 * kl + (1 - alpha) * hard


generator = torch.Generator().manual_seed(profile.seed)
s_logits = torch.randn(8, 4, generator=generator)  # (8, 4)
t_logits = torch.randn(8, 4, generator=generator) * 3  # (8, 4): a more confident teacher
y = torch.randint(0, 4, (8,), generator=generator)  # (8,)
for temperature in (1.0, 2.0, 5.0):
    for alpha in (0.0, 0.5, 1.0):
        torch.testing.assert_close(
            kd_loss(s_logits, t_logits, y, temperature, alpha),
            distill.distillation_loss(s_logits, t_logits, y, temperature, alpha),
        )
    # a student that already equals its teacher has nothing left to learn from it
    assert distill.distillation_loss(t_logits, t_logits, y, temperature, alpha=1.0).abs() < 1e-6
print("kd_loss agrees with distill.distillation_loss")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### The student: every other layer of the teacher
#
# `distill.make_student` builds a model of the teacher's class with fewer layers and copies the
# embeddings, the chosen layers and the classification head. Two copies of that one student
# are trained below: one on the hard labels only, one with the teacher's soft targets.

# %% slideshow={"slide_type": "-"}
layer_ids = distill.student_layer_ids(teacher.config.num_hidden_layers, cfg.student_layers)
student_init = distill.make_student(teacher, layer_ids).to(device)
for new, old in enumerate(layer_ids):
    assert torch.equal(
        student_init.base_model.encoder.layer[new].attention.self.query.weight,
        teacher.base_model.encoder.layer[old].attention.self.query.weight,
    )

# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
print("student layer ← teacher layer:", {new: old for new, old in enumerate(layer_ids)})
for name, model in (("teacher", teacher), ("student", student_init)):
    in_table = efficient.parameters_by_component(model)["token embeddings"]
    total = efficient.count_parameters(model)
    print(
        f"{name}: {model.config.num_hidden_layers} layers, {total:,} parameters "
        f"({in_table:,} of them in the token embeddings)"
    )

# %% [markdown] slideshow={"slide_type": "subslide"}
# Halving the depth halves the compute of the layers, but not the parameter count: the
# $V\times H$ token-embedding table, untouched, is a large share of a small model — the very
# table ALBERT factorises.
#
# Both students now get the same budget: the same rows in the same order, the same number of
# optimizer steps, the same learning-rate schedule. Only the loss differs (`alpha=0` is plain
# cross-entropy; the teacher is not even run).


# %% slideshow={"slide_type": "-"}
def train_copy(alpha):
    seed_everything(profile.seed)
    student = copy.deepcopy(student_init)
    loader = make_loader(tok_distill, tokenizer, cfg.batch_size, shuffle=True, seed=profile.seed)
    optimizer = torch.optim.AdamW(student.parameters(), lr=cfg.student_lr)
    steps = cfg.distill_epochs * len(loader)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(0.1 * steps), steps)
    history = distill.train_student(
        student,
        loader,
        optimizer,
        epochs=cfg.distill_epochs,
        temperature=cfg.temperature,
        alpha=alpha,
        teacher=teacher if alpha > 0 else None,  # alpha = 0: the teacher is never run
        scheduler=scheduler,
    )
    return student, history


student_plain, history_plain = train_copy(alpha=0.0)
student_kd, history_kd = train_copy(alpha=cfg.alpha)
print(
    f"T={cfg.temperature}, alpha={cfg.alpha}, {cfg.distill_epochs} epoch(s), {len(distill_set):,} rows"
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Teacher, student, student with distillation
#
# One pass over the held-out rows per model gives the accuracy. The inference speed is timed
# separately, so that a busy machine treats all three alike: the models take turns on one
# batch of 64 held-out rows, `timing_repeats` turns each, and the median counts.


# %% slideshow={"slide_type": "subslide"}
models = {"teacher": teacher, "student": student_plain, "student + KD": student_kd}
timing_batch = next(iter(make_loader(tok_eval, tokenizer, batch_size=64)))
timing_batch = {key: value.to(device) for key, value in timing_batch.items() if key != "labels"}
batch_seconds = efficient.compare_forward_seconds(models, timing_batch, cfg.timing_repeats)

table_rows, teacher_predictions = [], None
for name, model in models.items():
    predictions = predict(model, eval_loader).argmax(dim=-1)  # (n,)
    teacher_predictions = predictions if teacher_predictions is None else teacher_predictions
    speed = len(timing_batch["input_ids"]) / batch_seconds[name]
    table_rows.append(
        {
            "model": name,
            "layers": model.config.num_hidden_layers,
            "parameters": f"{efficient.count_parameters(model):,}",
            "accuracy": round(float((predictions.numpy() == eval_labels).mean()), 3),
            "samples/s": round(speed),
            "speed-up": f"{batch_seconds['teacher'] / batch_seconds[name]:.2f}×",
            "agrees with teacher": round(
                float((predictions == teacher_predictions).float().mean()), 3
            ),
        }
    )
print(f"{len(eval_labels)} held-out rows; teacher: {teacher_source}")
accuracy_se = math.sqrt(0.25 / len(eval_labels))  # the largest binomial standard error, p = 0.5
print(f"standard error of one accuracy on {len(eval_labels)} rows: at most {accuracy_se:.3f}")
pd.DataFrame(table_rows).set_index("model")

# %% [markdown] slideshow={"slide_type": "subslide"}
# What to read in this table: the speed-up comes from the depth (the layers do nearly all the
# work per token), the parameter saving is smaller (the embedding table stays), and the
# accuracy gap between the two students is what the teacher's soft targets bought on this
# budget. With a single seed, an accuracy measured on this many rows carries the standard error
# printed above; a gap between the two students smaller than about twice that is noise. Two reasons such a small run can show little or no gain: the teacher was
# fine-tuned on the training part these rows come from, and on text it was trained on a
# teacher's outputs tend to be confident, close to the one-hot labels, with little dark
# knowledge left to pass on; and DistilBERT's gains came from distilling over a whole
# pretraining corpus, where the teacher labels far more text than any annotator could. The `full` profile trains
# longer on all of AG News (`NLPCOURSE_PROFILE=full`); its figures have not been measured for
# this release.
#
# The distilled student is saved like every trained model in the course, and reloaded:

# %% slideshow={"slide_type": "subslide"}
student_dir = run_dir("08_efficient_and_future") / "student_kd"
student_kd.save_pretrained(student_dir)  # config.json + model.safetensors
tokenizer.save_pretrained(student_dir)
reloaded = AutoModelForSequenceClassification.from_pretrained(student_dir).eval()
batch = next(iter(eval_loader))
inputs = {key: value.to(device) for key, value in batch.items() if key != "labels"}
with torch.no_grad():
    torch.testing.assert_close(
        reloaded.to(device)(**inputs).logits, student_kd.eval()(**inputs).logits
    )
print(f"saved to {student_dir.relative_to(student_dir.parents[2])}, reloaded: identical logits")
del reloaded, student_plain

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3 · Zero- and few-shot classification
#
# ### Prompting, as GPT-3 does it
#
# GPT-3 (Brown et al., 2020) is a decoder that predicts the next token. It classifies without
# any gradient step: the task is written into its input — an instruction, optionally $k$
# solved examples ("demonstrations"), then the query — and the model continues the text with
# the answer. *Zero-shot* means an instruction only, *few-shot* means $k$ demonstrations in
# the prompt; the weights never change (in-context learning). Such a prompt for AG News looks
# like this (built from the training part):

# %% slideshow={"slide_type": "-"}
demo = stratified_subset(train_part, 8, profile.seed + 1)
prompt = "Classify each news story as World, Sports, Business or Sci/Tech.\n\n"
for row in demo.select(range(2)):
    prompt += f"Story: {row['text'][:90]}…\nTopic: {class_names[row['label']]}\n\n"
prompt += f"Story: {eval_set[0]['text'][:90]}…\nTopic:"
print(prompt)

# %% [markdown] slideshow={"slide_type": "subslide"}
# A model of GPT-3's size does not run on a laptop CPU, and the offline course has no
# decoder checkpoint. Two zero-shot classifiers that encoder models *can* run follow the same
# idea — put the task into the input, read the answer out without training:
#
# * **similarity to label descriptions** — a sentence-embedding model maps a headline and a
#   sentence describing each class into one space; the nearest description wins;
# * **a cloze prompt** — a masked language model fills in "This news is about [MASK]." and we
#   compare its scores for the words *world*, *sports*, *business*, *technology*.
#
# In `quick`, `profile.bert` is `sentence-transformers/all-MiniLM-L6-v2`, trained precisely
# for the first: its mean-pooled, normalised vectors are sentence embeddings. (In `full` it is
# `bert-base-uncased`, whose mean-pooled vectors were never trained for similarity; the cloze
# classifier is the zero-shot method to watch there.)
#
# Every text is embedded **once**: the held-out rows and a pool of labelled training rows
# that the few-shot samples are drawn from. Everything below reuses these two matrices.

# %% slideshow={"slide_type": "-"}
encoder = load_pretrained(AutoModel, profile.bert).to(device).eval()
pool_set = stratified_subset(train_part, cfg.fewshot_pool_size, profile.seed)
pool_labels = np.array(pool_set["label"])
start = time.perf_counter()
# mean-pooled and normalised to unit length, as the model was trained to be used
eval_emb = encode(list(eval_set["text"]), encoder, tokenizer, max_len=cfg.max_len)  # (n_eval, H)
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
zero_shot = {
    how: float((fewshot.zero_shot_predict(eval_emb, emb) == eval_labels).mean())
    for how, emb in label_emb.items()
}
print(f"zero-shot accuracy on {len(eval_labels)} held-out rows (chance: 0.25):")
for how, accuracy in zero_shot.items():
    print(f"  {how:<13} {accuracy:.3f}   e.g. {descriptions[how][1]!r}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# The same model, the same test rows, different accuracies: zero-shot classification is only
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
    texts = list(eval_set["text"])
    scores = fewshot.cloze_scores(
        texts, mlm, mlm_tokenizer, template, cloze_words, max_len=cfg.max_len + 12
    )  # (n, 4): the masked-LM's logit of each label word at [MASK]
    zero_shot["cloze prompt"] = float((scores.argmax(dim=1).numpy() == eval_labels).mean())
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
# indices to both methods. Both are scored on the same held-out rows.

# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
seeds = [profile.seed + s for s in range(cfg.few_shot_seeds)]
for k in cfg.shots:
    picked = fewshot.sample_k_per_class(pool_labels, k, seeds[0])
    per_class = np.bincount(pool_labels[picked]).tolist()
    print(f"k={k:>2}: {len(picked):>3} examples, per class {per_class}")

# %% slideshow={"slide_type": "-"}
# the few-shot runs are scored on a stratified subset of the held-out rows (its row numbers)
numbered = eval_set.add_column("row", range(len(eval_set)))
fs_eval_rows = np.sort(stratified_subset(numbered, cfg.fewshot_eval_size, profile.seed)["row"])
fs_eval_emb, fs_eval_labels = eval_emb[fs_eval_rows], eval_labels[fs_eval_rows]


def probe_run(indices, seed):
    x, y = pool_emb[indices], pool_labels[indices]  # (4k, H), (4k,)
    return fewshot.logistic_probe_accuracy(x, y, fs_eval_emb, fs_eval_labels, seed=seed)


probe_rows = fewshot.learning_curve(pool_labels, cfg.shots, seeds, probe_run, desc="linear probe")

# %% slideshow={"slide_type": "-"}
tok_pool = tokenize_dataset(pool_set, tokenizer, cfg.max_len)
fs_eval_loader = make_loader(tok_eval.select(fs_eval_rows), tokenizer, batch_size=64)


def finetune_run(indices, seed):
    seed_everything(seed)
    model = fewshot.MeanPoolClassifier(copy.deepcopy(encoder), num_labels=len(class_names))
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
zero_shot_predictions = fewshot.zero_shot_predict(fs_eval_emb, label_emb["descriptions"])
zero_shot_fs = float((zero_shot_predictions == fs_eval_labels).mean())
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
ax.axhline(zero_shot_fs, color="gray", ls="--", label="zero-shot (descriptions)")
ax.axhline(0.25, color="gray", ls=":", label="chance")
ax.set_xscale("log", base=2)
ax.minorticks_off()
ax.set(
    xticks=list(cfg.shots),
    xticklabels=[str(k) for k in cfg.shots],
    ylim=(0.2, 1),
    xlabel="labelled examples per class (k)",
    ylabel="held-out accuracy",
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
# `FutureConfig`, not tuned on the test rows). What fine-tuning reaches with thousands of
# examples is notebook 06's subject.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4 · Bias: measuring an association, removing a direction, counting the cost
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

# %% slideshow={"slide_type": "-"}
pairs = [("he", "she"), ("man", "woman"), ("boy", "girl"), ("father", "mother")]
pairs += [("son", "daughter"), ("brother", "sister"), ("husband", "wife"), ("king", "queen")]
pairs += [("male", "female"), ("his", "her")]
male_side = encode([m for m, _ in pairs], encoder, tokenizer)  # (10, H)
female_side = encode([f for _, f in pairs], encoder, tokenizer)  # (10, H)
g = bias.bias_direction(male_side, female_side)  # (H,), unit length
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


def leave_one_out_accuracy(x):
    hits = []
    for held in range(len(x)):
        keep = np.arange(len(x)) != held
        probe = LogisticRegression(max_iter=1_000).fit(x[keep], is_female[keep])
        hits.append(probe.predict(x[held : held + 1])[0] == is_female[held])
    return float(np.mean(hits))


print(f"gender of a held-out name predicted from its embedding ({len(names)} names, chance 0.5):")
name_vec_debiased = bias.project_out(name_vec, g)  # (32, H)
print(f"  original embeddings:          {leave_one_out_accuracy(name_vec.numpy()):.3f}")
print(f"  after projecting out g:       {leave_one_out_accuracy(name_vec_debiased.numpy()):.3f}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### The cost to the task
#
# Debiasing changes every vector, so it can change what the vectors are good for. Apply the
# same projection to the news embeddings and the label descriptions, and re-run the zero-shot
# classifier and the $k=16$ linear probe on the same rows and seeds:

# %% slideshow={"slide_type": "-"}
eval_debiased, pool_debiased = bias.project_out(eval_emb, g), bias.project_out(pool_emb, g)
labels_debiased = bias.project_out(label_emb["descriptions"], g)
k_cost = 16 if 16 in cfg.shots else cfg.shots[-1]


def probe_mean(pool_x, eval_x):
    """Mean k_cost-shot probe accuracy over the seeds, on the same samples as the curve."""
    runs = []
    for seed in seeds:  # the same samples as in the learning curve
        i = fewshot.sample_k_per_class(pool_labels, k_cost, seed)
        train_x, test_x = pool_x[i], eval_x[fs_eval_rows]
        runs.append(
            fewshot.logistic_probe_accuracy(
                train_x, pool_labels[i], test_x, fs_eval_labels, seed=seed
            )
        )
    return float(np.mean(runs))


zero_shot_debiased = fewshot.zero_shot_predict(eval_debiased, labels_debiased)
cost = pd.DataFrame(
    {
        "zero-shot (descriptions)": [
            zero_shot["descriptions"],
            float((zero_shot_debiased == eval_labels).mean()),
        ],
        f"probe, k={k_cost} (mean of {len(seeds)} seeds)": [
            probe_curve[k_cost][0],  # the learning curve's mean: these runs, already done
            probe_mean(pool_debiased, eval_debiased),
        ],
    },
    index=["original", "debiased"],
)
print(f"mean |cos(news embedding, g)| = {(eval_emb @ g).abs().mean():.4f}")
cost.round(3)

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
#   decisions, with counterfactual inputs that change only the name.
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
    check_distillation_loss,
    check_embedding_savings,
    check_exact_test,
    exercise_logits,
)

saved_parameters = None  # your answer: an integer
check_embedding_savings(saved_parameters)

# %% jupyter={"source_hidden": true} tags=["solution"] slideshow={"slide_type": "skip"}
V, H, E = 30_000, 4_096, 128
saved_parameters = V * H - (V * E + E * H)
assert check_embedding_savings(saved_parameters)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **2. The distillation loss by hand.** `exercise_logits()` returns student logits, teacher
# logits and labels. Compute the distillation loss at $T=3$ and $\alpha=0.8$ yourself, with
# `softmax`/`log_softmax` and `cross_entropy` only (not `distill.distillation_loss`).

# %% slideshow={"slide_type": "-"}
student_logits, teacher_logits, labels = exercise_logits()
loss_by_hand = None  # your answer: a number
check_distillation_loss(loss_by_hand)

# %% jupyter={"source_hidden": true} tags=["solution"] slideshow={"slide_type": "skip"}
T, alpha = 3.0, 0.8
p_t = F.softmax(teacher_logits / T, dim=-1)
kl = (p_t * (p_t.log() - F.log_softmax(student_logits / T, dim=-1))).sum(dim=-1).mean()
loss_by_hand = alpha * T**2 * kl + (1 - alpha) * F.cross_entropy(student_logits, labels)
assert check_distillation_loss(loss_by_hand)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **3. How small can a p-value be?** An exact WEAT permutation test on 4 target words per
# side compares the observed split with every split of the 8 words into two groups of 4.
# How many splits are there, and what is the smallest p-value the test can report?

# %% slideshow={"slide_type": "-"}
n_splits, smallest_p = None, None  # your answer
check_exact_test(n_splits, smallest_p)

# %% jupyter={"source_hidden": true} tags=["solution"] slideshow={"slide_type": "skip"}
n_splits = math.comb(8, 4)
smallest_p = 1 / n_splits  # only the observed split itself is at least as extreme
assert check_exact_test(n_splits, smallest_p)
