"""The labs' hidden tests check what a submission did, not what it says it did: a compare_models
that reports numbers of its own (without training, or with a better accuracy than its models
have) fails test_compare_models. Run on the PyTorch track's reference, its answer cells and
that test cell only (the TensorFlow track's cell is the same check with Keras's forward pass)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
LAB = REPO / "solutions" / "classification-pytorch" / "classification-pytorch.ipynb"
TEST = "test_compare_models"

# Trains nothing: the numbers a student could copy from the model answer.
MADE_UP = '''
_honest_compare_models = compare_models


def compare_models(X_train, y_train, X_test, y_test, epochs=10, seed=0):
    return {"softmax": {"accuracy": 0.9, "losses": [0.5] * epochs},
            "mlp": {"accuracy": 0.95, "losses": [0.1] * epochs}}
'''
# Trains both models as asked, then reports a better accuracy than they have.
INFLATED = '''
def compare_models(*args, **kwargs):
    results = _honest_compare_models(*args, **kwargs)
    for r in results.values():
        r["accuracy"] = min(1.0, r["accuracy"] + 0.05)
    return results
'''


def _grade(cell: nbformat.NotebookNode) -> dict:
    return cell.metadata.get("nbgrader", {})


def test_compare_models_is_checked_against_the_trained_models():
    nb = nbformat.read(LAB, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    test = next(c for c in code if _grade(c).get("grade_id") == TEST)
    setup = [c for c in code[:code.index(test)] if not _grade(c).get("grade")]  # answers and given cells, no tests
    nb.cells = setup + [copy.deepcopy(test), nbformat.v4.new_code_cell(MADE_UP), copy.deepcopy(test),
                        nbformat.v4.new_code_cell(INFLATED), copy.deepcopy(test)]
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(LAB.parent)}}).execute()
    honest, made_up, inflated = (nb.cells[i] for i in (len(setup), len(setup) + 2, len(setup) + 4))

    def error(cell: nbformat.NotebookNode) -> str:
        return "".join(f"{o.ename}: {o.evalue}" for o in cell.outputs if o.output_type == "error")

    assert [error(c) for c in setup if error(c)] == [], "the reference's own cells must run"
    assert error(honest) == "", json.dumps(honest.outputs)[:2000]
    assert "compare_models must train its two models with train_classifier, it trained 0" in error(made_up)
    assert "compare_models returned accuracy" in error(inflated) and "its trained model has" in error(inflated)
