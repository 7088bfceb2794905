"""Profiles (sizes and checkpoint ids), device choice, seeding and DataLoader defaults.

One environment variable, ``NLPCOURSE_PROFILE``, picks a profile. A notebook reads every size
and checkpoint id from the profile object and has no other branch on the profile name.
"""

from __future__ import annotations

import logging
import os
import platform
import random
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from nlpcourse.errors import LanguageError, ProfileError

# transformers imports torchao, when installed, as soon as a schedule or a quantizer is used; on
# a machine without its optional GPU kernels torchao logs "Failed to load ..._C_mxfp8..." for
# each, and torch warns about its Enum registrations. Neither concerns a notebook: errors only.
for _name in ("torchao", "torch.utils._pytree"):
    logging.getLogger(_name).setLevel(logging.ERROR)

PROFILE_ENV = "NLPCOURSE_PROFILE"
DEFAULT_PROFILE = "quick"
LANG_ENV = "NLPCOURSE_LANG"
LANGUAGES = ("en", "zh")


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
    patience: int = 1  # fit() keeps the epoch with the best validation accuracy
    grad_clip: float = 1.0
    patience: int = 1  # early stopping on validation accuracy, best weights restored
    keras_train_size: int | None = 8_000  # rows of the training subset for the Keras run
    keras_epochs: int = 1
    seeds: tuple[int, ...] = (0, 1, 2)  # notebook 01: one BiLSTM training run per seed
    seed_train_size: int | None = 40_000  # notebook 01: training rows of each seed's run
    loop_steps: int = 5  # notebook 01: steps of the hand-written loop checked against fit()
    bench_batches: int = 4  # notebook 01: batches timed (eager vs exported, Keras vs PyTorch)
    bench_repeats: int = 3  # notebook 01: passes over those batches; the median is reported
    timing_batches: int = 12  # notebook 02: training batches timed per padding strategy
    timing_repeats: int = 3  # notebook 02: timed passes over those batches (median reported)
    packing_epochs: int = 1  # notebook 02: epochs of the with/without packing comparison
    subword_vocab_size: int = 10_000  # notebook 02: WordPiece vocabulary trained on the text


@dataclass(frozen=True)
class AttentionConfig:
    """Sizes for notebooks 03-04 (the quickstart; attention by hand, a small Transformer)."""

    d_model: int = 64
    num_heads: int = 4
    num_layers: int = 2
    ff_dim: int = 128
    lr: float = 1e-3  # AdamW
    weight_decay: float = 0.01
    dropout: float = 0.1
    max_positions: int = 512  # rows of the sinusoidal position table (longest input)
    heatmap_layer: int = 2  # layer of the pretrained BERT whose heads are drawn (0-based)
    timing_lengths: tuple[int, ...] = (32, 64, 128, 256, 512)
    timing_batch: int = 8  # sequences per call when timing hand-built vs fused attention
    timing_repeats: int = 5  # calls per length; the median is reported
    head_stats_sentences: int = 64  # validation sentences whose attention heads are measured
    compare_train_size: int | None = 12_000  # SST-2 training phrases for the 3-model table
    compare_epochs: int = 3  # most epochs per run (early stopping on validation may stop sooner)
    compare_seeds: int = 3  # runs per neural model in the table (mean ± sd)
    tfidf_c_grid: tuple[float, ...] = (0.3, 1.0, 3.0)  # logistic regression C, picked on validation
    throughput_batches: int = 8  # validation batches timed for Transformer vs BiLSTM
    task_kind: str = "reverse"  # notebook 04's synthetic task (copy, reverse or sort)
    task_length: int = 10  # tokens per sequence of the synthetic task
    task_vocab: int = 12  # token ids of the synthetic task (0 is padding, never drawn)
    task_d_model: int = 32  # width of the 1-layer model trained on it
    task_heads: int = 2
    task_steps: int = 200  # AdamW steps on fresh random batches
    task_batch: int = 64
    task_lr: float = 3e-3
    heatmap_max_tokens: int = 15  # longest sentence drawn as a heatmap
    quickstart_train_size: int = 1_000  # notebook 03: SST-2 rows for a short fine-tune
    quickstart_lr: float = 5e-5  # notebook 03: AdamW learning rate of that fine-tune
    quickstart_batch_size: int = 32
    tiny_hidden: int = 32  # notebook 03: width of the tiny GPT-2 and T5 built from configs
    tiny_layers: int = 2  # notebook 03: their layers (T5: encoder and decoder each)
    tiny_heads: int = 2
    tiny_lm_steps: int = 5  # notebook 03: AdamW steps of the tiny GPT-2 on one sentence
    tiny_lm_lr: float = 1e-2


