"""Item response theory for a respondents × items matrix of 0/1 scores (models are the respondents).

The two-parameter logistic model (2PL; Birnbaum 1968, in Lord & Novick, "Statistical Theories
of Mental Test Scores", ch. 17) gives respondent j of ability θ_j a probability of answering
item i correctly of ``P_i(θ) = 1 / (1 + exp(-(a_i θ + c_i)))``: ``a_i`` is the item's
discrimination (slope) and ``b_i = -c_i / a_i`` its difficulty (the ability at which P = 1/2).

It is fitted by marginal maximum likelihood: abilities are integrated out over their
population distribution, fixed at N(0, 1) (this fixes the scale's origin and unit, which a
2PL does not identify by itself), by the EM algorithm of Bock & Aitkin (1981, "Marginal
maximum likelihood estimation of item parameters: application of an EM algorithm",
Psychometrika 46(4)) with quadrature (equally spaced nodes by default, Gauss–Hermite on
request). A weak normal prior on each slope and intercept, centred on the items' mean, makes the
M-step a posterior-mode (Bayes modal) step (Mislevy 1986, "Bayes modal estimation in item
response models", Psychometrika 51(2)): with a few dozen models, an item whose right and wrong
answers separate perfectly along ability has no finite maximum likelihood slope, and the prior
keeps it finite. Missing cells (NaN) are left out of the
likelihood (missing at random given ability).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

__all__ = [
    "LOW_DISCRIMINATION",
    "IRTFit",
    "eap_abilities",
    "fit_2pl",
    "item_information",
    "item_table",
    "response_probabilities",
]

Array = NDArray[np.float64]

#: Slopes below this are "very low" discrimination in Baker's (2001, "The Basics of Item
#: Response Theory", ch. 2) labels for the logistic metric: a convention, not a test.
LOW_DISCRIMINATION = 0.35
#: The ability grid for EAP scores: finer than the quadrature, because with hundreds of items
#: a model's posterior is much narrower than the spacing of the Gauss–Hermite nodes.
_EAP_GRID = np.linspace(-6.0, 6.0, 481)


@dataclass(frozen=True)
class IRTFit:
    """A fitted 2PL. Item arrays have one entry per item (NaN for items that were not fitted).

    ``fitted`` marks items with at least two observed answers that are not all equal (an item
    every model gets right, or every model gets wrong, carries no information on a 2PL and has no
    finite difficulty). ``cov`` holds each item's 2 × 2 covariance of (slope, intercept) from the
    observed information; ``theta``/``theta_sd`` are each respondent's EAP ability and posterior SD.
    """

    slope: Array
    intercept: Array
    cov: NDArray[np.float64]
    fitted: NDArray[np.bool_]
    theta: Array
    theta_sd: Array
    log_posterior: float
    iterations: int
    converged: bool
    prior: _Penalty

    @property
    def difficulty(self) -> Array:
        """``b_i = -c_i / a_i``: the ability at which the item is answered right half the time."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return -self.intercept / self.slope

    @property
    def se_slope(self) -> Array:
        return np.sqrt(self.cov[:, 0, 0])

    @property
    def se_intercept(self) -> Array:
        return np.sqrt(self.cov[:, 1, 1])

    @property
    def se_difficulty(self) -> Array:
        """Delta method: ``∇b = (c/a², -1/a)``, ``var(b) = ∇ᵀ Σ ∇``."""
        a, c = self.slope, self.intercept
        with np.errstate(divide="ignore", invalid="ignore"):
            grad = np.stack([c / a**2, -1.0 / a], axis=1)
        return np.sqrt(np.einsum("ik,ikl,il->i", grad, self.cov, grad))


def _as_responses(responses: ArrayLike | pd.DataFrame) -> Array:
    """A 2-D float array of 0, 1 and NaN (respondents × items), else ValueError."""
    arr = np.asarray(responses, dtype=float)
    if arr.ndim != 2:
        raise ValueError(f"responses must be a 2-D respondents x items array, got shape {arr.shape}")
    seen = arr[~np.isnan(arr)]
    if not np.all((seen == 0.0) | (seen == 1.0)):
        raise ValueError("responses must be 0, 1 or NaN (missing)")
    return arr


