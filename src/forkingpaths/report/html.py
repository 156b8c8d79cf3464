"""report.html: one self-contained page rendered from a run directory.

The page opens offline and from an e-mail attachment: CSS, the small table
script and every chart (static SVG) are inline, and a Content-Security-Policy
forbids loading anything else and running any script but the report's own
(allowed by its hash). Text from models and data sets is escaped by Jinja's
autoescaping in the template and by :mod:`forkingpaths.report.svg` in charts;
results.json is embedded with ``<``, ``>`` and ``&`` written as JSON escapes so
no string inside it can close the ``<script>`` element. Numbers are printed
with the JSON Pointer of their place in results.json (``data-path``).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from forkingpaths import __version__
from forkingpaths.report import plots
from forkingpaths.report.drilldown import drilldown
from forkingpaths.report.source import Num, RunSource, load_source
from forkingpaths.report.terminal import VERDICT_STYLE
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
    return Markup('<span class="num" data-path="{}" title="results.json {}">{}</span>').format(
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


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("forkingpaths.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = number
    env.globals["interval"] = interval
    return env


def _figures(source: RunSource, models: list[str]) -> dict[str, Any]:
    results = source.results
    per_model = {
        model: {
            "spec_curve": plots.spec_curve(results, model),
            "heatmap": plots.heatmap(results, model),
            "variance": plots.variance(results, model),
            "steerability": plots.steerability(results, model),
            "extrapolation": plots.extrapolation(results, model),
        }
        for model in models
    }
    return {
        "per_model": per_model,
        "forest": plots.forest(results, models),
        "spread": plots.spread(results, models),
        "car": plots.car_curve(results, models),
        "comparisons": [plots.comparison(results, i) for i in range(len(results.get("comparisons", default=[]) or []))],
    }


def render_report(source: RunSource) -> str:
    """The page's HTML for one run directory (no model, no new statistics)."""
    results = source.results
    models = list(results.get("models", default={}) or {})
    style, script = _asset("report.css"), _asset("report.js")
    csp = (
        "default-src 'none'; "
        f"style-src {_csp_hash(style)}; script-src {_csp_hash(script)}; "
        "img-src 'none'; base-uri 'none'; form-action 'none'"
    )
    template = _environment().get_template("report.html.j2")
    return template.render(
        r=results,
        models=models,
        spec=source.spec,
        figures=_figures(source, models),
        claim_classes=plots.CLAIM_CLASSES,
        tones={word: "good" for word, colour in VERDICT_STYLE.items() if colour == "green"},
        drill=drilldown(source),
        card=validity_card(source),
        version=__version__,
        style=Markup(style),
        script=Markup(script),
        csp=csp,
        results_json=embed_json(results.document),
        group_name=lambda group: plots.group_name(results, group),
    )


def write_report(run_dir: str | Path) -> Path:
    """Write report.html and validity.md into a run directory; returns the report's path."""
    source = load_source(run_dir)
    report = source.directory / "report.html"
    write_text(report, render_report(source))
    name = str(source.results.get("manifest", "name", default=source.directory.name))
    write_text(source.directory / "validity.md", card_markdown(validity_card(source), name))
    return report
