"""Pytest hooks for the whole repository: a wall-time table for executed notebooks.

After a run that executed notebooks, the table is printed and written twice under ``build/``:
``notebook_times.md`` (to read) and ``notebook_times.csv`` (notebook, seconds, result, date,
machine), the file notebook 00 reads once it is copied to ``data/notebook_times.csv``.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from pathlib import Path

_NOTEBOOK_SECONDS: dict[str, float] = defaultdict(float)
_NOTEBOOK_FAILED: set[str] = set()


def pytest_runtest_logreport(report):
    """Add up the time of every cell of every notebook nbval executes."""
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _NOTEBOOK_SECONDS[path] += report.duration
        if report.failed:
            _NOTEBOOK_FAILED.add(path)


def pytest_terminal_summary(terminalreporter):
    """Print the notebooks' wall times; write build/notebook_times.md and .csv."""
    if not _NOTEBOOK_SECONDS:
        return
    from nlpcourse.notebook_times import NotebookTime, machine_description, write_notebook_times

    rows = ["| notebook | wall time | result |", "|---|---:|---|"]
    measured = []
    today = datetime.date.today().isoformat()
    machine = machine_description()
    for path, seconds in sorted(_NOTEBOOK_SECONDS.items()):
        result = "FAILED" if path in _NOTEBOOK_FAILED else "passed"
        name = Path(path).stem  # the Chinese edition's notebooks are named zh/NN_topic
        name = f"zh/{name}" if Path(path).parent.name == "zh" else name
        rows.append(f"| {name}.ipynb | {seconds / 60:.1f} min ({seconds:.0f} s) | {result} |")
        measured.append(NotebookTime(name, seconds, result, today, machine))
    total = sum(_NOTEBOOK_SECONDS.values())
    rows.append(f"| total | {total / 60:.1f} min | |")
    terminalreporter.write_sep("=", "notebook wall times")
    for row in rows:
        terminalreporter.write_line(row)
    terminalreporter.write_line(f"measured on {today}: {machine}")
    out = Path("build") / "notebook_times.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(rows) + f"\n\nMeasured on {today}: {machine}\n")
    write_notebook_times(measured, out.with_suffix(".csv"))


# Executed notebooks for the slides and the site: nbval's outputs saved to build/executed/.
pytest_plugins = ["tests.nbval_executed"]
