"""Scores of one submission, computed by nngrade from the executed notebook and the lab's own
cell definitions, never from what the grader process's gradebook says.

Each graded cell is taken as the *release* defines it (grade_id, points, test or written
answer), whatever flags the submitted notebook carries:
- a hidden test scores its points when its cell ran without an error output (output on
  stderr, such as a debug print or a warning, does not fail it), 0 when it has an error,
  was not run or is missing; nbgrader's partial credit (a number as the cell's result) is
  kept, clamped to the points;
- a written answer (or any cell graded by hand) is left for the instructor: no automatic
  score, unless it is still the blank cell of the release, which scores 0 (nbgrader's rule).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from nbformat import NotebookNode
from nbgrader.utils import compute_checksum, determine_grade


@dataclass(frozen=True)
class CellDef:
    """A graded cell as the release defines it."""

    grade_id: str
    points: float
    test: bool  # an autograded test (a locked code cell, not an answer)
    checksum: str  # of the release's cell (a blank answer)


def definitions(release: NotebookNode) -> dict[str, CellDef]:
    """The graded cells of one release notebook."""
    cells = {}
    for cell in release.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade"):
            continue
        test = cell.cell_type == "code" and not meta.get("solution")
        cells[meta["grade_id"]] = CellDef(meta["grade_id"], float(meta.get("points", 0)), test,
                                          meta.get("checksum") or compute_checksum(cell))
    return cells


def score(cell: NotebookNode | None, definition: CellDef) -> float | None:
    """The automatic score of one executed cell (None: to be graded by hand)."""
    if cell is None:
        return 0.0 if definition.test else None
    if not definition.test:
        blank = compute_checksum(_as_defined(cell, definition, solution=True)) == definition.checksum
        return 0.0 if blank else None
    if cell.cell_type != "code":
        return 0.0
    ran = _as_defined(cell, definition, solution=False)
    ran.outputs = [o for o in cell.get("outputs", [])
                   if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    points, _ = determine_grade(ran)
    return min(max(float(points or 0.0), 0.0), definition.points)


def _as_defined(cell: NotebookNode, definition: CellDef, solution: bool) -> NotebookNode:
    ran = copy.deepcopy(cell)
    meta = ran.metadata.setdefault("nbgrader", {})
    meta.update(grade=True, solution=solution, grade_id=definition.grade_id,
                points=definition.points, checksum=definition.checksum)
    return ran


def notebook_scores(executed: NotebookNode, release: NotebookNode) -> dict[str, float | None]:
    """grade_id -> automatic score, for every graded cell of the release."""
    found: dict[str, NotebookNode] = {}
    for cell in executed.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id and grade_id not in found:
            found[grade_id] = cell
    return {gid: score(found.get(gid), d) for gid, d in definitions(release).items()}
