"""Helpers for the graded exercises' tests: run student code safely, compare, diagnose.

The visible and hidden test cells of `solutions/*/*.ipynb` stay short because the work is here:

* `call` runs a student function on copies of its arguments with warnings, printed output and
  NumPy floating-point messages captured (nbgrader gives zero to a test cell that writes to
  stderr, and correct code must not lose points for a warning), with a time limit, and
  optionally with PyTorch, nnlib and `scipy.special` replaced by tripwires, so that an exercise
  that asks for a hand-written implementation can tell when the work was handed to a library;
* `assert_close` compares a result with the expected one and, when they differ, raises a
  `GradingFailure` that says what was expected, what was found and the likely mistake
  (`diagnose` recognises a flipped sign, a factor 2, a transposed matrix, a sum instead of a
  mean, overflow, and any wrong answer the test names through ``hints``);
* `compare_derivative`, `compare_gradient` and `compare_jacobian` check a derivative against
  torch autograd and against central finite differences, both in float64;
* `grading` wraps a hidden test cell: it gives the cell its own seeded random generator, keeps
  the cell quiet and turns any error into a message that shows neither the test's code nor its
  data (IPython prints a `GradingFailure` as its message only, without a traceback);
* `substitute` temporarily replaces a student function by a reference one, so that a test of
  one part does not fail because of a mistake in another part.

Random inputs come from `rng(label)`: the same label always gives the same numbers, so grading
is deterministic, while the numbers stay unknown to the student.
"""

from __future__ import annotations

import builtins
import contextlib
import copy
import hashlib
import importlib
import io
import linecache
import os
import signal
import sys
import threading
import time
import types
import warnings
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nncourse import remote, rules, wire
from nncourse.rules import TORCH_NAMESPACES

__all__ = [
    "DEFAULT_TIME_LIMIT",
    "FORBIDDEN_MODULES",
    "Captured",
    "GradingFailure",
    "Outcome",
    "as_array",
    "as_tuple",
    "assert_close",
    "assert_equal",
    "assert_no_warnings",
    "assert_true",
    "call",
    "check_output",
    "compare_derivative",
    "compare_gradient",
    "compare_jacobian",
    "diagnose",
    "fixture",
    "grading",
    "hidden",
    "lookup",
    "numerical_derivative",
    "numerical_gradient",
    "numerical_jacobian",
    "ok",
    "quiet",
    "rng",
    "run",
    "substitute",
    "torch_derivative",
    "torch_gradient",
    "torch_jacobian",
    "torch_values",
]

#: Seconds one call of student code may take before it is stopped (see `nncourse.rules`).
DEFAULT_TIME_LIMIT = rules.CALL_TIME_LIMIT

#: Packages whose functions a hand-written exercise must not call (see `call(forbid=True)`).
FORBIDDEN_MODULES = rules.FORBIDDEN_MODULES


class GradingFailure(AssertionError):
    """A failed check. IPython shows it as its message only, without the test's code."""

    def _render_traceback_(self) -> list[str]:
        lines = str(self).splitlines() or [""]
        return [f"{type(self).__name__}: {lines[0]}", *lines[1:]]


def ok(message: str) -> None:
    """Print a short success line (to stdout, which does not affect the grade)."""
    print(f"\u2714 {message}")


