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
from pathlib import Path

__all__ = [
    "CGROUP_ROOT",
    "THREAD_ENV_VARS",
    "available_cpus",
    "cgroup_cpu_limit",
    "use_available_cpus",
]

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_SELF_CGROUP = Path("/proc/self/cgroup")

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
) -> int:
    """Set torch's, BLAS's and OpenMP's thread counts to the CPUs this process may use.

    The number is ``available_cpus()``, or ``OMP_NUM_THREADS`` if that is set and smaller; it is
    returned. Calling again is harmless. See the module's docstring for what is set and when it
    takes effect.
    """
    threads = available_cpus(cgroup_root, proc_self_cgroup)
    requested = _env_int("OMP_NUM_THREADS")
    if requested is not None:
        threads = min(threads, requested)

    for name in THREAD_ENV_VARS:  # for libraries loaded from now on
        current = _env_int(name)
        if current is None or current > threads:
            os.environ[name] = str(threads)

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
