"""The grader's side of the grading boundary: student functions as proxies.

While `nncourse grade` runs a test cell in its own process, the names the test uses from the
student's notebook are bound to proxies: a `RemoteFunction` for a function, a `RemoteObject`
for anything else that is not plain data (a torch model, say). Calling a proxy (through
`nncourse.checks.call`, `check_output`, ...) sends the arguments to the kernel's
`nncourse.agent`, which runs the student's function there and answers with plain data; the
grader rebuilds and validates it (`nncourse.wire`). Functions of the test's that student code
calls back (a correct ``predict`` passed with ``checks.substitute``) stay here and run here.

No test code, expected value or reference runs in, or is sent to, the kernel; only the
arguments of each call and the names the test looks up.
"""

from __future__ import annotations

import json
import queue
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from nncourse import rules, wire

__all__ = [
    "KernelLost",
    "Link",
    "RemoteFunction",
    "RemoteObject",
    "current",
    "write_back",
]

_CURRENT: list[Link] = []


def current() -> Link | None:
    """The link of the test that is running in this process (None in the in-kernel runners)."""
    return _CURRENT[-1] if _CURRENT else None


class KernelLost(Exception):
    """The kernel died, stopped answering or broke the protocol during a test."""


class RemoteObject:
    """An object that lives in the student's kernel; only its type name is known here."""

    __slots__ = ("link", "number", "type_name")

    def __init__(self, link: Link, number: int, type_name: str) -> None:
        self.link, self.number, self.type_name = link, number, type_name

    def __repr__(self) -> str:
        return f"<{self.type_name} in the student's kernel>"

    @property
    def __name__(self) -> str:  # noqa: PLW3201 - read by messages that name the function
        return self.type_name


class RemoteFunction(RemoteObject):
    """A student function (or class, or callable object) in the kernel."""

    __slots__ = ("name",)

    def __init__(self, link: Link, number: int, type_name: str, name: str = "") -> None:
        super().__init__(link, number, type_name)
        self.name = name or type_name

    @property
    def __name__(self) -> str:  # noqa: PLW3201
        return self.name

    def __repr__(self) -> str:
        return f"<student function {self.name}>"

    def __call__(self, *args: Any) -> Any:
        from nncourse import checks

        return checks.call(self, *args)


def write_back(original: Any, after: Any) -> None:
    """Copy into ``original`` (the test's argument) what the student's call did to its copy.

    Arrays, lists and dicts that the kernel reports changed are changed here in place, so a
    test that checks "w must not change" sees a change made with ``w += ...``.
    """
    if isinstance(original, np.ndarray) and isinstance(after, np.ndarray):
        if original.shape == after.shape and original.flags.writeable:
            with np.errstate(all="ignore"):
                np.copyto(original, after, casting="unsafe")
    elif isinstance(original, list) and isinstance(after, list):
        if len(original) == len(after):
            for i, (a, b) in enumerate(zip(original, after, strict=True)):
                if isinstance(a, np.ndarray | list | dict):
                    write_back(a, b)
                else:
                    original[i] = b
        else:
            original[:] = after
    elif isinstance(original, dict) and isinstance(after, dict):
        for key in list(original):
            if key not in after:
                del original[key]
        for key, value in after.items():
            if key in original and isinstance(original[key], np.ndarray | list | dict):
                write_back(original[key], value)
            else:
                original[key] = value
    elif isinstance(original, tuple) and isinstance(after, tuple) and len(original) == len(after):
        for a, b in zip(original, after, strict=True):
            write_back(a, b)