@dataclass(frozen=True)
class FinetuneConfig:
    """Sizes for notebook 05 (fine-tuning strategies on AG News's train and validation parts)."""

    train_size: int = 800  # rows of the training part each strategy trains on (50 steps of 16)
    val_size: int | None = None  # rows of the validation part scoring them (None = all)
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
    reference_seeds: int = 3  # seeds of the reference recipe (its seed-to-seed spread)
    timing_batches: int = 2  # pre-built batches timed per freezing setting, in turns
    timing_rounds: int = 2  # rounds over those batches; the median step is reported
    n_boot: int = 2_000  # bootstrap resamples of the validation rows
    lora_rank: int = 8  # LoRA adapters on the attention's query and value projections
    lora_alpha: int = 16
    lora_lr: float = 1e-3  # adapters start at zero and learn at a head-like rate
    # the recorded run (``python -m nlpcourse record 05``; the notebook only reads its record)
    seeds: int = 1  # seeds per strategy, paired by seed against the counterpart
    tune_size: int = 0  # validation rows that pick each strategy's rate; the rest score it
    lr_grid: tuple[float, ...] = ()  # body rates swept per strategy (empty: body_lr only)
    lora_lr_grid: tuple[float, ...] = ()  # LoRA rates swept (empty: lora_lr only)


@dataclass(frozen=True)
class AGNewsConfig:
    """Sizes for notebook 06 (the AG News case study)."""

    use_official_train: bool  # full: train on the 120k train split; quick: split the test split
    test_size: float = 0.2  # the article's train_test_split(..., test_size=0.2)
    val_size: float = 0.2  # share of the training part carved out as validation (every choice)
    train_rows: int | None = None  # rows of the training part used (None = all of it)
    val_rows: int | None = None  # rows of the validation part scored (None = all of it)
    max_len: int = 32  # tokens per text; AG News texts average about 50
    batch_size: int = 32
    eval_batch_size: int = 64
    epochs: int = 1
    lr_candidates: tuple[float, ...] = (2e-5, 5e-5)  # the article's 2e-5 and one faster rate for
    # the pretrained body; validation accuracy picks one
    head_lr: float = 1e-3  # notebook 05: new layers learn faster
    head_modules: tuple[str, ...] = ("bert.pooler", "classifier")  # parameters at head_lr
    freeze_word_embeddings: bool = True  # quick: no gradient or AdamW update for half the model
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    patience: int = 1  # fit() keeps the epoch with the best validation accuracy
    grad_clip: float = 1.0  # clip the global gradient norm (after unscaling, under fp16)
    accumulation_steps: int = 4  # the article's accumulation_steps = 4
    micro_batch_size: int = 8  # 4 micro-batches of 8 = the effective batch of 32
    accumulation_run_steps: int = 12  # optimizer steps of the accumulated vs one-batch runs
    fit_check_steps: int = 5  # micro-batches of the hand-written loop checked against fit()
    compare_steps: int = 3  # timed steps per precision (after one warm-up step)
    compare_repeats: int = 3  # interleaved repeats per precision; the median is reported
    compare_batch_size: int = 8
    scaler_trace_steps: int = 8  # fp16 + GradScaler steps whose scale is traced
    n_boot: int = 2_000  # bootstrap resamples of the test rows
    target_accuracy: float = 0.86  # the notebook asserts at least this test accuracy


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
    epochs: int = 16  # at 8, shape on held-out pairs stayed at chance (notebook 07)
    lr: float = 5e-3  # peak of a one-cycle schedule
    weight_decay: float = 0.1
    max_logit_scale: float = 100.0  # CLIP clamps exp(logit_scale), i.e. temperature >= 0.01
    shift: float = 0.08  # shapes move by up to this share of the image (shapes.generate)
    size_jitter: float = 0.2  # and are scaled by a factor in 1 ± size_jitter


