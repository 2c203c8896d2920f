"""Every grading rule in one place: time limits, resources, tolerances, forbidden modules.

Change a number here and every runner (``nncourse grade``, ``nncourse check``, Validate and
stock ``nbgrader autograde``) follows it. Nothing here is secret: students may read it.
"""

from __future__ import annotations

# --- Time ------------------------------------------------------------------------------------

#: Seconds one call of student code may take before it is stopped (an endless loop, say).
CALL_TIME_LIMIT = 10.0
#: Seconds one notebook cell may run (a student cell, or a whole test cell with its calls).
CELL_TIME_LIMIT = 60.0
#: Seconds one submission notebook may take in all.
NOTEBOOK_TIME_LIMIT = 300.0
#: The limits above count time the work could use. On a loaded machine a process gets less than
#: a whole core, so the wall clock runs ahead of the work: a limit is only spent when both the
#: wall-clock time and the CPU time used (the kernel's, and for a test cell the grader's as well)
#: have passed it. Whatever the CPU time, nothing runs longer than this many times its limit on
#: the wall clock (code that sleeps, or waits for something that never comes).
WALL_CLOCK_FACTOR = 3.0
#: Seconds the kernel gets to stop after an interrupt before it is killed.
INTERRUPT_GRACE = 3.0
#: Seconds a grading kernel may take to start.
KERNEL_START_TIMEOUT = 60.0
#: Kernel restarts allowed per notebook (after a cell that kills its kernel) before giving up.
MAX_RESTARTS = 2


def since(now: float | None, start: float | None) -> float | None:
    """now - start for two readings of a CPU clock, or None if either is unknown."""
    return None if now is None or start is None else now - start


def time_used(wall: float, cpu: float | None) -> float:
    """The time a limit counts: the smaller of wall-clock and CPU seconds (wall if the CPU time
    is unknown). A single-threaded process on a quiet core has the two equal."""
    return wall if cpu is None else min(wall, cpu)


def over_time(wall: float, cpu: float | None, limit: float) -> bool:
    """Whether work that took `wall` seconds and `cpu` CPU seconds has spent `limit`."""
    return time_used(wall, cpu) > limit or wall > limit * WALL_CLOCK_FACTOR


def next_check(wall: float, cpu: float | None, limit: float) -> float:
    """Seconds from now after which `over_time` can first be true (at least 0.05)."""
    return max(0.05, min(limit - time_used(wall, cpu), limit * WALL_CLOCK_FACTOR - wall))


# --- Resources of a grading kernel (children included) ----------------------------------------

#: Address space of the kernel, bytes.
MEMORY_LIMIT = 4 << 30
#: What the kernel may write to each of its home, /tmp and /dev/shm (memory, not disk), bytes.
DISK_LIMIT = 256 << 20
#: Largest file the kernel may write, bytes.
FILE_SIZE_LIMIT = 64 << 20
#: Processes and threads the kernel's user may run.
PROCESS_LIMIT = 256

# --- What a kernel may send ---------------------------------------------------------------------

#: Largest message accepted from a kernel (a test's arguments or a student's result), bytes.
MAX_MESSAGE_BYTES = 256 << 20
#: Deepest nesting of lists, tuples and dicts in a message.
MAX_WIRE_DEPTH = 64
#: Printed text kept per cell, characters and lines.
STREAM_CHARS = 20_000
STREAM_LINES = 400
#: Rich outputs (plots, HTML) kept per cell, and their total size in bytes.
RICH_OUTPUTS = 20
RICH_BYTES = 1_000_000
#: Lines kept of a traceback.
TRACEBACK_LINES = 60

# --- Comparing results --------------------------------------------------------------------------

#: Default tolerances of `nncourse.checks.assert_close`: pass where
#: ``|found - expected| <= ATOL + RTOL * max(|found|, |expected|)``.
RTOL = 1e-7
ATOL = 1e-12

# --- Hand-written exercises -----------------------------------------------------------------------

#: Packages whose functions a hand-written exercise must not call (``checks.call(forbid=True)``).
FORBIDDEN_MODULES = ("torch", "nnlib", "scipy.special", "sklearn", "tensorflow", "jax")
#: The public namespaces of PyTorch, replaced by tripwires in a hand-written exercise.
TORCH_NAMESPACES = (
    "torch",
    "torch.nn",
    "torch.nn.functional",
    "torch.nn.init",
    "torch.special",
    "torch.linalg",
    "torch.fft",
    "torch.func",
    "torch.autograd",
    "torch.autograd.functional",
)

# --- Determinism ---------------------------------------------------------------------------------

#: The seed given to NumPy's global generator, Python's `random` and torch before every test,
#: in the grader and in the student's kernel alike.
TEST_SEED = 0

# --- The pass rule ---------------------------------------------------------------------------


def cell_verdict(cell: dict, points: float) -> tuple[float, bool, str]:
    """(score, passed, message) of an executed test cell, the same for every runner.

    The score is nbgrader's own (`nbgrader.utils.determine_grade`: 0 after an error, partial
    credit from a number the cell ends with, else full). The cell passed when it scored full
    marks; the message is its error, or else what it wrote to stderr (a warning: worth a look,
    not points). ``nncourse grade`` and ``nncourse check`` both decide with this function.
    """
    import nbformat
    from nbgrader.utils import determine_grade

    node = nbformat.from_dict({**cell, "metadata": {"nbgrader": {
        "grade": True, "solution": False, "points": points, "grade_id": "t"}}})
    score, _ = determine_grade(node)
    message = ""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            message = f"{out.get('ename')}: {out.get('evalue', '')}"
        elif out.get("output_type") == "stream" and out.get("name") == "stderr" and not message:
            message = "the test wrote to stderr: " + str(out.get("text", ""))[:300]
    score = min(max(float(score or 0.0), 0.0), points)
    return score, score >= points, message
