"""The decks and the site in headless Chromium, with every request off the machine blocked.

``make test`` runs these after nbval, on the notebooks that run executed (``build/executed``),
and leaves the decks and the site in ``build/slides`` and ``build/site``; without an executed
run they use two small executed stand-ins. Screenshots go to ``build/screenshots/``.

The Chinese edition (``build/slides/zh``, ``build/site/zh``) is opened too: its text must render
in the CJK font (no tofu boxes), its maths must typeset, and nothing may be fetched.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import nbformat
import pytest

from tests.publish_fixtures import (
    ROOT,
    executed_for_browser,
    script,
    write_stand_ins,
    write_zh_stand_ins,
)

pytestmark = pytest.mark.browser
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = ROOT / "build" / "screenshots"
LOCAL = re.compile(r"^(file:|data:|blob:|about:|https?://(localhost|127\.0\.0\.1)[:/])")
IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml")


class Browser:
    """One Chromium page that records what it tried to fetch from outside and what went wrong."""

    def __init__(self, playwright) -> None:
        self.browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        self.page = self.browser.new_page(viewport={"width": 1280, "height": 900})
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.page.context.route("**/*", self._route)
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _route(self, route) -> None:
        url = route.request.url
        if LOCAL.match(url):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def open(self, path: Path) -> None:
        """Load a file and wait for its scripts."""
        self.page.goto(path.as_uri())
        self.page.wait_for_load_state("load")

    def broken_images(self) -> int:
        """Images on the page that did not decode."""
        return self.page.evaluate(
            "[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).length"
        )

    def images(self) -> int:
        """Images on the page that decoded."""
        return self.page.evaluate("[...document.images].filter(i => i.naturalWidth > 0).length")


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: `make chromium` installs Debian's package")
        pytest.skip(f"{CHROMIUM} is missing: `make chromium` installs Debian's package")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        session = Browser(playwright)
        yield session
        session.browser.close()


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    web_assets = script("web_assets")
    if not web_assets.installed():
        message = "reveal.js/MathJax not installed: run `make web-assets`"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    notebooks, real = executed_for_browser(tmp_path_factory.mktemp("executed"))
    # the real run's decks and site land where `make slides` and `make site` put them
    out = ROOT / "build" if real else tmp_path_factory.mktemp("built")
    return notebooks, out


def visible_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """Cells a deck shows on its slides (not skipped, not speaker notes)."""
    return [
        c
        for c in nb.cells
        if c.metadata.get("slideshow", {}).get("slide_type", "-") not in {"skip", "notes"}
    ]


def image_outputs(cells: list[nbformat.NotebookNode]) -> int:
    """Image outputs (plots) among the cells."""
    return sum(
        any(kind in output.get("data", {}) for kind in IMAGE_TYPES)
        for cell in cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )


def has_maths(cells: list[nbformat.NotebookNode]) -> bool:
    """True when a markdown cell holds TeX between dollar signs (outside code)."""
    for cell in cells:
        if cell.cell_type == "markdown":
            prose = re.sub(r"```.*?```|`[^`]*`", "", cell.source, flags=re.DOTALL)
            if re.search(r"\$[^$\s][^$]*\$", prose.replace("\\$", "")):
                return True
    return False


def test_decks_open_offline_with_every_slide_maths_and_plots(browser, executed):
    slides = script("slides")
    browser.outside.clear(), browser.errors.clear()
    executed, out = executed
    decks = slides.build_decks(executed, out / "slides")
    assert len(decks) >= 2
    maths_checked = images_checked = 0
    for notebook, deck in zip(executed, decks, strict=True):
        nb = nbformat.read(notebook, as_version=4)
        browser.open(deck)
        browser.page.wait_for_selector(".reveal.ready", timeout=60_000)
        total = browser.page.evaluate(
            """() => new Promise(done => require(["_static/reveal.js/dist/reveal.js"],
                   Reveal => done(Reveal.isReady() ? Reveal.getTotalSlides() : -1)))"""
        )
        assert total == slides.expected_slides(nb), deck.name
        typeset = browser.page.evaluate(
            """() => new Promise(done => MathJax.Hub.Queue(() => done([
                   document.querySelectorAll(".MathJax_CHTML").length,
                   document.querySelectorAll(".MathJax_Error, .MathJax_CHTML merror").length])))"""
        )
        if has_maths(visible_cells(nb)):
            assert typeset[0] > 0 and typeset[1] == 0, (deck.name, typeset)
            maths_checked += 1
        expected_images = image_outputs(visible_cells(nb))
        assert browser.broken_images() == 0, deck.name
        assert browser.images() >= expected_images, deck.name
        images_checked += expected_images > 0
    assert maths_checked and images_checked, "no deck had maths and plots to check"
    shown = next(
        d
        for n, d in zip(executed, decks, strict=True)
        if image_outputs(visible_cells(nbformat.read(n, as_version=4)))
    )
    browser.open(shown)  # the screenshot: the first slide with a plot
    browser.page.wait_for_selector(".reveal.ready", timeout=60_000)
    browser.page.evaluate(
        """() => new Promise(done => require(["_static/reveal.js/dist/reveal.js"], Reveal => {
               const plot = Reveal.getSlides().find(s => s.querySelector("img"));
               const at = Reveal.getIndices(plot);
               Reveal.slide(at.h, at.v);
               done();
           }))"""
    )
    browser.page.evaluate("() => new Promise(done => MathJax.Hub.Queue(done))")
    browser.page.wait_for_timeout(1500)  # the slide transition and MathJax's late styles
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.page.screenshot(path=str(SHOTS / "slide.png"))
    assert browser.outside == [], f"requests left the machine: {browser.outside[:5]}"
    assert browser.errors == [], browser.errors[:5]


def local_target(page_url: str, href: str) -> tuple[Path, str]:
    """The file and fragment a relative link on a file:// page points at."""
    parsed = urlparse(href)
    base = Path(unquote(urlparse(page_url).path))
    target = base if not parsed.path else (base.parent / unquote(parsed.path)).resolve()
    return target, parsed.fragment


