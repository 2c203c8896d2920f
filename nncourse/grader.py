"""Autograding of a whole class, isolated per notebook, merged into nbgrader's gradebook.

How one submission notebook is graded
-------------------------------------
1. **Assemble** (`assemble`). The notebook that runs is rebuilt from the assignment's *source*
   (``solutions/``): its set-up and test cells always come from there, and only the student's
   answer cells (and the extra code cells a student added) come from the submission. Cells are
   matched by nbgrader ``grade_id``, else by cell id, else by identical source; so deleting,
   emptying, retyping (code -> markdown) or re-pointing a test cell, stripping the nbgrader
   metadata or duplicating cells changes nothing about which tests run and what they are worth.
   Anything of the kind is noted for a person to look at.
2. **Run** the student's cells (set-up, answers, added cells) in a fresh kernel forked from the
   zygote (`nncourse.sandbox`): private namespaces, an unprivileged uid per parallel job,
   resource limits, no course files, no network. Cells run through `nncourse.executor`
   (per-cell time limit, bounded output); the notebook as a whole has a time limit too. When
   the kernel dies (``os._exit``, a cell that ignores interrupts) a new one is started, the
   cells that ran before are replayed and the culprit is skipped.
3. **Test** here, in the grader's worker process, never in the kernel (`run_test`): each test
   cell runs against the namespace of the notebook's set-up cells, with the student's names
   looked up in the kernel as plain data or as proxies (`nncourse.remote`). Calling a proxy
   runs the student's function in the kernel, through its agent (`nncourse.agent`), and only
   plain data comes back (`nncourse.wire`). No test source, expected value or reference is
   ever in the kernel, so what student code does there changes only its own results. Before
   every test NumPy, `random` and torch are seeded on both sides (`rules.TEST_SEED`).
4. **Score** each test cell by nbgrader's own rule (`nbgrader.utils.determine_grade`: an error
   output scores 0, an ``execute_result`` number is partial credit), the same rule the
   in-kernel runners (Validate, ``nncourse check``, stock ``nbgrader autograde``) apply.
5. **Merge.** The parent process alone writes the gradebook, the autograded notebooks and a
   ``nncourse.json`` of per-test results under ``autograded/`` (used by ``nncourse feedback``
   and ``report``). Workers and kernels never see the gradebook.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nncourse import executor, remote, rules, sandbox
from nncourse.nbgrader_api import Course

__all__ = [
    "RESULTS_FILE",
    "CellResult",
    "GradeRun",
    "Limits",
    "NotebookResult",
    "Plan",
    "SubmissionResult",
    "Template",
    "assemble",
    "grade",
    "load_results",
    "load_template",
]

#: Per-submission results written under ``autograded/<student>/<assignment>/``.
RESULTS_FILE = "nncourse.json"

@dataclass(frozen=True)
class Limits:
    """Time and resource limits of grading kernels (defaults: `nncourse.rules`)."""

    cell_timeout: float = rules.CELL_TIME_LIMIT
    notebook_timeout: float = rules.NOTEBOOK_TIME_LIMIT
    memory: int = rules.MEMORY_LIMIT
    file_size: int = rules.FILE_SIZE_LIMIT
    processes: int = rules.PROCESS_LIMIT
    restarts: int = rules.MAX_RESTARTS


# ---------------------------------------------------------------------------------------------
# The assignment's template and the assembled notebook
# ---------------------------------------------------------------------------------------------


def _source(cell: Mapping[str, Any]) -> str:
    text = cell.get("source", "")
    return text if isinstance(text, str) else "".join(text)


def _meta(cell: Mapping[str, Any]) -> dict[str, Any]:
    meta = cell.get("metadata") if isinstance(cell, Mapping) else None
    nbg = meta.get("nbgrader") if isinstance(meta, Mapping) else None
    return dict(nbg) if isinstance(nbg, Mapping) else {}


@dataclass(frozen=True)
class TemplateCell:
    """One cell of the source notebook, as grading sees it.

    ``kind``: "setup" (locked code), "answer" (autograded solution cell), "manual" (a solution
    cell graded by hand), "test", "code" (other code) or "text" (markdown).
    """

    index: int
    kind: str
    cell_type: str
    grade_id: str | None
    cell_id: str | None
    points: float
    source: str
    release_source: str
    metadata: str = "{}"  # the release cell's metadata (nbgrader's, with checksums), as JSON


@dataclass(frozen=True)
class Template:
    """An assignment notebook: its cells from the source and the release."""

    assignment: str
    notebook: str
    cells: tuple[TemplateCell, ...]

    @property
    def tests(self) -> dict[str, str]:
        """Test cell id -> source (hidden tests included)."""
        return {c.grade_id: c.source for c in self.cells if c.kind == "test" and c.grade_id}

    @property
    def points(self) -> dict[str, float]:
        """Test cell id -> points."""
        return {c.grade_id: c.points for c in self.cells if c.kind == "test" and c.grade_id}

    @property
    def setup_sources(self) -> list[str]:
        """The locked set-up cells (the grader runs them too, to build the tests' namespace)."""
        return [cell.source for cell in self.cells if cell.kind == "setup"]


def load_template(assignment: str, source: Path, release: Path) -> Template:
    """The `Template` of one notebook from its source and its generated release."""
    src = json.loads(source.read_text(encoding="utf-8"))
    rel = json.loads(release.read_text(encoding="utf-8"))
    released = {c.get("id"): _source(c) for c in rel["cells"]}
    released_by_grade = {_meta(c).get("grade_id"): _source(c) for c in rel["cells"]}
    release_meta = {c.get("id"): c.get("metadata", {}) for c in rel["cells"]}
    release_meta_by_grade = {_meta(c).get("grade_id"): c.get("metadata", {}) for c in rel["cells"]}
    cells = []
    for index, cell in enumerate(src["cells"]):
        meta = _meta(cell)
        grade_id = meta.get("grade_id")
        if meta.get("solution") and meta.get("grade"):
            kind = "manual"
        elif meta.get("solution"):
            kind = "answer"
        elif meta.get("grade"):
            kind = "test" if cell["cell_type"] == "code" else "manual"
        elif cell["cell_type"] == "code":
            kind = "setup" if meta.get("locked") else "code"
        else:
            kind = "text"
        release_source = released_by_grade.get(grade_id) if grade_id else None
        if release_source is None:
            release_source = released.get(cell.get("id"), _source(cell))
        metadata = release_meta_by_grade.get(grade_id) if grade_id else None
        if metadata is None:
            metadata = release_meta.get(cell.get("id"), cell.get("metadata", {}))
        cells.append(TemplateCell(
            index=index, kind=kind, cell_type=cell["cell_type"], grade_id=grade_id,
            cell_id=cell.get("id"), points=float(meta.get("points", 0) or 0),
            source=_source(cell), release_source=release_source,
            metadata=json.dumps(metadata),
        ))
    return Template(assignment, source.stem, tuple(cells))


@dataclass(frozen=True)
class Step:
    """One cell to run: ``kind`` is "setup", "answer", "extra" or "test"; ``cell`` is its
    index in `Plan.cells`."""

    kind: str
    code: str
    grade_id: str | None = None
    cell: int = -1


@dataclass
class Plan:
    """What runs for one submission notebook, plus what a person should know about it.

    ``cells`` is the notebook that is graded, as nbformat cells: the assignment's cells in
    order (test and set-up cells from the source, hidden tests included, with the release's
    nbgrader metadata) with the student's answers and added cells; its outputs are filled in
    as the steps run, and it is what goes to ``autograded/``.
    """

    steps: list[Step]
    manual_answered: dict[str, bool]
    notes: list[str]
    student_code: list[str]
    cells: list[dict[str, Any]] = field(default_factory=list)


def _cell(tc: TemplateCell | None, source: str, cell_type: str = "code") -> dict[str, Any]:
    metadata = json.loads(tc.metadata) if tc is not None else {}
    cell: dict[str, Any] = {"cell_type": cell_type, "metadata": metadata, "source": source}
    if tc is not None and tc.cell_id:
        cell["id"] = tc.cell_id
    if cell_type == "code":
        cell["execution_count"] = None
        cell["outputs"] = []
    return cell


def _match(template: Template, cell: Mapping[str, Any]) -> TemplateCell | None:
    grade_id = _meta(cell).get("grade_id")
    for tc in template.cells:
        if grade_id and tc.grade_id == grade_id:
            return tc
    cell_id = cell.get("id")
    for tc in template.cells:
        if cell_id and tc.cell_id == cell_id:
            return tc
    text = _source(cell).strip()
    if text:
        for tc in template.cells:
            if tc.kind in ("setup", "test", "code", "text") and tc.release_source.strip() == text:
                return tc
    return None


def assemble(template: Template, notebook: Mapping[str, Any]) -> Plan:
    """Rebuild the notebook to grade from the template and a submission (see the module doc)."""
    notes: list[str] = []
    cells = notebook.get("cells")
    if not isinstance(cells, list):
        cells = []
        notes.append("the notebook has no list of cells")
    answers: dict[int, Mapping[str, Any]] = {}
    extras: dict[int, list[str]] = {}
    seen: dict[int, int] = {}
    anchor = -1
    for cell in cells:
        if not isinstance(cell, Mapping):
            continue
        tc = _match(template, cell)
        ctype = cell.get("cell_type")
        if tc is None:
            if ctype == "code" and _source(cell).strip():
                extras.setdefault(anchor, []).append(_source(cell))
            continue
        seen[tc.index] = seen.get(tc.index, 0) + 1
        if tc.kind in ("answer", "manual"):
            if tc.index in answers:
                notes.append(f"{tc.grade_id}: the answer cell appears more than once")
                if ctype == "code":
                    extras.setdefault(tc.index, []).append(_source(cell))
            else:
                answers[tc.index] = cell
        elif tc.kind == "test":
            if seen[tc.index] > 1:
                notes.append(f"{tc.grade_id}: the test cell appears more than once")
            elif ctype != "code":
                notes.append(f"{tc.grade_id}: the test cell was turned into {ctype}")
            elif _source(cell).strip() not in (tc.release_source.strip(), tc.source.strip()):
                notes.append(f"{tc.grade_id}: the test cell was changed")
            meta = _meta(cell)
            if meta and meta.get("grade_id") == tc.grade_id and "points" in meta:
                try:
                    changed = float(meta.get("points") or 0) != tc.points
                except (TypeError, ValueError):
                    changed = True
                if changed:
                    notes.append(f"{tc.grade_id}: the test cell's points were changed")
        elif tc.kind == "code" and ctype == "code":
            extras.setdefault(tc.index, []).append(_source(cell))
        anchor = tc.index
    for tc in template.cells:
        if tc.kind == "test" and tc.index not in seen:
            notes.append(f"{tc.grade_id}: the test cell was deleted")
    if cells and not any(_meta(c) for c in cells if isinstance(c, Mapping)):
        notes.append("the nbgrader metadata was stripped")

    steps: list[Step] = []
    out: list[dict[str, Any]] = []
    manual: dict[str, bool] = {}
    student_code: list[str] = []

    def add(kind: str, tc: TemplateCell | None, code: str, cell_type: str = "code") -> None:
        out.append(_cell(tc, code, cell_type))
        if cell_type == "code":
            steps.append(Step(kind, code, tc.grade_id if tc else None, len(out) - 1))
        if kind in ("answer", "extra"):
            student_code.append(code)

    for code in extras.get(-1, []):
        add("extra", None, code)
    for tc in template.cells:
        cell = answers.get(tc.index)
        if tc.kind == "setup":
            add("setup", tc, tc.source)
        elif tc.kind == "answer":
            if cell is not None and cell.get("cell_type") == tc.cell_type:
                add("answer", tc, _source(cell), tc.cell_type)
            else:
                if cell is not None:
                    notes.append(f"{tc.grade_id}: the answer cell was turned into "
                                 f"{cell.get('cell_type')}")
                add("answer", tc, tc.release_source, tc.cell_type)
        elif tc.kind == "manual":
            text = _source(cell) if cell is not None else tc.release_source
            manual[tc.grade_id or ""] = bool(text.strip()) and (
                text.strip() != tc.release_source.strip())
            kind = cell.get("cell_type") if cell is not None else tc.cell_type
            add("answer", tc, text, tc.cell_type if kind == tc.cell_type else "markdown")
        elif tc.kind == "test":
            add("test", tc, tc.source)
        else:
            out.append(_cell(tc, tc.source, tc.cell_type))
        for code in extras.get(tc.index, []):
            add("extra", None, code)
    return Plan(steps, manual, list(dict.fromkeys(notes)), student_code, out)


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


@dataclass
class CellResult:
    """The outcome of one test cell."""

    grade_id: str
    points: float
    score: float
    passed: bool
    message: str = ""


@dataclass
class NotebookResult:
    """The outcome of one submission notebook."""

    notebook: str
    status: str  # "graded", "missing", "invalid"
    tests: list[CellResult] = field(default_factory=list)
    manual_answered: dict[str, bool] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cells: list[dict[str, Any]] = field(default_factory=list, repr=False)


@dataclass
class SubmissionResult:
    """One student's submission of one assignment."""

    assignment: str
    student: str
    notebooks: list[NotebookResult] = field(default_factory=list)
    error: str | None = None

    @property
    def score(self) -> float:
        """Autograded points scored."""
        return sum(c.score for nb in self.notebooks for c in nb.tests)

    @property
    def max_score(self) -> float:
        """Autograded points available."""
        return sum(c.points for nb in self.notebooks for c in nb.tests)

    @property
    def notes(self) -> list[str]:
        """Everything a person should look at, one line each."""
        lines = [f"{nb.notebook}: {n}" for nb in self.notebooks for n in nb.notes]
        if self.error:
            lines.insert(0, f"grading error: {self.error}")
        return lines

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"assignment": self.assignment, "student": self.student, "error": self.error,
                "notebooks": [{k: v for k, v in asdict(nb).items() if k != "cells"}
                              for nb in self.notebooks]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SubmissionResult:
        """The inverse of `to_json`."""
        notebooks = []
        for nb in data.get("notebooks", []):
            tests = [CellResult(**c) for c in nb.get("tests", [])]
            notebooks.append(NotebookResult(**{**nb, "tests": tests}))
        return cls(data["assignment"], data["student"], notebooks, data.get("error"))


def load_results(course: Course) -> list[SubmissionResult]:
    """Every submission result recorded under the course's ``autograded/`` folder."""
    found = []
    for path in sorted((course.root / "autograded").glob(f"*/*/{RESULTS_FILE}")):
        try:
            found.append(SubmissionResult.from_json(json.loads(path.read_text())))
        except (ValueError, KeyError, TypeError):
            continue
    return found


# ---------------------------------------------------------------------------------------------
# Running one notebook
# ---------------------------------------------------------------------------------------------


def _referenced_names(source: str) -> list[str]:
    """The names a test cell reads that it does not define itself (the student's, mostly).

    A name given as text (``checks.lookup(globals(), "results")``) is looked up when asked.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    loaded: set[str] = set()
    defined: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else defined).add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            defined.add(node.name)
        elif isinstance(node, ast.arg):
            defined.add(node.arg)
        elif isinstance(node, ast.alias):
            defined.add((node.asname or node.name).split(".")[0])
    return sorted(loaded - defined - set(dir(builtins)))


def _defined_names(source: str) -> set[str]:
    """The names a test cell binds at its top level (later test cells may use them)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for statement in tree.body:
        for node in ast.walk(statement):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.alias):
                names.add((node.asname or node.name).split(".")[0])
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(statement.name)
    return names


