"""Judge items, loaders, perturbations, prompts and the verdict rule: no model involved."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import forkingpaths
from forkingpaths.errors import DataError
from forkingpaths.instruments.base import StageResult, TrialContext
from forkingpaths.instruments.judge import perturb, prompts
from forkingpaths.instruments.judge.data import load_pair_items
from forkingpaths.instruments.judge.instrument import JudgeInstrument
from forkingpaths.design import Condition
from forkingpaths.models.base import Capabilities, Response
from forkingpaths.spec import DataSpec, parse_spec

SHARED = Path("/work/shared/data")
HEADER = "item_id,instruction,response_a,response_b,label\n"


def _csv(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "pairs.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("p1,Say hi,Hi,,A\n", r"^pairs\.csv row 2: response_b is empty"),
        ("p1,Say hi,Hi,Hello,C\n", r"^pairs\.csv row 2: label 'C' is not one of A, B, tie$"),
        ("p1,Say hi,Hi,Hello,A\np1,Say bye,Bye,Ciao,B\n", r"^pairs\.csv row 3: duplicate id 'p1' \(first at pairs\.csv row 2\)$"),
    ],
)
def test_a_bad_pair_is_a_one_line_error_naming_file_and_row_before_any_call(tmp_path: Path, body: str, message: str) -> None:
    _csv(tmp_path, body)
    spec = parse_spec({"name": "bad", "instrument": "judge", "data": {"loader": "tidy", "path": "pairs.csv"},
                       "output_dir": str(tmp_path / "runs")}, "test")
    import os

    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with pytest.raises(DataError, match=message) as caught:
            forkingpaths.run(spec, forkingpaths.RunOptions(cache_dir=tmp_path / "cache"))
    finally:
        os.chdir(cwd)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "cache" / "cache.sqlite").exists()


def test_tidy_reads_human_labels_and_takes_their_majority_when_the_label_is_empty(tmp_path: Path) -> None:
    (tmp_path / "pairs.jsonl").write_text(
        json.dumps({"id": "x", "prompt": "Q", "first": "a", "second": "b", "label": "", "humans": ["A", "tie", "A"]}) + "\n", encoding="utf-8"
    )
    data = DataSpec(loader="tidy", path="pairs.jsonl", columns={"item_id": "id", "instruction": "prompt", "response_a": "first",
                                                                 "response_b": "second", "human_labels": "humans"})
    (item,) = load_pair_items(data, tmp_path)
    assert item.label == "A" and item.human_labels == ("A", "tie", "A")


def test_the_builtin_subset_is_balanced_and_unique() -> None:
    items = load_pair_items(DataSpec(loader="builtin", params={"name": "llmbar"}), Path.cwd())
    assert len(items) == 40 and len({i.item_id for i in items}) == 40
    assert sum(i.label == "A" for i in items) == 20 and {i.category for i in items} == {"natural", "neighbor"}
    first = items[:12]
    assert sum(i.label == "A" for i in first) == 6


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared data sets not present")
def test_the_published_layouts_load() -> None:
    natural = load_pair_items(DataSpec(loader="llmbar", path=str(SHARED / "llmbar/Dataset/LLMBar/Natural")), Path("/"))
    assert len(natural) == 100 and sum(i.label == "A" for i in natural) == 42 and natural[0].category == "natural"
    panda = load_pair_items(DataSpec(loader="pandalm", path=str(SHARED / "pandalm_testset/data/testset-v1.json")), Path("/"))
    labels = [i.label for i in panda]
    assert len(panda) == 999 and labels.count("B") == 472 and labels.count("A") == 422 and labels.count("tie") == 105
    assert sum(len(set(i.human_labels)) == 1 for i in panda) == 879
    hh = load_pair_items(DataSpec(loader="hh-rlhf", path=str(SHARED / "hh_rlhf_harmless_test/harmless-base/test.jsonl.gz"), limit=50), Path("/"))
    assert len(hh) == 50 and {i.label for i in hh} == {"A", "B"} and all(i.response_a != i.response_b for i in hh)


def _context(item, **levels: str) -> TrialContext:
    spec = parse_spec({"name": "t", "instrument": "judge", "data": {"loader": "builtin"}}, "test")
    return TrialContext(item, Condition(tuple(levels.items())), 0, "m", spec, Capabilities())


ITEMS = load_pair_items(DataSpec(loader="builtin"), Path.cwd())


_SECTIONS = re.compile(r"^(.*Instruction:\n)(.*)(\n\nResponse A:\n)(.*)(\n\nResponse B:\n)(.*)(\n\n" + re.escape(prompts.ANSWER_LINE) + ")$", re.DOTALL)


@pytest.mark.parametrize("level", [f"{name}-{side}" for name in perturb.BUILTIN for side in perturb.SIDES])
def test_every_perturbation_changes_only_the_response_it_targets(level: str) -> None:
    """Textually: the prompt's frame, the instruction and the other response are unchanged; the target only gains text."""
    judge = JudgeInstrument({})
    artifact = perturb.BUILTIN[level.rpartition("-")[0]]
    for item in ITEMS:
        side = level.rpartition("-")[2]
        target = side.upper() if side in ("a", "b") else item.label if side == "better" else {"A": "B", "B": "A"}[item.label]
        for position in ("original", "swapped"):
            plain = _SECTIONS.match(judge.prompt(_context(item, position=position, artifact="none"))).groups()
            changed = _SECTIONS.match(judge.prompt(_context(item, position=position, artifact=level))).groups()
            shown = 3 if (target == "A") == (position == "original") else 5  # group index of the target's text
            other = 8 - shown
            assert [changed[i] for i in (0, 1, 2, other, 4, 6)] == [plain[i] for i in (0, 1, 2, other, 4, 6)]
            original = item.response_a if target == "A" else item.response_b
            assert plain[shown] == original and changed[shown] == artifact.apply(original)
            assert changed[shown] != original and original in changed[shown]


