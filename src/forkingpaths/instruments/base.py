"""The instrument protocol: items in, requests out; responses in, records, analyses and findings out.

An instrument is one folder that registers itself (``forkingpaths.registry.instruments``
or an entry point in ``forkingpaths.instruments``). It knows its items and their
loaders, its factors (which levels are valid and what they mean), how to render
a trial's first request, whether a trial needs a follow-up request to a role's
model (a judge grading the answer), how to parse what came back into its own
typed **record**, and which analyses, findings and report sections to make of
the finished trials table. It never calls a model and never prints.

The trials table is the core columns (:data:`CORE_COLUMNS`) plus one column per
field of the instrument's record dataclass, with the field's type; nothing
downstream parses ids or assumes an instrument's columns.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import pandas as pd
import pyarrow as pa

from forkingpaths.design import Condition
from forkingpaths.models.base import Capabilities, Request, Response
from forkingpaths.results import Finding
from forkingpaths.spec import DataSpec, Spec

#: The role of the model a trial evaluates (stage 0); other roles are named in the spec's ``roles``.
EVALUATED = "evaluated"

#: Columns every trials table has, whatever the instrument.
CORE_COLUMNS: dict[str, pa.DataType] = {
    "trial_id": pa.string(),
    "condition_id": pa.string(),
    "model": pa.string(),
    "role": pa.string(),
    "item_id": pa.string(),
    "repeat": pa.int64(),
    "request_key": pa.string(),
    "response_text": pa.string(),
    "latency_s": pa.float64(),
    "prompt_tokens": pa.int64(),
    "completion_tokens": pa.int64(),
    "n_stages": pa.int64(),
    "error": pa.string(),
    "cached": pa.bool_(),
}


@dataclass(frozen=True)
class TrialContext:
    """Everything an instrument may use to render or parse one trial.

    ``capabilities`` are those of the evaluated model's backend; ``role_capabilities``
    those every model of a role shares (a request to a role goes to each of its models).
    """

    item: Any
    condition: Condition
    repeat: int
    model: str
    spec: Spec
    capabilities: Capabilities
    role_capabilities: Mapping[str, Capabilities] = field(default_factory=dict)

    @property
    def levels(self) -> dict[str, str]:
        return self.condition.as_dict()


@dataclass(frozen=True)
class StageResult:
    """One answered request of a trial: stage 0 is the evaluated model, later stages a role's models."""

    stage: int
    role: str
    model: str
    request: Request
    response: Response


@dataclass(frozen=True)
class FollowUp:
    """A further request of a trial, to every model of ``role``."""

    role: str
    request: Request


@dataclass
class Analysis:
    """What an instrument's analyses give: the analyses (JSON-ready), the findings and any extra tables."""

    analyses: dict[str, Any]
    findings: list[Finding]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


@runtime_checkable
class Instrument(Protocol):
    """What the pipeline, the report and the CLI need of an instrument (see docs/writing-an-instrument.md)."""

    name: ClassVar[str]
    record: ClassVar[type]  # a dataclass: its fields are the instrument's trials-table columns
    roles: ClassVar[tuple[str, ...]]  # the spec roles its follow-up stages need (checked before any call)

    def load_items(self, data: DataSpec, base_dir: Path) -> list[Any]:
        """The spec's items, each with a unique ``item_id``; bad input is a one-line DataError."""

    def validate(self, spec: Spec, items: list[Any]) -> list[str]:
        """Problems with params, factor levels and roles given the items, one ``key.path: message`` each."""

    def expand_factors(self, factors: dict[str, list[str]], items: list[Any]) -> dict[str, list[str]]:
        """Factor levels after instrument-specific expansion (e.g. one level per target of a contrast)."""

    def render(self, trial: TrialContext) -> Request:
        """The first request of a trial, to the evaluated model."""

    def follow_up(self, trial: TrialContext, done: Sequence[StageResult]) -> FollowUp | None:
        """The next request of a trial given the stages answered so far, or ``None`` when it is complete."""

    def parse(self, trial: TrialContext, done: Sequence[StageResult]) -> Any:
        """The trial's record (an instance of :attr:`record`) from its answered stages."""

    def item_record(self, item: Any) -> dict[str, Any]:
        """The item as JSON for ``items.json`` (the report shows what was asked without the data set)."""

    def analyse(self, trials: pd.DataFrame, items: list[Any], spec: Spec) -> Analysis:
        """Analyses and findings over the trials table (a pure function of it and the items)."""


class SingleStage:
    """Defaults for an instrument whose trials are one request and whose factors need no expansion."""

    roles: ClassVar[tuple[str, ...]] = ()

    def expand_factors(self, factors: dict[str, list[str]], items: list[Any]) -> dict[str, list[str]]:
        return dict(factors)

    def follow_up(self, trial: TrialContext, done: Sequence[StageResult]) -> FollowUp | None:
        return None

    def item_record(self, item: Any) -> dict[str, Any]:
        return dataclasses.asdict(item) if dataclasses.is_dataclass(item) and not isinstance(item, type) else dict(item)


def _arrow_type(annotation: Any) -> pa.DataType:
    """The Arrow type of a record field: str, int, float, bool, list[...] of those; ``X | None`` is X."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(inner) != 1:
            raise TypeError(f"unsupported union {annotation!r}")
        return _arrow_type(inner[0])
    if origin in (list, tuple, Sequence):
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        return pa.list_(_arrow_type(args[0]) if args else pa.string())
    scalars: dict[Any, pa.DataType] = {str: pa.string(), int: pa.int64(), float: pa.float64(), bool: pa.bool_()}
    if annotation in scalars:
        return scalars[annotation]
    raise TypeError(f"unsupported record field type {annotation!r}: use str, int, float, bool, list of those, or X | None")


def declared_columns(record: type) -> dict[str, pa.DataType]:
    """Column name → Arrow type for every field of an instrument's record dataclass."""
    if not dataclasses.is_dataclass(record):
        raise TypeError(f"an instrument's record must be a dataclass, got {record!r}")
    hints = typing.get_type_hints(record)
    return {f.name: _arrow_type(hints[f.name]) for f in dataclasses.fields(record)}


def empty_record(record: type) -> dict[str, Any]:
    """The record columns of a trial that has no record (an error row): every value missing."""
    return {name: None for name in declared_columns(record)}


def factor_problems(
    factors: Mapping[str, Sequence[str]], known: Collection[str], instrument: str, level_problem: Callable[[str, str], str | None]
) -> list[str]:
    """One problem line per unknown factor or level, keyed as the spec writes them (``factors.NAME[i]``).

    Every instrument validates its design this way before any model call; ``level_problem``
    says what is wrong with one level of one known factor (``None`` when it is fine).
    """
    problems: list[str] = []
    for factor, levels in factors.items():
        if factor not in known:
            problems.append(f"factors.{factor}: unknown factor for the {instrument} instrument; expected one of {', '.join(known)}")
            continue
        problems += [f"factors.{factor}[{i}]: {problem}" for i, level in enumerate(levels) if (problem := level_problem(factor, level))]
    return problems
