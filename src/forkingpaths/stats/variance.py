"""How much of a score's variance each design factor explains.

Model: a crossed random main-effects model
``y_r = mu + sum_f a_f[level_f(r)] + e_r`` with independent ``a_f[l] ~ (0, s2_f)`` for every
factor f (item, template, option order, model, ...) and ``e_r ~ (0, s2_e)``. Two-way
interactions named in ``interactions`` (e.g. item x option order) enter as further random
factors whose levels are the observed cells of the pair; interaction variance that is not
named ends up in the residual.

Estimator: Henderson's Method I, the ANOVA-type method of moments for random models, which is
unbiased for balanced and unbalanced designs alike (Henderson 1953, "Estimation of variance and
covariance components", Biometrics 9(2); Searle, Casella & McCulloch 1992, "Variance
Components", Wiley, section 5.2). On balanced data it reproduces the classical
expected-mean-squares (ANOVA) estimates. It needs only level counts and sums, so it handles
hundreds of thousands of rows and hundreds of bootstrap replicates in seconds, where iterative
REML on crossed factors (statsmodels MixedLM with one group and ``vc_formula``) is slow and
often fails to converge.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["variance_components"]

_RESIDUAL = "residual"
_MAX_DENSE_CELLS = 1 << 22
_DENSE_PER_ROW = 4
_MAX_CONDITION = 1e10


def _quadratic_forms(
    y: NDArray[np.float64], codes: list[NDArray[np.intp]], sizes: list[int]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Method I equations ``A @ [s2_1..s2_F, s2_e] = b`` from level counts and sums.

    With ``n_l`` rows and sum ``Y_l`` at level l of factor f, ``T_f = sum_l Y_l^2 / n_l``,
    ``T_mu = (sum y)^2 / N`` and ``T_0 = sum y^2``. Under the model,
    ``E[T_f] = N mu^2 + sum_g k_fg s2_g + L_f s2_e`` with ``k_fg = sum_{l,m} n_lm^2 / n_l``
    (``n_lm`` = rows at level l of f and level m of g; ``k_ff = N``),
    ``E[T_mu] = N mu^2 + sum_g (sum_m n_m^2 / N) s2_g + s2_e`` and
    ``E[T_0] = N mu^2 + N sum_g s2_g + N s2_e``. Row f of the system is ``T_f - T_mu``; the
    last row is ``T_0 - T_mu``; ``L_f`` counts the levels present.
    """
    n_rows = len(y)
    n_factors = len(codes)
    t_mu = y.sum() ** 2 / n_rows
    counts = [np.bincount(c, minlength=s).astype(float) for c, s in zip(codes, sizes, strict=True)]
    k_mu = np.array([np.sum(n**2) / n_rows for n in counts])
    k = np.diag(np.full(n_factors, float(n_rows)))
    a = np.zeros((n_factors + 1, n_factors + 1))
    b = np.zeros(n_factors + 1)
    for f, (c, n) in enumerate(zip(codes, counts, strict=True)):
        present = n > 0
        sums = np.bincount(c, weights=y, minlength=sizes[f])
        b[f] = np.sum(sums[present] ** 2 / n[present]) - t_mu
        a[f, n_factors] = present.sum() - 1.0
        for g in range(f + 1, n_factors):
            cell_f, cell_g, cell_n = _cell_counts(c, codes[g], sizes[g])
            squared = cell_n**2
            k[f, g] = np.sum(squared / n[cell_f])
            k[g, f] = np.sum(squared / counts[g][cell_g])
    a[:n_factors, :n_factors] = k - k_mu[None, :]
    a[n_factors, :n_factors] = n_rows - k_mu
    a[n_factors, n_factors] = n_rows - 1.0
    b[n_factors] = y @ y - t_mu
    return a, b


