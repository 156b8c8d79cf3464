"""LLMBar's published judge verdicts as judge trials, and the figures of its ``statistics.json`` recomputed by the audit.

The verdicts were not made by forkingpaths: LLMBar (Zeng et al. 2024, ICLR) ran GPT-4,
ChatGPT, PaLM2, LLaMA2-70B-Chat, Falcon-180B-Chat and others as judges on its pairs in both
orders and published them as ``<set>/evaluators/<judge>/<strategy>/result.json``: the set's
``dataset.json`` records (``input``, ``output_1``, ``output_2``, ``label`` 1|2) with a
``results`` list whose last element holds ``{"swap = False": {"completion": [...], "winner":
"1"|"2"|null}, "swap = True": {...}}``. LLMBar maps the swapped order's winner back to the
canonical output before writing it (``evaluate.py``'s ``reverse_label``), so ``winner`` is
already canonical in both orders; ``null`` is a reply its parsing rules could not read.

:func:`read_verdicts` turns one such file into judge trials with the instrument's record
columns (position ``original`` / ``swapped`` from ``swap = False`` / ``True``, the strategy as
``judge_template``, ``verdict_format`` ``generate``; an unread winner is an unparsable
verdict), and the pairs themselves as :class:`~.items.PairItem` with the ids of the
``llmbar`` loader (``<set>-<n>``). :func:`recompute_statistics` runs the instrument's own
:func:`~.analysis.accuracy` and :func:`~.analysis.position` on them and reports the figures
in LLMBar's layout; :func:`read_statistics` reads the published ``statistics.json``.

Which published figures a correct computation reproduces (checked on every shipped file by
tests/judge/test_published.py, and in docs/judge.md):

- ``correct_False``/``correct_True``/``correct_both`` (counts): always. LLMBar divides by every
  pair, counting an unread verdict as wrong; the audit leaves unparsable verdicts out of the
  rate, so the percentages agree only when every verdict was read.
- ``equal``: LLMBar counts two unread verdicts on one pair as agreeing (``None == None``); the
  audit's consistency counts pairs with both verdicts read. The counts agree after adding
  the pairs unread in both orders (``both_unparsable``).
- ``kappa_agreement``: Cohen's κ between the orders, equal when every verdict was read
  (LLMBar codes an unread verdict as it codes "2", so otherwise it differs).
- ``kappa_False``/``kappa_True``/``kappa_average``: not reproducible by a correct κ. LLMBar
  codes the verdict "1" as 1 and "2" (and unread) as 0 but keeps the label as 1/2, so a
  verdict "2" never agrees with the label 2 and the κ mixes three categories.

Its layout is LLMBar's own, so it is a function of the instrument, not a ``data.loader``.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from forkingpaths.errors import DataError
from forkingpaths.instruments.judge.analysis import accuracy, position
from forkingpaths.instruments.judge.common import verdict_frame
from forkingpaths.instruments.judge.data.loaders import json_array, llmbar_items
from forkingpaths.instruments.judge.instrument import JudgeRecord, swap
from forkingpaths.instruments.judge.items import PairItem
from forkingpaths.spec import parse_spec

BUILTIN_VERDICTS = Path(__file__).parent / "data" / "llmbar_verdicts"
ORDERS = {"swap = False": "original", "swap = True": "swapped"}
WINNERS = {"1": "A", "2": "B"}
_COUNT = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*=")
_PERCENT = re.compile(r"^\s*([0-9.]+)%\s*$")


@dataclass(frozen=True)
class PublishedVerdicts:
    """One judge's published verdicts on one set: the trials (two per pair) and the pairs."""

    judge: str
    strategy: str
    trials: pd.DataFrame
    items: list[PairItem]


def result_files(root: str | Path = BUILTIN_VERDICTS) -> list[Path]:
    """Every ``evaluators/<judge>/<strategy>/result.json`` under ``root`` (the shipped subset by default), sorted."""
    return sorted(Path(root).rglob("evaluators/*/*/result.json"))


def _winner(value: Any, where: str) -> str | None:
    if value is None:
        return None
    found = WINNERS.get(str(value).strip())
    if found is None:
        raise DataError(f"{where}: winner {value!r} is not one of 1, 2, null")
    return found


def _orders(record: dict[str, Any], where: str) -> dict[str, dict[str, Any]]:
    results = record.get("results")
    if not isinstance(results, list) or not results or not isinstance(results[-1], dict):
        raise DataError(f"{where}: results is not a non-empty JSON list of verdict objects")
    last = results[-1]
    missing = [key for key in ORDERS if not isinstance(last.get(key), dict)]
    if missing:
        raise DataError(f"{where}: results[-1] has no {missing[0]!r} object (expected both 'swap = False' and 'swap = True')")
    return {key: last[key] for key in ORDERS}


