"""A fake of Stripe's events API on loopback: ``GET /v1/events`` as Stripe answers it (newest
first, ``created[gte]``/``created[lt]``, ``limit``, ``starting_after``, ``has_more``), only to
``Authorization: Bearer <key>``; and a switch that makes it fail as Stripe does (500)."""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

STRIPE_KEY = "sk_test_reconcile_0123456789"


@dataclass
class FakeStripe:
    """The events it lists, the requests it was sent, and whether it fails."""

    key: str = STRIPE_KEY
    events: list[dict[str, Any]] = field(default_factory=list)
    #: Each request's path and Authorization header.
    requests: list[tuple[str, str]] = field(default_factory=list)
    failing: bool = False
    base: str = ""
    #: Its webhook endpoints (``GET /v1/webhook_endpoints``), each with ``id``, ``url`` and
    #: ``status`` ("enabled" or "disabled"), paged as the events are.
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    endpoints_per_page: int = 100

    def answer(self, path: str, authorization: str) -> tuple[int, dict[str, Any]]:
        self.requests.append((path, authorization))
        if authorization != f"Bearer {self.key}":
            return 401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}}
        if self.failing:
            return 500, {"error": {"type": "api_error", "message": "Something went wrong"}}
        parsed = urllib.parse.urlsplit(path)
        if parsed.path == "/v1/webhook_endpoints":
            return 200, self._endpoints(dict(urllib.parse.parse_qsl(parsed.query)))
        if parsed.path != "/v1/events":
            return 404, {"error": {"type": "invalid_request_error", "message": "no such path"}}
        query = dict(urllib.parse.parse_qsl(parsed.query))
        low = int(query.get("created[gte]", 0))
        high = int(query.get("created[lt]", 2**40))
        listed = sorted(
            (e for e in self.events if low <= e["created"] < high),
            key=lambda e: e["created"],
            reverse=True,
        )
        after = query.get("starting_after")
        if after is not None:
            ids = [e["id"] for e in listed]
            listed = listed[ids.index(after) + 1 :] if after in ids else []
        limit = int(query.get("limit", 10))
        page = listed[:limit]
        return 200, {
            "object": "list",
            "url": "/v1/events",
            "has_more": len(listed) > limit,
            "data": page,
        }

    def _endpoints(self, query: dict[str, str]) -> dict[str, Any]:
        listed = [{"object": "webhook_endpoint", **e} for e in self.endpoints]
        after = query.get("starting_after")
        if after is not None:
            ids = [e["id"] for e in listed]
            listed = listed[ids.index(after) + 1 :] if after in ids else []
        limit = min(int(query.get("limit", 10)), self.endpoints_per_page)
        return {
            "object": "list",
            "url": "/v1/webhook_endpoints",
            "has_more": len(listed) > limit,
            "data": listed[:limit],
        }


@contextlib.contextmanager
def fake_stripe(key: str = STRIPE_KEY) -> Iterator[FakeStripe]:
    """The fake on a free loopback port, for the duration of the block (``.base`` is its root)."""
    fake = FakeStripe(key)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, document = fake.answer(self.path, self.headers.get("Authorization", ""))
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests read ``requests``."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
