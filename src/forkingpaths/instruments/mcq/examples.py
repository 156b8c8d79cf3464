"""The MCQ instrument's built-in example spec: ``forkingpaths demo mcq`` (registered as the example ``mcq``)."""

from __future__ import annotations

from typing import Any

from forkingpaths.spec import Spec, parse_spec


DEMO_ITEMS = 24


def mcq_demo(limit: int | None = None) -> Spec:
    """TruthfulQA MC1 (60 built-in items with 4 options) on the embedded model, letter elicitation.

    Option order (original and the 4 rotations of ``circular``) × label style (letters,
    numbers) × template (plain, exam): 20 conditions; ``original`` and ``rotate-0`` show the
    same order and share one request, so 16 distinct prompts per item, 384 for the default
    24 items (about 3 minutes on 2 busy cores). ``limit`` keeps the first N items instead.
    Add ``question: [full, choices_only]`` to test whether the options give answers away.
    """
    return parse_spec(_demo_dict(limit), "built-in demo spec")


def _demo_dict(limit: int | None) -> dict[str, Any]:
    return {
        "name": "mcq-demo",
        "instrument": {"name": "mcq", "params": {"elicitation": "letter"}},
        "data": {"loader": "builtin", "params": {"name": "truthfulqa"}, "limit": limit or DEMO_ITEMS},
        "models": ["llamacpp"],
        "factors": {
            "option_order": ["original", "circular"],
            "label_style": ["letters", "numbers"],
            "template": ["plain", "exam"],
        },
        "seed": 20261201,
        "concurrency": 1,
        "output_dir": "runs",
        "analysis": {"level": 0.95, "n_resamples": 1000},
        "validity": {
            "phenomenon": (
                "Whether a model picks the true answer over common misconceptions (TruthfulQA MC1), and how much that "
                "accuracy depends on option order, labels and prompt wording."
            ),
            "data_reuse": "The first 24 of 60 built-in TruthfulQA MC1 questions with 4 options (Lin, Hilton & Evans 2022), Apache-2.0, unchanged.",
            "representative_data": (
                "24 questions from the first part of TruthfulQA, in English, all with 4 options: enough to show the method, "
                "far too few for claims about truthfulness in general."
            ),
            "justification": (
                "Accuracy is read as preferring true answers only where it survives the design: upstream lists the true "
                "answer first, so the original order rewards a first-option preference; CircularEval, CAT and the "
                "position-bias analysis test exactly that."
            ),
            "contamination": "TruthfulQA is public since 2021 and may be in the model's training data.",
        },
    }
