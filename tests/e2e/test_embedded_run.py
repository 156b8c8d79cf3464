"""End to end on the embedded model: caching, incremental designs and the survey analyses on a real run."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import forkingpaths
from forkingpaths import RunOptions, parse_spec
from forkingpaths.instruments.survey.data import load_survey_items

pytestmark = pytest.mark.model

FACTORS = {
    "option_order": ["original", "reversed"],
    "label_style": ["letters", "numbers"],
    "persona": ["none", "average"],
}


def small_spec(tmp_path, factors=FACTORS, **extra):
    return parse_spec(
        {
            "name": "small",
            "instrument": {"name": "survey", "params": {"persona_groups": ["US", "DK"], "holdout": {"by": "random", "fraction": 0.5}}},
            "data": {"loader": "builtin", "params": {"name": "values"}, "limit": 6},
            "models": ["llamacpp"],
            "factors": factors,
            "seed": 3,
            "output_dir": str(tmp_path / "runs"),
            "analysis": {"n_resamples": 200},
            **extra,
        }
    )


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("embedded")
    cache = tmp_path / "cache"
    result = forkingpaths.run(small_spec(tmp_path), RunOptions(cache_dir=cache))
    return tmp_path, cache, result


def test_every_trial_is_run_and_stored_once(first_run) -> None:
    _, _, result = first_run
    trials = result.trials
    assert len(trials) == 6 * 4 * 3  # items × format conditions × (none + 2 persona targets)
    assert trials["trial_id"].is_unique
    counts = result.manifest.counts.model_dump()
    assert counts == {**counts, "trials": 72, "model_calls": 72, "cache_hits": 0, "errors": 0}
    assert set(trials.columns) >= {"option_order", "label_style", "persona", "option_probs", "valid_mass", "response_text", "cached"}
    sums = trials["option_probs"].apply(sum)
    assert sums.between(1 - 1e-9, 1 + 1e-9).all()
    assert trials["valid_mass"].between(0, 1).all() and (trials["valid_mass"] > 0).all()
    on_disk = pd.read_parquet(result.directory / "trials.parquet")
    assert on_disk["trial_id"].tolist() == trials["trial_id"].tolist()
    manifest = json.loads((result.directory / "manifest.json").read_text())
    assert manifest["models"]["llamacpp"]["identity"].startswith("sha256:")


def test_rerun_makes_zero_model_calls(first_run) -> None:
    tmp_path, cache, result = first_run
    again = forkingpaths.run(small_spec(tmp_path), RunOptions(cache_dir=cache, out=str(tmp_path / "rerun")))
    assert again.manifest.counts.model_calls == 0
    assert again.manifest.counts.cache_hits == 72
    assert again.trials["cached"].all()
    pd.testing.assert_series_equal(again.trials["option_probs"].apply(tuple), result.trials["option_probs"].apply(tuple))
    assert again.analyses["models"]["llamacpp"]["stability"] == result.analyses["models"]["llamacpp"]["stability"]


def test_adding_a_level_runs_only_the_new_trials(first_run) -> None:
    tmp_path, cache, result = first_run
    wider = {**FACTORS, "label_style": ["letters", "numbers", "text"]}
    grown = forkingpaths.run(small_spec(tmp_path, wider), RunOptions(cache_dir=cache, out=str(tmp_path / "wider")))
    counts = grown.manifest.counts.model_dump()
    assert counts["trials"] == 108 and counts["cache_hits"] == 72 and counts["model_calls"] == 36
    old_ids = set(result.trials["trial_id"])
    assert old_ids < set(grown.trials["trial_id"])
    new_rows = grown.trials[~grown.trials["trial_id"].isin(old_ids)]
    assert (new_rows["label_style"] == "text").all() and not new_rows["cached"].any()


def test_identical_requests_are_made_once(first_run) -> None:
    """With two options, a shuffle is the original or the reversed order: no new model calls."""
    tmp_path, cache, _ = first_run
    shuffled = {**FACTORS, "option_order": ["original", "reversed", "shuffle-1"]}
    grown = forkingpaths.run(small_spec(tmp_path, shuffled), RunOptions(cache_dir=cache, out=str(tmp_path / "shuffled")))
    counts = grown.manifest.counts.model_dump()
    assert counts["trials"] == 108 and counts["requests"] == 72 and counts["model_calls"] == 0


def test_survey_analyses_on_a_real_run(first_run) -> None:
    _, _, result = first_run
    model = result.analyses["models"]["llamacpp"]
    stability = model["stability"]
    assert stability["available"] and len(stability["specification_curve"]) == 4
    assert stability["kendall_w"] is not None and 0 <= stability["kendall_w"] <= 1
    components = {c["component"] for c in stability["variance_components"]}
    assert components == {
        "option_order", "label_style", "item", "group", "item:option_order", "item:label_style", "item:group", "residual"
    }
    # two of the first six built-in items lack data for three countries: groups are compared on the other four
    assert model["item_set"] == {"kind": "common", "n_items": 4, "excluded_items": ["C001_01", "C002_01"]}
    assert sum(stability["p_closest"].values()) == pytest.approx(1)
    assert sum(c["share"] for c in stability["variance_components"]) == pytest.approx(1)
    steer = model["steerability"]
    assert steer["available"] and {t["target"] for t in steer["targets"]} == {"US", "DK"}
    for target in steer["targets"]:
        assert target["delta_target"]["lower"] <= target["delta_target"]["estimate"] <= target["delta_target"]["upper"]
    extra = model["extrapolability"]
    assert extra["available"] and extra["n_groups"] == 13 and -1 <= extra["pearson_r"]["estimate"] <= 1
    assert 0 < extra["permutation"]["p_value"] <= 1
    assert result.analyses["human_spread"] > 0 and model["design_spread"] >= 0
    assert result.document()["findings"] and all(f["rule"] for f in result.document()["findings"])
    alignment = pd.read_parquet(result.directory / "alignment.parquet")
    items = load_survey_items(small_spec(result.directory).data, result.directory)
    groups_per_item = {item.item_id: len(item.groups) for item in items}
    assert len(alignment) == sum(groups_per_item[i] for i in result.trials["item_id"])
    assert alignment["similarity"].between(0, 1).all()
    saved = json.loads((result.directory / "results.json").read_text())
    assert saved["analyses"]["models"]["llamacpp"]["stability"]["closest_group"] == stability["closest_group"]


def test_a_model_compared_with_itself_differs_nowhere(first_run, embedded_model_path) -> None:
    """The same GGUF under two references: shared cache entries, zero differences, no significant group."""
    tmp_path, cache, _ = first_run
    twin = f"llamacpp:{embedded_model_path}"
    both = forkingpaths.run(small_spec(tmp_path, models=["llamacpp", twin]), RunOptions(cache_dir=cache, out=str(tmp_path / "twins")))
    assert both.manifest.counts.model_calls == 0 and both.manifest.counts.trials == 144
    (comparison,) = both.analyses["comparisons"]
    assert (comparison["a"], comparison["b"]) == ("llamacpp", twin)
    assert all(row["estimate"] == 0 and not row["significant"] for row in comparison["by_group"])
    finding = next(f for f in both.document()["findings"] if f["topic"] == "model comparison")
    assert finding["verdict"] == "no reliable difference"


def test_sampling_elicitation_on_the_embedded_model(tmp_path) -> None:
    """k sampled answers per trial, parsed to options; unparseable ones are counted, never assigned."""
    spec = parse_spec(
        {
            "name": "sampled",
            "instrument": {"name": "survey", "params": {"elicitation": "sample"}},
            "data": {"loader": "builtin", "params": {"name": "values"}, "limit": 4},
            "factors": {"option_order": ["original", "reversed"]},
            "repeats": 4,
            "seed": 5,
            "output_dir": str(tmp_path / "runs"),
            "analysis": {"n_resamples": 100},
        }
    )
    result = forkingpaths.run(spec, RunOptions(cache_dir=tmp_path / "cache"))
    trials = result.trials
    assert len(trials) == 4 * 2 * 4 and result.manifest.counts.model_calls == 32
    assert trials["option_probs"].isna().all() and trials["response_text"].notna().all()
    items = {item.item_id: item for item in load_survey_items(spec.data, tmp_path)}
    for row in trials.itertuples():
        assert pd.isna(row.answer) or row.answer in items[row.item_id].options
    summary = result.analyses["models"]["llamacpp"]["elicitation"]
    assert summary["mode"] == ["sample"]
    assert summary["invalid_samples"] == int(trials["answer"].isna().sum())


def test_repeats_of_a_deterministic_request_are_one_call(tmp_path) -> None:
    spec = small_spec(tmp_path, {"option_order": ["original"]}, repeats=3)
    result = forkingpaths.run(spec, RunOptions(cache_dir=tmp_path / "cache"))
    counts = result.manifest.counts.model_dump()
    assert counts["trials"] == 6 * 3 and counts["requests"] == 6 and counts["model_calls"] == 6


def test_language_factor_with_user_translations(tmp_path) -> None:
    (tmp_path / "translations.csv").write_text(
        "item_id,language,question,options\n"
        'C001_01,da,"Når der er få job, bør mænd så have mere ret til et job end kvinder?","[""Ja"", ""Nej""]"\n'
        'C002_01,da,"Bør arbejdsgivere give landets egne borgere forrang frem for indvandrere?","[""Ja"", ""Nej""]"\n'
    )
    spec = parse_spec(
        {
            "name": "languages",
            "instrument": {
                "name": "survey",
                "params": {
                    "translations": {
                        "da": {
                            "templates": {"plain": "{question}\n\n{options}\n\n{instruction}"},
                            "instructions": {"letters": "Svar kun med bogstavet for én mulighed."},
                        }
                    }
                },
            },
            "data": {"loader": "builtin", "limit": 2, "params": {"translations": str(tmp_path / "translations.csv")}},
            "factors": {"language": ["en", "da"], "option_order": ["original", "reversed"]},
            "output_dir": str(tmp_path / "runs"),
            "analysis": {"n_resamples": 100},
        }
    )
    result = forkingpaths.run(spec, RunOptions(cache_dir=tmp_path / "cache"))
    trials = result.trials
    assert len(trials) == 2 * 2 * 2 and set(trials["language"]) == {"en", "da"}
    assert trials["option_probs"].apply(sum).between(1 - 1e-9, 1 + 1e-9).all()
    canonical = {item.item_id: item.options for item in load_survey_items(spec.data, tmp_path)}
    for row in trials[trials["language"] == "da"].itertuples():
        assert row.answer in canonical[row.item_id]  # answers are canonical options, never the translated text
    components = {c["component"] for c in result.analyses["models"]["llamacpp"]["stability"]["variance_components"]}
    assert "language" in components and "item:language" in components

