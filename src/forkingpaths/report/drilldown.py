"""The item drill-down: every trial's answer next to what it was asked.

Aggregates hide how a model failed; the drill-down lets a reader check single
answers — what was asked, in which condition, what the instrument read from the
answer (its own columns, :class:`~forkingpaths.report.parts.DrillColumn`), and
the raw text. Rows come from trials.parquet and the item texts from items.json.
A run with very many trials shows its first :data:`MAX_ROWS` rows and says so;
the full table stays in trials.parquet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from forkingpaths.report.parts import DrillColumn, Presentation
from forkingpaths.report.source import RunSource

MAX_ROWS = 5000


@dataclass(frozen=True)
class AnswerRow:
    """One trial as the table shows it."""

    model: str
    item_id: str
    text: str
    levels: list[str]
    repeat: int
    values: list[str]
    response: str
    error: str


@dataclass(frozen=True)
class ItemRow:
    item_id: str
    text: str
    details: list[str]


@dataclass(frozen=True)
class DrillDown:
    factors: list[str]
    columns: list[DrillColumn]
    rows: list[AnswerRow]
    total: int
    items: list[ItemRow]


def present(value: Any) -> bool:
    """Whether a trials-table cell holds a value (not None, not NaN)."""
    if value is None:
        return False
    return not (isinstance(value, float) and math.isnan(value))


def drilldown(source: RunSource, parts: Presentation) -> DrillDown:
    """The rows of the answers table (first :data:`MAX_ROWS`) and the items table."""
    items = {str(item["item_id"]): item for item in source.items}
    factors = list(source.results.get("manifest", "design", "factors", default={}) or {})
    columns = parts.drill_columns(source)
    trials: pd.DataFrame = source.trials
    rows = []
    records: list[dict[str, Any]] = trials.head(MAX_ROWS).to_dict(orient="records")  # type: ignore[assignment]
    for record in records:
        item = items.get(str(record["item_id"]), {})
        rows.append(
            AnswerRow(
                model=str(record["model"]),
                item_id=str(record["item_id"]),
                text=parts.item_text(item),
                levels=[str(record.get(f, "")) for f in factors],
                repeat=int(record.get("repeat", 0)),
                values=[column.value(record, item) for column in columns],
                response=str(record["response_text"]) if present(record.get("response_text")) else "",
                error=str(record["error"]) if present(record.get("error")) else "",
            )
        )
    item_rows = [ItemRow(item_id, parts.item_text(item), parts.item_details(item)) for item_id, item in items.items()]
    return DrillDown(factors, columns, rows, len(trials), item_rows)