def response_probabilities(slope: ArrayLike, intercept: ArrayLike, theta: ArrayLike) -> Array:
    """``P_i(θ_q) = expit(a_i θ_q + c_i)`` as an items × abilities array."""
    a, c, t = (np.asarray(v, dtype=float) for v in (slope, intercept, theta))
    return np.asarray(special.expit(np.outer(a, t) + c[:, None]))


def item_information(slope: ArrayLike, intercept: ArrayLike, theta: ArrayLike) -> Array:
    """Fisher information of each item at each ability: ``I_i(θ) = a_i² P_i(θ)(1 - P_i(θ))``
    (Lord 1980, "Applications of Item Response Theory to Practical Testing Problems", eq. 5-6)."""
    p = response_probabilities(slope, intercept, theta)
    return np.asarray(np.asarray(slope, dtype=float)[:, None] ** 2 * p * (1.0 - p))


def _log_likelihoods(y0: Array, observed: Array, p: Array) -> Array:
    """``log f_j(θ_q) = Σ_i o_ij [y_ij log P_iq + (1 - y_ij) log(1 - P_iq)]`` (respondents × nodes)."""
    p = np.clip(p, 1e-12, 1.0 - 1e-12)
    return np.asarray(y0 @ np.log(p) + (observed - y0) @ np.log1p(-p))


def _posterior(loglik: Array, log_prior: Array) -> tuple[Array, float]:
    """Posterior weights over the nodes for every respondent, and the marginal log-likelihood."""
    joint = loglik + log_prior[None, :]
    norm = special.logsumexp(joint, axis=1)
    return np.exp(joint - norm[:, None]), float(norm.sum())


def eap_abilities(
    responses: ArrayLike, slope: ArrayLike, intercept: ArrayLike, grid: ArrayLike | None = None
) -> tuple[Array, Array]:
    """Expected a posteriori abilities and posterior SDs under a N(0, 1) prior, given item parameters.

    ``θ̂_j = Σ_g θ_g f_j(θ_g) φ(θ_g) / Σ_g f_j(θ_g) φ(θ_g)`` on a fine equally spaced grid
    (Bock & Mislevy 1982, "Adaptive EAP estimation of ability in a microcomputer environment",
    Appl. Psychol. Meas. 6(4)); the posterior SD is the same weighted SD. Items with NaN
    parameters and NaN responses are skipped; a respondent with no answer gets the prior (0, 1).
    """
    y = _as_responses(responses)
    a, c = np.asarray(slope, dtype=float), np.asarray(intercept, dtype=float)
    if y.shape[1] != a.size or a.size != c.size:
        raise ValueError("responses must have one column per item parameter")
    usable = np.isfinite(a) & np.isfinite(c)
    y, a, c = y[:, usable], a[usable], c[usable]
    nodes = _EAP_GRID if grid is None else np.asarray(grid, dtype=float)
    observed = (~np.isnan(y)).astype(float)
    weights, _ = _posterior(_log_likelihoods(np.nan_to_num(y), observed, response_probabilities(a, c, nodes)), stats.norm.logpdf(nodes))
    mean = weights @ nodes
    sd = np.sqrt(np.maximum(weights @ nodes**2 - mean**2, 0.0))
    return mean, sd


