"""The survey instrument's analyses: alignment, stability, steerability, extrapolability.

Returns the analyses that become ``results.json`` and the alignment table (one row
per model × condition × item × group, written as ``alignment.parquet``). Every
verdict word comes with the rule that produced it and the numbers it was applied to.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from forkingpaths.instruments.survey.data.items import SurveyItem
from forkingpaths.instruments.survey.comparison import compare_models
from forkingpaths.instruments.survey.extrapolation import candidate_splits, extrapolability
from forkingpaths.instruments.survey.factors import SurveyParams
from forkingpaths.instruments.survey.parsing import CONFLICT, ECHO
from forkingpaths.instruments.survey.scoring import (
    CEILING_WARN,
    alignment_table,
    design_spread_detail,
    human_spread,
    model_distributions,
    sampling_summary,
    uniform_reference,
)
from forkingpaths.instruments.survey.stability import stability, within_score_range
from forkingpaths.instruments.survey.steering import steerability
from forkingpaths.spec import Spec
from forkingpaths.stats.uncertainty import FEW_CLUSTERS, cluster_t_ci

SIMILARITY = "1 − Jensen–Shannon distance (base 2)"
#: Below this mean valid-label mass a headline finding says so (a convention; docs/survey.md).
LOW_VALID_MASS = 0.5
# Random streams shared by every model (their results must not depend on the model order).
SPLIT_STREAM, EXTRAPOLATION_STREAM, SAMPLING_STREAM = 4, 5, 6


def _rng(seed: int, stream: int) -> np.random.Generator:
    """An independent, reproducible random stream per analysis."""
    return np.random.default_rng(np.random.SeedSequence([seed, stream]))


def _base_rows(align: pd.DataFrame) -> pd.DataFrame:
    """Rows without a persona: the model answering as itself."""
    if "persona" in align.columns:
        return align[align["persona"] == "none"]
    return align


def _common_items(rows: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Rows restricted to the items every group has data for, so groups are compared on the
    same questions; all items are kept (and the result says so) when fewer than 2 items, or
    fewer than half of them, are common to all groups."""
    groups_per_item = rows.groupby("item_id")["group"].nunique()
    common = groups_per_item[groups_per_item == rows["group"].nunique()].index
    if len(common) >= 2 and len(common) >= 0.5 * len(groups_per_item):
        excluded = sorted(set(groups_per_item.index) - set(common))
        return rows[rows["item_id"].isin(common)], {"kind": "common", "n_items": len(common), "excluded_items": excluded}
    return rows, {
        "kind": "all",
        "n_items": int(len(groups_per_item)),
        "excluded_items": [],
        "note": "few items are shared by all groups: each group's mean is over its own items",
    }


