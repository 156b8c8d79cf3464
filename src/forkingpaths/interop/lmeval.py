"""lm-evaluation-harness output (``--output_path … --log_samples``): the ``lm-eval`` importer.

lm-eval writes, per model, ``results_<date>.json`` (aggregates under ``results``, each
task's config under ``configs``, ``n-shot``, ``versions``, the run's ``config`` with
``model`` and ``model_args``, ``model_name``, ``lm_eval_version``) and beside it one
``samples_<task>_<date>.jsonl`` per task: one JSON object per document with ``doc_id``,
``doc``, ``target``, ``arguments`` (the requests: ``gen_args_i.arg_0`` the context,
``arg_1`` the continuation), ``resps`` / ``filtered_resps`` (log-likelihood and is-greedy
per choice, or the generated text), ``filter`` and one key per metric (``acc``,
``acc_norm``, ``exact_match``, …).

What is read: the score (``acc`` by default, else ``exact_match``; ``--map
METRIC=correct`` chooses; ``acc_norm`` fills ``correct_norm``), the per-choice
log-likelihoods (→ ``probs`` by a softmax over the choices, ``chosen`` = the argmax,
as lm-eval's ``acc`` picks it; ``chosen_norm`` = the argmax per character, as its
``acc_norm``), the target (``gold``), the continuations (the options), the context
(the prompt) and the model from the results file. Items are ``doc["id"]`` when the
documents have one, else ``doc_id`` (``--map FIELD=item_id`` names another doc field).

What lm-eval does not record, and so a run imported from it cannot know: the order in
which the prompt text showed the options and the labels it used (``doc_to_text`` is a
template; only the continuation order is stored), hence no position-bias analysis; and
the sampling settings of each request beyond the task config.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from forkingpaths.errors import DataError
from forkingpaths.interop.imported import FileArg, Imported, ImportedItem, ImportedTrial, Reported, Source
from forkingpaths.interop.jsonfiles import field, read_json, read_jsonl
from forkingpaths.results import file_sha256

SAMPLES = re.compile(r"^samples_(?P<task>.+)_(?P<date>\d{4}-\d{2}-\d{2}T[\d.-]+)\.jsonl$")
RESULTS = re.compile(r"^results_(?P<date>\d{4}-\d{2}-\d{2}T[\d.-]+)\.json$")
#: Score fields read as correctness, in order of preference, when ``--map correct=…`` is not given.
DEFAULT_METRICS = ("acc", "exact_match")
CANNOT_KNOW = [
    "the order and labels with which the prompt text showed the options (lm-eval stores only the continuations), so no position-bias analysis",
    "per-request sampling settings beyond the task configuration",
]


def _pairs(path: Path) -> list[tuple[Path, Path]]:
    """(samples file, its results file) for a samples file, a results file or a directory holding them."""
    if path.is_dir():
        found = sorted(p for p in path.rglob("samples_*.jsonl") if SAMPLES.match(p.name))
        if not found:
            raise DataError(f"{path}: no samples_<task>_<date>.jsonl file in this folder (run lm-eval with --log_samples)")
        return [pair for sample in found for pair in _pairs(sample)]
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    results = RESULTS.match(path.name)
    if results:
        samples = sorted(p for p in path.parent.glob(f"samples_*_{results['date']}.jsonl"))
        if not samples:
            raise DataError(f"{path}: no samples_<task>_{results['date']}.jsonl beside it (run lm-eval with --log_samples)")
        return [(s, path) for s in samples]
    match = SAMPLES.match(path.name)
    if not match:
        raise DataError(f"{path}: not an lm-eval output file; expected samples_<task>_<date>.jsonl or results_<date>.json")
    partner = path.with_name(f"results_{match['date']}.json")
    if not partner.is_file():
        raise DataError(f"{path}: its results file {partner.name} is missing (lm-eval writes both; the model and task config are read from it)")
    return [(path, partner)]


def _model(results: dict[str, Any], where: str) -> str:
    if isinstance(results.get("model_name"), str) and results["model_name"]:
        return str(results["model_name"])
    config = results.get("config") or {}
    args = config.get("model_args") or ""
    if isinstance(args, dict):
        args = ",".join(f"{k}={v}" for k, v in args.items())
    for part in str(args).split(","):
        key, _, value = part.partition("=")
        if key.strip() in ("model", "pretrained") and value:
            return value.strip()
    if config.get("model"):
        return str(config["model"])
    raise DataError(f"{where}: no model_name and no model= in config.model_args; cannot tell which model this is")


def _task_of(sample_path: Path, results: dict[str, Any], where: str) -> str:
    match = SAMPLES.match(sample_path.name)
    task = match["task"] if match else ""
    if task not in (results.get("results") or {}):
        known = ", ".join(results.get("results") or {})
        raise DataError(f"{where}: has no results for task {task!r} (it has {known or 'none'})")
    return task


def _loglikelihoods(sample: dict[str, Any], where: str) -> list[float] | None:
    """The per-choice log-likelihoods of a multiple-choice sample, or ``None`` for a generated answer."""
    responses = sample.get("filtered_resps")
    if not isinstance(responses, list) or not responses or not all(isinstance(r, list) and r for r in responses):
        return None
    try:
        return [float(r[0]) for r in responses]
    except (TypeError, ValueError):
        raise DataError(f"{where}: filtered_resps holds {responses[0]!r}; expected [log-likelihood, is_greedy] per choice") from None


def _continuations(sample: dict[str, Any]) -> list[str]:
    arguments = sample.get("arguments") or {}
    values = arguments.values() if isinstance(arguments, dict) else arguments
    out = []
    for args in values:
        if isinstance(args, dict):
            out.append(str(args.get("arg_1", "")))
        elif isinstance(args, list) and len(args) > 1:
            out.append(str(args[1]))
    return out


def _context(sample: dict[str, Any]) -> str:
    arguments = sample.get("arguments") or {}
    first = next(iter(arguments.values() if isinstance(arguments, dict) else arguments), None)
    if isinstance(first, dict):
        return str(first.get("arg_0", ""))
    return str(first[0]) if isinstance(first, list) and first else ""


def _binary(value: Any, metric: str, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and float(value) in (0.0, 1.0):
        return bool(value)
    raise DataError(f"{where}: score {metric!r} is {value!r}; forkingpaths imports 0/1 correctness scores (choose another with --map METRIC=correct)")


def _metric(sample: dict[str, Any], wanted: str | None, where: str) -> str:
    if wanted is not None:
        if wanted not in sample:
            scores = [m for m in sample.get("metrics", []) if m in sample] or [k for k in sample if k in ("acc", "acc_norm", "exact_match")]
            raise DataError(f"{where}: unknown score field {wanted!r}; this sample has {', '.join(scores) or 'no score field'}")
        return wanted
    for metric in DEFAULT_METRICS:
        if metric in sample:
            return metric
    named = [m for m in sample.get("metrics", []) if isinstance(m, str)]
    raise DataError(f"{where}: no known score field ({' or '.join(DEFAULT_METRICS)}); it lists {', '.join(named) or 'none'} (choose one with --map METRIC=correct)")


def _argmax(values: list[float]) -> int:
    return max(range(len(values)), key=lambda i: (values[i], -i))  # the first maximum, as numpy.argmax


def _softmax(values: list[float]) -> list[float]:
    top = max(values)
    weights = [math.exp(v - top) for v in values]
    total = sum(weights)
    return [w / total for w in weights]


def _doc(sample: dict[str, Any]) -> dict[str, Any]:
    doc = sample.get("doc")
    return doc if isinstance(doc, dict) else {}


def _item_id(sample: dict[str, Any], key: str | None, where: str) -> str:
    doc = _doc(sample)
    if key is not None:
        if key not in doc:
            raise DataError(f"{where}: the doc has no field {key!r} (--map {key}=item_id); it has {', '.join(doc)}")
        return str(doc[key])
    if "id" in doc and isinstance(doc["id"], (str, int)):
        return str(doc["id"])
    return str(field(sample, "doc_id", where, (int, str)))


def _trial(sample: dict[str, Any], where: str, model: str, levels: dict[str, str], index: int, wanted: str | None, item_key: str | None) -> tuple[ImportedTrial, ImportedItem]:
    metric = _metric(sample, wanted, where)
    correct = _binary(sample[metric], metric, where)
    item_id = _item_id(sample, item_key, where)
    doc = _doc(sample)
    lls = _loglikelihoods(sample, where)
    target = sample.get("target")
    question = str(doc.get("question") or _context(sample))
    if lls is None:  # a generated answer (generate_until)
        responses = sample.get("filtered_resps") or sample.get("resps") or [None]
        text = responses[0] if not isinstance(responses[0], list) else (responses[0] or [None])[0]
        trial = ImportedTrial(model, item_id, levels, 0, correct, index, where, response_text=None if text is None else str(text))
        return trial, ImportedItem(item_id, question)
    options = [c[1:] if c.startswith(" ") else c for c in _continuations(sample)]
    if len(options) != len(lls):
        raise DataError(f"{where}: {len(lls)} log-likelihoods for {len(options)} continuations in arguments")
    gold = int(target) if isinstance(target, int) or (isinstance(target, str) and target.isdigit()) else None
    norm = _argmax([ll / max(1, len(o)) for ll, o in zip(lls, options)])
    trial = ImportedTrial(
        model, item_id, levels, 0, correct, index, where,
        chosen=_argmax(lls),
        gold=gold,
        n_options=len(options),
        probs=_softmax(lls),
        chosen_norm=norm,
        correct_norm=_binary(sample["acc_norm"], "acc_norm", where) if "acc_norm" in sample else (None if gold is None else norm == gold),
        parsed=True,
    )
    return trial, ImportedItem(item_id, question, tuple(options), gold, str(doc["subject"]) if doc.get("subject") else None)


def _reported(results: dict[str, Any], task: str, model: str, index: int, metric: str, filter_name: str) -> list[Reported]:
    numbers = results["results"][task]
    out = []
    for name, trial_field in ((metric, "correct"), ("acc_norm", "correct_norm")):
        key = f"{name},{filter_name}"
        if isinstance(numbers.get(key), (int, float)) and (trial_field == "correct" or name != metric):
            out.append(Reported(index, model, key, float(numbers[key]), trial_field))
    return out


def _auto_levels(sources: list[Source], trials: list[ImportedTrial]) -> list[str]:
    """Factors read from the task configs (task name, n-shot) when the user's levels (and the model) do not tell the files apart."""
    named = {(tuple(sorted(s.levels.items())), s.detail.get("model")) for s in sources}
    added = []
    if len(named) < len(sources):
        for key in ("task", "n_shot"):
            values = {str(s.detail.get(key)) for s in sources}
            if len(values) > 1:
                added.append(key)
    for trial in trials:
        detail = sources[trial.source].detail
        trial.levels.update({key: str(detail[key]) for key in added})
    for source in sources:
        source.levels.update({key: str(source.detail[key]) for key in added})
    return added


