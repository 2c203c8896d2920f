"""The Binder (repo2docker) configuration in binder/ and the README's launch links.

Fast checks:

- binder/requirements.txt pins every runtime dependency of pyproject.toml to one version that
  satisfies pyproject's range, pins nothing else, and pins torch to the CPU-only build of the
  version constraints.txt pins; runtime.txt names a Python that requires-python accepts;
- binder/postBuild and binder/start are executable bash scripts that `bash -n` accepts; start
  points NNLIB_DATA_DIR at the folder postBuild fills; postBuild refuses to run (and deletes
  nothing) outside repo2docker unless told to; the nbgrader plugin ids and server extensions
  it names exist in the installed nbgrader;
- the README's Binder badge opens lesson 1, every launch link opens a notebook that exists,
  every lesson and exercise notebook has one, and the launch table is what
  binder/launch_links.py generates.

Slow (`-m slow`, a few minutes): the Binder build, replayed the way repo2docker runs it, without
Docker: a fresh virtual environment (no system site-packages) gets binder/requirements.txt
(torch's CPU pin mapped to the locally cached `torch==<constraints pin>`, PyTorch's extra index
dropped), installed with `pip install --no-index` from a wheelhouse: every wheel those
requirements resolve to, which `pip wheel` fetches from the package index once and keeps for a
week in ~/.cache/nncourse/binder-wheels (so a slow index no longer makes the replay take
minutes, and newly released dependencies still reach it within a week); then binder/postBuild
runs in a copy of the repository
(MNIST copied from ../shared/mnist when it exists, else skipped). In the result: solutions/ and
the other instructor files are gone, formgrader and the other instructor tools are disabled and
locked, lesson 1 executes through binder/start, and nbgrader validates exercise 1: the released
notebook as it is fails, and with the answers from the solution notebook (copied aside before
postBuild deleted solutions/, as an instructor would keep them) it passes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parent.parent
BINDER = REPO / "binder"
SCRIPTS = ("postBuild", "start")
SHARED_MNIST = REPO.parent / "shared" / "mnist"
MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _launch_links():
    """binder/launch_links.py as a module."""
    spec = importlib.util.spec_from_file_location("launch_links", BINDER / "launch_links.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- requirements ------------------------------------------------------------------------------


def _binder_lines() -> list[str]:
    lines = []
    for raw in (BINDER / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def _binder_pins() -> dict[str, Requirement]:
    pins = {}
    for line in _binder_lines():
        if line.startswith("-"):
            continue
        req = Requirement(line)
        name = canonicalize_name(req.name)
        assert name not in pins, f"binder/requirements.txt lists {req.name} twice"
        pins[name] = req
    return pins


def _pinned_version(req: Requirement) -> Version:
    specs = list(req.specifier)
    assert len(specs) == 1 and specs[0].operator == "==", (
        f"binder/requirements.txt must pin {req.name} to one version (==), found {req}")
    return Version(specs[0].version)


def _project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _runtime_dependencies() -> list[Requirement]:
    return [Requirement(dep) for dep in _project()["dependencies"]]


def _constraint(name: str) -> SpecifierSet:
    for line in (REPO / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and canonicalize_name(Requirement(line).name) == canonicalize_name(name):
            return Requirement(line).specifier
    raise AssertionError(f"constraints.txt does not pin {name}")


def test_every_runtime_dependency_is_pinned_within_its_range() -> None:
    pins = _binder_pins()
    problems = []
    for dep in _runtime_dependencies():
        pin = pins.get(canonicalize_name(dep.name))
        if pin is None:
            problems.append(f"{dep.name}: missing (pyproject.toml wants {dep.specifier or 'any'})")
        elif not dep.specifier.contains(_pinned_version(pin), prereleases=True):
            problems.append(f"{dep.name}: {pin} does not satisfy pyproject.toml's {dep}")
    assert not problems, "binder/requirements.txt:\n" + "\n".join(problems)


def test_binder_pins_nothing_the_package_does_not_declare() -> None:
    declared = {canonicalize_name(dep.name) for dep in _runtime_dependencies()}
    extra = sorted(set(_binder_pins()) - declared)
    assert not extra, f"binder/requirements.txt pins packages pyproject.toml does not need: {extra}"


def test_torch_is_the_cpu_build_of_the_constrained_version() -> None:
    torch = _pinned_version(_binder_pins()["torch"])
    constraint = _constraint("torch")
    assert constraint.contains(torch), f"torch {torch} in binder, constraints.txt says {constraint}"
    assert torch.local == "cpu", f"Binder needs the CPU-only torch (+cpu), found {torch}"
    options = [line for line in _binder_lines() if line.startswith("-")]
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in options, (
        "torch +cpu builds are only on PyTorch's CPU index; add its --extra-index-url")
    assert not any(line.startswith(("--index-url", "-i ")) for line in options), (
        "keep PyPI as the main index: only torch comes from PyTorch's index")


def test_runtime_python_satisfies_requires_python() -> None:
    runtime = (BINDER / "runtime.txt").read_text(encoding="utf-8").strip()
    match = re.fullmatch(r"python-(\d+\.\d+)", runtime)
    assert match, f"binder/runtime.txt must read python-X.Y, found {runtime!r}"
    requires = SpecifierSet(_project()["requires-python"])
    assert requires.contains(Version(match.group(1))), f"{runtime} vs requires-python {requires}"


# --- scripts -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_is_executable_strict_bash(name: str) -> None:
    path = BINDER / name
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#!/usr/bin/env bash\n"), f"binder/{name}: wrong shebang"
    assert "set -euo pipefail" in text, f"binder/{name}: missing set -euo pipefail"
    assert path.stat().st_mode & stat.S_IXUSR, f"binder/{name} is not executable (chmod +x)"
    check = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, f"binder/{name} is not valid bash:\n{check.stderr}"


def test_start_points_nnlib_at_the_mnist_folder_postbuild_fills() -> None:
    env = {k: v for k, v in os.environ.items() if k != "NNLIB_DATA_DIR"}
    done = subprocess.run([str(BINDER / "start"), sys.executable, "-c",
                           "import os; print(os.environ['NNLIB_DATA_DIR'])"],
                          env=env, capture_output=True, text=True, check=True, timeout=60)
    assert Path(done.stdout.strip()) == REPO.resolve() / "data" / "mnist"
    assert 'data_dir="$root/data/mnist"' in (BINDER / "postBuild").read_text(encoding="utf-8")


def test_postbuild_refuses_to_run_outside_repo2docker(tmp_path: Path) -> None:
    # On a scratch copy: if the guard ever broke, only this copy's solutions/ would go.
    (tmp_path / "binder").mkdir()
    shutil.copy2(BINDER / "postBuild", tmp_path / "binder" / "postBuild")
    (tmp_path / "solutions").mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("REPO_DIR", "NNCOURSE_ALLOW_POSTBUILD")}
    env["REPO_DIR"] = str(REPO)  # set, but another folder: still not this build
    done = subprocess.run([str(tmp_path / "binder" / "postBuild")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "refusing" in done.stderr
    assert (tmp_path / "solutions").is_dir()


def _postbuild_array(name: str) -> list[str]:
    """A list binder/postBuild configures nbgrader with (it reads them from nbgrader_views)."""
    from nncourse import nbgrader_views

    text = (BINDER / "postBuild").read_text(encoding="utf-8")
    assert re.search(rf"^views {name}$", text, re.MULTILINE), f"postBuild does not read {name}"
    return list(nbgrader_views.LISTS[name])


def test_postbuild_names_nbgrader_plugins_that_exist() -> None:
    labextension = Path(sys.prefix, "share", "jupyter", "labextensions", "@jupyter", "nbgrader")
    if not labextension.is_dir():
        pytest.skip(f"nbgrader's labextension is not installed in {sys.prefix}")
    bundle = "".join(p.read_text(encoding="utf-8", errors="replace")
                     for p in (labextension / "static").glob("*.js"))
    plugins = _postbuild_array("student_lab_plugins") + _postbuild_array("instructor_lab_plugins")
    missing = [p for p in plugins if f'"{p}"' not in bundle]
    assert not missing, f"no such plugins in @jupyter/nbgrader: {missing}"
    assert {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
            "@jupyter/nbgrader:course-list"} <= set(_postbuild_array("instructor_lab_plugins"))
    assert "@jupyter/nbgrader:validate-assignment" in _postbuild_array("student_lab_plugins")
    extensions = (_postbuild_array("student_server_extensions")
                  + _postbuild_array("instructor_server_extensions"))
    missing = [e for e in extensions if importlib.util.find_spec(e) is None]
    assert not missing, f"no such nbgrader server extensions: {missing}"
    assert "nbgrader.server_extensions.formgrader" in _postbuild_array(
        "instructor_server_extensions")


# --- README launch links -----------------------------------------------------------------------


def _readme() -> str:
    return (REPO / "README.md").read_text(encoding="utf-8")


def _launch_targets() -> list[str]:
    """The notebook path of every Binder link in the README, checked for the badge's prefix."""
    prefix = _launch_links().binder_prefix(_readme())
    targets = []
    for url in re.findall(r"https://mybinder\.org/v2/[^)\s\"'>]+", _readme()):
        assert url.startswith(prefix + "?"), f"{url} does not start with the badge's {prefix}"
        urlpath = parse_qs(urlsplit(url).query).get("urlpath", [""])[0]
        assert urlpath.startswith("lab/tree/"), f"{url}: urlpath must open lab/tree/<notebook>"
        targets.append(unquote(urlpath.removeprefix("lab/tree/")))
    return targets


