"""Protected folders: a snapshot taken before student code runs, a check after each
submission, and restoration of anything that changed behind the grader's back.

Student code runs as the grading user, so file permissions alone cannot stop it from
writing into the repository or the gradebook. The guard cannot prevent such a write; it
notices it (content hashes, not timestamps) and undoes it from a private backup copy.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path


class GuardError(Exception):
    """A protected file could not be restored."""


@dataclass(frozen=True)
class Entry:
    kind: str  # "file", "dir" or "link"
    mode: int
    digest: str  # sha256 of a file, target of a link, "" for a folder
    fingerprint: tuple[int, int, int, int]  # inode, size, mtime_ns, ctime_ns


def _digest(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


class Guard:
    """Watches the folders in `roots` (minus the paths for which `ignored` is true) and keeps
    a private backup of every file in them."""

    def __init__(self, roots: list[Path], ignored: Callable[[Path], bool], backup: Path) -> None:
        roots = list(dict.fromkeys(r.resolve() for r in roots if r.exists()))
        self.ignored = ignored
        # A root inside another is walked on its own only if the other's walk skips it.
        self.roots = [r for r in roots if not any(o in r.parents and not self._skipped(o, r) for o in roots)]
        self.backup = backup
        self.taken = time.time()
        self.snapshot = self._scan(previous=None)
        for path, entry in self.snapshot.items():
            if entry.kind == "file":
                copy = self._backup_path(path)
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, copy)
                if _digest(copy) != entry.digest:
                    raise GuardError(f"expected a stable copy of {path} for the backup; "
                                     "it changed while being copied")

    def _skipped(self, root: Path, path: Path) -> bool:
        """Whether walking root skips path (it or a folder above it is ignored)."""
        return any(self.ignored(p) for p in [path, *path.parents] if root in p.parents)

    def _backup_path(self, path: Path) -> Path:
        return self.backup / str(path).lstrip(os.sep)

    def _walk(self, tops: list[Path] | None = None) -> Iterator[Path]:
        for root in self.roots if tops is None else tops:
            yield root
            for folder, dirs, files in os.walk(root):
                here = Path(folder)
                dirs[:] = sorted(d for d in dirs if not self.ignored(here / d))
                for name in sorted(dirs + [f for f in files if not self.ignored(here / f)]):
                    yield here / name

    def accept(self, paths: list[Path]) -> None:
        """Take the present state of these paths (written by nngrade itself, not by a
        submission) into the snapshot and the backup."""
        for top in (p.resolve() for p in paths):
            root = next((r for r in self.roots if top == r or r in top.parents), None)
            if root is None:
                continue
            for parent in top.parents:
                if parent == root or root not in parent.parents:
                    break
                if parent.is_dir() and parent not in self.snapshot and not self.ignored(parent):
                    st = parent.lstat()
                    self.snapshot[parent] = Entry("dir", stat.S_IMODE(st.st_mode), "",
                                                  (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
            for path in [p for p in self.snapshot if p == top or top in p.parents]:
                del self.snapshot[path]
            if not top.exists():
                continue
            for path, entry in self._scan(previous=None, tops=[top]).items():
                self.snapshot[path] = entry
                if entry.kind == "file":
                    copy = self._backup_path(path)
                    copy.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(path, copy)

    def export(self, folder: Path, dest: Path, skip: Callable[[Path], bool] = lambda p: False) -> None:
        """Copy the snapshot of `folder` (a folder or a file), from the verified backup, to `dest`."""
        folder = folder.resolve()
        for path, entry in self.snapshot.items():
            if entry.kind != "file" or not (path == folder or folder in path.parents) or skip(path):
                continue
            copy = self._backup_path(path)
            if _digest(copy) != entry.digest:
                raise GuardError(f"expected the backup of {path} to be intact; it was changed "
                                 "(by code running at the same time), so it cannot be used")
            target = dest / path.relative_to(folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(copy, target)

    def _scan(self, previous: dict[Path, Entry] | None, tops: list[Path] | None = None) -> dict[Path, Entry]:
        entries = {}
        recent = self.taken - 2.0  # a ctime this close to the snapshot is not trusted
        for path in self._walk(tops):
            st = path.lstat()
            fingerprint = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
            if stat.S_ISLNK(st.st_mode):
                entries[path] = Entry("link", 0, os.readlink(path), fingerprint)
            elif stat.S_ISDIR(st.st_mode):
                entries[path] = Entry("dir", stat.S_IMODE(st.st_mode), "", fingerprint)
            elif stat.S_ISREG(st.st_mode):
                old = previous.get(path) if previous else None
                if old and old.fingerprint == fingerprint and st.st_ctime_ns / 1e9 < recent:
                    digest = old.digest
                else:
                    digest = _digest(path)
                entries[path] = Entry("file", stat.S_IMODE(st.st_mode), digest, fingerprint)
            else:
                entries[path] = Entry("other", 0, "", fingerprint)
        return entries

    def changes(self) -> list[Path]:
        """Protected paths that were added, removed or modified since the snapshot."""
        now = self._scan(previous=self.snapshot)
        changed = [p for p in now if p not in self.snapshot]
        for path, entry in self.snapshot.items():
            new = now.get(path)
            if new is None or (new.kind, new.mode, new.digest) != (entry.kind, entry.mode, entry.digest):
                changed.append(path)
        return sorted(set(changed))

    def restore(self, changed: list[Path]) -> None:
        """Put the snapshot back for the changed paths (added ones are removed)."""
        for path in sorted(changed, key=lambda p: len(p.parts), reverse=True):
            if path not in self.snapshot:
                _remove(path)
        for path in sorted(changed, key=lambda p: len(p.parts)):
            entry = self.snapshot.get(path)
            if entry is None:
                continue
            if path.is_symlink() or (path.exists() and _kind(path) != entry.kind):
                _remove(path)
            if entry.kind == "dir":
                path.mkdir(parents=True, exist_ok=True)
                os.chmod(path, entry.mode)
            elif entry.kind == "link":
                os.symlink(entry.digest, path)
            elif entry.kind == "file":
                copy = self._backup_path(path)
                if not copy.is_file() or _digest(copy) != entry.digest:
                    raise GuardError(f"expected the backup of {path} to be intact; it was "
                                     "changed too, so the file cannot be restored")
                path.parent.mkdir(parents=True, exist_ok=True)
                if path.exists():
                    os.chmod(path, 0o600)
                shutil.copyfile(copy, path)
                os.chmod(path, entry.mode)
        still = self.changes()
        if still:
            raise GuardError("expected the protected files to match the snapshot after "
                             f"restoring them; still different: {', '.join(map(str, still[:10]))}")


def _kind(path: Path) -> str:
    if path.is_symlink():
        return "link"
    return "dir" if path.is_dir() else "file"


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        shutil.rmtree(path, onerror=_force_remove)


def _force_remove(func, path, _exc_info) -> None:
    os.chmod(os.path.dirname(path), 0o700)
    if os.path.isdir(path) and not os.path.islink(path):
        os.chmod(path, 0o700)
    func(path)
