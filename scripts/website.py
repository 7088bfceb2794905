"""Build the course website from the executed notebooks: a course map and one page per lesson.

    python scripts/website.py   build/executed/NN_*.ipynb -> build/site/index.html, NN_*.html
                            and notebooks/zh/NN_*.ipynb -> build/site/zh/index.html, NN_*.html

The pages show the outputs of the notebooks' one executed run (``build/executed/``, written by
the nbval run of ``make test`` or by ``make notebooks``). nbconvert renders each lesson with a
small template of ours (navigation between lessons; cells tagged ``solution`` folded away);
the landing page is the README's course map with each notebook's measured time on CPU, and a
search box over every lesson's text. Everything it loads is in ``build/site/`` itself.

The Chinese edition (``build/site/zh/``) shows each zh notebook with its English twin's outputs
(``scripts/zh_edition.py``: nothing is executed twice) and the course map of README.zh-CN.md.
Every page has a language switch to its twin; where a lesson has no twin yet, the switch goes
to the other edition's course map, and the Chinese map links that lesson's English page.
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
from zh_edition import FOLDER as ZH_FOLDER
from zh_edition import LANGUAGE as ZH_LANGUAGE
from zh_edition import Edition, Switch, edition, to_chinese, to_english

SITE = BUILD / "site"
README_ZH = ROOT / "README.zh-CN.md"
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
    language: str = "en"
    href: str = ""  # the lesson page, relative to its edition's root
    english_only: bool = False  # on the Chinese map: no zh twin yet, the link is the English page

    def __post_init__(self) -> None:
        self.href = self.href or f"{self.stem}.html"

    @property
    def time(self) -> str:
        """The measured time, for people."""
        zh = self.language != "en"
        if self.seconds is None:
            return "未测量" if zh else "not measured"
        if self.seconds < 90:
            return f"{self.seconds:.0f} 秒" if zh else f"{self.seconds:.0f} s"
        return f"{self.seconds / 60:.1f} 分钟" if zh else f"{self.seconds / 60:.1f} min"


# The words of the lesson pages' navigation, per edition.
TEXT = {
    "en": {"home": "Course map", "solution": "Solution (click to show)", "nav": "lessons"},
    ZH_LANGUAGE: {"home": "课程地图", "solution": "参考答案（点击展开）", "nav": "课程导航"},
}


def inline_markdown(text: str) -> str:
    """The little markdown a course-map cell uses (`code`, **bold**), as HTML."""
    text = html.escape(text, quote=False)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)


def course_map(readme: Path = ROOT / "README.md") -> dict[str, tuple[str, str]]:
    """``{stem: (article section, what it teaches as HTML)}`` from the README's notebook table.

    README.zh-CN.md's table has the same columns, in Chinese: ``course_map(README_ZH)``.
    """
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


def exporter(language: str = "en") -> HTMLExporter:
    """nbconvert's HTML exporter with the course template and local scripts only."""
    pages = HTMLExporter(extra_template_basedirs=[str(TEMPLATES)], template_name="course_site")
    pages.language_code = language.split("-")[0]  # nbconvert takes ISO 639-1 codes only
    for name, url in local_urls().items():
        setattr(pages, name, url)
    pages.mermaid_layout_elk_js_url = ""
    return pages


def _static(out: Path) -> Path:
    """The scripts, the course's style sheet and search in ``out/_static``."""
    static = copy_static(out)
    for asset in ("course.css", "search.js"):
        (static / asset).write_text((TEMPLATES / "site" / asset).read_text(encoding="utf-8"))
    return static


