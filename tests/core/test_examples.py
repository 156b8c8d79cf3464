"""The built-in demo spec passes validation at every ``--limit`` (no model is loaded or called)."""

from __future__ import annotations

from pathlib import Path

import pytest

from forkingpaths.instruments.survey.examples import DEMO_PERSONA_GROUPS, values_demo as demo_spec
from forkingpaths.pipeline import prepare


@pytest.mark.parametrize("limit", [1, 2, 3, 7, None])
def test_demo_spec_prepares_at_every_limit(limit: int | None, tmp_path: Path) -> None:
    spec = demo_spec(limit).model_copy(update={"output_dir": str(tmp_path)})  # not ./runs, where `make demo` leaves its run
    prepared = prepare(spec, Path.cwd())
    items, conditions, trials = prepared.items, prepared.conditions, prepared.trials
    assert len(items) == (limit or 31)
    targets = spec.instrument.params["persona_groups"]
    assert set(targets) <= set(DEMO_PERSONA_GROUPS)
    present = {group for item in items for group in item.groups}
    assert all(group in present for group in targets)
    assert conditions and len(trials) == len(items) * len(conditions)


def test_demo_without_limit_keeps_all_four_persona_targets() -> None:
    assert demo_spec().instrument.params["persona_groups"] == DEMO_PERSONA_GROUPS
