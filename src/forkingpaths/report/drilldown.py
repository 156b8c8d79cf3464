"""The item drill-down: every trial's answer next to the question it answered.

Aggregates hide how a model failed; the drill-down lets a reader check single
answers — what was asked, which option the model chose, the probability it put on
each option, how much probability fell on valid labels at all, and the raw text.
Rows come from trials.parquet and the item texts from items.json. A run with
very many trials shows its first :data:`MAX_ROWS` rows and says so; the full
table stays in trials.parquet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from forkingpaths.report.source import RunSource

MAX_ROWS = 5000


@dataclass(frozen=True)
class AnswerRow:
    """One trial as the table shows it."""

    model: str
    item_id: str
    question: str
    levels: list[str]
    repeat: int
    answer: str
    probabilities: str
    valid_mass: float | None
    response: str
    error: str


@dataclass(frozen=True)
class DrillDown:
    factors: list[str]
    rows: list[AnswerRow]
    total: int
    items: list[dict[str, Any]]


def _present(value: Any) -> bool:
    if value is None:
        return False
    return not (isinstance(value, float) and math.isnan(value))


def _probabilities(probs: Any, options: list[str]) -> str:
    """``Yes 0.620 · No 0.380`` in the item's canonical option order (empty for sampled answers)."""
    if probs is None or len(probs) == 0:
        return ""
    parts = []
    for index, p in enumerate(probs):
        option = options[index] if index < len(options) else f"option {index + 1}"
        parts.append(f"{option} {p:.3f}" if _present(p) else f"{option} n/a")
    return " · ".join(parts)


def drilldown(source: RunSource) -> DrillDown:
    """The rows of the answers table (first :data:`MAX_ROWS`) and the items table."""
    items = {str(item["item_id"]): item for item in source.items}
    factors = list(source.results.get("design", "factors", default={}) or {})
    trials: pd.DataFrame = source.trials
    rows = []
    for record in trials.head(MAX_ROWS).to_dict(orient="records"):
        item = items.get(str(record["item_id"]), {})
        options = [str(o) for o in item.get("options", [])]
        mass = record.get("valid_mass")
        rows.append(
            AnswerRow(
                model=str(record["model"]),
                item_id=str(record["item_id"]),
                question=str(item.get("question", "")),
                levels=[str(record.get(f, "")) for f in factors],
                repeat=int(record.get("repeat", 0)),
                answer=str(record["answer"]) if _present(record.get("answer")) else "",
                probabilities=_probabilities(record.get("option_probs"), options),
                valid_mass=float(mass) if _present(mass) else None,
                response=str(record["response_text"]) if _present(record.get("response_text")) else "",
                error=str(record["error"]) if _present(record.get("error")) else "",
            )
        )
    return DrillDown(factors, rows, len(trials), list(items.values()))
