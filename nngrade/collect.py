"""Student files -> <course>/submitted/<student>/<lab>/, with nbgrader's zip_collect.

nbgrader's ZipCollectApp extracts archives, copies the files it is told about and writes
them in nbgrader's layout; LayoutCollector tells it which file belongs to which student,
for the two layouts the course accepts.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.apps.zipcollectapp import ZipCollectApp
from nbgrader.coursedir import CourseDirectory
from nbgrader.plugins import FileNameCollectorPlugin
from traitlets import List, Unicode

from .course import Course, CourseError

_NOISE = {"__MACOSX", ".ipynb_checkpoints", ".DS_Store"}


class LayoutCollector(FileNameCollectorPlugin):
    """Matches <student>/<lab>/<notebook>.ipynb or <student>_<notebook>.ipynb for one lab."""

    lab = Unicode(help="The lab being collected.").tag(config=True)
    notebooks = List(Unicode(), help="Notebook names of the lab, without .ipynb.").tag(config=True)
    extracted = Unicode(help="The folder the files were extracted to.").tag(config=True)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.matched: dict[str, tuple[str, str]] = {}  # relative path -> (student, notebook)

    def collect(self, submitted_file: str) -> dict | None:
        rel = Path(os.path.normpath(submitted_file)).relative_to(self.extracted)
        if rel.suffix != ".ipynb" or _NOISE & set(rel.parts):
            return None
        student = None
        if len(rel.parts) >= 3 and rel.parts[-2] == self.lab and rel.stem in self.notebooks:
            student, notebook = rel.parts[-3], rel.stem
        else:
            for notebook in self.notebooks:
                suffix = f"_{notebook}.ipynb"
                if rel.name.endswith(suffix) and len(rel.name) > len(suffix):
                    student = rel.name[: -len(suffix)]
                    break
        if not student or student.startswith((".", "_")):
            return None
        if (student, notebook) in self.matched.values():
            self.log.warning("Skipping %s: a notebook for %s was found before", rel, student)
            return None
        self.matched[rel.as_posix()] = (student, notebook)
        return {"student_id": student, "file_id": f"{notebook}.ipynb"}


@dataclass
class CollectReport:
    collected: list[tuple[str, str]] = field(default_factory=list)  # (student, lab)
    unmatched: list[str] = field(default_factory=list)  # paths relative to the source


def collect(course: Course, source: Path, labs: list[str]) -> CollectReport:
    """Import the students' notebooks of the given labs from a folder or a .zip file."""
    source = source.resolve()
    if not (source.is_dir() or (source.is_file() and source.suffix == ".zip")):
        raise CourseError(f"expected a folder or a .zip file to collect from; got {source}")
    report = CollectReport()
    every_file: set[str] = set()
    matched: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="nngrade-collect-") as tmp:
        archive = source
        if source.is_file():
            archive = Path(tmp) / "archive"
            archive.mkdir()
            shutil.copyfile(source, archive / source.name)
        for lab in labs:
            extracted = Path(tmp) / "extracted" / lab
            config = course.config()
            # ZipCollectApp joins these onto the course root before formatting them.
            config.ZipCollectApp.collect_directory_structure = "{collect_step}"
            config.ZipCollectApp.archive_directory = os.path.relpath(archive, course.root)
            config.ZipCollectApp.extracted_directory = os.path.relpath(extracted, course.root)
            config.ZipCollectApp.force = True
            config.ExtractorPlugin.force = True
            config.ZipCollectApp.collector_plugin = LayoutCollector
            config.LayoutCollector.lab = lab
            config.LayoutCollector.notebooks = course.notebooks(lab)
            config.LayoutCollector.extracted = str(extracted)
            config.Application.log_level = "ERROR"
            app = ZipCollectApp(config=config)
            app.coursedir = CourseDirectory(parent=app)
            app.coursedir.assignment_id = lab
            try:
                app.start()
            except SystemExit as error:
                raise CourseError(f"expected nbgrader to collect {lab} from {source}; it stopped "
                                  f"(status {error.code}), see the messages above") from None
            found = {p.relative_to(extracted).as_posix() for p in extracted.rglob("*") if p.is_file()}
            every_file |= {f for f in found if not _NOISE & set(Path(f).parts)}
            plugin = app.collector_plugin_inst
            matched |= set(plugin.matched)
            report.collected += sorted({(student, lab) for student, _ in plugin.matched.values()})
    report.unmatched = sorted(every_file - matched)
    return report
