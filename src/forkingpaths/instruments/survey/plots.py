"""The survey's charts, drawn from its analyses in results.json as static inline SVG.

Each function takes the results and returns one ``<svg class="plot">`` (or
``None`` when the results hold nothing to draw). Every data mark is a
``<g class="mark">`` carrying the JSON Pointer of the record it draws and a
hover tooltip with that record's numbers, so a reader (and the test suite) can
trace each point back to results.json. The charts only place numbers the
analyses computed; none is derived here.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from forkingpaths.report import charts
from forkingpaths.report.source import Results
from forkingpaths.report.svg import (
    GRID,
    INK,
    MUTED,
    Scale,
    bounds,
    clipped,
    element,
    figure,
    interval_text,
    legend,
    mark,
    model_colour,
    nice_ticks,
    padded_domain,
    sequential_colour,
    text,
    tick_label,
    tooltip,
    x_axis,
    y_axis,
)

WIDTH = 900
LABEL_CHARS = 26
#: Narrowest axis for differences of similarity: findings print three decimals, so a narrower
#: range (two references of one model differ by float noise) would draw noise as a scale.
DIFFERENCE_SPAN = 0.02

#: The classes of :func:`forkingpaths.stats.multiverse.claim_shares`, with how each is drawn.
CLAIM_CLASSES = {
    "holds_significant": ("#0072B2", "closest, margin interval above 0"),
    "holds_not_significant": ("#56B4E9", "closest, margin interval includes 0"),
    "zero": ("#999999", "tied"),
    "reversed_not_significant": ("#E69F00", "not closest, margin interval includes 0"),
    "reversed_significant": ("#D55E00", "not closest, margin interval below 0"),
}
STEER_METRICS = (
    ("delta_target", "Δ target", "#0072B2"),
    ("delta_others", "Δ others", "#999999"),
    ("specificity", "specificity", "#009E73"),
)


def group_name(results: Results, group: str) -> str:
    return str(results.get("design", "group_names", group, default=group))


def levels_text(levels: dict[str, Any]) -> str:
    return ", ".join(f"{factor}={level}" for factor, level in levels.items())


def varying_factors(conditions: list[dict[str, Any]]) -> list[str]:
    """The factors whose level differs between some of the given conditions (in their order)."""
    names = list(conditions[0]) if conditions else []
    return [f for f in names if len({str(levels[f]) for levels in conditions}) > 1]


def claim_class(row: dict[str, Any]) -> str:
    """The class of one condition's margin, by the rule of ``claim_shares`` (shown in the legend);
    a margin without an interval (``None`` bounds) is never significant."""
    lower, upper = row["margin_lower"], row["margin_upper"]
    if lower is not None and lower > 0:
        return "holds_significant"
    if upper is not None and upper < 0:
        return "reversed_significant"
    if row["margin"] > 0:
        return "holds_not_significant"
    return "reversed_not_significant" if row["margin"] < 0 else "zero"


def _whisker(record: dict[str, Any], scale: Scale) -> tuple[float, float]:
    """The pixel positions of an interval's bounds (see :func:`bounds`)."""
    lower, upper = bounds(record)
    return scale(lower), scale(upper)


def _interval_mark(x_lo: float, x_hi: float, y_lo: float, y_hi: float, cx: float, cy: float, colour: str) -> str:
    """A whisker (horizontal or vertical, given by the coordinates) and its point."""
    return element("line", x1=x_lo, x2=x_hi, y1=y_lo, y2=y_hi, stroke=colour, stroke_width=2) + element(
        "circle", cx=cx, cy=cy, r=4.5, fill=colour, stroke="#ffffff", stroke_width=1
    )


