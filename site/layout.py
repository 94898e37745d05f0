"""What the course site holds, read from the lesson and lab folders (nothing is hand-listed).

- `lessons/*.ipynb` and `lessons/<NN-part>/*.ipynb` are the lessons, in name order; each
  `lessons/<NN-part>/` folder is one part of the site.
- A `<name>-pytorch.ipynb` and `<name>-tensorflow.ipynb` pair in one folder are twins: the site
  shows them under one topic page `<name>` whose synchronized tabs lead to either.
- `labs/<lab>/<lab>.ipynb` are the labs' student versions; `<lab>-pytorch`/`<lab>-tensorflow`
  are twins too, with a topic page `labs/<lab>`.

`write_sources` lays these out as a Sphinx source folder: the notebooks are copied (only those
that changed, so that Sphinx re-reads only those), the home page, the topic pages, the labs
page and the Jupyter Book `_toc.yml` are generated.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "site"
TRACKS = {"pytorch": "PyTorch", "tensorflow": "TensorFlow"}
# Part captions of the lesson folders; a folder not named here gets one from its name.
CAPTIONS = {
    "01-numpy": "The numpy track: minifw",
    "02-frameworks": "PyTorch and TensorFlow",
    "03-overfitting": "Overfitting and regularization",
    "04-beyond": "Beyond",
}
# Folders of the repository mirrored into the site sources because lessons refer to them.
MIRRORED = ["site/figures"]
GENERATED_SUFFIXES = {".ipynb", ".md", ".yml", ".svg", ".png"}


@dataclass(frozen=True)
class Notebook:
    """One notebook: `path` relative to the repository root, `docname` its page (no suffix)."""

    path: str
    title: str
    sections: tuple[str, ...]
    intro: str

    @property
    def docname(self) -> str:
        return self.path.removesuffix(".ipynb")


@dataclass(frozen=True)
class Topic:
    """A twin pair shown under one page `docname` with a PyTorch and a TensorFlow tab."""

    docname: str
    title: str
    twins: dict[str, Notebook]  # track ("pytorch", "tensorflow") -> notebook


@dataclass
class Part:
    caption: str
    entries: list[Notebook | Topic] = field(default_factory=list)


def read_notebook(path: Path, root: Path = ROOT) -> Notebook:
    """Title (the first `# ` heading), `##` sections and intro (the first cell after the title)."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    markdown = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    rel = path.relative_to(root).as_posix()
    if not markdown or not markdown[0].startswith("# "):
        raise ValueError(f"{rel}: expected the first cell to start with a '# ' title, got {markdown[:1]!r}")
    title, _, intro = markdown[0].partition("\n")
    sections = tuple(line[3:].strip() for text in markdown for line in text.splitlines() if line.startswith("## "))
    return Notebook(rel, title[2:].strip(), sections, intro.strip())


def _humanize(slug: str) -> str:
    words = re.sub(r"^\d+-", "", slug).replace("-", " ")
    return words[:1].upper() + words[1:]


def topic_title(pytorch: str, tensorflow: str, slug: str) -> str:
    """The words the twins' titles share, without the framework: "02·01 · Tensors and autograd"."""
    common = []
    for a, b in zip(pytorch.split(), tensorflow.split()):
        if a != b:
            break
        common.append(a)
    while common and (common[-1].lower() in {"in", "with", "and", "using", "·", "-", "—", "(", "with:"}):
        common.pop()
    title = " ".join(common).rstrip(" (:;,·-—")
    if not re.sub(r"[\d·.\s]", "", title):  # nothing but the number is shared
        title = f"{title} · {_humanize(slug)}" if title else _humanize(slug)
    return title


