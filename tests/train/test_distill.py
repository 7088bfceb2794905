import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader

from nlpcourse.data.splits import UNLABELLED
from nlpcourse.train.distill import (
    distillation_loss,
    make_student,
    student_layer_ids,
    train_student,
)
from tests.tiny_bert import tiny_teacher


@settings(max_examples=30, deadline=None)
@given(
    temperature=st.floats(0.1, 20.0),
    seed=st.integers(0, 1_000),
)
def test_zero_when_the_student_equals_the_teacher(temperature, seed):
    logits = torch.randn(5, 4, generator=torch.Generator().manual_seed(seed)) * 5
    labels = torch.randint(0, 4, (5,))
    loss = distillation_loss(logits, logits.clone(), labels, temperature, alpha=1.0)
    assert loss.abs().item() < 1e-6


def test_matches_the_formula_written_out():
    torch.manual_seed(0)
    student, teacher, labels = torch.randn(6, 3), torch.randn(6, 3), torch.randint(0, 3, (6,))
    t, alpha = 2.5, 0.3
    p_teacher = F.softmax(teacher / t, dim=-1)
    kl = (p_teacher * (p_teacher.log() - F.log_softmax(student / t, dim=-1))).sum(-1).mean()
    expected = alpha * t**2 * kl + (1 - alpha) * F.cross_entropy(student, labels)
    torch.testing.assert_close(distillation_loss(student, teacher, labels, t, alpha), expected)


def test_alpha_zero_is_cross_entropy_and_needs_no_teacher():
    student, labels = torch.randn(4, 3), torch.tensor([0, 1, 2, 0])
    torch.testing.assert_close(
        distillation_loss(student, None, labels, 2.0, alpha=0.0), F.cross_entropy(student, labels)
    )


def test_unlabelled_rows_add_only_the_soft_term():
    torch.manual_seed(1)
    student, teacher = torch.randn(6, 4), torch.randn(6, 4)
    labels = torch.tensor([0, 3, UNLABELLED, 1, UNLABELLED, UNLABELLED])
    t, alpha = 3.0, 0.25
    kl = F.kl_div(
        F.log_softmax(student / t, -1),
        F.log_softmax(teacher / t, -1),
        reduction="none",
        log_target=True,
    ).sum(-1)  # (6,)
    ce = F.cross_entropy(student[:2], labels[:2], reduction="none")
    ce = torch.cat([ce, F.cross_entropy(student[3:4], labels[3:4], reduction="none")])  # labelled
    expected = (alpha * t**2 * kl.sum() + (1 - alpha) * ce.sum()) / 6
    torch.testing.assert_close(distillation_loss(student, teacher, labels, t, alpha), expected)
    no_labels = torch.full((6,), UNLABELLED)
    assert distillation_loss(student, teacher, no_labels, t, alpha=0.0).item() == 0.0
    assert torch.isfinite(distillation_loss(student, teacher, no_labels, t, alpha=1.0))


def test_gradient_reaches_only_the_student():
    torch.manual_seed(0)
    student, teacher = nn.Linear(5, 3), nn.Linear(5, 3)
    x, labels = torch.randn(8, 5), torch.randint(0, 3, (8,))
    loss = distillation_loss(student(x), teacher(x), labels, temperature=2.0, alpha=0.7)
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in student.parameters())
    assert all(p.grad is None for p in teacher.parameters())


def test_bad_inputs_raise_clear_errors():
    logits, labels = torch.randn(2, 3), torch.tensor([0, 1])
    with pytest.raises(ValueError, match="temperature"):
        distillation_loss(logits, logits, labels, temperature=0.0)
    with pytest.raises(ValueError, match="alpha"):
        distillation_loss(logits, logits, labels, alpha=1.5)
    with pytest.raises(ValueError, match="same shape"):
        distillation_loss(logits, torch.randn(2, 4), labels)
    with pytest.raises(ValueError, match="teacher"):
        distillation_loss(logits, None, labels, alpha=0.5)
    with pytest.raises(ValueError, match="batch, classes"):
        distillation_loss(torch.randn(3), torch.randn(3), labels)


def test_student_layer_ids():
    assert student_layer_ids(12, 6) == [0, 2, 4, 6, 8, 10]  # DistilBERT's every other layer
    assert student_layer_ids(6, 3) == [0, 2, 4]
    assert student_layer_ids(6, 6) == list(range(6))
    assert student_layer_ids(4, 1) == [0]
    with pytest.raises(ValueError, match="between 1 and 6"):
        student_layer_ids(6, 7)