# A browser finds a fragment's element by the raw id first, then by the percent-decoded one.
FIND_ANCHOR = (
    "f => !!(document.getElementById(f) || document.getElementById(decodeURIComponent(f)))"
)


def test_site_offline_landing_and_lessons(browser, executed):
    website = script("website")
    browser.outside.clear(), browser.errors.clear()
    executed, out = executed
    pages = website.build_site(executed, out / "site")
    landing = pages[0]
    lessons = [p for p in pages[1:] if p.parent == landing.parent]  # the English edition
    browser.open(landing)
    rows = browser.page.locator("table.course-map tbody tr").count()
    assert rows == len(lessons)
    browser.page.fill("#course-search", "the")
    assert browser.page.locator("#course-results li a").count() > 0
    for lesson, notebook in list(zip(lessons, executed, strict=True))[:2]:
        nb = nbformat.read(notebook, as_version=4)
        browser.open(lesson)
        assert browser.broken_images() == 0, lesson.name
        assert browser.images() >= image_outputs(nb.cells), lesson.name
        solutions = sum("solution" in c.metadata.get("tags", []) for c in nb.cells)
        folded = browser.page.locator("details.course-solution:not([open])").count()
        assert folded == solutions, lesson.name
    for page in pages:
        browser.open(page)
        url = browser.page.url
        hrefs = browser.page.eval_on_selector_all(
            "a[href]", "links => links.map(a => a.getAttribute('href'))"
        )
        for href in hrefs:
            if re.match(r"^[a-z][a-z0-9+.-]*:", href, re.IGNORECASE):
                continue  # a link out (https:, mailto:) is the reader's choice, not a page load
            target, fragment = local_target(url, href)
            assert target.is_file(), f"{page.name}: broken link {href}"
            if fragment and target == Path(unquote(urlparse(url).path)):
                found = browser.page.evaluate(FIND_ANCHOR, fragment)
                assert found, f"{page.name}: no anchor for {href}"
    browser.open(lessons[0])
    browser.page.locator("nav.course-nav-top a.course-next").click()
    browser.page.wait_for_load_state("load")
    assert browser.page.url.endswith(lessons[1].name)
    if browser.page.locator("img").count():
        browser.page.locator("img").first.scroll_into_view_if_needed()  # a page with a plot
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.page.screenshot(path=str(SHOTS / "site.png"), full_page=False)
    assert browser.outside == [], f"requests left the machine: {browser.outside[:5]}"
    assert browser.errors == [], browser.errors[:5]


# --- The Chinese edition -------------------------------------------------------------------

