"""The notebook harness: committed notebooks are clean and built from their sources.

Executing them is nbval's job: pytest collects every .ipynb under lessons/ and solutions/.
"""
from __future__ import annotations

import json
from collections import Counter
from itertools import combinations
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for folder in ("lessons", "solutions", "labs") for p in (ROOT / folder).rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)


def test_there_are_notebooks():
    assert ROOT / "lessons" / "00-setup-check.ipynb" in NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_committed_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for i, cell in enumerate(nb["cells"]):
        assert not cell.get("outputs"), f"{path.name}: cell {i} has outputs; clear them before committing"
        assert cell.get("execution_count") is None, f"{path.name}: cell {i} has an execution count"


def test_notebooks_match_their_sources():
    """Every notebook under lessons/ and solutions/ is what its source under sources/ builds."""
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_notebooks.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def shared_content_lines(a: str, b: str) -> int:
    """Identical non-blank lines two texts share (as multisets), not counting lines without content:
    comment markers, cell headers, nbgrader region markers, lone brackets and quotes."""
    def lines(text: str) -> Counter:
        return Counter(s for s in (line.strip() for line in text.splitlines())
                       if len(s.strip("#").strip()) > 3 and not s.startswith("# %%") and "### BEGIN" not in s
                       and "### END" not in s)
    return sum((lines(a) & lines(b)).values())


def test_no_two_sources_repeat_each_other():
    sources = sorted((ROOT / "sources").rglob("*.py"))
    texts = {p: p.read_text(encoding="utf-8") for p in sources}
    worst = max((shared_content_lines(texts[a], texts[b]), a.name, b.name) for a, b in combinations(sources, 2))
    assert worst[0] <= 100, f"{worst[1]} and {worst[2]} share {worst[0]} identical lines: write shared cells once"


def test_shared_content_lines():
    assert shared_content_lines("# %%\nx = compute(1)\n#\n\nx = compute(1)", "x = compute(1)\n# %%") == 1
