"""Profiles (sizes and checkpoint ids), device choice, seeding and DataLoader defaults.

One environment variable, ``NLPCOURSE_PROFILE``, picks a profile. A notebook reads every size
and checkpoint id from the profile object and has no other branch on the profile name.
"""

from __future__ import annotations

import os
import platform
import random
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from nlpcourse.errors import ProfileError

PROFILE_ENV = "NLPCOURSE_PROFILE"
DEFAULT_PROFILE = "quick"


@dataclass(frozen=True)
class BiLSTMConfig:
    """Sizes for notebooks 01-02 (SST-2 with a BiLSTM)."""

    train_size: int | None  # rows of the SST-2 train split used (None = all 67,349)
    vocab_size: int = 10_000  # the article's Embedding(10000, 64)
    embed_dim: int = 64
    hidden_size: int = 64
    max_len: int = 64  # fixed-length padding for the Keras model
    batch_size: int = 64
    epochs: int = 2
    keras_epochs: int = 1
    lr: float = 3e-3


@dataclass(frozen=True)
class AttentionConfig:
    """Sizes for notebook 04 (attention by hand and a small Transformer classifier)."""

    d_model: int = 64
    num_heads: int = 4
    num_layers: int = 2
    ff_dim: int = 128
    epochs: int = 2
    batch_size: int = 64
    lr: float = 1e-3
    timing_lengths: tuple[int, ...] = (32, 64, 128, 256, 512)


@dataclass(frozen=True)
class FinetuneConfig:
    """Sizes for notebook 05 (fine-tuning strategies on AG News)."""

    train_size: int = 1_024  # AG News rows used to compare strategies
    val_size: int = 512
    max_len: int = 64
    batch_size: int = 32
    epochs: int = 1
    body_lr: float = 2e-5  # the article's rate for the pretrained body
    head_lr: float = 1e-3  # the article's rate for new layers
    warmup_steps: int = 100  # the article's get_linear_schedule_with_warmup(optimizer, 100, 1000)
    total_steps: int = 1_000


@dataclass(frozen=True)
class AGNewsConfig:
    """Sizes for notebook 06 (the AG News case study)."""

    use_official_train: bool  # full: train on the 120k train split; quick: split the test split
    test_size: float = 0.2  # the article's train_test_split(..., test_size=0.2)
    max_len: int = 64
    batch_size: int = 32
    epochs: int = 1
    lr: float = 2e-5
    warmup_ratio: float = 0.1
    accumulation_steps: int = 4  # the article's accumulation_steps = 4
    compare_steps: int = 20  # steps timed for the fp32 vs mixed-precision table


@dataclass(frozen=True)
class ClipConfig:
    """Sizes for notebook 07 (contrastive image-text learning)."""

    image_size: int = 32
    train_images: int = 2_000
    embed_dim: int = 64
    batch_size: int = 64
    epochs: int = 8
    lr: float = 1e-3


@dataclass(frozen=True)
class FutureConfig:
    """Sizes for notebook 08 (ALBERT, distillation, few-shot, bias)."""

    teacher_train_size: int = 2_000
    student_layers: int = 3
    distill_epochs: int = 1
    temperature: float = 2.0
    alpha: float = 0.5
    shots: tuple[int, ...] = (4, 8, 16, 32)
    few_shot_seeds: int = 3


