"""The judge audit's charts, drawn from its analyses in results.json as static inline SVG (the report's svg helpers).

:func:`artifact_forest` draws every artifact comparison's shift in choosing the perturbed
response (pairs) or in score (single responses) with its interval, one row per comparison,
a zero line, and the verdict as the dot's colour. Each mark carries the JSON Pointer of its
record and a tooltip with its numbers (escaped by :mod:`forkingpaths.report.svg`); nothing
is computed here.
"""

from __future__ import annotations

from markupsafe import Markup

from forkingpaths.report import svg
from forkingpaths.report.source import Results
from forkingpaths.report.svg import GRID, INK, Scale, bounds, clipped, element, figure, interval_text, legend, mark, text

WIDTH = 900
LABEL_CHARS = 52
MOVED = "#D55E00"
STILL = "#0072B2"


def _label(row: dict[str, object]) -> str:
    parts = [row.get("model"), row.get("artifact"), row.get("judge_template"), row.get("verdict_format"), row.get("position")]
    return " · ".join(str(p) for p in parts if p)


def artifact_forest(results: Results, title: str) -> Markup | None:
    """Shift per artifact comparison with its interval; orange where the verdict says the artifact moved the judge."""
    rows = [(i, row) for i, row in enumerate(results.get("artifacts", default=[]) or []) if (row.get("shift") or {}).get("estimate") is not None]
    if not rows:
        return None
    left, right, top, band = 380, 30, 24, 18
    bottom = top + band * len(rows)
    x = Scale(*svg.padded_domain([b for _, row in rows for b in bounds(row["shift"])], include=[0.0]), left, WIDTH - right)
    parts = [svg.x_axis(x, top, bottom, title), element("line", x1=x(0.0), x2=x(0.0), y1=top, y2=bottom, stroke=INK, stroke_width=1)]
    for g, (index, row) in enumerate(rows):
        cy = top + band * g + band / 2
        moved = not str(row.get("verdict", "")).startswith("no shift")
        colour = MOVED if moved else STILL
        lo, hi = bounds(row["shift"])
        parts.append(text(left - 10, cy + 4, clipped(_label(row), LABEL_CHARS), text_anchor="end", fill=INK))
        body = svg.tooltip([_label(row), f"shift {interval_text(row['shift'])}", str(row.get("verdict", "")), str(row["shift"].get("method", ""))])
        body += element("line", x1=x(lo), x2=x(hi), y1=cy, y2=cy, stroke=colour, stroke_width=2)
        body += element("circle", cx=x(row["shift"]["estimate"]), cy=cy, r=4.5, fill=colour, stroke="#ffffff", stroke_width=1)
        parts.append(mark(body, results.pointer("artifacts", index, "shift")))
        parts.append(element("line", x1=left, x2=WIDTH - right, y1=cy + band / 2, y2=cy + band / 2, stroke=GRID, stroke_width=0.5))
    parts.append(legend([(MOVED, "moved beyond the margin"), (STILL, "no shift beyond the margin")], left, 12))
    return figure("".join(parts), WIDTH, bottom + 44, "Forest plot of artifact effects")
