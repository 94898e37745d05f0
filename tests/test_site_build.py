"""The built course site (`make site` -> _build/html): every lesson linked and executed, plots
and math rendered, twin tabs, labs without solutions, internal links that resolve, and a look
in a real browser (headless Chromium).

`make site` runs this file after building (with SITE_BUILT=1); elsewhere (`make test`) it is
skipped, so that an old build does not fail the unit tests. The browser check is skipped, with
the reason, when no Chromium is installed.
"""
from __future__ import annotations

import html
import http.server
import json
import os
import re
import shutil
import sys
import threading
from functools import partial
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
REQUIRED = os.environ.get("SITE_BUILT") == "1"
sys.path[:0] = [str(ROOT / "site"), str(ROOT / "site" / "_ext")]

import course_site  # noqa: E402
import layout  # noqa: E402

if not REQUIRED:
    pytest.skip("checks the built site: `make site` runs them (SITE_BUILT=1)", allow_module_level=True)
if not (HTML / "index.html").exists():
    raise RuntimeError(f"SITE_BUILT=1 but {HTML}/index.html is missing: run `make site`")

PLOTTING = re.compile(r"\bplt\.|\.plot\(|\.imshow\(|\.scatter\(|\.hist\(|plot_[a-z_]*\(")


def _page(docname: str) -> str:
    return (HTML / f"{docname}.html").read_text(encoding="utf-8")


def _text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def _lessons() -> list[layout.Notebook]:
    return layout.notebooks_of([e for p in layout.lesson_parts(ROOT) for e in p.entries])


def _labs() -> list[layout.Notebook]:
    return layout.notebooks_of(layout.lab_entries(ROOT))


