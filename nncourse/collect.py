"""Import submissions into nbgrader's ``submitted/<student>/<assignment>/<notebook>.ipynb``.

``SOURCE`` is either

* a folder holding, per student, a sub-folder ``<student>/`` or a zip file ``<student>.zip``
  (what learning platforms export, one per student), or nbgrader's exchange folders
  ``<student>+<assignment>+<timestamp>[+<random>]/`` (the ``inbound`` folder); or
* one zip file of the whole class: a folder (or a zip) per student at its top, possibly below
  one common folder, or nbgrader's exchange layout.

Notebooks may sit at any depth inside a student's folder or zip. A notebook is placed by its
file name: the name of one of the assignments' notebooks, possibly decorated by the platform
(``perceptron (1).ipynb``, ``alice_perceptron-2.ipynb``). Where one student handed in the same
notebook more than once, the newest by time wins (the exchange folder's timestamp, else the
file's modification time or the zip member's date) and the choice is reported.

What is refused, each with its reason in the report, while everything else is placed: symbolic
links (never followed, in folders or zips); files that are not valid notebooks (not UTF-8, not
JSON, nested deeper than `MAX_NOTEBOOK_DEPTH`); zip members over `MAX_MEMBER_BYTES` (declared
or actually inflated) and zips with over `MAX_MEMBERS` files or `MAX_ZIP_BYTES` in all;
student names that become the same id once cleaned (``Anna Smith`` and ``anna_smith``); and,
inside a folder of per-student zips, a zip that holds several students' folders (collect that
zip on its own). Zip members are read in memory and written only to the computed place,
never extracted by their own path.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import os
import re
import shutil
import stat
import time
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from nncourse.nbgrader_api import Course

__all__ = [
    "MAX_MEMBERS",
    "MAX_MEMBER_BYTES",
    "MAX_NOTEBOOK_DEPTH",
    "MAX_ZIP_BYTES",
    "CollectError",
    "CollectReport",
    "collect",
    "student_id",
]

#: Largest notebook (or student's zip inside a class zip) read, bytes: declared and inflated.
MAX_MEMBER_BYTES = 50 << 20
#: Most files in one zip, or in one student's folder.
MAX_MEMBERS = 5000
#: Most bytes one zip may declare, and may inflate to, in all.
MAX_ZIP_BYTES = 2 << 30
#: Deepest nesting of JSON lists and objects accepted in a notebook.
MAX_NOTEBOOK_DEPTH = 100

_CHUNK = 1 << 20
_STUDENT_CHARS = re.compile(r"[^A-Za-z0-9_.@+-]+")
_EXCHANGE = re.compile(r"^(?P<student>[^+]+)\+(?P<assignment>[^+]+)\+(?P<timestamp>[^+]+)"
                       r"(\+[^+]*)?$")
#: Errors that reading a damaged or hostile zip raises.
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, RuntimeError,
               NotImplementedError)


class CollectError(ValueError):
    """``SOURCE`` cannot be collected at all (missing, or neither a folder nor a zip file)."""


class _Unusable(Exception):
    """A file or zip that is refused; the message says why."""


@dataclass
class CollectReport:
    """What `collect` placed, which of several submissions it kept, and what it did not place.

    ``problems`` are submissions (or whole students) not placed, each needing a look;
    ``ignored`` are files that are no submission (not a notebook).
    """

    placed: list[str] = field(default_factory=list)
    chosen: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass
class _File:
    """One file of a student's folder or zip, not read yet."""

    parts: tuple[str, ...]
    where: str
    mtime: float
    read: Callable[[], bytes]


@dataclass
class _Unit:
    """Everything one student (as the platform names them) handed in through one folder/zip."""

    student: str
    where: str
    files: list[_File]
    timestamp: float | None = None


@dataclass
class _Candidate:
    student: str
    notebook: str
    where: str
    mtime: float
    read: Callable[[], bytes]


def student_id(name: str) -> str:
    """A safe student id from a folder or file name."""
    cleaned = _STUDENT_CHARS.sub("_", name.strip()).strip("._")
    return cleaned[:100]


def _notebook_index(course: Course) -> dict[str, str]:
    """Notebook name -> assignment, over every assignment of the course."""
    index = {}
    for assignment in course.source_assignments():
        for path in (course.source_dir / assignment).glob("*.ipynb"):
            index[path.stem] = assignment
    return index


