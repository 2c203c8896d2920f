"""Mutation test of the hidden tests (not a test): do the tests catch small mistakes?

For each assignment, every reference answer cell (a code cell with nbgrader ``solution: true``
and no ``grade``, its BEGIN/END SOLUTION marker lines removed) is parsed with `ast` and
single-point mutants are made from it, one change each:

==================  =====================================================================
kind                change
==================  =====================================================================
binop, augop        ``+`` <-> ``-``, ``*`` <-> ``/``, ``**`` -> ``*``, ``@`` -> ``*``,
                    ``//`` -> ``/`` (also in ``+=`` ...)
swap                the operands of ``-``, ``/``, ``//``, ``%``, ``**``, ``@`` swapped
cmp                 ``<`` <-> ``<=``, ``>`` <-> ``>=``, ``==`` <-> ``!=``, ``is``/``in`` negated
boolop, not         ``and`` <-> ``or``; ``not`` removed
const               an int n -> n + 1 and n - 1; a float x -> 2 x and 0.0 (0.0 -> 1.0)
bool, keepdims      ``True`` <-> ``False`` (``keepdims=`` named apart)
axis                ``axis=``/``dim=`` 0 <-> 1, -1 -> 0; the keyword removed
unary               unary minus removed; added in front of an arithmetic result that is
                    returned or assigned
call, attr          ``max`` <-> ``min``, ``maximum`` <-> ``minimum``, ``argmax`` <->
                    ``argmin``, ``sum`` <-> ``mean``, ``zeros`` -> ``ones``, ``.train()``
                    <-> ``.eval()``; ``float64`` <-> ``float32``
copy, transpose     ``.copy()`` removed; ``.T`` removed
drop                a statement replaced by ``pass`` (not a def, class or docstring)
with                a ``with`` block replaced by its body
return-none         an early ``return x`` (not the last statement) -> ``return None``
==================  =====================================================================

Mutants whose tree equals the reference's or an earlier mutant's are skipped, and so are those
that do not compile. Each gets a stable id ``<cell>:L<line>:<kind>:<change>`` (``#2`` ... when
the same change occurs twice on a line), the line counted in the answer cell as a student sees
it. The mutated cell keeps the reference's text except for the changed node.

One temporary course holds the assignments; per assignment, ONE run of the instructor's command
``nncourse grade --jobs 2`` grades a class of one student per mutant (``m0001`` ...; the release
with every answer cell holding the reference and one cell the mutant) plus the unmodified
reference as student ``reference``, which must get full marks (else the benchmark stops: it
would measure nothing). A mutant is *killed* when its autograded total is below full marks;
"by hidden" means a hidden test cell lost points, "visible only" that only visible ones did.

Survivors that are truly equivalent (they behave like the reference on every valid input, or
the part asks for any answer meeting a target and the mutant still meets it) are listed with a
reason in bench/mutation_equivalent.toml, one table per assignment::

    ["01_perceptron"]
    "answer_gates:L7:drop:Expr" = "only prints the results, which no test reads"

A listed id that is no longer generated, or whose mutant is now killed, is reported as stale.
Every other survivor counts against the kill rate of the non-equivalent mutants, which must
reach ``--threshold`` (97 %) in every assignment, else the exit status is 1 (2 when the
reference does not get full marks or a submission was not graded).

Run: ``make bench-mutation`` or ``OMP_NUM_THREADS=1 .venv/bin/python bench/mutation.py
[assignment ...]``; ``--list`` prints the mutants without grading. Writes
bench/results/mutation.md (``--output``).
"""

from __future__ import annotations

import argparse
import ast
import copy
import difflib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import classroom as cr  # noqa: E402
import test_grading as tg  # noqa: E402

from nncourse import grader  # noqa: E402
from nncourse.nbgrader_api import Course  # noqa: E402

EQUIVALENT = REPO / "bench" / "mutation_equivalent.toml"
OUTPUT = REPO / "bench" / "results" / "mutation.md"
NNCOURSE = Path(sys.executable).parent / "nncourse"
CONTROL = "reference"

# --------------------------------------------------------------------------------------------
# Mutants
# --------------------------------------------------------------------------------------------

