"""The box a submission's kernel runs in: bubblewrap (bwrap) namespaces and resource limits.

The kernel sees a minimal file system: the system's programs and libraries, Python and the
virtual environment, and the course code, all read-only; a private /tmp (its working folder
and HOME, a tmpfs of Limits.max_disk_mb); and one writable folder on disk, `ipc`, that holds
the connection file and the IPC sockets through which nbgrader talks to it. The repository's
solutions/ and .git, the course directory (gradebook, other submissions, backups) and
nngrade's scratch folders are not visible. It has its own PID namespace (no signal reaches
the grader, and every process of the submission dies with the sandbox), no network, its own
IPC, UTS and cgroup namespaces, a clean environment, and rlimits set inside the sandbox
before ipykernel starts. The number of its processes and what it writes into `ipc` are
watched from outside (nngrade.watchdog).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from traitlets import List, Unicode

from .limits import MIB, Limits

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc", "/opt")
HOME = "/tmp/home"  # the kernel's HOME and working folder, inside the sandbox's /tmp
WORKDIR = "/tmp/work"

LAB_FILES = "/tmp/lab-files"  # the lab's own files (data), read-only, copied into WORKDIR
# Runs inside the sandbox: set the rlimits, make HOME and the working folder (with a copy of
# the lab's files), then become the kernel (argv: AS FSIZE NPROC HOME WORKDIR LAB_FILES CMD...).
# RLIMIT_NPROC counts a user's processes; only in a user namespace of a user other than root
# does it count the sandbox's alone (root ignores it): elsewhere nngrade's watchdog counts.
LAUNCHER = """\
import os, resource, shutil, sys
limits = [("RLIMIT_AS", sys.argv[1]), ("RLIMIT_FSIZE", sys.argv[2]), ("RLIMIT_CORE", "0")]
with open("/proc/self/uid_map") as f:
    if os.getuid() != 0 and f.read().split() != ["0", "0", "4294967295"]:
        limits.append(("RLIMIT_NPROC", sys.argv[3]))
for name, value in limits:
    resource.setrlimit(getattr(resource, name), (int(value), int(value)))
os.makedirs(sys.argv[4], exist_ok=True)
if os.path.isdir(sys.argv[6]):
    shutil.copytree(sys.argv[6], sys.argv[5], dirs_exist_ok=True)
