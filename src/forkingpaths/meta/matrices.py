"""Models × items matrices for benchmark meta-evaluation: from files, from an MCQ run, or built in.

A matrix is a DataFrame with one row per model, one column per item, and scores 0/1 (NaN =
not answered). Files come in two layouts, told apart by their columns:

- wide (the ZeroEval layout): a column ``item_id`` and one column per model, one row per item;
- long: columns ``item_id``, ``model`` and ``score`` (or ``correct``), one row per answer.

CSV (optionally gzip-compressed) and Parquet are read. Model names are canonicalised before
models are compared or counted: a name in the alias table maps to its model; otherwise a
``@host`` suffix is dropped. Several rows for one model (the same model from several hosts) are
resolved by keeping the row with the most answered items (ties: the first name in sort order),
so each model counts once in population statistics.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

from forkingpaths.errors import DataError

__all__ = [
    "EXAMPLES",
    "canonical_name",
    "deduplicate",
    "example_matrices",
    "matrices_from_run",
    "read_aliases",
    "read_matrix",
]

#: The built-in examples: name → (files in meta/data/<name>/, the alias table).
EXAMPLES = {"zeroeval": ("gsm.csv.gz", "math-l5.csv.gz", "crux.csv.gz")}
_SCORE_COLUMNS = ("score", "correct")


def canonical_name(name: str, aliases: dict[str, str]) -> str:
    """The model a row stands for: its alias if it has one, else the name without an ``@host`` suffix."""
    name = name.strip()
    return aliases.get(name, name.split("@", 1)[0])


def read_aliases(path: str | Path) -> dict[str, str]:
    """A CSV with columns ``name,model``: which model each result name stands for."""
    path = Path(path)
    try:
        table = pd.read_csv(path, dtype=str)
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: cannot read the alias table ({error})") from None
    if list(table.columns[:2]) != ["name", "model"]:
        raise DataError(f"{path}: the alias table needs the columns name,model; found {','.join(table.columns)}")
    return {str(n).strip(): str(m).strip() for n, m in zip(table["name"], table["model"])}


def _scores(values: pd.DataFrame, path: Path) -> pd.DataFrame:
    numeric = values.apply(pd.to_numeric, errors="coerce")
    bad = values.notna() & numeric.isna() | ~(numeric.isna() | numeric.isin([0, 1]))
    if bad.to_numpy().any():
        row, column = next((r, c) for r, c in zip(*bad.to_numpy().nonzero()))
        raise DataError(
            f"{path}: item {values.index[row]!r}, model {values.columns[column]!r}: "
            f"expected 0, 1 or empty, found {values.iat[row, column]!r}"
        )
    return numeric.astype(float)


def read_matrix(path: str | Path, aliases: dict[str, str] | None = None) -> pd.DataFrame:
    """Read a wide or long file into a models × items matrix (deduplicated, names canonicalised)."""
    path = Path(path)
    try:
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype=str)
    except (OSError, ValueError, ImportError) as error:
        raise DataError(f"{path}: cannot read the matrix ({type(error).__name__}: {error})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if "item_id" not in frame.columns:
        raise DataError(f"{path}: expected an item_id column (wide: item_id,<model>,…; long: item_id,model,score)")
    if frame["item_id"].duplicated().any() and "model" not in frame.columns:
        raise DataError(f"{path}: item {frame.loc[frame['item_id'].duplicated(), 'item_id'].iloc[0]!r} appears twice")
    if "model" in frame.columns:
        score = next((c for c in _SCORE_COLUMNS if c in frame.columns), None)
        if score is None:
            raise DataError(f"{path}: a long file needs a score (or correct) column beside item_id and model")
        if frame.duplicated(["item_id", "model"]).any():
            first = frame[frame.duplicated(["item_id", "model"])].iloc[0]
            raise DataError(f"{path}: item {first['item_id']!r}, model {first['model']!r} appears twice")
        wide = frame.pivot(index="item_id", columns="model", values=score)
    else:
        wide = frame.set_index("item_id")
    if wide.shape[1] == 0 or wide.shape[0] == 0:
        raise DataError(f"{path}: no models or no items")
    matrix = _scores(wide.astype(object).where(wide.notna(), None), path).T
    matrix.index = pd.Index(matrix.index.astype(str), name="model")
    matrix.columns = pd.Index(matrix.columns.astype(str), name="item_id")
    return deduplicate(matrix, aliases or {})


def deduplicate(matrix: pd.DataFrame, aliases: dict[str, str]) -> pd.DataFrame:
    """One row per model: names canonicalised, and of several rows for a model the one with most answers kept."""
    order = pd.DataFrame(
        {"model": [canonical_name(n, aliases) for n in matrix.index], "answered": matrix.notna().sum(axis=1).to_numpy(), "name": list(matrix.index)}
    ).sort_values(
        ["model", "answered", "name"], ascending=[True, False, True]
    )
    keep = order.drop_duplicates("model")
    result = matrix.loc[keep["name"]]
    result.index = pd.Index(keep["model"].to_list(), name="model")
    return result.sort_index()


def example_matrices(name: str) -> dict[str, pd.DataFrame]:
    """The built-in matrices of an example (``zeroeval``: GSM8K, MATH level 5, CRUXEval-O)."""
    if name not in EXAMPLES:
        raise DataError(f"unknown example {name!r}; built-in examples: {', '.join(EXAMPLES)}")
    folder = resources.files("forkingpaths.meta").joinpath("data", name)
    with resources.as_file(folder) as directory:
        aliases = read_aliases(Path(directory) / "aliases.csv")
        return {file.split(".")[0]: read_matrix(Path(directory) / file, aliases) for file in EXAMPLES[name]}


def matrices_from_run(run_dir: str | Path) -> dict[str, pd.DataFrame]:
    """One matrix per condition of a finished MCQ run (its first repeat; error rows are missing cells)."""
    from forkingpaths.results import load_run

    run = load_run(run_dir)
    trials = run.trials
    if run.results.instrument != "mcq" or "correct" not in trials.columns:
        raise DataError(f"{run_dir}: meta reads MCQ runs (a correct column per trial); this run's instrument is {run.results.instrument!r}")
    first = trials[trials["repeat"] == 0]
    matrices = {}
    for condition, part in first.groupby("condition_id", sort=True):
        table = part.pivot_table(index="model", columns="item_id", values="correct", aggfunc="first", dropna=False)
        matrices[f"condition {condition}"] = table.astype(float)
    return matrices
