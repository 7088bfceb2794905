from collections import Counter

import pytest
from datasets import DatasetDict

from nlpcourse.data.splits import (
    UNLABELLED,
    ag_news_splits,
    ag_news_three_way,
    hide_labels,
    scarce_label_split,
    stratified_split,
    stratified_subset,
    three_way_split,
    unseen_rows,
    with_hidden_labels,
)
from tests.conftest import needs_real_data
from tests.tiny_bert import tiny_news


def test_stratified_split_keeps_class_shares_and_repeats():
    data = tiny_news(100, num_classes=4)
    parts = stratified_split(data, test_size=0.2, seed=7)
    assert (len(parts["train"]), len(parts["test"])) == (80, 20)
    assert Counter(parts["test"]["label"]) == {0: 5, 1: 5, 2: 5, 3: 5}
    again = stratified_split(data, test_size=0.2, seed=7)
    assert list(again["test"]["text"]) == list(parts["test"]["text"])
    other = stratified_split(data, test_size=0.2, seed=8)
    assert list(other["test"]["text"]) != list(parts["test"]["text"])


def test_split_is_a_partition():
    data = tiny_news(60, num_classes=3).map(lambda row, i: {"row": i}, with_indices=True)
    parts = stratified_split(data, 0.25, seed=0)
    rows = list(parts["train"]["row"]) + list(parts["test"]["row"])
    assert sorted(rows) == list(range(60))


def test_stratified_subset():
    data = tiny_news(90, num_classes=3)
    subset = stratified_subset(data, 30, seed=0)
    assert Counter(subset["label"]) == {0: 10, 1: 10, 2: 10}
    assert len(stratified_subset(data, None, seed=0)) == 90


@pytest.mark.parametrize(
    ("size", "test_size", "message"),
    [(0, 0.2, "empty"), (40, 1.0, "fraction"), (10, 0.1, "fewer rows")],
)
def test_bad_split_arguments(size, test_size, message):
    with pytest.raises(ValueError, match=message):
        stratified_split(tiny_news(size), test_size, seed=0)


@needs_real_data
def test_quick_ag_news_split_is_the_80_20_of_the_test_split():
    parts = ag_news_splits(use_official_train=False, test_size=0.2, seed=42)
    assert (len(parts["train"]), len(parts["test"])) == (6_080, 1_520)
    assert set(Counter(parts["test"]["label"]).values()) == {380}
    assert parts["train"].features["label"].names == ["World", "Sports", "Business", "Sci/Tech"]


def test_three_way_split_is_disjoint_stratified_and_deterministic():
    data = tiny_news(200, num_classes=4).map(lambda row, i: {"row": i}, with_indices=True)
    parts = three_way_split(stratified_split(data, 0.2, seed=3), val_size=0.25, seed=3)
    assert [len(parts[k]) for k in ("train", "validation", "test")] == [120, 40, 40]
    rows = [set(parts[k]["row"]) for k in ("train", "validation", "test")]
    assert not (rows[0] & rows[1]) and not (rows[0] & rows[2]) and not (rows[1] & rows[2])
    assert set().union(*rows) == set(range(200))
    assert set(Counter(parts["validation"]["label"]).values()) == {10}
    again = three_way_split(stratified_split(data, 0.2, seed=3), val_size=0.25, seed=3)
    assert list(again["validation"]["row"]) == list(parts["validation"]["row"])
    by_count = three_way_split(stratified_split(data, 0.2, seed=3), val_size=40, seed=3)
    assert len(by_count["validation"]) == 40


@pytest.mark.parametrize("val_size", [0, 1.0, 160, 500])
def test_three_way_split_refuses_an_empty_part(val_size):
    parts = stratified_split(tiny_news(200, num_classes=4), 0.2, seed=0)
    with pytest.raises(ValueError, match="leaves no"):
        three_way_split(parts, val_size=val_size, seed=0)


def test_three_way_split_needs_both_parts():
    parts = stratified_split(tiny_news(40), 0.5, seed=0)
    with pytest.raises(ValueError, match="'test' part"):
        three_way_split(DatasetDict({"train": parts["train"]}), 0.2, seed=0)


@needs_real_data
def test_quick_ag_news_three_way():
    parts = ag_news_three_way(use_official_train=False, test_size=0.2, val_size=0.2, seed=42)
    assert [len(parts[k]) for k in ("train", "validation", "test")] == [4_864, 1_216, 1_520]
    again = ag_news_splits(use_official_train=False, test_size=0.2, seed=42)
    assert list(parts["test"]["text"]) == list(again["test"]["text"])


def test_unseen_rows_drops_every_seen_text_and_its_duplicates():
    data = tiny_news(40, num_classes=2)
    seen = stratified_subset(data, 10, seed=0)
    rest = unseen_rows(data, seen)
    assert not set(rest["text"]) & set(seen["text"])
    assert len(rest) + sum(text in set(seen["text"]) for text in data["text"]) == len(data)
    with pytest.raises(ValueError, match="no unseen"):
        unseen_rows(seen, data)
    with pytest.raises(ValueError, match="'title' column"):
        unseen_rows(data, seen, column="title")


def test_scarce_label_split_parts_are_disjoint_and_unseen_by_the_teacher():
    data = tiny_news(200, num_classes=4, seed=3)
    data = data.add_column("text2", list(data["text"]))  # a duplicate text must not leak either
    teacher_rows = stratified_subset(data, 60, seed=1)
    parts = scarce_label_split(data, teacher_rows, labelled_size=20, unlabelled_size=None, seed=0)
    labelled, unlabelled = set(parts["labelled"]["text"]), set(parts["unlabelled"]["text"])
    seen = set(teacher_rows["text"])
    assert len(parts["labelled"]) == 20
    assert Counter(parts["labelled"]["label"]) == {0: 5, 1: 5, 2: 5, 3: 5}
    assert not labelled & unlabelled
    assert not unlabelled & seen and not labelled & seen
    fresh = {t for t in data["text"] if t not in seen}
    assert labelled | unlabelled == fresh  # None: every fresh text not labelled is unlabelled
    again = scarce_label_split(data, teacher_rows, 20, None, seed=0)
    assert list(again["labelled"]["text"]) == list(parts["labelled"]["text"])
    few = scarce_label_split(data, teacher_rows, 20, 40, seed=0)
    assert len(few["unlabelled"]) == 40 and set(few["unlabelled"]["text"]) <= unlabelled


def test_scarce_label_split_with_duplicated_texts():
    data = tiny_news(80, num_classes=2, seed=5)
    doubled = data.select(list(range(80)) + list(range(40)))  # 40 texts twice
    teacher_rows = doubled.select(range(10))
    parts = scarce_label_split(doubled, teacher_rows, 10, None, seed=0)
    assert not set(parts["labelled"]["text"]) & set(parts["unlabelled"]["text"])
    assert not set(parts["unlabelled"]["text"]) & set(teacher_rows["text"])


def test_hidden_labels():
    data = tiny_news(12, num_classes=3)
    hidden = hide_labels(data)
    assert set(hidden["label"]) == {UNLABELLED} and hidden["text"] == data["text"]
    mixed = with_hidden_labels(data.select(range(4)), data.select(range(4, 12)))
    assert mixed["label"] == list(data["label"][:4]) + [UNLABELLED] * 8
    assert mixed["text"] == data["text"]
    with pytest.raises(ValueError, match="no 'label' column"):
        hide_labels(data.remove_columns("label"))
