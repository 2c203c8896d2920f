"""`nncourse publish DIR`: the student-only course, as a git repository students can fork.

The instructor's repository holds `solutions/` (the answers and the hidden tests), the test
suite and the grading tools, so it stays private. `publish` writes what students need into
``DIR`` and commits it there:

* ``lessons/``, ``exercises/`` (the release), ``nnlib/``, ``binder/``, ``LICENSE`` and
  ``constraints.txt``, copied;
* of ``nncourse/``, only the modules the exercises and lessons import, and what those import in
  turn (found by reading their code), plus ``nncourse check`` and ``nncourse lab``; never the
  grader, the sandbox, the release or collection tools, nor this module;
* a student ``README.md`` (the instructor's without its instructor sections), ``pyproject.toml``
  (the same runtime dependencies and pins, no development extras), a ``Makefile`` with
  ``make lab``, an ``nbgrader_config.py`` for the Validate button, a ``.gitignore``, and
  ``.nncourse-publish.json``, which marks ``DIR`` as a publish and remembers the URL.

Every Binder and GitHub link of the instructor's repository (the README's badge and launch
table, any link in a notebook) is pointed at the student repository, ``--url
https://github.com/ORG/REPO`` (remembered for later publishes).

Before anything is written to ``DIR``, every file to publish is scanned, and the publish is
refused when one of them could give a solution or a hidden test away (fail closed): a file that
is not UTF-8 text, an nbgrader marker (``BEGIN SOLUTION``, ``BEGIN HIDDEN TESTS``, ...), an
nbgrader solution cell that was not stripped, an exercise notebook with outputs or with a line
of its source's solutions or hidden tests, three consecutive lines of any hidden test anywhere,
four consecutive lines of any solution anywhere but in the lessons (which teach the same code,
a PyTorch training loop say), or a path or module that belongs to instructors.

The first publish runs ``git init`` in ``DIR``; each publish replaces the whole tree (all but
``.git``) and makes one new commit on top, so students' forks can pull. The instructor
repository's history is never copied. `PublishError` (exit status 2 in the command) when
``DIR`` is inside the course, holds the course, or is a non-empty folder that is not a previous
publish, and when the scan finds anything.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Every string anywhere in a JSON value (keys included): the scan release.py does too.
from nncourse.release import _strings

__all__ = ["PublishError", "Published", "publish", "scan", "student_modules"]

#: Folders copied whole (caches left out).
TREES = ("lessons", "exercises", "nnlib", "binder")
#: Files copied as they are.
FILES = ("LICENSE", "constraints.txt")
#: The file that marks a folder as written by `publish` (committed, so a clone is one too).
MARKER = ".nncourse-publish.json"
#: Grading and instructor modules: a publish that would need one of them is refused.
INSTRUCTOR_MODULES = frozenset(f"nncourse.{name}" for name in (
    "grader", "sandbox", "executor", "release", "nbgrader_api", "collect", "autograded",
    "feedback", "report", "cluster", "publish",
))
#: What the student commands of `nncourse` (lab, check) import besides the command module.
STUDENT_COMMANDS = ("nncourse.cli", "nncourse.checker")
#: Folders and files of instructors, refused anywhere in the published tree.
INSTRUCTOR_PATHS = frozenset({"solutions", "tests", "source", "submitted", "autograded",
                              "feedback", "nbgrader_step", "reports", "gradebook.db", ".git"})
_SKIP = frozenset({"__pycache__", ".ipynb_checkpoints", ".DS_Store"})
_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
            "BEGIN MARK SCHEME", "END MARK SCHEME")
_STUBS = ("YOUR CODE HERE", "YOUR ANSWER HERE")
_STUB_LINES = {"# YOUR CODE HERE", "raise NotImplementedError()", "YOUR ANSWER HERE"}
#: Consecutive non-blank lines (and at least this many characters) that count as a copy.
HIDDEN_RUN, HIDDEN_CHARS = 3, 48
SOLUTION_RUN, SOLUTION_CHARS = 4, 80


class PublishError(Exception):
    """Why a publish was refused (one line); nothing was written to the target."""


@dataclass(frozen=True)
class Published:
    """A finished publish: the target, its new commit, the files of that commit, the URL."""

    target: Path
    commit: str
    files: tuple[str, ...]
    url: str
    first: bool


# --- what students need of nncourse -----------------------------------------------------------


def _code_of_notebook(path: Path) -> str:
    """The code cells of a notebook, IPython magics and shell lines blanked out."""
    cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    lines: list[str] = []
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        for line in source.split("\n"):
            lines.append("" if line.lstrip().startswith(("%", "!")) else line)
    return "\n".join(lines)


def _imports(code: str, *, module: str = "", nested: bool = True) -> set[str]:
    """Modules imported by ``code`` (``from p import a`` gives both p and p.a); ``nested=False``
    only the top-level statements."""
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise PublishError(f"cannot read the imports of {module or 'a notebook'}: {exc}") from None
    nodes = ast.walk(tree) if nested else iter(tree.body)
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")[: -node.level]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def _module_file(root: Path, name: str) -> Path | None:
    path = root.joinpath(*name.split("."))
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    if path.with_suffix(".py").is_file():
        return path.with_suffix(".py")
    return None


def student_modules(root: Path) -> list[str]:
    """The nncourse modules the published course needs, as paths relative to ``root``.

    The imports of every lesson, exercise notebook and nnlib module, plus the student commands,
    followed through nncourse (function-level imports included; of ``nncourse.cli`` only its
    top-level ones, as its instructor commands import their modules lazily). Refused when the
    closure reaches an instructor module.
    """
    pending: list[tuple[str, str]] = []  # (module, who imports it)
    notebooks = sorted((root / "lessons").glob("*.ipynb"))
    notebooks += sorted((root / "exercises").glob("*/*.ipynb"))
    for path in notebooks:
        who = path.relative_to(root).as_posix()
        pending += [(m, who) for m in _imports(_code_of_notebook(path), module=who)]
    for path in sorted((root / "nnlib").rglob("*.py")):
        name = ".".join(path.relative_to(root).with_suffix("").parts)
        pending += [(m, name) for m in _imports(path.read_text(encoding="utf-8"), module=name)]
    pending += [(m, "the student commands") for m in STUDENT_COMMANDS]
    seen: set[str] = set()
    files: set[str] = set()
    while pending:
        name, who = pending.pop()
        if name != "nncourse" and not name.startswith("nncourse.") or name in seen:
            continue
        path = _module_file(root, name)
        if path is None:  # a name imported from a module (a function), not a module
            continue
        if name in INSTRUCTOR_MODULES:
            raise PublishError(f"{who} imports {name}, which is for instructors only")
        seen.add(name)
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # the packages above it
            package = _module_file(root, ".".join(parts[:i]))
            if package is not None and package.name == "__init__.py":
                files.add(package.relative_to(root).as_posix())
                pending.append((".".join(parts[:i]), who))
        files.add(path.relative_to(root).as_posix())
        code = path.read_text(encoding="utf-8")
        is_package = path.name == "__init__.py"
        own = name + ".__init__" if is_package else name
        pending += [(m, name) for m in _imports(code, module=own, nested=name != "nncourse.cli")]
    return sorted(files)


# --- the tree to publish ----------------------------------------------------------------------


def _walk(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.iterdir()):
        if path.name in _SKIP or path.suffix == ".pyc" or path.name.endswith(".egg-info"):
            continue
        if path.is_symlink():
            raise PublishError(f"{path}: a symbolic link (not published; replace it by a file)")
        if path.is_dir():
            yield from _walk(path)
        elif path.is_file():
            yield path


_DROP_SECTIONS = ("For instructors", "Benchmark")
_DROP_BLOCKS = re.compile(r"make (test|site|bench)|bench/|site/build")
_DROP_ROWS = re.compile(r"^\|\s*`?(solutions|tests|bench|site|hub)/")


def _blocks(text: str) -> list[str]:
    """Markdown blocks: paragraphs, tables and fenced code (kept whole), split at blank lines."""
    blocks: list[str] = []
    current: list[str] = []
    fenced = False
    for line in text.split("\n"):
        if line.startswith("```"):
            fenced = not fenced
        if not line.strip() and not fenced:
            if current:
                blocks.append("\n".join(current))
            current = []
        else:
            current.append(line)
    if current:
        blocks.append("\n".join(current))
    return blocks


def student_readme(text: str) -> str:
    """README.md for students: the instructor sections, the paragraphs about instructor tools
    (the test suite, the website, the benchmarks) and their rows of tables left out, and a
    note on what this repository is."""
    sections = re.split(r"(?m)^(?=## )", text)
    kept: list[str] = []
    for section in sections:
        title = section.split("\n", 1)[0].removeprefix("## ").strip()
        if section.startswith("## ") and title in _DROP_SECTIONS:
            continue
        blocks = []
        for block in _blocks(section):
            if block.startswith("|"):
                rows = [r for r in block.split("\n") if not _DROP_ROWS.match(r)]
                block = "\n".join(rows)
            elif _DROP_BLOCKS.search(block) and not block.startswith("<!--"):
                continue
            blocks.append(block)
        kept.append("\n\n".join(blocks))
    text = "\n\n".join(kept).replace("needed before either command", "needed before it")
    head, _, rest = text.partition("\n\n")
    badge, _, rest = rest.partition("\n\n")
    note = ("> This is the student repository of the course: lessons, exercises, `nnlib` and the "
            "`nncourse check` command. It is generated from the instructors' repository (which "
            "keeps the solutions, the hidden tests and the grading tools), and every new "
            "version arrives here as one new commit: fork it, and `git pull` to update.")
    return f"{head}\n\n{badge}\n\n{note}\n\n{rest}".rstrip() + "\n"


def student_pyproject(text: str) -> str:
    """pyproject.toml without the development extras and the tools' settings."""
    keep = ("build-system", "project", "project.scripts", "project.urls", "project.entry-points")
    out: list[str] = []
    keeping = True
    for line in text.split("\n"):
        header = re.match(r"^\[([^\]]+)\]\s*$", line)
        if header:
            name = header[1].strip()
            keeping = name in keep or name.startswith(("tool.setuptools", "project.entry-points"))
        if keeping:
            out.append(line)
    return "\n".join(out).rstrip() + "\n"


