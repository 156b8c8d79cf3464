"""Imported answers → a run directory of the MCQ instrument, as if forkingpaths had run them.

The same files as a run (``spec.yaml``, ``trials.parquet``, ``stages.parquet`` with no rows,
``items.json``, ``results.json`` from the MCQ analyses, ``manifest.json`` last), so
:func:`forkingpaths.load_run`, ``forkingpaths report`` and ``forkingpaths export`` read it
like any run. The manifest's ``imported`` block names every file read (path, SHA-256,
factor levels) and says that no model was called; its counts say 0 requests.

Two checks are added to the MCQ findings: the items every (file, model) has in common
(files that disagree on their items are compared on the common ones, and a finding says
how many were dropped), and whether each aggregate the tool reported equals the mean of
the imported per-sample scores.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow as pa

from forkingpaths.design import Condition, Trial
from forkingpaths.errors import DataError
from forkingpaths.instruments.base import CORE_COLUMNS, EVALUATED, declared_columns
from forkingpaths.instruments.mcq.instrument import MCQInstrument, MCQRecord, gold_rank_of
from forkingpaths.instruments.mcq.items import MCQItem
from forkingpaths.interop.imported import Imported, ImportedTrial
from forkingpaths.pipeline import STAGE_COLUMNS, check_overwrite, package_versions, run_directory
from forkingpaths.results import RUN_FILES, Counts, Finding, Manifest, RunResults, file_sha256
from forkingpaths.spec import AnalysisSpec, DataSpec, Spec, spec_to_yaml
from forkingpaths.store import write_arrow, write_json, write_text

#: Rule for "the imported scores reproduce the tool's aggregate": |mean − reported| at most this.
AGREEMENT_TOLERANCE = 1e-12


def common_items(imported: Imported) -> tuple[list[ImportedTrial], dict[str, Any]]:
    """Keep the items that every (source file, model) has; say how many were dropped and who lacked them."""
    units: dict[tuple[int, str], set[str]] = defaultdict(set)
    for trial in imported.trials:
        units[(trial.source, trial.model)].add(trial.item_id)
    every = set().union(*units.values())
    common = set.intersection(*units.values()) if units else set()
    missing = [
        {"source": imported.sources[source].path, "model": model, "missing": len(every - items)}
        for (source, model), items in units.items()
        if len(items) < len(every)
    ]
    kept = [t for t in imported.trials if t.item_id in common]
    if not kept:
        raise DataError(
            f"{imported.sources[0].path}: the files share no item (each (file, model) must answer at least one common item)"
        )
    return kept, {"items_seen": len(every), "items_kept": len(common), "items_dropped": len(every) - len(common), "lacking": missing}


def agreement(imported: Imported) -> list[dict[str, Any]]:
    """Each aggregate the tool reported beside the mean of the imported scores it summarises.

    The mean is taken in file order as ``sum(values) / len(values)`` over the source's
    scored trials of that model (error rows excluded), before any item is dropped: the tool
    summarised its own file, not the common items.
    """
    out = []
    for reported in imported.reported:
        values = [
            float(getattr(t, reported.field))
            for t in imported.trials
            if t.source == reported.source and t.model == reported.model and t.error is None and getattr(t, reported.field) is not None
        ]
        mean = sum(values) / len(values) if values else None
        out.append(
            {
                "source": imported.sources[reported.source].path,
                "model": reported.model,
                "metric": reported.metric,
                "reported": reported.value,
                "recomputed": mean,
                "n": len(values),
                "agrees": mean is not None and abs(mean - reported.value) <= AGREEMENT_TOLERANCE,
            }
        )
    return out


def _record(trial: ImportedTrial) -> dict[str, Any]:
    """The MCQ record columns of one imported trial; the gold probability and rank come from ``probs``."""
    probs, gold = trial.probs, trial.gold
    has_gold_prob = probs is not None and gold is not None and 0 <= gold < len(probs)
    record = MCQRecord(
        correct=trial.correct,
        parsed=trial.parsed,
        chosen=trial.chosen,
        gold=gold,
        n_options=trial.n_options,
        gold_prob=probs[gold] if has_gold_prob else None,  # type: ignore[index]
        gold_rank=gold_rank_of(probs, gold) if has_gold_prob else None,  # type: ignore[arg-type]
        valid_mass=None,
        probs=probs,
        permutation=None,
        chosen_position=trial.chosen_position,
        gold_position=trial.gold_position,
        chosen_norm=trial.chosen_norm,
        correct_norm=trial.correct_norm,
    )
    return record.__dict__.copy()


def trials_table(trials: list[ImportedTrial], imported: Imported) -> pa.Table:
    """The trials table with the pipeline's column order and types; a repeated (model, item, condition, repeat) is an error."""
    factors = imported.factors
    rows: list[dict[str, Any]] = []
    seen: dict[str, ImportedTrial] = {}
    for trial in trials:
        absent = [f for f in factors if f not in trial.levels]
        if absent:
            raise DataError(
                f"{imported.sources[trial.source].path}: no level for factor {absent[0]!r} (give --factor {absent[0]}=LEVEL before this file)"
            )
        condition = Condition(tuple((f, trial.levels[f]) for f in factors))
        key = Trial(trial.model, trial.item_id, condition, trial.repeat)
        if key.id in seen:
            first = seen[key.id]
            raise DataError(
                f"{imported.sources[trial.source].path} {trial.where}: model {trial.model!r}, item {trial.item_id!r}, "
                f"{condition.label()}, repeat {trial.repeat} appears twice (first at {imported.sources[first.source].path} {first.where}); "
                "name a repeat column (--map COLUMN=repeat) or a factor that tells them apart"
            )
        seen[key.id] = trial
        rows.append(
            {
                "trial_id": key.id,
                "condition_id": condition.id,
                "model": trial.model,
                "role": EVALUATED,
                "item_id": trial.item_id,
                **{f: trial.levels[f] for f in factors},
                "repeat": trial.repeat,
                "request_key": None,
                "response_text": trial.response_text,
                "latency_s": None,
                "prompt_tokens": None,
                "completion_tokens": None,
                "n_stages": 0,
                "error": trial.error,
                "cached": None,
                **_record(trial),
            }
        )
    schema = pa.schema(
        [
            *((n, t) for n, t in CORE_COLUMNS.items() if n != "n_stages"),
            *((f, pa.string()) for f in factors),
            ("n_stages", pa.int64()),
            *declared_columns(MCQRecord).items(),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def _spec(imported: Imported, trials: list[ImportedTrial], name: str, out: str, level: float, n_resamples: int) -> Spec:
    levels: dict[str, list[str]] = {f: list(dict.fromkeys(t.levels[f] for t in trials)) for f in imported.factors}
    paths = [s.path for s in imported.sources]
    return Spec(
        name=name,
        instrument={"name": "mcq"},  # type: ignore[arg-type]  # the spec's shorthand validator accepts a mapping
        models=list(dict.fromkeys(t.model for t in trials)),
        factors=levels,
        repeats=max(t.repeat for t in trials) + 1,
        data=DataSpec(loader=f"import/{imported.tool}", path=paths[0] if len(paths) == 1 else None, params={"files": paths}),
        output_dir=out,
        analysis=AnalysisSpec(level=level, n_resamples=n_resamples),
    )


def _items(imported: Imported, trials: list[ImportedTrial]) -> list[MCQItem]:
    ids = list(dict.fromkeys(t.item_id for t in trials))
    out = []
    for item_id in ids:
        item = imported.items.get(item_id)
        if item is None:
            out.append(MCQItem(item_id, "", (), -1))
        else:
            out.append(MCQItem(item_id, item.question, item.options, -1 if item.gold is None else item.gold, item.subject))
    return out


def _import_findings(kept: dict[str, Any], agrees: list[dict[str, Any]], tool: str) -> list[Finding]:
    out = []
    if kept["items_dropped"]:
        worst = max(kept["lacking"], key=lambda m: m["missing"])
        out.append(
            Finding(
                subject="imported files",
                topic="common items",
                claim=(
                    f"{kept['items_dropped']} of {kept['items_seen']} items dropped: not answered in every file and by every model "
                    f"({len(kept['lacking'])} file/model pairs lack some; {worst['model']} in {Path(worst['source']).name} lacks {worst['missing']})"
                ),
                verdict=f"compared on {kept['items_kept']} common items",
                rule="files (and models) that disagree on their items are compared on the items all of them answered",
                tone="caution",
            )
        )
    for entry in agrees:
        out.append(
            Finding(
                subject=entry["model"],
                topic=f"{tool} aggregate",
                claim=(
                    f"{entry['metric']} reported by {tool} in {Path(entry['source']).name}: {entry['reported']:.6g}; "
                    f"mean of the {entry['n']} imported scores: {'n/a' if entry['recomputed'] is None else format(entry['recomputed'], '.6g')}"
                ),
                verdict="reproduces the tool" if entry["agrees"] else "differs from the tool",
                rule=f"reproduces the tool when |mean of imported scores − reported value| ≤ {AGREEMENT_TOLERANCE:g}",
                tone="good" if entry["agrees"] else "bad",
            )
        )
    return out


def write_imported_run(
    imported: Imported,
    out: str | Path = "runs",
    name: str | None = None,
    *,
    overwrite: bool = False,
    level: float = 0.95,
    n_resamples: int = 1000,
) -> Path:
    """Write the run directory ``out/<name>`` for what an importer read; returns its path."""
    started_at, clock = dt.datetime.now(dt.UTC), time.monotonic()
    kept, coverage = common_items(imported)
    agrees = agreement(imported)
    spec = _spec(imported, kept, name or f"import-{imported.tool}", str(out), level, n_resamples)
    table = trials_table(kept, imported)
    items = _items(imported, kept)
    run_dir = run_directory(spec)
    check_overwrite(run_dir, spec, overwrite)
    frame = table.to_pandas()
    analysis = MCQInstrument({}, spec.seed).analyse(frame, items, spec)
    analyses = {**analysis.analyses, "import": {"tool": imported.tool, "coverage": coverage, "agreement": agrees, "cannot_know": imported.cannot_know}}
    results = RunResults(instrument="mcq", analyses=analyses, findings=_import_findings(coverage, agrees, imported.tool) + analysis.findings)

    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "manifest.json").unlink(missing_ok=True)  # unfinished until the manifest is written last
    write_text(run_dir / "spec.yaml", spec_to_yaml(spec))
    write_arrow(run_dir / "trials.parquet", table)
    write_arrow(run_dir / "stages.parquet", pa.Table.from_pylist([], schema=pa.schema(list(STAGE_COLUMNS.items()))))
    write_json(
        run_dir / "items.json",
        [
            {"item_id": i.item_id, "question": i.question, "options": list(i.options), "gold": None if i.gold < 0 else i.gold, "subject": i.subject, "dev": 0}
            for i in items
        ],
    )
    write_json(run_dir / "results.json", results.model_dump(mode="json"))
    failed = int(frame["error"].notna().sum())
    manifest = Manifest(
        name=spec.name,
        instrument="mcq",
        started_at=started_at.isoformat(),
        wall_time_s=round(time.monotonic() - clock, 3),
        versions=package_versions(),
        models={m: {"backend": f"import:{imported.tool}", "identity": m} for m in spec.model_references()},
        design={
            "items": len(items),
            "conditions": int(frame["condition_id"].nunique()),
            "factors": spec.factors,
            "repeats": spec.repeats,
        },
        counts=Counts(trials=len(frame), stages=0, requests=0, cache_hits=0, model_calls=0, attempts=0, retries=0, errors=0, failed_trials=failed),
        files={n: file_sha256(run_dir / n) for n in RUN_FILES},
        imported={
            "tool": imported.tool,
            "sources": [{"path": s.path, "sha256": s.sha256, "levels": s.levels, **s.detail} for s in imported.sources],
            "note": "no model was called: every answer was read from the files listed here",
        },
    )
    write_json(run_dir / "manifest.json", manifest.model_dump(mode="json"))
    return run_dir
