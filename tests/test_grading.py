"""Tests of the graded exercises, run through nbgrader's own Python API.

Nothing here writes into the repository: every nbgrader step runs in a temporary course folder
that holds a copy of ``nbgrader_config.py`` and ``solutions/``.

The pattern every assignment follows (copy it for the next ones)
----------------------------------------------------------------
``solutions/NN_name/<notebook>.ipynb`` is the source, stored without outputs. It has

* a locked setup cell (``import numpy as np``, ``from nncourse import checks``, ...);
* for each part ``<part>``: markdown instructions with the maths; an autograded answer cell
  ``answer_<part>`` whose solution sits between ``### BEGIN SOLUTION`` / ``### END SOLUTION``;
  a visible test cell ``test_<part>`` (a few points; known inputs, ``reveal=True``, ``hints``
  naming the common mistakes); and a hidden test cell ``hidden_<part>`` (most of the points):
  a comment line students see, then, between ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN
  TESTS``, a function decorated with ``@checks.hidden("NN_name/<part>")`` that draws random
  inputs from its seeded ``rng``, calls the student's code through ``nncourse.checks``
  (``forbid=True`` where the part must be hand-written; ``checks.substitute`` to run with correct
  versions of the other parts, so that each mistake costs the points of its own part only) and
  compares with torch autograd and finite differences in float64;
* optionally a manually graded markdown answer (``answer_<topic>``, solution region inside);
* points adding up to 100.

``exercises/NN_name/`` is generated from it, never edited by hand::

    python -c "from nncourse import nbgrader_api; nbgrader_api.generate()"

``tests/grading/NN_name/wrong/*.py`` and ``tests/grading/NN_name/correct/*.py`` are the
catalogue of submissions: each file is one realistic submission, written as Python::

    \"\"\"One line saying what the student did.

    Loses: test_<part> hidden_<part>      (wrong/ only: the test cells that must score 0)
    Says: <words of the diagnosis>        (wrong/ only: what the student must be told)
    \"\"\"

    # %% answer_<part>
    <the student's whole cell>

Every ``# %% <cell id>`` section replaces that answer cell (a markdown answer is written as
one string literal); the other answer cells hold the reference solution. A wrong submission
must lose exactly the points of the cells listed under ``Loses:`` and keep every other point;
a correct one must get full marks.

``Says:`` declares the diagnosis: the failure message of every lost test cell of the parts
the entry changed (``test_<part>...`` and ``hidden_<part>...`` of its ``answer_<part>``
sections; a test cell belongs to the answer part with the longest matching name, and one whose
name matches no part, such as ``hidden_accuracy``, to every part) must contain
one of the entry's ``Says:`` texts (case-insensitive). ``Says <cell>: ...`` gives the text for
one cell instead, where its visible and hidden tests word it differently. Lost cells of other
parts (a mistake that breaks a later part too) are not held to it. So a hint that fires for
the wrong mistake, or "No common mistake recognised", fails the catalogue.

What is tested
--------------
Fast: the configuration; ``exercises/`` equals a fresh ``generate``; the release holds no
solution line and no hidden-test line; the notebooks' layout and points; the catalogue's form;
the ``checks`` helpers.

Slow (``@pytest.mark.slow``): the whole catalogue is graded by ``nncourse grade``, the
instructor's command, in tests/test_class_grading.py: one course, one class, one run for all
the assignments (the solution, the unchanged release and every entry get exactly their
expected per-cell scores; no failure message shows hidden test code; hidden tests fail with a
``GradingFailure`` diagnosis; grading again gives the same scores). Here, ``test_autograding``
grades a sample through **stock nbgrader**'s autograde, one gradebook per assignment, so that
both paths keep agreeing on the same expectations: per assignment the solution and
`SAMPLE_WRONG` wrong entries with different losses (`SAMPLE_WRONG_TRAINING` for 5-7), with
the same checks of scores and outputs (14 submissions). In the full suite on 2 cores the class
run of test_class_grading.py took 338 s for 149 submissions (this sample, at its earlier size
of 32, took about 4 minutes).
"""

from __future__ import annotations

import ast
import copy
import json
import re
import shutil
import sys
import time
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from nncourse import checks, nbgrader_api
from nncourse.nbgrader_api import Course

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "solutions"
EXERCISES = REPO / "exercises"
CATALOGUE = Path(__file__).resolve().parent / "grading"
ASSIGNMENTS = sorted(p.name for p in SOLUTIONS.glob("*") if p.is_dir())

MIN_WRONG = 8
MIN_CORRECT = 3
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
           "BEGIN MARK SCHEME", "END MARK SCHEME")
STUBS = {"# YOUR CODE HERE", "raise NotImplementedError()", "YOUR ANSWER HERE"}

assignment_param = pytest.mark.parametrize("assignment", ASSIGNMENTS)


# ---------------------------------------------------------------------------------------------
# Notebooks
# ---------------------------------------------------------------------------------------------


