"""The survey's part of the report: its sections, overview rows, drill-down columns,
terminal table and construct-validity evidence.

Everything here reads the survey's analyses in the run document
(``source.analyses``: ``/analyses/models/…``) and computes nothing new.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from forkingpaths.instruments.survey import plots
from forkingpaths.report.drilldown import present
from forkingpaths.report.parts import DrillColumn, Section, render_fragment
from forkingpaths.report.source import Results, RunSource
from forkingpaths.text import safe_text

PACKAGE = "forkingpaths.instruments.survey"
SECTIONS = (
    ("specification-curve", "Specification curve", "spec_curve.html.j2"),
    ("groups", "Groups", "groups.html.j2"),
    ("variance", "Variance", "variance.html.j2"),
    ("steering", "Steerability and extrapolability", "steering.html.j2"),
)


def _models(analyses: Results) -> list[str]:
    return list(analyses.get("models", default={}) or {})


def _figures(analyses: Results, models: list[str]) -> dict[str, Any]:
    per_model = {
        model: {
            "spec_curve": plots.spec_curve(analyses, model),
            "heatmap": plots.heatmap(analyses, model),
            "variance": plots.variance(analyses, model),
            "steerability": plots.steerability(analyses, model),
            "extrapolation": plots.extrapolation(analyses, model),
        }
        for model in models
    }
    return {
        "per_model": per_model,
        "forest": plots.forest(analyses, models),
        "spread": plots.spread(analyses, models),
        "comparisons": [plots.comparison(analyses, i) for i in range(len(analyses.get("comparisons", default=[]) or []))],
    }


def _probabilities(probs: Any, options: list[str]) -> str:
    """``Yes 0.620 · No 0.380`` in the item's canonical option order (empty for sampled answers)."""
    if probs is None or len(probs) == 0:
        return ""
    parts = []
    for index, p in enumerate(probs):
        option = options[index] if index < len(options) else f"option {index + 1}"
        parts.append(f"{option} {p:.3f}" if present(p) else f"{option} n/a")
    return " · ".join(parts)


class SurveyPresentation:
    """Specification curve, groups, variance, steerability and extrapolability; the closest-groups table."""

    def overview(self, source: RunSource) -> list[tuple[str, Markup]]:
        r = source.analyses
        groups = r.get("design", "groups", default=[]) or []
        names = ", ".join(plots.group_name(r, g) for g in groups)
        topics = r.get("design", "topics", default=[]) or []
        return [
            ("groups", Markup("{} {}: {}").format(len(groups), "group" if len(groups) == 1 else "groups", names)),
            ("topics", Markup("{}").format(", ".join(map(str, topics)) or "none given")),
            ("elicitation", Markup("{}").format(", ".join(r.get("settings", "elicitation", default=[]) or []))),
            ("score", Markup("{}").format(r.get("settings", "similarity", default=""))),
        ]

    def sections(self, source: RunSource) -> list[Section]:
        analyses = source.analyses
        models = _models(analyses)
        context = {
            "r": analyses,
            "models": models,
            "figures": _figures(analyses, models),
            "claim_classes": plots.CLAIM_CLASSES,
            "group_name": lambda group: plots.group_name(analyses, group),
        }
        return [Section(id, title, render_fragment(PACKAGE, template, **context)) for id, title, template in SECTIONS]

    def item_text(self, item: dict[str, Any]) -> str:
        return str(item.get("question", ""))

    def item_details(self, item: dict[str, Any]) -> list[str]:
        topic = [f"topic: {item['topic']}"] if item.get("topic") else []
        return topic + [str(option) for option in item.get("options", [])]

    def drill_columns(self, source: RunSource) -> list[DrillColumn]:
        def options(item: dict[str, Any]) -> list[str]:
            return [str(o) for o in item.get("options", [])]

        return [
            DrillColumn("answer", lambda row, item: str(row["answer"]) if present(row.get("answer")) else ""),
            DrillColumn("probabilities", lambda row, item: _probabilities(row.get("option_probs"), options(item))),
            DrillColumn(
                "valid mass",
                lambda row, item: f"{row['valid_mass']:.3f}" if present(row.get("valid_mass")) else "",
                numeric=True,
            ),
            DrillColumn("parse note", lambda row, item: str(row["parse_note"]) if present(row.get("parse_note")) else ""),
        ]

    def terminal(self, source: RunSource) -> list[RenderableType]:
        return [closest_groups_table(source.analyses)] if source.analyses.get("models") else []

    def validity_evidence(self, source: RunSource) -> dict[str, list[str]]:
        analyses = source.analyses
        return {
            "phenomenon": _phenomenon(analyses),
            "measures_only": _measures_only(analyses),
            "representative_data": _representative_data(analyses),
            "statistics": _statistics(analyses),
            "error_analysis": _error_analysis(analyses),
        }


