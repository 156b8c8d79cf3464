"""forkingpaths export: every format, intervals as estimate [lower, upper], well-formed and escaped LaTeX."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import forkingpaths
from forkingpaths.cli import app
from forkingpaths.interop.export import TABLES, interval_text, latex_escape

SPECIAL = "R&D_50%#1"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two models whose names and factor levels carry LaTeX specials, 8 items, two templates."""
    tmp = tmp_path_factory.mktemp("export")
    rows = [
        {"item_id": f"q{i}", "model": model, "template": template, "correct": int((i * (2 + j) + (template == "cot")) % 3 != 0)}
        for i in range(8)
        for j, model in enumerate((f"model {SPECIAL}", "base_model~v2"))
        for template in ("plain", "cot_{x}")
    ]
    path = tmp / "scores.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return forkingpaths.import_results("table", [path], out=tmp / "runs", name="export", n_resamples=50).directory


def test_interval_text() -> None:
    assert interval_text(0.5123, 0.40149, 0.6221) == "0.512 [0.401, 0.622]"
    assert interval_text(0.5, None, None) == "0.500 [n/a]" and interval_text(None, None, None) == "n/a"


@pytest.mark.parametrize("fmt", ["csv", "latex", "markdown", "json"])
def test_every_format_writes_every_table(run_dir: Path, fmt: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["export", str(run_dir), "--format", fmt, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    suffix = {"csv": "csv", "latex": "tex", "markdown": "md", "json": "json"}[fmt]
    written = sorted(p.name for p in tmp_path.iterdir())
    tables = [name for name in written if not name.endswith(".svg")]
    figures = [name for name in written if name.endswith(".svg")]
    assert tables == sorted(f"{name}.{suffix}" for name in TABLES)
    assert figures and all(re.fullmatch(r"figure-\d+\.svg", name) for name in figures)  # the report's charts
    accuracy = (tmp_path / f"accuracy.{suffix}").read_text()
    run = forkingpaths.load_run(run_dir)
    pooled = run.analyses["models"]["base_model~v2"]["pooled"]
    assert interval_text(pooled["estimate"], pooled["lower"], pooled["upper"]) in accuracy
    if fmt == "json":
        document = json.loads(accuracy)
        assert "95% korn-graubard(item)" in document["footnote"] and document["rows"][1]["accuracy_lower"] == pooled["lower"]
    if fmt == "markdown":
        assert "_Intervals: 95% korn-graubard(item)._" in accuracy  # the method footnote
    if fmt == "latex":
        assert "\\footnotesize Intervals: 95\\% korn-graubard(item)." in accuracy


def _unescaped(text: str, char: str) -> list[int]:
    return [m.start() for m in re.finditer(re.escape(char), text) if text[m.start() - 1] != "\\"]


def test_latex_is_well_formed_and_escapes_specials(run_dir: Path, tmp_path: Path) -> None:
    forkingpaths.interop.export.export_run(run_dir, "latex", None, tmp_path)
    for path in tmp_path.glob("*.tex"):
        text = path.read_text()
        begins = re.findall(r"\\begin\{(\w+)\}", text)
        ends = re.findall(r"\\end\{(\w+)\}", text)
        stack: list[str] = []
        for kind, name in re.findall(r"\\(begin|end)\{(\w+)\}", text):
            if kind == "begin":
                stack.append(name)
            else:
                assert stack and stack.pop() == name, path.name
        assert not stack and sorted(begins) == sorted(ends) and "table" in begins and "tabular" in begins
        assert text.count("{") - text.count(r"\{") == text.count("}") - text.count(r"\}"), path.name
        for char in "%&#_$":
            rows = text.split("\\begin{tabular}")[1].split("\\end{tabular}")[0]
            cells = rows if char != "&" else rows.replace(" & ", " ")  # & between cells is the column separator
            assert not _unescaped(cells, char), (path.name, char)
    accuracy = (tmp_path / "accuracy.tex").read_text()
    assert latex_escape(f"model {SPECIAL}") == r"model R\&D\_50\%\#1" and r"model R\&D\_50\%\#1" in accuracy
    assert r"base\_model\textasciitilde v2" in accuracy  # pandas escapes ~ as \textasciitilde followed by a space
    assert r"cot\_\{x\}" in (tmp_path / "conditions.tex").read_text()


def test_export_rejects_unknown_table_and_format(run_dir: Path) -> None:
    result = CliRunner().invoke(app, ["export", str(run_dir), "--what", "nonsense"])
    assert result.exit_code == 2 and "--what 'nonsense': expected one of findings" in result.output
    result = CliRunner().invoke(app, ["export", str(run_dir), "--format", "docx"])
    assert result.exit_code == 2 and "--format 'docx'" in result.output


def test_report_figures_become_standalone_svg(tmp_path: Path) -> None:
    """A chart drawn by the report's own SVG helper comes out as a standalone SVG document that XML parsers accept."""
    from xml.etree import ElementTree

    from forkingpaths.interop.export import figures
    from forkingpaths.report.svg import figure, text

    chart = figure(text(10, 20, "R&D <50%>"), 200, 100, "a chart")
    (tmp_path / "report.html").write_text(f"<html><body><p>before</p>{chart}<svg class='icon'></svg></body></html>")
    (svg,) = figures(tmp_path)
    root = ElementTree.fromstring(svg.split("\n", 1)[1])
    assert root.tag == "{http://www.w3.org/2000/svg}svg" and "R&D <50%>" in "".join(root.itertext())
