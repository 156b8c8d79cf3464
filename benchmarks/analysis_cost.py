"""Cost per trial of the analyses, results.json and the report, against the request cost at the target rate.

A synthetic MCQ data set (N items, 4 options, seeded) is run through the real pipeline
(``forkingpaths.run``) with 20 conditions (option order original + the 4 circular
rotations × letters/numbers × plain/exam templates), so the trials table is exactly what
a run writes: N × 20 trials. The model is an in-process backend family registered for
this script (``instant:``) that answers each ``choice_logprobs`` request at once with
seeded probabilities (gold favoured, as a model that knows some answers): no HTTP, so
the run itself is quick. Then, on the finished run directory, each after-execution step
is timed on its own (wall clock, ``time.perf_counter``):

* ``analyse``: ``instrument.analyse(trials, items, spec)`` (every MCQ analysis and finding);
* ``results.json``: building ``RunResults`` and writing it;
* ``report``: ``report.html.write_report`` (report.html + validity.md, read from disk).

Printed: milliseconds per trial for each, their sum, and the ratio to 0.5 ms per trial
(the request cost at the throughput target of 2,000 requests/s). ``--profile`` prints the
25 most expensive functions of analyse + results + report under cProfile.

Run: python benchmarks/analysis_cost.py [--items 5000] [--profile]   (5000 items = 100,000 trials)
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import os
import pstats
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import forkingpaths
from forkingpaths import RunOptions
from forkingpaths.models.base import BackendSettings, Capabilities, Request, Response
from forkingpaths.pipeline import prepare
from forkingpaths.registry import register_backend
from forkingpaths.report.html import write_report
from forkingpaths.results import RunResults
from forkingpaths.spec import parse_spec
from forkingpaths.store import write_json

REQUEST_COST_MS = 1000 / 2000  # the request cost per trial at the throughput target
CONDITIONS = 20


class InstantBackend:
    """Seeded label probabilities from the request's hash; the first label of the prompt's gold is unknown to it."""

    name = "instant"
    identity = "instant|analysis-cost"
    capabilities = Capabilities(generate=True, choice_logprobs=True, exact_logprobs=True)
    max_concurrency = 64

    async def complete(self, request: Request) -> Response:
        digest = int(hashlib.sha256(request.canonical_json().encode()).hexdigest()[:8], 16)
        weights = np.random.default_rng(digest).dirichlet(np.ones(len(request.labels)))
        probs = {label: float(w) for label, w in zip(request.labels, weights)}
        return Response(label_probs=probs, valid_mass=0.9, prompt_tokens=80, completion_tokens=1)

    def versions(self) -> dict[str, str]:
        return {}

    async def aclose(self) -> None:
        return None


@dataclass(frozen=True)
class InstantFactory:
    reference: str = "instant"
    name: str = InstantBackend.name
    capabilities: Capabilities = InstantBackend.capabilities
    max_concurrency: int = InstantBackend.max_concurrency

    def identity(self) -> str:
        return InstantBackend.identity

    def probe(self) -> None:
        return None

    def build(self) -> InstantBackend:
        return InstantBackend()


class InstantFamily:
    syntax = ("instant",)
    example = "instant"

    def factory(self, reference: str, rest: str | None, settings: BackendSettings) -> InstantFactory:
        return InstantFactory(reference)

    def describe(self, settings: BackendSettings) -> dict[str, object]:
        return {"description": "instant seeded answers (benchmarks/analysis_cost.py)"}


def write_items(path: Path, n: int, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    with path.open("w") as out:
        for i in range(n):
            options = [f"answer {i}-{k} with a few words of text" for k in range(4)]
            out.write(json.dumps({"id": f"q{i}", "question": f"Synthetic question number {i}?", "options": options,
                                  "gold": int(rng.integers(4)), "subject": f"s{i % 10}"}) + "\n")


def spec_for(items: Path, out: Path) -> forkingpaths.Spec:
    return parse_spec(
        {
            "name": "analysis-cost",
            "instrument": {"name": "mcq", "params": {"elicitation": "letter"}},
            "data": {"loader": "tidy", "path": str(items), "params": {"gold_format": "index"}},
            "models": ["instant"],
            "factors": {"option_order": ["original", "circular"], "label_style": ["letters", "numbers"], "template": ["plain", "exam"]},
            "seed": 1,
            "concurrency": 64,
            "output_dir": str(out),
            "analysis": {"level": 0.95, "n_resamples": 1000},
        },
        "analysis-cost spec",
    )


def after_execution(run_dir: Path, spec: forkingpaths.Spec, base: Path) -> dict[str, float]:
    """Seconds for each after-execution step, on the finished run directory."""
    import pandas as pd

    prepared = prepare(spec, base, overwrite=True)
    frame = pd.read_parquet(run_dir / "trials.parquet")
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    analysis = prepared.instrument.analyse(frame, prepared.items, spec)
    seconds["analyse"] = time.perf_counter() - start
    start = time.perf_counter()
    results = RunResults(instrument=prepared.instrument.name, analyses=analysis.analyses, findings=analysis.findings)
    write_json(run_dir / "results.json", results.model_dump(mode="json"))
    seconds["results.json"] = time.perf_counter() - start
    start = time.perf_counter()
    write_report(run_dir)
    seconds["report"] = time.perf_counter() - start
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    register_backend("instant", InstantFamily(), "instant seeded answers", replace=True)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        write_items(base / "items.jsonl", args.items)
        spec = spec_for(base / "items.jsonl", base / "runs")
        start = time.perf_counter()
        run = forkingpaths.run(spec, RunOptions(cache_dir=base / "cache"))
        run_seconds = time.perf_counter() - start
        trials = len(run.trials)
        print(f"items={args.items} conditions={CONDITIONS} trials={trials} load_average_at_start={load}")
        print(f"forkingpaths.run (render, execute on the instant backend, tables, analyse, write): {run_seconds:.1f} s")
        run_dir = Path(run.directory)
        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        seconds = after_execution(run_dir, spec, base)
        if profiler:
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
            print(out.getvalue()[:7000])
    total = sum(seconds.values())
    for step, value in seconds.items():
        print(f"  {step:13s} {value:7.2f} s  {1000 * value / trials:.4f} ms/trial")
    print(f"after-execution cost {1000 * total / trials:.4f} ms/trial; request cost at 2,000 req/s {REQUEST_COST_MS} ms/trial")
    ratio = (1000 * total / trials) / REQUEST_COST_MS
    print(f"analysis_to_request_cost_ratio={ratio:.3f}  target < 1: {'met' if ratio < 1 else 'NOT met'}")
    print(f"load_average_at_end={' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
