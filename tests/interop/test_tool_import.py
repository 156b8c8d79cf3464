"""lm-eval and Inspect AI logs written by the real tools (tests/data/interop, see its README) import as MCQ runs."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

import forkingpaths
from forkingpaths.cli import app
from forkingpaths.errors import DataError

DATA = Path(__file__).resolve().parents[1] / "data" / "interop"
LM_EVAL = DATA / "lm-eval"  # lm-eval's local-completions against llama.cpp servers on loopback
INSPECT = DATA / "inspect"  # Inspect's openai-api provider against the same servers
MOCKLLM = DATA / "inspect-mockllm"  # Inspect's mockllm answering scripted letters in Inspect's answer format


def _lm_eval_models() -> list[str]:
    """The models of the committed lm-eval logs, in the order the importer meets them (sorted file paths)."""
    return list(dict.fromkeys(json.loads(p.read_text())["model_name"] for p in sorted(LM_EVAL.rglob("results_*.json"))))


def _lm_eval_results() -> dict[tuple[str, str], dict[str, float]]:
    """(model, task) → lm-eval's own reported numbers, read straight from its results files."""
    out = {}
    for path in LM_EVAL.rglob("results_*.json"):
        results = json.loads(path.read_text())
        for task, numbers in results["results"].items():
            out[(results["model_name"], task)] = numbers
    return out


@pytest.fixture(scope="module")
def lm_eval_run(tmp_path_factory: pytest.TempPathFactory) -> forkingpaths.Run:
    """Both models, the two prompt variants (tasks) named as levels of one factor on the command line."""
    tmp = tmp_path_factory.mktemp("lmeval")
    args = ["import", "lm-eval", "--out", str(tmp), "--name", "lmeval"]
    for template in ("plain", "listed"):
        args += ["--factor", f"template={template}", *map(str, sorted(LM_EVAL.rglob(f"samples_fp_mcq_{template}_*.jsonl")))]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return forkingpaths.load_run(tmp / "lmeval")


def test_lm_eval_accuracy_equals_the_tools_reported_aggregate(lm_eval_run: forkingpaths.Run) -> None:
    reported = _lm_eval_results()
    trials = lm_eval_run.trials
    task = {"plain": "fp_mcq_plain", "listed": "fp_mcq_listed"}
    for (model, template), part in trials.groupby(["model", "template"]):
        numbers = reported[(model, task[template])]
        assert part["correct"].astype(float).mean() == numbers["acc,none"]
        assert part["correct_norm"].astype(float).mean() == numbers["acc_norm,none"]
    agreement = lm_eval_run.analyses["import"]["agreement"]
    assert len(agreement) == 8 and all(a["agrees"] and a["recomputed"] == a["reported"] for a in agreement)


def test_lm_eval_run_has_the_factor_a_comparison_a_ranking_and_a_report(lm_eval_run: forkingpaths.Run) -> None:
    assert lm_eval_run.manifest.design["factors"] == {"template": ["plain", "listed"]}
    models = list(lm_eval_run.analyses["models"])
    assert sorted(models) == sorted(_lm_eval_models()) and len(models) == 2
    (pair,) = lm_eval_run.analyses["comparisons"]
    assert pair["available"] and len(pair["conditions"]) == 2 and pair["pooled"]["n_items"] == 8
    assert lm_eval_run.analyses["ranking"]["n_conditions"] == 2
    assert set(lm_eval_run.analyses["models"][models[0]]["multi_prompt"]["templates"]) == {"plain", "listed"}
    assert (lm_eval_run.directory / "report.html").is_file()
    trial = lm_eval_run.trials.iloc[0]
    assert len(trial["probs"]) == trial["n_options"] == 4 and abs(sum(trial["probs"]) - 1) < 1e-12
    assert trial["chosen"] == max(range(4), key=lambda i: trial["probs"][i])  # lm-eval's acc: the argmax log-likelihood
    assert lm_eval_run.analyses["models"][models[0]]["calibration"] is not None
    assert lm_eval_run.analyses["models"][models[0]]["position_bias"] is None  # lm-eval does not record the displayed order


