"""Seeded, stratified splits of a labelled ``datasets.Dataset``: train / validation / test."""

from __future__ import annotations

from datasets import Dataset, DatasetDict

from nlpcourse.config import Profile, get_profile


def _labels(dataset: Dataset, label_column: str) -> list[int]:
    if label_column not in dataset.column_names:
        raise ValueError(f"The dataset has no {label_column!r} column: {dataset.column_names}.")
    return list(dataset[label_column])


def stratified_split(
    dataset: Dataset, test_size: float, seed: int, label_column: str = "label"
) -> DatasetDict:
    """Split into ``train`` and ``test`` with the same class shares in both, reproducibly.

    The same call as ``sklearn.model_selection.train_test_split(..., test_size=test_size,
    stratify=labels, random_state=seed)`` made on the row indices.
    """
    from sklearn.model_selection import train_test_split

    if len(dataset) == 0:
        raise ValueError("Cannot split an empty dataset.")
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be a fraction between 0 and 1, got {test_size}.")
    labels = _labels(dataset, label_column)
    n_classes = len(set(labels))
    n_test = round(len(dataset) * test_size)
    if min(n_test, len(dataset) - n_test) < n_classes:
        raise ValueError(
            f"{len(dataset)} rows with test_size={test_size} leave fewer rows on one side than "
            f"the {n_classes} classes: use more rows or a test_size nearer 0.5."
        )
    train_idx, test_idx = train_test_split(
        list(range(len(dataset))), test_size=test_size, stratify=labels, random_state=seed
    )
    return DatasetDict({"train": dataset.select(train_idx), "test": dataset.select(test_idx)})


def stratified_subset(
    dataset: Dataset, size: int | None, seed: int, label_column: str = "label"
) -> Dataset:
    """``size`` rows with the dataset's class shares (all rows, shuffled, when size is None)."""
    if size is None or size >= len(dataset):
        return dataset.shuffle(seed=seed)
    if size < 1:
        raise ValueError(f"size must be at least 1 (or None for all rows), got {size}.")
    fraction = size / len(dataset)
    return stratified_split(dataset, fraction, seed, label_column=label_column)["test"]


def ag_news_splits(use_official_train: bool, test_size: float, seed: int) -> DatasetDict:
    """AG News as ``train`` and ``test``: the official splits, or the test split cut in two.

    ``use_official_train`` (the ``full`` profile) trains on the 120,000-row train split and
    reports on the 7,600-row test split; otherwise (``quick``, offline) the test split is
    divided by :func:`stratified_split` with ``test_size``.
    """
    from nlpcourse.data.datasets import load_ag_news

    if use_official_train:
        return load_ag_news(["train", "test"])
    return stratified_split(load_ag_news(["test"])["test"], test_size, seed)


def three_way_split(
    parts: DatasetDict, val_size: float | int, seed: int, label_column: str = "label"
) -> DatasetDict:
    """``train``, ``validation`` and ``test``: validation carved from ``parts["train"]``.

    ``parts`` holds ``train`` and ``test`` (from :func:`stratified_split` or the official
    splits); ``val_size`` is a fraction of the training rows or a row count. The carve is
    stratified and seeded, so the same call gives the same rows. Every choice in the course
    (variant, learning rate, epoch, prompt) is made on ``validation``; ``test`` is scored once.
    """
    for name in ("train", "test"):
        if name not in parts or len(parts[name]) == 0:
            raise ValueError(f"The {name!r} part is missing or empty: nothing to split.")
    train = parts["train"]
    fraction = val_size / len(train) if isinstance(val_size, int) else val_size
    if not 0 < fraction < 1:
        raise ValueError(
            f"val_size={val_size} leaves no training or no validation rows "
            f"out of {len(train)}: use a fraction in (0, 1) or a count below {len(train)}."
        )
    carved = stratified_split(train, fraction, seed, label_column=label_column)
    return DatasetDict(
        {"train": carved["train"], "validation": carved["test"], "test": parts["test"]}
    )


def ag_news_three_way(
    use_official_train: bool, test_size: float, val_size: float | int, seed: int
) -> DatasetDict:
    """AG News as ``train`` / ``validation`` / ``test``, made the same way by 05, 06, 08 and 09.

    ``test`` is the held-out ``test_size`` share of the official test split in ``quick`` and
    the official test split in ``full``; ``validation`` is carved from what remains for
    training (see :func:`three_way_split`).
    """
    return three_way_split(ag_news_splits(use_official_train, test_size, seed), val_size, seed)


