"""Grading on a Dask cluster: ``nncourse grade --scheduler tcp://HOST:PORT``.

When a class outgrows one machine, the submissions go to an existing Dask ``distributed``
cluster (a ``dask scheduler`` and any number of ``dask worker`` processes; README.md says how
to start them, by hand, on SLURM/PBS with dask-jobqueue or on Kubernetes).

What travels
    The notebooks are shipped as data: this process (the *client*) builds the assignment's
    `grader.Template` from the course's sources and release, reads each submitted notebook's
    bytes, and sends both with the task. A worker needs the course package installed (the
    same ``nncourse``, ``nnlib``, NumPy and torch versions as here) but no access to the
    course folder, the gradebook or a shared file system: it returns the graded notebook
    (`grader.SubmissionResult`, plain data) and never writes anything of the course.
How a worker grades
    Exactly as a local ``--jobs`` job: each Dask worker process starts one sandbox zygote
    (`nncourse.sandbox`) and a pool of spawned grading processes, one per worker thread,
    set up by `grader._init_worker`; each submission is graded there by
    `grader._grade_submission`, in the process's main thread (so the checks' time limits
    hold), its notebooks written to a private scratch folder first. A worker claims a sandbox
    slot (its kernels' uid) per grading process through lock files in ``/tmp``, so several
    workers on one machine never share a uid. Zygote and pool live as long as the worker,
    so later runs start warm.
Merging
    Only the client writes the gradebook, ``autograded/`` and `grader.RESULTS_FILE`, as each
    future completes (`distributed.as_completed`), through the same `grader._record` and
    `grader._write_results` as the local path. A worker that dies mid-run loses nothing: the
    scheduler runs its tasks again elsewhere; results are recorded once per
    (assignment, student), a second one for the same key being ignored.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from nncourse import grader, rules, sandbox
from nncourse.nbgrader_api import Course

__all__ = ["ClusterError", "connect", "grade", "grade_shipped"]

#: The first sandbox slot of Dask workers' grading processes (local ``--jobs`` use 0, 1, ...).
SLOT_BASE = 1000
#: How many slots one machine offers its Dask workers.
SLOTS = 1000
#: Where the slots' lock files are (one folder per machine, whatever TMPDIR says).
SLOT_LOCKS = Path("/tmp") if Path("/tmp").is_dir() else Path(tempfile.gettempdir())


class ClusterError(Exception):
    """The cluster cannot be used (distributed missing, scheduler unreachable): one line."""


def connect(address: str, timeout: float = 10.0) -> Any:
    """A `distributed.Client` of the scheduler at ``address``; `ClusterError` when there is
    none (or distributed is not installed)."""
    try:
        import distributed
    except ImportError:
        raise ClusterError("--scheduler needs Dask's distributed package, which is not "
                           "installed: pip install 'nnlib-course[cluster]'") from None
    import logging

    logging.getLogger("distributed").setLevel(logging.CRITICAL)  # its own retries and errors
    try:
        return distributed.Client(address, timeout=timeout, set_as_default=False)
    except Exception as exc:  # noqa: BLE001 - OSError, TimeoutError, ValueError (bad address)
        why = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {why}") from None


# ---------------------------------------------------------------------------------------------
# The workers' side
# ---------------------------------------------------------------------------------------------


def _claim_slots(count: int) -> tuple[list[int], list[Any]]:
    """``count`` sandbox slots no other process of this machine holds, and their locks (kept
    open for as long as this process lives: the kernel drops them when it dies)."""
    slots, locks = [], []
    for slot in range(SLOT_BASE, SLOT_BASE + SLOTS):
        if len(slots) == count:
            break
        handle = open(SLOT_LOCKS / f"nncourse-slot-{slot}.lock", "a+")  # noqa: SIM115
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        if os.geteuid() == 0:
            sandbox.kill_uid(sandbox.sandbox_uid(slot))  # kernels a killed worker left behind
        slots.append(slot)
        locks.append(handle)
    if len(slots) < count:
        raise sandbox.SandboxError(f"no free sandbox slot among {SLOTS} on this machine")
    return slots, locks


def _init_process(parent: int, *args: Any) -> None:
    """Set up one grading process of a Dask worker: `grader._init_worker`, and an exit as soon
    as the worker is gone (a killed worker leaves no grading process behind)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()
    grader._init_worker(*args)


def _grade_in_process(limits: grader.Limits, name: str, student: str,
                      templates: list[grader.Template], folder: str) -> grader.SubmissionResult:
    """Grade one submission in a grading process, under this run's limits."""
    grader._WORKER["limits"] = limits
    return grader._grade_submission(name, student, templates, folder)


#: The scratch folders of Dask workers (in their TMPDIR), each locked by its worker.
WORKDIR_PREFIX = "nncourse-worker-"


