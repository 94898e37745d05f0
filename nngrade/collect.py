"""Student files -> <course>/submitted/<student>/<lab>/<lab>.ipynb.

The download (a folder or an archive) is unpacked into a temporary folder with limits
(`Limits`): archives inside archives, .zip, .tar, .tar.gz and gzipped files are opened; a
member with an unsafe name (`../`, absolute, a link) is skipped; a file, an archive or the
whole download that is too large or has too many members is cut off there. Whatever cannot
be read is reported and skipped: one student's broken archive never stops the class.

Who and which lab each notebook is:

- inside a learning platform's submission folder, the platform's student id, whatever the
  file is called (`PLATFORM_FOLDERS`, e.g. Moodle `Full Name_12345_assignsubmission_file_/`
  -> 12345), or a platform's flat file name (Canvas `name_12345_678_file.ipynb` -> 12345);
- else `<student>/<lab>/<lab>.ipynb` or `<student>_<lab>.ipynb`;
- the lab from the file name, loosely (case, `_` or `-`, `(1)`, `copy`, `-2` ignored), else
  from the content (the released lab whose cells it holds, see nngrade.repair).

Student ids keep letters, digits and `.`, `_`, `@`, `-`; anything else becomes `-` (nbgrader
matches paths with globs and regular expressions). Two different files for the same student
and lab are a conflict: neither is collected and both are listed. A notebook whose nbgrader
metadata was dropped is rebuilt on the released lab before it is written (nngrade.repair);
what was done is saved in <course>/collected/<student>/<lab>.json and shown in the feedback.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import json
import re
import shutil
import stat
import tarfile
import tempfile
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

import nbformat

from .course import Course, CourseError
from .repair import lab_score, repair

NOISE = {"__MACOSX", ".ipynb_checkpoints", ".DS_Store", "Thumbs.db", "desktop.ini"}
# A folder per student made by a learning platform: regex with a group `id`.
PLATFORM_FOLDERS = {
    "Moodle": re.compile(r"^.+?_(?P<id>\d+)_assign(?:submission|feedback)_[a-z]+_?$"),
}
# A file name made by a learning platform: regex with groups `id` and `name` (the original name).
PLATFORM_FILES = {
    "Canvas": re.compile(r"^[^_]+?(?:_LATE)?_(?P<id>\d+)_\d+_(?P<name>.+)$"),
}
_UNSAFE_ID = re.compile(r"[^\w.@-]")
_COPY_SUFFIX = re.compile(r"(\s*\(\d+\)|[\s_-]*copy(\s*\d+)?|-\d+)$")
_CHUNK = 2**20
# What reading a file as a notebook raises when it is not one (nbformat's NotJSONError is a
# ValueError; JSON nested deeper than Python's recursion limit raises RecursionError).
_UNREADABLE = (ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError,
               nbformat.ValidationError)
MAX_ID_BYTES = 100  # a student id is a folder name: file systems allow 255 bytes
# Byte-order marks some editors write (Windows Notepad): the notebook is read through them.
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


@dataclass(frozen=True)
class Limits:
    """Bounds on what a download may unpack to."""

    max_files: int = 20_000  # files in the download, archives' members included
    max_file_mb: int = 100  # one file once unpacked (autograde grades up to 100 MB)
    max_total_mb: int = 4_096  # everything unpacked
    max_depth: int = 3  # archives inside archives


class LimitExceeded(Exception):
    pass


@dataclass
class Item:
    """A file of the download: where it was (`parts`, archives as folders) and its copy."""

    parts: tuple[str, ...]
    path: Path

    @property
    def shown(self) -> str:
        return "/".join(self.parts)


@dataclass
class CollectReport:
    collected: list[tuple[str, str]] = field(default_factory=list)  # (student, lab)
    unmatched: list[str] = field(default_factory=list)  # files that are no lab's notebook
    problems: list[str] = field(default_factory=list)  # unreadable or refused files
    conflicts: list[str] = field(default_factory=list)
    notes: dict[tuple[str, str], list[str]] = field(default_factory=dict)


class Unpacker:
    """Copies a download into a folder, opening archives, within `Limits`."""

    def __init__(self, target: Path, limits: Limits, problems: list[str]) -> None:
        self.target = target
        self.limits = limits
        self.problems = problems
        self.items: list[Item] = []
        self.files = 0
        self.total = 0

    def add(self, path: Path, parts: tuple[str, ...], depth: int = 0) -> None:
        if path.is_symlink():
            self.problems.append(f"{'/'.join(parts)}: a link, skipped")
        elif path.is_dir():
            for child in sorted(path.iterdir()):
                if child.name not in NOISE:
                    self.add(child, parts + (_nfc(child.name),), depth)
        elif path.is_file():
            with open(path, "rb") as stream:
                copy = self._copy(stream, parts)
            if copy is not None:
                self._file(copy, parts, depth)
        else:
            self.problems.append(f"{'/'.join(parts)}: not a plain file (a FIFO, a device or a socket), skipped")

    def _copy(self, stream: IO[bytes] | gzip.GzipFile, parts: tuple[str, ...]) -> Path | None:
        """Copy within the limits; None (and a problem) if a limit is passed."""
        shown = "/".join(parts)
        self.files += 1
        if self.files > self.limits.max_files:
            if self.files == self.limits.max_files + 1:
                self.problems.append(f"{shown}: more than {self.limits.max_files} files in the "
                                     "download; this and the later ones were skipped")
            return None
        dest = self.target / f"{self.files:06d}"
        size = 0
        try:
            with open(dest, "wb") as out:
                while chunk := stream.read(_CHUNK):
                    size += len(chunk)
                    self.total += len(chunk)
                    if size > self.limits.max_file_mb * 2**20:
                        raise LimitExceeded(f"larger than {self.limits.max_file_mb} MB unpacked")
                    if self.total > self.limits.max_total_mb * 2**20:
                        raise LimitExceeded(f"the download unpacks to more than "
                                            f"{self.limits.max_total_mb} MB")
                    out.write(chunk)
        except (LimitExceeded, OSError, EOFError, zipfile.BadZipFile, tarfile.TarError,
                gzip.BadGzipFile, ValueError) as error:
            self.total -= size
            dest.unlink(missing_ok=True)
            self.problems.append(f"{shown}: {_reason(error)}, skipped")
            return None
        return dest

    def _file(self, path: Path, parts: tuple[str, ...], depth: int) -> None:
        with open(path, "rb") as f:
            head = f.read(4)
        name = parts[-1].lower()
        kind = ("zip" if head.startswith(b"PK") or name.endswith(".zip") else
                "tar" if name.endswith((".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")) else
                "gz" if head.startswith(b"\x1f\x8b") else None)
        if kind is None:
            self.items.append(Item(parts, path))
            return
        if depth >= self.limits.max_depth:
            self.problems.append(f"{'/'.join(parts)}: an archive nested more than "
                                 f"{self.limits.max_depth} deep, skipped")
            return
        try:
            if kind == "zip":
                self._zip(path, parts, depth + 1)
            elif kind == "tar":
                self._tar(path, parts, depth + 1)
            else:
                inner = parts[:-1] + (parts[-1][:-3] if name.endswith(".gz") else parts[-1],)
                with gzip.open(path) as stream:
                    copy = self._copy(stream, inner)
                if copy is not None:
                    self._file(copy, inner, depth + 1)
        except (OSError, EOFError, zipfile.BadZipFile, tarfile.TarError, ValueError) as error:
            self.problems.append(f"{'/'.join(parts)}: cannot be opened as {kind} ({_reason(error)}), "
                                 "skipped")
        finally:
            path.unlink(missing_ok=True)

    def _member(self, name: str, parts: tuple[str, ...]) -> tuple[str, ...] | None:
        inner = PurePosixPath(name.replace("\\", "/"))
        if inner.is_absolute() or ".." in inner.parts or re.match(r"^[A-Za-z]:", name):
            self.problems.append(f"{'/'.join(parts)}: member {name!r} points outside the archive, skipped")
            return None
        clean = tuple(_nfc(p) for p in inner.parts if p not in ("", "."))
        if not clean or NOISE & set(clean) or clean[-1].startswith("._"):
            return None
        return parts + clean

    def _zip(self, path: Path, parts: tuple[str, ...], depth: int) -> None:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                name = info.filename
                if not info.flag_bits & 0x800:  # not marked UTF-8: often UTF-8 all the same
                    try:
                        name = name.encode("cp437").decode("utf-8")
                    except (UnicodeEncodeError, UnicodeDecodeError):
                        pass
                if stat.S_ISLNK(info.external_attr >> 16):
                    self.problems.append(f"{'/'.join(parts)}: member {name!r} is a link, skipped")
                    continue
                inner = self._member(name, parts)
                if inner is None:
                    continue
                try:
                    with archive.open(info) as stream:
                        copy = self._copy(stream, inner)
                except (OSError, EOFError, zipfile.BadZipFile, NotImplementedError, RuntimeError) as error:
                    self.problems.append(f"{'/'.join(inner)}: {_reason(error)}, skipped")
                    continue
                if copy is not None:
                    self._file(copy, inner, depth)

    def _tar(self, path: Path, parts: tuple[str, ...], depth: int) -> None:
        with tarfile.open(path) as archive:
            for member in archive:
                if member.isdir():
                    continue
                if not member.isfile():
                    self.problems.append(f"{'/'.join(parts)}: member {member.name!r} is not a "
                                         "plain file, skipped")
                    continue
                inner = self._member(member.name, parts)
                stream = archive.extractfile(member) if inner is not None else None
                if inner is None or stream is None:
                    continue
                copy = self._copy(stream, inner)
                if copy is not None:
                    self._file(copy, inner, depth)


def _nfc(name: str) -> str:
    return unicodedata.normalize("NFC", name)


def _reason(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:200]


def student_id(raw: str) -> str:
    """The id a student gets in the course directory (see the module docstring); one longer
    than MAX_ID_BYTES is cut and ends with a hash of the whole name, so it stays unique."""
    name = _UNSAFE_ID.sub("-", _nfc(raw).strip()).lstrip(".-")
    if len(name.encode()) <= MAX_ID_BYTES:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:10]
    cut = name.encode()[:MAX_ID_BYTES - len(digest) - 1].decode("utf-8", "ignore")
    return f"{cut}-{digest}"


def _loose(name: str) -> str:
    stem = name[:-6] if name.lower().endswith(".ipynb") else name
    stem = _COPY_SUFFIX.sub("", stem.strip())
    return re.sub(r"[\s_]+", "-", stem.lower())


class Matcher:
    """Which student and lab a file of the download is."""

    def __init__(self, course: Course, labs: list[str]) -> None:
        self.targets = [(lab, nb) for lab in labs for nb in course.notebooks(lab)]
        self.releases: dict[tuple[str, str], nbformat.NotebookNode] = {}
        for lab, nb in self.targets:
            path = course.labs_dir / lab / f"{nb}.ipynb"
            if path.is_file():
                self.releases[(lab, nb)] = nbformat.read(path, as_version=4)

    def platform(self, item: Item) -> tuple[str, str] | None:
        """(student, file name) from a platform's folder or file name, else None."""
        for folder in reversed(item.parts[:-1]):
            for pattern in PLATFORM_FOLDERS.values():
                match = pattern.match(folder)
                if match:
                    return match.group("id"), item.parts[-1]
        for pattern in PLATFORM_FILES.values():
            match = pattern.match(item.parts[-1])
            if match:
                return match.group("id"), match.group("name")
        return None

    def by_name(self, name: str) -> tuple[str, str] | None:
        loose = _loose(name)
        for lab, nb in self.targets:
            if loose == _loose(nb) or loose.endswith("-" + _loose(nb)):
                return lab, nb
        return None

    def by_content(self, nb: nbformat.NotebookNode) -> tuple[str, str] | None:
        scores = sorted(((lab_score(nb, release), key) for key, release in self.releases.items()),
                        reverse=True)
        if scores and scores[0][0] >= 0.5 and (len(scores) == 1 or scores[0][0] - scores[1][0] >= 0.2):
            return scores[0][1]
        return None

    def match(self, item: Item) -> tuple[str, str, str] | str:
        """(raw student, lab, notebook), or why the file is not collected."""
        name = item.parts[-1]
        if not name.lower().endswith(".ipynb"):
            return "not a notebook"
        found = self.platform(item)
        target = None
        if found:
            student, original = found
            target = self.by_name(original)
        else:
            student = ""
            for lab, nb in self.targets:
                if len(item.parts) >= 3 and item.parts[-2] == lab:
                    student = item.parts[-3]
                    target = (lab, nb) if Path(name).stem == nb else self.by_name(name)
                    if target is None and len(lab_notebooks := [t for t in self.targets if t[0] == lab]) == 1:
                        target = lab_notebooks[0]
                    break
                stem = _COPY_SUFFIX.sub("", name[:-6].strip())  # `bob_lab (1).ipynb` is bob's too
                if stem.endswith(f"_{nb}") and len(stem) > len(nb) + 1:
                    student, target = stem[: -len(nb) - 1], (lab, nb)
                    break
        if not student_id(student):
            return "no student in its path (expected <student>/<lab>/<lab>.ipynb or <student>_<lab>.ipynb)"
        if target is None:
            target = self.by_name(name)
        if target is None:
            try:
                target = self.by_content(_read(item.path.read_bytes()))
            except _UNREADABLE:  # its name said no lab either
                target = None
        if target is None:
            return f"student {student}, but no lab by name or content"
        return student, target[0], target[1]


