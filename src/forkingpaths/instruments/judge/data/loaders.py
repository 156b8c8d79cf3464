"""Loaders of pairwise judge items, registered as ``judge/<name>`` in :data:`forkingpaths.registry.loaders`.

``tidy``: a CSV, JSONL or Parquet file with one row per pair (columns ``item_id``,
``instruction``, ``response_a``, ``response_b``, ``label``; optional ``human_labels``,
``category``; renamed with ``data.columns``). ``llmbar``: LLMBar's ``dataset.json``
(``input``, ``output_1``, ``output_2``, ``label`` 1|2). ``pandalm``: PandaLM's
``testset-v1.json`` (three annotators, 0 = tie, 1, 2). ``hh-rlhf``: Anthropic HH-RLHF
``chosen``/``rejected`` transcripts (gzip or plain JSONL). ``builtin``: the LLMBar
subset shipped with forkingpaths. Every problem is a one-line error naming file and row,
raised before any model is loaded.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from forkingpaths import registry
from forkingpaths.data.params import Params
from forkingpaths.data.tables import Row, Table, jsonl_table, read_table, resolve_columns
from forkingpaths.errors import DataError
from forkingpaths.instruments.judge.items import PairItem, canonical_label, check_unique, majority, require_text
from forkingpaths.spec import DataSpec

Loader = Callable[[DataSpec, Path], list[PairItem]]
T = TypeVar("T")
BUILTIN = {"llmbar": "llmbar.jsonl"}
_HUMAN_SEPARATOR = "|"


def _path(data: DataSpec, base_dir: Path) -> tuple[Path, str]:
    if not data.path:
        raise DataError(f"data.path: required for loader {data.loader!r}")
    return base_dir / data.path, data.path


def _human_labels(value: Any, where: str) -> tuple[str, ...]:
    """A JSON list or ``A|B|tie`` text of labels; empty cells mean no human labels."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return ()
    parts = value if isinstance(value, list) else str(value).split(_HUMAN_SEPARATOR)
    return tuple(canonical_label(part, where, "human_labels") for part in parts)


def tidy_rows(table: Table, mapping: dict[str, str], source: str) -> list[PairItem]:
    """One pair per row; the label may be left empty when human labels give a majority."""
    cols = resolve_columns(
        table, mapping, ["item_id", "instruction", "response_a", "response_b"], ["label", "human_labels", "category"], layout="tidy"
    )
    found: list[tuple[PairItem, str]] = []
    for row in table.rows:
        found.append((_tidy_item(row, cols, source), row.where))
    return check_unique(found)


def _tidy_item(row: Row, cols: Any, source: str) -> PairItem:
    v, where = row.values, row.where
    humans = _human_labels(v.get(cols.get("human_labels")) if cols.get("human_labels") else None, where)
    raw_label = v.get(cols.get("label")) if cols.get("label") else None
    if raw_label is None or str(raw_label).strip() == "":
        if not humans:
            raise DataError(f"{where}: label is empty and there are no human labels")
        label = majority(humans)
    else:
        label = canonical_label(raw_label, where)
    category = v.get(cols.get("category")) if cols.get("category") else None
    return PairItem(
        item_id=require_text(v, cols["item_id"], where, "item_id").strip(),
        instruction=require_text(v, cols["instruction"], where, "instruction"),
        response_a=require_text(v, cols["response_a"], where, "response_a"),
        response_b=require_text(v, cols["response_b"], where, "response_b"),
        label=label,
        human_labels=humans,
        category=str(category) if category not in (None, "") else None,
        source=source,
    )


def tidy_loader(data: DataSpec, base_dir: Path) -> list[PairItem]:
    Params(data.params, (), data.loader)
    path, name = _path(data, base_dir)
    return tidy_rows(read_table(path, name), data.columns, "user file")


def json_array(path: Path, name: str) -> list[Any]:
    if not path.is_file():
        raise DataError(f"{name}: file not found (looked for {path})")
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise DataError(f"{name}: not valid JSON ({error.msg} at line {error.lineno})") from None
    if not isinstance(records, list) or not records:
        raise DataError(f"{name}: expected a non-empty JSON array of pairs")
    return records


def _record(record: Any, where: str) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(record).__name__}")
    return record


def llmbar_items(records: list[Any], name: str, category: str) -> list[PairItem]:
    """LLMBar pairs: ``label`` 1 → A (``output_1``), 2 → B; ids ``<category>-<n>`` with n from 1."""
    found = []
    for n, raw in enumerate(records, start=1):
        where = f"{name} item {n}"
        record = _record(raw, where)
        label = {"1": "A", "2": "B"}.get(str(record.get("label")).strip())
        if label is None:
            raise DataError(f"{where}: label {record.get('label')!r} is not one of 1, 2")
        item = PairItem(
            f"{category}-{n}",
            require_text(record, "input", where),
            require_text(record, "output_1", where),
            require_text(record, "output_2", where),
            label,
            category=category,
            source="LLMBar (Zeng et al., 2024)",
        )
        found.append((item, where))
    return check_unique(found)


def llmbar_loader(data: DataSpec, base_dir: Path) -> list[PairItem]:
    params = Params(data.params, ("category",), data.loader)
    path, name = _path(data, base_dir)
    if path.is_dir():
        path, name = path / "dataset.json", f"{name}/dataset.json"
    category = params.text("category") or path.parent.name.lower() or "llmbar"
    return llmbar_items(json_array(path, name), name, category)


