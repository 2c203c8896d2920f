"""`nncourse publish DIR`: the student repository (nncourse/publish.py).

The course is published into a temporary folder, and the tests check what is there (only the
student files; no solution, hidden test or grader), its git history (one commit per publish,
none of this repository's), its links (the given URL), the refusals, and that a student can
work in it: with this venv's packages but the published copy on ``PYTHONPATH`` (every import
checked to come from the copy), an exercise filled with the reference answers passes its
visible tests, ``nncourse check`` runs, and a lesson's first cells run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import classroom  # noqa: E402
import test_grading as tg  # noqa: E402

from nncourse import cli  # noqa: E402
from nncourse.publish import MARKER, publish  # noqa: E402

REPO = tg.REPO
URL = "https://github.com/example-org/nn-course-students"
PREFIX = "https://mybinder.org/v2/gh/example-org/nn-course-students/HEAD"
#: What the student repository may hold at its top level.
TOP_LEVEL = {"lessons", "exercises", "nnlib", "nncourse", "binder", "README.md", "LICENSE",
             "pyproject.toml", "constraints.txt", "nbgrader_config.py", "Makefile", ".gitignore",
             MARKER}
INSTRUCTOR_MODULES = {"grader", "sandbox", "executor", "release", "nbgrader_api", "collect",
                      "autograded", "feedback", "report", "cluster", "publish"}


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")
            if p.is_file() and ".git" not in p.relative_to(folder).parts}


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture(scope="module")
def student(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The course published once into a new folder."""
    target = tmp_path_factory.mktemp("publish") / "student"
    done = publish(REPO, target, url=URL)
    assert done.first and done.url == URL
    return target


# --- the tree ---------------------------------------------------------------------------------


def test_the_tree_holds_the_student_course_only(student: Path) -> None:
    files = _files(student)
    assert {f.split("/")[0] for f in files} == TOP_LEVEL
    for path in files:
        parts = set(path.split("/"))
        assert not parts & {"solutions", "tests", "grading", "submitted", "autograded"}, path
    lessons = {p.relative_to(REPO).as_posix() for p in (REPO / "lessons").glob("*.ipynb")}
    exercises = {p.relative_to(REPO).as_posix() for p in (REPO / "exercises").rglob("*.ipynb")}
    assert lessons | exercises <= files
    for path in sorted(exercises):  # the release, unchanged
        assert (student / path).read_bytes() == (REPO / path).read_bytes(), path
    for path in (REPO / "nnlib").rglob("*.py"):
        rel = path.relative_to(REPO).as_posix()
        assert (student / rel).read_bytes() == path.read_bytes(), rel

    modules = {f.removeprefix("nncourse/") for f in files if f.startswith("nncourse/")}
    assert {"checks.py", "checks_backprop.py", "instruments.py", "checker.py", "cli.py",
            "fixtures/__init__.py", "fixtures/optim.py", "fixtures/training.py",
            "fixtures/mnist.py"} <= modules
    assert not {f"{name}.py" for name in INSTRUCTOR_MODULES} & modules


def test_nothing_published_holds_a_marker_a_solution_or_a_hidden_test(student: Path) -> None:
    markers = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
               "BEGIN MARK SCHEME")
    texts = {}
    for path in sorted(_files(student)):
        text = (student / path).read_text(encoding="utf-8")  # all text: it was all scanned
        assert not [m for m in markers if m in text], path
        texts[path] = text
    # The exercise notebooks: no line of their source's solutions or hidden tests.
    for source_path in sorted(tg.SOLUTIONS.glob("*/*.ipynb")):
        source = tg.read_notebook(source_path)
        rel = f"exercises/{source_path.parent.name}/{source_path.name}"
        released = json.loads(texts[rel])
        lines = {line.strip() for cell in released["cells"]
                 for line in tg.source_of(cell).split("\n")}
        hidden = tg.hidden_code_lines(source)
        assert hidden and not lines & hidden, (rel, sorted(lines & hidden)[:3])
        secret, public = tg.secret_lines(source)
        assert not lines & (secret - public - tg.STUBS), rel
    # Everywhere: no three consecutive lines of a hidden test (single lines such as
    # `raise ValueError(` are everywhere in any Python code).
    runs = set()
    for source_path in sorted(tg.SOLUTIONS.glob("*/*.ipynb")):
        source = tg.read_notebook(source_path)
        hidden = tg.hidden_code_lines(source)
        for cell in source["cells"]:
            text = tg.source_of(cell)
            if "BEGIN HIDDEN TESTS" not in text:
                continue
            region = text.split("BEGIN HIDDEN TESTS", 1)[1].split("END HIDDEN TESTS", 1)[0]
            region_lines = [line.strip() for line in region.split("\n")[1:] if line.strip()]
            runs |= {tuple(region_lines[i:i + 3]) for i in range(len(region_lines) - 2)
                     if set(region_lines[i:i + 3]) & hidden}
    assert runs
    for path, text in texts.items():
        lines = [line.strip() for line in text.replace("\\n", "\n").split("\n") if line.strip()]
        found = {tuple(lines[i:i + 3]) for i in range(len(lines) - 2)} & runs
        assert not found, (path, sorted(found)[:1])


