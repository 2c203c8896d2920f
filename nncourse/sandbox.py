"""Isolation of grading kernels: a zygote process, Linux namespaces and an unprivileged user.

Grading starts one **zygote**: a process that imports NumPy, PyTorch, nnlib, IPython and
ipykernel once, then forks a fresh kernel for every submission notebook (a fork costs
milliseconds where a new kernel process would spend seconds importing). Each kernel is set up
before any student code runs, in one of three modes, the best the machine allows:

``namespace``
    New mount, PID, network and IPC namespaces (as root; without root inside a user namespace).
    The kernel's whole file system is a small tmpfs that holds, read-only, only the Python
    installation, the installed packages, the nnlib sources and the shared data folder, plus
    a home (``/home/student``) and a private ``/tmp``, the only writable places, both memory of
    a bounded size (`rules.DISK_LIMIT`), and the folder of its sockets: the course folder, the
    gradebook, other submissions and the instructor's home do not exist for it. There is no
    network, and it sees no other process. As root it also runs under an unprivileged uid of
    its own (see below). Killing the kernel ends everything it started.
``user``
    Root without namespaces: the kernel runs under an unprivileged uid that owns its scratch
    folder (mode 0700) and nothing else; the course's private folders are made unreadable to
    other users (`lock_down`). Everything left behind under that uid is killed afterwards.
``none``
    No isolation (not root and no user namespaces): the kernel runs as the grader in its
    scratch folder. `nncourse grade` says so loudly.

Parallel jobs use different uids (``61000 + job`` by default; ``NNCOURSE_SANDBOX_UID`` sets the
first), so that two kernels graded at the same time cannot see each other's files or signal
each other; no account is created for them. ``NNCOURSE_SANDBOX`` forces a mode.

Kernels also get resource limits (memory, counting their children where the grader may make
memory cgroups (`MemoryGroup`); file size, processes, no core dumps), a clean
environment (no secret of the grader's, such as a database password, is inherited: the zygote
itself starts with a scrubbed environment), umask 077 and ``PR_SET_NO_NEW_PRIVS``.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import platform
import resource
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "INNER_HOME",
    "KernelProcess",
    "SandboxError",
    "Zygote",
    "kill_uid",
    "lock_down",
    "sandbox_uid",
]

#: The kernel's home and working folder inside the namespace sandbox.
INNER_HOME = "/home/student"
#: Where the kernel finds its connection file and makes its sockets (the host's scratch folder).
KERNEL_RUN = "/run/nncourse"

_MODES = ("namespace", "user", "none")
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100  # /proc's time unit
_DEFAULT_BASE_UID = 61000

# Linux constants (include/uapi/linux/sched.h, mount.h, prctl.h).
_CLONE_NEWNS = 0x00020000
_CLONE_NEWIPC = 0x08000000
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWPID = 0x20000000
_CLONE_NEWNET = 0x40000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
_MNT_DETACH = 2
_PR_SET_NO_NEW_PRIVS = 38
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "ppc64le": 203, "s390x": 217}

# Modules the zygote imports once, so that forked kernels start warm.
_PRELOAD = (
    "numpy",
    "scipy.special",
    "torch",
    # Creating a torch optimizer imports torch._dynamo the first time (1.5 s): every kernel
    # whose notebook or tests build one (05-07) would pay that itself.
    "torch._dynamo",
    "nnlib",
    "nncourse.checks",
    "nncourse.agent",
    "matplotlib",
    "matplotlib.pyplot",
    "matplotlib_inline.backend_inline",
    "tqdm",
    "tqdm.auto",
    "IPython",
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.comm",
    "ipykernel.debugger",
    "IPython.core.debugger",
    "IPython.core.completerlib",
    "IPython.core.oinspect",
    "IPython.extensions.storemagic",
    "tornado.gen",
    "tornado.queues",
    "tornado.platform.asyncio",
    "stack_data",
    "pygments.formatters.terminal256",
    "ipywidgets",
)


class SandboxError(RuntimeError):
    """The sandbox could not be set up or a kernel could not be started."""


def sandbox_uid(slot: int) -> int:
    """The unprivileged uid of parallel job ``slot``."""
    base = int(os.environ.get("NNCOURSE_SANDBOX_UID") or _DEFAULT_BASE_UID)
    return base + slot


# ---------------------------------------------------------------------------------------------
# System calls through ctypes (Python 3.11 has no os.unshare)
# ---------------------------------------------------------------------------------------------

_LIBC = ctypes.CDLL(None, use_errno=True)


def _fail(what: str) -> None:
    errno = ctypes.get_errno()
    raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _b(text: str | None) -> bytes | None:
    return None if text is None else os.fsencode(text)


def _unshare(flags: int) -> None:
    if _LIBC.unshare(ctypes.c_int(flags)) != 0:
        _fail("unshare")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None):
    if _LIBC.mount(_b(source), _b(target), _b(fstype), ctypes.c_ulong(flags), _b(data)) != 0:
        _fail(f"mount {target}")


def _umount(target: str) -> None:
    if _LIBC.umount2(_b(target), ctypes.c_int(_MNT_DETACH)) != 0:
        _fail(f"umount {target}")


def _pivot_root(new_root: str, put_old: str) -> None:
    number = _SYS_PIVOT_ROOT.get(platform.machine())
    if number is None:
        raise OSError(f"pivot_root: unknown system call number on {platform.machine()}")
    if _LIBC.syscall(ctypes.c_long(number), _b(new_root), _b(put_old)) != 0:
        _fail("pivot_root")


def _no_new_privileges() -> None:
    _LIBC.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


# ---------------------------------------------------------------------------------------------
# Building the kernel's world (runs in the forked child, before any student code)
# ---------------------------------------------------------------------------------------------


def _enter_namespaces() -> None:
    """Unshare mount, PID, network and IPC namespaces (inside a user namespace when not root)."""
    flags = _CLONE_NEWNS | _CLONE_NEWPID | _CLONE_NEWNET | _CLONE_NEWIPC
    if os.geteuid() == 0:
        _unshare(flags)
        return
    uid, gid = os.geteuid(), os.getegid()
    _unshare(flags | _CLONE_NEWUSER)
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"0 {uid} 1")
    Path("/proc/self/gid_map").write_text(f"0 {gid} 1")


def _bind(source: str, root: str, writable: bool = False, target: str | None = None) -> None:
    inside = root + (target or source)
    if os.path.islink(source) and target is None:
        os.makedirs(os.path.dirname(inside), exist_ok=True)
        if not os.path.lexists(inside):
            os.symlink(os.readlink(source), inside)
        return
    if os.path.isdir(source):
        os.makedirs(inside, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(inside), exist_ok=True)
        if not os.path.exists(inside):
            Path(inside).touch()
    _mount(source, inside, None, _MS_BIND | _MS_REC, None)
    if not writable:
        _mount(None, inside, None, _MS_BIND | _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID, None)


def _build_root(root: str, readonly: Iterable[str], scratch: str, owner: int | None) -> None:
    """Make ``root`` (an empty folder) the kernel's whole file system and pivot into it.

    Everything the kernel can write is memory of a bounded size (`rules.DISK_LIMIT` each for
    its home, /tmp and /dev/shm), so a notebook cannot fill the host's disk; the host's
    ``scratch`` folder is only where its sockets are (`KERNEL_RUN`). ``owner`` is the uid the
    kernel will run as (None: this namespace's root).
    """
    from nncourse import rules

    size = rules.DISK_LIMIT
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE, None)
    _mount("tmpfs", root, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=16m,mode=0755")
    # The private /tmp first: a course checked out under /tmp (its venv, its nnlib) is then
    # bound inside it below instead of being hidden by it.
    for tmp, mode in (("/tmp", "1777"), ("/dev/shm", "1777")):
        os.makedirs(root + tmp, exist_ok=True)
        _mount("tmpfs", root + tmp, "tmpfs", _MS_NOSUID | _MS_NODEV, f"size={size},mode={mode}")
    for path in ("/usr", "/bin", "/lib", "/lib64", "/lib32", "/etc", *readonly):
        if os.path.lexists(path):
            _bind(path, root)
    os.makedirs(root + "/dev", exist_ok=True)
    for device in ("null", "zero", "full", "random", "urandom"):
        _bind(f"/dev/{device}", root, writable=True)
    _bind(scratch, root, writable=True, target=KERNEL_RUN)
    os.makedirs(root + INNER_HOME, exist_ok=True)
    ids = "" if owner is None else f",uid={owner},gid={owner}"
    _mount("tmpfs", root + INNER_HOME, "tmpfs", _MS_NOSUID | _MS_NODEV,
           f"size={size},mode=0700{ids}")
    os.makedirs(root + "/proc", exist_ok=True)
    try:
        _mount("proc", root + "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, None)
    except OSError:
        pass  # some containers forbid a new procfs; the kernel then runs without /proc
    os.makedirs(root + "/.old-root", exist_ok=True)
    os.chdir(root)
    _pivot_root(".", ".old-root")
    os.chroot(".")
    os.chdir("/")
    _umount("/.old-root")
    os.rmdir("/.old-root")
    _mount(None, "/", None, _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV, None)


def _set_limits(limits: dict[str, int]) -> None:
    """Resource limits of the kernel (memory on top of what the warm zygote already maps)."""
    in_use = 0
    try:
        with open("/proc/self/statm") as statm:
            in_use = int(statm.read().split()[0]) * resource.getpagesize()
    except OSError:
        pass
    wanted = {
        resource.RLIMIT_AS: in_use + limits["memory"],
        resource.RLIMIT_FSIZE: limits["file_size"],
        resource.RLIMIT_CORE: 0,
        resource.RLIMIT_NOFILE: 1024,
    }
    if os.geteuid() == 0 and limits.get("uid"):
        wanted[resource.RLIMIT_NPROC] = limits["processes"]
    for kind, value in wanted.items():
        try:
            soft, hard = resource.getrlimit(kind)
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(kind, (value, value if os.geteuid() == 0 else hard))
        except (ValueError, OSError):
            pass


def _drop_privileges(uid: int | None) -> None:
    if uid is None or os.geteuid() != 0:
        return
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    if os.getuid() != uid or os.geteuid() != uid:
        raise SandboxError("could not drop privileges")


def _become_kernel(request: dict[str, Any]) -> None:
    """Turn this forked child into the grading kernel of ``request`` (never returns)."""
    status = 1
    try:
        mode = request["mode"]
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.closerange(3, 65536)
        if mode == "namespace":
            _build_root(request["root"], request["readonly"], request["scratch"],
                        request.get("uid"))
        _set_limits(request["limits"])
        _drop_privileges(request.get("uid"))
        _no_new_privileges()
        os.umask(0o077)
        os.chdir(request["home"])
        os.environ.clear()
        os.environ.update(request["env"])
        _reseed()
        _run_kernel(request)
        status = 0
    except BaseException:  # noqa: BLE001 - nothing may escape a forked child
        pass
    finally:
        os._exit(status)


def _reseed() -> None:
    """The same random states in every kernel (the zygote's are shared by forks): a notebook
    whose answer cells draw from NumPy's, Python's or torch's global generator computes the
    same numbers in every grading run (each test cell is seeded again before it runs)."""
    from nncourse import agent, rules

    agent.seed_everything(rules.TEST_SEED)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


def _run_kernel(request: dict[str, Any]) -> None:
    from ipykernel.kernelapp import IPKernelApp

    from nncourse import agent

    app = IPKernelApp.instance()
    app.initialize(
        [
            "-f",
            request["connection_file"],
            "--HistoryManager.enabled=False",
            "--IPKernelApp.log_level=CRITICAL",
            "--Application.log_level=CRITICAL",
        ]
    )
    agent.install(app.shell)
    del request
    app.start()


# ---------------------------------------------------------------------------------------------
# The zygote
# ---------------------------------------------------------------------------------------------


def _preload(skip: Iterable[str] = ()) -> list[str]:
    """Import what kernels need but ``skip``; return the modules that could not be imported."""
    missing = []
    for name in _PRELOAD:
        if any(name == s or name.startswith(s + ".") for s in skip if s):
            continue
        try:
            __import__(name)
        except Exception:  # noqa: BLE001 - an optional package that is not installed
            missing.append(name)
    return missing


def readonly_paths(extra: Iterable[str] = ()) -> list[str]:
    """What a namespace sandbox exposes read-only: Python, installed packages, nnlib, data."""
    paths: set[str] = set()
    for prefix in (sys.base_prefix, sys.prefix, sys.exec_prefix, sys.base_exec_prefix):
        paths.add(os.path.realpath(prefix))
        paths.add(os.path.abspath(prefix))
    paths.add(os.path.dirname(os.path.realpath(sys.executable)))
    for name, module in list(sys.modules.items()):
        if "." in name or module is None:
            continue
        locations = list(getattr(module, "__path__", []) or [])
        if not locations and getattr(module, "__file__", None):
            locations = [module.__file__]
        for location in locations:
            real = os.path.realpath(location)
            if not any(real == p or real.startswith(p + os.sep) for p in paths):
                paths.add(real)
    paths |= {os.path.realpath(p) for p in extra if os.path.exists(p)}
    ordered = sorted(p for p in paths if os.path.exists(p))
    return [p for p in ordered if not any(p.startswith(q + os.sep) for q in ordered if q != p)]


def _probe(mode: str, readonly: list[str], workdir: str) -> str | None:
    """Try to set up ``mode`` in a throw-away child; None when it works, else why not."""
    scratch = tempfile.mkdtemp(prefix="probe-", dir=workdir)
    root = tempfile.mkdtemp(prefix="root-", dir=workdir)
    uid = sandbox_uid(0) if os.geteuid() == 0 else None
    if uid is not None:
        os.chown(scratch, uid, uid)
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(reader)
        message = b""
        try:
            if mode == "namespace":
                _enter_namespaces()
                child = os.fork()
                if child:
                    _, status = os.waitpid(child, 0)
                    os._exit(os.waitstatus_to_exitcode(status))
                _build_root(root, readonly, scratch, uid)
                os.chdir(INNER_HOME)
            else:
                os.chdir(scratch)
            _drop_privileges(uid)
            _no_new_privileges()
            __import__("fractions")  # a module not loaded yet: the installation is readable
            Path("probe").write_text("ok")
            os._exit(0)
        except BaseException as exc:  # noqa: BLE001
            message = f"{type(exc).__name__}: {exc}".encode()
            os.write(writer, message[:1000])
            os._exit(1)
    os.close(writer)
    _, status = os.waitpid(pid, 0)
    why = os.read(reader, 1000).decode(errors="replace")
    os.close(reader)
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.rmtree(root, ignore_errors=True)
    if os.waitstatus_to_exitcode(status) == 0:
        return None
    return why or "the test kernel did not start"


def _choose_mode(wanted: str | None, readonly: list[str], workdir: str) -> tuple[str, list[str]]:
    notes = []
    candidates = [wanted] if wanted else list(_MODES)
    for mode in candidates:
        if mode == "none":
            return "none", notes
        if mode == "user" and os.geteuid() != 0:
            notes.append("user: needs root")
            continue
        why = _probe(mode, readonly, workdir)
        if why is None:
            return mode, notes
        notes.append(f"{mode}: {why}")
    return "none", notes


def _serve_one(listener: socket.socket) -> None:
    connection, _ = listener.accept()
    with connection:
        data = b""
        while not data.endswith(b"\n"):
            chunk = connection.recv(1 << 20)
            if not chunk:
                return
            data += chunk
        request = json.loads(data)
        pid = os.fork()
        if pid:
            return
        # The intermediate child: namespaces, then the kernel as its child.
        try:
            listener.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            os.setsid()
            if request["mode"] == "namespace":
                _enter_namespaces()
            kernel = os.fork()
            if kernel == 0:
                connection.close()
                _become_kernel(request)
            del request
            connection.sendall(json.dumps({"pid": kernel}).encode() + b"\n")
            connection.close()
            os.waitpid(kernel, 0)
            os._exit(0)
        except BaseException as exc:  # noqa: BLE001
            try:
                connection.sendall(json.dumps({"error": repr(exc)}).encode() + b"\n")
            finally:
                os._exit(1)


def _reap(signum: int, frame: object) -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def zygote_main(socket_path: str, workdir: str, wanted: str | None, extra: list[str]) -> None:
    """Entry point of the zygote process (see `Zygote`)."""
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    missing = _preload(os.environ.get("NNCOURSE_ZYGOTE_SKIP", "").split(","))
    readonly = readonly_paths(extra)
    mode, notes = _choose_mode(wanted, readonly, workdir)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(64)
    signal.signal(signal.SIGCHLD, _reap)
    threads = len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else 1
    ready = {"mode": mode, "notes": notes, "readonly": readonly, "missing": missing,
             "threads": threads, "root": os.geteuid() == 0}
    sys.stdout.write(json.dumps(ready) + "\n")
    sys.stdout.flush()
    while True:
        readable, _, _ = select.select([listener, sys.stdin], [], [])
        if sys.stdin in readable and not os.read(sys.stdin.fileno(), 1024):
            return  # the grader closed our stdin: it is done (or gone)
        if listener in readable:
            try:
                _serve_one(listener)
            except (OSError, ValueError):
                continue


@dataclass
class Zygote:
    """The zygote process of a grading run: ``with Zygote(workdir) as z: z.spawn(...)``.

    ``workdir`` is a private (0700) folder of the grading run; ``mode`` forces a sandbox mode
    (default: ``$NNCOURSE_SANDBOX``, else the best available); ``share`` lists extra folders
    kernels may read (the MNIST data, say).
    """

    workdir: Path
    mode: str | None = None
    share: list[str] = field(default_factory=list)
    #: Modules of the preload list not to import (`grader.grade` skips torch for assignments
    #: that never use it: a second and a half saved per run; a kernel that imports it anyway
    #: just pays that itself).
    skip: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def __enter__(self) -> Zygote:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def socket_path(self) -> str:
        """The zygote's unix socket."""
        return str(self.workdir / "zygote.sock")

    def start(self, timeout: float = 180.0) -> None:
        """Start the zygote and wait until it has imported everything and chosen its mode."""
        wanted = self.mode or os.environ.get("NNCOURSE_SANDBOX") or None
        if wanted and wanted not in _MODES:
            raise SandboxError(f"NNCOURSE_SANDBOX must be one of {', '.join(_MODES)}")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "HOME": str(self.workdir),
            "MPLCONFIGDIR": str(self.workdir / "matplotlib"),
            "NNCOURSE_ZYGOTE_SKIP": ",".join(self.skip),
        }
        command = [sys.executable, "-I", "-m", "nncourse.sandbox", "zygote", self.socket_path,
                   str(self.workdir), wanted or "", *self.share]
        log = open(self.workdir / "zygote.log", "wb")  # noqa: SIM115 - kept for the process
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, cwd="/", env=env
        )
        log.close()
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if ready else b""
        if not line:
            self.close()
            tail = (self.workdir / "zygote.log").read_text(errors="replace")[-2000:]
            raise SandboxError(f"the grading zygote did not start:\n{tail}")
        self.info = json.loads(line)

    @property
    def sandbox_mode(self) -> str:
        """The mode kernels run in: "namespace", "user" or "none"."""
        return str(self.info.get("mode", "none"))

    def describe(self) -> str:
        """One line saying how kernels are isolated."""
        mode = self.sandbox_mode
        if mode == "namespace":
            who = "an unprivileged uid per job" if self.info.get("root") else "a user namespace"
            return (f"kernels run in private namespaces (no course files, no network) under "
                    f"{who}")
        if mode == "user":
            return "kernels run under an unprivileged uid per job (no namespaces available)"
        why = "; ".join(self.info.get("notes", [])) or "forced"
        return f"WARNING: kernels are NOT isolated from the course files ({why})"

    def spawn(self, request: dict[str, Any], timeout: float = 30.0) -> int:
        """Fork a kernel for ``request``; return its process id (as seen from here)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(self.socket_path)
            sock.sendall(json.dumps(request).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        if not data:
            raise SandboxError("the zygote closed the connection without starting a kernel")
        reply = json.loads(data)
        if "pid" not in reply:
            raise SandboxError(f"the zygote could not start a kernel: {reply.get('error')}")
        return int(reply["pid"])

    def close(self) -> None:
        """Stop the zygote (kernels it started are stopped by their workers)."""
        if self.process is None:
            return
        try:
            if self.process.stdin:
                self.process.stdin.close()
            self.process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()
        self.process = None


# ---------------------------------------------------------------------------------------------
# The grader's side of one kernel
# ---------------------------------------------------------------------------------------------


def kill_uid(uid: int) -> None:
    """SIGKILL every process running under ``uid`` (a sandbox uid, never a real account)."""
    if uid < 1000:
        raise ValueError(f"refusing to kill the processes of uid {uid}")
    for _ in range(3):
        found = False
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    os.kill(int(entry), signal.SIGKILL)
                    found = True
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue
        if not found:
            return
        time.sleep(0.05)


def _memory_cgroup() -> Path | None:
    """This process's cgroup (v1) memory folder, when it may make groups below it."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            folder = Path("/sys/fs/cgroup/memory") / path.lstrip("/")
            if (folder / "memory.limit_in_bytes").is_file() and os.access(folder, os.W_OK):
                return folder
    return None


