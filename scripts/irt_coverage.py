"""Coverage of the 2PL's 95% intervals (slope, intercept, difficulty) in seeded simulations.

Reproduces the coverage table of docs/meta.md. Two kinds of truth:

- ``planted``: slopes a ~ U(0.5, 2), difficulties b ~ N(0, 1), abilities θ ~ N(0, 1);
- ``crux``: the 2PL fitted to the bundled CRUXEval-O matrix taken as the truth (a parametric
  bootstrap at the size the product meets: 49 models × the 758 items with varied answers).

For each size, ``--reps`` matrices are simulated and fitted; an item's interval covers when it
holds the true value. Items are correlated within a matrix (shared abilities), so the Monte Carlo
SE printed is the SD of the per-matrix coverage over √reps, not a binomial one.

    PYTHONPATH=src python scripts/irt_coverage.py --reps 100 planted:10x40 planted:200x40 crux:49x758
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import special, stats

from forkingpaths.meta.matrices import example_matrices
from forkingpaths.stats.irt import fit_2pl, item_table


def truth(kind: str, items: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """True (slope, intercept) of every item."""
    if kind == "planted":
        a, b = rng.uniform(0.5, 2.0, items), rng.normal(0.0, 1.0, items)
        return a, -a * b
    if kind == "crux":
        fit = fit_2pl(example_matrices("zeroeval")["crux"].to_numpy(dtype=float))
        return fit.slope[fit.fitted][:items], fit.intercept[fit.fitted][:items]
    raise SystemExit(f"unknown truth {kind!r}: planted or crux")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="+", help="KIND:MODELSxITEMS, e.g. planted:50x40 or crux:49x758")
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    z = float(stats.norm.ppf(0.975))
    print("truth    size      slope  intercept  difficulty  (MC SE)  unbounded-difficulty  seconds")
    for spec in args.sizes:
        kind, _, size = spec.partition(":")
        n, items = (int(v) for v in size.split("x"))
        rng = np.random.default_rng(args.seed)
        fixed = truth(kind, items, rng) if kind == "crux" else None
        cover: dict[str, list[float]] = {"slope": [], "intercept": [], "difficulty": []}
        unbounded = []
        start = time.perf_counter()
        for _ in range(args.reps):
            a, c = fixed if fixed is not None else truth(kind, items, rng)
            theta = rng.normal(0.0, 1.0, n)
            y = (rng.random((n, a.size)) < special.expit(np.outer(theta, a) + c)).astype(float)
            fit = fit_2pl(y)
            table = item_table(fit, y)
            ok = table["fitted"].to_numpy()
            b = -c / a
            cover["slope"].append(float((np.abs(fit.slope - a) <= z * fit.se_slope)[ok].mean()))
            cover["intercept"].append(float((np.abs(fit.intercept - c) <= z * fit.se_intercept)[ok].mean()))
            inside = (table["difficulty_lower"].to_numpy() <= b) & (b <= table["difficulty_upper"].to_numpy())
            cover["difficulty"].append(float(inside[ok].mean()))
            width = table["difficulty_upper"].to_numpy() - table["difficulty_lower"].to_numpy()
            unbounded.append(float(np.mean(~np.isfinite(width[ok]))))
        se = max(np.std(v, ddof=1) for v in cover.values()) / np.sqrt(args.reps)
        print(
            f"{kind:8} {n}x{a.size:<6} {np.mean(cover['slope']):.3f}  {np.mean(cover['intercept']):.3f}      "
            f"{np.mean(cover['difficulty']):.3f}       ({se:.3f})  {np.mean(unbounded):.3f}                 {time.perf_counter() - start:.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
