"""Run directories for the report tests: one small real run, one whose data and answers are attacks.

Both are real runs on the embedded model (kept small: a few items and
conditions), made once per session; the report tests only read them.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

import forkingpaths
from forkingpaths import RunOptions, parse_spec
from forkingpaths.report.html import write_report
from forkingpaths.results import file_sha256

#: Each sets a marker the browser test looks for if it ever runs.
SCRIPT = "<script>document.title='PWNED';window.__fpPwned=1</script>"
IMAGE = "<img src=x onerror=\"document.title='PWNED';window.__fpPwned=1\">"
CLOSE = "</script><script>window.__fpPwned=1</script>"
ATTACKS = (SCRIPT, IMAGE, CLOSE)


def _small_spec(out: Path) -> dict:
    return {
        "name": "report-small",
        "instrument": {
            "name": "survey",
            "params": {"persona_groups": ["US", "DK"], "holdout": {"by": "random", "fraction": 0.5}},
        },
        "data": {"loader": "builtin", "params": {"name": "values"}, "limit": 4},
        "models": ["llamacpp"],
        "factors": {
            "option_order": ["original", "reversed"],
            "label_style": ["letters", "numbers"],
            "persona": ["none", "average"],
        },
        "seed": 7,
        "output_dir": str(out),
        "analysis": {"n_resamples": 200},
        "validity": {
            "phenomenon": "Which countries' stated values the model's answers resemble.",
            "contamination": "The questions are public; the wording here is the project's own.",
            "reviewer": "Checked by the report tests.",
        },
    }


def _attack_data(path: Path) -> Path:
    """A tidy-long CSV whose question, options, group, topic and an item id carry the attacks."""
    groups = {"G1": (0.7, 0.3), "G2": (0.2, 0.8), IMAGE: (0.5, 0.5)}
    items = [
        ("q1", f"Is this question safe? {SCRIPT}", (f"Yes {IMAGE}", f"No {CLOSE}"), SCRIPT),
        ("q2", f"Another question {CLOSE}", (f"Agree {SCRIPT}", "Disagree"), "plain"),
        (f"q3{CLOSE}", f"A third question {IMAGE}", ("Often", f"Never {IMAGE}"), "plain"),
    ]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["item_id", "question", "option", "probability", "group", "topic"])
        for item_id, question, options, topic in items:
            for group, shares in groups.items():
                for option, share in zip(options, shares):
                    writer.writerow([item_id, question, option, share, group, topic])
    return path


def _attack_spec(out: Path, data: Path) -> dict:
    return {
        "name": "report-attack",
        "instrument": {"name": "survey", "params": {"group_names": {"G1": f"Group one {SCRIPT}"}}},
        "data": {"loader": "tidy-long", "path": str(data)},
        "models": ["llamacpp"],
        "factors": {"option_order": ["original", "reversed"], "label_style": ["text"]},
        "seed": 11,
        "output_dir": str(out),
        "analysis": {"n_resamples": 100},
        "validity": {"phenomenon": f"Nothing {CLOSE}", "justification": IMAGE, SCRIPT: "an attack as a key"},
    }


@pytest.fixture(scope="session")
def report_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("report-cache")


@pytest.fixture(scope="session")
def small_run(tmp_path_factory: pytest.TempPathFactory, report_cache: Path) -> Path:
    """A finished run directory (4 items, 4 format conditions, 2 persona targets)."""
    out = tmp_path_factory.mktemp("report-runs")
    directory = forkingpaths.run(parse_spec(_small_spec(out)), RunOptions(cache_dir=report_cache)).directory
    write_report(directory)
    return directory


@pytest.fixture(scope="session")
def attack_run(tmp_path_factory: pytest.TempPathFactory, report_cache: Path) -> Path:
    """A finished run whose item texts, group names, validity notes and model answers hold attack strings."""
    base = tmp_path_factory.mktemp("report-attack")
    spec = parse_spec(_attack_spec(base / "runs", _attack_data(base / "attack.csv")))
    directory = forkingpaths.run(spec, RunOptions(cache_dir=report_cache)).directory
    write_report(directory)
    return directory


@pytest.fixture(scope="session")
def augmented_run(tmp_path_factory: pytest.TempPathFactory, small_run: Path) -> Path:
    """A copy of the small run whose results also hold what a two-model run produces: a paired
    model comparison. The manifest's hash of results.json is updated, as a real run would write it."""
    copy = tmp_path_factory.mktemp("report-augmented") / small_run.name
    shutil.copytree(small_run, copy)
    results = json.loads((copy / "results.json").read_text(encoding="utf-8"))
    results["analyses"]["comparisons"] = [COMPARISON]
    (copy / "results.json").write_text(json.dumps(results), encoding="utf-8")
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"]["results.json"] = file_sha256(copy / "results.json")
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    write_report(copy)
    return copy


COMPARISON = {
    "a": "llamacpp",
    "b": "openai:other",
    "available": True,
    "contrast": "similarity(llamacpp) − similarity(openai:other)",
    "by_group": [
        {
            "group": "US",
            "estimate": 0.04,
            "lower": 0.01,
            "upper": 0.07,
            "p_value": 0.002,
            "p_holm": 0.004,
            "significant": True,
        },
        {
            "group": "DK",
            "estimate": -0.01,
            "lower": -0.03,
            "upper": 0.02,
            "p_value": 0.4,
            "p_holm": 0.4,
            "significant": False,
        },
    ],
    "closer_a": 1,
    "closer_b": 0,
    "method": "cluster-bootstrap(item) interval; sign-flip permutation test on per-item differences; Holm across groups",
}
