"""Grade one submission inside a scratch course (the grader process).

nngrade autograde prepares the scratch folder (source/, submitted/, copies of the gradebook
and of nbgrader_config.py, job.json), forks a process that runs main() there under a wall-clock deadline, and reads
result.json back. To look at a failure by hand: `python -m nngrade._worker SCRATCH/job.json`. This process limits itself before nbgrader starts the kernel, so the
kernel inherits the limits, and it kills whatever the kernel left running when it ends.
"""

from __future__ import annotations

import json
import re
import sys
import traceback
from pathlib import Path
from typing import Any

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.apps import NbGraderAPI
from nbgrader.preprocessors import (
    AssignLatePenalties, CheckCellMetadata, ClearOutput, DeduplicateIds, IgnorePattern, LimitOutput,
    OverwriteKernelspec, SaveAutoGrades)
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from .course import CONFIG_FILE
from .preprocessors import GuardedExecute, RestoreMissingCells, SkipExecution
from .limits import Limits
from .processes import become_subreaper, kill_descendants


def scratch_config(job: dict[str, Any], limits: Limits) -> Config:
    """The course's nbgrader config (its snapshot copied into the scratch folder), pointed at
    the scratch folder, with nngrade's preprocessors."""
    scratch = job["scratch"]
    config = PyFileConfigLoader(CONFIG_FILE, path=scratch).load_config()
    cd = config.CourseDirectory
    cd.root = scratch
    cd.source_directory = "source"
    cd.release_directory = "release"
    for step in ("submitted", "autograded", "feedback", "solution", "source_with_tests"):
        setattr(cd, f"{step}_directory", step)
    cd.db_url = f"sqlite:///{scratch}/gradebook.db"
    config.OverwriteCells.add_missing_cells = True
    config.Execute.timeout = limits.cell_timeout
    config.Execute.iopub_timeout = 10
    config.Execute.shutdown_kernel = "immediate"  # nothing in the kernel is needed afterwards
    config.GuardedExecute.max_output_bytes = limits.max_output_mb * 2**20
    config.LimitOutput.max_lines = limits.max_output_lines
    runner = GuardedExecute
    if job.get("skip_reason"):
        runner = SkipExecution
        config.SkipExecution.reason = job["skip_reason"]
    config.Autograde.sanitize_preprocessors = [
        ClearOutput, DeduplicateIds, OverwriteKernelspec, RestoreMissingCells, CheckCellMetadata,
    ]
    config.Autograde.autograde_preprocessors = [
        runner, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
        AssignLatePenalties, CheckCellMetadata,
    ]
    return config


def grade(job: dict[str, Any]) -> dict[str, Any]:
    """Autograde the scratch submission with nbgrader; report what happened."""
    limits = Limits(**job["limits"])
    config = scratch_config(job, limits)
    api = NbGraderAPI(config=config)
    outcome = api.autograde(job["lab"], job["student"], force=True, create=True)
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
    job_path = Path(argv[0])
    job = json.loads(job_path.read_text())
    become_subreaper()
    refused = Limits(**job["limits"]).apply_rlimits()
    try:
        result = grade(job)
    except BaseException:
        result = {"success": False, "error": traceback.format_exc(limit=8)}
    finally:
        kill_descendants()
    result["limits_refused"] = refused
    (job_path.parent / "result.json").write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
