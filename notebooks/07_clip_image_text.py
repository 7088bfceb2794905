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
# # 07 · CLIP: matching images and text by contrastive learning
#
# The article's multimodal section (§3.3) shows four lines: load OpenAI's CLIP with
# `CLIPProcessor` and `CLIPModel`, feed it one photo and one caption, and read
# `logits_per_image`, "the image–text similarity". This notebook opens that box:
#
# 1. **The idea** — two encoders, one shared space, a temperature, and a symmetric
#    cross-entropy over the batch's similarity matrix. We write the loss by hand and check it
#    against the library's.
# 2. **A small CLIP trained here**, on images of coloured shapes this notebook draws itself,
#    then tested *zero-shot* on colour×shape pairs it never saw together.
# 3. **The article's code** on real photos: similarities, zero-shot classification with
#    prompt templates, and retrieval in both directions. It loads the pretrained
#    `openai/clip-vit-base-patch32` when it can be had; offline it runs the very same code on
#    the model from part 2, reloaded from disk, and says so.
# 4. **Where CLIP fails**: a measured look at word order and spatial relations.
#
# What changed since the article: its snippet needs `from PIL import Image` (missing) and a
# `cat.jpg` it does not provide; we use the photos bundled with scikit-image and matplotlib.
# With a single caption the softmax over captions is always 1, so we give CLIP several.

# %% slideshow={"slide_type": "skip"}
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm
from transformers import (
    AutoTokenizer,
    CLIPConfig,
    CLIPImageProcessor,
    CLIPModel,
    CLIPProcessor,
)

from nlpcourse import contrastive, shapes
from nlpcourse.clip_plots import image_grid, plot_similarity, retrieval_grid, top_captions
from nlpcourse.config import get_device, get_profile, seed_everything
from nlpcourse.hub import checkpoint_available, missing_checkpoint_message
from nlpcourse.paths import run_dir
from nlpcourse.training import count_parameters

