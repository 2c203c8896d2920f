"""End to end: a classroom on a real JupyterHub, with real local accounts, in a real browser.

The hub is the course's own, hub/jupyterhub_config.py (JupyterHub from PyPI, pinned in
constraints.txt; configurable-http-proxy from npm, CHP_VERSION below, installed into a cache
folder on first use), on 127.0.0.1 and free ports. The test only sets that file's environment
variables: who teaches and who learns, the ports, a temporary state folder and exchange, and
the Python each user's server runs with. It needs root (it creates accounts and the hub starts
servers as them); without root, useradd, npm or Chromium it skips and says why.

1. Three local accounts are created with useradd (``nnchub<random><role>``, random passwords,
   homes in a temporary folder) and removed at the end, whatever happens; the hub logs them in
   through PAM, its default (SharedPasswordAuthenticator when PAM cannot check a password here).
2. The instructor, as that account, copies the course into a folder of their home, generates
   the release with ``nncourse release`` and publishes 01_perceptron to nbgrader's exchange (a
   temporary folder, mode 1777) with ``nbgrader release_assignment``.
3. Each student, in Chromium, logs in on the hub's login page; the hub starts their JupyterLab
   as their account; they open Nbgrader > Assignment List and press Fetch. Answers are then
   written into the fetched notebook through the Jupyter contents API of the student's own
   server, with the browser's session (typing every cell through the editor is what
   tests/test_browser.py does; here it would only add minutes): one student gets the reference
   answers of solutions/, the other the catalogue entry WRONG_ENTRY of tests/grading/. Then the
   student presses Submit in the Assignments tab.
4. The instructor collects (``nbgrader collect``), autogrades (``nncourse grade``), generates
   and releases feedback (``nbgrader generate_feedback`` and ``release_feedback``).
5. Each student presses Fetch Feedback in the Assignments tab and opens the feedback; the test
   reads the expected score, and for the wrong answer the catalogue's diagnosis, in it.

Screenshots of every step are kept under the test's tmp_path (their paths are printed) and
copied to $NNCOURSE_SCREENSHOTS when it names a folder. Marked slow and browser.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import classroom  # noqa: E402
import test_grading as tg  # noqa: E402
from test_browser import CHROMIUM_ARGS, _chromium  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.browser]

REPO = Path(__file__).resolve().parent.parent
HUB_CONFIG = REPO / "hub" / "jupyterhub_config.py"
ASSIGNMENT = "01_perceptron"
NOTEBOOK = classroom.notebook_name(ASSIGNMENT)
WRONG_ENTRY = "predict_strict_threshold"
CHP_VERSION = "5.3.0"  # configurable-http-proxy, from npm
USER_PREFIX = "nnchub"
TIMEOUT_MS = 120_000


# --- accounts ----------------------------------------------------------------------------------


def _run(command: list[str], *, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} exited with {done.returncode}:\n"
                             f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def _user_pids(name: str) -> list[int]:
    done = subprocess.run(["ps", "-o", "pid=", "-u", name], capture_output=True, text=True)
    return [int(pid) for pid in done.stdout.split()]


def _remove_user(name: str) -> None:
    """Stop what is left of the account's processes (the hub's servers, their kernels: all
    started by this test), then delete the account and its group."""
    with contextlib.suppress(KeyError):
        pwd.getpwnam(name)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in _user_pids(name):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + 5
            while _user_pids(name) and time.monotonic() < deadline:
                time.sleep(0.1)
        subprocess.run(["userdel", "--force", name], capture_output=True, timeout=60)


def _remove_stale_users() -> None:
    """Accounts left by an earlier run that was killed: ours by prefix, their home gone."""
    for entry in pwd.getpwall():
        if entry.pw_name.startswith(USER_PREFIX) and not Path(entry.pw_dir).exists():
            _remove_user(entry.pw_name)


@dataclass
class Account:
    name: str
    password: str
    home: Path

    def run(self, python_bin: Path, env: dict[str, str], *args: str, cwd: Path,
            timeout: float = 300) -> str:
        """Run a command as this account (runuser), with only ``env`` and a PATH starting at
        ``python_bin``; return its output, or fail with it."""
        environment = {"HOME": str(self.home), "USER": self.name, "LOGNAME": self.name,
                       "PATH": f"{python_bin}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
                       **env}
        command = ["runuser", "-u", self.name, "--", "env", "-i",
                   *(f"{k}={v}" for k, v in environment.items()), *args]
        done = _run(command, cwd=cwd, timeout=timeout)
        return done.stdout + done.stderr


def _create_account(name: str, homes: Path) -> Account:
    home = homes / name
    _run(["useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/bash",
          "--user-group", "--comment", "nncourse JupyterHub test", name])
    password = secrets.token_urlsafe(12)
    _run(["chpasswd"], input=f"{name}:{password}\n")
    # No "get Jupyter news?" toast over the screenshots (JupyterLab's user settings).
    settings = home / ".jupyter/lab/user-settings/@jupyterlab/apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}), encoding="utf-8")
    _run(["chown", "-R", f"{name}:{name}", str(home)])
    return Account(name, password, home)


# --- the Python each account runs --------------------------------------------------------------


def _can_run(account: Account, python: Path) -> bool:
    probe = "import jupyterhub.singleuser, jupyterlab, nbgrader, nncourse, nnlib"
    done = subprocess.run(["runuser", "-u", account.name, "--", str(python), "-c", probe],
                          capture_output=True, text=True, timeout=120, cwd="/")
    return done.returncode == 0


def _reachable_copy(source: Path, target: Path) -> None:
    """``source`` (an interpreter's prefix) copied to ``target``, as hard links where it can
    (instant, no space), without its site-packages and test suite."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    skip = {source / "lib" / version / "site-packages", source / "lib" / version / "test"}

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, target, symlinks=True, copy_function=link,
                    ignore=lambda folder, names: [n for n in names if Path(folder, n) in skip])
    (target / "lib" / version / "site-packages").mkdir()


