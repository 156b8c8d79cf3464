"""Inspect AI evaluation logs (``.eval`` archives and ``.json``): the ``inspect`` importer.

Read directly, not through ``inspect_ai.log.read_eval_log``: the format is documented
(an ``EvalLog``: ``version``, ``status``, ``eval`` with ``task``, ``task_args``, ``model``,
``config.epochs``; ``results.scores[].metrics``; ``samples[]`` with ``id``, ``epoch``,
``input``, ``choices``, ``target``, ``output``, ``scores``, ``error``). A ``.json`` log is
that object; an ``.eval`` log is a zip archive with ``header.json`` (everything but the
samples) and one ``samples/<id>_epoch_<n>.json`` per sample. Reading it directly keeps
Inspect (and its dependencies: dozens of packages) out of forkingpaths, and gives every
bad file a one-line error naming the file and the member or line; docs/interop.md says
more.

Mapping: the model is ``eval.model``; an item is a sample ``id``; ``epoch`` − 1 is the
repeat; the score is the first scorer's value (``--map SCORER=correct`` picks another):
``C``/``I`` (Inspect's CORRECT/INCORRECT), ``N`` (no answer: wrong and unparsed),
``True``/``False`` or 0/1; ``answer`` is the chosen label (``A`` → option 0) and
``target`` the gold label, both indices into the sample's ``choices`` as shown (Inspect's
``multiple_choice()`` shows them in that order with letters A, B, …). A sample with an
``error`` is an error row. Task arguments that differ between logs become factors when
the user's ``--factor`` levels do not already tell the logs apart.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

from forkingpaths.errors import DataError
from forkingpaths.interop.imported import FileArg, Imported, ImportedItem, ImportedTrial, Reported, Source
from forkingpaths.interop.jsonfiles import field, loads, read_json
from forkingpaths.results import file_sha256

#: The zip compression method number of Zstandard (APPNOTE.TXT 4.4.5).
ZSTD = 93
#: Inspect's score values for a correct and an incorrect answer (inspect_ai.scorer CORRECT, INCORRECT, NOANSWER).
VALUES = {"C": True, "I": False, "N": False}
CANNOT_KNOW = [
    "the option probabilities (Inspect records the generated answer, not a distribution), so no calibration analysis",
    "the canonical option order when a task shuffled the choices: the order shown is taken as the order",
]


def _members(path: Path) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """(header, [(where, sample)]) of a log, ``.eval`` or ``.json``."""
    if path.suffix == ".json":
        log = read_json(str(path))
        if not isinstance(log, dict) or "eval" not in log:
            raise DataError(f"{path}: not an Inspect log (no 'eval' object)")
        samples = log.get("samples") or []
        return log, [(f"{path} samples[{i}]", s) for i, s in enumerate(samples)]
    if path.suffix != ".eval":
        raise DataError(f"{path}: not an Inspect log; expected a .eval or .json file")
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if "header.json" not in names:
                raise DataError(f"{path}: no header.json in the archive (an unfinished log?); names: {', '.join(names[:6])}")
            header = loads(_member(archive, path, "header.json"), f"{path}:header.json")
            samples = [
                (f"{path}:{name}", loads(_member(archive, path, name), f"{path}:{name}"))
                for name in sorted(n for n in names if n.startswith("samples/") and n.endswith(".json"))
            ]
    except (zipfile.BadZipFile, EOFError, OSError, UnicodeDecodeError, zlib.error) as error:
        raise DataError(f"{path}: not a readable .eval archive, truncated or damaged ({error})") from None
    return header, samples


def _member(archive: zipfile.ZipFile, path: Path, name: str) -> str:
    """One archive member as text; zstd members (what Inspect writes since 2025) need the ``zstandard`` package.

    Python's ``zipfile`` reads stored and deflated members but not zstd ones (before
    Python 3.14), so those are cut out of the archive by their local header (APPNOTE
    4.3.7: 30 bytes, then the name and the extra field) and decompressed here.
    """
    info = archive.getinfo(name)
    if info.compress_type != ZSTD:
        return archive.read(name).decode("utf-8")
    try:
        import zstandard
    except ImportError:
        raise DataError(
            f"{path}: the archive is zstd-compressed (Inspect's default); pip install 'forkingpaths[inspect]' (zstandard), "
            "or convert it with `inspect log convert --to json`"
        ) from None
    with path.open("rb") as handle:
        handle.seek(info.header_offset)
        local = handle.read(30)
        if len(local) < 30 or local[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile(f"member {name}: no local file header")
        handle.seek(info.header_offset + 30 + struct.unpack("<H", local[26:28])[0] + struct.unpack("<H", local[28:30])[0])
        data = handle.read(info.compress_size)
    if len(data) < info.compress_size:
        raise zipfile.BadZipFile(f"member {name} is cut short")
    try:
        reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True)
        return bytes(reader.read()).decode("utf-8")
    except zstandard.ZstdError as error:
        raise zipfile.BadZipFile(f"member {name}: {error}") from None


def _score(sample: dict[str, Any], scorer: str | None, where: str) -> tuple[str, Any, Any]:
    scores = sample.get("scores") or {}
    if not isinstance(scores, dict) or not scores:
        raise DataError(f"{where}: no scores (score the log with `inspect score` first)")
    name = scorer or next(iter(scores))
    if name not in scores:
        raise DataError(f"{where}: unknown score field {name!r}; this sample has {', '.join(scores)}")
    score = scores[name]
    return name, score.get("value") if isinstance(score, dict) else score, score.get("answer") if isinstance(score, dict) else None


def _correct(value: Any, scorer: str, where: str) -> bool:
    if isinstance(value, str) and value in VALUES:
        return VALUES[value]
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and float(value) in (0.0, 1.0):
        return bool(value)
    raise DataError(f"{where}: score {scorer!r} has value {value!r}; forkingpaths imports C/I/N, true/false or 0/1 scores")


def _letter(label: Any, n: int) -> int | None:
    if isinstance(label, list) and len(label) == 1:
        label = label[0]
    if isinstance(label, str) and len(label.strip()) == 1 and label.strip().isalpha():
        index = ord(label.strip().upper()) - ord("A")
        return index if 0 <= index < n else None
    return None


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # chat messages
        return "\n".join(str(m.get("content", "")) if isinstance(m, dict) else str(m) for m in value)
    return ""


def _completion(sample: dict[str, Any]) -> str | None:
    output = sample.get("output") or {}
    completion = output.get("completion") if isinstance(output, dict) else None
    return completion if isinstance(completion, str) else None


def _trial(sample: dict[str, Any], where: str, model: str, levels: dict[str, str], index: int, scorer: str | None) -> tuple[ImportedTrial, ImportedItem]:
    item_id = str(field(sample, "id", where, (str, int)))
    repeat = int(field(sample, "epoch", where, int)) - 1
    choices = [str(c) for c in sample.get("choices") or []]
    n = len(choices) or None
    gold = _letter(sample.get("target"), len(choices)) if choices else None
    item = ImportedItem(item_id, _text(sample.get("input")), tuple(choices), gold, None)
    error = sample.get("error")
    if error:
        message = error.get("message") if isinstance(error, dict) else str(error)
        return ImportedTrial(model, item_id, levels, repeat, None, index, where, gold=gold, n_options=n, gold_position=gold, error=f"inspect: {message}"), item
    name, value, answer = _score(sample, scorer, where)
    correct = _correct(value, name, where)
    chosen = _letter(answer, len(choices)) if choices else None
    trial = ImportedTrial(
        model, item_id, levels, repeat, correct, index, where,
        chosen=chosen,
        gold=gold,
        n_options=n,
        chosen_position=chosen,
        gold_position=gold,
        parsed=None if not choices else chosen is not None,
        response_text=_completion(sample),
    )
    return trial, item


def _reported(header: dict[str, Any], scorer: str, model: str, index: int) -> list[Reported]:
    for score in (header.get("results") or {}).get("scores") or []:
        if score.get("name") == scorer or score.get("scorer") == scorer:
            accuracy = (score.get("metrics") or {}).get("accuracy") or {}
            if isinstance(accuracy.get("value"), (int, float)):
                return [Reported(index, model, f"{scorer}/accuracy", float(accuracy["value"]))]
    return []


def _auto_levels(sources: list[Source], trials: list[ImportedTrial]) -> list[str]:
    """Task arguments (and the task name) that differ between logs, as factors, when the user's levels do not tell the logs apart."""
    if len({(tuple(sorted(s.levels.items())), s.detail["model"]) for s in sources}) == len(sources):
        return []
    keys = sorted({k for s in sources for k in s.detail["task_args"]})
    added = [k for k in keys if len({str(s.detail["task_args"].get(k)) for s in sources}) > 1]
    if not added and len({s.detail["task"] for s in sources}) > 1:
        added = ["task"]
    for source in sources:
        values = {**source.detail["task_args"], "task": source.detail["task"]}
        source.levels.update({k: str(values.get(k)) for k in added})
    for trial in trials:
        trial.levels.update({k: sources[trial.source].levels[k] for k in added})
    return added


