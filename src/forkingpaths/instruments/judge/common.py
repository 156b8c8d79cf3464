"""What every judge analysis shares: JSON-ready intervals, the cells of the design, and the verdict frame.

The verdict frame has one row per judge verdict: the trials table itself when the judges
are the evaluated models (``model`` is the judge), or, in the generated-responses mode,
each trial's per-judge lists spread into one row per judge (``model`` becomes the judge,
``evaluated`` the model that wrote the response, and ``item_id`` becomes
``<evaluated>/<item_id>``: each written response is a pair of its own). Every analysis
reads only this frame.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from forkingpaths import stats
from forkingpaths.spec import Spec

CODES = {"A": 0.0, "B": 1.0, "tie": 2.0}
DEFAULTS = {"position": "original", "artifact": "none", "judge_template": "verdict", "verdict_format": "probs"}
#: Per-judge list columns of the generated-responses record, spread one judge per row.
JUDGE_LISTS = ("judges", "verdicts", "shown_verdicts", "parsed_list", "p_a_list", "p_b_list", "p_tie_list",
               "valid_mass_list", "chose_perturbed_list", "p_perturbed_list")


def clean(value: Any) -> Any:
    """A JSON-ready scalar: numpy numbers to Python, non-finite floats to None."""
    if isinstance(value, float | np.floating):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def interval(estimate: Any, lower: Any, upper: Any, method: str, level: float) -> dict[str, Any]:
    return {"estimate": clean(estimate), "lower": clean(lower), "upper": clean(upper), "method": method, "level": level}


def of(found: stats.Interval | None, level: float, why: str = "not estimable") -> dict[str, Any]:
    """An :class:`~forkingpaths.stats.Interval` as JSON, or an empty interval naming why there is none."""
    if found is None:
        return interval(None, None, None, f"none ({why})", level)
    return interval(found.estimate, found.lower, found.upper, found.method, level)


def proportion(values: Any, clusters: Any, level: float) -> dict[str, Any]:
    """Share of True with Wilson's interval (one value per item) or cluster-t by item (several per item)."""
    x = np.asarray(values, dtype=bool)
    c = np.asarray(clusters)
    if x.size == 0:
        return interval(None, None, None, "none (no values)", level)
    if len(set(c.tolist())) == x.size:
        w = stats.wilson_interval(int(x.sum()), int(x.size), level)
        return interval(w.estimate, w.lower, w.upper, w.method, level)
    if len(set(c.tolist())) < 2:
        return interval(float(x.mean()), None, None, "none (one item)", level)
    row = stats.cluster_t_ci(x.astype(float), c, level=level).iloc[0]
    return interval(row["estimate"], max(0.0, row["lower"]), min(1.0, row["upper"]), str(row["method"]), level)


def mean_difference(a: Any, b: Any, clusters: Any, level: float) -> dict[str, Any]:
    """Mean paired difference a − b: normal interval (one pair per item) or cluster-t by item."""
    x, y, c = np.asarray(a, float), np.asarray(b, float), np.asarray(clusters)
    if x.size < 2:
        return interval(float(np.mean(x - y)) if x.size else None, None, None, "none (fewer than two pairs)", level)
    many = len(set(c.tolist())) < x.size
    if many and len(set(c.tolist())) < 2:
        return interval(float(np.mean(x - y)), None, None, "none (one item)", level)
    d = stats.paired_difference(x, y, c if many else None, level)
    return interval(d.estimate, d.lower, d.upper, d.method, level)


def bootstrapped(matrix: np.ndarray, statistic: Any, spec: Spec) -> dict[str, Any]:
    """An agreement statistic of a raters × units array with its percentile-bootstrap interval over units (seeded), or why there is none."""
    level = spec.analysis.level
    if matrix.shape[1] < 2:
        return interval(None, None, None, "none (fewer than two units)", level)
    try:
        out = stats.bootstrap_agreement_ci(matrix, statistic, spec.analysis.n_resamples, level, spec.seed)
    except ValueError:
        return interval(None, None, None, "undefined (a single label throughout)", level)
    return interval(out["estimate"], out["lower"], out["upper"], str(out["method"]), level)


def cells(frame: pd.DataFrame, keys: list[str]) -> list[tuple[dict[str, Any], pd.DataFrame]]:
    if frame.empty:
        return []
    return [(dict(zip(keys, key if isinstance(key, tuple) else (key,))), part) for key, part in frame.groupby(keys, sort=True)]


def verdict_frame(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per judge verdict, errors dropped, every factor present (absent ones at their default level)."""
    frame = trials[trials["error"].isna()].copy()
    for factor, default in DEFAULTS.items():
        if factor not in frame:
            frame[factor] = default
    if "judges" not in frame:
        return frame
    frame = frame[frame["judges"].map(lambda v: v is not None and len(v) > 0)]
    frame = frame.rename(columns={"model": "evaluated"}).explode(list(JUDGE_LISTS), ignore_index=True)
    renamed = {"judges": "model", "verdicts": "verdict", "shown_verdicts": "shown_verdict"}
    renamed |= {name: name.removesuffix("_list") for name in JUDGE_LISTS if name.endswith("_list")}
    frame = frame.rename(columns=renamed)
    for column in ("p_a", "p_b", "p_tie", "valid_mass", "p_perturbed"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    frame["parsed"] = frame["parsed"].astype(bool)
    frame["verdict"] = frame["verdict"].where(frame["parsed"], None)
    frame["correct"] = None
    frame["item_id"] = frame["evaluated"].astype(str) + "/" + frame["item_id"].astype(str)  # one pair per written response
    return frame
