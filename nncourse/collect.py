"""Import submissions into nbgrader's ``submitted/<student>/<assignment>/<notebook>.ipynb``.

``SOURCE`` is a folder holding, per student, either a sub-folder ``<student>/`` or a zip file
``<student>.zip`` (what learning platforms export, one per student); notebooks may sit at any
depth inside. A notebook is placed by its file name: the name of one of the assignments'
notebooks, possibly decorated by the platform (``perceptron (1).ipynb``,
``alice_perceptron-2.ipynb``). Zip members are read in memory and written only to the
computed place, never extracted by their own path.
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from nncourse.nbgrader_api import Course

__all__ = ["CollectReport", "collect"]

_MAX_BYTES = 50 << 20
_STUDENT_CHARS = re.compile(r"[^A-Za-z0-9_.@+-]+")


@dataclass
class CollectReport:
    """What `collect` placed and what it could not."""

    placed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


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


def _members(source: Path) -> Iterator[tuple[str, str, bytes | None, str]]:
    """(student, file name, content or None, where) for every file of every student."""
    for entry in sorted(source.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            for path in sorted(entry.rglob("*")):
                if path.is_file() and ".ipynb_checkpoints" not in path.parts:
                    size = path.stat().st_size
                    content = path.read_bytes() if size <= _MAX_BYTES else None
                    yield entry.name, path.name, content, str(path.relative_to(source))
        elif entry.suffix.lower() == ".zip":
            try:
                with zipfile.ZipFile(entry) as archive:
                    for info in archive.infolist():
                        name = info.filename
                        if info.is_dir() or "__MACOSX" in name or ".ipynb_checkpoints" in name:
                            continue
                        where = f"{entry.name}:{name}"
                        if info.file_size > _MAX_BYTES:
                            yield entry.stem, Path(name).name, None, where
                        else:
                            yield entry.stem, Path(name).name, archive.read(info), where
            except (zipfile.BadZipFile, OSError) as exc:
                yield entry.stem, "", None, f"{entry.name}: not a readable zip file ({exc})"
        else:
            yield "", entry.name, None, f"{entry.name}: not a folder or zip file of a student"


def collect(course: Course, source: Path, replace: bool = True) -> CollectReport:
    """Place every submission found in ``source``; report what could not be placed."""
    report = CollectReport()
    index = _notebook_index(course)
    chosen: dict[tuple[str, str], tuple[bytes, str]] = {}
    for raw_student, filename, content, where in _members(source):
        if not raw_student:
            report.problems.append(where)
            continue
        if not filename:
            report.problems.append(where)
            continue
        student = student_id(raw_student)
        if not student:
            report.problems.append(f"{where}: no usable student id in {raw_student!r}")
            continue
        if not filename.lower().endswith(".ipynb"):
            report.problems.append(f"{where}: not a notebook")
            continue
        notebook = _identify(filename, index)
        if notebook is None:
            report.problems.append(f"{where}: no assignment has a notebook called {filename}")
            continue
        if content is None:
            report.problems.append(f"{where}: larger than {_MAX_BYTES >> 20} MB")
            continue
        try:
            json.loads(content.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            report.problems.append(f"{where}: not valid notebook JSON (placed anyway; it "
                                   "will score 0)")
        key = (student, notebook)
        if key in chosen:
            report.problems.append(f"{where}: a second {notebook}.ipynb for {student}; kept "
                                   f"{chosen[key][1]}")
            continue
        chosen[key] = (content, where)
    cleared: set[Path] = set()
    for (student, notebook), (content, where) in sorted(chosen.items()):
        folder = course.submitted_dir / student / index[notebook]
        if replace and folder.exists() and folder not in cleared:
            shutil.rmtree(folder)
        cleared.add(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{notebook}.ipynb").write_bytes(content)
        report.placed.append(f"{where} -> {folder.relative_to(course.root)}/{notebook}.ipynb")
    return report