def _timeout(root: Path) -> float:
    """The instructors' ``c.Execute.timeout`` (read, not run: the config imports nbgrader)."""
    try:
        text = (root / "nbgrader_config.py").read_text(encoding="utf-8")
    except OSError:
        return 60.0
    found = re.findall(r"(?m)^c\.Execute\.timeout\s*=\s*([0-9]+(?:\.[0-9]*)?)\s*(?:#.*)?$", text)
    return float(found[-1]) if found else 60.0


_STUDENT_CONFIG = '''"""nbgrader configuration for students: what the Validate button (and
`nbgrader validate`) reads. The instructors' configuration, with the solutions and the
gradebook, is not part of this repository."""

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

# Seconds each cell may run while validating (the same limit as grading).
c.Execute.timeout = {timeout:g}
'''

_STUDENT_MAKEFILE = """# make lab: create .venv if it is missing, then open the course in JupyterLab
#   (the first time: installs the course and its pinned dependencies into .venv).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: lab clean-venv

$(BIN)/nncourse: pyproject.toml constraints.txt
\t$(PYTHON) -m venv $(VENV)
\t$(BIN)/python -m pip install --quiet --upgrade pip
\t$(BIN)/python -m pip install --quiet -c constraints.txt -e .
\ttouch $@

lab: $(BIN)/nncourse
\t$(BIN)/nncourse lab

clean-venv:
\trm -rf $(VENV)
"""

