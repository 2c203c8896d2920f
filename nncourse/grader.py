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
2. **Run** in a fresh kernel forked from the zygote (`nncourse.sandbox`): private
   namespaces, an unprivileged uid per parallel job, resource limits, no course files, no
   network. Cells run through `nncourse.executor` (per-cell time limit, bounded output);
   the notebook as a whole has a time limit too. When the kernel dies (``os._exit``, a cell
   that ignores interrupts) a new one is started, the cells that ran before are replayed and
   the culprit is skipped.
3. **Judge.** Test cells are run by the harness (`nncourse.harness`) inside the kernel: it
   restores every protected module and the shell before each test and returns an HMAC-signed
   verdict; a test counts only with a valid signature for this cell and this run. Error
   displays, exit codes and printed text are never trusted.
4. **Merge.** The trusted parent (this process) writes the scores into the gradebook and a
   ``nncourse.json`` of per-check results next to nbgrader's ``autograded/`` folder (used by
   ``nncourse feedback`` and ``report``). The kernel never sees the gradebook.

Threat model: student code runs in the same process as the tests, so code written *against*
the harness (walking frames or the heap with ``sys._getframe``, ``gc``, ``ctypes``, or
touching ``__nncourse__``) is not stopped; it is flagged (`suspicious_code`) for a person to
review.
"""

from __future__ import annotations

import ast
import json
import os
import queue
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nncourse import executor, harness, sandbox
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
    "suspicious_code",
]

#: Per-submission results written under ``autograded/<student>/<assignment>/``.
RESULTS_FILE = "nncourse.json"
_MAX_RESTARTS = 2
_SUSPICIOUS = (
    ("__nncourse__", "refers to the grading harness"),
    ("_getframe", "walks the interpreter's frames"),
    ("f_back", "walks the interpreter's frames"),
    ("f_globals", "reads another frame's globals"),
    ("currentframe", "walks the interpreter's frames"),
    ("__closure__", "reads a function's closure"),
    ("get_referrers", "walks the heap"),
    ("get_objects", "walks the heap"),
    ("ctypes", "uses ctypes"),
    ("VERDICT_MIME", "refers to the grading harness"),
    ("nncourse.harness", "refers to the grading harness"),
    ("<nncourse", "poses as grading code"),
)


@dataclass(frozen=True)
class Limits:
    """Time and resource limits of grading kernels."""

    cell_timeout: float = 60.0
    notebook_timeout: float = 300.0
    memory: int = 4 << 30
    file_size: int = 64 << 20
    processes: int = 256


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
    def setup_imports(self) -> list[str]:
        """The import statements of the locked set-up cells (re-run before every test)."""
        imports: list[str] = []
        for cell in self.cells:
            if cell.kind != "setup":
                continue
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            imports += [ast.unparse(n) for n in tree.body
                        if isinstance(n, ast.Import | ast.ImportFrom)]
        return imports


def load_template(assignment: str, source: Path, release: Path) -> Template:
    """The `Template` of one notebook from its source and its generated release."""
    src = json.loads(source.read_text(encoding="utf-8"))
    rel = json.loads(release.read_text(encoding="utf-8"))
    released = {c.get("id"): _source(c) for c in rel["cells"]}
    released_by_grade = {_meta(c).get("grade_id"): _source(c) for c in rel["cells"]}
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
        cells.append(TemplateCell(
            index=index, kind=kind, cell_type=cell["cell_type"], grade_id=grade_id,
            cell_id=cell.get("id"), points=float(meta.get("points", 0) or 0),
            source=_source(cell), release_source=release_source,
        ))
    return Template(assignment, source.stem, tuple(cells))


@dataclass(frozen=True)
class Step:
    """One cell to run: ``kind`` is "setup", "answer", "extra" or "test"."""

    kind: str
    code: str
    grade_id: str | None = None


@dataclass
class Plan:
    """What runs for one submission notebook, plus what a person should know about it."""

    steps: list[Step]
    manual_answered: dict[str, bool]
    notes: list[str]
    student_code: list[str]


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
                if float(meta.get("points") or 0) != tc.points:
                    notes.append(f"{tc.grade_id}: the test cell's points were changed")
        elif tc.kind == "code" and ctype == "code":
            extras.setdefault(tc.index, []).append(_source(cell))
        anchor = tc.index
    for tc in template.cells:
        if tc.kind == "test" and tc.index not in seen:
            notes.append(f"{tc.grade_id}: the test cell was deleted")
    if cells and not any(_meta(c) for c in cells if isinstance(c, Mapping)):
        notes.append("the nbgrader metadata was stripped")

    steps: list[Step] = [Step("extra", code) for code in extras.get(-1, [])]
    manual: dict[str, bool] = {}
    student_code = [s.code for s in steps]
    for tc in template.cells:
        if tc.kind == "setup":
            steps.append(Step("setup", tc.source, tc.grade_id))
        elif tc.kind == "answer":
            cell = answers.get(tc.index)
            if cell is not None and cell.get("cell_type") == tc.cell_type:
                steps.append(Step("answer", _source(cell), tc.grade_id))
                student_code.append(_source(cell))
            elif cell is not None:
                notes.append(f"{tc.grade_id}: the answer cell was turned into "
                             f"{cell.get('cell_type')}")
        elif tc.kind == "manual":
            cell = answers.get(tc.index)
            text = _source(cell) if cell is not None else ""
            manual[tc.grade_id or ""] = bool(text.strip()) and (
                text.strip() != tc.release_source.strip())
            if cell is not None and tc.cell_type == "code" and cell.get("cell_type") == "code":
                steps.append(Step("answer", text, tc.grade_id))
                student_code.append(text)
        elif tc.kind == "test":
            steps.append(Step("test", "", tc.grade_id))
        for code in extras.get(tc.index, []):
            steps.append(Step("extra", code))
            student_code.append(code)
    return Plan(steps, manual, list(dict.fromkeys(notes)), student_code)


def suspicious_code(sources: Iterable[str]) -> list[str]:
    """Reasons a person should read this code: it reaches for the grading machinery."""
    found = []
    text = "\n".join(sources)
    for needle, why in _SUSPICIOUS:
        if needle in text:
            found.append(f"the code {why} (`{needle}`)")
    return list(dict.fromkeys(found))


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
                "notebooks": [asdict(nb) for nb in self.notebooks]}

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


def _verdict(run: executor.CellRun, key: bytes, cell: str, nonce: str) -> dict[str, Any] | None:
    for message in run.special:
        try:
            data = json.loads(message.get(harness.VERDICT_MIME, ""))
            if data.get("cell") != cell or data.get("nonce") != nonce:
                continue
            score = data.get("score")
            score = None if score is None else float(score)
            text = str(data.get("text", ""))
            passed = bool(data.get("passed"))
            want = harness.expected_signature(key, nonce, cell, passed, score, text)
            if secrets.compare_digest(str(data.get("signature", "")), want):
                return {"passed": passed, "score": score, "text": text}
        except (TypeError, ValueError, AttributeError):
            continue
    return None


def _first_error(run: executor.CellRun) -> str:
    for out in run.outputs:
        if out.get("output_type") == "error":
            return f"{out.get('ename')}: {str(out.get('evalue', ''))[:200]}"
    return ""


class _Session:
    """The kernels of one notebook's run (a new one after each kernel death)."""

    def __init__(self, zygote: sandbox.Zygote, slot: int, template: Template, limits: Limits,
                 workdir: Path) -> None:
        self.zygote, self.slot, self.template, self.limits = zygote, slot, template, limits
        self.workdir = workdir
        self.kernel: sandbox.KernelProcess | None = None
        self.key = b""
        self.starts = 0

    def start(self) -> sandbox.KernelProcess:
        self.close()
        self.key = secrets.token_bytes(32)
        scratch = Path(tempfile.mkdtemp(prefix=f"k{self.slot}-", dir=self.workdir))
        self.starts += 1
        self.kernel = sandbox.start_kernel(
            self.zygote, slot=self.slot, scratch=scratch, verdict_key=self.key,
            tests=self.template.tests, setup_imports=self.template.setup_imports,
            limits={"memory": self.limits.memory, "file_size": self.limits.file_size,
                    "processes": self.limits.processes},
        )
        return self.kernel

    def close(self) -> None:
        if self.kernel is not None:
            self.kernel.kill()
            shutil.rmtree(self.kernel.scratch, ignore_errors=True)
            self.kernel = None


