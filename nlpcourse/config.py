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
    test_share: float = 0.5  # of the 872 validation sentences kept as the test part (436)
    vocab_size: int = 10_000  # the article's Embedding(10000, 64)
    embed_dim: int = 64
    hidden_size: int = 64
    dense_dim: int = 64  # the article's Dense(64, relu)
    max_len: int = 40  # fixed-length padding for the Keras model; longer texts are cut
    batch_size: int = 128
    epochs: int = 2
    lr: float = 3e-3
    dropout: float = 0.5  # PyTorch training only (adds no parameters)
    grad_clip: float = 1.0
    patience: int = 1  # early stopping on validation accuracy, best weights restored
    keras_train_size: int | None = 16_000  # rows of the training subset for the Keras run
    keras_epochs: int = 1
    timing_batches: int = 40  # notebook 02: training batches timed per padding strategy
    packing_epochs: int = 1  # notebook 02: epochs of the with/without packing comparison
    subword_vocab_size: int = 10_000  # notebook 02: WordPiece vocabulary trained on the text


@dataclass(frozen=True)
class AttentionConfig:
    """Sizes for notebooks 03-04 (the quickstart; attention by hand, a small Transformer)."""

    d_model: int = 64
    num_heads: int = 4
    num_layers: int = 2
    ff_dim: int = 128
    epochs: int = 2  # on notebook 01's SST-2 loaders (its subset, vocabulary and batch size)
    lr: float = 1e-3  # AdamW
    weight_decay: float = 0.01
    dropout: float = 0.1
    max_positions: int = 512  # rows of the sinusoidal position table (longest input)
    heatmap_layer: int = 2  # layer of the pretrained BERT whose heads are drawn (0-based)
    timing_lengths: tuple[int, ...] = (32, 64, 128, 256, 512)
    timing_batch: int = 8  # sequences per call when timing hand-built vs fused attention
    timing_repeats: int = 5  # calls per length; the median is reported
    quickstart_train_size: int = 1_000  # notebook 03: SST-2 rows for a short fine-tune
    quickstart_lr: float = 5e-5  # notebook 03: AdamW learning rate of that fine-tune
    quickstart_batch_size: int = 32


@dataclass(frozen=True)
class FinetuneConfig:
    """Sizes for notebook 05 (fine-tuning strategies on AG News's train and validation parts)."""

    train_size: int = 384  # rows of the training part each strategy trains on (24 steps of 16)
    val_size: int | None = 480  # rows of the validation part scoring them (None = all)
    max_len: int = 24  # tokens per text (title and first words); AG News texts average about 50
    batch_size: int = 16
    eval_batch_size: int = 128
    epochs: int = 1
    body_lr: float = 2e-5  # the article's rate for the pretrained body
    head_lr: float = 1e-3  # the article's rate for new layers
    warmup_steps: int = 100  # the article's get_linear_schedule_with_warmup(optimizer, 100, 1000)
    total_steps: int = 1_000
    warmup_ratio: float = 0.1  # warmup of the comparison runs, as a fraction of their steps
    weight_decay: float = 0.01
    freeze_layers: int = 2  # lowest encoder layers frozen (with the embeddings) in the comparison
    layer_decay: float = 0.8  # layer-wise learning-rate decay factor
    reference_seeds: int = 2  # seeds of the reference recipe (its seed-to-seed spread)
    timing_batches: int = 2  # pre-built batches timed per freezing setting, in turns
    timing_rounds: int = 2  # rounds over those batches; the median step is reported
    n_boot: int = 2_000  # bootstrap resamples of the validation rows


@dataclass(frozen=True)
class AGNewsConfig:
    """Sizes for notebook 06 (the AG News case study)."""

    use_official_train: bool  # full: train on the 120k train split; quick: split the test split
    test_size: float = 0.2  # the article's train_test_split(..., test_size=0.2)
    val_size: float = 0.2  # validation carved (stratified) from the training part
    train_rows: int | None = None  # rows of the training part used (None = all of it)
    max_len: int = 32  # tokens per text; AG News texts average about 50
    batch_size: int = 32
    eval_batch_size: int = 64
    epochs: int = 1
    lr: float = 2e-5  # the article's AdamW rate, for the pretrained body
    head_lr: float = 1e-3  # notebook 05: new layers learn faster
    head_modules: tuple[str, ...] = ("bert.pooler", "classifier")  # parameters at head_lr
    freeze_word_embeddings: bool = True  # quick: no gradient or AdamW update for half the model
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    accumulation_steps: int = 4  # the article's accumulation_steps = 4
    micro_batch_size: int = 8  # 4 micro-batches of 8 checked against one batch of 32
    fit_check_steps: int = 3  # steps of the hand-written loop checked against fit()
    compare_steps: int = 3  # steps timed for the fp32 vs mixed-precision table
    compare_batch_size: int = 8
    compare_val_size: int = 256  # held-out rows scoring the fp32 and mixed-precision runs
    target_accuracy: float = 0.88  # the notebook asserts at least this held-out accuracy


