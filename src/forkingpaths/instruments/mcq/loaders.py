"""The MCQ instrument's loaders, registered as ``mcq/<name>`` in ``forkingpaths.registry.loaders``.

Every loader turns one source into rows of (item, split) through the shared readers of
``forkingpaths.data`` (so errors name the file and row) and :func:`items.make_item` (so
bad items fail the same way in every layout). :func:`load_mcq_items` then separates
the dev pool (rows whose split is ``dev``, plus the rows of ``data.params.dev_path``),
applies ``data.filter`` and ``data.limit``, and attaches each item's few-shot pool.

Layouts:

* ``tidy``: CSV/JSONL/Parquet, one row per item. Columns ``id``, ``question``,
  ``options`` (a list, or in CSV a JSON array) or ``data.params.option_columns`` (one
  column per option, blanks skipped), ``gold`` (``data.params.gold_format``: ``auto``,
  ``index``, ``index1``, ``letter``, ``text``), optional ``subject``, ``language``,
  ``split``. Any name can be mapped with ``data.columns``.
* ``mmlu``: the Hugging Face MMLU layout (``question``, ``choices`` list, ``answer`` 0-based
  index, optional ``subject``), from a local file or a Hugging Face dataset.
* ``arc``: the ARC layout (``id``, ``question``, ``choices: {label: [...], text: [...]}``,
  ``answerKey`` a label); the nested form ``question: {stem, choices: [{label, text}]}`` is
  read too.
* ``exams``: EXAMS JSONL (the nested ARC form with ``info: {subject, language}``).
* ``truthfulqa``: TruthfulQA's ``mc_task.json``, task MC1 (the option valued 1 is gold).
* ``builtin``: data shipped with forkingpaths (``name: truthfulqa``, Apache-2.0, or
  ``exams-regional``, CC BY-SA 4.0).
"""

from __future__ import annotations

import dataclasses

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from forkingpaths import registry
from forkingpaths.data import cells, huggingface
from forkingpaths.data.params import Params
from forkingpaths.data.translations import read_translations
from forkingpaths.data.tables import Row, Table, read_table, records_table, resolve_columns
from forkingpaths.errors import DataError
from forkingpaths.instruments.mcq.items import MCQItem, attach_dev_pool, check_unique, gold_index, make_item
from forkingpaths.spec import DataSpec

PREFIX = "mcq/"
BUILTIN_DIR = Path(__file__).parent / "data"
#: name → (layout, file, data.params) of the data shipped in ``data/`` (each folder has its SOURCE.md and LICENSE).
BUILTINS: dict[str, tuple[str, str, dict[str, str]]] = {
    "truthfulqa": ("tidy", "truthfulqa/mc1_subset.jsonl", {"gold_format": "index"}),
    "exams-regional": ("exams", "exams/regional_test.jsonl", {"dev_path": "exams/regional_dev.jsonl"}),
}
GOLD_FORMATS = ("auto", "index", "index1", "letter", "text")
COMMON_PARAMS = ("dev_path",)
FILTER_FIELDS = ("subject", "language")

Parsed = Iterator[tuple[Row, MCQItem, str]]  # (row, item, split)


def _path(data: DataSpec) -> str:
    if not data.path:
        raise DataError(f"data.path: required for loader {data.loader!r}")
    return data.path


def _tidy(table: Table, data: DataSpec, params: Params, source: str) -> Parsed:
    option_columns = data.params.get("option_columns")
    if option_columns is not None and (not isinstance(option_columns, list) or len(option_columns) < 2):
        raise DataError("data.params.option_columns: expected a list of at least 2 column names")
    gold_format = params.choice("gold_format", GOLD_FORMATS, "auto")
    optional = ["subject", "language", "split"]
    required = ["id", "question", "gold"] + ([] if option_columns else ["options"])
    cols = resolve_columns(table, data.columns, required, optional, layout="tidy")
    missing = [c for c in option_columns or [] if c not in table.columns]
    if missing:
        raise DataError(f"{table.name}: missing option column(s) {', '.join(map(repr, missing))}; columns found: {', '.join(table.columns)}")
    for row in table.rows:
        if option_columns:
            options: list[Any] = [row.values.get(c) for c in option_columns if not cells.is_blank(row.values.get(c))]
        else:
            options = list(cells.text_list(row, cols["options"]))
        texts = [str(o).strip() for o in options]
        gold = gold_index(row, cols["gold"], row.values.get(cols["gold"]), texts, gold_format)
        item = make_item(
            row,
            cells.text(row, cols["id"]),
            cells.text(row, cols["question"]),
            texts,
            gold,
            subject=cells.optional_text(row, cols.get("subject")),
            language=cells.optional_text(row, cols.get("language")),
            source=source,
        )
        yield row, item, (cells.optional_text(row, cols.get("split")) or "test").lower()


