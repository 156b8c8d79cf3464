"""Design expansion: factorial conditions, seeded subsets, content-derived stable ids."""

from __future__ import annotations

from forkingpaths.design import Condition, Trial, expand_conditions, expand_trials


def test_full_factorial_in_spec_order() -> None:
    conditions = expand_conditions({"a": ["1", "2"], "b": ["x", "y", "z"]})
    assert len(conditions) == 6
    assert conditions[0].as_dict() == {"a": "1", "b": "x"}
    assert conditions[-1].as_dict() == {"a": "2", "b": "z"}
    assert len({c.id for c in conditions}) == 6


def test_no_factors_gives_one_condition() -> None:
    (only,) = expand_conditions({})
    assert only.as_dict() == {} and only.label() == "(single condition)"


def test_max_conditions_draws_a_seeded_subset() -> None:
    factors = {"a": [str(i) for i in range(5)], "b": [str(i) for i in range(4)]}
    first = expand_conditions(factors, max_conditions=7, seed=3)
    again = expand_conditions(factors, max_conditions=7, seed=3)
    other = expand_conditions(factors, max_conditions=7, seed=4)
    assert [c.id for c in first] == [c.id for c in again]
    assert len(first) == 7 and len({c.id for c in first}) == 7
    assert [c.id for c in first] != [c.id for c in other]
    assert len(expand_conditions(factors, max_conditions=100)) == 20


def test_adding_a_level_or_item_keeps_existing_ids() -> None:
    before = expand_trials(["m"], ["i1", "i2"], expand_conditions({"a": ["1", "2"]}), repeats=2)
    after = expand_trials(["m"], ["i0", "i1", "i2"], expand_conditions({"a": ["0", "1", "2"]}), repeats=2)
    old_ids = {t.id for t in before}
    new_ids = {t.id for t in after}
    assert old_ids < new_ids
    assert len(after) == 3 * 3 * 2


def test_condition_id_ignores_factor_order() -> None:
    assert Condition((("a", "1"), ("b", "2"))).id == Condition((("b", "2"), ("a", "1"))).id


def test_trial_id_depends_on_every_part() -> None:
    c = Condition((("a", "1"),))
    base = Trial("m", "i", c, 0).id
    assert Trial("m2", "i", c, 0).id != base
    assert Trial("m", "i2", c, 0).id != base
    assert Trial("m", "i", c, 1).id != base
    assert Trial("m", "i", Condition((("a", "2"),)), 0).id != base
