"""The course's data/ folder: the default when NLPCOURSE_DATA_DIR is unset, and for download."""

from pathlib import Path

import pytest

from nlpcourse import cli
from nlpcourse.data import datasets
from nlpcourse.errors import CourseError

ROOT = Path(__file__).resolve().parents[2]


def test_data_folder_is_committed_with_its_readme():
    assert (ROOT / "data" / "README.md").is_file()
    assert datasets.default_data_dir() == ROOT / "data"


def test_unset_variable_means_the_course_data_folder(monkeypatch):
    monkeypatch.delenv("NLPCOURSE_DATA_DIR", raising=False)
    assert datasets.local_data_dir() == ROOT / "data"
    monkeypatch.setenv("NLPCOURSE_DATA_DIR", "  ")
    assert datasets.local_data_dir() == ROOT / "data"


def test_default_folder_is_read_first(monkeypatch, tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "nlpcourse").mkdir()
    (tmp_path / "data" / "sst2").mkdir(parents=True)
    (tmp_path / "data" / "sst2" / "train.csv").write_text("label,sentence\n1,a fine film\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NLPCOURSE_DATA_DIR", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    sst2 = datasets.load_sst2(splits=("train",))
    assert sst2["train"]["text"] == ["a fine film"]


def test_download_writes_to_the_course_data_folder_by_default(monkeypatch, tmp_path):
    assert cli.download_targets(None) == (ROOT / "data", ROOT / "data" / "hf-cache" / "hub")
    assert cli.download_targets(tmp_path) == (tmp_path / "data", tmp_path / "hf-cache" / "hub")
    monkeypatch.setattr(cli, "default_data_dir", lambda: None)
    with pytest.raises(CourseError, match="--to DIR"):
        cli.download_targets(None)


def test_downloads_are_git_ignored_but_the_readme_is_not():
    rules = (ROOT / ".gitignore").read_text().splitlines()
    assert "data/*" in rules and "!data/README.md" in rules
