"""Win rate of response A as the judge sees it, and corrected with a few human labels (prediction-powered).

Per judge × template × format, without artifacts, each item gets one judge score
``f`` = the mean over its verdicts (both orders, every repeat) of 1 for A, 1/2 for tie and
0 for B (with label probabilities: ``P(A) + P(tie)/2``); its human score ``y`` is the same
coding of the gold label. The *naive* win rate is the mean of ``f`` over every item (its
interval is the judge's sampling noise only: it says nothing of the judge's bias). The
*labelled* estimate is the mean of ``y`` over the labelled items. The *prediction-powered*
estimates (PPI and power-tuned PPI++, :func:`stats.ppi_mean`; Angelopoulos et al. 2023)
use the judge on the unlabelled items and correct it by its error on the labelled ones.

Which items are labelled: those with a gold label, the rest unlabelled. When every item
has one, ``instrument.params.ppi_labels: n`` keeps the labels of a seeded random n items
only (a labelling budget) and reports the all-label mean beside it as the reference the
corrected estimate should reach; without it, PPI is not computed (nothing is unlabelled).
In the generated-responses mode the win rate is per evaluated model: how often each judge
prefers the model's response to the reference (no labels, so no correction).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from forkingpaths import stats
from forkingpaths.instruments.judge.common import cells, interval, of
from forkingpaths.spec import Spec

SCORE = {"A": 1.0, "tie": 0.5, "B": 0.0}
RULE = ("'the judge's win rate is biased' when the naive estimate lies outside the prediction-powered (PPI++) "
        "interval; otherwise 'the judge's win rate agrees with the human-label correction'")
MIN_LABELS = 10  # fewer labelled items than this: no PPI (the normal interval needs a few tens)


def _item_scores(part: pd.DataFrame) -> pd.Series:
    scored = part[part["parsed"].astype(bool)]
    if scored.empty:
        return pd.Series(dtype=float)
    probs = scored["p_a"].notna() & scored["p_tie"].notna()
    value = np.where(probs, scored["p_a"].fillna(0) + scored["p_tie"].fillna(0) / 2, scored["verdict"].map(SCORE))
    return pd.Series(value, index=scored.index).groupby(scored["item_id"]).mean()


def win_rates(frame: pd.DataFrame, spec: Spec, labels: int | None) -> list[dict[str, Any]]:
    level = spec.analysis.level
    rows = []
    base = frame[frame["artifact"] == "none"]
    keys = ["evaluated"] * ("evaluated" in frame) + ["model", "judge_template", "verdict_format"]
    for key, part in cells(base, keys):
        f = _item_scores(part)
        if f.size < 2:
            continue
        gold = part.groupby("item_id")["gold"].first().reindex(f.index).map(SCORE)
        row: dict[str, Any] = {**key, "n_items": int(f.size),
                               "naive": of(stats.mean_ci(f.to_numpy(), level=level), level)}
        labelled = gold.notna().to_numpy()
        if labels is not None and labelled.all():
            row["all_labels"] = of(stats.mean_ci(gold.to_numpy(), level=level), level)
            keep = np.zeros(f.size, dtype=bool)
            keep[np.random.default_rng(spec.seed).choice(f.size, size=min(labels, f.size - 2), replace=False)] = True
            labelled = keep
        n = int(labelled.sum())
        row |= {"n_labelled": n, "n_unlabelled": int((~labelled).sum())}
        if n >= 2:
            row["labelled_only"] = of(stats.mean_ci(gold[labelled].to_numpy(), level=level), level)
        if n >= MIN_LABELS and (~labelled).sum() >= 2:
            y, fl, fu = gold[labelled].to_numpy(), f[labelled].to_numpy(), f[~labelled].to_numpy()
            row["ppi"] = of(stats.ppi_mean(y, fl, fu, level), level)
            row["ppi_tuned"] = of(stats.ppi_mean(y, fl, fu, level, tuned=True), level)
            naive, tuned = row["naive"]["estimate"], row["ppi_tuned"]
            row["verdict"] = ("the judge's win rate is biased" if not tuned["lower"] <= naive <= tuned["upper"]
                              else "the judge's win rate agrees with the human-label correction")
        else:
            row["ppi"] = interval(None, None, None, f"none (needs at least {MIN_LABELS} labelled and 2 unlabelled items)", level)
        rows.append(row)
    return rows

