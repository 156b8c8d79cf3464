"""Benchmark meta-evaluation of one or more models × items matrices: the analyses and their findings.

Everything here is a function of the matrices and the seed: the analyses dict is what
results.json holds and what the report draws; the findings state each result in words, with
the rule that gave the verdict word.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from forkingpaths.results import Estimate, Finding, RunResults
from forkingpaths.store import to_jsonable
from forkingpaths.meta.matrices import Benchmarks
from forkingpaths.stats.benchmark import (
    agreement_by_size,
    bat_agreement,
    category_signal_noise,
    condition_noise,
    rank_agreement,
    saturation,
    signal_noise,
)
from forkingpaths.stats.irt import LOW_DISCRIMINATION, fit_2pl, item_table
from forkingpaths.stats.subsets import SUBSET_METHODS, subset_curve

__all__ = ["MIN_IRT_MODELS", "SUBSET_SIZES", "TARGET_ERROR", "analyse_benchmarks"]

#: Fewer models than this and the 2PL and the subset curve are not attempted. Measured, not a
#: convention: on matrices simulated from the CRUXEval-O fit at 10 models × 757 items, nearly every
#: item separates the models, the slopes run away and 95% slope intervals covered 0.62; at 20
#: models they covered 0.97 (scripts/irt_coverage.py, docs/meta.md).
MIN_IRT_MODELS = 20
#: Below this many models the 2PL is fitted but read as rough: in seeded simulations
#: (scripts/irt_coverage.py, docs/meta.md) 95% difficulty intervals covered 0.90 at 20 models
#: (slope and intercept 0.97); from 30 models on, slope, intercept and difficulty intervals covered
#: 0.95–0.97 on planted items (difficulty 0.93 on CRUXEval-like items at 49 models).
RELIABLE_IRT_MODELS = 30
#: Subset sizes of the curve (those below the number of items are used).
SUBSET_SIZES = (10, 25, 50, 100)
#: A subset "estimates the full score" when its cross-validated mean absolute error is at most
#: this (2 points of accuracy; tinyBenchmarks' 100 MMLU items come within about 2%): a convention.
TARGET_ERROR = 0.02
#: A benchmark "separates models" when the SD of its model scores is at least this many times
#: the item-sampling SD of one score: the gap a two-sided 95% comparison of two independent
#: scores needs is 1.96·√2 ≈ 2.8 noise SDs, so models one SD apart are then told apart.
SEPARATION_RATIO = 2.8
#: A benchmark is "saturated" when at least this share of its items is answered right by every
#: model, or wrong by every model (a convention).
SATURATED_SHARE = 0.2
#: Agreement intervals over fewer models than this are flagged as unreliable (their coverage
#: falls below the nominal level: docs/meta.md).
FEW_MODELS = 10
#: Numbers of models at which the agreement of two benchmarks is recomputed.
AGREEMENT_SIZES = (5, 10, 20)
#: How many flagged items results.json lists per benchmark (all are counted).
MAX_LISTED = 50
#: How many of the noisiest categories a finding names.
NAMED_CATEGORIES = 3


def _irt(name: str, matrix: pd.DataFrame, level: float) -> tuple[dict[str, Any], list[Finding]]:
    y = matrix.to_numpy(dtype=float)
    fit = fit_2pl(y)
    table = item_table(fit, y, level).assign(item_id=matrix.columns)
    fitted = table[table["fitted"]]
    flagged = fitted[fitted["low_discrimination"]].sort_values("slope")
    items = fitted[["item_id", "slope", "slope_lower", "slope_upper", "difficulty", "p_correct", "outfit", "infit"]].to_dict("records")
    entry = {
        "converged": fit.converged,
        "iterations": fit.iterations,
        "log_posterior": fit.log_posterior,
        "items_fitted": int(fit.fitted.sum()),
        "items_constant": int((~fit.fitted).sum()),
        "low_discrimination": int(fitted["low_discrimination"].sum()),
        "negative": int(fitted["negative"].sum()),
        "misfit": int(((fitted["outfit"] > 1.5) | (fitted["outfit"] < 0.5)).sum()),
        "threshold": LOW_DISCRIMINATION,
        "items": items,
        "flagged": [
            {"item_id": r.item_id, "slope": r.slope, "slope_lower": r.slope_lower, "slope_upper": r.slope_upper,
             "p_correct": r.p_correct, "negative": bool(r.negative)}
            for r in flagged.head(MAX_LISTED).itertuples()
        ],
        "abilities": {m: {"theta": float(t), "sd": float(s)} for m, t, s in zip(matrix.index, fit.theta, fit.theta_sd)},
    }
    verdict = "converged" if fit.converged else "did not converge"
    findings = [
        Finding(
            subject=name,
            topic="item response theory",
            claim=(
                f"A 2PL fitted to {int(fit.fitted.sum())} of {matrix.shape[1]} items ({int((~fit.fitted).sum())} are answered alike by "
                f"every model and carry no information) {verdict} in {fit.iterations} EM iterations; "
                f"{entry['low_discrimination']} items discriminate very little (slope < {LOW_DISCRIMINATION}) and "
                f"{entry['negative']} have a slope interval wholly below zero (stronger models miss them more often: "
                "check the key and the wording)."
                + (
                    f" With only {matrix.shape[0]} models the fit is rough: in simulations at this size difficulty intervals "
                    f"cover less than their level (at least {RELIABLE_IRT_MODELS} models are needed for them)."
                    if matrix.shape[0] < RELIABLE_IRT_MODELS
                    else ""
                )
            ),
            verdict=f"{entry['low_discrimination']} flagged",
            rule=(
                f"flagged: slope < {LOW_DISCRIMINATION} (Baker 2001's 'very low', a convention); negative: the {level:.0%} slope interval "
                f"lies below 0; rough below {RELIABLE_IRT_MODELS} models (measured by simulation, docs/meta.md)"
            ),
            tone="good" if entry["low_discrimination"] == 0 and matrix.shape[0] >= RELIABLE_IRT_MODELS else "caution",
        )
    ]
    return entry, findings


def _subsets(name: str, matrix: pd.DataFrame, seed: int) -> tuple[list[dict[str, Any]], list[Finding]]:
    sizes = [k for k in SUBSET_SIZES if k < matrix.shape[1]]
    curve = subset_curve(matrix.to_numpy(dtype=float), sizes, SUBSET_METHODS, n_folds=5, rng=seed)
    rows: list[dict[str, Any]] = [{str(k): v for k, v in row.items()} for row in curve.to_dict("records")]
    good = curve[curve["mean_abs_error"] <= TARGET_ERROR].sort_values(["k", "mean_abs_error"])
    if len(good):
        best = good.iloc[0]
        claim = (
            f"{int(best['k'])} items chosen by {best['selection']} selection with the {best['estimator']} estimator estimate the "
            f"held-out models' full scores within {best['mean_abs_error']:.3f} on average (largest error {best['max_abs_error']:.3f}; "
            f"Kendall τ with the full ranking {best['kendall']:.2f}), by 5-fold leave-models-out cross-validation."
        )
        verdict = f"{int(best['k'])} items suffice"
    else:
        best = curve.sort_values("mean_abs_error").iloc[0]
        claim = (
            f"No subset size tried ({', '.join(map(str, sizes))}) estimates full scores within {TARGET_ERROR}; the best is "
            f"{int(best['k'])} items by {best['selection']}/{best['estimator']} with mean absolute error {best['mean_abs_error']:.3f}."
        )
        verdict = "no small subset suffices"
    rule = f"the smallest k whose cross-validated mean absolute error is ≤ {TARGET_ERROR} (2 points; a convention)"
    return rows, [Finding(subject=name, topic="small subsets", claim=claim, verdict=verdict, rule=rule, tone="good" if len(good) else "caution")]


def _noise(name: str, matrix: pd.DataFrame) -> tuple[dict[str, Any], list[Finding]]:
    entry: dict[str, Any] = {**signal_noise(matrix.to_numpy(dtype=float)), **saturation(matrix.to_numpy(dtype=float))}
    separates = entry["sd_ratio"] >= SEPARATION_RATIO
    findings = [
        Finding(
            subject=name,
            topic="signal and noise",
            claim=(
                f"Model scores spread by SD {entry['sd_signal']:.3f} (largest gap {entry['max_gap']:.3f}); a score's item-sampling SD is "
                f"{entry['noise_sd']:.3f} on average: dispersion-to-noise {entry['sd_ratio']:.1f}, relative signal-to-noise {entry['snr']:.1f}."
            ),
            verdict="separates models" if separates else "noisy",
            rule=_separation_rule("separates models") + "; noise = mean item-bootstrap SD of a score",
            tone="good" if separates else "caution",
        )
    ]
    saturated = entry["all_right"] + entry["all_wrong"] >= SATURATED_SHARE
    findings.append(
        Finding(
            subject=name,
            topic="saturation",
            claim=(
                f"{entry['all_right']:.1%} of items are answered right by every model and {entry['all_wrong']:.1%} wrong by every model: "
                "these items cannot separate the models measured."
            ),
            verdict="saturated" if saturated else "room left",
            rule=f"saturated: at least {SATURATED_SHARE:.0%} of items all right or all wrong (a convention)",
            tone="caution" if saturated else "good",
        )
    )
    return entry, findings


def _separation_rule(what: str) -> str:
    return f"{what}: SD of scores ≥ {SEPARATION_RATIO} × the noise SD (1.96·√2, the gap a 95% comparison of two scores needs)"


def _categories(name: str, matrix: pd.DataFrame, categories: pd.Series) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Signal and noise within each category of items, and a finding naming the noisiest."""
    table = category_signal_noise(matrix, categories)
    if len(table) < 2:
        return table.to_dict("records"), []
    noisy = table[table["sd_ratio"] < SEPARATION_RATIO]
    named = "; ".join(
        f"{r.category} (ratio {r.sd_ratio:.1f}, {int(r.items)} items, noise SD {r.noise_sd:.3f})" for r in table.head(NAMED_CATEGORIES).itertuples()
    )
    finding = Finding(
        subject=name,
        topic="signal and noise by category",
        claim=(
            f"{len(noisy)} of {len(table)} categories do not separate the models within themselves (dispersion-to-noise below "
            f"{SEPARATION_RATIO}); the noisiest: {named}. A category's noise is that of a mean over its own items, so small "
            "categories are noisier by construction."
        ),
        verdict=f"{len(noisy)} of {len(table)} categories noisy",
        rule=_separation_rule("a category separates models") + "; computed within each category's items",
        tone="caution" if len(noisy) else "good",
    )
    return table.to_dict("records"), [finding]


