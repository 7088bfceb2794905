"""Slides, site and the executed-notebook plumbing, without a browser."""

import re
from pathlib import Path

import nbformat
import pytest

from tests.nbval_executed import executed_copy, executed_folder
from tests.publish_fixtures import (
    ROOT,
    script,
    stand_in,
    write_stand_ins,
    write_zh_stand_ins,
    zh_stand_in,
)

notebook_script, slides = script("notebooks"), script("slides")
web_assets, website, zh_edition = script("web_assets"), script("website"), script("zh_edition")

needs_vendor = pytest.mark.skipif(
    not web_assets.installed(), reason="reveal.js/MathJax not installed: run `make web-assets`"
)
OUTSIDE = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", re.IGNORECASE)


def nav_links(page: str) -> dict[str, str]:
    """The prev/next links of the lesson navigation (the bottom copy is the same)."""
    links = {}
    for tag in re.findall(r"<a [^>]*rel=\"(?:prev|next)\"[^>]*>", page):
        links[re.search(r'rel="(\w+)"', tag)[1]] = re.search(r'href="([^"]+)"', tag)[1]
    return links


def test_expected_slides_counts_slide_and_subslide_cells():
    nb = stand_in(1, "x")
    assert slides.expected_slides(nb) == 4  # title, attention, the plot's subslide, exercises
    nb.cells[0].metadata["slideshow"]["slide_type"] = "-"
    assert slides.expected_slides(nb) == 4  # nbconvert opens a slide at the first visible cell
    nb.cells[0].metadata["slideshow"]["slide_type"] = "skip"
    assert slides.expected_slides(nb) == 3


def test_the_chinese_edition_is_saved_beside_the_english_one(tmp_path):
    english = executed_folder(tmp_path, tmp_path / "notebooks" / "00_setup.ipynb")
    chinese = executed_folder(tmp_path, tmp_path / "notebooks" / "zh" / "00_setup.ipynb")
    assert english == tmp_path / "build" / "executed"
    assert chinese == tmp_path / "build" / "executed" / "zh"


def test_executed_copy_fills_outputs_and_counts():
    nb = stand_in(1, "x")
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    stream = {"output_type": "stream", "name": "stdout", "text": "4\n"}
    result = {"output_type": "execute_result", "data": {"text/plain": "4"}, "metadata": {}}
    executed = executed_copy(nb, {4: [stream], 8: [result]})
    nbformat.validate(executed)
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == [1, 2, 3, 4, 5]
    assert executed.cells[4].outputs[0].text == "4\n"
    assert executed.cells[8].outputs[0].execution_count == 4
    assert executed.cells[0].metadata["slideshow"] == {"slide_type": "slide"}
    assert nb.cells[4].outputs == []  # the notebook nbval compares against is left alone


def test_missing_executed_notebooks_say_what_to_run(tmp_path):
    with pytest.raises(web_assets.MissingBuild, match="make nbval"):
        web_assets.executed_notebooks(tmp_path)


@needs_vendor
def test_decks_load_nothing_from_outside(tmp_path):
    decks = slides.build_decks(write_stand_ins(tmp_path / "executed"), tmp_path / "slides")
    assert [d.name for d in decks] == ["01_stand_in_1.slides.html", "02_stand_in_2.slides.html"]
    page = decks[0].read_text()
    assert not OUTSIDE.search(page), OUTSIDE.search(page)
    assert '<aside class="notes">' in page and "check passed" not in page  # solution skipped
    static = tmp_path / "slides" / "_static"
    for part in ("reveal.js/dist/reveal.js", "mathjax/MathJax.js", "require.js", "jquery.min.js"):
        assert (static / part).is_file(), part
    assert (tmp_path / "slides" / "index.html").is_file()


@needs_vendor
def test_site_pages_navigation_and_folded_solutions(tmp_path):
    executed = write_stand_ins(tmp_path / "executed")
    no_twins = zh_edition.edition(executed, tmp_path / "zh")
    pages = website.build_site(executed, tmp_path / "site", zh=no_twins)
    names = [p.relative_to(tmp_path / "site").as_posix() for p in pages]
    assert names == ["index.html", "01_stand_in_1.html", "02_stand_in_2.html", "zh/index.html"]
    first, second = pages[1].read_text(), pages[2].read_text()
    for page in (pages[0].read_text(), first, second):
        assert not OUTSIDE.search(page), OUTSIDE.search(page)
    assert nav_links(first) == {"next": "02_stand_in_2.html"}
    assert nav_links(second) == {"prev": "01_stand_in_1.html"}
    assert first.count('<details class="course-solution">') == 1
    index = (tmp_path / "site" / "_static" / "search_index.js").read_text()
    assert "Attention" in index and "01_stand_in_1.html" in index


