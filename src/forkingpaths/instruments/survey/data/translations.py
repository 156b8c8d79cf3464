"""Item translations for the ``language`` factor, from a file the user supplies.

A translations file (CSV, JSONL or Parquet) has one row per item × language with the
columns ``item_id``, ``language``, ``question`` and ``options`` — the translated options
in the item's own (canonical) order, a list (a JSON array in CSV). Translations attach
to items from any loader; human distributions are unchanged, since a translated
question asks the same thing.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from forkingpaths.data import cells
from forkingpaths.instruments.survey.data.items import SurveyItem, Translation
from forkingpaths.data.tables import read_table, resolve_columns
from forkingpaths.errors import DataError

COLUMNS = ("item_id", "language", "question", "options")


def attach_translations(items: list[SurveyItem], path: str, base_dir: Path) -> list[SurveyItem]:
    """The items with their translations from ``path`` added; every problem is one DataError."""
    table = read_table(base_dir / path, path)
    cols = resolve_columns(table, {}, COLUMNS, layout="translations")
    by_id = {item.item_id: item for item in items}
    found: dict[str, dict[str, Translation]] = {}
    for row in table.rows:
        item_id = cells.text(row, cols["item_id"])
        language = cells.text(row, cols["language"])
        item = by_id.get(item_id)
        if item is None:
            continue  # an item filtered out or not in this data set: its translation is not needed
        options = cells.text_list(row, cols["options"])
        if len(options) != len(item.options):
            raise DataError(
                f"{row.where}: item {item_id!r} has {len(item.options)} options but the {language!r} "
                f"translation lists {len(options)}; give them in the item's own order"
            )
        if language in found.setdefault(item_id, {}) or language in item.translations:
            raise DataError(f"{row.where}: a second {language!r} translation of item {item_id!r}")
        found[item_id][language] = Translation(cells.text(row, cols["question"]), options)
    return [
        dataclasses.replace(item, translations={**item.translations, **found[item.item_id]}) if item.item_id in found else item
        for item in items
    ]
