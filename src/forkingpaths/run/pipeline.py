"""One run of a spec: load, validate, expand, execute with the cache, write the run directory.

Validation (spec, data, factor levels, model references) finishes before any
model is loaded or called. Everything written after execution is a function of
the trials table, so re-analysing a run never needs a model.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.metadata
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forkingpaths import __version__
from forkingpaths.design import RESERVED_COLUMNS, Condition, Trial, expand_conditions, expand_trials
from forkingpaths.errors import SpecError, UserError
from forkingpaths.instruments import get_instrument
from forkingpaths.models.base import Backend, request_key
from forkingpaths.models.registry import create_backend
from forkingpaths.report.html import write_report
from forkingpaths.run.executor import Counters, Job, Outcome, RetryPolicy, execute
from forkingpaths.spec import Spec, load_spec, spec_to_yaml
from forkingpaths.store import ResponseCache, write_json, write_parquet, write_text


@dataclass
class Run:
    """A finished run: its directory, trials table, manifest and analysis results."""

    directory: Path
    trials: pd.DataFrame
    manifest: dict[str, Any]
    results: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunOptions:
    """Command-line style overrides and switches for one run."""

    models: tuple[str, ...] = ()
    out: str | None = None
    limit: int | None = None
    concurrency: int | None = None
    refresh: bool = False
    fail_fast: bool = False
    cache_dir: Path | None = None


def _resolve(spec_or_path: Spec | str | Path) -> tuple[Spec, Path]:
    if isinstance(spec_or_path, Spec):
        return spec_or_path, Path.cwd()
    path = Path(spec_or_path)
    return load_spec(path), path.resolve().parent


def _package_versions() -> dict[str, str]:
    names = ["forkingpaths", "numpy", "scipy", "pandas", "pyarrow", "statsmodels", "pydantic", "openai", "llama_cpp_python"]
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    versions["forkingpaths"] = __version__
    return versions


def prepare(spec: Spec, base_dir: Path) -> tuple[Any, list[Any], list[Condition], list[Trial]]:
    """Instrument, items, conditions and trials; raises before any model is touched."""
    instrument = get_instrument(spec.instrument.name, spec.instrument.params, spec.seed)
    items = instrument.load_items(spec, base_dir)
    problems = [
        f"factors.{name}: the name {name!r} is reserved for a trials-table column; rename the factor"
        for name in spec.factors
        if name in RESERVED_COLUMNS
    ]
    problems += instrument.validate(spec, items)
    if problems:
        raise SpecError(problems)
    factors = instrument.expand_factors(spec.factors, items)
    conditions = expand_conditions(factors, spec.max_conditions, spec.seed)
    trials = expand_trials(spec.models, [item.item_id for item in items], conditions, spec.repeats)
    return instrument, items, conditions, trials


def run(
    spec_or_path: Spec | str | Path,
    options: RunOptions | None = None,
    progress: Callable[[Counters], None] | None = None,
) -> Run:
    """Execute a spec and write its run directory; returns the :class:`Run`.

    Completed responses go to the cache as they arrive, so an interrupted run
    (Ctrl-C, SIGTERM, even ``kill -9``) resumes by running the same command again.
    """
    options = options or RunOptions()
    spec, base_dir = _resolve(spec_or_path)
    spec = spec.with_overrides(
        models=list(options.models) or None, output_dir=options.out, limit=options.limit, concurrency=options.concurrency
    )
    started_at = dt.datetime.now(dt.UTC)
    clock = time.monotonic()
    instrument, items, conditions, trials = prepare(spec, base_dir)
    backends: dict[str, Backend] = {
        ref: create_backend(
            ref, api_key_env=spec.api_key_env, timeout=spec.retries.timeout, max_concurrency=spec.concurrency
        )
        for ref in spec.models
    }
    items_by_id = {item.item_id: item for item in items}
    requests = {}
    jobs: dict[str, Job] = {}
    for trial in trials:
        backend = backends[trial.model]
        request = instrument.render(items_by_id[trial.item_id], trial.condition, trial.repeat, spec, backend.capabilities)
        key = request_key(backend.name, backend.identity, request, trial.repeat)
        requests[trial.id] = (request, key)
        if key in jobs:
            jobs[key].trials += 1
        else:
            jobs[key] = Job(key, trial.model, request, trial.repeat)
    cache = ResponseCache(options.cache_dir)
    policy = RetryPolicy(spec.retries.max_attempts, spec.retries.initial_delay, spec.retries.max_delay, spec.retries.timeout)
    try:
        outcomes, counters = asyncio.run(
            _execute_and_close(
                list(jobs.values()), backends, cache, spec, policy, options, progress
            )
        )
    finally:
        cache.close()
    table = _trials_table(trials, requests, outcomes, items_by_id, instrument, list(spec.factors))
    run_dir = Path(spec.output_dir)
    if not run_dir.is_absolute():
        run_dir = (Path.cwd() / run_dir).resolve()
    run_dir = run_dir / spec.name
    run_dir.mkdir(parents=True, exist_ok=True)
    manifest = {
        "name": spec.name,
        "instrument": spec.instrument.name,
        "started_at": started_at.isoformat(),
        "wall_time_s": round(time.monotonic() - clock, 3),
        "versions": _package_versions(),
        "backend_versions": {ref: b.versions() for ref, b in backends.items()},
        "models": {ref: {"backend": b.name, "identity": b.identity} for ref, b in backends.items()},
        "design": {
            "items": len(items),
            "conditions": len(conditions),
            "factors": {name: sorted({c.as_dict()[name] for c in conditions}) for name in spec.factors},
            "repeats": spec.repeats,
        },
        "counts": {
            "trials": len(table),
            "requests": len(jobs),
            "model_calls": counters.model_calls,
            "retries": counters.retries,
            "cache_hits": counters.cache_hits,
            "errors": int(table["error"].notna().sum()),
        },
    }
    write_text(run_dir / "spec.yaml", spec_to_yaml(spec))
    write_parquet(run_dir / "trials.parquet", table)
    results = instrument.analyse(table, items, spec, run_dir)
    write_json(run_dir / "results.json", {"manifest": manifest, **results})
    write_json(run_dir / "manifest.json", manifest)
    write_report(run_dir)
    return Run(run_dir, table, manifest, results)


async def _execute_and_close(
    jobs: list[Job],
    backends: dict[str, Backend],
    cache: ResponseCache,
    spec: Spec,
    policy: RetryPolicy,
    options: RunOptions,
    progress: Callable[[Counters], None] | None,
) -> tuple[dict[str, Outcome], Counters]:
    try:
        return await execute(
            jobs,
            backends,
            cache,
            concurrency=spec.concurrency,
            policy=policy,
            refresh=options.refresh,
            fail_fast=options.fail_fast,
            progress=progress,
            seed=spec.seed,
        )
    finally:
        for backend in backends.values():
            await backend.aclose()


def _trials_table(
    trials: list[Trial],
    requests: dict[str, Any],
    outcomes: dict[str, Outcome],
    items_by_id: dict[str, Any],
    instrument: Any,
    factor_names: list[str],
) -> pd.DataFrame:
    """One tidy row per trial; every factor is its own column."""
    rows = []
    for trial in trials:
        request, key = requests[trial.id]
        outcome = outcomes[key]
        levels = trial.condition.as_dict()
        row: dict[str, Any] = {
            "trial_id": trial.id,
            "condition_id": trial.condition.id,
            "model": trial.model,
            "item_id": trial.item_id,
            **{name: levels.get(name) for name in factor_names},
            "repeat": trial.repeat,
            "request_key": key,
            "response_text": None,
            "answer": None,
            "option_probs": None,
            "valid_mass": np.nan,
            "latency_s": np.nan,
            "prompt_tokens": pd.NA,
            "completion_tokens": pd.NA,
            "error": outcome.error,
            "cached": outcome.cached,
        }
        response = outcome.response
        if response is not None:
            parsed = instrument.parse(items_by_id[trial.item_id], trial.condition, request, response)
            row.update(
                response_text=response.text,
                answer=parsed.answer,
                option_probs=None
                if parsed.option_probs is None
                else [np.nan if p is None else float(p) for p in parsed.option_probs],
                valid_mass=np.nan if parsed.valid_mass is None else float(parsed.valid_mass),
                latency_s=np.nan if response.latency_s is None else float(response.latency_s),
                prompt_tokens=response.prompt_tokens if response.prompt_tokens is not None else pd.NA,
                completion_tokens=response.completion_tokens if response.completion_tokens is not None else pd.NA,
            )
        rows.append(row)
    table = pd.DataFrame(rows)
    for column in ("prompt_tokens", "completion_tokens"):
        table[column] = table[column].astype("Int64")
    return table


def load_run(directory: str | Path) -> Run:
    """Read a run directory back (no model is loaded)."""
    import json

    directory = Path(directory)
    for required in ("trials.parquet", "manifest.json"):
        if not (directory / required).exists():
            raise UserError(f"{directory}: not a finished run directory (no {required})")
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    results_path = directory / "results.json"
    results = json.loads(results_path.read_text(encoding="utf-8")) if results_path.exists() else {}
    return Run(directory, pd.read_parquet(directory / "trials.parquet"), manifest, results)
