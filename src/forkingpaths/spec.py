"""The evaluation spec: pydantic models, YAML loading and key-path error messages.

A spec is validated completely before any model is called. Every problem is
reported as one line naming its key path (``factors.option_order[2]: …``), so a
user can fix all of them in one pass.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Union
from urllib.parse import urlparse

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, field_validator, model_validator

from forkingpaths.errors import SpecError
from forkingpaths.models.base import Replicas


#: The longest accepted spec name: it becomes a folder name, and file systems cap those at 255 bytes.
NAME_MAX_LENGTH = 100
_NAME_CHARACTERS = re.compile(r"[A-Za-z0-9._-]")


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a run folder's name, or ``None`` if it can.

    The run is written to ``output_dir/<name>``, so the name must stay one plain folder
    inside ``output_dir``: ASCII letters, digits, ``-``, ``_`` and ``.``, but not ``.`` or
    ``..`` (which would overwrite the output folder or its parent), at most
    :data:`NAME_MAX_LENGTH` characters. Path separators, NUL and control characters are
    excluded by the character set.
    """
    if len(name) > NAME_MAX_LENGTH:
        return f"too long ({len(name)} characters; at most {NAME_MAX_LENGTH}, it names the run folder)"
    if name in (".", ".."):
        return f"{name!r} is not allowed (the run folder would be the output folder or its parent)"
    bad = next((c for c in name if not _NAME_CHARACTERS.fullmatch(c)), None)
    if bad is not None:
        return f"{ascii(bad)} is not allowed; use letters, digits, '-', '_' and '.' (the name is a folder name)"
    return None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InstrumentSpec(_Strict):
    """Which instrument turns items into requests, and its parameters."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class DataSpec(_Strict):
    """Where items come from.

    ``loader`` names one of the instrument's loaders; ``path`` is resolved relative
    to the spec file; ``columns`` maps the loader's column names to the file's;
    ``params`` holds loader-specific options; ``filter`` keeps the items whose field
    is in the list (the instrument says which fields it has); ``limit`` keeps the
    first N items.
    """

    loader: str
    path: str | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)
    filter: dict[str, list[str]] = Field(default_factory=dict)
    limit: int | None = Field(default=None, ge=1)


def _base_url(value: str) -> str:
    """An ``http://`` or ``https://`` URL with a host, without a trailing ``/``."""
    text = value.strip()
    try:
        parsed = urlparse(text)
        parsed.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        parsed = urlparse("")
    if parsed.scheme not in ("http", "https") or not parsed.hostname or re.search(r"[\s@]", text):
        raise ValueError(f"{value!r} is not a base URL; expected http://host:port/v1 or https://…")
    return text.rstrip("/")


class ModelEndpoints(_Strict):
    """One model served at several base URLs (replicas), written as a mapping in ``models``.

    ``ref`` is the model reference without an endpoint (``openai:my-model``). The set is
    named ``<ref>@<first base URL>`` in tables and the cache, as if that URL alone served
    it. ``eject_after`` consecutive failures take a replica out for ``cooldown`` seconds
    (conventions; see :class:`forkingpaths.models.base.Replicas`).
    """

    ref: str = Field(min_length=1)
    base_urls: list[Annotated[str, AfterValidator(_base_url)]] = Field(min_length=1, max_length=1024)
    eject_after: int = Field(default=Replicas.eject_after, ge=1, le=100)
    cooldown: float = Field(default=Replicas.cooldown, gt=0.0, le=3600.0)

    @field_validator("base_urls")
    @classmethod
    def _distinct(cls, urls: list[str]) -> list[str]:
        first: dict[str, int] = {}
        for j, url in enumerate(urls):
            if url in first:
                raise ValueError(f"base_urls[{j}] repeats base_urls[{first[url]}] ({url})")
            first[url] = j
        return urls

    def replicas(self) -> Replicas:
        return Replicas(tuple(self.base_urls), self.eject_after, self.cooldown)

    @property
    def reference(self) -> str:
        return self.replicas().reference(self.ref)


def _entry_kind(value: Any) -> str:
    return "endpoints" if isinstance(value, (dict, ModelEndpoints)) else "reference"


