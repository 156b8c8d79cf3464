"""The Ray executor on a local Ray cluster: the same trials and results as the local executor,
and a killed actor loses nothing and duplicates nothing.

Run by test_ray_executor.py in a private network namespace (Ray's own servers listen on
every interface, so the cluster is given a network with nothing but loopback). The
cluster (``ray.init(num_cpus=2)``) is started once for the module; its workers get
tests/ on their path so they can import the test-only backend family, and the driver's
forkingpaths before any installed one.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import forkingpaths
from forkingpaths import registry
from forkingpaths.errors import SpecError
from forkingpaths.spec import parse_spec


ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray
TESTS = Path(__file__).resolve().parents[1]
INSTANT_SERVER = TESTS.parent / "benchmarks" / "instant_server.py"
SOURCE = str(Path(forkingpaths.__file__).resolve().parents[1])  # workers import the package the driver runs
LOOPBACK = "127.0.0.1"


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join([str(TESTS), SOURCE])}},
        _node_ip_address=LOOPBACK,  # the test cluster listens on loopback only
    )
    yield
    ray.shutdown()


@pytest.fixture
def killer_backend() -> Iterator[None]:
    registry.register_backend("killer", "scale.killer:FAMILY", "dies once, for tests", replace=True)
    yield
    registry.backends.unregister("killer")


def _spec(tmp_path: Path, name: str, model: str, executor: dict[str, object]) -> forkingpaths.Spec:
    return parse_spec(
        {
            "name": name,
            "instrument": "survey",
            "data": {"loader": "builtin", "params": {"name": "values"}, "limit": 3},
            "models": [model],
            "factors": {"option_order": ["original", "reversed"], "label_style": ["letters", "numbers"]},
            "output_dir": str(tmp_path / "runs"),
            "analysis": {"n_resamples": 100},
            "concurrency": 2,
            "executor": executor,
        }
    )


def _comparable(run: forkingpaths.Run):  # type: ignore[no-untyped-def]
    return run.trials.drop(columns=["latency_s", "cached"]).sort_values("trial_id").reset_index(drop=True)


@pytest.mark.model
def test_ray_and_local_executors_give_the_same_trials_and_results(ray_cluster: None, tmp_path: Path) -> None:
    local = forkingpaths.run(_spec(tmp_path, "local", "llamacpp", {"name": "asyncio"}), forkingpaths.RunOptions(cache_dir=tmp_path / "c1"))
    remote = forkingpaths.run(
        _spec(tmp_path, "remote", "llamacpp", {"name": "ray", "actors": 2}), forkingpaths.RunOptions(cache_dir=tmp_path / "c2")
    )
    assert remote.manifest.counts.model_calls == local.manifest.counts.model_calls == local.manifest.counts.requests
    import pandas.testing

    pandas.testing.assert_frame_equal(_comparable(local), _comparable(remote))
    assert local.results == remote.results


def test_a_killed_actor_loses_nothing_and_duplicates_nothing(ray_cluster: None, killer_backend: None, tmp_path: Path) -> None:
    marker = tmp_path / "killed"
    spec = _spec(tmp_path, "kill", f"killer:{marker}", {"name": "ray", "actors": 2})
    run = forkingpaths.run(spec, forkingpaths.RunOptions(cache_dir=tmp_path / "cache"))
    assert marker.exists()  # one actor really died mid-run
    assert run.trials["error"].isna().all() and run.trials["trial_id"].is_unique
    counts = run.manifest.counts
    assert counts.requests == counts.model_calls == run.trials["request_key"].nunique()  # each answered once
    assert counts.requeued >= 1  # the dead actor's in-flight requests were asked again elsewhere
    again = forkingpaths.run(spec, forkingpaths.RunOptions(cache_dir=tmp_path / "cache"))
    assert again.manifest.counts.model_calls == 0  # every answer reached the driver's cache


def test_an_unknown_executor_is_a_spec_error(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "bad", "llamacpp", {"name": "spark"})
    with pytest.raises(SpecError, match="executor.name: unknown executor 'spark'"):
        forkingpaths.run(spec, forkingpaths.RunOptions(cache_dir=tmp_path / "cache"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def instant_server() -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen([sys.executable, str(INSTANT_SERVER), "--port", str(port)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and "listening" in process.stdout.readline()
    yield f"http://{LOOPBACK}:{port}/v1"
    process.terminate()
    process.wait(10)


def test_a_replica_set_travels_to_the_actors_and_they_leave_out_the_replica_that_is_down(
    ray_cluster: None, instant_server: str, tmp_path: Path
) -> None:
    down = f"http://{LOOPBACK}:{_free_port()}/v1"  # nothing listens there
    model = {"ref": "openai:instant", "base_urls": [down, instant_server]}
    run = forkingpaths.run(_spec(tmp_path, "replicas", model, {"name": "ray", "actors": 2}), forkingpaths.RunOptions(cache_dir=tmp_path / "c"))
    counts = run.manifest.counts
    assert run.trials["error"].isna().all() and set(run.trials["model"]) == {f"openai:instant@{down}"}
    assert counts.requests == counts.model_calls == counts.attempts  # no request was sent to the replica that is down
    served = int(httpx.get(instant_server + "/stats", timeout=5).json()["requests"])
    assert served == counts.model_calls + 1 + 2  # every answer, the driver's probe and each actor's start probe
