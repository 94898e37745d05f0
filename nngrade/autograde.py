"""Autograding a batch of submissions so that no submission can stop the batch, change its
own or another student's grade, or change the course's files.

The batch is set up once (nngrade.prepare); each submission is then graded by nbgrader in its
own process (forked from this one, see nngrade._worker) on a scratch course (nngrade.scratch)
in the batch's private temporary folder, at most `jobs` at a time (nngrade.schedule). The
kernel runs in a sandbox (nngrade.sandbox) that sees none of these; without it (an explicit,
named risk) it runs as a child of the grader process. The grader process is killed at the
submission's wall-clock deadline, along with anything it started, or as soon as it runs more
processes or writes more than its limits allow (nngrade.watchdog). After each submission the
protected files are compared with the guard's snapshot and restored if changed; when
several submissions ran at that time, they are graded again one at a time to find which one
did it. What the process wrote back is read (nngrade.harvest), the status decided
(nngrade.diagnose), and the submission written into the course at once (nngrade.results).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import nbformat
import psutil

from . import cgroup
from ._worker import main as worker_main
from .course import Course
from .diagnose import conclude, failure, memory_cap_note
from .grades import autograded_points
from .harvest import Harvest, harvest
from .limits import Limits
from .prepare import Setup, build_scratch, prepare
from .processes import Forked, become_subreaper, kill_descendants, kill_tree
from .results import Outcome, commit
from .schedule import Pair, Queue, time_allowed
from .scratch import Scratch
from .status import MEMORY, TAMPERED, Record
from .submitted import submission_digest
from .watchdog import folder_bytes, over_limits


@dataclass
class Run:
    """One grader process at work on one submission."""

    scratch: Scratch
    process: Forked
    started: float
    deadline: float
    watched: Path  # the folder on disk its kernel can write
    base: int  # bytes in `watched` at the start
    groups: list[Path] = field(default_factory=list)  # its cgroups (hard caps on tasks and memory)
    statuses: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    exceeded: tuple[str, str] | None = None  # (status, note) when the watchdog stopped it

    @property
    def student(self) -> str:
        return self.scratch.student

    @property
    def lab(self) -> str:
        return self.scratch.lab

    @property
    def pair(self) -> Pair:
        return self.student, self.lab

    def end(self) -> None:
        """Kill the grader process and everything it started if it still runs, reap it, and
        delete its cgroups with whatever they still hold."""
        if self.process.poll() is None:
            kill_tree(self.process.pid)
        self.process.wait()
        for group in self.groups:
            cgroup.remove(group)
        self.groups = []


class Batch:
    """Grades the given (student, lab) pairs; see the module docstring."""

    def __init__(self, course: Course, pairs: list[Pair], limits: Limits, jobs: int,
                 sandbox: bool = True, say: Callable[[str], None] = print) -> None:
        self.course = course
        self.pairs = pairs
        self.limits = limits
        self.jobs = max(1, jobs)
        self.sandbox = sandbox
        self.say = say
        self.labs = sorted({lab for _, lab in pairs})
        self.records: list[Record] = []
        self.skipped: list[Pair] = []  # could not be graded (reported)
        self.running: list[Run] = []
        self._warned = False

    # -- one grader process -----------------------------------------------------------
    def _start(self, student: str, lab: str, skip_reason: str | None = None,
               substitute: bool = False) -> Run:
        setup = self.setup
        scratch, statuses, notes, unreadable = build_scratch(setup, self.course, student, lab, substitute)
        skip_reason = skip_reason or unreadable
        info = setup.info[lab]
        view = {"readable": setup.readable, "hidden": setup.hidden}
        scratch.write_job({"limits": self.limits.to_dict(), "skip_reason": skip_reason,
                           "sandbox": view if self.sandbox else None,
                           "test_cells": info.test_cells, "lab_code": info.lab_code,
                           "preload": info.preload})
        watched = scratch.ipc if self.sandbox else scratch.root  # what its kernel can write on disk
        base = folder_bytes(watched, 2**62)
        groups = cgroup.create(self.limits.max_tasks, self.limits.max_memory_mb)
        process = Forked(lambda: worker_main([str(scratch.job)]), cwd=scratch.root,
                         env=self.limits.environment(scratch.home), log=scratch.log, groups=groups)
        now = time.monotonic()
        return Run(scratch, process, now, now + time_allowed(self.limits.time_limit, bool(skip_reason)),
                   watched, base, groups, statuses, notes)

    def _stop(self, run: Run) -> bool:
        """End a finished or overdue process and whatever it left; True if it was overdue."""
        overdue = run.process.poll() is None
        run.exceeded = run.exceeded or over_limits(run.process.pid, run.watched, self.limits, base=run.base,
                                                   groups=run.groups)
        if any(cgroup.oom_kills(group) for group in run.groups):
            run.statuses.append(MEMORY)
            run.notes.append(memory_cap_note(self.limits))
        run.end()
        kill_descendants(keep=self.keep | {r.process.pid for r in self.running})
        return overdue

    def _wait(self, run: Run) -> bool:
        try:
            run.process.wait(timeout=max(0.0, run.deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        return self._stop(run)

    # -- results ----------------------------------------------------------------------
    def _finish(self, run: Run, overdue: bool, changed: list[Path]) -> Outcome:
        got = harvest(run.scratch, self.setup.info[run.lab], overdue or run.exceeded is not None)
        failed = run.exceeded
        if got.grades is None:
            failed = failed or failure(run.scratch.log, run.process.returncode, overdue, got.result, self.limits)
            got = self._fallback(run, failed[1])
        refused = (got.result or {}).get("limits_refused")
        if refused and not self._warned:
            self._warned = True
            self.say(f"warning: this system refused the limits {', '.join(refused)}; "
                     "submissions run without them (see docs/instructors.md, the trust model)")
        cells = (nbformat.reads(next(iter(got.notebooks.values())).decode(), as_version=4).cells
                 if got.notebooks else [])
        status, notes = conclude(run.statuses, run.notes, changed, failed, got.result, cells, self.limits)
        record = Record(
            student=run.student, lab=run.lab, status=status, notes=notes,
            digest=submission_digest(self.course.step("submitted", run.student, run.lab)),
            seconds=round(time.monotonic() - run.started, 2),
            kernel_seconds=round((got.result or {}).get("kernel_seconds", 0.0), 2),
            cell_seconds=round((got.result or {}).get("cell_seconds", 0.0), 2),
            graded_at=datetime.now(UTC).isoformat(timespec="seconds"),
            changed_paths=[str(p) for p in changed],
            sandboxed=self.sandbox,
        )
        return Outcome(record, got.notebooks, got.files, got.grades)

    def _fallback(self, run: Run, why: str) -> Harvest:
        """Grade without running any code: the submission, or the blank lab if that fails."""
        for substitute in (False, True):
            skip = self._start(run.student, run.lab, substitute=substitute, skip_reason=f"Not run: {why}")
            got = harvest(skip.scratch, self.setup.info[run.lab], self._wait(skip))
            shutil.rmtree(skip.scratch.root, ignore_errors=True)
            if got.grades is not None:
                return got
        return Harvest()

    def _write(self, outcome: Outcome) -> None:
        """Write one submission into the course at once, and tell the instructor."""
        written = commit(self.course, outcome)
        self.setup.guard.accept(written)
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
        tmp = Path(tempfile.mkdtemp(prefix="nngrade-")).resolve()
        try:
            sys.dont_write_bytecode = True  # our own imports must not look like tampering
            self.setup: Setup = prepare(self.course, self.labs, tmp, self.say)
            become_subreaper()
            self.keep = {p.pid for p in psutil.Process().children()}
            self._grade_all()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return self.records

    def _grade_all(self) -> None:
        queue = Queue(self.pairs, self.jobs)
        running = self.running
        guard = self.setup.guard
        try:
            tick = 0
            while queue or running:
                running += [self._start(*pair) for pair in queue.starts(len(running))]
                time.sleep(0.1)
                tick += 1
                for run in running:  # processes every tick, disk every second
                    if run.exceeded is None and run.process.poll() is None:
                        run.exceeded = over_limits(run.process.pid, run.watched, self.limits,
                                                   disk=tick % 10 == 0, base=run.base, groups=run.groups)
                        if run.exceeded:
                            kill_tree(run.process.pid)
                for run in [r for r in running
                            if r.process.poll() is not None or time.monotonic() > r.deadline]:
                    running.remove(run)
                    overdue = self._stop(run)
                    changed = guard.changes()
                    if changed:
                        guard.restore(changed)
                    if changed and running:
                        self._isolate([run, *running], queue)
                        break
                    try:
                        self._write(self._finish(run, overdue, changed))
                    except Exception as error:
                        # One submission's odd results must not stop the batch: report it, go on.
                        self.skipped.append(run.pair)
                        self.say(f"{run.student} / {run.lab}: could not be graded "
                                 f"({type(error).__name__}: {str(error)[:300]}); skipped, "
                                 "the next `nngrade autograde` tries it again")
                    finally:
                        shutil.rmtree(run.scratch.root, ignore_errors=True)
        finally:
            for run in running:
                run.end()
            running.clear()
            kill_descendants(keep=self.keep)
            changed = guard.changes()
            if changed:
                guard.restore(changed)

    def _isolate(self, suspects: list[Run], queue: Queue) -> None:
        """One of these wrote outside its folder: grade each again on its own."""
        for suspect in suspects:
            suspect.end()
            shutil.rmtree(suspect.scratch.root, ignore_errors=True)
        queue.suspect([s.pair for s in suspects])
        self.running.clear()
        kill_descendants(keep=self.keep)
        self.say(f"files outside the submissions changed; grading {len(queue.again)} "
                 "submissions again one at a time to find the cause")
