"""Autograding a batch of submissions so that no submission can stop the batch, change its
own or another student's grade, or change the course's files.

Each submission is graded by nbgrader in its own process (forked from this one, see
nngrade._worker) on a scratch course (nngrade.scratch) in a private temporary folder: the
lab's source files, the submitted notebooks and a gradebook that holds the lab but no
student's grades. The kernel runs in a sandbox (nngrade.sandbox) that sees none of these;
without it (an explicit, named risk) it runs as a child of the grader process. The grader
process is killed at the submission's wall-clock deadline, along with anything it started.
After each submission the protected folders (the repository, the course directory, the
virtual environment's start-up files) are compared with a snapshot and restored if changed;
when several submissions ran at that time, they are graded again one at a time to find
which one did it. The scores are computed here from the executed notebook
(nngrade.verdict), the status from what happened (nngrade.diagnose), and the submission is
written into the course at once (nngrade.results).
"""

from __future__ import annotations

import json
import shutil
import site
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nbformat
import psutil
import sqlalchemy.exc

from ._worker import main as worker_main
from .course import CONFIG_FILE, Course, CourseError
from .diagnose import changed_tests, diagnose, failure, tampered_files
from .grades import autograded_points, empty_gradebook, read_grades, with_scores
from .guard import Guard
from .labinfo import lab_info
from .limits import Limits
from .processes import Forked, become_subreaper, kill_descendants, kill_tree
from .protected import unwatched
from .release import differences, generate_release
from .results import Outcome, backup_gradebook, commit
from .scratch import Scratch
from .status import INVALID, TAMPERED, Record, worst
from .submitted import invalid_reason, submission_digest
from .verdict import notebook_scores

SKIP_SECONDS = 120  # grading without running the code (a fallback) must not take longer


@dataclass
class Run:
    """One grader process at work on one submission."""

    scratch: Scratch
    process: Forked
    started: float
    deadline: float
    statuses: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def student(self) -> str:
        return self.scratch.student

    @property
    def lab(self) -> str:
        return self.scratch.lab


