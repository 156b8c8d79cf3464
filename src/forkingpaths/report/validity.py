"""The construct-validity card: the eight recommendations of Bean et al. (2025) for this run.

"Measuring what Matters: Construct Validity in Large Language Model Benchmarks"
(Bean et al., NeurIPS 2025 Datasets & Benchmarks) closes with eight
recommendations. The card answers each for one run from two sources:

- **the run** — what the run directory shows was actually done: here, the
  facts every run has (where the items came from, which interval methods were
  used, how many trials failed); beside them, the instrument's own evidence
  (:meth:`~forkingpaths.report.parts.Presentation.validity_evidence`: how many
  conditions were compared and whether the headline survived them, how many
  answers could not be read, …);
- **the spec** — the user's own words, from the free-text ``validity:`` section
  (keys in :data:`CRITERIA`).

An entry with neither says "not addressed" and names the spec key that would
fill it. Evidence from the run is stated as facts with their numbers; whether
those facts suffice is the reader's judgement, so the status only records where
an answer came from, never a grade.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from forkingpaths.report.parts import Presentation
from forkingpaths.report.source import RunSource
from forkingpaths.text import safe_text

ADDRESSED_BY_RUN = "from the run"
ADDRESSED_BY_SPEC = "from the spec"
ADDRESSED_BY_BOTH = "from the run and the spec"
NOT_ADDRESSED = "not addressed"


@dataclass(frozen=True)
class Criterion:
    """One recommendation: the spec key that answers it, its title and what it asks."""

    key: str
    title: str
    asks: str


CRITERIA: tuple[Criterion, ...] = (
    Criterion(
        "phenomenon",
        "Define the phenomenon",
        "What the evaluation claims to measure, precisely enough to be wrong, and its scope.",
    ),
    Criterion(
        "measures_only",
        "Measure only the phenomenon",
        "Whether unrelated abilities (answer format, prompt wording, instruction following) move the score.",
    ),
    Criterion(
        "representative_data",
        "Construct a representative data set",
        "Whether the items cover the phenomenon and the populations the claim is about.",
    ),
    Criterion(
        "data_reuse",
        "Acknowledge reuse of data sets",
        "Where the items come from and what reusing them for this purpose implies.",
    ),
    Criterion(
        "contamination",
        "Prepare for contamination",
        "Whether the model may have seen the items or their answers, and what was done about it.",
    ),
    Criterion(
        "statistics",
        "Use statistical methods to compare models",
        "Which uncertainty estimates and tests support the comparisons.",
    ),
    Criterion(
        "error_analysis", "Conduct an error analysis", "Which failures occurred and what they say about the score."
    ),
    Criterion("justification", "Justify construct validity", "The argument that the score means what the claim says."),
)
VALIDITY_KEYS = tuple(c.key for c in CRITERIA)


@dataclass(frozen=True)
class Entry:
    """The card's answer to one criterion."""

    criterion: Criterion
    evidence: list[str]
    user_text: str | None

    @property
    def status(self) -> str:
        if self.evidence and self.user_text:
            return ADDRESSED_BY_BOTH
        if self.evidence:
            return ADDRESSED_BY_RUN
        return ADDRESSED_BY_SPEC if self.user_text else NOT_ADDRESSED

    @property
    def spec_key(self) -> str:
        """The spec key where a user writes their answer to this criterion."""
        return f"validity.{self.criterion.key}"


@dataclass(frozen=True)
class Card:
    entries: list[Entry]
    other_notes: dict[str, str]


def _data_reuse(source: RunSource) -> list[str]:
    data = source.spec.get("data") or {}
    where = data.get("path") or ", ".join(f"{k}={v}" for k, v in (data.get("params") or {}).items())
    facts = [f"Items loaded with the {data.get('loader', 'unknown')} loader ({where})."] if data else []
    origins: dict[str, int] = {}
    for item in source.items:
        if item.get("source"):
            origins[str(item["source"])] = origins.get(str(item["source"]), 0) + 1
    if origins:
        facts.append(
            "Items from: " + "; ".join(f"{name} ({count} items)" for name, count in sorted(origins.items())) + "."
        )
    return facts


