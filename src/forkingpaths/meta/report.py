"""report.html for a meta-evaluation: the report's page assets and helpers, meta's own sections.

Charts are static SVG built with :mod:`forkingpaths.report.svg` (every text escaped); the page
is rendered by the report's Jinja environment (autoescaping, numbers printed with their JSON
Pointer into results.json), under the same Content-Security-Policy as a run's report.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from forkingpaths import __version__
from forkingpaths.meta.analysis import methods_of
from forkingpaths.report import svg
from forkingpaths.report.html import embed_json, environment, page_assets
from forkingpaths.report.source import Results

__all__ = ["render_meta_report"]

WIDTH, HEIGHT = 640.0, 300.0
LEFT, RIGHT, TOP, BOTTOM = 60.0, 150.0, 16.0, 44.0
#: Difficulties are drawn within this range (items beyond it sit on the edge).
DIFFICULTY_RANGE = (-6.0, 6.0)


def item_map(entry: dict[str, Any], pointer: str, label: str) -> Markup:
    """Difficulty × discrimination of every fitted item; flagged items in orange."""
    items = entry.get("items", [])
    x = svg.Scale(*DIFFICULTY_RANGE, LEFT, WIDTH - RIGHT)
    y = svg.Scale(*svg.padded_domain([i["slope"] for i in items], include=(0.0,)), HEIGHT - BOTTOM, TOP)
    parts = [svg.x_axis(x, TOP, HEIGHT - BOTTOM, "difficulty b (ability where P = 1/2)"), svg.y_axis(y, LEFT, WIDTH - RIGHT, "discrimination a")]
    parts.append(svg.element("line", x1=LEFT, x2=WIDTH - RIGHT, y1=y(entry["threshold"]), y2=y(entry["threshold"]), stroke=svg.MUTED, stroke_dasharray="4 3"))
    for index, item in enumerate(items):
        low = item["slope"] is not None and item["slope"] < entry["threshold"]
        dot = svg.element("circle", cx=x(item["difficulty"] if item["difficulty"] is not None else 0.0), cy=y(item["slope"]), r=2.5,
                          fill=svg.MODEL_COLOURS[1] if low else svg.MODEL_COLOURS[0], fill_opacity=0.6)
        tip = svg.tooltip([str(item["item_id"]), f"a = {item['slope']:.2f}", f"b = {item['difficulty']:.2f}" if item["difficulty"] is not None else "b = n/a"])
        parts.append(svg.mark(dot + tip, f"{pointer}/items/{index}"))
    parts.append(svg.text(WIDTH - RIGHT + 8, y(entry["threshold"]) + 4, f"a = {entry['threshold']}", fill=svg.MUTED))
    return svg.figure("".join(parts), WIDTH, HEIGHT, label)


def subset_chart(rows: list[dict[str, Any]], pointer: str, metric: str, title: str, label: str) -> Markup:
    """One line per selection/estimator: ``metric`` against the subset size k."""
    ks = sorted({r["k"] for r in rows})
    x = svg.Scale(min(ks), max(ks), LEFT, WIDTH - RIGHT)
    y = svg.Scale(*svg.padded_domain([r[metric] for r in rows], include=(0.0,) if metric == "mean_abs_error" else ()), HEIGHT - BOTTOM, TOP)
    parts = [svg.x_axis(x, TOP, HEIGHT - BOTTOM, "items in the subset (k)"), svg.y_axis(y, LEFT, WIDTH - RIGHT, title)]
    for index, method in enumerate(methods_of(rows)):
        colour = svg.model_colour(index)
        points = [(i, r) for i, r in enumerate(rows) if f"{r['selection']}/{r['estimator']}" == method]
        path = " ".join(f"{x(r['k']):.1f},{y(r[metric]):.1f}" for _, r in points)
        parts.append(svg.element("polyline", points=path, fill="none", stroke=colour, stroke_width=2))
        for i, r in points:
            dot = svg.element("circle", cx=x(r["k"]), cy=y(r[metric]), r=3, fill=colour)
            parts.append(svg.mark(dot + svg.tooltip([method, f"k = {r['k']}", f"{title} = {r[metric]:.3f}"]), f"{pointer}/{i}/{metric}"))
        parts.append(svg.text(WIDTH - RIGHT + 8, TOP + 14 + 16 * index, method, fill=colour))
    return svg.figure("".join(parts), WIDTH, HEIGHT, label)


def agreement_matrix(pairs: list[dict[str, Any]], names: list[str], pointer: str) -> Markup:
    """Kendall τ of every pair of benchmarks as a heatmap (diagonal 1)."""
    cell, left, top = 90.0, 110.0, 24.0
    size = left + cell * len(names) + 10
    lookup = {}
    for index, pair in enumerate(pairs):
        lookup[(pair["a"], pair["b"])] = lookup[(pair["b"], pair["a"])] = (pair["kendall"]["estimate"], f"{pointer}/{index}/kendall/estimate")
    parts = []
    for col, name in enumerate(names):
        parts.append(svg.text(left + cell * (col + 0.5), top - 8, svg.clipped(name, 12), text_anchor="middle", fill=svg.INK))
    for row, a in enumerate(names):
        parts.append(svg.text(left - 8, top + cell * (row + 0.5) + 4, svg.clipped(a, 14), text_anchor="end", fill=svg.INK))
        for col, b in enumerate(names):
            value, path = (1.0, "") if a == b else lookup[(a, b)]
            shown = "n/a" if value is None else f"{value:.2f}"
            fill = svg.sequential_colour(value if value is not None else 0.0, -1.0, 1.0)
            box = svg.element("rect", x=left + cell * col, y=top + cell * row, width=cell - 2, height=cell - 2, fill=fill)
            ink = "#ffffff" if value is not None and value > 0.4 else svg.INK
            box += svg.text(left + cell * (col + 0.5), top + cell * (row + 0.5) + 4, shown, text_anchor="middle", fill=ink)
            parts.append(svg.mark(box + svg.tooltip([f"{a} vs {b}", f"Kendall τ = {shown}"]), path) if path else box)
    return svg.figure("".join(parts), size, top + cell * len(names) + 10, "Kendall tau between benchmarks")


def render_meta_report(results: dict[str, Any], title: str) -> str:
    """The page's HTML for a meta-evaluation's results.json document."""
    doc = Results(results)
    charts = {}
    for name, entry in results["analyses"]["benchmarks"].items():
        base = doc.pointer("analyses", "benchmarks", name)
        chart: dict[str, Markup] = {}
        if "irt" in entry:
            chart["map"] = item_map(entry["irt"], f"{base}/irt", f"item map of {name}")
        if entry.get("subsets"):
            rows = entry["subsets"]
            chart["error"] = subset_chart(rows, f"{base}/subsets", "mean_abs_error", "mean absolute error", f"subset error of {name}")
            chart["rank"] = subset_chart(rows, f"{base}/subsets", "kendall", "Kendall τ with full ranking", f"subset rank agreement of {name}")
        charts[name] = chart
    agreement = results["analyses"].get("agreement")
    matrix = None
    if agreement and agreement["pairs"]:
        names = list(results["analyses"]["benchmarks"])
        matrix = agreement_matrix(agreement["pairs"], names, doc.pointer("analyses", "agreement", "pairs"))
    style, script, csp = page_assets()
    template = environment("forkingpaths.meta").get_template("meta.html.j2")
    return template.render(
        r=doc, title=title, charts=charts, matrix=matrix, version=__version__, style=style, script=script, csp=csp,
        results_json=embed_json(results),
    )
