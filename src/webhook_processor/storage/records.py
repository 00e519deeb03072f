"""An event, a transaction and its refunds and captures as flat records of plain values: what
every store writes and reads back.

One definition, so the stores cannot disagree on how an event is kept: the amount is a
``Decimal`` (SQLite keeps its exact text, DynamoDB a number), metadata is JSON text (a sender's
numbers may exceed what a store's own number type holds), and times are ISO 8601 UTC with
microseconds, whose text order is their time order.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final, Protocol

from webhook_processor import codec
from webhook_processor.model import Arrival, PaymentEvent, TransactionStatus, TransactionUpdate
from webhook_processor.transactions import (
    Movement,
    MovementStatus,
    TransactionState,
    dimensions_to_json,
    state_from_columns,
)


class Record(Protocol):
    """What a store reads back: a dict (DynamoDB) or a ``sqlite3.Row``, looked up by name."""

    def __getitem__(self, name: str) -> Any: ...

    def keys(self) -> Iterable[str]: ...


def iso(moment: datetime) -> str:
    """``moment`` as fixed-width ISO 8601 UTC text."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def to_record(event: PaymentEvent) -> dict[str, Any]:
    """The event's fields as plain values (``None`` where an optional field is absent)."""
    return {
        "provider": event.provider,
        "event_id": event.event_id,
        "transaction_id": event.transaction_id,
        "event_type": event.event_type,
        "amount": event.amount,
        "currency": event.currency,
        "status": event.status,
        "customer_id": event.customer_id,
        "payment_method": event.payment_method,
        "metadata": codec.dumps(dict(event.metadata)),
        "occurred_at": iso(event.occurred_at),
        "received_at": iso(event.received_at),
        "sequence": event.sequence,
        "movement_id": event.movement_id,
        "refunded_total": event.refunded_total,
        "captured": event.captured,
        "arrival": event.arrival,
        **update_to_record(event.transaction),
    }


#: The columns of a :class:`TransactionUpdate` beside an event, prefixed so they cannot be
#: mistaken for the event's own amount, status or currency.
UPDATE_COLUMNS: Final = (
    "txn_status",
    "txn_previous_status",
    "txn_late",
    "txn_amount",
    "txn_refunded",
    "txn_currency",
    "txn_version",
    "txn_authorized",
    "txn_captured",
    "txn_disputed",
    "txn_refund_reversed",
)


def update_to_record(update: TransactionUpdate | None) -> dict[str, Any]:
    """The update's fields as plain values; all ``None`` before the event was applied."""
    if update is None:
        return dict.fromkeys(UPDATE_COLUMNS)
    return {
        "txn_status": update.status,
        "txn_previous_status": update.previous_status,
        "txn_late": update.late,
        "txn_amount": update.amount,
        "txn_refunded": update.refunded,
        "txn_currency": update.currency,
        "txn_version": update.version,
        "txn_authorized": update.authorized,
        "txn_captured": update.captured,
        "txn_disputed": update.disputed,
        "txn_refund_reversed": update.refund_reversed,
    }


def update_from_record(record: Record) -> TransactionUpdate | None:
    """Inverse of :func:`update_to_record`."""
    if _optional(record, "txn_status") is None:
        return None
    previous = _optional(record, "txn_previous_status")
    return TransactionUpdate(
        status=TransactionStatus(record["txn_status"]),
        previous_status=None if previous is None else TransactionStatus(previous),
        late=bool(record["txn_late"]),
        amount=Decimal(record["txn_amount"]),
        refunded=Decimal(record["txn_refunded"]),
        currency=record["txn_currency"],
        version=int(record["txn_version"]),
        authorized=_optional_decimal(record, "txn_authorized"),
        captured=_optional_decimal(record, "txn_captured"),
        disputed=_optional_decimal(record, "txn_disputed"),
        refund_reversed=_optional_decimal(record, "txn_refund_reversed"),
    )


