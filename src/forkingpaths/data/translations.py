"""Item translations for a ``language`` factor, from a file the user supplies.

A translations file (CSV, JSONL or Parquet) has one row per item × language with the
columns ``item_id``, ``language``, ``question`` and ``options`` — the translated options
in the item's own (canonical) order, a list (a JSON array in CSV). Instruments attach the
result to their items; rows for items not in the data set (filtered out) are skipped.
"""

from __future__ import annotations

from pathlib import Path

from forkingpaths.data import cells
from forkingpaths.data.tables import read_table, resolve_columns
from forkingpaths.errors import DataError

COLUMNS = ("item_id", "language", "question", "options")

#: item id → language → (question, options in the item's canonical order)
Translations = dict[str, dict[str, tuple[str, tuple[str, ...]]]]


def read_translations(path: str, base_dir: Path, option_counts: dict[str, int], existing: dict[str, set[str]] | None = None) -> Translations:
    """The translations in ``path`` of the items named in ``option_counts`` (item id → number of options).

    Every problem is one ``DataError`` naming the row: a translation with a different number
    of options, or a second translation of an item into one language (also against the
    languages in ``existing``, item id → languages already known).
    """
    table = read_table(base_dir / path, path)
    cols = resolve_columns(table, {}, COLUMNS, layout="translations")
    found: Translations = {}
    for row in table.rows:
        item_id = cells.text(row, cols["item_id"])
        language = cells.text(row, cols["language"])
        if item_id not in option_counts:
            continue
        options = cells.text_list(row, cols["options"])
        if len(options) != option_counts[item_id]:
            raise DataError(
                f"{row.where}: item {item_id!r} has {option_counts[item_id]} options but the {language!r} "
                f"translation lists {len(options)}; give them in the item's own order"
            )
        if language in found.setdefault(item_id, {}) or language in (existing or {}).get(item_id, set()):
            raise DataError(f"{row.where}: a second {language!r} translation of item {item_id!r}")
        found[item_id][language] = (cells.text(row, cols["question"]), tuple(options))
    return found