@dataclass(frozen=True)
class EfficientConfig:
    """Sizes for notebook 08 (ALBERT, distillation, int8)."""

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
    # AG News rows, drawn (stratified, seeded) from notebook 06's three parts
    max_len: int = 32
    batch_size: int = 32
    eval_size: int | None = 608  # validation rows scoring the students (None: all)
    freeze_word_embeddings: bool = True  # quick: teacher's and student's V×H table not trained
    # knowledge distillation: the teacher is fine-tuned in 08 with 06's recipe (body rate below,
    # head at agnews.head_lr); the student keeps every other layer of the teacher
    teacher_train_size: int | None = None  # of 06's training rows (None: all 2,400 in quick)
    teacher_epochs: int = 1
    teacher_lr: float = 5e-5  # the body rate 06 picks on validation in quick
    distill_train_size: int = 384  # unlabelled rows: training-part rows the teacher never saw
    distill_labelled_size: int = 32  # the student's few gold-labelled rows (8 per class)
    distill_epochs: int = 1
    student_lr: float = 3e-4
    temperatures: tuple[float, ...] = (1.0, 2.0, 4.0)  # KD's T, chosen on validation
    alphas: tuple[float, ...] = (0.5, 0.9)  # weight of the soft (teacher) term, on validation
    distill_seeds: int = 3  # student vs student + KD, each seed a paired comparison
    flat_teacher_divisor: float = 6.0  # going further: the teacher's logits / this (same answers)


@dataclass(frozen=True)
class ZeroShotBiasConfig:
    """Sizes for notebook 09 (zero-/few-shot, prompting, bias)."""

    max_len: int = 32  # tokens per AG News text
    eval_size: int | None = 600  # validation rows choosing the zero-shot wording (None: all)
    # a fallback for 06's classifier (counterfactual test) when runs/06_ag_news_classifier is empty
    teacher_train_size: int = 320  # of 06's training rows
    teacher_epochs: int = 1
    teacher_lr: float = 1e-4
    batch_size: int = 32
    # few-shot: k examples per class, the same rows for every method, scored on test once
    fewshot_pool_size: int = 400  # labelled rows the k-per-class samples are drawn from
    fewshot_test_size: int = 200  # test rows scoring every few-shot run
    shots: tuple[int, ...] = (4, 8, 16, 32)
    few_shot_seeds: int = 2
    finetune_steps: int = 8  # optimizer steps of each fine-tuning run
    finetune_batch_size: int = 16
    finetune_body_lr: float = 5e-5
    finetune_head_lr: float = 1e-2
    setfit_steps: int = 4  # contrastive steps; 4 × 16 pairs = 128 texts, fine-tuning's 8 × 16
    setfit_batch_size: int = 16
    setfit_body_lr: float = 2e-5  # SetFit's default body learning rate
    # prompting a causal LM (profile.causal_lm), GPT-3 style
    prompt_eval_size: int = 120  # test rows scored by every prompt (CPU: ~1-3 rows/s)
    prompt_shots: tuple[int, ...] = (0, 1)  # solved examples per class in the prompt
    prompt_max_words: int = 30  # texts in prompts are cut to this many words
    prompt_batch_size: int = 8
    # bias
    weat_permutations: int = 10_000
    weat_null_splits: int = 2_000  # random 8 + 8 splits of same-group names: d's spread by chance


