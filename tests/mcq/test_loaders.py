"""MCQ loaders: every layout on small local files, the dev pool, and one-line row-numbered errors."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from forkingpaths.errors import DataError
from forkingpaths.instruments.mcq.loaders import load_mcq_items
from forkingpaths.spec import DataSpec


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _jsonl(path: Path, rows: list[dict]) -> Path:
    return _write(path, "".join(json.dumps(r) + "\n" for r in rows))


def _load(tmp_path: Path, **data) -> list:
    return load_mcq_items(DataSpec(**data), tmp_path)


def test_tidy_csv_with_json_options_gold_letters_and_a_dev_split(tmp_path: Path) -> None:
    _write(
        tmp_path / "q.csv",
        'id,question,options,gold,subject,split\n'
        'q1,Capital of France?,"[""Paris"", ""Rome"", ""Oslo""]",A,geo,test\n'
        'q2,2+2?,"[""3"", ""4""]",4,math,test\n'
        'd1,Capital of Italy?,"[""Rome"", ""Paris""]",Rome,geo,dev\n',
    )
    items = _load(tmp_path, loader="tidy", path="q.csv")
    assert [i.item_id for i in items] == ["q1", "q2"]
    assert items[0].options == ("Paris", "Rome", "Oslo") and items[0].gold == 0 and items[0].subject == "geo"
    assert items[1].gold == 1  # the option text "4", not an index
    assert len(items[0].dev) == 1 and items[0].dev[0].question == "Capital of Italy?"


def test_tidy_option_columns_column_mapping_and_index1_gold(tmp_path: Path) -> None:
    _write(tmp_path / "q.csv", "key,stem,o1,o2,o3,answer\nq1,Pick b,a,b,,2\n")
    items = _load(
        tmp_path, loader="tidy", path="q.csv", columns={"id": "key", "question": "stem", "gold": "answer"},
        params={"option_columns": ["o1", "o2", "o3"], "gold_format": "index1"},
    )
    assert items[0].options == ("a", "b") and items[0].gold == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('q1,Q?,"[""a"", ""b""]",C\n', r"^q\.csv row 2: column 'gold': gold 'C' is not among the options"),
        ('q1,Q?,"[""a""]",A\n', r"^q\.csv row 2: item 'q1' has 1 option\(s\); a multiple-choice item needs at least 2$"),
        ('q1,Q?,"[""a"", ""b""]",A\nq1,R?,"[""a"", ""b""]",B\n', r"^q\.csv row 3: duplicate item id 'q1' \(first at row 2\)$"),
        ('q1,Q?,"[""a"", ""b""]",1\n', r"^q\.csv row 2: column 'gold': gold '1' is a number; set data\.params\.gold_format"),
        ('q1,Q?,"[""a"", ""a""]",A\n', r"^q\.csv row 2: item 'q1' lists the option 'a' twice$"),
    ],
)
def test_bad_rows_are_one_line_errors_naming_the_row(tmp_path: Path, body: str, message: str) -> None:
    _write(tmp_path / "q.csv", "id,question,options,gold\n" + body)
    with pytest.raises(DataError, match=message) as caught:
        _load(tmp_path, loader="tidy", path="q.csv")
    assert "\n" not in str(caught.value)


def test_mmlu_layout_from_a_local_parquet_file(tmp_path: Path) -> None:
    table = pa.table({"question": ["1+1?", "Sky?"], "choices": [["1", "2", "3", "4"], ["blue", "green"]], "answer": [1, 0], "subject": ["math", "sci"]})
    pq.write_table(table, tmp_path / "mmlu.parquet")
    items = _load(tmp_path, loader="mmlu", path="mmlu.parquet")
    assert [(i.item_id, i.gold, i.subject) for i in items] == [("math-1", 1, "math"), ("sci-2", 0, "sci")]


def test_arc_layout_and_its_gold_label_check(tmp_path: Path) -> None:
    rows = [
        {"id": "a1", "question": "Which is a metal?", "choices": {"text": ["wood", "iron"], "label": ["A", "B"]}, "answerKey": "B"},
        {"id": "a2", "question": "Wet?", "choices": {"text": ["water", "sand", "salt"], "label": ["1", "2", "3"]}, "answerKey": "1"},
    ]
    items = _load(tmp_path, loader="arc", path=str(_jsonl(tmp_path / "arc.jsonl", rows).name))
    assert [(i.item_id, i.gold) for i in items] == [("a1", 1), ("a2", 0)]
    rows[1]["answerKey"] = "4"
    _jsonl(tmp_path / "arc.jsonl", rows)
    with pytest.raises(DataError, match=r"^arc\.jsonl line 2: column 'answerKey': gold '4' is not among the option labels 1, 2, 3$"):
        _load(tmp_path, loader="arc", path="arc.jsonl")


def test_exams_jsonl_layout_reads_subject_and_language(tmp_path: Path) -> None:
    row = {
        "id": "e1",
        "question": {"stem": "Koja je glavni grad?", "choices": [{"text": "Zagreb", "label": "A"}, {"text": "Split", "label": "B"}]},
        "answerKey": "A",
        "info": {"grade": 12, "subject": "Geography", "language": "Croatian"},
    }
    items = _load(tmp_path, loader="exams", path=str(_jsonl(tmp_path / "ex.jsonl", [row]).name))
    assert (items[0].subject, items[0].language, items[0].options, items[0].gold) == ("Geography", "Croatian", ("Zagreb", "Split"), 0)


def test_truthfulqa_mc_task_json_mc1(tmp_path: Path) -> None:
    tasks = [
        {"question": "Q1?", "mc0_targets": {}, "mc1_targets": {"true one": 1, "false one": 0, "other": 0}, "mc2_targets": {}},
        {"question": "Q2?", "mc0_targets": {}, "mc1_targets": {"x": 0, "y": 1}, "mc2_targets": {}},
    ]
    _write(tmp_path / "mc_task.json", json.dumps(tasks))
    items = _load(tmp_path, loader="truthfulqa", path="mc_task.json")
    assert [(i.item_id, i.gold, len(i.options)) for i in items] == [("tqa-0", 0, 3), ("tqa-1", 1, 2)]
    tasks[1]["mc1_targets"] = {"x": 1, "y": 1}
    _write(tmp_path / "mc_task.json", json.dumps(tasks))
    with pytest.raises(DataError, match=r"^mc_task\.json row 2: MC1 needs exactly one answer valued 1, found 2$"):
        _load(tmp_path, loader="truthfulqa", path="mc_task.json")


def test_builtin_truthfulqa_subset_has_60_items_4_options_and_a_dev_pool() -> None:
    items = load_mcq_items(DataSpec(loader="builtin", params={"name": "truthfulqa"}), Path.cwd())
    assert len(items) == 60 and {i.n_options for i in items} == {4}
    assert all(len(i.dev) == 6 for i in items) and {i.gold for i in items} == {0}  # upstream lists the true answer first
    here = Path(__file__).parents[2] / "src/forkingpaths/instruments/mcq/data/truthfulqa"
    assert "Apache License" in (here / "LICENSE").read_text(encoding="utf-8") and "Subset rule" in (here / "SOURCE.md").read_text(encoding="utf-8")


def test_unknown_loader_and_unknown_param_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"^data\.loader: unknown MCQ loader 'nope'; expected one of tidy, mmlu"):
        _load(tmp_path, loader="nope", path="x.csv")
    with pytest.raises(DataError, match=r"^data\.params\.colour: not an option of loader 'mmlu'"):
        _load(tmp_path, loader="mmlu", path="x.parquet", params={"colour": "red"})


def test_builtin_exams_regional_subset_keeps_its_own_licence_and_a_language_first_dev_pool() -> None:
    items = load_mcq_items(DataSpec(loader="builtin", params={"name": "exams-regional"}), Path.cwd())
    assert len(items) == 52 and len({i.language for i in items}) == 13
    assert {i.subject for i in items} <= {"History", "Geography", "Religion", "Citizenship"}
    croatian = next(i for i in items if i.language == "Croatian")
    assert len(croatian.dev) == 10 and all(len(e.options) >= 3 for e in croatian.dev)
    here = Path(__file__).parents[2] / "src/forkingpaths/instruments/mcq/data/exams"
    assert "Attribution-ShareAlike 4.0" in (here / "LICENSE").read_text(encoding="utf-8")
    assert "CC BY-SA 4.0" in (here / "SOURCE.md").read_text(encoding="utf-8")


def test_the_dev_pool_ranks_language_then_subject_and_never_holds_the_item() -> None:
    from forkingpaths.instruments.mcq.items import MCQItem, attach_dev_pool

    item = MCQItem("q", "Q?", ("a", "b"), 0, subject="History", language="hr")
    dev = [
        MCQItem("d1", "other", ("a", "b"), 0, "Physics", "de"),
        MCQItem("d2", "subject", ("a", "b"), 0, "History", "de"),
        MCQItem("d3", "language", ("a", "b"), 0, "Physics", "hr"),
        MCQItem("d4", "both", ("a", "b"), 0, "History", "hr"),
        MCQItem("q", "itself", ("a", "b"), 0, "History", "hr"),
    ]
    [pooled] = attach_dev_pool([item], dev)
    assert [e.question for e in pooled.dev] == ["both", "language", "subject", "other"]