def spec_curve(results: Results, model: str) -> Markup | None:
    """Similarity to the claim's target (the pooled closest group) per condition, sorted, with the factor levels beneath."""
    base = ("models", model, "stability", "specification_curve")
    curve: list[dict[str, Any]] = results.get(*base) or []
    if not curve:
        return None
    stab = ("models", model, "stability")
    target = group_name(
        results, results.get(*stab, "claim", "target", default=None) or results.get(*stab, "closest_group", "modal", default="")
    )
    order = sorted(range(len(curve)), key=lambda i: curve[i]["rank"])
    factors = varying_factors([row["levels"] for row in curve])
    rows = [(f, level) for f in factors for level in sorted({str(row["levels"][f]) for row in curve})]
    left, right, top, panel = 210, 20, 34, 210
    matrix_top = top + panel + 30
    height = matrix_top + 16 * len(rows) + 10
    step = (WIDTH - left - right) / len(curve)
    lo, hi = padded_domain([r[k] for r in curve for k in ("lower", "upper", "estimate") if r[k] is not None])
    y = Scale(lo, hi, top + panel, top)
    parts = [y_axis(y, left, WIDTH - right, f"similarity to {clipped(target, 20)}")]
    for position, index in enumerate(order):
        row = curve[index]
        cx = left + (position + 0.5) * step
        colour = CLAIM_CLASSES[claim_class(row)][0]
        lines = [
            levels_text(row["levels"]),
            f"similarity to {target}: {interval_text(row)}",
            f"margin over the runner-up ({group_name(results, row['runner_up'])}): {row['margin']:.3f} "
            + (
                f"[{row['margin_lower']:.3f}, {row['margin_upper']:.3f}]"
                if row["margin_lower"] is not None and row["margin_upper"] is not None
                else "(no interval: too few items)"
            ),
            f"rank {row['rank']} · {row['method']}",
        ]
        body = tooltip(lines) + _interval_mark(cx, cx, *_whisker(row, y), cx, y(row["estimate"]), colour)
        parts.append(mark(body, results.pointer(*base, index)))
        parts.append(text(cx, top + panel + 16, f"#{row['rank']}", text_anchor="middle", fill=MUTED, font_size=10))
        for r, (factor, level) in enumerate(rows):
            on = str(row["levels"][factor]) == level
            parts.append(element("circle", cx=cx, cy=matrix_top + 16 * r, r=4 if on else 2.5, fill=INK if on else GRID))
    for r, (factor, level) in enumerate(rows):
        parts.append(
            text(
                left - 10,
                matrix_top + 16 * r + 4,
                clipped(f"{factor} = {level}", LABEL_CHARS),
                text_anchor="end",
                fill=INK,
            )
        )
    return figure("".join(parts), WIDTH, height, f"Specification curve for {model}")


def forest(results: Results, models: list[str]) -> Markup | None:
    """Mean similarity per group with its interval, one row per group, one colour per model."""
    entries = {m: results.get("models", m, "overall") or [] for m in models}
    drawn = [m for m in models if entries[m]]
    if not drawn:
        return None
    groups = [row["group"] for row in entries[drawn[0]]]
    groups += sorted({row["group"] for m in drawn for row in entries[m]} - set(groups))
    left, right, top = 200, 30, 30 if len(drawn) > 1 else 10
    band = 8 + 12 * len(drawn)
    height = top + band * len(groups) + 44
    values = [v for m in drawn for row in entries[m] for v in bounds(row)]
    x = Scale(*padded_domain(values), left, WIDTH - right)
    parts = [x_axis(x, top, top + band * len(groups), "similarity (1 − Jensen–Shannon distance)")]
    for g, group in enumerate(groups):
        name = group_name(results, group)
        parts.append(
            text(left - 10, top + band * g + band / 2 + 4, clipped(name, LABEL_CHARS), text_anchor="end", fill=INK)
        )
    for k, model in enumerate(drawn):
        colour = model_colour(k)
        for index, row in enumerate(entries[model]):
            cy = top + band * groups.index(row["group"]) + 10 + 12 * k
            lines = [model, f"{group_name(results, row['group'])}: {interval_text(row)}", row["method"]]
            body = tooltip(lines) + _interval_mark(
                *_whisker(row, x), cy, cy, x(row["estimate"]), cy, colour
            )
            parts.append(mark(body, results.pointer("models", model, "overall", index)))
    if len(drawn) > 1:
        parts.append(legend([(model_colour(k), clipped(m, 40)) for k, m in enumerate(drawn)], left, 16))
    return figure("".join(parts), WIDTH, height, "Forest plot of similarity per model and group")


