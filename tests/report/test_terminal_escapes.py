"""Control characters from data and models never reach the terminal or validity.md raw.

The attack strings are the ones confirmed on stdout when the tool was attacked: a
clear-screen CSI, an OSC 52 clipboard write and an OSC 8 hyperlink, plus BEL and a C1
CSI. Output goes through real rich consoles (with terminal styling on) and the real
CLI; only the text they receive is constructed.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
from rich.console import Console
from typer.testing import CliRunner

from forkingpaths.cli import app
from forkingpaths.models.base import Message, Request, Response
from forkingpaths.report.source import Results, RunSource
from forkingpaths.instruments.survey.presentation import SurveyPresentation
from forkingpaths.report.terminal import print_source
from forkingpaths.report.validity import card_markdown, validity_card
from forkingpaths.store import ResponseCache
from forkingpaths.text import safe_text

CLEAR = "\x1b[2J\x1b[H"
CLIPBOARD = "\x1b]52;c;cm0gLXJmIH4=\x07"
LINK = "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\"
C1_CSI = "\x9b31m"
GROUP = f"DK{CLEAR}{CLIPBOARD}{LINK}{C1_CSI}"
RAW = ("\x1b[2J", "\x1b]52", "\x1b]8", "\x07", "\x9b")


def _assert_clean(output: str) -> None:
    for sequence in RAW:
        assert sequence not in output, repr(sequence)


def test_safe_text_escapes_controls_visibly_and_keeps_layout_whitespace() -> None:
    assert safe_text(f"a{CLEAR}b") == "a\\x1b[2J\\x1b[Hb"
    assert safe_text("bell\x07 nul\x00 del\x7f c1\x85 rlo\u202e") == "bell\\x07 nul\\x00 del\\x7f c1\\x85 rlo\\u202e"
    assert safe_text("two\nlines\twith tab") == "two\nlines\twith tab"
    assert safe_text("two\nlines\r", one_line=True) == "two\\x0alines\\x0d"
    assert safe_text("Ørsted — 日本 ✓") == "Ørsted — 日本 ✓"
    assert safe_text(3.5) == "3.5"


def test_terminal_summary_prints_no_raw_escape_sequences(tmp_path: Path) -> None:
    analyses = {
        "settings": {"level": 0.95},
        "design": {"group_names": {GROUP: f"Denmark{CLIPBOARD}"}},
        "models": {
            f"m{LINK}": {"overall": [{"group": GROUP, "estimate": 0.8, "lower": 0.7, "upper": 0.9}]},
        },
    }
    findings = [
        {"subject": f"m{CLEAR}", "topic": f"t{C1_CSI}", "verdict": "stable", "claim": f"closest: {GROUP}", "rule": LINK, "tone": "good"}
    ]
    source = RunSource(tmp_path, Results({"analyses": analyses, "findings": findings}), {}, [], pd.DataFrame())
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, color_system="truecolor", width=200)
    print_source(source, console, SurveyPresentation())
    output = buffer.getvalue()
    assert "\x1b[" in output  # styling is on, so the check below is not vacuous
    _assert_clean(output)
    assert "\\x1b[2J" in output and "Denmark" in output


def test_validity_markdown_carries_no_control_characters() -> None:
    results = {"analyses": {"design": {"n_items": 1, "groups": [GROUP, "US"], "topics": [f"topic{CLEAR}"]}, "models": {}}}
    spec = {"data": {"loader": "tidy-long", "path": f"x{LINK}.csv"}, "validity": {"phenomenon": GROUP, LINK: CLIPBOARD}}
    source = RunSource(Path("."), Results(results), spec, [{"item_id": "q1", "source": f"Survey{CLEAR}"}], pd.DataFrame())
    markdown = card_markdown(validity_card(source, SurveyPresentation()), f"run{CLEAR}")
    assert "\x1b" not in markdown and "\x07" not in markdown and "\x9b" not in markdown
    assert "\\x1b]52" in markdown  # shown, not dropped


def test_cli_prints_a_hostile_model_identity_escaped(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path)
    request = Request("generate", (Message("user", "hi"),))
    cache.put("k", "openai", f"http://127.0.0.1:1/v1|{GROUP}", request.canonical_json(), 0, Response(text="x"))
    cache.close()
    result = CliRunner().invoke(app, ["cache", "info"], env={"FORKINGPATHS_CACHE_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output
    _assert_clean(result.output)
    assert "\\x1b]52" in result.output
