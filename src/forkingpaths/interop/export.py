"""A finished run's findings and analysis tables in the forms papers use: CSV, LaTeX, Markdown, JSON.

Every table is read from the run document (``results.json``); nothing is recomputed.
Intervals are written as a paper writes them, ``estimate [lower, upper]``, and each
table's footnote names the level and method of its intervals. CSV and JSON keep the
numbers too (``…_estimate``, ``…_lower``, ``…_upper``) so nothing is lost to rounding.
LaTeX goes through pandas' ``Styler.to_latex`` with ``escape="latex"``, so item text,
model names and factor levels with ``%``, ``&``, ``_``, ``#``, ``$``, ``{``, ``}``, ``~``,
``^`` or ``\\`` come out escaped; the tables use booktabs rules (``\\usepackage{booktabs}``).

The report's figures (the inline ``<svg class="plot">`` charts) are written as
standalone SVG files beside the tables.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from forkingpaths.errors import UserError
from forkingpaths.results import Run, load_run
from forkingpaths.store import write_text

FORMATS = ("csv", "latex", "markdown", "json")
SUFFIX = {"csv": "csv", "latex": "tex", "markdown": "md", "json": "json"}
#: Decimal places of estimates and bounds in formatted intervals.
DIGITS = 3


@dataclass(frozen=True)
class ExportTable:
    """One table: its name, a caption, the rows, and the footnote naming its interval methods."""

    name: str
    caption: str
    frame: pd.DataFrame
    footnote: str


def interval_text(estimate: float | None, lower: float | None, upper: float | None) -> str:
    """``0.512 [0.401, 0.622]``; a missing bound gives ``0.512 [n/a]``, a missing estimate ``n/a``."""
    if estimate is None:
        return "n/a"
    if lower is None or upper is None:
        return f"{estimate:.{DIGITS}f} [n/a]"
    return f"{estimate:.{DIGITS}f} [{lower:.{DIGITS}f}, {upper:.{DIGITS}f}]"


class _Builder:
    """Rows with interval columns, remembering each interval's level and method for the footnote."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.methods: dict[str, None] = {}

    def interval(self, row: dict[str, Any], column: str, entry: dict[str, Any] | None) -> None:
        entry = entry or {}
        row[column] = interval_text(entry.get("estimate"), entry.get("lower"), entry.get("upper"))
        for part in ("estimate", "lower", "upper"):
            row[f"{column}_{part}"] = entry.get(part)
        if entry.get("method") and entry.get("estimate") is not None:
            level = entry.get("level")
            self.methods[f"{level:.0%} {entry['method']}" if isinstance(level, (int, float)) else str(entry["method"])] = None

    def table(self, name: str, caption: str, extra: str = "") -> ExportTable:
        note = ("Intervals: " + "; ".join(self.methods) + ".") if self.methods else ""
        return ExportTable(name, caption, pd.DataFrame(self.rows), " ".join(p for p in (note, extra) if p))


def findings_table(run: Run) -> ExportTable:
    build = _Builder()
    for finding in run.findings:
        row = {"subject": finding.subject, "topic": finding.topic, "claim": finding.claim, "verdict": finding.verdict}
        build.interval(row, "estimate", finding.estimate.model_dump() if finding.estimate else None)
        row["rule"] = finding.rule
        build.rows.append(row)
    return build.table("findings", f"Findings of {run.manifest.name}", "Each verdict follows the rule in its row.")


def accuracy_table(run: Run) -> ExportTable:
    build = _Builder()
    for model, entry in (run.analyses.get("models") or {}).items():
        pooled = entry.get("pooled") or {}
        row: dict[str, Any] = {"model": model}
        build.interval(row, "accuracy", pooled)
        row.update(items=pooled.get("n_items"), trials=entry.get("n_scored"), chance=entry.get("chance"))
        build.rows.append(row)
    return build.table("accuracy", f"Accuracy pooled over conditions ({run.manifest.name})")


def conditions_table(run: Run) -> ExportTable:
    build = _Builder()
    for model, entry in (run.analyses.get("models") or {}).items():
        for condition in entry.get("conditions") or []:
            row: dict[str, Any] = {"model": model, "condition": condition.get("label")}
            build.interval(row, "accuracy", condition)
            row["items"] = condition.get("n_items")
            build.rows.append(row)
    return build.table("conditions", f"Accuracy per condition ({run.manifest.name})")


def comparisons_table(run: Run) -> ExportTable:
    build = _Builder()
    for pair in run.analyses.get("comparisons") or []:
        if not pair.get("available"):
            continue
        pooled = pair["pooled"]
        row: dict[str, Any] = {"a": pair["a"], "b": pair["b"]}
        build.interval(row, "difference", pooled)
        row.update(items=pooled.get("n_items"), p=pooled.get("pvalue"), p_holm=pooled.get("p_holm"), verdict=pair.get("verdict"))
        build.rows.append(row)
    return build.table(
        "comparisons", f"Paired model comparisons, a minus b ({run.manifest.name})", "p: two-sided t test of the pooled paired difference; p_holm: Holm-adjusted across pairs."
    )


def ranking_table(run: Run) -> ExportTable:
    ranking = run.analyses.get("ranking") or {}
    build = _Builder()
    for model, entry in (ranking.get("models") or {}).items():
        build.rows.append({"model": model, **{k: entry.get(k) for k in ("p_first", "first_in", "best_rank", "worst_rank", "rank_change")}})
    w = ranking.get("kendall_w")
    note = f"{ranking.get('n_conditions', 0)} conditions; Kendall's W {'n/a' if w is None else format(w, '.3f')}. p_first: probability of ranking first over conditions and item resamples."
    return build.table("ranking", f"Ranking stability across conditions ({run.manifest.name})", note)


