"""Student HTML made harmless before an instructor's browser renders it.

A submission's markdown cells and outputs end up in pages opened with the instructor's
Jupyter session (the formgrader) and in the feedback pages, so a `<script>`, an `onerror=`
or a `javascript:` link there would run as the instructor. nbconvert renders markdown with
raw HTML kept, and nbgrader's formgrader template does not clean it; so the autograded
notebook itself is cleaned, with the `nh3` sanitizer (the Rust `ammonia` allow-list):

- a markdown cell (or a text/markdown output) whose rendered HTML nh3 would change is
  replaced by that cleaned HTML (markdown passes HTML blocks through unchanged); cells
  that are already safe, such as the lab's own text, stay as they are;
- text/html outputs are cleaned; output types a browser could run (JavaScript, SVG,
  widgets, anything not in `KEPT_OUTPUTS`) are dropped with a plain-text note;
- raw cells meant for HTML are cleaned;
- the notebook's saved widget state (metadata `widgets`) is dropped.
"""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser
from typing import Any

import nh3
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbformat import NotebookNode

# Output types rendered without running anything (text/html is cleaned first).
KEPT_OUTPUTS = {"text/plain", "text/html", "text/markdown", "text/latex", "image/png",
                "image/jpeg", "image/gif", "application/json"}
_ATTRIBUTES = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    "*": {"class", "title", "align", "lang", "dir"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "table": {"border"},
    **{f"h{level}": {"id"} for level in range(1, 7)},  # nbconvert's heading anchors
}
_SCHEMES = {"http", "https", "mailto", "data", "attachment"}


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    # data: URLs only as images (an <a href="data:text/html,..."> could carry a page).
    if value.strip().lower().startswith("data:") and not (tag == "img" and attribute == "src"
                                                          and value.strip()[5:].lower().startswith("image/")):
        return None
    return value


def clean_html(html: str) -> str:
    """The HTML with every tag, attribute and URL scheme outside the allow-list removed
    (scripts and styles with their content)."""
    return nh3.clean(html, attributes=_ATTRIBUTES, url_schemes=_SCHEMES, link_rel=None,
                     attribute_filter=_keep_attribute, strip_comments=True)


class _Events(HTMLParser):
    """The start tags (with sorted attributes), declarations and text of an HTML fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.events: list[tuple[Any, ...]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.events.append(("start", tag, tuple(sorted((k, v or "") for k, v in attrs))))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.events.append(("data", data))

    def handle_decl(self, decl: str) -> None:
        self.events.append(("decl", decl))

    def handle_pi(self, data: str) -> None:
        self.events.append(("pi", data))

    def unknown_decl(self, data: str) -> None:
        self.events.append(("decl", data))


def _events(html: str) -> tuple[Counter, str]:
    parser = _Events()
    parser.feed(html)
    parser.close()
    tags = Counter(e for e in parser.events if e[0] != "data")
    text = " ".join("".join(e[1] for e in parser.events if e[0] == "data").split())
    return tags, text


def is_clean(html: str) -> bool:
    """True when cleaning keeps every tag, attribute and piece of text of the HTML (it may
    still restructure it: close a paragraph before a block, say)."""
    tags, text = _events(html)
    kept_tags, kept_text = _events(clean_html(html))
    return tags <= kept_tags and text == kept_text


def _render(source: str, attachments: dict[str, Any] | None = None) -> str | None:
    """The HTML nbconvert renders the markdown to (with the cell's attachments), or None when
    it cannot (a reference to a missing attachment, say)."""
    try:
        renderer = IPythonRenderer(escape=False, attachments=dict(attachments or {}))
        return MarkdownWithMath(renderer=renderer).render(source)
    except Exception:  # nbconvert's InvalidNotebook, or anything a malformed cell triggers
        return None


def clean_markdown(source: str, attachments: dict[str, Any] | None = None) -> str:
    """The markdown unchanged if what it renders to is clean; else the cleaned HTML of its
    rendering (which markdown renderers show as it is); the text as a code block when it
    cannot be rendered at all."""
    rendered = _render(source, attachments)
    if rendered is not None and is_clean(rendered):
        return source
    cleaned = clean_html(rendered) if rendered is not None else None
    if cleaned is not None and (again := _render(cleaned)) is not None and is_clean(again):
        return cleaned
    fence = "~" * (1 + max((len(run) for run in source.split() if set(run) == {"~"}), default=2))
    return f"{fence}text\n{source}\n{fence}"  # a last resort: show the text as code


def _clean_data(data: dict[str, Any]) -> list[str]:
    dropped = sorted(key for key in data if key not in KEPT_OUTPUTS)
    for key in dropped:
        del data[key]
    if "text/html" in data:
        html = "".join(data["text/html"]) if isinstance(data["text/html"], list) else data["text/html"]
        if not is_clean(html):
            data["text/html"] = clean_html(html)
    if "text/markdown" in data:
        text = "".join(data["text/markdown"]) if isinstance(data["text/markdown"], list) else data["text/markdown"]
        data["text/markdown"] = clean_markdown(text)
    if dropped and not data.get("text/plain"):
        data["text/plain"] = f"[output of type {', '.join(dropped)} not shown when grading]"
    return dropped


def sanitize_cell(cell: NotebookNode) -> bool:
    """Clean one cell in place; True if anything changed."""
    before = repr(cell)
    if cell.cell_type == "markdown":
        cell.source = clean_markdown(cell.source, cell.get("attachments"))
    elif cell.cell_type == "raw":
        fmt = str(cell.metadata.get("format", cell.metadata.get("raw_mimetype", ""))).lower()
        if "html" in fmt or "markdown" in fmt:
            cell.source = clean_html(cell.source)
    elif cell.cell_type == "code":
        for output in cell.get("outputs", []):
            if output.get("output_type") in ("display_data", "execute_result"):
                _clean_data(output.setdefault("data", {}))
    return repr(cell) != before


def sanitize_notebook(nb: NotebookNode) -> int:
    """Clean the notebook in place: every cell, and its saved widget state (nbconvert's
    templates load the widget manager for it, which renders an HTML widget's value as
    HTML); returns how many cells changed."""
    nb.metadata.pop("widgets", None)
    return sum(sanitize_cell(cell) for cell in nb.cells)
