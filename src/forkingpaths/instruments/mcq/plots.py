"""The MCQ instrument's charts, drawn from its analyses in results.json as static inline SVG.

Each function returns one ``<svg class="plot">`` or ``None`` when the results hold
nothing to draw. Every data mark is a ``<g class="mark">`` carrying the JSON Pointer of
the record it draws and a tooltip with that record's numbers (all text escaped by
:mod:`forkingpaths.report.svg`), so each point traces back to results.json. The charts
place numbers the analyses computed; none is derived here.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from forkingpaths.report.source import Results
from forkingpaths.report import svg
from forkingpaths.report.svg import GRID, INK, MUTED, Scale, bounds, clipped, element, figure, interval_text, legend, mark, text

WIDTH = 900
LABEL_CHARS = 34
#: How each class of the claim "a is more accurate than b" is drawn (the rule is ``analysis.claim_curve``'s).
CLAIM_CLASSES = {
    "holds": ("#0072B2", "holds (Holm p < α)"),
    "not_significant": ("#999999", "not significant"),
    "reversed": ("#D55E00", "reversed (Holm p < α)"),
}


def _dot(cx: float, cy: float, colour: str, r: float = 4.5) -> str:
    return element("circle", cx=cx, cy=cy, r=r, fill=colour, stroke="#ffffff", stroke_width=1)


def forest(results: Results, models: list[str]) -> Markup | None:
    """Accuracy per condition with its interval, one row per condition, one colour per model; pooled last."""
    rows: list[tuple[str, str, tuple[Any, ...]]] = []  # (model, label, pointer parts)
    for model in models:
        for index, condition in enumerate(results.get("models", model, "conditions", default=[]) or []):
            if condition.get("estimate") is not None:
                rows.append((model, str(condition["label"]), ("models", model, "conditions", index)))
        if (results.get("models", model, "pooled", "estimate", default=None)) is not None:
            rows.append((model, "pooled over conditions", ("models", model, "pooled")))
    if not rows:
        return None
    labels = list(dict.fromkeys(label for _, label, _ in rows))
    drawn = [m for m in models if any(r[0] == m for r in rows)]
    left, right, top = 260, 30, 30 if len(drawn) > 1 else 10
    band = 8 + 10 * len(drawn)
    height = top + band * len(labels) + 44
    records = [results.get(*where) for _, _, where in rows]
    chances = [results.get("models", m, "chance", default=None) for m in drawn]
    x = Scale(*svg.padded_domain([b for r in records for b in bounds(r)], include=[c for c in chances if c is not None]), left, WIDTH - right)
    parts = [svg.x_axis(x, top, top + band * len(labels), "accuracy (item-clustered interval)")]
    for g, label in enumerate(labels):
        weight = "bold" if label == "pooled over conditions" else None
        parts.append(text(left - 10, top + band * g + band / 2 + 4, clipped(label, LABEL_CHARS), text_anchor="end", fill=INK, font_weight=weight))
    for k, model in enumerate(drawn):
        chance = results.get("models", model, "chance", default=None)
        if chance is not None:
            cx = x(chance)
            line = element("line", x1=cx, x2=cx, y1=top, y2=top + band * len(labels), stroke=svg.model_colour(k), stroke_dasharray="3 4", opacity=0.6)
            parts.append(mark(svg.tooltip([f"{model}: chance 1/K = {chance:.3f}"]) + line, results.pointer("models", model, "chance")))
    for (model, label, where), record in zip(rows, records):
        k = drawn.index(model)
        colour = svg.model_colour(k)
        cy = top + band * labels.index(label) + 9 + 10 * k
        lo, hi = bounds(record)
        body = svg.tooltip([model, f"{label}: accuracy {interval_text(record)}", str(record.get("method", ""))])
        body += element("line", x1=x(lo), x2=x(hi), y1=cy, y2=cy, stroke=colour, stroke_width=2) + _dot(x(record["estimate"]), cy, colour)
        parts.append(mark(body, results.pointer(*where)))
    if len(drawn) > 1:
        parts.append(legend([(svg.model_colour(k), clipped(m, 40)) for k, m in enumerate(drawn)], left, 16))
    return figure("".join(parts), WIDTH, height, "Forest plot of accuracy per condition and model")


def car_curves(results: Results, models: list[str]) -> Markup | None:
    """MCA(c) against c (the CAR curve, Cavalin et al. 2025): one line per model and group of option orders."""
    curves = [
        (model, j, entry)
        for model in models
        for j, entry in enumerate(results.get("models", model, "cat", default=[]) or [])
        if entry.get("mca")
    ]
    if not curves:
        return None
    left, right, top, size = 70, 300, 14, 300
    x = Scale(0.0, 1.0, left, left + size)
    y = Scale(0.0, 1.0, top + size, top)
    parts = [svg.x_axis(x, top, top + size, "c (share of option orders answered correctly)"), svg.y_axis(y, left, left + size, "MCA(c): share of items")]
    dashes = (None, "6 3", "2 3", "8 3 2 3")
    drawn = list(dict.fromkeys(m for m, _, _ in curves))
    for n, (model, j, entry) in enumerate(curves):
        colour, dash = svg.model_colour(drawn.index(model)), dashes[j % len(dashes)]
        points = " ".join(f"{x(p['c']):.1f},{y(p['value']):.1f}" for p in entry["mca"])
        parts.append(element("polyline", points=points, fill="none", stroke=colour, stroke_width=2, stroke_dasharray=dash))
        for k, point in enumerate(entry["mca"]):
            lines = [f"{model} · {entry['label']}", f"MCA({point['c']:.1f}) = {point['value']:.3f}"]
            parts.append(mark(svg.tooltip(lines) + _dot(x(point["c"]), y(point["value"]), colour, 3.5), results.pointer("models", model, "cat", j, "mca", k)))
        legend = f"{model} · {entry['label']}"
        parts.append(element("line", x1=left + size + 24, x2=left + size + 48, y1=top + 10 + 18 * n, y2=top + 10 + 18 * n, stroke=colour, stroke_width=2, stroke_dasharray=dash))
        parts.append(text(left + size + 54, top + 14 + 18 * n, clipped(legend, 36), fill=INK, font_size=11))
    return figure("".join(parts), left + size + right, top + size + 44, "Consistency-accuracy (CAR) curves per model")


def bump(results: Results) -> Markup | None:
    """Each model's rank by accuracy per condition (1 = best), conditions ordered as in the run."""
    per_condition: list[dict[str, Any]] = results.get("ranking", "per_condition", default=[]) or []
    models = list(results.get("ranking", "models", default={}) or {})
    if not per_condition or len(models) < 2:
        return None
    left, right, top, panel = 120, 170, 16, 40 * len(models)
    step = (WIDTH - left - right) / len(per_condition)
    y = Scale(0.5, len(models) + 0.5, top, top + panel)
    parts = []
    for r in range(1, len(models) + 1):
        parts.append(element("line", x1=left, x2=WIDTH - right, y1=y(r), y2=y(r), stroke=GRID))
        parts.append(text(left - 10, y(r) + 4, f"rank {r}", text_anchor="end", fill=MUTED))
    for k, model in enumerate(models):
        colour = svg.model_colour(k)
        xy = [(left + (i + 0.5) * step, y(row["rank"][model])) for i, row in enumerate(per_condition)]
        parts.append(element("polyline", points=" ".join(f"{a:.1f},{b:.1f}" for a, b in xy), fill="none", stroke=colour, stroke_width=2))
        for i, row in enumerate(per_condition):
            lines = [f"{model} · {row['label']}", f"rank {row['rank'][model]:.0f}, accuracy {row['accuracy'][model]:.3f}"]
            parts.append(mark(svg.tooltip(lines) + _dot(*xy[i], colour), results.pointer("ranking", "per_condition", i)))
        parts.append(text(WIDTH - right + 10, xy[-1][1] + 4, clipped(model, 24), fill=colour))
    for i in range(len(per_condition)):
        parts.append(text(left + (i + 0.5) * step, top + panel + 16, f"c{i + 1}", text_anchor="middle", fill=MUTED, font_size=10))
    parts.append(text(left, top + panel + 34, "conditions (hover a point for its levels)", fill=MUTED, font_size=11))
    return figure("".join(parts), WIDTH, top + panel + 44, "Bump chart of model ranks per condition")


