"""Instruments by name."""

from __future__ import annotations

from typing import Any

from forkingpaths.errors import SpecError
from forkingpaths.instruments.base import Instrument

INSTRUMENTS = ("survey",)


def get_instrument(name: str, params: dict[str, Any], seed: int) -> Instrument:
    """The instrument called ``name``, configured with its spec params."""
    if name == "survey":
        from forkingpaths.instruments.survey.instrument import SurveyInstrument

        return SurveyInstrument(params, seed)
    raise SpecError([f"instrument.name: unknown instrument {name!r}; expected one of {', '.join(INSTRUMENTS)}"])
