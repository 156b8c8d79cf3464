"""The judge audit's analyses: accuracy, agreement with humans, position bias and artifact shifts, and the orchestration.

Further analyses live in their own modules, each with its formulas and sources: length
preference (:mod:`.length`), self-consistency and juries (:mod:`.raters`), the naive and
prediction-powered win rate (:mod:`.winrate`) and variance shares (:mod:`.variance`).

Every interval names its method; every verdict word comes from a rule printed beside it
(:data:`RULES`). The thresholds are conventions, not facts about judges: the test level
``ALPHA`` = 0.05 and the artifact margin ``MARGIN`` = 0.10 (a shift of 10 percentage
points in how often the perturbed response is chosen) are stated in the results so a
reader can apply their own.

Formulas and sources:

- Accuracy of a cell (judge × condition) = correct / parsed verdicts; unparsable verdicts
  are excluded and counted, never scored as wrong. Interval: Wilson (1927) when every item
  appears once in the cell, else cluster-robust t by item (CR1, Cameron & Miller 2015) —
  :func:`proportion`.
- Cohen's κ (Cohen 1960) between a judge's verdicts and the gold labels, and between the
  judge and each human annotator; human–human agreement as the mean pairwise Cohen's κ and
  Krippendorff's α (nominal; Krippendorff 2011). Intervals: percentile bootstrap over items
  (Efron & Tibshirani 1993), seeded with the spec's seed.
- Position: positional consistency = share of items whose canonical verdict is the same
  in both orders (Wang et al. 2023, "Large Language Models are not Fair Evaluators";
  Zheng et al. 2023, MT-Bench). First-position preference = share of non-tie verdicts
  naming the response shown first, over both orders; a judge that ignores position scores
  exactly 0.5 on it because every item is shown both ways. Test: among items whose non-tie
  verdicts disagree across orders, each disagreement goes "first both times" or "second
  both times"; under no position preference these are equally likely, so the count of
  "first both times" is Binomial(n, 1/2) — exact two-sided binomial test (scipy), which
  uses one unit per item and so needs no independence of the two orders. Cohen's κ between
  the canonical verdicts of the two orders (repeat 0; LLMBar's ``kappa_agreement``), with a
  percentile-bootstrap interval over items.
- Artifacts: per perturbation level, the paired change in the share of trials choosing
  the target response (perturbed trial vs the same item, order, template and format
  without the artifact): mean paired difference with :func:`stats.paired_difference`;
  the change in P(target) likewise when probabilities exist; exact McNemar test on the
  paired verdicts (McNemar 1947); Holm (1979) across all perturbation levels of a judge.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from forkingpaths import stats
from forkingpaths.instruments.base import Analysis
from forkingpaths.instruments.judge.common import CODES, cells, clean, interval, mean_difference, proportion, verdict_frame
from forkingpaths.instruments.judge import raters
from forkingpaths.instruments.judge.items import PairItem
from forkingpaths.instruments.judge.length import RULE as LENGTH_RULE
from forkingpaths.instruments.judge.length import length_preference
from forkingpaths.instruments.judge.variance import correctness_shares
from forkingpaths.instruments.judge.winrate import RULE as WIN_RULE
from forkingpaths.instruments.judge.winrate import win_rates
from forkingpaths.results import Estimate, Finding
from forkingpaths.spec import Spec

ALPHA = 0.05
MARGIN = 0.10
CONDITION = ("judge_template", "verdict_format", "position", "artifact")
RULES = {
    "accuracy": "'better than a coin' when the interval's lower bound is above 0.5 (always naming one side scores about 0.5 on balanced labels); otherwise 'not shown better than a coin'",
    "position": f"'prefers the first position' / 'prefers the second position' when the exact binomial p-value of the order disagreements is below {ALPHA} (convention); otherwise 'no detected position preference'",
    "artifact": f"'moves verdicts toward it' / 'away from it' when the Holm-adjusted McNemar p-value is below {ALPHA} and the shift is at least {MARGIN} in that direction (both conventions); otherwise 'no shift beyond the margin'",
    "agreement": "'below the human ceiling' when the judge–human κ interval lies below the human–human κ; 'within the human range' otherwise",
    "length": LENGTH_RULE,
    "self_consistency": "'stable across repeats' when the lower bound of the share of items with a unanimous verdict is at least 0.9 (convention); otherwise 'verdicts vary across repeats'",
    "jury": "'the majority beats every juror' when the paired accuracy difference's interval lies above 0 against every juror; 'a juror beats the majority' when it lies below 0 against some juror; otherwise 'the majority is not shown better than its best juror'",
    "win_rate": WIN_RULE,
    "parsing": "'all parsed' when no generated verdict was unparsable; otherwise 'some unparsable' (they are excluded from every rate, not scored as wrong)",
}


def accuracy(frame: pd.DataFrame, level: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Per judge × condition, and per judge over every unperturbed trial (item-clustered)."""
    labelled = frame[frame["gold"].notna()]
    rows = []
    for key, part in cells(labelled, ["model", *CONDITION]):
        scored = part[part["parsed"].astype(bool)]
        rows.append({**key, "n": len(part), "unparsable": int((~part["parsed"].astype(bool)).sum()),
                     "n_correct": int(scored["correct"].astype(bool).sum()), **proportion(scored["correct"].astype(bool), scored["item_id"], level)})
    overall = []
    for key, part in cells(labelled[labelled["artifact"] == "none"], ["model"]):
        scored = part[part["parsed"].astype(bool)]
        overall.append({**key, "n": len(part), "n_items": int(part["item_id"].nunique()),
                        **proportion(scored["correct"].astype(bool), scored["item_id"], level)})
    return rows, overall