CJK_FAMILY = "Noto Sans CJK SC"
TOFU = "\u0378"  # an unassigned code point: no font has it, so it shows the missing-glyph box

# Two distinct Han characters on screen inside ``scope``: where they are and how they are set.
FIND_HAN = """scope => {
  const root = document.querySelector(scope) || document.body;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const found = [];
  for (let node = walker.nextNode(); node && found.length < 2; node = walker.nextNode()) {
    const el = node.parentElement;
    const hidden = el && getComputedStyle(el).visibility === "hidden";
    if (!el || !el.getClientRects().length || hidden) continue;
    for (let i = 0; i < node.data.length && found.length < 2; i++) {
      const ch = node.data[i];
      if (!/[\\u4e00-\\u9fff]/.test(ch) || found.some(f => f.ch === ch)) continue;
      const range = document.createRange();
      range.setStart(node, i);
      range.setEnd(node, i + 1);
      const r = range.getBoundingClientRect();
      const off = r.top < 0 || r.left < 0 || r.bottom > innerHeight || r.right > innerWidth;
      if (r.width < 6 || off) continue;
      const style = getComputedStyle(el);
      found.push({ch, x: r.x, y: r.y, width: r.width, height: r.height,
                  size: parseFloat(style.fontSize), family: style.fontFamily,
                  weight: style.fontWeight});
    }
  }
  return found;
}"""

# A missing glyph set in the same font stack and size, at the top left of the viewport.
SHOW_TOFU = """([text, family, size, weight]) => {
  const probe = document.createElement("span");
  probe.id = "tofu-probe";
  probe.textContent = text;
  Object.assign(probe.style, {position: "fixed", left: "0px", top: "0px", zIndex: 2147483647,
    background: "white", color: "black", fontFamily: family, fontSize: size + "px",
    fontWeight: weight, lineHeight: "1.2", padding: "0", margin: "0"});
  document.body.appendChild(probe);
  const r = probe.getBoundingClientRect();
  return {x: r.x, y: r.y, width: r.width, height: r.height};
}"""

# The CJK family is installed: Latin text measures differently in it than in the fallback.
FAMILY_INSTALLED = """family => {
  const ctx = document.createElement("canvas").getContext("2d");
  const width = font => { ctx.font = font; return ctx.measureText("mmmmmmmmmmlli").width; };
  return width(`48px "${family}", monospace`) !== width("48px monospace");
}"""

# The advance of a Han character in the CJK font at a given size, measured on a canvas.
FONT_ADVANCE = """([ch, family, size]) => {
  const ctx = document.createElement("canvas").getContext("2d");
  ctx.font = `${size}px "${family}"`;
  return ctx.measureText(ch).width;
}"""


