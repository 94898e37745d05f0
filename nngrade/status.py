"""The outcome of grading one submission: a status, notes in plain words, timings.

Saved as <course>/status/<student>/<lab>.json next to nbgrader's gradebook, which has no
place for them; export and feedback read them back.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

OK = "ok"
TIMEOUT = "timeout"
CRASHED = "crashed"
MEMORY = "memory"
PROCESSES = "too many processes"
DISK = "disk full"
INVALID = "invalid notebook"
TAMPERED = "tampered"
# Most serious first: a submission gets the first status that applies.
SEVERITY = (TAMPERED, INVALID, MEMORY, PROCESSES, DISK, CRASHED, TIMEOUT, OK)

MEANING = {
    OK: "graded normally",
    TIMEOUT: "a cell or the whole submission ran past its time limit",
    MEMORY: "the code asked for more memory than the limit",
    PROCESSES: "the code started more processes than the limit",
    DISK: "the code wrote more data than the limit",
    CRASHED: "the kernel or the grader stopped before the end",
    INVALID: "the file could not be read as the lab's notebook",
    TAMPERED: "the code changed files outside its own folder, or the kernel's test machinery",
}


def worst(statuses: list[str]) -> str:
    """The most serious of the statuses (ok when there are none)."""
    return min(statuses, key=SEVERITY.index, default=OK)


@dataclass
class Record:
    """What happened when one submission was graded."""

    student: str
    lab: str
    status: str
    notes: list[str] = field(default_factory=list)
    digest: str = ""  # sha256 of the submitted files that were graded
    seconds: float = 0.0  # wall time, scheduling to result
    kernel_seconds: float = 0.0  # kernel start-up
    cell_seconds: float = 0.0  # running the cells
    graded_at: str = ""
    changed_paths: list[str] = field(default_factory=list)
    sandboxed: bool = True  # whether the kernel ran in the sandbox

    @staticmethod
    def path(status_dir: Path, student: str, lab: str) -> Path:
        return status_dir / student / f"{lab}.json"

    def save(self, status_dir: Path) -> None:
        path = self.path(status_dir, self.student, self.lab)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=1) + "\n")

    @classmethod
    def load(cls, status_dir: Path, student: str, lab: str) -> Record | None:
        path = cls.path(status_dir, student, lab)
        if not path.is_file():
            return None
        data: dict[str, Any] = json.loads(path.read_text())
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