def _kappa(a: np.ndarray, b: np.ndarray, spec: Spec) -> dict[str, Any]:
    if a.size < 2:
        return interval(None, None, None, "none (fewer than two items)", spec.analysis.level)
    try:
        out = stats.bootstrap_agreement_ci(np.vstack([a, b]), lambda r: stats.cohen_kappa(r[0], r[1]),
                                           spec.analysis.n_resamples, spec.analysis.level, spec.seed)
    except ValueError:
        return interval(None, None, None, "undefined (a single label)", spec.analysis.level)
    return interval(out["estimate"], out["lower"], out["upper"], str(out["method"]), spec.analysis.level)


def agreement(frame: pd.DataFrame, items: list[PairItem], spec: Spec) -> dict[str, Any]:
    """Judge–gold and judge–human κ per judge × template × format × position (no artifact); human–human κ and α."""
    level = spec.analysis.level
    by_id = {item.item_id: item for item in items}
    raters = max((len(item.human_labels) for item in items), default=0)
    judges = []
    base = frame[(frame["artifact"] == "none") & frame["parsed"].astype(bool) & (frame["repeat"] == 0)]
    for key, part in cells(base, ["model", "judge_template", "verdict_format", "position"]):
        gold = part[part["gold"].notna()]
        row: dict[str, Any] = {**key, "n": len(gold),
                               "kappa_gold": _kappa(gold["verdict"].map(CODES).to_numpy(), gold["gold"].map(CODES).to_numpy(), spec)}
        if raters >= 2:
            kappas = []
            for j in range(raters):
                pairs = [(CODES[v], CODES[by_id[i].human_labels[j]]) for i, v in zip(part["item_id"], part["verdict"])
                         if len(by_id[i].human_labels) > j]
                try:
                    kappas.append(stats.cohen_kappa(*np.array(pairs).T)) if len(pairs) > 1 else None
                except ValueError:
                    continue
            row["kappa_humans_mean"] = clean(float(np.mean(kappas))) if kappas else None
        judges.append(row)
    result: dict[str, Any] = {"judges": judges, "human_raters": raters}
    if raters >= 2:
        rated = [item for item in items if len(item.human_labels) >= 2]
        matrix = np.full((raters, len(rated)), np.nan)
        for u, item in enumerate(rated):
            for j, label in enumerate(item.human_labels):
                matrix[j, u] = CODES[label]
        pairwise = []
        for i in range(raters):
            for j in range(i + 1, raters):
                ok = ~np.isnan(matrix[i]) & ~np.isnan(matrix[j])
                try:
                    pairwise.append(stats.cohen_kappa(matrix[i, ok], matrix[j, ok]))
                except ValueError:
                    continue
        try:
            alpha = stats.bootstrap_agreement_ci(matrix, stats.krippendorff_alpha, spec.analysis.n_resamples, level, spec.seed)
            alpha_row = interval(alpha["estimate"], alpha["lower"], alpha["upper"], str(alpha["method"]), level)
        except ValueError:
            alpha_row = interval(None, None, None, "undefined", level)
        result["humans"] = {"n_items": len(rated), "krippendorff_alpha": alpha_row,
                            "kappa_mean_pairwise": clean(float(np.mean(pairwise))) if pairwise else None}
    return result


