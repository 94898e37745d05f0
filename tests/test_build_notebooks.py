"""scripts/build_notebooks.py never loses an edit: each case runs the real script on a small
course written into a temporary folder (a single-track lesson, a twin lesson, a lab)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

SINGLE = '''# %% [markdown]
# # A lesson
#
# ## Objectives
# Learn one thing.

# %%
x = 1 + 1
assert x == 2
'''

TWIN = '''# %% [markdown]
# # Twins
#
# ## 1. Data
# Shared text.

# %% track="pytorch"
import math

# %% track="tensorflow"
import cmath

# %% [markdown]
# ## Try it
# Change the data.
'''

LAB = '''# %% [markdown] nbgrader={"grade": false, "grade_id": "brief", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # A lab

# %% nbgrader={"grade": false, "grade_id": "answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def f():
    ### BEGIN SOLUTION
    return 1
    ### END SOLUTION
'''


@pytest.fixture
def course(tmp_path: Path) -> Path:
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "build_notebooks.py", tmp_path / "scripts")
    shutil.copy(REPO / "jupytext.toml", tmp_path)
    for rel, text in {"sources/lessons/01-part/01-single.py": SINGLE,
                      "sources/lessons/02-part/01-twins.py": TWIN,
                      "sources/solutions/lab-one/lab-one.py": LAB,
                      "sources/solutions/lab-two/lab-two.py": TWIN}.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    assert build(tmp_path).returncode == 0
    return tmp_path


def build(root: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(root / "scripts" / "build_notebooks.py"), *args],
                          cwd=cwd or root, capture_output=True, text=True, timeout=120)


def cells(path: Path) -> list[str]:
    return ["".join(c["source"]) for c in json.loads(path.read_text(encoding="utf-8"))["cells"]]


def edit_cell(path: Path, index: int, text: str) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["cells"][index]["source"] = text
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")


SINGLE_NB = Path("lessons/01-part/01-single.ipynb")
TORCH_NB = Path("lessons/02-part/01-twins-pytorch.ipynb")
TF_NB = Path("lessons/02-part/01-twins-tensorflow.ipynb")


def test_builds_single_twin_and_lab_notebooks(course):
    assert cells(course / SINGLE_NB)[1] == "x = 1 + 1\nassert x == 2"
    assert cells(course / TORCH_NB) == ["# Twins\n\n## 1. Data\nShared text.", "import math", "## Try it\nChange the data."]
    assert cells(course / TF_NB)[1] == "import cmath"
    assert (course / "solutions/lab-two-pytorch/lab-two-pytorch.ipynb").exists()
    lab = json.loads((course / "solutions/lab-one/lab-one.ipynb").read_text())
    assert lab["cells"][1]["metadata"]["nbgrader"]["grade_id"] == "answer"
    assert not any("track" in c["metadata"] for c in json.loads((course / TORCH_NB).read_text())["cells"])
    assert build(course, "--check").returncode == 0


@pytest.mark.parametrize("notebook, index", [(SINGLE_NB, 0), (TORCH_NB, 0), (TF_NB, 2)])
def test_an_edited_notebook_is_never_overwritten(course, notebook, index):
    edit_cell(course / notebook, index, "## My edit")
    for args in ((), (str(notebook),), ("--check",)):
        result = build(course, *args)
        assert result.returncode == 1
        assert f"{notebook.as_posix()} was edited" in result.stderr and f"cells {index} differ" in result.stderr
        assert "--update-source" in result.stderr and "--force" in result.stderr
        assert cells(course / notebook)[index] == "## My edit"


def test_update_source_keeps_a_single_notebook_edit(course):
    edit_cell(course / SINGLE_NB, 1, "x = 3\nassert x == 3")
    assert build(course, "--update-source", str(SINGLE_NB)).returncode == 0
    assert "x = 3" in (course / "sources/lessons/01-part/01-single.py").read_text()
    assert build(course).returncode == 0 and build(course, "--check").returncode == 0
    assert cells(course / SINGLE_NB)[1] == "x = 3\nassert x == 3"


def test_update_source_carries_a_twin_edit_into_the_shared_cell(course):
    edit_cell(course / TF_NB, 2, "## Try it\nChange the data and the model.")
    result = build(course, "--update-source", str(TF_NB))
    assert result.returncode == 0, result.stderr
    assert build(course).returncode == 0
    assert cells(course / TORCH_NB)[2] == cells(course / TF_NB)[2] == "## Try it\nChange the data and the model."
    assert build(course, "--check").returncode == 0


def test_update_source_carries_a_track_cell_into_its_track_only(course):
    edit_cell(course / TORCH_NB, 1, "import math as m")
    assert build(course, "--update-source", str(TORCH_NB)).returncode == 0
    assert build(course).returncode == 0
    assert cells(course / TORCH_NB)[1] == "import math as m" and cells(course / TF_NB)[1] == "import cmath"


def test_a_cell_added_to_a_twin_notebook_is_refused_with_a_way_out(course):
    nb = json.loads((course / TORCH_NB).read_text())
    nb["cells"].append({"cell_type": "markdown", "id": "new", "metadata": {}, "source": "new"})
    (course / TORCH_NB).write_text(json.dumps(nb))
    result = build(course, "--update-source", str(TORCH_NB))
    assert result.returncode != 0 and 'track="pytorch"' in result.stderr
    assert cells(course / TORCH_NB)[-1] == "new"


def test_a_newer_source_rebuilds_and_check_says_which_side_is_newer(course):
    source = course / "sources/lessons/01-part/01-single.py"
    source.write_text(SINGLE.replace("Learn one thing.", "Learn two things."))
    result = build(course, "--check")
    assert result.returncode == 1 and "its source is newer" in result.stderr
    assert "run python scripts/build_notebooks.py sources/lessons/01-part/01-single.py" in result.stderr
    assert build(course).returncode == 0
    assert "Learn two things." in cells(course / SINGLE_NB)[0]


def test_force_discards_the_edit(course):
    edit_cell(course / SINGLE_NB, 0, "## My edit")
    assert build(course, "--force", str(SINGLE_NB)).returncode == 0
    assert cells(course / SINGLE_NB)[0].startswith("# A lesson")


def test_a_notebook_without_a_source_fails_the_check_and_can_get_one(course):
    orphan = course / "lessons/01-part/02-orphan.ipynb"
    shutil.copy(course / SINGLE_NB, orphan)
    result = build(course, "--check")
    assert result.returncode == 1 and "lessons/01-part/02-orphan.ipynb has no source" in result.stderr
    assert build(course, "--update-source", "lessons/01-part/02-orphan.ipynb").returncode == 0
    assert (course / "sources/lessons/01-part/02-orphan.py").exists()
    assert build(course).returncode == 0 and build(course, "--check").returncode == 0


def test_paths_work_from_the_root_and_from_a_subfolder(course):
    (course / "sources/lessons/01-part/01-single.py").write_text(SINGLE + "\n# %%\ny = 2\n")
    result = build(course, "01-single.ipynb", cwd=course / "lessons/01-part")
    assert result.returncode == 0 and "wrote lessons/01-part/01-single.ipynb" in result.stdout
    assert build(course, "sources/lessons/02-part/01-twins.py").returncode == 0
    bad = build(course, "scripts/notebooks/x.py")
    assert bad.returncode != 0 and "not a source under sources/" in bad.stderr


def test_saving_a_paired_notebook_through_jupytext_updates_its_source(course):
    """What JupyterLab does on save (jupytext.toml pairs single-track notebooks with their sources)."""
    edit_cell(course / SINGLE_NB, 0, "# A lesson\n\n## Objectives\nLearn one thing well.")
    subprocess.run([sys.executable, "-m", "jupytext", "--sync", str(SINGLE_NB)], cwd=course, check=True,
                   capture_output=True)
    assert "Learn one thing well." in (course / "sources/lessons/01-part/01-single.py").read_text()
    assert build(course).returncode == 0 and build(course, "--check").returncode == 0
    assert "Learn one thing well." in cells(course / SINGLE_NB)[0]


def test_twin_notebooks_are_not_paired_by_jupytext(course):
    subprocess.run([sys.executable, "-m", "jupytext", "--sync", str(TORCH_NB)], cwd=course, check=True,
                   capture_output=True)
    assert not (course / "sources/lessons/02-part/01-twins-pytorch.py").exists()


def test_the_repository_has_no_notebook_source_under_scripts():
    assert not list((REPO / "scripts").rglob("*.ipynb")) and not (REPO / "scripts" / "notebooks").exists()
