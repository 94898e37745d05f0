"""End to end, in the sandbox: a submission that starts processes without end, forks
children whose memory together passes the submission's cap, or fills the disk (its /tmp,
or the folder on disk it can write) is stopped or cut off, gets a status and
a note that say which limit it hit, and neither the grader nor the submission graded next
to it (-j 2) suffers: the reference next to them scores full marks and no process of theirs
outlives the batch."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from grading_cases import FILL_IPC, FORKS, MEMFORK, Lab, appended, marked_processes, write
from grading_course import LAB, course_copy, nngrade

from nngrade import cgroup
from nngrade.sandbox import bwrap_problem

pytestmark = [
    pytest.mark.skipif(bool(bwrap_problem()), reason=f"no sandbox here: {bwrap_problem()} "
                       "(CI installs bubblewrap)"),
    pytest.mark.skipif(not (Path(__file__).resolve().parents[1] / "solutions" / LAB).is_dir(),
                       reason=f"solutions/{LAB} is missing"),
]
LIMITS = ["--cell-timeout", "60", "--time-limit", "300", "--memory", "1536",
          "--max-processes", "32", "--max-disk", "64", "--max-memory", "1280"]

FILL_TMP = """
with open("/tmp/filler", "wb") as _f:
    for _ in range(1000):
        _f.write(bytes(2**20))
"""


def test_processes_and_disk_are_limited(tmp_path):
    root = tmp_path / "repo"
    lab = course_copy(root)
    cases = {"reference": Lab.reference, "forks": appended(0, FORKS), "filltmp": appended(0, FILL_TMP),
             "fillfolder": appended(0, FILL_IPC), "memfork": appended(0, MEMFORK)}
    for name, case in cases.items():
        write(tmp_path / "downloads" / name / LAB / f"{LAB}.ipynb", case(lab))
    nngrade(root, "collect", str(tmp_path / "downloads"))
    groups = cgroup.parent()  # before the batch: finding it sweeps the groups of finished batches
    memory_cap = cgroup.parent(cgroup.MEMORY) is not None
    run = nngrade(root, "autograde", "-j", "2", *LIMITS)
    out = run.stdout
    assert marked_processes("NNGRADE_FORKS") == marked_processes("NNGRADE_MEMFORK") == []
    if groups is not None:  # each submission's task cap was made, and removed again by the batch itself
        assert "a hard cap of 512 tasks" in out
        assert not list(groups.glob(f"{cgroup.PREFIX}*-{run.pid}-*"))
    nngrade(root, "export")
    with open(root / "grading" / "grades.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert {s: r["status"] for s, r in rows.items()} == {
        "reference": "ok", "forks": "too many processes", "filltmp": "disk full",
        "fillfolder": "disk full", "memfork": "memory" if memory_cap else "ok"}, out
    assert "more than 32 processes" in rows["forks"]["notes"]
    assert "ran out of disk space: at most 64 MB" in rows["filltmp"]["notes"]
    assert "wrote more than 64 MB into its folder" in rows["fillfolder"]["notes"]
    if memory_cap:
        assert "1280 MB per submission" in out
        assert "processes together used more than 1280 MB" in rows["memfork"]["notes"]
    points = lab.test_points()

    def tests(student: str) -> float:
        return sum(float(rows[student][name] or 0) for name in points)

    assert tests("reference") == sum(points.values())
    assert tests("filltmp") == tests("reference")  # only its own cell failed
    assert tests("forks") == tests("fillfolder") == 0  # stopped: graded without running
