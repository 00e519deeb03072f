"""The published event: the original system's envelope, with exact amounts.

Every sink (the JSON Lines file, HTTP subscribers, SNS) publishes these same bytes::

    {"event_id": "evt_1", "transaction_id": "pi_1", "event_type": "payment_processed",
     "timestamp": "2026-11-28T21:00:00.000000+00:00",
     "data": {"transaction_id": "pi_1", "timestamp": "...", "provider": "stripe",
              "amount": 19.99, "currency": "USD", "status": "succeeded", ...}}

``amount`` is a JSON number whose text is the stored decimal: float consumers read the same
value as before, decimal consumers read it exactly.
"""

from __future__ import annotations

from typing import Any, Final

from webhook_processor import codec
from webhook_processor.model import PaymentEvent

EVENT_TYPE: Final = "payment_processed"


def envelope(event: PaymentEvent) -> dict[str, Any]:
    """The envelope as a dict (amount stays a Decimal)."""
    head = _head(event)
    return {**head, "data": {**head["data"], "amount": event.amount, **_tail(event)}}


def encode(event: PaymentEvent) -> bytes:
    """The envelope as the UTF-8 JSON bytes every sink publishes.

    Written as the two parts around the amount, each by :func:`codec.dumps`, which hands a part
    without a ``Decimal`` to the standard library's C encoder: the amount is the only decimal
    of most envelopes, and encoding is most of what publishing an event costs.
    """
    head = codec.dumps(_head(event))  # ends with the "}}" that close data and the envelope
    tail = codec.dumps(_tail(event))
    amount = codec.dumps(event.amount)
    return f'{head[:-2]},"amount":{amount},{tail[1:]}}}'.encode()


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


def _tail(event: PaymentEvent) -> dict[str, Any]:
    return {
        "currency": event.currency,
        "status": event.status,
        "customer_id": event.customer_id,
        "payment_method": event.payment_method,
        "metadata": dict(event.metadata),
    }
