"""Checks for notebook 08 (ALBERT's embeddings, a student by surgery, distillation losses)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from nlpcourse.data.splits import UNLABELLED
from nlpcourse.exercises import raised, unanswered, verdict
from nlpcourse.train.distill import (
    distillation_loss,
    every_other_layer,
    layers_match,
    make_student,
    soft_target_loss,
)

# Exercise 1: ALBERT-xxlarge's sizes (its SentencePiece vocabulary, width and E)
ALBERT_VOCAB, ALBERT_XXLARGE_HIDDEN, ALBERT_EMBEDDING = 30_000, 4_096, 128


def check_embedding_savings(answer: int | None) -> bool | None:
    """Exercise 1: parameters saved by factorising ALBERT-xxlarge's token embeddings."""
    if unanswered(answer, "give the number of parameters saved as an integer"):
        return None
    v, h, e = ALBERT_VOCAB, ALBERT_XXLARGE_HIDDEN, ALBERT_EMBEDDING
    expected = v * h - (v * e + e * h)
    return verdict(
        answer == expected,
        f"V·H = {v * h:,} shrinks to V·E + E·H = {v * e + e * h:,}, saving {expected:,}.",
        "compare V×H with V×E + E×H (the embedding table plus the projection up to H).",
        praise_zh=(
            f"V·H = {v * h:,} 缩小为 V·E + E·H = {v * e + e * h:,}，节省了 {expected:,} 个参数。"
        ),
        hint_zh="比较 V×H 与 V×E + E×H（嵌入表加上升到 H 维的投影）。",
    )


