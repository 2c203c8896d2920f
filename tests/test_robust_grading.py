"""`nncourse grade` on a class where each student breaks grading in one way among correct ones.

One grade run (``nncourse grade``, 2 jobs) over one class on 01_perceptron; then every
student's score is checked against what the submission deserves, and the gradebook, the other
students' files and the course folder are checked to be intact. Feedback and the report are
produced from the same run.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import classroom as cr
import pytest

from nncourse import cli
from nncourse.nbgrader_api import Course

A = "01_perceptron"
GATES = {"test_gates", "hidden_gates"}
PREDICT = {"test_predict", "hidden_predict"}
ALL = set(cr.points(A))

TAMPER_CHECKS = """
import numpy, numpy.testing
from nncourse import checks as _c
import nncourse.checks
_c.check_output = lambda *a, **k: None
_c.assert_close = lambda *a, **k: None
_c.assert_equal = lambda *a, **k: None
_c.call = lambda fn, *a, **k: numpy.array([1.0, 0.0, 1.0, 0.0])
_c.GradingFailure = type("GradingFailure", (Exception,), {})
numpy.allclose = lambda *a, **k: True
numpy.testing.assert_allclose = lambda *a, **k: None
numpy.array_equal = lambda *a, **k: True
checks = type("fake", (), {"__getattr__": lambda self, name: (lambda *a, **k: None)})()
"""

TAMPER_KERNEL = """
import builtins, sys, os
ip = get_ipython()
ip.showtraceback = lambda *a, **k: None
ip._showtraceback = lambda *a, **k: None
ip.CustomTB = lambda *a, **k: None
sys.excepthook = lambda *a, **k: None
os._exit = lambda *a, **k: None
sys.exit = lambda *a, **k: None
builtins.AssertionError = type("AssertionError", (Exception,), {})
_real_print = builtins.print
"""


# Each uses up a resource of the kernel's; the student's grade must not suffer for it (the
# answers are right) and the run must go on.
BAD_RESOURCES = {
    # a folder tree 3,000 deep in the home (shutil.rmtree used to stop the whole run)
    "deep-tree": "\nimport os\nos.chdir(os.path.expanduser('~'))\nfor _ in range(3000):\n"
                 "    os.mkdir('d')\n    os.chdir('d')\nos.chdir(os.path.expanduser('~'))\n",
    # 1 GB written to the home (a tmpfs of rules.DISK_LIMIT: the writes fail, the disk is safe)
    "fills-disk": "\ntry:\n    with open('big', 'wb') as f:\n        for _ in range(20):\n"
                  "            f.write(b'x' * (50 << 20))\nexcept OSError:\n    pass\n",
}


def _attack(course: Course) -> str:
    root = course.root
    return f"""
import os, glob
for _path in [{str(root / 'gradebook.db')!r}, {str(root / 'nbgrader_config.py')!r},
              *glob.glob({str(root / 'submitted' / '*' / '*' / '*.ipynb')!r})]:
    try:
        with open(_path, "w") as _f:
            _f.write("pwned")
    except OSError:
        pass
try:
    open({str(root / 'PWNED')!r}, "w").write("x")
except OSError:
    pass
try:
    os.kill(1, 9)
except OSError:
    pass
