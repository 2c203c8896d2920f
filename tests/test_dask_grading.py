"""`nncourse grade --scheduler tcp://HOST:PORT`: grading on a real Dask cluster.

A ``dask scheduler`` and two ``dask worker`` processes (one thread each, no nanny, so that
killing one kills it for good) run on 127.0.0.1 for the module. One small course (assignment
01_perceptron: the solution, the unchanged release, two wrong catalogue entries) is graded
through ``nncourse.cli.main``:

* the gradebook holds, per cell, the scores the catalogue declares, and so does each
  ``nncourse.json``;
* a submission whose grading takes seconds is graded while the worker holding it is killed
  (SIGKILL): the run still succeeds, and every submission is written exactly once, with the
  scores it deserves;
* an unreachable scheduler, or no ``distributed`` package, is one line and exit status 2.

`DaskProcesses` is used by bench/grading.py too. Measured on 2 shared cores: about 35-50 s.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import classroom as cr
import pytest
import test_grading as tg

from nncourse import cli, grader
from nncourse.nbgrader_api import CONFIG_FILE

ASSIGNMENT = "01_perceptron"


def free_port() -> int:
    """A TCP port of 127.0.0.1 nothing listens on (now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DaskProcesses:
    """A ``dask scheduler`` and ``workers`` ``dask worker`` processes on 127.0.0.1 (one thread,
    one process, no nanny each); ``with DaskProcesses(2, logs) as cluster: cluster.address``."""

    def __init__(self, workers: int, logs: Path) -> None:
        self.workers, self.logs = workers, logs
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.scheduler: subprocess.Popen[bytes] | None = None
        self.worker_processes: list[subprocess.Popen[bytes]] = []

    def _start(self, what: str, *args: str) -> subprocess.Popen[bytes]:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1"}
        self.logs.mkdir(parents=True, exist_ok=True)
        with open(self.logs / f"{what}-{len(self.worker_processes)}.log", "wb") as log:
            return subprocess.Popen([sys.executable, "-m", f"distributed.cli.dask_{what}", *args],
                                    stdout=log, stderr=subprocess.STDOUT, env=env,
                                    stdin=subprocess.DEVNULL)

    def __enter__(self) -> DaskProcesses:
        from distributed import Client

        self.scheduler = self._start("scheduler", "--host", "127.0.0.1", "--port",
                                     str(self.port), "--no-dashboard")
        for _ in range(self.workers):
            self.worker_processes.append(self._start(
                "worker", self.address, "--nthreads", "1", "--nworkers", "1", "--no-nanny",
                "--no-dashboard", "--host", "127.0.0.1", "--local-directory",
                str(self.logs / "scratch")))
        try:
            with Client(self.address, timeout=60, set_as_default=False) as client:
                client.wait_for_workers(self.workers, timeout=120)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop the workers, then the scheduler."""
        for process in [*self.worker_processes, self.scheduler]:
            if process is not None and process.poll() is None:
                process.terminate()
        for process in [*self.worker_processes, self.scheduler]:
            if process is None:
                continue
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Any:
    pytest.importorskip("distributed", reason="Dask's distributed package is not installed")
    with DaskProcesses(2, tmp_path_factory.mktemp("dask-logs")) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return cr.make_course(tmp_path_factory.mktemp("dask") / "course", [ASSIGNMENT])


def _class(course: Any) -> list[tg.Submission]:
    """The solution, the unchanged release and two wrong entries with different losses."""
    subs = cr.class_submissions(course, ASSIGNMENT)
    chosen = tg.sample(subs, 2) + [s for s in subs if s.student == "release"]
    for sub in chosen:
        course.submit(ASSIGNMENT, sub.student, {cr.notebook_name(ASSIGNMENT): sub.content})
    return chosen


def _grade(course: Any, *options: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["grade", "--course", str(course.root), "--no-progress", *options])
    return code, out.getvalue(), err.getvalue()


def _problems(course: Any, subs: list[tg.Submission]) -> list[str]:
    """Every submission's gradebook and nncourse.json scores against the declared ones."""
    problems = []
    for sub in subs:
        found = course.scores(ASSIGNMENT, sub.student).autograded
        path = course.root / "autograded" / sub.student / ASSIGNMENT / grader.RESULTS_FILE
        result = grader.SubmissionResult.from_json(json.loads(path.read_text()))
        if found != sub.expected:
            why = {c.grade_id: c.message[:300] for nb in result.notebooks for c in nb.tests
                   if c.score != sub.expected.get(c.grade_id)}
            problems.append(f"{sub.label}: gradebook {found}, declared {sub.expected}; "
                            f"{why}; notes {result.notes}")
        recorded = {c.grade_id: c.score for nb in result.notebooks for c in nb.tests}
        if result.error or recorded != sub.expected:
            problems.append(f"{sub.label}: {grader.RESULTS_FILE} {recorded} {result.error}")
    return problems


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::Warning")
def test_grading_on_the_cluster_gives_the_declared_scores(dask_cluster: Any, course: Any) -> None:
    subs = _class(course)
    code, out, err = _grade(course, "--scheduler", dask_cluster.address)
    assert code == 0, out + err
    assert f"{len(subs)} submissions" in out, out
    assert "sent to the Dask scheduler" in out, out
    assert not _problems(course, subs), "\n".join(_problems(course, subs))


def _slow_submission(course: Any) -> tg.Submission:
    """The reference solution, whose first answer cell sleeps a few seconds first."""
    answers = cr.reference_answers(ASSIGNMENT)
    first = next(iter(answers))
    content = cr.submission(course, ASSIGNMENT,
                            {first: "import time\ntime.sleep(6)\n" + answers[first]})
    return tg.Submission("slow", "the solution, slowly", content,
                         dict(cr.points(ASSIGNMENT)), "pending")


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::Warning")
def test_a_worker_killed_mid_run_loses_nothing(dask_cluster: Any, course: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from distributed import Client

    from nncourse import cluster, sandbox

    slow = _slow_submission(course)
    subs = [s for s in cr.class_submissions(course, ASSIGNMENT)
            if s.student in ("solution", "release")]
    for sub in [slow, *subs]:
        course.submit(ASSIGNMENT, sub.student, {cr.notebook_name(ASSIGNMENT): sub.content})
    subs.append(slow)
    written: dict[tuple[str, str], int] = {}
    write = grader._write_results

    def counted(course: Any, result: grader.SubmissionResult) -> None:
        key = (result.assignment, result.student)
        written[key] = written.get(key, 0) + 1
        write(course, result)

    monkeypatch.setattr(grader, "_write_results", counted)
    students = [f"--student={s.student}" for s in subs]
    outcome: dict[str, Any] = {}

    def run() -> None:
        outcome["grade"] = _grade(course, "--scheduler", dask_cluster.address,
                                  "--cell-timeout", "60", *students)

    # Local functions, so that cloudpickle sends them by value (this module is not
    # importable on the scheduler and the workers).
    def where_is(key_part: str, dask_scheduler: Any = None) -> str | None:
        """(On the scheduler) the worker processing the task whose key has ``key_part``."""
        for key, task in dask_scheduler.tasks.items():
            if key_part in str(key) and task.processing_on is not None:
                return str(task.processing_on.address)
        return None

    def executing(dask_worker: Any = None) -> list[str]:
        """(On a worker) the keys of the tasks it is running now."""
        return [str(task.key) for task in dask_worker.state.executing]

    runner = threading.Thread(target=run)
    killed: dict[str, Any] = {}
    with Client(dask_cluster.address, set_as_default=False) as watcher:
        runner.start()
        deadline = time.monotonic() + 120
        while runner.is_alive() and time.monotonic() < deadline and not killed:
            time.sleep(0.2)
            address = watcher.run_on_scheduler(where_is, f"{ASSIGNMENT}-slow")
            if address and any("-slow" in k for k in
                               watcher.run(executing, workers=[address]).get(address, [])):
                time.sleep(2)  # it is being graded: kill its worker mid-run
                killed["slots"] = watcher.run(cluster.worker_slots,
                                              workers=[address]).get(address, [])
                killed["pid"] = watcher.run(os.getpid, workers=[address])[address]
                (victim,) = [p for p in dask_cluster.worker_processes
                             if p.pid == killed["pid"]]
                os.kill(victim.pid, signal.SIGKILL)
                victim.wait()
    runner.join(timeout=180)
    if os.geteuid() == 0:  # the kernel the killed worker was running: left under its uid
        for slot in killed.get("slots", []):
            sandbox.kill_uid(sandbox.sandbox_uid(slot))
    assert killed, "the slow submission was never seen running on a worker"
    assert not runner.is_alive(), "nncourse grade did not finish"
    code, out, err = outcome["grade"]
    assert code == 0, out + err
    keys = {(ASSIGNMENT, s.student) for s in subs}
    assert written == dict.fromkeys(keys, 1), f"written once each? {written}"
    assert not _problems(course, subs), "\n".join(_problems(course, subs))


# ---------------------------------------------------------------------------------------------


@pytest.fixture
def bare_course(tmp_path: Path) -> Path:
    shutil.copy(cr.REPO / CONFIG_FILE, tmp_path)
    return tmp_path


def _one_line_exit_2(code: int, err: str, starts: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(starts), err
    assert "Traceback" not in err


@pytest.mark.filterwarnings("ignore::Warning")
def test_an_unreachable_scheduler_is_one_line_and_exit_2(bare_course: Path) -> None:
    pytest.importorskip("distributed", reason="Dask's distributed package is not installed")
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(["grade", "--course", str(bare_course), "--scheduler",
                         f"tcp://127.0.0.1:{free_port()}", "--scheduler-timeout", "1"])
    _one_line_exit_2(code, err.getvalue(), "nncourse grade: cannot reach the Dask scheduler")


def test_without_distributed_it_is_one_line_and_exit_2(bare_course: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed: ImportError
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(["grade", "--course", str(bare_course), "--scheduler",
                         "tcp://127.0.0.1:1"])
    _one_line_exit_2(code, err.getvalue(), "nncourse grade: --scheduler needs Dask's "
                                           "distributed package")