def test_lm_eval_folder_without_factors_uses_the_task_names(tmp_path: Path) -> None:
    run = forkingpaths.import_results("lm-eval", [LM_EVAL], out=tmp_path, n_resamples=50, report=False)
    assert run.manifest.design["factors"] == {"task": ["fp_mcq_listed", "fp_mcq_plain"]}
    assert run.manifest.imported is not None and len(run.manifest.imported["sources"]) == 4


@pytest.mark.parametrize("fmt", ["eval", "json"])
def test_inspect_logs_import_with_epochs_as_repeats(fmt: str, tmp_path: Path) -> None:
    run = forkingpaths.import_results("inspect", [MOCKLLM / fmt], out=tmp_path, n_resamples=50)
    assert run.manifest.design["factors"] == {"variant": ["default", "terse"]} and run.manifest.design["repeats"] == 2
    assert set(run.trials["repeat"]) == {0, 1} and len(run.trials) == 2 * 2 * 8 * 2
    for entry in run.analyses["import"]["agreement"]:
        assert entry["agrees"] and abs(entry["recomputed"] - entry["reported"]) <= 1e-12
        header = _inspect_header(Path(entry["source"]))
        assert entry["reported"] == header["results"]["scores"][0]["metrics"]["accuracy"]["value"]
    assert len(run.analyses["import"]["agreement"]) == 4
    assert run.analyses["comparisons"][0]["available"] and run.analyses["ranking"]["n_conditions"] == 2
    (first, *_) = run.analyses["models"]
    assert run.analyses["models"][first]["position_bias"] is not None  # Inspect shows choices in order, A, B, …


@pytest.mark.parametrize("logs", [INSPECT, MOCKLLM], ids=["llama-cpp-server", "mockllm"])
def test_eval_and_json_logs_give_the_same_trials(logs: Path, tmp_path: Path) -> None:
    runs = [forkingpaths.import_results("inspect", [logs / fmt], out=tmp_path, name=fmt, n_resamples=50, report=False) for fmt in ("eval", "json")]
    keys = ["model", "item_id", "variant", "repeat", "correct", "chosen", "parsed"]
    frames = [r.trials[keys].sort_values(keys[:4]).reset_index(drop=True) for r in runs]
    assert frames[0].equals(frames[1])


def test_real_model_answers_outside_inspects_format_are_unparsed_and_wrong(tmp_path: Path) -> None:
    """SmolLM2-135M answers "A) blue" or a sentence, never Inspect's "ANSWER: X": every sample is
    scored I (invalid_response_format); the import keeps them as unparsed wrong answers and says so."""
    run = forkingpaths.import_results("inspect", [INSPECT / "json"], out=tmp_path, n_resamples=50, report=False)
    assert len(run.trials) == 2 * 2 * 8 * 2 and run.manifest.design["repeats"] == 2
    assert run.trials["parsed"].eq(False).all() and not run.trials["correct"].any() and run.trials["chosen"].isna().all()
    assert all(a["agrees"] and a["reported"] == 0 for a in run.analyses["import"]["agreement"])
    formats = [f for f in run.findings if f.topic == "answer format"]
    assert len(formats) == 2 and {f.verdict for f in formats} == {"format failures"} and "32 of 32" in formats[0].claim
    assert [f.verdict for f in run.findings if f.topic == "ranking"] == ["all tied"]  # both at 0: no model ranks first


def _inspect_header(path: Path) -> dict:
    if path.suffix == ".json":
        return json.loads(path.read_text())
    from forkingpaths.interop.inspect_log import _members

    return _members(path)[0]


