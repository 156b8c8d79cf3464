"""Agreement among raters of one pair: a judge's repeats (self-consistency) and the judges of a jury.

Formulas and sources:

- Self-consistency, per judge × template × format × position (no artifact), over the items
  whose every repeat gave a parsed verdict: the share of items with a unanimous verdict
  (Wilson 1927), and Fleiss' κ with the repeats as raters (Fleiss 1971;
  :func:`stats.fleiss_kappa`), percentile-bootstrap interval over items (Efron &
  Tibshirani 1993). Repeats are separate samples only at temperature > 0 with the
  ``generate`` format; ``probs`` is deterministic and gives κ = 1 or nothing to measure.
- Juries, per template × format × position (no artifact), over the (item, repeat) slots
  every juror judged: the majority verdict (the label more than half of the jurors' parsed
  verdicts give; none otherwise, counted as ``no_majority`` and left out of its accuracy)
  and, with label probabilities, the mean-probability verdict (the label with the largest
  mean of the jurors' renormalised probabilities; Verga et al. 2024, "Replacing Judges with
  Juries", arXiv:2404.18796, pool by voting and by averaging). Each is compared with every
  single juror on the slots both decided: paired difference of correctness (cluster-t by
  item with repeats) and exact McNemar. Agreement among jurors: Krippendorff's α (nominal,
  missing verdicts allowed; Krippendorff 2011) with a bootstrap interval over slots, and
  Fleiss' κ over the slots with every juror parsed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from forkingpaths import stats
from forkingpaths.instruments.judge.common import CODES, bootstrapped, cells, clean, interval, mean_difference, proportion
from forkingpaths.spec import Spec

#: Share of unanimous items whose interval's lower bound must reach this for "stable across repeats" (convention).
STABLE = 0.9
LABELS = ("A", "B", "tie")


def _fleiss(matrix: np.ndarray) -> float:
    return stats.fleiss_kappa(matrix)


def self_consistency(frame: pd.DataFrame, spec: Spec) -> list[dict[str, Any]]:
    """Unanimity and Fleiss' κ across repeats per judge × template × format × position (no artifact)."""
    rows = []
    base = frame[frame["artifact"] == "none"]
    for key, part in cells(base, ["model", "judge_template", "verdict_format", "position"]):
        repeats = int(part["repeat"].nunique())
        if repeats < 2:
            continue
        wide = part.pivot_table(index="item_id", columns="repeat", values="verdict", aggfunc="first")
        complete = wide.dropna()
        codes = complete.apply(lambda column: column.map(CODES)).to_numpy(dtype=float).T  # repeats x items
        unanimous = (complete.nunique(axis=1) == 1).to_numpy()
        rows.append({
            **key, "repeats": repeats, "n_items": int(part["item_id"].nunique()), "n_complete": int(len(complete)),
            "unanimous": proportion(unanimous, complete.index.to_numpy(), spec.analysis.level),
            "fleiss_kappa": bootstrapped(codes, _fleiss, spec),
            "verdict": _stability(proportion(unanimous, complete.index.to_numpy(), spec.analysis.level)),
        })
    return rows


def _stability(share: dict[str, Any]) -> str:
    if share["estimate"] is None:
        return "not measured (no item with every repeat parsed)"
    return "stable across repeats" if (share["lower"] or 0.0) >= STABLE else "verdicts vary across repeats"


def _majority(row: pd.Series) -> str | None:
    votes = row.dropna()
    if votes.empty:
        return None
    counts = votes.value_counts()
    return str(counts.index[0]) if counts.iloc[0] * 2 > len(votes) else None


def _compare(pooled: pd.Series, single: pd.Series, gold: pd.Series, items: np.ndarray, level: float) -> dict[str, Any]:
    both = pooled.notna().to_numpy() & single.notna().to_numpy()
    a = (pooled[both] == gold[both]).to_numpy()
    b = (single[both] == gold[both]).to_numpy()
    if not both.any():
        return {"n": 0, "difference": interval(None, None, None, "none (no slot decided by both)", level)}
    mcnemar = stats.mcnemar_exact(b, a)
    return {"n": int(both.sum()), "juror_accuracy": float(b.mean()), "pooled_accuracy": float(a.mean()),
            "difference": mean_difference(a, b, items[both], level),
            "mcnemar": {k: clean(v) for k, v in mcnemar.items()} | {"method": "exact McNemar"}}


def jury(frame: pd.DataFrame, spec: Spec) -> list[dict[str, Any]]:
    """Majority and mean-probability juries against each juror, and agreement among jurors."""
    level = spec.analysis.level
    judges = sorted(frame["model"].unique().tolist()) if not frame.empty else []
    if len(judges) < 2:
        return []
    rows = []
    base = frame[frame["artifact"] == "none"]
    for key, part in cells(base, ["judge_template", "verdict_format", "position"]):
        slots = ["item_id", "repeat"]
        verdicts = part.pivot_table(index=slots, columns="model", values="verdict", aggfunc="first").reindex(columns=judges)
        judged = part.groupby(slots)["model"].nunique()
        verdicts = verdicts.loc[judged[judged == len(judges)].index]
        if verdicts.empty:
            continue
        gold = part.groupby(slots)["gold"].first().loc[verdicts.index]
        items = verdicts.index.get_level_values("item_id").to_numpy()
        pooled = {"majority": verdicts.apply(_majority, axis=1)}
        probs = part.set_index([*slots, "model"])[["p_a", "p_b", "p_tie"]]
        if probs.notna().all(axis=None):
            mean = probs.groupby(level=slots).mean().loc[verdicts.index]
            pooled["mean_probability"] = mean.idxmax(axis=1).map({"p_a": "A", "p_b": "B", "p_tie": "tie"})
        codes = verdicts.apply(lambda column: column.map(CODES)).to_numpy(dtype=float).T  # judges x slots
        complete = codes[:, ~np.isnan(codes).any(axis=0)]
        row: dict[str, Any] = {
            **key, "judges": judges, "n_slots": int(len(verdicts)),
            "no_majority": int(pooled["majority"].isna().sum()),
            "krippendorff_alpha": bootstrapped(codes, stats.krippendorff_alpha, spec),
            "fleiss_kappa": bootstrapped(complete, _fleiss, spec),
        }
        labelled = gold.notna().to_numpy()
        if labelled.any():
            row["accuracy"] = {}
            for name, verdict in pooled.items():
                decided = labelled & verdict.notna().to_numpy()
                row["accuracy"][name] = proportion((verdict[decided] == gold[decided]).to_numpy(), items[decided], level)
                row.setdefault("versus", {})[name] = {
                    judge: _compare(verdict[labelled], verdicts[judge][labelled], gold[labelled], items[labelled], level) for judge in judges
                }
            row["verdict"] = _jury_verdict(row["versus"]["majority"])
        rows.append(row)
    return rows


def _jury_verdict(versus: dict[str, dict[str, Any]]) -> str:
    lowers = [v["difference"].get("lower") for v in versus.values()]
    if lowers and all(lo is not None and lo > 0 for lo in lowers):
        return "the majority beats every juror"
    uppers = [v["difference"].get("upper") for v in versus.values()]
    if any(up is not None and up < 0 for up in uppers):
        return "a juror beats the majority"
    return "the majority is not shown better than its best juror"
