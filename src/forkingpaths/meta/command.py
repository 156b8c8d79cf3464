"""``forkingpaths meta``: read the matrices, run the analyses, write results.json and report.html."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from forkingpaths.errors import DataError
from forkingpaths.meta.analysis import analyse_benchmarks
from forkingpaths.meta.matrices import Benchmarks, example_matrices, matrices_from_run, read_aliases, read_benchmark
from forkingpaths.meta.report import render_meta_report
from forkingpaths.results import RunResults
from forkingpaths.store import to_jsonable, write_json, write_text

__all__ = ["gather", "run_meta"]


def gather(sources: list[Path], example: str | None, aliases: Path | None) -> Benchmarks:
    """The matrices named on the command line: an example's, each file's, each MCQ run's conditions."""
    if example and sources:
        raise DataError("give either --example or matrix files / run directories, not both")
    if example:
        return example_matrices(example)
    if not sources:
        raise DataError("give at least one matrix file or MCQ run directory (or --example zeroeval)")
    table = read_aliases(aliases) if aliases else {}
    found = Benchmarks({})
    for source in sources:
        more = matrices_from_run(source, table) if source.is_dir() else read_benchmark(source, table)
        if set(more) & set(found) or set(more.designs) & set(found.designs):
            more = more.renamed(f"{source}:")
        found = found.merged(more)
    return found


def run_meta(matrices: Mapping[str, pd.DataFrame], out: Path, title: str, seed: int = 0, level: float = 0.95) -> RunResults:
    """Analyse and write ``out/results.json`` and ``out/report.html``."""
    results = analyse_benchmarks(matrices, level=level, seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    document = to_jsonable(results.model_dump(mode="json"))
    assert isinstance(document, dict)
    write_json(out / "results.json", document)
    write_text(out / "report.html", render_meta_report(document, title))
    return results