def run_plan(zygote: sandbox.Zygote, slot: int, template: Template, plan: Plan, limits: Limits,
             workdir: Path) -> NotebookResult:
    """Run an assembled notebook in sandboxed kernels and judge its test cells."""
    result = NotebookResult(template.notebook, "graded", manual_answered=dict(plan.manual_answered),
                            notes=list(plan.notes))
    points = template.points
    verdicts: dict[str, CellResult] = {}
    session = _Session(zygote, slot, template, limits, workdir)
    start = time.monotonic()
    done: list[int] = []
    skipped: set[int] = set()
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
                    executor.run_cell(kernel, plan.steps[replay].code, limits.cell_timeout)
            kernel = session.kernel
            assert kernel is not None
            step = plan.steps[index]
            timeout = min(limits.cell_timeout, limits.notebook_timeout - elapsed)
            if step.kind == "test":
                cell = step.grade_id or ""
                nonce = secrets.token_hex(16)
                run = executor.run_cell(kernel, f"__nncourse__({cell!r}, {nonce!r})", timeout,
                                        special_mime=harness.VERDICT_MIME)
                verdict = _verdict(run, session.key, cell, nonce)
                full = points.get(cell, 0.0)
                if verdict is not None:
                    score = full if verdict["passed"] else 0.0
                    if verdict["passed"] and verdict["score"] is not None:
                        score = min(max(verdict["score"], 0.0), full)
                    text = verdict["text"]
                    if run.status == "timeout":
                        text = text or f"did not finish within {timeout:g} s"
                    verdicts[cell] = CellResult(cell, full, score, verdict["passed"], text)
                else:
                    why = {"timeout": f"TimeoutError: the tests did not finish in {timeout:g} s",
                           "killed": "TimeoutError: the tests did not finish and were stopped",
                           "dead": "KernelDied: the notebook's code ended the Python process"}
                    verdicts[cell] = CellResult(cell, full, 0.0, False, why.get(
                        run.status, "NoVerdict: the tests reported no result"))
                    if run.status == "ok":
                        result.notes.append(f"{cell}: the test reported no valid verdict")
            else:
                run = executor.run_cell(kernel, step.code, timeout)
                if run.status == "timeout":
                    result.notes.append(f"{step.grade_id or 'a cell'}: stopped after {timeout:g} s")
            if run.status in ("dead", "killed"):
                deaths += 1
                skipped.add(index)
                what = step.grade_id or f"cell {index}"
                how = "died" if run.status == "dead" else "had to be killed"
                result.notes.append(f"{what}: the kernel {how}; restarted without that cell")
                session.close()
                if deaths > _MAX_RESTARTS:
                    result.notes.append("gave up after repeated kernel deaths")
                    break
            elif step.kind != "test":
                done.append(index)
            index += 1
    finally:
        session.close()
    for cell, full in points.items():
        if cell not in verdicts:
            verdicts[cell] = CellResult(cell, full, 0.0, False, "NotRun: the tests did not run")
    result.tests = [verdicts[c] for c in points]
    suspicious = suspicious_code(plan.student_code)
    result.notes += suspicious
    result.seconds = time.monotonic() - start
    return result


