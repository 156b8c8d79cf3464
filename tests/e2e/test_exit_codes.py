"""Exit codes and refusals of the CLI: bad references, models that cannot work, failed trials,
unfinished or mixed run folders, and finished runs that must not be overwritten silently.

Runs use the scripted backend (instant answers, failures on demand) so that each case
takes well under a second; the probes use a real non-GGUF file and a real closed port.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from forkingpaths import registry
from forkingpaths.cli import app

from conftest import free_port
from contract import scripted


@pytest.fixture(autouse=True)
def scripted_backend() -> Iterator[None]:
    registry.register_backend("scripted", scripted.FAMILY, "scripted answers for tests", replace=True)
    yield
    registry.backends.unregister("scripted")


def _spec(tmp_path: Path, **overrides: object) -> Path:
    spec = {
        "name": "exits",
        "instrument": "survey",
        "data": {"loader": "builtin", "params": {"name": "values"}, "limit": 3},
        "models": ["scripted"],
        "factors": {"option_order": ["original", "reversed"]},
        "output_dir": str(tmp_path / "runs"),
        "analysis": {"n_resamples": 50},
        **overrides,
    }
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def _run(tmp_path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"FORKINGPATHS_CACHE_DIR": str(tmp_path / "cache"), "COLUMNS": "200"})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a traceback is never an acceptable way to fail
    return result.exit_code, result.output


def test_a_bad_model_reference_names_its_key_and_exits_2(tmp_path: Path) -> None:
    code, output = _run(tmp_path, "run", str(_spec(tmp_path, models=["scripted", "gpt4"])))
    assert code == 2 and "models[1]: invalid model reference 'gpt4'" in output


def test_a_file_that_is_not_gguf_stops_before_any_call(tmp_path: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"<html>not a model</html>")
    code, output = _run(tmp_path, "run", str(_spec(tmp_path, models=[f"llamacpp:{fake}"])))
    assert code == 2 and "models[0]" in output and "is not a GGUF file" in output
    assert not (tmp_path / "runs" / "exits").exists()


def test_an_unreachable_endpoint_stops_before_any_call(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    code, output = _run(tmp_path, "run", str(_spec(tmp_path, models=[f"openai:m@{url}"])))
    assert code == 2 and "models[0]" in output and "cannot reach" in output


def test_failed_trials_exit_1_after_writing_everything_and_the_summary_counts_them(tmp_path: Path) -> None:
    code, output = _run(tmp_path, "run", str(_spec(tmp_path, models=["scripted:3"])))
    assert code == 1
    assert "× PermanentBackendError: scripted failure" in output  # the commonest errors, counted
    assert "trials failed (more than --max-error-rate 0)" in output
    assert (tmp_path / "runs" / "exits" / "manifest.json").is_file() and (tmp_path / "runs" / "exits" / "report.html").is_file()
    code, _ = _run(tmp_path, "run", str(_spec(tmp_path, models=["scripted:3"])), "--max-error-rate", "0.9")
    assert code == 0


def test_report_refuses_an_unfinished_or_mixed_run(tmp_path: Path) -> None:
    assert _run(tmp_path, "run", str(_spec(tmp_path)))[0] == 0
    run_dir = tmp_path / "runs" / "exits"
    with (run_dir / "trials.parquet").open("ab") as handle:  # a later run's table beside the old results
        handle.write(b"\0")
    code, output = _run(tmp_path, "report", str(run_dir))
    assert code == 2 and "trials.parquet does not match manifest.json" in output
    (run_dir / "manifest.json").unlink()
    code, output = _run(tmp_path, "report", str(run_dir))
    assert code == 2 and "not a finished run (no manifest.json)" in output


def test_a_finished_run_of_another_spec_is_kept_unless_overwrite(tmp_path: Path) -> None:
    assert _run(tmp_path, "run", str(_spec(tmp_path)))[0] == 0
    code, output = _run(tmp_path, "run", str(_spec(tmp_path)), "--limit", "2")
    assert code == 2 and "holds a finished run of a different spec" in output and "--overwrite" in output
    assert _run(tmp_path, "run", str(_spec(tmp_path)))[0] == 0  # the same spec again: replaced (from the cache)
    assert _run(tmp_path, "run", str(_spec(tmp_path)), "--limit", "2", "--overwrite")[0] == 0


def test_help_shows_plain_flags_and_metavars(tmp_path: Path) -> None:
    code, output = _run(tmp_path, "run", "--help")
    assert code == 0 and "<bool>" not in output and "SPEC" in output and "--model REF" in output


def test_redirected_output_gets_plain_progress_lines_and_wide_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from rich.console import Console

    from forkingpaths.cli import REDIRECTED_WIDTH, _console
    from forkingpaths.execution.executor import Counters
    from forkingpaths.execution.progress import RunProgress

    monkeypatch.delenv("COLUMNS", raising=False)
    assert _console().width == REDIRECTED_WIDTH  # pytest captures stdout: not a terminal
    monkeypatch.setenv("COLUMNS", "100")
    assert _console().width == 100

    buffer = io.StringIO()
    progress = RunProgress(console=Console(file=buffer, width=120), interval=3600)
    with progress:
        progress(Counters(total=4, done=0))
        progress(Counters(total=4, done=2))  # within the interval: no line
        progress(Counters(total=4, done=4, cache_hits=1))  # the last request: always a line
    lines = buffer.getvalue().splitlines()
    assert lines == ["requests 0/4 (0%) · –/s · cache hits 0 · errors 0", lines[1]] and lines[1].startswith("requests 4/4 (100%)")
