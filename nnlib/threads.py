"""Size the CPU thread pools to the CPUs this process may really use.

    import nnlib
    nnlib.use_available_cpus()        # e.g. 2 in a 2-CPU container on a 64-core node

PyTorch, OpenBLAS, MKL and OpenMP start one thread per core they *see*. In a container
(JupyterHub, Binder, a CI runner) that is often every core of the host, while the container
may only run on one or two of them: the extra threads then queue for the same CPUs and wait on
each other, and training gets several times slower than the CPU share alone explains.

Two things limit the CPUs a process may use, and ``available_cpus`` takes the smaller:

- its **affinity**, the set of cores it may run on (``os.sched_getaffinity``; a cpuset);
- the **cgroup CPU quota**, the CPU time it may use per period: cgroup v2 writes it to
  ``cpu.max`` ("max 100000" for no limit, "200000 100000" for two CPUs' worth), cgroup v1 to
  ``cpu.cfs_quota_us`` (-1 for no limit) and ``cpu.cfs_period_us``. A fractional quota is rounded
  up (1.5 CPUs -> 2 threads). The process's own cgroup and every cgroup above it count.

A third thing matters for speed, not for permission: **cores other programs keep busy**. A
parallel torch operation splits its work over its threads and waits for the last one; a thread
that shares its core with a busy program runs at half speed, so the whole operation does.
Measured on lesson 11 (a small CNN) on two cores with two busy programs beside it: with 2
threads it ran 6.5x slower than on a quiet machine, with 1 thread 1.3x. So
``use_available_cpus`` also looks, for a fifth of a second, at how busy this process's cores
are (``busy_cpus``, from ``/proc/stat``) and leaves out the cores others are using, keeping at
least one thread. That is a snapshot: if
the machine gets busy later, call it again (it is cheap). ``measure_load=False`` skips it.

``use_available_cpus`` then sets, to that number:

- torch's intra-op threads (``torch.set_num_threads``) if torch is already imported; nnlib
  never imports torch for this;
- the threads of every BLAS and OpenMP library already loaded (NumPy's OpenBLAS, torch's
  OpenMP), through ``threadpoolctl`` when it is installed;
- the environment variables ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``
  and friends, lowered where they are unset or larger. Libraries read these once, when they are
  loaded, so they only act on libraries loaded later (torch imported after the call, a
  DataLoader's worker processes). Without threadpoolctl, NumPy's BLAS, loaded with NumPy, keeps
  its thread count.

An ``OMP_NUM_THREADS`` already set to a smaller number wins: someone asked for fewer threads.
"""

from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path

__all__ = [
    "CGROUP_ROOT",
    "THREAD_ENV_VARS",
    "available_cpus",
    "busy_cpus",
    "cgroup_cpu_limit",
    "use_available_cpus",
]

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_SELF_CGROUP = Path("/proc/self/cgroup")
PROC_STAT = Path("/proc/stat")

# Read once at load time by OpenMP, OpenBLAS, MKL, BLIS, Apple's Accelerate and numexpr.
THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)

# Where cgroup v1 mounts the cpu controller, relative to the cgroup root.
_V1_CPU_MOUNTS = ("cpu", "cpu,cpuacct", "cpuacct,cpu")


def _read(path: Path) -> str | None:
    """The stripped text of a file, or None if it cannot be read."""
    try:
        return path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None


