"""The grading harness: runs inside each grading kernel, next to the student's code.

`install` is called by the sandbox (`nncourse.sandbox`) after the kernel has started and
before it runs a single cell of the notebook. It takes a snapshot of the state that tests rely
on and defines ``__nncourse__``, the function through which the grader runs every test cell:

1. **Restore.** The modules the tests use (NumPy, nnlib and its checking helpers
   `nncourse.checks`, the public namespaces of PyTorch, scipy.special, ``builtins`` and a
   few standard modules) get back every attribute, every function's code and every class
   attribute they had at the snapshot; ``sys.modules`` entries, ``sys`` hooks, warning filters,
   NumPy's error state, signal handlers and the working folder are reset; the imports of the
   notebook's locked set-up cells are run again, so that ``np``, ``checks``, ... are the
   pristine objects. Whatever a student's cell patched before the test is undone.
2. **Guard.** While the test runs, setting or deleting an attribute of a protected module by
   anything but the test itself and the checking helpers is recorded; so is any difference
   from the snapshot (attributes, functions' code, class attributes) once the test ends.
   Either fails the test ("the notebook's code changed the grading code while it ran").
3. **Verdict.** The test's code (given at start-up, never read from the notebook) runs in the
   notebook's namespace; the outcome is published as a display message signed with an HMAC
   under a key that only the grader and this harness know (it is not in the notebook, the
   environment or any file). The grader counts a test as passed only when it receives a valid
   signature for this cell and this run of it (a fresh nonce per cell); errors shown by IPython,
   outputs, exit codes and anything else the notebook can print are not trusted.

What this does not stop is code written against this module: a student function called by a
test can walk the interpreter's frames or heap (``sys._getframe``, ``gc``, ``ctypes``) to
reach the harness's objects. The grader flags such code for a person to look at
(`nncourse.grader.suspicious_code`); see the threat model in `nncourse.grader`.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import hmac
import json
import operator
import os
import signal
import sys
import threading
import types
import warnings
from collections.abc import Callable, Iterable
from typing import Any

__all__ = [
    "TORCH_NAMESPACES",
    "VERDICT_MIME",
    "expected_signature",
    "install",
    "protected_module_names",
]

#: The MIME type of the display message that carries a test's signed verdict.
VERDICT_MIME = "application/vnd.nncourse.verdict+json"

# Modules (and every submodule of them) restored before and checked after each test.
_PROTECTED_PACKAGES = ("numpy", "nnlib", "scipy.special")
# Single modules restored and checked as well.
_PROTECTED_SINGLE = (
    "builtins",
    "collections",
    "contextlib",
    "copy",
    "dataclasses",
    "functools",
    "hashlib",
    "importlib",
    "inspect",
    "io",
    "itertools",
    "linecache",
    "math",
    "operator",
    "os",
    "random",
    "re",
    "signal",
    "threading",
    "time",
    "traceback",
    "types",
    "warnings",
)
#: The public namespaces of PyTorch: restored and checked here (the tests use torch as a
#: reference), and replaced by tripwires in a hand-written exercise (`nncourse.checks`).
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
# IPython shell methods a notebook could replace to hide errors or skip cells.
_SHELL_METHODS = (
    "showtraceback",
    "_showtraceback",
    "showsyntaxerror",
    "showindentationerror",
    "run_cell",
    "run_cell_async",
    "run_code",
    "run_ast_nodes",
    "transform_cell",
    "should_run_async",
    "CustomTB",
)
_MISSING = object()


def protected_module_names(loaded: Iterable[str]) -> list[str]:
    """The names among ``loaded`` (module names) whose state the harness protects."""
    names = []
    for name in loaded:
        if name in _PROTECTED_SINGLE or name in TORCH_NAMESPACES:
            names.append(name)
        elif any(name == p or name.startswith(p + ".") for p in _PROTECTED_PACKAGES):
            names.append(name)
    return sorted(names)


def _verdict_message(nonce: str, cell: str, passed: bool, score: float | None, text: str) -> bytes:
    digest = hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()
    return f"{nonce}|{cell}|{int(passed)}|{score!r}|{digest}".encode()


def expected_signature(
    key: bytes, nonce: str, cell: str, passed: bool, score: float | None, text: str
) -> str:
    """The signature a genuine verdict carries (computed by the grader to check it)."""
    return hmac.new(key, _verdict_message(nonce, cell, passed, score, text), "sha256").hexdigest()


class _GuardedModule(types.ModuleType):
    """Module class swapped onto protected modules: reports attribute changes during a test."""

    def __setattr__(self, name: str, value: Any) -> None:
        _GUARD.note(self, name, value)
        super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        _GUARD.note(self, name, None, deleted=True)
        super().__delattr__(name)


class _Guard:
    """Records changes of protected objects made by untrusted code while a test runs."""

    def __init__(self) -> None:
        self.armed = False
        self.changes: list[str] = []
        self.trusted_files: set[str] = set()
        self.functions: dict[int, str] = {}
        self._busy = False
        # Frames of the standard library and installed packages are passed through: what
        # counts is the first caller outside them (the checks helpers or the notebook's code).
        prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
        self.library: tuple[str, ...] = ("<frozen", *sorted(p + os.sep for p in prefixes))

    def _untrusted_caller(self, depth: int) -> bool:
        frame = sys._getframe(depth)
        while frame is not None:
            filename = frame.f_code.co_filename
            if filename in self.trusted_files or filename.startswith("<nncourse test"):
                return False
            if not filename.startswith(self.library):
                return True
            frame = frame.f_back
        return True

    def note(self, module: types.ModuleType, name: str, value: Any, deleted: bool = False) -> None:
        if not self.armed or self._busy:
            return
        if not deleted and not (callable(value) or isinstance(value, type | types.ModuleType)):
            return
        self._busy = True
        try:
            if self._untrusted_caller(3):
                verb = "deleted" if deleted else "replaced"
                self.changes.append(f"{verb} {module.__name__}.{name}")
        finally:
            self._busy = False


_GUARD = _Guard()


def _same(live: Iterable[Any], saved: list[Any]) -> bool:
    """Whether ``live`` starts with exactly the objects in ``saved`` (by identity).

    Uses ``operator.is_`` rather than ``id`` (every call of ``id`` raises an audit event) or
    ``==`` (an object's ``__eq__`` could lie).
    """
    items = list(live)
    return len(items) >= len(saved) and all(map(operator.is_, items, saved))


_CODE = operator.attrgetter("__code__")
_DEFAULTS = operator.attrgetter("__defaults__")
_KWDEFAULTS = operator.attrgetter("__kwdefaults__")


class _Snapshot:
    """The state of the protected modules, classes, functions and hooks at start-up.

    Checking for changes is fast: the ids of a namespace's values are compared as one list (a
    saved object cannot be freed, so its id cannot be reused), and only a namespace whose ids
    differ is gone through entry by entry.
    """

    def __init__(self, shell: Any) -> None:
        names = protected_module_names(list(sys.modules))
        self.modules = {name: sys.modules[name] for name in names if sys.modules.get(name)}
        self.module_list = list(self.modules.values())
        self.namespaces: list[tuple[str, dict[str, Any], dict[str, Any], list[Any]]] = []
        self.classes: list[tuple[type, dict[str, Any], list[Any]]] = []
        functions: dict[int, tuple[types.FunctionType, str]] = {}
        seen_classes: set[int] = set()
        for name, module in self.modules.items():
            namespace = vars(module)
            saved = dict(namespace)
            self.namespaces.append((name, namespace, saved, [*saved.keys(), *saved.values()]))
            for attr, value in saved.items():
                if isinstance(value, type) and id(value) not in seen_classes:
                    seen_classes.add(id(value))
                    if _mutable_class(value):
                        class_dict = dict(vars(value))
                        self.classes.append(
                            (value, class_dict, [*class_dict.keys(), *class_dict.values()])
                        )
                elif isinstance(value, types.FunctionType):
                    functions.setdefault(id(value), (value, f"{name}.{attr}"))
        for cls, saved, _ in self.classes:
            for attr, value in saved.items():
                function = value
                if isinstance(value, classmethod | staticmethod):
                    function = value.__func__
                if isinstance(function, types.FunctionType):
                    functions.setdefault(id(function), (function, f"{cls.__qualname__}.{attr}"))
        self.functions = [function for function, _ in functions.values()]
        _GUARD.functions.update({id(f): label for f, label in functions.values()})
        self.codes = list(map(_CODE, self.functions))
        self.defaults = list(map(_DEFAULTS, self.functions))
        self.kwdefaults = list(map(_KWDEFAULTS, self.functions))

        self.sys_hooks = {
            name: getattr(sys, name)
            for name in ("stdout", "stderr", "stdin", "displayhook", "excepthook", "breakpointhook")
        }
        self.meta_path = list(sys.meta_path)
        self.path_hooks = list(sys.path_hooks)
        self.recursion_limit = sys.getrecursionlimit()
        self.warning_filters = list(warnings.filters)
        self.signals = {
            sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGALRM, signal.SIGTERM)
        }
        self.cwd = os.getcwd()
        self.shell = shell
        self.shell_methods = {
            name: vars(shell).get(name, _MISSING) for name in _SHELL_METHODS
        }
        self.shell_classes = [(cls, dict(vars(cls))) for cls in type(shell).__mro__
                              if cls.__module__.split(".")[0] in ("IPython", "ipykernel")]
        manager = shell.input_transformer_manager
        self.shell_lists = [
            (owner, name, list(getattr(owner, name)))
            for owner, name in (
                (manager, "cleanup_transforms"),
                (manager, "line_transforms"),
                (shell, "input_transformers_post"),
                (shell, "ast_transformers"),
            )
            if isinstance(getattr(owner, name, None), list)
        ]
        self.events = {name: list(cbs) for name, cbs in shell.events.callbacks.items()}
        self.shell_objects = {
            name: getattr(shell, name)
            for name in ("display_pub", "displayhook", "display_formatter", "compile",
                         "input_transformer_manager", "custom_exceptions")
        }
        self.numpy_errstate = None
        numpy = self.modules.get("numpy")
        if numpy is not None:
            self.numpy_errstate = numpy.geterr()

    def _functions_changed(self) -> bool:
        return not (
            _same(map(_CODE, self.functions), self.codes)
            and _same(map(_DEFAULTS, self.functions), self.defaults)
            and _same(map(_KWDEFAULTS, self.functions), self.kwdefaults)
        )

    def restore(self) -> None:
        """Undo every change to the protected state (only changed entries are written)."""
        if not _same(map(sys.modules.get, self.modules), self.module_list):
            for name, module in self.modules.items():
                if sys.modules.get(name) is not module:
                    sys.modules[name] = module
        for _, live, saved, ids in self.namespaces:
            if not _same_dict(live, ids):
                for attr, value in saved.items():
                    if live.get(attr, _MISSING) is not value:
                        live[attr] = value
        for cls, saved, ids in self.classes:
            live = vars(cls)
            if not _same_dict(live, ids):
                for attr, value in saved.items():
                    if live.get(attr, _MISSING) is not value:
                        try:
                            type.__setattr__(cls, attr, value)
                        except (AttributeError, TypeError):
                            pass
        if self._functions_changed():
            for function, code, defaults, kwdefaults in zip(
                self.functions, self.codes, self.defaults, self.kwdefaults, strict=True
            ):
                if function.__code__ is not code:
                    function.__code__ = code
                if function.__defaults__ is not defaults:
                    function.__defaults__ = defaults
                if function.__kwdefaults__ is not kwdefaults:
                    function.__kwdefaults__ = kwdefaults
        sys.settrace(None)
        sys.setprofile(None)
        threading.settrace(None)  # type: ignore[arg-type]
        threading.setprofile(None)  # type: ignore[arg-type]
        for name, value in self.sys_hooks.items():
            setattr(sys, name, value)
        sys.meta_path[:] = self.meta_path
        sys.path_hooks[:] = self.path_hooks
        sys.setrecursionlimit(self.recursion_limit)
        warnings.filters[:] = self.warning_filters
        warnings._filters_mutated()  # type: ignore[attr-defined]
        if hasattr(signal, "setitimer"):
            signal.setitimer(signal.ITIMER_REAL, 0.0)
        for sig, handler in self.signals.items():
            if handler is not None:
                signal.signal(sig, handler)
        if self.numpy_errstate is not None:
            self.modules["numpy"].seterr(**self.numpy_errstate)
        try:
            os.chdir(self.cwd)
        except OSError:
            pass
        self._restore_shell()

    def _restore_shell(self) -> None:
        shell = self.shell
        for name, value in self.shell_methods.items():
            if value is _MISSING:
                vars(shell).pop(name, None)
            else:
                vars(shell)[name] = value
        for cls, saved in self.shell_classes:
            live = vars(cls)
            for attr, value in saved.items():
                if live.get(attr, _MISSING) is not value:
                    try:
                        type.__setattr__(cls, attr, value)
                    except (AttributeError, TypeError):
                        pass
        for owner, name, saved in self.shell_lists:
            setattr(owner, name, list(saved))
        for name, saved in self.events.items():
            shell.events.callbacks[name] = list(saved)
        for name, value in self.shell_objects.items():
            setattr(shell, name, value)
        shell.user_ns["__builtins__"] = builtins

    def changed(self) -> list[str]:
        """Protected functions, classes and modules that differ from the snapshot."""
        changes = []
        if not _same(map(sys.modules.get, self.modules), self.module_list):
            for name, module in self.modules.items():
                if sys.modules.get(name) is not module:
                    changes.append(f"replaced the module {name} in sys.modules")
        for name, live, saved, ids in self.namespaces:
            if _same_dict(live, ids):
                continue
            for attr, value in saved.items():
                current = live.get(attr, _MISSING)
                if current is value:
                    continue
                if callable(value) or isinstance(value, type | types.ModuleType):
                    verb = "deleted" if current is _MISSING else "replaced"
                    changes.append(f"{verb} {name}.{attr}")
        if self._functions_changed():
            for function, code, defaults, kwdefaults in zip(
                self.functions, self.codes, self.defaults, self.kwdefaults, strict=True
            ):
                if (
                    function.__code__ is not code
                    or function.__defaults__ is not defaults
                    or function.__kwdefaults__ is not kwdefaults
                ):
                    changes.append(f"changed the code of {_GUARD.functions.get(id(function))}")
        for cls, saved, ids in self.classes:
            live = vars(cls)
            if _same_dict(live, ids):
                continue
            for attr, value in saved.items():
                if live.get(attr, _MISSING) is not value and callable(value):
                    changes.append(f"replaced {cls.__qualname__}.{attr}")
        return changes


def _same_dict(live: Any, saved: list[Any]) -> bool:
    """Whether the dict ``live`` still holds the saved keys and values, in order."""
    half = len(saved) // 2
    if len(live) < half:
        return False
    if len(live) == half:
        return _same([*live.keys(), *live.values()], saved)
    keys, values = list(live.keys())[:half], list(live.values())[:half]
    return _same([*keys, *values], saved)


def _mutable_class(cls: type) -> bool:
    """Whether attributes of ``cls`` can be set (classes written in Python, mostly)."""
    heap_type, immutable = 1 << 9, 1 << 8
    flags = cls.__flags__
    module = str(getattr(cls, "__module__", "")).split(".")[0]
    return bool(flags & heap_type) and not flags & immutable and module in (
        "numpy", "nnlib", "torch", "scipy"
    )


def _split_last_expression(source: str, filename: str) -> tuple[Any, Any]:
    """Compile ``source``; a final expression is compiled apart (its value is partial credit)."""
    tree = ast.parse(source, filename)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    body = compile(tree, filename, "exec")
    return body, (compile(last, filename, "eval") if last is not None else None)


def _partial_score(value: Any) -> float | None:
    """nbgrader's partial credit: a test whose last expression is a number >= 0 scores it."""
    if value is None or isinstance(value, bool):
        return None
    try:
        score = float(value)
    except (TypeError, ValueError):
        return None
    return score if score >= 0 else None


