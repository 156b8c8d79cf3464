"""tidy-wide: one row per item x group, options and distribution as lists."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .helpers import FIXTURES, load, load_error, write

SPEC = {"loader": "tidy-wide"}
HEADER = "item_id,question,options,distribution,group\n"


def test_jsonl_fixture() -> None:
    items = load(FIXTURES, path="opinions_wide.jsonl", **SPEC)
    assert [i.item_id for i in items] == ["w1", "w2"]
    w1, w2 = items
    assert w1.options == ("Satisfied", "Neutral", "Dissatisfied")
    assert w1.distributions == {"NL": (0.5, 0.2, 0.3), "PT": (0.3, 0.3, 0.4)}
    assert w1.ordered is True and w1.topic == "services"
    assert w2.ordered is False and w2.groups == ("NL",)


def test_csv_with_json_arrays(tmp_path: Path) -> None:
    write(tmp_path, "w.csv", HEADER + """q1,Q?,"[""Yes"", ""No""]","[0.25, 0.75]",GB\n""")
    [item] = load(tmp_path, path="w.csv", **SPEC)
    assert item.options == ("Yes", "No") and item.distributions == {"GB": (0.25, 0.75)}


def test_parquet_with_list_columns(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "id": ["q1", "q1"],
            "question": ["Q?", "Q?"],
            "options": [["Yes", "No"], ["Yes", "No"]],
            "distribution": [[0.4, 0.6], [0.9, 0.1]],
            "group": ["GB", "FR"],
        }
    )
    frame.to_parquet(tmp_path / "w.parquet")
    [item] = load(tmp_path, path="w.parquet", columns={"item_id": "id"}, **SPEC)
    assert item.distributions == {"GB": (0.4, 0.6), "FR": (0.9, 0.1)}


def test_options_not_json(tmp_path: Path) -> None:
    write(tmp_path, "w.csv", HEADER + "q1,Q?,['Yes'; 'No'],\"[0.5, 0.5]\",GB\n")
    assert load_error(tmp_path, path="w.csv", **SPEC) == (
        "w.csv row 2: column 'options' must be a JSON array of strings, got \"['Yes'; 'No']\""
    )


def test_distribution_entry_not_a_number(tmp_path: Path) -> None:
    write(tmp_path, "w.csv", HEADER + """q1,Q?,"[""Yes"", ""No""]","[0.5, ""x""]",GB\n""")
    assert (
        load_error(tmp_path, path="w.csv", **SPEC)
        == "w.csv row 2: column 'distribution' entry 2 must be a number, got 'x'"
    )


def test_length_mismatch(tmp_path: Path) -> None:
    write(tmp_path, "w.csv", HEADER + """q1,Q?,"[""Yes"", ""No""]","[0.2, 0.3, 0.5]",GB\n""")
    assert load_error(tmp_path, path="w.csv", **SPEC) == (
        "w.csv row 2: column 'distribution' has 3 values but column 'options' has 2"
    )


def test_options_differ_between_groups(tmp_path: Path) -> None:
    write(
        tmp_path,
        "w.csv",
        HEADER + """q1,Q?,"[""Yes"", ""No""]","[0.5, 0.5]",GB\n""" + """q1,Q?,"[""No"", ""Yes""]","[0.5, 0.5]",FR\n""",
    )
    assert load_error(tmp_path, path="w.csv", **SPEC) == (
        "w.csv row 3: column 'options' for item 'q1' is ['No', 'Yes'], but row 2 gave ['Yes', 'No'] "
        "(the options and their order must be the same on every row of an item)"
    )


def test_repeated_group(tmp_path: Path) -> None:
    row = """q1,Q?,"[""Yes"", ""No""]","[0.5, 0.5]",GB\n"""
    write(tmp_path, "w.csv", HEADER + row + row)
    assert load_error(tmp_path, path="w.csv", **SPEC) == "w.csv row 3: item 'q1' group 'GB' was already given in row 2"


def test_repeated_option(tmp_path: Path) -> None:
    write(tmp_path, "w.csv", HEADER + """q1,Q?,"[""Yes"", ""Yes""]","[0.5, 0.5]",GB\n""")
    assert load_error(tmp_path, path="w.csv", **SPEC) == (
        "w.csv row 2: column 'options': option 'Yes' appears twice in ['Yes', 'Yes']"
    )
