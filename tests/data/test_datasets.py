import pytest
from datasets import ClassLabel

from nlpcourse.data.datasets import (
    AG_NEWS,
    SST2,
    clean_ag_news_text,
    load_ag_news,
    load_sst2,
    write_local,
)
from nlpcourse.errors import DataFileError, DataUnavailableError
from tests.conftest import needs_real_data, write_csv


def test_sst2_local_columns_and_labels(data_dir):
    sst2 = load_sst2()
    assert set(sst2) == {"train", "validation"}
    assert sst2["train"].column_names == ["text", "label"]
    assert isinstance(sst2["train"].features["label"], ClassLabel)
    assert sst2["train"].features["label"].names == ["negative", "positive"]
    assert sst2["train"]["text"] == ["a dull movie", "a wonderful film", "great, truly"]
    assert sst2["validation"]["label"] == [1, 0, 1, 0]


def test_ag_news_local_cleaning_and_zero_based_labels(data_dir):
    ag = load_ag_news()
    assert set(ag) == {"test"}
    test = ag["test"]
    assert test.features["label"].names == ["World", "Sports", "Business", "Sci/Tech"]
    assert test["label"] == [2, 1, 0, 3]  # the files number classes 1-4
    assert test["text"][0] == "Oil prices rise Crude hit $50 a barrel as traders 'worried'."
    assert test["text"][1] == "Team wins Great game"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("a second\\team of", "a second team of"),
        ("costs \\$1B", "costs $1B"),
        ("it#39;s", "it's"),
        ("Inc. &lt;TXN.N&gt; said", "Inc. <TXN.N> said"),
        ("x #151; y", "x — y"),
        ('\\\\""quoted""\\\\', '""quoted""'),
        ('news <FONT face="verdana"><B>-Post</B></FONT>', "news -Post"),
    ],
)
def test_clean_ag_news_text(raw, clean):
    assert clean_ag_news_text(raw) == clean


def test_requested_split_missing_is_explained(data_dir):
    with pytest.raises(DataUnavailableError, match="has test but not train"):
        load_ag_news(splits=("train", "test"))


def test_offline_and_missing_error_text(monkeypatch):
    monkeypatch.delenv("NLPCOURSE_DATA_DIR", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DataUnavailableError) as error:
        load_sst2()
    message = str(error.value)
    assert "SST-2" in message and "stanfordnlp/sst2" in message
    assert "NLPCOURSE_DATA_DIR is not set" in message
    assert "HF_HUB_OFFLINE" in message
    assert "python -m nlpcourse download --to DIR" in message
    assert "\n" not in message  # one paragraph


def test_empty_local_folder_falls_through_to_the_error(tmp_path, monkeypatch):
    monkeypatch.setenv("NLPCOURSE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DataUnavailableError, match="no ag_news split files"):
        load_ag_news()


def test_data_dir_that_is_not_a_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("NLPCOURSE_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(DataFileError, match="not a folder"):
        load_sst2()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("", "is empty: it has no header"),
        ("label,sentence\n", "header but no rows"),
        ("score,sentence\n1,good\n", "no 'label' column"),
        ("label,review\n1,good\n", "no text column"),
        ("label,sentence\n1,good\n2,bad\n", "labels outside 0..1"),
        ("label,sentence\n1,good\nx,bad\n", "labels outside 0..1"),
        ("label,sentence\n1,good\n0,\n", "empty text"),
    ],
)
def test_malformed_file_is_rejected_with_its_name(tmp_path, monkeypatch, content, problem):
    path = write_csv(tmp_path / "sst2" / "train.csv.gz", content)
    monkeypatch.setenv("NLPCOURSE_DATA_DIR", str(tmp_path))
    with pytest.raises(DataFileError) as error:
        load_sst2(splits=("train",))
    assert str(path) in str(error.value)
    assert problem in str(error.value)


def test_ag_news_label_zero_is_out_of_range(tmp_path, monkeypatch):
    write_csv(tmp_path / "ag_news" / "test.csv", "label,title,description\n0,a,b\n")
    monkeypatch.setenv("NLPCOURSE_DATA_DIR", str(tmp_path))
    with pytest.raises(DataFileError, match=r"outside 1\.\.4"):
        load_ag_news()


def test_not_gzip_is_rejected(tmp_path, monkeypatch):
    (tmp_path / "sst2").mkdir()
    (tmp_path / "sst2" / "train.csv.gz").write_bytes(b"this is not gzip")
    monkeypatch.setenv("NLPCOURSE_DATA_DIR", str(tmp_path))
    with pytest.raises(DataFileError, match="could not be read as CSV"):
        load_sst2(splits=("train",))


def test_write_local_round_trip(data_dir, tmp_path_factory, monkeypatch):
    original = {"sst2": load_sst2(), "ag_news": load_ag_news()}
    mirror = tmp_path_factory.mktemp("mirror")
    for spec in (SST2, AG_NEWS):
        write_local(original[spec.name], spec, mirror)
    monkeypatch.setenv("NLPCOURSE_DATA_DIR", str(mirror))
    for spec, loader in ((SST2, load_sst2), (AG_NEWS, load_ag_news)):
        again = loader()
        for split in original[spec.name]:
            assert again[split]["text"] == original[spec.name][split]["text"]
            assert again[split]["label"] == original[spec.name][split]["label"]


def test_hub_is_tried_when_no_local_copy(monkeypatch):
    import datasets

    calls = []

    def fake_load_dataset(repo_id):
        calls.append(repo_id)
        split = datasets.Dataset.from_dict(
            {"text": ["A \\$5 rise #39;now#39;"], "label": [2]},
        )
        return datasets.DatasetDict({"train": split, "test": split})

    monkeypatch.delenv("NLPCOURSE_DATA_DIR", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    ag = load_ag_news()
    assert calls == ["fancyzhx/ag_news"]
    assert ag["test"]["text"] == ["A $5 rise 'now'"]
    assert ag["test"].features["label"].names[2] == "Business"


def test_hub_failure_names_the_endpoint(monkeypatch):
    import datasets

    def broken(repo_id):
        raise ConnectionError("Couldn't reach the server")

    monkeypatch.delenv("NLPCOURSE_DATA_DIR", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "https://mirror.example")
    monkeypatch.setattr(datasets, "load_dataset", broken)
    with pytest.raises(DataUnavailableError, match=r"https://mirror\.example \(Couldn't reach"):
        load_sst2()


@needs_real_data
def test_real_sst2_row_counts():
    sst2 = load_sst2()
    assert sst2["train"].num_rows == 67_349
    assert sst2["validation"].num_rows == 872


@needs_real_data
def test_real_ag_news_test_split_is_balanced():
    test = load_ag_news()["test"]
    assert test.num_rows == 7_600
    counts = [test["label"].count(label) for label in range(4)]
    assert counts == [1_900] * 4
    assert not any("#39;" in text or "\\" in text for text in test["text"])
