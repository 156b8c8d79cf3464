"""Items from a Hugging Face dataset, read in one of the file layouts.

``datasets`` is an optional dependency (``forkingpaths[hf]``), so it is imported only
when this loader runs. A local directory written by ``Dataset.save_to_disk`` is read
with ``load_from_disk`` (no network); anything else is treated as a hub id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from forkingpaths.data.tables import Table, records_table
from forkingpaths.errors import DataError

PARAMS = ("layout", "name", "split", "revision")


def dataset_table(path: str, base_dir: Path, *, name: str | None, split: str | None, revision: str | None) -> Table:
    """Load the dataset (one split) and expose it as a table whose rows are numbered from 1."""
    try:
        import datasets
    except ImportError:
        raise DataError("loader 'huggingface' needs the 'datasets' package: pip install 'forkingpaths[hf]'") from None
    local = base_dir / path
    label = path if local.is_dir() else f"{path}[{split or 'train'}]"
    try:
        if local.is_dir():
            loaded: Any = datasets.load_from_disk(str(local))
        else:
            loaded = datasets.load_dataset(path, name=name, split=split or "train", revision=revision)
    # datasets raises many unrelated exception types (network, hub, format); all mean "could not load".
    except Exception as error:  # noqa: BLE001
        message = (str(error).strip().splitlines() or [""])[0]
        raise DataError(f"{label}: cannot load Hugging Face dataset ({type(error).__name__}: {message})") from None
    if isinstance(loaded, datasets.DatasetDict):
        loaded, label = _pick_split(loaded, path, split)
    return records_table(loaded.to_list(), loaded.column_names, label)


def _pick_split(splits: Any, path: str, split: str | None) -> tuple[Any, str]:
    names = list(splits)
    if split is None and len(names) == 1:
        split = names[0]
    if split not in names:
        wanted = "data.params.split is required" if split is None else f"no split {split!r}"
        raise DataError(f"{path}: {wanted}; splits found: {', '.join(names)}")
    return splits[split], f"{path}[{split}]"
