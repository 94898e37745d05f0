"""Limits no rlimit enforces for a whole submission, checked from outside while it runs: how
many processes it has (a fork bomb), and how much it wrote into its scratch folder.

The grader process is a subreaper (nngrade.processes) and the sandbox has its own PID
namespace, so every process of a submission, daemons included, is a descendant of its
grader process. A submission over a limit is killed like one past its deadline.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from .cgroup import refused_forks
from .limits import MIB, Limits
from .processes import children
from .status import DISK, PROCESSES

OURS = 3  # processes of a submission's tree that are nngrade's: the grader process, bwrap, its init
MAX_FILES = 100_000  # entries of a scratch folder walked before it counts as too big


def count_processes(pid: int, stop_at: int) -> int:
    """The process `pid` and its descendants (not threads), counted up to `stop_at`."""
    seen = {pid}
    frontier = [pid]
    while frontier and len(seen) <= stop_at:
        frontier = [c for p in frontier for c in children(p) if c not in seen]
        seen.update(frontier)
    return len(seen)


def folder_bytes(folder: Path, stop_at: int) -> int:
    """Bytes on disk of the files under `folder` (symbolic links not followed), counted up to
    `stop_at`; a folder of more than MAX_FILES entries counts as `stop_at`."""
    total, entries = 0, 0
    stack = [str(folder)]
    while stack and total <= stop_at:
        try:
            with os.scandir(stack.pop()) as it:
                for entry in it:
                    entries += 1
                    if entries > MAX_FILES:
                        return max(total, stop_at + 1)
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(entry.path)
                        else:
                            total += entry.stat(follow_symlinks=False).st_blocks * 512
                    except OSError:
                        pass
        except OSError:
            pass
    return total


def over_limits(pid: int, folder: Path, limits: Limits, disk: bool = True,
                base: int = 0, groups: Sequence[Path] = ()) -> tuple[str, str] | None:
    """(status, note) when the submission graded by process `pid` is over its process limit
    (or met the task cap of its cgroups `groups`), or (with `disk`) has written more than its
    disk limit into `folder` (which held `base` bytes when it started); None when it is
    within both."""
    if any(refused_forks(group) for group in groups):
        return PROCESSES, (f"The code started more than {limits.max_tasks} processes and threads at "
                           "once; the system refused more and it was stopped.")
    if count_processes(pid, limits.max_processes + OURS) > limits.max_processes + OURS:
        return PROCESSES, (f"The code started more than {limits.max_processes} processes at once "
                           "and was stopped.")
    allowed = limits.max_disk_mb * MIB
    if disk and folder_bytes(folder, base + allowed) - base > allowed:
        return DISK, (f"The code wrote more than {limits.max_disk_mb} MB into its folder; "
                      "it was stopped and its run does not count.")
    return None
