"""Helpers every kind of test shares: posting a webhook, reading the events file."""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2 as httpx


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
