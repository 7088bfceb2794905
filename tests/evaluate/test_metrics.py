import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nlpcourse.evaluate.metrics import (
    accuracy,
    classification_summary,
    confusion,
    macro_f1,
    per_class_report,
)
from nlpcourse.plots.metrics import plot_confusion_matrix

NAMES = ["World", "Sports", "Business", "Sci/Tech"]


def test_accuracy_and_macro_f1_by_hand():
    y_true = [0, 0, 1, 1, 2, 3]
    y_pred = [0, 1, 1, 1, 2, 2]
    assert accuracy(y_true, y_pred) == pytest.approx(4 / 6)
    # per-class F1: 2/3, 0.8, 2/3, 0 -> macro = 2.1333 / 4
    assert macro_f1(y_true, y_pred) == pytest.approx((2 / 3 + 0.8 + 2 / 3 + 0) / 4)
    summary = classification_summary(torch.tensor(y_true), torch.tensor(y_pred), NAMES)
    assert summary == pytest.approx({"accuracy": 4 / 6, "macro_f1": (2 / 3 + 0.8 + 2 / 3) / 4})


def test_macro_f1_counts_a_class_that_never_appears():
    # class 3 is in neither list: with num_classes it scores 0 and pulls the mean down
    assert macro_f1([0, 1, 2], [0, 1, 2]) == 1.0
    assert macro_f1([0, 1, 2], [0, 1, 2], num_classes=4) == 0.75


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=60))
@settings(max_examples=40, deadline=None)
def test_confusion_matrix_agrees_with_accuracy(pairs):
    y_true, y_pred = map(list, zip(*pairs, strict=True))
    counts = confusion(y_true, y_pred, 4)
    assert counts.sum() == len(pairs)
    assert np.trace(counts) / counts.sum() == pytest.approx(accuracy(y_true, y_pred))
    assert counts.sum(axis=1).tolist() == [y_true.count(c) for c in range(4)]


def test_per_class_report_names_the_classes():
    report = per_class_report([0, 1, 2, 3], [0, 1, 2, 2], NAMES)
    for name in [*NAMES, "macro avg"]:
        assert name in report


def test_plot_confusion_matrix_labels_axes():
    figure = plot_confusion_matrix([0, 1, 2, 3, 3], [0, 1, 2, 3, 2], NAMES, normalize=True)
    ax = figure.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == NAMES
    assert [t.get_text() for t in ax.get_yticklabels()] == NAMES
    assert ax.get_xlabel() == "Predicted label"


@pytest.mark.parametrize(
    ("y_true", "y_pred", "message"),
    [
        ([], [], "empty"),
        ([0, 1], [0], "2 labels but y_pred has 1"),
        ([[0, 1]], [[0, 1]], "1-D"),
    ],
)
def test_bad_inputs(y_true, y_pred, message):
    with pytest.raises(ValueError, match=message):
        accuracy(y_true, y_pred)


def test_class_ids_must_fit_the_names():
    with pytest.raises(ValueError, match="one name per class"):
        per_class_report([0, 4], [0, 1], NAMES)
    with pytest.raises(ValueError, match="one name per class"):
        plot_confusion_matrix([0, 1], [0, 1], ["only one"])
