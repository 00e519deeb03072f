"""Helpers every kind of test shares: posting a webhook, reading the events file."""

from __future__ import annotations

import json
from collections.abc import Mapping
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
