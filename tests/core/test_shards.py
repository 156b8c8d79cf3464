"""The trial plan: the nested order of the design, read by position and in shards, never materialised."""

from __future__ import annotations

import sys

from forkingpaths.design import Trial, expand_conditions, expand_trials


def test_trial_plan_matches_the_nested_loops() -> None:
    conditions = expand_conditions({"a": ["x", "y", "z"], "b": ["1", "2"]})
    plan = expand_trials(["m1", "m2"], ["i1", "i2", "i3"], conditions, 2)
    nested = [Trial(m, i, c, r) for m in ["m1", "m2"] for i in ["i1", "i2", "i3"] for c in conditions for r in range(2)]
    assert len(plan) == len(nested) == 72
    assert list(plan) == nested
    assert [plan[i] for i in range(len(plan))] == nested
    assert plan[5:17] == nested[5:17] and plan[-1] == nested[-1]
    assert [t for shard in plan.shards(7) for t in shard] == nested
    assert [len(s) for s in plan.shards(50)] == [50, 22]


def test_a_million_trial_plan_is_not_materialised() -> None:
    conditions = expand_conditions({"f": [str(i) for i in range(100)]})
    plan = expand_trials(["m"], [f"item{i}" for i in range(1000)], conditions, 10)
    assert len(plan) == 1_000_000
    assert sys.getsizeof(plan) < 1_000  # four short tuples, not a million objects
    assert plan[999_999] == Trial("m", "item999", conditions[99], 9)

