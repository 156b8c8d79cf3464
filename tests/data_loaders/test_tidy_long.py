"""tidy-long: one row per item x group x option."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import FIXTURES, load, load_error, write

SPEC = {"loader": "tidy-long", "columns": {"probability": "prob"}}
HEADER = "item_id,question,option,prob,group\n"


def test_fixture_items_in_file_order() -> None:
    items = load(FIXTURES, path="opinions_long.csv", **SPEC)
    assert [i.item_id for i in items] == ["q1", "q2", "q3"]
    q1 = items[0]
    assert q1.question == "How often do you read a printed newspaper?"
    assert q1.options == ("Daily", "Weekly", "Never")
    assert q1.distributions == {"GB": (0.2, 0.3, 0.5), "JP": (0.35, 0.4, 0.25)}
    assert q1.ordered is True and q1.topic == "media"
    assert items[1].ordered is False and items[1].topic == "politics"
    assert items[2].groups == ("GB",)


def test_option_index_fixes_the_order(tmp_path: Path) -> None:
    write(
        tmp_path,
        "o.csv",
        """
        item_id,question,option,prob,group,option_index
        q1,Q?,No,0.3,GB,2
        q1,Q?,Yes,0.7,GB,1
        q1,Q?,Yes,0.6,FR,1
        q1,Q?,No,0.4,FR,2
    """,
    )
    [item] = load(tmp_path, path="o.csv", **SPEC)
    assert item.options == ("Yes", "No")
    assert item.distributions == {"GB": (0.7, 0.3), "FR": (0.6, 0.4)}


def test_group_order_within_item_does_not_matter(tmp_path: Path) -> None:
    write(tmp_path, "o.csv", HEADER + "q1,Q?,Yes,0.7,GB\nq1,Q?,No,0.4,FR\nq1,Q?,No,0.3,GB\nq1,Q?,Yes,0.6,FR\n")
    [item] = load(tmp_path, path="o.csv", **SPEC)
    assert item.options == ("Yes", "No")
    assert item.distributions == {"GB": (0.7, 0.3), "FR": (0.6, 0.4)}


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("abc", "data/opinions.csv row 3: column 'prob' must be a number, got 'abc'"),
        ("-0.2", "data/opinions.csv row 3: column 'prob' must not be negative, got '-0.2'"),
        ("nan", "data/opinions.csv row 3: column 'prob' must be a number, got NaN"),
        ("", "data/opinions.csv row 3: column 'prob' is empty; expected a number"),
        ("inf", "data/opinions.csv row 3: column 'prob' must be a finite number, got 'inf'"),
    ],
)
def test_bad_probability_names_file_row_and_column(tmp_path: Path, cell: str, expected: str) -> None:
    write(tmp_path, "data/opinions.csv", HEADER + f"q1,Q?,Yes,0.5,GB\nq1,Q?,No,{cell},GB\n")
    assert load_error(tmp_path, path="data/opinions.csv", **SPEC) == expected


def test_empty_required_text(tmp_path: Path) -> None:
    write(tmp_path, "o.csv", HEADER + "q1,Q?,Yes,0.5,GB\nq1,Q?,No,0.5,\n")
    assert load_error(tmp_path, path="o.csv", **SPEC) == "o.csv row 3: column 'group' is empty; expected text"


def test_options_mismatched_between_groups(tmp_path: Path) -> None:
    write(tmp_path, "o.csv", HEADER + "q1,Q?,Yes,0.5,GB\nq1,Q?,No,0.5,GB\nq1,Q?,Yes,1.0,FR\n")
    assert load_error(tmp_path, path="o.csv", **SPEC) == (
        "o.csv item 'q1' group 'FR': no probability for option(s) 'No'; "
        "every group must cover the item's options ['Yes', 'No']"
    )


def test_repeated_row(tmp_path: Path) -> None:
    write(tmp_path, "o.csv", HEADER + "q1,Q?,Yes,0.5,GB\nq1,Q?,No,0.5,GB\nq1,Q?,Yes,0.5,GB\n")
    assert load_error(tmp_path, path="o.csv", **SPEC) == (
        "o.csv row 4: item 'q1' group 'GB' option 'Yes' was already given in row 2"
    )


def test_question_must_be_the_same_on_every_row(tmp_path: Path) -> None:
    write(tmp_path, "o.csv", HEADER + "q1,Q?,Yes,0.5,GB\nq1,Other?,No,0.5,GB\n")
    assert load_error(tmp_path, path="o.csv", **SPEC) == (
        "o.csv row 3: column 'question' for item 'q1' is 'Other?', but row 2 gave 'Q?' "
        "(the question must be the same on every row of an item)"
    )


def test_single_option_item(tmp_path: Path) -> None:
    write(tmp_path, "o.csv", HEADER + "q1,Q?,Yes,1.0,GB\n")
    assert load_error(tmp_path, path="o.csv", **SPEC) == "o.csv item 'q1': needs at least 2 options, got ['Yes']"


def test_conflicting_option_index(tmp_path: Path) -> None:
    write(
        tmp_path,
        "o.csv",
        """
        item_id,question,option,prob,group,option_index
        q1,Q?,Yes,0.5,GB,1
        q1,Q?,No,0.5,GB,2
        q1,Q?,Yes,0.5,FR,3
    """,
    )
    assert load_error(tmp_path, path="o.csv", **SPEC) == (
        "o.csv row 4: column 'option_index' gives option 'Yes' of item 'q1' index 3, but row 2 gave 1"
    )


def test_shared_option_index(tmp_path: Path) -> None:
    write(tmp_path, "o.csv", "item_id,question,option,prob,group,option_index\nq1,Q?,Yes,0.5,GB,1\nq1,Q?,No,0.5,GB,1\n")
    assert (
        load_error(tmp_path, path="o.csv", **SPEC)
        == "o.csv item 'q1': options 'Yes' and 'No' have the same option_index 1"
    )


def test_bad_ordered_flag(tmp_path: Path) -> None:
    write(tmp_path, "o.csv", "item_id,question,option,prob,group,ordered\nq1,Q?,Yes,0.5,GB,maybe\n")
    assert (
        load_error(tmp_path, path="o.csv", **SPEC) == "o.csv row 2: column 'ordered' must be true or false, got 'maybe'"
    )
