"""Build the course notebooks from their sources, and never lose an edit made in a notebook.

Sources are jupytext percent-format scripts under `sources/`, mirroring the notebook paths:

    sources/lessons/01-numpy/01-tensors-forward-pass.py  ->  lessons/01-numpy/01-tensors-forward-pass.ipynb
    sources/solutions/backprop-minifw/backprop-minifw.py ->  solutions/backprop-minifw/backprop-minifw.ipynb

A *twin* source holds cells marked `track="pytorch"` or `track="tensorflow"` in their
`# %%` header and builds two notebooks, `-pytorch` and `-tensorflow` (the suffix goes on the file
name, and on its folder when the folder is named like the file, as nbgrader wants); unmarked cells
go into both. Each notebook records the digest of the cells it was built with, so the build can
tell which side changed: it rewrites a notebook only when the notebook is as it was built (or
already holds the source's cells), and otherwise stops and names the edited cells.

    python scripts/build_notebooks.py                   # build every notebook
    python scripts/build_notebooks.py PATH ...          # sources or notebooks, paths from the repo root
    python scripts/build_notebooks.py --check           # exit 1 if any notebook is stale, edited or has no source
    python scripts/build_notebooks.py --update-source lessons/x/y.ipynb   # carry notebook edits into the source
    python scripts/build_notebooks.py --force PATH      # overwrite notebook edits (they are lost)
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "sources"
FOLDERS = ("lessons", "solutions")  # notebooks under these need a source; labs/ comes from `nngrade generate`
TRACKS = ("pytorch", "tensorflow")
FORMAT = "py:percent"
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python"}
WRITE_FILTERS = {"notebook_metadata_filter": "-all", "cell_metadata_filter": "all"}


@dataclass(frozen=True)
class Target:
    """One notebook built from a source: `track` is None for a single-track source."""

    source: Path
    notebook: Path
    track: str | None


def rel(path: Path) -> str:
    return path.resolve().relative_to(ROOT).as_posix()


def read_source(source: Path) -> nbformat.NotebookNode:
    return jupytext.read(source, fmt=FORMAT)


def is_twin(nb: nbformat.NotebookNode) -> bool:
    return any("track" in cell.metadata for cell in nb.cells)


def targets_of(source: Path) -> list[Target]:
    """The notebooks one source builds."""
    notebook = ROOT / source.relative_to(SOURCES).with_suffix(".ipynb")
    nb = read_source(source)
    if not is_twin(nb):
        return [Target(source, notebook, None)]
    bad = {c.metadata["track"] for c in nb.cells if "track" in c.metadata} - set(TRACKS)
    if bad:
        raise SystemExit(f"{rel(source)}: unknown track {sorted(bad)}; expected one of {list(TRACKS)}")
    out = []
    for track in TRACKS:
        folder = notebook.parent
        if folder.name == notebook.stem:
            folder = folder.with_name(f"{folder.name}-{track}")
        out.append(Target(source, folder / f"{notebook.stem}-{track}.ipynb", track))
    return out


def all_targets() -> list[Target]:
    return [t for source in sorted(SOURCES.rglob("*.py")) for t in targets_of(source)]


def content(cells: list) -> list[tuple[str, str, str]]:
    """What an edit can change: each cell's type, text and nbgrader metadata (not outputs or view state)."""
    return [(c["cell_type"], c["source"] if isinstance(c["source"], str) else "".join(c["source"]),
             json.dumps(c.get("metadata", {}).get("nbgrader"), sort_keys=True)) for c in cells]


def digest(cells: list) -> str:
    return hashlib.sha256(json.dumps(content(cells)).encode()).hexdigest()[:16]


def render(target: Target) -> nbformat.NotebookNode:
    """The notebook a target's source builds: no outputs, no execution counts, stable cell ids."""
    nb = read_source(target.source)
    cells = [c for c in nb.cells if c.metadata.get("track", target.track) == target.track]
    for i, cell in enumerate(cells):
        cell.metadata.pop("lines_to_next_cell", None)
        cell.metadata.pop("track", None)
        cell["id"] = f"cell-{i}"
    nb.cells = cells
    nb.metadata = {
        "kernelspec": KERNELSPEC,
        "language_info": LANGUAGE_INFO,
        "nn_course": {"source": rel(target.source), "built": digest(cells)},
    }
    if target.track:  # not paired by jupytext.toml: the twin source is not this notebook's alone
        nb.metadata["jupytext"] = {"formats": "ipynb"}
    return nb


