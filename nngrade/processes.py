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
from collections.abc import Callable
from pathlib import Path

import psutil

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


def kill_descendants(keep: set[int] | frozenset[int] = frozenset()) -> None:
    """Kill every child process (and its descendants) whose pid is not in keep."""
    for child in psutil.Process().children():
        if child.pid not in keep:
            kill_tree(child.pid)


class Forked:
    """A child process made by fork(): it starts with everything this process has imported
    (nbgrader, nbconvert), which saves seconds per submission over starting Python anew."""

    def __init__(self, target: Callable[[], int], cwd: Path, env: dict[str, str], log: Path) -> None:
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
