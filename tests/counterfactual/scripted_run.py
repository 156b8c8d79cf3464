"""Run a bias spec on the scripted backend (tests/contract/scripted.py), registered only for the run."""

from __future__ import annotations

from pathlib import Path

import forkingpaths
from forkingpaths import registry
from forkingpaths.spec import Spec
from tests.contract import scripted


def run_scripted(spec: Spec, tmp_path: Path) -> forkingpaths.Run:
    registry.register_backend("scripted", scripted.FAMILY, "scripted answers for tests", replace=True)
    try:
        return forkingpaths.run(spec, forkingpaths.RunOptions(cache_dir=tmp_path / "cache"))
    finally:
        registry.backends.unregister("scripted")
