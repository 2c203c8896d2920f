"""Generate the release (exercises/) and prove it leaks neither solutions nor hidden tests."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from nncourse.nbgrader_api import Course

__all__ = ["find_leaks", "release", "secret_lines"]

_OPEN = ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "BEGIN MARK SCHEME")
_CLOSE = ("END SOLUTION", "END HIDDEN TESTS", "END MARK SCHEME")
_MARKERS = _OPEN + _CLOSE
# Lines the release is meant to show in place of a solution.
_STUBS = {"# YOUR CODE HERE", "raise NotImplementedError()", "YOUR ANSWER HERE"}


def _text(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return source if isinstance(source, str) else "".join(source)


def secret_lines(source_nb: dict[str, Any]) -> set[str]:
    """Stripped lines inside solution / hidden-test regions that appear nowhere outside them."""
    return _split(source_nb)[0]


def _split(source_nb: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(secret lines, public lines) of a source notebook, stripped."""
    secret: set[str] = set()
    public: set[str] = set()
    for cell in source_nb.get("cells", []):
        inside = False
        for line in _text(cell).split("\n"):
            text = line.strip()
            if any(m in text for m in _OPEN):
                inside = True
            elif any(m in text for m in _CLOSE):
                inside = False
            elif text:
                (secret if inside else public).add(text)
    return secret - public - _STUBS, public


def _strings(value: Any) -> Iterator[str]:
    """Every string anywhere in a JSON value (keys included)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def find_leaks(source_nb: dict[str, Any], release_nb: dict[str, Any]) -> list[str]:
    """Solution or hidden-test content found anywhere in the release notebook's JSON."""
    secrets, public = _split(source_nb)
    # Long secret lines are also looked for inside longer text, unless public text holds them.
    long_secrets = [s for s in secrets if len(s) >= 12 and not any(s in p for p in public)]
    problems: list[str] = []
    for cell in release_nb.get("cells", []):
        if cell.get("cell_type") == "code" and cell.get("outputs"):
            problems.append(f"cell {cell.get('id')}: has outputs")
    for text in _strings(release_nb):
        for marker in _MARKERS:
            if marker in text:
                problems.append(f"marker {marker!r} left in")
        lines = {line.strip() for line in text.split("\n")}
        for line in sorted(lines & secrets):
            problems.append(f"shows the secret line {line!r}")
        for line in long_secrets:
            if line not in lines and line in text:
                problems.append(f"contains the secret text {line!r}")
    return list(dict.fromkeys(problems))


def release(course: Course, assignments: Sequence[str] | None = None) -> dict[str, list[str]]:
    """Regenerate the release of ``assignments`` (default: all); return the leaks per notebook."""
    names = course.generate(assignments)
    leaks: dict[str, list[str]] = {}
    for name in names:
        for source in sorted((course.source_dir / name).glob("*.ipynb")):
            target: Path = course.release_dir / name / source.name
            if not target.is_file():
                leaks[f"{name}/{source.name}"] = ["the release notebook was not written"]
                continue
            found = find_leaks(json.loads(source.read_text()), json.loads(target.read_text()))
            if found:
                leaks[f"{name}/{source.name}"] = found
    return leaks
