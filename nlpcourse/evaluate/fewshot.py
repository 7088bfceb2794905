"""Zero- and few-shot classification: k-per-class sampling, probes on frozen embeddings, prompts."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader, RandomSampler
from tqdm.auto import tqdm

from nlpcourse.text.hf_batches import make_loader


def sample_k_per_class(labels: Sequence[int] | np.ndarray, k: int, seed: int) -> np.ndarray:
    """Indices of exactly ``k`` rows of every class, drawn without replacement with ``seed``."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) == 0:
        raise ValueError("labels must be a non-empty 1-D sequence of class ids.")
    if k < 1:
        raise ValueError(f"k (examples per class) must be at least 1, got {k}.")
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        if len(rows) < k:
            raise ValueError(
                f"class {label} has only {len(rows)} rows, fewer than k={k}: enlarge the pool "
                f"the examples are drawn from or lower k."
            )
        chosen.append(rng.choice(rows, size=k, replace=False))
    return np.sort(np.concatenate(chosen))


def zero_shot_predict(text_embeddings: Any, label_embeddings: Any) -> np.ndarray:
    """For each text, the label whose description embedding has the highest cosine, (n,)."""
    texts = torch.as_tensor(text_embeddings, dtype=torch.float32)
    labels = torch.as_tensor(label_embeddings, dtype=torch.float32)
    if texts.ndim != 2 or labels.ndim != 2 or texts.shape[1] != labels.shape[1]:
        raise ValueError(
            f"expected (n, dim) texts and (classes, dim) labels with the same dim, got "
            f"{tuple(texts.shape)} and {tuple(labels.shape)}."
        )
    similarity = F.normalize(texts, dim=1) @ F.normalize(labels, dim=1).T  # (n, classes)
    return similarity.argmax(dim=1).numpy()


def logistic_probe_accuracy(
    train_x: Any, train_y: Any, test_x: Any, test_y: Any, c: float = 1.0, seed: int = 0
) -> float:
    """Accuracy on the test rows of a logistic regression fitted on frozen train embeddings."""
    from sklearn.linear_model import LogisticRegression

    train_x, test_x = np.asarray(train_x), np.asarray(test_x)
    if len(train_x) != len(train_y) or len(test_x) != len(test_y):
        raise ValueError("each embedding matrix needs one label per row.")
    if len(np.unique(train_y)) < 2:
        raise ValueError("a classifier needs training examples of at least two classes.")
    probe = LogisticRegression(C=c, max_iter=1_000, random_state=seed)
    probe.fit(train_x, np.asarray(train_y))
    return float(probe.score(test_x, np.asarray(test_y)))  # accuracy


def learning_curve(
    labels: Sequence[int] | np.ndarray,
    shots: Sequence[int],
    seeds: Sequence[int],
    run: Callable[[np.ndarray, int], float],
    progress: bool = True,
    desc: str = "few-shot runs",
) -> list[dict[str, float]]:
    """Call ``run(indices, seed)`` on a k-per-class sample for every k and seed; collect rows.

    The same ``(k, seed)`` always draws the same indices from ``labels``, so two methods
    evaluated with this loop see exactly the same labelled examples.
    """
    if not shots or not seeds:
        raise ValueError("give at least one k in shots and one seed.")
    rows = []
    pairs = [(k, seed) for k in shots for seed in seeds]
    for k, seed in tqdm(pairs, desc=desc, disable=not progress):
        indices = sample_k_per_class(labels, k, seed)
        rows.append({"k": k, "seed": seed, "accuracy": float(run(indices, seed))})
    return rows


def summarize_curve(rows: Sequence[dict[str, float]]) -> dict[int, tuple[float, float]]:
    """Mean and standard deviation of the accuracy at each k: ``{k: (mean, std)}``."""
    if not rows:
        raise ValueError("no runs to summarise.")
    by_k: dict[int, list[float]] = {}
    for row in rows:
        by_k.setdefault(int(row["k"]), []).append(row["accuracy"])
    return {k: (float(np.mean(v)), float(np.std(v))) for k, v in sorted(by_k.items())}


