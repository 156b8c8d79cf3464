"""Loaders of single-response items (``instrument.params.mode: single``): one response, one human score on a scale.

``tidy``: a CSV, JSONL or Parquet file with one row per response (columns ``item_id``,
``instruction``, ``response``, ``score``; optional ``category``; renamed with
``data.columns``). ``builtin`` (``data.params.name: scored-example``): 32 short responses
written for forkingpaths with illustrative scores (see SOURCE.md). ``data.params.scale:
[low, high]`` (whole numbers, default ``[1, 5]``) is the scale of the human scores, and the
judge is asked on the same scale. Every problem is one line naming the file and row, raised
before any model is loaded.
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path
from typing import Any

from forkingpaths.data.params import Params
from forkingpaths.data.tables import Row, jsonl_table, read_table, resolve_columns
from forkingpaths.errors import DataError
from forkingpaths.instruments.judge.data.loaders import filtered
from forkingpaths.instruments.judge.items import ScoredItem, check_unique, require_text
from forkingpaths.spec import DataSpec

BUILTIN = {"scored-example": "scored_example.jsonl"}
LOADERS = ("tidy", "builtin")
DEFAULT_SCALE = (1, 5)


def scale(value: Any) -> tuple[int, int]:
    """``data.params.scale``: two whole numbers ``[low, high]`` with ``low < high``."""
    if value is None:
        return DEFAULT_SCALE
    ok = isinstance(value, list | tuple) and len(value) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    if not ok or value[0] >= value[1]:
        raise DataError(f"data.params.scale: expected two whole numbers [low, high] with low < high, got {value!r}")
    return int(value[0]), int(value[1])


def _score(value: Any, where: str, low: int, high: int) -> float:
    try:
        number = float(str(value).strip()) if value is not None and str(value).strip() else math.nan
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or not low <= number <= high:
        raise DataError(f"{where}: score {value!r} is not a number from {low} to {high} (data.params.scale)")
    return number


def _item(row: Row, cols: Any, low: int, high: int, source: str) -> ScoredItem:
    v, where = row.values, row.where
    category = v.get(cols.get("category")) if cols.get("category") else None
    return ScoredItem(
        item_id=require_text(v, cols["item_id"], where, "item_id").strip(),
        instruction=require_text(v, cols["instruction"], where, "instruction"),
        response=require_text(v, cols["response"], where, "response"),
        score=_score(v.get(cols["score"]), where, low, high),
        low=low, high=high,
        category=str(category) if category not in (None, "") else None,
        source=source,
    )


def load_scored_items(data: DataSpec, base_dir: Path) -> list[ScoredItem]:
    """The spec's single-response items, then ``data.filter`` (on ``category``) and ``data.limit``."""
    if data.loader not in LOADERS:
        raise DataError(f"data.loader: {data.loader!r} does not give single-response items; expected one of {', '.join(LOADERS)}")
    if data.loader == "builtin":
        params = Params(data.params, ("name", "scale"), data.loader)
        which = params.choice("name", tuple(BUILTIN), "scored-example")
        text = resources.files("forkingpaths.instruments.judge.data").joinpath(BUILTIN[which]).read_text(encoding="utf-8")
        table, source = jsonl_table(text, f"builtin {which}"), "forkingpaths example (own wording, illustrative scores)"
    else:
        Params(data.params, ("scale",), data.loader)
        if not data.path:
            raise DataError("data.path: required for loader 'tidy'")
        table, source = read_table(base_dir / data.path, data.path), "user file"
    low, high = scale(data.params.get("scale"))
    cols = resolve_columns(table, data.columns, ["item_id", "instruction", "response", "score"], ["category"], layout="single")
    return filtered(check_unique([(_item(row, cols, low, high, source), row.where) for row in table.rows]), data)
