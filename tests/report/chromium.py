"""Headless Chromium over the Chrome DevTools Protocol, for the report's browser tests.

Why CDP and websocket-client: Debian's ``chromium`` package is all CI installs
(no chromedriver, no downloaded browser build), and the DevTools protocol needs
only a websocket to the browser's own debugging port on 127.0.0.1. The
synchronous ``websocket-client`` package keeps this driver a short, dependency-
light loop.

The page is opened from a ``file://`` URL with every http(s)/ws(s) request
blocked and recorded, so a test can assert that no request tried to leave the
file. Console errors and uncaught exceptions are recorded too.

Also a script, used by ``make screenshot``::

    python tests/report/chromium.py RUN_DIR/report.html docs/images/report.png
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websocket

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-address=127.0.0.1",
)
BLOCKED = ["http://*", "https://*", "ws://*", "wss://*", "ftp://*"]
START_TIMEOUT_S = 30.0
LOAD_TIMEOUT_S = 30.0


def find_chromium() -> str | None:
    """The Chromium executable on PATH, if any."""
    return next((path for name in CHROMIUM_CANDIDATES if (path := shutil.which(name))), None)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PageLog:
    """What happened while a page was open."""

    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    page_url: str = ""

    @property
    def other_requests(self) -> list[str]:
        """Every request except loading the page itself."""
        return [url for url in self.requests if url != self.page_url]


class Chromium:
    """One headless Chromium process with one page; use as a context manager."""

    def __init__(self, width: int = 1280, height: int = 900) -> None:
        binary = find_chromium()
        if binary is None:
            raise RuntimeError("chromium is not installed (apt-get install chromium)")
        self.width, self.height = width, height
        self.profile = Path(tempfile.mkdtemp(prefix="fp-chromium-"))
        port = _free_port()
        self.process = subprocess.Popen(
            [
                binary,
                *FLAGS,
                f"--remote-debugging-port={port}",
                f"--user-data-dir={self.profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._socket = websocket.create_connection(
            self._page_socket(port), timeout=LOAD_TIMEOUT_S, suppress_origin=True
        )
        self._next_id = 0
        self._events: list[dict[str, Any]] = []
        self.log = PageLog()

    def _page_socket(self, port: int) -> str:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=1) as response:
                    targets = json.load(response)
                pages = [t for t in targets if t.get("type") == "page"]
                if pages:
                    return str(pages[0]["webSocketDebuggerUrl"])
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"chromium did not open its debugging port within {START_TIMEOUT_S:.0f} s")

    def __enter__(self) -> "Chromium":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._socket.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            shutil.rmtree(self.profile, ignore_errors=True)

    # -- protocol ------------------------------------------------------------------
    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Call a CDP method and wait for its result, recording the events that arrive meanwhile."""
        self._next_id += 1
        call_id = self._next_id
        self._socket.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))
            self._record(message)

    def _wait_for(self, event: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        if any(e.get("method") == event for e in self._events):
            return
        while time.monotonic() < deadline:
            message = json.loads(self._socket.recv())
            self._record(message)
            if message.get("method") == event:
                return
        raise TimeoutError(f"no {event} within {timeout:.0f} s")

    def _record(self, message: dict[str, Any]) -> None:
        self._events.append(message)
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            self.log.console_errors.append(str(details.get("exception", {}).get("description") or details.get("text")))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.log.console_errors.append(
                " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
            )
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            self.log.console_errors.append(str(params["entry"].get("text")))
        elif method == "Network.requestWillBeSent":
            self.log.requests.append(str(params["request"]["url"]))
        elif method == "Page.javascriptDialogOpening":
            self.log.dialogs.append(str(params.get("message")))
            self.send("Page.handleJavaScriptDialog", accept=False)

    # -- page --------------------------------------------------------------------------
    def open(self, path: Path) -> PageLog:
        """Load a local file with the network blocked; returns the log (also kept as ``self.log``)."""
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        self.send("Network.setBlockedURLs", urls=BLOCKED)
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=self.width,
            height=self.height,
            deviceScaleFactor=1,
            mobile=False,
        )
        self._events.clear()
        self.log.page_url = path.resolve().as_uri()
        self.send("Page.navigate", url=self.log.page_url)
        self._wait_for("Page.loadEventFired", LOAD_TIMEOUT_S)
        self.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        return self.log

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises are awaited)."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"evaluation failed: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def screenshot(self, target: Path, max_height: int | None = None) -> Path:
        """A PNG of the whole page (or its top ``max_height`` pixels)."""
        height = int(self.evaluate("document.documentElement.scrollHeight"))
        if max_height is not None:
            height = min(height, max_height)
        clip = {"x": 0, "y": 0, "width": self.width, "height": height, "scale": 1}
        data = self.send("Page.captureScreenshot", format="png", clip=clip, captureBeyondViewport=True)["data"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(base64.b64decode(data))
        return target


def main(argv: list[str]) -> int:
    """``chromium.py REPORT.html OUT.png [MAX_HEIGHT]``: screenshot a report (used by ``make screenshot``)."""
    if len(argv) not in (2, 3):
        print(main.__doc__, file=sys.stderr)
        return 2
    report, out = Path(argv[0]), Path(argv[1])
    with Chromium() as browser:
        log = browser.open(report)
        if log.console_errors or log.other_requests:
            print(f"page problems: errors={log.console_errors} requests={log.other_requests}", file=sys.stderr)
            return 1
        browser.screenshot(out, int(argv[2]) if len(argv) == 3 else None)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
