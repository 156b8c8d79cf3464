"""What the report is made of, read from one finished run directory and nothing else.

Re-rendering a report must never need a model, the data set or a statistic the
analyses did not already compute. So every number shown comes from the run
document (``manifest.json`` under ``/manifest``, ``results.json`` beside it:
``/analyses/…``, ``/findings/…``) and is addressed by a JSON Pointer (RFC 6901):
the page carries that pointer next to the number, which makes each figure
traceable to the file (and testable). Item wording comes from ``items.json``,
per-trial answers from ``trials.parquet``, and the user's own words (data
source, validity notes) from the resolved ``spec.yaml``. A directory that is not
a finished run (see :func:`forkingpaths.results.check_complete`) is refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from forkingpaths.errors import RunDirectoryError
from forkingpaths.results import load_run

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

    def pointer(self, *keys: Key) -> str:
        """The JSON Pointer of ``keys`` under this part of the document."""
        return pointer(*self.prefix, *keys)

    def num(self, *keys: Key) -> Num:
        """A number at ``keys`` (``None`` stays ``None``); a list or mapping gives its length."""
        value = self.get(*keys)
        if isinstance(value, (list, dict)):
            value = len(value)
        return Num(value, pointer(*self.prefix, *keys))


@dataclass(frozen=True)
class RunSource:
    """A run directory's contents as the report needs them.

    ``results`` is the whole run document; ``analyses`` its instrument's part
    (pointers stay relative to the whole document).
    """

    directory: Path
    results: Results
    spec: dict[str, Any]
    items: list[dict[str, Any]]
    trials: pd.DataFrame

    @property
    def analyses(self) -> Results:
        return self.results.at("analyses")

    @property
    def instrument(self) -> str:
        return str(self.results.get("instrument", default=""))


def load_source(directory: str | Path) -> RunSource:
    """Read a finished run directory; an unfinished, mixed or unreadable one is a one-line :class:`UserError`."""
    run = load_run(directory)
    try:
        spec = yaml.safe_load((run.directory / "spec.yaml").read_text(encoding="utf-8")) or {}
        items = json.loads((run.directory / "items.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as error:
        raise RunDirectoryError(f"{run.directory}: cannot read the run ({type(error).__name__}: {error})") from None
    return RunSource(run.directory, Results(run.document()), spec, items, run.trials)