def _remove_stale_workdirs() -> None:
    """Remove the scratch folders that workers killed earlier on this machine left behind
    (those whose lock nobody holds)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*"):
        try:
            with open(folder / ".lock", "a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held by a live worker, or not one of ours
            continue
        sandbox.remove_tree(folder)


class _WorkerGrader:
    """What one Dask worker process grades with: a zygote, and a pool of ``threads`` spawned
    grading processes with their own sandbox slots."""

    def __init__(self, threads: int) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        os.environ.update({"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                           "MKL_NUM_THREADS": "1"})
        self.threads = threads
        _remove_stale_workdirs()
        starting = Path(tempfile.mkdtemp(prefix="nncourse-starting-"))
        self._held = open(starting / ".lock", "w")  # noqa: SIM115 - held while it lives
        fcntl.flock(self._held, fcntl.LOCK_EX)
        self.workdir = starting.with_name(WORKDIR_PREFIX + starting.name.split("-")[-1])
        starting.rename(self.workdir)  # locked before any other worker can see it
        os.chmod(self.workdir, 0o711)
        self.slots, self._locks = _claim_slots(threads)
        self.zygote = sandbox.Zygote(self.workdir / "kernels")
        self.zygote.workdir.mkdir()
        os.chmod(self.zygote.workdir, 0o711)
        self.zygote.start()
        self._context = multiprocessing.get_context("spawn")
        # Under a nanny the worker is a daemonic process, which multiprocessing forbids to
        # start children; ours exit with the worker anyway (`_init_process`).
        multiprocessing.current_process()._config["daemon"] = False
        self._executor = ProcessPoolExecutor
        self.pool: Any = None
        self._new_pool()

    def _new_pool(self) -> None:
        queue = self._context.Queue()
        for slot in self.slots:
            queue.put(slot)
        self.pool = self._executor(
            max_workers=self.threads, mp_context=self._context, initializer=_init_process,
            initargs=(os.getpid(), str(self.zygote.workdir), self.zygote.info, queue,
                      grader.Limits(), str(self.workdir)))

    def grade(self, name: str, student: str, templates: list[grader.Template],
              files: Mapping[str, Any], limits: grader.Limits) -> grader.SubmissionResult:
        """Write the shipped notebooks to a private folder and grade them in the pool."""
        from concurrent.futures.process import BrokenProcessPool

        folder = Path(tempfile.mkdtemp(prefix="submission-", dir=self.workdir))  # mode 0700
        try:
            for notebook, content in files.items():
                path = folder / Path(notebook).name
                if isinstance(content, bytes):
                    path.write_bytes(content)
                else:  # ("too large", size): a sparse file of that size, refused as locally
                    with open(path, "wb") as handle:
                        handle.truncate(int(content[1]))
            pool = self.pool
            try:
                return pool.submit(_grade_in_process, limits, name, student, templates,
                                   str(folder)).result()
            except BrokenProcessPool as exc:
                with _LOCK:
                    if self.pool is pool:  # the first thread to notice starts a new pool
                        pool.shutdown(wait=False, cancel_futures=True)
                        if os.geteuid() == 0:
                            for slot in self.slots:
                                sandbox.kill_uid(sandbox.sandbox_uid(slot))
                        self._new_pool()
                return grader.SubmissionResult(name, student, error=f"a grading process of "
                                               f"the Dask worker died ({exc})")
        finally:
            sandbox.remove_tree(folder)

    def close(self) -> None:
        """Stop the pool and the zygote, remove the scratch folder."""
        with contextlib.suppress(Exception):
            self.pool.shutdown(wait=False, cancel_futures=True)
        with contextlib.suppress(Exception):
            self.zygote.close()
        sandbox.remove_tree(self.workdir)
        for handle in [*self._locks, self._held]:
            handle.close()


_LOCK = threading.Lock()
_GRADER: dict[str, _WorkerGrader] = {}


def _worker_grader(threads: int) -> _WorkerGrader:
    """This worker process's `_WorkerGrader`, started by its first task."""
    with _LOCK:
        if "grader" not in _GRADER:
            _GRADER["grader"] = _WorkerGrader(threads)
            atexit.register(_GRADER["grader"].close)
        return _GRADER["grader"]


def worker_slots() -> list[int]:
    """The sandbox slots this worker process holds (none before its first task)."""
    found = _GRADER.get("grader")
    return list(found.slots) if found else []