def test_badge_opens_lesson_one_in_jupyterlab() -> None:
    badge = _launch_links().BADGE.search(_readme())
    assert badge, "README.md has no Binder badge"
    assert re.fullmatch(r"https://mybinder\.org/v2/gh/[\w.-]+/[\w.-]+/[\w./-]+", badge["url"])
    assert badge.group(0).endswith("?urlpath=lab/tree/lessons/01_neuron.ipynb)")
    title_end = _readme().index("\n", _readme().index("# "))
    assert _readme().index(badge.group(0)) < _readme().index("\n## "), "badge not under the title"
    assert title_end < _readme().index(badge.group(0))


def test_every_launch_link_opens_a_notebook_that_exists() -> None:
    targets = _launch_targets()
    assert len(targets) >= 2
    missing = [t for t in targets if not (REPO / t).is_file() or not t.endswith(".ipynb")]
    assert not missing, f"README launch links to missing notebooks: {missing}"


def test_every_lesson_and_exercise_has_a_launch_link() -> None:
    links = _launch_links()
    notebooks = links.lesson_notebooks(REPO) + links.exercise_notebooks(REPO)
    unlinked = sorted(set(notebooks) - set(_launch_targets()))
    assert not unlinked, (f"no Binder launch link in README.md for {unlinked}: "
                          "run python binder/launch_links.py")


