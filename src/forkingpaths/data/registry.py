"""The loader registry and :func:`load_survey_items`, the one entry point the rest of the package uses.

A loader only turns a source into items; everything a spec asks of the items
afterwards (filter, limit, the sum check or renormalisation) happens here, once, so
every loader behaves the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from forkingpaths.data import builtin, globalopinionqa, huggingface, proshare
from forkingpaths.data.items import SurveyItem
from forkingpaths.data.params import Params
from forkingpaths.data.selection import select
from forkingpaths.data.tables import Table, read_table
from forkingpaths.data.tidy import tidy_long, tidy_wide
from forkingpaths.data.translations import attach_translations
from forkingpaths.data.validation import check_distributions
from forkingpaths.errors import DataError
from forkingpaths.spec import DataSpec

LAYOUT_PARAMS: dict[str, tuple[str, ...]] = {
    "tidy-long": (),
    "tidy-wide": (),
    "globalopinionqa": globalopinionqa.PARAMS,
}


@dataclass(frozen=True)
class _Loaded:
    items: list[SurveyItem]
    source: str


@dataclass(frozen=True)
class _Loader:
    description: str
    load: Callable[[DataSpec, Path], _Loaded]


def _apply_layout(layout: str, table: Table, data: DataSpec, params: Params) -> list[SurveyItem]:
    if layout == "tidy-long":
        return tidy_long(table, data.columns)
    if layout == "tidy-wide":
        return tidy_wide(table, data.columns)
    return globalopinionqa.globalopinionqa(table, data.columns, params.text("id_column"))


def _path(data: DataSpec) -> str:
    if not data.path:
        raise DataError(f"data.path: required for loader {data.loader!r}")
    return data.path


def _file_loader(layout: str) -> Callable[[DataSpec, Path], _Loaded]:
    def load(data: DataSpec, base_dir: Path) -> _Loaded:
        params = Params(data.params, LAYOUT_PARAMS[layout], data.loader)
        path = _path(data)
        table = read_table(base_dir / path, path)
        return _Loaded(_apply_layout(layout, table, data, params), path)

    return load


def _load_pro_share(data: DataSpec, base_dir: Path) -> _Loaded:
    params = Params(data.params, proshare.PARAMS, data.loader)
    path = _path(data)
    wordings = params.required_text("wordings", "a file with columns question_key, question, pro_option, con_option")
    group_column = params.text("group_column") or "cntry_an"
    table = read_table(base_dir / path, path)
    items = proshare.pro_share(table, read_table(base_dir / wordings, wordings), data.columns, group_column)
    return _Loaded(items, path)


def _load_huggingface(data: DataSpec, base_dir: Path) -> _Loaded:
    every_option = huggingface.PARAMS + tuple(p for ps in LAYOUT_PARAMS.values() for p in ps)
    layout = Params(data.params, every_option, data.loader).choice("layout", tuple(LAYOUT_PARAMS))
    params = Params(data.params, huggingface.PARAMS + LAYOUT_PARAMS[layout], data.loader)
    path = _path(data)
    table = huggingface.dataset_table(
        path, base_dir, name=params.text("name"), split=params.text("split"), revision=params.text("revision")
    )
    return _Loaded(_apply_layout(layout, table, data, params), table.name)


def _load_builtin(data: DataSpec, base_dir: Path) -> _Loaded:
    params = Params(data.params, builtin.PARAMS, data.loader)
    for key, value in (("path", data.path), ("columns", data.columns)):
        if value:
            raise DataError(f"data.{key}: not used by loader 'builtin'; remove it")
    name = params.choice("name", tuple(builtin.SURVEYS), "values")
    groups = params.choice("groups", tuple(builtin.GROUP_LEVELS), "country")
    return _Loaded(builtin.builtin_items(name, groups), f"builtin:{name}")


LOADERS: dict[str, _Loader] = {
    "tidy-long": _Loader("CSV/JSONL/Parquet with one row per item x group x option", _file_loader("tidy-long")),
    "tidy-wide": _Loader(
        "CSV/JSONL/Parquet with one row per item x group; options and distribution as lists", _file_loader("tidy-wide")
    ),
    "globalopinionqa": _Loader(
        "Anthropic GlobalOpinionQA rows: options and per-country selections as Python literals",
        _file_loader("globalopinionqa"),
    ),
    "pro-share": _Loader(
        "per-group shares on the 'pro' side of binary items, joined to a wordings file", _load_pro_share
    ),
    "huggingface": _Loader(
        "a Hugging Face dataset (hub id or save_to_disk folder) in one of the file layouts", _load_huggingface
    ),
    "builtin": _Loader("a survey shipped with forkingpaths ('values': 31 World Values Survey items)", _load_builtin),
}


def available_loaders() -> dict[str, str]:
    """Loader name → one-line description, for ``--help`` texts and error messages."""
    return {name: loader.description for name, loader in LOADERS.items()}


def load_survey_items(data: DataSpec, base_dir: Path) -> list[SurveyItem]:
    """Load, filter, limit and check the survey items a spec's ``data`` section describes.

    ``base_dir`` is the directory relative paths are resolved against (the spec file's).
    Items come in the source's order; every problem is one :class:`DataError`.
    """
    loader = LOADERS.get(data.loader)
    if loader is None:
        raise DataError(f"data.loader: unknown loader {data.loader!r}; available: {', '.join(LOADERS)}")
    loaded = loader.load(data, Path(base_dir))
    items = select(loaded.items, data.filter, data.limit, loaded.source)
    items = check_distributions(items, loaded.source, tolerance=data.tolerance, renormalise=data.renormalise)
    return attach_translations(items, data.translations, Path(base_dir)) if data.translations else items
