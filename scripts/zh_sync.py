"""Keep the Simplified-Chinese notebooks (``notebooks/zh/``) in step with the English ones.

    python scripts/zh_sync.py check          every problem, per notebook, with what to re-translate
    python scripts/zh_sync.py stamp NN       record the English hashes in zh/NN_*.ipynb once its
                                             cells are translated (run after translating, never
                                             to silence a stale cell you did not re-translate)
    python scripts/zh_sync.py scaffold NN    create zh/NN_*.ipynb from the English one, every cell
                                             marked untranslated (a starting point for translators)

A zh notebook matches its English twin cell for cell: the same count, cell types, slide
metadata and tags. Markdown is translated; a code cell is the English code with its comments
translated, so the two compare equal once comments are dropped (Python tokens, not text). Each
zh cell records ``metadata.zh.source_sha``, the hash of the English source it was translated
from; when the English cell changes, the hash no longer matches and the cell is stale.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
ZH = NOTEBOOKS / "zh"
UNTRANSLATED = "untranslated"
GLOSSARY = ROOT / "docs" / "glossary.md"


def source_sha(source: str) -> str:
    """The hash a zh cell records of the English cell it translates."""
    return hashlib.sha1(source.strip().encode()).hexdigest()[:12]


def code_tokens(source: str) -> list[tuple[int, str]]:
    """A code cell's Python tokens without comments or layout, to compare code across editions."""
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        # IPython magics and shell escapes are not Python: keep them, minus a trailing comment.
        lines.append("pass" if stripped.startswith(("%", "!")) else line)
    magics = [
        line.split("#")[0].strip()
        for line in source.splitlines()
        if line.lstrip().startswith(("%", "!"))
    ]
    skip = {
        tokenize.COMMENT,
        tokenize.NL,
        tokenize.NEWLINE,
        tokenize.INDENT,
        tokenize.DEDENT,
        tokenize.ENCODING,
        tokenize.ENDMARKER,
    }
    try:
        tokens = tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline)
        stream = [(tok.type, tok.string) for tok in tokens if tok.type not in skip]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        stream = [(0, line.split("#")[0].rstrip()) for line in source.splitlines() if line.strip()]
    return [(-1, magic) for magic in magics] + stream


def _slide(cell: nbformat.NotebookNode) -> tuple[str | None, tuple[str, ...]]:
    slideshow = cell.metadata.get("slideshow") or {}
    return slideshow.get("slide_type"), tuple(cell.metadata.get("tags", []))


@dataclass
class Report:
    """What is wrong with one zh notebook, and the cells to re-translate."""

    stem: str
    problems: list[str] = field(default_factory=list)
    stale: list[tuple[int, str, str]] = field(default_factory=list)  # index, old sha, English now

    def lines(self) -> list[str]:
        """The report as printable lines."""
        out = [f"notebooks/zh/{self.stem}.ipynb: {p}" for p in self.problems]
        for index, old, english in self.stale:
            out.append(
                f"notebooks/zh/{self.stem}.ipynb cell {index}: stale (translated from {old}, the "
                f"English cell is now {source_sha(english)}); re-translate from:"
            )
            out += ["    | " + line for line in english.splitlines()]
            previous = _previous_english(self.stem, index, old)
            if previous is not None:
                out.append("    what changed in the English cell:")
                out += ["    " + line for line in _diff(previous, english)]
        return out


def _diff(old: str, new: str) -> list[str]:
    import difflib

    return list(
        difflib.unified_diff(old.splitlines(), new.splitlines(), "was", "now", lineterm="", n=1)
    )[2:]


