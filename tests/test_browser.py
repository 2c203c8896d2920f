"""End to end, in a real browser: a student works through lesson 1 and exercise 1 in JupyterLab.

The test starts JupyterLab with the README's command (`make lab` runs `nncourse lab`), from
the environment running the tests, on 127.0.0.1, a free port and a random token (JupyterLab's
options pass through `nncourse lab`), in a temporary copy of the course (nothing in the
checkout changes) with isolated Jupyter config, data, settings and workspace folders.
`nncourse lab` gives nbgrader's student view, as on Binder. Debian's Chromium is driven through
Playwright (sync API):

1. lesson 1: Run > Run All Cells from the menu, wait for the kernel to go idle with every code
   cell executed, then check that no cell shows a traceback, that plots are rendered as images,
   and that the ipywidgets neuron responds when its w1 slider is moved with the keyboard (the
   plot it controls is redrawn);
2. exercise 1: type the solution of every answer cell into the student notebook through the
   code editor (the code comes from solutions/), press nbgrader's Validate button in the
   notebook toolbar and read "Success"; then break predict() and read the failure;
3. the course as `nncourse lab` opens it: lesson 1 first, and its Practise link opens
   exercise 1 in JupyterLab (the course folder is the server's root, so the link resolves).

Screenshots of every step go to test-artifacts/browser/ (gitignored), named by step.

Chromium: /usr/bin/chromium, installed with `apt-get install -y chromium` when it is missing and
the tests run as root; Playwright's own browser download is not used. Without a browser the test
skips and says why. Marked `browser`: deselect with `-m "not browser"`.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts" / "browser"
LESSON = "lessons/01_neuron.ipynb"
EXERCISE_DIR = "exercises/01_perceptron"
SOLUTION_DIR = REPO / "solutions" / "01_perceptron"

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
TIMEOUT_MS = 120_000  # generous: JupyterLab on two slow cores, a kernel start, nbgrader's run


# --- the browser -------------------------------------------------------------------------------


def _chromium() -> str:
    """Debian's Chromium, installed with apt-get if it is missing and we are root; else skip."""
    for candidate in (os.environ.get("NNCOURSE_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file():
            return candidate
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        pytest.skip("no Chromium at /usr/bin/chromium, and it cannot be installed here (needs "
                    "root and apt-get): run `apt-get install -y chromium` as root")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            pytest.skip(f"Chromium could not be installed ({' '.join(command)} failed):\n"
                        f"{done.stderr[-2000:]}")
    if not Path("/usr/bin/chromium").is_file():
        pytest.skip("apt-get installed the chromium package but /usr/bin/chromium is missing")
    return "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package")
    executable = _chromium()
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# --- JupyterLab --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What a student has: the lessons and the released exercises (no solutions)."""
    root = tmp_path_factory.mktemp("course")
    for name in ("lessons", "exercises"):
        shutil.copytree(REPO / name, root / name,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    for name in ("nbgrader_config.py", "README.md"):
        if (REPO / name).is_file():
            shutil.copy2(REPO / name, root / name)
    return root


@pytest.fixture(scope="module")
def lab(course: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A running JupyterLab serving `course`; yields its base URL, token and log file."""
    home = tmp_path_factory.mktemp("jupyter")
    env = dict(os.environ)
    for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                     ("JUPYTER_RUNTIME_DIR", "runtime"), ("JUPYTERLAB_SETTINGS_DIR", "settings"),
                     ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"), ("IPYTHONDIR", "ipython"),
                     ("MPLCONFIGDIR", "matplotlib")):
        (home / sub).mkdir()
        env[var] = str(home / sub)
    env.pop("JUPYTER_TOKEN", None)
    # No "get Jupyter news?" toast over the notebook.
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}), encoding="utf-8")
    # The README's command: `make lab` runs `nncourse lab` (the student view of nbgrader, the
    # course folder as the server's root, lesson 1 opened); JupyterLab's options pass through.
    port, token = _free_port(), secrets.token_hex(16)
    command = [
        str(Path(sys.executable).parent / "nncourse"), "lab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: kernel state for the waits
    ]
    log_path = home / "jupyterlab.log"
    with open(log_path, "w", encoding="utf-8") as log:
        # cwd = the course, where a student types `make lab` (nncourse finds the course there).
        server = subprocess.Popen(command, cwd=course, env=env, stdout=log,
                                  stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited with {server.returncode}:\n{log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer in 90 s:\n{log_path.read_text()}")
                time.sleep(0.5)
        yield {"base": base, "token": token, "log": str(log_path)}
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture
def page(browser, lab: dict[str, str], request: pytest.FixtureRequest) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    if errors:  # not a failure by itself, but worth seeing next to a failing step
        print(f"{request.node.name}: JavaScript errors in the page:\n" + "\n".join(errors))


# --- steps -------------------------------------------------------------------------------------


def _settle(page) -> None:
    """Let the page paint after a scroll (JupyterLab renders off-screen cells lazily)."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.wait_for_timeout(500)


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


_NOTEBOOK = "window.jupyterapp.shell.currentWidget"
_KERNEL_IDLE = f"""() => {{
    const panel = {_NOTEBOOK};
    const kernel = panel && panel.sessionContext && panel.sessionContext.session
        && panel.sessionContext.session.kernel;
    return !!kernel && kernel.status === 'idle';
}}"""


def _open_notebook(page, lab: dict[str, str], path: str) -> None:
    """Open `path` in a fresh JupyterLab page (?reset: no tabs restored) and wait for the kernel."""
    page.goto(f"{lab['base']}/lab/tree/{path}?reset&token={lab['token']}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell")
    page.wait_for_function(f"() => {_NOTEBOOK} && {_NOTEBOOK}.context.path === {json.dumps(path)}")
    page.wait_for_function(_KERNEL_IDLE)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")


def _notebook(page):
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")


def _assert_no_tracebacks(page) -> None:
    """No error output in the notebook's model, and no traceback shown in the page."""
    stderr = _notebook(page).locator(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    shown = [text for text in stderr.all_inner_texts() if "Traceback" in text]
    errors = page.evaluate(f"""() => {_NOTEBOOK}.content.widgets
        .flatMap(c => c.model.type === 'code' ? c.model.outputs.toJSON() : [])
        .filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue)""")
    assert not shown and not errors, "cells failed:\n" + "\n---\n".join(errors + shown)


def test_lesson_runs_with_plots_and_a_live_widget(page, lab) -> None:
    _open_notebook(page, lab, LESSON)
    _shot(page, "01_lesson_opened")

    # As a student would: Run > Run All Cells.
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()
    page.wait_for_function(f"""() => {{
        const cells = {_NOTEBOOK}.content.widgets.filter(c => c.model.type === 'code');
        const failed = cells.some(c => c.model.outputs.toJSON()
            .some(o => o.output_type === 'error'));
        return ({_KERNEL_IDLE})() && (failed || cells.every(c => c.model.executionCount !== null));
    }}""")
    _assert_no_tracebacks(page)
    images = _notebook(page).locator(".jp-OutputArea-output img")
    assert images.count() >= 1, "no plot was rendered"
    images.first.scroll_into_view_if_needed()
    _settle(page)
    _shot(page, "02_lesson_ran_all_cells")

    # The interactive neuron: move the w1 slider, the plot below it must change.
    interact = _notebook(page).locator(".widget-interact").first
    slider = interact.locator(".widget-hslider").first
    handle = slider.locator(".noUi-handle")
    readout = slider.locator(".widget-readout")
    plot = interact.locator(".widget-output img")
    plot.wait_for()
    handle.scroll_into_view_if_needed()
    before_value, before_src = readout.inner_text(), plot.get_attribute("src")
    _settle(page)
    _shot(page, "03_widget_before_slider_move")
    handle.focus()
    page.keyboard.press("End")  # noUiSlider's keyboard support: jump to the maximum
    page.wait_for_function(
        """([el, old]) => { const img = el.querySelector('.widget-output img');
                            return !!img && img.getAttribute('src') !== old; }""",
        arg=[interact.element_handle(), before_src],
    )
    page.wait_for_function(_KERNEL_IDLE)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")
    plot.wait_for()
    after_value = readout.inner_text()
    _settle(page)
    _shot(page, "04_widget_after_slider_move")
    assert before_value != after_value, f"the slider did not move (still {before_value})"
    assert float(after_value) == pytest.approx(4.0)
    _assert_no_tracebacks(page)


def _opened(path: str) -> str:
    """A page function: true once the current tab is the notebook at ``path``."""
    return ("() => { const app = window.jupyterapp; "  # undefined while the page loads
            "const w = app && app.shell && app.shell.currentWidget; "
            f"return !!w && !!w.context && w.context.path === {json.dumps(path)}; }}")


def test_the_lessons_practise_link_opens_the_exercise(page, lab) -> None:
    """`nncourse lab` opens lesson 1 (its default URL); its Practise link opens exercise 1."""
    page.goto(f"{lab['base']}/?token={lab['token']}")  # the URL `nncourse lab` opens
    page.wait_for_function(_opened(LESSON))
    # The Practise section is the last cell; JupyterLab renders cells as they scroll into view.
    page.evaluate(f"""async () => {{
        const notebook = {_NOTEBOOK}.content;
        notebook.activeCellIndex = notebook.widgets.length - 1;
        await notebook.scrollToItem(notebook.widgets.length - 1);
    }}""")
    link = _notebook(page).locator(".jp-RenderedMarkdown a", has_text="Exercise 1").last
    link.scroll_into_view_if_needed()
    _settle(page)
    _shot(page, "10_lesson_practise_link")
    link.click()
    exercise = f"{EXERCISE_DIR}/perceptron.ipynb"
    page.wait_for_function(_opened(exercise))
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell")
    _shot(page, "11_exercise_opened_from_the_lesson")
    assert "Assignment 1" in _notebook(page).locator(".jp-RenderedMarkdown").first.inner_text()


def _solution_code(notebook_name: str) -> dict[str, str]:
    """grade_id -> the instructor's answer (without nbgrader's solution markers)."""
    solution = json.loads((SOLUTION_DIR / notebook_name).read_text(encoding="utf-8"))
    answers = {}
    for cell in solution["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution") and cell["cell_type"] == "code":
            source = "".join(cell["source"])
            lines = [line for line in source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")]
            answers[meta["grade_id"]] = "\n".join(lines)
    return answers


def _type_into_cell(page, index: int, code: str) -> None:
    """Replace cell `index`'s text through its CodeMirror editor, as a paste would."""
    cell = _notebook(page).locator(".jp-Notebook .jp-Cell").nth(index)
    cell.scroll_into_view_if_needed()
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(code)
    page.keyboard.press("Escape")  # back to command mode
    source = f"i => {_NOTEBOOK}.content.widgets[i].model.sharedModel.getSource()"
    try:
        page.wait_for_function(f"([i, code]) => ({source})(i) === code", arg=[index, code],
                               timeout=10_000)
    except Exception:
        typed = page.evaluate(source, index)
        pytest.fail(f"the editor of cell {index} holds something else:\n{typed}")


def _validate(page) -> tuple[str, str]:
    """Press nbgrader's Validate button; return its verdict ("success", "failed" or "error")
    and the text of its result dialog."""
    _notebook(page).locator(".jp-Toolbar").get_by_text("Validate", exact=True).click()
    dialog = page.locator(".jp-Dialog").filter(has_text="Validation Results")
    body = dialog.locator(".jp-Dialog-body")
    body.wait_for()
    # Scroll nbgrader's report of a failed cell to its end, where the error message is.
    dialog.evaluate("""el => [el, ...el.querySelectorAll('*')]
        .filter(e => e.scrollHeight > e.clientHeight)
        .forEach(e => { e.scrollTop = e.scrollHeight; })""")
    _settle(page)
    # nbgrader marks its result node (the dialog body itself, or an element in it)
    classes = body.evaluate(
        "el => [el, ...el.querySelectorAll('*')].map(e => e.className).join(' ')")
    verdict = next((name for name in ("success", "failed") if f"validation-{name}" in classes),
                   "error")
    return verdict, body.inner_text()


def _close_dialog(page) -> None:
    page.locator(".jp-Dialog .jp-mod-accept").click()
    page.locator(".jp-Dialog").wait_for(state="detached")


def test_exercise_validates_a_solution_and_catches_a_bug(page, lab, course) -> None:
    notebooks = sorted((course / EXERCISE_DIR).glob("*.ipynb"))
    if not notebooks:
        pytest.skip(f"{EXERCISE_DIR} has no notebook yet")
    student = notebooks[0]
    if not (SOLUTION_DIR / student.name).is_file():
        pytest.skip(f"no solution notebook {SOLUTION_DIR / student.name} to take answers from")
    answers = _solution_code(student.name)
    cells = json.loads(student.read_text(encoding="utf-8"))["cells"]
    answer_cells = {i: c["metadata"]["nbgrader"]["grade_id"] for i, c in enumerate(cells)
                    if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    assert answer_cells, f"{student.name} has no answer cells"
    path = f"{EXERCISE_DIR}/{student.name}"

    _open_notebook(page, lab, path)
    assert _notebook(page).locator(".jp-Toolbar").get_by_text("Validate", exact=True).count() == 1
    # The student view: no instructor tools.
    assert page.get_by_text("Create Assignment").count() == 0
    _shot(page, "05_exercise_opened")

    for index, grade_id in answer_cells.items():
        _type_into_cell(page, index, answers[grade_id])
    _notebook(page).locator(".jp-Cell").nth(min(answer_cells)).scroll_into_view_if_needed()
    _settle(page)
    _shot(page, "06_exercise_answers_typed")

    verdict, message = _validate(page)
    _shot(page, "07_validate_success")
    _close_dialog(page)
    assert verdict == "success", message
    assert "Success! Your notebook passes all the tests." in message, message

    # A classic slip: > instead of >= puts points on the boundary in class 0.
    predict_cell = next(i for i, gid in answer_cells.items() if "def predict" in answers[gid])
    head, found, tail = answers[answer_cells[predict_cell]].rpartition(">= 0")
    assert found, "the answer for predict has no '>= 0' to break"
    broken = f"{head}> 0{tail}"  # the last one: the code, not the docstring
    _type_into_cell(page, predict_cell, broken)
    _settle(page)
    _shot(page, "08_exercise_predict_broken")
    verdict, message = _validate(page)
    _shot(page, "09_validate_failure")
    _close_dialog(page)
    assert verdict == "failed", message
    # The dialog names the visible test of predict, the one the slip breaks.
    assert "The following cell failed" in message and "predict" in message, message
