"""Sphinx extension of the course site.

- Puts the framework tabs (`_twins.json`, written by site/layout.py) under the title of each
  twin notebook while Sphinx reads it, so the copied notebook (and its download) stays as is.
- Turns `<details><summary>Answer</summary>...</details>` (the review questions' answers) into
  MyST dropdowns: raw HTML is not parsed, so math inside it would stay un-rendered.
- Turns the toctree of the API package page (sphinx-autodoc2) into a list of links: `_toc.yml`
  already puts the modules in the navigation, and a second toctree would list them twice.
- Serves MathJax 3 from the site (the django-static-mathjax wheel ships it): pages render math
  offline.
- Lets Sphinx read (and so execute) notebooks in parallel: two extensions that Jupyter Book
  loads do not declare that they are parallel-safe, though they act only after reading. Sphinx
  hands each reader process a contiguous block of pages; the lessons to execute are spread
  over the blocks so that no reader gets all the slow ones.
- Drops scripts that a page would load twice (sphinx-thebe's configuration is added twice by
  Jupyter Book 1, and its second `const THEBE_JS_URL` is a JavaScript error on every page).
- Fails the build (a warning; `make site` turns warnings into errors) when a page shows math
  that was not rendered: `$...$`, `\\(`, `\\begin{` left in its text.
"""
from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.parallel import make_chunks

LOGGER = logging.getLogger(__name__)
# MathJax files the site needs: the combined TeX component, the extensions it loads on demand,
# the CommonHTML fonts and the menu; not the speech engine (sre) or the other bundles.
MATHJAX_PARTS = ["tex-mml-chtml.js", "input", "output/chtml", "ui", "a11y", "adaptors"]
# Extensions that work only on the whole environment or on LaTeX output, so reading in parallel
# is safe, but that do not say so (Sphinx then reads serially).
PARALLEL_SAFE_UNDECLARED = ("sphinx_multitoc_numbering", "sphinx_jupyterbook_latex")
UNRENDERED = re.compile(r"\$[^$\s][^$]*[^$\s]\$|\$\S\$|\\\(|\\\[|\\begin\{")


API_TOCTREE = re.compile(r"```\{toctree\}\n(?::[^\n]*\n)*\n((?:[^`\n][^\n]*\n)+)```")


def _api_toctree_as_list(app: Sphinx, docname: str, source: list[str]) -> None:
    if docname.startswith("apidocs/"):
        source[0] = API_TOCTREE.sub(
            lambda m: "".join(f"- {{py:mod}}`{name.strip()}`\n" for name in m.group(1).splitlines()), source[0])


DETAILS = re.compile(r"^([ \t]*)<details>\s*<summary>(.*?)</summary>(.*?)</details>", re.M | re.S)


def _dropdown(match: re.Match) -> str:
    indent, summary, body = match.group(1), match.group(2).strip(), match.group(3).strip()
    lines = [f"::::{{dropdown}} {summary}", *body.splitlines(), "::::"]
    return "\n".join(indent + line if line.strip() else "" for line in lines)


def _details_as_dropdowns(app: Sphinx, docname: str, source: list[str]) -> None:
    if not source[0].lstrip().startswith("{") or "<details>" not in source[0]:
        return
    notebook = json.loads(source[0])
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            cell["source"] = DETAILS.sub(_dropdown, "".join(cell["source"]))
    source[0] = json.dumps(notebook)


def _add_twin_header(app: Sphinx, docname: str, source: list[str]) -> None:
    path = Path(app.srcdir) / "_twins.json"
    header = json.loads(path.read_text()).get(docname) if path.exists() else None
    if header is None:
        return
    notebook = json.loads(source[0])
    first = next(c for c in notebook["cells"] if c["cell_type"] == "markdown")
    title, _, rest = "".join(first["source"]).partition("\n")
    first["source"] = f"{title}\n\n{header}\n{rest}"
    source[0] = json.dumps(notebook)


def _parallel_read(app: Sphinx, env, docnames: list[str]) -> None:
    for name in PARALLEL_SAFE_UNDECLARED:
        extension = app.extensions.get(name)
        if extension is not None and extension.parallel_read_safe is None:
            extension.parallel_read_safe = True
    if app.parallel < 2:
        return
    sizes = [len(block) for block in make_chunks(list(docnames), app.parallel)]
    executed = [d for d in docnames if d.startswith("lessons/") and str(env.doc2path(d)).endswith(".ipynb")]
    blocks: list[list[str]] = [[] for _ in sizes]
    turn = 0
    for docname in executed + [d for d in docnames if d not in executed]:
        while len(blocks[turn % len(blocks)]) >= sizes[turn % len(blocks)]:
            turn += 1
        blocks[turn % len(blocks)].append(docname)
        turn += 1
    docnames[:] = [d for block in blocks for d in block]


def _unique_scripts(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = (getattr(script, "filename", script) or "", tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def _copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    import mathjax  # django-static-mathjax

    src = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    dest = Path(app.outdir) / "_static" / "mathjax"
    for part in MATHJAX_PARTS:
        if not (dest / part).exists():
            (dest / part).parent.mkdir(parents=True, exist_ok=True)
            copy = shutil.copytree if (src / part).is_dir() else shutil.copy2
            copy(src / part, dest / part)


class _TextOutsideMath(HTMLParser):
    """The page's text outside code, scripts and rendered math."""

    SKIP = {"script", "style", "pre", "code", "kbd", "samp", "textarea"}
    VOID = {"br", "img", "hr", "meta", "link", "input", "wbr", "source", "col", "area", "base", "embed"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []  # True: inside something skipped
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        classes = (dict(attrs).get("class") or "").split()
        skipped = tag in self.SKIP or "math" in classes or "highlight" in " ".join(classes)
        self.stack.append(skipped or (bool(self.stack) and self.stack[-1]))

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not (self.stack and self.stack[-1]):
            self.text.append(data)


def unrendered_math(html: str) -> list[str]:
    """Pieces of TeX left in the text of an HTML page (outside code and rendered math)."""
    parser = _TextOutsideMath()
    parser.feed(html)
    return UNRENDERED.findall(" ".join(parser.text))


def _check_math(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.name != "html":
        return
    for page in sorted(Path(app.outdir).rglob("*.html")):
        if "_static" in page.parts:
            continue
        found = unrendered_math(page.read_text(encoding="utf-8"))
        if found:
            LOGGER.warning("un-rendered math in %s: %s", page.relative_to(app.outdir), found[:5],
                           type="course_site", subtype="math")


def setup(app: Sphinx) -> dict:
    app.connect("env-before-read-docs", _parallel_read)
    app.connect("source-read", _add_twin_header)
    app.connect("source-read", _api_toctree_as_list)
    app.connect("source-read", _details_as_dropdowns)
    app.connect("html-page-context", _unique_scripts, priority=900)
    app.connect("build-finished", _copy_mathjax)
    app.connect("build-finished", _check_math)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
