"""A minimal instrument written outside src/, registered through the registry, run end to end.

It plugs in without any change to the pipeline, the report, the CLI or the
store: items from a CSV file, one generate request per trial, a record of its
own, an analysis with an interval and a finding, and a report section of its
own. The second instrument here has two stages: the evaluated model answers,
then a judge role grades the answer; both stages are cached, and a rerun makes
no model call.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from markupsafe import Markup

import forkingpaths
from forkingpaths import registry, stats
from forkingpaths.data.tables import read_table
from forkingpaths.instruments.base import Analysis, FollowUp, SingleStage, StageResult, TrialContext
from forkingpaths.models.base import Message, Request
from forkingpaths.report.html import write_report
from forkingpaths.report.parts import NoPresentation, Section
from forkingpaths.report.source import RunSource
from forkingpaths.results import Estimate, Finding
from forkingpaths.errors import SpecError
from forkingpaths.spec import DataSpec, Spec

pytestmark = pytest.mark.model


@dataclass(frozen=True)
class Prompt:
    item_id: str
    text: str


def _prompts(data: DataSpec, base_dir: Path) -> list[Prompt]:
    assert data.path is not None
    table = read_table(base_dir / data.path, data.path)
    items = [Prompt(str(row.values["item_id"]), str(row.values["text"])) for row in table.rows]
    return items[: data.limit] if data.limit else items


@dataclass(frozen=True)
class LengthRecord:
    words: int | None
    first_word: str | None


class LengthPresentation(NoPresentation):
    def sections(self, source: RunSource) -> list[Section]:
        mean = source.analyses.num("mean_words", "estimate")
        return [Section("length", "Answer length", Markup('<p id="length-section">mean words <span data-path="{}">{}</span></p>').format(mean.path, mean.value))]


class AnswerLength(SingleStage):
    """How many words a model uses to answer: the smallest instrument that has everything."""

    name: ClassVar[str] = "answer-length"
    record: ClassVar[type] = LengthRecord
    presentation = LengthPresentation()

    def __init__(self, params: dict[str, Any], seed: int = 0) -> None:
        self.seed = seed

    def load_items(self, data: DataSpec, base_dir: Path) -> list[Prompt]:
        return _prompts(data, base_dir)

    def validate(self, spec: Spec, items: list[Prompt]) -> list[str]:
        return [] if items else ["data: no prompts"]

    def render(self, trial: TrialContext) -> Request:
        return Request("generate", (Message("user", trial.item.text),), max_tokens=12)

    def parse(self, trial: TrialContext, done: Sequence[StageResult]) -> LengthRecord:
        words = (done[0].response.text or "").split()
        return LengthRecord(len(words), words[0] if words else None)

    def analyse(self, trials: pd.DataFrame, items: list[Prompt], spec: Spec) -> Analysis:
        counts = trials["words"].dropna().to_numpy(dtype=float)
        interval = stats.mean_ci(counts, level=spec.analysis.level)
        finding = Finding(
            subject=",".join(spec.models), topic="answer length", claim=f"answers average {interval.estimate:.1f} words",
            verdict="short" if interval.upper < 10 else "long", rule="short when the interval's upper bound is below 10 words",
            tone="info", estimate=Estimate.of(interval),
        )
        return Analysis({"mean_words": interval.to_dict()}, [finding])


@dataclass(frozen=True)
class GradedRecord:
    answer: str | None
    p_yes: float | None
    judges: int | None


class GradedAnswer(AnswerLength):
    """Two stages: the evaluated model answers; every judge in the ``judge`` role grades the answer."""

    name: ClassVar[str] = "graded-answer"
    record: ClassVar[type] = GradedRecord
    roles: ClassVar[tuple[str, ...]] = ("judge",)
    presentation = NoPresentation()

    def follow_up(self, trial: TrialContext, done: Sequence[StageResult]) -> FollowUp | None:
        if len(done) > 1:
            return None
        question = f"Question: {trial.item.text}\nAnswer: {done[0].response.text}\nIs the answer polite? Reply yes or no."
        return FollowUp("judge", Request("choice_logprobs", (Message("user", question),), labels=("yes", "no"), max_tokens=1))

    def parse(self, trial: TrialContext, done: Sequence[StageResult]) -> GradedRecord:
        grades = [r.response.label_probs["yes"] for r in done if r.stage == 1 and r.response.label_probs]
        return GradedRecord(done[0].response.text, float(np.mean(grades)) if grades else None, len(grades))

    def analyse(self, trials: pd.DataFrame, items: list[Prompt], spec: Spec) -> Analysis:
        interval = stats.mean_ci(trials["p_yes"].dropna().to_numpy(dtype=float), level=spec.analysis.level)
        return Analysis({"p_yes": interval.to_dict()}, [])


@pytest.fixture
def plugins() -> Iterator[None]:
    registry.register_instrument("answer-length", AnswerLength)
    registry.register_instrument("graded-answer", GradedAnswer)
    yield
    registry.instruments.unregister("answer-length")
    registry.instruments.unregister("graded-answer")


def _spec_file(tmp_path: Path, instrument: str, **extra: Any) -> Path:
    with (tmp_path / "prompts.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["item_id", "text"])
        writer.writerows([["p1", "Name a colour."], ["p2", "Say hello."]])
    import yaml

    spec = {
        "name": f"{instrument}-test",
        "instrument": instrument,
        "data": {"loader": "csv", "path": "prompts.csv"},
        "models": ["llamacpp"],
        "factors": {"style": ["plain"]},
        "output_dir": str(tmp_path / "runs"),
        **extra,
    }
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def test_a_minimal_instrument_runs_end_to_end_with_its_own_report_section(plugins: None, tmp_path: Path) -> None:
    run = forkingpaths.run(_spec_file(tmp_path, "answer-length"), forkingpaths.RunOptions(cache_dir=tmp_path / "cache"))
    assert run.trials["words"].notna().all() and str(run.trials["words"].dtype) == "int64"
    assert run.analyses["mean_words"]["method"] and run.findings[0].estimate is not None
    html = write_report(run.directory).read_text(encoding="utf-8")
    assert 'id="length-section"' in html and 'data-path="/analyses/mean_words/estimate"' in html
    assert "answer length" in html  # the finding, shown by the shared findings list


def test_a_two_stage_trial_caches_both_stages_and_a_rerun_makes_no_call(plugins: None, tmp_path: Path) -> None:
    path = _spec_file(tmp_path, "graded-answer", roles={"judge": "llamacpp"})
    options = forkingpaths.RunOptions(cache_dir=tmp_path / "cache")
    first = forkingpaths.run(path, options)
    assert first.manifest.counts.model_calls == 4  # 2 answers + 2 grades
    assert first.trials["n_stages"].eq(2).all() and first.trials["p_yes"].between(0, 1).all()
    assert sorted(first.stages["role"]) == ["evaluated", "evaluated", "judge", "judge"]
    assert first.stages["request_key"].nunique() == 4 and first.stages["error"].isna().all()
    assert first.manifest.roles == {"judge": ["llamacpp"]}
    again = forkingpaths.run(path, options)
    assert again.manifest.counts.model_calls == 0 and again.manifest.counts.cache_hits == 4
    assert again.stages["cached"].all() and again.trials["p_yes"].tolist() == first.trials["p_yes"].tolist()


def test_a_missing_role_is_a_one_line_error_before_any_call(plugins: None, tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"^roles\.judge: the graded-answer instrument needs a model in this role$"):
        forkingpaths.run(_spec_file(tmp_path, "graded-answer"), forkingpaths.RunOptions(cache_dir=tmp_path / "cache"))
    assert not (tmp_path / "cache" / "cache.sqlite").exists()
