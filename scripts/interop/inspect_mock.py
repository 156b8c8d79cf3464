"""Inspect AI on its own test model (``mockllm``) with seeded scripted answers: the fallback when no llama.cpp server can run.

Usage: python inspect_mock.py LOG_DIR. Two model names (``mockllm/answers-a``, ``mockllm/answers-b``)
answer with letters drawn from differently seeded generators; each is run under both prompt
variants with 2 epochs, in both log formats. The usage is set on each output, so Inspect does
not count tokens with tiktoken (which would download an encoding).
"""

import random
import sys
from pathlib import Path

from inspect_ai import eval
from inspect_ai.model import ModelOutput, ModelUsage, get_model

sys.path.insert(0, str(Path(__file__).parent))
from inspect_task import fp_mcq  # noqa: E402

#: model name → (seed, share of answers forced to the gold letter)
MODELS = {"answers-a": (11, 0.7), "answers-b": (12, 0.4)}
GOLD = {"pct": "A", "mars": "B", "amp": "A", "paris": "C", "snake": "C", "spider": "B", "green": "A", "ocean": "D"}


def outputs(name: str, seed: int, skill: float) -> list[ModelOutput]:
    rng = random.Random(seed)
    out = []
    for _epoch in range(2):
        for gold in GOLD.values():
            letter = gold if rng.random() < skill else rng.choice("ABCD")
            output = ModelOutput.from_content(model=f"mockllm/{name}", content=f"ANSWER: {letter}")
            output.usage = ModelUsage(input_tokens=40, output_tokens=3, total_tokens=43)
            out.append(output)
    return out


def main(log_dir: str) -> None:
    for name, (seed, skill) in MODELS.items():
        for variant in ("default", "terse"):
            for fmt in ("eval", "json"):
                model = get_model(f"mockllm/{name}", custom_outputs=outputs(name, seed + (variant == "terse"), skill))
                eval(fp_mcq(variant=variant), model=model, epochs=2, log_dir=f"{log_dir}/{fmt}", log_format=fmt, display="none", max_samples=1)


if __name__ == "__main__":
    main(sys.argv[1])
