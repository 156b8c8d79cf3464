"""One run of a spec: prepare, execute every stage with the cache, analyse, write the run directory.

Validation (spec, data, factor levels, model and role references, the output
directory) finishes before any model is loaded or called. A trial's first stage
goes to the evaluated model; the instrument may then ask for follow-up stages to
a role's models (a judge grading the answer), which go through the same cache
and executor. Everything written after execution is a function of the trials
table, so re-analysing a run never needs a model. The pipeline does not render
the report: the CLI does, from the run directory, as it does for any run.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.metadata
import platform
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from forkingpaths import __version__, registry
from forkingpaths.design import Condition, Trial, TrialPlan, expand_conditions, expand_trials
from forkingpaths.errors import RunDirectoryError, SpecError, UserError
from forkingpaths.execution.executor import Counters, Executor, Job, Outcome, execute
from forkingpaths.instruments.base import (
    CORE_COLUMNS,
    EVALUATED,
    FollowUp,
    Instrument,
    StageResult,
    TrialContext,
    declared_columns,
    empty_record,
)
from forkingpaths.models.base import BackendFactory, BackendSettings, Capabilities, PermanentBackendError, Request, request_key
from forkingpaths.models.registry import backend_factory
from forkingpaths.results import RUN_FILES, Counts, Manifest, ReplicaCounts, Run, RunResults, file_sha256, load_run
from forkingpaths.spec import ModelEndpoints, Spec, entry_reference, load_spec, spec_to_yaml
from forkingpaths.store import ResponseCache, write_json, write_parquet, write_text

#: A trial may ask for at most this many follow-up stages (guards against an instrument that never stops).
MAX_STAGES = 8

#: Trials executed and tabulated together. A larger design is walked in shards of this size,
#: so the driver holds one shard's requests and rows at a time, never the whole design's.
SHARD_SIZE = 50_000

STAGE_COLUMNS: dict[str, pa.DataType] = {
    "trial_id": pa.string(),
    "stage": pa.int64(),
    "role": pa.string(),
    "model": pa.string(),
    "request_key": pa.string(),
    "response_text": pa.string(),
    "latency_s": pa.float64(),
    "prompt_tokens": pa.int64(),
    "completion_tokens": pa.int64(),
    "error": pa.string(),
    "cached": pa.bool_(),
}
STAGE_SCHEMA = pa.schema(list(STAGE_COLUMNS.items()))


@dataclass(frozen=True)
class RunOptions:
    """Command-line style overrides and switches for one run."""

    models: tuple[str, ...] = ()
    out: str | None = None
    limit: int | None = None
    concurrency: int | None = None
    refresh: bool = False
    fail_fast: bool = False
    overwrite: bool = False
    cache_dir: Path | None = None
    executor: str | None = None
    address: str | None = None
    shard_size: int = SHARD_SIZE


@dataclass
class Prepared:
    """A validated run, before any model is called."""

    spec: Spec
    instrument: Instrument
    items: list[Any]
    conditions: list[Condition]
    trials: TrialPlan
    factories: dict[str, BackendFactory]  # the evaluated models by reference
    roles: dict[str, list[BackendFactory]]
    run_dir: Path


@dataclass
class _StageCall:
    """One request of one trial's stage, to one model."""

    stage: int
    role: str
    model: str
    request: Request
    key: str
    cached: bool = False


@dataclass
class _TrialState:
    trial: Trial
    context: TrialContext
    calls: list[_StageCall] = field(default_factory=list)
    done: list[StageResult] = field(default_factory=list)
    error: str | None = None


def _resolve(spec_or_path: Spec | str | Path) -> tuple[Spec, Path]:
    if isinstance(spec_or_path, Spec):
        return spec_or_path, Path.cwd()
    path = Path(spec_or_path)
    return load_spec(path), path.resolve().parent


def package_versions() -> dict[str, str]:
    """The versions recorded in every manifest (a run's and an imported run's), so results can be traced to the code that made them."""
    names = ["numpy", "scipy", "pandas", "pyarrow", "statsmodels", "pydantic", "aiohttp", "httpx", "llama_cpp_python"]
    versions = {"python": platform.python_version(), "forkingpaths": __version__}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def get_instrument(spec: Spec) -> Instrument:
    """The spec's instrument, configured with its params and the spec's seed."""
    cls = registry.instruments.get(spec.instrument.name, "instrument.name")
    instrument: Instrument = cls(spec.instrument.params, spec.seed)
    return instrument


