"""What comes back from a grader process, trusted only as far as it can be: its result.json,
the autograded notebooks (the lab's names only; other files are ignored) and the grades,
whose test scores are recomputed here from the executed test cells (nngrade.verdict) and
merged into the scratch gradebook's rows (nngrade.grades)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from .grades import read_grades, with_scores
from .labinfo import LabInfo
from .scratch import Scratch
from .verdict import notebook_scores


@dataclass
class Harvest:
    """result.json (None when there is none), the autograded notebooks and other files by
    name, and the grades (None when the run gave none)."""

    result: dict[str, Any] | None = None
    notebooks: dict[str, bytes] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    grades: dict[str, Any] | None = None


def json_load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise TypeError(f"expected a JSON object in {path}")
    return data


def harvest(scratch: Scratch, info: LabInfo, overdue: bool) -> Harvest:
    """Read a finished run. Nothing counts from a process stopped before its end: it never
    wrote its result (what is there was written by the submission)."""
    if overdue:
        return Harvest()
    try:
        result = json_load(scratch.result)
    except (OSError, ValueError, TypeError):
        return Harvest()
    if not result.get("success"):
        return Harvest(result)
    try:
        notebooks = {f"{n}.ipynb": (scratch.autograded / f"{n}.ipynb").read_bytes()
                     for n in info.notebooks if (scratch.autograded / f"{n}.ipynb").is_file()}
        if len(notebooks) != len(info.notebooks):
            result.update(success=False, error="nbgrader wrote no autograded notebook")
            return Harvest(result)
        files = {p.name: p.read_bytes() for p in scratch.autograded.glob("timestamp.txt")}
        scores = {name[:-len(".ipynb")]: notebook_scores(nbformat.reads(data.decode(), as_version=4),
                                                         info.release[name[:-len(".ipynb")]])
                  for name, data in notebooks.items()}
        grades = with_scores(read_grades(scratch.db_url, scratch.lab, scratch.student), scores)
    except Exception as error:  # unreadable results count as a crash of the grader
        result.update(success=False, error=f"the results could not be read: {error}")
        return Harvest(result)
    return Harvest(result, notebooks, files, grades)
