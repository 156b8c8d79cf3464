"""Item translations for the language factor, attached to any loader's items."""

from __future__ import annotations

import pytest

from forkingpaths.instruments.survey.data import load_survey_items
from forkingpaths.errors import DataError
from forkingpaths.spec import DataSpec

HEADER = "item_id,language,question,options\n"


def _data(tmp_path, rows: str) -> DataSpec:
    (tmp_path / "translations.csv").write_text(HEADER + rows)
    return DataSpec(loader="builtin", params={"name": "values", "translations": "translations.csv"}, limit=2)


def test_translations_attach_in_canonical_order(tmp_path) -> None:
    rows = (
        'C001_01,da,"Når der er få job, bør mænd så have mere ret til et job end kvinder?","[""Ja"", ""Nej""]"\n'
        'C002_01,da,"Bør arbejdsgivere prioritere landets egne borgere?","[""Ja"", ""Nej""]"\n'
        'Z999,da,"Not in this data set","[""a"", ""b""]"\n'
    )
    items = load_survey_items(_data(tmp_path, rows), tmp_path)
    assert [item.item_id for item in items] == ["C001_01", "C002_01"]
    assert items[0].translations["da"].options == ("Ja", "Nej")
    assert items[0].translations["da"].question.startswith("Når der er få job")
    assert items[0].distributions == load_survey_items(DataSpec(loader="builtin", limit=2), tmp_path)[0].distributions


def test_wrong_number_of_options_names_the_row(tmp_path) -> None:
    with pytest.raises(DataError, match=r"translations\.csv row 2: item 'C001_01' has 2 options but the 'da' translation lists 3"):
        load_survey_items(_data(tmp_path, 'C001_01,da,Q,"[""a"", ""b"", ""c""]"\n'), tmp_path)


def test_duplicate_translation_is_an_error(tmp_path) -> None:
    rows = 'C001_01,da,Q,"[""a"", ""b""]"\nC001_01,da,Q2,"[""a"", ""b""]"\n'
    with pytest.raises(DataError, match=r"row 3: a second 'da' translation of item 'C001_01'"):
        load_survey_items(_data(tmp_path, rows), tmp_path)


def test_missing_column_is_an_error(tmp_path) -> None:
    (tmp_path / "translations.csv").write_text("item_id,language,question\nC001_01,da,Q\n")
    with pytest.raises(DataError, match="options"):
        load_survey_items(DataSpec(loader="builtin", limit=2, params={"translations": "translations.csv"}), tmp_path)
