"""The terminal summary: the instrument's tables, the headline findings and one line on the validity card.

Only presents what is already in the run directory; computes nothing. Model and
data-set text is printed as :class:`rich.text.Text` (markup disabled), so
brackets in it cannot be taken for rich styles, and through
:func:`forkingpaths.text.safe_text`, so its control characters cannot drive the terminal.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from forkingpaths.report.parts import Presentation, presentation_of
from forkingpaths.report.source import RunSource, load_source
from forkingpaths.report.validity import NOT_ADDRESSED, Card, validity_card
from forkingpaths.text import safe_text

TONE_STYLE = {"good": "green", "caution": "yellow", "bad": "red", "info": "cyan"}


def findings_table(source: RunSource) -> Table:
    table = Table(title="Headline findings", show_lines=True, expand=True)
    table.add_column("subject", overflow="fold", max_width=24)
    table.add_column("question", max_width=16)
    table.add_column("verdict", max_width=18)
    table.add_column("finding (rule)", overflow="fold")
    for finding in source.results.get("findings", default=[]) or []:
        body = Text(safe_text(finding["claim"]))
        estimate = finding.get("estimate")
        if estimate and estimate.get("estimate") is not None:
            bounds = (
                f" [{estimate['lower']:.3f}, {estimate['upper']:.3f}]" if estimate.get("lower") is not None else ""
            )
            body.append(f"\nestimate {estimate['estimate']:.3f}{bounds} ({safe_text(estimate['method'])})")
        body.append(f"\nrule: {safe_text(finding['rule'])}", style="dim")
        verdict = Text(safe_text(finding["verdict"]), style=TONE_STYLE.get(finding.get("tone", "caution"), "yellow"))
        table.add_row(Text(safe_text(finding["subject"])), Text(safe_text(finding["topic"])), verdict, body)
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


def print_summary(directory: object, console: Console) -> None:
    """Print the findings of a finished run directory (any instrument)."""
    source = load_source(str(directory))
    print_source(source, console, presentation_of(source.instrument))


def print_source(source: RunSource, console: Console, parts: Presentation) -> None:
    """The instrument's tables, the findings and the validity line of one run."""
    for renderable in parts.terminal(source):
        console.print(renderable)
    if source.results.get("findings"):
        console.print(findings_table(source))
    console.print(validity_line(validity_card(source, parts)))