def read_notebook(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def source_of(cell: Mapping) -> str:
    source = cell["source"]
    return source if isinstance(source, str) else "".join(source)


def nbgrader(cell: Mapping) -> dict:
    return dict(cell.get("metadata", {}).get("nbgrader", {}))


def notebook_paths(assignment: str) -> list[Path]:
    return sorted((SOLUTIONS / assignment).glob("*.ipynb"))


def graded_cells(nb: Mapping) -> dict[str, dict]:
    """Cell id -> {"kind": "answer"|"test"|"manual", "points": ..., "source": ...}."""
    cells = {}
    for cell in nb["cells"]:
        meta = nbgrader(cell)
        if not meta.get("grade_id") or not (meta.get("solution") or meta.get("grade")):
            continue
        if meta.get("solution") and meta.get("grade"):
            kind = "manual"
        elif meta.get("solution"):
            kind = "answer"
        else:
            kind = "test"
        cells[meta["grade_id"]] = {
            "kind": kind,
            "points": float(meta.get("points", 0)),
            "source": source_of(cell),
            "cell_type": cell["cell_type"],
        }
    return cells


def autograded_points(nb: Mapping) -> dict[str, float]:
    """Autograded test cells and their points."""
    return {k: v["points"] for k, v in graded_cells(nb).items() if v["kind"] == "test"}


def strip_solution_markers(source: str) -> str:
    """An answer as a student would write it: the solution with its marker lines removed."""
    lines = [line for line in source.split("\n")
             if "BEGIN SOLUTION" not in line and "END SOLUTION" not in line]
    return "\n".join(lines)


def secret_lines(nb: Mapping) -> tuple[set[str], set[str]]:
    """(lines inside solution / hidden-test regions, lines outside them), stripped."""
    secret, public = set(), set()
    for cell in nb["cells"]:
        inside = False
        for line in source_of(cell).split("\n"):
            text = line.strip()
            if any(m in text for m in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "BEGIN MARK")):
                inside = True
            elif any(m in text for m in ("END SOLUTION", "END HIDDEN TESTS", "END MARK")):
                inside = False
            elif text:
                (secret if inside else public).add(text)
    return secret - public, public


def hidden_code_lines(nb: Mapping) -> set[str]:
    """Distinctive lines of the hidden tests (ones that appear nowhere else)."""
    secret, _ = secret_lines(nb)
    hidden = set()
    for cell in nb["cells"]:
        source = source_of(cell)
        if "BEGIN HIDDEN TESTS" in source:
            region = source.split("BEGIN HIDDEN TESTS", 1)[1].split("END HIDDEN TESTS", 1)[0]
            hidden |= {line.strip() for line in region.split("\n")[1:]}
    return {line for line in hidden & secret if len(line) >= 16}


# ---------------------------------------------------------------------------------------------
# The catalogue of submissions
# ---------------------------------------------------------------------------------------------

_SECTION = re.compile(r"^# %% (\S+)[ \t]*$", re.MULTILINE)


@dataclass(frozen=True)
class Entry:
    """One catalogued submission: answer cells to replace and the test cells it must lose."""

    assignment: str
    kind: str  # "wrong" or "correct"
    name: str
    description: str
    loses: frozenset[str]
    answers: tuple[tuple[str, str], ...]
    says: tuple[str, ...] = ()  # the diagnosis, for any lost cell of the changed parts
    says_for: tuple[tuple[str, str], ...] = ()  # (test cell, diagnosis) overriding ``says``

    @property
    def student(self) -> str:
        return f"{self.kind}-{self.name}".replace("_", "-")


_SAYS = re.compile(r"^says(?:\s+(\w+))?\s*:\s*(.+)$", re.IGNORECASE)


def part_of(test_cell: str, parts: Iterable[str]) -> str | None:
    """The answer part a test cell belongs to: ``hidden_train_metrics`` -> ``train``.

    The longest part whose name the cell's name (after ``test_``/``hidden_``) equals or
    starts with, followed by ``_``; None if no part matches.
    """
    name = test_cell.split("_", 1)[1] if "_" in test_cell else test_cell
    matches = [p for p in parts if name == p or name.startswith(p + "_")]
    return max(matches, key=len) if matches else None


def declared_diagnoses(entry: Entry, test_cells: Iterable[str], parts: Iterable[str]
                       ) -> dict[str, tuple[str, ...]]:
    """Lost test cell of a changed part -> the texts one of which its message must contain."""
    parts = list(parts)
    changed = {cell.removeprefix("answer_") for cell, _ in entry.answers}
    own = {c for c in test_cells
           if c in entry.loses and part_of(c, parts) in changed | {None}}
    for_cell = dict(entry.says_for)
    return {c: ((for_cell[c],) if c in for_cell else entry.says) for c in sorted(own)}


def diagnosis_problems(label: str, declared: Mapping[str, tuple[str, ...]],
                       messages: Mapping[str, str]) -> list[str]:
    """Lost cells whose failure message does not give the declared diagnosis."""
    problems = []
    for cell, texts in declared.items():
        message = messages.get(cell, "")
        if not any(t.lower() in message.lower() for t in texts):
            shown = message.strip().replace("\n", "\n      ") or "(no message)"
            problems.append(f"{label}: {cell} must say {' or '.join(map(repr, texts))}; "
                            f"it says:\n      {shown}")
    return problems


