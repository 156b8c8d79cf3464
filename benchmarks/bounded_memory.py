"""Peak memory of the driver for a 10⁶-trial design, walked in shards against walked whole.

A design of 1,000 items × 100 conditions × 10 repeats (10⁶ trials) runs through the real
pipeline — plan, cache look-ups, executor, parse, trials and stages tables, analysis,
manifest — against an instant-reply OpenAI-compatible server on 127.0.0.1. The
benchmark's instrument asks one question per condition and repeat, whatever the item,
so the design needs only 1,000 distinct requests over HTTP: what is measured is what the
driver holds per trial (contexts, requests, stage calls, table rows), which is what
sharding bounds. Each shard size runs in its own child process on a cache the warm-up
filled, and the script prints each child's peak resident set (``ru_maxrss``) and wall
time, and the ratio of the peaks, side by side in one run.

Run: .venv/bin/python benchmarks/bounded_memory.py [--items 1000] [--conditions 100] [--repeats 10]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale_out import _start_server  # noqa: E402  (the instant-reply server, shared with that benchmark)

import forkingpaths  # noqa: E402
from forkingpaths import registry  # noqa: E402
from forkingpaths.instruments.base import Analysis, SingleStage, StageResult, TrialContext  # noqa: E402
from forkingpaths.models.base import Message, Request  # noqa: E402
from forkingpaths.report.parts import NoPresentation  # noqa: E402
from forkingpaths.spec import DataSpec, Spec  # noqa: E402


@dataclass(frozen=True)
class Item:
    item_id: str


@dataclass(frozen=True)
class Choice:
    p_a: float | None


class ConditionQuestion(SingleStage):
    """One A-or-B question per condition (the item only labels the trial): few requests, many trials."""

    name: ClassVar[str] = "condition-question"
    record: ClassVar[type] = Choice
    presentation = NoPresentation()

    def __init__(self, params: dict[str, Any], seed: int = 0) -> None:
        self.items = int(params["items"])

    def load_items(self, data: DataSpec, base_dir: Path) -> list[Item]:
        return [Item(f"item{i:05d}") for i in range(self.items)]

    def validate(self, spec: Spec, items: list[Item]) -> list[str]:
        return []

    def render(self, trial: TrialContext) -> Request:
        text = f"Condition {trial.condition.id}: answer A or B."
        return Request("choice_logprobs", (Message("user", text),), labels=("A", "B"), max_tokens=1)

    def parse(self, trial: TrialContext, done: Sequence[StageResult]) -> Choice:
        probs = done[0].response.label_probs
        return Choice(probs["A"] if probs else None)

    def analyse(self, trials: pd.DataFrame, items: list[Item], spec: Spec) -> Analysis:
        return Analysis({"mean_p_a": {"estimate": float(trials["p_a"].mean()), "n": int(len(trials))}}, [])


def _spec(args: argparse.Namespace, base_url: str, out: Path) -> Spec:
    return Spec.model_validate(
        {
            "name": "bounded-memory",
            "instrument": {"name": ConditionQuestion.name, "params": {"items": args.items}},
            "data": {"loader": "none"},
            "models": [f"openai:instant@{base_url}"],
            "factors": {"variant": [f"v{i:03d}" for i in range(args.conditions)]},
            "repeats": args.repeats,
            "concurrency": 8,
            "output_dir": str(out),
        }
    )


def child(args: argparse.Namespace) -> None:
    """One run in this process; prints peak RSS and wall time as JSON on the last line."""
    registry.register_instrument(ConditionQuestion.name, ConditionQuestion)
    spec = _spec(args, args.base_url, Path(args.out))
    start = time.perf_counter()
    run = forkingpaths.run(spec, forkingpaths.RunOptions(cache_dir=Path(args.cache), shard_size=args.shard_size, overwrite=True))
    seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    counts = run.manifest.counts
    print(json.dumps({"trials": counts.trials, "model_calls": counts.model_calls, "seconds": seconds, "peak_mib": peak_mib}))


def _run_child(args: argparse.Namespace, base_url: str, workdir: Path, cache: Path, shard_size: int) -> dict[str, float]:
    command = [
        sys.executable, __file__, "--child", "--base-url", base_url, "--cache", str(cache), "--out", str(workdir / f"runs-{shard_size}"),
        "--shard-size", str(shard_size), "--items", str(args.items), "--conditions", str(args.conditions), "--repeats", str(args.repeats),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"child with shard size {shard_size} failed:\n{done.stderr[-2000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--conditions", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--shards", type=int, nargs="+", default=[50_000, 0], help="shard sizes to compare; 0 = the whole design at once")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--shard-size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return 0
    total = args.items * args.conditions * args.repeats
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        server, base_url = _start_server(workdir)
        try:
            cache = workdir / "cache"
            warm = _run_child(argparse.Namespace(**{**vars(args), "items": 1}), base_url, workdir, cache, 50_000)
            print(f"warm-up: {warm['model_calls']:.0f} distinct requests sent to the instant-reply server", flush=True)
            peaks: dict[int, float] = {}
            for size in args.shards:
                size = size or total
                result = _run_child(args, base_url, workdir, cache, size)
                peaks[size] = result["peak_mib"]
                print(
                    f"shard size {size:>9,}: {result['trials']:,.0f} trials, {result['model_calls']:.0f} model calls, "
                    f"{result['seconds']:6.1f} s, peak RSS {result['peak_mib']:7.1f} MiB",
                    flush=True,
                )
        finally:
            server.kill()
    sizes = sorted(peaks)
    print(f"peak_rss_ratio_whole_over_sharded={peaks[sizes[-1]] / peaks[sizes[0]]:.2f}  ({total:,} trials; load average {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
