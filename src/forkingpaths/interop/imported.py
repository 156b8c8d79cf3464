"""What an importer hands back: trials, items, the source files and the tool's own numbers.

An importer only reads; it never writes. Everything it found is in an :class:`Imported`,
and :mod:`forkingpaths.interop.rundir` turns that into a run directory. Keeping the two
apart is what makes "nothing written" hold for every bad file: an importer raises a
:class:`~forkingpaths.errors.DataError` before the first byte of the run exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class Source:
    """One file that was read: where it is, its SHA-256, the factor levels it stands for, what it says of itself."""

    path: str
    sha256: str
    levels: dict[str, str]
    detail: dict[str, Any] = field(default_factory=dict)  # tool version, task, model arguments, …


@dataclass(frozen=True)
class ImportedTrial:
    """One answer of one model to one item under one condition and repeat, as the tool recorded it.

    Fields are those of the MCQ trial record (canonical option indices); whatever the tool
    does not record stays ``None`` (an unknown permutation, chosen option or option count).
    ``source`` indexes :attr:`Imported.sources`; ``where`` is the file position (``line 7``).
    """

    model: str
    item_id: str
    levels: dict[str, str]
    repeat: int
    correct: bool | None
    source: int
    where: str
    chosen: int | None = None
    gold: int | None = None
    n_options: int | None = None
    probs: list[float] | None = None
    chosen_position: int | None = None
    gold_position: int | None = None
    chosen_norm: int | None = None
    correct_norm: bool | None = None
    parsed: bool | None = None
    response_text: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class ImportedItem:
    """An item as far as the tool's files describe it (a correctness table may give only its id)."""

    item_id: str
    question: str = ""
    options: tuple[str, ...] = ()
    gold: int | None = None
    subject: str | None = None


@dataclass(frozen=True)
class Reported:
    """An aggregate the tool itself reported (lm-eval's results file, Inspect's log header).

    ``field`` is the trial column whose mean over that source's scored trials must equal it
    (``correct``, or ``correct_norm`` for lm-eval's ``acc_norm``).
    """

    source: int
    model: str
    metric: str
    value: float
    field: str = "correct"


@dataclass
class Imported:
    """Everything one import read, before anything is written."""

    tool: str
    trials: list[ImportedTrial]
    items: dict[str, ImportedItem]
    sources: list[Source]
    factors: list[str]
    reported: list[Reported] = field(default_factory=list)
    cannot_know: list[str] = field(default_factory=list)  # what this tool's files do not record


@dataclass(frozen=True)
class FileArg:
    """A path named on the command line with the factor levels given before it."""

    path: Path
    levels: dict[str, str]


class Importer(Protocol):
    """An importer: files (with their factor levels) and a column/field mapping → :class:`Imported`."""

    def __call__(self, files: list[FileArg], mapping: dict[str, str]) -> Imported: ...

