"""The typed run object: manifest, the instrument's analyses and its findings.

A run directory holds ``trials.parquet`` (one row per trial), ``stages.parquet``
(one row per model call a trial needed), ``results.json`` (:class:`RunResults`:
the schema version, the instrument, its analyses and its findings) and, written
last, ``manifest.json`` (:class:`Manifest`: what ran, the counts, and the
SHA-256 of every other file). The manifest is the completion mark: a directory
whose manifest is missing, or whose files do not match the hashes it names, is
an unfinished or mixed run, and nothing reads it as a result.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from forkingpaths.errors import RunDirectoryError
from forkingpaths.stats.interval import Interval

SCHEMA_VERSION = 1
Tone = Literal["good", "caution", "bad", "info"]
#: The files a finished run must have, each named with its hash in the manifest.
RUN_FILES = ("trials.parquet", "stages.parquet", "items.json", "results.json", "spec.yaml")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Estimate(_Model):
    """A finding's number: the estimate, its interval at ``level`` and the method that produced it."""

    estimate: float | None
    lower: float | None = None
    upper: float | None = None
    level: float | None = None
    method: str

    @classmethod
    def of(cls, interval: Interval) -> Estimate:
        return cls(
            estimate=interval.estimate,
            lower=interval.lower,
            upper=interval.upper,
            level=interval.level,
            method=interval.method,
        )


class Finding(_Model):
    """A typed claim: every instrument emits these and every renderer shows them the same way.

    ``verdict`` is a word produced by ``rule`` (a documented rule over numbers that
    are shown); ``tone`` only colours it (``good``: the claim holds; ``caution``: it
    does not, or not reliably; ``bad``: the measurement failed; ``info``: no verdict).
    """

    subject: str
    topic: str
    claim: str
    verdict: str
    rule: str
    tone: Tone = "caution"
    estimate: Estimate | None = None


class Counts(_Model):
    """What the executor did. ``requests`` are distinct calls (trials that render the same
    request share one); ``model_calls`` are the requests sent to a backend (cache misses);
    ``attempts`` adds the retries."""

    trials: int
    stages: int
    requests: int
    cache_hits: int
    model_calls: int
    attempts: int
    retries: int
    errors: int
    failed_trials: int
    unsaved: int = 0  # answers the cache could not take (locked by another process until the end)
    requeued: int = 0  # requests lost with a Ray actor that died and asked again of another


class ReplicaCounts(_Model):
    """One server of a model served by several (a replica set), summed over every copy of the
    set the run held (one per Ray actor, one per stage): requests it ``answered``, requests
    that ``failed`` there (no answer, a broken connection, HTTP 5xx; retried elsewhere), and
    the times it was ``taken_out`` (a failed probe, at the start or later, or repeated failures)."""

    url: str
    answered: int
    failed: int
    taken_out: int


class Manifest(_Model):
    name: str
    instrument: str
    started_at: str
    wall_time_s: float
    versions: dict[str, str]
    models: dict[str, dict[str, str]]
    roles: dict[str, list[str]] = Field(default_factory=dict)
    design: dict[str, Any]
    counts: Counts
    replicas: dict[str, list[ReplicaCounts]] = Field(default_factory=dict)  # by model reference, for replica sets
    files: dict[str, str] = Field(default_factory=dict)
    #: For a run made by ``forkingpaths import``: the tool, the files read (path, SHA-256, factor
    #: levels) and a note that no model was called. ``None`` for a run that called models.
    imported: dict[str, Any] | None = None


class RunResults(_Model):
    schema_version: int = SCHEMA_VERSION
    instrument: str
    analyses: dict[str, Any]
    findings: list[Finding]


@dataclass(frozen=True)
class Run:
    """A finished run as read from its directory: what :func:`forkingpaths.run` returns too."""

    directory: Path
    trials: pd.DataFrame
    stages: pd.DataFrame
    manifest: Manifest
    results: RunResults

    @property
    def findings(self) -> list[Finding]:
        return self.results.findings

    @property
    def analyses(self) -> dict[str, Any]:
        return self.results.analyses

    def document(self) -> dict[str, Any]:
        """The whole run as one JSON document (manifest + results): what the report embeds and points into."""
        return {"manifest": self.manifest.model_dump(mode="json"), **self.results.model_dump(mode="json")}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RunDirectoryError(f"{path}: cannot read ({type(error).__name__}: {error})") from None


def check_complete(directory: Path) -> Manifest:
    """The manifest of a finished run; a one-line error for an unfinished, mixed or foreign directory."""
    if not directory.is_dir():
        raise RunDirectoryError(f"{directory}: no such run directory")
    manifest_path = directory / "manifest.json"
    if not manifest_path.is_file():
        raise RunDirectoryError(f"{directory}: not a finished run (no manifest.json); run the spec again to finish it")
    try:
        manifest = Manifest.model_validate(_read_json(manifest_path))
    except ValidationError as error:
        raise RunDirectoryError(f"{manifest_path}: not a forkingpaths manifest of this version ({error.error_count()} problems)") from None
    for name in RUN_FILES:
        path = directory / name
        if not path.is_file():
            raise RunDirectoryError(f"{directory}: unfinished run: {name} is missing; run the spec again")
        if manifest.files.get(name) != file_sha256(path):
            raise RunDirectoryError(
                f"{directory}: {name} does not match manifest.json (a later run was interrupted, or the file was edited); "
                "run the spec again"
            )
    return manifest


def load_run(directory: str | Path) -> Run:
    """Read a finished run directory (no model is loaded); refuses unfinished or mixed directories."""
    directory = Path(directory)
    manifest = check_complete(directory)
    raw = _read_json(directory / "results.json")
    if not isinstance(raw, dict) or raw.get("schema_version") != SCHEMA_VERSION:
        found = raw.get("schema_version") if isinstance(raw, dict) else None
        raise RunDirectoryError(f"{directory / 'results.json'}: schema_version {found!r}, this forkingpaths reads {SCHEMA_VERSION}")
    try:
        results = RunResults.model_validate(raw)
    except ValidationError as error:
        raise RunDirectoryError(f"{directory / 'results.json'}: invalid results ({error.errors()[0]['msg']})") from None
    return Run(
        directory,
        pd.read_parquet(directory / "trials.parquet"),
        pd.read_parquet(directory / "stages.parquet"),
        manifest,
        results,
    )