class Batch:
    """Grades the given (student, lab) pairs; see the module docstring."""

    def __init__(self, course: Course, pairs: list[tuple[str, str]], limits: Limits, jobs: int,
                 sandbox: bool = True, say: Callable[[str], None] = print) -> None:
        self.course = course
        self.pairs = pairs
        self.limits = limits
        self.jobs = max(1, jobs)
        self.sandbox = sandbox
        self.say = say
        self.labs = sorted({lab for _, lab in pairs})
        self.records: list[Record] = []
        self.skipped: list[tuple[str, str]] = []  # could not be graded (reported)
        self.running: list[Run] = []
        self._warned = False

    # -- set-up -----------------------------------------------------------------------
    def _prepare(self) -> None:
        self.release = self.tmp / "release"
        self.course.course_dir.mkdir(parents=True, exist_ok=True)
        backup = backup_gradebook(self.course)
        if backup:
            self.say(f"gradebook backed up to {backup}")
        generate_release(self.course, self.labs, self.release, self.course.db_url)
        for lab in self.labs:
            if differences(self.course.labs_dir / lab, self.release / lab):
                self.say(f"warning: labs/{lab} differs from what solutions/{lab} generates; "
                         "grading uses solutions/ (run `nngrade generate` to update labs/)")
        self.info = {lab: lab_info(self.course, self.release, lab) for lab in self.labs}
        self.template = self.tmp / "gradebook.db"
        empty_gradebook(self.course.gradebook, self.template)
        sys.dont_write_bytecode = True  # our own imports must not look like tampering
        become_subreaper()
        self.keep = {p.pid for p in psutil.Process().children()}
        root, tmp = self.course.root, self.tmp
        venv = Path(sys.prefix).resolve()
        packages = [Path(p).resolve() for p in site.getsitepackages() if Path(p).is_dir()]
        self.guard = Guard([root, self.course.course_dir, *packages],
                           unwatched(root, [tmp, venv], packages), tmp / "backup")
        python_path = [Path(p) for p in sys.path if p and Path(p).is_dir()
                       and not any(Path(p).resolve() == h for h in (tmp,))]
        self.sandbox_paths = {
            "readable": sorted({str(root), str(venv), str(Path(sys.base_prefix).resolve()),
                                *map(str, python_path)}),
            "hidden": sorted({str(root / "solutions"), str(root / ".git"), str(root / "grading"),
                              str(self.course.course_dir), str(tmp)}),
        }

    # -- one grader process -----------------------------------------------------------
    def _start(self, student: str, lab: str, skip_reason: str | None = None,
               substitute: bool = False) -> Run:
        scratch = Scratch(Path(tempfile.mkdtemp(prefix="s", dir=self.tmp)), student, lab)
        info = self.info[lab]
        self.guard.export(self.course.solutions / lab, scratch.source, skip=lambda p: p.suffix == ".ipynb")
        wanted = {f"{n}.ipynb" for n in info.notebooks} | {"timestamp.txt"}
        # Only the lab's notebooks and collect's timestamp: other files are ignored.
        self.guard.export(self.course.step("submitted", student, lab), scratch.submitted,
                          skip=lambda p: p.name not in wanted)
        self.guard.export(self.course.root / CONFIG_FILE, scratch.config)
        scratch.submitted.mkdir(parents=True, exist_ok=True)
        statuses, notes = [], []
        problem = None if substitute else invalid_reason(scratch.submitted, info.notebooks)
        if not (problem or substitute):
            for name in info.notebooks:
                note = changed_tests(nbformat.read(scratch.submitted / f"{name}.ipynb", as_version=4),
                                     info.release[name])
                notes += [note] if note else []
        if problem or substitute:
            if problem:
                statuses, notes = [INVALID], [(
                    f"The submission could not be graded: {problem}. It was graded as the "
                    "blank lab instead, so every test scores 0.")]
            for name in info.notebooks:
                (scratch.submitted / f"{name}.ipynb").unlink(missing_ok=True)
                nbformat.write(info.release[name], scratch.submitted / f"{name}.ipynb")
            skip_reason = skip_reason or "Not run: the submission could not be read as a notebook."
        shutil.copyfile(self.template, scratch.gradebook)
        scratch.ipc.mkdir()
        scratch.home.mkdir()
        scratch.write_job({"limits": self.limits.to_dict(), "skip_reason": skip_reason,
                           "sandbox": self.sandbox_paths if self.sandbox else None,
                           "test_cells": info.test_cells, "lab_code": info.lab_code,
                           "preload": info.preload})
        process = Forked(lambda: worker_main([str(scratch.job)]), cwd=scratch.root,
                         env=self.limits.environment(scratch.home), log=scratch.log)
        limit = SKIP_SECONDS if skip_reason else self.limits.time_limit
        now = time.monotonic()
        return Run(scratch, process, now, now + limit, statuses, notes)

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

        Nothing counts from a process stopped at its deadline: it never wrote its result.
        The scores are computed here from the executed notebooks (nngrade.verdict)."""
        scratch = run.scratch
        if overdue:
            return None, {}, {}, None
        try:
            result = json_load(scratch.result)
        except (OSError, ValueError, TypeError):
            return None, {}, {}, None
        if not result.get("success"):
            return result, {}, {}, None
        info = self.info[run.lab]
        try:
            notebooks = {f"{n}.ipynb": (scratch.autograded / f"{n}.ipynb").read_bytes()
                         for n in info.notebooks if (scratch.autograded / f"{n}.ipynb").is_file()}
            files = {p.name: p.read_bytes() for p in scratch.autograded.glob("timestamp.txt")}
            scores = {name[:-len(".ipynb")]: notebook_scores(nbformat.reads(data.decode(), as_version=4),
                                                             info.release[name[:-len(".ipynb")]])
                      for name, data in notebooks.items()}
            grades = with_scores(read_grades(scratch.db_url, run.lab, run.student), scores)
        except Exception as error:  # unreadable results count as a crash of the grader
            result.update(success=False, error=f"the results could not be read: {error}")
            return result, {}, {}, None
        if len(notebooks) != len(info.notebooks):
            result.update(success=False, error="nbgrader wrote no autograded notebook")
            return result, {}, {}, None
        return result, notebooks, files, grades

    def _finish(self, run: Run, overdue: bool, changed: list[Path]) -> Outcome:
        result, notebooks, files, grades = self._collect(run, overdue)
        statuses, notes = list(run.statuses), list(run.notes)
        if changed:
            statuses.append(TAMPERED)
            notes.append(tampered_files(changed))
        if grades is None:
            status, note = failure(run.scratch.log, run.process.returncode, overdue, result, self.limits)
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
            graded_at=datetime.now(UTC).isoformat(timespec="seconds"),
            changed_paths=[str(p) for p in changed],
            sandboxed=self.sandbox,
        )
        return Outcome(record, notebooks, files, grades)

    def _fallback(self, run: Run, why: str) -> tuple[dict | None, dict[str, bytes], dict[str, bytes], dict | None]:
        """Grade without running any code: the submission, or the blank lab if that fails."""
        for substitute in (False, True):
            skip = self._start(run.student, run.lab, substitute=substitute, skip_reason=f"Not run: {why}")
            collected = self._collect(skip, self._wait(skip))
            shutil.rmtree(skip.scratch.root, ignore_errors=True)
            if collected[3] is not None:
                return collected
        return None, {}, {}, None

    def _write(self, outcome: Outcome) -> None:
        """Write one submission into the course at once, and tell the instructor."""
        written = commit(self.course, outcome)
        self.guard.accept(written)
        rec = outcome.record
        self.records.append(rec)
        points = ""
        if outcome.grades:
            got, total = autograded_points(outcome.grades)
            points = f"{0.0 if rec.status == TAMPERED else got:g}/{total:g} test points"
        width = len(str(len(self.pairs)))
        self.say(f"[{len(self.records):>{width}}/{len(self.pairs)}] {rec.student} / {rec.lab}: "
                 f"{rec.status}  {points}  ({rec.seconds:.1f} s)")

    # -- the batch --------------------------------------------------------------------
    def run(self) -> list[Record]:
        """Grade everything; each submission is written into the course when it is done."""
        self.tmp = Path(tempfile.mkdtemp(prefix="nngrade-")).resolve()
        try:
            self._prepare()
            self._grade_all()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)
        return self.records

    def _grade_all(self) -> None:
        pending: deque[tuple[str, str]] = deque(self.pairs)
        again: deque[tuple[str, str]] = deque()
        running = self.running
        try:
            while pending or again or running:
                while pending and len(running) < self.jobs:
                    running.append(self._start(*pending.popleft()))
                if not running and again:
                    running.append(self._start(*again.popleft()))
                time.sleep(0.1)
                for run in [r for r in running
                            if r.process.poll() is not None or time.monotonic() > r.deadline]:
                    running.remove(run)
                    overdue = self._stop(run)
                    changed = self.guard.changes()
                    if changed:
                        self.guard.restore(changed)
                    if changed and running:
                        self._isolate([run, *running], again)
                        break
                    try:
                        self._write(self._finish(run, overdue, changed))
                    except (OSError, ValueError, TypeError, KeyError, sqlalchemy.exc.SQLAlchemyError) as error:
                        # One submission's odd results must not stop the batch: report it, go on.
                        self.skipped.append((run.student, run.lab))
                        self.say(f"{run.student} / {run.lab}: could not be graded "
                                 f"({type(error).__name__}: {str(error)[:300]}); skipped, "
                                 "the next `nngrade autograde` tries it again")
                    finally:
                        shutil.rmtree(run.scratch.root, ignore_errors=True)
        finally:
            for run in running:
                kill_tree(run.process.pid)
                run.process.wait()
            running.clear()
            kill_descendants(keep=self.keep)
            changed = self.guard.changes()
            if changed:
                self.guard.restore(changed)

    def _isolate(self, suspects: list[Run], again: deque[tuple[str, str]]) -> None:
        """One of these wrote outside its folder: grade each again on its own."""
        for suspect in suspects:
            if suspect.process.poll() is None:
                kill_tree(suspect.process.pid)
            suspect.process.wait()
            again.append((suspect.student, suspect.lab))
            shutil.rmtree(suspect.scratch.root, ignore_errors=True)
        self.running.clear()
        kill_descendants(keep=self.keep)
        self.say(f"files outside the submissions changed; grading {len(again)} "
                 "submissions again one at a time to find the cause")


def json_load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise TypeError(f"expected a JSON object in {path}")
    return data


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
    todo: list[tuple[str, str]] = []
    skipped: list[tuple[str, str]] = []
    for student, lab in pairs:
        record = Record.load(course.step("status"), student, lab)
        same = (record is not None and course.step("autograded", student, lab).is_dir()
                and record.digest == submission_digest(course.step("submitted", student, lab)))
        (skipped if same and not force else todo).append((student, lab))
    return todo, skipped