BINOP_SWAPS: dict[type, list[type]] = {
    ast.Add: [ast.Sub], ast.Sub: [ast.Add], ast.Mult: [ast.Div], ast.Div: [ast.Mult],
    ast.Pow: [ast.Mult], ast.MatMult: [ast.Mult], ast.FloorDiv: [ast.Div],
}
NON_COMMUTATIVE = (ast.Sub, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.MatMult)
CMP_SWAPS: dict[type, type] = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
CALL_SWAPS = {"max": "min", "min": "max", "maximum": "minimum", "minimum": "maximum",
              "argmax": "argmin", "argmin": "argmax", "sum": "mean", "mean": "sum",
              "zeros": "ones", "zeros_like": "ones_like", "train": "eval", "eval": "train"}
ATTR_SWAPS = {"float64": "float32", "float32": "float64"}
AXIS_KEYWORDS = ("axis", "dim")
AXIS_SWAPS = {0: [1], 1: [0], -1: [0]}


def _name(op: ast.AST | type) -> str:
    return (op if isinstance(op, type) else type(op)).__name__


@dataclass(frozen=True)
class Mutant:
    """One single-point change of one answer cell."""

    id: str
    cell: str
    line: int
    kind: str
    source: str  # the whole mutated cell
    before: tuple[str, ...]  # the changed lines of the reference ...
    after: tuple[str, ...]  # ... and what they became


@dataclass
class _Context:
    keyword: str | None = None  # the keyword argument this node is the value of
    in_function: bool = False
    last_in_function: bool = False  # a statement ending a function body


Path_ = tuple[tuple[str, int | None], ...]
Change = tuple[str, str, Callable[[Any], Any]]  # kind, change, new node (or stmts) from a copy


def _walk(node: ast.AST, path: Path_ = (), ctx: _Context | None = None
          ) -> Iterator[tuple[Path_, ast.AST, _Context]]:
    """Every node below ``node`` with its path from the root and its context, in source order."""
    ctx = ctx or _Context()
    yield path, node, ctx
    for name, value in ast.iter_fields(node):
        if isinstance(value, list):
            items = [(i, v) for i, v in enumerate(value) if isinstance(v, ast.AST)]
        elif isinstance(value, ast.AST):
            items = [(None, value)]
        else:
            continue
        for i, child in items:
            sub = _Context(in_function=ctx.in_function or isinstance(node, ast.FunctionDef))
            if isinstance(node, ast.keyword):
                sub.keyword = node.arg
            elif isinstance(node, ast.UnaryOp):
                sub.keyword = ctx.keyword  # axis=-1
            if isinstance(node, ast.FunctionDef) and name == "body":
                sub.last_in_function = i == len(node.body) - 1
            if name in ("returns", "annotation"):
                continue  # annotations are not run
            yield from _walk(child, (*path, (name, i)), sub)


def _is_docstring(stmt: ast.stmt) -> bool:
    return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str))