def _shim_environment(work: Path) -> Path:
    """A Python every account can run, with this environment's packages; its bin folder.

    This environment's interpreter lives where other accounts cannot go (pyenv under /root): its
    prefix is copied (hard links) into ``work``, and a virtual environment made from the copy
    reads this environment's site-packages (a .pth file), data files (share/: JupyterLab and its
    extensions) and config (etc/: the enabled server extensions). ``bin/python`` and this
    environment's commands (nbgrader, alembic, nncourse, ...) are small sh scripts that run them
    with it, with LD_LIBRARY_PATH set for an interpreter whose libpython is found by an absolute
    RUNPATH under the unreachable prefix.
    """
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    base, venv = work / "python-base", work / "python"
    _reachable_copy(Path(sys.base_prefix), base)
    _run([str(base / "bin" / version), "-m", "venv", "--without-pip", str(venv)])
    site_packages = venv / "lib" / version / "site-packages"
    paths = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    (site_packages / "nncourse-test-env.pth").write_text(
        "".join(f"import site; site.addsitedir({p!r})\n" for p in paths), encoding="utf-8")
    for name in ("share", "etc"):
        if (Path(sys.prefix) / name).is_dir():
            (venv / name).symlink_to(Path(sys.prefix) / name)
    bin_dir = venv / "bin"
    interpreter = bin_dir / version  # the venv's link to the copied interpreter

    def wrapper(path: Path, *command: str) -> None:
        path.unlink(missing_ok=True)
        path.write_text(
            "#!/bin/sh\n"
            f'LD_LIBRARY_PATH="{base / "lib"}${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}" '
            f'exec {" ".join(shlex.quote(c) for c in command)} "$@"\n')
        path.chmod(0o755)

    for name in ("python", "python3"):
        wrapper(bin_dir / name, str(interpreter))
    for script in Path(sysconfig.get_path("scripts")).iterdir():
        if (bin_dir / script.name).exists() or not script.is_file():
            continue
        with contextlib.suppress(UnicodeDecodeError, OSError):
            first = script.read_text(encoding="utf-8").partition("\n")[0]
            if first.startswith("#!") and "python" in first:
                wrapper(bin_dir / script.name, str(interpreter), str(script))
    return bin_dir