class MemoryGroup:
    """A memory cgroup for one kernel: its limit counts the kernel and all its children.

    (`resource.RLIMIT_AS`, set as well, is per process: five forked children could each use
    the whole limit.) Where the grader may not make cgroups, `create` returns None and only the
    per-process limit holds; `nncourse grade` says which.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def create(cls, name: str, limit: int) -> MemoryGroup | None:
        parent = _memory_cgroup()
        if parent is None:
            return None
        folder = parent / name
        try:
            folder.mkdir()
            (folder / "memory.limit_in_bytes").write_text(str(limit))
            swap = folder / "memory.memsw.limit_in_bytes"
            if swap.exists():
                swap.write_text(str(limit))  # no swapping past the limit either
        except OSError:
            with contextlib.suppress(OSError):
                folder.rmdir()
            return None
        return cls(folder)

    def add(self, pid: int) -> None:
        """Move process ``pid`` (and so everything it starts later) into the group."""
        (self.folder / "cgroup.procs").write_text(str(pid))

    def remove(self) -> None:
        """Kill what is left in the group and delete it."""
        for _ in range(50):
            try:
                pids = [int(p) for p in (self.folder / "cgroup.procs").read_text().split()]
            except OSError:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            try:
                self.folder.rmdir()
                return
            except OSError:
                time.sleep(0.02)


def memory_groups_available() -> bool:
    """Whether kernels get a memory limit that counts their children (a memory cgroup)."""
    return _memory_cgroup() is not None


@dataclass
class KernelProcess:
    """A sandboxed kernel started through the zygote, with a client connected to it."""

    pid: int
    uid: int | None
    mode: str
    client: Any
    scratch: Path
    memory_group: MemoryGroup | None = None

    def alive(self) -> bool:
        """Whether the kernel process still runs."""
        try:
            with open(f"/proc/{self.pid}/stat") as stat:
                return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
        except (FileNotFoundError, IndexError):
            return False

    def cpu_seconds(self) -> float | None:
        """CPU time the kernel process has used so far (all its threads, and the children it
        has waited for), or None if /proc cannot tell."""
        try:
            with open(f"/proc/{self.pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            # After the name: state, ppid, ... utime, stime, cutime, cstime are fields 12-15.
            return sum(int(f) for f in fields[11:15]) / _CLOCK_TICKS
        except (OSError, IndexError, ValueError):
            return None

    def interrupt(self) -> None:
        """Send SIGINT (a KeyboardInterrupt in the running cell)."""
        try:
            os.kill(self.pid, signal.SIGINT)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """Kill the kernel and everything it started."""
        try:
            self.client.stop_channels()
        except Exception:  # noqa: BLE001, S110 - the kernel is going away anyway
            pass
        try:
            os.killpg(os.getpgid(self.pid), signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            os.kill(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.uid is not None and self.mode == "user":
            kill_uid(self.uid)
        if self.memory_group is not None:
            self.memory_group.remove()
            self.memory_group = None
        deadline = time.monotonic() + 5
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.01)


def start_kernel(
    zygote: Zygote,
    *,
    slot: int,
    scratch: Path,
    limits: dict[str, int],
    extra_env: dict[str, str] | None = None,
    ready_timeout: float = 60.0,
) -> KernelProcess:
    """Start a kernel for one notebook in ``scratch`` (a fresh folder) and connect to it."""
    from jupyter_client.blocking import BlockingKernelClient

    mode = zygote.sandbox_mode
    uid = sandbox_uid(slot) if os.geteuid() == 0 and mode != "none" else None
    home = INNER_HOME if mode == "namespace" else str(scratch)
    run = KERNEL_RUN if mode == "namespace" else str(scratch)
    root = ""
    if mode == "namespace":
        root = tempfile.mkdtemp(prefix="root-", dir=scratch.parent)
    connection = {
        "transport": "ipc",
        "ip": os.path.join(run, ".kernel"),
        "shell_port": 1,
        "iopub_port": 2,
        "stdin_port": 3,
        "control_port": 4,
        "hb_port": 5,
        "key": secrets.token_hex(32),
        "signature_scheme": "hmac-sha256",
        "kernel_name": "nncourse",
    }
    connection_file = scratch / ".kernel.json"
    connection_file.write_text(json.dumps(connection))
    os.chmod(connection_file, 0o600)
    if uid is not None:
        for path in [scratch, *scratch.rglob("*")]:
            os.lchown(path, uid, uid)
        os.chmod(scratch, 0o700)
    env = {
        "PATH": os.path.dirname(sys.executable) + ":/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "USER": "student",
        "LOGNAME": "student",
        "LANG": "C.UTF-8",
        "TMPDIR": "/tmp" if mode == "namespace" else home,
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "MPLCONFIGDIR": os.path.join(home, ".config", "matplotlib"),
        "IPYTHONDIR": os.path.join(home, ".ipython"),
        "JUPYTER_RUNTIME_DIR": os.path.join(home, ".jupyter"),
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "NNLIB_OFFLINE": "1",
        "NBGRADER_EXECUTION": "autograde",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        **(extra_env or {}),
    }
    request = {
        "mode": mode,
        "uid": uid,
        "root": root,
        "scratch": str(scratch),
        "home": home,
        "readonly": zygote.info.get("readonly", []),
        "connection_file": os.path.join(run, ".kernel.json"),
        "env": env,
        "limits": {**limits, "uid": uid or 0},
    }
    pid = zygote.spawn(request)
    group = MemoryGroup.create(f"nncourse-{os.getpid()}-{scratch.name}", limits["memory"])
    if group is not None:
        try:
            group.add(pid)
        except OSError:
            group.remove()
            group = None
    client = BlockingKernelClient()
    client.load_connection_info({**connection, "ip": os.path.join(str(scratch), ".kernel")})
    kernel = KernelProcess(pid=pid, uid=uid, mode=mode, client=client, scratch=scratch,
                           memory_group=group)
    try:
        _wait_for_sockets(scratch, kernel, ready_timeout)
        client.start_channels()
        wait_until_ready(client, kernel.alive, ready_timeout)
    except Exception as exc:
        kernel.kill()
        raise SandboxError(f"the grading kernel did not start: {exc}") from exc
    return kernel


def wait_until_ready(client: Any, alive: Any, timeout: float) -> None:
    """Wait until the kernel answers on its shell channel and its IOPub messages arrive."""
    import queue

    deadline = time.monotonic() + timeout
    shell_ok = iopub_ok = False
    next_request = 0.0
    while not (shell_ok and iopub_ok):
        now = time.monotonic()
        if now > deadline:
            raise SandboxError("the kernel did not answer in time")
        if not alive():
            raise SandboxError("the kernel process ended during start-up")
        if now >= next_request:
            client.kernel_info()
            next_request = now + 0.5
        try:
            while True:
                client.get_shell_msg(timeout=0)
                shell_ok = True
        except queue.Empty:
            pass
        try:
            client.get_iopub_msg(timeout=0.01)
            iopub_ok = True
        except queue.Empty:
            pass


def _wait_for_sockets(scratch: Path, kernel: KernelProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not all((scratch / f".kernel-{port}").exists() for port in (1, 2, 4, 5)):
        if not kernel.alive():
            raise SandboxError("the kernel process ended during start-up")
        if time.monotonic() > deadline:
            raise SandboxError("timed out waiting for the kernel's sockets")
        time.sleep(0.005)


# ---------------------------------------------------------------------------------------------
# The course folder's permissions ("user" mode)
# ---------------------------------------------------------------------------------------------


def remove_tree(path: str | Path) -> None:
    """Delete a kernel's folder, whatever the notebook left in it (a tree 3,000 folders deep
    makes `shutil.rmtree` raise RecursionError; ``rm -rf`` does not recurse in Python)."""
    try:
        shutil.rmtree(path, ignore_errors=True)
    except RecursionError:
        subprocess.run(["rm", "-rf", "--one-file-system", "--", str(path)], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def lock_down(paths: Iterable[Path]) -> list[str]:
    """Remove every permission of "others" on ``paths`` (that exist); return what changed."""
    changed = []
    for path in paths:
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            continue
        if mode & 0o007:
            os.chmod(path, mode & ~0o007)
            changed.append(str(path))
    return changed


def _zygote_cli(argv: list[str]) -> None:
    socket_path, workdir, wanted, *extra = argv
    zygote_main(socket_path, workdir, wanted or None, extra)


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "zygote":
        _zygote_cli(sys.argv[2:])
    else:
        sys.exit("usage: python -m nncourse.sandbox zygote SOCKET WORKDIR MODE [SHARE...]")
