"""pro-share: binary pro/con distributions joined to a wordings file."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from .helpers import FIXTURES, load, load_error, write

SPEC = {"loader": "pro-share", "path": "pro_scores.csv", "params": {"wordings": "wordings.csv"}}


def test_country_file_joined_to_wordings(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="forkingpaths.data"):
        items = load(FIXTURES, **SPEC)
    assert [i.item_id for i in items] == ["K1", "K2"]
    k1 = items[0]
    assert k1.question == "Can lying to protect a friend ever be justified?"
    assert k1.options == ("It can be justified", "It can never be justified")
    assert k1.groups == ("US", "DK")
    assert k1.distributions["DK"] == pytest.approx((0.8, 0.2))
    assert items[1].distributions["US"] == pytest.approx((0.25, 0.75))
    assert k1.topic == "morality" and k1.ordered is False
    assert "pro_scores.csv: skipped 1 item(s) with no wording in wordings.csv: K9" in caplog.text


def test_language_file() -> None:
    spec = {
        **SPEC,
        "path": "language_pro_scores.csv",
        "params": {"wordings": "wordings.csv", "group_column": "lnge_iso"},
    }
    items = load(FIXTURES, **spec)
    assert items[0].groups == ("da", "en")
    assert items[0].distributions["en"] == pytest.approx((0.6, 0.4))


def test_language_file_without_group_column_says_how_to_fix() -> None:
    message = load_error(FIXTURES, **{**SPEC, "path": "language_pro_scores.csv"})
    assert message == (
        "language_pro_scores.csv: missing group column 'cntry_an'; set data.params.group_column: lnge_iso; "
        "columns found: lnge_iso, question_key, pro_score"
    )


def test_wording_without_data(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "pro_scores.csv", tmp_path)
    shutil.copy(FIXTURES / "wordings.csv", tmp_path)
    with (tmp_path / "wordings.csv").open("a") as f:
        f.write("K5,Is it fine to skip jury duty?,Yes,No,civic\n")
    assert load_error(tmp_path, **SPEC) == "wordings.csv: 1 worded item(s) have no rows in pro_scores.csv: 'K5' (row 4)"


def test_score_above_one(tmp_path: Path) -> None:
    write(tmp_path, "pro_scores.csv", "cntry_an,question_key,pro_score\nDK,K1,0.5\nUS,K1,1.5\n")
    shutil.copy(FIXTURES / "wordings.csv", tmp_path)
    assert load_error(tmp_path, **SPEC) == "pro_scores.csv row 3: column 'pro_score' must be between 0 and 1, got '1.5'"


def test_repeated_group_and_item(tmp_path: Path) -> None:
    write(tmp_path, "pro_scores.csv", "cntry_an,question_key,pro_score\nDK,K1,0.5\nDK,K2,0.5\nDK,K1,0.4\n")
    shutil.copy(FIXTURES / "wordings.csv", tmp_path)
    assert load_error(tmp_path, **SPEC) == "pro_scores.csv row 4: item 'K1' group 'DK' was already given in row 2"


def test_same_pro_and_con_option(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "pro_scores.csv", tmp_path)
    write(tmp_path, "wordings.csv", "question_key,question,pro_option,con_option\nK1,Q?,Yes,Yes\n")
    assert (
        load_error(tmp_path, **SPEC)
        == "wordings.csv row 2: pro and con options: option 'Yes' appears twice in ['Yes', 'Yes']"
    )


def test_wordings_param_is_required() -> None:
    message = load_error(FIXTURES, loader="pro-share", path="pro_scores.csv")
    assert message.startswith("data.params.wordings: required")


def test_mapped_columns(tmp_path: Path) -> None:
    write(tmp_path, "scores.csv", "country,key,share\nDK,K1,0.3\n")
    write(tmp_path, "words.csv", "key,text,yes,no\nK1,Q?,Yes,No\n")
    columns = {
        "item_id": "key",
        "group": "country",
        "pro_score": "share",
        "question": "text",
        "pro_option": "yes",
        "con_option": "no",
    }
    [item] = load(tmp_path, loader="pro-share", path="scores.csv", params={"wordings": "words.csv"}, columns=columns)
    assert item.options == ("Yes", "No") and item.distributions["DK"] == pytest.approx((0.3, 0.7))