def test_inspect_errored_samples_are_error_rows(tmp_path: Path) -> None:
    """A real log whose every sample failed (Inspect tried to download a tiktoken encoding offline)."""
    run = forkingpaths.import_results("inspect", [DATA / "failures" / "errored-samples.eval"], out=tmp_path, n_resamples=50)
    assert run.trials["error"].str.startswith("inspect: ConnectionError").all() and run.trials["correct"].isna().all()
    assert run.manifest.counts.failed_trials == len(run.trials) == 16
    assert [f.verdict for f in run.findings if f.topic == "accuracy"] == ["no scored answers"]


def _fails(tmp_path: Path, tool: str, path: Path, message: str, *extra: str) -> None:
    out = tmp_path / "runs"
    result = CliRunner().invoke(app, ["import", tool, "--out", str(out), *extra, str(path)])
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and message in result.output, result.output
    assert not out.exists()


def test_truncated_and_malformed_logs(tmp_path: Path) -> None:
    samples = sorted(LM_EVAL.rglob("samples_fp_mcq_plain_*.jsonl"))[0]
    copy = tmp_path / samples.parent.name
    shutil.copytree(samples.parent, copy)
    broken = copy / samples.name
    lines = broken.read_text().splitlines()
    broken.write_text("\n".join(lines[:3] + [lines[3][: len(lines[3]) // 2]]) + "\n")
    _fails(tmp_path, "lm-eval", broken, f"{broken} line 4: truncated or malformed JSON")
    eval_log = sorted((INSPECT / "eval").glob("*.eval"))[0]
    cut = tmp_path / "cut.eval"
    cut.write_bytes(eval_log.read_bytes()[: eval_log.stat().st_size // 2])
    _fails(tmp_path, "inspect", cut, f"{cut}: not a readable .eval archive")
    json_log = sorted((MOCKLLM / "json").glob("*.json"))[0]
    cut_json = tmp_path / "cut.json"
    text = json_log.read_text()
    cut_json.write_text(text[: len(text) // 2])
    _fails(tmp_path, "inspect", cut_json, f"{cut_json} line ")
    assert zipfile.is_zipfile(eval_log)


def test_samples_file_without_its_results_file(tmp_path: Path) -> None:
    samples = sorted(LM_EVAL.rglob("samples_fp_mcq_plain_*.jsonl"))[0]
    alone = tmp_path / samples.name
    shutil.copy(samples, alone)
    _fails(tmp_path, "lm-eval", alone, f"{alone}: its results file results_")


def test_unknown_score_field(tmp_path: Path) -> None:
    samples = sorted(LM_EVAL.rglob("samples_fp_mcq_plain_*.jsonl"))[0]
    _fails(tmp_path, "lm-eval", samples, f"{samples} line 1: unknown score field 'f1'; this sample has acc, acc_norm", "--map", "f1=correct")
    log = sorted((MOCKLLM / "json").glob("*.json"))[0]
    _fails(tmp_path, "inspect", log, "samples[0]: unknown score field 'match'; this sample has choice", "--map", "match=correct")
    with pytest.raises(DataError, match="score 'acc' is 0.5"):
        from forkingpaths.interop.lmeval import _binary

        _binary(0.5, "acc", "x line 1")


def test_the_lm_eval_fixtures_keep_what_llama_cpp_python_does_to_echoed_logprobs() -> None:
    """What tests/data/interop/README.md says of these logs: llama-cpp-python 0.3.36's server, given a
    prompt without a BOS token, returns one log-probability per prompt token and none for the generated
    token, and lm-eval drops the last entry as the generated one; so every option loses its last token
    and a one-token option scores exactly 0 (documented, not corrected: the importer reads what lm-eval wrote)."""
    samples = sorted(LM_EVAL.rglob("samples_fp_mcq_plain_*.jsonl"))[0]
    rows = [json.loads(line) for line in samples.read_text().splitlines()]
    mars = next(r for r in rows if r["doc"]["id"] == "mars")
    assert [float(loglik) for loglik, _ in mars["filtered_resps"]] == [0.0] * 4
