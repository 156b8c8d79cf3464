"""The side-by-side harness benchmark's pure parts, so that the script (not run in CI) cannot rot silently."""

from __future__ import annotations

import ast
import importlib.util
import json
import statistics
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


bench = _load("harness_comparison")
instant = _load("instant_server")


def test_round_ratios_pair_rounds_and_report_median_and_range() -> None:
    fp, other = [1.0, 3.0, 2.0, 8.0], [2.0, 2.0, 4.0, 4.0]
    result = bench.round_ratios(fp, other)
    per_round = [0.5, 1.5, 0.5, 2.0]
    assert result == bench.Spread(statistics.median(per_round), 0.5, 2.0)
    assert result.median == 1.0  # not the ratio of medians (2.5 / 3.0)
    assert bench.spread([float("nan"), 2.0]).median == 2.0
    with pytest.raises(ValueError, match="pair rounds"):
        bench.round_ratios([1.0], [1.0, 2.0])


def test_summary_divides_cpu_by_requests_counted_at_the_server() -> None:
    results = bench.Results(
        first={"forkingpaths": [bench.Measured(2.0, 1.0, 41)], "inspect": [bench.Measured(4.0, 4.0, 40)]},
        rerun={"forkingpaths": [bench.Measured(1.0, 0.5, 0)], "inspect": [bench.Measured(3.0, 3.0, 0)]},
    )
    lines = bench.summarise(results, n_items=40)
    assert "CPU/request 24.39 (24.39-24.39) ms" in lines[1]  # 1000 ms / 41 requests
    assert "requests/item 1.02" in lines[1]
    ratio = next(line for line in lines if line.startswith("ratio forkingpaths/inspect"))
    assert "CPU per request 0.24 " in ratio and "CPU per item 0.25 " in ratio and "wall 0.50 " in ratio


def test_items_are_written_in_each_tool_form(tmp_path: Path) -> None:
    items = bench.make_items(12)
    assert len({item["id"] for item in items}) == 12
    assert bench.make_items(4) == items[:4]  # the small set is the first items of the full one
    for item in items:
        a, b = (int(x) for x in str(item["question"]).removeprefix("What is ").removesuffix("?").split(" + "))
        assert item["choices"][item["gold"]] == str(a + b) and len(set(item["choices"])) == 4
    bench.write_items(items, tmp_path)
    tidy = [json.loads(line) for line in (tmp_path / "fp_items.jsonl").read_text().splitlines()]
    assert [row["options"] for row in tidy] == [item["choices"] for item in items]
    mc = yaml.safe_load((tmp_path / "lmeval_tasks" / "bench_mc.yaml").read_text())
    gen = yaml.safe_load((tmp_path / "lmeval_tasks" / "bench_gen.yaml").read_text())
    assert (mc["output_type"], gen["output_type"]) == ("multiple_choice", "generate_until")
    assert mc["doc_to_text"] == "Question: {{question}}\nAnswer:"
    assert mc["dataset_kwargs"]["data_files"]["test"] == str(tmp_path / "items.jsonl")
    ast.parse((tmp_path / "inspect_task.py").read_text())


def test_instant_server_echoes_the_prompt_in_the_legacy_completions_shape() -> None:
    prompt = "Question: What is 12 + 35?\nAnswer: 47"
    reply = json.loads(instant.echoed_completion(json.dumps({"prompt": [prompt, "x"], "echo": True}).encode()))
    first = reply["choices"][0]
    assert [c["index"] for c in reply["choices"]] == [0, 1]
    pieces = first["logprobs"]["tokens"]
    assert "".join(pieces) == first["text"] == prompt + " A"
    assert first["logprobs"]["text_offset"] == [len("".join(pieces[:i])) for i in range(len(pieces))]
    assert first["logprobs"]["token_logprobs"][0] is None and len(first["logprobs"]["top_logprobs"]) == len(pieces)
    assert reply["usage"]["total_tokens"] == reply["usage"]["prompt_tokens"] + reply["usage"]["completion_tokens"]


def test_marginal_cost_cancels_the_fixed_cost() -> None:
    fixed, per_request = 3.0, 0.002
    large, small = bench.Measured(9.0, fixed + 161 * per_request, 161), bench.Measured(5.0, fixed + 17 * per_request, 17)
    assert bench.marginal_ms(large, small) == pytest.approx(1000 * per_request)
    assert bench.marginal_ms(large, bench.Measured(1.0, 1.0, None)) != bench.marginal_ms(large, bench.Measured(1.0, 1.0, None))  # NaN
    results = bench.Results(
        first={"forkingpaths": [large], "inspect": [bench.Measured(9.0, 10.0, 40)]},
        rerun={"forkingpaths": [small], "inspect": [small]},
        small={"forkingpaths": [small], "inspect": [bench.Measured(9.0, 6.0, 4)]},
    )
    lines = bench.summarise(results, n_items=40)
    assert any(line.strip().startswith("inspect      111.111") for line in lines)  # 4000 ms / 36 requests
    assert "marginal CPU per request 0.02 " in lines[-1]  # 2 ms / 111.1 ms
