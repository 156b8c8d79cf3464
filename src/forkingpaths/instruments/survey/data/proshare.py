"""The ``pro-share`` layout: per-group shares of respondents on the "pro" side of binary items.

Tables such as the World Values Survey pro scores hold only a key, a group and a
number; the words a model is asked come from a separate wordings file joined by key.
Each (group, item) becomes the two-point distribution ``[pro, 1 − pro]`` over
``(pro_option, con_option)``. Items come in wordings-file order, which is the curated
order; groups in order of first appearance in the data file, the same for every item.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from forkingpaths.data import cells
from forkingpaths.instruments.survey.data.items import SurveyItem
from forkingpaths.data.tables import Columns, Row, Table, resolve_columns
from forkingpaths.instruments.survey.data.validation import check_options
from forkingpaths.errors import DataError

log = logging.getLogger(__name__)

DATA_COLUMNS = ("item_id", "pro_score", "group")
WORDING_REQUIRED = ("item_id", "question", "pro_option", "con_option")
WORDING_OPTIONAL = ("topic",)
GROUP_COLUMNS = ("cntry_an", "lnge_iso")
PARAMS = ("wordings", "group_column")
_SHOWN = 10


@dataclass(frozen=True)
class _Wording:
    row: Row
    question: str
    options: tuple[str, ...]
    topic: str | None


def pro_share(data: Table, wordings: Table, columns: dict[str, str], group_column: str) -> list[SurveyItem]:
    """Join shares to wordings by key.

    Keys with data but no wording are skipped with a logged warning (a shares table
    often covers more items than anyone has worded); a wording with no data is an
    error, since it promises an item that cannot be scored.
    """
    data_cols, word_cols = _resolve(data, wordings, columns, group_column)
    worded = _read_wordings(wordings, word_cols)
    shares, groups = _read_shares(data, data_cols)
    unworded = [k for k in shares if k not in worded]
    if unworded:
        shown = ", ".join(unworded[:_SHOWN]) + (", …" if len(unworded) > _SHOWN else "")
        log.warning("%s: skipped %d item(s) with no wording in %s: %s", data.name, len(unworded), wordings.name, shown)
    no_data = [f"{key!r} ({w.row.label})" for key, w in worded.items() if key not in shares]
    if no_data:
        raise DataError(
            f"{wordings.name}: {len(no_data)} worded item(s) have no rows in {data.name}: {', '.join(no_data)}"
        )
    items = []
    for key, wording in worded.items():
        distributions: dict[str, tuple[float, ...]] = {
            g: (shares[key][g], 1.0 - shares[key][g]) for g in groups if g in shares[key]
        }
        items.append(SurveyItem(key, wording.question, wording.options, distributions, False, wording.topic))
    return items


def _resolve(data: Table, wordings: Table, columns: dict[str, str], group_column: str) -> tuple[Columns, Columns]:
    """One ``data.columns`` mapping serves both files; ``item_id`` applies to each."""
    known = dict.fromkeys((*DATA_COLUMNS, *WORDING_REQUIRED, *WORDING_OPTIONAL))
    for logical in columns:
        if logical not in known:
            raise DataError(
                f"data.columns: {logical!r} is not a column of layout 'pro-share'; expected one of {', '.join(known)}"
            )
    if "group" not in columns and group_column not in data.columns:
        other = [c for c in GROUP_COLUMNS if c in data.columns]
        hint = f"; set data.params.group_column: {other[0]}" if other else ""
        raise DataError(
            f"{data.name}: missing group column {group_column!r}{hint}; columns found: {', '.join(data.columns)}"
        )
    data_map = {k: v for k, v in columns.items() if k in DATA_COLUMNS}
    wording_map = {k: v for k, v in columns.items() if k not in DATA_COLUMNS or k == "item_id"}
    key_default = {"item_id": "question_key"}
    data_cols = resolve_columns(
        data, data_map, DATA_COLUMNS, defaults={**key_default, "group": group_column}, layout="pro-share"
    )
    word_cols = resolve_columns(
        wordings, wording_map, WORDING_REQUIRED, WORDING_OPTIONAL, defaults=key_default, layout="pro-share"
    )
    return data_cols, word_cols


def _read_shares(data: Table, cols: Columns) -> tuple[dict[str, dict[str, float]], list[str]]:
    """Pro share per item and group, and all groups in order of first appearance."""
    shares: dict[str, dict[str, float]] = {}
    first: dict[tuple[str, str], Row] = {}
    groups: dict[str, None] = {}
    for row in data.rows:
        key = cells.text(row, cols["item_id"])
        group = cells.text(row, cols["group"])
        score = cells.share(row, cols["pro_score"])
        if (key, group) in first:
            raise DataError(f"{row.where}: item {key!r} group {group!r} was already given in {first[key, group].label}")
        first[key, group] = row
        shares.setdefault(key, {})[group] = score
        groups.setdefault(group)
    return shares, list(groups)


def _read_wordings(table: Table, cols: Columns) -> dict[str, _Wording]:
    worded: dict[str, _Wording] = {}
    for row in table.rows:
        key = cells.text(row, cols["item_id"])
        if key in worded:
            raise DataError(f"{row.where}: item {key!r} was already worded in {worded[key].row.label}")
        options = (cells.text(row, cols["pro_option"]), cells.text(row, cols["con_option"]))
        check_options(options, f"{row.where}: pro and con options")
        worded[key] = _Wording(
            row, cells.text(row, cols["question"]), options, cells.optional_text(row, cols.get("topic"))
        )
    return worded
