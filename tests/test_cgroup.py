"""nngrade.cgroup: the kernel stops a submission's forks at its task cap, and removing the group
kills every process in it, daemons that left their parent included."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from grading_cases import marked_processes, marking

from nngrade import cgroup
from nngrade.limits import Limits
from nngrade.processes import Forked
from nngrade.status import PROCESSES
from nngrade.watchdog import over_limits

needs_cgroup = pytest.mark.skipif(bool(cgroup.problem()), reason=f"{cgroup.problem()}")

# Forks sleeping children until fork fails; prints how many it made and the error.
FORKER = """
import os, sys, time
made, error = 0, "none"
for _ in range(60):
    try:
        pid = os.fork()
    except OSError as e:
        error = type(e).__name__
        break
    if pid == 0:
        time.sleep(600)
        os._exit(0)
    made += 1
print(made, error, flush=True)
time.sleep(600)
"""

# Starts a daemon (double fork, new session) that outlives it, prints the daemon's pid, exits.
DAEMON = """
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(600)
        os._exit(0)
    os._exit(0)
time.sleep(0.5)
"""


# A daemon that changes its pid all the time: it forks, and the parent exits at once.
HOPPER = marking("NNGRADE_HOPPER") + """
import os, time
if os.fork() == 0:
    os.setsid()
    while True:
        try:
            if os.fork():
                os._exit(0)
        except OSError:
            time.sleep(0.001)
"""


def _wait_for(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


@needs_cgroup
def test_forks_stop_at_the_cap_and_remove_kills_them_all(tmp_path):
    (group,) = cgroup.create(10)
    assert (group / "pids.max").read_text().strip() == "10"
    proc = subprocess.Popen([sys.executable, "-c", FORKER], stdout=subprocess.PIPE, text=True,
                            preexec_fn=lambda: cgroup.join(group))
    try:
        made, error = proc.stdout.readline().split()
        assert int(made) == 9 and error == "BlockingIOError"  # 10 tasks: the forker and 9 children
        assert len(cgroup.members(group)) == 10
        assert cgroup.refused_forks(group) == 1
        status, note = over_limits(proc.pid, tmp_path, Limits(max_tasks=10), groups=[group]) or ("", "")
        assert status == PROCESSES and "more than 10 processes and threads" in note
    finally:
        cgroup.remove(group)
        proc.wait(timeout=10)
    assert not group.exists()
    assert cgroup.members(group) == []


@needs_cgroup
def test_remove_kills_a_daemon_that_left_its_parent():
    (group,) = cgroup.create(20)
    assert cgroup.refused_forks(group) == 0
    subprocess.run([sys.executable, "-c", DAEMON], preexec_fn=lambda: cgroup.join(group), check=True)
    assert _wait_for(lambda: len(cgroup.members(group)) == 1)  # the daemon, now init's child
    (daemon,) = cgroup.members(group)
    cgroup.remove(group)
    assert not group.exists()
    assert _wait_for(lambda: not Path(f"/proc/{daemon}").exists() or
                     Path(f"/proc/{daemon}/stat").read_text().split()[2] == "Z")


@needs_cgroup
def test_a_forked_grader_process_joins_its_group(tmp_path):
    (group,) = cgroup.create(50)
    child = Forked(lambda: (time.sleep(5), 0)[1], cwd=tmp_path, env=dict(os.environ), log=tmp_path / "log",
                   groups=[group])
    try:
        assert _wait_for(lambda: cgroup.members(group) == [child.pid])
    finally:
        cgroup.remove(group)
    assert child.wait(timeout=10) == -9


def test_without_a_usable_hierarchy_there_is_no_cap(monkeypatch, tmp_path):
    monkeypatch.setattr(cgroup, "_own_parents", lambda controller: [tmp_path / "not-a-cgroup"])
    cgroup.parent.cache_clear()
    try:
        assert cgroup.parent() is None and cgroup.parent(cgroup.MEMORY) is None
        assert "no cgroup with the pids controller" in (cgroup.problem() or "")
        assert "no cgroup with the memory controller" in (cgroup.problem(cgroup.MEMORY) or "")
        assert cgroup.create(10, 1024) == []
    finally:
        cgroup.parent.cache_clear()


def test_a_plain_folder_is_not_taken_for_a_cgroup(monkeypatch, tmp_path):
    """mkdir works in an ordinary folder, but moving a process into it does not: no cap."""
    monkeypatch.setattr(cgroup, "_own_parents", lambda controller: [tmp_path])
    cgroup.parent.cache_clear()
    try:
        assert cgroup.parent() is None
        assert list(tmp_path.iterdir()) == []  # the probe group is gone again
    finally:
        cgroup.parent.cache_clear()


@needs_cgroup
def test_groups_of_an_nngrade_that_was_killed_are_swept():
    where = cgroup.parent()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    stale = where / f"{cgroup.PREFIX}{cgroup._namespace()}-{dead}-0"
    other = where / f"{cgroup.PREFIX}1-{dead}-0"  # another PID namespace's: its pids mean nothing here
    other.mkdir()
    stale.mkdir()
    sleeper = subprocess.Popen(["sleep", "600"])
    cgroup.join(stale, sleeper.pid)
    (mine,) = cgroup.create(5)
    try:
        cgroup.parent.cache_clear()
        assert cgroup.parent() == where
        assert not stale.exists() and sleeper.wait(timeout=10) == -9
        assert mine.exists()  # this process is alive: its group stays
        assert other.exists()
    finally:
        cgroup.remove(mine)
        cgroup.remove(other)


@needs_cgroup
def test_remove_kills_a_process_that_keeps_changing_its_pid():
    (group,) = cgroup.create(20)
    subprocess.run([sys.executable, "-c", HOPPER], preexec_fn=lambda: cgroup.join(group), check=True)
    time.sleep(0.2)
    assert cgroup.members(group)  # hopping
    cgroup.remove(group)
    assert not group.exists()
    time.sleep(0.2)
    assert marked_processes("NNGRADE_HOPPER") == []


@pytest.mark.skipif(bool(cgroup.problem(cgroup.MEMORY)), reason=f"{cgroup.problem(cgroup.MEMORY)}")
def test_processes_share_one_memory_cap():
    """Four processes of 40 MB each under one cap of 100 MB: the OOM killer stops some of them
    (RLIMIT_AS, per process, would let them all through), and the group counts it."""
    groups = cgroup.create(20, 100)
    assert any((g / f).exists() for g in groups for f in ("memory.limit_in_bytes", "memory.max"))
    hog = "import os, time\nos.fork()\nos.fork()\nb = bytearray(40 * 2**20)\ntime.sleep(2)\n"
    try:
        subprocess.run([sys.executable, "-c", hog], preexec_fn=lambda: [cgroup.join(g) for g in groups],
                       timeout=60, check=False)
        assert sum(cgroup.oom_kills(g) for g in groups) >= 1
    finally:
        for group in groups:
            cgroup.remove(group)
    assert not any(g.exists() for g in groups)
