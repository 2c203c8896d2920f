"""The `nncourse` command line: check, release, collect, grading without isolation, and
mistakes in calling it (outside a course folder, unknown assignments, a missing SOURCE).
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import classroom as cr
import pytest

from nncourse import checker, cli, release, report, rules
from nncourse.collect import collect

A = "01_perceptron"
NB = "perceptron"


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory):
    return cr.make_course(tmp_path_factory.mktemp("cli") / "course", [A])


def _nncourse(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nncourse.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


# --------------------------------------------------------------------------------- check


@pytest.mark.slow
def test_check_fails_on_the_release_and_passes_a_correct_notebook(course, tmp_path: Path) -> None:
    released = course.release_dir / A / f"{NB}.ipynb"
    run = _nncourse("check", str(released))
    assert run.returncode == 1, run.stdout + run.stderr
    assert "FAIL  test_predict" in run.stdout and "not written yet" in run.stdout
    assert "hidden_predict" in run.stdout and "graded after you submit" in run.stdout
    assert "0 of 4 visible tests passed" in run.stdout

    good = tmp_path / f"{NB}.ipynb"
    good.write_text(json.dumps(cr.submission(course, A)))
    run = _nncourse("check", str(good))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "4 of 4 visible tests passed" in run.stdout and "FAIL" not in run.stdout


def test_check_shows_the_whole_failure_message_but_no_traceback() -> None:
    message = ("forward(x) returned the wrong values.\n"
               "  expected: [0.5, 0.25]\n"
               "  found:    [0.5, 0.5]\n"
               "\n"
               "Likely mistake: the bias is added twice.")
    cell = {"outputs": [{"output_type": "stream", "name": "stdout", "text": "hello\n"},
                        {"output_type": "error", "ename": "GradingFailure", "evalue": message,
                         "traceback": ["Traceback (most recent call last)",
                                       "  File nncourse/checks.py, line 1, in assert_close"]}]}
    error = checker._error(cell)
    assert error == "GradingFailure: " + message
    text = checker.summary([
        checker.CheckResult("test_forward", "test", 5, False, error),
        checker.CheckResult("answer_forward", "answer", 0, False, "NameError: name 'W' is "
                            "not defined\nDid you run the cell above?"),
        checker.CheckResult("test_shape", "test", 2, True)])
    assert text.splitlines() == [
        "  FAIL  test_forward             5 points",
        "        GradingFailure: forward(x) returned the wrong values.",
        "          expected: [0.5, 0.25]",
        "          found:    [0.5, 0.5]",
        "",
        "        Likely mistake: the bias is added twice.",
        "  FAIL  answer_forward           the cell raised NameError: name 'W' is not defined",
        "        Did you run the cell above?",
        "  PASS  test_shape               2 points",
        "1 of 2 visible tests passed; 2 problem(s) to fix"]
    assert "Traceback" not in text and "checks.py" not in text


def test_check_cuts_a_huge_failure_message() -> None:
    evalue = "\n".join(f"line {i}" for i in range(1000))
    error = checker._error({"outputs": [{"output_type": "error", "ename": "E",
                                         "evalue": evalue, "traceback": []}]})
    lines = error.splitlines()
    assert len(lines) == rules.TRACEBACK_LINES + 1 and lines[-1] == "... (940 more lines)"


def test_check_exits_2_on_an_unreadable_notebook(tmp_path: Path) -> None:
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    assert cli.main(["check", str(broken)]) == 2


# ------------------------------------------------------------------------------- release


def test_release_regenerates_and_finds_no_leak(course) -> None:
    assert cli.main(["release", "--course", str(course.root), A]) == 0
    assert (course.release_dir / A / f"{NB}.ipynb").is_file()


def test_release_fails_when_a_solution_hides_in_cell_metadata(tmp_path: Path) -> None:
    other = cr.make_course(tmp_path / "course", [A])
    path = other.source_dir / A / f"{NB}.ipynb"
    nb = json.loads(path.read_text())
    secret = sorted(release.secret_lines(nb), key=len)[-1]
    cr.cell(nb, "answer_predict")["metadata"]["scratchpad"] = {"draft": secret}
    path.write_text(json.dumps(nb))
    out = io.StringIO()
    import contextlib

    with contextlib.redirect_stdout(out):
        assert cli.main(["release", "--course", str(other.root), A]) == 1
    assert "LEAK" in out.getvalue() and secret in out.getvalue()


def test_find_leaks_looks_at_outputs_and_attachments() -> None:
    source = cr.source(A)
    secret = sorted(release.secret_lines(source), key=len)[-1]
    clean = json.loads((cr.REPO / "exercises" / A / f"{NB}.ipynb").read_text())
    assert release.find_leaks(source, clean) == []
    leaky = cr.deepcopy(clean)
    cr.cell(leaky, "test_predict")["outputs"] = [
        {"output_type": "stream", "name": "stdout", "text": ["ok\n", "  " + secret + "\n"]}]
    problems = release.find_leaks(source, leaky)
    assert any("has outputs" in p for p in problems)
    assert any(secret in p for p in problems)
    leaky = cr.deepcopy(clean)
    leaky["cells"][0]["attachments"] = {"a.txt": {"text/plain": "x " + secret + " y"}}
    assert any(secret in p for p in release.find_leaks(source, leaky))


# ------------------------------------------------------------------------------- collect


def test_collect_places_folders_and_zips_and_reports_the_rest(course, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    nb = json.dumps(cr.submission(course, A))
    (inbox / "alice" / "work").mkdir(parents=True)
    (inbox / "alice" / "work" / f"{NB}.ipynb").write_text(nb)
    (inbox / "alice" / "readme.txt").write_text("hi")
    with zipfile.ZipFile(inbox / "Bob Smith.zip", "w") as z:
        z.writestr(f"export/{NB} (1).ipynb", nb)
        z.writestr("__MACOSX/._x", "junk")
        z.writestr("other.ipynb", nb)
    with zipfile.ZipFile(inbox / "carol.zip", "w") as z:
        z.writestr(f"../../../{NB}.ipynb", nb)  # a path outside: placed by name only
        z.writestr(f"carol_{NB}-2.ipynb", nb)  # a second copy: reported
    (inbox / "dave.zip").write_bytes(b"not a zip")
    (inbox / "stray.ipynb").write_text(nb)

    report = collect(course, inbox)
    for student in ("alice", "Bob_Smith", "carol"):
        placed = course.submitted_dir / student / A / f"{NB}.ipynb"
        assert json.loads(placed.read_text()) == json.loads(nb), student
    assert len(report.placed) == 3
    assert report.ignored == ["alice/readme.txt: not a notebook"]
    text = "\n".join(report.problems)
    assert "other.ipynb" in text and "no assignment has a notebook" in text
    assert "dave.zip" in text and "not a readable zip" in text
    assert "stray.ipynb" in text
    (chosen,) = report.chosen  # carol's two copies: one kept, the choice said
    assert chosen.startswith(f"carol/{A}/{NB}.ipynb: kept carol.zip:") and "not used" in chosen
    assert not (tmp_path / f"{NB}.ipynb").exists() and not list(tmp_path.parent.glob("*.ipynb"))


# -------------------------------------------------------------------------------- report


def test_report_csv_cells_that_look_like_formulas_are_written_as_text(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = {"=HYPERLINK(\"http://x\")": {A: 10.0}, "+1": {A: None}, "-x": {A: -2.5},
             "@SUM(A1)": {A: 0.0}, "\tx": {A: 1.0}, "\rx": {A: 1.0}, "ann": {A: 100.0}}
    monkeypatch.setattr(report, "grades_table", lambda _course: ([A, "=evil"], {
        s: {A: row[A], "=evil": None} for s, row in table.items()}))
    path = report.write_csv(None, tmp_path / "grades.csv")  # the table is given above
    rows = list(csv.reader(path.open(newline="")))
    assert rows[0] == ["student", A, "'=evil"]
    assert rows[1:] == [["'=HYPERLINK(\"http://x\")", "10", ""], ["'+1", "", ""],
                        ["'-x", "-2.5", ""], ["'@SUM(A1)", "0", ""], ["'\tx", "1", ""],
                        ["'\rx", "1", ""], ["ann", "100", ""]]


# ----------------------------------------------------------------------- grade, no sandbox


@pytest.mark.slow
def test_grade_without_isolation_warns_loudly_and_still_grades(
    course, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NNCOURSE_SANDBOX", "none")
    cr.submit(course, "ann", A, cr.submission(course, A))
    strict = cr.entry(A, "predict_strict_threshold")
    cr.submit(course, "ben", A, cr.submission(course, A, entry_name=strict.name))
    code = cli.main(["grade", "--course", str(course.root), "--jobs", "2", "--no-progress",
                     "--student", "ann", "--student", "ben"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "NOT isolated" in out and "NOT isolated" in err
    assert course.scores(A, "ann").total == 100
    assert course.scores(A, "ben").total == cr.expected(A, strict.loses)
    assert course.scores(A, "ben").autograded["hidden_predict"] == 0


@pytest.mark.parametrize("command", ["grade", "release"])
def test_an_unknown_assignment_exits_2_listing_the_known_ones(course, capsys, command) -> None:
    assert cli.main([command, "--course", str(course.root), "99_nothing"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (f"nncourse {command}: no such assignment: 99_nothing\n"
                   f"the assignments of {course.root} are: {A}\n")


# ------------------------------------------------------------------ outside a course folder


INSTRUCTOR = ["release", "collect", "grade", "feedback", "report"]


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder that is no course, the current one."""
    folder = tmp_path / "not-a-course"
    folder.mkdir()
    if cli.find_course(folder) is not None:
        pytest.skip(f"{cli.find_course(folder)} holds an nbgrader_config.py")
    monkeypatch.chdir(folder)
    return folder


