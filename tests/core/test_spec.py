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


@pytest.mark.parametrize(
    "name",
    ["../../etc/x", "/abs/path", "a/b/c", "a\\b", ".", "..", "x" * 101, "nul\x00byte", "esc\x1b[2J", "tab\there", ""],
)
def test_unsafe_names_are_one_line_errors_at_load(name: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec({**MINIMAL, "name": name}, "spec.yaml")
    message = str(info.value)
    assert message.startswith("spec.yaml: name: ") and len(message.splitlines()) == 1
    assert "\x00" not in message and "\x1b" not in message


@pytest.mark.parametrize("name", ["values-demo", "run_2.v3", "A", "..x", "x" * 100, "v1.0"])
def test_safe_names_are_accepted(name: str) -> None:
    assert parse_spec({**MINIMAL, "name": name}).name == name


def test_a_bad_name_in_a_file_fails_before_anything_runs(tmp_path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text('name: "../escape"\ninstrument: survey\ndata: {loader: builtin}\n', encoding="utf-8")
    with pytest.raises(SpecError, match=r"s\.yaml: name: '/' is not allowed"):
        load_spec(path)


def test_a_file_that_is_not_utf8_is_one_line_naming_it(tmp_path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: café\ninstrument: survey\ndata: {loader: builtin}\n".encode("latin-1"))
    with pytest.raises(SpecError) as info:
        load_spec(path)
    message = str(info.value)
    assert len(message.splitlines()) == 1
    assert message.startswith(f"{path}: not UTF-8 text") and "offset 9" in message


def test_duplicate_keys_name_the_file_the_key_and_the_line(tmp_path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("name: t\ninstrument: survey\ndata: {loader: builtin}\nname: u\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"dup\.yaml: invalid YAML at line 4, column 1: duplicate key 'name'$"):
        load_spec(path)
    nested = tmp_path / "nested.yaml"
    nested.write_text(
        "name: t\ninstrument: survey\ndata: {loader: builtin}\nfactors:\n  template: [plain]\n  template: [survey]\n",
        encoding="utf-8",
    )
    with pytest.raises(SpecError, match=r"line 6, column 3: duplicate key 'template'"):
        load_spec(nested)


def test_yaml_merge_keys_and_anchors_still_load(tmp_path) -> None:
    path = tmp_path / "merge.yaml"
    path.write_text(
        "defaults: &d {loader: builtin}\nname: t\ninstrument: survey\ndata:\n  <<: *d\n  limit: 2\n", encoding="utf-8"
    )
    with pytest.raises(SpecError, match=r"defaults: unknown key"):  # merged fine; only the helper key is unknown
        load_spec(path)


REPLICAS = {"ref": "openai:m", "base_urls": ["http://10.0.0.1:8000/v1/", "http://10.0.0.2:8000/v1"]}


def test_a_model_served_by_replicas_is_named_by_its_first_base_url(tmp_path) -> None:  # type: ignore[no-untyped-def]
    spec = parse_spec({**MINIMAL, "models": ["llamacpp", REPLICAS], "roles": {"judge": REPLICAS}})
    assert spec.model_references() == ["llamacpp", "openai:m@http://10.0.0.1:8000/v1"]  # trailing '/' dropped
    endpoints = spec.models[1]
    assert not isinstance(endpoints, str)
    assert endpoints.replicas().base_urls == ("http://10.0.0.1:8000/v1", "http://10.0.0.2:8000/v1")
    assert (endpoints.eject_after, endpoints.cooldown) == (3, 30.0)  # the documented conventions
    assert not isinstance(spec.roles["judge"][0], str)  # one mapping is a jury of one
    path = tmp_path / "again.yaml"
    path.write_text(spec_to_yaml(spec))
    assert load_spec(path) == spec  # the resolved spec reads back as the same spec


def test_bad_replica_values_are_one_line_each_naming_their_key() -> None:
    models = [
        {"ref": "openai:m", "base_urls": ["http://a:1/v1", "ftp://b/v1", 7, "http://c:99999/v1"]},
        {"ref": "openai:m", "base_urls": ["http://a:1/v1", "http://a:1/v1/"]},
        {"ref": "openai:m", "base_urls": [], "eject_after": 0, "cooldown": -1, "colour": "red"},
    ]
    with pytest.raises(SpecError) as info:
        parse_spec({**MINIMAL, "models": models})
    assert info.value.problems == [
        "models[0].base_urls[1]: 'ftp://b/v1' is not a base URL; expected http://host:port/v1 or https://…",
        "models[0].base_urls[2]: Input should be a valid string",
        "models[0].base_urls[3]: 'http://c:99999/v1' is not a base URL; expected http://host:port/v1 or https://…",
        "models[1].base_urls: base_urls[1] repeats base_urls[0] (http://a:1/v1)",
        "models[2].base_urls: List should have at least 1 item after validation, not 0",
        "models[2].eject_after: Input should be greater than or equal to 1",
        "models[2].cooldown: Input should be greater than 0",
        "models[2].colour: unknown key",
    ]


def test_the_same_model_twice_is_refused() -> None:
    with pytest.raises(SpecError, match=r"models\[1\]: openai:m@http://10.0.0.1:8000/v1 is models\[0\] again"):
        parse_spec({**MINIMAL, "models": ["openai:m@http://10.0.0.1:8000/v1", REPLICAS]})
