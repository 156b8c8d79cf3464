"""Checks every loader shares: option lists and distributions that sum to one.

Sums are checked per distribution after assembly (not per row) because in the long
layout one distribution is spread over several rows; the error lists every offender
so a user sees the size of the problem at once.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from forkingpaths.instruments.survey.data.items import SurveyItem
from forkingpaths.errors import DataError

_SHOWN = 10


def check_options(options: Sequence[str], where: str) -> tuple[str, ...]:
    """At least two options, none empty, none repeated."""
    if len(options) < 2:
        raise DataError(f"{where}: needs at least 2 options, got {list(options)!r}")
    seen: set[str] = set()
    for option in options:
        if not option:
            raise DataError(f"{where}: options must not be empty text, got {list(options)!r}")
        if option in seen:
            raise DataError(f"{where}: option {option!r} appears twice in {list(options)!r}")
        seen.add(option)
    return tuple(options)


def check_distributions(
    items: Sequence[SurveyItem], source: str, *, tolerance: float, renormalise: bool
) -> list[SurveyItem]:
    """Raise if any distribution's sum is off by more than ``tolerance``; or rescale all when asked.

    Within tolerance the figures are left exactly as given: a loader reports data, it
    does not quietly change it. With ``renormalise`` every distribution is divided by
    its sum (an all-zero distribution cannot be rescaled and is an error).
    """
    if renormalise:
        return [_renormalised(item, source) for item in items]
    off = [
        f"item {item.item_id!r} group {group!r} sums to {total:.6g}"
        for item in items
        for group, probs in item.distributions.items()
        if abs((total := math.fsum(probs)) - 1.0) > tolerance
    ]
    if off:
        shown = "; ".join(off[:_SHOWN]) + (f"; and {len(off) - _SHOWN} more" if len(off) > _SHOWN else "")
        raise DataError(
            f"{source}: {len(off)} distribution(s) do not sum to 1 within tolerance {tolerance:g} "
            f"(set data.params.renormalise: true to rescale them): {shown}"
        )
    return list(items)


def _renormalised(item: SurveyItem, source: str) -> SurveyItem:
    distributions = {}
    for group, probs in item.distributions.items():
        total = math.fsum(probs)
        if total <= 0:
            raise DataError(
                f"{source}: item {item.item_id!r} group {group!r} has all probabilities 0; cannot renormalise"
            )
        distributions[group] = tuple(p / total for p in probs)
    return dataclasses.replace(item, distributions=distributions)
