"""The zh edition's sync check: aligned cells, code equal but for comments, stale cells named."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("zh_sync", ROOT / "scripts" / "zh_sync.py")
zh_sync = importlib.util.module_from_spec(spec)
sys.modules["zh_sync"] = zh_sync  # dataclasses look their module up
spec.loader.exec_module(zh_sync)


def notebook(*cells):
    nb = nbformat.v4.new_notebook()
    for kind, source in cells:
        make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        cell = make(source)
        cell.metadata["slideshow"] = {"slide_type": "-"}
        nb.cells.append(cell)
    return nb


ENGLISH = notebook(
    ("markdown", "# Attention\nQueries meet keys."),
    ("code", "import torch\nx = torch.ones(2, 3)  # a batch of two\nprint(x.shape)"),
)


def translated(english):
    zh = nbformat.from_dict(nbformat.v4.new_notebook())
    zh.cells = [nbformat.from_dict(dict(cell)) for cell in english.cells]
    zh.cells[0].source = "# 注意力机制 (attention)\n查询与键相遇。"
    zh.cells[1].source = "import torch\nx = torch.ones(2, 3)  # 两个样本的批次\nprint(x.shape)"
    for en, cell in zip(english.cells, zh.cells, strict=True):
        cell.metadata = {**en.metadata, "zh": {"source_sha": zh_sync.source_sha(en.source)}}
    return zh


def test_a_faithful_translation_is_in_step():
    report = zh_sync.compare("04_x", ENGLISH, translated(ENGLISH))
    assert not report.problems and not report.stale


def test_a_changed_english_markdown_cell_is_named_stale_with_its_new_text():
    zh = translated(ENGLISH)
    changed = nbformat.from_dict(dict(ENGLISH))
    changed.cells = [nbformat.from_dict(dict(c)) for c in ENGLISH.cells]
    changed.cells[0].source = "# Attention\nQueries meet keys, scaled by sqrt(d_k)."
    report = zh_sync.compare("04_x", changed, zh)
    assert [index for index, _, _ in report.stale] == [0]
    text = "\n".join(report.lines())
    assert "cell 0: stale" in text and "scaled by sqrt(d_k)" in text


def test_code_that_differs_beyond_comments_fails():
    zh = translated(ENGLISH)
    zh.cells[1].source = "import torch\nx = torch.ones(3, 3)  # 两个样本的批次\nprint(x.shape)"
    report = zh_sync.compare("04_x", ENGLISH, zh)
    assert any("more than comments" in p for p in report.problems)


def test_misaligned_cells_and_slide_types_fail():
    zh = translated(ENGLISH)
    zh.cells[0].metadata["slideshow"] = {"slide_type": "slide"}
    assert any("slide type" in p for p in zh_sync.compare("04_x", ENGLISH, zh).problems)
    zh.cells = zh.cells[:1]
    assert "align" in zh_sync.compare("04_x", ENGLISH, zh).problems[0]


@pytest.mark.parametrize(
    "source",
    [
        "%matplotlib inline\nx = 1  # one",
        "def f():\n    return 1  # one\n",
        "x = (1,\n  2)  # pair",
    ],
)
def test_comment_free_tokens_ignore_comments_only(source):
    assert zh_sync.code_tokens(source) == zh_sync.code_tokens(source.replace("one", "一"))
    assert zh_sync.code_tokens(source) != zh_sync.code_tokens(source.replace("1", "2"))


def test_untranslated_cells_are_reported():
    zh = translated(ENGLISH)
    zh.cells[1].metadata["zh"]["source_sha"] = zh_sync.UNTRANSLATED
    assert any("untranslated" in p for p in zh_sync.compare("04_x", ENGLISH, zh).problems)


def test_the_glossary_has_the_terms_and_its_check_names_a_missing_one():
    terms = zh_sync.glossary()
    assert len(terms) >= 80 and terms["fine-tuning"] == "微调"
    zh = translated(ENGLISH)
    assert zh_sync.glossary_problems(ENGLISH, zh, terms) == []
    zh.cells[0].source = "# 注意 (attention)\n查询与键相遇。"
    assert zh_sync.glossary_problems(ENGLISH, zh, terms) == [
        "the English uses 'attention', the zh markdown never says '注意力机制'"
    ]


ZH_00 = ROOT / "notebooks" / "zh" / "00_setup.ipynb"


def test_changing_an_english_markdown_cell_in_a_copy_fails_the_check_naming_it(
    tmp_path, monkeypatch, capsys
):
    import shutil

    notebooks = tmp_path / "notebooks"
    (notebooks / "zh").mkdir(parents=True)
    shutil.copy(ROOT / "notebooks" / "00_setup.ipynb", notebooks)
    for suffix in (".ipynb", ".py"):
        shutil.copy(ZH_00.with_suffix(suffix), notebooks / "zh")
    monkeypatch.setattr(zh_sync, "NOTEBOOKS", notebooks)
    monkeypatch.setattr(zh_sync, "ZH", notebooks / "zh")
    assert zh_sync.check() == []  # the copy starts in step

    english = nbformat.read(notebooks / "00_setup.ipynb", as_version=4)
    index = next(
        i for i, cell in enumerate(english.cells) if cell.source.startswith("## What the article")
    )
    english.cells[index].source += "\n\nA sentence the translation does not have yet."
    nbformat.write(english, notebooks / "00_setup.ipynb")

    [report] = zh_sync.check()
    assert report.problems == [] and [i for i, _, _ in report.stale] == [index]
    assert zh_sync.main(["check"]) == 1
    out = capsys.readouterr().out
    assert f"notebooks/zh/00_setup.ipynb cell {index}: stale" in out
    assert "A sentence the translation does not have yet." in out
