"""The course's JupyterLab as a student meets it, in a real browser.

Playwright drives a Chromium installed by the system (Debian's `chromium` package; Playwright's
own browser downloads are not used). JupyterLab is started by `make lab` (and `make
lab-instructor`) in a scratch copy of the files it needs, so nothing in the repository is saved
over. Screenshots go to `tests/screenshots/` (git-ignored).

Skipped when no Chromium is found (set `NN_COURSE_CHROMIUM` to a browser's path to use another);
with `NN_COURSE_REQUIRE_BROWSER=1` (CI) a missing browser is a failure instead.
"""
from __future__ import annotations

import difflib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "tests" / "screenshots"
SETUP_CHECK = "lessons/00-setup-check.ipynb"
LAB = "labs/backprop-minifw/backprop-minifw.ipynb"
# What `make lab` needs besides the venv: the Makefile and its prerequisites, the course's Jupyter
# settings, nbgrader's configuration (for Validate), Jupytext's pairing of lessons with their
# sources (saving a lesson writes its source too) and the two notebooks the test opens.
COPIED = ["Makefile", "pyproject.toml", "requirements.lock", "nbgrader_config.py", "jupyter", "jupytext.toml",
          SETUP_CHECK, "sources/" + SETUP_CHECK.replace(".ipynb", ".py"), str(Path(LAB).parent)]
# An error output (JupyterLab renders it as stderr): a traceback, or `SomeError: message` for a
# SyntaxError. Warnings and Lightning's info lines on stderr match neither.
STDERR = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
ERROR = re.compile(r"Traceback \(most recent call last\)|^\w*(Error|Exception): ", re.M)
SLOW = 180_000  # ms: a loaded 2-core machine imports torch and TensorFlow slowly


def _find_chromium() -> str | None:
    candidates = [os.environ.get("NN_COURSE_CHROMIUM"), "/usr/bin/chromium",
                  shutil.which("chromium"), shutil.which("chromium-browser"), shutil.which("google-chrome")]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


CHROMIUM = _find_chromium()
_why_not = ("no Chromium found (looked for $NN_COURSE_CHROMIUM, /usr/bin/chromium, chromium, "
            "chromium-browser, google-chrome); install one (Debian: apt-get install chromium) to run "
            "the browser test" if CHROMIUM is None else
            "`make` not found: the browser test starts JupyterLab with `make lab`" if shutil.which("make") is None
            else None)