def rng(label: str) -> np.random.Generator:
    """A random generator seeded from ``label``: the same label gives the same numbers."""
    digest = hashlib.sha256(f"nncourse/{label}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def assert_true(condition: object, message: str) -> None:
    """Raise a `GradingFailure` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise GradingFailure(message)


# ---------------------------------------------------------------------------------------------
# Running student code
# ---------------------------------------------------------------------------------------------


@dataclass
class Captured:
    """What a block of code printed or warned while `quiet` was active."""

    warnings: list[warnings.WarningMessage] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""

    @property
    def runtime_warnings(self) -> list[str]:
        """The messages of the RuntimeWarnings (NumPy overflow, invalid value, ...)."""
        return [str(w.message) for w in self.warnings if issubclass(w.category, RuntimeWarning)]


@contextlib.contextmanager
def quiet() -> Iterator[Captured]:
    """Capture warnings, NumPy floating-point messages and printed output of the block.

    NumPy's overflow/divide/invalid conditions are turned into warnings (whatever
    `np.seterr` the student chose) and recorded, so a test can look at them, but nothing
    reaches stderr.
    """
    captured = Captured()
    out, err = io.StringIO(), io.StringIO()
    with (
        warnings.catch_warnings(record=True) as caught,
        np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        warnings.simplefilter("always")
        try:
            yield captured
        finally:
            captured.warnings.extend(caught)
            captured.stdout = out.getvalue()
            captured.stderr = err.getvalue()


@dataclass
class Outcome:
    """The value a student function returned and what it printed or warned meanwhile."""

    value: Any
    captured: Captured


class _Tripped(BaseException):
    """Raised by a tripwire (a BaseException, so that `except Exception` does not hide it)."""


class _OutOfTime(BaseException):
    """Raised in student code when its time limit is over."""


# The list that tripwires report to while `_tripwires` is active (tripwire objects are made
# once and reused, so they cannot hold it themselves).
_HITS: list[str] = []

# Above 0 while trusted code runs inside a guarded call (a reference function put in place by
# `substitute`): tripwires then forward to the real function instead of tripping.
_SUSPENDED = 0


def _trip(label: str) -> None:
    _HITS.append(label)
    raise _Tripped(label)


class _FunctionTripwire:
    """Stands in for a forbidden function while student code runs."""

    __slots__ = ("_label", "_original")

    def __init__(self, label: str, original: Callable[..., Any]) -> None:
        self._label = label
        self._original = original

    def __call__(self, *args: object, **kwargs: object) -> Any:
        if _SUSPENDED:
            return self._original(*args, **kwargs)
        _trip(self._label)

    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):
            raise AttributeError(name)
        if _SUSPENDED:
            return getattr(self._original, name)
        _trip(f"{self._label}.{name}")
        return None  # pragma: no cover - _trip always raises

    def __repr__(self) -> str:
        return f"<tripwire for {self._label}>"


class _ClassTripwireMeta(type):
    """Metaclass of the stand-ins for forbidden classes: isinstance works, anything else trips."""

    _label: str
    _original: type

    def __call__(cls, *args: object, **kwargs: object) -> Any:
        if _SUSPENDED:
            return cls._original(*args, **kwargs)
        _trip(cls._label)

    def __instancecheck__(cls, obj: object) -> bool:
        return isinstance(obj, cls._original)

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, cls._original)

    def __getattr__(cls, name: str) -> object:
        if name.startswith("__"):
            raise AttributeError(name)
        if _SUSPENDED:
            return getattr(cls._original, name)
        _trip(f"{cls._label}.{name}")
        return None  # pragma: no cover - _trip always raises


_TRIPWIRES: dict[tuple[str, int], object] = {}


def _tripwire_for(label: str, original: object) -> object:
    """The stand-in for ``original`` (made once per object and label, then reused)."""
    key = (label, id(original))
    tripwire = _TRIPWIRES.get(key)
    if tripwire is None:
        if isinstance(original, type):
            namespace = {"_label": label, "_original": original}
            tripwire = _ClassTripwireMeta(f"tripwire[{label}]", (), namespace)
        else:
            tripwire = _FunctionTripwire(label, original)
        _TRIPWIRES[key] = tripwire
    return tripwire


def _is_forbidden_module(name: str) -> bool:
    if name in TORCH_NAMESPACES or name == "scipy.special":
        return True
    return (name == "nnlib" or name.startswith("nnlib.")) and not name.startswith("nncourse")


def _forbidden_import(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in FORBIDDEN_MODULES)


_PLANS: dict[tuple[object, ...], tuple[list[tuple[object, str, object, object]], dict[int, str]]]
_PLANS = {}


def _tripwire_plan(
    also_forbid: Sequence[str],
) -> tuple[list[tuple[object, str, object, object]], dict[int, str]]:
    """What to replace: (owner, attribute, original, tripwire) and the label of each original.

    Scanning PyTorch's namespaces takes a while, so the plan is cached for as long as the same
    modules are loaded with the same number of attributes.
    """
    modules = [
        (name, module)
        for name, module in list(sys.modules.items())
        if module is not None and _is_forbidden_module(name)
    ]
    key = (tuple((name, id(m), len(vars(m))) for name, m in modules), tuple(also_forbid))
    plan = _PLANS.get(key)
    if plan is not None:
        return plan
    targets: list[tuple[object, str, object, object]] = []
    labels_by_id: dict[int, str] = {}
    for modname, module in modules:
        for attr, value in list(vars(module).items()):
            if attr.startswith("__") or isinstance(value, types.ModuleType) or not callable(value):
                continue
            if isinstance(value, _FunctionTripwire | _ClassTripwireMeta):
                continue
            label = f"{modname}.{attr}"
            labels_by_id.setdefault(id(value), label)
            targets.append((module, attr, value, _tripwire_for(label, value)))
    for dotted in also_forbid:
        modname, attr = dotted.rsplit(".", 1)
        module = importlib.import_module(modname)
        value = getattr(module, attr)
        labels_by_id[id(value)] = dotted
        targets.append((module, attr, value, _tripwire_for(dotted, value)))
    _PLANS[key] = (targets, labels_by_id)
    return targets, labels_by_id


@contextlib.contextmanager
def _tripwires(
    namespace: MutableMapping[str, Any] | None, also_forbid: Sequence[str], hits: list[str]
) -> Iterator[None]:
    """Replace forbidden functions and classes by tripwires for the duration of the block.

    Covers the attributes of PyTorch's public namespaces, of every loaded nnlib module (but
    not nncourse) and of scipy.special; the names in ``namespace`` (the student's globals)
    bound to any of those objects (``from torch import sigmoid``); imports of the packages in
    `FORBIDDEN_MODULES`; and the extra dotted names in ``also_forbid`` (e.g. "numpy.tanh").
    """
    targets, labels_by_id = _tripwire_plan(also_forbid)
    patched: list[tuple[object, str, object]] = []
    patched_names: list[tuple[str, object]] = []
    real_import = builtins.__import__

    def guarded_import(name: str, globals=None, locals=None, fromlist=(), level=0):  # noqa: A002
        if level == 0 and not _SUSPENDED and _forbidden_import(name):
            _trip(f"import {name}")
        return real_import(name, globals, locals, fromlist, level)

    try:
        for owner, attr, original, tripwire in targets:
            try:
                setattr(owner, attr, tripwire)
            except (AttributeError, TypeError):  # pragma: no cover - read-only attribute
                continue
            patched.append((owner, attr, original))
        if namespace is not None:
            for key, value in list(namespace.items()):
                label = labels_by_id.get(id(value))
                if label is not None and not isinstance(value, types.ModuleType):
                    patched_names.append((key, value))
                    namespace[key] = _tripwire_for(label, value)
        builtins.__import__ = guarded_import
        _HITS.clear()
        yield
    finally:
        hits.extend(_HITS)
        _HITS.clear()
        builtins.__import__ = real_import
        if namespace is not None:
            for key, value in reversed(patched_names):
                namespace[key] = value
        for owner, attr, original in reversed(patched):
            setattr(owner, attr, original)


# Taken when nncourse is loaded, before any student code: a notebook that replaces time's
# functions does not change these clocks. (The grader's own limit, outside the kernel, is the
# one that cannot be fooled: it reads the kernel's CPU time from /proc.)
_monotonic, _process_time = time.monotonic, time.process_time


@contextlib.contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    usable = (
        seconds
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    limit = float(seconds)
    start, cpu_start = _monotonic(), _process_time()

    def on_alarm(signum: int, frame: object) -> None:
        # Out of time only when the work had its time (rules.over_time): on a loaded machine
        # the alarm comes before the process has had `limit` seconds of CPU; then wait on.
        wall, cpu = _monotonic() - start, _process_time() - cpu_start
        if rules.over_time(wall, cpu, limit):
            raise _OutOfTime()
        signal.setitimer(signal.ITIMER_REAL, rules.next_check(wall, cpu, limit))

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, previous)


def _name(fn: object) -> str:
    if isinstance(fn, remote.RemoteObject):
        return remote.name_of(fn)
    return str(getattr(fn, "__name__", type(fn).__name__))


def _describe(value: object) -> str:
    """A short description of a value that shows its type and shape, not its numbers."""
    if isinstance(value, remote.RemoteObject):
        return wire.describe(wire.Handle(value._remote_number, value._remote_type))
    if type(value).__module__.startswith("torch"):
        return f"a torch {type(value).__name__}"
    return wire.describe(value)


def _describe_args(args: Sequence[object]) -> str:
    parts = []
    for arg in args:
        if isinstance(arg, np.ndarray):
            parts.append(f"array{arg.shape}")
        elif isinstance(arg, tuple | list):
            parts.append(f"{type(arg).__name__} of {len(arg)}")
        elif isinstance(arg, int | float | np.number):
            parts.append(type(arg).__name__)
        else:
            parts.append(type(arg).__name__)
    return ", ".join(parts)


def _student_location(exc: BaseException, hidden_files: set[str]) -> str:
    """The innermost line of notebook code (not test code) that an exception went through."""
    tb = exc.__traceback__
    found = ""
    while tb is not None:
        code = tb.tb_frame.f_code
        filename = code.co_filename
        in_library = (
            filename == __file__
            or os.sep + "site-packages" + os.sep in filename
            or filename.startswith((sys.prefix, sys.base_prefix))
        )
        if not in_library and filename not in hidden_files:
            line = linecache.getline(filename, tb.tb_lineno).strip()
            if line:
                found = f"\n  (in {code.co_name}, at the line `{line}`)"
        tb = tb.tb_next
    return found


def _test_files() -> set[str]:
    """Files of the frames that called into this module: the test cells themselves."""
    files = set()
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename != __file__:
            files.add(frame.f_code.co_filename)
        frame = frame.f_back
    return files


def _delegation_message(what: str, name: str, hits: list[str]) -> str:
    used = ", ".join(dict.fromkeys(hits))
    return (
        f"{what} used {used}.\n"
        f"This part asks you to write {name} yourself with NumPy, so a version that hands the "
        "work to PyTorch, nnlib or SciPy gets no points here, even if its numbers are right.\n"
        "Likely mistake: calling a library function instead of writing the formula; rewrite it "
        "with NumPy operations (np.exp, np.maximum, @, np.sum, ...)."
    )


def run(
    fn: object,
    *args: object,
    what: str | None = None,
    forbid: bool = False,
    also_forbid: Sequence[str] = (),
    time_limit: float | None = DEFAULT_TIME_LIMIT,
    copy_args: bool = True,
    kwargs: Mapping[str, object] | None = None,
    track: bool = False,
) -> Outcome:
    """Call ``fn(*args, **kwargs)`` like `call` and also return what it printed or warned.

    ``track`` (for proxies of student functions, see `nncourse.remote`): the kernel keeps the
    arguments and reports later changes to them.
    """
    name = _name(fn)
    kwargs = dict(kwargs or {})
    what = what or f"{name}({_describe_args([*args, *kwargs.values()])})"
    if not callable(fn):
        raise GradingFailure(f"{name} should be a function, but it is {_describe(fn)}.")
    if isinstance(fn, remote.RemoteFunction):
        # nncourse grade: the student's function runs in its kernel, this test runs here.
        value, caught, printed = fn._remote_link.run(
            fn, args, kwargs=kwargs, what=what, forbid=forbid, also_forbid=also_forbid,
            time_limit=time_limit, copy_args=copy_args, track=track)
        return Outcome(value, Captured(warnings=caught, stdout=printed))
    if copy_args:
        args, kwargs = copy.deepcopy((args, kwargs))
    hidden_files = _test_files()
    hits: list[str] = []
    namespace = getattr(fn, "__globals__", None)
    guarded = forbid or bool(also_forbid)
    guard = _tripwires(namespace, also_forbid, hits) if guarded else contextlib.nullcontext()
    link = remote.current()
    if link is not None:
        # A function of the test's (it calls student code through proxies): the proxies'
        # calls carry the options to the kernel, and each has its own time limit there.
        guard = remote.call_options(forbid=forbid, also_forbid=tuple(also_forbid))
        time_limit = None
    value: Any = None
    try:
        with quiet() as captured, guard, _time_limit(time_limit):
            value = fn(*args, **kwargs)
    except _Tripped:
        pass
    except GradingFailure:
        raise  # a proxied call inside the function already said what went wrong
    except _OutOfTime:
        raise GradingFailure(
            f"{what} did not finish within {time_limit:g} seconds.\n"
            "Likely mistake: a loop that never ends (check the loop's stopping condition)."
        ) from None
    except NotImplementedError:
        raise GradingFailure(
            f"{what} raised NotImplementedError: this function is not written yet.\n"
            "Replace `raise NotImplementedError()` in its cell with your code and run the cell."
        ) from None
    except RecursionError:
        raise GradingFailure(
            f"{what} raised RecursionError: the function calls itself without end.\n"
            "Likely mistake: a helper with the same name as the function it is used in."
        ) from None
    except Exception as exc:
        raise GradingFailure(
            f"{what} raised {type(exc).__name__}: {exc}"
            f"{_student_location(exc, hidden_files)}"
        ) from None
    if hits:
        raise GradingFailure(_delegation_message(what, name, hits))
    if remote.current() is None:
        # The in-kernel runners see what the grader would see: plain data rebuilt, the same
        # types (live objects, such as a torch model, are kept as they are).
        try:
            value = wire.roundtrip(value)
        except wire.WireError as exc:
            raise GradingFailure(
                f"{what} returned a value that cannot be checked ({exc}).") from None
    return Outcome(value, captured)


def call(
    fn: object,
    *args: object,
    what: str | None = None,
    forbid: bool = False,
    also_forbid: Sequence[str] = (),
    time_limit: float | None = DEFAULT_TIME_LIMIT,
    copy_args: bool = True,
) -> Any:
    """Call a student function and return its result, turning any problem into a message.

    The function gets deep copies of ``args`` (so a function that changes its input in place
    does not spoil the test's data) unless ``copy_args`` is false. Warnings and printed output
    are captured (use `run` to see them). An exception, NotImplementedError included, becomes
    a `GradingFailure` naming the call and the student's line where it happened. With
    ``forbid``, PyTorch, nnlib and scipy.special are replaced by tripwires for the duration of
    the call, and using any of them fails with a message saying why (``also_forbid`` adds
    dotted names such as "numpy.tanh").
    """
    outcome = run(
        fn,
        *args,
        what=what,
        forbid=forbid,
        also_forbid=also_forbid,
        time_limit=time_limit,
        copy_args=copy_args,
    )
    return outcome.value


def fixture(fn: Callable[..., Any], *args: object, time_limit: float | None = None,
            **kwargs: object) -> Any:
    """Run a public fixture of `nncourse.fixtures` where the student's code lives.

    A fixture builds live objects (a torch model, a loader), runs the student's functions on
    them and reports plain facts (see `nncourse.wire`) that the test then judges. Under
    ``nncourse grade`` it runs in the student's kernel and its report comes back as data;
    elsewhere it runs here and its report goes through the same conversion, so a test sees
    the same thing in both runners. A `GradingFailure` it raises fails the test.
    """
    name = f"{fn.__module__}:{fn.__qualname__}"
    if not fn.__module__.startswith("nncourse.fixtures"):
        raise TypeError(f"{name} is not a fixture of nncourse.fixtures")
    link = remote.current()
    if link is not None:
        return link.fixture(name, args, kwargs, time_limit)
    with _time_limit(time_limit):
        try:
            return wire.roundtrip(fn(*args, **kwargs))
        except _OutOfTime:
            raise GradingFailure(f"{fn.__name__} did not finish within {time_limit:g} seconds.\n"
                                 "Likely mistake: a loop that never ends.") from None


def lookup(namespace: Mapping[str, Any], name: str, *, kind: str = "function") -> Any:
    """The student's object ``name`` from ``namespace`` (use ``globals()``), or a clear failure."""
    link = remote.current()
    if name not in namespace and link is not None:
        found = link.resolve([name])
        if name in found:
            return found[name]
    if name not in namespace:
        raise GradingFailure(
            f"`{name}` is not defined.\n"
            f"Likely mistake: the cell that defines the {kind} `{name}` was not run, raised an "
            "error, or uses another name; keep the name given in the instructions."
        )
    value = namespace[name]
    if kind == "function" and not callable(value):
        raise GradingFailure(f"`{name}` should be a function, but it is {_describe(value)}.")
    return value


class _Trusted:
    """A reference function put in place by `substitute`: it may use any library, even while
    the student's code runs with tripwires (they forward to the real functions meanwhile)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self._fn = fn
        self.__name__ = _name(fn)
        self.__doc__ = getattr(fn, "__doc__", None)

    def __call__(self, *args: object, **kwargs: object) -> Any:
        global _SUSPENDED
        _SUSPENDED += 1
        try:
            return self._fn(*args, **kwargs)
        finally:
            _SUSPENDED -= 1

    def __repr__(self) -> str:
        return f"<reference {self.__name__}>"


@contextlib.contextmanager
def substitute(namespace: MutableMapping[str, Any], **replacements: object) -> Iterator[None]:
    """Temporarily bind names in ``namespace`` (use ``globals()``) to reference functions.

    A test of ``sigmoid_derivative`` can run with a correct ``sigmoid`` in place of the
    student's, so that a mistake in ``sigmoid`` costs the points of ``sigmoid`` only. The
    references may come from any library (nnlib, torch): calls to them are not counted as the
    student's use of that library by `call(forbid=True)`.
    """
    missing = object()
    saved = {name: namespace.get(name, missing) for name in replacements}
    namespace.update(
        {
            name: _Trusted(value) if callable(value) else value
            for name, value in replacements.items()
        }
    )
    link = remote.current()
    in_kernel = link.substituted(replacements) if link else contextlib.nullcontext()
    try:
        with in_kernel:
            yield
    finally:
        for name, value in saved.items():
            if value is missing:
                namespace.pop(name, None)
            else:
                namespace[name] = value


@contextlib.contextmanager
def grading(label: str) -> Iterator[np.random.Generator]:
    """Wrap a hidden test cell: a seeded generator, no stray output, no leaked test code.

    Everything the block prints or warns is captured. A `GradingFailure` passes through; a
    NameError (a function or variable the student did not define) and any other error become a
    `GradingFailure` whose message shows neither the test's code nor its data.
    """
    try:
        with quiet():
            yield rng(label)
    except GradingFailure:
        raise
    except NameError as exc:
        missing = getattr(exc, "name", None) or str(exc)
        raise GradingFailure(
            f"`{missing}` is not defined.\n"
            "Likely mistake: its cell was not run, raised an error, or uses another name; keep "
            "the names given in the instructions."
        ) from None
    except Exception as exc:
        raise GradingFailure(
            f"The tests stopped with {type(exc).__name__}: {exc}\n"
            "Likely mistake: a function returned something of an unexpected type or shape."
        ) from None


def hidden(label: str) -> Callable[[Callable[[np.random.Generator], None]], None]:
    """Decorator for the body of a hidden test cell: runs it at once under `grading`.

    ::

        @checks.hidden("02_activations/sigmoid")
        def hidden_tests(rng):
            ...  # draws its inputs from rng; its names stay out of the notebook's globals

    Keeping the test in a function means its variables never overwrite the student's.
    """

    def run_now(test: Callable[[np.random.Generator], None]) -> None:
        with grading(label) as generator:
            test(generator)

    return run_now


# ---------------------------------------------------------------------------------------------
# Comparing and diagnosing
# ---------------------------------------------------------------------------------------------

#: A hint: (message, wrong_value) or (message, predicate(found_array) -> bool).
Hint = tuple[str, Any]


def as_array(found: object, what: str) -> np.ndarray:
    """``found`` as a NumPy array of numbers, or a failure that says what was returned."""
    if found is None:
        raise GradingFailure(
            f"{what} returned None.\nLikely mistake: a missing `return` statement."
        )
    if type(found).__module__.startswith("torch") or (
            isinstance(found, remote.RemoteObject) and found._remote_type in _TORCH_TYPES):
        raise GradingFailure(
            f"{what} returned {_describe(found)}, expected a NumPy array.\n"
            "Likely mistake: using PyTorch; this exercise is written with NumPy only."
        )
    try:
        arr = None if isinstance(found, remote.RemoteObject) else np.asarray(found)
    except Exception:
        arr = None
    if arr is None or arr.dtype.kind not in "biuf":
        raise GradingFailure(
            f"{what} returned {_describe(found)}, expected an array of numbers."
        )
    return arr


_TORCH_TYPES = ("Tensor", "Parameter")


def as_tuple(found: object, names: Sequence[str], *, what: str) -> tuple[Any, ...]:
    """``found`` as a tuple of ``len(names)`` values, or a failure naming what is expected."""
    if not isinstance(found, tuple | list) or len(found) != len(names):
        raise GradingFailure(
            f"{what} should return {len(names)} values, ({', '.join(names)}), but returned "
            f"{_describe(found)}.\nLikely mistake: the return statement; return them as a tuple."
        )
    return tuple(found)


def _format_values(arr: np.ndarray) -> str:
    if arr.ndim == 0:
        return f"{float(arr):.8g}"
    text = np.array2string(
        arr.astype(np.float64), precision=6, threshold=30, edgeitems=3, separator=", "
    )
    return text.replace("\n", "\n" + " " * 12)


def _summary(arr: np.ndarray) -> str:
    """Shape, dtype and range of an array: what it looks like, not its numbers."""
    if arr.size == 0:
        return f"an empty array of shape {arr.shape}"
    finite = arr[np.isfinite(arr)] if arr.dtype.kind == "f" else arr
    head = "a number" if arr.ndim == 0 else f"an array of shape {arr.shape}"
    parts = [f"{head} ({arr.dtype})"]
    if finite.size:
        low, high = float(np.min(finite)), float(np.max(finite))
        parts.append(f"= {low:.4g}" if arr.ndim == 0 else f"values from {low:.4g} to {high:.4g}")
    if finite.size < arr.size:
        parts.append(f"with {arr.size - finite.size} NaN/inf entries")
    return ", ".join(parts)


def _describe_side(arr: np.ndarray, reveal: bool) -> str:
    return _format_values(arr) if reveal else _summary(arr)


def _close(a: np.ndarray, b: np.ndarray, rtol: float = 1e-6) -> bool:
    """Loose closeness used to recognise a mistake (not to grade)."""
    if a.shape != b.shape:
        return False
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return False
    scale = max(float(np.max(np.abs(b), initial=0.0)), float(np.max(np.abs(a), initial=0.0)))
    return bool(np.all(np.abs(a - b) <= rtol * np.maximum(np.abs(a), np.abs(b)) + 1e-9 * scale))


def _matches_hint(found: np.ndarray, target: object) -> bool:
    """Whether ``found`` is the wrong answer ``target`` (a value, or a predicate on ``found``).

    A value may hold NaN or inf, for the wrong answers of unstable formulas: those entries
    match where ``found`` has the same non-finite value, the others as in `_close`.
    """
    try:
        if callable(target):
            return bool(target(found))
        f = found.astype(np.float64)
        t = np.asarray(target, dtype=np.float64)
        if f.shape != t.shape:
            return False
        odd = ~np.isfinite(t)
        if not np.any(odd):
            return _close(f, t)
        if np.all(odd):
            return False  # a hint that is NaN everywhere is one that never applies
        same_odd = np.array_equal(f[odd], t[odd], equal_nan=True)
        return bool(same_odd and np.all(np.isfinite(f[~odd])) and _close(f[~odd], t[~odd]))
    except Exception:
        return False


def _factor_message(factor: float, batch: int | None, size: int) -> str | None:
    """The mistake a constant factor between found and expected points to, if any.

    Any two numbers are some factor apart, so for a single number only the factors a
    mistake explains (2, 1/2, the batch size) are named; the general "a constant factor"
    only where several values share it.
    """
    if np.isclose(factor, 1.0, rtol=1e-6):
        return None
    if batch and batch > 1 and np.isclose(factor, batch, rtol=1e-6):
        return (
            f"the result is {batch} times too large (the number of values averaged): "
            "did you sum instead of taking the mean, or forget to divide by N?"
        )
    if batch and batch > 1 and np.isclose(factor, 1.0 / batch, rtol=1e-6):
        return (
            f"the result is {batch} times too small (the number of values averaged): "
            "did you divide by N twice, or take a mean where a sum is needed?"
        )
    if np.isclose(factor, 2.0, rtol=1e-6):
        return "the result is twice too large: a stray factor 2?"
    if np.isclose(factor, 0.5, rtol=1e-6):
        return "the result is half of what it should be: a missing factor 2?"
    if size < 2:
        return None
    return f"every value is off by the same factor, about {factor:.4g}"


def diagnose(
    found: object,
    expected: object,
    *,
    hints: Sequence[Hint] = (),
    batch: int | None = None,
    inputs: object = None,
    warned: Sequence[str] = (),
) -> list[str]:
    """Name the likely mistakes that turn ``expected`` into ``found`` (an empty list if none).

    ``hints`` are test-specific wrong answers, as ``(message, value)`` pairs (the message is
    given when ``found`` is close to ``value``) or ``(message, predicate)`` pairs (given when
    ``predicate(found)`` is true). ``batch`` is the number of values a mean runs over (to
    recognise a sum instead of a mean), ``inputs`` the elementwise input (to say for which
    inputs the result is wrong), ``warned`` the warnings the call gave (to say why a result
    is NaN or inf). Each message names a mistake only when it explains the numbers found.
    """
    f = np.asarray(found)
    e = np.asarray(expected, dtype=np.float64)
    for message, target in hints:
        if _matches_hint(f, target):
            return [message]
    if f.shape != e.shape:
        return _diagnose_shape(f.shape, e.shape)
    low_precision = f.dtype.kind == "f" and f.dtype.itemsize < 8
    f = f.astype(np.float64)
    if np.any(~np.isfinite(f) & np.isfinite(e)):
        return [_non_finite_message(warned)]
    if not np.all(np.isfinite(e)):
        return []
    if low_precision and _close(f, e, rtol=10 * float(np.finfo(np.asarray(found).dtype).eps)):
        return [f"the result is {np.asarray(found).dtype}, so it is rounded: keep the "
                "computation in float64"]
    scale = float(np.max(np.abs(e), initial=0.0))
    if scale > 0 and np.all(np.abs(f) <= 1e-12 * scale):
        return ["the result is 0" if e.ndim == 0 else "the result is zero everywhere"]
    if scale > 0 and _close(f, -e):
        return ["the sign is flipped"]
    if e.ndim == 2 and e.shape[0] == e.shape[1] and e.shape[0] > 1 and _close(f, e.T):
        if not _close(e, e.T):
            return ["the result is transposed"]
    denominator = float(np.sum(e * e))
    if denominator > 0:
        factor = float(np.sum(f * e)) / denominator
        if np.isfinite(factor) and factor != 0 and _close(f, factor * e):
            message = _factor_message(factor, batch, e.size)
            if message:
                return [message]
    difference = f - e
    if e.size > 1 and np.ptp(difference) <= 1e-9 * max(scale, 1.0) and abs(difference.flat[0]) > 0:
        return [
            f"every value is off by the same amount ({float(difference.flat[0]):.4g}): "
            "a missing or extra constant term"
        ]
    messages = []
    if inputs is not None:
        messages += _diagnose_region(f, e, np.asarray(inputs, dtype=np.float64))
    return messages


def _non_finite_message(warned: Sequence[str]) -> str:
    """Why results are NaN or inf where they should be finite, from NumPy's warnings."""
    start = "some results are NaN or inf where the correct ones are finite"
    text = " ".join(warned)
    if "overflow" in text and "exp" in text:
        return (f"{start}: np.exp overflowed (rewrite the formula so that np.exp only sees "
                "arguments <= 0, e.g. by subtracting the maximum)")
    if "in log" in text:
        return (f"{start}: np.log got 0, the log of a probability that underflowed to 0 "
                "(compute log-probabilities with the log-sum-exp trick instead: "
                "z - max - log(sum(exp(z - max))))")
    if "divide by zero" in text:
        return (f"{start}: a division by zero (look at every denominator: which one can "
                "be 0, for example in the first step?)")
    if "invalid value encountered in divide" in text:
        return (f"{start}: 0 / 0, a numerator and its denominator both 0 (np.exp of a very "
                "negative number underflows to 0, so subtract the maximum first; or a "
                "denominator that is 0 in the first step)")
    if "overflow" in text:
        return f"{start}: a value overflowed ({text})"
    return (f"{start}: look for a division by zero, or an overflow (np.exp of large "
            "numbers); NumPy's warnings, printed when you run it, say which")


def _diagnose_shape(found: tuple[int, ...], expected: tuple[int, ...]) -> list[str]:
    if len(found) >= 2 and found == expected[::-1]:
        return ["the result is transposed (its shape is the expected one reversed)"]
    if found == () and expected != ():
        return [
            "a single number was returned where an array is expected: did you sum or average "
            "over the entries?"
        ]
    if expected == () and found != ():
        return [
            "an array was returned where a single number is expected: did you forget to reduce "
            "the values (e.g. with np.mean)?"
        ]
    if int(np.prod(found)) == int(np.prod(expected)):
        return [
            "the result has the right number of values but the wrong shape: check reshape, "
            "keepdims and which axis you reduce over"
        ]
    return []


def _diagnose_region(f: np.ndarray, e: np.ndarray, inputs: np.ndarray) -> list[str]:
    if inputs.shape != e.shape:
        return []
    wrong = ~np.isclose(f, e, rtol=1e-7, atol=1e-12)
    if not np.any(wrong):
        return []
    for region, name in (
        (inputs == 0, "where the input is exactly 0 (check the convention at 0)"),
        (inputs < 0, "where the input is negative"),
        (inputs > 0, "where the input is positive"),
    ):
        if np.all(region[wrong]) and not np.all(region):
            return [f"the values are right everywhere except {name}"]
    return []


def assert_close(
    found: object,
    expected: object,
    *,
    what: str,
    rtol: float = 1e-7,
    atol: float = 1e-12,
    hints: Sequence[Hint] = (),
    reveal: bool = False,
    batch: int | None = None,
    inputs: object = None,
    warned: Sequence[str] = (),
) -> np.ndarray:
    """Check that ``found`` equals ``expected`` (an array or number) to within tolerance.

    Passes where ``|found - expected| <= atol + rtol * max(|found|, |expected|)`` everywhere,
    with the same shape. Otherwise raises a `GradingFailure` that says what was expected and
    what was found (the numbers themselves only with ``reveal``, for visible tests whose data
    the student can see anyway; otherwise shapes and ranges) and the likely mistake (see
    `diagnose`; ``warned``: the warnings the call gave). ``found`` may be the `Outcome` of
    `run`, whose warnings then count as ``warned``. Returns ``found`` as an array.
    """
    if isinstance(found, Outcome):
        warned = [*warned, *found.captured.runtime_warnings]
        found = found.value
    f = as_array(found, what)
    e = np.asarray(expected, dtype=np.float64)
    if f.shape != e.shape:
        reasons = diagnose(f, e, hints=hints, batch=batch, inputs=inputs, warned=warned)
        raise GradingFailure(
            f"{what} has the wrong shape: expected {e.shape}, found {f.shape}."
            + _likely(reasons)
        )
    f64 = f.astype(np.float64)
    with np.errstate(all="ignore"):
        error = np.abs(f64 - e)
        allowed = atol + rtol * np.maximum(np.abs(f64), np.abs(e))
        bad = ~(error <= allowed)  # NaN counts as bad
        bad |= np.isfinite(e) != np.isfinite(f64)
        both_inf = ~np.isfinite(e) & (f64 == e)
        bad &= ~both_inf
    if not np.any(bad):
        return f
    with np.errstate(all="ignore"):
        relative = error / np.maximum(np.maximum(np.abs(f64), np.abs(e)), 1e-300)
    worst = float(np.nanmax(np.where(bad, relative, 0.0))) if np.any(np.isfinite(relative)) else 0
    reasons = diagnose(f, e, hints=hints, batch=batch, inputs=inputs, warned=warned)
    count = int(np.count_nonzero(bad))
    allowed_text = "must match exactly" if rtol == 0 else f"allowed: {rtol:.0e}"
    lines = [
        f"{what} is not right.",
        f"  expected: {_describe_side(e, reveal)}",
        f"  found:    {_describe_side(f64, reveal)}",
    ]
    if e.size > 1:
        lines.append(f"  {count} of {e.size} values differ; the largest relative error is "
                     f"{worst:.2g} ({allowed_text}).")
    else:
        lines.append(f"  relative error {worst:.2g} ({allowed_text}).")
    raise GradingFailure("\n".join(lines) + _likely(reasons))


def _likely(reasons: Sequence[str]) -> str:
    if not reasons:
        return (
            "\nNo common mistake recognised: compare your code with the formula in the "
            "instructions, term by term."
        )
    return "\nLikely mistake: " + "; ".join(reasons) + "."


def assert_equal(
    found: object, expected: object, *, what: str, hints: Sequence[Hint] = (),
    reveal: bool = False
) -> None:
    """Check an exact value (an integer, a bool, a tuple length, ...).

    The message shows the value found; the expected one only with ``reveal`` (visible tests).
    """
    if found is expected or (type(found) is not np.ndarray and found == expected):
        return
    messages = [message for message, target in hints if _matches_hint(np.asarray(found), target)]
    messages = messages[:1]
    shown = (
        f"\n  expected: {expected!r}\n  found:    {found!r}"
        if reveal
        else f"\n  found: {_describe(found)}"
    )
    raise GradingFailure(f"{what} is not right.{shown}" + _likely(messages))


def assert_no_warnings(captured: Captured, *, what: str, hint: str) -> None:
    """Fail if the code that ran under ``captured`` raised a RuntimeWarning (overflow, ...)."""
    runtime = captured.runtime_warnings
    if runtime:
        shown = "; ".join(dict.fromkeys(runtime))
        raise GradingFailure(
            f"{what} gave the warning(s): {shown}.\nThe result must come without warnings."
            f"\nLikely mistake: {hint}"
        )


def check_output(
    fn: object,
    args: Sequence[object],
    expected: object,
    *,
    what: str | None = None,
    hints: Sequence[Hint] = (),
    rtol: float = 1e-7,
    atol: float = 1e-12,
    reveal: bool = False,
    forbid: bool = False,
    also_forbid: Sequence[str] = (),
    batch: int | None = None,
    inputs: object = None,
    error_hints: Sequence[tuple[str, str]] = (),
) -> np.ndarray:
    """`call` ``fn(*args)`` and `assert_close` its result to ``expected``; return the result.

    ``error_hints`` are ``(message, words)`` pairs: when the call raises an error whose
    message contains ``words``, the failure names ``message`` as the likely mistake.
    """
    what = what or f"{_name(fn)}({_describe_args(args)})"
    try:
        outcome = run(fn, *args, what=what, forbid=forbid, also_forbid=also_forbid)
    except GradingFailure as failure:
        text = str(failure)
        raised = text.startswith(f"{what} raised ")
        matched = [message for message, words in error_hints if raised and words in text]
        if matched:
            raise GradingFailure(f"{text}\nLikely mistake: {matched[0]}.") from None
        raise
    return assert_close(
        outcome.value,
        expected,
        warned=outcome.captured.runtime_warnings,
        what=what,
        rtol=rtol,
        atol=atol,
        hints=hints,
        reveal=reveal,
        batch=batch,
        inputs=inputs,
    )


# ---------------------------------------------------------------------------------------------
# References: torch autograd and finite differences, in float64
# ---------------------------------------------------------------------------------------------


def _torch() -> types.ModuleType:
    with quiet():
        import torch
    return torch


@contextlib.contextmanager
def _torch_quietly() -> Iterator[types.ModuleType]:
    """torch, quiet and on one thread: the tensors here are tiny, and with several threads
    each call can take milliseconds on a busy machine instead of microseconds."""
    torch = _torch()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with quiet():
            yield torch
    finally:
        torch.set_num_threads(threads)


def _to_tensor(x: object, requires_grad: bool = False) -> Any:
    torch = _torch()
    arr = np.asarray(x)
    if arr.dtype.kind in "iub":
        return torch.as_tensor(arr.astype(np.int64))
    return torch.tensor(arr.astype(np.float64), requires_grad=requires_grad)


def torch_values(fn: Callable[..., Any], *args: object) -> np.ndarray:
    """``fn`` (a function of tensors) evaluated on float64 tensors made from ``args``."""
    with _torch_quietly() as torch, torch.no_grad():
        out = fn(*(_to_tensor(a) for a in args))
    return np.asarray(out.detach().numpy(), dtype=np.float64)


def torch_derivative(fn: Callable[[Any], Any], z: object) -> np.ndarray:
    """The elementwise derivative of an elementwise ``fn`` at ``z``, by torch autograd."""
    with _torch_quietly():
        t = _to_tensor(z, requires_grad=True)
        fn(t).sum().backward()
    return t.grad.numpy().copy()


def torch_gradient(fn: Callable[..., Any], args: Sequence[object], wrt: int = 0) -> np.ndarray:
    """The gradient of the scalar ``fn(*args)`` with respect to ``args[wrt]``, by autograd."""
    with _torch_quietly():
        tensors = [_to_tensor(a, requires_grad=(i == wrt)) for i, a in enumerate(args)]
        fn(*tensors).backward()
    return tensors[wrt].grad.numpy().copy()


def torch_jacobian(fn: Callable[[Any], Any], z: object) -> np.ndarray:
    """The Jacobian d fn(z)_i / d z_j of a vector function at the vector ``z``, by autograd."""
    with _torch_quietly() as torch:
        jac = torch.autograd.functional.jacobian(fn, _to_tensor(z))
    return np.asarray(jac.numpy(), dtype=np.float64)


def _gradcheck() -> types.ModuleType:
    """nnlib.gradcheck, the one implementation of central differences; imported on first use
    so that `import nncourse.checks` stays light (the grading zygote has nnlib loaded)."""
    from nnlib import gradcheck

    return gradcheck


def numerical_derivative(fn: Callable[[np.ndarray], np.ndarray], z: object, h: float = 1e-5):
    """Central differences (f(z + h) - f(z - h)) / 2h of an elementwise ``fn``, in float64.

    `nnlib.gradcheck.numerical_derivative`."""
    return _gradcheck().numerical_derivative(fn, z, h)


def numerical_gradient(
    fn: Callable[..., float], args: Sequence[object], wrt: int = 0, h: float = 1e-5
) -> np.ndarray:
    """Central-difference gradient of the scalar ``fn(*args)`` with respect to ``args[wrt]``.

    ``args[wrt]`` is copied as float64 and that copy is probed in place by
    `nnlib.gradcheck.numerical_gradient`; the other arguments are passed as they are.
    """
    values = [np.asarray(a) for a in args]
    x = values[wrt].astype(np.float64)
    values[wrt] = x
    return _gradcheck().numerical_gradient(lambda: float(fn(*values)), x, h)


def numerical_jacobian(
    fn: Callable[[np.ndarray], np.ndarray], z: object, h: float = 1e-5
) -> np.ndarray:
    """Central-difference Jacobian d fn(z)_i / d z_j of a vector function, column by column.

    `nnlib.gradcheck.numerical_jacobian`: shape fn(z).shape + z.shape."""
    return _gradcheck().numerical_jacobian(fn, z, h)


def _smooth_points(numeric: np.ndarray, exact: np.ndarray, rtol: float, atol: float):
    """Where finite differences agree with autograd (they do not at a kink such as 0 for ReLU)."""
    return np.abs(numeric - exact) <= atol + rtol * np.maximum(np.abs(numeric), np.abs(exact))


def _check_against_both(
    found: object,
    exact: np.ndarray,
    numeric: np.ndarray,
    *,
    what: str,
    rtol: float,
    atol: float,
    fd_rtol: float,
    fd_atol: float,
    hints: Sequence[Hint],
    reveal: bool,
    batch: int | None,
    inputs: object,
) -> np.ndarray:
    f = assert_close(
        found, exact, what=what, rtol=rtol, atol=atol, hints=hints, reveal=reveal,
        batch=batch, inputs=inputs,
    )
    smooth = _smooth_points(numeric, exact, fd_rtol, fd_atol)
    if np.any(smooth):
        assert_close(
            f[smooth], numeric[smooth], what=f"{what}, compared with finite differences",
            rtol=fd_rtol, atol=fd_atol, hints=(), reveal=False, batch=batch,
        )
    return f


def compare_derivative(
    student: object,
    reference: Callable[[Any], Any],
    z: np.ndarray,
    *extra: object,
    what: str | None = None,
    hints: Sequence[Hint] = (),
    reveal: bool = False,
    forbid: bool = True,
    rtol: float = 1e-7,
    atol: float = 1e-12,
    fd_rtol: float = 1e-7,
    fd_atol: float = 1e-9,
) -> np.ndarray:
    """Check ``student(z, *extra)``, an elementwise derivative, against ``reference``.

    ``reference`` is the elementwise function as a function of a torch tensor (e.g.
    ``torch.sigmoid``). The expected derivative comes from torch autograd in float64; the
    result is also compared with central finite differences of ``reference`` (where it is
    smooth). Tolerances follow gradient-checking practice: relative error ``rtol`` (1e-7).
    """
    what = what or f"{_name(student)}(z) for z of shape {np.shape(z)}"
    exact = torch_derivative(reference, z)
    numeric = numerical_derivative(lambda x: torch_values(reference, x), z)
    found = call(student, z, *extra, what=what, forbid=forbid)
    return _check_against_both(
        found, exact, numeric, what=what, rtol=rtol, atol=atol, fd_rtol=fd_rtol,
        fd_atol=fd_atol, hints=hints, reveal=reveal, batch=None, inputs=z,
    )


def compare_gradient(
    student: object,
    reference: Callable[..., Any],
    args: Sequence[object],
    *,
    wrt: int = 0,
    what: str | None = None,
    hints: Sequence[Hint] = (),
    reveal: bool = False,
    forbid: bool = True,
    batch: int | None = None,
    rtol: float = 1e-7,
    atol: float = 1e-12,
    fd_rtol: float = 1e-7,
    fd_atol: float = 1e-9,
) -> np.ndarray:
    """Check ``student(*args)``, the gradient of a scalar function, against ``reference``.

    ``reference(*tensors)`` computes the scalar (e.g. a loss) with torch; the expected gradient
    with respect to ``args[wrt]`` comes from autograd in float64 and the result is also
    compared with central finite differences.
    """
    what = what or f"{_name(student)}({_describe_args(args)})"
    exact = torch_gradient(reference, args, wrt)
    numeric = numerical_gradient(lambda *a: torch_values(reference, *a), args, wrt)
    found = call(student, *args, what=what, forbid=forbid)
    return _check_against_both(
        found, exact, numeric, what=what, rtol=rtol, atol=atol, fd_rtol=fd_rtol,
        fd_atol=fd_atol, hints=hints, reveal=reveal, batch=batch, inputs=None,
    )


def compare_jacobian(
    student: object,
    reference: Callable[[Any], Any],
    z: np.ndarray,
    *,
    what: str | None = None,
    hints: Sequence[Hint] = (),
    reveal: bool = False,
    forbid: bool = True,
    rtol: float = 1e-7,
    atol: float = 1e-12,
    fd_rtol: float = 1e-7,
    fd_atol: float = 1e-9,
) -> np.ndarray:
    """Check ``student(z)``, the Jacobian of a vector function at ``z``, against ``reference``.

    The expected Jacobian comes from torch autograd in float64 and is also compared with
    central finite differences, column by column.
    """
    what = what or f"{_name(student)}(z) for z of shape {np.shape(z)}"
    exact = torch_jacobian(reference, z)
    numeric = numerical_jacobian(lambda x: torch_values(reference, x), z)
    found = call(student, z, what=what, forbid=forbid)
    return _check_against_both(
        found, exact, numeric, what=what, rtol=rtol, atol=atol, fd_rtol=fd_rtol,
        fd_atol=fd_atol, hints=hints, reveal=reveal, batch=None, inputs=None,
    )


# ---------------------------------------------------------------------------------------------
# A name that is not defined yet (students, in JupyterLab)
# ---------------------------------------------------------------------------------------------


def name_hint(exc: NameError) -> str:
    """What an undefined name in a test cell most often means: an answer cell not run yet."""
    name = getattr(exc, "name", None) or "this name"
    return (f"{name} is not defined yet: run the cell that defines it first (your answer "
            "cell, after writing your code in it; Run > Run All Above Selected Cell runs "
            "everything above), then this test cell again.")


def _show_name_hint(shell: Any, etype: type, value: BaseException, tb: Any,
                    tb_offset: int | None = None) -> None:
    shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
    print(f"\nnncourse: {name_hint(value)}", file=sys.stderr)  # type: ignore[arg-type]


def install_name_hint(shell: Any = None) -> bool:
    """In an IPython kernel (``shell``, default: the running one), follow every NameError's
    traceback with `name_hint`. Returns whether a shell was found. Called when this module is
    imported, so every exercise's setup cell installs it."""
    if shell is None:
        ipython = sys.modules.get("IPython")
        get = getattr(ipython, "get_ipython", None)
        shell = get() if get else None
    if shell is None or not hasattr(shell, "set_custom_exc"):
        return False
    shell.set_custom_exc((NameError,), _show_name_hint)
    return True


install_name_hint()
