"""What the guard (nngrade.guard) watches in a course while a batch runs, and what it leaves
alone."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

# Folders of run-time output that lessons and tools write into the repository (git-ignored).
# The guard skips those that exist when the batch starts, outside the folders that
# `generate` copies to students; a new one anywhere is a change like any other.
SCRATCH_NAMES = {".ipynb_checkpoints", ".pytest_cache", ".hypothesis", "lightning_logs", "logs", "runs"}
RELEASED = ("solutions", "labs")
# Inside .git, what a submission could change to reach a later commit or release.
GIT_SKIPPED = {"objects", "logs", "lfs", "modules", "worktrees"}


def unwatched(root: Path, skipped: list[Path], packages: list[Path]) -> Callable[[Path], bool]:
    """What the guard leaves alone: the given folders, the run-time output folders that exist
    now outside solutions/ and labs/, .git's objects and logs (its index, refs, hooks and
    config are watched), and the installed packages (the start-up files next to them, *.pth
    and sitecustomize.py, are watched)."""
    existing = set()
    for folder, dirs, _ in os.walk(root):
        here = Path(folder)
        existing |= {here / d for d in dirs if d in SCRATCH_NAMES}
        dirs[:] = [d for d in dirs if d not in SCRATCH_NAMES and d != ".git"
                   and here / d not in skipped and not (here == root and d in RELEASED)]

    def ignored(path: Path) -> bool:
        if path in existing or (path in skipped and path not in packages):
            return True
        if path.parent == root / ".git":
            return path.name in GIT_SKIPPED
        return path.parent in packages and path.is_dir()

    return ignored
