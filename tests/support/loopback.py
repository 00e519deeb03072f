"""Helpers every kind of test shares: posting a webhook, reading the events file."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import json
import threading
from collections.abc import Coroutine, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import httpx2 as httpx

T = TypeVar("T")


def post(
    client: httpx.Client, provider: str, body: bytes, headers: Mapping[str, str]
) -> httpx.Response:
    """POST a delivery to ``/webhooks/{provider}``: through Starlette's in-process TestClient
    (an ``httpx`` client) or to a real server (``httpx.Client(base_url=...)``) alike."""
    return client.post(f"/webhooks/{provider}", content=body, headers=dict(headers))


def read_events_file(path: Path) -> list[dict[str, Any]]:
    """Every envelope in a JSON Lines events file, amounts as exact Decimals; [] if absent.

    A line that does not parse fails the test: the file must only ever hold whole lines.
    """
    if not path.exists():
        return []
    return [json.loads(line, parse_float=Decimal) for line in path.read_text().splitlines()]


@contextlib.contextmanager
def serving(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """An HTTP subscriber on loopback answering with ``handler``; yields its ``/hook`` URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` on a loop of its own. Unlike ``asyncio.run``, it leaves the thread's
    current event loop as it was: Pulumi's runtime, in later tests, runs on that one."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()
