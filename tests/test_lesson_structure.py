"""Every lesson has objectives at the top, a `## Try it`, and after it, as its last cell,
`## Review questions`: 3-6 numbered questions, each followed by its answer in
`<details><summary>Answer</summary>...</details>`."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted(p for p in (ROOT / "lessons").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)

# the forms the objectives take at the top of a lesson
OBJECTIVES = re.compile(r"^(## Objectives|\*\*Learning objectives\.\*\*|\*\*After this notebook you can\*\*)", re.M)
QUESTION = re.compile(r"^(\d+)\. \S", re.M)
ANSWER = re.compile(r"<details><summary>Answer</summary>(.*?)</details>", re.S)


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def review_problems(text: str) -> list[str]:
    """What is wrong with a `## Review questions` cell (an empty list: nothing)."""
    if not text.startswith("## Review questions"):
        return ["the cell does not start with the heading `## Review questions`"]
    starts = list(QUESTION.finditer(text))
    problems = []
    if not 3 <= len(starts) <= 6:
        problems.append(f"expected 3 to 6 numbered questions, found {len(starts)}")
    if [int(m.group(1)) for m in starts] != list(range(1, len(starts) + 1)):
        problems.append(f"questions are not numbered 1, 2, 3, ...: {[m.group(1) for m in starts]}")
    if starts and text[len("## Review questions"):starts[0].start()].strip():
        problems.append("text between the heading and question 1")
    for i, m in enumerate(starts):
        block = text[m.start():starts[i + 1].start() if i + 1 < len(starts) else len(text)]
        answers = ANSWER.findall(block)
        if len(answers) != 1 or not answers[0].strip():
            problems.append(f"question {m.group(1)} needs exactly one non-empty "
                            f"<details><summary>Answer</summary>...</details>, found {len(answers)}")
    return problems


def structure_problems(path: Path) -> list[str]:
    """What is missing from a lesson: objectives, `## Try it`, `## Review questions` (last, after Try it)."""
    all_cells = cells(path)
    markdown = ["".join(c["source"]) for c in all_cells if c["cell_type"] == "markdown"]
    problems = []
    if not any(OBJECTIVES.search(c) for c in markdown[:2]):
        problems.append("no objectives in the first two markdown cells (`## Objectives`)")
    try_it = [i for i, c in enumerate(markdown) if re.search(r"^## Try it", c, re.M)]
    if not try_it:
        problems.append("no `## Try it` section")
    review = [i for i, c in enumerate(markdown) if c.startswith("## Review questions")]
    if len(review) != 1:
        problems.append(f"expected one `## Review questions` cell, found {len(review)}")
        return problems
    if try_it and review[0] < try_it[-1]:
        problems.append("`## Review questions` comes before `## Try it`")
    if review[0] != len(markdown) - 1 or all_cells[-1]["cell_type"] != "markdown":
        problems.append("`## Review questions` is not the last cell")
    return problems + review_problems(markdown[review[0]])


GOOD = """## Review questions

1. What is a tensor?
   <details><summary>Answer</summary>An n-dimensional array of one dtype.</details>

2. What does broadcasting do?
   <details><summary>Answer</summary>It stretches axes of length 1.</details>

3. Why a mean and not a sum?
   <details><summary>Answer</summary>The learning rate stays independent of the batch size.</details>
"""


def test_review_problems_accepts_the_format():
    assert review_problems(GOOD) == []


@pytest.mark.parametrize("bad, expected", [
    (GOOD.split("3. Why")[0], "expected 3 to 6"),
    (GOOD.replace("<details><summary>Answer</summary>It stretches axes of length 1.</details>", ""), "question 2"),
    (GOOD.replace("3. Why", "4. Why"), "not numbered"),
    (GOOD.replace("## Review questions", "## Review"), "heading"),
    (GOOD.replace("An n-dimensional array of one dtype.", " "), "question 1"),
    (GOOD.replace("\n1. What", "Some text.\n1. What"), "between the heading"),
])
def test_review_problems_finds_mistakes(bad, expected):
    assert any(expected in p for p in review_problems(bad)), review_problems(bad)


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: str(p.relative_to(ROOT)))
def test_lesson_structure(path):
    problems = structure_problems(path)
    assert not problems, f"{path.relative_to(ROOT)}: " + "; ".join(problems)