def _user_python(account: Account, work: Path) -> Path:
    """The bin folder of a Python that ``account`` can run with the course's packages: this
    environment's own when the account can execute it, else `_shim_environment`."""
    if _can_run(account, Path(sys.executable)):
        return Path(sys.executable).parent
    bin_dir = _shim_environment(work)
    if not _can_run(account, bin_dir / "python"):
        pytest.skip(f"no Python that other accounts can run with this environment's packages: "
                    f"{sys.executable} is not executable by {account.name}, nor a copy of it "
                    "with this environment's site-packages (is the checkout readable by all?)")
    return bin_dir


# --- configurable-http-proxy -------------------------------------------------------------------


def _proxy() -> str:
    """configurable-http-proxy CHP_VERSION: $NNCOURSE_CHP, else from the cache folder, where
    npm installs it on first use."""
    if os.environ.get("NNCOURSE_CHP"):
        return os.environ["NNCOURSE_CHP"]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nncourse"
    prefix = cache / f"configurable-http-proxy-{CHP_VERSION}"
    command = prefix / "node_modules" / ".bin" / "configurable-http-proxy"
    if not command.is_file():
        if shutil.which("npm") is None or shutil.which("node") is None:
            pytest.skip("configurable-http-proxy (JupyterHub's proxy) is installed with npm, "
                        "and npm or node is not on PATH here: apt-get install -y npm, or set "
                        "NNCOURSE_CHP to a configurable-http-proxy command")
        prefix.mkdir(parents=True, exist_ok=True)
        _run(["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
              "--loglevel=error", f"configurable-http-proxy@{CHP_VERSION}"], timeout=600)
    version = _run([str(command), "--version"]).stdout.strip()
    assert version == CHP_VERSION, f"{command} is version {version}, not {CHP_VERSION}"
    return str(command)


# --- the hub -----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pam_works(account: Account) -> bool:
    try:
        import pamela

        pamela.authenticate(account.name, account.password, service="login")
    except Exception:  # noqa: BLE001 - no PAM, or it cannot read passwords here
        return False
    return True


@dataclass
class Classroom:
    base: str
    instructor: Account
    students: list[Account]
    python_bin: Path
    course: Path
    env: dict[str, str]  # for the instructor's commands
    log: Path
    shots: Path
    saved: list[Path] = field(default_factory=list)

    def instructor_run(self, *args: str, timeout: float = 300) -> str:
        return self.instructor.run(self.python_bin, self.env, *args, cwd=self.course,
                                   timeout=timeout)

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]


def _wait_for_hub(base: str, hub: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 90
    while True:
        if hub.poll() is not None:
            pytest.fail(f"JupyterHub exited with {hub.returncode}:\n{log.read_text()[-6000:]}")
        try:
            with urllib.request.urlopen(f"{base}/hub/api/", timeout=5) as answer:
                if json.load(answer).get("version"):
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"JupyterHub did not answer at {base} in 90 s:\n{log.read_text()[-6000:]}")
        time.sleep(0.3)