def collect(course: Course, source: Path, labs: list[str], limits: Limits = Limits()) -> CollectReport:
    """Import the students' notebooks of the given labs from a folder or an archive."""
    source = source.resolve()
    if not source.exists():
        raise CourseError(f"expected a folder or an archive to collect from; {source} does not exist")
    report = CollectReport()
    matcher = Matcher(course, labs)
    claims: dict[tuple[str, str, str], list[tuple[Item, str]]] = {}
    written: set[tuple[str, str]] = set()
    with tempfile.TemporaryDirectory(prefix="nngrade-collect-") as tmp:
        unpacker = Unpacker(Path(tmp), limits, report.problems)
        if source.is_dir():
            for child in sorted(source.iterdir()):
                if child.name not in NOISE:
                    unpacker.add(child, (_nfc(child.name),))
        else:
            unpacker.add(source, (_nfc(source.name),))
        for item in unpacker.items:
            found = matcher.match(item)
            if isinstance(found, str):
                report.unmatched.append(f"{item.shown}  ({found})")
                continue
            raw, lab, nb = found
            claims.setdefault((student_id(raw), lab, nb), []).append((item, raw))
        for (student, lab, nb), files in sorted(claims.items()):
            digests = {hashlib.sha256(item.path.read_bytes()).hexdigest() for item, _ in files}
            if len(digests) > 1:
                report.conflicts.append(
                    f"{student} / {lab}: {len(files)} different files claim this student, none "
                    "was collected (keep one and collect again):\n    "
                    + "\n    ".join(item.shown for item, _ in files))
                continue
            item, raw = files[0]
            notes = [] if raw == student else [
                (f"Collected from {item.shown} as student `{student}` (the name had characters "
                 "nbgrader cannot use, or was too long for a folder name).")]
            data, more = _prepare(item.path.read_bytes(), matcher.releases.get((lab, nb)))
            notes += more
            try:
                _write(course, student, lab, nb, data, notes, item.shown, clear=(student, lab) not in written)
            except OSError as error:  # one odd name or file never stops the class
                report.problems.append(f"{item.shown}: could not be written as {student} / {lab} "
                                       f"({_reason(error)}), skipped")
                continue
            written.add((student, lab))
            report.collected.append((student, lab))
            if notes:
                report.notes[(student, lab)] = notes
    report.collected = sorted(set(report.collected))
    report.unmatched.sort()
    return report


