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

from forkingpaths.data.translations import read_translations
from forkingpaths.instruments.survey.data.items import SurveyItem, Translation


def attach_translations(items: list[SurveyItem], path: str, base_dir: Path) -> list[SurveyItem]:
    """The items with their translations from ``path`` added; every problem is one DataError."""
    found = read_translations(
        path, base_dir, {item.item_id: len(item.options) for item in items}, {item.item_id: set(item.translations) for item in items}
    )
    return [
        dataclasses.replace(
            item,
            translations={**item.translations, **{lang: Translation(q, o) for lang, (q, o) in found[item.item_id].items()}},
        )
        if item.item_id in found
        else item
        for item in items
    ]
