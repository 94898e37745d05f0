"""The parts of `nngrade autograde` around the grader process, one at a time and fast (no
kernel): the schedule and its deadlines, the scratch folder a submission is graded in, what
the sandbox may read, what is read back from a run, the status decision and the watchdog
(processes and disk)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from nngrade.course import CONFIG_FILE, Course, CourseError
from nngrade.diagnose import conclude, diagnose, failure, submission_notes
from nngrade.guard import Guard
from nngrade.harvest import harvest
from nngrade.labinfo import LabInfo
from nngrade.limits import Limits
from nngrade.metadata import conform
from nngrade.prepare import Setup, build_scratch, python_path, sandbox_view
from nngrade.processes import kill_tree
from nngrade.schedule import SKIP_SECONDS, Queue, plan, time_allowed
from nngrade.scratch import Scratch
from nngrade.status import CRASHED, DISK, INVALID, OK, PROCESSES, TAMPERED, TIMEOUT, Record
from nngrade.submitted import submission_digest
from nngrade.watchdog import count_processes, folder_bytes, over_limits


# -- scheduling --------------------------------------------------------------------------
def test_queue_fills_the_workers_and_runs_suspects_alone():
    queue = Queue([("a", "lab"), ("b", "lab"), ("c", "lab")], jobs=2)
    assert queue.starts(0) == [("a", "lab"), ("b", "lab")]
    assert queue.starts(2) == []
    queue.suspect([("a", "lab"), ("b", "lab")])
    assert queue.starts(1) == [("c", "lab")]  # new submissions first, in parallel
    assert queue.starts(1) == []  # a suspect waits until nothing else runs
    assert queue.starts(0) == [("a", "lab")]
    assert queue.starts(0) == [("b", "lab")] and not queue
    assert Queue([("a", "lab")], jobs=0).starts(0) == [("a", "lab")]  # at least one worker


def test_deadline_of_a_skipped_run_is_short():
    assert time_allowed(900, skipped=False) == 900
    assert time_allowed(900, skipped=True) == SKIP_SECONDS


def _course(tmp_path: Path) -> Course:
    root = tmp_path / "repo"
    lab = root / "solutions" / "lab"
    lab.mkdir(parents=True)
    nb = new_notebook(cells=[new_code_cell("x = 1")])
    nbformat.write(nb, lab / "lab.ipynb")
    (lab / "data.csv").write_text("1,2\n")
    (root / CONFIG_FILE).write_text("c = get_config()\n")
    return Course(root=root, course_dir=tmp_path / "grading")


def test_plan_resumes_where_a_batch_stopped(tmp_path):
    course = _course(tmp_path)
    with pytest.raises(CourseError, match="nngrade collect"):
        plan(course, None, None, force=False)
    for student in ("alice", "bob"):
        folder = course.step("submitted", student, "lab")
        folder.mkdir(parents=True)
        (folder / "lab.ipynb").write_text(student)
    course.step("autograded", "alice", "lab").mkdir(parents=True)
    Record("alice", "lab", OK, digest=submission_digest(course.step("submitted", "alice", "lab"))).save(
        course.step("status"))
    assert plan(course, None, None, force=False) == ([("bob", "lab")], [("alice", "lab")])
    assert plan(course, None, None, force=True)[0] == [("alice", "lab"), ("bob", "lab")]
    (course.step("submitted", "alice", "lab") / "lab.ipynb").write_text("handed in again")
    assert plan(course, None, None, force=False)[0] == [("alice", "lab"), ("bob", "lab")]


# -- the scratch folder ------------------------------------------------------------------
def _setup(course: Course, tmp: Path) -> Setup:
    release = nbformat.read(course.solutions / "lab" / "lab.ipynb", as_version=4)
    info = LabInfo(["lab"], {"lab": release}, [], "", [])
    template = tmp / "gradebook.db"
    template.write_bytes(b"template")
    guard = Guard([course.root, course.course_dir], lambda p: False, tmp / "backup")
    return Setup(tmp, info={"lab": info}, template=template, guard=guard, readable=[], hidden=[])


def test_scratch_holds_the_lab_files_and_the_notebooks_only(tmp_path):
    course = _course(tmp_path)
    submitted = course.step("submitted", "alice", "lab")
    submitted.mkdir(parents=True)
    nbformat.write(new_notebook(cells=[new_code_cell("x = 2")]), submitted / "lab.ipynb")
    (submitted / "timestamp.txt").write_text("2026-01-01 00:00:00")
    (submitted / "evil.py").write_text("import os")
    tmp = tmp_path / "batch"
    tmp.mkdir()
    scratch, statuses, notes, skip = build_scratch(_setup(course, tmp), course, "alice", "lab")
    assert scratch.root.parent == tmp and (statuses, notes, skip) == ([], [], None)
    assert sorted(p.name for p in scratch.submitted.iterdir()) == ["lab.ipynb", "timestamp.txt"]
    assert [p.name for p in scratch.source.iterdir()] == ["data.csv"]  # not the solution notebook
    assert scratch.gradebook.read_bytes() == b"template" and scratch.config.is_file()
    assert scratch.ipc.is_dir() and scratch.home.is_dir()
    # nbgrader is pointed at the same folders
    folders = scratch.course_directory()
    assert Path(folders["root"]) / folders["submitted_directory"] / "alice" / "lab" == scratch.submitted
    assert Path(folders["root"]) / folders["source_directory"] / "lab" == scratch.source
    assert Path(folders["root"]) / folders["autograded_directory"] / "alice" / "lab" == scratch.autograded
    job = {"limits": Limits().to_dict()}
    scratch.write_job(job)
    assert Scratch.read_job(scratch.job) == (scratch, {**job, "scratch": str(scratch.root),
                                                       "student": "alice", "lab": "lab"})


def test_an_unreadable_submission_is_replaced_by_the_blank_lab(tmp_path):
    course = _course(tmp_path)
    submitted = course.step("submitted", "bob", "lab")
    submitted.mkdir(parents=True)
    (submitted / "lab.ipynb").write_text('{"cells": [')
    tmp = tmp_path / "batch"
    tmp.mkdir()
    scratch, statuses, notes, skip = build_scratch(_setup(course, tmp), course, "bob", "lab")
    assert statuses == [INVALID] and "not a valid notebook" in notes[0] and skip
    assert nbformat.read(scratch.submitted / "lab.ipynb", as_version=4).cells[0].source == "x = 1"


def test_sandbox_sees_no_private_folder(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / "private").mkdir(parents=True)
    monkeypatch.chdir(home)
    monkeypatch.setattr("sys.path", [str(home), *__import__("sys").path])
    monkeypatch.delenv("PYTHONPATH", raising=False)
    assert home.resolve() not in python_path()  # `python -m` adds the current folder
    course = Course(root=tmp_path / "repo", course_dir=tmp_path / "grading",
                    solutions_dir=tmp_path / "repo" / "private-solutions")
    readable, hidden = sandbox_view(course, tmp_path / "batch", [])
    assert str(home.resolve()) not in readable and str(course.root) in readable
    for folder in ("repo/solutions", "repo/.git", "repo/grading", "repo/private-solutions", "grading", "batch"):
        assert str((tmp_path / folder).resolve()) in hidden, folder
    monkeypatch.setenv("PYTHONPATH", str(home))  # asked for by name: kept
    assert home.resolve() in python_path()


# -- reading a run back --------------------------------------------------------------------
def test_nothing_is_read_from_a_run_that_did_not_end_well(tmp_path):
    scratch = Scratch(tmp_path, "alice", "lab")
    info = LabInfo(["lab"], {"lab": new_notebook()}, [], "", [])
    scratch.result.write_text(json.dumps({"success": True}))
    assert harvest(scratch, info, overdue=True).result is None  # its result.json is not its own
    scratch.result.write_text("[1, 2]")
    assert harvest(scratch, info, overdue=False).result is None
    scratch.result.write_text(json.dumps({"success": False, "error": "boom"}))
    got = harvest(scratch, info, overdue=False)
    assert got.result == {"success": False, "error": "boom"} and got.grades is None
    scratch.result.write_text(json.dumps({"success": True}))
    got = harvest(scratch, info, overdue=False)  # success claimed, no notebook written
    assert got.grades is None and got.result and not got.result["success"]


# -- the status decision ---------------------------------------------------------------------
def test_status_decision():
    cells = [new_code_cell("x = 1")]
    limits = Limits(time_limit=60)
    assert conclude([], [], [], None, {"success": True, "journal": []}, cells, limits) == (OK, [])
    status, notes = conclude([], [], [Path("/repo/owned.txt")], None, {"success": True, "journal": []},
                             cells, limits)
    assert status == TAMPERED and "/repo/owned.txt" in notes[0]
    failed = failure(Path("/nonexistent"), None, True, None, limits)
    assert failed[0] == TIMEOUT and "60 s" in failed[1]
    status, notes = conclude([INVALID], ["unreadable"], [], failed, None, [], limits)
    assert status == INVALID and notes[0] == "unreadable" and "without running" in notes[1]
    journal = [{"kind": "died", "cell": 0, "detail": "killed by SIGKILL"}]
    status, notes = conclude([], [], [], None, {"success": True, "journal": journal}, cells, limits)
    assert status == CRASHED and "cell 1 (`x = 1`)" in notes[0]
    assert submission_notes("empty file", None, {}) == ([INVALID], [
        "The submission could not be graded: empty file. It was graded as the blank lab instead, "
        "so every test scores 0."])


# -- the watchdog ---------------------------------------------------------------------------
FORKER = """
import os, sys, time
n = int(sys.argv[1])
r, w = os.pipe()
for _ in range(n):
    if os.fork() == 0:
        if os.fork() == 0:  # grandchildren count too
            time.sleep(60)
            os._exit(0)
        os.write(w, b"+")  # its grandchild exists
        time.sleep(60)
        os._exit(0)
