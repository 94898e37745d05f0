"""Every status decision: from what the submission held and what the grader process saw to
a status and notes a student can read."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .limits import Limits
from .preprocessors import describe_exit
from .status import CRASHED, DISK, INVALID, MEMORY, TAMPERED, TIMEOUT, worst

_TRUNCATED = "... Output truncated ..."


def cell_label(cells: list[dict], index: int) -> str:
    """'cell 7 (`def train(model, ...`)' for the 0-based index of a notebook cell."""
    if not 0 <= index < len(cells):
        return "a cell"
    lines = [line for line in str(cells[index].get("source", "")).splitlines() if line.strip()]
    first = lines[0].strip() if lines else ""
    first = first if len(first) <= 60 else first[:57] + "..."
    return f"cell {index + 1} (`{first}`)" if first else f"cell {index + 1}"


def diagnose(result: dict[str, Any], cells: list[dict], limits: Limits) -> tuple[list[str], list[str]]:
    """Statuses and notes for one run of the grader process (its result.json)."""
    statuses: list[str] = []
    notes: list[str] = []
    journal = result.get("journal", [])
    stuck = {e["cell"] for e in journal if e["kind"] == "unresponsive"}
    for event in journal:
        kind, label = event["kind"], cell_label(cells, event["cell"])
        if kind == "timeout" and event["cell"] not in stuck:
            statuses.append(TIMEOUT)
            notes.append(f"{label} ran longer than {limits.cell_timeout} s and was interrupted; "
                         "the cells after it were still run.")
        elif kind == "unresponsive":
            statuses.append(TIMEOUT)
            notes.append(f"{label} ran longer than {limits.cell_timeout} s and did not stop when "
                         "interrupted; the kernel was shut down, so the cells after it were not "
                         "run and their tests score 0.")
        elif kind == "died":
            statuses.append(CRASHED)
            notes.append(f"The kernel stopped while {label} ran: {event.get('detail', '')}. The "
                         "cells after it were not run and their tests score 0.")
        elif kind == "start_failed":
            statuses.append(CRASHED)
            notes.append(f"The kernel could not start ({event.get('error', '')}); no cell was run.")
        elif kind == "memory":
            statuses.append(MEMORY)
            notes.append(f"{label} ran out of memory (MemoryError): the limit is "
                         f"{limits.memory_mb} MB per process.")
        elif kind == "output":
            notes.append(f"{label} printed more than {limits.max_output_mb} MB; the rest of its "
                         "output was dropped.")
        elif kind == "total_output":
            notes.append(f"The notebook printed more than {limits.max_total_output_mb} MB in all "
                         f"(reached in {label}); the rest of its output was dropped.")
    integrity = [e for e in journal if e["kind"] == "integrity"]
    if integrity:
        first = integrity[0]
        where = ("before any cell ran" if first["cell"] < 0 else
                 f"first {first.get('when', 'around')} the hidden test {cell_label(cells, first['cell'])} ran")
        found = list(dict.fromkeys(p for e in integrity for p in e.get("problems", [])))
        statuses.append(TAMPERED)
        notes.append(f"The kernel was changed in a way that can make tests pass without a correct "
                     f"answer ({where}): {'; '.join(found)[:600]}. The autograded tests score 0; "
                     "your instructor will review.")
    for index, cell in enumerate(cells):
        errors = " ".join(str(o.get("evalue", "")) for o in cell.get("outputs", [])
                          if o.get("output_type") == "error")
        if "[Errno 28]" in errors:  # ENOSPC: the sandbox's /tmp is full
            statuses.append(DISK)
            notes.append(f"{cell_label(cells, index)} ran out of disk space: at most "
                         f"{limits.max_disk_mb} MB may be written in all.")
        elif "[Errno 27]" in errors:  # EFBIG: RLIMIT_FSIZE
            statuses.append(DISK)
            notes.append(f"{cell_label(cells, index)} wrote a file larger than {limits.max_file_mb} MB, "
                         "the limit per file.")
        if any(_TRUNCATED in str(o.get("text", "")) for o in cell.get("outputs", [])):
            notes.append(f"The output of {cell_label(cells, index)} was cut to "
                         f"{limits.max_output_lines} lines.")
    return statuses, notes


def memory_cap_note(limits: Limits) -> str:
    """The note for a submission whose processes together met the memory cap."""
    return (f"The code's processes together used more than {limits.max_memory_mb} MB, the limit for "
            "a whole submission; the system stopped the largest of them (usually the kernel, and "
            "then the cells after it were not run and their tests score 0).")


def tampered_files(changed: list[Path]) -> str:
    """The note for a submission that changed protected files."""
    shown = ", ".join(str(p) for p in changed[:5]) + (" ..." if len(changed) > 5 else "")
    return (f"The code changed files outside its own folder ({shown}). They were restored, "
            "and the autograded tests score 0; your instructor will review.")


def failure(log: Path, exit_code: int | None, overdue: bool, result: dict | None,
            limits: Limits) -> tuple[str, str]:
    """Status and note for a grader process that gave no grades."""
    if overdue:
        return TIMEOUT, (f"The submission ran longer than {limits.time_limit} s in total "
                         "and was stopped.")
    if result is None:
        try:
            text = log.read_bytes()[-20000:].decode("utf-8", "replace")
        except OSError:
            text = ""
        if "MemoryError" in text:
            return MEMORY, (f"The grader ran out of memory (limit {limits.memory_mb} MB "
                            "per process) while handling this submission's output.")
        return CRASHED, f"The grading process stopped unexpectedly ({describe_exit(exit_code)})."
    last = (result.get("error") or "unknown error").strip().splitlines()[-1]
    return CRASHED, f"nbgrader could not grade the notebook: {last[:300]}"


def changed_tests(submitted: dict, release: dict) -> str | None:
    """A note on the test cells of the release that the submission edited or deleted
    (nbgrader puts the originals back before running the notebook)."""
    def cells(nb: dict) -> dict[str, dict]:
        return {c["metadata"]["nbgrader"]["grade_id"]: c for c in nb.get("cells", [])
                if isinstance(c.get("metadata", {}).get("nbgrader"), dict)
                and "grade_id" in c["metadata"]["nbgrader"]}
    given = cells(submitted)
    changed = []
    for name, cell in cells(release).items():
        meta = cell["metadata"]["nbgrader"]
        if not (meta.get("grade") and meta.get("locked") and cell.get("cell_type") == "code"):
            continue
        if name not in given:
            changed.append(f"{name} (deleted)")
        elif given[name].get("source") != cell.get("source"):
            changed.append(f"{name} (edited)")
    if not changed:
        return None
    return (f"Test cells were changed in the submission: {', '.join(changed)}. The original "
            "tests were put back and run, so the change earned nothing.")


def submission_notes(problem: str | None, submitted: Mapping[str, dict] | None,
                     release: Mapping[str, dict]) -> tuple[list[str], list[str]]:
    """Statuses and notes from the submitted notebooks alone, before anything runs: why they
    cannot be read (`problem`), or which of their test cells were changed (`submitted`: the
    notebooks by name, None when they are not read)."""
    if problem:
        return [INVALID], [f"The submission could not be graded: {problem}. It was graded as the "
                           "blank lab instead, so every test scores 0."]
    notes = [changed_tests(nb, release[name]) for name, nb in (submitted or {}).items()]
    return [], [note for note in notes if note]


def conclude(statuses: list[str], notes: list[str], changed: list[Path], failed: tuple[str, str] | None,
             result: dict[str, Any] | None, cells: list[dict], limits: Limits) -> tuple[str, list[str]]:
    """The submission's status and notes, from those found before it ran, the protected files
    it changed, why its run gave no grades (`failed`, from failure(); it was then graded
    without running) and the run that gave the grades (its result.json and executed cells)."""
    statuses, notes = list(statuses), list(notes)
    if changed:
        statuses.append(TAMPERED)
        notes.append(tampered_files(changed))
    if failed:
        statuses.append(failed[0])
        notes.append(failed[1] + " The notebook was graded without running it again, so every "
                     "test scores 0; written answers are kept for manual grading.")
    if result and result.get("success") and cells:
        found, more = diagnose(result, cells, limits)
        statuses, notes = statuses + found, notes + more
    return worst(statuses), notes