def test_course_map_reads_the_readme_table():
    rows = website.course_map(ROOT / "README.md")
    assert rows["04_attention_from_scratch"][0] == "§3.1"
    assert "<code>" in rows["01_keras_bilstm"][1]


def test_measured_times_from_a_csv(tmp_path):
    measured = tmp_path / "notebook_times.csv"
    measured.write_text(
        "notebook,seconds,result\nnotebooks/01_a.ipynb,88.5,passed\n02_b,5,passed\n"
    )
    times, source = website.measured_times((tmp_path / "absent.csv", measured))
    assert times == {"01_a": 88.5, "02_b": 5.0} and source == measured
    assert website.measured_times((tmp_path / "absent.csv",)) == ({}, None)


def _pair(tmp_path, stem, types, py_types=None):
    """A notebook pair in a scratch notebooks/ folder with the given slide types."""
    import jupytext

    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell(f"cell {i}") for i in range(len(types))]
    )
    for cell, kind in zip(nb.cells, types, strict=True):
        if kind is not None:
            cell.metadata["slideshow"] = {"slide_type": kind}
    nbformat.write(nb, tmp_path / f"{stem}.ipynb")
    for cell, kind in zip(nb.cells, py_types or types, strict=True):
        cell.metadata.pop("slideshow", None)
        if kind is not None:
            cell.metadata["slideshow"] = {"slide_type": kind}
    jupytext.write(nb, tmp_path / f"{stem}.py", fmt="py:percent")


def test_check_wants_slide_metadata_on_every_cell(tmp_path, monkeypatch):
    monkeypatch.setattr(notebook_script, "NOTEBOOKS", tmp_path)
    _pair(tmp_path, "11_good", ["slide", "-", "subslide", "notes", "skip", "fragment"])
    assert notebook_script.check() == []
    _pair(tmp_path, "12_missing", ["slide", None])
    _pair(tmp_path, "13_first", ["subslide", "bogus"])
    _pair(tmp_path, "14_drift", ["slide", "-"], py_types=["slide", "skip"])
    problems = "\n".join(notebook_script.check())
    assert "12_missing.ipynb cell 1: no slide type" in problems
    assert "13_first.ipynb cell 0: the title cell must open a slide" in problems
    assert "13_first.ipynb cell 1: slide type 'bogus'" in problems
    assert "14_drift cell 1: slide type '-' in the .ipynb but 'skip' in the .py" in problems
    assert "11_good" not in problems


def test_committed_notebooks_with_slides_pass_the_check():
    problems = [p for p in notebook_script.check() if "slide" in p]
    assert problems == []


@needs_vendor
def test_long_code_is_folded_on_slides(tmp_path):
    nb = stand_in(1, "x")
    nb.cells[4].source = "\n".join(f"x{i} = {i}" for i in range(20))
    path = tmp_path / "01_long.ipynb"
    nbformat.write(nb, path)
    page = slides.build_decks([path], tmp_path / "slides")[0].read_text()
    assert page.count('<details class="course-code">') == 1 and "code (20 lines)" in page


def switch_link(page: str) -> str:
    """Where the page's language switch points."""
    return re.search(r'<a class="course-lang"[^>]*href="([^"]+)"', page)[1]


def dead_links(page: Path) -> list[str]:
    """Relative links on a built page that point at no file."""
    hrefs = re.findall(r'href="([^"#]+)(?:#[^"]*)?"', page.read_text())
    local = [h for h in hrefs if not re.match(r"^[a-z][a-z0-9+.-]*:", h, re.IGNORECASE)]
    return [h for h in local if not (page.parent / h.split("?")[0]).exists()]


def stand_in_edition(tmp_path):
    """The two executed stand-ins, and a Chinese edition with a twin for the first only."""
    executed = write_stand_ins(tmp_path / "executed")
    write_zh_stand_ins(tmp_path / "zh")
    return executed, zh_edition.edition(executed, tmp_path / "zh")


