"""`nncourse`: the course's command line (students and instructors).

    nncourse lab            open the course in JupyterLab
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path


def course_root() -> Path:
    """The folder holding lessons/ and exercises/: the current one, else the checkout of nnlib."""
    for candidate in (Path.cwd(), Path(__file__).resolve().parents[2]):
        if (candidate / "lessons").is_dir():
            return candidate
    raise SystemExit(
        "nncourse: cannot find the course folder (one with lessons/ inside); "
        "run nncourse from the course's checkout"
    )


def cmd_lab(args: argparse.Namespace) -> int:
    """Start JupyterLab in the course folder, opened on the first lesson."""
    root = course_root()
    command = [sys.executable, "-m", "jupyter", "lab", "lessons/01_neuron.ipynb"]
    if args.no_browser:
        command.append("--no-browser")
    command += args.jupyter_args
    print(f"nncourse: starting JupyterLab in {root}", flush=True)
    return subprocess.call(command, cwd=root, env=os.environ.copy())


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-command per task."""
    parser = argparse.ArgumentParser(prog="nncourse", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    lab = sub.add_parser("lab", help="open the course in JupyterLab")
    lab.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    lab.add_argument("jupyter_args", nargs=argparse.REMAINDER, help="passed on to jupyter lab")
    lab.set_defaults(func=cmd_lab)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the nncourse command."""
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