def test_swapped_prompts_show_b_first_and_map_verdicts_and_probabilities_back() -> None:
    judge = JudgeInstrument({})
    item = ITEMS[0]
    context = _context(item, position="swapped")
    prompt = judge.prompt(context)
    assert prompt.index(item.response_b) < prompt.index(item.response_a)
    request = judge.render(context)
    shown = Response(label_probs={"A": 0.7, "B": 0.2, "tie": 0.1}, valid_mass=0.8)
    record = judge.parse(context, [StageResult(0, "evaluated", "m", request, shown)])
    assert record.verdict == "B" and record.shown_verdict == "A" and record.p_b == 0.7 and record.p_a == 0.2
    generated = _context(item, position="swapped", verdict_format="generate")
    record = judge.parse(generated, [StageResult(0, "evaluated", "m", judge.render(generated), Response(text="Response A is better"))])
    assert record.verdict == "B" and record.correct == (item.label == "B")


@pytest.mark.parametrize(
    ("text", "verdict"),
    [("A", "A"), ("b.", "B"), ("**Tie**", "tie"), ("Response (A)", "A"), ("I think A", None), ("", None),
     ("Both are fine.\nVerdict: B", "B"), ("verdict: maybe", None), ("The output B", "B"), ("C", None)],
)
def test_the_verdict_rule(text: str, verdict: str | None) -> None:
    assert prompts.parse_verdict(text) == verdict


def test_an_unparsable_verdict_is_counted_not_scored_as_wrong() -> None:
    judge = JudgeInstrument({})
    context = _context(ITEMS[0], verdict_format="generate")
    record = judge.parse(context, [StageResult(0, "evaluated", "m", judge.render(context), Response(text="Hmm."))])
    assert record.verdict is None and record.parsed is False and record.correct is None


def test_spec_problems_are_listed_before_any_call() -> None:
    spec = parse_spec({"name": "t", "instrument": {"name": "judge", "params": {"templates": {"mine": "{instruction} {response_a}"}, "colour": 1}},
                       "data": {"loader": "builtin"},
                       "factors": {"artifact": ["none", "apology-sideways", "glitter-worse"], "judge_template": ["mine"], "tone": ["x"]}}, "test")
    judge = JudgeInstrument(spec.instrument.params)
    problems = judge.validate(spec, ITEMS)
    assert any(p.startswith("instrument.params.colour:") for p in problems)
    assert any(p.startswith("instrument.params.templates.mine: must show {response_b}") for p in problems)
    assert any(p.startswith("factors.artifact[1]:") for p in problems) and any(p.startswith("factors.artifact[2]: unknown artifact 'glitter'") for p in problems)
    assert any(p.startswith("factors.tone: unknown factor for the judge instrument") for p in problems)


def test_a_user_template_and_a_user_perturbation_render() -> None:
    params = {"templates": {"short": "Task: {instruction}\nFirst: {response_a}\nSecond: {response_b}"},
              "perturbations": {"emoji": {"suffix": " 😀"}}}
    judge = JudgeInstrument(params)
    item = ITEMS[0]
    prompt = judge.prompt(_context(item, judge_template="short", artifact="emoji-worse"))
    worse = item.response_b if item.label == "A" else item.response_a
    assert prompt.startswith("Task: ") and f"{worse} 😀" in prompt and prompt.endswith(prompts.ANSWER_LINE)
