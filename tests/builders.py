"""Signed requests as each provider builds them, signed with the providers' own libraries."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import standardwebhooks
import stripe

from webhook_processor.model import PaymentEvent, WebhookRequest

NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
STRIPE_SECRET = "whsec_test_5f2b9c0d1e2f3a4b5c6d7e8f"
GENERIC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SECRETS = {"stripe": STRIPE_SECRET, "generic": GENERIC_SECRET}


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
    header = stripe.WebhookSignature.generate_signature_header(
        body.decode(), secret, timestamp=int(at.timestamp())
    )
    return {"Stripe-Signature": header, "Content-Type": "application/json; charset=utf-8"}


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
    signature = standardwebhooks.Webhook(secret).sign(message_id, at, body.decode())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "Content-Type": "application/json",
    }


def encode(value: Any) -> bytes:
    return json.dumps(value).encode()


def request(provider: str, body: bytes, headers: dict[str, str], **kw: Any) -> WebhookRequest:
    return WebhookRequest.build(provider, headers, body, kw.pop("received_at", NOW), **kw)


def signed(provider: str, body: bytes, **kw: Any) -> tuple[bytes, dict[str, str]]:
    """``body`` with the headers its provider would send."""
    if provider == "stripe":
        return body, stripe_headers(body, **kw)
    return body, generic_headers(body, **kw)


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
