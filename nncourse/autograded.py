"""The results of `nncourse grade` written the way stock ``nbgrader autograde`` writes them.

After grading, nbgrader's own tools take over: the Formgrader (manual grading of written
answers), ``nbgrader generate_feedback``, ``nbgrader export``. They read two things, and this
module writes both as ``nbgrader autograde`` would:

* the **gradebook**: for each submission a student, a submitted assignment (with the
  ``timestamp.txt`` of the submitted folder), and per notebook a score for every graded cell
  (``auto_score``, ``needs_manual_grade``), an automatic comment for every answer cell ("No
  response." when it was left as released) and the late-submission penalty;
* ``autograded/<student>/<assignment>/``: the other files of the submission and of the
  assignment's source folder, and each notebook as an nbgrader submission notebook: notebook
  metadata with the source's kernelspec and the grading kernel's ``language_info``, every
  nbgrader cell with its ``metadata.nbgrader`` (grade id, points, the gradebook's checksum),
  the cells in the source's order, with their outputs.

Rather than re-implementing nbgrader, the notebook `nncourse.grader.assemble` built and
`run_plan` executed goes through nbgrader's own preprocessors, configured by the course's
``nbgrader_config.py``: the sanitising ones of ``nbgrader autograde`` but `ClearOutput`
(`DeduplicateIds`, `OverwriteKernelspec`, `OverwriteCells`, `CheckCellMetadata`), then its
grading ones but `Execute` (`LimitOutput`, `SaveAutoGrades`, `AssignLatePenalties`).
`SaveAutoGrades` scores every graded cell by nbgrader's rule from the outputs, so manually
graded answers are flagged exactly as stock nbgrader flags them.

nncourse's verdicts stay authoritative: a test cell that did not run (the notebook hit its time
limit, the kernel gave up) has no output, which nbgrader's rule would take for full marks;
such a cell gets an error output saying why before the notebook is scored (`reconcile`).

Two steps, as in ``nbgrader autograde`` (``init_assignment``, then one conversion per
notebook): `record` creates the submission in the gradebook and zeroes notebooks that are
missing or unreadable; `write` does the rest, as it needs the course folder and configuration.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nncourse.grader import CellResult, NotebookResult, SubmissionResult
    from nncourse.nbgrader_api import Course

__all__ = ["folder", "notebook", "process", "reconcile", "record", "resources", "write"]


def _sanitize_preprocessors() -> list[type]:
    """nbgrader autograde's sanitising preprocessors, less `ClearOutput` (outputs are kept)."""
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        DeduplicateIds,
        OverwriteCells,
        OverwriteKernelspec,
    )

    return [DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata]


def _grading_preprocessors() -> list[type]:
    """nbgrader autograde's grading preprocessors, less `Execute` (the notebook already ran).

    `IgnorePattern` (off by default) and nbconvert's `ClearMetadataPreprocessor` (off unless
    configured) are left out too: nncourse's verdicts are made from the outputs as they are.
    So is the second `CheckCellMetadata` (a third of the time): without `Execute`, nothing
    after the first one changes the cells' metadata.
    """
    from nbgrader.preprocessors import AssignLatePenalties, LimitOutput, SaveAutoGrades

    return [LimitOutput, SaveAutoGrades, AssignLatePenalties]


# ---------------------------------------------------------------------------------------------
# The gradebook's side of a submission
# ---------------------------------------------------------------------------------------------


def record(gb: Any, result: SubmissionResult) -> None:
    """Create ``result``'s student and submission in the gradebook ``gb``; zero what is missing.

    As ``nbgrader autograde`` does before it converts any notebook: a notebook that was not
    submitted (or, here, could not be read) scores 0 on every graded cell, none of them waiting
    for a grader. Scores already given by hand are kept (a regrade updates the submission).
    """
    gb.update_or_create_student(result.student)
    gb.update_or_create_submission(result.assignment, result.student)
    for nb in result.notebooks:
        if nb.status != "graded" or not nb.cells:
            submitted = gb.find_submission_notebook(nb.notebook, result.assignment,
                                                    result.student)
            for grade in submitted.grades:
                grade.auto_score = 0
                grade.needs_manual_grade = False
    gb.db.commit()


def _timestamp(course: Course, submitted: Path) -> Any:
    """The submission's time from its ``timestamp.txt``, or None (also when unreadable)."""
    try:
        return course.coursedir.get_existing_timestamp(str(submitted))
    except Exception:  # noqa: BLE001 - nbgrader gives up on a bad file; one must not stop all
        return None


