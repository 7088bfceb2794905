"""Build and check the course notebooks from their paired percent-format scripts.

    python scripts/notebooks.py build [NN]   execute notebooks/NN_*.py and write NN_*.ipynb
                                             (and build/executed/NN_*.ipynb with all outputs)
    python scripts/notebooks.py build zh/NN  the same for the Chinese edition, notebooks/zh/
                                             (executed copy in build/executed/zh/)
    python scripts/notebooks.py check        pairs in sync, outputs stripped except kept cells,
                                             slide metadata on every cell (both editions)
    python scripts/notebooks.py strip        strip the committed notebooks again (no execution)

A cell whose metadata has ``keep_output: true`` keeps its outputs in the committed notebook:
those are the outputs nbval compares (the cell also carries ``# NBVAL_CHECK_OUTPUT``).
Every other output is stripped, as nbstripout does.

Every cell carries ``slideshow={"slide_type": ...}`` (the decks of ``make slides`` and RISE in
JupyterLab read it): the first cell is a ``slide``, and the ``.py`` and ``.ipynb`` agree.

The Chinese edition in ``notebooks/zh/`` is checked by the same rules; whether it is in step
with the English notebooks is ``scripts/zh_sync.py check``'s job.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
KEEP = "keep_output"
SLIDE_TYPES = ("slide", "subslide", "fragment", "-", "skip", "notes")


def sources(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """The (cell type, source) pairs that must agree between a notebook and its script."""
    return [(cell.cell_type, cell.source.strip()) for cell in nb.cells]


def stable_ids(nb: nbformat.NotebookNode) -> None:
    """Give each cell an id derived from its content, so a rebuild does not rename every cell."""
    seen: dict[str, int] = {}
    for cell in nb.cells:
        digest = hashlib.sha1(f"{cell.cell_type}\n{cell.source}".encode()).hexdigest()[:8]
        seen[digest] = seen.get(digest, 0) + 1
        cell.id = digest if seen[digest] == 1 else f"{digest}-{seen[digest]}"


def strip(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove outputs and execution counts except in cells marked ``keep_output``."""
    stable_ids(nb)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if not cell.metadata.get(KEEP):
            cell.outputs = []
            cell.execution_count = None  # kept cells keep theirs: nbval skips a cell without one
        cell.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)
    return nb


def build(script: Path) -> float:
    """Execute the notebook paired with ``script`` and write it stripped; return seconds."""
    nb = jupytext.read(script)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    start = time.perf_counter()
    folder = script.resolve().parent  # the kernel starts in the notebook's folder, as in Jupyter
    client = NotebookClient(
        nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    client.execute()
    elapsed = time.perf_counter() - start
    edition = folder.relative_to(NOTEBOOKS)  # "." or "zh"
    executed = ROOT / "build" / "executed" / edition / f"{script.stem}.ipynb"  # every output
    executed.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, executed)
    target = script.with_suffix(".ipynb")
    nbformat.write(strip(nb), target)
    jupytext.write(jupytext.read(target), script, fmt="py:percent")
    return elapsed


def slide_type(cell: nbformat.NotebookNode) -> str | None:
    """A cell's ``slideshow.slide_type``, or None when it has none."""
    slideshow = cell.metadata.get("slideshow")
    return slideshow.get("slide_type") if isinstance(slideshow, dict) else None


def _fix(stem: str) -> str:
    """How to rebuild a pair after editing its ``.py`` (``stem`` may start with ``zh/``)."""
    if stem.startswith("zh/"):
        return f"`jupytext --sync notebooks/{stem}.py`"
    return f"`make notebooks NB={stem[:2]}`"


