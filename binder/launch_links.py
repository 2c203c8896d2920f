"""Write README.md's table of Binder launch links, one per lesson and per exercise notebook.

    python binder/launch_links.py           rewrite the table in README.md
    python binder/launch_links.py --check   exit 1 if the table is out of date
    python binder/launch_links.py --url https://github.com/ORG/REPO [--ref REF]
                                            point the badge and the table at that repository

The GitHub repository the links point at is written in one place only: the Binder badge under
README.md's title (https://mybinder.org/v2/gh/OWNER/REPO/REF?urlpath=...). Change it there (or
with --url), run this script, and every launch link follows. `nncourse publish DIR --url URL`
uses `binder_prefix_for` and `retarget` to point the student repository's copy at itself.
The table sits between the lines `<!-- launch -->` and `<!-- /launch -->`; each row links the
notebook in the repository and a Binder session that opens it in JupyterLab
(urlpath=lab/tree/<path>). tests/test_binder.py checks that the table is up to date and that
every link points at a notebook that exists.

Standard library only, so it runs anywhere, the Binder image included.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BEGIN, END = "<!-- launch -->", "<!-- /launch -->"

# [![Launch on Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/O/R/REF?...)
BADGE = re.compile(
    r"\[!\[[^\]]*\]\(https://mybinder\.org/badge_logo\.svg\)\]"
    r"\((?P<url>https://mybinder\.org/v2/gh/[^)?\s]+)(?:\?[^)\s]*)?\)"
)


def binder_prefix(readme_text: str) -> str:
    """The launch URL up to the query, from the README's badge: https://mybinder.org/v2/gh/O/R/REF."""
    match = BADGE.search(readme_text)
    if match is None:
        raise ValueError("README.md has no Binder badge ([![...](https://mybinder.org/badge_logo.svg)]"
                         "(https://mybinder.org/v2/gh/OWNER/REPO/REF?urlpath=...))")
    return match["url"]


# https://github.com/ORG/REPO, optionally with .git or a trailing slash.
GITHUB_URL = re.compile(r"https://github\.com/(?P<owner>[\w.-]+)/(?P<repo>[\w.-]+?)(?:\.git)?/?")


def binder_prefix_for(url: str, ref: str = "HEAD") -> str:
    """The launch URL prefix of a GitHub repository: https://mybinder.org/v2/gh/ORG/REPO/REF."""
    match = GITHUB_URL.fullmatch(url.strip())
    if match is None or not ref or any(c in ref for c in "?# "):
        raise ValueError(f"{url!r}: expected a repository URL https://github.com/ORG/REPO "
                         "(and a branch, tag or commit as the ref)")
    return f"https://mybinder.org/v2/gh/{match['owner']}/{match['repo']}/{ref}"


def retarget(text: str, old_prefix: str, new_prefix: str) -> str:
    """``text`` with every Binder launch link and GitHub link of ``old_prefix``'s repository
    (whatever its ref) pointed at ``new_prefix``'s (https://mybinder.org/v2/gh/ORG/REPO/REF)."""
    old_owner, old_repo = old_prefix.split("/")[5:7]
    new_owner, new_repo = new_prefix.split("/")[5:7]
    repo = re.escape(f"{old_owner}/{old_repo}")
    text = re.sub(rf"https://mybinder\.org/v2/gh/{repo}/[^?)\s\"'<>]+", new_prefix, text)
    return re.sub(rf"https://github\.com/{repo}(?=[/?#)\s\"'<>]|$)",
                  f"https://github.com/{new_owner}/{new_repo}", text)


def launch_url(prefix: str, path: str) -> str:
    """The Binder URL that opens `path` (relative to the repository root) in JupyterLab."""
    return f"{prefix}?urlpath={quote('lab/tree/' + path, safe='/')}"


def lesson_notebooks(root: Path = ROOT) -> list[str]:
    """lessons/*.ipynb, relative to root, sorted."""
    return sorted(p.relative_to(root).as_posix() for p in (root / "lessons").glob("*.ipynb"))


def exercise_notebooks(root: Path = ROOT) -> list[str]:
    """exercises/<assignment>/*.ipynb (the student release), relative to root, sorted."""
    return sorted(p.relative_to(root).as_posix() for p in (root / "exercises").glob("*/*.ipynb"))


def notebook_title(path: Path) -> str:
    """The first markdown heading of a notebook, else its file name."""
    cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    for cell in cells:
        if cell.get("cell_type") != "markdown":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        for line in source.splitlines():
            if line.startswith("#"):
                return line.lstrip("#").strip()
    return path.stem


def _rows(root: Path, prefix: str, paths: list[str]) -> list[str]:
    rows = []
    for path in paths:
        title = notebook_title(root / path).replace("|", "\\|")
        link, launch = quote(path, safe="/"), launch_url(prefix, path)
        rows.append(f"| [{title}]({link}) | [launch]({launch}) |")
    return rows


def render_table(root: Path = ROOT, readme_text: str | None = None) -> str:
    """The launch block, markers included."""
    if readme_text is None:
        readme_text = (root / "README.md").read_text(encoding="utf-8")
    prefix = binder_prefix(readme_text)
    note = "<!-- generated by `python binder/launch_links.py`: do not edit by hand -->"
    lines = [BEGIN, note, ""]
    lines += ["| Lesson | Binder |", "|---|---|", *_rows(root, prefix, lesson_notebooks(root))]
    exercises = exercise_notebooks(root)
    if exercises:
        lines += ["", "| Exercise | Binder |", "|---|---|", *_rows(root, prefix, exercises)]
    lines += ["", END]
    return "\n".join(lines)


def current_table(readme_text: str) -> str:
    """The launch block as it stands in the README, markers included."""
    start, end = readme_text.find(BEGIN), readme_text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README.md has no {BEGIN} ... {END} block")
    return readme_text[start : end + len(END)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md is out of date")
    parser.add_argument("--url", help="point the badge and the table at this GitHub repository")
    parser.add_argument("--ref", default="HEAD", help="with --url: the branch, tag or commit")
    args = parser.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    if args.url:
        try:
            text = retarget(text, binder_prefix(text), binder_prefix_for(args.url, args.ref))
        except ValueError as exc:
            parser.error(str(exc))
    old, new = current_table(text), render_table(ROOT, text)
    if old == new and text == README.read_text(encoding="utf-8"):
        print("README.md: launch links are up to date")
        return 0
    if args.check:
        print("README.md: launch links are out of date; run python binder/launch_links.py")
        return 1
    README.write_text(text.replace(old, new), encoding="utf-8")
    print("README.md: launch links rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
