"""Benchmark of `nncourse grade` on a synthetic class (not a test).

A class of ``--students`` (default 30) students x assignments 01-04 (``--assignments`` names
others); each submission is, in turn, the reference solution, a catalogued correct one, a
catalogued wrong one, or a broken one (not JSON, ``os._exit``, an import error, ``sys.exit``,
tampering with the checks). Measured:

* `nncourse grade --jobs 2` and `--jobs 1` over the whole class (seconds per notebook);
* plain serial ``nbgrader autograde`` (nbgrader's Python API, one submission after the other)
  on the first ``--baseline-students`` students, as the reference for the speed-up.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python bench/grading.py``; writes bench/results/grading.md.
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

DEFAULT_ASSIGNMENTS = ["01_perceptron", "02_activations", "03_forward_and_losses", "04_backprop"]
BROKEN = {
    "not-json": '{"cells": [ oops',
    "os-exit": "import os\nos._exit(1)\n",
    "import-error": "import no_such_module_here\n",
    "sys-exit": "import sys\nsys.exit(1)\n",
    "tamper": "import numpy\nnumpy.allclose = lambda *a, **k: True\n",
}


def build_class(course: Course, students: int, assignments: list[str]) -> dict[str, int]:
    """Submit a mixed class; return how many submissions of each kind."""
    kinds: dict[str, int] = {}
    for a in assignments:
        wrong = [e for e in cr.catalogue(a) if e.kind == "wrong"]
        correct = [e for e in cr.catalogue(a) if e.kind == "correct"]
        first_answer = next(iter(cr.reference_answers(a)))
        for i in range(students):
            student = f"student{i:03d}"
            choice = i % 6
            if choice == 0:
                nb, kind = cr.submission(course, a), "reference"
            elif choice in (1, 2):
                e = correct[i % len(correct)]
                nb, kind = cr.submission(course, a, entry_name=e.name), "correct"
            elif choice in (3, 4):
                e = wrong[i % len(wrong)]
                nb, kind = cr.submission(course, a, entry_name=e.name), "wrong"
            else:
                name = list(BROKEN)[(i // 6) % len(BROKEN)]
                kind = f"broken ({name})"
                if name == "not-json":
                    nb = BROKEN[name]
                else:
                    code = BROKEN[name] + cr.reference_answers(a)[first_answer]
                    nb = cr.submission(course, a, {first_answer: code})
            cr.submit(course, student, a, nb)
            kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


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


def main() -> None:
    """Run the benchmark and write bench/results/grading.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--baseline-students", type=int, default=10)
    parser.add_argument("--assignments", nargs="+", default=DEFAULT_ASSIGNMENTS,
                        help="the assignments every student submits (default: 01-04)")
    parser.add_argument("--output", default=str(REPO / "bench" / "results" / "grading.md"))
    args = parser.parse_args()
    assignments = args.assignments
    warnings.filterwarnings("ignore")
    work = Path(tempfile.mkdtemp(prefix="nncourse-bench-"))
    try:
        course = cr.make_course(work / "course", assignments)
        kinds = build_class(course, args.students, assignments)
        notebooks = args.students * len(assignments)
        print(f"class: {args.students} students x {len(assignments)} assignments: {kinds}")
        t2, run2 = timed_grade(course, 2, assignments)
        print(f"nncourse grade --jobs 2: {t2:.1f} s, {t2 / notebooks:.2f} s per notebook")
        t1, _ = timed_grade(course, 1, assignments)
        print(f"nncourse grade --jobs 1: {t1:.1f} s, {t1 / notebooks:.2f} s per notebook")
        base = Course(work / "course", db_url=f"sqlite:///{work / 'baseline.db'}")
        base.generate(assignments)
        tb, nb_count, failures = timed_nbgrader(base, args.baseline_students, assignments)
        per_base = tb / nb_count
        print(f"nbgrader autograde (serial): {tb:.1f} s for {nb_count} notebooks, "
              f"{per_base:.2f} s per notebook ({failures} failed)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    per2, per1 = t2 / notebooks, t1 / notebooks
    lines = [
        "# Grading benchmark (`bench/grading.py`)",
        "",
        f"Machine: {os.cpu_count()} CPU cores, {platform.platform()}, Python "
        f"{platform.python_version()}; sandbox mode: {run2.sandbox}.",
        "",
        f"Class: {args.students} students x {len(assignments)} assignments = {notebooks} "
        f"submission notebooks: " + ", ".join(f"{v} {k}" for k, v in sorted(kinds.items())) + ".",
        "",
        "| run | notebooks | wall-clock s | s per notebook |",
        "|---|---:|---:|---:|",
        f"| `nncourse grade --jobs 2` | {notebooks} | {t2:.1f} | {per2:.2f} |",
        f"| `nncourse grade --jobs 1` | {notebooks} | {t1:.1f} | {per1:.2f} |",
        f"| serial `nbgrader autograde` (first {args.baseline_students} students) | {nb_count} | "
        f"{tb:.1f} | {per_base:.2f} |",
        "",
        f"* Average per notebook with `--jobs 2`: **{per2:.2f} s** (target < 3 s).",
        f"* Speed-up of `--jobs 2` over serial nbgrader autograde: **{per_base / per2:.2f}x** "
        "(target >= 1.7).",
        f"* Speed-up of `--jobs 2` over `--jobs 1`: {per1 / per2:.2f}x.",
        f"* Submissions needing attention in the `--jobs 2` run: "
        f"{sum(1 for r in run2.results if r.notes)}; tool failures: "
        f"{sum(1 for r in run2.results if r.error)}.",
        "",
    ]
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