def _designs(matrices: Mapping[str, pd.DataFrame], designs: dict[str, list[str]]) -> tuple[dict[str, Any], list[Finding]]:
    """Signal and noise across the conditions of each run with several."""
    entries, findings = {}, []
    for run, names in designs.items():
        try:
            entry: dict[str, Any] = {"matrices": names, **condition_noise([matrices[n] for n in names])}
        except ValueError as error:
            entries[run] = {"matrices": names, "error": str(error)}
            continue
        entries[run] = entry
        separates = entry["sd_ratio"] >= SEPARATION_RATIO
        findings.append(
            Finding(
                subject=run,
                topic="noise across conditions",
                claim=(
                    f"Across its {entry['conditions']} conditions, a model's score moves by SD {entry['noise_sd']:.3f} on average "
                    f"(item-sampling SD of one score: {entry['item_noise_sd']:.3f}); the {entry['models']} models' mean scores spread "
                    f"by SD {entry['sd_signal']:.3f}: dispersion-to-noise {entry['sd_ratio']:.1f}."
                ),
                verdict="separates models across conditions" if separates else "condition noise rivals the signal",
                rule=_separation_rule("separates models across conditions") + "; noise = mean over models of the SD of its condition scores",
                tone="good" if separates else "caution",
            )
        )
    return entries, findings


