"""The bias instrument's part of the report: group forest, gap matrix with the control band, flip rates,
BBQ bias scores, selection rates and impact ratios, and the counterfactual prompts of one template side by side.

Everything reads the analyses in the run document (``source.analyses``), the items and the
trials table; nothing is computed anew except the layout of the drill-down.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from rich.console import RenderableType
from rich.table import Table

from forkingpaths.report import svg
from forkingpaths.report.parts import DrillColumn, NoPresentation, Section, render_fragment
from forkingpaths.report.source import Results, RunSource
from forkingpaths.text import safe_text

PACKAGE = "forkingpaths.instruments.bias"


def forest(part: Results, label: str) -> Markup:
    """Each group's mean score with its interval, one row per group (marks carry their JSON Pointer)."""
    groups = part.get("groups", default=[]) or []
    width, left, right, row_h, top = 560.0, 130.0, 20.0, 22.0, 10.0
    height = top + row_h * len(groups) + 40
    values = [g.get(k) for g in groups for k in ("estimate", "lower", "upper")]
    lo, hi = svg.padded_domain(values, pad=0.05, min_span=0.05)
    scale = svg.Scale(lo, hi, left, width - right)
    body = [svg.x_axis(scale, top, top + row_h * len(groups), label)]
    for i, group in enumerate(groups):
        y = top + row_h * (i + 0.5)
        path = part.pointer("groups", i)
        marks = [svg.text(left - 8, y + 4, svg.clipped(str(group["group"]), 18), text_anchor="end", fill=svg.INK)]
        if group.get("lower") is not None:
            marks.append(svg.element("line", x1=scale(group["lower"]), x2=scale(group["upper"]), y1=y, y2=y, stroke=svg.model_colour(0), stroke_width=2))
        marks.append(svg.element("circle", cx=scale(group["estimate"]), cy=y, r=4, fill=svg.model_colour(0)))
        tip = [f"{group['group']}: {group['estimate']:.3f}", f"{group['n_templates']} templates, {group['n']} trials"]
        body.append(svg.mark("".join(marks) + svg.tooltip(tip), path))
    return svg.figure("".join(body), width, height, f"{label} by group")


#: Diverging fill of a gap cell: positive gaps orange, negative blue (Okabe & Ito hues), strength by |gap|.
POSITIVE, NEGATIVE, WITHIN = (230, 159, 0), (0, 114, 178), "#eef0f2"


def _gap_fill(value: float, scale: float) -> str:
    strength = min(abs(value) / scale, 1.0) if scale > 0 else 0.0
    hue = POSITIVE if value > 0 else NEGATIVE
    r, g, b = (round(255 + (c - 255) * (0.15 + 0.85 * strength)) for c in hue)
    return f"#{r:02x}{g:02x}{b:02x}"


