"""Build the course site into `_build/html`: `python site/build.py` (what `make site` runs).

1. Lay out `_build/site-src`: the lesson and lab notebooks, the home page with the course map,
   one topic page per PyTorch/TensorFlow twin pair, the labs page and `_toc.yml`, all read from
   the folders (site/layout.py).
2. Build the HTML with Jupyter Book 1 (Sphinx + myst-nb), warnings as errors: every lesson is
   executed (cached in `_build/.jupyter_cache`), a failing cell, a broken reference or
   un-rendered math fails the build.
3. Run Sphinx's linkcheck on the same pages: internal links; external ones too when
   SITE_LINKCHECK=external (they need a network).

The execution cache is keyed by jupyter-cache on code cells only, so it is emptied whenever
minifw, pyproject.toml or requirements.lock change, and by `--fresh` (CI).
"""
from __future__ import annotations

import argparse
import ast
import hashlib
import os
import shutil
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BUILD = ROOT / "_build"
SRC, HTML, LINKCHECK = BUILD / "site-src", BUILD / "html", BUILD / "linkcheck"
CACHE = BUILD / ".jupyter_cache"
sys.path.insert(0, str(HERE))

import layout  # noqa: E402  (site/ is not a package: `site` is a standard-library module)


def _environment() -> None:
    """Kernels inherit this: one math thread each, the worktree's minifw, inline plots."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
        os.environ.setdefault(var, "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.pop("MPLBACKEND", None)  # Agg would swallow the plots; kernels default to inline
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))


def _code_fingerprint() -> str:
    """What the lessons run besides their own cells: minifw and the pinned packages."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "minifw").rglob("*.py")) + [ROOT / "pyproject.toml", ROOT / "requirements.lock"]:
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _prepare_cache(fresh: bool) -> None:
    stamp = CACHE / "fingerprint"
    fingerprint = _code_fingerprint()
    if fresh or (CACHE.exists() and (not stamp.exists() or stamp.read_text() != fingerprint)):
        print(f"site: emptying the execution cache {CACHE.relative_to(ROOT)}", flush=True)
        shutil.rmtree(CACHE, ignore_errors=True)
        shutil.rmtree(BUILD / ".doctrees", ignore_errors=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    stamp.write_text(fingerprint)


def _type_aliases() -> list[tuple[str, str]]:
    """minifw's module-level type aliases (`RNGLike = int | ...`): annotations name them, but
    they are no documented class, so strict cross-references would call them missing."""
    names = []
    for path in sorted((ROOT / "minifw").glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                    and node.targets[0].id[:1].isupper() and isinstance(node.value, (ast.BinOp, ast.Subscript))):
                names += [(role, f"minifw.{path.stem}.{node.targets[0].id}") for role in ("py:class", "py:obj")]
    return names


# A kernel that cannot start because another process took its port between jupyter_client
# choosing it and the kernel binding it: a race, not a lesson's fault. The build is retried once
# (the lessons that ran are cached, so the retry re-runs only the rest).
KERNEL_START_FAILURES = ("Kernel didn't respond", "Address already in use", "Kernel died before replying")


def _sphinx(builder: str, outdir: Path, jobs: int, overrides: dict) -> int:
    from jupyter_book.sphinx import build_sphinx

    for attempt in (1, 2):
        result = build_sphinx(
            str(SRC), str(outdir), noconfig=True, path_config=str(HERE / "_config.yml"),
            confoverrides=dict(overrides), builder=builder, warningiserror=True, keep_going=True,
            jobs=jobs, use_external_toc=True,
        )
        if not isinstance(result, BaseException):
            return int(result)
        text = "".join(traceback.format_exception(result)) + " ".join(map(str, result.args))
        if attempt == 1 and any(failure in text for failure in KERNEL_START_FAILURES):
            print("site: a kernel did not start (its port was taken); building again", file=sys.stderr, flush=True)
            continue
        print(f"site: {builder} failed: {result!r}", file=sys.stderr)
        return 1
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", action="store_true", help="empty the execution cache first (CI does)")
    parser.add_argument("--jobs", type=int, default=min(os.cpu_count() or 1, 4),
                        help="parallel Sphinx readers, each executing one notebook at a time "
                             "(default: cores, at most 4)")
    parser.add_argument("--no-linkcheck", action="store_true", help="skip the link check")
    args = parser.parse_args(argv)

    _environment()
    _prepare_cache(args.fresh)
    layout.write_sources(SRC)
    overrides = {
        "external_toc_path": (SRC / "_toc.yml").as_posix(),
        "latex_individualpages": False,
        "nitpicky": True,
        "nitpick_ignore": _type_aliases(),
        "nb_execution_cache_path": str(CACHE),
        "autodoc2_packages": [{"path": os.path.relpath(ROOT / "minifw", SRC), "auto_mode": True}],
    }
    start = time.perf_counter()
    status = _sphinx("html", HTML, args.jobs, overrides)
    print(f"site: html built in {time.perf_counter() - start:.0f} s -> {HTML.relative_to(ROOT)}/index.html", flush=True)
    if status or args.no_linkcheck:
        return status
    external = os.environ.get("SITE_LINKCHECK") == "external"
    overrides["linkcheck_ignore"] = [] if external else [r"^[a-z][a-z0-9+.-]*://", r"^mailto:"]
    start = time.perf_counter()
    status = _sphinx("linkcheck", LINKCHECK, 1, overrides)
    print(f"site: linkcheck ({'internal and external' if external else 'internal'} links) "
          f"in {time.perf_counter() - start:.0f} s: {'ok' if status == 0 else 'FAILED'}"
          f" (report: {(LINKCHECK / 'output.txt').relative_to(ROOT)})", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