def position(frame: pd.DataFrame, spec: Spec) -> list[dict[str, Any]]:
    """Consistency across orders, first-position preference and κ between the orders per judge × template × format (no artifact)."""
    level = spec.analysis.level
    rows = []
    base = frame[frame["artifact"] == "none"]
    for key, part in cells(base, ["model", "judge_template", "verdict_format"]):
        if set(part["position"]) != {"original", "swapped"}:
            continue
        orders = part.set_index(["item_id", "repeat", "position"])
        wide = orders["verdict"].unstack("position").reindex(columns=["original", "swapped"])
        shown = orders["shown_verdict"].unstack("position").reindex(columns=["original", "swapped"])
        gold = part.groupby(["item_id", "repeat"])["gold"].first()
        both = wide.dropna()
        items = both.index.get_level_values("item_id")
        same = (both["original"] == both["swapped"]).to_numpy()
        s = shown.loc[both.index]
        decisive = (s["original"] != "tie") & (s["swapped"] != "tie")
        first_both = int(((s["original"] == "A") & (s["swapped"] == "A") & decisive).sum())
        second_both = int(((s["original"] == "B") & (s["swapped"] == "B") & decisive).sum())
        n_disagree = first_both + second_both
        p_value = float(sps.binomtest(first_both, n_disagree, 0.5).pvalue) if n_disagree else None
        non_tie = part[part["parsed"].astype(bool) & (part["shown_verdict"] != "tie")]
        agreed = both[same & gold.loc[both.index].notna().to_numpy()]
        first = both[both.index.get_level_values("repeat") == 0]
        if p_value is not None and p_value < ALPHA:
            verdict = "prefers the first position" if first_both > second_both else "prefers the second position"
        else:
            verdict = "no detected position preference"
        rows.append({
            **key, "n_pairs": len(both), "n_consistent": int(same.sum()),
            "n_consistent_correct": int((agreed["original"] == gold.loc[agreed.index]).sum()),
            "consistency": proportion(same, items, level),
            "kappa_orders": _kappa(first["original"].map(CODES).to_numpy(), first["swapped"].map(CODES).to_numpy(), spec),
            "first_preference": proportion(non_tie["shown_verdict"] == "A", non_tie["item_id"], level),
            "first_both": first_both, "second_both": second_both,
            "binomial": {"pvalue": clean(p_value), "method": "exact binomial (two-sided, H0 p = 0.5)"},
            "accuracy_when_consistent": proportion((agreed["original"] == gold.loc[agreed.index]).to_numpy(),
                                                   agreed.index.get_level_values("item_id"), level),
            "verdict": verdict,
        })
    return rows


def artifacts(frame: pd.DataFrame, level: float) -> list[dict[str, Any]]:
    """Paired shift in choosing the perturbed response, per judge × template × format × position × artifact."""
    keys = ["model", "judge_template", "verdict_format", "position"]
    base = frame[frame["artifact"] == "none"].set_index([*keys, "item_id", "repeat"])
    rows = []
    for key, part in cells(frame[(frame["artifact"] != "none") & frame["perturbed"].notna()], [*keys, "artifact"]):
        index = pd.MultiIndex.from_frame(part[[*keys, "item_id", "repeat"]])
        found = index.isin(base.index)
        pert = part[found]
        ref = base.loc[index[found]]
        ok = pert["parsed"].astype(bool).to_numpy() & ref["parsed"].astype(bool).to_numpy()
        pert, ref = pert[ok], ref[ok]
        if pert.empty:
            continue
        target = pert["perturbed"].to_numpy()
        after = (pert["verdict"].to_numpy() == target)
        before = (ref["verdict"].to_numpy() == target)
        clusters = pert["item_id"].to_numpy()
        mcnemar = stats.mcnemar_exact(before, after)
        row = {**key, "side": str(pert["perturbed_side"].iloc[0]), "n_pairs": int(len(pert)),
               "baseline_rate": float(before.mean()), "perturbed_rate": float(after.mean()),
               "shift": mean_difference(after, before, clusters, level),
               "mcnemar": {k: clean(v) for k, v in mcnemar.items()} | {"method": "exact McNemar"}}
        p_after = pert["p_perturbed"].to_numpy(dtype=float)
        p_before = np.array([r[t.lower()] if t in ("A", "B") else np.nan for r, t in
                             zip(ref[["p_a", "p_b"]].rename(columns={"p_a": "a", "p_b": "b"}).to_dict("records"), target)], dtype=float)
        has_p = ~np.isnan(p_after) & ~np.isnan(p_before)
        row["p_shift"] = mean_difference(p_after[has_p], p_before[has_p], clusters[has_p], level) if has_p.sum() else None
        rows.append(row)
    for judge in {r["model"] for r in rows}:
        mine = [r for r in rows if r["model"] == judge]
        adjusted = stats.holm([r["mcnemar"]["pvalue"] for r in mine])
        for r, p in zip(mine, adjusted):
            r["p_holm"] = float(p)
            shift = r["shift"]["estimate"] or 0.0
            if p < ALPHA and shift >= MARGIN:
                r["verdict"] = "moves verdicts toward it"
            elif p < ALPHA and shift <= -MARGIN:
                r["verdict"] = "moves verdicts away from it"
            else:
                r["verdict"] = "no shift beyond the margin"
    return rows


