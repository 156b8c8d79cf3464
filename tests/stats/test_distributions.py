"""Distribution distances against scipy and closed forms."""

from itertools import combinations

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import wasserstein_distance

from forkingpaths.stats.distributions import (
    js_distance,
    similarity_js,
    similarity_wasserstein,
    total_variation,
    wasserstein_ordered,
)


def _random_weights(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    weights = rng.random(shape)
    weights[weights < 0.2] = 0.0  # exercise zero cells
    weights[..., 0] += 0.01  # but never an all-zero row
    return weights


def test_js_distance_matches_scipy_with_broadcasting() -> None:
    rng = np.random.default_rng(0)
    p = _random_weights(rng, (3, 4, 5))
    q = _random_weights(rng, (4, 5))
    got = js_distance(p, q)
    assert got.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            assert got[i, j] == pytest.approx(jensenshannon(p[i, j], q[j], base=2), abs=1e-12)


def test_js_distance_extremes_and_scalar_output() -> None:
    assert js_distance([1, 0], [0, 1]) == pytest.approx(1.0)
    assert js_distance([0.2, 0.8], [2, 8]) == pytest.approx(0.0, abs=1e-12)
    assert isinstance(js_distance([0.5, 0.5], [0.9, 0.1]), float)
    assert similarity_js([0.3, 0.7], [3, 7]) == pytest.approx(1.0)
    assert similarity_js([1, 0, 0], [0, 0, 1]) == pytest.approx(0.0, abs=1e-12)


def test_total_variation_equals_largest_event_probability_gap() -> None:
    # TV(p, q) = max over events A of |P(A) - Q(A)|: an independent characterisation.
    rng = np.random.default_rng(1)
    for _ in range(20):
        p, q = rng.dirichlet(np.ones(5)), rng.dirichlet(np.ones(5))
        gaps = [
            abs(p[list(event)].sum() - q[list(event)].sum())
            for size in range(6)
            for event in combinations(range(5), size)
        ]
        assert total_variation(p, q) == pytest.approx(max(gaps), abs=1e-12)


def test_total_variation_hand_example() -> None:
    # 1/2 * (|0.5-0.2| + |0.3-0.3| + |0.2-0.5|) = 0.3
    assert total_variation([0.5, 0.3, 0.2], [0.2, 0.3, 0.5]) == pytest.approx(0.3)


def test_wasserstein_ordered_matches_scipy() -> None:
    rng = np.random.default_rng(2)
    for k in (2, 3, 5, 7):
        p = _random_weights(rng, (6, k))
        q = _random_weights(rng, (6, k))
        got = wasserstein_ordered(p, q)
        for row in range(6):
            expected = wasserstein_distance(range(k), range(k), p[row], q[row]) / (k - 1)
            assert got[row] == pytest.approx(expected, abs=1e-12)


def test_wasserstein_ordered_extremes() -> None:
    assert wasserstein_ordered([1, 0, 0, 0], [0, 0, 0, 1]) == pytest.approx(1.0)
    # moving all mass one step out of three possible steps
    assert wasserstein_ordered([1, 0, 0, 0], [0, 1, 0, 0]) == pytest.approx(1 / 3)
    assert similarity_wasserstein([1, 0, 0, 0], [0, 0, 0, 1]) == pytest.approx(0.0)
    assert similarity_wasserstein([0, 2, 2], [0, 1, 1]) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("p", "q", "message"),
    [
        ([0.5, -0.1, 0.6], [0.3, 0.3, 0.4], "negative"),
        ([0.5, np.nan], [0.5, 0.5], "non-finite"),
        ([0.5, 0.5], [0.2, 0.3, 0.5], "same number of options"),
        ([[0.5, 0.5], [0, 0]], [0.5, 0.5], "sums to zero"),
        (np.ones((3, 2)), np.ones((4, 2)), "incompatible shapes"),
    ],
)
def test_bad_input_raises(p: object, q: object, message: str) -> None:
    for function in (js_distance, total_variation, wasserstein_ordered):
        with pytest.raises(ValueError, match=message):
            function(p, q)


def test_wasserstein_needs_two_options() -> None:
    with pytest.raises(ValueError, match="at least 2 options"):
        wasserstein_ordered([1.0], [1.0])
