"""filter, limit, tolerance and renormalise: the same for every loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import FIXTURES, load, load_error, write

LONG = {"loader": "tidy-long", "path": "opinions_long.csv", "columns": {"probability": "prob"}}


def test_filter_by_item_id_keeps_file_order() -> None:
    items = load(FIXTURES, **LONG, filter={"item_id": ["q3", "q1"]})
    assert [i.item_id for i in items] == ["q1", "q3"]


def test_filter_by_topic() -> None:
    assert [i.item_id for i in load(FIXTURES, **LONG, filter={"topic": ["politics"]})] == ["q2"]


def test_group_filter_keeps_only_those_distributions_and_drops_empty_items() -> None:
    items = load(FIXTURES, **LONG, filter={"group": ["JP"]})
    assert [i.item_id for i in items] == ["q1", "q2"]
    assert all(i.groups == ("JP",) for i in items)


def test_limit_applies_after_filtering() -> None:
    assert [i.item_id for i in load(FIXTURES, **LONG, limit=2)] == ["q1", "q2"]
    assert [i.item_id for i in load(FIXTURES, **LONG, filter={"group": ["GB"]}, limit=1)] == ["q1"]
    assert [i.item_id for i in load(FIXTURES, **LONG, filter={"item_id": ["q2", "q3"]}, limit=1)] == ["q2"]


def test_unknown_group_is_an_error() -> None:
    assert load_error(FIXTURES, **LONG, filter={"group": ["GB", "Germany"]}) == (
        "data.filter.group: no group 'Germany' in opinions_long.csv; present: 'GB', 'JP'"
    )


def test_unknown_item_and_topic_are_errors() -> None:
    assert load_error(FIXTURES, **LONG, filter={"item_id": ["q9"]}).startswith(
        "data.filter.item_id: no item id 'q9' in opinions_long.csv; present: 'q1', 'q2', 'q3'"
    )
    assert load_error(FIXTURES, **LONG, filter={"topic": ["sport"]}) == (
        "data.filter.topic: no topic 'sport' in opinions_long.csv; present: 'media', 'politics', 'morality'"
    )


def test_unknown_filter_field_and_empty_list() -> None:
    assert load_error(FIXTURES, **LONG, filter={"country": ["GB"]}) == (
        "data.filter.country: unknown field; expected one of item_id, topic, group"
    )
    assert load_error(FIXTURES, **LONG, filter={"group": []}).startswith("data.filter.group: empty list")


def test_filters_that_exclude_each_other() -> None:
    message = load_error(FIXTURES, **LONG, filter={"item_id": ["q3"], "group": ["JP"]})
    assert message == "data.filter: no item of opinions_long.csv passes all filters together"


def _off_by(tmp_path: Path, total_yes: float) -> str:
    return write(
        tmp_path,
        "o.csv",
        f"""
        item_id,question,option,probability,group
        q1,Q?,Yes,{total_yes},GB
        q1,Q?,No,0.5,GB
        q1,Q?,Yes,0.5,FR
        q1,Q?,No,0.5,FR
    """,
    )


def test_sum_within_tolerance_is_left_unchanged(tmp_path: Path) -> None:
    [item] = load(tmp_path, loader="tidy-long", path=_off_by(tmp_path, 0.505))
    assert item.distributions["GB"] == (0.505, 0.5)


def test_sum_outside_tolerance_lists_file_item_group_and_sum(tmp_path: Path) -> None:
    path = _off_by(tmp_path, 0.45)
    assert load_error(tmp_path, loader="tidy-long", path=path) == (
        "o.csv: 1 distribution(s) do not sum to 1 within tolerance 0.01 (set data.params.renormalise: true to rescale them): "
        "item 'q1' group 'GB' sums to 0.95"
    )
    [item] = load(tmp_path, loader="tidy-long", path=path, params={"tolerance": 0.1})
    assert item.distributions["GB"] == (0.45, 0.5)


def test_renormalise(tmp_path: Path) -> None:
    [item] = load(tmp_path, loader="tidy-long", path=_off_by(tmp_path, 0.3), params={"renormalise": True})
    assert item.distributions["GB"] == pytest.approx((0.375, 0.625))
    assert item.distributions["FR"] == (0.5, 0.5)


def test_all_zero_cannot_be_renormalised(tmp_path: Path) -> None:
    write(tmp_path, "z.csv", "item_id,question,option,probability,group\nq1,Q?,Yes,0,GB\nq1,Q?,No,0,GB\n")
    assert load_error(tmp_path, loader="tidy-long", path="z.csv", params={"renormalise": True}) == (
        "z.csv: item 'q1' group 'GB' has all probabilities 0; cannot renormalise"
    )


def test_many_offenders_are_counted(tmp_path: Path) -> None:
    rows = "".join(f"q{i},Q?,Yes,0.2,GB\nq{i},Q?,No,0.2,GB\n" for i in range(12))
    write(tmp_path, "m.csv", "item_id,question,option,probability,group\n" + rows)
    message = load_error(tmp_path, loader="tidy-long", path="m.csv")
    assert message.startswith("m.csv: 12 distribution(s) do not sum to 1")
    assert message.endswith("item 'q9' group 'GB' sums to 0.4; and 2 more")