def grade_notebook(zygote: sandbox.Zygote, slot: int, template: Template, path: Path,
                   limits: Limits, workdir: Path) -> NotebookResult:
    """Grade one submission notebook file (missing and unreadable files score 0)."""
    zero = [CellResult(c, p, 0.0, False, "") for c, p in template.points.items()]
    if not path.is_file():
        return NotebookResult(template.notebook, "missing", tests=[
            CellResult(c.grade_id, c.points, 0.0, False, "NotSubmitted: the notebook is missing")
            for c in zero], notes=[f"{path.name} is missing"])
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except (ValueError, UnicodeDecodeError) as exc:
        return NotebookResult(template.notebook, "invalid", tests=[
            CellResult(c.grade_id, c.points, 0.0, False,
                       "InvalidNotebook: the file is not a valid notebook") for c in zero],
            notes=[f"{path.name} is not valid notebook JSON ({str(exc)[:80]})"])
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
    """Write one submission's scores into the gradebook (one transaction)."""
    from nbgrader.api import MissingEntry

    gb.update_or_create_student(result.student)
    try:
        gb.find_submission(result.assignment, result.student)
    except MissingEntry:
        gb.add_submission(result.assignment, result.student)
    for nb in result.notebooks:
        for cell in nb.tests:
            grade = gb.find_grade(cell.grade_id, nb.notebook, result.assignment, result.student)
            grade.auto_score = cell.score
            grade.needs_manual_grade = grade.manual_score is not None
        for cell_id, answered in nb.manual_answered.items():
            grade = gb.find_grade(cell_id, nb.notebook, result.assignment, result.student)
            grade.auto_score = None if answered else 0.0
            grade.needs_manual_grade = answered or grade.manual_score is not None
    gb.db.commit()


