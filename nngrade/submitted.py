"""A collected submission as the grader first sees it: its digest, and whether it holds the
lab's notebooks at all."""

from __future__ import annotations

import hashlib
from pathlib import Path

import nbformat

MAX_NOTEBOOK_MB = 100


def submission_digest(folder: Path) -> str:
    """sha256 over the names and contents of the files of a submission."""
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def invalid_reason(folder: Path, notebooks: list[str]) -> str | None:
    """Why the submitted folder does not hold the lab's notebooks, or None if it does."""
    for name in notebooks:
        path = folder / f"{name}.ipynb"
        if not path.is_file():
            found = sorted(p.name for p in folder.iterdir() if p.name != "timestamp.txt")
            return (f"expected a notebook named {name}.ipynb; found "
                    f"{', '.join(found) if found else 'no file'}")
        size = path.stat().st_size
        if size == 0:
            return f"{name}.ipynb is an empty file"
        if size > MAX_NOTEBOOK_MB * 2**20:
            return f"{name}.ipynb is {size / 2**20:.0f} MB; at most {MAX_NOTEBOOK_MB} MB is graded"
        try:
            nbformat.validate(nbformat.read(path, as_version=4))
        except Exception as error:  # any parse or schema error means "not a notebook"
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            return f"{name}.ipynb is not a valid notebook ({first[:200]})"
    return None
