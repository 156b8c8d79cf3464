"""From trials to the model's answer distributions and their similarity to each human group.

One model distribution per (model, condition, item) is compared with every
group, so comparing with more groups costs no model calls.
"""

from __future__ import annotations

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
    share (population SD, ddof=0), averaged over options, then over items."""
    per_item = []
    for item in items:
        human = np.array(list(item.distributions.values()), dtype=float)
        if human.shape[0] >= 2:
            per_item.append(float(human.std(axis=0, ddof=0).mean()))
    return float(np.mean(per_item)) if per_item else float("nan")


def design_spread(distributions: pd.DataFrame) -> float:
    """How much the model's answer moves with the design: the across-condition SD of
    each option's probability, averaged over options, then over (model, item) — the same
    quantity as :func:`human_spread`, so the two are directly comparable.

    For sampled distributions the observed variance across conditions also contains the
    multinomial noise of k samples, Var(p̂) = p(1 − p)/k, which is not design noise. It is
    removed with its unbiased estimate p̂(1 − p̂)/(k − 1), averaged over conditions, before
    the square root (truncated at 0; rows with fewer than 2 valid samples are left out).
    """
    per_item = []
    usable = distributions[distributions["probs"].notna()]
    for _, group in usable.groupby(["model", "item_id"]):
        sampled = group["elicitation"] == "sample"
        group = group[~sampled | (group["n_valid"] >= 2)]
        if len(group) < 2:
            continue
        matrix = np.array(group["probs"].tolist(), dtype=float)
        variance = matrix.var(axis=0, ddof=0)
        k = group["n_valid"].to_numpy(dtype=float)[:, None]
        noise = np.where(group["elicitation"].to_numpy()[:, None] == "sample", matrix * (1 - matrix) / np.maximum(k - 1, 1), 0.0)
        per_item.append(float(np.sqrt(np.clip(variance - noise.mean(axis=0), 0.0, None)).mean()))
    return float(np.mean(per_item)) if per_item else float("nan")