#: At most this many flipped items per judge are kept with their prompts (the counts cover all of them).
MAX_FLIPS = 20
PromptOf = Callable[[PairItem, dict[str, str]], str]


def flips(frame: pd.DataFrame, items: list[PairItem], prompt_of: PromptOf) -> dict[str, Any]:
    """Items whose canonical verdict changed under the swap or under an artifact (repeat 0), with both prompts.

    A swap flip compares the ``original`` and ``swapped`` orders without an artifact; an
    artifact flip compares a perturbed trial with the same item, order, template and format
    without it. Both verdicts must be parsed. The first :data:`MAX_FLIPS` per judge keep the
    two prompts as the judge saw them; ``counts`` has every flip.
    """
    by_id = {item.item_id: item for item in items}
    keys = ["model", "judge_template", "verdict_format"]
    base = frame[(frame["repeat"] == 0) & frame["parsed"].astype(bool)]
    index = base.set_index([*keys, "position", "artifact", "item_id"])["verdict"]
    found: list[dict[str, Any]] = []
    for (model, template, fmt, place, artifact, item_id), verdict in index.items():
        if artifact == "none" and place != "original":
            continue
        other = (model, template, fmt, "swapped", "none", item_id) if artifact == "none" else (model, template, fmt, place, "none", item_id)
        if other not in index.index or index[other] == verdict or item_id not in by_id:
            continue
        before = {"position": "original" if artifact == "none" else place, "artifact": "none", "judge_template": template, "verdict_format": fmt}
        after = {**before, "position": "swapped"} if artifact == "none" else {**before, "artifact": artifact}
        found.append({"model": model, "kind": "swap" if artifact == "none" else "artifact", "item_id": item_id, "judge_template": template,
                      "verdict_format": fmt, "position": place, "artifact": artifact, "gold": by_id[item_id].label,
                      "before": {"levels": before, "verdict": index[other] if artifact != "none" else verdict},
                      "after": {"levels": after, "verdict": verdict if artifact != "none" else index[other]}})
    counts: dict[str, dict[str, int]] = {}
    kept: list[dict[str, Any]] = []
    for row in found:
        mine = counts.setdefault(row["model"], {"swap": 0, "artifact": 0})
        mine[row["kind"]] += 1
        if sum(mine.values()) <= MAX_FLIPS:
            for side in ("before", "after"):
                row[side]["prompt"] = prompt_of(by_id[row["item_id"]], row[side]["levels"])
            kept.append(row)
    return {"counts": counts, "items": kept, "limit": MAX_FLIPS}


def _estimate(interval: dict[str, Any]) -> Estimate | None:
    if interval.get("estimate") is None:
        return None
    return Estimate(estimate=interval["estimate"], lower=interval.get("lower"), upper=interval.get("upper"),
                    level=interval.get("level"), method=interval["method"])


