"""Which submissions a batch grades, and in what order: those not graded yet as they are
(a killed batch resumes), at most `jobs` at a time, each under a wall-clock deadline; those
under suspicion (files outside the submissions changed while they ran) again, one at a time."""

from __future__ import annotations

from collections import deque

from .course import Course, CourseError
from .status import Record
from .submitted import submission_digest

SKIP_SECONDS = 120  # grading without running the code (a fallback) must not take longer

Pair = tuple[str, str]  # (student, lab)


def plan(course: Course, students: list[str] | None, labs: list[str] | None,
         force: bool) -> tuple[list[Pair], list[Pair]]:
    """(submissions to grade, submissions skipped because already graded as they are)."""
    labs = course.check_labs(labs)
    pairs = course.submissions(students, labs)
    if not pairs:
        raise CourseError(
            f"expected submissions in {course.step('submitted')}/<student>/<lab>/ "
            f"for {'the students ' + ', '.join(students) if students else 'any student'} and "
            f"{', '.join(labs) or 'no lab'} (run `nngrade collect` first); found none")
    todo: list[Pair] = []
    skipped: list[Pair] = []
    for student, lab in pairs:
        record = Record.load(course.step("status"), student, lab)
        same = (record is not None and course.step("autograded", student, lab).is_dir()
                and record.digest == submission_digest(course.step("submitted", student, lab)))
        (skipped if same and not force else todo).append((student, lab))
    return todo, skipped


def time_allowed(time_limit: float, skipped: bool) -> float:
    """Seconds a grader process may run: the submission's time limit, or SKIP_SECONDS when
    it is graded without running its code."""
    return SKIP_SECONDS if skipped else time_limit


class Queue:
    """The submissions still to start: new ones fill up to `jobs` running; suspects graded
    again run alone, once nothing else runs."""

    def __init__(self, pairs: list[Pair], jobs: int) -> None:
        self.pending: deque[Pair] = deque(pairs)
        self.again: deque[Pair] = deque()
        self.jobs = max(1, jobs)

    def __bool__(self) -> bool:
        return bool(self.pending or self.again)

    def starts(self, running: int) -> list[Pair]:
        """What to start now that `running` submissions are running."""
        new: list[Pair] = []
        while self.pending and running + len(new) < self.jobs:
            new.append(self.pending.popleft())
        if not running and not new and self.again:
            new.append(self.again.popleft())
        return new

    def suspect(self, pairs: list[Pair]) -> None:
        """Grade these again, one at a time."""
        self.again.extend(pairs)
