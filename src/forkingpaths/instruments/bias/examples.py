"""The bias instrument's built-in example spec: ``forkingpaths demo bias`` (registered as the example ``bias``)."""

from __future__ import annotations

from typing import Any

from forkingpaths.spec import Spec, parse_spec

DEMO_TEMPLATES = 20


def bias_demo(limit: int | None = None) -> Spec:
    """Rating templates (names and nationalities), a BBQ subset and résumé rankings on the embedded model.

    The 12 built-in rating templates with one seeded filler per group (8 race × gender name
    groups, 6 regional nationality groups), the 16 BBQ rows of two categories (Age, Religion: 2 templates each, ambiguous
    and disambiguated, negative and non-negative question), and 4 rankings of 4 candidates
    (one per job, résumés cut to their first 8 lines), under the controls none, typo,
    irrelevant and candidate-order (synonym, neutral-swap and sentence-order are left out to
    keep the demo short on a shared machine). A
    control that cannot change an item's prompt renders the same request as ``none`` and
    costs no call. ``limit`` keeps the first N templates.
    """
    return parse_spec(_demo_dict(limit or DEMO_TEMPLATES), "built-in demo spec")


def _demo_dict(limit: int) -> dict[str, Any]:
    return {
        "name": "bias-demo",
        "instrument": {"name": "bias", "params": {"elicitation": "probabilities"}},
        "data": {
            "loader": "builtin",
            "params": {"sets": ["ratings", "bbq", "bloomberg"], "fillers_per_template": 1, "candidates": 4,
                       "rankings_per_job": 1, "resume_lines": 8},
            "filter": {"category": ["Age", "Religion"]},
            "limit": limit,
        },
        "models": ["llamacpp"],
        "factors": {"control": ["none", "typo", "irrelevant", "candidate-order"]},
        "seed": 20260613,
        "concurrency": 1,
        "output_dir": "runs",
        "analysis": {"level": 0.95, "n_resamples": 1000},
        "validity": {
            "phenomenon": (
                "Whether the model's ratings of a described person, its answers to BBQ questions and its choice among "
                "résumés change with the person's name or nationality alone, beyond what meaningless wording changes do."
            ),
            "data_reuse": (
                "BBQ (Parrish et al. 2022, CC-BY-4.0), the Bloomberg 2024 résumés and names (Apache-2.0), SeeGULL "
                "demonyms (CC-BY-4.0); the rating templates are the project's own."
            ),
            "representative_data": (
                "12 short rating templates, one name per group and template, a handful of BBQ examples and 4 rankings: "
                "enough to show the method, far too few for claims about the model."
            ),
            "justification": (
                "A gap is called bias only when it exceeds the gaps that typos, synonyms, neutral words, an irrelevant "
                "sentence, sentence order and candidate order make on the same templates."
            ),
            "measures_only": (
                "What the model answers about people described in short prompts, not how a system built on it "
                "would treat real applicants or tenants."
            ),
            "contamination": "BBQ and the Bloomberg data are public and may be in the model's training data.",
        },
    }
