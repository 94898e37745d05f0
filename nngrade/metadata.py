"""A submission's nbgrader metadata made to agree with the lab's release before it is graded.

Jupyter copies a cell's metadata with the cell, so a student who pastes a copy of a test or
an answer cell hands in two cells with one grade_id; an editor, a platform or a student can
also change a cell's flags or points, or its id. nbgrader 0.9.6 stops on such a notebook
(a KeyError, a grade cell it does not know), and correct work would score 0. So, before
grading, every cell whose grade_id the release has gets the release's nbgrader metadata
(points and flags as the lab defines them); of several cells with one id, the last keeps
it; every other cell loses its nbgrader metadata and runs as the student's own cell. Scores never depend on
these flags (nngrade.verdict); this only keeps nbgrader from stopping.
"""

from __future__ import annotations

import copy

from nbformat import NotebookNode

from .diagnose import cell_label


def _grade_id(cell: NotebookNode) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta.get("grade_id") if isinstance(meta, dict) else None


def conform(nb: NotebookNode, release: NotebookNode) -> list[str]:
    """Make the nbgrader metadata of `nb` the release's, in place; notes on what changed."""
    lab = {_grade_id(c): c for c in release.cells if _grade_id(c)}
    # The last cell with an id keeps it: a test then runs as late as it can, after the answers
    # (nbgrader restores its text whatever it holds), and an answer is the student's last copy.
    keep = {_grade_id(c): i for i, c in enumerate(nb.cells) if _grade_id(c) in lab}
    notes = []
    for index, cell in enumerate(nb.cells):
        if "nbgrader" not in cell.get("metadata", {}):
            continue
        grade_id = _grade_id(cell)
        if keep.get(grade_id) == index:
            if cell.metadata.nbgrader != lab[grade_id].metadata.nbgrader:
                cell.metadata.nbgrader = copy.deepcopy(lab[grade_id].metadata.nbgrader)
            continue
        del cell.metadata["nbgrader"]
        why = (f"a second copy of the lab's cell `{grade_id}`" if grade_id in lab else
               f"the id `{grade_id}`, which is no cell of the lab" if grade_id else "incomplete metadata")
        notes.append(f"{cell_label(nb.cells, index)} carried nbgrader metadata ({why}); it was "
                     "graded as your own cell.")
    return notes