def import_inspect(files: list[FileArg], mapping: dict[str, str]) -> Imported:
    """Read Inspect logs (see the module docstring); a folder stands for the logs in it."""
    bad = [f"{c}={t}" for c, t in mapping.items() if t != "correct"]
    if bad:
        raise DataError(f"--map {bad[0]}: the inspect importer only maps a scorer to correct (--map SCORER=correct)")
    scorer = next(iter(mapping), None)
    trials: list[ImportedTrial] = []
    items: dict[str, ImportedItem] = {}
    sources: list[Source] = []
    reported: list[Reported] = []
    paths = [
        (p, file.levels)
        for file in files
        for p in (sorted(q for q in file.path.iterdir() if q.suffix in (".eval", ".json")) if file.path.is_dir() else [file.path])
    ]
    for path, levels in paths:
        if not path.is_file():
            raise DataError(f"{path}: file not found")
        header, samples = _members(path)
        where = str(path)
        eval_ = field(header, "eval", where, dict)
        model = str(field(eval_, "model", f"{where} eval", str))
        if not samples:
            raise DataError(f"{path}: holds no sample (status {header.get('status', '?')!r})")
        index = len(sources)
        used = None
        for sample_where, sample in samples:
            trial, item = _trial(sample, sample_where, model, dict(levels), index, scorer)
            trials.append(trial)
            items.setdefault(item.item_id, item)
            if trial.error is None:
                used = used or _score(sample, scorer, sample_where)[0]
        reported += _reported(header, used, model, index) if used else []
        detail = {
            "task": str(eval_.get("task", "")),
            "model": model,
            "task_args": eval_.get("task_args") or {},
            "epochs": (eval_.get("config") or {}).get("epochs"),
            "status": header.get("status"),
            "inspect_version": (eval_.get("packages") or {}).get("inspect_ai"),
        }
        sources.append(Source(str(path), file_sha256(path), dict(levels), detail))
    factors = list(dict.fromkeys(f for s in sources for f in s.levels))
    factors += _auto_levels(sources, trials)
    return Imported("inspect", trials, items, sources, factors, reported, CANNOT_KNOW)