def closest_groups_table(analyses: Results, top: int = 5) -> Table:
    names = analyses.get("design", "group_names", default={}) or {}
    level = analyses.get("settings", "level", default=0.95)
    table = Table(title=f"Mean similarity by group (no persona, pooled over conditions, {level:.0%} CI)")
    table.add_column("model", overflow="fold")
    table.add_column("rank", justify="right")
    table.add_column("group")
    table.add_column("similarity", justify="right")
    table.add_column("interval", justify="right")
    for model, entry in (analyses.get("models", default={}) or {}).items():
        for rank, row in enumerate(entry.get("overall", [])[:top], start=1):
            table.add_row(
                Text(safe_text(model)),
                str(rank),
                Text(safe_text(names.get(row["group"], row["group"]))),
                f"{row['estimate']:.3f}",
                f"[{row['lower']:.3f}, {row['upper']:.3f}]" if row["lower"] is not None else "n/a (too few items)",
            )
    return table


def _phenomenon(r: Results) -> list[str]:
    similarity = r.get("settings", "similarity")
    if not similarity:
        return []
    groups = r.get("design", "groups", default=[])
    return [
        f"Operationalised by the survey instrument as {similarity} between the model's "
        f"answer distribution and each of {len(groups)} human groups' answer distributions."
    ]


def _measures_only(r: Results) -> list[str]:
    facts = []
    for model in _models(r):
        stab = r.get("models", model, "stability", default={})
        if not stab.get("available"):
            continue
        closest = stab["closest_group"]
        varying = plots.varying_factors([row["levels"] for row in stab["specification_curve"]])
        facts.append(
            f"{model}: robustness to format checked over {closest['n_conditions']} conditions "
            f"({', '.join(sorted(varying)) or 'one condition'}); the closest group is {stab['verdict']['word']} "
            f"(the same group is closest in {closest['modal_count']} of {closest['n_conditions']})."
        )
        shares = {c["component"]: c["share"] or 0.0 for c in stab.get("variance_components", [])}
        design = {f: shares[f] + shares.get(f"item:{f}", 0.0) for f in varying if f in shares}
        if design:
            top = max(design, key=lambda f: design[f])
            facts.append(
                f"{model}: the largest design factor, {top}, explains {design[top]:.0%} of the variance of "
                "similarity (its main effect and its interaction with items)."
            )
        mass = r.get("models", model, "elicitation", "mean_valid_mass")
        if mass is not None:
            facts.append(f"{model}: on average {mass:.0%} of the next-token probability fell on the valid answer labels.")
    return facts


def _representative_data(r: Results) -> list[str]:
    design = r.get("design", default={})
    if not design:
        return []
    topics = design.get("topics") or []
    return [
        f"{design.get('n_items', 0)} items"
        + (f" on {len(topics)} topics ({', '.join(map(str, topics))})" if topics else "")
        + f", compared with {len(design.get('groups', []))} groups. "
        "This describes coverage; whether it is representative is an argument for the spec."
    ]


def _statistics(r: Results) -> list[str]:
    facts = []
    models = _models(r)
    if any(r.get("models", m, "stability", "claim") for m in models):
        facts.append(
            "The closest-group claim is tested per condition on a paired margin "
            "(closest minus runner-up) from the same bootstrap draws."
        )
    if any(r.get("models", m, "extrapolability", "permutation") for m in models):
        facts.append("Extrapolation is tested against a permutation baseline.")
    pairs = [c for c in r.get("comparisons", default=[]) or [] if c.get("available")]
    if pairs:
        facts.append(
            f"{len(pairs)} model pair(s) compared per group on paired differences over the same items and conditions, "
            "with sign-flip permutation tests and Holm's adjustment across groups."
        )
    elif len(models) > 1:
        facts.append("Models are compared only through their separate intervals; no paired comparison is in the results.")
    return facts


def _error_analysis(r: Results) -> list[str]:
    facts = []
    for model in _models(r):
        summary = r.get("models", model, "elicitation")
        if not summary:
            continue
        mass = summary.get("min_valid_mass")
        causes = summary.get("unscored_by_cause")
        detail = (
            f" ({causes['incomplete']} incomplete, {causes['failed']} with every trial failed, "
            f"{causes['unreadable']} without a readable answer)"
            if causes and summary["unscored"]
            else ""
        )
        facts.append(
            f"{model}: {summary['unscored']} of {summary['n_distributions']} (condition, item) distributions unscored"
            f"{detail}; {summary['errors']} failed trials, {summary['invalid_samples']} unreadable sampled answers"
            + (f"; lowest valid-label mass {mass:.3f}" if mass is not None else "")
            + "."
        )
    return facts
