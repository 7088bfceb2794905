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
# # 00 · Setting up: what this course is and whether your machine is ready
#
# This course follows one article, *从基础到高阶:Python NLP深度学习实战指南* ("From basics to
# advanced: a practical guide to NLP deep learning in Python"), section by section, from a
# Keras BiLSTM to BERT fine-tuning and CLIP. Every snippet of the article appears, rewritten so
# that it runs on today's libraries; where the article is out of date or wrong, the notebook
# says what changed and why.

# %% [markdown] slideshow={"slide_type": "subslide"}
# ## What the article's first section claims
#
# Its introduction makes one historical claim and one practical one. Historically, language
# processing used to be built from hand-written rules and from statistics over counted words
# and n-grams; networks trained end to end, from raw text to the answer, have since taken over
# tasks such as classification, translation and sentiment analysis. Practically, Python is
# where that work happens, thanks to TensorFlow, PyTorch and Hugging Face Transformers.
#
# The course does not take the first claim on trust: notebook 01 trains a statistical
# baseline (TF-IDF features and logistic regression) beside the article's neural network on
# the same data and reports both with their uncertainty.

# %% [markdown] slideshow={"slide_type": "subslide"}
# ## The course map
#
# | notebook | article | what you will build |
# |---|---|---|
# | `00_setup` | §1 | this check: profile, device, data, what each notebook costs |
# | `01_keras_bilstm` | §2.1 | the LSTM cell, the article's Keras BiLSTM, its PyTorch twin trained by a hand-written loop and by `fit()`, against a TF-IDF baseline |
# | `02_text_pipeline` | §2.1 | what torchtext did, the modern way: `datasets`, tokenizers, vocabularies, padding, bucketing, packing |
# | `03_transformers_quickstart` | §2.2 | tokenizers up close, the article's BERT forward pass, `Auto…` classes, saving and loading |
# | `04_attention_from_scratch` | §3.1 | scaled dot-product and multi-head attention by hand, an encoder block, a small Transformer |
# | `05_finetuning_strategies` | §3.2 | `[CLS]` vs mean pooling, task heads, differential learning rates, warmup, freezing |
# | `06_ag_news_classifier` | §4 | the article's AG News case study end to end, with accumulation and mixed precision done right |
# | `07_clip_image_text` | §3.3 | contrastive image–text learning by hand, then the pretrained CLIP |
# | `08_efficient_and_future` | §5 | ALBERT, distillation, zero/few-shot, bias — each claim measured |
# | `09_zero_shot_prompting_bias` | §5 | zero-/few-shot (probe, fine-tuning, SetFit), GPT-3-style prompting, bias tests — each claim measured |
# | `10_scaling_out` | §4, beyond | data parallelism, the `Trainer` and Accelerate against the hand-written loop |
#
# Each notebook imports small helpers from the `nlpcourse` package (installed with
# `pip install -e .`). The package does the plumbing; the code that *is* the lesson — a
# training loop, attention, a contrastive loss — is written out in the notebook, then checked
# against the package's tested version with one `assert`.

# %% slideshow={"slide_type": "skip"}
import torch

import nlpcourse
from nlpcourse.config import PROFILES, get_device, get_profile, seed_everything
from nlpcourse.notebook_times import (
    format_notebook_times,
    measured_times_path,
    read_notebook_times,
)

seed_everything(42)
profile = get_profile()
print(f"nlpcourse {nlpcourse.__version__}, profile {profile.name!r}, torch {torch.__version__}")

# %% [markdown] slideshow={"slide_type": "slide"}
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

# %% slideshow={"slide_type": "-"}
for name, candidate in PROFILES.items():
    print(f"{name:>5}: BERT role = {candidate.bert:<40} {candidate.description}")

# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
quick = get_profile("quick")
print(quick.bert, quick.bilstm.vocab_size, quick.agnews.test_size)

# %% [markdown] slideshow={"slide_type": "fragment"}
# An unknown profile name is an error that lists the valid ones:

# %% slideshow={"slide_type": "-"}
try:
    get_profile("turbo")
except ValueError as error:
    print(error)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Does the device really compute?
#
# `get_device()` picks a CUDA GPU, else Apple's MPS, else the CPU. Finding a device is not
# the same as using it (a driver can be present and broken), so multiply two random matrices
# on the chosen device, bring the product back, and compare it with the CPU's. On a GPU the
# two differ in the last digits (different summation order, TF32 on recent cards), hence a
# tolerance; on a machine without a GPU the device *is* the CPU and the check is trivially
# exact.

