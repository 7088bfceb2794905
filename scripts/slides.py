"""Build one reveal.js deck per executed notebook, with every script served from local files.

    python scripts/slides.py [NN ...]     build/executed/NN_*.ipynb -> build/slides/NN_*.slides.html
                                and notebooks/zh/NN_*.ipynb -> build/slides/zh/NN_*.slides.html

The decks read the outputs of the notebooks' one executed run (``build/executed/``, written by
the nbval run of ``make test`` or by ``make notebooks``); nothing is executed again here. Each
cell's ``metadata.slideshow.slide_type`` makes the slides: ``slide`` starts a new one,
``subslide`` one below it, ``fragment`` reveals, ``skip`` leaves the cell out, ``notes`` goes to
the speaker view (press S).

The Chinese decks (``build/slides/zh/``) show each zh notebook's markdown with its English twin's
outputs, cell by cell (``scripts/zh_edition.py``); lessons with no zh twin yet are named.
A deck with a twin in the other language links it from its top right corner ("中文" / "English",
a relative link that keeps the slide shown; left out of the print view).
"""

from __future__ import annotations

import html
import sys
from collections.abc import Collection
from pathlib import Path

import nbformat
from nbconvert import SlidesExporter
from web_assets import (
    BUILD,
    EXECUTED,
    STATIC,
    TEMPLATES,
    MissingBuild,
    copy_static,
    executed_notebooks,
    local_urls,
    readable,
)
from zh_edition import FOLDER as ZH_FOLDER
from zh_edition import LANGUAGE as ZH_LANGUAGE
from zh_edition import Edition, Switch, edition, to_chinese, to_english

SLIDES = BUILD / "slides"
DECK = ".slides.html"  # a deck's file name is its notebook's stem and this


def slide_types(nb: nbformat.NotebookNode) -> list[str]:
    """Each cell's slide type, as nbconvert reads it (``-`` when the cell has none)."""
    return [cell.metadata.get("slideshow", {}).get("slide_type", "-") for cell in nb.cells]


def expected_slides(nb: nbformat.NotebookNode) -> int:
    """How many slides reveal.js shows for ``nb``: one per ``slide`` or ``subslide`` cell."""
    types = slide_types(nb)
    visible = [t for t in types if t not in {"skip", "notes"}]
    count = sum(t in {"slide", "subslide"} for t in visible)
    first_is_new = bool(visible) and visible[0] in {"slide", "subslide"}
    return count + (0 if first_is_new else 1)  # nbconvert opens a slide at the first visible cell


def exporter(language: str = "en") -> SlidesExporter:
    """nbconvert's slides exporter, pointed at the local reveal.js, MathJax and scripts."""
    slides = SlidesExporter(
        language_code=language.split("-")[0],  # nbconvert takes ISO 639-1 codes only
        extra_template_basedirs=[str(TEMPLATES)],
        template_name="course_slides",
        reveal_url_prefix=f"{STATIC}/reveal.js",
        reveal_theme="white",
        reveal_scroll=True,
        reveal_number="c/t",
    )
    for name, url in local_urls().items():
        setattr(slides, name, url)
    slides.mermaid_layout_elk_js_url = ""
    return slides


def build_deck(
    notebook: Path,
    out: Path,
    slides: SlidesExporter | None = None,
    nb: nbformat.NotebookNode | None = None,
    switch: Switch | None = None,
) -> Path:
    """Write ``out/<notebook>.slides.html`` from an executed notebook (or ``nb``); return it.

    ``switch``: the corner link to the same deck in the other language (None: no link).
    """
    nb = readable(nb if nb is not None else nbformat.read(notebook, as_version=4))
    deck = {"switch": switch.as_dict() if switch else None}
    body, _ = (slides or exporter()).from_notebook_node(
        nb, resources={"metadata": {"name": notebook.stem}, "deck": deck}
    )
    target = out / f"{notebook.stem}{DECK}"
    target.write_text(body, encoding="utf-8")
    return target


INDEX = {
    "en": ("Course slides", "中文幻灯片", f"{ZH_FOLDER}/index.html"),
    ZH_LANGUAGE: ("课程幻灯片", "English slides", "../index.html"),
}


def _index(out: Path, language: str, note: str = "") -> None:
    """The list of every deck in ``out`` (this build's and earlier ones'), and the other list."""
    title, other, href = INDEX[language]
    decks = sorted(out.glob(f"*{DECK}"))
    items = "\n".join(
        f'<li><a href="{d.name}">{html.escape(d.name.removesuffix(DECK))}</a></li>' for d in decks
    )
    (out / "index.html").write_text(
        f'<!DOCTYPE html>\n<html lang="{language}"><head><meta charset="utf-8"><title>{title}'
        f'</title></head>\n<body><p><a href="{href}">{other}</a></p><h1>{title}</h1>{note}'
        f"<ul>\n{items}\n</ul></body></html>\n",
        encoding="utf-8",
    )


def _to_chinese(stem: str, twins: set[str]) -> Switch | None:
    """An English deck's switch: its zh twin deck, or none (no fallback to the zh index)."""
    return to_chinese(stem, twins, DECK) if stem in twins else None


def build_decks(
    notebooks: list[Path], out: Path = SLIDES, twins: Collection[str] = ()
) -> list[Path]:
    """Build every deck into ``out`` with its own copy of the scripts, plus an index page.

    A deck whose stem is in ``twins`` (built by ``build_chinese_decks`` into ``out/zh``) links it.
    """
    out.mkdir(parents=True, exist_ok=True)
    copy_static(out)
    slides, chinese = exporter(), set(twins)
    decks = [
        build_deck(path, out, slides, switch=_to_chinese(path.stem, chinese)) for path in notebooks
    ]
    _index(out, "en")
    return decks


def build_chinese_decks(zh: Edition, out: Path = SLIDES / ZH_FOLDER) -> list[Path]:
    """The zh decks in ``out`` (its own scripts, an index page): zh prose, English outputs."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob(f"*{DECK}"):
        stem = old.name.removesuffix(DECK)
        if stem in zh.lessons or not (out.parent / old.name).is_file():
            old.unlink()  # rebuilt below, or its zh notebook was removed or fell out of step
    copy_static(out)
    slides = exporter(ZH_LANGUAGE)
    decks = [
        build_deck(out / f"{stem}.ipynb", out, slides, nb, to_english(stem, DECK))
        for stem, nb in zh.books.items()
    ]
    missing = ", ".join(zh.missing)
    note = f"<p>尚无中文版：{html.escape(missing)}</p>" if missing else ""
    _index(out, ZH_LANGUAGE, note)
    return decks


def main(argv: list[str]) -> int:
    """Command-line entry point."""
    try:
        notebooks = executed_notebooks(EXECUTED)
        if argv:
            notebooks = [p for p in notebooks if p.name[:2] in argv]
            if not notebooks:
                raise MissingBuild(f"no executed notebook {', '.join(argv)} in {EXECUTED}")
        zh = edition(notebooks)
        for deck in build_decks(notebooks, twins=zh.books) + build_chinese_decks(zh):
            print(f"slides: {deck.relative_to(BUILD.parent)}")
        if zh.summary("slides"):
            print(zh.summary("slides"))
    except MissingBuild as exc:
        print(f"slides: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