def _cell_counts(
    first: NDArray[np.intp], second: NDArray[np.intp], second_size: int
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]:
    """Non-empty cells of the two-way table of two code arrays: (row code, column code, count)."""
    key = first.astype(np.int64) * second_size + second
    # A dense count costs the size of the whole table, a sort costs the rows: counting is
    # faster only while the table is not much larger than the data (same cells, same order).
    if (int(first.max()) + 1) * second_size <= min(_MAX_DENSE_CELLS, _DENSE_PER_ROW * len(key)):
        dense = np.bincount(key)
        cells = np.flatnonzero(dense)
        cell_n = dense[cells].astype(float)
    else:
        cells, cell_n_int = np.unique(key, return_counts=True)
        cell_n = cell_n_int.astype(float)
    return cells // second_size, cells % second_size, cell_n


def _method_one(
    y: NDArray[np.float64], codes: list[NDArray[np.intp]], sizes: list[int]
) -> NDArray[np.float64]:
    """Untruncated Method I estimates ``[s2_1, ..., s2_F, s2_e]``; ValueError if unidentified."""
    a, b = _quadratic_forms(y, codes, sizes)
    column_norms = np.linalg.norm(a, axis=0)
    if np.any(column_norms == 0) or np.linalg.cond(a / column_norms) > _MAX_CONDITION:
        raise ValueError(
            "the variance components are not identified (a factor has one level in the data "
            "or two factors are confounded)"
        )
    return np.asarray(np.linalg.solve(a, b), dtype=np.float64)


def _shares(variances: NDArray[np.float64]) -> NDArray[np.float64]:
    """Shares of the total after truncating negative estimates at zero (last axis)."""
    clipped = np.clip(variances, 0.0, None)
    total = clipped.sum(axis=-1, keepdims=True)
    return np.divide(clipped, total, out=np.full_like(clipped, np.nan), where=total > 0)


def _validate(
    df: pd.DataFrame,
    score: str,
    factors: list[str],
    clusters: list[str],
    n_resamples: int,
    level: float,
) -> None:
    """Raise ValueError with a one-line message for any unusable input."""
    if not factors:
        raise ValueError("factors must name at least one column")
    if len(set(factors)) != len(factors):
        raise ValueError("factors must not repeat a column")
    if not clusters or len(set(clusters)) != len(clusters):
        raise ValueError("cluster must name one column or a list of distinct columns")
    if _RESIDUAL in factors:
        raise ValueError(f"a factor may not be called {_RESIDUAL!r}")
    if score in factors:
        raise ValueError(f"score column {score!r} cannot also be a factor")
    for column in [score, *factors, *clusters]:
        if column not in df.columns:
            raise ValueError(f"column {column!r} is missing from the data")
    if not pd.api.types.is_numeric_dtype(df[score]):
        raise ValueError(f"score column {score!r} must be numeric")
    if not np.all(np.isfinite(df[score].to_numpy(dtype=float))):
        raise ValueError(f"score column {score!r} has missing or non-finite values")
    for column in [*factors, *clusters]:
        if df[column].isna().any():
            raise ValueError(f"column {column!r} has missing values")
    n_levels = {factor: df[factor].nunique() for factor in factors}
    for factor in factors:
        if n_levels[factor] < 2:
            raise ValueError(f"factor {factor!r} has only one level; drop it from factors")
    for i, first in enumerate(factors):
        for second in factors[i + 1 :]:
            n_cells = df.groupby([first, second], sort=False).ngroups
            if n_cells == n_levels[first] == n_levels[second]:
                raise ValueError(f"factors {first!r} and {second!r} are confounded (same grouping)")
    if n_resamples < 0:
        raise ValueError(f"n_resamples must be >= 0, got {n_resamples}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")


