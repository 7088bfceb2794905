"""Notebooks 02 and 03: every cell carries slide metadata; the lesson code is checked."""

import json
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SLIDE_TYPES = {"slide", "subslide", "fragment", "-", "skip", "notes"}


@pytest.mark.parametrize("name", ["02_text_pipeline", "03_transformers_quickstart"])
def test_every_cell_has_a_slide_type(name):
    cells = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())["cells"]
    kinds = [cell["metadata"].get("slideshow", {}).get("slide_type") for cell in cells]
    assert all(kind in SLIDE_TYPES for kind in kinds), kinds
    assert kinds[0] == "slide" and cells[0]["cell_type"] == "markdown"
    headings = [
        cell
        for cell in cells
        if cell["cell_type"] == "markdown" and "".join(cell["source"]).startswith("## ")
    ]
    assert all(cell["metadata"]["slideshow"]["slide_type"] == "slide" for cell in headings)
    assert "notes" in kinds
