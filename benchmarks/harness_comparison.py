"""forkingpaths, Inspect AI and lm-evaluation-harness on the same MCQ items, side by side.

Each harness runs as its own command-line process against the same OpenAI-compatible server
on 127.0.0.1, on the same N four-option items written in its native form:

* ``forkingpaths``: ``forkingpaths run`` of an ``mcq`` spec (tidy JSON Lines data,
  ``elicitation: letter``: one chat request per item reading the labels' ``top_logprobs``),
  model ``openai:<model>@<base URL>``, its SQLite response cache in a fresh directory;
* ``inspect``: ``inspect eval`` of a task with ``multiple_choice()`` and ``choice()``, model
  ``openai-api/bench/<model>`` (base URL and key from ``BENCH_BASE_URL``/``BENCH_API_KEY``),
  ``--cache`` (Inspect caches only when asked) into a fresh ``INSPECT_CACHE_DIR``;
* ``lmeval-gen``: ``lm_eval --model local-chat-completions`` on a ``generate_until`` task
  YAML (``--apply_chat_template``), ``--use_cache`` into a fresh SQLite file;
* ``lmeval-mc``: ``lm_eval --model local-completions`` on a ``multiple_choice`` task YAML
  (one echoed-log-probability ``/completions`` request per option), with a tokenizer built
  from the bundled GGUF's vocabulary (never downloaded) and ``tokenized_requests=False``
  (llama-cpp-python's server takes text prompts).

Inspect AI and lm-eval are installed from PyPI at pinned versions into temporary virtual
environments (or reused: ``--inspect-venv``, ``--lmeval-venv``). Hugging Face is kept
offline (``HF_HUB_OFFLINE=1`` …). Every round runs every harness in an order rotated by one
each round; each harness runs twice: from an empty cache (timed, requests counted at the
server) and again on the cache it just filled (the rerun); then, for the marginal cost, once
more from an empty cache on the first ``--small-items`` of the same items.

What is measured per run: wall time; the client's CPU time, user + system, of the harness
process and everything it started (``resource.getrusage(RUSAGE_CHILDREN)`` before and after
``subprocess.run``; the server is started earlier by this process but is not waited for, so
its CPU is not included). It includes everything the command does: interpreter start-up,
imports, reading the items, the requests, scoring, writing logs, and for forkingpaths the
analyses and report. Nothing is subtracted. Requests are counted by the instant server
(``GET /stats``); on the real llama.cpp server (``--real-server``) they are not counted.

Printed: per harness, the median and range over rounds of CPU ms per request, CPU ms per
item, wall seconds, requests per item, rerun seconds and, on the instant server, the
start-up to the first request (from starting the command to the first POST the server
receives, both read from the wall clock; forkingpaths' reachability probe is a GET and
does not count); the marginal CPU per request
(``marginal_ms``: the difference between the full and the small set, in which fixed
costs cancel); then the ratios forkingpaths / other harness of CPU per request, CPU per
item, wall time and marginal CPU per request (the median and range of the per-round
ratios); and the machine's load average (``os.getloadavg``) at start and end.

Run: python benchmarks/harness_comparison.py [--items 40] [--rounds 3] [--concurrency 8]
     [--inspect-venv DIR] [--lmeval-venv DIR] [--real-server [--real-items 8]]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import venv
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "scripts" / "interop"))
from interop_tools import build_tokenizer, bundled_gguf, free_port, package_version, wait_for_server  # noqa: E402

INSPECT_PIN = "inspect_ai==0.3.285"
INSPECT_EXTRA = ("openai==3.57.0",)  # Inspect's openai-api provider needs the SDK, which inspect_ai does not require
LMEVAL_PIN = "lm_eval[api]==0.4.13"
LMEVAL_EXTRA = ("gguf==0.19.0", "tokenizers==0.23.3", "transformers==5.24.0")  # for the tokenizer built from the GGUF
HARNESSES = ("forkingpaths", "inspect", "lmeval-gen", "lmeval-mc")
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "HF_HUB_DISABLE_TELEMETRY": "1"}
LETTERS = "ABCD"


@dataclass(frozen=True)
class Spread:
    """The median of some per-round values and their range."""

    median: float
    low: float
    high: float

    def format(self, digits: int = 2) -> str:
        return f"{self.median:.{digits}f} ({self.low:.{digits}f}-{self.high:.{digits}f})"


def spread(values: Sequence[float]) -> Spread:
    """Median and range of ``values`` (NaNs left out; all NaN gives NaN)."""
    kept = [v for v in values if v == v]
    if not kept:
        return Spread(float("nan"), float("nan"), float("nan"))
    return Spread(statistics.median(kept), min(kept), max(kept))


def round_ratios(numerator: Sequence[float], denominator: Sequence[float]) -> Spread:
    """Median and range of the per-round ratios ``numerator[r] / denominator[r]`` (rounds paired, not pooled)."""
    if len(numerator) != len(denominator):
        raise ValueError(f"{len(numerator)} rounds against {len(denominator)}: ratios pair rounds")
    return spread([a / b if b else float("nan") for a, b in zip(numerator, denominator, strict=True)])


@dataclass(frozen=True)
class Measured:
    """One harness command: wall seconds, client CPU seconds (user + system of the process tree), requests at the server."""

    wall_s: float
    cpu_s: float
    requests: int | None
    startup_s: float | None = None  # from starting the command to its first POST at the server (counting servers only)


@dataclass(frozen=True)
class Server:
    base_url: str  # …/v1
    model: str
    port: int
    counts: bool  # whether GET /stats counts requests

    def stats(self, since: int | None = None) -> dict[str, object] | None:
        """The counting server's ``/stats``: requests, POSTs, and the time of POST number ``since`` (from 0), if any."""
        if not self.counts:
            return None
        query = "" if since is None else f"?since={since}"
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/stats{query}", timeout=10) as response:
            return dict(json.load(response))


