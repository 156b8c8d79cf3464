"""``forkingpaths meta``'s agreement bootstrap, measured side by side on the bundled ZeroEval matrices.

One scipy call per replicate (the previous implementation) against all replicates at once
(``stats.benchmark._statistics``); the bounds agree to rounding (printed).

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=src python benchmarks/meta_speed.py
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from forkingpaths.meta.matrices import example_matrices
from forkingpaths.stats.benchmark import _statistic, rank_agreement
from forkingpaths.stats.uncertainty import percentile_bounds


def loop_interval(x: np.ndarray, y: np.ndarray, kind: str, n_resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """The previous implementation: one draw and one scipy call per replicate."""
    generator = np.random.default_rng(seed)
    replicates = []
    for _ in range(n_resamples):
        draw = generator.integers(0, x.size, x.size)
        if np.ptp(x[draw]) > 0 and np.ptp(y[draw]) > 0:
            replicates.append(_statistic(x[draw], y[draw], kind))
    lower, upper = percentile_bounds(np.asarray(replicates), 0.95)
    return float(lower), float(upper)


def main() -> None:
    matrices = example_matrices("zeroeval")
    scores = pd.DataFrame({name: m.mean(axis=1) for name, m in matrices.items()}).dropna()
    x, y = scores["gsm"].to_numpy(), scores["crux"].to_numpy()
    for kind in ("kendall", "pearson"):
        start = time.perf_counter()
        slow = loop_interval(x, y, kind)
        t_loop = time.perf_counter() - start
        start = time.perf_counter()
        fast = rank_agreement(x, y, kind, rng=0)
        t_vec = time.perf_counter() - start
        diff = max(abs(slow[0] - fast.lower), abs(slow[1] - fast.upper))
        print(f"agreement {kind}: loop {t_loop:.2f} s, vectorised {t_vec:.3f} s, ratio {t_loop / t_vec:.0f}x, max |bound difference| {diff:.1e}")


if __name__ == "__main__":
    main()