def _split_last_expression(source: str, filename: str) -> tuple[Any, Any]:
    """Compile ``source``; a final expression is compiled apart (its value is partial credit)."""
    tree = ast.parse(source, filename)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    body = compile(tree, filename, "exec")
    return body, (compile(last, filename, "eval") if last is not None else None)


def _error_output(exc: BaseException) -> dict[str, Any]:
    from nncourse.checks import GradingFailure

    if isinstance(exc, GradingFailure):
        lines = exc._render_traceback_()
        return {"output_type": "error", "ename": "GradingFailure", "evalue": str(exc),
                "traceback": lines}
    if isinstance(exc, remote.KernelLost):
        text = f"{exc}.\nThe tests of this cell could not finish."
        return {"output_type": "error", "ename": "KernelDied", "evalue": text,
                "traceback": [f"KernelDied: {text}"]}
    ename = type(exc).__name__
    return {"output_type": "error", "ename": ename, "evalue": str(exc)[:2000],
            "traceback": [f"{ename}: {str(exc)[:2000]}"]}


def run_test(link: remote.Link, base: Mapping[str, Any], source: str, grade_id: str,
             timeout: float, carried: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Run one test cell here, in the grader, against the student's kernel behind ``link``.

    ``base`` is the namespace of the notebook's set-up cells (run here once); ``carried``
    holds what earlier test cells of the notebook defined (a later one may use it) and
    receives what this one defines. The other names the test reads are looked up in the
    kernel (plain data, or proxies for functions and objects). Returns the cell's outputs as
    nbformat dicts, as Jupyter would show them: the test's printed lines, and an error when it
    failed.
    """
    from nncourse import agent

    carried = {} if carried is None else carried
    namespace = {**base, **carried}
    stdout, stderr = io.StringIO(), io.StringIO()
    outputs: list[dict[str, Any]] = []
    start, cpu_start = time.monotonic(), link.cpu_seconds()
    try:
        with link.serving(rules.TEST_SEED):
            wanted = [n for n in _referenced_names(source) if n not in namespace]
            if wanted:
                namespace.update(link.resolve(wanted))
            agent.seed_everything(rules.TEST_SEED)
            body, last = _split_last_expression(source, f"<test {grade_id}>")
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                exec(body, namespace)  # noqa: S102 - the course's own test code
                value = eval(last, namespace) if last is not None else None  # noqa: S307
        if value is not None and not isinstance(value, bool):
            with contextlib.suppress(TypeError, ValueError):
                if float(value) >= 0:
                    outputs.append({"output_type": "execute_result", "execution_count": None,
                                    "metadata": {}, "data": {"text/plain": repr(float(value))}})
        error = None
    except BaseException as exc:  # noqa: BLE001 - every failure is the test's verdict
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        error = _error_output(exc)
    for name in _defined_names(source):
        if name in namespace:
            carried[name] = namespace[name]
    wall, cpu = time.monotonic() - start, rules.since(link.cpu_seconds(), cpu_start)
    if rules.over_time(wall, cpu, timeout) and error is None:
        used = f"{wall:.1f} s" + ("" if cpu is None else f", {cpu:.1f} s of CPU")
        error = _error_output(TimeoutError(f"the tests took longer than {timeout:g} s ({used})"))
    for name, stream in (("stdout", stdout), ("stderr", stderr)):
        text = stream.getvalue()
        if text:
            outputs.insert(0 if name == "stdout" else len(outputs),
                           {"output_type": "stream", "name": name, "text": text[-20_000:]})
    if error is not None:
        outputs.append(error)
    return outputs


class _Session:
    """The kernels of one notebook's run (a new one after each kernel death)."""

    def __init__(self, zygote: sandbox.Zygote, slot: int, limits: Limits, workdir: Path) -> None:
        self.zygote, self.slot, self.limits, self.workdir = zygote, slot, limits, workdir
        self.kernel: sandbox.KernelProcess | None = None
        self.link: remote.Link | None = None

    def start(self) -> sandbox.KernelProcess:
        self.close()
        scratch = Path(tempfile.mkdtemp(prefix=f"k{self.slot}-", dir=self.workdir))
        self.kernel = sandbox.start_kernel(
            self.zygote, slot=self.slot, scratch=scratch,
            limits={"memory": self.limits.memory, "file_size": self.limits.file_size,
                    "processes": self.limits.processes},
        )
        self.link = remote.Link(self.kernel)
        return self.kernel

    def close(self) -> None:
        if self.kernel is not None:
            self.kernel.kill()
            sandbox.remove_tree(self.kernel.scratch)
            self.kernel = None
            self.link = None


def _setup_namespace(template: Template) -> dict[str, Any]:
    """The tests' namespace: the notebook's locked set-up cells, run here (cached; keyed by
    their sources too, as a Dask worker's grading process outlives one run: `nncourse.cluster`)."""
    key = (template.assignment, template.notebook, tuple(template.setup_sources))
    cached = _SETUP_CACHE.get(key)
    if cached is None:
        cached = {"__name__": "__main__", "__builtins__": builtins}
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            for index, source in enumerate(template.setup_sources):
                try:
                    exec(compile(source, f"<setup {index}>", "exec"), cached)  # noqa: S102
                except Exception:  # noqa: BLE001, S112 - a test that needs it fails by name
                    continue
        _SETUP_CACHE[key] = cached
    return cached


_SETUP_CACHE: dict[tuple[str, str, tuple[str, ...]], dict[str, Any]] = {}


def run_plan(zygote: sandbox.Zygote, slot: int, template: Template, plan: Plan, limits: Limits,
             workdir: Path) -> NotebookResult:
    """Run an assembled notebook: student cells in a sandboxed kernel, tests here."""
    result = NotebookResult(template.notebook, "graded", manual_answered=dict(plan.manual_answered),
                            notes=list(plan.notes))
    points = template.points
    base = _setup_namespace(template)

    verdicts: dict[str, CellResult] = {}
    carried: dict[str, Any] = {}
    session = _Session(zygote, slot, limits, workdir)
    start = time.monotonic()
    done: list[int] = []
    deaths = 0
    try:
        index = 0
        while index < len(plan.steps):
            elapsed = time.monotonic() - start
            if elapsed >= limits.notebook_timeout:
                result.notes.append("stopped: the notebook ran past its "
                                    f"{limits.notebook_timeout:g} s time limit")
                break
            if session.kernel is None:
                kernel = session.start()
                for replay in done:
                    if time.monotonic() - start >= limits.notebook_timeout:
                        break
                    executor.run_cell(kernel, plan.steps[replay].code, limits.cell_timeout)
            assert session.kernel is not None and session.link is not None
            step = plan.steps[index]
            cell = plan.cells[step.cell]
            timeout = min(limits.cell_timeout, limits.notebook_timeout - elapsed)
            status = "ok"
            if step.kind == "test":
                grade_id = step.grade_id or ""
                cell["outputs"] = run_test(session.link, base, step.code, grade_id, timeout,
                                           carried)
                full = points.get(grade_id, 0.0)
                score, passed, message = rules.cell_verdict(cell, full)
                verdicts[grade_id] = CellResult(grade_id, full, score, passed, message)
                if any(o.get("ename") == "TimeoutError" for o in cell["outputs"]):
                    result.notes.append(f"{grade_id}: the tests ran past their {timeout:g} s")
                if session.link.lost is not None:
                    status = "dead" if not session.kernel.alive() else "killed"
                elif status in ("dead", "killed"):
                    cell["outputs"].append(_error_output(remote.KernelLost(
                        "the notebook's code ended the Python process")))
                    score, passed, message = rules.cell_verdict(cell, full)
                    verdicts[grade_id] = CellResult(grade_id, full, score, passed, message)
            else:
                run = executor.run_cell(session.kernel, step.code, timeout)
                cell["outputs"] = run.outputs
                cell["execution_count"] = run.execution_count
                status = run.status
                if status == "timeout":
                    result.notes.append(f"{step.grade_id or 'a cell'}: stopped after {timeout:g} s")
            if status in ("dead", "killed"):
                deaths += 1
                what = step.grade_id or f"cell {index}"
                how = "died" if status == "dead" else "had to be stopped"
                result.notes.append(f"{what}: the kernel {how}; restarted without that cell")
                session.close()
                if deaths > limits.restarts:
                    result.notes.append("gave up after repeated kernel deaths")
                    break
            elif step.kind != "test":
                done.append(index)
            index += 1
    finally:
        session.close()
    for grade_id, full in points.items():
        if grade_id not in verdicts:
            verdicts[grade_id] = CellResult(grade_id, full, 0.0, False,
                                            "NotRun: the tests did not run")
    result.tests = [verdicts[c] for c in points]
    result.seconds = time.monotonic() - start
    result.cells = plan.cells
    return result


def grade_notebook(zygote: sandbox.Zygote, slot: int, template: Template, path: Path,
                   limits: Limits, workdir: Path) -> NotebookResult:
    """Grade one submission notebook file (missing and unreadable files score 0)."""
    zero = [CellResult(c, p, 0.0, False, "") for c, p in template.points.items()]
    reason = ""
    data: Any = None
    if not path.is_file():
        reason = "NotSubmitted: the notebook is missing"
        note = f"{path.name} is missing"
    else:
        try:
            if path.stat().st_size > rules.MAX_MESSAGE_BYTES:
                raise ValueError("larger than the grader accepts")
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            if data.get("nbformat") != 4:
                raise ValueError(f"nbformat {str(data.get('nbformat'))[:10]}, not 4")
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            reason = "InvalidNotebook: the file is not a valid notebook"
            note = f"{path.name} is not valid notebook JSON ({str(exc)[:80]})"
    if reason:
        return NotebookResult(
            template.notebook, "missing" if data is None and not path.is_file() else "invalid",
            tests=[CellResult(c.grade_id, c.points, 0.0, False, reason) for c in zero],
            notes=[note])
    plan = assemble(template, data)
    return run_plan(zygote, slot, template, plan, limits, workdir)


# ---------------------------------------------------------------------------------------------
# A grading run over the class
# ---------------------------------------------------------------------------------------------


@dataclass
class GradeRun:
    """The outcome of `grade`."""

    results: list[SubmissionResult]
    sandbox: str
    isolated: bool
    seconds: float

    @property
    def tool_failed(self) -> bool:
        """Whether some submission could not be graded because of the tool itself."""
        return any(r.error for r in self.results)


def _templates(course: Course, assignment: str, release: Path) -> list[Template]:
    return [load_template(assignment, path, release / assignment / path.name)
            for path in sorted((course.source_dir / assignment).glob("*.ipynb"))]


def _record(gb: Any, result: SubmissionResult) -> None:
    """Create one submission in the gradebook, as ``nbgrader autograde`` does before grading
    (`nncourse.autograded.record`); `_write_results` then scores its notebooks there."""
    from nncourse import autograded

    autograded.record(gb, result)


def submissions(course: Course, assignment: str) -> list[str]:
    """Students with a submitted folder for ``assignment``, sorted."""
    root = course.submitted_dir
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / assignment).is_dir())


