"""Checks that the kernel's machinery is as it was before student code ran.

nbgrader's tests run in the kernel that ran the student's code, so a submission can make a
failing test pass by changing the kernel instead of its answers: an IPython AST or input
transformer that drops the asserts, a custom exception handler, an event callback that
clears the error of a cell, patched `np.allclose`, `torch.allclose` or builtins, a trace
function. Before the first cell, the grader installs a probe in the kernel (references to
all of these, taken before any student code); before and after each hidden test it asks the
probe, with a `user_expressions` request (evaluated without IPython's transformers), what
changed. The answer carries a random token, so a probe replaced by student code that does
not know the token reads as a failed check. Before each test, the lab's own imports and
functions (from its read-only cells) are defined again, so a submission that rebinds a
helper the tests use (`rel_error = lambda *a: 0`) gets the lab's back.

After each hidden test the grader also runs a canary, a failing test that looks like one and
runs as a cell does: its reply must say it failed, whatever way the kernel's error reports
were changed (a forged reply, a patched ExecutionResult or traceback formatter, ...).

This is a check of the known ways, not a proof: code that finds the probe's references in
memory can fool it. docs/instructors.md (the trust model) says so.
"""

from __future__ import annotations

import ast
import json
import secrets
from dataclasses import dataclass, field

# Modules whose functions and classes tests compare results with.
WATCHED_MODULES = ("builtins", "math", "operator", "numpy", "numpy.testing", "numpy.linalg",
                   "torch", "torch.testing", "torch.nn.functional")
WATCHED_CLASSES = ("torch.Tensor", "IPython.core.interactiveshell.ExecutionResult")

_PROBE = r'''
def __nngrade_install(token, modules, classes, preload):
    import builtins, importlib, json, os, sys, threading, types
    ip = get_ipython()
    kernel = getattr(ip, "kernel", None)
    skip = {"_", "__", "___", "_i", "_ii", "_iii", "_oh", "_dh", "In", "Out", "get_ipython",
            "display", "exit", "quit", "__IPYTHON__", "__builtins__"}

    def members(space):
        return {k: v for k, v in list(space.items())
                if k not in skip and callable(v) and not isinstance(v, types.ModuleType)}

    def load(name):
        try:
            return importlib.import_module(name)
        except Exception:
            return None

    def resolve(dotted):
        module, _, attr = dotted.rpartition(".")
        found = load(module)
        return getattr(found, attr, None) if found is not None else None

    shell_methods = ("run_cell", "run_cell_async", "run_ast_nodes", "run_code", "showtraceback",
                     "_showtraceback", "showsyntaxerror", "transform_cell", "transform_ast",
                     "should_run_async", "user_expressions", "get_exception_only", "ex", "ev")
    kernel_methods = ("do_execute", "execute_request", "send_response")
    wire = ("kernel.session", "kernel.iopub_socket", "kernel.iopub_thread", "kernel.iopub_thread.socket",
            "kernel.shell_stream", "kernel.shell_stream.socket", "shell.display_pub", "shell.displayhook",
            "shell.InteractiveTB", "shell.SyntaxTB")

    def state():
        now = {
            "ast transformers": list(ip.ast_transformers),
            "input transformers": list(ip.input_transformers_post)
                + list(ip.input_transformers_cleanup)
                + list(ip.input_transformer_manager.line_transforms)
                + list(ip.input_transformer_manager.token_transformers),
            "custom exception handler": tuple(ip.custom_exceptions),
            "sys.excepthook": sys.excepthook, "sys.displayhook": sys.displayhook,
            "trace function": (sys.gettrace(), sys.getprofile(), threading.gettrace()),
            "compiler": (ip.compile, type(ip.compile)),
        }
        for name in shell_methods:
            now["IPython " + name] = (vars(ip).get(name), getattr(type(ip), name, None))
        for name in kernel_methods:
            now["kernel " + name] = (vars(kernel).get(name) if kernel is not None else None,
                                     getattr(type(kernel), name, None))
        for name in modules:
            module = sys.modules.get(name)
            if module is not None:
                now["module " + name] = module
                now["members " + name] = members(vars(module))
        for dotted in classes:
            cls = resolve(dotted) if dotted.partition(".")[0] in sys.modules else None
            if isinstance(cls, type):
                now["class " + dotted] = dict(vars(cls))
        # What carries a cell's errors and reply to the grader: the kernel's session (its
        # send), sockets and publishers, by identity, with their own and their classes' methods.
        for label in wire:
            owner, *path = label.split(".")
            obj = kernel if owner == "kernel" else ip
            for attr in path:
                obj = getattr(obj, attr, None)
            now["object " + label] = obj
            if obj is None:
                continue
            own = dict(getattr(obj, "__dict__", {}))
            own.update(getattr(obj, "_trait_values", {}))
            now["methods " + label] = {k: v for k, v in own.items() if callable(v) and not isinstance(v, type)}
            for cls in type(obj).__mro__[:-1]:
                now["class " + cls.__module__ + "." + cls.__qualname__] = dict(vars(cls))
        return now

    for name in modules:
        if name.partition(".")[0] in preload:
            load(name)
    before = {}
    hooks = {k: list(v) for k, v in ip.events.callbacks.items()}
    own = ("IPython.", "ipykernel.", "matplotlib_inline.", "matplotlib.")

    def hooks_changed():
        changed = []
        for event, now in ip.events.callbacks.items():
            old = hooks.get(event, [])
            gone = [f for f in old if not any(f is g for g in now)]
            new = [f for f in now if not any(f is g for g in old)
                   and not str(getattr(f, "__module__", "")).startswith(own)]
            if gone or new:
                changed.append(event)
        return changed

    def same(a, b):
        if isinstance(a, dict) and isinstance(b, dict):
            return all(k in b and same(v, b[k]) for k, v in a.items())
        if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
        return a is b

    def library_wrapper(old, new, owner):
        """A library's own wrapper of its function (torch._dynamo wraps torch.manual_seed
        when it is first imported): it wraps the original and its code is in the package."""
        package = sys.modules.get(owner.partition(".")[0])
        base = os.path.dirname(getattr(package, "__file__", "") or "")
        code = getattr(new, "__code__", None)
        return (bool(base) and code is not None and getattr(new, "__wrapped__", None) is old
                and os.path.realpath(code.co_filename).startswith(os.path.realpath(base) + os.sep))

    def added_method(key, name, value):
        """A method put on an object or a class of the kernel's wiring after the reference
        (it shadows the class's own); caches Python adds itself are not."""
        return (key.startswith(("methods ", "class ")) and callable(value)
                and not name.startswith(("_abc_", "__slotnames__")))

    def check():
        """The first call (made by the grader before any student code) takes the reference."""
        problems = []
        try:
            now = state()
            if not before:
                before.update(now)
            for key, value in now.items():
                if key not in before:
                    before[key] = value
                elif isinstance(value, dict) and isinstance(before[key], dict):
                    owner = key.partition(" ")[2]
                    changed = sorted(k for k, v in before[key].items()
                                     if (k not in value or not same(v, value[k]))
                                     and not library_wrapper(v, value.get(k), owner))
                    changed += sorted(k for k, v in value.items() if k not in before[key]
                                      and added_method(key, k, v))
                    if changed:
                        problems.append(key + ": " + ", ".join(changed[:8]))
                elif not same(before[key], value):
                    problems.append(key)
            if hooks_changed():
                problems.append("event callbacks: " + ", ".join(hooks_changed()))
        except Exception as error:
            problems.append("the check failed: " + type(error).__name__)
        return token + json.dumps(problems)

    return check
'''


