"""End to end: `nngrade` grades a class of good, broken and hostile submissions of the
backprop-minifw lab in one batch, on a copy of the course in a temporary folder.

A first batch (reference, blank, wrong answers) is graded and its gradebook rows kept; then
the hostile batch is collected (a folder and a zip) and graded with two workers. Every
submission must end with a CSV row and a feedback page that explains what happened, and
the course files and the first batch's grades must come out unchanged.
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from grading_cases import GOOD, Lab, hostile, write

REPO = Path(__file__).resolve().parents[1]
LAB = "backprop-minifw"
LIMITS = ["--cell-timeout", "30", "--time-limit", "300", "--memory", "1536"]

pytestmark = [
    pytest.mark.xdist_group("grading"),
    pytest.mark.skipif(sys.platform == "win32", reason="nngrade autograde needs fork and rlimits"),
    pytest.mark.skipif(not (REPO / "solutions" / LAB).is_dir(), reason=f"solutions/{LAB} is missing"),
]

EXPECTED_STATUS = {
    "reference": "ok", "blank": "ok", "wrong": "ok",
    "loop": "timeout", "sysexit": "ok", "osexit": "crashed", "killself": "crashed",
    "membomb": "memory", "edited": "ok", "deleted": "ok", "renamed": "ok", "nan": "ok",
    "huge": "ok", "tamper": "tampered", "badjson": "invalid notebook", "empty": "invalid notebook",
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
    "tamper": "changed files outside its own folder",
    "badjson": "is not a valid notebook",
    "empty": "is an empty file",
}


def nngrade(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    result = subprocess.run(
        [sys.executable, "-m", "nngrade", "--course-dir", str(root / "grading"), *args],
        cwd=root, env=env, capture_output=True, text=True, timeout=1200,
    )
    assert result.returncode == 0, f"nngrade {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def digests(*paths: Path) -> dict[str, str]:
    files = [p for path in paths for p in ([path] if path.is_file() else sorted(path.rglob("*")))]
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files if p.is_file()}


def gradebook_rows(root: Path, students: list[str]) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'grading' / 'gradebook.db'}") as gb:
        return {
            s: {(g.notebook.name, g.name): (g.auto_score, g.manual_score, g.needs_manual_grade)
                for nb in gb.find_submission(LAB, s).notebooks for g in nb.grades}
            for s in students
        }


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> SimpleNamespace:
    root = tmp_path_factory.mktemp("course") / "repo"
    for part in (Path("nbgrader_config.py"), Path("solutions") / LAB, Path("labs") / LAB):
        copy = shutil.copytree if (REPO / part).is_dir() else shutil.copyfile
        (root / part).parent.mkdir(parents=True, exist_ok=True)
        copy(REPO / part, root / part)
    lab = Lab(root, LAB)

    first = root.parent / "first-batch"
    for name, case in GOOD.items():
        write(first / name / LAB / f"{LAB}.ipynb", case(lab))
    nngrade(root, "collect", str(first))
    nngrade(root, "autograde", "-j", "2", *LIMITS)
    first_rows = gradebook_rows(root, list(GOOD))
    before = digests(root / "solutions", root / "labs", root / "nbgrader_config.py")

    targets = {"gradebook": root / "grading" / "gradebook.db",
               "solution": root / "solutions" / LAB / f"{LAB}.ipynb", "repo": root}
    second = root.parent / "second-batch"
    for name, case in hostile(targets).items():
        write(second / name / LAB / f"{LAB}.ipynb", case(lab))
    flat = root.parent / "flat.zip"
    with zipfile.ZipFile(flat, "w") as z:
        z.writestr(f"badjson_{LAB}.ipynb", '{"cells": [')
        z.writestr(f"empty_{LAB}.ipynb", "")
        z.writestr("notes.txt", "not a submission")
    collected = nngrade(root, "collect", str(second)).stdout + nngrade(root, "collect", str(flat)).stdout
    autograde = nngrade(root, "autograde", "-j", "2", *LIMITS)
    nngrade(root, "feedback")
    nngrade(root, "export")
    with open(root / "grading" / "grades.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    return SimpleNamespace(
        root=root, lab=lab, collected=collected, autograde=autograde.stdout, rows=rows,
        first_rows=first_rows, later_rows=gradebook_rows(root, list(GOOD)),
        before=before, after=digests(root / "solutions", root / "labs", root / "nbgrader_config.py"),
    )


def test_collect_reports_what_it_could_not_match(graded):
    assert "notes.txt" in graded.collected
    assert "collected badjson / backprop-minifw" in graded.collected


def test_every_submission_gets_the_expected_status(graded):
    statuses = {student: row["status"] for student, row in graded.rows.items()}
    assert statuses == EXPECTED_STATUS, graded.autograde


def test_scores_follow_what_ran(graded):
    points = graded.lab.test_points()
    full = sum(points.values())

    def tests(student: str) -> float:
        return sum(float(graded.rows[student][name] or 0) for name in points)

    for student in ("reference", "loop", "sysexit", "membomb", "huge"):
        assert tests(student) == full, (student, graded.rows[student])
    for student in ("blank", "tamper", "badjson", "empty"):
        assert tests(student) == 0, (student, graded.rows[student])
    for student in ("wrong", "osexit", "killself", "renamed", "nan"):
        assert 0 < tests(student) < full, (student, graded.rows[student])
    first_test, last_test = list(points)[0], list(points)[-1]
    assert float(graded.rows["edited"][first_test]) == 0
    assert float(graded.rows["deleted"][last_test]) == 0
    assert all(row["max_score"] == graded.rows["reference"]["max_score"] for row in graded.rows.values())


def test_feedback_explains_what_happened(graded):
    for student, status in EXPECTED_STATUS.items():
        page = graded.root / "grading" / "feedback" / student / LAB / f"{LAB}.html"
        text = page.read_text(encoding="utf-8")
        assert "Grading report" in text and f"Status: {status}" in text, student
        if student in EXPLANATION:
            assert EXPLANATION[student] in text, (student, graded.rows[student]["notes"])


def test_huge_output_is_cut(graded):
    autograded = graded.root / "grading" / "autograded" / "huge" / LAB / f"{LAB}.ipynb"
    assert autograded.stat().st_size < 2 * 2**20


def test_course_files_and_other_grades_are_intact(graded):
    assert graded.after == graded.before
    assert not (graded.root / "owned.txt").exists()
    assert graded.later_rows == graded.first_rows
    assert "grading 13 submissions" in graded.autograde  # the first batch was not graded again


def test_generate_check_flags_a_stale_release(tmp_path, monkeypatch, capsys):
    from nngrade.cli import main

    for part in (Path("nbgrader_config.py"), Path("solutions") / LAB):
        copy = shutil.copytree if (REPO / part).is_dir() else shutil.copyfile
        (tmp_path / part).parent.mkdir(parents=True, exist_ok=True)
        copy(REPO / part, tmp_path / part)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NNGRADE_COURSE_DIR", str(tmp_path / "grading"))  # restored afterwards
    monkeypatch.setenv("PATH", os.environ.get("PATH", ""))

    def generate(*args: str) -> tuple[int, str]:
        code = main(["generate", *args])
        return code, capsys.readouterr().out

    assert generate() == (0, f"labs/{LAB}: written\n")
    release = tmp_path / "labs" / LAB / f"{LAB}.ipynb"
    release.write_text(release.read_text().replace("# YOUR CODE HERE", "# edited by hand"))
    code, out = generate("--check")
    assert code == 1 and f"{LAB}/{LAB}.ipynb: content differs" in out, out
    assert generate() == (0, f"labs/{LAB}: written\n")
    code, out = generate("--check")
    assert code == 0 and "up to date" in out, out
    assert not (tmp_path / "grading").exists()  # generating never touches the course directory
