"""End to end, in the sandbox: backprop-minifw submissions that try to fake their tests by
changing the kernel (AST transformers, exception handlers, event callbacks, a lenient numpy,
rebound helpers, a Session.send that hides errors in a cell tagged like nngrade's report, replies
forged as passing) or to reach past the sandbox (signals, lowered limits, a daemon that keeps
changing its pid, reading the solutions, the gradebook and the network, planting traps for
the grader and the next student); and clumsy ones (pasted test cells, changed nbgrader
metadata, a written answer whose image lost its attachment); and a poor model whose arrays
claim to equal anything. The batch and the checks are in grading_batch.py.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from grading_batch import (  # noqa: F401 (the checks of every batch run here too)
    autograded_outputs,
    grade_class,
    test_course_files_and_other_grades_are_intact,
    test_every_submission_gets_the_expected_status,
    test_feedback_explains_what_happened,
    test_no_secret_in_any_output_no_process_outlives_the_batch_nothing_planted,
    test_scores_follow_what_ran,
)
from grading_course import LAB, MARKS, SECRET

pytestmark = MARKS
CASES = ["helpers", "noasserts", "swallow", "clearerrors", "lenient", "escape", "spy", "planter", "quiet",
         "forged", "pasted", "liar"]


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> SimpleNamespace:
    return grade_class(tmp_path_factory, CASES)


def test_the_kernel_sees_nothing_it_should_not(graded):
    spy = autograded_outputs(graded.root, "spy")
    assert "ENVIRONMENT" in spy  # the case ran
    assert "LEAKED" not in spy and "NETWORK-OPEN" not in spy and SECRET not in spy, spy[:3000]


def test_a_cell_tagged_as_the_report_stays_in_the_instructor_s_view(graded):
    autograded = graded.root / "grading" / "autograded" / "quiet" / LAB / f"{LAB}.ipynb"
    assert "_session.send = _quiet" in autograded.read_text()
