"""The inspector in a real browser: the distribution's headless Chromium, driven by Playwright,
against a real ``webhook-processor serve`` process on loopback.

``make test`` installs Chromium from the distribution's packages when it is missing (``make
browser``); Playwright only drives it and never downloads a browser of its own.
"""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.integration.conftest import Server, free_port

CHROMIUM = Path(os.environ.get("WEBHOOK_TEST_CHROMIUM", "/usr/bin/chromium"))
#: Headless, and quiet: no GPU, no sandbox (containers have no user namespaces), and nothing
#: that would reach the network on its own (QUIC, component updates, sync, first-run pings).
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
#: How long a page may take to show what a test waits for (the page polls every second).
WAIT_MS = 15_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Not for the session: while Playwright's sync API is open it runs an event loop on this
    # thread, and the tests that run their own loop (run_coroutine) must come after it closed.
    if not CHROMIUM.exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: `make browser` installs the distribution's")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=list(CHROMIUM_FLAGS)
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies, no cache) and its page, failing on script errors."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == [], f"the page's script failed: {errors}"


class Subscriber:
    """An HTTP subscriber on a fixed loopback port that can be stopped and started again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[bytes] = []
        self._server: http.server.ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        received = self.received

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                received.append(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass  # quiet: the test reads self.received

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Close the port: deliveries now fail to connect, as to a subscriber that is down."""
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
        self._server = None


@pytest.fixture
def subscriber() -> Iterator[Subscriber]:
    running = Subscriber()
    running.start()
    yield running
    if running._server is not None:
        running.stop()


@pytest.fixture
def served(tmp_path: Path, subscriber: Subscriber) -> Iterator[Server]:
    """``serve`` as ``make run`` starts it, plus the subscriber, giving up after two attempts."""
    server = Server(tmp_path, options=("--subscriber", subscriber.url, "--max-attempts", "2"))
    server.start()
    yield server
    server.stop()
