"""What grading a lab needs from its release, read once per batch: its notebooks, which cells
are hidden tests, and the imports and helper functions of its read-only cells (defined again
before each test, nngrade.integrity)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat

from .course import Course
from .integrity import imported_packages, lab_definitions
from .verdict import definitions

PACKAGES_PRELOADED = {"numpy", "torch"}  # imported by the probe before student code, if the lab does


@dataclass
class LabInfo:
    """What grading a lab needs from its release, taken once per batch."""

    notebooks: list[str]
    release: dict[str, nbformat.NotebookNode]
    test_cells: list[str]
    lab_code: str
    preload: list[str]


def lab_info(course: Course, release_dir: Path, lab: str) -> LabInfo:
    names = course.notebooks(lab)
    release = {n: nbformat.read(release_dir / lab / f"{n}.ipynb", as_version=4) for n in names}
    tests, readonly = [], []
    for nb in release.values():
        tests += [d.grade_id for d in definitions(nb).values() if d.test]
        readonly += [c.source for c in nb.cells if c.cell_type == "code"
                     and c.metadata.get("nbgrader", {}).get("locked")
                     and not c.metadata.get("nbgrader", {}).get("grade")]
    code = lab_definitions(readonly)
    return LabInfo(names, release, tests, code, sorted(imported_packages(code) & PACKAGES_PRELOADED))