def _int_of(node: ast.AST) -> int | None:
    """The int an ``axis=`` value spells (``1``, ``-1``), else None."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.Constant) and type(node.operand.value) is int):
        return -node.operand.value
    return None


def _number(value: int) -> ast.expr:
    """A number as the parser spells it: ``-1`` is a minus applied to 1."""
    return ast.Constant(value) if value >= 0 else ast.UnaryOp(ast.USub(), ast.Constant(-value))


def _with(node: ast.AST, **fields: Any) -> ast.AST:
    for k, v in fields.items():
        setattr(node, k, v)
    return node


def _changes(node: ast.AST, ctx: _Context, docstrings: set[int]) -> list[Change]:
    """The single-point changes of ``node`` (not of its children)."""
    out: list[Change] = []
    if isinstance(node, ast.BinOp):
        for op in BINOP_SWAPS.get(type(node.op), []):
            out.append(("binop", f"{_name(node.op)}->{_name(op)}",
                        lambda n, op=op: _with(n, op=op())))
        if isinstance(node.op, NON_COMMUTATIVE):
            out.append(("swap", _name(node.op),
                        lambda n: _with(n, left=n.right, right=n.left)))
    elif isinstance(node, ast.AugAssign):
        for op in BINOP_SWAPS.get(type(node.op), []):
            out.append(("augop", f"{_name(node.op)}->{_name(op)}",
                        lambda n, op=op: _with(n, op=op())))
    elif isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in CMP_SWAPS:
                new = CMP_SWAPS[type(op)]
                out.append(("cmp", f"{_name(op)}->{_name(new)}",
                            lambda n, i=i, new=new: _with(
                                n, ops=[new() if j == i else o for j, o in enumerate(n.ops)])))
    elif isinstance(node, ast.BoolOp):
        new = ast.Or if isinstance(node.op, ast.And) else ast.And
        out.append(("boolop", f"{_name(node.op)}->{_name(new)}",
                    lambda n, new=new: _with(n, op=new())))
    elif isinstance(node, ast.UnaryOp):
        axis = _int_of(node)
        if ctx.keyword in AXIS_KEYWORDS and axis is not None:
            out.append(("axis", f"{ctx.keyword}={axis}->{-axis}", lambda n: n.operand))
        elif isinstance(node.op, ast.USub | ast.Not):
            kind = "unary" if isinstance(node.op, ast.USub) else "not"
            out.append((kind, f"{_name(node.op)}-removed", lambda n: n.operand))
    elif isinstance(node, ast.Constant) and id(node) not in docstrings:
        value = node.value
        if isinstance(value, bool):
            kind = "keepdims" if ctx.keyword == "keepdims" else "bool"
            out.append((kind, f"{value}->{not value}", lambda n: _with(n, value=not n.value)))
        elif isinstance(value, int) and ctx.keyword not in AXIS_KEYWORDS:
            for new in (value + 1, value - 1):
                out.append(("const", f"{value}->{new}", lambda n, new=new: _number(new)))
        elif isinstance(value, float):
            for new in ((value * 2, 0.0) if value != 0.0 else (1.0,)):
                out.append(("const", f"{value!r}->{new!r}",
                            lambda n, new=new: _with(n, value=new)))
    elif isinstance(node, ast.keyword) and node.arg in AXIS_KEYWORDS:
        axis = _int_of(node.value)
        for new in AXIS_SWAPS.get(axis, []) if axis is not None else []:
            out.append(("axis", f"{node.arg}={axis}->{new}",
                        lambda n, new=new: _with(n, value=_number(new))))
    elif isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "copy" and not node.args:
            out.append(("copy", "removed", lambda n: n.func.value))
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name in CALL_SWAPS and (name not in ("train", "eval") or not node.args):
            new = CALL_SWAPS[name]
            field_ = "attr" if isinstance(func, ast.Attribute) else "id"
            out.append(("call", f"{name}->{new}",
                        lambda n, new=new, f=field_: _with(n, func=_with(n.func, **{f: new}))))
        for k, kw in enumerate(node.keywords):
            if kw.arg in AXIS_KEYWORDS:
                out.append(("axis", f"{kw.arg}-removed", lambda n, k=k: _with(
                    n, keywords=[w for j, w in enumerate(n.keywords) if j != k])))
    elif isinstance(node, ast.Attribute):
        if node.attr == "T":
            out.append(("transpose", "removed", lambda n: n.value))
        elif node.attr in ATTR_SWAPS:
            new = ATTR_SWAPS[node.attr]
            out.append(("attr", f"{node.attr}->{new}", lambda n, new=new: _with(n, attr=new)))
    if isinstance(node, ast.Return | ast.Assign | ast.AugAssign) and node.value is not None:
        values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
        for i, v in enumerate(values):
            if isinstance(v, ast.BinOp):
                def negate(n: Any, i: int = i) -> Any:
                    if isinstance(n.value, ast.Tuple):
                        n.value.elts[i] = ast.UnaryOp(ast.USub(), n.value.elts[i])
                    else:
                        n.value = ast.UnaryOp(ast.USub(), n.value)
                    return n
                out.append(("unary", "USub-added", negate))
    if isinstance(node, ast.Return) and node.value is not None and not (
            isinstance(node.value, ast.Constant) and node.value.value is None):
        if ctx.in_function and not ctx.last_in_function:
            out.append(("return-none", "", lambda n: _with(n, value=ast.Constant(None))))
    if isinstance(node, ast.stmt) and not isinstance(
            node, ast.FunctionDef | ast.ClassDef | ast.Pass) and not _is_docstring(node):
        out.append(("drop", _name(node), lambda n: ast.Pass()))
    if isinstance(node, ast.With):
        out.append(("with", "removed", lambda n: list(n.body)))
    return out


def _resolve(root: ast.AST, path: Path_) -> ast.AST:
    node = root
    for name, i in path:
        node = getattr(node, name) if i is None else getattr(node, name)[i]
    return node


def _replace(root: ast.AST, path: Path_, new: Any) -> None:
    parent = _resolve(root, path[:-1])
    name, i = path[-1]
    if i is None:
        setattr(parent, name, new)
    elif isinstance(new, list):
        getattr(parent, name)[i:i + 1] = new
    else:
        getattr(parent, name)[i] = new


def _splice(source: str, node: ast.AST, text: str) -> str:
    """``source`` with the text of ``node`` replaced by ``text`` (ast offsets are UTF-8 bytes)."""
    raw = source.encode()
    starts = [0]
    for line in raw.split(b"\n"):
        starts.append(starts[-1] + len(line) + 1)
    begin = starts[node.lineno - 1] + node.col_offset
    end = starts[node.end_lineno - 1] + node.end_col_offset
    return (raw[:begin] + text.encode() + raw[end:]).decode()


def _text(new: Any, indent: int) -> list[str]:
    """Candidate texts for the new node(s), the plainest first."""
    if isinstance(new, list):
        body = "\n".join(ast.unparse(s) for s in new)
        return [body.replace("\n", "\n" + " " * indent)]
    text = ast.unparse(new)
    return [text, f"({text})"] if isinstance(new, ast.expr) else [text]


def _diff(before: str, after: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    old, new = [], []
    for line in difflib.unified_diff(before.split("\n"), after.split("\n"), n=0, lineterm=""):
        if line.startswith(("---", "+++", "@@")):
            continue
        (old if line.startswith("-") else new).append(line[1:])
    return tuple(old), tuple(new)


def cell_mutants(cell: str, source: str) -> list[Mutant]:
    """The single-point mutants of one answer cell, in source order."""
    tree = ast.parse(source)
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, ast.Module | ast.FunctionDef | ast.ClassDef)
                  and n.body and _is_docstring(n.body[0])}
    seen = {ast.dump(tree)}
    counts: dict[str, int] = {}
    out = []
    for path, node, ctx in _walk(tree):
        for kind, change, make in _changes(node, ctx, docstrings):
            mutated = copy.deepcopy(tree)
            new = make(_resolve(mutated, path))
            if path:
                _replace(mutated, path, new)
            dump = ast.dump(mutated)
            if dump in seen:
                continue
            seen.add(dump)
            text = None
            for candidate in _text(new, node.col_offset):
                spliced = _splice(source, node, candidate)
                try:
                    if ast.dump(ast.parse(spliced)) == dump:
                        text = spliced
                        break
                except SyntaxError:
                    continue
            if text is None:  # the whole cell as ast writes it (comments lost)
                text = ast.unparse(mutated)
                print(f"note: {cell}: {kind} {change} at line {node.lineno} written by "
                      "ast.unparse", file=sys.stderr)
            try:
                compile(text, f"<{cell}>", "exec")
            except SyntaxError:
                continue
            base = f"{cell}:L{node.lineno}:{kind}" + (f":{change}" if change else "")
            counts[base] = counts.get(base, 0) + 1
            ident = base if counts[base] == 1 else f"{base}#{counts[base]}"
            before, after = _diff(source, text)
            out.append(Mutant(ident, cell, node.lineno, kind, text, before, after))
    return out


def answer_cells(nb: dict[str, Any]) -> dict[str, str]:
    """Code answer cells (solution, not graded by hand) -> the reference as a student writes it."""
    cells = {}
    for c in nb["cells"]:
        meta = tg.nbgrader(c)
        if c["cell_type"] == "code" and meta.get("solution") and not meta.get("grade"):
            cells[meta["grade_id"]] = tg.strip_solution_markers(tg.source_of(c))
    return cells


def mutants(nb: dict[str, Any]) -> list[Mutant]:
    """Every mutant of every code answer cell of a source notebook."""
    return [m for cell, source in answer_cells(nb).items() for m in cell_mutants(cell, source)]


# --------------------------------------------------------------------------------------------
# Grading
# --------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """How one mutant fared."""

    mutant: Mutant
    student: str
    total: float | None = None  # None: not graded
    lost: dict[str, float] = field(default_factory=dict)  # test cell -> points lost
    error: str | None = None

    @property
    def killed(self) -> bool:
        return bool(self.lost)

    @property
    def by_hidden(self) -> bool:
        return any(c.startswith("hidden_") for c in self.lost)


@dataclass
class AssignmentRun:
    assignment: str
    outcomes: list[Outcome]
    seconds: float
    full: float
    equivalent: dict[str, str]  # listed id -> reason
    code: int = 0
    log: str = ""
    control: str | None = None  # why the reference did not get full marks: nothing measured

    def _of(self, want: Callable[[Outcome], bool]) -> list[Outcome]:
        return [o for o in self.outcomes if want(o)]

    @property
    def killed(self) -> list[Outcome]:
        return self._of(lambda o: o.killed)

    @property
    def equivalents(self) -> list[Outcome]:
        return self._of(lambda o: not o.killed and o.mutant.id in self.equivalent)

    @property
    def survivors(self) -> list[Outcome]:
        return self._of(lambda o: not o.killed and o.mutant.id not in self.equivalent)

    @property
    def stale(self) -> list[str]:
        ids = {o.mutant.id: o for o in self.outcomes}
        return [f"{i} (no longer generated)" if i not in ids else f"{i} (now killed)"
                for i in self.equivalent if i not in ids or ids[i].killed]

    @property
    def rate(self) -> float:
        counted = len(self.outcomes) - len(self.equivalents)
        return 100.0 * len(self.killed) / counted if counted else 100.0


def load_equivalents(path: Path) -> dict[str, dict[str, str]]:
    """assignment -> {mutant id: reason}."""
    if not path.is_file():
        return {}
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    for a, table in data.items():
        for ident, reason in table.items():
            if not isinstance(reason, str) or not reason.strip():
                raise SystemExit(f"{path}: [{a}] {ident!r} needs a reason (a string)")
    return data


def _scores(course: Any, assignment: str, student: str) -> tuple[dict[str, float] | None,
                                                                 str | None]:
    """(autograded score per test cell or None when not graded, the grader's error)."""
    path = course.root / "autograded" / student / assignment / grader.RESULTS_FILE
    error = None
    if path.is_file():
        result = grader.SubmissionResult.from_json(json.loads(path.read_text()))
        error = result.error
    try:
        return course.scores(assignment, student).autograded, error
    except Exception:  # noqa: BLE001 - MissingEntry: never recorded
        return None, error or "not graded"


def _watch(process: subprocess.Popen, folder: Path, total: int, label: str) -> None:
    """Print a progress line while `nncourse grade` runs (its own progress is off)."""
    tty = sys.stdout.isatty()
    last = -1
    shown = 0.0
    start = time.perf_counter()
    while process.poll() is None:
        time.sleep(2.0)
        done = sum(1 for _ in folder.glob(f"*/{label}/{grader.RESULTS_FILE}"))
        now = time.perf_counter() - start
        if done != last and (tty or now - shown >= 60 or done == total):
            bar = "#" * (30 * done // max(total, 1))
            line = f"  {label}: [{bar:<30}] {done}/{total} graded, {now:.0f} s"
            print("\r" + line if tty else line, end="" if tty else "\n", flush=True)
            last, shown = done, now
    if tty:
        print()


def _snapshot(course: Any, assignment: str) -> dict[str, Any]:
    """The source notebook as copied into the course (what was generated and graded)."""
    name = cr.notebook_name(assignment)
    return tg.read_notebook(course.root / "solutions" / assignment / f"{name}.ipynb")


def submit_class(course: Any, assignment: str, listed: list[Mutant]) -> None:
    """Submit the reference as student `CONTROL` and mutant i as student m000i."""
    name = cr.notebook_name(assignment)
    reference = {k: tg.strip_solution_markers(c["source"])
                 for k, c in tg.graded_cells(_snapshot(course, assignment)).items()
                 if c["kind"] in ("answer", "manual")}
    release = cr.release(course, assignment)
    course.submit(assignment, CONTROL, {name: tg.build_submission(release, reference)})
    for i, m in enumerate(listed, 1):
        filled = reference | {m.cell: m.source}
        course.submit(assignment, f"m{i:04d}", {name: tg.build_submission(release, filled)})


def grade(course: Any, assignment: str, count: int, jobs: int, extra: list[str]) -> None:
    """One run of `nncourse grade` over the whole class; its log, time and exit status are
    kept in the course folder (see `read_run`)."""
    command = [str(NNCOURSE), "grade", "--course", str(course.root), "--jobs", str(jobs),
               "--no-progress", *extra, assignment]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    start = time.perf_counter()
    with (course.root / f"grade-{assignment}.log").open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        _watch(process, course.root / "autograded", count + 1, assignment)
    (course.root / f"grade-{assignment}.json").write_text(json.dumps(
        {"seconds": time.perf_counter() - start, "code": process.returncode}))


def read_run(course: Any, assignment: str, listed: list[Mutant],
             equivalent: dict[str, str]) -> AssignmentRun:
    """The outcome of every mutant, read from the gradebook and nncourse.json files."""
    full = tg.autograded_points(_snapshot(course, assignment))
    done = course.root / f"grade-{assignment}.json"
    ran = json.loads(done.read_text()) if done.is_file() else {"seconds": 0.0, "code": 0}
    log = course.root / f"grade-{assignment}.log"
    run = AssignmentRun(assignment, [Outcome(m, f"m{i:04d}") for i, m in enumerate(listed, 1)],
                        ran["seconds"], sum(full.values()), equivalent, ran["code"],
                        log.read_text(errors="replace") if log.is_file() else "")
    control, error = _scores(course, assignment, CONTROL)
    if control is None or error or any(control.get(k, 0.0) < v for k, v in full.items()):
        run.control = (f"the unmodified reference does not get full marks: {control}, error "
                       f"{error}; nothing measured")
        return run
    for o in run.outcomes:
        found, o.error = _scores(course, assignment, o.student)
        if found is None:
            continue
        o.total = sum(found.values())
        o.lost = {k: v - found.get(k, 0.0) for k, v in full.items() if found.get(k, 0.0) < v}
    return run


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def _code(lines: tuple[str, ...]) -> str:
    text = " / ".join(line.strip() for line in lines) or "(nothing)"
    return "`` " + text.replace("|", "\\|") + " ``"


def report(runs: list[AssignmentRun], threshold: float, seconds: float) -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    lines = [
        "# Mutation test of the hidden tests (`bench/mutation.py`)",
        "",
        f"Commit {commit} (and the working tree), {time.strftime('%Y-%m-%d %H:%M')}; "
        f"{os.cpu_count()} CPU cores, {platform.platform()}, Python "
        f"{platform.python_version()}; load average at the end {load[0]:.1f}.",
        "Single-point mutants of every code answer cell, each graded as one student by one "
        "`nncourse grade --jobs 2` run per assignment, with the unmodified reference as a "
        "control (it must get full marks). Killed: the autograded total is below full marks. "
        "Equivalent: listed with a reason in "
        f"`bench/mutation_equivalent.toml`. Target: >= {threshold:g} % of the "
        "non-equivalent mutants killed in every assignment.",
        "",
        "| assignment | mutants | killed | by hidden | visible only | equivalent | survived | "
        "not graded | kill rate (non-equivalent) | seconds | s/mutant |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        if r.control:
            lines.append(f"| {r.assignment} | {len(r.outcomes)} | not measured: the reference "
                         "did not get full marks | | | | | | | "
                         f"{r.seconds:.0f} | {r.seconds / (len(r.outcomes) + 1):.2f} |")
            continue
        killed = r.killed
        hidden = sum(o.by_hidden for o in killed)
        errors = sum(o.total is None for o in r.outcomes)
        mark = "" if r.rate >= threshold else " (below target)"
        lines.append(
            f"| {r.assignment} | {len(r.outcomes)} | {len(killed)} | {hidden} | "
            f"{len(killed) - hidden} | {len(r.equivalents)} | {len(r.survivors)} | {errors} | "
            f"{r.rate:.1f} %{mark} | {r.seconds:.0f} | "
            f"{r.seconds / (len(r.outcomes) + 1):.2f} |")
    total = sum(len(r.outcomes) for r in runs)
    lines += ["", f"{total} mutants in {seconds:.0f} s.", ""]
    for r in runs:
        per_cell: dict[str, int] = {}
        for o in r.outcomes:
            per_cell[o.mutant.cell] = per_cell.get(o.mutant.cell, 0) + 1
        lines += [f"## {r.assignment}", "",
                  "Mutants per cell: " + ", ".join(f"{c} {n}" for c, n in per_cell.items())
                  + ".", ""]
        if r.code:
            lines += [f"`nncourse grade` exited with {r.code}.", ""]
        if r.control:
            lines += [f"Not measured: {r.control}.", ""]
            continue
        survivors = r.survivors
        lines += [f"Survivors ({len(survivors)}):" if survivors else "No survivor.", ""]
        lines += [f"* `{o.mutant.id}`: {_code(o.mutant.before)} -> {_code(o.mutant.after)}"
                  + (f" (not graded: {o.error})" if o.total is None else "")
                  for o in survivors]
        visible = [o for o in r.killed if not o.by_hidden]
        if visible:
            lines += ["", f"Killed by visible tests only ({len(visible)}):", ""]
            lines += [f"* `{o.mutant.id}`: {_code(o.mutant.before)} -> {_code(o.mutant.after)}"
                      for o in visible]
        if r.equivalents:
            lines += ["", f"Equivalent ({len(r.equivalents)}):", ""]
            lines += [f"* `{o.mutant.id}`: {_code(o.mutant.before)} -> "
                      f"{_code(o.mutant.after)}: {r.equivalent[o.mutant.id]}"
                      for o in r.equivalents]
        if r.stale:
            lines += ["", "Stale entries of the equivalents file:", ""]
            lines += [f"* `{s}`" for s in r.stale]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="default: every one in solutions/")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--threshold", type=float, default=97.0,
                        help="least kill rate of non-equivalent mutants, in %% (default 97)")
    parser.add_argument("--equivalent", type=Path, default=EQUIVALENT)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--list", action="store_true", help="print the mutants, grade nothing")
    parser.add_argument("--cell", action="append", default=[],
                        help="only mutants of this answer cell (repeatable)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary course")
    parser.add_argument("--reuse", type=Path, metavar="COURSE",
                        help="grade nothing: read the results of a course kept by --keep "
                        "(to check the equivalents file again)")
    parser.add_argument("--cell-timeout", help="passed on to nncourse grade")
    args = parser.parse_args(argv)
    assignments = args.assignments or tg.ASSIGNMENTS
    unknown = sorted(set(assignments) - set(tg.ASSIGNMENTS))
    if unknown:
        parser.error(f"unknown assignments: {', '.join(unknown)}")

    def chosen(nb: dict[str, Any]) -> list[Mutant]:
        return [m for m in mutants(nb) if not args.cell or m.cell in args.cell]

    if args.list:
        counts = []
        for a in assignments:
            listed = chosen(cr.source(a))
            counts.append(f"{a}: {len(listed)}")
            for m in listed:
                print(f"{a} {m.id}: {_code(m.before)} -> {_code(m.after)}")
        print(", ".join(counts))
        return 0
    equivalents = load_equivalents(args.equivalent)
    extra = ["--cell-timeout", args.cell_timeout] if args.cell_timeout else []
    warnings.filterwarnings("ignore")
    work = Path(tempfile.mkdtemp(prefix="nncourse-mutation-")) if not args.reuse else None
    runs = []
    start = time.perf_counter()
    try:
        if args.reuse:
            root = args.reuse / "course" if (args.reuse / "course").is_dir() else args.reuse
            course = Course(root)
        else:
            course = cr.make_course(work / "course", assignments)
        for a in assignments:
            # The mutants of the snapshot the course holds, not of solutions/ now.
            listed = chosen(_snapshot(course, a))
            if not args.reuse:
                print(f"{a}: {len(listed)} mutants", flush=True)
                submit_class(course, a, listed)
                grade(course, a, len(listed), args.jobs, extra)
            run = read_run(course, a, listed, equivalents.get(a, {}))
            runs.append(run)
            if run.control:
                print(f"{a}: {run.control}; the log of nncourse grade ends:\n"
                      f"{run.log[-2000:]}", flush=True)
                continue
            print(f"{a}: {len(run.killed)} killed ({sum(o.by_hidden for o in run.killed)} by "
                  f"hidden tests), {len(run.equivalents)} equivalent, {len(run.survivors)} "
                  f"survived: {run.rate:.1f} % of non-equivalent killed, {run.seconds:.0f} s "
                  f"({run.seconds / (len(listed) + 1):.2f} s per notebook)", flush=True)
    finally:
        if work and args.keep:
            print(f"course kept in {work}")
        elif work:
            shutil.rmtree(work, ignore_errors=True)
    text = report(runs, args.threshold, time.perf_counter() - start)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"written {args.output}")
    if any(r.control or r.code or any(o.total is None for o in r.outcomes) for r in runs):
        return 2
    return 0 if all(r.rate >= args.threshold for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
