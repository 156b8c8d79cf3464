"""Typed reading of single cells.

CSV cells arrive as text while JSONL, Parquet and Hugging Face cells arrive typed; these
functions accept both and turn every bad value into one ``DataError`` that names the
row, the column and what was expected.
"""

from __future__ import annotations

import json
import math
from numbers import Real
from typing import Any

from forkingpaths.data.tables import Row
from forkingpaths.errors import DataError

_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}


def is_blank(value: Any) -> bool:
    """Empty text, a JSON/Parquet null, or a float NaN standing in for a missing cell."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, float) and math.isnan(value)


def _cell(row: Row, column: str) -> str:
    return f"{row.where}: column {column!r}"


def text(row: Row, column: str) -> str:
    """A required, non-empty piece of text (integers are accepted as ids and turned into text)."""
    value = row.values.get(column)
    if is_blank(value):
        raise DataError(f"{_cell(row, column)} is empty; expected text")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise DataError(f"{_cell(row, column)} must be text, got {value!r}")
    return value.strip()


def optional_text(row: Row, column: str | None) -> str | None:
    """Text from an optional column; absent column or empty cell gives ``None``."""
    if column is None or is_blank(row.values.get(column)):
        return None
    return text(row, column)


def as_number(value: Any, what: str) -> float:
    """A finite number from a number or its text; ``what`` names the cell in the message."""
    if isinstance(value, bool) or not isinstance(value, (Real, str)):
        raise DataError(f"{what} must be a number, got {value!r}")
    if isinstance(value, str):
        if not value.strip():
            raise DataError(f"{what} is empty; expected a number")
        try:
            number = float(value.strip())
        except ValueError:
            raise DataError(f"{what} must be a number, got {value!r}") from None
    else:
        number = float(value)
    if math.isnan(number):
        raise DataError(f"{what} must be a number, got NaN")
    if math.isinf(number):
        raise DataError(f"{what} must be a finite number, got {value!r}")
    return number


def as_probability(value: Any, what: str) -> float:
    """A non-negative finite number; sums are checked later, per distribution."""
    number = as_number(value, what)
    if number < 0:
        raise DataError(f"{what} must not be negative, got {value!r}")
    return number


def probability(row: Row, column: str) -> float:
    value = row.values.get(column)
    if value is None:
        raise DataError(f"{_cell(row, column)} is empty; expected a number")
    return as_probability(value, _cell(row, column))


def share(row: Row, column: str) -> float:
    """A proportion between 0 and 1 inclusive."""
    number = probability(row, column)
    if number > 1:
        raise DataError(f"{_cell(row, column)} must be between 0 and 1, got {row.values.get(column)!r}")
    return number


def integer(row: Row, column: str) -> int:
    value = row.values.get(column)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise DataError(f"{_cell(row, column)} must be a whole number, got {value!r}")


def flag(row: Row, column: str | None) -> bool:
    """A yes/no cell (true/false, yes/no, 1/0, any case); absent or empty means ``False``."""
    if column is None:
        return False
    value = row.values.get(column)
    if is_blank(value):
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise DataError(f"{_cell(row, column)} must be true or false, got {value!r}")


def _json_list(row: Row, column: str, what: str) -> list[Any]:
    value = row.values.get(column)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise DataError(f"{_cell(row, column)} must be a JSON array of {what}, got {value!r}") from None
    if not isinstance(value, (list, tuple)):
        raise DataError(f"{_cell(row, column)} must be a list of {what}, got {value!r}")
    return list(value)


def text_list(row: Row, column: str) -> tuple[str, ...]:
    """A list of texts, or (in CSV) a JSON array of strings."""
    values = _json_list(row, column, "strings")
    for index, value in enumerate(values):
        if not isinstance(value, str):
            raise DataError(f"{_cell(row, column)} entry {index + 1} must be text, got {value!r}")
    return tuple(v.strip() for v in values)


def probability_list(row: Row, column: str) -> tuple[float, ...]:
    """A list of probabilities, or (in CSV) a JSON array of numbers."""
    values = _json_list(row, column, "numbers")
    return tuple(as_probability(v, f"{_cell(row, column)} entry {i + 1}") for i, v in enumerate(values))