@pytest.mark.parametrize("command", INSTRUCTOR)
def test_instructor_commands_outside_a_course_stop_in_one_line(
        elsewhere: Path, capsys, command: str) -> None:
    args = [command, str(elsewhere)] if command == "collect" else [command]
    assert cli.main(args) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (f"nncourse {command}: not a course folder (no nbgrader_config.py here or "
                   "above)\nrun it in the course folder, or pass --course FOLDER\n")
    assert list(elsewhere.iterdir()) == []  # no reports/ or gradebook.db written here


def test_outside_a_course_the_installed_checkout_is_not_used(elsewhere: Path) -> None:
    reports = cr.REPO / "reports"
    before = sorted(reports.rglob("*")) if reports.exists() else None
    run = _nncourse("report", cwd=elsewhere)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.startswith("nncourse report: not a course folder")
    assert (sorted(reports.rglob("*")) if reports.exists() else None) == before


def test_the_course_is_found_from_a_folder_inside_it(course, monkeypatch) -> None:
    monkeypatch.chdir(course.source_dir / A)
    args = cli.build_parser().parse_args(["report"])
    assert cli.instructor_root(args) == course.root


def test_course_option_must_name_a_course_folder(tmp_path: Path, capsys) -> None:
    assert cli.main(["grade", "--course", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (f"nncourse grade: --course {tmp_path}: not a course "
                                       "folder (no nbgrader_config.py in it)\n")


def test_collect_a_missing_source_exits_2_without_a_traceback(course) -> None:
    run = _nncourse("collect", "--course", str(course.root), "/missing")
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr == "nncourse collect: /missing: no such file or folder\n"


def test_lab_serves_the_whole_course_and_passes_jupyter_options_through(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    monkeypatch.setattr(cli, "_serve", lambda command, **kw: seen.append(command) or 0)
    monkeypatch.setattr(cli.os, "geteuid", lambda: 0)
    assert cli.main(["lab", "--no-browser", "--port=9999", "--", "--ServerApp.token=x"]) == 0
    (command,) = seen
    root = next(a for a in command if a.startswith("--ServerApp.root_dir="))
    assert Path(root.split("=", 1)[1]) == cli.course_root()  # lessons/ and exercises/ reachable
    assert "--LabApp.default_url=/lab/tree/lessons/01_neuron.ipynb" in command
    assert {"--no-browser", "--port=9999", "--ServerApp.token=x", "--allow-root"} <= set(command)
    assert "lessons/01_neuron.ipynb" not in command  # a file argument would make lessons/ root
    with pytest.raises(SystemExit):
        cli.main(["grade", "--no-such-option"])


def _lab_call(monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[list[str], dict, dict]:
    """What `nncourse lab ARGS` would start: the command, its environment, and the lab's
    page config it wrote (read while the call runs: the folder is removed after)."""
    seen: list[tuple[list[str], dict, dict]] = []

    def call(command: list[str], **kw) -> int:
        (folder,) = kw["env"]["JUPYTER_CONFIG_PATH"].split(os.pathsep)[:1]
        page = json.loads((Path(folder) / "labconfig" / "page_config.json").read_text())
        seen.append((command, kw["env"], page))
        return 0

    monkeypatch.setattr(cli, "_serve", call)
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", "/elsewhere")
    assert cli.main(["lab", *args]) == 0
    ((command, env, page),) = seen
    assert not Path(env["JUPYTER_CONFIG_PATH"].split(os.pathsep)[0]).exists()  # cleaned up
    assert env["JUPYTER_CONFIG_PATH"].split(os.pathsep)[1:] == ["/elsewhere"]  # kept, after
    return command, env, page


def test_lab_shows_students_only_the_student_side_of_nbgrader(monkeypatch) -> None:
    from nncourse import nbgrader_views as views

    command, env, page = _lab_call(monkeypatch, "--no-browser")
    switched = {a.split("=", 1)[1].rsplit("=", 1)[0]: a.rsplit("=", 1)[1] for a in command
                if a.startswith("--ServerApp.jpserver_extensions=")}
    assert switched == {**dict.fromkeys(views.STUDENT_SERVER_EXTENSIONS, "True"),
                        **dict.fromkeys(views.INSTRUCTOR_SERVER_EXTENSIONS, "False")}
    disabled = page["disabledExtensions"]
    assert disabled == {**dict.fromkeys(views.STUDENT_LAB_PLUGINS, False),
                        **dict.fromkeys(views.INSTRUCTOR_LAB_PLUGINS, True)}
    assert "@jupyter/nbgrader:formgrader" in views.INSTRUCTOR_LAB_PLUGINS
    assert "nbgrader.server_extensions.formgrader" in views.INSTRUCTOR_SERVER_EXTENSIONS
    for name, items in views.LISTS.items():  # binder/postBuild reads the same lists
        done = _nncourse_module("nncourse.nbgrader_views", name)
        assert done.stdout.split() == list(items), done.stderr


def test_lab_instructor_shows_both_sides(monkeypatch) -> None:
    command, _, page = _lab_call(monkeypatch, "--instructor", "--", "--port=9999")
    assert "--ServerApp.jpserver_extensions=nbgrader.server_extensions.formgrader=True" in command
    assert "--port=9999" in command and "--instructor" not in command
    assert not any(page["disabledExtensions"].values())


def _nncourse_module(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                          timeout=60)


@pytest.mark.slow
def test_lab_server_runs_validate_but_no_formgrader(tmp_path: Path) -> None:
    """The real `nncourse lab`, with a clean Jupyter home: what the running server offers."""
    import secrets
    import socket
    import time
    import urllib.error
    import urllib.request

    env = dict(os.environ)
    for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR",
                "JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR"):
        env[var] = str(tmp_path / var.lower())
    env.pop("JUPYTER_CONFIG_PATH", None)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    token = secrets.token_hex(8)
    log = tmp_path / "lab.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "nncourse.cli", "lab", "--no-browser",
             "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
             f"--IdentityProvider.token={token}"],
            cwd=cli.course_root(), env=env, stdout=out, stderr=subprocess.STDOUT)

    def get(path: str) -> tuple[int, str]:
        sep = "&" if "?" in path else "?"
        url = f"http://127.0.0.1:{port}{path}{sep}token={token}"
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, ""

    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, log.read_text()
            try:
                get("/api/status")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.5)
        import nbgrader

        assert get(f"/nbgrader_version?version={nbgrader.__version__}") == (
            200, '{"success": true}')  # the Validate button's server side
        assert get("/formgrader")[0] == 404
        status, html = get("/lab")
        assert status == 200
        import re

        data = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)'
                         r"</script>", html, re.DOTALL)
        assert data, html[:2000]
        disabled = set(json.loads(data.group(1))["disabledExtensions"])
        assert {f"@jupyter/nbgrader:{p}" for p in ("formgrader", "create-assignment",
                                                   "course-list")} <= disabled
        assert "@jupyter/nbgrader:validate-assignment" not in disabled
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
