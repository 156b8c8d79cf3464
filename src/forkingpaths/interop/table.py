"""Plain tables of per-item scores (CSV, JSONL, Parquet): the ``table`` importer.

Two layouts, told apart by their columns (after ``--map COLUMN=FIELD`` renames):

* **long** — one row per trial, with ``item_id``, ``model`` and ``correct`` columns.
  Optional fields: ``repeat``, ``chosen``, ``gold``, ``n_options`` (canonical 0-based
  option indices and the option count), ``response_text``, ``question``, ``subject``.
  Every other column is a design factor (its values become levels), unless mapped to
  ``-`` (ignored).
* **wide** — a correctness matrix: an ``item_id`` column and one column per model
  (no ``model`` or ``correct`` column). An empty cell means that model has no answer
  for the item (ZeroEval's GSM8K matrix: one model answered 681 of 1,319 items).
  Optional ``question`` and ``subject`` columns describe the item (they are not models).

``correct`` cells are 0/1, true/false or yes/no; an empty ``correct`` cell in the long
layout is an error row (the trial exists, its score does not). ``--factor NAME=LEVEL``
given before a file adds a constant factor to every row of that file.
"""

from __future__ import annotations

from forkingpaths.data import cells
from forkingpaths.data.tables import Row, Table, read_table
from forkingpaths.errors import DataError
from forkingpaths.interop.imported import FileArg, Imported, ImportedItem, ImportedTrial, Source
from forkingpaths.results import file_sha256

FIELDS = ("item_id", "model", "correct", "repeat", "chosen", "gold", "n_options", "response_text", "question", "subject")
IGNORE = "-"


def _score(row: Row, column: str) -> bool | None:
    """A 0/1 correctness cell; ``None`` when empty (no score)."""
    value = row.values.get(column)
    if cells.is_blank(value):
        return None
    if isinstance(value, float) and value in (0.0, 1.0):
        return bool(value)
    try:
        return cells.flag(row, column)
    except DataError:
        raise DataError(f"{row.where}: column {column!r} must be a 0/1 correctness score (0, 1, true, false), got {value!r}") from None


def _optional_int(row: Row, column: str | None) -> int | None:
    if column is None or cells.is_blank(row.values.get(column)):
        return None
    value = row.values.get(column)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return cells.integer(row, column)


def _renamed(table: Table, mapping: dict[str, str]) -> dict[str, str]:
    """Field → the file's column, and factor name → column, after the user's renames."""
    for column, target in mapping.items():
        if column not in table.columns:
            raise DataError(f"{table.name}: --map names column {column!r}, which the file does not have; columns: {', '.join(table.columns)}")
        if target != IGNORE and list(mapping.values()).count(target) > 1:
            raise DataError(f"--map: two columns are mapped to {target!r}")
    return {mapping.get(c, c): c for c in table.columns if mapping.get(c) != IGNORE}


def _long(table: Table, columns: dict[str, str], file: FileArg, index: int, items: dict[str, ImportedItem]) -> list[ImportedTrial]:
    factors = [name for name in columns if name not in FIELDS]
    clash = [f for f in factors if f in file.levels]
    if clash:
        raise DataError(f"{table.name}: factor {clash[0]!r} is both a column and a --factor level; drop one")
    out = []
    for row in table.rows:
        item_id = cells.text(row, columns["item_id"])
        levels = {**file.levels, **{f: cells.text(row, columns[f]) for f in factors}}
        correct = _score(row, columns["correct"])
        gold = _optional_int(row, columns.get("gold"))
        chosen = _optional_int(row, columns.get("chosen"))
        out.append(
            ImportedTrial(
                model=cells.text(row, columns["model"]),
                item_id=item_id,
                levels=levels,
                repeat=_optional_int(row, columns.get("repeat")) or 0,
                correct=correct,
                source=index,
                where=row.label,
                chosen=chosen,
                gold=gold,
                n_options=_optional_int(row, columns.get("n_options")),
                parsed=None if chosen is None else True,
                response_text=cells.optional_text(row, columns.get("response_text")),
                error=None if correct is not None else f"no score in {table.name} {row.label}",
            )
        )
        if item_id not in items:
            question = cells.optional_text(row, columns.get("question")) or ""
            items[item_id] = ImportedItem(item_id, question, (), gold, cells.optional_text(row, columns.get("subject")))
    return out


#: Columns of a wide table that describe the item rather than name a model.
WIDE_ITEM_FIELDS = ("item_id", "question", "subject")


def _wide(table: Table, columns: dict[str, str], file: FileArg, index: int, items: dict[str, ImportedItem]) -> list[ImportedTrial]:
    models = [name for name in columns if name not in WIDE_ITEM_FIELDS]
    if not models:
        raise DataError(f"{table.name}: a wide table needs one column per model beside {columns['item_id']!r}")
    out = []
    for row in table.rows:
        item_id = cells.text(row, columns["item_id"])
        question = cells.optional_text(row, columns.get("question")) or ""
        items.setdefault(item_id, ImportedItem(item_id, question, (), None, cells.optional_text(row, columns.get("subject"))))
        for model in models:
            correct = _score(row, columns[model])
            if correct is not None:
                out.append(ImportedTrial(model, item_id, dict(file.levels), 0, correct, index, row.label))
    return out


def import_table(files: list[FileArg], mapping: dict[str, str]) -> Imported:
    """Read every file (long or wide layout, see the module docstring) into one :class:`Imported`."""
    trials: list[ImportedTrial] = []
    items: dict[str, ImportedItem] = {}
    sources: list[Source] = []
    factors: dict[str, None] = {}
    for file in files:
        table = read_table(file.path, str(file.path))
        columns = _renamed(table, mapping)
        if "item_id" not in columns:
            raise DataError(f"{table.name}: no item_id column (use --map COLUMN=item_id); columns: {', '.join(table.columns)}")
        long = "model" in columns or "correct" in columns
        if long and not {"model", "correct"} <= set(columns):
            lacking = "model" if "model" not in columns else "correct"
            raise DataError(f"{table.name}: a long table needs item_id, model and correct columns; no {lacking!r} (use --map COLUMN={lacking})")
        layout = _long if long else _wide
        rows = layout(table, columns, file, len(sources), items)
        sources.append(Source(str(file.path), file_sha256(file.path), dict(file.levels), {"layout": "long" if long else "wide"}))
        factors.update(dict.fromkeys(file.levels))
        if long:
            factors.update(dict.fromkeys(name for name in columns if name not in FIELDS))
        trials.extend(rows)
    return Imported("table", trials, items, sources, list(factors), cannot_know=_CANNOT_KNOW)


_CANNOT_KNOW = [
    "the prompts and option orders behind each score, unless the table has columns for them",
    "the models' option probabilities (no calibration analysis)",
]