def unseen_rows(dataset: Dataset, seen: Dataset, column: str = "text") -> Dataset:
    """The rows of ``dataset`` whose ``column`` appears nowhere in ``seen`` (e.g. a transfer set).

    Matching on the text, not on the row number, also drops duplicates of a seen text, so a
    model trained on ``seen`` has met none of what is returned.
    """
    if column not in dataset.column_names or column not in seen.column_names:
        raise ValueError(f"both datasets need a {column!r} column.")
    known = set(seen[column])
    keep = [i for i, value in enumerate(dataset[column]) if value not in known]
    if not keep:
        raise ValueError(f"every row of the dataset was seen: no unseen {column!r} is left.")
    return dataset.select(keep)


UNLABELLED = -100  # the label of a row whose gold label is hidden (cross-entropy's ignore_index)


def scarce_label_split(
    pool: Dataset,
    seen: Dataset,
    labelled_size: int,
    unlabelled_size: int | None,
    seed: int,
    column: str = "text",
) -> DatasetDict:
    """``labelled`` and ``unlabelled`` rows of ``pool`` for distillation when labels are scarce.

    ``labelled`` (stratified, ``labelled_size`` rows) keeps its gold labels; ``unlabelled``
    (``unlabelled_size`` rows, None for all that are left) is what a teacher labels with soft
    targets. Neither part holds a ``column`` value found in ``seen`` (the teacher's training
    rows), and no value is in both parts, duplicates included. ``unlabelled`` keeps its gold
    labels for measuring; :func:`hide_labels` removes them before training.
    """
    fresh = unseen_rows(pool, seen, column)
    labelled = stratified_subset(fresh, labelled_size, seed)
    rest = unseen_rows(fresh, labelled, column)
    unlabelled = stratified_subset(rest, unlabelled_size, seed)
    return DatasetDict({"labelled": labelled, "unlabelled": unlabelled})


def hide_labels(dataset: Dataset, label_column: str = "label") -> Dataset:
    """``dataset`` with every label set to :data:`UNLABELLED` (kept as a plain integer column)."""
    _labels(dataset, label_column)  # the column must exist
    hidden = dataset.flatten_indices().remove_columns(label_column)
    return hidden.add_column(label_column, [UNLABELLED] * len(dataset))


def with_hidden_labels(
    labelled: Dataset, unlabelled: Dataset, label_column: str = "label"
) -> Dataset:
    """One training set: ``labelled`` rows with their labels, then ``unlabelled`` rows hidden."""
    from datasets import Value, concatenate_datasets
    from datasets.utils import logging as datasets_logging

    was_enabled = datasets_logging.is_progress_bar_enabled()
    datasets_logging.disable_progress_bar()  # no "Casting the dataset" bars in a notebook
    try:
        plain = labelled.cast_column(label_column, Value("int64"))
        hidden = hide_labels(unlabelled, label_column).cast_column(label_column, Value("int64"))
        return concatenate_datasets([plain, hidden.select_columns(plain.column_names)])
    finally:
        if was_enabled:
            datasets_logging.enable_progress_bar()


def sst2_subset(profile: Profile | None = None, seed: int | None = None) -> DatasetDict:
    """SST-2 as ``train`` / ``validation`` / ``test`` for notebooks 01, 02 and 04.

    ``train`` is the profile's seeded subset of the 67,349 training *phrases*. Those phrases are
    cut from about 7,000 sentences, so a validation part carved from them would share sentences
    with training; instead the 872 official validation *sentences* (the labelled test split is
    not public) are divided, stratified and seeded, into ``validation`` (every choice, early
    stopping included) and ``test`` (scored once, at the end).
    """
    from nlpcourse.data.datasets import load_sst2

    profile = profile or get_profile()
    seed = profile.seed if seed is None else seed
    data = load_sst2(["train", "validation"])
    train = data["train"]
    size = profile.bilstm.train_size
    if size is not None:
        if not 0 < size <= len(train):
            raise ValueError(f"train_size must be in 1..{len(train)}, got {size}.")
        train = train.shuffle(seed=seed).select(range(size))
    held_out = stratified_split(data["validation"], profile.bilstm.test_share, seed)
    return DatasetDict({"train": train, "validation": held_out["train"], "test": held_out["test"]})
