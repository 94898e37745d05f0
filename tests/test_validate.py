"""`nngrade validate`, the students' check: exit status 1 and the failing tests listed when a
test fails, 0 when all pass (`nbgrader validate` exits 0 either way)."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from grading_cases import Lab, write
from nbgrader.utils import compute_checksum

from nngrade.validate import validate

REPO = Path(__file__).resolve().parents[1]
LAB = "backprop-minifw"
pytestmark = pytest.mark.skipif(not (REPO / "solutions" / LAB).is_dir(), reason=f"solutions/{LAB} is missing")


def run(path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return subprocess.run([sys.executable, "-m", "nngrade", "validate", str(path)], cwd=path.parent,
                          env=env, capture_output=True, text=True, timeout=900, check=False)


def test_blank_lab_fails_with_every_test_named(tmp_path):
    path = tmp_path / f"{LAB}.ipynb"
    write(path, Lab(REPO, LAB).blank())
    done = run(path)
    assert done.returncode == 1, done.stdout + done.stderr
    tests = Lab(REPO, LAB).test_points()
    for grade_id, points in tests.items():
        assert f"FAILED {grade_id} ({points:g} points): NotImplementedError" in done.stdout
    assert "FAILED written answer answer_softmax_shift" in done.stdout
    assert f"0 of {len(tests) + 1} graded cells pass" in done.stdout


def test_reference_passes(tmp_path):
    path = tmp_path / f"{LAB}.ipynb"
    write(path, Lab(REPO, LAB).reference())
    result = validate(path)
    assert result.ok, result.summary()
    assert result.summary().startswith(f"{LAB}.ipynb: all {result.tests} graded cells pass")


def test_lost_metadata_and_unreadable_files_fail_without_running(tmp_path):
    nb = copy.deepcopy(Lab(REPO, LAB).reference())
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
    result = validate(write_to(tmp_path / "clone", nb))
    assert not result.ok and any("lost their nbgrader metadata" in p for p in result.problems)
    bad = tmp_path / "bad.ipynb"
    bad.write_text('{"cells": [')
    assert "cannot be read as a notebook" in validate(bad).summary()


def write_to(root: Path, nb: nbformat.NotebookNode) -> Path:
    """nb as Untitled.ipynb in a copy of the repository's config and labs/ (a student clone)."""
    (root / "labs").mkdir(parents=True)
    (root / "nbgrader_config.py").write_text((REPO / "nbgrader_config.py").read_text())
    write(root / "labs" / LAB / f"{LAB}.ipynb", Lab(REPO, LAB).release)
    write(root / "Untitled.ipynb", nb)
    return root / "Untitled.ipynb"


def test_blank_written_answers_with_the_same_text_are_each_named(tmp_path):
    def cell(kind, source, grade_id, points):
        meta = {"nbgrader": {"grade": True, "solution": kind == "markdown", "locked": kind == "code",
                             "grade_id": grade_id, "points": points, "schema_version": 3, "task": False}}
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        made = make(source, metadata=meta)
        made.metadata.nbgrader["checksum"] = compute_checksum(made)  # as released: an unchanged answer
        return made

    nb = nbformat.v4.new_notebook(cells=[
        cell("markdown", "YOUR ANSWER HERE", "answer_degree", 2),
        cell("markdown", "YOUR ANSWER HERE", "answer_regularization", 3),
        cell("code", "assert 1 + 1 == 3, 'arithmetic'", "test_sum", 1),
    ])
    result = validate(write_to_plain(tmp_path / "two-answers.ipynb", nb))
    assert result.tests == 3 and "0 of 3 graded cells pass" in result.summary()
    assert [f.split(":")[0] for f in result.failed] == [
        "written answer answer_degree (2 points)", "written answer answer_regularization (3 points)",
        "test_sum (1 points)"]


def write_to_plain(path: Path, nb: nbformat.NotebookNode) -> Path:
    nbformat.write(nb, path)
    return path
