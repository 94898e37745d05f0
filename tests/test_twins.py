"""PyTorch and TensorFlow twins mirror each other.

Every `*-pytorch.ipynb` under lessons/, solutions/ and labs/ has a `*-tensorflow.ipynb` twin
(the same path with the suffix swapped, in folder names too). Under lessons/ and solutions/ both
are built from one twin source (shared cells written once, see scripts/build_notebooks.py); in
every pair the `## ` sections are the same, in the same order, and the cells the twins
share sit in the same sections in the same order, so a student can read either.
"""
from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("lessons", "solutions", "labs")
SUFFIXES = ("-pytorch", "-tensorflow")


def section_headings(cells: list[dict], level: str = "## ") -> list[str]:
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
            elif not fenced and line.startswith(level):
                headings.append(line[len(level):].strip())
    return headings


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


def _text(cell: dict) -> str:
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def sections(cells: list[dict]) -> list[tuple[str, list[str]]]:
    """(heading, texts of the cells under it) for each `## ` section, the preamble first."""
    out: list[tuple[str, list[str]]] = [("(before the first section)", [])]
    for cell in cells:
        heads = section_headings([cell])
        if cell.get("cell_type") == "markdown" and heads:
            out.append((heads[0], []))
        out[-1][1].append(_text(cell))
    return out


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("pytorch, tensorflow", PAIRS, ids=[str(p.relative_to(ROOT)) for p in [a for a, _ in PAIRS]])
def test_twins_have_the_same_structure(pytorch, tensorflow):
    missing = [p for p in (pytorch, tensorflow) if not p.exists()]
    assert not missing, f"{missing[0].relative_to(ROOT)} is missing: every twin has both tracks"
    a, b = sections(_load(pytorch)["cells"]), sections(_load(tensorflow)["cells"])
    heads_a, heads_b = [h for h, _ in a], [h for h, _ in b]
    assert len(heads_a) > 1, f"{pytorch.name} has no '## ' section headings"
    diff = "\n".join(difflib.unified_diff(heads_a, heads_b, pytorch.name, tensorflow.name, lineterm=""))
    assert heads_a == heads_b, f"sections differ between the twins:\n{diff}"
    every_b = {t for _, texts in b for t in texts}
    every_a = {t for _, texts in a for t in texts}
    for (head, texts_a), (_, texts_b) in zip(a, b):
        shared_a = [t for t in texts_a if t in every_b]
        shared_b = [t for t in texts_b if t in every_a]
        assert shared_a == shared_b, (f"section {head!r}: the cells both twins share are not in the same "
                                      f"place and order in {pytorch.name} and {tensorflow.name}")


@pytest.mark.parametrize("pytorch, tensorflow", [p for p in PAIRS if p[0].parts[len(ROOT.parts)] != "labs"],
                         ids=lambda p: str(p.relative_to(ROOT)) if isinstance(p, Path) else "")
def test_twins_come_from_one_source(pytorch, tensorflow):
    sources = [_load(p)["metadata"].get("nn_course", {}).get("source") for p in (pytorch, tensorflow)]
    assert sources[0] and sources[0] == sources[1], (
        f"{pytorch.name} and {tensorflow.name} are built from {sources}: twins come from one twin source")


def test_section_headings_reader():
    cells = [
        {"cell_type": "markdown", "source": "# Title\n## Objectives\ntext\n### a sub-heading"},
        {"cell_type": "code", "source": "## a comment in code"},
        {"cell_type": "markdown", "source": ["## 1. First  \n", "```\n", "## inside a fence\n", "```\n"]},
    ]
    assert section_headings(cells) == ["Objectives", "1. First"]
    assert section_headings(cells, "### ") == ["a sub-heading"]
    assert [h for h, _ in sections(cells)] == ["(before the first section)", "Objectives", "1. First"]


def test_twin_names():
    a = ROOT / "lessons" / "02-frameworks" / "01-tensors-autograd-pytorch.ipynb"
    b = a.with_name("01-tensors-autograd-tensorflow.ipynb")
    assert twin_of(a) == b and twin_of(b) == a
    c = ROOT / "solutions" / "classification-pytorch" / "classification-pytorch.ipynb"
    d = ROOT / "solutions" / "classification-tensorflow" / "classification-tensorflow.ipynb"
    assert twin_of(c) == d and twin_of(d) == c
