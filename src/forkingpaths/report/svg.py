"""Just enough SVG for the report's charts, with every piece of text escaped.

The charts are drawn as static inline SVG by the functions in
:mod:`forkingpaths.report.plots`, not by a plotting library (docs/report.md says
why). This module holds the few primitives they share: element builders that
escape every attribute value and every text node, a linear scale with readable
tick values, axes, and the colour palettes. Text from models or data sets can
only enter a chart through these builders, so it can never become markup.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

#: Okabe & Ito's colour-blind-safe palette, one colour per model.
MODEL_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
GRID = "#e3e6ea"
INK = "#1f2933"
MUTED = "#6b7785"


def model_colour(index: int) -> str:
    return MODEL_COLOURS[index % len(MODEL_COLOURS)]


def _attributes(attrs: dict[str, object]) -> str:
    """``class_="a", stroke_width=2`` → `` class="a" stroke-width="2"`` (values escaped; None dropped)."""
    parts = []
    for key, value in attrs.items():
        if value is None:
            continue
        name = key.rstrip("_").replace("_", "-")
        if isinstance(value, float):
            value = f"{value:.2f}"
        parts.append(f' {name}="{escape(str(value))}"')
    return "".join(parts)


def element(tag: str, content: str = "", **attrs: object) -> str:
    """An SVG element; ``content`` must already be markup built by this module."""
    return f"<{tag}{_attributes(attrs)}>{content}</{tag}>" if content else f"<{tag}{_attributes(attrs)}/>"


def text(x: float, y: float, value: object, **attrs: object) -> str:
    """A text node (escaped)."""
    return element("text", str(escape(str(value))), x=x, y=y, **attrs)


def tooltip(lines: Sequence[str]) -> str:
    """A native hover tooltip (``<title>``) for the enclosing group (escaped)."""
    return f"<title>{escape(chr(10).join(lines))}</title>"


def mark(content: str, path: str, **attrs: object) -> str:
    """A data mark: a group tagged with the JSON Pointer of the record it draws."""
    return element("g", content, class_="mark", data_path=path, **attrs)


def figure(body: str, width: float, height: float, label: str) -> Markup:
    """The outer ``<svg>``: scales with the page width, keeps its aspect ratio."""
    return Markup(
        element(
            "svg",
            body,
            viewBox=f"0 0 {width:.0f} {height:.0f}",
            class_="plot",
            role="img",
            aria_label=label,
            font_family=FONT,
            font_size=12,
        )
    )


def position(value: float, lo: float, hi: float) -> float:
    """Where ``value`` lies between ``lo`` (0) and ``hi`` (1), clamped to [0, 1].

    A NaN value, or a domain that is empty or not finite, gives the middle (0.5); a value
    outside the domain (infinite included) gives the end it is beyond, so a mark never
    leaves its chart. Values are halved before subtracting so that domains near ±1.8e308
    do not overflow.
    """
    half_span = hi / 2 - lo / 2
    if math.isnan(value) or not math.isfinite(half_span) or half_span == 0:
        return 0.5
    return min(max((value / 2 - lo / 2) / half_span, 0.0), 1.0)


@dataclass(frozen=True)
class Scale:
    """Linear map from data values (``lo``..``hi``) to pixels (``start``..``end``).

    Total, because charts are drawn from whatever a run produced: see :func:`position`.
    No pixel coordinate is ever NaN or infinite.
    """

    lo: float
    hi: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        return self.start + position(value, self.lo, self.hi) * (self.end - self.start)

    def ticks(self, count: int = 5) -> list[float]:
        return nice_ticks(self.lo, self.hi, count)


#: A chart never needs more tick marks than this, whatever ``count`` asks for.
MAX_TICKS = 50
#: Relative width below which a domain is one value for drawing purposes (float noise).
_NARROW = 1e-12


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values (steps of 1, 2 or 5 × 10^k) inside [lo, hi].

    Total: for any inputs it returns 1 to :data:`MAX_TICKS` finite, increasing values.
    A domain too narrow to split (one condition gives a span of one float) or not finite
    gets a single tick; the ticks are counted out by index rather than by adding the step
    repeatedly, which at such widths never advanced and looped forever.
    """
    finite = [v for v in (lo, hi) if math.isfinite(v)]
    if len(finite) < 2:
        return [finite[0] if finite else 0.0]
    lo, hi = min(finite), max(finite)
    span = hi - lo
    if not math.isfinite(span):
        return [lo, hi]
    if span <= max(abs(lo), abs(hi)) * _NARROW or span < 1e-300:
        return [lo]
    raw = span / min(max(count, 1), MAX_TICKS)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if not math.isfinite(step):  # a span near the largest float: its ends are the ticks
        return [lo, hi]
    digits = -math.floor(math.log10(step))  # decimals that represent a multiple of step exactly
    first = math.ceil(lo / step - 1e-9)
    last = math.floor(hi / step + 1e-9)
    ticks = sorted({round(k * step, digits) for k in range(first, min(last, first + MAX_TICKS - 1) + 1)})
    return [t for t in ticks if lo - 1e-9 * step <= t <= hi + 1e-9 * step] or [lo]