@dataclass(frozen=True)
class ScaleConfig:
    """Sizes for notebook 10 and ``scripts/finetune_ag_news.py`` (the case study, data-parallel)."""

    # the parts are notebook 06's (ag_news_three_way with agnews.val_size); these score subsets
    train_rows: int | None = 480  # training rows used (None = all of the training part)
    val_rows: int | None = 250  # validation rows scored (None = all); odd counts test sharding
    test_rows: int | None = 400  # test rows scored once at the end (None = all of the test part)
    per_device_batch_size: int = 8  # rows per process per forward pass
    eval_batch_size: int = 32  # rows per process per evaluation batch
    gradient_accumulation_steps: int = 2  # micro-batches per optimizer step on each process
    epochs: int = 1
    max_steps: int | None = 15  # optimizer steps, then stop (None = all epochs)
    lr: float = 5e-5  # body learning rate: the rate notebook 06 picks on validation in quick
    max_grad_norm: float = 1.0  # gradient clipping (on the averaged gradient)
    checkpoint_every: int = 10  # optimizer steps between save_state checkpoints (0 = none)
    processes: int = 2  # processes the notebook launches (CPU: 2 cores, so 2)
    launch_config: str = "cpu_2proc.yaml"  # the file in configs/accelerate/ the notebook uses
    cpu: bool = True  # pass --cpu to the script (gloo on CPU even where a GPU exists)
    timing_batch_size: int = 16  # effective batch of the 1- vs 2-process timing runs
    timing_steps: int = 6  # optimizer steps of each timing run (the first is the warm-up)
    trainer_check_steps: int = 4  # optimizer steps of the Trainer vs hand-written loop check
    trainer_check_batch_size: int = 4  # per-device batch of that check
    trainer_check_accumulation: int = 2  # its accumulation steps
    snippet_rows: int = 64  # training rows of the snippet-vs-script check (a few optimizer steps)


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
    efficient: EfficientConfig = field(default_factory=EfficientConfig)
    zero_shot_bias: ZeroShotBiasConfig = field(default_factory=ZeroShotBiasConfig)
    causal_lm: str | None = None  # a decoder for GPT-3-style prompts (None: section skipped)
    scale: ScaleConfig = field(default_factory=ScaleConfig)

    @property
    def checkpoints(self) -> tuple[str, ...]:
        """The encoder checkpoints the notebooks load in this profile, without repeats."""
        ids = [self.bert, self.clip] + ([self.masked_lm] if self.masked_lm else [])
        return tuple(dict.fromkeys(ids))

    @property
    def all_checkpoints(self) -> tuple[str, ...]:
        """Every checkpoint id: :attr:`checkpoints` plus the causal LM (doctor and download)."""
        return tuple(
            dict.fromkeys([*self.checkpoints, *([self.causal_lm] if self.causal_lm else [])])
        )

    @property
    def datasets(self) -> dict[str, tuple[str, ...]]:
        """The splits of each dataset this profile reads, by dataset folder name."""
        ag_splits = ("train", "test") if self.agnews.use_official_train else ("test",)
        return {"sst2": ("train", "validation"), "ag_news": ag_splits}

    def as_dict(self) -> dict:
        """Return the profile as nested plain dictionaries (for printing or logging)."""
        return asdict(self)


STANDARD_FINETUNE = FinetuneConfig(  # notebook 05's recorded run: 2 shared CPU cores, 1 thread
    # sized from a pilot at load 8-11 (about 1.5-2.5 s per step of 16 rows of 24 tokens, each
    # process getting a fifth of a core): 36 runs (9 strategies x (2 rates + 2 more seeds)) of
    # 4 epochs of 6 steps; recorded in 39 min at mean load 9. Its tuning loss is flat or rising
    # (overfitting 96 rows) by the last epoch: no run fell by more than 0.04 in it
    train_size=96,  # 24 rows per class, 4 epochs of 6 steps of 16
    val_size=None,  # all 1,216 validation rows: 216 pick each strategy's rate, 1,000 score it
    tune_size=216,
    max_len=24,  # the live run's length
    batch_size=16,
    epochs=4,
    seeds=3,
    lr_grid=(1e-4, 3e-4),
    lora_lr_grid=(2e-3, 5e-3),
)

