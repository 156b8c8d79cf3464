"""Response.validate: what no model can answer is refused, and what any model can is kept."""

from __future__ import annotations

import math

import pytest

from forkingpaths.models.base import InvalidResponseError, PermanentBackendError, Response

POSSIBLE = [
    Response(text="A", label_probs={"A": 0.7, "B": 0.3}, valid_mass=0.9),
    Response(label_probs={"A": 1.0, "B": None}, valid_mass=1.0 + 5e-7),  # rounding above 1
    Response(label_probs={"A": None, "B": None}, valid_mass=0.0),
    Response(text="", prompt_tokens=0, completion_tokens=3, latency_s=0.0),
    Response(embedding=[0.0, -1.5, 2]),
    Response(label_probs={"1": 0.6, "10": 0.4}, valid_mass=1.5),  # "1" counted again inside "10"
    Response(label_probs={"A": 0.5, "B": 0.5}, extra={"label_logprobs": {"A": -0.1, "B": -math.inf}}),
]

IMPOSSIBLE = {
    "valid mass 40.2": Response(label_probs={"A": 0.5, "B": 0.5}, valid_mass=40.2),
    "negative mass": Response(valid_mass=-0.5),
    "NaN mass": Response(valid_mass=math.nan),
    "probability above 1": Response(label_probs={"A": 1.5, "B": None}),
    "NaN probability": Response(label_probs={"A": math.nan}),
    "probabilities not summing to 1": Response(label_probs={"A": 0.2, "B": 0.2}),
    "positive logprob": Response(label_probs={"A": 1.0}, extra={"label_logprobs": {"A": 3.0}}),
    "infinite embedding": Response(embedding=[0.1, math.inf]),
    "empty embedding": Response(embedding=[]),
    "text as a number": Response(text=5),  # type: ignore[arg-type]
    "negative tokens": Response(prompt_tokens=-1),
    "NaN latency": Response(latency_s=math.nan),
}


@pytest.mark.parametrize("response", POSSIBLE)
def test_possible_responses_pass(response: Response) -> None:
    response.validate()


@pytest.mark.parametrize("name", sorted(IMPOSSIBLE))
def test_impossible_responses_are_refused_as_permanent_errors(name: str) -> None:
    with pytest.raises(InvalidResponseError, match="impossible response: ") as caught:
        IMPOSSIBLE[name].validate()
    assert isinstance(caught.value, PermanentBackendError)  # so the executor records an error row
    assert "\n" not in str(caught.value)
