"""Length preference: does the judge prefer the longer response, other things equal?

Per judge × template × format, over the decisive (non-tie, parsed) verdicts without an
artifact, a logistic regression of "the verdict names response A" on the length
difference ``(len A − len B) / 100`` characters, holding in the model the two other known
causes of the verdict: which response was shown first, and the gold label (when every pair
has an A/B one). The slope is the change in log-odds of choosing A per 100 extra characters
of A; ``exp(slope)`` the odds ratio. Interval: Wald with item-clustered (CR1) standard
errors and t(G − 1) (:func:`stats.logistic_slope`). Observational: a length difference
that comes with better content is held constant only as far as the gold label captures
it; the ``verbosity`` artifact is the controlled version (same content, twice the length).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from forkingpaths import stats
from forkingpaths.instruments.judge.common import cells, of

PER = 100.0  # characters per unit of the slope
RULE = ("'prefers the longer response' when the slope's interval lies above 0, 'prefers the shorter response' "
        "when it lies below 0; otherwise 'no detected length preference'")


def length_preference(frame: pd.DataFrame, level: float) -> list[dict[str, Any]]:
    rows = []
    base = frame[(frame["artifact"] == "none") & frame["parsed"].astype(bool) & (frame["verdict"] != "tie")]
    for key, part in cells(base, ["model", "judge_template", "verdict_format"]):
        y = (part["verdict"] == "A").to_numpy(dtype=float)
        x = (part["length_a"].to_numpy(dtype=float) - part["length_b"].to_numpy(dtype=float)) / PER
        covariates = [(part["shown_first"] == "A").to_numpy(dtype=float)]
        names = ["A shown first"]
        if part["gold"].isin(["A", "B"]).all():
            covariates.append((part["gold"] == "A").to_numpy(dtype=float))
            names.append("gold A")
        slope = stats.logistic_slope(y, x, np.column_stack(covariates), part["item_id"].to_numpy(), level)
        row = {**key, "n": int(len(part)), "n_items": int(part["item_id"].nunique()), "per_characters": PER,
               "covariates": names, "mean_abs_difference": float(np.mean(np.abs(x)) * PER) if x.size else None,
               "slope": of(slope, level, "not identified: constant length difference, too few verdicts or separation")}
        row["odds_ratio"] = None if slope is None else float(np.exp(slope.estimate))
        if slope is None:
            row["verdict"] = "not estimable"
        elif slope.lower > 0:
            row["verdict"] = "prefers the longer response"
        elif slope.upper < 0:
            row["verdict"] = "prefers the shorter response"
        else:
            row["verdict"] = "no detected length preference"
        rows.append(row)
    return rows
