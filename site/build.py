"""Build the course website: `python site/build.py [--out DIR] [--execute]` (`make site`).

The pages are the lessons (lessons/*.ipynb), the student exercises (exercises/*/*.ipynb — the
release without solutions; solutions/ is never read) and site/index.md, which links them all.
They are staged in OUT/src, built by Sphinx with myst-nb (configuration: site/conf.py) into
OUT/html, and work offline: open OUT/html/index.html, or serve the folder with any static web
server. Nothing is loaded from another host; MathJax is shipped inside the build.

Without --execute the notebooks are rendered as stored, without outputs (tests/test_site.py;
about 20 s on two cores). With --execute the lessons are run first (the exercises never are:
they stop at NotImplementedError until answered) and the pages show their outputs and plots.
The results are cached with jupyter-cache in OUT/jupyter_cache, keyed by each notebook's code,
so a rebuild re-runs only the lessons whose code changed. The cache keeps, with the outputs,
the state nbclient saved of every ipywidget, and the pages draw the widgets from it in plain
HTML (site/widget_html.py): tqdm progress bars at their final value, `interact` with its
controls at their values and its plot, captioned as live in JupyterLab. NNLIB_PROGRESS is
unset for the build, so that nnlib's training loops show their bars too.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SITE = REPO / "site"
DEFAULT_OUT = REPO / "_site"
# What nbgrader leaves in a notebook that is not a student release: never publish those.
FORBIDDEN = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def stage(src: Path) -> list[Path]:
    """Copy index.md, lessons/ and exercises/ into `src` (emptied first); return the notebooks."""
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    shutil.copy2(SITE / "index.md", src / "index.md")
    notebooks = sorted((REPO / "lessons").glob("*.ipynb"))
    notebooks += sorted((REPO / "exercises").glob("*/*.ipynb"))
    for notebook in notebooks:
        relative = notebook.relative_to(REPO)
        text = notebook.read_text(encoding="utf-8")
        found = [marker for marker in FORBIDDEN if marker in text]
        if found:
            raise SystemExit(f"{relative} contains {', '.join(found)}: it is not a student "
                             "release (run `nncourse release`); not publishing it")
        target = src / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(notebook, target)
    return notebooks


def build(out: Path, execute: bool = False, quiet: bool = False) -> Path:
    """Build the site into out/html and return that folder; SystemExit when Sphinx fails."""
    from sphinx.cmd.build import build_main

    out = out.resolve()
    src, html = out / "src", out / "html"
    notebooks = stage(src)
    os.environ["NNCOURSE_SITE_EXECUTE"] = "cache" if execute else "off"
    if execute:  # the kernels inherit it: NNLIB_PROGRESS=0 would hide the progress bars
        os.environ.pop("NNLIB_PROGRESS", None)
    os.environ["NNCOURSE_SITE_CACHE"] = str(out / "jupyter_cache")
    args = ["-b", "html", "-c", str(SITE), "-d", str(out / "doctrees"),
            "--fail-on-warning", "--keep-going", str(src), str(html)]
    if quiet:
        args.insert(0, "-q")
    started = time.perf_counter()
    status = build_main(args)
    if status != 0:
        raise SystemExit(f"sphinx-build failed (exit {status}); see the messages above")
    print(f"site: {len(notebooks)} notebooks ({'executed' if execute else 'not executed'}) "
          f"built in {time.perf_counter() - started:.1f} s; open {html / 'index.html'}")
    return html


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="build folder (default: _site); the website is OUT/html")
    parser.add_argument("--execute", action="store_true",
                        help="run the lessons and show their outputs (cached in OUT/jupyter_cache)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    args = parser.parse_args(argv)
    build(args.out, execute=args.execute, quiet=args.quiet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
