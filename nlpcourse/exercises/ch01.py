"""Checks for notebook 01 (the Keras BiLSTM and its PyTorch twin)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from nlpcourse.exercises import unanswered, verdict
from nlpcourse.models.bilstm import bilstm_parameter_count, lstm_parameter_count


def check_lstm_parameters(keras_count: int | None, torch_count: int | None) -> bool | None:
    """Exercise 1: parameters of a bidirectional LSTM with 32 units on 64-dim embeddings."""
    if unanswered(keras_count, "give the Keras and the PyTorch parameter counts"):
        return None
    keras = 2 * lstm_parameter_count(64, 32, bias_vectors=1)
    pytorch = 2 * lstm_parameter_count(64, 32, bias_vectors=2)
    if (keras_count, torch_count) == (pytorch, keras):
        return verdict(
            False,
            "",
            "the two answers are swapped: which framework has two biases?",
            hint_zh="两个答案填反了：哪个框架有两组偏置？",
        )
    return verdict(
        (keras_count, torch_count) == (keras, pytorch),
        "both counts are right, and so is which framework keeps the second bias.",
        "per direction: 4 gates × units × (inputs + units + biases); then two directions.",
        praise_zh="两个数都对，哪个框架多一组偏置也判断对了。",
        hint_zh="每个方向：4 个门 × 单元数 × (输入维度 + 单元数 + 偏置个数)；再乘以两个方向。",
    )


def check_frozen_trainable(count: int | None, vocab_size: int = 10_000) -> bool | None:
    """Exercise 2: trainable parameters of the PyTorch twin once its embedding is frozen."""
    if unanswered(count, "give the number of trainable parameters"):
        return None
    expected = bilstm_parameter_count(vocab_size) - vocab_size * 64
    if count == bilstm_parameter_count(vocab_size):
        return verdict(
            False,
            "",
            "that is every parameter: did requires_grad_(False) run?",
            hint_zh="这是全部参数：requires_grad_(False) 执行了吗？",
        )
    return verdict(
        count == expected,
        "that is what still learns once the embedding table is frozen.",
        "freeze model.embedding.weight, then count parameters with requires_grad.",
        praise_zh="这正是嵌入表冻结后仍在学习的参数。",
        hint_zh="冻结 model.embedding.weight，再统计 requires_grad 为 True 的参数。",
    )


def _padded(sentences: list[torch.Tensor], pads: int, front: bool) -> torch.Tensor:
    """Pad every sentence with ``pads`` zeros beyond the longest, in front or behind."""
    width = max(len(s) for s in sentences) + pads
    rows = torch.zeros(len(sentences), width, dtype=torch.long)  # (batch, width), 0 = <pad>
    for row, sentence in zip(rows, sentences, strict=True):
        if front:
            row[width - len(sentence) :] = sentence
        else:
            row[: len(sentence)] = sentence
    return rows


def check_padding_invariant(
    model: Callable[[torch.Tensor], torch.Tensor] | None, vocab_size: int = 100
) -> bool | None:
    """Exercise 3: ``model(ids)`` gives every sentence the same logit however it is padded.

    ``ids`` is ``(batch, time)`` with 0 as padding, in front or behind; the model gets no
    lengths. It must also tell different sentences apart (a constant would be invariant too).
    """
    if unanswered(model, "build your model and pass it (an instance, not the class)"):
        return None
    if isinstance(model, type):
        return verdict(
            False,
            "",
            "pass an instance: MyModel(vocab_size), not the class itself.",
            hint_zh="传入实例：MyModel(vocab_size)，而不是类本身。",
        )
    if isinstance(model, torch.nn.Module):
        model.eval()
    generator = torch.Generator().manual_seed(0)
    sentences = [
        torch.randint(1, vocab_size, (n,), generator=generator) for n in (3, 7, 1, 5, 9, 4)
    ]
    outputs = []
    with torch.no_grad():
        for pads, front in ((0, False), (3, False), (11, False), (2, True), (17, True)):
            try:
                logits = torch.as_tensor(model(_padded(sentences, pads, front))).float()
            except Exception as error:  # a student's bug, reported in one line
                return verdict(
                    False,
                    "",
                    f"calling the model raised {error!r}.",
                    hint_zh=f"调用模型时抛出了 {error!r}。",
                )
            if logits.numel() != len(sentences):
                return verdict(
                    False,
                    "",
                    f"expected one logit per sentence, got shape {tuple(logits.shape)}.",
                    hint_zh=f"每个句子应输出一个 logit，得到的形状却是 {tuple(logits.shape)}。",
                )
            outputs.append(logits.reshape(-1))
    first = outputs[0]
    if first.std() < 1e-6:
        return verdict(
            False,
            "",
            "every sentence gets the same output: use the tokens.",
            hint_zh="每个句子的输出都一样：要用上词元。",
        )
    for other in outputs[1:]:
        if not torch.allclose(other, first, atol=1e-5, rtol=1e-4):
            return verdict(
                False,
                "",
                "more (or front) padding changes the output: ignore positions where ids == 0.",
                hint_zh="填充更多（或填在前面）会改变输出：忽略 ids == 0 的位置。",
            )
    return verdict(
        True,
        "padding in front or behind, short or long, changes nothing.",
        "",
        praise_zh="无论填在前面还是后面、填得多还是少，输出都不变。",
    )


GRU_SIZES = ((3, 8, 5), (1, 4, 4), (6, 16, 2))  # (batch, input size, hidden size)


def check_gru_cell(gru_cell: Callable[..., torch.Tensor] | None) -> bool | None:
    """Exercise 4: ``gru_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh)`` = ``nn.GRUCell``."""
    if unanswered(gru_cell, "write gru_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh)"):
        return None
    if not callable(gru_cell):
        return verdict(
            False,
            "",
            "pass the function itself (no parentheses), not its result.",
            hint_zh="传入函数本身（不带括号），而不是它的返回值。",
        )
    generator = torch.Generator().manual_seed(0)
    for batch, inputs, hidden in GRU_SIZES:
        torch.manual_seed(batch * 100 + inputs)
        reference = torch.nn.GRUCell(inputs, hidden)
        x = torch.randn(batch, inputs, generator=generator)  # (batch, inputs)
        h = torch.randn(batch, hidden, generator=generator)  # (batch, hidden)
        weights = [p.detach() for p in reference.parameters()]  # ih, hh, bias_ih, bias_hh
        try:
            with torch.no_grad():
                result = torch.as_tensor(gru_cell(x, h, *weights))
        except Exception as error:  # a student's bug, reported in one line
            return verdict(
                False,
                "",
                f"calling it raised {error!r}.",
                hint_zh=f"调用它时抛出了 {error!r}。",
            )
        with torch.no_grad():
            expected = reference(x, h)  # (batch, hidden)
        if result.shape != expected.shape:
            return verdict(
                False,
                "",
                f"expected shape {tuple(expected.shape)}, got {tuple(result.shape)}.",
                hint_zh=f"形状应为 {tuple(expected.shape)}，得到的是 {tuple(result.shape)}。",
            )
        if torch.allclose(result, expected, atol=1e-5):
            continue
        r_, z_, n_ = (x @ weights[0].T + weights[2]).chunk(3, -1)
        hr, hz, hn = (h @ weights[1].T + weights[3]).chunk(3, -1)
        z = torch.sigmoid(z_ + hz)
        swapped = z * torch.tanh(n_ + torch.sigmoid(r_ + hr) * hn) + (1 - z) * h
        if torch.allclose(result, swapped, atol=1e-5):
            return verdict(
                False,
                "",
                "z and 1 - z are swapped: z keeps the old h.",
                hint_zh="z 和 1 - z 用反了：z 保留的是旧的 h。",
            )
        return verdict(
            False,
            "",
            "the gates are stacked r, z, n; the reset gate scales (W_hn h + b_hn), bias included.",
            hint_zh="门按 r、z、n 的顺序堆叠；重置门乘的是 (W_hn h + b_hn)，包括偏置。",
        )
    return verdict(
        True,
        "your GRU cell matches nn.GRUCell on every size tried.",
        "",
        praise_zh="在每个试过的尺寸上，你的 GRU 单元都与 nn.GRUCell 一致。",
    )