def heatmap(results: Results, model: str) -> Markup | None:
    """Similarity of every group in every condition; columns in specification-curve order."""
    base = ("models", model, "stability", "group_scores")
    scores: list[dict[str, Any]] = results.get(*base) or []
    if not scores:
        return None
    curve = results.get("models", model, "stability", "specification_curve") or []
    ranked = {row["condition_id"]: row for row in curve}
    conditions = sorted({s["condition_id"] for s in scores}, key=lambda c: (ranked.get(c, {}).get("rank", 0), c))
    overall = [row["group"] for row in results.get("models", model, "overall") or []]
    groups = overall + sorted({s["group"] for s in scores} - set(overall))
    left, right, top, row_h = 200, 90, 10, 20
    cell_w = min(60.0, (WIDTH - left - right) / len(conditions))
    height = top + row_h * len(groups) + 40
    estimates = [s["estimate"] for s in scores]
    lo, hi = min(estimates), max(estimates)
    parts = []
    for g, group in enumerate(groups):
        parts.append(
            text(
                left - 10,
                top + row_h * g + 14,
                clipped(group_name(results, group), LABEL_CHARS),
                text_anchor="end",
                fill=INK,
            )
        )
    for c, condition in enumerate(conditions):
        label = f"#{ranked[condition]['rank']}" if condition in ranked else f"c{c + 1}"
        parts.append(
            text(
                left + cell_w * (c + 0.5),
                top + row_h * len(groups) + 14,
                label,
                text_anchor="middle",
                fill=MUTED,
                font_size=10,
            )
        )
    for index, score in enumerate(scores):
        c, g = conditions.index(score["condition_id"]), groups.index(score["group"])
        colour = sequential_colour(score["estimate"], lo, hi)
        levels = ranked.get(score["condition_id"], {}).get("levels", {"condition": score["condition_id"]})
        lines = [
            group_name(results, score["group"]),
            levels_text(levels),
            f"similarity {interval_text(score)}",
            score["method"],
        ]
        body = tooltip(lines) + element(
            "rect", x=left + cell_w * c, y=top + row_h * g, width=cell_w - 1, height=row_h - 1, fill=colour
        )
        if cell_w >= 34:
            dark = (score["estimate"] - lo) / ((hi - lo) or 1) > 0.55
            body += text(
                left + cell_w * (c + 0.5),
                top + row_h * g + 14,
                f"{score['estimate']:.2f}",
                text_anchor="middle",
                fill="#ffffff" if dark else INK,
                font_size=10,
            )
        parts.append(mark(body, results.pointer(*base, index)))
    ticks = nice_ticks(lo, hi, 4)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 0.1
    legend_x = left + cell_w * len(conditions) + 24
    for t, tick in enumerate(ticks):
        y_pos = top + 18 * t
        parts.append(element("rect", x=legend_x, y=y_pos, width=14, height=14, fill=sequential_colour(tick, lo, hi)))
        parts.append(text(legend_x + 20, y_pos + 11, tick_label(tick, step), fill=MUTED, font_size=10))
    parts.append(
        text(left, height - 6, "conditions (numbered as in the specification curve)", fill=MUTED, font_size=11)
    )
    return figure("".join(parts), WIDTH, height, f"Heatmap of similarity by group and condition for {model}")


def variance(results: Results, model: str) -> Markup | None:
    """Share of similarity variance per component with intervals, the human group's share highlighted.

    The human reference spread is in other units (an SD of answer shares, not a share of
    variance); it is marked in the spread panel drawn beside this chart.
    """
    return charts.variance_shares(results, ("models", model, "stability", "variance_components"), f"Variance decomposition for {model}", highlight="group")


def spread(results: Results, models: list[str]) -> Markup | None:
    """How far the model's answer shares move across conditions, against how far the human groups differ."""
    human = results.get("human_spread")
    drawn = [m for m in models if results.get("models", m, "design_spread") is not None]
    if human is None or not drawn:
        return None
    left, right, top, band = 200, 80, 24, 26
    height = top + band * len(drawn) + 44
    values = [results.get("models", m, "design_spread") for m in drawn]
    x = Scale(0.0, max([*values, human]) * 1.15, left, WIDTH - right)
    parts = [x_axis(x, top, top + band * len(drawn), "SD of answer shares (averaged over options and items)")]
    for k, model in enumerate(drawn):
        value = results.get("models", model, "design_spread")
        y_mid = top + band * k + band / 2
        parts.append(text(left - 10, y_mid + 4, clipped(f"design: {model}", LABEL_CHARS), text_anchor="end", fill=INK))
        body = (
            tooltip([f"{model}: across-condition SD {value:.3f}"])
            + element("rect", x=left, y=y_mid - 8, width=max(x(value) - left, 0.5), height=16, fill=model_colour(k))
            + text(x(value) + 6, y_mid + 4, f"{value:.3f}", fill=INK)
        )
        parts.append(mark(body, results.pointer("models", model, "design_spread")))
    hx = x(human)
    reference = (
        tooltip([f"human groups: across-group SD {human:.3f}"])
        + element(
            "line",
            x1=hx,
            x2=hx,
            y1=top - 6,
            y2=top + band * len(drawn),
            stroke="#D55E00",
            stroke_dasharray="5 4",
            stroke_width=2,
        )
        + text(hx + 4, top - 10, f"human groups {human:.3f}", fill="#D55E00")
    )
    parts.append(mark(reference, results.pointer("human_spread")))
    return figure("".join(parts), WIDTH, height, "Design spread against the human reference spread")


