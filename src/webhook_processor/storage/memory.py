"""An in-memory :class:`~webhook_processor.storage.base.LocalStore`: the fake for tests.

It passes the same contract suite as the real stores, so tests that use it cannot drift from
them. Not durable: do not serve real traffic with it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from webhook_processor.model import PaymentEvent
from webhook_processor.storage.base import (
    DeadLetter,
    Delivery,
    EventRecord,
    OutboxItem,
    TransactionSummary,
)


@dataclass
class _Pending:
    attempts: int
    delivered_to: frozenset[str]
    next_attempt_at: datetime
    last_error: str | None = None


class MemoryStore:
    """Thread-safe dictionaries behind the LocalStore protocol."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[str, PaymentEvent] = {}
        self._outbox: dict[str, _Pending] = {}
        self._dead: dict[str, DeadLetter] = {}

    def insert_all(self, events: Sequence[PaymentEvent]) -> list[bool]:
        with self._lock:
            inserted = []
            for event in events:
                is_new = event.key not in self._events
                if is_new:
                    self._events[event.key] = event
                    self._outbox[event.key] = _Pending(0, frozenset(), event.received_at)
                inserted.append(is_new)
            return inserted

    async def insert_all_async(self, events: Sequence[PaymentEvent]) -> list[bool]:
        """Nothing to wait for in memory: the insert itself, under the lock."""
        return self.insert_all(events)

    def get_event(self, provider: str, event_id: str) -> PaymentEvent | None:
        with self._lock:
            return self._events.get(f"{provider}:{event_id}")

    def events_for_transaction(self, transaction_id: str) -> list[PaymentEvent]:
        with self._lock:
            found = [e for e in self._events.values() if e.transaction_id == transaction_id]
        return sorted(found, key=lambda e: (e.occurred_at, e.received_at, e.key))

    def due(self, now: datetime, limit: int) -> list[OutboxItem]:
        with self._lock:
            ready = [
                (pending.next_attempt_at, key, pending)
                for key, pending in self._outbox.items()
                if pending.next_attempt_at <= now
            ]
            ready.sort(key=lambda row: (row[0], row[1]))
            return [
                OutboxItem(self._events[key], pending.attempts, pending.delivered_to)
                for _, key, pending in ready[:limit]
            ]

    def complete_deliveries(self, keys: Sequence[str], at: datetime) -> None:
        with self._lock:
            for key in keys:
                self._outbox.pop(key, None)

    def fail_delivery(
        self,
        key: str,
        delivered_to: frozenset[str],
        error: str,
        *,
        at: datetime,
        retry_at: datetime | None,
    ) -> None:
        with self._lock:
            pending = self._outbox.get(key)
            if pending is None:
                return
            attempts = pending.attempts + 1
            if retry_at is None:
                del self._outbox[key]
                self._dead[key] = DeadLetter(
                    key, self._events[key], attempts, delivered_to, error, at
                )
            else:
                self._outbox[key] = _Pending(attempts, delivered_to, retry_at, error)

    def dead_letters(self) -> list[DeadLetter]:
        with self._lock:
            return sorted(self._dead.values(), key=lambda d: (d.failed_at, d.key))

    def redrive(self, keys: Sequence[str] | None, now: datetime) -> list[str]:
        with self._lock:
            chosen = sorted(self._dead) if keys is None else [k for k in keys if k in self._dead]
            for key in chosen:
                letter = self._dead.pop(key)
                self._outbox[key] = _Pending(0, letter.delivered_to, now)
            return chosen

    def recent_events(self, limit: int) -> list[EventRecord]:
        with self._lock:
            newest = sorted(
                self._events.values(), key=lambda e: (e.received_at, e.key), reverse=True
            )
            return [self._record(event) for event in newest[:limit]]

    def transactions(self, limit: int) -> list[TransactionSummary]:
        with self._lock:
            by_transaction: dict[str, list[PaymentEvent]] = {}
            for event in self._events.values():
                by_transaction.setdefault(event.transaction_id, []).append(event)
        summaries = []
        for transaction_id, events in by_transaction.items():
            latest = max(events, key=lambda e: (e.occurred_at, e.received_at, e.key))
            summaries.append(
                TransactionSummary(
                    transaction_id,
                    latest.provider,
                    latest.status,
                    latest.amount,
                    latest.currency,
                    len(events),
                    latest.event_id,
                    latest.occurred_at,
                )
            )
        summaries.sort(key=lambda s: (s.updated_at, s.transaction_id), reverse=True)
        return summaries[:limit]

    def close(self) -> None:
        """Nothing to release; present for the protocol."""

    def _record(self, event: PaymentEvent) -> EventRecord:
        pending = self._outbox.get(event.key)
        if pending is not None:
            return EventRecord(event, Delivery.PENDING, pending.attempts, pending.last_error)
        dead = self._dead.get(event.key)
        if dead is not None:
            return EventRecord(event, Delivery.DEAD, dead.attempts, dead.last_error)
        return EventRecord(event, Delivery.DELIVERED, 0, None)


__all__ = ["MemoryStore"]
