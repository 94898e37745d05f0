"""nngrade's parts, one at a time and fast: the sandbox's command line (and, where bubblewrap
works, what a process inside can see), the integrity probe against a real kernel, the
scores computed from executed cells, the merge into a gradebook, the guard and the status
decisions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from nbgrader.utils import compute_checksum

from nngrade.diagnose import diagnose
from nngrade.grades import merge_grades, with_scores
from nngrade.guard import Guard
from nngrade.integrity import Probe, canary, canary_problems, imported_packages, lab_definitions
from nngrade.limits import Limits
from nngrade.protected import unwatched
from nngrade.sandbox import Sandbox, bwrap_problem
from nngrade.status import OK, TAMPERED, worst
from nngrade.verdict import definitions, notebook_scores

LIMITS = Limits(memory_mb=1024, max_file_mb=64, max_disk_mb=32, max_processes=17)


# -- the sandbox ------------------------------------------------------------------------
def _sandbox(tmp_path: Path) -> tuple[Sandbox, Path]:
    repo = tmp_path / "repo"
    (repo / "solutions").mkdir(parents=True)
    (repo / "solutions" / "answers.txt").write_text("42")
    (repo / "minifw.py").write_text("X = 1\n")
    (repo / ".git").write_text("gitdir: /elsewhere\n")
    course = repo / "grading"
    (course / "submitted" / "bob").mkdir(parents=True)
    ipc = tmp_path / "scratch" / "ipc"
    ipc.mkdir(parents=True)
    python = Path(sys.executable)
    readable = (repo, Path(sys.prefix), Path(sys.base_prefix), python.parent)
    hidden = (repo / "solutions", repo / ".git", course, tmp_path / "scratch")
    lab_files = tmp_path / "scratch" / "source"
    lab_files.mkdir()
    (lab_files / "data.csv").write_text("1,2\n")
    return Sandbox(readable, hidden, ipc, LIMITS, lab_files=lab_files), repo


def test_sandbox_command_line(tmp_path, monkeypatch):
    monkeypatch.setenv("INSTRUCTOR_TOKEN", "hunter2")
    sandbox, repo = _sandbox(tmp_path)
    cmd = sandbox.command(["KERNEL", "-f", "conn.json"])
    line = " ".join(cmd)
    assert cmd[1:4] == ["--unshare-all", "--die-with-parent", "--new-session"]
    assert "--share-net" not in cmd and "hunter2" not in line and "--clearenv" in cmd
    assert f"--ro-bind {repo.resolve()} {repo.resolve()}" in line
    assert f"--tmpfs {(repo / 'solutions').resolve()} --remount-ro" in line
    empty = (sandbox.ipc.parent / "empty").resolve()
    assert f"--ro-bind {empty} {(repo / '.git').resolve()}" in line  # a worktree's .git file
    assert f"--bind {sandbox.ipc.resolve()} {sandbox.ipc.resolve()}" in line
    assert str(1024 * 2**20) in cmd and str(64 * 2**20) in cmd  # rlimits, set inside
    tmpfs = cmd.index("/tmp") - 3
    assert cmd[tmpfs:tmpfs + 4] == ["--size", str(LIMITS.max_disk_mb * 2**20), "--tmpfs", "/tmp"]
    assert str(LIMITS.max_processes) in cmd  # RLIMIT_NPROC, where it applies
    assert cmd[-3:] == ["KERNEL", "-f", "conn.json"]
    # a hidden path outside what is bound needs no mount at all
    assert f"--tmpfs {(tmp_path / 'scratch').resolve()}" not in line


INSIDE = r"""
import json, os, resource, socket, sys
report = {"pid": os.getpid(), "env": sorted(os.environ), "cwd": os.getcwd(),
          "rlimit_as": resource.getrlimit(resource.RLIMIT_AS)[0]}
repo = sys.argv[1]
report["solutions"] = os.listdir(os.path.join(repo, "solutions"))
report["course"] = os.listdir(os.path.join(repo, "grading"))
report["git"] = open(os.path.join(repo, ".git")).read()
report["code"] = open(os.path.join(repo, "minifw.py")).read()
def writable(path):
    try:
        with open(path, "w") as f:
            f.write("x")
        return True
    except OSError:
        return False
report["write_repo"] = writable(os.path.join(repo, "owned.txt"))
report["write_ipc"] = writable(os.path.join(sys.argv[2], "ok"))
report["write_tmp"] = writable("/tmp/ok")
report["lab_files"] = open("data.csv").read()
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[3])), timeout=2).close()
    report["network"] = True
