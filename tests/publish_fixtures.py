"""Executed notebooks for the slides and site tests: the real run's, or two small stand-ins."""

from __future__ import annotations

import base64
import importlib
import io
import sys
from pathlib import Path
from types import ModuleType

import nbformat

ROOT = Path(__file__).resolve().parent.parent
REAL_EXECUTED = ROOT / "build" / "executed"


def script(name: str) -> ModuleType:
    """Import one of the course's ``scripts/`` as a module."""
    folder = str(ROOT / "scripts")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module(name)


def _png() -> str:
    """A small real plot as base64 PNG, the way a notebook's display_data carries it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1, 2], [0, 1, 4])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def _cell(kind: str, source: str, slide: str, **metadata) -> nbformat.NotebookNode:
    """A cell with its slide type (and any other metadata)."""
    make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
    cell = make(source)
    cell.metadata.update({"slideshow": {"slide_type": slide}, **metadata})
    return cell


def stand_in(number: int, title: str) -> nbformat.NotebookNode:
    """An executed lesson in the course's shape: title, maths, a plot, notes, an exercise."""
    plot = _cell("code", "plt.plot([0, 1, 2], [0, 1, 4])", "subslide")
    plot.outputs = [nbformat.v4.new_output("display_data", data={"image/png": _png()})]
    printed = _cell("code", "print(2 + 2)", "-")
    printed.outputs = [nbformat.v4.new_output("stream", name="stdout", text="4\n")]
    solution = _cell(
        "code",
        "assert check_answer(4)\nprint('check passed')",
        "skip",
        jupyter={"source_hidden": True},
        tags=["solution"],
    )
    solution.outputs = [nbformat.v4.new_output("stream", name="stdout", text="check passed\n")]
    cells = [
        _cell("markdown", f"# {number:02d} · {title}\n\nA stand-in lesson.", "slide"),
        _cell("code", "import matplotlib.pyplot as plt", "skip"),
        _cell("markdown", "## Attention\n\nScores are scaled by $\\sqrt{d_k}$.", "slide"),
        _cell(
            "markdown", "$$\\mathrm{softmax}\\left(QK^\\top / \\sqrt{d_k}\\right) V$$", "fragment"
        ),
        printed,
        _cell("markdown", "Say why the scale matters.", "notes"),
        plot,
        _cell(
            "markdown", "## Exercises\n\n**1.** Write `answer`. See [the map](index.html).", "slide"
        ),
        _cell("code", "answer = None  # your answer", "-"),
        solution,
    ]
    for count, cell in enumerate((c for c in cells if c.cell_type == "code"), start=1):
        cell.execution_count = count
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def write_stand_ins(folder: Path) -> list[Path]:
    """Two executed stand-in notebooks in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, title in ((1, "First stand-in"), (2, "Second stand-in")):
        path = folder / f"{number:02d}_stand_in_{number}.ipynb"
        nbformat.write(stand_in(number, title), path)
        paths.append(path)
    return paths


def executed_for_browser(tmp: Path) -> tuple[list[Path], bool]:
    """The real run's executed notebooks when there are at least two, else the stand-ins."""
    real = sorted(REAL_EXECUTED.glob("[0-9][0-9]_*.ipynb"))
    if len(real) >= 2:
        return real, True
    return write_stand_ins(tmp), False


# The Chinese twin's markdown, cell by cell (None: a code cell, whose code stays the same).
ZH_MARKDOWN = {
    0: "# {number:02d} · {title}（中文）\n\n一节替身课程。",
    2: "## 注意力\n\n分数要除以 $\\sqrt{{d_k}}$ 进行缩放。",
    3: "$$\\mathrm{{softmax}}\\left(QK^\\top / \\sqrt{{d_k}}\\right) V$$",
    5: "说明缩放为什么重要。",
    7: "## 练习\n\n**1.** 写出 `answer`。参见[课程地图](index.html)。",
}


def zh_stand_in(number: int, title: str) -> nbformat.NotebookNode:
    """The zh twin of ``stand_in``: Chinese markdown, the same code, no outputs (never executed)."""
    nb = stand_in(number, title)
    for index, cell in enumerate(nb.cells):
        cell.metadata["zh"] = {"source_sha": "stand-in"}
        if cell.cell_type == "markdown":
            cell.source = ZH_MARKDOWN[index].format(number=number, title=title)
        else:
            cell.outputs, cell.execution_count = [], None
            cell.source = cell.source.replace("# your answer", "# 你的答案")
    return nb


def write_zh_stand_ins(folder: Path, numbers: tuple[int, ...] = (1,)) -> list[Path]:
    """zh twins of the stand-ins ``numbers`` in ``folder`` (stand-in 2 has none by default)."""
    folder.mkdir(parents=True, exist_ok=True)
    titles = {1: "First stand-in", 2: "Second stand-in"}
    paths = []
    for number in numbers:
        path = folder / f"{number:02d}_stand_in_{number}.ipynb"
        nbformat.write(zh_stand_in(number, titles[number]), path)
        paths.append(path)
    return paths
