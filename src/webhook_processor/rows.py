"""The rows of every listing, locally and with ``aws``: one definition of each, so the CLI's
tables, the ``aws`` commands' and the inspector page show the same columns, read through the
one listing API (:class:`~webhook_processor.storage.base.Listings`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TextIO

from webhook_processor import codec
from webhook_processor.money import format_amount
from webhook_processor.storage.base import Listings, event_records
from webhook_processor.storage.paging import EventFilter, TransactionFilter

if TYPE_CHECKING:
    from webhook_processor.model import PaymentEvent
    from webhook_processor.storage.base import DeadLetter
    from webhook_processor.transactions import Movement, TransactionState


def latest_events(store: Listings, limit: int) -> list[dict[str, Any]]:
    """``events``, here and on AWS: the latest events, each with where its publication
    stands."""
    return event_rows(store, store.event_page(EventFilter(), None, limit).items)


def event_rows(store: Listings, events: Sequence[PaymentEvent]) -> list[dict[str, Any]]:
    """One line per event of ``events``, with where its publication stands."""
    return [
        event_row(r.event, r.delivery, r.attempts, r.last_error)
        for r in event_records(store, events)
    ]


def latest_transactions(store: Listings, limit: int) -> list[dict[str, Any]]:
    """``transactions``, here and on AWS: the latest updated transactions."""
    return [
        transaction_row(t) for t in store.transaction_page(TransactionFilter(), None, limit).items
    ]


def transaction_row(t: TransactionState) -> dict[str, Any]:
    """One line of ``transactions``, here and on AWS (``aws transactions``)."""
    return {
        "transaction_id": t.transaction_id,
        "provider": t.provider,
        "status": t.status,
        "amount": t.amount,
        "authorized": t.authorized,
        "captured": t.captured,
        "refunded": t.refunded,
        "disputed": t.disputed,
        "currency": t.currency,
        "events": t.event_count,
        "late": t.late_count,
        "last_event_id": t.last_event_id,
        "updated_at": None if t.updated_at is None else t.updated_at.isoformat(),
    }


def print_timeline(
    store: Listings, transaction_id: str, provider: str | None, as_json: bool
) -> int:
    """``transaction ID``, here and on AWS: where the transaction stands, then each event."""
    events = store.timeline(provider, transaction_id)
    providers = sorted({e.provider for e in events})
    if not events:
        print(f"error: no transaction {transaction_id!r}", file=sys.stderr)
        return 1
    if len(providers) > 1:
        print(
            f"error: {', '.join(providers)} each have a transaction {transaction_id!r}: "
            "choose one with --provider",
            file=sys.stderr,
        )
        return 2
    state = store.transaction(providers[0], transaction_id)
    rows = timeline_rows(events)
    money = [movement_row(m) for m in store.movements(providers[0], transaction_id)]
    if as_json:
        summary = transaction_row(state) if state is not None else None
        document = {"transaction": summary, "movements": money, "timeline": rows}
        sys.stdout.write(codec.dumps(document) + "\n")
        return 0
    if state is not None:
        print_rows([transaction_row(state)], as_json=False)
        print()
    if money:
        print_rows(money, as_json=False)
        print()
    return print_rows(rows, as_json=False)


def movement_row(movement: Movement) -> dict[str, Any]:
    """One refund or capture of a transaction, as its latest report says."""
    return {
        "kind": movement.kind,
        "movement_id": movement.movement_id,
        "status": movement.status,
        "amount": movement.amount,
        "currency": movement.currency,
        "counted": "yes" if movement.live else "no",
        "provider_time": movement.updated_at.isoformat(),
        "event_id": movement.event_id,
    }


def timeline_rows(events: Sequence[PaymentEvent]) -> list[dict[str, Any]]:
    """One line per event, in the order they were applied to the transaction."""
    applied = sorted(
        events, key=lambda e: (e.transaction.version if e.transaction else 0, e.received_at)
    )
    rows = []
    for event in applied:
        update = event.transaction
        rows.append(
            {
                "version": None if update is None else update.version,
                "received_at": event.received_at.isoformat(),
                "provider_time": event.occurred_at.isoformat(),
                "event_id": event.event_id,
                "event_type": event.event_type,
                "says": event.status,
                "amount": event.amount,
                "before": None if update is None else update.previous_status,
                "after": None if update is None else update.status,
                "refunded": None if update is None else update.refunded,
                "reversed": None if update is None else update.refund_reversed,
                "late": None if update is None else ("late" if update.late else ""),
                "arrival": event.arrival,
            }
        )
    return rows


def event_row(
    event: PaymentEvent, delivery: str, attempts: int | None, last_error: str | None
) -> dict[str, Any]:
    """One line of ``events``, here and on AWS (``aws events``, where the delivery is the
    stream's unless the event was handed off, and attempts are not counted)."""
    return {
        "key": event.key,
        "transaction_id": event.transaction_id,
        "event_type": event.event_type,
        "amount": event.amount,
        "currency": event.currency,
        "status": event.status,
        "received_at": event.received_at.isoformat(),
        "arrival": event.arrival,
        "delivery": delivery,
        "attempts": attempts,
        "last_error": last_error,
    }


def dead_letter_row(letter: DeadLetter) -> dict[str, Any]:
    """One line of ``dead-letters``."""
    return {
        "key": letter.key,
        "transaction_id": letter.event.transaction_id,
        "amount": letter.event.amount,
        "currency": letter.event.currency,
        "attempts": letter.attempts,
        "failed_at": letter.failed_at.isoformat(),
        "last_error": letter.last_error,
    }


def print_rows(rows: list[dict[str, Any]], as_json: bool, out: TextIO | None = None) -> int:
    """``rows`` as a table for people (one column per key), or as JSON for scripts."""
    out = out or sys.stdout
    if as_json:
        out.write(codec.dumps(rows) + "\n")
        return 0
    if not rows:
        out.write("(none)\n")
        return 0
    cells = [[_cell(value) for value in row.values()] for row in rows]
    headers = list(rows[0])
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    for line in [headers, *cells]:
        out.write("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() + "\n")
    return 0


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, Decimal):
        return format_amount(value)
    return str(value)