def claim_curve(results: Results, index: int) -> Markup | None:
    """The claim "a is more accurate than b" per condition: the accuracy difference, sorted, coloured by its class."""
    base = ("comparisons", index)
    pair: dict[str, Any] = results.get(*base) or {}
    rows: list[dict[str, Any]] = pair.get("conditions") or []
    if not pair.get("available") or not rows or "p_holm" not in rows[0]:
        return None
    alpha = 1 - float(results.get("settings", "level", default=0.95))
    order = sorted(range(len(rows)), key=lambda i: rows[i]["difference"])
    left, right, top, panel = 70, 20, 30, 200
    step = (WIDTH - left - right) / len(rows)
    y = Scale(*svg.padded_domain([r["difference"] for r in rows], include=[0.0], min_span=0.1), top + panel, top)
    parts = [svg.y_axis(y, left, WIDTH - right, f"accuracy({clipped(pair['a'], 16)}) − accuracy({clipped(pair['b'], 16)})")]
    parts.append(element("line", x1=left, x2=WIDTH - right, y1=y(0.0), y2=y(0.0), stroke=MUTED, stroke_width=1.5))
    for position, i in enumerate(order):
        row = rows[i]
        significant = row["p_holm"] < alpha
        kind = "holds" if significant and row["difference"] > 0 else "reversed" if significant and row["difference"] < 0 else "not_significant"
        cx = left + (position + 0.5) * step
        lines = [row["label"], f"difference {row['difference']:.3f}", f"McNemar p {row['pvalue']:.4f}, Holm p {row['p_holm']:.4f}"]
        parts.append(mark(svg.tooltip(lines) + _dot(cx, y(row["difference"]), CLAIM_CLASSES[kind][0]), results.pointer(*base, "conditions", i)))
    parts.append(legend([(colour, label) for colour, label in CLAIM_CLASSES.values()], left, 16))
    parts.append(text(left, top + panel + 18, "conditions sorted by the difference (hover a point for its levels)", fill=MUTED, font_size=11))
    return figure("".join(parts), WIDTH, top + panel + 28, f"Specification curve of the claim {pair['a']} beats {pair['b']}")


