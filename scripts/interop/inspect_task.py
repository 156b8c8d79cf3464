"""Inspect AI task over the same items as the lm-eval tasks, with two prompt variants (task arg ``variant``)."""

import json
from pathlib import Path

from inspect_ai import Task, task
from inspect_ai.dataset import Sample
from inspect_ai.scorer import choice
from inspect_ai.solver import multiple_choice

ITEMS = Path(__file__).with_name("items.jsonl")

#: The second variant asks for the letter first and adds no reasoning request.
TERSE = """Answer the following multiple choice question with the letter of the correct option only, as 'ANSWER: $LETTER'.

{question}

{choices}"""


def _samples() -> list[Sample]:
    rows = [json.loads(line) for line in ITEMS.read_text().splitlines() if line.strip()]
    return [Sample(id=r["id"], input=r["question"], choices=r["choices"], target="ABCDEFGH"[r["gold"]]) for r in rows]


@task
def fp_mcq(variant: str = "default") -> Task:
    solver = multiple_choice() if variant == "default" else multiple_choice(template=TERSE)
    return Task(dataset=_samples(), solver=solver, scorer=choice())