_PANDALM = {"0": "tie", "1": "A", "2": "B"}


def _present(record: dict[str, Any], key: str, where: str) -> str:
    """A response that must be present but may be empty: PandaLM's models sometimes answered nothing, and annotators judged that.

    A few upstream responses are JSON scalars (``true`` for the answer "True"); they are read as their text.
    """
    value = record.get(key)
    if value is None or isinstance(value, list | dict):
        raise DataError(f"{where}: {key} is missing (a pair needs both responses)")
    return "True" if value is True else "False" if value is False else str(value)


def pandalm_loader(data: DataSpec, base_dir: Path) -> list[PairItem]:
    """PandaLM pairs: three annotators (0 tie, 1 response1, 2 response2); the gold label is their majority.

    A response may be empty text (a model that answered nothing, which the annotators judged); a missing one is an error.
    """
    Params(data.params, (), data.loader)
    path, name = _path(data, base_dir)
    found = []
    for n, raw in enumerate(json_array(path, name), start=1):
        where = f"{name} item {n}"
        record = _record(raw, where)
        humans = []
        for key in ("annotator1", "annotator2", "annotator3"):
            label = _PANDALM.get(str(record.get(key)).strip())
            if label is None:
                raise DataError(f"{where}: {key} {record.get(key)!r} is not one of 0, 1, 2")
            humans.append(label)
        parts = [str(record.get(key) or "").strip() for key in ("instruction", "input")]
        instruction = require_text({"instruction": "\n\n".join(p for p in parts if p)}, "instruction", where, "instruction (with input)")
        item = PairItem(
            f"pandalm-{record.get('idx', n)}",
            instruction,
            _present(record, "response1", where),
            _present(record, "response2", where),
            majority(humans),
            tuple(humans),
            category=str(record.get("motivation_app") or "") or None,
            source="PandaLM test set (Wang et al., 2024)",
        )
        found.append((item, where))
    return check_unique(found)


_ASSISTANT = "\n\nAssistant:"


def hh_rlhf_items(table: Table, strict: bool = False) -> list[PairItem]:
    """HH-RLHF pairs: the shared transcript is the instruction, the final assistant turns the responses.

    The chosen (less harmful) response is A on odd rows and B on even rows, so the gold
    label is balanced and not confounded with position. A final turn may be empty text
    (the assistant said nothing; upstream has such rows), as in PandaLM. A row whose two
    transcripts differ before the final turn is not a pair of responses to one prompt: it
    is left out (``data.params.strict: true`` makes it an error naming the line instead).
    """
    found = []
    for n, row in enumerate(table.rows, start=1):
        chosen, rejected = (require_text(row.values, key, row.where) for key in ("chosen", "rejected"))
        cut_c, cut_r = chosen.rfind(_ASSISTANT), rejected.rfind(_ASSISTANT)
        if cut_c < 0 or cut_r < 0 or chosen[:cut_c] != rejected[:cut_r]:
            if not strict:
                continue
            raise DataError(f"{row.where}: chosen and rejected do not share a transcript ending in an Assistant turn")
        good, bad = chosen[cut_c + len(_ASSISTANT) :].strip(), rejected[cut_r + len(_ASSISTANT) :].strip()
        a, b, label = (good, bad, "A") if n % 2 else (bad, good, "B")
        item = PairItem(f"hh-{n}", chosen[:cut_c].strip(), a, b, label, category="harmless", source="Anthropic HH-RLHF (Bai et al., 2022)")
        found.append((item, row.where))
    return check_unique(found)


def hh_rlhf_loader(data: DataSpec, base_dir: Path) -> list[PairItem]:
    strict = bool(data.params.get("strict", False))
    Params({k: v for k, v in data.params.items() if k != "strict"}, (), data.loader)
    path, name = _path(data, base_dir)
    if not path.is_file():
        raise DataError(f"{name}: file not found (looked for {path})")
    try:
        text = gzip.decompress(path.read_bytes()).decode("utf-8") if path.suffix == ".gz" else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{name}: cannot read ({error})") from None
    return hh_rlhf_items(jsonl_table(text, name), strict)


def builtin_loader(data: DataSpec, base_dir: Path) -> list[PairItem]:
    params = Params(data.params, ("name",), data.loader)
    which = params.choice("name", tuple(BUILTIN), "llmbar")
    text = resources.files("forkingpaths.instruments.judge.data").joinpath(BUILTIN[which]).read_text(encoding="utf-8")
    return tidy_rows(jsonl_table(text, f"builtin {which}"), {}, "LLMBar (Zeng et al., 2024), MIT")


def load_pair_items(data: DataSpec, base_dir: Path) -> list[PairItem]:
    """The spec's items through its ``judge/<loader>``, then ``data.filter`` (on ``category``) and ``data.limit``."""
    loader: Loader = registry.loaders.get(f"judge/{data.loader}", "data.loader")
    return filtered(loader(data, base_dir), data)


def filtered(items: list[T], data: DataSpec) -> list[T]:
    """``data.filter`` (on ``category`` only) and then ``data.limit``; an empty result is an error."""
    for field, keep in data.filter.items():
        if field != "category":
            raise DataError(f"data.filter.{field}: judge items can be filtered on category only")
        items = [item for item in items if getattr(item, "category", None) in set(keep)]
    if not items:
        raise DataError("data: no items left after data.filter")
    return items[: data.limit] if data.limit else items