def fixed_steps_loader(
    tokenized: Any, tokenizer: Any, batch_size: int, steps: int, seed: int
) -> DataLoader:
    """Exactly ``steps`` shuffled batches of ``batch_size`` rows (cycling through small sets).

    Few-shot runs of every size then get the same number of optimizer steps: 16 examples are
    seen many times over, 128 examples about once.
    """
    if batch_size < 1 or steps < 1:
        raise ValueError(f"batch_size and steps must be at least 1, got {batch_size}, {steps}.")
    if len(tokenized) == 0:
        raise ValueError("no rows to train on: the few-shot sample is empty.")
    batch_size = min(batch_size, len(tokenized))
    sampler = RandomSampler(
        tokenized, num_samples=steps * batch_size, generator=torch.Generator().manual_seed(seed)
    )
    return make_loader(tokenized, tokenizer, batch_size, sampler=sampler)


def label_word_ids(tokenizer: Any, label_words: Sequence[str]) -> list[int]:
    """The vocabulary id of each label word; each must be a single token."""
    ids = []
    for word in label_words:
        pieces = tokenizer.tokenize(word)
        if len(pieces) != 1:
            raise ValueError(
                f"label word {word!r} is split into {pieces}: a cloze classifier needs one "
                f"vocabulary token per label, pick another word."
            )
        ids.append(tokenizer.convert_tokens_to_ids(pieces[0]))
    return ids


@torch.no_grad()
def cloze_scores(
    texts: Sequence[str],
    model: Any,
    tokenizer: Any,
    template: str,
    label_words: Sequence[str],
    batch_size: int = 32,
    max_len: int = 128,
) -> torch.Tensor:
    """Masked-LM logits of each label word at the ``[MASK]`` of ``template``, (n, labels).

    ``template`` holds ``{text}`` and the tokenizer's mask token, e.g.
    ``"{text} This news is about [MASK]."``. Long texts are cut so the prompt survives.
    """
    mask = tokenizer.mask_token
    if mask is None or template.count(mask) != 1 or "{text}" not in template:
        raise ValueError(
            f"the template needs '{{text}}' and exactly one {mask!r}, got {template!r}."
        )
    if len(texts) == 0:
        raise ValueError("cloze_scores needs at least one text.")
    word_ids = torch.tensor(label_word_ids(tokenizer, label_words))
    prompt_tokens = len(tokenizer.tokenize(template.replace("{text}", ""))) + 2
    room = max_len - prompt_tokens
    if room < 1:
        raise ValueError(f"max_len={max_len} leaves no room for the text beside the prompt.")
    model.eval()
    device = next(model.parameters()).device
    scores = []
    for start in range(0, len(texts), batch_size):
        cut = [
            tokenizer.convert_tokens_to_string(tokenizer.tokenize(text)[:room])
            for text in texts[start : start + batch_size]
        ]
        batch = tokenizer(
            [template.format(text=text) for text in cut],
            padding=True,
            truncation=True,
            max_length=max_len,
            return_tensors="pt",
        ).to(device)
        logits = model(**batch).logits  # (B, T, vocab)
        rows, cols = (batch["input_ids"] == tokenizer.mask_token_id).nonzero(as_tuple=True)
        if len(rows) != len(cut):
            raise ValueError("some prompt lost its mask token to truncation: raise max_len.")
        scores.append(logits[rows, cols][:, word_ids.to(device)].float().cpu())  # (B, labels)
    return torch.cat(scores)


