"""Run notebook cells in a kernel, with time limits and bounded outputs.

A small replacement for nbclient's execution loop that the grader controls completely: each
cell has its own deadline (the kernel is interrupted when it passes, and killed when it does
not stop), the kernel's death is noticed at once, and outputs are truncated while they arrive
(a cell that prints megabytes costs neither memory nor a huge autograded notebook).
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from nncourse import rules

__all__ = ["CellRun", "Kernel", "OutputLimits", "run_cell"]

#: Seconds a kernel gets to stop after an interrupt before it is killed.
INTERRUPT_GRACE = 3.0


class Kernel(Protocol):
    """What `run_cell` needs from a running kernel."""

    client: Any

    def alive(self) -> bool: ...

    def interrupt(self) -> None: ...

    def kill(self) -> None: ...


@dataclass(frozen=True)
class OutputLimits:
    """How much of a cell's output is kept."""

    stream_chars: int = 20_000
    stream_lines: int = 400
    rich_outputs: int = 20
    rich_bytes: int = 1_000_000
    traceback_lines: int = 60


@dataclass
class CellRun:
    """What happened when a cell ran.

    ``status`` is "ok", "error" (the cell raised), "timeout" (interrupted after its time
    limit), "killed" (it did not stop after the interrupt; the kernel was killed) or "dead"
    (the kernel died while it ran).
    """

    status: str = "ok"
    outputs: list[dict[str, Any]] = field(default_factory=list)
    special: list[dict[str, Any]] = field(default_factory=list)
    execution_count: int | None = None
    seconds: float = 0.0
    dropped_chars: int = 0


