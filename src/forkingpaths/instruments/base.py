"""The instrument protocol: items in, requests out; responses in, scores and analyses out.

An instrument knows its factors (which levels are valid and what they mean),
how to render one trial into a :class:`~forkingpaths.models.base.Request`, how
to parse a response back into canonical terms, and which analyses to run on the
finished trials table. It never calls a model and never prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from forkingpaths.design import Condition
from forkingpaths.models.base import Capabilities, Request, Response
from forkingpaths.spec import Spec


@dataclass(frozen=True)
class Parsed:
    """A response in canonical terms.

    ``answer`` is the canonical option the model chose (``None`` when the text
    could not be parsed, never a default option); ``option_probs`` is the
    distribution over the canonical options (``None`` entries for options a
    backend could not score); ``valid_mass`` the raw mass on valid labels.
    """

    answer: str | None
    option_probs: list[float | None] | None
    valid_mass: float | None


class Instrument(Protocol):
    name: str

    def validate(self, spec: Spec, items: list[Any]) -> list[str]:
        """Problems with the instrument's params and factor levels given the loaded items,
        one ``key.path: message`` each."""

    def load_items(self, spec: Spec, base_dir: Path) -> list[Any]:
        """The spec's items (each with an ``item_id``)."""

    def expand_factors(self, factors: dict[str, list[str]], items: list[Any]) -> dict[str, list[str]]:
        """Factor levels after instrument-specific expansion (e.g. a persona per target group)."""

    def render(self, item: Any, condition: Condition, repeat: int, spec: Spec, capabilities: Capabilities) -> Request:
        """The request for one trial."""

    def parse(self, item: Any, condition: Condition, request: Request, response: Response) -> Parsed:
        """Map a response back to canonical options."""

    def analyse(self, trials: pd.DataFrame, items: list[Any], spec: Spec, run_dir: Path) -> dict[str, Any]:
        """Scores and analyses over the trials table; writes instrument tables to ``run_dir``."""
