"""The GlobalOpinionQA layout (Durmus et al., Anthropic): one row per question, groups inside a text cell.

The ``options`` cell is a Python list literal and ``selections`` is the printed form of a
``defaultdict`` mapping each country to its distribution. That text is data, not code:
the wrapper is removed with a strict pattern and only the dict literal that remains is
read, with :func:`ast.literal_eval`, which accepts literals and nothing else.
"""

from __future__ import annotations

import ast
import hashlib
import re
from typing import Any

from forkingpaths.data import cells
from forkingpaths.instruments.survey.data.items import SurveyItem
from forkingpaths.data.tables import Row, Table, resolve_columns
from forkingpaths.instruments.survey.data.validation import check_options
from forkingpaths.errors import DataError

REQUIRED = ("question", "options", "selections")
OPTIONAL = ("source", "topic")
PARAMS = ("id_column",)

_DEFAULTDICT = re.compile(r"\A\s*defaultdict\(\s*<class\s+'list'>\s*,\s*(?P<body>\{.*\})\s*\)\s*\Z", re.DOTALL)
_SELECTIONS_SHAPE = "defaultdict(<class 'list'>, {'Country': [0.4, 0.6], ...})"


def item_id_for(question: str, source: str | None) -> str:
    """A short id that stays the same across runs and file orderings: a hash of source and question."""
    digest = hashlib.sha256(f"{source or ''}\x1f{question}".encode()).hexdigest()
    return f"goqa-{digest[:12]}"


def globalopinionqa(table: Table, columns: dict[str, str], id_column: str | None = None) -> list[SurveyItem]:
    """Items from GlobalOpinionQA rows; ``id_column`` names a column of ids to use instead of the hash."""
    cols = resolve_columns(table, columns, REQUIRED, OPTIONAL, layout="globalopinionqa")
    if id_column is not None and id_column not in table.columns:
        raise DataError(
            f"data.params.id_column: {table.name} has no column {id_column!r}; "
            f"columns found: {', '.join(table.columns)}"
        )
    items: list[SurveyItem] = []
    first_row: dict[str, Row] = {}
    for row in table.rows:
        question = cells.text(row, cols["question"])
        source = cells.optional_text(row, cols.get("source"))
        item_id = cells.text(row, id_column) if id_column else item_id_for(question, source)
        if item_id in first_row:
            hint = (
                f"ids in column {id_column!r} must be unique"
                if id_column
                else ("same question and source; set data.params.id_column to a column of unique ids")
            )
            raise DataError(f"{row.where}: repeats item {item_id!r} of {first_row[item_id].label} ({hint})")
        first_row[item_id] = row
        options = _options(row, cols["options"])
        distributions = _selections(row, cols["selections"], options)
        topic = cells.optional_text(row, cols.get("topic"))
        items.append(SurveyItem(item_id, question, options, distributions, False, topic, source))
    return items


def _options(row: Row, column: str) -> tuple[str, ...]:
    value = row.values.get(column)
    what = f"{row.where}: column {column!r}"
    if isinstance(value, str):
        text = value.strip()
        if not (text.startswith("[") and text.endswith("]")):
            raise DataError(f"{what} must be a list literal like \"['Yes', 'No']\", got {_short(value)}")
        value = _literal(text, what, "list")
    if not isinstance(value, (list, tuple)):
        raise DataError(f"{what} must be a list of options, got {_short(value)}")
    options = []
    for index, option in enumerate(value, start=1):
        if isinstance(option, int) and not isinstance(option, bool):
            option = str(option)
        if not isinstance(option, str):
            raise DataError(f"{what} option {index} must be text, got {option!r}")
        options.append(option.strip())
    return check_options(options, what)


def _selections(row: Row, column: str, options: tuple[str, ...]) -> dict[str, tuple[float, ...]]:
    value = row.values.get(column)
    what = f"{row.where}: column {column!r}"
    if isinstance(value, str):
        match = _DEFAULTDICT.match(value)
        body = match.group("body") if match else value.strip()
        if not (body.startswith("{") and body.endswith("}")):
            raise DataError(f'{what} must look like "{_SELECTIONS_SHAPE}", got {_short(value)}')
        value = _literal(body, what, "dict")
    if not isinstance(value, dict):
        raise DataError(f"{what} must map each group to a list of probabilities, got {_short(value)}")
    if not value:
        raise DataError(f"{what} has no groups; expected {_SELECTIONS_SHAPE}")
    distributions: dict[str, tuple[float, ...]] = {}
    for group, probs in value.items():
        if not isinstance(group, str) or not group.strip():
            raise DataError(f"{what}: group names must be non-empty text, got {group!r}")
        entry = f"{what} group {group!r}"
        if not isinstance(probs, (list, tuple)):
            raise DataError(f"{entry} must be a list of probabilities, got {_short(probs)}")
        if len(probs) != len(options):
            raise DataError(
                f"{entry} has {len(probs)} probabilities but there are {len(options)} options {list(options)!r}"
            )
        distributions[group.strip()] = tuple(
            cells.as_probability(p, f"{entry} entry {i}") for i, p in enumerate(probs, 1)
        )
    return distributions


def _literal(text: str, what: str, kind: str) -> Any:
    try:
        return ast.literal_eval(text)
    except SyntaxError as error:
        raise DataError(f"{what} is not a valid Python {kind} literal ({error.msg}): {_short(text)}") from None
    except (ValueError, TypeError, MemoryError, RecursionError):
        reason = "only plain literals such as strings, numbers, lists and dicts are allowed"
        raise DataError(f"{what} is not a valid Python {kind} literal ({reason}): {_short(text)}") from None


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
