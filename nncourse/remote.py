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


# What a test's call of a student function inherits from the checks.call around it (the
# tripwires of forbid=True must be set where the student's code runs: in the kernel).
_OPTIONS: list[dict[str, Any]] = []


@contextmanager
def call_options(**options: Any) -> Iterator[None]:
    """Calls of proxies made in this block run with these `checks.run` options."""
    _OPTIONS.append(options)
    try:
        yield
    finally:
        _OPTIONS.pop()


_SLOTS = frozenset({"_remote_link", "_remote_number", "_remote_type", "_remote_name"})


class RemoteObject:
    """An object that lives in the student's kernel; only its type name is known here.

    Reading an attribute (``opt.lr``, ``opt.step``) asks the kernel for it: plain data comes
    back as a copy, a method or other object as another proxy. Setting one (``opt.lr = 0.1``)
    sets it there. Special names (``__array__`` and the like) are never asked for, so NumPy
    and Python treat a proxy as an opaque object.
    """

    __slots__ = ("_remote_link", "_remote_number", "_remote_type")

    def __init__(self, link: Link, number: int, type_name: str) -> None:
        object.__setattr__(self, "_remote_link", link)
        object.__setattr__(self, "_remote_number", number)
        object.__setattr__(self, "_remote_type", type_name)

    def __repr__(self) -> str:
        return f"<{self._remote_type} in the student's kernel>"

    def __deepcopy__(self, memo: dict[int, Any]) -> RemoteObject:
        return self  # copying the proxy would not copy the object in the kernel

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in _SLOTS:
            raise AttributeError(name)
        return self._remote_link.getattr(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("__") or name in _SLOTS:
            raise AttributeError(f"cannot set {name} on a proxy")
        self._remote_link.setattr(self, name, value)


class RemoteFunction(RemoteObject):
    """A student function (or class, method, or callable object) in the kernel.

    Calling it runs it there, with the options of the `checks.call` it is called within
    (``forbid=True`` sets the tripwires in the kernel), on copies of the arguments; arrays,
    lists and dicts it changes in place, or keeps and changes later (an optimiser's
    parameters), are changed here too, after every later request of the test.
    """

    __slots__ = ("_remote_name",)

    def __init__(self, link: Link, number: int, type_name: str, name: str = "") -> None:
        super().__init__(link, number, type_name)
        object.__setattr__(self, "_remote_name", name or type_name)

    def __repr__(self) -> str:
        return f"<student function {self._remote_name}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from nncourse import checks

        options = {"forbid": False, "also_forbid": ()} | (_OPTIONS[-1] if _OPTIONS else {})
        return checks.run(self, *args, kwargs=kwargs, copy_args=False, track=True,
                          **options).value


def name_of(obj: RemoteObject) -> str:
    """The name a message uses for a proxy (a function's name, or the object's type)."""
    return getattr(obj, "_remote_name", None) or obj._remote_type


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
        self._tracked: dict[int, list[Any]] = {}  # arguments the kernel keeps, by number
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
                known = RemoteFunction(self, number, type_name, str(node.get("name", ""))[:80])
            else:
                known = RemoteObject(self, number, type_name)
            self._objects[number] = known
        return known

    def value(self, node: Any) -> Any:
        """A value sent by the kernel: plain data, with handles as `RemoteObject` proxies."""
        return wire.from_node(node, self._rebuild)

    def _outgoing(self, obj: Any) -> dict[str, Any]:
        if isinstance(obj, RemoteObject):
            if obj._remote_link is not self:
                raise wire.WireError("an object of another kernel")
            return {"$r": obj._remote_number}
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
        self._tracked.clear()
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
        start, cpu_start = time.monotonic(), self.cpu_seconds()
        deadline = start + timeout
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
                used = rules.since(self.cpu_seconds(), cpu_start)
                if rules.over_time(now - start, used, timeout):
                    self.kernel.interrupt()
                    interrupted = now
                else:  # a loaded machine: the work has not had its time yet
                    deadline = now + rules.next_check(now - start, used, timeout)
            elif interrupted is not None and now > interrupted + rules.INTERRUPT_GRACE:
                self.kernel.kill()
                self._lose("the notebook's code did not stop when its time was over")
            if self.lost is not None:
                raise KernelLost(self.lost)

    def cpu_seconds(self) -> float | None:
        """CPU seconds used so far by the kernel and this process (the grader's side of a test:
        its checks and the callbacks it answers), or None if the kernel's cannot be read."""
        kernel = getattr(self.kernel, "cpu_seconds", lambda: None)()
        return None if kernel is None else kernel + time.process_time()

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
        self._write_back_tracked(answer.get("tracked"))
        if self._callback_failure is not None:
            raise self._callback_failure
        return answer

    def _write_back_tracked(self, node: Any) -> None:
        """Arguments the kernel kept (a model's parameters, say): copy their changes here."""
        if node is None or not self._tracked:
            return
        try:
            after = self.value(node)
        except wire.WireError:
            return
        if not isinstance(after, dict):
            return
        for number, values in after.items():
            original = self._tracked.get(number) if type(number) is int else None
            if original is not None and isinstance(values, list) and len(values) == len(original):
                for a, b in zip(original, values, strict=True):
                    write_back(a, b)

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

    def getattr(self, obj: RemoteObject, name: str) -> Any:
        """``obj.name`` read in the kernel (plain data, or a proxy)."""
        answer = self.request({"op": "getattr", "target": self.node(obj), "name": name},
                              rules.CALL_TIME_LIMIT + rules.INTERRUPT_GRACE)
        if answer.get("op") == "missing":
            raise AttributeError(f"{obj._remote_type!r} object has no attribute {name!r}")
        return self._result(answer, f"reading {obj._remote_type}.{name}")

    def setattr(self, obj: RemoteObject, name: str, value: Any) -> None:
        """``obj.name = value`` done in the kernel."""
        answer = self.request({"op": "setattr", "target": self.node(obj), "name": name,
                               "value": self.node(value)},
                              rules.CALL_TIME_LIMIT + rules.INTERRUPT_GRACE)
        self._result(answer, f"setting {obj._remote_type}.{name}")

    def run(self, fn: RemoteFunction, args: Sequence[Any], *, what: str, forbid: bool,
            also_forbid: Sequence[str], time_limit: float | None, copy_args: bool,
            kwargs: dict[str, Any] | None = None, track: bool = False) -> Any:
        """`nncourse.checks.run` of a student function: returns (value, warnings, stdout)."""
        limit = time_limit or rules.CELL_TIME_LIMIT
        kwargs = kwargs or {}
        message = {
            "op": "call", "target": self.node(fn), "args": self.node(list(args)),
            "kwargs": self.node(kwargs), "subs": self._substitutes_node(),
            "options": {"what": what, "forbid": forbid, "also_forbid": list(also_forbid),
                        "time_limit": time_limit, "copy_args": copy_args},
        }
        if track:
            number = len(self._tracked) + 1
            message["track"] = number
            self._tracked[number] = [*args, *kwargs.values()]
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
