"""Reading other tools' JSON and JSON Lines with errors that name the file and the line.

A truncated or malformed file is a one-line :class:`~forkingpaths.errors.DataError`
(``results_….json line 12: truncated or malformed JSON (Expecting ',' delimiter)``);
nothing here evaluates or unpickles what it reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from forkingpaths.errors import DataError


def loads(text: str, where: str, first_line: int = 1) -> Any:
    """One JSON document; ``where`` names it in the error (a file, or an archive member), ``first_line`` its first line's number."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        line = error.lineno + first_line - 1
        raise DataError(f"{where} line {line}: truncated or malformed JSON ({error.msg} at column {error.colno})") from None


def read_json(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: cannot read ({type(error).__name__}: {error})") from None
    return loads(text, path)


def read_jsonl(path: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; a line that is not a JSON object is an error naming it."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: cannot read ({type(error).__name__}: {error})") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        yield number, _line(line, path, number)


def _line(line: str, path: str, number: int) -> dict[str, Any]:
    record = loads(line, path, number)
    if not isinstance(record, dict):
        raise DataError(f"{path} line {number}: expected a JSON object, got {type(record).__name__}")
    return record


def field(record: dict[str, Any], key: str, where: str, kind: type | tuple[type, ...]) -> Any:
    """``record[key]``, which must exist and be of ``kind``; else an error naming ``where`` and the key."""
    if key not in record:
        raise DataError(f"{where}: no {key!r} field; expected one (found {', '.join(map(str, list(record)[:12]))})")
    value = record[key]
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise DataError(f"{where}: field {key!r} is {type(value).__name__}; expected {names}")
    return value
