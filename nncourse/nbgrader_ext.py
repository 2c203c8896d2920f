"""Two small additions to stock nbgrader, switched on by the course's ``nbgrader_config.py``.

Both work through nbgrader's own configuration, so they apply to ``nbgrader autograde`` and
``nbgrader validate`` on the command line, to the formgrader, to JupyterLab's Validate button
(nbgrader's server extension builds its ``Validator`` from the same config file) and to
`nncourse.nbgrader_api`:

* `OverwriteCells` replaces nbgrader's sanitizing preprocessor of the same name in
  ``Autograde.sanitize_preprocessors``. nbgrader stores each test cell in the gradebook with
  its hidden tests and releases it without them, so a submission that left a hidden-test cell
  exactly as released differs from the stored checksum, and stock ``nbgrader autograde``
  warns "Attribute 'checksum' for cell ... has changed!" for every such cell of every
  submission (jupyter/nbgrader#1961). This subclass restores the cell exactly as nbgrader
  does, but warns only when the submitted cell is not the released one: a student who edited
  a locked cell is still reported.
* `refuse_notebooks_without_tests` is an ``Execute.on_notebook_start`` hook. When nbgrader
  validates (``NBGRADER_VALIDATING=1``, set by nbgrader's ``Validator`` only) a notebook with no
  autograded test cell, such as a lesson, it stops before any cell runs and says the notebook
  has no tests, instead of running the whole notebook and reporting "Success! Your notebook
  passes all the tests.". Autograding is unaffected.
"""

from __future__ import annotations

import copy
import os
from typing import Any

from nbgrader import utils
from nbgrader.api import MissingEntry
from nbgrader.preprocessors import ClearHiddenTests, ClearMarkScheme
from nbgrader.preprocessors import OverwriteCells as _StockOverwriteCells

__all__ = ["NotebookHasNoTests", "OverwriteCells", "has_tests", "refuse_notebooks_without_tests"]


class OverwriteCells(_StockOverwriteCells):
    """nbgrader's OverwriteCells, without the checksum warning for cells left as released."""

    _cell: Any = None

    def preprocess_cell(self, cell: Any, resources: Any, cell_index: int) -> tuple[Any, Any]:
        self._cell = cell
        try:
            return super().preprocess_cell(cell, resources, cell_index)
        finally:
            self._cell = None

    def released_checksum(self, grade_id: str, cell: Any) -> str | None:
        """The checksum ``cell`` has in the release: the stored source, hidden parts removed.

        ``cell`` supplies the nbgrader metadata (already corrected from the gradebook by the
        time nbgrader compares checksums). None when the cell is not in the gradebook.
        """
        try:
            stored = self.gradebook.find_source_cell(grade_id, self.notebook_id,
                                                     self.assignment_id)
        except MissingEntry:
            return None
        probe = copy.deepcopy(cell)
        probe.source = stored.source
        # The regions generate_assignment removes after it saved the cell to the gradebook,
        # with the delimiters the course configures.
        ClearHiddenTests(parent=self)._remove_hidden_test_region(probe)
        ClearMarkScheme(parent=self)._remove_mark_scheme_region(probe)
        return utils.compute_checksum(probe)

    def report_change(self, name: str, attr: str, old: Any, new: Any) -> None:
        if attr == "checksum" and self._cell is not None:
            try:
                released = self.released_checksum(name, self._cell)
            except RuntimeError:  # unbalanced delimiters in the stored source: just report
                released = None
            if released is not None and released == new:
                self.log.debug("Cell %s is as released; restoring its hidden parts", name)
                return
        super().report_change(name, attr, old, new)


class NotebookHasNoTests(Exception):
    """Validate was asked to check a notebook that has no autograded tests."""


def has_tests(nb: Any) -> bool:
    """Whether ``nb`` has an autograded test cell (an nbgrader grade cell holding code)."""
    return any(utils.is_grade(cell) and cell.cell_type == "code" for cell in nb.cells)


#: What Validate says about a notebook without tests (the JupyterLab dialog shows it last).
NO_TESTS_MESSAGE = (
    "this notebook has no tests, so there is nothing to validate (nothing was run). "
    "Validate checks the graded exercises, the notebooks in exercises/; lessons have no tests."
)


def refuse_notebooks_without_tests(notebook: Any = None, **_: Any) -> None:
    """``Execute.on_notebook_start`` hook: stop validating a notebook that has no tests."""
    if os.environ.get("NBGRADER_VALIDATING") != "1" or notebook is None:
        return
    if not has_tests(notebook):
        raise NotebookHasNoTests(NO_TESTS_MESSAGE)
