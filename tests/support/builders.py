"""Events and requests as each provider builds them, signed with the providers' own libraries
(see :mod:`tests.oracles`)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.oracles import adyen as adyen_oracle
from tests.oracles import generic as generic_oracle
from tests.oracles import oracle
from tests.oracles import square as square_oracle
from tests.oracles import stripe as stripe_oracle
from webhook_processor.model import PaymentEvent, WebhookRequest
from webhook_processor.providers import default_providers

NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
STRIPE_SECRET = stripe_oracle.SECRET
GENERIC_SECRET = generic_oracle.SECRET
ADYEN_SECRET = adyen_oracle.SECRET
SQUARE_SECRET = square_oracle.SECRET
#: The secret of every registered provider, from its oracle.
SECRETS = {name: oracle(name).SECRET for name in default_providers()}


def stripe_event(
    event_id: str = "evt_1",
    event_type: str = "payment_intent.succeeded",
    amount: Any = 1999,
    currency: str = "usd",
    **object_fields: Any,
) -> dict[str, Any]:
    """A Stripe event shaped like the ones the Stripe API sends."""
    obj: dict[str, Any] = {
        "id": "pi_1",
        "object": "payment_intent",
        "amount": amount,
        "currency": currency,
        "customer": "cus_1",
        "payment_method": "pm_1",
        "metadata": {"order": "42"},
        "status": "succeeded",
    }
    obj.update(object_fields)
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2025-09-30.clover",
        "created": int(NOW.timestamp()) - 5,
        "data": {"object": obj},
        "livemode": False,
        "type": event_type,
    }


def stripe_headers(
    body: bytes, *, at: datetime = NOW, secret: str = STRIPE_SECRET
) -> dict[str, str]:
    """Signed by the official SDK: the processor must accept what Stripe itself would send."""
    return stripe_oracle.sign(body, at=at, secret=secret)[1]


def generic_body(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "transaction_id": "txn_1",
        "provider": "paypal",
        "amount": "19.99",
        "currency": "USD",
        "status": "completed",
        "customer_id": "cus_1",
        "payment_method": "card",
        "metadata": {"order": "42"},
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not _MISSING}


_MISSING = object()
MISSING: Any = _MISSING


def generic_headers(
    body: bytes,
    *,
    message_id: str = "msg_1",
    at: datetime = NOW,
    secret: str = GENERIC_SECRET,
) -> dict[str, str]:
    """Signed by the Standard Webhooks reference library."""
    return generic_oracle.sign(body, at=at, secret=secret, message_id=message_id)[1]


def encode(value: Any) -> bytes:
    return json.dumps(value).encode()


def request(provider: str, body: bytes, headers: dict[str, str], **kw: Any) -> WebhookRequest:
    return WebhookRequest.build(provider, headers, body, kw.pop("received_at", NOW), **kw)


def signed(
    provider: str,
    body: bytes,
    *,
    at: datetime = NOW,
    message_id: str = "msg_1",
    secret: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """``body`` as ``provider`` would deliver it, signed by the provider's own library."""
    signer = oracle(provider)
    return signer.sign(
        body, at=at, secret=signer.SECRET if secret is None else secret, message_id=message_id
    )


#: The providers' documented payloads: ``tests/events/<provider>/<event type>[--variant].json``.
EVENTS = Path(__file__).parent.parent / "events"


def sample_names(provider: str) -> list[str]:
    """The sample events of ``provider``, by file name without ``.json``."""
    return sorted(path.stem for path in (EVENTS / provider).glob("*.json"))


def sample_event(provider: str, name: str) -> bytes:
    """A documented payload of ``provider``, unsigned, as its bytes on disk."""
    return (EVENTS / provider / f"{name}.json").read_bytes()


def adyen_item(**fields: Any) -> dict[str, Any]:
    """One NotificationRequestItem shaped like Adyen's documented CAPTURE example."""
    item: dict[str, Any] = {
        "amount": {"currency": "EUR", "value": 1000},
        "eventCode": "CAPTURE",
        "eventDate": "2021-01-01T01:00:00+01:00",
        "merchantAccountCode": "YOUR_MERCHANT_ACCOUNT",
        "merchantReference": "YOUR_MERCHANT_REFERENCE",
        "originalReference": "9913140798220028",
        "paymentMethod": "visa",
        "pspReference": "QFQTPCQ8HXSKGK82",
        "reason": "",
        "success": "true",
    }
    item.update(fields)
    return {k: v for k, v in item.items() if v is not _MISSING}


def adyen_notification(*items: dict[str, Any]) -> dict[str, Any]:
    """An Adyen standard notification carrying ``items`` (one default item if none)."""
    return {
        "live": "false",
        "notificationItems": [
            {"NotificationRequestItem": item} for item in items or [adyen_item()]
        ],
    }


def square_event(
    event_type: str = "payment.updated", event_id: str = "6a8f5f28-54a1-4eb0", **payment: Any
) -> dict[str, Any]:
    """A Square payment event shaped like the one in Square's API specification."""
    obj: dict[str, Any] = {
        "id": "hYy9pRFVxpDsO1FB05SunFWUe9JZY",
        "amount_money": {"amount": 100, "currency": "USD"},
        "status": "COMPLETED",
        "source_type": "CARD",
        "location_id": "S8GWD5R9QB376",
        "order_id": "03O3USaPaAaFnI6kkwB1JxGgBsUZY",
        "created_at": "2020-11-22T21:16:51.086Z",
    }
    obj.update(payment)
    return {
        "merchant_id": "6SSW7HV8K2ST5",
        "type": event_type,
        "event_id": event_id,
        "created_at": "2020-02-06T21:27:34.308Z",
        "data": {"type": "payment", "id": obj["id"], "object": {"payment": obj}},
    }


def make_event(event_id: str = "evt_1", **fields: object) -> PaymentEvent:
    base = PaymentEvent(
        provider="stripe",
        event_id=event_id,
        transaction_id="pi_1",
        event_type="payment_intent.succeeded",
        amount=Decimal("19.99"),
        currency="USD",
        status="succeeded",
        customer_id="cus_1",
        payment_method="pm_1",
        metadata={"order": "42", "rate": Decimal("0.125")},
        occurred_at=NOW,
        received_at=NOW,
    )
    return replace(base, **fields)  # type: ignore[arg-type]