def _agreement(scores: pd.DataFrame, level: float, seed: int) -> tuple[dict[str, Any], list[Finding]]:
    common = scores.dropna()
    names = list(common.columns)
    pairs, findings = [], []
    for a, b in itertools.combinations(names, 2):
        tau = rank_agreement(common[a].to_numpy(), common[b].to_numpy(), "kendall", level, rng=seed)
        r = rank_agreement(common[a].to_numpy(), common[b].to_numpy(), "pearson", level, rng=seed)
        by_size = agreement_by_size(common[a].to_numpy(), common[b].to_numpy(), AGREEMENT_SIZES, rng=seed)
        pairs.append({"a": a, "b": b, "models": len(common), "kendall": tau.to_dict(), "pearson": r.to_dict(), "by_size": by_size.to_dict("records")})
        few = len(common) < FEW_MODELS
        findings.append(
            Finding(
                subject=f"{a} vs {b}",
                topic="benchmark agreement",
                claim=(
                    f"On their {len(common)} common models the two benchmarks rank models with Kendall τ {tau.estimate:.2f} "
                    f"(Pearson r {r.estimate:.2f})" + ("; too few models for the interval to hold its level." if few else ".")
                ),
                verdict="rankings agree" if tau.lower > 0 and not few else "agreement not shown",
                rule=f"rankings agree: the {level:.0%} bootstrap interval of τ lies above 0, on at least {FEW_MODELS} models",
                tone="good" if tau.lower > 0 and not few else "caution",
                estimate=Estimate.of(tau),
            )
        )
    bat = []
    if len(names) >= 3 and len(common) >= 3:
        bat = bat_agreement(common, "kendall", level, rng=seed).to_dict("records")
        for row in bat:
            findings.append(
                Finding(
                    subject=str(row["benchmark"]),
                    topic="agreement with the other benchmarks",
                    claim=(
                        f"Against the mean of the others' z-scored scores ({row['reference']}), Kendall τ is {row['estimate']:.2f} "
                        f"on {len(common)} models. The reference is a choice: another set of benchmarks gives another answer."
                    ),
                    verdict="agrees with the reference" if row["lower"] > 0 and len(common) >= FEW_MODELS else "agreement not shown",
                    rule=f"agrees: the {level:.0%} bootstrap interval of τ lies above 0, on at least {FEW_MODELS} models",
                    tone="good" if row["lower"] > 0 and len(common) >= FEW_MODELS else "caution",
                    estimate=Estimate(estimate=row["estimate"], lower=row["lower"], upper=row["upper"], level=row["level"], method=row["method"]),
                )
            )
    return {"common_models": list(common.index), "scores": common.to_dict("index"), "pairs": pairs, "bat": bat}, findings


