"""A class of submissions for one lab, made from its reference solution: good ones, broken
ones and hostile ones. Nothing here knows the lab's functions; the cases are built from the
nbgrader metadata (solution cells, test cells) and the names each solution cell defines."""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable
from pathlib import Path

import nbformat
from nbformat import NotebookNode

Case = Callable[["Lab"], "bytes | NotebookNode"]


def _meta(cell: NotebookNode) -> dict:
    return cell.metadata.get("nbgrader", {})


class Lab:
    """The release (what students get) and the source (the reference) of one lab."""

    def __init__(self, root: Path, lab: str) -> None:
        self.root = root
        self.name = lab
        self.release = nbformat.read(root / "labs" / lab / f"{lab}.ipynb", as_version=4)
        self.source = nbformat.read(root / "solutions" / lab / f"{lab}.ipynb", as_version=4)

    def blank(self) -> NotebookNode:
        return copy.deepcopy(self.release)

    def reference(self) -> NotebookNode:
        """The release with every answer cell filled in from the solution."""
        answers = {_meta(c)["grade_id"]: c.source for c in self.source.cells if _meta(c).get("solution")}
        nb = self.blank()
        for cell in nb.cells:
            if _meta(cell).get("solution"):
                cell.source = answers[_meta(cell)["grade_id"]]
        return nb

    def answer_cells(self, nb: NotebookNode) -> list[int]:
        """Indices of the code cells students write (their functions)."""
        return [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and _meta(c).get("solution")]

    def test_cells(self, nb: NotebookNode) -> list[int]:
        """Indices of the autograded test cells."""
        return [i for i, c in enumerate(nb.cells)
                if c.cell_type == "code" and _meta(c).get("grade") and not _meta(c).get("solution")]

    def test_points(self) -> dict[str, float]:
        return {_meta(c)["grade_id"]: float(_meta(c)["points"]) for c in self.source.cells
                if c.cell_type == "code" and _meta(c).get("grade") and not _meta(c).get("solution")}

    def answer(self, nb: NotebookNode, k: int) -> NotebookNode:
        """The k-th answer cell (negative k counts from the end)."""
        return nb.cells[self.answer_cells(nb)[k]]


def defined_functions(source: str) -> list[str]:
    return [n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)]


def _wrap_results(cell: NotebookNode, transform: str) -> None:
    """Make every function of the cell pass its results through `transform` (numbers and arrays)."""
    names = defined_functions(cell.source)
    cell.source += f"""

import numpy as _np
def _nngrade_map(value):
    if isinstance(value, (tuple, list)):
        return type(value)(_nngrade_map(v) for v in value)
    if isinstance(value, dict):
        return {{k: _nngrade_map(v) for k, v in value.items()}}
    if isinstance(value, (float, _np.floating)) or (isinstance(value, _np.ndarray) and value.dtype.kind == "f"):
        return {transform}
    return value
def _nngrade_wrap(f):
    return lambda *a, **k: _nngrade_map(f(*a, **k))
""" + "".join(f"{name} = _nngrade_wrap({name})\n" for name in names)


def wrong_answers(lab: Lab) -> NotebookNode:
    nb = lab.reference()
    _wrap_results(lab.answer(nb, 0), "value * 1.5 + 1")
    return nb


