"""Synthetic classes of submissions, built from the catalogue of tests/grading/ (not a test).

Used by tests/test_robust_grading.py, tests/test_class_grading.py, tests/test_cli.py and
bench/grading.py. The catalogue format and its parsing live in tests/test_grading.py.
"""

from __future__ import annotations

import copy
import json
import shutil
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import test_grading as tg  # noqa: E402

from nncourse.nbgrader_api import CONFIG_FILE, Course  # noqa: E402

REPO = tg.REPO
SOLUTIONS = tg.SOLUTIONS


def make_course(target: Path, assignments: list[str]) -> Course:
    """A course folder with a copy of the config and the sources, generated."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / CONFIG_FILE, target)
    for assignment in assignments:
        shutil.copytree(SOLUTIONS / assignment, target / "solutions" / assignment)
    course = Course(target)
    course.generate(assignments)
    return course


def notebook_name(assignment: str) -> str:
    """The (single) notebook of an assignment."""
    (path,) = tg.notebook_paths(assignment)
    return path.stem


def release(course: Course, assignment: str) -> dict[str, Any]:
    """The release notebook of ``assignment``."""
    path = course.release_dir / assignment / f"{notebook_name(assignment)}.ipynb"
    return json.loads(path.read_text())


def source(assignment: str) -> dict[str, Any]:
    """The source notebook of ``assignment``."""
    return tg.read_notebook(SOLUTIONS / assignment / f"{notebook_name(assignment)}.ipynb")


def points(assignment: str) -> dict[str, float]:
    """Autograded test cell -> points."""
    return tg.autograded_points(source(assignment))


def reference_answers(assignment: str) -> dict[str, str]:
    """Answer cell -> the reference solution, as a student would write it."""
    cells = tg.graded_cells(source(assignment))
    return {k: tg.strip_solution_markers(c["source"]) for k, c in cells.items()
            if c["kind"] in ("answer", "manual")}


def entry(assignment: str, name: str) -> tg.Entry:
    """The catalogue entry ``name`` (wrong or correct)."""
    for e in tg.load_catalogue(assignment):
        if e.name == name:
            return e
    raise KeyError(name)


def catalogue(assignment: str) -> list[tg.Entry]:
    """Every catalogue entry of ``assignment``."""
    return tg.load_catalogue(assignment)


def submission(course: Course, assignment: str, answers: dict[str, str] | None = None,
               entry_name: str | None = None) -> dict[str, Any]:
    """The release filled with the reference, a catalogue entry's answers and ``answers``."""
    filled = reference_answers(assignment)
    catalogued: frozenset[str] = frozenset()
    if entry_name:
        e = entry(assignment, entry_name)
        filled |= dict(e.answers)
        catalogued = frozenset(cell for cell, _ in e.answers)
    filled |= answers or {}
    return tg.build_submission(release(course, assignment), filled, catalogued)


def expected(assignment: str, loses: set[str] | frozenset[str]) -> float:
    """The autograded total of a submission losing exactly the cells ``loses``."""
    return sum(v for k, v in points(assignment).items() if k not in loses)


def cell(nb: dict[str, Any], grade_id: str) -> dict[str, Any]:
    """The cell of ``nb`` with this grade id."""
    for c in nb["cells"]:
        if tg.nbgrader(c).get("grade_id") == grade_id:
            return c
    raise KeyError(grade_id)


def submit(course: Course, student: str, assignment: str, content: Any) -> Path:
    """Place one submission notebook (a dict, or raw text / bytes written as they are)."""
    folder = course.submitted_dir / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{notebook_name(assignment)}.ipynb"
    if isinstance(content, bytes):
        target.write_bytes(content)
    elif isinstance(content, str):
        target.write_text(content)
    else:
        target.write_text(json.dumps(content, indent=1))
    return folder


def deepcopy(nb: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of a notebook."""
    return copy.deepcopy(nb)


def class_submissions(course: Course, assignment: str) -> list[tg.Submission]:
    """The solution, the unchanged release and every catalogue entry, with expected scores."""
    return tg._submissions(assignment, notebook_name(assignment), source(assignment),
                           release(course, assignment))


def submit_class(course: Course, assignments: list[str]) -> dict[str, list[tg.Submission]]:
    """Submit `class_submissions` of each assignment; return them by assignment."""
    subs = {a: class_submissions(course, a) for a in assignments}
    for a, listed in subs.items():
        for sub in listed:
            course.submit(a, sub.student, {notebook_name(a): sub.content})
    return subs
