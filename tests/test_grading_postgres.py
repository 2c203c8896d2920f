"""The grading workflow against a real PostgreSQL server started here on 127.0.0.1.

PostgreSQL comes from Debian's package (installed with apt-get when missing and running as
root); the test is skipped, saying why, where it cannot be installed or started.
"""

from __future__ import annotations

import contextlib
import glob
import io
import os
import pwd
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import classroom as cr
import pytest

from nncourse import cli
from nncourse.nbgrader_api import Course

A = "01_perceptron"


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _install() -> str | None:
    """Install PostgreSQL if needed; return why it is unavailable, or None."""
    if _bin("initdb") and _bin("pg_ctl"):
        return None
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "PostgreSQL is not installed and cannot be installed (needs root and apt-get)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    result = subprocess.run(["apt-get", "install", "-y", "postgresql"], capture_output=True,
                            text=True, env=env, timeout=600)
    if result.returncode != 0 or not _bin("initdb"):
        return f"apt-get install postgresql failed: {result.stderr.strip()[-300:]}"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    why = _install()
    if why:
        pytest.skip(why)
    pytest.importorskip("psycopg2", reason="psycopg2-binary (dev extra) is not installed")
    import psycopg2

    data = tmp_path_factory.mktemp("pg") / "data"
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user to run the server")
        data.mkdir()
        os.chown(data, user.pw_uid, user.pw_gid)
        for parent in data.parents:
            if str(parent) in ("/", "/tmp"):
                break
            os.chmod(parent, os.stat(parent).st_mode | 0o711)
        prefix = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    run = subprocess.run([*prefix, _bin("initdb"), "-D", str(data), "-U", "grader",
                          "--auth=trust", "-E", "UTF8"], capture_output=True, text=True)
    if run.returncode != 0:
        pytest.skip(f"initdb failed: {run.stderr[-300:]}")
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1"
    run = subprocess.run([*prefix, _bin("pg_ctl"), "-D", str(data), "-o", options, "-w", "-t",
                          "60", "-l", str(data / "log"), "start"], capture_output=True, text=True)
    if run.returncode != 0:
        pytest.skip(f"PostgreSQL did not start: {run.stderr[-300:]}")
    try:
        connection = psycopg2.connect(host="127.0.0.1", port=port, user="grader",
                                      dbname="postgres")
        connection.autocommit = True
        connection.cursor().execute("CREATE DATABASE nncourse")
        connection.close()
        yield f"postgresql://grader@127.0.0.1:{port}/nncourse"
    finally:
        subprocess.run([*prefix, _bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)


@pytest.mark.slow
def test_grade_feedback_and_report_with_a_postgresql_gradebook(
    postgres_url: str, tmp_path: Path
) -> None:
    root = tmp_path / "course"
    course = cr.make_course(root, [A])
    (root / "gradebook.db").unlink()
    cr.submit(course, "ann", A, cr.submission(course, A))
    strict = cr.entry(A, "predict_strict_threshold")
    cr.submit(course, "ben", A, cr.submission(course, A, entry_name=strict.name))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(["grade", "--course", str(root), "--db-url", postgres_url,
                         "--jobs", "2", "--no-progress"])
        assert code == 0, out.getvalue()
        assert cli.main(["report", "--course", str(root), "--db-url", postgres_url,
                         "--output", str(tmp_path / "out")]) == 0
    assert not (root / "gradebook.db").exists(), "the SQLite gradebook was used"
    pg = Course(root, db_url=postgres_url)
    assert pg.db_url.startswith("postgresql")
    assert pg.scores(A, "ann").total == 100
    assert pg.scores(A, "ben").total == cr.expected(A, strict.loses)
    rows = (tmp_path / "out" / "grades.csv").read_text().splitlines()
    assert rows == [f"student,{A}", "ann,100", f"ben,{cr.expected(A, strict.loses):g}"]
