"""A hard cap on the tasks (processes and threads) of one submission, enforced by the kernel:
a cgroup of the `pids` controller per grader process, where this system lets nngrade make
one (cgroup v1's pids hierarchy, or a cgroup v2 tree with `pids` delegated to nngrade's own
cgroup, as root or as the delegated user). At the cap, fork() and thread creation fail in
the submission. Elsewhere the watchdog's checks (nngrade.watchdog) are the only process limit.

The cgroup also lists every process of the submission, wherever it was re-parented, so
`kill_all` leaves none behind.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import time
from functools import lru_cache
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
PREFIX = "nngrade-"
_names = itertools.count()


def _own_parents() -> list[Path]:
    """The cgroup folders of this process in which a pids group could be made: v1's pids
    hierarchy first, then v2's unified one."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        relative = path.lstrip("/")
        if "pids" in controllers.split(","):
            found.append(ROOT / "pids" / relative)
        elif controllers == "":
            found.append(ROOT / relative)
    return found


def _namespace() -> str:
    """This process's PID namespace (its inode): pids are only compared within it."""
    try:
        return os.readlink("/proc/self/ns/pid").strip("pid:[]")
    except OSError:
        return "0"


def _make(parent: Path, max_tasks: int) -> Path:
    group = parent / f"{PREFIX}{_namespace()}-{os.getpid()}-{next(_names)}"
    group.mkdir()
    try:
        if not (group / "pids.current").exists():  # the kernel fills a real group with its files
            raise NotADirectoryError(f"{parent} is not a cgroup with the pids controller")
        (group / "pids.max").write_text(str(max_tasks))
    except OSError:
        group.rmdir()
        raise
    return group


def join(group: Path, pid: int = 0) -> None:
    """Move process `pid` (0: the calling process) into `group`; what it starts stays there."""
    (group / "cgroup.procs").write_text(str(pid or os.getpid()))


def members(group: Path) -> list[int]:
    """Pids of the processes in `group` (none when it is gone)."""
    try:
        return [int(p) for p in (group / "cgroup.procs").read_text().split()]
    except OSError:
        return []


def refused_forks(group: Path) -> int:
    """How many times a fork or a new thread in `group` failed at its cap (pids.events)."""
    try:
        for line in (group / "pids.events").read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "max":
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


@lru_cache(maxsize=1)
def parent() -> Path | None:
    """The cgroup folder under which submissions' groups are made, or None where this system
    does not let nngrade make a pids group and move a process into it (checked once, with a
    `sleep` moved into a probe group)."""
    for candidate in _own_parents():
        try:
            probe = _make(candidate, 4)
        except OSError:
            continue
        works = False
        try:
            sleeper = subprocess.Popen(["sleep", "30"])
        except OSError:
            remove(probe)
            continue
        try:
            join(probe, sleeper.pid)
            works = members(probe) == [sleeper.pid]
        except OSError:
            pass
        finally:
            sleeper.kill()
            sleeper.wait()
        remove(probe)
        if works:
            _sweep(candidate)
            return candidate
    return None


def _sweep(where: Path) -> None:
    """Remove the groups that an nngrade of this PID namespace which is no longer running
    left behind (a killed batch), and whatever is still in them."""
    for group in where.glob(f"{PREFIX}{_namespace()}-*-*"):
        pid = group.name.split("-")[2]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            remove(group)


def problem() -> str | None:
    """Why submissions get no hard task cap here (None when they do)."""
    if parent() is None:
        return ("no cgroup with the pids controller that nngrade may create here "
                "(cgroup v1 `pids`, or v2 with `pids` delegated)")
    return None


def create(max_tasks: int) -> Path | None:
    """A new group capped at `max_tasks` tasks, or None where there is none (see problem)."""
    where = parent()
    if where is None:
        return None
    try:
        return _make(where, max_tasks)
    except OSError:
        return None


def kill_all(group: Path, seconds: float = 10.0) -> bool:
    """SIGKILL every process in `group` until it is empty; True when it is."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pids = members(group)
        if not pids:
            return True
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.01)
    return not members(group)


def remove(group: Path) -> None:
    """Kill what is left in `group` and delete it (a group that will not go stays behind)."""
    kill_all(group)
    for _ in range(100):
        try:
            group.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:  # busy: a killed process not yet reaped by its parent
            time.sleep(0.01)
