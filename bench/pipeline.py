"""Per-request CPU of the pipeline, as ratios to a bare HMAC-SHA256 check measured in the same run.

The store is the in-memory fake, so this is verify + parse + normalise + the envelope; the
SQLite line adds a real, fsync'd group-committed write, one request at a time (the worst case
for group commit: nothing to share a commit with).
"""

from __future__ import annotations

import hashlib
import hmac
import tempfile
import timeit
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from webhook_processor.model import WebhookRequest
from webhook_processor.pipeline import Pipeline
from webhook_processor.providers import default_providers
from webhook_processor.providers.base import Sample
from webhook_processor.publishing.envelope import encode
from webhook_processor.storage.memory import MemoryStore
from webhook_processor.storage.sqlite import SQLiteStore

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
SECRET = "whsec_bench_0123456789abcdef"  # noqa: S105 - a benchmark fixture


class _Secrets:
    def active(self, provider: str) -> tuple[str, ...]:
        return (SECRET,)


def _requests(count: int) -> list[WebhookRequest]:
    stripe = default_providers()["stripe"]
    requests = []
    for n in range(count):
        body = stripe.sample(Sample(f"evt_{n}", Decimal("19.99"), "USD", "succeeded", NOW))
        signed = stripe.sign(body, SECRET, NOW, f"evt_{n}")
        requests.append(WebhookRequest.build("stripe", signed.headers, signed.body, NOW))
    return requests


def _per_call_us(fn: Callable[[], object], number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def _row(label: str, micros: float, baseline: float) -> None:
    print(f"  {label:<50} {micros:8.1f} us  x{micros / baseline:.1f}")


def main() -> None:
    count = 2000
    requests = _requests(count)
    body = requests[0].body
    key = SECRET.encode()
    mac = hmac.new(key, b"1." + body, hashlib.sha256).hexdigest()

    def bare_hmac() -> object:
        return hmac.compare_digest(hmac.new(key, b"1." + body, hashlib.sha256).hexdigest(), mac)

    baseline = _per_call_us(bare_hmac, count)
    print(f"pipeline per request ({len(body)} B Stripe event; ratio to a bare HMAC check)")
    _row("HMAC-SHA256 + compare_digest (baseline)", baseline, baseline)

    def run(store_factory: Callable[[], MemoryStore | SQLiteStore], number: int) -> float:
        store = store_factory()
        pipeline = Pipeline(default_providers(), _Secrets(), store, clock=lambda: NOW)
        iterator = iter(requests * 6)
        try:
            return _per_call_us(lambda: pipeline.receive(next(iterator)), number)
        finally:
            store.close()

    memory = run(MemoryStore, count)
    _row("verify + parse + normalise + memory insert", memory, baseline)
    event = default_providers()["stripe"].parse(requests[0], SECRET, NOW)[0]
    envelope = _per_call_us(lambda: encode(event), count)
    _row("publish envelope encode", envelope, baseline)
    with tempfile.TemporaryDirectory() as directory:
        sqlite = run(lambda: SQLiteStore(Path(directory) / "bench.db"), 200)
    _row("... + SQLite insert (fsync each, one at a time)", sqlite, baseline)


if __name__ == "__main__":
    main()