def _factories(spec: Spec) -> tuple[dict[str, BackendFactory], dict[str, list[BackendFactory]], list[str]]:
    settings = BackendSettings(spec.api_key_env, spec.retries.timeout, spec.concurrency)
    problems: list[str] = []
    models: dict[str, BackendFactory] = {}
    roles: dict[str, list[BackendFactory]] = {}
    for i, entry in enumerate(spec.models):
        try:
            models[entry_reference(entry)] = _entry_factory(entry, settings, f"models[{i}]")
        except UserError as error:
            problems.append(str(error))
    for role, entries in spec.roles.items():
        roles[role] = []
        for j, entry in enumerate(entries):
            try:
                roles[role].append(_entry_factory(entry, settings, f"roles.{role}[{j}]"))
            except UserError as error:
                problems.append(str(error))
    return models, roles, problems


def _entry_factory(entry: str | ModelEndpoints, settings: BackendSettings, key_path: str) -> BackendFactory:
    """A reference's factory; a mapping with ``base_urls`` gives a replica set."""
    if isinstance(entry, str):
        return backend_factory(entry, settings, key_path)
    return backend_factory(entry.ref, settings, key_path, entry.replicas())


def run_directory(spec: Spec) -> Path:
    """``output_dir/<name>``, which must stay inside ``output_dir`` (the name is a single path part)."""
    base = Path(spec.output_dir)
    if not base.is_absolute():
        base = Path.cwd() / base
    base = base.resolve()
    target = (base / spec.name).resolve()
    if target.parent != base:
        raise SpecError([f"name: {spec.name!r} must be a plain name (it becomes a folder inside output_dir)"])
    return target


def check_overwrite(run_dir: Path, spec: Spec, overwrite: bool) -> None:
    """A finished run of another spec in the same folder is kept unless the user asks to replace it."""
    old_spec = run_dir / "spec.yaml"
    if overwrite or not (run_dir / "manifest.json").is_file() or not old_spec.is_file():
        return
    if old_spec.read_text(encoding="utf-8") != spec_to_yaml(spec):
        raise RunDirectoryError(
            f"{run_dir}: holds a finished run of a different spec (other models, limit or settings); "
            "pass --overwrite to replace it, or --out to write elsewhere"
        )


def prepare(spec: Spec, base_dir: Path, overwrite: bool = False) -> Prepared:
    """Instrument, items, conditions, trials and backend factories; raises before any model is touched."""
    instrument = get_instrument(spec)
    items = instrument.load_items(spec.data, base_dir)
    reserved = set(CORE_COLUMNS) | set(declared_columns(instrument.record))
    problems = [
        f"factors.{name}: the name {name!r} is reserved for a trials-table column; rename the factor"
        for name in spec.factors
        if name in reserved
    ]
    problems += instrument.validate(spec, items)
    problems += [
        f"roles.{role}: the {instrument.name} instrument needs a model in this role"
        for role in getattr(instrument, "roles", ())
        if role not in spec.roles
    ]
    factories, roles, model_problems = _factories(spec)
    problems += model_problems
    if problems:
        raise SpecError(problems)
    factors = instrument.expand_factors(spec.factors, items)
    conditions = expand_conditions(factors, spec.max_conditions, spec.seed)
    trials = expand_trials(spec.model_references(), [item.item_id for item in items], conditions, spec.repeats)
    run_dir = run_directory(spec)
    check_overwrite(run_dir, spec, overwrite)
    return Prepared(spec, instrument, items, conditions, trials, factories, roles, run_dir)


def make_executor(spec: Spec) -> Executor:
    """The executor the spec names (``executor.name``), from the executor registry."""
    name = spec.executor.name
    if name not in registry.executors:
        raise SpecError([f"executor.name: unknown executor {name!r}; expected one of {', '.join(registry.executors.names())}"])
    missing = registry.executors.missing_modules(name)
    if missing:
        entry = registry.executors.entry(name)
        extra = f"pip install 'forkingpaths[{entry.extra}]'" if entry and entry.extra else f"pip install {' '.join(missing)}"
        raise SpecError([f"executor.name: the {name} executor needs {', '.join(missing)} ({extra})"])
    build = registry.executors.get(name, "executor.name")
    built: Executor = build(spec)
    return built