def _identify(filename: str, index: dict[str, str]) -> str | None:
    stem = Path(filename).stem.lower()
    if stem in index:
        return stem
    cleaned = re.sub(r"[\s_-]*(\(\d+\)|-\d+|copy)$", "", stem)
    if cleaned in index:
        return cleaned
    found = [name for name in index if re.search(rf"(^|[^a-z]){re.escape(name)}($|[^a-z])",
                                                 stem)]
    return max(found, key=len) if len(found) >= 1 else None


def _mib(n: float) -> str:
    return f"{n:,.0f} bytes" if n < 1 << 20 else f"{n / (1 << 20):.4g} MiB"


def _when(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


def _junk(parts: tuple[str, ...]) -> bool:
    """Platform litter, skipped without a word."""
    return any(p == "__MACOSX" or p == ".ipynb_checkpoints" or p == ".DS_Store"
               or p.startswith("._") for p in parts)


def _read_capped(stream: IO[bytes], what: str, budget: list[int] | None = None) -> bytes:
    """At most `MAX_MEMBER_BYTES` of ``stream``; refused beyond (declared sizes can lie)."""
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > MAX_MEMBER_BYTES:
            raise _Unusable(f"{what} inflates past {_mib(MAX_MEMBER_BYTES)}, the most a "
                            "submission may have")
        if budget is not None:
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise _Unusable(f"the zip inflates past {_mib(MAX_ZIP_BYTES)} in all")
        chunks.append(chunk)


def _open_regular(path: Path) -> IO[bytes]:
    """``path`` opened for reading if it is a regular file and not a symbolic link."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _Unusable(f"cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise _Unusable("not a regular file")
    return os.fdopen(fd, "rb")


def _read_file(path: Path) -> bytes:
    with _open_regular(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > MAX_MEMBER_BYTES:
            raise _Unusable(f"{_mib(size)}, more than the {_mib(MAX_MEMBER_BYTES)} a "
                            "submission may have")
        return _read_capped(handle, "the file")


def _link_note(path: Path) -> str:
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    return f"a symbolic link (to {target}); links are never followed"


# ------------------------------------------------------------------------- reading sources


def _folder_files(root: Path, label: str, report: CollectReport) -> list[_File] | None:
    """Every regular file below ``root``, links not followed; None when there are too many."""
    files: list[_File] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            report.problems.append(f"{label}/{folder.relative_to(root)}: cannot be read "
                                   f"({exc.strerror or exc})")
            continue
        for entry in entries:
            path = Path(entry.path)
            rel = path.relative_to(root)
            where = f"{label}/{rel.as_posix()}"
            if _junk(rel.parts) or (entry.name.startswith(".") and entry.is_dir(
                    follow_symlinks=False)):
                continue
            if entry.is_symlink():
                report.problems.append(f"{where}: {_link_note(path)}")
            elif entry.is_dir(follow_symlinks=False):
                stack.append(path)
            elif entry.is_file(follow_symlinks=False):
                files.append(_File(rel.parts, where, entry.stat(follow_symlinks=False).st_mtime,
                                   lambda p=path: _read_file(p)))
                if len(files) > MAX_MEMBERS:
                    report.problems.append(f"{label}: more than {MAX_MEMBERS} files; not "
                                           "collected")
                    return None
            else:
                report.ignored.append(f"{where}: not a regular file")
    return files


def _zip_time(info: zipfile.ZipInfo) -> float:
    try:
        return time.mktime((*info.date_time, 0, 0, -1))
    except (OverflowError, ValueError):
        return 0.0


def _zip_files(archive: zipfile.ZipFile, label: str, report: CollectReport) -> list[_File]:
    """The regular members of ``archive``, after checking its count and declared size."""
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise _Unusable(f"holds {len(infos)} files, more than the {MAX_MEMBERS} accepted; "
                        "not opened")
    declared = sum(info.file_size for info in infos)
    if declared > MAX_ZIP_BYTES:
        raise _Unusable(f"declares {_mib(declared)} uncompressed, more than the "
                        f"{_mib(MAX_ZIP_BYTES)} accepted; not opened")
    budget = [MAX_ZIP_BYTES]
    files: list[_File] = []
    for info in infos:
        name = info.filename.replace("\\", "/")
        parts = tuple(p for p in name.split("/") if p not in ("", "."))
        if info.is_dir() or not parts or _junk(parts):
            continue
        where = f"{label}:{name}"
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            report.problems.append(f"{where}: a symbolic link; links are never followed")
            continue
        if mode and stat.S_IFMT(mode) and not stat.S_ISREG(mode):
            report.ignored.append(f"{where}: not a regular file")
            continue

        def read(info: zipfile.ZipInfo = info) -> bytes:
            if info.file_size > MAX_MEMBER_BYTES:
                raise _Unusable(f"declares {_mib(info.file_size)}, more than the "
                                f"{_mib(MAX_MEMBER_BYTES)} a submission may have")
            try:
                with archive.open(info) as member:
                    return _read_capped(member, "the zip member", budget)
            except _ZIP_ERRORS as exc:
                raise _Unusable(f"cannot be unpacked ({type(exc).__name__}: {exc})") from None

        files.append(_File(parts, where, _zip_time(info), read))
    return files


def _open_zip(path: Path, stack: contextlib.ExitStack) -> zipfile.ZipFile:
    """``path`` opened as a zip (a regular file, not through a link), kept open by ``stack``."""
    handle = stack.enter_context(_open_regular(path))
    try:
        return stack.enter_context(zipfile.ZipFile(handle))
    except _ZIP_ERRORS as exc:
        raise _Unusable(f"not a readable zip file ({exc})") from None


def _exchange(name: str, assignments: set[str]) -> tuple[str, float | None] | None:
    """(student, submission time) of an nbgrader exchange folder name, else None."""
    match = _EXCHANGE.match(name)
    if not match or match["assignment"] not in assignments:
        return None
    try:
        from nbgrader.utils import parse_utc

        moment = parse_utc(match["timestamp"]).replace(tzinfo=datetime.UTC)
        return match["student"], moment.timestamp()
    except Exception:  # noqa: BLE001 - an unparsable timestamp: the files' own times decide
        return match["student"], None


def _strip_common_root(files: list[_File], assignments: set[str]) -> list[_File]:
    """Drop folders that hold the whole class (``export/``, ``inbound/``)."""
    while files and all(len(f.parts) >= 2 for f in files):
        tops = {f.parts[0] for f in files}
        if len(tops) != 1 or not any(len(f.parts) >= 3 for f in files):
            break
        if _exchange(next(iter(tops)), assignments):
            break
        files = [_File(f.parts[1:], f.where, f.mtime, f.read) for f in files]
    return files


def _class_units(files: list[_File], label: str, assignments: set[str],
                 report: CollectReport) -> list[_Unit]:
    """The students of a whole-class zip: its top-level folders and zips."""
    files = _strip_common_root(files, assignments)
    folders: dict[str, list[_File]] = defaultdict(list)
    units: list[_Unit] = []
    for f in files:
        if len(f.parts) >= 2:
            folders[f.parts[0]].append(_File(f.parts[1:], f.where, f.mtime, f.read))
        elif f.parts[0].lower().endswith(".zip"):
            try:
                data = f.read()
                inner = zipfile.ZipFile(io.BytesIO(data))
                units.append(_Unit(Path(f.parts[0]).stem, f.where,
                                   _zip_files(inner, f.where, report)))
            except _Unusable as exc:
                report.problems.append(f"{f.where}: {exc}")
            except _ZIP_ERRORS as exc:
                report.problems.append(f"{f.where}: not a readable zip file ({exc})")
        elif f.parts[0].lower().endswith(".ipynb"):
            report.problems.append(f"{f.where}: not inside a student's folder")
        else:
            report.ignored.append(f"{f.where}: not a student's folder or zip")
    for name, members in sorted(folders.items()):
        exchange = _exchange(name, assignments)
        student, stamp = exchange if exchange else (name, None)
        units.append(_Unit(student, f"{label}:{name}", members, stamp))
    return units


def _looks_like_class(files: list[_File], index: dict[str, str],
                      assignments: set[str]) -> list[str]:
    """The students' folders of a zip that holds a whole class (empty for one student's zip).

    A class: nbgrader exchange folders, several zips, or the same notebook in several
    top-level folders.
    """
    files = _strip_common_root(files, assignments)
    owners: dict[str, set[str]] = defaultdict(set)
    tops: set[str] = set()
    zips: set[str] = set()
    for f in files:
        if len(f.parts) == 1:
            if f.parts[0].lower().endswith(".zip"):
                zips.add(f.parts[0])
            continue
        tops.add(f.parts[0])
        notebook = _identify(f.parts[-1], index) if f.parts[-1].endswith(".ipynb") else None
        if notebook:
            owners[notebook].add(f.parts[0])
    if any(_exchange(t, assignments) for t in tops) or len(zips) >= 2:
        return sorted(tops | zips)
    if any(len(folders) >= 2 for folders in owners.values()):
        return sorted(tops)
    return []


def _units(source: Path, index: dict[str, str], assignments: set[str],
           report: CollectReport, stack: contextlib.ExitStack) -> list[_Unit]:
    """Every student's folder or zip in ``source`` (a folder, or a zip of the whole class)."""
    if not source.is_dir():
        try:
            archive = _open_zip(source, stack)
            return _class_units(_zip_files(archive, source.name, report), source.name,
                                assignments, report)
        except _Unusable as exc:
            raise CollectError(f"{source}: {exc}; give a folder of submissions or a zip "
                               "of the whole class") from None
    units: list[_Unit] = []
    try:
        entries = sorted(os.scandir(source), key=lambda e: e.name)
    except OSError as exc:
        raise CollectError(f"{source}: cannot be read ({exc.strerror or exc})") from None
    for entry in entries:
        path = Path(entry.path)
        if entry.name.startswith(".") or _junk((entry.name,)):
            continue
        if entry.is_symlink():
            report.problems.append(f"{entry.name}: {_link_note(path)}")
        elif entry.is_dir(follow_symlinks=False):
            files = _folder_files(path, entry.name, report)
            if files is not None:
                exchange = _exchange(entry.name, assignments)
                student, stamp = exchange if exchange else (entry.name, None)
                units.append(_Unit(student, entry.name, files, stamp))
        elif entry.name.lower().endswith(".zip"):
            try:
                files = _zip_files(_open_zip(path, stack), entry.name, report)
            except _Unusable as exc:
                report.problems.append(f"{entry.name}: {exc}")
                continue
            students = _looks_like_class(files, index, assignments)
            if students:
                shown = ", ".join(students[:5]) + (", ..." if len(students) > 5 else "")
                report.problems.append(
                    f"{entry.name}: holds the folders of {len(students)} students ({shown}), "
                    f"not one student's work; collect it on its own: nncourse collect {path}")
                continue
            units.append(_Unit(path.stem, entry.name, files))
        elif entry.name.lower().endswith(".ipynb"):
            report.problems.append(f"{entry.name}: not a folder or zip file of a student")
        else:
            report.ignored.append(f"{entry.name}: not a folder or zip file of a student")
    return units


