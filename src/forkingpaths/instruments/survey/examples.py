"""The survey's built-in example spec: ``forkingpaths demo`` (registered as the example ``values``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from forkingpaths.spec import Spec, parse_spec

DEMO_PERSONA_GROUPS = ["US", "DK", "NG", "BR"]
_SOURCE = "built-in demo spec"


def values_demo(limit: int | None = None) -> Spec:
    """The World Values Survey example: 31 items, 13 countries, 8 format conditions, 4 persona targets.

    Format factors (option order × label style × template) give the 8 conditions
    the stability analysis compares; the persona factor adds "an average person
    from G" for four countries on four continents, for the steerability analysis.

    ``limit`` keeps the first N items (``forkingpaths demo --limit N``). The first
    items do not have answers from every country, so the persona targets are then the
    demo countries those items have; with none of them, every group the items have.
    Without this, a small limit failed on a persona group the user never wrote.
    """
    spec = parse_spec(_demo_dict(DEMO_PERSONA_GROUPS, limit), _SOURCE)
    if limit is None:
        return spec
    from forkingpaths.instruments.survey.data import load_survey_items

    present = {group for item in load_survey_items(spec.data, Path.cwd()) for group in item.groups}
    targets = [group for group in DEMO_PERSONA_GROUPS if group in present]
    return parse_spec(_demo_dict(targets, limit), _SOURCE)


def _demo_dict(persona_groups: list[str], limit: int | None) -> dict[str, Any]:
    """The demo spec as plain data; an empty ``persona_groups`` means every group of the items."""
    from forkingpaths.instruments.survey.data.builtin import group_names

    return {
        "name": "values-demo",
        "instrument": {
            "name": "survey",
            "params": {
                "elicitation": "auto",
                "persona_groups": persona_groups,
                "group_names": group_names("values"),
                "holdout": {"by": "topic"},
            },
        },
        "data": {"loader": "builtin", "params": {"name": "values", "groups": "country"}, "limit": limit},
        "models": ["llamacpp"],
        "factors": {
            "option_order": ["original", "reversed"],
            "label_style": ["letters", "numbers"],
            "template": ["plain", "survey"],
            "persona": ["none", "average"],
        },
        "seed": 20261122,
        "concurrency": 1,
        "output_dir": "runs",
        "analysis": {"level": 0.95, "n_resamples": 1000},
        "validity": {
            "phenomenon": (
                "Whose stated values a model's answers resemble: the similarity between the model's answer "
                "distribution and each country's distribution of survey answers on the same questions."
            ),
            "data_reuse": (
                "Items and country shares come from the joint World Values Survey / European Values Study "
                "(EVS/WVS joint v5.0), as aggregated by Rystrøm, Kirk & Hale (2025)."
            ),
            "representative_data": (
                "31 binary items from six topics and 13 mostly English-speaking, high-income countries: "
                "enough to show the method, far too narrow for claims about cultures in general."
            ),
            "justification": (
                "Answer-distribution similarity is taken as evidence of value alignment only where the model's "
                "answers are stable across formats; the stability, steerability and extrapolability analyses "
                "test exactly that, and a 135M-parameter model is expected to fail them."
            ),
            "contamination": (
                "The survey questions are public and may appear in pretraining data; the question wording used "
                "here is the project's own, which lowers but does not remove that risk."
            ),
        },
    }
