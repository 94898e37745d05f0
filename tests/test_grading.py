"""End to end, in the sandbox: the reference, blank and wrong submissions of backprop-minifw,
then one batch of broken ones (loops, exits, crashes, memory, edited or deleted tests, NaNs,
huge output, writes to the course files, debug prints, unreadable files from a zip). The
batch and the checks are in grading_batch.py; the kernel tricks and the sandbox's own cases
are graded in test_grading_tricks.py, the other modes in test_grading_modes.py, the process
and disk limits in test_grading_limits.py.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from grading_batch import (  # noqa: F401 (the checks of every batch run here too)
    EXPECTED_STATUS,
    grade_class,
    test_course_files_and_other_grades_are_intact,
    test_every_submission_gets_the_expected_status,
    test_feedback_explains_what_happened,
    test_no_secret_in_any_output_no_process_outlives_the_batch_nothing_planted,
    test_scores_follow_what_ran,
)
from grading_course import LAB, MARKS

pytestmark = MARKS
CASES = ["loop", "sysexit", "osexit", "killself", "membomb", "edited", "deleted", "renamed", "nan",
         "huge", "tamper", "debug", "badjson", "empty"]


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> SimpleNamespace:
    return grade_class(tmp_path_factory, CASES)


def test_the_two_files_grade_every_case():
    from test_grading_tricks import CASES as TRICKS

    assert sorted(["reference", "blank", "wrong", *CASES, *TRICKS]) == sorted(EXPECTED_STATUS)


def test_collect_reports_what_it_could_not_match(graded):
    assert "notes.txt" in graded.collected
    assert "collected badjson / backprop-minifw" in graded.collected


def test_huge_output_is_cut(graded):
    autograded = graded.root / "grading" / "autograded" / "huge" / LAB / f"{LAB}.ipynb"
    assert autograded.stat().st_size < 2 * 2**20