# ------------------------------------------------------------------------------ choosing


def _depth(value: object) -> int:
    """The deepest nesting of lists and dicts in a JSON value (without recursion)."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if deepest > MAX_NOTEBOOK_DEPTH:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _notebook_problem(content: bytes) -> str | None:
    """Why ``content`` is not a notebook that can be graded, or None when it is one."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return "not a notebook (not UTF-8 text)"
    try:
        nb = json.loads(text)
    except RecursionError:
        return f"not a notebook (JSON nested deeper than {MAX_NOTEBOOK_DEPTH} levels)"
    except ValueError as exc:
        return f"not a notebook (not valid JSON: {str(exc)[:80]})"
    if _depth(nb) > MAX_NOTEBOOK_DEPTH:
        return f"not a notebook (JSON nested deeper than {MAX_NOTEBOOK_DEPTH} levels)"
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return "not a notebook (no list of cells)"
    if nb.get("nbformat") != 4:
        return f"a notebook of format {str(nb.get('nbformat'))[:10]}, not 4"
    return None


def _candidates(units: list[_Unit], index: dict[str, str],
                report: CollectReport) -> dict[str, list[_Candidate]]:
    """Notebook candidates per student id, after refusing ids that collide."""
    by_raw: dict[str, list[_Candidate]] = defaultdict(list)
    found: dict[str, list[str]] = defaultdict(list)  # raw name -> where it came from
    flagged: set[str] = set()  # raw names with a notebook no assignment has
    for unit in units:
        found[unit.student].append(unit.where)
        for f in unit.files:
            name = f.parts[-1]
            if not name.lower().endswith(".ipynb"):
                report.ignored.append(f"{f.where}: not a notebook")
                continue
            notebook = _identify(name, index)
            if notebook is None:
                report.problems.append(f"{f.where}: no assignment has a notebook called {name}")
                flagged.add(unit.student)
                continue
            mtime = unit.timestamp if unit.timestamp is not None else f.mtime
            by_raw[unit.student].append(_Candidate(unit.student, notebook, f.where, mtime,
                                                   f.read))
    ids: dict[str, list[str]] = defaultdict(list)  # casefolded id -> raw names
    for raw in found:
        sid = student_id(raw)
        if not sid:
            report.problems.append(f"{', '.join(found[raw])}: no usable student id in {raw!r}")
            continue
        ids[sid.casefold()].append(raw)
    result: dict[str, list[_Candidate]] = {}
    for raws in ids.values():
        if len(raws) > 1:
            names = " and ".join(f"{r!r} ({', '.join(found[r])})" for r in sorted(raws))
            cleaned = ", ".join(sorted({student_id(r) for r in raws}))
            report.problems.append(f"{names}: the same student once cleaned ({cleaned}); "
                                   "none of them placed, rename all but one")
            continue
        (raw,) = raws
        if not by_raw.get(raw):
            if raw not in flagged:
                report.problems.append(f"{', '.join(found[raw])}: no notebook of the course "
                                       "in it")
            continue
        result[student_id(raw)] = by_raw[raw]
    return result


