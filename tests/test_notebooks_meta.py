"""The committed notebooks: paired with their scripts, outputs stripped, shape of a lesson."""

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
sys.path.insert(0, str(ROOT / "scripts"))

import notebooks as nbtool  # noqa: E402


def test_every_notebook_is_numbered_and_paired():
    assert NOTEBOOKS, "no notebooks found"
    for path in NOTEBOOKS:
        assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name)
    assert nbtool.check() == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_ends_with_checked_exercises_and_solutions(path):
    cells = json.loads(path.read_text())["cells"]
    code = ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]
    assert any("seed_everything(" in source for source in code), "seed the notebook"
    checks = [source for source in code if re.search(r"\bcheck_\w+\(", source)]
    assert len(checks) >= 2, "each notebook ends with exercises checked by check_… helpers"
    hidden = [
        cell
        for cell in cells
        if cell["metadata"].get("jupyter", {}).get("source_hidden")
        and "solution" in cell["metadata"].get("tags", [])
    ]
    assert len(hidden) >= 2, "each exercise has a collapsed solution cell"
    for cell in hidden:
        assert re.search(r"assert check_\w+\(", "".join(cell["source"])), (
            "a solution proves itself against its check"
        )


def test_check_spots_unpaired_and_unstripped(tmp_path, monkeypatch):
    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(1)", metadata={"slideshow": {"slide_type": "slide"}})
    cell.outputs = [nbformat.v4.new_output("stream", text="1\n")]
    nb.cells = [cell]
    nbformat.write(nb, tmp_path / "01_x.ipynb")
    monkeypatch.setattr(nbtool, "NOTEBOOKS", tmp_path)
    problems = nbtool.check()
    assert any("must both exist" in p for p in problems)
    (tmp_path / "01_x.py").write_text('# %% slideshow={"slide_type": "slide"}\nprint(1)\n')
    problems = nbtool.check()
    assert len(problems) == 1 and "outputs committed" in problems[0]


def test_check_holds_the_chinese_edition_to_the_same_rules(tmp_path, monkeypatch):
    import nbformat

    zh = tmp_path / "zh"
    zh.mkdir()
    cell = nbformat.v4.new_code_cell("print(1)", metadata={"slideshow": {"slide_type": "slide"}})
    cell.outputs = [nbformat.v4.new_output("stream", text="1\n")]
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), zh / "01_x.ipynb")
    monkeypatch.setattr(nbtool, "NOTEBOOKS", tmp_path)
    assert nbtool.check() == [
        "notebooks/zh/01_x: the .py and .ipynb must both exist (jupytext pair)"
    ]
    (zh / "01_x.py").write_text('# %% slideshow={"slide_type": "slide"}\nprint(2)\n')
    assert nbtool.check() == [
        "notebooks/zh/01_x: .ipynb and .py differ; run `jupytext --sync notebooks/zh/01_x.py`",
        "notebooks/zh/01_x.ipynb cell 0: outputs committed in a cell nbval does not compare "
        "(strip them, or mark the cell keep_output)",
    ]
    (zh / "01_x.py").write_text('# %% slideshow={"slide_type": "-"}\nprint(1)\n')
    assert any("zh/01_x" in p and "in the .py" in p for p in nbtool.check())


def test_check_wants_counts_only_on_kept_cells(tmp_path, monkeypatch):
    import nbformat

    kept = nbformat.v4.new_code_cell(
        "# NBVAL_CHECK_OUTPUT\nprint(1)", metadata={"keep_output": True}
    )
    kept.outputs = [nbformat.v4.new_output("stream", text="1\n")]
    other = nbformat.v4.new_code_cell("x = 1", execution_count=2)
    nb = nbformat.v4.new_notebook(cells=[kept, other])
    nbformat.write(nb, tmp_path / "01_x.ipynb")
    (tmp_path / "01_x.py").write_text("# %%\nprint(1)\n")
    monkeypatch.setattr(nbtool, "NOTEBOOKS", tmp_path)
    problems = nbtool.check()
    assert any("cell 0: a kept cell needs its execution count" in p for p in problems)
    assert any("cell 1: execution count committed" in p for p in problems)
    stripped = nbtool.strip(nbformat.read(tmp_path / "01_x.ipynb", as_version=4))
    assert stripped.cells[1].execution_count is None
    assert stripped.cells[0].outputs, "a kept cell keeps its outputs"


def test_strip_gives_stable_unique_ids():
    import nbformat

    cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("x = 1")]
    first = nbtool.strip(nbformat.v4.new_notebook(cells=cells))
    again = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1") for _ in range(2)])
    second = nbtool.strip(again)
    assert [c.id for c in first.cells] == [c.id for c in second.cells]
    assert len({c.id for c in first.cells}) == 2
    nbformat.validate(first)