def test_launch_table_is_up_to_date() -> None:
    links = _launch_links()
    assert links.current_table(_readme()) == links.render_table(REPO, _readme()), (
        "README.md's launch table is out of date: run python binder/launch_links.py")


# --- the build, replayed -----------------------------------------------------------------------


def _copy_repository(target: Path) -> None:
    """The repository as repo2docker copies it, minus local environments and caches."""
    top_level = {".venv", ".git", "test-artifacts", "data", "build", "dist", "gradebook.db"}
    anywhere = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".ruff_cache",
                ".hypothesis"}

    def ignore(folder: str, names: list[str]) -> set[str]:
        skip = {n for n in names if n in anywhere or n.endswith(".egg-info")}
        if Path(folder).resolve() == REPO.resolve():
            skip |= top_level & set(names)
        return skip

    shutil.copytree(REPO, target, ignore=ignore, symlinks=True)
    (target / ".git").mkdir()  # repo2docker's copy has the history: postBuild must drop it
    (target / ".git" / "HEAD").write_text("ref: refs/heads/main\n")


def _offline_requirements(target: Path) -> None:
    """binder/requirements.txt with torch's CPU pin as the locally cached torch==<version>."""
    lines = []
    for line in (BINDER / "requirements.txt").read_text(encoding="utf-8").splitlines():
        if line.strip().startswith("--extra-index-url"):
            continue
        if re.match(r"torch==", line.strip()):
            version = Version(line.strip().removeprefix("torch==").split()[0])
            line = f"torch=={version.public}"
            assert _constraint("torch").contains(Version(version.public))
        lines.append(line)
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")


#: Days the replay's wheelhouse is reused before it is fetched again from the package index.
WHEELHOUSE_DAYS = 7


