"""A thin, typed wrapper over nbgrader's Python API for this course.

The course root holds ``nbgrader_config.py`` (source directory ``solutions``, release
directory ``exercises``, gradebook URL, cell timeout). Everything here reads that file and can
override the release directory and the gradebook URL, so that tests can work in a copy of the
course without touching the real one::

    from nncourse import nbgrader_api

    nbgrader_api.generate()                      # solutions/ -> exercises/, every assignment
    course = nbgrader_api.Course("/tmp/course")  # a course folder with nbgrader_config.py
    course.submit("01_perceptron", "alice", {"perceptron": notebook})
    scores = course.autograde("01_perceptron", "alice")
    scores.autograded                            # {"test_predict": 5.0, "hidden_predict": 0.0, ...}
"""

from __future__ import annotations

import json
import os
import shutil
import sysconfig
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "CONFIG_FILE",
    "CellScore",
    "Course",
    "NbgraderError",
    "Scores",
    "driver_url",
    "generate",
    "load_config",
]

#: The configuration file nbgrader reads, at the course root.
CONFIG_FILE = "nbgrader_config.py"

PathLike = str | os.PathLike[str]


class NbgraderError(RuntimeError):
    """An nbgrader step failed; the message includes nbgrader's log."""


def _ensure_scripts_on_path() -> None:
    """Put this environment's scripts folder on PATH when it is not there.

    nbgrader runs the ``alembic`` command when it creates a gradebook; with the virtual
    environment's Python called directly (``.venv/bin/python -m pytest``, not activated), the
    command is not on PATH and creating the gradebook fails.
    """
    if shutil.which("alembic"):
        return
    scripts = sysconfig.get_path("scripts")
    if scripts and os.path.isfile(os.path.join(scripts, "alembic")):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


def load_config(
    course_dir: PathLike = ".",
    *,
    release_dir: PathLike | None = None,
    db_url: str | None = None,
) -> Any:
    """The traitlets ``Config`` of the course at ``course_dir``, with optional overrides.

    ``course_dir`` must hold `CONFIG_FILE`; the course root is set to ``course_dir`` whatever
    the file says. ``release_dir`` (absolute, or relative to the course root) replaces the
    release directory and ``db_url`` the gradebook URL.
    """
    from traitlets.config.loader import Config, PyFileConfigLoader

    root = Path(course_dir).resolve()
    if not (root / CONFIG_FILE).is_file():
        raise FileNotFoundError(f"{root / CONFIG_FILE} not found: is {root} a course folder?")
    config = Config()
    config.merge(PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config())
    config.CourseDirectory.root = str(root)
    if release_dir is not None:
        config.CourseDirectory.release_directory = str(release_dir)
    if db_url is not None:
        config.CourseDirectory.db_url = db_url
    return config


@dataclass(frozen=True)
class CellScore:
    """The score of one graded cell of a submission.

    ``kind`` is "test" for an autograded test cell and "manual" for an answer graded by hand
    (its ``score`` is None until someone grades it, or 0 when the answer was left unchanged).
    """

    notebook: str
    cell: str
    kind: str
    score: float | None
    max_score: float
    needs_manual_grade: bool


@dataclass(frozen=True)
class Scores:
    """The scores of one student's submission of one assignment, per graded cell."""

    assignment: str
    student: str
    cells: tuple[CellScore, ...]

    @property
    def autograded(self) -> dict[str, float]:
        """Score of each autograded test cell, by cell id (nbgrader's ``grade_id``)."""
        return {c.cell: float(c.score or 0.0) for c in self.cells if c.kind == "test"}

    @property
    def manual(self) -> dict[str, float | None]:
        """Score of each manually graded cell (None while it waits for a grader)."""
        return {c.cell: c.score for c in self.cells if c.kind == "manual"}

    @property
    def total(self) -> float:
        """Points scored so far (cells waiting for manual grading count as 0)."""
        return sum(float(c.score or 0.0) for c in self.cells)

    @property
    def max_total(self) -> float:
        """Points available in the assignment."""
        return sum(c.max_score for c in self.cells)