def _own_cgroups(proc_self_cgroup: Path) -> tuple[str, str]:
    """(v2 path, v1 cpu path) of this process's cgroups from /proc/self/cgroup; "/" if unknown.

    Each line is "hierarchy-id:controllers:path"; cgroup v2's line is "0::path", v1's cpu line
    names "cpu" among its comma-separated controllers.
    """
    v2 = v1 = "/"
    for line in (_read(proc_self_cgroup) or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hierarchy, controllers, path = parts
        if hierarchy == "0" and controllers == "":
            v2 = path or "/"
        elif "cpu" in controllers.split(","):
            v1 = path or "/"
    return v2, v1


def _up_to(base: Path, relative: str) -> list[Path]:
    """base/relative and each folder above it up to base itself, the ones that exist."""
    folder = base / relative.strip("/")
    chain = [folder, *folder.parents]
    stop = chain.index(base) if base in chain else 0
    return [p for p in chain[: stop + 1] if p.is_dir()]


def _ceil_cpus(quota: int, period: int) -> int | None:
    """quota / period rounded up, at least 1; None for no limit or nonsense values."""
    if quota <= 0 or period <= 0:
        return None
    return max(1, math.ceil(quota / period))


def _v2_limit(folder: Path) -> int | None:
    """The CPUs allowed by folder/cpu.max ("max 100000" or "200000 100000"), or None."""
    text = _read(folder / "cpu.max")
    if not text:
        return None
    fields = text.split()
    if fields[0] == "max":
        return None
    try:
        quota = int(fields[0])
        period = int(fields[1]) if len(fields) > 1 else 100_000
    except ValueError:
        return None
    return _ceil_cpus(quota, period)


def _v1_limit(folder: Path) -> int | None:
    """The CPUs allowed by folder/cpu.cfs_quota_us and cpu.cfs_period_us (-1: none), or None."""
    quota, period = _read(folder / "cpu.cfs_quota_us"), _read(folder / "cpu.cfs_period_us")
    if quota is None or period is None:
        return None
    try:
        return _ceil_cpus(int(quota), int(period))
    except ValueError:
        return None


def cgroup_cpu_limit(
    cgroup_root: str | os.PathLike[str] = CGROUP_ROOT,
    proc_self_cgroup: str | os.PathLike[str] = PROC_SELF_CGROUP,
) -> int | None:
    """The number of CPUs the cgroup CPU quota allows (rounded up), or None if there is no quota.

    Reads cgroup v2's ``cpu.max`` and cgroup v1's ``cpu/cpu.cfs_quota_us`` under ``cgroup_root``,
    in the process's own cgroup (from ``proc_self_cgroup``) and every cgroup above it, and
    returns the tightest. Missing or unreadable files count as no limit. Both paths are
    parameters so that tests can point them at fake files.
    """
    root = Path(cgroup_root)
    v2_path, v1_path = _own_cgroups(Path(proc_self_cgroup))
    limits = [_v2_limit(folder) for folder in _up_to(root, v2_path)]
    for mount in _V1_CPU_MOUNTS:
        base = root / mount
        if base.is_dir():
            limits += [_v1_limit(folder) for folder in _up_to(base, v1_path)]
    found = [limit for limit in limits if limit is not None]
    return min(found) if found else None


def _affinity_cpus() -> int:
    """The number of cores this process may run on (all cores where affinity is unknown)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def available_cpus(
    cgroup_root: str | os.PathLike[str] = CGROUP_ROOT,
    proc_self_cgroup: str | os.PathLike[str] = PROC_SELF_CGROUP,
) -> int:
    """The CPUs this process may really use: the smaller of its affinity and its cgroup quota."""
    cpus = _affinity_cpus()
    quota = cgroup_cpu_limit(cgroup_root, proc_self_cgroup)
    if quota is not None:
        cpus = min(cpus, quota)
    return max(1, cpus)


def _cpu_ticks(text: str) -> dict[int, tuple[int, int]]:
    """{cpu number: (busy ticks, all ticks)} from the text of /proc/stat.

    Each "cpuN" line counts the clock ticks core N spent in: user, nice, system, idle, iowait,
    irq, softirq, steal (then guest times, already inside user). Idle and iowait are free time;
    the rest, steal included (a virtual machine's core taken by the host), is busy.
    """
    ticks = {}
    for line in text.splitlines():
        name, *fields = line.split() or [""]
        if not (name.startswith("cpu") and name[3:].isdigit()):
            continue
        try:
            counts = [int(f) for f in fields[:8]]
        except ValueError:
            continue
        idle = sum(counts[3:5])
        ticks[int(name[3:])] = (sum(counts) - idle, sum(counts))
    return ticks


def _busy_between(before: str, after: str, cpus: set[int]) -> float:
    """The busy cores among `cpus` between two readings of /proc/stat: each core's busy share
    of the ticks that passed, summed (0.0 to len(cpus))."""
    first, second = _cpu_ticks(before), _cpu_ticks(after)
    busy = 0.0
    for cpu in cpus:
        if cpu in first and cpu in second:
            worked = second[cpu][0] - first[cpu][0]
            passed = second[cpu][1] - first[cpu][1]
            if passed > 0:
                busy += min(1.0, max(0.0, worked / passed))
    return busy


def busy_cpus(
    interval: float = 0.2,
    cpus: set[int] | None = None,
    proc_stat: str | os.PathLike[str] | None = None,
) -> float:
    """How many of `cpus` (default: the cores this process may run on) are busy, measured over
    `interval` seconds from /proc/stat; e.g. 1.9 with a busy program on each of two cores.

    The calling thread sleeps meanwhile, so the number is what *other* programs and threads
    use. 0.0 where /proc/stat cannot be read (macOS, Windows). `proc_stat` is a parameter (by
    default PROC_STAT) so that tests can point it at fake files.
    """
    path = Path(PROC_STAT if proc_stat is None else proc_stat)
    if cpus is None:
        cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
    before = _read(path)
    if before is None or not cpus:
        return 0.0
    time.sleep(interval)
    return _busy_between(before, _read(path) or "", cpus)


# The values use_available_cpus wrote into the environment: a later call may raise them again
# (the machine got quieter), while a value someone else set is a request for at most that many.
_WRITTEN: dict[str, str] = {}


def _ours(name: str) -> bool:
    """Whether the environment variable `name` holds the value use_available_cpus wrote."""
    return name in _WRITTEN and os.environ.get(name) == _WRITTEN[name]


def _env_int(name: str) -> int | None:
    """The positive integer in the environment variable `name`, or None."""
    try:
        value = int(os.environ.get(name, "").strip())
    except ValueError:
        return None
    return value if value > 0 else None


def use_available_cpus(
    cgroup_root: str | os.PathLike[str] = CGROUP_ROOT,
    proc_self_cgroup: str | os.PathLike[str] = PROC_SELF_CGROUP,
    *,
    measure_load: bool = True,
    proc_stat: str | os.PathLike[str] | None = None,
) -> int:
    """Set torch's, BLAS's and OpenMP's thread counts to the CPUs this process may use and
    nobody else is using.

    The number is ``available_cpus()``; less the cores other programs keep busy right now
    (``busy_cpus()``, rounded; only with ``measure_load``); at least 1; and no more than
    ``OMP_NUM_THREADS`` if that is set. It is returned. Calling again is harmless, and
    re-measures. See the module's docstring for what is set and when it takes effect.
    """
    threads = available_cpus(cgroup_root, proc_self_cgroup)
    requested = _env_int("OMP_NUM_THREADS") if not _ours("OMP_NUM_THREADS") else None
    if requested is not None:
        threads = min(threads, requested)
    if measure_load and threads > 1:  # nothing to measure for one thread (a grading kernel)
        # Compare with the cores this process may run on: a quota of 2 CPUs on a 64-core node
        # is not cut because other containers keep 10 of the 64 busy.
        cores = _affinity_cpus()
        free = cores - math.floor(busy_cpus(proc_stat=proc_stat) + 0.5)
        threads = max(1, min(threads, free))

    for name in THREAD_ENV_VARS:  # for libraries loaded from now on
        current = _env_int(name)
        if current is None or current > threads or _ours(name):
            os.environ[name] = _WRITTEN[name] = str(threads)

    try:  # for the BLAS and OpenMP libraries already loaded
        from threadpoolctl import threadpool_limits
    except ImportError:
        pass
    else:
        threadpool_limits(limits=threads)

    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "set_num_threads"):
        torch.set_num_threads(threads)
    return threads
