"""The course site's layout (site/layout.py), checked without building it: every lesson and lab
is in the table of contents, twins share a topic page with synchronized tabs, and the check for
un-rendered math finds what it should. tests/test_site_build.py checks the built site."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "site"), str(ROOT / "site" / "_ext")]

import course_site  # noqa: E402
import layout  # noqa: E402


@pytest.fixture(scope="module")
def generated():
    files, headers = layout.sources(ROOT)
    return {k: (v.read_bytes() if isinstance(v, Path) else v) for k, v in files.items()}, headers


def _toc_files(node) -> list[str]:
    if isinstance(node, dict):
        return ([node["file"]] if "file" in node else []) + [f for v in node.values() for f in _toc_files(v)]
    if isinstance(node, list):
        return [f for item in node for f in _toc_files(item)]
    return []


def test_toc_lists_every_lesson_and_lab_once(generated):
    files, _ = generated
    toc = yaml.safe_load(files["_toc.yml"])
    listed = _toc_files(toc["parts"]) + [toc["root"]]
    assert len(listed) == len(set(listed)), f"listed twice: {sorted({f for f in listed if listed.count(f) > 1})}"
    notebooks = sorted(p.relative_to(ROOT).with_suffix("").as_posix()
                       for p in [*ROOT.glob("lessons/**/*.ipynb"), *ROOT.glob("labs/*/*.ipynb")]
                       if ".ipynb_checkpoints" not in p.parts)
    assert notebooks, "no notebooks found under lessons/ and labs/"
    missing = [nb for nb in notebooks if nb not in listed]
    assert not missing, f"notebooks missing from the site's table of contents: {missing}"
    for doc in listed:  # every entry is a page the build has
        assert f"{doc}.ipynb" in files or f"{doc}.md" in files or doc.startswith("apidocs/"), doc


def test_lessons_in_reading_order(generated):
    files, _ = generated
    parts = yaml.safe_load(files["_toc.yml"])["parts"]
    lesson_docs = [f for f in _toc_files(parts) if f.startswith("lessons/") and not f.endswith("-tensorflow")]
    assert lesson_docs == sorted(lesson_docs), "lessons should appear in folder and file-name order"
    assert parts[-2]["caption"] == "Labs" and parts[-1]["caption"] == "Reference"


def test_twins_share_a_topic_page_with_synchronized_tabs(generated):
    files, headers = generated
    twins = sorted(p for p in ROOT.glob("lessons/**/*-pytorch.ipynb") if p.with_name(
        p.name.replace("-pytorch", "-tensorflow")).exists())
    assert twins, "expected PyTorch/TensorFlow twin lessons"
    for pytorch in twins:
        base = pytorch.relative_to(ROOT).as_posix().removesuffix("-pytorch.ipynb")
        page = files[f"{base}.md"].decode()
        assert ":sync-group: framework" in page
        assert ":sync: pytorch" in page and ":sync: tensorflow" in page
        for track in ("pytorch", "tensorflow"):
            assert f"{{button-ref}} /{base}-{track}" in page, f"{base}.md should link its {track} twin"
            header = headers[f"{base}-{track}"]
            assert ":sync-group: framework" in header and header.count("{tab-item}") == 2
            other = "tensorflow" if track == "pytorch" else "pytorch"
            assert f"</{base}-{other}>" in header, f"the {track} page should lead to its {other} twin"


def test_twin_labs_have_a_topic_page(generated):
    files, _ = generated
    for lab in sorted(ROOT.glob("labs/*-pytorch")):
        base = lab.name.removesuffix("-pytorch")
        if (ROOT / "labs" / f"{base}-tensorflow").is_dir():
            assert ":sync-group: framework" in files[f"labs/{base}.md"].decode()


def test_home_page_maps_every_lesson(generated):
    files, _ = generated
    index = files["index.md"].decode()
    assert "<!-- course-map -->" not in index
    for nb in layout.notebooks_of([e for p in layout.lesson_parts(ROOT) for e in p.entries]):
        assert f"(/{nb.docname})" in index, f"the course map should link {nb.docname}"
    readme = (ROOT / "README.md").read_text()
    assert "## Quickstart" in readme and "Other routes:" in readme, \
        "site/index.md includes README.md between '## Quickstart' and 'Other routes:'"


@pytest.mark.parametrize(("pytorch", "tensorflow", "slug", "expected"), [
    ("02·01 · Tensors and autograd in PyTorch", "02·01 · Tensors and autograd in TensorFlow", "01-x",
     "02·01 · Tensors and autograd"),
    ("03·02 · Regularization in practice (PyTorch Lightning)",
     "03·02 · Regularization in practice (TensorFlow / Keras)",
     "02-regularization", "03·02 · Regularization in practice"),
    ("02·03 · High-level training with PyTorch Lightning", "02·03 · Keras: the high-level API", "03-high-level",
     "02·03 · High level"),
    ("Lab · Classification with PyTorch", "Lab · Classification with Keras", "classification", "Lab · Classification"),
    ("04·03 · Beyond dense networks, in PyTorch", "04·03 · Beyond dense networks, in Keras", "03-beyond-dense",
     "04·03 · Beyond dense networks"),
])
def test_topic_title(pytorch, tensorflow, slug, expected):
    assert layout.topic_title(pytorch, tensorflow, slug) == expected


def test_read_notebook_wants_a_title(tmp_path):
    path = tmp_path / "x.ipynb"
    path.write_text(json.dumps({"cells": [{"cell_type": "markdown", "source": ["No title"]}]}))
    with pytest.raises(ValueError, match="expected the first cell to start with a '# ' title"):
        layout.read_notebook(path, tmp_path)


def test_write_sources_rewrites_only_what_changed(tmp_path):
    dest = tmp_path / "src"
    layout.write_sources(dest, ROOT)
    page = dest / "lessons" / "00-setup-check.ipynb"
    stale = dest / "lessons" / "gone.ipynb"
    stale.write_text("{}")
    mtime = page.stat().st_mtime_ns
    layout.write_sources(dest, ROOT)
    assert page.stat().st_mtime_ns == mtime, "an unchanged notebook should not be rewritten"
    assert not stale.exists(), "a notebook that left lessons/ should leave the site sources"


@pytest.mark.parametrize(("html", "found"), [
    ("<p>the loss $L = (y - \\hat y)^2$ falls</p>", ["$L = (y - \\hat y)^2$"]),
    ("<p>a single $x$ left</p>", ["$x$"]),
    ("<p>\\begin{align} a \\end{align}</p>", ["\\begin{"]),
    ('<p><span class="math notranslate nohighlight">\\(x^2\\)</span> rendered</p>', []),
    ('<div class="math notranslate nohighlight">\\[\\begin{align}a\\end{align}\\]</div>', []),
    ("<pre>echo $HOME and $PATH</pre><p><code>$x$</code></p>", []),
    ('<div class="highlight"><span>cost = $3$</span></div>', []),
    ("<p>costs 3 $ or 4 $ per item</p>", []),
])
def test_unrendered_math(html, found):
    assert course_site.unrendered_math(html) == found


def test_lesson_images_are_in_the_site():
    """Relative images in lesson markdown must exist and lie in a folder the site mirrors."""
    found = 0
    for path in sorted(ROOT.glob("lessons/**/*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for cell in (c for c in cells if c["cell_type"] == "markdown"):
            for src in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)|<img[^>]+src=\"([^\"]+)\"", "".join(cell["source"])):
                src = src[0] or src[1]
                if re.match(r"^[a-z]+:", src):
                    continue
                target = (path.parent / src).resolve()
                assert target.is_file(), f"{path.relative_to(ROOT)}: image {src} not found"
                rel = target.relative_to(ROOT).as_posix()
                assert any(rel.startswith(f"{folder}/") for folder in layout.MIRRORED), \
                    f"{path.relative_to(ROOT)}: image {src} is outside the folders the site copies {layout.MIRRORED}"
                found += 1
    assert found >= 2, "expected the network and dropout figures in the lessons"


def test_figures_are_current(tmp_path):
    sys.path.insert(0, str(ROOT / "site" / "figures"))
    import make_figures

    make_figures.main(tmp_path)
    for name in make_figures.FIGURES:
        assert (tmp_path / name).read_bytes() == (ROOT / "site" / "figures" / name).read_bytes(), \
            f"site/figures/{name} is not what site/figures/make_figures.py draws: run it"


def test_api_package_toctree_becomes_links():
    source = ["# minifw\n\n## Submodules\n\n```{toctree}\n:titlesonly:\n:maxdepth: 1\n\n"
              "minifw.layers\nminifw.optim\n```\n"]
    course_site._api_toctree_as_list(None, "apidocs/minifw/minifw", source)
    assert "{toctree}" not in source[0]
    assert "- {py:mod}`minifw.layers`\n- {py:mod}`minifw.optim`\n" in source[0]


def test_twin_header_goes_under_the_title(tmp_path):
    (tmp_path / "_twins.json").write_text(json.dumps({"lessons/x-pytorch": "HEADER"}))
    notebook = {"cells": [{"cell_type": "markdown", "source": "# Title\nIntro"}], "metadata": {}}
    app = type("App", (), {"srcdir": str(tmp_path)})()
    source = [json.dumps(notebook)]
    course_site._add_twin_header(app, "lessons/x-pytorch", source)
    assert json.loads(source[0])["cells"][0]["source"] == "# Title\n\nHEADER\nIntro"
    other = [json.dumps(notebook)]
    course_site._add_twin_header(app, "lessons/y", other)
    assert json.loads(other[0]) == notebook


def test_review_answers_become_dropdowns():
    cell = "1. How many?\n   <details><summary>Answer</summary>$480\\,000 + 1$.</details>\n2. Next"
    source = [json.dumps({"cells": [{"cell_type": "markdown", "source": cell}]})]
    course_site._details_as_dropdowns(None, "lessons/x", source)
    assert json.loads(source[0])["cells"][0]["source"] == (
        "1. How many?\n   ::::{dropdown} Answer\n   $480\\,000 + 1$.\n   ::::\n2. Next")


def test_review_answers_are_markdown_in_jupyterlab():
    """JupyterLab and GitHub render markdown inside <details> only after a blank line: an answer
    written on the <summary> line is raw HTML there (`code` shows its backticks, **bold** its stars)."""
    answers = 0
    for path in sorted(ROOT.glob("lessons/**/*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for cell in (c for c in cells if c["cell_type"] == "markdown"):
            for summary, after in re.findall(r"(<summary>[^<]*</summary>)(.*)", "".join(cell["source"])):
                answers += 1
                assert not after.strip(), f"{path.relative_to(ROOT)}: put a blank line after {summary}, not {after!r}"
    assert answers >= 3 * 20, f"expected the review answers of every lesson, found {answers}"