class Course:
    """A course folder (with `CONFIG_FILE`) driven through nbgrader's ``NbGraderAPI``.

    ``release_dir`` and ``db_url`` override the configuration (see `load_config`). One
    `Course` can generate assignments and autograde any number of submissions into the same
    gradebook.
    """

    def __init__(
        self,
        course_dir: PathLike = ".",
        *,
        release_dir: PathLike | None = None,
        db_url: str | None = None,
        log_level: str = "WARN",
    ) -> None:
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        _ensure_scripts_on_path()
        self.config = load_config(course_dir, release_dir=release_dir, db_url=db_url)
        self.config.CourseDirectory.db_url = driver_url(self.config.CourseDirectory.db_url)
        self.config.NbGraderAPI.log_level = log_level
        self.coursedir = CourseDirectory(config=self.config)
        self.api = NbGraderAPI(coursedir=self.coursedir, config=self.config)

    @property
    def root(self) -> Path:
        """The course root folder."""
        return Path(self.coursedir.root)

    @property
    def db_url(self) -> str:
        """The gradebook's URL."""
        return str(self.coursedir.db_url)

    def _dir(self, step: str) -> Path:
        return self.root / getattr(self.coursedir, f"{step}_directory")

    @property
    def source_dir(self) -> Path:
        """Where the source notebooks (with solutions and hidden tests) live."""
        return self._dir("source")

    @property
    def release_dir(self) -> Path:
        """Where `generate` writes the student version."""
        return self._dir("release")

    @property
    def submitted_dir(self) -> Path:
        """Where submissions are placed for autograding: ``<dir>/<student>/<assignment>/``."""
        return self._dir("submitted")

    def source_assignments(self) -> list[str]:
        """The assignments in the source directory, sorted."""
        return sorted(self.api.get_source_assignments())

    def generate(self, assignments: Iterable[str] | None = None) -> list[str]:
        """Generate the student version of ``assignments`` (default: all), replacing any old one.

        Also records each assignment (its cells and points) in the gradebook, which autograding
        needs. Returns the assignments generated.
        """
        names = self.source_assignments() if assignments is None else list(assignments)
        unknown = sorted(set(names) - set(self.source_assignments()))
        if unknown:
            raise NbgraderError(f"no such assignment in {self.source_dir}: {', '.join(unknown)}")
        self._ensure_course_row()
        for name in names:
            _check(self.api.generate_assignment(name, force=True, create=True), "generate", name)
        return names

    def _ensure_course_row(self) -> None:
        """Create the gradebook's row for this course id where nbgrader would not.

        nbgrader records assignments under the configured course id ("" by default) but only
        creates a course row for a non-empty id; SQLite does not enforce the foreign key, while
        PostgreSQL refuses the assignment.
        """
        if self.db_url.startswith("sqlite"):
            return
        from nbgrader.api import Course as CourseRow
        from nbgrader.api import Gradebook

        course_id = self.coursedir.course_id
        with Gradebook(self.db_url) as gb:
            if gb.db.query(CourseRow).filter(CourseRow.id == course_id).one_or_none() is None:
                gb.db.add(CourseRow(id=course_id))
                gb.db.commit()

    def submit(
        self, assignment: str, student: str, notebooks: Mapping[str, Any]
    ) -> Path:
        """Place a submission for autograding; return its folder.

        ``notebooks`` maps each notebook name (without ``.ipynb``) to its content: a path to a
        notebook file, or the notebook itself (a dict / ``nbformat.NotebookNode``). Anything
        previously submitted by this student for this assignment is replaced.
        """
        folder = self.submitted_dir / student / assignment
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for name, content in notebooks.items():
            target = folder / f"{name}.ipynb"
            if isinstance(content, str | os.PathLike):
                shutil.copyfile(content, target)
            else:
                target.write_text(json.dumps(content, indent=1, ensure_ascii=False) + "\n")
        return folder

    def autograde(self, assignment: str, student: str) -> Scores:
        """Autograde a submission (see `submit`) and return its scores."""
        result = self.api.autograde(assignment, student, force=True, create=True)
        _check(result, "autograde", f"{assignment} for {student}")
        return self.scores(assignment, student)

    def scores(self, assignment: str, student: str) -> Scores:
        """Read a submission's scores, per graded cell, from the gradebook."""
        from nbgrader.api import Gradebook

        cells: list[CellScore] = []
        with Gradebook(self.db_url) as gb:
            submission = gb.find_submission(assignment, student)
            for notebook in sorted(submission.notebooks, key=lambda nb: nb.name):
                answers = {cell.name for cell in notebook.notebook.solution_cells}
                for grade in notebook.grades:
                    manual = grade.name in answers or grade.cell_type != "code"
                    score = grade.auto_score
                    if grade.manual_score is not None:
                        score = grade.manual_score
                    cells.append(
                        CellScore(
                            notebook=notebook.name,
                            cell=grade.name,
                            kind="manual" if manual else "test",
                            score=None if score is None else float(score),
                            max_score=float(grade.max_score),
                            needs_manual_grade=bool(grade.needs_manual_grade),
                        )
                    )
        order = {name: i for i, name in enumerate(self._cell_order(assignment))}
        cells.sort(key=lambda c: (c.notebook, order.get(c.cell, len(order)), c.cell))
        return Scores(assignment=assignment, student=student, cells=tuple(cells))

    def _cell_order(self, assignment: str) -> list[str]:
        """Graded cell ids in notebook order (for readable score listings)."""
        order: list[str] = []
        for path in sorted((self.source_dir / assignment).glob("*.ipynb")):
            for cell in json.loads(path.read_text())["cells"]:
                grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                if grade_id:
                    order.append(grade_id)
        return order


def driver_url(db_url: str) -> str:
    """``db_url`` with an explicit driver where SQLAlchemy's default one is not installed.

    Recent SQLAlchemy versions read ``postgresql://`` as psycopg 3; the course's dev extra
    installs psycopg2, so such a URL is rewritten to ``postgresql+psycopg2://`` when only
    psycopg2 is importable.
    """
    import importlib.util

    for scheme in ("postgresql://", "postgres://"):
        if db_url.startswith(scheme):
            if importlib.util.find_spec("psycopg") is None and importlib.util.find_spec(
                "psycopg2"
            ):
                return "postgresql+psycopg2://" + db_url[len(scheme):]
    return db_url


def _check(result: Mapping[str, Any], step: str, what: str) -> None:
    if not result.get("success"):
        detail = result.get("error") or ""
        log = result.get("log") or ""
        raise NbgraderError(f"nbgrader {step} failed for {what}:\n{detail}\n{log}".rstrip())


def generate(
    assignments: Iterable[str] | None = None,
    course_dir: PathLike = ".",
    release_dir: PathLike | None = None,
    db_url: str | None = None,
) -> list[str]:
    """Generate the release (student) version of ``assignments`` (default: all of them).

    Reads ``course_dir/nbgrader_config.py``; writes to ``release_dir`` (default: the configured
    release directory, ``exercises/``) and records the assignments in the gradebook at
    ``db_url`` (default: the configured one). Returns the assignments generated.
    """
    course = Course(course_dir, release_dir=release_dir, db_url=db_url)
    return course.generate(assignments)