def parse_entry(path: Path, assignment: str, kind: str) -> Entry:
    text = path.read_text(encoding="utf-8")
    parts = _SECTION.split(text)
    doc = ast.get_docstring(ast.parse(parts[0])) or ""
    loses: set[str] = set()
    says: list[str] = []
    says_for: list[tuple[str, str]] = []
    for line in doc.splitlines():
        if line.strip().lower().startswith("loses:"):
            loses |= set(line.split(":", 1)[1].replace(",", " ").split())
        elif said := _SAYS.match(line.strip()):
            cell, text = said.groups()
            if cell:
                says_for.append((cell, text.strip()))
            else:
                says.append(text.strip())
    answers = tuple(
        (parts[i], parts[i + 1].strip("\n") + "\n") for i in range(1, len(parts), 2)
    )
    description = doc.strip().splitlines()[0] if doc.strip() else ""
    return Entry(assignment, kind, path.stem, description, frozenset(loses), answers,
                 tuple(says), tuple(says_for))


def answer_parts(cells: Mapping[str, Mapping]) -> list[str]:
    """The parts of a notebook: ``answer_<part>`` cell ids without the prefix."""
    return [k.removeprefix("answer_") for k, c in cells.items()
            if c["kind"] in ("answer", "manual")]


def load_catalogue(assignment: str) -> list[Entry]:
    entries = []
    for kind in ("wrong", "correct"):
        for path in sorted((CATALOGUE / assignment / kind).glob("*.py")):
            entries.append(parse_entry(path, assignment, kind))
    return entries


def build_submission(
    release: Mapping, answers: Mapping[str, str], catalogued: frozenset[str] = frozenset()
) -> dict:
    """The release notebook with its answer cells filled in from ``answers``.

    A markdown answer taken from the catalogue (cell id in ``catalogued``) is a Python string
    literal there, so that the catalogue files stay valid Python.
    """
    nb = copy.deepcopy(dict(release))
    for cell in nb["cells"]:
        grade_id = nbgrader(cell).get("grade_id")
        if nbgrader(cell).get("solution") and grade_id in answers:
            text = answers[grade_id]
            if cell["cell_type"] == "markdown" and grade_id in catalogued:
                text = ast.literal_eval(text.strip())
            cell["source"] = text
    return nb


# ---------------------------------------------------------------------------------------------
# Fast tests: configuration, release, layout, catalogue
# ---------------------------------------------------------------------------------------------


def test_config_layout_and_gradebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NNCOURSE_DB_URL", raising=False)
    config = nbgrader_api.load_config(REPO)
    assert config.CourseDirectory.source_directory == "solutions"
    assert config.CourseDirectory.release_directory == "exercises"
    assert config.CourseDirectory.db_url == f"sqlite:///{REPO / 'gradebook.db'}"
    assert 0 < config.Execute.timeout <= 120, "cells need a per-cell execution timeout"

    # The gradebook follows the course folder, and the URL can be set from outside.
    shutil.copy(REPO / nbgrader_api.CONFIG_FILE, tmp_path)
    assert nbgrader_api.load_config(tmp_path).CourseDirectory.db_url == (
        f"sqlite:///{tmp_path.resolve() / 'gradebook.db'}"
    )
    monkeypatch.setenv("NNCOURSE_DB_URL", "postgresql://grader@db.example/nncourse")
    assert nbgrader_api.load_config(tmp_path).CourseDirectory.db_url == (
        "postgresql://grader@db.example/nncourse"
    )
    assert nbgrader_api.load_config(tmp_path, db_url="sqlite:///x.db").CourseDirectory.db_url == (
        "sqlite:///x.db"
    )


def _copy_course(target: Path, assignments: list[str]) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / nbgrader_api.CONFIG_FILE, target)
    for assignment in assignments:
        shutil.copytree(SOLUTIONS / assignment, target / "solutions" / assignment)
    return target


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".ipynb_checkpoints" not in p.parts
    }


def test_exercises_are_exactly_the_generated_release(tmp_path: Path) -> None:
    course_dir = _copy_course(tmp_path / "course", ASSIGNMENTS)
    generated = nbgrader_api.generate(course_dir=course_dir)
    assert generated == ASSIGNMENTS
    fresh = _files(course_dir / "exercises")
    committed = _files(EXERCISES) if EXERCISES.is_dir() else {}
    refresh = (
        '\nRegenerate it with: python -c "from nncourse import nbgrader_api; '
        'nbgrader_api.generate()"'
    )
    assert sorted(committed) == sorted(fresh), "exercises/ holds other files" + refresh
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"exercises/ differs from the generated release in {stale}" + refresh


