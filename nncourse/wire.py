"""Plain data across the grading boundary: what a test and a student's kernel may exchange.

`nncourse grade` runs the tests in the grader's process and the student's code in a sandboxed
kernel (see `nncourse.grader`). Every value that crosses between them is *plain data*, written
as JSON text and rebuilt on the other side:

==========================  =====================================================
value                       on the wire
==========================  =====================================================
None, bool, int, float, str themselves (floats include NaN and inf)
complex                     ``{"$c": [real, imag]}``
bytes                       ``{"$b": base64}``
NumPy array or scalar       ``{"$a": [dtype, shape, base64]}`` (``"$s"`` for a scalar);
                            numeric or bool dtypes only
list / tuple / dict         ``[...]`` / ``{"$t": [...]}`` / ``{"$d": [[key, value], ...]}``
anything else               ``{"$h": n, "type": name}``: a *handle*, the number under which the
                            kernel keeps the object; the grader gets a `Handle` and never the
                            object, so nothing a student made (a lying ``__eq__`` or
                            ``__array__``, an ndarray subclass) ever runs in the grader
==========================  =====================================================

Two tags travel only from the grader to the kernel: ``{"$r": n}`` (a handle given back) and
``{"$f": n, "name": name}`` (a function of the test's that student code may call back, see
`nncourse.agent`).

`decode` is strict: a message over `rules.MAX_MESSAGE_BYTES`, nested deeper than
`rules.MAX_WIRE_DEPTH`, an array whose bytes do not match its shape, an object dtype or an
unknown tag raises `WireError`, never anything else.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nncourse import rules

__all__ = [
    "Handle",
    "WireError",
    "decode",
    "describe",
    "encode",
    "from_node",
    "loads",
    "roundtrip",
    "to_node",
]

_ARRAY_KINDS = "biufc"


class WireError(ValueError):
    """A message that is not well-formed plain data."""


@dataclass(frozen=True)
class Handle:
    """An object that stays in the kernel, known to the grader by its number and type name."""

    number: int
    type_name: str
    callable: bool = False

    def __repr__(self) -> str:
        return f"<{self.type_name} in the student's kernel>"


def describe(value: object) -> str:
    """What a value is, for messages: 'a Sequential', 'an array of shape (3,) (float64)'."""
    if isinstance(value, Handle):
        name = value.type_name
        return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} ({value.dtype})"
    if value is None:
        return "None"
    if isinstance(value, bool | np.bool_):
        return "a bool"
    if isinstance(value, int | np.integer):
        return "an integer"
    if isinstance(value, float | np.floating):
        return "a number"
    if isinstance(value, tuple | list):
        kind = "a tuple" if isinstance(value, tuple) else "a list"
        return f"{kind} of {len(value)} items"
    if isinstance(value, dict):
        return f"a dict of {len(value)} items"
    name = type(value).__name__
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"


# ---------------------------------------------------------------------------------------------
# Encoding
# ---------------------------------------------------------------------------------------------


def _array(value: np.ndarray, tag: str) -> dict[str, Any]:
    # tobytes() writes C order whatever the layout; the shape is the array's own (a 0-d
    # array keeps its empty shape, which np.ascontiguousarray would not).
    return {tag: [value.dtype.str, list(value.shape), base64.b64encode(value.tobytes()).decode()]}


def _encode(value: Any, other: Callable[[Any], Any] | None, depth: int) -> Any:
    if depth > rules.MAX_WIRE_DEPTH:
        raise WireError(f"the value is nested more than {rules.MAX_WIRE_DEPTH} levels deep")
    kind = type(value)
    if value is None or kind in (bool, str):
        return value
    if kind is int:
        return value
    if kind is float:
        return value
    if kind is complex:
        return {"$c": [value.real, value.imag]}
    if kind is bytes:
        return {"$b": base64.b64encode(value).decode()}
    if kind is np.ndarray and value.dtype.kind in _ARRAY_KINDS:
        return _array(value, "$a")
    if isinstance(value, np.generic) and value.dtype.kind in _ARRAY_KINDS:
        return _array(np.asarray(value), "$s")
    if kind is list:
        return [_encode(v, other, depth + 1) for v in value]
    if kind is tuple:
        return {"$t": [_encode(v, other, depth + 1) for v in value]}
    if kind is dict:
        return {"$d": [[_encode(k, other, depth + 1), _encode(v, other, depth + 1)]
                       for k, v in value.items()]}
    if other is None:
        raise WireError(f"{describe(value)} is not plain data")
    return other(value)


def to_node(value: Any, other: Callable[[Any], Any] | None = None) -> Any:
    """``value`` as a JSON-ready node. Objects that are not plain data go through ``other``,
    which returns their wire form (a handle, a callback); without it they raise `WireError`.

    Only exact types count as plain (a subclass of list or ndarray is an object), so what
    crosses is exactly what the table above says.
    """
    return _encode(value, other, 0)


def encode(value: Any, other: Callable[[Any], Any] | None = None) -> str:
    """``value`` as JSON text (see `to_node`)."""
    return json.dumps(_encode(value, other, 0), separators=(",", ":"))


# ---------------------------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------------------------


def _decode_array(spec: Any, scalar: bool) -> Any:
    if not (isinstance(spec, list) and len(spec) == 3):
        raise WireError("a malformed array")
    dtype_text, shape, data = spec
    if not isinstance(dtype_text, str) or not isinstance(data, str) or not isinstance(shape, list):
        raise WireError("a malformed array")
    try:
        dtype = np.dtype(dtype_text)
    except TypeError as exc:
        raise WireError(f"an unknown dtype {dtype_text[:20]!r}") from exc
    if dtype.kind not in _ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise WireError(f"an array of dtype {dtype} is not plain data")
    if len(shape) > 32 or not all(type(n) is int and n >= 0 for n in shape):
        raise WireError("an array with a malformed shape")
    try:
        raw = base64.b64decode(data, validate=True)
    except ValueError as exc:
        raise WireError("an array whose data is not base64") from exc
    if math.prod(shape) * dtype.itemsize != len(raw):
        raise WireError("an array whose data does not match its shape")
    array = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    if scalar:
        if array.ndim != 0:
            raise WireError("a NumPy scalar with a shape")
        return array[()]
    return array


def _decode(node: Any, other: Callable[[str, dict[str, Any]], Any] | None, depth: int) -> Any:
    if depth > rules.MAX_WIRE_DEPTH:
        raise WireError(f"the value is nested more than {rules.MAX_WIRE_DEPTH} levels deep")
    if node is None or type(node) in (bool, int, float, str):
        return node
    if type(node) is list:
        return [_decode(v, other, depth + 1) for v in node]
    if type(node) is not dict or len(node) == 0:
        raise WireError("a malformed value")
    tag = next(iter(node))
    body = node[tag]
    if tag == "$a" or tag == "$s":
        return _decode_array(body, scalar=tag == "$s")
    if tag == "$t" and type(body) is list:
        return tuple(_decode(v, other, depth + 1) for v in body)
    if tag == "$d" and type(body) is list:
        result = {}
        for pair in body:
            if type(pair) is not list or len(pair) != 2:
                raise WireError("a malformed dict")
            key = _decode(pair[0], other, depth + 1)
            try:
                result[key] = _decode(pair[1], other, depth + 1)
            except TypeError as exc:
                raise WireError("a dict key that cannot be hashed") from exc
        return result
    if tag == "$c" and type(body) is list and len(body) == 2:
        if not all(type(v) in (int, float) for v in body):
            raise WireError("a malformed complex number")
        return complex(body[0], body[1])
    if tag == "$b" and type(body) is str:
        try:
            return base64.b64decode(body, validate=True)
        except ValueError as exc:
            raise WireError("bytes that are not base64") from exc
    if other is not None and tag in ("$h", "$r", "$f"):
        return other(tag, node)
    raise WireError(f"an unknown tag {str(tag)[:20]!r}")


def loads(text: str | bytes) -> Any:
    """JSON text as nodes, refusing messages over `rules.MAX_MESSAGE_BYTES` or too deep."""
    if not isinstance(text, str | bytes) or len(text) > rules.MAX_MESSAGE_BYTES:
        raise WireError(f"a message over {rules.MAX_MESSAGE_BYTES >> 20} MiB")
    try:
        return json.loads(text)
    except RecursionError as exc:
        raise WireError("a message nested too deeply") from exc
    except ValueError as exc:
        raise WireError("a message that is not JSON") from exc


def from_node(node: Any, other: Callable[[str, dict[str, Any]], Any] | None = None) -> Any:
    """The value a `to_node` node stands for. ``other(tag, node)`` rebuilds handles and
    callbacks (tags ``$h``, ``$r``, ``$f``); without it they are a `WireError`."""
    try:
        return _decode(node, other, 0)
    except RecursionError as exc:
        raise WireError("a message nested too deeply") from exc


def decode(text: str | bytes, other: Callable[[str, dict[str, Any]], Any] | None = None) -> Any:
    """The value that `encode` wrote (see `from_node`)."""
    return from_node(loads(text), other)


def roundtrip(value: Any) -> Any:
    """``value`` as the other side of the boundary would see it, live objects kept.

    The in-kernel runners (Validate, `nncourse check`, stock nbgrader) pass what student code
    returns through here, so that a test sees the same types in both runners: plain data is
    rebuilt (a list subclass becomes a list, a float32 scalar stays a NumPy scalar) and any
    other object is handed back as itself.
    """
    kept: list[Any] = []

    def keep(obj: Any) -> dict[str, Any]:
        kept.append(obj)
        return {"$h": len(kept) - 1, "type": type(obj).__name__}

    def restore(tag: str, node: dict[str, Any]) -> Any:
        return kept[node["$h"]]

    return decode(encode(value, keep), restore)
