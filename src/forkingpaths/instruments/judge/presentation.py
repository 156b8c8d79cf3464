"""The judge audit's part of the report: accuracy, agreement, position, artifacts, length, repeats and juries, win rate, variance; terminal table; validity evidence.

Everything here reads the analyses in the run document (``source.analyses``) and computes nothing new.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from rich.console import RenderableType
from rich.table import Table

from forkingpaths.instruments.judge.plots import artifact_forest
from forkingpaths.report.parts import DrillColumn, Section, render_fragment
from forkingpaths.report.source import RunSource
from forkingpaths.text import safe_text

PACKAGE = "forkingpaths.instruments.judge"
SECTIONS = (
    ("judge-accuracy", "Judge accuracy", "judge.html.j2"),
    ("judge-agreement", "Agreement with the labels", "agreement.html.j2"),
    ("judge-position", "Position", "position.html.j2"),
    ("judge-artifacts", "Artifacts", "artifacts.html.j2"),
    ("judge-length", "Length preference", "length.html.j2"),
    ("judge-raters", "Repeats and juries", "raters.html.j2"),
    ("judge-win-rate", "Win rate, naive and corrected", "winrate.html.j2"),
    ("judge-variance", "What decides being right", "variance.html.j2"),
    ("judge-flips", "Flipped verdicts", "flips.html.j2"),
)


SINGLE_SECTIONS = (("judge-scores", "Scores against human scores", "single.html.j2"),)


def _pct(value: Any) -> str:
    return f"{value:.0%}" if isinstance(value, int | float) else "n/a"


def _single(source: RunSource) -> bool:
    """The run is in the single-response mode (its analyses say so)."""
    return source.analyses.get("mode", default=None) == "single"


def _num(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, int | float) else "n/a"


class SinglePresentation:
    """The single-response mode's parts: scores against human scores, artifact shifts, a terminal table."""

    def overview(self, source: RunSource) -> list[tuple[str, Markup]]:
        r = source.analyses
        scale = r.get("design", "scale", default=None) or ["?", "?"]
        return [("judges", Markup("{}").format(", ".join(r.get("design", "judges", default=[]) or []))),
                ("responses", Markup("{} (human scores on {}–{})").format(r.get("design", "items"), scale[0], scale[1]))]

    def sections(self, source: RunSource) -> list[Section]:
        forest = artifact_forest(source.analyses, "shift in the judge's score (interval)")
        return [Section(anchor, title, render_fragment(PACKAGE, template, r=source.analyses, forest=forest)) for anchor, title, template in SINGLE_SECTIONS]

    def drill_columns(self, source: RunSource) -> list[DrillColumn]:
        return [
            DrillColumn("score", lambda row, item: _num(row.get("score")) if row.get("parsed") else "unparsable", numeric=True),
            DrillColumn("expected", lambda row, item: _num(row.get("expected_score")), numeric=True),
            DrillColumn("human", lambda row, item: _num(row.get("human_score")), numeric=True),
        ]

    def terminal(self, source: RunSource) -> list[RenderableType]:
        table = Table(title="Judge audit (single responses)")
        for heading in ("judge", "template", "format", "Spearman ρ", "weighted κ", "verdict"):
            table.add_column(heading)
        for row in source.analyses.get("agreement", default=[]) or []:
            table.add_row(safe_text(row["model"]), safe_text(row["judge_template"]), safe_text(row["verdict_format"]),
                          _num(row["spearman"].get("estimate")), _num(row["qwk"].get("estimate")), safe_text(row["verdict"]))
        return [table]

    def validity_evidence(self, source: RunSource) -> dict[str, list[str]]:
        moved = [a for a in source.analyses.get("artifacts", default=[]) or [] if not a["verdict"].startswith("no shift")]
        return {"phenomenon": ["What is measured: whether the judge's score of one response ranks responses as the human scores do, "
                               "and how much quality-neutral artifacts move it."],
                "justification": [f"{len(moved)} artifact comparisons moved the score beyond the margin."]}


