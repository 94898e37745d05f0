"""A copy of the course with the backprop-minifw lab in a temporary folder, and `nngrade`
run on it as an instructor would (with a secret in the environment that no kernel may see)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from grading_cases import Lab

REPO = Path(__file__).resolve().parents[1]
LAB = "backprop-minifw"
LIMITS = ["--cell-timeout", "30", "--time-limit", "300", "--memory", "1536"]
SECRET = "hunter2-instructor-token"
# every end-to-end grading file: nngrade autograde forks and sets rlimits, and grades this lab
MARKS = [
    pytest.mark.skipif(sys.platform == "win32", reason="nngrade autograde needs fork and rlimits"),
    pytest.mark.skipif(not (REPO / "solutions" / LAB).is_dir(), reason=f"solutions/{LAB} is missing"),
]


def nngrade(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run nngrade on the course copy at `root`; the result also has the process's `pid`."""
    env = dict(os.environ, INSTRUCTOR_TOKEN=SECRET)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    cmd = [sys.executable, "-m", "nngrade", "--course-dir", str(root / "grading"), *args]
    with subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        stdout, stderr = proc.communicate(timeout=1200)
    result = subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)
    result.pid = proc.pid  # type: ignore[attr-defined]
    assert result.returncode == 0 or not check, f"nngrade {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def course_copy(root: Path) -> Lab:
    for part in (Path("nbgrader_config.py"), Path("solutions") / LAB, Path("labs") / LAB):
        copy = shutil.copytree if (REPO / part).is_dir() else shutil.copyfile
        (root / part).parent.mkdir(parents=True, exist_ok=True)
        copy(REPO / part, root / part)
    return Lab(root, LAB)


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