def analyse_benchmarks(matrices: Mapping[str, pd.DataFrame], level: float = 0.95, seed: int = 0, subsets: bool = True) -> RunResults:
    """Every analysis of docs/meta.md on each matrix, and agreement across them on their common models.

    With :class:`Benchmarks`, also signal and noise per item category and across each run's conditions.
    """
    categories = matrices.categories if isinstance(matrices, Benchmarks) else {}
    designs = matrices.designs if isinstance(matrices, Benchmarks) else {}
    analyses: dict[str, Any] = {"level": level, "seed": seed, "benchmarks": {}}
    findings: list[Finding] = []
    scores = {}
    for name, matrix in matrices.items():
        entry: dict[str, Any] = {"models": int(matrix.shape[0]), "items": int(matrix.shape[1]), "empty_cells": int(matrix.isna().sum().sum())}
        entry["noise"], found = _noise(name, matrix)
        findings += found
        if name in categories:
            entry["categories"], found = _categories(name, matrix, categories[name])
            findings += found
        if matrix.shape[0] >= MIN_IRT_MODELS:
            entry["irt"], found = _irt(name, matrix, level)
            findings += found
            if subsets:
                entry["subsets"], found = _subsets(name, matrix, seed)
                findings += found
        else:
            findings.append(
                Finding(
                    subject=name, topic="item response theory",
                    claim=f"{matrix.shape[0]} models: too few to fit a 2PL or to cross-validate subsets (at least {MIN_IRT_MODELS} needed).",
                    verdict="not fitted", rule=f"fitted when the matrix has at least {MIN_IRT_MODELS} models (below that, simulated intervals fell far below their level: docs/meta.md)", tone="info",
                )
            )
        analyses["benchmarks"][name] = entry
        scores[name] = matrix.mean(axis=1)
    if designs:
        analyses["designs"], found = _designs(matrices, designs)
        findings += found
    if len(matrices) >= 2:
        table = pd.DataFrame(scores)
        analyses["agreement"], found = _agreement(table, level, seed)
        findings += found
    plain = to_jsonable(analyses)
    assert isinstance(plain, dict)
    return RunResults(instrument="meta", analyses=plain, findings=findings)


def methods_of(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The distinct ``selection/estimator`` labels of subset-curve rows, in the curve's order."""
    return list(dict.fromkeys(f"{r['selection']}/{r['estimator']}" for r in rows))
