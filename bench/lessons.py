"""Lessons on a crowded machine (not a test): time per cell quiet and under load, peak memory.

Students run the lessons on shared CPUs: a Binder or JupyterHub node, a laptop busy with other
work. This benchmark executes lesson notebooks top to bottom in a fresh kernel each, as a
student's "Run All" does (nbclient, the library nbval and nbconvert use), and measures:

* the wall time of every code cell, quiet (nothing else started by the benchmark) and with
  one busy process per CPU beside the kernel (``--load``: each spins a pure-Python loop, so it
  takes a whole core and no memory bandwidth to speak of);
* the kernel's peak resident memory, ``VmHWM`` of ``/proc/<kernel pid>/status`` read after the
  last cell (the most the kernel process ever held; the notebook's own data, torch and
  matplotlib included).

The training cells are the slow ones; for each lesson the report lists the cells that take at
least ``--slow`` seconds quiet (default 2 s), with their times both ways and the ratio, and
the lesson's total. Targets (issue 13): the training cells of lessons 10 and 11 within 2x of
their quiet time under load, and every lesson under 1.5 GB.

    make bench-lessons                                  # every lesson quiet; 10, 11 under load
    .venv/bin/python bench/lessons.py 10_mnist          # one lesson, quiet and under load

Writes bench/results/lessons.md (``--output``). A cell that fails stops the benchmark with the
error: a benchmark of a broken lesson measures nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent
LESSONS = REPO / "lessons"
OUTPUT = REPO / "bench" / "results" / "lessons.md"
DEFAULT_LESSONS = ("10_mnist", "11_where_next")
MEMORY_TARGET = 1.5 * 2**30
LOAD_TARGET = 2.0


@dataclass
class Run:
    """One execution of one lesson."""

    lesson: str
    loaded: bool
    cell_seconds: dict[str, float] = field(default_factory=dict)  # cell id -> wall seconds
    first_lines: dict[str, str] = field(default_factory=dict)
    peak_bytes: int | None = None
    seconds: float = 0.0
    threads: str = ""  # what the lesson's `print("CPU threads:", nnlib.use_available_cpus())` said


def _peak_rss(pid: int) -> int | None:
    """The high-water mark of a process's resident memory, in bytes (Linux), or None."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


class _TimedClient(NotebookClient):
    """An nbclient that times each code cell and reads the kernel's peak memory at the end."""

    def __init__(self, nb: nbformat.NotebookNode, run: Run, **kwargs: object) -> None:
        super().__init__(nb, **kwargs)
        self.run_record = run

    async def async_execute_cell(self, cell, cell_index, execution_count=None,
                                 store_history=True):
        start = time.perf_counter()
        result = await super().async_execute_cell(cell, cell_index, execution_count,
                                                  store_history)
        if cell.cell_type == "code":
            key = cell.get("id") or str(cell_index)
            self.run_record.cell_seconds[key] = time.perf_counter() - start
            lines = cell.source.strip().splitlines()
            self.run_record.first_lines[key] = lines[0][:70] if lines else ""
            for output in cell.get("outputs", []):
                for line in str(output.get("text", "")).splitlines():
                    if line.startswith("CPU threads:"):
                        self.run_record.threads = line.split(":", 1)[1].strip()
        if cell_index == len(self.nb.cells) - 1:
            self.run_record.peak_bytes = self._kernel_peak()
        return result

    def _kernel_peak(self) -> int | None:
        provisioner = getattr(self.km, "provisioner", None)
        process = getattr(provisioner, "process", None)
        pid = getattr(process, "pid", None)
        return _peak_rss(pid) if pid else None


def run_lesson(name: str, loaded: bool, timeout: int) -> Run:
    path = LESSONS / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    run = Run(name, loaded)
    client = _TimedClient(nb, run, timeout=timeout, kernel_name="python3",
                          resources={"metadata": {"path": str(LESSONS)}})
    start = time.perf_counter()
    client.execute()
    run.seconds = time.perf_counter() - start
    return run


