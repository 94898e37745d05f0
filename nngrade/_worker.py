"""Grade one submission inside a scratch course (the grader process).

nngrade autograde prepares the scratch folder (nngrade.scratch), forks a process that runs
main() there under a wall-clock deadline, and reads result.json back. To look at a failure by
hand: `python -m nngrade._worker SCRATCH/job.json`. This process runs nbgrader, never
student code: the kernel runs in the sandbox (nngrade.sandbox) or, without it, as a child of
this process, which limits itself first so that the kernel inherits the limits. Whatever the
kernel left running is killed when this process ends.
"""

from __future__ import annotations

import json
import re
import sys
import traceback
from pathlib import Path
from typing import Any

from nbgrader.apps import NbGraderAPI
from nbgrader.converters import Autograde
from nbgrader.preprocessors import Execute, OverwriteCells
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from .course import CONFIG_FILE
from .limits import Limits
from .preprocessors import GuardedExecute, RestoreMissingCells, SkipExecution
from .processes import become_subreaper, kill_descendants
from .sandbox import Sandbox, SandboxKernelManager
from .scratch import Scratch


def _replaced(chain: list[Any], swap: dict[Any, Any]) -> list[Any]:
    return [swap.get(step, step) for step in chain]


def scratch_config(scratch: Scratch, job: dict[str, Any], limits: Limits) -> Config:
    """The course's nbgrader config (its snapshot copied into the scratch folder), pointed at
    the scratch folder, with nbgrader's own preprocessor chain in which nngrade's replace
    Execute and OverwriteCells."""
    config = PyFileConfigLoader(CONFIG_FILE, path=str(scratch.root)).load_config()
    for name, value in scratch.course_directory().items():
        setattr(config.CourseDirectory, name, value)
    config.OverwriteCells.add_missing_cells = True
    config.Execute.timeout = limits.cell_timeout
    config.Execute.iopub_timeout = 10
    config.Execute.shutdown_kernel = "immediate"  # nothing in the kernel is needed afterwards
    execute = config.GuardedExecute
    execute.max_output_bytes = limits.max_output_mb * 2**20
    execute.max_total_output_bytes = limits.max_total_output_mb * 2**20
    execute.test_cells = job.get("test_cells", [])
    execute.lab_code = job.get("lab_code", "")
    execute.preload = job.get("preload", [])
    config.LimitOutput.max_lines = limits.max_output_lines
    if job.get("sandbox"):
        sandbox = Sandbox(readable=tuple(map(Path, job["sandbox"]["readable"])),
                          hidden=tuple(map(Path, job["sandbox"]["hidden"])),
                          ipc=scratch.ipc, limits=limits, lab_files=scratch.source)
        execute.kernel_manager_class = SandboxKernelManager
        config.SandboxKernelManager.sandbox_command = sandbox.command([])
        config.SandboxKernelManager.ipc_dir = str(scratch.ipc)
    runner = GuardedExecute
    if job.get("skip_reason"):
        runner = SkipExecution
        config.SkipExecution.reason = job["skip_reason"]
    defaults = Autograde.class_traits()
    config.Autograde.sanitize_preprocessors = _replaced(
        defaults["sanitize_preprocessors"].default(), {OverwriteCells: RestoreMissingCells})
    config.Autograde.autograde_preprocessors = _replaced(
        defaults["autograde_preprocessors"].default(), {Execute: runner})
    return config


def grade(scratch: Scratch, job: dict[str, Any]) -> dict[str, Any]:
    """Autograde the scratch submission with nbgrader; report what happened."""
    limits = Limits(**job["limits"])
    config = scratch_config(scratch, job, limits)
    api = NbGraderAPI(config=config)
    outcome = api.autograde(scratch.lab, scratch.student, force=True, create=True)
    result: dict[str, Any] = {"success": bool(outcome["success"])}
    if not outcome["success"]:
        log = outcome.get("log") or ""
        # nbgrader's own exception only says "see the traceback above": quote that traceback's error.
        errors = re.findall(r"^\s*(\w[\w.]*(?:Error|Exception|Exit)\b.*)$", log, re.MULTILINE)
        result["error"] = errors[-1] if errors else (outcome.get("error") or "").strip()
        result["log"] = "\n".join(log.strip().splitlines()[-60:])
    result["journal"] = GuardedExecute.journal
    result.update(GuardedExecute.timing)
    return result


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(f"expected one argument, the job file; got {argv}", file=sys.stderr)
        return 2
    scratch, job = Scratch.read_job(Path(argv[0]))
    become_subreaper()
    refused = Limits(**job["limits"]).apply_rlimits()
    try:
        result = grade(scratch, job)
    except BaseException:
        result = {"success": False, "error": traceback.format_exc(limit=8)}
    finally:
        kill_descendants()
    result["limits_refused"] = refused
    scratch.result.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
