"""The judge audit's built-in example spec: ``forkingpaths demo judge`` (registered as the example ``judge``)."""

from __future__ import annotations

from typing import Any

from forkingpaths.spec import Spec, parse_spec

DEMO_ITEMS = 12


def judge_demo(limit: int | None = None) -> Spec:
    """The embedded model judges 12 LLMBar pairs: position × 5 artifact levels × 2 templates (label probabilities).

    Two artifacts (an apology preface and a planted instruction), each on the worse and
    on the better response, beside no artifact: 12 items × 20 conditions = 240 one-pass
    label-probability requests. ``limit`` keeps the first N items.
    """
    return parse_spec(_demo_dict(limit or DEMO_ITEMS), "built-in demo spec")


def _demo_dict(limit: int) -> dict[str, Any]:
    return {
        "name": "judge-demo",
        "instrument": {"name": "judge", "params": {}},
        "data": {"loader": "builtin", "params": {"name": "llmbar"}, "limit": limit},
        "models": ["llamacpp"],
        "factors": {
            "position": ["original", "swapped"],
            "artifact": ["none", "apology-worse", "apology-better", "planted-worse", "planted-better"],
            "judge_template": ["verdict", "rubric"],
            "verdict_format": ["probs"],
        },
        "seed": 20260512,
        "concurrency": 1,
        "output_dir": "runs",
        "analysis": {"level": 0.95, "n_resamples": 1000},
        "validity": {
            "phenomenon": "Whether an LLM judge prefers the response that follows the instruction (LLMBar's gold label), "
            "rather than the response shown first or the one with an apology or a planted instruction.",
            "data_reuse": "LLMBar Natural and Adversarial/Neighbor pairs (Zeng et al., 2024; MIT), the shortest ones.",
            "representative_data": "12 short pairs of two LLMBar sets: enough to show the audit, far too few for claims about a judge.",
            "contamination": "LLMBar is public and may be in pretraining data; the artifact wording is the project's own.",
        },
    }
