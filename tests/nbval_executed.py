"""Pytest plugin: keep what nbval executed, as ``build/executed/NN_*.ipynb`` with every output.

A notebook of the Chinese edition (``notebooks/zh/``) goes to ``build/executed/zh/``, beside
its English twin of the same name rather than over it.

The slides and the site are built from these files, so they show the outputs of the same run CI
checks, not of a second execution. A notebook is written as soon as all its cells have passed;
a failed notebook's stale copy is removed so no page shows outputs the run did not produce.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest

_RUNS: dict[str, dict] = {}  # notebook path -> {"nb", "outputs": {index: outputs}, "failed"}


def _record(item, outputs: list | None, failed: bool) -> None:
    """Remember one nbval cell's outputs; write the notebook once its last cell has run."""
    notebook = getattr(item.parent, "nb", None)
    if notebook is None:
        return
    run = _RUNS.setdefault(str(item.parent.path), {"nb": notebook, "outputs": {}, "failed": False})
    index = next(i for i, cell in enumerate(notebook.cells) if cell is item.cell)
    run["outputs"][index] = [copy.deepcopy(o) for o in (outputs or [])]
    run["failed"] = run["failed"] or failed
    _write(executed_folder(Path(item.config.rootpath), item.parent.path), item.parent.path, run)


def executed_folder(root: Path, notebook) -> Path:
    """Where the executed copy of ``notebook`` goes: ``build/executed/``, ``…/zh/`` for zh."""
    folder = root / "build" / "executed"
    return folder / "zh" if Path(notebook).parent.name == "zh" else folder


def _write(folder: Path, path, run: dict) -> None:
    """Write a notebook whose cells all ran and passed; remove the stale copy of a failed one."""
    target = folder / Path(path).name
    code_cells = sum(cell.cell_type == "code" for cell in run["nb"].cells)
    if run["failed"]:
        target.unlink(missing_ok=True)
    elif len(run["outputs"]) == code_cells:
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(executed_copy(run["nb"], run["outputs"]), target)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """After each nbval cell runs, keep its outputs (nbval stores them on ``test_outputs``)."""
    outcome = yield
    report = outcome.get_result()
    if type(item).__name__ != "IPyNbCell" or not hasattr(item, "cell"):
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        # a skipped cell (# NBVAL_SKIP) is kept without outputs; a failed one spoils the copy
        _record(item, getattr(item, "test_outputs", None), failed=report.failed)


def executed_copy(
    notebook: nbformat.NotebookNode, outputs: dict[int, list]
) -> nbformat.NotebookNode:
    """The notebook with the recorded outputs and fresh execution counts in its code cells."""
    executed = copy.deepcopy(notebook)
    count = 0
    for index, cell in enumerate(executed.cells):
        if cell.cell_type != "code":
            continue
        count += 1
        cell.execution_count = count
        cell.outputs = [nbformat.from_dict(o) for o in outputs.get(index, [])]
        for output in cell.outputs:
            if output.output_type == "execute_result":
                output.execution_count = count
    return executed


def pytest_sessionfinish(session):
    """Forget the run (notebooks were written as they finished)."""
    _RUNS.clear()
