"""A class of backprop-minifw submissions graded end to end in the sandbox, and the checks
every such batch must pass; test_grading.py and test_grading_tricks.py each grade part of the
class (so that pytest-xdist runs them side by side), on its own copy of the course.

A first batch (reference, blank, wrong answers) is graded and its gradebook rows kept; then
the hostile batch is collected and graded with two workers, in the sandbox. Every submission
must end with a CSV row and a feedback page that explains what happened; the course files and
the first batch's grades must come out unchanged; no kernel may see the instructor's
environment, and no process of a submission may outlive the batch.
"""

from __future__ import annotations

import csv
import json
import site
import socket
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from grading_cases import GOOD, hostile, marked_processes, sandbox_only, write
from grading_course import LAB, LIMITS, SECRET, course_copy, digests, gradebook_rows, nngrade

from nngrade.sandbox import bwrap_problem

EXPECTED_STATUS = {
    "reference": "ok", "blank": "ok", "wrong": "ok",
    "loop": "timeout", "sysexit": "ok", "osexit": "crashed", "killself": "crashed",
    "membomb": "memory", "edited": "ok", "deleted": "ok", "renamed": "ok", "nan": "ok",
    "huge": "ok", "tamper": "ok", "badjson": "invalid notebook", "empty": "invalid notebook",
    "debug": "ok", "helpers": "ok", "noasserts": "tampered", "swallow": "tampered",
    "clearerrors": "tampered", "lenient": "tampered", "escape": "ok", "spy": "ok", "planter": "ok",
    "quiet": "tampered", "forged": "tampered", "pasted": "ok", "liar": "ok",
}
# What the feedback must say, beyond the status.
EXPLANATION = {
    "loop": "ran longer than 30 s and was interrupted",
    "osexit": "exited with status 1",
    "killself": "killed by SIGKILL",
    "membomb": "ran out of memory",
    "edited": "(edited)",
    "deleted": "(deleted)",
    "huge": "printed more than",
    "badjson": "is not a valid notebook",
    "empty": "is an empty file",
    "noasserts": "ast transformers",
    "swallow": "custom exception handler",
    "clearerrors": "event callbacks",
    "lenient": "members numpy: allclose",
    "quiet": "methods kernel.session: send",
    "forged": "error reports: a failing check was reported as passing",
    "pasted": "carried nbgrader metadata (a second copy of the lab",
}


FULL_MARKS = ("reference", "loop", "sysexit", "membomb", "huge", "tamper", "debug", "escape", "spy", "planter",
              "pasted")
NO_MARKS = ("blank", "badjson", "empty", "noasserts", "swallow", "clearerrors", "lenient", "quiet", "forged")
SOME_MARKS = ("wrong", "osexit", "killself", "renamed", "nan", "helpers", "liar")
UNREADABLE = {"badjson": '{"cells": [', "empty": ""}  # collected from a zip


def grade_class(tmp_path_factory: pytest.TempPathFactory, names: list[str]) -> SimpleNamespace:
    """The first batch (GOOD), then the cases `names` (of hostile(), sandbox_only() and
    UNREADABLE), graded on a new copy of the course."""
    if bwrap_problem():
        pytest.skip(f"no sandbox here: {bwrap_problem()} (CI installs bubblewrap)")
    root = tmp_path_factory.mktemp("course") / "repo"
    lab = course_copy(root)

    first = root.parent / "first-batch"
    for name, case in GOOD.items():
        write(first / name / LAB / f"{LAB}.ipynb", case(lab))
    nngrade(root, "collect", str(first))
    nngrade(root, "autograde", "-j", "2", *LIMITS)
    first_rows = gradebook_rows(root, list(GOOD))
    before = digests(root / "solutions", root / "labs", root / "nbgrader_config.py")

    targets = {"gradebook": root / "grading" / "gradebook.db",
               "solution": root / "solutions" / LAB / f"{LAB}.ipynb", "repo": root}
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    second = root.parent / "second-batch"
    cases = {**hostile(targets), **sandbox_only(targets, server.getsockname()[1])}
    for name in names:
        if name in cases:
            write(second / name / LAB / f"{LAB}.ipynb", cases[name](lab))
    collected = nngrade(root, "collect", str(second)).stdout
    unreadable = [name for name in names if name in UNREADABLE]
    if unreadable:
        flat = root.parent / "flat.zip"
        with zipfile.ZipFile(flat, "w") as z:
            for name in unreadable:
                z.writestr(f"{name}_{LAB}.ipynb", UNREADABLE[name])
            z.writestr("notes.txt", "not a submission")
        collected += nngrade(root, "collect", str(flat)).stdout
    try:
        autograde = nngrade(root, "autograde", "-j", "2", *LIMITS)
    finally:
        server.close()
    survivors = marked_processes("NNGRADE_ESCAPE")
    nngrade(root, "feedback")
    nngrade(root, "export")
    with open(root / "grading" / "grades.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    return SimpleNamespace(
        root=root, lab=lab, names=[*GOOD, *names], collected=collected, autograde=autograde.stdout,
        rows=rows, first_rows=first_rows, later_rows=gradebook_rows(root, list(GOOD)),
        survivors=survivors, before=before,
        after=digests(root / "solutions", root / "labs", root / "nbgrader_config.py"),
    )


