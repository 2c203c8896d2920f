"""Sphinx configuration of the course website (built by site/build.py, `make site`).

site/build.py stages the sources (site/index.md, lessons/, exercises/ — never solutions/) in a
folder of its own and runs Sphinx on it with this folder as the configuration folder, so
html_static_path and html_favicon below are relative to site/.

Everything a page loads is in the build: the theme is Sphinx's own alabaster (no web fonts),
MathJax comes from the sphinx-mathjax-offline package and is copied into _static/mathjax/, and
ipywidgets, which would need their JavaScript from a CDN, are drawn in plain HTML from the
widget state that executing the notebook saved (site/widget_html.py, styled by
_static/widgets.css): progress bars at their final value, `interact` with its controls at
their values and the plot its Output held, with a caption that the controls are live in
JupyterLab. A widget it cannot draw becomes a note to open the notebook in JupyterLab.
"""

from __future__ import annotations

import html
import os
import sys
from pathlib import Path

project = "Neural networks from one neuron to MNIST"
author = "the nnlib course authors"
copyright = "the nnlib course authors, MIT licence"

root_doc = "index"
# Sphinx runs this file with this folder as the working directory but not on sys.path.
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
extensions = [
    "myst_nb",
    "sphinx-mathjax-offline",  # MathJax 3 in _static/mathjax/ instead of a CDN
    "widget_html",  # site/widget_html.py: ipywidgets as static HTML from their saved state
]
exclude_patterns = ["**/.ipynb_checkpoints", "_build", "jupyter_execute"]

# --- notebooks (myst-nb) -----------------------------------------------------------------------

myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

# off: render the notebooks as stored (no outputs; the fast build of tests/test_site.py);
# cache: execute the lessons, keeping the results in jupyter-cache (`make site`).
nb_execution_mode = os.environ.get("NNCOURSE_SITE_EXECUTE", "off")
nb_execution_cache_path = os.environ.get("NNCOURSE_SITE_CACHE", "") or "_build/.jupyter_cache"
# The student exercises stop with NotImplementedError until they are answered: never run them.
nb_execution_excludepatterns = ["exercises/*/*.ipynb"]
nb_execution_timeout = 900
nb_execution_raise_on_error = True
nb_merge_streams = True
# No ipywidgets JavaScript (its widget manager would come from a CDN): widget_html draws each
# widget-view output (the mime type myst-nb prefers for HTML) from the saved widget state.
nb_ipywidgets_js = {}

# --- HTML --------------------------------------------------------------------------------------

html_theme = "alabaster"
html_title = project
html_static_path = ["_static"]
html_css_files = ["widgets.css"]  # the static widgets of widget_html
html_favicon = "_static/favicon.svg"
html_copy_source = False
html_show_sourcelink = False
html_theme_options = {
    "description": "A hands-on Jupyter course: lessons and exercises",
    "fixed_sidebar": True,
    "show_relbars": True,
    "show_powered_by": False,
    "page_width": "1200px",  # with the smaller code font: room for 100-column code cells
    "code_font_size": "0.8em",
    "sidebar_width": "250px",
}


# --- a Binder button on every notebook's page -----------------------------------------------

def _launch_links():
    """binder/launch_links.py (standard library only) as a module."""
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "binder" / "launch_links.py"
    spec = importlib.util.spec_from_file_location("launch_links", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _binder_button(app, doctree) -> None:
    """Put "Launch on Binder" at the top of each lesson's and exercise's page: the same link as
    README.md's launch table (the repository is the one README.md's badge names)."""
    from docutils import nodes

    docname = app.env.docname
    if not docname.startswith(("lessons/", "exercises/")):
        return
    links = _launch_links()
    prefix = links.binder_prefix(links.README.read_text(encoding="utf-8"))
    url = links.launch_url(prefix, f"{docname}.ipynb")
    static = "../" * docname.count("/") + "_static"
    button = nodes.raw("", f'<p class="binder-launch"><a href="{html.escape(url)}">'
                           f'<img src="{static}/binder_badge.svg" alt="Launch on Binder" '
                           'width="128" height="20"></a></p>', format="html")
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is not None and section.children and isinstance(section[0], nodes.title):
        section.insert(1, button)
    else:
        doctree.insert(0, button)


def setup(app) -> None:
    app.connect("doctree-read", _binder_button)
