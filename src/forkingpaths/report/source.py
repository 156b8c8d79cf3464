"""What the report is made of, read from one run directory and nothing else.

Re-rendering a report must never need a model, the data set or a statistic the
analyses did not already compute. So every number shown comes from
``results.json`` and is addressed by a JSON Pointer (RFC 6901): the page carries
that pointer next to the number, which makes each figure traceable to the file
(and testable). Item wording comes from ``items.json``, per-trial answers from
``trials.parquet``, and the user's own words (data source, validity notes) from
the resolved ``spec.yaml``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from forkingpaths.errors import UserError

Key = str | int


def pointer(*keys: Key) -> str:
    """The JSON Pointer of a path of keys: ``("models", "a/b", 0)`` → ``/models/a~1b/0``."""
    return "".join("/" + str(key).replace("~", "~0").replace("/", "~1") for key in keys)


def resolve(document: Any, path: str) -> Any:
    """The value a JSON Pointer names inside ``document`` (KeyError/IndexError if absent)."""
    value = document
    for raw in path.split("/")[1:]:
        key = raw.replace("~1", "/").replace("~0", "~")
        value = value[int(key)] if isinstance(value, list) else value[key]
    return value


@dataclass(frozen=True)
class Num:
    """One number from results.json together with its JSON Pointer."""

    value: float | int | None
    path: str


class Results:
    """results.json, or a part of it, with two ways in: raw values, and numbers that remember their pointer."""

    def __init__(self, document: dict[str, Any], prefix: tuple[Key, ...] = ()) -> None:
        self.document = document
        self.prefix = prefix

    def at(self, *keys: Key) -> Results:
        """The part of the results under ``keys`` (pointers stay relative to the whole file)."""
        return Results(self.document, (*self.prefix, *keys))

    def get(self, *keys: Key, default: Any = None) -> Any:
        """The value at ``keys``, or ``default`` when any step is missing."""
        value: Any = self.document
        for key in (*self.prefix, *keys):
            try:
                value = value[key]
            except (KeyError, IndexError, TypeError):
                return default
        return value

    def num(self, *keys: Key) -> Num:
        """A number at ``keys`` (``None`` stays ``None``); a list or mapping gives its length."""
        value = self.get(*keys)
        if isinstance(value, (list, dict)):
            value = len(value)
        return Num(value, pointer(*self.prefix, *keys))


@dataclass(frozen=True)
class RunSource:
    """A run directory's contents as the report needs them."""

    directory: Path
    results: Results
    spec: dict[str, Any]
    items: list[dict[str, Any]]
    trials: pd.DataFrame


def load_source(directory: str | Path) -> RunSource:
    """Read a run directory; a missing or unreadable file is a one-line :class:`UserError`."""
    directory = Path(directory)
    if not directory.is_dir():
        raise UserError(f"{directory}: no such run directory")
    for name in ("results.json", "trials.parquet", "spec.yaml"):
        if not (directory / name).is_file():
            raise UserError(f"{directory}: not a finished run directory (no {name}); run the spec first")
    try:
        results = json.loads((directory / "results.json").read_text(encoding="utf-8"))
        spec = yaml.safe_load((directory / "spec.yaml").read_text(encoding="utf-8")) or {}
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise UserError(f"{directory}: cannot read the run's results ({type(error).__name__}: {error})") from None
    items_path = directory / "items.json"
    items = json.loads(items_path.read_text(encoding="utf-8")) if items_path.is_file() else []
    return RunSource(directory, Results(results), spec, items, pd.read_parquet(directory / "trials.parquet"))