def _stop(process: subprocess.Popen, timeout: float = 30) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Classroom]:
    if sys.platform != "linux" or os.geteuid() != 0:
        pytest.skip("needs root on Linux: creates local accounts, and JupyterHub starts each "
                    "user's server as that account")
    for tool in ("useradd", "userdel", "chpasswd", "runuser", "ps"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    pytest.importorskip("jupyterhub", reason="JupyterHub (pip install -c constraints.txt -e "
                        "'.[dev]')")
    pytest.importorskip("playwright.sync_api", reason="the playwright package")
    _chromium()
    began = time.monotonic()
    proxy = _proxy()
    _remove_stale_users()

    # Outside pytest's tmp_path, which other accounts cannot enter (mode 0700).
    work = Path(tempfile.mkdtemp(prefix="nncourse-hub-"))
    work.chmod(0o755)
    homes, exchange, state = work / "home", work / "exchange", work / "state"
    homes.mkdir(mode=0o755)
    exchange.mkdir()
    exchange.chmod(0o1777)  # as nbgrader's docs set up /srv/nbgrader/exchange
    tag = secrets.token_hex(3)
    names = [f"{USER_PREFIX}{tag}{role}" for role in ("i", "a", "b")]
    accounts: list[Account] = []
    hub_process = None
    log = tmp_path_factory.mktemp("hub") / "jupyterhub.log"
    try:
        for name in names:
            accounts.append(_create_account(name, homes))
        instructor, *students = accounts
        python_bin = _user_python(instructor, work)
        print(f"\nhub test: accounts {', '.join(names)}; servers run {python_bin / 'python'}")

        # The instructor's course folder: the config and the assignment's source.
        course = instructor.home / "course"
        (course / "solutions").mkdir(parents=True)
        shutil.copy2(REPO / "nbgrader_config.py", course)
        shutil.copytree(REPO / "solutions" / ASSIGNMENT, course / "solutions" / ASSIGNMENT,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        _run(["chown", "-R", f"{instructor.name}:{instructor.name}", str(course)])

        port = _free_port()
        hub_env = {
            "NNCOURSE_INSTRUCTORS": instructor.name,
            "NNCOURSE_STUDENTS": " ".join(s.name for s in students),
            "NNCOURSE_EXCHANGE": str(exchange),
            "NNCOURSE_COURSE_ID": "nncourse",
            "NNCOURSE_HUB_IP": "127.0.0.1",
            "NNCOURSE_HUB_PORT": str(port),
            "NNCOURSE_HUB_API_PORT": str(_free_port()),
            "NNCOURSE_PROXY_API_PORT": str(_free_port()),
            "NNCOURSE_HUB_STATE": str(state),
            "NNCOURSE_HUB_PYTHON": str(python_bin / "python"),
            "NNCOURSE_CHP": proxy,
        }
        if not _pam_works(instructor):
            print("hub test: PAM cannot check passwords here; using SharedPasswordAuthenticator")
            shared = secrets.token_urlsafe(12)
            hub_env |= {"NNCOURSE_HUB_AUTH": "shared", "NNCOURSE_HUB_PASSWORD": shared,
                        "NNCOURSE_HUB_ADMIN_PASSWORD": secrets.token_urlsafe(12)}
            for student in students:
                student.password = shared
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("NNCOURSE_", "JUPYTER", "JPY_"))}
        env |= hub_env
        with open(log, "w", encoding="utf-8") as out:
            hub_process = subprocess.Popen(
                [sys.executable, "-m", "jupyterhub", "-f", str(HUB_CONFIG)], cwd=work,
                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        _wait_for_hub(base, hub_process, log)
        print(f"hub test: JupyterHub up at {base} after {time.monotonic() - began:.0f} s")

        instructor_env = {
            "JUPYTER_CONFIG_PATH": str(REPO / "hub" / "jupyter"),
            "NNCOURSE_EXCHANGE": str(exchange),
            "NNCOURSE_COURSE_ID": "nncourse",
            "NNLIB_OFFLINE": "1",
            "OMP_NUM_THREADS": "1",
            "MPLBACKEND": "Agg",
        }
        shots = tmp_path_factory.mktemp("screenshots")
        yield Classroom(base, instructor, students, python_bin, course, instructor_env, log,
                        shots)
    finally:
        if hub_process is not None:
            _stop(hub_process)  # the hub stops the users' servers and the proxy on its way out
            pid_file = state / "jupyterhub-proxy.pid"
            with contextlib.suppress(OSError, ValueError, ProcessLookupError):
                os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
        for account in accounts:
            _remove_user(account.name)
        for name in names:  # an account whose creation failed half-way
            _remove_user(name)
        shutil.rmtree(work, ignore_errors=True)
        left = [e.pw_name for e in pwd.getpwall() if e.pw_name in names]
        assert not left, f"test accounts not removed: {left}"


# --- the browser -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(hub: Classroom) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _shot(hub: Classroom, page, name: str) -> None:
    path = hub.shots / f"{name}.png"
    page.screenshot(path=str(path))
    hub.saved.append(path)
    print(f"screenshot: {path}")
    if os.environ.get("NNCOURSE_SCREENSHOTS"):
        folder = Path(os.environ["NNCOURSE_SCREENSHOTS"])
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, folder / path.name)


