"""nbgrader preprocessors that nngrade's grader process uses in place of nbgrader's own.

GuardedExecute is nbgrader's Execute with four additions: a kernel that dies or ignores
an interrupt stops the run without failing the submission (later cells are marked as not
run, so their tests score 0 and earlier ones keep their points); output beyond a size limit
per cell and per submission is dropped while it arrives; before and after each hidden test
the kernel's machinery is checked (nngrade.integrity); and what happened is written to a
journal the grader reads.
SkipExecution marks every code cell as not run (used when a submission cannot be run).
RestoreMissingCells puts deleted test cells back where nbgrader 0.9.6 cannot.
"""

from __future__ import annotations

import signal
import time
from queue import Empty
from typing import Any, ClassVar

from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute, NbGraderPreprocessor, OverwriteCells
from traitlets import Bool, Integer, List, Unicode

from .integrity import Probe, canary, canary_problems
from .sandbox import SandboxKernelManager

NOT_RUN = "NotRun"
KERNEL_DIED = "KernelDied"


def error_output(ename: str, message: str) -> NotebookNode:
    """An error output as a kernel would send it (scores 0 in a test cell)."""
    return new_output("error", ename=ename, evalue=message, traceback=[f"{ename}: {message}"])


def mark_not_run(cell: NotebookNode, reason: str) -> None:
    cell.outputs = [error_output(NOT_RUN, reason)]
    cell.execution_count = None


def describe_exit(code: int | None) -> str:
    """Words for the exit status of a kernel process."""
    if code is None:
        return "the kernel process stopped"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " (the code killed its own process, or memory ran out)" if -code == 9 else ""
        return f"the kernel process was killed by {name}{hint}"
    return f"the kernel process exited with status {code} (os._exit or a crash)"


def _message_size(msg: dict) -> int:
    content = msg.get("content", {})
    if "text" in content:
        return len(content["text"])
    if "data" in content:
        return sum(len(str(v)) for v in content["data"].values())
    return sum(len(line) for line in content.get("traceback", []))


