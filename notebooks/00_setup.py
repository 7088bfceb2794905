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
# # 00 · Setting up: what this course is and whether your machine is ready
#
# This course follows one article, *从基础到高阶:Python NLP深度学习实战指南* ("From basics to
# advanced: a practical guide to NLP deep learning in Python"), section by section, from a
# Keras BiLSTM to BERT fine-tuning and CLIP. Every snippet of the article appears, rewritten so
# that it runs on today's libraries; where the article is out of date or wrong, the notebook
# says what changed and why.
#
# Each notebook imports small helpers from the `nlpcourse` package (installed with
# `pip install -e .`). The package does the plumbing; the code that *is* the lesson — attention,
# a training loop, a contrastive loss — is written out in the notebook, and a test checks that
# the package's version agrees with it.
#
# | notebook | article | what you will build |
# |---|---|---|
# | `00_setup` | §1 | this check |
# | `01_keras_bilstm` | §2.1 | the article's Keras BiLSTM, then the same network in PyTorch with a Keras-style `fit()` |
# | `02_text_pipeline` | §2.1 | what torchtext did, the modern way: `datasets`, tokenizers, vocabularies, padding, bucketing, packing |
# | `03_transformers_quickstart` | §2.2 | tokenizers up close, the article's BERT forward pass, saving and loading |
# | `04_attention_from_scratch` | §3.1 | scaled dot-product and multi-head attention by hand, checked against PyTorch and a real BERT |
# | `05_finetuning_strategies` | §3.2 | `[CLS]` vs mean pooling, task heads, differential learning rates, warmup, freezing |
# | `06_ag_news_classifier` | §4 | the article's AG News case study end to end, with accumulation and mixed precision done right |
# | `07_clip_image_text` | §3.3 | contrastive image–text learning by hand, then the pretrained CLIP |
# | `08_efficient_and_future` | §5 | ALBERT, distillation, zero/few-shot, bias — each claim measured |

# %%
import nlpcourse
from nlpcourse.config import PROFILES, get_device, get_profile, seed_everything

seed_everything(42)
profile = get_profile()
print(f"nlpcourse {nlpcourse.__version__}, profile {profile.name!r}, device {get_device()}")

# %% [markdown]
# ## Profiles: one variable picks every size
#
# A *profile* names every size a notebook uses (how many rows, epochs, sequence length, batch
# size) and every checkpoint it loads. There are two:
#
# * `quick` (the default) — a CPU laptop and CI: small but real pretrained checkpoints
#   (`sentence-transformers/all-MiniLM-L6-v2`, a 6-layer BERT, plays BERT's role), subsets of
#   the data, a few minutes per notebook on two cores.
# * `full` — the article's own setup, for a GPU: `bert-base-uncased`,
#   `openai/clip-vit-base-patch32`, the full datasets and the article's epochs.
#
# Switch before starting Jupyter: `NLPCOURSE_PROFILE=full make lab` (Windows PowerShell:
# `$env:NLPCOURSE_PROFILE="full"; jupyter lab`). The notebooks read `get_profile()` and never
# branch on the profile's name, so the same cells run in both.

# %%
for name, candidate in PROFILES.items():
    print(f"{name:>5}: BERT role = {candidate.bert:<40} {candidate.description}")

# %% keep_output=true
# NBVAL_CHECK_OUTPUT
quick = get_profile("quick")
print(quick.bert, quick.bilstm.vocab_size, quick.agnews.test_size)

# %% [markdown]
# An unknown profile name is an error that lists the valid ones:

# %%
try:
    get_profile("turbo")
except ValueError as error:
    print(error)