def _resample_levels(
    level_codes: NDArray[np.intp], n_levels: int, generator: np.random.Generator
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Draw ``n_levels`` levels with replacement and keep every current row of each draw.

    ``level_codes`` (values in 0..n_levels-1) give each current row's level. Returns the
    positions of the kept rows and, for each, the draw slot (0..n_levels-1) it came from, which
    becomes its new level: a level drawn twice becomes two levels. Rows are repeated in place
    (no sort of the rows), each copy taking one of the slots that drew its level.
    """
    drawn = generator.integers(0, n_levels, n_levels)
    times_drawn = np.bincount(drawn, minlength=n_levels)
    slots_by_level = np.argsort(drawn, kind="stable")
    first_slot = np.concatenate([[0], np.cumsum(times_drawn)[:-1]])
    copies = times_drawn[level_codes]
    kept = np.repeat(np.arange(len(level_codes)), copies)
    ends = np.cumsum(copies)
    copy_index = np.arange(ends[-1]) - np.repeat(ends - copies, copies)
    return kept, slots_by_level[first_slot[level_codes[kept]] + copy_index]


def _pair_codes(first: NDArray[np.intp], second: NDArray[np.intp]) -> tuple[NDArray[np.intp], int]:
    """Codes of the observed cells of two factors (an interaction's levels) and their number."""
    key = first.astype(np.int64) * (int(second.max()) + 1) + second
    cells, codes = np.unique(key, return_inverse=True)
    return codes.astype(np.intp), len(cells)


def _bootstrap_shares(
    y: NDArray[np.float64],
    codes: list[NDArray[np.intp]],
    sizes: list[int],
    clusters: list[tuple[NDArray[np.intp], int, int | None]],
    n_resamples: int,
    generator: np.random.Generator,
    pairs: tuple[tuple[int, int], ...] = (),
) -> NDArray[np.float64]:
    """Shares on ``n_resamples`` cluster-bootstrap replicates (rows = replicates).

    ``clusters`` holds, per cluster column, its level codes, its number of levels L and its
    position among the factors (None if it is not a factor). For each replicate and each cluster
    column in turn, L levels are drawn with replacement (``generator.integers(0, L, L)``) and
    all current rows of each drawn level are kept, so with several cluster columns a row's
    multiplicity is the product of its levels' multiplicities (the pigeonhole bootstrap of
    Owen 2007, Ann. Appl. Stat. 1(2)); with one it is the ordinary cluster bootstrap (Davison &
    Hinkley 1997, "Bootstrap Methods and their Application", section 3.8). A level drawn twice
    counts as two distinct levels, and so do the interaction cells it belongs to: interaction
    codes (``pairs`` of main-factor positions) are rebuilt from each replicate's relabelled
    main-factor codes. Replicates whose components are not identified are NaN.
    """
    out = np.full((n_resamples, len(codes) + len(pairs) + 1), np.nan)
    for r in range(n_resamples):
        rows = np.arange(len(y))
        relabelled: dict[int, NDArray[np.intp]] = {}
        for column_codes, n_levels, position in clusters:
            kept, new_labels = _resample_levels(column_codes[rows], n_levels, generator)
            rows = rows[kept]
            relabelled = {p: labels[kept] for p, labels in relabelled.items()}
            if position is not None:
                relabelled[position] = new_labels
        if rows.size < 2:
            continue
        replicate_codes = [relabelled.get(f, c[rows]) for f, c in enumerate(codes)]
        replicate_sizes = list(sizes)
        for i, j in pairs:
            pair_codes, n_cells = _pair_codes(replicate_codes[i], replicate_codes[j])
            replicate_codes.append(pair_codes)
            replicate_sizes.append(n_cells)
        try:
            out[r] = _shares(_method_one(y[rows], replicate_codes, replicate_sizes))
        except ValueError:
            continue
    return out


def variance_components(
    df: pd.DataFrame,
    score: str,
    factors: list[str],
    n_resamples: int = 200,
    level: float = 0.95,
    rng: np.random.Generator | int | None = 0,
    cluster: str | list[str] | None = None,
    interactions: list[tuple[str, str]] | None = None,
) -> pd.DataFrame:
    """Variance components of ``score`` across crossed design ``factors``, with bootstrap CIs.

    Estimates ``s2_f`` for each factor and ``s2_e`` ("residual") in the crossed random
    main-effects model ``y = mu + sum_f a_f + e`` by Henderson's Method I (see the module
    docstring and ``_quadratic_forms`` for the equations; Searle, Casella & McCulloch 1992,
    section 5.2). Negative estimates, which the method of moments can produce when a component
    is small, are truncated at 0 (the ``truncated`` column says where);
    ``share = variance / sum of variances``.

    Interval: percentile bootstrap of each share (Efron & Tibshirani 1993, "An Introduction to
    the Bootstrap", ch. 13) over ``n_resamples`` replicates that resample the levels of
    ``cluster`` with replacement (default: ``"item"`` if it is a factor, otherwise the first
    factor). With one cluster column the interval treats the observed levels of the other
    factors as fixed, so it understates the uncertainty of their shares; pass a list (e.g.
    ``["item", "template"]``) to resample each listed factor's levels independently (Owen's
    pigeonhole bootstrap, somewhat conservative). With ``n_resamples=0`` no interval is
    computed (lower and upper are NaN). Replicates where the components are not identified
    are left out.

    ``interactions`` lists pairs of factors whose two-way interaction is a component of its
    own (named ``"a:b"``), e.g. ``[("item", "option_order")]``: a design choice whose effect
    differs from item to item shows up there rather than in the residual.

    Returns one row per factor (in the given order), one per interaction, and a final
    "residual" row, with columns
    ``component, n_levels, variance, share, lower, upper, level, method, truncated``
    (``n_levels`` of the residual row is the number of rows).
    A factor with few levels (say < 5) gets an imprecise variance.
    """
    factors = list(factors)
    pairs_named = [tuple(pair) for pair in (interactions or [])]
    for first, second in pairs_named:
        if first not in factors or second not in factors or first == second:
            raise ValueError(f"interaction {first!r}:{second!r} must pair two different factors")
    if cluster is None:
        cluster = "item" if "item" in factors or not factors else factors[0]
    clusters = [cluster] if isinstance(cluster, str) else list(cluster)
    _validate(df, score, factors, clusters, n_resamples, level)
    y = df[score].to_numpy(dtype=float)
    if np.all(y == y[0]):
        raise ValueError(f"score column {score!r} is constant; there is no variance to split")
    factorised = [pd.factorize(df[f], sort=True)[0] for f in factors]
    sizes = [int(c.max()) + 1 for c in factorised]
    pairs = [(factors.index(a), factors.index(b)) for a, b in pairs_named]
    all_codes, all_sizes = list(factorised), list(sizes)
    for i, j in pairs:
        pair_codes, n_cells = _pair_codes(factorised[i], factorised[j])
        if n_cells == len(y):
            raise ValueError(f"interaction {factors[i]!r}:{factors[j]!r} has one row per cell; nothing is left for the residual")
        all_codes.append(pair_codes)
        all_sizes.append(n_cells)
    estimates = _method_one(y, all_codes, all_sizes)
    names = [*factors, *(f"{a}:{b}" for a, b in pairs_named)]
    lower = upper = np.full(len(names) + 1, np.nan)
    method = "henderson-I; no interval"
    if n_resamples > 0:
        cluster_info = []
        for column in clusters:
            column_codes = pd.factorize(df[column], sort=True)[0]
            position = factors.index(column) if column in factors else None
            cluster_info.append((column_codes, int(column_codes.max()) + 1, position))
        replicates = _bootstrap_shares(
            y, factorised, sizes, cluster_info, n_resamples, np.random.default_rng(rng), tuple(pairs)
        )
        defined = replicates[~np.isnan(replicates).any(axis=1)]
        if defined.shape[0] > 0:
            lower, upper = np.quantile(defined, [(1 - level) / 2, (1 + level) / 2], axis=0)
        method = f"henderson-I; cluster-bootstrap-percentile({','.join(clusters)})"
    return pd.DataFrame(
        {
            "component": [*names, _RESIDUAL],
            "n_levels": [*all_sizes, len(y)],
            "variance": np.clip(estimates, 0.0, None),
            "share": _shares(estimates),
            "lower": lower,
            "upper": upper,
            "level": level,
            "method": method,
            "truncated": estimates < 0,
        }
    )