def nan_results(lab: Lab) -> NotebookNode:
    nb = lab.reference()
    _wrap_results(lab.answer(nb, len(lab.answer_cells(nb)) // 2), "value * _np.nan")
    return nb


def renamed_function(lab: Lab) -> NotebookNode:
    nb = lab.reference()
    cell = lab.answer(nb, 1)
    for name in defined_functions(cell.source):
        cell.source = cell.source.replace(f"def {name}(", f"def {name}_renamed(")
    return nb


def appended(k: int, code: str) -> Case:
    """The reference with `code` run at the end of the k-th answer cell."""
    def case(lab: Lab) -> NotebookNode:
        nb = lab.reference()
        lab.answer(nb, k).source += "\n" + code
        return nb
    return case


def edited_test(lab: Lab) -> NotebookNode:
    """First task left blank, its test replaced by one that always passes."""
    nb = lab.reference()
    first = lab.answer_cells(nb)[0]
    nb.cells[first].source = lab.blank().cells[first].source
    nb.cells[lab.test_cells(nb)[0]].source = "assert True  # the test is mine now"
    return nb


def deleted_test(lab: Lab) -> NotebookNode:
    """Last task left blank and its test deleted."""
    nb = lab.reference()
    last = lab.answer_cells(nb)[-1]
    nb.cells[last].source = lab.blank().cells[last].source
    del nb.cells[lab.test_cells(nb)[-1]]
    return nb


def tampering(targets: dict[str, Path]) -> Case:
    """Code that writes into the gradebook, the solutions and the repository."""
    gradebook, solution, repo = targets["gradebook"], targets["solution"], targets["repo"]
    code = f"""
import pathlib, sqlite3
try:
    _con = sqlite3.connect({str(gradebook)!r})
    _con.execute("UPDATE grade SET auto_score = 1000, manual_score = 1000")
    _con.commit()
    _con.close()
except Exception as _e:
    print("gradebook:", _e)
pathlib.Path({str(solution)!r}).write_text("all answers are 42")
pathlib.Path({str(repo / "nbgrader_config.py")!r}).write_text("c = get_config()\\n")
pathlib.Path({str(repo / "owned.txt")!r}).write_text("hello from a student")
"""
    return appended(0, code)


def prepended(code: str, base: Case) -> Case:
    """`base` with a new code cell running `code` before everything else."""
    def case(lab: Lab) -> NotebookNode:
        nb = base(lab)
        nb.cells.insert(0, nbformat.v4.new_code_cell(code))
        return nb
    return case


def stderr_debug(lab: Lab) -> NotebookNode:
    """The reference, with every function of every answer printing to stderr when called."""
    nb = lab.reference()
    for index in lab.answer_cells(nb):
        cell = nb.cells[index]
        names = defined_functions(cell.source)
        cell.source += "\n\nimport sys as _sys\n" + "".join(
            f"{name} = (lambda f: lambda *a, **k: "
            f"(print('debug:', f.__name__, file=_sys.stderr), f(*a, **k))[1])({name})\n"
            for name in names)
    return nb


def rebound_helpers(lab: Lab) -> NotebookNode:
    """Wrong answers, and every function of the lab's read-only cells (the helpers the tests
    use, such as rel_error) replaced by one that says "all equal"."""
    nb = wrong_answers(lab)
    helpers = [name for c in lab.release.cells if c.cell_type == "code" and _meta(c).get("locked")
               and not _meta(c).get("grade") for name in defined_functions(c.source)]
    lab.answer(nb, -1).source += "\n" + "".join(f"\n{name} = lambda *a, **k: 0.0" for name in helpers)
    return nb


# A poor model (its output classes rotated) whose linear_forward returns an array that says it
# equals anything, so that `predict(...) == y` would report every prediction right.
LYING_ARRAYS = """
class _EqualToAll(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(self), bool).view(_EqualToAll)
_train_mlp, _linear_forward = train_mlp, linear_forward
def train_mlp(*args, **kwargs):
    params, losses = _train_mlp(*args, **kwargs)
    params["W2"], params["b2"] = np.roll(params["W2"], 1, axis=1), np.roll(params["b2"], 1)
    return params, losses
def linear_forward(x, w, b):
    out, cache = _linear_forward(x, w, b)
    return np.asarray(out).view(_EqualToAll), cache
"""

# Ways to make failing tests pass by changing the kernel (run on wrong answers).
NO_ASSERTS = """
import ast
class _NoAsserts(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.Pass()
get_ipython().ast_transformers.append(_NoAsserts())
"""
SWALLOW = "get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)"
CLEAR_ERRORS = """
def _forget(result):
    result.error_in_exec = None
get_ipython().events.register("post_run_cell", _forget)
get_ipython().showtraceback = lambda *args, **kwargs: None
"""
LENIENT_NUMPY = """
import numpy as np
np.allclose = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(np.asarray(a), np.asarray(b)).shape, bool)
np.testing.assert_allclose = lambda *args, **kwargs: None
np.array_equal = lambda *args, **kwargs: True
"""

# A Session.send that drops the error of a cell and rewrites its reply to "ok" (no error ever
# reaches nbgrader), in a cell tagged like nngrade's report so as to vanish from its view.
QUIET_SESSION = """
_session = get_ipython().kernel.session
_send = _session.send
def _quiet(stream, msg_or_type, content=None, *args, **kwargs):
    kind = msg_or_type if isinstance(msg_or_type, str) else msg_or_type["header"]["msg_type"]
    if kind == "error":
        return None
    if kind == "execute_reply" and isinstance(content, dict) and content.get("status") == "error":
        content = {"status": "ok", "execution_count": content.get("execution_count"),
                   "user_expressions": {}, "payload": []}
    return _send(stream, msg_or_type, content, *args, **kwargs)
_session.send = _quiet
"""

# Replies forged as "ok" and errors printed to stderr only (which never fails a test).
FORGED_REPLY = """
from IPython.core.interactiveshell import ExecutionResult
ExecutionResult.success = property(lambda self: True)
class _Formatter:
    def __init__(self, wrapped):
        self._wrapped = wrapped
    def __getattr__(self, name):
        return getattr(self._wrapped, name)
    def structured_traceback(self, *args, **kwargs):
        raise KeyboardInterrupt  # IPython then prints the error's name to stderr, and no error
get_ipython().InteractiveTB = _Formatter(get_ipython().InteractiveTB)
"""

def hidden_cell(code: str, base: Case) -> Case:
    """`base` with a first code cell running `code`, tagged as nngrade's grading report."""
    def case(lab: Lab) -> NotebookNode:
        nb = prepended(code, base)(lab)
        nb.cells[0].metadata["tags"] = ["nngrade-report"]
        return nb
    return case


def clumsy_metadata(lab: Lab) -> NotebookNode:
    """The reference as an editor and copy-paste leave it: a pasted copy of the first test
    (same nbgrader id) before the answers, another test's id renamed, points and flags changed,
    and a written answer whose pasted image lost its attachment."""
    nb = lab.reference()
    for cell in nb.cells:
        if cell.cell_type == "markdown" and _meta(cell).get("solution"):
            cell.source += "\n\n![my plot](attachment:plot.png)"
    tests = lab.test_cells(nb)
    _meta(nb.cells[tests[1]])["grade_id"] += "_mine"
    _meta(nb.cells[tests[2]])["points"] = 1000
    answer = _meta(lab.answer(nb, 0))
    answer.update(grade=True, points=100)
    nb.cells.insert(lab.answer_cells(nb)[0], copy.deepcopy(nb.cells[tests[0]]))
    return nb


def marking(name: str) -> str:
    """Code that names the calling process `name` (its /proc/<pid>/comm, kept by the
    processes it forks), so that marked_processes finds it and its children afterwards."""
    assert len(name) <= 15, "the kernel keeps 15 bytes of a process name"
    return f'import ctypes\nctypes.CDLL(None).prctl(15, b"{name}", 0, 0, 0)  # PR_SET_NAME\n'


# Signals, lowered limits and a daemon that keeps changing its pid (named NNGRADE_ESCAPE),
# aimed at every process the kernel can see.
ESCAPE = marking("NNGRADE_ESCAPE") + """
import os, resource, signal, time, glob
for pid in [int(p) for p in os.listdir("/proc") if p.isdigit()]:
    if pid == os.getpid():
        continue
    for limit in (resource.RLIMIT_AS, resource.RLIMIT_NOFILE, resource.RLIMIT_NPROC):
        try:
            resource.prlimit(pid, limit, (16, 16))
        except (OSError, ValueError):
            pass
    for sig in (signal.SIGSTOP, signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except OSError:
            pass
if os.fork() == 0:
    os.setsid()
    end = time.time() + 240
    while time.time() < end:
        if os.fork():
            os._exit(0)
        for path in glob.glob("/tmp/nngrade-*/*/gradebook.db"):
            try:
                open(path, "wb").write(b"x")
            except OSError:
                pass
        time.sleep(0.05)
    os._exit(0)
"""


# 200 sleeping processes, named NNGRADE_FORKS: a fork bomb that stops there, so that a broken
# test cannot harm the machine.
FORKS = marking("NNGRADE_FORKS") + """
import os, time
for _ in range(200):
    if os.fork() == 0:
        time.sleep(600)
        os._exit(0)
time.sleep(600)
"""


# Three children of 600 MB each (named NNGRADE_MEMFORK), each within the per-process limit,
# together over the submission's memory cap.
MEMFORK = marking("NNGRADE_MEMFORK") + """
import os, time
_kids = []
for _ in range(3):
    _pid = os.fork()
    if _pid == 0:
        _b = bytearray(600 * 2**20)
        time.sleep(5)
        os._exit(0)
    _kids.append(_pid)
for _pid in _kids:
    os.waitpid(_pid, 0)
"""

def filling(folder: str) -> str:
    """100 MB written into `folder` (a Python expression), then a wait for the watchdog."""
    return f"""
import sys, os, time
_folder = {folder}
for _i in range(100):
    with open(os.path.join(_folder, f"filler{{_i}}"), "wb") as _f:
        _f.write(bytes(2**20))
time.sleep(30)
"""


# The sandbox's one folder on disk: the folder of the kernel's connection file.
FILL_IPC = filling('os.path.dirname(sys.argv[sys.argv.index("-f") + 1])')
# Without the sandbox: the working folder, in the scratch folder.
FILL_CWD = filling("os.getcwd()")


def marked_processes(name: str) -> list[int]:
    """Live processes named `name` by `marking` (the ESCAPE and FORKS cases and their children)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text() if entry.name.isdigit() else ""
        except OSError:
            continue
        head, _, tail = stat.rpartition(")")  # "pid (name) state ..."
        if head.partition("(")[2] == name and tail.split()[:1] != ["Z"]:  # a zombie is dead, not yet reaped
            found.append(int(entry.name))
    return found


def spying(targets: dict[str, Path], port: int) -> str:
    """Reads what a kernel must not see, and prints LEAKED / NETWORK-OPEN / the environment."""
    paths = [targets["gradebook"], targets["solution"], targets["repo"] / ".git",
             targets["repo"] / "grading" / "submitted", targets["repo"] / "grading" / "backups"]
    return f"""
import glob, os, socket
_leaks = []
for _p in ({[str(p) for p in paths]!r} + glob.glob("/tmp/nngrade-*/*/gradebook.db")
           + glob.glob("/tmp/nngrade-*/*/submitted/*")):
    try:
        if os.path.isdir(_p):
            if os.listdir(_p):
                _leaks.append(_p)
        else:
            open(_p, "rb").read(10)
            _leaks.append(_p)
    except OSError:
        pass
for _fd in os.listdir("/proc/self/fd"):  # files of the grader held open (its log)
    try:
        _target = os.readlink(f"/proc/self/fd/{{_fd}}")
    except OSError:
        continue
    if _target.startswith("/") and "/nngrade-" in _target and "/ipc/" not in _target:
        _leaks.append(_target)
if _leaks:
    print("LEAKED", _leaks)
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=3).close()
    print("NETWORK-OPEN")
except OSError:
    pass
print("ENVIRONMENT", sorted(os.environ.items()))
"""


def planting(targets: dict[str, Path]) -> str:
    """Traps for the grader and for the next student: FIFOs, a bad notebook, a folder named
    like the next scratch folder, a start-up file in the venv (harmless if it got through)."""
    solution_dir = targets["solution"].parent
    return f"""
import os, glob, site
for _d in [{str(solution_dir)!r}, os.getcwd(), *glob.glob("/tmp/nngrade-*"), "/tmp"]:
    for _name in ("trap.ipynb", "s00002", "sZZZZZZ"):
        try:
            os.mkfifo(os.path.join(_d, _name))
        except OSError:
            pass
open("broken.ipynb", "w").write("{{")
for _sp in site.getsitepackages():
    try:
        open(os.path.join(_sp, "zz_nngrade_test.pth"), "w").write("# planted by a grading test")
    except OSError:
        pass
"""


GOOD: dict[str, Case] = {
    "reference": Lab.reference,
    "blank": Lab.blank,
    "wrong": wrong_answers,
}


def hostile(targets: dict[str, Path]) -> dict[str, Case]:
    """Every way a submission can go wrong, by student name."""
    return {
        "loop": appended(2, "while True:\n    pass"),
        "sysexit": appended(0, "import sys\nsys.exit()"),
        "osexit": appended(3, "import os\nos._exit(1)"),
        "killself": appended(3, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"),
        "membomb": appended(1, "_hog = [bytearray(2**27) for _ in range(10**6)]"),
        "edited": edited_test,
        "deleted": deleted_test,
        "renamed": renamed_function,
        "nan": nan_results,
        "huge": appended(0, 'print("\\n".join(f"line {i} of a huge output" for i in range(10**6)))'),
        "tamper": tampering(targets),
        "debug": stderr_debug,
        "helpers": rebound_helpers,
        "noasserts": prepended(NO_ASSERTS, wrong_answers),
        "swallow": prepended(SWALLOW, wrong_answers),
        "clearerrors": prepended(CLEAR_ERRORS, wrong_answers),
        "lenient": prepended(LENIENT_NUMPY, wrong_answers),
        "quiet": hidden_cell(QUIET_SESSION, wrong_answers),
        "forged": prepended(FORGED_REPLY, wrong_answers),
        "pasted": clumsy_metadata,
        "liar": appended(-1, LYING_ARRAYS),
    }


def sandbox_only(targets: dict[str, Path], port: int) -> dict[str, Case]:
    """Cases that only the sandbox keeps from harming the grader or the machine (port: a
    local TCP port that listens)."""
    return {
        "escape": appended(1, ESCAPE),
        "spy": appended(0, spying(targets, port)),
        "planter": appended(0, planting(targets)),
    }


def write(path: Path, content: bytes | NotebookNode) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        nbformat.write(content, path)