# Each worker process of a grading run: its job slot (its sandbox uid) and the zygote.
_WORKER: dict[str, Any] = {}


def _init_worker(zygote_dir: str, info: dict[str, Any], slots: Any, limits: Limits,
                 workdir: str) -> None:
    """Set up one grading worker process (spawned, so it shares no state with the parent)."""
    os.environ.update({"NBGRADER_EXECUTION": "autograde", "NNLIB_OFFLINE": "1",
                       "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"})
    # torch, if a notebook's set-up imports it here later, reads OMP_NUM_THREADS then: one
    # thread per grading process, without importing torch (1.5 s) for assignments without it.
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
    _WORKER.update(zygote=sandbox.Zygote(Path(zygote_dir), info=info), slot=slots.get(),
                   limits=limits, workdir=Path(workdir))


def _grade_submission(name: str, student: str, templates: list[Template],
                      folder: str) -> SubmissionResult:
    """Grade one student's submission of one assignment (in a worker process)."""
    result = SubmissionResult(name, student)
    try:
        for template in templates:
            path = Path(folder) / f"{template.notebook}.ipynb"
            result.notebooks.append(grade_notebook(
                _WORKER["zygote"], _WORKER["slot"], template, path, _WORKER["limits"],
                _WORKER["workdir"]))
    except Exception as exc:  # noqa: BLE001 - one failure must not stop the class
        result.error = f"{type(exc).__name__}: {exc}"
    return result


