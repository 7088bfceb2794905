"""Notebook 00's "Run it in the cloud" cell and its tested twin, ``nlpcourse/cloud.py``."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from nlpcourse import cloud

ROOT = Path(__file__).resolve().parent.parent
PLATFORMS = {
    "COLAB_RELEASE_TAG": ("release-colab_20261201-060000_RC00", "Google Colab"),
    "KAGGLE_KERNEL_RUN_TYPE": ("Interactive", "Kaggle"),
    "MODELSCOPE_ENVIRONMENT": ("dsw", "ModelScope"),
}
EDITIONS = [
    p
    for p in (ROOT / "notebooks" / "00_setup.ipynb", ROOT / "notebooks" / "zh" / "00_setup.ipynb")
    if p.is_file()
]


@pytest.fixture
def local(monkeypatch):
    """An environment with none of the hosted services' variables, and no dry run."""
    for variable in [*cloud.HOSTS, cloud.SOURCE_ENV, cloud.DRY_RUN_ENV]:
        monkeypatch.delenv(variable, raising=False)
    return monkeypatch


@pytest.mark.parametrize("variable", PLATFORMS)
def test_each_hosted_service_is_recognised_by_its_variable(variable):
    value, name = PLATFORMS[variable]
    assert cloud.hosted_platform({variable: value, "HOME": "/root"}) == name
    assert cloud.hosted_platform({variable: ""}) is None  # set but empty: not that service


def test_a_local_machine_is_no_hosted_service(local):
    assert cloud.hosted_platform({"HOME": "/home/me", "PATH": "/usr/bin"}) is None
    assert cloud.hosted_platform() is None


def test_torch_is_installed_first_with_the_makefiles_pin():
    makefile = (ROOT / "Makefile").read_text()
    pinned = re.search(r"^TORCH\s*\?=\s*(\S+)", makefile, re.M).group(1)
    assert cloud.torch_requirement(ROOT) == pinned
    commands = cloud.install_commands(ROOT, python="py")
    assert commands[0] == ["py", "-m", "pip", "install", "--quiet", pinned]
    assert commands[1][-2:] == ["-r", str(ROOT / "requirements.txt")]
    assert commands[2][-3:] == ["--no-deps", "-e", str(ROOT)]
    assert commands[3] == ["py", "-m", "nlpcourse", "doctor"]


def test_a_requirements_file_without_torch_is_one_clear_error(tmp_path):
    (tmp_path / "requirements.txt").write_text("numpy==2.4.6\n# torch==1.0 in a comment\n")
    with pytest.raises(ValueError, match="pins no torch"):
        cloud.torch_requirement(tmp_path)


def test_a_dry_run_prints_the_commands_and_runs_none(local, capsys):
    local.setattr(subprocess, "run", lambda *a, **k: pytest.fail("a dry run ran a command"))
    status = cloud.main({"KAGGLE_KERNEL_RUN_TYPE": "Batch", cloud.DRY_RUN_ENV: "1"}, ROOT)
    out = capsys.readouterr().out.splitlines()
    assert status == 0 and out[0] == f"Kaggle: installing the course from {ROOT}"
    assert [line.split()[-1] for line in out[1:]] == [
        cloud.torch_requirement(ROOT),
        str(ROOT / "requirements.txt"),
        str(ROOT),
        "doctor",
    ]


def test_a_failed_pip_stops_the_install_and_a_missing_asset_does_not(local, capsys):
    ran = []

    def run(command, cwd):
        ran.append(command)
        return subprocess.CompletedProcess(command, 1 if "-r" in command else 0)

    local.setattr(subprocess, "run", run)
    assert cloud.main({"COLAB_RELEASE_TAG": "x"}, ROOT) == 1
    assert len(ran) == 2 and "exit status 1" in capsys.readouterr().out
    ran.clear()
    local.setattr(
        subprocess,
        "run",
        lambda command, cwd: (
            ran.append(command)
            or subprocess.CompletedProcess(command, 3 if "doctor" in command else 0)
        ),
    )
    assert cloud.main({"COLAB_RELEASE_TAG": "x"}, ROOT) == 0  # doctor's report says what is missing
    assert len(ran) == 4


