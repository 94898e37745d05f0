"""A submission whose nbgrader metadata an editor dropped, matched back to the released lab.

nbgrader finds answers and tests by the `nbgrader` metadata of each cell. Some editors (and
copy-pasting into a new notebook) drop it; nbgrader then sees no answer cells, inserts every
test at the top, before the imports, and the correct work scores 0. `repair` rebuilds such a
notebook in the release's order, from content:

1. cells of the release a student does not write (instructions, imports, tests) are found
   by their text (compared line by line, ignoring trailing spaces), in order first
   (difflib's longest matching blocks), then anywhere;
2. each answer cell is the student's cell between the matches of its neighbours that
   defines the same names (`def f`, `class C`, `x =`) or, failing that, is most alike; a
   written answer is the student's markdown cell in that place;
3. the result has the release's cells, order and metadata, with the student's answers;
   cells the student added stay after the cell they followed; exact copies of the
   release's fixed cells (pasted tests) are dropped.

`lab_score` says how much of a released lab a notebook contains (used to tell which lab a
file is when its name does not).
"""

from __future__ import annotations

import ast
import copy
import difflib
import re
from dataclasses import dataclass, field

from nbformat import NotebookNode

_NAME = re.compile(r"^\s*(?:async\s+def|def|class)\s+([A-Za-z_]\w*)", re.MULTILINE)


