"""Run the course on a hosted notebook: Google Colab, Kaggle or a ModelScope notebook.

A hosted notebook starts without the course, so notebook 00's first cell cannot import it: that
cell writes the detection out in the open, fetches the course with git, then runs this file *as
a script* (``python nlpcourse/cloud.py``), which installs the pinned libraries, torch first as
the Makefile does, then the course itself, and runs ``nlpcourse doctor``. Run as a file, it
imports nothing of the package (whose imports need those libraries): standard library only.
Once installed, the cell asserts that its detection equals :func:`hosted_platform` here.

``NLPCOURSE_SETUP_DRY_RUN=1`` prints the commands instead of running them (the tests use it).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

# A variable each service sets in its notebooks' environment, and the service's name:
# Colab's runtime sets COLAB_RELEASE_TAG and Kaggle's sets KAGGLE_KERNEL_RUN_TYPE (the ones
# Kaggle's own kagglehub reads); ModelScope's SDK reads MODELSCOPE_ENVIRONMENT in its containers.
HOSTS = {
    "COLAB_RELEASE_TAG": "Google Colab",
    "KAGGLE_KERNEL_RUN_TYPE": "Kaggle",
    "MODELSCOPE_ENVIRONMENT": "ModelScope",
}
SOURCE_ENV = "NLPCOURSE_SOURCE"  # the course's git URL (or a local folder holding it)
DRY_RUN_ENV = "NLPCOURSE_SETUP_DRY_RUN"
CHECKOUT = Path(__file__).resolve().parent.parent  # the course's folder, beside this package


def hosted_platform(environ: Mapping[str, str] | None = None) -> str | None:
    """The hosted notebook service this runs on (``"Google Colab"`` …), or None elsewhere."""
    environ = os.environ if environ is None else environ
    return next((name for variable, name in HOSTS.items() if environ.get(variable)), None)


def torch_requirement(checkout: Path = CHECKOUT) -> str:
    """The pinned torch line of ``requirements.txt`` (``torch==…``), installed before the rest."""
    for line in (checkout / "requirements.txt").read_text(encoding="utf-8").splitlines():
        requirement = line.split("#")[0].strip()
        if requirement.startswith("torch=="):
            return requirement
    raise ValueError(f"{checkout / 'requirements.txt'} pins no torch version (torch==…)")


def install_commands(checkout: Path = CHECKOUT, python: str = sys.executable) -> list[list[str]]:
    """What ``make venv`` runs, in order: torch alone, the pinned rest, the course; then doctor."""
    pip = [python, "-m", "pip", "install", "--quiet"]
    return [
        [*pip, torch_requirement(checkout)],  # alone first: no other package picks its build
        [*pip, "-r", str(checkout / "requirements.txt")],
        [*pip, "--no-deps", "-e", str(checkout)],
        [python, "-m", "nlpcourse", "doctor"],
    ]


def main(environ: Mapping[str, str] | None = None, checkout: Path = CHECKOUT) -> int:
    """Install the course where it runs, then run doctor; non-zero only when pip failed.

    What doctor finds missing it reports with the fix; notebook 00 asserts on it later.
    """
    environ = os.environ if environ is None else environ
    host = hosted_platform(environ)
    print(f"{host or 'this machine'}: installing the course from {checkout}")
    dry_run = environ.get(DRY_RUN_ENV, "") not in {"", "0"}
    for command in install_commands(checkout):
        print("$ " + shlex.join(command), flush=True)
        if dry_run:
            continue
        status = subprocess.run(command, cwd=checkout).returncode
        if status and command[2] == "pip":
            print(f"pip stopped with exit status {status}: its message above says why.")
            return status
    return 0


if __name__ == "__main__":
    sys.exit(main())