@contextmanager
def quiet_setfit() -> Iterator[None]:
    """Silence SetFit's and its dependencies' import warnings, load reports and progress bars."""
    import logging
    import warnings

    from datasets.utils.tqdm import (
        disable_progress_bars,
        enable_progress_bars,
        is_progress_bar_enabled,
    )
    from transformers.utils import logging as hf_logging

    names = ("torchao", "torch.utils._pytree", "setfit", "sentence_transformers", "huggingface_hub")
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    verbosity, bars_on = hf_logging.get_verbosity(), is_progress_bar_enabled()
    hf_bars = hf_logging.is_progress_bar_enabled()
    try:
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import setfit  # noqa: F401  (its import turns its own logs up to INFO)
        logging.getLogger("setfit").setLevel(logging.ERROR)
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        disable_progress_bars()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
        hf_logging.set_verbosity(verbosity)
        if hf_bars:
            hf_logging.enable_progress_bar()
        if bars_on:
            enable_progress_bars()


def sentence_body(checkpoint: str | Path, max_len: int = 128) -> Any:
    """A ``SentenceTransformer`` from a hub id or folder (its own pooling), loaded quietly."""
    with quiet_setfit():
        from sentence_transformers import SentenceTransformer

        body = SentenceTransformer(str(checkpoint), device="cpu")
    body.max_seq_length = max_len
    return body


def train_setfit(
    body: Any,
    texts: Sequence[str],
    labels: Sequence[int],
    steps: int,
    batch_size: int = 16,
    body_lr: float = 2e-5,
    seed: int = 0,
) -> Any:
    """SetFit on a copy of ``body``: ``steps`` contrastive steps on pairs, then a logistic head.

    The body (a ``SentenceTransformer``) is deep-copied, so one loaded body serves every run.
    Training is silent: no progress bars, logs or checkpoints on disk. Returns the trained
    ``SetFitModel``; ``setfit_predict`` classifies with it.
    """
    if len(texts) != len(labels) or len(texts) == 0:
        raise ValueError(f"need one label per text, got {len(texts)} texts, {len(labels)} labels.")
    if len(set(labels)) < 2:
        raise ValueError("SetFit needs examples of at least two classes to form negative pairs.")
    if steps < 1 or batch_size < 1:
        raise ValueError(f"steps and batch_size must be at least 1, got {steps}, {batch_size}.")
    import copy
    import tempfile

    from datasets import Dataset
    from sklearn.linear_model import LogisticRegression

    with quiet_setfit():
        from setfit import SetFitModel, Trainer, TrainingArguments
        from transformers import PrinterCallback, ProgressCallback
        from transformers.utils.notebook import NotebookProgressCallback

        model = SetFitModel(
            model_body=copy.deepcopy(body),
            model_head=LogisticRegression(max_iter=1_000, random_state=seed),
        )
        data = Dataset.from_dict({"text": list(texts), "label": [int(y) for y in labels]})
        with tempfile.TemporaryDirectory() as scratch:
            args = TrainingArguments(
                output_dir=scratch,
                batch_size=batch_size,
                num_epochs=1,
                max_steps=steps,
                body_learning_rate=body_lr,
                max_length=body.max_seq_length,
                show_progress_bar=False,
                report_to="none",
                logging_strategy="no",
                save_strategy="no",
                seed=seed,
            )
            trainer = Trainer(model=model, args=args, train_dataset=data)
            for callback in list(trainer.st_trainer.callback_handler.callbacks):
                quiet = (PrinterCallback, ProgressCallback, NotebookProgressCallback)
                if isinstance(callback, quiet) or "Progress" in type(callback).__name__:
                    trainer.st_trainer.remove_callback(callback)
            trainer.train()
    return model


def setfit_predict(model: Any, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
    """The class a trained SetFit model predicts for each text, (n,)."""
    if len(texts) == 0:
        raise ValueError("setfit_predict needs at least one text.")
    with quiet_setfit():
        predicted = model.predict(
            list(texts), batch_size=batch_size, as_numpy=True, show_progress_bar=False
        )
    return np.asarray(predicted).astype(int)
