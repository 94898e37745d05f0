"""PyTorch and TensorFlow twins mirror each other.

Every `*-pytorch.ipynb` under lessons/, solutions/ and labs/ has a `*-tensorflow.ipynb` twin
(and the other way round; the same path with the suffix swapped, in folder names too) with the
same `## ` section headings in the same order, so a student can read either and an instructor
can compare them. While a twin does not exist yet the pair is skipped; once both exist the
headings must match.
"""
from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("lessons", "solutions", "labs")
SUFFIXES = ("-pytorch", "-tensorflow")


def section_headings(cells: list[dict]) -> list[str]:
    """The `## ` headings of the markdown cells, in order (not `#`, not `###`, not inside ``` fences)."""
    headings = []
    for cell in cells:
        if cell.get("cell_type") != "markdown":
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        fenced = False
        for line in source.splitlines():
            if line.lstrip().startswith(("```", "~~~")):
                fenced = not fenced
            elif not fenced and re.match(r"## (?!#)", line):
                headings.append(line[3:].strip())
    return headings


def notebook_headings(path: Path) -> list[str]:
    return section_headings(json.loads(path.read_text(encoding="utf-8"))["cells"])


def _swap(name: str, suffix: str) -> str:
    """`name` (a file or folder name) with its track suffix swapped, or unchanged if it has none."""
    stem, dot, ext = name.partition(".")
    mine, other = SUFFIXES if suffix == SUFFIXES[0] else SUFFIXES[::-1]
    return stem[: -len(mine)] + other + dot + ext if stem.endswith(mine) else name


def twin_of(path: Path) -> Path:
    """The other track's notebook: the suffix swapped in the file name and in folder names
    (nbgrader keeps each assignment in its own folder: `solutions/x-pytorch/x-pytorch.ipynb`)."""
    suffix = next((s for s in SUFFIXES if path.stem.endswith(s)), None)
    if suffix is None:
        raise ValueError(f"{path.name}: expected a name ending in -pytorch or -tensorflow")
    return path.parent.with_name(_swap(path.parent.name, suffix)) / _swap(path.name, suffix)


def _pairs() -> list[tuple[Path, Path]]:
    """(pytorch, tensorflow) paths for every notebook of either track; one of the two may be missing."""
    pairs = set()
    for folder in FOLDERS:
        for path in (ROOT / folder).rglob("*.ipynb"):
            if ".ipynb_checkpoints" in path.parts or not path.stem.endswith(SUFFIXES):
                continue
            pair = (path, twin_of(path)) if path.stem.endswith("-pytorch") else (twin_of(path), path)
            pairs.add(pair)
    return sorted(pairs)


PAIRS = _pairs()


@pytest.mark.parametrize("pytorch, tensorflow", PAIRS, ids=[str(p.relative_to(ROOT)) for p, _ in PAIRS])
def test_twins_have_the_same_section_headings(pytorch, tensorflow):
    missing = [p for p in (pytorch, tensorflow) if not p.exists()]
    if missing:
        pytest.skip(f"{missing[0].relative_to(ROOT)} does not exist yet")
    torch_headings, tf_headings = notebook_headings(pytorch), notebook_headings(tensorflow)
    assert torch_headings, f"{pytorch.name} has no '## ' section headings"
    diff = "\n".join(difflib.unified_diff(torch_headings, tf_headings, pytorch.name, tensorflow.name, lineterm=""))
    assert torch_headings == tf_headings, f"'## ' headings differ between the twins:\n{diff}"


def test_section_headings_reader():
    cells = [
        {"cell_type": "markdown", "source": "# Title\n## Objectives\ntext\n### a sub-heading"},
        {"cell_type": "code", "source": "## a comment in code"},
        {"cell_type": "markdown", "source": ["## 1. First  \n", "```\n", "## inside a fence\n", "```\n"]},
    ]
    assert section_headings(cells) == ["Objectives", "1. First"]


def test_twin_names():
    a = ROOT / "lessons" / "02-frameworks" / "01-tensors-autograd-pytorch.ipynb"
    b = a.with_name("01-tensors-autograd-tensorflow.ipynb")
    assert twin_of(a) == b and twin_of(b) == a
    c = ROOT / "solutions" / "classification-pytorch" / "classification-pytorch.ipynb"
    d = ROOT / "solutions" / "classification-tensorflow" / "classification-tensorflow.ipynb"
    assert twin_of(c) == d and twin_of(d) == c