def glyph(png: bytes):
    """The inked pixels of a screenshot region, cropped to the ink and scaled to 32 x 32."""
    import numpy as np
    from PIL import Image

    dark = np.asarray(Image.open(io.BytesIO(png)).convert("L")) < 128
    ys, xs = np.nonzero(dark)
    assert len(xs) > 0, "nothing drawn where the character is"
    crop = dark[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    image = Image.fromarray(crop.astype(np.uint8) * 255).resize((32, 32), Image.BILINEAR)
    return np.asarray(image) > 127


def assert_chinese_renders(browser: Browser, scope: str, check_advance: bool) -> list[str]:
    """Han characters in ``scope`` are drawn from the CJK font, not as missing-glyph boxes."""
    page = browser.page
    # Chromium answers true here for any family it resolves locally; the canvas test below is
    # the one that fails when the family is absent.
    assert page.evaluate(f"() => document.fonts.check('16px \"{CJK_FAMILY}\"', '中')")
    assert page.evaluate(FAMILY_INSTALLED, CJK_FAMILY), f"{CJK_FAMILY} is not installed"
    found = page.evaluate(FIND_HAN, scope)
    assert len(found) == 2, f"fewer than two Han characters on screen in {scope}: {found}"
    assert all(CJK_FAMILY in f["family"] for f in found), found[0]["family"]  # in the CSS stack
    if check_advance:  # unscaled page: a Han glyph advances exactly as the CJK font says
        for f in found:
            advance = page.evaluate(FONT_ADVANCE, [f["ch"], CJK_FAMILY, f["size"]])
            assert abs(f["width"] - advance) < 1, (f, advance)
    shots = [
        glyph(page.screenshot(clip={k: f[k] for k in ("x", "y", "width", "height")})) for f in found
    ]
    box = page.evaluate(
        SHOW_TOFU, [TOFU, found[0]["family"], found[0]["width"], found[0]["weight"]]
    )
    tofu = glyph(page.screenshot(clip=box))
    page.evaluate("() => document.getElementById('tofu-probe').remove()")
    apart = [float((shot != tofu).mean()) for shot in shots]
    between = float((shots[0] != shots[1]).mean())
    # A missing glyph is one box whatever the character: two boxes differ in about 0.1 of these
    # pixels (edges), a Han glyph from a box in 0.5 or more, two Han glyphs in 0.4 or so.
    assert min(apart) > 0.25 and between > 0.2, (found, apart, between)
    return [f["ch"] for f in found]


@pytest.fixture(scope="module")
def chinese(executed, tmp_path_factory):
    """The executed notebooks, their Chinese edition and where to build: notebooks/zh's twins
    of the real run when there are any, else the stand-ins and a zh twin of the first."""
    zh_edition = script("zh_edition")
    notebooks, out = executed
    zh = zh_edition.edition(notebooks)
    if zh.books:
        return notebooks, zh, out
    tmp = tmp_path_factory.mktemp("zh")
    notebooks = write_stand_ins(tmp / "executed")
    write_zh_stand_ins(tmp / "zh")
    return notebooks, zh_edition.edition(notebooks, tmp / "zh"), tmp / "built"


def with_maths_first(zh) -> list[str]:
    """The zh lessons, those whose slides show maths first."""
    return sorted(zh.books, key=lambda stem: not has_maths(visible_cells(zh.books[stem])))


def test_chinese_deck_renders_cjk_and_maths_offline(browser, chinese):
    slides = script("slides")
    browser.outside.clear(), browser.errors.clear()
    _, zh, out = chinese
    decks = {
        d.name.removesuffix(".slides.html"): d
        for d in slides.build_chinese_decks(zh, out / "slides" / "zh")
    }
    stem = with_maths_first(zh)[0]
    nb = zh.books[stem]
    browser.open(decks[stem])
    browser.page.wait_for_selector(".reveal.ready", timeout=60_000)
    assert browser.page.evaluate("document.documentElement.lang") == "zh"
    total = browser.page.evaluate(
        """() => new Promise(done => require(["_static/reveal.js/dist/reveal.js"],
               Reveal => done(Reveal.isReady() ? Reveal.getTotalSlides() : -1)))"""
    )
    assert total == slides.expected_slides(nb), stem
    typeset = browser.page.evaluate(
        """() => new Promise(done => MathJax.Hub.Queue(() => done([
               document.querySelectorAll(".MathJax_CHTML").length,
               document.querySelectorAll(".MathJax_Error, .MathJax_CHTML merror").length])))"""
    )
    if has_maths(visible_cells(nb)):
        assert typeset[0] > 0 and typeset[1] == 0, (stem, typeset)
    # the slide shown: the first with both Chinese prose and typeset maths, else the title slide
    browser.page.evaluate(
        """() => new Promise(done => require(["_static/reveal.js/dist/reveal.js"], Reveal => {
               const both = Reveal.getSlides().find(s => /[\u4e00-\u9fff]/.test(s.textContent)
                   && s.querySelector(".MathJax_CHTML"));
               const at = Reveal.getIndices(both || Reveal.getSlides()[0]);
               Reveal.slide(at.h, at.v);
               done();
           }))"""
    )
    browser.page.evaluate("() => new Promise(done => MathJax.Hub.Queue(done))")
    browser.page.wait_for_timeout(1500)  # the slide transition and MathJax's late styles
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.page.screenshot(path=str(SHOTS / "slide_zh.png"))
    assert_chinese_renders(browser, ".reveal .slides section.present", check_advance=False)
    assert browser.outside == [], f"requests left the machine: {browser.outside[:5]}"
    assert browser.errors == [], browser.errors[:5]


def test_chinese_site_renders_cjk_maths_and_switches_language(browser, chinese):
    website = script("website")
    browser.outside.clear(), browser.errors.clear()
    notebooks, zh, out = chinese
    pages = website.build_site(notebooks, out / "site", zh=zh)
    site = out / "site"
    zh_pages = {p.stem: p for p in pages if p.parent == site / "zh"}
    assert set(zh_pages) == {"index", *zh.books}
    browser.open(zh_pages["index"])
    assert browser.page.locator("table.course-map tbody tr").count() == len(notebooks)
    assert_chinese_renders(browser, "h1", check_advance=True)
    stem = with_maths_first(zh)[0]
    browser.open(zh_pages[stem])
    typeset = browser.page.evaluate(
        """() => new Promise(done => MathJax.Hub.Queue(() => done([
               document.querySelectorAll(".MathJax_CHTML").length,
               document.querySelectorAll(".MathJax_Error, .MathJax_CHTML merror").length])))"""
    )
    if has_maths(zh.books[stem].cells):
        assert typeset[0] > 0 and typeset[1] == 0, (stem, typeset)
    assert browser.broken_images() == 0 and browser.images() >= image_outputs(zh.books[stem].cells)
    browser.page.wait_for_timeout(500)  # MathJax's late styles
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.page.screenshot(path=str(SHOTS / "site_zh.png"))
    assert_chinese_renders(browser, "main", check_advance=True)
    browser.page.locator("nav.course-nav-top a.course-lang").click()  # to the English twin
    browser.page.wait_for_load_state("load")
    assert Path(unquote(urlparse(browser.page.url).path)) == site / f"{stem}.html"
    browser.page.locator("nav.course-nav-top a.course-lang").click()  # and back
    browser.page.wait_for_load_state("load")
    assert Path(unquote(urlparse(browser.page.url).path)) == zh_pages[stem]
    assert browser.outside == [], f"requests left the machine: {browser.outside[:5]}"
    assert browser.errors == [], browser.errors[:5]


# Which slide reveal.js shows, once it is ready.
SHOWN_SLIDE = """() => new Promise(done => require(["_static/reveal.js/dist/reveal.js"],
    Reveal => done(Reveal.isReady() ? [Reveal.getIndices().h, Reveal.getIndices().v] : null)))"""


def test_deck_language_switch_opens_the_twin_at_the_same_slide(browser, chinese, tmp_path):
    slides, zh_edition = script("slides"), script("zh_edition")
    browser.outside.clear(), browser.errors.clear()
    notebooks, zh, _ = chinese
    stem = sorted(zh.books)[0]
    out = tmp_path / "slides"  # one pair of decks, apart from the full build in build/slides
    english = next(p for p in notebooks if p.stem == stem)
    deck = slides.build_decks([english], out, twins={stem})[0]
    only = zh_edition.Edition(books={stem: zh.books[stem]})
    twin = slides.build_chinese_decks(only, out / "zh")[0]
    page = browser.page
    browser.open(deck)
    page.wait_for_selector(".reveal.ready", timeout=60_000)
    switch = page.locator("a.course-lang")
    assert switch.inner_text() == "中文"
    box = switch.bounding_box()
    assert box["x"] > 1280 / 2 and box["y"] < 900 / 10, box  # a corner: top right
    page.evaluate(
        """() => new Promise(done => require(["_static/reveal.js/dist/reveal.js"],
               Reveal => { Reveal.slide(1, 0); done(); }))"""
    )
    page.wait_for_function("location.hash === '#/1'")
    switch.click()  # fails if a slide or reveal.js's controls cover it
    page.wait_for_load_state("load")
    assert Path(unquote(urlparse(page.url).path)) == twin and urlparse(page.url).fragment == "/1"
    page.wait_for_selector(".reveal.ready", timeout=60_000)
    assert page.evaluate(SHOWN_SLIDE) == [1, 0]
    assert page.evaluate("document.documentElement.lang") == "zh"
    assert switch.inner_text() == "English"
    page.emulate_media(media="print")
    try:
        assert switch.is_hidden()  # printed or saved as PDF, the deck has no switch
    finally:
        page.emulate_media(media="screen")
    switch.click()  # and back
    page.wait_for_load_state("load")
    assert Path(unquote(urlparse(page.url).path)) == deck
    page.wait_for_selector(".reveal.ready", timeout=60_000)
    assert page.evaluate(SHOWN_SLIDE) == [1, 0]
    assert browser.outside == [], f"requests left the machine: {browser.outside[:5]}"
    assert browser.errors == [], browser.errors[:5]
