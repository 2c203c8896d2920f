"""`nncourse collect` on bad input: whole-class zips, duplicates, broken notebooks, zip bombs,
symbolic links, colliding names, missing sources.

Fast: the course is a copy of nbgrader_config.py with two dummy source notebooks (collect
needs only their names), nothing is generated or graded.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import struct
import time
import zipfile
from pathlib import Path

import pytest

from nncourse import cli, collect
from nncourse.nbgrader_api import CONFIG_FILE, Course

REPO = Path(__file__).resolve().parents[1]
A, NB = "01_perceptron", "perceptron"
B, NB_B = "02_activations", "activations"


def notebook(tag: str) -> str:
    """A small valid notebook that says who made it."""
    return json.dumps({"cells": [], "metadata": {"tag": tag}, "nbformat": 4,
                       "nbformat_minor": 5})


@pytest.fixture
def course(tmp_path: Path) -> Course:
    root = tmp_path / "course"
    for assignment, name in ((A, NB), (B, NB_B)):
        (root / "solutions" / assignment).mkdir(parents=True)
        (root / "solutions" / assignment / f"{name}.ipynb").write_text(notebook("source"))
    shutil.copy(REPO / CONFIG_FILE, root)
    return Course(root)


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def tag(course: Course, student: str, assignment: str = A, name: str = NB) -> str | None:
    path = course.submitted_dir / student / assignment / f"{name}.ipynb"
    return json.loads(path.read_text())["metadata"]["tag"] if path.is_file() else None


def students(course: Course) -> set[str]:
    if not course.submitted_dir.is_dir():
        return set()
    return {p.name for p in course.submitted_dir.iterdir()}


def write_zip(path: Path, members: dict[str, str | bytes],
              dates: dict[str, tuple[int, ...]] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in members.items():
            info = zipfile.ZipInfo(name, (dates or {}).get(name, (2024, 1, 1, 12, 0, 0)))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, content)
    return path


def run_cli(course: Course, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main([args[0], "--course", str(course.root), *args[1:]])
    return code, out.getvalue(), err.getvalue()


# ----------------------------------------------------------------------- whole-class zips


def test_a_whole_class_zip_among_student_zips_is_refused_not_one_student(
        course: Course, inbox: Path) -> None:
    write_zip(inbox / "whole_class.zip", {f"alice/{NB}.ipynb": notebook("alice"),
                                         f"bob/{NB}.ipynb": notebook("bob")})
    write_zip(inbox / "carol.zip", {f"{NB}.ipynb": notebook("carol")})
    code, out, _ = run_cli(course, "collect", str(inbox))
    assert code == 1, out
    assert students(course) == {"carol"}
    assert "whole_class.zip: holds the folders of 2 students (alice, bob)" in out
    assert f"nncourse collect {inbox / 'whole_class.zip'}" in out


def test_a_whole_class_zip_given_as_source_is_unpacked_into_its_students(
        course: Course, tmp_path: Path) -> None:
    source = write_zip(tmp_path / "export.zip", {
        f"Assignment 1/Anna Smith_101_assignsubmission_file_/{NB}.ipynb": notebook("anna"),
        f"Assignment 1/bob/work/{NB} (1).ipynb": notebook("bob"),
        f"Assignment 1/bob/{NB_B}.ipynb": notebook("bob-b"),
        "Assignment 1/carol.zip": write_zip(tmp_path / "carol.zip",
                                            {f"{NB}.ipynb": notebook("carol")}).read_bytes(),
        "Assignment 1/index.html": "<html>",
    })
    found = collect.collect(course, source)
    assert found.problems == []
    assert students(course) == {"Anna_Smith_101_assignsubmission_file", "bob", "carol"}
    assert tag(course, "bob") == "bob" and tag(course, "bob", B, NB_B) == "bob-b"
    assert tag(course, "carol") == "carol"
    assert any("index.html" in line for line in found.ignored)


def test_nbgrader_exchange_layout_the_newest_submission_by_its_timestamp_wins(
        course: Course, tmp_path: Path) -> None:
    # The older submission's files carry the later dates: the exchange timestamp decides.
    late, early = (2024, 3, 9, 12, 0, 0), (2024, 3, 1, 12, 0, 0)
    old = f"inbound/alice+{A}+2024-03-01 10:00:00.000000 UTC+aaa/{NB}.ipynb"
    new = f"inbound/alice+{A}+2024-03-02 10:00:00.000000 UTC+bbb/{NB}.ipynb"
    bob = f"inbound/bob+{A}+2024-03-01 09:00:00.000000 UTC+ccc/{NB}.ipynb"
    source = write_zip(tmp_path / "inbound.zip", {
        old: notebook("alice-old"), new: notebook("alice-new"), bob: notebook("bob")},
        dates={old: late, new: early})
    found = collect.collect(course, source)
    assert found.problems == []
    assert students(course) == {"alice", "bob"}
    assert tag(course, "alice") == "alice-new"
    (line,) = found.chosen
    assert line.startswith(f"alice/{A}/{NB}.ipynb: kept inbound.zip:{new}") and old in line


def test_nbgrader_exchange_folders_on_disk_give_the_student_id(course: Course,
                                                              inbox: Path) -> None:
    folder = inbox / f"dan+{A}+2024-03-01 10:00:00.000000 UTC+x1"
    folder.mkdir()
    (folder / f"{NB}.ipynb").write_text(notebook("dan"))
    found = collect.collect(course, inbox)
    assert found.problems == [] and students(course) == {"dan"}


# ------------------------------------------------------------------- two submissions, one student


def test_of_two_submissions_the_newest_by_time_wins_and_the_choice_is_reported(
        course: Course, inbox: Path) -> None:
    # In a zip: the name that sorts last is the older one.
    write_zip(inbox / "alice.zip",
              {f"{NB}.ipynb": notebook("alice-new"), f"{NB}-2.ipynb": notebook("alice-old")},
              dates={f"{NB}.ipynb": (2024, 5, 2, 9, 0, 0),
                     f"{NB}-2.ipynb": (2024, 5, 1, 9, 0, 0)})
    # In a folder: modification times decide.
    (inbox / "bob" / "v1").mkdir(parents=True)
    (inbox / "bob" / "v2").mkdir()
    (inbox / "bob" / "v1" / f"{NB}.ipynb").write_text(notebook("bob-new"))
    (inbox / "bob" / "v2" / f"{NB}.ipynb").write_text(notebook("bob-old"))
    now = time.time()
    os.utime(inbox / "bob" / "v1" / f"{NB}.ipynb", (now, now))
    os.utime(inbox / "bob" / "v2" / f"{NB}.ipynb", (now - 3600, now - 3600))
    code, out, _ = run_cli(course, "collect", str(inbox))
    assert code == 0, out
    assert tag(course, "alice") == "alice-new" and tag(course, "bob") == "bob-new"
    assert f"chose       alice/{A}/{NB}.ipynb: kept alice.zip:{NB}.ipynb (2024-05-02 09:00:00)" \
        f", the newest of 2; not used: alice.zip:{NB}-2.ipynb (2024-05-01 09:00:00)" in out
    assert f"kept bob/v1/{NB}.ipynb" in out


# ------------------------------------------------------------------------- broken notebooks


@pytest.mark.parametrize("content, reason", [
    ('{"cells": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested deeper than 100"),
    ('{"cells": [], "nbformat": 4, "x": ' + "[" * 150 + "]" * 150 + "}",
     "nested deeper than 100"),
    ("{not json", "not valid JSON"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    ('{"nbformat": 4}', "no list of cells"),
])
def test_a_broken_notebook_skips_only_that_student(course: Course, inbox: Path,
                                                   content: str | bytes, reason: str) -> None:
    for student in ("alice", "carol"):
        (inbox / student).mkdir()
        (inbox / student / f"{NB}.ipynb").write_text(notebook(student))
    write_zip(inbox / "bob.zip", {f"{NB}.ipynb": content})
    code, out, _ = run_cli(course, "collect", str(inbox))
    assert code == 1
    assert students(course) == {"alice", "carol"}
    assert f"NOT PLACED  bob.zip:{NB}.ipynb: skipped for bob: " in out and reason in out


def test_a_broken_newer_copy_falls_back_to_the_older_one_and_says_so(
        course: Course, inbox: Path) -> None:
    write_zip(inbox / "alice.zip", {f"{NB}.ipynb": notebook("alice-old"),
                                    f"{NB} (1).ipynb": "{broken"},
              dates={f"{NB} (1).ipynb": (2024, 6, 1, 0, 0, 0)})
    found = collect.collect(course, inbox)
    assert tag(course, "alice") == "alice-old"
    assert any("skipped for alice" in p and "not valid JSON" in p for p in found.problems)
    assert "the newest readable one of 2" in found.chosen[0]


# ------------------------------------------------------------------------------ zip caps


def test_a_member_declared_over_the_cap_is_refused_without_reading(
        course: Course, inbox: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(collect, "MAX_MEMBER_BYTES", 10_000)
    big = json.dumps({"cells": [], "metadata": {"pad": "x" * 20_000}, "nbformat": 4,
                      "nbformat_minor": 5})
    write_zip(inbox / "bob.zip", {f"{NB}.ipynb": big})
    write_zip(inbox / "carol.zip", {f"{NB}.ipynb": notebook("carol")})
    found = collect.collect(course, inbox)
    assert students(course) == {"carol"}
    (problem,) = found.problems
    assert problem == (f"bob.zip:{NB}.ipynb: skipped for bob: declares {len(big):,} bytes, "
                       "more than the 10,000 bytes a submission may have")


def _lie_about_size(path: Path, declared: int) -> None:
    """Rewrite the uncompressed sizes in a one-member zip's headers to ``declared``."""
    data = bytearray(path.read_bytes())
    local = data.index(b"PK\x03\x04")
    struct.pack_into("<I", data, local + 22, declared)
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, declared)
    path.write_bytes(bytes(data))