def reliability(results: Results, model: str) -> Markup | None:
    """Reliability diagram: accuracy against mean confidence per confidence bin (dot area ~ trials), with the diagonal."""
    base = ("models", model, "calibration", "reliability")
    bins: list[dict[str, Any]] = [b for b in results.get(*base, default=[]) or [] if b.get("n")]
    if not bins:
        return None
    all_bins = results.get(*base) or []
    left, top, size = 70, 14, 300
    x = Scale(0.0, 1.0, left, left + size)
    y = Scale(0.0, 1.0, top + size, top)
    parts = [svg.x_axis(x, top, top + size, "mean confidence (top option)"), svg.y_axis(y, left, left + size, "accuracy")]
    parts.append(element("line", x1=x(0.0), y1=y(0.0), x2=x(1.0), y2=y(1.0), stroke=MUTED, stroke_dasharray="4 4"))
    largest = max(b["n"] for b in bins)
    for row in bins:
        index = all_bins.index(row)
        r = 3 + 9 * (row["n"] / largest) ** 0.5
        lines = [f"{model} · bin {row['bin']}", f"{row['n']} trials, mean confidence {row['confidence']:.3f}, accuracy {row['accuracy']:.3f}"]
        body = svg.tooltip(lines) + element("circle", cx=x(row["confidence"]), cy=y(row["accuracy"]), r=r, fill="#0072B2", opacity=0.75)
        parts.append(mark(body, results.pointer(*base, index)))
    return figure("".join(parts), left + size + 30, top + size + 44, f"Reliability diagram for {model}")
