"""Where the course lives: the repository (source and release) and the course directory
(gradebook, submitted/, autograded/, feedback/), and nbgrader's configuration for both."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

CONFIG_FILE = "nbgrader_config.py"
COURSE_DIR_ENV = "NNGRADE_COURSE_DIR"
SOLUTIONS_ENV = "NNGRADE_SOLUTIONS"
# nbgrader builds regular expressions from the step folders without escaping them.
_REGEX_SPECIALS = re.compile(r"[\^$*+?{}\[\]|()]" if os.sep == "\\" else r"[\\^$*+?{}\[\]|()]")


class CourseError(Exception):
    """A problem with the course layout that the instructor has to fix."""


@dataclass(frozen=True)
class Course:
    """The repository root (holds nbgrader_config.py, solutions/, labs/) and the course dir."""

    root: Path
    course_dir: Path
    solutions_dir: Path | None = None  # private solutions, outside the repository

    @classmethod
    def locate(cls, course_dir: str | os.PathLike | None = None, start: Path | None = None,
               solutions: str | os.PathLike | None = None) -> Course:
        """Find the repository from `start` (default: the current folder) or its parents.

        The solutions (with the hidden tests) are, first found: `solutions`, $NNGRADE_SOLUTIONS,
        <course dir>/solutions/, the repository's solutions/."""
        start = (start or Path.cwd()).resolve()
        for folder in (start, *start.parents):
            if (folder / CONFIG_FILE).is_file():
                root = folder
                break
        else:
            raise CourseError(
                f"expected {CONFIG_FILE} in {start} or a parent folder (run nngrade inside the "
                "course repository); found none"
            )
        course = Path(course_dir).resolve() if course_dir else root / "grading"
        if _REGEX_SPECIALS.search(str(course)):
            raise CourseError(
                f"expected a course directory path without any of \\^$*+?{{}}[]|() "
                f"(nbgrader matches paths with regular expressions); got {course}"
            )
        private = solutions or os.environ.get(SOLUTIONS_ENV) or None
        if private is None and (course / "solutions").is_dir():
            private = course / "solutions"
        solutions_dir = Path(private).resolve() if private else None
        if solutions_dir is not None and not solutions_dir.is_dir():
            raise CourseError(f"expected a folder of solutions (<lab>/<lab>.ipynb); {solutions_dir} "
                              "is not a folder")
        return cls(root=root, course_dir=course, solutions_dir=solutions_dir)

    # -- nbgrader configuration -------------------------------------------------------
    def config(self) -> Config:
        """nbgrader's configuration: the repository's nbgrader_config.py, read with
        $NNGRADE_COURSE_DIR set to this course dir and $NNGRADE_SOLUTIONS to private
        solutions if any (so that nbgrader run later in this process, or in a child, sees
        the same folders)."""
        os.environ[COURSE_DIR_ENV] = str(self.course_dir)
        if self.solutions_dir:
            os.environ[SOLUTIONS_ENV] = str(self.solutions_dir)
        else:
            os.environ.pop(SOLUTIONS_ENV, None)
        return PyFileConfigLoader(CONFIG_FILE, path=str(self.root)).load_config()

    # -- labs -------------------------------------------------------------------------
    @property
    def solutions(self) -> Path:
        """The instructor versions of the labs: solutions/ or the private folder."""
        return self.solutions_dir or self.root / "solutions"

    @property
    def labs_dir(self) -> Path:
        return self.root / "labs"

    def labs(self) -> list[str]:
        """Names of the labs: the folders of solutions/ that hold a notebook."""
        if not self.solutions.is_dir():
            return []
        return sorted(
            d.name for d in self.solutions.iterdir()
            if d.is_dir() and not d.name.startswith(".") and any(d.glob("*.ipynb"))
        )

    def notebooks(self, lab: str) -> list[str]:
        """Notebook names (without .ipynb) of one lab."""
        return sorted(p.stem for p in (self.solutions / lab).glob("*.ipynb"))

    def check_labs(self, names: list[str] | None) -> list[str]:
        """The labs named (all labs when none are named), failing on an unknown name."""
        known = self.labs()
        if not names:
            return known
        unknown = [n for n in names if n not in known]
        if unknown:
            raise CourseError(
                f"expected lab names from solutions/ ({', '.join(known) or 'none there'}); "
                f"got {', '.join(unknown)}"
            )
        return list(dict.fromkeys(names))

    # -- course directory -------------------------------------------------------------
    @property
    def gradebook(self) -> Path:
        return self.course_dir / "gradebook.db"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.gradebook}"

    def step(self, name: str, student: str | None = None, lab: str | None = None) -> Path:
        """<course>/<name>[/<student>[/<lab>]] for the steps submitted, autograded, feedback, status."""
        path = self.course_dir / name
        if student is not None:
            path = path / student
            if lab is not None:
                path = path / lab
        return path

    def submissions(self, students: list[str] | None = None, labs: list[str] | None = None,
                    ) -> list[tuple[str, str]]:
        """(student, lab) pairs found in submitted/, filtered by the names given."""
        submitted = self.step("submitted")
        if not submitted.is_dir():
            return []
        known_labs = set(self.labs())
        pairs = []
        for student_dir in sorted(p for p in submitted.iterdir() if p.is_dir()):
            if students and student_dir.name not in students:
                continue
            for lab_dir in sorted(p for p in student_dir.iterdir() if p.is_dir()):
                if lab_dir.name in known_labs and (not labs or lab_dir.name in labs):
                    pairs.append((student_dir.name, lab_dir.name))
        return pairs
