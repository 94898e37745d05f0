"""Test-run settings shared by tests/, lessons/ and solutions/.

Notebooks under lessons/ and solutions/ are collected by nbval (`--nbval-lax`: every cell must
run without error; outputs are not compared). At the end of the run, each notebook's total
time is printed, slowest first.
"""
from __future__ import annotations

import os
from collections import defaultdict

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")
# pytest-xdist runs one worker per core: one math thread per worker (and per notebook kernel,
# which inherits this environment) avoids oversubscribing the cores, which slows torch ~25x.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
    os.environ.setdefault(_var, "1")

_notebook_seconds: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report) -> None:
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _notebook_seconds[path] += report.duration


def pytest_terminal_summary(terminalreporter) -> None:
    if not _notebook_seconds:
        return
    terminalreporter.section("notebook times (all cells, setup and teardown)")
    for path, seconds in sorted(_notebook_seconds.items(), key=lambda kv: -kv[1]):
        terminalreporter.write_line(f"{seconds:7.1f} s  {path}")
