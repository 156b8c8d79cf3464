"""report.html: one self-contained page rendered from a run directory, for any instrument.

The page shell (overview, findings, drill-down, construct-validity card) is the
report's; the sections between the findings and the drill-down are the
instrument's (:mod:`forkingpaths.report.parts`).

The page opens offline and from an e-mail attachment: CSS, the small table
script and every chart (static SVG) are inline, and a Content-Security-Policy
forbids loading anything else and running any script but the report's own
(allowed by its hash). Text from models and data sets is escaped by Jinja's
autoescaping in the template and by :mod:`forkingpaths.report.svg` in charts;
the run document is embedded with ``<``, ``>`` and ``&`` written as JSON escapes so
no string inside it can close the ``<script>`` element. Numbers are printed
with the JSON Pointer of their place in the run document (``data-path``).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from forkingpaths import __version__
from forkingpaths.report.drilldown import drilldown
from forkingpaths.report.parts import presentation_of
from forkingpaths.report.source import Num, RunSource, load_source
from forkingpaths.report.validity import card_markdown, validity_card
from forkingpaths.store import write_text

#: How a traced number may be shown: three decimals, one decimal, a whole percentage, a count.
FORMATS: dict[str, Callable[[float], str]] = {
    "3f": lambda v: f"{v:.3f}",
    "1f": lambda v: f"{v:.1f}",
    "pct": lambda v: f"{v:.0%}",
    "int": lambda v: f"{int(v):d}",
}


def number(value: Num, style: str = "3f") -> Markup:
    """A number as ``<span class="num" data-path="/json/pointer">``; a missing value shows as n/a."""
    shown = "n/a" if value.value is None else FORMATS[style](value.value)
    return Markup('<span class="num" data-path="{}" title="run document {}">{}</span>').format(
        value.path, value.path, shown
    )


def interval(estimate: Num, lower: Num, upper: Num, style: str = "3f") -> Markup:
    """``0.612 [0.540, 0.680]`` with every number traced."""
    return Markup("{} [{}, {}]").format(number(estimate, style), number(lower, style), number(upper, style))


def embed_json(value: Any) -> Markup:
    """JSON that is safe inside ``<script type="application/json">``: no ``<``, ``>`` or ``&`` survives."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _asset(name: str) -> str:
    return resources.files("forkingpaths.report").joinpath("templates", name).read_text(encoding="utf-8")


def _csp_hash(content: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(content.encode("utf-8")).digest()).decode("ascii") + "'"


@functools.lru_cache(maxsize=16)
def environment(package: str = "forkingpaths.report") -> Environment:
    """The Jinja environment for the page and for an instrument's templates (``<package>/templates``).

    Autoescaping is on and undefined names are errors; ``number`` and ``interval``
    print numbers with their JSON Pointer.
    """
    loaders = [PackageLoader(package, "templates")]
    if package != "forkingpaths.report":
        loaders.append(PackageLoader("forkingpaths.report", "templates"))
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = number
    env.globals["interval"] = interval
    return env


def page_assets() -> tuple[Markup, Markup, str]:
    """The page's inline CSS, its script and the Content-Security-Policy that allows only those two."""
    style, script = _asset("report.css"), _asset("report.js")
    csp = (
        "default-src 'none'; "
        f"style-src {_csp_hash(style)}; script-src {_csp_hash(script)}; "
        "img-src 'none'; base-uri 'none'; form-action 'none'"
    )
    return Markup(style), Markup(script), csp


def render_report(source: RunSource) -> str:
    """The page's HTML for one run directory (no model, no new statistics)."""
    results = source.results
    parts = presentation_of(source.instrument)
    sections = parts.sections(source)
    style, script, csp = page_assets()
    roles = results.get("manifest", "roles", default={}) or {}
    evaluated = set(results.get("manifest", "models", default={}) or {}) - {m for ms in roles.values() for m in ms}

    def roles_of(ref: str) -> str:
        names = (["evaluated"] if ref in evaluated else []) + [role for role, members in roles.items() if ref in members]
        return ", ".join(names)

    level = float(((source.spec.get("analysis") or {}).get("level")) or 0.95)
    nav = [("overview", "Overview"), ("findings", "Findings"), *((s.id, s.title) for s in sections)]
    nav += [("items", "Items"), ("validity", "Construct validity")]
    template = environment().get_template("report.html.j2")
    return template.render(
        r=results,
        spec=source.spec,
        nav=nav,
        level=f"{level:.0%}",
        overview_rows=parts.overview(source),
        sections=sections,
        roles_of=roles_of,
        drill=drilldown(source, parts),
        card=validity_card(source, parts),
        version=__version__,
        style=style,
        script=script,
        csp=csp,
        results_json=embed_json(results.document),
    )


def write_report(run_dir: str | Path) -> Path:
    """Write report.html and validity.md into a finished run directory; returns the report's path."""
    source = load_source(run_dir)
    report = source.directory / "report.html"
    write_text(report, render_report(source))
    name = str(source.results.get("manifest", "name", default=source.directory.name))
    write_text(source.directory / "validity.md", card_markdown(validity_card(source, presentation_of(source.instrument)), name))
    return report
