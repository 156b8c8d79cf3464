"""``forkingpaths meta``: read the matrices, run the analyses, write results.json and report.html."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from forkingpaths.errors import DataError
from forkingpaths.meta.analysis import analyse_benchmarks
from forkingpaths.meta.matrices import example_matrices, matrices_from_run, read_aliases, read_matrix
from forkingpaths.meta.report import render_meta_report
from forkingpaths.results import RunResults
from forkingpaths.store import to_jsonable, write_json, write_text

__all__ = ["gather", "run_meta"]


def gather(sources: list[Path], example: str | None, aliases: Path | None) -> dict[str, pd.DataFrame]:
    """The matrices named on the command line: an example's, each file's, each MCQ run's conditions."""
    if example and sources:
        raise DataError("give either --example or matrix files / run directories, not both")
    if example:
        return example_matrices(example)
    if not sources:
        raise DataError("give at least one matrix file or MCQ run directory (or --example zeroeval)")
    table = read_aliases(aliases) if aliases else {}
    matrices: dict[str, pd.DataFrame] = {}
    for source in sources:
        found = matrices_from_run(source) if source.is_dir() else {source.name.split(".")[0]: read_matrix(source, table)}
        for name, matrix in found.items():
            key = name if name not in matrices else f"{source.name}:{name}"
            matrices[key] = matrix
    return matrices


def run_meta(matrices: dict[str, pd.DataFrame], out: Path, title: str, seed: int = 0, level: float = 0.95) -> RunResults:
    """Analyse and write ``out/results.json`` and ``out/report.html``."""
    results = analyse_benchmarks(matrices, level=level, seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    document = to_jsonable(results.model_dump(mode="json"))
    assert isinstance(document, dict)
    write_json(out / "results.json", document)
    write_text(out / "report.html", render_meta_report(document, title))
    return results