def import_lmeval(files: list[FileArg], mapping: dict[str, str]) -> Imported:
    """Read lm-eval samples files with their results files (see the module docstring)."""
    bad = [f"{column}={target}" for column, target in mapping.items() if target not in ("correct", "item_id")]
    if bad:
        raise DataError(f"--map {bad[0]}: the lm-eval importer maps a score field to correct (--map acc_norm=correct) or a doc field to item_id")
    inverse = {target: column for column, target in mapping.items()}
    wanted = inverse.get("correct")
    item_key = inverse.get("item_id")
    trials: list[ImportedTrial] = []
    items: dict[str, ImportedItem] = {}
    sources: list[Source] = []
    reported: list[Reported] = []
    for file in files:
        for samples_path, results_path in _pairs(file.path):
            results = read_json(str(results_path))
            if not isinstance(results, dict) or not isinstance(results.get("results"), dict):
                raise DataError(f"{results_path}: not an lm-eval results file (no 'results' object)")
            model = _model(results, str(results_path))
            task = _task_of(samples_path, results, str(samples_path))
            index = len(sources)
            metric, filter_name = None, "none"
            for number, sample in read_jsonl(str(samples_path)):
                where = f"{samples_path} line {number}"
                trial, item = _trial(sample, where, model, dict(file.levels), index, wanted, item_key)
                metric = metric or _metric(sample, wanted, where)
                filter_name = str(sample.get("filter", "none"))
                trials.append(trial)
                items.setdefault(item.item_id, item)
            if metric is None:
                raise DataError(f"{samples_path}: holds no sample")
            reported += _reported(results, task, model, index, metric, filter_name)
            detail = {
                "samples": str(samples_path),
                "results": str(results_path),
                "results_sha256": file_sha256(results_path),
                "task": task,
                "model": model,
                "n_shot": (results.get("n-shot") or {}).get(task),
                "lm_eval_version": results.get("lm_eval_version"),
                "model_args": (results.get("config") or {}).get("model_args"),
            }
            sources.append(Source(str(samples_path), file_sha256(samples_path), dict(file.levels), detail))
    factors = list(dict.fromkeys(f for s in sources for f in s.levels))
    factors += _auto_levels(sources, trials)
    return Imported("lm-eval", trials, items, sources, factors, reported, CANNOT_KNOW)
