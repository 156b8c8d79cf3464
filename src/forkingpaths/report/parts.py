"""What an instrument supplies to the report: sections, overview rows, drill-down columns,
terminal tables and construct-validity evidence.

The report owns the page shell, the overview, the findings, the drill-down frame
and the validity-card frame; an instrument's ``presentation`` object fills them
in. Every part reads the run document only (:class:`~forkingpaths.report.source.RunSource`).
Instrument templates are rendered with the report's Jinja environment
(:func:`render_fragment`): autoescaping on, and the ``number``/``interval``
helpers that print each number with its JSON Pointer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from markupsafe import Markup
from rich.console import RenderableType

from forkingpaths.report.source import RunSource


@dataclass(frozen=True)
class Section:
    """One section of the page: its anchor id, its heading and its HTML."""

    id: str
    title: str
    html: Markup


@dataclass(frozen=True)
class DrillColumn:
    """An instrument column of the drill-down table: its heading and how to show a trial's value.

    ``value`` receives the trial's row (a dict of the trials table) and the item's
    record from items.json, and returns text (escaped by the page).
    """

    heading: str
    value: Callable[[dict[str, Any], dict[str, Any]], str]
    numeric: bool = False


class Presentation(Protocol):
    """An instrument's contribution to the report, the terminal summary and the validity card."""

    def overview(self, source: RunSource) -> list[tuple[str, Markup]]:
        """Extra rows of the overview's design table (label, value)."""

    def sections(self, source: RunSource) -> list[Section]:
        """The instrument's sections, in page order, between the findings and the drill-down."""

    def item_text(self, item: dict[str, Any]) -> str:
        """What an item asked, for the drill-down (e.g. the question)."""

    def item_details(self, item: dict[str, Any]) -> list[str]:
        """Short facts shown beside an item in the items table (options, topic, …)."""

    def drill_columns(self, source: RunSource) -> list[DrillColumn]:
        """The instrument's columns of the drill-down table."""

    def terminal(self, source: RunSource) -> list[RenderableType]:
        """Tables printed before the findings in the terminal summary."""

    def validity_evidence(self, source: RunSource) -> dict[str, list[str]]:
        """Facts from the run per construct-validity criterion key (see report/validity.py)."""


class NoPresentation:
    """The defaults: an instrument without report parts still gets the shell, findings, drill-down and card."""

    def overview(self, source: RunSource) -> list[tuple[str, Markup]]:
        return []

    def sections(self, source: RunSource) -> list[Section]:
        return []

    def item_text(self, item: dict[str, Any]) -> str:
        return str(item.get("question") or item.get("text") or item.get("prompt") or "")

    def item_details(self, item: dict[str, Any]) -> list[str]:
        return []

    def drill_columns(self, source: RunSource) -> list[DrillColumn]:
        return []

    def terminal(self, source: RunSource) -> list[RenderableType]:
        return []

    def validity_evidence(self, source: RunSource) -> dict[str, list[str]]:
        return {}


def presentation_of(instrument: str) -> Presentation:
    """The registered instrument's presentation, or the defaults when it has none or is not installed."""
    from forkingpaths import registry
    from forkingpaths.errors import UserError

    try:
        cls = registry.instruments.get(instrument)
    except (UserError, ImportError):
        return NoPresentation()
    found: Presentation | None = getattr(cls, "presentation", None)
    return found if found is not None else NoPresentation()


def render_fragment(package: str, template: str, **context: Any) -> Markup:
    """Render an instrument's template (``<package>/templates/<template>``) with the report's environment."""
    from forkingpaths.report.html import environment

    return Markup(environment(package).get_template(template).render(**context))