profile = get_profile()
seed_everything(profile.seed)
cfg = profile.clip_train  # every size below comes from here
device = get_device()
notebook_start = time.perf_counter()
print(f"profile {profile.name!r}, device {device}: {cfg}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1 · The idea: one space for images and captions
#
# CLIP has an **image encoder** (a Vision Transformer) and a **text encoder** (a Transformer
# over tokens). Each ends in a linear *projection* into the same $d$-dimensional space, and
# both outputs are scaled to unit length, so the dot product of an image vector and a caption
# vector is their cosine similarity.
#
# Training takes a batch of $N$ matching (image, caption) pairs and builds the $N\times N$
# matrix of all image–caption similarities. Entry $(i, j)$ compares image $i$ with caption
# $j$; the true pairs sit on the diagonal, and every other caption in the batch serves as a
# *negative* for image $i$. Dividing by a **temperature** $\tau$ sharpens the scores, and the
# loss is cross-entropy in both directions:
#
# $$
# L = \tfrac12\Big[\underbrace{\tfrac1N\sum_i -\log \operatorname{softmax}_j\big(s_{ij}/\tau\big)_{j=i}}_{\text{each image finds its caption}}
#   + \underbrace{\tfrac1N\sum_j -\log \operatorname{softmax}_i\big(s_{ij}/\tau\big)_{i=j}}_{\text{each caption finds its image}}\Big],
# \qquad s_{ij} = \frac{x_i \cdot t_j}{\lVert x_i\rVert\,\lVert t_j\rVert}.
# $$
#
# This is the InfoNCE loss, made symmetric. CLIP learns $\tau$ too: it stores
# `logit_scale` $=\log(1/\tau)$, starts it at $\tau = 0.07$ (a scale of $1/0.07 \approx 14.3$)
# and never lets the scale exceed 100. `logits_per_image` in the article's snippet is exactly
# the matrix $s_{ij}/\tau$, one row per image.
#
# Here is the loss written out:


# %% slideshow={"slide_type": "-"}
def clip_loss_by_hand(image_embeds, text_embeds, logit_scale):
    """Symmetric InfoNCE over a batch of N (image, caption) pairs; logit_scale = 1 / τ."""
    image_embeds = image_embeds / image_embeds.norm(dim=-1, keepdim=True)  # (N, D) unit rows
    text_embeds = text_embeds / text_embeds.norm(dim=-1, keepdim=True)  # (N, D) unit rows
    logits_per_image = logit_scale * image_embeds @ text_embeds.T  # (N, N) row i: image i
    targets = torch.arange(len(logits_per_image), device=logits_per_image.device)  # (N,) i ↔ i
    image_to_text = F.cross_entropy(logits_per_image, targets)  # () softmax over captions
    text_to_image = F.cross_entropy(logits_per_image.T, targets)  # () softmax over images
    return (image_to_text + text_to_image) / 2


# %% [markdown] slideshow={"slide_type": "subslide"}
# It agrees with the tested version in `nlpcourse.contrastive` (which takes the temperature
# $\tau$ rather than its inverse), and two limits tell us what numbers to expect from a loss
# curve:
#
# * **no signal** — if every logit in a row is equal, each caption gets probability $1/N$ and
#   the loss is $\ln N$: where an untrained model starts;
# * **perfect alignment** — if each image vector equals its caption's and all pairs are
#   orthogonal, the diagonal logits are $1/\tau$ and the others 0, so the loss is
#   $\ln\big(1 + (N-1)e^{-1/\tau}\big)$: near zero only when $\tau$ is small. The temperature is
#   what lets cosine similarities, stuck in $[-1, 1]$, produce confident softmaxes.

# %% slideshow={"slide_type": "-"}
generator = torch.Generator().manual_seed(profile.seed)
n_pairs, dim = cfg.batch_size, cfg.embed_dim
image_embeds = torch.randn(n_pairs, dim, generator=generator)  # (N, D) random "images"
text_embeds = torch.randn(n_pairs, dim, generator=generator)  # (N, D) random "captions"
tau = 0.07

by_hand = clip_loss_by_hand(image_embeds, text_embeds, 1 / tau)  # ()
packaged = contrastive.clip_loss(image_embeds, text_embeds, temperature=tau)  # ()
torch.testing.assert_close(by_hand, packaged)
swapped = contrastive.clip_loss(text_embeds, image_embeds, temperature=tau)  # roles exchanged
torch.testing.assert_close(swapped, packaged)  # symmetric: images and texts play equal parts

no_signal = contrastive.clip_loss_from_logits(torch.zeros(n_pairs, n_pairs))  # () all equal
aligned = torch.eye(n_pairs, dim)  # (N, D) orthonormal rows (N <= D)
torch.testing.assert_close(no_signal, torch.tensor(math.log(n_pairs)))
for t in (1.0, 0.07):
    loss = contrastive.clip_loss(aligned, aligned, temperature=t)  # ()
    torch.testing.assert_close(loss, torch.tensor(math.log1p((n_pairs - 1) * math.exp(-1 / t))))

# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
print(f"batch of N = {n_pairs} pairs, {dim}-d embeddings")
print(f"no signal:         loss = ln N = {no_signal.item():.4f}")
for t in (1.0, 0.07):
    loss = contrastive.clip_loss(aligned, aligned, temperature=t).item()
    print(f"perfect, tau={t:<4}: loss = {loss:.4f}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# Random embeddings with $\tau = 0.07$ land well *above* $\ln N$: the random cosines, divided
# by a small temperature, give confident wrong answers. Bad inputs get one clear error:

# %% slideshow={"slide_type": "-"}
for bad in (
    lambda: contrastive.clip_loss(image_embeds, text_embeds[:-1]),
    lambda: contrastive.clip_loss(image_embeds[:0], text_embeds[:0]),
    lambda: contrastive.clip_loss(image_embeds, text_embeds, temperature=0.0),
):
    try:
        bad()
    except ValueError as error:
        print("ValueError:", error)
print(
    f"random embeddings, tau = {tau}: loss = {packaged.item():.3f} (ln N = {math.log(n_pairs):.3f})"
)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2 · Training a small CLIP on shapes we draw ourselves
#
# ### The data
#
# `nlpcourse.shapes` draws small RGB images with Pillow — a circle, square, triangle or
# diamond in one of six colours, small or large, on the left, in the middle or on the right —
# and writes the caption that goes with it: *"a small red circle on the left"*. A quarter of
# the images show two shapes side by side, captioned with a relation, worded either way round
# at random: *"a red circle to the left of a blue square"* or *"a blue square to the right of
# a red circle"*. We will need those in part 4.
#
# The generator is seeded, so the same seed gives the same images and captions. Before
# drawing anything we **hold out** some colour×shape pairs: each held-out colour and each
# held-out shape appears in training, but never *together*. A model that can name a green
# circle after seeing green squares and red circles has learned colour and shape separately —
# the compositional generalisation that makes zero-shot classification work.

# %% slideshow={"slide_type": "-"}
train_combos, heldout_combos = shapes.split_combos(cfg.heldout_combos, seed=profile.seed)
all_combos = shapes.all_combos()
train_samples = shapes.generate(
    cfg.train_images,
    train_combos,
    image_size=cfg.image_size,
    seed=profile.seed,
    pair_fraction=cfg.pair_fraction,
)
seen_in_training = {combo for sample in train_samples for combo in sample.combos}
assert seen_in_training.isdisjoint(heldout_combos)  # held out means never drawn in training

# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
print(f"{len(all_combos)} colour×shape pairs; {len(train_combos)} for training")
print("held out:", ", ".join(f"{colour} {shape}" for colour, shape in heldout_combos))
print(f"{len(train_samples)} training images, first captions:")
for sample in train_samples[:4]:
    print("  ", sample.caption)

# %% slideshow={"slide_type": "subslide"}
fig = image_grid(
    [sample.image for sample in train_samples[:12]],
    [sample.caption.replace(" to the", "\nto the") for sample in train_samples[:12]],
    ncols=6,
    cell_size=1.9,
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### The model: transformers' own `CLIPModel`, small and untrained
#
# There are two reasonable ways to build a CLIP we can train in a minute on a CPU:
#
# * a **dual encoder whose text tower is the profile's pretrained BERT** — it already knows
#   English, so it would understand wordings it never saw in training; but it costs a
#   6-layer, 384-wide forward and backward pass per caption, and the result is not a
#   `CLIPModel`;
# * **`CLIPModel` built from a small `CLIPConfig`** — the same class as OpenAI's checkpoint,
#   just two layers per tower and 64 dimensions wide, trained from scratch.
#
# We take the second: it is cheap, and because it *is* a `CLIPModel`, part 3 can load it with
# exactly the code that loads the pretrained CLIP. The price is a text tower that knows only
# the twenty-odd words of our captions: a word it never saw, like *crimson*, means nothing to
# it.
#
# For the tokenizer we reuse the profile's BERT WordPiece tokenizer (offline, already in the
# hub cache). Two settings in the text config must match it:
#
# * **`vocab_size`, `pad_token_id`, `bos_token_id`** — the tokenizer's vocabulary size and its
#   `[PAD]` and `[CLS]` ids;
# * **`eos_token_id`** — CLIP's text transformer is *causal* (each token sees only the tokens
#   before it), so the one position that has read the whole caption is the last, and CLIP
#   takes its sentence vector there. `CLIPTextTransformer` (transformers 5) finds it as the
#   first position whose id equals `eos_token_id`; only the legacy value 2 falls back to "the
#   highest id in the row", which was OpenAI's end token. BERT's tokenizer ends every caption
#   with `[SEP]`, so `[SEP]`'s id is our end-of-text id.

# %% slideshow={"slide_type": "-"}
tokenizer = AutoTokenizer.from_pretrained(profile.bert)
tokenizer.model_max_length = cfg.max_positions  # truncate to the text tower's position table
encoded = tokenizer(["a small red circle on the left"])
config = CLIPConfig(
    text_config={
        "vocab_size": tokenizer.vocab_size,
        "hidden_size": cfg.hidden_size,
        "intermediate_size": 4 * cfg.hidden_size,
        "num_hidden_layers": cfg.num_layers,
        "num_attention_heads": cfg.num_heads,
        "max_position_embeddings": cfg.max_positions,
        "pad_token_id": tokenizer.pad_token_id,
        "bos_token_id": tokenizer.cls_token_id,
        "eos_token_id": tokenizer.sep_token_id,  # where the text tower reads its sentence vector
    },
    vision_config={
        "image_size": cfg.image_size,
        "patch_size": cfg.patch_size,
        "hidden_size": cfg.hidden_size,
        "intermediate_size": 4 * cfg.hidden_size,
        "num_hidden_layers": cfg.num_layers,
        "num_attention_heads": cfg.num_heads,
    },
    projection_dim=cfg.embed_dim,
)
small_clip = CLIPModel(config).to(device)

# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
print("token ids:", encoded["input_ids"][0])
print("tokens:   ", tokenizer.convert_ids_to_tokens(encoded["input_ids"][0]))
print("eos_token_id =", config.text_config.eos_token_id, "=", tokenizer.sep_token)


print(f"vision tower {count_parameters(small_clip.vision_model):,} parameters")
print(f"text tower   {count_parameters(small_clip.text_model):,} parameters")
print(
    f"token embedding {count_parameters(small_clip.text_model.embeddings.token_embedding):,} of them "
    f"({tokenizer.vocab_size:,} ids × {cfg.hidden_size})"
)
print(
    f"whole model  {count_parameters(small_clip):,} parameters, logit scale {small_clip.logit_scale.exp():.2f}"
)
with torch.device("meta"):  # shapes only, no memory; CLIPConfig()'s defaults are ViT-B/32's sizes
    reference = CLIPModel(CLIPConfig())
ratio = count_parameters(reference) / count_parameters(small_clip)
print(
    f"for comparison, the ViT-B/32 CLIP: {count_parameters(reference):,} parameters ({ratio:.0f}×)"
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# Most of the text tower is the embedding table of BERT's 30,522-token vocabulary, of which our
# captions use a few dozen rows. The pretrained ViT-B/32 CLIP, counted from its default
# configuration on PyTorch's "meta" device (shapes without memory), is some seventy times larger.
#
# A `CLIPProcessor` pairs an image processor with a tokenizer. Ours is a `CLIPImageProcessor`
# sized for our images (resize and centre-crop to `image_size`, then CLIP's mean/std
# normalisation) plus the BERT tokenizer. We encode the whole training set once.

# %% slideshow={"slide_type": "skip"}
image_processor = CLIPImageProcessor(
    size={"shortest_edge": cfg.image_size},
    crop_size={"height": cfg.image_size, "width": cfg.image_size},
)
small_processor = CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer)

train_inputs = small_processor(
    text=[sample.caption for sample in train_samples],
    images=[sample.image for sample in train_samples],
    return_tensors="pt",
    padding=True,
    truncation=True,
)
ids = train_inputs["input_ids"]  # (n_train, T) padded with [PAD] = 0
assert (ids == tokenizer.sep_token_id).any(dim=1).all(), "every caption must contain the EOS id"
print({key: tuple(value.shape) for key, value in train_inputs.items()})

# %% [markdown] slideshow={"slide_type": "subslide"}
# Before training, the hand-written loss must agree with what `CLIPModel` computes itself with
# `return_loss=True` on the same batch (and with the package's version):

# %% slideshow={"slide_type": "-"}
first = {key: value[: cfg.batch_size].to(device) for key, value in train_inputs.items()}
with torch.no_grad():
    outputs = small_clip(**first, return_loss=True)
by_hand = clip_loss_by_hand(
    outputs.image_embeds, outputs.text_embeds, small_clip.logit_scale.exp()
)  # ()
packaged = contrastive.clip_loss(
    outputs.image_embeds, outputs.text_embeds, temperature=1 / small_clip.logit_scale.exp()
)  # ()
torch.testing.assert_close(by_hand, outputs.loss)
torch.testing.assert_close(packaged, outputs.loss)
torch.testing.assert_close(outputs.logits_per_image, outputs.logits_per_text.T)
print(
    f"untrained: loss {outputs.loss.item():.4f} (ln {cfg.batch_size} = {math.log(cfg.batch_size):.4f})"
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# Ten fixed images with different captions let us watch the similarity matrix change. Before
# training it has no structure: the diagonal (boxed) is no brighter than the rest.

# %% slideshow={"slide_type": "subslide"}
candidates = shapes.generate(40, train_combos, cfg.image_size, seed=profile.seed + 100)
unique = {}
for sample in candidates:
    unique.setdefault(sample.caption, sample)  # the first image with each caption
showcase = list(unique.values())[:10]
assert len({s.caption for s in showcase}) == 10
showcase_inputs = small_processor(
    text=[s.caption for s in showcase],
    images=[s.image for s in showcase],
    return_tensors="pt",
    padding=True,
    truncation=True,
).to(device)
showcase_labels = [s.caption.replace("to the ", "") for s in showcase]


@torch.no_grad()
def cosine_matrix(model, inputs):
    """Cosine similarity of every image with every caption: (images, texts)."""
    model.eval()
    outputs = model(**inputs)
    return (outputs.logits_per_image / model.logit_scale.exp()).cpu()  # (N, N) cosines


similarity_before = cosine_matrix(small_clip, showcase_inputs)  # (10, 10)

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Training
#
# The loop is short: sample a batch of pairs, compute the two embeddings, apply our loss,
# step. Following CLIP, the temperature is a parameter (`logit_scale`), clamped so that
# $1/\tau \le 100$. AdamW with weight decay and a one-cycle learning-rate schedule (warm up,
# then anneal) keeps this small model stable at a high peak rate.
#
# The model is so small that each step is dozens of tiny matrix products, where PyTorch's
# threads spend more time waiting for each other than computing; on a machine whose cores are
# busy with other work, that waiting can make a step many times slower. So we train on one
# thread and restore the setting afterwards.

# %% slideshow={"slide_type": "-"}
seed_everything(profile.seed)
optimizer = torch.optim.AdamW(small_clip.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
steps_per_epoch = len(train_samples) // cfg.batch_size  # the last partial batch is dropped
total_steps = cfg.epochs * steps_per_epoch
scheduler = torch.optim.lr_scheduler.OneCycleLR(
    optimizer, max_lr=cfg.lr, total_steps=total_steps, pct_start=0.1
)
losses, scales = [], []
threads = torch.get_num_threads()
torch.set_num_threads(1)  # tiny matrices: one thread avoids synchronisation overhead
train_start = time.perf_counter()
small_clip.train()
with tqdm(total=total_steps, desc="training") as bar:
    for epoch in range(cfg.epochs):
        order = torch.randperm(len(train_samples))  # (n_train,) a new shuffle each epoch
        for step in range(steps_per_epoch):
            index = order[step * cfg.batch_size : (step + 1) * cfg.batch_size]  # (B,)
            outputs = small_clip(
                input_ids=train_inputs["input_ids"][index].to(device),  # (B, T)
                attention_mask=train_inputs["attention_mask"][index].to(device),  # (B, T)
                pixel_values=train_inputs["pixel_values"][index].to(device),  # (B, 3, H, W)
            )
            loss = clip_loss_by_hand(
                outputs.image_embeds, outputs.text_embeds, small_clip.logit_scale.exp()
            )  # ()
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            scheduler.step()
            with torch.no_grad():  # CLIP's clamp: the scale 1/τ never exceeds 100
                small_clip.logit_scale.clamp_(max=math.log(cfg.max_logit_scale))
            losses.append(loss.item())
            scales.append(small_clip.logit_scale.exp().item())
            bar.update()
            bar.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.3f}", refresh=False)
small_clip.eval()
train_seconds = time.perf_counter() - train_start
torch.set_num_threads(threads)
print(
    f"{total_steps} steps in {train_seconds:.0f} s; final loss (last 20 steps) {np.mean(losses[-20:]):.3f}"
)

# %% slideshow={"slide_type": "subslide"}
fig, (ax_loss, ax_scale) = plt.subplots(1, 2, figsize=(10, 3.2))
ax_loss.plot(losses, lw=0.6, alpha=0.5, label="per step")
window = 20
ax_loss.plot(
    range(window - 1, len(losses)),
    np.convolve(losses, np.ones(window) / window, mode="valid"),
    label=f"mean of {window} steps",
)
ax_loss.axhline(
    math.log(cfg.batch_size), color="grey", ls="--", label=f"ln {cfg.batch_size}: no signal"
)
ax_loss.set(title="contrastive loss", xlabel="step", ylabel="loss")
ax_loss.legend()
ax_scale.plot(scales)
ax_scale.set(title="learned logit scale 1/τ", xlabel="step")
for ax in (ax_loss, ax_scale):
    ax.grid(alpha=0.3)
fig.tight_layout()

# %% [markdown] slideshow={"slide_type": "subslide"}
# The same ten images and captions after training: the diagonal lights up. The brightest
# off-diagonal cells are instructive too: they usually pair an image with a caption that
# differs from its own by a single word.

# %% slideshow={"slide_type": "subslide"}
similarity_after = cosine_matrix(small_clip, showcase_inputs)  # (10, 10)
fig, axes = plt.subplots(1, 2, figsize=(15, 6))
plot_similarity(
    similarity_before,
    showcase_labels,
    showcase_labels,
    ax=axes[0],
    title="before training (cosine)",
)
plot_similarity(
    similarity_after, showcase_labels, showcase_labels, ax=axes[1], title="after training (cosine)"
)
fig.tight_layout()
diagonal_gap = (
    similarity_after.diag().mean()
    - similarity_after.masked_fill(torch.eye(10, dtype=bool), 0).sum() / 90
)
print(
    f"after training: matching pairs are {diagonal_gap:.2f} more similar than the others, on average"
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Zero-shot classification on colour×shape pairs never seen together
#
# A CLIP model becomes a classifier without any classifier training: write one caption per
# class, embed them, and give each image the class whose caption is most similar. We have 24
# classes (every colour×shape pair). Rather than one wording per class we average the text
# embeddings of several — every size and position wording of "a … {red circle} …" — which is
# CLIP's **prompt ensembling**. A single template, "a {}", is shown too: a wording the
# training captions never used (they always name a size and a place), so it also tests how
# the text tower copes with an unseen phrasing.
#
# The test images are fresh. The ones that matter show the held-out pairs: neither tower ever
# saw those colours and shapes together, so a correct answer has to come from combining what
# the model learned about each word separately. Chance is 1 in 24.


# %% slideshow={"slide_type": "-"}
@torch.no_grad()
def embed_texts(model, processor, texts):
    """Unit-length text embeddings: (len(texts), D)."""
    inputs = processor(text=list(texts), return_tensors="pt", padding=True, truncation=True)
    embeds = model.get_text_features(**inputs.to(model.device)).pooler_output  # (n, D)
    return F.normalize(embeds, dim=-1).cpu()


@torch.no_grad()
def embed_images(model, processor, images, batch_size=256):
    """Unit-length image embeddings: (len(images), D)."""
    chunks = []
    for start in range(0, len(images), batch_size):
        inputs = processor(images=list(images[start : start + batch_size]), return_tensors="pt")
        embeds = model.get_image_features(**inputs.to(model.device)).pooler_output  # (b, D)
        chunks.append(F.normalize(embeds, dim=-1).cpu())
    return torch.cat(chunks)


def class_embeddings(model, processor, templates=None):
    """One unit vector per colour×shape class, averaged over the prompt templates: (24, D)."""
    vectors = [
        embed_texts(model, processor, shapes.class_prompts(combo, templates)).mean(dim=0)
        for combo in all_combos
    ]
    return F.normalize(torch.stack(vectors), dim=-1)


def zero_shot_accuracy(samples, image_vectors, class_vectors):
    """Share of images whose most similar class caption is their own colour×shape."""
    predicted = (image_vectors @ class_vectors.T).argmax(dim=1)  # (n,)
    truth = torch.tensor([all_combos.index(s.combos[0]) for s in samples])  # (n,)
    return (predicted == truth).float().mean().item(), predicted


heldout_test = shapes.generate(
    cfg.test_images, heldout_combos, cfg.image_size, seed=profile.seed + 1
)
seen_test = shapes.generate(cfg.test_images, train_combos, cfg.image_size, seed=profile.seed + 2)
ensemble = class_embeddings(small_clip, small_processor)  # (24, D)
single = class_embeddings(small_clip, small_processor, ["a {}"])  # (24, D)
heldout_vectors = embed_images(small_clip, small_processor, [s.image for s in heldout_test])
seen_vectors = embed_images(small_clip, small_processor, [s.image for s in seen_test])

chance = shapes.chance_accuracy(len(all_combos))
heldout_accuracy, heldout_predicted = zero_shot_accuracy(heldout_test, heldout_vectors, ensemble)
seen_accuracy, _ = zero_shot_accuracy(seen_test, seen_vectors, ensemble)
heldout_single, _ = zero_shot_accuracy(heldout_test, heldout_vectors, single)
print(f"chance (1 of {len(all_combos)} classes):                 {chance:.1%}")
print(f"held-out pairs, prompt ensemble:            {heldout_accuracy:.1%}")
print(f"held-out pairs, single template 'a {{}}':     {heldout_single:.1%}")
print(f"pairs seen in training, prompt ensemble:    {seen_accuracy:.1%}")
assert heldout_accuracy > 3 * chance, "zero-shot accuracy on held-out pairs should beat chance"

# %% [markdown] slideshow={"slide_type": "subslide"}
# Which part goes wrong when it does — the colour or the shape? (The grid shows some of the
# mistakes first, then correct answers.)

# %% slideshow={"slide_type": "subslide"}
predicted_combos = [all_combos[i] for i in heldout_predicted]
colour_right = np.mean(
    [p[0] == s.combos[0][0] for p, s in zip(predicted_combos, heldout_test, strict=True)]
)
shape_right = np.mean(
    [p[1] == s.combos[0][1] for p, s in zip(predicted_combos, heldout_test, strict=True)]
)
print(f"held-out images: colour right {colour_right:.1%}, shape right {shape_right:.1%}")
wrong = [
    i
    for i, (s, p) in enumerate(zip(heldout_test, predicted_combos, strict=True))
    if s.combos[0] != p
]
right = [i for i in range(len(heldout_test)) if i not in set(wrong)]
shown = wrong[:4] + right[: 8 - len(wrong[:4])]  # some mistakes first, then successes
fig = image_grid(
    [heldout_test[i].image for i in shown],
    [
        f"true: {' '.join(heldout_test[i].combos[0])}\nsaid: {' '.join(predicted_combos[i])}"
        for i in shown
    ],
    ncols=8,
    cell_size=1.6,
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# The model is saved the Hugging Face way — `save_pretrained` writes the weights as
# safetensors and the config as JSON; the processor writes the image settings and the
# tokenizer — into `runs/07_clip_image_text/`, where part 3 can load it like any checkpoint.

# %% slideshow={"slide_type": "-"}
save_dir = run_dir("07_clip_image_text")
small_clip.save_pretrained(save_dir)
small_processor.save_pretrained(save_dir)
print(sorted(path.name for path in save_dir.iterdir()))

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3 · The pretrained CLIP, the article's way
#
# The article loads `openai/clip-vit-base-patch32`: a ViT-B/32 image tower and a 12-layer text
# tower, trained on 400 million image–caption pairs from the web. It is the profile's `clip`
# checkpoint. When it cannot be loaded (no network and not in the hub cache, as on the
# course's CI machine) the cell below points the *same code* at the model we just saved.
# Nothing else in this section changes.

# %% slideshow={"slide_type": "-"}
if checkpoint_available(profile.clip):
    checkpoint = profile.clip
    print(f"Using the pretrained CLIP {checkpoint!r}.")
else:
    checkpoint = str(save_dir)
    print(missing_checkpoint_message(profile.clip))
    print(
        f"\n>>> FALLBACK: this section runs on the small CLIP trained in part 2, reloaded from "
        f"{checkpoint}.\n>>> It has seen only coloured shapes, so on photos expect chance-level "
        f"answers: the numbers below test the code path, not CLIP. The pretrained model's "
        f"zero-shot result on these photos has not been measured here."
    )
using_pretrained = checkpoint == profile.clip

processor = CLIPProcessor.from_pretrained(checkpoint)
model = CLIPModel.from_pretrained(checkpoint).to(device)
model.eval()
print(type(model).__name__, f"{count_parameters(model):,} parameters")
if not using_pretrained:  # the reloaded checkpoint must be exactly the model we trained
    probe = ["a small red circle on the left"]
    torch.testing.assert_close(
        embed_texts(model, processor, probe), embed_texts(small_clip, small_processor, probe)
    )

# %% [markdown] slideshow={"slide_type": "subslide"}
# The photos ship with scikit-image and matplotlib, so nothing is downloaded: Chelsea the cat,
# the astronaut Eileen Collins, a cup of coffee, a rocket launch, the classic "cameraman"
# (greyscale, so we convert it to RGB — CLIP expects three channels) and Grace Hopper in
# uniform. The article's snippet, now runnable — with `from PIL import Image`, which it left
# out:

# %% slideshow={"slide_type": "-"}
from matplotlib import cbook
from PIL import Image
from skimage import data as skdata

with cbook.get_sample_data("grace_hopper.jpg") as handle:
    hopper = Image.open(handle).convert("RGB")
photos = {
    "a cat": Image.fromarray(skdata.chelsea()),
    "an astronaut": Image.fromarray(skdata.astronaut()),
    "a cup of coffee": Image.fromarray(skdata.coffee()),
    "a rocket": Image.fromarray(skdata.rocket()),
    "a man with a camera": Image.fromarray(skdata.camera()).convert("RGB"),  # greyscale → RGB
    "a woman in a navy uniform": hopper,
}
class_names = list(photos)
images = list(photos.values())

inputs = processor(
    text=["a photo of a cat"],
    images=[photos["a cat"]],
    return_tensors="pt",
    padding=True,
    truncation=True,  # cut at the model's maximum length (77 for CLIP); transformers 5 warns without it
).to(device)
with torch.no_grad():
    outputs = model(**inputs)
logits_per_image = outputs.logits_per_image  # (1 image, 1 caption): scaled cosine similarity
print("logits_per_image:", logits_per_image)
print("softmax over one caption:", logits_per_image.softmax(dim=1))  # always 1: nothing to compare

# %% [markdown] slideshow={"slide_type": "subslide"}
# One score means little on its own; CLIP answers questions by *comparison*. Zero-shot
# classification gives it one caption per class and takes the softmax over them. The wording
# matters: CLIP's training captions rarely were a bare noun, so a **prompt template** like
# "a photo of {}" usually helps (the class names carry their own article, so we never write
# "a astronaut").

# %% slideshow={"slide_type": "-"}
templates = ["{}", "a photo of {}", "a blurry photo of {}", "a close-up photo of {}"]


@torch.no_grad()
def classify(images, class_names, template):
    """The article's call with one caption per class: probabilities (images, classes)."""
    prompts = [template.format(name) for name in class_names]
    inputs = processor(
        text=prompts, images=images, return_tensors="pt", padding=True, truncation=True
    ).to(device)
    outputs = model(**inputs)
    probs = outputs.logits_per_image.softmax(dim=1)  # (images, classes)
    return probs.cpu(), outputs.logits_per_text.cpu()  # and (classes, images)


for template in templates:
    probs, _ = classify(images, class_names, template)
    accuracy = (probs.argmax(dim=1) == torch.arange(len(images))).float().mean().item()
    print(f"{template!r:28} accuracy {accuracy:.0%} (chance {1 / len(class_names):.0%})")

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Image → text**: each photo with its three most probable captions under the template
# "a photo of {}".

# %% slideshow={"slide_type": "subslide"}
template = "a photo of {}"
prompts = [template.format(name) for name in class_names]
probs, logits_per_text = classify(images, class_names, template)
fig = image_grid(
    images, [top_captions(row, prompts, k=3) for row in probs], ncols=3, cell_size=3.0, fontsize=8
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Text → image**: the same logits read the other way (`logits_per_text`, one row per
# caption), softmaxed over the photos — search a photo collection by description.

# %% slideshow={"slide_type": "subslide"}
text_to_image = logits_per_text.softmax(dim=1)  # (captions, images)
fig = retrieval_grid(prompts, images, text_to_image, k=3)

# %% [markdown] slideshow={"slide_type": "subslide"}
# The same function also classifies our shapes: here the held-out test images against the 24
# colour×shape classes, with and without a template. On the small model this is part 2's
# zero-shot test through the article's code path; the pretrained CLIP, which never trained on
# our drawings, would be taking a genuine zero-shot test.

# %% slideshow={"slide_type": "-"}
shape_names = [f"a {colour} {shape}" for colour, shape in all_combos]
shape_images = [s.image for s in heldout_test[:120]]
shape_truth = torch.tensor([all_combos.index(s.combos[0]) for s in heldout_test[:120]])
for template in ("{}", "a photo of {}"):
    probs, _ = classify(shape_images, shape_names, template)
    accuracy = (probs.argmax(dim=1) == shape_truth).float().mean().item()
    print(f"held-out shapes, {template!r:16} accuracy {accuracy:.1%} (chance {chance:.1%})")
print("model:", "pretrained CLIP" if using_pretrained else "the small CLIP from part 2 (fallback)")

# %% [markdown] slideshow={"slide_type": "slide"}
# **The `full` figure.** With the pretrained `openai/clip-vit-base-patch32`, the zero-shot
# accuracy on these six photos has **not been measured yet**: the machine this release was
# built on has no network access and no copy of the checkpoint. To measure it, run this
# notebook where the hub is reachable (or with `HF_HUB_CACHE` pointing at a cache that holds the
# checkpoint; `python -m nlpcourse download` prepares one), e.g. with `NLPCOURSE_PROFILE=full`
# on a GPU; the cells above then print the pretrained model's numbers.
#
# ## 4 · Where CLIP fails: word order and spatial relations
#
# The contrastive loss only teaches what the negatives in a batch force the model to tell
# apart. Take the two-shape images from part 2 and three false captions for each:
#
# * **another object** — one colour replaced by a colour not in the picture
#   ("a green circle to the left of a blue square" for a red circle and a blue square);
# * **relation swapped** — "left" and "right" exchanged;
# * **colours swapped** — the two colours trade places ("a blue circle to the left of a red
#   square").
#
# The last two contain *exactly the words* of a true caption of some image with the same two
# objects; only word order and the relation say which. A model that treats a caption as a
# bag of words cannot do better than a coin flip (50%) on them. We score how often the true
# caption beats each false one.


# %% slideshow={"slide_type": "-"}
def swap_colours(caption):
    """Exchange the two colour words of a pair caption: same words, wrong binding."""
    words = caption.split()  # "a red circle to the left of a blue square"
    words[1], words[8] = words[8], words[1]
    return " ".join(words)


def other_object(sample, caption, rng):
    """Replace the first colour with one that is not in the image."""
    absent = [c for c in shapes.COLOURS if c not in {s.colour for s in sample.shapes}]
    words = caption.split()
    words[1] = absent[rng.integers(len(absent))]
    return " ".join(words)


rng = np.random.default_rng(profile.seed)
pairs = shapes.generate(
    cfg.test_images, train_combos, cfg.image_size, seed=profile.seed + 3, pair_fraction=1.0
)
true_captions = [s.caption for s in pairs]
negatives = {
    "another object": [other_object(s, c, rng) for s, c in zip(pairs, true_captions, strict=True)],
    "relation swapped": [shapes.swap_relation(c) for c in true_captions],
    "colours swapped": [swap_colours(c) for c in true_captions],
}
pair_vectors = embed_images(small_clip, small_processor, [s.image for s in pairs])  # (n, D)
true_scores = (pair_vectors * embed_texts(small_clip, small_processor, true_captions)).sum(
    -1
)  # (n,)
print(f"{len(pairs)} two-shape images; chance = 50%")
for name, captions in negatives.items():
    false_scores = (pair_vectors * embed_texts(small_clip, small_processor, captions)).sum(
        -1
    )  # (n,)
    print(f"true caption beats '{name}': {(true_scores > false_scores).float().mean():.1%}")

# %% slideshow={"slide_type": "subslide"}
captions = []
for i in range(4):
    options = [true_captions[i]] + [negatives[name][i] for name in negatives]
    scores = embed_texts(small_clip, small_processor, options) @ pair_vectors[i]  # (4,)
    shown = ["(true) " + options[0], *options[1:]]
    captions.append(
        top_captions(scores, [o.replace(" to the", "\n      to the") for o in shown], k=4)
    )
fig = image_grid([pairs[i].image for i in range(4)], captions, ncols=4, cell_size=3.2, fontsize=7)

# %% [markdown] slideshow={"slide_type": "subslide"}
# The model tells which objects are in a picture far better than how they are arranged. The
# batches explain it: a caption that differs from the truth only in word order almost never
# lands in the same batch, so getting order right barely lowers the loss. The same weakness
# has been measured in the real CLIP — on Winoground (Thrush et al., 2022) and on the ARO
# benchmark, where Yuksekgonul et al. (2023) found CLIP-style models behave much like bags of
# words — and their remedy, NegCLIP, adds exactly such hard negatives (swapped-word captions)
# to each batch. Counting objects and reading text in images are other well-known weak spots.

# %% slideshow={"slide_type": "skip"}
print(
    f"notebook ran in {time.perf_counter() - notebook_start:.0f} s (training {train_seconds:.0f} s)"
)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
#
# **1.** A batch of `cfg.batch_size` pairs whose logits are all equal (the encoders carry no
# signal yet). What is the CLIP loss? Compute it — don't copy it from above.

# %% slideshow={"slide_type": "skip"}
from nlpcourse.exercises.ch07 import check_random_loss, check_shape_swap, check_temperature

random_loss = None  # your answer: a number
check_random_loss(random_loss)

# %% jupyter={"source_hidden": true} tags=["solution"] slideshow={"slide_type": "skip"}
random_loss = contrastive.clip_loss_from_logits(torch.zeros(cfg.batch_size, cfg.batch_size)).item()
assert check_random_loss(random_loss)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **2.** The images and captions of a batch of `cfg.batch_size` pairs are perfectly aligned
# (each image vector equals its caption's) and the pairs are mutually orthogonal. Which
# temperature $\tau$ brings the loss down to exactly 0.1? (What is the loss at $\tau = 1$?)

# %% slideshow={"slide_type": "-"}
temperature = None  # your answer: a positive number
check_temperature(temperature)

# %% jupyter={"source_hidden": true} tags=["solution"] slideshow={"slide_type": "skip"}
# log(1 + (N - 1) e^(-1/τ)) = 0.1  ⇔  e^(-1/τ) = (e^0.1 - 1) / (N - 1)
temperature = 1 / math.log((cfg.batch_size - 1) / math.expm1(0.1))
aligned = torch.eye(cfg.batch_size, cfg.batch_size)
print(contrastive.clip_loss(aligned, aligned, temperature=temperature).item())
assert check_temperature(temperature)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **3.** NegCLIP's hard negatives, another kind: write `swap_shapes(caption)` that exchanges
# the two *shape* words of a pair caption ("a red circle to the left of a blue square" →
# "a red square to the left of a blue circle"). Then, as a bonus, score the small CLIP on
# these negatives like the three kinds in part 4.

# %% slideshow={"slide_type": "-"}
swap_shapes = None  # your answer: a function str -> str
check_shape_swap(swap_shapes)


# %% jupyter={"source_hidden": true} tags=["solution"] slideshow={"slide_type": "skip"}
def swap_shapes(caption):
    """Exchange the two shape words of a pair caption."""
    words = caption.split()
    words[2], words[9] = words[9], words[2]
    return " ".join(words)


assert check_shape_swap(swap_shapes)
false_scores = (
    pair_vectors * embed_texts(small_clip, small_processor, [swap_shapes(c) for c in true_captions])
).sum(-1)
print(f"true caption beats 'shapes swapped': {(true_scores > false_scores).float().mean():.1%}")
