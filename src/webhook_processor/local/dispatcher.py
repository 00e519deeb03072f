"""The local outbox dispatcher: drains stored events to the sinks, at least once.

Each sink has its own lane: a thread that takes the sink's due outbox entries as one batch,
publishes them, and records the outcome in one transaction, so a subscriber that hangs never
holds back the events file. A failed entry is retried with exponential backoff; after
``max_attempts`` failed attempts it becomes a dead letter of that sink, from which ``redrive``
brings it back. Dead letters that the sink caused (unreachable, 5xx, disk full) come back by
themselves once the sink takes an event again.

Nothing one row does stops a lane: an exception while publishing a batch is narrowed down to
the events that raise it, each of which fails alone (retried, then dead-lettered with its
error), and a lane that fails as a whole (the store is unavailable) waits and tries again.
:attr:`Dispatcher.running` tells ``/healthz`` whether every lane is alive. A crash between a
sink taking an event and the outbox recording it means that sink gets it again: consumers
dedupe on ``event_id``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from webhook_processor.errors import truncate
from webhook_processor.model import PaymentEvent, utc_now
from webhook_processor.publishing.base import Sink, shown
from webhook_processor.storage.base import LocalStore, OutboxItem

log = logging.getLogger(__name__)

#: key -> (why it was not delivered, whether the sink rather than the event failed)
Failures = dict[str, tuple[str, bool]]


class DeliveryObserver(Protocol):
    """Told what the lanes did (the inspector's counters); called from the lanes' threads."""

    def delivered(self, sink: str, count: int) -> None: ...

    def dead(self, sink: str) -> None: ...


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
        probe_interval: float = 30.0,
        observer: DeliveryObserver | None = None,
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
        self._probe_interval = probe_interval
        self._observer = observer
        self._wakes = {sink.name: threading.Event() for sink in self._sinks}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        # Sinks that may hold dead letters of their own making, to redrive once they recover.
        self._outage = {sink.name: True for sink in self._sinks}
        store.register_sinks([sink.name for sink in self._sinks])

    @property
    def sinks(self) -> tuple[Sink, ...]:
        """Where each stored event is published, in order."""
        return tuple(self._sinks)

    @property
    def running(self) -> bool:
        """Whether every lane's thread is alive (False before start and after stop)."""
        return bool(self._threads) and all(thread.is_alive() for thread in self._threads)

    def run_once(self) -> int:
        """Attempt every due entry of every sink once; return how many were attempted."""
        return sum(self.run_sink_once(sink) for sink in self._sinks)

    def run_sink_once(self, sink: Sink) -> int:
        """Attempt the due entries of one sink as one batch; return how many were attempted."""
        items = self._store.due(sink.name, self._clock(), self._batch_size)
        if not items:
            return 0
        failed = self._publish(sink, [item.event for item in items])
        now = self._clock()
        done = [item.event.key for item in items if item.event.key not in failed]
        if done:
            self._store.complete_deliveries(sink.name, done, now)
            if self._observer is not None:
                self._observer.delivered(sink.name, len(done))
            if self._outage[sink.name]:
                self._outage[sink.name] = False
                if self._store.redrive_transient(sink.name, now):
                    log.info("%s takes events again: its dead letters are queued", shown(sink))
        for item in items:
            if item.event.key in failed:
                self._fail(sink, item, *failed[item.event.key], now)
        return len(items)

    def _publish(self, sink: Sink, events: list[PaymentEvent]) -> Failures:
        """Publish a batch; if the sink raises, find the events that make it raise."""
        try:
            return {key: (why, True) for key, why in sink.publish_batch(events).items()}
        except Exception as exc:
            if len(events) == 1:
                return {events[0].key: _raised(sink, events[0], exc)}
            log.warning("%s raised on a batch; publishing it one event at a time", shown(sink))
        failures: Failures = {}
        for event in events:
            try:
                failures |= {k: (why, True) for k, why in sink.publish_batch([event]).items()}
            except Exception as exc:
                failures[event.key] = _raised(sink, event, exc)
        return failures

    def _fail(
        self, sink: Sink, item: OutboxItem, error: str, transient: bool, now: datetime
    ) -> None:
        attempts = item.attempts + 1
        retry_at = None if attempts >= self._max_attempts else now + self._backoff(attempts)
        error = f"{shown(sink)}: {error}"
        self._store.fail_delivery(
            sink.name, item.event.key, error, at=now, retry_at=retry_at, transient=transient
        )
        if retry_at is None:
            if self._observer is not None:
                self._observer.dead(sink.name)
            if transient:
                self._outage[sink.name] = True
        log.warning(
            "delivery of %s failed (attempt %d, %s): %s",
            item.event.key,
            attempts,
            "moved to dead letters" if retry_at is None else "will retry",
            error,
        )

    def _backoff(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self._max_delay, self._base_delay * 2 ** (attempts - 1)))

    # -- background threads -----------------------------------------------------------------

    def wake(self) -> None:
        """Look at the outbox now rather than at the next poll (called after an accept)."""
        for event in self._wakes.values():
            event.set()

    def start(self) -> None:
        self._stop.clear()
        self._threads = [
            threading.Thread(
                target=self._lane, args=(sink,), name=f"outbox-{sink.name}", daemon=True
            )
            for sink in self._sinks
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.wake()
        for thread in self._threads:
            thread.join(timeout)

    def probe(self, sink: Sink) -> None:
        """Queue one of the dead letters ``sink`` caused, to learn whether it is back: taking
        it redrives the others (see :meth:`run_sink_once`). Without this, a sink that failed
        every event would only come back with the next accepted event."""
        if self._outage[sink.name] and not self._store.redrive_transient(
            sink.name, self._clock(), limit=1
        ):
            self._outage[sink.name] = False  # nothing of its own making is dead

    def _lane(self, sink: Sink) -> None:
        wake = self._wakes[sink.name]
        failures = 0
        probed_at = float("-inf")
        while not self._stop.is_set():
            wake.clear()  # before the scan: a wake during it is not lost
            try:
                if time.monotonic() - probed_at >= self._probe_interval:
                    probed_at = time.monotonic()
                    self.probe(sink)
                busy = self.run_sink_once(sink) >= self._batch_size
                failures = 0
            except Exception:
                # Whatever failed (the store, a sink, one row), the lane lives on and tries
                # again after a growing pause.
                failures += 1
                log.exception(
                    "outbox lane %s failed (%d in a row); retrying", shown(sink), failures
                )
                busy = False
            if not busy:
                wake.wait(min(self._max_delay, self._poll_interval * 2 ** min(failures, 10)))


def _raised(sink: Sink, event: PaymentEvent, exc: Exception) -> tuple[str, bool]:
    """The failure of an event the sink raised on: the event's fault, not the sink's."""
    log.error("%s cannot publish %s", shown(sink), event.key, exc_info=exc)
    return truncate(f"{type(exc).__name__}: {exc}"), False
