"""Tests for nnlib.threads: the CPUs a process may use, and sizing the thread pools to them.

Every test reads fake cgroup files in a temporary folder (and a fake /proc/self/cgroup), fakes
the affinity and /proc/stat, and puts stand-ins for torch and threadpoolctl in sys.modules, so
nothing here depends on the machine or changes the real thread pools of the test process. Two
tests measure the real machine on purpose: one spins a process on a core and must see it busy.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

import nnlib
from nnlib import threads
from nnlib.threads import (
    THREAD_ENV_VARS,
    available_cpus,
    busy_cpus,
    cgroup_cpu_limit,
    use_available_cpus,
)

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def quiet_machine(tmp_path, monkeypatch):
    """No /proc/stat by default: use_available_cpus sees no busy core (tests that want load
    write this file, or pass their own)."""
    monkeypatch.setattr(threads, "PROC_STAT", tmp_path / "no_proc_stat")


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")


@pytest.fixture
def proc(tmp_path):
    """A fake /proc/self/cgroup: the process sits in the root cgroup (v2 and v1)."""
    path = tmp_path / "proc_self_cgroup"
    write(path, "0::/\n4:cpu,cpuacct:/")
    return path


@pytest.fixture
def root(tmp_path):
    """An empty fake cgroup root."""
    folder = tmp_path / "cgroup"
    folder.mkdir()
    return folder


@pytest.fixture
def cores(monkeypatch):
    """Fake the affinity: call cores(n) to let the process run on n cores."""

    def set_cores(n: int) -> None:
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(n)), raising=False)

    set_cores(16)
    return set_cores


@pytest.fixture
def clean_env(monkeypatch):
    """No thread variable set; whatever the tests set is undone afterwards."""
    for name in THREAD_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(threads, "_WRITTEN", {})


# --------------------------------------------------------------------------------------------
# Reading the quota
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cpu_max", "expected"),
    [
        ("200000 100000", 2),
        ("150000 100000", 2),  # 1.5 CPUs: rounded up
        ("50000 100000", 1),  # half a CPU: still one thread
        ("400000 50000", 8),
        ("max 100000", None),  # no limit
        ("max", None),
        ("garbage", None),
        ("", None),
    ],
)
def test_cgroup_v2_quota(root, proc, cpu_max, expected):
    write(root / "cpu.max", cpu_max)
    assert cgroup_cpu_limit(root, proc) == expected


@pytest.mark.parametrize(
    ("mount", "quota", "period", "expected"),
    [
        ("cpu,cpuacct", "300000", "100000", 3),
        ("cpu", "250000", "100000", 3),
        ("cpu", "-1", "100000", None),  # no limit
        ("cpu", "100000", "0", None),  # nonsense period
        ("cpu", "abc", "100000", None),
    ],
)
def test_cgroup_v1_quota(root, proc, mount, quota, period, expected):
    write(root / mount / "cpu.cfs_quota_us", quota)
    write(root / mount / "cpu.cfs_period_us", period)
    assert cgroup_cpu_limit(root, proc) == expected


def test_cgroup_v1_without_period_is_no_limit(root, proc):
    write(root / "cpu" / "cpu.cfs_quota_us", "200000")
    assert cgroup_cpu_limit(root, proc) is None


def test_missing_files_mean_no_limit(root, proc, tmp_path):
    assert cgroup_cpu_limit(root, proc) is None
    assert cgroup_cpu_limit(tmp_path / "no such folder", tmp_path / "no such file") is None


def test_nested_cgroups_take_the_tightest_limit(root, tmp_path):
    proc = tmp_path / "proc_self_cgroup"
    write(proc, "0::/user.slice/session-1.scope")
    write(root / "cpu.max", "max 100000")
    write(root / "user.slice" / "cpu.max", "300000 100000")
    write(root / "user.slice" / "session-1.scope" / "cpu.max", "max 100000")
    assert cgroup_cpu_limit(root, proc) == 3
    write(root / "user.slice" / "session-1.scope" / "cpu.max", "100000 100000")
    assert cgroup_cpu_limit(root, proc) == 1


def test_v1_cgroup_path_that_is_not_mounted_falls_back_to_the_mount(root, tmp_path):
    # Docker without a cgroup namespace: /proc names the host's path, the mount is the container's.
    proc = tmp_path / "proc_self_cgroup"
    write(proc, "0::/\n3:cpu,cpuacct:/docker/0123abcd")
    write(root / "cpu,cpuacct" / "cpu.cfs_quota_us", "200000")
    write(root / "cpu,cpuacct" / "cpu.cfs_period_us", "100000")
    assert cgroup_cpu_limit(root, proc) == 2


# --------------------------------------------------------------------------------------------
# Affinity and quota together
# --------------------------------------------------------------------------------------------


def test_affinity_alone(root, proc, cores):
    cores(6)
    assert available_cpus(root, proc) == 6


def test_quota_below_affinity(root, proc, cores):
    cores(64)  # a big node's cores are all visible ...
    write(root / "cpu.max", "200000 100000")  # ... but the container may use two
    assert available_cpus(root, proc) == 2


def test_affinity_below_quota(root, proc, cores):
    cores(3)
    write(root / "cpu.max", "800000 100000")
    assert available_cpus(root, proc) == 3


def test_without_sched_getaffinity_uses_cpu_count(root, proc, monkeypatch):
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)  # as on macOS and Windows
    monkeypatch.setattr(os, "cpu_count", lambda: 5)
    assert available_cpus(root, proc) == 5
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert available_cpus(root, proc) == 1


# --------------------------------------------------------------------------------------------
# use_available_cpus
# --------------------------------------------------------------------------------------------


@pytest.fixture
def fake_torch(monkeypatch):
    """A stand-in for an imported torch that records set_num_threads."""
    module = types.ModuleType("torch")
    module.calls = []
    module.set_num_threads = module.calls.append
    monkeypatch.setitem(sys.modules, "torch", module)
    return module


@pytest.fixture
def fake_threadpoolctl(monkeypatch):
    """A stand-in for threadpoolctl that records the limits it is given."""
    module = types.ModuleType("threadpoolctl")
    module.calls = []
    module.threadpool_limits = lambda limits=None, user_api=None: module.calls.append(limits)
    monkeypatch.setitem(sys.modules, "threadpoolctl", module)
    return module


def test_use_available_cpus_sets_everything(
    root, proc, cores, clean_env, fake_torch, fake_threadpoolctl
):
    cores(64)
    write(root / "cpu.max", "200000 100000")
    assert use_available_cpus(root, proc) == 2
    assert fake_torch.calls == [2]
    assert fake_threadpoolctl.calls == [2]
    assert {name: os.environ[name] for name in THREAD_ENV_VARS} == dict.fromkeys(
        THREAD_ENV_VARS, "2"
    )
    assert use_available_cpus(root, proc) == 2  # calling again is harmless
    assert fake_torch.calls == [2, 2]


def test_a_smaller_omp_num_threads_wins(
    root, proc, cores, clean_env, monkeypatch, fake_torch, fake_threadpoolctl
):
    cores(8)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("MKL_NUM_THREADS", "32")  # larger than the CPUs: lowered
    assert use_available_cpus(root, proc) == 1
    assert fake_torch.calls == [1] and fake_threadpoolctl.calls == [1]
    assert os.environ["OMP_NUM_THREADS"] == "1" and os.environ["MKL_NUM_THREADS"] == "1"


def test_a_larger_omp_num_threads_is_lowered(root, proc, cores, clean_env, monkeypatch, fake_torch):
    cores(2)
    monkeypatch.setenv("OMP_NUM_THREADS", "64")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")  # smaller: left alone
    assert use_available_cpus(root, proc) == 2
    assert os.environ["OMP_NUM_THREADS"] == "2" and os.environ["OPENBLAS_NUM_THREADS"] == "1"


def test_without_torch_or_threadpoolctl(root, proc, cores, clean_env, monkeypatch):
    cores(3)
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # `import threadpoolctl` fails
    assert use_available_cpus(root, proc) == 3
    assert os.environ["OMP_NUM_THREADS"] == "3"
    assert "torch" not in sys.modules  # nnlib does not import torch to set its threads


def test_exported_at_the_top_level():
    assert nnlib.use_available_cpus is threads.use_available_cpus
    assert "use_available_cpus" in nnlib.__all__


def test_torch_imported_later_reads_the_variables(tmp_path):
    """In a fresh interpreter: with a one-CPU quota, torch imported after the call uses 1 thread."""
    pytest.importorskip("torch")
    (tmp_path / "cpu.max").write_text("100000 100000\n")
    (tmp_path / "proc").write_text("0::/\n")
    code = (
        "import sys, nnlib\n"
        f"n = nnlib.use_available_cpus({str(tmp_path)!r}, {str(tmp_path / 'proc')!r})\n"
        "assert 'torch' not in sys.modules\n"
        "import torch\n"
        "print(n, torch.get_num_threads())\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in THREAD_ENV_VARS}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, check=True
    )
    assert result.stdout.split() == ["1", "1"]


# --------------------------------------------------------------------------------------------
# Busy cores
# --------------------------------------------------------------------------------------------


def stat(*cores: tuple[int, int]) -> str:
    """/proc/stat text with one "cpuN" line per (busy, idle) tick pair, split over its fields."""
    lines = ["cpu  0 0 0 0 0 0 0 0 0 0"]  # the all-cores line, which must be skipped
    for n, (busy, idle) in enumerate(cores):
        # user nice system idle iowait irq softirq steal guest guest_nice
        user, system, steal = busy // 2, busy - busy // 2 - busy // 10, busy // 10
        lines.append(f"cpu{n} {user} 0 {system} {idle - idle // 4} {idle // 4} 0 0 {steal} 7 0")
    return "\n".join(lines + ["intr 123 4 5", "", "ctxt 99", "btime 1700000000"])


def test_busy_between_sums_each_cores_busy_share():
    before = stat((1000, 5000), (2000, 5000), (0, 0))
    after = stat((1100, 5000), (2050, 5050), (10, 90))  # 100 %, 50 %, 10 %
    assert threads._busy_between(before, after, {0, 1, 2}) == pytest.approx(1.6)
    assert threads._busy_between(before, after, {1}) == pytest.approx(0.5)
    assert threads._busy_between(before, after, {5}) == 0.0  # a core /proc/stat does not list
    assert threads._busy_between(before, before, {0, 1}) == 0.0  # no tick passed
    assert threads._busy_between(before, "", {0}) == 0.0


def test_steal_counts_as_busy_and_iowait_as_free():
    before = "cpu0 0 0 0 0 0 0 0 0 0 0"
    assert threads._busy_between(before, "cpu0 0 0 0 0 0 0 0 40 0 0", {0}) == 1.0
    assert threads._busy_between(before, "cpu0 0 0 0 0 40 0 0 0 0 0", {0}) == 0.0


def test_busy_cpus_without_proc_stat_is_zero_at_once(tmp_path):
    started = time.perf_counter()
    assert busy_cpus(interval=5, cpus={0}, proc_stat=tmp_path / "missing") == 0.0
    assert time.perf_counter() - started < 1  # no waiting for a file that is not there


@pytest.mark.parametrize(
    "cpus, busy, expected",
    [
        (2, 0.1, 2),  # a quiet machine: every core
        (2, 0.6, 1),  # one core half used or more: left out
        (2, 1.9, 1),  # a busy program on each core: still one thread
        (8, 3.4, 5),
    ],
)
def test_busy_cores_are_left_out(root, proc, cores, clean_env, fake_torch, monkeypatch, cpus, busy,
                                 expected):
    cores(cpus)
    monkeypatch.setattr(threads, "busy_cpus", lambda **kwargs: busy)
    assert use_available_cpus(root, proc) == expected
    assert fake_torch.calls == [expected] and os.environ["OMP_NUM_THREADS"] == str(expected)
    assert use_available_cpus(root, proc, measure_load=False) == cpus


def test_a_later_call_raises_the_threads_again_but_not_past_a_request(
    root, proc, cores, clean_env, fake_torch, monkeypatch
):
    cores(4)
    load = {"busy": 3.0}
    monkeypatch.setattr(threads, "busy_cpus", lambda **kwargs: load["busy"])
    assert use_available_cpus(root, proc) == 1
    load["busy"] = 0.0  # the machine got quiet: the 1 nnlib wrote is no request
    assert use_available_cpus(root, proc) == 4 and os.environ["OMP_NUM_THREADS"] == "4"
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # someone asks for 2
    assert use_available_cpus(root, proc) == 2
    assert fake_torch.calls == [1, 4, 2]


def test_a_quota_is_not_cut_by_load_on_the_nodes_other_cores(
    root, proc, cores, clean_env, fake_torch, monkeypatch
):
    cores(64)
    write(root / "cpu.max", "200000 100000")
    monkeypatch.setattr(threads, "busy_cpus", lambda **kwargs: 10.0)  # other containers
    assert use_available_cpus(root, proc) == 2
    monkeypatch.setattr(threads, "busy_cpus", lambda **kwargs: 63.4)  # the node is full
    assert use_available_cpus(root, proc) == 1


def test_one_core_needs_no_measurement(root, proc, cores, clean_env, monkeypatch):
    cores(1)
    monkeypatch.setattr(threads, "busy_cpus", lambda **kwargs: pytest.fail("measured"))
    assert use_available_cpus(root, proc) == 1
    cores(8)
    monkeypatch.setattr(threads, "_WRITTEN", {})  # a fresh kernel, started with ...
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # ... one thread, as for grading: no 0.2 s spent
    assert use_available_cpus(root, proc) == 1


@pytest.mark.skipif(not Path("/proc/stat").is_file() or not hasattr(os, "sched_setaffinity"),
                    reason="needs Linux's /proc/stat and sched_setaffinity")
def test_a_spinning_process_is_seen_busy():
    """On the real machine: a process spinning on one core makes that core count as busy."""
    core = min(os.sched_getaffinity(0))
    spin = subprocess.Popen(
        [sys.executable, "-c", f"import os; os.sched_setaffinity(0, {{{core}}})\nwhile True: pass"])
    try:
        time.sleep(0.3)  # it has started and moved to its core
        assert busy_cpus(interval=0.3, cpus={core}, proc_stat="/proc/stat") > 0.8
    finally:
        spin.kill()
        spin.wait()
