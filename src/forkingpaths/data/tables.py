"""Reading tabular sources (CSV, JSONL, Parquet, in-memory records) into rows that know where they came from.

Every layout works on a :class:`Table`, so one set of parsing rules serves files on
disk, package data and Hugging Face datasets alike, and every error can point at the
exact row (``data/opinions.csv row 7``) and column the user has to fix.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forkingpaths.errors import DataError

SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True)
class Row:
    """One record and its human-facing position (``row 7`` in a CSV counts the header as row 1)."""

    source: str
    label: str
    values: Mapping[str, Any]

    @property
    def where(self) -> str:
        return f"{self.source} {self.label}"


@dataclass(frozen=True)
class Table:
    """The rows of one source, with the column names it offers."""

    name: str
    columns: tuple[str, ...]
    rows: tuple[Row, ...]


def read_table(path: Path, name: str) -> Table:
    """Read a CSV, JSONL or Parquet file, chosen by extension; ``name`` is how messages refer to it."""
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        expected = ", ".join(sorted(SUFFIXES))
        raise DataError(f"{name}: unsupported file type {path.suffix or '(none)'!r}; expected one of {expected}")
    if not path.is_file():
        raise DataError(f"{name}: file not found (looked for {path})")
    if kind == "parquet":
        return _parquet_table(path, name)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataError(f"{name}: not valid UTF-8 text (byte {error.start})") from None
    return csv_table(text, name) if kind == "csv" else jsonl_table(text, name)


def csv_table(text: str, name: str) -> Table:
    """Parse CSV text with a header row; every cell stays text until a layout asks for a type."""
    try:
        records = [
            (number, record)
            for number, record in enumerate(csv.reader(io.StringIO(text, newline="")), start=1)
            if any(cell.strip() for cell in record)
        ]
    except csv.Error as error:
        raise DataError(f"{name}: not valid CSV ({error})") from None
    if not records:
        raise DataError(f"{name}: file is empty; expected a header row and at least one data row")
    (_, first), *body = records
    header = tuple(cell.strip() for cell in first)
    _check_header(header, name)
    rows = []
    for number, record in body:
        if len(record) != len(header):
            raise DataError(f"{name} row {number}: has {len(record)} fields but the header has {len(header)}")
        rows.append(Row(name, f"row {number}", dict(zip(header, record))))
    return _non_empty(Table(name, header, tuple(rows)))


def jsonl_table(text: str, name: str) -> Table:
    """Parse JSON Lines: one object per non-blank line; columns are the union of keys in file order."""
    rows = []
    columns: dict[str, None] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(f"{name} line {number}: invalid JSON ({error.msg} at column {error.colno})") from None
        if not isinstance(record, dict):
            raise DataError(f"{name} line {number}: expected a JSON object, got {type(record).__name__}")
        columns.update(dict.fromkeys(record))
        rows.append(Row(name, f"line {number}", record))
    if not rows:
        raise DataError(f"{name}: file is empty; expected one JSON object per line")
    return Table(name, tuple(columns), tuple(rows))


def records_table(records: Iterable[Mapping[str, Any]], columns: Sequence[str], name: str) -> Table:
    """Wrap in-memory records (Parquet, Hugging Face); rows are numbered from 1."""
    rows = tuple(Row(name, f"row {number}", record) for number, record in enumerate(records, start=1))
    header = tuple(columns)
    _check_header(header, name)
    return _non_empty(Table(name, header, rows))


def _parquet_table(path: Path, name: str) -> Table:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as error:
        raise DataError(f"{name}: cannot read as Parquet ({_first_line(error)})") from None
    return records_table(table.to_pylist(), table.column_names, name)


def _check_header(header: tuple[str, ...], name: str) -> None:
    seen: set[str] = set()
    for column in header:
        if not column:
            raise DataError(f"{name} row 1: the header has an empty column name")
        if column in seen:
            raise DataError(f"{name} row 1: column {column!r} appears twice in the header")
        seen.add(column)


def _non_empty(table: Table) -> Table:
    if not table.rows:
        raise DataError(f"{table.name}: has a header but no data rows")
    return table


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


@dataclass(frozen=True)
class Columns:
    """Logical column name → the source's column name, for the columns that are present."""

    present: Mapping[str, str]

    def __getitem__(self, logical: str) -> str:
        return self.present[logical]

    def get(self, logical: str) -> str | None:
        return self.present.get(logical)


def resolve_columns(
    table: Table,
    mapping: Mapping[str, str],
    required: Sequence[str],
    optional: Sequence[str] = (),
    defaults: Mapping[str, str] | None = None,
    *,
    layout: str,
) -> Columns:
    """Find each logical column of a layout in the table.

    A column is looked up under its ``data.columns`` name, else its default name (the
    logical name unless ``defaults`` says otherwise). Optional columns that the user
    mapped explicitly must exist; unmapped ones are used only when present.
    """
    defaults = defaults or {}
    known = (*required, *optional)
    for logical in mapping:
        if logical not in known:
            raise DataError(
                f"data.columns: {logical!r} is not a column of layout {layout!r}; expected one of {', '.join(known)}"
            )
    found = set(table.columns)
    present: dict[str, str] = {}
    for logical in known:
        actual = mapping.get(logical, defaults.get(logical, logical))
        if actual in found:
            present[logical] = actual
        elif logical in required or logical in mapping:
            hint = (
                f"data.columns maps {logical!r} to it"
                if logical in mapping
                else f"set data.columns.{logical} if yours is named differently"
            )
            raise DataError(
                f"{table.name}: missing column {actual!r} ({hint}); columns found: {', '.join(table.columns)}"
            )
    return Columns(present)
