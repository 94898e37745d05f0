"""`nngrade collect` on broken, hostile and clumsy downloads: nothing stops the class, nothing
lands outside the course directory, platform folders give the platform's student id, and a
file claiming another student is refused rather than replacing that student's work."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import time
import unicodedata
import zipfile
from pathlib import Path

import nbformat
import pytest
from grading_cases import Lab

from nngrade.collect import Limits, collect, student_id
from nngrade.course import Course

REPO = Path(__file__).resolve().parents[1]
LAB = "backprop-minifw"
pytestmark = pytest.mark.skipif(not (REPO / "solutions" / LAB).is_dir(), reason=f"solutions/{LAB} is missing")


@pytest.fixture(scope="module")
def lab() -> Lab:
    return Lab(REPO, LAB)


@pytest.fixture
def course(tmp_path) -> Course:
    return Course(root=REPO, course_dir=tmp_path / "grading")


def nb_bytes(nb) -> bytes:
    return nbformat.writes(nb).encode()


def put(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def zipped(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def submitted(course: Course, student: str) -> bytes:
    return course.step("submitted", student, LAB).joinpath(f"{LAB}.ipynb").read_bytes()


def test_both_course_layouts(course, lab, tmp_path):
    ref = nb_bytes(lab.reference())
    src = put(tmp_path / "dl", {f"alice/{LAB}/{LAB}.ipynb": ref, f"bob_{LAB}.ipynb": ref,
                                f"carol_{LAB} (1).ipynb": ref, "notes.txt": b"not a notebook"})
    report = collect(course, src, [LAB])
    assert report.collected == [("alice", LAB), ("bob", LAB), ("carol", LAB)]
    assert [u.split()[0] for u in report.unmatched] == ["notes.txt"]
    assert submitted(course, "alice") == ref and not report.problems and not report.conflicts


def test_moodle_folder_gives_the_platform_id_not_the_file_name(course, lab, tmp_path):
    ref = nb_bytes(lab.reference())
    other = nb_bytes(lab.blank())
    src = put(tmp_path / "dl", {
        f"Bob Jones_2002_assignsubmission_file_/{LAB}.ipynb": ref,
        # Mallory names her file after Bob: it is still Mallory's submission.
        f"Mallory Evil_6666_assignsubmission_file_/2002_{LAB}.ipynb": other,
        f"Carol Smith_3003_assignsubmission_file_/{LAB} (1).ipynb": ref,
    })
    report = collect(course, src, [LAB])
    assert report.collected == [("2002", LAB), ("3003", LAB), ("6666", LAB)]
    assert submitted(course, "2002") == ref and submitted(course, "6666") == other
    assert not report.conflicts


def test_canvas_file_names_give_the_platform_id(course, lab, tmp_path):
    ref = nb_bytes(lab.reference())
    src = put(tmp_path / "dl", {f"jonesbob_2002_99123_{LAB}.ipynb": ref,
                                f"smithcarol_LATE_3003_99124_{LAB}-1.ipynb": ref})
    assert collect(course, src, [LAB]).collected == [("2002", LAB), ("3003", LAB)]


def test_two_files_for_one_student_are_a_conflict(course, lab, tmp_path):
    ref = nb_bytes(lab.reference())
    course.step("submitted", "2002", LAB).mkdir(parents=True)
    (course.step("submitted", "2002", LAB) / f"{LAB}.ipynb").write_bytes(ref)
    src = put(tmp_path / "dl", {
        f"Bob Jones_2002_assignsubmission_file_/{LAB}.ipynb": nb_bytes(lab.blank()),
        f"Bob Jones_2002_assignsubmission_file_/{LAB}-final.ipynb": ref + b"\n",
        f"Carol_3003_assignsubmission_file_/{LAB}.ipynb": ref,
        f"Carol_3003_assignsubmission_file_/copy/{LAB}.ipynb": ref,  # the same file twice is fine
    })
    report = collect(course, src, [LAB])
    assert report.collected == [("3003", LAB)]
    assert len(report.conflicts) == 1 and "2002" in report.conflicts[0]
    assert f"{LAB}-final.ipynb" in report.conflicts[0]
    assert submitted(course, "2002") == ref  # the earlier collection is left alone


def test_broken_archives_are_reported_and_skipped(course, lab, tmp_path):
    ref = nb_bytes(lab.reference())
    good = zipped({f"work/{LAB}.ipynb": ref})
    escaping = zipped({f"../../{LAB}.ipynb": ref, f"/etc/{LAB}.ipynb": ref, f"ok/{LAB}.ipynb": ref})
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w:gz") as archive:
        link = tarfile.TarInfo(f"{LAB}.ipynb")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)
    src = put(tmp_path / "dl", {
        "A_1001_assignsubmission_file_/sub.zip": good,
        "B_1002_assignsubmission_file_/sub.zip": escaping,
        "C_1003_assignsubmission_file_/sub.zip": good[: len(good) // 2],  # truncated
        "D_1004_assignsubmission_file_/sub.tar.gz": tar_buffer.getvalue(),
        f"E_1005_assignsubmission_file_/{LAB}.ipynb.gz": gzip.compress(ref),
        f"F_1006_assignsubmission_file_/{LAB}.ipynb": gzip.compress(ref),  # gzipped, not renamed
        f"G_1007_assignsubmission_file_/{LAB}.ipynb.gz": gzip.compress(ref)[:40],
        f"badjson/{LAB}/{LAB}.ipynb": b'{"cells": [',
    })
    report = collect(course, src, [LAB])
    assert report.collected == [(s, LAB) for s in ("1001", "1002", "1005", "1006", "badjson")]
    problems = "\n".join(report.problems)
    assert "'../../" in problems and "'/etc/" in problems and "outside the archive" in problems
    assert "C_1003_assignsubmission_file_/sub.zip: cannot be opened as zip" in problems
    assert "D_1004" in problems and "not a plain file" in problems
    assert "G_1007" in problems
    assert submitted(course, "1005") == ref and submitted(course, "1006") == ref
    assert submitted(course, "badjson") == b'{"cells": ['  # autograde reports it as invalid
    assert not list(tmp_path.glob(f"**/{LAB}.ipynb")) or all(
        p.is_relative_to(tmp_path / "dl") or p.is_relative_to(course.course_dir)
        for p in tmp_path.glob(f"**/{LAB}.ipynb"))


def test_limits_bound_a_zip_bomb_and_too_many_files(course, lab, tmp_path):
    bomb = zipped({f"{LAB}.ipynb": b"\0" * (64 * 2**20)})
    assert len(bomb) < 2**20
    many = zipped({f"junk/{k}.txt": b"x" for k in range(50)})
    nested = zipped({"a.zip": zipped({"b.zip": zipped({f"{LAB}.ipynb": nb_bytes(lab.reference())})})})
    src = put(tmp_path / "dl", {"A_1001_assignsubmission_file_/bomb.zip": bomb,
                                "C_1003_assignsubmission_file_/nested.zip": nested,
                                "D_1004_assignsubmission_file_/many.zip": many})
    start = time.monotonic()
    report = collect(course, src, [LAB], Limits(max_files=30, max_file_mb=8, max_depth=2))
    assert time.monotonic() - start < 30
    problems = "\n".join(report.problems)
    assert "bomb.zip/backprop-minifw.ipynb: larger than 8 MB unpacked" in problems
    assert "nested.zip/a.zip/b.zip: an archive nested more than 2 deep" in problems
    assert "more than 30 files" in problems
    assert report.collected == []
    total = collect(course, src, [LAB], Limits(max_total_mb=4)).problems
    assert any("more than 4 MB" in p for p in total)


def test_unusual_names_keep_their_grade(course, lab, tmp_path):
    ref = nb_bytes(lab.reference())
    nfd = unicodedata.normalize("NFD", "josé")
    src = put(tmp_path / "dl", {f"o'brien [2]_{LAB}.ipynb": ref, f"{nfd}/{LAB}/{LAB}.ipynb": ref})
    # A zip made on Windows: UTF-8 names without the UTF-8 flag.
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as archive:
        info = zipfile.ZipInfo(f"zoë_{LAB}.ipynb")
        archive.writestr(info, ref)
    data = raw.getvalue().replace("zoë".encode(), "zoë".encode().decode("cp437").encode("cp437"))
    (src / "windows.zip").write_bytes(data)
    report = collect(course, src, [LAB])
    assert report.collected == sorted([("josé", LAB), ("o-brien--2-", LAB), ("zoë", LAB)])
    assert any("o-brien--2-" in note for note in report.notes[("o-brien--2-", LAB)])
    assert student_id("../x y") == "x-y"  # never a path: no dots or slashes


def test_lab_found_by_content_when_the_name_says_nothing(course, tmp_path):
    files = {}
    for k, lab in enumerate(("classification-pytorch", "classification-tensorflow")):
        nb = Lab(REPO, lab).reference()
        for cell in nb.cells:
            cell.metadata.pop("nbgrader", None)  # an editor dropped it too
        files[f"S_{k}_assignsubmission_file_/Untitled.ipynb"] = nb_bytes(nb)
    files["S_9_assignsubmission_file_/Untitled.ipynb"] = b"{}"
    src = put(tmp_path / "dl", files)
    report = collect(course, src, ["classification-pytorch", "classification-tensorflow"])
    assert report.collected == [("0", "classification-pytorch"), ("1", "classification-tensorflow")]
    assert any("S_9" in u for u in report.unmatched)
    for student, lab in report.collected:
        nb = nbformat.reads(submitted_lab(course, student, lab), as_version=4)
        ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
        release = Lab(REPO, lab).release
        assert ids == [c.metadata["nbgrader"]["grade_id"] for c in release.cells if "nbgrader" in c.metadata]
        assert "rebuilt on the lab" in report.notes[(student, lab)][0]


def submitted_lab(course: Course, student: str, lab: str) -> str:
    return course.step("submitted", student, lab).joinpath(f"{lab}.ipynb").read_text()


def test_collect_from_a_zip_of_the_whole_class(course, lab, tmp_path):
    ref = nb_bytes(lab.reference())
    inner = zipped({f"{LAB}.ipynb": ref})
    download = zipped({"Bob Jones_2002_assignsubmission_file_/sub.zip": inner,
                       "Eve_3003_assignsubmission_file_/broken.zip": inner[:50],
                       f"alice/{LAB}/{LAB}.ipynb": ref})
    (tmp_path / "class.zip").write_bytes(download)
    report = collect(course, tmp_path / "class.zip", [LAB])
    assert report.collected == [("2002", LAB), ("alice", LAB)]
    assert len(report.problems) == 1 and "broken.zip" in report.problems[0]


def test_odd_files_from_a_clumsy_or_hostile_class(course, lab, tmp_path):
    """JSON nested past Python's recursion limit, a name too long for a folder, a notebook
    saved with a byte-order mark or as UTF-16, a FIFO: each is collected or reported, and
    the class is collected all the same."""
    ref = nb_bytes(lab.reference())
    deep = ref.replace(b'"metadata": {', b'"metadata": {"deep": ' + b"[" * 100_000 + b"]" * 100_000 + b",", 1)
    src = put(tmp_path / "dl", {
        f"deep_{LAB}.ipynb": deep,
        f"bom_{LAB}.ipynb": b"\xef\xbb\xbf" + ref,
        f"wide_{LAB}.ipynb": ref.decode().encode("utf-16"),
        f"ok_{LAB}.ipynb": ref,
        "long.zip": zipped({"é" * 130 + f"/{LAB}/{LAB}.ipynb": ref, "a" * 300 + f"_{LAB}.ipynb": ref}),
    })
    (src / "fifo" / LAB).mkdir(parents=True)
    os.mkfifo(src / "fifo" / LAB / f"{LAB}.ipynb")
    report = collect(course, src, [LAB])
    students = {s for s, _ in report.collected}
    assert {"deep", "bom", "wide", "ok"} <= students and len(students) == 6, report
    assert all(len(s.encode()) <= 100 for s in students)
    assert any("not a plain file" in p and "fifo" in p for p in report.problems), report.problems
    for student in ("bom", "wide"):  # converted to plain UTF-8, with a note
        assert submitted(course, student) == ref
        assert "converted to plain UTF-8" in report.notes[(student, LAB)][0]
    assert submitted(course, "deep") == deep  # kept: autograde grades it as an invalid notebook
