"""Design expansion: factors → conditions → trials, each with a content-derived id.

Ids are hashes of what a condition or trial *is* (factor levels, model, item,
repeat), never of where it sits in a list, so adding a factor level or an item
leaves every existing id, and therefore every cached answer, unchanged.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np


def _short_hash(payload: object) -> str:
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Condition:
    """One combination of factor levels, e.g. ``{option_order: reversed, template: plain}``."""

    levels: tuple[tuple[str, str], ...]  # (factor, level) in the spec's factor order

    @property
    def id(self) -> str:
        return _short_hash(sorted(self.levels))

    def as_dict(self) -> dict[str, str]:
        return dict(self.levels)

    def label(self) -> str:
        """A readable name such as ``option_order=reversed, template=plain``."""
        return ", ".join(f"{f}={v}" for f, v in self.levels) or "(single condition)"


@dataclass(frozen=True)
class Trial:
    """One (model, item, condition, repeat): the unit that is executed, cached and stored."""

    model: str
    item_id: str
    condition: Condition
    repeat: int

    @property
    def id(self) -> str:
        return _short_hash(
            {"model": self.model, "item": self.item_id, "condition": sorted(self.condition.levels), "repeat": self.repeat}
        )


def expand_conditions(
    factors: dict[str, list[str]], max_conditions: int | None = None, seed: int = 0
) -> list[Condition]:
    """The full factorial of factor levels, or a seeded random subset of it.

    With ``max_conditions`` smaller than the factorial, the subset is drawn
    without replacement by ``numpy.random.default_rng(seed)`` and returned in
    factorial order, so the same spec always gives the same subset.
    """
    names = list(factors)
    combos = [Condition(tuple(zip(names, values))) for values in itertools.product(*(factors[n] for n in names))]
    if max_conditions is not None and max_conditions < len(combos):
        rng = np.random.default_rng(seed)
        chosen = np.sort(rng.choice(len(combos), size=max_conditions, replace=False))
        combos = [combos[i] for i in chosen]
    return combos


@dataclass(frozen=True)
class TrialPlan(Sequence[Trial]):
    """Models × items × conditions × repeats, in that nesting order, computed on demand.

    A design of 10⁶ trials is four short lists here, not 10⁶ objects: a trial is built
    from its position when it is read, so the pipeline can walk the plan in shards
    without ever holding every trial (or every request) in memory.
    """

    models: tuple[str, ...]
    item_ids: tuple[str, ...]
    conditions: tuple[Condition, ...]
    repeats: int

    def __len__(self) -> int:
        return len(self.models) * len(self.item_ids) * len(self.conditions) * self.repeats

    @overload
    def __getitem__(self, index: int) -> Trial: ...

    @overload
    def __getitem__(self, index: slice) -> list[Trial]: ...

    def __getitem__(self, index: int | slice) -> Trial | list[Trial]:
        if isinstance(index, slice):
            return [self._at(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._at(index)

    def __iter__(self) -> Iterator[Trial]:
        for model in self.models:
            for item_id in self.item_ids:
                for condition in self.conditions:
                    for repeat in range(self.repeats):
                        yield Trial(model, item_id, condition, repeat)

    def _at(self, index: int) -> Trial:
        rest, repeat = divmod(index, self.repeats)
        rest, condition = divmod(rest, len(self.conditions))
        model, item = divmod(rest, len(self.item_ids))
        return Trial(self.models[model], self.item_ids[item], self.conditions[condition], repeat)

    def shards(self, size: int) -> Iterator[list[Trial]]:
        """Consecutive slices of at most ``size`` trials, in plan order."""
        for start in range(0, len(self), size):
            yield self[start : start + size]


def expand_trials(models: list[str], item_ids: list[str], conditions: list[Condition], repeats: int) -> TrialPlan:
    """Models × items × conditions × repeats, in that nesting order (see :class:`TrialPlan`)."""
    return TrialPlan(tuple(models), tuple(item_ids), tuple(conditions), repeats)