def _describe_failure(exc: BaseException, timeout_hint: bool) -> tuple[str, str]:
    name = type(exc).__name__
    if isinstance(exc, KeyboardInterrupt):
        return "TimeoutError", (
            "The tests were stopped: they did not finish within the time allowed for a cell.\n"
            "Likely mistake: a loop that never ends (check the loop's stopping condition)."
            if timeout_hint else "The tests were interrupted."
        )
    if isinstance(exc, SystemExit):
        return "SystemExit", (
            "The tests were stopped because the notebook's code called sys.exit() or exit(); "
            "a function must return its result instead."
        )
    return name, str(exc)


def install(
    shell: Any,
    key: bytes,
    tests: dict[str, str],
    setup_imports: list[str],
) -> Callable[[str, str], None]:
    """Take the snapshot and define ``__nncourse__(cell_id, nonce)`` in the notebook namespace.

    ``tests`` maps each test cell's id to its source, ``setup_imports`` lists the import
    statements of the locked set-up cells (run again before each test). Returns the function.
    """
    import nncourse.checks as checks_module

    snapshot = _Snapshot(shell)
    for _, module in snapshot.modules.items():
        if type(module) is types.ModuleType:
            module.__class__ = _GuardedModule
    _GUARD.trusted_files |= {__file__, checks_module.__file__}

    mac = hmac.new(key, digestmod="sha256")
    publish = shell.display_pub.publish
    compiled_imports = []
    for index, statement in enumerate(setup_imports):
        try:
            compiled_imports.append(compile(statement, f"<nncourse setup {index}>", "exec"))
        except SyntaxError:
            continue
    sources = dict(tests)
    user_ns = shell.user_ns
    run_exec, run_eval, dumps = exec, eval, json.dumps

    def sign(nonce: str, cell: str, passed: bool, score: float | None, text: str) -> str:
        signed = mac.copy()
        signed.update(_verdict_message(nonce, cell, passed, score, text))
        return signed.hexdigest()

    def run_test(cell_id: str, nonce: str) -> None:
        """Run the test cell ``cell_id`` in a pristine state and publish its signed verdict."""
        source = sources.get(cell_id)
        passed, score, ename, message = False, None, "", ""
        snapshot.restore()
        for code in compiled_imports:
            try:
                run_exec(code, user_ns)
            except Exception:  # noqa: S110 - a set-up import that fails fails the test below
                pass
        _GUARD.changes.clear()
        if source is None:
            ename, message = "KeyError", f"no test cell {cell_id!r}"
        else:
            filename = f"<nncourse test {cell_id}>"
            try:
                body, last = _split_last_expression(
                    shell.input_transformer_manager.transform_cell(source), filename
                )
                _GUARD.armed = True
                try:
                    run_exec(body, user_ns)
                    if last is not None:
                        score = _partial_score(run_eval(last, user_ns))
                finally:
                    _GUARD.armed = False
                passed = True
            except BaseException as exc:  # noqa: BLE001 - SystemExit and interrupts fail too
                _GUARD.armed = False
                ename, message = _describe_failure(exc, timeout_hint=True)
        tampering = list(dict.fromkeys(_GUARD.changes + snapshot.changed()))
        if tampering:
            snapshot.restore()
        if tampering:
            passed, score = False, None
            ename = "Tampering"
            shown = "; ".join(tampering[:5]) + ("; ..." if len(tampering) > 5 else "")
            message = (
                "The notebook's code changed the grading code while the tests ran "
                f"({shown}), so this test cannot count."
            )
        text = f"{ename}: {message}" if ename else ""
        payload = {
            "cell": cell_id,
            "nonce": nonce,
            "passed": passed,
            "score": score,
            "text": text,
            "signature": sign(nonce, cell_id, passed, score, text),
        }
        publish({VERDICT_MIME: dumps(payload), "text/plain": "(test result for the grader)"})

    user_ns["__nncourse__"] = run_test
    builtins.__nncourse__ = run_test  # type: ignore[attr-defined]
    snapshot.namespaces = [
        (name, live, dict(live), [*live.keys(), *live.values()]) if name == "builtins" else entry
        for name, live, *entry_rest in snapshot.namespaces
        for entry in [(name, live, *entry_rest)]
    ]
    del key
    return run_test
