"""Time limits count the time the work could use (nncourse.rules.over_time).

On a loaded grading machine a kernel gets less than a whole core: the wall clock runs ahead of
the work, and a wall-clock limit fails correct submissions (measured: a correct 01_perceptron
scored 65/100 with a 5 s cell limit beside three other test runs on two cores). A limit is
now spent when both the wall-clock and the CPU time have passed it, or the wall clock has
passed WALL_CLOCK_FACTOR times it. Tested here on its three users: the rule itself, the limit
of one call inside the kernel (checks.run), and the grader's cell loop (executor.run_cell) with
a kernel that gets a quarter of a core.
"""

from __future__ import annotations

import os
import queue
import time

import pytest

from nncourse import checks, executor, rules, sandbox


def test_the_rule() -> None:
    factor = rules.WALL_CLOCK_FACTOR
    assert not rules.over_time(wall=9.0, cpu=9.0, limit=10.0)
    assert rules.over_time(wall=11.0, cpu=11.0, limit=10.0)  # a quiet core: both pass
    assert not rules.over_time(wall=25.0, cpu=8.0, limit=10.0)  # starved: the work had 8 s
    assert rules.over_time(wall=25.0, cpu=10.5, limit=10.0)
    assert rules.over_time(wall=factor * 10.0 + 0.1, cpu=0.0, limit=10.0)  # sleeping code
    assert not rules.over_time(wall=6.0, cpu=12.0, limit=10.0)  # two threads: wall decides
    assert rules.over_time(wall=10.5, cpu=None, limit=10.0)  # CPU time unknown: wall clock
    assert rules.since(5.5, 2.0) == 3.5 and rules.since(None, 2.0) is None
    assert rules.since(5.5, None) is None
    # The next moment the rule can change its answer, never sooner than 50 ms.
    assert rules.next_check(wall=12.0, cpu=4.0, limit=10.0) == pytest.approx(6.0)
    assert rules.next_check(wall=29.0, cpu=4.0, limit=10.0) == pytest.approx(factor * 10.0 - 29.0)
    assert rules.next_check(wall=10.0, cpu=9.99, limit=10.0) == 0.05


def _sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "done"


def _spin(seconds: float) -> str:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass
    return "done"


def test_a_call_that_waits_is_not_stopped_at_its_limit_but_at_the_wall_clock_cap() -> None:
    limit = 0.4
    assert checks.run(_sleep, 1.5 * limit, time_limit=limit).value == "done"  # no CPU used
    started = time.perf_counter()
    with pytest.raises(checks.GradingFailure, match="did not finish within 0.4 seconds"):
        checks.run(_sleep, 10 * limit, time_limit=limit)
    stopped = time.perf_counter() - started
    assert rules.WALL_CLOCK_FACTOR * limit <= stopped < rules.WALL_CLOCK_FACTOR * limit + 1.0


def test_a_call_that_computes_is_stopped_once_it_has_had_its_time() -> None:
    limit = 0.4
    started = time.perf_counter()
    with pytest.raises(checks.GradingFailure, match="did not finish"):
        checks.run(_spin, 20 * limit, time_limit=limit)
    # It had `limit` seconds of CPU: on a quiet core that is `limit` of wall clock, on a busy
    # one up to the cap; never the 8 s it asked for.
    assert limit <= time.perf_counter() - started <= rules.WALL_CLOCK_FACTOR * limit + 0.5


class _StarvedKernel:
    """A kernel that finishes its cell after `finish` wall seconds, having had `share` of a
    core meanwhile: the CPU time run_cell reads grows `share` times slower than the clock."""

    def __init__(self, finish: float, share: float) -> None:
        self.started = time.monotonic()
        self.finish, self.share = finish, share
        self.interrupted = False
        self.client = self

    # the client
    def execute(self, code: str, **kwargs: object) -> str:
        self.started = time.monotonic()
        return "cell-1"

    def get_iopub_msg(self, timeout: float) -> dict:
        time.sleep(min(timeout, 0.05))
        if not self.interrupted and time.monotonic() - self.started < self.finish:
            raise queue.Empty
        return {"parent_header": {"msg_id": "cell-1"}, "msg_type": "status",
                "content": {"execution_state": "idle"}}  # done, or stopped by the interrupt

    def get_shell_msg(self, timeout: float) -> dict:
        return {"parent_header": {"msg_id": "cell-1"}}

    # the kernel
    def cpu_seconds(self) -> float:
        return (time.monotonic() - self.started) * self.share

    def alive(self) -> bool:
        return True

    def interrupt(self) -> None:
        self.interrupted = True

    def kill(self) -> None:
        pass


@pytest.mark.parametrize(("share", "status"), [(0.25, "ok"), (1.0, "timeout")])
def test_a_starved_kernel_finishes_its_cell(share: float, status: str) -> None:
    # 1.2 s of wall clock for a 0.5 s limit: with a quarter of a core that is 0.3 s of CPU,
    # within the limit; with a whole core, 1.2 s of CPU: stopped.
    kernel = _StarvedKernel(finish=1.2, share=share)
    run = executor.run_cell(kernel, "train()", timeout=0.5)
    assert run.status == status and kernel.interrupted is (status == "timeout")


def test_without_cpu_time_the_wall_clock_decides() -> None:
    kernel = _StarvedKernel(finish=1.2, share=0.25)
    kernel.cpu_seconds = lambda: None  # /proc cannot tell
    assert executor.run_cell(kernel, "train()", timeout=0.5).status == "timeout"


def test_a_kernel_that_never_finishes_is_stopped_at_the_cap() -> None:
    kernel = _StarvedKernel(finish=float("inf"), share=0.0)
    started = time.monotonic()
    assert executor.run_cell(kernel, "while True: time.sleep(1)", timeout=0.3).status == "timeout"
    took = time.monotonic() - started
    assert rules.WALL_CLOCK_FACTOR * 0.3 <= took < rules.WALL_CLOCK_FACTOR * 0.3 + 0.5


def test_the_kernels_cpu_time_comes_from_proc() -> None:
    me = sandbox.KernelProcess(pid=os.getpid(), uid=None, mode="none", client=None,
                               scratch=None)  # type: ignore[arg-type]
    before, cpu_before = me.cpu_seconds(), time.process_time()
    if before is None:
        pytest.skip("no /proc here")
    while time.process_time() - cpu_before < 0.3:  # 0.3 s of CPU, however long that takes
        pass
    after = me.cpu_seconds()
    assert after is not None and after - before == pytest.approx(0.3, abs=0.05)
