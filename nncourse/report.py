"""Grades as CSV (from the gradebook) and a PNG of score distributions and failing checks."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from nncourse.grader import load_results
from nncourse.nbgrader_api import Course

__all__ = ["csv_rows", "grades_table", "spreadsheet_text", "write_csv", "write_png"]


def grades_table(course: Course) -> tuple[list[str], dict[str, dict[str, float | None]]]:
    """(assignments, student -> assignment -> points) read from the gradebook."""
    from nbgrader.api import Gradebook

    table: dict[str, dict[str, float | None]] = {}
    with Gradebook(course.db_url) as gb:
        assignments = sorted(a.name for a in gb.assignments)
        for student in gb.students:
            row: dict[str, float | None] = dict.fromkeys(assignments)
            for submission in student.submissions:
                row[submission.assignment.name] = float(submission.score)
            table[student.id] = row
    return assignments, dict(sorted(table.items()))


#: First characters that make a spreadsheet read a cell as a formula (OWASP: CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(text: str) -> str:
    """``text`` as a CSV cell a spreadsheet shows as text: a leading ``'`` before a formula."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_rows(assignments: list[str],
             table: dict[str, dict[str, float | None]]) -> list[list[str]]:
    """The rows of grades.csv: text cells made safe, points as plain numbers, "" if missing."""
    rows = [[spreadsheet_text(name) for name in ["student", *assignments]]]
    for student, row in table.items():
        rows.append([spreadsheet_text(student),
                     *("" if row[a] is None else f"{row[a]:g}" for a in assignments)])
    return rows


def write_csv(course: Course, path: Path) -> Path:
    """Write one row per student, one column per assignment (empty: not submitted).

    Student ids and assignment names that start like a formula (``=``, ``+``, ``-``, ``@``, a
    tab or a carriage return) get a leading ``'``, so that a spreadsheet does not run them.
    """
    assignments, table = grades_table(course)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(csv_rows(assignments, table))
    return path


def failing_checks(course: Course) -> Counter[str]:
    """How many submissions failed each check (``assignment/cell``)."""
    counts: Counter[str] = Counter()
    for result in load_results(course):
        for nb in result.notebooks:
            for cell in nb.tests:
                if not cell.passed:
                    counts[f"{result.assignment}/{cell.grade_id}"] += 1
    return counts


def write_png(course: Course, path: Path, top: int = 15) -> Path:
    """Score distribution per assignment and the checks that fail most often."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    assignments, table = grades_table(course)
    counts = failing_checks(course).most_common(top)
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    data = [[row[a] for row in table.values() if row[a] is not None] for a in assignments]
    if assignments:
        left.boxplot([d or [0.0] for d in data], tick_labels=assignments)
        for i, values in enumerate(data, start=1):
            left.scatter([i] * len(values), values, s=12, alpha=0.5)
    left.set_title("Score distribution per assignment")
    left.set_ylabel("points")
    left.tick_params(axis="x", rotation=30)
    names = [name for name, _ in counts][::-1]
    right.barh(names, [n for _, n in counts][::-1])
    right.set_title("Checks failed most often")
    right.set_xlabel("submissions failing")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
