"""The survey's loaders and :func:`load_survey_items`, the one entry point the instrument uses.

A loader only turns a source into items; everything a spec asks of the items
afterwards (filter, limit, the sum check or renormalisation, translations) happens
here, once, so every loader behaves the same way. Loaders are registered in
:data:`forkingpaths.registry.loaders` as ``survey/<name>``, so a package can add one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from forkingpaths.data import huggingface
from forkingpaths.instruments.survey.data import builtin, globalopinionqa, proshare
from forkingpaths.instruments.survey.data.items import SurveyItem
from forkingpaths.data.params import Params
from forkingpaths.instruments.survey.data.selection import select
from forkingpaths.data.tables import Table, read_table
from forkingpaths.instruments.survey.data.tidy import tidy_long, tidy_wide
from forkingpaths.instruments.survey.data.translations import attach_translations
from forkingpaths.instruments.survey.data.validation import check_distributions
from forkingpaths import registry
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


Loader = Callable[[DataSpec, Path], _Loaded]


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


# Registered as survey/<name> in forkingpaths.registry (with their descriptions).
tidy_long_loader = _file_loader("tidy-long")
tidy_wide_loader = _file_loader("tidy-wide")
globalopinionqa_loader = _file_loader("globalopinionqa")
pro_share_loader = _load_pro_share
huggingface_loader = _load_huggingface
builtin_loader = _load_builtin
PREFIX = "survey/"
#: Options of every survey loader, read here rather than by the loader.
SURVEY_OPTIONS = ("translations", "renormalise", "tolerance")


def available_loaders() -> dict[str, str]:
    """Loader name → one-line description, for ``--help`` texts and error messages."""
    return {
        entry.name.removeprefix(PREFIX): entry.description
        for entry in registry.loaders.entries()
        if entry.name.startswith(PREFIX)
    }


@dataclass(frozen=True)
class _SurveyOptions:
    translations: str | None
    renormalise: bool
    tolerance: float


def _survey_options(data: DataSpec) -> tuple[_SurveyOptions, DataSpec]:
    """The options every survey loader shares, and the data spec without them."""
    params = dict(data.params)
    translations = params.pop("translations", None)
    renormalise = params.pop("renormalise", False)
    tolerance = params.pop("tolerance", 0.01)
    if translations is not None and (not isinstance(translations, str) or not translations.strip()):
        raise DataError(f"data.params.translations: expected a file path, got {translations!r}")
    if not isinstance(renormalise, bool):
        raise DataError(f"data.params.renormalise: expected true or false, got {renormalise!r}")
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not 0 < tolerance < 1:
        raise DataError(f"data.params.tolerance: expected a number between 0 and 1, got {tolerance!r}")
    return _SurveyOptions(translations, renormalise, float(tolerance)), data.model_copy(update={"params": params})


def load_survey_items(data: DataSpec, base_dir: Path) -> list[SurveyItem]:
    """Load, filter, limit and check the survey items a spec's ``data`` section describes.

    ``base_dir`` is the directory relative paths are resolved against (the spec file's).
    Items come in the source's order; every problem is one :class:`DataError`.
    """
    if f"{PREFIX}{data.loader}" not in registry.loaders:
        raise DataError(f"data.loader: unknown loader {data.loader!r}; available: {', '.join(available_loaders())}")
    loader: Loader = registry.loaders.get(f"{PREFIX}{data.loader}")
    options, data = _survey_options(data)
    loaded = loader(data, Path(base_dir))
    items = select(loaded.items, data.filter, data.limit, loaded.source)
    items = check_distributions(items, loaded.source, tolerance=options.tolerance, renormalise=options.renormalise)
    return attach_translations(items, options.translations, Path(base_dir)) if options.translations else items
