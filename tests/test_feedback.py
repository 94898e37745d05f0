"""Feedback pages hold no hidden test and no active student HTML; nor does the formgrader's
view of the autograded notebook.

For every lab, an autograded notebook is made from the reference solution (it holds the
hidden tests, as nbgrader's autograded copy does) with the outputs a hostile or unlucky run
leaves: hidden tests failing with IPython tracebacks, student code printing what a hidden
test passed it (or, in a later cell, the hidden tests' source), `<script>` and `onerror=` in
a written answer and in HTML outputs. Then
nbgrader writes the feedback (nngrade's configuration) and the formgrader's page; no line of
any hidden test and no active HTML may be in them. The last test does the same with a real
autograde of backprop-minifw.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from grading_cases import Lab, defined_functions, write
from nbconvert.filters.markdown_mistune import markdown2html_mistune
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output

from nngrade.course import Course
from nngrade.feedback import (
    HIDDEN_PLACEHOLDER,
    REPORT_TAG,
    HideHiddenTests,
    failing_line,
    generate_feedback,
    hidden_regions,
    with_report,
)
from nngrade.release import generate_release
from nngrade.sanitize import clean_markdown, sanitize_notebook
from nngrade.status import Record

REPO = Path(__file__).resolve().parents[1]
LABS = sorted(p.name for p in (REPO / "solutions").glob("*") if (p / f"{p.name}.ipynb").is_file())
XSS = [
    "<script>alert('XSS-md')</script>",
    "<img src=x onerror=\"alert('XSS-img')\">",
    "[click](javascript:alert('XSS-link'))",
    "<a href=\"data:text/html,<script>alert('XSS-data')</script>\">d</a>",
    "<svg onload=\"alert('XSS-svg')\"></svg>",
    "<iframe src=\"javascript:alert('XSS-frame')\"></iframe>",
    "<div onmouseover=\"alert('XSS-div')\">hover</div>",
]


class Page(HTMLParser):
    """The text of an HTML page, and the active content a student may have put there."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.active: list[str] = []
        self._script = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._script = tag == "script"
        for name, value in attrs:  # (the templates have handlers of their own, without XSS)
            value = value or ""
            if (name.startswith("on") and "XSS" in value) or "javascript:" in value.lower().replace(" ", "") \
                    or value.lower().startswith("data:text/html"):
                self.active.append(f"<{tag} {name}={value!r}>")
        if tag in ("iframe", "object", "embed", "svg"):
            self.active.append(f"<{tag}>")

    def handle_endtag(self, tag: str) -> None:
        self._script = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._script and "XSS" in data:
            self.active.append(f"<script>{data[:60]}")


def secret_lines(lab: str) -> set[str]:
    """Lines of the hidden tests that appear nowhere else in the lab (release or solution)."""
    source = nbformat.read(REPO / "solutions" / lab / f"{lab}.ipynb", as_version=4)
    release = nbformat.read(REPO / "labs" / lab / f"{lab}.ipynb", as_version=4)
    hidden, visible = set(), {line.strip() for c in release.cells for line in c.source.splitlines()}
    for cell in source.cells:
        lines = cell.source.split("\n")
        inside = {n for first, last in hidden_regions(cell.source) for n in range(first, last + 1)}
        hidden |= {lines[n - 1].strip() for n in inside}
        visible |= {line.strip() for n, line in enumerate(lines, 1) if n not in inside}
    return {line for line in hidden - visible if line}


def check_page(html: str, secrets: set[str]) -> None:
    page = Page(html)
    text = "".join(page.text)
    leaked = sorted(line for line in secrets if line in text or line in html)
    assert not leaked, f"hidden test lines in the page: {leaked[:5]}"
    assert not page.active, f"active student HTML in the page: {page.active}"


def hostile_autograded(lab: str) -> nbformat.NotebookNode:
    """The reference solution as nbgrader's autograded copy of a hostile run would hold it."""
    nb = copy.deepcopy(nbformat.read(REPO / "solutions" / lab / f"{lab}.ipynb", as_version=4))
    count = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        count += 1
        cell.execution_count = count
        regions = hidden_regions(cell.source)
        if not regions:
            continue
        lines = cell.source.split("\n")
        first, last = regions[0]
        hidden_text = "\n".join(lines[first - 1:last])
        line = min(first + 1, last)
        context = "\n".join(f"   {n} {lines[n - 1]}" for n in range(max(1, line - 2), min(len(lines), line + 2) + 1))
        cell.outputs = [
            new_output("stream", name="stdout", text=f"my function was called with {hidden_text}\n"),
            new_output("display_data", data={"text/html": f"<pre>{hidden_text}</pre>",
                                             "text/plain": hidden_text}),
            new_output("error", ename="AssertionError", evalue=lines[line - 1], traceback=[
                "\x1b[0;31m----------------------------------------------------------\x1b[0m",
                f"\x1b[0;32mCell In[{count}], line {line}\x1b[0m\n{context}",
                f"\x1b[0;31mAssertionError\x1b[0m: {lines[line - 1]}",
            ]),
        ]
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = "My answer. " + " ".join(XSS)
    stolen = "\n".join(c.source for c in nb.cells if hidden_regions(c.source))
    nb.cells.append(new_code_cell("print(stolen)", execution_count=count + 1, outputs=[
        new_output("stream", name="stdout", text=stolen)]))  # code that read the tests' source
    nb.cells.append(new_markdown_cell("A note of mine: " + " ".join(XSS)))
    nb.cells.append(new_code_cell("display(HTML(...))", execution_count=count + 2, outputs=[
        new_output("display_data", data={"text/html": " ".join(XSS), "text/plain": "<HTML>"}),
        new_output("display_data", data={"application/javascript": "alert('XSS-js')"}),
        new_output("display_data", data={"image/svg+xml": XSS[4], "text/plain": "<svg>"}),
        new_output("execute_result", execution_count=count + 2,
                   data={"text/markdown": XSS[2] + " " + XSS[1], "text/plain": "md"}),
    ]))
    return nb