def padded_domain(
    values: Sequence[float | None], include: Sequence[float] = (), pad: float = 0.05, min_span: float = 0.0
) -> tuple[float, float]:
    """A domain covering the finite ``values`` and ``include``, widened by ``pad`` of its span on each side.

    Always finite with ``lo < hi``: no finite value gives (0, 1), one value (or a span
    lost in float noise) gets a width of a tenth of its magnitude. ``min_span`` is the
    narrowest domain worth drawing for quantities of known resolution: a narrower one is
    widened about its centre, so float noise around a value is not drawn as a scale.
    """
    finite = [v for v in [*values, *include] if v is not None and math.isfinite(v)]
    if not finite:
        return 0.0, 1.0
    lo, hi = min(finite), max(finite)
    span = hi - lo
    if not math.isfinite(span):
        return lo, hi
    if span < min_span:
        centre = (lo + hi) / 2
        lo, hi = centre - min_span / 2, centre + min_span / 2
        span = min_span
    elif span <= max(abs(lo), abs(hi)) * _NARROW:
        span = max(abs(hi), 1.0) * 0.1
    widened = lo - pad * span, hi + pad * span
    return widened if all(math.isfinite(v) for v in widened) else (lo, hi)


def tick_label(value: float, step: float) -> str:
    """Tick text with as many decimals as the tick step needs; a value that rounds to zero
    is written without a sign (never ``-0.000``)."""
    decimals = min(max(0, -math.floor(math.log10(step))), 20) if 0 < step < math.inf else 2
    label = f"{value:.{decimals}f}"
    return label[1:] if label.startswith("-") and not label.strip("-0.") else label


def x_axis(scale: Scale, top: float, bottom: float, title: str = "") -> str:
    """Vertical grid lines with tick labels under ``bottom`` and an axis title."""
    ticks = scale.ticks()
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 0.1
    parts = []
    for tick in ticks:
        x = scale(tick)
        parts.append(element("line", x1=x, x2=x, y1=top, y2=bottom, stroke=GRID))
        parts.append(text(x, bottom + 14, tick_label(tick, step), text_anchor="middle", fill=MUTED))
    if title:
        parts.append(text((scale.start + scale.end) / 2, bottom + 30, title, text_anchor="middle", fill=INK))
    return "".join(parts)


def y_axis(scale: Scale, left: float, right: float, title: str = "") -> str:
    """Horizontal grid lines with tick labels left of ``left`` and a rotated axis title."""
    ticks = scale.ticks()
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 0.1
    parts = []
    for tick in ticks:
        y = scale(tick)
        parts.append(element("line", x1=left, x2=right, y1=y, y2=y, stroke=GRID))
        parts.append(text(left - 6, y + 4, tick_label(tick, step), text_anchor="end", fill=MUTED))
    if title:
        middle, x = (scale.start + scale.end) / 2, max(left - 48, 14)
        parts.append(
            text(x, middle, title, text_anchor="middle", fill=INK, transform=f"rotate(-90 {x:.1f} {middle:.1f})")
        )
    return "".join(parts)


def sequential_colour(value: float, lo: float, hi: float) -> str:
    """A light-to-dark blue ramp (perceptually ordered) for heatmap cells.

    Total: a NaN value or domain gives the middle colour (see :func:`position`).
    """
    light, dark = (247, 251, 255), (8, 48, 107)
    t = position(value, lo, hi) if hi > lo else 0.5
    r, g, b = (round(a + (c - a) * t) for a, c in zip(light, dark))
    return f"#{r:02x}{g:02x}{b:02x}"


def clipped(label: str, limit: int) -> str:
    """A label shortened to ``limit`` characters, at least one (the full text goes in the tooltip)."""
    limit = max(limit, 1)
    return label if len(label) <= limit else label[: limit - 1] + "…"


def interval_text(record: dict[str, object], digits: int = 3) -> str:
    """``0.612 [0.540, 0.680]`` for a record with estimate, lower, upper; missing bounds say so."""
    estimate, lower, upper = record["estimate"], record.get("lower"), record.get("upper")
    if lower is None or upper is None:
        return f"{estimate:.{digits}f} (no interval: too few items)"
    return f"{estimate:.{digits}f} [{lower:.{digits}f}, {upper:.{digits}f}]"


def bounds(record: dict[str, object]) -> tuple[float, float]:
    """An interval's bounds for drawing; a bound that could not be computed collapses onto the estimate
    (the tooltip says "no interval"), so no whisker is drawn where there is none."""
    estimate = float(record["estimate"])  # type: ignore[arg-type]
    lower, upper = record.get("lower"), record.get("upper")
    return (estimate if lower is None else float(lower)), (estimate if upper is None else float(upper))  # type: ignore[arg-type]


def legend(entries: list[tuple[str, str]], x: float, y: float) -> str:
    """A one-row legend of coloured dots and labels (escaped)."""
    parts, cursor = [], x
    for colour, label in entries:
        parts.append(element("circle", cx=cursor + 5, cy=y - 4, r=5, fill=colour))
        parts.append(text(cursor + 14, y, label, fill=INK))
        cursor += 26 + 6.6 * len(label)
    return "".join(parts)
