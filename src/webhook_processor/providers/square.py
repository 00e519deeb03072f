"""Square: ``x-square-hmacsha256-signature`` over the notification URL followed by the body.

The signature is base64 HMAC-SHA256, keyed with the UTF-8 bytes of the subscription's signature
key, over the notification URL registered with Square followed by the raw body. That URL is
configuration (``WEBHOOK_SQUARE_NOTIFICATION_URL`` locally, the ``squareNotificationUrl`` stack
setting on AWS), never the URL a request happened to arrive on: behind a proxy or a tunnel the
two differ, and Square signed the one it was given.

Body::

    {"merchant_id": "6SSW7HV8K2ST5", "type": "payment.updated", "event_id": "6a8f5f28-...",
     "created_at": "2020-02-06T21:27:34.308Z",
     "data": {"type": "payment", "id": "hYy9pRFV...", "object": {"payment": {
        "id": "hYy9pRFV...", "amount_money": {"amount": 100, "currency": "USD"},
        "status": "COMPLETED", ...}}}}

``payment.*``, ``refund.*`` and ``dispute.*`` events are normalised (see :data:`STATUSES`); the
event id is ``event_id`` and the transaction is the payment. Amounts are ``amount_money``, in the
currency's smallest unit.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from webhook_processor import codec
from webhook_processor.errors import (
    InvalidPayload,
    ProviderNotConfigured,
    SecretUnavailable,
    SignatureMismatch,
)
from webhook_processor.model import PaymentEvent, PaymentStatus, WebhookRequest
from webhook_processor.money import from_minor_units, to_minor_units
from webhook_processor.providers.base import (
    Provider,
    Sample,
    Signed,
    from_rfc3339,
    optional_str,
    require_header,
    require_object,
    require_str,
)

SIGNATURE_HEADER: Final = "x-square-hmacsha256-signature"

#: Where ``webhook-processor serve`` listens by default, so ``send square`` works out of the box.
LOCAL_NOTIFICATION_URL: Final = "http://127.0.0.1:8080/webhooks/square"

_S = PaymentStatus

#: Event type -> the object it carries.
EVENT_OBJECTS: Final = {
    "payment.created": "payment",
    "payment.updated": "payment",
    "refund.created": "refund",
    "refund.updated": "refund",
    "dispute.created": "dispute",
    "dispute.state.updated": "dispute",
}

#: (object, its status or state) -> normalised status. Others are acknowledged and ignored. A
#: refund is a record of its own, keyed by its id: it counts from PENDING, and REJECTED or
#: FAILED takes it back. ``docs/events.md`` cites Square's page for each row.
STATUSES: Final = {
    ("payment", "PENDING"): _S.PENDING,
    ("payment", "APPROVED"): _S.AUTHORIZED,
    ("payment", "COMPLETED"): _S.SUCCEEDED,
    ("payment", "CANCELED"): _S.CANCELED,
    ("payment", "FAILED"): _S.FAILED,
    ("refund", "PENDING"): _S.REFUND_PENDING,
    ("refund", "COMPLETED"): _S.REFUNDED,
    ("refund", "REJECTED"): _S.REFUND_FAILED,
    ("refund", "FAILED"): _S.REFUND_FAILED,
    ("dispute", "INQUIRY_EVIDENCE_REQUIRED"): _S.DISPUTED,
    ("dispute", "INQUIRY_PROCESSING"): _S.DISPUTED,
    ("dispute", "INQUIRY_CLOSED"): _S.DISPUTE_WON,
    ("dispute", "EVIDENCE_REQUIRED"): _S.DISPUTED,
    ("dispute", "PROCESSING"): _S.DISPUTED,
    ("dispute", "WON"): _S.DISPUTE_WON,
    ("dispute", "LOST"): _S.DISPUTE_LOST,
    # The seller accepted the dispute: the cardholder keeps the money.
    ("dispute", "ACCEPTED"): _S.DISPUTE_LOST,
}

#: The sample status a person asks for -> (event type, the object's status or state).
SAMPLE_EVENTS: Final = {
    "pending": ("payment.created", "PENDING"),
    "authorized": ("payment.created", "APPROVED"),
    "succeeded": ("payment.updated", "COMPLETED"),
    "canceled": ("payment.updated", "CANCELED"),
    "failed": ("payment.updated", "FAILED"),
    "refunded": ("refund.updated", "COMPLETED"),
    "refund_pending": ("refund.created", "PENDING"),
    "refund_failed": ("refund.updated", "FAILED"),
    "disputed": ("dispute.created", "EVIDENCE_REQUIRED"),
    "dispute_won": ("dispute.state.updated", "WON"),
    "dispute_lost": ("dispute.state.updated", "LOST"),
}


class SquareProvider(Provider):
    """Square webhook events, verified against the configured notification URL."""

    name = "square"
    event_id_prefix = ""

    def __init__(self, notification_url: str | None = LOCAL_NOTIFICATION_URL) -> None:
        #: None when the deployment has not said which URL Square posts to.
        self.notification_url = notification_url

    def parse(self, request: WebhookRequest, secret: str, now: datetime) -> list[PaymentEvent]:
        given = require_header(request, SIGNATURE_HEADER)
        expected = self._signature(secret, request.body)
        # The header's exact bytes, as Square's SDK compares them (webhooks_helper): no space
        # trimmed, no case folded.
        if not hmac.compare_digest(expected, given.encode("utf-8", "replace")):
            raise SignatureMismatch(
                f"{SIGNATURE_HEADER} does not match the notification URL and the body"
            )
        return self.normalise(codec.loads_object(request.body), request.received_at)

    def normalise(self, event: dict[str, Any], received_at: datetime) -> list[PaymentEvent]:
        """The events of one authentic Square event: a verified notification's body, or one
        SearchEvents listed (the same object, with the same ``event_id``)."""
        event_type = require_str(event, "type")
        event_id = require_str(event, "event_id")
        kind = EVENT_OBJECTS.get(event_type)
        if kind is None:
            return []
        where = f"body.data.object.{kind}"
        data = require_object(event, "data")
        obj = require_object(require_object(data, "object", "body.data"), kind, "body.data.object")
        state = obj.get("state" if kind == "dispute" else "status")
        status = STATUSES.get((kind, state)) if isinstance(state, str) else None
        if status is None:
            return []
        money = require_object(obj, "amount_money", where)
        currency = require_str(money, "currency", f"{where}.amount_money").upper()
        return [
            PaymentEvent(
                provider=self.name,
                event_id=event_id,
                transaction_id=_payment_id(kind, obj, where),
                event_type=event_type,
                amount=from_minor_units(money.get("amount"), currency),
                currency=currency,
                status=status,
                customer_id=optional_str(obj, "customer_id", where),
                payment_method=optional_str(obj, "source_type", where),
                metadata=_references(kind, obj, where),
                movement_id=require_str(obj, "id", where) if kind == "refund" else None,
                refunded_total=_refunded_money(kind, obj, where),
                occurred_at=from_rfc3339(event.get("created_at"), "body.created_at", received_at),
                received_at=received_at,
            )
        ]

    def sign(self, body: bytes, secret: str, now: datetime, message_id: str) -> Signed:
        signature = self._signature(secret, body).decode("ascii")
        return Signed(body, {SIGNATURE_HEADER: signature})

    def _signature(self, secret: str, body: bytes) -> bytes:
        if self.notification_url is None:
            raise ProviderNotConfigured(
                "no Square notification URL is configured (SQUARE_NOTIFICATION_URL on AWS, "
                "WEBHOOK_SQUARE_NOTIFICATION_URL locally): Square signs it"
            )
        if not secret:
            raise SecretUnavailable("the configured Square signature key is empty")
        signed = self.notification_url.encode("utf-8") + body
        return base64.b64encode(hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).digest())

    def sample(self, spec: Sample) -> bytes:
        if spec.status not in SAMPLE_EVENTS:
            raise InvalidPayload(f"square samples have status {', '.join(SAMPLE_EVENTS)}")
        event_type, state = SAMPLE_EVENTS[spec.status]
        kind = EVENT_OBJECTS[event_type]
        currency = spec.currency.upper()
        money = {"amount": to_minor_units(spec.amount, currency), "currency": currency}
        created = spec.created.isoformat().replace("+00:00", "Z")
        payment_id = spec.transaction_id or f"sq{spec.event_id}"
        obj: dict[str, Any] = {
            "amount_money": money,
            "created_at": created,
            "location_id": "LOCALSEND",
            "updated_at": created,
        }
        if kind == "payment":
            obj |= {"id": payment_id, "status": state, "source_type": "CARD"}
            obj |= {"total_money": money, "order_id": f"order{spec.event_id}"}
            if spec.refunded_total is not None:
                refunded = to_minor_units(spec.refunded_total, currency)
                obj["refunded_money"] = {"amount": refunded, "currency": currency}
        elif kind == "refund":
            refund_id = spec.movement_id or f"{spec.event_id}_refund"
            obj |= {"id": refund_id, "payment_id": payment_id, "status": state}
        else:
            obj |= {"id": f"dispute{spec.event_id}", "state": state, "reason": "NOT_AS_DESCRIBED"}
            obj |= {"disputed_payment": {"payment_id": payment_id}, "card_brand": "VISA"}
        event = {
            "merchant_id": "LOCALMERCHANT",
            "type": event_type,
            "event_id": spec.event_id,
            "created_at": created,
            "data": {"type": kind, "id": obj["id"], "object": {kind: obj}},
        }
        return codec.dumps(event).encode()

    def new_secret(self) -> str:
        return secrets.token_urlsafe(16)


def _refunded_money(kind: str, obj: dict[str, Any], where: str) -> Decimal | None:
    """A payment's ``refunded_money``: Square's running total of its refunds, if it says."""
    if kind != "payment" or obj.get("refunded_money") is None:
        return None
    money = require_object(obj, "refunded_money", where)
    currency = require_str(money, "currency", f"{where}.refunded_money").upper()
    return from_minor_units(money.get("amount"), currency)


def _payment_id(kind: str, obj: dict[str, Any], where: str) -> str:
    if kind == "payment":
        return require_str(obj, "id", where)
    if kind == "refund":
        return require_str(obj, "payment_id", where)
    disputed = require_object(obj, "disputed_payment", where)
    return require_str(disputed, "payment_id", f"{where}.disputed_payment")


def _references(kind: str, obj: dict[str, Any], where: str) -> dict[str, Any]:
    """Square's own references: the order and location, and the refund or dispute itself (a
    refund is reported more than once, by refund.created and each refund.updated)."""
    names = ["order_id", "location_id", "reference_id"]
    references = {name: optional_str(obj, name, where) for name in names}
    if kind != "payment":
        references[f"{kind}_id"] = require_str(obj, "id", where)
    return {name: value for name, value in references.items() if value is not None}
