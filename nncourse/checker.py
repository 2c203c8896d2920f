"""`nncourse check`: run a notebook's visible tests, as nbgrader validate does, and summarise."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nncourse import rules

__all__ = ["CheckResult", "check_notebook", "summary"]


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one graded cell of a student's notebook."""

    cell: str
    kind: str  # "test", "hidden" (graded after submission) or "answer"
    points: float
    passed: bool
    message: str = ""


def _error(cell: dict[str, Any]) -> str:
    """A cell's error as the notebook shows a failed check: its name and whole message.

    The diagnosis, the expected and found values and the hint all stay; the traceback (the
    test's and the checks' own frames) does not. Very long messages are cut.
    """
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            lines = str(out.get("evalue", "")).strip("\n").rstrip().splitlines()
            if len(lines) > rules.TRACEBACK_LINES:
                cut = len(lines) - rules.TRACEBACK_LINES
                lines = [*lines[:rules.TRACEBACK_LINES], f"... ({cut} more lines)"]
            text = "\n".join(lines)
            return f"{out.get('ename')}: {text}".rstrip(": ")
    return ""


def _indented(message: str, prefix: str = "        ") -> str:
    return "\n".join(prefix + line if line.strip() else "" for line in message.splitlines())


def check_notebook(path: Path, timeout: float = 60.0) -> tuple[list[CheckResult], list[str]]:
    """Run the notebook at ``path``; return its graded cells' results and warnings."""
    import nbformat
    from nbclient import NotebookClient
    from nbgrader import utils

    nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    warnings: list[str] = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        checksum = meta.get("checksum")
        if meta.get("locked") and checksum and utils.compute_checksum(cell) != checksum:
            warnings.append(f"{meta.get('grade_id')}: this cell was changed; grading uses the "
                            "original")
    client = NotebookClient(nb, timeout=timeout, allow_errors=True, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent.resolve())}})
    client.execute()
    results: list[CheckResult] = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        grade_id = meta.get("grade_id")
        if not grade_id or cell.cell_type != "code":
            continue
        error = _error(cell)
        points = float(meta.get("points", 0) or 0)
        if meta.get("grade") and not meta.get("solution"):
            hidden = all(not line.strip() or line.strip().startswith("#")
                         for line in cell.source.split("\n"))
            kind = "hidden" if hidden and not error else "test"
            _, passed, message = rules.cell_verdict(cell, points)  # nncourse grade's rule
            if kind == "hidden":
                passed, message = True, ""
            results.append(CheckResult(grade_id, kind, points, passed, error or message))
        elif meta.get("solution") and error:
            results.append(CheckResult(grade_id, "answer", points, False, error))
    return results, warnings


def summary(results: list[CheckResult]) -> str:
    """The short text summary printed by `nncourse check`."""
    lines = []
    for r in results:
        if r.kind == "hidden":
            lines.append(f"  ....  {r.cell:<24} {r.points:g} points, graded after you submit")
        elif r.kind == "answer":
            first, _, rest = r.message.partition("\n")
            lines.append(f"  FAIL  {r.cell:<24} the cell raised {first}")
            if rest.strip():
                lines.append(_indented(rest))
        else:
            status = "PASS" if r.passed else "FAIL"
            lines.append(f"  {status}  {r.cell:<24} {r.points:g} points")
            if not r.passed and r.message.strip():
                lines.append(_indented(r.message))
    failed = sum(1 for r in results if not r.passed)
    tests = [r for r in results if r.kind == "test"]
    passed = sum(1 for r in tests if r.passed)
    lines.append(f"{passed} of {len(tests)} visible tests passed"
                 + (f"; {failed} problem(s) to fix" if failed else ""))
    return "\n".join(lines)