def _completion(order: dict[str, Any]) -> str | None:
    completion = order.get("completion")
    return str(completion[0]) if isinstance(completion, list) and completion else None


def read_verdicts(path: str | Path) -> PublishedVerdicts:
    """The verdicts of one ``result.json`` (or a folder holding one) as judge trials and pairs.

    The judge and strategy are the two folders above the file (``evaluators/GPT-4/Vanilla``);
    the category, as for the ``llmbar`` loader, is the set folder above ``evaluators``,
    lower-cased. A malformed record is a one-line :class:`DataError` naming the file and item.
    """
    source = Path(path)
    if source.is_dir():
        source = source / "result.json"
    name = str(source)
    records = json_array(source, name)
    strategy, judge = source.parent.name, source.parent.parent.name
    above = source.parent.parent.parent
    category = above.parent.name.lower() if above.name == "evaluators" else "llmbar"
    items = llmbar_items(records, name, category)
    rows: list[dict[str, Any]] = []
    for n, (record, item) in enumerate(zip(records, items), start=1):
        where = f"{name} item {n}"
        for key, order in _orders(record, where).items():
            place = ORDERS[key]
            verdict = _winner(order.get("winner"), f"{where} {key!r}")
            shown = swap(verdict) if place == "swapped" else verdict
            fields = JudgeRecord(
                judge=judge, gold=item.label, category=item.category, shown_first="B" if place == "swapped" else "A",
                verdict=verdict, shown_verdict=shown, parsed=verdict is not None, p_a=None, p_b=None, p_tie=None,
                valid_mass=None, correct=None if verdict is None else verdict == item.label, perturbed=None,
                perturbed_side=None, chose_perturbed=None, p_perturbed=None,
                length_a=len(item.response_a), length_b=len(item.response_b),
            )
            rows.append({"trial_id": f"{judge}/{strategy}/{item.item_id}/{place}", "model": judge, "item_id": item.item_id,
                         "position": place, "artifact": "none", "judge_template": strategy, "verdict_format": "generate",
                         "repeat": 0, "response_text": _completion(order), "error": None, **asdict(fields)})
    return PublishedVerdicts(judge, strategy, pd.DataFrame(rows), items)


def read_statistics(path: str | Path) -> dict[str, Any]:
    """A published ``statistics.json``: ``"84 / 100 = 84.0%"`` → ``{"count": 84, "n": 100}``, ``"81.5%"`` → ``{"percent": 81.5}``, κ values as floats."""
    source = Path(path)
    try:
        raw = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise DataError(f"{source}: not a readable JSON object ({error})") from None
    if not isinstance(raw, dict):
        raise DataError(f"{source}: expected a JSON object of statistics")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        found = _COUNT.match(value) if isinstance(value, str) else None
        percent = _PERCENT.match(value) if isinstance(value, str) else None
        if found:
            out[key] = {"count": int(found.group(1)), "n": int(found.group(2))}
        elif percent:
            out[key] = {"percent": float(percent.group(1))}
        elif isinstance(value, int | float):
            out[key] = float(value)
    return out


def recompute_statistics(published: PublishedVerdicts, level: float = 0.95, n_resamples: int = 200, seed: int = 0) -> dict[str, Any]:
    """LLMBar's figures from the audit's own accuracy and position analyses, in LLMBar's layout.

    ``correct_<order>`` and ``correct_both`` are counts over all pairs (as LLMBar counts them:
    correct verdicts, so unparsable ones add nothing), ``equal`` the audit's consistent pairs
    (both verdicts read), ``both_unparsable`` the pairs unread in both orders,
    ``kappa_agreement`` the audit's κ between the orders, ``unparsable_<order>`` the unread
    verdicts. The κ interval is a bootstrap with ``n_resamples`` replicates seeded by ``seed``.
    """
    spec = parse_spec({"name": "llmbar-published", "instrument": "judge", "data": {"loader": "builtin"}, "models": [published.judge],
                       "seed": seed, "analysis": {"level": level, "n_resamples": n_resamples}}, "published verdicts")
    frame = verdict_frame(published.trials)
    cells, _ = accuracy(frame, level)
    [pos] = position(frame, spec)
    n = len(published.items)
    out: dict[str, Any] = {"n": n}
    for cell in cells:
        suffix = "False" if cell["position"] == "original" else "True"
        out[f"correct_{suffix}"] = {"count": cell["n_correct"], "n": n}
        out[f"unparsable_{suffix}"] = cell["unparsable"]
    unread = frame[~frame["parsed"].astype(bool)].groupby("item_id")["position"].nunique()
    out["correct_both"] = {"count": pos["n_consistent_correct"], "n": n}
    out["equal"] = {"count": pos["n_consistent"], "n": n}
    out["both_unparsable"] = int((unread == 2).sum())
    out["kappa_agreement"] = pos["kappa_orders"]["estimate"]
    out["kappa_orders"] = pos["kappa_orders"]
    return out