@dataclass
class Probe:
    """One kernel's probe: the code that installs it and the expression that queries it."""

    preload: tuple[str, ...] = ("builtins", "math", "operator", "numpy")
    modules: tuple[str, ...] = WATCHED_MODULES
    classes: tuple[str, ...] = WATCHED_CLASSES
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    name: str = field(default_factory=lambda: "_" + secrets.token_hex(8))

    def install_code(self) -> str:
        return (_PROBE + f"\n{self.name} = __nngrade_install({self.token!r}, {list(self.modules)!r}, "
                f"{list(self.classes)!r}, {list(self.preload)!r})\ndel __nngrade_install\n")

    def query(self) -> str:
        return f"{self.name}()"

    def problems(self, reply: dict | None) -> list[str]:
        """What the probe reported (a user_expressions reply); a wrong or missing token is
        itself a problem."""
        if reply is None:
            return ["the integrity check got no answer from the kernel"]
        value = reply.get("user_expressions", {}).get("probe", {})
        text = value.get("data", {}).get("text/plain", "") if value.get("status") == "ok" else ""
        try:
            answer = ast.literal_eval(text) if text else ""
        except (ValueError, SyntaxError):
            answer = ""
        if not isinstance(answer, str) or not answer.startswith(self.token):
            return ["the integrity probe in the kernel was removed or replaced"]
        try:
            found = json.loads(answer[len(self.token):])
        except ValueError:
            return ["the integrity probe in the kernel was removed or replaced"]
        return [str(p) for p in found]


def canary() -> str:
    """The code of a failing test, run after each hidden test as a cell runs (with history,
    its output unread). Its reply must say it failed; a kernel whose error reports were
    changed (a forged reply, a patched ExecutionResult, ...) says it passed. It looks like a
    hidden test, so that code that fakes only those cannot spare it."""
    a = secrets.randbelow(10**6)
    return (f"### BEGIN HIDDEN TESTS\nassert {a} == {a + 1}, {secrets.token_hex(4)!r}\n"
            "### END HIDDEN TESTS\n")


def canary_problems(reply: dict | None) -> list[str]:
    """What the reply to the canary says about the kernel's error reports."""
    if reply is None:
        return ["the integrity check got no answer from the kernel"]
    if reply.get("status") == "error" and reply.get("ename") == "AssertionError":
        return []
    return ["error reports: a failing check was reported as passing"]


def imported_packages(code: str) -> set[str]:
    """Top-level packages that the code imports (`import torch.nn` -> torch)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.partition(".")[0])
    return names


def lab_definitions(sources: list[str]) -> str:
    """The top-level imports and function definitions of the lab's read-only cells (IPython
    magics and shell lines left out): run again before each test."""
    parts = []
    for source in sources:
        lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError:
            continue
        parts += [ast.unparse(node) for node in tree.body
                  if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef))]
    return "\n".join(parts)
