"""Reading minifw's own code from a notebook: `show(mf.Linear.backward)` displays the source of
classes, functions or methods exactly as they are installed, each headed by its file and line."""
from __future__ import annotations

import inspect
import textwrap
from pathlib import Path
from typing import Any


def source(*objects: Any) -> str:
    """The source of each object, dedented, after a comment `# minifw/<file>, line <n>`."""
    if not objects:
        raise TypeError("source() expected at least one class, function or method, got none")
    root = Path(__file__).resolve().parent
    parts = []
    for obj in objects:
        try:
            lines, line = inspect.getsourcelines(obj)
            file = Path(inspect.getsourcefile(obj) or "").resolve()
        except TypeError as error:
            raise TypeError(f"expected a class, function or method, got {type(obj).__name__}: {obj!r}") from error
        where = f"minifw/{file.relative_to(root).as_posix()}" if file.is_relative_to(root) else str(file)
        parts.append(f"# {where}, line {line}\n" + textwrap.dedent("".join(lines)))
    return "\n".join(parts)


def show(*objects: Any) -> None:
    """Display `source(*objects)` with syntax highlighting in a notebook (printed elsewhere)."""
    text = source(*objects)
    try:
        from IPython.display import Code, display
    except ImportError:
        print(text)
        return
    display(Code(text, language="python"))
