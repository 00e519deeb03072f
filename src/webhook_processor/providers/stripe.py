"""Stripe: ``Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>]`` over ``"{t}.{body}"``.

The HMAC key is the UTF-8 bytes of the whole ``whsec_...`` secret (unlike Standard Webhooks, it
is not base64-decoded). Any ``v1`` entry may match: Stripe sends one per active secret while a
secret is rolled. Amounts are integer minor units.

``payment_intent.*`` and ``charge.*`` events are normalised; the transaction is the
PaymentIntent, so a payment's intent and charge events list together. Other authentic events are
acknowledged and ignored: refusing them would make Stripe retry them for three days.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Any, Final

from webhook_processor import codec
from webhook_processor.errors import InvalidPayload, SignatureInvalid
from webhook_processor.model import PaymentEvent, PaymentStatus, WebhookRequest
from webhook_processor.money import from_minor_units, to_minor_units
from webhook_processor.providers.base import (
    DEFAULT_TOLERANCE_SECONDS,
    Provider,
    Sample,
    Signed,
    check_timestamp,
    from_unix,
    optional_object,
    optional_str,
    parse_unix_seconds,
    require_header,
    require_object,
    require_str,
)

#: Stripe counts these currencies with a different number of minor digits than ISO 4217
#: (ISK and UGX in hundredths although ISO has none; MGA in whole ariary).
STRIPE_EXPONENTS: Final = {"ISK": 2, "UGX": 2, "MGA": 0}

_PENDING, _SUCCEEDED, _FAILED = PaymentStatus.PENDING, PaymentStatus.SUCCEEDED, PaymentStatus.FAILED
_CANCELED, _REFUNDED = PaymentStatus.CANCELED, PaymentStatus.REFUNDED

#: Event type -> normalised status. Types not listed here are acknowledged and ignored.
EVENT_STATUS: Final = {
    "payment_intent.created": _PENDING,
    "payment_intent.processing": _PENDING,
    "payment_intent.requires_action": _PENDING,
    "payment_intent.amount_capturable_updated": _PENDING,
    "payment_intent.partially_funded": _PENDING,
    "payment_intent.succeeded": _SUCCEEDED,
    "payment_intent.payment_failed": _FAILED,
    "payment_intent.canceled": _CANCELED,
    "charge.pending": _PENDING,
    "charge.succeeded": _SUCCEEDED,
    "charge.captured": _SUCCEEDED,
    "charge.failed": _FAILED,
    "charge.expired": _CANCELED,
    "charge.refunded": _REFUNDED,
}

#: The sample status a person asks for -> the event ``send`` builds and its object's status.
SAMPLE_EVENTS: Final = {
    "succeeded": ("payment_intent.succeeded", "succeeded"),
    "failed": ("payment_intent.payment_failed", "requires_payment_method"),
    "canceled": ("payment_intent.canceled", "canceled"),
    "pending": ("payment_intent.processing", "processing"),
    "refunded": ("charge.refunded", "succeeded"),
}


class StripeProvider(Provider):
    """Stripe webhook events."""

    name = "stripe"

    def __init__(self, tolerance: int = DEFAULT_TOLERANCE_SECONDS) -> None:
        self._tolerance = tolerance

    def parse(self, request: WebhookRequest, secret: str, now: datetime) -> list[PaymentEvent]:
        self._verify(request, secret, now)
        event = codec.loads_object(request.body)
        event_type = require_str(event, "type")
        status = EVENT_STATUS.get(event_type)
        event_id = require_str(event, "id")
        if status is None:
            return []
        obj = require_object(require_object(event, "data"), "object", "body.data")
        where = "body.data.object"
        currency = require_str(obj, "currency", where).upper()
        units = obj.get("amount_refunded" if status is _REFUNDED else "amount")
        if event_type.startswith("charge."):
            transaction_id = optional_str(obj, "payment_intent", where) or require_str(
                obj, "id", where
            )
        else:
            transaction_id = require_str(obj, "id", where)
        return [
            PaymentEvent(
                provider=self.name,
                event_id=event_id,
                transaction_id=transaction_id,
                event_type=event_type,
                amount=from_minor_units(units, currency, STRIPE_EXPONENTS.get(currency)),
                currency=currency,
                status=status,
                customer_id=_id_of(obj.get("customer"), f"{where}.customer"),
                payment_method=_id_of(obj.get("payment_method"), f"{where}.payment_method"),
                metadata=optional_object(obj, "metadata", where),
                occurred_at=from_unix(event.get("created"), "body.created"),
                received_at=request.received_at,
            )
        ]

    def _verify(self, request: WebhookRequest, secret: str, now: datetime) -> None:
        header = require_header(request, "stripe-signature")
        timestamp_text: str | None = None
        candidates: list[str] = []
        for item in header.split(","):
            key, _, value = item.strip().partition("=")
            if key == "t":
                timestamp_text = value
            elif key == "v1":
                candidates.append(value)
        if timestamp_text is None or not candidates:
            raise SignatureInvalid("Stripe-Signature needs a t= timestamp and at least one v1=")
        timestamp = parse_unix_seconds(timestamp_text, "Stripe-Signature t")
        expected = _signature(secret, timestamp_text, request.body)
        matched = False
        for candidate in candidates:
            matched |= hmac.compare_digest(expected, candidate.encode("ascii", "replace"))
        if not matched:
            raise SignatureInvalid("Stripe-Signature does not match the body (no valid v1 entry)")
        check_timestamp(timestamp, now, self._tolerance)

    def sign(self, body: bytes, secret: str, now: datetime, message_id: str) -> Signed:
        timestamp = str(int(now.timestamp()))
        signature = _signature(secret, timestamp, body).decode("ascii")
        return Signed(body, {"Stripe-Signature": f"t={timestamp},v1={signature}"})

    def sample(self, spec: Sample) -> bytes:
        if spec.status not in SAMPLE_EVENTS:
            raise InvalidPayload(f"stripe samples have status {', '.join(SAMPLE_EVENTS)}")
        event_type, object_status = SAMPLE_EVENTS[spec.status]
        currency = spec.currency.upper()
        units = to_minor_units(spec.amount, currency, STRIPE_EXPONENTS.get(currency))
        suffix = spec.event_id.removeprefix("evt_")
        obj: dict[str, Any]
        if event_type.startswith("charge."):
            obj = {
                "id": f"ch_{suffix}",
                "object": "charge",
                "amount": units,
                "amount_refunded": units,
                "payment_intent": f"pi_{suffix}",
                "refunded": True,
                "status": object_status,
            }
        else:
            obj = {
                "id": f"pi_{suffix}",
                "object": "payment_intent",
                "amount": units,
                "status": object_status,
            }
        obj |= {
            "currency": currency.lower(),
            "customer": "cus_local",
            "payment_method": "pm_card_visa",
            "metadata": {"source": "webhook-processor send"},
            "livemode": False,
        }
        event = {
            "id": spec.event_id,
            "object": "event",
            "api_version": "2025-09-30.clover",
            "created": int(spec.created.timestamp()),
            "data": {"object": obj},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        return codec.dumps(event).encode()

    def new_secret(self) -> str:
        return "whsec_" + secrets.token_hex(24)


def _signature(secret: str, timestamp: str, body: bytes) -> bytes:
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return mac.hexdigest().encode("ascii")


def _id_of(value: object, where: str) -> str | None:
    """Stripe fields like ``customer`` hold an id, or the object itself when expanded."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return str(value["id"])
    raise InvalidPayload(f"{where} must be an id string, an object with an id, or null")