for _ in range(n):
    os.read(r, 1)  # "ready" only once every grandchild exists
print("ready", flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts processes through /proc")
def test_watchdog_counts_every_process_of_a_submission(tmp_path):
    forker = subprocess.Popen([sys.executable, "-c", FORKER, "5"], stdout=subprocess.PIPE, text=True)
    try:
        assert forker.stdout and forker.stdout.readline() == "ready\n"
        assert count_processes(forker.pid, 100) == 11  # itself, 5 children, 5 grandchildren
        assert count_processes(forker.pid, 3) <= 11  # stops counting past the limit
        assert over_limits(forker.pid, tmp_path, Limits(max_processes=20)) is None
        status, note = over_limits(forker.pid, tmp_path, Limits(max_processes=5)) or ("", "")
        assert status == PROCESSES and "more than 5 processes" in note
    finally:
        kill_tree(forker.pid)
        forker.wait()


def test_watchdog_measures_what_was_written(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "big").write_bytes(os.urandom(3 * 2**20))
    (tmp_path / "small").write_bytes(b"x" * 10)
    (tmp_path / "link").symlink_to("/usr")  # not followed
    assert 3 * 2**20 <= folder_bytes(tmp_path, 2**40) < 4 * 2**20
    assert over_limits(os.getpid(), tmp_path, Limits(max_disk_mb=4, max_processes=10**6)) is None
    status, note = over_limits(os.getpid(), tmp_path, Limits(max_disk_mb=2, max_processes=10**6)) or ("", "")
    assert status == DISK and "more than 2 MB" in note
    base = folder_bytes(tmp_path, 2**40)  # what was there at the start does not count
    assert over_limits(os.getpid(), tmp_path, Limits(max_disk_mb=2, max_processes=10**6), base=base) is None
    assert over_limits(os.getpid(), tmp_path, Limits(max_disk_mb=2), disk=False) is None


def test_a_full_disk_in_a_cell_is_reported():
    cells = [new_code_cell("open('/tmp/x', 'wb').write(bytes(2**31))")]
    cells[0].outputs = [new_output("error", ename="OSError", evalue="[Errno 28] No space left on device",
                                   traceback=[])]
    statuses, notes = diagnose({"journal": []}, cells, Limits(max_disk_mb=64))
    assert statuses == [DISK] and "ran out of disk space: at most 64 MB" in notes[0]
    cells[0].outputs[0].evalue = "[Errno 27] File too large"
    statuses, notes = diagnose({"journal": []}, cells, Limits(max_file_mb=8))
    assert statuses == [DISK] and "larger than 8 MB" in notes[0]


def test_nbgrader_metadata_is_made_the_lab_s():
    """Pasted copies of a test, a renamed id, flags and points a student changed: the
    release's metadata wins, every other cell runs as the student's own (nbgrader stopped
    on each of these, and correct work scored 0)."""
    def cell(source: str, **meta) -> nbformat.NotebookNode:
        return new_code_cell(source, metadata={"nbgrader": meta} if meta else {})

    test = {"grade": True, "grade_id": "t", "locked": True, "points": 2, "solution": False}
    answer = {"grade": False, "grade_id": "a", "locked": False, "solution": True}
    release = new_notebook(cells=[cell("def f(): raise NotImplementedError", **answer),
                                  cell("assert f() == 1", **test)])
    nb = new_notebook(cells=[
        cell("pass", **test),  # a fake placed first under the test's id
        cell("def f(): return 1", **{**answer, "grade": True, "points": 100}),
        cell("assert f() == 1", **{**test, "points": 1000}),
        cell("assert f() == 1", **{**test, "grade_id": "t_mine"}),
        cell("x = 1", grade=True),
    ])
    notes = conform(nb, release)
    assert [c.metadata.get("nbgrader") for c in nb.cells] == [None, answer, test, None, None]
    assert len(notes) == 3 and "second copy of the lab's cell `t`" in notes[0]
    assert "`t_mine`, which is no cell of the lab" in notes[1] and "incomplete" in notes[2]
    assert conform(nb, release) == []
