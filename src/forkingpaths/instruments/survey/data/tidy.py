"""The tidy layouts: ``tidy-long`` (one row per item × group × option) and ``tidy-wide`` (item × group).

Both spread one item over several rows, so besides parsing cells they check that the
rows of an item agree with each other (same question, topic, options) and that no
row repeats another; each disagreement names both rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from forkingpaths.data import cells
from forkingpaths.instruments.survey.data.items import SurveyItem
from forkingpaths.data.tables import Columns, Row, Table, resolve_columns
from forkingpaths.instruments.survey.data.validation import check_options
from forkingpaths.errors import DataError

LONG_REQUIRED = ("item_id", "question", "option", "probability", "group")
LONG_OPTIONAL = ("topic", "ordered", "option_index")
WIDE_REQUIRED = ("item_id", "question", "options", "distribution", "group")
WIDE_OPTIONAL = ("topic", "ordered")


@dataclass
class _Item:
    """What the rows of one item have said so far, with the row that said it first."""

    item_id: str
    first: Row
    question: str
    topic: str | None
    ordered: bool
    options: list[str] = field(default_factory=list)
    option_index: dict[str, tuple[int, Row]] = field(default_factory=dict)
    groups: dict[str, dict[str, tuple[float, Row]]] = field(default_factory=dict)

    def agree(self, row: Row, column: str | None, name: str, value: object, first_value: object) -> None:
        """Item-level fields must read the same on every row of the item."""
        if value != first_value:
            raise DataError(
                f"{row.where}: column {column!r} for item {self.item_id!r} is {value!r}, "
                f"but {self.first.label} gave {first_value!r} ({name} must be the same on every row of an item)"
            )


def _item_for(items: dict[str, _Item], row: Row, cols: Columns) -> _Item:
    """Start an item on its first row, or check this row against the item's first row."""
    item_id = cells.text(row, cols["item_id"])
    question = cells.text(row, cols["question"])
    topic = cells.optional_text(row, cols.get("topic"))
    ordered = cells.flag(row, cols.get("ordered"))
    item = items.get(item_id)
    if item is None:
        item = items[item_id] = _Item(item_id, row, question, topic, ordered)
    else:
        item.agree(row, cols["question"], "the question", question, item.question)
        item.agree(row, cols.get("topic"), "the topic", topic, item.topic)
        item.agree(row, cols.get("ordered"), "'ordered'", ordered, item.ordered)
    return item


def tidy_long(table: Table, columns: dict[str, str]) -> list[SurveyItem]:
    """Items from one row per item × group × option.

    Options take the order of ``option_index`` when that column is present, else the
    order in which they first appear for the item. Every group of an item must give a
    probability for exactly the item's options.
    """
    cols = resolve_columns(table, columns, LONG_REQUIRED, LONG_OPTIONAL, layout="tidy-long")
    items: dict[str, _Item] = {}
    for row in table.rows:
        item = _item_for(items, row, cols)
        option = cells.text(row, cols["option"])
        group = cells.text(row, cols["group"])
        prob = cells.probability(row, cols["probability"])
        if option not in item.options:
            item.options.append(option)
        index_col = cols.get("option_index")
        if index_col is not None:
            _note_option_index(item, row, index_col, option)
        given = item.groups.setdefault(group, {})
        if option in given:
            raise DataError(
                f"{row.where}: item {item.item_id!r} group {group!r} option {option!r} "
                f"was already given in {given[option][1].label}"
            )
        given[option] = (prob, row)
    return [_assemble_long(item, table.name) for item in items.values()]


def _note_option_index(item: _Item, row: Row, column: str, option: str) -> None:
    index = cells.integer(row, column)
    known = item.option_index.get(option)
    if known is None:
        item.option_index[option] = (index, row)
    elif known[0] != index:
        raise DataError(
            f"{row.where}: column {column!r} gives option {option!r} of item {item.item_id!r} index {index}, "
            f"but {known[1].label} gave {known[0]}"
        )


def _assemble_long(item: _Item, source: str) -> SurveyItem:
    where = f"{source} item {item.item_id!r}"
    options = item.options
    if item.option_index:
        by_index: dict[int, str] = {}
        for option, (index, _) in item.option_index.items():
            if index in by_index:
                raise DataError(
                    f"{where}: options {by_index[index]!r} and {option!r} have the same option_index {index}"
                )
            by_index[index] = option
        options = [by_index[i] for i in sorted(by_index)]
    check_options(options, where)
    distributions = {}
    for group, given in item.groups.items():
        missing = [o for o in options if o not in given]
        if missing:
            raise DataError(
                f"{where} group {group!r}: no probability for option(s) {', '.join(map(repr, missing))}; "
                f"every group must cover the item's options {options!r}"
            )
        distributions[group] = tuple(given[o][0] for o in options)
    return SurveyItem(item.item_id, item.question, tuple(options), distributions, item.ordered, item.topic)


def tidy_wide(table: Table, columns: dict[str, str]) -> list[SurveyItem]:
    """Items from one row per item × group, with the options and the distribution as lists.

    Every row of an item must list the same options in the same order.
    """
    cols = resolve_columns(table, columns, WIDE_REQUIRED, WIDE_OPTIONAL, layout="tidy-wide")
    items: dict[str, _Item] = {}
    for row in table.rows:
        item = _item_for(items, row, cols)
        options_col, dist_col = cols["options"], cols["distribution"]
        options = list(check_options(cells.text_list(row, options_col), f"{row.where}: column {options_col!r}"))
        probs = cells.probability_list(row, dist_col)
        group = cells.text(row, cols["group"])
        if len(probs) != len(options):
            raise DataError(
                f"{row.where}: column {dist_col!r} has {len(probs)} values "
                f"but column {options_col!r} has {len(options)}"
            )
        if not item.groups:
            item.options = options
        else:
            item.agree(row, options_col, "the options and their order", options, item.options)
        if group in item.groups:
            first = next(iter(item.groups[group].values()))[1]
            raise DataError(f"{row.where}: item {item.item_id!r} group {group!r} was already given in {first.label}")
        item.groups[group] = {o: (p, row) for o, p in zip(options, probs)}
    return [
        SurveyItem(
            i.item_id,
            i.question,
            tuple(i.options),
            {g: tuple(p for p, _ in given.values()) for g, given in i.groups.items()},
            i.ordered,
            i.topic,
        )
        for i in items.values()
    ]
