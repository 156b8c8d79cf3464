"""The table importer on real data: CAT MedQA (two 7B models under option shuffles) and ZeroEval GSM8K (44 models)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import forkingpaths
from forkingpaths.cli import app
from forkingpaths.errors import DataError
from forkingpaths.stats.consistency import cat_metrics

DATA = Path(__file__).resolve().parents[1] / "data"
CAT = DATA / "cat_medqa" / "correctness.csv"
GSM = DATA / "zeroeval" / "gsm_correctness_matrix.csv"


def _cat_long(path: Path) -> Path:
    """CAT MedQA as a long table: standard_MC = 11 repeats of the plain prompt, standard_MC_shuffled = 11 option orders."""
    rows = []
    with open(CAT, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            for k, bit in enumerate(row["correct"]):
                shuffled = row["variant_type"] == "standard_MC_shuffled"
                rows.append(
                    {
                        "model": row["model"],
                        "question": row["item"],
                        "variant_type": row["variant_type"],
                        "option_order": f"shuffle-{k + 1}" if shuffled else "original",
                        "repeat": 0 if shuffled else k,
                        "correct": int(bit),
                    }
                )
    pd.DataFrame(rows).to_parquet(path, index=False)
    return path


def _cat_matrix(model: str, variant_type: str) -> np.ndarray:
    with open(CAT, newline="", encoding="utf-8") as handle:
        rows = [r["correct"] for r in csv.DictReader(handle) if r["model"] == model and r["variant_type"] == variant_type]
    return np.array([[bit == "1" for bit in bits] for bits in rows])


@pytest.fixture(scope="module")
def cat_run(tmp_path_factory: pytest.TempPathFactory) -> forkingpaths.Run:
    tmp = tmp_path_factory.mktemp("cat")
    return forkingpaths.import_results(
        "table", [_cat_long(tmp / "cat.parquet")], mapping={"question": "item_id"}, out=tmp / "runs", name="cat-medqa", n_resamples=50
    )


def test_cat_medqa_metrics_equal_cat_metrics_on_the_same_matrix(cat_run: forkingpaths.Run) -> None:
    assert cat_run.manifest.instrument == "mcq" and cat_run.manifest.counts.model_calls == 0
    for model in ("medalpaca-7b", "mistral-7b-instruct"):
        entries = cat_run.analyses["models"][model]["cat"]
        assert [e["levels"] for e in entries] == [{"variant_type": "standard_MC_shuffled"}]  # the plain prompt has one order
        entry = entries[0]
        expected = cat_metrics(_cat_matrix(model, "standard_MC_shuffled"))
        assert entry["n_items"] == 1273 and len(entry["variants"]) == 11
        assert entry["car"] == pytest.approx(expected["car"], abs=1e-15)
        for name in ("aucar", "normdtw", "core"):
            assert entry[name] == pytest.approx(expected[name], abs=1e-15)


def test_cat_medqa_run_reads_back_with_a_report_and_sources(cat_run: forkingpaths.Run) -> None:
    again = forkingpaths.load_run(cat_run.directory)
    assert again.results == cat_run.results
    assert (cat_run.directory / "report.html").is_file()
    imported = cat_run.manifest.imported
    assert imported is not None and imported["tool"] == "table" and "no model was called" in imported["note"]
    assert imported["sources"][0]["sha256"] == forkingpaths.results.file_sha256(Path(imported["sources"][0]["path"]))
    trials = cat_run.trials
    assert len(trials) == 2 * 1273 * 22 and trials["permutation"].isna().all()
    # accuracy of each model over both variant types, against a direct count of the CSV's bits
    for model, entry in cat_run.analyses["models"].items():
        bits = np.concatenate([_cat_matrix(model, v).ravel() for v in ("standard_MC", "standard_MC_shuffled")])
        assert entry["pooled"]["estimate"] == pytest.approx(bits.mean(), abs=1e-12)
        assert entry["chance"] is None  # the table does not say how many options an item had


@pytest.fixture(scope="module")
def gsm_run(tmp_path_factory: pytest.TempPathFactory) -> forkingpaths.Run:
    tmp = tmp_path_factory.mktemp("gsm")
    return forkingpaths.import_results("table", [GSM], out=tmp / "runs", name="zeroeval-gsm", n_resamples=100)


def _gsm_columns() -> dict[str, list[str]]:
    with open(GSM, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = list(reader)
    return {name: [r[i] for r in rows] for i, name in enumerate(header)}


def test_zeroeval_imports_as_44_models_compared_on_common_items(gsm_run: forkingpaths.Run) -> None:
    columns = _gsm_columns()
    models = [c for c in columns if c != "item_id"]
    assert len(models) == 44 and list(gsm_run.analyses["models"]) == models
    common = [i for i in range(len(columns["item_id"])) if all(columns[m][i] != "" for m in models)]
    coverage = gsm_run.analyses["import"]["coverage"]
    assert (coverage["items_seen"], coverage["items_kept"], coverage["items_dropped"]) == (1319, len(common), 1319 - len(common)) == (1319, 681, 638)
    assert coverage["lacking"] == [{"source": str(GSM), "model": "gemini-1.5-flash-exp-0827", "missing": 638}]
    dropped = [f for f in gsm_run.findings if f.topic == "common items"]
    assert len(dropped) == 1 and "638 of 1319 items dropped" in dropped[0].claim
    for model in models:
        expected = np.mean([columns[model][i] == "1" for i in common])
        assert gsm_run.analyses["models"][model]["pooled"]["estimate"] == pytest.approx(expected, abs=1e-12)
    pairs = [p for p in gsm_run.analyses["comparisons"] if p["available"]]
    assert len(pairs) == 44 * 43 // 2 and all(p["pooled"]["n_items"] == 681 for p in pairs)
    ranking = gsm_run.analyses["ranking"]
    assert set(ranking["models"]) == set(models)
    assert sum(m["p_first"] for m in ranking["models"].values()) == pytest.approx(1.0, abs=1e-9)


def test_zeroeval_accuracy_over_each_models_own_items_matches_zeroevals_summary() -> None:
    """Before the common-item restriction, each column's mean is ZeroEval's own accuracy (to its two decimals)."""
    columns = _gsm_columns()
    with open(DATA / "zeroeval" / "gsm_accuracy_check.csv", newline="", encoding="utf-8") as handle:
        published = {r["model_file"]: float(r["upstream_summary_acc"]) for r in csv.DictReader(handle)}
    from forkingpaths.interop.imported import FileArg
    from forkingpaths.interop.table import import_table

    imported = import_table([FileArg(GSM, {})], {})
    for model, accuracy in published.items():
        scores = [t.correct for t in imported.trials if t.model == model]
        assert len(scores) == (681 if model == "gemini-1.5-flash-exp-0827" else 1319)
        assert round(100 * sum(scores) / len(scores), 2) == accuracy


def test_cli_import_table_and_report(tmp_path: Path) -> None:
    table = tmp_path / "scores.csv"
    table.write_text("item,model,template,correct\n" + "".join(f"q{i},m{j},{t},{(i + j + (t == 'cot')) % 2}\n" for i in range(6) for j in (1, 2) for t in ("plain", "cot")))
    result = CliRunner().invoke(app, ["import", "table", "--map", "item=item_id", "--out", str(tmp_path / "runs"), "--name", "scores", str(table)])
    assert result.exit_code == 0, result.output
    run = forkingpaths.load_run(tmp_path / "runs" / "scores")
    assert run.manifest.design["factors"] == {"template": ["plain", "cot"]}
    assert "no model was called" in result.output and (run.directory / "report.html").is_file()


def test_per_file_factor_levels_from_the_command_line(tmp_path: Path) -> None:
    for name, shift in (("a", 0), ("b", 1)):
        (tmp_path / f"{name}.csv").write_text("item_id,model,correct\n" + "".join(f"q{i},m,{(i + shift) % 2}\n" for i in range(5)))
    args = ["import", "table", "--out", str(tmp_path / "runs"), "--factor", "template=plain", str(tmp_path / "a.csv"), "--factor", "template=cot", str(tmp_path / "b.csv")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    run = forkingpaths.load_run(tmp_path / "runs" / "import-table")
    assert run.trials.groupby("template")["correct"].mean().to_dict() == {"cot": 0.6, "plain": 0.4}
    assert run.analyses["models"]["m"]["multi_prompt"]["templates"] == {"plain": 0.4, "cot": 0.6}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("item_id,model,correct\nq1,m,1\nq2,m,maybe\n", "scores.csv row 3: column 'correct' must be a 0/1 correctness score"),
        ("item_id,model,score\nq1,m,1\n", "a long table needs item_id, model and correct columns; no 'correct'"),
        ("item_id,model,correct\nq1,m,1\nq1,m,0\n", "scores.csv row 3: model 'm', item 'q1', (single condition), repeat 0 appears twice"),
        ("model,correct\nm,1\n", "no item_id column"),
    ],
)
def test_bad_tables_fail_on_one_line_and_write_nothing(tmp_path: Path, content: str, message: str) -> None:
    table = tmp_path / "scores.csv"
    table.write_text(content)
    with pytest.raises(DataError, match="^" + str(table).replace(".", r"\.") + "|" + message) as error:
        forkingpaths.import_results("table", [table], out=tmp_path / "runs")
    assert message in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / "runs").exists()
    result = CliRunner().invoke(app, ["import", "table", "--out", str(tmp_path / "runs"), str(table)])
    assert result.exit_code == 2 and result.output.count("\n") == 1 and message in result.output
