"""The JavaScript the decks and the site load, installed from npm and copied next to the pages.

    python scripts/web_assets.py install    npm-install the pinned packages into build/vendor

nbconvert's HTML and slides pages load reveal.js, MathJax, require.js and jQuery from CDNs by
default, and show a blank page offline. Here every URL points at ``_static/`` beside the pages,
filled from the pinned npm packages, so a deck or the site opens from disk with no network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
EXECUTED = BUILD / "executed"
VENDOR = BUILD / "vendor"
MODULES = VENDOR / "node_modules"
TEMPLATES = Path(__file__).resolve().parent / "templates"

# reveal.js 4 and MathJax 2: the APIs nbconvert's reveal and lab templates are written against.
PACKAGES = {"reveal.js": "4.6.1", "mathjax": "2.7.9", "requirejs": "2.3.7", "jquery": "3.7.1"}
STATIC = "_static"
MATHJAX_CONFIG = "TeX-AMS_CHTML-full,Safe"
# What MathJax 2 needs for TeX rendered as CommonHTML (its png fonts and sources are left out).
MATHJAX_PARTS = (
    "MathJax.js",
    "config",
    "extensions",
    "jax",
    "localization/en",
    "fonts/HTML-CSS/TeX/woff",
)


class MissingBuild(RuntimeError):
    """Raised with a message that says which command builds what is missing."""


def installed() -> bool:
    """True when every pinned package is in build/vendor at its pinned version."""
    import json

    for name, version in PACKAGES.items():
        manifest = MODULES / name / "package.json"
        if not manifest.is_file() or json.loads(manifest.read_text())["version"] != version:
            return False
    return True


def install() -> None:
    """``npm install`` the pinned packages into build/vendor (no lock file, nothing saved)."""
    if installed():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise MissingBuild("npm is needed to install reveal.js and MathJax: install Node.js first")
    VENDOR.mkdir(parents=True, exist_ok=True)
    specs = [f"{name}@{version}" for name, version in PACKAGES.items()]
    flags = ["--no-save", "--no-package-lock", "--no-audit", "--no-fund", "--loglevel=error"]
    subprocess.run([npm, "install", "--prefix", str(VENDOR), *flags, *specs], check=True)


def require_vendor() -> None:
    """Exit with the command to run when the JavaScript packages are not installed."""
    if not installed():
        raise MissingBuild(
            "reveal.js and MathJax are not installed in build/vendor: run "
            "`make web-assets` (or `.venv/bin/python scripts/web_assets.py install`)"
        )


def executed_notebooks(folder: Path = EXECUTED) -> list[Path]:
    """The executed notebooks to publish; exit with the command to run when there are none."""
    found = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not found:
        raise MissingBuild(
            f"no executed notebooks in {folder}: run `make nbval` (the CI run, which saves them) "
            f"or `make notebooks` first"
        )
    return found


def _copy(source: Path, target: Path) -> None:
    """Copy a file or folder, hard-linking files where the file system allows it."""

    def link_or_copy(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, copy_function=link_or_copy, dirs_exist_ok=True)
    elif not target.exists():
        link_or_copy(str(source), str(target))


def copy_static(out: Path) -> Path:
    """Copy reveal.js, MathJax, require.js and jQuery into ``out/_static``; return that folder."""
    require_vendor()
    static = out / STATIC
    shutil.rmtree(static, ignore_errors=True)  # hard links from an earlier build: start afresh
    reveal = MODULES / "reveal.js"
    for part in ("dist", "plugin/notes", "LICENSE"):
        _copy(reveal / part, static / "reveal.js" / part)
    for part in MATHJAX_PARTS:
        _copy(MODULES / "mathjax" / part, static / "mathjax" / part)
    _copy(MODULES / "requirejs" / "require.js", static / "require.js")
    _copy(MODULES / "jquery" / "dist" / "jquery.min.js", static / "jquery.min.js")
    return static


def local_urls(prefix: str = STATIC) -> dict[str, str]:
    """nbconvert HTMLExporter options that point every script at the local copies."""
    return {
        "mathjax_url": f"{prefix}/mathjax/MathJax.js?config={MATHJAX_CONFIG}",
        "require_js_url": f"{prefix}/require.js",
        "jquery_url": f"{prefix}/jquery.min.js",
        # the course has no widgets or mermaid diagrams; should one appear, nothing leaves
        "jupyter_widgets_base_url": f"{prefix}/",
        "widget_renderer_url": f"{prefix}/no-widgets.js",
        "mermaid_js_url": f"{prefix}/no-mermaid.mjs",
    }


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def readable(nb):
    """A copy of ``nb`` for a static page: progress-bar widgets (no state without a kernel) out."""
    import copy

    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if WIDGET_VIEW not in o.get("data", {})]
    return nb


def main(argv: list[str]) -> int:
    """Command-line entry point."""
    if argv != ["install"]:
        print(__doc__)
        return 2
    install()
    print("web assets: " + ", ".join(f"{n} {v}" for n, v in PACKAGES.items()) + f" in {VENDOR}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
