"""``data.filter`` and ``data.limit``: choosing which items and groups an evaluation uses.

A name in a filter that matches nothing is an error, not an empty selection: a typo in
a country or topic would otherwise silently shrink the evaluation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from forkingpaths.instruments.survey.data.items import SurveyItem
from forkingpaths.errors import DataError

FILTER_FIELDS = ("item_id", "topic", "group")


def select(
    items: Sequence[SurveyItem], filters: Mapping[str, Sequence[str]], limit: int | None, source: str
) -> list[SurveyItem]:
    """Keep items by id and topic, keep only the named groups' distributions, then the first ``limit``.

    Items left with no distribution after the group filter are dropped (an item asked
    only in other countries says nothing about the chosen ones).
    """
    for field, wanted in filters.items():
        if field not in FILTER_FIELDS:
            raise DataError(f"data.filter.{field}: unknown field; expected one of {', '.join(FILTER_FIELDS)}")
        if not wanted:
            raise DataError(f"data.filter.{field}: empty list; remove the key to keep everything")
    kept = list(items)
    if "item_id" in filters:
        _require_known(filters["item_id"], [i.item_id for i in items], "item_id", "item id", source)
        wanted_ids = set(filters["item_id"])
        kept = [i for i in kept if i.item_id in wanted_ids]
    if "topic" in filters:
        _require_known(filters["topic"], [i.topic for i in items if i.topic is not None], "topic", "topic", source)
        wanted_topics = set(filters["topic"])
        kept = [i for i in kept if i.topic in wanted_topics]
    if "group" in filters:
        _require_known(filters["group"], [g for i in items for g in i.groups], "group", "group", source)
        kept = _keep_groups(kept, set(filters["group"]))
    if not kept:
        raise DataError(f"data.filter: no item of {source} passes all filters together")
    return kept[:limit] if limit is not None else kept


def _keep_groups(items: list[SurveyItem], groups: set[str]) -> list[SurveyItem]:
    out = []
    for item in items:
        distributions = {g: p for g, p in item.distributions.items() if g in groups}
        if distributions:
            out.append(dataclasses.replace(item, distributions=distributions))
    return out


def _require_known(wanted: Sequence[str], present: list[str], field: str, noun: str, source: str) -> None:
    known = dict.fromkeys(present)
    missing = [w for w in wanted if w not in known]
    if not missing:
        return
    listing = ", ".join(repr(k) for k in list(known)[:20]) + (", …" if len(known) > 20 else "")
    names = ", ".join(repr(m) for m in missing)
    raise DataError(f"data.filter.{field}: no {noun} {names} in {source}; present: {listing or '(none)'}")