@assignment_param
def test_release_hides_solutions_and_hidden_tests(assignment: str) -> None:
    for source_path in notebook_paths(assignment):
        release_path = EXERCISES / assignment / source_path.name
        assert release_path.is_file(), f"{release_path} is missing: regenerate exercises/"
        secret, _ = secret_lines(read_notebook(source_path))
        assert secret, "the source notebook should have solution and hidden-test lines"
        for cell in read_notebook(release_path)["cells"]:
            source = source_of(cell)
            for marker in MARKERS:
                assert marker not in source, f"{release_path.name}: marker {marker!r} left in"
            leaked = {line.strip() for line in source.split("\n")} & secret
            leaked -= STUBS
            assert not leaked, f"{release_path.name} shows solution/hidden lines: {leaked}"


@assignment_param
def test_notebooks_are_stored_clean(assignment: str) -> None:
    for source_path in notebook_paths(assignment):
        for path in (source_path, EXERCISES / assignment / source_path.name):
            nb = read_notebook(path)
            assert nb["metadata"]["kernelspec"]["name"] == "python3", path
            ids = [cell.get("id") for cell in nb["cells"]]
            assert len(set(ids)) == len(ids), f"{path}: cell ids are not unique"
            for cell in nb["cells"]:
                if cell["cell_type"] == "code":
                    assert cell["outputs"] == [], f"{path}: a cell has outputs"
                    assert cell["execution_count"] is None, f"{path}: a cell has a count"


@assignment_param
def test_layout_and_points(assignment: str) -> None:
    for path in notebook_paths(assignment):
        nb = read_notebook(path)
        cells = graded_cells(nb)
        total = sum(c["points"] for c in cells.values())
        assert total == 100, f"{path.name}: points add up to {total}, not 100"
        tests = {k: c for k, c in cells.items() if c["kind"] == "test"}
        hidden = {k: c for k, c in tests.items() if k.startswith("hidden_")}
        visible = {k: c for k, c in tests.items() if k.startswith("test_")}
        assert set(tests) == set(hidden) | set(visible), "test cells are test_* or hidden_*"
        assert sum(c["points"] for c in hidden.values()) > sum(
            c["points"] for c in visible.values()
        ), "hidden tests should be worth most of the points"
        for name, cell in hidden.items():
            source = cell["source"]
            assert source.count("### BEGIN HIDDEN TESTS") == 1, name
            before = source.split("### BEGIN HIDDEN TESTS")[0].strip()
            assert before.startswith("#"), f"{name}: start with a comment students can read"
            assert f'@checks.hidden("{assignment}/' in source, f"{name}: use @checks.hidden"
        for name, cell in visible.items():
            assert "HIDDEN TESTS" not in cell["source"], f"{name}: keep hidden tests apart"
        for name, cell in cells.items():
            if cell["kind"] in ("answer", "manual"):
                assert name.startswith("answer_"), f"{name}: answer cells are answer_*"
                assert "BEGIN SOLUTION" in cell["source"], f"{name}: no solution region"


@assignment_param
def test_catalogue_is_well_formed(assignment: str) -> None:
    entries = load_catalogue(assignment)
    wrong = [e for e in entries if e.kind == "wrong"]
    correct = [e for e in entries if e.kind == "correct"]
    assert len(wrong) >= MIN_WRONG, f"{assignment}: catalogue {len(wrong)} wrong submissions"
    assert len(correct) >= MIN_CORRECT, f"{assignment}: only {len(correct)} correct ones"
    cells: dict[str, dict] = {}
    for path in notebook_paths(assignment):
        cells |= graded_cells(read_notebook(path))
    answer_ids = {k for k, c in cells.items() if c["kind"] in ("answer", "manual")}
    test_ids = {k for k, c in cells.items() if c["kind"] == "test"}
    for entry in entries:
        assert entry.description, f"{entry.name}: start with a docstring saying what it does"
        assert entry.answers, f"{entry.name}: no '# %% answer_...' section"
        unknown = {cell for cell, _ in entry.answers} - answer_ids
        assert not unknown, f"{entry.name}: no answer cell {unknown}"
        assert entry.loses <= test_ids, f"{entry.name}: no test cell {entry.loses - test_ids}"
        if entry.kind == "wrong":
            assert entry.loses, f"{entry.name}: a wrong submission must list what it loses"
            assert entry.says or entry.says_for, (
                f"{entry.name}: a wrong submission must declare its diagnosis (Says: ...)")
            declared = declared_diagnoses(entry, test_ids, answer_parts(cells))
            assert declared, f"{entry.name}: it loses no test cell of the parts it changes"
            assert all(declared.values()), (
                f"{entry.name}: no Says: text for {[c for c, t in declared.items() if not t]}")
            stray = {c for c, _ in entry.says_for} - set(declared)
            assert not stray, f"{entry.name}: Says for cells it does not lose: {stray}"
        else:
            assert not entry.loses, f"{entry.name}: a correct submission loses nothing"
            assert not (entry.says or entry.says_for), f"{entry.name}: correct, yet Says:"
        for cell, code in entry.answers:
            if cells[cell]["cell_type"] == "code":
                compile(code, f"{entry.name}:{cell}", "exec")
            else:
                assert isinstance(ast.literal_eval(code.strip()), str), (
                    f"{entry.name}: write the markdown answer {cell} as one string literal"
                )