def _uses_torch(work: Sequence[tuple[str, str, list[Template]]]) -> bool:
    """Whether the kernels may need torch: a code cell they run mentions it, or a test calls
    into them (`checks.fixture`, the `instruments` that train there). Only speed depends on
    it: a kernel that imports torch anyway just takes a second longer to do so."""
    for _, _, templates in work:
        for template in templates:
            for cell in template.cells:
                if cell.cell_type != "code":
                    continue
                text = cell.source + cell.release_source
                if cell.kind == "test":
                    if "fixture" in text or "instruments." in text:
                        return True
                elif "torch" in text:
                    return True
    return False


def assignment_names(course: Any, assignments: Sequence[str] | None) -> list[str]:
    """The assignments to grade: those given (each must exist), or every one in source/."""
    names = list(assignments) if assignments else course.source_assignments()
    unknown = sorted(set(names) - set(course.source_assignments()))
    if unknown:
        known = ", ".join(course.source_assignments())
        raise ValueError(f"no such assignment: {', '.join(unknown)} (the assignments are: "
                         f"{known})")
    return names


def grade(
    course: Course,
    assignments: Sequence[str] | None = None,
    *,
    students: Sequence[str] | None = None,
    jobs: int | None = None,
    limits: Limits = Limits(),
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> GradeRun:
    """Autograde every submission of ``assignments`` (default: all) into the gradebook.

    ``jobs`` worker processes (default: one per CPU) each grade one submission at a time: the
    student's notebook in a sandboxed kernel, its tests in the worker. Only this process
    writes the gradebook and ``autograded/``.
    """
    import multiprocessing

    from nbgrader.api import Gradebook
    from tqdm import tqdm

    started = time.monotonic()
    names = assignment_names(course, assignments)
    jobs = max(1, jobs or os.cpu_count() or 1)
    workdir = Path(tempfile.mkdtemp(prefix="nncourse-grade-"))
    os.chmod(workdir, 0o711)
    try:
        release = workdir / "release"
        Course(course.root, release_dir=release, db_url=course.db_url).generate(names)
        work: list[tuple[str, str, list[Template]]] = []
        for name in names:
            templates = _templates(course, name, release)
            for student in submissions(course, name):
                if students is None or student in students:
                    work.append((name, student, templates))
        zygote = sandbox.Zygote(workdir / "kernels", skip=() if _uses_torch(work) else ("torch",))
        zygote.workdir.mkdir()
        os.chmod(zygote.workdir, 0o711)
        results: list[SubmissionResult] = []
        with zygote:
            isolated = zygote.sandbox_mode != "none"
            log(f"nncourse: {zygote.describe()}")
            if isolated and os.geteuid() != 0:
                log("nncourse: not root: kernels run in a user namespace, not under another uid")
            if zygote.sandbox_mode == "user":
                private = [course.source_dir, course.submitted_dir, course.root / "autograded",
                           course.root / "feedback", course.root / "gradebook.db"]
                for path in sandbox.lock_down(private):
                    log(f"nncourse: made {path} unreadable to other users")
            context = multiprocessing.get_context("spawn")
            slots = context.Queue()
            workers = max(1, min(jobs, len(work)))
            for slot in range(workers):
                slots.put(slot)
            from concurrent.futures import ProcessPoolExecutor

            with Gradebook(course.db_url) as gb, ProcessPoolExecutor(
                    max_workers=workers, mp_context=context, initializer=_init_worker,
                    initargs=(str(zygote.workdir), zygote.info, slots, limits,
                              str(workdir))) as pool:
                futures = {
                    pool.submit(_grade_submission, name, student, templates,
                                str(course.submitted_dir / student / name)): (name, student)
                    for name, student, templates in work}
                bar = tqdm(as_completed(futures), total=len(futures), unit="submission",
                           disable=not progress, file=sys.stderr)
                for future in bar:
                    name, student = futures[future]
                    try:
                        result = future.result()
                    except Exception as exc:  # noqa: BLE001 - a worker process died
                        result = SubmissionResult(name, student,
                                                  error=f"{type(exc).__name__}: {exc}")
                    if result.error is None:
                        _record(gb, result)
                        _write_results(course, result)
                    results.append(result)
                    bar.set_postfix_str(f"{result.student}/{result.assignment}", refresh=False)
    finally:
        sandbox.remove_tree(workdir)
    results.sort(key=lambda r: (r.assignment, r.student))
    return GradeRun(results, zygote.sandbox_mode, isolated, time.monotonic() - started)


def _write_results(course: Course, result: SubmissionResult) -> None:
    """Score the submission's notebooks into the gradebook and write its ``autograded/`` folder
    as stock ``nbgrader autograde`` does, through nbgrader's own preprocessors
    (`nncourse.autograded.write`), plus `RESULTS_FILE`."""
    from nncourse import autograded

    folder = autograded.write(course, result)
    (folder / RESULTS_FILE).write_text(json.dumps(result.to_json(), indent=1) + "\n")