#: A model in ``models`` or a role: a reference string, or a mapping with several base URLs.
ModelEntry = Annotated[
    Union[Annotated[str, Tag("reference")], Annotated[ModelEndpoints, Tag("endpoints")]],  # noqa: UP007 - tagged members
    Discriminator(_entry_kind),
]
_ENTRY_TAGS = frozenset({"reference", "endpoints"})


def entry_reference(entry: str | ModelEndpoints) -> str:
    """The reference that names the entry in tables, the cache and the manifest."""
    return entry if isinstance(entry, str) else entry.reference


def _embedded_model() -> list[str | ModelEndpoints]:
    return ["llamacpp"]


class SamplingSpec(_Strict):
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=16, ge=1, le=4096)


class RetrySpec(_Strict):
    """Retries of transient failures (timeouts, connection errors, 429, 5xx)."""

    max_attempts: int = Field(default=4, ge=1, le=20)
    initial_delay: float = Field(default=0.5, ge=0.0, le=60.0)
    max_delay: float = Field(default=30.0, ge=0.0, le=600.0)
    timeout: float = Field(default=120.0, gt=0.0, le=3600.0)


class ExecutorSpec(_Strict):
    """Where requests are sent from: ``asyncio`` (this process) or ``ray`` (Ray actors).

    ``address`` names a running Ray cluster (``ray://host:10001`` or ``auto``); without
    it a local cluster is started. ``actors`` is how many Ray actors send requests.
    """

    name: str = "asyncio"
    address: str | None = None
    actors: int = Field(default=2, ge=1, le=1024)


class AnalysisSpec(_Strict):
    """Settings shared by every analysis: interval level and resampling effort."""

    level: float = Field(default=0.95, gt=0.5, lt=1.0)
    n_resamples: int = Field(default=1000, ge=50, le=100_000)


class Spec(_Strict):
    """One evaluation: instrument, data, models, design and run settings."""

    name: str = Field(min_length=1)
    instrument: InstrumentSpec
    data: DataSpec
    models: list[ModelEntry] = Field(default_factory=_embedded_model, min_length=1)
    roles: dict[str, list[ModelEntry]] = Field(default_factory=dict)
    factors: dict[str, list[str]] = Field(default_factory=dict)
    max_conditions: int | None = Field(default=None, ge=1)
    repeats: int = Field(default=1, ge=1, le=1000)
    seed: int = 0
    sampling: SamplingSpec = Field(default_factory=SamplingSpec)
    concurrency: int = Field(default=4, ge=1, le=256)
    output_dir: str = "runs"
    api_key_env: str = "OPENAI_API_KEY"
    retries: RetrySpec = Field(default_factory=RetrySpec)
    executor: ExecutorSpec = Field(default_factory=ExecutorSpec)
    analysis: AnalysisSpec = Field(default_factory=AnalysisSpec)
    validity: dict[str, str] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _safe_folder_name(cls, value: str) -> str:
        """Checked here, at load, so a bad name fails before any model call rather than at writing."""
        problem = name_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("instrument", mode="before")
    @classmethod
    def _instrument_shorthand(cls, value: Any) -> Any:
        """Accept ``instrument: NAME`` as well as ``instrument: {name: NAME, params: …}``."""
        if isinstance(value, str):
            return {"name": value}
        return value

    @field_validator("roles", mode="before")
    @classmethod
    def _role_shorthand(cls, value: Any) -> Any:
        """Accept ``judge: openai:m@url`` (or one mapping) as well as a list of them (a jury)."""
        if not isinstance(value, dict):
            return value
        return {role: [refs] if isinstance(refs, (str, dict)) else refs for role, refs in value.items()}

    @field_validator("factors", mode="before")
    @classmethod
    def _levels_as_strings(cls, value: Any) -> Any:
        """Levels are labels: YAML numbers and booleans are kept as their text."""
        if not isinstance(value, dict):
            return value
        out: dict[Any, Any] = {}
        for key, levels in value.items():
            if isinstance(levels, list):
                out[key] = [str(v) if isinstance(v, (int, float, bool)) else v for v in levels]
            else:
                out[key] = levels
        return out

    @model_validator(mode="after")
    def _factor_levels_unique(self) -> Spec:
        problems: list[str] = [f"roles.{role}: needs at least one model reference" for role, refs in self.roles.items() if not refs]
        named: dict[str, int] = {}
        for i, reference in enumerate(self.model_references()):
            if reference in named:
                problems.append(f"models[{i}]: {reference} is models[{named[reference]}] again")
            named.setdefault(reference, i)
        for factor, levels in self.factors.items():
            if not levels:
                problems.append(f"factors.{factor}: needs at least one level")
            seen: set[str] = set()
            for i, level in enumerate(levels):
                if level in seen:
                    problems.append(f"factors.{factor}[{i}]: duplicate level {level!r}")
                seen.add(level)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def model_references(self) -> list[str]:
        """The evaluated models as tables name them (a replica set by its first base URL)."""
        return [entry_reference(entry) for entry in self.models]

    def with_overrides(
        self,
        *,
        models: list[str] | None = None,
        output_dir: str | None = None,
        limit: int | None = None,
        concurrency: int | None = None,
        executor: str | None = None,
        address: str | None = None,
    ) -> Spec:
        """A copy with command-line overrides applied (``None`` keeps the spec's value)."""
        update: dict[str, Any] = {}
        if executor is not None or address is not None:
            changes = {k: v for k, v in (("name", executor), ("address", address)) if v is not None}
            update["executor"] = self.executor.model_copy(update=changes)
        if models:
            update["models"] = list(models)
        if output_dir is not None:
            update["output_dir"] = output_dir
        if concurrency is not None:
            update["concurrency"] = concurrency
        if limit is not None:
            update["data"] = self.data.model_copy(update={"limit": limit})
        return self.model_copy(update=update)


