"""The local outbox dispatcher: drains stored events to the sinks, at least once.

Each outbox item is sent to every sink that has not taken it yet, one batch per sink. When all
have taken it, it leaves the outbox (one transaction per batch). When one fails, the attempt is
counted and retried with exponential backoff; after ``max_attempts`` failed attempts the item
moves to the dead letters, from which ``redrive`` brings it back. A crash between a sink taking
an event and the outbox recording it means that sink gets it again: consumers dedupe on
``event_id``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from webhook_processor.errors import StorageUnavailable
from webhook_processor.model import utc_now
from webhook_processor.publishing.base import Sink
from webhook_processor.storage.base import LocalStore, OutboxItem

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(
        self,
        store: LocalStore,
        sinks: Sequence[Sink],
        *,
        clock: Callable[[], datetime] = utc_now,
        max_attempts: int = 5,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        batch_size: int = 100,
        poll_interval: float = 0.5,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._store = store
        self._sinks = list(sinks)
        self._clock = clock
        self._max_attempts = max_attempts
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def sinks(self) -> tuple[Sink, ...]:
        """Where each stored event is published, in order."""
        return tuple(self._sinks)

    def run_once(self) -> int:
        """Attempt every due item once, as one batch per sink; return how many were attempted."""
        items = self._store.due(self._clock(), self._batch_size)
        if not items:
            return 0
        delivered = {item.event.key: set(item.delivered_to) for item in items}
        errors: dict[str, list[str]] = {}
        for sink in self._sinks:
            pending = [item.event for item in items if sink.name not in delivered[item.event.key]]
            if not pending:
                continue
            failed = sink.publish_batch(pending)
            for event in pending:
                if event.key in failed:
                    errors.setdefault(event.key, []).append(f"{sink.name}: {failed[event.key]}")
                else:
                    delivered[event.key].add(sink.name)
        now = self._clock()
        done = [item.event.key for item in items if item.event.key not in errors]
        if done:
            self._store.complete_deliveries(done, now)
        for item in items:
            if item.event.key in errors:
                self._fail(item, frozenset(delivered[item.event.key]), errors[item.event.key], now)
        return len(items)

    def _fail(
        self, item: OutboxItem, delivered: frozenset[str], errors: list[str], now: datetime
    ) -> None:
        attempts = item.attempts + 1
        retry_at = None if attempts >= self._max_attempts else now + self._backoff(attempts)
        self._store.fail_delivery(
            item.event.key, delivered, "; ".join(errors), at=now, retry_at=retry_at
        )
        log.warning(
            "delivery of %s failed (attempt %d, %s): %s",
            item.event.key,
            attempts,
            "moved to dead letters" if retry_at is None else "will retry",
            "; ".join(errors),
        )

    def _backoff(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self._max_delay, self._base_delay * 2 ** (attempts - 1)))

    # -- background thread ------------------------------------------------------------------

    def wake(self) -> None:
        """Look at the outbox now rather than at the next poll (called after an accept)."""
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="outbox-dispatcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()  # before the scan: a wake during it is not lost
            try:
                busy = self.run_once() >= self._batch_size
            except StorageUnavailable:
                log.exception("outbox unavailable; retrying")
                busy = False
            if not busy:
                self._wake.wait(self._poll_interval)
