"""The command line as a user meets it: exit codes, one-line errors, no tracebacks."""

from __future__ import annotations

import subprocess

from .conftest import CLI, cli_env, write_spec


def _run(*args: str, cache) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], env=cli_env(cache), capture_output=True, text=True, timeout=120)


def test_version_and_help(tmp_path) -> None:
    version = _run("--version", cache=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("forkingpaths ")
    for command in ([], ["run"], ["demo"], ["models"], ["cache"], ["cache", "info"]):
        shown = _run(*command, "--help", cache=tmp_path)
        assert shown.returncode == 0 and "Usage" in shown.stdout


def test_invalid_spec_lists_every_problem_with_key_paths_and_exits_2(tmp_path) -> None:
    spec = write_spec(
        tmp_path / "bad.yaml",
        repeats=0,
        factors={"option_order": ["original", "reversed", "sideways"]},
        sampling={"temperature": 9},
    )
    result = _run("run", str(spec), cache=tmp_path / "cache")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert any("repeats:" in line for line in lines)
    assert any("sampling.temperature:" in line for line in lines)
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "runs").glob("*"))


def test_unknown_factor_level_is_caught_before_any_model_call(tmp_path) -> None:
    spec = write_spec(tmp_path / "bad.yaml", factors={"option_order": ["original", "sideways"]})
    result = _run("run", str(spec), cache=tmp_path / "cache")
    assert result.returncode == 2
    assert "factors.option_order[1]: unknown level 'sideways'; expected one of original, reversed" in result.stderr
    assert not (tmp_path / "cache" / "cache.sqlite").exists()


def test_bad_data_file_gives_one_line_naming_the_file_and_row(tmp_path) -> None:
    data = tmp_path / "opinions.csv"
    data.write_text("item_id,question,option,probability,group\nq1,Q?,Yes,0.6,US\nq1,Q?,No,abc,US\n")
    spec = write_spec(tmp_path / "spec.yaml", data={"loader": "tidy-long", "path": str(data)})
    result = _run("run", str(spec), cache=tmp_path / "cache")
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "opinions.csv" in line and "row 3" in line and "abc" in line


def test_bad_model_reference_is_one_line(tmp_path) -> None:
    spec = write_spec(tmp_path / "spec.yaml", models=["gpt5-please"])
    result = _run("run", str(spec), cache=tmp_path / "cache")
    assert result.returncode != 0 and len(result.stderr.strip().splitlines()) == 1
    assert "gpt5-please" in result.stderr and "Traceback" not in result.stderr


def test_missing_spec_file(tmp_path) -> None:
    result = _run("run", str(tmp_path / "nope.yaml"), cache=tmp_path)
    assert result.returncode == 2 and "file not found" in result.stderr


def test_models_lists_the_embedded_model(tmp_path) -> None:
    result = _run("models", cache=tmp_path)
    assert result.returncode == 0 and "llamacpp" in result.stdout and "SmolLM2" in result.stdout.replace("\n", "")


def test_cache_info_and_clear(tmp_path) -> None:
    info = _run("cache", "info", cache=tmp_path / "c")
    assert info.returncode == 0 and "entries: 0" in info.stdout
    cleared = _run("cache", "clear", "--yes", cache=tmp_path / "c")
    assert cleared.returncode == 0 and "removed 0" in cleared.stdout
