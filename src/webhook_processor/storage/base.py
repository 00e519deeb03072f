"""The storage ports.

:class:`EventStore` is what the request path needs, on every platform: one conditional write per
event. :class:`LocalStore` adds the transactional outbox and the inspection queries of the local
processor (on AWS the table's stream is the outbox and CloudWatch the inspection tool).

Implementations: :class:`~webhook_processor.storage.memory.MemoryStore` (the fake, shipped),
:class:`~webhook_processor.storage.sqlite.SQLiteStore`, and on AWS the DynamoDB store. One
contract test suite runs against each of them.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from webhook_processor.model import PaymentEvent


class EventStore(Protocol):
    def insert_all(self, events: Sequence[PaymentEvent]) -> list[bool]:
        """Store each event durably unless its key is stored; True where this call stored it.

        One transaction where the store allows (SQLite, memory), so a batch is stored whole or
        not at all; item by item where it does not (DynamoDB), each write idempotent, so a
        retried batch completes what a failure interrupted. Storing an event also queues it
        for publication, atomically: a stored event is published at least once. Raises
        StorageUnavailable if durability is not confirmed.
        """
        ...

    async def insert_all_async(self, events: Sequence[PaymentEvent]) -> list[bool]:
        """:meth:`insert_all` for an event loop: awaits the durable write without blocking it."""
        ...

    def get_event(self, provider: str, event_id: str) -> PaymentEvent | None:
        """The stored event with that key, or None."""
        ...

    def events_for_transaction(self, transaction_id: str) -> list[PaymentEvent]:
        """Every event of one transaction, oldest first (by occurred_at, received_at, then key)."""
        ...


class Delivery(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A stored event waiting for publication, with the sinks that already took it."""

    event: PaymentEvent
    attempts: int
    delivered_to: frozenset[str]


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A stored event and where its publication stands."""

    event: PaymentEvent
    delivery: Delivery
    attempts: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An event the outbox gave up on; ``redrive`` queues it again."""

    key: str
    event: PaymentEvent
    attempts: int
    delivered_to: frozenset[str]
    last_error: str
    failed_at: datetime


@dataclass(frozen=True, slots=True)
class TransactionSummary:
    """One transaction as its latest event describes it."""

    transaction_id: str
    provider: str
    status: str
    amount: Decimal
    currency: str
    event_count: int
    last_event_id: str
    updated_at: datetime


class LocalStore(EventStore, Protocol):
    """An event store that is also the outbox, for the single-machine processor."""

    def due(self, now: datetime, limit: int) -> list[OutboxItem]:
        """Pending items whose next attempt is at or before ``now``, oldest first."""
        ...

    def complete_deliveries(self, keys: Sequence[str], at: datetime) -> None:
        """Every sink took these events: they leave the outbox, in one transaction."""
        ...

    def fail_delivery(
        self,
        key: str,
        delivered_to: frozenset[str],
        error: str,
        *,
        at: datetime,
        retry_at: datetime | None,
    ) -> None:
        """Count a failed attempt; retry at ``retry_at``, or move to the dead letters if None."""
        ...

    def dead_letters(self) -> list[DeadLetter]:
        """Every dead letter, oldest first."""
        ...

    def redrive(self, keys: Sequence[str] | None, now: datetime) -> list[str]:
        """Queue dead letters again (all of them if ``keys`` is None); return the keys queued."""
        ...

    def recent_events(self, limit: int) -> list[EventRecord]:
        """The most recently received events with their delivery state, newest first."""
        ...

    def transactions(self, limit: int) -> list[TransactionSummary]:
        """The most recently updated transactions, newest first."""
        ...

    def close(self) -> None: ...