def submissions(course: Course, assignment: str) -> list[str]:
    """Students with a submitted folder for ``assignment``, sorted."""
    root = course.submitted_dir
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / assignment).is_dir())


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
    """Autograde every submission of ``assignments`` (default: all) into the gradebook."""
    from nbgrader.api import Gradebook
    from tqdm import tqdm

    started = time.monotonic()
    names = list(assignments) if assignments else course.source_assignments()
    unknown = sorted(set(names) - set(course.source_assignments()))
    if unknown:
        raise ValueError(f"no such assignment: {', '.join(unknown)}")
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
        zygote = sandbox.Zygote(workdir / "kernels")
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
            slots: queue.Queue[int] = queue.Queue()
            for slot in range(jobs):
                slots.put(slot)

            def one(name: str, student: str, templates: list[Template]) -> SubmissionResult:
                slot = slots.get()
                result = SubmissionResult(name, student)
                try:
                    folder = course.submitted_dir / student / name
                    for template in templates:
                        path = folder / f"{template.notebook}.ipynb"
                        result.notebooks.append(
                            grade_notebook(zygote, slot, template, path, limits, workdir))
                except Exception as exc:  # noqa: BLE001 - one failure must not stop the class
                    result.error = f"{type(exc).__name__}: {exc}"
                finally:
                    slots.put(slot)
                return result

            with Gradebook(course.db_url) as gb, ThreadPoolExecutor(max_workers=jobs) as pool:
                futures = [pool.submit(one, *item) for item in work]
                bar = tqdm(as_completed(futures), total=len(futures), unit="submission",
                           disable=not progress, file=sys.stderr)
                for future in bar:
                    result = future.result()
                    if result.error is None:
                        _record(gb, result)
                        _write_results(course, result)
                    results.append(result)
                    bar.set_postfix_str(f"{result.student}/{result.assignment}", refresh=False)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results.sort(key=lambda r: (r.assignment, r.student))
    return GradeRun(results, zygote.sandbox_mode, isolated, time.monotonic() - started)


def _write_results(course: Course, result: SubmissionResult) -> None:
    folder = course.root / "autograded" / result.student / result.assignment
    folder.mkdir(parents=True, exist_ok=True)
    (folder / RESULTS_FILE).write_text(json.dumps(result.to_json(), indent=1) + "\n")

