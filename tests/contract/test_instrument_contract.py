"""The contract every registered instrument must pass, run for each one automatically.

Each registered instrument needs a registered example (``forkingpaths.registry.examples``);
the example, cut to a few items and conditions, runs on the scripted backend:
render → parse round-trip, declared columns present with their types, stable
request keys, a rerun that makes no model call, and failed requests as error rows.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import forkingpaths
from forkingpaths import registry
from forkingpaths.instruments.base import CORE_COLUMNS, StageResult, TrialContext, declared_columns
from forkingpaths.pipeline import get_instrument, prepare
from forkingpaths.report.html import write_report

from . import scripted


def _examples_by_instrument() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for entry in registry.examples.entries():
        spec = registry.examples.get(entry.name)()
        found.setdefault(spec.instrument.name, []).append(entry.name)
    return found


INSTRUMENTS = registry.instruments.names()


def _small_spec(instrument: str, tmp_path: Path, model: str = "scripted"):
    examples = _examples_by_instrument().get(instrument)
    assert examples, f"instrument {instrument!r} has no registered example for the contract tests"
    spec = registry.examples.get(examples[0])(limit=3)
    return spec.with_overrides(models=[model], output_dir=str(tmp_path / "runs"), limit=3).model_copy(
        update={"max_conditions": 3, "analysis": spec.analysis.model_copy(update={"n_resamples": 50})}
    )


@pytest.mark.parametrize("name", INSTRUMENTS)
def test_every_instrument_declares_typed_columns_that_do_not_clash_with_core_ones(name: str) -> None:
    cls = registry.instruments.get(name)
    assert cls.name == name
    columns = declared_columns(cls.record)
    assert columns and not set(columns) & set(CORE_COLUMNS)


@pytest.mark.parametrize("name", INSTRUMENTS)
def test_render_and_parse_round_trip_with_stable_keys(name: str, tmp_path: Path) -> None:
    spec = _small_spec(name, tmp_path)
    prepared = prepare(spec, Path.cwd())
    instrument = get_instrument(spec)
    factory = prepared.factories["scripted"]
    trial = prepared.trials[0]
    item = next(i for i in prepared.items if i.item_id == trial.item_id)
    context = TrialContext(item, trial.condition, trial.repeat, trial.model, spec, factory.capabilities)
    first, second = instrument.render(context), instrument.render(context)
    assert first.canonical_json() == second.canonical_json()  # same trial, same request, same cache key
    import asyncio

    response = asyncio.run(factory.build().complete(first))
    record = instrument.parse(context, [StageResult(0, "evaluated", "scripted", first, response)])
    assert isinstance(record, instrument.record)
    assert set(dataclasses.asdict(record)) == set(declared_columns(instrument.record))


@pytest.mark.parametrize("name", INSTRUMENTS)
def test_a_run_writes_typed_columns_and_a_rerun_makes_no_call(name: str, tmp_path: Path) -> None:
    spec = _small_spec(name, tmp_path)
    options = forkingpaths.RunOptions(cache_dir=tmp_path / "cache")
    run = forkingpaths.run(spec, options)
    assert run.manifest.counts.model_calls == len(scripted.CALLS) > 0
    schema = pq.read_schema(run.directory / "trials.parquet")
    columns = {**CORE_COLUMNS, **declared_columns(registry.instruments.get(name).record)}
    for column, arrow_type in columns.items():
        assert schema.field(column).type == arrow_type, column
    assert forkingpaths.load_run(run.directory).results == run.results
    page = write_report(run.directory).read_text(encoding="utf-8")  # every instrument's report renders
    assert '<section id="findings">' in page and '<section id="validity">' in page
    calls = len(scripted.CALLS)
    again = forkingpaths.run(spec, options)
    assert len(scripted.CALLS) == calls and again.manifest.counts.model_calls == 0
    assert again.manifest.counts.cache_hits == again.manifest.counts.requests
    assert bool(again.trials["cached"].all())


@pytest.mark.parametrize("name", INSTRUMENTS)
def test_failed_requests_become_error_rows_not_a_crash(name: str, tmp_path: Path) -> None:
    spec = _small_spec(name, tmp_path, model="scripted:3")
    run = forkingpaths.run(spec, forkingpaths.RunOptions(cache_dir=tmp_path / "cache"))
    failed = run.trials[run.trials["error"].notna()]
    assert 0 < len(failed) < len(run.trials)
    assert failed["error"].str.contains("scripted failure").all()
    record_columns = list(declared_columns(registry.instruments.get(name).record))
    assert failed[record_columns].isna().all().all()
    assert run.manifest.counts.failed_trials == len(failed)


@pytest.mark.parametrize("name", INSTRUMENTS)
def test_a_run_walked_in_small_shards_equals_one_walked_whole(name: str, tmp_path: Path) -> None:
    """Sharding bounds the driver's memory; it must not change a single trial or result."""
    spec = _small_spec(name, tmp_path)
    whole = forkingpaths.run(spec, forkingpaths.RunOptions(cache_dir=tmp_path / "cache-a", out=str(tmp_path / "a")))
    sharded = forkingpaths.run(spec, forkingpaths.RunOptions(cache_dir=tmp_path / "cache-b", out=str(tmp_path / "b"), shard_size=2))
    assert whole.manifest.counts.trials == sharded.manifest.counts.trials > 2
    columns = [c for c in whole.trials.columns if c not in ("latency_s", "cached")]
    pd.testing.assert_frame_equal(whole.trials[columns], sharded.trials[columns])
    assert whole.document()["analyses"] == sharded.document()["analyses"]
    assert list(tmp_path.glob("b/.*parts-*")) == []  # the scratch folder of the shards is gone
