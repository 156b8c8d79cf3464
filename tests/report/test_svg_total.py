"""Every drawing helper in report/svg.py is total: any float in, finite bounded output, no hang.

Property-style: a seeded generator draws awkward inputs (one-float-wide ranges, NaN,
infinities, reversed ranges, huge and subnormal magnitudes, a single point) and each
helper's invariants are checked on all of them. The timeout turns the old infinite loop
in ``nice_ticks`` into a failure instead of a hang.
"""

from __future__ import annotations

import math
import random
import re

import pytest

from forkingpaths.report.svg import (
    MAX_TICKS,
    Scale,
    clipped,
    nice_ticks,
    padded_domain,
    position,
    sequential_colour,
    tick_label,
    x_axis,
    y_axis,
)

CASES = 3000
SPECIAL = [0.0, -0.0, 1.0, -1.0, math.nan, math.inf, -math.inf, 5e-324, 1e-300, 1e300, 1.7e308, -1.7e308]


def _awkward(rng: random.Random) -> float:
    """A float from one of several families that broke or could break a chart."""
    family = rng.randrange(5)
    if family == 0:
        return rng.choice(SPECIAL)
    if family == 1:
        return rng.uniform(-1, 1) * 10.0 ** rng.randint(-320, 308)
    if family == 2:
        return rng.random()
    if family == 3:
        return float(rng.randint(-1000, 1000))
    return rng.gauss(0.7, 0.2)


def _pairs(seed: int) -> list[tuple[float, float]]:
    """(lo, hi) pairs: independent, equal, one ulp apart and a few ulps apart."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(CASES):
        lo = _awkward(rng)
        shape = rng.randrange(4)
        if shape == 0:
            hi = _awkward(rng)
        elif shape == 1:
            hi = lo
        else:
            hi = lo
            for _ in range(1 if shape == 2 else rng.randint(2, 50)):
                hi = math.nextafter(hi, math.inf)
        pairs.append((lo, hi))
    return pairs


def test_the_reported_one_float_range_gets_one_tick() -> None:
    assert nice_ticks(0.7323172290358674, 0.7323172290358675) == [0.7323172290358674]


@pytest.mark.timeout(30)
def test_nice_ticks_is_total() -> None:
    for lo, hi in _pairs(1):
        for count in (0, 1, 4, 5, 1000):
            ticks = nice_ticks(lo, hi, count)
            assert 1 <= len(ticks) <= MAX_TICKS, (lo, hi, count)
            assert all(math.isfinite(t) for t in ticks), (lo, hi, count, ticks)
            assert ticks == sorted(set(ticks)), (lo, hi, count, ticks)
            if math.isfinite(lo) and math.isfinite(hi) and len(ticks) > 1:
                low, high = min(lo, hi), max(lo, hi)
                step = ticks[1] - ticks[0]
                assert low - step * 1e-6 <= ticks[0] and ticks[-1] <= high + step * 1e-6, (lo, hi, ticks)


@pytest.mark.timeout(30)
def test_scale_position_and_colour_are_always_finite() -> None:
    rng = random.Random(2)
    hex_colour = re.compile(r"#[0-9a-f]{6}")
    for lo, hi in _pairs(2):
        value = _awkward(rng)
        assert math.isfinite(position(value, lo, hi)), (lo, hi, value)
        pixel = Scale(lo, hi, 10.0, 500.0)(value)
        assert math.isfinite(pixel), (lo, hi, value)
        assert hex_colour.fullmatch(sequential_colour(value, lo, hi)), (lo, hi, value)


@pytest.mark.timeout(30)
def test_padded_domain_is_finite_and_increasing() -> None:
    rng = random.Random(3)
    for _ in range(CASES):
        values = [_awkward(rng) for _ in range(rng.randint(0, 4))]
        if rng.random() < 0.2:
            values.append(None)  # type: ignore[arg-type]
        lo, hi = padded_domain(values, include=[_awkward(rng)] if rng.random() < 0.3 else [])
        assert math.isfinite(lo) and math.isfinite(hi) and lo < hi, (values, lo, hi)


@pytest.mark.timeout(60)
def test_axes_draw_finite_coordinates_for_any_domain() -> None:
    number = re.compile(r'(?:x1|x2|y1|y2|x|y)="([^"]*)"')
    for lo, hi in _pairs(4)[:600]:
        for drawn in (x_axis(Scale(lo, hi, 40, 600), 10, 200, "t"), y_axis(Scale(lo, hi, 200, 10), 40, 600, "t")):
            coordinates = number.findall(drawn)
            assert coordinates and all(math.isfinite(float(c)) for c in coordinates), (lo, hi)


def test_tick_label_and_clipped_accept_any_argument() -> None:
    for step in (0.0, -1.0, math.nan, math.inf, 5e-324, 1e300):
        for value in (0.5, math.nan, math.inf, 1e300):
            assert isinstance(tick_label(value, step), str)
    assert clipped("abcdef", 0) == "…" and clipped("abcdef", 3) == "ab…" and clipped("ab", 3) == "ab"


def test_a_tick_that_rounds_to_zero_has_no_sign_and_min_span_widens_float_noise() -> None:
    """Issue 9, item 14: paired-difference axes were labelled ``-0.000000000``."""
    assert tick_label(-1e-12, 1e-9) == "0.000000000"
    assert tick_label(-0.0, 0.1) == "0.0"
    assert tick_label(-0.25, 0.05) == "-0.25"
    lo, hi = padded_domain([-3e-13, 2e-13], include=[0.0], min_span=0.02)
    assert lo < -0.0099 and hi > 0.0099
    assert padded_domain([0.0, 0.5], min_span=0.02) == padded_domain([0.0, 0.5])
    labels = [tick_label(t, 0.005) for t in nice_ticks(lo, hi)]
    assert all(len(label) <= 6 for label in labels) and "-0.000" not in labels
