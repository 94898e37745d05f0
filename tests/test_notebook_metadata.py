"""Opening and saving a notebook in JupyterLab must leave it as committed (no `git diff`).

JupyterLab's page writes the kernelspec and the kernel's language_info into a notebook when the
kernel starts; the Jupyter server with Jupytext's contents manager (as `make lab` runs it) reads
and writes the file and its paired source. The committed metadata (scripts/build_notebooks.py)
must be what both write. tests/test_browser.py checks the whole round trip in a browser for the
setup check; these tests check every notebook without one.
"""
from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest
from ipykernel.ipkernel import IPythonKernel

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import build_notebooks  # noqa: E402

NOTEBOOKS = sorted(p.relative_to(ROOT).as_posix() for folder in ("lessons", "solutions", "labs")
                   for p in (ROOT / folder).rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def test_kernelspec_is_the_one_make_install_registers() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    found = re.search(r'ipykernel install .*--name (\S+) --display-name "([^"]+)"', makefile)
    assert found, "the Makefile no longer registers the course's kernel with ipykernel install"
    assert build_notebooks.KERNELSPEC == {"display_name": found[2], "language": "python", "name": found[1]}


def test_language_info_is_what_the_kernel_reports() -> None:
    reported = dict(IPythonKernel.language_info)
    committed = dict(build_notebooks.LANGUAGE_INFO)
    assert committed.pop("version").rsplit(".", 1)[0] == reported.pop("version").rsplit(".", 1)[0] == "3.11"
    assert committed == reported


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_notebook_has_the_metadata_jupyterlab_writes(path: str) -> None:
    metadata = json.loads((ROOT / path).read_text(encoding="utf-8"))["metadata"]
    assert metadata.get("kernelspec") == build_notebooks.KERNELSPEC, f"{path}: rebuild it (and regenerate labs)"
    assert metadata.get("language_info") == build_notebooks.LANGUAGE_INFO, f"{path}: rebuild it (and regenerate labs)"


def test_server_round_trip_changes_no_file(tmp_path: Path) -> None:
    """Every notebook read and saved back by Jupytext's contents manager, as JupyterLab does."""
    from jupytext import TextFileContentsManager

    for name in ("lessons", "solutions", "labs", "sources", "jupytext.toml"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, tmp_path / name)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    manager = TextFileContentsManager(root_dir=str(tmp_path))
    for path in NOTEBOOKS:
        manager.save(manager.get(path, content=True, type="notebook"), path)
    changed = [p.relative_to(tmp_path).as_posix() for p, data in before.items() if p.read_bytes() != data]
    created = [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file() and p not in before
               and ".ipynb_checkpoints" not in p.parts]
    assert not changed and not created, f"saving changed {changed}, created {created}"