def measure(command: list[str], env: dict[str, str], cwd: Path, server: Server, log: Path) -> Measured:
    """Run ``command`` to completion; its output goes to ``log``; a failure exits with the log's tail."""
    before_stats = server.stats()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start_unix, start = time.time(), time.perf_counter()
    with log.open("w") as out:
        code = subprocess.run(command, env={**os.environ, **OFFLINE, **env}, cwd=cwd, stdout=out, stderr=subprocess.STDOUT).returncode
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if code != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise SystemExit(f"{' '.join(command)} exited with {code}; last lines of {log}:\n{tail}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if before_stats is None:
        return Measured(wall, cpu, None)
    after_stats = server.stats(since=int(before_stats["posts"]))  # type: ignore[call-overload]
    assert after_stats is not None
    first_post = after_stats["post_since"]
    startup = None if first_post is None else float(first_post) - start_unix  # type: ignore[arg-type]
    return Measured(wall, cpu, int(after_stats["requests"]) - int(before_stats["requests"]), startup)  # type: ignore[call-overload]


# ---------------------------------------------------------------- items in each tool's form


def make_items(n: int, seed: int = 15) -> list[dict[str, object]]:
    """N seeded arithmetic questions with four distinct numeric options (a real answer, so the real server can get them right)."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        a, b = rng.randint(10, 99), rng.randint(10, 99)
        right = a + b
        options = {right}
        while len(options) < 4:
            options.add(right + rng.choice([-11, -10, -2, -1, 1, 2, 9, 10]))
        shown = sorted(options)
        rng.shuffle(shown)
        items.append({"id": f"sum-{i:04d}", "question": f"What is {a} + {b}?", "choices": [str(o) for o in shown], "gold": shown.index(right)})
    return items


INSPECT_TASK = '''"""The benchmark's items as an Inspect task: multiple_choice() solver, choice() scorer."""
import json
from pathlib import Path

from inspect_ai import Task, task
from inspect_ai.dataset import Sample
from inspect_ai.scorer import choice
from inspect_ai.solver import multiple_choice


@task
def bench() -> Task:
    rows = [json.loads(line) for line in Path(__file__).with_name("items.jsonl").read_text().splitlines()]
    samples = [Sample(id=r["id"], input=r["question"], choices=r["choices"], target="ABCD"[r["gold"]]) for r in rows]
    return Task(dataset=samples, solver=multiple_choice(), scorer=choice())
'''

LMEVAL_COMMON = """dataset_path: json
dataset_kwargs:
  data_files:
    test: {items}
test_split: test
metadata:
  version: 1.0
"""

LMEVAL_MC = """task: bench_mc
output_type: multiple_choice
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_choice: choices
doc_to_target: gold
metric_list:
  - metric: acc
"""

LMEVAL_GEN = """task: bench_gen
output_type: generate_until
doc_to_text: "{{{{question}}}}\\nA. {{{{choices[0]}}}}\\nB. {{{{choices[1]}}}}\\nC. {{{{choices[2]}}}}\\nD. {{{{choices[3]}}}}\\nAnswer with the letter only."
doc_to_target: "{{{{['A', 'B', 'C', 'D'][gold]}}}}"
generation_kwargs:
  until: ["\\n"]
  max_gen_toks: 16
  temperature: 0
  do_sample: false
metric_list:
  - metric: exact_match
    ignore_case: true
    ignore_punctuation: true
"""


def write_items(items: list[dict[str, object]], work: Path) -> None:
    """The same items as forkingpaths tidy JSONL, an Inspect task file and two lm-eval task YAMLs."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "items.jsonl").write_text("".join(json.dumps(item) + "\n" for item in items))
    tidy = [{"id": i["id"], "question": i["question"], "options": i["choices"], "gold": i["gold"]} for i in items]
    (work / "fp_items.jsonl").write_text("".join(json.dumps(row) + "\n" for row in tidy))
    (work / "inspect_task.py").write_text(INSPECT_TASK)
    tasks = work / "lmeval_tasks"
    tasks.mkdir(exist_ok=True)
    common = LMEVAL_COMMON.format(items=work / "items.jsonl")
    (tasks / "bench_mc.yaml").write_text(LMEVAL_MC.format() + common)
    (tasks / "bench_gen.yaml").write_text(LMEVAL_GEN.format() + common)


def forkingpaths_spec(server: Server, work: Path, out: Path, concurrency: int) -> Path:
    spec = {
        "name": "harness-comparison",
        "instrument": {"name": "mcq", "params": {"elicitation": "letter"}},
        "data": {"loader": "tidy", "path": str(work / "fp_items.jsonl"), "params": {"gold_format": "index"}},
        "models": [f"openai:{server.model}@{server.base_url}"],
        "concurrency": concurrency,
        "output_dir": str(out),
    }
    path = out / "spec.yaml"
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(spec))  # JSON is YAML
    return path


# ---------------------------------------------------------------- harness commands


@dataclass(frozen=True)
class Tools:
    inspect_bin: Path
    lmeval_python: Path
    tokenizer: Path


def command_for(harness: str, server: Server, tools: Tools, work: Path, run_dir: Path, concurrency: int) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of one harness run whose cache and logs live in ``run_dir``."""
    if harness == "forkingpaths":
        spec = forkingpaths_spec(server, work, run_dir / "out", concurrency)
        code = "from forkingpaths.cli import app; app()"
        return [sys.executable, "-c", code, "run", str(spec)], {"FORKINGPATHS_CACHE_DIR": str(run_dir / "cache")}
    if harness == "inspect":
        command = [
            str(tools.inspect_bin), "eval", str(work / "inspect_task.py") + "@bench", "--model", f"openai-api/bench/{server.model}",
            "--max-connections", str(concurrency), "--max-tokens", "16", "--temperature", "0", "--cache", "--log-dir", str(run_dir / "logs"),
            "--display", "none",
        ]  # fmt: skip
        env = {"BENCH_BASE_URL": server.base_url, "BENCH_API_KEY": "none", "INSPECT_CACHE_DIR": str(run_dir / "cache"), "INSPECT_LOG_LEVEL": "warning"}
        return command, env
    common = ["--include_path", str(work / "lmeval_tasks"), "--output_path", str(run_dir / "out"), "--use_cache", str(run_dir / "cache" / "lm"), "--seed", "1234"]
    if harness == "lmeval-gen":
        model_args = f"model={server.model},base_url={server.base_url}/chat/completions,num_concurrent={concurrency},max_retries=1"
        return [str(tools.lmeval_python), "-m", "lm_eval", "--model", "local-chat-completions", "--model_args", model_args, "--tasks", "bench_gen", "--apply_chat_template", *common], {}
    if harness == "lmeval-mc":
        model_args = (
            f"model={server.model},base_url={server.base_url}/completions,tokenizer_backend=huggingface,tokenizer={tools.tokenizer},"
            f"tokenized_requests=False,num_concurrent={concurrency},max_retries=1"
        )
        return [str(tools.lmeval_python), "-m", "lm_eval", "--model", "local-completions", "--model_args", model_args, "--tasks", "bench_mc", *common], {}
    raise ValueError(f"unknown harness {harness!r}; expected one of {', '.join(HARNESSES)}")


# ---------------------------------------------------------------- environments and servers


def tool_venv(given: Path | None, requirements: Sequence[str], root: Path) -> Path:
    """``given``, or a new virtual environment under ``root`` with ``requirements`` installed from PyPI by pip."""
    if given is not None:
        return given
    target = root / requirements[0].split("==")[0].split("[")[0]
    print(f"creating {target} and installing {' '.join(requirements)} (minutes)", flush=True)
    venv.create(target, with_pip=True)
    subprocess.run([str(target / "bin" / "python"), "-m", "pip", "install", "--quiet", *requirements], check=True)
    return target


@contextmanager
def process(command: list[str], ready: str | None = None) -> Iterator[subprocess.Popen[str]]:
    """A server process, terminated (then killed) on the way out."""
    child = subprocess.Popen(command, stdout=subprocess.PIPE if ready else subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    try:
        if ready is not None:
            assert child.stdout is not None
            line = child.stdout.readline()
            if ready not in line:
                raise SystemExit(f"{' '.join(command)} did not start: {line!r}")
        yield child
    finally:
        child.terminate()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@contextmanager
def instant_server() -> Iterator[Server]:
    port = free_port()
    with process([sys.executable, str(HERE / "instant_server.py"), "--port", str(port)], ready="listening"):
        yield Server(f"http://127.0.0.1:{port}/v1", "instant", port, counts=True)


@contextmanager
def real_server(gguf: Path) -> Iterator[Server]:
    """``python -m llama_cpp.server`` with the bundled GGUF on 127.0.0.1 (``logits_all`` for echoed log-probabilities)."""
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", "smollm2", "--n_ctx", "2048",
               "--logits_all", "True", "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    with process(command):
        wait_for_server(port)
        yield Server(f"http://127.0.0.1:{port}/v1", "smollm2", port, counts=False)


# ---------------------------------------------------------------- rounds and summary


@dataclass
class Results:
    first: dict[str, list[Measured]]
    rerun: dict[str, list[Measured]]
    small: dict[str, list[Measured]] = field(default_factory=dict)  # the same harness on the few-item set, for the marginal cost


def marginal_ms(large: Measured, small: Measured) -> float:
    """Client CPU ms per extra request: ``(cpu_large - cpu_small) / (requests_large - requests_small)``.

    The fixed cost of a command (start-up, imports, writing logs and reports once) cancels
    in the difference, if it does not grow with the items. NaN without two request counts
    that differ.
    """
    if large.requests is None or small.requests is None or large.requests == small.requests:
        return float("nan")
    return 1000 * (large.cpu_s - small.cpu_s) / (large.requests - small.requests)


def run_rounds(server: Server, tools: Tools, work: Path, small_work: Path | None, harnesses: Sequence[str], rounds: int, concurrency: int) -> Results:
    """Every harness once per round, in an order rotated by one each round: empty cache, rerun, then (optionally) the small set."""
    results = Results({h: [] for h in harnesses}, {h: [] for h in harnesses}, {h: [] for h in harnesses} if small_work else {})
    for r in range(rounds):
        order = [*harnesses[r % len(harnesses) :], *harnesses[: r % len(harnesses)]]
        for harness in order:
            run_dir = Path(tempfile.mkdtemp(prefix=f"{harness}-r{r}-", dir=work))
            command, env = command_for(harness, server, tools, work, run_dir, concurrency)
            first = measure(command, env, work, server, run_dir / "first.log")
            rerun = measure(command, env, work, server, run_dir / "rerun.log")
            results.first[harness].append(first)
            results.rerun[harness].append(rerun)
            line = (f"round {r + 1} {harness:<12} {first.wall_s:6.2f} s wall, {first.cpu_s:6.2f} s CPU, requests {first.requests}; "
                    f"rerun {rerun.wall_s:5.2f} s, requests {rerun.requests}")  # fmt: skip
            if small_work is not None:
                small_dir = Path(tempfile.mkdtemp(prefix=f"{harness}-r{r}-", dir=small_work))
                command, env = command_for(harness, server, tools, small_work, small_dir, concurrency)
                small = measure(command, env, small_work, server, small_dir / "first.log")
                results.small[harness].append(small)
                line += f"; small set {small.cpu_s:5.2f} s CPU, requests {small.requests}"
            print(line, flush=True)
    return results


def summarise(results: Results, n_items: int) -> list[str]:
    """The printed summary: per-harness medians and ranges, then the forkingpaths / other ratios."""
    lines = [f"per harness, median (range) over {len(next(iter(results.first.values())))} rounds:"]
    per_request: dict[str, list[float]] = {}
    per_item: dict[str, list[float]] = {}
    wall: dict[str, list[float]] = {}
    for harness, runs in results.first.items():
        per_item[harness] = [1000 * m.cpu_s / n_items for m in runs]
        per_request[harness] = [1000 * m.cpu_s / m.requests if m.requests else float("nan") for m in runs]
        wall[harness] = [m.wall_s for m in runs]
        requests = spread([m.requests / n_items if m.requests is not None else float("nan") for m in runs])
        startup = spread([m.startup_s if m.startup_s is not None else float("nan") for m in runs])
        rerun = spread([m.wall_s for m in results.rerun[harness]])
        rerun_requests = sorted({m.requests for m in results.rerun[harness]}, key=str)
        counted = requests.median == requests.median
        lines.append(
            f"  {harness:<12} "
            + (f"CPU/request {spread(per_request[harness]).format()} ms  " if counted else "")
            + f"CPU/item {spread(per_item[harness]).format()} ms  wall {spread(wall[harness]).format()} s  "
            + (f"requests/item {requests.format()}  rerun {rerun.format()} s (requests {rerun_requests})  "
               f"start-up to first request {startup.format()} s" if counted else f"rerun {rerun.format()} s")
        )
    marginal = {h: [marginal_ms(large, small) for large, small in zip(results.first[h], runs, strict=True)] for h, runs in results.small.items()}
    if marginal:
        lines.append("marginal client CPU per request, (CPU - CPU on the small set) / (requests - requests on the small set):")
        lines.extend(f"  {harness:<12} {spread(values).format(3)} ms" for harness, values in marginal.items())
    if "forkingpaths" in results.first:
        for other in results.first:
            if other == "forkingpaths":
                continue
            by_request = round_ratios(per_request["forkingpaths"], per_request[other])
            line = (
                f"ratio forkingpaths/{other}: " + (f"CPU per request {by_request.format()}, " if by_request.median == by_request.median else "") +
                f"CPU per item {round_ratios(per_item['forkingpaths'], per_item[other]).format()}, "
                f"wall {round_ratios(wall['forkingpaths'], wall[other]).format()}"
            )
            if marginal:
                line += f", marginal CPU per request {round_ratios(marginal['forkingpaths'], marginal[other]).format()}"
            lines.append(line + "  (median (range) of per-round ratios)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--harnesses", default=",".join(HARNESSES), help=f"comma-separated subset of {','.join(HARNESSES)}")
    parser.add_argument("--inspect-venv", type=Path, help=f"reuse a virtual environment with {INSPECT_PIN} and {INSPECT_EXTRA[0]}")
    parser.add_argument("--lmeval-venv", type=Path, help=f"reuse a virtual environment with {LMEVAL_PIN} and {', '.join(LMEVAL_EXTRA)}")
    parser.add_argument("--small-items", type=int, default=4, help="items of the small set run in each round for the marginal cost per request (0: none)")
    parser.add_argument("--real-server", action="store_true", help="also run against python -m llama_cpp.server with the bundled GGUF")
    parser.add_argument("--real-items", type=int, default=8, help="items on the real server (echoed log-probabilities are slow there)")
    parser.add_argument("--real-rounds", type=int, default=1)
    args = parser.parse_args()
    harnesses = [h.strip() for h in args.harnesses.split(",") if h.strip()]
    for harness in harnesses:
        if harness not in HARNESSES:
            parser.error(f"--harnesses: unknown harness {harness!r}; expected some of {', '.join(HARNESSES)}")
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="fp-harness-") as tmp_name:
        tmp = Path(tmp_name)
        inspect_venv = tool_venv(args.inspect_venv, [INSPECT_PIN, *INSPECT_EXTRA], tmp / "venvs")
        lmeval_venv = tool_venv(args.lmeval_venv, [LMEVAL_PIN, *LMEVAL_EXTRA], tmp / "venvs")
        gguf = bundled_gguf(sys.executable)
        build_tokenizer(str(lmeval_venv / "bin" / "python"), gguf, tmp / "tokenizer")
        tools = Tools(inspect_venv / "bin" / "inspect", lmeval_venv / "bin" / "python", tmp / "tokenizer")
        versions = {
            "inspect_ai": package_version(str(inspect_venv / "bin" / "python"), "inspect_ai"),
            "lm_eval": package_version(str(tools.lmeval_python), "lm_eval"),
            "python": sys.version.split()[0],
        }
        print(f"versions {json.dumps(versions)}; cpus={os.cpu_count()} load_average_at_start={' '.join(f'{x:.2f}' for x in load_start)}")
        print(f"items={args.items} small_items={args.small_items} rounds={args.rounds} concurrency={args.concurrency} harnesses={','.join(harnesses)}", flush=True)
        sections: list[tuple[str, list[str]]] = []
        with instant_server() as server:
            work = tmp / "instant"
            write_items(make_items(args.items), work)
            small_work = tmp / "instant-small" if args.small_items else None
            if small_work is not None:
                write_items(make_items(args.small_items), small_work)
            results = run_rounds(server, tools, work, small_work, harnesses, args.rounds, args.concurrency)
            sections.append((f"instant-reply server, {args.items} items", summarise(results, args.items)))
        if args.real_server:
            with real_server(gguf) as server:
                work = tmp / "real"
                write_items(make_items(args.real_items), work)
                results = run_rounds(server, tools, work, None, harnesses, args.real_rounds, args.concurrency)
                sections.append((f"llama.cpp server (requests not counted), {args.real_items} items", summarise(results, args.real_items)))
    for title, lines in sections:
        print(f"== {title}")
        print("\n".join(lines))
    print(f"load_average_at_end={' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("CPU = user + system time of each harness command's whole process tree (RUSAGE_CHILDREN): start-up, imports, requests, scoring, logs, forkingpaths' analyses and report; nothing subtracted.")


if __name__ == "__main__":
    main()