def findings(result: dict[str, Any]) -> list[Finding]:
    out = []
    for row in result["accuracy_overall"]:
        lower = row.get("lower")
        good = lower is not None and lower > 0.5
        est = row["estimate"]
        claim = (f"agrees with the gold label on {est:.0%} of parsed verdicts without artifacts ({row['n_items']} items)"
                 if est is not None else "gave no parsed verdict on a labelled pair")
        out.append(Finding(subject=row["model"], topic="judge accuracy", claim=claim,
                           verdict="better than a coin" if good else "not shown better than a coin", rule=RULES["accuracy"],
                           tone="good" if good else "caution", estimate=_estimate(row)))
    for row in result["position"]:
        pref = row["first_preference"]
        claim = (f"names the response shown first in {pref['estimate']:.0%} of non-tie verdicts; {row['consistency']['estimate']:.0%} of "
                 f"{row['n_pairs']} items get the same verdict in both orders ({row['judge_template']}, {row['verdict_format']})"
                 if pref["estimate"] is not None and row["consistency"]["estimate"] is not None else "no pair judged in both orders")
        out.append(Finding(subject=row["model"], topic="position bias", claim=claim, verdict=row["verdict"], rule=RULES["position"],
                           tone="caution" if row["verdict"].startswith("prefers") else "good", estimate=_estimate(pref)))
    for row in result["artifacts"]:
        if row["verdict"].startswith("no shift"):
            continue
        shift = row["shift"]
        out.append(Finding(subject=row["model"], topic=f"artifact {row['artifact']}",
                           claim=(f"choosing the perturbed ({row['side']}) response goes from {row['baseline_rate']:.0%} to "
                                  f"{row['perturbed_rate']:.0%} ({row['position']} order, {row['judge_template']}, {row['verdict_format']}; "
                                  f"Holm p = {row['p_holm']:.3g})"),
                           verdict=row["verdict"], rule=RULES["artifact"], tone="caution", estimate=_estimate(shift)))
    for judge in sorted({r["model"] for r in result["artifacts"]}):
        rows = [r for r in result["artifacts"] if r["model"] == judge]
        moved = sorted({r["artifact"] for r in rows if not r["verdict"].startswith("no shift")})
        out.append(Finding(subject=judge, topic="artifacts", claim=(f"{len(moved)} of {len({r['artifact'] for r in rows})} artifact levels moved verdicts"
                                                                     + (f": {', '.join(moved)}" if moved else "")),
                           verdict="artifact-sensitive" if moved else "no artifact beyond the margin",
                           rule="'artifact-sensitive' when any artifact level's verdict is 'moves verdicts …' (rule: " + RULES["artifact"] + ")",
                           tone="caution" if moved else "good"))
    humans = result["agreement"].get("humans")
    if humans and humans.get("kappa_mean_pairwise") is not None:
        ceiling = humans["kappa_mean_pairwise"]
        for row in result["agreement"]["judges"]:
            k = row["kappa_gold"]
            if k["estimate"] is None:
                continue
            below = k["upper"] is not None and k["upper"] < ceiling
            out.append(Finding(subject=row["model"], topic="agreement with humans",
                               claim=f"κ with the majority label {k['estimate']:.2f} beside human–human κ {ceiling:.2f} ({row['position']}, {row['judge_template']}, {row['verdict_format']})",
                               verdict="below the human ceiling" if below else "within the human range", rule=RULES["agreement"],
                               tone="caution" if below else "good", estimate=_estimate(k)))
    out += further_findings(result)
    parsing = result["parsing"]
    if parsing["generated"]:
        some = parsing["unparsable"] > 0
        out.append(Finding(subject=",".join(parsing["judges"]), topic="verdict parsing",
                           claim=f"{parsing['unparsable']} of {parsing['generated']} generated verdicts were unparsable",
                           verdict="some unparsable" if some else "all parsed", rule=RULES["parsing"], tone="caution" if some else "good"))
    return out


