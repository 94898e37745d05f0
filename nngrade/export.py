"""The scores as a CSV file: one row per student and lab, one column per task."""

from __future__ import annotations

import csv
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from .course import Course, CourseError
from .status import Record

MISSING = "missing"
NOT_GRADED = "not graded"
FIXED_COLUMNS = ["student", "lab", "status", "score", "max_score", "needs_manual_grading"]


def task_columns(course: Course, labs: list[str]) -> list[str]:
    """The grade cells of the labs, in notebook order (a name shared by labs appears once)."""
    names: list[str] = []
    for lab in labs:
        for notebook in course.notebooks(lab):
            nb = nbformat.read(course.solutions / lab / f"{notebook}.ipynb", as_version=4)
            for cell in nb.cells:
                meta = cell.metadata.get("nbgrader", {})
                if meta.get("grade") and meta.get("grade_id") not in names:
                    names.append(meta["grade_id"])
    return names


def _number(value: float | None) -> str:
    return "" if value is None else f"{round(float(value), 4):g}"


def export_csv(course: Course, labs: list[str], output: Path) -> int:
    """Write the CSV; returns the number of rows."""
    if not course.gradebook.is_file():
        raise CourseError(f"expected a gradebook at {course.gradebook} (run `nngrade autograde` "
                          "first); found none")
    tasks = task_columns(course, labs)
    submitted = course.step("submitted")
    rows = []
    with Gradebook(course.db_url) as gb:
        students = {s.id for s in gb.students}
        if submitted.is_dir():
            students |= {p.name for p in submitted.iterdir() if p.is_dir()}
        for student in sorted(students):
            for lab in labs:
                row = {"student": student, "lab": lab}
                record = Record.load(course.step("status"), student, lab)
                try:
                    submission = gb.find_submission(lab, student)
                except MissingEntry:
                    was_submitted = (submitted / student / lab).is_dir()
                    try:
                        max_score = gb.find_assignment(lab).max_score
                    except MissingEntry:
                        max_score = None
                    row.update(status=NOT_GRADED if was_submitted else MISSING, score="0",
                               max_score=_number(max_score), needs_manual_grading="")
                    rows.append(row)
                    continue
                row.update(
                    status=record.status if record else "ok",
                    score=_number(submission.score), max_score=_number(submission.max_score),
                    needs_manual_grading="yes" if submission.needs_manual_grade else "no",
                    notes=" ".join(record.notes) if record else "",
                )
                for nb in submission.notebooks:
                    for grade in nb.grades:
                        row[grade.name] = _number(grade.score)
                rows.append(row)
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIXED_COLUMNS + tasks + ["notes"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)
