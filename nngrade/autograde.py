"""Autograding a batch of submissions so that no submission can stop the batch, change
another student's grade, or change the course's files.

Each submission is graded by nbgrader in its own process (forked from this one, see
nngrade._worker) on a scratch copy of the course: the lab's source files, the submission and
a copy of the gradebook, in a temporary folder. The process limits itself (memory, file size) before the
kernel starts and is killed at its wall-clock deadline, along with anything it started.
After each submission the protected folders (the repository and the course directory)
are compared with a snapshot and restored if changed; when several submissions ran at that
time, they are graded again one at a time to find which one did it. Results are kept in
memory and written into the course (gradebook, autograded/, status/) once no student code
runs any more: this process is the only writer of the gradebook.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import nbformat
import psutil
from nbgrader.utils import rmtree

from .course import CONFIG_FILE, Course, CourseError
from .diagnose import changed_tests, diagnose
from .preprocessors import describe_exit
from .feedback import with_report
from .grades import autograded_points, merge_grades, read_grades
from .guard import Guard
from .limits import Limits
from ._worker import main as worker_main
from .processes import Forked, become_subreaper, kill_descendants, kill_tree
from .release import differences, generate_release
from .status import CRASHED, INVALID, MEMORY, TAMPERED, TIMEOUT, Record, worst

MAX_NOTEBOOK_MB = 100
# Folders of run-time output that lessons and tools write into the repository (git-ignored);
# the guard does not watch them.
SCRATCH_NAMES = {".ipynb_checkpoints", ".pytest_cache", ".hypothesis", "lightning_logs", "logs", "runs"}
SKIP_SECONDS = 120  # grading without running the code (a fallback) must not take longer


@dataclass
class Run:
    """One grader process at work on one submission."""

    student: str
    lab: str
    scratch: Path
    process: Forked
    started: float
    deadline: float
    alone: bool
    statuses: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    """A graded submission, held in memory until it is written into the course."""

    record: Record
    notebooks: dict[str, bytes]
    files: dict[str, bytes]
    grades: dict[str, Any] | None


def submission_digest(folder: Path) -> str:
    """sha256 over the names and contents of the files of a submission."""
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def invalid_reason(folder: Path, notebooks: list[str]) -> str | None:
    """Why the submitted folder does not hold the lab's notebooks, or None if it does."""
    for name in notebooks:
        path = folder / f"{name}.ipynb"
        if not path.is_file():
            found = sorted(p.name for p in folder.iterdir() if p.name != "timestamp.txt")
            return (f"expected a notebook named {name}.ipynb; found "
                    f"{', '.join(found) if found else 'no file'}")
        size = path.stat().st_size
        if size == 0:
            return f"{name}.ipynb is an empty file"
        if size > MAX_NOTEBOOK_MB * 2**20:
            return f"{name}.ipynb is {size / 2**20:.0f} MB; at most {MAX_NOTEBOOK_MB} MB is graded"
        try:
            nbformat.validate(nbformat.read(path, as_version=4))
        except Exception as error:  # any parse or schema error means "not a notebook"
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            return f"{name}.ipynb is not a valid notebook ({first[:200]})"
    return None


