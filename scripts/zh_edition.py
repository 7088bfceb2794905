"""The Chinese edition's pages and decks: each zh notebook shown with its English twin's outputs.

A zh notebook (``notebooks/zh/NN_topic.ipynb``) matches its English twin cell for cell, and its
code cells are the English code with translated comments (``scripts/zh_sync.py`` checks both).
So it is never executed again: every code cell takes the outputs of the same cell of the English
notebook's one executed run (``build/executed/NN_topic.ipynb``). A zh notebook that has fallen
out of step (other cells, other code) is left out and reported, never shown with wrong outputs.

Every page and deck links its twin in the other edition (``Switch``, ``to_chinese``,
``to_english``).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from web_assets import ROOT
from zh_sync import code_tokens

ZH = ROOT / "notebooks" / "zh"
FOLDER = "zh"  # the Chinese edition's folder inside build/site and build/slides
LANGUAGE = "zh-CN"


# Han characters and CJK punctuation (full-width forms included).
_CJK = re.compile("[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


def join_cjk_lines(markdown: str) -> str:
    """Markdown with its soft line breaks between two Chinese characters removed.

    Chromium renders such a break as a space (Chinese needs none); a break next to Latin text,
    in a heading, a table or a fenced code block is kept.
    """
    out: list[str] = []
    fenced = False
    for line in markdown.split("\n"):
        text = line.lstrip()
        previous = out[-1] if out else ""
        if (
            not fenced
            and _CJK.fullmatch(previous[-1:] or " ")
            and _CJK.fullmatch(text[:1] or " ")
            and not previous.lstrip().startswith(("#", "|"))
        ):
            out[-1] = previous + text
            continue
        if text.startswith(("```", "~~~")):
            fenced = not fenced
        out.append(line)
    return "\n".join(out)


class OutOfStep(ValueError):
    """Raised when a zh notebook no longer lines up with its English twin."""


def with_english_outputs(
    zh: nbformat.NotebookNode, english: nbformat.NotebookNode, stem: str = "notebook"
) -> nbformat.NotebookNode:
    """A copy of ``zh`` whose code cells carry the English twin's outputs and counts.

    Its markdown loses the line breaks between Chinese characters (``join_cjk_lines``).
    """
    if len(zh.cells) != len(english.cells):
        raise OutOfStep(f"{stem}: {len(zh.cells)} cells, the English has {len(english.cells)}")
    shown = copy.deepcopy(zh)
    shown.metadata = copy.deepcopy(english.metadata)  # kernel and language of the executed run
    for index, (cell, en) in enumerate(zip(shown.cells, english.cells, strict=True)):
        if cell.cell_type != en.cell_type:
            raise OutOfStep(f"{stem} cell {index}: {cell.cell_type}, the English is {en.cell_type}")
        if cell.cell_type == "markdown":
            cell.source = join_cjk_lines(cell.source)
        if cell.cell_type != "code":
            continue
        if code_tokens(cell.source) != code_tokens(en.source):
            raise OutOfStep(f"{stem} cell {index}: its code differs from the English cell's")
        cell.outputs = copy.deepcopy(en.outputs)
        cell.execution_count = en.execution_count
    return shown


@dataclass
class Edition:
    """The zh notebooks ready to publish, and the English lessons that have none (yet)."""

    books: dict[str, nbformat.NotebookNode] = field(default_factory=dict)  # stem -> notebook
    missing: list[str] = field(default_factory=list)  # stems with no zh twin
    out_of_step: list[str] = field(default_factory=list)  # why a zh twin was left out
    lessons: list[str] = field(default_factory=list)  # every English stem this edition looked at

    def summary(self, what: str) -> str | None:
        """One line naming the lessons that have no Chinese page or deck, or None."""
        parts = []
        if self.missing:
            parts.append("no zh twin for " + ", ".join(self.missing))
        if self.out_of_step:
            parts.append(
                "left out, out of step with the executed English run (`scripts/zh_sync.py check`"
                " names cells to re-translate; a stale build/executed needs `make nbval`): "
                + "; ".join(self.out_of_step)
            )
        return f"{what}: Chinese edition incomplete: " + " | ".join(parts) if parts else None


def edition(executed: list[Path], folder: Path = ZH) -> Edition:
    """The zh twin of each executed English notebook, with the English outputs filled in."""
    found = Edition()
    for path in executed:
        found.lessons.append(path.stem)
        twin = folder / path.name
        if not twin.is_file():
            found.missing.append(path.stem)
            continue
        english = nbformat.read(path, as_version=4)
        try:
            zh = nbformat.read(twin, as_version=4)
            found.books[path.stem] = with_english_outputs(zh, english, path.stem)
        except OutOfStep as exc:
            found.out_of_step.append(str(exc))
    return found


# --- The language switch: a page or deck links its twin in the other edition ----------------


@dataclass
class Switch:
    """The language switch of one page or deck: where its twin in the other edition is."""

    href: str
    label: str
    title: str
    language: str

    def as_dict(self) -> dict[str, str]:
        """The switch as the templates read it."""
        return {"href": self.href, "label": self.label, "title": self.title, "lang": self.language}


def to_chinese(stem: str | None, twins: set[str], suffix: str = ".html") -> Switch:
    """The switch on an English page (``stem`` None: the landing page) or deck.

    The twin is ``zh/<stem><suffix>``; with no twin, the zh course map (decks show no switch).
    """
    if stem is None:
        return Switch(f"{FOLDER}/index.html", "中文", "课程的中文版", LANGUAGE)
    if stem in twins:
        return Switch(f"{FOLDER}/{stem}{suffix}", "中文", "本课的中文版", LANGUAGE)
    return Switch(f"{FOLDER}/index.html", "中文", "本课暂无中文版：前往中文课程地图", LANGUAGE)


def to_english(stem: str | None, suffix: str = ".html") -> Switch:
    """The switch on a Chinese page or deck: every zh lesson has an English twin."""
    href = "../index.html" if stem is None else f"../{stem}{suffix}"
    return Switch(href, "English", "the English edition of this page", "en")