class Session:
    """One user's browser session on the hub (a student's, or the instructor's)."""

    def __init__(self, hub: Classroom, browser, account: Account, label: str) -> None:
        self.hub, self.account, self.label = hub, account, label
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.server = f"{hub.base}/user/{account.name}"

    def shot(self, step: str) -> None:
        _shot(self.hub, self.page, f"{self.label}_{step}")

    def log_in(self) -> None:
        """Submit the hub's login form (the hub then starts the server; see `wait_for_lab`)."""
        page = self.page
        page.goto(f"{self.hub.base}/hub/login")
        page.locator("input[name=username]").fill(self.account.name)
        page.locator("input[name=password]").fill(self.account.password)
        self.shot("01_login")
        page.locator("form [type=submit]").click()

    def wait_for_lab(self) -> None:
        page = self.page
        try:  # the hub starts the server (as the account), then redirects to its JupyterLab
            page.wait_for_url(f"{self.server}/lab**", timeout=180_000)
            page.locator(".lm-MenuBar-item", has_text="Nbgrader").wait_for()
        except Exception as exc:
            self.shot("01_login_failed")
            pytest.fail(f"{self.account.name} did not get JupyterLab after logging in "
                        f"(at {page.url}): {exc}\nhub log:\n{self.hub.log_tail()}")
        self.shot("02_lab")

    def open_assignments(self) -> None:
        page = self.page
        page.locator(".lm-MenuBar-item", has_text="Nbgrader").click()
        page.locator(".lm-Menu-item", has_text="Assignment List").first.click()
        page.locator("#assignments").wait_for()
        self._wait_loaded()

    def _wait_loaded(self) -> None:
        for name in ("released", "fetched", "submitted"):
            self.page.locator(f"#{name}_assignments_list_loading").wait_for(state="hidden")

    def row(self, section: str):
        return self.page.locator(f"#{section}_assignments_list > .list_item",
                                 has_text=ASSIGNMENT)

    def refresh(self) -> None:
        self.page.locator("#refresh_assignments_list").click()
        self._wait_loaded()

    def api(self, method: str, path: str, data: dict | None = None) -> dict:
        """The contents API of the student's own server, with the browser's session."""
        url = f"{self.server}/api/contents/{path}"
        xsrf = next((c["value"] for c in self.context.cookies(url) if c["name"] == "_xsrf"), "")
        answer = self.page.request.fetch(url, method=method, headers={"X-XSRFToken": xsrf},
                                         data=json.dumps(data) if data is not None else None)
        assert answer.ok, f"{method} {url}: {answer.status} {answer.text()[:2000]}"
        return answer.json()

    def close(self) -> None:
        self.context.close()


def _answers(label: str, fetched: dict) -> dict:
    """The fetched notebook with the student's answers in it."""
    answers = classroom.reference_answers(ASSIGNMENT)
    catalogued: frozenset[str] = frozenset()
    if label == "wrong":
        entry = classroom.entry(ASSIGNMENT, WRONG_ENTRY)
        answers |= dict(entry.answers)
        catalogued = frozenset(cell for cell, _ in entry.answers)
    return tg.build_submission(fetched, answers, catalogued)


def _fetch_answer_submit(student: Session) -> None:
    student.open_assignments()
    student.row("released").wait_for()
    student.shot("03_assignments_released")
    student.row("released").get_by_role("button", name="Fetch").click()
    student.row("fetched").wait_for()
    student.shot("04_fetched")

    path = f"{ASSIGNMENT}/{NOTEBOOK}.ipynb"
    fetched = student.api("GET", f"{path}?content=1")["content"]
    student.api("PUT", path, {"type": "notebook", "format": "json",
                              "content": _answers(student.label, fetched)})
    student.row("fetched").get_by_role("button", name="Submit").click()
    try:
        student.row("submitted").wait_for()
    except Exception:
        student.shot("05_submit_failed")
        raise
    student.shot("05_submitted")