_STUDENT_GITIGNORE = """.venv/
__pycache__/
*.pyc
*.egg-info/
.ipynb_checkpoints/
build/
/data/
"""


def _launch_links(root: Path) -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("_nncourse_launch_links",
                                                  root / "binder" / "launch_links.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _stage(root: Path, stage: Path, url: str, ref: str) -> None:
    """Write the student tree of the course ``root`` into the empty folder ``stage``."""
    for name in TREES:
        if not (root / name).is_dir():
            raise PublishError(f"the course has no {name}/ to publish")
        for path in _walk(root / name):
            target = stage / path.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    for name in [*FILES, *student_modules(root)]:
        if not (root / name).is_file():
            raise PublishError(f"the course has no {name} to publish")
        (stage / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, stage / name)
    links = _launch_links(root)
    readme = (root / "README.md").read_text(encoding="utf-8")
    try:
        old_prefix, new_prefix = links.binder_prefix(readme), links.binder_prefix_for(url, ref)
    except ValueError as exc:
        raise PublishError(str(exc).splitlines()[0]) from None
    (stage / "README.md").write_text(student_readme(readme), encoding="utf-8")
    (stage / "pyproject.toml").write_text(
        student_pyproject((root / "pyproject.toml").read_text(encoding="utf-8")), encoding="utf-8")
    (stage / "nbgrader_config.py").write_text(_STUDENT_CONFIG.format(timeout=_timeout(root)),
                                              encoding="utf-8")
    (stage / "Makefile").write_text(_STUDENT_MAKEFILE, encoding="utf-8")
    (stage / ".gitignore").write_text(_STUDENT_GITIGNORE, encoding="utf-8")
    (stage / MARKER).write_text(json.dumps({"published_by": "nncourse publish", "url": url,
                                            "ref": ref}, indent=1) + "\n", encoding="utf-8")
    for path in _walk(stage):  # every link to the instructors' repository: to the students'
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # refused by the scan
        new = links.retarget(text, old_prefix, new_prefix)
        if new != text:
            path.write_text(new, encoding="utf-8")
    readme = (stage / "README.md").read_text(encoding="utf-8")
    table = links.render_table(stage, readme)
    (stage / "README.md").write_text(readme.replace(links.current_table(readme), table),
                                     encoding="utf-8")


# --- the safety scan --------------------------------------------------------------------------


def _text_of(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return source if isinstance(source, str) else "".join(source)


@dataclass
class _Secrets:
    """What the solutions of the course must not give away."""

    by_notebook: dict[str, set[str]]  # exercises/<a>/<nb>.ipynb -> its secret lines
    hidden_runs: set[tuple[str, ...]]
    solution_runs: set[tuple[str, ...]]


def _secrets(solutions: Path) -> _Secrets:
    sources = sorted(solutions.glob("*/*.ipynb"))
    if not sources:
        raise PublishError(f"no notebooks in {solutions}: nothing to check the published files "
                           "against, so nothing is published")
    by_notebook: dict[str, set[str]] = {}
    hidden_runs: set[tuple[str, ...]] = set()
    solution_runs: set[tuple[str, ...]] = set()
    for source in sources:
        nb = json.loads(source.read_text(encoding="utf-8"))
        regions: list[tuple[str, list[str]]] = []
        secret: set[str] = set()
        public: set[str] = set()
        for cell in nb.get("cells", []):
            region: list[str] | None = None
            for line in _text_of(cell).split("\n"):
                text = line.strip()
                if any(m in text for m in _MARKERS if m.startswith("BEGIN")):
                    region = []
                    regions.append(("hidden" if "HIDDEN" in text else "solution", region))
                elif any(m in text for m in _MARKERS if m.startswith("END")):
                    region = None
                elif text and region is not None:
                    region.append(text)
                    secret.add(text)
                elif text:
                    public.add(text)
        key = f"exercises/{source.parent.name}/{source.name}"
        by_notebook[key] = secret - public - _STUB_LINES
        for kind, lines in regions:
            size, chars, runs = ((HIDDEN_RUN, HIDDEN_CHARS, hidden_runs) if kind == "hidden"
                                 else (SOLUTION_RUN, SOLUTION_CHARS, solution_runs))
            for i in range(len(lines) - size + 1):
                run = tuple(lines[i : i + size])
                if sum(map(len, run)) >= chars and not set(run) <= public:
                    runs.add(run)
    return _Secrets(by_notebook, hidden_runs, solution_runs)


def _runs(lines: Iterable[str], size: int) -> set[tuple[str, ...]]:
    lines = [line.strip() for line in lines if line.strip()]
    return {tuple(lines[i : i + size]) for i in range(len(lines) - size + 1)}


def _scan_file(rel: str, data: bytes, secrets: _Secrets) -> list[str]:
    parts = rel.split("/")
    problems: list[str] = []
    if any(part in INSTRUCTOR_PATHS for part in parts):
        problems.append(f"{rel}: an instructors' path")
    if rel.endswith(".py") and parts[0] == "nncourse":
        if ".".join(Path(rel).with_suffix("").parts) in INSTRUCTOR_MODULES:
            problems.append(f"{rel}: an instructors' module")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return [*problems, f"{rel}: not UTF-8 text, so it cannot be checked"]
    for marker in _MARKERS:
        if marker in text:
            problems.append(f"{rel}: holds the nbgrader marker {marker!r}")
    lines: list[str] = []
    if rel.endswith(".ipynb"):
        try:
            nb = json.loads(text)
            cells = nb["cells"]
        except (ValueError, KeyError, TypeError):
            return [*problems, f"{rel}: not a readable notebook, so it cannot be checked"]
        for cell in cells:
            meta = (cell.get("metadata") or {}).get("nbgrader") or {}
            if meta.get("solution") and not any(s in _text_of(cell) for s in _STUBS):
                problems.append(f"{rel}: cell {meta.get('grade_id') or cell.get('id')} is an "
                                "nbgrader solution cell that was not stripped")
        for string in _strings(nb):
            lines += string.split("\n")
        if parts[0] == "exercises":
            secret = secrets.by_notebook.get(rel)
            if secret is None:
                problems.append(f"{rel}: no source in solutions/ to check it against")
            else:
                for line in sorted({line.strip() for line in lines} & secret)[:3]:
                    problems.append(f"{rel}: shows the solution or hidden-test line {line!r}")
            if any(c.get("cell_type") == "code" and c.get("outputs") for c in cells):
                problems.append(f"{rel}: an exercise notebook with outputs")
    else:
        lines = text.split("\n")
    if _runs(lines, HIDDEN_RUN) & secrets.hidden_runs:
        problems.append(f"{rel}: holds lines of a hidden test")
    if parts[0] != "lessons" and _runs(lines, SOLUTION_RUN) & secrets.solution_runs:
        problems.append(f"{rel}: holds lines of a reference solution")
    return problems


def scan(tree: Path, solutions: Path) -> list[str]:
    """Every reason not to publish ``tree``, checked against the nbgrader source
    ``solutions``; empty when it is safe."""
    secrets = _secrets(solutions)
    problems: list[str] = []
    for path in sorted(p for p in tree.rglob("*") if ".git" not in p.relative_to(tree).parts):
        rel = path.relative_to(tree).as_posix()
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            problems.append(f"{rel}: not a plain file")
        elif path.is_file():
            problems += _scan_file(rel, path.read_bytes(), secrets)
    return problems


# --- the target repository --------------------------------------------------------------------


def _git(target: Path, *args: str) -> str:
    env = dict(os.environ)
    for key in ("name", "email"):  # commit as "nncourse publish" where git has no identity
        configured = subprocess.run(["git", "-C", str(target), "config", f"user.{key}"],
                                    capture_output=True, text=True).stdout.strip()
        value = "nncourse publish" if key == "name" else "nncourse-publish@localhost"
        for who in ("AUTHOR", "COMMITTER"):
            if not configured:
                env.setdefault(f"GIT_{who}_{key.upper()}", value)
    result = subprocess.run(["git", "-C", str(target), *args], capture_output=True, text=True,
                            env=env)
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip().splitlines() or ["failed"]
        raise PublishError(f"git {args[0]} in {target}: {message[-1]}")
    return result.stdout


def _check_target(root: Path, target: Path) -> dict[str, Any] | None:
    """The marker of a previous publish in ``target``, None when it is new or empty."""
    if target == root or root in target.parents:
        raise PublishError(f"{target} is inside the course {root}: publish outside it")
    if target in root.parents:
        raise PublishError(f"{target} holds the course {root}: publish into a folder of its own")
    if target.exists() and not target.is_dir():
        raise PublishError(f"{target} is not a folder")
    if not target.exists() or not any(target.iterdir()):
        return None
    marker = target / MARKER
    if not (target / ".git").is_dir() or not marker.is_file():
        raise PublishError(f"{target} is not empty and not a previous publish (no .git and "
                           f"{MARKER}): choose an empty or new folder")
    try:
        return dict(json.loads(marker.read_text(encoding="utf-8")))
    except (ValueError, TypeError):
        raise PublishError(f"{target / MARKER} is not readable: not a publish?") from None


def _source_commit(root: Path) -> str:
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""
    return f"\n\nFrom the instructors' repository at {head}" + (
        " (with uncommitted changes)." if dirty else ".")


def publish(root: Path, target: Path, url: str | None = None, ref: str | None = None,
            message: str | None = None) -> Published:
    """Publish the course ``root`` into the git repository ``target`` (see the module)."""
    root, target = Path(root).resolve(), Path(target).resolve()
    previous = _check_target(root, target)
    url = url or (previous or {}).get("url")
    ref = ref or (previous or {}).get("ref") or "HEAD"
    if not url:
        raise PublishError("the student repository's URL is needed the first time: "
                           "--url https://github.com/ORG/REPO")
    with tempfile.TemporaryDirectory(prefix="nncourse-publish-") as tmp:
        stage = Path(tmp) / "course"
        stage.mkdir()
        _stage(root, stage, url, ref)
        problems = scan(stage, root / "solutions")
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise PublishError(f"refused, nothing published: {problems[0]}{more}")
        files = tuple(sorted(p.relative_to(stage).as_posix() for p in _walk(stage)))
        first = previous is None
        target.mkdir(parents=True, exist_ok=True)
        if first and not (target / ".git").exists():
            _git(target, "init", "-q", "-b", "main")
        for entry in target.iterdir():
            if entry.name == ".git":
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        for name in files:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(stage / name, target / name)
    _git(target, "add", "-A")
    text = message or ("Publish the course" if first else "Update the course")
    _git(target, "commit", "-q", "--allow-empty", "-m", text + _source_commit(root))
    committed = tuple(sorted(_git(target, "ls-tree", "-r", "--name-only", "-z", "HEAD")
                             .strip("\0").split("\0")))
    if committed != files:
        raise PublishError(f"the commit in {target} does not hold exactly the published files")
    commit = _git(target, "rev-parse", "HEAD").strip()
    return Published(target, commit, files, url, first)
