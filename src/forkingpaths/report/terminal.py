"""The terminal summary: the run's headline findings as rich tables, and one line on the validity card.

Only presents what is already in the results; computes nothing. Model and
data-set text is printed with markup disabled so brackets in it cannot be
interpreted as rich styles, and through :func:`forkingpaths.text.safe_text` so its
control characters cannot drive the terminal.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from forkingpaths.report.source import load_source
from forkingpaths.report.validity import NOT_ADDRESSED, Card, validity_card
from forkingpaths.text import safe_text

VERDICT_STYLE = {
    "stable": "green",
    "robust": "green",
    "specific": "green",
    "extrapolates": "green",
    "design noise below group differences": "green",
}


def _verdict(word: str) -> Text:
    return Text(safe_text(word), style=VERDICT_STYLE.get(word, "yellow"))


def findings_table(results: dict[str, Any]) -> Table:
    table = Table(title="Headline findings", show_lines=True, expand=True)
    table.add_column("model", overflow="fold", max_width=18)
    table.add_column("question", max_width=16)
    table.add_column("verdict", max_width=18)
    table.add_column("finding (rule)", overflow="fold")
    for finding in results.get("findings", []):
        body = Text(safe_text(finding["text"]))
        body.append(f"\nrule: {safe_text(finding['rule'])}", style="dim")
        table.add_row(
            Text(safe_text(finding["model"])), Text(safe_text(finding["topic"])), _verdict(finding["verdict"]), body
        )
    return table


def closest_groups_table(results: dict[str, Any], top: int = 5) -> Table:
    names = results.get("design", {}).get("group_names", {})
    level = results.get("settings", {}).get("level", 0.95)
    table = Table(title=f"Mean similarity by group (no persona, pooled over conditions, {level:.0%} CI)")
    table.add_column("model", overflow="fold")
    table.add_column("rank", justify="right")
    table.add_column("group")
    table.add_column("similarity", justify="right")
    table.add_column("interval", justify="right")
    for model, entry in results.get("models", {}).items():
        for rank, row in enumerate(entry.get("overall", [])[:top], start=1):
            table.add_row(
                Text(safe_text(model)),
                str(rank),
                Text(safe_text(names.get(row["group"], row["group"]))),
                f"{row['estimate']:.3f}",
                f"[{row['lower']:.3f}, {row['upper']:.3f}]",
            )
    return table


def validity_line(card: Card) -> Text:
    """One line on the construct-validity card: how many recommendations have an answer, and which do not."""
    missing = [entry.criterion.key for entry in card.entries if entry.status == NOT_ADDRESSED]
    answered = len(card.entries) - len(missing)
    line = Text(f"construct validity: {answered} of {len(card.entries)} recommendations answered by the run or the spec")
    if missing:
        line.append(f"; not addressed: {', '.join(missing)} (set validity.<key> in the spec)", style="yellow")
    line.append(" · validity.md", style="dim")
    return line


def print_summary(run: Any, console: Console) -> None:
    """Print the findings of a finished run (``forkingpaths.run.pipeline.Run``)."""
    results = run.results
    if results.get("models"):
        console.print(closest_groups_table(results))
    if results.get("findings"):
        console.print(findings_table(results))
    if (run.directory / "spec.yaml").exists() and (run.directory / "results.json").exists():
        console.print(validity_line(validity_card(load_source(run.directory))))
