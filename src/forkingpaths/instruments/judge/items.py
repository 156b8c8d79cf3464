"""Pairwise judge items and the checks every loader applies before any model call.

A :class:`PairItem` is one instruction with two responses (canonical order A, B), the
gold label (``A``, ``B`` or ``tie``; ``None`` when only human labels exist and they have
no majority), the human labels when there are several, and an optional category.
A :class:`ScoredItem` is one instruction with one response and a human score on a scale
(the ``single`` mode). Every problem is one line naming the file and row (``pairs.csv row 7: …``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from forkingpaths.errors import DataError

LABELS = ("A", "B", "tie")
_SPELLINGS = {"a": "A", "b": "B", "tie": "tie"}


@dataclass(frozen=True)
class PairItem:
    item_id: str
    instruction: str
    response_a: str
    response_b: str
    label: str | None
    human_labels: tuple[str, ...] = ()
    category: str | None = None
    source: str | None = None


def canonical_label(value: Any, where: str, column: str = "label") -> str:
    """``A``, ``B`` or ``tie`` (case-insensitive); anything else is a one-line error naming the row."""
    text = str(value).strip() if value is not None else ""
    found = _SPELLINGS.get(text.lower())
    if found is None:
        raise DataError(f"{where}: {column} {text!r} is not one of A, B, tie")
    return found


def majority(labels: Iterable[str]) -> str | None:
    """The label more than half of the labels give, else ``None`` (no majority)."""
    counts = Counter(labels)
    total = sum(counts.values())
    label, count = counts.most_common(1)[0] if counts else (None, 0)
    return label if total and count * 2 > total else None


def require_text(values: Mapping[str, Any], column: str, where: str, logical: str | None = None) -> str:
    """A non-empty text cell; a missing or blank one is a one-line error naming the row."""
    value = values.get(column)
    text = "" if value is None else str(value)
    if not text.strip():
        raise DataError(f"{where}: {logical or column} is empty (a pair needs an instruction and both responses)")
    return text


class _Identified(Protocol):
    @property
    def item_id(self) -> str: ...


T = TypeVar("T", bound=_Identified)


def check_unique(items: list[tuple[T, str]]) -> list[T]:
    """The items, or a one-line error naming both rows of the first duplicate id."""
    seen: dict[str, str] = {}
    for item, where in items:
        if item.item_id in seen:
            raise DataError(f"{where}: duplicate id {item.item_id!r} (first at {seen[item.item_id]})")
        seen[item.item_id] = where
    return [item for item, _ in items]


@dataclass(frozen=True)
class ScoredItem:
    """One instruction with one response and a human score on the scale ``low..high`` (mode ``single``)."""

    item_id: str
    instruction: str
    response: str
    score: float
    low: int
    high: int
    category: str | None = None
    source: str | None = None