# %% slideshow={"slide_type": "-"}
device = get_device()
generator = torch.Generator().manual_seed(0)
a = torch.randn(256, 128, generator=generator)  # (256, 128), made on the CPU
b = torch.randn(128, 64, generator=generator)  # (128, 64)
on_device = (a.to(device) @ b.to(device)).cpu()  # (256, 64): computed on `device`, copied back
on_cpu = a @ b  # (256, 64)
torch.testing.assert_close(on_device, on_cpu, atol=1e-3, rtol=1e-3)
difference = (on_device - on_cpu).abs().max().item()
print(f"device {device}: a (256×128) @ b (128×64) agrees with the CPU, max |Δ| = {difference:.1e}")

# %% [markdown] slideshow={"slide_type": "slide"}
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

# %% slideshow={"slide_type": "-"}
from nlpcourse.cli import doctor

status = doctor()
assert status == 0, "Something the profile needs is missing: apply the fix printed above."

# %% [markdown] slideshow={"slide_type": "slide"}
# ## What each notebook costs
#
# Every test run of the notebooks (`make test`, or `pytest --nbval-lax notebooks/`) adds up
# each notebook's cell times and writes them to `build/notebook_times.csv`, with the date and a
# one-line description of the machine. The course commits one such file, from a `quick` run,
# as `data/notebook_times.csv`; the table below is read from it, next to each notebook's
# budget (4 minutes in `quick` on two CPU cores). Run the tests on your machine and compare
# with your own `build/notebook_times.csv`.

# %% slideshow={"slide_type": "-"}
times_file = measured_times_path()
measured = read_notebook_times(times_file)
if measured is None:
    print(f"No measured run yet: {times_file.name} is missing (run `make test` to make one).")
else:
    print(format_notebook_times(measured))
    runs = sorted({(row.date, row.machine) for row in measured})
    for date, machine in runs:
        print(f"\nmeasured on {date} under nbval in the quick profile, on {machine}")

# %% [markdown] slideshow={"slide_type": "notes"}
# The file holds whatever the last committed measured run found; if a row says `NO` under
# "within", that notebook is over its budget on that machine. A laptop with more cores is
# usually faster; the first run of a notebook also pays for loading libraries and checkpoints
# from disk. No `full`-profile (GPU) times are given: a notebook states a `full` figure only
# when a real run produced it.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## How the notebooks are built
#
# * Seeded: `seed_everything(42)` at the top of each notebook seeds Python, NumPy and PyTorch,
#   so "Restart & Run All" reproduces the numbers.
# * Every experiment has three parts: train on the training part, make every choice on the
#   validation part, and score the test part once at the end. Comparisons come with their
#   uncertainty (several seeds, or a bootstrap interval).
# * Trained models are saved as safetensors under `runs/<notebook>/` (ignored by git) and
#   reloaded from there.
# * Each notebook ends with exercises. At least one asks you to write code that a `check_…`
#   function runs; the solution sits in a collapsed cell below it (click the bar on its left
#   to reveal it).

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
#
# **1.** Write `matmul_on(a, b, device)`: it multiplies two CPU matrices on `device` and
# returns the product on the CPU. The check runs it on the CPU and on `get_device()`, with
# matrices of several shapes, and compares with `a @ b`.

# %% slideshow={"slide_type": "-"}
from nlpcourse.exercises.ch00 import check_matmul_on, check_quick_agnews_rows

matmul_on = None  # your function
check_matmul_on(matmul_on)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"]
def matmul_on(a, b, device):
    return (a.to(device) @ b.to(device)).cpu()


assert check_matmul_on(matmul_on)
print("solution 1 passes")

# %% [markdown] slideshow={"slide_type": "subslide"}
# **2.** In the `quick` profile, notebook 06 splits AG News's 7,600-row test split with the
# article's `train_test_split(..., test_size=...)`, the fraction read from
# `get_profile("quick").agnews.test_size`. How many rows does it train on, and how many does it
# hold out? Compute them from the profile rather than typing them.

# %% slideshow={"slide_type": "-"}
train_rows, heldout_rows = None, None  # your answer
check_quick_agnews_rows(train_rows, heldout_rows)

# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"]
heldout_rows = round(7_600 * get_profile("quick").agnews.test_size)
train_rows = 7_600 - heldout_rows
assert check_quick_agnews_rows(train_rows, heldout_rows)
print("solution 2 passes")