def steerability(results: Results, model: str) -> Markup | None:
    """Per persona target: Δ target, Δ others and specificity with intervals, against 0."""
    base = ("models", model, "steerability", "targets")
    targets: list[dict[str, Any]] = results.get(*base) or []
    if not targets:
        return None
    left, right, top, row_h, gap = 200, 170, 26, 16, 12
    block = row_h * len(STEER_METRICS) + gap
    height = top + block * len(targets) + 40
    values = [t[m][b] for t in targets for m, _, _ in STEER_METRICS for b in ("lower", "upper")]
    x = Scale(*padded_domain(values, include=[0.0], min_span=DIFFERENCE_SPAN), left, WIDTH - right)
    parts = [x_axis(x, top, top + block * len(targets) - gap, "change in similarity (persona − no persona)")]
    zero = x(0.0)
    parts.append(
        element("line", x1=zero, x2=zero, y1=top, y2=top + block * len(targets) - gap, stroke=MUTED, stroke_width=1.5)
    )
    for t, target in enumerate(targets):
        y0 = top + block * t
        parts.append(
            text(
                left - 10,
                y0 + row_h * 1.5 + 4,
                clipped(f"{target['persona']} → {group_name(results, target['target'])}", LABEL_CHARS),
                text_anchor="end",
                fill=INK,
            )
        )
        parts.append(text(WIDTH - right + 10, y0 + row_h * 1.5 + 4, target["verdict"], fill=INK))
        for m, (metric, label, colour) in enumerate(STEER_METRICS):
            record = target[metric]
            cy = y0 + row_h * m + row_h / 2
            lines = [f"{target['level']} · {label}: {interval_text(record, 4)}", target["method"]]
            body = tooltip(lines) + _interval_mark(
                *_whisker(record, x), cy, cy, x(record["estimate"]), cy, colour
            )
            parts.append(mark(body, results.pointer(*base, t, metric)))
    parts.append(legend([(colour, label) for _, label, colour in STEER_METRICS], left, 14))
    return figure("".join(parts), WIDTH, height, f"Steerability for {model}")


def extrapolation(results: Results, model: str) -> Markup | None:
    """Mean similarity per group on evaluated (x) and held-out (y) items; the diagonal is perfect transfer."""
    base = ("models", model, "extrapolability", "by_group")
    groups: list[dict[str, Any]] = results.get(*base) or []
    if not groups:
        return None
    size, left, top = 380, 70, 10
    lo, hi = padded_domain([g["evaluated"] for g in groups] + [g["heldout"] for g in groups])
    x = Scale(lo, hi, left, left + size)
    y = Scale(lo, hi, top + size, top)
    parts = [
        x_axis(x, top, top + size, "similarity on evaluated items"),
        y_axis(y, left, left + size, "similarity on held-out items"),
    ]
    parts.append(element("line", x1=x(lo), y1=y(lo), x2=x(hi), y2=y(hi), stroke=MUTED, stroke_dasharray="4 4"))
    for index, row in enumerate(groups):
        name = group_name(results, row["group"])
        lines = [name, f"evaluated {row['evaluated']:.3f}", f"held out {row['heldout']:.3f}"]
        body = tooltip(lines) + element("circle", cx=x(row["evaluated"]), cy=y(row["heldout"]), r=5, fill="#0072B2")
        body += text(
            x(row["evaluated"]) + 7, y(row["heldout"]) + 4, clipped(str(row["group"]), 12), fill=INK, font_size=10
        )
        parts.append(mark(body, results.pointer(*base, index)))
    return figure("".join(parts), left + size + 30, top + size + 44, f"Extrapolability scatter for {model}")


def comparison(results: Results, index: int) -> Markup | None:
    """One model pair: paired difference in similarity per group, with intervals, against 0."""
    base = ("comparisons", index)
    pair: dict[str, Any] = results.get(*base) or {}
    rows: list[dict[str, Any]] = pair.get("by_group") or []
    if not pair.get("available") or not rows:
        return None
    left, right, top, band = 200, 30, 10, 20
    height = top + band * len(rows) + 44
    x = Scale(
        *padded_domain([b for r in rows for b in bounds(r)], include=[0.0], min_span=DIFFERENCE_SPAN), left, WIDTH - right
    )
    parts = [
        x_axis(
            x,
            top,
            top + band * len(rows),
            f"similarity({clipped(pair['a'], 30)}) − similarity({clipped(pair['b'], 30)})",
        )
    ]
    zero = x(0.0)
    parts.append(element("line", x1=zero, x2=zero, y1=top, y2=top + band * len(rows), stroke=MUTED, stroke_width=1.5))
    for g, row in enumerate(rows):
        cy = top + band * g + band / 2
        name = group_name(results, row["group"])
        parts.append(text(left - 10, cy + 4, clipped(name, LABEL_CHARS), text_anchor="end", fill=INK))
        colour = "#0072B2" if row["significant"] else "#999999"
        lines = [
            name,
            f"difference {interval_text(row)}",
            f"p = {row['p_value']:.4f}, Holm-adjusted p = {row['p_holm']:.4f}",
        ]
        body = tooltip(lines) + _interval_mark(*_whisker(row, x), cy, cy, x(row["estimate"]), cy, colour)
        parts.append(mark(body, results.pointer(*base, "by_group", g)))
    return figure("".join(parts), WIDTH, height, f"Paired comparison of {pair['a']} and {pair['b']}")