def _decode(data: bytes) -> tuple[str, str | None]:
    """The text of a notebook file, and the name of its encoding when it is not plain UTF-8
    (a byte-order mark, UTF-16 or UTF-32)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            label = "UTF-8 with a byte-order mark" if encoding == "utf-8-sig" else encoding.upper()
            return data.decode(encoding), label
    return data.decode("utf-8"), None


def _read(data: bytes) -> nbformat.NotebookNode:
    with warnings.catch_warnings():  # nbformat's notes on duplicate cell ids and the like
        warnings.simplefilter("ignore")
        return nbformat.reads(_decode(data)[0], as_version=4)


def _prepare(data: bytes, release: nbformat.NotebookNode | None) -> tuple[bytes, list[str]]:
    """The notebook to grade: repaired on the release when its metadata was dropped.
    Unreadable files are kept as they are (autograde reports them as invalid)."""
    notes = []
    try:
        text, encoding = _decode(data)
        if encoding:
            _read(data)  # only a notebook is converted
            data = text.encode("utf-8")
            notes.append(f"The file was saved as {encoding}; it was converted to plain UTF-8, "
                         "which Jupyter reads.")
        if release is None:
            return data, notes
        fixed = repair(_read(data), release)
    except _UNREADABLE:  # autograde says why it is not a notebook
        return data, notes
    if not fixed.notes:
        return data, notes
    return nbformat.writes(fixed.notebook).encode("utf-8"), notes + fixed.notes


def _write(course: Course, student: str, lab: str, nb: str, data: bytes, notes: list[str],
           source: str, clear: bool) -> None:
    dest = course.step("submitted", student, lab)
    if clear and dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / f"{nb}.ipynb").write_bytes(data)
    record = course.step("collected", student) / f"{lab}.json"
    record.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(record.read_text()) if not clear and record.is_file() else {"notes": []}
    record.write_text(json.dumps({"source": source, "notes": old["notes"] + notes}, indent=1) + "\n")