"""


def _build_class(course: Course) -> dict[str, float]:
    """Submit the class; return each student's deserved autograded total."""
    want: dict[str, float] = {}
    ref = cr.reference_answers(A)

    def add(student: str, nb: object, loses: set[str]) -> None:
        cr.submit(course, student, A, nb)
        want[student] = cr.expected(A, loses)

    add("correct", cr.submission(course, A), set())
    add("correct-prints-warns", cr.submission(course, A, entry_name="prints_and_warns"), set())
    e = cr.entry(A, "update_in_place")
    add("wrong-update", cr.submission(course, A, entry_name=e.name), set(e.loses))
    add("flood", cr.submission(course, A, {"answer_predict": ref["answer_predict"] +
        "\nimport warnings\nwarnings.warn('careful')\nprint('x' * 3_000_000)\n"
        "import sys\nsys.stderr.write('y\\n' * 200_000)\n"}), set())
    add("loop", cr.submission(course, A, {"answer_gates": "while True:\n    pass\n"}), GATES)
    add("os-exit", cr.submission(course, A, {"answer_gates": "import os\nos._exit(3)\n"}), GATES)
    add("sys-exit", cr.submission(course, A, {"answer_gates": "import sys\nsys.exit('bye')\n"}),
        GATES)
    add("import-error", cr.submission(course, A, {
        "answer_gates": "import not_a_module_at_all\n" + ref["answer_gates"]}), GATES)
    add("invalid-json", '{"cells": [ this is not json', ALL)
    add("nested-json", '{"cells": ' + "[" * 100_000 + "]" * 100_000 + ', "nbformat": 4}', ALL)
    nb = cr.submission(course, A)
    nb["nbformat"] = 3
    add("nbformat-3", nb, ALL)
    add("not-utf8", json.dumps(cr.submission(course, A)).encode().replace(b"Perceptron",
                                                                          b"Perc\xe9ptron"), ALL)
    for student, code in BAD_RESOURCES.items():
        add(student, cr.submission(course, A, {"answer_predict": ref["answer_predict"] + code}),
            set())
    (course.submitted_dir / "missing" / A).mkdir(parents=True)
    (course.submitted_dir / "missing" / A / "notes.txt").write_text("forgot it")
    want["missing"] = 0.0

    strict = cr.entry(A, "predict_strict_threshold")  # loses PREDICT
    nb = cr.submission(course, A, entry_name=strict.name)
    nb["cells"] = [c for c in nb["cells"]
                   if cr.tg.nbgrader(c).get("grade_id") not in PREDICT]
    add("deleted-tests", nb, set(strict.loses))
    lr = cr.entry(A, "update_ignores_learning_rate")
    nb = cr.submission(course, A, entry_name=lr.name)
    for grade_id in lr.loses:
        cr.cell(nb, grade_id)["source"] = ""
    add("emptied-tests", nb, set(lr.loses))
    stops = cr.entry(A, "train_never_stops_early")
    nb = cr.submission(course, A, entry_name=stops.name)
    for grade_id in stops.loses:
        c = cr.cell(nb, grade_id)
        c["cell_type"] = "markdown"
        c.pop("outputs", None)
        c.pop("execution_count", None)
    add("retyped-tests", nb, set(stops.loses))
    nb = cr.submission(course, A, entry_name=strict.name)
    for grade_id in ALL:
        meta = cr.cell(nb, grade_id)["metadata"]["nbgrader"]
        meta["points"] = 1000
    cr.cell(nb, "hidden_predict")["source"] = "print('all good')"
    add("repointed", nb, set(strict.loses))
    typed = cr.entry(A, "gates_typed_in")
    nb = cr.submission(course, A, entry_name=typed.name)
    for c in nb["cells"]:
        c["metadata"].pop("nbgrader", None)
    nb["metadata"].pop("nbgrader", None)
    add("stripped", nb, set(typed.loses))
    nb = cr.submission(course, A)
    wrong_update = cr.deepcopy(cr.cell(nb, "answer_update"))
    wrong_update["source"] = dict(lr.answers)["answer_update"]
    cells = []
    for c in nb["cells"]:
        if cr.tg.nbgrader(c).get("grade_id") == "answer_update":
            cells.append(wrong_update)  # a first attempt, corrected in the copy below
        cells.append(c)
        if cr.tg.nbgrader(c).get("grade_id", "").startswith(("test_", "hidden_")):
            cells.append(cr.deepcopy(c))
    nb["cells"] = cells
    add("duplicated", nb, set())
    for student, code in (("monkeypatch", TAMPER_CHECKS), ("kernel-tamper", TAMPER_KERNEL)):
        answer = dict(strict.answers)["answer_predict"] + code
        add(student, cr.submission(course, A, {"answer_predict": answer}), set(strict.loses))
    add("attacker", cr.submission(course, A, {"answer_predict": ref["answer_predict"] +
                                              _attack(course)}), set())
    return want


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("robust") / "course"
    course = cr.make_course(root, [A])
    want = _build_class(course)
    before = _digest(course.submitted_dir)
    config_before = (root / "nbgrader_config.py").read_bytes()
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        # --cell-timeout: short, so the endless loop costs little, but not so short that a
        # correct test cell passes it on a crowded machine (4 s did: under three pytest
        # workers on two cores, every correct submission lost 35 of its 100 points).
        code = cli.main(["grade", "--course", str(root), "--jobs", "2", "--cell-timeout", "12",
                         "--no-progress"])
    return {"course": course, "want": want, "code": code, "out": out.getvalue(),
            "before": before, "after": _digest(course.submitted_dir),
            "config_same": config_before == (root / "nbgrader_config.py").read_bytes()}