PROFILES: dict[str, Profile] = {
    "quick": Profile(
        name="quick",
        description="CPU laptop and CI: small real checkpoints, data subsets, minutes per notebook",
        bert="sentence-transformers/all-MiniLM-L6-v2",
        clip="openai/clip-vit-base-patch32",
        masked_lm=None,
        optional=("openai/clip-vit-base-patch32", "HuggingFaceTB/SmolLM2-135M-Instruct"),
        bilstm=BiLSTMConfig(train_size=None),
        agnews=AGNewsConfig(
            use_official_train=False,
            train_rows=2_400,  # two learning rates must fit the CPU budget
            val_rows=None,
            accumulation_run_steps=4,
            scaler_trace_steps=6,
            compare_steps=2,
            target_accuracy=0.85,  # a floor for CI, not a claim
        ),
        causal_lm="HuggingFaceTB/SmolLM2-135M-Instruct",  # 135M parameters: CPU-sized
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
            seeds=(0, 1, 2, 3, 4),
            seed_train_size=None,
            bench_batches=20,
            bench_repeats=5,
            packing_epochs=3,
        ),
        agnews=AGNewsConfig(
            use_official_train=True,
            train_rows=48_000,  # of 96,000: notebook 08 distils on rows this model never saw
            epochs=3,
            max_len=128,
            head_modules=("classifier",),  # bert-base-uncased's pooler is pretrained (NSP)
            freeze_word_embeddings=False,
            lr_candidates=(2e-5, 3e-5, 5e-5),  # BERT's own fine-tuning grid
            compare_steps=20,
            compare_batch_size=32,
            accumulation_run_steps=50,
            target_accuracy=0.9,  # a floor only: the full run has not been measured yet
        ),
        attention=AttentionConfig(
            d_model=128,
            num_layers=4,
            ff_dim=256,
            compare_train_size=None,
            compare_epochs=5,
            compare_seeds=5,
        ),
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
        efficient=EfficientConfig(
            timing_batch=16,
            timing_seq_len=128,
            timing_repeats=5,
            max_len=128,
            eval_size=7_600,
            teacher_train_size=48_000,
            teacher_epochs=3,
            teacher_lr=2e-5,
            freeze_word_embeddings=False,
            distill_train_size=40_000,
            distill_labelled_size=1_000,
            distill_epochs=2,
            student_lr=5e-5,
            distill_seeds=5,
        ),
        zero_shot_bias=ZeroShotBiasConfig(
            max_len=128,
            eval_size=7_600,
            teacher_train_size=48_000,
            teacher_epochs=3,
            teacher_lr=2e-5,
            fewshot_pool_size=4_000,
            fewshot_test_size=2_000,
            few_shot_seeds=5,
            finetune_steps=30,
            setfit_steps=15,
            prompt_eval_size=2_000,
            prompt_shots=(0, 1, 2, 4),
            prompt_max_words=60,
            prompt_batch_size=16,
        ),
        causal_lm="Qwen/Qwen2.5-1.5B-Instruct",
        scale=ScaleConfig(
            lr=2e-5,  # the article's rate for bert-base-uncased
            train_rows=None,
            val_rows=None,
            test_rows=None,
            per_device_batch_size=32,
            eval_batch_size=128,
            gradient_accumulation_steps=1,
            epochs=3,
            max_steps=None,
            checkpoint_every=1_000,
            timing_batch_size=64,
            timing_steps=20,
            launch_config="gpu_2proc.yaml",  # one machine with two GPUs
            cpu=False,
        ),
    ),
}

PROFILES["standard"] = replace(  # quick's checkpoints and sizes, with larger recorded experiments
    PROFILES["quick"],
    name="standard",
    description="recorded CPU runs of tens of minutes (python -m nlpcourse record NN)",
    finetune=STANDARD_FINETUNE,
)


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


def course_language(cwd: str | os.PathLike[str] | None = None) -> str:
    """The language the course speaks to the reader: ``"en"`` or ``"zh"``.

    ``NLPCOURSE_LANG`` decides when set (``zh``, ``zh-CN`` and ``zh_CN`` all mean Chinese).
    Otherwise the working directory does: Jupyter and nbval start a notebook's kernel in the
    notebook's folder, so a kernel running in a folder named ``zh`` (``notebooks/zh/``) belongs
    to the Chinese edition, whose code cells are the English ones unchanged.
    """
    chosen = os.environ.get(LANG_ENV, "").strip().lower().replace("_", "-")
    if chosen:
        code = chosen.split("-")[0]
        if code not in LANGUAGES:
            raise LanguageError(
                f"Unknown course language {chosen!r} in {LANG_ENV}: use one of "
                f"{', '.join(LANGUAGES)} (or unset it to follow the notebook's folder)."
            )
        return code
    folder = Path(cwd) if cwd is not None else Path.cwd()
    return "zh" if folder.name == "zh" else "en"