def autograded_outputs(root: Path, student: str) -> str:
    """Everything the submission's cells printed or returned, as it was graded."""
    nb = json.loads((root / "grading" / "autograded" / student / LAB / f"{LAB}.ipynb").read_text())
    return json.dumps([c.get("outputs", []) for c in nb["cells"]])


# -- the checks of every batch (imported by the test modules) ------------------------------
def test_every_submission_gets_the_expected_status(graded):
    statuses = {student: row["status"] for student, row in graded.rows.items()}
    assert statuses == {s: EXPECTED_STATUS[s] for s in graded.names}, graded.autograde


def test_scores_follow_what_ran(graded):
    points = graded.lab.test_points()
    full = sum(points.values())

    def tests(student: str) -> float:
        return sum(float(graded.rows[student][name] or 0) for name in points)

    for student in set(FULL_MARKS) & set(graded.names):
        assert tests(student) == full, (student, graded.rows[student])
    for student in set(NO_MARKS) & set(graded.names):
        assert tests(student) == 0, (student, graded.rows[student])
    for student in set(SOME_MARKS) & set(graded.names):
        assert 0 < tests(student) < full, (student, graded.rows[student])
    if "helpers" in graded.names:  # rebinding the lab's helpers (rel_error) earns nothing
        assert tests("helpers") == tests("wrong")
    if "liar" in graded.names:  # a poor model whose arrays claim to equal anything loses the training test only
        assert {name for name in points if float(graded.rows["liar"][name] or 0) < points[name]} == {"test_train_mlp"}
    first_test, last_test = list(points)[0], list(points)[-1]
    if "edited" in graded.names:
        assert float(graded.rows["edited"][first_test]) == 0
    if "deleted" in graded.names:
        assert float(graded.rows["deleted"][last_test]) == 0
    assert all(row["max_score"] == graded.rows["reference"]["max_score"] for row in graded.rows.values())


def test_no_secret_in_any_output_no_process_outlives_the_batch_nothing_planted(graded):
    for student in graded.names:
        if (graded.root / "grading" / "autograded" / student).is_dir():
            assert SECRET not in autograded_outputs(graded.root, student), student
    assert graded.survivors == []
    assert not any(Path(p, "zz_nngrade_test.pth").exists() for p in site.getsitepackages())
    assert not list((graded.root / "solutions").rglob("trap.ipynb"))


def test_feedback_explains_what_happened(graded):
    for student in graded.names:
        status = EXPECTED_STATUS[student]
        page = graded.root / "grading" / "feedback" / student / LAB / f"{LAB}.html"
        text = page.read_text(encoding="utf-8")
        assert "Grading report" in text and f"Status: {status}" in text, student
        if student in EXPLANATION:
            assert EXPLANATION[student] in text, (student, graded.rows[student]["notes"])


def test_course_files_and_other_grades_are_intact(graded):
    assert graded.after == graded.before
    assert not (graded.root / "owned.txt").exists()
    assert graded.later_rows == graded.first_rows
    assert f"grading {len(graded.names) - len(GOOD)} submissions" in graded.autograde  # not the first batch again
    assert list((graded.root / "grading" / "backups").glob("gradebook-*.db"))