def _wheelhouse(python: Path, requirements: Path) -> Path:
    """A folder holding a wheel of every package ``requirements`` resolves to.

    Kept in ``~/.cache/nncourse/binder-wheels/<hash of the requirements and the Python>`` and
    fetched again (``pip wheel``, through the package index) when it is older than
    `WHEELHOUSE_DAYS` or the requirements change. Resolved through the index, the install
    took 30 s on a good day and made the whole replay last up to 504 s on a slow one; from the
    wheelhouse it is the 36 s of unpacking, whatever the index does.
    """
    version = subprocess.run([str(python), "-c", "import sys; print(sys.version)"],
                             capture_output=True, text=True, check=True).stdout
    key = hashlib.sha256(requirements.read_bytes() + version.encode()).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = cache / "nncourse" / "binder-wheels" / key
    complete = folder / "COMPLETE"
    if complete.is_file() and time.time() - complete.stat().st_mtime < WHEELHOUSE_DAYS * 86400:
        return folder
    partial = folder.with_name(f"{key}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    fetch = subprocess.run([str(python), "-m", "pip", "wheel", "--quiet", "--wheel-dir",
                            str(partial), "-r", str(requirements)],
                           capture_output=True, text=True, timeout=1500)
    assert fetch.returncode == 0, fetch.stdout[-3000:] + fetch.stderr[-5000:]
    (partial / "COMPLETE").write_text(requirements.read_text(encoding="utf-8"), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return folder


def _fill_answers(student: Path, solution: Path, target: Path) -> None:
    """The student notebook with each answer cell replaced by the instructor's answer."""
    answers = {}
    for cell in json.loads(solution.read_text(encoding="utf-8"))["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            lines = "".join(cell["source"]).splitlines()
            answers[meta["grade_id"]] = "\n".join(
                line for line in lines
                if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
    notebook = json.loads(student.read_text(encoding="utf-8"))
    filled = 0
    for cell in notebook["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            cell["source"] = answers[meta["grade_id"]]
            filled += 1
    assert filled, f"{student} has no answer cells"
    target.write_text(json.dumps(notebook, indent=1), encoding="utf-8")


@pytest.mark.slow
def test_binder_build_runs_a_lesson_and_validates_an_exercise(tmp_path: Path) -> None:
    repo, venv, instructor = tmp_path / "repo", tmp_path / "venv", tmp_path / "instructor"
    _copy_repository(repo)
    exercise_dir = repo / "exercises" / "01_perceptron"
    students = sorted(exercise_dir.glob("*.ipynb"))
    solutions = {p.name: p for p in (repo / "solutions" / "01_perceptron").glob("*.ipynb")}
    if students and students[0].name in solutions:
        instructor.mkdir()
        shutil.copy2(solutions[students[0].name], instructor / students[0].name)

    # The environment: a fresh venv, as repo2docker's Python gets requirements.txt.
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    assert "include-system-site-packages = false" in (venv / "pyvenv.cfg").read_text()
    requirements = tmp_path / "requirements.txt"
    _offline_requirements(requirements)
    bindir = venv / "bin"
    wheels = _wheelhouse(bindir / "python", requirements)
    install = subprocess.run(
        # --no-compile: byte-compiling every installed module up front took 40 of the install's
        # 80 s; Python compiles what the test imports as it goes.
        [str(bindir / "python"), "-m", "pip", "install", "--quiet", "--no-compile",
         "--no-index", "--find-links", str(wheels), "-r", str(requirements)],
        capture_output=True, text=True, timeout=1500)
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-5000:]

    # Run as repo2docker would: from the repository root, with the environment's bin first on
    # PATH, and nothing from this test run's environment leaking in.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NNLIB_", "NNCOURSE_", "JUPYTER", "PYTHON", "VIRTUAL_ENV"))
           and k not in ("REPO_DIR", "IPYTHONDIR", "MPLCONFIGDIR")}
    own_bin = str(Path(sys.prefix) / "bin")
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != own_bin]
    env["PATH"] = os.pathsep.join([str(bindir), *path])
    env["VIRTUAL_ENV"] = str(venv)
    for var, sub in (("JUPYTER_CONFIG_DIR", "jupyter-config"), ("JUPYTER_DATA_DIR", "jupyter-data"),
                     ("JUPYTER_RUNTIME_DIR", "jupyter-runtime"), ("IPYTHONDIR", "ipython"),
                     ("MPLCONFIGDIR", "matplotlib")):
        env[var] = str(tmp_path / sub)
    build_env = dict(env, NNCOURSE_ALLOW_POSTBUILD="1")
    mnist = all((SHARED_MNIST / name).is_file() for name in MNIST_FILES)
    if mnist:
        build_env["NNCOURSE_MNIST_SOURCE"] = str(SHARED_MNIST)
    else:
        build_env["NNCOURSE_SKIP_MNIST"] = "1"
    build = subprocess.run(["./binder/postBuild"], cwd=repo, env=build_env, capture_output=True,
                           text=True, timeout=900)
    assert build.returncode == 0, build.stdout[-5000:] + build.stderr[-5000:]

    # What a student must not find.
    for gone in ("solutions", "tests", ".git"):
        assert not (repo / gone).exists(), f"postBuild left {gone}/ in the image"
    assert (repo / "lessons").is_dir() and (repo / "exercises").is_dir()
    if mnist:
        assert sorted(p.name for p in (repo / "data" / "mnist").iterdir()) == sorted(MNIST_FILES)

    def run(*command: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(["./binder/start", *command], cwd=repo, env=env,
                              capture_output=True, text=True, timeout=timeout)
        output = done.stdout[-4000:] + done.stderr[-4000:]
        assert done.returncode == 0, f"{command} failed:\n{output}"
        return done

    # nnlib is installed (from anywhere) and, through binder/start, finds MNIST offline.
    check = run("python", "-c", """if True:
        import os, nnlib
        print(nnlib.__file__)
        print(os.environ["NNLIB_DATA_DIR"])
        if os.path.isdir(os.environ["NNLIB_DATA_DIR"]):
            from nnlib.data import load_mnist
            d = load_mnist(download=False, offline_fallback=False, verbose=False)
            print(d.source, len(d.x_train), len(d.x_test))
    """)
    lines = check.stdout.split("\n")
    assert Path(lines[0]).is_relative_to(repo / "nnlib"), lines[0]
    assert Path(lines[1]) == repo.resolve() / "data" / "mnist"
    if mnist:
        assert lines[2] == "full 60000 10000"

    # nbgrader: instructor side off (and locked in the UI), student side on.
    listed = run("jupyter", "server", "extension", "list")
    listing = ANSI.sub("", listed.stdout + listed.stderr)
    states = dict(re.findall(r"(nbgrader\.server_extensions\.\w+) (enabled|disabled)", listing))
    assert states.get("nbgrader.server_extensions.formgrader") == "disabled", listing
    assert states.get("nbgrader.server_extensions.course_list") == "disabled", listing
    assert states.get("nbgrader.server_extensions.validate_assignment") == "enabled", listing
    assert states.get("nbgrader.server_extensions.assignment_list") == "enabled", listing
    page_config = json.loads((venv / "etc" / "jupyter" / "labconfig" / "page_config.json")
                             .read_text(encoding="utf-8"))
    for plugin in ("formgrader", "create-assignment", "course-list"):
        assert page_config["disabledExtensions"].get(f"@jupyter/nbgrader:{plugin}") is True
        assert page_config["lockedExtensions"].get(f"@jupyter/nbgrader:{plugin}") is True
    assert not page_config["disabledExtensions"].get("@jupyter/nbgrader:validate-assignment")
    # The kernel is this environment's Python (a bare "python" resolves through PATH to it).
    kernels = json.loads(run("jupyter", "kernelspec", "list", "--json").stdout)["kernelspecs"]
    kernel = kernels["python3"]["spec"]["argv"][0]
    assert kernel in ("python", "python3") or Path(kernel).is_relative_to(venv), kernels

    # Lesson 1 runs top to bottom in that environment.
    executed = tmp_path / "executed"
    run("jupyter", "nbconvert", "--to", "notebook", "--execute", "lessons/01_neuron.ipynb",
        f"--output-dir={executed}", "--ExecutePreprocessor.timeout=300")
    lesson = json.loads((executed / "01_neuron.ipynb").read_text(encoding="utf-8"))
    outputs = [o for c in lesson["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "lesson 1 drew no plot"

    # Exercise 1 through nbgrader validate, as the Validate button runs it.
    if not students:
        pytest.skip("exercises/01_perceptron/ has no notebook yet: lesson checked only")
    student = students[0]
    relative = str(student.relative_to(repo))
    report = run("nbgrader", "validate", relative).stdout
    assert "VALIDATION FAILED" in report, f"the unanswered notebook passed:\n{report}"
    if not instructor.is_dir():
        pytest.skip(f"no solutions/01_perceptron/{student.name} to answer the exercise with")
    _fill_answers(student, instructor / student.name, student)
    report = run("nbgrader", "validate", relative).stdout
    assert "Success! Your notebook passes all the tests." in report, report