# ---------------------------------------------------------------------------------------------
# Slow: the expected scores of every submission, and a sample graded by stock nbgrader
# ---------------------------------------------------------------------------------------------

#: Wrong catalogue entries per assignment that stock nbgrader grades in `test_autograding`
#: (fewer for the assignments that import torch and train: 6-10 s per submission).
SAMPLE_WRONG = 1
SAMPLE_WRONG_TRAINING = 1
TRAINING = frozenset({"05_optimizers", "06_torch_training_loop", "07_mnist"})


@dataclass
class Submission:
    student: str
    label: str
    content: object  # a path or a notebook dict
    expected: dict[str, float]  # autograded test cell -> score
    manual: str  # "pending" (an answer given) or "zero" (left as released)
    says: dict[str, tuple[str, ...]] = field(default_factory=dict)  # see declared_diagnoses


def _submissions(assignment: str, notebook: str, source: dict, release: dict) -> list[Submission]:
    """The solution, the unchanged release and every catalogue entry, with expected scores."""
    points = autograded_points(source)
    full = dict(points)
    cells = graded_cells(source)
    reference = {k: strip_solution_markers(c["source"]) for k, c in cells.items()
                 if c["kind"] in ("answer", "manual")}
    subs = [
        Submission("solution", "the solution notebook",
                   SOLUTIONS / assignment / f"{notebook}.ipynb", full, "pending"),
        Submission("release", "the unchanged release", release, dict.fromkeys(points, 0.0),
                   "zero"),
    ]
    for entry in load_catalogue(assignment):
        answers = reference | dict(entry.answers)
        expected = {k: (0.0 if k in entry.loses else v) for k, v in points.items()}
        catalogued = frozenset(cell for cell, _ in entry.answers)
        says = declared_diagnoses(entry, points, answer_parts(cells))
        subs.append(Submission(entry.student, f"{entry.kind}/{entry.name}.py",
                               build_submission(release, answers, catalogued), expected,
                               "pending", says))
    return subs


def sample(subs: list[Submission], wrong: int) -> list[Submission]:
    """The solution and ``wrong`` wrong entries with pairwise different losses (the release,
    which scores 0, is graded with the whole catalogue in test_class_grading.py).

    Entries are taken in name order, first those whose losses share no cell with the ones
    already taken (so that different parts are covered), then any with other losses.
    """
    chosen = [s for s in subs if s.student == "solution"]
    candidates = [s for s in subs if s.student.startswith("wrong-")]

    def loses(s: Submission) -> frozenset[str]:
        return frozenset(k for k, v in s.expected.items() if v == 0)

    picked: list[Submission] = []
    for disjoint in (True, False):
        for s in candidates:
            if len(picked) == wrong or s in picked:
                continue
            taken = [loses(p) for p in picked]
            if loses(s) in taken or (disjoint and any(loses(s) & t for t in taken)):
                continue
            picked.append(s)
    return chosen + picked


def _outputs(course: Course, assignment: str, student: str, notebook: str) -> dict[str, list]:
    path = course.root / "autograded" / student / assignment / f"{notebook}.ipynb"
    nb = read_notebook(path)
    return {nbgrader(c).get("grade_id", ""): c.get("outputs", []) for c in nb["cells"]}


def _error_text(outputs: list) -> str:
    texts = []
    for out in outputs:
        if out.get("output_type") == "error":
            texts.append(f"{out.get('ename')}: {out.get('evalue')}")
        elif out.get("output_type") == "stream" and out.get("name") == "stderr":
            texts.append("stderr: " + source_of({"source": out.get("text", "")}))
    return "\n".join(texts)


def score_problems(sub: Submission, autograded: Mapping[str, float],
                   manual: Mapping[str, float | None], why: Mapping[str, str]) -> list[str]:
    """How the per-cell scores found differ from those ``sub`` deserves (empty: they match).

    ``why`` gives, per test cell, the failure text to show with a mismatch.
    """
    problems = []
    wrong_cells = [k for k in sub.expected if autograded.get(k) != sub.expected[k]]
    wrong_cells += sorted(set(autograded) - set(sub.expected))
    if wrong_cells:
        details = "\n".join(
            f"    {k}: expected {sub.expected.get(k)}, got {autograded.get(k)}"
            + ("\n      " + why[k].replace("\n", "\n      ") if why.get(k) else "")
            for k in wrong_cells
        )
        problems.append(f"{sub.label} (student {sub.student}):\n{details}")
    for cell, score in manual.items():
        want = None if sub.manual == "pending" else 0.0
        if score != want:
            problems.append(f"{sub.label}: manual cell {cell} scored {score}, expected {want}")
    return problems


