"""Shared fixtures: the embedded GGUF model and real llama-cpp-python OpenAI-compatible servers."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from forkingpaths.models.llamacpp import embedded_model_path as _embedded_model_path

SERVER_MODEL_ALIAS = "smollm2"
SERVER_START_TIMEOUT_S = 60.0


def free_port() -> int:
    """A port nothing listens on right now (bind to 0, read it, release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LlamaServer:
    """A running ``python -m llama_cpp.server`` subprocess."""

    base_url: str
    model: str
    process: subprocess.Popen[bytes]
    log_path: Path
    _log: object = field(repr=False, default=None)

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate gracefully (SIGTERM), killing if it does not exit in time."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_log()

    def kill(self) -> None:
        """SIGKILL: simulates a server dying mid-run."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()  # type: ignore[attr-defined]
            self._log = None
            self.log_path.unlink(missing_ok=True)


def _start_server(
    model_path: Path, port: int | None = None, n_ctx: int = 2048, extra_args: Sequence[str] = ()
) -> LlamaServer:
    port = port or free_port()
    log_path = Path(tempfile.mkstemp(prefix="llama_server_", suffix=".log")[1])
    log = log_path.open("wb")
    process = subprocess.Popen(
        [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(model_path),
            "--model_alias", SERVER_MODEL_ALIAS,
            "--host", "127.0.0.1",
            "--port", str(port),
            "--n_ctx", str(n_ctx),
            *extra_args,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = LlamaServer(f"http://127.0.0.1:{port}/v1", SERVER_MODEL_ALIAS, process, log_path, log)
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            server.stop()
            raise RuntimeError(f"llama server exited with {process.returncode}:\n{log_path.read_text()[-2000:]}")
        try:
            response = httpx.get(f"{server.base_url}/models", timeout=1.0)
            if response.status_code == 200:
                server.model = response.json()["data"][0]["id"]
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"llama server did not answer within {SERVER_START_TIMEOUT_S:.0f} s:\n{log_path.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def embedded_model_path() -> Path:
    """The bundled SmolLM2-135M-Instruct GGUF (never downloaded)."""
    return _embedded_model_path()


@pytest.fixture(scope="session")
def llama_server(embedded_model_path: Path) -> Iterator[LlamaServer]:
    """One OpenAI-compatible server on the embedded model for the whole session."""
    server = _start_server(embedded_model_path)
    yield server
    server.stop()


@pytest.fixture
def start_llama_server(embedded_model_path: Path) -> Iterator[Callable[..., LlamaServer]]:
    """Factory for a test's own server (e.g. to kill it mid-run); all are stopped at teardown."""
    started: list[LlamaServer] = []

    def start(port: int | None = None, n_ctx: int = 2048, extra_args: Sequence[str] = ()) -> LlamaServer:
        """Start a server; ``extra_args`` go to ``llama_cpp.server`` (e.g. ``["--embedding", "true"]``)."""
        server = _start_server(embedded_model_path, port=port, n_ctx=n_ctx, extra_args=extra_args)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
