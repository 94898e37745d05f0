"""Hard caps on one submission, enforced by the kernel, with cgroups made per grader process
where this system lets nngrade make them (cgroup v1's `pids` and `memory` hierarchies, or a
cgroup v2 tree with the controllers delegated to nngrade's own cgroup, as root or as the
delegated user):

- `pids`: the tasks (processes and threads) it may run at once; at the cap, fork() and
  thread creation fail in the submission;
- `memory`: the memory of all its processes together (RLIMIT_AS counts one process: a
  submission that forks would multiply it); at the cap, the kernel's OOM killer stops the
  largest of them, and `oom_kills` says so.

Each controller is found (and tried, with a process moved into a probe group) on its own;
where one is missing, the watchdog's checks (nngrade.watchdog) and the rlimits are the only
limits of that kind. The pids group also lists every process of the submission, wherever it
was re-parented, so `kill_all` leaves none behind.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import time
from functools import cache
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
PREFIX = "nngrade-"
PIDS = "pids"
MEMORY = "memory"
# Per controller: a file every group of it has (v1, v2), and the files its cap is written to
# (those the group has, in this order: v1 wants the memory limit before memory+swap).
_PRESENT = {PIDS: ("pids.current",), MEMORY: ("memory.usage_in_bytes", "memory.current")}
_CAPS = {PIDS: ("pids.max",), MEMORY: ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.max")}
_PROBE_CAP = {PIDS: 4, MEMORY: 64 * 2**20}
_names = itertools.count()


def _own_parents(controller: str) -> list[Path]:
    """The cgroup folders of this process in which a group of `controller` could be made:
    its v1 hierarchy first, then v2's unified one."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        relative = path.lstrip("/")
        if controller in controllers.split(","):
            found.append(ROOT / controllers / relative)
        elif controllers == "":
            found.append(ROOT / relative)
    return found


def _namespace() -> str:
    """This process's PID namespace (its inode): pids are only compared within it."""
    try:
        return os.readlink("/proc/self/ns/pid").strip("pid:[]")
    except OSError:
        return "0"


def _make(parent: Path, caps: dict[str, int]) -> Path:
    """A new group under `parent` with these caps (controller -> tasks or bytes)."""
    group = parent / f"{PREFIX}{_namespace()}-{os.getpid()}-{next(_names)}"
    group.mkdir()
    try:
        for controller, cap in caps.items():
            # the kernel fills a real group with its controllers' files
            if not any((group / name).exists() for name in _PRESENT[controller]):
                raise NotADirectoryError(f"{parent} is not a cgroup with the {controller} controller")
            for name in _CAPS[controller]:
                if (group / name).exists():
                    (group / name).write_text(str(cap))
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


def _event(group: Path, files: tuple[str, ...], key: str) -> int:
    """The counter `key` of the first of these event files that `group` has (0 if none)."""
    for name in files:
        try:
            for line in (group / name).read_text().splitlines():
                found, _, value = line.partition(" ")
                if found == key:
                    return int(value)
        except (OSError, ValueError):
            continue
    return 0


def refused_forks(group: Path) -> int:
    """How many times a fork or a new thread in `group` failed at its cap (pids.events)."""
    return _event(group, ("pids.events",), "max")


def oom_kills(group: Path) -> int:
    """How many processes of `group` the OOM killer stopped at its memory cap (v1's
    memory.oom_control, v2's memory.events)."""
    return _event(group, ("memory.oom_control", "memory.events"), "oom_kill")


@cache
def parent(controller: str = PIDS) -> Path | None:
    """The cgroup folder under which submissions' groups of `controller` are made, or None
    where this system does not let nngrade make such a group and move a process into it
    (checked once, with a `sleep` moved into a probe group)."""
    for candidate in _own_parents(controller):
        try:
            probe = _make(candidate, {controller: _PROBE_CAP[controller]})
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


def problem(controller: str = PIDS) -> str | None:
    """Why submissions get no hard cap of `controller` here (None when they do)."""
    if parent(controller) is None:
        return (f"no cgroup with the {controller} controller that nngrade may create here "
                f"(cgroup v1 `{controller}`, or v2 with `{controller}` delegated)")
    return None


def create(max_tasks: int, max_memory_mb: int | None = None) -> list[Path]:
    """New groups for one submission: at most `max_tasks` tasks and, when given,
    `max_memory_mb` MB in all; one group per hierarchy (v1: one per controller, v2: one for
    both). Empty where there is none (see problem)."""
    caps = {PIDS: max_tasks} if max_memory_mb is None else {PIDS: max_tasks, MEMORY: max_memory_mb * 2**20}
    by_parent: dict[Path, dict[str, int]] = {}
    for controller, cap in caps.items():
        where = parent(controller)
        if where is not None:
            by_parent.setdefault(where, {})[controller] = cap
    groups = []
    for where, these in by_parent.items():
        try:
            groups.append(_make(where, these))
        except OSError:
            pass
    return groups


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
