"""The `nngrade` command: release the labs, collect, autograde, give feedback, export grades."""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from pathlib import Path

from . import cgroup
from .course import Course, CourseError
from .guard import GuardError
from .limits import Limits

DESCRIPTION = """\
Grade the course's labs with nbgrader, one step at a time:

  nngrade generate            write the student version of every lab into labs/
  nngrade collect DOWNLOADS   put the students' notebooks into the course directory
  nngrade autograde -j 2      run and score every submission, safely
  nngrade feedback            write an HTML page per student and lab
  nngrade export              write all the scores to a CSV file
  nngrade bundle OUT          write the student course (no solutions, no hidden tests)
  nngrade validate LAB.ipynb  (students) run a notebook's tests before handing it in

Run it inside the course repository. Grades and copies of the submissions live in the
course directory (default ./grading, never committed)."""

HELP = {
    "generate": """\
Write the student version of the labs: copy every notebook of solutions/<lab>/ to
labs/<lab>/ without the solutions and the hidden tests (nbgrader's generate_assignment).
The result is the same byte for byte each time; commit labs/ after running it.
With --check nothing is written: the command lists what differs between the
committed labs/ and the solutions and fails if anything does.""",
    "collect": """\
Put the students' notebooks into the course directory (<course>/submitted/<student>/<lab>/),
where autograde finds them. DOWNLOADS is a folder or an archive (.zip, .tar.gz; archives
inside it are opened too) holding either
  <student>/<lab>/<lab>.ipynb       one folder per student, then one per lab,
  <student>_<lab>.ipynb             flat files named after the student and the lab, or
  a learning platform's download    Moodle's Full Name_12345_assignsubmission_file_/
                                    folders and Canvas's name_12345_678_file names give
                                    the platform's student id (12345), whatever the file.
The lab comes from the file name or, failing that, from the notebook's content. A notebook
whose nbgrader metadata an editor dropped is rebuilt on the released lab. A new file for a
student and lab replaces the one collected before; two different files for the same
student and lab in one download are a conflict and neither is collected. Unreadable,
unsafe or oversized files and archives are skipped and listed; the others are collected.
The command exits with 1 when anything was skipped or in conflict.""",
    "autograde": """\
Run every collected submission (or those of --student / --lab) and score its tests.
Each submission's kernel runs in a bubblewrap sandbox (no network, no signal to the
grader, only its own scratch space writable, the solutions, the gradebook and other
submissions invisible), with limits: a cell is interrupted after --cell-timeout seconds, a
submission is stopped after --time-limit seconds, a process may use --memory MB, a
submission may run --max-processes processes and write --max-disk MB (checked every 0.1 s
and every second), and long output is cut; where cgroups can be made (cgroup v1, or v2
delegated), the kernel itself stops a submission's forks and threads at --max-tasks, and
the memory of all its processes together at --max-memory MB. A
submission that loops, crashes, exits, eats memory, forks without end, fills the disk,
changes the kernel's test machinery or is not a notebook gets a status that says so, and
the batch goes on.
Each submission is written into the course as soon as it is graded (the gradebook is
backed up first, to <course>/backups/), so a stopped batch keeps its grades: run the same
command again to go on. Submissions already graded are skipped unless they changed or
--force is given. Without bubblewrap, autograde refuses to run unless --unsafe-no-sandbox
is given: student code then runs as you, with your files (see docs/instructors.md).""",
    "feedback": """\
Write the feedback for the students: one HTML page per student and lab in
<course>/feedback/<student>/<lab>/, with the scores of each test, the outputs, and a
grading report at the top that explains anything that went wrong.""",
    "export": """\
Write the scores to a CSV file (default <course>/grades.csv): one row per student and lab
with the status (ok, timeout, crashed, memory, too many processes, disk full, invalid
notebook, tampered, missing, not graded), the score, the maximum score, the points of
every task, and notes.""",
    "bundle": """\
Write the course as students get it into OUT (a new folder, or a .zip file): the files
git tracks, without solutions/, the sources of the solutions, the course directory and
any --exclude path. Every file is checked first: if one holds lines of a hidden test or a
notebook holds solution or hidden-test regions, nothing is written and they are listed.
Publish OUT (for example as the repository students clone); keep the full repository, or
at least solutions/, private (see --solutions).""",
    "validate": """\
Run a lab notebook on a fresh kernel and check its tests, as the grader will (hidden tests
excepted). Prints which tests fail, with the error, and which read-only cells were
edited; exits with 0 only when every test passes. Run it before handing a lab in.""",
}


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number; got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog="nngrade", description=DESCRIPTION, formatter_class=fmt)
    parser.add_argument("--course-dir", type=Path, default=None, metavar="DIR",
                        help="where grading happens (gradebook, submissions, feedback); "
                             "default: grading/ in the repository")
    parser.add_argument("--solutions", type=Path, default=None, metavar="DIR",
                        help="private solutions and hidden tests (<lab>/<lab>.ipynb); default: "
                             "$NNGRADE_SOLUTIONS, <course dir>/solutions/ if it exists, else "
                             "solutions/ in the repository")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=summary, description=HELP[name], formatter_class=fmt)

    gen = command("generate", "write the student version of the labs into labs/")
    gen.add_argument("labs", nargs="*", metavar="LAB", help="labs to generate (default: all)")
    gen.add_argument("--check", action="store_true",
                     help="write nothing; fail and list the differences if labs/ is out of date")

    col = command("collect", "put student notebooks (folder or zip) into the course directory")
    col.add_argument("source", type=Path, metavar="DOWNLOADS", help="a folder or an archive")
    col.add_argument("--lab", action="append", metavar="LAB",
                     help="collect only this lab (repeatable; default: all labs)")

    auto = command("autograde", "run and score the submissions, each in its own limited process")
    auto.add_argument("--student", action="append", metavar="ID",
                      help="grade only this student (repeatable)")
    auto.add_argument("--lab", action="append", metavar="LAB", help="grade only this lab (repeatable)")
    auto.add_argument("-j", "--jobs", type=_positive, default=1, metavar="N",
                      help="submissions graded at the same time (default 1; use the number of cores)")
    defaults = Limits()
    auto.add_argument("--cell-timeout", type=_positive, default=defaults.cell_timeout, metavar="S",
                      help=f"seconds one cell may run (default {defaults.cell_timeout})")
    auto.add_argument("--time-limit", type=_positive, default=defaults.time_limit, metavar="S",
                      help=f"seconds one submission may take in all (default {defaults.time_limit})")
    auto.add_argument("--memory", type=_positive, default=defaults.memory_mb, metavar="MB",
                      help=f"memory one process may use, in MB (default {defaults.memory_mb})")
    auto.add_argument("--max-memory", type=_positive, default=defaults.max_memory_mb, metavar="MB",
                      help="memory all processes of one submission may use together, in MB: a hard "
                      f"cap, where a memory cgroup can be made (default {defaults.max_memory_mb})")
    auto.add_argument("--max-processes", type=_positive, default=defaults.max_processes, metavar="N",
                      help=f"processes one submission may run at once (default {defaults.max_processes})")
    auto.add_argument("--max-tasks", type=_positive, default=defaults.max_tasks, metavar="N",
                      help="processes and threads one submission may run at once: a hard cap, where "
                      f"a pids cgroup can be made (default {defaults.max_tasks})")
    auto.add_argument("--max-disk", type=_positive, default=defaults.max_disk_mb, metavar="MB",
                      help=f"what one submission may write in all, in MB (default {defaults.max_disk_mb})")
    auto.add_argument("--max-output-lines", type=_positive, default=defaults.max_output_lines,
                      metavar="N", help=f"output lines kept per cell (default {defaults.max_output_lines})")
    auto.add_argument("--force", action="store_true", help="grade again what was graded already")
    auto.add_argument("--unsafe-no-sandbox", action="store_true",
                      help="run student code without the sandbox, as you: it can read your files, "
                           "use the network and reach other submissions (trusted classes only)")

    fb = command("feedback", "write an HTML feedback page per student and lab")
    fb.add_argument("--student", action="append", metavar="ID", help="only this student (repeatable)")
    fb.add_argument("--lab", action="append", metavar="LAB", help="only this lab (repeatable)")

    exp = command("export", "write the scores to a CSV file")
    exp.add_argument("--lab", action="append", metavar="LAB", help="only this lab (repeatable)")
    exp.add_argument("-o", "--output", type=Path, default=None, metavar="FILE",
                     help="the CSV file to write (default: <course>/grades.csv)")

    bun = command("bundle", "write the student course, without solutions or hidden tests")
    bun.add_argument("out", type=Path, metavar="OUT", help="a new folder, or a .zip file")
    bun.add_argument("--exclude", action="append", default=[], metavar="PATH",
                     help="also leave out this file or folder (repeatable)")

    val = command("validate", "(students) run a lab notebook's tests; fails if any fails")
    val.add_argument("notebook", type=Path, metavar="LAB.ipynb", help="the notebook to check")
    val.add_argument("--cell-timeout", type=_positive, default=300, metavar="S",
                     help="seconds one cell may run (default 300)")
    return parser