class _Collector:
    """Accumulates a cell's outputs within `OutputLimits`."""

    def __init__(self, limits: OutputLimits, special_mime: str | None) -> None:
        self.limits = limits
        self.special_mime = special_mime
        self.run = CellRun()
        self.stream_chars = {"stdout": 0, "stderr": 0}
        self.stream_lines = {"stdout": 0, "stderr": 0}
        self.rich = 0
        self.clear_pending = False

    def _clear_if_pending(self) -> None:
        if self.clear_pending:
            self.run.outputs.clear()
            self.clear_pending = False

    def stream(self, name: str, text: str) -> None:
        self._clear_if_pending()
        name = name if name in self.stream_chars else "stdout"
        room_chars = self.limits.stream_chars - self.stream_chars[name]
        room_lines = self.limits.stream_lines - self.stream_lines[name]
        kept = text
        if room_chars <= 0 or room_lines <= 0:
            kept = ""
        else:
            lines = kept.split("\n")
            if len(lines) - 1 > room_lines:
                kept = "\n".join(lines[:room_lines]) + "\n"
            kept = kept[:room_chars]
        self.run.dropped_chars += len(text) - len(kept)
        if not kept:
            return
        self.stream_chars[name] += len(kept)
        self.stream_lines[name] += kept.count("\n")
        outputs = self.run.outputs
        if outputs and outputs[-1]["output_type"] == "stream" and outputs[-1]["name"] == name:
            outputs[-1]["text"] += kept
        else:
            outputs.append({"output_type": "stream", "name": name, "text": kept})

    def rich_output(self, kind: str, content: dict[str, Any]) -> None:
        data = content.get("data", {})
        if self.special_mime and self.special_mime in data:
            self.run.special.append(data)
            return
        self._clear_if_pending()
        if self.rich >= self.limits.rich_outputs:
            self.run.dropped_chars += 1
            return
        kept = {}
        budget = self.limits.rich_bytes
        for mime, value in data.items():
            size = len(value) if isinstance(value, str) else len(str(value))
            if size <= budget:
                kept[mime] = value
                budget -= size
        if not kept:
            kept = {"text/plain": "[output too large: not kept]"}
        self.rich += 1
        output: dict[str, Any] = {"output_type": kind, "data": kept, "metadata": {}}
        if kind == "execute_result":
            output["execution_count"] = content.get("execution_count")
        self.run.outputs.append(output)

    def error(self, content: dict[str, Any]) -> None:
        self._clear_if_pending()
        traceback = list(content.get("traceback", []))
        limit = self.limits.traceback_lines
        if len(traceback) > limit:
            traceback = traceback[: limit // 2] + ["..."] + traceback[-limit // 2 :]
        self.run.outputs.append(
            {
                "output_type": "error",
                "ename": str(content.get("ename", "Error"))[:200],
                "evalue": str(content.get("evalue", ""))[:5000],
                "traceback": [str(line)[:2000] for line in traceback],
            }
        )

    def finish(self) -> CellRun:
        if self.run.dropped_chars:
            note = f"\n[nncourse: {self.run.dropped_chars} more characters of output not kept]\n"
            self.run.outputs.append({"output_type": "stream", "name": "stdout", "text": note})
        return self.run


def run_cell(
    kernel: Kernel,
    code: str,
    timeout: float,
    limits: OutputLimits = OutputLimits(),
    special_mime: str | None = None,
    on_output: Callable[[], None] | None = None,
) -> CellRun:
    """Execute ``code`` in ``kernel`` and collect what it does within ``timeout`` seconds.

    Display messages carrying ``special_mime`` are collected apart (in ``CellRun.special``),
    not as outputs. The timeout counts as `rules.over_time` says: wall-clock and the kernel's
    CPU time both past it (a loaded machine does not stop a cell early), or the wall clock
    past `rules.WALL_CLOCK_FACTOR` times it. Then the kernel is interrupted; if it does not go
    idle within `INTERRUPT_GRACE` seconds it is killed.
    """
    client = kernel.client
    collector = _Collector(limits, special_mime)
    cpu = getattr(kernel, "cpu_seconds", lambda: None)
    start, cpu_start = time.monotonic(), cpu()
    timeout = max(timeout, 0.01)
    deadline = start + timeout
    interrupted_at: float | None = None
    msg_id = client.execute(code, store_history=True, allow_stdin=False, stop_on_error=False)
    status = "ok"
    while True:
        now = time.monotonic()
        if interrupted_at is None and now > deadline:
            wall, used = now - start, rules.since(cpu(), cpu_start)
            if not rules.over_time(wall, used, timeout):
                deadline = now + rules.next_check(wall, used, timeout)
                continue
            kernel.interrupt()
            interrupted_at = now
            status = "timeout"
        elif interrupted_at is not None and now > interrupted_at + INTERRUPT_GRACE:
            kernel.kill()
            status = "killed"
            break
        try:
            message = client.get_iopub_msg(timeout=0.2)
        except queue.Empty:
            if not kernel.alive():
                status = "dead"
                break
            continue
        except Exception:  # noqa: BLE001 - a broken channel: the kernel is gone
            status = "dead" if not kernel.alive() else "killed"
            if status == "killed":
                kernel.kill()
            break
        if message.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind = message.get("msg_type")
        content = message.get("content", {})
        if kind == "status" and content.get("execution_state") == "idle":
            break
        if kind == "execute_input":
            collector.run.execution_count = content.get("execution_count")
        elif kind == "stream":
            collector.stream(content.get("name", "stdout"), str(content.get("text", "")))
        elif kind in ("display_data", "execute_result"):
            collector.rich_output(kind, content)
        elif kind == "error":
            collector.error(content)
            if status == "ok":
                status = "error"
        elif kind == "clear_output":
            if content.get("wait"):
                collector.clear_pending = True
            else:
                collector.run.outputs.clear()
        if on_output is not None:
            on_output()
    run = collector.finish()
    run.status = status
    run.seconds = time.monotonic() - start
    if status in ("ok", "error", "timeout"):
        _drain_reply(client, msg_id)
    return run


def _drain_reply(client: Any, msg_id: str) -> None:
    """Read the execute reply (the kernel sends it with the idle status) off the shell channel."""
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        try:
            reply = client.get_shell_msg(timeout=0.2)
        except queue.Empty:
            return
        except Exception:  # noqa: BLE001
            return
        if reply.get("parent_header", {}).get("msg_id") == msg_id:
            return