def test_a_bomb_whose_headers_lie_is_cut_while_inflating(
        course: Course, inbox: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(collect, "MAX_MEMBER_BYTES", 100_000)
    bomb = write_zip(inbox / "bob.zip", {f"{NB}.ipynb": b"[" * 5_000_000})
    assert bomb.stat().st_size < 50_000
    _lie_about_size(bomb, 1_000)
    found = collect.collect(course, inbox)
    assert students(course) == set()
    (problem, *_) = found.problems
    assert problem.startswith(f"bob.zip:{NB}.ipynb: skipped for bob: ")


def test_read_capped_stops_past_the_cap_whatever_the_header_said(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(collect, "MAX_MEMBER_BYTES", 3 << 20)
    assert collect._read_capped(io.BytesIO(b"x" * (3 << 20)), "it") == b"x" * (3 << 20)
    with pytest.raises(collect._Unusable, match="inflates past 3 MiB, the most"):
        collect._read_capped(io.BytesIO(b"x" * ((3 << 20) + 1)), "it")


def test_a_zip_with_too_many_members_is_refused(course: Course, inbox: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(collect, "MAX_MEMBERS", 10)
    write_zip(inbox / "bob.zip", {f"junk{i}.txt": "x" for i in range(11)}
              | {f"{NB}.ipynb": notebook("bob")})
    found = collect.collect(course, inbox)
    assert students(course) == set()
    assert found.problems == ["bob.zip: holds 12 files, more than the 10 accepted; not opened"]


def test_the_caps_are_sized_for_notebooks() -> None:
    assert collect.MAX_MEMBER_BYTES == 50 << 20 and 1000 <= collect.MAX_MEMBERS <= 10_000


# -------------------------------------------------------------------------- symbolic links


def test_symbolic_links_are_never_followed(course: Course, inbox: Path,
                                           tmp_path: Path) -> None:
    solution = course.source_dir / A / f"{NB}.ipynb"
    (inbox / "mallory").mkdir()
    (inbox / "mallory" / f"{NB}.ipynb").symlink_to(solution)
    (inbox / "mallory" / f"{NB_B}.ipynb").symlink_to("/etc/shadow")
    (inbox / "eve").symlink_to(solution.parent)  # a whole student folder that is a link
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / f"{NB}.ipynb").write_text(notebook("stolen"))
    (inbox / "trudy").mkdir()
    (inbox / "trudy" / "work").symlink_to(elsewhere)  # a link to a folder inside one
    with zipfile.ZipFile(inbox / "oscar.zip", "w") as z:
        info = zipfile.ZipInfo(f"{NB}.ipynb")
        info.create_system = 3
        info.external_attr = 0o120777 << 16
        z.writestr(info, str(solution))
    (inbox / "alice").mkdir()
    (inbox / "alice" / f"{NB}.ipynb").write_text(notebook("alice"))

    code, out, _ = run_cli(course, "collect", str(inbox))
    assert code == 1
    assert students(course) == {"alice"}
    for where in (f"mallory/{NB}.ipynb", f"mallory/{NB_B}.ipynb", "eve", "trudy/work",
                  f"oscar.zip:{NB}.ipynb"):
        assert f"NOT PLACED  {where}: a symbolic link" in out, where
    assert "/etc/shadow" in out  # where the link pointed, for the instructor


# --------------------------------------------------------------------------- name collisions


def test_names_that_collide_once_cleaned_are_refused_naming_both(course: Course,
                                                                 inbox: Path) -> None:
    (inbox / "Anna Smith").mkdir()
    (inbox / "Anna Smith" / f"{NB}.ipynb").write_text(notebook("anna-1"))
    write_zip(inbox / "anna_smith.zip", {f"{NB}.ipynb": notebook("anna-2")})
    write_zip(inbox / "bob.zip", {f"{NB}.ipynb": notebook("bob")})
    code, out, _ = run_cli(course, "collect", str(inbox))
    assert code == 1
    assert students(course) == {"bob"}
    assert ("NOT PLACED  'Anna Smith' (Anna Smith) and 'anna_smith' (anna_smith.zip): the same "
            "student once cleaned (Anna_Smith, anna_smith); none of them placed") in out


def test_a_name_differing_only_by_case_from_a_submitted_student_is_refused(
        course: Course, inbox: Path) -> None:
    (course.submitted_dir / "Bob" / A).mkdir(parents=True)
    write_zip(inbox / "bob.zip", {f"{NB}.ipynb": notebook("bob")})
    found = collect.collect(course, inbox)
    assert students(course) == {"Bob"}
    assert "submitted/Bob already exists" in found.problems[0]


# ------------------------------------------------------------------------------- bad sources


def test_collect_a_missing_source_says_so_in_one_line(course: Course, tmp_path: Path) -> None:
    code, out, err = run_cli(course, "collect", str(tmp_path / "missing"))
    assert code == 2 and out == ""
    assert err == f"nncourse collect: {tmp_path / 'missing'}: no such file or folder\n"


def test_collect_a_file_that_is_not_a_zip_says_so(course: Course, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    code, _, err = run_cli(course, "collect", str(tmp_path / "notes.txt"))
    assert code == 2 and "not a readable zip file" in err and "Traceback" not in err


def test_collect_an_empty_folder_exits_1(course: Course, inbox: Path) -> None:
    code, out, _ = run_cli(course, "collect", str(inbox))
    assert code == 1 and "no submissions in it" in out