def _shared_capabilities(factories: Sequence[BackendFactory]) -> Capabilities:
    """What every model of a role can do (a role's request goes to each of them)."""
    flags = [asdict(f.capabilities) for f in factories]
    return Capabilities(**{name: all(f[name] for f in flags) for name in flags[0]}) if flags else Capabilities()


def _probe(
    factories: Mapping[str, BackendFactory], jobs: list[Job], where: Mapping[str, str], probed: set[str], counters: Counters
) -> None:
    """Check each model that has work to do before its first call; a model that cannot work stops the run,
    one that works but not in full (a replica down) adds its warnings to ``counters.notices``."""
    for model in dict.fromkeys(job.model for job in jobs):
        if model in probed:
            continue
        probed.add(model)
        try:
            warnings = factories[model].probe()
        except PermanentBackendError as error:
            raise SpecError([f"{where.get(model, model)}: {model}: {error}"]) from None
        counters.notices.extend(f"{model}: {warning}" for warning in warnings or ())


def _run_stages(
    prepared: Prepared,
    shard: Sequence[Trial],
    cache: ResponseCache,
    executor: Executor,
    options: RunOptions,
    progress: Callable[[Counters], None] | None,
    counters: Counters,
    probed: set[str],
) -> list[_TrialState]:
    """Stage 0 for every trial of the shard, then follow-ups until no trial asks for one; each stage cached on its own."""
    spec, instrument = prepared.spec, prepared.instrument
    items = {item.item_id: item for item in prepared.items}
    factories: dict[str, BackendFactory] = dict(prepared.factories)
    where = {ref: f"models[{i}]" for i, ref in enumerate(spec.model_references())}
    for role, members in prepared.roles.items():
        for j, factory in enumerate(members):
            factories.setdefault(factory.reference, factory)
            where.setdefault(factory.reference, f"roles.{role}[{j}]")
    role_caps = {role: _shared_capabilities(members) for role, members in prepared.roles.items()}
    states = []
    for trial in shard:
        factory = factories[trial.model]
        context = TrialContext(items[trial.item_id], trial.condition, trial.repeat, trial.model, spec, factory.capabilities, role_caps)
        state = _TrialState(trial, context)
        request = instrument.render(context)
        state.calls.append(_StageCall(0, EVALUATED, trial.model, request, request_key(factory.name, factory.identity(), request, trial.repeat)))
        states.append(state)
    active = states
    for stage in range(MAX_STAGES + 1):
        calls = [(state, call) for state in active for call in state.calls if call.stage == stage]
        if not calls:
            break
        jobs: dict[str, Job] = {}
        for state, call in calls:
            if call.key in jobs:
                jobs[call.key].trials += 1
            else:
                jobs[call.key] = Job(call.key, call.model, call.request, state.trial.repeat)
        outcomes, _ = asyncio.run(
            execute(
                list(jobs.values()),
                factories,
                cache,
                executor,
                counters=counters,
                refresh=options.refresh,
                fail_fast=options.fail_fast,
                progress=progress,
                before_send=lambda pending: _probe(factories, pending, where, probed, counters),
            )
        )
        _record_outcomes(calls, outcomes)
        active = [s for s in active if s.error is None]
        for state in active:
            follow = instrument.follow_up(state.context, state.done)
            if follow is not None:
                _add_follow_up(state, follow, stage + 1, prepared.roles, factories)
    return states


def _record_outcomes(calls: list[tuple[_TrialState, _StageCall]], outcomes: Mapping[str, Outcome]) -> None:
    for state, call in calls:
        outcome = outcomes[call.key]
        call.cached = outcome.cached
        if outcome.response is None:
            prefix = "" if call.stage == 0 else f"stage {call.stage} ({call.role} {call.model}): "
            state.error = state.error or f"{prefix}{outcome.error}"
        else:
            state.done.append(StageResult(call.stage, call.role, call.model, call.request, outcome.response))