@dataclass(frozen=True)
class _Penalty:
    """The scale-free penalty of the M-step, at the current slopes and intercepts.

    ``log π(a, c) = -Σ_i (a_i/ā - 1)² / (2τ²) - Σ_i r_i² / (2σ_c²)`` with ā the items' mean slope
    and ``r_i = c_i - α - β a_i`` the residuals of the least-squares line of the intercepts on the
    slopes. Neither part changes when the ability scale is moved or stretched (``θ → sθ + m`` maps
    ``a → a/s`` and ``c → c - a m/s``): the slope part depends on the slopes only through their
    ratios to the mean, and the line absorbs the shift ``-a m/s`` of every intercept. So the
    penalty ranks items against each other and leaves the origin and the unit of the scale to the
    N(0, 1) abilities. (A penalty on ``c_i - c̄`` alone is not neutral to the origin: summed over
    hundreds of items it outweighs the N(0, 1) of a few dozen models and moved the fitted origin
    by about 0.1 on matrices simulated from the CRUXEval-O fit, so that intercept intervals
    covered 0.92 at 95%; docs/meta.md.)
    """

    slope_mean: float
    slope_scale: float
    slope_spread: float  # Var(a_i / ā)
    intercept_base: float  # α
    intercept_trend: float  # β
    intercept_sd: float

    @classmethod
    def at(cls, a: Array, c: Array, slope_scale: float, intercept_sd: float) -> _Penalty:
        centre = max(float(np.mean(a)), _MIN_SLOPE_CENTRE)
        spread = float(np.var(a))
        trend = float(np.mean((a - a.mean()) * (c - c.mean())) / spread) if spread > 0 else 0.0
        return cls(centre, slope_scale, float(np.var(a / centre)), float(np.mean(c) - trend * np.mean(a)), trend, intercept_sd)

    @property
    def slope_sd(self) -> float:
        """The penalty's curvature in one slope, as a normal prior's SD: ``τ ā``."""
        return self.slope_scale * self.slope_mean

    def residual(self, a: Array, c: Array) -> Array:
        return np.asarray(c - self.intercept_base - self.intercept_trend * a)

    def slope_gradient(self, a: Array, c: Array) -> Array:
        """``∂ log π / ∂a_k = -((a_k/ā - 1) - Var(a/ā)) / (τ² ā) + β r_k / σ_c²``: the pull to the mean,
        the uniform push that makes the penalty neutral to a common change of scale, and the
        intercept part (the line's own movement drops out: its coefficients minimise Σ r²)."""
        pull = -((a / self.slope_mean - 1.0) - self.slope_spread) / (self.slope_scale**2 * self.slope_mean)
        return np.asarray(pull + self.intercept_trend * self.residual(a, c) / self.intercept_sd**2)

    def intercept_gradient(self, a: Array, c: Array) -> Array:
        """``∂ log π / ∂c_k = -r_k / σ_c²``."""
        return np.asarray(-self.residual(a, c) / self.intercept_sd**2)

    def curvature(self) -> tuple[float, float, float]:
        """Per item, the (a, a), (a, c) and (c, c) entries of ``-∇² log π``: ``1/(τā)² + β²/σ_c²``,
        ``-β/σ_c²`` and ``1/σ_c²`` (the residual part is ``r²/(2σ_c²)`` with ``∇r = (-β, 1)``)."""
        inv = 1.0 / self.intercept_sd**2
        return 1.0 / self.slope_sd**2 + self.intercept_trend**2 * inv, -self.intercept_trend * inv, inv

    def log_density(self, a: Array, c: Array) -> float:
        return float(
            -np.sum((a / self.slope_mean - 1.0) ** 2) / (2.0 * self.slope_scale**2)
            - np.sum(self.residual(a, c) ** 2) / (2.0 * self.intercept_sd**2)
        )


#: The slope penalty's centre never goes below this (a set of items that mostly do not
#: discriminate would otherwise make the penalty's curvature explode).
_MIN_SLOPE_CENTRE = 0.1


def _newton_step(
    r: Array, n: Array, nodes: Array, p: Array, a: Array, c: Array, prior: _Penalty
) -> tuple[Array, Array]:
    """One Newton step of every item's expected complete-data log likelihood plus the penalty (the M-step).

    Maximises ``Σ_q [r_iq log P_iq + (n_iq - r_iq) log(1 - P_iq)] + log π(a, c)``; the penalty's
    curvature is taken per item (:meth:`_Penalty.curvature`), its gradient in full
    (:meth:`_Penalty.slope_gradient`, :meth:`_Penalty.intercept_gradient`). Steps are capped at 1 in each coordinate so that an early,
    poor posterior cannot throw a slope far away.
    """
    resid = r - n * p
    g_a = resid @ nodes + prior.slope_gradient(a, c)
    g_c = resid.sum(axis=1) + prior.intercept_gradient(a, c)
    w = n * p * (1.0 - p)
    k_aa, k_ac, k_cc = prior.curvature()
    h_aa = w @ nodes**2 + k_aa
    h_ac = w @ nodes + k_ac
    h_cc = w.sum(axis=1) + k_cc
    det = h_aa * h_cc - h_ac**2
    det = np.where(det > 0, det, np.inf)  # a degenerate item (all its weight at one node) does not move
    step_a = np.clip((h_cc * g_a - h_ac * g_c) / det, -1.0, 1.0)
    step_c = np.clip((h_aa * g_c - h_ac * g_a) / det, -1.0, 1.0)
    return a + step_a, c + step_c