def _record_timestamp(course: Course, result: SubmissionResult, submitted: Path) -> None:
    """Store the submission's ``timestamp.txt`` in the gradebook (late penalties need it)."""
    from nbgrader.api import Gradebook

    timestamp = _timestamp(course, submitted)
    if timestamp is not None:
        with Gradebook(course.db_url) as gb:
            gb.update_or_create_submission(result.assignment, result.student,
                                           timestamp=timestamp)


# ---------------------------------------------------------------------------------------------
# The autograded notebook
# ---------------------------------------------------------------------------------------------


def _kernel_language_info() -> dict[str, Any]:
    """The ``language_info`` the grading kernels (ipykernel, this Python) report."""
    try:
        from ipykernel.ipkernel import IPythonKernel
    except ImportError:  # pragma: no cover - ipykernel is a dependency
        return {}
    return json.loads(json.dumps(IPythonKernel.language_info))


def _source_metadata(course: Course, assignment: str, name: str) -> dict[str, Any]:
    """The notebook-level metadata of the assignment's source notebook (as in the release)."""
    path = course.source_dir / assignment / f"{name}.ipynb"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    meta = data.get("metadata") if isinstance(data, dict) else None
    return dict(meta) if isinstance(meta, dict) else {}


def _ran(cell: Mapping[str, Any], verdict: CellResult | None) -> bool:
    """Whether a code cell ran: a kernel cell has a count, a test cell a verdict from a run."""
    if cell.get("execution_count") is not None:
        return True
    return verdict is not None and not verdict.message.startswith("NotRun")


def _renumber(cells: Sequence[dict[str, Any]], verdicts: Mapping[str, CellResult]) -> None:
    """Number the cells that ran 1, 2, ... top to bottom, as one run of the notebook would.

    The student's cells ran in the kernel and the tests in the grader, so the kernel's counts
    skip the tests (and start again after a kernel restart).
    """
    count = 0
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        if not _ran(cell, verdicts.get(_grade_id(cell) or "")):
            cell["execution_count"] = None
            continue
        count += 1
        cell["execution_count"] = count
        for output in cell.get("outputs", []):
            if output.get("output_type") == "execute_result":
                output["execution_count"] = count


def _grade_id(cell: Mapping[str, Any]) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta.get("grade_id") if isinstance(meta, Mapping) else None


def _give_ids(cells: Iterable[dict[str, Any]]) -> None:
    """Give every cell a unique id (nbformat 4.5); cells a student added have none."""
    seen: set[str] = set()
    added = 0
    for cell in cells:
        cell_id = cell.get("id")
        if not isinstance(cell_id, str) or not cell_id or cell_id in seen:
            while True:
                added += 1
                cell_id = f"nncourse-added-{added}"
                if cell_id not in seen:
                    break
            cell["id"] = cell_id
        seen.add(cell_id)


def reconcile(cells: Sequence[dict[str, Any]], tests: Iterable[CellResult]) -> None:
    """Make each test cell's outputs score what nncourse's verdict says, by nbgrader's rule.

    A test cell nbgrader would score higher than the verdict (no output: it never ran) gets an
    error output with the verdict's reason, which is also what the feedback shows.
    """
    import nbformat
    from nbgrader.utils import determine_grade

    verdicts = {t.grade_id: t for t in tests}
    for cell in cells:
        verdict = verdicts.get(_grade_id(cell) or "")
        if verdict is None or cell.get("cell_type") != "code":
            continue
        node = nbformat.from_dict(cell)
        try:
            score, _ = determine_grade(node)
        except (ValueError, KeyError):
            continue
        if score is not None and float(score) > verdict.score:
            ename, _, evalue = (verdict.message or "NotRun: the tests did not run").partition(": ")
            if not evalue:
                ename, evalue = "NotRun", ename
            text = f"{ename}: {evalue}"
            cell.setdefault("outputs", []).append({
                "output_type": "error", "ename": ename, "evalue": evalue, "traceback": [text]})


