"""The storage ports.

:class:`EventStore` is what the request path needs, on every platform: one conditional write per
event. :class:`LocalStore` adds the transactional outbox and the inspection queries of the local
processor (on AWS the table's stream is the outbox and CloudWatch the inspection tool).

Implementations: :class:`~webhook_processor.storage.memory.MemoryStore` (the fake, shipped),
:class:`~webhook_processor.local.sqlite.store.SQLiteStore`, and on AWS the DynamoDB store. One
contract test suite runs against each of them.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final, Protocol

from webhook_processor.model import PaymentEvent
from webhook_processor.storage.journal import Completeness, Journal
from webhook_processor.storage.paging import EventFilter, Page, SinkDelivery, TransactionFilter
from webhook_processor.storage.volume import DeliveryCounts
from webhook_processor.transactions import Movement, TransactionState

if TYPE_CHECKING:
    import asyncio


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


class Listings(Protocol):
    """What is stored, page by page (see :mod:`webhook_processor.storage.paging`): each read
    takes at most ``limit`` rows through an index, and continues after the cursor of the page
    before. A store refuses a filter it has no index for with InvalidParameter."""

    def transaction(self, provider: str, transaction_id: str) -> TransactionState | None:
        """The transaction's state after every event stored for it, or None."""
        ...

    def event_page(self, where: EventFilter, after: str | None, limit: int) -> Page[PaymentEvent]:
        """Events, newest first (pending or dead ones in key order; a search: the events of
        its keys, then its transaction's newest by provider time first)."""
        ...

    def transaction_page(
        self, where: TransactionFilter, after: str | None, limit: int
    ) -> Page[TransactionState]:
        """Transactions, latest update first (by id: each provider's, in provider order)."""
        ...

    def timeline(
        self, provider: str | None, transaction_id: str, limit: int | None = None
    ) -> list[PaymentEvent]:
        """The events of one transaction (of every provider's transaction of that id if
        ``provider`` is None), oldest first by provider time (occurred_at, received_at, then
        key), each with what it did to the transaction (``event.transaction``); the first
        ``limit``, or all."""
        ...

    def movements(
        self, provider: str, transaction_id: str, limit: int | None = None
    ) -> list[Movement]:
        """The refunds and captures of one transaction, each as its latest report says,
        oldest report first; the first ``limit``, or all."""
        ...

    def deliveries(self, keys: Sequence[str]) -> dict[str, list[SinkDelivery]]:
        """For each key, the sinks that have yet to take its event or gave up on it (a sink
        not listed took it)."""
        ...


class Delivery(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


#: The sink name of an outbox entry queued while no sink was registered: registering sinks
#: turns it into one entry per sink.
EVERY_SINK: Final = ""


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A stored event waiting for publication to one sink."""

    event: PaymentEvent
    attempts: int


@dataclass(frozen=True, slots=True)
class Backlog:
    """What one sink has still to take: ``/healthz`` reports a sink falling behind."""

    #: Entries in the outbox for the sink: due, or waiting for a retry.
    pending: int
    #: Its dead letters: events it gave up on, until a redrive or its recovery.
    dead: int
    #: When the oldest of those undelivered events (pending or dead) was received.
    oldest: datetime


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A stored event and where its publication stands (the furthest-behind sink's state)."""

    event: PaymentEvent
    #: A :class:`Delivery`, or on AWS where the stream or the redrive has it.
    delivery: str
    attempts: int | None
    last_error: str | None

    @classmethod
    def of(cls, event: PaymentEvent, deliveries: Sequence[SinkDelivery]) -> EventRecord:
        """The event with the furthest-behind of its sinks: one still pending, then one that
        gave up, then whatever else a platform reports; the most attempts of those."""
        if not deliveries:
            return cls(event, Delivery.DELIVERED, 0, None)
        rank: dict[str, int] = {Delivery.PENDING: 0, Delivery.DEAD: 1}
        worst = min(deliveries, key=lambda d: (rank.get(d.state, 2), -(d.attempts or 0)))
        state = Delivery(worst.state) if worst.state in rank else worst.state
        return cls(event, state, worst.attempts, worst.last_error)


def event_records(store: Listings, events: Sequence[PaymentEvent]) -> list[EventRecord]:
    """``events`` (a page of them), each with where its publication stands."""
    found = store.deliveries([event.key for event in events])
    return [EventRecord.of(event, found.get(event.key, [])) for event in events]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An event one sink gave up on; ``redrive`` queues it again.

    ``transient`` says the sink failed (unreachable, 5xx, disk full), not the event: such
    letters are queued again by themselves once the sink takes events again.
    """

    key: str
    sink: str
    event: PaymentEvent
    attempts: int
    last_error: str
    failed_at: datetime
    transient: bool


class LocalStore(EventStore, Listings, Journal, Completeness, DeliveryCounts, Protocol):
    """An event store that is also the outbox, for the single-machine processor, and keeps
    what reconciliations listed (:mod:`~webhook_processor.storage.journal`).

    The outbox holds one entry per stored event and sink, so each sink is published to at its
    own pace: a subscriber that hangs does not hold back the events file. A sink that gave up
    on an event leaves a dead letter, until a redrive queues it again.
    """

    def run_on(self, loop: asyncio.AbstractEventLoop) -> None:
        """Commit writes on ``loop``'s thread from now on (a server's loop); writes from other
        threads are handed to it. Until called, the store commits as it sees fit."""
        ...

    def register_sinks(self, names: Sequence[str]) -> None:
        """Queue each event stored from now on for these sinks, and hand the entries queued
        while none was registered to each of them."""
        ...

    def due(self, sink: str, now: datetime, limit: int) -> list[OutboxItem]:
        """Entries of ``sink`` whose next attempt is at or before ``now``, oldest first."""
        ...

    def complete_deliveries(self, sink: str, keys: Sequence[str], at: datetime) -> None:
        """``sink`` took these events: their entries leave the outbox, in one transaction."""
        ...

    def fail_delivery(
        self,
        sink: str,
        key: str,
        error: str,
        *,
        at: datetime,
        retry_at: datetime | None,
        transient: bool = True,
    ) -> None:
        """Count a failed attempt; retry at ``retry_at``, or move to the dead letters if None."""
        ...

    def redrive(self, keys: Sequence[str] | None, now: datetime) -> list[str]:
        """Queue dead letters again, for every sink that gave up on them (all of them if
        ``keys`` is None); return the keys queued."""
        ...

    def redrive_transient(self, sink: str, now: datetime, limit: int | None = None) -> int:
        """Queue again the dead letters of ``sink`` whose failure was the sink's (the oldest
        ``limit`` of them, or all); return how many. The dispatcher calls it once the sink
        takes events again, and with a limit of one to probe whether it does."""
        ...

    def dead_letter_page(self, after: str | None, limit: int) -> Page[DeadLetter]:
        """Dead letters, oldest failure first."""
        ...

    def backlogs(self) -> dict[str, Backlog]:
        """Each sink with undelivered events (in the outbox or dead letters), and what it
        has still to take. Reads every such entry: few unless a sink is failing."""
        ...

    def close(self) -> None: ...
