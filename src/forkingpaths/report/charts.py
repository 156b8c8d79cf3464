"""Charts that several instruments draw from records of the same shape.

An instrument's own charts live in its ``plots`` module; a chart moves here once two
instruments would otherwise draw it twice. Like every chart, these place numbers the
analyses computed (nothing is derived here), mark each record with its JSON Pointer, and
send all text through :mod:`forkingpaths.report.svg`, which escapes it.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from forkingpaths.report.source import Results
from forkingpaths.report.svg import INK, Scale, clipped, element, figure, mark, text, tooltip, x_axis

WIDTH = 900
HIGHLIGHT = "#009E73"
BAR = "#0072B2"


def variance_shares(results: Results, where: tuple[Any, ...], title: str, highlight: str | None = None) -> Markup | None:
    """Share of variance per component as bars with their intervals, from a list of variance-component records.

    A record has ``component``, ``share``, ``lower``/``upper`` (or None), ``method`` and,
    optionally, ``variance`` and ``truncated`` (a negative ANOVA estimate set to 0); both
    go in the tooltip. ``highlight`` names the component drawn in another colour (the one
    the reader should compare the others with, e.g. a human reference). ``None``
    when there are no components.
    """
    components: list[dict[str, Any]] = results.get(*where) or []
    if not components:
        return None
    left, right, top, band = 200, 150, 10, 24
    height = top + band * len(components) + 44
    x = Scale(0.0, 1.0, left, WIDTH - right)
    parts = [x_axis(x, top, top + band * len(components), "share of variance")]
    for index, comp in enumerate(components):
        y_mid = top + band * index + band / 2
        share = comp.get("share") or 0.0
        lower, upper = comp.get("lower"), comp.get("upper")
        has_interval = lower is not None and upper is not None
        parts.append(text(left - 10, y_mid + 4, clipped(str(comp["component"]), 26), text_anchor="end", fill=INK))
        lines = [f"{comp['component']}: share {share:.3f}" + (f" [{lower:.3f}, {upper:.3f}]" if has_interval else "")]
        if comp.get("variance") is not None:
            lines.append(f"variance {comp['variance']:.4g}")
        lines.append(str(comp.get("method", "")) + ("; estimate truncated at 0" if comp.get("truncated") else ""))
        colour = HIGHLIGHT if highlight is not None and comp["component"] == highlight else BAR
        body = tooltip(lines) + element("rect", x=left, y=y_mid - 7, width=max(x(share) - left, 0.5), height=14, fill=colour, opacity=0.85)
        if lower is not None and upper is not None:
            body += element("line", x1=x(lower), x2=x(upper), y1=y_mid, y2=y_mid, stroke=INK, stroke_width=1.5)
        shown = f"{share:.0%}" + (f" [{lower:.0%}, {upper:.0%}]" if has_interval else "")
        body += text(WIDTH - right + 8, y_mid + 4, shown, fill=INK)
        parts.append(mark(body, results.pointer(*where, index)))
    return figure("".join(parts), WIDTH, height, title)
