"""Tests of forkingpaths.stats.power: closed forms, round trips and a seeded simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from forkingpaths.stats.power import min_detectable_effect, required_items


def test_required_items_closed_form() -> None:
    # (1.959964 + 0.841621)² · 0.1 / 0.05² = 313.96 → 314 items
    assert required_items(0.05, 0.1) == 314
    z = norm.ppf(0.995) + norm.ppf(0.9)
    n = z**2 * (0.04 + 2 * 0.25 / 5) / 0.03**2
    assert required_items(-0.03, 0.04, alpha=0.01, power=0.9, k=5, sigma2=0.25) == math.ceil(n)


def test_required_items_does_not_round_floating_noise_up() -> None:
    # omega2 chosen so the exact answer is 314 items; the float lands just above 314.
    z = norm.ppf(0.975) + norm.ppf(0.8)
    omega2 = 314 * 0.03**2 / z**2
    assert z**2 * omega2 / 0.03**2 > 314  # precondition: a naive ceil would give 315
    assert required_items(0.03, omega2) == 314


def test_min_detectable_effect_closed_form_and_round_trip() -> None:
    z = norm.ppf(0.975) + norm.ppf(0.8)
    assert min_detectable_effect(400, 0.09, k=2, sigma2=0.2) == pytest.approx(
        z * math.sqrt((0.09 + 0.2) / 400)
    )
    for delta in (0.01, 0.037, 0.2):
        n = required_items(delta, 0.12, k=3, sigma2=0.1)
        assert min_detectable_effect(n, 0.12, k=3, sigma2=0.1) <= delta
        if n > 1:
            assert min_detectable_effect(n - 1, 0.12, k=3, sigma2=0.1) > delta


def test_more_trials_per_item_need_fewer_items() -> None:
    assert required_items(0.05, 0.05, k=10, sigma2=0.2) < required_items(0.05, 0.05, k=1, sigma2=0.2)
    # k → ∞ leaves only the between-item variance
    assert required_items(0.05, 0.05, k=10**9, sigma2=0.2) == required_items(0.05, 0.05)


def test_simulated_power_at_required_items_is_near_target() -> None:
    delta, omega2, sigma2, k = 0.1, 0.5, 0.4, 3
    n = required_items(delta, omega2, k=k, sigma2=sigma2)
    rng = np.random.default_rng(20241101)
    experiments = 4000
    item_diff = rng.normal(delta, math.sqrt(omega2), size=(experiments, n))
    noise_a = rng.normal(0, math.sqrt(sigma2), size=(experiments, n, k)).mean(axis=2)
    noise_b = rng.normal(0, math.sqrt(sigma2), size=(experiments, n, k)).mean(axis=2)
    d = item_diff + noise_a - noise_b
    z = d.mean(axis=1) / (d.std(axis=1, ddof=1) / math.sqrt(n))
    power = np.mean(np.abs(z) > norm.ppf(0.975))
    assert power == pytest.approx(0.8, abs=0.03)  # MC SD ≈ 0.0063


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: required_items(0, 0.1), "delta"),
        (lambda: required_items(float("nan"), 0.1), "delta"),
        (lambda: required_items(0.1, -0.1), "omega2"),
        (lambda: required_items(0.1, 0.1, sigma2=-1), "sigma2"),
        (lambda: required_items(0.1, 0.1, k=0), "k must"),
        (lambda: required_items(0.1, 0.0), "no variance"),
        (lambda: required_items(0.1, 0.1, alpha=1.0), "alpha"),
        (lambda: required_items(0.1, 0.1, power=0), "power"),
        (lambda: required_items(0.1, 0.1, alpha=0.5, power=0.1), "exceed alpha/2"),
        (lambda: min_detectable_effect(0, 0.1), "n must"),
    ],
)
def test_bad_input_raises_value_error(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
