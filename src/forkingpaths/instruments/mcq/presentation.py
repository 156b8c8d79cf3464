"""The MCQ instrument's part of the report: sections, drill-down columns, terminal table, validity evidence.

Everything here reads the MCQ analyses in the run document (``source.analyses``) and
computes nothing new; every number in a section is printed with its JSON Pointer.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from forkingpaths.instruments.mcq import plots
from forkingpaths.instruments.mcq.factors import NOTA_TEXT
from forkingpaths.report import charts
from forkingpaths.report.drilldown import present
from forkingpaths.report.parts import DrillColumn, NoPresentation, Section, render_fragment
from forkingpaths.report.source import Results, RunSource
from forkingpaths.text import safe_text

PACKAGE = "forkingpaths.instruments.mcq"
SECTIONS = (
    ("accuracy", "Accuracy", "accuracy.html.j2"),
    ("consistency", "Option-order consistency", "consistency.html.j2"),
    ("prompts", "Prompt templates", "prompts.html.j2"),
    ("comparisons", "Model comparison", "comparisons.html.j2"),
    ("answer-bias", "Choices only and position bias", "answer_bias.html.j2"),
    ("variance", "Variance shares", "variance.html.j2"),
)


def _models(analyses: Results) -> list[str]:
    return list(analyses.get("models", default={}) or {})


def _option(row: dict[str, Any], item: dict[str, Any]) -> str:
    """The canonical option a trial chose, as it was shown (``nota`` may have added or replaced one)."""
    index = row.get("chosen")
    if not present(index):
        return "(unparsable)"
    options = list(item.get("options", []))
    index = int(index)  # type: ignore[arg-type]  # present() ruled out None and NaN
    if index >= len(options) or (row.get("nota") == "replace" and index == item.get("gold")):
        return NOTA_TEXT
    return options[index]


def _figures(analyses: Results, models: list[str]) -> dict[str, Any]:
    """Every chart of the MCQ sections (``None`` where the results hold nothing to draw)."""
    return {
        "forest": plots.forest(analyses, models),
        "car": plots.car_curves(analyses, models),
        "bump": plots.bump(analyses),
        "claims": [plots.claim_curve(analyses, i) for i in range(len(analyses.get("comparisons", default=[]) or []))],
        "variance": {m: charts.variance_shares(analyses, ("models", m, "variance"), f"Variance shares of correctness for {m}") for m in models},
        "variance_all": charts.variance_shares(analyses, ("variance",), "Variance shares of correctness over every model"),
        "reliability": {m: plots.reliability(analyses, m) for m in models},
    }


class MCQPresentation(NoPresentation):
    """Accuracy, consistency, templates, comparisons, answer bias; an accuracy table in the terminal."""

    def overview(self, source: RunSource) -> list[tuple[str, Markup]]:
        r = source.analyses
        return [
            ("options per item", Markup("{}").format(", ".join(map(str, r.get("design", "n_options", default=[]) or [])))),
            ("subjects", Markup("{}").format(len(r.get("design", "subjects", default=[]) or []))),
        ]

    def sections(self, source: RunSource) -> list[Section]:
        analyses = source.analyses
        models = _models(analyses)
        context = {"r": analyses, "models": models, "figures": _figures(analyses, models), "claim_classes": plots.CLAIM_CLASSES}
        return [Section(id, title, render_fragment(PACKAGE, template, **context)) for id, title, template in SECTIONS]

    def item_text(self, item: dict[str, Any]) -> str:
        return str(item.get("question", ""))

    def item_details(self, item: dict[str, Any]) -> list[str]:
        options = [("✓ " if i == item.get("gold") else "") + str(o) for i, o in enumerate(item.get("options", []))]
        return ([f"subject: {item['subject']}"] if item.get("subject") else []) + options

    def drill_columns(self, source: RunSource) -> list[DrillColumn]:
        return [
            DrillColumn("answer", _option),
            DrillColumn("correct", lambda row, item: "" if not present(row.get("correct")) else ("yes" if row["correct"] else "no")),
            DrillColumn("gold probability", lambda row, item: f"{row['gold_prob']:.3f}" if present(row.get("gold_prob")) else "", numeric=True),
        ]

    def terminal(self, source: RunSource) -> list[RenderableType]:
        r = source.analyses
        if not r.get("models"):
            return []
        level = r.get("settings", "level", default=0.95)
        table = Table(title=f"Accuracy pooled over conditions ({level:.0%} item-clustered CI)")
        for column in ("model", "accuracy", "interval", "chance", "worst condition", "best condition", "CircularEval"):
            table.add_column(column, justify="left" if column == "model" else "right")
        for model, entry in r.get("models").items():
            pooled = entry.get("pooled") or {}
            if pooled.get("estimate") is None:
                continue
            accs = [c["estimate"] for c in entry.get("conditions", []) if c.get("estimate") is not None]
            circ = entry.get("circular") or []
            table.add_row(
                Text(safe_text(model)),
                f"{pooled['estimate']:.3f}",
                f"[{pooled['lower']:.3f}, {pooled['upper']:.3f}]" if pooled.get("lower") is not None else "n/a",
                f"{entry['chance']:.3f}" if entry.get("chance") is not None else "n/a",
                f"{min(accs):.3f}",
                f"{max(accs):.3f}",
                f"{circ[0]['circular']['estimate']:.3f}" if circ else "n/a",
            )
        return [table]

    def validity_evidence(self, source: RunSource) -> dict[str, list[str]]:
        r = source.analyses
        design = r.get("design", default={}) or {}
        facts: dict[str, list[str]] = {"phenomenon": [], "representative_data": [], "measures_only": [], "error_analysis": [], "statistics": []}
        if not design:
            return {}
        facts["phenomenon"].append("Operationalised as the share of multiple-choice items whose gold option the model picks, across the design's conditions.")
        facts["representative_data"].append(
            f"{design['n_items']} items in {len(design.get('subjects', []))} subjects. This describes coverage; whether it is representative is an argument for the spec."
        )
        for model, entry in (r.get("models", default={}) or {}).items():
            hits = [c for c in entry.get("choices_only", []) if c.get("p_holm", 1) < 1 - r.get("settings", "level", default=0.95)]
            if entry.get("choices_only"):
                facts["measures_only"].append(
                    f"{model}: without the question, accuracy is above chance in {len(hits)} of {len(entry['choices_only'])} choices-only conditions."
                )
            accs = [c["estimate"] for c in entry.get("conditions", []) if c.get("estimate") is not None]
            if len(accs) > 1:
                facts["measures_only"].append(f"{model}: accuracy ranges from {min(accs):.3f} to {max(accs):.3f} across {len(accs)} conditions.")
            mass = entry.get("mean_valid_mass")
            facts["error_analysis"].append(
                f"{model}: {entry.get('unparsed', 0)} unparsable answers, {entry.get('errors', 0)} failed trials"
                + (f"; mean valid-label mass {mass:.3f}" if mass is not None else "")
                + "."
            )
        facts["statistics"].append("Accuracy intervals cluster trials by item (Korn-Graubard: Clopper-Pearson on the effective sample size from the cluster-robust item-clustered standard error, adjusted for items minus one degrees of freedom; one observation per item when fewer than 5 items hold a minority outcome).")
        if any(p.get("available") for p in r.get("comparisons", default=[]) or []):
            facts["statistics"].append("Models are compared on paired differences over the same items, with exact McNemar tests and Holm's adjustment.")
        return {k: v for k, v in facts.items() if v}
