"""Events and requests as each provider builds them, signed with the providers' own libraries
(see :mod:`tests.oracles`)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tests.oracles import generic as generic_oracle
from tests.oracles import oracle
from tests.oracles import stripe as stripe_oracle
from webhook_processor.model import PaymentEvent, WebhookRequest
from webhook_processor.providers import default_providers

NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
STRIPE_SECRET = stripe_oracle.SECRET
GENERIC_SECRET = generic_oracle.SECRET
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