def _lesson_pages(
    lessons: list[Lesson],
    books: list[nbformat.NotebookNode],
    out: Path,
    switches: list[Switch],
) -> tuple[list[Path], list[dict[str, str]]]:
    """One page per lesson, linked to its neighbours and its twin; and their search entries."""
    language = lessons[0].language if lessons else "en"
    pages, written, index = exporter(language), [], []
    for i, (lesson, nb, switch) in enumerate(zip(lessons, books, switches, strict=True)):
        neighbours = {"previous": lessons[i - 1] if i else None}
        neighbours["next"] = lessons[i + 1] if i + 1 < len(lessons) else None
        site: dict = {
            key: {"href": other.href, "title": other.title} if other else None
            for key, other in neighbours.items()
        }
        site.update(text=TEXT[language], switch=switch.as_dict())
        resources = {"metadata": {"name": lesson.title}, "site": site}
        body, _ = pages.from_notebook_node(nb, resources=resources)
        target = out / lesson.href
        target.write_text(body, encoding="utf-8")
        written.append(target)
        index += search_entries(nb, lesson)
    return written, index


def _landing(out: Path, template: str, **values) -> Path:
    """Render a landing page (course map and search) into ``out/index.html``."""
    loader = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES / "site"),
        autoescape=True,
        keep_trailing_newline=True,
    )
    page = out / "index.html"
    page.write_text(loader.get_template(template).render(static=STATIC, **values), "utf-8")
    return page


def _search_index(static: Path, index: list[dict[str, str]]) -> None:
    (static / "search_index.js").write_text(
        "window.COURSE_SEARCH = " + json.dumps(index, ensure_ascii=False) + ";\n", encoding="utf-8"
    )


def build_site(notebooks: list[Path], out: Path = SITE, zh: Edition | None = None) -> list[Path]:
    """Write both editions: landing page, lesson pages and search in ``out`` and ``out/zh``.

    Returns the English pages (landing page first), then the Chinese ones (``out/zh/...``).
    ``zh`` defaults to the twins of ``notebooks`` in notebooks/zh/.
    """
    zh = edition(notebooks) if zh is None else zh
    out.mkdir(parents=True, exist_ok=True)
    static = _static(out)
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
    twins = set(zh.books)
    switches = [to_chinese(lesson.stem, twins) for lesson in lessons]
    written, index = _lesson_pages(lessons, books, out, switches)
    _search_index(static, index)
    shown_times = shown_path(times_file)
    landing = _landing(
        out,
        "index.html.j2",
        lessons=lessons,
        times_file=shown_times,
        switch=to_chinese(None, twins).as_dict(),
    )
    return [landing, *written, *build_chinese_site(lessons, zh, out / ZH_FOLDER, shown_times)]


def build_chinese_site(
    english: list[Lesson], zh: Edition, out: Path, times_file: str | None = None
) -> list[Path]:
    """The Chinese edition in ``out``: its course map lists every English lesson, in Chinese."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.html"):
        old.unlink()  # a page whose zh notebook was removed or fell out of step goes too
    static = _static(out)
    rows = course_map(README_ZH)
    course, lessons, books = [], [], []
    for en in english:
        nb = zh.books.get(en.stem)
        section, teaches = rows.get(en.stem, (en.section, en.teaches))
        lesson = Lesson(
            stem=en.stem,
            title=notebook_title(nb, en.stem) if nb is not None else en.title,
            section=section,
            teaches=teaches,
            seconds=en.seconds,
            language=ZH_LANGUAGE,
            href="" if nb is not None else f"../{en.href}",
            english_only=nb is None,
        )
        course.append(lesson)
        if nb is not None:
            lessons.append(lesson)
            books.append(readable(nb))
    switches = [to_english(lesson.stem) for lesson in lessons]
    written, index = _lesson_pages(lessons, books, out, switches)
    _search_index(static, index)
    landing = _landing(
        out,
        "index.zh.html.j2",
        lessons=course,
        times_file=times_file,
        switch=to_english(None).as_dict(),
        missing=[lesson.stem for lesson in course if lesson.english_only],
    )
    return [landing, *written]


def main(argv: list[str]) -> int:
    """Command-line entry point."""
    try:
        notebooks = executed_notebooks(EXECUTED)
        zh = edition(notebooks)
        for page in build_site(notebooks, zh=zh):
            print(f"site: {page.relative_to(BUILD.parent)}")
        if zh.summary("site"):
            print(zh.summary("site"))
    except MissingBuild as exc:
        print(f"site: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