def _mmlu(table: Table, data: DataSpec, params: Params, source: str) -> Parsed:
    cols = resolve_columns(table, data.columns, ["question", "choices", "answer"], ["id", "subject"], layout="mmlu")
    for number, row in enumerate(table.rows, start=1):
        options = cells.text_list(row, cols["choices"])
        gold = gold_index(row, cols["answer"], row.values.get(cols["answer"]), options, "index")
        subject = cells.optional_text(row, cols.get("subject"))
        item_id = cells.optional_text(row, cols.get("id")) or f"{subject or 'q'}-{number}"
        yield row, make_item(row, item_id, cells.text(row, cols["question"]), options, gold, subject=subject, source=source), "test"


def _arc_choices(row: Row, column: str, choices: Any) -> tuple[list[str], list[str]]:
    """(labels, texts) from ``{label: [...], text: [...]}`` or ``[{label, text}, ...]`` (or their JSON text)."""
    if isinstance(choices, str):
        try:
            choices = json.loads(choices)
        except json.JSONDecodeError:
            raise DataError(f"{row.where}: column {column!r} is not valid JSON") from None
    if isinstance(choices, dict) and isinstance(choices.get("label"), list) and isinstance(choices.get("text"), list):
        return [str(x) for x in choices["label"]], [str(x) for x in choices["text"]]
    if isinstance(choices, list) and all(isinstance(c, dict) and "text" in c and "label" in c for c in choices):
        return [str(c["label"]) for c in choices], [str(c["text"]) for c in choices]
    raise DataError(f"{row.where}: column {column!r} must hold choices as {{label: [...], text: [...]}} or [{{label, text}}, ...]")


def _arc(table: Table, data: DataSpec, params: Params, source: str) -> Parsed:
    cols = resolve_columns(table, data.columns, ["id", "question", "answerKey"], ["choices", "info", "subject", "language"], layout="arc")
    for row in table.rows:
        question = row.values.get(cols["question"])
        if isinstance(question, dict):  # the nested EXAMS / original ARC JSONL form
            stem, choices, choices_column = str(question.get("stem") or ""), question.get("choices"), cols["question"]
        else:
            if cols.get("choices") is None:
                raise DataError(f"{table.name}: missing column 'choices' (set data.columns.choices if yours is named differently)")
            stem, choices, choices_column = cells.text(row, cols["question"]), row.values.get(cols["choices"]), cols["choices"]
        labels, texts = _arc_choices(row, choices_column, choices)
        key = str(row.values.get(cols["answerKey"]) or "").strip()
        if key not in labels:
            raise DataError(f"{row.where}: column {cols['answerKey']!r}: gold {key!r} is not among the option labels {', '.join(labels)}")
        info = row.values.get(cols["info"]) if cols.get("info") else None
        info = info if isinstance(info, dict) else {}
        subject = cells.optional_text(row, cols.get("subject")) or (str(info["subject"]) if info.get("subject") else None)
        language = cells.optional_text(row, cols.get("language")) or (str(info["language"]) if info.get("language") else None)
        item = make_item(row, cells.text(row, cols["id"]), stem, texts, labels.index(key), subject=subject, language=language, source=source)
        yield row, item, "test"


def _truthfulqa_table(path: Path, name: str) -> Table:
    """``mc_task.json`` (a JSON array of objects) as a table whose rows are numbered from 1."""
    if not path.is_file():
        raise DataError(f"{name}: file not found (looked for {path})")
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DataError(f"{name}: not valid JSON ({error})") from None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise DataError(f"{name}: expected a JSON array of objects (TruthfulQA mc_task.json)")
    return records_table(records, ["question", "mc1_targets"], name)


def _truthfulqa(table: Table, data: DataSpec, params: Params, source: str) -> Parsed:
    for number, row in enumerate(table.rows, start=1):
        targets = row.values.get("mc1_targets")
        if not isinstance(targets, dict):
            raise DataError(f"{row.where}: 'mc1_targets' must be an object {{answer: 1 or 0}}")
        true = [i for i, value in enumerate(targets.values()) if value == 1]
        if len(true) != 1:
            raise DataError(f"{row.where}: MC1 needs exactly one answer valued 1, found {len(true)}")
        item = make_item(row, f"tqa-{number - 1}", cells.text(row, "question"), list(targets), true[0], language="en", source=source)
        yield row, item, "test"


