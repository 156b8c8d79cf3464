"""CAT consistency metrics and multi-prompt summaries against hand-worked and independent code."""

import csv
from fractions import Fraction
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import trapezoid

from forkingpaths.stats.consistency import CAR_GRID, _dtw_l1, cat_metrics, multi_prompt

DATA = Path(__file__).resolve().parents[1] / "data" / "cat_medqa" / "correctness.csv"


def _dtw_recursive(x: list[float], y: list[float]) -> float:
    """Reference DTW written as a memoised recursion from the end of both sequences."""

    @cache
    def cost(i: int, j: int) -> float:
        local = abs(x[i] - y[j])
        if i == 0 and j == 0:
            return local
        steps = []
        if i > 0:
            steps.append(cost(i - 1, j))
        if j > 0:
            steps.append(cost(i, j - 1))
        if i > 0 and j > 0:
            steps.append(cost(i - 1, j - 1))
        return local + min(steps)

    return cost(len(x) - 1, len(y) - 1)


def _cat_reference(rows: list[str]) -> dict[str, float | list[float]]:
    """Pure-python CAT metrics with exact rational threshold comparisons."""
    car = []
    for k in range(11):
        reached = 0
        for bits in rows:
            if Fraction(bits.count("1"), len(bits)) >= Fraction(k, 10):
                reached += 1
        car.append(reached / len(rows))
    area = sum((car[k] + car[k + 1]) / 2 * 0.1 for k in range(10))
    worst = [1.0] + [0.0] * 10
    normdtw = 1 - _dtw_recursive(car, [1.0] * 11) / _dtw_recursive([1.0] * 11, worst)
    return {"car": car, "aucar": area, "normdtw": normdtw, "core": area * normdtw}


def test_hand_worked_example() -> None:
    # 4 items x 3 variants with 3, 2, 1, 0 correct: RC = 1, 2/3, 1/3, 0.
    correct = np.array([[1, 1, 1], [1, 1, 0], [0, 1, 0], [0, 0, 0]], dtype=bool)
    result = cat_metrics(correct)
    expected_car = [1, 0.75, 0.75, 0.75, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25]
    assert result["car"] == pytest.approx(expected_car)
    assert list(result["mca"]) == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    assert result["mca"][0.3] == pytest.approx(0.75)
    # trapezoids: (0.875 + 0.75 + 0.75 + 0.625 + 0.5 + 0.5 + 0.375 + 0.25 * 3) * 0.1
    assert result["aucar"] == pytest.approx(0.5125)
    # DTW to the all-ones line is sum(1 - CAR) = 5.25; the worst curve is 10 away.
    assert result["normdtw"] == pytest.approx(1 - 5.25 / 10)
    assert result["core"] == pytest.approx(0.5125 * 0.475)


def test_thresholds_that_float_rounding_would_miss() -> None:
    # 0.3 * 10 and 0.7 * 10 exceed 3 and 7 in floating point; items on the threshold count.
    three = np.array([[1, 1, 1, 0, 0, 0, 0, 0, 0, 0]])
    seven = np.array([[1, 1, 1, 1, 1, 1, 1, 0, 0, 0]])
    assert cat_metrics(three)["mca"][0.3] == 1.0
    assert cat_metrics(three)["mca"][0.4] == 0.0
    assert cat_metrics(seven)["mca"][0.7] == 1.0
    assert cat_metrics(seven)["mca"][0.8] == 0.0


def test_best_and_worst_models() -> None:
    perfect = cat_metrics(np.ones((5, 4), dtype=bool))
    assert perfect["car"] == [1.0] * 11
    assert (perfect["aucar"], perfect["normdtw"], perfect["core"]) == pytest.approx((1, 1, 1))
    hopeless = cat_metrics(np.zeros((5, 4), dtype=bool))
    assert hopeless["car"] == [1.0] + [0.0] * 10
    assert (hopeless["aucar"], hopeless["normdtw"], hopeless["core"]) == pytest.approx((0.05, 0, 0))


