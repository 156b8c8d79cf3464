"""From trials to the model's answer distributions and their similarity to each human group.

One model distribution per (model, condition, item) is compared with every
group, so comparing with more groups costs no model calls.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from forkingpaths.instruments.survey.data.items import SurveyItem
from forkingpaths.stats.distributions import similarity_js, similarity_wasserstein

KEYS = ["model", "condition_id"]


def model_distributions(trials: pd.DataFrame, items: list[SurveyItem], factor_names: list[str]) -> pd.DataFrame:
    """The model's distribution over canonical options per (model, condition, item).

    Logprob trials: the mean over repeats of the renormalised option
    probabilities. When an HTTP backend could not score an option (absent from its
    top-k) the row is flagged ``incomplete`` and left unscored (``probs`` is None):
    the missing probability is only known to be below the k-th token's, which can be
    a large share of a small valid-label mass, so neither 0 nor a guess is safe.
    Sampled trials: answer counts / valid answers; unparseable answers are
    counted in ``n_invalid`` and never assigned to an option. Trials that ended
    in an error are left out (``n_errors``).
    """
    options = {item.item_id: list(item.options) for item in items}
    rows = []
    for key, group in trials.groupby(["model", "condition_id", "item_id"], sort=False):
        model, condition_id, item_id = key
        opts = options[item_id]
        ok = group[group["error"].isna()]
        base = {
            "model": model,
            "condition_id": condition_id,
            "item_id": item_id,
            **{f: group[f].iloc[0] for f in factor_names},
            "n_trials": len(group),
            "n_errors": len(group) - len(ok),
        }
        probs = [p for p in ok["option_probs"] if p is not None and len(p) > 0]
        if probs:
            matrix = np.array([np.asarray(p, dtype=float) for p in probs])
            incomplete = bool(np.isnan(matrix).any())
            dist = matrix.mean(axis=0)
            total = 0.0 if incomplete else dist.sum()
            rows.append(
                {
                    **base,
                    "elicitation": "logprobs",
                    "probs": (dist / total).tolist() if total > 0 else None,
                    "valid_mass": float(np.nanmean(ok["valid_mass"].to_numpy(dtype=float))),
                    "n_valid": len(probs),
                    "n_invalid": 0,
                    "incomplete": incomplete,
                }
            )
            continue
        answers = ok["answer"]
        valid = answers[answers.notna()]
        counts = np.array([(valid == o).sum() for o in opts], dtype=float)
        rows.append(
            {
                **base,
                "elicitation": "sample",
                "probs": (counts / counts.sum()).tolist() if counts.sum() > 0 else None,
                "valid_mass": float(len(valid) / len(ok)) if len(ok) else np.nan,
                "n_valid": int(len(valid)),
                "n_invalid": int(len(ok) - len(valid)),
                "incomplete": False,
            }
        )
    return pd.DataFrame(rows)


def alignment_table(distributions: pd.DataFrame, items: list[SurveyItem], factor_names: list[str]) -> pd.DataFrame:
    """Similarity of every model distribution to every group's human distribution.

    ``similarity`` = 1 − Jensen–Shannon distance (base 2, in [0, 1]);
    ``similarity_wasserstein`` = 1 − normalised 1-Wasserstein distance, only for
    items whose options form an ordered scale (NaN otherwise).
    """
    by_id = {item.item_id: item for item in items}
    rows = []
    usable = distributions[distributions["probs"].notna()]
    for record in usable.itertuples(index=False):
        item = by_id[record.item_id]
        groups = list(item.distributions)
        human = np.array([item.distributions[g] for g in groups], dtype=float)
        model = np.broadcast_to(np.asarray(record.probs, dtype=float), human.shape)
        sim = np.atleast_1d(similarity_js(model, human))
        sim_w = np.atleast_1d(similarity_wasserstein(model, human)) if item.ordered else np.full(len(groups), np.nan)
        shared = {
            "model": record.model,
            "condition_id": record.condition_id,
            **{f: getattr(record, f) for f in factor_names},
            "item_id": record.item_id,
            "topic": item.topic,
        }
        for g, s, w in zip(groups, sim, sim_w):
            rows.append({**shared, "group": g, "similarity": float(s), "similarity_wasserstein": float(w)})
    columns = ["model", "condition_id", *factor_names, "item_id", "topic", "group", "similarity", "similarity_wasserstein"]
    return pd.DataFrame(rows, columns=columns)


def uniform_reference(items: list[SurveyItem]) -> pd.DataFrame:
    """Similarity of an uninformative model (equal probability on every option) to each
    group per item: the baseline for how much structure the human data carry on their own."""
    rows = []
    for item in items:
        uniform = np.full(len(item.options), 1.0 / len(item.options))
        for group, dist in item.distributions.items():
            rows.append({"item_id": item.item_id, "group": group, "similarity": float(similarity_js(uniform, np.asarray(dist)))})
    return pd.DataFrame(rows)


def human_spread(items: list[SurveyItem]) -> float:
    """How much the groups themselves differ: the across-group SD of each option's
    share (population SD, ddof=0, over the groups in the data), averaged over options,
    then over items. The human shares are taken as exact (the surveys' own sampling error
    is not removed: their sample sizes are not in the data)."""
    per_item = []
    for item in items:
        human = np.array(list(item.distributions.values()), dtype=float)
        if human.shape[0] >= 2:
            per_item.append(float(human.std(axis=0, ddof=0).mean()))
    return float(np.mean(per_item)) if per_item else float("nan")


def design_variance(matrix: np.ndarray, k: np.ndarray, sampled: np.ndarray) -> np.ndarray:
    """Per option, var_ddof0 over conditions of the shares minus ((C − 1)/C)·mean p̂(1 − p̂)/(k − 1)
    over the sampled conditions (rows of ``matrix``): unbiased for the ddof=0 variance of the
    true shares (not truncated; see :func:`design_spread`)."""
    n_conditions = matrix.shape[0]
    noise = np.where(sampled[:, None], matrix * (1 - matrix) / np.maximum(k[:, None] - 1, 1), 0.0)
    return matrix.var(axis=0, ddof=0) - (n_conditions - 1) / n_conditions * noise.mean(axis=0)


def design_spread_detail(distributions: pd.DataFrame) -> dict[str, Any]:
    """The design spread and, when it cannot be estimated, why (see :func:`design_spread`)."""
    usable = distributions[distributions["probs"].notna()]
    if usable.empty:  # nothing scored: the "readable answers" finding says so
        return {"value": float("nan"), "note": None}
    sampled = usable[usable["elicitation"] == "sample"]
    if len(sampled) and (sampled["n_valid"] < 2).any():
        n_few = int((sampled["n_valid"] < 2).sum())
        return {
            "value": float("nan"),
            "note": (
                f"not estimated: {n_few} sampled distributions have fewer than 2 valid answers, and with one answer "
                "per condition the design's variation cannot be told apart from sampling noise (set repeats ≥ 2)"
            ),
        }
    per_item = []
    for _, group in usable.groupby(["model", "item_id"]):
        if len(group) < 2:
            continue
        matrix = np.array(group["probs"].tolist(), dtype=float)
        design = design_variance(matrix, group["n_valid"].to_numpy(dtype=float), group["elicitation"].to_numpy() == "sample")
        per_item.append(float(np.sqrt(np.clip(design, 0.0, None)).mean()))
    if not per_item:
        return {"value": float("nan"), "note": "not estimated: needs an item scored under at least 2 conditions"}
    return {"value": float(np.mean(per_item)), "note": None}


def design_spread(distributions: pd.DataFrame) -> float:
    """How much the model's answer moves with the design: the across-condition SD of
    each option's probability (population SD over the C conditions of the run, ddof=0, as
    :func:`human_spread` is over the groups), averaged over options, then over (model, item).

    For sampled distributions the observed shares p̂_c carry multinomial noise of variance
    p_c(1 − p_c)/k_c, which is not design noise. With v̄ the mean of that noise over the
    conditions, E[var_ddof0(p̂)] = var_ddof0(p) + ((C − 1)/C)·v̄, so ((C − 1)/C) times the
    mean of the unbiased estimates p̂(1 − p̂)/(k − 1) is subtracted before the square root
    (truncated at 0). The variance is then unbiased for the design variance of the true
    shares; the SD, a square root, is slightly biased downward (Jensen). With fewer than 2
    valid samples in some condition the noise cannot be estimated and the value is NaN
    (:func:`design_spread_detail` says why). How the two spreads still differ: C conditions
    against the data's groups (both population SDs over the levels present), and the
    human shares are treated as exact.
    Source: the variance of a multinomial share and its unbiased estimator, e.g. Cochran
    (1977), Sampling Techniques, §3.2.
    """
    return float(design_spread_detail(distributions)["value"])


SAMPLING_DRAWS = 200
CEILING_WARN = 0.9


def sampling_summary(
    distributions: pd.DataFrame, items: list[SurveyItem], rng: np.random.Generator, n_draws: int = SAMPLING_DRAWS
) -> dict[str, Any] | None:
    """How much sampling k answers biases the similarity of sampled distributions (None without any).

    1 − JSD of an empirical distribution p̂ of k answers is biased downward: even a model
    whose distribution equals group g's scores E[sim(p̂_k, q_g)] < 1 with p̂_k ~
    Multinomial(k, q_g)/k. ``ceiling`` is that expectation averaged over the sampled
    (condition, item) rows and the groups, by Monte Carlo (``n_draws`` draws each): the
    score of a perfect model at this k. ``bootstrap_bias`` is the parametric-bootstrap
    estimate of the bias of the reported similarities, mean over rows and groups of
    E*[sim(p̂*, q)] − sim(p̂, q) with p̂* ~ Multinomial(k, p̂)/k (Efron & Tibshirani 1993,
    ch. 10); it is near 0 when k is tiny (a one-answer p̂ resamples to itself), which is why
    the ceiling is reported too. The similarities are not corrected: the bootstrap
    correction is unreliable exactly when the bias is large.
    """
    sampled = distributions[(distributions["elicitation"] == "sample") & distributions["probs"].notna()]
    if sampled.empty:
        return None
    by_id = {item.item_id: item for item in items}
    ceilings, biases = [], []
    for record in sampled.itertuples(index=False):
        item, k = by_id[record.item_id], int(record.n_valid)
        human = np.array([item.distributions[g] for g in item.distributions], dtype=float)
        p_hat = np.asarray(record.probs, dtype=float)
        own = rng.multinomial(k, human / human.sum(axis=1, keepdims=True), size=(n_draws, len(human))) / k
        ceilings.append(float(np.mean(similarity_js(own, human[None, :, :]))))
        star = rng.multinomial(k, p_hat / p_hat.sum(), size=n_draws) / k
        biases.append(float(np.mean(similarity_js(star[:, None, :], human[None, :, :])) - np.mean(similarity_js(p_hat, human))))
    k_values = sampled["n_valid"].to_numpy(dtype=float)
    return {
        "n_distributions": int(len(sampled)),
        "k_min": int(k_values.min()),
        "k_median": float(np.median(k_values)),
        "ceiling": float(np.mean(ceilings)),
        "bootstrap_bias": float(np.mean(biases)),
        "n_draws": n_draws,
        "biased": bool(np.mean(ceilings) < CEILING_WARN),
    }
