"""An in-memory :class:`~webhook_processor.storage.base.LocalStore`: the fake for tests.

It passes the same contract suite as the real stores, so tests that use it cannot drift from
them. Not durable: do not serve real traffic with it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from webhook_processor.model import PaymentEvent
from webhook_processor.quiet import History
from webhook_processor.storage.base import (
    EVERY_SINK,
    Backlog,
    DeadLetter,
    OutboxItem,
)
from webhook_processor.storage.journal import (
    CLAIM_SECONDS,
    DayCounts,
    Listed,
    Reconciled,
    Report,
)
from webhook_processor.storage.paging import (
    EventFilter,
    Page,
    SinkDelivery,
    TransactionFilter,
    decode_cursor,
    encode_cursor,
)
from webhook_processor.storage.records import iso
from webhook_processor.storage.volume import KEEP_BUCKETS
from webhook_processor.transactions import Movement, TransactionState, apply, movement_key

if TYPE_CHECKING:
    import asyncio

T = TypeVar("T")


@dataclass
class _Pending:
    attempts: int
    next_attempt_at: datetime
    last_error: str | None = None


class MemoryStore:
    """Thread-safe dictionaries behind the LocalStore protocol."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[str, PaymentEvent] = {}
        self._sinks: tuple[str, ...] = ()
        self._outbox: dict[tuple[str, str], _Pending] = {}
        self._dead: dict[tuple[str, str], DeadLetter] = {}
        self._transactions: dict[tuple[str, str], TransactionState] = {}
        self._movements: dict[tuple[str, str, str, str], Movement] = {}
        self._marks: dict[str, datetime] = {}
        self._claims: dict[str, tuple[str, datetime]] = {}
        self._listed: dict[tuple[str, str], Listed] = {}
        self._reconciled: list[Reconciled] = []
        self._deliveries: dict[tuple[str, int], int] = {}
        self._counted_since: dict[str, int] = {}

    def insert_all(self, events: Sequence[PaymentEvent]) -> list[bool]:
        with self._lock:
            inserted = []
            for event in events:
                is_new = event.key not in self._events
                if is_new:
                    key = (event.provider, event.transaction_id)
                    reported = movement_key(event)
                    moved = None if reported is None else (*key, *reported)
                    known = None if moved is None else self._movements.get(moved)
                    transition = apply(self._transactions.get(key), event, known)
                    self._transactions[key] = transition.after
                    if moved is not None and transition.movement is not None:
                        self._movements[moved] = transition.movement
                    self._events[event.key] = replace(event, transaction=transition.update)
                    for sink in self._sinks or (EVERY_SINK,):
                        self._outbox[event.key, sink] = _Pending(0, event.received_at)
                inserted.append(is_new)
            return inserted

    async def insert_all_async(self, events: Sequence[PaymentEvent]) -> list[bool]:
        """Nothing to wait for in memory: the insert itself, under the lock."""
        return self.insert_all(events)

    def get_event(self, provider: str, event_id: str) -> PaymentEvent | None:
        with self._lock:
            return self._events.get(f"{provider}:{event_id}")

    def transaction(self, provider: str, transaction_id: str) -> TransactionState | None:
        with self._lock:
            return self._transactions.get((provider, transaction_id))

    def run_on(self, loop: asyncio.AbstractEventLoop) -> None:
        """Nothing to hand over: every write is done under the lock, at once."""

    def register_sinks(self, names: Sequence[str]) -> None:
        with self._lock:
            self._sinks = tuple(names)
            if not names:
                return
            for key, sink in [k for k in self._outbox if k[1] == EVERY_SINK]:
                pending = self._outbox.pop((key, sink))
                for name in names:
                    self._outbox.setdefault((key, name), replace(pending))

    def due(self, sink: str, now: datetime, limit: int) -> list[OutboxItem]:
        with self._lock:
            ready = [
                (pending.next_attempt_at, key, pending)
                for (key, name), pending in self._outbox.items()
                if name == sink and pending.next_attempt_at <= now
            ]
            ready.sort(key=lambda row: (row[0], row[1]))
            return [
                OutboxItem(self._events[key], pending.attempts) for _, key, pending in ready[:limit]
            ]

    def complete_deliveries(self, sink: str, keys: Sequence[str], at: datetime) -> None:
        with self._lock:
            for key in keys:
                self._outbox.pop((key, sink), None)

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
        with self._lock:
            pending = self._outbox.get((key, sink))
            if pending is None:
                return
            attempts = pending.attempts + 1
            if retry_at is None:
                del self._outbox[key, sink]
                self._dead[key, sink] = DeadLetter(
                    key, sink, self._events[key], attempts, error, at, transient
                )
            else:
                self._outbox[key, sink] = _Pending(attempts, retry_at, error)

    def redrive(self, keys: Sequence[str] | None, now: datetime) -> list[str]:
        with self._lock:
            dead_keys = {key for key, _ in self._dead}
            chosen = sorted(dead_keys) if keys is None else [k for k in keys if k in dead_keys]
            for key, sink in [k for k in self._dead if k[0] in chosen]:
                del self._dead[key, sink]
                for name in (sink,) if sink != EVERY_SINK or not self._sinks else self._sinks:
                    self._outbox[key, name] = _Pending(0, now)
            return chosen

    def redrive_transient(self, sink: str, now: datetime, limit: int | None = None) -> int:
        with self._lock:
            letters = sorted(self._dead.values(), key=lambda d: (d.failed_at, d.key))
            chosen = [(d.key, d.sink) for d in letters if d.sink == sink and d.transient][:limit]
            for key in chosen:
                del self._dead[key]
                self._outbox[key] = _Pending(0, now)
            return len(chosen)

    # -- Listings: the same orders and cursors as SQLite, by sorting ---------------------------

    def event_page(self, where: EventFilter, after: str | None, limit: int) -> Page[PaymentEvent]:
        with self._lock:
            events = [e for e in self._events.values() if self._matches(e, where)]
        if where.delivery in ("pending", "dead") and not where.is_search:
            state = where.delivery
            events.sort(key=lambda e: e.key, reverse=True)
            if after is not None:
                [last_key] = decode_cursor(state, after, 1)
                events = [e for e in events if e.key < last_key]
            return _page(events, limit, lambda e: encode_cursor(state, [e.key]))
        if not where.is_search:
            events.sort(key=lambda e: (iso(e.received_at), e.key), reverse=True)
            if after is not None:
                position = tuple(decode_cursor("events", after, 2))
                events = [e for e in events if (iso(e.received_at), e.key) < position]
            return _page(events, limit, lambda e: encode_cursor("events", _received(e)))
        hits = (
            []
            if after is not None
            else sorted((e for e in events if e.key in where.keys), key=lambda e: e.key)
        )
        of_transaction = sorted(
            (e for e in events if e.transaction_id == where.transaction_id),
            key=_occurred,
            reverse=True,
        )
        if after is not None:
            position = tuple(decode_cursor("search", after, 3))
            of_transaction = [e for e in of_transaction if _occurred(e) < position]
        page = _page(of_transaction, limit, lambda e: encode_cursor("search", _occurred(e)))
        seen = {e.key for e in hits}
        return Page(hits + [e for e in page.items if e.key not in seen], page.next)

    def transaction_page(
        self, where: TransactionFilter, after: str | None, limit: int
    ) -> Page[TransactionState]:
        with self._lock:
            states = [
                t
                for t in self._transactions.values()
                if where.transaction_id in (None, t.transaction_id)
                and where.provider in (None, t.provider)
                and where.status in (None, t.status)
            ]
        if where.transaction_id is not None:
            return Page(sorted(states, key=lambda t: t.provider), None)
        states.sort(key=_updated, reverse=True)
        if after is not None:
            position = tuple(decode_cursor("transactions", after, 3))
            states = [t for t in states if _updated(t) < position]
        return _page(states, limit, lambda t: encode_cursor("transactions", _updated(t)))

    def backlogs(self) -> dict[str, Backlog]:
        found: dict[str, Backlog] = {}
        with self._lock:
            undelivered = [(sink, 1, 0, key) for key, sink in self._outbox if sink != EVERY_SINK]
            undelivered += [(sink, 0, 1, key) for key, sink in self._dead]
            for sink, pending, dead, key in undelivered:
                received = self._events[key].received_at
                seen = found.get(sink, Backlog(0, 0, received))
                found[sink] = Backlog(
                    seen.pending + pending, seen.dead + dead, min(seen.oldest, received)
                )
        return found

    def dead_letter_page(self, after: str | None, limit: int) -> Page[DeadLetter]:
        with self._lock:
            letters = sorted(self._dead.values(), key=_failed)
        if after is not None:
            position = tuple(decode_cursor("dead-letters", after, 3))
            letters = [d for d in letters if _failed(d) > position]
        return _page(letters, limit, lambda d: encode_cursor("dead-letters", _failed(d)))

    def timeline(
        self, provider: str | None, transaction_id: str, limit: int | None = None
    ) -> list[PaymentEvent]:
        with self._lock:
            found = [
                e
                for e in self._events.values()
                if e.transaction_id == transaction_id and provider in (None, e.provider)
            ]
        found.sort(key=lambda e: (e.occurred_at, e.received_at, e.key))
        return found[:limit]

    def movements(
        self, provider: str, transaction_id: str, limit: int | None = None
    ) -> list[Movement]:
        with self._lock:
            found = [
                movement
                for (p, t, _, _), movement in self._movements.items()
                if (p, t) == (provider, transaction_id)
            ]
        found.sort(key=lambda m: (m.updated_at, m.kind, m.movement_id))
        return found[:limit]

    def deliveries(self, keys: Sequence[str]) -> dict[str, list[SinkDelivery]]:
        found: dict[str, list[SinkDelivery]] = {key: [] for key in keys}
        with self._lock:
            for (key, sink), pending in sorted(self._outbox.items()):
                if key in found:
                    delivery = SinkDelivery(sink, "pending", pending.attempts, pending.last_error)
                    found[key].append(delivery)
            for (key, sink), dead in sorted(self._dead.items()):
                if key in found:
                    found[key].append(SinkDelivery(sink, "dead", dead.attempts, dead.last_error))
        return found

    def _matches(self, event: PaymentEvent, where: EventFilter) -> bool:
        """Whether ``event`` passes the filter's provider and delivery state (under the lock)."""
        if where.provider not in (None, event.provider):
            return False
        if where.delivery is None:
            return True
        pending = any(key == event.key for key, _ in self._outbox)
        dead = any(key == event.key for key, _ in self._dead)
        state = "pending" if pending else "dead" if dead else "delivered"
        if where.delivery == "delivered":
            return state == "delivered"
        return pending if where.delivery == "pending" else dead

    # -- Journal and Completeness ----------------------------------------------------------

    def reconciled_until(self, provider: str) -> datetime | None:
        return self._marks.get(provider)

    def claim_reconciliation(self, provider: str, holder: str, now: datetime) -> bool:
        with self._lock:
            claim = self._claims.get(provider)
            if claim is not None and claim[0] != holder and claim[1] > now:
                return False
            self._claims[provider] = (holder, now + timedelta(seconds=CLAIM_SECONDS))
            return True

    def finish_reconciliation(self, report: Report, holder: str, now: datetime) -> None:
        with self._lock:
            provider = report.provider
            for listed in report.listings:
                self._listed.setdefault((provider, listed.event_id), listed)
            self._reconciled.append(Reconciled(provider, report.window, now))
            mark = self._marks.get(provider)
            if report.advances_mark:
                end = report.window.until
                self._marks[provider] = max(mark, end) if mark else end
        self.release_reconciliation(provider, holder)

    def release_reconciliation(self, provider: str, holder: str) -> None:
        with self._lock:
            if self._claims.get(provider, ("",))[0] == holder:
                del self._claims[provider]

    def arrivals_by_day(self, since: datetime) -> DayCounts:
        with self._lock:
            events = [e for e in self._events.values() if e.occurred_at >= since]
        return _by_day((e.provider, e.occurred_at, e.arrival) for e in events)

    def listings_by_day(self, since: datetime) -> DayCounts:
        with self._lock:
            listed = [(p, item) for (p, _), item in self._listed.items()]
        return _by_day(
            (provider, item.created_at, item.outcome)
            for provider, item in listed
            if item.created_at >= since
        )

    def reconciled_windows(self, since: datetime) -> list[Reconciled]:
        with self._lock:
            return [run for run in self._reconciled if run.window.until > since]

    # -- DeliveryCounts ---------------------------------------------------------------------

    def add_deliveries(self, counts: Mapping[tuple[str, int], int]) -> None:
        if not counts:
            return
        with self._lock:
            for (provider, bucket), count in counts.items():
                self._deliveries[provider, bucket] = (
                    self._deliveries.get((provider, bucket), 0) + count
                )
                self._counted_since[provider] = min(
                    self._counted_since.get(provider, bucket), bucket
                )
            oldest = max(bucket for _, bucket in counts) - KEEP_BUCKETS
            for key in [key for key in self._deliveries if key[1] < oldest]:
                del self._deliveries[key]

    def delivery_histories(self, since: int) -> list[History]:
        with self._lock:
            kept = dict(self._deliveries)
            began = dict(self._counted_since)
        return [
            History(
                provider,
                {b: n for (p, b), n in kept.items() if p == provider and b >= since},
                began[provider],
            )
            for provider in sorted(began)
        ]

    def close(self) -> None:
        """Nothing to release; present for the protocol."""


def _by_day(items: Iterable[tuple[str, datetime, str]]) -> DayCounts:
    counts: DayCounts = {}
    for provider, moment, kind in items:
        day = counts.setdefault((provider, iso(moment)[:10]), {})
        day[kind] = day.get(kind, 0) + 1
    return counts


def _page(items: list[T], limit: int, cursor: Callable[[T], str]) -> Page[T]:
    """The first ``limit`` of ``items``, and the cursor after the last if it is full."""
    chosen = items[:limit]
    return Page(chosen, cursor(chosen[-1]) if len(chosen) == limit else None)


def _received(event: PaymentEvent) -> list[str]:
    return [iso(event.received_at), event.key]


def _occurred(event: PaymentEvent) -> tuple[str, str, str]:
    return (iso(event.occurred_at), iso(event.received_at), event.key)


def _updated(state: TransactionState) -> tuple[str, str, str]:
    updated = "" if state.updated_at is None else iso(state.updated_at)
    return (updated, state.provider, state.transaction_id)


def _failed(letter: DeadLetter) -> tuple[str, str, str]:
    return (iso(letter.failed_at), letter.key, letter.sink)


__all__ = ["MemoryStore"]