def slide_problems(
    stem: str, nb: nbformat.NotebookNode, paired: nbformat.NotebookNode
) -> list[str]:
    """What is wrong with a pair's slide metadata, as messages."""
    types = [slide_type(cell) for cell in nb.cells]
    problems = []
    fix = (
        f'give it `slideshow={{"slide_type": ...}}` in its `# %%` header, one of '
        f"{', '.join(SLIDE_TYPES)}, then {_fix(stem)}"
    )
    for index, kind in enumerate(types):
        if kind not in SLIDE_TYPES:
            found = "no slide type" if kind is None else f"slide type {kind!r}"
            problems.append(f"notebooks/{stem}.ipynb cell {index}: {found}; {fix}")
    if types and types[0] != "slide":
        problems.append(
            f"notebooks/{stem}.ipynb cell 0: the title cell must open a slide "
            f'(slideshow={{"slide_type": "slide"}}), found {types[0]!r}'
        )
    paired_types = [slide_type(cell) for cell in paired.cells]
    for index, (kind, other) in enumerate(zip(types, paired_types, strict=True)):
        if kind != other:
            problems.append(
                f"notebooks/{stem} cell {index}: slide type {kind!r} in the .ipynb but {other!r} "
                f"in the .py; edit the .py and run {_fix(stem)}"
            )
    return problems


def editions() -> tuple[Path, Path]:
    """The folders of the course's notebooks: the English ones, then the Chinese edition."""
    return NOTEBOOKS, NOTEBOOKS / "zh"


def check() -> list[str]:
    """Every problem with the committed notebooks of every edition, as messages."""
    problems = []
    for folder in editions():
        problems += check_folder(folder)
    return problems


def check_folder(folder: Path) -> list[str]:
    """Every problem with the committed notebooks of one folder, as messages."""
    problems = []
    prefix = "" if folder == NOTEBOOKS else f"{folder.name}/"  # zh/ for the Chinese edition
    scripts = {prefix + p.stem for p in folder.glob("[0-9][0-9]_*.py")}
    notebooks = {prefix + p.stem for p in folder.glob("[0-9][0-9]_*.ipynb")}
    for stem in sorted(scripts ^ notebooks):
        problems.append(f"notebooks/{stem}: the .py and .ipynb must both exist (jupytext pair)")
    for stem in sorted(scripts & notebooks):
        name = stem.removeprefix(prefix)
        nb = nbformat.read(folder / f"{name}.ipynb", as_version=4)
        paired = jupytext.read(folder / f"{name}.py")
        if sources(nb) != sources(paired):
            problems.append(f"notebooks/{stem}: .ipynb and .py differ; run {_fix(stem)}")
        else:
            problems += slide_problems(stem, nb, paired)
        for index, cell in enumerate(nb.cells):
            kept = bool(cell.metadata.get(KEEP))
            if cell.cell_type == "code" and not kept and cell.execution_count is not None:
                problems.append(
                    f"notebooks/{stem}.ipynb cell {index}: execution count committed "
                    f"(run `python scripts/notebooks.py strip`)"
                )
            if cell.cell_type == "code" and kept and cell.execution_count is None:
                problems.append(
                    f"notebooks/{stem}.ipynb cell {index}: a kept cell needs its execution "
                    f"count, or nbval reports 'Unrun reference cell has outputs' "
                    f"(run {_fix(stem)})"
                )
            if cell.cell_type == "code" and cell.outputs and not cell.metadata.get(KEEP):
                problems.append(
                    f"notebooks/{stem}.ipynb cell {index}: outputs committed in a cell nbval "
                    f"does not compare (strip them, or mark the cell keep_output)"
                )
    return problems


def main(argv: list[str]) -> int:
    """Command-line entry point."""
    if not argv or argv[0] not in {"build", "check", "strip"}:
        print(__doc__)
        return 2
    if argv[0] == "check":
        problems = check()
        for problem in problems:
            print(problem)
        print("notebooks: ok" if not problems else f"notebooks: {len(problems)} problem(s)")
        return 1 if problems else 0
    if argv[0] == "strip":
        for folder in editions():
            for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
                nbformat.write(strip(nbformat.read(path, as_version=4)), path)
        return 0
    prefix = argv[1] if len(argv) > 1 else ""
    folder = NOTEBOOKS
    if prefix.startswith("zh/"):  # the Chinese edition: build zh/NN
        folder, prefix = NOTEBOOKS / "zh", prefix.removeprefix("zh/")
    os.environ.setdefault("NLPCOURSE_PROFILE", "quick")
    for script in sorted(folder.glob(f"{prefix}*.py")):
        if script.name[:2].isdigit():
            print(f"{script.name}: {build(script):.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
