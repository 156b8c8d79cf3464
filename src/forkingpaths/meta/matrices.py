"""Models × items matrices for benchmark meta-evaluation: from files, from an MCQ run, or built in.

A matrix is a DataFrame with one row per model, one column per item, and scores 0/1 (NaN =
not answered). Files come in two layouts, told apart by their columns:

- wide (the ZeroEval layout): a column ``item_id`` and one column per model, one row per item;
- long: columns ``item_id``, ``model`` and ``score`` (or ``correct``), one row per answer.

In either layout a ``subject`` (or ``category``) column gives each item its category, for the
signal and noise of each category. An MCQ run gives one matrix per condition, and its items'
subjects from ``items.json``.

CSV (optionally gzip-compressed) and Parquet are read. Model names are canonicalised before
models are compared or counted: a name in the alias table maps to its model; otherwise a
``@host`` suffix is dropped. Several rows for one model (the same model from several hosts) are
resolved by keeping the row with the most answered items (ties: the first name in sort order),
so each model counts once in population statistics.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd

from forkingpaths.errors import DataError

__all__ = [
    "EXAMPLES",
    "Benchmarks",
    "canonical_name",
    "deduplicate",
    "example_matrices",
    "matrices_from_run",
    "read_aliases",
    "read_benchmark",
    "read_matrix",
]

#: The built-in examples: name → (files in meta/data/<name>/, the alias table).
EXAMPLES = {"zeroeval": ("gsm.csv.gz", "math-l5.csv.gz", "crux.csv.gz")}
_SCORE_COLUMNS = ("score", "correct")
_CATEGORY_COLUMNS = ("subject", "category")


@dataclass(frozen=True, eq=False)
class Benchmarks(Mapping[str, pd.DataFrame]):
    """The matrices to analyse, as a mapping name → models × items matrix, and what their sources add.

    ``categories``: for a matrix whose items carry a category (a subject), item id → category.
    ``designs``: for a run with two or more conditions, the run's name → its conditions' matrix
    names, so that the noise across conditions can be computed on the same models.
    """

    matrices: dict[str, pd.DataFrame]
    categories: dict[str, pd.Series] = field(default_factory=dict)
    designs: dict[str, list[str]] = field(default_factory=dict)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.matrices[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.matrices)

    def __len__(self) -> int:
        return len(self.matrices)

    def renamed(self, prefix: str) -> Benchmarks:
        """The same benchmarks with every name prefixed (two sources that give the same names)."""
        return Benchmarks(
            {f"{prefix}{n}": m for n, m in self.matrices.items()},
            {f"{prefix}{n}": c for n, c in self.categories.items()},
            {f"{prefix}{n}": [f"{prefix}{m}" for m in ms] for n, ms in self.designs.items()},
        )

    def merged(self, other: Benchmarks) -> Benchmarks:
        """Both sets of benchmarks (the names must differ)."""
        return Benchmarks({**self.matrices, **other.matrices}, {**self.categories, **other.categories}, {**self.designs, **other.designs})


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


def _categories(frame: pd.DataFrame, path: Path) -> pd.Series | None:
    """Item id → category from a ``subject``/``category`` column (one value per item), else None."""
    column = next((c for c in _CATEGORY_COLUMNS if c in frame.columns), None)
    if column is None:
        return None
    pairs = frame[["item_id", column]].dropna().drop_duplicates()
    clash = pairs["item_id"].duplicated()
    if clash.any():
        raise DataError(f"{path}: item {pairs.loc[clash, 'item_id'].iloc[0]!r} has two values in the {column} column")
    return pd.Series(pairs[column].astype(str).str.strip().to_numpy(), index=pairs["item_id"].astype(str).to_numpy(), name="category")


def read_benchmark(path: str | Path, aliases: dict[str, str] | None = None) -> Benchmarks:
    """Read a wide or long file into one benchmark (deduplicated, names canonicalised), named after the file."""
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
    categories = _categories(frame, path)
    frame = frame.drop(columns=[c for c in _CATEGORY_COLUMNS if c in frame.columns])
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
    name = path.name.split(".")[0]
    return Benchmarks({name: deduplicate(matrix, aliases or {})}, {name: categories} if categories is not None else {})


def read_matrix(path: str | Path, aliases: dict[str, str] | None = None) -> pd.DataFrame:
    """Read a wide or long file into a models × items matrix (deduplicated, names canonicalised)."""
    return next(iter(read_benchmark(path, aliases).matrices.values()))


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


def example_matrices(name: str) -> Benchmarks:
    """The built-in matrices of an example (``zeroeval``: GSM8K, MATH level 5, CRUXEval-O)."""
    if name not in EXAMPLES:
        raise DataError(f"unknown example {name!r}; built-in examples: {', '.join(EXAMPLES)}")
    folder = resources.files("forkingpaths.meta").joinpath("data", name)
    found = Benchmarks({})
    with resources.as_file(folder) as directory:
        aliases = read_aliases(Path(directory) / "aliases.csv")
        for file in EXAMPLES[name]:
            found = found.merged(read_benchmark(Path(directory) / file, aliases))
    return found


def _run_categories(directory: Path) -> pd.Series | None:
    """Item id → subject from a run's ``items.json`` (None when no item has a subject)."""
    try:
        records = json.loads((directory / "items.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(f"{directory / 'items.json'}: cannot read ({type(error).__name__}: {error})") from None
    subjects = {str(r["item_id"]): str(r["subject"]) for r in records if isinstance(r, dict) and r.get("subject") not in (None, "")}
    return pd.Series(subjects, name="category", dtype=object) if subjects else None


def matrices_from_run(run_dir: str | Path, aliases: dict[str, str] | None = None) -> Benchmarks:
    """One matrix per condition of a finished MCQ run (its first repeat; error rows are missing cells).

    A single condition is named after the run directory; several are named ``RUN [factor=level, …]``
    and listed under the run in ``designs``. Model names are canonicalised and deduplicated as for
    files; items keep their subjects from ``items.json``.
    """
    from forkingpaths.results import load_run

    directory = Path(run_dir)
    run = load_run(directory)
    trials = run.trials
    if run.results.instrument != "mcq" or "correct" not in trials.columns:
        raise DataError(f"{run_dir}: meta reads MCQ runs (a correct column per trial); this run's instrument is {run.results.instrument!r}")
    factors = [f for f in run.manifest.design.get("factors", {}) if f in trials.columns]
    first = trials[trials["repeat"] == 0]
    categories = _run_categories(directory)
    parts = list(first.groupby("condition_id", sort=True))
    matrices: dict[str, pd.DataFrame] = {}
    for _, part in parts:
        label = ", ".join(f"{f}={part[f].iloc[0]}" for f in factors)
        name = directory.name if len(parts) == 1 else f"{directory.name} [{label}]"
        table = part.pivot_table(index="model", columns="item_id", values="correct", aggfunc="first", dropna=False)
        matrices[name] = deduplicate(table.astype(float), aliases or {})
    designs = {directory.name: sorted(matrices)} if len(matrices) > 1 else {}
    return Benchmarks(dict(sorted(matrices.items())), {n: categories for n in matrices} if categories is not None else {}, designs)
