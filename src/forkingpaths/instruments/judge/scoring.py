"""Analyses of the single-response mode: the judge's scores against the human scores, and artifact shifts in score.

Formulas and sources:

- Agreement with humans, per judge × template × format (artifact ``none``, repeat 0, parsed
  scores): Spearman's rank correlation ρ (Spearman 1904: Pearson's r of the average ranks, ties
  sharing their mean rank; tested equal to scipy's ``spearmanr``) between the judge's score and the human score — with ``probs`` the judge's
  expected score ``Σ k P(k)``, else its parsed score — and the quadratic-weighted κ (Cohen
  1968; :func:`stats.weighted_kappa`) between the judge's whole-number score (the most probable
  point with ``probs``) and the human score on the scale (only when every human score is a
  whole number). Intervals: percentile bootstrap over items (Efron & Tibshirani 1993;
  :func:`stats.bootstrap_agreement_ci`), seeded with the spec's seed; their coverage is checked
  by simulation in tests/judge/test_single.py. The mean difference judge − human with a normal
  interval (:func:`stats.paired_difference`).
- Artifacts, per judge × template × format × artifact: the paired change in the judge's score
  (the same one as for ρ) between the perturbed trial and the same item and repeat without the
  artifact — mean paired difference (normal interval; cluster-t by item with repeats) — with
  the Wilcoxon signed-rank test (Wilcoxon 1945; scipy, zero differences dropped) and Holm (1979)
  across a judge's artifact levels.

Verdict words (:data:`RULES`); ``ALPHA`` 0.05 and the margin of a tenth of the scale's range
are conventions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from forkingpaths import stats
from forkingpaths.instruments.base import Analysis
from forkingpaths.instruments.judge.common import bootstrapped, cells, clean, interval, mean_difference
from forkingpaths.instruments.judge.items import ScoredItem
from forkingpaths.results import Estimate, Finding
from forkingpaths.spec import Spec

ALPHA = 0.05
MARGIN_SHARE = 0.10  # of the scale's range (high − low): the artifact margin, a convention
DEFAULTS = {"artifact": "none", "judge_template": "score", "verdict_format": "probs"}
RULES = {
    "agreement": "'tracks the human scores' when the lower bound of Spearman's ρ interval is above 0 (no rank agreement is 0: a baseline, not a convention); otherwise 'not shown to track the human scores'",
    "artifact": f"'raises the score' / 'lowers the score' when the Holm-adjusted Wilcoxon p-value is below {ALPHA} and the mean shift is at least {MARGIN_SHARE} of the scale's range in that direction (both conventions); otherwise 'no shift beyond the margin'",
    "parsing": "'all parsed' when no generated score was unparsable; otherwise 'some unparsable' (they are left out of every statistic, never scored)",
}


def score_frame(trials: pd.DataFrame) -> pd.DataFrame:
    """Trials without errors, every factor present, and ``value``: the expected score where it exists, else the score."""
    frame = trials[trials["error"].isna()].copy()
    for factor, default in DEFAULTS.items():
        if factor not in frame:
            frame[factor] = default
    frame["parsed"] = frame["parsed"].astype(bool)
    for column in ("score", "expected_score", "human_score"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    frame["value"] = frame["expected_score"].where(frame["expected_score"].notna(), frame["score"])
    return frame


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n, tied values sharing the mean of the ranks they span."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    return (np.cumsum(counts) - (counts - 1) / 2.0)[inverse]


def spearman(ratings: np.ndarray) -> float:
    """Spearman's ρ of a 2 × n array: Pearson's r of the average ranks (what scipy's ``spearmanr`` computes).

    ValueError when undefined (a constant row), as the bootstrap expects. Written with
    numpy rather than ``spearmanr`` because the bootstrap calls it thousands of times.
    """
    ranks = np.vstack([_average_ranks(row) for row in np.asarray(ratings, dtype=float)])
    centred = ranks - ranks.mean(axis=1, keepdims=True)
    scale = float(np.sqrt((centred[0] ** 2).sum() * (centred[1] ** 2).sum()))
    if scale == 0.0:
        raise ValueError("Spearman's rho is undefined: one of the two score lists is constant")
    return float((centred[0] * centred[1]).sum() / scale)


def agreement(frame: pd.DataFrame, items: list[ScoredItem], spec: Spec) -> list[dict[str, Any]]:
    """Spearman's ρ, quadratic-weighted κ and the mean difference against the human scores per judge × template × format."""
    low, high = (items[0].low, items[0].high) if items else (0, 1)
    whole = all(float(item.score).is_integer() for item in items)
    rows = []
    base = frame[(frame["artifact"] == "none") & (frame["repeat"] == 0)]
    for key, part in cells(base, ["model", "judge_template", "verdict_format"]):
        scored = part[part["parsed"]]
        pair = np.vstack([scored["value"].to_numpy(float), scored["human_score"].to_numpy(float)])
        row: dict[str, Any] = {**key, "n": int(len(part)), "unparsable": int((~part["parsed"]).sum()), "low": low, "high": high,
                               "mean_judge": clean(float(pair[0].mean())) if pair.size else None,
                               "mean_human": clean(float(pair[1].mean())) if pair.size else None,
                               "spearman": bootstrapped(pair, spearman, spec),
                               "difference": mean_difference(pair[0], pair[1], scored["item_id"].to_numpy(), spec.analysis.level)}
        if whole:
            points = np.vstack([scored["score"].to_numpy(float), pair[1]])
            row["qwk"] = bootstrapped(points, lambda r: stats.weighted_kappa(r[0], r[1], low, high), spec)
        else:
            row["qwk"] = interval(None, None, None, "not computed (human scores are not all whole points)", spec.analysis.level)
        lower = row["spearman"]["lower"]
        row["verdict"] = "tracks the human scores" if lower is not None and lower > 0 else "not shown to track the human scores"
        rows.append(row)
    return rows


def artifacts(frame: pd.DataFrame, items: list[ScoredItem], level: float) -> list[dict[str, Any]]:
    """Paired shift in the judge's score under each artifact, Wilcoxon signed-rank, Holm per judge."""
    span = (items[0].high - items[0].low) if items else 1
    keys = ["model", "judge_template", "verdict_format"]
    base = frame[(frame["artifact"] == "none") & frame["parsed"]].set_index([*keys, "item_id", "repeat"])["value"]
    rows = []
    for key, part in cells(frame[(frame["artifact"] != "none") & frame["parsed"]], [*keys, "artifact"]):
        index = pd.MultiIndex.from_frame(part[[*keys, "item_id", "repeat"]])
        found = index.isin(base.index)
        if not found.any():
            continue
        after = part["value"].to_numpy(float)[found]
        before = base.loc[index[found]].to_numpy(float)
        differences = after - before
        p_value = float(sps.wilcoxon(differences).pvalue) if np.any(differences != 0) else 1.0
        rows.append({**key, "n_pairs": int(found.sum()), "baseline_mean": float(before.mean()), "perturbed_mean": float(after.mean()),
                     "shift": mean_difference(after, before, part["item_id"].to_numpy()[found], level),
                     "wilcoxon": {"pvalue": p_value, "method": "Wilcoxon signed-rank (two-sided, zero differences dropped)"},
                     "margin": MARGIN_SHARE * span})
    for judge in {r["model"] for r in rows}:
        mine = [r for r in rows if r["model"] == judge]
        for r, p in zip(mine, stats.holm([r["wilcoxon"]["pvalue"] for r in mine])):
            r["p_holm"] = float(p)
            shift = r["shift"]["estimate"] or 0.0
            r["verdict"] = ("raises the score" if p < ALPHA and shift >= r["margin"] else
                            "lowers the score" if p < ALPHA and shift <= -r["margin"] else "no shift beyond the margin")
    return rows


def _estimate(found: dict[str, Any]) -> Estimate | None:
    if found.get("estimate") is None:
        return None
    return Estimate(estimate=found["estimate"], lower=found.get("lower"), upper=found.get("upper"), level=found.get("level"), method=found["method"])


def findings(result: dict[str, Any]) -> list[Finding]:
    out = []
    for row in result["agreement"]:
        rho, qwk = row["spearman"], row["qwk"]
        claim = (f"Spearman ρ with the human scores {rho['estimate']:.2f}"
                 + (f", quadratic-weighted κ {qwk['estimate']:.2f}" if qwk["estimate"] is not None else "")
                 + f" ({row['n'] - row['unparsable']} items, {row['judge_template']}, {row['verdict_format']})"
                 if rho["estimate"] is not None else f"no rank correlation ({rho['method']})")
        out.append(Finding(subject=row["model"], topic="agreement with human scores", claim=claim, verdict=row["verdict"],
                           rule=RULES["agreement"], tone="good" if row["verdict"].startswith("tracks") else "caution", estimate=_estimate(rho)))
    for row in result["artifacts"]:
        if row["verdict"].startswith("no shift"):
            continue
        out.append(Finding(subject=row["model"], topic=f"artifact {row['artifact']}",
                           claim=(f"mean score goes from {row['baseline_mean']:.2f} to {row['perturbed_mean']:.2f} "
                                  f"({row['judge_template']}, {row['verdict_format']}; Holm p = {row['p_holm']:.3g})"),
                           verdict=row["verdict"], rule=RULES["artifact"], tone="caution", estimate=_estimate(row["shift"])))
    parsing = result["parsing"]
    if parsing["generated"]:
        some = parsing["unparsable"] > 0
        out.append(Finding(subject=",".join(result["design"]["judges"]), topic="score parsing",
                           claim=f"{parsing['unparsable']} of {parsing['generated']} generated scores were unparsable",
                           verdict="some unparsable" if some else "all parsed", rule=RULES["parsing"], tone="caution" if some else "good"))
    return out


def analyse(trials: pd.DataFrame, items: list[ScoredItem], spec: Spec) -> Analysis:
    """Every single-response analysis and the findings in words (rules in :data:`RULES`)."""
    frame = score_frame(trials)
    generated = frame[frame["verdict_format"] == "generate"]
    result: dict[str, Any] = {
        "mode": "single",
        "design": {"judges": sorted(frame["model"].unique().tolist()) if not frame.empty else [], "items": len(items),
                   "scale": [items[0].low, items[0].high] if items else None},
        "parsing": {"generated": int(len(generated)), "unparsable": int((~generated["parsed"]).sum()),
                    "rule": "see docs/judge.md: the first number after the last 'score:' or 'rating:', else the first number; a whole number on the scale"},
        "agreement": agreement(frame, items, spec),
        "artifacts": artifacts(frame, items, spec.analysis.level),
        "rules": {"alpha": ALPHA, "margin_share": MARGIN_SHARE, **RULES},
    }
    return Analysis(result, findings(result))
