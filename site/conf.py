"""Sphinx configuration of the course website (built by site/build.py, `make site`).

site/build.py stages the sources (site/index.md, lessons/, exercises/ — never solutions/) in a
folder of its own and runs Sphinx on it with this folder as the configuration folder, so
html_static_path and html_favicon below are relative to site/.

Everything a page loads is in the build: the theme is Sphinx's own alabaster (no web fonts),
MathJax comes from the sphinx-mathjax-offline package and is copied into _static/mathjax/, and
notebook outputs that would need JavaScript from a CDN (ipywidgets) are replaced by a note
that they are live in JupyterLab (setup() below).
"""

from __future__ import annotations

import html
import os
import re

project = "Neural networks from one neuron to MNIST"
author = "the nnlib course authors"
copyright = "the nnlib course authors, MIT licence"

root_doc = "index"
extensions = [
    "myst_nb",
    "sphinx-mathjax-offline",  # MathJax 3 in _static/mathjax/ instead of a CDN
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
# ipywidgets need the widget manager from a CDN: no widget JavaScript, show the text fallback.
nb_ipywidgets_js = {}
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]

# --- HTML --------------------------------------------------------------------------------------

html_theme = "alabaster"
html_title = project
html_static_path = ["_static"]
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


# --- widgets -----------------------------------------------------------------------------------

# What an ipywidget looks like as text/plain, e.g. "interactive(children=(FloatSlider(value=1.0, …".
_WIDGET_TEXT = re.compile(r"^\w+\((children|value|description|layout|options)=")
_WIDGET_NOTE = ("An interactive widget is here: open this notebook in JupyterLab "
                "(make lab, or Binder) to use it.")


def _widgets_as_notes(app, doctree) -> None:
    """Replace the text of a widget output (the widget itself needs a kernel) by a note."""
    from docutils import nodes

    for block in list(doctree.findall(nodes.literal_block)):
        classes = block.get("classes", [])
        if "output" in classes and "text_plain" in classes and _WIDGET_TEXT.match(block.astext()):
            note = nodes.paragraph(classes=["widget-note"])
            note += nodes.emphasis(text=_WIDGET_NOTE)
            block.replace_self(note)


# --- a Binder button on every notebook's page -----------------------------------------------

def _launch_links():
    """binder/launch_links.py (standard library only) as a module."""
    import importlib.util
    from pathlib import Path

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
    app.connect("doctree-read", _widgets_as_notes)
    app.connect("doctree-read", _binder_button)