@dataclass(frozen=True)
class ClipConfig:
    """Sizes for notebook 07 (contrastive image-text learning on generated shapes)."""

    image_size: int = 32  # generated images are image_size × image_size pixels
    patch_size: int = 8  # ViT patches: (32 / 8)² = 16 patches + [CLS]
    train_images: int = 4_000
    pair_fraction: float = 0.25  # share of two-shape images ("a red circle to the left of …")
    heldout_combos: int = 6  # colour×shape pairs never shown in training
    test_images: int = 600  # fresh images per evaluation
    hidden_size: int = 64  # both towers
    num_layers: int = 2  # both towers
    num_heads: int = 4
    embed_dim: int = 64  # the shared (projected) space
    max_positions: int = 32  # text positions; captions are at most 14 tokens
    batch_size: int = 64
    epochs: int = 8
    lr: float = 5e-3  # peak of a one-cycle schedule
    weight_decay: float = 0.1
    max_logit_scale: float = 100.0  # CLIP clamps exp(logit_scale), i.e. temperature >= 0.01


@dataclass(frozen=True)
class FutureConfig:
    """Sizes for notebook 08 (ALBERT, distillation, few-shot, bias)."""

    # ALBERT vs BERT, both built from config (no download) at BERT-base's width and depth
    compare_vocab_size: int = 30_522
    compare_hidden: int = 768
    compare_layers: int = 12
    compare_heads: int = 12
    compare_intermediate: int = 3_072
    albert_embedding_size: int = 128  # ALBERT's E
    timing_batch: int = 4  # forward passes timed on (timing_batch, timing_seq_len) token ids
    timing_seq_len: int = 64
    timing_repeats: int = 3
    # AG News rows, drawn (stratified, seeded) from notebook 06's training and held-out parts
    max_len: int = 32
    batch_size: int = 32
    eval_size: int = 800  # held-out rows scoring teacher, students, zero- and few-shot
    # knowledge distillation
    teacher_train_size: int = 1_000  # used only when notebook 06's saved model is absent
    teacher_epochs: int = 1
    teacher_lr: float = 1e-4
    distill_train_size: int = 1_000
    student_layers: int = 3
    distill_epochs: int = 1
    student_lr: float = 1e-4
    temperature: float = 2.0
    alpha: float = 0.5  # weight of the soft (teacher) term; 1 - alpha weighs the hard labels
    # zero- and few-shot
    fewshot_pool_size: int = 400  # labelled rows the k-per-class samples are drawn from
    fewshot_eval_size: int = 240  # held-out rows scoring every few-shot run
    shots: tuple[int, ...] = (4, 8, 16, 32)
    few_shot_seeds: int = 3
    finetune_steps: int = 8  # optimizer steps of each few-shot fine-tuning run
    finetune_batch_size: int = 16
    finetune_body_lr: float = 5e-5
    finetune_head_lr: float = 1e-2
    # bias
    weat_permutations: int = 10_000


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
        bilstm=BiLSTMConfig(train_size=None),
        agnews=AGNewsConfig(use_official_train=False, lr=5e-5),  # small model, one short epoch
    ),
    "full": Profile(
        name="full",
        description="the article's setup on a GPU: bert-base-uncased, CLIP ViT-B/32, full data",
        bert="bert-base-uncased",
        clip="openai/clip-vit-base-patch32",
        masked_lm="bert-base-uncased",
        optional=(),
        bilstm=BiLSTMConfig(
            train_size=None,
            epochs=5,
            patience=2,
            keras_train_size=None,
            keras_epochs=3,
            packing_epochs=3,
        ),
        agnews=AGNewsConfig(
            use_official_train=True,
            epochs=3,
            max_len=128,
            head_modules=("classifier",),  # bert-base-uncased's pooler is pretrained (NSP)
            freeze_word_embeddings=False,
            compare_steps=20,
            compare_batch_size=32,
            compare_val_size=1_000,
            target_accuracy=0.9,  # a floor only: the full run has not been measured yet
        ),
        attention=AttentionConfig(d_model=128, num_layers=4, ff_dim=256, epochs=5),
        finetune=FinetuneConfig(
            train_size=20_000,
            val_size=None,
            epochs=2,
            max_len=128,
            batch_size=32,
            reference_seeds=3,
            timing_batches=3,
            timing_rounds=3,
        ),
        clip_train=ClipConfig(train_images=20_000, epochs=10, test_images=2_000),
        future=FutureConfig(
            timing_batch=16,
            timing_seq_len=128,
            timing_repeats=5,
            max_len=128,
            eval_size=7_600,
            teacher_train_size=120_000,
            teacher_epochs=3,
            teacher_lr=2e-5,
            distill_train_size=120_000,
            student_layers=6,
            distill_epochs=2,
            student_lr=5e-5,
            fewshot_pool_size=4_000,
            fewshot_eval_size=2_000,
            few_shot_seeds=5,
            finetune_steps=30,
        ),
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
