"""Benchmark of `nncourse grade` on a synthetic class (not a test), checking the grades it times.

A class of ``--students`` (default 30) students x all seven assignments (``--assignments``
chooses others); each submission is, in turn, the reference solution, a catalogued correct one,
a catalogued wrong one, or a broken one (not JSON, ``os._exit``, an import error, ``sys.exit``,
tampering with the checks). Measured:

* `nncourse grade --jobs 2` and `--jobs 1` over the whole class (seconds per notebook, per
  assignment);
* plain serial ``nbgrader autograde`` (nbgrader's Python API, one submission after the other)
  on the first ``--baseline-students`` students, as the reference for the speed-up.

Checked, and printed: every reference and correct submission gets full marks, every wrong one
exactly its declared losses, a notebook that is not JSON 0, and the other broken ones no more
than full marks; `--jobs 1` gives the same grades as `--jobs 2`; stock nbgrader gives the
same grades on the submissions both graded (the broken ones apart). The exit status is 1 when
any of that fails, so a fast but wrong grader cannot pass.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python bench/grading.py``; writes bench/results/grading.md.

``--scheduler`` measures grading on a Dask cluster instead: the same class graded, each in one
run over all the assignments, by `nncourse grade --jobs 2` and by two local ``dask worker``
processes of one thread each (started here, as tests/test_dask_grading.py does; or the
cluster at ``--scheduler tcp://HOST:PORT``), both checked as above and against each other
(identical grades). It writes its own section of bench/results/grading.md, which a run
without ``--scheduler`` keeps.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import classroom as cr  # noqa: E402

from nncourse import grader  # noqa: E402
from nncourse.nbgrader_api import Course, NbgraderError  # noqa: E402

DEFAULT_ASSIGNMENTS = ["01_perceptron", "02_activations", "03_forward_and_losses", "04_backprop",
                       "05_optimizers", "06_torch_training_loop", "07_mnist"]
BROKEN = {
    "not-json": '{"cells": [ oops',
    "os-exit": "import os\nos._exit(1)\n",
    "import-error": "import no_such_module_here\n",
    "sys-exit": "import sys\nsys.exit(1)\n",
    "tamper": "import numpy\nnumpy.allclose = lambda *a, **k: True\n",
}


def build_class(course: Course, students: int, assignments: list[str]
                ) -> tuple[dict[str, int], dict[tuple[str, str], tuple[str, float | None]]]:
    """Submit a mixed class; return how many submissions of each kind, and for each
    (assignment, student) its kind and the autograded total it deserves (None: not declared)."""
    kinds: dict[str, int] = {}
    deserved: dict[tuple[str, str], tuple[str, float | None]] = {}
    for a in assignments:
        wrong = [e for e in cr.catalogue(a) if e.kind == "wrong"]
        correct = [e for e in cr.catalogue(a) if e.kind == "correct"]
        first_answer = next(iter(cr.reference_answers(a)))
        for i in range(students):
            student = f"student{i:03d}"
            choice = i % 6
            full = cr.expected(a, set())
            want: float | None = full
            if choice == 0:
                nb, kind = cr.submission(course, a), "reference"
            elif choice in (1, 2):
                e = correct[i % len(correct)]
                nb, kind = cr.submission(course, a, entry_name=e.name), "correct"
            elif choice in (3, 4):
                e = wrong[i % len(wrong)]
                nb, kind = cr.submission(course, a, entry_name=e.name), "wrong"
                want = cr.expected(a, set(e.loses))
            else:
                name = list(BROKEN)[(i // 6) % len(BROKEN)]
                kind = f"broken ({name})"
                if name == "not-json":
                    nb, want = BROKEN[name], 0.0
                else:
                    code = BROKEN[name] + cr.reference_answers(a)[first_answer]
                    nb, want = cr.submission(course, a, {first_answer: code}), None
            cr.submit(course, student, a, nb)
            kinds[kind] = kinds.get(kind, 0) + 1
            deserved[(a, student)] = (kind, want)
    return kinds, deserved


def totals(course: Course, keys: list[tuple[str, str]]) -> dict[tuple[str, str], float | None]:
    """The autograded total of each (assignment, student) in the course's gradebook."""
    found: dict[tuple[str, str], float | None] = {}
    for a, student in keys:
        try:
            found[(a, student)] = course.scores(a, student).total
        except Exception:  # noqa: BLE001 - not graded at all: reported as None
            found[(a, student)] = None
    return found