class GuardedExecute(Execute):
    """nbgrader's Execute that survives dead or stuck kernels and floods of output."""

    max_output_bytes = Integer(
        8 * 2**20, help="Output a cell may send while it runs; later output is dropped."
    ).tag(config=True)
    max_total_output_bytes = Integer(
        32 * 2**20, help="Output the whole notebook may send; later output is dropped."
    ).tag(config=True)
    check_integrity = Bool(True, help="Check the kernel's machinery around each test.").tag(config=True)
    test_cells = List(Unicode(), help="grade_ids of the hidden test cells.").tag(config=True)
    lab_code = Unicode("", help="The lab's imports and functions, defined again before each test.").tag(config=True)
    preload = List(Unicode(), help="Packages the probe imports before student code runs.").tag(config=True)
    probe_timeout = Integer(30, help="Seconds the kernel has to answer a check.").tag(config=True)

    # What happened in this process: read by nngrade's worker after nbgrader finishes.
    journal: ClassVar[list[dict[str, Any]]] = []
    timing: ClassVar[dict[str, float]] = {"kernel_seconds": 0.0, "cell_seconds": 0.0}

    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None):
        self._stopped: str | None = None
        self._current = -1
        self._output_used: dict[int, int] = {}
        self._output_total = 0
        self._probe: Probe | None = None
        self._probe_tried = False
        self._started = time.monotonic()
        self._first_cell: float | None = None
        try:
            nb, resources = super().preprocess(nb, resources, km)
        except Exception as error:  # the kernel could not start, or the client failed
            problem = f"{type(error).__name__}: {error}"
            if self._first_cell is None:
                self._note("start_failed", -1, error=problem)
                reason = f"Not run: the kernel could not start ({problem})."
            else:
                self._note("died", self._current, detail=f"the grader lost the kernel ({problem})")
                reason = f"Not run: the grader lost the kernel in an earlier cell ({problem})."
            for cell in nb.cells[self._current + 1:]:
                if cell.cell_type == "code":
                    mark_not_run(cell, reason)
        finally:
            end = time.monotonic()
            first = self._first_cell or end
            GuardedExecute.timing["kernel_seconds"] += first - self._started
            GuardedExecute.timing["cell_seconds"] += end - first
        for index, cell in enumerate(nb.cells):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error" and output.get("ename") == "MemoryError":
                    self._note("memory", index)
                    break
        return nb, resources

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int):
        if self._first_cell is None:
            self._first_cell = time.monotonic()
        if self._stopped:
            if cell.cell_type == "code" and cell.source.strip():
                mark_not_run(cell, self._stopped)
            return cell, resources
        self._current = index
        test = cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade_id") in self.test_cells
        try:
            if self.check_integrity and not self._probe_tried:
                self._install_probe()
            if test and self._probe:
                if self.lab_code:
                    self._silent(self.lab_code)
                self._check(index, "before")
            cell, resources = super().preprocess_cell(cell, resources, index)
            if test and self._probe:
                self._check(index, "after")
            return cell, resources
        except DeadKernelError:
            how = describe_exit(self._kernel_exit_code())
            self._note("died", index, detail=how)
            cell.outputs.append(error_output(KERNEL_DIED, f"{how} while this cell ran."))
            self._stopped = f"Not run: the kernel stopped in an earlier cell ({how})."
        except CellTimeoutError:
            self._note("unresponsive", index)
            self._kill_kernel()
            cell.outputs.append(error_output(
                "CellTimeoutError",
                f"this cell ran longer than {self.timeout} s and did not stop when interrupted; "
                "the kernel was shut down.",
            ))
            self._stopped = "Not run: the kernel was shut down after an earlier cell would not stop."
        return cell, resources

    async def _async_handle_timeout(self, timeout: int, cell: NotebookNode | None = None):
        self._note("timeout", self._current, seconds=timeout)
        return await super()._async_handle_timeout(timeout, cell)

    def output(self, outs: list, msg: dict, display_id: str | None, cell_index: int):
        used = self._output_used.get(cell_index, 0)
        size = _message_size(msg)
        self._output_used[cell_index] = used + size
        total = self._output_total
        self._output_total = total + size
        if used + size <= self.max_output_bytes and total + size <= self.max_total_output_bytes:
            return super().output(outs, msg, display_id, cell_index)
        if used <= self.max_output_bytes and total <= self.max_total_output_bytes:
            whole = total + size > self.max_total_output_bytes
            limit = self.max_total_output_bytes if whole else self.max_output_bytes
            self._note("total_output" if whole else "output", cell_index)
            outs.append(new_output(
                "stream", name="stdout",
                text=f"\n... output stopped here: more than {limit // 2**20} MB "
                     f"{'from the whole notebook' if whole else ''}...\n",
            ))
        return None

    # -- the integrity probe (nngrade.integrity) ------------------------------------
    def _silent(self, code: str, expressions: dict[str, str] | None = None, like_a_cell: bool = False) -> dict | None:
        """Run code in the kernel without output or history (or, `like_a_cell`, as a cell
        runs, its output left unread); the reply's content, or None when the kernel does not
        answer within probe_timeout."""
        return run_sync(self._async_silent)(code, expressions or {}, like_a_cell)

    async def _async_silent(self, code: str, expressions: dict[str, str], like_a_cell: bool) -> dict | None:
        assert self.kc is not None
        # stop_on_error=False: a failing canary must not make the kernel abort the next cell
        msg_id = self.kc.execute(code, silent=not like_a_cell, store_history=like_a_cell,
                                 user_expressions=expressions, allow_stdin=False, stop_on_error=False)
        deadline = time.monotonic() + self.probe_timeout
        while time.monotonic() < deadline:
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=1))
            except Empty:
                await self._async_check_alive()
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg["content"]
        return None

    def _install_probe(self) -> None:
        """Install the probe before any student code runs (a failure is reported as tampering:
        only a changed environment makes it fail)."""
        self._probe_tried = True
        probe = Probe(preload=("builtins", "math", "operator", *self.preload))
        reply = self._silent(probe.install_code())
        if reply is not None and reply.get("status") == "ok":
            reply = self._silent("", {"probe": probe.query()})  # the reference state
            if probe.problems(reply):
                reply = {"status": "error", "ename": "; ".join(probe.problems(reply))}
        if reply is None or reply.get("status") != "ok":
            self._note("integrity", -1, when="before", problems=[
                "the integrity probe could not be installed: "
                + str((reply or {}).get("ename", "no answer from the kernel"))])
            return
        self._probe = probe

    def _check(self, index: int, when: str) -> None:
        assert self._probe is not None
        reply = self._silent("", {"probe": self._probe.query()})
        problems = self._probe.problems(reply)
        if when == "after":
            problems += canary_problems(self._silent(canary(), like_a_cell=True))
        if problems:
            self._note("integrity", index, when=when, problems=problems)

    def _note(self, kind: str, cell: int, **details: Any) -> None:
        GuardedExecute.journal.append({"kind": kind, "cell": cell, **details})

    def _kernel_exit_code(self) -> int | None:
        """The kernel's exit status (negative: killed by that signal). In the sandbox the
        process is bwrap, which exits with 128 + the signal that killed the kernel."""
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        code = None if process is None else process.poll()
        if code is not None and 128 < code < 160 and isinstance(self.km, SandboxKernelManager):
            return -(code - 128)
        return code

    def _kill_kernel(self) -> None:
        try:
            run_sync(self.km.shutdown_kernel)(now=True)
        except Exception as error:  # already gone: nothing left to stop
            self.log.warning("Could not shut down the kernel: %s", error)


class SkipExecution(NbGraderPreprocessor):
    """Marks every code cell as not run, with the reason, instead of executing the notebook."""

    reason = Unicode("Not run.", help="Why the notebook was not run.").tag(config=True)

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int):
        if cell.cell_type == "code":
            mark_not_run(cell, self.reason)
        return cell, resources


class RestoreMissingCells(OverwriteCells):
    """nbgrader's OverwriteCells, placing each deleted test cell after the nearest earlier
    nbgrader cell the submission still has. (nbgrader 0.9.6 looks only among answer and test
    cells for that neighbour and fails with a KeyError when it is a read-only cell.)"""

    def add_missing_grade_cells(self, nb: NotebookNode, resources: Any):
        source = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        order = [cell.name for cell in source.source_cells]
        answers = {cell.name for cell in source.solution_cells}
        for grade_cell in sorted(source.grade_cells, key=lambda c: order.index(c.name)):
            present = {c.metadata.get("nbgrader", {}).get("grade_id"): i for i, c in enumerate(nb.cells)}
            if grade_cell.name in present:
                continue
            self.log.warning("Missing grade cell %s encountered, adding to notebook", grade_cell.name)
            position = order.index(grade_cell.name)
            cell = self.missing_cell_transform(
                source.source_cells[position], grade_cell.max_score,
                is_solution=grade_cell.name in answers)
            earlier = [present[name] for name in order[:position] if name in present]
            nb.cells.insert(earlier[-1] + 1 if earlier else 0, cell)
        return nb, resources