def _item_covariances(
    y0: Array, observed: Array, weights: Array, nodes: Array, a: Array, c: Array, prior: _Penalty
) -> NDArray[np.float64]:
    """Each item's 2 × 2 covariance of (slope, intercept): the inverse of its block of the observed information.

    Louis (1982, "Finding the observed information matrix when using the EM algorithm",
    JRSS B 44(2)): ``-∇²ℓ = Σ_j (E_post[-∇² log f_ij] - Var_post[∇ log f_ij])`` with
    ``∇ log f_ij(θ) = (y_ij - P_i(θ)) (θ, 1)`` and ``-∇² log f_ij(θ) = P_i(1 - P_i) (θ, 1)(θ, 1)ᵀ``,
    plus the penalty's curvature per item (:meth:`_Penalty.curvature`). Only the
    item's own block is inverted: the coupling of items through the shared abilities is left
    out (the full 2I × 2I matrix is too large to build for a thousand items at this quadrature).
    The coverage simulation in tests/stats/test_irt.py checks that the intervals hold their level.
    """
    p = special.expit(np.outer(a, nodes) + c[:, None])
    n = observed.T @ weights
    r = y0.T @ weights
    x = np.stack([nodes**2, nodes, np.ones_like(nodes)])  # θ², θ, 1 per node
    expected = np.einsum("iq,kq->ik", n * p * (1.0 - p), x)
    second = np.einsum("iq,kq->ik", r * (1.0 - p) ** 2 + (n - r) * p**2, x)
    post_mean = weights @ nodes
    s_a = observed * (y0 * post_mean[:, None] - (weights * nodes) @ p.T)
    s_c = observed * (y0 - weights @ p.T)
    outer = np.stack([(s_a**2).sum(axis=0), (s_a * s_c).sum(axis=0), (s_c**2).sum(axis=0)], axis=1)
    info = expected - second + outer
    blocks = np.empty((a.size, 2, 2))
    k_aa, k_ac, k_cc = prior.curvature()
    blocks[:, 0, 0] = info[:, 0] + k_aa
    blocks[:, 0, 1] = blocks[:, 1, 0] = info[:, 1] + k_ac
    blocks[:, 1, 1] = info[:, 2] + k_cc
    return _invert_blocks(blocks)


def _scale_covariance(a: Array, n_respondents: int) -> NDArray[np.float64]:
    """The part of each item's covariance that comes from the ability scale all items share.

    The fitted scale is that of the N respondents' abilities, whose mean and SD differ from the
    population's N(0, 1) by sampling error (var(mean) = 1/N, var(SD) ≈ 1/(2N)); to first order an
    item's parameters on that scale are ``c + a·m`` and ``a·s``, so the delta method adds
    ``diag(a²/(2N), a²/N)`` to its (slope, intercept) covariance. The per-item blocks of
    :func:`_item_covariances` leave this common error out; without it intercept intervals covered
    about 88% at 95% with 200 respondents × 40 items (docs/meta.md).
    """
    extra = np.zeros((a.size, 2, 2))
    extra[:, 0, 0] = a**2 / (2.0 * n_respondents)
    extra[:, 1, 1] = a**2 / n_respondents
    return extra


def _invert_blocks(blocks: NDArray[np.float64]) -> NDArray[np.float64]:
    """Inverse of each 2 × 2 block; a block that is not positive definite gives NaN."""
    det = blocks[:, 0, 0] * blocks[:, 1, 1] - blocks[:, 0, 1] ** 2
    good = (det > 0) & (blocks[:, 0, 0] > 0)
    inverse = np.full_like(blocks, np.nan)
    inverse[good, 0, 0] = blocks[good, 1, 1] / det[good]
    inverse[good, 1, 1] = blocks[good, 0, 0] / det[good]
    inverse[good, 0, 1] = inverse[good, 1, 0] = -blocks[good, 0, 1] / det[good]
    return inverse


