"""The decks and the site in headless Chromium, with every request off the machine blocked.

``make test`` runs these after nbval, on the notebooks that run executed (``build/executed``),
and leaves the decks and the site in ``build/slides`` and ``build/site``; without an executed
run they use two small executed stand-ins. Screenshots go to ``build/screenshots/``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import nbformat
import pytest

from tests.publish_fixtures import ROOT, executed_for_browser, script

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
    landing, lessons = pages[0], pages[1:]
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
