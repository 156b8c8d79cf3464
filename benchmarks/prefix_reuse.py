"""Does sorting requests by prompt speed up the in-process model? A side-by-side measurement.

The executor sends pending requests in prompt order so that consecutive prompts share
long prefixes, and the llama.cpp backend evaluates only the tokens after the prefix it
already holds. This script renders the demo's survey requests (built-in items × the 8
format conditions, with and without a persona), then times the same requests on the
embedded model in two orders, alternating rounds so machine noise hits both:

- sorted: the executor's order (by message roles and texts);
- shuffled: a seeded random order (what an unsorted queue would look like).

It prints the evaluated-token counts and wall times of each round and
``prefix_reuse_speedup = shuffled_seconds / sorted_seconds`` (median over rounds).

Run: ``.venv/bin/python benchmarks/prefix_reuse.py [--items 6] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from pathlib import Path

from forkingpaths.instruments.survey.data import load_survey_items
from forkingpaths.design import expand_conditions
from forkingpaths.instruments.base import TrialContext
from forkingpaths.instruments.survey.examples import values_demo
from forkingpaths.instruments.survey.instrument import SurveyInstrument
from forkingpaths.models.base import Request
from forkingpaths.models.llamacpp import LlamaCppBackend
from forkingpaths.models.llamacpp import embedded_model_path


def demo_requests(n_items: int, templates: dict[str, str] | None = None) -> list[Request]:
    """The demo's choice_logprobs requests for the first ``n_items`` built-in items.

    ``templates`` replaces the survey templates' texts by name (benchmarks/prompt_layout.py
    compares layouts with it); the backend's capabilities only decide the elicitation,
    which is label probabilities for the in-process and the HTTP backend alike.
    """
    spec = values_demo(n_items)
    params = spec.instrument.params if templates is None else {**spec.instrument.params, "templates": templates}
    instrument = SurveyInstrument(params, spec.seed)
    items = load_survey_items(spec.data, Path.cwd())
    factors = instrument.expand_factors(spec.factors, items)
    backend_caps = LlamaCppBackend.capabilities
    return [
        instrument.render(TrialContext(item, condition, 0, "llamacpp", spec, backend_caps))
        for item in items
        for condition in expand_conditions(factors)
    ]


async def timed_pass(backend: LlamaCppBackend, requests: list[Request]) -> tuple[float, int, int]:
    """Seconds, prompt tokens and prompt tokens reused from the KV cache for one pass."""
    start = time.perf_counter()
    total = reused = 0
    for request in requests:
        response = await backend.complete(request)
        total += response.prompt_tokens or 0
        reused += int(response.extra.get("prompt_tokens_reused", 0))
    return time.perf_counter() - start, total, reused


async def main(n_items: int, rounds: int, seed: int) -> None:
    requests = demo_requests(n_items)
    in_prompt_order = sorted(requests, key=lambda r: tuple((m.role, m.content) for m in r.messages))
    shuffled = list(requests)
    random.Random(seed).shuffle(shuffled)
    backend = LlamaCppBackend(embedded_model_path())
    await timed_pass(backend, in_prompt_order[:8])  # load the model and warm up
    print(f"requests={len(requests)} items={n_items} rounds={rounds}")
    times: dict[str, list[float]] = {"sorted": [], "shuffled": []}
    for round_index in range(rounds):
        order = [("sorted", in_prompt_order), ("shuffled", shuffled)]
        if round_index % 2:
            order.reverse()
        for name, batch in order:
            seconds, total, reused = await timed_pass(backend, batch)
            times[name].append(seconds)
            print(
                f"round {round_index + 1} {name:8s}: {seconds:6.2f} s, prompt tokens {total}, "
                f"reused from the KV cache {reused} ({reused / total:.0%}), evaluated {total - reused}"
            )
    sorted_s, shuffled_s = statistics.median(times["sorted"]), statistics.median(times["shuffled"])
    print(f"sorted_seconds={sorted_s:.2f}")
    print(f"shuffled_seconds={shuffled_s:.2f}")
    print(f"prefix_reuse_speedup={shuffled_s / sorted_s:.2f}  (median of {rounds} rounds each)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=6, help="built-in items to use (40 requests each)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per order")
    parser.add_argument("--seed", type=int, default=0, help="seed of the shuffled order")
    args = parser.parse_args()
    asyncio.run(main(args.items, args.rounds, args.seed))
