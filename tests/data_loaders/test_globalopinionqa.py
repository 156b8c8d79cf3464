"""globalopinionqa: Python-literal options and defaultdict selections, read without evaluating code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from forkingpaths.instruments.survey.data.globalopinionqa import item_id_for

from .helpers import FIXTURES, load, load_error, write

SPEC = {"loader": "globalopinionqa"}
HEADER = "question,selections,options,source\n"


def test_fixture_rows() -> None:
    items = load(FIXTURES, path="globalopinionqa.csv", **SPEC)
    assert len(items) == 3
    news, pollution, obey = items
    assert news.options == ("A lot", "Somewhat", "Not too much", "Not at all")
    assert news.distributions == {"Britain": (0.12, 0.41, 0.33, 0.14), "France": (0.08, 0.37, 0.38, 0.17)}
    assert pollution.groups == ("Brazil", "Japan", "Germany")
    assert obey.options == ("Agree", "Disagree", "Don't know")
    assert obey.source == "WVS" and obey.ordered is False and obey.topic is None


def test_item_ids_are_stable_hashes_of_source_and_question(tmp_path: Path) -> None:
    items = load(FIXTURES, path="globalopinionqa.csv", **SPEC)
    news = items[0]
    assert news.item_id == item_id_for(news.question, "GAS")
    assert news.item_id.startswith("goqa-") and len(news.item_id) == len("goqa-") + 12
    lines = (FIXTURES / "globalopinionqa.csv").read_text().splitlines()
    write(tmp_path, "reversed.csv", "\n".join([lines[0], *reversed(lines[1:])]) + "\n")
    assert [i.item_id for i in load(tmp_path, path="reversed.csv", **SPEC)] == [i.item_id for i in reversed(items)]
    assert item_id_for(news.question, "WVS") != news.item_id


def test_id_column_and_topic_mapping(tmp_path: Path) -> None:
    write(
        tmp_path,
        "g.csv",
        "qid," + HEADER + """Q7,Q?,"defaultdict(<class 'list'>, {'Chile': [0.5, 0.5]})","['Yes', 'No']",GAS\n""",
    )
    [item] = load(tmp_path, path="g.csv", params={"id_column": "qid"}, columns={"topic": "source"}, **SPEC)
    assert item.item_id == "Q7" and item.topic == "GAS" and item.source == "GAS"


def test_unknown_id_column(tmp_path: Path) -> None:
    message = load_error(FIXTURES, path="globalopinionqa.csv", params={"id_column": "qid"}, **SPEC)
    assert message.startswith("data.params.id_column: globalopinionqa.csv has no column 'qid'")


def test_jsonl_with_parsed_values(tmp_path: Path) -> None:
    row = {"question": "Q?", "selections": {"Chile": [0.5, 0.5]}, "options": ["Yes", "No"], "source": "GAS"}
    write(tmp_path, "g.jsonl", json.dumps(row) + "\n")
    [item] = load(tmp_path, path="g.jsonl", **SPEC)
    assert item.distributions == {"Chile": (0.5, 0.5)}


def test_plain_dict_text_is_accepted(tmp_path: Path) -> None:
    write(tmp_path, "g.csv", HEADER + """Q?,"{'Chile': [0.5, 0.5]}","['Yes', 'No']",GAS\n""")
    assert load(tmp_path, path="g.csv", **SPEC)[0].groups == ("Chile",)


@pytest.mark.parametrize(
    ("selections", "expected"),
    [
        (
            "defaultdict(<class 'int'>, {'Chile': [0.5, 0.5]})",
            (
                "g.csv row 2: column 'selections' must look like \"defaultdict(<class 'list'>, {'Country': [0.4, 0.6], ...})\", "
                "got \"defaultdict(<class 'int'>, {'Chile': [0.5, 0.5]})\""
            ),
        ),
        (
            "defaultdict(<class 'list'>, {'Chile': [0.5, 0.5})",
            "g.csv row 2: column 'selections' is not a valid Python dict literal",
        ),
        (
            "defaultdict(<class 'list'>, {'Chile': [__import__('os').getcwd(), 0.5]})",
            "g.csv row 2: column 'selections' is not a valid Python dict literal (only plain literals",
        ),
        (
            "defaultdict(<class 'list'>, {'Chile': [0.2, 0.3, 0.5]})",
            "g.csv row 2: column 'selections' group 'Chile' has 3 probabilities but there are 2 options ['Yes', 'No']",
        ),
        (
            "defaultdict(<class 'list'>, {'Chile': [0.5, -0.5]})",
            "g.csv row 2: column 'selections' group 'Chile' entry 2 must not be negative, got -0.5",
        ),
        (
            "defaultdict(<class 'list'>, {'Chile': [0.5, 'half']})",
            "g.csv row 2: column 'selections' group 'Chile' entry 2 must be a number, got 'half'",
        ),
        ("defaultdict(<class 'list'>, {})", "g.csv row 2: column 'selections' has no groups"),
    ],
)
def test_malformed_selections(tmp_path: Path, selections: str, expected: str) -> None:
    cell = selections.replace('"', '""')
    write(tmp_path, "g.csv", HEADER + f'''Q?,"{cell}","['Yes', 'No']",GAS\n''')
    assert load_error(tmp_path, path="g.csv", **SPEC).startswith(expected)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ("Yes; No", "g.csv row 2: column 'options' must be a list literal like \"['Yes', 'No']\", got 'Yes; No'"),
        ("['Yes', 'No'", "g.csv row 2: column 'options' must be a list literal"),
        ("['Yes', None]", "g.csv row 2: column 'options' option 2 must be text, got None"),
        ("['Yes', open]", "g.csv row 2: column 'options' is not a valid Python list literal (only plain literals"),
    ],
)
def test_malformed_options(tmp_path: Path, options: str, expected: str) -> None:
    write(
        tmp_path, "g.csv", HEADER + f'''Q?,"defaultdict(<class 'list'>, {{'Chile': [0.5, 0.5]}})","{options}",GAS\n'''
    )
    assert load_error(tmp_path, path="g.csv", **SPEC).startswith(expected)


def test_repeated_question_and_source(tmp_path: Path) -> None:
    row = """Q?,"defaultdict(<class 'list'>, {'Chile': [0.5, 0.5]})","['Yes', 'No']",GAS\n"""
    write(tmp_path, "g.csv", HEADER + row + row)
    message = load_error(tmp_path, path="g.csv", **SPEC)
    assert message.startswith(f"g.csv row 3: repeats item '{item_id_for('Q?', 'GAS')}' of row 2")
    assert "data.params.id_column" in message


def test_sums_checked_and_renormalised(tmp_path: Path) -> None:
    write(
        tmp_path,
        "g.csv",
        HEADER
        + """Q?,"defaultdict(<class 'list'>, {'Chile': [0.3, 0.5], 'Peru': [0.5, 0.5]})","['Yes', 'No']",GAS\n""",
    )
    item_id = item_id_for("Q?", "GAS")
    assert load_error(tmp_path, path="g.csv", **SPEC) == (
        "g.csv: 1 distribution(s) do not sum to 1 within tolerance 0.01 (set data.params.renormalise: true to rescale them): "
        f"item '{item_id}' group 'Chile' sums to 0.8"
    )
    [item] = load(tmp_path, path="g.csv", **{**SPEC, "params": {**SPEC.get("params", {}), "renormalise": True}})
    assert item.distributions["Chile"] == pytest.approx((0.375, 0.625))