def analyse_survey(trials: pd.DataFrame, items: list[SurveyItem], spec: Spec) -> tuple[dict[str, Any], pd.DataFrame]:
    params, _ = SurveyParams.from_dict(spec.instrument.params)
    factor_names = list(spec.factors)
    design_factors = [f for f in factor_names if f != "persona"]
    level, n_resamples = spec.analysis.level, spec.analysis.n_resamples
    distributions = model_distributions(trials, items, factor_names)
    align = alignment_table(distributions, items, factor_names)
    condition_table = (
        trials.drop_duplicates("condition_id").set_index("condition_id")[factor_names]
        if factor_names
        else pd.DataFrame(index=trials["condition_id"].unique())
    )
    item_table = pd.DataFrame({"item_id": [i.item_id for i in items], "topic": [i.topic for i in items]})
    spread_human = human_spread(items)
    reference = uniform_reference(items)
    groups = sorted({g for item in items for g in item.groups})
    results: dict[str, Any] = {
        "instrument": "survey",
        "settings": {
            "level": level,
            "n_resamples": n_resamples,
            "seed": spec.seed,
            "similarity": SIMILARITY,
            "elicitation": sorted(distributions["elicitation"].unique().tolist()) if len(distributions) else [],
        },
        "design": {
            "n_items": len(items),
            "groups": groups,
            "group_names": {g: params.group_names.get(g, g) for g in groups},
            "factors": {f: sorted(condition_table[f].unique().tolist()) for f in factor_names},
            "conditions": [
                {"condition_id": cid, "levels": row.to_dict()} for cid, row in condition_table.iterrows()
            ],
            "topics": sorted({i.topic for i in items if i.topic}),
        },
        "human_spread": spread_human,
        "models": {},
    }
    # one set of extrapolation splits for the whole run, whatever the models' order
    splits = candidate_splits(item_table, params.holdout, _rng(spec.seed, SPLIT_STREAM))
    # every model gets an entry, even one whose answers could not be scored at all
    for index, model in enumerate(distributions["model"].unique() if len(distributions) else []):
        model_align = align[align["model"] == model]
        base = _base_rows(model_align)
        model_dists = distributions[distributions["model"] == model]
        base_dists = model_dists[model_dists["persona"] == "none"] if "persona" in model_dists else model_dists
        spread = design_spread_detail(base_dists)
        entry: dict[str, Any] = {
            "elicitation": _elicitation_summary(model_dists),
            "design_spread": spread["value"],
            "design_spread_note": spread["note"],
        }
        entry["elicitation"]["sampling"] = sampling_summary(model_dists, items, _rng(spec.seed, SAMPLING_STREAM))
        entry["elicitation"]["parse_notes"] = _parse_notes(trials[trials["model"] == model])
        comparable, entry["item_set"] = _common_items(base) if not base.empty else (base, {"kind": "all", "n_items": 0})
        if comparable.empty or comparable["item_id"].nunique() < 2:
            entry["stability"] = {"available": False, "reason": "needs at least 2 scored items without a persona"}
        else:
            stab = stability(comparable, design_factors, condition_table, level, n_resamples, _rng(spec.seed, 10 * index + 1))
            entry["stability"] = {"available": True, **stab}
            entry["overall"] = _overall(comparable, level, n_resamples, _rng(spec.seed, 10 * index + 2))
        entry["steerability"] = steerability(model_align, factor_names, level, n_resamples, _rng(spec.seed, 10 * index + 3))
        entry["extrapolability"] = (
            extrapolability(
                base, item_table, params.holdout, level, n_resamples, _rng(spec.seed, EXTRAPOLATION_STREAM), reference, splits
            )
            if not base.empty
            else {"available": False, "reason": "no scored items"}
        )
        results["models"][model] = entry
    models = list(results["models"])
    results["comparisons"] = (
        compare_models(_common_items(_base_rows(align))[0], models, level, n_resamples, _rng(spec.seed, 999))
        if len(models) > 1
        else []
    )
    results["findings"] = findings(results)
    return results, align


def _elicitation_summary(distributions: pd.DataFrame) -> dict[str, Any]:
    """How well the answers could be read: valid-label mass, invalid samples, missing options, errors."""
    return {
        "n_distributions": int(len(distributions)),
        "mode": sorted(distributions["elicitation"].unique().tolist()),
        "mean_valid_mass": float(distributions["valid_mass"].mean()) if len(distributions) else None,
        "min_valid_mass": float(distributions["valid_mass"].min()) if len(distributions) else None,
        "incomplete_distributions": int(distributions["incomplete"].sum()),
        "invalid_samples": int(distributions["n_invalid"].sum()),
        "errors": int(distributions["n_errors"].sum()),
        "unscored": int(distributions["probs"].isna().sum()),
        "unscored_by_cause": _unscored_by_cause(distributions),
    }


def _unscored_by_cause(distributions: pd.DataFrame) -> dict[str, int]:
    """The unscored distributions split into causes that add up to ``unscored``: an option missing
    from the backend's top-k, every trial failed, or no readable sampled answer."""
    if not len(distributions):
        return {"incomplete": 0, "failed": 0, "unreadable": 0}
    unscored = distributions["probs"].isna()
    incomplete = unscored & distributions["incomplete"].astype(bool)
    failed = unscored & ~incomplete & (distributions["n_errors"] == distributions["n_trials"])
    return {"incomplete": int(incomplete.sum()), "failed": int(failed.sum()), "unreadable": int((unscored & ~incomplete & ~failed).sum())}