_SUMMARY_LINE = re.compile(r"^\s*(expected|found):|values differ|relative error")
_VALUE_PATTERNS = (
    re.compile(r"\b[A-Za-z_]\w*=\(?-?\d[\d.e+-]*"),  # lr=0.265, betas=(0.77, ...
    re.compile(r"\(-?\d+\.\d+, -?\d+\.\d+\)"),  # a point such as (4.99, -2.7)
)


def revealed_values(message: str, release_text: str) -> list[str]:
    """Values of a hidden test's inputs that a failure message spells out.

    A hidden test may say what kind of input failed (shapes, ranges), never its numbers: a
    ``name=value`` or a point ``(x, y)`` in the message is a leak unless the release the
    students have shows the same text (public settings such as ``lr=1.0``). The lines that
    describe the expected and found values (shapes, ranges) are not searched.
    """
    text = "\n".join(line for line in message.splitlines() if not _SUMMARY_LINE.search(line))
    found = [m.group(0).rstrip(".,;:") for pattern in _VALUE_PATTERNS
             for m in pattern.finditer(text)]
    return [value for value in found if value not in release_text]


def output_problems(label: str, outputs: Mapping[str, list], hidden_lines: set[str]
                    ) -> list[str]:
    """Outputs that show a line of hidden test code, or hidden tests failing with a raw error."""
    problems = []
    for cell, outs in outputs.items():
        for out in outs:
            text = json.dumps(out)
            leaks = [line for line in hidden_lines if json.dumps(line)[1:-1] in text]
            if leaks:
                problems.append(f"{label}: output of {cell} shows hidden code {leaks[:2]}")
            if cell.startswith("hidden_") and out.get("output_type") == "error":
                if out.get("ename") != "GradingFailure":
                    problems.append(f"{label}: {cell} failed with a raw "
                                    f"{out.get('ename')} instead of a GradingFailure: "
                                    f"{str(out.get('evalue'))[:300]}")
    return problems


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::Warning")  # SQLAlchemy chatter from inside nbgrader
@assignment_param
def test_autograding(assignment: str, tmp_path: Path) -> None:
    """Stock nbgrader gives a sample of submissions exactly the scores the catalogue declares.

    The whole catalogue goes through ``nncourse grade`` in test_class_grading.py; this keeps
    the instructor's tool and stock nbgrader agreeing on the same expectations.
    """
    (notebook_path,) = notebook_paths(assignment)
    notebook = notebook_path.stem
    course = Course(_copy_course(tmp_path, [assignment]))
    course.generate([assignment])
    source = read_notebook(notebook_path)
    release = read_notebook(course.release_dir / assignment / f"{notebook}.ipynb")
    hidden_lines = hidden_code_lines(source)
    wrong = SAMPLE_WRONG_TRAINING if assignment in TRAINING else SAMPLE_WRONG
    subs = sample(_submissions(assignment, notebook, source, release), wrong)
    assert len(subs) == 1 + wrong, [s.label for s in subs]

    problems: list[str] = []
    seconds: list[float] = []
    for sub in subs:
        course.submit(assignment, sub.student, {notebook: sub.content})
        start = time.perf_counter()
        scores = course.autograde(assignment, sub.student)
        seconds.append(time.perf_counter() - start)
        outputs = _outputs(course, assignment, sub.student, notebook)
        why = {k: _error_text(outs) for k, outs in outputs.items()}
        problems += score_problems(sub, scores.autograded, scores.manual, why)
        problems += diagnosis_problems(sub.label, sub.says, why)
        problems += output_problems(sub.label, outputs, hidden_lines)

    print(f"\n{assignment}: autograded {', '.join(s.label for s in subs)}: "
          f"{np.mean(seconds):.2f} s each on average (max {max(seconds):.2f} s)")
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------------------------
# The checks helpers themselves
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n_hidden, lr, epochs", [(4, 1.0, 60), (16, 0.3, 40), (3, 40.0, 30)])
def test_reference_training_takes_nnlibs_steps(n_hidden: int, lr: float, epochs: int) -> None:
    """checks_backprop.train_reference, written out in NumPy, is nnlib's modules and SGD."""
    from nncourse import checks_backprop
    from nnlib.data import make_moons
    from nnlib.nn import CrossEntropyLoss, Linear, Sequential, Tanh
    from nnlib.optim import SGD

    X, y = make_moons(n_samples=50, noise=0.2, seed=n_hidden)
    rng = np.random.default_rng(epochs)
    start = {"W1": rng.normal(size=(n_hidden, 2)), "b1": rng.normal(size=n_hidden),
             "W2": rng.normal(size=(2, n_hidden)), "b2": rng.normal(size=2)}
    first, second = (Linear(2, n_hidden, dtype=np.float64), Linear(n_hidden, 2, dtype=np.float64))
    for layer, w, b in ((first, "W1", "b1"), (second, "W2", "b2")):
        layer.weight.data, layer.bias.data = start[w].copy(), start[b].copy()
    model, loss_fn = Sequential(first, Tanh(), second), CrossEntropyLoss()
    optimizer = SGD(model.parameters(), lr=lr)
    expected = []
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = loss_fn(model(X), y)
        model.backward(loss_fn.backward())
        optimizer.step()
        expected.append(float(loss))

    final, losses = checks_backprop.train_reference(X, y, start, lr, epochs)
    np.testing.assert_allclose(losses, expected, rtol=1e-10)
    for layer, w, b in ((first, "W1", "b1"), (second, "W2", "b2")):
        np.testing.assert_allclose(final[w], layer.weight.data, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(final[b], layer.bias.data, rtol=1e-9, atol=1e-12)
    assert not np.shares_memory(final["W1"], start["W1"]), "the start was changed in place"


def test_diagnose_names_common_mistakes() -> None:
    e = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 7.0]])
    assert "sign" in checks.diagnose(-e, e)[0]
    assert "twice too large" in checks.diagnose(2 * e, e)[0]
    assert "sum instead of" in checks.diagnose(6 * e, e, batch=6)[0]
    assert "transposed" in checks.diagnose(e.T, e)[0]
    square = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert "transposed" in checks.diagnose(square.T, square)[0]
    assert checks.diagnose(e * e, e, hints=[("squared twice", e * e)]) == ["squared twice"]
    assert "same amount" in checks.diagnose(e + 0.5, e)[0]
    z = np.array([-2.0, -1.0, 0.0, 1.0])
    assert "exactly 0" in checks.diagnose(np.array([0.0, 0.0, 1.0, 1.0]),
                                           np.array([0.0, 0.0, 0.0, 1.0]), inputs=z)[0]


