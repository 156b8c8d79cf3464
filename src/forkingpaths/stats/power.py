"""Power analysis for paired comparisons of two models on the same items.

Both functions solve one relation (a two-sided z test of the mean item-level difference):

    n · δ² = (z_{1−α/2} + z_{power})² · (ω² + 2σ²/k)

δ: true mean difference between the models; ω²: variance across items of the
item-level difference in expected scores; σ²: within-item (trial-to-trial) variance of
one model's score, assumed equal for both models; k: trials per item per model, so each
item's observed mean difference has variance ω² + 2σ²/k. Source: Miller (2024),
"Adding Error Bars to Evals", arXiv:2411.00640 (power analysis: n = (z_{α/2} + z_β)²
(ω² + σ²_A/K_A + σ²_B/K_B) / δ², here with σ²_A = σ²_B = σ² and K_A = K_B = k).
The normal approximation needs n large enough (a few dozen items) for the CLT to hold.
"""

from __future__ import annotations

import math

from scipy import special

__all__ = ["min_detectable_effect", "required_items"]


def _z_sum(alpha: float, power: float) -> float:
    """z_{1−α/2} + z_{power}, after checking both lie in (0, 1)."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}")
    if not 0.0 < power < 1.0:
        raise ValueError(f"power must lie strictly between 0 and 1, got {power}")
    z = float(special.ndtri(1.0 - alpha / 2.0) + special.ndtri(power))
    if z <= 0:
        raise ValueError(f"power must exceed alpha/2 for the relation to make sense, got power={power}")
    return z


def _item_variance(omega2: float, k: int, sigma2: float) -> float:
    """ω² + 2σ²/k, the variance of one item's observed mean difference."""
    if not (math.isfinite(omega2) and omega2 >= 0):
        raise ValueError(f"omega2 must be a finite variance >= 0, got {omega2}")
    if not (math.isfinite(sigma2) and sigma2 >= 0):
        raise ValueError(f"sigma2 must be a finite variance >= 0, got {sigma2}")
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k}")
    var = omega2 + 2.0 * sigma2 / k
    if var == 0:
        raise ValueError("omega2 + 2*sigma2/k is 0: with no variance any difference is detectable")
    return var


def required_items(
    delta: float,
    omega2: float,
    alpha: float = 0.05,
    power: float = 0.8,
    k: int = 1,
    sigma2: float = 0.0,
) -> int:
    """Items needed to detect a true paired difference δ with the given power.

    n = ⌈ (z_{1−α/2} + z_{power})² · (ω² + 2σ²/k) / δ² ⌉ (at least 1). The ceiling
    ignores a 1e-9 excess so that floating-point noise in an exact integer does not add
    an item. Source: Miller (2024), arXiv:2411.00640 (see module docstring).
    """
    if not math.isfinite(delta) or delta == 0:
        raise ValueError(f"delta must be a finite non-zero difference, got {delta}")
    n = _z_sum(alpha, power) ** 2 * _item_variance(omega2, k, sigma2) / delta**2
    return max(1, math.ceil(n - 1e-9))


def min_detectable_effect(
    n: int,
    omega2: float,
    alpha: float = 0.05,
    power: float = 0.8,
    k: int = 1,
    sigma2: float = 0.0,
) -> float:
    """Smallest true paired difference detectable with n items at the given power.

    δ_min = (z_{1−α/2} + z_{power}) · sqrt( (ω² + 2σ²/k) / n ), the same relation as
    :func:`required_items` solved for δ. Source: Miller (2024), arXiv:2411.00640.
    """
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n}")
    return _z_sum(alpha, power) * math.sqrt(_item_variance(omega2, k, sigma2) / n)
