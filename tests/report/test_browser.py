"""The report in headless Chromium: renders offline, no errors, every chart drawn, no injected code runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .chromium import Chromium, find_chromium  # noqa: E402

# Locally a missing browser skips these tests; in CI (CI=true) it must fail instead, so a
# broken install step can never turn the browser tests into silent skips.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.model,
    pytest.mark.skipif(
        find_chromium() is None and os.environ.get("CI") != "true",
        reason="chromium is not installed (apt-get install chromium); CI installs it",
    ),
]

SECTIONS = ("overview", "findings", "specification-curve", "groups", "variance", "steering", "items", "validity")
PLOTS = """Array.from(document.querySelectorAll('svg.plot')).map(svg => {
  const box = svg.getBoundingClientRect();
  const marks = Array.from(svg.querySelectorAll('.mark'));
  const drawn = marks.filter(m => { const b = m.getBBox(); return b.width > 0 || b.height > 0; });
  return {label: svg.getAttribute('aria-label'), width: box.width, height: box.height, marks: marks.length, drawn: drawn.length};
})"""
VISIBLE_SECTIONS = (
    "Array.from(document.querySelectorAll('main > section')).filter(s => s.offsetHeight > 0).map(s => s.id)"
)


def _open(browser: Chromium, run: Path) -> None:
    log = browser.open(run / "report.html")
    assert log.console_errors == []
    assert log.other_requests == []
    assert log.dialogs == []


def _assert_plots_drawn(browser: Chromium, expected: int) -> None:
    plots = browser.evaluate(PLOTS)
    assert len(plots) == expected
    for plot in plots:
        assert plot["width"] > 100 and plot["height"] > 40, plot
        assert plot["marks"] > 0 and plot["drawn"] == plot["marks"], plot


def test_report_renders_with_all_sections_and_plots(small_run: Path, tmp_path: Path) -> None:
    with Chromium() as browser:
        _open(browser, small_run)
        assert browser.evaluate(VISIBLE_SECTIONS) == list(SECTIONS)
        _assert_plots_drawn(browser, 7)
        shot = browser.screenshot(tmp_path / "report.png")
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
        target = os.environ.get("FORKINGPATHS_SCREENSHOT")
        if target:
            browser.screenshot(Path(target))


def test_drilldown_filters_and_sorts(small_run: Path) -> None:
    with Chromium() as browser:
        _open(browser, small_run)
        total = browser.evaluate("document.querySelectorAll('#answers tbody tr').length")
        assert total == 48
        shown = browser.evaluate(
            """(() => { const input = document.getElementById('answer-filter');
                input.value = 'average@DK'; input.dispatchEvent(new Event('input'));
                return [document.querySelectorAll('#answers tbody tr:not([hidden])').length,
                        document.getElementById('answer-count').textContent]; })()"""
        )
        assert shown == [16, "16"]
        masses = browser.evaluate(
            """(() => { const header = Array.from(document.querySelectorAll('#answers th')).find(h => h.textContent.trim() === 'valid mass');
                header.click();
                const index = header.cellIndex;
                return Array.from(document.querySelectorAll('#answers tbody tr')).map(r => parseFloat(r.cells[index].dataset.sort)); })()"""
        )
        assert masses == sorted(masses)


def test_injected_markup_never_executes(attack_run: Path) -> None:
    with Chromium() as browser:
        _open(browser, attack_run)
        assert browser.evaluate("window.__fpPwned === undefined")
        assert browser.evaluate("document.title") == "report-attack · forkingpaths report"
        assert browser.evaluate("document.querySelectorAll('img').length") == 0
        assert browser.evaluate("document.querySelectorAll('script').length") == 2
        text = browser.evaluate("document.body.innerText")
        assert "<script>document.title='PWNED'" in text and "<img src=x onerror=" in text
        assert browser.evaluate(VISIBLE_SECTIONS) == list(SECTIONS)
        _assert_plots_drawn(browser, 5)  # no persona factor: no steerability; 3 items: no held-out split


def test_optional_panels_render_when_results_have_them(augmented_run: Path) -> None:
    with Chromium() as browser:
        _open(browser, augmented_run)
        _assert_plots_drawn(browser, 8)
        labels = [p["label"] for p in browser.evaluate(PLOTS)]
        assert "Paired comparison of llamacpp and openai:other" in labels
