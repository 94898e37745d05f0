"""The student-facing course: the repository's tracked files without the instructor's.

Left out: `EXCLUDED` folders (the solutions, the sources of the solutions, the course
directory) and, as a check that nothing slipped through, every file holding lines of a
hidden test (`MIN_LEAKED_LINES` different ones) or a notebook holding nbgrader solution or
hidden-test regions; those are listed and stop the bundle unless the instructor leaves them
out too (`--exclude`).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path, PurePosixPath

import nbformat

from .course import Course, CourseError
from .feedback import hidden_regions

# The solutions, the sources they are built from, the course directory.
EXCLUDED = ("solutions", "sources/solutions", "grading")
_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
# Hidden-test lines shorter than this (`else:`, `)`) say nothing on their own, and a file
# must hold this many different ones to count (a lesson may share a line such as
# `torch.manual_seed(1)` with a test).
MIN_SECRET_CHARS = 16
MIN_LEAKED_LINES = 3


def tracked_files(root: Path) -> list[str]:
    """The files git tracks (with those staged), or every file outside .git and .venv."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached"], cwd=root, capture_output=True,
                             check=True).stdout
        files = [f for f in out.decode().split("\0") if f]
        if files:
            return sorted(f for f in files if (root / f).is_file())
    except (OSError, subprocess.CalledProcessError):
        pass
    skip = {".git", ".venv", "__pycache__", ".ipynb_checkpoints", ".pytest_cache"}
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and not skip & set(p.relative_to(root).parts))


def secret_lines(course: Course) -> set[str]:
    """Lines of the hidden tests that appear nowhere in the released labs (stripped)."""
    released: set[str] = set()
    for path in course.labs_dir.rglob("*.ipynb"):
        released |= {line.strip() for c in nbformat.read(path, as_version=4).cells
                     for line in c.source.splitlines()}
    secrets: set[str] = set()
    for lab in course.labs():
        for path in (course.solutions / lab).glob("*.ipynb"):
            for cell in nbformat.read(path, as_version=4).cells:
                lines = cell.source.split("\n")
                for first, last in hidden_regions(cell.source):
                    secrets |= {line.strip() for line in lines[first:last - 1]}
    return {line for line in secrets - released if len(line) >= MIN_SECRET_CHARS}


def _excluded(path: str, exclude: tuple[str, ...]) -> bool:
    parts = PurePosixPath(path).parts
    return any(parts[: len(PurePosixPath(e).parts)] == PurePosixPath(e).parts for e in exclude)


def leaks(root: Path, files: list[str], secrets: set[str]) -> list[str]:
    """'path: what' for each file that would give a hidden test or a solution away."""
    found = []
    for name in files:
        try:
            text = (root / name).read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if name.endswith(".ipynb"):
            try:
                cells = nbformat.reads(text, as_version=4).cells
            except (ValueError, KeyError, TypeError, AttributeError, nbformat.ValidationError):
                cells = []
            marked = sorted({m for c in cells for m in _MARKERS if m in c.source})
            if marked:
                found.append(f"{name}: a notebook with {', '.join(marked)}")
                continue
        hits = sorted(line for line in secrets if line in text)
        if len(hits) >= MIN_LEAKED_LINES:
            found.append(f"{name}: {len(hits)} hidden-test lines, e.g. {hits[0]!r}")
    return found


def bundle(course: Course, out: Path, exclude: tuple[str, ...] = ()) -> tuple[list[str], list[str]]:
    """Write the student-facing course to `out` (a new folder, or a .zip file).

    Returns (files written, files left out). Fails, writing nothing, if a file that would
    be written holds a hidden test or a solution."""
    out = out.resolve()
    if out.exists():
        raise CourseError(f"expected a new folder or file to write the bundle to; {out} exists")
    if out.is_relative_to(course.root) and not out.is_relative_to(course.course_dir):
        raise CourseError(f"expected the bundle outside the repository (or in the course "
                          f"directory); got {out}")
    leave_out = EXCLUDED + tuple(exclude)
    files = tracked_files(course.root)
    kept = [f for f in files if not _excluded(f, leave_out)]
    left = [f for f in files if _excluded(f, leave_out)]
    found = leaks(course.root, kept, secret_lines(course))
    if found:
        raise CourseError("expected no solution or hidden test in the student course; these files "
                          "would give them away (fix them, or leave them out with --exclude):\n  "
                          + "\n  ".join(found))
    with tempfile.TemporaryDirectory(prefix="nngrade-bundle-") as tmp:
        folder = Path(tmp) / out.stem
        for name in kept:
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(course.root / name, folder / name)
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix == ".zip":
            shutil.make_archive(str(out.with_suffix("")), "zip", root_dir=tmp, base_dir=out.stem)
        else:
            shutil.copytree(folder, out)
    return kept, left
