"""Prediction-powered inference for a mean: many cheap predictions, a few true labels.

Given a predictor's output ``f`` on N unlabelled units and on n labelled units whose true
outcome ``y`` is known, the prediction-powered estimate corrects the mean of the
predictions by the predictor's average error measured on the labelled units. It is
unbiased whatever the predictor's bias, and its interval is narrower than the labelled
units' alone when the predictor is good (Angelopoulos, Bates, Fannjiang, Jordan & Zrnic
2023, "Prediction-powered inference", Science 382(6671); power tuning: Angelopoulos,
Duchi & Zrnic 2023, "PPI++: Efficient prediction-powered inference", arXiv:2311.01453).
The labelled and unlabelled units must be independent samples of the same population.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from forkingpaths.stats.uncertainty import Interval, _as_scores, _check_level

__all__ = ["ppi_mean"]


def ppi_mean(
    y_labelled: ArrayLike,
    f_labelled: ArrayLike,
    f_unlabelled: ArrayLike,
    level: float = 0.95,
    *,
    tuned: bool = False,
) -> Interval:
    """Prediction-powered estimate of E[y] and its normal interval.

    Untuned (Angelopoulos et al. 2023, eq. for the mean, "PPI"):
    ``theta = mean(f_unl) - mean(f_lab - y_lab)``,
    ``SE^2 = var(f_unl)/N + var(f_lab - y_lab)/n`` (sample variances, ddof 1).
    Tuned (PPI++, Angelopoulos, Duchi & Zrnic 2023, Example 6.1):
    ``theta = mean(y_lab) + lam (mean(f_unl) - mean(f_lab))`` with
    ``lam = cov(y_lab, f_lab) / ((1 + n/N) var(f_all))`` (``f_all`` the predictions on every
    unit), clipped to [0, 1] so the estimate moves between the labelled mean (lam 0) and PPI
    (lam 1); ``SE^2 = lam^2 var(f_unl)/N + var(y_lab - lam f_lab)/n``.
    Interval: ``theta ± z_{1-a/2} SE`` (asymptotic; needs n of at least a few tens).
    """
    level = _check_level(level)
    y = _as_scores(y_labelled, "y_labelled", 2)
    f = _as_scores(f_labelled, "f_labelled", 2)
    u = _as_scores(f_unlabelled, "f_unlabelled", 2)
    if y.size != f.size:
        raise ValueError(f"y_labelled and f_labelled must have the same length, got {y.size} and {f.size}")
    n, big_n = y.size, u.size
    lam = 1.0
    if tuned:
        spread = float(np.var(np.concatenate([f, u]), ddof=1))
        lam = 0.0 if spread == 0 else float(np.cov(y, f, ddof=1)[0, 1]) / ((1 + n / big_n) * spread)
        lam = min(1.0, max(0.0, lam))
    estimate = float(y.mean() + lam * (u.mean() - f.mean()))
    se = float(np.sqrt(lam**2 * np.var(u, ddof=1) / big_n + np.var(y - lam * f, ddof=1) / n))
    crit = float(stats.norm.ppf(0.5 + level / 2.0))
    method = f"prediction-powered{'++ (lambda ' + format(lam, '.2f') + ')' if tuned else ''}"
    return Interval(estimate, estimate - crit * se, estimate + crit * se, method, level, se)
