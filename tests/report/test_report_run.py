"""The report of real runs on the embedded model: written by run(), re-rendered from the directory, traceable, offline."""

from __future__ import annotations

import html
import json
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

import forkingpaths
from forkingpaths import RunOptions, parse_spec
from forkingpaths.cli import app
from forkingpaths.report.html import write_report
from forkingpaths.report.source import resolve

from .conftest import ATTACKS

pytestmark = pytest.mark.model

SECTIONS = ("overview", "findings", "specification-curve", "groups", "variance", "steering", "items", "validity")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?%?")
SPAN = re.compile(r'<span class="num" data-path="([^"]*)" title="[^"]*">([^<]*)</span>')
MARK = re.compile(r'<g class="mark" data-path="([^"]*)"><title>([^<]*)</title>')


@pytest.fixture(params=["small_run", "augmented_run"])
def rendered_run(request: pytest.FixtureRequest) -> Path:
    """A real run, and a copy whose results also hold the optional comparison entry."""
    return request.getfixturevalue(request.param)


def _results(run: Path) -> dict[str, Any]:
    """The run document the page points into: the manifest beside results.json."""
    return forkingpaths.load_run(run).document()


def _page(run: Path) -> str:
    return (run / "report.html").read_text(encoding="utf-8")


def _numbers(value: Any) -> list[float]:
    """Every number inside a JSON value, with the length of every list."""
    if isinstance(value, bool):
        return [float(value)]
    if isinstance(value, (int, float)):
        return [float(value)]
    if isinstance(value, dict):
        return [n for inner in value.values() for n in _numbers(inner)]
    if isinstance(value, list):
        return [float(len(value))] + [n for inner in value for n in _numbers(inner)]
    return []


def _matches(token: str, candidates: list[float]) -> bool:
    """Does a displayed number equal one of the candidates at the precision it is displayed with?"""
    percent = token.endswith("%")
    body = token.rstrip("%")
    shown = float(body)
    if "e" in body:
        return any(math.isclose(shown, c, rel_tol=1e-3) for c in candidates)
    decimals = len(body.split(".")[1]) if "." in body else 0
    tolerance = 0.5 * 10**-decimals + 1e-9
    return any(abs((100 * c if percent else c) - shown) <= tolerance for c in candidates)


def _section(page: str, name: str) -> str:
    start = page.index(f'<section id="{name}">')
    return page[start : page.index("</section>", start)]


def assert_traced(page: str, document: dict[str, Any], sections: tuple[str, ...], min_spans: int = 30) -> None:
    """Every traced number equals its run-document value as shown, and no table cell of ``sections``
    holds a bare number outside a traced span (an instrument's report tests call this)."""
    spans = SPAN.findall(page)
    assert len(spans) > min_spans
    for path, shown in spans:
        value = resolve(document, html.unescape(path))
        value = len(value) if isinstance(value, (list, dict)) else value
        assert shown == "n/a" if value is None else _matches(shown, [float(value)]), (path, shown, value)
    for name in sections:
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", _section(page, name), flags=re.S):
            bare = re.sub(r"<span class=\"num\"[^>]*>[^<]*</span>", "", cell)
            assert not re.fullmatch(r"\s*-?\d+(\.\d+)?%?\s*", re.sub(r"<[^>]+>", "", bare)), cell


def test_run_writes_report_items_and_validity_card(small_run: Path) -> None:
    assert {"report.html", "validity.md", "items.json", "results.json"} <= {p.name for p in small_run.iterdir()}
    items = json.loads((small_run / "items.json").read_text(encoding="utf-8"))
    assert len(items) == 4 and {"item_id", "question", "options", "distributions"} <= set(items[0])
    page = _page(small_run)
    for section in SECTIONS:
        assert f'<section id="{section}">' in page
    assert (
        len(re.findall(r"<svg[^>]*class=\"plot\"", page)) == 7
    )  # curve, forest, heatmap, variance, spread, steering, transfer
    card = (small_run / "validity.md").read_text(encoding="utf-8")
    assert card.count("\n## ") == 9 and "Other notes from the spec" in card


def test_every_traced_number_matches_results_json(rendered_run: Path) -> None:
    results, page = _results(rendered_run), _page(rendered_run)
    spans = SPAN.findall(page)
    assert len(spans) > 40
    for path, shown in spans:
        value = resolve(results, html.unescape(path))
        if isinstance(value, (list, dict)):
            value = len(value)
        if value is None:
            assert shown == "n/a", path
        else:
            assert _matches(shown, [float(value)]), (path, shown, value)


def test_every_number_a_chart_mark_shows_is_in_the_record_it_draws(rendered_run: Path) -> None:
    results, page = _results(rendered_run), _page(rendered_run)
    marks = MARK.findall(page)
    assert len(marks) > 50
    for path, body in marks:
        path = html.unescape(path)
        record = resolve(results, path)
        keys = [float(k) for k in path.split("/")[1:] if re.fullmatch(r"-?\d+(\.\d+)?", k)]
        candidates = _numbers(record) + keys
        shown = html.unescape(re.sub(r"<[^>]+>", " ", body))  # tooltip and visible labels
        for token in NUMBER.findall(shown):
            assert _matches(token, candidates), (path, token, shown)