class Batch:
    """Grades the given (student, lab) pairs; see the module docstring."""

    def __init__(self, course: Course, pairs: list[tuple[str, str]], limits: Limits, jobs: int,
                 say: Callable[[str], None] = print) -> None:
        self.course = course
        self.pairs = pairs
        self.limits = limits
        self.jobs = max(1, jobs)
        self.say = say
        self.labs = sorted({lab for _, lab in pairs})
        self.outcomes: list[Outcome] = []
        self.running: list[Run] = []
        self._count = 0
        self._warned = False

    # -- set-up -----------------------------------------------------------------------
    def _prepare(self) -> None:
        self.release = self.tmp / "release"
        self.course.course_dir.mkdir(parents=True, exist_ok=True)
        generate_release(self.course, self.labs, self.release, self.course.db_url)
        for lab in self.labs:
            if differences(self.course.labs_dir / lab, self.release / lab):
                self.say(f"warning: labs/{lab} differs from what solutions/{lab} generates; "
                         "grading uses solutions/ (run `nngrade generate` to update labs/)")
        self.gradebook_copy = self.course.gradebook.read_bytes()
        sys.dont_write_bytecode = True  # our own imports must not look like tampering
        become_subreaper()
        self.keep = {p.pid for p in psutil.Process().children()}
        venv, git = Path(sys.prefix).resolve(), self.course.root / ".git"
        tmp = self.tmp

        def ignored(path: Path) -> bool:
            return (path.name in SCRATCH_NAMES or path in (venv, tmp)
                    or (path.parent == git and path.name not in ("hooks", "config")))

        self.guard = Guard([self.course.root, self.course.course_dir], ignored, self.tmp / "backup")

    # -- one grader process -----------------------------------------------------------
    def _start(self, student: str, lab: str, alone: bool, skip_reason: str | None = None,
               substitute: bool = False) -> Run:
        self._count += 1
        scratch = self.tmp / f"s{self._count:05d}"
        submitted = scratch / "submitted" / student / lab
        self.guard.export(self.course.solutions / lab, scratch / "source" / lab,
                          skip=lambda p: p.suffix == ".ipynb")
        self.guard.export(self.course.step("submitted", student, lab), submitted)
        self.guard.export(self.course.root / CONFIG_FILE, scratch / CONFIG_FILE)
        submitted.mkdir(parents=True, exist_ok=True)
        statuses, notes = [], []
        problem = None if substitute else invalid_reason(submitted, self.course.notebooks(lab))
        if not (problem or substitute):
            for name in self.course.notebooks(lab):
                note = changed_tests(nbformat.read(submitted / f"{name}.ipynb", as_version=4),
                                     nbformat.read(self.release / lab / f"{name}.ipynb", as_version=4))
                notes += [note] if note else []
        if problem or substitute:
            if problem:
                statuses, notes = [INVALID], [
                    f"The submission could not be graded: {problem}. It was graded as the "
                    "blank lab instead, so every test scores 0."]
            for name in self.course.notebooks(lab):
                (submitted / f"{name}.ipynb").unlink(missing_ok=True)
                shutil.copyfile(self.release / lab / f"{name}.ipynb", submitted / f"{name}.ipynb")
            skip_reason = skip_reason or "Not run: the submission could not be read as a notebook."
        (scratch / "gradebook.db").write_bytes(self.gradebook_copy)
        home = scratch / "home"
        home.mkdir()
        job = {"scratch": str(scratch), "student": student,
               "lab": lab, "limits": self.limits.to_dict(), "skip_reason": skip_reason}
        (scratch / "job.json").write_text(json.dumps(job))
        job_path = scratch / "job.json"
        process = Forked(lambda: worker_main([str(job_path)]), cwd=scratch,
                         env=self.limits.environment(home), log=scratch / "worker.log")
        limit = SKIP_SECONDS if skip_reason else self.limits.time_limit
        now = time.monotonic()
        return Run(student, lab, scratch, process, now, now + limit, alone, statuses, notes)

    def _stop(self, run: Run) -> bool:
        """End a finished or overdue process and whatever it left; True if it was overdue."""
        overdue = run.process.poll() is None
        if overdue:
            kill_tree(run.process.pid)
        run.process.wait()
        kill_descendants(keep=self.keep | {r.process.pid for r in self.running})
        return overdue

    def _wait(self, run: Run) -> bool:
        try:
            run.process.wait(timeout=max(0.0, run.deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        return self._stop(run)

    # -- results ----------------------------------------------------------------------
    def _collect(self, run: Run, overdue: bool) -> tuple[dict | None, dict[str, bytes], dict[str, bytes], dict | None]:
        """(result.json, autograded notebooks, other autograded files, grades) of a run.

        Nothing counts from a process stopped at its deadline: it never wrote its result."""
        if overdue:
            return None, {}, {}, None
        try:
            result = json.loads((run.scratch / "result.json").read_text())
        except (OSError, ValueError):
            return None, {}, {}, None
        if not result.get("success"):
            return result, {}, {}, None
        out = run.scratch / "autograded" / run.student / run.lab
        try:
            notebooks = {p.name: p.read_bytes() for p in sorted(out.glob("*.ipynb"))}
            files = {p.name: p.read_bytes() for p in out.glob("timestamp.txt")}
            grades = read_grades(f"sqlite:///{run.scratch}/gradebook.db", run.lab, run.student)
        except Exception as error:  # unreadable results count as a crash of the grader
            result.update(success=False, error=f"the results could not be read: {error}")
            return result, {}, {}, None
        if not notebooks:
            result.update(success=False, error="nbgrader wrote no autograded notebook")
            return result, {}, {}, None
        return result, notebooks, files, grades

    def _failure_note(self, run: Run, overdue: bool, result: dict | None) -> tuple[str, str]:
        if overdue:
            return TIMEOUT, (f"The submission ran longer than {self.limits.time_limit} s in total "
                             "and was stopped.")
        if result is None:
            log = (run.scratch / "worker.log").read_bytes()[-20000:].decode("utf-8", "replace")
            if "MemoryError" in log:
                return MEMORY, (f"The grader ran out of memory (limit {self.limits.memory_mb} MB "
                                "per process) while handling this submission's output.")
            return CRASHED, ("The grading process stopped unexpectedly "
                             f"({describe_exit(run.process.returncode)}).")
        last = (result.get("error") or "unknown error").strip().splitlines()[-1]
        return CRASHED, f"nbgrader could not grade the notebook: {last[:300]}"

    def _finish(self, run: Run, overdue: bool, changed: list[Path]) -> Outcome:
        result, notebooks, files, grades = self._collect(run, overdue)
        statuses, notes = list(run.statuses), list(run.notes)
        if changed:
            shown = ", ".join(str(p) for p in changed[:5]) + (" ..." if len(changed) > 5 else "")
            statuses.append(TAMPERED)
            notes.append(f"The code changed files outside its own folder ({shown}). They were "
                         "restored, and the autograded tests score 0; your instructor will review.")
        if grades is None:
            status, note = self._failure_note(run, overdue, result)
            statuses.append(status)
            notes.append(note + " The notebook was graded without running it again, so every "
                         "test scores 0; written answers are kept for manual grading.")
            result, notebooks, files, grades = self._fallback(run, note)
        refused = (result or {}).get("limits_refused")
        if refused and not self._warned:
            self._warned = True
            self.say(f"warning: this system refused the limits {', '.join(refused)}; "
                     "submissions run without them (see docs/instructors.md, the trust model)")
        if result and result.get("success") and notebooks:
            cells = nbformat.reads(next(iter(notebooks.values())).decode(), as_version=4).cells
            found, more = diagnose(result, cells, self.limits)
            statuses, notes = statuses + found, notes + more
        record = Record(
            student=run.student, lab=run.lab, status=worst(statuses), notes=notes,
            digest=submission_digest(self.course.step("submitted", run.student, run.lab)),
            seconds=round(time.monotonic() - run.started, 2),
            kernel_seconds=round((result or {}).get("kernel_seconds", 0.0), 2),
            cell_seconds=round((result or {}).get("cell_seconds", 0.0), 2),
            graded_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            changed_paths=[str(p) for p in changed],
        )
        return Outcome(record, notebooks, files, grades)

    def _fallback(self, run: Run, why: str):
        """Grade without running any code: the submission, or the blank lab if that fails."""
        for substitute in (False, True):
            skip = self._start(run.student, run.lab, alone=True, substitute=substitute,
                               skip_reason=f"Not run: {why}")
            result, notebooks, files, grades = self._collect(skip, self._wait(skip))
            if grades is not None:
                return result, notebooks, files, grades
        return None, {}, {}, None

    def _report(self, outcome: Outcome) -> None:
        rec = outcome.record
        points = ""
        if outcome.grades:
            got, total = autograded_points(outcome.grades)
            points = f"{0.0 if rec.status == TAMPERED else got:g}/{total:g} test points"
        done = len(self.outcomes)
        width = len(str(len(self.pairs)))
        self.say(f"[{done:>{width}}/{len(self.pairs)}] {rec.student} / {rec.lab}: {rec.status}  "
                 f"{points}  ({rec.seconds:.1f} s)")

    # -- the batch --------------------------------------------------------------------
    def run(self) -> list[Record]:
        """Grade everything, then write the results into the course."""
        self.tmp = Path(tempfile.mkdtemp(prefix="nngrade-")).resolve()
        try:
            self._prepare()
            self._grade_all()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)
        return [o.record for o in self.outcomes]

    def _grade_all(self) -> None:
        pending: deque[tuple[str, str]] = deque(self.pairs)
        again: deque[tuple[str, str]] = deque()
        running = self.running
        try:
            while pending or again or running:
                while pending and len(running) < self.jobs:
                    running.append(self._start(*pending.popleft(), alone=False))
                if not running and again:
                    running.append(self._start(*again.popleft(), alone=True))
                time.sleep(0.1)
                for run in [r for r in running
                            if r.process.poll() is not None or time.monotonic() > r.deadline]:
                    running.remove(run)
                    overdue = self._stop(run)
                    changed = self.guard.changes()
                    if changed:
                        self.guard.restore(changed)
                    if changed and running:
                        # One of these wrote outside its folder: grade each again on its own.
                        for suspect in [run, *running]:
                            if suspect is not run:
                                kill_tree(suspect.process.pid)
                                suspect.process.wait()
                            again.append((suspect.student, suspect.lab))
                            shutil.rmtree(suspect.scratch, ignore_errors=True)
                        running.clear()
                        kill_descendants(keep=self.keep)
                        self.say(f"files outside the submissions changed; grading {len(again)} "
                                 "submissions again one at a time to find the cause")
                        break
                    self.outcomes.append(self._finish(run, overdue, changed))
                    shutil.rmtree(run.scratch, ignore_errors=True)
                    self._report(self.outcomes[-1])
        finally:
            for run in running:
                kill_tree(run.process.pid)
                run.process.wait()
            running.clear()
            kill_descendants(keep=self.keep)
            changed = self.guard.changes()
            if changed:
                self.guard.restore(changed)
            self._commit()

    def _commit(self) -> None:
        """Write the results into the course: autograded notebooks, gradebook, status."""
        for outcome in self.outcomes:
            rec = outcome.record
            dest = self.course.step("autograded", rec.student, rec.lab)
            if dest.exists():
                rmtree(str(dest))
            dest.mkdir(parents=True)
            for name, data in outcome.notebooks.items():
                (dest / name).write_bytes(with_report(data, rec))
            for name, data in outcome.files.items():
                (dest / name).write_bytes(data)
            grades = outcome.grades or {"timestamp": None, "notebooks": {}}
            merge_grades(self.course.db_url, rec.lab, rec.student, grades,
                         zero_tests=rec.status == TAMPERED)
            rec.save(self.course.step("status"))


def plan(course: Course, students: list[str] | None, labs: list[str] | None,
         force: bool) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(submissions to grade, submissions skipped because already graded as they are)."""
    labs = course.check_labs(labs)
    pairs = course.submissions(students, labs)
    if not pairs:
        raise CourseError(
            f"expected submissions in {course.step('submitted')}/<student>/<lab>/ "
            f"for {'the students ' + ', '.join(students) if students else 'any student'} and "
            f"{', '.join(labs) or 'no lab'} (run `nngrade collect` first); found none")
    todo, skipped = [], []
    for student, lab in pairs:
        record = Record.load(course.step("status"), student, lab)
        same = (record is not None and course.step("autograded", student, lab).is_dir()
                and record.digest == submission_digest(course.step("submitted", student, lab)))
        (skipped if same and not force else todo).append((student, lab))
    return todo, skipped
