"""`nngrade validate`: a student's check before handing in, with an exit status.

nbgrader's Validator runs the notebook on a fresh kernel and finds the test cells that fail
and the read-only cells that were changed; `nbgrader validate` prints them but always exits
0. Here the result is a short summary (test id, points, the error's last line) and a
status: 0 when every visible test passes, 1 otherwise. When the repository's released lab
is at hand, a notebook whose nbgrader metadata was dropped is reported too (the grader
rebuilds it, but the student should know).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.validator import Validator
from traitlets.config import Config

from .course import Course, CourseError
from .repair import lab_score, needs_repair

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class Validation:
    notebook: Path
    tests: int = 0  # graded cells: tests and written answers
    failed: list[str] = field(default_factory=list)  # one line per failing test
    changed: list[str] = field(default_factory=list)  # read-only cells that were edited
    problems: list[str] = field(default_factory=list)  # the notebook itself

    @property
    def ok(self) -> bool:
        return not (self.failed or self.changed or self.problems)

    def summary(self) -> str:
        lines = [f"{self.notebook.name}: " + (
            f"all {self.tests} graded cells pass" if self.ok else
            f"{max(0, self.tests - len(self.failed))} of {self.tests} graded cells pass")]
        lines += [f"  problem: {p}" for p in self.problems]
        lines += [f"  FAILED {f}" for f in self.failed]
        lines += [f"  CHANGED {c}" for c in self.changed]
        if not self.ok:
            lines.append("Fix these, save, and run `nngrade validate` again before handing in.")
        return "\n".join(lines)


def _first_line(source: str) -> str:
    line = next((s.strip() for s in source.splitlines() if s.strip()), "")
    return line if len(line) <= 60 else line[:57] + "..."


def _release_for(nb: nbformat.NotebookNode, path: Path) -> nbformat.NotebookNode | None:
    """The released lab this notebook is (by name, else by content), if the course is here."""
    try:
        course = Course.locate(start=path.parent)
    except CourseError:
        return None
    releases = {p.stem: p for p in course.labs_dir.glob("*/*.ipynb")}
    if path.stem in releases:
        return nbformat.read(releases[path.stem], as_version=4)
    scored = sorted(((lab_score(nb, nbformat.read(p, as_version=4)), p) for p in releases.values()),
                    reverse=True)
    return nbformat.read(scored[0][1], as_version=4) if scored and scored[0][0] >= 0.5 else None


def validate(path: Path, cell_timeout: int = 300) -> Validation:
    """Run the notebook and check its tests (see the module docstring)."""
    result = Validation(path)
    try:
        nb = nbformat.read(path, as_version=4)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, nbformat.ValidationError) as error:
        result.problems.append(f"cannot be read as a notebook ({str(error).splitlines()[0][:200]})")
        return result
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    result.tests = len(graded)
    release = _release_for(nb, path)
    if release is not None and needs_repair(nb, release):
        result.problems.append(
            "some cells lost their nbgrader metadata (an editor dropped it, or they were pasted "
            "into a new notebook): the grader will try to match them to the lab by content; to "
            "be safe, copy your answers into a fresh copy of the lab")
    if not graded:
        result.problems.append("no test cells found: is this the lab's notebook?")
        return result
    config = Config()
    config.Execute.timeout = cell_timeout
    config.Execute.allow_errors = True
    try:
        found = Validator(config=config).validate(str(path))
    except Exception as error:  # noqa: BLE001 (the kernel or nbconvert failed: say what)
        result.problems.append(f"the notebook could not be run ({type(error).__name__}: {error})")
        return result
    for cell in found.get("type_changed", []):
        result.changed.append(f"a cell changed from {cell['old_type']} to {cell['new_type']}: "
                              f"{_first_line(cell['source'])}")
    for cell in found.get("changed", []):
        result.changed.append(f"a read-only cell was edited: {_first_line(cell['source'])}")
    unmatched = list(graded)  # failed cells come in notebook order; blank answers share their text
    for cell in found.get("failed", []):
        original = next((c for c in unmatched if c.source.strip() == cell["source"].strip()), None)
        if original is not None:
            unmatched.remove(original)
        meta = original.metadata["nbgrader"] if original is not None else {}
        message = [s for s in _ANSI.sub("", cell.get("raw_error", "")).splitlines() if s.strip()]
        kind = "written answer " if original is not None and original.cell_type == "markdown" else ""
        where = f"{kind}{meta.get('grade_id', _first_line(cell['source']))} ({meta.get('points', '?')} points)"
        last = message[-1].strip().rstrip(":")[:200] if message else "failed"
        result.failed.append(f"{where}: {last}")
    return result