def grade_problems(deserved: dict[tuple[str, str], tuple[str, float | None]],
                   got: dict[tuple[str, str], float | None], assignments: list[str]
                   ) -> tuple[list[str], list[str]]:
    """(a line per assignment with its grades, the problems found)."""
    lines, problems = [], []
    for a in assignments:
        full = cr.expected(a, set())
        by_kind: dict[str, list[str]] = {}
        for (assignment, student), (kind, want) in sorted(deserved.items()):
            if assignment != a:
                continue
            found = got.get((a, student))
            by_kind.setdefault(kind.split(" ")[0], []).append(
                "-" if found is None else f"{found:g}")
            if found is None:
                problems.append(f"{a}/{student} ({kind}): not graded")
            elif want is not None and abs(found - want) > 1e-9:
                problems.append(f"{a}/{student} ({kind}): {found:g}, deserves {want:g}")
            elif want is None and found > full + 1e-9:
                problems.append(f"{a}/{student} ({kind}): {found:g} is above full marks")
        lines.append(f"| {a} | " + " | ".join(
            " ".join(by_kind.get(k, [])) for k in ("reference", "correct", "wrong", "broken"))
            + " |")
    return lines, problems


def timed_grade(course: Course, jobs: int,
                assignments: list[str]) -> tuple[float, grader.GradeRun]:
    """Wall-clock seconds of one `nncourse grade` run over the whole class."""
    start = time.perf_counter()
    run = grader.grade(course, assignments, jobs=jobs, progress=False, log=lambda _: None,
                       limits=grader.Limits(cell_timeout=30))
    return time.perf_counter() - start, run


def timed_nbgrader(course: Course, students: int,
                   assignments: list[str]) -> tuple[float, int, int]:
    """(seconds, notebooks, failures) of serial nbgrader autograde over the first students."""
    count = failures = 0
    start = time.perf_counter()
    for a in assignments:
        for i in range(students):
            count += 1
            try:
                course.autograde(a, f"student{i:03d}")
            except NbgraderError:
                failures += 1
    return time.perf_counter() - start, count, failures


#: The markers of the Dask section of the results file (kept by runs without --scheduler).
DASK_BEGIN, DASK_END = "<!-- bench/grading.py --scheduler -->", "<!-- end of --scheduler -->"


def _dask_section(text: str) -> str:
    """The Dask section of a results file's ``text`` ("" when it has none)."""
    start, end = text.find(DASK_BEGIN), text.find(DASK_END)
    return text[start:end + len(DASK_END)] if 0 <= start < end else ""


def timed_dask(course: Course, client: object,
               assignments: list[str]) -> tuple[float, grader.GradeRun]:
    """Wall-clock seconds of one `nncourse grade --scheduler` run over the whole class."""
    from nncourse import cluster

    start = time.perf_counter()
    run = cluster.grade(course, assignments, client=client, progress=False, log=lambda _: None,
                        limits=grader.Limits(cell_timeout=30))
    return time.perf_counter() - start, run