def gap_matrix(part: Results, label: str) -> Markup | None:
    """Groups × groups: cell (row a, column b) is the gap a − b, outlined when beyond noise, grey inside the control band.

    The control band is the largest absolute bound of the control gaps' intervals (the noise
    bound of the bias-beyond-noise rule): a gap whose estimate lies inside it is drawn grey.
    Each cell is a mark carrying the JSON Pointer of its gap record; labels and tooltips escaped.
    """
    gaps = part.get("gaps", default=[]) or []
    if not gaps:
        return None
    groups = sorted({g["a"] for g in gaps} | {g["b"] for g in gaps})
    cell, left, top = 46.0, 120.0, 70.0
    noise = next((g["noise_bound"] for g in gaps if g.get("noise_bound") is not None), None)
    scale = max([abs(g["estimate"]) for g in gaps] + [noise or 0.0])
    lookup = {}
    for i, gap in enumerate(gaps):
        lookup[(gap["a"], gap["b"])], lookup[(gap["b"], gap["a"])] = (i, 1.0), (i, -1.0)
    body = []
    for k, group in enumerate(groups):
        body.append(svg.text(left - 8, top + cell * (k + 0.5) + 4, svg.clipped(str(group), 16), text_anchor="end", fill=svg.INK))
        x = left + cell * (k + 0.5)
        body.append(svg.text(x, top - 8, svg.clipped(str(group), 8), text_anchor="start", fill=svg.INK, transform=f"rotate(-40 {x:.1f} {top - 8:.1f})"))
    for r, a in enumerate(groups):
        for c, b in enumerate(groups):
            x, y = left + cell * c, top + cell * r
            if a == b:
                body.append(svg.element("rect", x=x, y=y, width=cell - 2, height=cell - 2, fill="#ffffff", stroke=svg.GRID))
                continue
            if (a, b) not in lookup:  # e.g. rankings that show a subset of the groups never showed these two together
                body.append(svg.element("rect", x=x, y=y, width=cell - 2, height=cell - 2, fill="#ffffff", stroke=svg.GRID))
                body.append(svg.text(x + cell / 2 - 1, y + cell / 2 + 3, "–", text_anchor="middle", fill=svg.MUTED, font_size=10))
                continue
            i, sign = lookup[(a, b)]
            gap = gaps[i]
            value = sign * gap["estimate"]
            inside = noise is not None and abs(value) <= noise
            beyond = gap.get("verdict") == "beyond noise"
            box = svg.element("rect", x=x, y=y, width=cell - 2, height=cell - 2, fill=WITHIN if inside else _gap_fill(value, scale),
                              stroke=svg.INK if beyond else None, stroke_width=2.5 if beyond else None)
            box += svg.text(x + cell / 2 - 1, y + cell / 2 + 3, f"{value:+.2f}", text_anchor="middle", fill=svg.MUTED if inside else svg.INK, font_size=10)
            low, high = (gap.get("lower"), gap.get("upper")) if sign > 0 else (gap.get("upper"), gap.get("lower"))
            shown = {"estimate": value, "lower": None if low is None else sign * low, "upper": None if high is None else sign * high}
            tip = [f"{a} − {b}: {svg.interval_text(shown)}", f"verdict: {gap.get('verdict')}",
                   "control band: none" if noise is None else f"control band: ±{noise:.3f}"]
            body.append(svg.mark(box + svg.tooltip(tip), part.pointer("gaps", i)))
    bottom = top + cell * len(groups) + 22
    band = "no control gaps: no band" if noise is None else f"control band ±{noise:.3f} (grey: |gap| inside it)"
    body.append(svg.text(left, bottom, band, fill=svg.MUTED, font_size=11))
    body.append(svg.text(left, bottom + 16, "outlined: beyond noise; orange: row group above column group, blue: below; –: the two groups never shown together", fill=svg.MUTED, font_size=11))
    width = max(left + cell * len(groups) + 20, left + 460)
    return svg.figure("".join(body), width, bottom + 26, f"{label}: gap matrix")


def side_by_side(source: RunSource, presentation: BiasPresentation) -> dict[str, Any] | None:
    """The first rating template's variants under control ``none``: filled prompt text and answer per group."""
    items = {i["item_id"]: i for i in source.items}
    trials = source.trials
    if "task" not in trials.columns:
        return None
    rating = trials[(trials["task"] == "rating") & trials["error"].isna()]
    if "control" in rating.columns:
        rating = rating[rating["control"] == "none"]
    if "language" in rating.columns:  # the item text shown is in the template's own language
        rating = rating[rating["language"] == rating["item_id"].map(lambda i: items.get(i, {}).get("language"))]
    if rating.empty:
        return None
    template = rating["template_id"].iloc[0]
    rows = []
    for trial in rating[rating["template_id"] == template].itertuples():
        item = items.get(trial.item_id, {})
        rows.append({"group": trial.group, "filler": trial.filler, "text": presentation.item_text(item),
                     "rating": trial.rating, "decision": trial.decision})
    return {"template": template, "rows": rows}