# -- units ----------------------------------------------------------------------------


def test_hidden_regions_and_failing_line():
    source = "a = 1\n### BEGIN HIDDEN TESTS\nassert a == 2\n### END HIDDEN TESTS\nb = 2\n# BEGIN HIDDEN TESTS\nx"
    assert hidden_regions(source) == [(2, 4), (6, 7)]
    traceback = ["\x1b[0;31m---\x1b[0m", "\x1b[0;32mCell In[7], line 3\x1b[0m\n      1 a = 1", "Error"]
    assert failing_line(traceback, 7) == 3
    assert failing_line(traceback, 8) is None  # a frame of another cell
    assert failing_line(["AssertionError"], 7) is None


def test_hidden_test_cell_keeps_visible_errors_only():
    source = "x = f()\nassert x > 0, 'visible'\n### BEGIN HIDDEN TESTS\nassert x == 42, x\n### END HIDDEN TESTS"
    cell = new_code_cell(source, execution_count=3, outputs=[
        new_output("stream", name="stdout", text="secret 42\n"),
        new_output("error", ename="AssertionError", evalue="-1", traceback=["Cell In[3], line 4", "x == 42"]),
    ])
    out, _ = HideHiddenTests().preprocess_cell(copy.deepcopy(cell), {}, 0)
    assert out.source == f"x = f()\nassert x > 0, 'visible'\n{HIDDEN_PLACEHOLDER}"
    assert "42" not in str(out.outputs) and "secret" not in str(out.outputs)
    assert out.outputs[-1].traceback == ["AssertionError in a hidden test (its code and message are not shown)"]
    cell.outputs[1].traceback = ["Cell In[3], line 2"]
    cell.outputs[1].evalue = "visible"
    out, _ = HideHiddenTests().preprocess_cell(copy.deepcopy(cell), {}, 0)
    assert out.outputs[-1].evalue == "visible"
    assert "assert x > 0, 'visible'" in out.outputs[-1].traceback[-1]


@pytest.mark.parametrize("payload", XSS)
def test_markdown_payloads_are_cleaned(payload):
    page = Page(markdown2html_mistune(clean_markdown(f"Answer: {payload} and *more*")))
    assert not page.active
    assert "Answer:" in "".join(page.text)


def test_course_notebooks_are_left_as_they_are():
    """The labs' and lessons' own markdown and outputs pass the sanitizer unchanged."""
    paths = sorted((REPO / "labs").rglob("*.ipynb")) + sorted((REPO / "lessons").rglob("*.ipynb"))
    changed = [str(p.relative_to(REPO)) for p in paths
               if sanitize_notebook(nbformat.read(p, as_version=4))]
    assert not changed


# -- nbgrader's feedback and the formgrader view, every lab -----------------------------


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Course:
    course = Course(root=REPO, course_dir=tmp_path_factory.mktemp("course") / "grading")
    course.course_dir.mkdir(parents=True)
    old = os.environ.get("NNGRADE_COURSE_DIR")  # Course.config() sets it
    generate_release(course, LABS, course.course_dir / "release", course.db_url)
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        gb.update_or_create_student("mallory")
        for lab in LABS:
            gb.add_submission(lab, "mallory")
    for lab in LABS:
        record = Record(student="mallory", lab=lab, status="ok",
                        notes=["cell 3 (`x`<img src=x onerror=alert('XSS-note')>`) was slow."])
        data = with_report(nbformat.writes(hostile_autograded(lab)).encode(), record)
        write(course.step("autograded", "mallory", lab) / f"{lab}.ipynb", nbformat.reads(data.decode(), 4))
    yield course
    if old is None:
        os.environ.pop("NNGRADE_COURSE_DIR", None)
    else:
        os.environ["NNGRADE_COURSE_DIR"] = old


@pytest.fixture(scope="module")
def pages(course) -> dict[str, str]:
    written, problems = generate_feedback(course, ["mallory"], LABS)
    assert not problems
    return {Path(p).parent.name: Path(p).read_text() for p in written}