class JudgePresentation:
    """The pairs and generated modes' parts; a single-response run is handed to :class:`SinglePresentation`."""

    single = SinglePresentation()

    def overview(self, source: RunSource) -> list[tuple[str, Markup]]:
        if _single(source):
            return self.single.overview(source)
        r = source.analyses
        return [
            ("judges", Markup("{}").format(", ".join(r.get("design", "judges", default=[]) or []))),
            ("pairs", Markup("{} ({} with a gold label, {} ties)").format(
                r.get("design", "items"), r.get("design", "labelled"), r.get("design", "ties"))),
        ]

    def sections(self, source: RunSource) -> list[Section]:
        if _single(source):
            return self.single.sections(source)
        forest = artifact_forest(source.analyses, "shift in choosing the perturbed response (interval)")
        return [Section(anchor, title, render_fragment(PACKAGE, template, r=source.analyses, forest=forest)) for anchor, title, template in SECTIONS]

    def item_text(self, item: dict[str, Any]) -> str:
        return str(item.get("instruction") or "")

    def item_details(self, item: dict[str, Any]) -> list[str]:
        if "score" in item:
            return [f"human score {item['score']}", *([str(item["category"])] if item.get("category") else [])]
        facts = [f"gold {item.get('label') or 'none'}"]
        if item.get("human_labels"):
            facts.append("humans " + "/".join(item["human_labels"]))
        if item.get("category"):
            facts.append(str(item["category"]))
        return facts

    def drill_columns(self, source: RunSource) -> list[DrillColumn]:
        if _single(source):
            return self.single.drill_columns(source)
        return [
            DrillColumn("verdict", lambda row, item: str(row.get("verdict") or "unparsable")),
            DrillColumn("perturbed", lambda row, item: str(row.get("perturbed") or "")),
            DrillColumn("P(A)", lambda row, item: f"{row['p_a']:.3f}" if isinstance(row.get("p_a"), float) else "", numeric=True),
        ]

    def terminal(self, source: RunSource) -> list[RenderableType]:
        if _single(source):
            return self.single.terminal(source)
        r = source.analyses
        table = Table(title="Judge audit")
        for heading in ("judge", "accuracy", "consistency", "first-position pref.", "artifact levels moved"):
            table.add_column(heading)
        position = {row["model"]: row for row in r.get("position", default=[]) or []}
        for row in r.get("accuracy_overall", default=[]) or []:
            judge = row["model"]
            pos = position.get(judge, {})
            moved = sorted({a["artifact"] for a in r.get("artifacts", default=[]) or [] if a["model"] == judge and not a["verdict"].startswith("no shift")})
            table.add_row(safe_text(judge), _pct(row.get("estimate")), _pct((pos.get("consistency") or {}).get("estimate")),
                          _pct((pos.get("first_preference") or {}).get("estimate")), safe_text(", ".join(moved) or "none"))
        return [table]

    def validity_evidence(self, source: RunSource) -> dict[str, list[str]]:
        if _single(source):
            return self.single.validity_evidence(source)
        r = source.analyses
        facts: dict[str, list[str]] = {
            "phenomenon": ["What is measured: whether the judge prefers the response the gold label calls better, and how much "
                           "the order of the responses and quality-neutral artifacts change its verdict."],
        }
        pos = r.get("position", default=[]) or []
        if pos:
            facts["justification"] = [f"{row['model']}: {_pct((row.get('consistency') or {}).get('estimate'))} of items get the same verdict in both "
                                      f"orders; the rest are decided by position, not content." for row in pos]
        moved = [a for a in r.get("artifacts", default=[]) or [] if not a["verdict"].startswith("no shift")]
        if r.get("artifacts"):
            facts.setdefault("justification", []).append(f"{len(moved)} of {len(r.get('artifacts'))} artifact comparisons moved verdicts beyond the margin.")
        share = r.get("variance", "presentation_share")
        if share is not None:
            facts.setdefault("justification", []).append(
                f"Position and artifacts explain {share:.0%} of the variance in being right (Henderson's Method I; the item explains "
                f"{next((c['share'] for c in r.get('variance', 'components') if c['component'] == 'item'), 0.0):.0%}).")
        return facts
