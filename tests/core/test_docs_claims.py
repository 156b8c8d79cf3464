"""Claims the docs make about the code, checked against the code (issue 9, item 19)."""

from __future__ import annotations

import inspect
from pathlib import Path

import forkingpaths.stats as stats
from forkingpaths.instruments.survey.presentation import SECTIONS

ROOT = Path(__file__).resolve().parents[2]


def _read(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def test_bootstrap_default_method_is_the_one_the_docs_name() -> None:
    assert inspect.signature(stats.bootstrap_ci).parameters["method"].default == "percentile"
    assert "`bootstrap_ci` (percentile by default" in _read("docs/statistics.md")


def test_stats_exports_what_statistics_md_says() -> None:
    assert "forkingpaths.stats.__all__" in _read("docs/statistics.md")
    for name in ("mean_ci", "holm", "sign_flip_test", "tost", "bootstrap_ci", "cluster_t_ci"):
        assert name in stats.__all__ and callable(getattr(stats, name))
    assert "pvalue" in stats.sign_flip_test([0.1, 0.2, -0.1, 0.3], 100, 0)


def test_readme_python_section_shows_load_run_and_results() -> None:
    readme = _read("README.md")
    assert "forkingpaths.load_run(" in readme and "run.results" in readme


def test_report_nav_and_docs_use_the_section_titles() -> None:
    titles = [title for _, title, _ in SECTIONS]
    assert "Steerability and extrapolability" in titles
    for name in ("docs/report.md", "docs/survey.md", "README.md"):
        assert "Steering & transfer" not in _read(name)
    report = _read("docs/report.md")
    assert "MCQ" not in report and "CAR panel" not in report
