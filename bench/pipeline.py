"""The hot path per event, for each provider, against the floor of the same bytes.

The floor is what no implementation can skip: HMAC-SHA256 over the body and
``json.loads(body, parse_float=Decimal)``. The hot path is ``Pipeline.receive`` on the in-memory
store: verify + parse + normalise + insert + outbox entry. Each provider's own sample event is
padded to about 2 KB (its metadata, or a top-level field where it has none) and signed by the
adapter; every call gets an event it has not seen, so every call stores one.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import timeit
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from webhook_processor import codec
from webhook_processor.model import WebhookRequest
from webhook_processor.pipeline import Pipeline
from webhook_processor.providers import default_providers
from webhook_processor.providers.base import Provider, Sample
from webhook_processor.storage.memory import MemoryStore

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
TARGET = 2.0
SIZE = 2000
CALLS = 3000


class _Secrets:
    def __init__(self) -> None:
        self.by_provider = {name: p.new_secret() for name, p in default_providers().items()}

    def active(self, provider: str) -> tuple[str, ...]:
        return (self.by_provider[provider],)


def _padded(provider: Provider, event_id: str) -> bytes:
    body = json.loads(
        provider.sample(Sample(event_id, Decimal("19.99"), "USD", "succeeded", NOW)),
        parse_float=Decimal,
    )
    # Metadata where the provider has some; else a top-level field, which adapters ignore.
    padded = _find_metadata(body)
    if padded is None:
        padded = body
    n = 0
    while len(codec.dumps(body)) < SIZE:
        padded[f"note_{n}"] = "x" * 40
        n += 1
    return codec.dumps(body).encode()


def _find_metadata(value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict):
        if isinstance(value.get("metadata"), dict):
            return value["metadata"]  # type: ignore[no-any-return]
        children = list(value.values())
    elif isinstance(value, list):
        children = value
    else:
        return None
    for child in children:
        found = _find_metadata(child)
        if found is not None:
            return found
    return None


def _receive(pipeline: Pipeline, calls: Iterator[WebhookRequest]) -> object:
    return pipeline.receive(next(calls))


def _per_call_us(fn: Callable[[], object], number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def main() -> dict[str, Any]:
    secrets = _Secrets()
    providers = default_providers()
    print(
        f"hot path per event (~{SIZE} B, memory store; ratio to HMAC-SHA256 + "
        f"json.loads(parse_float=Decimal) of the same bytes; target x{TARGET:.0f})"
    )
    results = {}
    for name, provider in providers.items():
        secret = secrets.by_provider[name]
        requests = []
        for n in range(CALLS * 6):
            event_id = f"{provider.event_id_prefix}{n:08d}"
            signed = provider.sign(_padded(provider, event_id), secret, NOW, event_id)
            requests.append(
                WebhookRequest.build(
                    name, {**signed.headers, "content-type": "application/json"}, signed.body, NOW
                )
            )
        body = requests[0].body
        key = secret.encode()

        def floor(body: bytes = body, key: bytes = key) -> object:
            hmac.new(key, body, hashlib.sha256).digest()
            return json.loads(body, parse_float=Decimal)

        pipeline = Pipeline(providers, secrets, MemoryStore(), clock=lambda: NOW)
        receive = functools.partial(_receive, pipeline, iter(requests))
        floor_us = _per_call_us(floor, CALLS)
        hot_us = _per_call_us(receive, CALLS)
        ratio = hot_us / floor_us
        verdict = "met" if ratio <= TARGET else "MISSED"
        print(
            f"  {name:<10} {len(body):5d} B  floor {floor_us:6.1f} us  hot path {hot_us:6.1f} us"
            f"  x{ratio:.2f}  {verdict}"
        )
        results[name] = {"bytes": len(body), "floor_us": floor_us, "hot_us": hot_us}
    return {"target": TARGET, "providers": results}


if __name__ == "__main__":
    main()
