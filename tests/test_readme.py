"""The README's minifw example runs as printed and reaches what a reader would expect."""
from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_minifw_example_runs(capsys):
    code = re.search(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S).group(1)
    namespace: dict = {}
    exec(compile(code, str(README), "exec"), namespace)
    assert namespace["model"].evaluate(namespace["X_test"], namespace["y_test"])["accuracy"] > 0.95
    assert "accuracy" in capsys.readouterr().out
