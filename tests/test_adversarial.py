"""`nncourse grade` on a class of blank notebooks that each try to fool the grader.

Every student here submits the unchanged release of 01_perceptron (it scores 0) plus code, in
the first answer cell, that attacks the grading in one way: shadowing builtins, patching the
test helpers through the heap or stack frames, rewriting or stopping the kernel's grading
agent, objects that lie about their value, profile hooks, signal handlers, threads, ctypes
writes into the interpreter's memory, killing the kernel's parents. The tests run in the
grader's process and only plain data comes back from the kernel, so none of them may score
above the blank notebook, and the correct students graded in the same run keep full marks.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import classroom as cr
import pytest

from nncourse import cli
from nncourse.nbgrader_api import Course

A = "01_perceptron"

ATTACKS = {
    "shadow-builtins": """
import builtins
builtins.range = lambda *a: iter(())
builtins.len = lambda obj: 0
builtins.all = lambda *a: True
builtins.isinstance = lambda *a: True
range = lambda *a: iter(())
""",
    "patch-through-heap": """
import gc
for _obj in gc.get_objects():
    if isinstance(_obj, dict):
        for _name in ("assert_close", "assert_equal", "assert_true", "check_output", "call",
                      "allclose", "array_equal", "assert_allclose"):
            if _name in _obj and callable(_obj[_name]):
                _obj[_name] = (lambda *a, **k: True)
""",
    "patch-through-frames": """
import sys
for _frame in list(sys._current_frames().values()):
    while _frame is not None:
        for _space in (_frame.f_globals, _frame.f_locals):
            for _key in list(_space):
                if "verdict" in _key or "key" in _key.lower() or _key.startswith("hidden"):
                    _space[_key] = None
        _frame = _frame.f_back
""",
    "forged-agent": """
def _forge(request):
    return {"op": "result", "value": True}
__nncourse_agent__._answer = _forge
""",
    "stopped-agent": """
__nncourse_agent__.serve = lambda *a, **k: None
""",
    "lying-objects": """
import numpy as np

class _Liar:
    def __array__(self, dtype=None, copy=None):
        return np.ones(3)
    def __eq__(self, other):
        return True
    def __float__(self):
        return 1.0
    def __len__(self):
        return 3

class _LyingArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(other), dtype=bool)
    def __array_ufunc__(self, *a, **k):
        return True

def predict(w, b, X):
    return _Liar()

def perceptron_update(w, b, x, y, lr=1.0):
    return np.zeros(3).view(_LyingArray), _Liar()

def train_perceptron(X, y, lr=1.0, max_epochs=100):
    return _Liar(), _Liar(), _Liar(), _Liar()
""",
    "profile-hook": """
import sys

def _hook(frame, event, arg):
    if event == "call":
        for _space in (frame.f_globals,):
            if "assert_close" in _space:
                _space["assert_close"] = lambda *a, **k: None
    return _hook

sys.setprofile(_hook)
sys.settrace(_hook)
""",
    "signal-handler": """
import signal

def _on_signal(signum, frame):
    import nncourse.checks as c
    c.assert_close = c.assert_equal = c.assert_true = lambda *a, **k: None

for _sig in (signal.SIGALRM, signal.SIGINT, signal.SIGUSR1):
    signal.signal(_sig, _on_signal)
signal.setitimer(signal.ITIMER_REAL, 0.01, 0.01)
""",
    "patching-thread": """
import threading, time
import numpy, numpy.testing
import nncourse.checks as _c

def _patch_forever():
    while True:
        _c.assert_close = _c.assert_equal = _c.assert_true = lambda *a, **k: None
        numpy.allclose = lambda *a, **k: True
        numpy.testing.assert_allclose = lambda *a, **k: None
        time.sleep(0.001)

threading.Thread(target=_patch_forever, daemon=True).start()
""",
    "kills-parents": """
import os, signal
for _pid in (os.getppid(), 1):
    try:
        os.kill(_pid, signal.SIGKILL)
    except OSError:
        pass
try:
    os.killpg(0, signal.SIGKILL)
except OSError:
    pass
""",
    "ctypes-memory": """
import ctypes
# Rewrite interpreter memory: the cached integers 0 and 1 swap values in this process.
for _n in (0, 1):
    ctypes.c_ssize_t.from_address(id(_n) + 3 * ctypes.sizeof(ctypes.c_ssize_t)).value = 1 - _n
""",
    "deep-and-huge": """
def predict(w, b, X):
    deep = []
    for _ in range(100_000):
        deep = [deep]
    return deep

def perceptron_update(w, b, x, y, lr=1.0):
    return "x" * 50_000_000, 0.0
""",
}


def _blank_with(course: Course, code: str) -> dict:
    nb = cr.release(course, A)
    cell = cr.cell(nb, "answer_predict")
    source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
    if "def predict" in code:
        cell["source"] = code  # replaces the release's stub with the attacker's own
    else:
        cell["source"] = code + "\n" + source
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("adversarial") / "course"
    course = cr.make_course(root, [A])
    cr.submit(course, "blank", A, cr.release(course, A))
    for student, code in ATTACKS.items():
        cr.submit(course, student, A, _blank_with(course, code))
    for student in ("correct-1", "correct-2"):
        cr.submit(course, student, A, cr.submission(course, A))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(["grade", "--course", str(root), "--jobs", "2", "--cell-timeout", "5",
                         "--no-progress"])
    return {"course": course, "code": code, "out": out.getvalue()}


@pytest.mark.slow
def test_no_attack_scores_above_a_blank_notebook(graded: dict) -> None:
    course: Course = graded["course"]
    assert graded["code"] == 0, graded["out"]
    blank = course.scores(A, "blank").total
    assert blank == 0.0
    above = {s: course.scores(A, s).total for s in ATTACKS
             if course.scores(A, s).total > blank}
    assert not above, f"scored above a blank notebook: {above}\n{graded['out']}"


@pytest.mark.slow
def test_attacks_do_not_change_other_students_grades(graded: dict) -> None:
    course: Course = graded["course"]
    full = sum(cr.points(A).values())
    for student in ("correct-1", "correct-2"):
        assert course.scores(A, student).total == full, graded["out"]


@pytest.mark.slow
def test_every_attacker_is_graded_and_listed(graded: dict, tmp_path: Path) -> None:
    course: Course = graded["course"]
    for student in ATTACKS:
        assert (course.root / "autograded" / student / A / "nncourse.json").is_file(), student
        assert f"{student} " in graded["out"] or f"{student}/" in graded["out"], student