def grade_shipped(name: str, student: str, templates: list[grader.Template],
                  files: Mapping[str, Any], limits: grader.Limits
                  ) -> tuple[grader.SubmissionResult, dict[str, str]]:
    """The Dask task: grade one shipped submission on this worker.

    ``files`` maps each notebook's file name to its bytes (a missing notebook is absent, one
    too large to grade is ``("too large", size)``). Returns the result and where it was graded
    (worker, host, sandbox mode and its description): plain data only.
    """
    address, threads = "", 1
    with contextlib.suppress(ImportError, ValueError):
        from distributed import get_worker

        worker = get_worker()
        address, threads = str(worker.address), max(1, int(worker.state.nthreads))
    where = {"worker": address, "host": socket.gethostname(), "mode": "", "describe": ""}
    try:
        machinery = _worker_grader(threads)
        where.update(mode=machinery.zygote.sandbox_mode, describe=machinery.zygote.describe())
        result = machinery.grade(name, student, templates, files, limits)
    except Exception as exc:  # noqa: BLE001 - reported as a tool failure of this submission
        result = grader.SubmissionResult(name, student, error=f"{type(exc).__name__}: {exc}")
    return result, where


# ---------------------------------------------------------------------------------------------
# The client's side
# ---------------------------------------------------------------------------------------------


def _ship(folder: Path, templates: Sequence[grader.Template]) -> dict[str, Any]:
    """The submitted notebooks of ``folder`` as data (see `grade_shipped`)."""
    files: dict[str, Any] = {}
    for template in templates:
        path = folder / f"{template.notebook}.ipynb"
        if not path.is_file():
            continue
        size = path.stat().st_size
        files[path.name] = (("too large", size) if size > rules.MAX_MESSAGE_BYTES
                            else path.read_bytes())
    return files


def _wait_for_workers(client: Any, log: Callable[[str], None]) -> None:
    if client.scheduler_info().get("workers"):
        return
    log(f"nncourse: no Dask worker yet at {client.scheduler.address}; waiting for one "
        "(Ctrl-C to stop)")
    client.wait_for_workers(1)


def grade(
    course: Course,
    assignments: Sequence[str] | None = None,
    *,
    client: Any,
    students: Sequence[str] | None = None,
    limits: grader.Limits | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> grader.GradeRun:
    """`grader.grade` on the Dask cluster of ``client`` (see the module doc)."""
    from distributed import as_completed
    from nbgrader.api import Gradebook
    from tqdm import tqdm

    started = time.monotonic()
    limits = limits or grader.Limits()
    names = grader.assignment_names(course, assignments)
    workdir = Path(tempfile.mkdtemp(prefix="nncourse-grade-"))
    results: dict[tuple[str, str], grader.SubmissionResult] = {}
    modes: dict[str, str] = {}
    futures: dict[Any, tuple[str, str]] = {}
    try:
        release = workdir / "release"
        Course(course.root, release_dir=release, db_url=course.db_url).generate(names)
        work = []
        for name in names:
            templates = grader._templates(course, name, release)
            for student in grader.submissions(course, name):
                if students is None or student in students:
                    work.append((name, student, templates))
        if not work:
            return grader.GradeRun([], "none", True, time.monotonic() - started)
        _wait_for_workers(client, log)
        run = uuid.uuid4().hex[:8]
        for name, student, templates in work:
            files = _ship(course.submitted_dir / student / name, templates)
            future = client.submit(grade_shipped, name, student, templates, files, limits,
                                   key=f"nncourse-grade-{run}-{name}-{student}", pure=False)
            futures[future] = (name, student)
        log(f"nncourse: {len(futures)} submissions sent to the Dask scheduler at "
            f"{client.scheduler.address}")
        with Gradebook(course.db_url) as gb:
            bar = tqdm(as_completed(futures, loop=client.loop), total=len(futures),
                       unit="submission", disable=not progress, file=sys.stderr)
            for future in bar:
                key = futures[future]
                if key in results:  # never twice, whatever the scheduler does
                    continue
                try:
                    result, where = future.result()
                except Exception as exc:  # noqa: BLE001 - KilledWorker, a task that failed
                    result = grader.SubmissionResult(*key, error=f"{type(exc).__name__}: {exc}")
                    where = {}
                future.release()
                if where.get("mode") and where.get("worker") not in modes:
                    modes[where["worker"]] = where["mode"]
                    line = (f"nncourse: worker {where['worker']} on {where['host']}: "
                            f"{where['describe']}")
                    if progress:
                        bar.write(line, file=sys.stderr)
                    else:
                        log(line)
                if result.error is None:
                    grader._record(gb, result)
                    grader._write_results(course, result)
                results[key] = result
                bar.set_postfix_str(f"{result.student}/{result.assignment}", refresh=False)
    except BaseException:
        with contextlib.suppress(Exception):
            client.cancel(list(futures))
        raise
    finally:
        sandbox.remove_tree(workdir)
    found = sorted(set(modes.values()))
    mode = ",".join(found) or "unknown"  # one mode per worker, as a rule the same everywhere
    isolated = "none" not in found  # no kernel ran unisolated
    ordered = sorted(results.values(), key=lambda r: (r.assignment, r.student))
    return grader.GradeRun(ordered, mode, isolated, time.monotonic() - started)