def further_findings(result: dict[str, Any]) -> list[Finding]:
    """Findings of the length, self-consistency, jury, win-rate and variance analyses."""
    out = []
    for row in result["length"]:
        slope = row["slope"]
        claim = (f"log-odds of choosing a response change by {slope['estimate']:+.2f} per 100 extra characters "
                 f"(odds ratio {row['odds_ratio']:.2f}; {row['n']} verdicts, {row['judge_template']}, {row['verdict_format']})"
                 if slope["estimate"] is not None else f"length slope not estimable ({slope['method']})")
        out.append(Finding(subject=row["model"], topic="length preference", claim=claim, verdict=row["verdict"], rule=RULES["length"],
                           tone="caution" if row["verdict"].startswith("prefers") else "info", estimate=_estimate(slope)))
    for row in result["self_consistency"]:
        share, kappa = row["unanimous"], row["fleiss_kappa"]
        if share["estimate"] is None:
            continue
        kappa_text = f"Fleiss' κ across repeats {kappa['estimate']:.2f}" if kappa["estimate"] is not None else "Fleiss' κ undefined"
        out.append(Finding(subject=row["model"], topic="self-consistency",
                           claim=f"{share['estimate']:.0%} of {row['n_complete']} items get one verdict in all {row['repeats']} repeats; {kappa_text} ({row['position']}, {row['judge_template']}, {row['verdict_format']})",
                           verdict=row["verdict"], rule=RULES["self_consistency"],
                           tone="good" if row["verdict"].startswith("stable") else "caution", estimate=_estimate(share)))
    for row in result["jury"]:
        alpha = row["krippendorff_alpha"]
        alpha_text = f"jurors' Krippendorff α {alpha['estimate']:.2f}" if alpha["estimate"] is not None else "jurors' α undefined"
        if "accuracy" in row:
            acc = row["accuracy"]["majority"]
            best = max((v.get("juror_accuracy") or 0.0 for v in row["versus"]["majority"].values()), default=0.0)
            acc_text = f"majority accuracy {acc['estimate']:.0%} vs best juror {best:.0%}" if acc["estimate"] is not None else "no majority verdict"
            out.append(Finding(subject="jury of " + ", ".join(row["judges"]), topic="jury",
                               claim=f"{acc_text}; {alpha_text} ({row['position']}, {row['judge_template']}, {row['verdict_format']})",
                               verdict=row["verdict"], rule=RULES["jury"], tone="info", estimate=_estimate(acc)))
    for row in result["win_rate"]:
        if "verdict" not in row:
            continue
        naive, tuned = row["naive"], row["ppi_tuned"]
        out.append(Finding(subject=row["model"], topic="win rate",
                           claim=(f"the judge puts response A's win rate at {naive['estimate']:.0%}; corrected with {row['n_labelled']} human labels "
                                  f"(PPI++) {tuned['estimate']:.0%} [{tuned['lower']:.0%}, {tuned['upper']:.0%}] ({row['judge_template']}, {row['verdict_format']})"),
                           verdict=row["verdict"], rule=RULES["win_rate"],
                           tone="caution" if row["verdict"].endswith("biased") else "good", estimate=_estimate(tuned)))
    return out


def analyse(trials: pd.DataFrame, items: list[PairItem], spec: Spec, ppi_labels: int | None = None,
            prompt_of: PromptOf | None = None) -> Analysis:
    """Every judge analysis of the trials table, and the findings in words (rules in :data:`RULES`).

    ``prompt_of`` (the instrument's prompt of an item under some levels) fills the flipped-verdict
    drill-down; without it, or in the generated mode (a new response per trial), there is none.
    """
    level = spec.analysis.level
    frame = verdict_frame(trials)
    generated = frame[frame["verdict_format"] == "generate"]
    acc, overall = accuracy(frame, level)
    result: dict[str, Any] = {
        "design": {"judges": sorted(frame["model"].unique().tolist()) if not frame.empty else [], "items": len(items),
                   "labelled": sum(item.label is not None for item in items),
                   "ties": sum(item.label == "tie" for item in items)},
        "parsing": {"judges": sorted(frame["model"].unique().tolist()) if not frame.empty else [],
                    "generated": int(len(generated)), "unparsable": int((~generated["parsed"].astype(bool)).sum()),
                    "rule": "see docs/judge.md: the word after the last 'verdict:', else the first word; filler words skipped"},
        "accuracy": acc,
        "accuracy_overall": overall,
        "agreement": agreement(frame, [] if "evaluated" in frame else items, spec),
        "position": position(frame, spec),
        "artifacts": artifacts(frame, level),
        "length": length_preference(frame, level),
        "self_consistency": raters.self_consistency(frame, spec),
        "jury": raters.jury(frame, spec),
        "win_rate": win_rates(frame, spec, ppi_labels),
        "variance": correctness_shares(frame, spec),
        "flips": flips(frame, items, prompt_of) if prompt_of is not None and "evaluated" not in frame else {"counts": {}, "items": [], "limit": MAX_FLIPS},
        "rules": {"alpha": ALPHA, "margin": MARGIN, "stable": raters.STABLE, **RULES,
                  "conventions": "alpha 0.05 and the 0.10 artifact margin are conventions; accuracy's 0.5 is a baseline"},
    }
    return Analysis(result, findings(result))
