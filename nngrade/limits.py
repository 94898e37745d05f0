"""Resource limits of one graded submission, and the environment its processes start with."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

MIB = 2**20


@dataclass(frozen=True)
class Limits:
    """What one submission may use. The grader process sets the rlimits on itself; the
    kernel it starts inherits them (RLIMIT_AS and RLIMIT_FSIZE count per process)."""

    cell_timeout: int = 120  # seconds a cell may run before it is interrupted
    time_limit: int = 900  # seconds for the whole submission, kernel start-up included
    memory_mb: int = 4096  # address space of the kernel (and of the grader process)
    max_memory_mb: int = 4096  # memory of all its processes together: a cap where a memory cgroup can be made
    max_output_lines: int = 1000  # lines of output kept per cell (nbgrader's LimitOutput)
    max_output_mb: int = 8  # output a cell may send while it runs; the rest is dropped
    max_total_output_mb: int = 32  # output the whole submission may send
    max_file_mb: int = 1024  # largest file the submission may write (RLIMIT_FSIZE)
    max_disk_mb: int = 1024  # what it may write in all: its /tmp (a tmpfs) and its scratch folder
    max_processes: int = 128  # processes (not threads) the submission may run at once
    max_tasks: int = 512  # processes and threads at once: a hard cap where a pids cgroup can be made
    threads: int = 1  # BLAS / torch / TensorFlow threads of the kernel

    def to_dict(self) -> dict:
        return asdict(self)

    def apply_rlimits(self) -> list[str]:
        """Limit the calling process (and whatever it starts): memory, file size, no core dumps.

        Returns the limits the system refused (macOS does not enforce RLIMIT_AS)."""
        import resource  # POSIX only: generate, collect, feedback and export work without it

        refused = []
        for name, value in (("RLIMIT_AS", self.memory_mb * MIB),
                            ("RLIMIT_FSIZE", self.max_file_mb * MIB), ("RLIMIT_CORE", 0)):
            limit = getattr(resource, name)
            hard = resource.getrlimit(limit)[1]
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            try:
                resource.setrlimit(limit, (value, value))
            except (ValueError, OSError):
                refused.append(name)
        return refused

    def environment(self, home: Path) -> dict[str, str]:
        """Environment of the grader process and of an unsandboxed kernel: nothing of the
        instructor's (tokens, keys) but PATH and PYTHONPATH, a private HOME and caches in the
        scratch folder, no bytecode written into the repository, a fixed number of threads."""
        env = {k: os.environ[k] for k in ("PATH", "PYTHONPATH", "LANG", "LC_ALL") if k in os.environ}
        threads = str(self.threads)
        env.update(
            MPLBACKEND="Agg",
            HOME=str(home),
            XDG_CACHE_HOME=str(home / ".cache"),
            XDG_CONFIG_HOME=str(home / ".config"),
            XDG_DATA_HOME=str(home / ".local" / "share"),
            IPYTHONDIR=str(home / ".ipython"),
            MPLCONFIGDIR=str(home / ".matplotlib"),
            JUPYTER_RUNTIME_DIR=str(home / "runtime"),
            JUPYTER_PLATFORM_DIRS="1",
            PYTHONDONTWRITEBYTECODE="1",
            OMP_NUM_THREADS=threads,
            OPENBLAS_NUM_THREADS=threads,
            MKL_NUM_THREADS=threads,
            NUMEXPR_NUM_THREADS=threads,
            TF_NUM_INTRAOP_THREADS=threads,
            TF_NUM_INTEROP_THREADS=threads,
            TF_CPP_MIN_LOG_LEVEL="2",
        )
        return env