def test_git_history_is_one_commit_of_exactly_the_tree(student: Path) -> None:
    assert _git(student, "rev-list", "--all", "--count").strip() == "1"
    tree = set(_git(student, "ls-tree", "-r", "--name-only", "HEAD").split("\n")) - {""}
    assert tree == _files(student)
    assert _git(student, "status", "--porcelain") == ""
    assert _git(student, "remote") == ""


def test_a_second_publish_adds_one_commit_and_remembers_the_url(tmp_path: Path) -> None:
    target = tmp_path / "student"
    first = publish(REPO, target, url=URL, ref="main")
    (target / "stray.txt").write_text("left over\n")
    second = publish(REPO, target)  # the URL and ref of the first publish
    assert not second.first and second.url == URL
    assert _git(target, "rev-list", "--count", "HEAD").strip() == "2"
    assert _git(target, "rev-parse", "HEAD~1").strip() == first.commit
    assert not (target / "stray.txt").exists()
    assert set(_git(target, "ls-tree", "-r", "--name-only", "HEAD").split("\n")) - {""} \
        == _files(target)
    assert "https://mybinder.org/v2/gh/example-org/nn-course-students/main?" in \
        (target / "README.md").read_text()


# --- links and the student README -------------------------------------------------------------


def test_links_point_at_the_student_repository(student: Path) -> None:
    readme = (student / "README.md").read_text()
    links = re.findall(r"https://mybinder\.org/v2/gh/[^\s)]+", readme)
    notebooks = {p.relative_to(student).as_posix() for p in student.rglob("*.ipynb")}
    assert len(links) == 1 + len(notebooks)  # the badge and one launch link per notebook
    assert all(link.startswith(PREFIX + "?urlpath=lab/tree/") for link in links)
    opened = {link.split("urlpath=lab/tree/", 1)[1] for link in links}
    assert notebooks <= opened
    for path in _files(student):
        assert "nnlib-course/nn-course" not in (student / path).read_text(), path
    check = subprocess.run([sys.executable, "binder/launch_links.py", "--check"], cwd=student,
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_student_readme_has_no_instructor_sections(student: Path) -> None:
    readme = (student / "README.md").read_text()
    assert readme.startswith("# ")
    assert "student repository" in readme
    for gone in ("## For instructors", "make test", "make site", "make bench",
                 "nncourse grade", "nncourse publish", "## Benchmark"):
        assert gone not in readme, gone
    for kept in ("## Start", "make lab", "## Syllabus", "## Differences from PyTorch"):
        assert kept in readme, kept


def test_pyproject_keeps_the_runtime_dependencies_only(student: Path) -> None:
    import tomllib

    ours = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    theirs = tomllib.loads((student / "pyproject.toml").read_text())
    assert theirs["project"]["dependencies"] == ours["dependencies"]
    assert theirs["project"]["scripts"] == ours["scripts"]
    assert "optional-dependencies" not in theirs["project"]
    assert set(theirs.get("tool", {})) <= {"setuptools"}
    assert (student / "binder/requirements.txt").read_bytes() == \
        (REPO / "binder/requirements.txt").read_bytes()
    config = (student / "nbgrader_config.py").read_text()
    assert "solutions" not in config.split('"""', 2)[-1] and "c.Execute.timeout" in config


def test_launch_links_url_helpers() -> None:
    spec = importlib.util.spec_from_file_location("launch_links",
                                                  REPO / "binder" / "launch_links.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.binder_prefix_for("https://github.com/a-b/c.d.git") == \
        "https://mybinder.org/v2/gh/a-b/c.d/HEAD"
    assert module.binder_prefix_for("https://github.com/o/r/", "v1") == \
        "https://mybinder.org/v2/gh/o/r/v1"
    for bad in ("http://github.com/o/r", "https://gitlab.com/o/r", "https://github.com/o"):
        with pytest.raises(ValueError):
            module.binder_prefix_for(bad)
    text = ("[x](https://mybinder.org/v2/gh/old/repo/HEAD?urlpath=lab) "
            "https://github.com/old/repo/blob/main/a.ipynb https://github.com/old/repository")
    new = module.retarget(text, "https://mybinder.org/v2/gh/old/repo/HEAD",
                          "https://mybinder.org/v2/gh/new/r/main")
    assert new == ("[x](https://mybinder.org/v2/gh/new/r/main?urlpath=lab) "
                   "https://github.com/new/r/blob/main/a.ipynb https://github.com/old/repository")


# --- refusals ---------------------------------------------------------------------------------


def _publish(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main(["publish", *args])
    err = capsys.readouterr().err.strip()
    return code, err


@pytest.mark.parametrize("where", ["inside", "nonempty", "git_only", "no_url", "bad_url"])
def test_refuses_a_wrong_target(where: str, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "student"
    url = ["--url", URL]
    if where == "inside":
        target = REPO / "exercises" / "published-here"
    elif where == "nonempty":
        target.mkdir()
        (target / "notes.txt").write_text("mine\n")
    elif where == "git_only":
        target.mkdir()
        subprocess.run(["git", "init", "-q", str(target)], check=True)
    elif where == "no_url":
        url = []
    else:
        url = ["--url", "https://example.com/org/repo"]
    before = _files(target) if target.exists() else None
    code, err = _publish(capsys, str(target), *url, "--course", str(REPO))
    assert code == 2 and err.startswith("nncourse publish: ") and "\n" not in err, err
    assert (_files(target) if target.exists() else None) == before
    assert where in ("nonempty", "git_only") or not target.exists()


def _course_copy(tmp_path: Path) -> Path:
    course = tmp_path / "course"
    skip = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.pyc")
    for name in ("lessons", "exercises", "nnlib", "nncourse", "binder", "solutions"):
        shutil.copytree(REPO / name, course / name, ignore=skip)
    for name in ("README.md", "LICENSE", "pyproject.toml", "constraints.txt",
                 "nbgrader_config.py"):
        shutil.copy2(REPO / name, course / name)
    return course


def _edit_notebook(path: Path, change) -> None:  # noqa: ANN001 - a function of the notebook
    nb = json.loads(path.read_text())
    change(nb)
    path.write_text(json.dumps(nb, indent=1))


def _markdown(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def _hidden_run(assignment: str) -> list[str]:
    """Three lines of a hidden test of ``assignment``."""
    for cell in classroom.source(assignment)["cells"]:
        text = tg.source_of(cell)
        if "BEGIN HIDDEN TESTS" in text:
            region = text.split("BEGIN HIDDEN TESTS", 1)[1].split("END HIDDEN TESTS", 1)[0]
            lines = [line for line in region.split("\n")[1:] if line.strip()]
            if len(lines) >= 3 and sum(len(x.strip()) for x in lines[:3]) >= 48:
                return lines[:3]
    raise AssertionError(f"{assignment}: no hidden test of three lines")


def _unstripped_exercise(course: Path) -> None:
    """Exercise 1 with its answer cells holding the reference solutions (no markers)."""
    answers = classroom.reference_answers("01_perceptron")
    _edit_notebook(course / "exercises/01_perceptron/perceptron.ipynb",
                   lambda nb: nb.update(tg.build_submission(nb, answers)))


LEAKS = {
    "marker_in_a_lesson": (lambda c: _edit_notebook(
        c / "lessons/01_neuron.ipynb",
        lambda nb: nb["cells"].append(_markdown("### BEGIN SOLUTION\nx = 1\n### END SOLUTION"))),
        "lessons/01_neuron.ipynb: holds the nbgrader marker"),
    "solution_not_stripped": (_unstripped_exercise, "was not stripped"),
    "hidden_test_in_nnlib": (lambda c: (c / "nnlib/notes.py").write_text(
        '"""Kept for later:\n' + "\n".join(_hidden_run("02_activations")) + '\n"""\n'),
        "nnlib/notes.py: holds lines of a hidden test"),
    "grader_imported": (lambda c: _edit_notebook(
        c / "lessons/02_perceptron.ipynb",
        lambda nb: nb["cells"].append({"cell_type": "code", "metadata": {}, "outputs": [],
                                       "execution_count": None,
                                       "source": "from nncourse import grader"})),
        "lessons/02_perceptron.ipynb imports nncourse.grader"),
    "binary_file": (lambda c: (c / "nnlib/weights.bin").write_bytes(b"\x00\xff\xfe"),
                    "nnlib/weights.bin: not UTF-8 text"),
}


@pytest.mark.parametrize("leak", sorted(LEAKS))
def test_refuses_a_course_that_would_leak(leak: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    course = _course_copy(tmp_path)
    change, says = LEAKS[leak]
    change(course)
    target = tmp_path / "student"
    code, err = _publish(capsys, str(target), "--url", URL, "--course", str(course))
    assert code == 2 and "\n" not in err and says in err, err
    assert not target.exists()


def test_a_refused_update_leaves_the_previous_publish(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    course = _course_copy(tmp_path)
    target = tmp_path / "student"
    assert _publish(capsys, str(target), "--url", URL, "--course", str(course))[0] == 0
    before = {p: (target / p).read_bytes() for p in _files(target)}
    _unstripped_exercise(course)
    code, err = _publish(capsys, str(target), "--course", str(course))
    assert code == 2, err
    assert {p: (target / p).read_bytes() for p in _files(target)} == before
    assert _git(target, "rev-list", "--count", "HEAD").strip() == "1"


# --- a student works in the published copy ----------------------------------------------------

#: Student modules, checked to be imported from the published copy.
STUDENT_MODULES = ("nnlib", "nnlib.data", "nncourse", "nncourse.checks", "nncourse.checker",
                   "nncourse.cli", "nncourse.instruments", "nncourse.checks_backprop",
                   "nncourse.fixtures.optim")


def _resolves_here(root: Path, modules: tuple[str, ...] = STUDENT_MODULES) -> str:
    """Code that fails unless every module of ``modules`` is imported from ``root``."""
    return (f"import importlib, pathlib\nhere = pathlib.Path({str(root)!r}).resolve()\n"
            f"for name in {modules!r}:\n"
            "    path = pathlib.Path(importlib.import_module(name).__file__).resolve()\n"
            "    assert path.is_relative_to(here), (name, str(path))\n")


#: On PYTHONPATH before the copy: hides this checkout's editable install (a finder on
#: sys.meta_path that would still serve, say, nncourse.grader from here), as in a fresh venv.
_SITECUSTOMIZE = """import sys
def _editable(finder):
    return "__editable__" in (getattr(finder, "__module__", "") or type(finder).__module__)
sys.meta_path[:] = [f for f in sys.meta_path if not _editable(f)]
sys.path_hooks[:] = [h for h in sys.path_hooks if not _editable(h)]
sys.path_importer_cache.clear()
"""


def _student_env(root: Path, scratch: Path) -> dict[str, str]:
    (scratch / "isolate").mkdir(exist_ok=True)
    (scratch / "isolate" / "sitecustomize.py").write_text(_SITECUSTOMIZE)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(scratch / "isolate"), str(root)])
    env.update(NNLIB_OFFLINE="1", NNLIB_MNIST_SAMPLE="1", OMP_NUM_THREADS="1",
               MPLBACKEND="Agg")
    return env


def _code_cell(source: str) -> dict:
    return {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
            "source": source}


def _execute(nb: dict, cwd: Path, env: dict[str, str]) -> dict:
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.reads(json.dumps(nb), as_version=4)
    client = NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(cwd)}})
    client.execute(env=env)
    return notebook


def _errors(nb: dict) -> list[str]:
    return [f"{tg.nbgrader(c).get('grade_id') or c.get('id')}: {o.get('ename')}: "
            f"{o.get('evalue')}" for c in nb["cells"] for o in c.get("outputs", [])
            if o.get("output_type") == "error"]


@pytest.mark.slow
def test_a_student_works_in_the_published_copy(student: Path, tmp_path: Path) -> None:
    env = _student_env(student, tmp_path)
    # The tooling students need imports from the copy; the grader is not there.
    script = _resolves_here(student) + (
        "try:\n    import nncourse.grader\nexcept ModuleNotFoundError:\n    pass\n"
        "else:\n    raise AssertionError('the grader was published')\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=student, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr

    # Exercise 1 with the reference answers: its visible tests pass in the copy.
    assignment = "01_perceptron"
    release = json.loads((student / "exercises" / assignment / "perceptron.ipynb").read_text())
    filled = tg.build_submission(release, classroom.reference_answers(assignment))
    check_cell = _code_cell(_resolves_here(student, ("nnlib", "nncourse.checks")))
    filled["cells"].insert(0, check_cell)
    executed = _execute(filled, student / "exercises" / assignment, env)
    assert not _errors(executed), _errors(executed)
    graded = [c for c in executed["cells"] if tg.nbgrader(c).get("grade")]
    assert graded and all(c.get("outputs") is not None for c in graded)

    # `nncourse check` of the copy on the filled notebook: every visible test passes.
    path = tmp_path / "perceptron.ipynb"
    del filled["cells"][0]
    path.write_text(json.dumps(filled))
    checked = subprocess.run([sys.executable, "-m", "nncourse.cli", "check", str(path)],
                             cwd=student, env=env, capture_output=True, text=True, timeout=300)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    refused = subprocess.run([sys.executable, "-m", "nncourse.cli", "grade"], cwd=student,
                             env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "for instructors" in refused.stderr, refused.stderr

    # Lesson 1's first code cells run in the copy.
    lesson = json.loads((student / "lessons" / "01_neuron.ipynb").read_text())
    code = [c for c in lesson["cells"] if c["cell_type"] == "code"][:4]
    lesson["cells"] = [_code_cell(_resolves_here(student, ("nnlib",))), *code]
    executed = _execute(lesson, student / "lessons", env)
    assert not _errors(executed), _errors(executed)
