"""nbgrader settings every server of the hub shares (students' and instructors').

JupyterHub puts this folder on each user server's JUPYTER_CONFIG_PATH (hub/jupyterhub_config.py),
and instructors put it there too when they run nbgrader from a shell:

    export JUPYTER_CONFIG_PATH=/path/to/course-checkout/hub/jupyter

nbgrader then finds this file besides the course's own nbgrader_config.py (which, read from the
course folder, takes precedence for what it sets: folders, gradebook, timeouts).

For an instructor's server the hub also sets NNCOURSE_COURSE_DIR (by default ~/course): the
nbgrader_config.py of that course folder is loaded here too, so the formgrader in JupyterLab
(Nbgrader > Formgrader) works on that course wherever the server was started.
"""

import os

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

# The exchange: a folder on this machine that every user can write to (mode 1777, like /tmp).
# Instructors release assignments and feedback into it; students fetch from it and submit to it.
c.Exchange.root = os.environ.get("NNCOURSE_EXCHANGE", "/srv/nbgrader/exchange")
# The exchange needs a course id (it is the exchange's top folder); the gradebook records it.
c.CourseDirectory.course_id = os.environ.get("NNCOURSE_COURSE_ID", "nncourse")

_course = os.environ.get("NNCOURSE_COURSE_DIR")
if _course and os.path.isfile(os.path.join(_course, "nbgrader_config.py")):
    load_subconfig(os.path.join(_course, "nbgrader_config.py"))  # noqa: F821 - traitlets
