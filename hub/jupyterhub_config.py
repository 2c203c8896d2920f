"""JupyterHub for a classroom of this course: each student and instructor logs in with a local
account of the machine and gets JupyterLab, running as that account, with nbgrader's exchange.

Start it as root (it starts servers as other users), from the course's environment:

    sudo NNCOURSE_INSTRUCTORS="alice" NNCOURSE_STUDENTS="bob carol" \
        .venv/bin/jupyterhub -f hub/jupyterhub_config.py

Everything an installation changes is read from environment variables (defaults in brackets):

    NNCOURSE_INSTRUCTORS   local accounts that teach: hub admins, full nbgrader   [none]
    NNCOURSE_STUDENTS      local accounts that learn: nbgrader's student side only [none]
    NNCOURSE_EXCHANGE      nbgrader's exchange folder, mode 1777   [/srv/nbgrader/exchange]
    NNCOURSE_COURSE_ID     the course's id in the exchange and gradebook        [nncourse]
    NNCOURSE_COURSE_DIR    each instructor's course folder (a checkout of this  [~/course]
                           repository, or a copy of nbgrader_config.py and
                           solutions/), relative to their home, for the formgrader
    NNCOURSE_HUB_IP        address the hub listens on                           [127.0.0.1]
    NNCOURSE_HUB_PORT      its port (the only one users connect to)             [8000]
    NNCOURSE_HUB_API_PORT  internal: the hub's API on 127.0.0.1                 [8081]
    NNCOURSE_PROXY_API_PORT  internal: the proxy's API on 127.0.0.1             [8001]
    NNCOURSE_HUB_STATE     folder for the hub's database, cookie secret, proxy  [/srv/jupyterhub]
                           pid file (created, mode 0700)
    NNCOURSE_HUB_AUTH      "pam" (the accounts' own passwords) or "shared"      [pam]
                           (one password for all: NNCOURSE_HUB_PASSWORD for
                           students, NNCOURSE_HUB_ADMIN_PASSWORD for instructors;
                           for trials and tests, never for a real class)
    NNCOURSE_HUB_PYTHON    the Python that runs each user's server; every       [the hub's own]
                           account must be able to execute it and read its
                           packages (jupyterhub, jupyterlab, nbgrader, nnlib)
    NNCOURSE_CHP           configurable-http-proxy (npm) to run                 [found on PATH]

Student servers get hub/student/ and hub/jupyter/ on JUPYTER_CONFIG_PATH: hub/student/ switches
off nbgrader's instructor side (formgrader, course list, create-assignment), as binder/postBuild
does on Binder; hub/jupyter/nbgrader_config.py points nbgrader at the exchange. Instructors get
hub/jupyter/ only. The instructor's workflow (release, collect, grade, feedback) is in README.md,
"A classroom on JupyterHub"; tests/test_jupyterhub.py runs it end to end with this file.
"""

import os
import pwd
import sys
from pathlib import Path

c = get_config()  # noqa: F821 - provided by traitlets when JupyterHub loads this file

HUB_DIR = Path(__file__).resolve().parent
env = os.environ.get


def _names(variable: str) -> set[str]:
    return set(env(variable, "").replace(",", " ").split())


instructors = _names("NNCOURSE_INSTRUCTORS")
students = _names("NNCOURSE_STUDENTS")
exchange = env("NNCOURSE_EXCHANGE", "/srv/nbgrader/exchange")
course_id = env("NNCOURSE_COURSE_ID", "nncourse")

# --- the hub itself ----------------------------------------------------------------------------
c.JupyterHub.ip = env("NNCOURSE_HUB_IP", "127.0.0.1")
c.JupyterHub.port = int(env("NNCOURSE_HUB_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(env("NNCOURSE_HUB_API_PORT", "8081"))
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{env('NNCOURSE_PROXY_API_PORT', '8001')}"
state = Path(env("NNCOURSE_HUB_STATE", "/srv/jupyterhub"))
state.mkdir(mode=0o700, parents=True, exist_ok=True)
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(state / "jupyterhub-proxy.pid")
if env("NNCOURSE_CHP"):
    c.ConfigurableHTTPProxy.command = [env("NNCOURSE_CHP")]
# Behind a TLS-terminating reverse proxy, or with c.JupyterHub.ssl_cert/ssl_key: see
# https://jupyterhub.readthedocs.io/en/stable/tutorial/getting-started/security-basics.html

# --- who may log in ----------------------------------------------------------------------------
c.Authenticator.allowed_users = instructors | students
c.Authenticator.admin_users = instructors
if env("NNCOURSE_HUB_AUTH", "pam") == "shared":
    c.JupyterHub.authenticator_class = "shared-password"
    c.SharedPasswordAuthenticator.user_password = env("NNCOURSE_HUB_PASSWORD", "")
    c.SharedPasswordAuthenticator.admin_password = env("NNCOURSE_HUB_ADMIN_PASSWORD", "")
else:
    # The default: the local accounts' passwords, checked through PAM (the hub runs as root).
    c.JupyterHub.authenticator_class = "pam"

# --- each user's server: JupyterLab, started as the user's local account ----------------------
# LocalProcessSpawner (JupyterHub's default) runs the command below with the account's uid,
# gid, HOME and USER, in its home folder.
c.JupyterHub.spawner_class = "localprocess"
python = env("NNCOURSE_HUB_PYTHON") or sys.executable
c.Spawner.cmd = [python, "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
# A first start imports JupyterLab, nbgrader and their extensions: slow on a small machine.
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180
c.Spawner.environment = {
    "NNCOURSE_EXCHANGE": exchange,
    "NNCOURSE_COURSE_ID": course_id,
    # The exercises need no network at run time (nnlib falls back to its MNIST sample).
    "NNLIB_OFFLINE": env("NNLIB_OFFLINE", "1"),
}


def _role_config(spawner) -> None:  # noqa: ANN001 - a jupyterhub Spawner
    """Students get nbgrader's student side only; instructors all of it, on their course."""
    folders = [HUB_DIR / "jupyter"]
    extra = {}
    if spawner.user.name in instructors:
        home = pwd.getpwnam(spawner.user.name).pw_dir
        course = os.path.join(home, env("NNCOURSE_COURSE_DIR", "course").removeprefix("~/"))
        extra["NNCOURSE_COURSE_DIR"] = course
    else:
        folders.insert(0, HUB_DIR / "student")
    spawner.environment = {**spawner.environment, **extra,
                           "JUPYTER_CONFIG_PATH": os.pathsep.join(map(str, folders))}


c.Spawner.pre_spawn_hook = _role_config