def _say(text: str) -> None:
    print(text, flush=True)


def run_generate(course: Course, args: argparse.Namespace) -> int:
    from .release import refresh

    labs = course.check_labs(args.labs)
    if not labs:
        _say("no labs in solutions/: nothing to generate")
        return 0
    changed = refresh(course, labs, check=args.check)
    if args.check:
        if changed:
            _say("labs/ is out of date with solutions/:\n  " + "\n  ".join(changed))
            _say("run `nngrade generate` and commit labs/")
            return 1
        _say(f"labs/ is up to date ({len(labs)} labs)")
        return 0
    for lab in labs:
        _say(f"labs/{lab}: {'written' if lab in changed else 'unchanged'}")
    return 0


def run_collect(course: Course, args: argparse.Namespace) -> int:
    from .collect import collect

    report = collect(course, args.source, course.check_labs(args.lab))
    for student, lab in report.collected:
        _say(f"collected {student} / {lab}")
        for note in report.notes.get((student, lab), []):
            _say(f"  {note}")
    if report.unmatched:
        _say("not collected (no student and lab found for them):\n  " + "\n  ".join(report.unmatched))
    if report.problems:
        _say("skipped (could not be read safely):\n  " + "\n  ".join(report.problems))
    if report.conflicts:
        _say("conflicts:\n  " + "\n  ".join(report.conflicts))
    _say(f"{len(report.collected)} submissions collected into {course.step('submitted')}, "
         f"{len(report.unmatched)} files not matched, {len(report.problems)} skipped, "
         f"{len(report.conflicts)} conflicts")
    return 1 if report.problems or report.conflicts else 0