def _previous_english(stem: str, index: int, sha: str) -> str | None:
    """The English cell's text when it hashed to ``sha``, found in git history (or None)."""
    path = f"notebooks/{stem}.ipynb"
    try:
        commits = subprocess.run(
            ["git", "log", "--format=%H", "-n", "50", "--", path],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        for commit in commits:
            text = subprocess.run(
                ["git", "show", f"{commit}:{path}"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            cells = nbformat.reads(text, as_version=4).cells
            if index < len(cells) and source_sha(cells[index].source) == sha:
                return cells[index].source
    except (subprocess.CalledProcessError, OSError, ValueError):
        return None
    return None


def compare(stem: str, english: nbformat.NotebookNode, zh: nbformat.NotebookNode) -> Report:
    """Every way ``zh`` has fallen out of step with ``english``."""
    report = Report(stem)
    if len(english.cells) != len(zh.cells):
        report.problems.append(
            f"{len(zh.cells)} cells, the English notebook has {len(english.cells)}: cells must "
            f"align one to one (add or remove the same cells)"
        )
        return report
    for index, (en, cell) in enumerate(zip(english.cells, zh.cells, strict=True)):
        where = f"cell {index}"
        if en.cell_type != cell.cell_type:
            report.problems.append(f"{where} is {cell.cell_type}, the English one {en.cell_type}")
            continue
        if _slide(en) != _slide(cell):
            report.problems.append(
                f"{where}: slide type/tags {_slide(cell)} != English {_slide(en)}"
            )
        recorded = (cell.metadata.get("zh") or {}).get("source_sha")
        if recorded is None:
            report.problems.append(f"{where}: no metadata.zh.source_sha (not translated yet?)")
        elif recorded == UNTRANSLATED:
            report.problems.append(f"{where}: still marked untranslated")
        elif recorded != source_sha(en.source):
            report.stale.append((index, recorded, en.source))
        if en.cell_type == "code" and code_tokens(en.source) != code_tokens(cell.source):
            report.problems.append(
                f"{where}: the code differs from the English cell in more than comments"
            )
    return report


def glossary(path: Path = GLOSSARY) -> dict[str, str]:
    """English term -> the course's Chinese term, from the glossary's table."""
    terms = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and line.startswith("| ") and cells[0] not in {"English", "---"}:
            terms[cells[0]] = cells[1]
    return terms


def glossary_problems(
    english: nbformat.NotebookNode, zh: nbformat.NotebookNode, terms: dict[str, str]
) -> list[str]:
    """Glossary terms the English markdown uses whose Chinese form the zh markdown lacks."""
    import re

    def prose(nb: nbformat.NotebookNode) -> str:
        return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")

    en_text, zh_text = prose(english).lower(), prose(zh)
    missing = []
    for term, chinese in terms.items():
        if "(" in term or term.lower() == chinese.lower():  # qualified or kept in English
            continue
        if re.search(rf"\b{re.escape(term.lower())}s?\b", en_text) and chinese not in zh_text:
            missing.append(f"the English uses '{term}', the zh markdown never says '{chinese}'")
    return missing


def english_stems() -> list[str]:
    """The English notebooks, by stem."""
    return sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def check() -> list[Report]:
    """A report for every English notebook whose zh twin is missing or out of step."""
    reports = []
    for stem in english_stems():
        path = ZH / f"{stem}.ipynb"
        if not path.is_file():
            reports.append(
                Report(
                    stem, [f"missing (scaffold it: python scripts/zh_sync.py scaffold {stem[:2]})"]
                )
            )
            continue
        if not (ZH / f"{stem}.py").is_file():
            reports.append(
                Report(stem, ["its jupytext pair notebooks/zh/" + stem + ".py is missing"])
            )
        english = nbformat.read(NOTEBOOKS / f"{stem}.ipynb", as_version=4)
        zh = nbformat.read(path, as_version=4)
        report = compare(stem, english, zh)
        report.problems += glossary_problems(english, zh, glossary())
        if report.problems or report.stale:
            reports.append(report)
    return reports


def _one(prefix: str) -> str:
    stems = [s for s in english_stems() if s.startswith(prefix)]
    if len(stems) != 1:
        raise SystemExit(f"'{prefix}' names {len(stems)} notebooks; give its number, e.g. 04")
    return stems[0]


def stamp(prefix: str) -> None:
    """Record the current English hashes in the zh notebook (after translating its cells)."""
    stem = _one(prefix)
    english = nbformat.read(NOTEBOOKS / f"{stem}.ipynb", as_version=4)
    path = ZH / f"{stem}.ipynb"
    zh = nbformat.read(path, as_version=4)
    if len(zh.cells) != len(english.cells):
        raise SystemExit(f"{path}: {len(zh.cells)} cells, English {len(english.cells)}")
    for en, cell in zip(english.cells, zh.cells, strict=True):
        cell.metadata.setdefault("zh", {})["source_sha"] = source_sha(en.source)
    nbformat.write(zh, path)


def scaffold(prefix: str) -> None:
    """A zh notebook copied from the English one, every cell marked untranslated."""
    stem = _one(prefix)
    zh = nbformat.read(NOTEBOOKS / f"{stem}.ipynb", as_version=4)
    for cell in zh.cells:
        cell.metadata["zh"] = {"source_sha": UNTRANSLATED}
    ZH.mkdir(exist_ok=True)
    nbformat.write(zh, ZH / f"{stem}.ipynb")


def main(argv: list[str]) -> int:
    """Command-line entry point."""
    if not argv or argv[0] not in {"check", "stamp", "scaffold"}:
        print(__doc__)
        return 2
    if argv[0] == "stamp":
        stamp(argv[1])
        return 0
    if argv[0] == "scaffold":
        scaffold(argv[1])
        return 0
    reports = check()
    for report in reports:
        print("\n".join(report.lines()))
    print("zh: in step" if not reports else f"zh: {len(reports)} notebook(s) to bring in step")
    return 1 if reports else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
