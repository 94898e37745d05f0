"""The scratch course of one submission: where each file of its grading lives.

Written by nngrade (autograde) and read by the grader process (_worker); this is the only
place the layout is spelled out. Only `ipc` is ever visible to the sandboxed kernel.

    <root>/nbgrader_config.py           snapshot of the course's nbgrader configuration
    <root>/gradebook.db                 the lab's cells and due date, no student's grades
    <root>/source/<lab>/                the lab's source files (not its notebooks)
    <root>/submitted/<student>/<lab>/   the submitted notebooks and timestamp.txt, nothing else
    <root>/autograded/<student>/<lab>/  what nbgrader writes
    <root>/job.json, result.json, worker.log
    <root>/ipc/                         the kernel's connection file and sockets
    <root>/home/                        HOME of an unsandboxed kernel

nbgrader finds the step folders through `course_directory()` (its CourseDirectory traits).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .course import CONFIG_FILE

# nbgrader's steps; each one's folder is <root>/<step> (release, feedback, ... stay empty).
STEPS = ("source", "release", "submitted", "autograded", "feedback", "solution", "source_with_tests")


@dataclass(frozen=True)
class Scratch:
    root: Path
    student: str
    lab: str

    @property
    def config(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def gradebook(self) -> Path:
        return self.root / "gradebook.db"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.gradebook}"

    @property
    def source(self) -> Path:
        return self.root / "source" / self.lab

    @property
    def submitted(self) -> Path:
        return self.root / "submitted" / self.student / self.lab

    @property
    def autograded(self) -> Path:
        return self.root / "autograded" / self.student / self.lab

    @property
    def job(self) -> Path:
        return self.root / "job.json"

    @property
    def result(self) -> Path:
        return self.root / "result.json"

    @property
    def log(self) -> Path:
        return self.root / "worker.log"

    @property
    def ipc(self) -> Path:
        return self.root / "ipc"

    @property
    def home(self) -> Path:
        return self.root / "home"

    def course_directory(self) -> dict[str, str]:
        """nbgrader's CourseDirectory settings for this scratch course."""
        return {"root": str(self.root), "db_url": self.db_url,
                **{f"{step}_directory": step for step in STEPS}}

    def write_job(self, job: dict[str, Any]) -> None:
        self.job.write_text(json.dumps({"scratch": str(self.root), "student": self.student,
                                        "lab": self.lab, **job}))

    @classmethod
    def read_job(cls, path: Path) -> tuple[Scratch, dict[str, Any]]:
        job = json.loads(path.read_text())
        return cls(Path(job["scratch"]), job["student"], job["lab"]), job
