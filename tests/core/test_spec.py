"""Spec validation: every problem reported with its key path, before any model call."""

from __future__ import annotations

import pytest

from forkingpaths.errors import SpecError
from forkingpaths.spec import Spec, format_loc, load_spec, parse_spec, spec_to_yaml

MINIMAL = {"name": "t", "instrument": "survey", "data": {"loader": "builtin"}}


def test_minimal_spec_gets_documented_defaults() -> None:
    spec = parse_spec(MINIMAL)
    assert spec.models == ["llamacpp"]
    assert spec.instrument.name == "survey" and spec.instrument.params == {}
    assert (spec.repeats, spec.seed, spec.concurrency) == (1, 0, 4)
    assert spec.analysis.level == 0.95


def test_every_problem_is_one_line_with_its_key_path() -> None:
    bad = {
        "name": "",
        "instrument": "survey",
        "data": {"loader": "builtin", "limit": 0},
        "repeats": 0,
        "sampling": {"temperature": "hot"},
        "colour": "blue",
    }
    with pytest.raises(SpecError) as info:
        parse_spec(bad, "spec.yaml")
    lines = str(info.value).splitlines()
    keys = {line.split(": ")[1] for line in lines}
    assert keys == {"name", "data.limit", "repeats", "sampling.temperature", "colour"}
    assert all(line.startswith("spec.yaml: ") for line in lines)
    assert any("unknown key" in line for line in lines)


def test_duplicate_factor_levels_are_rejected_with_index() -> None:
    with pytest.raises(SpecError, match=r"factors\.template\[1\]: duplicate level 'plain'"):
        parse_spec({**MINIMAL, "factors": {"template": ["plain", "plain"]}})


def test_numeric_levels_are_kept_as_labels() -> None:
    spec = parse_spec({**MINIMAL, "factors": {"seed_level": [1, 2]}})
    assert spec.factors["seed_level"] == ["1", "2"]


def test_format_loc() -> None:
    assert format_loc(("factors", "option_order", 2)) == "factors.option_order[2]"
    assert format_loc(()) == "(top level)"


def test_yaml_errors_name_line_and_file(tmp_path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: x\ninstrument: [unclosed\n")
    with pytest.raises(SpecError, match=r"s\.yaml: invalid YAML at line \d+"):
        load_spec(path)
    with pytest.raises(SpecError, match="file not found"):
        load_spec(tmp_path / "missing.yaml")


def test_yaml_is_loaded_safely(tmp_path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: !!python/object/apply:os.system ['echo pwned']\ninstrument: survey\ndata: {loader: builtin}\n")
    with pytest.raises(SpecError, match="invalid YAML"):
        load_spec(path)


def test_resolved_spec_round_trips_through_yaml(tmp_path) -> None:
    spec = parse_spec({**MINIMAL, "factors": {"option_order": ["original", "reversed"]}, "validity": {"phenomenon": "x"}})
    path = tmp_path / "spec.yaml"
    path.write_text(spec_to_yaml(spec))
    assert load_spec(path) == spec


def test_overrides_replace_only_what_is_given() -> None:
    spec = parse_spec(MINIMAL)
    changed = spec.with_overrides(models=["openai:m@http://127.0.0.1:1/v1"], limit=3, concurrency=2)
    assert changed.models == ["openai:m@http://127.0.0.1:1/v1"]
    assert changed.data.limit == 3 and changed.concurrency == 2
    assert spec.with_overrides() == spec
    assert isinstance(changed, Spec)