def _meta(cell: NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def normalize(source: str) -> str:
    """Cell text compared for matching: trailing spaces and blank lines at the ends ignored."""
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def defined_names(source: str) -> set[str]:
    """Names a code cell defines at its top level (functions, classes, assignments)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set(_NAME.findall(source))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return names


def _is_answer(cell: NotebookNode) -> bool:
    return bool(_meta(cell).get("solution"))


def needs_repair(nb: NotebookNode, release: NotebookNode) -> bool:
    """True when an answer cell of the release has no cell with its id in the notebook.

    (A test cell alone missing is left to nbgrader, which puts it back and says so.)"""
    have = {_meta(c).get("grade_id") for c in nb.cells}
    return any(_meta(c).get("grade_id") not in have for c in release.cells if _is_answer(c))


def lab_score(nb: NotebookNode, release: NotebookNode) -> float:
    """Share of the release's fixed cells (text the student does not write) found in nb."""
    fixed = [normalize(c.source) for c in release.cells if not _is_answer(c) and c.source.strip()]
    if not fixed:
        return 0.0
    present = {normalize(c.source) for c in nb.cells}
    return sum(text in present for text in fixed) / len(fixed)


@dataclass
class Repair:
    notebook: NotebookNode
    notes: list[str] = field(default_factory=list)


def _match_fixed(nb: NotebookNode, release: NotebookNode) -> dict[int, int]:
    """release index -> notebook index, for the release's fixed cells found by their text."""
    key = [f"{c.cell_type}\0{normalize(c.source)}" for c in nb.cells]
    ref = [f"{c.cell_type}\0{normalize(c.source)}" if not _is_answer(c) else f"\1answer{i}"
           for i, c in enumerate(release.cells)]
    matches: dict[int, int] = {}
    matcher = difflib.SequenceMatcher(None, ref, key, autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            matches[block.a + k] = block.b + k
    used = set(matches.values())
    for r, text in enumerate(ref):  # moved cells: anywhere else
        if r in matches or text.startswith("\1") or not normalize(release.cells[r].source):
            continue
        for s, other in enumerate(key):
            if s not in used and other == text:
                matches[r] = s
                used.add(s)
                break
    return matches


def _match_answers(nb: NotebookNode, release: NotebookNode, fixed: dict[int, int]) -> tuple[dict[int, int], list[str]]:
    """release index -> notebook index for answer cells, and notes on those not found.

    By nbgrader id, then by the names a code answer defines, then (a code cell defining no
    other answer's names, or a markdown cell) by place between the neighbours' matches."""
    matches: dict[int, int] = {}
    used = set(fixed.values())
    answers = [r for r, c in enumerate(release.cells) if _is_answer(c)]
    names = {r: defined_names(release.cells[r].source) if release.cells[r].cell_type == "code" else set()
             for r in answers}
    claimed = set().union(*names.values()) if names else set()
    by_id = {_meta(c).get("grade_id"): s for s, c in enumerate(nb.cells) if _meta(c).get("grade_id")}

    def take(r: int, s: int) -> None:
        matches[r] = s
        used.add(s)

    def gap(r: int) -> list[int]:
        before = [fixed[k] for k in fixed if k < r] + [matches[k] for k in matches if k < r]
        after = [fixed[k] for k in fixed if k > r] + [matches[k] for k in matches if k > r]
        low = max(before, default=-1)
        high = min((s for s in after if s > low), default=len(nb.cells))
        kind = release.cells[r].cell_type
        return [s for s in range(low + 1, high) if s not in used and nb.cells[s].cell_type == kind]

    for r in answers:
        s = by_id.get(_meta(release.cells[r])["grade_id"])
        if s is not None and s not in used:
            take(r, s)
    for r in answers:
        if r in matches or not names[r]:
            continue
        everywhere = [s for s in range(len(nb.cells)) if s not in used and nb.cells[s].cell_type == "code"]
        for pool in (gap(r), everywhere):
            same = [s for s in pool if names[r] <= defined_names(nb.cells[s].source)]
            if same:
                take(r, same[0])
                break
    notes: list[str] = []
    for r in answers:
        if r in matches:
            continue
        cell = release.cells[r]
        pool = gap(r)
        if cell.cell_type == "code":
            pool = [s for s in pool if not defined_names(nb.cells[s].source) & (claimed - names[r])]
            if pool:
                take(r, max(pool, key=lambda s: difflib.SequenceMatcher(
                    None, cell.source, nb.cells[s].source).ratio()))
        elif pool:
            take(r, pool[0])
        if r not in matches:
            what = f"`{min(names[r])}`" if names[r] else "the answer"
            notes.append(f"No cell with {what} (answer cell `{_meta(cell)['grade_id']}`) was "
                         "found; it is graded as left blank.")
    return matches, notes


def repair(nb: NotebookNode, release: NotebookNode) -> Repair:
    """The notebook rebuilt on the release (see the module docstring); unchanged if its
    metadata is complete."""
    if not needs_repair(nb, release):
        return Repair(nb)
    fixed = _match_fixed(nb, release)
    answers, notes = _match_answers(nb, release, fixed)
    matched = {**fixed, **answers}
    release_texts = {normalize(c.source) for c in release.cells if not _is_answer(c)}
    out: list[NotebookNode] = []
    placed: dict[int, int] = {}  # notebook index -> position in out
    for r, cell in enumerate(release.cells):
        new = copy.deepcopy(cell)
        s = matched.get(r)
        if s is not None:
            mine = nb.cells[s]
            new.source = mine.source
            if new.cell_type == "code":
                new.outputs = copy.deepcopy(mine.get("outputs", []))
                new.execution_count = mine.get("execution_count")
            placed[s] = len(out)
        out.append(new)
    extras, copies = 0, 0
    # Cells the student added go after the cell they followed, in their order.
    inserts: dict[int, list[NotebookNode]] = {}
    for s, cell in enumerate(nb.cells):
        if s in placed:
            continue
        if cell.cell_type != "markdown" and normalize(cell.source) in release_texts:
            copies += 1
            continue
        if not cell.source.strip():
            continue
        anchor = max((placed[k] for k in placed if k < s), default=-1)
        extra = copy.deepcopy(cell)
        extra.get("metadata", {}).pop("nbgrader", None)
        inserts.setdefault(anchor, []).append(extra)
        extras += 1
    result: list[NotebookNode] = list(inserts.get(-1, []))
    for position, cell in enumerate(out):
        result.append(cell)
        result.extend(inserts.get(position, []))
    ids: set[str] = set()
    for k, cell in enumerate(result):
        if cell.get("id") in ids or not cell.get("id"):
            cell["id"] = f"nngrade-{k}"
        ids.add(cell["id"])
    repaired = copy.deepcopy(nb)
    repaired.cells = result
    repaired.metadata.update({k: v for k, v in release.metadata.items() if k in ("kernelspec", "language_info")})
    found = sum(1 for r in answers)
    total = sum(1 for c in release.cells if _is_answer(c))
    summary = (f"The notebook had lost its nbgrader metadata (some editors drop it); it was "
               f"rebuilt on the lab by content: "
               f"{found} of {total} answer cells found, {len(fixed)} of "
               f"{len(release.cells) - total} lab cells found")
    if extras:
        summary += f", {extras} added cells kept"
    if copies:
        summary += f", {copies} pasted copies of lab cells dropped"
    return Repair(repaired, [summary + "."] + notes)