def _statistics(source: RunSource) -> list[str]:
    methods: set[str] = set()
    _collect_methods(source.analyses.get(), methods)
    _collect_methods(source.results.get("findings"), methods)
    if not methods:
        return []
    analysis = source.spec.get("analysis") or {}
    return [
        f"{float(analysis.get('level', 0.95)):.0%} intervals ({analysis.get('n_resamples')} resamples, "
        f"seed {source.spec.get('seed')}) by: {', '.join(f'“{m}”' for m in sorted(methods))}."
    ]


def _collect_methods(value: Any, methods: set[str]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "method" and isinstance(inner, str):
                methods.add(inner)
            else:
                _collect_methods(inner, methods)
    elif isinstance(value, list):
        for inner in value:
            _collect_methods(inner, methods)


def _error_analysis(source: RunSource) -> list[str]:
    counts = source.results.get("manifest", "counts", default={}) or {}
    if "trials" not in counts:
        return []
    return [
        f"{counts.get('failed_trials', 0)} of {counts['trials']} trials ended in an error after retries.",
        "Every response is listed in the report's item drill-down for a qualitative reading.",
    ]


#: Evidence every run has, whatever its instrument.
EVIDENCE: dict[str, Callable[[RunSource], list[str]]] = {
    "data_reuse": _data_reuse,
    "statistics": _statistics,
    "error_analysis": _error_analysis,
}


def validity_card(source: RunSource, parts: Presentation) -> Card:
    """The card for one run: the run's and the instrument's evidence beside the user's text, per criterion."""
    texts = {str(k): str(v).strip() for k, v in (source.spec.get("validity") or {}).items() if str(v).strip()}
    own = parts.validity_evidence(source)
    entries = []
    for criterion in CRITERIA:
        shared = EVIDENCE[criterion.key](source) if criterion.key in EVIDENCE else []
        entries.append(Entry(criterion, own.get(criterion.key, []) + shared, texts.get(criterion.key)))
    other = {k: v for k, v in texts.items() if k not in VALIDITY_KEYS}
    return Card(entries, other)


def _md(value: str) -> str:
    """Text for Markdown with angle brackets as entities, so no renderer can take any of it for HTML,
    and control characters escaped, so a terminal showing the file (``cat validity.md``) executes none."""
    return safe_text(value).replace("<", "&lt;").replace(">", "&gt;")


def card_markdown(card: Card, run_name: str) -> str:
    """validity.md: the same card as plain Markdown."""
    lines = [
        f"# Construct-validity card: {_md(run_name)}",
        "",
        'Following the eight recommendations of Bean et al. (2025), "Measuring what Matters: '
        'Construct Validity in Large Language Model Benchmarks". *From the run* lists what this run '
        "did; *from the spec* quotes the spec's `validity:` section.",
        "",
    ]
    for number, entry in enumerate(card.entries, start=1):
        lines += [f"## {number}. {entry.criterion.title} — {entry.status}", "", f"*{entry.criterion.asks}*", ""]
        lines += [f"- From the run: {_md(fact)}" for fact in entry.evidence]
        if entry.user_text:
            lines.append(f"- From the spec (`{entry.spec_key}`): {_md(entry.user_text)}")
        elif entry.evidence:
            lines.append(f"- No account of your own yet: add one under `{entry.spec_key}` in the spec.")
        else:
            lines.append(f"- Not addressed: write it under `{entry.spec_key}` in the spec.")
        lines.append("")
    if card.other_notes:
        lines += ["## Other notes from the spec", ""]
        lines += [f"- `validity.{_md(key)}`: {_md(text)}" for key, text in card.other_notes.items()]
        lines.append("")
    return "\n".join(lines)
