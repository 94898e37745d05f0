"""Gradebooks: the scratch gradebook a submission is graded in (the lab, no student's
grades), and moving one submission's grades from it into the course gradebook.

The grader process writes only its scratch copy; the course gradebook has a single writer,
the nngrade process. It takes the timestamp and late penalty from the scratch copy, replaces
every automatic score by its own (nngrade.verdict), and copies just this student's rows for
this lab, clamped to the points each cell is worth.
"""

from __future__ import annotations

import math
import shutil
import warnings
from pathlib import Path
from typing import Any

from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning


def empty_gradebook(course_db: Path, target: Path) -> None:
    """A copy of the course gradebook without any student (the labs, their cells and due
    dates stay): what a scratch course starts from."""
    shutil.copyfile(course_db, target)
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{target}") as gb:
        warnings.simplefilter("ignore", SAWarning)
        for student in list(gb.students):
            gb.remove_student(student.id)


def read_grades(db_url: str, lab: str, student: str) -> dict[str, Any]:
    """The autograder's results for one submission, as plain data."""
    with Gradebook(db_url) as gb:
        submission = gb.find_submission(lab, student)
        notebooks = {}
        for nb in submission.notebooks:
            notebooks[nb.name] = {
                "grades": {
                    g.name: {"auto_score": g.auto_score, "max_score": g.max_score, "code": g.cell_type == "code"}
                    for g in nb.grades
                },
                "comments": {c.name: c.auto_comment for c in nb.comments},
                "late_penalty": nb.late_submission_penalty,
            }
        timestamp = submission.timestamp.isoformat() if submission.timestamp else None
        return {"timestamp": timestamp, "notebooks": notebooks}


def with_scores(grades: dict[str, Any], scores: dict[str, dict[str, float | None]]) -> dict[str, Any]:
    """The grades with the automatic score of every cell replaced by nngrade's own
    (nngrade.verdict: notebook -> grade_id -> score); a cell it has no score for gets none."""
    for name, nb in grades["notebooks"].items():
        ours = scores.get(name, {})
        for grade_id, grade in nb["grades"].items():
            grade["auto_score"] = ours.get(grade_id, 0.0 if grade["code"] else None)
    return grades


def autograded_points(grades: dict[str, Any]) -> tuple[float, float]:
    """(points, max points) of the autograded test cells."""
    got = total = 0.0
    for nb in grades["notebooks"].values():
        for grade in nb["grades"].values():
            if grade["code"]:
                total += grade["max_score"] or 0.0
                got += _clamp(grade["auto_score"], grade["max_score"]) or 0.0
    return got, total


def _clamp(score: Any, max_score: float) -> float | None:
    if score is None:
        return None
    score = float(score)
    if math.isnan(score):
        return 0.0
    return min(max(score, 0.0), float(max_score))


def merge_grades(db_url: str, lab: str, student: str, grades: dict[str, Any],
                 zero_tests: bool = False) -> None:
    """Write one submission's autograder results into the course gradebook.

    Manual scores already given by a grader are kept (nbgrader's rule: the cell is then
    flagged for review). With zero_tests, every autograded test cell scores 0.
    """
    with warnings.catch_warnings(), Gradebook(db_url) as gb:
        # nbgrader's add_submission trips SQLAlchemy's autoflush warnings; they are harmless.
        warnings.simplefilter("ignore", SAWarning)
        gb.update_or_create_student(student)
        extra = {"timestamp": grades["timestamp"]} if grades.get("timestamp") else {}
        submission = gb.update_or_create_submission(lab, student, **extra)
        for nb in submission.notebooks:
            data = grades["notebooks"].get(nb.name, {"grades": {}, "comments": {}})
            for grade in nb.grades:
                new = data["grades"].get(grade.name)
                auto = _clamp(new["auto_score"], grade.max_score) if new else 0.0
                if zero_tests and grade.cell_type == "code":
                    auto = 0.0
                grade.auto_score = auto
                grade.needs_manual_grade = grade.manual_score is not None or auto is None
            for comment in nb.comments:
                comment.auto_comment = data["comments"].get(comment.name)
            nb.late_submission_penalty = data.get("late_penalty")
        gb.db.commit()
