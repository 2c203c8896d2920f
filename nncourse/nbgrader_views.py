"""Which parts of nbgrader's Jupyter extensions students see, and which only instructors see.

The one list of them: binder/postBuild reads it (``python -m nncourse.nbgrader_views NAME``
prints a list, one item a line) to configure the Binder image, and ``nncourse lab`` uses it
to start JupyterLab with the student side only (or both sides with ``--instructor``) without
touching the user's Jupyter configuration.

Light on purpose: nothing here imports nbgrader or Jupyter.
"""

from __future__ import annotations

import sys

__all__ = ["LISTS", "lab_page_config", "server_extensions"]

#: nbgrader server extensions behind the student side: the Validate button, the assignment list.
STUDENT_SERVER_EXTENSIONS = (
    "nbgrader.server_extensions.validate_assignment",
    "nbgrader.server_extensions.assignment_list",
)
#: nbgrader server extensions only instructors need.
INSTRUCTOR_SERVER_EXTENSIONS = (
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.course_list",
)
#: Plugin ids of the @jupyter/nbgrader labextension (nbgrader 0.9) on the student side. The
#: menu lists only the commands whose plugins are enabled, so with the instructor plugins off
#: it shows the assignment list alone.
STUDENT_LAB_PLUGINS = (
    "@jupyter/nbgrader:validate-assignment",
    "@jupyter/nbgrader:assignment-list",
    "@jupyter/nbgrader:menu",
)
#: The instructor plugins: formgrader, the create-assignment sidebar, the course list.
INSTRUCTOR_LAB_PLUGINS = (
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:create-assignment",
    "@jupyter/nbgrader:course-list",
)

#: The lists by name, as binder/postBuild asks for them.
LISTS: dict[str, tuple[str, ...]] = {
    "student_server_extensions": STUDENT_SERVER_EXTENSIONS,
    "instructor_server_extensions": INSTRUCTOR_SERVER_EXTENSIONS,
    "student_lab_plugins": STUDENT_LAB_PLUGINS,
    "instructor_lab_plugins": INSTRUCTOR_LAB_PLUGINS,
}


def server_extensions(instructor: bool = False) -> dict[str, bool]:
    """``ServerApp.jpserver_extensions`` for nbgrader: module -> enabled."""
    return {**dict.fromkeys(STUDENT_SERVER_EXTENSIONS, True),
            **dict.fromkeys(INSTRUCTOR_SERVER_EXTENSIONS, instructor)}


def lab_page_config(instructor: bool = False) -> dict[str, dict[str, bool]]:
    """JupyterLab's ``page_config.json`` for nbgrader's plugins: plugin -> disabled."""
    return {"disabledExtensions": {**dict.fromkeys(STUDENT_LAB_PLUGINS, False),
                                   **dict.fromkeys(INSTRUCTOR_LAB_PLUGINS, not instructor)}}


def main(argv: list[str] | None = None) -> int:
    """Print the list ``argv[0]`` names, one item a line (for binder/postBuild)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in LISTS:
        print(f"usage: python -m nncourse.nbgrader_views {{{','.join(LISTS)}}}", file=sys.stderr)
        return 2
    print("\n".join(LISTS[args[0]]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
