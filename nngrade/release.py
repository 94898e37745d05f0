"""solutions/ -> labs/: nbgrader's generate_assignment, run into a temporary folder so that
the committed release can be compared with (or replaced by) what the solutions give."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from nbgrader.apps import NbGraderAPI
from nbgrader.utils import rmtree

from .course import Course, CourseError


def generate_release(course: Course, labs: list[str], release_dir: Path, db_url: str) -> None:
    """Run nbgrader's generate_assignment for each lab into release_dir/<lab>/.

    The gradebook at db_url learns the labs' cells and tests (autograde needs them).
    """
    config = course.config()
    config.CourseDirectory.release_directory = str(release_dir)
    config.CourseDirectory.db_url = db_url
    api = NbGraderAPI(config=config)
    for lab in labs:
        result = api.generate_assignment(lab, force=True, create=True)
        if not result["success"]:
            detail = (result.get("error") or result.get("log") or "").strip().splitlines()[-12:]
            raise CourseError(
                f"expected nbgrader to generate the student version of {lab} from "
                f"solutions/{lab}; it failed:\n  " + "\n  ".join(detail)
            )


def _files(folder: Path) -> dict[str, Path]:
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}


def differences(committed: Path, generated: Path) -> list[str]:
    """What differs between the committed release of a lab and a fresh one, file by file."""
    if not committed.is_dir():
        return [f"{committed.name}/: missing from labs/"]
    old, new = _files(committed), _files(generated)
    prefix = f"{committed.name}/"
    diffs = [f"{prefix}{name}: committed but not generated" for name in old.keys() - new.keys()]
    diffs += [f"{prefix}{name}: generated but not committed" for name in new.keys() - old.keys()]
    diffs += [
        f"{prefix}{name}: content differs"
        for name in old.keys() & new.keys() if old[name].read_bytes() != new[name].read_bytes()
    ]
    return sorted(diffs)


def refresh(course: Course, labs: list[str], check: bool) -> list[str]:
    """Regenerate the labs; with check, only report how the committed labs/ differs.

    Returns the differences found (with check) or the labs that were rewritten.
    """
    with tempfile.TemporaryDirectory(prefix="nngrade-release-") as tmp:
        release = Path(tmp) / "labs"
        generate_release(course, labs, release, f"sqlite:///{tmp}/gradebook.db")
        changed: list[str] = []
        for lab in labs:
            diffs = differences(course.labs_dir / lab, release / lab)
            if not diffs:
                continue
            if check:
                changed.extend(diffs)
            else:
                target = course.labs_dir / lab
                if target.exists():
                    rmtree(str(target))
                shutil.copytree(release / lab, target)
                changed.append(lab)
        if check and set(labs) == set(course.labs()) and course.labs_dir.is_dir():
            changed.extend(
                f"{d.name}/: in labs/ without a source in solutions/"
                for d in sorted(course.labs_dir.iterdir())
                if d.is_dir() and d.name not in labs and not d.name.startswith(".")
            )
        return changed
