"""End to end, the other ways to run `nngrade autograde` on backprop-minifw: without the
sandbox (the guard and the integrity probe alone), refused without bubblewrap, a batch killed
half-way that resumes; and `generate --check`."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from grading_cases import (
    FILL_CWD,
    FORKS,
    LENIENT_NUMPY,
    Lab,
    appended,
    marked_processes,
    prepended,
    stderr_debug,
    tampering,
    write,
    wrong_answers,
)
from grading_course import LAB, LIMITS, MARKS, REPO, course_copy, digests, gradebook_rows, nngrade

from nngrade.sandbox import bwrap_problem

pytestmark = MARKS
sandboxed = pytest.mark.skipif(bool(bwrap_problem()), reason=f"no sandbox here: {bwrap_problem()} "
                               "(CI installs bubblewrap)")


def test_unsandboxed_mode_guards_files_and_checks_the_kernel(tmp_path):
    """--unsafe-no-sandbox: writes outside the submission are undone and graded tampered,
    the kernel's machinery is still checked, and a fork bomb and a disk filler are stopped."""
    root = tmp_path / "repo"
    lab = course_copy(root)
    targets = {"gradebook": root / "grading" / "gradebook.db",
               "solution": root / "solutions" / LAB / f"{LAB}.ipynb", "repo": root}
    cases = {"reference": Lab.reference, "tamper": tampering(targets),
             "lenient": prepended(LENIENT_NUMPY, wrong_answers), "debug": stderr_debug,
             "forks": appended(0, FORKS), "fillfolder": appended(0, FILL_CWD)}
    for name, case in cases.items():
        write(tmp_path / "downloads" / name / LAB / f"{LAB}.ipynb", case(lab))
    nngrade(root, "collect", str(tmp_path / "downloads"))
    before = digests(root / "solutions", root / "nbgrader_config.py")
    out = nngrade(root, "autograde", "-j", "2", "--unsafe-no-sandbox", "--max-processes", "32",
                  "--max-disk", "64", *LIMITS).stdout
    assert marked_processes("NNGRADE_FORKS") == []
    assert "WARNING: --unsafe-no-sandbox" in out
    records = [json.loads(p.read_text()) for p in (root / "grading" / "status").rglob("*.json")]
    by_student = {rec["student"]: rec for rec in records}
    assert {s: r["status"] for s, r in by_student.items()} == {
        "reference": "ok", "tamper": "tampered", "lenient": "tampered", "debug": "ok",
        "forks": "too many processes", "fillfolder": "disk full"}
    assert not any(r["sandboxed"] for r in by_student.values())
    assert digests(root / "solutions", root / "nbgrader_config.py") == before
    assert not (root / "owned.txt").exists()


def test_autograde_refuses_to_run_without_the_sandbox(tmp_path):
    root = tmp_path / "repo"
    lab = course_copy(root)
    write(tmp_path / "downloads" / "alice" / LAB / f"{LAB}.ipynb", lab.reference())
    nngrade(root, "collect", str(tmp_path / "downloads"))
    env = dict(os.environ, PATH=os.path.dirname(sys.executable),
               PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    run = subprocess.run([sys.executable, "-m", "nngrade", "--course-dir", str(root / "grading"),
                          "autograde"], cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 2 and "--unsafe-no-sandbox" in run.stderr, run.stderr
    assert not (root / "grading" / "status").exists()


@sandboxed
def test_a_killed_batch_keeps_its_grades_and_resumes(tmp_path):
    root = tmp_path / "repo"
    lab = course_copy(root)
    students = [f"student{i}" for i in range(3)]
    for student in students:
        write(tmp_path / "downloads" / student / LAB / f"{LAB}.ipynb", lab.reference())
    nngrade(root, "collect", str(tmp_path / "downloads"))
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    batch = subprocess.Popen([sys.executable, "-m", "nngrade", "--course-dir", str(root / "grading"),
                              "autograde", *LIMITS], cwd=root, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    status = root / "grading" / "status"
    deadline = time.monotonic() + 600
    while not list(status.rglob("*.json")) and time.monotonic() < deadline and batch.poll() is None:
        time.sleep(0.2)
    batch.send_signal(signal.SIGKILL)
    batch.wait()
    kept = {p.parent.name for p in status.rglob("*.json")}
    assert kept and len(kept) < len(students)
    out = nngrade(root, "autograde", "-j", "2", *LIMITS).stdout
    assert f"{len(kept)} submissions already graded" in out
    assert {p.parent.name for p in status.rglob("*.json")} == set(students)
    assert gradebook_rows(root, students).keys() == set(students)
    # the first run started without a gradebook; the second backed up the first one's
    assert len(list((root / "grading" / "backups").glob("gradebook-*.db"))) == 1


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
