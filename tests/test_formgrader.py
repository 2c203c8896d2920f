"""In a real browser: after `nncourse grade`, a written answer is graded by hand in the Formgrader.

A temporary course grades alice's reference submission of assignment 02 (activations, with one
hand-graded written answer) with ``nncourse grade --jobs 1``. A Jupyter server with nbgrader's
formgrader extension (on 127.0.0.1, a free port, a random token, isolated Jupyter folders,
started in the course so that it reads the course's ``nbgrader_config.py``) serves it, and
Debian's Chromium, through Playwright, goes Manual Grading -> the assignment's notebook ->
alice's submission, types a score for the written answer and leaves the field, which saves it.
Then the gradebook holds that manual score, the total counts it, and nbgrader's
``generate_feedback`` (through its Python API) shows it. Screenshots go to
test-artifacts/formgrader/ (gitignored).

Marked `browser` and `slow`; skips without Chromium or Playwright (see tests/test_browser.py).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import classroom as cr
import pytest
from test_browser import _chromium, _free_port

from nncourse import cli
from nncourse.nbgrader_api import Course

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.filterwarnings("ignore::Warning")]

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts" / "formgrader"
A = "02_activations"
NB = "activations"
WRITTEN = "answer_choosing_activations"
SCORE = 7.5
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Course:
    """The course with alice's submission, not graded yet (`server` grades it)."""
    course = cr.make_course(tmp_path_factory.mktemp("course"), [A])
    cr.submit(course, "alice", A, cr.submission(course, A))
    return course


def _grade(course: Course) -> None:
    code = cli.main(["grade", "--course", str(course.root), "--jobs", "1", "--no-progress"])
    assert code == 0


@pytest.fixture(scope="module")
def server(course: Course, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A Jupyter server with the formgrader, in the course; yields its base URL and token.

    The course is graded while the server starts (the formgrader reads the gradebook and the
    autograded notebooks only when a page asks for them).
    """
    home = tmp_path_factory.mktemp("jupyter")
    env = dict(os.environ)
    for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                     ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython")):
        (home / sub).mkdir()
        env[var] = str(home / sub)
    env.pop("JUPYTER_TOKEN", None)
    (home / "config" / "jupyter_server_config.json").write_text(json.dumps(
        {"ServerApp": {"jpserver_extensions": {"nbgrader.server_extensions.formgrader": True}}}))
    port, token = _free_port(), secrets.token_hex(16)
    command = [sys.executable, "-m", "jupyter", "server", "--no-browser",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={course.root}"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log_path = home / "server.log"
    with open(log_path, "w", encoding="utf-8") as log:
        # cwd = the course: the formgrader reads nbgrader_config.py from the server's cwd.
        process = subprocess.Popen(command, cwd=course.root, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _grade(course)
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"jupyter server exited with {process.returncode}:\n"
                            f"{log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    pytest.fail(f"jupyter server did not answer in 60 s:\n{log_path.read_text()}")
                time.sleep(0.3)
        yield {"base": base, "token": token, "log": str(log_path)}
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def page(server: dict[str, str]) -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package")
    executable = _chromium()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        yield context.new_page()
        context.close()
        browser.close()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


def test_a_written_answer_graded_in_the_formgrader(course: Course, server, page) -> None:
    from nbgrader.api import Gradebook

    base, token = server["base"], server["token"]
    with Gradebook(course.db_url) as gb:
        before = gb.find_grade(WRITTEN, NB, A, "alice")
        assert before.needs_manual_grade and before.manual_score is None
        submission_id = gb.find_submission_notebook(NB, A, "alice").id

    # Manual Grading -> the assignment -> its notebook -> the (only) submission.
    page.goto(f"{base}/formgrader/gradebook?token={token}")
    page.click(f"a[href$='/formgrader/gradebook/{A}']")
    page.click(f"a[href$='/formgrader/gradebook/{A}/{NB}']")
    link = page.locator(f"a[href$='/formgrader/submissions/{submission_id}']").first
    link.wait_for()
    _shot(page, "1-submissions")
    link.click()
    score = page.locator(f"input.score#{WRITTEN}")
    score.wait_for()
    score.scroll_into_view_if_needed()
    _shot(page, "2-submission")
    assert "needs_manual_grade" in (score.get_attribute("class") or "")

    with page.expect_response(lambda r: "/formgrader/api/grade/" in r.url
                              and r.request.method == "PUT") as saved:
        score.fill(str(SCORE))
        score.press("Tab")  # leaving the field saves it
    assert saved.value.ok, saved.value.text()
    page.locator(".score-saved").first.wait_for(state="attached")
    _shot(page, "3-saved")

    with Gradebook(course.db_url) as gb:
        grade = gb.find_grade(WRITTEN, NB, A, "alice")
        assert grade.manual_score == SCORE and not grade.needs_manual_grade
        assert gb.find_submission(A, "alice").score == 90 + SCORE

    done = course.api.generate_feedback(A, "alice")  # nbgrader's own API, in this process
    assert done["success"], done.get("error", "") + done.get("log", "")
    html = (course.root / "feedback" / "alice" / A / f"{NB}.html").read_text()
    assert f"{NB} (Score: {90 + SCORE} / 100.0)" in html