Layout = Callable[[Table, DataSpec, Params, str], Parsed]
LAYOUTS: dict[str, tuple[Layout, tuple[str, ...]]] = {
    "tidy": (_tidy, ("gold_format", "option_columns")),
    "mmlu": (_mmlu, huggingface.PARAMS[1:]),
    "arc": (_arc, huggingface.PARAMS[1:]),
    "exams": (_arc, ()),
    "truthfulqa": (_truthfulqa, ()),
}


def _read(layout: str, path: str, base_dir: Path, params: Params) -> Table:
    if layout == "truthfulqa":
        return _truthfulqa_table(base_dir / path, path)
    local = base_dir / path
    if layout in ("mmlu", "arc") and (local.is_dir() or not Path(path).suffix):
        return huggingface.dataset_table(path, base_dir, name=params.text("name"), split=params.text("split"), revision=params.text("revision"))
    return read_table(local, path)


def _rows(layout: str, data: DataSpec, base_dir: Path) -> tuple[list[tuple[Row, MCQItem, str]], str]:
    parse, known = LAYOUTS[layout]
    params = Params(data.params, known + COMMON_PARAMS, data.loader)
    path = _path(data)
    rows = list(parse(_read(layout, path, base_dir, params), data, params, path))
    dev_path = params.text("dev_path")
    if dev_path:
        rows += [(row, item, "dev") for row, item, _ in parse(_read(layout, dev_path, base_dir, params), data, params, dev_path)]
    return rows, path


def _file_loader(layout: str) -> Callable[[DataSpec, Path], tuple[list[tuple[Row, MCQItem, str]], str]]:
    def load(data: DataSpec, base_dir: Path) -> tuple[list[tuple[Row, MCQItem, str]], str]:
        return _rows(layout, data, base_dir)

    return load


def _builtin(data: DataSpec, base_dir: Path) -> tuple[list[tuple[Row, MCQItem, str]], str]:
    for key, value in (("path", data.path), ("columns", data.columns)):
        if value:
            raise DataError(f"data.{key}: not used by loader 'builtin'; remove it")
    name = Params(data.params, ("name",), data.loader).choice("name", tuple(BUILTINS), "truthfulqa")
    layout, path, params = BUILTINS[name]
    rows, _ = _rows(layout, DataSpec(loader=layout, path=path, params=params), BUILTIN_DIR)
    return rows, f"builtin:{name}"


# Registered as mcq/<name> in forkingpaths.registry.
tidy_loader = _file_loader("tidy")
mmlu_loader = _file_loader("mmlu")
arc_loader = _file_loader("arc")
exams_loader = _file_loader("exams")
truthfulqa_loader = _file_loader("truthfulqa")
builtin_loader = _builtin


def load_mcq_items(data: DataSpec, base_dir: Path) -> list[MCQItem]:
    """Items of the spec's ``data`` section: loader, dev pool, ``filter``, ``limit``, ``params.translations``."""
    name = data.loader.removeprefix(PREFIX)
    loader = registry.loaders.get(PREFIX + name, "data.loader") if PREFIX + name in registry.loaders else None
    if loader is None:
        known = [e.name.removeprefix(PREFIX) for e in registry.loaders.entries() if e.name.startswith(PREFIX)]
        raise DataError(f"data.loader: unknown MCQ loader {data.loader!r}; expected one of {', '.join(known)}")
    translations = data.params.get("translations")
    if translations is not None and (not isinstance(translations, str) or not translations.strip()):
        raise DataError(f"data.params.translations: expected a file path, got {translations!r}")
    rows, _ = loader(data.model_copy(update={"params": {k: v for k, v in data.params.items() if k != "translations"}}), base_dir)
    all_items = check_unique((row, item) for row, item, _ in rows)
    splits = {item.item_id: split for (_, item, split) in rows}
    items = [item for item in all_items if splits[item.item_id] != "dev"]
    dev = [item for item in all_items if splits[item.item_id] == "dev"]
    for field, wanted in data.filter.items():
        if field not in FILTER_FIELDS:
            raise DataError(f"data.filter.{field}: MCQ items can be filtered by {', '.join(FILTER_FIELDS)}")
        items = [item for item in items if getattr(item, field) in wanted]
    if not items:
        raise DataError("data: no items to evaluate (every row is in the dev split or was filtered out)")
    if data.limit:
        items = items[: data.limit]
    items = attach_dev_pool(items, dev)
    if translations:
        found = read_translations(translations, base_dir, {item.item_id: item.n_options for item in items})
        items = [dataclasses.replace(item, translations=found[item.item_id]) if item.item_id in found else item for item in items]
    return items