@dataclass(frozen=True)
class Profile:
    """Every size and checkpoint id the notebooks use, for one hardware budget."""

    name: str
    description: str
    bert: str  # the checkpoint playing BERT's role
    clip: str  # a pretrained CLIP, used wherever it is reachable
    masked_lm: str | None  # a checkpoint with a masked-LM head for cloze prompts (None: skipped)
    optional: tuple[str, ...]  # checkpoints a notebook can do without (it falls back and says so)
    bilstm: BiLSTMConfig
    agnews: AGNewsConfig
    seed: int = 42
    max_len: int = 128  # default tokenizer truncation length
    attention: AttentionConfig = field(default_factory=AttentionConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    clip_train: ClipConfig = field(default_factory=ClipConfig)
    future: FutureConfig = field(default_factory=FutureConfig)

    @property
    def checkpoints(self) -> tuple[str, ...]:
        """Every checkpoint id the notebooks load in this profile, without repeats."""
        ids = [self.bert, self.clip] + ([self.masked_lm] if self.masked_lm else [])
        return tuple(dict.fromkeys(ids))

    @property
    def datasets(self) -> dict[str, tuple[str, ...]]:
        """The splits of each dataset this profile reads, by dataset folder name."""
        ag_splits = ("train", "test") if self.agnews.use_official_train else ("test",)
        return {"sst2": ("train", "validation"), "ag_news": ag_splits}

    def as_dict(self) -> dict:
        """Return the profile as nested plain dictionaries (for printing or logging)."""
        return asdict(self)


PROFILES: dict[str, Profile] = {
    "quick": Profile(
        name="quick",
        description="CPU laptop and CI: small real checkpoints, data subsets, minutes per notebook",
        bert="sentence-transformers/all-MiniLM-L6-v2",
        clip="openai/clip-vit-base-patch32",
        masked_lm=None,
        optional=("openai/clip-vit-base-patch32",),
        bilstm=BiLSTMConfig(train_size=20_000),
        agnews=AGNewsConfig(use_official_train=False),
    ),
    "full": Profile(
        name="full",
        description="the article's setup on a GPU: bert-base-uncased, CLIP ViT-B/32, full data",
        bert="bert-base-uncased",
        clip="openai/clip-vit-base-patch32",
        masked_lm="bert-base-uncased",
        optional=(),
        bilstm=BiLSTMConfig(train_size=None, epochs=5, keras_epochs=3),
        agnews=AGNewsConfig(use_official_train=True, epochs=3, max_len=128),
        attention=AttentionConfig(d_model=128, num_layers=4, ff_dim=256, epochs=5),
        finetune=FinetuneConfig(train_size=20_000, val_size=4_000, epochs=2),
        clip_train=ClipConfig(train_images=20_000, epochs=20),
        future=FutureConfig(teacher_train_size=120_000, student_layers=6, distill_epochs=2),
    ),
}


def get_profile(name: str | None = None) -> Profile:
    """Return the profile ``name``, else the one ``NLPCOURSE_PROFILE`` names (default quick)."""
    chosen = name if name is not None else os.environ.get(PROFILE_ENV, DEFAULT_PROFILE)
    chosen = chosen.strip().lower()
    if chosen not in PROFILES:
        valid = ", ".join(sorted(PROFILES))
        raise ProfileError(
            f"Unknown profile {chosen!r}. Valid profiles: {valid}. "
            f"Set {PROFILE_ENV} to one of them (or unset it for {DEFAULT_PROFILE!r})."
        )
    return PROFILES[chosen]


def get_device(prefer: str | None = None) -> torch.device:
    """Pick CUDA, then Apple MPS, then CPU (or the device named by ``prefer``)."""
    if prefer is not None:
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int = 42) -> int:
    """Seed Python, NumPy and PyTorch (all devices) so a run repeats; return the seed."""
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - the legacy global generator is what libraries use
    torch.manual_seed(seed)  # also seeds every CUDA device
    return seed


def default_num_workers(system: str | None = None, cpu_count: int | None = None) -> int:
    """A DataLoader ``num_workers`` that is safe everywhere.

    Windows and macOS start workers with *spawn*, which cannot pickle functions defined in a
    notebook cell, so they get 0 (load in the main process). On Linux, use a few workers only
    when there are cores to spare beyond the two that training itself uses.
    """
    system = system if system is not None else platform.system()
    if system in {"Windows", "Darwin"}:
        return 0
    cpus = cpu_count if cpu_count is not None else (os.cpu_count() or 1)
    return max(0, min(4, cpus - 2))