def _expected(label: str) -> tuple[float, float]:
    total = classroom.expected(ASSIGNMENT, set())
    if label == "right":
        return total, total
    return classroom.expected(ASSIGNMENT, classroom.entry(ASSIGNMENT, WRONG_ENTRY).loses), total


def _fetch_feedback(student: Session) -> str:
    """Fetch Feedback in the Assignments tab, follow "view feedback" to the feedback folder,
    open the feedback page in JupyterLab; return the page's text (read from the server)."""
    student.refresh()
    row = student.row("submitted")
    row.get_by_role("button", name="Fetch Feedback").click()
    link = row.get_by_text("(view feedback)")
    try:
        link.wait_for()
    except Exception:
        student.shot("06_fetch_feedback_failed")
        raise
    student.shot("06_feedback_fetched")
    link.click()  # nbgrader: the file browser goes to the feedback folder
    page = student.page
    html_file = page.locator(".jp-DirListing-item", has_text=f"{NOTEBOOK}.html")
    html_file.wait_for()
    folder = page.evaluate("() => document.querySelector('.jp-FileBrowser-crumbs').innerText")
    student.shot("07_feedback_folder")
    html_file.dblclick()  # JupyterLab's HTML viewer
    page.locator(".jp-HTMLViewer iframe").wait_for()
    page.frame_locator(".jp-HTMLViewer iframe").locator("body").get_by_text(
        "Score", exact=False).first.wait_for()
    student.shot("08_feedback_opened")

    # The same page as the student's server serves it (what "Open in New Browser Tab" shows).
    listing = student.api("GET", f"{ASSIGNMENT}/feedback")["content"]
    (stamp,) = [item["name"] for item in listing if item["type"] == "directory"]
    url = f"{student.server}/files/{ASSIGNMENT}/feedback/{stamp}/{NOTEBOOK}.html"
    tab = student.context.new_page()
    tab.goto(url)
    _shot(student.hub, tab, f"{student.label}_09_feedback_page")
    text = tab.locator("body").inner_text()
    if student.label == "wrong":  # where the feedback says what went wrong
        says = classroom.entry(ASSIGNMENT, WRONG_ENTRY).says
        pattern = re.compile("|".join(map(re.escape, says)), re.IGNORECASE)
        tab.get_by_text(pattern).first.scroll_into_view_if_needed()
        _shot(student.hub, tab, f"{student.label}_10_feedback_diagnosis")
    tab.close()
    assert stamp in folder or "feedback" in folder, folder
    return text


def _formgrader(instructor: Session, students: dict[str, Session]) -> None:
    """The instructor's formgrader (on in their server, on their course) lists the grades.

    JupyterHub (4.1 on) sends every page of a user's server with ``frame-ancestors 'none'``,
    so that one user's server cannot frame another's on the same origin; JupyterLab's
    Nbgrader > Formgrader tab, an iframe, therefore stays empty ("refused to connect"), and
    nbgrader's documentation has instructors open the formgrader in a browser tab of its own,
    as here (README.md, "A classroom on JupyterHub").
    """
    page = instructor.page
    answer = page.goto(f"{instructor.server}/formgrader")
    assert answer is not None and answer.ok, answer and answer.status
    policy = answer.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in policy, f"the hub lets pages be framed: {policy!r}"
    try:
        page.get_by_role("link", name=ASSIGNMENT).first.wait_for(timeout=60_000)
    except Exception:
        instructor.shot("10_formgrader_assignments_failed")
        pytest.fail("the formgrader does not list the assignment:\n"
                    f"{page.locator('body').inner_text(timeout=5_000)[:3000]}")
    instructor.shot("10_formgrader_assignments")
    page.goto(f"{instructor.server}/formgrader/manage_submissions/{ASSIGNMENT}")
    for label, student in students.items():
        score, total = _expected(label)
        row = page.locator("tr", has_text=student.account.name)
        try:
            row.get_by_text(f"{score:g} / {total:g}").wait_for()
        except Exception:
            instructor.shot("11_formgrader_submissions_failed")
            pytest.fail(f"the formgrader does not show {score:g} / {total:g} for the {label} "
                        f"student:\n{page.locator('body').inner_text()[:3000]}")
    instructor.shot("11_formgrader_submissions")


