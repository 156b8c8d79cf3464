"""The report's building blocks on constructed inputs: pointers, escaping, numbers, charts, the validity card."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from forkingpaths.errors import UserError
from forkingpaths.instruments.survey import plots
from forkingpaths.report.html import embed_json, number
from forkingpaths.report.parts import NoPresentation
from forkingpaths.report.source import (
    Num,
    Results,
    RunSource,
    load_source,
    pointer,
    resolve,
)
from forkingpaths.report.svg import nice_ticks, text
from forkingpaths.report.validity import (
    CRITERIA,
    NOT_ADDRESSED,
    card_markdown,
    validity_card,
)

from .conftest import ATTACKS, CLOSE, IMAGE, SCRIPT


def test_pointer_round_trips_keys_with_slashes_and_tildes() -> None:
    document = {"models": {"llamacpp:/m/x~1.gguf": {"overall": [{"estimate": 0.5}]}}}
    path = pointer("models", "llamacpp:/m/x~1.gguf", "overall", 0, "estimate")
    assert path == "/models/llamacpp:~1m~1x~01.gguf/overall/0/estimate"
    assert resolve(document, path) == 0.5


def test_results_view_keeps_pointers_relative_to_the_whole_file() -> None:
    results = Results({"a": {"b": [1, 2, 3], "c": None}})
    part = results.at("a")
    assert part.num("b") == Num(3, "/a/b")
    assert part.num("c") == Num(None, "/a/c")
    assert part.get("missing", "deeper", default="x") == "x"


def test_numbers_carry_their_pointer_and_missing_values_say_so() -> None:
    assert str(number(Num(0.12345, "/x"))) == '<span class="num" data-path="/x" title="run document /x">0.123</span>'
    assert ">12%<" in str(number(Num(0.123, "/x"), "pct"))
    assert ">n/a<" in str(number(Num(None, "/x")))
    assert 'data-path="/a&#34;b"' in str(number(Num(1, '/a"b'), "int"))


@pytest.mark.parametrize("attack", [*ATTACKS, "<!-- & \u2028 \u2029 -->"])
def test_embedded_json_cannot_close_its_script_element(attack: str) -> None:
    value = {"text": attack, attack: [attack]}
    embedded = str(embed_json(value))
    assert not set("<>&") & set(embedded)
    assert "\u2028" not in embedded and "\u2029" not in embedded
    assert json.loads(embedded) == value


def test_svg_text_is_escaped() -> None:
    for attack in ATTACKS:
        rendered = text(0, 0, attack, data_note=attack)
        assert "<script" not in rendered and "<img" not in rendered


def test_nice_ticks_are_round_and_inside_the_domain() -> None:
    assert nice_ticks(0.0, 1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    ticks = nice_ticks(0.537, 0.761)
    assert ticks == [0.55, 0.6, 0.65, 0.7, 0.75]


def test_claim_classes_follow_the_claim_shares_rule() -> None:
    row = {"margin": 0.1, "margin_lower": 0.01, "margin_upper": 0.2}
    assert plots.claim_class(row) == "holds_significant"
    assert plots.claim_class({**row, "margin_lower": -0.01}) == "holds_not_significant"
    assert plots.claim_class({"margin": -0.1, "margin_lower": -0.2, "margin_upper": 0.01}) == "reversed_not_significant"
    assert plots.claim_class({"margin": -0.1, "margin_lower": -0.2, "margin_upper": -0.01}) == "reversed_significant"


def _source(validity: dict[str, str], results: dict | None = None) -> RunSource:
    results = results or {"analyses": {"design": {"n_items": 3, "groups": ["A", "B"], "topics": []}, "models": {}}}
    spec = {"data": {"loader": "tidy-long", "path": "x.csv"}, "validity": validity}
    items = [{"item_id": "q1", "source": "Survey X"}, {"item_id": "q2", "source": "Survey X"}]
    return RunSource(Path("."), Results(results), spec, items, pd.DataFrame())


def _parts_source(validity: dict[str, str]) -> tuple[RunSource, NoPresentation]:
    return _source(validity), NoPresentation()


def test_validity_card_marks_missing_entries_with_the_spec_key() -> None:
    card = validity_card(*_parts_source({"contamination": "  Checked n-gram overlap.  ", "extra_note": "kept"}))
    by_key = {entry.criterion.key: entry for entry in card.entries}
    assert [c.key for c in CRITERIA] == list(by_key)
    assert by_key["contamination"].user_text == "Checked n-gram overlap."
    assert by_key["justification"].status == NOT_ADDRESSED
    assert by_key["justification"].spec_key == "validity.justification"
    assert any("Survey X (2 items)" in fact for fact in by_key["data_reuse"].evidence)
    assert card.other_notes == {"extra_note": "kept"}
    markdown = card_markdown(card, "run")
    assert "## 8. Justify construct validity — not addressed" in markdown
    assert "`validity.justification`" in markdown


def test_validity_markdown_escapes_html() -> None:
    card = validity_card(*_parts_source({"phenomenon": SCRIPT, IMAGE: CLOSE}))
    markdown = card_markdown(card, SCRIPT)
    assert not re.search(r"<(script|img|/script)", markdown)
    assert "&lt;script&gt;" in markdown


def test_load_source_reports_a_missing_run_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such run directory"):
        load_source(tmp_path / "absent")
    with pytest.raises(UserError, match=r"not a finished run \(no manifest\.json\)"):
        load_source(tmp_path)