def consistency_table(run: Run) -> ExportTable:
    build = _Builder()
    for model, entry in (run.analyses.get("models") or {}).items():
        for cat in entry.get("cat") or []:
            build.rows.append(
                {
                    "model": model, "context": cat.get("label"), "variants": len(cat.get("variants") or []), "items": cat.get("n_items"),
                    "mean_accuracy": cat.get("mean_accuracy"), "mca_1": (cat.get("car") or [None])[-1],
                    "aucar": cat.get("aucar"), "normdtw": cat.get("normdtw"), "core": cat.get("core"),
                }
            )
    return build.table("consistency", f"Consistency under option order, CAT metrics ({run.manifest.name})", "CAT: Cavalin et al. (2025); mca_1 = share of items right under every variant.")


TABLES: dict[str, Callable[[Run], ExportTable]] = {
    "findings": findings_table,
    "accuracy": accuracy_table,
    "conditions": conditions_table,
    "comparisons": comparisons_table,
    "ranking": ranking_table,
    "consistency": consistency_table,
}
#: Tables that read the MCQ instrument's analyses (``findings`` is every instrument's).
MCQ_ONLY = frozenset(TABLES) - {"findings"}

_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}


def latex_escape(text: str) -> str:
    """Escape LaTeX's special characters in running text (captions and footnotes; cells go through Styler)."""
    return "".join(_LATEX_SPECIALS.get(c, c) for c in text)


def _shown(table: ExportTable) -> pd.DataFrame:
    """The columns a reader sees: formatted intervals, not their numeric parts."""
    hidden = [c for c in table.frame.columns if re.search(r"_(estimate|lower|upper)$", c)]
    return table.frame.drop(columns=hidden)


def to_latex(table: ExportTable) -> str:
    frame = _shown(table)
    styler = frame.style.hide(axis="index").format(escape="latex", precision=DIGITS, na_rep="n/a").format_index(escape="latex", axis=1)
    body = styler.to_latex(caption=latex_escape(table.caption), label=f"tab:{table.name}", hrules=True, position_float="centering", environment="table")
    if table.footnote:
        body = body.replace("\\end{table}", f"\\par\\footnotesize {latex_escape(table.footnote)}\n\\end{{table}}")
    return body


def _markdown_cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "n/a"
    if isinstance(value, float):
        value = f"{value:.{DIGITS}f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def to_markdown(table: ExportTable) -> str:
    """A GitHub-flavoured Markdown table (written here: pandas' ``to_markdown`` needs the tabulate package)."""
    frame = _shown(table)
    lines = [f"**{table.caption}**", "", "| " + " | ".join(map(_markdown_cell, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(_markdown_cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    if table.footnote:
        lines += ["", f"_{table.footnote}_"]
    return "\n".join(lines) + "\n"


def to_json(table: ExportTable) -> str:
    records = json.loads(table.frame.to_json(orient="records"))
    return json.dumps({"name": table.name, "caption": table.caption, "footnote": table.footnote, "rows": records}, indent=2, ensure_ascii=False) + "\n"


def to_csv(table: ExportTable) -> str:
    return str(table.frame.to_csv(index=False))


RENDER: dict[str, Callable[[ExportTable], str]] = {"csv": to_csv, "latex": to_latex, "markdown": to_markdown, "json": to_json}

_SVG = re.compile(r"<svg\b[^>]*\bclass=\"plot\"[^>]*>.*?</svg>", re.DOTALL)


def figures(run_dir: Path) -> list[str]:
    """The report's figures as standalone SVG documents (the XML namespace added); none if the report has none."""
    report = run_dir / "report.html"
    if not report.is_file():
        return []
    out = []
    for svg in _SVG.findall(report.read_text(encoding="utf-8")):
        if "xmlns=" not in svg.split(">", 1)[0]:
            svg = svg.replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg"', 1)
        out.append('<?xml version="1.0" encoding="UTF-8"?>\n' + svg + "\n")
    return out


def export_run(run_dir: str | Path, fmt: str, what: list[str] | None = None, out: str | Path | None = None) -> list[Path]:
    """Write the chosen tables of a finished run in one format, and the report's figures as SVG; returns the files."""
    if fmt not in FORMATS:
        raise UserError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    run = load_run(run_dir)
    names = list(what or TABLES)
    unknown = [n for n in names if n not in TABLES]
    if unknown:
        raise UserError(f"--what {unknown[0]!r}: expected one of {', '.join(TABLES)}")
    if run.results.instrument != "mcq":
        skipped = [n for n in names if n in MCQ_ONLY]
        if what and skipped:
            raise UserError(f"--what {skipped[0]}: that table is the MCQ instrument's; this is a {run.results.instrument} run (export its findings)")
        names = [n for n in names if n not in MCQ_ONLY]
    target = Path(out) if out is not None else run.directory / "export"
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        path = target / f"{name}.{SUFFIX[fmt]}"
        write_text(path, RENDER[fmt](TABLES[name](run)))
        written.append(path)
    for index, svg in enumerate(figures(run.directory), start=1):
        path = target / f"figure-{index}.svg"
        write_text(path, svg)
        written.append(path)
    return written