def _quadrature(kind: str, n_nodes: int) -> tuple[Array, Array]:
    """Nodes and log weights for integrating over a N(0, 1) ability.

    ``gauss-hermite``: the probabilists' Gauss–Hermite rule (weights normalised to sum 1).
    ``rectangular``: equally spaced nodes on [-6, 6] weighted by the normal density, the
    quadrature of Bock & Aitkin's own examples. With hundreds of items a model's posterior is
    narrower than the spacing of a Gauss–Hermite rule near 0 (about 0.2 at 61 nodes), abilities
    are in effect rounded to nodes, and slopes are attenuated as by measurement error in a
    regressor (about 20% at 50 respondents × 400 items, docs/meta.md); 121 equally spaced nodes
    (spacing 0.1) avoid that at a cost linear in the number of nodes.
    """
    if kind == "gauss-hermite":
        nodes, weights = np.polynomial.hermite_e.hermegauss(n_nodes)
        return nodes, np.log(weights / weights.sum())
    if kind == "rectangular":
        nodes = np.linspace(-6.0, 6.0, n_nodes)
        log_density = stats.norm.logpdf(nodes)
        return nodes, log_density - special.logsumexp(log_density)
    raise ValueError(f"quadrature must be 'rectangular' or 'gauss-hermite', got {kind!r}")


@dataclass(frozen=True)
class _EMMap:
    """One Bock–Aitkin EM iteration as a map of the parameter vector (slopes, then intercepts)."""

    y0: Array
    observed: Array
    nodes: Array
    log_prior: Array
    slope_scale: float
    intercept_sd: float

    def split(self, x: Array) -> tuple[Array, Array]:
        half = x.size // 2
        return x[:half], x[half:]

    def objective(self, x: Array) -> float:
        """The penalised marginal log-likelihood ``Σ_j log Σ_q f_j(θ_q) w_q + log π(a, c)``."""
        a, c = self.split(x)
        _, log_marginal = _posterior(_log_likelihoods(self.y0, self.observed, special.expit(np.outer(a, self.nodes) + c[:, None])), self.log_prior)
        return log_marginal + _Penalty.at(a, c, self.slope_scale, self.intercept_sd).log_density(a, c)

    def __call__(self, x: Array) -> Array:
        a, c = self.split(x)
        p = special.expit(np.outer(a, self.nodes) + c[:, None])
        weights, _ = _posterior(_log_likelihoods(self.y0, self.observed, p), self.log_prior)
        prior = _Penalty.at(a, c, self.slope_scale, self.intercept_sd)
        new_a, new_c = _newton_step(self.y0.T @ weights, self.observed.T @ weights, self.nodes, p, a, c, prior)
        # PX-EM (Liu, Rubin & Wu 1998, "Parameter expansion to accelerate EM: the PX-EM algorithm",
        # Biometrika 85(4)): the expanded model lets the abilities be N(m, s²); its M-step sets m and
        # s² to the respondents' mean posterior moments, and mapping back to N(0, 1) (θ = sθ* + m)
        # gives a* = a s, c* = c + a m. Plain EM moves the scale's origin and unit by tiny steps
        # (almost all of their information is missing), so it stopped far from the maximum along
        # them; the penalty is unchanged by this map (:class:`_Penalty`), so the fixed points are
        # those of the penalised marginal likelihood.
        m = float(np.mean(weights @ self.nodes))
        s = float(np.sqrt(max(float(np.mean(weights @ self.nodes**2)) - m**2, 1e-12)))
        return np.concatenate([new_a * s, new_c + new_a * m])

    def solve(self, x: Array, max_iter: int, tol: float) -> tuple[Array, Array, int, bool]:
        """Iterate to a fixed point, accelerated by SQUAREM (Varadhan & Roland 2008, "Simple and
        globally convergent methods for accelerating the convergence of any EM algorithm",
        Scand. J. Stat. 35(2), scheme S3): from x₀, ``x₁ = F(x₀)``, ``x₂ = F(x₁)``, ``r = x₁ - x₀``,
        ``v = x₂ - x₁ - r``, ``α = -‖r‖/‖v‖`` (at most -1), ``x' = F(x₀ - 2αr + α²v)``; a step whose
        penalised log-likelihood falls below that of ``x₂`` is replaced by ``x₂``, so the objective
        never decreases. Converged when an EM step moves no parameter more than ``tol``. Each
        SQUAREM cycle counts as three iterations (three EM maps)."""
        iteration = 0
        while iteration < max_iter:
            x1 = self(x)
            iteration += 1
            if float(np.max(np.abs(x1 - x))) < tol:
                return *self.split(x1), iteration, True
            x2 = self(x1)
            r, v = x1 - x, x2 - 2.0 * x1 + x
            norm_v = float(np.linalg.norm(v))
            alpha = min(-float(np.linalg.norm(r)) / norm_v, -1.0) if norm_v > 0 else -1.0
            candidate = self(x - 2.0 * alpha * r + alpha**2 * v)
            iteration += 2
            x = candidate if alpha == -1.0 or self.objective(candidate) >= self.objective(x2) else x2
        return *self.split(x), iteration, False