def main_scheduler(args: argparse.Namespace) -> int:
    """The ``--scheduler`` benchmark: Dask workers against ``--jobs 2``, same class, same
    grades; writes its section of the results file; 1 when a grade is wrong."""
    import contextlib

    from test_dask_grading import DaskProcesses

    from nncourse import cluster

    assignments = args.assignments
    warnings.filterwarnings("ignore")
    work = Path(tempfile.mkdtemp(prefix="nncourse-bench-dask-"))
    problems: list[str] = []
    seconds: dict[str, float] = {}
    try:
        course = cr.make_course(work / "course", assignments)
        kinds, deserved = build_class(course, args.students, assignments)
        notebooks = len(deserved)
        print(f"class: {args.students} students x {len(assignments)} assignments: {kinds}",
              flush=True)
        with contextlib.ExitStack() as stack:
            if args.scheduler == "local":
                processes = stack.enter_context(DaskProcesses(2, work / "dask"))
                address, where = processes.address, ("two local `dask worker` processes, one "
                                                     "thread each")
            else:
                address, where = args.scheduler, f"the Dask cluster at {args.scheduler}"
            client = stack.enter_context(cluster.connect(address, timeout=30))
            workers = len(client.scheduler_info()["workers"])
            grades = {}
            for label in ("dask", "jobs2"):
                if label == "dask":
                    t, run = timed_dask(course, client, assignments)
                else:
                    t, run = timed_grade(course, 2, assignments)
                seconds[label] = t / notebooks
                problems += [f"{label} {r.assignment}/{r.student}: tool failure {r.error}"
                             for r in run.results if r.error]
                problems += [f"{label}: graded {len(run.results)} of {notebooks} submissions"
                             ] if len(run.results) != notebooks else []
                grades[label] = totals(course, list(deserved))
                print(f"{label}: {t:.1f} s, {t / notebooks:.2f} s per notebook", flush=True)
        lines, found = grade_problems(deserved, grades["dask"], assignments)
        problems += found
        problems += [f"{a}/{s}: --jobs 2 gave {grades['jobs2'][(a, s)]}, the Dask workers "
                     f"{grades['dask'][(a, s)]}" for a, s in deserved
                     if grades["jobs2"][(a, s)] != grades["dask"][(a, s)]]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    section = [
        DASK_BEGIN,
        "## On a Dask cluster (`bench/grading.py --scheduler`)",
        "",
        f"Machine: {os.cpu_count()} CPU cores, {platform.platform()}, Python "
        f"{platform.python_version()}; Dask workers: {where} ({workers} in all).",
        "",
        f"Class: {args.students} students x {len(assignments)} assignments = {notebooks} "
        f"submission notebooks: " + ", ".join(f"{v} {k}" for k, v in sorted(kinds.items())) + ".",
        "Each way grades the whole class in one run, worker start-up included (the Dask "
        "workers are fresh: their first submissions start their zygotes).",
        "",
        "| | s/notebook |",
        "|---|---:|",
        f"| `nncourse grade --scheduler` ({workers} Dask workers) | {seconds['dask']:.2f} |",
        f"| `nncourse grade --jobs 2` | {seconds['jobs2']:.2f} |",
        "",
        "Grades of the Dask run (autograded totals, by kind of submission; `--jobs 2` gave "
        "identical ones unless listed below):",
        "",
        "| assignment | reference | correct | wrong | broken |",
        "|---|---|---|---|---|",
        *lines,
        "",
        f"Grade problems: {len(problems)}" + ("" if not problems else ":"),
        *(f"* {line}" for line in problems),
        DASK_END,
    ]
    output = Path(args.output)
    old = output.read_text() if output.is_file() else "# Grading benchmark\n"
    text = "\n".join(section)
    previous = _dask_section(old)
    old = old.replace(previous, text) if previous else old.rstrip("\n") + "\n\n" + text
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(old.rstrip("\n") + "\n")
    print(text)
    return 1 if problems else 0