except OSError:
    report["network"] = False
try:
    os.kill(1, 9)
    report["init_killed"] = False
except OSError:
    pass
print(json.dumps(report))
"""


@pytest.mark.skipif(bool(bwrap_problem()), reason=f"no sandbox here: {bwrap_problem()}")
def test_inside_the_sandbox(tmp_path, monkeypatch):
    import socket

    monkeypatch.setenv("INSTRUCTOR_TOKEN", "hunter2")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    sandbox, repo = _sandbox(tmp_path)
    cmd = sandbox.command([sys.executable, "-c", INSIDE, str(repo.resolve()),
                           str(sandbox.ipc.resolve()), str(server.getsockname()[1])])
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    server.close()
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen["pid"] == 2  # its own PID namespace, under bwrap's init
    assert "INSTRUCTOR_TOKEN" not in seen["env"] and seen["cwd"] == "/tmp/work"
    assert seen["rlimit_as"] == 1024 * 2**20
    assert seen["solutions"] == [] and seen["course"] == [] and seen["git"] == ""
    assert seen["code"] == "X = 1\n"
    assert not seen["write_repo"] and seen["write_ipc"] and seen["write_tmp"]
    assert seen["lab_files"] == "1,2\n"  # the lab's own files, in the working folder
    assert not seen["network"]
    assert not (repo / "owned.txt").exists()


# -- the integrity probe, in a real (unsandboxed) kernel ---------------------------------
@pytest.fixture(scope="module")
def kernel():
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    yield kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def _run(kc, code: str, expressions: dict | None = None, like_a_cell: bool = False) -> dict:
    msg_id = kc.execute(code, silent=not like_a_cell, store_history=like_a_cell, user_expressions=expressions or {},
                        stop_on_error=False)
    while True:
        reply = kc.get_shell_msg(timeout=60)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply["content"]


def test_probe_reports_each_way_to_fake_a_test(kernel):
    probe = Probe(preload=("builtins", "math", "operator", "numpy"))
    assert _run(kernel, probe.install_code())["status"] == "ok"

    def problems() -> list[str]:
        return probe.problems(_run(kernel, "", {"probe": probe.query()}))

    assert problems() == []  # the reference
    _run(kernel, "import numpy as np\nimport math\nx = np.ones(3)\ndef rel_error(a, b): return 1\nsum = 3\n"
         "print(x)\nimport sys; print('note', file=sys.stderr)\nfrom IPython.display import display; display(x)")
    _run(kernel, "1 / 0")
    assert problems() == []  # ordinary student code, its output and its errors
    attacks = {
        "np.allclose = lambda *a, **k: True": "members numpy: allclose",
        "import builtins; builtins.abs = lambda x: 0": "members builtins: abs",
        "get_ipython().set_custom_exc((Exception,), lambda *a, **k: None)": "custom exception handler",
        "import ast\nclass T(ast.NodeTransformer):\n    pass\nget_ipython().ast_transformers.append(T())":
            "ast transformers",
        "get_ipython().events.register('post_run_cell', lambda r: None)": "event callbacks: post_run_cell",
        "get_ipython().showtraceback = lambda *a, **k: None": "IPython showtraceback",
        "import sys; sys.settrace(lambda *a: None)": "trace function",
        # a Session.send that drops the error of a cell and says its reply was ok
        "_s = get_ipython().kernel.session; _f = _s.send; _s.send = lambda *a, **k: _f(*a, **k)":
            "methods kernel.session: send",
        "import jupyter_client.session as _js; _g = _js.Session.send\n"
        "_js.Session.send = lambda self, *a, **k: _g(self, *a, **k)": "class jupyter_client.session.Session: send",
        "_t = get_ipython().kernel.iopub_thread.socket; _h = _t.send_multipart\n"
        "_t.send_multipart = lambda *a, **k: _h(*a, **k)": "methods kernel.iopub_thread.socket: send_multipart",
    }
    for code, expected in attacks.items():
        assert _run(kernel, code)["status"] == "ok", code
        found = problems()
        assert any(p.startswith(expected) for p in found), (code, "; ".join(found))
    assert canary_problems(_run(kernel, canary(), like_a_cell=True)) == []
    # a reply forged as "ok" (nothing above forged one): the canary, a failing test, passes
    _run(kernel, "from IPython.core.interactiveshell import ExecutionResult\n"
         "ExecutionResult.success = property(lambda self: True)")
    assert canary_problems(_run(kernel, canary(), like_a_cell=True)) == [
        "error reports: a failing check was reported as passing"]
    assert any(p.startswith("class IPython.core.interactiveshell.ExecutionResult: success") for p in problems())
    _run(kernel, f"{probe.name} = lambda: 'all fine'")
    assert problems() == ["the integrity probe in the kernel was removed or replaced"]
    assert probe.problems(None) == ["the integrity check got no answer from the kernel"]


def test_lab_definitions_keep_imports_and_functions():
    code = lab_definitions(["%matplotlib inline\nimport numpy as np\nX = np.ones(3)\n"
                            "def rel_error(a, b):\n    return 0\nclass A:\n    pass", "syntax error("])
    assert code == "import numpy as np\ndef rel_error(a, b):\n    return 0"
    assert imported_packages(code + "\nfrom torch import nn\nimport os.path") == {"numpy", "torch", "os"}


# -- scores from the executed notebook ------------------------------------------------
def _graded(cell, grade_id: str, points: float, solution: bool) -> None:
    cell.metadata["nbgrader"] = {"grade": True, "solution": solution, "locked": not solution,
                                 "grade_id": grade_id, "points": points}
    cell.metadata["nbgrader"]["checksum"] = compute_checksum(cell)


def _release() -> nbformat.NotebookNode:
    nb = new_notebook()
    answer = new_code_cell("# YOUR CODE HERE\nraise NotImplementedError()")
    _graded(answer, "relu-answer", 0, solution=True)
    answer.metadata["nbgrader"]["grade"] = False
    test = new_code_cell("assert relu(1) == 1")
    _graded(test, "relu-test", 2, solution=False)
    written = new_markdown_cell("YOUR ANSWER HERE")
    _graded(written, "why", 3, solution=True)
    nb.cells = [answer, test, written]
    return nb


def _executed(test_outputs: list, written: str = "YOUR ANSWER HERE", flags: dict | None = None):
    nb = _release()
    nb.cells[1].outputs = test_outputs
    nb.cells[2].source = written
    for cell in nb.cells:
        cell.metadata["nbgrader"].update(flags or {})
    return nb


def test_scores_come_from_the_executed_cells():
    release = _release()
    assert set(definitions(release)) == {"relu-test", "why"}
    stderr = new_output("stream", name="stderr", text="debug: relu\n")
    error = new_output("error", ename="AssertionError", evalue="", traceback=[])
    assert notebook_scores(_executed([]), release) == {"relu-test": 2.0, "why": 0.0}
    assert notebook_scores(_executed([stderr]), release)["relu-test"] == 2.0  # a debug print
    assert notebook_scores(_executed([stderr, error]), release)["relu-test"] == 0.0
    half = new_output("execute_result", data={"text/plain": "1.0"}, execution_count=1)
    assert notebook_scores(_executed([half]), release)["relu-test"] == 1.0  # partial credit
    # a written answer waits for the instructor, whatever flags the submission gives it
    answered = notebook_scores(_executed([], "Because.", {"solution": False, "points": 100}), release)
    assert answered == {"relu-test": 2.0, "why": None}
    missing = _executed([])
    del missing.cells[1]
    assert notebook_scores(missing, release)["relu-test"] == 0.0


def test_merge_keeps_manual_grades_and_leaves_written_answers(tmp_path):
    from nbgrader.api import Gradebook

    db = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(db) as gb:
        gb.add_assignment("lab")
        gb.add_notebook("lab", "lab")
        gb.add_grade_cell("relu-test", "lab", "lab", max_score=2, cell_type="code")
        gb.add_grade_cell("why", "lab", "lab", max_score=3, cell_type="markdown")
        gb.add_solution_cell("why", "lab", "lab")
    scratch = {"timestamp": None, "notebooks": {"lab": {
        "grades": {"relu-test": {"auto_score": 0.0, "max_score": 2, "code": True},
                   "why": {"auto_score": 3.0, "max_score": 3, "code": False}},
        "comments": {}, "late_penalty": None}}}
    grades = with_scores(scratch, {"lab": {"relu-test": 5.0, "why": None}})
    merge_grades(db, "lab", "alice", grades)
    with Gradebook(db) as gb:
        cells = {g.name: g for g in gb.find_submission_notebook("lab", "lab", "alice").grades}
        assert cells["relu-test"].auto_score == 2.0  # clamped to the cell's points
        assert cells["why"].auto_score is None and cells["why"].needs_manual_grade
        cells["why"].manual_score = 2.5
        gb.db.commit()
    merge_grades(db, "lab", "alice", grades, zero_tests=True)
    with Gradebook(db) as gb:
        cells = {g.name: g for g in gb.find_submission_notebook("lab", "lab", "alice").grades}
        assert cells["relu-test"].score == 0.0 and cells["why"].manual_score == 2.5


# -- the guard ---------------------------------------------------------------------------
def test_guard_watches_the_git_index_and_new_output_folders(tmp_path):
    root = tmp_path / "repo"
    for path in ("solutions/lab/lab.ipynb", ".git/index", ".git/objects/ab/cd", "lessons/logs/run.txt",
                 "venv/site/numpy/core.py"):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("v1")
    packages = [root / "venv" / "site"]
    guard = Guard([root, *packages], unwatched(root, [root / "venv"], packages), tmp_path / "backup")
    (root / ".git" / "objects" / "ab" / "ef").write_text("new object")  # not watched
    (root / "lessons" / "logs" / "run2.txt").write_text("an existing output folder")  # not watched
    (root / "venv" / "site" / "numpy" / "core.py").write_text("installed packages: not watched")
    assert guard.changes() == []
    (root / ".git" / "index").write_text("a weakened solution staged")
    (root / "solutions" / "lab" / "logs").mkdir()
    (root / "solutions" / "lab" / "logs" / "x.py").write_text("released with the lab")
    (root / "venv" / "site" / "zz.pth").write_text("import os")
    changed = guard.changes()
    assert set(changed) == {root / ".git/index", root / "solutions/lab/logs",
                            root / "solutions/lab/logs/x.py", root / "venv/site/zz.pth"}
    guard.restore(changed)
    assert (root / ".git" / "index").read_text() == "v1" and not (root / "venv/site/zz.pth").exists()
    (root / "grading.txt").write_text("written by nngrade")
    guard.accept([root / "grading.txt"])
    assert guard.changes() == []


# -- status decisions ------------------------------------------------------------------
def test_a_changed_kernel_is_tampered_with_one_note():
    cells = [new_code_cell("def relu(x): ..."), new_code_cell("assert relu(1) == 1")]
    journal = [{"kind": "integrity", "cell": 1, "when": "before", "problems": ["ast transformers"]},
               {"kind": "integrity", "cell": 1, "when": "after", "problems": ["ast transformers"]}]
    statuses, notes = diagnose({"journal": journal}, cells, Limits())
    assert worst(statuses) == TAMPERED and len(notes) == 1 and "ast transformers" in notes[0]
    assert "cell 2 (`assert relu(1) == 1`)" in notes[0]
    assert diagnose({"journal": []}, cells, Limits()) == ([], [])
    assert worst([]) == OK


def test_kernel_environment_has_nothing_of_the_instructor(monkeypatch, tmp_path):
    monkeypatch.setenv("INSTRUCTOR_TOKEN", "hunter2")
    env = Limits().environment(tmp_path)
    assert "INSTRUCTOR_TOKEN" not in env and env["HOME"] == str(tmp_path)
    assert os.environ["PATH"] == env["PATH"]


HOPPER = r"""
import os, subprocess, sys, time
from nngrade.processes import become_subreaper, kill_descendants, kill_tree
become_subreaper()
hop = ("import os, time\nif os.fork() == 0:\n    os.setsid()\n    end = time.time() + 30\n"
       "    while time.time() < end:\n        if os.fork():\n            os._exit(0)\n"
       "        time.sleep(0.005)\n    os._exit(0)\ntime.sleep(60)")
child = subprocess.Popen([sys.executable, "-c", hop])
time.sleep(1)
kill_tree(child.pid)
child.wait()
kill_descendants()
time.sleep(0.5)
print(len(os.listdir("/proc/self/task")), open(f"/proc/self/task/{os.getpid()}/children").read().split())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a subreaper needs Linux")
def test_a_process_that_keeps_changing_its_pid_is_killed():
    """Without the sandbox: a daemon that forks and exits in a loop (a new pid every 5 ms) is
    still caught, because it is stopped the moment it is seen."""
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    run = subprocess.run([sys.executable, "-c", HOPPER], capture_output=True, text=True,
                         timeout=120, env=env, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().endswith("[]"), run.stdout  # no child left