def _parse_notes(trials: pd.DataFrame) -> dict[str, int]:
    """How many sampled answers named an option and were still not scored, by reason (``parse_note``)."""
    if "parse_note" not in trials.columns:  # a trials table written before the column existed
        return {}
    return {str(k): int(v) for k, v in trials["parse_note"].dropna().value_counts().sort_index().items()}


def _overall(base: pd.DataFrame, level: float, n_resamples: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    """Mean similarity per group pooled over base conditions, item-clustered CR1 t interval
    (``n_resamples`` and ``rng`` unused; see docs/statistics.md for why not the percentile bootstrap)."""
    table = cluster_t_ci(base["similarity"].to_numpy(), base["item_id"].to_numpy(), base["group"].to_numpy(), level)
    table = table.drop(columns=["p_value"])  # H0 "mean similarity 0" is of no interest
    table["lower"], table["upper"] = within_score_range(table["lower"].to_numpy(), table["upper"].to_numpy())
    return table.sort_values(["estimate", "group"], ascending=[False, True]).to_dict(orient="records")


def few_items_note(n_items: int) -> str:
    """A clause for finding texts that rest on fewer than FEW_CLUSTERS items, else ''."""
    if n_items >= FEW_CLUSTERS:
        return ""
    return (
        f" (only {n_items} items: item-clustered intervals and tests rest on few items and may fall short of "
        f"their level; fewer than {FEW_CLUSTERS} items is flagged)"
    )


def _fmt(interval: dict[str, Any]) -> str:
    return f"{interval['estimate']:.3f} [{interval['lower']:.3f}, {interval['upper']:.3f}]"


def findings(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Headline findings in plain language: number, interval, verdict and the rule behind it."""
    out: list[dict[str, Any]] = []
    names = results["design"]["group_names"]
    level = results["settings"]["level"]
    for model, entry in results["models"].items():
        readable = entry["elicitation"]
        if readable["unscored"]:
            out.append(
                {
                    "model": model,
                    "topic": "readable answers",
                    "verdict": "answers partly unscored" if readable["unscored"] < readable["n_distributions"] else "no scored answers",
                    "text": _unscored_text(readable),
                    "rule": (
                        "a distribution is unscored when an option has no probability, every trial failed or no "
                        "sampled answer was readable"
                    ),
                }
            )
        low_mass = _low_mass_finding(model, readable)
        if low_mass:
            out.append(low_mass)
        notes = readable.get("parse_notes") or {}
        if notes:
            out.append(
                {
                    "model": model,
                    "topic": "answer parsing",
                    "verdict": "answers not scored",
                    "text": (
                        f"{sum(notes.values())} sampled answers named an option but were not scored: "
                        f"{notes.get(CONFLICT, 0)} gave one option's label with another option's wording "
                        f"(e.g. 'A. Yes' when A was No), {notes.get(ECHO, 0)} repeated the option list; "
                        "they count as unreadable samples (trials.parquet: parse_note)"
                    ),
                    "rule": (
                        "a sampled answer is not scored when its label and its wording name different options, or when "
                        "it lists two or more options; every such answer is counted here"
                    ),
                }
            )
        sampling = readable.get("sampling")
        if sampling:
            out.append(
                {
                    "model": model,
                    "topic": "sampled answers",
                    "verdict": "similarity biased by sampling" if sampling["biased"] else "sampling bias small",
                    "text": (
                        f"Answers were sampled (k = {sampling['k_median']:g} valid answers per condition and item, median; "
                        f"fewest {sampling['k_min']}): a model answering exactly like a group would score "
                        f"{sampling['ceiling']:.2f} on average at this k, not 1, so similarities are biased downward "
                        f"(parametric-bootstrap estimate of the bias of the reported similarities "
                        f"{sampling['bootstrap_bias']:+.3f}); compare similarities only at equal k"
                    ),
                    "rule": (
                        f"'similarity biased by sampling' when that ceiling is below {CEILING_WARN} (a convention); "
                        "the similarities are not corrected"
                    ),
                }
            )
        stab = entry["stability"]
        if stab.get("available"):
            out.append(_closest_group_finding(model, stab, entry["overall"], results))
            if stab["claim"] is not None:
                shares = stab["claim"]["shares"]
                target = stab["claim"].get("target", stab["closest_group"]["modal"])
                one_condition = stab["closest_group"]["n_conditions"] < 2
                out.append(
                    {
                        "model": model,
                        "topic": "specification curve",
                        "verdict": (
                            "not assessed" if one_condition else "robust" if shares["holds_significant"] == 1.0 else "not robust"
                        ),
                        "text": (
                            f"'{names.get(target, target)} is the closest group' holds with a margin whose interval excludes 0 in "
                            f"{shares['holds_significant']:.0%} of conditions, holds without significance in "
                            f"{shares['holds_not_significant']:.0%} and is reversed in {shares['reversed']:.0%}"
                            f"{few_items_note(entry['item_set']['n_items'])}"
                        ),
                        "rule": (
                            "robust when the claim holds significantly in every condition; not assessed with fewer than "
                            "2 conditions (robustness to design choices needs a choice); a condition's margin interval "
                            "is built from the pairwise margins over every other group (lower: the smallest lower bound; "
                            "upper: the smallest Bonferroni upper bound)"
                        ),
                    }
                )
        design, human = entry["design_spread"], results["human_spread"]
        if not np.isfinite(design) and entry.get("design_spread_note"):
            out.append(
                {
                    "model": model,
                    "topic": "design noise vs human differences",
                    "verdict": "not assessed",
                    "text": f"The design spread is {entry['design_spread_note']}",
                    "rule": "the design spread needs at least 2 valid answers per sampled condition and 2 conditions",
                }
            )
        if np.isfinite(design) and np.isfinite(human):
            out.append(
                {
                    "model": model,
                    "topic": "design noise vs human differences",
                    "verdict": "design noise exceeds group differences" if design > human else "design noise below group differences",
                    "text": (
                        f"The model's answer shares move by {design:.3f} (SD across conditions) while the human groups "
                        f"differ by {human:.3f} (SD across groups), averaged over options and items"
                    ),
                    "rule": (
                        "compares the across-condition SD of the model's option shares (sampling noise removed) with the "
                        "across-group SD of the human shares, both population SDs over the levels in the run; point "
                        "values, no interval"
                    ),
                }
            )
        steer = entry["steerability"]
        if steer.get("available"):
            targets = steer["targets"]
            specific = sum(t["specific"] for t in targets)
            steers = sum(t["steers"] for t in targets)
            backfires = sum(t.get("backfires", False) for t in targets)
            text = (
                f"Personas move the model toward their target group for {steers} of {len(targets)} targets; "
                f"the move is specific (target gains more than other groups) for {specific} of {len(targets)}"
            )
            if backfires:
                text += f"; for {backfires} of {len(targets)} the persona moves the model away from its target (backfires)"
            n_items = min((t["n_items"] for t in targets), default=0)
            out.append(
                {
                    "model": model,
                    "topic": "steerability",
                    "verdict": (
                        "backfires" if backfires and not specific
                        else "specific" if specific == len(targets) else ("partial" if specific else "not specific")
                    ),
                    "text": text + few_items_note(n_items),
                    "rule": steer["rule"] + (
                        "; the verdict is 'specific' when every target is, 'partial' when some are, "
                        "'backfires' when none is specific and some target backfires"
                    ),
                }
            )
        extra = entry["extrapolability"]
        if extra.get("available"):
            r = extra["pearson_r"]
            out.append(
                {
                    "model": model,
                    "topic": "extrapolability",
                    "verdict": extra["verdict"]["word"],
                    "text": _extrapolation_text(extra),
                    "rule": extra["verdict"]["rule"],
                    "estimate": _estimate(r, level),
                }
            )
    for comparison in results.get("comparisons", []):
        if not comparison.get("available"):
            continue
        a, b = comparison["a"], comparison["b"]
        text = _comparison_text(comparison, names)
        n_items = min((r.get("n_items", FEW_CLUSTERS) for r in comparison["by_group"]), default=0)
        out.append(
            {
                "model": f"{a} vs {b}",
                "topic": "model comparison",
                "verdict": "models differ" if comparison["closer_a"] or comparison["closer_b"] else "no reliable difference",
                "text": text + _shared_cells_note(comparison) + few_items_note(n_items),
                "rule": (
                    f"a group counts when its Holm-adjusted sign-flip p-value is below {1 - level:.2f}; Holm runs over "
                    f"all {comparison.get('n_tests', len(comparison['by_group']))} (model pair, group) tests of the run"
                ),
            }
        )
    return out


def _comparison_text(comparison: dict[str, Any], names: dict[str, str]) -> str:
    """Which groups each model of a pair is reliably closer to, naming them; the rest differ not reliably."""
    a, b, rows = comparison["a"], comparison["b"], comparison["by_group"]
    n = len(rows)
    if not (comparison["closer_a"] or comparison["closer_b"]):
        return f"No group in which {a} and {b} differ reliably ({n} groups compared)"
    parts = []
    for first, second, sign in ((a, b, 1), (b, a, -1)):
        groups = [names.get(r["group"], r["group"]) for r in rows if r["significant"] and sign * r["estimate"] > 0]
        if groups:
            parts.append(f"{first} is closer than {second} to {len(groups)} of {n} groups ({', '.join(groups)})")
    rest = n - comparison["closer_a"] - comparison["closer_b"]
    if rest:
        parts.append(f"no reliable difference for the other {rest}")
    return "; ".join(parts)


def _shared_cells_note(comparison: dict[str, Any]) -> str:
    """Which (condition, item) cells the paired differences use, and those left out because one model lacks them."""
    cells = comparison.get("cells")
    if not cells:
        return " (paired differences over the same items and conditions)"
    note = f" (paired differences over the {cells['both']} (condition, item) cells both models scored"
    if cells["only_a"] or cells["only_b"]:
        note += (
            f"; {cells['only_a']} scored for {comparison['a']} only and {cells['only_b']} for {comparison['b']} only are "
            "left out here but are in each model's pooled means, which therefore differ in their cells"
        )
    return note + ")"


def _unscored_text(readable: dict[str, Any]) -> str:
    """Unscored distributions by cause (the causes add up to the total), then the trials behind them."""
    causes = readable["unscored_by_cause"]
    return (
        f"{readable['unscored']} of {readable['n_distributions']} (condition, item) answer distributions could not be "
        f"scored: {causes['incomplete']} had an option missing from the backend's top-k, {causes['failed']} had every "
        f"trial fail and {causes['unreadable']} had no readable sampled answer (over all distributions: failed "
        f"trials {readable['errors']}, unreadable sampled answers {readable['invalid_samples']})"
    )


def _low_mass_finding(model: str, readable: dict[str, Any]) -> dict[str, Any] | None:
    """A headline finding when the answers mostly fell outside the valid labels, else None."""
    mass, lowest = readable.get("mean_valid_mass"), readable.get("min_valid_mass")
    if mass is None or not np.isfinite(mass) or mass >= LOW_VALID_MASS:
        return None
    if readable["mode"] == ["sample"]:
        text = (
            f"Only {mass:.0%} of sampled answers could be read as an option on average over conditions and items "
            f"(lowest {lowest:.0%}); the distributions are over the readable answers alone"
        )
    else:
        text = (
            f"On average {mass:.0%} of the next-token probability fell on the valid answer labels (lowest {lowest:.0%}); "
            "the option distributions are renormalised over that mass, so they describe what the model answers when "
            "made to pick a label, not most of what it would say"
        )
    return {
        "model": model,
        "topic": "valid-label mass",
        "verdict": "low valid-label mass",
        "text": text,
        "rule": (
            f"shown when the mean valid-label mass over (condition, item) distributions is below {LOW_VALID_MASS:.0%} "
            "(a convention); for sampled answers the mass is the share of readable answers"
        ),
    }


def _extrapolation_text(extra: dict[str, Any]) -> str:
    r, splits = extra["pearson_r"], extra.get("splits") or {}
    text = (
        f"Group similarities on evaluated vs held-out items correlate r = {_fmt(r)} on average over "
        f"{extra['split'].get('n_splits', 1)} {extra['split']['by']} splits ({extra['split'].get('kind', 'one split')}; "
        f"r ranges {splits.get('r_min', r['estimate']):.2f} to {splits.get('r_max', r['estimate']):.2f}); "
        f"permutation p = {extra['permutation']['p_value']:.3f}"
    )
    excess = extra.get("excess_over_uniform")
    if excess:
        text += f"; r minus a uniform model's r = {_fmt(excess)}"
    return text + few_items_note(int(extra.get("n_items", FEW_CLUSTERS)))


def _closest_group_finding(model: str, stab: dict[str, Any], overall: list[dict[str, Any]], results: dict[str, Any]) -> dict[str, Any]:
    """The headline on the closest group: the pooled closest group (``overall``'s first row, the
    terminal table's rank 1 and the specification curve's claim), how many conditions it leads in,
    whether the items resolve it, and where the other summaries point elsewhere."""
    names = results["design"]["group_names"]
    level = results["settings"]["level"]
    closest = stab["closest_group"]
    pooled_closest = stab.get("closest") or {"group": closest["modal"], "resolved": False, "margins": []}
    target = pooled_closest["group"]
    pooled = next(row for row in overall if row["group"] == target)
    leads = int(closest["counts"].get(target, 0))
    text = (
        f"Closest group: {names.get(target, target)} (highest mean similarity over the no-persona conditions, "
        f"{_fmt(pooled)}, {level:.0%} CI), closest in {leads} of {closest['n_conditions']} conditions"
    )
    margins = pooled_closest.get("margins") or []
    if margins:
        runner = min(margins, key=lambda m: m["estimate"])
        text += (
            f"; its margin over the runner-up {names.get(runner['group'], runner['group'])} is {_fmt(runner)}"
            + ("" if pooled_closest["resolved"] else ", so the items do not separate them")
        )
    if closest["modal"] != target:
        text += f"; most often closest condition by condition: {names.get(closest['modal'], closest['modal'])} ({closest['modal_count']})"
    if stab["p_closest"]:
        text += f"; probability of being closest across conditions and item resamples {stab['p_closest'].get(target, 0.0):.2f}"
        top_p = max(stab["p_closest"], key=lambda g: stab["p_closest"][g])
        if top_p != target:
            text += f" (highest: {names.get(top_p, top_p)}, {stab['p_closest'][top_p]:.2f})"
    if stab["kendall_w"] is not None:
        text += f"; Kendall's W across conditions {stab['kendall_w']:.2f}"
    top = _top_design_factor(stab["variance_components"], list(results["design"]["factors"]))
    if top:
        factor, main, interaction = top
        text += (
            f"; the largest design factor is {factor} ({main + interaction:.0%} of variance: "
            f"{main:.0%} alike for all items, {interaction:.0%} varying by item)"
        )
    text += few_items_note(int(pooled.get("n_clusters", FEW_CLUSTERS)))
    return {
        "model": model,
        "topic": "closest group",
        "verdict": stab["verdict"]["word"],
        "text": text,
        "rule": stab["verdict"]["rule"],
        "estimate": _estimate(pooled, level),
    }


def _estimate(interval: dict[str, Any], level: float) -> dict[str, Any]:
    """A finding's headline number: the interval record's estimate, bounds and method."""
    return {
        "estimate": interval["estimate"],
        "lower": interval.get("lower"),
        "upper": interval.get("upper"),
        "level": interval.get("level", level),
        "method": interval.get("method", "unknown"),
    }


def _top_design_factor(components: list[dict[str, Any]], factors: list[str]) -> tuple[str, float, float] | None:
    """The design factor with the largest share, counting its item interaction: (name, main, interaction)."""
    shares = {c["component"]: float(c["share"]) for c in components}
    totals = [(f, shares[f], shares.get(f"item:{f}", 0.0)) for f in factors if f in shares]
    if not totals:
        return None
    return max(totals, key=lambda t: t[1] + t[2])
