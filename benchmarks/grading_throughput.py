"""How fast `nngrade autograde` grades: copies of each lab's reference solution, graded with
1 and with 2 parallel workers, on a copy of the course in a temporary folder.

    python benchmarks/grading_throughput.py                      # every lab, 20 copies, -j 1 and -j 2
    python benchmarks/grading_throughput.py --labs backprop-minifw --copies 10 --jobs 2
    python benchmarks/grading_throughput.py --modes sandbox unsafe   # the sandbox's cost

Prints one markdown row per lab, mode and worker count: submissions per minute (batch wall
time, set-up included) and the mean seconds per submission, split into kernel start-up (in
the sandbox: starting bwrap and the kernel in it), running the cells (with the integrity
checks around each hidden test), and the rest (starting the grader process, nbgrader's own
work, scoring, writing into the course). *CPU s/submission* is the CPU time (user + system)
of the whole `nngrade autograde` run, its kernels included, divided by the copies (counted
by a cpuacct cgroup, so cgroup v1 as root; `n/a` elsewhere): unlike
the wall times it hardly moves when other work shares the machine, and N free cores grade at
most 60 × N / (CPU s/submission) submissions per minute. Mode `sandbox` is the default of
`nngrade autograde`; `unsafe` is `--unsafe-no-sandbox`.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
CPUACCT = Path("/sys/fs/cgroup/cpuacct")


def reference_submission(root: Path, lab: str) -> nbformat.NotebookNode:
    """The student release with every answer cell filled in from the solution."""
    release = nbformat.read(root / "labs" / lab / f"{lab}.ipynb", as_version=4)
    source = nbformat.read(root / "solutions" / lab / f"{lab}.ipynb", as_version=4)
    answers = {c.metadata.nbgrader["grade_id"]: c.source for c in source.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = answers[meta["grade_id"]]
    return nb


def nngrade(root: Path, *args: str) -> float | None:
    """Run nngrade; returns the CPU seconds it and every process it started used, where a
    cpuacct cgroup can count them (cgroup v1, as root), else None."""
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    group = CPUACCT / f"nngrade-bench-{os.getpid()}"
    try:
        group.mkdir()
        counted = True
    except OSError:
        counted = False

    def join() -> None:
        if counted:
            (group / "cgroup.procs").write_text(str(os.getpid()))

    try:
        subprocess.run([sys.executable, "-m", "nngrade", *args], cwd=root, env=env, check=True,
                       stdout=subprocess.DEVNULL, preexec_fn=join)
        return int((group / "cpuacct.usage").read_text()) / 1e9 if counted else None
    finally:
        if counted:
            group.rmdir()


def measure(lab: str, copies: int, jobs: int, limits: list[str]) -> dict[str, float]:
    """Grade `copies` reference submissions of one lab with `jobs` workers."""
    with tempfile.TemporaryDirectory(prefix="nngrade-bench-") as tmp:
        root = Path(tmp) / "repo"
        for part in (Path("nbgrader_config.py"), Path("solutions") / lab, Path("labs") / lab):
            (root / part).parent.mkdir(parents=True, exist_ok=True)
            (shutil.copytree if (REPO / part).is_dir() else shutil.copyfile)(REPO / part, root / part)
        nb = reference_submission(root, lab)
        for i in range(copies):
            path = Path(tmp) / "downloads" / f"student{i:03d}" / lab / f"{lab}.ipynb"
            path.parent.mkdir(parents=True)
            nbformat.write(nb, path)
        nngrade(root, "collect", str(Path(tmp) / "downloads"))
        start = time.monotonic()
        cpu = nngrade(root, "autograde", "-j", str(jobs), *limits)
        wall = time.monotonic() - start
        records = [json.loads(p.read_text()) for p in (root / "grading" / "status").rglob("*.json")]
    not_ok = [r["student"] for r in records if r["status"] != "ok"]
    if not_ok or len(records) != copies:
        raise SystemExit(f"expected {copies} submissions graded ok; got {len(records)}, not ok: {not_ok}")
    mean = {key: statistics.mean(r[key] for r in records)
            for key in ("seconds", "kernel_seconds", "cell_seconds")}
    return {"per_minute": 60 * copies / wall, "wall": wall, **mean,
            "other": mean["seconds"] - mean["kernel_seconds"] - mean["cell_seconds"],
            "cpu": cpu / copies if cpu is not None else None}


def main() -> None:
    labs_here = sorted(p.name for p in (REPO / "solutions").iterdir() if p.is_dir())
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labs", nargs="+", default=labs_here, help="labs to grade (default: all)")
    parser.add_argument("--copies", type=int, default=20, help="submissions per lab (default 20)")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="worker counts (default 1 2)")
    parser.add_argument("--cell-timeout", default="300", help="passed to nngrade autograde")
    parser.add_argument("--modes", nargs="+", choices=["sandbox", "unsafe"], default=["sandbox"],
                        help="sandbox (default) and/or unsafe (--unsafe-no-sandbox)")
    args = parser.parse_args()
    limits = ["--cell-timeout", args.cell_timeout, "--time-limit", "1800"]
    print(f"{os.cpu_count()} CPUs, {args.copies} copies of each reference solution\n")
    print("| lab | mode | workers | submissions/min | batch wall s | s/submission | kernel start s | cells s "
          "| other s | CPU s/submission |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for lab in args.labs:
        for jobs in args.jobs:
            for mode in args.modes:
                flags = limits + (["--unsafe-no-sandbox"] if mode == "unsafe" else [])
                m = measure(lab, args.copies, jobs, flags)
                cpu = "n/a" if m["cpu"] is None else f"{m['cpu']:.1f}"
                print(f"| {lab} | {mode} | {jobs} | {m['per_minute']:.1f} | {m['wall']:.0f} | "
                      f"{m['seconds']:.1f} | {m['kernel_seconds']:.1f} | {m['cell_seconds']:.1f} | "
                      f"{m['other']:.1f} | {cpu} |", flush=True)


if __name__ == "__main__":
    main()
