"""Static checks of the lesson notebooks in lessons/ (one test per notebook and check).

These tests only *read* the notebooks. Executing them is nbval's job: the suite runs
`pytest --nbval-lax` over lessons/, so a failing cell or a failing `assert` in a lesson shows
up there, not here.

Checked for every lessons/*.ipynb (new lessons are picked up automatically):

- it is a valid nbformat 4 notebook whose cells all have unique ids;
- it is stored clean: no outputs, no execution counts, no metadata beyond the kernelspec
  (python3) and language_info (name python), no cell metadata other than tags;
- it has the anatomy every lesson shares: the title "# Lesson N · Title" (N from the file
  name), "What you will learn", "## Check yourself" with answers in <details>, "## Summary"
  and "## Practise";
- every relative link in its markdown points to a file that exists. Links into exercises/
  are checked only once exercises/ holds notebooks (they are generated separately).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
LESSONS_DIR = REPO / "lessons"
EXERCISES_DIR = REPO / "exercises"
LESSONS = sorted(LESSONS_DIR.glob("*.ipynb"))

ALLOWED_NOTEBOOK_METADATA = {"kernelspec", "language_info"}
ALLOWED_CELL_METADATA = {"tags"}  # e.g. nbval's "nbval-skip", "raises-exception"

lesson = pytest.mark.parametrize("path", LESSONS, ids=[p.name for p in LESSONS])


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=nbformat.NO_CONVERT)


def _name(path: Path) -> str:
    """The notebook's path relative to the repository, e.g. 'lessons/01_neuron.ipynb'."""
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


def _where(path: Path, index: int, cell: nbformat.NotebookNode) -> str:
    """'lessons/01_neuron.ipynb, cell 5 (id 'l01-05', code: first line...)'."""
    first_line = cell.source.strip().splitlines()[0][:60] if cell.source.strip() else "<empty>"
    return f"{_name(path)}, cell {index} (id {cell.get('id')!r}, {cell.cell_type}: {first_line!r})"


def _markdown_cells(nb: nbformat.NotebookNode) -> list[tuple[int, nbformat.NotebookNode]]:
    return [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "markdown"]


# ---------------------------------------------------------------------------------------------
# Format and cleanliness
# ---------------------------------------------------------------------------------------------


@lesson
def test_valid_nbformat4_with_unique_cell_ids(path: Path) -> None:
    nb = _read(path)
    assert nb.nbformat == 4, f"{_name(path)} is nbformat {nb.nbformat}, expected 4"
    nbformat.validate(nb)
    ids = [cell.get("id") for cell in nb.cells]
    missing = [i for i, cell_id in enumerate(ids) if not cell_id]
    assert not missing, f"{_name(path)}: cells {missing} have no id"
    duplicates = sorted({cell_id for cell_id in ids if ids.count(cell_id) > 1})
    assert not duplicates, f"{_name(path)}: duplicate cell ids {duplicates}"


@lesson
def test_stored_without_outputs_or_execution_counts(path: Path) -> None:
    nb = _read(path)
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            problems.append(f"{_where(path, i, cell)} has {len(cell.outputs)} output(s)")
        if cell.get("execution_count") is not None:
            problems.append(f"{_where(path, i, cell)} has execution_count {cell.execution_count}")
    assert not problems, "clear the outputs before committing:\n" + "\n".join(problems)


@lesson
def test_clean_metadata(path: Path) -> None:
    nb = _read(path)
    name = _name(path)
    problems = []
    extra = set(nb.metadata) - ALLOWED_NOTEBOOK_METADATA
    if extra:
        problems.append(f"{name}: notebook metadata has extra keys {sorted(extra)}")
    kernel = nb.metadata.get("kernelspec", {}).get("name")
    if kernel != "python3":
        problems.append(f"{name}: kernelspec name is {kernel!r}, expected 'python3'")
    language_info = dict(nb.metadata.get("language_info", {}))
    if language_info != {"name": "python"}:
        problems.append(
            f"{name}: language_info is {language_info!r}, expected only {{'name': 'python'}}"
        )
    for i, cell in enumerate(nb.cells):
        extra = set(cell.get("metadata", {})) - ALLOWED_CELL_METADATA
        if extra:
            problems.append(f"{_where(path, i, cell)} has cell metadata {sorted(extra)}")
        if cell.get("attachments"):
            problems.append(f"{_where(path, i, cell)} has attachments")
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------------------------
# Anatomy
# ---------------------------------------------------------------------------------------------


