"""Writing graded submissions into the course, one at a time, and backing up the gradebook.

Each submission is written as soon as it is graded: its autograded notebooks, its rows of
the gradebook, then its status record (last: a record means the submission is done, so a
batch that is killed keeps what it graded and `autograde` goes on from there).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nbgrader.utils import rmtree

from .course import Course
from .feedback import with_report
from .grades import merge_grades
from .status import TAMPERED, Record

BACKUPS_KEPT = 20


@dataclass
class Outcome:
    """A graded submission, ready to be written into the course."""

    record: Record
    notebooks: dict[str, bytes]
    files: dict[str, bytes]
    grades: dict[str, Any] | None


def backups_dir(course: Course) -> Path:
    return course.course_dir / "backups"


def backup_gradebook(course: Course) -> Path | None:
    """Copy the course gradebook to <course>/backups/gradebook-<UTC time>.db (the latest
    BACKUPS_KEPT are kept); None when there is no gradebook yet. The course directory is not
    visible from the sandbox."""
    if not course.gradebook.is_file():
        return None
    folder = backups_dir(course)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = folder / f"gradebook-{stamp}.db"
    shutil.copyfile(course.gradebook, target)
    for old in sorted(folder.glob("gradebook-*.db"))[:-BACKUPS_KEPT]:
        old.unlink()
    return target


def commit(course: Course, outcome: Outcome) -> list[Path]:
    """Write one graded submission into the course; returns the paths written."""
    rec = outcome.record
    dest = course.step("autograded", rec.student, rec.lab)
    if dest.exists():
        rmtree(str(dest))
    dest.mkdir(parents=True)
    for name, data in outcome.notebooks.items():
        (dest / name).write_bytes(with_report(data, rec))
    for name, data in outcome.files.items():
        (dest / name).write_bytes(data)
    grades = outcome.grades or {"timestamp": None, "notebooks": {}}
    merge_grades(course.db_url, rec.lab, rec.student, grades, zero_tests=rec.status == TAMPERED)
    rec.save(course.step("status"))
    return [dest, course.gradebook, Record.path(course.step("status"), rec.student, rec.lab)]
