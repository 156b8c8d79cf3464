"""Two processes running the same spec on one cache at the same time make each model call once."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from .conftest import CLI, cached_count, cli_env, write_spec

ITEMS, CONDITIONS = 6, 8  # write_spec's three two-level format factors


@pytest.mark.model
@pytest.mark.timeout(400)
def test_concurrent_runs_share_every_model_call(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    data = {"loader": "builtin", "params": {"name": "values"}, "limit": ITEMS}
    specs = []
    for name in ("a", "b"):  # separate output folders, one cache
        (tmp_path / name).mkdir()
        specs.append(write_spec(tmp_path / name / "spec.yaml", data=data))
    processes = [
        subprocess.Popen([CLI, "run", str(spec)], env=cli_env(cache), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for spec in specs
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=360)
        assert process.returncode == 0, stderr[-2000:]
    counts = [json.loads((spec.parent / "runs" / "resilience" / "manifest.json").read_text())["counts"] for spec in specs]
    requests = ITEMS * CONDITIONS
    assert all(c["requests"] == requests and c["errors"] == 0 for c in counts)
    # Each request is asked of the model by exactly one of the two processes; the other
    # gets it from the cache (at start, or after waiting on the first one's claim).
    assert sum(c["model_calls"] for c in counts) == requests, counts
    assert all(c["model_calls"] + c["cache_hits"] == requests for c in counts), counts
    assert cached_count(cache) == requests
