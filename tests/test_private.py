"""Hidden tests kept out of what students get: solutions in a private folder that
`generate` and `autograde` use, and `nngrade bundle`, the student course without them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from grading_cases import Lab, write

from nngrade.bundle import EXCLUDED, bundle, leaks, secret_lines
from nngrade.course import SOLUTIONS_ENV, Course, CourseError

REPO = Path(__file__).resolve().parents[1]
LAB = "backprop-minifw"
pytestmark = pytest.mark.skipif(not (REPO / "solutions" / LAB).is_dir(), reason=f"solutions/{LAB} is missing")


def nngrade(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in (SOLUTIONS_ENV, "NNGRADE_COURSE_DIR")}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return subprocess.run([sys.executable, "-m", "nngrade", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=1200, check=False)


@pytest.fixture
def public(tmp_path) -> Path:
    """A repository as published: the config and the released lab, no solutions/."""
    root = tmp_path / "public"
    (root / "labs").mkdir(parents=True)
    shutil.copyfile(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(REPO / "labs" / LAB, root / "labs" / LAB)
    return root


def test_solutions_are_found_outside_the_repository(public, tmp_path, monkeypatch):
    monkeypatch.delenv(SOLUTIONS_ENV, raising=False)  # restored after the test, as is
    monkeypatch.delenv("NNGRADE_COURSE_DIR", raising=False)  # what Course.config() sets
    private = tmp_path / "private"
    shutil.copytree(REPO / "solutions" / LAB, private / LAB)
    course = Course.locate(tmp_path / "grading", start=public, solutions=private)
    assert course.solutions == private and course.labs() == [LAB]
    config = course.config()
    assert config.CourseDirectory.source_directory == str(private)  # what nbgrader reads
    monkeypatch.delenv(SOLUTIONS_ENV)  # config() set it for nbgrader; it would win below
    shutil.copytree(REPO / "solutions" / LAB, tmp_path / "grading" / "solutions" / LAB)
    assert Course.locate(tmp_path / "grading", start=public).solutions == tmp_path / "grading" / "solutions"
    with pytest.raises(CourseError, match="not a folder"):
        Course.locate(tmp_path / "grading", start=public, solutions=tmp_path / "nowhere")


def test_generate_checks_labs_against_private_solutions(public, tmp_path):
    shutil.copytree(REPO / "solutions" / LAB, tmp_path / "private" / LAB)
    done = nngrade(public, "--course-dir", str(tmp_path / "grading"), "--solutions",
                   str(tmp_path / "private"), "generate", "--check")
    assert done.returncode == 0 and "labs/ is up to date (1 labs)" in done.stdout, done.stdout + done.stderr
    assert not (public / "solutions").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="nngrade autograde needs fork and rlimits")
def test_autograde_runs_the_private_hidden_tests(public, tmp_path):
    """The private copy's hidden tests differ (one always fails): the grade shows they ran."""
    private = tmp_path / "grading" / "solutions"
    shutil.copytree(REPO / "solutions" / LAB, private / LAB)
    path = private / LAB / f"{LAB}.ipynb"
    nb = nbformat.read(path, as_version=4)
    test = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_relu")
    test.source = test.source.replace("### END HIDDEN TESTS", "assert False, 'private'\n### END HIDDEN TESTS")
    nbformat.write(nb, path)
    write(tmp_path / "downloads" / "alice" / LAB / f"{LAB}.ipynb", Lab(REPO, LAB).reference())
    for args in (["collect", str(tmp_path / "downloads")], ["autograde", "--cell-timeout", "120"], ["export"]):
        done = nngrade(public, "--course-dir", str(tmp_path / "grading"), *args)
        assert done.returncode == 0, done.stdout + done.stderr
    rows = (tmp_path / "grading" / "grades.csv").read_text().splitlines()
    header, row = rows[0].split(","), rows[1].split(",")
    scores = dict(zip(header, row))
    assert float(scores["test_relu"]) == 0.0 and float(scores["test_sigmoid"]) == 2.0


def test_bundle_leaves_out_solutions_and_checks_for_hidden_tests(tmp_path):
    course = Course(root=REPO, course_dir=tmp_path / "grading")
    kept, left = bundle(course, tmp_path / "student-course")
    out = tmp_path / "student-course"
    assert (out / "labs" / LAB / f"{LAB}.ipynb").is_file() and (out / "minifw").is_dir()
    assert (out / "README.md").is_file() and (out / "pyproject.toml").is_file()
    assert not (out / "solutions").exists() and any(f.startswith("solutions/") for f in left)
    assert all(not f.startswith(tuple(e + "/" for e in EXCLUDED)) for f in kept)
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == sorted(kept)
    assert not leaks(out, written, secret_lines(course))  # the check itself, on what was written
    all_text = "\n".join((out / f).read_text(errors="replace") for f in written)
    source = nbformat.read(REPO / "solutions" / LAB / f"{LAB}.ipynb", as_version=4)
    hidden = [c.source.split("### BEGIN HIDDEN TESTS")[1] for c in source.cells if "BEGIN HIDDEN" in c.source]
    assert hidden and not any(block.strip()[:200] in all_text for block in hidden)

    archive = tmp_path / "student-course.zip"
    bundle(course, archive)
    with zipfile.ZipFile(archive) as z:
        assert sorted(n.split("/", 1)[1] for n in z.namelist() if not n.endswith("/")) == sorted(kept)
    with pytest.raises(CourseError, match="exists"):
        bundle(course, archive)


def test_bundle_refuses_a_file_that_gives_hidden_tests_away(tmp_path):
    root = tmp_path / "repo"
    for part in ("nbgrader_config.py", f"solutions/{LAB}", f"labs/{LAB}", "README.md"):
        (root / part).parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if (REPO / part).is_dir() else shutil.copyfile)(REPO / part, root / part)
    source = (REPO / "solutions" / LAB / f"{LAB}.ipynb").read_text()
    (root / "notes").mkdir()
    (root / "notes" / "copy.ipynb").write_text(source)  # a stray copy of the solutions
    hidden = next(c.source for c in nbformat.reads(source, as_version=4).cells if "BEGIN HIDDEN" in c.source)
    (root / "notes" / "tests.py").write_text(hidden.split("### BEGIN HIDDEN TESTS")[1])
    course = Course(root=root, course_dir=tmp_path / "grading")
    with pytest.raises(CourseError) as error:
        bundle(course, tmp_path / "out")
    assert "notes/copy.ipynb: a notebook with" in str(error.value)
    assert "notes/tests.py:" in str(error.value) and "hidden-test lines" in str(error.value)
    assert not (tmp_path / "out").exists()
    kept, _ = bundle(course, tmp_path / "out", exclude=("notes",))
    assert "README.md" in kept and not any(k.startswith("notes/") for k in kept)
