"""A submission whose nbgrader metadata an editor dropped is rebuilt on the released lab from
its content, for every lab: the release's cells, order and metadata, the student's answers."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from grading_cases import Lab
from nbformat.v4 import new_code_cell

from nngrade.repair import defined_names, lab_score, needs_repair, repair

REPO = Path(__file__).resolve().parents[1]
LABS = sorted(p.name for p in (REPO / "labs").iterdir() if (REPO / "solutions" / p.name).is_dir())
pytestmark = pytest.mark.skipif(not LABS, reason="the solutions are not in this repository")


def grade_cells(nb) -> list[tuple[str, str]]:
    return [(c.metadata["nbgrader"]["grade_id"], c.source) for c in nb.cells if "nbgrader" in c.metadata]


def stripped(nb):
    """What a metadata-dropping editor makes of it: no nbgrader metadata, no cell ids."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
        cell.pop("id", None)
    return nb


@pytest.mark.parametrize("name", LABS)
def test_stripped_notebook_with_tests_pasted_on_top_is_rebuilt(name):
    lab = Lab(REPO, name)
    reference = lab.reference()
    nb = stripped(reference)
    tests = [copy.deepcopy(nb.cells[i]) for i in lab.test_cells(reference)[:2]]
    helper = new_code_cell("def my_helper(v):\n    return 2 * v")
    nb.cells = tests + nb.cells
    nb.cells.insert(len(tests) + 3, helper)
    assert needs_repair(nb, lab.release)
    fixed = repair(nb, lab.release)
    assert grade_cells(fixed.notebook) == grade_cells(reference)
    sources = [c.source for c in fixed.notebook.cells]
    assert sources.count(helper.source) == 1  # the student's own cell is kept ...
    helper_at = sources.index(helper.source)
    assert sources[helper_at - 1] == nb.cells[len(tests) + 2].source  # ... where it was
    assert all(sources.count(t.source) == 1 for t in tests)  # pasted copies dropped
    assert "rebuilt on the lab" in fixed.notes[0] and len(fixed.notes) == 1
    assert len({c.id for c in fixed.notebook.cells}) == len(fixed.notebook.cells)


def test_answers_are_found_when_moved_or_edited():
    lab = Lab(REPO, "backprop-minifw")
    nb = stripped(lab.reference())
    answers = lab.answer_cells(lab.release)
    first, deleted, last = nb.cells[answers[0]], nb.cells[answers[2]], nb.cells[answers[-1]]
    first.source = "# my version\n" + first.source.replace("    ", "  ")
    nb.cells.remove(last)
    nb.cells.insert(0, last)  # moved to the top
    nb.cells.remove(deleted)  # one answer deleted
    fixed = repair(nb, lab.release)
    by_id = dict(grade_cells(fixed.notebook))
    release_ids = [c.metadata["nbgrader"]["grade_id"] for c in lab.release.cells if "nbgrader" in c.metadata]
    assert list(by_id) == release_ids
    assert by_id[lab.release.cells[answers[0]].metadata["nbgrader"]["grade_id"]] == first.source
    assert by_id[lab.release.cells[answers[-1]].metadata["nbgrader"]["grade_id"]] == last.source
    missing = lab.release.cells[answers[2]]
    assert by_id[missing.metadata["nbgrader"]["grade_id"]] == missing.source  # the blank stub
    assert any(f"`{min(defined_names(missing.source))}`" in note for note in fixed.notes)


def test_an_intact_notebook_is_left_alone():
    lab = Lab(REPO, "backprop-minifw")
    nb = lab.reference()
    nb.cells.pop(lab.test_cells(nb)[0])  # a deleted test is nbgrader's to restore
    assert not needs_repair(nb, lab.release)
    assert repair(nb, lab.release).notebook is nb


def test_lab_score_tells_twin_labs_apart():
    pt, tf = (Lab(REPO, f"classification-{k}") for k in ("pytorch", "tensorflow"))
    nb = stripped(pt.reference())
    assert lab_score(nb, pt.release) == 1.0
    assert lab_score(nb, tf.release) < 0.6