@pytest.mark.slow
def test_every_student_gets_the_score_deserved(graded: dict) -> None:
    course: Course = graded["course"]
    assert graded["code"] == 0, graded["out"]
    wrong = {}
    for student, want in graded["want"].items():
        got = course.scores(A, student).total if student != "never" else None
        if got != want:
            wrong[student] = (want, got)
    assert not wrong, f"(deserved, got): {wrong}\n{graded['out']}"


@pytest.mark.slow
def test_gradebook_and_other_students_files_are_intact(graded: dict) -> None:
    course: Course = graded["course"]
    assert graded["before"] == graded["after"], "a submission's files were changed"
    assert graded["config_same"]
    assert not (course.root / "PWNED").exists()
    with sqlite3.connect(course.root / "gradebook.db") as db:
        assert db.execute("pragma integrity_check").fetchone() == ("ok",)
        students = {row[0] for row in db.execute("select id from student")}
    assert students == set(graded["want"])


@pytest.mark.slow
def test_summary_table_and_attention_list(graded: dict) -> None:
    out = graded["out"]
    assert "kernels run in private namespaces" in out or "NOT isolated" in out
    table = out.split("Submissions needing attention:")[0]
    assert "correct" in table and "100/100" in table
    attention = out.split("Submissions needing attention:")[1]
    for student in ("loop", "os-exit", "invalid-json", "nested-json", "nbformat-3", "not-utf8",
                    "missing", "deleted-tests",
                    "emptied-tests", "retyped-tests", "repointed", "stripped", "duplicated"):
        assert f"{student}/{A}" in attention, student
    assert f"correct/{A}" not in attention
    assert "os-exit/01_perceptron: perceptron: answer_gates: the kernel died" in attention


@pytest.mark.slow
def test_feedback_shows_diagnoses_but_no_hidden_test(graded: dict) -> None:
    course: Course = graded["course"]
    assert cli.main(["feedback", "--course", str(course.root)]) == 0
    hidden = cr.tg.hidden_code_lines(cr.source(A))
    assert hidden
    for student in graded["want"]:
        page = (course.root / "feedback" / student / "index.html").read_text()
        leaked = [line for line in hidden if line in page or line.replace('"', "&quot;") in page]
        assert not leaked, f"{student}: {leaked[:3]}"
        assert "Traceback" not in page
    strict = (course.root / "feedback" / "deleted-tests" / "index.html").read_text()
    assert "0 / 15" in strict and "5 / 5" in strict
    assert "Likely mistake" in strict
    assert "no points" not in (course.root / "feedback" / "correct" / "index.html").read_text()


@pytest.mark.slow
def test_report_csv_and_png(graded: dict, tmp_path: Path) -> None:
    course: Course = graded["course"]
    assert cli.main(["report", "--course", str(course.root), "--output", str(tmp_path)]) == 0
    rows = (tmp_path / "grades.csv").read_text().splitlines()
    assert rows[0] == f"student,{A}"
    by_student = dict(row.split(",") for row in rows[1:])
    assert by_student == {s: f"{w:g}" for s, w in graded["want"].items()}
    png = (tmp_path / "grades.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


@pytest.mark.slow
def test_results_file_round_trips(graded: dict) -> None:
    course: Course = graded["course"]
    path = course.root / "autograded" / "loop" / A / "nncourse.json"
    data = json.loads(path.read_text())
    assert data["student"] == "loop"
    assert {c["grade_id"] for nb in data["notebooks"] for c in nb["tests"]} == ALL