def text_of(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


@dataclass
class State:
    """How a notebook on disk relates to what its source builds now."""

    target: Target
    new: nbformat.NotebookNode
    old: dict | None

    @property
    def up_to_date(self) -> bool:
        return self.old is not None and json.dumps(self.old, sort_keys=True) == json.dumps(
            json.loads(text_of(self.new)), sort_keys=True)

    @property
    def same_cells(self) -> bool:
        return self.old is not None and content(self.old["cells"]) == content(self.new.cells)

    @property
    def notebook_edited(self) -> bool:
        """The notebook's cells are not the ones it was built with (an edit made in the notebook)."""
        if self.old is None or self.same_cells:
            return False
        built = self.old.get("metadata", {}).get("nn_course", {}).get("built")
        return built != digest(self.old["cells"])

    def edited_cells(self) -> list[int]:
        old, new = content(self.old["cells"]), content(self.new.cells)  # type: ignore[index]
        changed = [i for i, (a, b) in enumerate(zip(old, new)) if a != b]
        return changed + list(range(min(len(old), len(new)), max(len(old), len(new))))


def state(target: Target) -> State:
    old = None
    if target.notebook.exists():
        try:
            old = json.loads(target.notebook.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise SystemExit(f"{rel(target.notebook)} is not valid JSON ({err}); fix or delete it, then build again")
    return State(target, render(target), old)


def edit_message(s: State) -> str:
    t = s.target
    cells = ", ".join(str(i) for i in s.edited_cells()[:12])
    how = (f"python scripts/build_notebooks.py --update-source {rel(t.notebook)}   (writes the edit into "
           f"{rel(t.source)}{', the source of both twins' if t.track else ''}), then build again;")
    return (f"{rel(t.notebook)} was edited after it was built from {rel(t.source)} (cells {cells} differ).\n"
            f"  Keep the edit:    {how}\n"
            f"  Discard the edit: python scripts/build_notebooks.py --force {rel(t.notebook)}")


def update_source(target: Target, nb_path: Path) -> str:
    """Carry the cells of an edited notebook back into its source.

    A single-track source becomes the notebook's cells. In a twin source each cell of the notebook
    replaces the source cell it was built from (a shared cell changes in both twins); cells added or
    removed in a twin notebook cannot be placed automatically and are refused.
    """
    edited = nbformat.read(nb_path, as_version=4)
    source_nb = read_source(target.source) if target.source.exists() else nbformat.v4.new_notebook()
    if target.track is None:
        cells = []
        for cell in edited.cells:
            keep = {k: v for k, v in cell.metadata.items() if k == "nbgrader"}
            new = (nbformat.v4.new_markdown_cell if cell.cell_type == "markdown" else
                   nbformat.v4.new_raw_cell if cell.cell_type == "raw" else nbformat.v4.new_code_cell)(cell.source)
            new.metadata = keep
            cells.append(new)
        source_nb.cells = cells
    else:
        mine = [i for i, c in enumerate(source_nb.cells) if c.metadata.get("track", target.track) == target.track]
        if len(mine) != len(edited.cells):
            raise SystemExit(f"{rel(nb_path)} has {len(edited.cells)} cells where {rel(target.source)} builds "
                             f"{len(mine)}: add or remove cells in the twin source itself (mark a cell "
                             f'`track="{target.track}"` if only this twin needs it), then build with --force')
        for i, cell in zip(mine, edited.cells):
            source_nb.cells[i].source = cell.source
    source_nb.metadata = {"jupytext": dict(WRITE_FILTERS)}
    target.source.parent.mkdir(parents=True, exist_ok=True)
    target.source.write_text(jupytext.writes(source_nb, fmt=FORMAT), encoding="utf-8")
    return f"updated {rel(target.source)} from {rel(nb_path)}"


def resolve(paths: list[str], targets: list[Target]) -> list[Target]:
    """The targets named by source or notebook paths (relative to the repo root or the current folder)."""
    chosen = []
    for name in paths:
        path = Path(name)
        path = (path if path.is_absolute() else Path.cwd() / path).resolve()
        hits = [t for t in targets if path in (t.source.resolve(), t.notebook.resolve())]
        if not hits:
            raise SystemExit(f"{name}: not a source under sources/ nor a notebook built from one "
                             f"(sources: sources/lessons/<path>.py -> lessons/<path>.ipynb, "
                             f"sources/solutions/<lab>/<lab>.py -> solutions/<lab>/<lab>.ipynb)")
        chosen += [h for h in hits if h not in chosen]
    return chosen


def orphans(targets: list[Target]) -> list[Path]:
    """Notebooks under lessons/ and solutions/ that no source builds."""
    built = {t.notebook.resolve() for t in targets}
    return sorted(p for folder in FOLDERS for p in (ROOT / folder).rglob("*.ipynb")
                  if ".ipynb_checkpoints" not in p.parts and p.resolve() not in built)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", help="sources or notebooks (default: all)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="report stale, edited and source-less notebooks; write nothing")
    mode.add_argument("--update-source", action="store_true", help="write each named notebook's cells into its source")
    mode.add_argument("--force", action="store_true", help="build even over notebook edits (they are lost)")
    args = parser.parse_args(argv)
    targets = all_targets()
    if args.update_source:
        if not args.paths:
            parser.error("--update-source needs the notebooks to take the edits from")
        for name in args.paths:
            nb_path = Path(name).resolve()
            target = next((t for t in targets if t.notebook.resolve() == nb_path), None)
            if target is None and nb_path in orphans(targets):
                target = Target(SOURCES / nb_path.relative_to(ROOT).with_suffix(".py"), nb_path, None)
            if target is None:
                parser.error(f"--update-source takes notebooks under {' or '.join(FOLDERS)}/, not sources: {name}")
            print(update_source(target, nb_path))
        return 0

    chosen = resolve(args.paths, targets) if args.paths else targets
    problems = []
    for target in chosen:
        s = state(target)
        if s.up_to_date:
            continue
        if s.notebook_edited and not args.force:
            problems.append(edit_message(s))
        elif args.check:
            newer = "its source is newer" if not s.same_cells else "only its outputs or metadata differ"
            what = "is missing" if s.old is None else f"is stale ({newer})"
            problems.append(f"{rel(target.notebook)} {what}: run python scripts/build_notebooks.py {rel(target.source)}")
        else:
            target.notebook.parent.mkdir(parents=True, exist_ok=True)
            target.notebook.write_text(text_of(s.new), encoding="utf-8")
            print(f"wrote {rel(target.notebook)}")
    if not args.paths:
        for path in orphans(targets):
            problems.append(f"{rel(path)} has no source: python scripts/build_notebooks.py --update-source "
                            f"{rel(path)} writes sources/{rel(path)[:-6]}.py from it")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
