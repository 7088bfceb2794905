"""GPT-3-style prompting: classify by the log-likelihood a causal LM gives each label word.

The task is written into the input — an instruction, ``k`` solved examples, then the query —
and each label word (one or several tokens) is scored as a continuation of that prompt: the
sum of the log-probabilities of its tokens. The most likely label wins; no weight changes.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F
from tqdm.auto import tqdm

from nlpcourse.evaluate.fewshot import sample_k_per_class


def shorten(text: str, max_words: int | None) -> str:
    """``text`` cut to its first ``max_words`` words (with "…" when cut); None keeps it all."""
    if max_words is None:
        return text
    if max_words < 1:
        raise ValueError(f"max_words must be at least 1 (or None), got {max_words}.")
    words = text.split()
    return text if len(words) <= max_words else " ".join(words[:max_words]) + " …"


def build_prompt(
    query: str,
    examples: Sequence[tuple[str, str]] = (),
    instruction: str = "",
    text_prefix: str = "Text: ",
    label_prefix: str = "Answer:",
    max_words: int | None = None,
) -> str:
    """Instruction, ``k`` solved examples and the query, ending where the label word goes.

    ``examples`` holds (text, label word) pairs. The prompt ends with ``label_prefix``; the
    label words are then scored with a leading space (``" Sports"``), as they follow it.
    """
    blocks = [instruction.strip()] if instruction.strip() else []
    for text, label in examples:
        blocks.append(f"{text_prefix}{shorten(text, max_words)}\n{label_prefix} {label}")
    blocks.append(f"{text_prefix}{shorten(query, max_words)}\n{label_prefix}")
    return "\n\n".join(blocks)


def demonstrations(
    texts: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    label_words: Sequence[str],
    k: int,
    seed: int,
) -> list[tuple[str, str]]:
    """``k`` examples of every class as (text, label word), drawn with ``seed``, classes mixed."""
    labels = np.asarray(labels)
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels.")
    if labels.max() >= len(label_words):
        raise ValueError(f"label {labels.max()} has no word in label_words={list(label_words)}.")
    picked = sample_k_per_class(labels, k, seed)
    order = np.random.default_rng(seed).permutation(picked)  # not grouped by class
    return [(texts[i], label_words[labels[i]]) for i in order]


def _ids(tokenizer: Any, text: str, special: bool) -> list[int]:
    return list(tokenizer(text, add_special_tokens=special)["input_ids"])


@torch.no_grad()
def continuation_logprobs(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    continuations: Sequence[str],
    batch_size: int = 8,
    per_token: bool = False,
    progress: bool = False,
) -> torch.Tensor:
    """Log-likelihood of every continuation after every prompt: (len(prompts), len(continuations)).

    The prompts of a batch are left-padded and run once; the first token of each continuation
    is read from the last position, and longer continuations are fed on top of the prompt's
    key-value cache. ``per_token`` divides each sum by the continuation's token count.
    """
    if len(prompts) == 0 or len(continuations) == 0:
        raise ValueError("give at least one prompt and one continuation.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    targets = [_ids(tokenizer, text, special=False) for text in continuations]
    empty = [text for text, ids in zip(continuations, targets, strict=True) if not ids]
    if empty:
        raise ValueError(f"continuations {empty} tokenize to nothing.")
    limit = getattr(model.config, "max_position_embeddings", None) or getattr(
        model.config, "n_positions", None
    )
    pad_id = tokenizer.pad_token_id
    pad_id = pad_id if pad_id is not None else (tokenizer.eos_token_id or 0)
    model.eval()
    device = next(model.parameters()).device
    longest = max(len(ids) for ids in targets)
    scores = []
    starts = range(0, len(prompts), batch_size)
    for start in tqdm(starts, desc="prompts", disable=not progress):
        encoded = [
            _ids(tokenizer, prompt, special=True) for prompt in prompts[start : start + batch_size]
        ]
        width = max(len(ids) for ids in encoded)
        if limit is not None and width + longest - 1 > limit:
            raise ValueError(
                f"a prompt of {width} tokens plus a {longest}-token label exceeds the model's "
                f"{limit} positions: use fewer examples or shorter texts (max_words)."
            )
        input_ids = torch.tensor([[pad_id] * (width - len(ids)) + ids for ids in encoded])  # (B, T)
        mask = torch.tensor(
            [[0] * (width - len(ids)) + [1] * len(ids) for ids in encoded]
        )  # (B, T)
        positions = (mask.cumsum(dim=1) - 1).clamp(min=0)  # (B, T): 0 at each row's first token
        input_ids, mask, positions = input_ids.to(device), mask.to(device), positions.to(device)
        out = model(
            input_ids=input_ids,
            attention_mask=mask,
            position_ids=positions,
            use_cache=longest > 1,
        )
        first = F.log_softmax(out.logits[:, -1].float(), dim=-1)  # (B, V): the next token
        batch_scores = []
        for ids in targets:
            score = first[:, ids[0]]  # (B,)
            if len(ids) > 1:
                rows = len(encoded)
                feed = torch.tensor(ids[:-1], device=device).expand(rows, -1)  # (B, m-1)
                step = torch.arange(1, len(ids), device=device)  # (m-1,)
                more = model(
                    input_ids=feed,
                    attention_mask=torch.cat([mask, torch.ones_like(feed)], dim=1),  # (B, T+m-1)
                    position_ids=positions[:, -1:] + step,  # (B, m-1) continuing each row
                    past_key_values=copy.deepcopy(out.past_key_values),  # the prompt's cache
                    use_cache=True,
                )
                log_probs = F.log_softmax(more.logits.float(), dim=-1)  # (B, m-1, V)
                wanted = torch.tensor(ids[1:], device=device).expand(rows, -1)  # (B, m-1)
                score = score + log_probs.gather(2, wanted.unsqueeze(-1)).squeeze(-1).sum(dim=1)
            batch_scores.append(score / len(ids) if per_token else score)
        scores.append(torch.stack(batch_scores, dim=1).cpu())  # (B, C)
    return torch.cat(scores)


def score_labels(
    queries: Sequence[str],
    model: Any,
    tokenizer: Any,
    label_words: Sequence[str],
    instruction: str = "",
    examples: Sequence[tuple[str, str]] = (),
    text_prefix: str = "Text: ",
    label_prefix: str = "Answer:",
    max_words: int | None = None,
    batch_size: int = 8,
    per_token: bool = False,
    progress: bool = False,
) -> torch.Tensor:
    """Log-likelihood of each label word after the prompt of each query: (n, labels).

    Zero-shot with ``examples=()``, few-shot with ``k`` solved examples (the same for every
    query). ``scores.argmax(dim=1)`` is the predicted class.
    """
    if len(queries) == 0:
        raise ValueError("score_labels needs at least one query.")
    if len(set(label_words)) != len(label_words) or not label_words:
        raise ValueError(f"label_words must be distinct and non-empty, got {list(label_words)}.")
    prompts = [
        build_prompt(query, examples, instruction, text_prefix, label_prefix, max_words)
        for query in queries
    ]
    continuations = [" " + word.strip() for word in label_words]
    return continuation_logprobs(
        model, tokenizer, prompts, continuations, batch_size, per_token, progress
    )


def load_causal_lm(repo_id: str, **kwargs: Any) -> tuple[Any, Any]:
    """The causal LM ``repo_id`` and its tokenizer, in eval mode, with one clear error if absent."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from nlpcourse.data.checkpoints import load_pretrained

    tokenizer = load_pretrained(AutoTokenizer, repo_id)
    model = load_pretrained(AutoModelForCausalLM, repo_id, **kwargs).eval()
    return model, tokenizer