os.makedirs(sys.argv[5], exist_ok=True)
os.chdir(sys.argv[5])
os.execv(sys.argv[7], sys.argv[7:])
"""


class SandboxUnavailable(Exception):
    """bubblewrap is missing or cannot create namespaces on this system."""


@lru_cache(maxsize=1)
def bwrap_problem() -> str | None:
    """Why the sandbox cannot be used here (None when `bwrap --unshare-all` works)."""
    if not sys.platform.startswith("linux"):
        return f"the sandbox needs Linux namespaces; this is {sys.platform}"
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap is not installed (`apt-get install bubblewrap`, `dnf install bubblewrap`)"
    try:
        run = subprocess.run([bwrap, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/",
                              "--proc", "/proc", "--dev", "/dev", "true"],
                             capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bwrap could not be run ({error})"
    if run.returncode != 0:
        return f"bwrap cannot create namespaces here ({run.stderr.strip()[:300]})"
    return None


def _within(path: Path, roots: list[Path]) -> bool:
    return any(path == r or r in path.parents for r in roots)


@dataclass(frozen=True)
class Sandbox:
    """The bwrap command line for one kernel.

    readable: folders bound read-only (the course code, the virtual environment, PYTHONPATH);
    hidden: folders or files under those that must stay invisible (solutions/, .git, the
    course directory, nngrade's scratch root); ipc: the one writable folder on disk."""

    readable: tuple[Path, ...]
    hidden: tuple[Path, ...]
    ipc: Path
    limits: Limits
    lab_files: Path | None = None  # the lab's files besides its notebooks, copied to WORKDIR
    python: str = sys.executable

    def _empty_file(self) -> Path:
        """An empty file next to the ipc folder, bound over hidden files (such as a git
        worktree's .git)."""
        empty = self.ipc.parent / "empty"
        empty.touch(mode=0o444, exist_ok=True)
        return empty.resolve()

    def environment(self) -> dict[str, str]:
        """The kernel's whole environment: nothing of the instructor's (tokens, keys)."""
        threads = str(self.limits.threads)
        env = {
            "PATH": f"{Path(self.python).parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": HOME, "TMPDIR": "/tmp", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1", "MPLBACKEND": "Agg",
            "XDG_CACHE_HOME": f"{HOME}/.cache", "XDG_CONFIG_HOME": f"{HOME}/.config",
            "IPYTHONDIR": f"{HOME}/.ipython", "MPLCONFIGDIR": f"{HOME}/.matplotlib",
            "JUPYTER_RUNTIME_DIR": f"{HOME}/runtime", "JUPYTER_PLATFORM_DIRS": "1",
            "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads,
            "MKL_NUM_THREADS": threads, "NUMEXPR_NUM_THREADS": threads,
            "TF_NUM_INTRAOP_THREADS": threads, "TF_NUM_INTEROP_THREADS": threads,
            "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "",
        }
        pythonpath = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        if pythonpath:
            env["PYTHONPATH"] = os.pathsep.join(pythonpath)
        return env

    def command(self, kernel: list[str]) -> list[str]:
        """bwrap ... python -c LAUNCHER ... KERNEL: the kernel command, wrapped."""
        bwrap = shutil.which("bwrap") or "bwrap"
        cmd = [bwrap, "--unshare-all", "--die-with-parent", "--new-session"]
        for system in SYSTEM_DIRS:
            path = Path(system)
            if path.is_symlink():
                cmd += ["--symlink", os.readlink(path), system]
            elif path.is_dir():
                cmd += ["--ro-bind", system, system]
        cmd += ["--proc", "/proc", "--dev", "/dev",
                "--size", str(self.limits.max_disk_mb * MIB), "--tmpfs", "/tmp"]
        bound = [Path(p) for p in SYSTEM_DIRS]
        for folder in sorted({p.resolve() for p in self.readable if p.exists()}, key=lambda p: len(p.parts)):
            if not _within(folder, bound):
                cmd += ["--ro-bind", str(folder), str(folder)]
                bound.append(folder)
        for path in sorted({p.resolve() for p in self.hidden if os.path.lexists(p)}, key=lambda p: len(p.parts)):
            if not _within(path, bound):
                continue
            if path.is_dir():
                cmd += ["--tmpfs", str(path), "--remount-ro", str(path)]
            else:
                cmd += ["--ro-bind", str(self._empty_file()), str(path)]
        if self.lab_files is not None and self.lab_files.is_dir():
            cmd += ["--ro-bind", str(self.lab_files.resolve()), LAB_FILES]
        ipc = self.ipc.resolve()
        cmd += ["--bind", str(ipc), str(ipc), "--chdir", "/tmp", "--clearenv"]
        for key, value in self.environment().items():
            cmd += ["--setenv", key, value]
        limits = self.limits
        cmd += [self.python, "-I", "-c", LAUNCHER, str(limits.memory_mb * MIB), str(limits.max_file_mb * MIB),
                str(limits.max_processes), HOME, WORKDIR, LAB_FILES, *kernel]
        return cmd


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels start inside the sandbox and talk over IPC sockets in
    the sandbox's `ipc` folder. Interrupts go as messages: a signal to bwrap would not reach
    the kernel in its own PID namespace."""

    sandbox_command = List(Unicode(), help="bwrap ... up to the kernel command").tag(config=True)
    ipc_dir = Unicode(help="The folder bound into the sandbox for the sockets").tag(config=True)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.transport = "ipc"
        self.ip = os.path.join(self.ipc_dir, "k")
        self.connection_file = os.path.join(self.ipc_dir, "kernel.json")

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        """Launch it with its stdout and stderr in `kernel.log` of the ipc folder (watched
        like all it writes there), not in the grader's log, which the kernel would otherwise
        hold open, writable, from inside the sandbox."""
        with open(os.path.join(self.ipc_dir, "kernel.log"), "ab") as log:
            kw["stdout"] = kw["stderr"] = log
            await super()._async_launch_kernel(kernel_cmd, **kw)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        if self.kernel_spec is not None:
            self.kernel_spec.interrupt_mode = "message"
        kernel = super().format_kernel_cmd(extra_arguments)
        if kernel and Path(kernel[0]).name.startswith("python"):
            kernel[0] = sys.executable
        return [*self.sandbox_command, *kernel]
