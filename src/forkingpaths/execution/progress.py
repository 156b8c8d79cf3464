"""Progress of a run's requests: a rich bar on a terminal, periodic plain lines otherwise."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from forkingpaths.execution.executor import Counters
from forkingpaths.text import safe_text


class RunProgress:
    """Distinct requests done / known so far, requests per second, ETA, cache hits and errors.

    It counts requests, as the summary line does: trials that render the same request
    share one, and a trial with a follow-up stage (a judge) adds requests as it goes.

    Used as a context manager; the instance is the executor's progress hook. The bar
    appears at the first update, so errors found while preparing a run print alone.
    When the console is not a terminal (output redirected to a file or a CI log), a bar
    would show nothing until the end, so a plain line is printed instead at most every
    ``interval`` seconds, and once when the last request is done.
    """

    def __init__(self, console: Console | None = None, description: str = "requests", interval: float = 10.0) -> None:
        self._console = console or Console(stderr=True)
        self._plain = not self._console.is_terminal
        self._interval = interval
        self._last_line = -float("inf")
        self._description = description
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("cache hits {task.fields[hits]} · errors {task.fields[errors]}"),
            console=self._console,
            transient=False,
        )
        self._task = self._progress.add_task(description, total=None, rate="–", hits=0, errors=0)
        self._started = time.monotonic()
        self._done_at_start: int | None = None
        self._notices_shown = 0

    def __enter__(self) -> RunProgress:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._done_at_start is not None and not self._plain:
            self._progress.stop()

    def __call__(self, counters: Counters) -> None:
        for notice in counters.notices[self._notices_shown :]:  # above the bar, once each
            self._console.print(f"warning: {safe_text(notice)}", markup=False, highlight=False)
        self._notices_shown = len(counters.notices)
        if self._done_at_start is None:  # the rate counts executed requests, not cache hits
            if not self._plain:
                self._progress.start()
            self._done_at_start = counters.done
            self._started = time.monotonic()
            self._progress.reset(self._task, total=counters.total, completed=counters.done)
        elapsed = max(time.monotonic() - self._started, 1e-9)
        executed = counters.done - self._done_at_start
        rate = f"{executed / elapsed:.1f}" if executed else "–"
        if self._plain:
            self._plain_line(counters, rate)
            return
        self._progress.update(
            self._task, total=counters.total, completed=counters.done, rate=rate, hits=counters.cache_hits, errors=counters.errors
        )

    def _plain_line(self, counters: Counters, rate: str) -> None:
        now = time.monotonic()
        finished = counters.total and counters.done >= counters.total
        if now - self._last_line < self._interval and not finished:
            return
        self._last_line = now
        share = f" ({counters.done / counters.total:.0%})" if counters.total else ""
        self._console.print(
            f"{self._description} {counters.done}/{counters.total}{share} · {rate}/s · "
            f"cache hits {counters.cache_hits} · errors {counters.errors}",
            markup=False,
            highlight=False,
        )