@lesson
def test_title_names_the_lesson(path: Path) -> None:
    nb = _read(path)
    number = int(re.match(r"\d+", path.stem).group())
    assert nb.cells and nb.cells[0].cell_type == "markdown", (
        f"{_name(path)}: the first cell must be the markdown title"
    )
    first_line = nb.cells[0].source.strip().splitlines()[0]
    assert re.fullmatch(rf"# Lesson {number} · \S.*", first_line), (
        f"{_name(path)}: first line is {first_line!r}, expected '# Lesson {number} · <title>'"
    )


@lesson
def test_has_the_lesson_anatomy(path: Path) -> None:
    nb = _read(path)
    markdown = "\n\n".join(cell.source for _, cell in _markdown_cells(nb))
    problems = []
    if not re.search(r"^(\*\*What you will learn\*\*|#+ What you will learn)", markdown, re.M):
        problems.append("'**What you will learn**' (bold line or heading)")
    for heading in ("Check yourself", "Summary", "Practise"):
        if not re.search(rf"^## {heading}\s*$", markdown, re.M):
            problems.append(f"'## {heading}'")
    assert not problems, f"{_name(path)} is missing: " + ", ".join(problems)


@lesson
def test_check_yourself_hides_its_answers(path: Path) -> None:
    nb = _read(path)
    for _, cell in _markdown_cells(nb):
        if re.search(r"^## Check yourself\s*$", cell.source, re.M):
            section = cell.source.split("## Check yourself", 1)[1].split("\n## ", 1)[0]
            answers = len(re.findall(r"<details>\s*<summary>", section))
            assert answers >= 1 and section.count("</details>") == answers, (
                f"{_name(path)}: each question under '## Check yourself' needs its "
                f"answer in <details><summary>Show answer</summary> ... </details> "
                f"(found {answers} opening and {section.count('</details>')} closing tags)"
            )
            return
    pytest.fail(f"{_name(path)} has no '## Check yourself' cell")


# ---------------------------------------------------------------------------------------------
# Relative links
# ---------------------------------------------------------------------------------------------

_FENCED_CODE = re.compile(r"```.*?```|~~~.*?~~~", re.S)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_DISPLAY_MATH = re.compile(r"\$\$.*?\$\$", re.S)
_INLINE_MATH = re.compile(r"\$[^$\n]+\$")
_MD_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'][^\"']*[\"'])?\s*\)")
_HTML_LINK = re.compile(r"<(?:a|img)\b[^>]*?\b(?:href|src)\s*=\s*[\"']([^\"']+)[\"']", re.I)
_URL_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def _relative_links(path: Path) -> list[tuple[str, Path, str]]:
    """(where, resolved target, link text) for every relative link in the markdown cells."""
    links = []
    for i, cell in _markdown_cells(_read(path)):
        text = cell.source
        for pattern in (_FENCED_CODE, _INLINE_CODE, _DISPLAY_MATH, _INLINE_MATH):
            text = pattern.sub(" ", text)
        for match in [*_MD_LINK.finditer(text), *_HTML_LINK.finditer(text)]:
            target = match.group(1)
            if target.startswith("#") or _URL_SCHEME.match(target) or target.startswith("//"):
                continue  # an anchor in this notebook, or a web address
            file_part = unquote(target.split("#", 1)[0].split("?", 1)[0])
            if file_part:
                resolved = (path.parent / file_part).resolve()
                links.append((_where(path, i, cell), resolved, target))
    return links


def _in_exercises(target: Path) -> bool:
    return target == EXERCISES_DIR or EXERCISES_DIR in target.parents


def _exercises_built() -> bool:
    return EXERCISES_DIR.is_dir() and any(EXERCISES_DIR.rglob("*.ipynb"))


@lesson
def test_relative_links_point_to_existing_files(path: Path) -> None:
    broken = [
        f"{where}: link {text!r} -> {target} does not exist"
        for where, target, text in _relative_links(path)
        if not _in_exercises(target) and not target.exists()
    ]
    assert not broken, "\n".join(broken)


@lesson
def test_links_to_exercises_point_to_existing_files(path: Path) -> None:
    links = [link for link in _relative_links(path) if _in_exercises(link[1])]
    if not links:
        pytest.skip(f"{path.name} links to no exercise")
    if not _exercises_built():
        pytest.skip(
            "exercises/ holds no notebooks yet (they are generated from solutions/), so the "
            f"{len(links)} link(s) from {path.name} into exercises/ are not checked"
        )
    broken = [
        f"{where}: link {text!r} -> {target} does not exist"
        for where, target, text in links
        if not target.exists()
    ]
    assert not broken, "\n".join(broken)