def fit_2pl(
    responses: ArrayLike | pd.DataFrame,
    *,
    quadrature: Literal["rectangular", "gauss-hermite"] = "rectangular",
    n_nodes: int = 121,
    slope_scale: float = 1.5,
    intercept_sd: float = 4.0,
    max_iter: int = 2000,
    tol: float = 1e-4,
) -> IRTFit:
    """Fit a 2PL by marginal maximum (posterior-mode) likelihood with the Bock–Aitkin EM.

    E-step: with quadrature nodes θ_q and weights w_q for N(0, 1) (:func:`_quadrature`), each
    respondent's posterior over the nodes is ``π_jq ∝ f_j(θ_q) w_q`` and the expected counts are
    ``n_iq = Σ_j o_ij π_jq`` (answers) and ``r_iq = Σ_j y_ij π_jq`` (right answers). M-step: one
    Newton step per item of ``Σ_q [r_iq log P_iq + (n_iq - r_iq) log(1 - P_iq)]`` plus the log
    prior ``a_i ~ N(ā, (slope_scale · ā)²)`` and, for each intercept, ``N(α + β a_i, intercept_sd²)``
    around the items' own least-squares line of intercept on slope (:class:`_Penalty`; an
    empirical-Bayes prior, Mislevy 1986 §4). Centring on the items' own values matters: a prior with a fixed centre, summed over hundreds of items, outweighs
    the N(0, 1) ability distribution of a few dozen models and sets the scale itself (with 50
    models × 400 items, a N(1, 2²) slope prior shrank every slope by about a quarter), while a
    prior relative to the mean only ranks items against each other, leaving the scale to the
    abilities. Stops when no parameter moves more than ``tol`` in an iteration (``converged``) or
    after ``max_iter``. Standard errors: :func:`_item_covariances`; abilities: :func:`eap_abilities`.

    ``responses`` is respondents × items of 0, 1 and NaN (missing). Items with fewer than two
    answers, or whose answers are all equal, are not fitted (``fitted`` False, parameters NaN).
    """
    y = _as_responses(responses)
    if y.shape[0] < 2:
        raise ValueError("fit_2pl needs at least two respondents")
    if n_nodes < 5:
        raise ValueError("n_nodes must be at least 5")
    if not (slope_scale > 0 and intercept_sd > 0):
        raise ValueError("slope_scale and intercept_sd must be positive")
    answered = ~np.isnan(y)
    counts, rights = answered.sum(axis=0), np.nansum(y, axis=0)
    fitted = (counts >= 2) & (rights > 0) & (rights < counts)
    if not fitted.any():
        raise ValueError("no item has both right and wrong answers: nothing to fit")
    sub = y[:, fitted]
    observed = (~np.isnan(sub)).astype(float)
    y0 = np.nan_to_num(sub)
    nodes, log_prior = _quadrature(quadrature, n_nodes)
    share = np.clip((y0.sum(axis=0) + 0.5) / (observed.sum(axis=0) + 1.0), 1e-3, 1 - 1e-3)
    a = np.ones(sub.shape[1])
    c = special.logit(share) * np.sqrt(2.0)  # at slope 1 the marginal P is about expit(c / sqrt(1 + a²))
    em = _EMMap(y0, observed, nodes, log_prior, slope_scale, intercept_sd)
    a, c, iteration, converged = em.solve(np.concatenate([a, c]), max_iter, tol)
    weights, log_marginal = _posterior(_log_likelihoods(y0, observed, special.expit(np.outer(a, nodes) + c[:, None])), log_prior)
    prior = _Penalty.at(a, c, slope_scale, intercept_sd)
    item_cov = _item_covariances(y0, observed, weights, nodes, a, c, prior)
    slope, intercept = np.full(y.shape[1], np.nan), np.full(y.shape[1], np.nan)
    slope[fitted], intercept[fitted] = a, c
    cov = np.full((y.shape[1], 2, 2), np.nan)
    cov[fitted] = item_cov + _scale_covariance(a, int(y.shape[0]))
    theta, theta_sd = eap_abilities(y, slope, intercept)
    return IRTFit(
        slope, intercept, cov, fitted, theta, theta_sd, log_marginal + prior.log_density(a, c), iteration, converged, prior
    )


