"""Keeping track of the processes a submission starts, so none outlives its grading."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

import psutil

from .cgroup import join

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36


def _prctl(option: int, value: int) -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(option, value, 0, 0, 0)


def become_subreaper() -> None:
    """Make orphaned descendants (daemons started by student code) our children on Linux,
    instead of init's, so that kill_descendants still finds them."""
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)


def die_with_parent() -> None:
    """Be killed when the parent process ends (Linux), so that a killed batch leaves no
    grader process running."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _freeze(processes: list[psutil.Process]) -> None:
    for process in processes:
        try:
            process.suspend()
        except psutil.Error:
            pass


def _reap(pids: list[int]) -> None:
    """Collect the exit status of those of these processes that are finished children."""
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


def kill_tree(pid: int) -> None:
    """SIGKILL a process and all its descendants, then reap those that are our children.
    Each is stopped (SIGSTOP) before its children are listed, so none can fork away."""
    try:
        frontier = [psutil.Process(pid)]
    except psutil.NoSuchProcess:
        return
    found: dict[int, psutil.Process] = {}
    while frontier:
        _freeze(frontier)
        found.update((p.pid, p) for p in frontier)
        below = []
        for process in frontier:
            try:
                below += [c for c in process.children() if c.pid not in found]
            except psutil.Error:
                pass
        frontier = below
    victims = list(found.values())
    for victim in victims:
        try:
            victim.kill()
        except psutil.NoSuchProcess:
            pass
    _reap(list(found))
    psutil.wait_procs([v for v in victims if _alive(v)], timeout=5)
    _reap(list(found))


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def children(pid: int) -> list[int]:
    """Pids of the children of process `pid`, read from /proc/<pid>/task/*/children on Linux
    (fast: no scan of every process), else from psutil; none when it is gone."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:  # gone, or no /proc
        try:
            return [c.pid for c in psutil.Process(pid).children()]
        except psutil.Error:
            return []
    found = []
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(c) for c in f.read().split()]
        except OSError:  # a thread that just ended
            pass
    return found


def kill_descendants(keep: set[int] | frozenset[int] = frozenset(), seconds: float = 30.0) -> None:
    """Kill every child process (and its descendants) whose pid is not in keep, again while
    new ones appear: a process that keeps forking (changing its pid) leaves orphans, which
    come back to this process as their subreaper. Each is stopped the moment it is seen."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        orphans = [pid for pid in children(os.getpid()) if pid not in keep]
        if not orphans:
            return
        for pid in orphans:
            try:
                os.kill(pid, signal.SIGSTOP)
            except OSError:
                pass
        for pid in orphans:
            try:
                finished = os.waitpid(pid, os.WNOHANG)[0] == pid
            except ChildProcessError:
                finished = True
            if not finished:
                kill_tree(pid)


class Forked:
    """A child process made by fork(): it starts with everything this process has imported
    (nbgrader, nbconvert), which saves seconds per submission over starting Python anew."""

    def __init__(self, target: Callable[[], int], cwd: Path, env: dict[str, str], log: Path,
                 groups: Sequence[Path] = ()) -> None:
        """groups: cgroups (nngrade.cgroup) the child joins first, with all it will start."""
        sys.stdout.flush()
        sys.stderr.flush()
        self.returncode: int | None = None
        self.pid = os.fork()
        if self.pid == 0:  # the child: never returns
            code = 70
            try:
                os.setsid()
                die_with_parent()
                out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
                os.dup2(out, 1)
                os.dup2(out, 2)
                for group in groups:
                    try:
                        join(group)
                    except OSError as error:  # the watchdog still counts its processes
                        print(f"nngrade: no hard cap {group.name} for this submission ({error})", file=sys.stderr)
                os.chdir(cwd)
                os.environ.clear()
                os.environ.update(env)
                code = target()
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)

    def poll(self) -> int | None:
        """The exit status (negative: killed by that signal), or None while it runs."""
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped already (by kill_tree)
                self.returncode = -9
            else:
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout or 0.0)
            time.sleep(0.05)
        assert self.returncode is not None
        return self.returncode
