"""Per-student HTML feedback: each question's score and the diagnosis of every failed check.

Unlike nbgrader's feedback (the autograded notebook rendered as HTML, hidden tests' source and
tracebacks included), this shows only the messages the checks wrote for students. A hidden
test's message is shown only when it is one of the checks' own diagnoses (a ``GradingFailure``,
written to hide the test's data); any other error in a hidden test is reduced to its type.
"""

from __future__ import annotations

import html
from collections import defaultdict
from pathlib import Path

from nncourse.grader import CellResult, SubmissionResult, load_results
from nncourse.nbgrader_api import Course

__all__ = ["message_for_student", "render", "write_feedback"]

_SAFE_HIDDEN = ("GradingFailure", "Tampering", "TimeoutError", "KernelDied", "NotRun",
                "NotSubmitted", "InvalidNotebook", "NoVerdict", "SystemExit")
_STYLE = """body{font-family:system-ui,sans-serif;max-width:52em;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{padding:.3em .8em;border-bottom:1px solid #ddd}
.ok{color:#176117}.ko{color:#a11}pre{white-space:pre-wrap;background:#f6f6f6;padding:.6em}"""


def message_for_student(cell: CellResult) -> str:
    """What a student may read about a failed check (nothing of a hidden test's code)."""
    if cell.passed:
        return ""
    text = cell.message.strip()
    kind = text.split(":", 1)[0]
    if cell.grade_id.startswith("hidden_") and kind not in _SAFE_HIDDEN:
        return (f"The hidden tests stopped with {kind or 'an error'} raised by your code. "
                "Run the visible tests and try your function on other inputs.")
    return text


def render(student: str, results: list[SubmissionResult]) -> str:
    """The feedback page of one student."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>Feedback for "
             f"{html.escape(student)}</title><style>{_STYLE}</style></head><body>",
             f"<h1>Feedback for {html.escape(student)}</h1>"]
    for result in sorted(results, key=lambda r: r.assignment):
        parts.append(f"<h2>{html.escape(result.assignment)}: {result.score:g} / "
                     f"{result.max_score:g} autograded points</h2>")
        for nb in result.notebooks:
            if nb.status == "missing":
                parts.append(f"<p class='ko'>{html.escape(nb.notebook)}.ipynb was not "
                             "submitted.</p>")
            elif nb.status == "invalid":
                parts.append(f"<p class='ko'>{html.escape(nb.notebook)}.ipynb could not be "
                             "read: it is not a valid notebook file.</p>")
            rows = []
            for cell in nb.tests:
                css = "ok" if cell.passed else "ko"
                rows.append(f"<tr><td>{html.escape(cell.grade_id)}</td><td class='{css}'>"
                            f"{cell.score:g} / {cell.points:g}</td></tr>")
            parts.append("<table><tr><th>check</th><th>score</th></tr>" + "".join(rows) +
                         "</table>")
            for cell in nb.tests:
                message = message_for_student(cell)
                if message:
                    parts.append(f"<h3>{html.escape(cell.grade_id)}</h3>"
                                 f"<pre>{html.escape(message)}</pre>")
            if nb.manual_answered:
                waiting = [c for c, answered in nb.manual_answered.items() if answered]
                if waiting:
                    parts.append("<p>Graded by hand later: " +
                                 html.escape(", ".join(waiting)) + "</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_feedback(course: Course, students: list[str] | None = None) -> list[Path]:
    """Write ``feedback/<student>/index.html`` for every graded student; return the files."""
    by_student: dict[str, list[SubmissionResult]] = defaultdict(list)
    for result in load_results(course):
        if students is None or result.student in students:
            by_student[result.student].append(result)
    written = []
    for student, results in sorted(by_student.items()):
        folder = course.root / "feedback" / student
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "index.html"
        path.write_text(render(student, results), encoding="utf-8")
        written.append(path)
    return written
