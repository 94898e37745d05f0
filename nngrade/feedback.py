"""What the student reads: a grading report at the top of the autograded notebook, and
nbgrader's HTML feedback made from it."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_markdown_cell
from nbgrader.apps import NbGraderAPI

from .course import Course
from .status import MEANING, OK, Record

REPORT_TAG = "nngrade-report"


def report_markdown(record: Record) -> str:
    lines = ["## Grading report", "",
             f"**Status: {record.status}** ({MEANING.get(record.status, '')})."]
    if record.status == OK and not record.notes:
        lines.append("Every cell ran within the limits; the scores below are from the tests.")
    lines += [""] + [f"- {note}" for note in record.notes]
    return "\n".join(lines).rstrip() + "\n"


def with_report(notebook: bytes, record: Record) -> bytes:
    """The notebook with the grading report as its first cell (replacing an older report)."""
    nb = nbformat.reads(notebook.decode("utf-8"), as_version=4)
    nb.cells = [c for c in nb.cells if REPORT_TAG not in c.get("metadata", {}).get("tags", [])]
    nb.cells.insert(0, new_markdown_cell(report_markdown(record), metadata={"tags": [REPORT_TAG]}))
    return nbformat.writes(nb).encode("utf-8")


def generate_feedback(course: Course, students: list[str] | None, labs: list[str]) -> tuple[list[str], list[str]]:
    """nbgrader's HTML feedback for every autograded submission of the students and labs.

    Returns (HTML files written, problems).
    """
    api = NbGraderAPI(config=course.config())
    written, problems = [], []
    autograded = course.step("autograded")
    pairs = sorted(
        (s.name, lab) for s in (autograded.iterdir() if autograded.is_dir() else [])
        if s.is_dir() and (not students or s.name in students)
        for lab in labs if (s / lab).is_dir()
    )
    for student, lab in pairs:
        result = api.generate_feedback(lab, student, force=True)
        if not result["success"]:
            tail = (result.get("error") or "").strip().splitlines()[-1:]
            problems.append(f"{student} / {lab}: nbgrader could not write the feedback ({' '.join(tail)})")
            continue
        written += sorted(str(p) for p in course.step("feedback", student, lab).glob("*.html"))
    return written, problems
