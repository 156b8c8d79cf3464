"""The Ray executor on a local Ray cluster: the same trials and results as the local executor,
a killed actor loses nothing and duplicates nothing, and a killed driver (``kill -9``)
leaves no Ray process behind and is resumed from the cache by a rerun.

Run by test_ray_executor.py in a private network namespace (Ray's own servers listen on
every interface, so the cluster is given a network with nothing but loopback). The
cluster (``ray.init(num_cpus=2)``) is started once for the module; its workers get
tests/ on their path so they can import the test-only backend family, and the driver's
forkingpaths before any installed one.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas.testing
import pytest
import yaml

import forkingpaths
from forkingpaths import registry
from forkingpaths.errors import SpecError
from forkingpaths.execution.executor import BATCH_SIZE
from forkingpaths.execution.ray_executor import BATCHES_IN_FLIGHT
from forkingpaths.models.base import Response
from forkingpaths.spec import load_spec, parse_spec
from e2e.conftest import CLI, cached_count


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


def _spec_data(tmp_path: Path, name: str, model: object, executor: dict[str, object], **overrides: object) -> dict[str, object]:
    return {
        "name": name,
        "instrument": "survey",
        "data": {"loader": "builtin", "params": {"name": "values"}, "limit": 3},
        "models": [model],
        "factors": {"option_order": ["original", "reversed"], "label_style": ["letters", "numbers"]},
        "output_dir": str(tmp_path / "runs"),
        "analysis": {"n_resamples": 100},
        "concurrency": 2,
        "executor": executor,
        **overrides,
    }


def _spec(tmp_path: Path, name: str, model: object, executor: dict[str, object]) -> forkingpaths.Spec:
    return parse_spec(_spec_data(tmp_path, name, model, executor))


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


def _serve(*options: str) -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen([sys.executable, str(INSTANT_SERVER), "--port", str(port), *options], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and "listening" in process.stdout.readline()
    yield f"http://{LOOPBACK}:{port}/v1"
    process.terminate()
    process.wait(10)


@pytest.fixture
def instant_server() -> Iterator[str]:
    yield from _serve()


@pytest.fixture
def slow_server() -> Iterator[str]:
    """The instant-reply server answering each request 50 ms late, so a run can be caught mid-way."""
    yield from _serve("--delay-ms", "50")


def _served(url: str) -> int:
    return int(httpx.get(url + "/stats", timeout=5).json()["requests"])


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
    reference = f"openai:instant@{down}"  # each actor's counts reach the manifest, summed
    assert [(r.url, r.answered, r.failed, r.taken_out) for r in run.manifest.replicas[reference]] == [
        (down, 0, 0, 2),  # taken out once by each actor's start probe
        (instant_server, counts.model_calls, 0, 0),
    ]


def _stat(pid: int) -> tuple[str, int, str] | None:
    """(state, parent pid, start time) of a process from /proc, or None once it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = raw[raw.rfind(")") + 2 :].split()
    return fields[0], int(fields[1]), fields[19]


