"""Built-in example surveys, shipped as package data so a first evaluation needs no download.

Each survey lives in its own folder next to this module and is read through
:mod:`importlib.resources`, which works from a source checkout and an installed wheel alike.
"""

from __future__ import annotations

import dataclasses
from importlib import resources

from forkingpaths.data import cells
from forkingpaths.instruments.survey.data.items import SurveyItem
from forkingpaths.instruments.survey.data.proshare import pro_share
from forkingpaths.data.tables import Table, csv_table
from forkingpaths.errors import DataError

SURVEYS = {"values": "31 World Values Survey items, pro shares for 13 countries or 4 languages"}
PARAMS = ("name", "groups")
GROUP_LEVELS = {"country": ("country_pro_scores.csv", "cntry_an"), "language": ("language_pro_scores.csv", "lnge_iso")}
_SOURCE = {"values": "EVS/WVS joint 2017-2022"}


def _table(name: str, filename: str) -> Table:
    text = resources.files(__name__).joinpath(name, filename).read_text(encoding="utf-8")
    return csv_table(text, f"builtin:{name}/{filename}")


def _check(name: str, groups: str) -> None:
    if name not in SURVEYS:
        raise DataError(f"data.params.name: no built-in survey {name!r}; available: {', '.join(SURVEYS)}")
    if groups not in GROUP_LEVELS:
        raise DataError(f"data.params.groups: unknown value {groups!r}; expected one of {', '.join(GROUP_LEVELS)}")


def builtin_items(name: str = "values", groups: str = "country") -> list[SurveyItem]:
    """The items of a built-in survey, with one distribution per country (or per language)."""
    _check(name, groups)
    filename, group_column = GROUP_LEVELS[groups]
    items = pro_share(_table(name, filename), _table(name, "items.csv"), {}, group_column)
    return [dataclasses.replace(item, source=_SOURCE[name]) for item in items]


def group_names(name: str = "values", groups: str = "country") -> dict[str, str]:
    """Readable names for a built-in survey's group ids, e.g. ``{"DK": "Denmark", …}``."""
    _check(name, groups)
    table = _table(name, "group_names.csv")
    return {
        cells.text(row, "code"): cells.text(row, "name") for row in table.rows if cells.text(row, "level") == groups
    }
