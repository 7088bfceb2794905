"""Build the course website from the executed notebooks: a course map and one page per lesson.

    python scripts/website.py   build/executed/NN_*.ipynb -> build/site/index.html, NN_*.html

The pages show the outputs of the notebooks' one executed run (``build/executed/``, written by
the nbval run of ``make test`` or by ``make notebooks``). nbconvert renders each lesson with a
small template of ours (navigation between lessons; cells tagged ``solution`` folded away);
the landing page is the README's course map with each notebook's measured time on CPU, and a
search box over every lesson's text. Everything it loads is in ``build/site/`` itself.
"""

from __future__ import annotations

import csv
import html
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import jinja2
import nbformat
from nbconvert import HTMLExporter
from web_assets import (
    BUILD,
    EXECUTED,
    ROOT,
    STATIC,
    TEMPLATES,
    MissingBuild,
    copy_static,
    executed_notebooks,
    local_urls,
    readable,
)

SITE = BUILD / "site"
TIMES = (BUILD / "notebook_times.csv", ROOT / "data" / "notebook_times.csv")
_MAP_ROW = re.compile(r"^\|\s*`(\d\d_\w+)`\s*\|\s*([^|]*?)\s*\|\s*(.*?)\s*\|\s*$")


@dataclass
class Lesson:
    """One notebook as the site shows it."""

    stem: str
    title: str
    section: str  # the article's section, from the README's course map
    teaches: str  # what the notebook builds, from the course map (HTML)
    seconds: float | None  # measured wall time on CPU

    @property
    def href(self) -> str:
        """The lesson page, relative to the site's root."""
        return f"{self.stem}.html"

    @property
    def time(self) -> str:
        """The measured time, for people."""
        if self.seconds is None:
            return "not measured"
        return f"{self.seconds:.0f} s" if self.seconds < 90 else f"{self.seconds / 60:.1f} min"


def inline_markdown(text: str) -> str:
    """The little markdown a course-map cell uses (`code`, **bold**), as HTML."""
    text = html.escape(text, quote=False)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)


def course_map(readme: Path = ROOT / "README.md") -> dict[str, tuple[str, str]]:
    """``{stem: (article section, what it teaches as HTML)}`` from the README's notebook table."""
    rows = {}
    if readme.is_file():
        for line in readme.read_text(encoding="utf-8").splitlines():
            match = _MAP_ROW.match(line)
            if match:
                stem, section, teaches = match.groups()
                rows[stem] = (section, inline_markdown(teaches))
    return rows


def measured_times(candidates: tuple[Path, ...] = TIMES) -> tuple[dict[str, float], Path | None]:
    """Seconds per notebook stem from the first timing CSV found, and which file it was."""
    for path in candidates:
        if not path.is_file():
            continue
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            fields = reader.fieldnames or []
            name = next((f for f in fields if "notebook" in f.lower()), fields[0] if fields else "")
            wanted = ("second", "wall", "_s")
            value = next(
                (f for f in fields if f != name and any(w in f.lower() for w in wanted)), None
            )
            times = {}
            for row in reader:
                try:
                    seconds = float(row[value]) if value else None
                except (TypeError, ValueError):
                    continue
                stem = Path(row.get(name) or "").stem
                if seconds is not None and stem[:2].isdigit():
                    times[stem] = times.get(stem, 0.0) + seconds
            if times:
                return times, path
    return {}, None


def shown_path(path: Path | None) -> str | None:
    """A path as the landing page names it: relative to the course when inside it."""
    if path is None:
        return None
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def notebook_title(nb: nbformat.NotebookNode, stem: str) -> str:
    """The first markdown heading of the notebook, else its file name."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return stem


def search_entries(nb: nbformat.NotebookNode, lesson: Lesson) -> list[dict[str, str]]:
    """One search entry per section of a lesson: its heading, and its prose and code as text."""
    entries: list[dict[str, str]] = []
    heading, parts = lesson.title, []

    def flush() -> None:
        text = re.sub(r"\s+", " ", " ".join(parts)).strip()
        if text:
            entries.append(
                {"page": lesson.href, "lesson": lesson.title, "heading": heading, "text": text}
            )

    for cell in nb.cells:
        for line in cell.source.splitlines():
            if cell.cell_type == "markdown" and re.match(r"#{1,4} ", line):
                flush()
                heading, parts = line.lstrip("#").strip(), []
            else:
                parts.append(line)
    flush()
    return entries


def exporter() -> HTMLExporter:
    """nbconvert's HTML exporter with the course template and local scripts only."""
    pages = HTMLExporter(extra_template_basedirs=[str(TEMPLATES)], template_name="course_site")
    for name, url in local_urls().items():
        setattr(pages, name, url)
    pages.mermaid_layout_elk_js_url = ""
    return pages


def build_site(notebooks: list[Path], out: Path = SITE) -> list[Path]:
    """Write the landing page, one page per lesson and the search index into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    static = copy_static(out)
    for asset in ("course.css", "search.js"):
        (static / asset).write_text((TEMPLATES / "site" / asset).read_text(encoding="utf-8"))
    rows, (times, times_file) = course_map(), measured_times()
    books = [readable(nbformat.read(path, as_version=4)) for path in notebooks]
    lessons = [
        Lesson(
            stem=path.stem,
            title=notebook_title(nb, path.stem),
            section=rows.get(path.stem, ("", ""))[0],
            teaches=rows.get(path.stem, ("", ""))[1],
            seconds=times.get(path.stem),
        )
        for path, nb in zip(notebooks, books, strict=True)
    ]
    pages, written, index = exporter(), [], []
    for i, (lesson, nb) in enumerate(zip(lessons, books, strict=True)):
        neighbours = {"previous": lessons[i - 1] if i else None}
        neighbours["next"] = lessons[i + 1] if i + 1 < len(lessons) else None
        site = {
            key: {"href": other.href, "title": other.title} if other else None
            for key, other in neighbours.items()
        }
        resources = {"metadata": {"name": lesson.title}, "site": site}
        body, _ = pages.from_notebook_node(nb, resources=resources)
        target = out / lesson.href
        target.write_text(body, encoding="utf-8")
        written.append(target)
        index += search_entries(nb, lesson)
    (static / "search_index.js").write_text(
        "window.COURSE_SEARCH = " + json.dumps(index, ensure_ascii=False) + ";\n", encoding="utf-8"
    )
    loader = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES / "site"),
        autoescape=True,
        keep_trailing_newline=True,
    )
    landing = loader.get_template("index.html.j2").render(
        lessons=lessons,
        static=STATIC,
        times_file=shown_path(times_file),
    )
    (out / "index.html").write_text(landing, encoding="utf-8")
    return [out / "index.html", *written]


def main(argv: list[str]) -> int:
    """Command-line entry point."""
    try:
        for page in build_site(executed_notebooks(EXECUTED)):
            print(f"site: {page.relative_to(BUILD.parent)}")
    except MissingBuild as exc:
        print(f"site: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
