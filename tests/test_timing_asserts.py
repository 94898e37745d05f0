"""Timing asserts in notebooks: tagged, and stable under repetition.

A code cell that asserts on a measured time carries the cell tag ``timing`` (in a source:
``# %% tags=["timing"]``). The fast test below finds untagged ones; the ``timing``-marked test,
which the default run skips (``make test``) and CI runs on its own (``.ci/run``), executes every
notebook with a tagged cell and then runs its tagged cells again, so that each timing assert
passes 5 times in a row on the same machine.
"""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for folder in ("lessons", "solutions") for p in (ROOT / folder).rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)
TIMERS = {"timeit", "repeat", "perf_counter", "perf_counter_ns", "monotonic", "process_time"}
RUNS = 5


def code_cells(path: Path) -> list[dict]:
    return [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]


def parse(source: str) -> ast.Module:
    """A code cell's syntax tree; IPython magics and shell lines (`%`, `!`) are left out."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    return ast.parse("\n".join(lines))


def calls_timer(node: ast.AST, timing_functions: set[str]) -> bool:
    """Does `node` call a clock (`timeit.timeit`, `time.perf_counter`, ...) or a function that does?"""
    for call in (n for n in ast.walk(node) if isinstance(n, ast.Call)):
        name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", None)
        if name in TIMERS or name in timing_functions:
            return True
    return False


def timing_asserts(cells: list[dict]) -> list[int]:
    """Indices (among `cells`) of the code cells whose asserts depend on a measured time.

    A name is *timed* when a statement that calls a clock, or a function defined in the notebook
    that calls one, assigns it; an assert that reads a timed name is a timing assert.
    """
    trees = [parse("".join(c["source"])) for c in cells]
    timing_functions: set[str] = set()
    for _ in range(3):  # functions that call functions that time
        timing_functions |= {f.name for tree in trees for f in ast.walk(tree)
                             if isinstance(f, ast.FunctionDef) and calls_timer(f, timing_functions)}
    found = []
    for index, tree in enumerate(trees):
        timed = {t.id for node in ast.walk(tree) if isinstance(node, (ast.Assign, ast.AugAssign, ast.With))
                 and calls_timer(node, timing_functions)
                 for t in ast.walk(node) if isinstance(t, ast.Name) and isinstance(t.ctx, ast.Store)}
        if any(isinstance(n, ast.Name) and n.id in timed for a in ast.walk(tree) if isinstance(a, ast.Assert)
               for n in ast.walk(a.test)):
            found.append(index)
    return found


def tagged(cell: dict) -> bool:
    return "timing" in cell.get("metadata", {}).get("tags", [])


TIMED_NOTEBOOKS = [p for p in NOTEBOOKS if any(tagged(c) for c in code_cells(p))]


def test_timing_asserts_found():
    cells = [{"source": s} for s in (
        "import time\nt0 = time.perf_counter()\nwork()\nt = time.perf_counter() - t0\nassert t < 1",
        "def best(fn):\n    return min(timeit.repeat(fn, number=5))\nfast = best(f)\nassert fast > 0",
        "x = 1\nassert x == 1",
        "elapsed = time.perf_counter()\nassert result == 3",
        "%timeit f()\nassert f() == 1",
    )]
    assert timing_asserts(cells) == [0, 1]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_timing_asserts_are_tagged(path):
    cells = code_cells(path)
    untagged = [i for i in timing_asserts(cells) if not tagged(cells[i])]
    assert not untagged, (f"{path.name}: code cells {untagged} assert on a measured time but lack the tag "
                          f"`timing` (source header `# %% tags=[\"timing\"]`), so tests/test_timing_asserts.py "
                          f"does not repeat them")


def test_timing_notebooks_exist():
    assert ROOT / "lessons" / "01-numpy" / "06-losses-optimizers.ipynb" in TIMED_NOTEBOOKS


@pytest.mark.timing
@pytest.mark.parametrize("path", TIMED_NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_timing_asserts_hold_5_times_in_a_row(path):
    """The notebook runs top to bottom, then its timing cells run 4 more times in the same kernel."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        for _ in range(RUNS - 1):
            for index, cell in enumerate(nb.cells):
                if cell.cell_type == "code" and tagged(cell):
                    client.execute_cell(cell, index)  # raises CellExecutionError, with the assert's message
