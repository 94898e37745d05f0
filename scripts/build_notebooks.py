"""Write every notebook from its jupytext source.

Sources are percent-format scripts (`# %%` code cells, `# %% [markdown]` text cells) under
`scripts/notebooks/`, mirroring the notebook paths: `scripts/notebooks/lessons/01-numpy/01-tensors.py`
becomes `lessons/01-numpy/01-tensors.ipynb`. Notebooks are written without outputs.

    python scripts/build_notebooks.py            # all
    python scripts/build_notebooks.py lessons/01-numpy/01-tensors.py   # one (path under scripts/notebooks)
    python scripts/build_notebooks.py --check    # exit 1 if a committed notebook differs from its source
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "scripts" / "notebooks"


def render(source: Path) -> str:
    """The .ipynb text for one source: no outputs, no execution counts, a Python 3 kernel."""
    nb = jupytext.read(source, fmt="py:percent")
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for i, cell in enumerate(nb.cells):
        cell.metadata.pop("lines_to_next_cell", None)
        cell["id"] = f"cell-{i}"
    return nbformat.writes(nb) + "\n"


def target(source: Path) -> Path:
    return ROOT / source.relative_to(SOURCES).with_suffix(".ipynb")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sources", nargs="*", help="sources relative to scripts/notebooks (default: all)")
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    sources = [SOURCES / s for s in args.sources] or sorted(SOURCES.rglob("*.py"))
    stale = []
    for source in sources:
        text, out = render(source), target(source)
        if args.check:
            if not out.exists() or out.read_text(encoding="utf-8") != text:
                stale.append(out.relative_to(ROOT))
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
            print(f"wrote {out.relative_to(ROOT)}")
    for path in stale:
        print(f"stale: {path} differs from its source; run python scripts/build_notebooks.py", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
