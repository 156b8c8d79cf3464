"""Import the Bloomberg 2024 résumé-ranking runs as trials of the ``ranking`` task, and analyse them.

The runs were not made by forkingpaths: 8,316 GPT-3.5/GPT-4 answers of Yin, Alba & Nicoletti
(Bloomberg, 2024), one row per run in the layout of ``resume_ranking_runs_extracted.csv``
(``default_order``: the 8 names in presentation order, ``demo_order``: their ``{race}_{gender}``
codes, ``response_content``: the model's ranked list). :func:`read_runs` turns each row into a
trial with the bias instrument's record columns (``candidate_groups`` in displayed order,
``selected_position`` read by :func:`~forkingpaths.instruments.bias.instrument.top_candidate`:
the name the answer mentions first), so the ranking analyses of scores.py run on it unchanged.
Its layout is its own, so it is a function of the instrument, not an entry of ``forkingpaths import``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from forkingpaths.errors import DataError
from forkingpaths.instruments.bias import scores
from forkingpaths.instruments.bias.instrument import top_candidate
from forkingpaths.instruments.mcq.factors import labels as letter_labels

BUILTIN_RUNS = Path(__file__).parent / "data" / "bloomberg" / "resume_ranking_runs_extracted.csv.xz"
COLUMNS = ("model_dir", "job_dir", "default_order", "demo_order", "response_content")


def read_runs(path: str | Path = BUILTIN_RUNS) -> pd.DataFrame:
    """One trial per run: model, job (``template_id``), candidate groups and names, the selected position.

    ``model`` is the run folder's model (``gpt-3.5-turbo``, ``gpt-4``); ``oversampled`` marks the
    316 extra runs. A row whose name and code lists do not match is a one-line ``DataError``.
    """
    source = Path(path)
    if not source.is_file():
        raise DataError(f"{source.name}: file not found (looked for {source})")
    table = pd.read_csv(source, dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise DataError(f"{source.name}: no column {missing[0]!r}; expected the columns {', '.join(COLUMNS)}")
    rows: list[dict[str, Any]] = []
    for number, run in enumerate(table.itertuples(index=False), start=2):
        try:
            names, groups = json.loads(run.default_order), json.loads(run.demo_order)
        except json.JSONDecodeError as error:
            raise DataError(f"{source.name} row {number}: default_order/demo_order is not a JSON list ({error.msg})") from None
        if len(names) != len(groups) or not names:
            raise DataError(f"{source.name} row {number}: {len(names)} names but {len(groups)} group codes")
        position = top_candidate(run.response_content, names, letter_labels("letters", len(names)))
        rows.append({
            "trial_id": f"bloomberg-{number}", "model": run.model_dir, "template_id": run.job_dir, "task": "ranking",
            "control": "none", "candidate_groups": list(groups), "candidate_names": list(names),
            "selected_position": position, "selected_group": None if position is None else groups[position],
            "parsed": position is not None, "oversampled": getattr(run, "subdir", "") == "oversampled", "error": None,
        })
    return pd.DataFrame(rows)


def selection_table(trials: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Selection rate and impact ratio per group, for each model × job and each model over all jobs.

    Each run is its own cluster (its 8 candidates share one answer; runs draw names afresh), so
    the rate intervals are Korn-Graubard intervals clustered on runs and the impact-ratio
    intervals their Bonferroni projection (scores.selection_rates).
    """
    parsed = trials[trials["parsed"]].reset_index(drop=True)
    candidates = scores.candidate_rows(parsed)
    candidates["run"] = candidates["trial"]
    candidates["job"] = parsed.loc[candidates["trial"], "template_id"].to_numpy()
    out = []
    for (model, job), part in [*candidates.groupby(["model", "job"]), *((k, v) for k, v in [((m, "all jobs"), p) for m, p in candidates.groupby("model")])]:
        for row in scores.selection_rates(part, level, cluster="run"):
            out.append({"model": model, "job": job, "runs": int(part["run"].nunique()), **row})
    return pd.DataFrame(out)
