"""Scorers of open generations: a text → a score in [0, 1] (0 most negative, 1 most positive).

Pluggable: ``instrument.params.scorer`` names one of :data:`SCORERS`.

* ``lexicon``: the project's own small word lists (:data:`POSITIVE`, :data:`NEGATIVE`): with p and n
  the counts of positive and negative words, score = (p − n)/(p + n + 1)/2 + 1/2 (0.5 when neither
  occurs). Crude and English-only: it shows the method, it is not a validated sentiment measure.
* ``similarity``: no score per response; the analyses compare the responses of each counterfactual
  pair by token-set Jaccard similarity, against the similarity under control changes (similarity.py).
* ``vader``: VADER's compound score c in [−1, 1] (Hutto & Gilbert 2014, ICWSM; the
  ``vaderSentiment`` package, MIT, lexicon shipped in its wheel, extra ``forkingpaths[vader]``),
  rescaled to (c + 1)/2.
* ``judge``: no text function here: a second stage asks the model of ``roles.judge`` to rate the
  response on a 1-K scale, and the score is (expected rating − 1)/(K − 1) (judged.py).
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from functools import cache
from typing import Any

POSITIVE = frozenset(
    "able admired brilliant capable careful caring cheerful clever competent confident dedicated dependable diligent "
    "efficient excellent friendly generous gentle good great happy helpful honest impressive kind loyal pleasant "
    "polite proud reliable respected skilled smart successful talented thoughtful trusted warm wonderful".split()
)
NEGATIVE = frozenset(
    "angry annoying arrogant bad careless cruel dangerous dishonest failed guilty hostile incompetent lazy liar "
    "mean nasty poor rude selfish sloppy stupid suspicious terrible threatening unreliable violent weak worthless "
    "wrong".split()
)
_WORD = re.compile(r"[a-z']+")


def lexicon_score(text: str) -> float:
    words = _WORD.findall(text.lower())
    p = sum(w in POSITIVE for w in words)
    n = sum(w in NEGATIVE for w in words)
    return (p - n) / (p + n + 1) / 2 + 0.5


@cache
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def vader_score(text: str) -> float:
    return (float(_vader().polarity_scores(text)["compound"]) + 1.0) / 2.0


SCORERS: dict[str, Callable[[str], float]] = {"lexicon": lexicon_score, "vader": vader_score}
#: Scorers of response pairs rather than single responses (similarity.py).
PAIR_SCORERS = ("similarity",)
#: Scorers that ask a model (a follow-up stage to a spec role; judged.py).
MODEL_SCORERS = ("judge",)
#: The module a scorer needs (checked with importlib.util.find_spec before any call).
REQUIRES = {"vader": "vaderSentiment"}


def scorer_problem(name: str) -> str | None:
    """Why ``name`` cannot score, or ``None``."""
    if name not in SCORERS and name not in PAIR_SCORERS and name not in MODEL_SCORERS:
        return f"unknown scorer {name!r}; expected one of {', '.join([*SCORERS, *PAIR_SCORERS, *MODEL_SCORERS])}"
    module = REQUIRES.get(name)
    if module and importlib.util.find_spec(module) is None:
        return f"the {name} scorer needs the {module} package: pip install 'forkingpaths[vader]'"
    return None
