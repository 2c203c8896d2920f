"""nbgrader configuration of the course (read by `nbgrader ...` and by nncourse.nbgrader_api).

Layout, relative to this file's folder (the course root):

    solutions/<assignment>/<notebook>.ipynb   source: solutions and hidden tests (instructors)
    exercises/<assignment>/<notebook>.ipynb   release generated from solutions/ (committed;
                                              what students open)
    submitted/, autograded/, feedback/        written by nbgrader while grading (not committed)
    gradebook.db                              the default SQLite gradebook (not committed)

Set NNCOURSE_DB_URL to use another gradebook, e.g. ``postgresql://user@host/nncourse``.
"""

import os
import sys

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

_ROOT = os.path.dirname(os.path.abspath(__file__))
if _ROOT not in sys.path:  # `nncourse` from this checkout when it is not installed (last resort)
    sys.path.append(_ROOT)

c.CourseDirectory.root = _ROOT
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.db_url = os.environ.get("NNCOURSE_DB_URL") or "sqlite:///" + os.path.join(
    _ROOT, "gradebook.db"
)

# Seconds each cell may run while autograding; a cell that takes longer is stopped and scores
# zero. The exercises' cells take well under a second; the tests stop endless loops in student
# code sooner (nncourse.checks.DEFAULT_TIME_LIMIT).
c.Execute.timeout = 60
# Stop each grading kernel at once when its notebook is done instead of waiting for a clean
# exit: the outputs are already collected, and a kernel that imported torch takes about a
# second to exit cleanly, which adds up over a class.
c.Execute.shutdown_kernel = "immediate"

# `nncourse grade` keeps its per-test results (for `nncourse feedback` and `report`) next to
# each autograded notebook; they are for instructors, so `nbgrader generate_feedback` must not
# copy them into the students' feedback folders (nbgrader's default list plus that file).
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback",
                            "nncourse.json"]

# `nbgrader generate_assignment ASSIGNMENT` regenerates the release even though exercises/ is
# committed, and records the assignment (notebooks, cells, points) in the gradebook, which
# `nbgrader autograde` needs. Without this, on a fresh clone nbgrader skips the existing
# release, and with it the gradebook ("Skipping existing assignment"), unless given --force.
# Safe: the release is generated, never edited by hand (tests/test_grading.py checks that
# exercises/ is exactly what generating gives), so rewriting it changes nothing.
c.GenerateAssignment.force = True

# nncourse.nbgrader_ext: stock nbgrader's pipeline with two changes (see that module):
# `nbgrader autograde` no longer warns "checksum ... has changed!" for hidden-test cells left
# as released (it still warns for locked cells a student edited), and Validate on a notebook
# with no tests (a lesson) says so instead of "Success!".
from nbgrader.preprocessors import (  # noqa: E402
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    OverwriteKernelspec,
)

from nncourse import nbgrader_ext  # noqa: E402

c.Autograde.sanitize_preprocessors = [ClearOutput, DeduplicateIds, OverwriteKernelspec,
                                      nbgrader_ext.OverwriteCells, CheckCellMetadata]
c.Execute.on_notebook_start = nbgrader_ext.refuse_notebooks_without_tests