def test_zh_cells_take_their_english_twins_outputs(tmp_path):
    executed, zh = stand_in_edition(tmp_path)
    assert list(zh.books) == ["01_stand_in_1"] and zh.missing == ["02_stand_in_2"]
    english, shown = nbformat.read(executed[0], as_version=4), zh.books["01_stand_in_1"]
    for en, cell in zip(english.cells, shown.cells, strict=True):
        if cell.cell_type == "code":
            assert cell.outputs == en.outputs and cell.execution_count == en.execution_count
    assert shown.cells[4].outputs[0].text == "4\n"  # the English run's output, not re-executed
    assert "注意力" in shown.cells[2].source and "# 你的答案" in shown.cells[8].source
    assert nbformat.read(tmp_path / "zh" / executed[0].name, as_version=4).cells[4].outputs == []
    nbformat.validate(shown)
    assert "no zh twin for 02_stand_in_2" in zh.summary("site")


def test_line_breaks_between_chinese_characters_are_joined():
    text = "注意力让每个词元\n查看其他词元，\n  并加权求和。\n使用\nBERT 模型\n"
    assert (
        zh_edition.join_cjk_lines(text)
        == "注意力让每个词元查看其他词元，并加权求和。使用\nBERT 模型\n"
    )
    kept = "## 标题\n正文\n\n| 甲 |\n| 乙 |\n```\n# 注释\n注释\n```\n段落\n\n下一段"
    assert zh_edition.join_cjk_lines(kept) == kept


def test_zh_twin_out_of_step_is_left_out_and_named(tmp_path):
    executed = write_stand_ins(tmp_path / "executed")
    changed, short = zh_stand_in(1, "x"), zh_stand_in(2, "y")
    changed.cells[4].source = "print(2 + 3)  # 不同的代码"
    short.cells.pop()
    nbformat.write(changed, tmp_path / executed[0].name)
    nbformat.write(short, tmp_path / executed[1].name)
    zh = zh_edition.edition(executed, tmp_path)
    assert zh.books == {} and zh.missing == []
    line = zh.summary("slides")
    assert "01_stand_in_1 cell 4: its code differs" in line
    assert "02_stand_in_2: 9 cells, the English has 10" in line


@needs_vendor
def test_site_language_switch_links_every_page_to_its_twin(tmp_path, monkeypatch):
    readme = tmp_path / "README.zh-CN.md"
    readme.write_text(
        "| 笔记本 | 章节 | 你将构建什么 |\n|---|---|---|\n"
        "| `01_stand_in_1` | §3.1 | 手写**注意力** |\n"
    )
    monkeypatch.setattr(website, "README_ZH", readme)
    executed, zh = stand_in_edition(tmp_path)
    pages = website.build_site(executed, tmp_path / "site", zh=zh)
    site = tmp_path / "site"
    assert [p.relative_to(site).as_posix() for p in pages] == [
        "index.html",
        "01_stand_in_1.html",
        "02_stand_in_2.html",
        "zh/index.html",
        "zh/01_stand_in_1.html",
    ]
    text = {p.relative_to(site).as_posix(): p.read_text() for p in pages}
    assert switch_link(text["index.html"]) == "zh/index.html"
    assert switch_link(text["01_stand_in_1.html"]) == "zh/01_stand_in_1.html"
    assert switch_link(text["02_stand_in_2.html"]) == "zh/index.html"  # no twin: the zh map
    assert switch_link(text["zh/index.html"]) == "../index.html"
    assert switch_link(text["zh/01_stand_in_1.html"]) == "../01_stand_in_1.html"
    for page in pages:
        assert dead_links(page) == [], page
        assert not OUTSIDE.search(page.read_text()), page
    lesson = text["zh/01_stand_in_1.html"]
    assert '<html lang="zh">' in lesson and "注意力" in lesson
    assert "参考答案（点击展开）" in lesson and "课程地图" in lesson
    assert ">4\n<" in lesson and "data:image/png;base64" in lesson  # the English run's outputs
    landing = text["zh/index.html"]
    assert "手写<strong>注意力</strong>" in landing and "§3.1" in landing  # README.zh-CN.md's map
    assert 'href="01_stand_in_1.html"' in landing
    assert 'href="../02_stand_in_2.html" hreflang="en"' in landing and "（英文版）" in landing
    assert "尚无中文版" in landing
    index = (site / "zh" / "_static" / "search_index.js").read_text()
    assert "注意力" in index and "02_stand_in_2" not in index


