from collections import Counter

import pytest
from datasets import DatasetDict

from nlpcourse.data.splits import (
    ag_news_splits,
    ag_news_three_way,
    stratified_split,
    stratified_subset,
    three_way_split,
    unseen_rows,
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