def test_make_student_copies_the_chosen_layers():
    teacher = tiny_teacher(layers=4)
    before = copy.deepcopy(teacher.state_dict())
    student = make_student(teacher, [0, 3])
    assert student.config.num_hidden_layers == 2 and teacher.config.num_hidden_layers == 4
    s, t = student.state_dict(), teacher.state_dict()
    for new, old in enumerate([0, 3]):
        for name in ("attention.self.query.weight", "output.dense.bias"):
            assert torch.equal(
                s[f"bert.encoder.layer.{new}.{name}"], t[f"bert.encoder.layer.{old}.{name}"]
            )
    for name in (
        "bert.embeddings.word_embeddings.weight",
        "classifier.weight",
        "bert.pooler.dense.bias",
    ):
        assert torch.equal(s[name], t[name])
    assert all(torch.equal(before[k], v) for k, v in teacher.state_dict().items())
    student.eval()
    logits = student(input_ids=torch.tensor([[1, 5, 7, 2]])).logits
    assert logits.shape == (1, 3)
    s["bert.encoder.layer.0.attention.self.query.weight"].add_(1.0)  # a copy, not a view
    assert not torch.equal(
        s["bert.encoder.layer.0.attention.self.query.weight"],
        t["bert.encoder.layer.0.attention.self.query.weight"],
    )


def test_make_student_bad_inputs():
    teacher = tiny_teacher(layers=4)
    with pytest.raises(ValueError, match="distinct teacher layers"):
        make_student(teacher, [0, 4])
    with pytest.raises(ValueError, match="distinct teacher layers"):
        make_student(teacher, [1, 1])
    with pytest.raises(ValueError, match="num_hidden_layers"):
        make_student(nn.Linear(2, 2), [0])


def batches(n=32, seed=0):
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(4, 40, (n, 6), generator=generator)
    labels = ids[:, 1] % 3  # learnable from the tokens
    rows = [
        {
            "input_ids": ids[i],
            "attention_mask": torch.ones(6, dtype=torch.long),
            "labels": labels[i],
        }
        for i in range(n)
    ]
    return rows


def test_train_student_with_a_teacher_lowers_the_loss_and_leaves_the_teacher_alone():
    teacher = tiny_teacher(layers=2, seed=1)
    frozen = copy.deepcopy(teacher.state_dict())
    student = make_student(teacher, [0])
    loader = DataLoader(
        batches(), batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(0)
    )
    optimizer = torch.optim.AdamW(student.parameters(), 3e-3)
    history = train_student(
        student,
        loader,
        optimizer,
        epochs=4,
        temperature=2.0,
        alpha=0.5,
        teacher=teacher,
        progress=False,
    )
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert all(torch.equal(frozen[k], v) for k, v in teacher.state_dict().items())
    assert all(p.grad is None for p in teacher.parameters())


def test_train_student_uses_cached_teacher_logits():
    teacher = tiny_teacher(layers=2, seed=1)
    teacher.eval()
    rows = batches(16)
    with torch.no_grad():
        for row in rows:
            row["teacher_logits"] = teacher(input_ids=row["input_ids"][None]).logits[0]
    student = make_student(teacher, [1])
    loader = DataLoader(rows, batch_size=8)
    history = train_student(
        student,
        loader,
        torch.optim.SGD(student.parameters(), 0.01),
        epochs=1,
        alpha=1.0,
        progress=False,
    )
    assert history.epochs == 1


def test_train_student_equals_a_plain_loop_over_a_seeded_shuffled_loader():
    teacher = tiny_teacher(layers=2, seed=1).eval()
    rows = batches(24)
    with torch.no_grad():
        for i, row in enumerate(rows):
            row["teacher_logits"] = teacher(input_ids=row["input_ids"][None]).logits[0]
            if i % 3:
                row["labels"] = torch.tensor(UNLABELLED)  # two rows in three have no label

    def run(by_hand: bool) -> nn.Module:
        torch.manual_seed(0)
        student = make_student(teacher, [1])
        loader = DataLoader(
            rows, batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(3)
        )
        optimizer = torch.optim.AdamW(student.parameters(), 1e-3)
        if not by_hand:
            train_student(student, loader, optimizer, epochs=2, alpha=0.5, progress=True)
            return student
        for _ in range(2):
            student.train()
            for batch in loader:  # the same shuffled order as train_student's
                batch = dict(batch)
                labels, teacher_logits = batch.pop("labels"), batch.pop("teacher_logits")
                loss = distillation_loss(student(**batch).logits, teacher_logits, labels, 2.0, 0.5)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        return student

    torch.testing.assert_close(run(True).state_dict(), run(False).state_dict(), rtol=0, atol=0)


def test_train_student_errors():
    student = make_student(tiny_teacher(layers=2), [0])
    loader = DataLoader(batches(8), batch_size=4)
    optimizer = torch.optim.SGD(student.parameters(), 0.01)
    with pytest.raises(ValueError, match="needs a teacher"):
        train_student(student, loader, optimizer, epochs=1, alpha=0.5, progress=False)
    with pytest.raises(ValueError, match="epochs"):
        train_student(student, loader, optimizer, epochs=0, progress=False)
    history = train_student(student, loader, optimizer, epochs=1, alpha=0.0, progress=False)
    assert history.epochs == 1