def test_aucar_matches_scipy_trapezoid() -> None:
    rng = np.random.default_rng(0)
    correct = rng.random((50, 7)) < 0.6
    result = cat_metrics(correct)
    assert result["aucar"] == pytest.approx(trapezoid(result["car"], CAR_GRID), abs=1e-12)


def test_dtw_matches_recursive_reference() -> None:
    rng = np.random.default_rng(1)
    for n, m in [(11, 11), (5, 9), (8, 3), (1, 4)]:
        x, y = rng.random(n), rng.random(m)
        assert _dtw_l1(x, y) == pytest.approx(_dtw_recursive(list(x), list(y)), abs=1e-12)


def _real_data() -> dict[tuple[str, str], list[str]]:
    groups: dict[tuple[str, str], list[str]] = {}
    with open(DATA, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            groups.setdefault((row["model"], row["variant_type"]), []).append(row["correct"])
    return groups


# Values computed on tests/data/cat_medqa (1,273 MedQA items x 11 variants), also in SOURCE.md.
RECORDED = {
    ("medalpaca-7b", "standard_MC"): (0.2835, 0.2346, 0.0665),
    ("medalpaca-7b", "standard_MC_shuffled"): (0.2700, 0.2207, 0.0596),
    ("mistral-7b-instruct", "standard_MC"): (0.3263, 0.2831, 0.0924),
    ("mistral-7b-instruct", "standard_MC_shuffled"): (0.3386, 0.2910, 0.0985),
}


def test_real_cat_medqa_data_against_pure_python_reference() -> None:
    groups = _real_data()
    assert set(groups) == set(RECORDED)
    for key, rows in groups.items():
        assert len(rows) == 1273 and all(len(bits) == 11 for bits in rows)
        correct = np.array([[bit == "1" for bit in bits] for bits in rows])
        got = cat_metrics(correct)
        reference = _cat_reference(rows)
        assert got["car"] == pytest.approx(reference["car"], abs=1e-12)
        for name in ("aucar", "normdtw", "core"):
            assert got[name] == pytest.approx(reference[name], abs=1e-12)
        assert (got["aucar"], got["normdtw"], got["core"]) == pytest.approx(RECORDED[key], abs=5e-5)


@pytest.mark.parametrize(
    ("correct", "message"),
    [
        (np.array([True, False]), "2-D"),
        (np.zeros((0, 3), dtype=bool), "at least one item"),
        (np.array([[0, 2], [1, 1]]), "booleans or 0/1"),
        (np.array([["a", "b"]]), "booleans or 0/1"),
    ],
)
def test_cat_metrics_bad_input(correct: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cat_metrics(correct)


def test_multi_prompt_hand_example() -> None:
    result = multi_prompt([0.5, 0.7, 0.6])
    assert result["maxp"] == pytest.approx(0.7)
    assert result["avgp"] == pytest.approx(0.6)
    assert result["cps"] == pytest.approx(0.7 * (1 - 0.1))
    assert result["spread"] == pytest.approx(0.2)


def test_multi_prompt_rows_against_python_builtins() -> None:
    rng = np.random.default_rng(2)
    accuracies = rng.random((4, 6))
    result = multi_prompt(accuracies)
    for row, values in enumerate(accuracies.tolist()):
        best, mean = max(values), sum(values) / len(values)
        assert result["maxp"][row] == pytest.approx(best)
        assert result["avgp"][row] == pytest.approx(mean)
        assert result["cps"][row] == pytest.approx(best - best * (best - mean))
        assert result["spread"][row] == pytest.approx(best - min(values))


@pytest.mark.parametrize("accuracies", [[0.5, 1.2], [np.nan, 0.5], []])
def test_multi_prompt_bad_input(accuracies: list[float]) -> None:
    with pytest.raises(ValueError, match="accuracies"):
        multi_prompt(accuracies)