def test_findings_and_card_numbers_come_from_results(small_run: Path) -> None:
    results, page = _results(small_run), _page(small_run)
    texts = re.findall(r'<p class="finding-text" data-path="(/findings/\d+/claim)">([^<]*)</p>', page)
    assert len(texts) == len(results["findings"]) > 0
    for path, shown in texts:
        assert html.unescape(shown) == resolve(results, path)
    everything = _numbers(results)
    items = json.loads((small_run / "items.json").read_text(encoding="utf-8"))
    quoted = {str(item["source"]) for item in items if item.get("source")}  # data-set names, shown verbatim
    facts = re.findall(r"<li>([^<]*)</li>", _section(page, "validity"))
    assert facts
    for fact in facts:
        fact = html.unescape(fact)
        for name in quoted:
            fact = fact.replace(name, "")
        for token in NUMBER.findall(fact):
            assert _matches(token, everything), (token, fact)


def test_result_tables_show_no_untraced_numbers(rendered_run: Path) -> None:
    page = _page(rendered_run)
    for name in SECTIONS:
        if name == "items":  # the drill-down shows trials.parquet, not results.json
            continue
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", _section(page, name), flags=re.S):
            bare = re.sub(r"<span class=\"num\"[^>]*>[^<]*</span>", "", cell)
            assert not re.fullmatch(r"\s*-?\d+(\.\d+)?%?\s*", re.sub(r"<[^>]+>", "", bare)), cell


def test_page_references_nothing_outside_itself(rendered_run: Path) -> None:
    page = _page(rendered_run)
    references = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]+)|url\(\s*["']?([^"')]+)""", page, flags=re.I)
    targets = [a or b for a, b in references]
    assert all(t.startswith("#") for t in targets), targets
    assert not re.search(r"https?://", page)
    assert "default-src 'none'" in html.unescape(page)


def test_rerendering_needs_only_the_run_directory(small_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _page(small_run)
    import forkingpaths.models.registry as registry

    monkeypatch.setattr(registry, "backend_factory", lambda *a, **k: pytest.fail("re-rendering looked up a model backend"))
    (small_run / "report.html").unlink()
    result = CliRunner().invoke(app, ["report", str(small_run)])
    assert result.exit_code == 0, result.output
    assert f"report: {small_run / 'report.html'}" in result.output
    assert "Headline findings" in result.output and "construct validity:" in result.output
    assert _page(small_run) == before


def test_a_run_too_small_for_the_analyses_still_gets_every_section(tmp_path: Path, report_cache: Path) -> None:
    spec = {
        "name": "tiny",
        "instrument": "survey",
        "data": {"loader": "builtin", "params": {"name": "values"}, "limit": 1},
        "factors": {"option_order": ["original", "reversed"]},
        "output_dir": str(tmp_path),
        "analysis": {"n_resamples": 50},
    }
    run = forkingpaths.run(parse_spec(spec), RunOptions(cache_dir=report_cache)).directory
    page = _page(write_report(run).parent)
    for section in SECTIONS:
        assert f'<section id="{section}">' in page
    assert "no specification curve (needs at least 2 scored items" in page
    assert "No variance decomposition in the results" in page
    assert len(re.findall(r"<svg[^>]*class=\"plot\"", page)) == 1  # only the spread chart has data


def test_report_command_on_a_non_run_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1 and "not a finished run (no manifest.json)" in result.output


def test_attack_strings_are_escaped_everywhere(attack_run: Path) -> None:
    responses = " ".join(pd.read_parquet(attack_run / "trials.parquet")["response_text"].dropna())
    assert any(attack in responses for attack in ATTACKS)  # the model's own answers carry attacks
    assert any(attack in _results(attack_run)["analyses"]["design"]["groups"] for attack in ATTACKS)  # and so do group names
    page = _page(attack_run)
    for attack in ATTACKS:
        assert attack not in page
    assert len(re.findall(r"<script", page, flags=re.I)) == 2  # the embedded results and the report's own script
    assert not re.search(r"<img", page, flags=re.I)
    assert "&lt;script&gt;document.title=" in page and "&lt;img src=x onerror=" in page
    embedded = re.search(r'<script type="application/json" id="forkingpaths-results">(.*?)</script>', page, flags=re.S)
    assert embedded is not None and json.loads(embedded.group(1)) == _results(attack_run)
    card = (attack_run / "validity.md").read_text(encoding="utf-8")
    assert not re.search(r"<(script|img|/script)", card)


def test_write_report_is_deterministic(attack_run: Path) -> None:
    first = _page(attack_run)
    write_report(attack_run)
    assert _page(attack_run) == first
