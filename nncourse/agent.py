"""The kernel's side of the grading boundary: runs student code when a test asks for it.

`nncourse grade` puts one `Agent` into every grading kernel, as ``__nncourse_agent__``, before
the notebook runs. While a test cell runs in the grader's process, the grader executes
``__nncourse_agent__.serve(seed)`` in the kernel and talks to it over the Jupyter stdin channel
(the one ``input()`` uses): the agent asks for a request, runs it, and asks again with the
answer, until the grader says "end". A request is one of

``resolve``
    the values of some notebook names: plain data travels as it is (see `nncourse.wire`),
    functions and other objects as handles;
``call``
    run a student function (given by its handle) on arguments, through `nncourse.checks.run`
    (time limit, captured output, tripwires for hand-written exercises); the answer is the
    result as plain data or a handle, the warnings it raised, and, when asked, the arguments
    after the call (to see changes made in place);
``getattr``, ``setattr``
    read or set an attribute of a kernel object (a test's ``opt.lr = 0.1``, ``opt.step``);
``fixture``
    run a function of the public `nncourse.fixtures` package (code that builds live objects,
    a torch model or loader, and reports plain facts about what the student's code did).

A test may also hand student code a function of its own (a correct ``predict`` while testing
``train``): the agent puts a `Callback` in its place, which sends its arguments to the grader
and returns the grader's answer.

Everything here is public and holds nothing secret: no test, no expected value. What student
code does to this module changes only what its own kernel reports, and the grader checks
every report itself.
"""

from __future__ import annotations

import importlib
import json
import random
import sys
import types
from collections.abc import Callable
from typing import Any

from nncourse import rules, wire

__all__ = ["FIXTURE_PACKAGE", "Agent", "Callback", "install", "seed_everything"]

#: The only package whose functions a ``fixture`` request may run.
FIXTURE_PACKAGE = "nncourse.fixtures"
_MISSING = object()


def seed_everything(seed: int) -> None:
    """Seed NumPy's global generator, Python's `random` and torch (if it is loaded)."""
    random.seed(seed)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed(seed)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)


class _Failure(Exception):
    """A check failed in the kernel (its message goes to the grader as a failure)."""


class Callback:
    """Stands in the kernel for a function of the test's: calls go to the grader."""

    def __init__(self, agent: Agent, number: int, name: str) -> None:
        self._agent, self._number, self.__name__ = agent, number, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        answer = self._agent.ask({
            "op": "callback", "id": self._number,
            "args": self._agent.node(list(args)), "kwargs": self._agent.node(kwargs),
        })
        if answer.get("op") == "return":
            return self._agent.value(answer.get("value"))
        raise RuntimeError(str(answer.get("message", "the test's function failed")))

    def __repr__(self) -> str:
        return f"<the test's {self.__name__}>"

    def __deepcopy__(self, memo: dict[int, Any]) -> Callback:
        return self  # a copy of the test's function is the same function

    def __copy__(self) -> Callback:
        return self


