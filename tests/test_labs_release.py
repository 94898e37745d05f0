"""labs/ is exactly what `nngrade generate` makes from solutions/: regenerated into a
temporary folder and compared byte for byte, so a stale release, a hand edit, or a solution
or hidden test leaking into labs/ fails here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LEAKS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


def test_committed_labs_match_the_solutions(tmp_path):
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    result = subprocess.run(
        [sys.executable, "-m", "nngrade", "--course-dir", str(tmp_path / "grading"), "generate", "--check"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", sorted((REPO / "labs").rglob("*.ipynb")), ids=lambda p: p.parent.name)
def test_no_solution_or_hidden_test_in_labs(path):
    text = path.read_text(encoding="utf-8")
    assert not [marker for marker in LEAKS if marker in text], f"{path} contains solution or hidden test markers"
