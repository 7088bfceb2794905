"""The package's layout: concept folders, nothing else at the root, layers enforced."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "nlpcourse"
FOLDERS = ("data", "text", "models", "train", "evaluate", "plots", "exercises")
ROOT_MODULES = {
    "__init__",
    "__main__",
    "config",
    "errors",
    "cli",
    "cloud",
    "modelcard",
    "notebook_times",
}


def test_only_ground_and_tooling_modules_sit_at_the_root():
    assert {path.stem for path in PACKAGE.glob("*.py")} == ROOT_MODULES
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"} == set(
        FOLDERS
    )


@pytest.mark.parametrize("folder", FOLDERS[:-1])
def test_each_folder_says_what_it_holds_and_reexports_its_names(folder):
    package = importlib.import_module(f"nlpcourse.{folder}")
    assert package.__doc__ and len(package.__doc__.strip()) > 20
    modules = {path.stem for path in (PACKAGE / folder).glob("*.py")} - {"__init__"}
    for name in package.__all__:
        thing = getattr(package, name)
        assert thing.__module__.rsplit(".", 1)[-1] in modules, name


def _lint(tmp_path: Path, extra: str) -> subprocess.CompletedProcess:
    """Run lint-imports on a copy of the package with ``extra`` appended to one module."""
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(PACKAGE, copy / "nlpcourse", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    target = copy / "nlpcourse" / "models" / "bilstm.py"
    target.write_text(target.read_text() + textwrap.dedent(extra))
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(lint), "--no-cache"],
        cwd=copy,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"},
        check=False,
    )


def test_the_layers_hold_and_an_import_against_the_grain_is_named(tmp_path):
    assert _lint(tmp_path / "a", "").returncode == 0
    broken = _lint(tmp_path / "b", "\nfrom nlpcourse.train.loop import fit  # noqa: E402\n")
    assert broken.returncode != 0
    assert "nlpcourse.models.bilstm -> nlpcourse.train.loop" in broken.stdout
