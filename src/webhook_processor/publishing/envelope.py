"""The published event: the original system's envelope, with exact amounts.

Every sink (the JSON Lines file, HTTP subscribers, SNS) publishes these same bytes::

    {"event_id": "evt_1", "transaction_id": "pi_1", "event_type": "payment_processed",
     "timestamp": "2026-11-28T21:00:00.000000+00:00",
     "data": {"transaction_id": "pi_1", "timestamp": "...", "provider": "stripe",
              "amount": 19.99, "currency": "USD", "status": "succeeded", ...,
              "arrival": "webhook", "metadata": {...}},
     "transaction": {"status": "partially_refunded", "previous_status": "succeeded",
                     "late": false, "amount": 19.99, "refunded": 5.00, "currency": "USD",
                     "version": 2, "authorized": 19.99, "captured": 19.99, "disputed": 0,
                     "refund_reversed": 0}}

``amount`` is a JSON number whose text is the stored decimal: float consumers read the same
value as before, decimal consumers read it exactly. ``data`` is what the event said, and
``arrival`` how it came: ``webhook``, or ``reconciliation`` for an event that was never
delivered and was found in the provider's events API;
``transaction`` is where its transaction stands after it (:class:`TransactionUpdate`), so a
subscriber need not solve the ordering of events itself: a ``late`` event changed nothing, and
an update whose ``version`` is not above the last one seen can be dropped. ``authorized``,
``captured``, ``refunded`` and ``disputed`` are the amounts a team reconciles with;
``refund_reversed`` is what this event took off ``refunded`` (a refund that failed: a refund
reversal). They are null for an event stored before they were kept.
"""

from __future__ import annotations

from typing import Any, Final

from webhook_processor import codec
from webhook_processor.model import PaymentEvent, TransactionUpdate

EVENT_TYPE: Final = "payment_processed"
#: The most the ``transaction`` member adds to an envelope: statuses, bounded amounts
#: (``money.MAX_AMOUNT``), its currency and a version (tests/unit/test_size_chain.py measures
#: the largest).
MAX_TRANSACTION_BYTES: Final = 2048


def envelope(event: PaymentEvent) -> dict[str, Any]:
    """The envelope as a dict (amounts stay Decimals)."""
    head = _head(event)
    data = {**head["data"], "amount": event.amount, **_tail(event)}
    return {**head, "data": data, **_transaction(event.transaction)}


def encode(event: PaymentEvent) -> bytes:
    """The envelope as the UTF-8 JSON bytes every sink publishes: exactly
    ``codec.dumps(envelope(event))``, written field by field.

    Encoding is most of what publishing an event costs, so only the metadata goes through an
    encoder (the standard library's C one, unless it holds a ``Decimal``); every other field is
    a string, a time or an amount with a known place in the text.
    """
    string, number = codec.string, codec.scalar
    ids = f'"transaction_id":{string(event.transaction_id)}'
    text = (
        f'{{"event_id":{string(event.event_id)},{ids},"event_type":"{EVENT_TYPE}",'
        f'"timestamp":{string(event.received_at.isoformat())},'
        f'"data":{{{ids},"timestamp":{string(event.occurred_at.isoformat())},'
        f'"provider":{string(event.provider)},'
        f'"provider_event_type":{string(event.event_type)},"amount":{number(event.amount)},'
        f'"currency":{string(event.currency)},"status":{string(event.status)},'
        f'"customer_id":{_optional(event.customer_id)},'
        f'"payment_method":{_optional(event.payment_method)},'
        f'"arrival":{string(event.arrival)},'
        f'"metadata":{codec.dumps(dict(event.metadata))}}}'
    )
    update = event.transaction
    if update is not None:
        previous = update.previous_status
        text += (
            f',"transaction":{{"status":{string(update.status)},'
            f'"previous_status":{"null" if previous is None else string(previous)},'
            f'"late":{"true" if update.late else "false"},"amount":{number(update.amount)},'
            f'"refunded":{number(update.refunded)},"currency":{string(update.currency)},'
            f'"version":{int(update.version)},"authorized":{number(update.authorized)},'
            f'"captured":{number(update.captured)},"disputed":{number(update.disputed)},'
            f'"refund_reversed":{number(update.refund_reversed)}}}'
        )
    return (text + "}").encode()


def _optional(text: str | None) -> str:
    return "null" if text is None else codec.string(text)


def _head(event: PaymentEvent) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "transaction_id": event.transaction_id,
        "event_type": EVENT_TYPE,
        "timestamp": event.received_at.isoformat(),
        "data": {
            "transaction_id": event.transaction_id,
            "timestamp": event.occurred_at.isoformat(),
            "provider": event.provider,
            "provider_event_type": event.event_type,
        },
    }


def _transaction(update: TransactionUpdate | None) -> dict[str, Any]:
    if update is None:
        return {}
    return {
        "transaction": {
            "status": update.status,
            "previous_status": update.previous_status,
            "late": update.late,
            "amount": update.amount,
            "refunded": update.refunded,
            "currency": update.currency,
            "version": update.version,
            "authorized": update.authorized,
            "captured": update.captured,
            "disputed": update.disputed,
            "refund_reversed": update.refund_reversed,
        }
    }


#: The event's fields that follow its amount in ``data``, in order, metadata last.
_TAIL_FIELDS: Final = ("currency", "status", "customer_id", "payment_method", "arrival")


def _tail(event: PaymentEvent) -> dict[str, Any]:
    fields = {name: getattr(event, name) for name in _TAIL_FIELDS}
    return {**fields, "metadata": dict(event.metadata)}
