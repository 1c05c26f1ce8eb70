"""The one canonical JSON form that every party can reproduce byte for byte before signing.

Rules: UTF-8; object keys sorted by code point; no insignificant whitespace; non-ASCII characters
written as themselves (not \\u escapes); integers only: floats are refused, because money is integer
fen and a float's text form differs between languages.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any


class NotCanonicalisable(TypeError):
    """The value holds something with no single canonical text form (a float, bytes, an object)."""

    code = "not_canonicalisable"


def _check(value: Any, path: str) -> None:
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, float):
        raise NotCanonicalisable(f"{path or '$'}: floats are not allowed in signed data (use integer fen)")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotCanonicalisable(f"{path or '$'}: object keys must be strings, got {key!r}")
            _check(item, f"{path}.{key}")
        return
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]")
        return
    raise NotCanonicalisable(f"{path or '$'}: {type(value).__name__} has no canonical JSON form")


def canonical_json(value: Any) -> bytes:
    _check(value, "")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
