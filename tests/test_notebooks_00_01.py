"""Notebooks 00 and 01: every cell carries slide metadata; solutions print no answers."""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OWNED = [ROOT / "notebooks" / "00_setup.ipynb", ROOT / "notebooks" / "01_keras_bilstm.ipynb"]
SLIDE_TYPES = {"slide", "subslide", "fragment", "-", "skip", "notes"}


@pytest.mark.parametrize("path", OWNED, ids=lambda p: p.stem)
def test_every_cell_has_a_slide_type(path):
    cells = json.loads(path.read_text())["cells"]
    types = [cell["metadata"].get("slideshow", {}).get("slide_type") for cell in cells]
    assert all(kind in SLIDE_TYPES for kind in types), types
    assert types[0] == "slide" and cells[0]["cell_type"] == "markdown"


@pytest.mark.parametrize("path", OWNED, ids=lambda p: p.stem)
def test_solutions_print_only_that_they_pass(path):
    cells = json.loads(path.read_text())["cells"]
    for cell in cells:
        if "solution" in cell["metadata"].get("tags", []):
            prints = [line for line in cell["source"] if "print(" in line]
            assert all("passes" in line for line in prints), prints
