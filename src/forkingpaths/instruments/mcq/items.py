"""Multiple-choice items and the rules every loader applies to them.

An item is a question, 2-K options in the data set's own (canonical) order and the
index of the gold option; optionally a subject, a language and a pool of worked
examples (the dev split) that few-shot prompts draw from. Every loader builds its
items through :func:`make_item`, so the same bad row (gold not among the options,
fewer than 2 options, duplicate options or ids) gives the same one-line error naming
the row, whatever the file layout.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from forkingpaths.data.tables import Row
from forkingpaths.errors import DataError

#: Worked examples kept per item for few-shot prompts (the same-subject examples first).
DEV_POOL_MAX = 10


@dataclass(frozen=True)
class Example:
    """A worked example for few-shot prompts: question, options, gold index."""

    question: str
    options: tuple[str, ...]
    gold: int


@dataclass(frozen=True)
class MCQItem:
    """One multiple-choice question; ``gold`` indexes ``options`` (canonical order)."""

    item_id: str
    question: str
    options: tuple[str, ...]
    gold: int
    subject: str | None = None
    language: str | None = None
    source: str | None = None
    dev: tuple[Example, ...] = ()
    #: language → (question, options in canonical order), from ``data.params.translations``
    translations: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)

    @property
    def n_options(self) -> int:
        return len(self.options)


def gold_index(row: Row, column: str, value: object, options: Sequence[str], gold_format: str) -> int:
    """The 0-based index of the gold option from a cell.

    ``gold_format``: ``index`` (0-based integer), ``index1`` (1-based), ``letter`` (A, B, …),
    ``text`` (the option's exact wording) or ``auto`` (the option's wording, else a single
    capital letter; an integer is ambiguous between 0- and 1-based and must be declared).
    """
    where = f"{row.where}: column {column!r}"
    text = str(value).strip() if value is not None else ""
    if gold_format in ("index", "index1"):
        try:
            index = int(text) - (1 if gold_format == "index1" else 0)
        except ValueError:
            raise DataError(f"{where}: gold {text!r} is not an integer (gold_format {gold_format})") from None
        if not 0 <= index < len(options):
            raise DataError(f"{where}: gold {text!r} is not among the {len(options)} options (gold_format {gold_format})")
        return index
    if gold_format in ("text", "auto") and text in options:
        return list(options).index(text)
    if gold_format in ("letter", "auto") and len(text) == 1 and text.isalpha() and text.isupper():
        index = ord(text) - ord("A")
        if index < len(options):
            return index
    if gold_format == "auto" and text.lstrip("-").isdigit():
        raise DataError(f"{where}: gold {text!r} is a number; set data.params.gold_format to index (0-based) or index1")
    raise DataError(f"{where}: gold {text!r} is not among the options ({'; '.join(options)[:120]})")


def make_item(
    row: Row,
    item_id: str,
    question: str,
    options: Sequence[object],
    gold: int,
    *,
    subject: str | None = None,
    language: str | None = None,
    source: str | None = None,
) -> MCQItem:
    """An item from one row, or a one-line ``DataError`` naming the row."""
    texts = tuple(str(o).strip() for o in options if o is not None and str(o).strip())
    if len(texts) < 2:
        raise DataError(f"{row.where}: item {item_id!r} has {len(texts)} option(s); a multiple-choice item needs at least 2")
    if len(set(texts)) != len(texts):
        twice = next(t for t in texts if texts.count(t) > 1)
        raise DataError(f"{row.where}: item {item_id!r} lists the option {twice[:60]!r} twice")
    if not 0 <= gold < len(texts):
        raise DataError(f"{row.where}: item {item_id!r}: gold {gold} is not among its {len(texts)} options")
    if not question.strip():
        raise DataError(f"{row.where}: item {item_id!r} has an empty question")
    return MCQItem(item_id, question.strip(), texts, gold, subject, language, source)


def check_unique(pairs: Iterable[tuple[Row, MCQItem]]) -> list[MCQItem]:
    """The items, or a ``DataError`` naming the row of the first duplicate id."""
    seen: dict[str, Row] = {}
    items = []
    for row, item in pairs:
        if item.item_id in seen:
            raise DataError(f"{row.where}: duplicate item id {item.item_id!r} (first at {seen[item.item_id].label})")
        seen[item.item_id] = row
        items.append(item)
    return items


def attach_dev_pool(items: list[MCQItem], dev: list[MCQItem]) -> list[MCQItem]:
    """Give each item its few-shot pool, at most DEV_POOL_MAX dev examples: those in its language
    and subject first, then its language, then its subject, then the others (file order within each).

    An evaluated item is never its own example (dev ids equal to an item id are skipped).
    """
    if not dev:
        return items
    out = []
    for item in items:
        ranked = sorted(
            (d for d in dev if d.item_id != item.item_id),
            key=lambda d: (d.language != item.language, d.subject != item.subject),
        )
        pool = tuple(Example(d.question, d.options, d.gold) for d in ranked[:DEV_POOL_MAX])
        out.append(dataclasses.replace(item, dev=pool))
    return out