class Agent:
    """Serves the grader's requests in one kernel (see the module docstring)."""

    def __init__(self, namespace: dict[str, Any], ask: Callable[[str], str]) -> None:
        self.namespace = namespace
        self._ask = ask
        self.objects: dict[int, Any] = {}
        self._numbers: dict[int, int] = {}
        self.tracked: dict[int, list[Any]] = {}  # arguments of tracked calls, by number

    # -- the wire --------------------------------------------------------------------------

    def _handle(self, obj: Any) -> dict[str, Any]:
        number = self._numbers.get(id(obj))
        if number is None:
            number = len(self.objects) + 1
            self.objects[number] = obj  # kept alive, so that its id is never reused
            self._numbers[id(obj)] = number
        node = {"$h": number, "type": type(obj).__name__[:80], "callable": callable(obj)}
        name = getattr(obj, "__qualname__", None) if callable(obj) else None
        if isinstance(name, str):
            node["name"] = name[:80]
        return node

    def node(self, value: Any) -> Any:
        """``value`` as a wire node: plain data as it is, anything else as a handle."""
        return wire.to_node(value, self._handle)

    def _rebuild(self, tag: str, node: dict[str, Any]) -> Any:
        if tag == "$r" and node.get("$r") in self.objects:
            return self.objects[node["$r"]]
        if tag == "$f" and type(node.get("$f")) is int:
            return Callback(self, node["$f"], str(node.get("name", "function"))[:80])
        raise wire.WireError(f"an unknown reference {tag}")

    def value(self, node: Any) -> Any:
        """The value of a node sent by the grader (handles given back become the objects)."""
        return wire.from_node(node, self._rebuild)

    def ask(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send ``message`` to the grader and return its answer."""
        answer = json.loads(self._ask(json.dumps(message, separators=(",", ":"))))
        if not isinstance(answer, dict):
            raise wire.WireError("the grader's answer is not a message")
        return answer

    # -- serving -----------------------------------------------------------------------------

    def serve(self, seed: int = rules.TEST_SEED) -> None:
        """Answer the grader's requests until it says "end" (see the module docstring)."""
        seed_everything(seed)
        self.tracked.clear()
        try:
            request = self.ask({"op": "ready"})
            while request.get("op") != "end":
                answer = self._answer(request)
                if self.tracked:
                    try:
                        answer["tracked"] = self.node(self.tracked)
                    except (wire.WireError, RecursionError, ValueError, TypeError):
                        pass
                request = self.ask(answer)
        except KeyboardInterrupt:
            return

    def _answer(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        try:
            if op == "resolve":
                return {"op": "result", "value": self._resolve(request.get("names", []))}
            if op == "call":
                return self._call(request)
            if op == "getattr":
                return self._getattr(request)
            if op == "setattr":
                target = self.value(request.get("target"))
                setattr(target, str(request.get("name")), self.value(request.get("value")))
                return {"op": "result", "value": None}
            if op == "fixture":
                return self._fixture(request)
            return {"op": "error", "message": f"unknown request {str(op)[:40]!r}"}
        except _Failure as exc:
            return {"op": "failure", "message": str(exc)}
        except KeyboardInterrupt:
            return {"op": "failure", "message": "the call was stopped: it ran past its time "
                    "limit.\nLikely mistake: a loop that never ends."}
        except BaseException as exc:  # noqa: BLE001 - any problem is reported, none ends serving
            from nncourse.checks import GradingFailure

            if isinstance(exc, GradingFailure):
                return {"op": "failure", "message": str(exc)}
            return {"op": "error", "message": f"{type(exc).__name__}: {exc}"[:2000]}

    def _resolve(self, names: list[Any]) -> dict[str, Any]:
        found = {}
        for name in names:
            if not isinstance(name, str):
                continue
            value = self.namespace.get(name, _MISSING)
            if value is _MISSING or isinstance(value, types.ModuleType):
                continue
            try:
                node = self.node(value)
                if len(json.dumps(node)) > rules.MAX_MESSAGE_BYTES // 4:
                    node = self._handle(value)
            except (wire.WireError, RecursionError, ValueError, TypeError):
                node = self._handle(value)
            found[name] = node
        return {"$d": [[name, node] for name, node in found.items()]}

    def _substituted(self, request: dict[str, Any]) -> dict[str, Any]:
        """Bind the test's substitutes (name -> value) in the notebook; return what was there."""
        substitutes = self.value(request.get("subs") or {"$d": []})
        if not isinstance(substitutes, dict):
            raise wire.WireError("malformed substitutes")
        saved = {name: self.namespace.get(name, _MISSING) for name in substitutes}
        self.namespace.update(substitutes)
        return saved

    def _restore(self, saved: dict[str, Any]) -> None:
        for name, value in saved.items():
            if value is _MISSING:
                self.namespace.pop(name, None)
            else:
                self.namespace[name] = value

    def _getattr(self, request: dict[str, Any]) -> dict[str, Any]:
        target = self.value(request.get("target"))
        name = str(request.get("name"))
        try:
            value = getattr(target, name)
        except AttributeError:
            return {"op": "missing"}
        return {"op": "result", "value": self.node(value)}

    def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        from nncourse import checks

        fn = self.value(request.get("target"))
        args = self.value(request.get("args"))
        kwargs = self.value(request.get("kwargs") or {"$d": []})
        options = request.get("options") or {}
        if not isinstance(args, list) or not isinstance(options, dict):
            raise wire.WireError("a malformed call")
        if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
            raise wire.WireError("malformed keyword arguments")
        copy_args = bool(options.get("copy_args", True))
        if type(request.get("track")) is int:
            self.tracked[request["track"]] = [*args, *kwargs.values()]
        saved = self._substituted(request)
        try:
            outcome = checks.run(
                fn, *args, kwargs=kwargs, what=str(options.get("what") or "") or None,
                forbid=bool(options.get("forbid", False)),
                also_forbid=[str(n) for n in options.get("also_forbid", [])],
                time_limit=options.get("time_limit", rules.CALL_TIME_LIMIT),
                copy_args=copy_args,
            )
        finally:
            self._restore(saved)
        answer = {
            "op": "result",
            "value": self.node(outcome.value),
            "warnings": [[w.category.__name__, str(w.message)[:500]]
                         for w in outcome.captured.warnings][:100],
            "stdout": outcome.captured.stdout[-2000:],
        }
        if not copy_args:
            answer["args"] = self.node(args)
        return answer

    def _fixture(self, request: dict[str, Any]) -> dict[str, Any]:
        from nncourse import checks

        name = str(request.get("name", ""))
        module_name, _, attr = name.partition(":")
        if not (module_name == FIXTURE_PACKAGE or module_name.startswith(FIXTURE_PACKAGE + ".")):
            raise wire.WireError(f"{name[:80]!r} is not a fixture")
        fixture = getattr(importlib.import_module(module_name), attr)
        args = self.value(request.get("args"))
        kwargs = self.value(request.get("kwargs") or {"$d": []})
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise wire.WireError("a malformed fixture request")
        saved = self._substituted(request)
        try:
            with checks.quiet():
                value = fixture(*args, **kwargs)
        finally:
            self._restore(saved)
        return {"op": "result", "value": self.node(value)}


def install(shell: Any) -> Agent:
    """Put an `Agent` into the kernel's notebook namespace as ``__nncourse_agent__``."""
    kernel = shell.kernel
    agent = Agent(shell.user_ns, kernel.raw_input)
    shell.user_ns["__nncourse_agent__"] = agent
    return agent