def _existing_students(course: Course) -> dict[str, str]:
    """Casefolded name -> name of the students already in submitted/."""
    with contextlib.suppress(OSError):
        return {e.name.casefold(): e.name for e in os.scandir(course.submitted_dir)}
    return {}


def collect(course: Course, source: Path, replace: bool = True) -> CollectReport:
    """Place every submission found in ``source``; report what was chosen and not placed.

    Raises `CollectError` when ``source`` is missing or neither a folder nor a zip file.
    """
    source = Path(source)
    if not source.exists():
        raise CollectError(f"{source}: no such file or folder")
    report = CollectReport()
    index = _notebook_index(course)
    assignments = set(course.source_assignments())
    chosen: dict[tuple[str, str], tuple[bytes, str]] = {}
    existing = _existing_students(course)
    with contextlib.ExitStack() as stack:
        units = _units(source, index, assignments, report, stack)
        if not units and not report.problems:
            report.problems.append(f"{source}: no submissions in it")
        for student, candidates in sorted(_candidates(units, index, report).items()):
            clash = existing.get(student.casefold(), student)
            if clash != student:
                report.problems.append(
                    f"{student} ({candidates[0].where}): {course.submitted_dir.name}/{clash} "
                    "already exists, a name that differs only by case; not placed")
                continue
            by_notebook: dict[str, list[_Candidate]] = defaultdict(list)
            for c in candidates:
                by_notebook[c.notebook].append(c)
            for notebook, group in sorted(by_notebook.items()):
                group.sort(key=lambda c: (c.mtime, c.where), reverse=True)
                kept = _first_usable(group, student, report)
                if kept is None:
                    continue
                content, winner = kept
                chosen[(student, notebook)] = (content, winner.where)
                if len(group) > 1:
                    report.chosen.append(_choice(student, index[notebook], notebook, winner,
                                                 group))
    cleared: set[Path] = set()
    for (student, notebook), (content, where) in sorted(chosen.items()):
        folder = course.submitted_dir / student / index[notebook]
        if replace and folder.exists() and folder not in cleared:
            shutil.rmtree(folder)
        cleared.add(folder)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{notebook}.ipynb"
        if target.is_symlink():
            target.unlink()
        target.write_bytes(content)
        report.placed.append(f"{where} -> {folder.relative_to(course.root)}/{notebook}.ipynb")
    return report


def _first_usable(group: list[_Candidate], student: str,
                  report: CollectReport) -> tuple[bytes, _Candidate] | None:
    """The newest candidate that reads as a notebook; the others that do not, reported."""
    for candidate in group:
        try:
            content = candidate.read()
        except _Unusable as exc:
            report.problems.append(f"{candidate.where}: skipped for {student}: {exc}")
            continue
        problem = _notebook_problem(content)
        if problem:
            report.problems.append(f"{candidate.where}: skipped for {student}: {problem}")
            continue
        return content, candidate
    return None


def _choice(student: str, assignment: str, notebook: str, winner: _Candidate,
            group: list[_Candidate]) -> str:
    others = [c for c in group if c is not winner]
    which = "the newest" if winner is group[0] else "the newest readable one"
    line = (f"{student}/{assignment}/{notebook}.ipynb: kept {winner.where} "
            f"({_when(winner.mtime)}), {which} of {len(group)}; not used: "
            + ", ".join(f"{c.where} ({_when(c.mtime)})" for c in others))
    if any(c.mtime == winner.mtime for c in others):
        line += " (same time: kept the last by name; check by hand)"
    return line