def _code(path: str) -> str:
    cells = json.loads((ROOT / path).read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def _hrefs(page: str) -> list[str]:
    return re.findall(r'(?:href|src)="([^"]*)"', page)


def _resolves(page_path: Path, href: str) -> Path:
    return (page_path.parent / unquote(urlsplit(href).path)).resolve()


def test_home_page_links_every_lesson_and_lab():
    index = HTML / "index.html"
    targets = {_resolves(index, h) for h in _hrefs(index.read_text(encoding="utf-8"))}
    for nb in _lessons() + _labs():
        assert (HTML / f"{nb.docname}.html").resolve() in targets, f"index.html should link {nb.docname}"


@pytest.mark.parametrize("notebook", _lessons(), ids=lambda nb: nb.docname)
def test_lesson_page_shows_its_outputs(notebook):
    page = _page(notebook.docname)
    outputs = page.count('class="cell_output')
    assert outputs, f"{notebook.docname}: no executed outputs on the page"
    if PLOTTING.search(_code(notebook.path)):
        images = re.findall(r'<img[^>]+src="([^"]+\.(?:png|svg|jpg))"', page)
        assert images, f"{notebook.docname} plots, but its page shows no image"
        for src in images:
            assert _resolves(HTML / f"{notebook.docname}.html", src).is_file(), src
    assert "Traceback (most recent call last)" not in _text(page), f"{notebook.docname} shows an error"


def test_twin_pages_have_synchronized_framework_tabs():
    topics = [e for p in layout.lesson_parts(ROOT) for e in p.entries if isinstance(e, layout.Topic)]
    assert topics
    for topic in topics:
        docs = [topic.docname] + [nb.docname for nb in topic.twins.values()]
        for doc in docs:
            page = _page(doc)
            for track in ("pytorch", "tensorflow"):
                assert re.search(rf'data-sync-group="framework"\s+data-sync-id="{track}"', page), \
                    f"{doc}: no {track} tab in the framework sync group"
        topic_page = _page(topic.docname)
        for nb in topic.twins.values():
            assert f'href="{Path(nb.docname).name}.html"' in topic_page or f"{nb.docname}.html" in topic_page


def _solution_lines() -> set[str]:
    """Lines of the reference solutions and hidden tests that neither a lab nor a lesson shows."""
    public = "\n".join("".join(c["source"]) for nb in _lessons() + _labs() for c in
                        json.loads((ROOT / nb.path).read_text(encoding="utf-8"))["cells"])
    public_lines = {line.strip() for line in public.splitlines()}
    secret = set()
    for path in sorted(ROOT.glob("solutions/*/*.ipynb")):
        code = _code(path.relative_to(ROOT).as_posix())
        for block in re.findall(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", code,
                                flags=re.S):
            secret.update(line.strip() for line in block[1].splitlines()
                          if len(line.strip()) >= 20 and not line.strip().startswith("#")
                          and line.strip() not in public_lines)
    return secret


def test_labs_show_no_solutions():
    secret = _solution_lines()
    assert len(secret) > 20, f"expected the reference solutions' distinctive lines, found {len(secret)}"
    labs = _labs()
    assert labs
    for page in sorted(HTML.rglob("*.html")):
        text = _text(page.read_text(encoding="utf-8"))
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
            assert marker not in text, f"{page.relative_to(HTML)} contains {marker!r}"
        lines = {line.strip() for line in text.splitlines()}
        leaked = sorted(secret & lines)
        assert not leaked, f"{page.relative_to(HTML)} shows reference-solution lines: {leaked[:3]}"
    for nb in labs:
        page = _page(nb.docname)
        assert "NotImplementedError" in page and 'class="cell_output' not in page, \
            f"{nb.docname} should be the student version, not executed"


def test_internal_links_and_anchors_resolve():
    ids: dict[Path, set[str]] = {}
    broken = []
    for page in sorted(HTML.rglob("*.html")):
        if "_static" in page.parts:
            continue
        for href in _hrefs(page.read_text(encoding="utf-8")):
            parts = urlsplit(href)
            if parts.scheme or href.startswith(("//", "mailto:", "javascript:", "data:")):
                continue
            target = _resolves(page, href) if parts.path else page.resolve()
            if not target.exists():
                broken.append(f"{page.relative_to(HTML)} -> {href}")
                continue
            if parts.fragment and target.suffix == ".html":
                if target not in ids:
                    ids[target] = set(re.findall(r'\bid="([^"]+)"', target.read_text(encoding="utf-8")))
                if unquote(parts.fragment) not in ids[target]:
                    broken.append(f"{page.relative_to(HTML)} -> {href} (no such anchor)")
    assert not broken, f"{len(broken)} broken internal links: {broken[:10]}"


def test_math_is_marked_up_and_served_locally():
    pages_with_math = 0
    for page in sorted(HTML.rglob("*.html")):
        if "_static" in page.parts:
            continue
        text = page.read_text(encoding="utf-8")
        assert not course_site.unrendered_math(text), page.relative_to(HTML)
        if 'class="math notranslate' in text:
            pages_with_math += 1
            assert "_static/mathjax/tex-mml-chtml.js" in text, f"{page.relative_to(HTML)}: MathJax not served locally"
            assert "cdn.jsdelivr" not in text
    assert pages_with_math >= 5
    assert (HTML / "_static" / "mathjax" / "tex-mml-chtml.js").is_file()


def test_api_reference_from_docstrings():
    page = _page("apidocs/minifw/minifw.layers")
    assert "Fully connected layer" in page and 'id="minifw.layers.Linear"' in page
    assert 'class="math notranslate' in page, "the docstrings' $...$ math should render"
    index = _page("apidocs/minifw/minifw")
    for module in ("layers", "losses", "optim", "training", "autograd"):
        assert f"minifw.{module}.html" in index


# ---- in a browser ---------------------------------------------------------------------------

def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[site]')")
    executable = _chromium()
    if executable is None:
        pytest.skip("no Chromium found (chromium, chromium-browser, google-chrome) on PATH")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def site_url():
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(HTML)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_in_browser_plots_math_and_tabs(browser, site_url):
    shots = ROOT / "_build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(f"{site_url}/index.html")
    page.wait_for_load_state("networkidle")
    assert "numpy" in page.title() or page.locator("h1").first.inner_text()
    assert page.locator("table a[href*='lessons/']").count() >= len(_lessons()) - 1
    page.screenshot(path=str(shots / "home.png"), full_page=False)

    lesson = "lessons/03-overfitting/01-overfitting-bias-variance"
    page.goto(f"{site_url}/{lesson}.html")
    page.wait_for_function("() => document.querySelectorAll('mjx-container').length > 0", timeout=30_000)
    assert page.locator("mjx-container").count() > 0, "MathJax rendered no math"
    assert page.locator("mjx-merror").count() == 0, "MathJax could not typeset some math"
    plots = page.locator(".cell_output img")
    assert plots.count() > 0
    plots.first.scroll_into_view_if_needed()
    widths = plots.evaluate_all("imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
    assert all(w > 100 for w in widths), f"plot images that did not load: {widths}"
    page.screenshot(path=str(shots / "lesson.png"), full_page=False)

    topic = next(e for p in layout.lesson_parts(ROOT) for e in p.entries if isinstance(e, layout.Topic))
    page.goto(f"{site_url}/{topic.docname}.html")
    tensorflow_tab = page.locator('label[data-sync-group="framework"][data-sync-id="tensorflow"]').first
    tensorflow_tab.click()
    checked = page.locator('input:checked + label[data-sync-id="tensorflow"]')
    assert checked.count() >= 1, "clicking the TensorFlow tab should select it"
    assert page.get_by_text("Read the TensorFlow lesson").is_visible()
    assert not page.get_by_text("Read the PyTorch lesson").is_visible()
    page.screenshot(path=str(shots / "topic-tensorflow.png"), full_page=False)

    # The choice is remembered: a twin page opens on the TensorFlow tab.
    page.goto(f"{site_url}/{topic.twins['pytorch'].docname}.html")
    assert page.locator('input:checked + label[data-sync-id="tensorflow"]').count() >= 1, \
        "the framework chosen on one page should be selected on the next"
    assert not errors, f"JavaScript errors: {errors}"


def _console_errors(page) -> list[str]:
    """Errors a reader would see in the browser's console: script errors, console.error, and
    resources that failed to load (a 404 for /favicon.ico counts)."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("response", lambda response: errors.append(f"{response.status} {response.url}")
            if response.status >= 400 else None)
    return errors


def test_in_browser_first_visit_dark_mode_and_phone(browser, site_url):
    """A first visit (nothing stored yet) logs no console error and shows one search box; the
    theme switch turns the pages dark and the choice carries over; on a phone the page does not
    scroll sideways and the menu button opens the course's navigation."""
    shots = ROOT / "_build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    lesson = f"{site_url}/lessons/01-numpy/03-building-minifw.html"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = _console_errors(page)
    page.goto(f"{site_url}/index.html", wait_until="networkidle")
    searches = page.locator(".search-button-field:visible")
    assert searches.count() == 1, f"expected one search box, found {searches.count()} (a second one in a top bar?)"

    for _ in range(3):  # the switch cycles auto, dark and light, in an order that depends on the system's
        if page.evaluate("document.documentElement.dataset.theme") == "dark":
            break
        page.locator(".theme-switch-button:visible").first.click()
    page.goto(lesson, wait_until="networkidle")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark", "the dark mode should carry over"
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert sum(map(int, re.findall(r"\d+", background)[:3])) < 3 * 80, f"dark mode, but the page is {background}"
    page.screenshot(path=str(shots / "lesson-dark.png"))
    assert not errors, f"console errors: {errors}"
    context.close()

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = phone.new_page()
    errors = _console_errors(page)
    page.goto(lesson, wait_until="networkidle")
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the page scrolls sideways on a phone: {width[0]} px wide in a {width[1]} px window"
    page.locator(".primary-toggle:visible").first.click()
    nav = page.locator("#pst-primary-sidebar-modal a[href*='02-backprop-by-hand']")
    nav.wait_for(state="visible", timeout=10_000)
    page.screenshot(path=str(shots / "phone-navigation.png"))
    nav.click()
    page.wait_for_url("**/02-backprop-by-hand.html")
    assert not errors, f"console errors: {errors}"
    phone.close()