def test_diagnoses_fire_only_when_they_explain_the_numbers() -> None:
    e = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 7.0]])
    # Any two numbers are some factor apart: only the factors a mistake explains are named.
    assert checks.diagnose(np.float64(3.7), np.float64(1.3)) == []
    assert "twice too large" in checks.diagnose(np.float64(2.6), np.float64(1.3))[0]
    assert "same factor, about 1.5" in checks.diagnose(1.5 * e, e)[0]
    assert checks.diagnose(e * np.array([1.5, 1.0, 1.0]), e) == []
    # NaN: the cause comes from the warnings the call gave, not a guess.
    nan = np.where(e > 4, np.nan, e)
    assert "np.exp overflowed" in checks.diagnose(
        nan, e, warned=["overflow encountered in exp"])[0]
    divided = checks.diagnose(nan, e, warned=["divide by zero encountered in divide"])[0]
    assert "division by zero" in divided and "np.exp" not in divided
    assert "0 / 0" in checks.diagnose(nan, e, warned=["invalid value encountered in divide"])[0]
    logged = checks.diagnose(nan, e, warned=["divide by zero encountered in log"])[0]
    assert "np.log got 0" in logged
    assert "division by zero, or an overflow" in checks.diagnose(nan, e)[0]
    # float32 is named when it explains the difference: rounding, not another formula.
    rounded = checks.diagnose((e / 3).astype(np.float32), e / 3)
    assert rounded and "float32" in rounded[0]
    assert checks.diagnose((e / 2).astype(np.float32) + 0.1 * np.eye(2, 3), e / 2) == []
    # A hint with NaN in it matches a result with NaN in the same places.
    hint = ("global maximum", np.array([0.5, np.nan]))
    assert checks.diagnose(np.array([0.5, np.nan]), np.array([0.5, 0.5]),
                           hints=[hint]) == ["global maximum"]
    assert checks.diagnose(np.array([0.4, np.nan]), np.array([0.5, 0.5]), hints=[hint]) != [
        "global maximum"]


def test_check_output_names_the_warning_behind_a_nan() -> None:
    def unstable(z):
        return np.exp(z) / np.sum(np.exp(z))

    with pytest.raises(checks.GradingFailure, match="np.exp overflowed"):
        checks.check_output(unstable, (np.array([1000.0, 0.0]),), [1.0, 0.0], what="softmax")

    def divides(t):
        return np.array([1.0, 2.0]) / (1.0 - 0.9 ** t)

    with pytest.raises(checks.GradingFailure, match="division by zero") as info:
        checks.check_output(divides, (0,), [10.0, 20.0], what="the step")
    assert "np.exp" not in str(info.value)


def test_revealed_values_finds_hidden_numbers_only() -> None:
    message = ("Adam(params, lr=0.265, betas=(0.77, 0.916)) from (4.99, -2.7) is not right.\n"
               "  expected: an array of shape (4,) (float64), values from -0.4 to 0.38\n"
               "Likely mistake: store what train_perceptron returns with lr=1.0.")
    assert revealed_values(message, "train_perceptron(X, y, lr=1.0)") == [
        "lr=0.265", "betas=(0.77", "(0.77, 0.916)", "(4.99, -2.7)"]


def test_assert_equal_shows_the_expected_value_only_when_revealed() -> None:
    with pytest.raises(checks.GradingFailure) as info:
        checks.assert_equal(7, 19, what="epochs")
    assert "19" not in str(info.value) and "found: an integer" in str(info.value)
    with pytest.raises(checks.GradingFailure, match="expected: 19"):
        checks.assert_equal(7, 19, what="epochs", reveal=True)