def _process_tree(root: int) -> dict[int, tuple[str, str]]:
    """Every live descendant of ``root``: pid -> (start time, command line)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            children.setdefault(stat[1], []).append(int(entry.name))
    tree, todo = {}, list(children.get(root, []))
    while todo:
        pid = todo.pop()
        stat = _stat(pid)
        if stat is None or stat[0] == "Z":
            continue
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        tree[pid] = (stat[2], command)
        todo.extend(children.get(pid, []))
    return tree


def _still_running(tree: dict[int, tuple[str, str]]) -> dict[int, str]:
    """The processes of ``tree`` still alive (same pid and start time, not a zombie)."""
    alive = {}
    for pid, (start, command) in tree.items():
        stat = _stat(pid)
        if stat is not None and stat[0] != "Z" and stat[2] == start:
            alive[pid] = command
    return alive


#: A local cluster's per-node agents: when the raylet dies they try to report it to the GCS,
#: dead too, and exit only after about 60 s (measured: the runtime-env agent logs the raylet's
#: death, then "SystemExit" 61 s later).
RAY_AGENTS = ("ray::DashboardAgent", "ray::RuntimeEnvAgent")


def _agents(processes: dict[int, str]) -> set[str]:
    return {command for command in processes.values() if command.startswith(RAY_AGENTS)}


def _cache_rows(cache_dir: Path) -> dict[str, tuple[str, str]]:
    with sqlite3.connect(cache_dir / "cache.sqlite") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return {key: (request, response) for key, request, response in conn.execute("SELECT key, request_json, response_json FROM responses")}


ACTORS, CONCURRENCY = 2, 4
KILL_AFTER = 80  # committed answers: more than one batch (BATCH_SIZE), well short of the 248


@pytest.mark.timeout(240)
def test_a_driver_killed_under_ray_leaves_no_ray_process_and_a_rerun_resumes_from_the_cache(
    ray_cluster: None, slow_server: str, tmp_path: Path
) -> None:
    """``forkingpaths run`` with ``executor: ray`` (its own local Ray cluster) is SIGKILLed mid-run.

    Ray's processes die with it; the cache is whole and every committed answer is its
    request's; a rerun on the Ray executor (this module's cluster) asks the server for the
    missing requests only, and gives the trials and results of an uninterrupted local run.
    """
    url, cache = slow_server, tmp_path / "cache"
    data = _spec_data(
        tmp_path, "driver", f"openai:instant@{url}", {"name": "ray", "actors": ACTORS}, concurrency=CONCURRENCY,
        data={"loader": "builtin", "params": {"name": "values"}},
        factors={"option_order": ["original", "reversed"], "label_style": ["letters", "numbers"], "template": ["plain", "survey"]},
    )
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))  # factor order is column order
    env = {**os.environ, "FORKINGPATHS_CACHE_DIR": str(cache), "PYTHONPATH": os.pathsep.join([SOURCE, os.environ.get("PYTHONPATH", "")])}
    driver = subprocess.Popen([CLI, "run", str(path)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120  # Ray's start-up alone takes seconds on a loaded machine
    while cached_count(cache) < KILL_AFTER:
        assert driver.poll() is None, f"the run ended before it was killed: {driver.stderr.read()[-2000:] if driver.stderr else ''}"
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.01)
    tree = _process_tree(driver.pid)
    driver.kill()
    driver.wait(10)
    commands = " ".join(command for _, command in tree.values())
    assert "raylet" in commands and "gcs_server" in commands and "RequestWorker" in commands, commands
    deadline = time.monotonic() + 30
    while (left := _still_running(tree)) and set(left.values()) - _agents(left) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not set(left.values()) - _agents(left), f"Ray processes outlived their driver: {left}"
    for pid in left:  # the two agents wait a minute on the dead GCS before they exit: the test's `ray stop`
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while (left := _still_running(tree)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"Ray processes outlived their driver: {left}"

    committed, served = _cache_rows(cache), _served(url)
    survived = len(committed)
    spec = load_spec(path)
    total = 31 * 8  # items × conditions, one distinct request each
    assert KILL_AFTER <= survived < total
    in_flight = ACTORS * BATCHES_IN_FLIGHT * CONCURRENCY
    assert 0 <= served - 1 - survived <= BATCH_SIZE + in_flight, (served, survived)  # 1: the driver's probe

    rerun = forkingpaths.run(spec, forkingpaths.RunOptions(cache_dir=cache))
    counts = rerun.manifest.counts
    assert counts.requests == counts.trials == total and counts.errors == 0 and rerun.trials["trial_id"].is_unique
    assert counts.cache_hits == survived and counts.model_calls == total - survived
    assert _served(url) - served == counts.model_calls + 1  # the missing requests, and the probe; nothing committed again
    assert set(rerun.trials.loc[rerun.trials["cached"], "request_key"]) == set(committed)

    local_spec = parse_spec({**data, "name": "local", "executor": {"name": "asyncio"}})
    local = forkingpaths.run(local_spec, forkingpaths.RunOptions(cache_dir=tmp_path / "local-cache"))
    pandas.testing.assert_frame_equal(_comparable(local), _comparable(rerun))
    assert local.results == rerun.results
    reference = _cache_rows(tmp_path / "local-cache")
    for key, (request_json, response_json) in committed.items():  # each committed row is its own request's, and whole
        assert request_json == reference[key][0]
        response = Response.from_json(response_json)
        response.validate()
        assert response.label_probs == Response.from_json(reference[key][1]).label_probs
