"""Interop: other tools' result files in, paper-ready tables and figures out.

``import_results`` reads files written by lm-evaluation-harness, Inspect AI or a plain
table through a registered importer (``registry.importers``), and writes a run
directory of the MCQ instrument (no model is called), which :func:`forkingpaths.load_run`,
``forkingpaths report`` and ``forkingpaths export`` read like any run. docs/interop.md
says what each importer reads and what it cannot know.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from forkingpaths import registry
from forkingpaths.errors import UserError
from forkingpaths.interop.imported import FileArg
from forkingpaths.results import Run, load_run

PathLike = str | Path


def file_args(tokens: Sequence[str]) -> list[FileArg]:
    """Paths and ``--factor NAME=LEVEL`` in command-line order: a level holds for the paths after it.

    ``--factor template=plain a.jsonl --factor template=cot b.jsonl`` gives ``a.jsonl``
    the level ``plain`` and ``b.jsonl`` the level ``cot``; a ``--factor`` given once
    before every path holds for all of them.
    """
    levels: dict[str, str] = {}
    out: list[FileArg] = []
    tokens = list(tokens)
    while tokens:
        token = tokens.pop(0)
        if token == "--factor" or token.startswith("--factor="):
            value = token.partition("=")[2] if token.startswith("--factor=") else (tokens.pop(0) if tokens else "")
            factor, sep, level = value.partition("=")
            if not sep or not factor.strip() or not level.strip():
                raise UserError(f"--factor {value!r}: expected NAME=LEVEL, e.g. --factor template=plain")
            levels[factor.strip()] = level.strip()
        elif token.startswith("--"):
            raise UserError(f"unknown option {token!r}; the import command takes --factor, --map, --out, --name, --overwrite")
        else:
            out.append(FileArg(Path(token), dict(levels)))
    if not out:
        raise UserError("no file to import; name at least one PATH")
    return out


def mapping_args(pairs: Sequence[str]) -> dict[str, str]:
    """``--map COLUMN=FIELD`` pairs → a dict (``FIELD`` ``-`` ignores the column)."""
    out: dict[str, str] = {}
    for pair in pairs:
        column, sep, field = pair.partition("=")
        if not sep or not column or not field:
            raise UserError(f"--map {pair!r}: expected COLUMN=FIELD, e.g. --map question_id=item_id")
        out[column] = field
    return out


def import_results(
    tool: str,
    paths: Sequence[PathLike | tuple[PathLike, Mapping[str, str]]],
    *,
    factors: Mapping[str, str] | None = None,
    mapping: Mapping[str, str] | None = None,
    out: PathLike = "runs",
    name: str | None = None,
    overwrite: bool = False,
    level: float = 0.95,
    n_resamples: int = 1000,
    report: bool = True,
) -> Run:
    """Import result files of ``tool`` (``lm-eval``, ``inspect``, ``table`` or a registered importer).

    ``paths`` are files (or directories, for lm-eval), each optionally paired with its own
    factor levels; ``factors`` adds levels shared by every file. The run goes to
    ``out/<name>`` (default name ``import-<tool>``) with ``report.html`` unless ``report``
    is false. Returns exactly what :func:`forkingpaths.load_run` reads back.
    """
    from forkingpaths.interop.rundir import write_imported_run

    shared = dict(factors or {})
    files = [
        FileArg(Path(p[0]), {**shared, **p[1]}) if isinstance(p, tuple) else FileArg(Path(p), dict(shared)) for p in paths
    ]
    if not files:
        raise UserError("no file to import; name at least one path")
    importer = registry.importers.get(tool)
    imported = importer(files, dict(mapping or {}))
    run_dir = write_imported_run(imported, out, name, overwrite=overwrite, level=level, n_resamples=n_resamples)
    if report:
        from forkingpaths.report.html import write_report

        write_report(run_dir)
    return load_run(run_dir)