def format_loc(loc: tuple[int | str, ...]) -> str:
    """``('factors', 'option_order', 2)`` → ``factors.option_order[2]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _user_loc(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """The key path as the user wrote it: without validator names and the tag of a model entry."""
    kept: list[int | str] = []
    for part in loc:
        if isinstance(part, str) and (part.startswith("function-") or (part in _ENTRY_TAGS and kept and isinstance(kept[-1], int))):
            continue
        kept.append(part)
    return tuple(kept)


def _problems_from(error: ValidationError) -> list[str]:
    problems = []
    for err in error.errors():
        loc = _user_loc(err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        problems.append(f"{format_loc(loc)}: {message}")
    return problems


def parse_spec(data: Any, source: str | None = None) -> Spec:
    """Validate a mapping as a :class:`Spec`, raising :class:`SpecError` with one line per problem."""
    if not isinstance(data, dict):
        raise SpecError(["(top level): expected a mapping of spec keys"], source)
    try:
        return Spec.model_validate(data)
    except ValidationError as error:
        raise SpecError(_problems_from(error), source) from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses duplicate mapping keys.

    A duplicated key is almost always an editing mistake (two ``factors:`` blocks), and
    silently keeping the last one would run a different design than the file seems to say.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[object, object]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # ``<<: *anchor`` may be repeated
                continue
            key = self.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
            if isinstance(key, (list, dict)):
                continue  # unhashable: SafeLoader's own construct_mapping reports it
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_text(path: Path) -> str:
    """The file as UTF-8 text, or a one-line :class:`SpecError` naming it."""
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise SpecError([f"file not found: {path}"]) from None
    except OSError as error:
        raise SpecError([f"cannot read {path}: {error.strerror}"]) from None
    except UnicodeDecodeError as error:
        bad = error.object[error.start : error.start + 1]
        raise SpecError([f"not UTF-8 text (byte {bad!r} at offset {error.start}); save the file as UTF-8"], str(path)) from None


def load_spec(path: str | Path) -> Spec:
    """Read a YAML spec (safe loader, duplicate keys refused) and validate it."""
    path = Path(path)
    text = _read_text(path)
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise SpecError([f"invalid YAML at {where}: {getattr(error, 'problem', error)}"], str(path)) from None
    return parse_spec(data, str(path))


def spec_to_yaml(spec: Spec) -> str:
    """The resolved spec as YAML (written to every run directory)."""
    return yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