def test_the_script_needs_only_the_standard_library():
    tree = ast.parse((ROOT / "nlpcourse" / "cloud.py").read_text())
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}


def _cloud_cell(notebook: Path) -> str:
    cells = nbformat.read(notebook, as_version=4).cells
    code = [cell.source for cell in cells if cell.cell_type == "code"]
    assert "HOSTS = {" in code[0], "the cloud cell is the notebook's first code cell"
    return code[0]


def _run_cell(source: str, cwd: Path) -> None:
    """Run the cell's code as the kernel would, in the folder ``cwd``."""
    saved = list(sys.path)
    try:
        exec(compile(source, "cloud-cell", "exec"), {"__name__": "__main__"})
    finally:
        sys.path[:] = saved


@pytest.mark.parametrize("notebook", EDITIONS, ids=lambda p: p.parent.name)
def test_the_cell_does_nothing_on_a_local_machine_but_say_so(notebook, local, capfd, tmp_path):
    local.chdir(tmp_path)
    local.setattr(subprocess, "run", lambda *a, **k: pytest.fail("ran a command locally"))
    _run_cell(_cloud_cell(notebook), tmp_path)
    out = capfd.readouterr().out
    assert out == "Not on a hosted notebook: nothing to install.\n"


@pytest.mark.parametrize("variable", PLATFORMS)
@pytest.mark.parametrize("notebook", EDITIONS, ids=lambda p: p.parent.name)
def test_the_cell_installs_from_the_local_checkout_on_each_service(
    notebook, variable, local, capfd, tmp_path
):
    value, name = PLATFORMS[variable]
    local.setenv(variable, value)
    local.setenv(cloud.SOURCE_ENV, str(ROOT))  # the checkout stands in for the git URL
    local.setenv(cloud.DRY_RUN_ENV, "1")
    local.chdir(tmp_path)
    _run_cell(_cloud_cell(notebook), tmp_path)  # its assert: the cell agrees with the twin
    out = capfd.readouterr().out
    assert out.startswith(f"{name}: installing the course from {ROOT}\n")
    lines = [line for line in out.splitlines() if line.startswith("$ ")]
    assert len(lines) == 4 and "torch==" in lines[0] and "doctor" in lines[3]
    assert not (tmp_path / "nlpcourse-course").exists()  # a local folder is used, not cloned


@pytest.mark.parametrize("notebook", EDITIONS, ids=lambda p: p.parent.name)
def test_the_cell_asks_for_the_source_when_none_is_set(notebook, local, tmp_path):
    local.setenv("COLAB_RELEASE_TAG", "x")
    local.chdir(tmp_path)
    with pytest.raises(SystemExit, match="NLPCOURSE_SOURCE"):
        _run_cell(_cloud_cell(notebook), tmp_path)


@pytest.mark.parametrize("notebook", EDITIONS, ids=lambda p: p.parent.name)
def test_the_cell_clones_a_git_url_then_runs_the_script(notebook, local, tmp_path):
    ran = []

    def run(command, check):
        ran.append(command)
        if command[:2] == ["git", "clone"]:  # stands in for the network: copy the package only
            target = Path(command[-1]) / "nlpcourse"
            target.mkdir(parents=True)
            (target / "cloud.py").write_text((ROOT / "nlpcourse" / "cloud.py").read_text())
        return subprocess.CompletedProcess(command, 0)

    local.setenv("MODELSCOPE_ENVIRONMENT", "dsw")
    local.setenv(cloud.SOURCE_ENV, "https://example.org/nlpcourse.git")
    local.setattr(subprocess, "run", run)
    local.chdir(tmp_path)
    _run_cell(_cloud_cell(notebook), tmp_path)
    checkout = tmp_path / "nlpcourse-course"
    assert ran == [
        ["git", "clone", "--depth=1", "https://example.org/nlpcourse.git", str(checkout)],
        [sys.executable, str(checkout / "nlpcourse" / "cloud.py")],
    ]
