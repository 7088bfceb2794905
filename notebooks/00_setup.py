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
# ## Run it in the cloud
#
# No Python on your machine, or no GPU? Open this notebook on a hosted service (Google Colab,
# Kaggle or a ModelScope notebook) and run the next cell first. It recognises the service by a
# variable the service sets in the environment (`COLAB_RELEASE_TAG`, `KAGGLE_KERNEL_RUN_TYPE`,
# `MODELSCOPE_ENVIRONMENT`), fetches the course with `git` from the URL in `NLPCOURSE_SOURCE`
# (set it first, e.g. `%env NLPCOURSE_SOURCE=https://…/nlpcourse.git`; on Kaggle, turn the
# notebook's internet access on), then runs the course's `nlpcourse/cloud.py`: it installs the
# pinned libraries, torch first as `make lab` does, and the course, then runs
# `nlpcourse doctor`. On your own machine the cell does nothing.
#
# Why is this logic written in the cell instead of imported? On a fresh hosted notebook the
# course is not installed yet, so there is nothing to import. The cell is therefore short
# standard-library code, and once the course can be imported it asserts that its detection
# equals the package's tested twin, `nlpcourse.cloud.hosted_platform`.

# %% slideshow={"slide_type": "-"}
import os
import subprocess
import sys
from pathlib import Path

HOSTS = {  # a variable each hosted notebook service sets, and the service's name
    "COLAB_RELEASE_TAG": "Google Colab",
    "KAGGLE_KERNEL_RUN_TYPE": "Kaggle",
    "MODELSCOPE_ENVIRONMENT": "ModelScope",
}
host = next((name for variable, name in HOSTS.items() if os.environ.get(variable)), None)
if host is None:
    print("Not on a hosted notebook: nothing to install.")
else:  # fetch the course with git; nlpcourse/cloud.py installs it and runs the doctor
    source = os.environ.get("NLPCOURSE_SOURCE") or sys.exit("Set NLPCOURSE_SOURCE to the git URL")
    checkout = Path(source) if Path(source).is_dir() else Path("nlpcourse-course").resolve()
    if not checkout.exists():
        subprocess.run(["git", "clone", "--depth=1", source, str(checkout)], check=True)
    subprocess.run([sys.executable, str(checkout / "nlpcourse" / "cloud.py")], check=True)
    sys.path.insert(0, str(checkout))  # this kernel imports the course without a restart

from nlpcourse.cloud import HOSTS as TESTED_HOSTS
from nlpcourse.cloud import hosted_platform

assert (HOSTS, host) == (TESTED_HOSTS, hosted_platform())

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
# | `08_efficient_models` | §5 | ALBERT, distillation where labels are few, int8 — each claim measured |
# | `09_zero_shot_prompting_bias` | §5 | zero/few-shot (probe, fine-tuning, SetFit), prompting, bias — each claim measured |
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
# size) and every checkpoint it loads. Two of them are for working through the course:
#
# * `quick` (the default) — a CPU laptop and CI: small but real pretrained checkpoints
#   (`sentence-transformers/all-MiniLM-L6-v2`, a 6-layer BERT, plays BERT's role), subsets of
#   the data, a few minutes per notebook on two cores.
# * `full` — the article's own setup, for a GPU: `bert-base-uncased`,
#   `openai/clip-vit-base-patch32`, the full datasets and the article's epochs.
#
# A third, `standard`, keeps `quick`'s checkpoints and sizes but runs some experiments larger:
# it is for the recorded runs (`python -m nlpcourse record NN`, see the README).
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
# budget (5 minutes in `quick` on two CPU cores). Run the tests on your machine and compare
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
# * Each notebook ends with exercises. At least two ask you to write code that a `check_…`
#   function runs and verifies; until you answer, the check prints nothing. The solution sits
#   in a collapsed cell below it (click the bar on its left to reveal it).

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
#
# **1.** A batch from the course's loaders is rarely one tensor: it is a tuple `(ids, lengths,
# labels)`, or a dict of tensors from a Hugging Face tokenizer, sometimes with plain values
# (names, counts) beside them. Write `to_device(batch, device)`: it returns the same structure
# (dicts stay dicts with the same keys, lists stay lists, tuples stay tuples) with every tensor
# moved to `device` and everything else left as it is, at any depth. The check runs it on a
# nested batch with the CPU, `get_device()` and PyTorch's `"meta"` device (which every
# installation has, so the move shows even without a GPU).

# %% slideshow={"slide_type": "-"}
from nlpcourse.exercises.ch00 import check_split_sizes, check_to_device

to_device = None  # your function
check_to_device(to_device)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"]
def to_device(batch, device):
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, dict):
        return {key: to_device(value, device) for key, value in batch.items()}
    if isinstance(batch, list | tuple):
        return type(batch)(to_device(value, device) for value in batch)
    return batch


assert check_to_device(to_device)
print("solution 1 passes")

# %% [markdown] slideshow={"slide_type": "subslide"}
# **2.** Every experiment in the course has three parts. Notebook 06 makes them from AG News in
# two cuts with scikit-learn's `train_test_split`: first the **test** part, a fraction
# `test_size` of all rows; then the **validation** part, a fraction `val_size` of what remains;
# the rest is for **training**, of which at most `train_rows` rows are used (`None`: all).
# `train_test_split` rounds the side it cuts off *up* to a whole row. Write
# `split_sizes(n_rows, test_size, val_size, train_rows=None)` returning `(train, validation,
# test)` row counts; the check compares it with `train_test_split` on several sizes. Then use
# it to print the three parts notebook 06 trains, chooses and scores on in the `quick`
# profile: its rows are the 7,600 of AG News's official test split, and its fractions and
# `train_rows` are in `get_profile("quick").agnews`.

# %% slideshow={"slide_type": "-"}
split_sizes = None  # your function
check_split_sizes(split_sizes)

# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"]
import math


def split_sizes(n_rows, test_size, val_size, train_rows=None):
    test = math.ceil(n_rows * test_size)
    validation = math.ceil((n_rows - test) * val_size)
    train = n_rows - test - validation
    return (train if train_rows is None else min(train, train_rows)), validation, test


assert check_split_sizes(split_sizes)
agnews = get_profile("quick").agnews
parts = split_sizes(7_600, agnews.test_size, agnews.val_size, agnews.train_rows)
assert parts == (2_400, 1_216, 1_520)
print("solution 2 passes")
