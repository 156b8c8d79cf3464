"""The survey's built-in example spec: ``forkingpaths demo`` (registered as the example ``values``)."""

from __future__ import annotations

from forkingpaths.spec import Spec, parse_spec

DEMO_PERSONA_GROUPS = ["US", "DK", "NG", "BR"]


def values_demo(limit: int | None = None) -> Spec:
    """The World Values Survey example: 31 items, 13 countries, 8 format conditions, 4 persona targets.

    Format factors (option order × label style × template) give the 8 conditions
    the stability analysis compares; the persona factor adds "an average person
    from G" for four countries on four continents, for the steerability analysis.
    """
    from forkingpaths.instruments.survey.data.builtin import group_names

    return parse_spec(
        {
            "name": "values-demo",
            "instrument": {
                "name": "survey",
                "params": {
                    "elicitation": "auto",
                    "persona_groups": DEMO_PERSONA_GROUPS,
                    "group_names": group_names("values"),
                    "holdout": {"by": "topic"},
                },
            },
            "data": {"loader": "builtin", "params": {"name": "values", "groups": "country"}},
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
        },
        "built-in demo spec",
    )
