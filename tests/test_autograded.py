"""After `nncourse grade`, nbgrader's own tools work on its results (`nncourse.autograded`).

A temporary course grades, with ``nncourse grade --jobs 1``, the reference solution of
assignment 02 (activations, a hand-graded written answer) for alice, the release as it is for
carol (nothing answered) and the reference for ben with a whitespace-only written answer and a
``timestamp.txt``. Then:

* the autograded notebooks are nbgrader submission notebooks: valid nbformat 4.5, the source's
  kernelspec and a full ``language_info``, every graded cell with the gradebook's checksum and
  points, in the source's order;
* the gradebook rows (``grade``, ``comment``, ``submitted_notebook``,
  ``submitted_assignment``) and the notebook's metadata are those stock ``nbgrader autograde``
  writes for the same submissions (graded apart, in a second course);
* ``nbgrader generate_feedback`` and ``nbgrader export`` run on the result and show the
  scores, and a manual score entered through nbgrader's Gradebook API counts in the total;
* assignment 07 (torch, MNIST) with its written answer goes the same way: checked on the
  class graded in test_class_grading.py (`test_07s_written_answer_waits_and_feedback_works`);
* without any kernel: a test cell that never ran scores 0 in the gradebook as in nncourse's
  verdict, with an error output saying why, and a missing notebook scores 0 with nothing
  waiting for a grader.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import classroom as cr
import nbformat
import pytest

from nncourse import autograded, cli, grader
from nncourse.nbgrader_api import Course

pytestmark = pytest.mark.filterwarnings("ignore::Warning")  # SQLAlchemy chatter

A = "02_activations"
NB = "activations"
WRITTEN = "answer_choosing_activations"
NBGRADER = str(Path(sys.executable).with_name("nbgrader"))


def _grade(course: Course) -> None:
    code = cli.main(["grade", "--course", str(course.root), "--jobs", "1", "--no-progress"])
    assert code == 0


def _submit_class(course: Course) -> None:
    cr.submit(course, "alice", A, cr.submission(course, A))
    cr.submit(course, "carol", A, cr.release(course, A))
    folder = cr.submit(course, "ben", A, cr.submission(course, A, answers={WRITTEN: "  \n"}))
    (folder / "timestamp.txt").write_text("2024-01-01 10:00:00.000000 UTC\n")
    (folder / "notes.txt").write_text("ben's notes\n")


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Course:
    """Assignment 02 graded by `nncourse grade`."""
    course = cr.make_course(tmp_path_factory.mktemp("nncourse"), [A])
    _submit_class(course)
    _grade(course)
    return course


def _rows(course: Course) -> dict[str, list[tuple]]:
    """The gradebook rows a comparison with stock nbgrader looks at, without their ids."""
    from nbgrader.api import Gradebook

    rows: dict[str, list[tuple]] = {"submitted_assignment": [], "submitted_notebook": [],
                                    "grade": [], "comment": []}
    with Gradebook(course.db_url) as gb:
        for sub in gb.assignment_submissions(A):
            stamp = sub.timestamp.isoformat() if sub.timestamp else None
            rows["submitted_assignment"].append((sub.student_id, stamp, sub.extension))
            for nb in sub.notebooks:
                rows["submitted_notebook"].append(
                    (sub.student_id, nb.name, nb.flagged, nb.late_submission_penalty))
                for g in nb.grades:
                    rows["grade"].append((sub.student_id, g.name, g.auto_score, g.manual_score,
                                          g.extra_credit, g.needs_manual_grade))
                for c in nb.comments:
                    rows["comment"].append((sub.student_id, c.name, c.auto_comment,
                                            c.manual_comment))
    return {k: sorted(v, key=repr) for k, v in rows.items()}


def _notebook(course: Course, student: str, name: str = NB, assignment: str = A) -> Any:
    path = course.root / "autograded" / student / assignment / f"{name}.ipynb"
    return nbformat.read(path, as_version=4)


def _run(course: Course, *args: str) -> str:
    done = subprocess.run([NBGRADER, *args], cwd=course.root, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


@pytest.mark.slow
def test_the_autograded_notebook_is_an_nbgrader_submission(course: Course) -> None:
    from nbgrader.api import Gradebook

    source = cr.source(A)
    for student in ("alice", "ben", "carol"):
        nb = _notebook(course, student)
        nbformat.validate(nb)
        assert nb.metadata.kernelspec == source["metadata"]["kernelspec"]
        assert nb.metadata.language_info.name == "python"
        assert nb.metadata.language_info.version == sys.version.split()[0]
        graded = [c for c in nb.cells if "nbgrader" in c.metadata]
        order = [c["metadata"]["nbgrader"]["grade_id"] for c in source["cells"]
                 if "nbgrader" in c["metadata"]]
        assert [c.metadata.nbgrader.grade_id for c in graded] == order
        with Gradebook(course.db_url) as gb:
            for cell in graded:
                meta = cell.metadata.nbgrader
                stored = gb.find_source_cell(meta.grade_id, NB, A)
                assert meta.checksum == stored.checksum, meta.grade_id
                assert cell.cell_type == stored.cell_type
                if meta.get("grade"):
                    assert meta.points == gb.find_graded_cell(meta.grade_id, NB, A).max_score
        counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
        assert counts == list(range(1, len(counts) + 1))  # one run, top to bottom
    files = sorted(p.name for p in (course.root / "autograded" / "ben" / A).iterdir())
    assert files == [f"{NB}.ipynb", grader.RESULTS_FILE, "notes.txt", "timestamp.txt"]


@pytest.mark.slow
def test_the_written_answer_waits_for_a_grader(course: Course) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        for student, waits in (("alice", True), ("ben", True), ("carol", False)):
            grade = gb.find_grade(WRITTEN, NB, A, student)
            assert grade.needs_manual_grade is waits, student
            assert grade.auto_score == (None if waits else 0.0), student
            comment = gb.find_comment(WRITTEN, NB, A, student)
            assert comment.auto_comment == (None if waits else "No response."), student
        assert gb.find_submission(A, "ben").timestamp.year == 2024
        assert gb.find_submission(A, "alice").needs_manual_grade
        assert not gb.find_submission(A, "carol").needs_manual_grade


@pytest.mark.slow
def test_the_gradebook_and_notebook_match_stock_nbgrader_autograde(
        course: Course, tmp_path: Path) -> None:
    stock = cr.make_course(tmp_path / "stock", [A])
    _submit_class(stock)
    for student in ("alice", "ben", "carol"):
        stock.autograde(A, student)
    assert _rows(course) == _rows(stock)
    for student in ("alice", "ben", "carol"):
        ours, theirs = _notebook(course, student), _notebook(stock, student)
        assert ours.metadata == theirs.metadata
        assert [(c.cell_type, c.get("id"), c.source) for c in ours.cells] == [
            (c.cell_type, c.get("id"), c.source) for c in theirs.cells]
        for mine, stock_cell in zip(ours.cells, theirs.cells, strict=True):
            stock_cell.metadata.pop("execution", None)  # nbclient's timings
            assert mine.metadata == stock_cell.metadata, mine.get("id")
            kinds = [o.output_type for o in mine.get("outputs", []) if o.output_type != "stream"]
            assert kinds == [o.output_type for o in stock_cell.get("outputs", [])
                             if o.output_type != "stream"], mine.get("id")


@pytest.mark.slow
def test_feedback_export_and_a_manual_score(course: Course) -> None:
    from nbgrader.api import Gradebook

    _run(course, "generate_feedback", A, "--force")
    html = (course.root / "feedback" / "alice" / A / f"{NB}.html").read_text()
    assert f"{NB} (Score: 90.0 / 100.0)" in html
    assert "Score: 5.0 / 5.0" in html  # a hidden test cell
    assert not (course.root / "feedback" / "alice" / A / grader.RESULTS_FILE).exists()
    carol = (course.root / "feedback" / "carol" / A / f"{NB}.html").read_text()
    assert f"{NB} (Score: 0.0 / 100.0)" in carol

    with Gradebook(course.db_url) as gb:
        grade = gb.find_grade(WRITTEN, NB, A, "alice")
        grade.manual_score = 7.0
        grade.needs_manual_grade = False
        gb.db.commit()
    with Gradebook(course.db_url) as gb:
        submission = gb.find_submission(A, "alice")
        assert submission.score == 97.0 and submission.max_score == 100.0
        assert not submission.needs_manual_grade
    assert course.scores(A, "alice").total == 97.0

    _run(course, "generate_feedback", A, "--force", "--student", "alice")
    html = (course.root / "feedback" / "alice" / A / f"{NB}.html").read_text()
    assert f"{NB} (Score: 97.0 / 100.0)" in html
    _run(course, "export")
    lines = (course.root / "grades.csv").read_text().splitlines()
    header = lines[0].split(",")
    scores = {row[header.index("student_id")]: float(row[header.index("score")])
              for row in (line.split(",") for line in lines[1:])}
    assert scores == {"alice": 97.0, "ben": 90.0, "carol": 0.0}


# --- without kernels ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> Course:
    """Assignment 02, generated, nothing graded."""
    return cr.make_course(tmp_path_factory.mktemp("bare"), [A])


def _planned(course: Course) -> tuple[grader.Template, grader.Plan]:
    path = course.source_dir / A / f"{NB}.ipynb"
    template = grader.load_template(A, path, course.release_dir / A / f"{NB}.ipynb")
    return template, grader.assemble(template, cr.submission(course, A))


def _store(course: Course, result: grader.SubmissionResult) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        autograded.record(gb, result)
    autograded.write(course, result)


def test_a_test_that_never_ran_scores_its_verdict_with_a_reason(bare: Course) -> None:
    from nbgrader.api import Gradebook

    template, plan = _planned(bare)
    passed = {"test_sigmoid"}  # ran and passed; every other test never ran (no output)
    tests = [grader.CellResult(t, p, p if t in passed else 0.0, t in passed,
                               "" if t in passed else "NotRun: the tests did not run")
             for t, p in template.points.items()]
    nb = grader.NotebookResult(NB, "graded", tests=tests, cells=plan.cells)
    _store(bare, grader.SubmissionResult(A, "dora", [nb]))
    with Gradebook(bare.db_url) as gb:
        for test in tests:
            grade = gb.find_grade(test.grade_id, NB, A, "dora")
            assert grade.auto_score == test.score and not grade.needs_manual_grade
        assert gb.find_grade(WRITTEN, NB, A, "dora").needs_manual_grade
    written = _notebook(bare, "dora")
    nbformat.validate(written)
    hidden = cr.cell(json.loads(nbformat.writes(written)), "hidden_sigmoid")
    assert [o["ename"] for o in hidden["outputs"]] == ["NotRun"]
    assert hidden["execution_count"] is None
    assert cr.cell(json.loads(nbformat.writes(written)), "test_sigmoid")["outputs"] == []


def test_a_missing_notebook_scores_zero_and_waits_for_nobody(bare: Course) -> None:
    from nbgrader.api import Gradebook

    template, _ = _planned(bare)
    tests = [grader.CellResult(t, p, 0.0, False, "NotSubmitted: the notebook is missing")
             for t, p in template.points.items()]
    nb = grader.NotebookResult(NB, "missing", tests=tests)
    _store(bare, grader.SubmissionResult(A, "eve", [nb]))
    with Gradebook(bare.db_url) as gb:
        grades = gb.find_submission_notebook(NB, A, "eve").grades
        assert {g.name for g in grades} == set(template.points) | {WRITTEN}
        assert all(g.auto_score == 0 and not g.needs_manual_grade for g in grades)
    assert not (bare.root / "autograded" / "eve" / A / f"{NB}.ipynb").exists()


# --- stock nbgrader on a fresh copy of the course ----------------------------------------------

P = "01_perceptron"


def _fresh_copy(target: Path) -> Path:
    """What a fresh clone gives nbgrader: the config, solutions/ and the committed exercises/
    (no gradebook, nothing generated here)."""
    target.mkdir(parents=True)
    shutil.copy(cr.REPO / "nbgrader_config.py", target)
    for name in ("solutions", "exercises"):
        shutil.copytree(cr.REPO / name, target / name,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    return target


def _nbgrader(root: Path, *args: str) -> str:
    import os

    env = dict(os.environ)  # nbgrader runs `alembic` (the venv's) when it creates a gradebook
    env["PATH"] = os.pathsep.join([str(Path(NBGRADER).parent), env.get("PATH", "")])
    done = subprocess.run([NBGRADER, *args], cwd=root, capture_output=True, text=True,
                          timeout=600, env=env)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    return out


def _source_text(cell: dict[str, Any]) -> str:
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


@pytest.mark.slow
def test_the_documented_nbgrader_sequence_works_on_a_fresh_clone(tmp_path: Path) -> None:
    """generate_assignment, autograde, generate_feedback: no --force, no checksum warning."""
    from nbgrader.api import Gradebook

    root = _fresh_copy(tmp_path / "clone")
    name = cr.notebook_name(P)
    committed = (root / "exercises" / P / f"{name}.ipynb").read_bytes()
    out = _nbgrader(root, "generate_assignment", P)
    assert "Skipping existing assignment" not in out
    assert (root / "exercises" / P / f"{name}.ipynb").read_bytes() == committed  # as committed
    course = Course(root)
    cr.submit(course, "alice", P, cr.submission(course, P))

    out = _nbgrader(root, "autograde", P)
    assert "checksum" not in out.lower() and "has changed" not in out, out
    with Gradebook(course.db_url) as gb:
        submission = gb.find_submission(P, "alice")
        assert submission.max_score > 0 and submission.score == submission.max_score
        max_score = submission.max_score
    _nbgrader(root, "generate_feedback", P)
    html = (root / "feedback" / "alice" / P / f"{name}.html").read_text()
    assert f"{name} (Score: {max_score:.1f} / {max_score:.1f})" in html

    # A locked cell a student did edit is still reported, and graded as the source has it.
    edited = cr.submission(course, P)
    cell = cr.cell(edited, "hidden_predict")
    cell["source"] = _source_text(cell) + "\n# edited by the student"
    cr.submit(course, "mallory", P, edited)
    out = _nbgrader(root, "autograde", P, "--student", "mallory")
    assert "Attribute 'checksum' for cell hidden_predict has changed!" in out
    assert out.count("has changed!") == 1, out
    graded = nbformat.read(root / "autograded" / "mallory" / P / f"{name}.ipynb", as_version=4)
    restored = cr.cell(json.loads(nbformat.writes(graded)), "hidden_predict")
    assert "BEGIN HIDDEN TESTS" in _source_text(restored)
    assert "edited by the student" not in _source_text(restored)


def _overwrite(kind: type, course: Course, nb: Any) -> tuple[Any, list[str]]:
    """Run an OverwriteCells preprocessor on ``nb``; return it and the warnings it logged."""
    import logging

    warnings: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.WARNING:
                warnings.append(record.getMessage())

    pp = kind(config=course.config)
    handler = Collect()
    pp.log.addHandler(handler)
    try:
        res = {"nbgrader": {"notebook": NB, "assignment": A, "db_url": course.db_url}}
        nb, _ = pp.preprocess(nbformat.reads(json.dumps(nb), as_version=4), res)
    finally:
        pp.log.removeHandler(handler)
    return nb, warnings


def test_autograde_restores_hidden_tests_without_warning_about_cells_left_as_released(
        bare: Course) -> None:
    from nbgrader.preprocessors import OverwriteCells as Stock

    from nncourse import nbgrader_ext

    assert nbgrader_ext.OverwriteCells in bare.config.Autograde.sanitize_preprocessors
    release = cr.release(bare, A)
    _, stock = _overwrite(Stock, bare, cr.deepcopy(release))
    assert stock and all("checksum" in w for w in stock)  # jupyter/nbgrader#1961
    nb, ours = _overwrite(nbgrader_ext.OverwriteCells, bare, cr.deepcopy(release))
    assert ours == []
    source = cr.source(A)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id and cell.metadata.nbgrader.get("locked"):
            assert cell.source == _source_text(cr.cell(source, grade_id)), grade_id

    edited = cr.deepcopy(release)
    hidden = cr.cell(edited, "hidden_sigmoid")
    hidden["source"] = _source_text(hidden) + "\nassert True"
    _, ours = _overwrite(nbgrader_ext.OverwriteCells, bare, edited)
    assert len(ours) == 1 and "hidden_sigmoid" in ours[0] and "checksum" in ours[0]


# --- Validate on a notebook without tests ------------------------------------------------------


def test_validate_hook_refuses_only_notebooks_without_tests_and_only_when_validating(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from nncourse import nbgrader_api, nbgrader_ext

    config = nbgrader_api.load_config(cr.REPO)
    assert config.Execute.on_notebook_start is nbgrader_ext.refuse_notebooks_without_tests
    lesson = nbformat.read(cr.REPO / "lessons" / "01_neuron.ipynb", as_version=4)
    exercise = nbformat.read(cr.REPO / "exercises" / P / f"{cr.notebook_name(P)}.ipynb",
                             as_version=4)
    monkeypatch.delenv("NBGRADER_VALIDATING", raising=False)
    nbgrader_ext.refuse_notebooks_without_tests(notebook=lesson)  # autograding: no effect
    monkeypatch.setenv("NBGRADER_VALIDATING", "1")
    nbgrader_ext.refuse_notebooks_without_tests(notebook=exercise)
    with pytest.raises(nbgrader_ext.NotebookHasNoTests, match="has no tests"):
        nbgrader_ext.refuse_notebooks_without_tests(notebook=lesson)


@pytest.mark.slow
def test_validate_button_on_a_lesson_says_it_has_no_tests(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The Validate button's request, handled by nbgrader's server extension code."""
    import logging
    import types

    from nbgrader.server_extensions.validate_assignment.handlers import (
        ValidateAssignmentHandler,
    )

    from nncourse import nbgrader_ext

    monkeypatch.chdir(cr.REPO)  # the server's cwd, where the extension reads nbgrader_config.py
    handler = types.SimpleNamespace(
        root_dir=str(cr.REPO), log=logging.getLogger("validate"),
        load_config=lambda: ValidateAssignmentHandler.load_config(handler))
    answer = ValidateAssignmentHandler.validate_notebook(handler, "lessons/01_neuron.ipynb")
    assert answer["success"] is False  # the dialog: "There was an error ...", then the reason
    assert answer["value"].rstrip().endswith(
        f"NotebookHasNoTests: {nbgrader_ext.NO_TESTS_MESSAGE}"), answer["value"]
    assert "Success" not in answer["value"]