def test_classroom_on_jupyterhub(hub: Classroom, browser) -> None:
    started = time.monotonic()

    def took(step: str) -> None:
        print(f"hub test: {step} done at {time.monotonic() - started:.0f} s")

    # 1. The instructor releases assignment 1 into the exchange while the students log in
    #    (the hub starts their servers meanwhile).
    def release() -> None:
        out = hub.instructor_run("nncourse", "release", ASSIGNMENT)
        assert "no solution or hidden test" in out, out
        out = hub.instructor_run("nbgrader", "release_assignment", ASSIGNMENT)
        assert f"Released as: nncourse {ASSIGNMENT}" in out, out
        took("release")

    students: dict[str, Session] = {}
    instructor = Session(hub, browser, hub.instructor, "instructor")
    with ThreadPoolExecutor(max_workers=1) as pool:
        released = pool.submit(release)
        try:
            for label, account in zip(("right", "wrong"), hub.students, strict=True):
                students[label] = Session(hub, browser, account, label)
                students[label].log_in()
            instructor.log_in()
            for session in (*students.values(), instructor):
                session.wait_for_lab()
            took("logins")
        finally:
            released.result(timeout=600)
    try:
        # 2. Each student fetches, answers and submits in their own JupyterLab.
        for student in students.values():
            _fetch_answer_submit(student)
            took(f"{student.label} student's submission")
        # The student view: nbgrader's instructor side is off (hub/student/).
        page = students["right"].page
        answer = page.request.get(f"{students['right'].server}/formgrader")
        assert answer.status == 404, f"a student's server serves the formgrader ({answer.status})"

        # 3. The instructor collects, grades, and releases feedback.
        out = hub.instructor_run("nbgrader", "collect", ASSIGNMENT)
        for student in hub.students:
            assert f"Collecting submission: {student.name} {ASSIGNMENT}" in out, out
        out = hub.instructor_run("nncourse", "grade", ASSIGNMENT, "--jobs", "2",
                                 "--no-progress", timeout=600)
        print(out)
        for label, student in students.items():
            score, total = _expected(label)
            assert re.search(rf"^{student.account.name}\s+{score:g}/{total:g}\s*$", out,
                             re.MULTILINE), f"{label} student: expected {score:g}/{total:g}:\n{out}"
        took("collect and grade")
        hub.instructor_run("nbgrader", "generate_feedback", ASSIGNMENT)
        out = hub.instructor_run("nbgrader", "release_feedback", ASSIGNMENT)
        for student in hub.students:
            assert f"Releasing feedback for student '{student.name}'" in out, out
        took("feedback generated and released")
        _formgrader(instructor, students)
        took("instructor's formgrader")

        # 4. Each student fetches the feedback and reads their score and diagnosis.
        for label, student in students.items():
            text = _fetch_feedback(student)
            score, total = _expected(label)
            assert re.search(rf"Score:\s*{score:.1f}\s*/\s*{total:.1f}", text), (
                f"{label} student: no 'Score: {score:.1f} / {total:.1f}' in the feedback:\n"
                f"{text[:3000]}")
            if label == "wrong":
                says = classroom.entry(ASSIGNMENT, WRONG_ENTRY).says
                assert any(s.lower() in text.lower() for s in says), (
                    f"the diagnosis {says} is not in the feedback:\n{text[:6000]}")
            took(f"{label} student's feedback")
    finally:
        for session in (*students.values(), instructor):
            session.close()
    print("screenshots:\n" + "\n".join(map(str, hub.saved)))