def from_record(record: Record) -> PaymentEvent:
    """Inverse of :func:`to_record`; optional fields may be missing or ``None``."""
    return PaymentEvent(
        provider=record["provider"],
        event_id=record["event_id"],
        transaction_id=record["transaction_id"],
        event_type=record["event_type"],
        amount=Decimal(record["amount"]),
        currency=record["currency"],
        status=record["status"],
        customer_id=_optional(record, "customer_id"),
        payment_method=_optional(record, "payment_method"),
        metadata=codec.loads_stored(record["metadata"]),
        occurred_at=datetime.fromisoformat(record["occurred_at"]),
        received_at=datetime.fromisoformat(record["received_at"]),
        sequence=_optional_int(record, "sequence"),
        # Release 0.1.0 called a refund's id refund_id (DynamoDB items keep that name).
        movement_id=_optional(record, "movement_id") or _optional(record, "refund_id"),
        refunded_total=_optional_decimal(record, "refunded_total"),
        captured=_optional_decimal(record, "captured"),
        # Before events were reconciled, every one arrived by webhook.
        arrival=_optional(record, "arrival") or Arrival.WEBHOOK,
        transaction=update_from_record(record),
    )


def _optional(record: Record, name: str) -> Any:
    # sqlite3.Row has no .get(), and "in" looks at its values; asking its names builds a list
    # of them on every call. A missing name raises IndexError there, KeyError in a dict.
    try:
        return record[name]
    except (IndexError, KeyError):
        return None


def _optional_int(record: Record, name: str) -> int | None:
    value = _optional(record, name)
    return None if value is None else int(value)


def _optional_decimal(record: Record, name: str) -> Decimal | None:
    value = _optional(record, name)
    return None if value is None else Decimal(value)


def state_to_record(state: TransactionState) -> dict[str, Any]:
    """A transaction's state as plain values: the columns it is listed by, and its dimensions
    as JSON text (everything :func:`state_from_record` needs)."""
    return {
        "provider": state.provider,
        "transaction_id": state.transaction_id,
        "status": state.status,
        "amount": state.amount,
        "refunded": state.refunded,
        "currency": state.currency,
        "authorized": state.authorized,
        "captured": state.captured,
        "disputed": state.disputed,
        "dimensions": dimensions_to_json(state),
        "event_count": state.event_count,
        "late_count": state.late_count,
        "version": state.version,
        "last_event_id": state.last_event_id,
        "updated_at": iso(state.updated_at) if state.updated_at else "",
    }


def state_from_record(record: Record) -> TransactionState:
    """Inverse of :func:`state_to_record`; counts may come back as DynamoDB's ``Decimal``."""
    return state_from_columns(
        transaction_id=record["transaction_id"],
        provider=record["provider"],
        dimensions=record["dimensions"],
        event_count=int(record["event_count"]),
        late_count=int(record["late_count"]),
        version=int(record["version"]),
        last_event_id=record["last_event_id"],
        updated_at=datetime.fromisoformat(record["updated_at"]),
    )


def movement_to_record(provider: str, transaction_id: str, movement: Movement) -> dict[str, Any]:
    """A movement as plain values: what every store keeps of it."""
    rank, moment, _, sequence, event_id = movement.position
    return {
        "provider": provider,
        "transaction_id": transaction_id,
        "kind": movement.kind,
        "movement_id": movement.movement_id,
        "status": movement.status.value,
        "amount": movement.amount,
        "currency": movement.currency,
        "rank": rank,
        "reported_at": iso(moment),  # fixed width: its text order is its time order
        "sequence": sequence,
        "event_id": event_id,
    }


def movement_from_record(record: Record) -> Movement:
    """Inverse of :func:`movement_to_record`."""
    moment = datetime.fromisoformat(record["reported_at"])
    event_id = record["event_id"]
    return Movement(
        kind=record["kind"],
        movement_id=record["movement_id"],
        status=MovementStatus(record["status"]),
        amount=Decimal(record["amount"]),
        currency=record["currency"],
        position=(int(record["rank"]), moment, 0, int(record["sequence"]), event_id),
        event_id=event_id,
    )
