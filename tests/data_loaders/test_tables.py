"""Reading files: formats by extension, and one clear error for each kind of broken file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .helpers import FIXTURES, load, load_error, write

LONG = {"loader": "tidy-long", "columns": {"probability": "prob"}}


def test_csv_jsonl_and_parquet_give_the_same_items(tmp_path: Path) -> None:
    frame = pd.read_csv(FIXTURES / "opinions_long.csv")
    frame.to_parquet(tmp_path / "long.parquet")
    frame.to_json(tmp_path / "long.jsonl", orient="records", lines=True)
    from_csv = load(FIXTURES, path="opinions_long.csv", **LONG)
    assert load(tmp_path, path="long.parquet", **LONG) == from_csv
    assert load(tmp_path, path="long.jsonl", **LONG) == from_csv


def test_unsupported_extension(tmp_path: Path) -> None:
    write(tmp_path, "data/opinions.xlsx", "x")
    message = load_error(tmp_path, path="data/opinions.xlsx", **LONG)
    assert message.startswith("data/opinions.xlsx: unsupported file type '.xlsx'")
    assert ".csv" in message and ".jsonl" in message and ".parquet" in message


def test_missing_file(tmp_path: Path) -> None:
    assert load_error(tmp_path, path="data/nope.csv", **LONG).startswith("data/nope.csv: file not found")


def test_empty_csv(tmp_path: Path) -> None:
    write(tmp_path, "empty.csv", "")
    assert load_error(tmp_path, path="empty.csv", **LONG) == (
        "empty.csv: file is empty; expected a header row and at least one data row"
    )


def test_header_only_csv(tmp_path: Path) -> None:
    write(tmp_path, "header.csv", "item_id,question,option,prob,group\n")
    assert load_error(tmp_path, path="header.csv", **LONG) == "header.csv: has a header but no data rows"


def test_wrong_number_of_fields(tmp_path: Path) -> None:
    write(
        tmp_path,
        "ragged.csv",
        """
        item_id,question,option,prob,group
        q1,Q?,Yes,0.5,GB
        q1,Q?,No,0.5
    """,
    )
    assert load_error(tmp_path, path="ragged.csv", **LONG) == "ragged.csv row 3: has 4 fields but the header has 5"


def test_duplicate_header_column(tmp_path: Path) -> None:
    write(tmp_path, "dup.csv", "item_id,question,option,prob,prob\nq1,Q?,Yes,0.5,0.5\n")
    assert load_error(tmp_path, path="dup.csv", **LONG) == "dup.csv row 1: column 'prob' appears twice in the header"


def test_invalid_jsonl_line(tmp_path: Path) -> None:
    write(tmp_path, "bad.jsonl", '{"item_id": "q1"}\n\n{"item_id": q2}\n')
    assert load_error(tmp_path, path="bad.jsonl", **LONG).startswith("bad.jsonl line 3: invalid JSON")


def test_jsonl_line_that_is_not_an_object(tmp_path: Path) -> None:
    write(tmp_path, "list.jsonl", '["q1", "Q?"]\n')
    assert load_error(tmp_path, path="list.jsonl", **LONG) == "list.jsonl line 1: expected a JSON object, got list"


def test_empty_jsonl(tmp_path: Path) -> None:
    write(tmp_path, "empty.jsonl", "\n\n")
    assert (
        load_error(tmp_path, path="empty.jsonl", **LONG)
        == "empty.jsonl: file is empty; expected one JSON object per line"
    )


def test_corrupt_parquet(tmp_path: Path) -> None:
    (tmp_path / "bad.parquet").write_bytes(b"not parquet at all")
    assert load_error(tmp_path, path="bad.parquet", **LONG).startswith("bad.parquet: cannot read as Parquet")


def test_missing_column_lists_the_columns_found(tmp_path: Path) -> None:
    write(tmp_path, "data/opinions.csv", "item_id,question,option,prob\nq1,Q?,Yes,1\n")
    assert load_error(tmp_path, path="data/opinions.csv", **LONG) == (
        "data/opinions.csv: missing column 'group' (set data.columns.group if yours is named differently); "
        "columns found: item_id, question, option, prob"
    )


def test_missing_mapped_column_names_the_mapping(tmp_path: Path) -> None:
    write(tmp_path, "o.csv", "item_id,question,option,p,group\nq1,Q?,Yes,1,GB\n")
    message = load_error(tmp_path, path="o.csv", **LONG)
    assert message.startswith("o.csv: missing column 'prob' (data.columns maps 'probability' to it)")


def test_mapped_optional_column_must_exist(tmp_path: Path) -> None:
    message = load_error(
        FIXTURES, path="opinions_long.csv", loader="tidy-long", columns={"probability": "prob", "option_index": "rank"}
    )
    assert message.startswith("opinions_long.csv: missing column 'rank' (data.columns maps 'option_index' to it)")


def test_unknown_logical_column(tmp_path: Path) -> None:
    message = load_error(FIXTURES, path="opinions_long.csv", loader="tidy-long", columns={"prob": "prob"})
    assert message.startswith("data.columns: 'prob' is not a column of layout 'tidy-long'; expected one of item_id,")


def test_blank_lines_are_skipped_but_counted(tmp_path: Path) -> None:
    write(tmp_path, "b.csv", "item_id,question,option,prob,group\n\nq1,Q?,Yes,0.5,GB\nq1,Q?,No,x,GB\n\n")
    assert load_error(tmp_path, path="b.csv", **LONG) == "b.csv row 4: column 'prob' must be a number, got 'x'"


def test_text_that_is_not_csv(tmp_path: Path) -> None:
    (tmp_path / "huge.csv").write_text('item_id,question\nq1,"' + "x" * 200_000 + '"\n', encoding="utf-8")
    assert load_error(tmp_path, path="huge.csv", **LONG).startswith("huge.csv: not valid CSV (field larger than")
