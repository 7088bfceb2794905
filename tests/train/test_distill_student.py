import matplotlib.pyplot as plt
import pytest
import torch
from torch.nn import functional as F

from nlpcourse.train import distill
from tests.tiny_bert import tiny_teacher


def teacher(layers=6, seed=0):
    return tiny_teacher(layers, seed).eval()


def test_every_other_layer():
    assert distill.every_other_layer(12) == [0, 2, 4, 6, 8, 10]
    assert distill.every_other_layer(6) == [0, 2, 4]
    assert distill.every_other_layer(5) == [0, 2, 4]
    assert distill.every_other_layer(1) == [0]
    assert distill.every_other_layer(12) == distill.student_layer_ids(12, 6)
    with pytest.raises(ValueError, match="at least one layer"):
        distill.every_other_layer(0)


def test_default_student_takes_every_other_layer_and_matches_the_teacher():
    big = teacher(6)
    student = distill.make_student(big)
    assert student.config.num_hidden_layers == 3
    assert big.config.num_hidden_layers == 6  # the teacher is untouched
    assert distill.layers_match(student, big, [0, 2, 4])
    assert not distill.layers_match(student, big, [0, 1, 2])
    for new, old in enumerate([0, 2, 4]):
        torch.testing.assert_close(
            student.bert.encoder.layer[new].output.dense.weight,
            big.bert.encoder.layer[old].output.dense.weight,
        )


def test_a_student_written_by_hand_matches_make_student():
    import copy

    from torch import nn

    big = teacher(4)
    by_hand = copy.deepcopy(big)
    by_hand.bert.encoder.layer = nn.ModuleList(by_hand.bert.encoder.layer[i] for i in (0, 2))
    by_hand.config.num_hidden_layers = 2
    assert distill.layers_match(by_hand, big, [0, 2])
    ids = torch.tensor([[2, 5, 7, 3]])
    torch.testing.assert_close(
        by_hand(input_ids=ids).logits, distill.make_student(big).eval()(input_ids=ids).logits
    )


def test_layers_match_notices_a_changed_weight():
    big = teacher(4)
    student = distill.make_student(big)
    with torch.no_grad():
        student.classifier.weight[0, 0] += 1.0
    assert not distill.layers_match(student, big, [0, 2])


PEAKED = torch.tensor([[60.0, -60.0, 0.0], [0.0, 120.0, -120.0]])  # softmax underflows to 0


def test_naive_kl_gives_nan_on_a_peaked_teacher_the_safe_form_does_not():
    student = torch.randn(2, 3, generator=torch.Generator().manual_seed(0), requires_grad=True)
    p_teacher = F.softmax(PEAKED, dim=-1)
    assert (p_teacher == 0).any()  # exact zeros: log gives -inf
    naive = (p_teacher * (p_teacher.log() - F.log_softmax(student, dim=-1))).sum(-1).mean()
    assert torch.isnan(naive)
    safe = distill.soft_target_loss(student, PEAKED, temperature=1.0)
    assert torch.isfinite(safe)
    safe.backward()
    assert torch.isfinite(student.grad).all()
    labels = torch.tensor([0, 1])
    full = distill.distillation_loss(student, PEAKED, labels, temperature=1.0, alpha=0.5)
    assert torch.isfinite(full)


def test_soft_target_loss_is_t_squared_kl_and_matches_distillation_loss():
    generator = torch.Generator().manual_seed(1)
    student, teacher_logits = (
        torch.randn(5, 4, generator=generator),
        torch.randn(5, 4, generator=generator),
    )
    t = 3.0
    p = F.softmax(teacher_logits / t, dim=-1)
    kl = (p * (p.log() - F.log_softmax(student / t, dim=-1))).sum(-1).mean()
    torch.testing.assert_close(distill.soft_target_loss(student, teacher_logits, t), t**2 * kl)
    labels = torch.zeros(5, dtype=torch.long)
    torch.testing.assert_close(
        distill.distillation_loss(student, teacher_logits, labels, t, alpha=1.0),
        t**2 * kl,
    )
    with pytest.raises(ValueError, match="positive"):
        distill.soft_target_loss(student, teacher_logits, 0.0)
    with pytest.raises(ValueError, match="both be"):
        distill.soft_target_loss(student, teacher_logits[:, :3], 1.0)


def test_soft_targets_and_their_plot():
    logits = torch.tensor([4.0, 1.0, 0.0, -1.0])
    probs = distill.soft_targets(logits, [1, 2, 10])
    assert probs.shape == (3, 4)
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(3))
    assert probs[0, 0] > probs[1, 0] > probs[2, 0]  # softer with T, same ranking
    ax = distill.plot_soft_targets(logits, ["a", "b", "c", "d"], (1, 2, 10))
    assert len(ax.patches) == 12
    plt.close("all")
    with pytest.raises(ValueError, match="class names"):
        distill.plot_soft_targets(logits, ["a"], (1,))


def test_teacher_logits_loader_feeds_train_student_without_the_teacher():
    from nlpcourse.text.hf_batches import make_loader, tokenize_dataset
    from nlpcourse.train.loop import predict
    from tests.tiny_bert import tiny_bert, tiny_news, tiny_tokenizer

    tokenizer = tiny_tokenizer()
    model = tiny_bert(num_labels=3)
    tokenized = tokenize_dataset(tiny_news(12), tokenizer, max_len=16)
    logits = predict(model, make_loader(tokenized, tokenizer, batch_size=5))  # (12, 3)
    loader = distill.teacher_logits_loader(tokenized, tokenizer, logits, 4, shuffle=True, seed=0)
    batches = list(loader)
    assert len(batches) == 3 and all("teacher_logits" in b for b in batches)
    seen = torch.cat([b["teacher_logits"] for b in batches])
    assert sorted(seen[:, 0].tolist()) == sorted(logits[:, 0].tolist())  # each row once
    with torch.no_grad():  # each batch's logits belong to its own rows
        first = batches[0]
        inputs = {k: v for k, v in first.items() if k not in ("labels", "teacher_logits")}
        torch.testing.assert_close(
            model(**inputs).logits, first["teacher_logits"], atol=1e-5, rtol=1e-4
        )
    student = distill.make_student(model)
    optimizer = torch.optim.AdamW(student.parameters(), lr=1e-3)
    history = distill.train_student(student, loader, optimizer, epochs=1, alpha=0.5, progress=False)
    assert history.epochs == 1
    with pytest.raises(ValueError, match="one row per example"):
        distill.teacher_logits_loader(tokenized, tokenizer, logits[:3], 4)