def _add_follow_up(
    state: _TrialState, follow: FollowUp, stage: int, roles: Mapping[str, list[BackendFactory]], factories: Mapping[str, BackendFactory]
) -> None:
    members = roles.get(follow.role)
    if not members:
        raise UserError(f"roles.{follow.role}: the {state.context.spec.instrument.name} instrument needs a model in this role")
    if stage > MAX_STAGES:
        raise RuntimeError(f"instrument asked for more than {MAX_STAGES} stages in one trial")
    for factory in members:
        key = request_key(factory.name, factory.identity(), follow.request, state.trial.repeat)
        state.calls.append(_StageCall(stage, follow.role, factory.reference, follow.request, key))


def _tables(states: list[_TrialState], prepared: Prepared) -> tuple[pa.Table, pa.Table]:
    """The trials table (core + factor + record columns) and the stages table (one row per stage call)."""
    instrument = prepared.instrument
    factor_names = list(prepared.spec.factors)
    trial_rows: list[dict[str, Any]] = []
    stage_rows: list[dict[str, Any]] = []
    for state in states:
        answered = {(r.stage, r.model): r for r in state.done}
        first = answered.get((0, state.trial.model))
        levels = state.trial.condition.as_dict()
        row: dict[str, Any] = {
            "trial_id": state.trial.id,
            "condition_id": state.trial.condition.id,
            "model": state.trial.model,
            "role": EVALUATED,
            "item_id": state.trial.item_id,
            **{name: levels.get(name) for name in factor_names},
            "repeat": state.trial.repeat,
            "request_key": state.calls[0].key,
            "response_text": first.response.text if first else None,
            "latency_s": first.response.latency_s if first else None,
            "prompt_tokens": first.response.prompt_tokens if first else None,
            "completion_tokens": first.response.completion_tokens if first else None,
            "n_stages": len({c.stage for c in state.calls}),
            "error": state.error,
            "cached": all(c.cached for c in state.calls),
        }
        if state.error is None:
            row.update(asdict(instrument.parse(state.context, state.done)))
        else:
            row.update(empty_record(instrument.record))
        trial_rows.append(row)
        for call in state.calls:
            result = answered.get((call.stage, call.model))
            stage_rows.append(
                {
                    "trial_id": state.trial.id,
                    "stage": call.stage,
                    "role": call.role,
                    "model": call.model,
                    "request_key": call.key,
                    "response_text": result.response.text if result else None,
                    "latency_s": result.response.latency_s if result else None,
                    "prompt_tokens": result.response.prompt_tokens if result else None,
                    "completion_tokens": result.response.completion_tokens if result else None,
                    "error": None if result else state.error,
                    "cached": call.cached,
                }
            )
    return pa.Table.from_pylist(trial_rows, schema=_trial_schema(prepared)), pa.Table.from_pylist(stage_rows, schema=STAGE_SCHEMA)


def _trial_schema(prepared: Prepared) -> pa.Schema:
    factor_names = list(prepared.spec.factors)
    record_columns = declared_columns(prepared.instrument.record)
    return pa.schema(
        [*((n, t) for n, t in CORE_COLUMNS.items() if n != "n_stages"), *((f, pa.string()) for f in factor_names), ("n_stages", pa.int64()), *record_columns.items()]
    )