def _busy_processes(count: int) -> list[subprocess.Popen]:
    """``count`` processes that each keep one CPU busy until they are killed."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def _stop(processes: list[subprocess.Popen]) -> None:
    for p in processes:
        p.kill()
    for p in processes:
        p.wait()


def available_cpus() -> int:
    sys.path.insert(0, str(REPO))
    from nnlib.threads import available_cpus as count

    return count()


def _gib(n: int | None) -> str:
    return "?" if n is None else f"{n / 2**30:.2f} GiB"


def report(quiet: list[Run], loaded: list[Run], busy: int, slow: float) -> tuple[str, bool]:
    lines = [
        "# Lessons on a crowded machine (`bench/lessons.py`)",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M')}; {available_cpus()} CPUs available, "
        f"{platform.platform()}, Python {platform.python_version()}; each lesson executed top to "
        "bottom in a fresh kernel (nbclient). Under load: "
        f"{busy} busy process(es) (one per CPU) beside the kernel. Peak memory: VmHWM of the "
        f"kernel process after the last cell. Load average (1 min) at the end: "
        f"{os.getloadavg()[0]:.1f}. MNIST: "
        + ("the four official files from NNLIB_DATA_DIR." if os.environ.get("NNLIB_DATA_DIR")
           else "whatever load_mnist finds (the bundled sample offline)."),
        "Threads: what `nnlib.use_available_cpus()` chose in the lesson (quiet / loaded).",
        "",
        "| lesson | quiet s | loaded s | ratio | threads | peak memory | under 1.5 GB |",
        "|---|---:|---:|---:|---|---:|---|",
    ]
    ok = True
    by_name = {r.lesson: r for r in loaded}
    for q in quiet:
        lo = by_name.get(q.lesson)
        within = q.peak_bytes is not None and q.peak_bytes < MEMORY_TARGET
        ok &= within
        ratio = f"{lo.seconds / q.seconds:.2f}" if lo else ""
        threads = f"{q.threads or '-'} / {lo.threads or '-'}" if lo else q.threads or "-"
        lines.append(f"| {q.lesson} | {q.seconds:.1f} | {f'{lo.seconds:.1f}' if lo else ''} | "
                     f"{ratio} | {threads} | {_gib(q.peak_bytes)} | "
                     f"{'yes' if within else 'NO'} |")
    for q in quiet:
        lo = by_name.get(q.lesson)
        if lo is None:
            continue
        lines += ["", f"## {q.lesson}: cells of at least {slow:g} s quiet", "",
                  "| cell | first line | quiet s | loaded s | ratio | within 2x |",
                  "|---|---|---:|---:|---:|---|"]
        for key, seconds in q.cell_seconds.items():
            if seconds < slow:
                continue
            loaded_s = lo.cell_seconds.get(key, float("nan"))
            ratio = loaded_s / seconds
            within = ratio <= LOAD_TARGET
            ok &= within
            first = q.first_lines[key].replace("|", "\\|")
            lines.append(f"| {key} | `{first}` | {seconds:.1f} | {loaded_s:.1f} | {ratio:.2f} | "
                         f"{'yes' if within else 'NO'} |")
    return "\n".join(lines) + "\n", ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lessons", nargs="*", help=f"default: {' '.join(DEFAULT_LESSONS)}")
    parser.add_argument("--all", action="store_true", help="every lesson (memory of each)")
    parser.add_argument("--no-load", action="store_true", help="quiet runs only")
    parser.add_argument("--load-only", nargs="*", default=None,
                        help="run these lessons under load (default: the lessons given)")
    parser.add_argument("--slow", type=float, default=2.0)
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)

    os.environ.setdefault("NNLIB_PROGRESS", "0")
    names = ([p.stem for p in sorted(LESSONS.glob("*.ipynb"))] if args.all
             else args.lessons or list(DEFAULT_LESSONS))
    quiet = []
    for name in names:
        run = run_lesson(name, False, args.timeout)
        print(f"{name}: {run.seconds:.1f} s quiet, peak {_gib(run.peak_bytes)}", flush=True)
        quiet.append(run)
    loaded: list[Run] = []
    busy = available_cpus()
    if not args.no_load:
        to_load = args.load_only if args.load_only is not None else (
            [n for n in names if n in DEFAULT_LESSONS] or names)
        processes = _busy_processes(busy)
        try:
            for name in to_load:
                run = run_lesson(name, True, args.timeout)
                print(f"{name}: {run.seconds:.1f} s with {busy} busy processes", flush=True)
                loaded.append(run)
        finally:
            _stop(processes)
    text, ok = report(quiet, loaded, busy, args.slow)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(text)
    print(f"written to {args.output}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