def main() -> int:
    """Run the benchmark, write bench/results/grading.md; 1 when a grade is wrong."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--baseline-students", type=int, default=6)
    parser.add_argument("--assignments", nargs="+", default=DEFAULT_ASSIGNMENTS,
                        help="the assignments every student submits (default: all seven)")
    parser.add_argument("--output", default=str(REPO / "bench" / "results" / "grading.md"))
    parser.add_argument("--scheduler", nargs="?", const="local", metavar="tcp://HOST:PORT",
                        help="compare Dask workers with --jobs 2 instead: two local workers "
                             "(started here), or the cluster at this address")
    args = parser.parse_args()
    if args.scheduler:
        return main_scheduler(args)
    assignments = args.assignments
    warnings.filterwarnings("ignore")
    work = Path(tempfile.mkdtemp(prefix="nncourse-bench-"))
    rows, problems = [], []
    seconds: dict[str, dict[str, float]] = {}
    try:
        course = cr.make_course(work / "course", assignments)
        kinds, deserved = build_class(course, args.students, assignments)
        print(f"class: {args.students} students x {len(assignments)} assignments: {kinds}",
              flush=True)
        grades = {}
        for jobs in (2, 1):
            for a in assignments:
                t, run = timed_grade(course, jobs, [a])
                seconds.setdefault(a, {})[f"jobs{jobs}"] = t / args.students
                problems += [f"{r.assignment}/{r.student}: tool failure {r.error}"
                             for r in run.results if r.error]
                print(f"nncourse grade --jobs {jobs} {a}: {t:.1f} s, "
                      f"{t / args.students:.2f} s per notebook", flush=True)
            grades[jobs] = totals(course, list(deserved))
        lines, found = grade_problems(deserved, grades[2], assignments)
        problems += found
        problems += [f"{a}/{s}: --jobs 1 gave {grades[1][(a, s)]}, --jobs 2 {grades[2][(a, s)]}"
                     for a, s in deserved if grades[1][(a, s)] != grades[2][(a, s)]]
        base = Course(work / "course", db_url=f"sqlite:///{work / 'baseline.db'}")
        base.generate(assignments)
        for a in assignments:
            tb, count, failures = timed_nbgrader(base, args.baseline_students, [a])
            seconds[a]["nbgrader"] = tb / count
            print(f"nbgrader autograde {a} (serial): {tb / count:.2f} s per notebook "
                  f"({failures} failed)", flush=True)
        first = [f"student{i:03d}" for i in range(args.baseline_students)]
        stock = totals(base, [(a, s) for a in assignments for s in first])
        problems += [f"{a}/{s}: stock nbgrader {stock[(a, s)]}, nncourse {grades[2][(a, s)]}"
                     for (a, s) in stock if not deserved[(a, s)][0].startswith("broken")
                     and stock[(a, s)] != grades[2][(a, s)]]
        rows = lines
    finally:
        shutil.rmtree(work, ignore_errors=True)
    notebooks = args.students * len(assignments)
    report = [
        "# Grading benchmark (`bench/grading.py`)",
        "",
        f"Machine: {os.cpu_count()} CPU cores, {platform.platform()}, Python "
        f"{platform.python_version()}.",
        "",
        f"Class: {args.students} students x {len(assignments)} assignments = {notebooks} "
        f"submission notebooks: " + ", ".join(f"{v} {k}" for k, v in sorted(kinds.items())) + ".",
        "Each assignment is graded by its own run (worker start-up included).",
        "",
        "| assignment | `--jobs 2` s/notebook | `--jobs 1` s/notebook | serial stock "
        f"`nbgrader autograde` s/notebook (first {args.baseline_students} students) |",
        "|---|---:|---:|---:|",
        *(f"| {a} | {t['jobs2']:.2f} | {t['jobs1']:.2f} | {t['nbgrader']:.2f} |"
          for a, t in seconds.items()),
        "",
        "Grades produced by the `--jobs 2` run (autograded totals, by kind of submission):",
        "",
        "| assignment | reference | correct | wrong | broken |",
        "|---|---|---|---|---|",
        *rows,
        "",
        f"Grade problems: {len(problems)}" + ("" if not problems else ":"),
        *(f"* {line}" for line in problems),
        "",
    ]
    output = Path(args.output)
    dask = _dask_section(output.read_text()) if output.is_file() else ""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("\n".join(report) + (f"\n{dask}\n" if dask else ""))
    print("\n".join(report))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