def test_assert_close_messages_hide_data_unless_revealed() -> None:
    secret = np.array([0.123456789, 0.987654321])
    with pytest.raises(checks.GradingFailure) as info:
        checks.assert_close(-secret, secret, what="f(z)")
    message = str(info.value)
    assert "0.123456" not in message and "expected" in message and "found" in message
    assert "Likely mistake: the sign is flipped" in message
    with pytest.raises(checks.GradingFailure) as info:
        checks.assert_close(-secret, secret, what="f(z)", reveal=True)
    assert "0.123457" in str(info.value)
    with pytest.raises(checks.GradingFailure, match="wrong shape"):
        checks.assert_close(np.zeros((3, 2)), np.zeros((2, 3)), what="f")
    checks.assert_close(secret * (1 + 1e-9), secret, what="f")  # within rtol = 1e-7


def test_grading_failure_renders_without_traceback() -> None:
    failure = checks.GradingFailure("first line\nsecond line")
    assert failure._render_traceback_() == ["GradingFailure: first line", "second line"]


def test_call_catches_delegation_and_restores_everything() -> None:
    torch = pytest.importorskip("torch")
    original = torch.sigmoid

    def delegating(z):
        return torch.sigmoid(torch.as_tensor(z)).numpy()

    def swallowing(z):
        try:
            return torch.special.expit(torch.tensor(z)).numpy()
        except Exception:
            return 1 / (1 + np.exp(-z))

    def importing(z):
        import torch as t

        return t.tanh(z)

    for fn in (delegating, swallowing, importing):
        with pytest.raises(checks.GradingFailure, match="gets no points"):
            checks.call(fn, np.zeros(3), forbid=True)
    assert torch.sigmoid is original
    assert isinstance(torch.zeros(1), torch.Tensor)

    def by_hand(z):
        return 1 / (1 + np.exp(-z))

    np.testing.assert_allclose(checks.call(by_hand, np.zeros(3), forbid=True), 0.5)
    with pytest.raises(checks.GradingFailure, match="numpy.tanh"):
        checks.call(lambda z: np.tanh(z), np.zeros(3), also_forbid=("numpy.tanh",))
    assert np.tanh(0.0) == 0.0


def test_call_is_quiet_copies_arguments_and_stops_endless_loops() -> None:
    def noisy(z):
        print("hello")
        print("debug", file=sys.stderr)
        warnings.warn("careful", stacklevel=1)
        z -= 1.0
        return np.exp(np.array([1000.0]))

    z = np.zeros(2)
    outcome = checks.run(noisy, z)
    assert outcome.captured.stdout == "hello\n" and "debug" in outcome.captured.stderr
    assert outcome.captured.runtime_warnings == ["overflow encountered in exp"]
    assert np.all(z == 0.0), "call must pass copies"

    def endless(z):
        while True:
            z = z + 1

    with pytest.raises(checks.GradingFailure, match="did not finish"):
        checks.call(endless, 0, time_limit=0.2)
    with pytest.raises(checks.GradingFailure, match="not written yet"):
        checks.call(lambda: (_ for _ in ()).throw(NotImplementedError()))


def test_compare_derivative_against_autograd_and_finite_differences() -> None:
    torch = pytest.importorskip("torch")
    z = checks.rng("test").normal(size=(3, 4))

    def sigmoid(v):
        return 1 / (1 + np.exp(-v))

    checks.compare_derivative(lambda v: sigmoid(v) * (1 - sigmoid(v)), torch.sigmoid, z)
    twice = sigmoid(z) ** 2 * (1 - sigmoid(z))
    hint = ("off by a factor of sigmoid(z)", twice)
    with pytest.raises(checks.GradingFailure, match="off by a factor of sigmoid"):
        checks.compare_derivative(lambda v: sigmoid(v) ** 2 * (1 - sigmoid(v)), torch.sigmoid, z,
                                  hints=[hint])
    logits = checks.rng("ce").normal(size=(5, 3))
    labels = np.array([0, 2, 1, 1, 0])

    def ce_grad(v, y):
        s = np.exp(v - v.max(axis=1, keepdims=True))
        s /= s.sum(axis=1, keepdims=True)
        s[np.arange(len(y)), y] -= 1
        return s / len(y)

    checks.compare_gradient(ce_grad, torch.nn.functional.cross_entropy, (logits, labels))
    with pytest.raises(checks.GradingFailure, match="sum instead of"):
        checks.compare_gradient(lambda v, y: ce_grad(v, y) * len(y),
                                torch.nn.functional.cross_entropy, (logits, labels), batch=5)


def test_rng_is_deterministic_per_label() -> None:
    a = checks.rng("01_perceptron/predict").normal(size=4)
    b = checks.rng("01_perceptron/predict").normal(size=4)
    c = checks.rng("01_perceptron/update").normal(size=4)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