def exercise_logits() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Student logits (3, 4), teacher logits (3, 4) and labels (3,) for the soft-loss exercise."""
    student = torch.tensor([[2.0, 0.5, -1.0, 0.0], [0.1, 1.5, 0.3, -0.2], [-0.5, 0.0, 0.4, 1.2]])
    teacher = torch.tensor([[3.0, 1.0, -2.0, 0.5], [0.0, 2.5, 1.0, -1.0], [-1.0, 0.5, 0.5, 2.0]])
    labels = torch.tensor([0, 1, 3])
    return student, teacher, labels


def _exercise_teacher(layers: int = 6) -> nn.Module:
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=30,
        hidden_size=8,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=16,
        max_position_embeddings=16,
        num_labels=4,
    )
    return BertForSequenceClassification(config).eval()


def check_make_student(build: Callable[[nn.Module], nn.Module] | None) -> bool | None:
    """Exercise: ``build(teacher)`` returns a student made of every other teacher layer."""
    if unanswered(build, "define a function teacher -> student"):
        return None
    teacher = _exercise_teacher(6)
    before = {name: tensor.clone() for name, tensor in teacher.state_dict().items()}
    try:
        student = build(teacher)
    except Exception as error:  # a student's bug is a verdict, not a crash
        return verdict(
            False,
            "",
            f"build(teacher) raised {type(error).__name__}: {error}",
            hint_zh=f"build(teacher) 抛出了 {type(error).__name__}：{error}",
        )
    if any(not torch.equal(before[n], t) for n, t in teacher.state_dict().items()):
        return verdict(
            False,
            "",
            "the teacher changed: copy it (copy.deepcopy) before cutting.",
            hint_zh="教师模型被改动了：裁剪之前先复制它（copy.deepcopy）。",
        )
    ids = every_other_layer(teacher.config.num_hidden_layers)
    layers = getattr(getattr(getattr(student, "bert", None), "encoder", None), "layer", None)
    if layers is None or len(layers) != len(ids):
        return verdict(
            False,
            "",
            f"the student should keep {len(ids)} of the teacher's 6 encoder layers.",
            hint_zh=f"学生模型应保留教师模型 6 个编码器层中的 {len(ids)} 层。",
        )
    if getattr(student.config, "num_hidden_layers", None) != len(ids):
        return verdict(
            False,
            "",
            "the student's config must say how many layers it has.",
            hint_zh="学生模型的 config 必须写明它有多少层。",
        )
    if not layers_match(student, teacher, ids):
        return verdict(
            False,
            "",
            "some weight differs from the teacher's: student layer j must be teacher layer 2j, "
            "and the embeddings, pooler and classifier must be the teacher's.",
            hint_zh=(
                "有权重与教师模型的不同：学生的第 j 层必须是教师的第 2j 层，"
                "嵌入层、pooler 和分类器也必须是教师的。"
            ),
        )
    ids_in = torch.tensor([[2, 7, 9, 4, 3]])
    with torch.no_grad():
        got = student.eval()(input_ids=ids_in).logits
        expected = make_student(teacher).eval()(input_ids=ids_in).logits
    return verdict(
        torch.allclose(got, expected, atol=1e-5),
        "every kept layer and every other weight match the teacher's, and it computes what "
        "distill.make_student computes.",
        "the weights match but the outputs differ: is the student in eval mode, and does its "
        "forward run the kept layers in order?",
        praise_zh=(
            "保留的每一层和其余每个权重都与教师模型一致，且它的计算结果与 "
            "distill.make_student 相同。"
        ),
        hint_zh=(
            "权重一致但输出不同：学生模型处于 eval 模式吗？它的 forward 是否按顺序运行保留的层？"
        ),
    )


PEAKED_TEACHER = torch.tensor([[40.0, -40.0, 0.0, 5.0], [0.0, 90.0, -90.0, 1.0]])


def check_safe_kd(soft_loss: Callable[..., Any] | None) -> bool | None:
    """Exercise: ``soft_loss(student_logits, teacher_logits, T)``, finite on a peaked teacher."""
    if unanswered(soft_loss, "define a function (student_logits, teacher_logits, T) -> loss"):
        return None
    student, teacher, _ = exercise_logits()
    student2 = torch.randn(2, 4, generator=torch.Generator().manual_seed(3))
    for s, t, temperature in ((student, teacher, 2.0), (student2, PEAKED_TEACHER, 1.0)):
        try:
            got = torch.as_tensor(soft_loss(s, t, temperature)).float()
        except Exception as error:
            return raised(error)
        if not torch.isfinite(got).all():
            return verdict(
                False,
                "",
                "on a peaked teacher the result is not finite: softmax underflows to exact 0, "
                "and 0 · log 0 is NaN. Keep both sides in log space.",
                hint_zh=(
                    "在尖峰教师模型上结果不是有限值：softmax 下溢为精确的 0，"
                    "而 0 · log 0 是 NaN。让两边都保持在对数空间中。"
                ),
            )
        expected = soft_target_loss(s, t, temperature)
        if not math.isclose(float(got), float(expected), rel_tol=1e-4, abs_tol=1e-5):
            return verdict(
                False,
                "",
                "finite, but not T² · KL(teacher ‖ student) of the softened distributions "
                "summed over classes and averaged over rows.",
                hint_zh=(
                    "结果有限，但不是软化后分布的 T² · KL(teacher ‖ student)"
                    "（对类别求和、对行取平均）。"
                ),
            )
    return verdict(
        True,
        "finite on a teacher whose softmax underflows, and exact elsewhere.",
        "",
        praise_zh="在 softmax 会下溢的教师模型上结果有限，其他情况下也完全准确。",
    )


def check_hidden_label_loss(loss_fn: Callable[..., Any] | None) -> bool | None:
    """Exercise: ``loss_fn(student, teacher, labels, T, alpha)`` where -100 hides a label."""
    if unanswered(loss_fn, "define a function (student, teacher, labels, T, alpha) -> loss"):
        return None
    student, teacher, _ = exercise_logits()
    labels = torch.tensor([2, UNLABELLED, UNLABELLED])  # one gold label, two hidden
    for temperature, alpha in ((2.0, 0.5), (1.0, 0.25), (4.0, 0.0)):
        try:
            got = torch.as_tensor(loss_fn(student, teacher, labels, temperature, alpha)).float()
        except Exception as error:  # a student's bug is a verdict, not a crash
            return raised(error)
        if not torch.isfinite(got).all():
            return verdict(
                False,
                "",
                "the loss is not finite: cross_entropy must skip the hidden rows "
                "(ignore_index=-100), not read -100 as a class.",
                hint_zh=(
                    "损失不是有限值：cross_entropy 必须跳过隐藏的行（ignore_index=-100），"
                    "而不是把 -100 当作一个类别。"
                ),
            )
        expected = distillation_loss(student, teacher, labels, temperature, alpha)
        if not math.isclose(float(got), float(expected), rel_tol=1e-4, abs_tol=1e-6):
            return verdict(
                False,
                "",
                "finite, but not the lesson's loss: the mean over all B rows of "
                "alpha·T²·KL, plus (1 - alpha)·CE summed over the labelled rows only and "
                "divided by B (reduction='sum', then / len(labels)).",
                hint_zh=(
                    "结果有限，但不是本课的损失：alpha·T²·KL 对全部 B 行取平均，"
                    "加上 (1 - alpha)·CE 只对有标签的行求和再除以 B"
                    "（reduction='sum'，然后 / len(labels)）。"
                ),
            )
    return verdict(
        True,
        "hidden rows teach through the soft term alone, labelled rows through both.",
        "",
        praise_zh="隐藏标签的行只通过软目标项来教学，有标签的行则通过两项一起。",
    )