@needs_vendor
def test_zh_decks_show_chinese_prose_with_english_outputs(tmp_path):
    _, zh = stand_in_edition(tmp_path)
    decks = slides.build_chinese_decks(zh, tmp_path / "slides" / "zh")
    assert [d.name for d in decks] == ["01_stand_in_1.slides.html"]
    page = decks[0].read_text()
    assert '<html lang="zh">' in page and "注意力" in page and "说明缩放为什么重要" in page
    assert ">4\n<" in page and "data:image/png;base64" in page
    assert not OUTSIDE.search(page), OUTSIDE.search(page)
    assert (tmp_path / "slides" / "zh" / "_static" / "reveal.js" / "dist" / "reveal.js").is_file()
    index = (tmp_path / "slides" / "zh" / "index.html").read_text()
    assert "02_stand_in_2" in index and 'href="../index.html"' in index


@needs_vendor
def test_decks_link_their_twin_deck_in_the_other_language(tmp_path):
    executed, zh = stand_in_edition(tmp_path)
    out = tmp_path / "slides"
    english = slides.build_decks(executed, out, twins=zh.books)
    chinese = slides.build_chinese_decks(zh, out / "zh")
    first, second = (deck.read_text() for deck in english)
    assert switch_link(first) == "zh/01_stand_in_1.slides.html"
    assert '<a class="course-lang"' not in second  # no zh twin, no switch (not the zh index)
    assert [deck.name for deck in chinese] == ["01_stand_in_1.slides.html"]
    twin = chinese[0].read_text()
    assert switch_link(twin) == "../01_stand_in_1.slides.html"
    assert re.search(r'<a class="course-lang"[^>]*hreflang="en"[^>]*>English</a>', twin)
    assert re.search(r'<a class="course-lang"[^>]*hreflang="zh-CN"[^>]*>中文</a>', first)
    for deck in (*english, *chinese):
        assert dead_links(deck) == [], deck
        assert deck.read_text().count('<a class="course-lang"') <= 1
    assert re.search(r"@media print \{[^}]*a\.course-lang[^}]*display: none", first)
    alone = slides.build_decks(executed[:1], tmp_path / "alone")[0].read_text()
    assert '<a class="course-lang"' not in alone  # no Chinese edition given: no switch


def test_the_switch_is_one_rule_for_pages_and_decks():
    twins = {"01_a"}
    assert zh_edition.to_chinese("01_a", twins).href == "zh/01_a.html"
    assert zh_edition.to_chinese("01_a", twins, ".slides.html").href == "zh/01_a.slides.html"
    assert zh_edition.to_chinese("02_b", twins).href == "zh/index.html"
    assert zh_edition.to_english("01_a", ".slides.html").href == "../01_a.slides.html"
    assert website.to_chinese is zh_edition.to_chinese  # the site's switch, not a copy
    assert slides.to_english is zh_edition.to_english


def test_course_map_reads_the_chinese_readme_table():
    rows = website.course_map(website.README_ZH)
    english = website.course_map(ROOT / "README.md")
    assert rows["04_attention_from_scratch"][0] == "§3.1"
    assert "注意力" in rows["04_attention_from_scratch"][1]
    assert set(rows) == set(english)


def test_font_stacks_name_the_cjk_family_after_the_latin_faces():
    css = (ROOT / "scripts" / "templates" / "site" / "course.css").read_text()
    deck = (ROOT / "scripts" / "templates" / "course_slides" / "index.html.j2").read_text()
    for text in (css, deck):
        stack = re.search(r"--course-sans:([^;]+);", text)[1]
        assert (
            stack.index("Helvetica") < stack.index('"Noto Sans CJK SC"') < stack.index("sans-serif")
        )
        assert "@font-face" not in text and "url(" not in text  # no web font to fetch


@needs_vendor
def test_building_one_lesson_keeps_the_other_decks_and_their_twins(tmp_path):
    executed, zh = stand_in_edition(tmp_path)
    out = tmp_path / "slides"
    slides.build_decks(executed, out, twins=zh.books)
    slides.build_chinese_decks(zh, out / "zh")
    alone = zh_edition.edition(executed[1:], tmp_path / "zh")  # `slides.py 02`: lesson 2 only
    slides.build_decks(executed[1:], out, twins=alone.books)
    slides.build_chinese_decks(alone, out / "zh")
    first = out / "01_stand_in_1.slides.html"
    assert (out / "zh" / first.name).is_file()  # lesson 1's zh deck survives lesson 2's build
    assert dead_links(first) == []
    for index in (out / "index.html", out / "zh" / "index.html"):
        assert f'href="{first.name}"' in index.read_text(), index
    (out / first.name).unlink()  # an English deck gone: its zh twin goes at the next build
    slides.build_chinese_decks(alone, out / "zh")
    assert not (out / "zh" / first.name).exists()