class _TableParts:
    """The trials and stages tables, written shard by shard into a scratch folder beside the run.

    Rows leave memory as soon as their shard is tabulated. The scratch folder sits in the
    run directory's parent, so an interrupted run leaves a finished run directory
    untouched; :meth:`move_into` renames the finished files into place.
    """

    def __init__(self, prepared: Prepared) -> None:
        prepared.run_dir.parent.mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix=f".{prepared.run_dir.name}.parts-", dir=prepared.run_dir.parent))
        self.trials = pq.ParquetWriter(self.folder / "trials.parquet", _trial_schema(prepared))
        self.stages = pq.ParquetWriter(self.folder / "stages.parquet", STAGE_SCHEMA)
        self.trial_rows = 0
        self.stage_rows = 0

    def write(self, trials: pa.Table, stages: pa.Table) -> None:
        self.trials.write_table(trials)
        self.stages.write_table(stages)
        self.trial_rows += trials.num_rows
        self.stage_rows += stages.num_rows

    def move_into(self, run_dir: Path) -> None:
        self.close()
        for name in ("trials.parquet", "stages.parquet"):
            (self.folder / name).replace(run_dir / name)

    def close(self) -> None:
        self.trials.close()
        self.stages.close()

    def discard(self) -> None:
        self.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def _write(prepared: Prepared, parts: _TableParts, counters: Counters, started_at: dt.datetime, clock: float) -> Path:
    """Write the run directory; the manifest goes last, naming the hash of every other file."""
    spec, instrument, run_dir = prepared.spec, prepared.instrument, prepared.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "manifest.json").unlink(missing_ok=True)  # from here until the end the folder reads as unfinished
    write_text(run_dir / "spec.yaml", spec_to_yaml(spec))
    parts.move_into(run_dir)
    write_json(run_dir / "items.json", [instrument.item_record(item) for item in prepared.items])
    frame = pq.read_table(run_dir / "trials.parquet").to_pandas()
    analysis = instrument.analyse(frame, prepared.items, spec)
    for name, table in analysis.tables.items():
        write_parquet(run_dir / f"{name}.parquet", table)
    results = RunResults(instrument=instrument.name, analyses=analysis.analyses, findings=analysis.findings)
    write_json(run_dir / "results.json", results.model_dump(mode="json"))
    errors = frame["error"].notna()
    factories = {**prepared.factories, **{f.reference: f for members in prepared.roles.values() for f in members}}
    manifest = Manifest(
        name=spec.name,
        instrument=instrument.name,
        started_at=started_at.isoformat(),
        wall_time_s=round(time.monotonic() - clock, 3),
        versions=package_versions(),
        models={ref: {"backend": f.name, "identity": f.identity()} for ref, f in factories.items()},
        roles={role: [f.reference for f in members] for role, members in prepared.roles.items()},
        design={
            "items": len(prepared.items),
            "conditions": len(prepared.conditions),
            "factors": {name: sorted({c.as_dict()[name] for c in prepared.conditions}) for name in spec.factors},
            "repeats": spec.repeats,
        },
        counts=Counts(
            trials=parts.trial_rows,
            stages=parts.stage_rows,
            requests=counters.total,
            cache_hits=counters.cache_hits,
            model_calls=counters.model_calls,
            attempts=counters.attempts,
            retries=counters.retries,
            errors=counters.errors,
            failed_trials=int(errors.sum()),
            unsaved=counters.unsaved,
            requeued=counters.requeued,
        ),
        replicas={
            model: [ReplicaCounts(url=url, **values) for url, values in endpoints.items()] for model, endpoints in counters.endpoints.items()
        },
        files={name: file_sha256(run_dir / name) for name in RUN_FILES},
    )
    write_json(run_dir / "manifest.json", manifest.model_dump(mode="json"))
    return run_dir


def run(
    spec_or_path: Spec | str | Path,
    options: RunOptions | None = None,
    progress: Callable[[Counters], None] | None = None,
    executor: Executor | None = None,
) -> Run:
    """Execute a spec and write its run directory; returns exactly what :func:`load_run` reads back.

    Completed responses go to the cache as they arrive, so an interrupted run
    (Ctrl-C, SIGTERM, even ``kill -9``) resumes by running the same command again.
    """
    options = options or RunOptions()
    spec, base_dir = _resolve(spec_or_path)
    spec = spec.with_overrides(
        models=list(options.models) or None,
        output_dir=options.out,
        limit=options.limit,
        concurrency=options.concurrency,
        executor=options.executor,
        address=options.address,
    )
    started_at = dt.datetime.now(dt.UTC)
    clock = time.monotonic()
    prepared = prepare(spec, base_dir, options.overwrite)
    executor = executor or make_executor(spec)
    cache = ResponseCache(options.cache_dir)
    counters, probed = Counters(), set[str]()
    parts = _TableParts(prepared)
    try:
        for shard in prepared.trials.shards(options.shard_size):
            states = _run_stages(prepared, shard, cache, executor, options, progress, counters, probed)
            parts.write(*_tables(states, prepared))
        return load_run(_write(prepared, parts, counters, started_at, clock))
    finally:
        cache.close()
        parts.discard()
