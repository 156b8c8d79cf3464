"""Runs the Ray executor's tests (ray_cases.py) in a private network namespace.

Ray's own servers (gcs_server, raylet) listen on every interface whatever node address
they are given, and servers started by the tests must be reachable on loopback only. So
the cases run in a child ``pytest`` inside ``unshare --net``: a network namespace of its
own whose only interface is loopback, made by this test and gone when it ends. Where a
namespace cannot be made (no privilege), the cases run directly, with the cluster's node
address set to 127.0.0.1.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("ray")
pytestmark = [pytest.mark.ray, pytest.mark.model]
HERE = Path(__file__).resolve().parent
TIMEOUT_S = 480


def _isolated() -> list[str]:
    """The command prefix for a loopback-only network namespace, or [] when none can be made."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    probe = subprocess.run([unshare, "--net", "true"], capture_output=True, timeout=30)
    return [unshare, "--net", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"] if probe.returncode == 0 else []


def test_ray_executor_cases_in_a_loopback_only_network(tmp_path: Path) -> None:
    command = [*_isolated(), sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(HERE / "ray_cases.py")]
    result = subprocess.run(
        command, cwd=HERE.parents[1], capture_output=True, text=True, timeout=TIMEOUT_S
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.search(r"\b5 passed\b", summary), summary