def run_autograde(course: Course, args: argparse.Namespace) -> int:
    from .autograde import Batch
    from .sandbox import bwrap_problem
    from .schedule import plan

    problem = None if args.unsafe_no_sandbox else bwrap_problem()
    if problem:
        raise CourseError(f"expected the bubblewrap sandbox for student code; {problem}. Install "
                          "it, or pass --unsafe-no-sandbox to run student code as you (see the "
                          "trust model in docs/instructors.md)")
    todo, skipped = plan(course, args.student, args.lab, args.force)
    if skipped:
        _say(f"{len(skipped)} submissions already graded and unchanged (use --force to grade again)")
    if not todo:
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    jobs = min(args.jobs, len(todo))
    limits = Limits(cell_timeout=args.cell_timeout, time_limit=args.time_limit,
                    memory_mb=args.memory, max_memory_mb=args.max_memory, max_output_lines=args.max_output_lines,
                    max_processes=args.max_processes, max_tasks=args.max_tasks, max_disk_mb=args.max_disk,
                    threads=max(1, cores // jobs))
    no_cap, no_memory_cap = cgroup.problem(cgroup.PIDS), cgroup.problem(cgroup.MEMORY)
    cap = f"no hard cap: {no_cap}" if no_cap else f"a hard cap of {limits.max_tasks} tasks"
    memory = (f"no cap in all: {no_memory_cap}" if no_memory_cap else
              f"{limits.max_memory_mb} MB per submission")
    if args.unsafe_no_sandbox:
        _say("WARNING: --unsafe-no-sandbox: student code runs as you, without the sandbox")
    _say(f"grading {len(todo)} submissions, {jobs} at a time: cells stop after "
         f"{limits.cell_timeout} s, submissions after {limits.time_limit} s, "
         f"{limits.memory_mb} MB per process ({memory}), {limits.max_processes} processes "
         f"({cap}), {limits.max_disk_mb} MB written")
    records = Batch(course, todo, limits, jobs, sandbox=not args.unsafe_no_sandbox, say=_say).run()
    counts: dict[str, int] = {}
    for record in records:
        counts[record.status] = counts.get(record.status, 0) + 1
    _say("done: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
         + ". Next: `nngrade feedback` and `nngrade export`.")
    return 0


def run_feedback(course: Course, args: argparse.Namespace) -> int:
    from .feedback import generate_feedback

    written, problems = generate_feedback(course, args.student, course.check_labs(args.lab))
    for problem in problems:
        _say(problem)
    _say(f"{len(written)} feedback pages in {course.step('feedback')}")
    return 1 if problems else 0


def run_export(course: Course, args: argparse.Namespace) -> int:
    from .export import export_csv

    output = args.output or course.course_dir / "grades.csv"
    rows = export_csv(course, course.check_labs(args.lab), output)
    _say(f"{rows} rows written to {output}")
    return 0


def run_bundle(course: Course, args: argparse.Namespace) -> int:
    from .bundle import bundle

    kept, left = bundle(course, args.out, tuple(args.exclude))
    _say(f"{len(kept)} files written to {args.out.resolve()}; left out: "
         + (", ".join(sorted({_top(f, args.exclude) for f in left})) or "nothing"))
    return 0


def _top(path: str, exclude: list[str]) -> str:
    from .bundle import EXCLUDED

    return next((e + "/" for e in (*EXCLUDED, *exclude) if path == e or path.startswith(e + "/")), path)


def run_validate(args: argparse.Namespace) -> int:
    from .validate import validate

    if not args.notebook.is_file():
        print(f"nngrade: expected a notebook file; {args.notebook} is not a file", file=sys.stderr)
        return 2
    _say(f"running {args.notebook} on a fresh kernel ...")
    result = validate(args.notebook, cell_timeout=args.cell_timeout)
    _say(result.summary())
    return 0 if result.ok else 1


COMMANDS = {"generate": run_generate, "collect": run_collect, "autograde": run_autograde,
            "feedback": run_feedback, "export": run_export, "bundle": run_bundle}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `nngrade` console script."""
    args = build_parser().parse_args(argv)
    # nbgrader runs `alembic` (next to this Python) when it creates a gradebook.
    bin_dir = os.path.dirname(sys.executable)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    if args.command == "validate":  # a student's check: no course directory needed
        return run_validate(args)
    try:
        course = Course.locate(args.course_dir, solutions=args.solutions)
        return COMMANDS[args.command](course, args)
    except (CourseError, GuardError) as error:
        print("nngrade: " + textwrap.indent(str(error), "  ").lstrip(), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
