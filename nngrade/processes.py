"""Keeping track of the processes a submission starts, so none outlives its grading."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

import psutil

_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    """Make orphaned descendants (daemons started by student code) our children on Linux,
    instead of init's, so that kill_descendants still finds them."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def kill_tree(pid: int) -> None:
    """SIGKILL a process and all its descendants, then reap those that are our children."""
    try:
        root = psutil.Process(pid)
        victims = [*root.children(recursive=True), root]
    except psutil.NoSuchProcess:
        return
    for victim in victims:
        try:
            victim.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(victims, timeout=5)


def kill_descendants(keep: set[int] = frozenset()) -> None:
    """Kill every child process (and its descendants) whose pid is not in keep."""
    for child in psutil.Process().children():
        if child.pid not in keep:
            kill_tree(child.pid)
