"""The habits of a maintained library: `ruff check .` (lint and import order) and `mypy minifw nngrade`
pass, with the configuration in pyproject.toml."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("tool, args", [("ruff", ["check", "."]), ("mypy", ["minifw"]), ("mypy", ["nngrade"])],
                         ids=["ruff", "mypy-minifw", "mypy-nngrade"])
def test_static_checks_pass(tool, args):
    if importlib.util.find_spec(tool) is None:
        pytest.skip(f"{tool} is not installed (it is pinned in the test extra: pip install -e '.[test]')")
    result = subprocess.run([sys.executable, "-m", tool, *args], cwd=ROOT, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, f"{tool} {' '.join(args)} found problems:\n{result.stdout}{result.stderr}"