def item_table(fit: IRTFit, responses: ArrayLike, level: float = 0.95) -> pd.DataFrame:
    """One row per item: parameters with Wald intervals, fit mean-squares and the low-discrimination flag.

    Intervals are ``estimate ± z_{(1+level)/2} · SE`` for the slope and the difficulty (SE of the
    difficulty by the delta method; it is wide and unreliable when the slope is near zero).
    Fit: the outfit and infit mean-squares of the standardised residuals at the EAP abilities,
    ``z_ij = (y_ij - P_i(θ̂_j)) / sqrt(P_i(1 - P_i))``, outfit ``= mean_j z_ij²`` and infit
    ``= Σ_j (y_ij - P_ij)² / Σ_j P_ij(1 - P_ij)`` (Wright & Masters 1982, "Rating Scale Analysis",
    ch. 5); both are 1 in expectation under the model, and values outside [0.5, 1.5] are the
    usual convention for misfit (Linacre 2002, Rasch Meas. Trans. 16(2)). They are descriptive:
    no p-value is given. ``low_discrimination`` is slope < :data:`LOW_DISCRIMINATION` (a
    convention); ``negative`` is an upper slope bound below 0 (a key or label worth checking).
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    y = _as_responses(responses)
    z = float(stats.norm.ppf((1.0 + level) / 2.0))
    p = response_probabilities(fit.slope, fit.intercept, fit.theta).T  # respondents × items
    var = p * (1.0 - p)
    resid2 = np.where(np.isnan(y), np.nan, (y - p) ** 2)
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an item nobody answered has no mean-square
        outfit = np.nanmean(resid2 / var, axis=0)
        infit = np.nansum(resid2, axis=0) / np.nansum(np.where(np.isnan(y), np.nan, var), axis=0)
    slope, se_a, b, se_b = fit.slope, fit.se_slope, fit.difficulty, fit.se_difficulty
    table = pd.DataFrame(
        {
            "n": (~np.isnan(y)).sum(axis=0),
            "p_correct": np.nansum(y, axis=0) / np.maximum((~np.isnan(y)).sum(axis=0), 1),
            "fitted": fit.fitted,
            "slope": slope,
            "slope_lower": slope - z * se_a,
            "slope_upper": slope + z * se_a,
            "se_slope": se_a,
            "difficulty": b,
            "difficulty_lower": b - z * se_b,
            "difficulty_upper": b + z * se_b,
            "se_difficulty": se_b,
            "intercept": fit.intercept,
            "se_intercept": fit.se_intercept,
            "outfit": np.where(fit.fitted, outfit, np.nan),
            "infit": np.where(fit.fitted, infit, np.nan),
        }
    )
    table["low_discrimination"] = fit.fitted & (table["slope"] < LOW_DISCRIMINATION)
    table["negative"] = fit.fitted & (table["slope_upper"] < 0)
    return table