if _why_not:
    if os.environ.get("NN_COURSE_REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"NN_COURSE_REQUIRE_BROWSER=1 but {_why_not}")
    pytest.skip(_why_not, allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")


class Lab:
    """A JupyterLab started by `make <target>` in a scratch copy of the course."""

    def __init__(self, target: str, workdir: Path) -> None:
        for name in COPIED:
            source, copy = ROOT / name, workdir / name
            copy.parent.mkdir(parents=True, exist_ok=True)
            (shutil.copytree if source.is_dir() else shutil.copy2)(source, copy)
        self.workdir = workdir
        venv = Path(sys.prefix)
        # A fresh HOME: no user settings or saved workspace of whoever runs the test.
        env = dict(os.environ, HOME=str(workdir / "home"), JUPYTER_RUNTIME_DIR=str(workdir / "runtime"))
        env.pop("JUPYTER_CONFIG_PATH", None)
        command = ["make", "-s", target, f"VENV={venv}", "-o", f"{venv}/.installed",  # -o: no reinstall
                   "LAB_ARGS=--no-browser --port=0 --ServerApp.ip=127.0.0.1 --allow-root"]
        self.process = subprocess.Popen(command, cwd=workdir, env=env, text=True, start_new_session=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.log: list[str] = []
        self.url = self._printed_url(deadline=time.monotonic() + SLOW / 1000)
        threading.Thread(target=self.log.extend, args=(self.process.stdout,), daemon=True).start()

    def _printed_url(self, deadline: float) -> str:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.log.append(line)
            found = re.search(r"https?://(?:localhost|127\.0\.0\.1):\d+/\S*token=\S+", line)
            if found:
                return found.group(0)
            if time.monotonic() > deadline:
                break
        self.stop()
        raise AssertionError("JupyterLab printed no URL:\n" + "".join(self.log[-40:]))

    @property
    def base_url(self) -> str:
        return re.match(r"https?://[^/]+", self.url).group(0)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser) -> Iterator:
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.set_default_timeout(SLOW)
    yield context.new_page()
    context.close()


def _start(target: str, tmp_path: Path) -> Iterator[Lab]:
    lab = Lab(target, tmp_path)
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture(scope="module")
def student_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from _start("lab", tmp_path_factory.mktemp("student"))


@pytest.fixture
def instructor_lab(tmp_path: Path) -> Iterator[Lab]:
    yield from _start("lab-instructor", tmp_path)


def _open_notebook(page, name: str):
    """Wait until the notebook tab `name` is current and its kernel has started; returns its panel."""
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-current", has_text=name).first
    tab.wait_for()
    panel = page.locator(f'.jp-NotebookPanel[id="{tab.get_attribute("data-id")}"]')
    panel.locator(".jp-Notebook-cell").first.wait_for()
    panel.locator("[data-jp-item-name=kernelName]", has_text="Python 3 (nn-course)").wait_for()
    page.locator(".jp-StatusBar-Widget", has_text=re.compile(r"\| Idle")).first.wait_for()
    return panel


def _saved(notebook: Path, *others: Path, after: int) -> bytes:
    """The notebook's bytes once the server has saved it (and its paired files) after mtime `after`."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        stamps = [p.stat().st_mtime_ns for p in (notebook, *others)]
        if stamps[0] != after:
            time.sleep(1)  # the server writes the file in place: wait until nothing changes for a second
            data = notebook.read_bytes()
            if [p.stat().st_mtime_ns for p in (notebook, *others)] == stamps and data.strip().endswith(b"}"):
                return data
        time.sleep(0.2)
    raise AssertionError(f"JupyterLab did not save {notebook.name} within 60 s")


def _is_dirty(page) -> bool:
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-current").first
    return "jp-mod-dirty" in (tab.get_attribute("class") or "")


def _run_all(page, panel) -> None:
    """Run → Run All Cells, then wait until the kernel is idle after the last code cell or a failed cell."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    page.wait_for_function(
        """({panel, stderr, error}) => {
            const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent);
            const failed = [...panel.querySelectorAll(stderr)].some(o => new RegExp(error, 'm').test(o.textContent));
            const status = panel.querySelector('[data-jp-item-name=executionProgress]');
            const idle = status !== null && status.textContent.includes('Idle');
            return idle && (/\\[\\d+\\]/.test(prompts[prompts.length - 1]) || failed);
        }""",
        arg={"panel": panel.element_handle(), "stderr": STDERR, "error": ERROR.pattern}, timeout=SLOW)


def _errors(panel) -> list[str]:
    """The error outputs: JupyterLab renders them as stderr, told apart from warnings by the traceback."""
    return [text for text in _texts(panel.locator(STDERR)) if ERROR.search(text)]


def _texts(locator) -> list[str]:
    """textContent, not innerText: JupyterLab skips rendering cells out of view, and their innerText is empty."""
    return locator.evaluate_all("elements => elements.map(e => e.textContent)")


def test_student_lab_opens_setup_check_clean_and_runs_it(student_lab: Lab, page) -> None:
    assert f"/lab/tree/{SETUP_CHECK}?" in student_lab.url, f"make lab printed {student_lab.url}"
    notebook = student_lab.workdir / SETUP_CHECK
    source = student_lab.workdir / "sources" / SETUP_CHECK.replace(".ipynb", ".py")
    committed, committed_source = notebook.read_bytes(), source.read_bytes()
    page.goto(student_lab.url)
    panel = _open_notebook(page, "00-setup-check.ipynb")

    # Instructor tools are hidden; Validate stays.
    menus = page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
    assert "Nbgrader" not in menus and "Run" in menus, menus
    sidebars = page.locator(".jp-SideBar .lm-TabBar-tab").evaluate_all("tabs => tabs.map(t => t.title)")
    assert not [t for t in sidebars if "Assignment" in t], sidebars
    assert panel.get_by_role("button", name="Validate").is_visible()
    # Long code lines wrap (jupyter/course) instead of running off the window.
    assert panel.locator(".jp-CodeCell .cm-content.cm-lineWrapping").count() > 0, "code cells do not wrap lines"
    # Review answers render their markdown: text on the <details> line itself is raw HTML, and its
    # `code` would show with its backticks.
    answers = _texts(panel.locator(".jp-MarkdownCell details"))
    assert len(answers) >= 3 and not [a for a in answers if "`" in a], f"answers shown as raw text: {answers}"

    # Opening does not change the notebook: JupyterLab rewrites the kernelspec and language_info
    # when the kernel starts; give it time to do so, then check that nothing changed.
    page.wait_for_timeout(3000)
    metadata = json.loads(committed)["metadata"]
    same_python = metadata["language_info"].get("version") == platform.python_version()
    page.screenshot(path=SCREENSHOTS / "01-setup-check-opened.png")
    saved_before = notebook.stat().st_mtime_ns
    page.keyboard.press("Control+s")
    saved = _saved(notebook, source, after=saved_before)
    if same_python:
        assert not _is_dirty(page), "opening the setup check marked it as changed"
        diff = difflib.unified_diff(committed.decode().splitlines(), saved.decode().splitlines(), lineterm="")
        assert saved == committed, "opening and saving the setup check changed it:\n" + "\n".join(diff)
    else:  # language_info.version is the kernel's Python patch version: JupyterLab writes its own
        assert json.loads(saved)["metadata"]["kernelspec"] == metadata["kernelspec"]
    assert source.read_bytes() == committed_source, "saving the setup check changed its source"

    _run_all(page, panel)
    errors = _errors(panel)
    assert not errors, "the setup check failed in JupyterLab:\n" + "\n".join(errors)
    # minifw's progress bar is a tqdm widget: a label, an ipywidgets progress bar, the counts.
    bar = panel.locator(".jp-OutputArea-output .widget-hbox", has=page.locator(".widget-hprogress .progress-bar"))
    bar.first.wait_for(timeout=30_000)
    label = bar.first.inner_text().replace("\u2007", " ")  # tqdm pads with figure spaces
    assert "fit: 100%" in label and "30/30" in label, label
    outputs = "\n".join(_texts(panel.locator(".jp-OutputArea-output")))
    for broken in ["IProgress not found", "Error displaying widget", "Loading widget..."]:
        assert broken not in outputs, f"the widgets do not render: {broken!r} in the outputs"
    bar.first.scroll_into_view_if_needed()
    page.screenshot(path=SCREENSHOTS / "02-setup-check-run.png")


def _menu(page, menu: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}")).click()


def test_student_edit_survives_reload_and_save_as_my_work(student_lab: Lab, page) -> None:
    """A student's edit is saved into the notebook and its paired source, is still there after a
    reload (no pairing overwrites it, no "file changed" dialog), and README's advice to keep one's
    work in `my-work/` (a folder that a fresh clone lacks) works from JupyterLab's Save As."""
    notebook = student_lab.workdir / SETUP_CHECK
    source = student_lab.workdir / "sources" / SETUP_CHECK.replace(".ipynb", ".py")
    page.goto(student_lab.url)
    panel = _open_notebook(page, "00-setup-check.ipynb")
    code = panel.locator(".jp-CodeCell .cm-content").first
    code.click()
    page.keyboard.press("Control+End")
    page.keyboard.type("\n# a student's note")
    page.keyboard.press("Escape")
    saved_before = notebook.stat().st_mtime_ns
    page.keyboard.press("Control+s")
    assert "# a student's note" in _saved(notebook, source, after=saved_before).decode()
    assert "# a student's note" in source.read_text(), "saving a lesson should write its paired source too"

    page.reload()
    panel = _open_notebook(page, "00-setup-check.ipynb")
    assert "# a student's note" in panel.locator(".jp-CodeCell .cm-content").first.text_content(), \
        "the edit was lost when the notebook was opened again"
    assert not page.locator(".jp-Dialog").count(), page.locator(".jp-Dialog").all_inner_texts()
    assert not _is_dirty(page)

    _menu(page, "File", "Save Notebook As")
    dialog = page.locator(".jp-Dialog")
    dialog.locator("input").fill("my-work/00-setup-check.ipynb")
    dialog.get_by_role("button", name="Save").click()
    copy = student_lab.workdir / "my-work" / "00-setup-check.ipynb"
    deadline = time.monotonic() + 30
    while not copy.exists() and time.monotonic() < deadline and not page.locator(".jp-Dialog").count():
        time.sleep(0.2)
    assert not page.locator(".jp-Dialog").count(), \
        "Save As my-work/ failed: " + " ".join(page.locator(".jp-Dialog").all_inner_texts())
    assert copy.exists() and "# a student's note" in _saved(copy, after=0).decode()
    # The tab now holds the copy (its title gives the path).
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-current[title*='my-work/00-setup-check.ipynb']").wait_for()
    page.screenshot(path=SCREENSHOTS / "05-setup-check-saved-as-my-work.png")


def test_student_lab_validate_reports_unfinished_lab(student_lab: Lab, page) -> None:
    page.goto(f"{student_lab.base_url}/lab/tree/{LAB}?{student_lab.url.split('?', 1)[1]}")
    panel = _open_notebook(page, Path(LAB).name)
    panel.get_by_role("button", name="Validate").click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator("#validation-message").wait_for(timeout=SLOW)
    text = dialog.inner_text()
    assert "failed" in text and "Replace this line with your code" in text, text[:2000]
    page.screenshot(path=SCREENSHOTS / "03-lab-validate-failed.png")
    dialog.get_by_role("button").last.click()
    # The same failure in the notebook: the error-output selector that the setup check's run relies on
    # does find errors.
    _run_all(page, panel)
    errors = _errors(panel)
    assert errors and "NotImplementedError: Replace this line with your code" in errors[0], errors[:1]


def test_instructor_lab_shows_nbgrader(instructor_lab: Lab, page) -> None:
    assert "/lab?" in instructor_lab.url, f"make lab-instructor printed {instructor_lab.url}"
    page.goto(instructor_lab.url)
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    items = page.locator(".lm-Menu-itemLabel").all_inner_texts()
    assert "Formgrader" in items and "Assignment List" in items, items
    page.screenshot(path=SCREENSHOTS / "04-instructor-nbgrader-menu.png")
