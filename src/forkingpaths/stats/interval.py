"""The interval every estimator returns, in a module of its own.

:mod:`forkingpaths.results` needs the type to read and write ``results.json``; keeping it
apart from the estimators (which need numpy, pandas and scipy) lets a run import its result
types without the statistics stack before its first request.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided confidence interval and the method that produced it.

    ``se`` is the standard error the interval was built from, when there is one (``None``
    for intervals such as Wilson's that are not "estimate ± z·se").
    """

    estimate: float
    lower: float
    upper: float
    method: str
    level: float = 0.95
    se: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the fields, ready for JSON."""
        return asdict(self)
