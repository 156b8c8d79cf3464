"""Shared helpers for the loader tests: write small files, load them through the public entry point."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from forkingpaths.instruments.survey.data import SurveyItem, load_survey_items
from forkingpaths.errors import DataError
from forkingpaths.spec import DataSpec

FIXTURES = Path(__file__).parent / "fixtures"


def write(base: Path, name: str, text: str) -> str:
    """Write ``text`` (dedented) to ``base/name`` and return ``name``, the path a spec would use."""
    path = base / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return name


def load(base: Path, **data: Any) -> list[SurveyItem]:
    return load_survey_items(DataSpec(**data), base)


def load_error(base: Path, **data: Any) -> str:
    """The message of the DataError that loading raises; every such message is one line."""
    with pytest.raises(DataError) as caught:
        load(base, **data)
    message = str(caught.value)
    assert "\n" not in message
    return message
