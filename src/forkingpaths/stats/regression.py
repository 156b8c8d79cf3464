"""A logistic-regression slope with a cluster-robust interval.

Used where a binary outcome (a verdict) is explained by a continuous difference (say,
how much longer one response is) while other known causes are held in the model as
covariates. The slope is on the log-odds scale: ``exp(slope)`` is the odds ratio per unit
of ``x``.
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from forkingpaths.stats.uncertainty import Interval, _as_codes, _check_level

__all__ = ["logistic_slope"]

#: A fitted linear predictor beyond this (|eta|) means (quasi-)separation: the MLE does not exist.
_SEPARATION = 15.0


def logistic_slope(
    y: ArrayLike,
    x: ArrayLike,
    covariates: ArrayLike | None = None,
    clusters: ArrayLike | None = None,
    level: float = 0.95,
    *,
    cluster_name: str = "item",
) -> Interval | None:
    """Slope of ``x`` in ``logit P(y = 1) = b0 + b1 x + c' z`` with a Wald interval.

    Fit: maximum likelihood (iteratively reweighted least squares, statsmodels ``Logit``).
    Standard error: the sandwich ``V = (X'WX)^-1 (sum_g s_g s_g') (X'WX)^-1`` with score sums
    ``s_g = sum_{i in g} x_i (y_i - p_i)`` over clusters g and the small-sample factor
    ``G/(G-1) (N-1)/(N-K)`` (CR1; Cameron & Miller 2015, Journal of Human Resources 50(2));
    interval ``b1 ± t_{G-1} SE``. Without clusters, the model-based SE ``(X'WX)^-1`` with a
    normal critical value (McCullagh & Nelder 1989, ch. 4).

    Returns None when the slope is not identified: fewer than ``K + 2`` rows, ``x`` constant,
    ``y`` constant, fewer than two clusters, a singular design, or (quasi-)complete
    separation (a fitted ``|eta|`` above 15, where the MLE does not exist and any Wald
    interval would be meaningless).
    """
    import statsmodels.api as sm

    level = _check_level(level)
    yy = np.asarray(y, dtype=float)
    xx = np.asarray(x, dtype=float)
    z = np.empty((yy.size, 0)) if covariates is None else np.asarray(covariates, dtype=float).reshape(yy.size, -1)
    if xx.size != yy.size:
        raise ValueError(f"y and x must have the same length, got {yy.size} and {xx.size}")
    design = np.column_stack([np.ones(yy.size), xx, z])
    keep = [0, 1] + [2 + j for j in range(z.shape[1]) if np.ptp(z[:, j]) > 0]
    design = design[:, keep]
    if yy.size < design.shape[1] + 2 or np.ptp(xx) == 0 or np.ptp(yy) == 0:
        return None
    if np.linalg.matrix_rank(design) < design.shape[1]:
        return None
    codes = None
    if clusters is not None:
        codes, names = _as_codes(clusters, yy.size, "clusters")
        if len(names) < 2:
            return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = sm.Logit(yy, design).fit(disp=0, maxiter=100, method="newton")
        except (np.linalg.LinAlgError, ValueError):
            return None
    eta = design @ fit.params
    if not np.all(np.isfinite(eta)) or np.max(np.abs(eta)) > _SEPARATION:
        return None
    p = 1.0 / (1.0 + np.exp(-eta))
    bread = np.linalg.inv(design.T @ (design * (p * (1 - p))[:, None]))
    if codes is None:
        cov = bread
        crit = float(stats.norm.ppf(0.5 + level / 2.0))
        method = "logistic-wald(model-based)"
    else:
        scores = design * (yy - p)[:, None]
        sums = np.zeros((int(codes.max()) + 1, design.shape[1]))
        np.add.at(sums, codes, scores)
        g, n, k = sums.shape[0], yy.size, design.shape[1]
        cov = bread @ (sums.T @ sums) @ bread * (g / (g - 1)) * ((n - 1) / (n - k))
        crit = float(stats.t.ppf(0.5 + level / 2.0, g - 1))
        method = f"logistic-wald(clustered-se({cluster_name},CR1))"
    slope = float(fit.params[1])
    se = float(np.sqrt(cov[1, 1]))
    return Interval(slope, slope - crit * se, slope + crit * se, method, level, se)