def _twins(notebooks: list[Path], root: Path) -> list[Notebook | Topic]:
    """Group `name-pytorch` / `name-tensorflow` pairs (by file stem) into topics, in name order."""
    by_stem = {p.stem: p for p in notebooks}
    entries: list[Notebook | Topic] = []
    for path in notebooks:
        base, _, track = path.stem.rpartition("-")
        if track in TRACKS and base and all(f"{base}-{t}" in by_stem for t in TRACKS):
            if track != "pytorch":
                continue
            twins = {t: read_notebook(by_stem[f"{base}-{t}"], root) for t in TRACKS}
            topic_dir = path.parent if path.parent.name != path.stem else path.parent.parent
            docname = (topic_dir / base).relative_to(root).as_posix()
            if (root / f"{docname}.ipynb").exists():
                raise ValueError(f"topic page {docname} of twins {base}-* collides with {docname}.ipynb")
            entries.append(Topic(docname, topic_title(twins["pytorch"].title, twins["tensorflow"].title, base), twins))
        else:
            entries.append(read_notebook(path, root))
    return entries


def lesson_parts(root: Path = ROOT) -> list[Part]:
    """Top-level lessons ("Start"), then one part per `lessons/<NN-part>/` folder, in name order."""
    lessons = root / "lessons"
    parts = [Part("Start", _twins(sorted(lessons.glob("*.ipynb")), root))]
    for folder in sorted(p for p in lessons.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        notebooks = sorted(folder.glob("*.ipynb"))
        if notebooks:
            parts.append(Part(CAPTIONS.get(folder.name, _humanize(folder.name)), _twins(notebooks, root)))
    return [p for p in parts if p.entries]


def lab_entries(root: Path = ROOT) -> list[Notebook | Topic]:
    """The labs' student versions `labs/<lab>/<lab>.ipynb`, twins grouped."""
    return _twins(sorted((root / "labs").glob("*/*.ipynb")), root)


def notebooks_of(entries: list[Notebook | Topic]) -> list[Notebook]:
    out = []
    for entry in entries:
        out.extend(entry.twins.values() if isinstance(entry, Topic) else [entry])
    return out


def _toc_entry(entry: Notebook | Topic) -> dict:
    if isinstance(entry, Topic):
        return {"file": entry.docname, "sections": [{"file": nb.docname} for nb in entry.twins.values()]}
    return {"file": entry.docname}


def api_modules(root: Path = ROOT) -> list[str]:
    """minifw's public modules: one API page each (written by sphinx-autodoc2)."""
    return sorted(p.stem for p in (root / "minifw").glob("*.py") if not p.name.startswith("_"))


def toc(parts: list[Part], labs: list[Notebook | Topic], root: Path = ROOT) -> dict:
    """The Jupyter Book (`jb-book`) table of contents."""
    return {
        "format": "jb-book",
        "root": "index",
        "parts": [{"caption": p.caption, "chapters": [_toc_entry(e) for e in p.entries]} for p in parts]
        + [
            {"caption": "Labs", "chapters": [{"file": "labs/index", "sections": [_toc_entry(e) for e in labs]}]},
            {"caption": "Reference", "chapters": [{"file": "apidocs/minifw/minifw", "sections": [
                {"file": f"apidocs/minifw/minifw.{m}"} for m in api_modules(root)]}]},
        ],
    }


def course_map(parts: list[Part], labs: list[Notebook | Topic]) -> str:
    """The home page's table: one row per part, its lessons linked in reading order."""
    rows = ["| part | lessons |", "|---|---|"]

    def cell(entries: list[Notebook | Topic]) -> str:
        items = []
        for e in entries:
            if isinstance(e, Topic):
                tracks = " · ".join(f"[{TRACKS[t]}](/{nb.docname})" for t, nb in e.twins.items())
                items.append(f"[{e.title}](/{e.docname}) ({tracks})")
            else:
                items.append(f"[{e.title}](/{e.docname})")
        return "<br>".join(items)

    for part in parts:
        rows.append(f"| {part.caption} | {cell(part.entries)} |")
    rows.append(f"| [Labs](/labs/index) (graded, student versions) | {cell(labs)} |")
    rows.append("| Reference | [minifw API](/apidocs/minifw/minifw), generated from its docstrings |")
    return "\n".join(rows)


def topic_page(topic: Topic) -> str:
    """A topic page: one synchronized tab per framework with its twin's intro, sections and link."""
    lines = [
        f"# {topic.title}",
        "",
        "This topic comes as two twin notebooks: the same sections in the same order, on the same data.",
        "Pick a framework once: every page of this site remembers the choice.",
        "",
        "::::::{tab-set}",
        ":sync-group: framework",
        "",
    ]
    for track, nb in topic.twins.items():
        sections = "\n".join("- " + re.sub(r"^(\d+)\. ", r"\1\\. ", s) for s in nb.sections)  # "1." is no list
        intro = re.sub(r"^#+ +(.*)$", r"**\1**", nb.intro, flags=re.M)  # no headings inside a tab
        lines += [
            f":::::{{tab-item}} {TRACKS[track]}",
            f":sync: {track}",
            "",
            f"**{nb.title}**",
            "",
            intro,
            "",
            "Sections:",
            "",
            sections,
            "",
            f"```{{button-ref}} /{nb.docname}",
            ":ref-type: doc",
            ":color: primary",
            "",
            f"Read the {TRACKS[track]} {'lab' if nb.docname.startswith('labs/') else 'lesson'}",
            "```",
            ":::::",
            "",
        ]
    lines.append("::::::")
    return "\n".join(lines) + "\n"


def twin_headers(entries: list[Notebook | Topic]) -> dict[str, str]:
    """For each twin page, the tab-set put under its title (by the course_site extension)."""
    headers = {}
    for topic in (e for e in entries if isinstance(e, Topic)):
        for this, nb in topic.twins.items():
            tabs = ["::::{tab-set}", ":sync-group: framework", ""]
            for track, other in topic.twins.items():
                tabs += [f":::{{tab-item}} {TRACKS[track]}", f":sync: {track}"]
                if track == this:
                    tabs += [":selected:", "", f"You are reading the {TRACKS[track]} version of "
                             f"{{doc}}`{topic.title} </{topic.docname}>`."]
                else:
                    tabs += ["", f"This topic in {TRACKS[track]}: {{doc}}`{other.title} </{other.docname}>`."]
                tabs += [":::", ""]
            tabs.append("::::")
            headers[nb.docname] = "\n".join(tabs)
    return headers


def sources(root: Path = ROOT) -> tuple[dict[str, bytes | Path], dict[str, str]]:
    """Files of the Sphinx source folder (relative path -> content or file to copy), twin headers."""
    parts, labs = lesson_parts(root), lab_entries(root)
    files: dict[str, bytes | Path] = {}
    every = [e for p in parts for e in p.entries] + labs
    for nb in notebooks_of(every):
        files[nb.path] = root / nb.path
    for topic in (e for e in every if isinstance(e, Topic)):
        files[f"{topic.docname}.md"] = topic_page(topic).encode()
    for folder in MIRRORED:
        for path in sorted((root / folder).rglob("*")) if (root / folder).is_dir() else []:
            if path.is_file():
                files[path.relative_to(root).as_posix()] = path
    index = (SITE / "index.md").read_text(encoding="utf-8")
    files["index.md"] = index.replace("<!-- course-map -->", course_map(parts, labs)).encode()
    files["labs/index.md"] = (SITE / "labs.md").read_bytes()
    files["_toc.yml"] = yaml.safe_dump(toc(parts, labs, root), sort_keys=False, allow_unicode=True).encode()
    return files, twin_headers(every)


def write_sources(dest: Path, root: Path = ROOT) -> dict[str, str]:
    """Make `dest` hold exactly `sources(root)` (plus what Sphinx and the notebooks write there).

    A file is rewritten only when its content changed; returns the twin headers.
    """
    files, headers = sources(root)
    for rel, content in files.items():
        target = dest / rel
        data = content.read_bytes() if isinstance(content, Path) else content
        if not target.exists() or target.read_bytes() != data:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    for path in list(dest.rglob("*")) if dest.exists() else []:
        rel = path.relative_to(dest).as_posix()
        if (path.is_file() and path.suffix in GENERATED_SUFFIXES and rel not in files
                and not rel.startswith("apidocs/") and "logs/" not in rel):
            path.unlink()
    headers_file = dest / "_twins.json"
    text = json.dumps(headers, indent=1, sort_keys=True)
    if not headers_file.exists() or headers_file.read_text() != text:
        headers_file.write_text(text)
    return headers