def notebook(course: Course, result: SubmissionResult, nb: NotebookResult) -> Any:
    """The nbgrader notebook (`nbformat.NotebookNode`) of one graded notebook, not yet processed.

    Its cells are the ones grading ran (``nb.cells``), with ids, counts and verdicts settled;
    its metadata is the source's, with the grading kernel's ``language_info``.
    """
    import nbformat

    cells = copy.deepcopy(nb.cells)
    _give_ids(cells)
    reconcile(cells, nb.tests)
    _renumber(cells, {t.grade_id: t for t in nb.tests})
    metadata = _source_metadata(course, result.assignment, nb.notebook)
    language = dict(metadata.get("language_info") or {})
    language.update(_kernel_language_info())
    if language:
        metadata["language_info"] = language
    return nbformat.from_dict({"cells": cells, "metadata": metadata, "nbformat": 4,
                               "nbformat_minor": 5})


def resources(course: Course, result: SubmissionResult, name: str) -> dict[str, Any]:
    """The resources dict nbgrader's converters hand their preprocessors for one notebook."""
    return {
        "unique_key": name,
        "output_files_dir": f"{name}_files",
        "nbgrader": {"student": result.student, "assignment": result.assignment,
                     "notebook": name, "db_url": course.db_url},
    }


def process(course: Course, node: Any, res: dict[str, Any]) -> Any:
    """Run nbgrader's autograde preprocessors (but output clearing and execution) on ``node``.

    They read the gradebook (checksums, points, kernelspec) and write it (scores, comments,
    late penalty); their options come from the course's ``nbgrader_config.py``.
    """
    for kind in (*_sanitize_preprocessors(), *_grading_preprocessors()):
        node, res = kind(config=course.config)(node, res)
    return node


# ---------------------------------------------------------------------------------------------
# The autograded folder
# ---------------------------------------------------------------------------------------------


def folder(course: Course, result: SubmissionResult) -> Path:
    """``autograded/<student>/<assignment>/`` of the course."""
    return Path(course.coursedir.format_path(course.coursedir.autograded_directory,
                                             result.student, result.assignment))


def _copy_files(course: Course, source: Path, dest: Path) -> None:
    """Copy the files under ``source`` but notebooks and ignored ones (nbgrader's rule) to
    ``dest``; links are skipped (a submission's link must not copy a grader's file)."""
    from nbgrader.utils import find_all_files

    if not source.is_dir():
        return
    for name in find_all_files(str(source), list(course.coursedir.ignore) + ["*.ipynb"]):
        path = Path(name)
        if path.is_symlink() or not path.is_file():
            continue
        target = dest / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() or target.is_symlink():
            target.unlink()
        shutil.copy(path, target)


def write(course: Course, result: SubmissionResult) -> Path:
    """Score ``result``'s notebooks into the gradebook and write its autograded folder.

    The folder is replaced as ``nbgrader autograde --force`` replaces it: the submission's
    other files (``timestamp.txt`` included), the source folder's other files, then every
    notebook that was graded, processed by nbgrader's preprocessors (see the module doc).
    Call `record` first. Returns the folder.

    Should nbgrader fail on a notebook, its test scores are stored as they are, the notebook
    is written unprocessed and the failure is added to its notes (one notebook must not stop
    the class).
    """
    import nbformat

    submitted = course.submitted_dir / result.student / result.assignment
    dest = folder(course, result)
    if dest.is_dir() and not dest.is_symlink():
        shutil.rmtree(dest)
    dest.mkdir(parents=True, exist_ok=True)
    _copy_files(course, submitted, dest)
    _copy_files(course, course.source_dir / result.assignment, dest)
    _record_timestamp(course, result, submitted)
    for nb in result.notebooks:
        if nb.status != "graded" or not nb.cells:
            continue
        node = notebook(course, result, nb)
        try:
            node = process(course, copy.deepcopy(node), resources(course, result, nb.notebook))
        except Exception as exc:  # noqa: BLE001 - see the docstring
            nb.notes.append(f"nbgrader could not process the autograded notebook "
                            f"({type(exc).__name__}: {str(exc)[:200]}); test scores stored as is")
            _store_verdicts(course, result, nb)
        (dest / f"{nb.notebook}.ipynb").write_text(nbformat.writes(node) + "\n",
                                                   encoding="utf-8")
    return dest


def _store_verdicts(course: Course, result: SubmissionResult, nb: NotebookResult) -> None:
    """The fallback of `write`: the test cells' scores straight into the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        for test in nb.tests:
            grade = gb.find_grade(test.grade_id, nb.notebook, result.assignment, result.student)
            grade.auto_score = test.score
            grade.needs_manual_grade = grade.manual_score is not None
        gb.db.commit()
