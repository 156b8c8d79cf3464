"""Response similarity between counterfactual pairs (``instrument.params.scorer: similarity``, generation).

A sentiment score asks whether one group's responses are warmer; similarity asks whether the
model *answers differently at all* when only the group changes. For each counterfactual set
(same template, draw, condition, model, repeat) and pair of groups a, b, the similarity of the
two greedy responses is their token-set Jaccard index (:func:`token_jaccard`). The noise it is
compared with is the similarity of a variant's response under a control (a typo, an irrelevant
sentence …) to its response under ``none``: how much a meaningless change alters the answer.

Per template t the swap dissimilarity D_swap(t) is the mean of 1 − J over its sets and pairs
(or over one pair's sets), the control dissimilarity D_c(t) the mean of 1 − J over the
template's variants under control c; the comparison is δ(t) = D_swap(t) − D_c(t), one value per
template, and its mean over the G templates that have both gets a t interval with G − 1 df
(stats.mean_ci with one cluster per template, which is the one-sample t interval of the
template means; Cameron & Miller 2015). The rule (a project convention, like the rating
rule): responses are *less similar beyond noise* under a group swap when, for every control,
the interval of δ lies above 0; *within noise* otherwise; *no controls* without a control
that changed a prompt; under 2 templates no interval ("too few templates").
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import pandas as pd

from forkingpaths import stats

_TOKEN = re.compile(r"\w+")


def token_jaccard(a: str, b: str) -> float:
    """Jaccard index |A ∩ B| / |A ∪ B| of the two texts' sets of lower-cased word tokens (``\\w+``, Unicode).

    Jaccard (1912), "The distribution of the flora in the alpine zone", New Phytologist 11(2);
    as a text similarity e.g. Manning, Raghavan & Schütze (2008), Introduction to Information
    Retrieval, §3.3.4. Two texts without tokens are identical (1.0). Word order and repeats do not
    count: it measures whether the responses use the same words, a crude, language-neutral proxy.
    """
    sa, sb = set(_TOKEN.findall(a.lower())), set(_TOKEN.findall(b.lower()))
    union = sa | sb
    return len(sa & sb) / len(union) if union else 1.0


def _template_mean_ci(values: pd.Series, level: float) -> dict[str, Any]:
    """Mean over templates (the index) of one value per template, with its t interval (None under 2)."""
    n = len(values)
    if n < 2:
        return {"estimate": float(values.mean()) if n else None, "lower": None, "upper": None, "n_templates": n, "method": "too few templates"}
    ci = stats.mean_ci(values.to_numpy(float), values.index.to_numpy(), level, cluster_name="template")
    return {"estimate": ci.estimate, "lower": ci.lower, "upper": ci.upper, "n_templates": n, "method": ci.method}


def pair_dissimilarities(base: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One row per counterfactual set and pair of groups: ``template_id``, ``a``, ``b``, ``dissimilarity`` = 1 − J."""
    wide = base.pivot_table(index=keys, columns="group", values="response_text", aggfunc="first")
    rows = []
    for a, b in itertools.combinations(wide.columns, 2):
        both = wide[[a, b]].dropna()
        for index, (ta, tb) in zip(both.index, both.to_numpy()):
            rows.append({"template_id": index[keys.index("template_id")], "a": a, "b": b, "dissimilarity": 1.0 - token_jaccard(str(ta), str(tb))})
    return pd.DataFrame(rows, columns=["template_id", "a", "b", "dissimilarity"])


def control_dissimilarities(base: pd.DataFrame, changed: pd.DataFrame, match: list[str]) -> pd.DataFrame:
    """One row per variant and control that changed its prompt: ``control``, ``template_id``, ``group``, 1 − J(control, none)."""
    reference = base.set_index(match)["response_text"].rename("reference")
    joined = changed.set_index(match)[["control", "template_id", "group", "response_text"]].join(reference, how="inner").dropna()
    joined["dissimilarity"] = [1.0 - token_jaccard(str(x), str(y)) for x, y in zip(joined["response_text"], joined["reference"])]
    return joined.reset_index(drop=True)[["control", "template_id", "group", "dissimilarity"]]


def _compare(swap: pd.DataFrame, controls: pd.DataFrame, level: float) -> dict[str, Any]:
    """The swap dissimilarity, each control's, and δ = D_swap − D_c per template with the rule's verdict."""
    d_swap = swap.groupby("template_id")["dissimilarity"].mean()
    out: dict[str, Any] = {"swap": _template_mean_ci(d_swap, level), "controls": []}
    for control, part in controls.groupby("control"):
        d_c = part.groupby("template_id")["dissimilarity"].mean()
        both = d_swap.index.intersection(d_c.index)
        out["controls"].append({"control": str(control), "dissimilarity": _template_mean_ci(d_c, level),
                                "difference": _template_mean_ci(d_swap[both] - d_c[both], level)})
    differences = [c["difference"] for c in out["controls"]]
    if not differences:
        out["verdict"] = "no controls"
    elif any(d["lower"] is None for d in differences):
        out["verdict"] = "too few templates"
    else:
        out["verdict"] = "less similar beyond noise" if all(d["lower"] > 0 for d in differences) else "within noise"
    return out


def similarity_analysis(base: pd.DataFrame, changed: pd.DataFrame, keys: list[str], match: list[str], level: float) -> dict[str, Any]:
    """Pooled over pairs of groups, and per pair (its controls restricted to the pair's two groups); see the module docstring."""
    swap = pair_dissimilarities(base, keys)
    controls = control_dissimilarities(base, changed, match)
    pairs = []
    for (a, b), part in swap.groupby(["a", "b"]):
        pairs.append({"a": a, "b": b, **_compare(part, controls[controls["group"].isin([a, b])], level)})
    return {"pooled": _compare(swap, controls, level), "pairs": pairs,
            "n_templates": int(base["template_id"].nunique()), "measure": "token-set Jaccard (1 − J: dissimilarity)"}


def similarity_rule() -> str:
    return ("less similar beyond noise when, for every control, the t interval over templates of "
            "D_swap − D_control (mean 1 − token Jaccard) lies above 0 (docs/counterfactual.md)")