@pytest.mark.parametrize("lab", LABS)
def test_feedback_has_no_hidden_test_and_no_active_html(pages, lab):
    secrets = secret_lines(lab)
    assert len(secrets) > 10, "the lab's hidden tests should have lines of their own"
    check_page(pages[lab], secrets)
    assert HIDDEN_PLACEHOLDER in pages[lab]
    assert "My answer." in pages[lab]  # the written answer is still shown


@pytest.mark.parametrize("lab", LABS)
def test_formgrader_view_has_no_active_html(course, lab):
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers
    from traitlets.config import Config

    config = course.config()  # as the formgrader: the course's config, its template
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    resources = {"assignment_id": lab, "notebook_id": lab, "submission_id": "x", "index": 0,
                 "total": 1, "base_url": "/", "student": "mallory", "last_name": None,
                 "first_name": None, "notebook_path": "/x"}
    html, _ = HTMLExporter(config=Config(config)).from_filename(
        str(course.step("autograded", "mallory", lab) / f"{lab}.ipynb"), resources=resources)
    assert "My answer." in html
    assert not Page(html).active


# -- a real autograde ------------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="nngrade autograde needs fork and rlimits")
@pytest.mark.skipif("backprop-minifw" not in LABS, reason="solutions/backprop-minifw is missing")
def test_real_autograde_feedback(tmp_path):
    lab_name = "backprop-minifw"
    root = tmp_path / "repo"
    for part in ("nbgrader_config.py", f"solutions/{lab_name}", f"labs/{lab_name}"):
        (root / part).parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if (REPO / part).is_dir() else shutil.copyfile)(REPO / part, root / part)
    lab = Lab(root, lab_name)
    hostile = lab.reference()
    for index in lab.answer_cells(hostile):  # every function prints what the tests pass it
        cell = hostile.cells[index]  # (when a test cell calls it: not from a gradient check's loop)
        for name in defined_functions(cell.source):
            cell.source += (f"\nimport sys as _sys\n_{name} = {name}\ndef {name}(*args, **kwargs):\n"
                            f"    if _sys._getframe(1).f_code.co_name == '<module>':\n"
                            f"        print('called with', args, kwargs)\n    return _{name}(*args, **kwargs)\n")
    for cell in hostile.cells:
        if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = "My answer. " + " ".join(XSS)
    hostile.cells.append(new_code_cell(
        "from IPython.display import HTML, Javascript, display\n"
        f"display(HTML({' '.join(XSS)!r}))\ndisplay(Javascript(\"alert('XSS-js')\"))"))
    downloads = tmp_path / "downloads"
    write(downloads / "alice" / lab_name / f"{lab_name}.ipynb", lab.reference())
    write(downloads / "mallory" / lab_name / f"{lab_name}.ipynb", hostile)
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    for args in (["collect", str(downloads)], ["autograde", "-j", "2", "--cell-timeout", "120"], ["feedback"]):
        done = subprocess.run([sys.executable, "-m", "nngrade", "--course-dir", str(root / "grading"), *args],
                              check=False, cwd=root, env=env, capture_output=True, text=True, timeout=1200)
        assert done.returncode == 0, done.stdout + done.stderr
    secrets = secret_lines(lab_name)
    for student in ("alice", "mallory"):
        html = (root / "grading" / "feedback" / student / lab_name / f"{lab_name}.html").read_text()
        check_page(html, secrets)
        assert HIDDEN_PLACEHOLDER in html


def test_markdown_with_a_missing_attachment_is_shown_as_text():
    """nbconvert cannot render `attachment:` links to attachments the cell does not have (it
    raised, and stopped the batch); the cell is then shown as text. One it has renders."""
    source = "My answer ![plot](attachment:gone.png) <img src=x onerror=alert(1)>"
    cleaned = clean_markdown(source)
    assert cleaned.startswith("~~~text\n") and source in cleaned
    png = {"image/png": "iVBORw0KGgo="}
    assert clean_markdown("![plot](attachment:p.png)", {"p.png": png}) == "![plot](attachment:p.png)"


def test_saved_widget_state_is_dropped():
    """nbconvert's page (the formgrader's too) loads the widget manager for a notebook's saved
    widget state, which renders an HTML widget's value, `<img onerror=...>` included."""
    nb = nbformat.v4.new_notebook(cells=[new_markdown_cell("text")])
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {"m": {
        "model_name": "HTMLModel", "state": {"value": "<img src=x onerror=alert(1)>"}}}}}
    out = with_report(nbformat.writes(nb).encode(), Record("s", "lab", "ok"))
    assert b"widget" not in out and b"onerror" not in out


def test_a_student_cell_tagged_as_the_report_stays_visible():
    nb = nbformat.v4.new_notebook(cells=[new_markdown_cell("mine"), new_code_cell("cheat()")])
    for cell in nb.cells:
        cell.metadata["tags"] = [REPORT_TAG, "keep"]
    out = nbformat.reads(with_report(nbformat.writes(nb).encode(), Record("s", "lab", "ok")).decode(), as_version=4)
    assert [c.source for c in out.cells[1:]] == ["mine", "cheat()"]
    assert [c.metadata.tags for c in out.cells[1:]] == [["keep"], ["keep"]]
    assert REPORT_TAG in out.cells[0].metadata.tags
