"""Shared fixtures: small CSV files in the local-data layout, and the real data when present."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

REAL_DATA = os.environ.get("NLPCOURSE_DATA_DIR")
REAL_HUB_CACHE = os.environ.get("HF_HUB_CACHE")

# Tests that read the real datasets or checkpoints (CI sets both variables).
needs_real_data = pytest.mark.skipif(not REAL_DATA, reason="NLPCOURSE_DATA_DIR is not set")
needs_hub_cache = pytest.mark.skipif(not REAL_HUB_CACHE, reason="HF_HUB_CACHE is not set")


def write_csv(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` (gzipped when the name ends in .gz)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small data folder in the course layout, selected through NLPCOURSE_DATA_DIR."""
    write_csv(
        tmp_path / "sst2" / "train.csv.gz",
        'label,sentence\n0,a dull movie \n1,a wonderful film \n1,"great, truly "\n',
    )
    write_csv(
        tmp_path / "sst2" / "validation.csv.gz",
        "label,sentence\n1,fine \n0,bad \n1,good \n0,awful \n",
    )
    write_csv(
        tmp_path / "ag_news" / "test.csv.gz",
        "label,label_name,title,description\n"
        "3,Business,Oil prices rise,Crude hit \\$50 a barrel\\as traders #39;worried#39;.\n"
        "2,Sports,Team wins,&lt;b&gt;Great&lt;/b&gt; game\n"
        "1,World,Summit opens,Leaders meet.\n"
        "4,Sci/Tech,New chip,Faster than ever.\n",
    )
    monkeypatch.setenv("NLPCOURSE_DATA_DIR", str(tmp_path))
    return tmp_path