class Link:
    """One kernel's agent, as seen from the grader, for the test cells of one notebook.

    ``kernel`` is a running grading kernel (`nncourse.sandbox.KernelProcess`). `serving`
    wraps one test cell: it starts the agent's serve loop and ends it afterwards.
    """

    def __init__(self, kernel: Any) -> None:
        self.kernel = kernel
        self.client = kernel.client
        self._msg_id: str | None = None
        self._objects: dict[int, RemoteObject] = {}
        self._callbacks: list[Callable[..., Any]] = []
        self._substitutes: list[dict[str, Any]] = []
        self._callback_failure: BaseException | None = None
        self.lost: str | None = None

    # -- the wire --------------------------------------------------------------------------

    def _rebuild(self, tag: str, node: dict[str, Any]) -> Any:
        number = node.get("$h")
        if tag != "$h" or type(number) is not int:
            raise wire.WireError("the kernel sent a reference it may not send")
        known = self._objects.get(number)
        if known is None:
            type_name = str(node.get("type", "object"))[:80]
            if node.get("callable") is True:
                known = RemoteFunction(self, number, type_name)
            else:
                known = RemoteObject(self, number, type_name)
            self._objects[number] = known
        return known

    def value(self, node: Any) -> Any:
        """A value sent by the kernel: plain data, with handles as `RemoteObject` proxies."""
        return wire.from_node(node, self._rebuild)

    def _outgoing(self, obj: Any) -> dict[str, Any]:
        if isinstance(obj, RemoteObject):
            if obj.link is not self:
                raise wire.WireError("an object of another kernel")
            return {"$r": obj.number}
        if callable(obj):
            self._callbacks.append(obj)
            name = getattr(obj, "__name__", type(obj).__name__)
            return {"$f": len(self._callbacks) - 1, "name": str(name)}
        raise wire.WireError(f"the test passed {wire.describe(obj)}, which is not plain data")

    def node(self, value: Any) -> Any:
        """A value of the test's as a node for the kernel (proxies as references, functions
        as callbacks)."""
        return wire.to_node(value, self._outgoing)

    # -- one test cell -----------------------------------------------------------------------

    @contextmanager
    def serving(self, seed: int = rules.TEST_SEED) -> Iterator[Link]:
        """Start the agent's serve loop for one test cell; end it afterwards."""
        self._callbacks.clear()
        self._substitutes.clear()
        self._msg_id = self.client.execute(
            f"__nncourse_agent__.serve({int(seed)})", store_history=False, allow_stdin=True,
            stop_on_error=False)
        _CURRENT.append(self)
        try:
            ready = self._wait(rules.CELL_TIME_LIMIT)
            if ready.get("op") != "ready":
                raise KernelLost("the kernel's grading agent did not start")
            yield self
        finally:
            _CURRENT.pop()
            self._finish()

    def _finish(self) -> None:
        if self.lost is None and self._msg_id is not None:
            try:
                self.client.input(json.dumps({"op": "end"}))
            except Exception:  # noqa: BLE001 - the kernel is gone: noticed below
                pass
            deadline = time.monotonic() + rules.INTERRUPT_GRACE
            while time.monotonic() < deadline:
                if self._idle():
                    break
            else:
                self.lost = "the kernel did not finish the test's requests"
        self._msg_id = None

    def _idle(self) -> bool:
        """Read IOPub messages for a moment; True once the serve loop has finished."""
        try:
            message = self.client.get_iopub_msg(timeout=0.05)
        except queue.Empty:
            return False
        return (message.get("parent_header", {}).get("msg_id") == self._msg_id
                and message.get("msg_type") == "status"
                and message.get("content", {}).get("execution_state") == "idle")

    def _wait(self, timeout: float) -> dict[str, Any]:
        """The kernel's next protocol message (callbacks are answered meanwhile)."""
        if self.lost is not None:
            raise KernelLost(self.lost)
        deadline = time.monotonic() + timeout
        interrupted = None
        while True:
            try:
                message = self.client.get_stdin_msg(timeout=0.05)
            except queue.Empty:
                message = None
            except Exception as exc:  # noqa: BLE001 - a broken channel
                self._lose("the kernel's channel broke")
                raise KernelLost(self.lost) from exc
            if message is not None:
                if message.get("parent_header", {}).get("msg_id") != self._msg_id:
                    self.client.input("")
                    continue
                prompt = message.get("content", {}).get("prompt", "")
                try:
                    answer = wire.loads(prompt)
                except wire.WireError:
                    answer = None
                if not isinstance(answer, dict) or not isinstance(answer.get("op"), str):
                    self.client.input("")  # the student's own input(): it gets ""
                    continue
                if answer["op"] == "callback":
                    self.client.input(self._run_callback(answer))
                    continue
                return answer
            now = time.monotonic()
            if self._idle():
                self._lose("the notebook's code stopped the kernel's grading agent")
            elif not self.kernel.alive():
                self._lose("the notebook's code ended the Python process")
            elif interrupted is None and now > deadline:
                self.kernel.interrupt()
                interrupted = now
            elif interrupted is not None and now > interrupted + rules.INTERRUPT_GRACE:
                self.kernel.kill()
                self._lose("the notebook's code did not stop when its time was over")
            if self.lost is not None:
                raise KernelLost(self.lost)

    def _lose(self, why: str) -> None:
        self.lost = why

    def _run_callback(self, request: dict[str, Any]) -> str:
        from nncourse.checks import GradingFailure

        number = request.get("id")
        try:
            if type(number) is not int or not 0 <= number < len(self._callbacks):
                raise wire.WireError("an unknown callback")
            args = self.value(request.get("args"))
            kwargs = self.value(request.get("kwargs") or {"$d": []})
            if not isinstance(args, list) or not isinstance(kwargs, dict):
                raise wire.WireError("malformed arguments")
            if not all(isinstance(k, str) for k in kwargs):
                raise wire.WireError("malformed keyword arguments")
            result = self._callbacks[number](*args, **kwargs)
            return json.dumps({"op": "return", "value": self.node(result)})
        except GradingFailure as exc:
            self._callback_failure = exc
            return json.dumps({"op": "raise", "message": str(exc)})
        except wire.WireError as exc:
            return json.dumps({"op": "raise", "message": f"the test could not use that: {exc}"})
        except Exception as exc:  # noqa: BLE001 - the reference failed on the student's input
            return json.dumps({"op": "raise", "message": f"{type(exc).__name__}: {exc}"})

    def request(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one request and return the agent's answer (a dict with "op")."""
        if self._msg_id is None:
            raise RuntimeError("a request outside Link.serving()")
        if self.lost is not None:
            raise KernelLost(self.lost)
        self._callback_failure = None
        try:
            self.client.input(json.dumps(message, separators=(",", ":")))
        except Exception as exc:  # noqa: BLE001
            self._lose("the kernel's channel broke")
            raise KernelLost(self.lost) from exc
        answer = self._wait(timeout)
        if self._callback_failure is not None:
            raise self._callback_failure
        return answer

    # -- what tests do -----------------------------------------------------------------------

    def _substitutes_node(self) -> Any:
        merged: dict[str, Any] = {}
        for layer in self._substitutes:
            merged.update(layer)
        return self.node(merged)

    @contextmanager
    def substituted(self, replacements: dict[str, Any]) -> Iterator[None]:
        """Bind names in the kernel's notebook namespace for the calls made in the block."""
        self._substitutes.append(dict(replacements))
        try:
            yield
        finally:
            self._substitutes.pop()

    def resolve(self, names: Sequence[str]) -> dict[str, Any]:
        """The kernel's values of ``names`` (those that exist and are not modules)."""
        answer = self.request({"op": "resolve", "names": list(names)}, rules.CELL_TIME_LIMIT)
        found = self._result(answer, "looking up the notebook's names")
        if not isinstance(found, dict):
            raise KernelLost("the kernel answered a look-up with something else")
        return {k: v for k, v in found.items() if isinstance(k, str)}

    def _result(self, answer: dict[str, Any], what: str) -> Any:
        from nncourse.checks import GradingFailure

        op = answer.get("op")
        if op == "result":
            try:
                return self.value(answer.get("value"))
            except wire.WireError as exc:
                raise GradingFailure(f"{what} sent back something that is not plain data "
                                     f"({exc}).") from None
        message = str(answer.get("message", ""))[:4000]
        if op == "failure":
            raise GradingFailure(message)
        raise GradingFailure(f"{what} failed in the kernel: {message}")

    def run(self, fn: RemoteFunction, args: Sequence[Any], *, what: str, forbid: bool,
            also_forbid: Sequence[str], time_limit: float | None, copy_args: bool) -> Any:
        """`nncourse.checks.run` of a student function: returns (value, warnings, stdout)."""
        limit = time_limit or rules.CELL_TIME_LIMIT
        message = {
            "op": "call", "target": self.node(fn), "args": self.node(list(args)),
            "subs": self._substitutes_node(),
            "options": {"what": what, "forbid": forbid, "also_forbid": list(also_forbid),
                        "time_limit": time_limit, "copy_args": copy_args},
        }
        answer = self.request(message, limit + rules.INTERRUPT_GRACE)
        value = self._result(answer, what)
        if not copy_args and "args" in answer:
            try:
                after = self.value(answer["args"])
            except wire.WireError:
                after = None
            if isinstance(after, list) and len(after) == len(args):
                for original, changed in zip(args, after, strict=True):
                    write_back(original, changed)
        caught = []
        for item in answer.get("warnings", [])[:100]:
            if isinstance(item, list) and len(item) == 2:
                category = RuntimeWarning if item[0] == "RuntimeWarning" else UserWarning
                caught.append(warnings.WarningMessage(str(item[1])[:500], category, "", 0))
        return value, caught, str(answer.get("stdout", ""))[:2000]

    def fixture(self, name: str, args: Sequence[Any], kwargs: dict[str, Any],
                time_limit: float | None) -> Any:
        """Run the public fixture ``module:function`` in the kernel; return its plain result."""
        message = {"op": "fixture", "name": name, "args": self.node(list(args)),
                   "kwargs": self.node(kwargs), "subs": self._substitutes_node()}
        answer = self.request(message, (time_limit or rules.CELL_TIME_LIMIT)
                              + rules.INTERRUPT_GRACE)
        return self._result(answer, name.rpartition(":")[2])
