"""What a batch sets up before grading: its private folder's shared files, and each
submission's scratch course (nngrade.scratch names the files).

Once per batch: the gradebook is backed up, the labs' release is generated from solutions/
(the scores are checked against it), each lab's facts are read (nngrade.labinfo), an empty
gradebook that holds the labs but no student's grades is made, the guard takes its snapshot
of the protected files, and the folders the sandboxed kernel may read or must not see are
listed. Per submission: the lab's source files, the submitted notebooks (the blank lab in
their place when they cannot be read) and nngrade's configuration are copied in.
"""

from __future__ import annotations

import os
import shutil
import site
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .course import CONFIG_FILE, Course
from .diagnose import submission_notes
from .grades import empty_gradebook
from .guard import Guard
from .labinfo import LabInfo, lab_info
from .metadata import conform
from .protected import unwatched
from .release import differences, generate_release
from .results import backup_gradebook
from .scratch import Scratch
from .submitted import invalid_reason


@dataclass
class Setup:
    """The batch's shared files (all in its private folder `tmp`) and its guard."""

    tmp: Path
    info: dict[str, LabInfo]
    template: Path  # the empty gradebook each scratch course starts from
    guard: Guard
    readable: list[str]  # folders the sandboxed kernel reads (read-only)
    hidden: list[str]  # folders under those that it must not see


def python_path(cwd: Path | None = None) -> list[Path]:
    """The folders Python imports from here, less the current folder that `python -m` adds
    (the instructor's folder, which may hold anything): PYTHONPATH, the standard library, the
    installed packages and editable installs."""
    cwd = (cwd or Path.cwd()).resolve()
    given = {Path(p).resolve() for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p}
    folders = []
    for entry in sys.path:
        path = Path(entry or ".").resolve()
        if path.is_dir() and (path != cwd or path in given):
            folders.append(path)
    return folders


def sandbox_view(course: Course, tmp: Path, packages: list[Path]) -> tuple[list[str], list[str]]:
    """(readable, hidden): the course code, the virtual environment and the Python path are
    readable; the solutions (in the repository or private), git's data, the course directory
    (gradebook, submissions, backups) and the batch's folder are hidden wherever they lie
    under a readable folder."""
    root = course.root
    readable = {root, Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), *packages,
                *python_path()}
    hidden = {root / "solutions", root / ".git", root / "grading", course.solutions,
              course.course_dir, tmp}
    return sorted(map(str, readable)), sorted(str(p.resolve()) for p in hidden)


def prepare(course: Course, labs: list[str], tmp: Path, say: Callable[[str], None]) -> Setup:
    """Back up the gradebook, generate the release, read the labs, snapshot the protected files."""
    release = tmp / "release"
    course.course_dir.mkdir(parents=True, exist_ok=True)
    backup = backup_gradebook(course)
    if backup:
        say(f"gradebook backed up to {backup}")
    generate_release(course, labs, release, course.db_url)
    for lab in labs:
        if differences(course.labs_dir / lab, release / lab):
            say(f"warning: labs/{lab} differs from what solutions/{lab} generates; "
                "grading uses solutions/ (run `nngrade generate` to update labs/)")
    info = {lab: lab_info(course, release, lab) for lab in labs}
    template = tmp / "gradebook.db"
    empty_gradebook(course.gradebook, template)
    root, venv = course.root, Path(sys.prefix).resolve()
    packages = [Path(p).resolve() for p in site.getsitepackages() if Path(p).is_dir()]
    watched = [root, course.course_dir, *packages]
    if not any(course.solutions.resolve().is_relative_to(w.resolve()) for w in watched):
        watched.append(course.solutions)
    guard = Guard(watched, unwatched(root, [tmp, venv], packages), tmp / "backup")
    readable, hidden = sandbox_view(course, tmp, packages)
    return Setup(tmp, info, template, guard, readable, hidden)


def build_scratch(setup: Setup, course: Course, student: str, lab: str,
                  substitute: bool = False) -> tuple[Scratch, list[str], list[str], str | None]:
    """A new scratch course for one submission: (scratch, statuses, notes, why it is not run).

    Only the lab's notebooks and collect's timestamp are copied from the submission (other
    files are ignored). When the notebooks cannot be read, or `substitute` is set, the blank
    lab takes their place and the submission is not run."""
    scratch = Scratch(Path(tempfile.mkdtemp(prefix="s", dir=setup.tmp)), student, lab)
    info = setup.info[lab]
    guard = setup.guard
    guard.export(course.solutions / lab, scratch.source, skip=lambda p: p.suffix == ".ipynb")
    wanted = {f"{n}.ipynb" for n in info.notebooks} | {"timestamp.txt"}
    guard.export(course.step("submitted", student, lab), scratch.submitted,
                 skip=lambda p: p.name not in wanted)
    guard.export(course.root / CONFIG_FILE, scratch.config)
    scratch.submitted.mkdir(parents=True, exist_ok=True)
    problem = None if substitute else invalid_reason(scratch.submitted, info.notebooks)
    submitted = None if problem or substitute else {
        name: nbformat.read(scratch.submitted / f"{name}.ipynb", as_version=4) for name in info.notebooks}
    statuses, notes = submission_notes(problem, submitted, info.release)
    for name, nb in (submitted or {}).items():
        fixed = conform(nb, info.release[name])
        if fixed:
            notes += fixed
            nbformat.write(nb, scratch.submitted / f"{name}.ipynb")
    skip_reason = None
    if problem or substitute:
        for name in info.notebooks:
            (scratch.submitted / f"{name}.ipynb").unlink(missing_ok=True)
            nbformat.write(info.release[name], scratch.submitted / f"{name}.ipynb")
        skip_reason = "Not run: the submission could not be read as a notebook."
    shutil.copyfile(setup.template, scratch.gradebook)
    scratch.ipc.mkdir()
    scratch.home.mkdir()
    return scratch, statuses, notes, skip_reason