# %% [markdown]
# ## Is everything reachable?
#
# `nlpcourse doctor` (also `python -m nlpcourse doctor` in a terminal) prints your library
# versions and device, then looks for every dataset and checkpoint the profile needs: in the
# folder named by `NLPCOURSE_DATA_DIR`, in the Hugging Face hub cache, and on the hub itself
# (or the mirror named by `HF_ENDPOINT`). For anything missing it prints the fix.
#
# The course runs in three situations through one code path:
#
# 1. **online** — datasets and checkpoints come from the hub (set `HF_ENDPOINT` to a mirror,
#    e.g. `https://hf-mirror.com`, if the hub itself is blocked where you are);
# 2. **from a prepared mirror** — an instructor runs `python -m nlpcourse download --to DIR`
#    on a connected machine, copies `DIR` to the classroom, and students set
#    `NLPCOURSE_DATA_DIR=DIR/data HF_HUB_CACHE=DIR/hf-cache/hub HF_HUB_OFFLINE=1`;
# 3. **fully offline** with the small real assets of the `quick` profile, laid out the same way.

# %%
from nlpcourse.cli import doctor

status = doctor()
assert status == 0, "Something the profile needs is missing: apply the fix printed above."

# %% [markdown]
# ## What each notebook costs
#
# Wall time of each notebook executed top to bottom under `make test` in the `quick` profile,
# measured on the course's CI machine (2 CPU cores, no GPU). `make test` prints this table
# again after every run, so you can compare with your own machine.
#
# | notebook | quick, 2 CPU cores | budget |
# |---|---:|---:|
# | 00 setup | 5 s | — |
# | 01 Keras BiLSTM | 88 s | 3 min |
# | 02 text pipeline | 75 s | 3 min |
# | 03 Transformers quickstart | 40 s | 3 min |
# | 04 attention from scratch | 73 s | 3 min |
# | 05 fine-tuning strategies | 150 s | 4 min |
# | 06 AG News classifier | 167 s | 4 min |
# | 07 CLIP | 58 s | 4 min |
# | 08 efficient models and what comes next | 149 s | 5 min |
# | all nine | 13.4 min | |
#
# (Measured on 2026-11-25 with `make test`, Python 3.11, torch 2.13.0 CPU build, on a 2-core
# x86-64 machine with AVX2 and no GPU. A laptop with more cores is usually faster; the first
# run of a notebook also pays for loading libraries and checkpoints into the disk cache.)
#
# The `full` profile needs a GPU; it has not yet been run for this release, so no GPU times are
# given here (a notebook states a `full` figure only when a real run produced it).

# %% [markdown]
# ## How the notebooks are built
#
# * Seeded: `seed_everything(42)` at the top of each notebook seeds Python, NumPy and PyTorch,
#   so "Restart & Run All" reproduces the numbers.
# * Trained models are saved as safetensors under `runs/<notebook>/` (ignored by git) and
#   reloaded from there.
# * Each notebook ends with exercises. Every exercise has a `check_…` function that tells you
#   whether your answer is right; the solution sits in a collapsed cell below it (click the
#   bar on its left to reveal it).

# %% [markdown]
# ## Exercises
#
# **1.** Which checkpoint plays BERT's role in the `full` profile? Read it from the profile
# object, don't type it.

# %%
from nlpcourse.exercises.ch00 import check_full_bert, check_quick_agnews_rows

full_bert = None  # your answer
check_full_bert(full_bert)

# %% jupyter={"source_hidden": true} tags=["solution"]
full_bert = get_profile("full").bert
assert check_full_bert(full_bert)

# %% [markdown]
# **2.** In the `quick` profile, notebook 06 splits AG News's 7,600-row test split with the
# article's `train_test_split(..., test_size=0.2)`. How many rows does it train on, and how
# many does it hold out?

# %%
train_rows, heldout_rows = None, None  # your answer
check_quick_agnews_rows(train_rows, heldout_rows)

# %% jupyter={"source_hidden": true} tags=["solution"]
heldout_rows = round(7_600 * get_profile("quick").agnews.test_size)
train_rows = 7_600 - heldout_rows
assert check_quick_agnews_rows(train_rows, heldout_rows)
