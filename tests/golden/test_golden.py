"""The survey gives the same numbers as the golden run.

The golden run was first recorded before the architecture refactor, and the
refactored code reproduced every number of it; it was regenerated once since, when
the statistics review (CR1 intervals, pairwise margins, Holm across targets, …)
changed numbers on purpose. The run is answered entirely from a committed set of
cached responses (``responses.jsonl``), so no model is called: the test fails if a
change alters a request (a cache miss would call the embedded model) or any number
of the analyses or findings. Regenerate the golden files (make_golden.py) only for
an intended change of numbers, and say why in the commit.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import yaml

import forkingpaths
from forkingpaths.models.base import Response
from forkingpaths.store import ResponseCache

HERE = Path(__file__).resolve().parent


def _seed_cache(directory: Path) -> int:
    cache = ResponseCache(directory)
    count = 0
    for line in (HERE / "responses.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        request_json = json.dumps(record["request"], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        cache.put(record["key"], record["backend"], record["model_identity"], request_json, record["repeat"], Response(**record["response"]))
        count += 1
    cache.close()
    return count


def _same(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Every difference between two JSON documents (floats compared to 1e-12 relative)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        problems = [f"{path}/{k}: missing" for k in expected if k not in actual]
        problems += [f"{path}/{k}: unexpected" for k in actual if k not in expected]
        for key in expected.keys() & actual.keys():
            problems += _same(expected[key], actual[key], f"{path}/{key}")
        return problems
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: {len(expected)} entries expected, got {len(actual)}"]
        return [p for i, (e, a) in enumerate(zip(expected, actual)) for p in _same(e, a, f"{path}/{i}")]
    if isinstance(expected, float) and isinstance(actual, (int, float)):
        return [] if math.isclose(expected, actual, rel_tol=1e-12, abs_tol=1e-15) else [f"{path}: {expected!r} != {actual!r}"]
    return [] if expected == actual else [f"{path}: {expected!r} != {actual!r}"]


def test_survey_numbers_match_the_golden_run(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    seeded = _seed_cache(cache_dir)
    spec = yaml.safe_load((HERE / "spec.yaml").read_text(encoding="utf-8"))
    spec["output_dir"] = str(tmp_path / "runs")
    path = tmp_path / "golden.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")

    run = forkingpaths.run(path, forkingpaths.RunOptions(cache_dir=cache_dir))

    assert run.manifest.counts.model_calls == 0, "a request changed: it missed the committed cache"
    assert run.manifest.counts.cache_hits == seeded
    golden = json.loads((HERE / "results.json").read_text(encoding="utf-8"))
    assert _same(golden, run.results.model_dump(mode="json")) == []
