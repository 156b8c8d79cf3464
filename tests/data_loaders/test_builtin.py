"""The built-in 'values' survey: 31 WVS items, shipped as package data, figures copied unchanged.

The expected figures below are copied from the origin's country_pro_scores.csv and
language_pro_scores.csv, so this test needs nothing outside the package.
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path

import pytest

from forkingpaths.instruments.survey.data import group_names

from .helpers import load, load_error

KEYS = [
    "C001_01",
    "C002_01",
    "D026_03",
    "D054",
    "D059",
    "D060",
    "E035",
    "E069_02",
    "E069_04",
    "E069_05",
    "E069_08",
    "E069_13",
    "E069_20",
    "E117",
    "E233B",
    "E235",
    "E236",
    "E265_01",
    "E290",
    "F028",
    "F114A",
    "F115",
    "F116",
    "F117",
    "F118",
    "F120",
    "F121",
    "F132",
    "F144_02",
    "H010",
    "H011",
]
COUNTRIES = ["AU", "BR", "CA", "DK", "GB", "KE", "NG", "NIR", "NL", "NZ", "PT", "SG", "US"]
NOT_ASKED_IN = {"BR", "NG", "US"}  # C001_01 and C002_01 were not fielded there


def test_31_items_over_13_countries(tmp_path: Path) -> None:
    items = load(tmp_path, loader="builtin")
    assert [i.item_id for i in items] == KEYS
    assert sorted({g for i in items for g in i.groups}) == COUNTRIES
    for item in items:
        expected = (
            [c for c in COUNTRIES if c not in NOT_ASKED_IN] if item.item_id in {"C001_01", "C002_01"} else COUNTRIES
        )
        assert list(item.groups) == expected
        assert len(item.options) == 2 and item.options[0] != item.options[1]
        assert item.ordered is False and item.topic and item.question.endswith("?")
        for probs in item.distributions.values():
            assert math.fsum(probs) == pytest.approx(1.0, abs=1e-12) and min(probs) >= 0


@pytest.mark.parametrize(
    ("key", "country", "pro"),
    [
        ("F120", "DK", 0.8441041599591297),
        ("E035", "US", 0.5910772954172397),
        ("D059", "NG", 0.7565175133626619),
        ("F118", "BR", 0.3879800407940011),
        ("H010", "SG", 0.2696709271484539),
        ("F028", "NIR", 0.474214873442926),
        ("C001_01", "AU", 0.06783223276892106),
    ],
)
def test_country_figures_match_the_source(tmp_path: Path, key: str, country: str, pro: float) -> None:
    [item] = load(tmp_path, loader="builtin", filter={"item_id": [key]})
    assert item.distributions[country] == (pro, 1.0 - pro)


def test_language_groups(tmp_path: Path) -> None:
    items = load(tmp_path, loader="builtin", params={"groups": "language"})
    assert len(items) == 31 and all(i.groups == ("da", "en", "nl", "pt") for i in items)
    by_id = {i.item_id: i for i in items}
    assert by_id["F120"].distributions["da"][0] == 0.8441041599591297
    assert by_id["C001_01"].distributions["pt"][0] == 0.1788680928984525
    assert by_id["E236"].distributions["en"][0] == 0.6069836339072535
    assert by_id["F028"].distributions["nl"][0] == 0.22378456994105939


def test_pro_option_is_the_pro_side() -> None:
    items = {i.item_id: i for i in load(Path("."), loader="builtin")}
    assert items["F120"].options == ("It can be justified", "It can never be justified")
    assert items["E035"].options[0] == "Incomes should be more equal"  # the reversed item
    assert items["E069_20"].options[0] == "A lot of confidence"
    assert items["D059"].options[0].startswith("Yes")


def test_topics_split_the_items(tmp_path: Path) -> None:
    items = load(tmp_path, loader="builtin")
    topics = {i.topic for i in items}
    assert topics == {"gender & family", "work & economy", "institutions", "politics", "religion", "morality"}
    morality = load(tmp_path, loader="builtin", filter={"topic": ["morality"]})
    assert [i.item_id for i in morality] == ["F114A", "F115", "F116", "F117", "F118", "F120", "F121", "F132", "F144_02"]


def test_group_names() -> None:
    names = group_names()
    assert list(names) == COUNTRIES
    assert names["DK"] == "Denmark" and names["NIR"] == "Northern Ireland" and names["US"] == "United States"
    assert group_names("values", "language") == {"da": "Danish", "en": "English", "nl": "Dutch", "pt": "Portuguese"}


def test_files_are_package_data() -> None:
    folder = resources.files("forkingpaths.instruments.survey.data.builtin").joinpath("values")
    for name in (
        "items.csv",
        "country_pro_scores.csv",
        "language_pro_scores.csv",
        "group_names.csv",
        "SOURCE.md",
        "LICENSE",
    ):
        assert folder.joinpath(name).is_file(), name
    assert "MIT License" in folder.joinpath("LICENSE").read_text(encoding="utf-8")


def test_bad_builtin_params(tmp_path: Path) -> None:
    assert load_error(tmp_path, loader="builtin", params={"name": "morals"}) == (
        "data.params.name: unknown value 'morals'; expected one of values"
    )
    assert load_error(tmp_path, loader="builtin", params={"groups": "region"}) == (
        "data.params.groups: unknown value 'region'; expected one of country, language"
    )
    assert (
        load_error(tmp_path, loader="builtin", path="values.csv")
        == "data.path: not used by loader 'builtin'; remove it"
    )
    with pytest.raises(Exception, match="no built-in survey 'morals'"):
        group_names("morals")
