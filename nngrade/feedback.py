"""What the student reads: a grading report at the top of the autograded notebook, and
nbgrader's HTML feedback made from it, without the hidden tests and without active HTML.

The autograded notebook holds the hidden tests (nbgrader puts every test cell back from the
gradebook before it runs them), so the feedback step removes them: HideHiddenTests replaces
each `### BEGIN HIDDEN TESTS` ... `### END HIDDEN TESTS` region by a one-line placeholder,
drops what the cell printed (the student's code, called by a hidden test, could print its
data) and reduces an error to its type, plus its message when it was raised by a visible
line. Student HTML is cleaned twice: in the autograded notebook itself (`with_report`, so
the formgrader shows it cleaned too) and by nbconvert's `sanitize_html` when the page is
written.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import nbformat
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbformat import NotebookNode
from nbformat.v4 import new_markdown_cell, new_output
from nbgrader.apps import NbGraderAPI
from nbgrader.preprocessors import GetGrades, NbGraderPreprocessor
from traitlets import Unicode

from .course import Course
from .sanitize import sanitize_notebook
from .status import MEANING, OK, Record

REPORT_TAG = "nngrade-report"
HIDDEN_PLACEHOLDER = "# (hidden tests: not shown)"
REDACTED = "[a line of a hidden test, not shown]"
MIN_REDACTED_CHARS = 12  # shorter hidden lines (`else:`) are only redacted as whole lines
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_CELL_FRAME = re.compile(r"(?:Cell In\s*\[(\d*)\]|Input In\s*\[(\d*)\]), line (\d+)")


def report_markdown(record: Record, extra_notes: list[str] | None = None) -> str:
    lines = ["## Grading report", "",
             f"**Status: {record.status}** ({MEANING.get(record.status, '')})."]
    notes = list(extra_notes or []) + list(record.notes)
    if record.status == OK and not notes:
        lines.append("Every cell ran within the limits; the scores below are from the tests.")
    lines += [""] + [f"- {note}" for note in notes]
    return "\n".join(lines).rstrip() + "\n"


def with_report(notebook: bytes, record: Record) -> bytes:
    """The notebook with the grading report as its first cell, and every cell's HTML cleaned
    (see nngrade.sanitize). A cell of the submission that carries the report's tag loses the
    tag, not its place: a student's cell is never hidden from the instructor."""
    nb = nbformat.reads(notebook.decode("utf-8"), as_version=4)
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags")
        if isinstance(tags, list) and REPORT_TAG in tags:
            cell.metadata.tags = [t for t in tags if t != REPORT_TAG]
    nb.cells.insert(0, new_markdown_cell(report_markdown(record), metadata={"tags": [REPORT_TAG]}))
    sanitize_notebook(nb)
    return nbformat.writes(nb).encode("utf-8")


def hidden_regions(source: str, begin: str = "BEGIN HIDDEN TESTS",
                   end: str = "END HIDDEN TESTS") -> list[tuple[int, int]]:
    """(first, last) 1-based line numbers of each hidden-test region, markers included.

    A region left open runs to the end of the cell."""
    regions, start = [], None
    lines = source.split("\n")
    for number, line in enumerate(lines, 1):
        if start is None and begin in line:
            start = number
        elif start is not None and end in line:
            regions.append((start, number))
            start = None
    if start is not None:
        regions.append((start, len(lines)))
    return regions


def failing_line(traceback: list[str], execution_count: int | None) -> int | None:
    """The line of the cell itself that raised, from an IPython traceback (None if unknown)."""
    for entry in traceback:
        match = _CELL_FRAME.search(_ANSI.sub("", entry))
        if match:
            count = match.group(1) or match.group(2)
            if execution_count is None or not count or int(count) == execution_count:
                return int(match.group(3))
            return None
    return None


class HideHiddenTests(NbGraderPreprocessor):
    """Removes hidden tests, and what they printed or raised, from a notebook; and any line
    of a hidden test that other cells' outputs show, as code that read the tests' source and
    printed it later would (see `_redact`)."""

    begin_delimiter = Unicode("BEGIN HIDDEN TESTS", help="Marks the start of hidden tests.").tag(config=True)
    end_delimiter = Unicode("END HIDDEN TESTS", help="Marks the end of hidden tests.").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: Any):
        secret: set[str] = set()
        for cell in nb.cells:
            lines = cell.source.split("\n")
            for first, last in hidden_regions(cell.source, self.begin_delimiter, self.end_delimiter):
                secret |= {line.strip() for line in lines[first - 1:last]}
        nb, resources = super().preprocess(nb, resources)
        secret = {line for line in secret if len(line) >= 4}  # not `)` or `]`
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                _redact(output, secret)
        return nb, resources

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int):
        regions = hidden_regions(cell.source, self.begin_delimiter, self.end_delimiter)
        if not regions:
            return cell, resources
        lines = cell.source.split("\n")
        hidden = {n for first, last in regions for n in range(first, last + 1)}
        kept: list[str] = []
        for number, line in enumerate(lines, 1):
            if number not in hidden:
                kept.append(line)
            elif any(number == first for first, _ in regions):
                indent = line[: len(line) - len(line.lstrip())]
                kept.append(indent + HIDDEN_PLACEHOLDER)
        cell.source = "\n".join(kept)
        if cell.cell_type == "code":
            cell.outputs = self._outputs(cell, hidden, lines)
        return cell, resources

    @staticmethod
    def _outputs(cell: NotebookNode, hidden: set[int], lines: list[str]) -> list[NotebookNode]:
        outputs, dropped = [], False
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                dropped = True
                continue
            ename = str(output.get("ename", "Error"))
            line = failing_line(output.get("traceback", []), cell.get("execution_count"))
            if line is not None and line not in hidden and 0 < line <= len(lines):
                evalue = str(output.get("evalue", ""))
                text = [f"{ename}: {evalue}" if evalue else ename,
                        f"raised by this line of the test: {lines[line - 1].strip()}"]
            else:
                evalue = ""
                text = [f"{ename} in a hidden test (its code and message are not shown)"]
            outputs.append(new_output("error", ename=ename, evalue=evalue, traceback=text))
        if dropped:
            outputs.insert(0, new_output("stream", name="stdout",
                                         text="[the output of this cell is not shown: it ran hidden tests]\n"))
        return outputs