class BiasPresentation(NoPresentation):
    def sections(self, source: RunSource) -> list[Section]:
        r = source.analyses
        models = list(r.get("by_model", default={}) or {})
        context = {"r": r, "models": models, "forest": forest, "gap_matrix": gap_matrix}
        sections = [
            Section("bias-ratings", "Ratings by group and group gaps", render_fragment(PACKAGE, "ratings.html.j2", **context)),
            Section("bias-flips", "Flip rates", render_fragment(PACKAGE, "flips.html.j2", **context)),
            Section("bias-bbq", "BBQ bias scores", render_fragment(PACKAGE, "bbq.html.j2", **context)),
            Section("bias-ranking", "Selection rates and impact ratios", render_fragment(PACKAGE, "ranking.html.j2", **context)),
        ]
        if any((r.get("by_model", m, "similarity") or {}) for m in models):
            sections.append(Section("bias-similarity", "Response similarity of counterfactual pairs", render_fragment(PACKAGE, "similarity.html.j2", **context)))
        pairs = side_by_side(source, self)
        if pairs:
            sections.append(Section("bias-prompts", "Counterfactual prompts of one template", render_fragment(PACKAGE, "prompts.html.j2", pairs=pairs)))
        return sections

    def item_text(self, item: dict[str, Any]) -> str:
        text = str(item.get("text") or "")
        if item.get("slot") and item.get("filler"):
            text = text.replace("{" + str(item["slot"]) + "}", str(item["filler"]))
        if item.get("question"):
            text = f"{text} {item['question']}"
        return text

    def item_details(self, item: dict[str, Any]) -> list[str]:
        facts = [str(item.get("task"))]
        for key in ("group", "category", "context_condition", "job", "language"):
            if item.get(key):
                facts.append(f"{key} {item[key]}")
        if item.get("candidate_groups"):
            facts.append("candidates " + ", ".join(item["candidate_groups"]))
        return facts

    def drill_columns(self, source: RunSource) -> list[DrillColumn]:
        return [
            DrillColumn("group", lambda row, item: str(row.get("group") or "")),
            DrillColumn("answer", lambda row, item: str(row.get("decision") if row.get("decision") is not None else "unparsed")),
            DrillColumn("rating", lambda row, item: f"{row['rating']:.2f}" if isinstance(row.get("rating"), float) else "", numeric=True),
            DrillColumn("control", lambda row, item: str(row.get("control_note") or "")),
        ]

    def terminal(self, source: RunSource) -> list[RenderableType]:
        table = Table(title="Counterfactual bias")
        for heading in ("model", "task", "headline"):
            table.add_column(heading)
        for model, tasks in (source.analyses.get("by_model", default={}) or {}).items():
            for task, slot, rating in [(t, s, r) for t in ("rating", "generation") for s, r in (tasks.get(t) or {}).items()]:
                passing = sum(g.get("verdict") == "beyond noise" for g in rating["gaps"])
                table.add_row(safe_text(model), f"{task} ({safe_text(slot)})", f"{passing} of {len(rating['gaps'])} group gaps beyond noise")
            for slot, part in (tasks.get("similarity") or {}).items():
                passing = sum(p["verdict"] == "less similar beyond noise" for p in part["pairs"])
                table.add_row(safe_text(model), f"generation similarity ({safe_text(slot)})",
                              f"{passing} of {len(part['pairs'])} pairs less similar beyond noise; all pairs: {part['pooled']['verdict']}")
            for language, choice in (tasks.get("choice") or {}).items():
                beyond = sum(row.get("noise", {}).get("verdict") == "beyond noise" for row in choice["bbq"])
                table.add_row(safe_text(model), f"BBQ ({safe_text(language)})", f"{len(choice['bbq'])} category × context scores, {beyond} beyond noise")
            if tasks.get("ranking"):
                flagged = [s["group"] for s in tasks["ranking"]["selection"] if s["four_fifths"]]
                few = "" if tasks["ranking"].get("enough", True) else " (too few rankings for a verdict)"
                gaps = tasks["ranking"].get("gaps", [])
                beyond = sum(g.get("verdict") == "beyond noise" for g in gaps)
                table.add_row(safe_text(model), "ranking", f"impact ratio < 0.8: {safe_text(', '.join(flagged) or 'none')}; "
                              f"{beyond} of {len(gaps)} selection gaps beyond noise{few}")
        return [table]

    def validity_evidence(self, source: RunSource) -> dict[str, list[str]]:
        design = source.analyses.get("design", default={}) or {}
        groups = [f"slot {{{slot}}}: {design['n_groups'][slot]} groups ({', '.join(g)})" for slot, g in (design.get("groups") or {}).items()]
        return {
            "phenomenon": ["Outcomes: expected rating rescaled to [0, 1] (rating), the scorer's score of the response (with the judge scorer the "
                           "judge model's rating of the response alone, rescaled the same way; with the similarity scorer the response itself) (generation), "
                           "BBQ answer (choice), top candidate (ranking); "
                           f"tasks here: {', '.join(design.get('tasks', []))}."],
            "representative_data": [*groups, f"{design.get('variants')} item variants over {design.get('templates')} templates"
                                    + (f", asked in {', '.join(design['languages'])} (the templates file's own translations)." if design.get("languages") else ".")],
            "justification": [f"Controls on the same templates: {', '.join(design.get('controls', []))}; a group gap is called bias "
                              "only beyond them (the bias-beyond-noise rule)."],
        }
