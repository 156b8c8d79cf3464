"""Consistency of correctness across prompt variants, and multi-prompt summaries.

``cat_metrics`` implements the CAT framework's curve metrics (Cavalin et al. 2025, "CAT: A
Metric-Driven Framework for Analyzing the Consistency-Accuracy Relation of LLMs under
Controlled Input Variations"; reference code: github.com/IBM/cat, ``src/ourlib.py`` and
``src/output_analysis/compute_CORE.py``). ``multi_prompt`` implements the summaries of
Mizrahi et al. 2024, "State of What Art? A Call for Multi-Prompt LLM Evaluation" (TACL).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["CAR_GRID", "cat_metrics", "multi_prompt"]

#: The consistency thresholds c = 0.0, 0.1, ..., 1.0 on which the CAR curve is evaluated.
CAR_GRID: tuple[float, ...] = tuple(round(k / 10, 1) for k in range(11))
_GRID_STEP = 0.1
_FLOAT_SLACK = 1e-9


def _as_correctness(correct: ArrayLike) -> NDArray[np.bool_]:
    """Validate an items x variants array of booleans (or 0/1) and return it as bool."""
    arr = np.asarray(correct)
    if arr.ndim != 2:
        raise ValueError(
            f"correct must be a 2-D items x variants array, got {arr.ndim} dimension(s)"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"correct needs at least one item and one variant, got shape {arr.shape}")
    if arr.dtype != bool:
        if arr.dtype.kind not in "iuf" or not np.all((arr == 0) | (arr == 1)):
            raise ValueError("correct must contain only booleans or 0/1 values")
        arr = arr.astype(bool)
    return arr


def _dtw_l1(x: NDArray[np.float64], y: NDArray[np.float64]) -> float:
    """Dynamic time warping distance with local cost |x_i - y_j|.

    Recursion (Sakoe & Chiba 1978, symmetric steps without slope weights):
    ``D[i, j] = |x_i - y_j| + min(D[i-1, j], D[i, j-1], D[i-1, j-1])``, ``D[-1, -1] = 0`` and
    ``D[i, -1] = D[-1, j] = inf`` otherwise; the distance is ``D[n-1, m-1]``. This is what the
    ``dtw`` package used by the CAT reference code computes.
    """
    cost = np.abs(x[:, None] - y[None, :])
    acc = np.full((len(x) + 1, len(y) + 1), np.inf)
    acc[0, 0] = 0.0
    for i in range(1, len(x) + 1):
        for j in range(1, len(y) + 1):
            acc[i, j] = cost[i - 1, j - 1] + min(acc[i - 1, j], acc[i, j - 1], acc[i - 1, j - 1])
    return float(acc[-1, -1])


def cat_metrics(correct: ArrayLike) -> dict[str, Any]:
    """CAT consistency-accuracy metrics of an items x variants correctness matrix.

    Definitions (Cavalin et al. 2025; IBM/cat reference code), with V variants per item:

    - per-item consistency ``RC_i = (number of variants of item i answered correctly) / V``;
    - minimum-consistency accuracy ``MCA(c) = share of items with RC_i >= c``, computed on
      counts as ``n_correct_i >= c * V - 1e-9`` so that float rounding of ``c`` never drops an
      item that sits exactly on a threshold;
    - the consistency-accuracy relation curve ``CAR = [MCA(c) for c in 0.0, 0.1, ..., 1.0]``;
      ``MCA(0) = 1`` always and ``MCA(1)`` is the share of items answered correctly in every
      variant;
    - ``AUCAR = trapezoid(CAR, grid)``, the area under the curve, in [0, 1];
    - ``normDTW = 1 - DTW(CAR, ones) / DTW(ones, worst)`` with ``worst = [1, 0, ..., 0]`` and
      DTW with L1 local cost (``DTW(ones, worst) = 10`` on this grid);
    - ``CORE = AUCAR * normDTW``.

    Returns ``{"mca": {c: MCA(c)}, "car": [...], "aucar": float, "normdtw": float,
    "core": float}`` with the grid values ``0.0, 0.1, ..., 1.0`` as the ``mca`` keys.
    """
    arr = _as_correctness(correct)
    n_variants = arr.shape[1]
    n_correct = arr.sum(axis=1)
    grid = np.asarray(CAR_GRID)
    reached = n_correct[None, :] >= grid[:, None] * n_variants - _FLOAT_SLACK
    car = reached.mean(axis=1)
    aucar = float(np.sum((car[1:] + car[:-1]) / 2.0) * _GRID_STEP)
    ones = np.ones_like(grid)
    worst = np.zeros_like(grid)
    worst[0] = 1.0
    normdtw = 1.0 - _dtw_l1(car, ones) / _dtw_l1(ones, worst)
    return {
        "mca": dict(zip(CAR_GRID, car.tolist(), strict=True)),
        "car": car.tolist(),
        "aucar": aucar,
        "normdtw": normdtw,
        "core": aucar * normdtw,
    }


def multi_prompt(accuracies: ArrayLike) -> dict[str, NDArray[np.float64] | float]:
    """Multi-prompt summaries of per-prompt accuracies (last axis = prompts).

    Mizrahi et al. 2024 ("State of What Art? A Call for Multi-Prompt LLM Evaluation", TACL),
    with ``a_1..a_P`` the accuracies of one model under P prompt paraphrases:

    - ``MaxP = max_p a_p`` (best-case performance);
    - ``AvgP = mean_p a_p`` (expected performance over prompts);
    - ``CPS = MaxP * (1 - (MaxP - AvgP))``, the combined performance score, where
      ``MaxP - AvgP`` is the saturation gap;
    - ``spread = max_p a_p - min_p a_p`` (not from the paper; the range across prompts).

    Leading axes broadcast (e.g. models x prompts gives one value per model); 1-D input gives
    floats. Accuracies must lie in [0, 1].
    """
    acc = np.asarray(accuracies, dtype=float)
    if acc.ndim == 0 or acc.shape[-1] == 0:
        raise ValueError("accuracies needs at least one prompt on its last axis")
    if not np.all(np.isfinite(acc)) or np.any((acc < 0) | (acc > 1)):
        raise ValueError("accuracies must be finite values in [0, 1]")
    maxp = acc.max(axis=-1)
    avgp = acc.mean(axis=-1)
    values = {
        "maxp": maxp,
        "avgp": avgp,
        "cps": maxp * (1.0 - (maxp - avgp)),
        "spread": maxp - acc.min(axis=-1),
    }
    return {k: (float(v) if v.ndim == 0 else v) for k, v in values.items()}