def _redact(node: Any, secret: set[str]) -> Any:
    """The output (a dict, list or str) without secret lines: a line of text that is one is
    replaced, and a long one (`MIN_REDACTED_CHARS`) is replaced inside any text too. Dicts
    and lists change in place."""
    if isinstance(node, str):
        lines = [REDACTED if line.strip() in secret else line for line in node.split("\n")]
        node = "\n".join(lines)
        for line in sorted((x for x in secret if len(x) >= MIN_REDACTED_CHARS), key=len, reverse=True):
            node = node.replace(line, REDACTED)
        return node
    if isinstance(node, list):
        node[:] = [_redact(item, secret) for item in node]
    elif isinstance(node, dict):
        for key in list(node):
            if key not in ("output_type", "name", "metadata"):
                node[key] = _redact(node[key], secret)
    return node


class SanitizeCells(NbGraderPreprocessor):
    """Cleans the HTML of every cell and drops the saved widget state (see nngrade.sanitize),
    for notebooks autograded before `with_report` did it."""

    def preprocess(self, nb: NotebookNode, resources: Any):
        sanitize_notebook(nb)
        return nb, resources


class CollectNotes(NbGraderPreprocessor):
    """Adds what `nngrade collect` noted about the submission (a repaired notebook, a renamed
    student) to the grading report cell."""

    notes_dir = Unicode("", help="<course>/collected: <student>/<lab>.json files.").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: Any):
        info = resources.get("nbgrader", {})
        student, lab = info.get("student"), info.get("assignment")
        if not (self.notes_dir and student and lab):
            return nb, resources
        notes = read_collect_notes(self.notes_dir, student, lab)
        if notes:
            report = next((c for c in nb.cells if REPORT_TAG in c.metadata.get("tags", [])), None)
            text = "\n".join(f"- {note}" for note in notes) + "\n"
            if report is None:
                nb.cells.insert(0, new_markdown_cell("## Grading report\n\n" + text,
                                                     metadata={"tags": [REPORT_TAG]}))
            elif text not in report.source:
                report.source = report.source.rstrip("\n") + "\n" + text
        return nb, resources


def read_collect_notes(notes_dir: str | Path, student: str, lab: str) -> list[str]:
    """The notes `nngrade collect` saved for one submission ([] if none)."""
    path = Path(notes_dir) / student / f"{lab}.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return [str(n) for n in data.get("notes", [])]


def feedback_config(course: Course):
    """nbgrader's config for the feedback step: grades, collect notes, hidden tests out,
    HTML cleaned by nngrade and again by nbconvert."""
    config = course.config()
    config.GenerateFeedback.preprocessors = [GetGrades, CollectNotes, HideHiddenTests, SanitizeCells,
                                             CSSHTMLHeaderPreprocessor]
    config.CollectNotes.notes_dir = str(course.step("collected"))
    config.HTMLExporter.sanitize_html = True
    return config


def generate_feedback(course: Course, students: list[str] | None, labs: list[str]) -> tuple[list[str], list[str]]:
    """nbgrader's HTML feedback for every autograded submission of the students and labs.

    Returns (HTML files written, problems).
    """
    api = NbGraderAPI(config=feedback_config(course))
    written, problems = [], []
    autograded = course.step("autograded")
    pairs = sorted(
        (s.name, lab) for s in (autograded.iterdir() if autograded.is_dir() else [])
        if s.is_dir() and (not students or s.name in students)
        for lab in labs if (s / lab).is_dir()
    )
    for lab in labs:
        students_of_lab = [s for s, lb in pairs if lb == lab]
        # All of a lab's students in one run of nbgrader (its templates are loaded once); one
        # at a time only when that fails, so that one bad notebook costs only its own page.
        if not students and students_of_lab and api.generate_feedback(lab, "*", force=True)["success"]:
            for student in students_of_lab:
                written += sorted(str(p) for p in course.step("feedback", student, lab).glob("*.html"))
            continue
        for student in students_of_lab:
            result = api.generate_feedback(lab, student, force=True)
            if not result["success"]:
                tail = (result.get("error") or "").strip().splitlines()[-1:]
                problems.append(f"{student} / {lab}: nbgrader could not write the feedback ({' '.join(tail)})")
                continue
            written += sorted(str(p) for p in course.step("feedback", student, lab).glob("*.html"))
    return written, problems
