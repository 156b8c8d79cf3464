"""Passes per item on the embedded model: letter vs cloze, and cloze with the prompt shared vs K separate requests.

Run: PYTHONPATH=src python benchmarks/mcq_passes.py [N_ITEMS] [ROUNDS]

For each built-in TruthfulQA MC1 item (4 options) three ways of reading the answer are
timed side by side, interleaved item by item and round by round so machine load hits all
three alike:

- letter: one ``choice_logprobs`` request (one forward pass over the prompt tail);
- cloze (shared prefix): one ``loglikelihood`` request with the 4 option texts; the
  prompt is evaluated once and each continuation token teacher-forced on its KV cache;
- cloze (K requests): 4 ``loglikelihood`` requests of one continuation each, the context
  reset before each, as a harness that sends K independent requests would evaluate them.

Each item gets a fresh round tag at the start of the prompt so no path profits from a
prefix another path left in the cache. Prints seconds per item (median over items and
rounds) and the ratios.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

from forkingpaths.instruments.mcq.instrument import MCQInstrument
from forkingpaths.instruments.mcq.loaders import load_mcq_items
from forkingpaths.models import llamacpp
from forkingpaths.models.base import Message, Request
from forkingpaths.spec import DataSpec


async def main(n_items: int, rounds: int) -> None:
    backend = llamacpp.LlamaCppBackend(llamacpp.embedded_model_path())
    items = load_mcq_items(DataSpec(loader="builtin", limit=n_items), Path.cwd())
    instrument = MCQInstrument({})
    times: dict[str, list[float]] = {"letter": [], "cloze_shared": [], "cloze_k_requests": []}
    await backend.complete(Request("choice_logprobs", (Message("user", "warm up"),), labels=("A",)))
    model = llamacpp._load(backend.model_path)
    for r in range(rounds):
        for item in items:
            view = instrument.display(item, {})
            for path in times:
                messages = tuple(Message(m.role, f"[{path} {r}] {m.content}") for m in instrument.messages(item, {}))
                start = time.perf_counter()
                if path == "letter":
                    await backend.complete(Request("choice_logprobs", messages, labels=tuple(view.labels)))
                elif path == "cloze_shared":
                    await backend.complete(Request("loglikelihood", messages, continuations=tuple(view.shown)))
                else:
                    for text in view.shown:
                        model.llama.reset()
                        await backend.complete(Request("loglikelihood", messages, continuations=(text,)))
                times[path].append(time.perf_counter() - start)
    median = {path: statistics.median(values) for path, values in times.items()}
    for path, value in median.items():
        print(f"{path:18s} {value:.3f} s/item (median of {len(times[path])})")
    print(f"cloze_shared / letter          = {median['cloze_shared'] / median['letter']:.1f}")
    print(f"cloze_k_requests / cloze_shared = {median['cloze_k_requests'] / median['cloze_shared']:.2f}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10, int(sys.argv[2]) if len(sys.argv) > 2 else 2))
